/*
 * echo.h - the TCP echo server as an actor type: every byte a client sends
 * comes back to it, without a copy (the received message, which owns a
 * buffer of the reactor's provided-buffer ring, is queued on the stream as
 * it is and the buffer goes back to the ring once sent).
 *
 * "echo" (struct atoll_type_info echo_info) is the server: each echo actor
 * runs a TCP listener on its own reactor, and all of a group share one port
 * with SO_REUSEPORT, as examples/echo does, so the kernel spreads clients
 * over the reactors and a connection lives on the core that accepted it.
 * In a topology:
 *
 *   [echo]
 *   type = echo
 *   placement = each
 *   port = 7000
 *
 * Parameters: port (default 7000), bind (default 127.0.0.1),
 * max_connections (per member, default 0: no limit). A client that reads
 * none of its echoes for 5 s while more wait for it is disconnected (its
 * queued echoes hold ring buffers every connection of the reactor shares).
 */
#ifndef ATOLL_ECHO_H
#define ATOLL_ECHO_H

#include <atoll.h>

#include "lib_msg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Message types of the echo connection actor: its own, internal. */
enum atoll_echo_msg {
	/* Stream -> connection: bytes received, or the end. */
	ATOLL_ECHO_RECV = ATOLL_LIB_MSG_BLOCK(10),
	/* Connection -> itself: have the queued echoes gone out? */
	ATOLL_ECHO_SEND_CHECK,
};

/* The echo server type, for topologies and atoll list. Init argument:
 * const struct atoll_params * (port, bind, max_connections). Init fails
 * with the listener's error (-EADDRINUSE, ...), printed on stderr. */
extern const struct atoll_type_info echo_info;

/*
 * The connection actor, for a program that runs its own listeners
 * (atoll_tcp_listener_args.conn_type = &atoll_echo_conn_type, conn_arg
 * unused): examples/echo does.
 */
extern const struct atoll_actor_type atoll_echo_conn_type;

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_ECHO_H */
