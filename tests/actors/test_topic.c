/*
 * test_topic.c - the pub-sub topic (actors/topic.c): with 8 subscribers
 * over 4 reactors (static ones through the link, others by SUBSCRIBE),
 * every published message reaches every subscriber in order; all share the
 * one published payload, released exactly once after the last delivery is
 * freed; UNSUBSCRIBE stops deliveries; END reaches every subscriber with
 * its count; a single subscriber gets the published message itself.
 */
#include "../helpers.h"

#include "lib_harness.h"
#include "topic.h"

#define SUBS 8

static void fan_out(unsigned reactors)
{
	atoll_runtime *rt = start_reactors(reactors);
	struct collected c[SUBS];
	atoll_ref subs[SUBS], topic;
	struct atoll_params *p;
	struct atoll_lib_stats st;
	static _Atomic uint64_t released;
	const void *shared;
	atoll_msg *m;
	char line[32];

	atomic_store(&released, 0);
	for (int i = 0; i < SUBS; i++) {
		collected_init(&c[i]);
		subs[i] = spawn_on(rt, &collector_type, &c[i], i % (int)reactors);
	}
	p = make_params(&atoll_topic_info, "subscribers", subs, SUBS / 2, NULL);
	topic = spawn_on(rt, &atoll_topic_type, p, 0);
	for (int i = SUBS / 2; i < SUBS; i++)
		send_from_outside(rt, topic, ATOLL_TOPIC_SUBSCRIBE, &subs[i], sizeof(subs[i]));
	/* First, a payload in a buffer of our own: shared, released once. */
	m = counted_msg(ATOLL_TOPIC_PUBLISH, "p0", &released);
	shared = m->data;
	assert_true(atoll_runtime_send(rt, topic, m) >= 0);
	for (int i = 1; i < 1000; i++) {
		snprintf(line, sizeof(line), "p%d", i);
		send_from_outside(rt, topic, i % 2 ? ATOLL_LIB_DATA : ATOLL_TOPIC_PUBLISH, line,
				  strlen(line));
	}
	send_from_outside(rt, topic, ATOLL_LIB_END, NULL, 0);
	for (int i = 0; i < SUBS; i++)
		assert_wait_u64(&c[i].ends, 1, WAIT_LIMIT_NS);
	assert_int_equal(atomic_load(&released), 1);
	/* Subscriber 7 leaves: the next message reaches the 7 others only. */
	send_from_outside(rt, topic, ATOLL_TOPIC_UNSUBSCRIBE, &subs[7], sizeof(subs[7]));
	send_from_outside(rt, topic, ATOLL_TOPIC_PUBLISH, "last", 4);
	send_from_outside(rt, topic, ATOLL_LIB_END, NULL, 0);
	for (int i = 0; i < SUBS - 1; i++)
		assert_wait_u64(&c[i].ends, 2, WAIT_LIMIT_NS);
	st = ask_stats(rt, topic);
	assert_int_equal(st.in, 1001);
	assert_int_equal(st.out, 1000 * SUBS + SUBS - 1);
	destroy_runtime(rt);
	assert_no_check_failures();
	for (int i = 0; i < SUBS; i++) {
		uint64_t want = i < SUBS - 1 ? 1001 : 1000;

		assert_int_equal(atomic_load(&c[i].data), want);
		assert_int_equal(atomic_load(&c[i].end_records), want);
		assert_int_equal(atomic_load(&c[i].first_data_ptr), (uint64_t)(uintptr_t)shared);
		for (int k = 0; k < 1000; k++) {
			snprintf(line, sizeof(line), "p%d", k);
			assert_string_equal(c[i].records[k], line);
		}
	}
	assert_int_equal(atomic_load(&c[SUBS - 1].ends), 1);
	atoll_params_free(p);
	for (int i = 0; i < SUBS; i++)
		collected_free(&c[i]);
}

static void fan_out_1(void **st)
{
	(void)st;
	fan_out(1);
}

static void fan_out_4(void **st)
{
	(void)st;
	fan_out(4);
}

static void single_subscriber_gets_the_message_itself(void **st)
{
	atoll_runtime *rt = start_reactors(2);
	struct collected c;
	atoll_ref sub, topic;
	struct atoll_params *p;
	static _Atomic uint64_t released;
	atoll_msg *m;
	const void *buf;

	(void)st;
	atomic_store(&released, 0);
	collected_init(&c);
	sub = spawn_on(rt, &collector_type, &c, 1);
	p = make_params(&atoll_topic_info, "subscribers", &sub, 1, NULL);
	topic = spawn_on(rt, &atoll_topic_type, p, 0);
	m = counted_msg(ATOLL_TOPIC_PUBLISH, "solo", &released);
	buf = m->data;
	assert_true(atoll_runtime_send(rt, topic, m) >= 0);
	assert_wait_u64(&c.data, 1, WAIT_LIMIT_NS);
	assert_wait_u64(&released, 1, WAIT_LIMIT_NS);
	destroy_runtime(rt);
	assert_int_equal(atomic_load(&c.first_data_ptr), (uint64_t)(uintptr_t)buf);
	assert_string_equal(c.records[0], "solo");
	atoll_params_free(p);
	collected_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(fan_out_1, reset, destroy_leftovers),
		cmocka_unit_test_setup_teardown(fan_out_4, reset, destroy_leftovers),
		cmocka_unit_test_setup_teardown(single_subscriber_gets_the_message_itself, reset,
						destroy_leftovers),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
