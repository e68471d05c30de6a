/*
 * test_ticker.c - the ticker actor (actors/ticker.c): `count` numbered
 * ticks to every member of its link, in order, none before its period,
 * then it stops itself; count 0 ticks until the runtime stops; a message
 * type below ATOLL_MSG_USER is refused before anything starts; the
 * built-in catalog lists it. With 1 and 4 reactors (members across cores).
 */
#include "../helpers.h"

#include "lib_harness.h"
#include "ticker.h"

#define PERIOD_NS (2 * NS_PER_MS)

static void ticks_count_times(unsigned reactors)
{
	atoll_runtime *rt = start_reactors(reactors);
	struct collected a, b;
	atoll_ref to[2];
	struct atoll_params *p;
	char every[32], type[32];
	uint64_t start;

	collected_init(&a);
	collected_init(&b);
	to[0] = spawn_on(rt, &collector_type, &a, 0);
	to[1] = spawn_on(rt, &collector_type, &b, (int)reactors - 1);
	snprintf(every, sizeof(every), "every=%lluns", (unsigned long long)PERIOD_NS);
	/* DATA ticks, so the collector keeps their payloads. */
	snprintf(type, sizeof(type), "msg=%u", ATOLL_LIB_DATA);
	p = make_params(&atoll_ticker_info, "to", to, 2, every, "count=5", type, NULL);
	start = atoll_now_ns();
	spawn_on(rt, &atoll_ticker_type, p, reactors > 1 ? 1 : 0);
	assert_wait_u64(&a.data, 5, WAIT_LIMIT_NS);
	assert_wait_u64(&b.data, 5, WAIT_LIMIT_NS);
	/* It stopped itself after the 5th: only the collectors are left. */
	assert_stat_eventually(rt, ALL_REACTORS, actors_alive, 2);
	destroy_runtime(rt);
	assert_no_check_failures();
	assert_int_equal(atomic_load(&a.data), 5);
	assert_int_equal(atomic_load(&b.data), 5);
	for (uint64_t i = 0; i < 5; i++) {
		uint64_t seq;

		memcpy(&seq, a.records[i], sizeof(seq));
		assert_int_equal(seq, i + 1);
		memcpy(&seq, b.records[i], sizeof(seq));
		assert_int_equal(seq, i + 1);
		/* Tick i+1 is sent one period after tick i, never sooner. */
		assert_true(a.stamps[i] - start >= (i + 1) * PERIOD_NS);
	}
	atoll_params_free(p);
	collected_free(&a);
	collected_free(&b);
}

static void ticks_count_times_1(void **st)
{
	(void)st;
	ticks_count_times(1);
}

static void ticks_count_times_4(void **st)
{
	(void)st;
	ticks_count_times(4);
}

static void count_zero_ticks_until_stopped(void **st)
{
	atoll_runtime *rt = start_reactors(2);
	struct collected a;
	atoll_ref to;
	struct atoll_params *p;

	(void)st;
	collected_init(&a);
	to = spawn_on(rt, &collector_type, &a, 1);
	p = make_params(&atoll_ticker_info, "to", &to, 1, "every=1ms", NULL);
	spawn_on(rt, &atoll_ticker_type, p, 0);
	assert_wait_u64(&a.other, 20, WAIT_LIMIT_NS);
	assert_int_equal(atomic_load(&a.last_type), ATOLL_TICKER_TICK);
	destroy_runtime(rt);
	assert_no_check_failures();
	atoll_params_free(p);
	collected_free(&a);
}

static void runtime_message_type_is_refused(void **st)
{
	struct atoll_params *p = atoll_params_new(&atoll_ticker_info);
	atoll_ref to = 1;
	char err[256] = "";

	(void)st;
	assert_int_equal(atoll_params_set(p, "msg", "3", err, sizeof(err)), 0);
	assert_int_equal(atoll_params_set_link(p, "to", &to, 1), 0);
	assert_int_equal(atoll_params_finish(p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "parameter 'msg'"));
	atoll_params_free(p);
}

/* The whole library is in the built-in catalog, under its topology names. */
static void builtin_catalog_lists_the_library(void **st)
{
	static const char *const names[] = {
		"ticker", "generator", "parser",  "aggregator", "file-sink",
		"router", "topic",     "counter", "logger",
	};
	struct atoll_catalog *c = atoll_catalog_new();

	(void)st;
	assert_int_equal(atoll_catalog_add_builtin(c), 0);
	assert_ptr_equal(atoll_catalog_find(c, "ticker"), &atoll_ticker_info);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (atoll_catalog_find(c, names[i]) == NULL)
			fail_msg("'%s' is not in the built-in catalog", names[i]);
	atoll_catalog_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(ticks_count_times_1, reset, destroy_leftovers),
		cmocka_unit_test_setup_teardown(ticks_count_times_4, reset, destroy_leftovers),
		cmocka_unit_test_setup_teardown(count_zero_ticks_until_stopped, reset,
						destroy_leftovers),
		cmocka_unit_test(runtime_message_type_is_refused),
		cmocka_unit_test(builtin_catalog_lists_the_library),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
