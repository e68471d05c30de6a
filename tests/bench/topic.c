/*
 * topic.c - topic.fanout: a publisher on reactor 0 publishes N messages to
 * a topic actor (actors/topic.c) on reactor 0 with S subscribers spread over
 * the reactors; each delivery shares the one published payload. The peer,
 * measured in the same run, alternating: the publisher itself sends each
 * subscriber a copy (atoll_tell). Both do the fan-out on reactor 0 and the
 * subscribers count what they get; the time runs from the first publish to
 * the last subscriber's END. Result: deliveries per second, median of
 * --rounds runs of each, and the ratio shared / copy.
 */
#include "bench.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "topic.h"

#define MAX_SUBS 64

struct fan_run {
	bool shared;
	uint64_t messages;
	unsigned payload;
	unsigned nsubs;
	atoll_ref topic;
	atoll_ref subs[MAX_SUBS];
	uint64_t t_start;           /* publisher */
	_Atomic uint64_t ends;      /* subscribers: ENDs seen */
	_Atomic uint64_t delivered; /* subscribers, added at END */
	uint64_t t_end;             /* the last subscriber */
};

struct publisher {
	struct fan_run *run;
	uint64_t sent;
	char *payload;
};

static int publisher_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct publisher *p = state;

	(void)ctx;
	p->run = (struct fan_run *)arg;
	p->payload = calloc(1, p->run->payload);
	return p->payload != NULL ? 0 : -ENOMEM;
}

static void publisher_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct publisher *p = state;
	struct fan_run *run = p->run;
	bool queued = false;

	if (msg->type == BENCH_MSG_START)
		run->t_start = atoll_now_ns();
	for (unsigned i = 0; i < 64 && p->sent < run->messages && !queued; i++, p->sent++) {
		memcpy(p->payload, &p->sent, sizeof(p->sent));
		if (run->shared) {
			queued = atoll_tell(ctx, run->topic, ATOLL_TOPIC_PUBLISH, p->payload,
					    run->payload) == ATOLL_SENT_QUEUED;
			continue;
		}
		for (unsigned s = 0; s < run->nsubs; s++)
			queued |= atoll_tell(ctx, run->subs[s], ATOLL_LIB_DATA, p->payload,
					     run->payload) == ATOLL_SENT_QUEUED;
	}
	if (p->sent < run->messages) {
		atoll_tell(ctx, atoll_self(ctx), BENCH_MSG_KICK, NULL, 0);
		return;
	}
	if (run->shared) {
		atoll_lib_send_end(ctx, run->topic, 0);
	} else {
		for (unsigned s = 0; s < run->nsubs; s++)
			atoll_lib_send_end(ctx, run->subs[s], 0);
	}
}

static void publisher_stop(atoll_ctx *ctx, void *state)
{
	(void)ctx;
	free(((struct publisher *)state)->payload);
}

static const struct atoll_actor_type publisher_type = {
	.name = "publisher",
	.state_size = sizeof(struct publisher),
	.init = publisher_init,
	.receive = publisher_receive,
	.stop = publisher_stop,
};

struct subscriber {
	struct fan_run *run;
	uint64_t got;
};

static int subscriber_init(atoll_ctx *ctx, void *state, const void *arg)
{
	(void)ctx;
	((struct subscriber *)state)->run = (struct fan_run *)arg;
	return 0;
}

static void subscriber_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct subscriber *s = state;
	struct fan_run *run = s->run;

	if (msg->type == ATOLL_LIB_DATA) {
		s->got++;
	} else if (msg->type == ATOLL_LIB_END) {
		atomic_fetch_add(&run->delivered, s->got);
		if (atomic_fetch_add(&run->ends, 1) + 1 == run->nsubs) {
			run->t_end = atoll_now_ns();
			atoll_stop_runtime(ctx);
		}
	}
}

static const struct atoll_actor_type subscriber_type = {
	.name = "subscriber",
	.state_size = sizeof(struct subscriber),
	.init = subscriber_init,
	.receive = subscriber_receive,
};

/* One run; returns deliveries per second, or a negative value on error. */
static double fan_once(const char *bench, const struct bench_common *common, unsigned reactors,
		       struct fan_run *run)
{
	struct atoll_config config;
	atoll_runtime *rt;
	struct atoll_params *tp;
	atoll_ref pub;
	char err[128];
	double rate = -1;

