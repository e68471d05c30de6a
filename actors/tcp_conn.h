/*
 * tcp_conn.h - a connection actor that cuts a TCP byte stream into frames
 * and hands each to protocol callbacks: the base for line protocols, length-
 * prefixed protocols, or raw byte handling.
 *
 * Spawned by the TCP listener (actors/tcp_listener.h) with
 * conn_type = &atoll_tcp_conn_type and conn_arg = a const struct
 * atoll_tcp_proto *. It opens a stream on the accepted socket, assembles
 * frames, and calls proto->frame for each; a frame that arrived whole in one
 * receive is passed straight from the receive buffer (no copy), only frames
 * split across receives are gathered in a buffer. Replies go out with
 * atoll_tcp_conn_write (copied, framed) or atoll_tcp_conn_send (a message,
 * not copied). The connection ends when the peer closes, on an error, on a
 * frame longer than proto->max_frame, or on atoll_tcp_conn_close; then
 * proto->close runs, the stream is closed and the listener is told.
 */
#ifndef ATOLL_TCP_CONN_H
#define ATOLL_TCP_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <atoll.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How the byte stream is cut into frames. */
enum atoll_tcp_framing {
	/* Every received chunk is a frame, as the kernel delivered it. */
	ATOLL_TCP_RAW = 0,
	/* A frame is a line ending in "\n"; the "\n" (and a "\r" before it)
	 * is not part of the frame (line_frame.h cuts them; max_frame counts
	 * the line without its "\r\n"). atoll_tcp_conn_write appends "\n". */
	ATOLL_TCP_LINES = 1,
	/* A frame is a 4-byte big-endian length, then that many bytes.
	 * atoll_tcp_conn_write prepends the length. */
	ATOLL_TCP_LEN32 = 2,
};

/* The connection, as the callbacks see it. Opaque. */
struct atoll_tcp_conn;

/*
 * A protocol: a const table, shared by every connection that speaks it.
 * Every callback runs on the connection's reactor, inside the connection
 * actor; ctx is that actor's context (atoll_self is the connection).
 */
struct atoll_tcp_proto {
	/* How frames are delimited. */
	enum atoll_tcp_framing framing;
	/* The longest frame accepted, in bytes; a longer one ends the
	 * connection with -EMSGSIZE (a protocol error, not a crash). 0: 64 KiB. */
	uint32_t max_frame;
	/* Bytes of zeroed per-connection state handed to every callback. */
	size_t state_size;
	/* The connection opened (it may already write, e.g. a greeting).
	 * Returns 0, or -errno to refuse it: the connection then ends at once,
	 * close runs with that reason, and queued writes still go out.
	 * Optional. */
	int (*open)(atoll_ctx *ctx, struct atoll_tcp_conn *c, void *state, const void *user);
	/* One complete frame. data is valid only during the call. Required. */
	void (*frame)(atoll_ctx *ctx, struct atoll_tcp_conn *c, void *state, const char *data,
		      size_t len);
	/* A message for the connection actor that is not its own I/O (e.g. a
	 * broadcast from another actor). The usual ownership rule applies: the
	 * runtime frees msg after the call unless it is kept or passed on.
	 * Optional (such messages are dropped). */
	void (*message)(atoll_ctx *ctx, struct atoll_tcp_conn *c, void *state, atoll_msg *msg);
	/* The connection ended: reason is 0 (peer closed or
	 * atoll_tcp_conn_close), -EMSGSIZE, or the socket error. Runs once;
	 * the socket is closed after it. It may still write a last frame
	 * (e.g. an error line), which goes out before the socket closes unless
	 * the connection is being aborted or the runtime stops (reason
	 * -ECANCELED). Once close has returned the connection never reads the
	 * proto again, so close may release the memory the proto lives in.
	 * Optional. */
	void (*close)(atoll_ctx *ctx, struct atoll_tcp_conn *c, void *state, int reason);
};

/* The connection actor type. Its init argument is the listener's const
 * struct atoll_tcp_conn_arg *, whose user field is the protocol. */
extern const struct atoll_actor_type atoll_tcp_conn_type;

/* Message types the connection actor uses for its own I/O. Others go to
 * proto->message. */
enum atoll_tcp_conn_msg {
	ATOLL_TCP_CONN_RECV = ATOLL_MSG_USER + 0x200, /* internal: stream data */
};

/*
 * Sends one frame: copies len bytes of data into a message, with the
 * framing's delimiter or length prefix added, and queues it on the stream
 * (sends keep their order). Returns 0, -ENOMEM, -EMSGSIZE (longer than
 * UINT32_MAX for LEN32), or -EPIPE once the connection is closing.
 */
int atoll_tcp_conn_write(atoll_ctx *ctx, struct atoll_tcp_conn *c, const void *data, size_t len);

/*
 * Queues msg's bytes as they are (no framing added, no copy): e.g. a frame
 * built by the caller, or a received buffer forwarded from elsewhere. Takes
 * msg. Returns 0 or -EPIPE once the connection is closing.
 */
int atoll_tcp_conn_send(atoll_ctx *ctx, struct atoll_tcp_conn *c, atoll_msg *msg);

/*
 * Ends the connection: proto->close runs with reason 0, no more frames are
 * delivered, replies already written still go out, then the socket closes
 * (atoll_stream_finish) and the connection actor stops.
 */
void atoll_tcp_conn_close(atoll_ctx *ctx, struct atoll_tcp_conn *c);

/*
 * Ends the connection at once: proto->close runs with reason, queued
 * replies are dropped, the socket is reset (SO_LINGER 0: the peer sees
 * ECONNRESET, the kernel frees what it had queued) and the actor stops. For a peer
 * that does not read (an output limit), where waiting for the queue to
 * drain would hold its memory for ever.
 */
void atoll_tcp_conn_abort(atoll_ctx *ctx, struct atoll_tcp_conn *c, int reason);

/* Bytes queued for sending and not yet sent (for output limits). */
size_t atoll_tcp_conn_pending(const struct atoll_tcp_conn *c);

/* The socket descriptor (for getpeername and the like; do not close it). */
int atoll_tcp_conn_fd(const struct atoll_tcp_conn *c);

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_TCP_CONN_H */
