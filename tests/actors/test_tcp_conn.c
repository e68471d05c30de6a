/*
 * test_tcp_conn.c - the framing connection actor (actors/tcp_conn.c) behind
 * the TCP listener (actors/tcp_listener.c), driven by real sockets on
 * 127.0.0.1: lines split across writes, CRLF, length-prefixed frames cut at
 * every byte, raw chunks, an oversized frame ending the connection with
 * -EMSGSIZE, a graceful close that still sends its last reply, the
 * listener's max_connections, and nothing left in flight at stop.
 */
#include "../helpers.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcp_conn.h"
#include "tcp_listener.h"

static _Atomic int last_close_reason = 1;
static _Atomic uint64_t closes;

/* Upper-cases each frame back; "QUIT" answers "BYE" and closes. */
static void upper_frame(atoll_ctx *ctx, struct atoll_tcp_conn *c, void *state, const char *d,
			size_t n)
{
	char *buf;

	(void)state;
	if (n == 4 && memcmp(d, "QUIT", 4) == 0) {
		CHECK_EQ(atoll_tcp_conn_write(ctx, c, "BYE", 3), 0);
		atoll_tcp_conn_close(ctx, c);
		return;
	}
	buf = malloc(n ? n : 1);
	CHECK(buf != NULL);
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)toupper((unsigned char)d[i]);
	CHECK_EQ(atoll_tcp_conn_write(ctx, c, buf, n), 0);
	free(buf);
}

static void note_close(atoll_ctx *ctx, struct atoll_tcp_conn *c, void *state, int reason)
{
	(void)ctx;
	(void)c;
	(void)state;
	atomic_store(&last_close_reason, reason);
	atomic_fetch_add(&closes, 1);
}

static const struct atoll_tcp_proto lines_proto = {
	.framing = ATOLL_TCP_LINES,
	.max_frame = 1024,
	.frame = upper_frame,
	.close = note_close,
};

static const struct atoll_tcp_proto len32_proto = {
	.framing = ATOLL_TCP_LEN32,
	.max_frame = 100000,
	.frame = upper_frame,
	.close = note_close,
};

static const struct atoll_tcp_proto raw_proto = {
	.framing = ATOLL_TCP_RAW,
	.frame = upper_frame,
	.close = note_close,
};

/* A port nobody listens on right now (bind to 0, read it, close). */
static uint16_t free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* Connects to 127.0.0.1:port with 5 s send/receive timeouts, retrying for
 * up to 5 s while the listener starts. */
static int dial(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 5 };
	uint64_t deadline = test_now_ns() + 5 * NS_PER_SEC;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (;;) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		assert_true(fd >= 0);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		close(fd);
		if (test_now_ns() > deadline)
			fail_msg("cannot connect to port %u", port);
		poll_pause();
	}
}

static void send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		assert_true(w > 0);
		c += w;
		n -= (size_t)w;
	}
}

/*
 * Reads exactly n bytes, failing on EOF or timeout. EINTR is retried: with
 * SO_RCVTIMEO set the kernel does not restart an interrupted recv. (The
 * runtime once made the starting thread see EINTR without any signal, from
 * io_uring task work; test_stream checks that this no longer happens.)
 */
