/*
 * test_stream.c - sockets through the reactor's io_uring: listening
 * (atoll_tcp_listen, atoll_tcp_port), multishot accept, streams (multishot
 * receive into the provided-buffer ring, ordered sends of any message) and
 * connect. The server is an echo built from actors: a listener per reactor
 * and one actor per connection that forwards each received message to
 * atoll_stream_send, without copying. Clients are plain threads with
 * blocking sockets and send/receive time limits, so nothing hangs; servers
 * bind 127.0.0.1 only. Covered: 100 concurrent echo clients; 1 B to 4 MiB
 * payloads byte-identical; chunks larger than the send buffer (partial
 * sends continued); a 4-buffer ring that runs out (-ENOBUFS) and still
 * echoes 1 MiB; a storm of 200 clients closing or resetting; sends to a peer
 * that has gone end the stream with an error or end of file, without a
 * crash or SIGPIPE, and free every queued message; stopping the runtime
 * with connections open and buffers held; connect results (0,
 * -ECONNREFUSED, -ETIMEDOUT); a received buffer forwarded to another
 * reactor and sent there without a copy; timed socket calls on the thread
 * that started the runtime are not interrupted. After every test's runtime
 * stops: no buffer lent out, no I/O in flight, no actor alive. */
#include "helpers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
	MSG_GO = ATOLL_MSG_USER,
	MSG_ACCEPT,
	MSG_RECV,
	MSG_SINK_RECV,
	MSG_FLOOD,
	MSG_CONNECT, /* + the index of the connection */
};

/* What a connection actor does with what it receives. */
enum conn_mode {
	CONN_ECHO,    /* sends each chunk back on its stream */
	CONN_FORWARD, /* forwards each chunk to the sink on the other reactor */
	CONN_FLOOD,   /* on the first bytes, queues FLOOD_MSGS large sends */
	CONN_HOLD,    /* keeps every chunk until it stops */
};

#define REACTORS 2
#define DEFAULT_BUFFER_SIZE 16384u /* atoll_config.recv_buffer_size default */

/* Chunks forwarded to the sink whose pointers are recorded. */
#define FWD_MAX 65536u
#define FLOOD_MSGS 64u
#define FLOOD_BYTES 65536u
#define HOLD_MAX 64u
#define CONNECTS 3

/* A client's socket time limit: long enough for TSan, short enough to end. */
#define CLIENT_TIMEOUT_S TSAN_SCALE(10, 60)
/* How long a test waits for all its clients. */
#define CLIENTS_LIMIT_NS (TSAN_SCALE(60, 240) * NS_PER_SEC)

struct sworld;

struct listener_arg {
	struct sworld *w;
	uint16_t port;
	bool reuseport;
};

/*
 * One record per test, reached by every actor through its init arg. Counters
 * are written on reactor threads and read by the test thread.
 */
struct sworld {
	atoll_runtime *rt;
	enum conn_mode mode;
	unsigned buffer_size; /* the ring's buffer size: no chunk is larger */
	int conn_sndbuf;      /* SO_SNDBUF of accepted sockets, or 0 */
	struct listener_arg largs[REACTORS];
	_Atomic uint64_t listening;
	_Atomic uint64_t listen_error;
	_Atomic uint64_t port;
	_Atomic uint64_t accepted;
	_Atomic uint64_t accepted_on[REACTORS];
	_Atomic uint64_t accept_errors;
	_Atomic uint64_t opened;      /* streams opened */
	_Atomic uint64_t ended;       /* streams whose last message came */
	_Atomic uint64_t eofs;        /* ... with res 0 */
	_Atomic uint64_t errors;      /* ... with res < 0 */
	_Atomic uint64_t last_error;  /* the res of the last of those */
	_Atomic uint64_t after_end;   /* messages after the last: must be 0 */
	_Atomic uint64_t conn_stops;  /* connection actors' stop hooks */
	_Atomic uint64_t live;        /* connection actors with a stream */
	_Atomic uint64_t peak_live;   /* the most at once */
	_Atomic uint64_t bytes_in;    /* bytes received by connection actors */
	_Atomic uint64_t max_chunk;   /* the largest received message */
	_Atomic uint64_t send_errors; /* atoll_stream_send failures */
	/* CONN_FORWARD: the sink on reactor 1 and what it checked. */
	_Atomic atoll_ref sink;
	int sink_fd;
	_Atomic uint64_t sink_opened;
	_Atomic uint64_t sink_ended;
	_Atomic uint64_t sink_core;
	_Atomic uint64_t forwarded;
	_Atomic uint64_t forward_checked;
	_Atomic uint64_t *fwd_msg;  /* [FWD_MAX] message pointers, in order */
	_Atomic uint64_t *fwd_data; /* [FWD_MAX] their data pointers */
	/* CONN_FLOOD */
	_Atomic uint64_t flood_queued;
	_Atomic uint64_t flood_pending;
	_Atomic uint64_t flood_end_res;
	/* CONN_HOLD */
	_Atomic uint64_t held;
	/* The connector: where to, with which time limit, and what came back. */
	unsigned connects;
	uint16_t connect_port[CONNECTS];
	uint64_t connect_timeout_ns[CONNECTS];
	_Atomic uint64_t connect_res[CONNECTS];
	_Atomic uint64_t connect_local_port[CONNECTS];
	_Atomic uint64_t connect_done;
	/* Descriptors the test thread holds: teardown closes what is left. */
	int test_fds[16];
	unsigned ntest_fds;
};

/*
 * Why the kernel cannot run the buffer-ring tests (no provided-buffer ring
 * or no multishot receive: the library then falls back to single-shot
 * receives), or NULL.
 */
static const char *no_buffer_ring;

static _Atomic uint64_t sigpipes;

static void count_sigpipe(int sig)
{
	(void)sig;
	atomic_fetch_add(&sigpipes, 1);
}

static void raise_to(_Atomic uint64_t *v, uint64_t x)
{
	uint64_t cur = atomic_load(v);

	while (cur < x && !atomic_compare_exchange_weak(v, &cur, x))
		;
}

static unsigned char pattern_byte(uint64_t seed, uint64_t i)
{
	uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull ^ (seed + 1) * 0xd1b54a32d192ed03ull;

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	return (unsigned char)(x >> 56);
}

static unsigned char *make_payload(size_t len, uint64_t seed)
{
	unsigned char *p = malloc(len == 0 ? 1 : len);

	assert_non_null(p);
	for (size_t i = 0; i < len; i++)
		p[i] = pattern_byte(seed, i);
	return p;
}

/* The listener ----------------------------------------------------------- */

struct conn_arg {
	struct sworld *w;
	int fd;
};

static const struct atoll_actor_type conn_type;

struct listener {
	struct sworld *w;
	int fd;
};

static int listener_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct listener *l = state;
	const struct listener_arg *a = arg;
	int rc, port;

	l->w = a->w;
	l->fd = atoll_tcp_listen(NULL, a->port, 1024, a->reuseport);
	if (l->fd < 0) {
		atomic_store(&l->w->listen_error, (uint64_t)(int64_t)l->fd);
		atomic_fetch_add(&l->w->listening, 1);
		return l->fd;
	}
	port = atoll_tcp_port(l->fd);
	CHECK(port > 0);
	CHECK(a->port == 0 || port == a->port);
	rc = atoll_io_accept_start(ctx, l->fd, MSG_ACCEPT);
	CHECK_EQ(rc, 0);
	if (rc != 0) {
		close(l->fd);
		atomic_store(&l->w->listen_error, (uint64_t)(int64_t)rc);
		atomic_fetch_add(&l->w->listening, 1);
		return rc;
	}
	atomic_store(&l->w->port, (uint64_t)port);
	atomic_fetch_add(&l->w->listening, 1);
	return 0;
}

