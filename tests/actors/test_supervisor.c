/*
 * test_supervisor.c - the supervisor actor (actors/supervisor.c): each
 * strategy (one_for_one, one_for_all, rest_for_one) with children on other
 * cores, including 8 reactors; each restart policy (permanent, transient,
 * temporary); children under aliases keeping their refs; the restart
 * intensity limit (the supervisor stops its children, then fails upward,
 * seen by a monitor and by a supervisor above it); the registry and
 * ATOLL_SUPERVISOR_WHICH_CHILD naming the current child; orderly shutdown
 * in reverse start order; atoll_stop of a supervisor stopping its children.
 */
#include "../helpers.h"

#include "supervisor.h"

enum {
	W_FAIL = ATOLL_MSG_USER, /* the worker fails */
	W_QUIT,                  /* the worker stops normally */
	P_SPAWN,                 /* the parent spawns a monitored supervisor: payload spec ptr */
	P_WHICH,                 /* the parent asks which child: payload name */
	P_SHUTDOWN,              /* the parent sends SHUTDOWN to its supervisor */
};

#define KIDS 8

struct worker_rec {
	_Atomic uint64_t starts, stops, start_seq, stop_seq;
	_Atomic atoll_ref ref;
};

static struct worker_rec workers[KIDS];
static _Atomic uint64_t seq;
static int worker_idx[KIDS] = { 0, 1, 2, 3, 4, 5, 6, 7 };

static int worker_init(atoll_ctx *ctx, void *state, const void *arg)
{
	int idx = *(const int *)arg;

	*(int *)state = idx;
	atomic_store(&workers[idx].ref, atoll_self(ctx));
	atomic_store(&workers[idx].start_seq, atomic_fetch_add(&seq, 1) + 1);
	atomic_fetch_add(&workers[idx].starts, 1);
	return 0;
}

static void worker_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	int idx = *(int *)state;

	if (msg->type == W_FAIL)
		atoll_fail(ctx, -EIO, "worker %d failed", idx);
	else if (msg->type == W_QUIT)
		CHECK_EQ(atoll_stop(ctx, atoll_self(ctx)), 0);
}

static void worker_stop(atoll_ctx *ctx, void *state)
{
	int idx = *(int *)state;

	(void)ctx;
	atomic_store(&workers[idx].stop_seq, atomic_fetch_add(&seq, 1) + 1);
	atomic_fetch_add(&workers[idx].stops, 1);
}

static const struct atoll_actor_type worker_type = {
	.name = "worker",
	.state_size = sizeof(int),
	.init = worker_init,
	.receive = worker_receive,
	.stop = worker_stop,
};

/* The parent: spawns a supervisor with a monitor, and records its DOWN and
 * the answers to WHICH_CHILD. */
struct parent_rec {
	_Atomic atoll_ref sup;
	_Atomic uint64_t spawned, downs, answers;
	_Atomic int64_t down_reason, down_code;
	_Atomic atoll_ref answer;
};

static struct parent_rec parent;

static void parent_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	(void)state;
	switch (msg->type) {
	case P_SPAWN: {
		const struct atoll_supervisor_spec *spec;
		uint64_t mon;
		struct atoll_spawn_opts opts = { .monitor = &mon };
		atoll_ref ref;

		memcpy(&spec, msg->data, sizeof(spec));
		CHECK_EQ(atoll_spawn_opts(ctx, &atoll_supervisor_type, spec, ATOLL_HERE, &opts,
					  &ref),
			 0);
		atomic_store(&parent.sup, ref);
		atomic_fetch_add(&parent.spawned, 1);
		break;
	}
	case P_WHICH: {
		atoll_msg *q =
			atoll_msg_new_copy(ATOLL_SUPERVISOR_WHICH_CHILD, msg->data, msg->len);

		CHECK(atoll_ask(ctx, atomic_load(&parent.sup), q, NULL) >= 0);
		break;
	}
	case P_SHUTDOWN:
		CHECK(atoll_tell(ctx, atomic_load(&parent.sup), ATOLL_SUPERVISOR_SHUTDOWN, NULL,
				 0) >= 0);
		break;
	case ATOLL_SUPERVISOR_CHILD: {
		atoll_ref r = ATOLL_REF_NONE;

		CHECK_EQ(msg->len, sizeof(r));
		memcpy(&r, msg->data, sizeof(r));
		atomic_store(&parent.answer, r);
		atomic_fetch_add(&parent.answers, 1);
		break;
	}
	case ATOLL_MSG_DOWN:
		atomic_store(&parent.down_reason, atoll_down_of(msg)->reason);
		atomic_store(&parent.down_code, atoll_down_of(msg)->code);
		atomic_fetch_add(&parent.downs, 1);
		break;
	default:
		break;
	}
}

