/*
 * pingpong.c - two actors bounce one message back and forth, first on one
 * core, then across two cores, and the time per message is printed for each.
 *
 * It shows the ownership rule at work: the "ball" is allocated once, and each
 * receiver sends on the very message it was given, so a hop costs no
 * allocation and no copy. On one core a hop is a mailbox append; across
 * cores it is a slot in an SPSC ring plus, when the peer sleeps, a doorbell.
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
#define DEFAULT_SECONDS 3u
/* The players look at the clock once per this many hops (a power of two):
 * often enough to keep to a time limit, rarely enough to cost nothing. */
#define CLOCK_EVERY 1024u

enum pingpong_msg {
	MSG_KICKOFF = ATOLL_MSG_USER, /* main -> referee: play the games */
	MSG_BALL,                     /* the ball; payload: struct ball */
};

/*
 * The ball's payload. reply_to in the message header names the player to
 * send the ball back to, so players need no state to know their partner.
 */
struct ball {
	uint64_t hops_left; /* deliveries still to make between the players */
	uint64_t limit_ns;  /* the game ends after this long; 0: no limit */
	uint64_t start_ns;  /* when the first player got the ball */
	uint64_t end_ns;    /* when the last player got it */
	atoll_ref referee;  /* who gets the ball when the game is over */
};

/* One game: where its two players live. */
struct game {
	const char *label;
	int ping_core;
	int pong_core;
};

/* What main learns once the runtime has stopped. */
struct pingpong_result {
	unsigned games_played;
	bool failed;
};

/* The referee's init argument; lives in main until the runtime has stopped. */
struct referee_args {
	uint64_t messages;
	uint64_t limit_ns;
	unsigned ngames;
	const struct game *games;
	struct pingpong_result *result;
};

/*
 * A player returns the ball to whoever sent it, until no hops are left or
 * the time is up; then it hands the ball to the referee. Either way it
 * passes on the message it received, so once receive returns the runtime
 * has nothing to free.
 */
static void player_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct ball *ball = msg->data;

	(void)state; /* players have none */
	if (msg->type != MSG_BALL)
		return;
	if (ball->start_ns == 0)
		ball->start_ns = atoll_now_ns();
	bool time_up = ball->limit_ns != 0 && (ball->hops_left & (CLOCK_EVERY - 1)) == 0 &&
		       atoll_now_ns() - ball->start_ns >= ball->limit_ns;
	if (ball->hops_left == 0 || time_up) {
		ball->end_ns = atoll_now_ns();
		atoll_send(ctx, ball->referee, msg);
		return;
	}
	ball->hops_left--;
	/* Read the partner before atoll_send: after it, msg is not ours. */
	atoll_ref partner = msg->reply_to;
	msg->reply_to = atoll_self(ctx);
	atoll_send(ctx, partner, msg);
}

static const struct atoll_actor_type player_type = {
	.name = "player",
	.state_size = 0, /* everything a player needs travels in the ball */
	.receive = player_receive,
};

struct referee {
	const struct referee_args *args;
	unsigned game; /* index of the game in play */
	atoll_ref ping;
	atoll_ref pong;
};

static void referee_fail(atoll_ctx *ctx, struct referee *self, const char *what, int err)
{
	fprintf(stderr, "pingpong: %s: %s\n", what, atoll_strerror(err));
	self->args->result->failed = true;
	atoll_stop_runtime(ctx);
}

/*
 * Spawns the two players of the current game and serves them the ball.
 * Returns 0 once the ball is sent (it is not ours any more), or -errno with
 * the runtime stopping and ball_msg still the caller's.
 */
static int referee_serve(atoll_ctx *ctx, struct referee *self, atoll_msg *ball_msg)
{
	const struct game *game = &self->args->games[self->game];
	struct ball *ball = ball_msg->data;
	int err;

	err = atoll_spawn(ctx, &player_type, NULL, game->ping_core, &self->ping);
	if (err == 0)
		err = atoll_spawn(ctx, &player_type, NULL, game->pong_core, &self->pong);
	if (err < 0) {
		referee_fail(ctx, self, "cannot spawn a player", err);
		return err;
	}
	*ball = (struct ball){
		.hops_left = self->args->messages,
		.limit_ns = self->args->limit_ns,
		.referee = atoll_self(ctx),
	};
	/* Ping gets the ball first and returns it to pong, as if pong served. */
	ball_msg->reply_to = self->pong;
	err = atoll_send(ctx, self->ping, ball_msg);
	if (err < 0)
		referee_fail(ctx, self, "cannot serve the ball", err);
	return 0; /* sent, or freed by atoll_send: not ours either way */
}

static void referee_score(atoll_ctx *ctx, struct referee *self, atoll_msg *ball_msg)
{
	const struct game *game = &self->args->games[self->game];
	const struct ball *ball = ball_msg->data;
	uint64_t played = self->args->messages - ball->hops_left;
	uint64_t elapsed_ns = ball->end_ns - ball->start_ns;
	double ns_per_message = (double)elapsed_ns / (double)played;
	double rate = ns_per_message > 0 ? 1e3 / ns_per_message : 0; /* millions per second */

	/* Printing blocks this reactor for a moment, but no game is running. */
	printf("  %-12s (reactor %d <-> %d): %10" PRIu64 " msgs in %.3f s = %8.3f M msgs/s, "
	       "%8.1f ns/msg%s\n",
	       game->label, game->ping_core, game->pong_core, played, (double)elapsed_ns / 1e9,
	       rate, ns_per_message, ball->hops_left != 0 ? " (time limit)" : "");
	fflush(stdout);
	atoll_stop(ctx, self->ping);
	atoll_stop(ctx, self->pong);
	self->args->result->games_played++;

	if (++self->game < self->args->ngames) {
		/* Serve the same message again: it is ours while receive runs.
		 * Should serving fail, the runtime frees it when we return. */
		referee_serve(ctx, self, ball_msg);
		return;
	}
	/* Not passed on, so the runtime frees the ball when receive returns. */
	atoll_stop_runtime(ctx);
}

