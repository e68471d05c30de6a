/*
 * tcp_listener.h - an actor that listens on a TCP port and spawns one
 * connection actor per accepted connection, on its own reactor.
 *
 * Run one listener per reactor, all on the same host and port: each binds
 * its own socket with SO_REUSEPORT and the kernel spreads new connections
 * across them, so a connection lives on the core that accepted it and no
 * descriptor ever crosses cores.
 *
 *   struct atoll_tcp_listener_args args = {
 *           .host = "127.0.0.1", .port = 7000, .conn_type = &my_conn_type,
 *   };
 *   for (unsigned core = 0; core < reactors; core++)
 *           atoll_runtime_spawn(rt, &atoll_tcp_listener_type, &args, core, &refs[core]);
 *
 * The connection actor's init gets a const struct atoll_tcp_conn_arg *. When
 * init returns 0 the actor owns the socket (typically it hands it to
 * atoll_stream_open); when the actor ends, it tells the listener with
 * atoll_tcp_listener_conn_closed(), so that max_connections counts only live
 * connections.
 */
#ifndef ATOLL_TCP_LISTENER_H
#define ATOLL_TCP_LISTENER_H

#include <stdint.h>

#include <atoll.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The listener's init argument. The listener copies what it needs during
 * init, except conn_type and conn_arg, which it keeps: they must outlive it.
 * Spawned on another reactor (or from outside the runtime), init runs later
 * on that reactor, so the struct itself must stay valid until then; one
 * struct may serve every listener of a port.
 */
struct atoll_tcp_listener_args {
	/* The address to bind: an IPv4 or IPv6 literal such as "0.0.0.0" or
	 * "::1" (no host names). NULL: 127.0.0.1. */
	const char *host;
	/* The TCP port. 0 lets the kernel choose one; but each listener then
	 * gets a port of its own, so for several listeners on one port start
	 * the first, ask it for its port (ATOLL_TCP_LISTENER_INFO) and give
	 * that port to the others. */
	uint16_t port;
	/* The listen(2) backlog; 0: SOMAXCONN. Must not be negative. */
	int backlog;
	/* The most connection actors this listener keeps alive at once; a
	 * connection over the limit is accepted and closed at once (the client
	 * sees the connection end before any data), and counted as refused.
	 * The limit is per listener, that is per reactor. 0: no limit. */
	unsigned max_connections;
	/* The actor type spawned for each connection, on the listener's
	 * reactor. Its init gets a const struct atoll_tcp_conn_arg *. See the
	 * ownership rule of the fd there. Required. */
	const struct atoll_actor_type *conn_type;
	/* Passed unchanged to every connection actor, as
	 * atoll_tcp_conn_arg.user. May be NULL. Read by connection actors on
	 * every reactor, so it must be safe to share (typically constant). */
	const void *conn_arg;
	/* Called with conn_arg by the listener's stop hook, once it will
	 * spawn no more connections: for a conn_arg whose lifetime is counted
	 * (each connection holding a count too, dropped when it ends). Not
	 * called when init fails (the caller still owns conn_arg then). On
	 * the listener's reactor. May be NULL. */
	void (*release)(const void *conn_arg);
};

/*
 * The init argument of a connection actor. It lives on the listener's stack
 * and is valid only while init runs: copy what you need.
 *
 * Ownership of fd: if init returns 0, the connection actor owns fd and must
 * close it (atoll_stream_close does, for a stream opened on it). If init
 * returns an error, it must leave fd open: the listener closes it. In
 * particular a failed atoll_stream_open leaves fd open, so returning its
 * error straight away is right.
 */
struct atoll_tcp_conn_arg {
	/* The accepted socket: connected, close-on-exec. */
	int fd;
	/* atoll_tcp_listener_args.conn_arg. */
	const void *user;
	/* The listener that accepted the connection, on the same reactor: the
	 * actor tells it when it ends (atoll_tcp_listener_conn_closed). */
	atoll_ref listener;
};

/*
 * The messages a listener accepts, and the one it sends. The values start at
 * ATOLL_MSG_USER + 0x100, so they do not clash with an application's own
 * types counted up from ATOLL_MSG_USER.
 */
enum atoll_tcp_listener_msg {
	/* From a connection actor this listener spawned, when it ends (its
	 * stop hook is the right place), so that the listener can accept
	 * another under max_connections. No payload. Send it exactly once per
	 * connection actor whose init returned 0; extra ones are ignored once
	 * the count of live connections is 0. */
	ATOLL_TCP_LISTENER_CONN_CLOSED = ATOLL_MSG_USER + 0x100,
	/* An ask (atoll_ask): the listener replies with a message of type
	 * ATOLL_TCP_LISTENER_INFO_REPLY whose payload is a struct
	 * atoll_tcp_listener_info. No payload. */
	ATOLL_TCP_LISTENER_INFO,
	/* Sent by the listener: the reply to ATOLL_TCP_LISTENER_INFO. Payload:
	 * struct atoll_tcp_listener_info. Never sent to a listener. */
	ATOLL_TCP_LISTENER_INFO_REPLY,
	/* Internal: the listener's own accept completions, an atoll_io with
	 * op ATOLL_IO_ACCEPT and res the new socket or -errno. Only the
	 * runtime sends them; a message of this type that is not an accept
	 * completion is dropped. */
	ATOLL_TCP_LISTENER_ACCEPTED,
	/* Internal: the listener's timer to start accepting again after the
	 * process or system ran out of descriptors (-EMFILE, -ENFILE). */
	ATOLL_TCP_LISTENER_RETRY,
};

