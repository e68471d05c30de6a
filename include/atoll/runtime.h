/*
 * atoll/runtime.h - starting and stopping reactors.
 *
 * A runtime is a set of reactors, one thread each, pinned to CPUs, each
 * owning one io_uring, an actor table, a run queue and its timers. Start it
 * from an ordinary thread, spawn the first actors into it, and wait for it to
 * stop (from an actor, from another thread, or on SIGINT/SIGTERM).
 */
#ifndef ATOLL_RUNTIME_H
#define ATOLL_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>

#include "actor.h"
#include "registry.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Log levels for atoll_config.log_level. */
enum atoll_log_level {
	ATOLL_LOG_DEFAULT = 0, /* ATOLL_LOG from the environment, else WARN */
	ATOLL_LOG_ERROR = 1,
	ATOLL_LOG_WARN = 2,
	ATOLL_LOG_INFO = 3,
	ATOLL_LOG_DEBUG = 4,
};

/*
 * Runtime settings. Zero-initialise and set what you need: every 0 field
 * takes its default.
 */
struct atoll_config {
	/* Number of reactors. Default: one per CPU in the affinity mask. More
	 * reactors than CPUs is allowed: they are pinned round-robin and a log
	 * line says so. At most ATOLL_MAX_REACTORS. */
	unsigned reactors;
	/* CPUs to pin to, in order; default: the process affinity mask. */
	const int *cpus;
	unsigned ncpus;
	/* Do not pin reactor threads. */
	bool no_pin;
	/* Slots in each cross-core SPSC ring (rounded up to a power of two).
	 * Default 4096. */
	unsigned ring_capacity;
	/* Messages an actor handles per turn before others run. Default 64. */
	unsigned batch;
	/* io_uring submission queue entries per reactor. Default 256. */
	unsigned sq_entries;
	/* Do not turn SIGINT/SIGTERM into a clean stop. By default start blocks
	 * both signals in the calling thread (threads it creates inherit this)
	 * and reactor 0 reads them through a signalfd in its io_uring. */
	bool no_signals;
	/* Use an eventfd doorbell instead of IORING_OP_MSG_RING (for
	 * comparison; chosen automatically when the kernel lacks msg_ring). */
	bool eventfd_doorbell;
	/* Microseconds a reactor with nothing to do keeps polling its inbound
	 * rings before it parks in the kernel: a busy peer is then seen without
	 * a doorbell and two syscalls. 0: 50 us, or no spinning when reactors
	 * outnumber CPUs; negative: never spin (always park at once). */
	int idle_spin_us;
	/* Receive buffers in each reactor's provided-buffer ring (rounded up to
	 * a power of two, at most 32768) and their size in bytes. Defaults 256
	 * and 16384. */
	unsigned recv_buffers;
	unsigned recv_buffer_size;
	/* Do not set up the provided-buffer ring: streams receive one
	 * message-owned buffer of recv_buffer_size at a time (what happens
	 * anyway on kernels without IORING_REGISTER_PBUF_RING). For tests and
	 * comparison. */
	bool no_buf_ring;
	/* Messages above this level are not logged. Default: the value of the
	 * ATOLL_LOG environment variable (1-4, or error|warn|info|debug), else
	 * ATOLL_LOG_WARN. */
	int log_level;
};

