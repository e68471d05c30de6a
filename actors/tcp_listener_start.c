/*
 * tcp_listener_start.c - starting one TCP listener per reactor from a thread
 * outside the runtime, and checking first that no other process holds the
 * port (tcp_listener.h).
 *
 * A small starter actor on each reactor spawns the listener there, asks it
 * for its port and posts a semaphore; the calling thread waits for each in
 * turn, reactor 0 first, so that with port 0 the others join the port the
 * kernel chose. The block the two share is reference-counted, so a starter
 * that answers after the caller gave up still writes to live memory.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tcp_listener.h"

struct start_block {
	/* Two owners, the caller and the starter; the last to drop frees.
	 * acq_rel: the starter's writes to err and port happen before its
	 * drop, and the freeing side sees them. */
	_Atomic int refs;
	struct atoll_tcp_listener_args args;
	sem_t done;
	int err;
	uint16_t port;
};

static void block_drop(struct start_block *b)
{
	if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1) {
		sem_destroy(&b->done);
		free(b);
	}
}

struct starter {
	struct start_block *block;
	bool done;
};

static void starter_finish(atoll_ctx *ctx, struct starter *self, int err, uint16_t port)
{
	struct start_block *b = self->block;

	if (self->done)
		return;
	self->done = true;
	b->err = err;
	b->port = port;
	/* sem_post orders the two writes before the caller's sem_wait. */
	sem_post(&b->done);
	block_drop(b);
	(void)atoll_stop(ctx, atoll_self(ctx));
}

static int starter_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct starter *self = state;
	atoll_ref listener;
	atoll_msg *ask;
	int err;

	self->block = (struct start_block *)(uintptr_t)arg;
	err = atoll_spawn(ctx, &atoll_tcp_listener_type, &self->block->args, ATOLL_HERE, &listener);
	if (err == 0) {
		ask = atoll_msg_new(ATOLL_TCP_LISTENER_INFO, 0);
		err = ask != NULL ? atoll_ask(ctx, listener, ask, NULL) : -ENOMEM;
	}
	if (err < 0)
		starter_finish(ctx, self, err, 0);
	return 0;
}

static void starter_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct atoll_tcp_listener_info info;

	if (msg->type != ATOLL_TCP_LISTENER_INFO_REPLY || msg->len < sizeof(info))
		return;
	memcpy(&info, msg->data, sizeof(info));
	starter_finish(ctx, state, 0, info.port);
}

static void starter_stop(atoll_ctx *ctx, void *state)
{
	/* Stopped before its listener answered (the runtime is stopping). */
	starter_finish(ctx, state, -ECANCELED, 0);
}

static const struct atoll_actor_type starter_type = {
	.name = "tcp_listener_starter",
	.state_size = sizeof(struct starter),
	.init = starter_init,
	.receive = starter_receive,
	.stop = starter_stop,
};

/* Starts the listener of one reactor and waits for it. */
static int start_one(atoll_runtime *rt, unsigned core, const struct atoll_tcp_listener_args *args,
		     unsigned timeout_ms, uint16_t *port)
{
	struct start_block *b = calloc(1, sizeof(*b));
	struct timespec deadline;
	int err;

	if (b == NULL)
		return -ENOMEM;
	b->args = *args;
	atomic_init(&b->refs, 2);
	sem_init(&b->done, 0, 0);
	err = atoll_runtime_spawn(rt, &starter_type, b, (int)core, NULL);
	if (err < 0) {
		atomic_store_explicit(&b->refs, 1, memory_order_relaxed);
		block_drop(b);
		return err;
	}
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	/* In slices, so that a runtime stopped meanwhile (whose starter may
	 * never run) is noticed at once instead of at the deadline. */
	for (;;) {
		struct timespec slice;

		clock_gettime(CLOCK_REALTIME, &slice);
		slice.tv_nsec += 50000000L;
		if (slice.tv_nsec >= 1000000000L) {
			slice.tv_sec++;
			slice.tv_nsec -= 1000000000L;
		}
		if (slice.tv_sec > deadline.tv_sec ||
		    (slice.tv_sec == deadline.tv_sec && slice.tv_nsec > deadline.tv_nsec))
			slice = deadline;
		err = sem_timedwait(&b->done, &slice);
		if (err == 0 || (errno != EINTR && errno != ETIMEDOUT))
			break;
		if (errno == ETIMEDOUT && slice.tv_sec == deadline.tv_sec &&
		    slice.tv_nsec == deadline.tv_nsec)
			break;
		if (atoll_runtime_stopping(rt)) {
			errno = ECANCELED;
			err = -1;
			break;
		}
	}
	if (err < 0 && errno == ECANCELED) {
		/* The runtime is stopping: a starter whose spawn it dropped never
		 * runs, not even its stop hook, and would never drop its ref.
		 * Once the reactor threads have exited nothing else can touch
		 * the block: drop that ref here unless the starter posted. */
		atoll_runtime_wait(rt);
		if (sem_trywait(&b->done) < 0)
			block_drop(b);
		err = -ECANCELED;
	} else if (err < 0) {
		err = -errno; /* -ETIMEDOUT: the starter drops its own ref later */
	} else {
		err = b->err;
		*port = b->port;
	}
	block_drop(b);
	return err;
}

int atoll_tcp_listener_start_all(atoll_runtime *rt, const struct atoll_tcp_listener_args *args,
				 unsigned timeout_ms, uint16_t *port, unsigned *failed_core)
{
	struct atoll_tcp_listener_args each = *args;
	unsigned n = atoll_runtime_reactors(rt);

	for (unsigned core = 0; core < n; core++) {
		uint16_t got = 0;
		int err = start_one(rt, core, &each, timeout_ms ? timeout_ms : 10000, &got);

		if (err < 0) {
			if (failed_core != NULL)
				*failed_core = core;
			return err;
		}
		each.port = got;
	}
	if (port != NULL)
		*port = each.port;
	return 0;
}

int atoll_tcp_port_free(const char *host, uint16_t port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, one = 1, err = 0;

	if (host == NULL)
		host = "127.0.0.1";
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		len = sizeof(*in6);
	} else {
		return -EINVAL;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* SO_REUSEADDR, as the listeners set it: connections of an earlier
	 * run in TIME_WAIT do not count as the port being in use. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0)
		err = -errno;
	close(fd);
	return err;
}
