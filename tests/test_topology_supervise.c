/*
 * test_topology_supervise.c - supervision in topology files
 * (src/topology_supervise.c, src/topology_watch.c): every error of the
 * `supervisor` and `restart` keys with its exact "FILE:LINE: message"; the
 * --check text and DOT output; and real runs on 2, 4 and 8 reactors, where a
 * supervised member keeps its ref across restarts (its peers' links and its
 * group's refs stay good), nested supervisors restart a subtree, and a
 * member no supervisor watches stops the runtime when it fails, with the
 * reason in atoll_topology_failure.
 */
#define _GNU_SOURCE
#include "helpers.h"

#include "supervisor.h"

/* --- test-local types -------------------------------------------------------- */

enum {
	MSG_FAIL = ATOLL_MSG_USER + 1,
	MSG_PING
};

#define MAX_SEEN 256

/* What an init, or a PING, saw: recorded on its reactor thread. */
struct seen {
	char group[16];
	unsigned index;
	unsigned core;
	atoll_ref self;
	atoll_ref member; /* its group's ref for it (an alias when supervised) */
	atoll_ref link;   /* the first ref of its link `peer`, if any */
};

static struct {
	pthread_mutex_t lock;
	struct seen inits[MAX_SEEN];
	struct seen pings[MAX_SEEN];
	_Atomic uint64_t ninits, npings;
} record = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void append(struct seen *v, _Atomic uint64_t *n, const struct seen *s)
{
	pthread_mutex_lock(&record.lock);
	uint64_t i = atomic_load(n);
	if (i < MAX_SEEN)
		v[i] = *s;
	atomic_store(n, i + 1);
	pthread_mutex_unlock(&record.lock);
}

struct flaky {
	struct seen me;
	bool fail_init; /* fails in init instead */
};

static int flaky_init(atoll_ctx *ctx, void *state, const void *arg)
{
	const struct atoll_params *p = arg;
	struct flaky *f = state;
	const atoll_ref *refs;

	snprintf(f->me.group, sizeof(f->me.group), "%s", atoll_params_group_name(p));
	f->me.index = atoll_params_index(p);
	f->me.core = atoll_core(ctx);
	f->me.self = atoll_self(ctx);
	(void)atoll_params_group(p, &refs);
	f->me.member = refs[f->me.index];
	f->me.link = atoll_params_links(p, "peer", &refs) > 0 ? refs[0] : ATOLL_REF_NONE;
	append(record.inits, &record.ninits, &f->me);
	return atoll_params_bool(p, "bad_init") ? -EINVAL : 0;
}

static void flaky_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct flaky *f = state;

	if (msg->type == MSG_FAIL)
		atoll_fail(ctx, -EIO, "asked to fail");
	else if (msg->type == MSG_PING)
		append(record.pings, &record.npings, &f->me);
}

static const struct atoll_actor_type flaky_type = {
	.name = "flaky",
	.state_size = sizeof(struct flaky),
	.init = flaky_init,
	.receive = flaky_receive,
};

static const struct atoll_param_spec flaky_params[] = {
	{ "peer", ATOLL_PARAM_LINK, "", 0, 0, NULL, "a group it knows", 0 },
	{ "bad_init", ATOLL_PARAM_BOOL, "no", 0, 0, NULL, "init fails", 0 },
	{ 0 },
};

static const struct atoll_type_info flaky_info = {
	.type = &flaky_type,
	.summary = "fails on FAIL, records PINGs",
	.params = flaky_params,
};

static struct atoll_catalog *catalog;

