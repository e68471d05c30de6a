/*
 * aggregator.h - a batching stage: joins up to `batch` DATA records with
 * '\n' into one DATA message for a linked group (round-robin over its
 * members, a batch each), or sends what it has once `linger` has passed
 * since the first record of the batch. END flushes the batch, then goes on
 * to every member.
 *
 * Parameters:
 *   to      LINK      the next stage (acyclic)
 *   batch   INT       records per batch at most (default 64)
 *   linger  DURATION  the longest a record waits for its batch to fill
 *                     (default 10ms; 0: only full batches, and END)
 *
 * Ownership: records are copied into a growing buffer of the aggregator's;
 * a flush attaches that buffer to the outgoing message (atoll_msg_attach,
 * released with free() by whoever frees the message, on any core), so the
 * batch is copied once. Each incoming record is freed by the runtime.
 *
 * Accepts ATOLL_LIB_DATA, ATOLL_LIB_END (out: END to every member, with the
 * records, not batches, sent to it), ATOLL_LIB_STATS (in = records,
 * out = batches, bytes = batch bytes sent).
 */
#ifndef ATOLL_AGGREGATOR_H
#define ATOLL_AGGREGATOR_H

#include "lib_msg.h"

#ifdef __cplusplus
extern "C" {
#endif

enum atoll_aggregator_msg {
	/* The linger timer; payload: uint64_t the batch it was set for.
	 * Internal. */
	ATOLL_AGGREGATOR_LINGER = ATOLL_LIB_MSG_BLOCK(8),
};

/* The aggregator actor type; its init takes a const struct atoll_params *. */
extern const struct atoll_actor_type atoll_aggregator_type;
/* Its description for topologies and `atoll list`. */
extern const struct atoll_type_info atoll_aggregator_info;

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_AGGREGATOR_H */
