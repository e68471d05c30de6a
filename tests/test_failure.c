/*
 * test_failure.c - failing actors, monitors and links (atoll/failure.h): a
 * failed actor stops after its receive, runs its stop hook and leaves its
 * pending messages as dead letters; DOWN carries the reason, code and text,
 * after the target's last message, across 4 and 8 reactors; monitoring a
 * stopped actor gives NOPROC at once; demonitor silences; links propagate
 * failures along a chain of cores, not normal stops; trap_exit turns both
 * into EXIT messages; unlink stops propagation; init failures reach monitors.
 */
#include "helpers.h"

enum {
	CMD_MONITOR = ATOLL_MSG_USER, /* payload: atoll_ref */
	CMD_DEMONITOR,                /* demonitor the last monitor */
	CMD_LINK,                     /* payload: atoll_ref */
	CMD_UNLINK,                   /* payload: atoll_ref */
	CMD_TRAP,
	CMD_FAIL,            /* payload: struct fail_cmd */
	CMD_QUIT,            /* payload: atoll_ref to tell first (or NONE) */
	CMD_VALUE,           /* counted */
	CMD_SPAWN_MONITORED, /* payload: struct spawn_cmd */
	CMD_BURST,           /* payload: atoll_ref: gets CMD_FAIL, then two CMD_VALUE */
};

#define MAX_NODES 32

struct fail_cmd {
	int32_t code;
	atoll_ref notify; /* gets a CMD_VALUE just before the failure */
};

/* What one node saw, for the test thread. */
struct rec {
	_Atomic uint64_t inits, stops, values, downs, exits;
	_Atomic uint64_t monitor_id, last_rc, cmds;
	/* Filled by the watcher when a DOWN about this node arrives. */
	_Atomic int64_t down_reason, down_code;
	_Atomic uint64_t down_after_value; /* its last CMD_VALUE came before */
	_Atomic uint64_t down_count;
	char down_text[ATOLL_FAIL_TEXT_MAX];
	/* Filled by this node when it gets an EXIT. */
	_Atomic int64_t exit_reason, exit_code;
	_Atomic uint64_t exit_who;
	_Atomic uint64_t value_from[MAX_NODES]; /* CMD_VALUEs by sender index */
};

struct world {
	struct rec recs[MAX_NODES];
	_Atomic atoll_ref refs[MAX_NODES];
	_Atomic uint64_t unknown_downs;
};

static struct world *world;

struct node_arg {
	int idx;
	int init_error;
	bool self_msg; /* init sends the node a CMD_VALUE first */
};

struct spawn_cmd {
	int where;
	const struct node_arg *arg;
};

struct node {
	int idx;
};

static const struct atoll_actor_type node_type;

static int index_of(atoll_ref ref)
{
	for (int i = 0; i < MAX_NODES; i++)
		if (atomic_load(&world->refs[i]) == ref)
			return i;
	return -1;
}

static int node_init(atoll_ctx *ctx, void *state, const void *arg)
{
	const struct node_arg *na = arg;
	struct node *n = state;

	n->idx = na->idx;
	atomic_store(&world->refs[n->idx], atoll_self(ctx));
	atomic_fetch_add(&world->recs[n->idx].inits, 1);
	if (na->self_msg)
		CHECK_EQ(atoll_tell(ctx, atoll_self(ctx), CMD_VALUE, &n->idx, sizeof(n->idx)), 0);
	return na->init_error;
}

static void node_down(struct node *n, const struct atoll_down *d)
{
	int who = index_of(d->who);
	struct rec *r;

	(void)n;
	if (who < 0) {
		atomic_fetch_add(&world->unknown_downs, 1);
		return;
	}
	r = &world->recs[who];
	snprintf(r->down_text, sizeof(r->down_text), "%s", d->text);
	atomic_store(&r->down_reason, d->reason);
	atomic_store(&r->down_code, d->code);
	atomic_store(&r->down_after_value, atomic_load(&world->recs[n->idx].value_from[who]));
	atomic_fetch_add(&r->down_count, 1);
}

