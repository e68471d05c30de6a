/*
 * test_alias.c - aliases (atoll_alias_new, struct atoll_spawn_opts.alias in
 * src/actor.c and src/table.c): a ref that names each actor spawned under it
 * in turn, on one core and across 2, 4 and 8 reactors. Messages to it reach
 * the holder of the moment and are dead letters between holders; what an
 * old holder set up for its own ref (a timer) never reaches the next one;
 * a newer holder takes the alias from one still stopping; monitors and
 * links taken through the alias name it in DOWN and EXIT; and spawn refuses
 * what is not an alias of the reactor it spawns on.
 */
#define _GNU_SOURCE
#include "helpers.h"

enum {
	MSG_TIMER_SELF = PROBE_MSG_END, /* the probe-like holder arms a timer to itself */
	MSG_TICK,
	MSG_FAIL,
	MSG_WATCH, /* payload: atoll_ref; the watcher monitors it, then sends it FAIL */
	MSG_LINK,  /* payload: atoll_ref; the watcher links to it, then sends it FAIL */
};

/* A holder: a probe that also fails on FAIL and arms a timer on TIMER_SELF. */
struct holder {
	struct probe_state probe;
	_Atomic uint64_t *ticks;
};

static _Atomic uint64_t ticks[4];

static int holder_init(atoll_ctx *ctx, void *state, const void *arg)
{
	return probe_init(ctx, state, arg);
}

static void holder_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct probe_state *p = state;

	if (msg->type == MSG_FAIL) {
		atoll_fail(ctx, -EIO, "asked to");
		return;
	}
	if (msg->type == MSG_TICK) {
		atomic_fetch_add(&ticks[0], 1);
		return;
	}
	if (msg->type == MSG_TIMER_SELF) {
		atoll_msg *tick = atoll_msg_new(MSG_TICK, 0);

		CHECK(tick != NULL);
		CHECK_EQ(atoll_send_after(ctx, atoll_self(ctx), tick, 20 * NS_PER_MS, NULL), 0);
		CHECK_EQ(atoll_stop(ctx, atoll_self(ctx)), 0);
		return;
	}
	probe_receive(ctx, p, msg);
}

static const struct atoll_actor_type holder_type = {
	.name = "holder",
	.state_size = sizeof(struct probe_state),
	.init = holder_init,
	.receive = holder_receive,
	.stop = probe_stop,
};

/* A watcher: monitors or links to the ref it is sent, records DOWN/EXIT. */
static struct {
	_Atomic uint64_t downs, exits, who, reason, code, monitor, stops;
} seen;

static int watcher_init(atoll_ctx *ctx, void *state, const void *arg)
{
	(void)state;
	if (arg != NULL)
		CHECK_EQ(atoll_trap_exit(ctx, true), 0);
	return 0;
}

static void watcher_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	atoll_ref target;

	(void)state;
	switch (msg->type) {
	/* The request and the FAIL after it take the same path to the
	 * target, so the FAIL finds the monitor or link in place. */
	case MSG_WATCH: {
		uint64_t mon = 0;

		memcpy(&target, msg->data, sizeof(target));
		CHECK_EQ(atoll_monitor(ctx, target, &mon), 0);
		atomic_store(&seen.monitor, mon);
		CHECK(atoll_tell(ctx, target, MSG_FAIL, NULL, 0) >= 0);
		break;
	}
	case MSG_LINK:
		memcpy(&target, msg->data, sizeof(target));
		CHECK_EQ(atoll_link(ctx, target), 0);
		CHECK(atoll_tell(ctx, target, MSG_FAIL, NULL, 0) >= 0);
		break;
	case ATOLL_MSG_DOWN:
	case ATOLL_MSG_EXIT: {
		const struct atoll_down *d = atoll_down_of(msg);

		CHECK(d != NULL);
		atomic_store(&seen.who, d->who);
		atomic_store(&seen.reason, (uint64_t)d->reason);
		atomic_store(&seen.code, (uint64_t)(int64_t)d->code);
		if (msg->type == ATOLL_MSG_DOWN) {
			CHECK_EQ(d->monitor, atomic_load(&seen.monitor));
			atomic_fetch_add(&seen.downs, 1);
		} else {
			atomic_fetch_add(&seen.exits, 1);
		}
		break;
	}
	default:
		break;
	}
}

static void watcher_stop(atoll_ctx *ctx, void *state)
{
	(void)ctx;
	(void)state;
	atomic_fetch_add(&seen.stops, 1);
}

static const struct atoll_actor_type watcher_type = {
	.name = "watcher",
	.init = watcher_init,
	.receive = watcher_receive,
	.stop = watcher_stop,
};

static atoll_ref spawn_holder(atoll_runtime *rt, struct probe_slot *slot, int where,
			      atoll_ref alias)
{
	struct atoll_spawn_opts opts = { .alias = alias };
	atoll_ref ref = ATOLL_REF_NONE;

	assert_int_equal(atoll_runtime_spawn_opts(rt, &holder_type, slot, where, &opts, &ref), 0);
	assert_wait_u64(&slot->inits, 1, WAIT_LIMIT_NS);
	return ref;
}

