/*
 * aggregator.c - the batching stage: records go into buf, joined with '\n';
 * a full batch, the linger timer or an END sends buf as one DATA message.
 *
 * Invariants: buf holds `held` records (len bytes); batch_id names the batch
 * being filled, and a linger timer whose id is not batch_id is stale;
 * per_member[i] counts records sent to to[i] since the last END to it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aggregator.h"
#include "log.h"

struct aggregator {
	atoll_ref *to;
	uint64_t *per_member;
	size_t nto;
	size_t rr;
	uint64_t batch;
	uint64_t linger_ns;
	char *buf;
	size_t len, cap;
	uint64_t held;
	uint64_t batch_id;
	struct atoll_lib_stats stats;
};

static int aggregator_init(atoll_ctx *ctx, void *state, const void *arg)
{
	const struct atoll_params *p = arg;
	struct aggregator *a = state;
	const atoll_ref *to;

	(void)ctx;
	a->nto = atoll_params_links(p, "to", &to);
	if (a->nto == 0) {
		atoll__log_error("aggregator: its link 'to' names no actor");
		return -EINVAL;
	}
	a->to = malloc(a->nto * sizeof(*a->to));
	a->per_member = calloc(a->nto, sizeof(*a->per_member));
	if (a->to == NULL || a->per_member == NULL) {
		free(a->to); /* the stop hook does not run after a failed init */
		free(a->per_member);
		return -ENOMEM;
	}
	memcpy(a->to, to, a->nto * sizeof(*to));
	a->batch = (uint64_t)atoll_params_int(p, "batch");
	a->linger_ns = (uint64_t)atoll_params_int(p, "linger");
	return 0;
}

static void release_batch(atoll_msg *msg)
{
	free(msg->data);
}

/* Sends the batch being filled, if any, and starts a new one. */
static void flush(atoll_ctx *ctx, struct aggregator *a)
{
	atoll_msg *m;

	if (a->held == 0)
		return;
	a->batch_id++;
	m = atoll_msg_new(ATOLL_LIB_DATA, 0);
	if (m == NULL) {
		a->stats.dropped += a->held;
		free(a->buf);
	} else {
		uint32_t len = (uint32_t)a->len;

		atoll_msg_attach(m, a->buf, len, (uint32_t)a->cap, release_batch);
		if (atoll_send(ctx, a->to[a->rr], m) < 0) {
			a->stats.dropped += a->held;
		} else {
			a->stats.out++;
			a->stats.bytes += len;
			a->per_member[a->rr] += a->held;
		}
		a->rr = a->rr + 1 == a->nto ? 0 : a->rr + 1;
	}
	a->buf = NULL;
	a->len = a->cap = 0;
	a->held = 0;
}

static void add_record(atoll_ctx *ctx, struct aggregator *a, const atoll_msg *msg)
{
	size_t need = a->len + (a->held ? 1 : 0) + msg->len;

	a->stats.in++;
	if (need > UINT32_MAX) {
		flush(ctx, a);
		need = msg->len;
		if (need > UINT32_MAX) {
			a->stats.dropped++;
			return;
		}
	}
	if (need > a->cap) {
		/* The first record sizes the batch: batch records like it. */
		size_t cap = a->cap ? a->cap * 2 : (msg->len + 1) * a->batch;
		char *buf;

		if (cap < need)
			cap = need;
		if (cap > UINT32_MAX)
			cap = UINT32_MAX;
		buf = realloc(a->buf, cap);
		if (buf == NULL) {
			a->stats.dropped++;
			return;
		}
		a->buf = buf;
		a->cap = cap;
	}
	if (a->held)
		a->buf[a->len++] = '\n';
	memcpy(a->buf + a->len, msg->data, msg->len);
	a->len += msg->len;
	if (++a->held >= a->batch) {
		flush(ctx, a);
	} else if (a->held == 1 && a->linger_ns != 0) {
		atoll_msg *t = atoll_msg_new_copy(ATOLL_AGGREGATOR_LINGER, &a->batch_id,
						  sizeof(a->batch_id));

		if (t != NULL)
			atoll_send_after(ctx, atoll_self(ctx), t, a->linger_ns, NULL);
	}
}

static void aggregator_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct aggregator *a = state;
	uint64_t id;

	switch (msg->type) {
	case ATOLL_LIB_DATA:
		add_record(ctx, a, msg);
		break;
	case ATOLL_AGGREGATOR_LINGER:
		memcpy(&id, msg->data, sizeof(id));
		if (id == a->batch_id)
			flush(ctx, a);
		break;
	case ATOLL_LIB_END:
		flush(ctx, a);
		for (size_t i = 0; i < a->nto; i++) {
			atoll_lib_send_end(ctx, a->to[i], a->per_member[i]);
			a->per_member[i] = 0;
		}
		break;
	case ATOLL_LIB_STATS:
		atoll_lib_reply_stats(ctx, msg, &a->stats);
		break;
	default:
		break;
	}
}

static void aggregator_stop(atoll_ctx *ctx, void *state)
{
	struct aggregator *a = state;

	/* Records still held are lost with the runtime: no one would get them. */
	(void)ctx;
	free(a->buf);
	free(a->to);
	free(a->per_member);
}

const struct atoll_actor_type atoll_aggregator_type = {
	.name = "aggregator",
	.state_size = sizeof(struct aggregator),
	.init = aggregator_init,
	.receive = aggregator_receive,
	.stop = aggregator_stop,
};

static const struct atoll_param_spec aggregator_params[] = {
	{ "to", ATOLL_PARAM_LINK, NULL, 0, 0, NULL, "the next stage (a batch each, in turn)",
	  ATOLL_PARAM_ACYCLIC },
	{ "batch", ATOLL_PARAM_INT, "64", 1, 1000000, NULL, "records per batch at most", 0 },
	{ "linger", ATOLL_PARAM_DURATION, "10ms", 0, 0, NULL,
	  "longest wait for a batch to fill (0: no limit)", 0 },
	{ 0 },
};

static const struct atoll_msg_spec aggregator_accepts[] = {
	{ ATOLL_LIB_DATA, "DATA", "a record, added to the batch" },
	{ ATOLL_LIB_END, "END", "flushes, then END to every member" },
	{ ATOLL_LIB_STATS, "STATS", "in = records, out = batches" },
	{ 0 },
};

static const struct atoll_msg_spec aggregator_sends[] = {
	{ ATOLL_LIB_DATA, "DATA", "up to `batch` records joined with '\\n'" },
	{ ATOLL_LIB_END, "END", "one per END received, to each member" },
	{ 0 },
};

const struct atoll_type_info atoll_aggregator_info = {
	.type = &atoll_aggregator_type,
	.summary = "batches records into one DATA of up to `batch` lines, or after `linger`",
	.params = aggregator_params,
	.accepts = aggregator_accepts,
	.sends = aggregator_sends,
};
