/*
 * timer.c - the per-reactor timer heap (timer.h). A binary heap, as in libuv:
 * the reactor arms one IORING_OP_TIMEOUT for the earliest deadline, which the
 * heap gives in O(1); add, cancel and fire are O(log n).
 * Invariant: heap[i] is never later than its children, comparing (deadline,
 * seq), so equal deadlines fire in creation order.
 */
#include "timer.h"

#include <errno.h>
#include <string.h>

#include "alloc.h"

#define NOT_IN_HEAP UINT32_MAX

void atoll__timers_init(struct atoll__timers *tm)
{
	memset(tm, 0, sizeof(*tm));
	tm->next_seq = 1;
}

void atoll__timers_destroy(struct atoll__timers *tm)
{
	for (uint32_t i = 0; i < tm->nheap; i++)
		atoll_msg_free(tm->recs[tm->heap[i]].msg);
	atoll__free(tm->recs);
	atoll__free(tm->heap);
	atoll__free(tm->free_recs);
	memset(tm, 0, sizeof(*tm));
}

static int earlier(const struct atoll__timers *tm, uint32_t a, uint32_t b)
{
	const struct atoll__timer_rec *ra = &tm->recs[a], *rb = &tm->recs[b];

	return ra->deadline < rb->deadline || (ra->deadline == rb->deadline && ra->seq < rb->seq);
}

static void place(struct atoll__timers *tm, uint32_t pos, uint32_t rec)
{
	tm->heap[pos] = rec;
	tm->recs[rec].heap_pos = pos;
}

static void sift_up(struct atoll__timers *tm, uint32_t pos)
{
	uint32_t rec = tm->heap[pos];

	while (pos > 0) {
		uint32_t parent = (pos - 1) / 2;
		if (!earlier(tm, rec, tm->heap[parent]))
			break;
		place(tm, pos, tm->heap[parent]);
		pos = parent;
	}
	place(tm, pos, rec);
}

static void sift_down(struct atoll__timers *tm, uint32_t pos)
{
	uint32_t rec = tm->heap[pos];

	for (;;) {
		uint32_t child = 2 * pos + 1;
		if (child >= tm->nheap)
			break;
		if (child + 1 < tm->nheap && earlier(tm, tm->heap[child + 1], tm->heap[child]))
			child++;
		if (!earlier(tm, tm->heap[child], rec))
			break;
		place(tm, pos, tm->heap[child]);
		pos = child;
	}
	place(tm, pos, rec);
}

static void heap_remove(struct atoll__timers *tm, uint32_t pos)
{
	uint32_t last = tm->heap[--tm->nheap];

	tm->recs[tm->heap[pos]].heap_pos = NOT_IN_HEAP;
	if (pos == tm->nheap)
		return;
	place(tm, pos, last);
	sift_down(tm, pos);
	sift_up(tm, tm->recs[last].heap_pos);
}

static void rec_free(struct atoll__timers *tm, uint32_t rec)
{
	tm->recs[rec].msg = NULL;
	tm->recs[rec].gen++;
	tm->free_recs[tm->nfree++] = rec;
}

static int grow(struct atoll__timers *tm)
{
	uint32_t cap = tm->cap ? tm->cap * 2 : 64;
	struct atoll__timer_rec *recs = atoll__alloc(cap * sizeof(*recs));
	uint32_t *heap = atoll__alloc(cap * sizeof(*heap));
	uint32_t *free_recs = atoll__alloc(cap * sizeof(*free_recs));

	if (recs == NULL || heap == NULL || free_recs == NULL) {
		atoll__free(recs);
		atoll__free(heap);
		atoll__free(free_recs);
		return -ENOMEM;
	}
	if (tm->cap) {
		memcpy(recs, tm->recs, tm->cap * sizeof(*recs));
		memcpy(heap, tm->heap, tm->nheap * sizeof(*heap));
		memcpy(free_recs, tm->free_recs, tm->nfree * sizeof(*free_recs));
	}
	/* New records go on the free stack highest first, so low indices are
	 * handed out first. */
	for (uint32_t i = cap; i > tm->cap; i--) {
		recs[i - 1].gen = 1;
		recs[i - 1].heap_pos = NOT_IN_HEAP;
		recs[i - 1].msg = NULL;
		free_recs[tm->nfree++] = i - 1;
	}
	atoll__free(tm->recs);
	atoll__free(tm->heap);
	atoll__free(tm->free_recs);
	tm->recs = recs;
	tm->heap = heap;
	tm->free_recs = free_recs;
	tm->cap = cap;
	return 0;
}

