/*
 * io.c - one-shot I/O requests carried by messages (read, write, send,
 * fsync, open, close, connect), multishot accept, TCP listening sockets, and
 * the dispatch of every I/O completion to its owner.
 *
 * Invariants: between submission and completion the kernel owns the request
 * message and its buffer; the completion goes back to the actor that asked
 * (io->owner) as the same message. Writes and sends that complete short are
 * resubmitted from where they stopped before the actor hears of them.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "reactor.h"

#define IOF_TIMEOUT 1u /* a link timeout guards this request */

struct io_uring_sqe *atoll__sqe(struct atoll_ctx *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);

	/* A full SQ is flushed to the kernel; that only fails while the CQ is
	 * overflowing, which entering the kernel (GETEVENTS) works off. */
	for (int tries = 0; sqe == NULL; tries++) {
		int err = io_uring_submit_and_get_events(&r->ring);

		sqe = io_uring_get_sqe(&r->ring);
		if (sqe == NULL && tries == 1000) {
			atoll__log_error("reactor %u: no submission queue entry after %d "
					 "submits (last: %s)",
					 r->index, tries, atoll_strerror(err));
			abort(); /* An internal invariant: the SQ always drains. */
		}
	}
	r->io_inflight++;
	ATOLL__STAT_INC(r, io_inflight);
	return sqe;
}

struct atoll_io *atoll_io_new(uint32_t type, size_t cap)
{
	size_t extra = sizeof(struct atoll_io) - sizeof(atoll_msg);
	struct atoll_io *io;

	if (cap > UINT32_MAX - extra)
		return NULL;
	io = (struct atoll_io *)atoll_msg_new(type, extra + cap);
	if (io == NULL)
		return NULL;
	io->msg.data = io + 1;
	io->msg.len = 0;
	io->msg.cap = (uint32_t)cap;
	io->msg.flags |= ATOLL_MSGF_IO;
	io->res = 0;
	io->op = ATOLL_IO_NONE;
	io->iflags = 0;
	io->fd = -1;
	io->done = 0;
	io->offset = 0;
	io->owner = ATOLL_REF_NONE;
	io->priv = NULL;
	return io;
}

/* Takes io from the running actor and prepares it for op on fd. */
static int take(atoll_ctx *ctx, struct atoll_io *io, int fd, enum atoll_io_op op)
{
	if (io == NULL)
		return -EINVAL;
	if (&io->msg == ctx->current_msg)
		ctx->current_msg = NULL; /* The kernel owns it now. */
	if (!(io->msg.flags & ATOLL_MSGF_IO) || ctx->io_stopping) {
		atoll_msg_free(&io->msg);
		return -EINVAL;
	}
	io->op = (uint16_t)op;
	io->fd = fd;
	io->res = 0;
	io->iflags = 0;
	io->owner = atoll_self(ctx);
	return 0;
}

static void submit_write(struct atoll_ctx *r, struct atoll_io *io)
{
	struct io_uring_sqe *sqe = atoll__sqe(r);
	char *p = (char *)io->msg.data + io->done;
	uint32_t n = io->msg.len - io->done;

	if (io->op == ATOLL_IO_SEND)
		io_uring_prep_send(sqe, io->fd, p, n, MSG_NOSIGNAL);
	else
		io_uring_prep_write(sqe, io->fd, p, n,
				    io->offset == ATOLL_IO_CURRENT ? (uint64_t)-1
								   : io->offset + io->done);
	io_uring_sqe_set_data64(sqe, atoll__ud(io, ATOLL__UD_IO));
}

int atoll_io_read(atoll_ctx *ctx, int fd, struct atoll_io *io, uint64_t offset)
{
	int err = take(ctx, io, fd, ATOLL_IO_READ);
	struct io_uring_sqe *sqe;

	if (err < 0)
		return err;
	io->offset = offset;
	io->msg.len = 0;
	sqe = atoll__sqe(ctx);
	io_uring_prep_read(sqe, fd, io->msg.data, io->msg.cap,
			   offset == ATOLL_IO_CURRENT ? (uint64_t)-1 : offset);
	io_uring_sqe_set_data64(sqe, atoll__ud(io, ATOLL__UD_IO));
	return 0;
}

