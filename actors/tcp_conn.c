/*
 * tcp_conn.c - the framing connection actor (tcp_conn.h).
 *
 * Invariants: `partial` holds only the bytes of one frame that is not yet
 * complete (never more than the frame limit plus a length prefix); frames
 * that are complete inside one received buffer are handed over in place;
 * once the connection is closing no callback but close runs again.
 */
#include "tcp_conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "line_frame.h"
#include "tcp_listener.h"

#define DEFAULT_MAX_FRAME (64u * 1024u)

struct atoll_tcp_conn {
	const struct atoll_tcp_proto *proto;
	atoll_stream *stream;
	atoll_ref listener;
	void *state;                   /* the protocol's per-connection state */
	struct atoll_line_frame lines; /* ATOLL_TCP_LINES: the framer */
	char *partial;                 /* LEN32: an incomplete frame carried to the next receive */
	size_t partial_len;
	size_t partial_cap;
	uint32_t max_frame;
	bool closing;  /* ending: no frame or message is delivered again */
	bool finished; /* proto->close has returned: nothing more is sent */
};

int atoll_tcp_conn_fd(const struct atoll_tcp_conn *c)
{
	return atoll_stream_fd(c->stream);
}

size_t atoll_tcp_conn_pending(const struct atoll_tcp_conn *c)
{
	return atoll_stream_pending(c->stream);
}

/* Ends the connection: the protocol hears why, queued replies still go out
 * (unless abort), the listener is told, the actor stops. Runs once. */
static void end_with(atoll_ctx *ctx, struct atoll_tcp_conn *c, int reason, bool abort)
{
	if (c->closing)
		return;
	c->closing = true;
	if (c->proto->close != NULL)
		c->proto->close(ctx, c, c->state, reason);
	/* From here the proto is not touched again: close may have released
	 * what it lives in. */
	c->finished = true;
	if (abort) {
		/* Reset rather than close: the kernel drops what it still holds
		 * for a peer that does not read, instead of trying to deliver it
		 * for minutes after we are done with it. */
		struct linger reset = { .l_onoff = 1, .l_linger = 0 };

		(void)setsockopt(atoll_stream_fd(c->stream), SOL_SOCKET, SO_LINGER, &reset,
				 sizeof(reset));
		atoll_stream_close(ctx, c->stream);
	} else
		atoll_stream_finish(ctx, c->stream);
	(void)atoll_tcp_listener_conn_closed(ctx, c->listener);
	(void)atoll_stop(ctx, atoll_self(ctx));
}

static void end(atoll_ctx *ctx, struct atoll_tcp_conn *c, int reason)
{
	end_with(ctx, c, reason, false);
}

void atoll_tcp_conn_close(atoll_ctx *ctx, struct atoll_tcp_conn *c)
{
	end(ctx, c, 0);
}

void atoll_tcp_conn_abort(atoll_ctx *ctx, struct atoll_tcp_conn *c, int reason)
{
	end_with(ctx, c, reason, true);
}

int atoll_tcp_conn_send(atoll_ctx *ctx, struct atoll_tcp_conn *c, atoll_msg *msg)
{
	if (c->finished) {
		atoll_msg_keep(ctx, msg); /* Ours to free, whoever passed it. */
		atoll_msg_free(msg);
		return -EPIPE;
	}
	return atoll_stream_send(ctx, c->stream, msg);
}

int atoll_tcp_conn_write(atoll_ctx *ctx, struct atoll_tcp_conn *c, const void *data, size_t len)
{
	size_t head, tail;
	atoll_msg *m;
	char *p;

	if (c->finished)
		return -EPIPE;
	head = c->proto->framing == ATOLL_TCP_LEN32 ? 4 : 0;
	tail = c->proto->framing == ATOLL_TCP_LINES ? 1 : 0;
	if (len > UINT32_MAX - head - tail)
		return -EMSGSIZE;
	m = atoll_msg_new(ATOLL_MSG_USER, head + len + tail);
	if (m == NULL)
		return -ENOMEM;
	p = m->data;
	if (head != 0) {
		p[0] = (char)(len >> 24);
		p[1] = (char)(len >> 16);
		p[2] = (char)(len >> 8);
		p[3] = (char)len;
	}
	if (len != 0)
		memcpy(p + head, data, len);
	if (tail != 0)
		p[head + len] = '\n';
	return atoll_stream_send(ctx, c->stream, m);
}

/* Appends bytes to the partial frame. Returns 0 or -ENOMEM. */
static int keep_partial(struct atoll_tcp_conn *c, const char *data, size_t len)
{
	if (c->partial_len + len > c->partial_cap) {
		size_t cap = c->partial_cap ? c->partial_cap : 256;
		char *p;

		while (cap < c->partial_len + len)
			cap *= 2;
		p = realloc(c->partial, cap);
		if (p == NULL)
			return -ENOMEM;
		c->partial = p;
		c->partial_cap = cap;
	}
	memcpy(c->partial + c->partial_len, data, len);
	c->partial_len += len;
	return 0;
}

