/*
 * echo.c - the echo connection actor and the echo server type (echo.h).
 *
 * Invariants: a connection's received messages go back out as they are
 * (ownership passes to the stream, which frees them once sent); `queued -
 * pending` is what the client has read back, and a connection with echoes
 * waiting is checked every SEND_TIMEOUT_NS until they have gone. The server
 * actor owns its listener and stops it when it stops.
 */
#include "echo.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "tcp_listener.h"

/* A client that reads none of its echoes for this long, while more wait for
 * it, is disconnected. (nginx calls this send_timeout.) */
#define SEND_TIMEOUT_NS (5ull * 1000 * 1000 * 1000)

/* --- the connection actor ------------------------------------------------ */

struct echo_conn {
	atoll_stream *stream; /* NULL once handed to atoll_stream_finish */
	atoll_ref listener;
	uint64_t queued;  /* bytes ever queued; queued - pending have been sent */
	uint64_t checked; /* bytes sent at the last ATOLL_ECHO_SEND_CHECK */
	bool watching;    /* an ATOLL_ECHO_SEND_CHECK is on its way */
};

static int conn_init(atoll_ctx *ctx, void *state, const void *arg)
{
	const struct atoll_tcp_conn_arg *conn = arg;
	struct echo_conn *self = state;
	int one = 1;

	/* Echoes are often small and each answers a request: send them at
	 * once rather than wait to coalesce them (Nagle). Best effort. */
	(void)setsockopt(conn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	self->listener = conn->listener;
	/* On failure the fd is still open, and the listener closes it. */
	return atoll_stream_open(ctx, conn->fd, ATOLL_ECHO_RECV, &self->stream);
}

/* Arms the next ATOLL_ECHO_SEND_CHECK, which comes back after
 * SEND_TIMEOUT_NS. */
static void watch_sends(atoll_ctx *ctx, struct echo_conn *self)
{
	atoll_msg *check = atoll_msg_new(ATOLL_ECHO_SEND_CHECK, 0);

	self->watching = check != NULL &&
			 atoll_send_after(ctx, atoll_self(ctx), check, SEND_TIMEOUT_NS, NULL) == 0;
	self->checked = self->queued - atoll_stream_pending(self->stream);
}

/*
 * Echoes are waiting: disconnects a client that read none of them since the
 * last check, or checks again later. Idle clients cost no timer.
 */
static void check_sends(atoll_ctx *ctx, struct echo_conn *self)
{
	uint64_t sent = self->queued - atoll_stream_pending(self->stream);

	self->watching = false;
	if (sent == self->queued)
		return; /* All sent: the next echo starts watching again. */
	if (sent == self->checked) {
		atoll_stop(ctx, atoll_self(ctx));
		return;
	}
	watch_sends(ctx, self);
}

static void conn_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct echo_conn *self = state;
	const struct atoll_io *io = atoll_io_of(msg);

	if (msg->type == ATOLL_ECHO_SEND_CHECK) {
		if (self->stream != NULL)
			check_sends(ctx, self);
		return;
	}
	if (msg->type != ATOLL_ECHO_RECV || io == NULL || self->stream == NULL)
		return;
	if (io->res == 0 && io->op == ATOLL_IO_RECV) {
		/* The client has sent everything: the echoes still queued go
		 * out, then the socket closes. */
		atoll_stream_finish(ctx, self->stream);
		self->stream = NULL;
		atoll_stop(ctx, atoll_self(ctx));
		return;
	}
	if (io->res <= 0) {
		/* A receive or send failed (e.g. -ECONNRESET, -EPIPE). */
		atoll_stop(ctx, atoll_self(ctx));
		return;
	}
	/* The received message itself goes back out: the stream takes it
	 * and frees it once sent, which returns its buffer to the ring. */
	self->queued += msg->len;
	if (atoll_stream_send(ctx, self->stream, msg) < 0) {
		atoll_stop(ctx, atoll_self(ctx));
		return;
	}
	if (!self->watching)
		watch_sends(ctx, self);
}

/* Runs however the connection ends: by itself, or at runtime stop. */
static void conn_stop(atoll_ctx *ctx, void *state)
{
	struct echo_conn *self = state;

	if (self->stream != NULL)
		atoll_stream_close(ctx, self->stream);
	(void)atoll_tcp_listener_conn_closed(ctx, self->listener);
}

const struct atoll_actor_type atoll_echo_conn_type = {
	.name = "echo_conn",
	.state_size = sizeof(struct echo_conn),
	.init = conn_init,
	.receive = conn_receive,
	.stop = conn_stop,
};

/* --- the server ---------------------------------------------------------- */

struct echo_server {
	atoll_ref listener;
};

static int echo_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct echo_server *self = state;

	return atoll_tcp_listener_spawn(ctx, arg, &atoll_echo_conn_type, NULL, NULL,
					&self->listener);
}

static void echo_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	(void)ctx;
	(void)state;
	(void)msg; /* It takes no messages: the connections do the work. */
}

static void echo_stop(atoll_ctx *ctx, void *state)
{
	struct echo_server *self = state;

	/* New clients go to the other members; connected ones stay. */
	(void)atoll_stop(ctx, self->listener);
}

static const struct atoll_actor_type echo_type = {
	.name = "echo",
	.state_size = sizeof(struct echo_server),
	.init = echo_init,
	.receive = echo_receive,
	.stop = echo_stop,
};

static const struct atoll_param_spec echo_params[] = {
	ATOLL_TCP_LISTENER_PARAMS("7000"),
	{ 0 },
};

const struct atoll_type_info echo_info = {
	.type = &echo_type,
	.summary = "TCP echo server: a listener on its reactor (SO_REUSEPORT port shared by the "
		   "group), bytes sent back without a copy",
	.params = echo_params,
	.check = atoll_tcp_listener_check_params,
};
