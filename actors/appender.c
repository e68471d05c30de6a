/*
 * appender.c - ordered, batched appends through io_uring: one write in
 * flight, the next buffer filling, full ones queued in order.
 *
 * Invariants: bytes go out in append order because only one write is ever
 * in flight and buffers leave the queue oldest first; each buffer has one
 * owner: the appender (cur, queue, spare) or the kernel (the one in flight).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "appender.h"

#define DEFAULT_BUF (64u * 1024u)

void atoll_appender_init(struct atoll_appender *a, uint32_t write_type, size_t buf_size)
{
	memset(a, 0, sizeof(*a));
	a->fd = -1;
	a->write_type = write_type;
	a->buf_size = buf_size ? buf_size : DEFAULT_BUF;
}

static int enqueue(struct atoll_appender *a, struct atoll_io *io)
{
	if (a->qlen == a->qcap) {
		size_t cap = a->qcap ? a->qcap * 2 : 8;
		struct atoll_io **q = malloc(cap * sizeof(*q));

		if (q == NULL)
			return -ENOMEM;
		for (size_t i = 0; i < a->qlen; i++)
			q[i] = a->queue[(a->qhead + i) % a->qcap];
		free(a->queue);
		a->queue = q;
		a->qcap = cap;
		a->qhead = 0;
	}
	a->queue[(a->qhead + a->qlen) % a->qcap] = io;
	a->qlen++;
	return 0;
}

/* Starts the next write when none is in flight: the oldest queued buffer,
 * else the one being filled. */
static void kick(atoll_ctx *ctx, struct atoll_appender *a)
{
	struct atoll_io *io;
	int rc;

	if (a->inflight || a->fd < 0)
		return;
	if (a->qlen > 0) {
		io = a->queue[a->qhead];
		a->qhead = (a->qhead + 1) % a->qcap;
		a->qlen--;
	} else if (a->cur != NULL && a->cur->msg.len > 0) {
		io = a->cur;
		a->cur = NULL;
	} else {
		return;
	}
	rc = atoll_io_write(ctx, a->fd, io, ATOLL_IO_CURRENT);
	if (rc < 0) {
		if (a->error == 0)
			a->error = rc;
		return; /* io was freed by atoll_io_write */
	}
	a->inflight = true;
}

/* A buffer with room for at least need bytes, in append order. */
static struct atoll_io *room(struct atoll_appender *a, size_t need)
{
	struct atoll_io *io;

	if (a->cur != NULL && a->cur->msg.cap - a->cur->msg.len >= need)
		return a->cur;
	if (a->cur != NULL) {
		if (enqueue(a, a->cur) < 0)
			return NULL;
		a->cur = NULL;
	}
	if (a->spare != NULL && a->spare->msg.cap >= need) {
		io = a->spare;
		a->spare = NULL;
		io->msg.len = 0;
	} else {
		io = atoll_io_new(a->write_type, need > a->buf_size ? need : a->buf_size);
		if (io == NULL)
			return NULL;
	}
	a->cur = io;
	return io;
}

int atoll_appender_append(atoll_ctx *ctx, struct atoll_appender *a, const void *data, size_t len,
			  bool newline)
{
	size_t need = len + (newline ? 1 : 0);
	struct atoll_io *io;
	char *p;

	if (a->error != 0)
		return a->error;
	if (need > UINT32_MAX / 2)
		return -ENOMEM;
	io = room(a, need);
	if (io == NULL)
		return -ENOMEM;
	p = (char *)io->msg.data + io->msg.len;
	memcpy(p, data, len);
	if (newline)
		p[len] = '\n';
	io->msg.len += (uint32_t)need;
	kick(ctx, a);
	return 0;
}

void atoll_appender_set_fd(atoll_ctx *ctx, struct atoll_appender *a, int fd)
{
	a->fd = fd;
	kick(ctx, a);
}

int atoll_appender_complete(atoll_ctx *ctx, struct atoll_appender *a, struct atoll_io *io)
{
	int res = io->res;

	atoll_msg_keep(ctx, &io->msg);
	a->inflight = false;
	if (res < 0) {
		if (a->error == 0)
			a->error = res;
		a->bytes += io->done;
	} else {
		a->bytes += (uint64_t)res;
	}
	if (a->spare == NULL && io->msg.cap == a->buf_size)
		a->spare = io;
	else
		atoll_msg_free(&io->msg);
	if (a->error == 0)
		kick(ctx, a);
	return res;
}

bool atoll_appender_idle(const struct atoll_appender *a)
{
	return !a->inflight && a->qlen == 0 && (a->cur == NULL || a->cur->msg.len == 0);
}

void atoll_appender_free(struct atoll_appender *a)
{
	for (size_t i = 0; i < a->qlen; i++)
		atoll_msg_free(&a->queue[(a->qhead + i) % a->qcap]->msg);
	free(a->queue);
	if (a->cur != NULL)
		atoll_msg_free(&a->cur->msg);
	if (a->spare != NULL)
		atoll_msg_free(&a->spare->msg);
	memset(a, 0, sizeof(*a));
	a->fd = -1;
}