static void recv_exact(int fd, void *p, size_t n)
{
	char *c = p;

	while (n > 0) {
		ssize_t r = recv(fd, c, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			fail_msg("recv: %zd (%s), %zu bytes short", r, strerror(errno), n);
		c += r;
		n -= (size_t)r;
	}
}

/* True when the peer closed (recv returns 0) within the socket timeout. */
static bool sees_eof(int fd)
{
	char c;
	ssize_t r;

	do
		r = recv(fd, &c, 1, 0);
	while (r < 0 && errno == EINTR);
	return r == 0;
}

struct server {
	atoll_runtime *rt;
	struct atoll_tcp_listener_args args;
	uint16_t port;
};

static void serve(struct server *s, const struct atoll_tcp_proto *proto, unsigned max_conns)
{
	struct atoll_config cfg = { .reactors = 1, .no_signals = true };

	s->port = free_port();
	s->args = (struct atoll_tcp_listener_args){
		.port = s->port,
		.max_connections = max_conns,
		.conn_type = &atoll_tcp_conn_type,
		.conn_arg = proto,
	};
	atomic_store(&last_close_reason, 1);
	atomic_store(&closes, 0);
	s->rt = start_runtime(&cfg);
	spawn_on(s->rt, &atoll_tcp_listener_type, &s->args, 0);
}

/* Stops the server and checks the kernel gave everything back. */
static void stop_and_check(struct server *s)
{
	struct atoll_stats st;

	atoll_runtime_stop(s->rt);
	assert_int_equal(wait_runtime(s->rt), 0);
	st = read_stats(s->rt, 0);
	assert_int_equal(st.io_inflight, 0);
	assert_int_equal(st.bufs_out, 0);
	assert_int_equal(st.actors_alive, 0);
	destroy_runtime(s->rt);
	assert_no_check_failures();
}

static void tcp_conn_lines_split_across_writes_and_crlf_come_back_framed(void **state)
{
	struct server s;
	char got[32];
	int fd;

	(void)state;
	serve(&s, &lines_proto, 0);
	fd = dial(s.port);
	send_all(fd, "hel", 3);
	send_all(fd, "lo\r\nwor", 7);
	send_all(fd, "ld\n\nabc\n", 8);
	recv_exact(fd, got, 17);
	assert_memory_equal(got, "HELLO\nWORLD\n\nABC\n", 17);
	close(fd);
	stop_and_check(&s);
}

static void tcp_conn_quit_sends_the_last_reply_then_closes(void **state)
{
	struct server s;
	char got[4];
	int fd;

	(void)state;
	serve(&s, &lines_proto, 0);
	fd = dial(s.port);
	send_all(fd, "QUIT\n", 5);
	recv_exact(fd, got, 4);
	assert_memory_equal(got, "BYE\n", 4);
	assert_true(sees_eof(fd));
	close(fd);
	assert_true(wait_u64_at_least(&closes, 1, WAIT_LIMIT_NS));
	assert_int_equal(atomic_load(&last_close_reason), 0);
	stop_and_check(&s);
}

static void tcp_conn_oversized_line_ends_the_connection_with_emsgsize(void **state)
{
	struct server s;
	char big[2048];
	int fd;

	(void)state;
	serve(&s, &lines_proto, 0);
	fd = dial(s.port);
	memset(big, 'x', sizeof(big));
	send_all(fd, big, sizeof(big)); /* no newline, over max_frame 1024 */
	assert_true(sees_eof(fd));
	close(fd);
	assert_true(wait_u64_at_least(&closes, 1, WAIT_LIMIT_NS));
	assert_int_equal(atomic_load(&last_close_reason), -EMSGSIZE);
	/* The server still serves others. */
	fd = dial(s.port);
	send_all(fd, "ok\n", 3);
	recv_exact(fd, big, 3);
	assert_memory_equal(big, "OK\n", 3);
	close(fd);
	stop_and_check(&s);
}

static void put_be32(char *p, uint32_t v)
{
	p[0] = (char)(v >> 24);
	p[1] = (char)(v >> 16);
	p[2] = (char)(v >> 8);
	p[3] = (char)v;
}

static void tcp_conn_len32_frames_cut_at_every_byte_come_back_whole(void **state)
{
	static const size_t sizes[] = { 0, 1, 7, 1000, 70000 };
	struct server s;
	int fd;

	(void)state;
	serve(&s, &len32_proto, 0);
	fd = dial(s.port);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k];
		char *frame = malloc(4 + n), *got = malloc(4 + n);

		assert_non_null(frame);
		assert_non_null(got);
		put_be32(frame, (uint32_t)n);
		for (size_t i = 0; i < n; i++)
			frame[4 + i] = (char)('a' + (i % 26));
		if (n < 16) {
			for (size_t i = 0; i < 4 + n; i++) /* one byte per write */
				send_all(fd, frame + i, 1);
		} else {
			send_all(fd, frame, 4 + n);
		}
		recv_exact(fd, got, 4 + n);
		assert_memory_equal(got, frame, 4); /* same length prefix */
		for (size_t i = 0; i < n; i++)
			assert_int_equal(got[4 + i], toupper((unsigned char)frame[4 + i]));
		free(frame);
		free(got);
	}
	close(fd);
	stop_and_check(&s);
}

static void tcp_conn_len32_frame_over_the_limit_is_refused(void **state)
{
	struct server s;
	char prefix[4];
	int fd;

	(void)state;
	serve(&s, &len32_proto, 0);
	fd = dial(s.port);
	put_be32(prefix, 100001);
	send_all(fd, prefix, 4);
	assert_true(sees_eof(fd));
	close(fd);
	assert_true(wait_u64_at_least(&closes, 1, WAIT_LIMIT_NS));
	assert_int_equal(atomic_load(&last_close_reason), -EMSGSIZE);
	stop_and_check(&s);
}

static void tcp_conn_raw_echoes_every_byte(void **state)
{
	struct server s;
	size_t n = 100000;
	char *data = malloc(n), *got = malloc(n);
	int fd;

	(void)state;
	assert_non_null(data);
	assert_non_null(got);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)('a' + (i % 26));
	serve(&s, &raw_proto, 0);
	fd = dial(s.port);
	/* 100 kB fits the socket buffers both ways, so one thread may write
	 * it all and then read. */
	send_all(fd, data, n);
	recv_exact(fd, got, n);
	for (size_t i = 0; i < n; i++)
		if (got[i] != toupper((unsigned char)data[i]))
			fail_msg("byte %zu differs", i);
	close(fd);
	free(data);
	free(got);
	stop_and_check(&s);
}

