/*
 * test_topology.c - topology files (src/topology.c, src/topology_run.c):
 * every error a file can have, with its exact "FILE:LINE: message"; the
 * [runtime] settings; placement on 1, 2, 4 and 8 reactors; the --check text
 * and DOT output; and a real start on 4 and 8 reactors, where each actor's
 * init must see its group's refs and the refs of the groups it links to.
 * The actor types are local to this file.
 */
#define _GNU_SOURCE
#include "helpers.h"

#include <unistd.h>

/* --- test-local types -------------------------------------------------------- */

#define MAX_SEEN 64
#define MAX_REFS 16

/* What an init saw, recorded on its reactor thread. */
struct seen {
	char group[32];
	unsigned index;
	unsigned core;
	atoll_ref self;
	atoll_ref members[MAX_REFS];
	size_t nmembers;
	atoll_ref links[MAX_REFS];
	size_t nlinks;
};

static struct {
	pthread_mutex_t lock;
	struct seen seen[MAX_SEEN];
	_Atomic uint64_t n;
} record = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void record_init(atoll_ctx *ctx, const struct atoll_params *p, const char *link)
{
	const atoll_ref *refs = NULL;
	struct seen s = { 0 };

	snprintf(s.group, sizeof(s.group), "%s", atoll_params_group_name(p));
	s.index = atoll_params_index(p);
	s.core = atoll_core(ctx);
	s.self = atoll_self(ctx);
	s.nmembers = atoll_params_group(p, &refs);
	for (size_t i = 0; i < s.nmembers && i < MAX_REFS; i++)
		s.members[i] = refs[i];
	if (link != NULL) {
		s.nlinks = atoll_params_links(p, link, &refs);
		for (size_t i = 0; i < s.nlinks && i < MAX_REFS; i++)
			s.links[i] = refs[i];
	}
	pthread_mutex_lock(&record.lock);
	uint64_t i = atomic_load(&record.n);
	if (i < MAX_SEEN)
		record.seen[i] = s;
	atomic_store(&record.n, i + 1);
	pthread_mutex_unlock(&record.lock);
}

static void ignore_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	(void)ctx;
	(void)state;
	(void)msg;
}

static int src_init(atoll_ctx *ctx, void *state, const void *arg)
{
	(void)state;
	record_init(ctx, arg, "to");
	return 0;
}

static int node_init(atoll_ctx *ctx, void *state, const void *arg)
{
	(void)state;
	record_init(ctx, arg, "peer");
	return 0;
}

static int sink_init(atoll_ctx *ctx, void *state, const void *arg)
{
	(void)state;
	record_init(ctx, arg, NULL);
	return 0;
}

static const struct atoll_actor_type src_type = { .name = "src",
						  .init = src_init,
						  .receive = ignore_receive };
static const struct atoll_actor_type node_type = { .name = "node",
						   .init = node_init,
						   .receive = ignore_receive };
static const struct atoll_actor_type sink_type = { .name = "sink",
						   .init = sink_init,
						   .receive = ignore_receive };
static const struct atoll_actor_type picky_type = { .name = "picky",
						    .init = sink_init,
						    .receive = ignore_receive };
static const struct atoll_actor_type one_type = { .name = "one",
						  .init = sink_init,
						  .receive = ignore_receive };

/* burst: on MSG_BURST, sends 10 messages to the first member of `to` in one
 * receive, so a member on the same core finds them all in its mailbox. */
enum {
	MSG_BURST = ATOLL_MSG_USER + 7,
	MSG_ITEM
};

static _Atomic uint64_t burst_refused;

static int burst_init(atoll_ctx *ctx, void *state, const void *arg)
{
	const atoll_ref *to;

	*(atoll_ref *)state = atoll_params_links(arg, "to", &to) > 0 ? to[0] : ATOLL_REF_NONE;
	record_init(ctx, arg, "to");
	return 0;
}

