/*
 * actor.c - actors: spawning, sending, the private mailbox, running a batch
 * of messages, stopping.
 *
 * Invariants: an actor's mailbox and flags are touched only by its reactor;
 * a message is in at most one queue (mailbox, overflow, ring) at a time and
 * has one owner; an actor is on the run queue iff ATOLL__ACTOR_SCHEDULED is
 * set, and a stopping actor is never put back on it.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "log.h"
#include "reactor.h"

/* Cross-core sends are published every this many messages, not only at the
 * end of the run phase, so a long batch does not keep a consumer waiting. */
#define PUBLISH_EVERY 16u

uint64_t atoll_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

atoll_ref atoll_self(const atoll_ctx *ctx)
{
	return ctx->current != NULL ? ctx->current->ref : ATOLL_REF_NONE;
}

unsigned atoll_core(const atoll_ctx *ctx)
{
	return ctx->index;
}

unsigned atoll_ncores(const atoll_ctx *ctx)
{
	return ctx->ncores;
}

atoll_runtime *atoll_runtime_of(atoll_ctx *ctx)
{
	return ctx->rt;
}

void atoll__dead_letter(struct atoll_ctx *r, atoll_msg *msg)
{
	ATOLL__STAT_INC(r, dead_letters);
	atoll_msg_free(msg);
}

struct atoll__actor *atoll__actor_new(const struct atoll_actor_type *type)
{
	struct atoll__actor *a = atoll__zalloc(sizeof(*a) + type->state_size);

	if (a != NULL)
		a->type = type;
	return a;
}

/* Frees every message left in a's mailbox, as dead letters. */
static void drop_mailbox(struct atoll_ctx *r, struct atoll__actor *a)
{
	atoll_msg *m = a->mbox_head;

	a->mbox_len = 0;
	while (m != NULL) {
		atoll_msg *next = m->next;
		if (m->type == ATOLL_MSG_STOP)
			atoll_msg_free(m); /* A stop request is not a lost message. */
		else
			atoll__dead_letter(r, m);
		m = next;
	}
	a->mbox_head = a->mbox_tail = NULL;
}

/*
 * Release hook of a spawn message freed before its init ran (runtime stop):
 * the message owns the pending actor and whatever was queued for it.
 */
void atoll__actor_free_pending(atoll_msg *spawn_msg)
{
	struct atoll__spawn *sp = spawn_msg->data;
	struct atoll__actor *a = sp->actor;

	if (a == NULL)
		return;
	for (atoll_msg *m = a->mbox_head, *next; m != NULL; m = next) {
		next = m->next;
		atoll_msg_free(m);
	}
	atoll__fail_release(a);
	atoll__free(a);
	sp->actor = NULL;
}

int atoll__actor_alias_check(struct atoll_ctx *target, atoll_ref alias)
{
	if (alias == ATOLL_REF_NONE)
		return 0;
	if (atoll_ref_core(alias) != target->index || !atoll__table_is_alias(&target->table, alias))
		return -EINVAL;
	return 0;
}

void atoll__actor_publish(struct atoll_ctx *target, struct atoll__actor *a, atoll_ref alias)
{
	bool rejects = a->mbox_limit != 0 && a->overflow == ATOLL_OVERFLOW_REJECT;

	a->alias = alias;
	atoll__table_set_rejects(&target->table, a->ref, rejects);
	atoll__table_publish(&target->table, a->ref, a);
	if (alias != ATOLL_REF_NONE) {
		atoll__table_set_rejects(&target->table, alias, rejects);
		atoll__table_publish(&target->table, alias, a);
	}
}

/* From now on a's alias names nobody (until the next holder is spawned). */
static void alias_release(struct atoll_ctx *r, struct atoll__actor *a)
{
	if (a->alias != ATOLL_REF_NONE) {
		atoll__table_alias_clear(&r->table, a->alias, a);
		a->alias = ATOLL_REF_NONE;
	}
}

/*
 * Frees a prepared actor whose init never ran (atoll_runtime_discard): what
 * was sent to it becomes dead letters and its slot goes back to the table,
 * so its ref goes stale. Owner reactor only.
 */
void atoll__actor_discard(struct atoll_ctx *r, struct atoll__actor *a)
{
	alias_release(r, a);
	drop_mailbox(r, a);
	atoll__fail_release(a);
	atoll__table_free(&r->table, a->ref);
	atoll__free(a);
}

