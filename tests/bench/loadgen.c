/*
 * loadgen.c - a closed-loop TCP load generator for the echo benchmarks: C
 * connections, each with one request outstanding, on one pinned thread with
 * level-triggered epoll and non-blocking sockets. Every echo is compared
 * byte for byte with what was sent (each request carries its sequence
 * number), so lost or corrupt data is an error, not a fast number. Latencies
 * go into a log-linear histogram (64 buckets per octave, under 1.6% error).
 */
#define _GNU_SOURCE
#include "bench.h"
#include "echo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* ----------------------------------------------------------- histogram --- */

#define HIST_SUB_BITS 6u
#define HIST_SUB (1u << HIST_SUB_BITS)
/* Values below 2 * HIST_SUB are exact; above, 64 buckets per octave up to
 * 2^63 ns. */
#define HIST_BUCKETS (2u * HIST_SUB + (64u - HIST_SUB_BITS - 1u) * HIST_SUB)

struct histogram {
	uint64_t count[HIST_BUCKETS];
	uint64_t n;
	uint64_t max;
	double sum;
};

static unsigned hist_index(uint64_t v)
{
	unsigned msb, shift;

	if (v < 2u * HIST_SUB)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	shift = msb - HIST_SUB_BITS;
	return 2u * HIST_SUB + (shift - 1u) * HIST_SUB + (unsigned)((v >> shift) - HIST_SUB);
}

/* The middle of bucket i. */
static double hist_value(unsigned i)
{
	unsigned shift, top;

	if (i < 2u * HIST_SUB)
		return (double)i;
	shift = (i - 2u * HIST_SUB) / HIST_SUB + 1u;
	top = HIST_SUB + (i - 2u * HIST_SUB) % HIST_SUB;
	return ((double)top + 0.5) * (double)(1ull << shift);
}

static void hist_add(struct histogram *h, uint64_t v)
{
	h->count[hist_index(v)]++;
	h->n++;
	h->sum += (double)v;
	if (v > h->max)
		h->max = v;
}

static double hist_quantile(const struct histogram *h, double q)
{
	uint64_t rank, seen = 0;

	if (h->n == 0)
		return 0;
	rank = (uint64_t)(q * (double)(h->n - 1)) + 1;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += h->count[i];
		if (seen >= rank) {
			double v = hist_value(i);
			return v < (double)h->max ? v : (double)h->max;
		}
	}
	return (double)h->max;
}

/* ---------------------------------------------------------- connections --- */

struct lg_conn {
	int fd;
	unsigned index;
	bool busy;     /* a request is outstanding */
	bool want_out; /* EPOLLOUT armed: the request is not all sent */
	uint32_t sent;
	uint32_t received;
	uint64_t seq;
	uint64_t t_send;
	unsigned char *tx;
	unsigned char *rx;
};

enum lg_phase {
	LG_WARMUP,
	LG_MEASURE,
	LG_DRAIN,
};

struct lg_run {
	const struct loadgen_params *p;
	struct loadgen_result *r;
	struct lg_conn *conns;
	unsigned char *buffers;
	int ep;
	enum lg_phase phase;
	unsigned busy;
	uint64_t last_echo;
	struct histogram hist;
	int error; /* -errno when the run could not start */
};

