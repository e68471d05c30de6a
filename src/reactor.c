/*
 * reactor.c - one reactor: a pinned thread owning an io_uring, whose loop is
 * a list of phases (drain inbound rings, run actors, publish outbound rings
 * and ring doorbells, fire timers, submit and reap io_uring).
 *
 * Invariants: only this thread touches the reactor's actors, mailboxes, run
 * queue, timers and outbound state; a reactor parks only after announcing it
 * (sleeping = 1), fencing, and finding every inbound ring, its outside inbox
 * and the stop flag empty, so no wake-up is lost (see reactor_park and
 * atoll__reactor_wake, whose fences pair).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "reactor.h"

_Thread_local struct atoll_ctx *atoll__tls_reactor;
extern _Thread_local atoll_msg **atoll__tls_current_msg;

/* Messages handled in one run phase before the other phases get a turn.
 * It bounds how long a busy reactor leaves its inbound rings unread:
 * measured busy-receiver round trip p50 41 us at 1024, 10 us at 256, 5 us
 * at 64, with local ping-pong 156, 151 and 123 M msgs/s (atoll-bench
 * xcore.latency --mode busy, pingpong.local). */
#define RUN_BUDGET 256
/* Inbound messages taken from one ring before its slots are handed back. */
#define RELEASE_EVERY 64u
/* A busy reactor still enters the kernel every this many loops, to reap
 * completions that DEFER_TASKRUN only delivers on entry. */
#define REAP_EVERY 64u

/* --- io_uring set-up ---------------------------------------------------- */

static void arm_eventfd_read(struct atoll_ctx *r)
{
	struct io_uring_sqe *sqe = atoll__sqe(r);

	r->io_internal++;
	io_uring_prep_read(sqe, r->event_fd, &r->eventfd_buf, sizeof(r->eventfd_buf), 0);
	io_uring_sqe_set_data64(sqe, ATOLL__TAG_EVENTFD);
}

/* atoll_runtime_on_signal: the first signal goes to the actor that asked;
 * returns false to stop at once (none asked, a second signal, or the
 * message could not be sent). */
static bool signal_to_actor(struct atoll_ctx *r)
{
	/* Pairs with the release in atoll_runtime_on_signal. */
	atoll_ref to = atomic_load_explicit(&r->rt->signal_to, memory_order_acquire);
	atoll_msg *m;

	if (to == ATOLL_REF_NONE || r->rt->signals_seen++ > 0)
		return false;
	m = atoll_msg_new(atomic_load_explicit(&r->rt->signal_type, memory_order_relaxed), 0);
	if (m == NULL)
		return false;
	m->corr = r->siginfo.ssi_signo;
	if (atoll_send(r, to, m) < 0)
		return false;
	atoll__log_info("received %s: the application shuts down (send it again to stop at "
			"once)",
			strsignal((int)r->siginfo.ssi_signo));
	return true;
}

static void arm_signal_read(struct atoll_ctx *r)
{
	struct io_uring_sqe *sqe = atoll__sqe(r);

	r->io_internal++;
	io_uring_prep_read(sqe, r->signal_fd, &r->siginfo, sizeof(r->siginfo), 0);
	io_uring_sqe_set_data64(sqe, ATOLL__TAG_SIGNAL);
}

/*
 * Creates the reactor's io_uring with the best flags the kernel accepts:
 * SINGLE_ISSUER|DEFER_TASKRUN (6.1+), then COOP_TASKRUN (5.19+), then none.
 * Must run on the reactor thread (SINGLE_ISSUER binds the ring to it).
 */
