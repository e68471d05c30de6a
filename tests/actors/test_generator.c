/*
 * test_generator.c - the generator actor (actors/generator.c): every record
 * "seq=i value=V" reaches its member (round-robin) in order, then one END
 * per member carrying what that member got; a full cross-core ring makes it
 * pause (counted) and nothing is lost; `rate` spaces records out (checked
 * as a lower bound only); records = 0 sends only the ENDs. 1 and 4 reactors.
 */
#include "../helpers.h"

#include <inttypes.h>

#include "generator.h"
#include "lib_harness.h"

static void check_record(const char *got, uint64_t seq)
{
	char want[64];

	snprintf(want, sizeof(want), "seq=%" PRIu64 " value=%" PRIu64, seq,
		 atoll_generator_value(seq));
	if (got == NULL || strcmp(got, want) != 0)
		fail_msg("record %" PRIu64 ": got '%s', want '%s'", seq, got ? got : "(null)",
			 want);
}

static void records_round_robin_then_end(unsigned reactors)
{
	atoll_runtime *rt = start_reactors(reactors);
	struct collected c[2];
	atoll_ref to[2], gen;
	struct atoll_params *p;
	const uint64_t n = 10001;
	struct atoll_lib_stats s;

	for (int i = 0; i < 2; i++) {
		collected_init(&c[i]);
		to[i] = spawn_on(rt, &collector_type, &c[i], i == 0 ? 0 : (int)reactors - 1);
	}
	p = make_params(&atoll_generator_info, "to", to, 2, "records=10001", "burst=100", NULL);
	gen = spawn_on(rt, &atoll_generator_type, p, reactors > 2 ? 2 : 0);

	assert_wait_u64(&c[0].ends, 1, WAIT_LIMIT_NS);
	assert_wait_u64(&c[1].ends, 1, WAIT_LIMIT_NS);
	s = ask_stats(rt, gen);
	assert_int_equal(s.out, n);
	assert_int_equal(s.dropped, 0);
	destroy_runtime(rt);
	assert_no_check_failures();
	assert_int_equal(atomic_load(&c[0].data), n / 2 + 1);
	assert_int_equal(atomic_load(&c[1].data), n / 2);
	assert_int_equal(atomic_load(&c[0].end_records), n / 2 + 1);
	assert_int_equal(atomic_load(&c[1].end_records), n / 2);
	for (uint64_t i = 0; i < n; i++)
		check_record(c[i % 2].records[i / 2], i);
	atoll_params_free(p);
	collected_free(&c[0]);
	collected_free(&c[1]);
}

static void records_round_robin_then_end_1(void **st)
{
	(void)st;
	records_round_robin_then_end(1);
}

static void records_round_robin_then_end_4(void **st)
{
	(void)st;
	records_round_robin_then_end(4);
}

/*
 * A ring of 16 slots and bursts of 1024: the first burst fills the ring, so
 * the generator must pause at least once; every record still arrives, in
 * order.
 */
static void full_ring_pauses_and_loses_nothing(void **st)
{
	struct atoll_config cfg = { .reactors = 4, .no_signals = true, .ring_capacity = 16 };
	atoll_runtime *rt = start_runtime(&cfg);
	struct collected c;
	atoll_ref to, gen;
	struct atoll_params *p;
	struct atoll_lib_stats s;
	const uint64_t n = 50000;

	(void)st;
	collected_init(&c);
	to = spawn_on(rt, &collector_type, &c, 2);
	p = make_params(&atoll_generator_info, "to", &to, 1, "records=50000", "burst=1024",
			"pause=50us", NULL);
	gen = spawn_on(rt, &atoll_generator_type, p, 0);
	assert_wait_u64(&c.ends, 1, 3 * WAIT_LIMIT_NS);
	s = ask_stats(rt, gen);
	assert_int_equal(s.out, n);
	assert_true(s.in > 0); /* paused */
	assert_true(read_stats(rt, 0).ring_full > 0);
	destroy_runtime(rt);
	assert_no_check_failures();
	assert_int_equal(atomic_load(&c.data), n);
	assert_int_equal(atomic_load(&c.end_records), n);
	for (uint64_t i = 0; i < n; i++)
		check_record(c.records[i], i);
	atoll_params_free(p);
	collected_free(&c);
}

static void rate_spaces_records(void **st)
{
	atoll_runtime *rt = start_reactors(2);
	struct collected c;
	atoll_ref to;
	struct atoll_params *p;
	uint64_t start = atoll_now_ns();

	(void)st;
	collected_init(&c);
	to = spawn_on(rt, &collector_type, &c, 1);
	/* 1000/s: record i is not sent before i ms after the start. */
	p = make_params(&atoll_generator_info, "to", &to, 1, "records=41", "rate=1000", NULL);
	spawn_on(rt, &atoll_generator_type, p, 0);
	assert_wait_u64(&c.ends, 1, WAIT_LIMIT_NS);
	destroy_runtime(rt);
	assert_int_equal(atomic_load(&c.data), 41);
	assert_true(c.stamps[40] - start >= 40 * NS_PER_MS);
	atoll_params_free(p);
	collected_free(&c);
}

static void zero_records_sends_only_end(void **st)
{
	atoll_runtime *rt = start_reactors(1);
	struct collected c;
	atoll_ref to;
	struct atoll_params *p;

	(void)st;
	collected_init(&c);
	to = spawn_on(rt, &collector_type, &c, 0);
	p = make_params(&atoll_generator_info, "to", &to, 1, "records=0", NULL);
	spawn_on(rt, &atoll_generator_type, p, 0);
	assert_wait_u64(&c.ends, 1, WAIT_LIMIT_NS);
	destroy_runtime(rt);
	assert_int_equal(atomic_load(&c.data), 0);
	assert_int_equal(atomic_load(&c.end_records), 0);
	atoll_params_free(p);
	collected_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(records_round_robin_then_end_1, reset,
						destroy_leftovers),
		cmocka_unit_test_setup_teardown(records_round_robin_then_end_4, reset,
						destroy_leftovers),
		cmocka_unit_test_setup_teardown(full_ring_pauses_and_loses_nothing, reset,
						destroy_leftovers),
		cmocka_unit_test_setup_teardown(rate_spaces_records, reset, destroy_leftovers),
		cmocka_unit_test_setup_teardown(zero_records_sends_only_end, reset,
						destroy_leftovers),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
