/*
 * echo.c - echo and echo.epoll: a TCP echo server on one pinned CPU, driven
 * by loadgen.c on another. echo is atoll: one reactor, a listener actor
 * (atoll_io_accept_start) and one actor per connection that forwards each
 * received message itself to atoll_stream_send (zero copy); echo.epoll is
 * echo_epoll.c. Both report the server thread's own CPU time and syscalls
 * per request over the measured window (probe.c): the client may be the
 * bottleneck on two CPUs.
 */
#define _GNU_SOURCE
#include "bench.h"
#include "echo.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* Message types of the atoll echo server's actors. */
enum echo_msg_type {
	ECHO_MSG_ACCEPT = ATOLL_MSG_USER + 32, /* atoll_io: an accepted connection */
	ECHO_MSG_RECV,                         /* atoll_io: a chunk of a stream */
};

/* What the benchmark asked for. */
struct echo_params {
	unsigned conns;
	unsigned size;
	double warmup;
	const char *syscalls; /* auto, perf, strace or none */
	int server_cpu;
	int client_cpu;
};

/* --------------------------------------------------- the atoll server --- */

/* Shared by main and the server's actors. The handshake fields are under
 * lock; the counters are atomics read by main while the reactor runs. */
struct echo_server {
	const char *bench;
	int listen_fd;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool ready;      /* the listener ran its init */
	int start_error; /* its result */
	pthread_t thread;
	pid_t tid;
	_Atomic unsigned open_conns;
	_Atomic uint64_t errors;
};

struct echo_listener {
	struct echo_server *server;
};

struct echo_conn_arg {
	struct echo_server *server;
	int fd;
};

struct echo_conn {
	struct echo_server *server;
	atoll_stream *stream;
};

static void echo_error(struct echo_server *server, const char *what, int err)
{
	if (atomic_fetch_add_explicit(&server->errors, 1, memory_order_relaxed) < 4)
		bench_note(server->bench, "atoll server: %s: %s", what, atoll_strerror(err));
}

static int echo_conn_init(atoll_ctx *ctx, void *state, const void *arg)
{
	const struct echo_conn_arg *a = arg;
	struct echo_conn *c = state;
	int one = 1, rc;

	c->server = a->server;
	/* As the epoll server does: replies go out at once. */
	(void)setsockopt(a->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	rc = atoll_stream_open(ctx, a->fd, ECHO_MSG_RECV, &c->stream);
	if (rc < 0)
		return rc;
	atomic_fetch_add_explicit(&c->server->open_conns, 1, memory_order_relaxed);
	return 0;
}

static void echo_conn_end(atoll_ctx *ctx, struct echo_conn *c)
{
	if (c->stream == NULL)
		return;
	atoll_stream_close(ctx, c->stream);
	c->stream = NULL;
	atomic_fetch_sub_explicit(&c->server->open_conns, 1, memory_order_relaxed);
}

static void echo_conn_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct echo_conn *c = state;
	struct atoll_io *io = atoll_io_of(msg);
	int rc;

	if (io == NULL || io->op != ATOLL_IO_RECV || c->stream == NULL)
		return;
	if (io->res > 0) {
		/* Zero copy: the received message itself is queued for sending
		 * and its ring buffer goes home once it is sent. */
		rc = atoll_stream_send(ctx, c->stream, msg);
		if (rc < 0)
			echo_error(c->server, "atoll_stream_send", rc);
		return;
	}
	if (io->res < 0 && io->res != -ECONNRESET && io->res != -EPIPE)
		echo_error(c->server, "stream ended", io->res);
	echo_conn_end(ctx, c);
	(void)atoll_stop(ctx, atoll_self(ctx));
}

static void echo_conn_stop(atoll_ctx *ctx, void *state)
{
	echo_conn_end(ctx, state);
}

static const struct atoll_actor_type echo_conn_type = {
	.name = "bench.echo.conn",
	.state_size = sizeof(struct echo_conn),
	.init = echo_conn_init,
	.receive = echo_conn_receive,
	.stop = echo_conn_stop,
};

static int echo_listener_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct echo_listener *l = state;
	struct echo_server *server = (struct echo_server *)arg;
	int rc;

	l->server = server;
	rc = atoll_io_accept_start(ctx, server->listen_fd, ECHO_MSG_ACCEPT);
	pthread_mutex_lock(&server->lock);
	server->thread = pthread_self();
	server->tid = bench_gettid();
	server->start_error = rc;
	server->ready = true;
	pthread_cond_signal(&server->cond);
	pthread_mutex_unlock(&server->lock);
	return rc;
}