int atoll__reactor_setup(struct atoll_ctx *r)
{
	static const struct {
		unsigned flags;
		const char *name;
	} modes[] = {
		{ IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, "defer_taskrun" },
		{ IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG, "coop_taskrun" },
		{ 0, "plain" },
	};
	unsigned entries = r->rt->cfg.sq_entries;
	int ret = -EINVAL;

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct io_uring_params p;

		memset(&p, 0, sizeof(p));
		p.flags = modes[i].flags;
		ret = io_uring_queue_init_params(entries, &r->ring, &p);
		if (ret == 0) {
			r->ring_flags = modes[i].flags;
			r->uring_mode = modes[i].name;
			break;
		}
		if (ret != -EINVAL)
			break; /* Not a missing flag: no mode will work. */
	}
	if (ret < 0) {
		atoll__log_error("reactor %u: io_uring_queue_init: %s", r->index,
				 atoll_strerror(ret));
		return ret;
	}
	r->uring_ok = true;
	r->ring_fd = r->ring.ring_fd;
	if (r->index == 0)
		atoll__log_info("io_uring mode: %s, doorbell: %s", r->uring_mode,
				r->eventfd_doorbell ? "eventfd" : "msg_ring");
	/* Saves an fd lookup per io_uring_enter; optional (kernel 5.18+). */
	(void)io_uring_register_ring_fd(&r->ring);
	/* Every reactor has an eventfd: threads outside the runtime wake it
	 * with write(2), so they never own io_uring state (task work bound to
	 * a user's thread interrupts its blocking calls, and its progress
	 * would depend on that thread). With eventfd_doorbell, peers use it
	 * too instead of msg_ring. */
	{
		r->event_fd = eventfd(0, EFD_CLOEXEC);
		if (r->event_fd < 0) {
			ret = -errno;
			atoll__log_error("reactor %u: eventfd: %s", r->index, atoll_strerror(ret));
			return ret;
		}
		arm_eventfd_read(r);
	}
	if (r->signal_fd >= 0)
		arm_signal_read(r);
	return atoll__bufring_init(r);
}

/* --- doorbell ------------------------------------------------------------ */

/* Rings `to`'s doorbell once; `from` is the calling reactor or NULL. */
static void ring_doorbell(struct atoll_ctx *from, struct atoll_ctx *to)
{
	struct atoll_runtime *rt = to->rt;
	uint64_t one = 1;

	if (from != NULL && from->rt == rt && !to->eventfd_doorbell) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&from->ring);

		if (sqe == NULL) {
			io_uring_submit(&from->ring);
			sqe = io_uring_get_sqe(&from->ring);
		}
		/* The target gets a CQE tagged DOORBELL; ours is skipped
		 * unless the request fails. Submitted before this reactor
		 * spins or parks (reactor_park). */
		io_uring_prep_msg_ring(sqe, to->ring_fd, 0, ATOLL__TAG_DOORBELL, 0);
		sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
		io_uring_sqe_set_data64(sqe, ATOLL__TAG_MSG_RING);
		ATOLL__STAT_INC(from, doorbells);
		return;
	}
	/* From outside the runtime, or with the eventfd doorbell: under
	 * wake_lock, which keeps the target's eventfd open while we write. */
	pthread_mutex_lock(&rt->wake_lock);
	if (!to->eventfd_closed && write(to->event_fd, &one, sizeof(one)) < 0)
		atoll__log_warn("eventfd doorbell: %s", atoll_strerror(-errno));
	pthread_mutex_unlock(&rt->wake_lock);
	if (from != NULL && from->rt == rt)
		ATOLL__STAT_INC(from, doorbells);
}

void atoll__reactor_wake(struct atoll_ctx *from, struct atoll_ctx *to)
{
	/*
	 * The caller has just published work for `to` (ring tail, outside
	 * inbox or stop flag). This seq_cst fence pairs with the one in
	 * reactor_park: either `to` sees our work when it re-checks after
	 * setting sleeping, or we see sleeping == 1 here. The exchange makes
	 * exactly one waker ring the doorbell per park.
	 */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&to->sleeping, memory_order_relaxed) == 0)
		return;
	if (atomic_exchange_explicit(&to->sleeping, 0, memory_order_acq_rel) == 0)
		return;
	ring_doorbell(from, to);
}

/* --- phase 1: inbound ---------------------------------------------------- */

static void drain_ext(struct atoll_ctx *r)
{
	atoll_msg *m;

	/* Exchange (acquire) pairs with the sender's seq_cst store of
	 * ext_pending after it queued under ext_lock. */
	if (atomic_exchange_explicit(&r->ext_pending, 0, memory_order_acquire) == 0)
		return;
	pthread_mutex_lock(&r->ext_lock);
	m = r->ext_head;
	r->ext_head = r->ext_tail = NULL;
	pthread_mutex_unlock(&r->ext_lock);
	while (m != NULL) {
		atoll_msg *next = m->next;
		atoll__reactor_deliver(r, m);
		m = next;
	}
}