static void listener_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct listener *l = state;
	struct atoll_io *io = atoll_io_of(msg);
	struct conn_arg a;
	atoll_ref ref;
	int rc;

	CHECK(io != NULL);
	CHECK_EQ(msg->type, MSG_ACCEPT);
	if (io == NULL || msg->type != MSG_ACCEPT)
		return;
	CHECK_EQ(io->op, ATOLL_IO_ACCEPT);
	CHECK_EQ(io->fd, l->fd);
	if (io->res < 0) {
		atomic_fetch_add(&l->w->accept_errors, 1);
		return;
	}
	atomic_fetch_add(&l->w->accepted, 1);
	atomic_fetch_add(&l->w->accepted_on[atoll_core(ctx) % REACTORS], 1);
	/* Spawned here, so init runs now and a may live on the stack. */
	a.w = l->w;
	a.fd = io->res;
	rc = atoll_spawn(ctx, &conn_type, &a, ATOLL_HERE, &ref);
	CHECK_EQ(rc, 0);
	if (rc != 0)
		close(a.fd);
}

static void listener_stop(atoll_ctx *ctx, void *state)
{
	struct listener *l = state;

	(void)ctx;
	close(l->fd);
}

static const struct atoll_actor_type listener_type = {
	.name = "listener",
	.state_size = sizeof(struct listener),
	.init = listener_init,
	.receive = listener_receive,
	.stop = listener_stop,
};

/* Connections --------------------------------------------------------------- */

static _Atomic uint64_t flood_released;

static void flood_release(atoll_msg *m)
{
	free(m->data);
	atomic_fetch_add(&flood_released, 1);
}

struct conn {
	struct sworld *w;
	atoll_stream *s;
	bool flooded;
	unsigned nheld;
	atoll_msg *held[HOLD_MAX];
};

static int conn_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct conn *c = state;
	const struct conn_arg *a = arg;
	int rc;

	c->w = a->w;
	if (c->w->conn_sndbuf != 0) {
		/* A small send buffer: sends complete short, or pile up. */
		CHECK_EQ(setsockopt(a->fd, SOL_SOCKET, SO_SNDBUF, &c->w->conn_sndbuf,
				    sizeof(c->w->conn_sndbuf)),
			 0);
	}
	rc = atoll_stream_open(ctx, a->fd, MSG_RECV, &c->s);
	CHECK_EQ(rc, 0);
	if (rc != 0)
		return rc;
	CHECK(c->s != NULL);
	CHECK_EQ(atoll_stream_fd(c->s), a->fd);
	CHECK_EQ(atoll_stream_pending(c->s), 0);
	atomic_fetch_add(&c->w->opened, 1);
	raise_to(&c->w->peak_live, atomic_fetch_add(&c->w->live, 1) + 1);
	return 0;
}

static void conn_close(atoll_ctx *ctx, struct conn *c)
{
	if (c->s == NULL)
		return;
	atoll_stream_close(ctx, c->s);
	c->s = NULL;
	atomic_fetch_sub(&c->w->live, 1);
}

static void conn_flood(atoll_ctx *ctx, struct conn *c)
{
	size_t pending;

	for (unsigned i = 0; i < FLOOD_MSGS; i++) {
		atoll_msg *m = atoll_msg_new(MSG_FLOOD, 0);
		unsigned char *buf = malloc(FLOOD_BYTES);

		CHECK(m != NULL && buf != NULL);
		if (m == NULL || buf == NULL) {
			free(buf);
			atoll_msg_free(m);
			return;
		}
		memset(buf, 'f', FLOOD_BYTES);
		atoll_msg_attach(m, buf, FLOOD_BYTES, FLOOD_BYTES, flood_release);
		CHECK_EQ(atoll_stream_send(ctx, c->s, m), 0);
	}
	/* Nothing can have gone out yet: sends start after this receive. */
	pending = atoll_stream_pending(c->s);
	atomic_store(&c->w->flood_pending, pending);
	CHECK(pending > 0);
	CHECK(pending <= (size_t)FLOOD_MSGS * FLOOD_BYTES);
	c->flooded = true;
	atomic_store(&c->w->flood_queued, 1);
}

static void conn_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct conn *c = state;
	struct sworld *w = c->w;
	struct atoll_io *io = atoll_io_of(msg);
	int rc;

	CHECK(io != NULL);
	CHECK_EQ(msg->type, MSG_RECV);
	if (io == NULL || msg->type != MSG_RECV)
		return;
	if (c->s == NULL) {
		/* "The last message of a stream": nothing may follow it. */
		atomic_fetch_add(&w->after_end, 1);
		return;
	}
	if (io->res <= 0) {
		/* The end: of the receive, or of a send that failed. */
		CHECK(io->op == ATOLL_IO_RECV || io->op == ATOLL_IO_SEND);
		CHECK_EQ(msg->len, 0);
		if (io->res == 0) {
			atomic_fetch_add(&w->eofs, 1);
		} else {
			atomic_fetch_add(&w->errors, 1);
			atomic_store(&w->last_error, (uint64_t)(int64_t)io->res);
		}
		if (w->mode == CONN_FLOOD)
			atomic_store(&w->flood_end_res, (uint64_t)(int64_t)io->res);
		atomic_fetch_add(&w->ended, 1);
		conn_close(ctx, c);
		CHECK_EQ(atoll_stop(ctx, atoll_self(ctx)), 0);
		return;
	}
	CHECK_EQ(io->op, ATOLL_IO_RECV);
	CHECK_EQ(io->res, msg->len);
	CHECK(msg->data != NULL);
	CHECK(msg->len <= w->buffer_size);
	raise_to(&w->max_chunk, msg->len);
	atomic_fetch_add(&w->bytes_in, msg->len);
	switch (w->mode) {
	case CONN_ECHO:
		/* The received message itself goes back out: no copy. */
		rc = atoll_stream_send(ctx, c->s, msg);
		CHECK_EQ(rc, 0);
		if (rc != 0)
			atomic_fetch_add(&w->send_errors, 1);
		break;
	case CONN_FORWARD: {
		uint64_t n = atomic_fetch_add(&w->forwarded, 1);

		if (n < FWD_MAX) {
			atomic_store(&w->fwd_msg[n], (uint64_t)(uintptr_t)msg);
			atomic_store(&w->fwd_data[n], (uint64_t)(uintptr_t)msg->data);
		}
		CHECK(atoll_send(ctx, atomic_load(&w->sink), msg) >= 0);
		break;
	}
	case CONN_FLOOD:
		if (!c->flooded)
			conn_flood(ctx, c);
		break;
	case CONN_HOLD:
		CHECK(c->nheld < HOLD_MAX);
		if (c->nheld < HOLD_MAX) {
			atoll_msg_keep(ctx, msg);
			c->held[c->nheld++] = msg;
			atomic_fetch_add(&w->held, 1);
		}
		break;
	}
}

/* At runtime stop: give back what is held, and close the stream. */
static void conn_stop(atoll_ctx *ctx, void *state)
{
	struct conn *c = state;

	for (unsigned i = 0; i < c->nheld; i++)
		atoll_msg_free(c->held[i]);
	c->nheld = 0;
	conn_close(ctx, c);
	atomic_fetch_add(&c->w->conn_stops, 1);
}

static const struct atoll_actor_type conn_type = {
	.name = "conn",
	.state_size = sizeof(struct conn),
	.init = conn_init,
	.receive = conn_receive,
	.stop = conn_stop,
};

/* Clients ------------------------------------------------------------------ */