void atoll__reactor_schedule(struct atoll_ctx *r, struct atoll__actor *a)
{
	a->flags |= ATOLL__ACTOR_SCHEDULED;
	a->run_next = NULL;
	if (r->run_tail != NULL)
		r->run_tail->run_next = a;
	else
		r->run_head = a;
	r->run_tail = a;
}

/* Takes a off the run queue (rare: an actor that sent itself a message from
 * init, then did not start or stopped at once). */
static void unschedule(struct atoll_ctx *r, struct atoll__actor *a)
{
	struct atoll__actor *prev = NULL;

	for (struct atoll__actor *q = r->run_head; q != NULL; prev = q, q = q->run_next) {
		if (q != a)
			continue;
		if (prev != NULL)
			prev->run_next = a->run_next;
		else
			r->run_head = a->run_next;
		if (r->run_tail == a)
			r->run_tail = prev;
		break;
	}
	a->flags &= ~ATOLL__ACTOR_SCHEDULED;
}

int atoll__actor_spawn_local(struct atoll_ctx *r, struct atoll__actor *a, const void *arg)
{
	struct atoll__actor *prev = r->current;
	atoll_msg *prev_msg = r->current_msg;
	int err = 0;

	a->flags = ATOLL__ACTOR_LIVE;
	ATOLL__STAT_INC(r, actors_alive);
	if (a->type->init != NULL) {
		r->current = a;
		r->current_msg = NULL;
		err = a->type->init(r, a->state, arg);
		r->current = prev;
		r->current_msg = prev_msg;
	}
	/* atoll_fail in init refuses the start like an error return. */
	if (err >= 0 && (a->flags & ATOLL__ACTOR_FAILED))
		err = a->fail_code < 0 ? a->fail_code : -ECANCELED;
	if ((err < 0 || (a->flags & ATOLL__ACTOR_STOPPING)) && (a->flags & ATOLL__ACTOR_SCHEDULED))
		unschedule(r, a); /* It is about to be freed. */
	if (err < 0) {
		ATOLL__STAT_INC(r, init_failures);
		ATOLL__STAT_ADD(r, actors_alive, (uint64_t)-1);
		atoll__log_debug("actor '%s' on reactor %u: init failed: %s", a->type->name,
				 r->index, atoll_strerror(err));
		alias_release(r, a);
		drop_mailbox(r, a);
		atoll__fail_set(a, err, ATOLL_FAIL_INIT_TEXT);
		atoll__fail_notify(r, a);
		atoll__table_free(&r->table, a->ref);
		atoll__free(a);
		return err;
	}
	ATOLL__STAT_INC(r, spawned);
	/* A message init sent to the actor itself has scheduled it already:
	 * scheduling it twice would link it to itself in the run queue. */
	if (a->flags & ATOLL__ACTOR_STOPPING)
		atoll__actor_finish_stop(r, a);
	else if (a->mbox_head != NULL && !(a->flags & ATOLL__ACTOR_SCHEDULED))
		atoll__reactor_schedule(r, a);
	return 0;
}

void atoll__actor_finish_stop(struct atoll_ctx *r, struct atoll__actor *a)
{
	struct atoll__actor *prev = r->current;
	atoll_msg *prev_msg = r->current_msg;

	a->flags |= ATOLL__ACTOR_STOPPING;
	a->flags &= ~ATOLL__ACTOR_SCHEDULED;
	/* Before the DOWN leaves (fail_notify): whoever restarts the actor
	 * into the alias must find it free. */
	alias_release(r, a);
	if (a->type->stop != NULL) {
		r->current = a;
		r->current_msg = NULL;
		a->type->stop(r, a->state);
		r->current = prev;
		r->current_msg = prev_msg;
	}
	drop_mailbox(r, a);
	/* After the stop hook's sends, so DOWN and EXIT follow them. */
	atoll__fail_notify(r, a);
	atoll__table_free(&r->table, a->ref);
	ATOLL__STAT_ADD(r, actors_alive, (uint64_t)-1);
	atoll__free(a);
}

