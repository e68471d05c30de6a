/*
 * thread_ring.c - the Savina thread ring as a topology type
 * (thread_ring.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "thread_ring.h"

struct thread_ring {
	atoll_ref next;
	uint64_t hops; /* the run's total, to name the expected holder */
	unsigned index;
	unsigned members;
	bool stop_at_end;
};

static const struct atoll_param_spec thread_ring_params[] = {
	{ "hops", ATOLL_PARAM_INT, "1000000", 1, INT64_MAX / 2, NULL,
	  "times the token is passed on", 0 },
	{ "stop_at_end", ATOLL_PARAM_BOOL, "yes", 0, 0, NULL,
	  "stop the runtime when the token has made its hops", 0 },
	{ 0 },
};

static const struct atoll_msg_spec thread_ring_msgs[] = {
	{ THREAD_RING_TOKEN, "TOKEN", "passed to the next member, or ends the run" },
	{ 0 },
};

static int thread_ring_init(atoll_ctx *ctx, void *state, const void *arg)
{
	const struct atoll_params *p = arg;
	struct thread_ring *self = state;
	const atoll_ref *group;
	size_t n = atoll_params_group(p, &group);
	struct thread_ring_token token;

	self->index = atoll_params_index(p);
	self->members = (unsigned)n;
	self->hops = (uint64_t)atoll_params_int(p, "hops");
	self->stop_at_end = atoll_params_bool(p, "stop_at_end");
	self->next = group != NULL ? group[(self->index + 1) % n] : atoll_self(ctx);
	if (self->index != 0)
		return 0;
	token = (struct thread_ring_token){ .hops_left = self->hops, .start_ns = atoll_now_ns() };
	/* The first hop is a send to ourselves: every hop then goes through
	 * the same path, and the count stays simple (the holder at 0 is
	 * member hops mod n). */
	return atoll_tell(ctx, atoll_self(ctx), THREAD_RING_TOKEN, &token, sizeof(token)) < 0
		       ? -ENOMEM
		       : 0;
}

static void thread_ring_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct thread_ring *self = state;
	struct thread_ring_token *token = msg->data;
	uint64_t ns;
	unsigned expected;

	if (msg->type != THREAD_RING_TOKEN || msg->len != sizeof(*token))
		return;
	if (token->hops_left > 0) {
		token->hops_left--;
		atoll_send(ctx, self->next, msg);
		return;
	}
	ns = atoll_now_ns() - token->start_ns;
	expected = (unsigned)(self->hops % self->members);
	printf("thread-ring: %u actors on %u reactors, %" PRIu64 " hops in %" PRIu64 " ms (%" PRIu64
	       " ns/hop), ended at member %u (expected %u): %s\n",
	       self->members, atoll_ncores(ctx), self->hops, ns / 1000000, ns / self->hops,
	       self->index, expected, self->index == expected ? "ok" : "WRONG");
	fflush(stdout);
	if (self->stop_at_end)
		atoll_stop_runtime(ctx);
}

const struct atoll_actor_type thread_ring_type = {
	.name = "thread-ring",
	.state_size = sizeof(struct thread_ring),
	.init = thread_ring_init,
	.receive = thread_ring_receive,
};

const struct atoll_type_info thread_ring_info = {
	.type = &thread_ring_type,
	.summary = "Savina thread ring: the group's members pass one token `hops` times",
	.params = thread_ring_params,
	.accepts = thread_ring_msgs,
	.sends = thread_ring_msgs,
};
