/*
 * generator.h - a load source: sends `records` text records as ATOLL_LIB_DATA
 * to a linked group (round-robin over its members), a burst per turn, then
 * one ATOLL_LIB_END to each member.
 *
 * Record i (from 0) is the line "seq=i value=V" (no '\n') with
 * V = atoll_generator_value(i), so a sink can check what it got.
 *
 * Parameters:
 *   records  INT       how many records (default 100000; 0: only the ENDs)
 *   to       LINK      the next stage (acyclic)
 *   burst    INT       records sent per turn before yielding (default 64)
 *   rate     INT       records per second at most (0: as fast as possible)
 *   pause    DURATION  how long to wait after backpressure (default 200us)
 *   malformed  INT     every Nth record (i % N == N - 1) is "seq=i value=?",
 *                      which a parser refuses (default 0: none)
 *
 * Backpressure: when atoll_send answers ATOLL_SENT_QUEUED (a cross-core
 * ring is full; the record is queued, not lost), the generator ends its
 * burst and resumes after `pause` from a timer, so the queue drains instead
 * of growing; each such pause is counted. It starts by sending itself a
 * message from init and keeps running (answering STATS) after its ENDs.
 *
 * Accepts ATOLL_LIB_STATS: out = records sent, bytes = their payload bytes,
 * in = pauses for backpressure, dropped = records whose send failed.
 */
#ifndef ATOLL_GENERATOR_H
#define ATOLL_GENERATOR_H

#include "lib_msg.h"

#ifdef __cplusplus
extern "C" {
#endif

enum atoll_generator_msg {
	/* The generator's own "send the next burst" message. Internal. */
	ATOLL_GENERATOR_GO = ATOLL_LIB_MSG_BLOCK(2),
};

/* The value carried by record seq: a fixed scramble of seq into 0..999999. */
static inline uint64_t atoll_generator_value(uint64_t seq)
{
	return ((seq + 1) * 0x9E3779B97F4A7C15ull >> 32) % 1000000u;
}

/* The generator actor type; its init takes a const struct atoll_params *. */
extern const struct atoll_actor_type atoll_generator_type;
/* Its description for topologies and `atoll list`. */
extern const struct atoll_type_info atoll_generator_info;

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_GENERATOR_H */