static int referee_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct referee *self = state;

	(void)ctx;
	self->args = arg;
	return 0;
}

static void referee_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct referee *self = state;

	switch (msg->type) {
	case MSG_KICKOFF: {
		atoll_msg *ball = atoll_msg_new(MSG_BALL, sizeof(struct ball));

		if (ball == NULL) {
			referee_fail(ctx, self, "cannot allocate the ball", -ENOMEM);
			return;
		}
		/* A ball we allocated and could not serve is ours to free. */
		if (referee_serve(ctx, self, ball) < 0)
			atoll_msg_free(ball);
		break;
	}
	case MSG_BALL:
		referee_score(ctx, self, msg);
		break;
	default:
		break;
	}
}

static const struct atoll_actor_type referee_type = {
	.name = "referee",
	.state_size = sizeof(struct referee),
	.init = referee_init,
	.receive = referee_receive,
};

struct options {
	uint64_t messages;
	uint64_t seconds;  /* time limit per game; 0: none */
	unsigned reactors; /* 0: one per CPU */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pingpong [-n MESSAGES] [--quick] [--seconds S] [--reactors R]\n"
		"\n"
		"Two actors bounce one message back and forth, first both on reactor 0,\n"
		"then on reactors 0 and 1, and print the time per message.\n"
		"\n"
		"  -n, --messages N   messages per game (default %llu)\n"
		"  -q, --quick        %llu messages per game (for tests)\n"
		"  -t, --seconds S    end a game after S seconds even if messages are left\n"
		"                     (default %u; 0: no limit)\n"
		"  -r, --reactors R   number of reactors (default: one per CPU)\n"
		"  -h, --help         show this help\n",
		DEFAULT_MESSAGES, QUICK_MESSAGES, DEFAULT_SECONDS);
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
		{ "seconds", required_argument, NULL, 't' },
		{ "reactors", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool quick = false;
	bool messages_set = false;
	uint64_t value;
	int c;

	*opt = (struct options){ .messages = DEFAULT_MESSAGES, .seconds = DEFAULT_SECONDS };
	while ((c = getopt_long(argc, argv, "n:qt:r:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (parse_u64(optarg, 1, UINT64_MAX / 2, &value) < 0) {
				fprintf(stderr, "pingpong: bad -n '%s' (want a number > 0)\n",
					optarg);
				return 2;
			}
			opt->messages = value;
			messages_set = true;
			break;
		case 'q':
			quick = true;
			break;
		case 't':
			if (parse_u64(optarg, 0, 1000000, &opt->seconds) < 0) {
				fprintf(stderr, "pingpong: bad --seconds '%s' (0 to 1000000)\n",
					optarg);
				return 2;
			}
			break;
		case 'r':
			if (parse_u64(optarg, 1, ATOLL_MAX_REACTORS, &value) < 0) {
				fprintf(stderr, "pingpong: bad --reactors '%s' (1 to %u)\n", optarg,
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
			fprintf(stderr, "Try 'pingpong --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pingpong: unexpected argument '%s'\nTry 'pingpong --help'.\n",
			argv[optind]);
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
		fprintf(stderr, "pingpong: cannot start the runtime: %s\n", atoll_strerror(err));
		return 1;
	}
	unsigned reactors = atoll_runtime_reactors(rt);
	printf("atoll ping-pong: two actors pass one message back and forth, "
	       "%" PRIu64 " times per game",
	       opt.messages);
	if (opt.seconds != 0)
		printf(" (or for %" PRIu64 " s, whichever ends first)", opt.seconds);
	printf(".\n");
	printf("runtime: %u reactor%s (io_uring mode: %s)\n", reactors, reactors == 1 ? "" : "s",
	       atoll_runtime_uring_mode(rt, 0));

	static const struct game games[] = {
		{ .label = "same core", .ping_core = 0, .pong_core = 0 },
		{ .label = "across cores", .ping_core = 0, .pong_core = 1 },
	};
	struct pingpong_result result = { 0 };
	struct referee_args args = {
		.messages = opt.messages,
		.limit_ns = opt.seconds * 1000000000ull,
		.ngames = reactors >= 2 ? 2 : 1,
		.games = games,
		.result = &result,
	};
	if (reactors < 2)
		printf("(one reactor: the cross-core game is skipped)\n");
	fflush(stdout);

	atoll_ref referee;
	err = atoll_runtime_spawn(rt, &referee_type, &args, 0, &referee);
	if (err == 0) {
		atoll_msg *kickoff = atoll_msg_new(MSG_KICKOFF, 0);

		err = kickoff != NULL ? atoll_runtime_send(rt, referee, kickoff) : -ENOMEM;
	}
	if (err < 0) {
		fprintf(stderr, "pingpong: cannot start the referee: %s\n", atoll_strerror(err));
		atoll_runtime_destroy(rt);
		return 1;
	}

	/* The referee stops the runtime after the last game (or Ctrl-C does). */
	atoll_runtime_wait(rt);
	atoll_runtime_destroy(rt);

	if (result.failed)
		return 1;
	if (result.games_played < args.ngames) {
		fprintf(stderr, "pingpong: stopped after %u of %u games\n", result.games_played,
			args.ngames);
		return 1;
	}
	printf("done: %u game%s played.\n", result.games_played,
	       result.games_played == 1 ? "" : "s");
	return 0;
}
