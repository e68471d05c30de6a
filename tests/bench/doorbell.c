/*
 * doorbell.c - waking a parked reactor. Four parked round trips, measured in
 * rounds A B C D A B C D ... in one process: the runtime with its msg_ring
 * doorbell, the runtime with config.eventfd_doorbell, and two bare
 * references with no runtime: two pinned threads, each with its own
 * io_uring, ping-ponging with IORING_OP_MSG_RING while parked in
 * io_uring_wait_cqe, and two pinned threads ping-ponging over eventfds with
 * blocking reads. Every variant idles --gap-us before each ping.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* user_data of the bare pinger's own requests; pings carry seq >= BARE_SEQ0. */
enum {
	BARE_TAG_GAP = 1,  /* the gap's IORING_OP_TIMEOUT */
	BARE_TAG_SEND = 2, /* a msg_ring that failed (success is skipped) */
	BARE_SEQ0 = 1000,
};
#define BARE_STOP UINT64_MAX
/* A bare thread waits at most this long for a CQE before giving up. */
#define BARE_WAIT_NS 2000000000ull

struct bare_run {
	uint64_t samples;
	uint64_t warmup;
	uint64_t gap_ns;
	unsigned setup_flags; /* io_uring setup flags of both rings */
	int cpu_ping;
	int cpu_pong;
	/* msg_ring variant */
	struct io_uring ring_ping;
	struct io_uring ring_pong;
	/* eventfd variant */
	bool ping_ready; /* ring_ping set up */
	bool pong_ready; /* ring_pong set up */
	int efd_ping;
	int efd_pong;
	pthread_barrier_t barrier; /* both threads set up */
	pthread_barrier_t done;    /* bare msg_ring: both threads finished */
	uint64_t *out;             /* samples, written by the pinger */
	size_t n;
	_Atomic int error; /* first error, either thread */
};

static void bare_fail(struct bare_run *run, int err, const char *what)
{
	int none = 0;

	if (atomic_compare_exchange_strong(&run->error, &none, err)) {
		fprintf(stderr, "doorbell: bare %s: %s\n", what, strerror(-err));
	}
}

/* Waits for one CQE on ring, at most BARE_WAIT_NS. Returns 0 or -errno. */
static int bare_wait(struct io_uring *ring, struct io_uring_cqe **cqe)
{
	struct __kernel_timespec ts = {
		.tv_sec = BARE_WAIT_NS / 1000000000ull,
		.tv_nsec = BARE_WAIT_NS % 1000000000ull,
	};

	return io_uring_wait_cqe_timeout(ring, cqe, &ts);
}

/* Queues a msg_ring carrying data to the ring behind fd and submits it. */
static int bare_msg_ring(struct io_uring *ring, int fd, uint64_t data)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	int rc;

	if (sqe == NULL)
		return -EBUSY;
	io_uring_prep_msg_ring(sqe, fd, 0, data, 0);
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
	io_uring_sqe_set_data64(sqe, BARE_TAG_SEND);
	rc = io_uring_submit(ring);
	return rc < 0 ? rc : 0;
}

/* Sets up the calling thread's ring: with SINGLE_ISSUER the creating thread
 * is the only one allowed to submit, so each thread makes its own. */
static int bare_ring_init(struct bare_run *run, struct io_uring *ring)
{
	struct io_uring_params p;

	memset(&p, 0, sizeof(p));
	p.flags = run->setup_flags;
	return io_uring_queue_init_params(8, ring, &p);
}

