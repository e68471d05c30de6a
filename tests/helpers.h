/*
 * helpers.h - what the cmocka tests share: checks that actors run on reactor
 * threads (where cmocka's longjmp-based asserts must not be used) and that
 * the test thread reports afterwards, bounded waits on conditions with a
 * deadline, iteration scaling under ThreadSanitizer, skipping (exit 77) when
 * the kernel has no io_uring, runtime teardown with a time limit, and the
 * probe actor, which records where it runs and what it receives.
 * Everything is static inline: each test executable takes what it uses.
 * Include it first: it asks for _GNU_SOURCE (sched_getaffinity, CPU_ISSET).
 */
#ifndef ATOLL_TEST_HELPERS_H
#define ATOLL_TEST_HELPERS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <liburing.h>

#include "atoll.h"

/* TSan makes everything about ten times slower: tests scale down with it. */
#if defined(__SANITIZE_THREAD__)
#define TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TEST_TSAN 1
#endif
#endif
#ifndef TEST_TSAN
#define TEST_TSAN 0
#endif

/* ASan roughly halves the speed of the message paths. */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifndef TEST_ASAN
#define TEST_ASAN 0
#endif

/* Picks an iteration count: the first normally, the second under TSan. */
#define TSAN_SCALE(normal, tsan) (TEST_TSAN ? (tsan) : (normal))

#define NS_PER_MS 1000000ull
#define NS_PER_SEC 1000000000ull

/* How long a test waits for something that should happen at once. */
#define WAIT_LIMIT_NS (10 * NS_PER_SEC)

/* How long a test waits for a runtime to stop and be freed. */
#define STOP_LIMIT_NS (TSAN_SCALE(30, 120) * NS_PER_SEC)

/* Monotonic clock for the tests' own deadlines (independent of the library). */
static inline uint64_t test_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/*
 * The pause between two polls of a condition. It is never the
 * synchronisation itself: every wait loops on its condition and gives up at
 * a deadline. Short enough not to slow tests, long enough not to steal a CPU
 * from the reactors on a 2-CPU machine.
 */
static inline void poll_pause(void)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 100000 };

	nanosleep(&ts, NULL);
}

/*
 * Checks made on reactor threads. A failed CHECK prints where and what, and
 * is counted; the test thread then calls assert_no_check_failures().
 */
struct check_log {
	atomic_uint failures;
	atomic_bool first_ready; /* release: first[] is written */
	char first[512];
};

static inline struct check_log *check_log(void)
{
	static struct check_log log;

	return &log;
}

static inline void check_failed(const char *file, int line, const char *what)
{
	struct check_log *log = check_log();
	unsigned n = atomic_fetch_add(&log->failures, 1);

	if (n < 20)
		fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
	if (n == 0) {
		snprintf(log->first, sizeof(log->first), "%s:%d: %s", file, line, what);
		atomic_store_explicit(&log->first_ready, true, memory_order_release);
	}
}

static inline void check_failed_u64(const char *file, int line, const char *what, uint64_t a,
				    uint64_t b)
{
	char buf[400];

	snprintf(buf, sizeof(buf), "%s (%llu vs %llu, as signed %lld vs %lld)", what,
		 (unsigned long long)a, (unsigned long long)b, (long long)a, (long long)b);
	check_failed(file, line, buf);
}

/* CHECK(cond): cond must hold. CHECK_EQ(a, b): a == b, printing both. */
#define CHECK(cond) ((cond) ? (void)0 : check_failed(__FILE__, __LINE__, #cond))
#define CHECK_EQ(a, b)                                                                       \
	((uint64_t)(a) == (uint64_t)(b) ? (void)0                                            \
					: check_failed_u64(__FILE__, __LINE__, #a " == " #b, \
							   (uint64_t)(a), (uint64_t)(b)))

static inline void reset_checks(void)
{
	struct check_log *log = check_log();

	atomic_store(&log->failures, 0);
	atomic_store(&log->first_ready, false);
}

