/*
 * counting.c - one producer sends N freshly allocated messages to a counter,
 * then asks it for the total, and checks the answer.
 *
 * It shows how an actor does a long job without blocking its reactor: it
 * sends a chunk per turn and messages itself to come back for the next. It
 * also shows flow control (the counter acknowledges what it has counted, and
 * the producer keeps a bounded number in flight) and ask/reply: because
 * messages from one sender arrive in order, the ask sent after the last item
 * is answered only after every item has been counted.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atoll.h>

#define DEFAULT_MESSAGES 10000000ull
#define QUICK_MESSAGES 100000ull

/* Items sent per producer turn: a turn must stay short, as other actors on
 * the reactor wait for it to end. */
#define CHUNK 256u
/* Items sent but not yet acknowledged. Without a bound, a producer faster
 * than its counter would pile up messages in the counter's mailbox (or in
 * the ring's overflow queue) until memory ran out. Kept below the 4096 slots
 * of a cross-core ring (the default), so that with --remote the ring never
 * fills. A multiple of ACK_EVERY. */
#define WINDOW 3072u
/* The counter acknowledges every ACK_EVERY items. */
#define ACK_EVERY 1024u
_Static_assert(WINDOW >= ACK_EVERY, "the producer would wait for an ack that never comes");

enum counting_msg {
	MSG_GO = ATOLL_MSG_USER, /* main -> producer: start */
	MSG_MORE,                /* producer -> itself: send the next chunk */
	MSG_ITEM,                /* producer -> counter; payload: uint64_t sequence */
	MSG_ACK,                 /* counter -> producer; payload: uint64_t counted */
	MSG_GET_TOTAL,           /* producer -> counter, an ask */
	MSG_TOTAL,               /* counter -> producer, the reply; struct total */
};

struct total {
	uint64_t count;
	uint64_t sum; /* of the sequence numbers: catches a lost or doubled item */
};

/* What main learns once the runtime has stopped. */
struct counting_result {
	bool finished;
	bool failed;
	struct total total;
	uint64_t elapsed_ns;
	uint64_t ring_full; /* sends that were queued behind a full ring */
};

/* The producer's init argument; lives in main until the end. */
struct producer_args {
	uint64_t messages;
	int counter_core;
	struct counting_result *result;
};

/* The counter's init argument; lives in the producer's state. */
struct counter_args {
	atoll_ref producer;
};

struct counter {
	atoll_ref producer;
	struct total total;
	unsigned since_ack;
};

static int counter_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct counter *self = state;
	const struct counter_args *args = arg;

	(void)ctx;
	self->producer = args->producer;
	return 0;
}

static void counter_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct counter *self = state;

	switch (msg->type) {
	case MSG_ITEM: {
		uint64_t sequence;

		memcpy(&sequence, msg->data, sizeof(sequence));
		self->total.count++;
		self->total.sum += sequence;
		if (++self->since_ack == ACK_EVERY) {
			self->since_ack = 0;
			atoll_tell(ctx, self->producer, MSG_ACK, &self->total.count,
				   sizeof(self->total.count));
		}
		break; /* the runtime frees the item when we return */
	}
	case MSG_GET_TOTAL: {
		atoll_msg *reply = atoll_msg_new_copy(MSG_TOTAL, &self->total, sizeof(self->total));

		/* The reply carries the ask's correlation id back. */
		if (reply != NULL)
			atoll_reply(ctx, msg, reply);
		break;
	}
	default:
		break;
	}
}

static const struct atoll_actor_type counter_type = {
	.name = "counter",
	.state_size = sizeof(struct counter),
	.init = counter_init,
	.receive = counter_receive,
};

struct producer {
	const struct producer_args *args;
	struct counter_args counter_args; /* must outlive the counter's init */
	atoll_ref counter;
	uint64_t sent;
	uint64_t acked;
	bool more_pending; /* a MSG_MORE to ourselves is on its way */
	bool asked;        /* every item is sent and the total asked for */
	uint64_t ask_corr;
	uint64_t start_ns;
};

static void producer_fail(atoll_ctx *ctx, struct producer *self, const char *what, int err)
{
	fprintf(stderr, "counting: %s: %s\n", what, atoll_strerror(err));
	self->args->result->failed = true;
	atoll_stop_runtime(ctx);
}

/*
 * One turn of work: sends up to CHUNK items within the window, then either
 * schedules the next turn, waits for an ack, or asks for the total.
 */