static int setup(void **state)
{
	(void)state;
	catalog = atoll_catalog_new();
	assert_non_null(catalog);
	assert_int_equal(atoll_catalog_add(catalog, &flaky_info), 0);
	assert_int_equal(atoll_catalog_add(catalog, &atoll_supervisor_info), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	atoll_catalog_free(catalog);
	return 0;
}

static struct atoll_topology *parse_ok(const char *text)
{
	return topology_parse_ok(catalog, text);
}

/* --- errors ------------------------------------------------------------------ */

static const struct topology_bad bad_files[] = {
	{ "[a]\ntype = flaky\nrestart = always\n",
	  "t.ini:3: [a] restart: expected permanent, transient or temporary, got 'always'" },
	{ "[a]\ntype = flaky\nrestart = temporary\n",
	  "t.ini:3: [a] restart: only for a supervised group (add supervisor = GROUP)" },
	{ "[a]\ntype = flaky\nsupervisor = nope\n",
	  "t.ini:3: [a] supervisor: no group named 'nope'" },
	{ "[s]\ntype = supervisor\nsupervisor = s\n",
	  "t.ini:3: [s] supervisor: a group cannot supervise itself" },
	{ "[a]\ntype = flaky\nsupervisor = b\n[b]\ntype = flaky\n",
	  "t.ini:3: [a] supervisor: [b] is a flaky, not a supervisor (its type must be one, e.g. "
	  "type = supervisor)" },
	{ "[s1]\ntype = supervisor\nsupervisor = s2\n[s2]\ntype = supervisor\nsupervisor = s3\n"
	  "[s3]\ntype = supervisor\nsupervisor = s1\n",
	  "t.ini:3: [s1] supervisor: the supervision makes a cycle s1 -> s2 -> s3 -> s1" },
	{ "[a]\ntype = flaky\n[s]\ntype = supervisor\n",
	  "t.ini:3: [s] supervises no group (add supervisor = s to the groups it restarts)" },
	{ "[s]\ntype = supervisor\ncount = 2\n[a]\ntype = flaky\nsupervisor = s\n",
	  "t.ini:3: [s] count: type supervisor allows one actor per group" },
	{ "[s]\ntype = supervisor\nstrategy = one_for_some\n[a]\ntype = flaky\nsupervisor = s\n",
	  "t.ini:3: [s] parameter 'strategy': expected one of "
	  "one_for_one|one_for_all|rest_for_one, got 'one_for_some'" },
	{ "[s]\ntype = supervisor\nmax_restarts = 0\n[a]\ntype = flaky\nsupervisor = s\n",
	  "t.ini:3: [s] parameter 'max_restarts': '0' is out of range (from 1 to 1000000)" },
	{ "[a]\ntype = flaky\nsupervisor = s\nsupervisor = s\n[s]\ntype = supervisor\n",
	  "t.ini:4: duplicate key 'supervisor' in [a] (first at line 3)" },
};

static void supervision_errors_name_the_file_line_and_problem(void **state)
{
	(void)state;
	assert_topology_errors(catalog, bad_files, sizeof(bad_files) / sizeof(bad_files[0]));
}

static void supervision_errors_in_placement_name_the_line(void **state)
{
	struct atoll_topology *t;
	char err[512];

	(void)state;
	/* One supervisor per reactor would have to share the children. */
	t = parse_ok("[s]\ntype = supervisor\nplacement = each\n[a]\ntype = flaky\n"
		     "supervisor = s\n");
	assert_int_equal(atoll_topology_place(t, 1, err, sizeof(err)), 0);
	assert_int_equal(atoll_topology_place(t, 2, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t.ini:3: [s] placement = each: type supervisor allows one "
				 "actor per group");
	atoll_topology_free(t);

	t = parse_ok("[s]\ntype = supervisor\n[a]\ntype = flaky\ncount = 1000\nsupervisor = s\n"
		     "[b]\ntype = flaky\ncount = 25\nsupervisor = s\n");
	assert_int_equal(atoll_topology_place(t, 2, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t.ini:1: [s] supervises 1025 actors, more than 1024");
	atoll_topology_free(t);
}

static const char *tree_text = "[top]\ntype = supervisor\ncore = 0\n"
			       "[mid]\ntype = supervisor\nsupervisor = top\ncore = 1\n"
			       "max_restarts = 1\nwindow = 1m\n"
			       "[w]\ntype = flaky\nplacement = each\nsupervisor = mid\n"
			       "restart = transient\n"
			       "[x]\ntype = flaky\ncount = 2\nsupervisor = top\n"
			       "restart = temporary\npeer = w\n";

static void supervision_shows_in_check_and_dot(void **state)
{
	struct atoll_topology *t = parse_ok(tree_text);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	char err[256];

	(void)state;
	assert_int_equal(atoll_topology_place(t, 2, err, sizeof(err)), 0);
	assert_int_equal(atoll_topology_print(t, f), 0);
	fclose(f);
	assert_string_equal(text, "topology t.ini: 4 groups, 6 actors on 2 reactors\n"
				  "[top] supervisor x1 (cores): core 0\n"
				  "[mid] supervisor x1 (cores): core 1\n"
				  "  supervised by [top], restart permanent\n"
				  "[w] flaky x2 (each): cores 0,1\n"
				  "  supervised by [mid], restart transient\n"
				  "[x] flaky x2 (spread): cores 0,1\n"
				  "  peer -> [w] x2\n"
				  "  supervised by [top], restart temporary\n"
				  "core 0: top.0 w.0 x.0\n"
				  "core 1: mid.0 w.1 x.1\n");
	free(text);
	text = NULL;
	f = open_memstream(&text, &len);
	assert_int_equal(atoll_topology_dot(t, f), 0);
	fclose(f);
	assert_non_null(strstr(text, "\t\"top.0\" -> \"mid.0\" [style=dashed, arrowhead=odot, "
				     "label=\"permanent\"];\n"));
	assert_non_null(strstr(text, "\t\"mid.0\" -> \"w.1\" [style=dashed, arrowhead=odot, "
				     "label=\"transient\"];\n"));
	assert_non_null(strstr(text, "\t\"top.0\" -> \"x.1\" [style=dashed, arrowhead=odot, "
				     "label=\"temporary\"];\n"));
	free(text);
	atoll_topology_free(t);

	/* A big group: one bold dashed edge to its first member. */
	t = parse_ok("[s]\ntype = supervisor\n[a]\ntype = flaky\ncount = 20\nsupervisor = s\n");
	text = NULL;
	f = open_memstream(&text, &len);
	assert_int_equal(atoll_topology_place(t, 2, err, sizeof(err)), 0);
	assert_int_equal(atoll_topology_dot(t, f), 0);
	fclose(f);
	assert_non_null(strstr(text, "\t\"s.0\" -> \"a.0\" [style=\"dashed,bold\", arrowhead=odot, "
				     "label=\"permanent (x20)\"];\n"));
	assert_null(strstr(text, "\"s.0\" -> \"a.1\""));
	free(text);
	atoll_topology_free(t);
}

/* --- real runs ------------------------------------------------------------------ */

/* Places t for n reactors, starts them and t on them; fails the test on
 * an error. */
static atoll_runtime *place_and_start(struct atoll_topology *t, unsigned n)
{
	char err[512];
	atoll_runtime *rt;

	assert_int_equal(atoll_topology_place(t, n, err, sizeof(err)), 0);
	rt = start_reactors(n);
	if (atoll_topology_start(t, rt, err, sizeof(err)) != 0)
		fail_msg("atoll_topology_start: %s", err);
	return rt;
}

static void reset_record(void)
{
	pthread_mutex_lock(&record.lock);
	atomic_store(&record.ninits, 0);
	atomic_store(&record.npings, 0);
	pthread_mutex_unlock(&record.lock);
}

static struct seen init_at(uint64_t i)
{
	struct seen s;

	pthread_mutex_lock(&record.lock);
	s = record.inits[i];
	pthread_mutex_unlock(&record.lock);
	return s;
}

/* The latest init of group's member index, among the first n recorded. */
static struct seen latest_init(const char *group, unsigned index, uint64_t n)
{
	struct seen found = { 0 };

	for (uint64_t i = 0; i < n; i++) {
		struct seen s = init_at(i);

		if (strcmp(s.group, group) == 0 && s.index == index)
			found = s;
	}
	if (found.self == ATOLL_REF_NONE)
		fail_msg("no init of %s.%u among %llu", group, index, (unsigned long long)n);
	return found;
}

static void ping_all(atoll_runtime *rt, const atoll_ref *refs, int n)
{
	for (int m = 0; m < n; m++)
		send_from_outside(rt, refs[m], MSG_PING, NULL, 0);
}

/* Each PING to the group's refs reached the incarnation that was current. */
static void assert_pings_reached(const char *group, int n, uint64_t inits, uint64_t from)
{
	assert_wait_u64(&record.npings, from + (uint64_t)n, WAIT_LIMIT_NS);
	for (uint64_t i = from; i < from + (uint64_t)n; i++) {
		struct seen p;

		pthread_mutex_lock(&record.lock);
		p = record.pings[i];
		pthread_mutex_unlock(&record.lock);
		assert_string_equal(p.group, group);
		assert_int_equal(p.self, latest_init(group, p.index, inits).self);
	}
}

/*
 * A supervised group's members are known by aliases: their group refs and
 * the links naming them stay the same while the supervisor restarts them,
 * and messages to those refs reach whichever incarnation runs.
 */
static void restart_keeps_refs(unsigned n)
{
	struct atoll_topology *t =
		parse_ok("[sup]\ntype = supervisor\ncore = 0\n"
			 "max_restarts = 100\nwindow = 1m\n"
			 "[w]\ntype = flaky\nplacement = each\nsupervisor = sup\n"
			 "[peer]\ntype = flaky\npeer = w\ncore = 0\n");
	const unsigned *cores;
	const atoll_ref *refs;
	char err[512];

	reset_record();
	atoll_runtime *rt = place_and_start(t, n);
	int members = atoll_topology_group(t, "w", &cores, &refs);
	assert_int_equal(members, (int)n);
	assert_wait_u64(&record.ninits, n + 1, WAIT_LIMIT_NS);
	for (unsigned m = 0; m < n; m++) {
		struct seen s = latest_init("w", m, n + 1);

		assert_int_equal(s.member, refs[m]); /* its group names it by its alias */
		assert_true(s.self != refs[m]);      /* its own ref is another */
		assert_int_equal(s.core, cores[m]);
		assert_int_equal(atoll_ref_core(refs[m]), cores[m]);
	}
	assert_int_equal(latest_init("peer", 0, n + 1).link, refs[0]);

	/* Each member fails once: the supervisor restarts it under its alias. */
	ping_all(rt, refs, members);
	assert_pings_reached("w", members, n + 1, 0);
	for (int m = 0; m < members; m++)
		send_from_outside(rt, refs[m], MSG_FAIL, NULL, 0);
	assert_stat_eventually(rt, ALL_REACTORS, restarts, n);
	assert_stat_eventually(rt, ALL_REACTORS, failures, n);
	assert_wait_u64(&record.ninits, 2 * n + 1, WAIT_LIMIT_NS);
	for (unsigned m = 0; m < n; m++) {
		struct seen s = latest_init("w", m, 2 * n + 1);

		assert_int_equal(s.member, refs[m]);
		assert_int_equal(s.core, cores[m]);
	}
	ping_all(rt, refs, members);
	assert_pings_reached("w", members, 2 * n + 1, (uint64_t)members);
	/* Nothing failed that nobody watched. */
	assert_false(atoll_runtime_stopping(rt));
	destroy_runtime(rt);
	assert_int_equal(atoll_topology_failure(t, err, sizeof(err)), 0);
	atoll_topology_free(t);
}

static void supervised_members_keep_their_refs_on_2_reactors(void **state)
{
	(void)state;
	restart_keeps_refs(2);
}

static void supervised_members_keep_their_refs_on_4_reactors(void **state)
{
	(void)state;
	restart_keeps_refs(4);
}

static void supervised_members_keep_their_refs_on_8_reactors(void **state)
{
	(void)state;
	restart_keeps_refs(8);
}

/*
 * [mid] gives up after its second restart within the window: it stops its
 * other children, fails, and [top] restarts it; the new [mid] starts every
 * child anew, under the same aliases. [x] (temporary) is not restarted.
 */
static void nested_supervisor_restarts_its_subtree(void **state)
{
	struct atoll_topology *t = parse_ok(tree_text);
	const atoll_ref *w, *x, *mid;
	char err[512];

	(void)state;
	reset_record();
	atoll_runtime *rt = place_and_start(t, 4);
	assert_int_equal(atoll_topology_group(t, "w", NULL, &w), 4);
	assert_int_equal(atoll_topology_group(t, "x", NULL, &x), 2);
	assert_int_equal(atoll_topology_group(t, "mid", NULL, &mid), 1);
	assert_wait_u64(&record.ninits, 6, WAIT_LIMIT_NS);

	send_from_outside(rt, w[0], MSG_FAIL, NULL, 0); /* restart 1 of [mid]'s 1 */
	assert_wait_u64(&record.ninits, 7, WAIT_LIMIT_NS);
	assert_stat_eventually(rt, ALL_REACTORS, restarts, 1);
	send_from_outside(rt, w[1], MSG_FAIL, NULL, 0); /* one too many: [mid] gives up */
	/* [top] restarts [mid], whose init starts the 4 members of [w]. */
	assert_wait_u64(&record.ninits, 11, WAIT_LIMIT_NS);
	assert_stat_eventually(rt, ALL_REACTORS, restarts, 2);
	/* Failed: w.0, w.1, and [mid]. The other members of [w] stopped
	 * normally (asked by [mid]), so transient, they came back only with
	 * the new [mid]. */
	assert_stat_eventually(rt, ALL_REACTORS, failures, 3);
	ping_all(rt, w, 4);
	assert_pings_reached("w", 4, 11, 0);

	/* Temporary: [x] is not restarted; its alias names nobody now. */
	send_from_outside(rt, x[1], MSG_FAIL, NULL, 0);
	assert_stat_eventually(rt, ALL_REACTORS, failures, 4);
	atoll_msg *ping = atoll_msg_new(MSG_PING, 0);
	assert_non_null(ping);
	assert_int_equal(atoll_runtime_send(rt, x[1], ping), -ESRCH);
	assert_int_equal(atomic_load(&record.ninits), 11);
	assert_false(atoll_runtime_stopping(rt));
	destroy_runtime(rt);
	assert_int_equal(atoll_topology_failure(t, err, sizeof(err)), 0);
	atoll_topology_free(t);
}

static bool runtime_stopping(void *arg)
{
	return atoll_runtime_stopping(arg);
}

/* A member no supervisor watches fails: the watcher stops the runtime. */
static void unsupervised_failure_stops_the_runtime(void **state)
{
	struct atoll_topology *t = parse_ok("[a]\ntype = flaky\ncount = 2\ncores = 1\n");
	const atoll_ref *a;
	char err[512];

	(void)state;
	reset_record();
	atoll_runtime *rt = place_and_start(t, 2);
	assert_int_equal(atoll_topology_group(t, "a", NULL, &a), 2);
	assert_wait_u64(&record.ninits, 2, WAIT_LIMIT_NS);
	assert_int_equal(atoll_topology_failure(t, err, sizeof(err)), 0);
	send_from_outside(rt, a[1], MSG_FAIL, NULL, 0);
	assert_true(wait_for(runtime_stopping, rt, WAIT_LIMIT_NS));
	assert_int_equal(wait_runtime(rt), 0);
	assert_int_equal(atoll_topology_failure(t, err, sizeof(err)), 1);
	assert_string_equal(err, "[a] a.1 (flaky on core 1) failed: asked to fail (-5)");
	destroy_runtime(rt);
	atoll_topology_free(t);
}

/* An init that fails unsupervised stops it too, and says so; supervised,
 * it is the supervisor's to restart, until it gives up. */
static void init_failures_stop_the_runtime_unless_supervised(void **state)
{
	struct atoll_topology *t = parse_ok("[ok]\ntype = flaky\n"
					    "[bad]\ntype = flaky\ncore = 1\nbad_init = yes\n");
	char err[512];

	(void)state;
	reset_record();
	atoll_runtime *rt = place_and_start(t, 2);
	assert_true(wait_for(runtime_stopping, rt, WAIT_LIMIT_NS));
	assert_int_equal(wait_runtime(rt), 0);
	assert_int_equal(atoll_topology_failure(t, err, sizeof(err)), 1);
	assert_string_equal(err, "[bad] bad.0 (flaky on core 1) failed to start: Invalid argument");
	destroy_runtime(rt);
	atoll_topology_free(t);

	/* Supervised: 3 restarts in the window are allowed, the 4th failure
	 * makes the supervisor give up, and that is what stops the run. */
	t = parse_ok("[sup]\ntype = supervisor\nmax_restarts = 3\nwindow = 1m\n"
		     "[bad]\ntype = flaky\ncore = 1\nbad_init = yes\nsupervisor = sup\n");
	reset_record();
	rt = place_and_start(t, 2);
	assert_true(wait_for(runtime_stopping, rt, WAIT_LIMIT_NS));
	assert_int_equal(wait_runtime(rt), 0);
	assert_int_equal(atomic_load(&record.ninits), 4);
	assert_int_equal(STATS_SUM(rt, restarts), 3);
	assert_int_equal(STATS_SUM(rt, init_failures), 4);
	assert_int_equal(atoll_topology_failure(t, err, sizeof(err)), 1);
	assert_string_equal(err, "[sup] sup.0 (supervisor on core 0) failed: supervisor: more "
				 "than 3 restarts in 60000 ms (-31)");
	destroy_runtime(rt);
	atoll_topology_free(t);
}

/* A start that fails (a name taken) launches nothing and frees what it
 * built, the supervisor's restart parameters included (ASan checks); a
 * second start then runs the topology. */
static void a_failed_start_can_be_retried(void **state)
{
	struct atoll_topology *t =
		parse_ok("[top]\ntype = supervisor\n"
			 "[a]\ntype = flaky\nsupervisor = top\nregister = taken\n");
	atoll_runtime *rt = start_reactors(2);
	atoll_ref named = ATOLL_REF_NONE;
	const atoll_ref *a;
	char err[512];

	(void)state;
	reset_record();
	assert_int_equal(atoll_register(rt, "taken", 12345), 0);
	assert_int_equal(atoll_topology_place(t, 2, err, sizeof(err)), 0);
	assert_int_equal(atoll_topology_start(t, rt, err, sizeof(err)), -EEXIST);
	assert_int_equal(atoll_unregister(rt, "taken"), 0);
	assert_int_equal(atoll_topology_start(t, rt, err, sizeof(err)), 0);
	assert_wait_u64(&record.ninits, 1, WAIT_LIMIT_NS);
	assert_int_equal(atoll_topology_group(t, "a", NULL, &a), 1);
	assert_int_equal(atoll_lookup(rt, "taken", &named), 0);
	assert_int_equal(named, a[0]);
	destroy_runtime(rt);
	assert_int_equal(atomic_load(&record.ninits), 1);
	atoll_topology_free(t);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, reset, destroy_leftovers)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(supervision_errors_name_the_file_line_and_problem),
		cmocka_unit_test(supervision_errors_in_placement_name_the_line),
		cmocka_unit_test(supervision_shows_in_check_and_dot),
		TEST(supervised_members_keep_their_refs_on_2_reactors),
		TEST(supervised_members_keep_their_refs_on_4_reactors),
		TEST(supervised_members_keep_their_refs_on_8_reactors),
		TEST(nested_supervisor_restarts_its_subtree),
		TEST(unsupervised_failure_stops_the_runtime),
		TEST(init_failures_stop_the_runtime_unless_supervised),
		TEST(a_failed_start_can_be_retried),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, setup, teardown);
}
