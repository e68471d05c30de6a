/*
 * test_fanout.c - the scatter/gather coordinator and its workers
 * (actors/fanout.c): with 1, 4 and 8 reactors and a worker per reactor, the
 * gathered sum matches the closed form, every worker's core answered, and
 * the coordinator stops the runtime; the check hook refuses more tasks than
 * numbers; the sum wraps mod 2^64 the same way on both sides.
 */
#include "../helpers.h"

#include <string.h>

#include "fanout.h"
#include "stdout_capture.h"

static void run(unsigned reactors, const char *numbers, const char *tasks, const char *expect)
{
	atoll_runtime *rt = start_reactors(reactors);
	struct atoll_params *cp = atoll_params_new(&fanout_info);
	struct atoll_params **wp = calloc(reactors, sizeof(*wp));
	atoll_ref *workers = calloc(reactors, sizeof(*workers));
	struct stdout_capture cap;
	char err[256];
	char *out;

	assert_non_null(cp);
	for (unsigned i = 0; i < reactors; i++) {
		wp[i] = atoll_params_new(&fanout_worker_info);
		assert_int_equal(atoll_params_finish(wp[i], err, sizeof(err)), 0);
		workers[i] = spawn_on(rt, &fanout_worker_type, wp[i], (int)i);
	}
	assert_int_equal(atoll_params_set(cp, "workers", "workers", err, sizeof(err)), 0);
	assert_int_equal(atoll_params_set_link(cp, "workers", workers, reactors), 0);
	assert_int_equal(atoll_params_set(cp, "numbers", numbers, err, sizeof(err)), 0);
	assert_int_equal(atoll_params_set(cp, "tasks", tasks, err, sizeof(err)), 0);
	assert_int_equal(atoll_params_set(cp, "rounds", "3", err, sizeof(err)), 0);
	assert_int_equal(atoll_params_finish(cp, err, sizeof(err)), 0);
	capture_start(&cap);
	spawn_on(rt, &fanout_type, cp, 0);
	assert_int_equal(wait_runtime(rt), 0); /* the coordinator stops it */
	out = capture_end(&cap);
	assert_non_null(strstr(out, expect));
	free(out);
	destroy_runtime(rt);
	for (unsigned i = 0; i < reactors; i++)
		atoll_params_free(wp[i]);
	free(wp);
	free(workers);
	atoll_params_free(cp);
}

static void test_one_reactor(void **st)
{
	(void)st;
	run(1, "1000", "10",
	    "fanout: 10 tasks over 1 workers on 1 cores, 1000 numbers, "
	    "sum ok (333833500)");
}

static void test_four_reactors(void **st)
{
	(void)st;
	run(4, "1000000", "1000",
	    "fanout: 1000 tasks over 4 workers on 4 cores, 1000000 numbers, sum ok "
	    "(333333833333500000)");
}

static void test_eight_reactors_wraps(void **st)
{
	(void)st;
	/* 10^7: the sum of squares exceeds 2^64 and wraps on both sides. */
	run(8, "10000000", "997", "997 tasks over 8 workers on 8 cores, 10000000 numbers, sum ok");
}

static void test_check_hook(void **st)
{
	struct atoll_params *p = atoll_params_new(&fanout_info);
	atoll_ref w = 1;
	char err[256];

	(void)st;
	assert_int_equal(atoll_params_set(p, "workers", "w", err, sizeof(err)), 0);
	assert_int_equal(atoll_params_set_link(p, "workers", &w, 1), 0);
	assert_int_equal(atoll_params_set(p, "numbers", "10", err, sizeof(err)), 0);
	assert_int_equal(atoll_params_set(p, "tasks", "11", err, sizeof(err)), 0);
	assert_int_equal(atoll_params_finish(p, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "tasks (11) must not exceed numbers (10)");
	atoll_params_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_hook),
		cmocka_unit_test_teardown(test_one_reactor, destroy_leftovers),
		cmocka_unit_test_teardown(test_four_reactors, destroy_leftovers),
		cmocka_unit_test_teardown(test_eight_reactors_wraps, destroy_leftovers),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
