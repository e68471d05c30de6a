/*
 * pingpong.c - a pinger and an answerer bouncing one message (pingpong.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pingpong.h"

struct pingpong {
	atoll_ref peer;    /* the answerer, or NONE when this actor answers */
	atoll_ref leader;  /* member 0 of the group: counts DONE */
	uint64_t rounds;   /* round trips to make */
	uint64_t start_ns; /* when the first PING left */
	unsigned group_n;  /* pingers in the group */
	unsigned done;     /* leader: pingers done */
	bool stop_at_end;
	char name[80];      /* "ping.1 (core 0)" */
	char peer_name[80]; /* "pong.1" */
};

static const struct atoll_param_spec pingpong_params[] = {
	{ "peer", ATOLL_PARAM_LINK, "", 0, 0, NULL,
	  "the answerers' group (member at my index); none: this actor answers", 0 },
	{ "rounds", ATOLL_PARAM_INT, "100000", 1, INT64_MAX, NULL, "round trips to make", 0 },
	{ "stop_at_end", ATOLL_PARAM_BOOL, "yes", 0, 0, NULL,
	  "stop the runtime when every pinger of the group is done", 0 },
	{ 0 },
};

static const struct atoll_msg_spec pingpong_accepts[] = {
	{ PINGPONG_PING, "PING", "answered with PONG (the same message)" },
	{ PINGPONG_PONG, "PONG", "a pinger sends the next PING, or reports" },
	{ PINGPONG_DONE, "DONE", "member 0: one more pinger of the group is done" },
	{ 0 },
};

static const struct atoll_msg_spec pingpong_sends[] = {
	{ PINGPONG_PING, "PING", "to the peer" },
	{ PINGPONG_PONG, "PONG", "back to a PING's sender" },
	{ PINGPONG_DONE, "DONE", "to member 0 of its own group" },
	{ 0 },
};

static int pingpong_init(atoll_ctx *ctx, void *state, const void *arg)
{
	const struct atoll_params *p = arg;
	struct pingpong *self = state;
	const atoll_ref *peers, *group;
	size_t npeers = atoll_params_links(p, "peer", &peers);
	size_t n = atoll_params_group(p, &group);
	unsigned index = atoll_params_index(p);
	atoll_msg *ping;

	self->rounds = (uint64_t)atoll_params_int(p, "rounds");
	self->stop_at_end = atoll_params_bool(p, "stop_at_end");
	self->group_n = (unsigned)n;
	self->leader = group != NULL ? group[0] : atoll_self(ctx);
	snprintf(self->name, sizeof(self->name), "%s.%u (core %u)", atoll_params_group_name(p),
		 index, atoll_core(ctx));
	if (npeers == 0)
		return 0; /* an answerer */
	self->peer = peers[index % npeers];
	snprintf(self->peer_name, sizeof(self->peer_name), "%s.%zu (core %u)",
		 atoll_params_str(p, "peer"), index % npeers, atoll_ref_core(self->peer));
	ping = atoll_msg_new(PINGPONG_PING, sizeof(uint64_t));
	if (ping == NULL)
		return -ENOMEM;
	memcpy(ping->data, &self->rounds, sizeof(uint64_t));
	self->start_ns = atoll_now_ns();
	return atoll_ask(ctx, self->peer, ping, NULL) < 0 ? -ESRCH : 0;
}

static void pingpong_done(atoll_ctx *ctx, struct pingpong *self)
{
	if (++self->done < self->group_n)
		return;
	printf("pingpong: %u pairs done\n", self->group_n);
	fflush(stdout);
	if (self->stop_at_end)
		atoll_stop_runtime(ctx);
}

static void pingpong_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct pingpong *self = state;
	uint64_t left;

	switch (msg->type) {
	case PINGPONG_PING:
		msg->type = PINGPONG_PONG;
		atoll_send(ctx, msg->reply_to, msg);
		break;
	case PINGPONG_PONG:
		if (msg->len != sizeof(left))
			break;
		memcpy(&left, msg->data, sizeof(left));
		if (--left > 0) {
			memcpy(msg->data, &left, sizeof(left));
			msg->type = PINGPONG_PING;
			atoll_send(ctx, self->peer, msg);
			break;
		}
		printf("pingpong: %s <-> %s: %" PRIu64 " round trips, %" PRIu64 " ns each\n",
		       self->name, self->peer_name, self->rounds,
		       (atoll_now_ns() - self->start_ns) / self->rounds);
		fflush(stdout);
		atoll_tell(ctx, self->leader, PINGPONG_DONE, NULL, 0);
		break;
	case PINGPONG_DONE:
		pingpong_done(ctx, self);
		break;
	default:
		break;
	}
}

const struct atoll_actor_type pingpong_type = {
	.name = "pingpong",
	.state_size = sizeof(struct pingpong),
	.init = pingpong_init,
	.receive = pingpong_receive,
};

const struct atoll_type_info pingpong_info = {
	.type = &pingpong_type,
	.summary = "bounces a message with a peer `rounds` times and reports the round trip",
	.params = pingpong_params,
	.accepts = pingpong_accepts,
	.sends = pingpong_sends,
};
