/*
 * tcp_listener.c - the TCP listener actor: a listening socket of its own
 * (SO_REUSEPORT, so one per reactor can share a port), a multishot accept,
 * and one connection actor spawned per accepted socket on the same reactor.
 *
 * Invariants: every accepted descriptor has exactly one owner, the listener
 * until a connection actor's init returns 0, that actor afterwards; `active`
 * counts the connection actors that started and have not reported
 * ATOLL_TCP_LISTENER_CONN_CLOSED, and never exceeds max_connections (when set).
 */
#include <errno.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcp_listener.h"

/* How long to wait before accepting again once the process or the system is
 * out of descriptors: retrying at once would spin, since the connection
 * waiting in the backlog fails the same way until a descriptor is freed. */
#define RETRY_AFTER_NS (100ull * 1000 * 1000)

struct tcp_listener {
	int fd; /* the listening socket, -1 once closed */
	unsigned max_connections;
	const struct atoll_actor_type *conn_type;
	const void *conn_arg;
	void (*release)(const void *conn_arg);
	bool paused;                         /* accepting stopped on -EMFILE/-ENFILE */
	bool retry_pending;                  /* a RETRY timer is armed */
	struct atoll_tcp_listener_info info; /* counters, also the INFO reply */
};

int atoll_tcp_listener_conn_closed(atoll_ctx *ctx, atoll_ref listener)
{
	return atoll_tell(ctx, listener, ATOLL_TCP_LISTENER_CONN_CLOSED, NULL, 0);
}

static int listener_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct tcp_listener *self = state;
	const struct atoll_tcp_listener_args *args = arg;
	int fd, port, err;

	self->fd = -1;
	if (args == NULL || args->conn_type == NULL || args->conn_type->receive == NULL ||
	    args->backlog < 0)
		return -EINVAL;
	fd = atoll_tcp_listen(args->host, args->port, args->backlog, true);
	if (fd < 0)
		return fd;
	port = atoll_tcp_port(fd);
	err = port < 0 ? port : atoll_io_accept_start(ctx, fd, ATOLL_TCP_LISTENER_ACCEPTED);
	if (err < 0) {
		/* A failed init gets no stop hook: the socket is ours to close. */
		close(fd);
		return err;
	}
	self->fd = fd;
	self->max_connections = args->max_connections;
	self->conn_type = args->conn_type;
	self->conn_arg = args->conn_arg;
	self->release = args->release;
	self->info.port = (uint16_t)port;
	return 0;
}

/*
 * Marks accepting as stopped and arms a timer that brings
 * ATOLL_TCP_LISTENER_RETRY back to the listener, unless one is armed.
 */
static void pause_accept(atoll_ctx *ctx, struct tcp_listener *self)
{
	atoll_msg *retry;

	self->paused = true;
	if (self->retry_pending)
		return;
	retry = atoll_msg_new(ATOLL_TCP_LISTENER_RETRY, 0);
	if (retry == NULL)
		return; /* Out of memory: the next CONN_CLOSED restarts instead. */
	if (atoll_send_after(ctx, atoll_self(ctx), retry, RETRY_AFTER_NS, NULL) == 0)
		self->retry_pending = true;
}

/* Starts accepting again, when an -EMFILE or -ENFILE had stopped it. */
static void resume_accept(atoll_ctx *ctx, struct tcp_listener *self)
{
	if (!self->paused || self->fd < 0)
		return;
	self->paused = false;
	if (atoll_io_accept_start(ctx, self->fd, ATOLL_TCP_LISTENER_ACCEPTED) < 0) {
		self->info.accept_errors++;
		pause_accept(ctx, self);
	}
}

/*
 * Hands an accepted socket to a new connection actor, or closes it when the
 * listener is full or the actor does not start.
 */
static void listener_accepted(atoll_ctx *ctx, struct tcp_listener *self, int fd)
{
	struct atoll_tcp_conn_arg conn;
	atoll_ref ref;

	if (fd < 0) {
		self->info.accept_errors++;
		/* The runtime re-arms the accept after most errors, but not
		 * after these two (it would spin): we do, once a connection
		 * ends or a little later. */
		if (fd == -EMFILE || fd == -ENFILE)
			pause_accept(ctx, self);
		return;
	}
	if (self->max_connections != 0 && self->info.active >= self->max_connections) {
		/* Refused: nothing was read, so close() ends the connection
		 * with a FIN and the client reads end of file. */
		close(fd);
		self->info.refused++;
		return;
	}
	conn = (struct atoll_tcp_conn_arg){
		.fd = fd,
		.user = self->conn_arg,
		.listener = atoll_self(ctx),
	};
	/* Spawned here, so init runs before atoll_spawn returns and conn may
	 * live on the stack; a failed init has left fd to us. */
	if (atoll_spawn(ctx, self->conn_type, &conn, ATOLL_HERE, &ref) < 0) {
		close(fd);
		self->info.spawn_failed++;
		return;
	}
	self->info.active++;
	self->info.accepted++;
}

static void listener_info(atoll_ctx *ctx, const struct tcp_listener *self, const atoll_msg *ask)
{
	atoll_msg *reply =
		atoll_msg_new_copy(ATOLL_TCP_LISTENER_INFO_REPLY, &self->info, sizeof(self->info));

	if (reply != NULL)
		(void)atoll_reply(ctx, ask, reply);
}

static void listener_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct tcp_listener *self = state;
	const struct atoll_io *io;

	switch (msg->type) {
	case ATOLL_TCP_LISTENER_ACCEPTED:
		io = atoll_io_of(msg);
		if (io != NULL && io->op == ATOLL_IO_ACCEPT)
			listener_accepted(ctx, self, io->res);
		break;
	case ATOLL_TCP_LISTENER_CONN_CLOSED:
		if (self->info.active > 0)
			self->info.active--;
		/* Out of descriptors? One is on its way back. */
		resume_accept(ctx, self);
		break;
	case ATOLL_TCP_LISTENER_INFO:
		listener_info(ctx, self, msg);
		break;
	case ATOLL_TCP_LISTENER_RETRY:
		self->retry_pending = false;
		resume_accept(ctx, self);
		break;
	default:
		break; /* Not ours: the runtime frees it. */
	}
}

static void listener_stop(atoll_ctx *ctx, void *state)
{
	struct tcp_listener *self = state;

	(void)ctx;
	if (self->release != NULL)
		self->release(self->conn_arg);
	if (self->fd < 0)
		return;
	/*
	 * The kernel's accept request holds its own reference to the socket,
	 * so close() alone would leave it listening (and in the port's
	 * SO_REUSEPORT group, receiving its share of new connections) until
	 * the next connection arrived. shutdown() ends the listening state at
	 * once: the accept completes with -EINVAL and is not re-armed, and
	 * the other reactors' listeners on the port get every new connection.
	 */
	(void)shutdown(self->fd, SHUT_RDWR);
	close(self->fd);
	self->fd = -1;
}

const struct atoll_actor_type atoll_tcp_listener_type = {
	.name = "tcp_listener",
	.state_size = sizeof(struct tcp_listener),
	.init = listener_init,
	.receive = listener_receive,
	.stop = listener_stop,
};