static void producer_produce(atoll_ctx *ctx, struct producer *self)
{
	uint64_t messages = self->args->messages;
	bool yield = false;

	if (self->asked)
		return;
	for (unsigned i = 0; i < CHUNK && self->sent < messages; i++) {
		if (self->sent - self->acked >= WINDOW)
			return; /* the counter's next ack calls us again */
		atoll_msg *item = atoll_msg_new(MSG_ITEM, sizeof(uint64_t));
		if (item == NULL) {
			producer_fail(ctx, self, "cannot allocate an item", -ENOMEM);
			return;
		}
		memcpy(item->data, &self->sent, sizeof(self->sent));
		int rc = atoll_send(ctx, self->counter, item);
		if (rc < 0) {
			producer_fail(ctx, self, "cannot send an item", rc);
			return;
		}
		self->sent++;
		if (rc == ATOLL_SENT_QUEUED) {
			/* The ring to the counter is full: give its reactor a
			 * turn to drain it before sending more. */
			self->args->result->ring_full++;
			yield = true;
			break;
		}
	}

	if (self->sent == messages) {
		atoll_msg *ask = atoll_msg_new(MSG_GET_TOTAL, 0);
		int rc = -ENOMEM;

		if (ask != NULL)
			rc = atoll_ask(ctx, self->counter, ask, &self->ask_corr);
		if (rc < 0)
			producer_fail(ctx, self, "cannot ask for the total", rc);
		self->asked = true;
		return;
	}
	if ((yield || self->sent - self->acked < WINDOW) && !self->more_pending) {
		/* Come back for the next chunk after the others had a turn. */
		atoll_msg *more = atoll_msg_new(MSG_MORE, 0);
		int rc = more != NULL ? atoll_send(ctx, atoll_self(ctx), more) : -ENOMEM;

		if (rc < 0) {
			producer_fail(ctx, self, "cannot schedule the next chunk", rc);
			return;
		}
		self->more_pending = true;
	}
}

static void producer_check(atoll_ctx *ctx, struct producer *self, const atoll_msg *msg)
{
	struct counting_result *result = self->args->result;

	if (msg->corr != self->ask_corr)
		return; /* not the answer to our ask */
	result->elapsed_ns = atoll_now_ns() - self->start_ns;
	memcpy(&result->total, msg->data, sizeof(result->total));
	result->finished = true;
	atoll_stop_runtime(ctx);
}

static int producer_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct producer *self = state;

	self->args = arg;
	self->counter_args.producer = atoll_self(ctx);
	return 0;
}

static void producer_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct producer *self = state;
	int err;

	switch (msg->type) {
	case MSG_GO:
		err = atoll_spawn(ctx, &counter_type, &self->counter_args, self->args->counter_core,
				  &self->counter);
		if (err < 0) {
			producer_fail(ctx, self, "cannot spawn the counter", err);
			return;
		}
		self->start_ns = atoll_now_ns();
		producer_produce(ctx, self);
		break;
	case MSG_MORE:
		self->more_pending = false;
		producer_produce(ctx, self);
		break;
	case MSG_ACK:
		memcpy(&self->acked, msg->data, sizeof(self->acked));
		if (!self->more_pending)
			producer_produce(ctx, self);
		break;
	case MSG_TOTAL:
		producer_check(ctx, self, msg);
		break;
	default:
		break;
	}
}

static const struct atoll_actor_type producer_type = {
	.name = "producer",
	.state_size = sizeof(struct producer),
	.init = producer_init,
	.receive = producer_receive,
};

struct options {
	uint64_t messages;
	unsigned reactors; /* 0: one per CPU */
	bool remote;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: counting [-n MESSAGES] [--quick] [--remote] [--reactors R]\n"
		"\n"
		"A producer sends MESSAGES freshly allocated messages to a counter,\n"
		"asks it for the total and checks it.\n"
		"\n"
		"  -n, --messages N   messages to send (default %llu)\n"
		"  -q, --quick        %llu messages (for tests)\n"
		"      --remote       put the counter on reactor 1 (default: reactor 0,\n"
		"                     with the producer)\n"
		"  -r, --reactors R   number of reactors (default: one per CPU)\n"
		"  -h, --help         show this help\n",
		DEFAULT_MESSAGES, QUICK_MESSAGES);
}

/* Parses a decimal number in [min, max]. Returns 0 or -EINVAL. */
static int parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *value)
{
	char *end;

	if (text[0] < '0' || text[0] > '9')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*value = v;
	return 0;
}

