/*
 * xcore.c - cross-core messaging: xcore.throughput (a producer actor on
 * reactor 0 allocates and sends N messages to a consumer on reactor 1 that
 * frees them, compared with spsc.floor in the same run, A B A B ...) and
 * xcore.latency (round trips between actors on reactors 0 and 1, with both
 * reactors kept busy by a spinning actor, or parked between pings).
 *
 * xcore_latency_run is also the runtime half of the doorbell benchmark.
 */
#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------- xcore.throughput -- */

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a;
	double y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(v[0]), compare_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define XCORE_MAX_ROUNDS 100

int bench_xcore_throughput(int argc, char **argv)
{
	const char *bench = argv[0];
	struct bench_common common = { .seconds = 5, .timeout = 120 };
	struct counting_params params = {
		.messages = 50000000,
		.chunk = 256,
		.payload = 8,
		.remote = true,
		.window = 65536,
	};
	uint64_t floor_pointers = 300000000;
	unsigned rounds = 5;
	const struct bench_flag flags[] = {
		{ "-n", "--messages", BENCH_FLAG_U64, &params.messages,
		  "messages per round, producer to consumer" },
		{ NULL, "--chunk", BENCH_FLAG_UINT, &params.chunk,
		  "sends per turn of the producer" },
		{ NULL, "--batch", BENCH_FLAG_UINT, &params.batch,
		  "runtime batch (messages per actor turn); 0: runtime default" },
		{ NULL, "--capacity", BENCH_FLAG_UINT, &params.ring_capacity,
		  "runtime ring slots; 0: runtime default" },
		{ NULL, "--payload", BENCH_FLAG_UINT, &params.payload,
		  "payload bytes per message (>= 8)" },
		{ "-w", "--window", BENCH_FLAG_U64, &params.window,
		  "most messages unacknowledged; 0: no limit" },
		{ NULL, "--floor-pointers", BENCH_FLAG_U64, &floor_pointers,
		  "pointers per spsc.floor round" },
		{ NULL, "--rounds", BENCH_FLAG_UINT, &rounds,
		  "rounds of (floor, runtime); medians are reported" },
	};
	double rates[XCORE_MAX_ROUNDS], floors[XCORE_MAX_ROUNDS];
	uint64_t queued = 0, ring_full = 0;
	double rate, floor_rate;
	int cpu_a, cpu_b;
	int rc;

	rc = bench_parse_flags(argc, argv, &common, flags, BENCH_ARRAY_SIZE(flags));
	if (rc != BENCH_CONTINUE)
		return rc;
	if (params.messages == 0 || params.chunk == 0 || params.payload < 8 ||
	    params.payload > (1u << 20) || floor_pointers == 0 || rounds == 0 ||
	    rounds > XCORE_MAX_ROUNDS) {
		bench_note(bench,
			   "need -n >= 1, --chunk >= 1, 8 <= --payload <= 1048576, "
			   "--floor-pointers >= 1, 1 <= --rounds <= %d",
			   XCORE_MAX_ROUNDS);
		return BENCH_EXIT_USAGE;
	}
	params.max_ns = bench_seconds_ns(common.seconds);
	cpu_a = bench_cpu(&common, 0);
	cpu_b = bench_cpu(&common, 1);

	bench_watchdog_start(bench, common.timeout);
	for (unsigned r = 0; r < rounds; r++) {
		struct spsc_floor_result floor;
		struct counting_result result;

		rc = spsc_floor_run(floor_pointers, 4096, 16, cpu_a, cpu_b, params.max_ns, &floor);
		if (rc < 0) {
			bench_note(bench, "spsc.floor: %s", atoll_strerror(rc));
			break;
		}
		floors[r] = floor.ptrs_per_sec;
		rc = counting_run_once(bench, &common, &params, &result);
		if (rc < 0)
			break;
		if (result.received < params.messages)
			bench_note(bench,
				   "round %u: time cap reached after %" PRIu64 " of %" PRIu64
				   " messages",
				   r, result.received, params.messages);
		rates[r] = (double)result.received / result.seconds;
		queued += result.queued;
		ring_full += result.ring_full;
		bench_note(bench, "round %u: floor %.0f ptrs/s, runtime %.0f msgs/s (%.3f)", r,
			   floors[r], rates[r], rates[r] / floors[r]);
	}
	bench_watchdog_stop();
	if (rc < 0)
		return BENCH_EXIT_FAIL;
	rate = median(rates, rounds);
	floor_rate = median(floors, rounds);
	bench_result(bench,
		     "msgs_per_sec=%.0f ns_per_msg=%.1f floor_ptrs_per_sec=%.0f"
		     " ratio_to_floor=%.4f rounds=%u msgs_per_round=%" PRIu64 " queued=%" PRIu64
		     " ring_full=%" PRIu64 " max_rss_mb=%.1f cpus=%d,%d",
		     rate, 1e9 / rate, floor_rate, rate / floor_rate, rounds, params.messages,
		     queued, ring_full, (double)bench_max_rss() / (1024.0 * 1024.0), cpu_a, cpu_b);
	return BENCH_EXIT_OK;
}

