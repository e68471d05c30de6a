/*
 * reactor.h - internal structures shared by the runtime's files: the
 * reactor (which is what an actor's atoll_ctx points to), the actor record,
 * and the runtime that holds the reactors and the rings between them.
 *
 * Ownership: everything in a reactor is touched only by its own thread,
 * except the fields grouped under "shared", each of which names the code on
 * the other side of its atomics.
 */
#ifndef ATOLL_REACTOR_H
#define ATOLL_REACTOR_H

#include <liburing.h>
#include <pthread.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/signalfd.h>

#include "atoll.h"
#include "io.h"
#include "msg.h"
#include "ring.h"
#include "table.h"
#include "timer.h"
#include "ask.h"

/* Actor flags, owner-only. */
#define ATOLL__ACTOR_LIVE 1u      /* init has run; may be scheduled */
#define ATOLL__ACTOR_SCHEDULED 2u /* on the run queue */
#define ATOLL__ACTOR_STOPPING 4u  /* stop after the current receive */
#define ATOLL__ACTOR_FAILED 8u    /* stopping because it failed (fail_code) */

struct atoll__fail;

struct atoll__actor {
	const struct atoll_actor_type *type;
	atoll_msg *mbox_head; /* private mailbox: FIFO, owner-only */
	atoll_msg *mbox_tail;
	struct atoll__actor *run_next;
	atoll_ref ref;
	uint32_t flags;
	uint32_t mbox_len;   /* messages in the mailbox, system ones included */
	uint32_t mbox_limit; /* 0: unbounded; fixed before the actor is published */
	uint8_t overflow;    /* enum atoll_overflow, fixed likewise */
	int32_t fail_code;   /* with ATOLL__ACTOR_FAILED */
	/* Monitors, links, trap_exit and the failure text (failure.c); NULL
	 * until the actor uses any, so actors that do not pay nothing. */
	struct atoll__fail *fail;
	/* The alias this incarnation is published under (spawn opts), or
	 * ATOLL_REF_NONE; emptied when it stops (table.h). */
	atoll_ref alias;
	alignas(16) unsigned char state[];
};

/* Per-destination outbound state. */
struct atoll__out {
	struct atoll__ring *ring; /* this reactor -> destination */
	atoll_msg *overflow_head; /* FIFO of messages waiting for ring space */
	atoll_msg *overflow_tail;
	bool dirty; /* on the reactor's dirty list */
};

/* Counters: single writer (the reactor), read by any thread. */
struct atoll__stats {
	_Atomic uint64_t sent_local, sent_remote, received, ring_full, overflow, doorbells, wakeups,
		dead_letters, spawned, actors_alive, timers_fired, init_failures, io_inflight,
		bufs_out, enobufs, queued, queued_max, mailbox_dropped, mailbox_rejected, failures,
		restarts, ask_timeouts;
};

/* Increments a single-writer counter; a plain load and store suffice, the
 * atomics only make the readers in atoll_runtime_stats race-free. */
#define ATOLL__STAT_ADD(r, field, n)                                                               \
	atomic_store_explicit(&(r)->stats.field,                                                   \
			      atomic_load_explicit(&(r)->stats.field, memory_order_relaxed) + (n), \
			      memory_order_relaxed)
#define ATOLL__STAT_INC(r, field) ATOLL__STAT_ADD(r, field, 1)

/* CQE user_data tags for the runtime's own requests; I/O requests carry
 * pointers, which are never this small. */
enum atoll__tag {
	ATOLL__TAG_DOORBELL = 1, /* a peer's msg_ring arrived */
	ATOLL__TAG_MSG_RING = 2, /* our msg_ring failed (success is skipped) */
	ATOLL__TAG_TIMEOUT = 3,  /* the timer heap's IORING_OP_TIMEOUT */
	ATOLL__TAG_SIGNAL = 4,   /* signalfd read */
	ATOLL__TAG_EVENTFD = 5,  /* eventfd read: outside wakers (and the eventfd doorbell) */
	ATOLL__TAG_IGNORE = 6,   /* a cancel or link timeout: only counted */
	ATOLL__TAG_MAX = 4096,
};

