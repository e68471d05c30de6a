/*
 * counting.c - one sender actor sends N fresh messages to one receiver, which
 * counts them and checks their order; a last END message carries the total.
 * The sender sends a chunk per turn and then kicks itself, so it never holds
 * its reactor long. A self-kick is handled in the same turn (up to the
 * runtime's batch), so a --window W of unacknowledged messages (ACK every
 * W/4) bounds the receiver's mailbox; --window 0 floods it, as Savina does.
 * counting_run_once also drives xcore.throughput (receiver on reactor 1).
 */
#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Shared between main and the actors; each field has one writer, read by
 * main after atoll_runtime_wait. */
struct counting_run {
	atoll_ref sender;
	atoll_ref receiver;
	const struct counting_params *params;
	uint64_t t_start;      /* sender */
	uint64_t sent;         /* sender */
	uint64_t queued;       /* sender */
	int sender_error;      /* sender */
	uint64_t t_end;        /* receiver */
	uint64_t received;     /* receiver */
	uint64_t out_of_order; /* receiver */
	uint64_t announced;    /* receiver: the total carried by END */
	bool finished;         /* receiver */
};

struct counting_actor {
	struct counting_run *run;
	uint64_t seq;      /* sender: next to send; receiver: next expected */
	uint64_t acked;    /* sender: messages the receiver acknowledged */
	uint64_t deadline; /* sender */
	uint64_t out_of_order;
	bool kick_pending; /* sender: a kick to self is on its way */
	bool finished;     /* sender: END sent */
};

static int counting_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct counting_actor *a = state;

	(void)ctx;
	a->run = (struct counting_run *)arg;
	return 0;
}

static void sender_fail(atoll_ctx *ctx, struct counting_run *run, int err)
{
	run->sender_error = err;
	atoll_stop_runtime(ctx);
}

/* Sends the END message that tells the receiver the total. */
static void sender_finish(atoll_ctx *ctx, struct counting_actor *a)
{
	struct counting_run *run = a->run;
	atoll_msg *end = atoll_msg_new(BENCH_MSG_END, sizeof(uint64_t));
	int rc;

	run->sent = a->seq;
	if (end == NULL) {
		sender_fail(ctx, run, -ENOMEM);
		return;
	}
	memcpy(end->data, &a->seq, sizeof(a->seq));
	rc = atoll_send(ctx, run->receiver, end);
	if (rc < 0)
		sender_fail(ctx, run, rc);
}

/* True when the window lets the sender send one more message. */
static bool window_open(const struct counting_actor *a, const struct counting_params *p)
{
	return p->window == 0 || a->seq - a->acked < p->window;
}

static void sender_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct counting_actor *a = state;
	struct counting_run *run = a->run;
	const struct counting_params *p = run->params;
	uint64_t stop_at;
	int rc;

	switch (msg->type) {
	case BENCH_MSG_START:
		run->t_start = atoll_now_ns();
		a->deadline = p->max_ns ? run->t_start + p->max_ns : UINT64_MAX;
		break;
	case BENCH_MSG_KICK:
		a->kick_pending = false;
		break;
	case BENCH_MSG_ACK:
		if (msg->len >= sizeof(a->acked))
			memcpy(&a->acked, msg->data, sizeof(a->acked));
		/* A kick already queued will send the next chunk. */
		if (a->kick_pending)
			return;
		break;
	default:
		return;
	}
	if (a->finished)
		return;
	stop_at = a->seq + p->chunk;
	if (stop_at > p->messages)
		stop_at = p->messages;
	while (a->seq < stop_at && window_open(a, p)) {
		atoll_msg *m = atoll_msg_new(BENCH_MSG_COUNT, p->payload);

		if (m == NULL) {
			sender_fail(ctx, run, -ENOMEM);
			return;
		}
		memcpy(m->data, &a->seq, sizeof(a->seq));
		rc = atoll_send(ctx, run->receiver, m);
		if (rc < 0) {
			sender_fail(ctx, run, rc);
			return;
		}
		a->seq++;
		if (rc == ATOLL_SENT_QUEUED) {
			/* Backpressure: the ring to the receiver is full. Yield
			 * the reactor so it can publish, and go on next turn. */
			run->queued++;
			break;
		}
	}
	if (a->seq >= p->messages || atoll_now_ns() >= a->deadline) {
		a->finished = true;
		sender_finish(ctx, a);
		return;
	}
	if (!window_open(a, p))
		return; /* The receiver's next ACK restarts the sender. */
	/* Reuse the message as the next kick: no allocation per turn. */
	msg->type = BENCH_MSG_KICK;
	a->kick_pending = true;
	rc = atoll_send(ctx, atoll_self(ctx), msg);
	if (rc < 0)
		sender_fail(ctx, run, rc);
}

static void receiver_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct counting_actor *a = state;
	struct counting_run *run = a->run;
	const struct counting_params *p = run->params;
	uint64_t seq;
	int rc;

	if (msg->len < sizeof(seq))
		return;
	memcpy(&seq, msg->data, sizeof(seq));
	if (msg->type == BENCH_MSG_COUNT) {
		if (seq != a->seq)
			a->out_of_order++;
		a->seq++;
		if (p->window != 0 && a->seq % p->ack_every == 0) {
			/* Reuse the counted message as the ACK. */
			memcpy(msg->data, &a->seq, sizeof(a->seq));
			msg->type = BENCH_MSG_ACK;
			rc = atoll_send(ctx, run->sender, msg);
			if (rc < 0) {
				run->sender_error = rc;
				atoll_stop_runtime(ctx);
			}
		}
		return;
	}
	if (msg->type != BENCH_MSG_END)
		return;
	run->t_end = atoll_now_ns();
	run->received = a->seq;
	run->out_of_order = a->out_of_order;
	run->announced = seq;
	run->finished = true;
	atoll_stop_runtime(ctx);
}