int atoll_io_write(atoll_ctx *ctx, int fd, struct atoll_io *io, uint64_t offset)
{
	int err = take(ctx, io, fd, ATOLL_IO_WRITE);

	if (err < 0)
		return err;
	io->offset = offset;
	io->done = 0;
	submit_write(ctx, io);
	return 0;
}

int atoll_io_send(atoll_ctx *ctx, int fd, struct atoll_io *io)
{
	int err = take(ctx, io, fd, ATOLL_IO_SEND);

	if (err < 0)
		return err;
	io->done = 0;
	submit_write(ctx, io);
	return 0;
}

int atoll_io_fsync(atoll_ctx *ctx, int fd, struct atoll_io *io, bool datasync)
{
	int err = take(ctx, io, fd, ATOLL_IO_FSYNC);
	struct io_uring_sqe *sqe;

	if (err < 0)
		return err;
	sqe = atoll__sqe(ctx);
	io_uring_prep_fsync(sqe, fd, datasync ? IORING_FSYNC_DATASYNC : 0);
	io_uring_sqe_set_data64(sqe, atoll__ud(io, ATOLL__UD_IO));
	return 0;
}

int atoll_io_open(atoll_ctx *ctx, struct atoll_io *io, int flags, mode_t mode)
{
	int err = take(ctx, io, -1, ATOLL_IO_OPEN);
	struct io_uring_sqe *sqe;

	if (err < 0)
		return err;
	if (io->msg.cap == 0 || memchr(io->msg.data, '\0', io->msg.cap) == NULL) {
		atoll_msg_free(&io->msg);
		return -EINVAL; /* The path must be NUL-terminated in the buffer. */
	}
	sqe = atoll__sqe(ctx);
	io_uring_prep_openat(sqe, AT_FDCWD, io->msg.data, flags | O_CLOEXEC, mode);
	io_uring_sqe_set_data64(sqe, atoll__ud(io, ATOLL__UD_IO));
	return 0;
}

int atoll_io_rename(atoll_ctx *ctx, struct atoll_io *io)
{
	int err = take(ctx, io, -1, ATOLL_IO_RENAME);
	const char *from, *to, *end;
	struct io_uring_sqe *sqe;

	if (err < 0)
		return err;
	from = io->msg.data;
	end = from + io->msg.len;
	to = io->msg.len > 0 ? memchr(from, '\0', io->msg.len) : NULL;
	if (to == NULL || to + 1 >= end || memchr(to + 1, '\0', (size_t)(end - to - 1)) == NULL) {
		atoll_msg_free(&io->msg);
		return -EINVAL; /* Two NUL-terminated paths within msg.len. */
	}
	sqe = atoll__sqe(ctx);
	io_uring_prep_renameat(sqe, AT_FDCWD, from, AT_FDCWD, to + 1, 0);
	io_uring_sqe_set_data64(sqe, atoll__ud(io, ATOLL__UD_IO));
	return 0;
}

int atoll_io_close(atoll_ctx *ctx, int fd, struct atoll_io *io)
{
	int err = take(ctx, io, fd, ATOLL_IO_CLOSE);
	struct io_uring_sqe *sqe;

	if (err < 0)
		return err;
	sqe = atoll__sqe(ctx);
	io_uring_prep_close(sqe, fd);
	io_uring_sqe_set_data64(sqe, atoll__ud(io, ATOLL__UD_IO));
	return 0;
}

int atoll_io_shutdown(atoll_ctx *ctx, int fd, int how, struct atoll_io *io)
{
	int err = take(ctx, io, fd, ATOLL_IO_SHUTDOWN);
	struct io_uring_sqe *sqe;

	if (err < 0)
		return err;
	sqe = atoll__sqe(ctx);
	io_uring_prep_shutdown(sqe, fd, how);
	io_uring_sqe_set_data64(sqe, atoll__ud(io, ATOLL__UD_IO));
	return 0;
}

int atoll_io_connect(atoll_ctx *ctx, int fd, const struct sockaddr *addr, uint32_t addrlen,
		     struct atoll_io *io, uint64_t timeout_ns)
{
	int err = take(ctx, io, fd, ATOLL_IO_CONNECT);
	struct io_uring_sqe *sqe;

