/*
 * ticker.c - the ticker actor: one periodic timer to itself, and on each of
 * its messages one tick to every member of `to`, until `count` ticks.
 *
 * Invariants: seq counts the ticks sent (to all members); the timer is
 * cancelled exactly once, after tick `count`, or never when count is 0.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ticker.h"

struct ticker {
	atoll_ref *to; /* copied from the params */
	size_t nto;
	uint32_t type;
	uint64_t count; /* 0: forever */
	uint64_t seq;
	uint64_t sent;
	atoll_timer timer;
};

static int ticker_init(atoll_ctx *ctx, void *state, const void *arg)
{
	const struct atoll_params *p = arg;
	struct ticker *t = state;
	const atoll_ref *to;
	atoll_msg *m;
	int rc;

	t->nto = atoll_params_links(p, "to", &to);
	t->to = calloc(t->nto ? t->nto : 1, sizeof(*t->to));
	if (t->to == NULL)
		return -ENOMEM;
	if (t->nto)
		memcpy(t->to, to, t->nto * sizeof(*to));
	t->type = (uint32_t)atoll_params_int(p, "msg");
	if (t->type == 0)
		t->type = ATOLL_TICKER_TICK;
	t->count = (uint64_t)atoll_params_int(p, "count");
	m = atoll_msg_new(ATOLL_TICKER_TIMER, 0);
	rc = m == NULL ? -ENOMEM
		       : atoll_send_every(ctx, atoll_self(ctx), m,
					  (uint64_t)atoll_params_int(p, "every"), &t->timer);
	if (rc < 0) {
		atoll__log_error("ticker: cannot start its timer: %s", atoll_strerror(rc));
		free(t->to); /* the stop hook does not run after a failed init */
	}
	return rc;
}

static void ticker_tick(atoll_ctx *ctx, struct ticker *t)
{
	if (t->count != 0 && t->seq >= t->count)
		return; /* a timer message already queued when it was cancelled */
	t->seq++;
	for (size_t i = 0; i < t->nto; i++)
		if (atoll_tell(ctx, t->to[i], t->type, &t->seq, sizeof(t->seq)) >= 0)
			t->sent++;
	if (t->count != 0 && t->seq == t->count) {
		atoll_timer_cancel(ctx, t->timer);
		atoll_stop(ctx, atoll_self(ctx));
	}
}

static void ticker_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct ticker *t = state;

	if (msg->type == ATOLL_TICKER_TIMER) {
		ticker_tick(ctx, t);
	} else if (msg->type == ATOLL_LIB_STATS) {
		struct atoll_lib_stats s = { .out = t->sent };

		atoll_lib_reply_stats(ctx, msg, &s);
	}
}

static void ticker_stop(atoll_ctx *ctx, void *state)
{
	struct ticker *t = state;

	(void)ctx;
	free(t->to);
}

const struct atoll_actor_type atoll_ticker_type = {
	.name = "ticker",
	.state_size = sizeof(struct ticker),
	.init = ticker_init,
	.receive = ticker_receive,
	.stop = ticker_stop,
};

static const struct atoll_param_spec ticker_params[] = {
	{ "every", ATOLL_PARAM_DURATION, "1s", 1000, 0, NULL, "the period", 0 },
	{ "count", ATOLL_PARAM_INT, "0", 0, INT64_MAX, NULL, "ticks to send (0: forever)", 0 },
	{ "msg", ATOLL_PARAM_INT, "0", 0, UINT32_MAX, NULL, "message type to send (0: TICK)", 0 },
	{ "to", ATOLL_PARAM_LINK, NULL, 0, 0, NULL, "the group that gets each tick", 0 },
	{ 0 },
};

static const struct atoll_msg_spec ticker_accepts[] = {
	{ ATOLL_LIB_STATS, "STATS", "replies STATS_REPLY (out = ticks sent)" },
	{ 0 },
};

static const struct atoll_msg_spec ticker_sends[] = {
	{ ATOLL_TICKER_TICK, "TICK", "uint64_t sequence number from 1 (or type `msg`)" },
	{ 0 },
};

/* A user type below ATOLL_MSG_USER would be taken for a runtime message. */
static int ticker_check(const struct atoll_params *p, char *err, size_t errlen)
{
	int64_t type = atoll_params_int(p, "msg");

	if (type != 0 && type < ATOLL_MSG_USER) {
		snprintf(err, errlen, "parameter 'msg': message types below %u are the runtime's",
			 ATOLL_MSG_USER);
		return -EINVAL;
	}
	return 0;
}

const struct atoll_type_info atoll_ticker_info = {
	.type = &atoll_ticker_type,
	.summary = "sends a numbered tick to a group every period, count times or forever",
	.params = ticker_params,
	.accepts = ticker_accepts,
	.sends = ticker_sends,
	.check = ticker_check,
};