static void node_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct node *n = state;
	struct rec *r = &world->recs[n->idx];
	atoll_ref ref = ATOLL_REF_NONE;
	uint64_t id = 0;

	if (msg->type >= ATOLL_MSG_USER && msg->len == sizeof(ref))
		memcpy(&ref, msg->data, sizeof(ref));
	switch (msg->type) {
	case CMD_MONITOR:
		atomic_store(&r->last_rc, (uint64_t)atoll_monitor(ctx, ref, &id));
		atomic_store(&r->monitor_id, id);
		break;
	case CMD_DEMONITOR:
		atomic_store(&r->last_rc,
			     (uint64_t)atoll_demonitor(ctx, atomic_load(&r->monitor_id)));
		break;
	case CMD_LINK:
		atomic_store(&r->last_rc, (uint64_t)atoll_link(ctx, ref));
		break;
	case CMD_UNLINK:
		atomic_store(&r->last_rc, (uint64_t)atoll_unlink(ctx, ref));
		break;
	case CMD_TRAP:
		atomic_store(&r->last_rc, (uint64_t)atoll_trap_exit(ctx, true));
		break;
	case CMD_FAIL: {
		struct fail_cmd fc;

		memcpy(&fc, msg->data, sizeof(fc));
		if (fc.notify != ATOLL_REF_NONE)
			CHECK_EQ(atoll_tell(ctx, fc.notify, CMD_VALUE, &n->idx, sizeof(n->idx)), 0);
		atoll_fail(ctx, fc.code, "node %d: failed with %d", n->idx, fc.code);
		atoll_fail(ctx, -1, "a second failure is ignored");
		break;
	}
	case CMD_QUIT:
		if (ref != ATOLL_REF_NONE)
			CHECK_EQ(atoll_tell(ctx, ref, CMD_VALUE, &n->idx, sizeof(n->idx)), 0);
		CHECK_EQ(atoll_stop(ctx, atoll_self(ctx)), 0);
		break;
	case CMD_VALUE: {
		int from = -1;

		if (msg->len == sizeof(from))
			memcpy(&from, msg->data, sizeof(from));
		if (from >= 0 && from < MAX_NODES)
			atomic_fetch_add(&r->value_from[from], 1);
		atomic_fetch_add(&r->values, 1);
		break;
	}
	case CMD_SPAWN_MONITORED: {
		struct spawn_cmd sc;
		struct atoll_spawn_opts opts = { .monitor = &id };
		atoll_ref child;

		memcpy(&sc, msg->data, sizeof(sc));
		atomic_store(&r->last_rc, (uint64_t)atoll_spawn_opts(ctx, &node_type, sc.arg,
								     sc.where, &opts, &child));
		atomic_store(&r->monitor_id, id);
		break;
	}
	case CMD_BURST: {
		struct fail_cmd fc = { -EIO, ATOLL_REF_NONE };

		CHECK_EQ(atoll_tell(ctx, ref, CMD_FAIL, &fc, sizeof(fc)), 0);
		CHECK_EQ(atoll_tell(ctx, ref, CMD_VALUE, NULL, 0), 0);
		CHECK_EQ(atoll_tell(ctx, ref, CMD_VALUE, NULL, 0), 0);
		break;
	}
	case ATOLL_MSG_DOWN:
		CHECK(atoll_down_of(msg) != NULL);
		CHECK(atoll_down_of(msg)->monitor != 0);
		node_down(n, atoll_down_of(msg));
		atomic_fetch_add(&r->downs, 1);
		break;
	case ATOLL_MSG_EXIT: {
		const struct atoll_down *d = atoll_down_of(msg);

		CHECK(d != NULL);
		CHECK_EQ(d->monitor, 0);
		atomic_store(&r->exit_reason, d->reason);
		atomic_store(&r->exit_code, d->code);
		atomic_store(&r->exit_who, d->who);
		atomic_fetch_add(&r->exits, 1);
		break;
	}
	default:
		CHECK(!"unexpected message type");
		break;
	}
	atomic_fetch_add(&r->cmds, 1);
}