static void send_ref(atoll_runtime *rt, atoll_ref to, uint32_t type, atoll_ref ref)
{
	send_from_outside(rt, to, type, &ref, sizeof(ref));
}

/* Holders in turn on reactor `core` of n; the alias always names the current
 * one, and nobody between two. */
static void alias_names_each_holder(unsigned n, int core)
{
	atoll_runtime *rt = start_reactors(n);
	struct probe_slot slots[3];
	atoll_ref alias, refs[3];
	atoll_msg *m;

	memset(slots, 0, sizeof(slots));
	assert_int_equal(atoll_runtime_alias_new(rt, core, &alias), 0);
	assert_int_equal(atoll_ref_core(alias), (unsigned)core);
	/* Nobody holds it yet. */
	m = atoll_msg_new(PROBE_MSG_VALUE, 0);
	assert_int_equal(atoll_runtime_send(rt, alias, m), -ESRCH);
	for (int i = 0; i < 3; i++) {
		uint64_t v = 100 + (uint64_t)i;

		refs[i] = spawn_holder(rt, &slots[i], core, alias);
		assert_true(refs[i] != alias);
		for (int k = 0; k < i; k++)
			assert_true(refs[i] != refs[k]);
		send_from_outside(rt, alias, PROBE_MSG_VALUE, &v, sizeof(v));
		assert_wait_u64(&slots[i].received, 1, WAIT_LIMIT_NS);
		assert_int_equal(atomic_load(&slots[i].last_value), v);
		/* Its own ref reaches it too. */
		send_from_outside(rt, refs[i], PROBE_MSG_VALUE, &v, sizeof(v));
		assert_wait_u64(&slots[i].received, 2, WAIT_LIMIT_NS);
		send_from_outside(rt, alias, PROBE_MSG_QUIT, NULL, 0);
		assert_wait_u64(&slots[i].stops, 1, WAIT_LIMIT_NS);
		/* The alias is emptied before the stop hook runs... */
		m = atoll_msg_new(PROBE_MSG_VALUE, 0);
		assert_int_equal(atoll_runtime_send(rt, alias, m), -ESRCH);
		/* ...the holder's own ref only after it (and its dead letters). */
		assert_ref_goes_stale(rt, refs[i], PROBE_MSG_VALUE);
	}
	for (int i = 0; i < 3; i++)
		assert_int_equal(atomic_load(&slots[i].received), 3);
	destroy_runtime(rt);
}

static void alias_names_each_holder_on_one_reactor(void **state)
{
	(void)state;
	alias_names_each_holder(1, 0);
}

static void alias_names_each_holder_on_2_reactors(void **state)
{
	(void)state;
	alias_names_each_holder(2, 1);
}

static void alias_names_each_holder_on_4_reactors(void **state)
{
	(void)state;
	alias_names_each_holder(4, 3);
}

static void alias_names_each_holder_on_8_reactors(void **state)
{
	(void)state;
	alias_names_each_holder(8, 5);
}

/* Spawn takes only an alias of the reactor it spawns on, of this
 * generation. */
static void spawn_refuses_what_is_not_an_alias(void **state)
{
	atoll_runtime *rt = start_reactors(2);
	struct probe_slot slot = { 0 };
	struct atoll_spawn_opts opts = { 0 };
	atoll_ref alias, plain, ref;
	struct atoll_pending *pending;

	(void)state;
	assert_int_equal(atoll_runtime_alias_new(rt, 1, &alias), 0);
	assert_int_equal(atoll_runtime_alias_new(rt, 2, &ref), -EINVAL);
	assert_int_equal(atoll_runtime_alias_new(rt, -1, &ref), -EINVAL);
	assert_int_equal(atoll_runtime_alias_new(rt, 0, NULL), -EINVAL);
	plain = spawn_on(rt, &probe_type, &slot, 1);
	assert_wait_u64(&slot.inits, 1, WAIT_LIMIT_NS);
	opts.alias = plain; /* an actor's own ref */
	assert_int_equal(atoll_runtime_spawn_opts(rt, &probe_type, &slot, 1, &opts, &ref), -EINVAL);
	opts.alias = alias; /* on reactor 1, spawned on 0 */
	assert_int_equal(atoll_runtime_spawn_opts(rt, &probe_type, &slot, 0, &opts, &ref), -EINVAL);
	assert_int_equal(atoll_runtime_prepare_opts(rt, &probe_type, 0, &opts, &ref, &pending),
			 -EINVAL);
	assert_null(pending);
	opts.alias = alias + 1; /* another generation */
	assert_int_equal(atoll_runtime_spawn_opts(rt, &probe_type, &slot, 1, &opts, &ref), -EINVAL);
	assert_int_equal(atomic_load(&slot.inits), 1);
	destroy_runtime(rt);
}

/* A timer the old holder armed for its own ref fires after it stopped: a
 * dead letter, not a message for the next holder. */
