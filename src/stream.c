/*
 * stream.c - a connected socket owned by one actor: a multishot receive into
 * the reactor's buffer ring, and an ordered queue of sends.
 *
 * Invariants: at most one send is in flight, always the head of the queue,
 * so bytes leave in the order they were queued; the kernel owns the head
 * message from its submission to its last CQE; a stream is freed only when
 * it is closing and nothing of it is in flight (inflight == 0 and the fd
 * closed), so no CQE can arrive for freed memory.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "reactor.h"

struct atoll_stream {
	struct atoll_stream *next, *prev; /* the reactor's list of streams */
	struct atoll_stream *starved_next;
	atoll_ref owner;
	int fd;
	uint32_t recv_type;
	atoll_msg *send_head, *send_tail;
	size_t pending;           /* bytes queued and not yet sent */
	unsigned inflight;        /* our SQEs the kernel has not finished */
	struct atoll_io *recv_io; /* single-shot mode: the buffer the kernel fills */
	bool recv_armed;
	bool sending;
	bool starved; /* waiting for a ring buffer */
	bool ended;   /* the owner was told the stream ended */
	bool closing; /* atoll_stream_close or _finish was called */
	bool flush;   /* closing, but queued sends go out first */
	bool fd_closed;
};

int atoll_stream_fd(const atoll_stream *s)
{
	return s->fd;
}

size_t atoll_stream_pending(const atoll_stream *s)
{
	return s->pending;
}

struct atoll_stream *atoll__stream_starved_next(const struct atoll_stream *s)
{
	return s->starved_next;
}

static void count_sqe(struct atoll_stream *s)
{
	s->inflight++;
}

