/*
 * spsc.c - spsc.floor: the physical floor under cross-core messaging. Two
 * threads pinned to two CPUs move pointers through a bare atoll__ring from
 * src/ring.h, no runtime around it: the producer pushes and publishes every
 * 16 slots, the consumer pops and releases every 16. The consumer checks the
 * sequence, so a ring bug shows up as an error, not as a fast number.
 */
#define _GNU_SOURCE
#include "bench.h"
#include "ring.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

struct spsc_run {
	struct atoll__ring ring;
	uint64_t n;
	uint32_t batch;
	int cpu_producer;
	int cpu_consumer;
	uint64_t max_ns;
	/* Both threads spin on go, so neither starts before the other runs. */
	alignas(ATOLL__CACHE_LINE) _Atomic int ready;
	_Atomic int go;
	/* Set by either side when it gives up (time cap), so the other ends. */
	_Atomic int abort;
	/* Consumer's results. */
	alignas(ATOLL__CACHE_LINE) uint64_t received;
	uint64_t out_of_order;
	uint64_t t_start;
	uint64_t t_end;
	int pin_error;
};

/* Spins this many times without progress before yielding the CPU: keeps the
 * floor honest on two CPUs, and bounded when both threads share one CPU. */
#define SPSC_SPINS_BEFORE_YIELD 100000u

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static void wait_for_go(struct spsc_run *run)
{
	atomic_fetch_add(&run->ready, 1);
	while (atomic_load_explicit(&run->go, memory_order_acquire) == 0)
		cpu_relax();
}

static void *spsc_producer(void *arg)
{
	struct spsc_run *run = arg;
	struct atoll__ring *ring = &run->ring;
	uint64_t i = 0;
	unsigned spins = 0;

	if (bench_pin_self(run->cpu_producer) != 0)
		run->pin_error = 1;
	wait_for_go(run);
	while (i < run->n) {
		uint32_t k = 0;

		/* Pointer value i + 1: never NULL, which pop uses for "empty". */
		while (k < run->batch && i < run->n &&
		       atoll__ring_push(ring, (void *)(uintptr_t)(i + 1))) {
			i++;
			k++;
		}
		atoll__ring_publish(ring);
		if (k > 0) {
			spins = 0;
			continue;
		}
		cpu_relax();
		if (++spins % SPSC_SPINS_BEFORE_YIELD == 0) {
			if (atomic_load_explicit(&run->abort, memory_order_relaxed))
				break;
			sched_yield();
		}
	}
	return NULL;
}

static void *spsc_consumer(void *arg)
{
	struct spsc_run *run = arg;
	struct atoll__ring *ring = &run->ring;
	uint64_t expected = 1;
	uint64_t out_of_order = 0;
	uint64_t deadline;
	uint32_t since_release = 0;
	unsigned spins = 0;

	if (bench_pin_self(run->cpu_consumer) != 0)
		run->pin_error = 1;
	wait_for_go(run);
	run->t_start = bench_now_ns();
	deadline = run->max_ns ? run->t_start + run->max_ns : UINT64_MAX;
	while (expected <= run->n) {
		void *p = atoll__ring_pop(ring);

		if (p != NULL) {
			if ((uintptr_t)p != expected)
				out_of_order++;
			expected++;
			if (++since_release == run->batch) {
				atoll__ring_release(ring);
				since_release = 0;
			}
			if ((expected & 0xfffff) == 0 && bench_now_ns() >= deadline)
				break;
			continue;
		}
		if (since_release > 0) {
			atoll__ring_release(ring);
			since_release = 0;
		}
		cpu_relax();
		if (++spins % SPSC_SPINS_BEFORE_YIELD == 0) {
			if (bench_now_ns() >= deadline)
				break;
			sched_yield();
		}
	}
	atoll__ring_release(ring);
	run->t_end = bench_now_ns();
	run->received = expected - 1;
	run->out_of_order = out_of_order;
	atomic_store(&run->abort, 1);
	return NULL;
}