static void node_stop(atoll_ctx *ctx, void *state)
{
	struct node *n = state;

	(void)ctx;
	atomic_fetch_add(&world->recs[n->idx].stops, 1);
}

static const struct atoll_actor_type node_type = {
	.name = "node",
	.state_size = sizeof(struct node),
	.init = node_init,
	.receive = node_receive,
	.stop = node_stop,
};

static struct node_arg node_args[MAX_NODES];

static int setup(void **state)
{
	(void)state;
	reset_checks();
	world = calloc(1, sizeof(*world));
	assert_non_null(world);
	for (int i = 0; i < MAX_NODES; i++)
		node_args[i] = (struct node_arg){ .idx = i };
	return 0;
}

static int teardown(void **state)
{
	destroy_leftovers(state);
	free(world);
	world = NULL;
	return 0;
}

/* Spawns node idx on core `where` and waits for its init. */
static atoll_ref node(atoll_runtime *rt, int idx, int where)
{
	atoll_ref ref = spawn_on(rt, &node_type, &node_args[idx], where);

	assert_wait_u64(&world->recs[idx].inits, 1, WAIT_LIMIT_NS);
	return ref;
}

/* Sends cmd to node idx and waits until it has handled it. */
static void cmd(atoll_runtime *rt, int idx, uint32_t type, const void *data, size_t len)
{
	uint64_t before = atomic_load(&world->recs[idx].cmds);

	send_from_outside(rt, atomic_load(&world->refs[idx]), type, data, len);
	assert_wait_u64(&world->recs[idx].cmds, before + 1, WAIT_LIMIT_NS);
}

static void cmd_ref(atoll_runtime *rt, int idx, uint32_t type, int other)
{
	atoll_ref ref = atomic_load(&world->refs[other]);

	cmd(rt, idx, type, &ref, sizeof(ref));
}

/* Tells node idx to fail with code, after a CMD_VALUE to node notify (-1:
 * none); does not wait (the node stops). */
static void fail_node(atoll_runtime *rt, int idx, int code, int notify)
{
	struct fail_cmd fc = { code, notify >= 0 ? atomic_load(&world->refs[notify]) : 0 };

	send_from_outside(rt, atomic_load(&world->refs[idx]), CMD_FAIL, &fc, sizeof(fc));
}

static void quit_node(atoll_runtime *rt, int idx, int notify)
{
	atoll_ref to = notify >= 0 ? atomic_load(&world->refs[notify]) : ATOLL_REF_NONE;

	send_from_outside(rt, atomic_load(&world->refs[idx]), CMD_QUIT, &to, sizeof(to));
}

/* Waits until node idx has stopped and its ref is stale (its DOWN and EXIT
 * are then sent). */
static void wait_gone(atoll_runtime *rt, int idx)
{
	assert_wait_u64(&world->recs[idx].stops, 1, WAIT_LIMIT_NS);
	assert_ref_goes_stale(rt, atomic_load(&world->refs[idx]), CMD_VALUE);
}

static void fail_stops_actor_runs_stop_hook_and_dead_letters_pending(void **state)
{
	atoll_runtime *rt = start_reactors(2);

	(void)state;
	node(rt, 0, 1);
	node(rt, 1, 1);
	uint64_t dead_before = STATS_SUM(rt, dead_letters);
	/* Node 1, on the same core, queues the failure and two values in one
	 * receive: the values wait behind the failure. */
	cmd_ref(rt, 1, CMD_BURST, 0);
	assert_wait_u64(&world->recs[0].stops, 1, WAIT_LIMIT_NS);
	assert_int_equal(atomic_load(&world->recs[0].values), 0);
	assert_stat_eventually(rt, ALL_REACTORS, dead_letters, dead_before + 2);
	assert_stat_eventually(rt, 1, failures, 1);
	destroy_runtime(rt);
	assert_no_check_failures();
}

/* Watcher 0 on core 0 monitors one target per core; odd targets fail, even
 * ones quit; each tells the watcher something first. */
