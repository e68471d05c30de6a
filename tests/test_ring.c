/*
 * test_ring.c - the SPSC ring of src/ring.h on its own: capacity checks, FIFO
 * order, wrap-around of the slot array and of the 32-bit indices, a full ring
 * refusing pushes until the consumer releases, pushed slots staying invisible
 * until publish, and a two-thread stress (10 million pointers, fewer under
 * TSan) that must lose, duplicate or reorder nothing.
 */
#include "helpers.h"

#include <sched.h>

#include "ring.h"

/* Values travel as pointers; 0 would be NULL, the "empty" answer of pop. */
#define VAL(i) ((void *)(uintptr_t)(i))
#define NUM(p) ((uintptr_t)(p))

static void ring_init_rejects_non_power_of_two_capacity(void **state)
{
	static const uint32_t bad[] = { 0, 1, 3, 5, 6, 7, 12, 100, 1000, 4097, 0x80000001u };
	static const uint32_t good[] = { 2, 4, 8, 64, 1024, 4096 };
	struct atoll__ring ring;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&ring, 0, sizeof(ring));
		if (atoll__ring_init(&ring, bad[i]) != -EINVAL)
			fail_msg("capacity %u was not rejected with -EINVAL", bad[i]);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (atoll__ring_init(&ring, good[i]) != 0)
			fail_msg("capacity %u was refused", good[i]);
		assert_int_equal(ring.mask, good[i] - 1);
		atoll__ring_destroy(&ring);
		assert_null(ring.slots);
	}
}

static void ring_push_pop_is_fifo(void **state)
{
	struct atoll__ring ring;

	(void)state;
	assert_int_equal(atoll__ring_init(&ring, 8), 0);
	assert_null(atoll__ring_pop(&ring));
	for (uintptr_t i = 1; i <= 8; i++)
		assert_true(atoll__ring_push(&ring, VAL(i)));
	atoll__ring_publish(&ring);
	for (uintptr_t i = 1; i <= 8; i++)
		assert_int_equal(NUM(atoll__ring_pop(&ring)), i);
	assert_null(atoll__ring_pop(&ring));
	atoll__ring_release(&ring);
	assert_false(atoll__ring_has_work(&ring));
	atoll__ring_destroy(&ring);
}

static void ring_capacity_4_wraps_around_1000_times_in_order(void **state)
{
	struct atoll__ring ring;
	uintptr_t next_in = 1, next_out = 1;

	(void)state;
	assert_int_equal(atoll__ring_init(&ring, 4), 0);
	/* One at a time: every slot is reused 250 times. */
	for (int i = 0; i < 1000; i++) {
		assert_true(atoll__ring_push(&ring, VAL(next_in++)));
		atoll__ring_publish(&ring);
		assert_int_equal(NUM(atoll__ring_pop(&ring)), next_out++);
		atoll__ring_release(&ring);
	}
	/* Three at a time, so the batches straddle the end of the array. */
	for (int i = 0; i < 1000; i++) {
		for (int k = 0; k < 3; k++)
			assert_true(atoll__ring_push(&ring, VAL(next_in++)));
		atoll__ring_publish(&ring);
		for (int k = 0; k < 3; k++)
			assert_int_equal(NUM(atoll__ring_pop(&ring)), next_out++);
		assert_null(atoll__ring_pop(&ring));
		atoll__ring_release(&ring);
	}
	assert_int_equal(next_in, next_out);
	atoll__ring_destroy(&ring);
}

static void ring_indices_wrap_past_uint32_max_in_order(void **state)
{
	struct atoll__ring ring;
	uint32_t start = UINT32_MAX - 5;
	uintptr_t next_in = 1, next_out = 1;

	(void)state;
	assert_int_equal(atoll__ring_init(&ring, 4), 0);
	/* An empty ring whose indices are about to overflow, as after 2^32
	 * messages: same invariants, only the counters differ. */
	atomic_store(&ring.head, start);
	atomic_store(&ring.tail, start);
	ring.head_local = ring.tail_local = ring.head_cache = ring.tail_cache = start;
	for (int i = 0; i < 10; i++) {
		for (int k = 0; k < 4; k++)
			assert_true(atoll__ring_push(&ring, VAL(next_in++)));
		assert_false(atoll__ring_push(&ring, VAL(999)));
		atoll__ring_publish(&ring);
		for (int k = 0; k < 4; k++)
			assert_int_equal(NUM(atoll__ring_pop(&ring)), next_out++);
		assert_null(atoll__ring_pop(&ring));
		atoll__ring_release(&ring);
	}
	assert_true(ring.tail_local < start); /* the index did wrap */
	atoll__ring_destroy(&ring);
}

