/*
 * atoll/io.h - socket and file I/O through the reactor's io_uring, with
 * message-owned buffers (the "rent" model).
 *
 * Every request is a message, struct atoll_io. The actor fills its buffer and
 * hands the message to one of the functions below; from then on the kernel
 * owns the buffer, and the actor must not touch the message. When the request
 * completes, the same message comes back to the actor's mailbox, with its
 * msg.type unchanged and res set to the result. So an actor tells its
 * completions apart by the types it chose when it submitted them.
 *
 * Receives use the reactor's provided-buffer ring: each completion of a
 * multishot receive is a new atoll_io message whose buffer belongs to the
 * ring; freeing (or dropping) the message gives the buffer back, on any core.
 *
 * All functions here must be called on the reactor thread of ctx. Requests
 * are submitted at the end of the reactor's loop iteration, in order.
 */
#ifndef ATOLL_IO_H
#define ATOLL_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "actor.h"
#include "msg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Declared here so that atoll.h does not pull <sys/socket.h> (and its MSG_*
 * macros) into every program. */
struct sockaddr;

/* msg.flags bit set on every struct atoll_io. */
#define ATOLL_MSGF_IO 2u

/* Offset meaning "the file's current position" (and the end, with O_APPEND). */
#define ATOLL_IO_CURRENT UINT64_MAX

/* The operation an atoll_io completed. */
enum atoll_io_op {
	ATOLL_IO_NONE = 0,
	ATOLL_IO_READ,
	ATOLL_IO_WRITE,
	ATOLL_IO_SEND,
	ATOLL_IO_RECV,   /* one completion of a multishot receive */
	ATOLL_IO_ACCEPT, /* one completion of a multishot accept */
	ATOLL_IO_CONNECT,
	ATOLL_IO_FSYNC,
	ATOLL_IO_OPEN,
	ATOLL_IO_CLOSE,
	ATOLL_IO_SHUTDOWN,
	ATOLL_IO_RENAME,
};

/*
 * An I/O request and its completion. msg.data, msg.len and msg.cap describe
 * the buffer; the fields after msg are the runtime's to set, except where
 * noted.
 */
struct atoll_io {
	atoll_msg msg;
	int32_t res;     /* result: bytes, a new fd, 0, or -errno */
	uint16_t op;     /* enum atoll_io_op */
	uint16_t iflags; /* runtime */
	int32_t fd;      /* the descriptor the request was for */
	uint32_t done;   /* bytes already transferred (partial writes) */
	uint64_t offset; /* file offset, or ATOLL_IO_CURRENT */
	atoll_ref owner; /* the actor that gets the completion */
	void *priv;      /* runtime: a received buffer's home reactor */
};

/* Returns msg as an atoll_io, or NULL when it is not one. */
static inline struct atoll_io *atoll_io_of(atoll_msg *msg)
{
	return msg != NULL && (msg->flags & ATOLL_MSGF_IO) ? (struct atoll_io *)msg : NULL;
}

/*
 * Allocates an I/O message of the given type with an inline buffer of cap
 * bytes (len 0). Returns it, owned by the caller, or NULL when out of memory.
 * Free it with atoll_msg_free(&io->msg).
 */
struct atoll_io *atoll_io_new(uint32_t type, size_t cap);

/*
 * Reads up to msg.cap bytes from fd at offset into the buffer. Completion:
 * res = bytes read (0 at end of file) or -errno; msg.len = bytes read.
 * Takes io. Returns 0, or -errno (io is then freed).
 */
int atoll_io_read(atoll_ctx *ctx, int fd, struct atoll_io *io, uint64_t offset);

/*
 * Writes msg.len bytes of the buffer to fd at offset (ATOLL_IO_CURRENT:
 * current position, or the end for O_APPEND). A short write continues from
 * where it stopped, so the completion reports res = msg.len, or -errno with
 * done = bytes written before the error. Takes io. Returns 0 or -errno.
 */
int atoll_io_write(atoll_ctx *ctx, int fd, struct atoll_io *io, uint64_t offset);

/*
 * Sends msg.len bytes on a connected socket (MSG_NOSIGNAL: a closed peer
 * gives -EPIPE, never SIGPIPE), continuing partial sends. Completion as
 * atoll_io_write. Takes io. Returns 0 or -errno.
 *
 * Two sends in flight on one socket may interleave after a partial send; to
 * keep many sends in order use struct atoll_stream (atoll_stream_send),
 * which sends one at a time.
 */
int atoll_io_send(atoll_ctx *ctx, int fd, struct atoll_io *io);

/*
 * Flushes fd's data (and metadata unless datasync) to disk. Completion:
 * res = 0 or -errno. Takes io. Returns 0 or -errno.
 */
int atoll_io_fsync(atoll_ctx *ctx, int fd, struct atoll_io *io, bool datasync);

/*
 * Opens the NUL-terminated path held in the message's buffer (msg.data)
 * relative to the working directory, with open(2) flags and mode.
 * Completion: res = the new fd or -errno. Takes io. Returns 0 or -errno.
 */
int atoll_io_open(atoll_ctx *ctx, struct atoll_io *io, int flags, mode_t mode);

/*
 * Renames a file (rename(2): atomically replaces an existing newpath). The
 * message's buffer holds both paths, relative to the working directory, each
 * NUL-terminated: "old\0new\0". Completion: res = 0 or -errno. Takes io.
 * Returns 0, or -EINVAL (io freed) when the buffer does not hold two paths.
 */