static const struct atoll_actor_type parent_type = {
	.name = "parent",
	.receive = parent_receive,
};

static int setup(void **state)
{
	(void)state;
	reset_checks();
	memset(workers, 0, sizeof(workers));
	memset(&parent, 0, sizeof(parent));
	atomic_store(&seq, 0);
	return 0;
}

static struct atoll_supervisor_child kids[KIDS];

/* n workers; worker i on core `core(i)`; all with restart policy r. */
static void make_kids(unsigned n, unsigned reactors, bool same_core,
		      enum atoll_supervisor_restart r)
{
	static char names[KIDS][24];

	for (unsigned i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "worker%u", i);
		kids[i] = (struct atoll_supervisor_child){
			.name = names[i],
			.type = &worker_type,
			.arg = &worker_idx[i],
			.where = same_core ? 1 : (int)((i + 1) % reactors),
			.restart = r,
		};
	}
}

/* Starts the parent on core 0, which spawns the supervisor there, and waits
 * until the n workers run. */
static atoll_ref start_sup(atoll_runtime *rt, const struct atoll_supervisor_spec *spec)
{
	atoll_ref p = spawn_on(rt, &parent_type, NULL, 0);

	send_from_outside(rt, p, P_SPAWN, &spec, sizeof(spec));
	assert_wait_u64(&parent.spawned, 1, WAIT_LIMIT_NS);
	for (unsigned i = 0; i < spec->nchildren; i++)
		assert_wait_u64(&workers[i].starts, 1, WAIT_LIMIT_NS);
	return p;
}

static void tell_worker(atoll_runtime *rt, unsigned i, uint32_t type)
{
	send_from_outside(rt, atomic_load(&workers[i].ref), type, NULL, 0);
}

static atoll_ref lookup(atoll_runtime *rt, const char *name)
{
	atoll_ref ref = ATOLL_REF_NONE;

	(void)atoll_lookup(rt, name, &ref);
	return ref;
}

struct name_gone {
	atoll_runtime *rt;
	const char *name;
};

static bool name_gone(void *arg)
{
	const struct name_gone *g = arg;

	return lookup(g->rt, g->name) == ATOLL_REF_NONE;
}

/* The supervisor unregisters a child's name when the child's DOWN reaches
 * it, which is after the child's stop hook ran, on another reactor. */
static void assert_name_goes(atoll_runtime *rt, const char *name)
{
	struct name_gone g = { rt, name };

	if (!wait_for(name_gone, &g, WAIT_LIMIT_NS))
		fail_msg("%s is still registered", name);
}