static void monitors_across(unsigned n)
{
	atoll_runtime *rt = start_reactors(n);

	node(rt, 0, 0);
	for (unsigned c = 0; c < n; c++) {
		node(rt, 1 + (int)c, (int)c);
		cmd_ref(rt, 0, CMD_MONITOR, 1 + (int)c);
		assert_int_equal((int64_t)atomic_load(&world->recs[0].last_rc), 0);
	}
	for (unsigned c = 0; c < n; c++) {
		if (c % 2)
			fail_node(rt, 1 + (int)c, -(int)(100 + c), 0);
		else
			quit_node(rt, 1 + (int)c, 0);
	}
	assert_wait_u64(&world->recs[0].downs, n, WAIT_LIMIT_NS);
	for (unsigned c = 0; c < n; c++) {
		struct rec *r = &world->recs[1 + c];
		char want[ATOLL_FAIL_TEXT_MAX];

		assert_int_equal(atomic_load(&r->down_count), 1);
		assert_int_equal(atomic_load(&r->down_after_value), 1); /* DOWN came after */
		if (c % 2) {
			snprintf(want, sizeof(want), "node %u: failed with %d", 1 + c,
				 -(int)(100 + c));
			assert_int_equal(atomic_load(&r->down_reason), ATOLL_EXIT_FAILED);
			assert_int_equal(atomic_load(&r->down_code), -(int)(100 + c));
			assert_string_equal(r->down_text, want);
		} else {
			assert_int_equal(atomic_load(&r->down_reason), ATOLL_EXIT_NORMAL);
			assert_int_equal(atomic_load(&r->down_code), 0);
		}
		assert_int_equal(atomic_load(&r->stops), 1);
	}
	assert_stat_eventually(rt, ALL_REACTORS, failures, n / 2);
	destroy_runtime(rt);
	assert_int_equal(atomic_load(&world->unknown_downs), 0);
	assert_no_check_failures();
}

static void monitor_down_carries_reason_after_last_message_4_reactors(void **state)
{
	(void)state;
	monitors_across(4);
}

static void monitor_down_carries_reason_after_last_message_8_reactors(void **state)
{
	(void)state;
	monitors_across(8);
}

static void monitor_stopped_actor_gets_noproc_and_demonitor_silences(void **state)
{
	atoll_runtime *rt = start_reactors(4);

	(void)state;
	node(rt, 0, 0);
	/* Here and on another core: NOPROC for an actor already gone. */
	node(rt, 1, 0);
	node(rt, 2, 2);
	quit_node(rt, 1, -1);
	quit_node(rt, 2, -1);
	wait_gone(rt, 1);
	wait_gone(rt, 2);
	cmd_ref(rt, 0, CMD_MONITOR, 1);
	assert_wait_u64(&world->recs[0].downs, 1, WAIT_LIMIT_NS);
	assert_int_equal(atomic_load(&world->recs[1].down_reason), ATOLL_EXIT_NOPROC);
	cmd_ref(rt, 0, CMD_MONITOR, 2);
	assert_wait_u64(&world->recs[0].downs, 2, WAIT_LIMIT_NS);
	assert_int_equal(atomic_load(&world->recs[2].down_reason), ATOLL_EXIT_NOPROC);

	/* Demonitored: its failure sends nothing that reaches the watcher. A
	 * relay on the same core then sends a value over the same ring: once
	 * it arrives, any DOWN would have. */
	node(rt, 3, 3);
	node(rt, 4, 3);
	cmd_ref(rt, 0, CMD_MONITOR, 3);
	cmd(rt, 0, CMD_DEMONITOR, NULL, 0);
	assert_int_equal((int64_t)atomic_load(&world->recs[0].last_rc), 0);
	cmd(rt, 0, CMD_DEMONITOR, NULL, 0);
	assert_int_equal((int64_t)atomic_load(&world->recs[0].last_rc), -ENOENT);
	fail_node(rt, 3, -EIO, -1);
	wait_gone(rt, 3);
	quit_node(rt, 4, 0);
	assert_wait_u64(&world->recs[0].value_from[4], 1, WAIT_LIMIT_NS);
	assert_int_equal(atomic_load(&world->recs[0].downs), 2);
	assert_int_equal(atomic_load(&world->recs[3].down_count), 0);

	/* Self and nonsense refs are refused. */
	cmd_ref(rt, 0, CMD_MONITOR, 0);
	assert_int_equal((int64_t)atomic_load(&world->recs[0].last_rc), -EINVAL);
	destroy_runtime(rt);
	assert_no_check_failures();
}

