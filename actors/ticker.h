/*
 * ticker.h - an actor that sends a message to every member of a linked group
 * at a fixed period, `count` times or forever: the clock of a topology.
 *
 * Parameters:
 *   every  DURATION  the period (default 1s, at least 1us)
 *   count  INT       ticks to send, then the ticker stops itself (0: forever)
 *   msg    INT       the message type to send (0: ATOLL_TICKER_TICK)
 *   to     LINK      the group that gets the ticks (each member, each tick)
 *
 * Each tick is a new message per member, payload: uint64_t sequence number,
 * from 1. The ticker drives itself with one periodic timer to itself
 * (atoll_send_every), armed in init, so it needs no message to start; it
 * cancels it after the last tick. Ticks to a member that stopped are dead
 * letters, counted by the runtime.
 *
 * Accepts ATOLL_LIB_STATS (out = ticks sent).
 */
#ifndef ATOLL_TICKER_H
#define ATOLL_TICKER_H

#include "lib_msg.h"

#ifdef __cplusplus
extern "C" {
#endif

enum atoll_ticker_msg {
	/* A tick (when `msg` is 0); payload: uint64_t sequence number. */
	ATOLL_TICKER_TICK = ATOLL_LIB_MSG_BLOCK(1),
	/* The ticker's own timer message. No payload. Internal. */
	ATOLL_TICKER_TIMER,
};

/* The ticker actor type; its init takes a const struct atoll_params *. */
extern const struct atoll_actor_type atoll_ticker_type;
/* Its description for topologies and `atoll list`. */
extern const struct atoll_type_info atoll_ticker_info;

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_TICKER_H */
