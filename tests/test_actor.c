/*
 * test_actor.c - the actor lifecycle and the message ownership rule: spawn
 * here (init before atoll_spawn returns, zeroed state, arg) and on another
 * core (ref valid at once, early messages wait for init), init failures,
 * stopping self and others (stop hook once, after the last receive), stale
 * refs (-ESRCH, dead letters, never delivered to an actor reusing the slot),
 * messages freed after receive unless kept, forwarding without copying,
 * ask/reply correlation, and stop hooks at runtime stop.
 */
#include "helpers.h"

enum {
	MSG_GO = ATOLL_MSG_USER,
	MSG_VALUE,       /* payload: uint64_t */
	MSG_STOP_SELF,   /* the receiver stops itself */
	MSG_STOPPED,     /* sent by a stop hook to the actor that asked */
	MSG_FOR_OLD_REF, /* must never be delivered */
	MSG_MARKER,
	MSG_KEEP,
	MSG_PLAIN,
	MSG_CHECKPOINT,
	MSG_DROP,
	MSG_FORWARD_KEPT,
	MSG_ASK,
	MSG_ANSWER,
	MSG_REFS, /* payload: two atoll_refs */
};

static uint32_t ref_slot(atoll_ref ref)
{
	return (uint32_t)((ref >> ATOLL_REF_GEN_BITS) & ((1u << ATOLL_REF_SLOT_BITS) - 1));
}

static uint64_t payload_u64(const atoll_msg *msg)
{
	uint64_t v = 0;

	CHECK_EQ(msg->len, sizeof(v));
	if (msg->len == sizeof(v))
		memcpy(&v, msg->data, sizeof(v));
	return v;
}

static int tell_u64(atoll_ctx *ctx, atoll_ref to, uint32_t type, uint64_t v)
{
	return atoll_tell(ctx, to, type, &v, sizeof(v));
}

/*
 * One shared record per test, reached by every actor through its init arg
 * (which stays valid for the whole test).
 */
struct world {
	atoll_runtime *rt;
	_Atomic atoll_ref parent, target, other, peer;
	int init_error; /* what a child's init returns */
	/* Child bookkeeping, written on reactor threads. */
	_Atomic uint64_t child_inits;
	_Atomic uint64_t child_arg; /* the arg init was given */
	_Atomic uint64_t child_init_core;
	_Atomic uint64_t child_self;
	_Atomic uint64_t child_received;
	_Atomic uint64_t child_stops;
	_Atomic uint64_t received_at_stop;
	_Atomic uint64_t values[128];
	_Atomic uint64_t for_old_ref_received;
	_Atomic uint64_t marker;
	_Atomic uint64_t done;
	_Atomic uint64_t results[8];
	_Atomic uint64_t ptrs[8];
};

#define CHILD_STATE_BYTES 512

struct child {
	struct world *w;
	bool inited;
	bool stopped;
	uint64_t received;
	unsigned char rest[CHILD_STATE_BYTES];
};

static int child_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct child *c = state;
	const unsigned char *bytes = state;
	bool zero = true;

	for (size_t i = 0; i < sizeof(*c); i++)
		zero = zero && bytes[i] == 0;
	CHECK(zero);
	/* Leave garbage behind: a later actor in this memory must still
	 * start from zeroed state. */
	memset(state, 0xff, sizeof(*c));
	c->w = (struct world *)arg;
	c->inited = true;
	c->stopped = false;
	c->received = 0;
	atomic_store(&c->w->child_arg, (uint64_t)(uintptr_t)arg);
	atomic_store(&c->w->child_init_core, atoll_core(ctx));
	atomic_store(&c->w->child_self, atoll_self(ctx));
	atomic_fetch_add(&c->w->child_inits, 1);
	return c->w->init_error;
}

static void child_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct child *c = state;
	struct world *w = c->w;

	CHECK(c->inited);
	CHECK(!c->stopped);
	CHECK(w->init_error == 0);
	c->received++;
	atomic_fetch_add(&w->child_received, 1);
	switch (msg->type) {
	case MSG_VALUE:
		if (c->received <= 128)
			atomic_store(&w->values[c->received - 1], payload_u64(msg));
		break;
	case MSG_STOP_SELF:
		CHECK_EQ(atoll_stop(ctx, atoll_self(ctx)), 0);
		break;
	case MSG_FOR_OLD_REF:
		atomic_fetch_add(&w->for_old_ref_received, 1);
		break;
	case MSG_MARKER:
		atomic_fetch_add(&w->marker, 1);
		break;
	default:
		break;
	}
}

/* Runs once, after the last receive; tells the parent, if any. */
static void child_stop(atoll_ctx *ctx, void *state)
{
	struct child *c = state;

	CHECK(c->inited);
	CHECK(!c->stopped);
	c->stopped = true;
	atomic_store(&c->w->received_at_stop, c->received);
	atomic_fetch_add(&c->w->child_stops, 1);
	if (atomic_load(&c->w->parent) != ATOLL_REF_NONE) {
		/* At runtime stop the parent may have stopped first. */
		int rc = tell_u64(ctx, atomic_load(&c->w->parent), MSG_STOPPED, atoll_self(ctx));

		CHECK(rc >= 0 || rc == -ESRCH);
	}
}