static void *bare_msg_ring_pong(void *arg)
{
	struct bare_run *run = arg;
	int rc;

	bench_pin_self(run->cpu_pong);
	rc = bare_ring_init(run, &run->ring_pong);
	if (rc < 0)
		bare_fail(run, rc, "io_uring setup of pong");
	run->pong_ready = rc == 0;
	/* The barrier orders the ring fds and the ready flags both ways. */
	pthread_barrier_wait(&run->barrier);
	while (run->pong_ready && run->ping_ready) {
		struct io_uring_cqe *cqe;
		uint64_t data;
		int res;

		rc = bare_wait(&run->ring_pong, &cqe);
		if (rc < 0) {
			bare_fail(run, rc, "msg_ring pong wait");
			break;
		}
		data = cqe->user_data;
		res = cqe->res;
		io_uring_cqe_seen(&run->ring_pong, cqe);
		if (data == BARE_STOP)
			break;
		if (data == BARE_TAG_SEND) {
			bare_fail(run, res, "msg_ring from pong");
			break;
		}
		rc = bare_msg_ring(&run->ring_pong, run->ring_ping.ring_fd, data);
		if (rc < 0) {
			bare_fail(run, rc, "msg_ring submit from pong");
			break;
		}
	}
	if (run->pong_ready)
		io_uring_queue_exit(&run->ring_pong);
	pthread_barrier_wait(&run->done);
	return NULL;
}

/* Parks in the ping ring for the gap, as a reactor waits for its timer. */
static int bare_gap(struct bare_run *run)
{
	struct __kernel_timespec ts = {
		.tv_sec = (long long)(run->gap_ns / 1000000000ull),
		.tv_nsec = (long long)(run->gap_ns % 1000000000ull),
	};
	struct io_uring_sqe *sqe = io_uring_get_sqe(&run->ring_ping);
	struct io_uring_cqe *cqe;
	int rc;

	if (sqe == NULL)
		return -EBUSY;
	io_uring_prep_timeout(sqe, &ts, 0, 0);
	io_uring_sqe_set_data64(sqe, BARE_TAG_GAP);
	rc = io_uring_submit(&run->ring_ping);
	if (rc < 0)
		return rc;
	rc = bare_wait(&run->ring_ping, &cqe);
	if (rc < 0)
		return rc;
	io_uring_cqe_seen(&run->ring_ping, cqe);
	return 0;
}

static void bare_msg_ring_ping_loop(struct bare_run *run)
{
	uint64_t total = run->warmup + run->samples;
	int rc;

	for (uint64_t i = 0; i < total && run->error == 0; i++) {
		uint64_t seq = BARE_SEQ0 + i;
		uint64_t t0;

		if (run->gap_ns > 0) {
			rc = bare_gap(run);
			if (rc < 0) {
				bare_fail(run, rc, "gap timeout");
				break;
			}
		}
		t0 = bench_now_ns();
		rc = bare_msg_ring(&run->ring_ping, run->ring_pong.ring_fd, seq);
		if (rc < 0) {
			bare_fail(run, rc, "msg_ring submit from ping");
			break;
		}
		for (;;) {
			struct io_uring_cqe *cqe;
			uint64_t data;
			int res;

			rc = bare_wait(&run->ring_ping, &cqe);
			if (rc < 0) {
				bare_fail(run, rc, "msg_ring ping wait (lost reply?)");
				break;
			}
			data = cqe->user_data;
			res = cqe->res;
			io_uring_cqe_seen(&run->ring_ping, cqe);
			if (data == seq)
				break;
			if (data == BARE_TAG_SEND) {
				bare_fail(run, res, "msg_ring from ping");
				rc = res;
				break;
			}
		}
		if (rc < 0)
			break;
		if (i >= run->warmup)
			run->out[run->n++] = bench_now_ns() - t0;
	}
	/* Tell pong to end, even after an error (it would time out anyway). */
	bare_msg_ring(&run->ring_ping, run->ring_pong.ring_fd, BARE_STOP);
}

static void *bare_msg_ring_ping(void *arg)
{
	struct bare_run *run = arg;
	int rc;

	bench_pin_self(run->cpu_ping);
	rc = bare_ring_init(run, &run->ring_ping);
	if (rc < 0)
		bare_fail(run, rc, "io_uring setup of ping");
	run->ping_ready = rc == 0;
	pthread_barrier_wait(&run->barrier);
	if (run->ping_ready && run->pong_ready)
		bare_msg_ring_ping_loop(run);
	/* Keep our ring until pong is done: it may still send to it. */
	pthread_barrier_wait(&run->done);
	if (run->ping_ready)
		io_uring_queue_exit(&run->ring_ping);
	return NULL;
}

