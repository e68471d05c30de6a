/*
 * ring.c - the Savina "thread ring" benchmark: 503 actors in a circle, spread
 * round-robin over every reactor, pass one token N times.
 *
 * It shows actors wired up from outside the runtime: main spawns them all,
 * then sends each a setup message naming its successor. With several
 * reactors nearly every hop crosses cores, so this measures the SPSC rings
 * and the doorbell of a reactor that has gone to sleep waiting for the token.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atoll.h>

#define DEFAULT_HOPS 10000000ull
#define QUICK_HOPS 100000ull
#define DEFAULT_ACTORS 503u
#define MAX_ACTORS 1000000u

enum ring_msg {
	MSG_SETUP = ATOLL_MSG_USER, /* main -> member; payload: struct setup */
	MSG_TOKEN,                  /* member -> next; payload: struct token */
};

struct setup {
	atoll_ref next;
};

struct token {
	uint64_t hops_left; /* hops still to make; the holder at 0 ends the run */
	uint64_t start_ns;  /* when the first member got the token */
};

/* Filled in by the members; main reads it after the runtime has stopped. */
struct ring_result {
	bool finished;
	unsigned final_member; /* who held the token at hops_left == 0 */
	uint64_t elapsed_ns;
	/* Tokens received, summed by the members' stop hooks, which run on
	 * every reactor: hence atomic. */
	_Atomic uint64_t received;
};

/* A member's init argument; the array lives in main until the end. */
struct member_args {
	unsigned index;
	struct ring_result *result;
};

struct member {
	const struct member_args *args;
	atoll_ref next;
	uint64_t received;
	/* A token that came before the setup message, kept until it arrives. */
	atoll_msg *early_token;
};

static int member_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct member *self = state;

	(void)ctx;
	self->args = arg;
	return 0;
}

/*
 * Passes on the token being received, or ends the run. The runtime frees the
 * token after receive in the second case, as it was not passed on.
 */
static void member_pass(atoll_ctx *ctx, struct member *self, atoll_msg *msg)
{
	struct token *token = msg->data;

	self->received++;
	if (token->start_ns == 0)
		token->start_ns = atoll_now_ns();
	if (token->hops_left == 0) {
		struct ring_result *result = self->args->result;

		result->elapsed_ns = atoll_now_ns() - token->start_ns;
		result->final_member = self->args->index;
		result->finished = true;
		atoll_stop_runtime(ctx);
		return;
	}
	token->hops_left--;
	atoll_send(ctx, self->next, msg);
}

static void member_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct member *self = state;

	switch (msg->type) {
	case MSG_SETUP: {
		const struct setup *setup = msg->data;

		self->next = setup->next;
		if (self->early_token != NULL) {
			/* Deliver it to ourselves again, now that we know the
			 * way; it is ours to send since atoll_msg_keep. */
			atoll_send(ctx, atoll_self(ctx), self->early_token);
			self->early_token = NULL;
		}
		break;
	}
	case MSG_TOKEN:
		/*
		 * Main sent our setup before the token left, but on another
		 * path: order holds per sender, not across senders, so the
		 * token (from our predecessor) may overtake the setup (from
		 * main). Keep it until we know where it goes.
		 */
		if (self->next == ATOLL_REF_NONE) {
			atoll_msg_keep(ctx, msg);
			self->early_token = msg;
			break;
		}
		member_pass(ctx, self, msg);
		break;
	default:
		break;
	}
}

static void member_stop(atoll_ctx *ctx, void *state)
{
	struct member *self = state;

	(void)ctx;
	atomic_fetch_add_explicit(&self->args->result->received, self->received,
				  memory_order_relaxed);
	/* The runtime frees the state, not what it points to. */
	atoll_msg_free(self->early_token);
}

static const struct atoll_actor_type member_type = {
	.name = "ring-member",
	.state_size = sizeof(struct member),
	.init = member_init,
	.receive = member_receive,
	.stop = member_stop,
};

