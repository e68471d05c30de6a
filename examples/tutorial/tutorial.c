/*
 * tutorial.c - the program docs/tutorial.md builds step by step.
 *
 * A "counter" actor, registered under a name, counts what it is told. A
 * "greeter" actor finds it by name, tells it something on each tick of a
 * periodic timer, asks it for its total after three ticks, prints the answer
 * and stops the runtime. CI builds and runs this file as a test.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <atoll.h>

/* Message types: user types start at ATOLL_MSG_USER. */
enum {
	MSG_ADD = ATOLL_MSG_USER, /* add one to the count; no payload */
	MSG_GET,                  /* ask for the count */
	MSG_TOTAL,                /* the reply; payload: uint64_t */
	MSG_TICK,                 /* from the greeter's timer to itself */
};

/* Set by the greeter when the answer is right; main returns it. */
static int exit_code = 1;

/* The counter's state: the runtime allocates it, zeroed, for each counter. */
struct counter {
	uint64_t total;
};

static void counter_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct counter *self = state;

	if (msg->type == MSG_ADD) {
		self->total++;
	} else if (msg->type == MSG_GET) {
		atoll_msg *answer =
			atoll_msg_new_copy(MSG_TOTAL, &self->total, sizeof(self->total));

		/* atoll_reply takes the answer; msg stays ours, and the
		 * runtime frees it when we return. */
		if (answer != NULL)
			atoll_reply(ctx, msg, answer);
	}
}

static void counter_stop(atoll_ctx *ctx, void *state)
{
	const struct counter *self = state;

	printf("counter on reactor %u: stopping at %" PRIu64 "\n", atoll_core(ctx), self->total);
}

static const struct atoll_actor_type counter_type = {
	.name = "counter",
	.state_size = sizeof(struct counter),
	.receive = counter_receive,
	.stop = counter_stop,
};

struct greeter {
	atoll_ref counter;
	atoll_timer timer;
	unsigned ticks;
	uint64_t question;
};

static int greeter_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct greeter *self = state;

	printf("hello, %s, from reactor %u\n", (const char *)arg, atoll_core(ctx));
	int err = atoll_lookup(atoll_runtime_of(ctx), "counter", &self->counter);
	if (err < 0)
		return err;
	/* The timer takes the tick and sends us a copy of it every 50 ms. */
	atoll_msg *tick = atoll_msg_new(MSG_TICK, 0);
	if (tick == NULL)
		return -ENOMEM;
	return atoll_send_every(ctx, atoll_self(ctx), tick, 50ull * 1000 * 1000, &self->timer);
}

static void greeter_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct greeter *self = state;

	if (msg->type == MSG_TICK) {
		printf("tick %u\n", ++self->ticks);
		atoll_tell(ctx, self->counter, MSG_ADD, NULL, 0);
		if (self->ticks == 3) {
			atoll_timer_cancel(ctx, self->timer);
			atoll_msg *question = atoll_msg_new(MSG_GET, 0);
			if (question != NULL)
				atoll_ask(ctx, self->counter, question, &self->question);
		}
	} else if (msg->type == MSG_TOTAL && msg->corr == self->question) {
		/* The answer to our question: same correlation id. */
		uint64_t total;

		memcpy(&total, msg->data, sizeof(total));
		printf("the counter says %" PRIu64 "\n", total);
		exit_code = total == 3 ? 0 : 1;
		atoll_stop_runtime(ctx);
	}
}

static const struct atoll_actor_type greeter_type = {
	.name = "greeter",
	.state_size = sizeof(struct greeter),
	.init = greeter_init,
	.receive = greeter_receive,
};

int main(void)
{
	/* Two reactors, so the counter and the greeter live on different
	 * cores. Ctrl-C would stop the runtime cleanly. */
	struct atoll_config config = { .reactors = 2 };
	atoll_runtime *rt;
	atoll_ref counter, greeter;

	int err = atoll_runtime_start(&config, &rt);
	if (err < 0) {
		fprintf(stderr, "tutorial: cannot start: %s\n", atoll_strerror(err));
		return 1;
	}
	err = atoll_runtime_spawn(rt, &counter_type, NULL, 0, &counter);
	if (err == 0)
		err = atoll_register(rt, "counter", counter);
	if (err == 0)
		err = atoll_runtime_spawn(rt, &greeter_type, "world", 1, &greeter);
	if (err < 0) {
		fprintf(stderr, "tutorial: %s\n", atoll_strerror(err));
		atoll_runtime_destroy(rt);
		return 1;
	}
	atoll_runtime_wait(rt); /* until the greeter stops the runtime */
	atoll_runtime_destroy(rt);
	return exit_code;
}
