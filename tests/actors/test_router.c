/*
 * test_router.c - the router actor (actors/router.c): round-robin in turn,
 * the same message (its attached buffer, not a copy) reaching the member;
 * hash mode sending equal keys (the bytes before `sep`) to one member and
 * spreading distinct ones; near mode picking the member on the router's
 * core; END answered by an END to every member; STATS answered by the
 * router. 1 and 4 reactors.
 */
#include "../helpers.h"

#include "lib_harness.h"
#include "router.h"

#define MEMBERS 4

struct setup {
	atoll_runtime *rt;
	struct collected c[MEMBERS];
	atoll_ref to[MEMBERS];
	atoll_ref router;
	struct atoll_params *p;
};

static void setup_router(struct setup *s, unsigned reactors, const char *mode, int router_core)
{
	char kv[64];

	s->rt = start_reactors(reactors);
	for (int i = 0; i < MEMBERS; i++) {
		collected_init(&s->c[i]);
		s->to[i] = spawn_on(s->rt, &collector_type, &s->c[i], i % (int)reactors);
	}
	snprintf(kv, sizeof(kv), "mode=%s", mode);
	s->p = make_params(&atoll_router_info, "to", s->to, MEMBERS, kv, "sep=,", NULL);
	s->router = spawn_on(s->rt, &atoll_router_type, s->p, router_core);
}

static void end_and_teardown(struct setup *s, uint64_t total)
{
	struct atoll_lib_stats st;
	uint64_t sum = 0;

	send_from_outside(s->rt, s->router, ATOLL_LIB_END, NULL, 0);
	for (int i = 0; i < MEMBERS; i++)
		assert_wait_u64(&s->c[i].ends, 1, WAIT_LIMIT_NS);
	st = ask_stats(s->rt, s->router);
	assert_int_equal(st.in, total);
	assert_int_equal(st.out, total);
	destroy_runtime(s->rt);
	assert_no_check_failures();
	for (int i = 0; i < MEMBERS; i++) {
		assert_int_equal(atomic_load(&s->c[i].end_records), atomic_load(&s->c[i].data));
		sum += atomic_load(&s->c[i].data);
	}
	assert_int_equal(sum, total);
}

static void free_setup(struct setup *s)
{
	atoll_params_free(s->p);
	for (int i = 0; i < MEMBERS; i++)
		collected_free(&s->c[i]);
}

static void round_robin_moves_the_message(unsigned reactors)
{
	struct setup s;
	static _Atomic uint64_t released;
	atoll_msg *m;
	char line[32];

	atomic_store(&released, 0);
	setup_router(&s, reactors, "round-robin", 0);
	/* The first message has an attached buffer: member 0 must get that
	 * very buffer, and it is released once. */
	m = counted_msg(ATOLL_LIB_DATA, "m0", &released);
	const void *buf = m->data;
	assert_true(atoll_runtime_send(s.rt, s.router, m) >= 0);
	for (int i = 1; i < 100; i++) {
		snprintf(line, sizeof(line), "m%d", i);
		send_from_outside(s.rt, s.router, ATOLL_LIB_DATA, line, strlen(line));
	}
	end_and_teardown(&s, 100);
	assert_int_equal(atomic_load(&s.c[0].first_data_ptr), (uint64_t)(uintptr_t)buf);
	assert_int_equal(atomic_load(&released), 1);
	for (int i = 0; i < 100; i++) {
		snprintf(line, sizeof(line), "m%d", i);
		assert_string_equal(s.c[i % MEMBERS].records[i / MEMBERS], line);
	}
	free_setup(&s);
}

static void round_robin_1(void **st)
{
	(void)st;
	round_robin_moves_the_message(1);
}

static void round_robin_4(void **st)
{
	(void)st;
	round_robin_moves_the_message(4);
}

static void hash_keeps_keys_together(void **st)
{
	struct setup s;
	char line[32];
	int used = 0;

	(void)st;
	setup_router(&s, 4, "hash", 1);
	for (int i = 0; i < 400; i++) {
		snprintf(line, sizeof(line), "key%d,%d", i % 40, i);
		send_from_outside(s.rt, s.router, ATOLL_LIB_DATA, line, strlen(line));
	}
	end_and_teardown(&s, 400);
	/* Every key lands on exactly one member, each member's share being
	 * whole keys (10 records each). */
	for (int k = 0; k < 40; k++) {
		char prefix[16];
		int holders = 0;

		snprintf(prefix, sizeof(prefix), "key%d,", k);
		for (int i = 0; i < MEMBERS; i++) {
			int n = 0;

			for (uint64_t r = 0; r < atomic_load(&s.c[i].data); r++)
				n += strncmp(s.c[i].records[r], prefix, strlen(prefix)) == 0;
			assert_true(n == 0 || n == 10);
			holders += n == 10;
		}
		assert_int_equal(holders, 1);
	}
	for (int i = 0; i < MEMBERS; i++)
		used += atomic_load(&s.c[i].data) > 0;
	assert_true(used >= 2); /* 40 keys over 4 members do spread */
	free_setup(&s);
}

static void near_picks_the_member_on_its_core(void **st)
{
	struct setup s;

	(void)st;
	setup_router(&s, 4, "near", 2);
	for (int i = 0; i < 50; i++)
		send_from_outside(s.rt, s.router, ATOLL_LIB_DATA, "x", 1);
	end_and_teardown(&s, 50);
	assert_int_equal(atomic_load(&s.c[2].data), 50);
	assert_int_equal(atomic_load(&s.c[2].core), 2);
	free_setup(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(round_robin_1, reset, destroy_leftovers),
		cmocka_unit_test_setup_teardown(round_robin_4, reset, destroy_leftovers),
		cmocka_unit_test_setup_teardown(hash_keeps_keys_together, reset, destroy_leftovers),
		cmocka_unit_test_setup_teardown(near_picks_the_member_on_its_core, reset,
						destroy_leftovers),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
