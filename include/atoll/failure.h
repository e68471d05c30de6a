/*
 * atoll/failure.h - failing actors, monitors and links.
 *
 * An actor fails by calling atoll_fail() in receive (or by returning an error
 * from init). A failed actor stops when its receive returns: its stop hook
 * runs and the messages still in its mailbox become dead letters. Others
 * learn of it through monitors (one-way: the watcher gets an ATOLL_MSG_DOWN
 * message) and links (two-way: the failure propagates to the linked actor,
 * which fails in turn, unless it traps exits and then gets ATOLL_MSG_EXIT).
 * Both work across cores: a request to an actor on another core is a message
 * to that core, as a spawn is. DOWN and EXIT come after every message the
 * stopped actor sent to the same receiver. A runtime stop notifies nobody.
 *
 * Every function here takes the ctx of the calling actor and must be called
 * on its reactor thread, from init, receive or stop.
 */
#ifndef ATOLL_FAILURE_H
#define ATOLL_FAILURE_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "actor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes kept of a failure's text, NUL included (longer text is cut). */
#define ATOLL_FAIL_TEXT_MAX 64

/* Why an actor stopped, in struct atoll_down.reason. */
enum atoll_exit_reason {
	ATOLL_EXIT_NORMAL = 0, /* atoll_stop, or it stopped itself */
	ATOLL_EXIT_FAILED = 1, /* atoll_fail, init error, or a linked failure */
	ATOLL_EXIT_NOPROC = 2, /* it had already stopped when asked */
};

/* The code of an actor failed because a linked actor failed (the text then
 * says "linked actor failed"). */
#define ATOLL_FAIL_LINKED (-ENOLINK)

/* The text of an actor whose init returned an error (its code is that
 * error); an init that called atoll_fail keeps its own text. */
#define ATOLL_FAIL_INIT_TEXT "init failed"

/* Payload of ATOLL_MSG_DOWN and ATOLL_MSG_EXIT. */
struct atoll_down {
	atoll_ref who;                  /* the actor that stopped */
	uint64_t monitor;               /* the monitor id (DOWN), 0 for EXIT */
	int32_t reason;                 /* enum atoll_exit_reason */
	int32_t code;                   /* the failure code (FAILED), else 0 */
	char text[ATOLL_FAIL_TEXT_MAX]; /* the failure text, NUL-terminated */
};

/* Payload of ATOLL_MSG_REJECTED: the refused message, owned by the
 * rejection; take it (set msg to NULL) to keep or resend it, else it is
 * freed with the rejection. */
struct atoll_rejected {
	atoll_ref target; /* the actor whose mailbox was full */
	atoll_msg *msg;   /* the message it refused */
};

/*
 * Fails the calling actor with code (e.g. -errno, or a code of the
 * application's) and a printf-style text (fmt may be NULL), of which
 * ATOLL_FAIL_TEXT_MAX - 1 bytes are kept. The actor stops when the current
 * callback returns (from init: init's return is ignored, the actor does not
 * start). Its monitors get DOWN with reason FAILED, its links fail too or get
 * EXIT. The first failure's reason wins. Counted in stats.failures.
 */
void atoll_fail(atoll_ctx *ctx, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Monitors target: when it stops, for any reason, the calling actor gets one
 * ATOLL_MSG_DOWN with monitor id *monitor. If target has already stopped,
 * the DOWN (reason NOPROC) comes at once (on this core) or when the request
 * reaches target's core. Monitoring the same actor twice gives two monitors.
 * Returns 0, -EINVAL (no calling actor, self, a ref naming no reactor) or
 * -ENOMEM.
 */
int atoll_monitor(atoll_ctx *ctx, atoll_ref target, uint64_t *monitor);

/*
 * Removes a monitor of the calling actor. No DOWN for it is delivered after
 * this returns, even one already on its way. Returns 0 or -ENOENT.
 */
int atoll_demonitor(atoll_ctx *ctx, uint64_t monitor);

/*
 * Links the calling actor and other, both ways (once: linking twice is one
 * link). When either stops FAILED, the other fails with ATOLL_FAIL_LINKED,
 * or gets ATOLL_MSG_EXIT if it traps exits; a NORMAL stop only reaches
 * actors that trap exits. If other is found already stopped on another core,
 * the caller is told as if other failed with reason NOPROC.
 * Returns 0, -ESRCH (other is on this core and has stopped), -EINVAL (no
 * calling actor, self, bad ref) or -ENOMEM.
 */
int atoll_link(atoll_ctx *ctx, atoll_ref other);

/*
 * Removes the link between the calling actor and other, both ways. An EXIT
 * from other already on its way is then ignored. Returns 0 or -ENOENT.
 */
int atoll_unlink(atoll_ctx *ctx, atoll_ref other);

/*
 * Sets whether the calling actor traps exits: with on, failures of linked
 * actors arrive as ATOLL_MSG_EXIT instead of failing it, and so do normal
 * stops. Returns 0, -EINVAL (no calling actor) or -ENOMEM.
 */
int atoll_trap_exit(atoll_ctx *ctx, bool on);

/* The payload of a DOWN or EXIT message, else NULL. */
const struct atoll_down *atoll_down_of(const atoll_msg *msg);

/* The payload of a REJECTED message, else NULL. */
struct atoll_rejected *atoll_rejected_of(atoll_msg *msg);

/* Counts one restart in the calling reactor's stats.restarts: for
 * supervisors (actors/supervisor.h). */
void atoll_count_restart(atoll_ctx *ctx);

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_FAILURE_H */