int spsc_floor_run(uint64_t n, uint32_t capacity, uint32_t batch, int cpu_producer,
		   int cpu_consumer, uint64_t max_ns, struct spsc_floor_result *result)
{
	static struct spsc_run run; /* 3 x 128-byte aligned lines: off the stack */
	pthread_t producer, consumer;
	int rc;

	memset(result, 0, sizeof(*result));
	memset(&run, 0, sizeof(run));
	rc = atoll__ring_init(&run.ring, capacity);
	if (rc < 0)
		return rc;
	run.n = n;
	run.batch = batch;
	run.cpu_producer = cpu_producer;
	run.cpu_consumer = cpu_consumer;
	run.max_ns = max_ns;
	rc = -pthread_create(&consumer, NULL, spsc_consumer, &run);
	if (rc < 0) {
		atoll__ring_destroy(&run.ring);
		return rc;
	}
	rc = -pthread_create(&producer, NULL, spsc_producer, &run);
	if (rc < 0) {
		/* Let the consumer run to its time cap with nothing to read. */
		atomic_store(&run.abort, 1);
		atomic_store_explicit(&run.go, 1, memory_order_release);
		pthread_join(consumer, NULL);
		atoll__ring_destroy(&run.ring);
		return rc;
	}
	while (atomic_load(&run.ready) < 2)
		sched_yield();
	atomic_store_explicit(&run.go, 1, memory_order_release);
	pthread_join(producer, NULL);
	pthread_join(consumer, NULL);
	atoll__ring_destroy(&run.ring);
	if (run.pin_error)
		fprintf(stderr, "spsc.floor: could not pin to CPUs %d,%d: running unpinned\n",
			cpu_producer, cpu_consumer);
	result->moved = run.received;
	result->seconds = (double)(run.t_end - run.t_start) / 1e9;
	result->ptrs_per_sec = result->seconds > 0 ? (double)run.received / result->seconds : 0;
	if (run.out_of_order != 0) {
		fprintf(stderr, "spsc.floor: RING PROBLEM: %" PRIu64 " pointers out of order\n",
			run.out_of_order);
		return -EPROTO;
	}
	return 0;
}

int bench_spsc_floor(int argc, char **argv)
{
	const char *bench = argv[0];
	struct bench_common common = { .seconds = 10, .timeout = 60 };
	uint64_t pointers = 1000000000;
	unsigned capacity = 4096;
	unsigned batch = 16;
	const struct bench_flag flags[] = {
		{ "-n", "--pointers", BENCH_FLAG_U64, &pointers, "pointers to move" },
		{ NULL, "--capacity", BENCH_FLAG_UINT, &capacity,
		  "ring slots (a power of two >= 2)" },
		{ NULL, "--batch", BENCH_FLAG_UINT, &batch, "slots per publish and per release" },
	};
	struct spsc_floor_result result;
	int cpu_a, cpu_b;
	int rc;

	rc = bench_parse_flags(argc, argv, &common, flags, BENCH_ARRAY_SIZE(flags));
	if (rc != BENCH_CONTINUE)
		return rc;
	if (pointers == 0 || capacity < 2 || (capacity & (capacity - 1)) != 0 || batch == 0 ||
	    batch > capacity) {
		bench_note(bench, "need -n >= 1, --capacity a power of two >= 2, "
				  "1 <= --batch <= --capacity");
		return BENCH_EXIT_USAGE;
	}
	cpu_a = bench_cpu(&common, 0);
	cpu_b = bench_cpu(&common, 1);
	if (cpu_a == cpu_b)
		bench_note(bench, "producer and consumer share CPU %d: expect a poor floor", cpu_a);
	bench_watchdog_start(bench, common.timeout);
	rc = spsc_floor_run(pointers, capacity, batch, cpu_a, cpu_b,
			    bench_seconds_ns(common.seconds), &result);
	bench_watchdog_stop();
	if (rc < 0) {
		bench_note(bench, "%s", atoll_strerror(rc));
		return BENCH_EXIT_FAIL;
	}
	if (result.moved < pointers)
		bench_note(bench, "time cap reached after %" PRIu64 " of %" PRIu64 " pointers",
			   result.moved, pointers);
	bench_result(bench,
		     "ptrs_per_sec=%.0f ns_per_ptr=%.2f ptrs=%" PRIu64
		     " batch=%u capacity=%u cpus=%d,%d seconds=%.3f",
		     result.ptrs_per_sec, result.seconds * 1e9 / (double)result.moved, result.moved,
		     batch, capacity, cpu_a, cpu_b, result.seconds);
	return BENCH_EXIT_OK;
}