struct atoll_ctx {
	struct atoll_runtime *rt;
	unsigned index;
	unsigned ncores;
	unsigned batch;

	/* The actor whose callback runs, and the message it owns until it
	 * passes it on (NULL once passed on or kept). */
	struct atoll__actor *current;
	atoll_msg *current_msg;

	/* Run queue: actors with messages, FIFO. */
	struct atoll__actor *run_head, *run_tail;

	struct atoll__out *out; /* [ncores] */
	unsigned *dirty;        /* destinations with unpublished or overflow */
	unsigned ndirty;
	struct atoll__ring **in; /* [ncores]: ring from each peer, NULL for self */

	struct atoll__timers timers;
	uint64_t timeout_armed; /* deadline of the armed IORING_OP_TIMEOUT, or 0 */
	struct __kernel_timespec timeout_ts;

	struct io_uring ring;
	unsigned ring_flags; /* the setup flags that worked */
	bool uring_ok;
	bool eventfd_doorbell;
	int event_fd;
	uint64_t eventfd_buf;
	int signal_fd; /* reactor 0 only, else -1 */
	struct signalfd_siginfo siginfo;
	unsigned loops;
	uint64_t idle_spin_ns; /* poll this long before parking */
	const char *uring_mode;

	struct atoll__msg_pool pool; /* small message blocks (msg.h) */

	/* I/O (io.h). */
	struct atoll__bufring bufring;
	struct atoll_stream *streams;      /* every open stream, for stop */
	struct atoll__acceptor *acceptors; /* every acceptor, for stop */
	uint64_t io_inflight;              /* CQEs still owed by the kernel */
	uint64_t io_internal;              /* of which timer, eventfd, signalfd reads */
	bool io_stopping;                  /* completions are freed, not delivered */
	bool recv_single;                  /* the kernel refused multishot receive */
	bool no_send;                      /* past the stop barrier */
	uint64_t next_corr;
	uint64_t queued_max;     /* the most queued has been, sampled */
	unsigned queued_loops;   /* loops since queued was last sampled */
	bool queued_nonzero;     /* the last sample was not 0 */
	struct atoll__asks asks; /* pending atoll_ask_timeout asks (ask.c) */
	pthread_t thread;
	int cpu;

	/* --- shared --- */

	/* Set by this reactor just before it parks; reset (exchange) by
	 * whoever rings its doorbell or by itself on waking. The seq_cst
	 * fence after setting it in reactor_park pairs with the fence in
	 * atoll__reactor_wake, after the waker published its work. */
	alignas(128) _Atomic int sleeping;
	int ring_fd; /* read by peers for msg_ring; fixed after start */

	/* Messages from non-reactor threads, under ext_lock. ext_pending is set
	 * (seq_cst) by the sender after queueing, and read by the reactor
	 * before parking (after its fence) and in phase 1. */
	alignas(128) pthread_mutex_t ext_lock;
	atoll_msg *ext_head, *ext_tail;
	bool ext_closed;
	bool eventfd_closed; /* under the runtime's wake_lock */
	_Atomic int ext_pending;

	alignas(128) struct atoll__table table;
	alignas(128) struct atoll__stats stats;
};

struct atoll_registry_entry;

struct atoll_runtime {
	unsigned n;
	struct atoll_ctx **reactors; /* [n] */
	struct atoll__ring *rings;   /* [n * n], src * n + dst */
	struct atoll_config cfg;

	/* Set (seq_cst) by atoll_runtime_stop, read by every reactor each loop
	 * and after its park fence. */
	_Atomic int stopping;
	pthread_barrier_t stop_barrier;

	/* Start-up handshake. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned started;
	int start_err;
	bool gate_open;
	bool joined;

	/* Held while writing a reactor's eventfd from outside (and while the
	 * reactor closes it), so the fd stays open for the writer. */
	pthread_mutex_t wake_lock;

	uint64_t idle_spin_ns;

	/* Signals. */
	bool signals;
	sigset_t old_mask;
	int signal_fd;
	/* atoll_runtime_on_signal: the actor told of SIGINT/SIGTERM, and the
	 * message type. Written by any thread (type first, then the ref,
	 * release), read by reactor 0 (the ref, acquire, then the type). */
	_Atomic uint32_t signal_type;
	_Atomic atoll_ref signal_to;
	unsigned signals_seen; /* reactor 0 only */