/* Records a client thread's failure as a check failure, with its reason. */
__attribute__((format(printf, 3, 4))) static void client_failed(const char *file, int line,
								const char *fmt, ...)
{
	char buf[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	check_failed(file, line, buf);
}

#define CLIENT_FAIL(...) client_failed(__FILE__, __LINE__, __VA_ARGS__)

static void set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = CLIENT_TIMEOUT_S, .tv_usec = 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static struct sockaddr_in loopback(uint16_t port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/*
 * Connects fd to a. A connect interrupted by EINTR goes on in the kernel:
 * then this waits for it to finish. (The thread that started a runtime sees
 * such interruptions: see stream_runtime_start_leaves_...)
 */
static int connect_to(int fd, const struct sockaddr_in *a)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int err = 0;

	if (connect(fd, (const struct sockaddr *)a, sizeof(*a)) == 0)
		return 0;
	if (errno != EINTR)
		return -errno;
	if (poll(&p, 1, CLIENT_TIMEOUT_S * 1000) != 1)
		return -ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		return -errno;
	return -err;
}

/* A blocking client socket with time limits, connected to port. */
static int client_connect(uint16_t port)
{
	struct sockaddr_in a = loopback(port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int err;

	if (fd < 0)
		return -errno;
	set_timeouts(fd);
	err = connect_to(fd, &a);
	if (err != 0) {
		close(fd);
		return err;
	}
	return fd;
}

/* recv(2), again after EINTR. */
static ssize_t recv_retrying(int fd, void *buf, size_t len)
{
	ssize_t n;

	do
		n = recv(fd, buf, len, 0);
	while (n < 0 && errno == EINTR);
	return n;
}

/* Closes fd with a reset (SO_LINGER 0) instead of a FIN. */
static void close_with_reset(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static bool send_all(int fd, const unsigned char *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			CLIENT_FAIL("send after %zu of %zu bytes: %s", off, len, strerror(errno));
			return false;
		}
		off += (size_t)n;
	}
	return true;
}

/* Receives len bytes and fails unless they are want's. */
static bool recv_expect(int fd, const unsigned char *want, size_t len)
{
	static const size_t chunk = 65536;
	unsigned char *buf = malloc(chunk);
	size_t off = 0;

	if (buf == NULL)
		return false;
	while (off < len) {
		size_t ask = len - off < chunk ? len - off : chunk;
		ssize_t n = recv_retrying(fd, buf, ask);

		if (n <= 0) {
			CLIENT_FAIL("recv after %zu of %zu bytes: %s", off, len,
				    n == 0 ? "end of stream" : strerror(errno));
			free(buf);
			return false;
		}
		if (memcmp(buf, want + off, (size_t)n) != 0) {
			size_t i = 0;

			while (buf[i] == want[off + i])
				i++;
			CLIENT_FAIL("echoed byte %zu of %zu is %u, expected %u", off + i, len,
				    buf[i], want[off + i]);
			free(buf);
			return false;
		}
		off += (size_t)n;
	}
	free(buf);
	return true;
}

struct writer {
	int fd;
	const unsigned char *buf;
	size_t len;
	bool ok;
};

static void *writer_main(void *arg)
{
	struct writer *wr = arg;

	wr->ok = send_all(wr->fd, wr->buf, wr->len);
	return NULL;
}

/*
 * Sends payload and checks that the same bytes come back. Large payloads
 * are written by a second thread while this one reads: the echo cannot wait
 * for the whole payload to be written, since the socket buffers would fill.
 */
static bool echo_exchange(int fd, const unsigned char *payload, size_t len)
{
	struct writer wr = { fd, payload, len, false };
	pthread_t t;
	bool ok;

	if (len <= 16384)
		return send_all(fd, payload, len) && recv_expect(fd, payload, len);
	if (pthread_create(&t, NULL, writer_main, &wr) != 0) {
		CLIENT_FAIL("pthread_create failed");
		return false;
	}
	ok = recv_expect(fd, payload, len);
	if (!ok)
		shutdown(fd, SHUT_RDWR); /* unblocks the writer at once */
	pthread_join(t, NULL);
	return ok && wr.ok;
}

/* One client: connects, echoes len bytes of pattern seed, closes. */
static bool echo_client(uint16_t port, size_t len, uint64_t seed)
{
	unsigned char *payload = make_payload(len, seed);
	int fd = client_connect(port);
	bool ok = false;

	if (fd < 0)
		CLIENT_FAIL("connect to port %u: %s", port, strerror(-fd));
	else
		ok = echo_exchange(fd, payload, len);
	if (fd >= 0)
		close(fd);
	free(payload);
	return ok;
}

/* Test scaffolding --------------------------------------------------------- */

/* Notes fd as the test thread's, for teardown to close if a test fails. */
static int own_fd(struct sworld *w, int fd)
{
	if (fd >= 0 && w->ntest_fds < sizeof(w->test_fds) / sizeof(w->test_fds[0]))
		w->test_fds[w->ntest_fds++] = fd;
	return fd;
}

/* Forgets fd before the test closes it. Returns fd. */
static int disown_fd(struct sworld *w, int fd)
{
	for (unsigned i = 0; i < w->ntest_fds; i++)
		if (w->test_fds[i] == fd)
			w->test_fds[i] = -1;
	return fd;
}

static int sworld_setup(void **state)
{
	struct sworld *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return -1;
	reset_checks();
	w->sink_fd = -1;
	w->buffer_size = DEFAULT_BUFFER_SIZE;
	atomic_store(&flood_released, 0);
	*state = w;
	return 0;
}

static int sworld_teardown(void **state)
{
	struct sworld *w = *state;

	if (w->rt != NULL)
		destroy_runtime(w->rt);
	if (w->sink_fd >= 0 && atomic_load(&w->sink_opened) != 1)
		close(w->sink_fd); /* never taken by a stream */
	for (unsigned i = 0; i < w->ntest_fds; i++)
		if (w->test_fds[i] >= 0)
			close(w->test_fds[i]);
	free(w->fwd_msg);
	free(w->fwd_data);
	free(w);
	assert_no_check_failures();
	return 0;
}

static struct atoll_config server_config(void)
{
	struct atoll_config cfg = { .reactors = REACTORS, .no_signals = true };

	return cfg;
}

/*
 * Starts the runtime and a listener on reactor 0 (and, with both, a second
 * one on reactor 1 on the same port with SO_REUSEPORT, so the kernel spreads
 * the connections). Returns the port.
 */
static uint16_t start_server(struct sworld *w, const struct atoll_config *cfg, bool both)
{
	w->rt = start_runtime(cfg);
	w->largs[0] = (struct listener_arg){ w, 0, both };
	spawn_on(w->rt, &listener_type, &w->largs[0], 0);
	assert_wait_u64(&w->listening, 1, WAIT_LIMIT_NS);
	if (atomic_load(&w->listen_error) != 0)
		fail_msg("listener: %lld", (long long)(int64_t)atomic_load(&w->listen_error));
	if (both) {
		w->largs[1] = (struct listener_arg){ w, (uint16_t)atomic_load(&w->port), true };
		spawn_on(w->rt, &listener_type, &w->largs[1], 1);
		assert_wait_u64(&w->listening, 2, WAIT_LIMIT_NS);
		if (atomic_load(&w->listen_error) != 0)
			fail_msg("second listener: %lld",
				 (long long)(int64_t)atomic_load(&w->listen_error));
	}
	assert_true(atomic_load(&w->port) > 0);
	return (uint16_t)atomic_load(&w->port);
}

/*
 * Stops the runtime and, once every reactor has exited (before destroy),
 * checks that no receive buffer is lent out, no I/O is in flight and no
 * actor is alive. Then frees the runtime.
 */
static void stop_and_check_clean(struct sworld *w)
{
	atoll_runtime_stop(w->rt);
	assert_int_equal(wait_runtime(w->rt), 0);
	for (unsigned i = 0; i < atoll_runtime_reactors(w->rt); i++) {
		struct atoll_stats s = read_stats(w->rt, i);

		if (s.bufs_out != 0 || s.io_inflight != 0 || s.actors_alive != 0)
			fail_msg("reactor %u after stop: bufs_out %llu, io_inflight %llu, "
				 "actors_alive %llu (all must be 0)",
				 i, (unsigned long long)s.bufs_out,
				 (unsigned long long)s.io_inflight,
				 (unsigned long long)s.actors_alive);
		/* A connection actor stops after the last message of its stream:
		 * anything the stream sent it later would be a dead letter. */
		if (s.dead_letters != 0)
			fail_msg("reactor %u: %llu dead letters", i,
				 (unsigned long long)s.dead_letters);
	}
	destroy_runtime(w->rt);
	w->rt = NULL;
	assert_no_check_failures();
	if (atomic_load(&sigpipes) != 0)
		fail_msg("%llu SIGPIPE(s): a send without MSG_NOSIGNAL",
			 (unsigned long long)atomic_load(&sigpipes));
}

/* Waits until every stream opened has ended; fails after limit_ns. */
static void assert_all_streams_end(struct sworld *w, uint64_t limit_ns)
{
	uint64_t deadline = test_now_ns() + limit_ns;

	while (atomic_load(&w->ended) != atomic_load(&w->opened) || atomic_load(&w->live) != 0) {
		if (test_now_ns() > deadline)
			fail_msg("streams opened %llu, ended %llu, live %llu",
				 (unsigned long long)atomic_load(&w->opened),
				 (unsigned long long)atomic_load(&w->ended),
				 (unsigned long long)atomic_load(&w->live));
		poll_pause();
	}
}

/* Waits until *v >= target or the deadline; for client threads. */
static bool client_wait(const _Atomic uint64_t *v, uint64_t target, uint64_t deadline)
{
	while (atomic_load(v) < target) {
		if (test_now_ns() > deadline)
			return false;
		poll_pause();
	}
	return true;
}

/* Echo: many clients at once ------------------------------------------------ */

#define CROWD_MAX 100u
#define CROWD TSAN_SCALE(CROWD_MAX, 32u)
#define ROUNDS 3u

struct crowd {
	uint16_t port;
	uint64_t deadline;
	_Atomic uint64_t connected;
	_Atomic uint64_t exchanged;
	_Atomic uint64_t ok;
	_Atomic uint64_t bytes;
};

struct crowd_client {
	struct crowd *crowd;
	unsigned id;
};

static size_t crowd_len(unsigned id, unsigned round)
{
	return 1 + (id * 97u + round * 1013u) % 3000u;
}

/*
 * Connects, waits until every client has, then echoes ROUNDS payloads and
 * waits until every client has before it closes: all connections are open
 * at once.
 */
static void *crowd_client_main(void *arg)
{
	struct crowd_client *cc = arg;
	struct crowd *cr = cc->crowd;
	int fd = client_connect(cr->port);
	bool ok = fd >= 0;

	if (fd < 0)
		CLIENT_FAIL("client %u: connect: %s", cc->id, strerror(-fd));
	atomic_fetch_add(&cr->connected, 1);
	if (ok && !client_wait(&cr->connected, CROWD, cr->deadline)) {
		CLIENT_FAIL("client %u: not all clients connected", cc->id);
		ok = false;
	}
	for (unsigned r = 0; ok && r < ROUNDS; r++) {
		size_t len = crowd_len(cc->id, r);
		unsigned char *payload = make_payload(len, cc->id * 16u + r);

		ok = echo_exchange(fd, payload, len);
		free(payload);
		if (ok)
			atomic_fetch_add(&cr->bytes, len);
	}
	atomic_fetch_add(&cr->exchanged, 1);
	if (ok && !client_wait(&cr->exchanged, CROWD, cr->deadline)) {
		CLIENT_FAIL("client %u: not all clients exchanged", cc->id);
		ok = false;
	}
	if (fd >= 0)
		close(fd);
	if (ok)
		atomic_fetch_add(&cr->ok, 1);
	return NULL;
}

static void stream_echo_round_trips_for_100_concurrent_clients(void **state)
{
	struct sworld *w = *state;
	struct atoll_config cfg = server_config();
	static struct crowd_client clients[CROWD_MAX];
	pthread_t threads[CROWD_MAX];
	struct crowd cr;
	uint64_t expected = 0;

	memset(&cr, 0, sizeof(cr));
	w->mode = CONN_ECHO;
	cr.port = start_server(w, &cfg, true);
	cr.deadline = test_now_ns() + CLIENTS_LIMIT_NS;
	for (unsigned i = 0; i < CROWD; i++) {
		clients[i] = (struct crowd_client){ &cr, i };
		assert_int_equal(pthread_create(&threads[i], NULL, crowd_client_main, &clients[i]),
				 0);
	}
	for (unsigned i = 0; i < CROWD; i++)
		pthread_join(threads[i], NULL);
	assert_no_check_failures();
	assert_int_equal(atomic_load(&cr.ok), CROWD);
	for (unsigned i = 0; i < CROWD; i++)
		for (unsigned r = 0; r < ROUNDS; r++)
			expected += crowd_len(i, r);
	assert_int_equal(atomic_load(&cr.bytes), expected);

	/* Every client closed with a FIN: each stream ends with res 0. */
	assert_all_streams_end(w, WAIT_LIMIT_NS);
	assert_int_equal(atomic_load(&w->accepted), CROWD);
	assert_int_equal(atomic_load(&w->opened), CROWD);
	assert_int_equal(atomic_load(&w->eofs), CROWD);
	assert_int_equal(atomic_load(&w->errors), 0);
	assert_int_equal(atomic_load(&w->peak_live), CROWD);
	assert_int_equal(atomic_load(&w->bytes_in), expected);
	assert_int_equal(atomic_load(&w->after_end), 0);
	/* SO_REUSEPORT spread them over both reactors. */
	assert_true(atomic_load(&w->accepted_on[0]) > 0);
	assert_true(atomic_load(&w->accepted_on[1]) > 0);
	/* With no connection left, every buffer is back in its ring. */
	assert_stat_eventually(w->rt, ALL_REACTORS, bufs_out, 0);
	stop_and_check_clean(w);
}

/* Echo: payload sizes -------------------------------------------------------- */

static void stream_echo_returns_1b_4k_64k_and_4m_payloads_byte_identical(void **state)
{
	struct sworld *w = *state;
	struct atoll_config cfg = server_config();
	static const size_t sizes[] = { 1, 4096, 65536, 4u << 20 };
	const unsigned n = sizeof(sizes) / sizeof(sizes[0]);
	uint16_t port;
	uint64_t total = 0;

	w->mode = CONN_ECHO;
	port = start_server(w, &cfg, false);
	for (unsigned i = 0; i < n; i++) {
		if (!echo_client(port, sizes[i], 100 + i))
			fail_msg("echo of %zu bytes failed (see the check output)", sizes[i]);
		total += sizes[i];
	}
	assert_all_streams_end(w, WAIT_LIMIT_NS);
	assert_int_equal(atomic_load(&w->opened), n);
	assert_int_equal(atomic_load(&w->eofs), n);
	assert_int_equal(atomic_load(&w->bytes_in), total);
	/* Chunks come from the ring: none is larger than a buffer. */
	assert_true(atomic_load(&w->max_chunk) <= DEFAULT_BUFFER_SIZE);
	assert_stat_eventually(w->rt, ALL_REACTORS, bufs_out, 0);
	stop_and_check_clean(w);
}

/* Echo: partial sends ------------------------------------------------------- */

#define BIG_BUFFER_SIZE (256u << 10)
#define BIG_BUFFERS 16u

/*
 * Receive buffers far larger than the server's send buffer: each echoed
 * chunk can only go out in several partial sends, each continued from
 * where the last one stopped.
 */
static void stream_echo_continues_partial_sends_of_chunks_larger_than_the_send_buffer(void **state)
{
	struct sworld *w = *state;
	struct atoll_config cfg = server_config();
	uint16_t port;

	cfg.recv_buffers = BIG_BUFFERS;
	cfg.recv_buffer_size = BIG_BUFFER_SIZE;
	w->mode = CONN_ECHO;
	w->buffer_size = BIG_BUFFER_SIZE;
	w->conn_sndbuf = 4096;
	port = start_server(w, &cfg, false);
	if (!echo_client(port, 4u << 20, 12))
		fail_msg("echo of 4 MiB through a 4 KiB send buffer failed");
	assert_all_streams_end(w, WAIT_LIMIT_NS);
	assert_int_equal(atomic_load(&w->bytes_in), 4u << 20);
	/* Chunks larger than the send buffer came in: the sends were partial. */
	if (atomic_load(&w->max_chunk) <= 2 * 4096)
		fail_msg("the largest chunk received was %llu bytes: no partial send needed",
			 (unsigned long long)atomic_load(&w->max_chunk));
	assert_stat_eventually(w->rt, ALL_REACTORS, bufs_out, 0);
	stop_and_check_clean(w);
}

/* Echo: a ring that runs out ------------------------------------------------ */

#define TINY_BUFFERS 4u
#define TINY_BUFFER_SIZE 512u

static void stream_tiny_buffer_ring_runs_out_with_enobufs_yet_echoes_1m_intact(void **state)
{
	struct sworld *w = *state;
	struct atoll_config cfg = server_config();
	uint16_t port;

	if (no_buffer_ring != NULL) {
		print_message("SKIP: the kernel lacks %s\n", no_buffer_ring);
		skip();
	}
	cfg.recv_buffers = TINY_BUFFERS;
	cfg.recv_buffer_size = TINY_BUFFER_SIZE;
	w->mode = CONN_ECHO;
	w->buffer_size = TINY_BUFFER_SIZE;
	port = start_server(w, &cfg, false);
	if (!echo_client(port, 1u << 20, 7))
		fail_msg("echo of 1 MiB through %u buffers of %u bytes failed", TINY_BUFFERS,
			 TINY_BUFFER_SIZE);
	assert_all_streams_end(w, WAIT_LIMIT_NS);
	assert_int_equal(atomic_load(&w->bytes_in), 1u << 20);
	assert_int_equal(atomic_load(&w->eofs), 1);
	assert_true(atomic_load(&w->max_chunk) <= TINY_BUFFER_SIZE);
	/* Echoing holds buffers until sent: the ring ran dry, and recovered. */
	if (STATS_SUM(w->rt, enobufs) == 0)
		fail_msg("stats.enobufs is 0: the %u-buffer ring never ran out", TINY_BUFFERS);
	assert_stat_eventually(w->rt, ALL_REACTORS, bufs_out, 0);
	stop_and_check_clean(w);
}

/* Disconnect storm ------------------------------------------------------------ */

#define STORM_CLIENTS TSAN_SCALE(200u, 60u)
#define STORM_THREADS 4u

struct storm {
	uint16_t port;
	unsigned first, count;
	_Atomic uint64_t *fin_closed;
};

/*
 * Connects, sends a little (or nothing), and goes: half reset the connection
 * (SO_LINGER 0), the others close it normally.
 */
static void *storm_main(void *arg)
{
	struct storm *st = arg;
	unsigned char junk[200];

	memset(junk, 'j', sizeof(junk));
	for (unsigned i = st->first; i < st->first + st->count; i++) {
		int fd = client_connect(st->port);

		if (fd < 0) {
			CLIENT_FAIL("storm client %u: connect: %s", i, strerror(-fd));
			continue;
		}
		if (i % 7 != 0)
			send(fd, junk, 1 + (i * 37) % sizeof(junk), MSG_NOSIGNAL);
		if (i % 2 == 0) {
			close_with_reset(fd);
		} else {
			close(fd);
			atomic_fetch_add(st->fin_closed, 1);
		}
	}
	return NULL;
}

static void stream_disconnect_storm_of_200_clients_leaves_the_server_echoing(void **state)
{
	struct sworld *w = *state;
	struct atoll_config cfg = server_config();
	struct storm storms[STORM_THREADS];
	pthread_t threads[STORM_THREADS];
	_Atomic uint64_t fin_closed = 0;
	uint16_t port;
	uint64_t accepted;

	w->mode = CONN_ECHO;
	port = start_server(w, &cfg, false);
	for (unsigned t = 0; t < STORM_THREADS; t++) {
		storms[t] = (struct storm){ port, t * (STORM_CLIENTS / STORM_THREADS),
					    STORM_CLIENTS / STORM_THREADS, &fin_closed };
		assert_int_equal(pthread_create(&threads[t], NULL, storm_main, &storms[t]), 0);
	}
	for (unsigned t = 0; t < STORM_THREADS; t++)
		pthread_join(threads[t], NULL);
	assert_no_check_failures();

	/* Accepted after all of the storm (one listener, in order). */
	if (!echo_client(port, 10000, 9))
		fail_msg("echo after the storm failed");
	assert_all_streams_end(w, CLIENTS_LIMIT_NS);
	accepted = atomic_load(&w->accepted);
	printf("storm: %llu accepted, %llu ended with end of file, %llu with an error "
	       "(last %lld), %llu accept errors\n",
	       (unsigned long long)accepted, (unsigned long long)atomic_load(&w->eofs),
	       (unsigned long long)atomic_load(&w->errors),
	       (long long)(int64_t)atomic_load(&w->last_error),
	       (unsigned long long)atomic_load(&w->accept_errors));
	/* Every connection closed with a FIN was accepted, and the last one. */
	assert_true(accepted >= atomic_load(&fin_closed) + 1);
	assert_true(accepted <= STORM_CLIENTS + 1);
	assert_int_equal(atomic_load(&w->opened), accepted);
	assert_int_equal(atomic_load(&w->eofs) + atomic_load(&w->errors), accepted);
	assert_int_equal(atomic_load(&w->after_end), 0);
	assert_int_equal(atomic_load(&w->send_errors), 0);
	assert_stat_eventually(w->rt, ALL_REACTORS, bufs_out, 0);
	stop_and_check_clean(w);
}

/* Sending to a peer that has gone ------------------------------------------------ */

static void stream_send_to_a_closed_peer_ends_the_stream_and_frees_queued_sends(void **state)
{
	struct sworld *w = *state;
	struct atoll_config cfg = server_config();
	struct sockaddr_in a;
	int small = 4096;
	int64_t end_res;
	uint16_t port;
	int fd;

	w->mode = CONN_FLOOD;
	w->conn_sndbuf = 4096; /* the flood cannot all fit in the kernel */
	port = start_server(w, &cfg, false);
	a = loopback(port);
	fd = own_fd(w, socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	assert_true(fd >= 0);
	set_timeouts(fd);
	/* A small window: the server's sends pile up in its queue. */
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	assert_int_equal(connect_to(fd, &a), 0);
	assert_true(send_all(fd, (const unsigned char *)"go", 2));
	if (!wait_u64_at_least(&w->flood_queued, 1, WAIT_LIMIT_NS))
		fail_msg("the server never queued its sends");
	/* Gone, with unread data: a reset, and the server's sends fail. */
	close_with_reset(disown_fd(w, fd));

	assert_all_streams_end(w, WAIT_LIMIT_NS);
	end_res = (int64_t)atomic_load(&w->flood_end_res);
	printf("flood: %llu bytes were pending; the stream ended with %lld (%s)\n",
	       (unsigned long long)atomic_load(&w->flood_pending), (long long)end_res,
	       atoll_strerror((int)end_res));
	assert_true(end_res <= 0);
	if (end_res < 0 && end_res != -ECONNRESET && end_res != -EPIPE)
		fail_msg("the stream ended with %lld (%s), expected 0, -ECONNRESET or -EPIPE",
			 (long long)end_res, atoll_strerror((int)end_res));
	assert_int_equal(atomic_load(&w->ended), 1);
	assert_int_equal(atomic_load(&w->after_end), 0);
	/* Sent or dropped, every queued message was freed once. */
	assert_wait_u64(&flood_released, FLOOD_MSGS, WAIT_LIMIT_NS);
	assert_int_equal(atomic_load(&flood_released), FLOOD_MSGS);
	assert_stat_eventually(w->rt, ALL_REACTORS, bufs_out, 0);
	stop_and_check_clean(w);
	assert_int_equal(atomic_load(&flood_released), FLOOD_MSGS);
}

/* Stop with connections open --------------------------------------------------- */

#define HOLD_CLIENTS 8u
#define HOLD_BYTES 300u

static void stream_runtime_stop_with_open_streams_returns_buffers_and_closes_sockets(void **state)
{
	struct sworld *w = *state;
	struct atoll_config cfg = server_config();
	unsigned char junk[HOLD_BYTES];
	int fds[HOLD_CLIENTS];
	uint16_t port;

	memset(junk, 'h', sizeof(junk));
	w->mode = CONN_HOLD;
	port = start_server(w, &cfg, true);
	for (unsigned i = 0; i < HOLD_CLIENTS; i++) {
		fds[i] = own_fd(w, client_connect(port));
		if (fds[i] < 0)
			fail_msg("connect: %s", strerror(-fds[i]));
		assert_int_equal(send(fds[i], junk, sizeof(junk), MSG_NOSIGNAL), sizeof(junk));
	}
	assert_wait_u64(&w->bytes_in, HOLD_CLIENTS * HOLD_BYTES, WAIT_LIMIT_NS);
	assert_int_equal(atomic_load(&w->bytes_in), HOLD_CLIENTS * HOLD_BYTES);
	/* Each kept message holds one ring buffer. */
	assert_stat_eventually(w->rt, ALL_REACTORS, bufs_out, atomic_load(&w->held));
	assert_true(atomic_load(&w->held) >= HOLD_CLIENTS);

	/* Stop with every connection open and its buffers held. */
	stop_and_check_clean(w);
	assert_int_equal(atomic_load(&w->conn_stops), HOLD_CLIENTS);
	assert_int_equal(atomic_load(&w->ended), 0);
	/* The server's side is closed: each client sees the end, not a timeout. */
	for (unsigned i = 0; i < HOLD_CLIENTS; i++) {
		char c;
		ssize_t n = recv_retrying(fds[i], &c, 1);
		int err = errno;

		close(disown_fd(w, fds[i]));
		if (n > 0 || (n < 0 && err != ECONNRESET))
			fail_msg("client %u after stop: recv gave %zd (%s), expected end of "
				 "stream",
				 i, n, n < 0 ? strerror(err) : "data");
	}
}

/* Cross-core forwarding ------------------------------------------------------ */

struct sink {
	struct sworld *w;
	atoll_stream *s;
	uint64_t seen;
};

static int sink_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct sink *k = state;
	int rc;

	k->w = (struct sworld *)arg;
	atomic_store(&k->w->sink_core, atoll_core(ctx));
	rc = atoll_stream_open(ctx, k->w->sink_fd, MSG_SINK_RECV, &k->s);
	CHECK_EQ(rc, 0);
	atomic_store(&k->w->sink_opened, rc == 0 ? 1 : 2);
	return rc;
}

/*
 * Gets the chunks the connection on reactor 0 received, checks each is the
 * very message (and buffer) that was sent over, and sends it on its own
 * stream from here.
 */
static void sink_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct sink *k = state;
	struct sworld *w = k->w;
	struct atoll_io *io = atoll_io_of(msg);

	CHECK(io != NULL);
	if (io == NULL)
		return;
	if (msg->type == MSG_SINK_RECV) {
		/* The test thread sends nothing on this socket, then closes it. */
		CHECK(io->res <= 0);
		if (io->res <= 0 && k->s != NULL) {
			atoll_stream_close(ctx, k->s);
			k->s = NULL;
			atomic_store(&w->sink_ended, 1);
		}
		return;
	}
	CHECK_EQ(msg->type, MSG_RECV);
	CHECK_EQ(atoll_core(ctx), 1);
	if (k->seen < FWD_MAX) {
		CHECK_EQ((uintptr_t)msg, atomic_load(&w->fwd_msg[k->seen]));
		CHECK_EQ((uintptr_t)msg->data, atomic_load(&w->fwd_data[k->seen]));
	}
	k->seen++;
	atomic_fetch_add(&w->forward_checked, 1);
	CHECK(k->s != NULL);
	if (k->s != NULL)
		CHECK_EQ(atoll_stream_send(ctx, k->s, msg), 0);
}

