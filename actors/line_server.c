/*
 * line_server.c - the line-protocol TCP server (line_server.h).
 *
 * Invariants: a server's shared block (the protocol table its connections
 * read, the handler's ref) is counted: one count for the listener (dropped
 * by its release hook, after which it spawns no connection) and one per
 * connection between its open and close callbacks. Every count lives on the
 * server's reactor (connections are spawned there), so it is a plain
 * integer; the last drop frees the block.
 */
#include "line_server.h"

#include <errno.h>
#include <stdlib.h>

#include "tcp_conn.h"
#include "tcp_listener.h"

/* Unread replies a client may leave queued before it is disconnected. */
#define OUTPUT_LIMIT (1024u * 1024u)

struct block {
	struct atoll_tcp_proto tcp; /* first: conn_arg points here */
	atoll_ref handler;          /* the handler member near this reactor */
	unsigned refs;
};

static void block_drop(struct block *b)
{
	if (--b->refs == 0)
		free(b);
}

static void block_release(const void *conn_arg)
{
	block_drop((struct block *)(uintptr_t)conn_arg);
}

struct line_conn {
	struct block *block;
};

static int conn_open(atoll_ctx *ctx, struct atoll_tcp_conn *c, void *state, const void *user)
{
	struct line_conn *self = state;

	(void)ctx;
	(void)c;
	self->block = (struct block *)(uintptr_t)user;
	self->block->refs++;
	return 0;
}

static void conn_line(atoll_ctx *ctx, struct atoll_tcp_conn *c, void *state, const char *data,
		      size_t len)
{
	struct line_conn *self = state;
	atoll_msg *m = atoll_msg_new_copy(ATOLL_LIB_DATA, data, len);

	if (m == NULL || atoll_ask(ctx, self->block->handler, m, NULL) < 0) {
		/* No memory, or no handler any more: nobody will answer. */
		(void)atoll_tcp_conn_write(ctx, c, "ERR no handler", 14);
		atoll_tcp_conn_close(ctx, c);
	}
}

static void conn_message(atoll_ctx *ctx, struct atoll_tcp_conn *c, void *state, atoll_msg *msg)
{
	(void)state;
	if (msg->type == ATOLL_LIB_END) {
		atoll_tcp_conn_close(ctx, c);
		return;
	}
	if (atoll_tcp_conn_write(ctx, c, msg->data, msg->len) == 0 &&
	    atoll_tcp_conn_pending(c) > OUTPUT_LIMIT)
		atoll_tcp_conn_abort(ctx, c, -ENOBUFS);
}

static void conn_close(atoll_ctx *ctx, struct atoll_tcp_conn *c, void *state, int reason)
{
	struct line_conn *self = state;

	if (reason == -EMSGSIZE)
		(void)atoll_tcp_conn_write(ctx, c, ATOLL_LINE_SERVER_TOO_LONG,
					   sizeof(ATOLL_LINE_SERVER_TOO_LONG) - 1);
	/* The last use of the block by this connection (tcp_conn.h). */
	block_drop(self->block);
}

struct line_server {
	atoll_ref listener;
};

static int server_init(atoll_ctx *ctx, void *state, const void *arg)
{
	const struct atoll_params *p = arg;
	struct line_server *self = state;
	struct block *b = calloc(1, sizeof(*b));
	int err;

	if (b == NULL)
		return -ENOMEM;
	b->tcp = (struct atoll_tcp_proto){
		.framing = ATOLL_TCP_LINES,
		.max_frame = (uint32_t)atoll_params_int(p, "max_line"),
		.state_size = sizeof(struct line_conn),
		.open = conn_open,
		.frame = conn_line,
		.message = conn_message,
		.close = conn_close,
	};
	b->handler = atoll_params_link_near(p, "handler", atoll_core(ctx));
	b->refs = 1; /* the listener's */
	err = atoll_tcp_listener_spawn(ctx, p, &atoll_tcp_conn_type, &b->tcp, block_release,
				       &self->listener);
	if (err < 0)
		free(b); /* No listener: no release. */
	return err;
}

static void server_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	(void)ctx;
	(void)state;
	(void)msg; /* Its connections do the work. */
}

static void server_stop(atoll_ctx *ctx, void *state)
{
	struct line_server *self = state;

	(void)atoll_stop(ctx, self->listener);
}

static const struct atoll_actor_type line_server_type = {
	.name = "line-server",
	.state_size = sizeof(struct line_server),
	.init = server_init,
	.receive = server_receive,
	.stop = server_stop,
};

static const struct atoll_param_spec line_server_params[] = {
	ATOLL_TCP_LISTENER_PARAMS("7001"),
	{ "max_line", ATOLL_PARAM_SIZE, "64k", 1, UINT32_MAX, NULL,
	  "longest line accepted (without its \\r\\n); longer: an error and the connection "
	  "closes",
	  0 },
	{ "handler", ATOLL_PARAM_LINK, NULL, 0, 0, NULL,
	  "the group each line goes to (the member near the connection's core)", 0 },
	{ 0 },
};

static const struct atoll_msg_spec line_server_sends[] = {
	{ ATOLL_LIB_DATA, "DATA", "one line from a client, reply_to its connection" },
	{ 0 },
};

static const struct atoll_msg_spec line_server_accepts[] = {
	{ ATOLL_LIB_DATA, "DATA", "(to a connection) a reply line to write back" },
	{ ATOLL_LIB_END, "END", "(to a connection) close it after what was written" },
	{ 0 },
};

const struct atoll_type_info line_server_info = {
	.type = &line_server_type,
	.summary = "line-protocol TCP server: each line goes as DATA to the handler group, its "
		   "replies are written back",
	.params = line_server_params,
	.accepts = line_server_accepts,
	.sends = line_server_sends,
	.check = atoll_tcp_listener_check_params,
};