	/* Monitor ids made outside the reactors (atoll__pending_monitor):
	 * 0xffff in the top bits, which no reactor index reaches. Only
	 * fetch_add (relaxed): uniqueness is all it gives. */
	_Atomic uint64_t next_outside_id;

	/* Registry, under reg_lock. */
	pthread_mutex_t reg_lock;
	struct atoll_registry_entry *registry;
};

/* The reactor running on this thread, NULL elsewhere (reactor.c). */
extern _Thread_local struct atoll_ctx *atoll__tls_reactor;

/* reactor.c */
void *atoll__reactor_main(void *arg);
void atoll__reactor_wake(struct atoll_ctx *from, struct atoll_ctx *to);
int atoll__reactor_setup(struct atoll_ctx *r);
void atoll__reactor_deliver(struct atoll_ctx *r, atoll_msg *msg);
void atoll__reactor_schedule(struct atoll_ctx *r, struct atoll__actor *a);
void atoll__reactor_reap(struct atoll_ctx *r);

/* Sends a message no bounded mailbox may refuse (an I/O completion). */
static inline int atoll__send_system(struct atoll_ctx *r, atoll_ref to, atoll_msg *msg)
{
	msg->flags |= ATOLL__MSGF_EXEMPT;
	return atoll_send(r, to, msg);
}

/* A fresh id, unique in the runtime: the reactor index in the top bits. For
 * correlation ids and monitor ids. */
static inline uint64_t atoll__new_id(struct atoll_ctx *r)
{
	return (uint64_t)r->index << 48 | (++r->next_corr & ((1ull << 48) - 1));
}

/* Counts one more message in a's mailbox. No reactor-wide counter here: a
 * per-message increment of one shared variable is a dependency chain
 * through memory on the hottest path (local ping-pong measured about a
 * quarter slower with one); stats.queued is sampled from the run queue. */
static inline void atoll__mailbox_count(struct atoll_ctx *r, struct atoll__actor *a)
{
	(void)r;
	a->mbox_len++;
}

/* Appends msg to a's mailbox and schedules a if it may run. No limit is
 * checked here. */
static inline void atoll__mailbox_push(struct atoll_ctx *r, struct atoll__actor *a, atoll_msg *msg)
{
	msg->next = NULL;
	if (a->mbox_tail != NULL)
		a->mbox_tail->next = msg;
	else
		a->mbox_head = msg;
	a->mbox_tail = msg;
	atoll__mailbox_count(r, a);
	if ((a->flags & (ATOLL__ACTOR_LIVE | ATOLL__ACTOR_SCHEDULED | ATOLL__ACTOR_STOPPING)) ==
	    ATOLL__ACTOR_LIVE)
		atoll__reactor_schedule(r, a);
}

/* runtime.c: queues msg in r's outside inbox and wakes r. Takes msg. */
int atoll__ext_push(struct atoll_ctx *r, atoll_msg *msg);

/* actor.c */
int atoll__actor_spawn_local(struct atoll_ctx *r, struct atoll__actor *a, const void *arg);
struct atoll__actor *atoll__actor_new(const struct atoll_actor_type *type);
void atoll__actor_free_pending(atoll_msg *spawn_msg);
void atoll__actor_discard(struct atoll_ctx *r, struct atoll__actor *a);
/* 0 when alias is ATOLL_REF_NONE or an alias of target's table, else
 * -EINVAL. */
int atoll__actor_alias_check(struct atoll_ctx *target, atoll_ref alias);
/* Makes a (its ref reserved, its mailbox set up) visible under its ref and
 * alias (may be ATOLL_REF_NONE), with the rejects hint of its mailbox. */
void atoll__actor_publish(struct atoll_ctx *target, struct atoll__actor *a, atoll_ref alias);
void atoll__actor_finish_stop(struct atoll_ctx *r, struct atoll__actor *a);
void atoll__actor_run(struct atoll_ctx *r, struct atoll__actor *a, int *budget);
int atoll__send_remote(struct atoll_ctx *r, unsigned core, atoll_msg *msg);
void atoll__dead_letter(struct atoll_ctx *r, atoll_msg *msg);

