/*
 * test_counter.c - the counter actor (actors/counter.c): messages from
 * several cores counted per type with their bytes, answered through STATS
 * and GET (which are not counted themselves); with `ends` and stop_at_end it
 * stops the runtime after the last END. 1 and 4 reactors.
 */
#include "../helpers.h"

#include "counter.h"
#include "generator.h"
#include "lib_harness.h"

enum {
	MSG_OTHER = ATOLL_MSG_USER + 7,
	ASK_GET = ASKER_ASK + 1
};

struct got {
	_Atomic uint64_t replies;
	struct atoll_counter_entry e;
};

struct getter {
	struct got *g;
};

static int getter_init(atoll_ctx *ctx, void *state, const void *arg)
{
	(void)ctx;
	((struct getter *)state)->g = (struct got *)arg;
	return 0;
}

/* ASK_GET, payload {ref, type}: asks the counter for one type. */
static void getter_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct got *g = ((struct getter *)state)->g;

	if (msg->type == ASK_GET) {
		atoll_ref to;
		uint32_t type;

		memcpy(&to, msg->data, sizeof(to));
		memcpy(&type, (char *)msg->data + sizeof(to), sizeof(type));
		CHECK(atoll_ask(ctx, to, atoll_msg_new_copy(ATOLL_COUNTER_GET, &type, sizeof(type)),
				NULL) >= 0);
	} else if (msg->type == ATOLL_COUNTER_GET_REPLY) {
		CHECK_EQ(msg->len, sizeof(g->e));
		memcpy(&g->e, msg->data, sizeof(g->e));
		atomic_fetch_add(&g->replies, 1);
	}
}

static const struct atoll_actor_type getter_type = {
	.name = "getter",
	.state_size = sizeof(struct getter),
	.init = getter_init,
	.receive = getter_receive,
};

static struct atoll_counter_entry get_type(atoll_runtime *rt, atoll_ref counter, uint32_t type)
{
	static struct got g;
	uint64_t before = atomic_load(&g.replies);
	atoll_ref getter = spawn_on(rt, &getter_type, &g, 0);
	char req[sizeof(atoll_ref) + sizeof(uint32_t)];

	memcpy(req, &counter, sizeof(counter));
	memcpy(req + sizeof(counter), &type, sizeof(type));
	send_from_outside(rt, getter, ASK_GET, req, sizeof(req));
	assert_wait_u64(&g.replies, before + 1, WAIT_LIMIT_NS);
	return g.e;
}

static void counts_per_type(unsigned reactors)
{
	atoll_runtime *rt = start_reactors(reactors);
	struct atoll_params *cp, *gp[4];
	atoll_ref counter;
	struct atoll_lib_stats s;
	struct atoll_counter_entry e;

	cp = make_params(&atoll_counter_info, NULL, NULL, 0, NULL);
	counter = spawn_on(rt, &atoll_counter_type, cp, 0);
	/* A generator on each core: 1000 records each, then END. */
	for (unsigned i = 0; i < 4; i++) {
		gp[i] = make_params(&atoll_generator_info, "to", &counter, 1, "records=1000", NULL);
		spawn_on(rt, &atoll_generator_type, gp[i], (int)(i % reactors));
	}
	for (int i = 0; i < 5; i++)
		send_from_outside(rt, counter, MSG_OTHER, "abc", 3);
	for (;;) {
		e = get_type(rt, counter, ATOLL_LIB_END);
		if (e.messages == 4)
			break;
		poll_pause();
	}
	e = get_type(rt, counter, ATOLL_LIB_DATA);
	assert_int_equal(e.messages, 4000);
	assert_true(e.bytes > 4000 * 14);
	e = get_type(rt, counter, MSG_OTHER);
	assert_int_equal(e.messages, 5);
	assert_int_equal(e.bytes, 15);
	e = get_type(rt, counter, 12345);
	assert_int_equal(e.messages, 0);
	s = ask_stats(rt, counter);
	assert_int_equal(s.in, 4000 + 4 + 5);
	destroy_runtime(rt);
	assert_no_check_failures();
	atoll_params_free(cp);
	for (unsigned i = 0; i < 4; i++)
		atoll_params_free(gp[i]);
}

static void counts_per_type_1(void **st)
{
	(void)st;
	counts_per_type(1);
}

static void counts_per_type_4(void **st)
{
	(void)st;
	counts_per_type(4);
}

static void stops_the_runtime_after_its_ends(void **st)
{
	atoll_runtime *rt = start_reactors(2);
	struct atoll_params *cp;
	atoll_ref counter;

	(void)st;
	cp = make_params(&atoll_counter_info, NULL, NULL, 0, "ends=2", "stop_at_end=yes",
			 "report=1ms", NULL);
	counter = spawn_on(rt, &atoll_counter_type, cp, 1);
	send_from_outside(rt, counter, ATOLL_LIB_DATA, "x", 1);
	send_from_outside(rt, counter, ATOLL_LIB_END, NULL, 0);
	send_from_outside(rt, counter, ATOLL_LIB_END, NULL, 0);
	assert_int_equal(wait_runtime(rt), 0);
	destroy_runtime(rt);
	atoll_params_free(cp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(counts_per_type_1, reset, destroy_leftovers),
		cmocka_unit_test_setup_teardown(counts_per_type_4, reset, destroy_leftovers),
		cmocka_unit_test_setup_teardown(stops_the_runtime_after_its_ends, reset,
						destroy_leftovers),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