static void drain_inbound(struct atoll_ctx *r)
{
	for (unsigned src = 0; src < r->ncores; src++) {
		struct atoll__ring *ring = r->in[src];
		unsigned n = 0;
		atoll_msg *m;

		if (ring == NULL)
			continue;
		while ((m = atoll__ring_pop(ring)) != NULL) {
			atoll__reactor_deliver(r, m);
			if (++n % RELEASE_EVERY == 0)
				atoll__ring_release(ring);
		}
		if (n % RELEASE_EVERY != 0)
			atoll__ring_release(ring);
	}
	drain_ext(r);
}

/* --- phase 2: run actors ------------------------------------------------- */

/* Overload shows in stats.queued: the messages waiting in the mailboxes of
 * runnable actors (every actor with messages is on the run queue, but for
 * one whose init has not run yet), summed every QUEUED_EVERY loops, so the
 * cost is a walk of the run queue now and then, never a per-message write. */
#define QUEUED_EVERY 64u

static void sample_queued(struct atoll_ctx *r)
{
	uint64_t n = 0;

	r->queued_loops = 0;
	for (struct atoll__actor *a = r->run_head; a != NULL; a = a->run_next)
		n += a->mbox_len;
	if (n > r->queued_max)
		r->queued_max = n;
	r->queued_nonzero = n != 0;
	atomic_store_explicit(&r->stats.queued, n, memory_order_relaxed);
	atomic_store_explicit(&r->stats.queued_max, r->queued_max, memory_order_relaxed);
}

static void run_actors(struct atoll_ctx *r)
{
	int budget = RUN_BUDGET;

	while (r->run_head != NULL && budget > 0) {
		struct atoll__actor *a = r->run_head;

		r->run_head = a->run_next;
		if (r->run_head == NULL)
			r->run_tail = NULL;
		atoll__actor_run(r, a, &budget);
	}
	/* An idle reactor may park for long: it reports 0 before it does. */
	if (++r->queued_loops >= QUEUED_EVERY || (r->run_head == NULL && r->queued_nonzero))
		sample_queued(r);
}

/* --- phase 3: outbound --------------------------------------------------- */

static void flush_outbound(struct atoll_ctx *r)
{
	unsigned kept = 0;

	for (unsigned i = 0; i < r->ndirty; i++) {
		unsigned core = r->dirty[i];
		struct atoll__out *out = &r->out[core];
		uint32_t moved = 0;

		while (out->overflow_head != NULL) {
			atoll_msg *m = out->overflow_head;
			atoll_msg *next = m->next;

			if (!atoll__ring_push(out->ring, m))
				break;
			out->overflow_head = next;
			moved++;
		}
		if (out->overflow_head == NULL)
			out->overflow_tail = NULL;
		if (moved != 0) {
			ATOLL__STAT_ADD(r, overflow, -(uint64_t)moved);
		}
		if (atoll__ring_unpublished(out->ring) != 0)
			atoll__ring_publish(out->ring);
		/* Wake even when nothing new was published now: messages
		 * published early (every 16) in phase 2 need it too. */
		atoll__reactor_wake(r, r->rt->reactors[core]);
		if (out->overflow_head != NULL)
			r->dirty[kept++] = core; /* Retry next loop. */
		else
			out->dirty = false;
	}
	r->ndirty = kept;
}

/* --- phase 4: timers ----------------------------------------------------- */

static void fire_timers(struct atoll_ctx *r)
{
	atoll_msg *msg;
	atoll_ref to;
	atoll_timer id;
	int periodic;
	uint64_t now;

	if (atoll__timers_next(&r->timers) == 0)
		return;
	now = atoll_now_ns();
	while ((msg = atoll__timers_pop_due(&r->timers, now, &to, &id, &periodic)) != NULL) {
		ATOLL__STAT_INC(r, timers_fired);
		if (!periodic) {
			(void)atoll_send(r, to, msg);
			continue;
		}
		atoll_msg *copy = atoll_msg_new_copy(msg->type, msg->data, msg->len);
		if (copy == NULL)
			continue; /* Out of memory: skip this period. */
		copy->reply_to = msg->reply_to;
		copy->corr = msg->corr;
		if (atoll_send(r, to, copy) == -ESRCH)
			(void)atoll__timers_cancel(&r->timers, id); /* Target gone. */
	}
}