static void sink_stop(atoll_ctx *ctx, void *state)
{
	struct sink *k = state;

	if (k->s != NULL)
		atoll_stream_close(ctx, k->s);
	k->s = NULL;
}

static const struct atoll_actor_type sink_type = {
	.name = "sink",
	.state_size = sizeof(struct sink),
	.init = sink_init,
	.receive = sink_receive,
	.stop = sink_stop,
};

/* A connected pair of TCP sockets on loopback, made without the library. */
static void tcp_pair(int fds[2])
{
	struct sockaddr_in a = loopback(0);
	socklen_t alen = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(l >= 0);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &alen), 0);
	fds[1] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fds[1] >= 0);
	set_timeouts(fds[1]);
	assert_int_equal(connect_to(fds[1], &a), 0);
	fds[0] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	assert_true(fds[0] >= 0);
	close(l);
}

#define FORWARD_BYTES TSAN_SCALE(256u << 10, 64u << 10)

struct upload {
	uint16_t port;
	const unsigned char *payload;
	bool ok;
};

/* Sends the payload to the server and closes: the bytes come back elsewhere. */
static void *upload_main(void *arg)
{
	struct upload *up = arg;
	int fd = client_connect(up->port);

	if (fd < 0) {
		CLIENT_FAIL("upload: connect: %s", strerror(-fd));
		return NULL;
	}
	up->ok = send_all(fd, up->payload, FORWARD_BYTES);
	close(fd);
	return NULL;
}