static const struct atoll_actor_type sender_type = {
	.name = "bench.sender",
	.state_size = sizeof(struct counting_actor),
	.init = counting_init,
	.receive = sender_receive,
};

static const struct atoll_actor_type receiver_type = {
	.name = "bench.receiver",
	.state_size = sizeof(struct counting_actor),
	.init = counting_init,
	.receive = receiver_receive,
};

int counting_run_once(const char *bench, const struct bench_common *common,
		      const struct counting_params *params, struct counting_result *result)
{
	struct counting_params p = *params;
	struct counting_run run = { .params = &p };
	struct atoll_config config;
	atoll_runtime *rt;
	int rc;

	memset(result, 0, sizeof(*result));
	p.ack_every = p.window / 4 ? p.window / 4 : 1;
	bench_config(&config, common, params->remote ? 2 : 1);
	config.batch = params->batch;
	config.ring_capacity = params->ring_capacity;
	rc = bench_runtime_start(bench, &config, &rt);
	if (rc < 0)
		return rc;
	rc = atoll_runtime_spawn(rt, &receiver_type, &run, params->remote ? 1 : 0, &run.receiver);
	if (rc == 0)
		rc = atoll_runtime_spawn(rt, &sender_type, &run, 0, &run.sender);
	if (rc < 0)
		bench_note(bench, "atoll_runtime_spawn: %s", atoll_strerror(rc));
	else
		rc = bench_send_start(bench, rt, run.sender, NULL, 0);
	if (rc < 0)
		atoll_runtime_stop(rt);
	bench_runtime_wait(bench, common, rt);
	result->ring_full = bench_stats_sum(rt, offsetof(struct atoll_stats, ring_full));
	result->doorbells = bench_stats_sum(rt, offsetof(struct atoll_stats, doorbells));
	atoll_runtime_destroy(rt);
	if (rc < 0)
		return rc;
	if (run.sender_error != 0) {
		bench_note(bench, "the sender failed: %s", atoll_strerror(run.sender_error));
		return run.sender_error;
	}
	if (!run.finished) {
		bench_note(bench, "the runtime stopped before the receiver got END");
		return -EPROTO;
	}
	result->sent = run.sent;
	result->received = run.received;
	result->out_of_order = run.out_of_order;
	result->queued = run.queued;
	result->seconds = (double)(run.t_end - run.t_start) / 1e9;
	if (run.received != run.announced || run.out_of_order != 0) {
		bench_note(bench,
			   "LIBRARY PROBLEM: sent %" PRIu64 ", received %" PRIu64 ", %" PRIu64
			   " out of order",
			   run.announced, run.received, run.out_of_order);
		return -EPROTO;
	}
	return 0;
}

int bench_counting(int argc, char **argv)
{
	const char *bench = argv[0];
	struct bench_common common = { .seconds = 10, .timeout = 60 };
	struct counting_params params = {
		.messages = 100000000,
		.chunk = 256,
		.payload = 8,
		.window = 65536,
	};
	struct counting_result result;
	const struct bench_flag flags[] = {
		{ "-n", "--messages", BENCH_FLAG_U64, &params.messages, "messages to send" },
		{ NULL, "--chunk", BENCH_FLAG_UINT, &params.chunk, "sends per turn of the sender" },
		{ NULL, "--batch", BENCH_FLAG_UINT, &params.batch,
		  "runtime batch (messages per actor turn); 0: runtime default" },
		{ NULL, "--payload", BENCH_FLAG_UINT, &params.payload,
		  "payload bytes per message (>= 8)" },
		{ "-w", "--window", BENCH_FLAG_U64, &params.window,
		  "most messages unacknowledged; 0: no limit (Savina)" },
	};
	int rc;

	rc = bench_parse_flags(argc, argv, &common, flags, BENCH_ARRAY_SIZE(flags));
	if (rc != BENCH_CONTINUE)
		return rc;
	if (params.messages == 0 || params.chunk == 0 || params.payload < 8 ||
	    params.payload > (1u << 20)) {
		bench_note(bench, "need -n >= 1, --chunk >= 1, 8 <= --payload <= 1048576");
		return BENCH_EXIT_USAGE;
	}
	params.max_ns = bench_seconds_ns(common.seconds);

	bench_watchdog_start(bench, common.timeout);
	rc = counting_run_once(bench, &common, &params, &result);
	bench_watchdog_stop();
	if (rc < 0)
		return BENCH_EXIT_FAIL;
	if (result.received < params.messages)
		bench_note(bench, "time cap reached after %" PRIu64 " of %" PRIu64 " messages",
			   result.received, params.messages);
	bench_result(bench,
		     "msgs_per_sec=%.0f ns_per_msg=%.1f msgs=%" PRIu64
		     " seconds=%.3f chunk=%u window=%" PRIu64 " max_rss_mb=%.1f",
		     (double)result.received / result.seconds,
		     result.seconds * 1e9 / (double)result.received, result.received,
		     result.seconds, params.chunk, params.window,
		     (double)bench_max_rss() / (1024.0 * 1024.0));
	return BENCH_EXIT_OK;
}