/* Per-reactor counters, read with atoll_runtime_stats. */
struct atoll_stats {
	uint64_t sent_local;    /* messages sent to an actor on the same core */
	uint64_t sent_remote;   /* messages sent to another core */
	uint64_t received;      /* messages handed to receive() */
	uint64_t ring_full;     /* sends that found the ring full (queued) */
	uint64_t overflow;      /* messages queued in overflow right now */
	uint64_t doorbells;     /* doorbells rung to sleeping peers */
	uint64_t wakeups;       /* times this reactor woke from a park */
	uint64_t dead_letters;  /* messages to actors that had stopped */
	uint64_t spawned;       /* actors started on this reactor */
	uint64_t actors_alive;  /* actors living on this reactor right now */
	uint64_t timers_fired;  /* timer messages sent */
	uint64_t init_failures; /* actors whose init returned an error */
	uint64_t io_inflight;   /* requests the kernel holds right now, the reactor's
				 * own included (an eventfd read, timers): not 0 while
				 * the runtime runs, 0 after it stopped */
	uint64_t bufs_out;      /* receive buffers lent out right now */
	uint64_t enobufs;       /* receives re-armed after running out of buffers */
	/* Failure handling and overload (atoll/failure.h, bounded mailboxes). */
	uint64_t queued;           /* messages waiting in mailboxes (sampled every 64 loops) */
	uint64_t queued_max;       /* the largest sample of queued */
	uint64_t mailbox_dropped;  /* messages dropped by DROP_NEWEST/DROP_OLDEST */
	uint64_t mailbox_rejected; /* messages refused by REJECT (bounced or -ENOBUFS) */
	uint64_t failures;         /* actors that stopped failed (atoll_fail, init, links) */
	uint64_t restarts;         /* children restarted by supervisors here */
	uint64_t ask_timeouts;     /* atoll_ask_timeout asks answered by a TIMEOUT */
};

/*
 * Starts a runtime with the given settings (NULL: all defaults) and stores
 * its handle in *rt. Returns once every reactor is running.
 * Returns 0, -EINVAL for bad settings, -ENOMEM, or the error that stopped a
 * reactor from starting; the cause is logged, e.g. io_uring disabled by the
 * kernel.io_uring_disabled sysctl or by seccomp (-EPERM/-ENOSYS).
 * Call from a thread that is not a reactor.
 */
int atoll_runtime_start(const struct atoll_config *config, atoll_runtime **rt);

/*
 * Spawns an actor from outside the runtime (any non-reactor thread), on
 * reactor `where` (>= 0), storing its ref in *ref (ref may be NULL). The ref
 * is valid at once; init runs on that
 * reactor later, so arg must stay valid until then.
 * Returns 0, -EINVAL, -ENOMEM or -EAGAIN.
 */
int atoll_runtime_spawn(atoll_runtime *rt, const struct atoll_actor_type *type, const void *arg,
			int where, atoll_ref *ref);

/* An actor whose ref exists but whose init has not run yet. Opaque. */
struct atoll_pending;

/*
 * First half of a two-phase spawn, from outside the runtime (any
 * non-reactor thread): reserves a slot for an actor of `type` on reactor
 * `where` and stores its ref in *ref (may be NULL) and the prepared actor in
 * *pending. The ref is valid at once: messages sent to it wait until the
 * actor is launched. So a set of actors that name each other can all get
 * their refs first (a topology), then be launched with every ref known.
 * Every prepared actor must be launched or discarded before
 * atoll_runtime_destroy. Returns 0, -EINVAL, -ENOMEM or -EAGAIN (table
 * full); on error *pending is NULL and *ref ATOLL_REF_NONE.
 */
int atoll_runtime_prepare(atoll_runtime *rt, const struct atoll_actor_type *type, int where,
			  atoll_ref *ref, struct atoll_pending **pending);

/*
 * Second half: runs the prepared actor's init with arg on its reactor (arg
 * must stay valid until then), after which it gets the messages sent to it
 * meanwhile. Takes pending (it is gone after this call, whatever the
 * result). An init failure is logged and counted (init_failures) on that
 * reactor. Returns 0, -EINVAL, or -ESHUTDOWN when the runtime has stopped
 * (the actor is then freed). Any non-reactor thread.
 */
int atoll_runtime_launch(atoll_runtime *rt, struct atoll_pending *pending, const void *arg);

/*
 * Gives up a prepared actor without running its init: its reactor frees its
 * slot (its ref goes stale) and drops what was sent to it as dead letters.
 * Takes pending. NULL is a no-op. Any non-reactor thread.
 */
void atoll_runtime_discard(atoll_runtime *rt, struct atoll_pending *pending);

/*
 * atoll_runtime_prepare with spawn options (struct atoll_spawn_opts in
 * atoll/actor.h; opts may be NULL): a bounded mailbox, an alias. No caller
 * actor exists here, so flags and monitor must be 0/NULL. Returns as
 * atoll_runtime_prepare.
 */
