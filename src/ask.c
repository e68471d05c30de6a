/*
 * ask.c - ask with a deadline. The asker's reactor keeps, per pending ask,
 * its correlation id and the timer that will send ATOLL_MSG_TIMEOUT. Every
 * answer (the reply, marked by atoll_reply; a rejection; the TIMEOUT itself)
 * arrives on that reactor and removes the entry; only the one that finds it
 * reaches the asker, the others are dropped. Replies from other cores race
 * the timer only in the order the one reactor thread sees them, so
 * "exactly one" needs no atomics.
 */
#include <errno.h>
#include <string.h>

#include "alloc.h"
#include "reactor.h"

static uint32_t slot_of(const struct atoll__asks *t, uint64_t corr)
{
	return (uint32_t)((corr * 0x9e3779b97f4a7c15ull) >> 32) & t->mask;
}

void atoll__asks_destroy(struct atoll__asks *t)
{
	atoll__free(t->slots);
	t->slots = NULL;
	t->mask = 0;
	t->count = 0;
}

static void put(struct atoll__asks *t, uint64_t corr, atoll_timer timer)
{
	uint32_t i = slot_of(t, corr);

	while (t->slots[i].corr != 0)
		i = (i + 1) & t->mask;
	t->slots[i].corr = corr;
	t->slots[i].timer = timer;
	t->count++;
}

/* Makes room for one more entry (load at most 1/2). Returns 0 or -ENOMEM. */
static int reserve(struct atoll__asks *t)
{
	uint32_t cap = t->slots != NULL ? t->mask + 1 : 0;
	struct atoll__asks bigger = { 0 };

	if ((t->count + 1) * 2 <= cap)
		return 0;
	cap = cap != 0 ? cap * 2 : 64;
	bigger.slots = atoll__zalloc(cap * sizeof(*bigger.slots));
	if (bigger.slots == NULL)
		return -ENOMEM;
	bigger.mask = cap - 1;
	for (uint32_t i = 0; t->slots != NULL && i <= t->mask; i++)
		if (t->slots[i].corr != 0)
			put(&bigger, t->slots[i].corr, t->slots[i].timer);
	atoll__free(t->slots);
	*t = bigger;
	return 0;
}

/* Removes corr, storing its timer in *timer. Returns whether it was there. */
static bool take(struct atoll__asks *t, uint64_t corr, atoll_timer *timer)
{
	uint32_t i, j;

	if (t->slots == NULL || corr == 0)
		return false;
	for (i = slot_of(t, corr); t->slots[i].corr != corr; i = (i + 1) & t->mask)
		if (t->slots[i].corr == 0)
			return false;
	*timer = t->slots[i].timer;
	t->count--;
	/* Backward-shift deletion keeps every probe chain unbroken. */
	for (j = (i + 1) & t->mask; t->slots[j].corr != 0; j = (j + 1) & t->mask) {
		uint32_t home = slot_of(t, t->slots[j].corr);

		/* Move j into the hole at i unless its home lies in (i, j]. */
		if (((j - home) & t->mask) >= ((j - i) & t->mask)) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	t->slots[i].corr = 0;
	return true;
}

bool atoll__ask_deliver(struct atoll_ctx *r, struct atoll__actor *a, atoll_msg *msg)
{
	atoll_timer timer;

	if (msg->type == ATOLL_MSG_TIMEOUT) {
		/* The timer fired, so its record is gone already. */
		if (!take(&r->asks, msg->corr, &timer) || a == NULL) {
			atoll_msg_free(msg); /* Answered, or the asker stopped. */
			return false;
		}
		ATOLL__STAT_INC(r, ask_timeouts);
		return true;
	}
	msg->flags &= ~ATOLL__MSGF_ANSWER;
	if (!take(&r->asks, msg->corr, &timer)) {
		atoll__dead_letter(r, msg); /* Too late: the TIMEOUT went first. */
		return false;
	}
	(void)atoll__timers_cancel(&r->timers, timer);
	if (a == NULL) {
		atoll__dead_letter(r, msg);
		return false;
	}
	return true;
}

int atoll_ask_timeout(atoll_ctx *ctx, atoll_ref to, atoll_msg *msg, uint64_t timeout_ns,
		      uint64_t *corr)
{
	atoll_msg *tmsg;
	atoll_timer timer;
	uint64_t id;
	int err;

	if (msg == NULL)
		return -EINVAL;
	if (msg == ctx->current_msg)
		ctx->current_msg = NULL; /* Passed on: the runtime must not free it. */
	if (ctx->current == NULL) {
		atoll_msg_free(msg);
		return -EINVAL;
	}
	tmsg = atoll_msg_new(ATOLL_MSG_TIMEOUT, 0);
	if (tmsg == NULL || reserve(&ctx->asks) < 0) {
		atoll_msg_free(tmsg);
		atoll_msg_free(msg);
		return -ENOMEM;
	}
	id = atoll__new_id(ctx);
	tmsg->corr = id;
	err = atoll__timers_add(&ctx->timers, atoll_now_ns() + timeout_ns, 0, ctx->current->ref,
				tmsg, &timer);
	if (err < 0) {
		atoll_msg_free(tmsg);
		atoll_msg_free(msg);
		return err;
	}
	put(&ctx->asks, id, timer);
	msg->corr = id;
	msg->reply_to = ctx->current->ref;
	msg->flags |= ATOLL__MSGF_ASKED;
	if (corr != NULL)
		*corr = id;
	err = atoll_send(ctx, to, msg);
	if (err < 0 && take(&ctx->asks, id, &timer))
		(void)atoll__timers_cancel(&ctx->timers, timer); /* No TIMEOUT follows. */
	return err;
}