static inline void assert_no_check_failures(void)
{
	struct check_log *log = check_log();
	unsigned n = atomic_load(&log->failures);

	if (n != 0) {
		const char *first = atomic_load_explicit(&log->first_ready, memory_order_acquire)
					    ? log->first
					    : "(being written)";
		fail_msg("%u check(s) failed on reactor threads; first: %s", n, first);
	}
}

/* Waits until *v >= target or limit_ns passes. Returns whether it got there. */
static inline bool wait_u64_at_least(const _Atomic uint64_t *v, uint64_t target, uint64_t limit_ns)
{
	uint64_t deadline = test_now_ns() + limit_ns;

	while (atomic_load(v) < target) {
		if (test_now_ns() > deadline)
			return atomic_load(v) >= target;
		poll_pause();
	}
	return true;
}

/* Waits until cond(arg) holds or limit_ns passes. Returns whether it held. */
static inline bool wait_for(bool (*cond)(void *arg), void *arg, uint64_t limit_ns)
{
	uint64_t deadline = test_now_ns() + limit_ns;

	while (!cond(arg)) {
		if (test_now_ns() > deadline)
			return cond(arg);
		poll_pause();
	}
	return true;
}

/* Fails the test unless *v reaches target within limit_ns. */
#define assert_wait_u64(v_, target_, limit_ns_)                                              \
	do {                                                                                 \
		if (!wait_u64_at_least((v_), (target_), (limit_ns_)))                        \
			fail_msg("timed out after %llu ms waiting for %s >= %llu (is %llu)", \
				 (unsigned long long)((limit_ns_) / NS_PER_MS), #v_,         \
				 (unsigned long long)(target_),                              \
				 (unsigned long long)atomic_load(v_));                       \
	} while (0)

/* Reads the stats of one reactor, failing the test on error. */
static inline struct atoll_stats read_stats(const atoll_runtime *rt, unsigned core)
{
	struct atoll_stats s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(atoll_runtime_stats(rt, core, &s), 0);
	return s;
}

/* Sum of one stats field over every reactor. */
#define STATS_SUM(rt, field) stats_sum((rt), offsetof(struct atoll_stats, field))

static inline uint64_t stats_sum(const atoll_runtime *rt, size_t offset)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < atoll_runtime_reactors(rt); i++) {
		struct atoll_stats s = read_stats(rt, i);
		uint64_t v;

		memcpy(&v, (const char *)&s + offset, sizeof(v));
		sum += v;
	}
	return sum;
}

struct stat_wait {
	const atoll_runtime *rt;
	unsigned core;
	size_t offset;
	uint64_t target;
	uint64_t last;
};

/* Reactor index meaning "the sum over every reactor" in a stat_wait. */
#define ALL_REACTORS UINT32_MAX

static inline bool stat_equals(void *arg)
{
	struct stat_wait *w = arg;
	unsigned first = w->core, last = w->core;
	struct atoll_stats s;
	uint64_t v;

	if (w->core == ALL_REACTORS) {
		first = 0;
		last = atoll_runtime_reactors(w->rt) - 1;
	}
	w->last = 0;
	for (unsigned i = first; i <= last; i++) {
		if (atoll_runtime_stats(w->rt, i, &s) != 0)
			return false;
		memcpy(&v, (const char *)&s + w->offset, sizeof(v));
		w->last += v;
	}
	return w->last == w->target;
}

/*
 * Fails unless stats field `field_` of reactor `core_` (or its sum over all,
 * with ALL_REACTORS) equals target_ within WAIT_LIMIT_NS: stats are a recent
 * snapshot, so they may lag a little.
 */