static void stream_buffer_forwarded_to_another_reactor_is_sent_there_without_copy(void **state)
{
	struct sworld *w = *state;
	struct atoll_config cfg = server_config();
	unsigned char *payload = make_payload(FORWARD_BYTES, 11);
	struct upload up = { 0, payload, false };
	pthread_t t;
	int pair[2];
	bool got;

	w->mode = CONN_FORWARD;
	w->fwd_msg = calloc(FWD_MAX, sizeof(*w->fwd_msg));
	w->fwd_data = calloc(FWD_MAX, sizeof(*w->fwd_data));
	assert_non_null(w->fwd_msg);
	assert_non_null(w->fwd_data);
	tcp_pair(pair);
	w->sink_fd = pair[0];
	own_fd(w, pair[1]);
	up.port = start_server(w, &cfg, false);
	atomic_store(&w->sink, spawn_on(w->rt, &sink_type, w, 1));
	assert_wait_u64(&w->sink_opened, 1, WAIT_LIMIT_NS);
	assert_int_equal(atomic_load(&w->sink_opened), 1);

	/* In at reactor 0's stream, out at reactor 1's, read here. */
	assert_int_equal(pthread_create(&t, NULL, upload_main, &up), 0);
	got = recv_expect(pair[1], payload, FORWARD_BYTES);
	pthread_join(t, NULL);
	assert_no_check_failures();
	assert_true(up.ok);
	assert_true(got);
	assert_int_equal(atomic_load(&w->sink_core), 1);
	assert_true(atomic_load(&w->forwarded) > 0);
	assert_int_equal(atomic_load(&w->forward_checked), atomic_load(&w->forwarded));
	/* Buffers of reactor 0's ring, freed on reactor 1, all went back. */
	assert_stat_eventually(w->rt, ALL_REACTORS, bufs_out, 0);

	close(disown_fd(w, pair[1]));
	assert_wait_u64(&w->sink_ended, 1, WAIT_LIMIT_NS);
	assert_all_streams_end(w, WAIT_LIMIT_NS);
	free(payload);
	stop_and_check_clean(w);
}

