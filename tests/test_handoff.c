/*
 * test_handoff.c - handing a connection to another core (io.h, "Handing a
 * connection to another core"): an acceptor on reactor 0 passes each
 * accepted fd in an ordinary message to a worker on reactor 1, which opens
 * its stream there and echoes. The client checks every byte, and the worker
 * records which core served it; at stop nothing is left in flight on either
 * reactor.
 */
#include "helpers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
	MSG_ACCEPTED = ATOLL_MSG_USER,
	MSG_FD,
	MSG_RECV
};

static _Atomic uint64_t served_on_core1;
static _Atomic uint64_t served_elsewhere;
static _Atomic int listen_port;

struct worker {
	atoll_stream *s;
};

/* The worker: one per connection, spawned on reactor 1 with the fd. */
static void worker_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct worker *w = state;
	struct atoll_io *io = atoll_io_of(msg);
	int fd;

	if (msg->type == MSG_FD) {
		memcpy(&fd, msg->data, sizeof(fd));
		if (atoll_core(ctx) == 1)
			atomic_fetch_add(&served_on_core1, 1);
		else
			atomic_fetch_add(&served_elsewhere, 1);
		CHECK_EQ(atoll_stream_open(ctx, fd, MSG_RECV, &w->s), 0);
		return;
	}
	CHECK(io != NULL);
	if (io->res <= 0) {
		atoll_stream_close(ctx, w->s);
		w->s = NULL;
		atoll_stop(ctx, atoll_self(ctx));
		return;
	}
	CHECK_EQ(atoll_stream_send(ctx, w->s, msg), 0); /* echo, no copy */
}

static void worker_stop(atoll_ctx *ctx, void *state)
{
	struct worker *w = state;

	if (w->s != NULL)
		atoll_stream_close(ctx, w->s);
}

static const struct atoll_actor_type worker_type = {
	.name = "handoff_worker",
	.state_size = sizeof(struct worker),
	.receive = worker_receive,
	.stop = worker_stop,
};

struct acceptor {
	int fd;
};

static int acceptor_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct acceptor *a = state;

	(void)arg;
	a->fd = atoll_tcp_listen(NULL, 0, 64, false);
	if (a->fd < 0)
		return a->fd;
	atomic_store(&listen_port, atoll_tcp_port(a->fd));
	return atoll_io_accept_start(ctx, a->fd, MSG_ACCEPTED);
}

/* Each accepted fd goes to a fresh worker on reactor 1. */
static void acceptor_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct atoll_io *io = atoll_io_of(msg);
	atoll_ref worker;
	int fd;

	(void)state;
	CHECK(io != NULL && io->res >= 0);
	if (io == NULL || io->res < 0)
		return;
	fd = io->res;
	CHECK_EQ(atoll_spawn(ctx, &worker_type, NULL, 1, &worker), 0);
	CHECK_EQ(atoll_tell(ctx, worker, MSG_FD, &fd, sizeof(fd)), 0);
}

static void acceptor_stop(atoll_ctx *ctx, void *state)
{
	struct acceptor *a = state;

	(void)ctx;
	if (a->fd >= 0) {
		shutdown(a->fd, SHUT_RDWR);
		close(a->fd);
	}
}

static const struct atoll_actor_type acceptor_type = {
	.name = "handoff_acceptor",
	.state_size = sizeof(struct acceptor),
	.init = acceptor_init,
	.receive = acceptor_receive,
	.stop = acceptor_stop,
};

static int dial(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Reads n bytes; EINTR is retried (see tests/actors/test_tcp_conn.c). */
static void recv_exact(int fd, char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = recv(fd, p, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			fail_msg("recv: %zd (%s), %zu bytes short", r, strerror(errno), n);
		p += r;
		n -= (size_t)r;
	}
}

static void handoff_connection_accepted_on_core0_is_served_by_core1(void **state)
{
	struct atoll_config cfg = { .reactors = 2, .no_signals = true };
	atoll_runtime *rt;
	char msg[64], got[64];
	int fds[8];

	(void)state;
	atomic_store(&listen_port, 0);
	atomic_store(&served_on_core1, 0);
	atomic_store(&served_elsewhere, 0);
	rt = start_runtime(&cfg);
	spawn_on(rt, &acceptor_type, NULL, 0);
	uint64_t deadline = test_now_ns() + WAIT_LIMIT_NS;
	while (atomic_load(&listen_port) == 0) {
		assert_true(test_now_ns() < deadline);
		poll_pause();
	}
	for (int i = 0; i < 8; i++)
		fds[i] = dial(atomic_load(&listen_port));
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 8; i++) {
			int n = snprintf(msg, sizeof(msg), "client %d round %d", i, round);
			assert_int_equal(send(fds[i], msg, (size_t)n, MSG_NOSIGNAL), n);
			recv_exact(fds[i], got, (size_t)n);
			assert_memory_equal(got, msg, (size_t)n);
		}
	}
	for (int i = 0; i < 8; i++)
		close(fds[i]);
	assert_true(wait_u64_at_least(&served_on_core1, 8, WAIT_LIMIT_NS));
	assert_int_equal(atomic_load(&served_elsewhere), 0);
	/* The workers see the clients close and stop. */
	uint64_t until = test_now_ns() + WAIT_LIMIT_NS;
	while (read_stats(rt, 1).actors_alive != 0) {
		assert_true(test_now_ns() < until);
		poll_pause();
	}
	atoll_runtime_stop(rt);
	assert_int_equal(wait_runtime(rt), 0);
	for (unsigned core = 0; core < 2; core++) {
		struct atoll_stats st = read_stats(rt, core);
		assert_int_equal(st.io_inflight, 0);
		assert_int_equal(st.bufs_out, 0);
	}
	destroy_runtime(rt);
	assert_no_check_failures();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(handoff_connection_accepted_on_core0_is_served_by_core1,
					  destroy_leftovers),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
