/*
 * threadring.c - the Savina thread ring: 503 actors in a ring, spread over
 * the reactors round-robin (actor i on reactor i mod R), pass one token N
 * times. The token is one message forwarded with atoll_send, carrying the
 * hops left; whoever sees it reach zero records the time and stops the
 * runtime. With R = 2 every hop but one per lap crosses cores.
 */
#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Written by main before the token starts; the refs are read-only after. */
struct threadring_run {
	atoll_ref *refs;
	unsigned actors;
	uint64_t hops;
	uint64_t max_ns;
	uint64_t t_start;  /* written by the first actor */
	uint64_t deadline; /* written once, before the token moves on */
	/* Written by the actor that ends the run. */
	uint64_t t_end;
	uint64_t done;
	int error;
	bool finished;
};

struct threadring_actor {
	struct threadring_run *run;
	atoll_ref next;
	unsigned index;
};

struct threadring_arg {
	struct threadring_run *run;
	unsigned index;
};

/* Check the clock once per this many hops. */
#define THREADRING_CLOCK_EVERY 4096

static int threadring_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct threadring_actor *a = state;
	const struct threadring_arg *ta = arg;

	(void)ctx;
	a->run = ta->run;
	a->index = ta->index;
	return 0;
}

static void threadring_end(atoll_ctx *ctx, struct threadring_run *run, uint64_t left, int err)
{
	run->t_end = atoll_now_ns();
	run->done = run->hops - left;
	run->error = err;
	run->finished = true;
	atoll_stop_runtime(ctx);
}

static void threadring_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct threadring_actor *a = state;
	struct threadring_run *run = a->run;
	uint64_t left;
	int rc;

	if (msg->len < sizeof(left))
		return;
	if (msg->type == BENCH_MSG_START) {
		/* The token's first hop: main sent it from outside. */
		run->t_start = atoll_now_ns();
		run->deadline = run->max_ns ? run->t_start + run->max_ns : UINT64_MAX;
		msg->type = BENCH_MSG_BALL;
	} else if (msg->type != BENCH_MSG_BALL) {
		return;
	}
	if (a->next == ATOLL_REF_NONE)
		a->next = run->refs[(a->index + 1) % run->actors];
	memcpy(&left, msg->data, sizeof(left));
	if (left == 0 || (left % THREADRING_CLOCK_EVERY == 0 && atoll_now_ns() >= run->deadline)) {
		threadring_end(ctx, run, left, 0);
		return;
	}
	left--;
	memcpy(msg->data, &left, sizeof(left));
	rc = atoll_send(ctx, a->next, msg);
	if (rc < 0)
		threadring_end(ctx, run, left, rc);
}

static const struct atoll_actor_type threadring_type = {
	.name = "bench.threadring",
	.state_size = sizeof(struct threadring_actor),
	.init = threadring_init,
	.receive = threadring_receive,
};

int bench_threadring(int argc, char **argv)
{
	const char *bench = argv[0];
	struct bench_common common = { .seconds = 10, .timeout = 60 };
	struct threadring_run run = { 0 };
	struct threadring_arg *args = NULL;
	uint64_t hops = 0;
	unsigned actors = 503;
	unsigned reactors = 0;
	const struct bench_flag flags[] = {
		{ "-n", "--hops", BENCH_FLAG_U64, &hops,
		  "times the token is passed; 0: 100m on one reactor, 20m on more" },
		{ NULL, "--actors", BENCH_FLAG_UINT, &actors, "actors in the ring" },
		{ "-r", "--reactors", BENCH_FLAG_UINT, &reactors,
		  "reactors to spread the ring over; 0: one per CPU" },
	};
	struct atoll_config config;
	atoll_runtime *rt;
	unsigned nreactors;
	double secs;
	int rc;

	rc = bench_parse_flags(argc, argv, &common, flags, BENCH_ARRAY_SIZE(flags));
	if (rc != BENCH_CONTINUE)
		return rc;
	if (actors < 2 || actors > 1000000 || reactors > ATOLL_MAX_REACTORS) {
		bench_note(bench, "need 2 <= --actors <= 1000000, --reactors <= %u",
			   ATOLL_MAX_REACTORS);
		return BENCH_EXIT_USAGE;
	}
	run.actors = actors;
	run.max_ns = bench_seconds_ns(common.seconds);
	run.refs = calloc(actors, sizeof(run.refs[0]));
	args = calloc(actors, sizeof(args[0]));
	if (run.refs == NULL || args == NULL) {
		bench_note(bench, "out of memory");
		free(run.refs);
		free(args);
		return BENCH_EXIT_FAIL;
	}

	bench_config(&config, &common, reactors);
	bench_watchdog_start(bench, common.timeout);
	if (bench_runtime_start(bench, &config, &rt) < 0) {
		bench_watchdog_stop();
		free(run.refs);
		free(args);
		return BENCH_EXIT_FAIL;
	}
	nreactors = atoll_runtime_reactors(rt);
	/* Hops between reactors cost a ring crossing, or a doorbell when the
	 * next reactor has parked: slower, and -t caps the run anyway. */
	if (hops == 0)
		hops = nreactors == 1 ? 100000000 : 20000000;
	run.hops = hops;
	rc = 0;
	for (unsigned i = 0; i < actors && rc == 0; i++) {
		args[i].run = &run;
		args[i].index = i;
		rc = atoll_runtime_spawn(rt, &threadring_type, &args[i], (int)(i % nreactors),
					 &run.refs[i]);
	}
	if (rc < 0) {
		bench_note(bench, "atoll_runtime_spawn: %s", atoll_strerror(rc));
	} else {
		/* The refs are complete before the token leaves: the send below
		 * orders them before any actor's first receive. */
		rc = bench_send_start(bench, rt, run.refs[0], &hops, sizeof(hops));
	}
	if (rc < 0)
		atoll_runtime_stop(rt);
	bench_runtime_wait(bench, &common, rt);
	bench_watchdog_stop();
	atoll_runtime_destroy(rt);
	free(run.refs);
	free(args);
	if (rc < 0)
		return BENCH_EXIT_FAIL;
	if (!run.finished || run.done == 0) {
		bench_note(bench, "the runtime stopped before the token finished");
		return BENCH_EXIT_FAIL;
	}
	if (run.error != 0) {
		bench_note(bench, "an actor failed to send: %s", atoll_strerror(run.error));
		return BENCH_EXIT_FAIL;
	}
	secs = (double)(run.t_end - run.t_start) / 1e9;
	if (run.done < hops)
		bench_note(bench, "time cap reached after %" PRIu64 " of %" PRIu64 " hops",
			   run.done, hops);
	bench_result(bench,
		     "msgs_per_sec=%.0f ns_per_msg=%.1f msgs=%" PRIu64
		     " actors=%u reactors=%u seconds=%.3f",
		     (double)run.done / secs, secs * 1e9 / (double)run.done, run.done, actors,
		     nreactors, secs);
	return BENCH_EXIT_OK;
}