int atoll__timers_add(struct atoll__timers *tm, uint64_t deadline, uint64_t period, atoll_ref to,
		      atoll_msg *msg, atoll_timer *id)
{
	uint32_t rec;

	if (tm->nfree == 0 && grow(tm) != 0)
		return -ENOMEM;
	rec = tm->free_recs[--tm->nfree];
	tm->recs[rec].deadline = deadline;
	tm->recs[rec].seq = tm->next_seq++;
	tm->recs[rec].period = period;
	tm->recs[rec].to = to;
	tm->recs[rec].msg = msg;
	tm->heap[tm->nheap] = rec;
	tm->recs[rec].heap_pos = tm->nheap++;
	sift_up(tm, tm->recs[rec].heap_pos);
	if (id != NULL)
		*id = (uint64_t)tm->recs[rec].gen << 32 | (rec + 1);
	return 0;
}

int atoll__timers_cancel(struct atoll__timers *tm, atoll_timer id)
{
	uint32_t rec = (uint32_t)id - 1;

	if ((uint32_t)id == 0 || rec >= tm->cap || tm->recs[rec].gen != (uint32_t)(id >> 32) ||
	    tm->recs[rec].heap_pos == NOT_IN_HEAP)
		return -ENOENT;
	heap_remove(tm, tm->recs[rec].heap_pos);
	atoll_msg_free(tm->recs[rec].msg);
	rec_free(tm, rec);
	return 0;
}

atoll_msg *atoll__timers_pop_due(struct atoll__timers *tm, uint64_t now, atoll_ref *to,
				 atoll_timer *id, int *periodic)
{
	uint32_t rec;
	struct atoll__timer_rec *r;
	atoll_msg *msg;

	if (tm->nheap == 0 || tm->recs[tm->heap[0]].deadline > now)
		return NULL;
	rec = tm->heap[0];
	r = &tm->recs[rec];
	*to = r->to;
	*id = (uint64_t)r->gen << 32 | (rec + 1);
	msg = r->msg;
	if (r->period != 0) {
		/* A reactor that fell behind skips missed periods rather than
		 * firing a burst. */
		r->deadline += r->period;
		if (r->deadline <= now)
			r->deadline = now + r->period;
		r->seq = tm->next_seq++;
		sift_down(tm, 0);
		*periodic = 1;
		return msg;
	}
	heap_remove(tm, 0);
	rec_free(tm, rec);
	*periodic = 0;
	return msg;
}

/* --- the public API, on the calling reactor ------------------------------ */

#include "reactor.h"

/* Takes msg from the running actor if it is the one being received. */
static void take(atoll_ctx *ctx, atoll_msg *msg)
{
	if (msg == ctx->current_msg)
		ctx->current_msg = NULL; /* The timer owns it now. */
}

int atoll_send_after(atoll_ctx *ctx, atoll_ref to, atoll_msg *msg, uint64_t ns, atoll_timer *timer)
{
	int err;

	if (msg == NULL)
		return -EINVAL;
	take(ctx, msg);
	if (to == ATOLL_REF_NONE || atoll_ref_core(to) >= ctx->ncores) {
		atoll_msg_free(msg);
		return -EINVAL;
	}
	err = atoll__timers_add(&ctx->timers, atoll_now_ns() + ns, 0, to, msg, timer);
	if (err < 0)
		atoll_msg_free(msg);
	return err;
}

int atoll_send_every(atoll_ctx *ctx, atoll_ref to, atoll_msg *msg, uint64_t period_ns,
		     atoll_timer *timer)
{
	int err;

	if (msg == NULL)
		return -EINVAL;
	take(ctx, msg);
	if (period_ns == 0 || to == ATOLL_REF_NONE || atoll_ref_core(to) >= ctx->ncores) {
		atoll_msg_free(msg);
		return -EINVAL;
	}
	err = atoll__timers_add(&ctx->timers, atoll_now_ns() + period_ns, period_ns, to, msg,
				timer);
	if (err < 0)
		atoll_msg_free(msg);
	return err;
}

int atoll_timer_cancel(atoll_ctx *ctx, atoll_timer timer)
{
	return atoll__timers_cancel(&ctx->timers, timer);
}
