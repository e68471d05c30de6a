/*
 * dup_relay.c - a module for test_module.c that defines an actor type named
 * "relay", like relay.c: loading both must fail on the second.
 */
#include <atoll.h>

static void dup_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	(void)ctx;
	(void)state;
	(void)msg;
}

static const struct atoll_actor_type dup_type = {
	.name = "relay",
	.receive = dup_receive,
};

static const struct atoll_type_info dup_info = {
	.type = &dup_type,
	.summary = "a second relay",
};

static int dup_register(struct atoll_catalog *c)
{
	return atoll_catalog_add(c, &dup_info);
}

ATOLL_MODULE(dup_register)