static void echo_listener_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct echo_listener *l = state;
	struct atoll_io *io = atoll_io_of(msg);
	struct echo_conn_arg arg;
	atoll_ref ref;
	int rc;

	if (io == NULL || io->op != ATOLL_IO_ACCEPT)
		return;
	if (io->res < 0) {
		echo_error(l->server, "accept", io->res);
		return;
	}
	arg.server = l->server;
	arg.fd = io->res;
	/* Here: init runs now, so arg may live on the stack. */
	rc = atoll_spawn(ctx, &echo_conn_type, &arg, ATOLL_HERE, &ref);
	if (rc < 0) {
		echo_error(l->server, "spawning a connection actor", rc);
		close(arg.fd);
	}
}

static const struct atoll_actor_type echo_listener_type = {
	.name = "bench.echo.listener",
	.state_size = sizeof(struct echo_listener),
	.init = echo_listener_init,
	.receive = echo_listener_receive,
};

/* ------------------------------------------------------------ the run --- */

/* One side of the comparison, behind the same four operations. */
struct echo_target {
	const char *bench;
	bool atoll;
	/* atoll */
	struct echo_server server;
	atoll_runtime *rt;
	/* epoll */
	struct echo_epoll *epoll;
};

static unsigned target_open_conns(const struct echo_target *t)
{
	if (t->atoll)
		return atomic_load_explicit(&t->server.open_conns, memory_order_relaxed);
	return echo_epoll_open_conns(t->epoll);
}

static uint64_t target_errors(const struct echo_target *t)
{
	if (t->atoll)
		return atomic_load_explicit(&t->server.errors, memory_order_relaxed);
	return echo_epoll_errors(t->epoll);
}

static int target_start(struct echo_target *t, const struct bench_common *common,
			const struct echo_params *ep, uint16_t *port, pthread_t *thread, pid_t *tid)
{
	struct echo_server *s = &t->server;
	struct atoll_config config;
	struct timespec deadline;
	atoll_ref ref;
	int rc;

	if (!t->atoll) {
		rc = echo_epoll_start(t->bench, ep->server_cpu, &t->epoll);
		if (rc < 0)
			return rc;
		*port = echo_epoll_port(t->epoll);
		*thread = echo_epoll_thread(t->epoll);
		*tid = echo_epoll_tid(t->epoll);
		return 0;
	}
	s->bench = t->bench;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->listen_fd = atoll_tcp_listen(NULL, 0, 1024, false);
	if (s->listen_fd < 0) {
		bench_note(t->bench, "atoll_tcp_listen: %s", atoll_strerror(s->listen_fd));
		return s->listen_fd;
	}
	rc = atoll_tcp_port(s->listen_fd);
	if (rc < 0) {
		bench_note(t->bench, "atoll_tcp_port: %s", atoll_strerror(rc));
		return rc;
	}
	*port = (uint16_t)rc;
	bench_config(&config, common, 1);
	config.cpus = &ep->server_cpu;
	config.ncpus = 1;
	rc = bench_runtime_start(t->bench, &config, &t->rt);
	if (rc < 0)
		return rc;
	rc = atoll_runtime_spawn(t->rt, &echo_listener_type, s, 0, &ref);
	if (rc < 0) {
		bench_note(t->bench, "atoll_runtime_spawn: %s", atoll_strerror(rc));
		return rc;
	}
	/* The listener's init reports the reactor thread; bounded wait. */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 5;
	pthread_mutex_lock(&s->lock);
	rc = 0;
	while (!s->ready && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&s->cond, &s->lock, &deadline);
	rc = s->ready ? s->start_error : -ETIMEDOUT;
	pthread_mutex_unlock(&s->lock);
	if (rc < 0) {
		bench_note(t->bench, "the listener did not start: %s", atoll_strerror(rc));
		return rc;
	}
	*thread = s->thread;
	*tid = s->tid;
	return 0;
}

static void target_stop(struct echo_target *t, const struct bench_common *common)
{
	if (!t->atoll) {
		echo_epoll_stop(t->epoll);
		t->epoll = NULL;
		return;
	}
	if (t->rt != NULL) {
		atoll_runtime_stop(t->rt);
		bench_runtime_wait(t->bench, common, t->rt);
		atoll_runtime_destroy(t->rt);
		t->rt = NULL;
	}
	if (t->server.listen_fd >= 0)
		close(t->server.listen_fd);
	t->server.listen_fd = -1;
	pthread_mutex_destroy(&t->server.lock);
	pthread_cond_destroy(&t->server.cond);
}

/* Makes room for both ends of every connection in this process. */
static int raise_fd_limit(const char *bench, unsigned conns)
{
	struct rlimit rl;
	rlim_t need = 2 * (rlim_t)conns + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -errno;
	if (rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max < need) {
		bench_note(bench, "--conns %u needs %llu file descriptors; the limit is %llu",
			   conns, (unsigned long long)need, (unsigned long long)rl.rlim_max);
		return -EMFILE;
	}
	rl.rlim_cur = need;
	return setrlimit(RLIMIT_NOFILE, &rl) == 0 ? 0 : -errno;
}