/* Returns -1 to go on, or the exit code main should return now. */
static int parse_options(int argc, char **argv, struct options *opt)
{
	static const struct option longopts[] = {
		{ "messages", required_argument, NULL, 'n' },
		{ "quick", no_argument, NULL, 'q' },
		{ "remote", no_argument, NULL, 'R' },
		{ "reactors", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool quick = false;
	bool messages_set = false;
	uint64_t value;
	int c;

	*opt = (struct options){ .messages = DEFAULT_MESSAGES };
	while ((c = getopt_long(argc, argv, "n:qr:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			/* The sum of 0 .. N-1 must fit in 64 bits. */
			if (parse_u64(optarg, 1, UINT32_MAX, &value) < 0) {
				fprintf(stderr, "counting: bad -n '%s' (1 to %u)\n", optarg,
					UINT32_MAX);
				return 2;
			}
			opt->messages = value;
			messages_set = true;
			break;
		case 'q':
			quick = true;
			break;
		case 'R':
			opt->remote = true;
			break;
		case 'r':
			if (parse_u64(optarg, 1, ATOLL_MAX_REACTORS, &value) < 0) {
				fprintf(stderr, "counting: bad --reactors '%s' (1 to %u)\n", optarg,
					ATOLL_MAX_REACTORS);
				return 2;
			}
			opt->reactors = (unsigned)value;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			/* getopt_long has already named the bad option. */
			fprintf(stderr, "Try 'counting --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "counting: unexpected argument '%s'\nTry 'counting --help'.\n",
			argv[optind]);
		return 2;
	}
	if (opt->remote && opt->reactors == 1) {
		fprintf(stderr, "counting: --remote needs at least 2 reactors\n");
		return 2;
	}
	if (quick && !messages_set)
		opt->messages = QUICK_MESSAGES;
	return -1;
}

int main(int argc, char **argv)
{
	struct options opt;
	int code = parse_options(argc, argv, &opt);

	if (code >= 0)
		return code;

	/* Signals stay on: Ctrl-C stops the runtime cleanly. */
	struct atoll_config config = { .reactors = opt.reactors, .no_signals = false };
	atoll_runtime *rt;
	int err = atoll_runtime_start(&config, &rt);
	if (err < 0) {
		fprintf(stderr, "counting: cannot start the runtime: %s\n", atoll_strerror(err));
		return 1;
	}
	if (opt.remote && atoll_runtime_reactors(rt) < 2) {
		fprintf(stderr, "counting: --remote needs at least 2 reactors; try --reactors 2\n");
		atoll_runtime_destroy(rt);
		return 2;
	}

	struct counting_result result = { .finished = false };
	struct producer_args args = {
		.messages = opt.messages,
		.counter_core = opt.remote ? 1 : 0,
		.result = &result,
	};
	printf("atoll counting: a producer on reactor 0 sends %" PRIu64
	       " new messages to a counter on reactor %d (%s).\n",
	       opt.messages, args.counter_core, opt.remote ? "across cores" : "same core");
	fflush(stdout);

	atoll_ref producer;
	err = atoll_runtime_spawn(rt, &producer_type, &args, 0, &producer);
	if (err == 0) {
		atoll_msg *go = atoll_msg_new(MSG_GO, 0);

		err = go != NULL ? atoll_runtime_send(rt, producer, go) : -ENOMEM;
	}
	if (err < 0) {
		fprintf(stderr, "counting: cannot start the producer: %s\n", atoll_strerror(err));
		atoll_runtime_destroy(rt);
		return 1;
	}

	/* The producer stops the runtime once it has the answer (or Ctrl-C). */
	atoll_runtime_wait(rt);
	atoll_runtime_destroy(rt);

	if (result.failed)
		return 1;
	if (!result.finished) {
		fprintf(stderr, "counting: stopped before the counter had answered\n");
		return 1;
	}
	double seconds = (double)result.elapsed_ns / 1e9;
	printf("  %" PRIu64 " messages in %.3f s = %.3f M msgs/s, %.1f ns/msg\n",
	       result.total.count, seconds, (double)result.total.count / seconds / 1e6,
	       (double)result.elapsed_ns / (double)result.total.count);
	printf("  flow control: %u per turn, at most %u in flight; %" PRIu64
	       " sends found the ring full\n",
	       CHUNK, WINDOW, result.ring_full);

	uint64_t expected_sum = opt.messages * (opt.messages - 1) / 2;
	if (result.total.count != opt.messages || result.total.sum != expected_sum) {
		fprintf(stderr,
			"counting: check FAILED: the counter saw %" PRIu64 " messages "
			"with checksum %" PRIu64 ", expected %" PRIu64 " with %" PRIu64 "\n",
			result.total.count, result.total.sum, opt.messages, expected_sum);
		return 1;
	}
	printf("  check: the counter's total matches what was sent: ok\n");
	return 0;
}
