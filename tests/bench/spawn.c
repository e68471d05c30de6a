/*
 * spawn.c - the spawn benchmark: one actor on one reactor spawns N idle
 * actors (16 bytes of state each) on its own reactor, a chunk per turn, and
 * reports actors spawned per second and the memory each idle actor costs:
 * jemalloc's stats.allocated (when jemalloc is the allocator) and the
 * resident set size, both measured before and after by the spawner itself.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

typedef int (*mallctl_fn)(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);

/* jemalloc's mallctl when the process uses jemalloc, else NULL. Looked up at
 * run time so the driver neither needs jemalloc's header nor breaks without
 * it (sanitizer builds use the libc allocator). */
static mallctl_fn find_mallctl(void)
{
	void *sym = dlsym(RTLD_DEFAULT, "mallctl");
	mallctl_fn fn = NULL;

	if (sym != NULL)
		memcpy(&fn, &sym, sizeof(fn));
	return fn;
}

/* Bytes allocated through jemalloc right now, or 0 when unknown. */
static uint64_t jemalloc_allocated(mallctl_fn mallctl)
{
	uint64_t epoch = 1;
	size_t allocated = 0;
	size_t len = sizeof(epoch);

	if (mallctl == NULL)
		return 0;
	/* Writing "epoch" refreshes the statistics jemalloc caches. */
	if (mallctl("epoch", &epoch, &len, &epoch, sizeof(epoch)) != 0)
		return 0;
	len = sizeof(allocated);
	if (mallctl("stats.allocated", &allocated, &len, NULL, 0) != 0)
		return 0;
	return allocated;
}

struct spawn_run {
	uint64_t target;
	unsigned chunk;
	uint64_t max_ns;
	mallctl_fn mallctl;
	/* Written by the spawner, read by main after the runtime stopped. */
	uint64_t t_start, t_end;
	uint64_t spawned;
	uint64_t alloc_before, alloc_after;
	uint64_t rss_before, rss_after;
	int error;
	bool finished;
};

struct spawner {
	struct spawn_run *run;
	uint64_t deadline;
};

/* The idle actor: 16 bytes of state, never gets a message. */
struct idle_actor {
	uint64_t a, b;
};

static void idle_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	(void)ctx;
	(void)state;
	(void)msg;
}

static const struct atoll_actor_type idle_type = {
	.name = "bench.idle",
	.state_size = sizeof(struct idle_actor),
	.receive = idle_receive,
};

static int spawner_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct spawner *s = state;

	(void)ctx;
	s->run = (struct spawn_run *)arg;
	return 0;
}

static void spawner_end(atoll_ctx *ctx, struct spawn_run *run, int err)
{
	run->t_end = atoll_now_ns();
	run->alloc_after = jemalloc_allocated(run->mallctl);
	run->rss_after = bench_rss();
	run->error = err;
	run->finished = true;
	atoll_stop_runtime(ctx);
}

static void spawner_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct spawner *s = state;
	struct spawn_run *run = s->run;
	int rc;

	if (msg->type == BENCH_MSG_START) {
		run->alloc_before = jemalloc_allocated(run->mallctl);
		run->rss_before = bench_rss();
		run->t_start = atoll_now_ns();
		s->deadline = run->max_ns ? run->t_start + run->max_ns : UINT64_MAX;
	} else if (msg->type != BENCH_MSG_KICK) {
		return;
	}
	for (unsigned i = 0; i < run->chunk && run->spawned < run->target; i++) {
		atoll_ref ref;

		rc = atoll_spawn(ctx, &idle_type, NULL, ATOLL_HERE, &ref);
		if (rc < 0) {
			spawner_end(ctx, run, rc);
			return;
		}
		run->spawned++;
	}
	if (run->spawned >= run->target || atoll_now_ns() >= s->deadline) {
		spawner_end(ctx, run, 0);
		return;
	}
	msg->type = BENCH_MSG_KICK;
	rc = atoll_send(ctx, atoll_self(ctx), msg);
	if (rc < 0)
		spawner_end(ctx, run, rc);
}