static void tcp_listener_refuses_connections_over_max_and_accepts_again_later(void **state)
{
	struct server s;
	char got[4];
	int a, b, c, d;

	(void)state;
	serve(&s, &lines_proto, 2);
	a = dial(s.port);
	b = dial(s.port);
	/* Both are served (so both were counted before the third arrives). */
	send_all(a, "a\n", 2);
	recv_exact(a, got, 2);
	send_all(b, "b\n", 2);
	recv_exact(b, got, 2);
	c = dial(s.port);
	assert_true(sees_eof(c)); /* refused: closed before any data */
	close(c);
	send_all(a, "QUIT\n", 5);
	recv_exact(a, got, 4);
	assert_true(sees_eof(a));
	close(a);
	/* The listener hears of the close, then takes a new one. */
	uint64_t deadline = test_now_ns() + WAIT_LIMIT_NS;
	for (;;) {
		d = dial(s.port);
		send_all(d, "d\n", 2);
		ssize_t r;
		do
			r = recv(d, got, 2, 0);
		while (r < 0 && errno == EINTR);
		if (r == 2)
			break;
		close(d);
		assert_true(test_now_ns() < deadline);
		poll_pause();
	}
	assert_memory_equal(got, "D\n", 2);
	close(d);
	close(b);
	stop_and_check(&s);
}

static void tcp_listener_start_all_listens_on_every_reactor_and_the_port_is_taken(void **state)
{
	struct atoll_config cfg = { .reactors = 2, .no_signals = true };
	struct atoll_tcp_listener_args args = {
		.port = 0,
		.conn_type = &atoll_tcp_conn_type,
		.conn_arg = &raw_proto,
	};
	atoll_runtime *rt;
	uint16_t port = 0;
	unsigned failed = 99;
	int fds[8];

	(void)state;
	atomic_store(&closes, 0);
	rt = start_runtime(&cfg);
	assert_int_equal(atoll_tcp_listener_start_all(rt, &args, 0, &port, &failed), 0);
	assert_true(port != 0);
	assert_int_equal(failed, 99);
	/* Our listeners hold it now: a plain bind there must fail. */
	assert_int_equal(atoll_tcp_port_free("127.0.0.1", port), -EADDRINUSE);
	for (int i = 0; i < 8; i++) {
		char b = (char)('a' + i), back = 0;

		fds[i] = dial(port);
		send_all(fds[i], &b, 1);
		recv_exact(fds[i], &back, 1);
		assert_int_equal(back, toupper(b)); /* raw_proto upper-cases */
	}
	for (int i = 0; i < 8; i++)
		close(fds[i]);
	atoll_runtime_stop(rt);
	assert_int_equal(wait_runtime(rt), 0);
	for (unsigned core = 0; core < 2; core++)
		assert_int_equal(read_stats(rt, core).io_inflight, 0);
	destroy_runtime(rt);
	/* After the stop the port is free again. */
	assert_int_equal(atoll_tcp_port_free(NULL, port), 0);
	assert_no_check_failures();
}

static void tcp_listener_start_all_reports_the_first_failure_and_its_reactor(void **state)
{
	struct atoll_config cfg = { .reactors = 2, .no_signals = true };
	struct atoll_tcp_listener_args args = {
		.host = "not-an-address",
		.conn_type = &atoll_tcp_conn_type,
		.conn_arg = &raw_proto,
	};
	atoll_runtime *rt;
	uint16_t port = 7;
	unsigned failed = 99;

	(void)state;
	assert_int_equal(atoll_tcp_port_free("not-an-address", 80), -EINVAL);
	rt = start_runtime(&cfg);
	assert_int_equal(atoll_tcp_listener_start_all(rt, &args, 0, &port, &failed), -EINVAL);
	assert_int_equal(failed, 0);
	assert_int_equal(port, 7);
	atoll_runtime_stop(rt);
	assert_int_equal(wait_runtime(rt), 0);
	destroy_runtime(rt);
	assert_no_check_failures();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(
			tcp_conn_lines_split_across_writes_and_crlf_come_back_framed,
			destroy_leftovers),
		cmocka_unit_test_teardown(tcp_conn_quit_sends_the_last_reply_then_closes,
					  destroy_leftovers),
		cmocka_unit_test_teardown(tcp_conn_oversized_line_ends_the_connection_with_emsgsize,
					  destroy_leftovers),
		cmocka_unit_test_teardown(tcp_conn_len32_frames_cut_at_every_byte_come_back_whole,
					  destroy_leftovers),
		cmocka_unit_test_teardown(tcp_conn_len32_frame_over_the_limit_is_refused,
					  destroy_leftovers),
		cmocka_unit_test_teardown(tcp_conn_raw_echoes_every_byte, destroy_leftovers),
		cmocka_unit_test_teardown(
			tcp_listener_refuses_connections_over_max_and_accepts_again_later,
			destroy_leftovers),
		cmocka_unit_test_teardown(
			tcp_listener_start_all_listens_on_every_reactor_and_the_port_is_taken,
			destroy_leftovers),
		cmocka_unit_test_teardown(
			tcp_listener_start_all_reports_the_first_failure_and_its_reactor,
			destroy_leftovers),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