static void one_for_one_restarts_only_the_failed_child(void **state)
{
	atoll_runtime *rt = start_reactors(4);
	struct atoll_supervisor_spec spec = { .strategy = ATOLL_SUPERVISOR_ONE_FOR_ONE,
					      .children = kids,
					      .nchildren = 3 };

	(void)state;
	make_kids(3, 4, false, ATOLL_SUPERVISOR_PERMANENT);
	atoll_ref p = start_sup(rt, &spec);
	atoll_ref old = atomic_load(&workers[1].ref);
	assert_true(lookup(rt, "worker1") == old);

	tell_worker(rt, 1, W_FAIL);
	assert_wait_u64(&workers[1].starts, 2, WAIT_LIMIT_NS);
	assert_stat_eventually(rt, ALL_REACTORS, restarts, 1);
	atoll_ref cur = atomic_load(&workers[1].ref);
	assert_true(cur != old);
	assert_true(lookup(rt, "worker1") == cur);
	assert_int_equal(atomic_load(&workers[0].starts), 1);
	assert_int_equal(atomic_load(&workers[2].starts), 1);

	send_from_outside(rt, p, P_WHICH, "worker1", 7);
	assert_wait_u64(&parent.answers, 1, WAIT_LIMIT_NS);
	assert_true(atomic_load(&parent.answer) == cur);
	send_from_outside(rt, p, P_WHICH, "nobody", 6);
	assert_wait_u64(&parent.answers, 2, WAIT_LIMIT_NS);
	assert_true(atomic_load(&parent.answer) == ATOLL_REF_NONE);
	destroy_runtime(rt);
	assert_no_check_failures();
}

/* Worker 1 of n fails; `first` is the first worker restarted. */
static void group_restart(unsigned reactors, unsigned n, enum atoll_supervisor_strategy st,
			  unsigned first)
{
	atoll_runtime *rt = start_reactors(reactors);
	struct atoll_supervisor_spec spec = { .strategy = st, .children = kids, .nchildren = n };

	make_kids(n, reactors, false, ATOLL_SUPERVISOR_PERMANENT);
	(void)start_sup(rt, &spec);
	tell_worker(rt, 1, W_FAIL);
	for (unsigned i = first; i < n; i++)
		assert_wait_u64(&workers[i].starts, 2, WAIT_LIMIT_NS);
	assert_stat_eventually(rt, ALL_REACTORS, restarts, n - first);
	uint64_t last_stop = 0, first_start = UINT64_MAX;
	for (unsigned i = 0; i < n; i++) {
		uint64_t want = i < first ? 1 : 2;

		assert_int_equal(atomic_load(&workers[i].starts), want);
		assert_int_equal(atomic_load(&workers[i].stops), want - 1);
		if (i >= first) {
			if (atomic_load(&workers[i].stop_seq) > last_stop)
				last_stop = atomic_load(&workers[i].stop_seq);
			if (atomic_load(&workers[i].start_seq) < first_start)
				first_start = atomic_load(&workers[i].start_seq);
			assert_true(lookup(rt, kids[i].name) == atomic_load(&workers[i].ref));
		}
	}
	/* No new instance started before every old one had stopped. */
	assert_true(first_start > last_stop);
	destroy_runtime(rt);
	assert_no_check_failures();
}

static void one_for_all_restarts_every_child(void **state)
{
	(void)state;
	group_restart(4, 4, ATOLL_SUPERVISOR_ONE_FOR_ALL, 0);
}

static void one_for_all_restarts_every_child_8_reactors(void **state)
{
	(void)state;
	group_restart(8, 8, ATOLL_SUPERVISOR_ONE_FOR_ALL, 0);
}

static void rest_for_one_restarts_the_child_and_later_ones(void **state)
{
	(void)state;
	group_restart(4, 4, ATOLL_SUPERVISOR_REST_FOR_ONE, 1);
}

