/*
 * echo.c - a multi-core TCP echo server: one tcp_listener per reactor on a
 * shared port (SO_REUSEPORT), and one connection actor per client.
 *
 * It shows the I/O ownership rule end to end: each chunk a client sends
 * arrives as a message owning a buffer of the reactor's provided-buffer ring,
 * and that same message is queued on the stream to go back out, so the
 * bytes are never copied; the buffer returns to the ring once sent.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atoll.h>

#include "tcp_listener.h"

#define DEFAULT_PORT 7000u
#define DEFAULT_BIND "127.0.0.1"
/* A client that reads none of its echoes for this long, while more wait for
 * it, is disconnected: queued echoes hold receive buffers, which every
 * connection of the reactor shares. (nginx calls this send_timeout.) */
#define SEND_TIMEOUT_NS (5ull * 1000 * 1000 * 1000)
/* How long main waits for a reactor to report its listener. */
#define START_TIMEOUT_S 10

enum echo_msg {
	MSG_RECV = ATOLL_MSG_USER, /* stream -> connection: bytes, or the end */
	MSG_SEND_CHECK,            /* connection -> itself: have echoes gone out? */
};

/* --- the connection actor ------------------------------------------------ */

struct echo_conn {
	atoll_stream *stream; /* NULL once handed to atoll_stream_finish */
	atoll_ref listener;
	uint64_t queued;  /* bytes ever queued; queued - pending have been sent */
	uint64_t checked; /* bytes sent at the last MSG_SEND_CHECK */
	bool watching;    /* a MSG_SEND_CHECK is on its way */
};

static int conn_init(atoll_ctx *ctx, void *state, const void *arg)
{
	const struct atoll_tcp_conn_arg *conn = arg;
	struct echo_conn *self = state;
	int one = 1;

	/* Echoes are often small and each answers a request: send them at
	 * once rather than wait to coalesce them (Nagle). Best effort. */
	(void)setsockopt(conn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	self->listener = conn->listener;
	/* On failure the fd is still open, and the listener closes it. */
	return atoll_stream_open(ctx, conn->fd, MSG_RECV, &self->stream);
}

/* Arms the next MSG_SEND_CHECK, which comes back after SEND_TIMEOUT_NS. */
static void watch_sends(atoll_ctx *ctx, struct echo_conn *self)
{
	atoll_msg *check = atoll_msg_new(MSG_SEND_CHECK, 0);

	self->watching = check != NULL &&
			 atoll_send_after(ctx, atoll_self(ctx), check, SEND_TIMEOUT_NS, NULL) == 0;
	self->checked = self->queued - atoll_stream_pending(self->stream);
}

/*
 * Echoes are waiting: disconnects a client that read none of them since the
 * last check, or checks again later. Idle clients cost no timer.
 */
static void check_sends(atoll_ctx *ctx, struct echo_conn *self)
{
	uint64_t sent = self->queued - atoll_stream_pending(self->stream);

	self->watching = false;
	if (sent == self->queued)
		return; /* All sent: the next echo starts watching again. */
	if (sent == self->checked) {
		atoll_stop(ctx, atoll_self(ctx));
		return;
	}
	watch_sends(ctx, self);
}

static void conn_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct echo_conn *self = state;
	const struct atoll_io *io = atoll_io_of(msg);

	if (msg->type == MSG_SEND_CHECK) {
		if (self->stream != NULL)
			check_sends(ctx, self);
		return;
	}
	if (msg->type != MSG_RECV || io == NULL)
		return;
	if (io->res == 0 && io->op == ATOLL_IO_RECV) {
		/* The client has sent everything: the echoes still queued go
		 * out, then the socket closes. */
		atoll_stream_finish(ctx, self->stream);
		self->stream = NULL;
		atoll_stop(ctx, atoll_self(ctx));
		return;
	}
	if (io->res <= 0) {
		/* A receive or send failed (e.g. -ECONNRESET, -EPIPE). */
		atoll_stop(ctx, atoll_self(ctx));
		return;
	}
	/* The received message itself goes back out: the stream takes it
	 * and frees it once sent, which returns its buffer to the ring. */
	self->queued += msg->len;
	if (atoll_stream_send(ctx, self->stream, msg) < 0) {
		atoll_stop(ctx, atoll_self(ctx));
		return;
	}
	if (!self->watching)
		watch_sends(ctx, self);
}

/* Runs however the connection ends: by itself, or at runtime stop. */
static void conn_stop(atoll_ctx *ctx, void *state)
{
	struct echo_conn *self = state;

	if (self->stream != NULL)
		atoll_stream_close(ctx, self->stream);
	(void)atoll_tcp_listener_conn_closed(ctx, self->listener);
}

static const struct atoll_actor_type echo_conn_type = {
	.name = "echo_conn",
	.state_size = sizeof(struct echo_conn),
	.init = conn_init,
	.receive = conn_receive,
	.stop = conn_stop,
};

/* --- options and main ---------------------------------------------------- */

struct options {
	uint16_t port;
	const char *bind;
	unsigned reactors; /* 0: one per CPU */
	unsigned max_connections;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: echo [--port P] [--bind ADDR] [--reactors R] [--max-connections N]\n"
		"\n"
		"A TCP echo server: every byte a client sends comes back to it. Each\n"
		"reactor runs a listener on the same port (SO_REUSEPORT) and serves the\n"
		"connections the kernel gives it. Ctrl-C or SIGTERM stops it.\n"
		"\n"
		"  -p, --port P              TCP port (default %u; 0: any free port)\n"
		"  -b, --bind ADDR           IPv4 or IPv6 address to listen on\n"
		"                            (default %s; 0.0.0.0 or :: for all)\n"
		"  -r, --reactors R          number of reactors (default: one per CPU)\n"
		"  -m, --max-connections N   clients served at once per reactor; more are\n"
		"                            closed at once (default 0: no limit)\n"
		"  -h, --help                show this help\n"
		"\n"
		"A client that reads none of its echoes for %llu s is disconnected.\n",
		DEFAULT_PORT, DEFAULT_BIND, SEND_TIMEOUT_NS / 1000000000ull);
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

