/*
 * timer.h - a reactor's timers: a binary min-heap of deadlines over a table
 * of timer records. Records are named by (index, generation) so a cancel of
 * a timer that already fired is detected. Owned by one reactor; no locks.
 */
#ifndef ATOLL_TIMER_INTERNAL_H
#define ATOLL_TIMER_INTERNAL_H

#include <stdint.h>

#include "atoll/msg.h"
#include "atoll/timer.h"

struct atoll__timer_rec {
	uint64_t deadline; /* CLOCK_MONOTONIC ns */
	uint64_t seq;      /* creation order, breaks ties */
	uint64_t period;   /* 0 = one-shot */
	atoll_ref to;
	atoll_msg *msg;    /* owned by the timer */
	uint32_t gen;      /* bumped when the record is freed */
	uint32_t heap_pos; /* index in heap, or UINT32_MAX when free */
};

struct atoll__timers {
	struct atoll__timer_rec *recs;
	uint32_t *heap; /* record indices ordered by (deadline, seq) */
	uint32_t nheap;
	uint32_t cap;
	uint32_t *free_recs; /* stack of free record indices */
	uint32_t nfree;
	uint64_t next_seq;
};

void atoll__timers_init(struct atoll__timers *tm);

/* Frees every record, with its message. */
void atoll__timers_destroy(struct atoll__timers *tm);

/* Adds a timer owning msg. Returns 0 and the id in *id, or -ENOMEM (msg is
 * then still the caller's). */
int atoll__timers_add(struct atoll__timers *tm, uint64_t deadline, uint64_t period, atoll_ref to,
		      atoll_msg *msg, atoll_timer *id);

/* Removes a timer and frees its message. Returns 0 or -ENOENT. */
int atoll__timers_cancel(struct atoll__timers *tm, atoll_timer id);

/* Earliest deadline, or 0 when there is no timer. */
static inline uint64_t atoll__timers_next(const struct atoll__timers *tm)
{
	return tm->nheap != 0 ? tm->recs[tm->heap[0]].deadline : 0;
}

/*
 * Takes the earliest timer if its deadline is <= now. For a one-shot timer,
 * returns its message (now the caller's) and frees the record; for a
 * periodic one, returns the template (still the timer's: copy it) and
 * reschedules it. *to receives the target, *id the timer. Returns NULL when
 * nothing is due.
 */
atoll_msg *atoll__timers_pop_due(struct atoll__timers *tm, uint64_t now, atoll_ref *to,
				 atoll_timer *id, int *periodic);

#endif /* ATOLL_TIMER_INTERNAL_H */
