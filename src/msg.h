/*
 * msg.h - the per-reactor pool of small message blocks.
 *
 * Messages whose inline payload fits ATOLL__POOL_PAYLOAD bytes are carved
 * from fixed-size blocks marked ATOLL__MSGF_POOLED. A reactor thread keeps a
 * LIFO free list of such blocks (hot in its cache) and reuses them before
 * asking jemalloc; a block freed on another reactor joins that reactor's
 * list, up to ATOLL__POOL_MAX blocks, beyond which it goes back to jemalloc
 * (and from there to its home arena). Sanitizer builds have no pool, so
 * ASan sees every message's lifetime.
 */
#ifndef ATOLL_MSG_INTERNAL_H
#define ATOLL_MSG_INTERNAL_H

#include <stdint.h>

#include "atoll/msg.h"

#define ATOLL__POOL_PAYLOAD 64u
#define ATOLL__POOL_MAX 8192u
#define ATOLL__MSGF_POOLED 1u

struct atoll__msg_pool {
	atoll_msg *head;
	uint32_t count;
};

/* The calling thread's pool, or NULL (set for reactor threads). */
extern _Thread_local struct atoll__msg_pool *atoll__tls_pool;

/* Frees every block in pool. */
void atoll__msg_pool_drain(struct atoll__msg_pool *pool);

#endif /* ATOLL_MSG_INTERNAL_H */
