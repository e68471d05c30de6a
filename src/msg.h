/*
 * msg.h - the per-reactor pool of small message blocks.
 *
 * Messages whose inline payload fits ATOLL__POOL_PAYLOAD bytes are carved
 * from fixed-size blocks marked ATOLL__MSGF_POOLED. A reactor thread keeps a
 * LIFO free list of such blocks (hot in its cache) and reuses them before
 * asking jemalloc. A block remembers its home reactor; freed at home it goes
 * back on the list (up to ATOLL__POOL_MAX), freed anywhere else it goes to
 * jemalloc, which returns it to its home arena in batches of its own.
 * Sending blocks home over the rings instead was measured and lost (see
 * docs/architecture.md, Memory). Sanitizer builds have no pool, so ASan sees
 * every message's lifetime.
 */
#ifndef ATOLL_MSG_INTERNAL_H
#define ATOLL_MSG_INTERNAL_H

#include <stdint.h>

#include "atoll/msg.h"

/* 16 bytes of payload make an 80-byte block, jemalloc's size class for a
 * bare message: larger blocks cost cross-core throughput (more lines move
 * between caches per message). */
#define ATOLL__POOL_PAYLOAD 16u
#define ATOLL__POOL_MAX 8192u
#define ATOLL__MSGF_POOLED 1u
/* A message no mailbox limit may refuse or drop: I/O completions, and the
 * answer of a timed ask once it is in the mailbox (cleared when the actor
 * receives it, so a forwarded one is ordinary). */
#define ATOLL__MSGF_EXEMPT 4u /* (2 is ATOLL_MSGF_IO, atoll/io.h) */
/* The request of an atoll_ask_timeout: atoll_reply marks its reply. */
#define ATOLL__MSGF_ASKED 8u
/* The reply to an atoll_ask_timeout: checked against the asker's pending
 * asks on arrival. */
#define ATOLL__MSGF_ANSWER 16u
/* Bits 16-31 of a pooled block's flags: home reactor index + 1 (0: none). */
#define ATOLL__MSGF_HOME_SHIFT 16u

struct atoll__msg_pool {
	atoll_msg *head;
	uint32_t count;
	uint32_t home; /* this reactor's index + 1 */
};

/* The calling thread's pool, or NULL (set for reactor threads). */
extern _Thread_local struct atoll__msg_pool *atoll__tls_pool;

/* Frees every block in pool. */
void atoll__msg_pool_drain(struct atoll__msg_pool *pool);

#endif /* ATOLL_MSG_INTERNAL_H */