/* ---------------------------------------------------------- xcore.latency -- */

/* Shared by main and the actors. The samples array is written by ping only;
 * main reads it after atoll_runtime_wait. */
struct lat_run {
	const struct lat_params *params;
	atoll_ref ping;
	atoll_ref pong;
	uint64_t *samples;
	size_t n;
	uint64_t deadline;
	int error;
	bool finished;
};

struct lat_actor {
	struct lat_run *run;
	uint64_t t_sent;
	uint64_t round_trips;
};

static int lat_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct lat_actor *a = state;

	(void)ctx;
	a->run = (struct lat_run *)arg;
	return 0;
}

static void lat_end(atoll_ctx *ctx, struct lat_run *run, int err)
{
	if (run->error == 0)
		run->error = err;
	run->finished = true;
	atoll_stop_runtime(ctx);
}

static void lat_send_ping(atoll_ctx *ctx, struct lat_actor *a, atoll_msg *msg)
{
	int rc;

	msg->type = BENCH_MSG_BALL;
	a->t_sent = atoll_now_ns();
	rc = atoll_send(ctx, a->run->pong, msg);
	if (rc < 0)
		lat_end(ctx, a->run, rc);
}

static void lat_ping_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct lat_actor *a = state;
	struct lat_run *run = a->run;
	const struct lat_params *p = run->params;
	uint64_t now = atoll_now_ns();
	int rc;

	switch (msg->type) {
	case BENCH_MSG_START:
		run->deadline = p->max_ns ? now + p->max_ns : UINT64_MAX;
		lat_send_ping(ctx, a, msg);
		return;
	case BENCH_MSG_KICK:
		lat_send_ping(ctx, a, msg);
		return;
	case BENCH_MSG_BALL:
		break;
	default:
		return;
	}
	if (a->round_trips++ >= p->warmup)
		run->samples[run->n++] = now - a->t_sent;
	if (run->n >= p->samples || now >= run->deadline) {
		lat_end(ctx, run, 0);
		return;
	}
	if (p->gap_ns == 0) {
		lat_send_ping(ctx, a, msg);
		return;
	}
	/* Idle for the gap so both reactors park before the next ping. */
	msg->type = BENCH_MSG_KICK;
	rc = atoll_send_after(ctx, atoll_self(ctx), msg, p->gap_ns, NULL);
	if (rc < 0)
		lat_end(ctx, run, rc);
}

static void lat_pong_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct lat_actor *a = state;
	int rc;

	if (msg->type != BENCH_MSG_BALL)
		return;
	rc = atoll_send(ctx, a->run->ping, msg);
	if (rc < 0)
		lat_end(ctx, a->run, rc);
}

/* Keeps its reactor busy: one message that it sends itself forever. */
static void lat_spin_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	(void)state;
	msg->type = BENCH_MSG_SPIN;
	atoll_send(ctx, atoll_self(ctx), msg);
}

static const struct atoll_actor_type lat_ping_type = {
	.name = "bench.lat_ping",
	.state_size = sizeof(struct lat_actor),
	.init = lat_init,
	.receive = lat_ping_receive,
};

static const struct atoll_actor_type lat_pong_type = {
	.name = "bench.lat_pong",
	.state_size = sizeof(struct lat_actor),
	.init = lat_init,
	.receive = lat_pong_receive,
};

static const struct atoll_actor_type lat_spin_type = {
	.name = "bench.spin",
	.state_size = 0,
	.receive = lat_spin_receive,
};

int xcore_latency_run(const struct bench_common *common, const struct lat_params *params,
		      struct lat_result *result)
{
	const char *bench = "xcore.latency";
	struct lat_run run = { .params = params };
	struct atoll_config config;
	atoll_runtime *rt;
	int rc;

