/*
 * test_aggregator.c - the batching stage (actors/aggregator.c): full
 * batches of `batch` records joined with '\n', the rest flushed by END and
 * END passed on with the record count; a batch that does not fill goes out
 * after `linger` (no END needed); batches alternate over the members of
 * `to`. 1 and 4 reactors.
 */
#include "../helpers.h"

#include "aggregator.h"
#include "lib_harness.h"

static void send_records(atoll_runtime *rt, atoll_ref to, int from, int n)
{
	char line[32];

	for (int i = from; i < from + n; i++) {
		snprintf(line, sizeof(line), "r%d", i);
		send_from_outside(rt, to, ATOLL_LIB_DATA, line, strlen(line));
	}
}

static void batches_then_end(unsigned reactors)
{
	atoll_runtime *rt = start_reactors(reactors);
	struct collected c[2];
	atoll_ref to[2], agg;
	struct atoll_params *p;
	struct atoll_lib_stats s;

	for (int i = 0; i < 2; i++) {
		collected_init(&c[i]);
		to[i] = spawn_on(rt, &collector_type, &c[i], i == 0 ? 0 : (int)reactors - 1);
	}
	p = make_params(&atoll_aggregator_info, "to", to, 2, "batch=4", "linger=0", NULL);
	agg = spawn_on(rt, &atoll_aggregator_type, p, reactors > 1 ? 1 : 0);
	send_records(rt, agg, 0, 10);
	send_from_outside(rt, agg, ATOLL_LIB_END, NULL, 0);
	assert_wait_u64(&c[0].ends, 1, WAIT_LIMIT_NS);
	assert_wait_u64(&c[1].ends, 1, WAIT_LIMIT_NS);
	s = ask_stats(rt, agg);
	assert_int_equal(s.in, 10);
	assert_int_equal(s.out, 3);
	destroy_runtime(rt);
	assert_no_check_failures();
	assert_int_equal(atomic_load(&c[0].data), 2);
	assert_int_equal(atomic_load(&c[1].data), 1);
	assert_string_equal(c[0].records[0], "r0\nr1\nr2\nr3");
	assert_string_equal(c[1].records[0], "r4\nr5\nr6\nr7");
	assert_string_equal(c[0].records[1], "r8\nr9");
	assert_int_equal(atomic_load(&c[0].end_records), 6);
	assert_int_equal(atomic_load(&c[1].end_records), 4);
	atoll_params_free(p);
	collected_free(&c[0]);
	collected_free(&c[1]);
}

static void batches_then_end_1(void **st)
{
	(void)st;
	batches_then_end(1);
}

static void batches_then_end_4(void **st)
{
	(void)st;
	batches_then_end(4);
}

static void linger_flushes_a_partial_batch(void **st)
{
	atoll_runtime *rt = start_reactors(2);
	struct collected c;
	atoll_ref to, agg;
	struct atoll_params *p;
	uint64_t start = atoll_now_ns();

	(void)st;
	collected_init(&c);
	to = spawn_on(rt, &collector_type, &c, 1);
	p = make_params(&atoll_aggregator_info, "to", &to, 1, "batch=100", "linger=5ms", NULL);
	agg = spawn_on(rt, &atoll_aggregator_type, p, 0);
	send_records(rt, agg, 0, 3);
	assert_wait_u64(&c.data, 1, WAIT_LIMIT_NS);
	assert_string_equal(c.records[0], "r0\nr1\nr2");
	assert_true(c.stamps[0] - start >= 5 * NS_PER_MS);
	/* A second partial batch lingers on its own timer. */
	send_records(rt, agg, 3, 2);
	assert_wait_u64(&c.data, 2, WAIT_LIMIT_NS);
	assert_string_equal(c.records[1], "r3\nr4");
	destroy_runtime(rt);
	assert_no_check_failures();
	assert_int_equal(atomic_load(&c.ends), 0);
	atoll_params_free(p);
	collected_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(batches_then_end_1, reset, destroy_leftovers),
		cmocka_unit_test_setup_teardown(batches_then_end_4, reset, destroy_leftovers),
		cmocka_unit_test_setup_teardown(linger_flushes_a_partial_batch, reset,
						destroy_leftovers),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