/* Nodes 1..n, node i on core i-1, each linked to the next; watcher 0
 * monitors them all. The last fails: the failure walks the chain. */
static void link_chain(unsigned n)
{
	atoll_runtime *rt = start_reactors(n);

	node(rt, 0, 0);
	for (unsigned i = 1; i <= n; i++) {
		node(rt, (int)i, (int)(i - 1));
		cmd_ref(rt, 0, CMD_MONITOR, (int)i);
	}
	for (unsigned i = 1; i < n; i++) {
		cmd_ref(rt, (int)i, CMD_LINK, (int)i + 1);
		assert_int_equal((int64_t)atomic_load(&world->recs[i].last_rc), 0);
	}
	/* Linking twice is one link. */
	cmd_ref(rt, 1, CMD_LINK, 2);
	assert_int_equal((int64_t)atomic_load(&world->recs[1].last_rc), 0);
	fail_node(rt, (int)n, -EPIPE, -1);
	assert_wait_u64(&world->recs[0].downs, n, WAIT_LIMIT_NS);
	for (unsigned i = 1; i <= n; i++) {
		struct rec *r = &world->recs[i];

		assert_int_equal(atomic_load(&r->down_reason), ATOLL_EXIT_FAILED);
		assert_int_equal(atomic_load(&r->down_code), i == n ? -EPIPE : ATOLL_FAIL_LINKED);
		if (i != n)
			assert_string_equal(r->down_text, "linked actor failed");
		assert_int_equal(atomic_load(&r->stops), 1);
	}
	assert_stat_eventually(rt, ALL_REACTORS, failures, n);
	destroy_runtime(rt);
	assert_no_check_failures();
}

static void link_failure_propagates_along_4_cores(void **state)
{
	(void)state;
	link_chain(4);
}

static void link_failure_propagates_along_8_cores(void **state)
{
	(void)state;
	link_chain(8);
}

static void trap_exit_turns_failures_and_normal_stops_into_exit(void **state)
{
	atoll_runtime *rt = start_reactors(4);

	(void)state;
	node(rt, 0, 0); /* traps */
	node(rt, 1, 1);
	node(rt, 2, 2);
	node(rt, 3, 3); /* does not trap */
	node(rt, 4, 1);
	node(rt, 5, 2); /* unlinked before its partner fails */
	node(rt, 6, 3);
	cmd(rt, 0, CMD_TRAP, NULL, 0);
	cmd_ref(rt, 0, CMD_LINK, 1);
	cmd_ref(rt, 0, CMD_LINK, 2);
	cmd_ref(rt, 3, CMD_LINK, 4);
	cmd_ref(rt, 5, CMD_LINK, 6);
	cmd_ref(rt, 5, CMD_UNLINK, 6);
	assert_int_equal((int64_t)atomic_load(&world->recs[5].last_rc), 0);

	fail_node(rt, 1, -EBADMSG, -1);
	assert_wait_u64(&world->recs[0].exits, 1, WAIT_LIMIT_NS);
	assert_int_equal(atomic_load(&world->recs[0].exit_reason), ATOLL_EXIT_FAILED);
	assert_int_equal(atomic_load(&world->recs[0].exit_code), -EBADMSG);
	assert_true(atomic_load(&world->recs[0].exit_who) == atomic_load(&world->refs[1]));
	quit_node(rt, 2, -1);
	assert_wait_u64(&world->recs[0].exits, 2, WAIT_LIMIT_NS);
	assert_int_equal(atomic_load(&world->recs[0].exit_reason), ATOLL_EXIT_NORMAL);

	/* A normal stop does not propagate to one that does not trap. */
	quit_node(rt, 4, 3);
	assert_wait_u64(&world->recs[3].value_from[4], 1, WAIT_LIMIT_NS);
	wait_gone(rt, 4);
	fail_node(rt, 6, -EIO, -1);
	wait_gone(rt, 6);
	/* Both still answer (a message from outside is handled). */
	cmd(rt, 3, CMD_VALUE, NULL, 0);
	cmd(rt, 5, CMD_VALUE, NULL, 0);
	cmd(rt, 0, CMD_VALUE, NULL, 0);
	assert_int_equal(atomic_load(&world->recs[3].stops), 0);
	assert_int_equal(atomic_load(&world->recs[5].stops), 0);
	assert_int_equal(atomic_load(&world->recs[0].stops), 0);
	assert_int_equal(atomic_load(&world->recs[0].exits), 2);
	destroy_runtime(rt);
	assert_no_check_failures();
}