static const struct atoll_actor_type child_type = {
	.name = "child",
	.state_size = sizeof(struct child),
	.init = child_init,
	.receive = child_receive,
	.stop = child_stop,
};

static int world_setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return -1;
	reset_checks();
	w->rt = start_reactors(2);
	*state = w;
	return 0;
}

static int world_teardown(void **state)
{
	struct world *w = *state;

	if (w->rt != NULL)
		destroy_runtime(w->rt);
	free(w);
	/* Checks made by stop hooks during the runtime stop count too. */
	assert_no_check_failures();
	return 0;
}

/* Parents: actors that drive one scenario each from their receive. */
struct parent {
	struct world *w;
	int step;
};

static int parent_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct parent *p = state;

	p->w = (struct world *)arg;
	atomic_store(&p->w->parent, atoll_self(ctx));
	return 0;
}

#define PARENT_TYPE(fn)                                    \
	static const struct atoll_actor_type fn##_type = { \
		.name = #fn,                               \
		.state_size = sizeof(struct parent),       \
		.init = parent_init,                       \
		.receive = fn,                             \
	}

/* Starts a parent on reactor 0 and sends it MSG_GO. */
static void run_parent(struct world *w, const struct atoll_actor_type *type)
{
	atoll_ref p = spawn_on(w->rt, type, w, 0);

	send_from_outside(w->rt, p, MSG_GO, NULL, 0);
}

/* Spawn ----------------------------------------------------------------- */

static void spawn_here_parent(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct parent *p = state;
	struct world *w = p->w;
	int wheres[2] = { ATOLL_HERE, (int)atoll_core(ctx) };
	atoll_ref ref = ATOLL_REF_NONE;

	if (msg->type == MSG_STOPPED) {
		if (p->step++ != 0)
			return; /* the second child, at runtime stop */
		/* The first child is gone; spawn again into reusable memory. */
		CHECK_EQ(atoll_spawn(ctx, &child_type, w, wheres[1], &ref), 0);
		CHECK_EQ(atomic_load(&w->child_inits), 2);
		CHECK(ref == atomic_load(&w->child_self));
		atomic_store(&w->done, 1);
		return;
	}
	CHECK_EQ(atoll_spawn(ctx, &child_type, w, wheres[0], &ref), 0);
	/* init has run on this thread before atoll_spawn returned. */
	CHECK_EQ(atomic_load(&w->child_inits), 1);
	CHECK(ref != ATOLL_REF_NONE);
	CHECK(ref == atomic_load(&w->child_self));
	CHECK_EQ(atomic_load(&w->child_arg), (uintptr_t)w);
	CHECK_EQ(atoll_ref_core(ref), atoll_core(ctx));
	CHECK_EQ(atomic_load(&w->child_init_core), atoll_core(ctx));
	CHECK_EQ(atoll_stop(ctx, ref), 0);
}
PARENT_TYPE(spawn_here_parent);

static void actor_spawn_here_runs_init_before_returning_with_zeroed_state_and_arg(void **state)
{
	struct world *w = *state;

	run_parent(w, &spawn_here_parent_type);
	assert_wait_u64(&w->done, 1, WAIT_LIMIT_NS);
	assert_no_check_failures();
	assert_int_equal(atomic_load(&w->child_stops), 1);
}

static void spawn_remote_parent(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct parent *p = state;
	atoll_ref ref = ATOLL_REF_NONE;

	if (msg->type != MSG_GO)
		return; /* MSG_STOPPED from the child, at runtime stop */
	CHECK_EQ(atoll_spawn(ctx, &child_type, p->w, 1, &ref), 0);
	CHECK_EQ(atoll_ref_core(ref), 1);
	atomic_store(&p->w->target, ref);
	/* Usable at once: these wait for init on reactor 1. */
	for (uint64_t v = 1; v <= 3; v++)
		CHECK(tell_u64(ctx, ref, MSG_VALUE, v) >= 0);
	atomic_store(&p->w->results[0], ref);
}
PARENT_TYPE(spawn_remote_parent);

static void actor_spawn_on_other_core_gives_usable_ref_and_delivers_after_init(void **state)
{
	struct world *w = *state;

	run_parent(w, &spawn_remote_parent_type);
	assert_wait_u64(&w->child_received, 3, WAIT_LIMIT_NS);
	assert_no_check_failures(); /* includes "inited" in every receive */
	assert_int_equal(atomic_load(&w->child_inits), 1);
	assert_int_equal(atomic_load(&w->child_init_core), 1);
	assert_true(atomic_load(&w->child_self) == atomic_load(&w->results[0]));
	for (int i = 0; i < 3; i++)
		assert_int_equal(atomic_load(&w->values[i]), i + 1);
}

