/*
 * test_pingpong.c - the pingpong type (actors/pingpong.c): a pinger and an
 * answerer on the same core and on two cores make exactly `rounds` round
 * trips (the answerer counts the PINGs it turned around) and the pinger
 * reports and stops the runtime; an answerer alone does nothing.
 */
#include "../helpers.h"

#include <string.h>

#include "pingpong.h"
#include "stdout_capture.h"

static void run(unsigned reactors, int pong_core, const char *expect)
{
	atoll_runtime *rt = start_reactors(reactors);
	struct atoll_params *ping = atoll_params_new(&pingpong_info);
	struct atoll_params *pong = atoll_params_new(&pingpong_info);
	struct stdout_capture cap;
	atoll_ref pong_ref;
	char err[256];
	char *out;

	assert_int_equal(atoll_params_finish(pong, err, sizeof(err)), 0);
	pong_ref = spawn_on(rt, &pingpong_type, pong, pong_core);
	assert_int_equal(atoll_params_set(ping, "peer", "pong", err, sizeof(err)), 0);
	assert_int_equal(atoll_params_set_link(ping, "peer", &pong_ref, 1), 0);
	assert_int_equal(atoll_params_set(ping, "rounds", "20000", err, sizeof(err)), 0);
	assert_int_equal(atoll_params_finish(ping, err, sizeof(err)), 0);
	capture_start(&cap);
	spawn_on(rt, &pingpong_type, ping, 0);
	assert_int_equal(wait_runtime(rt), 0);
	out = capture_end(&cap);
	assert_non_null(strstr(out, expect));
	assert_non_null(strstr(out, "pingpong: 1 pairs done\n"));
	/* Every PING was answered: 20000 received by each side, plus the
	 * pinger's DONE to itself (it leads its group of one). */
	assert_int_equal(stats_sum(rt, offsetof(struct atoll_stats, received)), 40001);
	free(out);
	destroy_runtime(rt);
	atoll_params_free(ping);
	atoll_params_free(pong);
}

static void test_same_core(void **st)
{
	(void)st;
	run(1, 0, "pingpong: .0 (core 0) <-> pong.0 (core 0): 20000 round trips, ");
}

static void test_across_cores(void **st)
{
	(void)st;
	run(4, 3, "pingpong: .0 (core 0) <-> pong.0 (core 3): 20000 round trips, ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_same_core, destroy_leftovers),
		cmocka_unit_test_teardown(test_across_cores, destroy_leftovers),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