#define assert_stat_eventually(rt_, core_, field_, target_)                                   \
	do {                                                                                  \
		struct stat_wait w_ = { (rt_), (core_), offsetof(struct atoll_stats, field_), \
					(uint64_t)(target_), 0 };                             \
		if (!wait_for(stat_equals, &w_, WAIT_LIMIT_NS))                               \
			fail_msg("reactor %d: stats." #field_ " is %llu, expected %llu",      \
				 (int)(core_), (unsigned long long)w_.last,                   \
				 (unsigned long long)w_.target);                              \
	} while (0)

/* Exits with 77 (ctest: skipped), saying why, when io_uring is unusable. */
static inline void require_io_uring_or_skip(void)
{
	struct io_uring ring;
	int rc = io_uring_queue_init(4, &ring, 0);

	if (rc < 0) {
		printf("SKIP: io_uring is not available here (io_uring_setup: %s)\n",
		       strerror(-rc));
		exit(77);
	}
	io_uring_queue_exit(&ring);
}

/*
 * Runtimes started by start_runtime and not yet destroyed. A test that fails
 * half-way leaves its runtime here, and the teardown destroy_leftovers()
 * stops it, so that later tests do not share the CPUs with stray reactors.
 */
#define MAX_LIVE_RUNTIMES 8

static inline atoll_runtime **live_runtimes(void)
{
	static atoll_runtime *live[MAX_LIVE_RUNTIMES];

	return live;
}

static inline void track_runtime(atoll_runtime *rt, atoll_runtime *replacement)
{
	atoll_runtime **live = live_runtimes();

	for (int i = 0; i < MAX_LIVE_RUNTIMES; i++) {
		if (live[i] == rt) {
			live[i] = replacement;
			return;
		}
	}
}

/* Starts a runtime with cfg, failing the test on error. */
static inline atoll_runtime *start_runtime(const struct atoll_config *cfg)
{
	atoll_runtime *rt = NULL;
	int rc = atoll_runtime_start(cfg, &rt);

	if (rc != 0)
		fail_msg("atoll_runtime_start: %d (%s)", rc, atoll_strerror(rc));
	assert_non_null(rt);
	track_runtime(NULL, rt);
	return rt;
}

/* Starts a runtime with n reactors and no signal handling. */
static inline atoll_runtime *start_reactors(unsigned n)
{
	struct atoll_config cfg = { .reactors = n, .no_signals = true };

	return start_runtime(&cfg);
}

struct bounded_call {
	void (*fn)(void *arg);
	void *arg;
	atomic_bool done;
};

static inline void *bounded_call_main(void *arg)
{
	struct bounded_call *c = arg;

	c->fn(c->arg);
	atomic_store(&c->done, true);
	return NULL;
}

/*
 * Runs fn(arg) on a helper thread and fails the test, naming `what`, if it
 * has not returned within limit_ns: a hung stop must not hang the test. The
 * helper is joined once it has finished, so all it did is visible after.
 */
static inline void call_within(void (*fn)(void *arg), void *arg, uint64_t limit_ns,
			       const char *what)
{
	struct bounded_call *c = calloc(1, sizeof(*c));
	pthread_t thread;
	uint64_t deadline = test_now_ns() + limit_ns;

	assert_non_null(c);
	c->fn = fn;
	c->arg = arg;
	assert_int_equal(pthread_create(&thread, NULL, bounded_call_main, c), 0);
	while (!atomic_load(&c->done)) {
		if (test_now_ns() > deadline) {
			/* Leaked on purpose: the thread may still use it. */
			pthread_detach(thread);
			fail_msg("%s did not return within %llu s", what,
				 (unsigned long long)(limit_ns / NS_PER_SEC));
		}
		poll_pause();
	}
	pthread_join(thread, NULL);
	free(c);
}

static inline void destroy_fn(void *rt)
{
	atoll_runtime_destroy(rt);
}

/* Stops and frees rt, failing the test if that takes over STOP_LIMIT_NS. */
static inline void destroy_runtime(atoll_runtime *rt)
{
	track_runtime(rt, NULL);
	call_within(destroy_fn, rt, STOP_LIMIT_NS, "atoll_runtime_destroy");
}

