/*
 * echo_epoll.c - the peer of the echo benchmark: the plain single-threaded
 * epoll echo server a user would write instead. Level-triggered, one recv
 * per readiness, the bytes sent straight back; a partial send parks the rest
 * in the connection's buffer, and the connection waits for EPOLLOUT (not
 * reading) until it is flushed. So a request costs a recv, a send and a
 * share of an epoll_wait. Stop requests arrive through an eventfd.
 */
#define _GNU_SOURCE
#include "bench.h"
#include "echo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

/* Bytes read per recv: the size of an atoll receive buffer. */
#define EE_BUFFER 16384u

struct ee_conn {
	struct ee_conn *next, *prev; /* every open connection */
	int fd;
	uint32_t len; /* bytes in buf */
	uint32_t off; /* bytes of buf already sent back */
	unsigned char buf[EE_BUFFER];
};

struct echo_epoll {
	const char *bench;
	int cpu;
	int listen_fd;
	int stop_fd;
	int ep;
	uint16_t port;
	pthread_t thread;
	pid_t tid;
	struct ee_conn *conns;
	_Atomic unsigned open_conns;
	_Atomic uint64_t errors;
	/* Start handshake: the thread reports once it serves. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool ready;
	bool joinable; /* the thread was created */
	int start_error;
};

/* epoll_data.ptr of the listening socket and of the stop eventfd. */
static char listen_tag, stop_tag;

static void ee_close(struct echo_epoll *s, struct ee_conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	close(c->fd); /* Also removes it from the epoll set. */
	free(c);
	atomic_fetch_sub_explicit(&s->open_conns, 1, memory_order_relaxed);
}

static void ee_fail(struct echo_epoll *s, struct ee_conn *c, int err)
{
	if (err != ECONNRESET && err != EPIPE &&
	    atomic_fetch_add_explicit(&s->errors, 1, memory_order_relaxed) < 4)
		bench_note(s->bench, "epoll server: connection: %s", strerror(err));
	ee_close(s, c);
}

static void ee_accept(struct echo_epoll *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev;
		struct ee_conn *c;
		int one = 1;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				bench_note(s->bench, "epoll server: accept4: %s", strerror(errno));
			return;
		}
		c = malloc(sizeof(*c));
		if (c == NULL) {
			close(fd);
			continue;
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->fd = fd;
		c->len = c->off = 0;
		c->prev = NULL;
		c->next = s->conns;
		if (s->conns != NULL)
			s->conns->prev = c;
		s->conns = c;
		atomic_fetch_add_explicit(&s->open_conns, 1, memory_order_relaxed);
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			ee_fail(s, c, errno);
	}
}

/* Sends what is left in c's buffer; on EAGAIN, waits for EPOLLOUT alone. */
static void ee_flush(struct echo_epoll *s, struct ee_conn *c, bool waiting_out)
{
	struct epoll_event ev;

	while (c->off < c->len) {
		ssize_t n = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				ee_fail(s, c, errno);
				return;
			}
			if (!waiting_out) {
				ev.events = EPOLLOUT;
				ev.data.ptr = c;
				if (epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
					ee_fail(s, c, errno);
			}
			return;
		}
		c->off += (uint32_t)n;
	}
	c->len = c->off = 0;
	if (waiting_out) {
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
			ee_fail(s, c, errno);
	}
}

static void ee_event(struct echo_epoll *s, struct ee_conn *c, uint32_t events)
{
	ssize_t n;

	if (c->len != 0) {
		/* Waiting for room to send: only EPOLLOUT (or an error) counts. */
		ee_flush(s, c, true);
		return;
	}
	if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		return;
	n = recv(c->fd, c->buf, sizeof(c->buf), 0);
	if (n == 0) {
		ee_close(s, c);
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			ee_fail(s, c, errno);
		return;
	}
	c->len = (uint32_t)n;
	c->off = 0;
	ee_flush(s, c, false);
}