static void init_failure_parent(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct parent *p = state;
	atoll_ref ref = ATOLL_REF_NONE;

	CHECK_EQ(msg->type, MSG_GO);
	p->w->init_error = -EADDRINUSE;
	atomic_store(&p->w->results[0],
		     (uint64_t)(int64_t)atoll_spawn(ctx, &child_type, p->w, ATOLL_HERE, &ref));
	/* On another core the error cannot come back: the ref is valid, and
	 * what is sent to it becomes dead letters there. */
	CHECK_EQ(atoll_spawn(ctx, &child_type, p->w, 1, &ref), 0);
	for (int i = 0; i < 3; i++)
		CHECK(atoll_tell(ctx, ref, MSG_PLAIN, NULL, 0) >= 0);
	atomic_store(&p->w->done, 1);
}
PARENT_TYPE(init_failure_parent);

static void actor_init_error_is_returned_by_spawn_and_counted_as_init_failure(void **state)
{
	struct world *w = *state;

	run_parent(w, &init_failure_parent_type);
	assert_wait_u64(&w->done, 1, WAIT_LIMIT_NS);
	assert_int_equal((int64_t)atomic_load(&w->results[0]), -EADDRINUSE);
	assert_stat_eventually(w->rt, 0, init_failures, 1);
	assert_stat_eventually(w->rt, 1, init_failures, 1);
	assert_int_equal(atomic_load(&w->child_inits), 2);
	/* Only the parent lives; the failed children never count. */
	assert_stat_eventually(w->rt, 0, actors_alive, 1);
	assert_stat_eventually(w->rt, 1, actors_alive, 0);
	/* The 3 messages to the remote failed child went to dead letters. */
	assert_stat_eventually(w->rt, ALL_REACTORS, dead_letters, 3);
	assert_int_equal(atomic_load(&w->child_received), 0);
	/* An actor that never started has nothing to stop. */
	assert_int_equal(atomic_load(&w->child_stops), 0);
	assert_no_check_failures();
}

/* Stop ------------------------------------------------------------------ */

static void stop_self_parent(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct parent *p = state;
	struct world *w = p->w;
	atoll_ref ref = ATOLL_REF_NONE;

	if (msg->type == MSG_GO) {
		CHECK_EQ(atoll_spawn(ctx, &child_type, w, ATOLL_HERE, &ref), 0);
		atomic_store(&w->target, ref);
		/* All five are in its mailbox before it runs. */
		CHECK_EQ(tell_u64(ctx, ref, MSG_VALUE, 1), ATOLL_SENT);
		CHECK_EQ(tell_u64(ctx, ref, MSG_VALUE, 2), ATOLL_SENT);
		CHECK_EQ(atoll_tell(ctx, ref, MSG_STOP_SELF, NULL, 0), ATOLL_SENT);
		CHECK_EQ(tell_u64(ctx, ref, MSG_VALUE, 3), ATOLL_SENT);
		CHECK_EQ(tell_u64(ctx, ref, MSG_VALUE, 4), ATOLL_SENT);
	} else if (msg->type == MSG_STOPPED) {
		ref = atomic_load(&w->target);
		atomic_store(&w->results[0],
			     (uint64_t)(int64_t)atoll_tell(ctx, ref, MSG_FOR_OLD_REF, NULL, 0));
		atomic_store(&w->results[1], (uint64_t)(int64_t)atoll_stop(ctx, ref));
		atomic_store(&w->done, 1);
	}
}
PARENT_TYPE(stop_self_parent);

static void actor_stop_self_runs_stop_hook_once_after_last_receive(void **state)
{
	struct world *w = *state;

	run_parent(w, &stop_self_parent_type);
	assert_wait_u64(&w->done, 1, WAIT_LIMIT_NS);
	assert_no_check_failures();
	/* 1, 2 and the stop request; 3 and 4 became dead letters. */
	assert_int_equal(atomic_load(&w->child_received), 3);
	assert_int_equal(atomic_load(&w->received_at_stop), 3);
	assert_int_equal(atomic_load(&w->child_stops), 1);
	assert_int_equal(atomic_load(&w->values[0]), 1);
	assert_int_equal(atomic_load(&w->values[1]), 2);
	/* The stale ref: -ESRCH for send and stop, never delivered. */
	assert_int_equal((int64_t)atomic_load(&w->results[0]), -ESRCH);
	assert_int_equal((int64_t)atomic_load(&w->results[1]), -ESRCH);
	assert_int_equal(atomic_load(&w->for_old_ref_received), 0);
	assert_stat_eventually(w->rt, 0, dead_letters, 3);
	assert_stat_eventually(w->rt, 0, actors_alive, 1);
}

static void stop_other_parent(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct parent *p = state;
	struct world *w = p->w;
	atoll_ref ref = ATOLL_REF_NONE;

	if (msg->type == MSG_GO) {
		CHECK_EQ(atoll_spawn(ctx, &child_type, w, (int)payload_u64(msg), &ref), 0);
		for (uint64_t v = 1; v <= 100; v++)
			CHECK(tell_u64(ctx, ref, MSG_VALUE, v) >= 0);
		CHECK_EQ(atoll_stop(ctx, ref), 0);
		/* Sent after the stop request, so queued behind it. */
		CHECK(atoll_tell(ctx, ref, MSG_FOR_OLD_REF, NULL, 0) >= 0);
	} else if (msg->type == MSG_STOPPED) {
		atomic_store(&w->done, 1);
	}
}
PARENT_TYPE(stop_other_parent);