static void restart_policies_permanent_transient_temporary(void **state)
{
	atoll_runtime *rt = start_reactors(4);
	struct atoll_supervisor_spec spec = { .strategy = ATOLL_SUPERVISOR_ONE_FOR_ONE,
					      .children = kids,
					      .nchildren = 5 };

	(void)state;
	make_kids(5, 4, false, ATOLL_SUPERVISOR_PERMANENT);
	kids[1].restart = ATOLL_SUPERVISOR_TRANSIENT;
	kids[2].restart = ATOLL_SUPERVISOR_TRANSIENT;
	kids[3].restart = ATOLL_SUPERVISOR_TEMPORARY;
	kids[4].restart = ATOLL_SUPERVISOR_TEMPORARY;
	(void)start_sup(rt, &spec);
	tell_worker(rt, 0, W_QUIT); /* permanent: restarted after a normal stop */
	tell_worker(rt, 1, W_QUIT); /* transient, normal: not restarted */
	tell_worker(rt, 2, W_FAIL); /* transient, failed: restarted */
	tell_worker(rt, 3, W_FAIL); /* temporary: never */
	tell_worker(rt, 4, W_QUIT);
	assert_wait_u64(&workers[0].starts, 2, WAIT_LIMIT_NS);
	assert_wait_u64(&workers[2].starts, 2, WAIT_LIMIT_NS);
	for (unsigned i = 1; i < 5; i += 2)
		assert_wait_u64(&workers[i].stops, 1, WAIT_LIMIT_NS);
	assert_wait_u64(&workers[4].stops, 1, WAIT_LIMIT_NS);
	assert_stat_eventually(rt, ALL_REACTORS, restarts, 2);
	assert_int_equal(atomic_load(&workers[1].starts), 1);
	assert_int_equal(atomic_load(&workers[3].starts), 1);
	assert_int_equal(atomic_load(&workers[4].starts), 1);
	assert_name_goes(rt, "worker1");
	assert_name_goes(rt, "worker3");
	destroy_runtime(rt);
	assert_no_check_failures();
}

/* Children with aliases: the registry names the alias, and messages to it
 * reach every new incarnation, through a group restart on 8 reactors. */
static void aliased_children_keep_their_ref_across_restarts(void **state)
{
	atoll_runtime *rt = start_reactors(8);
	struct atoll_supervisor_spec spec = { .strategy = ATOLL_SUPERVISOR_ONE_FOR_ALL,
					      .max_restarts = 100,
					      .window_ns = 600 * NS_PER_SEC,
					      .children = kids,
					      .nchildren = 4 };
	atoll_ref alias[4];

	(void)state;
	make_kids(4, 8, false, ATOLL_SUPERVISOR_PERMANENT);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(atoll_runtime_alias_new(rt, kids[i].where, &alias[i]), 0);
		kids[i].opts.alias = alias[i];
	}
	(void)start_sup(rt, &spec);
	for (unsigned i = 0; i < 4; i++) {
		char name[16];

		snprintf(name, sizeof(name), "worker%u", i);
		assert_true(lookup(rt, name) == alias[i]);
		assert_true(atomic_load(&workers[i].ref) != alias[i]);
	}
	/* Failed through its alias: every child restarts, each under its own. */
	send_from_outside(rt, alias[1], W_FAIL, NULL, 0);
	for (unsigned i = 0; i < 4; i++)
		assert_wait_u64(&workers[i].starts, 2, WAIT_LIMIT_NS);
	assert_stat_eventually(rt, ALL_REACTORS, restarts, 4);
	/* The new incarnations answer to the aliases (each QUIT restarts all
	 * four again: one_for_all). */
	for (unsigned i = 0; i < 4; i++) {
		char name[16];

		snprintf(name, sizeof(name), "worker%u", i);
		assert_true(lookup(rt, name) == alias[i]);
		send_from_outside(rt, alias[i], W_QUIT, NULL, 0);
		assert_wait_u64(&workers[i].starts, 3 + i, WAIT_LIMIT_NS);
	}
	destroy_runtime(rt);
	assert_no_check_failures();
}

