/*
 * atoll/timer.h - delayed and periodic messages.
 *
 * Each reactor keeps its timers in one min-heap ordered by deadline, and
 * wakes for the earliest with a single IORING_OP_TIMEOUT. Timers belong to
 * the reactor that created them: cancel them from the same reactor. Timers
 * with equal deadlines fire in the order they were created.
 */
#ifndef ATOLL_TIMER_H
#define ATOLL_TIMER_H

#include <stdint.h>

#include "actor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Names a timer, for cancelling it. 0 is never a valid timer. */
typedef uint64_t atoll_timer;

/*
 * Sends msg to `to` after ns nanoseconds. Takes ownership of msg (freed on
 * failure or cancel). Stores the timer in *timer when timer is not NULL.
 * Returns 0, -EINVAL (a ref that names no reactor) or -ENOMEM.
 */
int atoll_send_after(atoll_ctx *ctx, atoll_ref to, atoll_msg *msg, uint64_t ns, atoll_timer *timer);

/*
 * Sends a copy of msg to `to` every period_ns nanoseconds, the first after
 * one period, until cancelled or until `to` has stopped. Takes ownership of
 * msg (it is the template; freed when the timer ends). period_ns must be > 0.
 * Returns 0, -EINVAL (period_ns is 0, or a ref that names no reactor) or
 * -ENOMEM.
 */
int atoll_send_every(atoll_ctx *ctx, atoll_ref to, atoll_msg *msg, uint64_t period_ns,
		     atoll_timer *timer);

/*
 * Cancels a timer created on this reactor. A one-shot timer that has
 * already fired, or a cancelled one, gives -ENOENT. Returns 0 or -ENOENT.
 */
int atoll_timer_cancel(atoll_ctx *ctx, atoll_timer timer);

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_TIMER_H */