static void burst_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	if (msg->type != MSG_BURST)
		return;
	for (int i = 0; i < 10; i++)
		if (atoll_tell(ctx, *(atoll_ref *)state, MSG_ITEM, NULL, 0) == -ENOBUFS)
			atomic_fetch_add(&burst_refused, 1);
}

static const struct atoll_actor_type burst_type = { .name = "burst",
						    .state_size = sizeof(atoll_ref),
						    .init = burst_init,
						    .receive = burst_receive };

static const struct atoll_param_spec src_params[] = {
	{ "to", ATOLL_PARAM_LINK, "", 0, 0, NULL, "the next stage", ATOLL_PARAM_ACYCLIC },
	{ "n", ATOLL_PARAM_INT, "1", 1, 100, NULL, "how many", 0 },
	{ "mode", ATOLL_PARAM_ENUM, "a", 0, 0, "a|b", "which", 0 },
	{ "every", ATOLL_PARAM_DURATION, "1s", 0, 0, NULL, "period", 0 },
	{ 0 },
};

static const struct atoll_param_spec node_params[] = {
	{ "peer", ATOLL_PARAM_LINK, NULL, 0, 0, NULL, "the other side", 0 },
	{ 0 },
};

static const struct atoll_param_spec picky_params[] = {
	{ "x", ATOLL_PARAM_INT, "0", 0, 0, NULL, "a number", 0 },
	{ 0 },
};

static int picky_check(const struct atoll_params *p, char *err, size_t errlen)
{
	if (atoll_params_int(p, "x") > 10) {
		snprintf(err, errlen, "picky: x must be at most 10");
		return -EINVAL;
	}
	return 0;
}

static const struct atoll_type_info infos[] = {
	{ .type = &src_type, .summary = "a source", .params = src_params },
	{ .type = &node_type, .summary = "a node", .params = node_params },
	{ .type = &sink_type, .summary = "a sink" },
	{ .type = &picky_type,
	  .summary = "refuses x > 10",
	  .params = picky_params,
	  .check = picky_check },
	{ .type = &one_type, .summary = "one per group", .flags = ATOLL_TYPE_SINGLETON },
	{ .type = &burst_type, .summary = "sends 10 at once", .params = src_params },
};

static struct atoll_catalog *catalog;