static int connect_one(struct lg_run *run, struct lg_conn *c)
{
	struct sockaddr_in addr;
	struct pollfd pfd;
	struct epoll_event ev;
	socklen_t len = sizeof(int);
	int one = 1, err = 0, rc;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons(run->p->port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 && errno != EINPROGRESS)
		return -errno;
	/* Loopback connects finish in the kernel, accepted or not; a full
	 * backlog drops the SYN, which 2 s of waiting turns into an error. */
	pfd.fd = c->fd;
	pfd.events = POLLOUT;
	rc = poll(&pfd, 1, 2000);
	if (rc < 0)
		return -errno;
	if (rc == 0)
		return -ETIMEDOUT;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	if (err != 0)
		return -err;
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(run->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		return -errno;
	return 0;
}

static void close_conn(struct lg_run *run, struct lg_conn *c)
{
	if (c->fd < 0)
		return;
	(void)epoll_ctl(run->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	if (c->busy) {
		c->busy = false;
		run->busy--;
	}
}

static void conn_failed(struct lg_run *run, struct lg_conn *c, const char *what, int err)
{
	if (run->r->conn_errors++ < 4)
		bench_note(run->p->bench, "loadgen: connection %u: %s: %s", c->index, what,
			   err != 0 ? strerror(err) : "closed by the server");
	close_conn(run, c);
}

static int set_out(struct lg_run *run, struct lg_conn *c, bool on)
{
	struct epoll_event ev;

	if (c->want_out == on)
		return 0;
	ev.events = EPOLLIN | (on ? EPOLLOUT : 0u);
	ev.data.ptr = c;
	if (epoll_ctl(run->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		return -errno;
	c->want_out = on;
	return 0;
}

/* Sends what is left of the current request. Returns false when the
 * connection failed (and is closed). */
static bool send_more(struct lg_run *run, struct lg_conn *c)
{
	uint32_t size = run->p->size;

	while (c->sent < size) {
		ssize_t n = send(c->fd, c->tx + c->sent, size - c->sent, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				if (set_out(run, c, true) < 0) {
					conn_failed(run, c, "epoll_ctl", errno);
					return false;
				}
				return true;
			}
			conn_failed(run, c, "send", errno);
			return false;
		}
		c->sent += (uint32_t)n;
	}
	if (set_out(run, c, false) < 0) {
		conn_failed(run, c, "epoll_ctl", errno);
		return false;
	}
	return true;
}

static void start_request(struct lg_run *run, struct lg_conn *c, uint64_t now)
{
	size_t n = run->p->size < sizeof(c->seq) ? run->p->size : sizeof(c->seq);

	c->seq++;
	memcpy(c->tx, &c->seq, n);
	c->sent = 0;
	c->received = 0;
	c->t_send = now;
	c->busy = true;
	run->busy++;
	(void)send_more(run, c);
}

static void finish_request(struct lg_run *run, struct lg_conn *c, uint64_t now)
{
	struct loadgen_result *r = run->r;

	c->busy = false;
	run->busy--;
	run->last_echo = now;
	if (memcmp(c->rx, c->tx, run->p->size) != 0) {
		if (r->mismatches++ < 4)
			bench_note(run->p->bench,
				   "loadgen: connection %u: echo of request %" PRIu64
				   " differs from what was sent",
				   c->index, c->seq);
	}
	r->total_requests++;
	if (run->phase == LG_MEASURE) {
		r->requests++;
		hist_add(&run->hist, now - c->t_send);
	}
	if (run->phase != LG_DRAIN)
		start_request(run, c, now);
}

static void on_readable(struct lg_run *run, struct lg_conn *c, uint64_t *now)
{
	uint32_t size = run->p->size;
	ssize_t n;

	if (!c->busy) {
		/* Nothing asked: any byte, or the end, is the server's fault. */
		unsigned char byte;

		n = recv(c->fd, &byte, 1, 0);
		if (n > 0) {
			if (run->r->mismatches++ < 4)
				bench_note(run->p->bench,
					   "loadgen: connection %u: bytes nobody asked for",
					   c->index);
		} else if (n == 0 || errno != EAGAIN) {
			conn_failed(run, c, "recv", n == 0 ? 0 : errno);
		}
		return;
	}
	n = recv(c->fd, c->rx + c->received, size - c->received, 0);
	if (n == 0) {
		conn_failed(run, c, "recv", 0);
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			conn_failed(run, c, "recv", errno);
		return;
	}
	c->received += (uint32_t)n;
	if (c->received == size) {
		*now = bench_now_ns();
		finish_request(run, c, *now);
	}
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Milliseconds to wait in epoll_wait before deadline, at least 1, at most
 * 100 (so that a stall is noticed). */
static int wait_ms(uint64_t now, uint64_t deadline)
{
	uint64_t ms;

	if (deadline <= now)
		return 0;
	ms = (deadline - now + 999999u) / 1000000u;
	return ms > 100 ? 100 : (int)ms;
}

static void lg_loop(struct lg_run *run)
{
	const struct loadgen_params *p = run->p;
	struct loadgen_result *r = run->r;
	struct epoll_event events[256];
	uint64_t now = bench_now_ns();
	uint64_t t_measure = now + p->warmup_ns;
	uint64_t t_end = 0, t0 = 0, cpu0 = 0, drain_deadline = 0;

	run->phase = LG_WARMUP;
	run->last_echo = now;
	for (unsigned i = 0; i < p->conns; i++)
		start_request(run, &run->conns[i], now);
	for (;;) {
		uint64_t deadline = run->phase == LG_WARMUP    ? t_measure
				    : run->phase == LG_MEASURE ? t_end
							       : drain_deadline;
		int n = epoll_wait(run->ep, events, (int)BENCH_ARRAY_SIZE(events),
				   wait_ms(now, deadline));

		if (n < 0 && errno != EINTR) {
			bench_note(p->bench, "loadgen: epoll_wait: %s", strerror(errno));
			r->stalled = true;
			break;
		}
		now = bench_now_ns();
		for (int i = 0; i < n; i++) {
			struct lg_conn *c = events[i].data.ptr;

			if (c->fd < 0)
				continue;
			if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				on_readable(run, c, &now);
			if (c->fd >= 0 && c->busy && c->sent < p->size &&
			    (events[i].events & EPOLLOUT))
				(void)send_more(run, c);
		}
		if (run->phase == LG_WARMUP && now >= t_measure) {
			if (p->window != NULL)
				p->window(p->window_arg, true);
			cpu0 = thread_cpu_ns();
			t0 = now = bench_now_ns();
			t_end = t0 + p->measure_ns;
			run->phase = LG_MEASURE;
		} else if (run->phase == LG_MEASURE && now >= t_end) {
			r->seconds = (double)(now - t0) / 1e9;
			r->client_cpu_s = (double)(thread_cpu_ns() - cpu0) / 1e9;
			if (p->window != NULL)
				p->window(p->window_arg, false);
			run->phase = LG_DRAIN;
			drain_deadline = bench_now_ns() + LOADGEN_DRAIN_NS;
		}
		if (run->busy == 0 && (run->phase == LG_DRAIN || r->conn_errors == p->conns))
			break;
		if (run->phase == LG_DRAIN && now >= drain_deadline)
			break;
		if (run->phase != LG_DRAIN && run->busy > 0 &&
		    now - run->last_echo >= LOADGEN_STALL_NS) {
			bench_note(p->bench,
				   "loadgen: no echo for %.1f s with %u requests outstanding: "
				   "giving up",
				   (double)LOADGEN_STALL_NS / 1e9, run->busy);
			r->stalled = true;
			break;
		}
	}
	if (run->phase == LG_MEASURE) {
		/* Stopped early: the window ends here. */
		r->seconds = (double)(now - t0) / 1e9;
		r->client_cpu_s = (double)(thread_cpu_ns() - cpu0) / 1e9;
		if (p->window != NULL)
			p->window(p->window_arg, false);
	} else if (run->phase == LG_WARMUP && p->window != NULL) {
		/* Keep begin/end paired for the caller. */
		p->window(p->window_arg, true);
		p->window(p->window_arg, false);
	}
	r->unfinished = run->busy;
	if (run->busy > 0 && !r->stalled)
		bench_note(p->bench,
			   "loadgen: %u requests still had no echo %.1f s after the window "
			   "closed",
			   run->busy, (double)LOADGEN_DRAIN_NS / 1e9);
}

static void *lg_main(void *arg)
{
	struct lg_run *run = arg;
	const struct loadgen_params *p = run->p;
	int rc;

	if (p->cpu >= 0 && (rc = bench_pin_self(p->cpu)) < 0)
		bench_note(p->bench, "loadgen: cannot pin to CPU %d: %s", p->cpu, strerror(-rc));
	for (unsigned i = 0; i < p->conns; i++) {
		rc = connect_one(run, &run->conns[i]);
		if (rc < 0) {
			bench_note(p->bench, "loadgen: connection %u of %u to 127.0.0.1:%u: %s", i,
				   p->conns, (unsigned)p->port, strerror(-rc));
			run->error = rc;
			return NULL;
		}
	}
	lg_loop(run);
	return NULL;
}

int loadgen_run(const struct loadgen_params *params, struct loadgen_result *result)
{
	struct lg_run *run;
	pthread_t thread;
	size_t size = params->size;
	int rc;

	memset(result, 0, sizeof(*result));
	if (params->conns == 0 || params->size == 0)
		return -EINVAL;
	run = calloc(1, sizeof(*run));
	if (run == NULL)
		return -ENOMEM;
	run->p = params;
	run->r = result;
	run->conns = calloc(params->conns, sizeof(*run->conns));
	run->buffers = malloc(2 * size * params->conns);
	run->ep = epoll_create1(EPOLL_CLOEXEC);
	if (run->conns == NULL || run->buffers == NULL || run->ep < 0) {
		rc = run->ep < 0 ? -errno : -ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < params->conns; i++) {
		struct lg_conn *c = &run->conns[i];

		c->fd = -1;
		c->index = i;
		c->tx = run->buffers + 2 * size * i;
		c->rx = c->tx + size;
		for (size_t j = 0; j < size; j++)
			c->tx[j] = (unsigned char)(j * 7u + i);
	}
	rc = -pthread_create(&thread, NULL, lg_main, run);
	if (rc < 0) {
		bench_note(params->bench, "loadgen: pthread_create: %s", strerror(-rc));
		goto out;
	}
	pthread_join(thread, NULL);
	rc = run->error;
	if (rc == 0) {
		result->req_per_sec =
			result->seconds > 0 ? (double)result->requests / result->seconds : 0;
		result->p50_us = hist_quantile(&run->hist, 0.50) / 1e3;
		result->p90_us = hist_quantile(&run->hist, 0.90) / 1e3;
		result->p99_us = hist_quantile(&run->hist, 0.99) / 1e3;
		result->p999_us = hist_quantile(&run->hist, 0.999) / 1e3;
		result->max_us = (double)run->hist.max / 1e3;
		result->mean_us = run->hist.n ? run->hist.sum / (double)run->hist.n / 1e3 : 0;
	}
out:
	if (run->conns != NULL)
		for (unsigned i = 0; i < params->conns; i++)
			close_conn(run, &run->conns[i]);
	if (run->ep >= 0)
		close(run->ep);
	free(run->buffers);
	free(run->conns);
	free(run);
	return rc;
}
