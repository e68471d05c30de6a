/*
 * router.c - the router actor: picks a member per message and sends the
 * message itself there.
 *
 * Invariants: a routed message is never copied; per_member[i] counts the
 * DATA messages routed to to[i] since the last END to it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "log.h"
#include "router.h"

struct router {
	atoll_ref *to;
	uint64_t *per_member;
	size_t nto;
	size_t rr;
	int mode;
	size_t near; /* the member index for mode near */
	char sep;    /* 0: the whole payload is the key */
	struct atoll_lib_stats stats;
};

static int router_init(atoll_ctx *ctx, void *state, const void *arg)
{
	const struct atoll_params *p = arg;
	struct router *r = state;
	const atoll_ref *to;
	const char *sep = atoll_params_str(p, "sep");
	atoll_ref near;

	r->nto = atoll_params_links(p, "to", &to);
	if (r->nto == 0) {
		atoll__log_error("router: its link 'to' names no actor");
		return -EINVAL;
	}
	r->to = malloc(r->nto * sizeof(*r->to));
	r->per_member = calloc(r->nto, sizeof(*r->per_member));
	if (r->to == NULL || r->per_member == NULL) {
		free(r->to); /* the stop hook does not run after a failed init */
		free(r->per_member);
		return -ENOMEM;
	}
	memcpy(r->to, to, r->nto * sizeof(*to));
	r->mode = (int)atoll_params_int(p, "mode");
	r->sep = sep != NULL ? sep[0] : '\0';
	near = atoll_params_link_near(p, "to", atoll_core(ctx));
	for (size_t i = 0; i < r->nto; i++)
		if (r->to[i] == near) {
			r->near = i;
			break;
		}
	return 0;
}

static size_t pick(struct router *r, const atoll_msg *msg)
{
	size_t i, keylen = msg->len;
	const char *end;

	switch (r->mode) {
	case ATOLL_ROUTER_HASH:
		if (r->sep != '\0' && (end = memchr(msg->data, r->sep, msg->len)) != NULL)
			keylen = (size_t)(end - (const char *)msg->data);
		return (size_t)(XXH3_64bits(msg->data, keylen) % r->nto);
	case ATOLL_ROUTER_NEAR:
		return r->near;
	default:
		i = r->rr;
		r->rr = r->rr + 1 == r->nto ? 0 : r->rr + 1;
		return i;
	}
}

static void router_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct router *r = state;
	uint32_t len = msg->len;
	bool data = msg->type == ATOLL_LIB_DATA;
	size_t i;

	if (msg->type == ATOLL_LIB_END) {
		for (i = 0; i < r->nto; i++) {
			atoll_lib_send_end(ctx, r->to[i], r->per_member[i]);
			r->per_member[i] = 0;
		}
		return;
	}
	if (msg->type == ATOLL_LIB_STATS) {
		atoll_lib_reply_stats(ctx, msg, &r->stats);
		return;
	}
	r->stats.in++;
	i = pick(r, msg);
	/* msg->reply_to and corr travel with it: an ask through a router is
	 * answered by the member, straight to the asker. */
	if (atoll_send(ctx, r->to[i], msg) < 0) {
		r->stats.dropped++;
		return;
	}
	r->stats.out++;
	r->stats.bytes += len;
	if (data)
		r->per_member[i]++;
}

static void router_stop(atoll_ctx *ctx, void *state)
{
	struct router *r = state;

	(void)ctx;
	free(r->to);
	free(r->per_member);
}

const struct atoll_actor_type atoll_router_type = {
	.name = "router",
	.state_size = sizeof(struct router),
	.init = router_init,
	.receive = router_receive,
	.stop = router_stop,
};

static const struct atoll_param_spec router_params[] = {
	{ "to", ATOLL_PARAM_LINK, NULL, 0, 0, NULL, "the group to route to", 0 },
	{ "mode", ATOLL_PARAM_ENUM, "round-robin", 0, 0, "round-robin|hash|near",
	  "which member gets a message", 0 },
	{ "sep", ATOLL_PARAM_STRING, "", 0, 0, NULL,
	  "hash mode: the key ends before this byte (empty: whole payload)", 0 },
	{ 0 },
};

static const struct atoll_msg_spec router_accepts[] = {
	{ ATOLL_LIB_DATA, "DATA", "routed unchanged (so is any other type)" },
	{ ATOLL_LIB_END, "END", "an END to every member" },
	{ ATOLL_LIB_STATS, "STATS", "answered by the router: in, out, bytes, dropped" },
	{ 0 },
};

static const struct atoll_msg_spec router_sends[] = {
	{ ATOLL_LIB_DATA, "DATA", "what it received, the same message" },
	{ ATOLL_LIB_END, "END", "one per END received, to each member" },
	{ 0 },
};

const struct atoll_type_info atoll_router_info = {
	.type = &atoll_router_type,
	.summary = "forwards each message (no copy) to one member: round-robin, hash or near",
	.params = router_params,
	.accepts = router_accepts,
	.sends = router_sends,
};