/* --- phase 5: io_uring --------------------------------------------------- */

void atoll__reactor_reap(struct atoll_ctx *r)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(&r->ring, head, cqe)
	{
		n++;
		if (cqe->user_data >= ATOLL__TAG_MAX) {
			atoll__io_cqe(r, cqe);
			continue;
		}
		/* Our own requests were counted by atoll__sqe; a doorbell
		 * from a peer and a failed msg_ring were not. */
		if (cqe->user_data != ATOLL__TAG_DOORBELL &&
		    cqe->user_data != ATOLL__TAG_MSG_RING && !(cqe->flags & IORING_CQE_F_MORE)) {
			r->io_inflight--;
			ATOLL__STAT_ADD(r, io_inflight, (uint64_t)-1);
			if (cqe->user_data == ATOLL__TAG_TIMEOUT ||
			    cqe->user_data == ATOLL__TAG_SIGNAL ||
			    cqe->user_data == ATOLL__TAG_EVENTFD)
				r->io_internal--;
		}
		switch (cqe->user_data) {
		case ATOLL__TAG_DOORBELL:
			break;
		case ATOLL__TAG_MSG_RING:
			atoll__log_warn("reactor %u: msg_ring doorbell failed: %s", r->index,
					atoll_strerror(cqe->res));
			break;
		case ATOLL__TAG_TIMEOUT:
			r->timeout_armed = 0;
			break;
		case ATOLL__TAG_SIGNAL:
			if (cqe->res == (int)sizeof(r->siginfo)) {
				if (signal_to_actor(r)) {
					if (!r->io_stopping)
						arm_signal_read(r);
					break;
				}
				atoll__log_info("received %s, stopping",
						strsignal((int)r->siginfo.ssi_signo));
				atoll_runtime_stop(r->rt);
			} else if (cqe->res != -ECANCELED) {
				atoll__log_warn("signalfd read: %s", atoll_strerror(cqe->res));
			}
			if (cqe->res >= 0 && cqe->res != (int)sizeof(r->siginfo) && !r->io_stopping)
				arm_signal_read(r);
			break;
		case ATOLL__TAG_EVENTFD:
			if (cqe->res >= 0 && !r->io_stopping)
				arm_eventfd_read(r);
			break;
		case ATOLL__TAG_IGNORE:
			break;
		default:
			atoll__log_warn("reactor %u: unexpected completion %llu", r->index,
					(unsigned long long)cqe->user_data);
			break;
		}
	}
	io_uring_cq_advance(&r->ring, n);
}

static bool has_inbound_work(struct atoll_ctx *r)
{
	for (unsigned src = 0; src < r->ncores; src++)
		if (r->in[src] != NULL && atoll__ring_has_work(r->in[src]))
			return true;
	return atomic_load_explicit(&r->ext_pending, memory_order_relaxed) != 0 ||
	       atomic_load_explicit(&r->rt->stopping, memory_order_relaxed) != 0;
}

static void arm_timeout(struct atoll_ctx *r)
{
	uint64_t next = atoll__timers_next(&r->timers);
	struct io_uring_sqe *sqe;

	if (next == 0 || (r->timeout_armed != 0 && r->timeout_armed <= next))
		return;
	sqe = atoll__sqe(r);
	r->io_internal++;
	r->timeout_ts.tv_sec = (long long)(next / 1000000000u);
	r->timeout_ts.tv_nsec = (long long)(next % 1000000000u);
	/* Absolute CLOCK_MONOTONIC, like atoll_now_ns; the kernel reads the
	 * timespec at submission, before the next re-arm can change it. */
	io_uring_prep_timeout(sqe, &r->timeout_ts, 0, IORING_TIMEOUT_ABS);
	io_uring_sqe_set_data64(sqe, ATOLL__TAG_TIMEOUT);
	r->timeout_armed = next;
}

static void submit_nowait(struct atoll_ctx *r)
{
	if (r->ring_flags & IORING_SETUP_DEFER_TASKRUN)
		(void)io_uring_submit_and_get_events(&r->ring);
	else
		(void)io_uring_submit(&r->ring);
}