static void probe_window(void *arg, bool start)
{
	if (start)
		thread_probe_begin(arg);
	else
		thread_probe_end(arg);
}

/* Waits (at most 2 s) for the server to close every connection the client
 * closed. Returns how many it still holds. */
static unsigned wait_server_idle(const struct echo_target *t)
{
	uint64_t deadline = bench_now_ns() + 2000000000ull;
	unsigned open;

	while ((open = target_open_conns(t)) != 0 && bench_now_ns() < deadline) {
		struct timespec pause = { .tv_sec = 0, .tv_nsec = 1000000 };

		nanosleep(&pause, NULL);
	}
	return open;
}

/* The strace fallback: a separate, shorter phase under strace, counting
 * calls per request (speed under ptrace means nothing). */
static int strace_phase(struct echo_target *t, const struct loadgen_params *lp, pid_t tid,
			double *per_req)
{
	struct loadgen_params p = *lp;
	struct loadgen_result r;
	struct strace_run st;
	uint64_t calls = 0;
	int rc;

	rc = strace_attach(t->bench, tid, &st);
	if (rc < 0)
		return rc;
	p.warmup_ns = 200000000u;
	p.measure_ns = 1000000000u;
	p.window = NULL;
	rc = loadgen_run(&p, &r);
	(void)wait_server_idle(t);
	if (strace_detach(t->bench, &st, &calls) < 0 || rc < 0)
		return rc < 0 ? rc : -EIO;
	if (r.total_requests == 0)
		return -EIO;
	/* Connection set-up and teardown are in the count too: a few calls per
	 * connection against thousands of requests. */
	*per_req = (double)calls / (double)r.total_requests;
	bench_note(t->bench, "strace: %" PRIu64 " calls for %" PRIu64 " requests", calls,
		   r.total_requests);
	return 0;
}

