/*
 * relay.c - a complete actor module, the example docs/topologies.md walks
 * through: one actor type, "relay", that passes a token to the next actor
 * of the group it links to, a set number of hops. Build it as a shared
 * object and load it with `atoll run --module ./relay.so topo.ini`:
 *
 *   cc -shared -fPIC -o relay.so relay.c $(pkg-config --cflags atoll)
 *
 * The actor whose `start` is set sends the first token from init. The one
 * that receives the last hop prints "relay: N hops done" on stdout and, with
 * stop_at_end, stops the runtime.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <atoll.h>

/* Message types: below the library's range (ATOLL_MSG_USER and up). */
enum relay_msg {
	RELAY_TOKEN = ATOLL_MSG_USER + 0x700, /* payload: uint64_t hops left */
};

struct relay {
	const atoll_ref *next; /* the linked group, kept: params outlive us */
	size_t nnext;
	unsigned index;
	uint64_t hops;
	uint64_t passed;
	bool stop_at_end;
};

/* Passes the token on, to the member after ours in the linked group. */
static void pass(atoll_ctx *ctx, struct relay *r, uint64_t left)
{
	atoll_ref to = r->next[(r->index + 1) % r->nnext];

	r->passed++;
	(void)atoll_tell(ctx, to, RELAY_TOKEN, &left, sizeof(left));
}

static int relay_init(atoll_ctx *ctx, void *state, const void *arg)
{
	const struct atoll_params *p = arg;
	struct relay *r = state;

	r->nnext = atoll_params_links(p, "next", &r->next);
	r->index = atoll_params_index(p);
	r->hops = (uint64_t)atoll_params_int(p, "hops");
	r->stop_at_end = atoll_params_bool(p, "stop_at_end");
	if (r->nnext == 0)
		return -EINVAL; /* The check hook already refused this. */
	if (atoll_params_bool(p, "start") && r->index == 0)
		pass(ctx, r, r->hops);
	return 0;
}

static void relay_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct relay *r = state;
	uint64_t left;

	if (msg->type != RELAY_TOKEN || msg->len != sizeof(left))
		return;
	memcpy(&left, msg->data, sizeof(left));
	if (left > 1) {
		pass(ctx, r, left - 1);
		return;
	}
	printf("relay: %" PRIu64 " hops done\n", r->hops);
	fflush(stdout);
	if (r->stop_at_end)
		atoll_stop_runtime(ctx);
}

static const struct atoll_actor_type relay_type = {
	.name = "relay",
	.state_size = sizeof(struct relay),
	.init = relay_init,
	.receive = relay_receive,
};

static const struct atoll_param_spec relay_params[] = {
	{ "next", ATOLL_PARAM_LINK, NULL, 0, 0, NULL, "the group to pass the token to", 0 },
	{ "hops", ATOLL_PARAM_INT, "1000", 1, 1000000000, NULL, "how many times", 0 },
	{ "start", ATOLL_PARAM_BOOL, "no", 0, 0, NULL, "member 0 sends the first token", 0 },
	{ "stop_at_end", ATOLL_PARAM_BOOL, "no", 0, 0, NULL, "stop the runtime after the last hop",
	  0 },
	{ 0 },
};

static const struct atoll_msg_spec relay_accepts[] = {
	{ RELAY_TOKEN, "TOKEN", "uint64_t hops left: passed on, or the end" },
	{ 0 },
};

/* Refuses what the table cannot say: a start without an end. */
static int relay_check(const struct atoll_params *p, char *err, size_t errlen)
{
	if (atoll_params_bool(p, "stop_at_end") && !atoll_params_bool(p, "start")) {
		snprintf(err, errlen, "relay: stop_at_end needs start = yes in the same group");
		return -EINVAL;
	}
	return 0;
}

static const struct atoll_type_info relay_info = {
	.type = &relay_type,
	.summary = "passes a token around a group, a set number of hops",
	.params = relay_params,
	.accepts = relay_accepts,
	.sends = relay_accepts,
	.check = relay_check,
};

static int relay_register(struct atoll_catalog *c)
{
	return atoll_catalog_add(c, &relay_info);
}

ATOLL_MODULE(relay_register)