static void ring_push_full_returns_false_then_succeeds_after_release(void **state)
{
	struct atoll__ring ring;

	(void)state;
	assert_int_equal(atoll__ring_init(&ring, 4), 0);
	for (uintptr_t i = 1; i <= 4; i++)
		assert_true(atoll__ring_push(&ring, VAL(i)));
	/* Full counting unpublished slots. */
	assert_false(atoll__ring_push(&ring, VAL(5)));
	atoll__ring_publish(&ring);
	assert_false(atoll__ring_push(&ring, VAL(5)));
	/* A popped but unreleased slot still belongs to the consumer. */
	assert_int_equal(NUM(atoll__ring_pop(&ring)), 1);
	assert_int_equal(NUM(atoll__ring_pop(&ring)), 2);
	assert_false(atoll__ring_push(&ring, VAL(5)));
	atoll__ring_release(&ring);
	assert_true(atoll__ring_push(&ring, VAL(5)));
	assert_true(atoll__ring_push(&ring, VAL(6)));
	assert_false(atoll__ring_push(&ring, VAL(7)));
	atoll__ring_publish(&ring);
	/* The refused pushes left nothing behind: 3, 4, 5, 6 and then empty. */
	for (uintptr_t i = 3; i <= 6; i++)
		assert_int_equal(NUM(atoll__ring_pop(&ring)), i);
	assert_null(atoll__ring_pop(&ring));
	atoll__ring_release(&ring);
	atoll__ring_destroy(&ring);
}

static void ring_unpublished_items_are_invisible_until_publish(void **state)
{
	struct atoll__ring ring;

	(void)state;
	assert_int_equal(atoll__ring_init(&ring, 8), 0);
	assert_int_equal(atoll__ring_unpublished(&ring), 0);
	for (uintptr_t i = 1; i <= 3; i++)
		assert_true(atoll__ring_push(&ring, VAL(i)));
	assert_int_equal(atoll__ring_unpublished(&ring), 3);
	assert_false(atoll__ring_has_work(&ring));
	assert_null(atoll__ring_pop(&ring));

	atoll__ring_publish(&ring);
	assert_int_equal(atoll__ring_unpublished(&ring), 0);
	assert_true(atoll__ring_has_work(&ring));

	/* A later push stays invisible while the earlier ones are taken. */
	assert_true(atoll__ring_push(&ring, VAL(4)));
	assert_int_equal(atoll__ring_unpublished(&ring), 1);
	for (uintptr_t i = 1; i <= 3; i++)
		assert_int_equal(NUM(atoll__ring_pop(&ring)), i);
	assert_null(atoll__ring_pop(&ring));
	assert_false(atoll__ring_has_work(&ring));
	atoll__ring_publish(&ring);
	assert_true(atoll__ring_has_work(&ring));
	assert_int_equal(NUM(atoll__ring_pop(&ring)), 4);
	atoll__ring_release(&ring);
	atoll__ring_destroy(&ring);
}

/* Two-thread stress ----------------------------------------------------- */

#define STRESS_BATCH 16

struct stress {
	struct atoll__ring ring;
	uint64_t n;
	uint64_t deadline_ns;
	atomic_bool give_up;
	/* Written by the consumer, read after join. */
	uint64_t received;
	uint64_t first_bad_index;
	uintptr_t first_bad_value;
	bool bad;
	bool timed_out;
};

static void *stress_producer(void *arg)
{
	struct stress *s = arg;

	for (uint64_t i = 1; i <= s->n; i++) {
		while (!atoll__ring_push(&s->ring, VAL(i))) {
			/* Full: whatever is pushed must be visible, or the
			 * consumer could never free a slot. */
			atoll__ring_publish(&s->ring);
			if (atomic_load_explicit(&s->give_up, memory_order_relaxed))
				return NULL;
			sched_yield();
		}
		if (i % STRESS_BATCH == 0)
			atoll__ring_publish(&s->ring);
	}
	atoll__ring_publish(&s->ring);
	return NULL;
}