/*
 * Polls the inbound rings for up to idle_spin_ns before parking: a peer that
 * answers within that time is seen without two syscalls and a wake-up.
 * Returns true when work arrived.
 */
static bool idle_spin(struct atoll_ctx *r)
{
	uint64_t deadline;

	/* With sockets or files in flight, spinning only delays them: their
	 * completions (DEFER_TASKRUN) appear only when we enter the kernel.
	 * Measured: 50 us of spin per park cut echo to 0.58x of an epoll
	 * server at 16 connections (atoll-bench echo). */
	if (r->idle_spin_ns == 0 || r->io_inflight > r->io_internal)
		return false;
	deadline = atoll_now_ns() + r->idle_spin_ns;
	do {
		for (int i = 0; i < 64; i++) {
			if (has_inbound_work(r))
				return true;
			__builtin_ia32_pause();
		}
	} while (atoll_now_ns() < deadline && atoll__timers_next(&r->timers) == 0);
	return false;
}

static void reactor_park(struct atoll_ctx *r)
{
	/* Doorbells and sends queued this loop go out before we spin, not
	 * after; completions that this posts are handled without waiting. */
	if (io_uring_sq_ready(&r->ring) != 0) {
		submit_nowait(r);
		if (io_uring_cq_ready(&r->ring) != 0)
			return;
	}
	if (idle_spin(r))
		return;
	arm_timeout(r);
	atomic_store_explicit(&r->sleeping, 1, memory_order_relaxed);
	/* Pairs with the fence in atoll__reactor_wake: a waker that published
	 * before this fence is seen by has_inbound_work; one that publishes
	 * after it sees sleeping == 1 and rings the doorbell. */
	atomic_thread_fence(memory_order_seq_cst);
	if (has_inbound_work(r)) {
		/* A waker may have reset the flag already and rung: that CQE
		 * only costs one spurious wake-up later. */
		atomic_exchange_explicit(&r->sleeping, 0, memory_order_relaxed);
		submit_nowait(r);
		return;
	}
	int ret = io_uring_submit_and_wait(&r->ring, 1);
	if (ret < 0 && ret != -EINTR && ret != -ETIME)
		atoll__log_warn("reactor %u: io_uring_submit_and_wait: %s", r->index,
				atoll_strerror(ret));
	atomic_exchange_explicit(&r->sleeping, 0, memory_order_relaxed);
	ATOLL__STAT_INC(r, wakeups);
}

static void poll_io(struct atoll_ctx *r)
{
	if (r->run_head == NULL && r->ndirty == 0)
		reactor_park(r);
	else if (io_uring_sq_ready(&r->ring) != 0 || ++r->loops % REAP_EVERY == 0)
		submit_nowait(r);
	atoll__reactor_reap(r);
}

/* --- stop ----------------------------------------------------------------- */

static void stop_actors(struct atoll_ctx *r)
{
	unsigned stopped;

	/* No actor runs again: each is stopped and freed instead. So the run
	 * queue is emptied before the first stop and after each one (a stop
	 * hook may queue a live actor); otherwise a later send would link an
	 * actor behind one already freed. Nothing on the send path pays. */
	r->run_head = NULL;
	r->run_tail = NULL;
	/* Stop hooks may spawn or send; repeat until a pass finds none. */
	do {
		stopped = 0;
		uint32_t used = atoll__table_used(&r->table);
		for (uint32_t i = 0; i < used; i++) {
			struct atoll__slot *s = atoll__table_slot(&r->table, i);
			struct atoll__actor *a;

			if (s == NULL)
				continue;
			a = atomic_load_explicit(&s->actor, memory_order_acquire);
			if (a != NULL && (a->flags & ATOLL__ACTOR_LIVE)) {
				atoll__actor_finish_stop(r, a);
				r->run_head = NULL;
				r->run_tail = NULL;
				stopped++;
			}
		}
	} while (stopped != 0);
}

static void free_list(atoll_msg *m)
{
	while (m != NULL) {
		atoll_msg *next = m->next;
		atoll_msg_free(m);
		m = next;
	}
}

/*
 * Stops this reactor: every actor's stop hook runs, then (after all
 * reactors did the same, so nobody sends any more) every queued message is
 * freed and the io_uring is closed.
 */
