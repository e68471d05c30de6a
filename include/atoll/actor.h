/*
 * atoll/actor.h - actor types, spawning, sending, stopping.
 *
 * An actor is a state struct plus a receive function, described by a const
 * struct atoll_actor_type in the actor's own module. Each actor lives on one
 * reactor (core) and has a private mailbox that only that reactor touches.
 * Every function here that takes an atoll_ctx must be called on the reactor
 * thread that ctx belongs to (from init, receive or stop of an actor there).
 *
 * Order: messages from one sender to one receiver are delivered in the order
 * they were sent, on the same core and across cores.
 */
#ifndef ATOLL_ACTOR_H
#define ATOLL_ACTOR_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "ref.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The per-reactor context handed to every actor callback. Opaque. */
typedef struct atoll_ctx atoll_ctx;

/*
 * An actor type. Declare it const, with designated initializers, at the end
 * of the actor's module:
 *
 *   const struct atoll_actor_type echo_type = {
 *       .name = "echo",                 // for logs, stats and topologies
 *       .state_size = sizeof(struct echo),
 *       .init = echo_init,              // optional
 *       .receive = echo_receive,        // required
 *       .stop = echo_stop,              // optional
 *   };
 */
struct atoll_actor_type {
	/* Short name, used in logs and by topologies. Required. */
	const char *name;
	/* Bytes of zeroed state the runtime allocates for each actor. */
	size_t state_size;
	/* Runs once on the actor's reactor before any message is delivered.
	 * arg is the pointer given to atoll_spawn. Returns 0, or -errno to
	 * refuse to start (the actor is then freed and its mailbox dropped to
	 * dead letters). Optional. */
	int (*init)(atoll_ctx *ctx, void *state, const void *arg);
	/* Handles one message. The actor owns msg until it returns (see
	 * atoll/msg.h). Must not block. Required. */
	void (*receive)(atoll_ctx *ctx, void *state, atoll_msg *msg);
	/* Runs once when the actor stops (atoll_stop, or runtime stop), after
	 * its last receive. May send messages. Must not free state (the runtime
	 * does). Optional. */
	void (*stop)(atoll_ctx *ctx, void *state);
};

/* Spawn placement: on the calling actor's reactor. */
#define ATOLL_HERE (-1)

/*
 * Creates an actor of the given type on reactor `where` (an index in
 * [0, atoll_ncores(ctx)), or ATOLL_HERE) and stores its ref in *ref (ref may
 * be NULL when the caller does not need it).
 *
 * On the calling reactor, init runs before atoll_spawn returns and its error
 * is returned. On another reactor, spawning is a message to that reactor:
 * the ref is valid at once (messages sent to it queue until init has run),
 * init runs there later, so arg must stay valid until then, and an init
 * failure is logged and counted there.
 *
 * Returns 0, -EINVAL (bad type or where), -ENOMEM, -EAGAIN (actor table
 * full), or init's error.
 */
int atoll_spawn(atoll_ctx *ctx, const struct atoll_actor_type *type, const void *arg, int where,
		atoll_ref *ref);

/* What a bounded mailbox does with a message that finds it full. */
enum atoll_overflow {
	/* Refuse it: a sender on the same core gets -ENOBUFS from atoll_send;
	 * from another core the message comes back to its reply_to as an
	 * ATOLL_MSG_REJECTED (a message without reply_to gets the sending
	 * actor as reply_to). */
	ATOLL_OVERFLOW_REJECT = 0,
	/* Drop the message that arrives (counted in mailbox_dropped). */
	ATOLL_OVERFLOW_DROP_NEWEST = 1,
	/* Drop the oldest ordinary message waiting, then queue the new one. */
	ATOLL_OVERFLOW_DROP_OLDEST = 2,
};

/* atoll_spawn_opts flags. */
/* Link the caller and the new actor before its init runs (atoll_link). */
#define ATOLL_SPAWN_LINK 1u

/* Options for atoll_spawn_opts. Zero-initialise: all zero is atoll_spawn. */
struct atoll_spawn_opts {
	/* Messages the mailbox may hold; 0: unbounded. System messages (stop,
	 * DOWN, EXIT, TIMEOUT, REJECTED, I/O completions) always enter and
	 * count, but are never refused or dropped. */
	unsigned mailbox_limit;
	/* What a full mailbox does with an ordinary message. */
	enum atoll_overflow overflow;
	/* ATOLL_SPAWN_LINK, or 0. */
	unsigned flags;
	/* When not NULL, the caller monitors the new actor from before its init
	 * runs and the monitor id is stored here (atoll_monitor): an init
	 * failure is then reported as a DOWN, on any core. */
	uint64_t *monitor;
	/* When not ATOLL_REF_NONE, an alias (atoll_alias_new) on the reactor
	 * the actor is spawned on: the actor answers to it as well as to its
	 * own ref, until it stops. */
	atoll_ref alias;
};

/*
 * atoll_spawn with options: a bounded mailbox, a link, a monitor or an alias
 * set up atomically with the spawn. With ATOLL_SPAWN_LINK or a monitor, an
 * init failure on this core is reported by EXIT/DOWN, and this returns 0
 * with *ref naming the (already stopped) actor, as it does on another core.
 * With an alias, the actor is published under it before its init runs (a
 * previous holder still stopping loses it at once). opts may be NULL.
 * Returns as atoll_spawn, or -EINVAL for a bad overflow policy, or an alias
 * that is not one (atoll_alias_new) or lives on another reactor than where.
 */