static int efd_write(int fd, uint64_t v)
{
	return write(fd, &v, sizeof(v)) == (ssize_t)sizeof(v) ? 0 : -errno;
}

static int efd_read(int fd, uint64_t *v)
{
	return read(fd, v, sizeof(*v)) == (ssize_t)sizeof(*v) ? 0 : -errno;
}

/* Runs the pinger and the ponger on two new threads, so that pinning them
 * leaves the main thread's affinity (which the next runtime inherits) alone. */
static int bare_run_threads(struct bare_run *run, void *(*ping)(void *), void *(*pong)(void *))
{
	pthread_t threads[2];
	int rc;

	pthread_barrier_init(&run->barrier, NULL, 2);
	pthread_barrier_init(&run->done, NULL, 2);
	rc = -pthread_create(&threads[1], NULL, pong, run);
	if (rc == 0) {
		rc = -pthread_create(&threads[0], NULL, ping, run);
		if (rc < 0) {
			/* Release pong: it sees no ping ring, or reads the
			 * eventfd stop value, and ends. */
			if (run->efd_pong >= 0)
				efd_write(run->efd_pong, 1ull << 32);
			pthread_barrier_wait(&run->barrier);
			pthread_barrier_wait(&run->done);
		} else {
			pthread_join(threads[0], NULL);
		}
		pthread_join(threads[1], NULL);
	}
	pthread_barrier_destroy(&run->done);
	pthread_barrier_destroy(&run->barrier);
	return rc < 0 ? rc : run->error;
}

static int bare_msg_ring_run(struct bare_run *run)
{
	return bare_run_threads(run, bare_msg_ring_ping, bare_msg_ring_pong);
}

static void *bare_eventfd_pong(void *arg)
{
	struct bare_run *run = arg;

	bench_pin_self(run->cpu_pong);
	pthread_barrier_wait(&run->barrier);
	for (;;) {
		uint64_t v;
		int rc = efd_read(run->efd_pong, &v);

		if (rc < 0) {
			bare_fail(run, rc, "eventfd pong read");
			break;
		}
		if (v >= (1ull << 32))
			break;
		rc = efd_write(run->efd_ping, 1);
		if (rc < 0) {
			bare_fail(run, rc, "eventfd pong write");
			break;
		}
	}
	pthread_barrier_wait(&run->done);
	return NULL;
}

static void *bare_eventfd_ping(void *arg)
{
	struct bare_run *run = arg;
	uint64_t total = run->warmup + run->samples;
	struct timespec gap = {
		.tv_sec = (time_t)(run->gap_ns / 1000000000ull),
		.tv_nsec = (long)(run->gap_ns % 1000000000ull),
	};

	bench_pin_self(run->cpu_ping);
	pthread_barrier_wait(&run->barrier);
	for (uint64_t i = 0; i < total && run->error == 0; i++) {
		uint64_t t0, v;
		int rc;

		if (run->gap_ns > 0)
			clock_nanosleep(CLOCK_MONOTONIC, 0, &gap, NULL);
		t0 = bench_now_ns();
		rc = efd_write(run->efd_pong, 1);
		if (rc == 0)
			rc = efd_read(run->efd_ping, &v);
		if (rc < 0) {
			bare_fail(run, rc, "eventfd ping");
			break;
		}
		if (i >= run->warmup)
			run->out[run->n++] = bench_now_ns() - t0;
	}
	efd_write(run->efd_pong, 1ull << 32);
	pthread_barrier_wait(&run->done);
	return NULL;
}

