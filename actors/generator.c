/*
 * generator.c - the generator actor: records are made and sent a burst per
 * message to itself, so other actors on its reactor run between bursts; a
 * full ring or a rate limit turns the next burst into a timer.
 *
 * Invariants: next is the seq of the next record; per_member[i] counts the
 * records sent to to[i] (what its END carries); the ENDs go out once, after
 * the last record.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "generator.h"
#include "log.h"

#define RECORD_MAX 64 /* "seq=<20 digits> value=<6 digits>" fits */

struct generator {
	atoll_ref *to;
	uint64_t *per_member;
	size_t nto;
	size_t rr; /* the member that gets the next record */
	uint64_t records;
	uint64_t burst;
	uint64_t rate;      /* records/s, 0: unlimited */
	uint64_t malformed; /* every malformed-th record is malformed, 0: none */
	uint64_t pause_ns;
	uint64_t start_ns;
	uint64_t next;
	bool ended;
	struct atoll_lib_stats stats; /* in = pauses */
};

static int go_after(atoll_ctx *ctx, uint64_t ns)
{
	atoll_msg *m = atoll_msg_new(ATOLL_GENERATOR_GO, 0);

	if (m == NULL)
		return -ENOMEM;
	if (ns == 0)
		return atoll_send(ctx, atoll_self(ctx), m);
	return atoll_send_after(ctx, atoll_self(ctx), m, ns, NULL);
}

static int generator_init(atoll_ctx *ctx, void *state, const void *arg)
{
	const struct atoll_params *p = arg;
	struct generator *g = state;
	const atoll_ref *to;

	g->nto = atoll_params_links(p, "to", &to);
	if (g->nto == 0) {
		atoll__log_error("generator: its link 'to' names no actor");
		return -EINVAL;
	}
	g->to = malloc(g->nto * sizeof(*g->to));
	g->per_member = calloc(g->nto, sizeof(*g->per_member));
	if (g->to == NULL || g->per_member == NULL)
		goto nomem;
	memcpy(g->to, to, g->nto * sizeof(*to));
	g->records = (uint64_t)atoll_params_int(p, "records");
	g->burst = (uint64_t)atoll_params_int(p, "burst");
	g->rate = (uint64_t)atoll_params_int(p, "rate");
	g->malformed = (uint64_t)atoll_params_int(p, "malformed");
	g->pause_ns = (uint64_t)atoll_params_int(p, "pause");
	g->start_ns = atoll_now_ns();
	if (go_after(ctx, 0) < 0)
		goto nomem;
	return 0;
nomem:
	/* The stop hook does not run after a failed init. */
	free(g->to);
	free(g->per_member);
	return -ENOMEM;
}

static void send_ends(atoll_ctx *ctx, struct generator *g)
{
	for (size_t i = 0; i < g->nto; i++)
		atoll_lib_send_end(ctx, g->to[i], g->per_member[i]);
	g->ended = true;
}

/* Records the rate allows now (all of the burst when there is no limit). */
static uint64_t allowed_now(const struct generator *g)
{
	uint64_t elapsed, due;

	if (g->rate == 0)
		return g->burst;
	elapsed = atoll_now_ns() - g->start_ns;
	/* rate <= 1e9 (its spec), so neither product overflows. */
	due = elapsed / 1000000000u * g->rate + elapsed % 1000000000u * g->rate / 1000000000u + 1;
	return due > g->next ? due - g->next : 0;
}

static void generator_burst(atoll_ctx *ctx, struct generator *g)
{
	uint64_t n = allowed_now(g);
	bool queued = false;

	if (n > g->burst)
		n = g->burst;
	if (n > g->records - g->next)
		n = g->records - g->next;
	for (uint64_t i = 0; i < n && !queued; i++) {
		char line[RECORD_MAX];
		bool bad = g->malformed != 0 && g->next % g->malformed == g->malformed - 1;
		int len = bad ? snprintf(line, sizeof(line), "seq=%" PRIu64 " value=?", g->next)
			      : snprintf(line, sizeof(line), "seq=%" PRIu64 " value=%" PRIu64,
					 g->next, atoll_generator_value(g->next));
		int rc = atoll_tell(ctx, g->to[g->rr], ATOLL_LIB_DATA, line, (size_t)len);

		if (rc < 0) {
			g->stats.dropped++;
		} else {
			g->stats.out++;
			g->stats.bytes += (uint64_t)len;
			g->per_member[g->rr]++;
			queued = rc == ATOLL_SENT_QUEUED;
		}
		g->next++;
		g->rr = g->rr + 1 == g->nto ? 0 : g->rr + 1;
	}
	if (g->next == g->records) {
		send_ends(ctx, g);
	} else if (queued) {
		g->stats.in++;
		go_after(ctx, g->pause_ns);
	} else if (n == 0) {
		/* Rate limited: come back when the next record is due. */
		uint64_t wait = 1000000000u / g->rate;

		go_after(ctx, wait > g->pause_ns ? wait : g->pause_ns);
	} else {
		go_after(ctx, 0);
	}
}

static void generator_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct generator *g = state;

	if (msg->type == ATOLL_GENERATOR_GO && !g->ended)
		generator_burst(ctx, g);
	else if (msg->type == ATOLL_LIB_STATS)
		atoll_lib_reply_stats(ctx, msg, &g->stats);
}

static void generator_stop(atoll_ctx *ctx, void *state)
{
	struct generator *g = state;

	(void)ctx;
	free(g->to);
	free(g->per_member);
}

const struct atoll_actor_type atoll_generator_type = {
	.name = "generator",
	.state_size = sizeof(struct generator),
	.init = generator_init,
	.receive = generator_receive,
	.stop = generator_stop,
};

static const struct atoll_param_spec generator_params[] = {
	{ "records", ATOLL_PARAM_INT, "100000", 0, INT64_MAX, NULL, "records to send", 0 },
	{ "to", ATOLL_PARAM_LINK, NULL, 0, 0, NULL, "the next stage (round-robin)",
	  ATOLL_PARAM_ACYCLIC },
	{ "burst", ATOLL_PARAM_INT, "64", 1, 65536, NULL, "records per turn", 0 },
	{ "rate", ATOLL_PARAM_INT, "0", 0, 1000000000, NULL, "records/s at most (0: no limit)", 0 },
	{ "pause", ATOLL_PARAM_DURATION, "200us", 1000, 0, NULL,
	  "wait after backpressure (a full ring)", 0 },
	{ "malformed", ATOLL_PARAM_INT, "0", 0, INT64_MAX, NULL,
	  "every Nth record is malformed (\"seq=i value=?\"); 0: none", 0 },
	{ 0 },
};

static const struct atoll_msg_spec generator_accepts[] = {
	{ ATOLL_LIB_STATS, "STATS", "out = records sent, in = backpressure pauses" },
	{ 0 },
};

static const struct atoll_msg_spec generator_sends[] = {
	{ ATOLL_LIB_DATA, "DATA", "\"seq=N value=V\"" },
	{ ATOLL_LIB_END, "END", "to each member after the last record" },
	{ 0 },
};

const struct atoll_type_info atoll_generator_info = {
	.type = &atoll_generator_type,
	.summary = "load source: sends numbered text records round-robin, then END",
	.params = generator_params,
	.accepts = generator_accepts,
	.sends = generator_sends,
};