static void too_many_restarts_fail_the_supervisor_upward(void **state)
{
	atoll_runtime *rt = start_reactors(4);
	struct atoll_supervisor_spec spec = { .strategy = ATOLL_SUPERVISOR_ONE_FOR_ONE,
					      .max_restarts = 2,
					      .window_ns = 600 * NS_PER_SEC,
					      .children = kids,
					      .nchildren = 2 };

	(void)state;
	make_kids(2, 4, false, ATOLL_SUPERVISOR_PERMANENT);
	(void)start_sup(rt, &spec);
	for (uint64_t i = 1; i <= 2; i++) {
		tell_worker(rt, 0, W_FAIL);
		assert_wait_u64(&workers[0].starts, i + 1, WAIT_LIMIT_NS);
	}
	tell_worker(rt, 0, W_FAIL); /* the third in the window */
	assert_wait_u64(&parent.downs, 1, WAIT_LIMIT_NS);
	assert_int_equal(atomic_load(&parent.down_reason), ATOLL_EXIT_FAILED);
	assert_int_equal(atomic_load(&parent.down_code), ATOLL_SUPERVISOR_GAVE_UP);
	/* Its other child was stopped before it failed (its DOWN came after
	 * the child's stop hook ran, through the supervisor's DOWN); nobody
	 * restarted worker 0. */
	assert_int_equal(atomic_load(&workers[1].stops), 1);
	assert_int_equal(atomic_load(&workers[0].starts), 3);
	assert_true(lookup(rt, "worker1") == ATOLL_REF_NONE);
	assert_stat_eventually(rt, ALL_REACTORS, restarts, 2);
	destroy_runtime(rt);
	assert_no_check_failures();
}

/* A supervisor under a supervisor: the inner one gives up, the outer one
 * restarts it (and so its children). */
static void nested_supervisor_is_restarted_by_its_own_supervisor(void **state)
{
	atoll_runtime *rt = start_reactors(4);
	static struct atoll_supervisor_spec inner;
	static struct atoll_supervisor_child outer_kids[1];
	struct atoll_supervisor_spec outer = { .strategy = ATOLL_SUPERVISOR_ONE_FOR_ONE,
					       .children = outer_kids,
					       .nchildren = 1 };

	(void)state;
	make_kids(1, 4, false, ATOLL_SUPERVISOR_PERMANENT);
	inner = (struct atoll_supervisor_spec){ .strategy = ATOLL_SUPERVISOR_ONE_FOR_ONE,
						.max_restarts = 1,
						.window_ns = 600 * NS_PER_SEC,
						.children = kids,
						.nchildren = 1 };
	outer_kids[0] = (struct atoll_supervisor_child){ .name = "inner",
							 .type = &atoll_supervisor_type,
							 .arg = &inner,
							 .where = 2,
							 .restart = ATOLL_SUPERVISOR_PERMANENT };
	(void)start_sup(rt, &outer);
	assert_wait_u64(&workers[0].starts, 1, WAIT_LIMIT_NS);
	atoll_ref inner_ref = lookup(rt, "inner");
	tell_worker(rt, 0, W_FAIL);
	assert_wait_u64(&workers[0].starts, 2, WAIT_LIMIT_NS);
	tell_worker(rt, 0, W_FAIL); /* inner gives up: outer restarts it */
	assert_wait_u64(&workers[0].starts, 3, WAIT_LIMIT_NS);
	uint64_t deadline = test_now_ns() + WAIT_LIMIT_NS;
	while (lookup(rt, "inner") == inner_ref && test_now_ns() < deadline)
		poll_pause();
	assert_true(lookup(rt, "inner") != inner_ref);
	assert_true(lookup(rt, "inner") != ATOLL_REF_NONE);
	assert_int_equal(atomic_load(&parent.downs), 0);
	assert_stat_eventually(rt, ALL_REACTORS, restarts, 2);
	destroy_runtime(rt);
	assert_no_check_failures();
}

static void shutdown_stops_children_in_reverse_order_then_itself(void **state)
{
	atoll_runtime *rt = start_reactors(4);
	struct atoll_supervisor_spec spec = { .strategy = ATOLL_SUPERVISOR_ONE_FOR_ONE,
					      .children = kids,
					      .nchildren = 4 };

	(void)state;
	make_kids(4, 4, false, ATOLL_SUPERVISOR_PERMANENT);
	atoll_ref p = start_sup(rt, &spec);
	send_from_outside(rt, p, P_SHUTDOWN, NULL, 0);
	assert_wait_u64(&parent.downs, 1, WAIT_LIMIT_NS);
	assert_int_equal(atomic_load(&parent.down_reason), ATOLL_EXIT_NORMAL);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(atomic_load(&workers[i].stops), 1);
		assert_int_equal(atomic_load(&workers[i].starts), 1);
		if (i > 0)
			assert_true(atomic_load(&workers[i].stop_seq) <
				    atomic_load(&workers[i - 1].stop_seq));
		assert_true(lookup(rt, kids[i].name) == ATOLL_REF_NONE);
	}
	destroy_runtime(rt);
	assert_no_check_failures();
}

