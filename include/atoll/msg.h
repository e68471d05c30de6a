/*
 * atoll/msg.h - messages and the ownership rule.
 *
 * A message is one allocation: this header followed by an inline payload, or
 * a header whose data points at an attached buffer. Exactly one party owns a
 * message at any time:
 *
 *   - atoll_msg_new() returns a message owned by the caller;
 *   - atoll_send() (and every function that "takes" a message) moves
 *     ownership to the runtime, even when it fails: the caller must not touch
 *     the message afterwards;
 *   - while an actor's receive() runs, the actor owns the message it was given.
 *     When receive() returns, the runtime frees it, unless receive() passed it
 *     on (atoll_send, atoll_ask, atoll_reply, atoll_send_after) or called
 *     atoll_msg_keep(), in which case the new owner is whoever got it.
 *
 * Forwarding a message, even to another core, moves the pointer: the payload is
 * never copied.
 */
#ifndef ATOLL_MSG_H
#define ATOLL_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "ref.h"

#ifdef __cplusplus
extern "C" {
#endif

struct atoll_msg;
typedef struct atoll_msg atoll_msg;

/* Called when a message with an attached buffer is freed (see attach). */
typedef void (*atoll_msg_release_fn)(atoll_msg *msg);

/*
 * The message header. Fields marked "runtime" belong to the runtime and must
 * not be written by actors; the others are the sender's to fill in.
 */
struct atoll_msg {
	atoll_msg *next;              /* runtime: intrusive queue link */
	atoll_ref to;                 /* runtime: destination, set by send */
	atoll_ref reply_to;           /* who should get the answer, or NONE */
	uint64_t corr;                /* correlation id for ask/reply, or 0 */
	void *data;                   /* payload: inline, or an attached buffer */
	uint32_t type;                /* user message type (>= ATOLL_MSG_USER) */
	uint32_t len;                 /* bytes of payload in use */
	uint32_t cap;                 /* bytes of payload available at data */
	uint32_t flags;               /* runtime: ATOLL_MSGF_* */
	atoll_msg_release_fn release; /* runtime: frees an attached buffer */
};

/* Message types below this value are reserved for the runtime. */
#define ATOLL_MSG_USER 64u

/* Reserved message types an actor may receive. */
enum atoll_msg_sys {
	ATOLL_MSG_NONE = 0,
	/* Sent to an actor asked to stop with atoll_stop(); receive() does not
	 * see it: the runtime runs the type's stop hook instead. */
	ATOLL_MSG_STOP = 1,
	/* Runtime-internal: spawn on another core. Never seen by actors. */
	ATOLL_MSG_SPAWN = 2,
	/* Runtime-internal: a receive buffer going back to its home ring. */
	ATOLL_MSG_BUF_RETURN = 3,
	/* A monitored actor stopped (atoll_monitor). Payload: struct atoll_down
	 * (atoll/failure.h). */
	ATOLL_MSG_DOWN = 4,
	/* A linked actor stopped and this actor traps exits (atoll_link,
	 * atoll_trap_exit). Payload: struct atoll_down, monitor 0. */
	ATOLL_MSG_EXIT = 5,
	/* An atoll_ask_timeout got no reply in time. No payload; corr is the
	 * ask's correlation id. */
	ATOLL_MSG_TIMEOUT = 6,
	/* A message refused by a bounded mailbox on another core (policy
	 * ATOLL_OVERFLOW_REJECT), back at its reply_to. Payload: struct
	 * atoll_rejected (atoll/failure.h); corr is the refused message's. */
	ATOLL_MSG_REJECTED = 7,
	/* Runtime-internal: monitor, demonitor, link and unlink requests to
	 * another core. Never seen by actors. */
	ATOLL_MSG_MONITOR = 8,
	ATOLL_MSG_DEMONITOR = 9,
	ATOLL_MSG_LINK = 10,
	ATOLL_MSG_UNLINK = 11,
};

/*
 * Allocates a message of the given type with an inline payload of len bytes
 * (uninitialised), from the calling reactor's memory arena (or the default
 * arena outside a reactor). Any thread may call it.
 * Returns the message, owned by the caller, or NULL when out of memory.
 */
atoll_msg *atoll_msg_new(uint32_t type, size_t len);

/*
 * Allocates a message whose payload is a copy of the len bytes at data.
 * Returns the message, owned by the caller, or NULL when out of memory.
 */
atoll_msg *atoll_msg_new_copy(uint32_t type, const void *data, size_t len);

/*
 * Frees a message the caller owns, running its release hook first when a
 * buffer is attached. NULL is a no-op. Any thread may call it. Inside
 * receive(), freeing the message being received is allowed: the runtime then
 * does not free it again.
 */
void atoll_msg_free(atoll_msg *msg);

/*
 * Attaches an external buffer to msg in place of the inline payload: data,
 * len and cap describe it, and release (if not NULL) is called with msg when
 * the message is freed, to give the buffer back. The message owns the buffer
 * from now on. Used by the I/O layer for kernel-owned buffers.
 */
void atoll_msg_attach(atoll_msg *msg, void *data, uint32_t len, uint32_t cap,
		      atoll_msg_release_fn release);

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_MSG_H */
