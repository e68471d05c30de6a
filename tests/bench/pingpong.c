/*
 * pingpong.c - pingpong.local and pingpong.remote: two actors bounce one
 * message back and forth. The receiver re-sends the very message it got with
 * atoll_send, so the measured loop allocates nothing: it is send + dispatch.
 *
 * Ping counts two messages per round trip and stops the runtime when the
 * count reaches -n or the -t time cap passes, whichever comes first.
 */
#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Shared between main and the two actors. Written by ping only, read by main
 * after atoll_runtime_wait (the join orders it). */
struct pingpong_run {
	atoll_ref ping;
	atoll_ref pong;
	uint64_t target; /* messages to deliver */
	uint64_t max_ns; /* time cap on the measured phase */
	uint64_t t_start;
	uint64_t t_end;
	uint64_t delivered;
	int error;
};

struct pingpong_actor {
	struct pingpong_run *run;
	uint64_t delivered;
	uint64_t deadline;
};

/* Check the clock once per this many messages. */
#define PINGPONG_CLOCK_EVERY 8192

static int pingpong_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct pingpong_actor *a = state;

	(void)ctx;
	a->run = (struct pingpong_run *)arg;
	return 0;
}

static void pingpong_fail(atoll_ctx *ctx, struct pingpong_run *run, int err)
{
	if (run->error == 0)
		run->error = err;
	run->t_end = atoll_now_ns();
	atoll_stop_runtime(ctx);
}

static void ping_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct pingpong_actor *a = state;
	struct pingpong_run *run = a->run;
	atoll_msg *ball;
	int rc;

	if (msg->type == BENCH_MSG_START) {
		ball = atoll_msg_new(BENCH_MSG_BALL, sizeof(uint64_t));
		if (ball == NULL) {
			pingpong_fail(ctx, run, -ENOMEM);
			return;
		}
		run->t_start = atoll_now_ns();
		a->deadline = run->max_ns ? run->t_start + run->max_ns : UINT64_MAX;
		rc = atoll_send(ctx, run->pong, ball);
		if (rc < 0)
			pingpong_fail(ctx, run, rc);
		return;
	}
	if (msg->type != BENCH_MSG_BALL)
		return;
	a->delivered += 2;
	if (a->delivered >= run->target ||
	    (a->delivered % PINGPONG_CLOCK_EVERY == 0 && atoll_now_ns() >= a->deadline)) {
		/* The ball is freed by the runtime when this receive returns. */
		run->t_end = atoll_now_ns();
		run->delivered = a->delivered;
		atoll_stop_runtime(ctx);
		return;
	}
	rc = atoll_send(ctx, run->pong, msg);
	if (rc < 0)
		pingpong_fail(ctx, run, rc);
}

static void pong_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct pingpong_actor *a = state;
	int rc;

	if (msg->type != BENCH_MSG_BALL)
		return;
	rc = atoll_send(ctx, a->run->ping, msg);
	if (rc < 0)
		pingpong_fail(ctx, a->run, rc);
}

static const struct atoll_actor_type ping_type = {
	.name = "bench.ping",
	.state_size = sizeof(struct pingpong_actor),
	.init = pingpong_init,
	.receive = ping_receive,
};

static const struct atoll_actor_type pong_type = {
	.name = "bench.pong",
	.state_size = sizeof(struct pingpong_actor),
	.init = pingpong_init,
	.receive = pong_receive,
};

static int pingpong_main(int argc, char **argv, bool remote)
{
	const char *bench = argv[0];
	struct bench_common common = { .seconds = 10, .timeout = 60 };
	struct pingpong_run run = { 0 };
	uint64_t messages = remote ? 20000000 : 200000000;
	const struct bench_flag flags[] = {
		{ "-n", "--messages", BENCH_FLAG_U64, &messages,
		  "messages to deliver (two per round trip)" },
	};
	struct atoll_config config;
	atoll_runtime *rt;
	double secs;
	int rc;

	rc = bench_parse_flags(argc, argv, &common, flags, BENCH_ARRAY_SIZE(flags));
	if (rc != BENCH_CONTINUE)
		return rc;
	if (messages < 2) {
		bench_note(bench, "-n must be at least 2");
		return BENCH_EXIT_USAGE;
	}
	run.target = messages;
	run.max_ns = bench_seconds_ns(common.seconds);

	bench_config(&config, &common, remote ? 2 : 1);
	bench_watchdog_start(bench, common.timeout);
	if (bench_runtime_start(bench, &config, &rt) < 0) {
		bench_watchdog_stop();
		return BENCH_EXIT_FAIL;
	}
	rc = atoll_runtime_spawn(rt, &pong_type, &run, remote ? 1 : 0, &run.pong);
	if (rc == 0)
		rc = atoll_runtime_spawn(rt, &ping_type, &run, 0, &run.ping);
	if (rc < 0)
		bench_note(bench, "atoll_runtime_spawn: %s", atoll_strerror(rc));
	else
		rc = bench_send_start(bench, rt, run.ping, NULL, 0);
	if (rc < 0)
		atoll_runtime_stop(rt);
	bench_runtime_wait(bench, &common, rt);
	bench_watchdog_stop();
	if (common.verbose)
		bench_note(bench, "uring mode: %s", atoll_runtime_uring_mode(rt, 0));
	atoll_runtime_destroy(rt);
	if (rc < 0)
		return BENCH_EXIT_FAIL;
	if (run.error != 0) {
		bench_note(bench, "an actor failed to send: %s", atoll_strerror(run.error));
		return BENCH_EXIT_FAIL;
	}
	if (run.delivered == 0 || run.t_end <= run.t_start) {
		bench_note(bench, "the runtime stopped before the run finished");
		return BENCH_EXIT_FAIL;
	}
	secs = (double)(run.t_end - run.t_start) / 1e9;
	if (run.delivered < run.target)
		bench_note(bench, "time cap reached after %" PRIu64 " of %" PRIu64 " messages",
			   run.delivered, run.target);
	bench_result(bench, "msgs_per_sec=%.0f ns_per_msg=%.1f msgs=%" PRIu64 " seconds=%.3f",
		     (double)run.delivered / secs, secs * 1e9 / (double)run.delivered,
		     run.delivered, secs);
	return BENCH_EXIT_OK;
}

int bench_pingpong_local(int argc, char **argv)
{
	return pingpong_main(argc, argv, false);
}

int bench_pingpong_remote(int argc, char **argv)
{
	return pingpong_main(argc, argv, true);
}