static void *stress_consumer(void *arg)
{
	struct stress *s = arg;
	uint64_t expect = 1;
	unsigned popped = 0, idle = 0;

	while (expect <= s->n) {
		void *p = atoll__ring_pop(&s->ring);

		if (p == NULL) {
			/* Hand back what we hold, or a producer blocked on
			 * a full ring would wait for us forever. */
			atoll__ring_release(&s->ring);
			popped = 0;
			if (++idle % 1024 == 0 && test_now_ns() > s->deadline_ns) {
				s->timed_out = true;
				break;
			}
			sched_yield();
			continue;
		}
		if (NUM(p) != expect) {
			/* Lost, duplicated or reordered: stop counting there. */
			s->bad = true;
			s->first_bad_index = expect;
			s->first_bad_value = NUM(p);
			break;
		}
		expect++;
		s->received++;
		if (++popped == STRESS_BATCH) {
			atoll__ring_release(&s->ring);
			popped = 0;
		}
	}
	atoll__ring_release(&s->ring);
	atomic_store(&s->give_up, true);
	/* Nothing may follow the last value. */
	if (!s->bad && !s->timed_out && atoll__ring_pop(&s->ring) != NULL) {
		s->bad = true;
		s->first_bad_index = s->n + 1;
	}
	return NULL;
}

static void run_stress(uint32_t capacity, uint64_t n)
{
	struct stress *s = calloc(1, sizeof(*s));
	pthread_t producer, consumer;
	uint64_t t0 = test_now_ns();

	assert_non_null(s);
	assert_int_equal(atoll__ring_init(&s->ring, capacity), 0);
	s->n = n;
	s->deadline_ns = t0 + TSAN_SCALE(60, 240) * NS_PER_SEC;
	assert_int_equal(pthread_create(&consumer, NULL, stress_consumer, s), 0);
	assert_int_equal(pthread_create(&producer, NULL, stress_producer, s), 0);
	pthread_join(producer, NULL);
	pthread_join(consumer, NULL);
	printf("ring stress: capacity %u, %llu pointers in %.3f s\n", capacity,
	       (unsigned long long)n, (double)(test_now_ns() - t0) / 1e9);

	if (s->bad)
		fail_msg("capacity %u: expected value %llu, got %llu", capacity,
			 (unsigned long long)s->first_bad_index,
			 (unsigned long long)s->first_bad_value);
	if (s->timed_out)
		fail_msg("capacity %u: consumer timed out after %llu of %llu", capacity,
			 (unsigned long long)s->received, (unsigned long long)n);
	assert_int_equal(s->received, n);
	atoll__ring_destroy(&s->ring);
	free(s);
}

static void
ring_two_threads_pass_10_million_pointers_without_loss_duplicate_or_reorder(void **state)
{
	(void)state;
	run_stress(1024, TSAN_SCALE(10000000u, 1000000u));
}

static void ring_two_threads_on_tiny_ring_keep_order_while_full_most_of_the_time(void **state)
{
	(void)state;
	/* Capacity below the publish batch: the producer hits "full" before
	 * every publish, so the full and publish-on-full paths are hot. */
	run_stress(4, TSAN_SCALE(200000u, 100000u));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ring_init_rejects_non_power_of_two_capacity),
		cmocka_unit_test(ring_push_pop_is_fifo),
		cmocka_unit_test(ring_capacity_4_wraps_around_1000_times_in_order),
		cmocka_unit_test(ring_indices_wrap_past_uint32_max_in_order),
		cmocka_unit_test(ring_push_full_returns_false_then_succeeds_after_release),
		cmocka_unit_test(ring_unpublished_items_are_invisible_until_publish),
		cmocka_unit_test(
			ring_two_threads_pass_10_million_pointers_without_loss_duplicate_or_reorder),
		cmocka_unit_test(
			ring_two_threads_on_tiny_ring_keep_order_while_full_most_of_the_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