static void reactor_shutdown(struct atoll_ctx *r, bool started)
{
	struct atoll_runtime *rt = r->rt;
	atoll_msg *m;

	if (started) {
		stop_actors(r);
		/* Sockets close, requests in flight are cancelled and reaped. */
		atoll__io_shutdown(r);
		for (unsigned core = 0; core < r->ncores; core++)
			if (r->out[core].ring != NULL)
				atoll__ring_publish(r->out[core].ring);
		if (r->uring_ok)
			(void)io_uring_submit(&r->ring);
	}
	/* Every reactor's last send happens before this barrier. */
	pthread_barrier_wait(&rt->stop_barrier);
	r->no_send = true;
	r->io_stopping = true;

	for (unsigned src = 0; src < r->ncores; src++) {
		if (r->in[src] == NULL)
			continue;
		while ((m = atoll__ring_pop(r->in[src])) != NULL) {
			if (m->type == ATOLL_MSG_BUF_RETURN)
				atoll__reactor_deliver(r, m); /* Our buffer, back. */
			else
				atoll_msg_free(m);
		}
		atoll__ring_release(r->in[src]);
	}
	pthread_mutex_lock(&r->ext_lock);
	r->ext_closed = true;
	m = r->ext_head;
	r->ext_head = r->ext_tail = NULL;
	pthread_mutex_unlock(&r->ext_lock);
	free_list(m);
	for (unsigned core = 0; core < r->ncores; core++) {
		free_list(r->out[core].overflow_head);
		r->out[core].overflow_head = r->out[core].overflow_tail = NULL;
	}
	atomic_store_explicit(&r->stats.overflow, 0, memory_order_relaxed);
	atoll__timers_destroy(&r->timers);
	atoll__asks_destroy(&r->asks);
	atomic_store_explicit(&r->stats.queued, 0, memory_order_relaxed);

	pthread_mutex_lock(&rt->wake_lock);
	r->eventfd_closed = true;
	pthread_mutex_unlock(&rt->wake_lock);
	atoll__bufring_destroy(r);
	if (r->uring_ok) {
		io_uring_queue_exit(&r->ring);
		r->uring_ok = false;
	}
	if (r->event_fd >= 0) {
		close(r->event_fd);
		r->event_fd = -1;
	}
}

/* --- the thread ----------------------------------------------------------- */

static void pin(struct atoll_ctx *r)
{
	cpu_set_t set;
	int err;

	if (r->cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(r->cpu, &set);
	err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (err != 0)
		atoll__log_warn("reactor %u: cannot pin to CPU %d: %s", r->index, r->cpu,
				strerror(err));
}

void *atoll__reactor_main(void *arg)
{
	struct atoll_ctx *r = arg;
	struct atoll_runtime *rt = r->rt;
	char name[16];
	int err;

	atoll__tls_reactor = r;
	atoll__tls_current_msg = &r->current_msg;
	atoll__tls_pool = &r->pool;
	snprintf(name, sizeof(name), "atoll-r%u", r->index);
	pthread_setname_np(pthread_self(), name);
	pin(r);
	err = atoll__alloc_bind_thread(r->index);
	if (err < 0)
		atoll__log_debug("reactor %u: no private arena: %s", r->index, atoll_strerror(err));
	err = atoll__reactor_setup(r);

	/* Report, then wait until every reactor has: start succeeds or fails
	 * as a whole. */
	pthread_mutex_lock(&rt->lock);
	if (err < 0 && rt->start_err == 0)
		rt->start_err = err;
	rt->started++;
	pthread_cond_broadcast(&rt->cond);
	while (!rt->gate_open)
		pthread_cond_wait(&rt->cond, &rt->lock);
	bool run = rt->start_err == 0;
	pthread_mutex_unlock(&rt->lock);

	while (run && atomic_load_explicit(&rt->stopping, memory_order_acquire) == 0) {
		drain_inbound(r);  /* 1 */
		run_actors(r);     /* 2 */
		flush_outbound(r); /* 3 */
		fire_timers(r);    /* 4 */
		poll_io(r);        /* 5 */
	}
	reactor_shutdown(r, run);
	atoll__tls_pool = NULL;
	atoll__msg_pool_drain(&r->pool);
	atoll__tls_reactor = NULL;
	atoll__tls_current_msg = NULL;
	return NULL;
}