	memset(result, 0, sizeof(*result));
	run.samples = calloc(params->samples ? params->samples : 1, sizeof(uint64_t));
	if (run.samples == NULL)
		return -ENOMEM;
	bench_config(&config, common, 2);
	config.eventfd_doorbell = params->eventfd_doorbell;
	rc = bench_runtime_start(bench, &config, &rt);
	if (rc < 0) {
		free(run.samples);
		return rc;
	}
	rc = atoll_runtime_spawn(rt, &lat_pong_type, &run, 1, &run.pong);
	if (rc == 0)
		rc = atoll_runtime_spawn(rt, &lat_ping_type, &run, 0, &run.ping);
	for (int core = 0; core < 2 && rc == 0 && params->busy; core++) {
		atoll_ref spin;

		rc = atoll_runtime_spawn(rt, &lat_spin_type, NULL, core, &spin);
		if (rc == 0)
			rc = bench_send_start(bench, rt, spin, NULL, 0);
	}
	if (rc < 0)
		bench_note(bench, "cannot set up the actors: %s", atoll_strerror(rc));
	else
		rc = bench_send_start(bench, rt, run.ping, NULL, 0);
	if (rc < 0)
		atoll_runtime_stop(rt);
	bench_runtime_wait(bench, common, rt);
	result->doorbells = bench_stats_sum(rt, offsetof(struct atoll_stats, doorbells));
	result->wakeups = bench_stats_sum(rt, offsetof(struct atoll_stats, wakeups));
	snprintf(result->mode, sizeof(result->mode), "%s", atoll_runtime_uring_mode(rt, 1));
	/* The mode goes into a RESULT line: no spaces. */
	for (char *c = result->mode; *c != '\0'; c++)
		if (*c == ' ' || *c == '=')
			*c = *c == ' ' ? ',' : ':';
	atoll_runtime_destroy(rt);
	if (rc == 0 && run.error != 0) {
		bench_note(bench, "an actor failed: %s", atoll_strerror(run.error));
		rc = run.error;
	}
	if (rc == 0 && (!run.finished || run.n == 0)) {
		bench_note(bench, "the runtime stopped before the round trips finished");
		rc = -EPROTO;
	}
	if (rc < 0) {
		free(run.samples);
		return rc;
	}
	result->samples = run.samples;
	result->n = run.n;
	return 0;
}

int bench_xcore_latency(int argc, char **argv)
{
	const char *bench = argv[0];
	struct bench_common common = { .seconds = 8, .timeout = 60 };
	uint64_t samples = 20000;
	uint64_t warmup = 1000;
	double gap_us = 200; /* longer than the runtime's default idle spin (50 us) */
	const char *mode = "both";
	const struct bench_flag flags[] = {
		{ "-n", "--samples", BENCH_FLAG_U64, &samples, "round trips measured per mode" },
		{ NULL, "--warmup", BENCH_FLAG_U64, &warmup, "round trips before measuring" },
		{ NULL, "--gap-us", BENCH_FLAG_DOUBLE, &gap_us,
		  "parked mode: idle microseconds before each ping" },
		{ NULL, "--mode", BENCH_FLAG_STRING, &mode, "busy, parked or both" },
	};
	bool modes[2] = { false, false }; /* busy, parked */
	int rc;

	rc = bench_parse_flags(argc, argv, &common, flags, BENCH_ARRAY_SIZE(flags));
	if (rc != BENCH_CONTINUE)
		return rc;
	if (strcmp(mode, "busy") == 0 || strcmp(mode, "both") == 0)
		modes[0] = true;
	if (strcmp(mode, "parked") == 0 || strcmp(mode, "both") == 0)
		modes[1] = true;
	if (!modes[0] && !modes[1]) {
		bench_note(bench, "--mode must be busy, parked or both, not '%s'", mode);
		return BENCH_EXIT_USAGE;
	}
	if (samples == 0 || samples > 100000000 || gap_us > 1e6) {
		bench_note(bench, "need 1 <= -n <= 100m and --gap-us <= 1000000");
		return BENCH_EXIT_USAGE;
	}

	bench_watchdog_start(bench, common.timeout);
	for (int m = 0; m < 2 && rc != BENCH_EXIT_FAIL; m++) {
		struct lat_params params = {
			.samples = samples,
			.warmup = warmup,
			.gap_ns = m == 1 ? (uint64_t)(gap_us * 1000) : 0,
			.busy = m == 0,
			.max_ns = bench_seconds_ns(common.seconds),
		};
		struct lat_result result;
		struct bench_percentiles pc;

		if (!modes[m])
			continue;
		if (xcore_latency_run(&common, &params, &result) < 0) {
			rc = BENCH_EXIT_FAIL;
			break;
		}
		if (result.n < samples)
			bench_note(bench, "%s: time cap reached after %zu of %" PRIu64 " samples",
				   m == 0 ? "busy" : "parked", result.n, samples);
		bench_percentiles(result.samples, result.n, &pc);
		bench_result(bench,
			     "mode=%s p50_ns=%" PRIu64 " p90_ns=%" PRIu64 " p99_ns=%" PRIu64
			     " p999_ns=%" PRIu64 " min_ns=%" PRIu64 " mean_ns=%.0f"
			     " samples=%zu doorbells_per_rt=%.2f wakeups_per_rt=%.2f gap_us=%g"
			     " idle_spin_us=%d uring=%s",
			     m == 0 ? "busy" : "parked", pc.p50, pc.p90, pc.p99, pc.p999, pc.min,
			     pc.mean, result.n,
			     (double)result.doorbells / (double)(result.n + warmup),
			     (double)result.wakeups / (double)(result.n + warmup),
			     m == 1 ? gap_us : 0, common.idle_spin_us, result.mode);
		free(result.samples);
	}
	bench_watchdog_stop();
	return rc == BENCH_EXIT_FAIL ? BENCH_EXIT_FAIL : BENCH_EXIT_OK;
}
