/*
 * pingpong.h - two actors bouncing a message: the smallest round trip,
 * on one core or across two.
 *
 * A pingpong actor with a `peer` link is a pinger: it sends PING to the
 * member of the peer group at its own index (modulo the group's size),
 * `rounds` times, waiting for each PONG, then prints one line on stdout:
 *
 *   pingpong: ping.1 (core 0) <-> pong.1 (core 1): 100000 round trips, 2100 ns each
 *
 * and tells member 0 of its own group, which, once every pinger of the group
 * is done, prints "pingpong: N pairs done" and (stop_at_end) stops the
 * runtime. A pingpong actor without a peer only answers: each PING comes
 * back to its sender as PONG, the same message (no allocation per trip).
 *
 * Topology:
 *   [ping]                     [pong]
 *   type = pingpong            type = pingpong
 *   count = 2                  count = 2
 *   cores = 0                  cores = 0,1
 *   peer = pong
 *   rounds = 100000
 */
#ifndef ATOLL_ACTORS_PINGPONG_H
#define ATOLL_ACTORS_PINGPONG_H

#include <atoll.h>

#include "lib_msg.h"

enum pingpong_msg {
	/* pinger -> answerer; payload: uint64_t rounds left. reply_to: the
	 * pinger. */
	PINGPONG_PING = ATOLL_LIB_MSG_BLOCK(12),
	/* answerer -> pinger: the PING message itself, retyped. */
	PINGPONG_PONG,
	/* pinger -> member 0 of its group: this pinger is done. No payload. */
	PINGPONG_DONE,
};

extern const struct atoll_actor_type pingpong_type;
extern const struct atoll_type_info pingpong_info;

#endif /* ATOLL_ACTORS_PINGPONG_H */