/* Connect ------------------------------------------------------------------- */

struct connector {
	struct sworld *w;
	int fds[CONNECTS];
	struct atoll_io *sent[CONNECTS];
	unsigned pending;
};

static int connector_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct connector *c = state;

	(void)ctx;
	c->w = (struct sworld *)arg;
	for (unsigned i = 0; i < CONNECTS; i++)
		c->fds[i] = -1;
	return 0;
}

/* Connects a socket to each of the world's ports, all in flight at once. */
static void connector_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct connector *c = state;
	struct sworld *w = c->w;
	struct atoll_io *io;
	unsigned i;

	if (msg->type == MSG_GO) {
		for (i = 0; i < w->connects; i++) {
			struct sockaddr_in a = loopback(w->connect_port[i]);

			c->fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			CHECK(c->fds[i] >= 0);
			c->sent[i] = atoll_io_new(MSG_CONNECT + i, sizeof(a));
			CHECK(c->sent[i] != NULL);
			if (c->fds[i] < 0 || c->sent[i] == NULL)
				return;
			CHECK_EQ(atoll_io_connect(ctx, c->fds[i], (struct sockaddr *)&a, sizeof(a),
						  c->sent[i], w->connect_timeout_ns[i]),
				 0);
			c->pending++;
		}
		return;
	}
	io = atoll_io_of(msg);
	CHECK(io != NULL);
	CHECK(msg->type >= MSG_CONNECT && msg->type < MSG_CONNECT + w->connects);
	if (io == NULL || msg->type < MSG_CONNECT || msg->type >= MSG_CONNECT + w->connects)
		return;
	i = msg->type - MSG_CONNECT;
	CHECK(io == c->sent[i]);
	CHECK_EQ(io->op, ATOLL_IO_CONNECT);
	CHECK_EQ(io->fd, c->fds[i]);
	if (io->res == 0) {
		struct sockaddr_in local;
		socklen_t len = sizeof(local);

		CHECK_EQ(getsockname(c->fds[i], (struct sockaddr *)&local, &len), 0);
		atomic_store(&w->connect_local_port[i], ntohs(local.sin_port));
	}
	atomic_store(&w->connect_res[i], (uint64_t)(int64_t)io->res);
	close(c->fds[i]);
	c->fds[i] = -1;
	if (--c->pending == 0)
		atomic_store(&w->connect_done, 1);
}