static void old_holders_timer_never_reaches_the_next(void **state)
{
	atoll_runtime *rt = start_reactors(2);
	struct probe_slot a = { 0 }, b = { 0 };
	atoll_ref alias;

	(void)state;
	atomic_store(&ticks[0], 0);
	assert_int_equal(atoll_runtime_alias_new(rt, 1, &alias), 0);
	spawn_holder(rt, &a, 1, alias);
	uint64_t dead = STATS_SUM(rt, dead_letters);
	send_from_outside(rt, alias, MSG_TIMER_SELF, NULL, 0); /* arms 20 ms, stops */
	assert_wait_u64(&a.stops, 1, WAIT_LIMIT_NS);
	spawn_holder(rt, &b, 1, alias);
	assert_stat_eventually(rt, ALL_REACTORS, dead_letters, dead + 1);
	assert_int_equal(atomic_load(&ticks[0]), 0);
	assert_int_equal(atomic_load(&b.received), 0);
	destroy_runtime(rt);
}

/* A holder spawned while the previous one still runs takes the alias at
 * once; the previous one's stop leaves it with the new holder. */
static void newer_holder_takes_the_alias_from_one_still_running(void **state)
{
	atoll_runtime *rt = start_reactors(2);
	struct probe_slot a = { 0 }, b = { 0 };
	atoll_ref alias, ra;
	uint64_t v = 7;

	(void)state;
	assert_int_equal(atoll_runtime_alias_new(rt, 1, &alias), 0);
	ra = spawn_holder(rt, &a, 1, alias);
	spawn_holder(rt, &b, 1, alias);
	send_from_outside(rt, alias, PROBE_MSG_VALUE, &v, sizeof(v));
	assert_wait_u64(&b.received, 1, WAIT_LIMIT_NS);
	send_from_outside(rt, ra, PROBE_MSG_QUIT, NULL, 0);
	assert_wait_u64(&a.stops, 1, WAIT_LIMIT_NS);
	send_from_outside(rt, alias, PROBE_MSG_VALUE, &v, sizeof(v));
	assert_wait_u64(&b.received, 2, WAIT_LIMIT_NS);
	assert_int_equal(atomic_load(&a.received), 1); /* its QUIT only */
	destroy_runtime(rt);
}

/* Monitors and links taken through the alias: DOWN and EXIT name the
 * alias, and a link propagates the holder's failure. */
static void monitor_and_link_through_an_alias(unsigned n)
{
	atoll_runtime *rt = start_reactors(n);
	struct probe_slot a = { 0 }, b = { 0 }, c = { 0 };
	atoll_ref alias, mon, trap, linker;
	int core = (int)n - 1;

	memset(&seen, 0, sizeof(seen));
	assert_int_equal(atoll_runtime_alias_new(rt, core, &alias), 0);
	spawn_holder(rt, &a, core, alias);
	mon = spawn_on(rt, &watcher_type, NULL, 0);
	send_ref(rt, mon, MSG_WATCH, alias);
	assert_wait_u64(&seen.downs, 1, WAIT_LIMIT_NS);
	assert_int_equal(atomic_load(&seen.who), alias);
	assert_int_equal(atomic_load(&seen.reason), ATOLL_EXIT_FAILED);
	assert_int_equal((int64_t)atomic_load(&seen.code), -EIO);

	/* A trapping linker gets EXIT naming the alias. */
	spawn_holder(rt, &b, core, alias);
	trap = spawn_on(rt, &watcher_type, (void *)1, 0);
	send_ref(rt, trap, MSG_LINK, alias);
	assert_wait_u64(&seen.exits, 1, WAIT_LIMIT_NS);
	assert_int_equal(atomic_load(&seen.who), alias);
	assert_int_equal(atomic_load(&seen.reason), ATOLL_EXIT_FAILED);

	/* A linker that does not trap fails with the holder. */
	spawn_holder(rt, &c, core, alias);
	linker = spawn_on(rt, &watcher_type, NULL, 0);
	uint64_t failures = STATS_SUM(rt, failures);
	send_ref(rt, linker, MSG_LINK, alias);
	assert_stat_eventually(rt, ALL_REACTORS, failures, failures + 2);
	assert_wait_u64(&seen.stops, 1, WAIT_LIMIT_NS);
	assert_int_equal(atomic_load(&c.stops), 1);
	assert_no_check_failures();
	destroy_runtime(rt);
}

static void monitor_and_link_through_an_alias_on_1_reactor(void **state)
{
	(void)state;
	monitor_and_link_through_an_alias(1);
}

static void monitor_and_link_through_an_alias_on_4_reactors(void **state)
{
	(void)state;
	monitor_and_link_through_an_alias(4);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, reset, destroy_leftovers)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(alias_names_each_holder_on_one_reactor),
		TEST(alias_names_each_holder_on_2_reactors),
		TEST(alias_names_each_holder_on_4_reactors),
		TEST(alias_names_each_holder_on_8_reactors),
		TEST(spawn_refuses_what_is_not_an_alias),
		TEST(old_holders_timer_never_reaches_the_next),
		TEST(newer_holder_takes_the_alias_from_one_still_running),
		TEST(monitor_and_link_through_an_alias_on_1_reactor),
		TEST(monitor_and_link_through_an_alias_on_4_reactors),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