static void stopping_a_supervisor_stops_its_children(void **state)
{
	atoll_runtime *rt = start_reactors(4);
	struct atoll_supervisor_spec spec = { .strategy = ATOLL_SUPERVISOR_ONE_FOR_ALL,
					      .children = kids,
					      .nchildren = 3 };

	(void)state;
	make_kids(3, 4, true, ATOLL_SUPERVISOR_PERMANENT);
	(void)start_sup(rt, &spec);
	/* Children on one core: their stop requests arrive in the order sent,
	 * reverse start order. */
	atoll_msg *m = atoll_msg_new(ATOLL_MSG_STOP, 0);
	assert_int_equal(atoll_runtime_send(rt, atomic_load(&parent.sup), m), 0);
	assert_wait_u64(&parent.downs, 1, WAIT_LIMIT_NS);
	for (unsigned i = 0; i < 3; i++)
		assert_wait_u64(&workers[i].stops, 1, WAIT_LIMIT_NS);
	assert_true(atomic_load(&workers[2].stop_seq) < atomic_load(&workers[1].stop_seq));
	assert_true(atomic_load(&workers[1].stop_seq) < atomic_load(&workers[0].stop_seq));
	assert_int_equal(STATS_SUM(rt, restarts), 0);
	destroy_runtime(rt);
	assert_no_check_failures();
}

static void bad_spec_is_refused(void **state)
{
	atoll_runtime *rt = start_reactors(1);
	static struct atoll_supervisor_child bad = { .name = "x", .type = NULL };
	static const struct atoll_supervisor_spec spec = { .children = &bad, .nchildren = 1 };

	const struct atoll_supervisor_spec *sp = &spec;
	atoll_ref p = spawn_on(rt, &parent_type, NULL, 0);

	(void)state;
	send_from_outside(rt, p, P_SPAWN, &sp, sizeof(sp));
	assert_wait_u64(&parent.downs, 1, WAIT_LIMIT_NS);
	assert_int_equal(atomic_load(&parent.down_reason), ATOLL_EXIT_FAILED);
	assert_int_equal(atomic_load(&parent.down_code), -EINVAL);
	destroy_runtime(rt);
	assert_no_check_failures();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(one_for_one_restarts_only_the_failed_child, setup,
						destroy_leftovers),
		cmocka_unit_test_setup_teardown(one_for_all_restarts_every_child, setup,
						destroy_leftovers),
		cmocka_unit_test_setup_teardown(one_for_all_restarts_every_child_8_reactors, setup,
						destroy_leftovers),
		cmocka_unit_test_setup_teardown(rest_for_one_restarts_the_child_and_later_ones,
						setup, destroy_leftovers),
		cmocka_unit_test_setup_teardown(restart_policies_permanent_transient_temporary,
						setup, destroy_leftovers),
		cmocka_unit_test_setup_teardown(aliased_children_keep_their_ref_across_restarts,
						setup, destroy_leftovers),
		cmocka_unit_test_setup_teardown(too_many_restarts_fail_the_supervisor_upward, setup,
						destroy_leftovers),
		cmocka_unit_test_setup_teardown(
			nested_supervisor_is_restarted_by_its_own_supervisor, setup,
			destroy_leftovers),
		cmocka_unit_test_setup_teardown(
			shutdown_stops_children_in_reverse_order_then_itself, setup,
			destroy_leftovers),
		cmocka_unit_test_setup_teardown(stopping_a_supervisor_stops_its_children, setup,
						destroy_leftovers),
		cmocka_unit_test_setup_teardown(bad_spec_is_refused, setup, destroy_leftovers),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