static void connector_stop(atoll_ctx *ctx, void *state)
{
	struct connector *c = state;

	(void)ctx;
	for (unsigned i = 0; i < CONNECTS; i++)
		if (c->fds[i] >= 0)
			close(c->fds[i]);
}

static const struct atoll_actor_type connector_type = {
	.name = "connector",
	.state_size = sizeof(struct connector),
	.init = connector_init,
	.receive = connector_receive,
	.stop = connector_stop,
};

/* A port bound on 127.0.0.1 with nothing listening: connecting is refused. */
static int bound_not_listening(uint16_t *port)
{
	struct sockaddr_in a = loopback(0);
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static void run_connector(struct sworld *w)
{
	atoll_ref ref;

	w->rt = start_reactors(REACTORS);
	ref = spawn_on(w->rt, &connector_type, w, 1);
	send_from_outside(w->rt, ref, MSG_GO, NULL, 0);
	assert_wait_u64(&w->connect_done, 1, WAIT_LIMIT_NS);
	assert_no_check_failures();
}

static void
io_connect_completes_with_0_to_a_listener_and_econnrefused_to_a_closed_port(void **state)
{
	struct sworld *w = *state;
	int lfd = own_fd(w, atoll_tcp_listen(NULL, 0, 16, false));
	int port = atoll_tcp_port(lfd);
	uint16_t closed_port;
	struct sockaddr_in peer;
	socklen_t plen = sizeof(peer);
	struct pollfd pfd;
	int afd;

	assert_true(lfd >= 0);
	assert_true(port > 0);
	own_fd(w, bound_not_listening(&closed_port));
	w->connects = 2;
	w->connect_port[0] = (uint16_t)port;
	w->connect_port[1] = closed_port;
	w->connect_timeout_ns[0] = 0; /* no limit */
	w->connect_timeout_ns[1] = WAIT_LIMIT_NS;
	run_connector(w);
	assert_int_equal((int64_t)atomic_load(&w->connect_res[0]), 0);
	assert_int_equal((int64_t)atomic_load(&w->connect_res[1]), -ECONNREFUSED);

	/* The connection is real: the listener holds its other end. */
	pfd = (struct pollfd){ .fd = lfd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, (int)(WAIT_LIMIT_NS / NS_PER_MS)), 1);
	afd = own_fd(w, accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC));
	assert_true(afd >= 0);
	assert_int_equal(ntohs(peer.sin_port), atomic_load(&w->connect_local_port[0]));
	stop_and_check_clean(w);
}

#define SILENT_TIMEOUT_NS (200 * NS_PER_MS)