	bench_config(&config, common, reactors);
	if (bench_runtime_start(bench, &config, &rt) < 0)
		return -1;
	for (unsigned s = 0; s < run->nsubs; s++)
		atoll_runtime_spawn(rt, &subscriber_type, run, (int)(s % reactors), &run->subs[s]);
	tp = atoll_params_new(&atoll_topic_info);
	if (tp == NULL || atoll_params_set_link(tp, "subscribers", run->subs, run->nsubs) < 0 ||
	    atoll_params_finish(tp, err, sizeof(err)) < 0 ||
	    atoll_runtime_spawn(rt, &atoll_topic_type, tp, 0, &run->topic) < 0 ||
	    atoll_runtime_spawn(rt, &publisher_type, run, 0, &pub) < 0) {
		bench_note(bench, "cannot set up the actors");
		atoll_runtime_destroy(rt);
		atoll_params_free(tp);
		return -1;
	}
	if (bench_send_start(bench, rt, pub, NULL, 0) == 0) {
		bench_runtime_wait(bench, common, rt);
		if (atomic_load(&run->delivered) == run->messages * run->nsubs)
			rate = (double)atomic_load(&run->delivered) * 1e9 /
			       (double)(run->t_end - run->t_start);
		else
			bench_note(bench, "delivered %" PRIu64 " of %" PRIu64,
				   atomic_load(&run->delivered), run->messages * run->nsubs);
	}
	atoll_runtime_destroy(rt);
	atoll_params_free(tp);
	return rate;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int bench_topic_fanout(int argc, char **argv)
{
	const char *bench = argv[0];
	struct bench_common common = { .seconds = 10, .timeout = 120 };
	uint64_t messages = 200000;
	unsigned subs = 8, reactors = 4, payload = 256, rounds = 3;
	const struct bench_flag flags[] = {
		{ "-n", "--messages", BENCH_FLAG_U64, &messages, "messages published" },
		{ NULL, "--subs", BENCH_FLAG_UINT, &subs, "subscribers (spread over reactors)" },
		{ NULL, "--reactors", BENCH_FLAG_UINT, &reactors, "reactors" },
		{ NULL, "--payload", BENCH_FLAG_UINT, &payload, "payload bytes (>= 8)" },
		{ NULL, "--rounds", BENCH_FLAG_UINT, &rounds, "runs of each variant (median)" },
	};
	double shared[16], copy[16];
	int rc = bench_parse_flags(argc, argv, &common, flags, BENCH_ARRAY_SIZE(flags));

	if (rc != BENCH_CONTINUE)
		return rc;
	if (messages == 0 || subs == 0 || subs > MAX_SUBS || reactors == 0 || payload < 8 ||
	    payload > (1u << 20) || rounds == 0 || rounds > 16) {
		bench_note(bench, "need -n >= 1, 1 <= --subs <= 64, --reactors >= 1, "
				  "8 <= --payload <= 1048576, 1 <= --rounds <= 16");
		return BENCH_EXIT_USAGE;
	}
	bench_watchdog_start(bench, common.timeout);
	for (unsigned r = 0; r < rounds; r++) {
		for (int v = 0; v < 2; v++) {
			struct fan_run *run = calloc(1, sizeof(*run));
			double rate;

			if (run == NULL) {
				bench_watchdog_stop();
				return BENCH_EXIT_FAIL;
			}
			run->shared = v == 0;
			run->messages = messages;
			run->payload = payload;
			run->nsubs = subs;
			rate = fan_once(bench, &common, reactors, run);
			free(run);
			if (rate < 0) {
				bench_watchdog_stop();
				return BENCH_EXIT_FAIL;
			}
			(v == 0 ? shared : copy)[r] = rate;
			bench_note(bench, "round %u %s: %.0f deliveries/s", r,
				   v == 0 ? "topic (shared)" : "copies", rate);
		}
	}
	bench_watchdog_stop();
	qsort(shared, rounds, sizeof(double), cmp_double);
	qsort(copy, rounds, sizeof(double), cmp_double);
	bench_result(bench,
		     "deliveries_per_sec=%.0f copy_deliveries_per_sec=%.0f ratio=%.2f subs=%u "
		     "reactors=%u payload=%u messages=%" PRIu64 " rounds=%u",
		     shared[rounds / 2], copy[rounds / 2], shared[rounds / 2] / copy[rounds / 2],
		     subs, reactors, payload, messages, rounds);
	return BENCH_EXIT_OK;
}