	if (err < 0)
		return err;
	if (addr == NULL || addrlen == 0 || io->msg.cap < addrlen) {
		atoll_msg_free(&io->msg);
		return -EINVAL;
	}
	memcpy(io->msg.data, addr, addrlen);
	io->msg.len = addrlen;
	sqe = atoll__sqe(ctx);
	io_uring_prep_connect(sqe, fd, io->msg.data, addrlen);
	io_uring_sqe_set_data64(sqe, atoll__ud(io, ATOLL__UD_IO));
	if (timeout_ns != 0) {
		struct __kernel_timespec ts = {
			.tv_sec = (long long)(timeout_ns / 1000000000u),
			.tv_nsec = (long long)(timeout_ns % 1000000000u),
		};

		io->iflags |= IOF_TIMEOUT;
		sqe->flags |= IOSQE_IO_LINK;
		sqe = atoll__sqe(ctx);
		io_uring_prep_link_timeout(sqe, &ts, 0);
		io_uring_sqe_set_data64(sqe, ATOLL__TAG_IGNORE);
		/* The kernel reads ts at submission: submit while it lives. */
		io_uring_submit(&ctx->ring);
	}
	return 0;
}

/* --- accept -------------------------------------------------------------- */

static void arm_accept(struct atoll_ctx *r, struct atoll__acceptor *a)
{
	struct io_uring_sqe *sqe = atoll__sqe(r);

	io_uring_prep_multishot_accept(sqe, a->fd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, atoll__ud(a, ATOLL__UD_ACCEPT));
	a->armed = true;
}

int atoll_io_accept_start(atoll_ctx *ctx, int fd, uint32_t type)
{
	struct atoll__acceptor *a;

	if (fd < 0 || ctx->current == NULL)
		return -EINVAL;
	a = atoll__zalloc(sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	a->owner = atoll_self(ctx);
	a->fd = fd;
	a->type = type;
	a->next = ctx->acceptors;
	ctx->acceptors = a;
	arm_accept(ctx, a);
	return 0;
}

static void accept_cqe(struct atoll_ctx *r, struct atoll__acceptor *a, struct io_uring_cqe *cqe)
{
	bool more = cqe->flags & IORING_CQE_F_MORE;
	struct atoll_io *io;

	if (!more)
		a->armed = false;
	if (!r->io_stopping && atoll__table_get(&r->table, a->owner) == NULL) {
		/* The owner has stopped: refuse the connection, end the
		 * accept. The owner ran on this reactor, so this is exact. */
		if (cqe->res >= 0)
			close(cqe->res);
		if (more) {
			struct io_uring_sqe *sqe = atoll__sqe(r);
			io_uring_prep_cancel64(sqe, atoll__ud(a, ATOLL__UD_ACCEPT), 0);
			io_uring_sqe_set_data64(sqe, ATOLL__TAG_IGNORE);
		}
		return;
	}
	if (cqe->res >= 0 && r->io_stopping) {
		close(cqe->res); /* Nobody left to own it. */
	} else if (cqe->res >= 0 || (cqe->res != -ECANCELED && !r->io_stopping)) {
		io = atoll_io_new(a->type, 0);
		if (io == NULL) {
			if (cqe->res >= 0)
				close(cqe->res); /* Refused: out of memory. */
		} else {
			io->op = ATOLL_IO_ACCEPT;
			io->fd = a->fd;
			io->res = cqe->res;
			io->owner = a->owner;
			(void)atoll__send_system(r, a->owner, &io->msg);
		}
	}
	/* The kernel ends a multishot accept on errors and some resource
	 * limits: start it again unless the listener is gone or stopping.
	 * EMFILE/ENFILE are reported to the owner and not retried at once,
	 * which would spin; the owner may call atoll_io_accept_start again. */
	if (!more && !r->io_stopping && cqe->res != -ECANCELED && cqe->res != -EBADF &&
	    cqe->res != -EINVAL && cqe->res != -EMFILE && cqe->res != -ENFILE &&
	    cqe->res != -ENOTSOCK)
		arm_accept(r, a);
}

/* --- TCP sockets ------------------------------------------------------- */

int atoll_tcp_listen(const char *host, uint16_t port, int backlog, bool reuseport)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (host == NULL)
		host = "127.0.0.1";
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
		len = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
		len = sizeof(struct sockaddr_in6);
	} else {
		return -EINVAL;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    listen(fd, backlog > 0 ? backlog : SOMAXCONN) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int atoll_tcp_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -EAFNOSUPPORT;
}