static void check_stop_other(struct world *w, uint64_t where)
{
	atoll_ref p = spawn_on(w->rt, &stop_other_parent_type, w, 0);

	send_from_outside(w->rt, p, MSG_GO, &where, sizeof(where));
	assert_wait_u64(&w->done, 1, WAIT_LIMIT_NS);
	assert_no_check_failures();
	assert_int_equal(atomic_load(&w->child_stops), 1);
	assert_int_equal(atomic_load(&w->child_received), 100);
	assert_int_equal(atomic_load(&w->received_at_stop), 100);
	for (int i = 0; i < 100; i++)
		assert_int_equal(atomic_load(&w->values[i]), i + 1);
	assert_int_equal(atomic_load(&w->for_old_ref_received), 0);
	assert_stat_eventually(w->rt, ALL_REACTORS, dead_letters, 1);
	assert_stat_eventually(w->rt, (unsigned)where, actors_alive, where == 0 ? 1 : 0);
}

static void actor_stop_of_actor_on_same_core_runs_after_messages_already_sent(void **state)
{
	check_stop_other(*state, 0);
}

static void actor_stop_of_actor_on_other_core_runs_after_messages_already_sent(void **state)
{
	check_stop_other(*state, 1);
}

/* Stale refs ------------------------------------------------------------ */

/* Reactor 1's view: a stale ref sent from there must not arrive either. */
static int relay_init(atoll_ctx *ctx, void *state, const void *arg)
{
	(void)ctx;
	*(struct world **)state = (struct world *)arg;
	return 0;
}

static void relay_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct world *w = *(struct world **)state;
	atoll_ref refs[2];

	CHECK_EQ(msg->type, MSG_REFS);
	CHECK_EQ(msg->len, sizeof(refs));
	memcpy(refs, msg->data, sizeof(refs));
	atomic_store(&w->results[6],
		     (uint64_t)(int64_t)atoll_tell(ctx, refs[0], MSG_FOR_OLD_REF, NULL, 0));
	CHECK(atoll_tell(ctx, refs[1], MSG_MARKER, NULL, 0) >= 0);
}

static const struct atoll_actor_type relay_type = {
	.name = "relay",
	.state_size = sizeof(struct world *),
	.init = relay_init,
	.receive = relay_receive,
};

#define REUSE_TRIES 4096

static void slot_reuse_parent(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct parent *p = state;
	struct world *w = p->w;
	atoll_ref old = atomic_load(&w->target), fresh = ATOLL_REF_NONE, refs[2];

	if (msg->type == MSG_GO) {
		CHECK_EQ(atoll_spawn(ctx, &child_type, w, ATOLL_HERE, &fresh), 0);
		atomic_store(&w->target, fresh);
		CHECK_EQ(atoll_stop(ctx, fresh), 0);
		return;
	}
	if (msg->type != MSG_STOPPED || payload_u64(msg) != old || p->step++ != 0)
		return; /* the later children's stops, at runtime stop */
	atomic_store(&w->results[0],
		     (uint64_t)(int64_t)atoll_tell(ctx, old, MSG_FOR_OLD_REF, NULL, 0));
	atomic_store(&w->results[1], (uint64_t)(int64_t)atoll_stop(ctx, old));
	/* Spawn (keeping every child) until one lands in the old slot. */
	for (int i = 0; i < REUSE_TRIES; i++) {
		CHECK_EQ(atoll_spawn(ctx, &child_type, w, ATOLL_HERE, &fresh), 0);
		if (ref_slot(fresh) == ref_slot(old))
			break;
	}
	atomic_store(&w->results[3], fresh);
	atomic_store(&w->results[4], old);
	/* The slot is taken again: the old ref must still be stale. */
	atomic_store(&w->results[5],
		     (uint64_t)(int64_t)atoll_tell(ctx, old, MSG_FOR_OLD_REF, NULL, 0));
	CHECK_EQ(atoll_tell(ctx, fresh, MSG_MARKER, NULL, 0), ATOLL_SENT);
	refs[0] = old;
	refs[1] = fresh;
	CHECK(atoll_tell(ctx, atomic_load(&w->peer), MSG_REFS, refs, sizeof(refs)) >= 0);
}
PARENT_TYPE(slot_reuse_parent);