/* Payload of ATOLL_TCP_LISTENER_INFO_REPLY: a listener's counters. */
struct atoll_tcp_listener_info {
	uint16_t port;          /* the port it listens on (useful after port 0) */
	uint32_t active;        /* connection actors alive now */
	uint64_t accepted;      /* connections handed to a connection actor */
	uint64_t refused;       /* connections closed at once: over max_connections */
	uint64_t spawn_failed;  /* connections closed because the actor did not start */
	uint64_t accept_errors; /* failed accepts (e.g. -EMFILE); accepting goes on */
};

/*
 * Tells the listener that accepted a connection that its actor has ended
 * (sends ATOLL_TCP_LISTENER_CONN_CLOSED). Call it once, from the connection
 * actor, typically in its stop hook. Returns as atoll_send (-ESRCH when the
 * listener has already stopped, which is harmless).
 */
int atoll_tcp_listener_conn_closed(atoll_ctx *ctx, atoll_ref listener);

/*
 * The listener actor type. Init argument: const struct
 * atoll_tcp_listener_args *. Init creates the listening socket
 * (atoll_tcp_listen with SO_REUSEPORT) and starts a multishot accept; it
 * returns -EINVAL for bad arguments (no conn_type, a negative backlog, a host
 * that is not an address literal), or the error of listening (-EADDRINUSE,
 * -EACCES, ...) or of starting the accept. The stop hook stops accepting and
 * closes the listening socket; the connection actors live on.
 */
extern const struct atoll_actor_type atoll_tcp_listener_type;

/*
 * Starts a listener on every reactor of rt with args, from a thread outside
 * the runtime (typically main, after atoll_runtime_start), and waits for each
 * in turn, at most timeout_ms (0: 10 s) per reactor. Reactor 0's goes first,
 * so that with args->port 0 the others join the port the kernel chose for it.
 * args is copied; conn_type and conn_arg must outlive the listeners. Returns
 * 0 with *port (if not NULL) the port listened on, or the first listener's
 * error (-EADDRINUSE, -EACCES, -EINVAL, -ETIMEDOUT, ...) with *failed_core
 * (if not NULL) the reactor it came from; listeners already started keep
 * running (stopping the runtime stops them). When the runtime is stopped
 * meanwhile (a signal), returns -ECANCELED once its reactor threads have
 * exited (it calls atoll_runtime_wait; calling that again is harmless).
 */
int atoll_tcp_listener_start_all(atoll_runtime *rt, const struct atoll_tcp_listener_args *args,
				 unsigned timeout_ms, uint16_t *port, unsigned *failed_core);

/*
 * Checks that nobody listens on host:port (NULL: 127.0.0.1) by binding a
 * socket there without SO_REUSEPORT. Listeners bind with SO_REUSEPORT, which
 * joins another process's listening socket silently: call this first when
 * that matters. Returns 0, -EADDRINUSE, -EINVAL (not an address literal) or
 * another -errno. Any thread.
 */
int atoll_tcp_port_free(const char *host, uint16_t port);

/* --- server types started from a topology (tcp_listener_params.c) ------ */

/*
 * The parameter specs of a TCP server type (echo, line-server, chat,
 * kv.server): port (default_port as text), bind and max_connections. Put
 * them in the type's table. Every member of the group listens on the same
 * port (SO_REUSEPORT): with placement = each, one listener per reactor.
 */
#define ATOLL_TCP_LISTENER_PARAMS(default_port)                                                  \
	{ "port",                                                                                \
	  ATOLL_PARAM_INT,                                                                       \
	  default_port,                                                                          \
	  0,                                                                                     \
	  65535,                                                                                 \
	  NULL,                                                                                  \
	  "TCP port; every member listens on it (SO_REUSEPORT); 0: any, one per member",         \
	  0 },                                                                                   \
		{ "bind",                                                                        \
		  ATOLL_PARAM_STRING,                                                            \
		  "127.0.0.1",                                                                   \
		  0,                                                                             \
		  0,                                                                             \
		  NULL,                                                                          \
		  "IPv4 or IPv6 address to listen on (0.0.0.0 or :: for all)",                   \
		  0 },                                                                           \
	{                                                                                        \
		"max_connections", ATOLL_PARAM_INT, "0", 0, UINT32_MAX, NULL,                    \
			"connections served at once per member; more are closed; 0: no limit", 0 \
	}

/*
 * The check hook part for those parameters: bind must be an address
 * literal. Returns 0, or -EINVAL with a message in err.
 */
int atoll_tcp_listener_check_params(const struct atoll_params *p, char *err, size_t errlen);

/*
 * Spawns a listener on the calling actor's reactor from the parameters
 * above, with conn_type, conn_arg and release as in struct
 * atoll_tcp_listener_args, and stores its ref in *listener. From init of a
 * server actor, which stops the listener in its stop hook. On failure it
 * prints why on stderr, naming the actor's group ("echo: cannot listen on
 * 127.0.0.1 port 7000: Address already in use"), and the caller still owns
 * conn_arg. Returns 0 or the listener's init error (-EADDRINUSE, ...).
 */
int atoll_tcp_listener_spawn(atoll_ctx *ctx, const struct atoll_params *p,
			     const struct atoll_actor_type *conn_type, const void *conn_arg,
			     void (*release)(const void *conn_arg), atoll_ref *listener);

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_TCP_LISTENER_H */