struct options {
	uint64_t hops;
	unsigned actors;
	unsigned reactors; /* 0: one per CPU */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: ring [-n HOPS] [--quick] [--actors A] [--reactors R]\n"
		"\n"
		"The Savina thread ring: A actors in a circle, placed round-robin on\n"
		"the reactors, pass one token HOPS times.\n"
		"\n"
		"  -n, --hops N       times the token is passed on (default %llu)\n"
		"  -q, --quick        %llu hops (for tests)\n"
		"  -a, --actors A     actors in the ring (default %u)\n"
		"  -r, --reactors R   number of reactors (default: one per CPU)\n"
		"  -h, --help         show this help\n",
		DEFAULT_HOPS, QUICK_HOPS, DEFAULT_ACTORS);
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
		{ "hops", required_argument, NULL, 'n' },
		{ "quick", no_argument, NULL, 'q' },
		{ "actors", required_argument, NULL, 'a' },
		{ "reactors", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool quick = false;
	bool hops_set = false;
	uint64_t value;
	int c;

	*opt = (struct options){ .hops = DEFAULT_HOPS, .actors = DEFAULT_ACTORS };
	while ((c = getopt_long(argc, argv, "n:qa:r:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (parse_u64(optarg, 1, UINT64_MAX / 2, &value) < 0) {
				fprintf(stderr, "ring: bad -n '%s' (want a number > 0)\n", optarg);
				return 2;
			}
			opt->hops = value;
			hops_set = true;
			break;
		case 'q':
			quick = true;
			break;
		case 'a':
			if (parse_u64(optarg, 1, MAX_ACTORS, &value) < 0) {
				fprintf(stderr, "ring: bad --actors '%s' (1 to %u)\n", optarg,
					MAX_ACTORS);
				return 2;
			}
			opt->actors = (unsigned)value;
			break;
		case 'r':
			if (parse_u64(optarg, 1, ATOLL_MAX_REACTORS, &value) < 0) {
				fprintf(stderr, "ring: bad --reactors '%s' (1 to %u)\n", optarg,
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
			fprintf(stderr, "Try 'ring --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ring: unexpected argument '%s'\nTry 'ring --help'.\n",
			argv[optind]);
		return 2;
	}
	if (quick && !hops_set)
		opt->hops = QUICK_HOPS;
	return -1;
}

/* Sends a message with a copy of len bytes from outside the runtime. */
static int send_from_main(atoll_runtime *rt, atoll_ref to, uint32_t type, const void *data,
			  size_t len)
{
	atoll_msg *msg = atoll_msg_new_copy(type, data, len);

	if (msg == NULL)
		return -ENOMEM;
	return atoll_runtime_send(rt, to, msg);
}

/* Spawns the members and links them into a circle. Returns 0 or -errno. */
static int build_ring(atoll_runtime *rt, const struct options *opt, struct member_args *args,
		      atoll_ref *refs)
{
	unsigned reactors = atoll_runtime_reactors(rt);
	int err;

	for (unsigned i = 0; i < opt->actors; i++) {
		err = atoll_runtime_spawn(rt, &member_type, &args[i], (int)(i % reactors),
					  &refs[i]);
		if (err < 0) {
			fprintf(stderr, "ring: cannot spawn member %u: %s\n", i,
				atoll_strerror(err));
			return err;
		}
	}
	for (unsigned i = 0; i < opt->actors; i++) {
		struct setup setup = { .next = refs[(i + 1) % opt->actors] };

		err = send_from_main(rt, refs[i], MSG_SETUP, &setup, sizeof(setup));
		if (err < 0) {
			fprintf(stderr, "ring: cannot set up member %u: %s\n", i,
				atoll_strerror(err));
			return err;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options opt;
	int code = parse_options(argc, argv, &opt);

	if (code >= 0)
		return code;

	struct ring_result result = { .finished = false };
	struct member_args *args = calloc(opt.actors, sizeof(*args));
	atoll_ref *refs = calloc(opt.actors, sizeof(*refs));
	if (args == NULL || refs == NULL) {
		fprintf(stderr, "ring: out of memory for %u actors\n", opt.actors);
		free(args);
		free(refs);
		return 1;
	}
	for (unsigned i = 0; i < opt.actors; i++)
		args[i] = (struct member_args){ .index = i, .result = &result };

	/* Signals stay on: Ctrl-C stops the runtime cleanly. */
	struct atoll_config config = { .reactors = opt.reactors, .no_signals = false };
	atoll_runtime *rt;
	int err = atoll_runtime_start(&config, &rt);
	if (err < 0) {
		fprintf(stderr, "ring: cannot start the runtime: %s\n", atoll_strerror(err));
		free(args);
		free(refs);
		return 1;
	}
	unsigned reactors = atoll_runtime_reactors(rt);
	printf("atoll thread ring: %u actors on %u reactor%s pass a token %" PRIu64 " times.\n",
	       opt.actors, reactors, reactors == 1 ? "" : "s", opt.hops);
	fflush(stdout);

	err = build_ring(rt, &opt, args, refs);
	if (err == 0) {
		struct token token = { .hops_left = opt.hops };

		err = send_from_main(rt, refs[0], MSG_TOKEN, &token, sizeof(token));
		if (err < 0)
			fprintf(stderr, "ring: cannot send the token: %s\n", atoll_strerror(err));
	}
	if (err == 0)
		atoll_runtime_wait(rt); /* the last holder of the token stops it */
	atoll_runtime_destroy(rt);
	free(refs);
	free(args);
	if (err < 0)
		return 1;

	if (!result.finished) {
		fprintf(stderr, "ring: stopped before the token had made its %" PRIu64 " hops\n",
			opt.hops);
		return 1;
	}
	double seconds = (double)result.elapsed_ns / 1e9;
	printf("  %" PRIu64 " hops in %.3f s = %.3f M msgs/s, %.1f ns/hop\n", opt.hops, seconds,
	       (double)opt.hops / seconds / 1e6, (double)result.elapsed_ns / (double)opt.hops);

	/* The token starts at member 0, so after N hops member N mod A has it,
	 * and every member together received it N + 1 times. */
	unsigned expected_member = (unsigned)(opt.hops % opt.actors);
	uint64_t received = atomic_load(&result.received);
	if (result.final_member != expected_member || received != opt.hops + 1) {
		fprintf(stderr,
			"ring: check FAILED: hop count reached zero at member %u (expected %u), "
			"%" PRIu64 " tokens received (expected %" PRIu64 ")\n",
			result.final_member, expected_member, received, opt.hops + 1);
		return 1;
	}
	printf("  check: the hop count reached zero at member %u, after %" PRIu64
	       " deliveries: ok\n",
	       result.final_member, received);
	return 0;
}