/* Teardown: destroys what a failed test left running. */
static inline int destroy_leftovers(void **state)
{
	atoll_runtime **live = live_runtimes();

	(void)state;
	for (int i = 0; i < MAX_LIVE_RUNTIMES; i++)
		if (live[i] != NULL)
			destroy_runtime(live[i]);
	return 0;
}

struct wait_call {
	atoll_runtime *rt;
	int rc;
};

static inline void wait_fn(void *arg)
{
	struct wait_call *w = arg;

	w->rc = atoll_runtime_wait(w->rt);
}

/* atoll_runtime_wait, failing the test if it takes over STOP_LIMIT_NS. */
static inline int wait_runtime(atoll_runtime *rt)
{
	struct wait_call w = { rt, -1 };

	call_within(wait_fn, &w, STOP_LIMIT_NS, "atoll_runtime_wait");
	return w.rc;
}

/* Spawns from outside the runtime, failing the test on error. */
static inline atoll_ref spawn_on(atoll_runtime *rt, const struct atoll_actor_type *type,
				 const void *arg, int where)
{
	atoll_ref ref = ATOLL_REF_NONE;
	int rc = atoll_runtime_spawn(rt, type, arg, where, &ref);

	if (rc != 0)
		fail_msg("atoll_runtime_spawn(%s, %d): %d (%s)", type->name, where, rc,
			 atoll_strerror(rc));
	assert_true(ref != ATOLL_REF_NONE);
	return ref;
}

/* Sends a message with a copy of len bytes from outside the runtime. */
static inline void send_from_outside(atoll_runtime *rt, atoll_ref to, uint32_t type,
				     const void *data, size_t len)
{
	atoll_msg *m = atoll_msg_new(type, len);
	int rc;

	assert_non_null(m);
	if (len != 0)
		memcpy(m->data, data, len);
	rc = atoll_runtime_send(rt, to, m);
	if (rc < 0)
		fail_msg("atoll_runtime_send(type %u): %d (%s)", type, rc, atoll_strerror(rc));
}

/*
 * Fails the test unless ref goes stale (a send from outside gives -ESRCH)
 * within WAIT_LIMIT_NS. An actor's own ref is freed after its stop hook
 * ran and its mailbox was dropped, so a test that saw the stop hook (or the
 * dead letters) may still find the ref live for a moment; what it sends
 * meanwhile becomes a dead letter.
 */
static inline void assert_ref_goes_stale(atoll_runtime *rt, atoll_ref ref, uint32_t type)
{
	uint64_t deadline = test_now_ns() + WAIT_LIMIT_NS;

	for (;;) {
		atoll_msg *m = atoll_msg_new(type, 0);
		int rc;

		assert_non_null(m);
		rc = atoll_runtime_send(rt, ref, m);
		if (rc == -ESRCH)
			return;
		if (rc < 0)
			fail_msg("atoll_runtime_send to a stopping actor: %d (%s)", rc,
				 atoll_strerror(rc));
		if (test_now_ns() > deadline)
			fail_msg("ref %#llx still live after %llu ms", (unsigned long long)ref,
				 (unsigned long long)(WAIT_LIMIT_NS / NS_PER_MS));
		poll_pause();
	}
}

/*
 * The probe actor: spawned with a struct probe_slot as its argument, it
 * records where it runs and what it receives there, for the test thread to
 * check. It acts on the three message types below; a test that uses it
 * numbers its own from PROBE_MSG_END.
 */
enum {
	PROBE_MSG_VALUE = ATOLL_MSG_USER, /* payload: uint64_t, kept as last_value */
	PROBE_MSG_QUIT,                   /* the probe stops itself */
	PROBE_MSG_STOP_RUNTIME,           /* the probe stops the runtime */
	PROBE_MSG_END,
};