static int echo_main(int argc, char **argv, bool atoll)
{
	const char *bench = argv[0];
	struct bench_common common = { .seconds = 3, .timeout = 0 };
	struct echo_params ep = { .conns = 64, .size = 64, .warmup = 1, .syscalls = "auto" };
	const struct bench_flag flags[] = {
		{ "-c", "--conns", BENCH_FLAG_UINT, &ep.conns,
		  "connections, each with one request in flight" },
		{ "-s", "--size", BENCH_FLAG_UINT, &ep.size, "bytes per message" },
		{ NULL, "--warmup", BENCH_FLAG_DOUBLE, &ep.warmup,
		  "seconds of load before measuring" },
		{ NULL, "--syscalls", BENCH_FLAG_STRING, &ep.syscalls,
		  "count server syscalls with auto|perf|strace|none" },
	};
	struct echo_target target = { .bench = bench, .atoll = atoll };
	struct loadgen_params lp;
	struct loadgen_result r;
	struct thread_probe probe;
	char syscalls_text[32] = "n/a";
	char cpu_text[32] = "n/a";
	double strace_per_req = 0;
	pthread_t thread = pthread_self();
	unsigned left;
	uint16_t port = 0;
	pid_t tid = 0;
	uint64_t server_errors;
	bool ok, perf_counted;
	int rc;

	target.server.listen_fd = -1;
	rc = bench_parse_flags(argc, argv, &common, flags, BENCH_ARRAY_SIZE(flags));
	if (rc != BENCH_CONTINUE)
		return rc;
	if (ep.conns == 0 || ep.conns > 60000 || ep.size == 0 || ep.size > (1u << 24)) {
		bench_note(bench, "--conns must be in 1..60000 and --size in 1..16777216");
		return BENCH_EXIT_USAGE;
	}
	if (!(common.seconds > 0)) {
		bench_note(bench, "--seconds must be more than 0");
		return BENCH_EXIT_USAGE;
	}
	if (strcmp(ep.syscalls, "auto") != 0 && strcmp(ep.syscalls, "perf") != 0 &&
	    strcmp(ep.syscalls, "strace") != 0 && strcmp(ep.syscalls, "none") != 0) {
		bench_note(bench, "--syscalls must be auto, perf, strace or none");
		return BENCH_EXIT_USAGE;
	}
	ep.server_cpu = bench_cpu(&common, 0);
	ep.client_cpu = bench_cpu(&common, 1);
	if (ep.server_cpu == ep.client_cpu)
		bench_note(bench, "server and client share CPU %d: the numbers mean little",
			   ep.server_cpu);
	if (raise_fd_limit(bench, ep.conns) < 0)
		return BENCH_EXIT_FAIL;
	if (common.timeout <= 0)
		common.timeout = ep.warmup + common.seconds + 60;
	bench_watchdog_start(bench, common.timeout);
	bench_note(bench, "server on CPU %d, client on CPU %d, %u connections, %u-byte messages",
		   ep.server_cpu, ep.client_cpu, ep.conns, ep.size);

	rc = target_start(&target, &common, &ep, &port, &thread, &tid);
	if (rc < 0) {
		target_stop(&target, &common);
		bench_watchdog_stop();
		return BENCH_EXIT_FAIL;
	}
	thread_probe_open(&probe, thread, tid);
	if (strcmp(ep.syscalls, "strace") == 0 || strcmp(ep.syscalls, "none") == 0)
		thread_probe_close(&probe);
	memset(&lp, 0, sizeof(lp));
	lp.bench = bench;
	lp.port = port;
	lp.conns = ep.conns;
	lp.size = ep.size;
	lp.warmup_ns = bench_seconds_ns(ep.warmup);
	lp.measure_ns = bench_seconds_ns(common.seconds);
	lp.cpu = ep.client_cpu;
	lp.window = probe_window;
	lp.window_arg = &probe;
	rc = loadgen_run(&lp, &r);
	left = wait_server_idle(&target);
	perf_counted = probe.perf_fd >= 0;
	if (rc == 0 && perf_counted && r.requests > 0)
		snprintf(syscalls_text, sizeof(syscalls_text), "%.4f",
			 (double)probe.syscalls / (double)r.requests);
	thread_probe_close(&probe);
	if (rc == 0 && !perf_counted && strcmp(ep.syscalls, "none") != 0) {
		if (strcmp(ep.syscalls, "perf") == 0) {
			bench_note(bench, "syscalls: n/a: %s", probe.why);
		} else {
			if (strcmp(ep.syscalls, "auto") == 0)
				bench_note(bench, "syscalls: perf cannot count (%s); using strace",
					   probe.why);
			if (strace_phase(&target, &lp, tid, &strace_per_req) == 0)
				snprintf(syscalls_text, sizeof(syscalls_text), "%.4f",
					 strace_per_req);
			else
				bench_note(bench, "syscalls: n/a: neither perf nor strace could "
						  "count them");
		}
	}
	server_errors = target_errors(&target);
	target_stop(&target, &common);
	bench_watchdog_stop();
	if (rc < 0)
		return BENCH_EXIT_FAIL;

	ok = r.mismatches == 0 && r.conn_errors == 0 && r.unfinished == 0 && !r.stalled &&
	     left == 0 && server_errors == 0 && r.requests > 0;
	if (left != 0)
		bench_note(bench,
			   "the server still held %u connections 2 s after the client closed "
			   "them all",
			   left);
	if (!ok)
		bench_note(bench,
			   "run FAILED: mismatches=%" PRIu64 " conn_errors=%" PRIu64
			   " unfinished=%u stalled=%d server_open=%u server_errors=%" PRIu64
			   " requests=%" PRIu64,
			   r.mismatches, r.conn_errors, r.unfinished, (int)r.stalled, left,
			   server_errors, r.requests);
	bench_note(bench,
		   "client: %.2f s CPU in a %.2f s window (%.2f us/req); p90 %.1f us, p99.9 "
		   "%.1f us, max %.1f us, mean %.1f us",
		   r.client_cpu_s, r.seconds,
		   r.requests ? r.client_cpu_s * 1e6 / (double)r.requests : 0.0, r.p90_us,
		   r.p999_us, r.max_us, r.mean_us);
	if (!ok)
		return BENCH_EXIT_FAIL;
	if (probe.have_cpu)
		snprintf(cpu_text, sizeof(cpu_text), "%.3f",
			 (double)probe.cpu_ns / 1e3 / (double)r.requests);
	else
		bench_note(bench, "cpu_us_per_req: n/a: no CPU clock for the server thread");
	bench_result(bench,
		     "conns=%u size=%u req_per_sec=%.0f p50_us=%.1f p99_us=%.1f "
		     "cpu_us_per_req=%s syscalls_per_req=%s requests=%" PRIu64 " seconds=%.3f "
		     "server_cpu_util=%.3f",
		     ep.conns, ep.size, r.req_per_sec, r.p50_us, r.p99_us, cpu_text, syscalls_text,
		     r.requests, r.seconds,
		     probe.have_cpu && r.seconds > 0 ? (double)probe.cpu_ns / 1e9 / r.seconds
						     : 0.0);
	return BENCH_EXIT_OK;
}

int bench_echo(int argc, char **argv)
{
	return echo_main(argc, argv, true);
}

int bench_echo_epoll(int argc, char **argv)
{
	return echo_main(argc, argv, false);
}