/* Payload of an ATOLL_MSG_SPAWN message. */
struct atoll__spawn {
	struct atoll__actor *actor; /* owned by the message until init runs */
	const void *arg;
	/* Set by atoll_runtime_discard: the reactor frees the prepared actor
	 * and its slot instead of running init. */
	bool discard;
};

/* failure.c */
/* Handles a system message of a failure type (DOWN, EXIT, MONITOR, ...) for
 * actor a (NULL: it has stopped) of this reactor. Takes msg. */
void atoll__fail_deliver(struct atoll_ctx *r, struct atoll__actor *a, atoll_msg *msg);
/* Tells a's monitors and links that it stops, and frees a->fail. */
void atoll__fail_notify(struct atoll_ctx *r, struct atoll__actor *a);
/* Spawn with a link or monitor (opts): prepare allocates, in the calling
 * actor and in the new actor a, before a's slot is reserved (returns 0,
 * -EINVAL without a calling actor, or -ENOMEM); commit, once a->ref is
 * known and before a is published, cannot fail. */
int atoll__fail_spawn_prepare(struct atoll_ctx *r, struct atoll__actor *a,
			      const struct atoll_spawn_opts *opts);
void atoll__fail_spawn_commit(struct atoll_ctx *r, struct atoll__actor *a,
			      const struct atoll_spawn_opts *opts);
/* Monitors target (known to the watcher as `as`, its ref or alias) by
 * watcher under id, before either runs: for actors prepared together from
 * outside the runtime (atoll__pending_monitor). Returns 0 or -ENOMEM. */
int atoll__fail_prewire(struct atoll__actor *watcher, struct atoll__actor *target, atoll_ref as,
			uint64_t id);
/* Frees a->fail without telling anyone (runtime stop, failed spawn). */
void atoll__fail_release(struct atoll__actor *a);
/* Marks a failed with code and text (first failure wins). */
void atoll__fail_set(struct atoll__actor *a, int code, const char *text);
/* Stops a (not running) as failed: a stop message goes to the front of its
 * mailbox, reusing msg. */
void atoll__fail_kill(struct atoll_ctx *r, struct atoll__actor *a, atoll_msg *msg);

/* ask.c */
/* Handles a TIMEOUT, or a reply / rejection of a timed ask, for actor a
 * (NULL: stopped). Returns true when msg should enter a's mailbox; else it
 * was consumed. */
bool atoll__ask_deliver(struct atoll_ctx *r, struct atoll__actor *a, atoll_msg *msg);

/* mailbox.c: a's full bounded mailbox met msg, an ordinary message. Both
 * take msg. overflow applies a's policy for a sender on this core: returns
 * ATOLL_SENT when msg entered or was dropped, -ENOBUFS when refused. bounce
 * refuses msg from another core: it goes back to its reply_to inside an
 * ATOLL_MSG_REJECTED (or is a dead letter without one); returns ATOLL_SENT. */
int atoll__mailbox_overflow(struct atoll_ctx *r, struct atoll__actor *a, atoll_msg *msg);
int atoll__mailbox_bounce(struct atoll_ctx *r, struct atoll__actor *a, atoll_msg *msg);
/* Release hook of a REJECTED message: frees the refused message it holds. */
void atoll__mailbox_rejected_release(atoll_msg *rej);
/* Checks opts and applies its mailbox settings to the new actor a. Returns
 * 0 or -EINVAL. */
int atoll__mailbox_setup(struct atoll__actor *a, const struct atoll_spawn_opts *opts);

/* runtime.c: before either is launched, makes the prepared actor watcher
 * monitor the prepared actor target, which it knows as `as` (target's ref
 * or alias). The monitor id goes to *id. For a topology's supervisors,
 * which must see their children's init failures. Returns 0, -EINVAL or
 * -ENOMEM. */
struct atoll_pending;
int atoll__pending_monitor(struct atoll_runtime *rt, struct atoll_pending *watcher,
			   struct atoll_pending *target, atoll_ref as, uint64_t *id);

/* registry.c */
void atoll__registry_destroy(struct atoll_runtime *rt);

#endif /* ATOLL_REACTOR_H */
