/*
 * fanout.c - a scatter/gather coordinator and its workers (fanout.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fanout.h"

struct fanout {
	atoll_ref *workers;
	size_t nworkers;
	uint64_t n;        /* numbers per job */
	uint64_t tasks;    /* tasks per job */
	uint64_t inflight; /* most tasks outstanding */
	uint64_t rounds;   /* jobs to run */
	uint64_t round;    /* jobs finished */
	uint64_t next;     /* next task to send, in this job */
	uint64_t answered; /* tasks answered, in this job */
	uint64_t sum;
	uint64_t start_ns;
	uint64_t cores_seen; /* bit per core (the first 64) a worker answered from */
	bool stop_at_end;
};

static const struct atoll_param_spec fanout_params[] = {
	{ "workers", ATOLL_PARAM_LINK, NULL, 0, 0, NULL, "the worker group", ATOLL_PARAM_ACYCLIC },
	{ "numbers", ATOLL_PARAM_INT, "1000000", 1, INT64_MAX, NULL, "n: sum i*i for i in 1..n",
	  0 },
	{ "tasks", ATOLL_PARAM_INT, "1000", 1, 100000000, NULL, "ranges the job is split into", 0 },
	{ "inflight", ATOLL_PARAM_INT, "64", 1, 1000000, NULL, "most tasks outstanding", 0 },
	{ "rounds", ATOLL_PARAM_INT, "1", 1, 1000000, NULL, "jobs run one after another", 0 },
	{ "stop_at_end", ATOLL_PARAM_BOOL, "yes", 0, 0, NULL, "stop the runtime after the last job",
	  0 },
	{ 0 },
};

static int fanout_check(const struct atoll_params *p, char *err, size_t errlen)
{
	if (atoll_params_int(p, "tasks") > atoll_params_int(p, "numbers")) {
		snprintf(err, errlen, "tasks (%" PRId64 ") must not exceed numbers (%" PRId64 ")",
			 atoll_params_int(p, "tasks"), atoll_params_int(p, "numbers"));
		return -EINVAL;
	}
	return 0;
}

static const struct atoll_msg_spec fanout_accepts[] = {
	{ FANOUT_RESULT, "RESULT", "a worker's partial sum" },
	{ 0 },
};

static const struct atoll_msg_spec fanout_worker_accepts[] = {
	{ FANOUT_TASK, "TASK", "computes the range's sum of squares and replies RESULT" },
	{ 0 },
};

/* Sends task number t of the current job. */
static int send_task(atoll_ctx *ctx, struct fanout *self, uint64_t t)
{
	uint64_t per = self->n / self->tasks;
	struct fanout_task task = {
		.first = t * per + 1,
		.last = t + 1 == self->tasks ? self->n : (t + 1) * per,
	};
	atoll_msg *msg = atoll_msg_new_copy(FANOUT_TASK, &task, sizeof(task));

	if (msg == NULL)
		return -ENOMEM;
	return atoll_ask(ctx, self->workers[t % self->nworkers], msg, NULL);
}

/* The closed form of sum i*i for i in 1..n, n(n+1)(2n+1)/6, mod 2^64: the
 * divisions are exact on the factors (one of n, n+1 is even; one of n,
 * n+1, 2n+1 is a multiple of 3), so the product may wrap. */
static uint64_t sum_squares(uint64_t n)
{
	uint64_t f[3] = { n, n + 1, 2 * n + 1 };

	f[f[0] % 2 == 0 ? 0 : 1] /= 2;
	for (int i = 0; i < 3; i++)
		if (f[i] % 3 == 0) {
			f[i] /= 3;
			break;
		}
	return f[0] * f[1] * f[2];
}

/* Starts the next job. Returns 0, or -errno when a worker is gone. */
static int start_job(atoll_ctx *ctx, struct fanout *self)
{
	self->next = 0;
	self->answered = 0;
	self->sum = 0;
	self->start_ns = atoll_now_ns();
	while (self->next < self->tasks && self->next < self->inflight) {
		int rc = send_task(ctx, self, self->next++);

		if (rc < 0)
			return rc;
	}
	return 0;
}

