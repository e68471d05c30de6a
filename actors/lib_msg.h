/*
 * lib_msg.h - message types the actor library's actors share, so stages from
 * different modules connect in a topology (generator -> parser -> aggregator
 * -> file sink, router -> workers, topic -> subscribers).
 *
 * Numbers: the shared types below sit at ATOLL_LIB_MSG_BASE; each library
 * actor's own types (in its header) take the block ATOLL_LIB_MSG_BASE +
 * 0x100 * k given next to its name here, so no two collide. User actors
 * should use numbers below ATOLL_LIB_MSG_BASE (from ATOLL_MSG_USER).
 */
#ifndef ATOLL_LIB_MSG_H
#define ATOLL_LIB_MSG_H

#include <errno.h>
#include <string.h>

#include <atoll.h>

#define ATOLL_LIB_MSG_BASE 0x10000u

enum atoll_lib_msg {
	/* One record: the payload is its bytes (a line of text carries no
	 * '\n'). What generators produce, parsers transform, aggregators
	 * batch, sinks write, routers and topics pass on. */
	ATOLL_LIB_DATA = ATOLL_LIB_MSG_BASE + 1,
	/* End of a stream: the sender will send no more DATA to this
	 * receiver. A stage passes it on to every member of its next stage
	 * after what it holds (an aggregator flushes first), one END out per
	 * END in, so a sink expects as many ENDs as its upstream sends
	 * (file-sink's `ends`). Payload: uint64_t, the records (lines) the
	 * sender sent to this receiver since its previous END to it, so a sink
	 * can check that it got them all. */
	ATOLL_LIB_END,
	/* Asks an actor for its counters; the reply (atoll_reply) is
	 * ATOLL_LIB_STATS_REPLY with a struct atoll_lib_stats payload. */
	ATOLL_LIB_STATS,
	ATOLL_LIB_STATS_REPLY,
};

/* The counters any library actor reports to ATOLL_LIB_STATS. */
struct atoll_lib_stats {
	uint64_t in;      /* messages received */
	uint64_t out;     /* messages sent on */
	uint64_t bytes;   /* payload bytes handled */
	uint64_t dropped; /* messages it could not pass on */
};

/* Replies to an ATOLL_LIB_STATS request with a copy of *stats. Returns as
 * atoll_reply, or -ENOMEM. Call on the replying actor's reactor. */
static inline int atoll_lib_reply_stats(atoll_ctx *ctx, const atoll_msg *request,
					const struct atoll_lib_stats *stats)
{
	atoll_msg *m = atoll_msg_new_copy(ATOLL_LIB_STATS_REPLY, stats, sizeof(*stats));

	return m != NULL ? atoll_reply(ctx, request, m) : -ENOMEM;
}

/* Sends ATOLL_LIB_END carrying `records` to `to`. Returns as atoll_send, or
 * -ENOMEM. */
static inline int atoll_lib_send_end(atoll_ctx *ctx, atoll_ref to, uint64_t records)
{
	return atoll_tell(ctx, to, ATOLL_LIB_END, &records, sizeof(records));
}

/* The record count an ATOLL_LIB_END carries (0 when it carries none). */
static inline uint64_t atoll_lib_end_records(const atoll_msg *end)
{
	uint64_t n = 0;

	if (end->len == sizeof(n))
		memcpy(&n, end->data, sizeof(n));
	return n;
}

/* Blocks of per-actor types, ATOLL_LIB_MSG_BASE + 0x100 * k. */
#define ATOLL_LIB_MSG_BLOCK(k) (ATOLL_LIB_MSG_BASE + 0x100u * (k))
/* k: 1 ticker, 2 generator, 3 counter, 4 logger, 5 file_sink, 6 router,
 * 7 topic, 8 aggregator, 9 line server, 10 echo, 11 parser, 12 pingpong,
 * 13 ring, 14 fanout, 15 chat, 16 kv, 17 supervisor; 32 and up: free. */

#endif /* ATOLL_LIB_MSG_H */