static void init_failure_reaches_monitors_on_any_core(void **state)
{
	atoll_runtime *rt = start_reactors(4);

	(void)state;
	node(rt, 0, 0);
	for (int c = 0; c < 4; c++) {
		struct spawn_cmd sc = { c, &node_args[10 + c] };

		node_args[10 + c].init_error = -(EPERM + c);
		cmd(rt, 0, CMD_SPAWN_MONITORED, &sc, sizeof(sc));
		assert_int_equal((int64_t)atomic_load(&world->recs[0].last_rc), 0);
		assert_wait_u64(&world->recs[0].downs, (uint64_t)c + 1, WAIT_LIMIT_NS);
		assert_int_equal(atomic_load(&world->recs[10 + c].down_reason), ATOLL_EXIT_FAILED);
		assert_int_equal(atomic_load(&world->recs[10 + c].down_code), -(EPERM + c));
		assert_string_equal(world->recs[10 + c].down_text, "init failed");
		/* No stop hook: init refused the start. */
		assert_int_equal(atomic_load(&world->recs[10 + c].stops), 0);
	}
	assert_stat_eventually(rt, ALL_REACTORS, init_failures, 4);
	assert_stat_eventually(rt, ALL_REACTORS, failures, 4);
	destroy_runtime(rt);
	assert_no_check_failures();
}

/* An init that messages its own actor schedules it before it has started:
 * it must run once (not loop on the run queue), and if init then fails it
 * must leave the run queue before it is freed. */
static void init_that_messages_itself_runs_once_or_is_freed_safely(void **state)
{
	atoll_runtime *rt = start_reactors(2);

	(void)state;
	node_args[20].self_msg = true;
	node(rt, 20, 1);
	assert_wait_u64(&world->recs[20].values, 1, WAIT_LIMIT_NS);
	node_args[21].self_msg = true;
	node_args[21].init_error = -EIO;
	(void)spawn_on(rt, &node_type, &node_args[21], 1);
	assert_stat_eventually(rt, 1, init_failures, 1);
	/* The reactor still serves others, and node 20 got exactly one. */
	node(rt, 22, 1);
	cmd(rt, 22, CMD_VALUE, NULL, 0);
	assert_int_equal(atomic_load(&world->recs[20].values), 1);
	assert_int_equal(atomic_load(&world->recs[21].values), 0);
	destroy_runtime(rt);
	assert_no_check_failures();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			fail_stops_actor_runs_stop_hook_and_dead_letters_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(
			monitor_down_carries_reason_after_last_message_4_reactors, setup, teardown),
		cmocka_unit_test_setup_teardown(
			monitor_down_carries_reason_after_last_message_8_reactors, setup, teardown),
		cmocka_unit_test_setup_teardown(
			monitor_stopped_actor_gets_noproc_and_demonitor_silences, setup, teardown),
		cmocka_unit_test_setup_teardown(link_failure_propagates_along_4_cores, setup,
						teardown),
		cmocka_unit_test_setup_teardown(link_failure_propagates_along_8_cores, setup,
						teardown),
		cmocka_unit_test_setup_teardown(trap_exit_turns_failures_and_normal_stops_into_exit,
						setup, teardown),
		cmocka_unit_test_setup_teardown(init_failure_reaches_monitors_on_any_core, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			init_that_messages_itself_runs_once_or_is_freed_safely, setup, teardown),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