int atoll_runtime_prepare_opts(atoll_runtime *rt, const struct atoll_actor_type *type, int where,
			       const struct atoll_spawn_opts *opts, atoll_ref *ref,
			       struct atoll_pending **pending);

/*
 * atoll_alias_new from outside the runtime (any non-reactor thread): an
 * alias on reactor `where`. Returns 0, -EINVAL, -ENOMEM or -EAGAIN.
 */
int atoll_runtime_alias_new(atoll_runtime *rt, int where, atoll_ref *alias);

/*
 * atoll_runtime_spawn with a bounded mailbox or an alias (struct
 * atoll_spawn_opts in atoll/actor.h; opts may be NULL). No caller actor
 * exists here, so flags and monitor must be 0/NULL. Returns as
 * atoll_runtime_spawn, or -EINVAL.
 */
int atoll_runtime_spawn_opts(atoll_runtime *rt, const struct atoll_actor_type *type,
			     const void *arg, int where, const struct atoll_spawn_opts *opts,
			     atoll_ref *ref);

/*
 * Sends msg to `to` from outside the runtime (any non-reactor thread).
 * Takes ownership of msg. Messages from one outside thread arrive in order.
 * Returns 0, -EINVAL, or -ESRCH when the target is known to have stopped.
 */
int atoll_runtime_send(atoll_runtime *rt, atoll_ref to, atoll_msg *msg);

/*
 * Asks every reactor to stop: actors get their stop hook, queued messages
 * and timers are freed, threads exit. Returns at once; use
 * atoll_runtime_wait to wait. Any thread may call it, reactors included.
 */
void atoll_runtime_stop(atoll_runtime *rt);

/*
 * Has SIGINT and SIGTERM told to an actor instead of stopping the runtime at
 * once (only when the runtime handles signals: no_signals unset). The first
 * signal becomes a message of `type` to `to`, with corr = the signal number;
 * the actor finishes what must be finished (e.g. flushes files) and stops the
 * runtime. A second signal stops the runtime at once. ATOLL_REF_NONE
 * restores the default. Any thread.
 */
void atoll_runtime_on_signal(atoll_runtime *rt, atoll_ref to, uint32_t type);

/* True once the runtime was asked to stop (atoll_runtime_stop, a signal):
 * for a thread waiting on actors that may never answer. Any thread. */
bool atoll_runtime_stopping(const atoll_runtime *rt);

/* Asks the runtime of the calling actor to stop (atoll_runtime_stop). */
void atoll_stop_runtime(atoll_ctx *ctx);

/* The runtime the calling actor runs in. */
atoll_runtime *atoll_runtime_of(atoll_ctx *ctx);

/*
 * Waits until the runtime has stopped and all reactor threads have exited.
 * Returns 0 (at once when it has returned before). Call from a non-reactor
 * thread.
 */
int atoll_runtime_wait(atoll_runtime *rt);

/*
 * Stops (if needed), waits, and frees the runtime. NULL is a no-op. Restores
 * the signal mask start changed.
 */
void atoll_runtime_destroy(atoll_runtime *rt);

/* Number of reactors. */
unsigned atoll_runtime_reactors(const atoll_runtime *rt);

/*
 * Copies the counters of reactor `core` into *stats. Any thread may call it,
 * also after the runtime has stopped and before it is destroyed; the values
 * are a recent snapshot, not a consistent cut. Returns 0 or -EINVAL.
 */
int atoll_runtime_stats(const atoll_runtime *rt, unsigned core, struct atoll_stats *stats);

/*
 * How reactor `core` set up io_uring and its doorbell, as "<mode>+<doorbell>":
 * mode is "defer_taskrun", "coop_taskrun", "plain" (or "none" before start),
 * doorbell is "msg_ring" or "eventfd". The string is static.
 */
const char *atoll_runtime_uring_mode(const atoll_runtime *rt, unsigned core);

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_RUNTIME_H */
