/*
 * net_harness.h - what the tests of the network actor types share: a group
 * of actors started as a topology would start it (every ref reserved first,
 * parameters checked with atoll_params_finish, one member per reactor), a
 * free loopback port, and blocking line-oriented clients with timeouts.
 * Include after helpers.h.
 */
#ifndef ATOLL_TEST_NET_HARNESS_H
#define ATOLL_TEST_NET_HARNESS_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define GROUP_MAX 16

struct group {
	unsigned n;
	atoll_ref refs[GROUP_MAX];
	struct atoll_params *params[GROUP_MAX];
};

/*
 * Starts n actors of info's type as group `name`, member i on reactor
 * i % reactors, each with the parameters kv ("name", "value", ..., NULL)
 * and, when link is not NULL, LINK parameter link set to the refs of `to`.
 * Fails the test when a parameter is refused. Free with group_free after
 * the runtime is destroyed.
 */
static inline void group_start(atoll_runtime *rt, struct group *g,
			       const struct atoll_type_info *info, const char *name, unsigned n,
			       const char *const *kv, const char *link, const struct group *to)
{
	struct atoll_pending *pending[GROUP_MAX];
	unsigned reactors = atoll_runtime_reactors(rt);
	char err[256];

	assert_true(n <= GROUP_MAX);
	memset(g, 0, sizeof(*g));
	g->n = n;
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(atoll_runtime_prepare(rt, info->type, (int)(i % reactors),
						       &g->refs[i], &pending[i]),
				 0);
	for (unsigned i = 0; i < n; i++) {
		struct atoll_params *p = atoll_params_new(info);

		assert_non_null(p);
		for (size_t k = 0; kv != NULL && kv[k] != NULL; k += 2)
			if (atoll_params_set(p, kv[k], kv[k + 1], err, sizeof(err)) < 0)
				fail_msg("%s: %s", kv[k], err);
		if (link != NULL)
			assert_int_equal(atoll_params_set_link(p, link, to->refs, to->n), 0);
		assert_int_equal(atoll_params_set_group(p, name, g->refs, n, i), 0);
		if (atoll_params_finish(p, err, sizeof(err)) < 0)
			fail_msg("%s: %s", name, err);
		g->params[i] = p;
	}
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(atoll_runtime_launch(rt, pending[i], g->params[i]), 0);
}

static inline void group_free(struct group *g)
{
	for (unsigned i = 0; i < g->n; i++)
		atoll_params_free(g->params[i]);
	g->n = 0;
}

/* The result of atoll_params_finish for info with parameters kv, and its
 * message in err. */
static inline int params_check(const struct atoll_type_info *info, const char *const *kv, char *err,
			       size_t errlen)
{
	struct atoll_params *p = atoll_params_new(info);
	int rc = 0;

	assert_non_null(p);
	for (size_t k = 0; kv[k] != NULL && rc == 0; k += 2)
		rc = atoll_params_set(p, kv[k], kv[k + 1], err, errlen);
	if (rc == 0)
		rc = atoll_params_finish(p, err, errlen);
	atoll_params_free(p);
	return rc;
}

/* A port nobody listens on right now (bind to 0, read it, close). */
static inline uint16_t free_port(void)
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

/* Waits until every reactor of rt runs at least `alive` actors (e.g. its
 * server and listener), failing after WAIT_LIMIT_NS. */
static inline void wait_actors_alive(atoll_runtime *rt, uint64_t alive)
{
	uint64_t deadline = test_now_ns() + WAIT_LIMIT_NS;

	for (unsigned core = 0; core < atoll_runtime_reactors(rt); core++) {
		while (read_stats(rt, core).actors_alive < alive) {
			if (test_now_ns() > deadline)
				fail_msg("reactor %u: fewer than %llu actors alive", core,
					 (unsigned long long)alive);
			poll_pause();
		}
	}
}

/* A client: a socket with 10 s timeouts and what it has read. */
struct client {
	int fd;
	size_t len;
	char buf[65536];
};

/* Connects c to 127.0.0.1:port, retrying for up to WAIT_LIMIT_NS. */
static inline void client_dial(struct client *c, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 10 };
	uint64_t deadline = test_now_ns() + WAIT_LIMIT_NS;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->len = 0;
	for (;;) {
		c->fd = socket(AF_INET, SOCK_STREAM, 0);
		assert_true(c->fd >= 0);
		setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return;
		close(c->fd);
		if (test_now_ns() > deadline)
			fail_msg("cannot connect to port %u", port);
		poll_pause();
	}
}

static inline void client_send(struct client *c, const void *p, size_t n)
{
	const char *b = p;

	while (n > 0) {
		ssize_t w = send(c->fd, b, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		assert_true(w > 0);
		b += w;
		n -= (size_t)w;
	}
}

static inline void client_say(struct client *c, const char *text)
{
	client_send(c, text, strlen(text));
}

/*
 * Reads the next line (without its "\n") into line (NUL-terminated).
 * Returns its length, or -1 at end of stream (or an error, or a timeout).
 */
static inline ssize_t client_line(struct client *c, char *line, size_t cap)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);

		if (nl != NULL) {
			size_t n = (size_t)(nl - c->buf);

			assert_true(n < cap);
			memcpy(line, c->buf, n);
			line[n] = '\0';
			memmove(c->buf, nl + 1, c->len - n - 1);
			c->len -= n + 1;
			return (ssize_t)n;
		}
		assert_true(c->len < sizeof(c->buf));
		ssize_t r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c->len += (size_t)r;
	}
}

/* Reads the next line and checks it is want. */
static inline void client_expect(struct client *c, const char *want)
{
	char line[4096];

	if (client_line(c, line, sizeof(line)) < 0)
		fail_msg("expected '%s', got the end of the stream (%s)", want, strerror(errno));
	assert_string_equal(line, want);
}

static inline void client_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

#endif /* ATOLL_TEST_NET_HARNESS_H */
