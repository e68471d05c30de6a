/*
 * echo.c - a multi-core TCP echo server: one tcp_listener per reactor on a
 * shared port (SO_REUSEPORT), and one connection actor per client (the
 * actor library's, actors/echo.h, which the "echo" topology type runs too).
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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atoll.h>

#include "echo.h"
#include "tcp_listener.h"

#define DEFAULT_PORT 7000u
#define DEFAULT_BIND "127.0.0.1"
/* How long a client may read none of its echoes while more wait for it
 * before actors/echo.c disconnects it, for --help. */
#define SEND_TIMEOUT_NS (5ull * 1000 * 1000 * 1000)
/* How long main waits for a reactor to report its listener. */
#define START_TIMEOUT_S 10

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
		.conn_type = &atoll_echo_conn_type,
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