void atoll__stream_arm_recv(struct atoll_ctx *r, struct atoll_stream *s)
{
	struct io_uring_sqe *sqe;

	s->starved = false;
	if (s->recv_armed || s->closing || s->ended || r->io_stopping)
		return;
	if (!r->bufring.ok || r->recv_single) {
		/* No provided-buffer ring or no multishot receive (old
		 * kernel, or config): one receive at a time into a buffer the
		 * message owns. */
		s->recv_io = atoll_io_new(s->recv_type, r->rt->cfg.recv_buffer_size);
		if (s->recv_io == NULL) {
			atoll__log_error("stream %d: out of memory for a receive buffer", s->fd);
			return;
		}
		sqe = atoll__sqe(r);
		io_uring_prep_recv(sqe, s->fd, s->recv_io->msg.data, s->recv_io->msg.cap, 0);
	} else {
		sqe = atoll__sqe(r);
		io_uring_prep_recv_multishot(sqe, s->fd, NULL, 0, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = ATOLL__BGID;
	}
	io_uring_sqe_set_data64(sqe, atoll__ud(s, ATOLL__UD_RECV));
	count_sqe(s);
	s->recv_armed = true;
}

int atoll_stream_open(atoll_ctx *ctx, int fd, uint32_t recv_type, atoll_stream **out)
{
	atoll_stream *s;

	if (fd < 0 || out == NULL || ctx->current == NULL)
		return -EINVAL;
	s = atoll__zalloc(sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->owner = atoll_self(ctx);
	s->fd = fd;
	s->recv_type = recv_type;
	s->next = ctx->streams;
	if (ctx->streams != NULL)
		ctx->streams->prev = s;
	ctx->streams = s;
	atoll__stream_arm_recv(ctx, s);
	*out = s;
	return 0;
}

/* Tells the owner, once, that the stream ended with res (0 or -errno). */
static void report_end(struct atoll_ctx *r, struct atoll_stream *s, int res, enum atoll_io_op op)
{
	struct atoll_io *io;

	if (s->ended || s->closing || r->io_stopping)
		return;
	s->ended = true;
	io = atoll_io_new(s->recv_type, 0);
	if (io == NULL)
		return;
	io->op = (uint16_t)op;
	io->fd = s->fd;
	io->res = res;
	io->owner = s->owner;
	(void)atoll__send_system(r, s->owner, &io->msg);
}

static void submit_send(struct atoll_ctx *r, struct atoll_stream *s)
{
	atoll_msg *m = s->send_head;
	struct io_uring_sqe *sqe = atoll__sqe(r);
	/* The head's progress lives in the stream: `pending` counts from the
	 * whole queue, so the head's sent bytes are its len minus what is
	 * left of it, kept in m->corr while it is ours. */
	uint32_t sent = (uint32_t)m->corr;

	io_uring_prep_send(sqe, s->fd, (char *)m->data + sent, m->len - sent, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, atoll__ud(s, ATOLL__UD_SEND));
	count_sqe(s);
	s->sending = true;
}

static void drop_queue(struct atoll_stream *s, bool keep_head)
{
	atoll_msg *m = s->send_head;

	if (keep_head && m != NULL) {
		/* In flight: the kernel still reads its buffer. */
		s->send_tail = m;
		m = m->next;
		s->send_head->next = NULL;
	} else {
		s->send_head = s->send_tail = NULL;
	}
	while (m != NULL) {
		atoll_msg *next = m->next;
		atoll_msg_free(m);
		m = next;
	}
	s->pending = 0;
}

int atoll_stream_send(atoll_ctx *ctx, atoll_stream *s, atoll_msg *msg)
{
	if (msg == NULL)
		return -EINVAL;
	if (msg == ctx->current_msg)
		ctx->current_msg = NULL; /* The stream owns it now. */
	if (s == NULL || s->closing || s->fd_closed || ctx->io_stopping) {
		atoll_msg_free(msg);
		return -EPIPE;
	}
	if (msg->len == 0) {
		atoll_msg_free(msg);
		return 0;
	}
	/* While queued, corr holds the bytes of this message already sent. */
	msg->corr = 0;
	msg->next = NULL;
	if (s->send_tail != NULL)
		s->send_tail->next = msg;
	else
		s->send_head = msg;
	s->send_tail = msg;
	s->pending += msg->len;
	if (!s->sending)
		submit_send(ctx, s);
	return 0;
}

static void free_stream(struct atoll_ctx *r, struct atoll_stream *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		r->streams = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	drop_queue(s, false);
	atoll__free(s);
}

/* Closing and idle: close the fd through io_uring, then free. */
static void maybe_finish(struct atoll_ctx *r, struct atoll_stream *s)
{
	struct io_uring_sqe *sqe;

	if (!s->closing || s->inflight != 0)
		return;
	if (!s->fd_closed) {
		s->fd_closed = true;
		if (r->io_stopping) {
			close(s->fd);
		} else {
			sqe = atoll__sqe(r);
			io_uring_prep_close(sqe, s->fd);
			io_uring_sqe_set_data64(sqe, atoll__ud(s, ATOLL__UD_SOTHER));
			count_sqe(s);
			return;
		}
	}
	free_stream(r, s);
}

static void cancel(struct atoll_ctx *r, struct atoll_stream *s, enum atoll__ud_kind kind)
{
	struct io_uring_sqe *sqe = atoll__sqe(r);

	io_uring_prep_cancel64(sqe, atoll__ud(s, kind), 0);
	io_uring_sqe_set_data64(sqe, atoll__ud(s, ATOLL__UD_SOTHER));
	count_sqe(s);
}

static void close_stream(atoll_ctx *ctx, atoll_stream *s, bool flush)
{
	if (s == NULL || s->closing)
		return;
	s->closing = true;
	s->flush = flush;
	if (!flush)
		drop_queue(s, s->sending);
	if (s->recv_armed)
		cancel(ctx, s, ATOLL__UD_RECV);
	if (s->sending && !flush)
		cancel(ctx, s, ATOLL__UD_SEND);
	if (s->starved) {
		/* Unlink from the starved list. */
		struct atoll_stream **pp = &ctx->bufring.starved;
		while (*pp != NULL && *pp != s)
			pp = &(*pp)->starved_next;
		if (*pp == s)
			*pp = s->starved_next;
		s->starved = false;
	}
	maybe_finish(ctx, s);
}

void atoll_stream_close(atoll_ctx *ctx, atoll_stream *s)
{
	close_stream(ctx, s, false);
}

void atoll_stream_finish(atoll_ctx *ctx, atoll_stream *s)
{
	close_stream(ctx, s, true);
}

/* A single-shot receive completed (no provided-buffer ring). */
static void recv_single_cqe(struct atoll_ctx *r, struct atoll_stream *s, int res)
{
	struct atoll_io *io = s->recv_io;

	s->recv_io = NULL;
	s->inflight--;
	s->recv_armed = false;
	if (res > 0 && !s->closing && !s->ended && !r->io_stopping) {
		io->op = ATOLL_IO_RECV;
		io->fd = s->fd;
		io->res = res;
		io->owner = s->owner;
		io->msg.len = (uint32_t)res;
		(void)atoll__send_system(r, s->owner, &io->msg);
		atoll__stream_arm_recv(r, s);
	} else {
		atoll_msg_free(&io->msg);
		if (res <= 0 && res != -ECANCELED)
			report_end(r, s, res, ATOLL_IO_RECV);
	}
	maybe_finish(r, s);
}

static void recv_cqe(struct atoll_ctx *r, struct atoll_stream *s, struct io_uring_cqe *cqe)
{
	bool more = cqe->flags & IORING_CQE_F_MORE;
	int res = cqe->res;

	if (s->recv_io != NULL) {
		recv_single_cqe(r, s, res);
		return;
	}
	if (cqe->flags & IORING_CQE_F_BUFFER) {
		uint16_t bid = (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
		struct atoll_io *io;

		ATOLL__STAT_INC(r, bufs_out);
		r->bufring.lent++;
		io = (s->closing || s->ended || r->io_stopping) ? NULL
								: atoll_io_new(s->recv_type, 0);
		if (io == NULL) {
			atoll__bufring_put(r, bid); /* Dropped, or out of memory. */
		} else {
			io->op = ATOLL_IO_RECV;
			io->fd = s->fd;
			io->res = res;
			io->owner = s->owner;
			io->offset = bid;
			io->priv = r;
			atoll_msg_attach(&io->msg, r->bufring.bufs + (size_t)bid * r->bufring.size,
					 res > 0 ? (uint32_t)res : 0, r->bufring.size,
					 atoll__bufring_release);
			(void)atoll__send_system(r, s->owner, &io->msg);
		}
	}
	if (more)
		return;
	s->inflight--;
	s->recv_armed = false;
	if (res == -EINVAL && !r->recv_single && !s->closing && !r->io_stopping) {
		/* Kernels before 6.0 have buffer rings but reject multishot
		 * receive: fall back to single-shot for this reactor. */
		atoll__log_warn("reactor %u: multishot receive refused (%s): falling back to "
				"single-shot receives",
				r->index, atoll_strerror(res));
		r->recv_single = true;
		atoll__stream_arm_recv(r, s);
	} else if (res == -ENOBUFS && !s->closing && !r->io_stopping) {
		/* The ring ran dry: wait for a buffer to come back. */
		ATOLL__STAT_INC(r, enobufs);
		if (!s->starved) {
			s->starved = true;
			s->starved_next = r->bufring.starved;
			r->bufring.starved = s;
		}
	} else if (res > 0) {
		atoll__stream_arm_recv(r, s); /* Ended without error: go on. */
	} else if (res != -ECANCELED) {
		report_end(r, s, res, ATOLL_IO_RECV); /* 0: the peer closed. */
	}
	maybe_finish(r, s);
}

static void send_cqe(struct atoll_ctx *r, struct atoll_stream *s, struct io_uring_cqe *cqe)
{
	atoll_msg *m = s->send_head;
	int res = cqe->res;

	s->inflight--;
	s->sending = false;
	if (res > 0 && (!s->closing || s->flush) && !r->io_stopping) {
		m->corr += (uint64_t)res;
		s->pending -= (size_t)res;
		if (m->corr < m->len) {
			submit_send(r, s); /* Short send: the rest, same message. */
			return;
		}
		s->send_head = m->next;
		if (s->send_head == NULL)
			s->send_tail = NULL;
		atoll_msg_free(m); /* Sent: a received buffer goes home now. */
		if (s->send_head != NULL)
			submit_send(r, s);
		else
			maybe_finish(r, s); /* atoll_stream_finish: all sent. */
		return;
	}
	/* Closing, or the send failed (EPIPE, ECONNRESET, ...): the queue is
	 * dropped with the message the kernel just gave back. */
	drop_queue(s, false);
	if (res <= 0 && res != -ECANCELED)
		report_end(r, s, res == 0 ? -EPIPE : res, ATOLL_IO_SEND);
	maybe_finish(r, s);
}

void atoll__stream_cqe(struct atoll_ctx *r, struct atoll_stream *s, enum atoll__ud_kind kind,
		       struct io_uring_cqe *cqe)
{
	switch (kind) {
	case ATOLL__UD_RECV:
		recv_cqe(r, s, cqe);
		break;
	case ATOLL__UD_SEND:
		send_cqe(r, s, cqe);
		break;
	default: /* A cancel or the close finished. */
		s->inflight--;
		maybe_finish(r, s);
		break;
	}
}

void atoll__streams_shutdown(struct atoll_ctx *r)
{
	atoll_stream *s = r->streams;

	r->bufring.starved = NULL;
	while (s != NULL) {
		atoll_stream *next = s->next;

		s->starved = false;
		if (!s->closing) {
			s->closing = true;
			drop_queue(s, s->sending);
		} else if (s->flush) {
			s->flush = false; /* Stopping: nothing more goes out. */
			drop_queue(s, s->sending);
		}
		/* In flight: the cancel-all sweep brings it back. */
		if (s->inflight == 0)
			maybe_finish(r, s);
		s = next;
	}
}