static void actor_stale_ref_gives_esrch_and_never_reaches_actor_reusing_the_slot(void **state)
{
	struct world *w = *state;
	atoll_ref old, fresh;
	int64_t remote_rc;

	atomic_store(&w->peer, spawn_on(w->rt, &relay_type, w, 1));
	run_parent(w, &slot_reuse_parent_type);
	/* One marker from reactor 0, one relayed from reactor 1, each sent
	 * after the stale message from the same sender. */
	assert_wait_u64(&w->marker, 2, WAIT_LIMIT_NS);
	assert_no_check_failures();
	old = atomic_load(&w->results[4]);
	fresh = atomic_load(&w->results[3]);
	assert_true(fresh != old);
	if (ref_slot(fresh) != ref_slot(old))
		fail_msg("no new actor reused slot %u in %d spawns", ref_slot(old), REUSE_TRIES);
	assert_int_equal((int64_t)atomic_load(&w->results[0]), -ESRCH);
	assert_int_equal((int64_t)atomic_load(&w->results[1]), -ESRCH);
	assert_int_equal((int64_t)atomic_load(&w->results[5]), -ESRCH);
	remote_rc = (int64_t)atomic_load(&w->results[6]);
	assert_true(remote_rc == ATOLL_SENT || remote_rc == -ESRCH);
	assert_int_equal(atomic_load(&w->for_old_ref_received), 0);
	assert_stat_eventually(w->rt, ALL_REACTORS, dead_letters, 3);
}

/* Ownership ------------------------------------------------------------- */

static _Atomic uint64_t releases[16];

static void release_by_id(atoll_msg *msg)
{
	uint64_t id;

	memcpy(&id, msg->data, sizeof(id));
	free(msg->data);
	if (id < 16)
		atomic_fetch_add(&releases[id], 1);
}

#define TAGGED_BYTES 64

/* A message with an attached buffer that counts its release by id. */
static atoll_msg *tagged_msg(uint32_t type, uint64_t id)
{
	atoll_msg *m = atoll_msg_new(type, 0);
	unsigned char *buf = malloc(TAGGED_BYTES);

	if (m == NULL || buf == NULL) {
		free(buf);
		atoll_msg_free(m);
		return NULL;
	}
	for (int i = 0; i < TAGGED_BYTES; i++)
		buf[i] = (unsigned char)(id * 31 + (uint64_t)i);
	memcpy(buf, &id, sizeof(id));
	atoll_msg_attach(m, buf, TAGGED_BYTES, TAGGED_BYTES, release_by_id);
	return m;
}

static bool tagged_intact(const atoll_msg *m, uint64_t id)
{
	const unsigned char *buf = m->data;
	uint64_t got;

	memcpy(&got, buf, sizeof(got));
	if (got != id || m->len != TAGGED_BYTES)
		return false;
	for (int i = (int)sizeof(id); i < TAGGED_BYTES; i++)
		if (buf[i] != (unsigned char)(id * 31 + (uint64_t)i))
			return false;
	return true;
}

struct keeper {
	struct world *w;
	atoll_msg *kept;
	uint64_t kept_id;
};

static int keeper_init(atoll_ctx *ctx, void *state, const void *arg)
{
	(void)ctx;
	((struct keeper *)state)->w = (struct world *)arg;
	return 0;
}

static void keeper_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct keeper *k = state;
	uint64_t id;

	memcpy(&id, msg->data, sizeof(id));
	switch (msg->type) {
	case MSG_KEEP:
		CHECK(k->kept == NULL);
		atoll_msg_keep(ctx, msg);
		k->kept = msg;
		k->kept_id = id;
		break;
	case MSG_CHECKPOINT:
		/* The kept one is alive and intact; the plain one is gone. */
		CHECK_EQ(atomic_load(&releases[1]), 0);
		CHECK_EQ(atomic_load(&releases[2]), 1);
		CHECK(k->kept != NULL && tagged_intact(k->kept, 1));
		break;
	case MSG_DROP:
		CHECK(k->kept != NULL);
		atoll_msg_free(k->kept);
		k->kept = NULL;
		CHECK_EQ(atomic_load(&releases[k->kept_id]), 1);
		break;
	case MSG_FORWARD_KEPT:
		CHECK(k->kept != NULL);
		CHECK(atoll_send(ctx, atomic_load(&k->w->other), k->kept) >= 0);
		k->kept = NULL;
		break;
	default:
		break;
	}
	atomic_fetch_add(&k->w->done, 1);
}

/* Whatever is still kept is the actor's to free, also at runtime stop. */
static void keeper_stop(atoll_ctx *ctx, void *state)
{
	struct keeper *k = state;

	(void)ctx;
	atoll_msg_free(k->kept);
	k->kept = NULL;
}

static const struct atoll_actor_type keeper_type = {
	.name = "keeper",
	.state_size = sizeof(struct keeper),
	.init = keeper_init,
	.receive = keeper_receive,
	.stop = keeper_stop,
};