/* What a probe actor saw, for the test thread to check. */
struct probe_slot {
	_Atomic uint64_t inits;
	_Atomic uint64_t init_core;
	_Atomic uint64_t init_ncores;
	_Atomic uint64_t self;
	_Atomic uint64_t cpu_mask; /* affinity of its reactor thread, CPUs 0-63 */
	_Atomic uint64_t received;
	_Atomic uint64_t last_value;
	_Atomic uint64_t receive_core;
	_Atomic uint64_t stops;
};

struct probe_state {
	struct probe_slot *slot;
};

static inline uint64_t thread_cpu_mask(void)
{
	cpu_set_t set;
	uint64_t mask = 0;

	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return 0;
	for (unsigned cpu = 0; cpu < 64; cpu++)
		if (CPU_ISSET(cpu, &set))
			mask |= 1ull << cpu;
	return mask;
}

static inline int probe_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct probe_state *s = state;

	s->slot = (struct probe_slot *)arg;
	atomic_store(&s->slot->init_core, atoll_core(ctx));
	atomic_store(&s->slot->init_ncores, atoll_ncores(ctx));
	atomic_store(&s->slot->self, atoll_self(ctx));
	atomic_store(&s->slot->cpu_mask, thread_cpu_mask());
	atomic_fetch_add(&s->slot->inits, 1);
	return 0;
}

static inline void probe_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct probe_state *s = state;

	if (msg->type == PROBE_MSG_QUIT) {
		CHECK_EQ(atoll_stop(ctx, atoll_self(ctx)), 0);
	} else if (msg->type == PROBE_MSG_STOP_RUNTIME) {
		atoll_stop_runtime(ctx);
	} else if (msg->type == PROBE_MSG_VALUE) {
		uint64_t v;

		CHECK_EQ(msg->len, sizeof(v));
		memcpy(&v, msg->data, sizeof(v));
		atomic_store(&s->slot->last_value, v);
	}
	atomic_store(&s->slot->receive_core, atoll_core(ctx));
	atomic_fetch_add(&s->slot->received, 1);
}

static inline void probe_stop(atoll_ctx *ctx, void *state)
{
	struct probe_state *s = state;

	(void)ctx;
	atomic_fetch_add(&s->slot->stops, 1);
}

static const struct atoll_actor_type probe_type = {
	.name = "probe",
	.state_size = sizeof(struct probe_state),
	.init = probe_init,
	.receive = probe_receive,
	.stop = probe_stop,
};

/* --- topology files (test_topology*.c) --------------------------------- */

/* A topology text ("t.ini") and the one error it must give. */
struct topology_bad {
	const char *text;
	const char *message;
};

/* Parses each text against catalog, failing the test unless it gives
 * exactly -EINVAL, its message, and no topology. */
static inline void assert_topology_errors(const struct atoll_catalog *catalog,
					  const struct topology_bad *bad, size_t n)
{
	char err[512];

	for (size_t i = 0; i < n; i++) {
		struct atoll_topology *t = (struct atoll_topology *)1;
		int rc = atoll_topology_parse(bad[i].text, "t.ini", catalog, &t, err, sizeof(err));

		if (rc != -EINVAL || strcmp(err, bad[i].message) != 0)
			fail_msg("case %zu:\n%s\nreturned %d, message:\n  %s\nexpected:\n  %s", i,
				 bad[i].text, rc, err, bad[i].message);
		assert_null(t);
	}
}

/* Parses text ("t.ini") against catalog, failing the test on an error. */
static inline struct atoll_topology *topology_parse_ok(const struct atoll_catalog *catalog,
						       const char *text)
{
	struct atoll_topology *t = NULL;
	char err[512] = "";
	int rc = atoll_topology_parse(text, "t.ini", catalog, &t, err, sizeof(err));

	if (rc != 0)
		fail_msg("parse: %d: %s", rc, err);
	return t;
}

/* Setup: forgets reactor-thread check failures of earlier tests. */
static inline int reset(void **state)
{
	(void)state;
	reset_checks();
	return 0;
}

#endif /* ATOLL_TEST_HELPERS_H */
