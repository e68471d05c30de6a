/*
 * failing.c - a module for the runner's tests: its actor's init refuses to
 * start, so `atoll run` must say so and exit with status 1.
 */
#include <errno.h>

#include <atoll.h>

static int failing_init(atoll_ctx *ctx, void *state, const void *arg)
{
	(void)ctx;
	(void)state;
	(void)arg;
	return -EINVAL;
}

static void failing_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	(void)ctx;
	(void)state;
	(void)msg;
}

static const struct atoll_actor_type failing_type = {
	.name = "failing",
	.init = failing_init,
	.receive = failing_receive,
};

static const struct atoll_type_info failing_info = {
	.type = &failing_type,
	.summary = "an actor whose init always fails",
};

static int failing_register(struct atoll_catalog *c)
{
	return atoll_catalog_add(c, &failing_info);
}

ATOLL_MODULE(failing_register)