/* True when text is an IPv4 or IPv6 address literal. */
static bool is_address(const char *text)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, text, buf) == 1 || inet_pton(AF_INET6, text, buf) == 1;
}

/* Returns -1 to go on, or the exit code main should return now. */
static int parse_options(int argc, char **argv, struct options *opt)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, 'b' },
		{ "reactors", required_argument, NULL, 'r' },
		{ "max-connections", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t value;
	int c;

	*opt = (struct options){ .port = DEFAULT_PORT, .bind = DEFAULT_BIND };
	while ((c = getopt_long(argc, argv, "p:b:r:m:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (parse_u64(optarg, 0, UINT16_MAX, &value) < 0) {
				fprintf(stderr, "echo: bad --port '%s' (0 to 65535)\n", optarg);
				return 2;
			}
			opt->port = (uint16_t)value;
			break;
		case 'b':
			if (!is_address(optarg)) {
				fprintf(stderr,
					"echo: bad --bind '%s' (want an IPv4 or IPv6 address, "
					"such as 127.0.0.1 or ::1)\n",
					optarg);
				return 2;
			}
			opt->bind = optarg;
			break;
		case 'r':
			if (parse_u64(optarg, 1, ATOLL_MAX_REACTORS, &value) < 0) {
				fprintf(stderr, "echo: bad --reactors '%s' (1 to %u)\n", optarg,
					ATOLL_MAX_REACTORS);
				return 2;
			}
			opt->reactors = (unsigned)value;
			break;
		case 'm':
			if (parse_u64(optarg, 0, UINT32_MAX, &value) < 0) {
				fprintf(stderr, "echo: bad --max-connections '%s' (0 to %u)\n",
					optarg, UINT32_MAX);
				return 2;
			}
			opt->max_connections = (unsigned)value;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			/* getopt_long has already named the bad option. */
			fprintf(stderr, "Try 'echo --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "echo: unexpected argument '%s'\nTry 'echo --help'.\n",
			argv[optind]);
		return 2;
	}
	return -1;
}

/*
 * Returns 0 when no socket listens on host:port yet, or -errno (-EADDRINUSE).
 * SO_REUSEPORT lets any process of the same user join a port: without this
 * check a second echo would silently take a share of the first one's
 * clients. A socket without SO_REUSEPORT cannot join such a group, so a test
 * bind tells. Another process may still take the port between the check and
 * the listeners' bind; then both share it, as without the check.
 */
int main(int argc, char **argv)
{
	struct options opt;
	int code = parse_options(argc, argv, &opt);

	if (code >= 0)
		return code;
	int err = opt.port != 0 ? atoll_tcp_port_free(opt.bind, opt.port) : 0;
	if (err < 0) {
		fprintf(stderr, "echo: cannot listen on %s port %u: %s\n", opt.bind, opt.port,
			atoll_strerror(err));
		return 1;
	}

	/* Signals stay on: Ctrl-C and SIGTERM stop the runtime cleanly. */
	struct atoll_config config = { .reactors = opt.reactors, .no_signals = false };
	atoll_runtime *rt;
	err = atoll_runtime_start(&config, &rt);
	if (err < 0) {
		fprintf(stderr, "echo: cannot start the runtime: %s\n", atoll_strerror(err));
		return 1;
	}

	unsigned reactors = atoll_runtime_reactors(rt), failed = 0;
	struct atoll_tcp_listener_args listener = {
		.host = opt.bind,
		.port = opt.port,
		.max_connections = opt.max_connections,
		.conn_type = &echo_conn_type,
	};
	uint16_t port;

	err = atoll_tcp_listener_start_all(rt, &listener, START_TIMEOUT_S * 1000u, &port, &failed);
	if (err < 0) {
		fprintf(stderr, "echo: cannot listen on %s port %u (reactor %u): %s\n", opt.bind,
			opt.port, failed, atoll_strerror(err));
		atoll_runtime_destroy(rt);
		return 1;
	}
	bool ipv6 = strchr(opt.bind, ':') != NULL;
	printf("echo: listening on %s%s%s:%u, %u reactor%s (io_uring mode: %s)\n", ipv6 ? "[" : "",
	       opt.bind, ipv6 ? "]" : "", port, reactors, reactors == 1 ? "" : "s",
	       atoll_runtime_uring_mode(rt, 0));
	if (opt.max_connections != 0)
		printf("echo: at most %u connection%s per reactor\n", opt.max_connections,
		       opt.max_connections == 1 ? "" : "s");
	fflush(stdout);

	/* Runs until Ctrl-C or SIGTERM. */
	atoll_runtime_wait(rt);
	uint64_t enobufs = 0;
	for (unsigned core = 0; core < reactors; core++) {
		struct atoll_stats stats;

		if (atoll_runtime_stats(rt, core, &stats) == 0)
			enobufs += stats.enobufs;
	}
	atoll_runtime_destroy(rt);
	printf("echo: stopped (receive buffers ran out %" PRIu64 " time%s)\n", enobufs,
	       enobufs == 1 ? "" : "s");
	return 0;
}