static int bare_eventfd_run(struct bare_run *run)
{
	int rc;

	run->efd_ping = eventfd(0, EFD_CLOEXEC);
	run->efd_pong = eventfd(0, EFD_CLOEXEC);
	if (run->efd_ping < 0 || run->efd_pong < 0) {
		rc = -errno;
		goto out;
	}
	rc = bare_run_threads(run, bare_eventfd_ping, bare_eventfd_pong);
out:
	if (run->efd_ping >= 0)
		close(run->efd_ping);
	if (run->efd_pong >= 0)
		close(run->efd_pong);
	return rc < 0 ? rc : run->error;
}

/* ------------------------------------------------------------- the bench -- */

enum doorbell_variant {
	DB_RUNTIME_MSG_RING,
	DB_RUNTIME_EVENTFD,
	DB_BARE_MSG_RING,
	DB_BARE_EVENTFD,
	DB_VARIANTS,
};

static const char *const variant_names[DB_VARIANTS] = {
	"runtime_msg_ring",
	"runtime_eventfd",
	"bare_msg_ring",
	"bare_eventfd",
};

struct variant_samples {
	uint64_t *v;
	size_t n;
	uint64_t doorbells;   /* runtime variants: both reactors */
	uint64_t round_trips; /* runtime variants, warmup included */
	char mode[64];
};

static void append(struct variant_samples *dst, const uint64_t *src, size_t n)
{
	memcpy(dst->v + dst->n, src, n * sizeof(src[0]));
	dst->n += n;
}

