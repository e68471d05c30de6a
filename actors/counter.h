/*
 * counter.h - a stats sink: counts the messages and payload bytes it
 * receives, per message type, and drops them. Prints a summary line on
 * stdout once, when it has the `ends` ENDs it waits for or else when it
 * stops:
 *
 *   counter sink: 8000 messages, 152000 bytes (ends 8)
 *
 * ("sink" being its group's name in a topology; none when standalone)
 * and, every `report` interval, the same with per-type counts on stderr.
 *
 * Parameters:
 *   report       DURATION  interval of the stderr report (default 0: none)
 *   ends         INT       ENDs after which to print the summary (0: none)
 *   stop_at_end  BOOL      stop the runtime after that summary (default no)
 *
 * Accepts any message (counted; END also counted toward `ends`), and,
 * answered and not counted: ATOLL_LIB_STATS (in = messages, bytes),
 * ATOLL_COUNTER_GET (the counts of one type).
 */
#ifndef ATOLL_COUNTER_H
#define ATOLL_COUNTER_H

#include "lib_msg.h"

#ifdef __cplusplus
extern "C" {
#endif

enum atoll_counter_msg {
	/* Payload: uint32_t a message type. Reply (atoll_reply):
	 * ATOLL_COUNTER_GET_REPLY with a struct atoll_counter_entry. */
	ATOLL_COUNTER_GET = ATOLL_LIB_MSG_BLOCK(3),
	ATOLL_COUNTER_GET_REPLY,
	/* The report timer. Internal. */
	ATOLL_COUNTER_REPORT,
};

/* What the counter knows of one message type. */
struct atoll_counter_entry {
	uint32_t type;
	uint32_t reserved;
	uint64_t messages;
	uint64_t bytes;
};

/* The counter actor type; its init takes a const struct atoll_params *. */
extern const struct atoll_actor_type atoll_counter_type;
/* Its description for topologies and `atoll list`. */
extern const struct atoll_type_info atoll_counter_info;

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_COUNTER_H */