int atoll_io_rename(atoll_ctx *ctx, struct atoll_io *io);

/* Closes fd. Completion: res = 0 or -errno. Takes io. Returns 0 or -errno. */
int atoll_io_close(atoll_ctx *ctx, int fd, struct atoll_io *io);

/*
 * Shuts down part of a socket (how: SHUT_RD, SHUT_WR or SHUT_RDWR), e.g. a
 * half-close after the last reply. Completion: res = 0 or -errno. Takes io.
 * Returns 0 or -errno.
 */
int atoll_io_shutdown(atoll_ctx *ctx, int fd, int how, struct atoll_io *io);

/*
 * Connects socket fd to addr (copied into the message's buffer, which must
 * have room: cap >= addrlen). Completion: res = 0, -ETIMEDOUT when
 * timeout_ns (0: no limit) passed first, or -errno. Takes io. Returns 0 or
 * -errno.
 */
int atoll_io_connect(atoll_ctx *ctx, int fd, const struct sockaddr *addr, uint32_t addrlen,
		     struct atoll_io *io, uint64_t timeout_ns);

/*
 * Starts a multishot accept on listening socket fd: each accepted connection
 * arrives as a new atoll_io message of the given type, op ATOLL_IO_ACCEPT,
 * res = the new fd (or -errno). The calling actor owns the new fd. If the
 * kernel ends the accept, the runtime re-arms it, except after errors that
 * would repeat at once (-EMFILE, -ENFILE, -EINVAL, -EBADF, -ENOTSOCK): those
 * reach the owner, which may call atoll_io_accept_start again (e.g. after a
 * connection closed). After the owner stops, new connections are closed and
 * the accept is cancelled. Returns 0 or -errno.
 */
int atoll_io_accept_start(atoll_ctx *ctx, int fd, uint32_t type);

/*
 * Creates a TCP socket listening on host:port (host NULL: 127.0.0.1; an
 * IPv4 or IPv6 literal), with SO_REUSEADDR, and SO_REUSEPORT when reuseport
 * is true (one listener per reactor, the kernel spreads connections).
 * Non-blocking and close-on-exec. Returns the fd, or -errno (-EINVAL for a
 * host that is not an address literal). Any thread. Note that with
 * reuseport, another process of the same user already listening on the port
 * is joined silently (that is what SO_REUSEPORT means): check first if that
 * matters.
 */
int atoll_tcp_listen(const char *host, uint16_t port, int backlog, bool reuseport);

/* Returns the local port fd is bound to, or -errno. */
int atoll_tcp_port(int fd);

/*
 * Handing a connection to another core: descriptors are process-wide, so an
 * accepted fd can be sent in an ordinary message to an actor on any reactor,
 * which then calls atoll_stream_open there; from then on that reactor's
 * io_uring serves it. (IORING_MSG_SEND_FD moves registered, "fixed" files
 * between rings; atoll does not register socket fds, so it needs no move.)
 * Hand over an fd before a stream is opened on it, not after.
 */

/* --- streams: a connected socket owned by one actor ------------------- */

/* Opaque. Lives on the reactor that opened it. */
typedef struct atoll_stream atoll_stream;

/*
 * Takes connected socket fd for the calling actor and starts a multishot
 * receive into the reactor's provided-buffer ring (on kernels without one, a
 * single-shot receive into a buffer the message owns, re-armed after each
 * completion; the messages look the same). Each chunk received
 * arrives as an atoll_io message of recv_type, op ATOLL_IO_RECV, with
 * msg.data/msg.len the bytes and res = msg.len; the actor owns it, and
 * freeing it (on any core) gives the buffer back to the ring. The last
 * message of a stream has res == 0 (the peer closed its side) or -errno
 * (e.g. -ECONNRESET), and no data. Running out of ring buffers (-ENOBUFS)
 * is not an error: the receive is re-armed once buffers come back.
 * Stores the stream in *out. Returns 0, -ENOMEM, or -errno; on failure fd is
 * left open and still the caller's.
 */
int atoll_stream_open(atoll_ctx *ctx, int fd, uint32_t recv_type, atoll_stream **out);

/*
 * Queues msg.data[0..msg.len) for sending on s; sends go out one at a time,
 * in the order queued, each continued after a partial send. Takes msg: any
 * message, e.g. a received one forwarded from another core (no copy). It is
 * freed once sent; while queued, the stream keeps its send progress in
 * msg->corr. If a send fails (e.g. -EPIPE), the rest are dropped and
 * the stream's receive side reports the error. Returns 0, or -EPIPE when the
 * stream is closing (msg freed).
 */
int atoll_stream_send(atoll_ctx *ctx, atoll_stream *s, atoll_msg *msg);

/* The socket descriptor of s. */
int atoll_stream_fd(const atoll_stream *s);

/* Bytes queued on s and not yet sent (for output limits). */
size_t atoll_stream_pending(const atoll_stream *s);

/*
 * Closes s: cancels the receive, drops queued sends, closes the fd, and frees
 * the stream once the kernel has returned everything in flight. The actor
 * gets no more messages from s after this call. s must not be used again.
 */
void atoll_stream_close(atoll_ctx *ctx, atoll_stream *s);

/*
 * Like atoll_stream_close, but the sends already queued go out first (e.g. a
 * last reply before closing): the receive stops at once, the fd is closed
 * once the queue is empty or a send fails. s must not be used again.
 */
void atoll_stream_finish(atoll_ctx *ctx, atoll_stream *s);

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_IO_H */