static int setup(void **state)
{
	(void)state;
	catalog = atoll_catalog_new();
	assert_non_null(catalog);
	for (size_t i = 0; i < sizeof(infos) / sizeof(infos[0]); i++)
		assert_int_equal(atoll_catalog_add(catalog, &infos[i]), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	atoll_catalog_free(catalog);
	return 0;
}

/* --- errors ------------------------------------------------------------------ */

static const struct topology_bad bad_files[] = {
	{ "[a]\ntype = nope\n", "t.ini:2: [a] unknown type 'nope' (atoll list shows the types)" },
	{ "[a]\ncount = 2\n", "t.ini:1: [a] has no type (add: type = NAME)" },
	{ "[a]\ntype = sink\nfoo = 1\n", "t.ini:3: [a] unknown parameter 'foo' (sink takes none)" },
	{ "[a]\ntype = src\nspeed = 1\n",
	  "t.ini:3: [a] unknown parameter 'speed' (src takes: to, n, mode, every)" },
	{ "[a]\ntype = src\nn = many\n",
	  "t.ini:3: [a] parameter 'n': expected an integer, got 'many'" },
	{ "[a]\ntype = src\nn = 101\n",
	  "t.ini:3: [a] parameter 'n': '101' is out of range (from 1 to 100)" },
	{ "[a]\ntype = src\nmode = c\n",
	  "t.ini:3: [a] parameter 'mode': expected one of a|b, got 'c'" },
	{ "[a]\ntype = src\nevery = soon\n",
	  "t.ini:3: [a] parameter 'every': expected a duration like 250ms or 2s, got 'soon'" },
	{ "\n[a]\ntype = node\n", "t.ini:2: [a] missing parameter 'peer' (the other side)" },
	{ "[a]\ntype = node\npeer = b\n", "t.ini:3: [a] parameter 'peer': no group named 'b'" },
	{ "[a]\ntype = sink\ncores = 3-1\n",
	  "t.ini:3: [a] cores: expected a core list like 0-3 or 0,2, got '3-1'" },
	{ "[a]\ntype = sink\ncores = 0,x\n",
	  "t.ini:3: [a] cores: expected a core list like 0-3 or 0,2, got '0,x'" },
	{ "[a]\ntype = sink\ncore = -1\n", "t.ini:3: [a] core: expected a core number, got '-1'" },
	{ "[a]\ntype = sink\ncore = 0\ncores = 0-1\n",
	  "t.ini:4: [a] 'cores' conflicts with the placement at line 3" },
	{ "[a]\ntype = sink\nplacement = all\n",
	  "t.ini:3: [a] placement: expected each or spread (or use core = N, cores = LIST), got "
	  "'all'" },
	{ "[a]\ntype = sink\ncount = 2\nplacement = each\n",
	  "t.ini:3: [a] count conflicts with placement = each (line 4), which puts one on every "
	  "reactor" },
	{ "[a]\ntype = sink\ncount = 0\n",
	  "t.ini:3: [a] count: expected a number from 1 to 65536, got '0'" },
	{ "[a]\ntype = one\ncount = 2\n",
	  "t.ini:3: [a] count: type one allows one actor per group" },
	{ "[a]\ntype = sink\n[b]\ntype = sink\n[a]\ntype = sink\n",
	  "t.ini:5: duplicate section [a] (first at line 1)" },
	{ "[runtime]\n[runtime]\n", "t.ini:2: duplicate section [runtime] (first at line 1)" },
	{ "[a]\ntype = sink\n  type = src\n",
	  "t.ini:3: duplicate key 'type' in [a] (first at line 2)" },
	{ "type = sink\n[a]\ntype = sink\n",
	  "t.ini:1: key 'type' outside a section (put it under [runtime] or a group)" },
	{ "[a]\ntype = src\nto = b\n[b]\ntype = src\nto = c\n[c]\ntype = src\nto = a\n",
	  "t.ini:9: [c] parameter 'to': the links make a cycle a -> b -> c -> a, which this link "
	  "must not (a pipeline)" },
	{ "[a]\ntype = src\nto = a\n",
	  "t.ini:3: [a] parameter 'to': the links make a cycle a -> a, which this link must not (a "
	  "pipeline)" },
	{ "[p]\ntype = picky\nx = 11\n", "t.ini:1: [p] picky: x must be at most 10" },
	{ "[a]\ntype = sink\njunk line\n",
	  "t.ini:3: syntax error: expected [section], key = value or a comment" },
	{ "[a\ntype = sink\n",
	  "t.ini:1: syntax error: expected [section], key = value or a comment" },
	{ "[runtime]\nreactorz = 2\n",
	  "t.ini:2: unknown key 'reactorz' in [runtime] (known: reactors, cpus, duration, no_pin, "
	  "ring_capacity, batch, sq_entries, eventfd_doorbell, idle_spin_us, recv_buffers, "
	  "recv_buffer_size, no_buf_ring, log_level)" },
	{ "[runtime]\nreactors = 0\n", "t.ini:2: [runtime] reactors: expected 1 to 4096, got 0" },
	{ "[runtime]\nduration = long\n",
	  "t.ini:2: [runtime] duration: expected a duration like 250ms or 2s, got 'long'" },
	{ "[runtime]\ncpus = 1-\n", "t.ini:2: [runtime] cpus: expected a CPU list like 0-3 or 0,2, "
				    "got '1-'" },
	{ "[a]\ntype = sink\nregister = s\n[b]\ntype = sink\nregister = s\n",
	  "t.ini:6: [b] register: the name 's' is taken by [a] (line 3)" },
	{ "[a]\ntype = sink\nrestart = always\n",
	  "t.ini:3: [a] restart: expected permanent, transient or temporary, got 'always'" },
	{ "[a]\ntype = sink\nmailbox_limit = 0\n",
	  "t.ini:3: [a] mailbox_limit: expected a number from 1 to 1000000000, got '0'" },
	{ "[a]\ntype = sink\nmailbox_limit = 10\noverflow = drop\n",
	  "t.ini:4: [a] overflow: expected reject, drop_newest or drop_oldest, got 'drop'" },
	{ "[a]\ntype = sink\noverflow = drop_oldest\n",
	  "t.ini:3: [a] overflow: only with mailbox_limit = N" },
	{ "; nothing\n[runtime]\nreactors = 2\n",
	  "t.ini: no groups of actors (a topology needs at least one [group])" },
};

static void topology_reports_each_error_with_file_line_and_message(void **state)
{
	(void)state;
	assert_topology_errors(catalog, bad_files, sizeof(bad_files) / sizeof(bad_files[0]));
}

static void topology_errors_in_placement_name_the_line(void **state)
{
	struct atoll_topology *t;
	char err[512];

	(void)state;
	assert_int_equal(atoll_topology_parse("[a]\ntype = sink\n\ncore = 4\n", "t.ini", catalog,
					      &t, err, sizeof(err)),
			 0);
	assert_int_equal(atoll_topology_place(t, 8, err, sizeof(err)), 0);
	assert_int_equal(atoll_topology_place(t, 4, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t.ini:4: [a] core 4 is beyond the 4 reactors (0-3)");
	assert_int_equal(atoll_topology_place(t, 1, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t.ini:4: [a] core 4 is beyond the 1 reactor (0-0)");
	atoll_topology_free(t);

	assert_int_equal(atoll_topology_parse("[o]\ntype = one\nplacement = each\n", "t.ini",
					      catalog, &t, err, sizeof(err)),
			 0);
	assert_int_equal(atoll_topology_place(t, 1, err, sizeof(err)), 0);
	assert_int_equal(atoll_topology_place(t, 2, err, sizeof(err)), -EINVAL);
	assert_string_equal(err,
			    "t.ini:3: [o] placement = each: type one allows one actor per group");
	atoll_topology_free(t);
}

static void topology_load_names_a_missing_file(void **state)
{
	struct atoll_topology *t;
	char err[512];

	(void)state;
	assert_int_equal(atoll_topology_load("/nonexistent/x.ini", catalog, &t, err, sizeof(err)),
			 -ENOENT);
	assert_null(t);
	assert_string_equal(err, "/nonexistent/x.ini: cannot open: No such file or directory");
}

static void topology_load_reads_a_file_and_names_it_in_errors(void **state)
{
	char path[] = "/tmp/atoll-topo-XXXXXX";
	int fd = mkstemp(path);
	const char *text = "[runtime]\nreactors = 2\n\n[a]\ntype = nope\n";
	struct atoll_topology *t;
	char err[512], want[600];

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(atoll_topology_load(path, catalog, &t, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:5: [a] unknown type 'nope' (atoll list shows the types)",
		 path);
	assert_string_equal(err, want);
	unlink(path);
}

/* --- good files ----------------------------------------------------------------- */

static struct atoll_topology *parse_ok(const char *text)
{
	return topology_parse_ok(catalog, text);
}

/* --set: an override replaces a key's value or adds the key; the last of
 * two wins; a bad one is named in the error. */
static void topology_overrides_replace_and_add_keys(void **state)
{
	const char *text = "[runtime]\nreactors = 4\n[a]\ntype = sink\n";
	const char *sets[] = { "runtime.reactors=2", "runtime.batch=8", "runtime.batch=16" };
	const char *bad[] = { "runtime.batch=lots" };
	const char *noform[] = { "a=1" };
	const char *nogroup[] = { "b.count=2" };
	struct atoll_config cfg = { 0 };
	struct atoll_topology *t = NULL;
	char err[512];

	(void)state;
	assert_int_equal(
		atoll_topology_parse_set(text, "t.ini", catalog, sets, 3, &t, err, sizeof(err)), 0);
	assert_int_equal(atoll_topology_config(t, &cfg), 0);
	assert_int_equal(cfg.reactors, 2);
	assert_int_equal(cfg.batch, 16);
	atoll_topology_free(t);
	assert_int_equal(
		atoll_topology_parse_set(text, "t.ini", catalog, bad, 1, &t, err, sizeof(err)),
		-EINVAL);
	assert_non_null(strstr(err, "t.ini: "));
	assert_non_null(strstr(err, "'lots'"));
	assert_int_equal(
		atoll_topology_parse_set(text, "t.ini", catalog, noform, 1, &t, err, sizeof(err)),
		-EINVAL);
	assert_string_equal(err,
			    "t.ini: --set 'a=1': expected GROUP.KEY=VALUE (or runtime.KEY=VALUE)");
	assert_int_equal(
		atoll_topology_parse_set(text, "t.ini", catalog, nogroup, 1, &t, err, sizeof(err)),
		-EINVAL);
	assert_string_equal(err, "t.ini: --set 'b.count=2': no group [b] in the file");
	assert_null(t);
}

static void topology_runtime_section_fills_the_config(void **state)
{
	struct atoll_topology *t = parse_ok("[runtime]\n"
					    "reactors = 4 ; inline comment\n"
					    "cpus = 0-1,3\n"
					    "duration = 1500ms\n"
					    "batch = 32\n"
					    "ring_capacity = 1024\n"
					    "no_pin = yes\n"
					    "log_level = info\n"
					    "[a]\ntype = sink\n");
	struct atoll_config cfg = { .sq_entries = 99, .idle_spin_us = 7 };

	(void)state;
	assert_int_equal(atoll_topology_config(t, &cfg), 0);
	assert_int_equal(cfg.reactors, 4);
	assert_int_equal(cfg.ncpus, 3);
	assert_int_equal(cfg.cpus[0], 0);
	assert_int_equal(cfg.cpus[1], 1);
	assert_int_equal(cfg.cpus[2], 3);
	assert_int_equal(cfg.batch, 32);
	assert_int_equal(cfg.ring_capacity, 1024);
	assert_true(cfg.no_pin);
	assert_int_equal(cfg.log_level, ATOLL_LOG_INFO);
	assert_int_equal(cfg.sq_entries, 99); /* not in the file: kept */
	assert_int_equal(cfg.idle_spin_us, 7);
	assert_int_equal(atoll_topology_duration(t), 1500 * NS_PER_MS);
	atoll_topology_free(t);
}

static void assert_cores(struct atoll_topology *t, const char *group, const unsigned *want,
			 unsigned n)
{
	const unsigned *cores;
	int got = atoll_topology_group(t, group, &cores, NULL);

	if (got != (int)n)
		fail_msg("[%s]: %d members, expected %u", group, got, n);
	for (unsigned i = 0; i < n; i++)
		if (cores[i] != want[i])
			fail_msg("[%s] member %u on core %u, expected %u", group, i, cores[i],
				 want[i]);
}

static const char *placement_text = "[gen]\ntype = sink\n"
				    "[work]\ntype = sink\nplacement = each\n"
				    "[pinned]\ntype = sink\ncount = 3\ncore = 0\n"
				    "[many]\ntype = sink\ncount = 5\n"
				    "[one]\ntype = one\nplacement = spread\n";

static void check_placement(unsigned n)
{
	struct atoll_topology *t = parse_ok(placement_text);
	unsigned want[16];
	char err[256];

	assert_int_equal(atoll_topology_place(t, n, err, sizeof(err)), 0);
	want[0] = 0; /* spread groups share a cursor, in file order */
	assert_cores(t, "gen", want, 1);
	for (unsigned i = 0; i < n; i++)
		want[i] = i;
	assert_cores(t, "work", want, n);
	want[0] = want[1] = want[2] = 0;
	assert_cores(t, "pinned", want, 3);
	for (unsigned i = 0; i < 5; i++)
		want[i] = (1 + i) % n;
	assert_cores(t, "many", want, 5);
	want[0] = 6 % n;
	assert_cores(t, "one", want, 1);
	assert_int_equal(atoll_topology_actors(t), 1 + n + 3 + 5 + 1);
	assert_int_equal(atoll_topology_group(t, "nope", NULL, NULL), -ENOENT);
	atoll_topology_free(t);
}

static void topology_places_on_1_reactor(void **state)
{
	(void)state;
	check_placement(1);
}

static void topology_places_on_2_reactors(void **state)
{
	(void)state;
	check_placement(2);
}

static void topology_places_on_4_reactors(void **state)
{
	(void)state;
	check_placement(4);
}

static void topology_places_on_8_reactors(void **state)
{
	(void)state;
	check_placement(8);
}

static void topology_cores_list_is_round_robin(void **state)
{
	struct atoll_topology *t = parse_ok("[a]\ntype = sink\ncount = 5\ncores = 1,3\n"
					    "[b]\ntype = sink\ncount = 4\ncores = 4-6\n");
	const unsigned a[] = { 1, 3, 1, 3, 1 }, b[] = { 4, 5, 6, 4 };
	char err[256];

	(void)state;
	assert_int_equal(atoll_topology_place(t, 8, err, sizeof(err)), 0);
	assert_cores(t, "a", a, 5);
	assert_cores(t, "b", b, 4);
	assert_int_equal(atoll_topology_place(t, 4, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t.ini:8: [b] core 4 is beyond the 4 reactors (0-3)");
	atoll_topology_free(t);
}

static void topology_print_shows_groups_links_and_cores(void **state)
{
	struct atoll_topology *t = parse_ok("[gen]\ntype = src\nto = out\nregister = g\n"
					    "[out]\ntype = sink\nplacement = each\n"
					    "mailbox_limit = 64\noverflow = drop_oldest\n");
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	char err[256];

	(void)state;
	assert_int_equal(atoll_topology_print(t, f), -EINVAL); /* not placed */
	assert_int_equal(atoll_topology_place(t, 2, err, sizeof(err)), 0);
	assert_int_equal(atoll_topology_print(t, f), 0);
	fclose(f);
	assert_string_equal(text, "topology t.ini: 2 groups, 3 actors on 2 reactors\n"
				  "[gen] src x1 (spread): core 0; registered as g\n"
				  "  to -> [out] x2 (pipeline)\n"
				  "[out] sink x2 (each): cores 0,1; mailbox 64, drop_oldest\n"
				  "core 0: gen.0 out.0\n"
				  "core 1: out.1\n");
	free(text);
	atoll_topology_free(t);
}

static void topology_dot_draws_cores_actors_and_links(void **state)
{
	struct atoll_topology *t = parse_ok("[a]\ntype = src\nto = b\ncore = 1\n"
					    "[b]\ntype = sink\ncount = 2\ncore = 0\n"
					    "[c]\ntype = src\ncount = 5\nto = d\n"
					    "[d]\ntype = sink\ncount = 4\n");
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	char err[256];

	(void)state;
	assert_int_equal(atoll_topology_place(t, 2, err, sizeof(err)), 0);
	assert_int_equal(atoll_topology_dot(t, f), 0);
	fclose(f);
	assert_non_null(strstr(text, "digraph topology {\n"));
	assert_non_null(strstr(text, "\tsubgraph cluster_core1 {\n\t\tlabel=\"core 1\";\n"
				     "\t\t\"a.0\" [label=\"a.0\\nsrc\"];\n"));
	assert_non_null(strstr(text, "\t\"a.0\" -> \"b.0\" [label=\"to\"];\n"
				     "\t\"a.0\" -> \"b.1\" [label=\"to\"];\n"));
	/* 5 x 4 = 20 edges > 16: one bold edge between the groups. */
	assert_non_null(
		strstr(text, "\t\"c.0\" -> \"d.0\" [style=bold, label=\"to (5 -> 4)\"];\n"));
	assert_null(strstr(text, "\"c.1\" -> "));
	assert_int_equal(text[len - 2], '}');
	free(text);
	atoll_topology_free(t);
}

/* --- a real start ------------------------------------------------------------- */

static const char *start_text = "[runtime]\nreactors = 4\n"
				"[src]\ntype = src\ncount = 2\ncores = 0,3\nto = mid\n"
				"[mid]\ntype = src\nplacement = each\nto = snk\n"
				"[snk]\ntype = sink\ncore = 2\nregister = sink\n"
				"[ringa]\ntype = node\ncount = 3\npeer = ringb\nregister = ra\n"
				"[ringb]\ntype = node\npeer = ringa\n";

static const char *link_of(const char *group)
{
	if (strcmp(group, "src") == 0)
		return "mid";
	if (strcmp(group, "mid") == 0)
		return "snk";
	if (strcmp(group, "ringa") == 0)
		return "ringb";
	if (strcmp(group, "ringb") == 0)
		return "ringa";
	return NULL;
}

static void start_and_check_refs(unsigned n)
{
	struct atoll_topology *t = parse_ok(start_text);
	char err[512];
	size_t total;

	atomic_store(&record.n, 0);
	assert_int_equal(atoll_topology_place(t, n, err, sizeof(err)), 0);
	total = atoll_topology_actors(t);
	assert_int_equal(total, 2 + n + 1 + 3 + 1);
	atoll_runtime *rt = start_reactors(n);
	assert_int_equal(atoll_topology_start(t, rt, err, sizeof(err)), 0);
	assert_wait_u64(&record.n, total, WAIT_LIMIT_NS);
	assert_int_equal(atoll_topology_start(t, rt, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t.ini: cannot start: already started");

	pthread_mutex_lock(&record.lock);
	for (size_t i = 0; i < total; i++) {
		const struct seen *s = &record.seen[i];
		const unsigned *cores;
		const atoll_ref *refs, *lrefs;
		int members = atoll_topology_group(t, s->group, &cores, &refs);
		const char *link = link_of(s->group);

		assert_true(members > 0);
		assert_int_equal(s->nmembers, members);
		assert_int_equal(s->self, refs[s->index]);
		assert_int_equal(s->core, cores[s->index]);
		for (int m = 0; m < members; m++)
			assert_int_equal(s->members[m], refs[m]);
		if (link == NULL) {
			assert_int_equal(s->nlinks, 0);
			continue;
		}
		int nl = atoll_topology_group(t, link, NULL, &lrefs);
		assert_int_equal(s->nlinks, nl);
		for (int m = 0; m < nl; m++)
			assert_int_equal(s->links[m], lrefs[m]);
	}
	pthread_mutex_unlock(&record.lock);

	const atoll_ref *refs;
	atoll_ref found;
	assert_int_equal(atoll_topology_group(t, "snk", NULL, &refs), 1);
	assert_int_equal(atoll_lookup(rt, "sink", &found), 0);
	assert_int_equal(found, refs[0]);
	assert_int_equal(atoll_topology_group(t, "ringa", NULL, &refs), 3);
	assert_int_equal(atoll_lookup(rt, "ra.2", &found), 0);
	assert_int_equal(found, refs[2]);
	assert_stat_eventually(rt, ALL_REACTORS, init_failures, 0);
	destroy_runtime(rt);
	atoll_topology_free(t);
}

static void topology_start_on_4_reactors_gives_every_init_its_refs(void **state)
{
	(void)state;
	start_and_check_refs(4);
}

static void topology_start_on_8_reactors_gives_every_init_its_refs(void **state)
{
	(void)state;
	start_and_check_refs(8);
}

/* A name already taken fails the start, and nothing of the topology runs. */
static void topology_start_failure_launches_nothing(void **state)
{
	struct atoll_topology *t = parse_ok("[a]\ntype = sink\ncount = 3\n"
					    "[b]\ntype = sink\nregister = taken\n");
	atoll_runtime *rt = start_reactors(2);
	char err[512];

	(void)state;
	atomic_store(&record.n, 0);
	assert_int_equal(atoll_register(rt, "taken", 12345), 0);
	assert_int_equal(atoll_topology_place(t, 4, err, sizeof(err)), 0);
	assert_int_equal(atoll_topology_start(t, rt, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t.ini: cannot start: placed for another number of reactors");
	assert_int_equal(atoll_topology_place(t, 2, err, sizeof(err)), 0);
	assert_int_equal(atoll_topology_start(t, rt, err, sizeof(err)), -EEXIST);
	assert_string_equal(err,
			    "t.ini:6: [b] register: cannot register 'taken': the name is taken");
	/* The discarded actors' slots are freed on their reactors. */
	assert_stat_eventually(rt, ALL_REACTORS, actors_alive, 0);
	assert_stat_eventually(rt, ALL_REACTORS, spawned, 0);
	assert_int_equal(atomic_load(&record.n), 0);
	destroy_runtime(rt);
	atoll_topology_free(t);
}

/* mailbox_limit and overflow bound a group's mailboxes: 10 messages sent in
 * one receive to a member on the same core with room for 3. */
static void bounded_mailbox(const char *overflow, uint64_t dropped, uint64_t rejected)
{
	char text[256];
	char err[512];

	snprintf(text, sizeof(text),
		 "[b]\ntype = burst\ncore = 1\nto = s\n"
		 "[s]\ntype = sink\ncore = 1\nmailbox_limit = 3\noverflow = %s\n",
		 overflow);
	struct atoll_topology *t = parse_ok(text);
	const atoll_ref *b;

	atomic_store(&record.n, 0);
	atomic_store(&burst_refused, 0);
	assert_int_equal(atoll_topology_place(t, 2, err, sizeof(err)), 0);
	atoll_runtime *rt = start_reactors(2);
	assert_int_equal(atoll_topology_start(t, rt, err, sizeof(err)), 0);
	assert_wait_u64(&record.n, 2, WAIT_LIMIT_NS);
	assert_int_equal(atoll_topology_group(t, "b", NULL, &b), 1);
	send_from_outside(rt, b[0], MSG_BURST, NULL, 0);
	assert_stat_eventually(rt, 1, received, 1 + 10 - dropped - rejected);
	assert_int_equal(STATS_SUM(rt, mailbox_dropped), dropped);
	assert_int_equal(STATS_SUM(rt, mailbox_rejected), rejected);
	assert_int_equal(atomic_load(&burst_refused), rejected);
	destroy_runtime(rt);
	atoll_topology_free(t);
}

static void topology_bounds_a_groups_mailboxes(void **state)
{
	(void)state;
	bounded_mailbox("drop_newest", 7, 0);
	bounded_mailbox("drop_oldest", 7, 0);
	bounded_mailbox("reject", 0, 7);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, reset, destroy_leftovers)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(topology_reports_each_error_with_file_line_and_message),
		cmocka_unit_test(topology_errors_in_placement_name_the_line),
		cmocka_unit_test(topology_load_names_a_missing_file),
		cmocka_unit_test(topology_load_reads_a_file_and_names_it_in_errors),
		cmocka_unit_test(topology_runtime_section_fills_the_config),
		cmocka_unit_test(topology_overrides_replace_and_add_keys),
		cmocka_unit_test(topology_places_on_1_reactor),
		cmocka_unit_test(topology_places_on_2_reactors),
		cmocka_unit_test(topology_places_on_4_reactors),
		cmocka_unit_test(topology_places_on_8_reactors),
		cmocka_unit_test(topology_cores_list_is_round_robin),
		cmocka_unit_test(topology_print_shows_groups_links_and_cores),
		cmocka_unit_test(topology_dot_draws_cores_actors_and_links),
		TEST(topology_start_on_4_reactors_gives_every_init_its_refs),
		TEST(topology_start_on_8_reactors_gives_every_init_its_refs),
		TEST(topology_start_failure_launches_nothing),
		TEST(topology_bounds_a_groups_mailboxes),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, setup, teardown);
}