void atoll__actor_run(struct atoll_ctx *r, struct atoll__actor *a, int *budget)
{
	unsigned n = 0;
	atoll_msg *m;

	/* SCHEDULED stays set while the actor runs, so messages it sends to
	 * itself do not queue it a second time. */
	r->current = a;
	while (n < r->batch && (m = a->mbox_head) != NULL) {
		a->mbox_head = m->next;
		if (a->mbox_head == NULL)
			a->mbox_tail = NULL;
		a->mbox_len--;
		m->flags &= ~ATOLL__MSGF_EXEMPT;
		if (m->type == ATOLL_MSG_STOP) {
			atoll_msg_free(m);
			a->flags |= ATOLL__ACTOR_STOPPING;
			break;
		}
		n++;
		r->current_msg = m;
		a->type->receive(r, a->state, m);
		/* Still set: the actor neither passed the message on nor kept it. */
		if (r->current_msg != NULL)
			atoll_msg_free(r->current_msg);
		if (a->flags & ATOLL__ACTOR_STOPPING)
			break;
	}
	r->current = NULL;
	r->current_msg = NULL;
	ATOLL__STAT_ADD(r, received, n);
	*budget -= (int)n + 1;
	if (a->flags & ATOLL__ACTOR_STOPPING) {
		atoll__actor_finish_stop(r, a);
	} else if (a->mbox_head != NULL) {
		atoll__reactor_schedule(r, a); /* More to do: back of the queue. */
	} else {
		a->flags &= ~ATOLL__ACTOR_SCHEDULED;
	}
}

/* True for the system messages that are never dead letters: requests and
 * notices of monitors and links are answered or dropped on arrival. */
static inline bool quiet_type(uint32_t type)
{
	return type == ATOLL_MSG_DOWN || type == ATOLL_MSG_EXIT ||
	       (type >= ATOLL_MSG_MONITOR && type <= ATOLL_MSG_UNLINK);
}

/* The slow path of deliver_local: system messages and answers to timed
 * asks. None of them is ever refused by a bounded mailbox. */
static int deliver_special(struct atoll_ctx *r, struct atoll__actor *a, atoll_msg *msg)
{
	if (quiet_type(msg->type)) {
		atoll__fail_deliver(r, a, msg);
		return ATOLL_SENT;
	}
	if (msg->type == ATOLL_MSG_TIMEOUT || (msg->flags & ATOLL__MSGF_ANSWER)) {
		if (!atoll__ask_deliver(r, a, msg))
			return ATOLL_SENT;
		/* The one answer of a timed ask: DROP_OLDEST must not take it. */
		msg->flags |= ATOLL__MSGF_EXEMPT;
	}
	if (a == NULL) {
		atoll__dead_letter(r, msg);
		return -ESRCH;
	}
	atoll__mailbox_push(r, a, msg);
	return ATOLL_SENT;
}

/*
 * Delivers msg (msg->to set) to an actor of this reactor. local_sender: the
 * sender runs on this reactor and can be told -ENOBUFS; otherwise a refused
 * message is bounced to its reply_to.
 */
static inline int deliver_local(struct atoll_ctx *r, atoll_msg *msg, bool local_sender)
{
	struct atoll__actor *a = atoll__table_get(&r->table, msg->to);

	if (__builtin_expect(msg->type < ATOLL_MSG_USER || (msg->flags & ATOLL__MSGF_ANSWER), 0))
		return deliver_special(r, a, msg);
	if (a == NULL) {
		atoll__dead_letter(r, msg);
		return -ESRCH;
	}
	if (__builtin_expect(a->mbox_limit != 0, 0) && a->mbox_len >= a->mbox_limit &&
	    !(msg->flags & ATOLL__MSGF_EXEMPT)) {
		if (local_sender || a->overflow != ATOLL_OVERFLOW_REJECT)
			return atoll__mailbox_overflow(r, a, msg);
		return atoll__mailbox_bounce(r, a, msg);
	}
	atoll__mailbox_push(r, a, msg);
	return ATOLL_SENT;
}

void atoll__reactor_deliver(struct atoll_ctx *r, atoll_msg *msg)
{
	if (msg->type == ATOLL_MSG_BUF_RETURN) {
		uint16_t bid;

		memcpy(&bid, msg->data, sizeof(bid));
		atoll_msg_free(msg);
		atoll__bufring_put(r, bid);
		return;
	}
	if (msg->type == ATOLL_MSG_SPAWN) {
		struct atoll__spawn *sp = msg->data;
		struct atoll__actor *a = sp->actor;
		const void *arg = sp->arg;
		bool discard = sp->discard;

		const char *name = a->type->name;

		sp->actor = NULL; /* The actor is no longer the message's. */
		atoll_msg_free(msg);
		if (discard) {
			atoll__actor_discard(r, a);
			return;
		}
		int err = atoll__actor_spawn_local(r, a, arg);
		if (err < 0)
			atoll__log_warn("actor '%s' failed to start on reactor %u: %s", name,
					r->index, atoll_strerror(err));
		return;
	}
	(void)deliver_local(r, msg, false);
}