static int ee_setup(struct echo_epoll *s)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);
	struct epoll_event ev;
	int one = 1;

	s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0)
		return -errno;
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(s->listen_fd, 1024) < 0 ||
	    getsockname(s->listen_fd, (struct sockaddr *)&addr, &len) < 0)
		return -errno;
	s->port = ntohs(addr.sin_port);
	s->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	if (s->stop_fd < 0 || s->ep < 0)
		return -errno;
	ev.events = EPOLLIN;
	ev.data.ptr = &listen_tag;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->listen_fd, &ev) < 0)
		return -errno;
	ev.data.ptr = &stop_tag;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->stop_fd, &ev) < 0)
		return -errno;
	return 0;
}

static void *ee_main(void *arg)
{
	struct echo_epoll *s = arg;
	struct epoll_event events[256];
	bool stopping = false;
	int rc = 0;

	s->tid = bench_gettid();
	if (s->cpu >= 0)
		rc = bench_pin_self(s->cpu);
	if (rc == 0)
		rc = ee_setup(s);
	pthread_mutex_lock(&s->lock);
	s->start_error = rc;
	s->ready = true;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (rc < 0)
		return NULL;
	while (!stopping) {
		int n = epoll_wait(s->ep, events, (int)BENCH_ARRAY_SIZE(events), -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			bench_note(s->bench, "epoll server: epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			void *p = events[i].data.ptr;

			if (p == &stop_tag)
				stopping = true;
			else if (p == &listen_tag)
				ee_accept(s);
			else
				ee_event(s, p, events[i].events);
		}
	}
	while (s->conns != NULL)
		ee_close(s, s->conns);
	return NULL;
}

int echo_epoll_start(const char *bench, int cpu, struct echo_epoll **out)
{
	struct echo_epoll *s = calloc(1, sizeof(*s));
	int rc;

	if (s == NULL)
		return -ENOMEM;
	s->bench = bench;
	s->cpu = cpu;
	s->listen_fd = s->stop_fd = s->ep = -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	rc = -pthread_create(&s->thread, NULL, ee_main, s);
	s->joinable = rc == 0;
	if (rc < 0) {
		bench_note(bench, "epoll server: pthread_create: %s", strerror(-rc));
		echo_epoll_stop(s);
		return rc;
	}
	pthread_mutex_lock(&s->lock);
	while (!s->ready)
		pthread_cond_wait(&s->cond, &s->lock);
	rc = s->start_error;
	pthread_mutex_unlock(&s->lock);
	if (rc < 0) {
		bench_note(bench, "epoll server: cannot start: %s", strerror(-rc));
		echo_epoll_stop(s);
		return rc;
	}
	*out = s;
	return 0;
}

uint16_t echo_epoll_port(const struct echo_epoll *server)
{
	return server->port;
}

pthread_t echo_epoll_thread(const struct echo_epoll *server)
{
	return server->thread;
}

pid_t echo_epoll_tid(const struct echo_epoll *server)
{
	return server->tid;
}

unsigned echo_epoll_open_conns(const struct echo_epoll *server)
{
	return atomic_load_explicit(&server->open_conns, memory_order_relaxed);
}

uint64_t echo_epoll_errors(const struct echo_epoll *server)
{
	return atomic_load_explicit(&server->errors, memory_order_relaxed);
}

void echo_epoll_stop(struct echo_epoll *server)
{
	struct echo_epoll *s = server;
	uint64_t one = 1;

	if (s == NULL)
		return;
	/* A thread that failed to start has already returned. */
	if (s->joinable && s->start_error == 0 && write(s->stop_fd, &one, sizeof(one)) < 0)
		bench_note(s->bench, "epoll server: eventfd write: %s", strerror(errno));
	if (s->joinable)
		pthread_join(s->thread, NULL);
	if (s->ep >= 0)
		close(s->ep);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}