static void actor_message_is_freed_after_receive_unless_kept(void **state)
{
	struct world *w = *state;
	static const uint32_t script[] = { 0,        MSG_KEEP, MSG_PLAIN,        MSG_CHECKPOINT,
					   MSG_DROP, MSG_KEEP, MSG_FORWARD_KEPT, MSG_KEEP };
	atoll_ref keeper;

	memset(releases, 0, sizeof(releases));
	atomic_store(&w->other, spawn_on(w->rt, &child_type, w, 0));
	keeper = spawn_on(w->rt, &keeper_type, w, 1);
	for (uint64_t id = 1; id <= 7; id++) {
		atoll_msg *m = tagged_msg(script[id], id);

		assert_non_null(m);
		assert_true(atoll_runtime_send(w->rt, keeper, m) >= 0);
	}
	assert_wait_u64(&w->done, 7, WAIT_LIMIT_NS);
	/* Message 5 was kept, then forwarded, then freed after the sink's
	 * receive; message 6 (the forward order) after the keeper's. */
	assert_wait_u64(&w->child_received, 1, WAIT_LIMIT_NS);
	assert_wait_u64(&releases[5], 1, WAIT_LIMIT_NS);
	assert_wait_u64(&releases[6], 1, WAIT_LIMIT_NS);
	assert_no_check_failures();
	for (int id = 1; id <= 6; id++)
		assert_int_equal(atomic_load(&releases[id]), 1);
	assert_int_equal(atomic_load(&releases[7]), 0); /* still kept */

	destroy_runtime(w->rt);
	w->rt = NULL;
	for (int id = 1; id <= 7; id++)
		assert_int_equal(atomic_load(&releases[id]), 1);
	assert_no_check_failures();
}

struct hop {
	struct world *w;
	int index;
	_Atomic atoll_ref next;
};

static int hop_init(atoll_ctx *ctx, void *state, const void *arg)
{
	(void)ctx;
	*(struct hop **)state = (struct hop *)arg;
	return 0;
}

#define HOP_BYTES 4096

static void hop_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct hop *h = *(struct hop **)state;
	struct world *w = h->w;
	atoll_ref next = atomic_load(&h->next);

	atomic_store(&w->ptrs[h->index * 2], (uint64_t)(uintptr_t)msg);
	atomic_store(&w->ptrs[h->index * 2 + 1], (uint64_t)(uintptr_t)msg->data);
	if (next != ATOLL_REF_NONE) {
		CHECK(atoll_send(ctx, next, msg) >= 0);
		return;
	}
	/* The last hop holds the very message the first one got. */
	CHECK_EQ((uintptr_t)msg, atomic_load(&w->ptrs[0]));
	CHECK_EQ((uintptr_t)msg->data, atomic_load(&w->ptrs[1]));
	if (msg->type == MSG_PLAIN) {
		const unsigned char *b = msg->data;

		CHECK_EQ(msg->len, HOP_BYTES);
		for (int i = 0; i < HOP_BYTES; i++)
			if (b[i] != (unsigned char)(i * 13))
				CHECK_EQ(b[i], (unsigned char)(i * 13));
	} else {
		CHECK(tagged_intact(msg, 3));
	}
	atomic_fetch_add(&w->done, 1);
}

static const struct atoll_actor_type hop_type = {
	.name = "hop",
	.state_size = sizeof(struct hop *),
	.init = hop_init,
	.receive = hop_receive,
};

static void actor_forwarding_across_cores_moves_the_same_message_and_payload(void **state)
{
	struct world *w = *state;
	static const int cores[4] = { 0, 1, 0, 0 };
	static struct hop hops[4]; /* outlives the test: actors point at it */
	atoll_ref refs[4];
	atoll_msg *m;

	memset(hops, 0, sizeof(hops));
	memset(releases, 0, sizeof(releases));
	/* Spawned last to first, so each knows the next before it runs. */
	for (int i = 3; i >= 0; i--) {
		hops[i].w = w;
		hops[i].index = i;
		atomic_store(&hops[i].next, i == 3 ? ATOLL_REF_NONE : refs[i + 1]);
		refs[i] = spawn_on(w->rt, &hop_type, &hops[i], cores[i]);
	}
	m = atoll_msg_new(MSG_PLAIN, HOP_BYTES);
	assert_non_null(m);
	for (int i = 0; i < HOP_BYTES; i++)
		((unsigned char *)m->data)[i] = (unsigned char)(i * 13);
	assert_true(atoll_runtime_send(w->rt, refs[0], m) >= 0);
	assert_wait_u64(&w->done, 1, WAIT_LIMIT_NS);
	assert_no_check_failures();

	/* With an attached buffer: moved, never copied, released once. */
	m = tagged_msg(MSG_MARKER, 3);
	assert_non_null(m);
	assert_true(atoll_runtime_send(w->rt, refs[0], m) >= 0);
	assert_wait_u64(&w->done, 2, WAIT_LIMIT_NS);
	assert_wait_u64(&releases[3], 1, WAIT_LIMIT_NS);
	assert_no_check_failures();
	assert_int_equal(atomic_load(&releases[3]), 1);
}

/* Ask and reply --------------------------------------------------------- */

#define ASKS 20

struct asker {
	struct world *w;
	uint64_t corr[ASKS + 1];
	unsigned answered;
};

static int asker_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct asker *a = state;

	a->w = (struct world *)arg;
	atomic_store(&a->w->parent, atoll_self(ctx));
	return 0;
}