static void io_connect_gives_etimedout_when_the_listener_never_answers(void **state)
{
	struct sworld *w = *state;
	struct sockaddr_in a = loopback(0);
	socklen_t alen = sizeof(a);
	int lfd = own_fd(w, socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	int filler = own_fd(w, socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
	struct pollfd pfd;
	uint64_t start, took;

	/* A listener whose accept queue (backlog 0) is full drops new SYNs. */
	assert_true(lfd >= 0 && filler >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(lfd, 0), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
	if (connect(filler, (struct sockaddr *)&a, sizeof(a)) != 0)
		assert_int_equal(errno, EINPROGRESS);
	pfd = (struct pollfd){ .fd = lfd, .events = POLLIN };
	if (poll(&pfd, 1, 2000) != 1) {
		print_message("SKIP: could not fill a listen queue on this kernel\n");
		skip();
	}
	w->connects = 1;
	w->connect_port[0] = ntohs(a.sin_port);
	w->connect_timeout_ns[0] = SILENT_TIMEOUT_NS;
	start = test_now_ns();
	run_connector(w);
	took = test_now_ns() - start;
	assert_int_equal((int64_t)atomic_load(&w->connect_res[0]), -ETIMEDOUT);
	/* Not before its time limit. */
	assert_true(took >= SILENT_TIMEOUT_NS);
	stop_and_check_clean(w);
}

/* The thread that starts a runtime ----------------------------------------------- */

/*
 * Clients often run on the thread that started the runtime. That thread must
 * not be left with io_uring state: when a ring that a thread created is
 * closed, the kernel's ring-exit work queues task work on that thread with a
 * signal-like notification, and the thread's next blocking call with a time
 * limit (SO_RCVTIMEO, SO_SNDTIMEO) fails with EINTR although no signal came.
 * So a recv with nothing to read, right after start, must time out.
 */
static void
stream_timed_recv_on_the_thread_that_started_the_runtime_is_not_interrupted(void **state)
{
	struct sworld *w = *state;

	for (int round = 0; round < 3; round++) {
		struct timeval tv = { .tv_sec = 0, .tv_usec = 100000 };
		int sv[2], err;
		ssize_t n;
		char c;

		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
		w->rt = start_reactors(REACTORS);
		n = recv(sv[0], &c, 1, 0);
		err = errno;
		close(sv[0]);
		close(sv[1]);
		stop_and_check_clean(w);
		if (n >= 0 || (err != EAGAIN && err != EWOULDBLOCK))
			fail_msg("round %d: a 100 ms recv with nothing to read, just after "
				 "atoll_runtime_start on this thread, returned %zd (%s), expected "
				 "a time-out (EAGAIN): io_uring task work interrupted this thread",
				 round, n, n < 0 ? strerror(err) : "data");
	}
}

/* Kernel features ---------------------------------------------------------------- */

#define PROBE_BGID 7
#define PROBE_BUFS 4
#define PROBE_RING_BYTES 4096

/* Waits up to timeout_ms for a CQE; returns its res and flags, or false. */
static bool probe_cqe(struct io_uring *ring, int timeout_ms, int *res, unsigned *flags)
{
	struct __kernel_timespec ts = { .tv_sec = timeout_ms / 1000,
					.tv_nsec = (timeout_ms % 1000) * 1000000ll };
	struct io_uring_cqe *cqe;

	if (io_uring_wait_cqe_timeout(ring, &cqe, &ts) != 0)
		return false;
	*res = cqe->res;
	*flags = cqe->flags;
	io_uring_cqe_seen(ring, cqe);
	return true;
}

/* Cancels whatever the probe left armed and reaps it all. */
static void probe_drain(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	unsigned flags;
	int res;

	io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
	io_uring_submit(ring);
	while (probe_cqe(ring, 200, &res, &flags))
		;
}

/* Returns the first opcode the kernel's io_uring lacks, or NULL. */
static const char *missing_opcode(struct io_uring *ring)
{
	static const struct {
		int op;
		const char *name;
	} ops[] = {
		{ IORING_OP_ACCEPT, "accept" },
		{ IORING_OP_CONNECT, "connect" },
		{ IORING_OP_SEND, "send" },
		{ IORING_OP_RECV, "recv" },
		{ IORING_OP_ASYNC_CANCEL, "async_cancel" },
		{ IORING_OP_LINK_TIMEOUT, "link_timeout" },
		{ IORING_OP_CLOSE, "close" },
	};
	struct io_uring_probe *probe = io_uring_get_probe_ring(ring);
	const char *missing = NULL;

	if (probe == NULL)
		return "opcode probing";
	for (size_t i = 0; missing == NULL && i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!io_uring_opcode_supported(probe, ops[i].op))
			missing = ops[i].name;
	io_uring_free_probe(probe);
	return missing;
}

/* Tries a multishot receive into a provided-buffer ring; NULL if it works. */
static const char *missing_buffer_ring(struct io_uring *ring, void *mem)
{
	static char bufs[PROBE_BUFS][64];
	struct io_uring_buf_ring *br = mem;
	struct io_uring_buf_reg reg;
	struct io_uring_sqe *sqe;
	const char *missing = NULL;
	unsigned flags;
	int sv[2], res;

	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)br;
	reg.ring_entries = PROBE_BUFS;
	reg.bgid = PROBE_BGID;
	if (io_uring_register_buf_ring(ring, &reg, 0) != 0)
		return "provided-buffer rings (io_uring_register_buf_ring)";
	io_uring_buf_ring_init(br);
	for (int i = 0; i < PROBE_BUFS; i++)
		io_uring_buf_ring_add(br, bufs[i], sizeof(bufs[i]), (unsigned short)i,
				      io_uring_buf_ring_mask(PROBE_BUFS), i);
	io_uring_buf_ring_advance(br, PROBE_BUFS);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return "a socketpair";
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_recv_multishot(sqe, sv[0], NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = PROBE_BGID;
	io_uring_submit(ring);
	if (write(sv[1], "x", 1) != 1 || !probe_cqe(ring, 1000, &res, &flags) || res != 1 ||
	    !(flags & IORING_CQE_F_MORE))
		missing = "multishot receive with provided buffers";
	probe_drain(ring);
	close(sv[0]);
	close(sv[1]);
	return missing;
}

/* Tries a multishot accept on loopback; NULL if it works. */
static const char *missing_multishot_accept(struct io_uring *ring)
{
	struct sockaddr_in a = loopback(0);
	socklen_t alen = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	const char *missing = NULL;
	struct io_uring_sqe *sqe;
	unsigned flags;
	int res;

	if (l < 0 || c < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 4) != 0 ||
	    getsockname(l, (struct sockaddr *)&a, &alen) != 0) {
		missing = "a loopback listener";
	} else {
		sqe = io_uring_get_sqe(ring);
		io_uring_prep_multishot_accept(sqe, l, NULL, NULL, SOCK_CLOEXEC);
		io_uring_submit(ring);
		if (connect(c, (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS)
			missing = "a loopback connection";
		else if (!probe_cqe(ring, 1000, &res, &flags) || res < 0 ||
			 !(flags & IORING_CQE_F_MORE))
			missing = "multishot accept";
		else
			close(res);
		probe_drain(ring);
	}
	if (c >= 0)
		close(c);
	if (l >= 0)
		close(l);
	return missing;
}

struct probe_result {
	const char *missing;        /* a feature every test needs */
	const char *no_buffer_ring; /* one the buffer-ring test needs */
};

/*
 * Runs on a thread of its own, which exits afterwards: the io_uring state
 * the probe creates belongs to that thread, never to the test thread.
 */
static void *probe_main(void *arg)
{
	struct probe_result *pr = arg;
	struct io_uring ring;
	void *mem;

	if (io_uring_queue_init(8, &ring, 0) != 0) {
		pr->missing = "a ring for probing";
		return NULL;
	}
	pr->missing = missing_opcode(&ring);
	if (pr->missing == NULL)
		pr->missing = missing_multishot_accept(&ring);
	mem = mmap(NULL, PROBE_RING_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		   0);
	if (mem == MAP_FAILED) {
		pr->no_buffer_ring = "memory for a buffer ring";
	} else {
		pr->no_buffer_ring = missing_buffer_ring(&ring, mem);
	}
	io_uring_queue_exit(&ring);
	if (mem != MAP_FAILED)
		munmap(mem, PROBE_RING_BYTES);
	return NULL;
}

/*
 * Exits with 77, saying why, when the kernel lacks a feature every test
 * needs; notes what only the buffer-ring test needs (that one then skips).
 */
static void require_socket_features_or_skip(void)
{
	struct probe_result pr = { NULL, NULL };
	pthread_t t;

	require_io_uring_or_skip();
	if (pthread_create(&t, NULL, probe_main, &pr) != 0) {
		printf("SKIP: cannot start the probe thread\n");
		exit(77);
	}
	pthread_join(t, NULL);
	if (pr.missing != NULL) {
		printf("SKIP: the kernel's io_uring lacks %s\n", pr.missing);
		exit(77);
	}
	no_buffer_ring = pr.no_buffer_ring;
	if (no_buffer_ring != NULL)
		printf("note: no %s here: the library uses single-shot receives, and the "
		       "buffer-ring test skips\n",
		       no_buffer_ring);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, sworld_setup, sworld_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(stream_echo_round_trips_for_100_concurrent_clients),
		TEST(stream_echo_returns_1b_4k_64k_and_4m_payloads_byte_identical),
		TEST(stream_echo_continues_partial_sends_of_chunks_larger_than_the_send_buffer),
		TEST(stream_tiny_buffer_ring_runs_out_with_enobufs_yet_echoes_1m_intact),
		TEST(stream_disconnect_storm_of_200_clients_leaves_the_server_echoing),
		TEST(stream_send_to_a_closed_peer_ends_the_stream_and_frees_queued_sends),
		TEST(stream_runtime_stop_with_open_streams_returns_buffers_and_closes_sockets),
		TEST(stream_buffer_forwarded_to_another_reactor_is_sent_there_without_copy),
		TEST(io_connect_completes_with_0_to_a_listener_and_econnrefused_to_a_closed_port),
		TEST(io_connect_gives_etimedout_when_the_listener_never_answers),
		TEST(stream_timed_recv_on_the_thread_that_started_the_runtime_is_not_interrupted),
	};

	struct sigaction sa;

	/* Counted, not fatal: the library must send with MSG_NOSIGNAL, and
	 * each test checks that no SIGPIPE came (clients use it too). */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = count_sigpipe;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);
	require_socket_features_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
