/*
 * test_parser.c - the parser stage (actors/parser.c): normalizing good
 * records and refusing malformed ones (atoll_parser_normalize), and the
 * actor: "seq=N value=V" in, "N,V" out in order, malformed ones dropped and
 * counted, a record with an attached buffer left intact (copied out, then
 * released once), END passed on with the count sent. 1 and 4 reactors.
 */
#include "../helpers.h"

#include "lib_harness.h"
#include "parser.h"

static void normalize_good_and_bad(void **st)
{
	static const char *const bad[] = {
		"",
		"seq=",
		"seq=1",
		"seq=1 value=",
		"seq=1 value=x",
		"seq=a value=1",
		"seq=1  value=2",
		"seq=1 value=2 ",
		" seq=1 value=2",
		"seq=1,value=2",
		"seq=12345678901234567890 value=1",
		"SEQ=1 value=2",
	};
	char out[64];
	const char *in = "seq=42 value=123456";
	char buf[32];

	(void)st;
	assert_int_equal(atoll_parser_normalize(in, strlen(in), out), 9);
	assert_memory_equal(out, "42,123456", 9);
	/* In place, as the actor does it. */
	strcpy(buf, "seq=7 value=0");
	assert_int_equal(atoll_parser_normalize(buf, strlen(buf), buf), 3);
	assert_memory_equal(buf, "7,0", 3);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (atoll_parser_normalize(bad[i], strlen(bad[i]), out) != -EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
}

static _Atomic uint64_t released;

static void release_free(atoll_msg *msg)
{
	free(msg->data);
	atomic_fetch_add(&released, 1);
}

static void stage(unsigned reactors)
{
	atoll_runtime *rt = start_reactors(reactors);
	struct collected c;
	atoll_ref to, parser;
	struct atoll_params *p;
	struct atoll_lib_stats s;
	char line[64];
	atoll_msg *m;
	char *buf;

	collected_init(&c);
	atomic_store(&released, 0);
	to = spawn_on(rt, &collector_type, &c, (int)reactors - 1);
	p = make_params(&atoll_parser_info, "to", &to, 1, NULL);
	parser = spawn_on(rt, &atoll_parser_type, p, 0);
	for (int i = 0; i < 1000; i++) {
		snprintf(line, sizeof(line), i % 10 == 3 ? "bad %d" : "seq=%d value=%d", i, i * 7);
		send_from_outside(rt, parser, ATOLL_LIB_DATA, line, strlen(line));
	}
	/* An attached buffer: the parser must not write into it. */
	buf = strdup("seq=1000 value=1");
	m = atoll_msg_new(ATOLL_LIB_DATA, 0);
	assert_non_null(m);
	atoll_msg_attach(m, buf, (uint32_t)strlen(buf), (uint32_t)strlen(buf) + 1, release_free);
	assert_true(atoll_runtime_send(rt, parser, m) >= 0);
	send_from_outside(rt, parser, ATOLL_LIB_END, NULL, 0);
	assert_wait_u64(&c.ends, 1, WAIT_LIMIT_NS);
	s = ask_stats(rt, parser);
	assert_int_equal(s.in, 1001);
	assert_int_equal(s.out, 901);
	assert_int_equal(s.dropped, 100);
	assert_int_equal(atomic_load(&released), 1);
	destroy_runtime(rt);
	assert_no_check_failures();
	assert_int_equal(atomic_load(&c.data), 901);
	assert_int_equal(atomic_load(&c.end_records), 901);
	for (int i = 0, k = 0; i < 1000; i++) {
		if (i % 10 == 3)
			continue;
		snprintf(line, sizeof(line), "%d,%d", i, i * 7);
		assert_string_equal(c.records[k++], line);
	}
	assert_string_equal(c.records[900], "1000,1");
	atoll_params_free(p);
	collected_free(&c);
}

static void stage_1(void **st)
{
	(void)st;
	stage(1);
}

static void stage_4(void **st)
{
	(void)st;
	stage(4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(normalize_good_and_bad),
		cmocka_unit_test_setup_teardown(stage_1, reset, destroy_leftovers),
		cmocka_unit_test_setup_teardown(stage_4, reset, destroy_leftovers),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