/* Cuts lines out of one received chunk (line_frame.h). Returns 0 or -errno
 * to end. */
static int lines(atoll_ctx *ctx, struct atoll_tcp_conn *c, const char *p, size_t n)
{
	struct atoll_line_input in = { p, n };
	const char *line;
	size_t len;
	int rc = 0;

	while (!c->closing && (rc = atoll_line_frame_next(&c->lines, &in, &line, &len)) > 0)
		c->proto->frame(ctx, c, c->state, line, len);
	return rc < 0 ? rc : 0;
}

static uint32_t be32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

/* Cuts length-prefixed frames out of one received chunk. */
static int len32(atoll_ctx *ctx, struct atoll_tcp_conn *c, const char *p, size_t n)
{
	while (n > 0 && !c->closing) {
		if (c->partial_len == 0 && n >= 4) {
			uint32_t len = be32(p);

			if (len > c->max_frame)
				return -EMSGSIZE;
			if (n - 4 >= len) { /* Whole in this buffer: no copy. */
				c->proto->frame(ctx, c, c->state, p + 4, len);
				p += 4 + (size_t)len;
				n -= 4 + (size_t)len;
				continue;
			}
		}
		/* Gather: first the 4-byte prefix, then the body. */
		size_t want = 4;
		if (c->partial_len >= 4) {
			uint32_t len = be32(c->partial);
			if (len > c->max_frame)
				return -EMSGSIZE;
			want = 4 + (size_t)len;
		}
		size_t take = want - c->partial_len < n ? want - c->partial_len : n;
		if (keep_partial(c, p, take) < 0)
			return -ENOMEM;
		p += take;
		n -= take;
		if (c->partial_len >= 4 && c->partial_len == 4 + (size_t)be32(c->partial)) {
			c->proto->frame(ctx, c, c->state, c->partial + 4, c->partial_len - 4);
			c->partial_len = 0;
		}
	}
	return 0;
}

static int conn_init(atoll_ctx *ctx, void *state, const void *arg)
{
	const struct atoll_tcp_conn_arg *a = arg;
	struct atoll_tcp_conn *c = state;
	int err;

	c->proto = a->user;
	if (c->proto == NULL || c->proto->frame == NULL)
		return -EINVAL;
	c->listener = a->listener;
	c->max_frame = c->proto->max_frame ? c->proto->max_frame : DEFAULT_MAX_FRAME;
	atoll_line_frame_init(&c->lines, c->max_frame);
	if (c->proto->state_size != 0) {
		c->state = calloc(1, c->proto->state_size);
		if (c->state == NULL)
			return -ENOMEM;
	}
	err = atoll_stream_open(ctx, a->fd, ATOLL_TCP_CONN_RECV, &c->stream);
	if (err < 0) {
		free(c->state); /* The listener closes a->fd. */
		c->state = NULL;
		return err;
	}
	/* From here the stream owns the fd, so a refusal by the protocol ends
	 * the connection like any other end instead of failing init. */
	if (c->proto->open != NULL) {
		err = c->proto->open(ctx, c, c->state, a->user);
		if (err < 0)
			end(ctx, c, err);
	}
	return 0;
}

static void conn_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct atoll_tcp_conn *c = state;
	struct atoll_io *io = atoll_io_of(msg);
	int err = 0;

	if (msg->type != ATOLL_TCP_CONN_RECV || io == NULL) {
		if (!c->closing && c->proto->message != NULL)
			c->proto->message(ctx, c, c->state, msg);
		return;
	}
	if (c->closing)
		return;
	if (io->res <= 0) {
		end(ctx, c, io->res);
		return;
	}
	switch (c->proto->framing) {
	case ATOLL_TCP_LINES:
		err = lines(ctx, c, msg->data, msg->len);
		break;
	case ATOLL_TCP_LEN32:
		err = len32(ctx, c, msg->data, msg->len);
		break;
	default:
		c->proto->frame(ctx, c, c->state, msg->data, msg->len);
		break;
	}
	if (err < 0)
		end(ctx, c, err);
}

static void conn_stop(atoll_ctx *ctx, void *state)
{
	struct atoll_tcp_conn *c = state;

	/* Stopped from outside (runtime stop): close without ceremony. */
	if (!c->closing && c->stream != NULL) {
		c->closing = true;
		if (c->proto->close != NULL)
			c->proto->close(ctx, c, c->state, -ECANCELED);
		c->finished = true;
		atoll_stream_close(ctx, c->stream);
		(void)atoll_tcp_listener_conn_closed(ctx, c->listener);
	}
	atoll_line_frame_free(&c->lines);
	free(c->partial);
	free(c->state);
}

const struct atoll_actor_type atoll_tcp_conn_type = {
	.name = "tcp_conn",
	.state_size = sizeof(struct atoll_tcp_conn),
	.init = conn_init,
	.receive = conn_receive,
	.stop = conn_stop,
};