/* --- completions ------------------------------------------------------- */

static void io_cqe(struct atoll_ctx *r, struct atoll_io *io, struct io_uring_cqe *cqe)
{
	int res = cqe->res;

	if (r->io_stopping) {
		if (io->op == ATOLL_IO_OPEN && res >= 0)
			close(res);
		atoll_msg_free(&io->msg);
		return;
	}
	switch (io->op) {
	case ATOLL_IO_WRITE:
	case ATOLL_IO_SEND:
		if (res > 0) {
			io->done += (uint32_t)res;
			if (io->done < io->msg.len) {
				submit_write(r, io); /* Short: carry on. */
				return;
			}
			res = (int)io->msg.len;
		} else if (res == 0 && io->done < io->msg.len) {
			res = -EIO; /* No progress and no error: do not spin. */
		}
		break;
	case ATOLL_IO_READ:
		io->msg.len = res > 0 ? (uint32_t)res : 0;
		break;
	case ATOLL_IO_CONNECT:
		if (res == -ECANCELED && (io->iflags & IOF_TIMEOUT))
			res = -ETIMEDOUT;
		break;
	default:
		break;
	}
	io->res = res;
	(void)atoll__send_system(r, io->owner, &io->msg);
}

void atoll__io_cqe(struct atoll_ctx *r, struct io_uring_cqe *cqe)
{
	void *p = (void *)(uintptr_t)(cqe->user_data & ~(uint64_t)ATOLL__UD_KIND_MASK);
	enum atoll__ud_kind kind = (enum atoll__ud_kind)(cqe->user_data & ATOLL__UD_KIND_MASK);

	if (!(cqe->flags & IORING_CQE_F_MORE)) {
		r->io_inflight--;
		ATOLL__STAT_ADD(r, io_inflight, (uint64_t)-1);
	}
	switch (kind) {
	case ATOLL__UD_IO:
		io_cqe(r, p, cqe);
		break;
	case ATOLL__UD_RECV:
	case ATOLL__UD_SEND:
	case ATOLL__UD_SOTHER:
		atoll__stream_cqe(r, p, kind, cqe);
		break;
	case ATOLL__UD_ACCEPT:
		accept_cqe(r, p, cqe);
		break;
	default:
		atoll__log_error("reactor %u: completion with unknown kind %d", r->index, kind);
		break;
	}
}

/* Reaps until the kernel has returned everything, or a second has passed. */
static void reap_all(struct atoll_ctx *r)
{
	struct __kernel_timespec ts = { .tv_sec = 1, .tv_nsec = 0 };
	struct io_uring_cqe *cqe;

	while (r->io_inflight > 0) {
		int err = io_uring_submit_and_wait_timeout(&r->ring, &cqe, 1, &ts, NULL);

		if (err == -ETIME) {
			atoll__log_warn("reactor %u: %llu I/O requests did not complete at stop",
					r->index, (unsigned long long)r->io_inflight);
			return;
		}
		if (err < 0 && err != -EINTR)
			return;
		atoll__reactor_reap(r);
	}
}

void atoll__io_shutdown(struct atoll_ctx *r)
{
	struct io_uring_sqe *sqe;

	if (!r->uring_ok)
		return;
	r->io_stopping = true;
	/* Streams close their sockets; whatever is still in flight (timers,
	 * reads, accepts, doorbell reads) is cancelled in one request. */
	atoll__streams_shutdown(r);
	sqe = atoll__sqe(r);
	io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
	io_uring_sqe_set_data64(sqe, ATOLL__TAG_IGNORE);
	reap_all(r);
	while (r->acceptors != NULL) {
		struct atoll__acceptor *a = r->acceptors;
		r->acceptors = a->next;
		atoll__free(a);
	}
	atoll__streams_shutdown(r); /* Frees the streams whose I/O just ended. */
}