int atoll_spawn_opts(atoll_ctx *ctx, const struct atoll_actor_type *type, const void *arg,
		     int where, const struct atoll_spawn_opts *opts, atoll_ref *ref);

/*
 * Reserves an alias on reactor `where` (an index, or ATOLL_HERE) and stores
 * it in *alias: a ref that names no actor until one is spawned with
 * atoll_spawn_opts' .alias set to it, then names that actor until it stops,
 * then the next one spawned with it, and so on. Messages sent to an alias
 * while no actor holds it are dead letters, as for a stopped actor; the
 * actor's own ref (atoll_self) stays its own, so its timers, asks and I/O
 * completions never reach a later holder. Monitors and links taken through
 * the alias are on the holder of the moment, and its DOWN or EXIT names the
 * alias. A supervisor restarting a child into the same alias is what makes
 * the child's ref stable (actors/supervisor.h). An alias lasts as long as
 * the runtime: reserve one per long-lived role, not per request.
 * Returns 0, -EINVAL (bad where), -ENOMEM or -EAGAIN (actor table full).
 */
int atoll_alias_new(atoll_ctx *ctx, int where, atoll_ref *alias);

/* Return values of atoll_send besides errors. */
#define ATOLL_SENT 0
/* The message is queued behind a full cross-core ring; it will be delivered
 * in order, but the destination is not keeping up (backpressure signal). */
#define ATOLL_SENT_QUEUED 1

/*
 * Sends msg to the actor named by to. Always takes ownership of msg, even on
 * failure. Returns ATOLL_SENT, ATOLL_SENT_QUEUED, -ESRCH when the target is
 * known to have stopped (the message is counted as a dead letter and freed),
 * -ENOBUFS when the target is on this core and its bounded mailbox is full
 * with policy ATOLL_OVERFLOW_REJECT (the message is freed, counted in
 * mailbox_rejected), or -EINVAL for a ref that names no reactor.
 *
 * A send to an actor on another core that stops before the message arrives
 * returns success here and is counted as a dead letter there.
 */
int atoll_send(atoll_ctx *ctx, atoll_ref to, atoll_msg *msg);

/*
 * Allocates a message of the given type with a copy of len bytes of data and
 * sends it (atoll_msg_new_copy + atoll_send). Returns as atoll_send, or
 * -ENOMEM.
 */
int atoll_tell(atoll_ctx *ctx, atoll_ref to, uint32_t type, const void *data, size_t len);

/*
 * Ask: sends msg to `to` with reply_to set to the calling actor and a fresh
 * correlation id, stored in *corr (may be NULL). The answer arrives later as
 * an ordinary message whose corr field equals *corr. Never blocks.
 * Returns as atoll_send.
 */
int atoll_ask(atoll_ctx *ctx, atoll_ref to, atoll_msg *msg, uint64_t *corr);

/*
 * Ask with a deadline: as atoll_ask, and exactly one of two things reaches
 * the calling actor: the reply (an ordinary message whose corr is *corr,
 * sent with atoll_reply), or, if none arrived within timeout_ns, one
 * ATOLL_MSG_TIMEOUT message whose corr is *corr. Never both, never neither
 * (unless the caller stops first). The "answered" state lives on the
 * caller's reactor, keyed by corr, so replies from any core race the timer
 * without locks. A reply after the timeout is a dead letter. A message
 * refused by a bounded mailbox (ATOLL_MSG_REJECTED with this corr) answers
 * the ask too. Takes ownership of msg. Returns as atoll_send (no TIMEOUT
 * follows an error), -EINVAL outside an actor, or -ENOMEM.
 */
int atoll_ask_timeout(atoll_ctx *ctx, atoll_ref to, atoll_msg *msg, uint64_t timeout_ns,
		      uint64_t *corr);

/*
 * Reply: sends reply to request->reply_to with reply->corr set to
 * request->corr. Takes ownership of reply, not of request. Returns as
 * atoll_send; -ESRCH if the request carried no reply_to.
 */
int atoll_reply(atoll_ctx *ctx, const atoll_msg *request, atoll_msg *reply);

/*
 * Tells the runtime that the actor keeps msg (the message it is receiving)
 * past the end of receive: the runtime will not free it, and the actor now
 * owns it (it must later free or send it).
 */
void atoll_msg_keep(atoll_ctx *ctx, atoll_msg *msg);

/*
 * Stops the actor named by ref. For the calling actor itself, the stop takes
 * effect when the current receive returns; for another actor, a stop request
 * is queued behind the messages already sent to it by this caller. Its stop
 * hook runs, its remaining messages become dead letters, and its ref goes
 * stale. Returns 0, -ESRCH if it has already stopped, or -ENOMEM.
 */
int atoll_stop(atoll_ctx *ctx, atoll_ref ref);

/* The ref of the actor whose callback is running. */
atoll_ref atoll_self(const atoll_ctx *ctx);

/* The index of the reactor ctx belongs to. */
unsigned atoll_core(const atoll_ctx *ctx);

/* The number of reactors in the runtime. */
unsigned atoll_ncores(const atoll_ctx *ctx);

/* Monotonic time in nanoseconds (CLOCK_MONOTONIC). */
uint64_t atoll_now_ns(void);

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_ACTOR_H */
