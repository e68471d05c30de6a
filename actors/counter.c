/*
 * counter.c - the counter actor: a small table of per-type counts (types
 * beyond its size are counted under type 0), totals, a report timer.
 *
 * Invariants: the totals are the sums over the table; the summary is
 * printed at most once.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counter.h"
#include "log.h"

#define TYPES_MAX 32

struct counter {
	char name[64];
	struct atoll_counter_entry types[TYPES_MAX];
	unsigned ntypes;
	uint64_t messages, bytes;
	uint64_t ends, ends_seen;
	bool stop_at_end;
	bool summarized;
};

static int counter_init(atoll_ctx *ctx, void *state, const void *arg)
{
	const struct atoll_params *p = arg;
	struct counter *c = state;
	const char *group = atoll_params_group_name(p);
	uint64_t report = (uint64_t)atoll_params_int(p, "report");

	/* " NAME.I (core C)" in its lines when it belongs to a named group. */
	if (group != NULL && group[0] != '\0')
		snprintf(c->name, sizeof(c->name), " %s.%u (core %u)", group, atoll_params_index(p),
			 atoll_core(ctx));
	c->ends = (uint64_t)atoll_params_int(p, "ends");
	c->stop_at_end = atoll_params_bool(p, "stop_at_end");
	if (report != 0) {
		atoll_msg *m = atoll_msg_new(ATOLL_COUNTER_REPORT, 0);

		if (m == NULL || atoll_send_every(ctx, atoll_self(ctx), m, report, NULL) < 0) {
			atoll__log_error("counter: cannot start its report timer");
			return -ENOMEM;
		}
	}
	return 0;
}

static struct atoll_counter_entry *entry(struct counter *c, uint32_t type)
{
	for (unsigned i = 0; i < c->ntypes; i++)
		if (c->types[i].type == type)
			return &c->types[i];
	if (c->ntypes < TYPES_MAX - 1) {
		c->types[c->ntypes].type = type;
		return &c->types[c->ntypes++];
	}
	/* The table is full: the last slot counts every other type, as type 0
	 * (ATOLL_MSG_NONE, which no message carries). */
	if (c->ntypes == TYPES_MAX - 1)
		c->types[c->ntypes++].type = 0;
	return &c->types[TYPES_MAX - 1];
}

static void report(const struct counter *c)
{
	fprintf(stderr, "counter%s: %" PRIu64 " messages, %" PRIu64 " bytes", c->name, c->messages,
		c->bytes);
	for (unsigned i = 0; i < c->ntypes; i++)
		fprintf(stderr, "%s type 0x%" PRIx32 ": %" PRIu64, i ? "," : ";", c->types[i].type,
			c->types[i].messages);
	fputc('\n', stderr);
}

static void summary(struct counter *c)
{
	if (c->summarized)
		return;
	c->summarized = true;
	printf("counter%s: %" PRIu64 " messages, %" PRIu64 " bytes (ends %" PRIu64 ")\n", c->name,
	       c->messages, c->bytes, c->ends_seen);
	fflush(stdout);
}

static void counter_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct counter *c = state;
	struct atoll_counter_entry *e;

	switch (msg->type) {
	case ATOLL_COUNTER_REPORT:
		report(c);
		return;
	case ATOLL_LIB_STATS: {
		struct atoll_lib_stats s = { .in = c->messages, .bytes = c->bytes };

		atoll_lib_reply_stats(ctx, msg, &s);
		return;
	}
	case ATOLL_COUNTER_GET: {
		struct atoll_counter_entry none = { 0 }, *found = &none;
		uint32_t type = 0;
		atoll_msg *r;

		if (msg->len == sizeof(type))
			memcpy(&type, msg->data, sizeof(type));
		for (unsigned i = 0; i < c->ntypes; i++)
			if (c->types[i].type == type)
				found = &c->types[i];
		none.type = type;
		r = atoll_msg_new_copy(ATOLL_COUNTER_GET_REPLY, found, sizeof(*found));
		if (r != NULL)
			atoll_reply(ctx, msg, r);
		return;
	}
	default:
		break;
	}
	e = entry(c, msg->type);
	e->messages++;
	e->bytes += msg->len;
	c->messages++;
	c->bytes += msg->len;
	if (msg->type == ATOLL_LIB_END && ++c->ends_seen == c->ends) {
		summary(c);
		if (c->stop_at_end)
			atoll_stop_runtime(ctx);
	}
}

static void counter_stop(atoll_ctx *ctx, void *state)
{
	(void)ctx;
	summary(state);
}

const struct atoll_actor_type atoll_counter_type = {
	.name = "counter",
	.state_size = sizeof(struct counter),
	.init = counter_init,
	.receive = counter_receive,
	.stop = counter_stop,
};

static const struct atoll_param_spec counter_params[] = {
	{ "report", ATOLL_PARAM_DURATION, "0", 0, 0, NULL,
	  "interval of a per-type report on stderr (0: none)", 0 },
	{ "ends", ATOLL_PARAM_INT, "0", 0, 1000000, NULL,
	  "ENDs after which the summary is printed (0: at stop)", 0 },
	{ "stop_at_end", ATOLL_PARAM_BOOL, "no", 0, 0, NULL,
	  "stop the runtime after the summary at `ends`", 0 },
	{ 0 },
};

static const struct atoll_msg_spec counter_accepts[] = {
	{ ATOLL_LIB_DATA, "DATA", "counted (so is any other type)" },
	{ ATOLL_LIB_END, "END", "counted, and toward `ends`" },
	{ ATOLL_LIB_STATS, "STATS", "in = messages, bytes" },
	{ ATOLL_COUNTER_GET, "GET", "uint32_t type -> GET_REPLY struct atoll_counter_entry" },
	{ 0 },
};

const struct atoll_type_info atoll_counter_info = {
	.type = &atoll_counter_type,
	.summary = "stats sink: counts messages and bytes per type, prints a summary",
	.params = counter_params,
	.accepts = counter_accepts,
};