static void mark_dirty(struct atoll_ctx *r, unsigned core)
{
	if (!r->out[core].dirty) {
		r->out[core].dirty = true;
		r->dirty[r->ndirty++] = core;
	}
}

int atoll__send_remote(struct atoll_ctx *r, unsigned core, atoll_msg *msg)
{
	struct atoll__out *out = &r->out[core];

	/* Best effort: a stop that races this check is caught on arrival. */
	if (msg->type == ATOLL_MSG_BUF_RETURN) {
		/* Runtime housekeeping: no actor, not counted as a send. */
	} else if (msg->type != ATOLL_MSG_SPAWN && !quiet_type(msg->type) &&
		   atoll__table_get(&r->rt->reactors[core]->table, msg->to) == NULL) {
		atoll__dead_letter(r, msg);
		return -ESRCH;
	} else {
		ATOLL__STAT_INC(r, sent_remote);
		/* A rejection must find its way back (see atoll__slot.rejects). */
		if (__builtin_expect(msg->reply_to == ATOLL_REF_NONE, 1) && r->current != NULL &&
		    atoll__table_rejects(&r->rt->reactors[core]->table, msg->to))
			msg->reply_to = r->current->ref;
	}
	mark_dirty(r, core);
	if (out->overflow_head == NULL && atoll__ring_push(out->ring, msg)) {
		if (atoll__ring_unpublished(out->ring) >= PUBLISH_EVERY)
			atoll__ring_publish(out->ring);
		return ATOLL_SENT;
	}
	/* Ring full, or older messages already wait: queue behind them so
	 * per-sender order holds. Phase 3 moves them into the ring. */
	msg->next = NULL;
	if (out->overflow_tail != NULL)
		out->overflow_tail->next = msg;
	else
		out->overflow_head = msg;
	out->overflow_tail = msg;
	ATOLL__STAT_INC(r, ring_full);
	ATOLL__STAT_INC(r, overflow);
	return ATOLL_SENT_QUEUED;
}

int atoll_send(atoll_ctx *ctx, atoll_ref to, atoll_msg *msg)
{
	unsigned core = atoll_ref_core(to);

	if (msg == NULL)
		return -EINVAL;
	if (msg == ctx->current_msg)
		ctx->current_msg = NULL; /* Passed on: the runtime must not free it. */
	msg->to = to;
	if (core == ctx->index) {
		ATOLL__STAT_INC(ctx, sent_local);
		return deliver_local(ctx, msg, true);
	}
	if (core >= ctx->ncores || to == ATOLL_REF_NONE) {
		atoll__dead_letter(ctx, msg);
		return -EINVAL;
	}
	return atoll__send_remote(ctx, core, msg);
}

int atoll_tell(atoll_ctx *ctx, atoll_ref to, uint32_t type, const void *data, size_t len)
{
	atoll_msg *msg = atoll_msg_new_copy(type, data, len);

	return msg != NULL ? atoll_send(ctx, to, msg) : -ENOMEM;
}

int atoll_ask(atoll_ctx *ctx, atoll_ref to, atoll_msg *msg, uint64_t *corr)
{
	if (msg == NULL)
		return -EINVAL;
	/* Unique per runtime: the reactor index in the top bits. */
	msg->corr = (uint64_t)ctx->index << 48 | (++ctx->next_corr & ((1ull << 48) - 1));
	msg->reply_to = atoll_self(ctx);
	if (corr != NULL)
		*corr = msg->corr;
	return atoll_send(ctx, to, msg);
}

int atoll_reply(atoll_ctx *ctx, const atoll_msg *request, atoll_msg *reply)
{
	if (reply == NULL)
		return -EINVAL;
	if (request == NULL || request->reply_to == ATOLL_REF_NONE) {
		atoll__dead_letter(ctx, reply);
		return -ESRCH;
	}
	/* Read before writing: reply may be request itself. */
	uint32_t asked = request->flags & ATOLL__MSGF_ASKED;
	atoll_ref to = request->reply_to;

	reply->corr = request->corr;
	reply->reply_to = atoll_self(ctx);
	/* The answer to a timed ask is checked against the asker's pending
	 * asks on arrival (ask.c). */
	reply->flags &= ~ATOLL__MSGF_ASKED;
	if (asked)
		reply->flags |= ATOLL__MSGF_ANSWER;
	return atoll_send(ctx, to, reply);
}