static void asker_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct asker *a = state;
	struct world *w = a->w;

	if (msg->type == MSG_GO) {
		for (uint64_t i = 0; i <= ASKS; i++) {
			atoll_ref to = atomic_load(i % 2 ? &w->target : &w->other);
			atoll_msg *m = atoll_msg_new_copy(MSG_ASK, &i, sizeof(i));

			CHECK(m != NULL);
			if (i == ASKS) {
				/* corr may be NULL. */
				CHECK(atoll_ask(ctx, to, m, NULL) >= 0);
				continue;
			}
			CHECK(atoll_ask(ctx, to, m, &a->corr[i]) >= 0);
			CHECK(a->corr[i] != 0);
			for (uint64_t j = 0; j < i; j++)
				CHECK(a->corr[j] != a->corr[i]);
		}
		/* A plain message carries no reply_to: replying fails. */
		CHECK(atoll_tell(ctx, atomic_load(&w->target), MSG_PLAIN, NULL, 0) >= 0);
		return;
	}
	CHECK_EQ(msg->type, MSG_ANSWER);
	{
		uint64_t i = payload_u64(msg) / 10;

		CHECK(i <= ASKS);
		if (i < ASKS)
			CHECK_EQ(msg->corr, a->corr[i]);
		if (++a->answered == ASKS + 1)
			atomic_store(&w->done, 1);
	}
}

static const struct atoll_actor_type asker_type = {
	.name = "asker",
	.state_size = sizeof(struct asker),
	.init = asker_init,
	.receive = asker_receive,
};

static void responder_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct world *w = *(struct world **)state;
	uint64_t v;
	atoll_msg *reply;

	if (msg->type == MSG_PLAIN) {
		CHECK(msg->reply_to == ATOLL_REF_NONE);
		reply = atoll_msg_new(MSG_ANSWER, 0);
		atomic_store(&w->results[0], (uint64_t)(int64_t)atoll_reply(ctx, msg, reply));
		atomic_fetch_add(&w->marker, 1);
		return;
	}
	CHECK_EQ(msg->type, MSG_ASK);
	CHECK(msg->reply_to == atomic_load(&w->parent));
	CHECK(msg->corr != 0);
	v = payload_u64(msg) * 10;
	reply = atoll_msg_new_copy(MSG_ANSWER, &v, sizeof(v));
	CHECK(atoll_reply(ctx, msg, reply) >= 0);
	/* The request is still ours after replying. */
	CHECK_EQ(payload_u64(msg) * 10, v);
}

static const struct atoll_actor_type responder_type = {
	.name = "responder",
	.state_size = sizeof(struct world *),
	.init = relay_init,
	.receive = responder_receive,
};

static void actor_ask_reply_matches_corr_ids_and_reply_to_is_the_asker(void **state)
{
	struct world *w = *state;
	atoll_ref asker;

	atomic_store(&w->other, spawn_on(w->rt, &responder_type, w, 0));
	atomic_store(&w->target, spawn_on(w->rt, &responder_type, w, 1));
	asker = spawn_on(w->rt, &asker_type, w, 0);
	send_from_outside(w->rt, asker, MSG_GO, NULL, 0);
	assert_wait_u64(&w->done, 1, WAIT_LIMIT_NS);
	assert_wait_u64(&w->marker, 1, WAIT_LIMIT_NS);
	assert_no_check_failures();
	assert_int_equal((int64_t)atomic_load(&w->results[0]), -ESRCH);
}

/* Runtime stop ---------------------------------------------------------- */

#define MEMBERS 14
#define SPAWNED_BY_ACTORS 2

struct member_slot {
	_Atomic uint64_t inits;
	_Atomic uint64_t stops;
	_Atomic atoll_ref neighbour;
};

struct member {
	struct member_slot *slot;
	bool stopped;
};

/* Declared ahead: members spawn members. */
static const struct atoll_actor_type member_type;
static struct member_slot members[MEMBERS];

static int member_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct member *m = state;

	(void)ctx;
	m->slot = (struct member_slot *)arg;
	atomic_fetch_add(&m->slot->inits, 1);
	return 0;
}

static void member_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct member *m = state;
	atoll_ref ref;

	CHECK(!m->stopped);
	if (msg->type == MSG_STOP_SELF) {
		CHECK_EQ(atoll_stop(ctx, atoll_self(ctx)), 0);
	} else if (msg->type == MSG_GO) {
		/* Actors started by actors, here and on the other core. */
		CHECK_EQ(atoll_spawn(ctx, &member_type, &members[MEMBERS - 2], ATOLL_HERE, &ref),
			 0);
		CHECK_EQ(atoll_spawn(ctx, &member_type, &members[MEMBERS - 1], 1, &ref), 0);
	}
}

/* Runs once; sending from a stop hook is allowed, even at runtime stop
 * when the neighbour may be gone already. */
static void member_stop(atoll_ctx *ctx, void *state)
{
	struct member *m = state;
	atoll_ref n = atomic_load(&m->slot->neighbour);

	CHECK(!m->stopped);
	m->stopped = true;
	atomic_fetch_add(&m->slot->stops, 1);
	if (n != ATOLL_REF_NONE) {
		int rc = tell_u64(ctx, n, MSG_VALUE, 1);

		CHECK(rc >= 0 || rc == -ESRCH);
	}
}

static const struct atoll_actor_type member_type = {
	.name = "member",
	.state_size = sizeof(struct member),
	.init = member_init,
	.receive = member_receive,
	.stop = member_stop,
};