static const struct atoll_actor_type spawner_type = {
	.name = "bench.spawner",
	.state_size = sizeof(struct spawner),
	.init = spawner_init,
	.receive = spawner_receive,
};

int bench_spawn(int argc, char **argv)
{
	const char *bench = argv[0];
	struct bench_common common = { .seconds = 10, .timeout = 60 };
	struct spawn_run run = { .target = 1000000, .chunk = 4096 };
	const struct bench_flag flags[] = {
		{ "-n", "--actors", BENCH_FLAG_U64, &run.target, "idle actors to spawn" },
		{ NULL, "--chunk", BENCH_FLAG_UINT, &run.chunk, "spawns per turn of the spawner" },
	};
	struct atoll_config config;
	atoll_runtime *rt;
	atoll_ref spawner;
	uint64_t alive;
	double secs, alloc_per_actor, rss_per_actor;
	int rc;

	rc = bench_parse_flags(argc, argv, &common, flags, BENCH_ARRAY_SIZE(flags));
	if (rc != BENCH_CONTINUE)
		return rc;
	if (run.target == 0 || run.chunk == 0) {
		bench_note(bench, "need -n >= 1 and --chunk >= 1");
		return BENCH_EXIT_USAGE;
	}
	run.max_ns = bench_seconds_ns(common.seconds);
	run.mallctl = find_mallctl();
	if (run.mallctl == NULL || jemalloc_allocated(run.mallctl) == 0) {
		bench_note(bench, "jemalloc statistics unavailable: bytes_per_actor is from RSS");
		run.mallctl = NULL;
	}

	bench_config(&config, &common, 1);
	bench_watchdog_start(bench, common.timeout);
	if (bench_runtime_start(bench, &config, &rt) < 0) {
		bench_watchdog_stop();
		return BENCH_EXIT_FAIL;
	}
	rc = atoll_runtime_spawn(rt, &spawner_type, &run, 0, &spawner);
	if (rc < 0)
		bench_note(bench, "atoll_runtime_spawn: %s", atoll_strerror(rc));
	else
		rc = bench_send_start(bench, rt, spawner, NULL, 0);
	if (rc < 0)
		atoll_runtime_stop(rt);
	bench_runtime_wait(bench, &common, rt);
	bench_watchdog_stop();
	alive = bench_stats_sum(rt, offsetof(struct atoll_stats, actors_alive));
	if (common.verbose)
		bench_note(bench, "actors alive after stop: %" PRIu64, alive);
	atoll_runtime_destroy(rt);
	if (rc < 0)
		return BENCH_EXIT_FAIL;
	if (!run.finished || run.spawned == 0) {
		bench_note(bench, "the runtime stopped before the spawner finished");
		return BENCH_EXIT_FAIL;
	}
	if (run.error != 0)
		bench_note(bench, "atoll_spawn failed after %" PRIu64 " actors: %s", run.spawned,
			   atoll_strerror(run.error));
	else if (run.spawned < run.target)
		bench_note(bench, "time cap reached after %" PRIu64 " of %" PRIu64 " actors",
			   run.spawned, run.target);
	secs = (double)(run.t_end - run.t_start) / 1e9;
	rss_per_actor = ((double)run.rss_after - (double)run.rss_before) / (double)run.spawned;
	alloc_per_actor =
		run.mallctl != NULL
			? ((double)run.alloc_after - (double)run.alloc_before) / (double)run.spawned
			: rss_per_actor;
	bench_result(bench,
		     "actors_per_sec=%.0f ns_per_actor=%.1f bytes_per_actor=%.1f"
		     " rss_bytes_per_actor=%.1f actors=%" PRIu64 " state_bytes=%zu seconds=%.3f",
		     (double)run.spawned / secs, secs * 1e9 / (double)run.spawned, alloc_per_actor,
		     rss_per_actor, run.spawned, sizeof(struct idle_actor), secs);
	return run.error != 0 && run.error != -EAGAIN ? BENCH_EXIT_FAIL : BENCH_EXIT_OK;
}