void atoll_msg_keep(atoll_ctx *ctx, atoll_msg *msg)
{
	if (msg == ctx->current_msg)
		ctx->current_msg = NULL;
}

int atoll_spawn(atoll_ctx *ctx, const struct atoll_actor_type *type, const void *arg, int where,
		atoll_ref *ref)
{
	return atoll_spawn_opts(ctx, type, arg, where, NULL, ref);
}

int atoll_spawn_opts(atoll_ctx *ctx, const struct atoll_actor_type *type, const void *arg,
		     int where, const struct atoll_spawn_opts *opts, atoll_ref *ref)
{
	static const struct atoll_spawn_opts none;
	unsigned core = where == ATOLL_HERE ? ctx->index : (unsigned)where;
	struct atoll_ctx *target;
	struct atoll__actor *a;
	atoll_msg *msg = NULL;
	bool told; /* an init failure is told by DOWN/EXIT, not returned */
	int err;

	atoll_ref ignored;

	if (ref == NULL)
		ref = &ignored; /* The caller does not need the ref. */
	if (opts == NULL)
		opts = &none;
	if (type == NULL || type->receive == NULL || where < ATOLL_HERE || core >= ctx->ncores)
		return -EINVAL;
	told = (opts->flags & ATOLL_SPAWN_LINK) || opts->monitor != NULL;
	target = ctx->rt->reactors[core];
	/* Allocate everything before reserving the slot: only the owner can
	 * give a slot back. */
	if (core != ctx->index) {
		msg = atoll_msg_new(ATOLL_MSG_SPAWN, sizeof(struct atoll__spawn));
		if (msg == NULL)
			return -ENOMEM;
	}
	a = atoll__actor_new(type);
	err = a == NULL ? -ENOMEM : atoll__mailbox_setup(a, opts);
	if (err == 0)
		err = atoll__actor_alias_check(target, opts->alias);
	if (err == 0)
		err = atoll__fail_spawn_prepare(ctx, a, opts);
	if (err == 0)
		err = atoll__table_reserve(&target->table, &a->ref);
	if (err < 0) {
		if (a != NULL)
			atoll__fail_release(a);
		atoll__free(a);
		atoll_msg_free(msg);
		return err;
	}
	atoll__fail_spawn_commit(ctx, a, opts);
	atoll__actor_publish(target, a, opts->alias);
	*ref = a->ref;
	if (msg == NULL) {
		err = atoll__actor_spawn_local(ctx, a, arg);
		if (err < 0 && told)
			return 0; /* The DOWN or EXIT tells it; the ref is stale. */
		if (err < 0)
			*ref = ATOLL_REF_NONE;
		return err;
	}
	struct atoll__spawn *sp = msg->data;
	sp->actor = a;
	sp->arg = arg;
	sp->discard = false;
	msg->release = atoll__actor_free_pending;
	msg->to = a->ref;
	(void)atoll__send_remote(ctx, core, msg);
	return 0;
}

int atoll_alias_new(atoll_ctx *ctx, int where, atoll_ref *alias)
{
	unsigned core = where == ATOLL_HERE ? ctx->index : (unsigned)where;

	if (alias == NULL || where < ATOLL_HERE || core >= ctx->ncores)
		return -EINVAL;
	return atoll__table_reserve_alias(&ctx->rt->reactors[core]->table, alias);
}

int atoll_stop(atoll_ctx *ctx, atoll_ref ref)
{
	atoll_msg *msg;

	if (ctx->current != NULL && ref == ctx->current->ref) {
		ctx->current->flags |= ATOLL__ACTOR_STOPPING;
		return 0;
	}
	if (atoll_ref_core(ref) >= ctx->ncores ||
	    atoll__table_get(&ctx->rt->reactors[atoll_ref_core(ref)]->table, ref) == NULL)
		return -ESRCH;
	msg = atoll_msg_new(ATOLL_MSG_STOP, 0);
	if (msg == NULL)
		return -ENOMEM;
	int err = atoll_send(ctx, ref, msg);
	return err < 0 ? err : 0;
}
