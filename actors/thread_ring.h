/*
 * thread_ring.h - the Savina "thread ring": the members of a group, in a
 * circle, pass one token `hops` times. Placed round-robin over the reactors
 * (placement = spread), nearly every hop crosses cores: a measure of the
 * cross-core rings and of waking a reactor that sleeps.
 *
 * Member i passes the token to member i + 1 (the last to member 0); member 0
 * launches it. The member holding it when no hops are left prints
 *
 *   thread-ring: 503 actors on 2 reactors, 1000000 hops in 812 ms (812 ns/hop), ended at member 16
 * (expected 16): ok
 *
 * (the expected holder is hops mod members) and, with stop_at_end, stops the
 * runtime.
 *
 * Topology:
 *   [ring]
 *   type = thread-ring
 *   count = 503
 *   placement = spread
 *   hops = 1000000
 */
#ifndef ATOLL_ACTORS_THREAD_RING_H
#define ATOLL_ACTORS_THREAD_RING_H

#include <atoll.h>

#include "lib_msg.h"

enum thread_ring_msg {
	/* member -> next member; payload: struct thread_ring_token. */
	THREAD_RING_TOKEN = ATOLL_LIB_MSG_BLOCK(13),
};

struct thread_ring_token {
	uint64_t hops_left; /* the holder at 0 ends the run */
	uint64_t start_ns;  /* when member 0 launched it */
};

extern const struct atoll_actor_type thread_ring_type;
extern const struct atoll_type_info thread_ring_info;

#endif /* ATOLL_ACTORS_THREAD_RING_H */