static int fanout_init(atoll_ctx *ctx, void *state, const void *arg)
{
	const struct atoll_params *p = arg;
	struct fanout *self = state;
	const atoll_ref *workers;

	self->nworkers = atoll_params_links(p, "workers", &workers);
	if (self->nworkers == 0)
		return -EINVAL;
	self->workers = malloc(self->nworkers * sizeof(atoll_ref));
	if (self->workers == NULL)
		return -ENOMEM;
	memcpy(self->workers, workers, self->nworkers * sizeof(atoll_ref));
	self->n = (uint64_t)atoll_params_int(p, "numbers");
	self->tasks = (uint64_t)atoll_params_int(p, "tasks");
	self->inflight = (uint64_t)atoll_params_int(p, "inflight");
	self->rounds = (uint64_t)atoll_params_int(p, "rounds");
	self->stop_at_end = atoll_params_bool(p, "stop_at_end");
	return start_job(ctx, self) < 0 ? -ESRCH : 0;
}

static unsigned popcount64(uint64_t v)
{
	return (unsigned)__builtin_popcountll(v);
}

/* The job is complete: report, then start the next or stop. */
static void job_done(atoll_ctx *ctx, struct fanout *self)
{
	uint64_t want = sum_squares(self->n);
	uint64_t ms = (atoll_now_ns() - self->start_ns) / 1000000;

	if (++self->round < self->rounds && self->sum == want) {
		if (start_job(ctx, self) == 0)
			return;
		fprintf(stderr, "fanout: a worker is gone; stopping\n");
	}
	printf("fanout: %" PRIu64 " tasks over %zu workers on %u cores, %" PRIu64
	       " numbers, sum %s (%" PRIu64 "), %" PRIu64 " ms, %" PRIu64 " jobs\n",
	       self->tasks, self->nworkers, popcount64(self->cores_seen), self->n,
	       self->sum == want ? "ok" : "WRONG", self->sum, ms, self->round);
	fflush(stdout);
	if (self->stop_at_end)
		atoll_stop_runtime(ctx);
}

static void fanout_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct fanout *self = state;
	struct fanout_result r;

	if (msg->type != FANOUT_RESULT || msg->len != sizeof(r))
		return;
	memcpy(&r, msg->data, sizeof(r));
	self->sum += r.sum;
	if (r.core < 64)
		self->cores_seen |= 1ull << r.core;
	if (self->next < self->tasks && send_task(ctx, self, self->next++) < 0) {
		fprintf(stderr, "fanout: a worker is gone; stopping\n");
		atoll_stop_runtime(ctx);
		return;
	}
	if (++self->answered == self->tasks)
		job_done(ctx, self);
}

static void fanout_stop(atoll_ctx *ctx, void *state)
{
	struct fanout *self = state;

	(void)ctx;
	free(self->workers);
}

static void fanout_worker_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct fanout_task task;
	struct fanout_result r = { .core = atoll_core(ctx) };
	atoll_msg *reply;

	(void)state;
	if (msg->type != FANOUT_TASK || msg->len != sizeof(task))
		return;
	memcpy(&task, msg->data, sizeof(task));
	for (uint64_t i = task.first; i <= task.last && i != 0; i++)
		r.sum += i * i;
	reply = atoll_msg_new_copy(FANOUT_RESULT, &r, sizeof(r));
	if (reply != NULL)
		atoll_reply(ctx, msg, reply);
}

const struct atoll_actor_type fanout_type = {
	.name = "fanout",
	.state_size = sizeof(struct fanout),
	.init = fanout_init,
	.receive = fanout_receive,
	.stop = fanout_stop,
};

const struct atoll_type_info fanout_info = {
	.type = &fanout_type,
	.summary = "scatter/gather coordinator: splits a sum over workers, gathers and checks it",
	.params = fanout_params,
	.accepts = fanout_accepts,
	.sends = fanout_worker_accepts,
	.check = fanout_check,
};

const struct atoll_actor_type fanout_worker_type = {
	.name = "fanout-worker",
	.receive = fanout_worker_receive,
};

const struct atoll_type_info fanout_worker_info = {
	.type = &fanout_worker_type,
	.summary = "computes the fanout coordinator's tasks",
	.accepts = fanout_worker_accepts,
	.sends = fanout_accepts,
};