int bench_doorbell(int argc, char **argv)
{
	const char *bench = argv[0];
	/* The reactors never spin before parking, unless --idle-spin-us says
	 * so: a round trip between two parked reactors, like the bare ones. */
	struct bench_common common = { .seconds = 5, .timeout = 120, .idle_spin_us = -1 };
	uint64_t samples = 5000;
	uint64_t warmup = 200;
	unsigned rounds = 3;
	double gap_us = 50;
	bool bare_defer = false;
	const struct bench_flag flags[] = {
		{ "-n", "--samples", BENCH_FLAG_U64, &samples,
		  "round trips per variant per round" },
		{ NULL, "--warmup", BENCH_FLAG_U64, &warmup,
		  "round trips before measuring, per variant per round" },
		{ NULL, "--rounds", BENCH_FLAG_UINT, &rounds,
		  "rounds of the four variants, interleaved" },
		{ NULL, "--gap-us", BENCH_FLAG_DOUBLE, &gap_us,
		  "idle microseconds before each ping, all variants" },
		{ NULL, "--bare-defer", BENCH_FLAG_BOOL, &bare_defer,
		  "bare rings with SINGLE_ISSUER|DEFER_TASKRUN (default: plain)" },
	};
	struct variant_samples all[DB_VARIANTS];
	struct bench_percentiles pc[DB_VARIANTS];
	uint64_t *scratch;
	int cpu_a, cpu_b;
	int rc;

	rc = bench_parse_flags(argc, argv, &common, flags, BENCH_ARRAY_SIZE(flags));
	if (rc != BENCH_CONTINUE)
		return rc;
	if (samples == 0 || samples > 10000000 || rounds == 0 || rounds > 1000 || gap_us > 1e6 ||
	    samples * rounds > 100000000) {
		bench_note(bench, "need 1 <= -n <= 10m, 1 <= --rounds <= 1000, "
				  "--gap-us <= 1000000");
		return BENCH_EXIT_USAGE;
	}
	cpu_a = bench_cpu(&common, 0);
	cpu_b = bench_cpu(&common, 1);
	memset(all, 0, sizeof(all));
	scratch = calloc(samples, sizeof(uint64_t));
	rc = scratch != NULL ? 0 : -ENOMEM;
	for (int v = 0; v < DB_VARIANTS && rc == 0; v++) {
		all[v].v = calloc(samples * rounds, sizeof(uint64_t));
		if (all[v].v == NULL)
			rc = -ENOMEM;
	}
	if (rc < 0) {
		bench_note(bench, "out of memory");
		goto out;
	}

	bench_watchdog_start(bench, common.timeout);
	for (unsigned r = 0; r < rounds && rc == 0; r++) {
		for (int v = 0; v < DB_VARIANTS && rc == 0; v++) {
			if (v == DB_RUNTIME_MSG_RING || v == DB_RUNTIME_EVENTFD) {
				struct lat_params params = {
					.samples = samples,
					.warmup = warmup,
					.gap_ns = (uint64_t)(gap_us * 1000),
					.eventfd_doorbell = v == DB_RUNTIME_EVENTFD,
					.max_ns = bench_seconds_ns(common.seconds),
				};
				struct lat_result result;

				rc = xcore_latency_run(&common, &params, &result);
				if (rc < 0)
					break;
				append(&all[v], result.samples, result.n);
				all[v].doorbells += result.doorbells;
				all[v].round_trips += result.n + warmup;
				snprintf(all[v].mode, sizeof(all[v].mode), "%s", result.mode);
				free(result.samples);
			} else {
				struct bare_run run = {
					.samples = samples,
					.warmup = warmup,
					.gap_ns = (uint64_t)(gap_us * 1000),
					.setup_flags = bare_defer
							       ? IORING_SETUP_SINGLE_ISSUER |
									 IORING_SETUP_DEFER_TASKRUN
							       : 0,
					.cpu_ping = cpu_a,
					.cpu_pong = cpu_b,
					.efd_ping = -1,
					.efd_pong = -1,
					.out = scratch,
				};

				rc = v == DB_BARE_MSG_RING ? bare_msg_ring_run(&run)
							   : bare_eventfd_run(&run);
				if (rc < 0) {
					bench_note(bench, "%s: %s", variant_names[v],
						   atoll_strerror(rc));
					break;
				}
				append(&all[v], scratch, run.n);
			}
		}
		if (rc == 0)
			bench_note(bench, "round %u done", r);
	}
	bench_watchdog_stop();
	if (rc < 0)
		goto out;

	for (int v = 0; v < DB_VARIANTS; v++) {
		bench_percentiles(all[v].v, all[v].n, &pc[v]);
		bench_note(bench,
			   "%-17s p50 %" PRIu64 " ns, p99 %" PRIu64 " ns, min %" PRIu64
			   " ns, %zu samples%s%s",
			   variant_names[v], pc[v].p50, pc[v].p99, pc[v].min, all[v].n,
			   all[v].mode[0] ? ", uring " : "", all[v].mode);
	}
	bench_result(
		bench,
		"runtime_msg_ring_p50_ns=%" PRIu64 " runtime_eventfd_p50_ns=%" PRIu64
		" bare_msg_ring_p50_ns=%" PRIu64 " bare_eventfd_p50_ns=%" PRIu64
		" ratio_runtime_to_bare_msg_ring=%.3f ratio_runtime_eventfd_to_bare_eventfd=%.3f"
		" runtime_msg_ring_p99_ns=%" PRIu64 " runtime_eventfd_p99_ns=%" PRIu64
		" bare_msg_ring_p99_ns=%" PRIu64 " bare_eventfd_p99_ns=%" PRIu64
		" doorbells_per_rt=%.2f samples=%zu gap_us=%g idle_spin_us=%d cpus=%d,%d",
		pc[0].p50, pc[1].p50, pc[2].p50, pc[3].p50, (double)pc[0].p50 / (double)pc[2].p50,
		(double)pc[1].p50 / (double)pc[3].p50, pc[0].p99, pc[1].p99, pc[2].p99, pc[3].p99,
		all[0].round_trips ? (double)all[0].doorbells / (double)all[0].round_trips : 0,
		all[0].n, gap_us, common.idle_spin_us, cpu_a, cpu_b);
out:
	for (int v = 0; v < DB_VARIANTS; v++)
		free(all[v].v);
	free(scratch);
	return rc < 0 ? BENCH_EXIT_FAIL : BENCH_EXIT_OK;
}