static void actor_runtime_stop_runs_every_live_actor_stop_hook_exactly_once(void **state)
{
	struct world *w = *state;
	atoll_ref refs[MEMBERS - SPAWNED_BY_ACTORS];
	const int n = MEMBERS - SPAWNED_BY_ACTORS;

	memset(members, 0, sizeof(members));
	for (int i = 0; i < n; i++)
		refs[i] = spawn_on(w->rt, &member_type, &members[i], i % 2);
	for (int i = 0; i < n; i++)
		atomic_store(&members[i].neighbour, refs[(i + 1) % n]);
	send_from_outside(w->rt, refs[0], MSG_GO, NULL, 0);
	/* Two stop on their own before the runtime does. */
	send_from_outside(w->rt, refs[3], MSG_STOP_SELF, NULL, 0);
	send_from_outside(w->rt, refs[6], MSG_STOP_SELF, NULL, 0);
	for (int i = 0; i < MEMBERS; i++)
		assert_wait_u64(&members[i].inits, 1, WAIT_LIMIT_NS);
	assert_wait_u64(&members[3].stops, 1, WAIT_LIMIT_NS);
	assert_wait_u64(&members[6].stops, 1, WAIT_LIMIT_NS);

	destroy_runtime(w->rt);
	w->rt = NULL;
	for (int i = 0; i < MEMBERS; i++) {
		if (atomic_load(&members[i].stops) != 1)
			fail_msg("member %d: stop hook ran %llu times", i,
				 (unsigned long long)atomic_load(&members[i].stops));
		assert_int_equal(atomic_load(&members[i].inits), 1);
	}
	assert_no_check_failures();
}

/* Bad arguments --------------------------------------------------------- */

static const struct atoll_actor_type no_receive_type = {
	.name = "no_receive",
	.state_size = 8,
};

static void bad_args_parent(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct parent *p = state;
	atoll_ref ref = ATOLL_REF_NONE;
	atoll_ref nowhere = ((atoll_ref)7 << (ATOLL_REF_SLOT_BITS + ATOLL_REF_GEN_BITS)) | 1;

	CHECK_EQ(msg->type, MSG_GO);
	atomic_store(&p->w->results[0],
		     (uint64_t)(int64_t)atoll_spawn(ctx, &child_type, p->w, (int)atoll_ncores(ctx),
						    &ref));
	atomic_store(&p->w->results[1],
		     (uint64_t)(int64_t)atoll_spawn(ctx, &child_type, p->w, -2, &ref));
	atomic_store(&p->w->results[2],
		     (uint64_t)(int64_t)atoll_spawn(ctx, &no_receive_type, NULL, ATOLL_HERE, &ref));
	atomic_store(&p->w->results[3],
		     (uint64_t)(int64_t)atoll_spawn(ctx, NULL, NULL, ATOLL_HERE, &ref));
	/* Taken and freed even though it cannot be delivered. */
	atomic_store(&p->w->results[4],
		     (uint64_t)(int64_t)atoll_send(ctx, nowhere, atoll_msg_new(MSG_PLAIN, 32)));
	atomic_store(&p->w->results[5],
		     (uint64_t)(int64_t)atoll_tell(ctx, nowhere, MSG_PLAIN, "x", 1));
	atomic_store(&p->w->done, 1);
}
PARENT_TYPE(bad_args_parent);

static void actor_spawn_and_send_reject_bad_arguments_with_einval(void **state)
{
	struct world *w = *state;

	run_parent(w, &bad_args_parent_type);
	assert_wait_u64(&w->done, 1, WAIT_LIMIT_NS);
	for (int i = 0; i < 6; i++)
		if ((int64_t)atomic_load(&w->results[i]) != -EINVAL)
			fail_msg("case %d returned %lld, expected -EINVAL", i,
				 (long long)(int64_t)atomic_load(&w->results[i]));
	assert_int_equal(atomic_load(&w->child_inits), 0);
	assert_stat_eventually(w->rt, 0, actors_alive, 1);
	assert_no_check_failures();
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, world_setup, world_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(actor_spawn_here_runs_init_before_returning_with_zeroed_state_and_arg),
		TEST(actor_spawn_on_other_core_gives_usable_ref_and_delivers_after_init),
		TEST(actor_init_error_is_returned_by_spawn_and_counted_as_init_failure),
		TEST(actor_stop_self_runs_stop_hook_once_after_last_receive),
		TEST(actor_stop_of_actor_on_same_core_runs_after_messages_already_sent),
		TEST(actor_stop_of_actor_on_other_core_runs_after_messages_already_sent),
		TEST(actor_stale_ref_gives_esrch_and_never_reaches_actor_reusing_the_slot),
		TEST(actor_message_is_freed_after_receive_unless_kept),
		TEST(actor_forwarding_across_cores_moves_the_same_message_and_payload),
		TEST(actor_ask_reply_matches_corr_ids_and_reply_to_is_the_asker),
		TEST(actor_runtime_stop_runs_every_live_actor_stop_hook_exactly_once),
		TEST(actor_spawn_and_send_reject_bad_arguments_with_einval),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
