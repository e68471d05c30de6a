/*
 * runtime.c - starting and stopping a set of reactors, and the ways into the
 * runtime from ordinary threads (spawn, send, stop, stats).
 *
 * Invariants: the reactors and rings are allocated before any thread starts
 * and freed after every thread has been joined; start either brings every
 * reactor up or none (a gate holds them until all have reported).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "reactor.h"

#define DEFAULT_RING_CAPACITY 4096u
#define MAX_RING_CAPACITY (1u << 24)
#define DEFAULT_BATCH 64u
#define DEFAULT_SQ_ENTRIES 256u
#define DEFAULT_IDLE_SPIN_US 50
#define DEFAULT_RECV_BUFFERS 256u
#define MAX_RECV_BUFFERS 32768u
#define DEFAULT_RECV_BUFFER_SIZE 16384u

static int env_log_level(void)
{
	static const char *const names[] = { "", "error", "warn", "info", "debug" };
	const char *v = getenv("ATOLL_LOG");

	if (v == NULL || *v == '\0')
		return ATOLL_LOG_WARN;
	for (int i = 1; i <= ATOLL_LOG_DEBUG; i++)
		if (strcasecmp(v, names[i]) == 0 || (v[0] == '0' + i && v[1] == '\0'))
			return i;
	return ATOLL_LOG_WARN;
}

static uint32_t round_pow2(uint32_t v)
{
	uint32_t p = 2;

	while (p < v && p < MAX_RING_CAPACITY)
		p <<= 1;
	return p;
}

/* Explains why io_uring could not be set up, from the error and the sysctl. */
static void explain_uring_failure(int err)
{
	char buf[16] = "";
	int fd = open("/proc/sys/kernel/io_uring_disabled", O_RDONLY | O_CLOEXEC);
	int disabled = 0;

	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		if (n > 0)
			disabled = atoi(buf);
		close(fd);
	}
	if (err == -EPERM && disabled != 0)
		atoll__log_error("cannot set up io_uring: %s: disabled by the "
				 "kernel.io_uring_disabled sysctl (value %d); set it to 0, "
				 "or add this user to kernel.io_uring_group",
				 atoll_strerror(err), disabled);
	else if (err == -EPERM)
		atoll__log_error("cannot set up io_uring: %s: blocked by a seccomp filter or "
				 "container policy (e.g. Docker's default profile)",
				 atoll_strerror(err));
	else if (err == -ENOSYS)
		atoll__log_error("cannot set up io_uring: %s: the kernel lacks io_uring "
				 "(5.11 or newer is needed) or a seccomp filter hides it",
				 atoll_strerror(err));
	else if (err == -ENOMEM)
		atoll__log_error("cannot set up io_uring: %s: locked-memory limit too low? "
				 "(ulimit -l)",
				 atoll_strerror(err));
	else
		atoll__log_error("cannot set up io_uring: %s", atoll_strerror(err));
}

struct probe_result {
	int err;
	bool msg_ring;
};

static void *probe_main(void *arg)
{
	struct probe_result *res = arg;
	struct io_uring_probe *probe;
	struct io_uring ring;

	res->err = io_uring_queue_init(2, &ring, 0);
	if (res->err < 0)
		return NULL;
	probe = io_uring_get_probe_ring(&ring);
	res->msg_ring = probe != NULL && io_uring_opcode_supported(probe, IORING_OP_MSG_RING);
	if (probe != NULL)
		io_uring_free_probe(probe);
	io_uring_queue_exit(&ring);
	return NULL;
}

/*
 * Probes io_uring and IORING_OP_MSG_RING with a throwaway ring, so that a
 * kernel without io_uring fails start before any reactor exists. The probe
 * runs on a short-lived thread of its own: tearing a ring down queues task
 * work on the thread that owned it, which made the caller's next timed
 * socket call fail with EINTR (seen in test_stream). Threads outside the
 * runtime thus never own io_uring state.
 */
static int probe_uring(struct atoll_runtime *rt)
{
	struct probe_result res = { .err = -EAGAIN };
	pthread_t thread;
	int err = pthread_create(&thread, NULL, probe_main, &res);

	if (err != 0)
		return -err;
	pthread_join(thread, NULL);
	if (res.err < 0) {
		explain_uring_failure(res.err);
		return res.err;
	}
	if (!res.msg_ring) {
		if (!rt->cfg.eventfd_doorbell)
			atoll__log_warn("kernel lacks IORING_OP_MSG_RING (5.18+): using an "
					"eventfd doorbell");
		rt->cfg.eventfd_doorbell = true;
	}
	return 0;
}

/* Fills cpus[] with the CPUs reactors are pinned to; returns their count. */
static int choose_cpus(const struct atoll_config *cfg, int **cpus_out)
{
	cpu_set_t set;
	int *cpus;
	int n = 0;

	if (cfg->cpus != NULL && cfg->ncpus != 0) {
		cpus = malloc(cfg->ncpus * sizeof(int));
		if (cpus == NULL)
			return -ENOMEM;
		for (unsigned i = 0; i < cfg->ncpus; i++) {
			if (cfg->cpus[i] < 0 || cfg->cpus[i] >= CPU_SETSIZE) {
				free(cpus);
				atoll__log_error("config: CPU %d is out of range", cfg->cpus[i]);
				return -EINVAL;
			}
			cpus[i] = cfg->cpus[i];
		}
		*cpus_out = cpus;
		return (int)cfg->ncpus;
	}
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return -errno;
	cpus = malloc((size_t)CPU_COUNT(&set) * sizeof(int));
	if (cpus == NULL)
		return -ENOMEM;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	*cpus_out = cpus;
	return n;
}

static void reactor_free(struct atoll_ctx *r)
{
	if (r == NULL)
		return;
	atoll__table_destroy(&r->table);
	pthread_mutex_destroy(&r->ext_lock);
	free(r->out);
	free(r->in);
	free(r->dirty);
	free(r);
}

static void runtime_free(struct atoll_runtime *rt)
{
	if (rt->reactors != NULL)
		for (unsigned i = 0; i < rt->n; i++)
			reactor_free(rt->reactors[i]);
	if (rt->rings != NULL) {
		for (unsigned i = 0; i < rt->n * rt->n; i++)
			atoll__ring_destroy(&rt->rings[i]);
		free(rt->rings);
	}
	free(rt->reactors);
	if (rt->signal_fd >= 0)
		close(rt->signal_fd);
	if (rt->signals)
		pthread_sigmask(SIG_SETMASK, &rt->old_mask, NULL);
	atoll__registry_destroy(rt);
	pthread_mutex_destroy(&rt->reg_lock);
	pthread_mutex_destroy(&rt->wake_lock);
	pthread_cond_destroy(&rt->cond);
	pthread_mutex_destroy(&rt->lock);
	free(rt);
}

static struct atoll_ctx *reactor_new(struct atoll_runtime *rt, unsigned index, int cpu)
{
	struct atoll_ctx *r = aligned_alloc(128, (sizeof(*r) + 127) & ~(size_t)127);
	unsigned n = rt->n;

	if (r == NULL)
		return NULL;
	memset(r, 0, sizeof(*r));
	r->rt = rt;
	r->index = index;
	r->ncores = n;
	r->batch = rt->cfg.batch;
	r->cpu = cpu;
	r->event_fd = -1;
	r->signal_fd = index == 0 ? rt->signal_fd : -1;
	r->ring_fd = -1;
	r->eventfd_doorbell = rt->cfg.eventfd_doorbell;
	r->uring_mode = "none";
	r->idle_spin_ns = rt->idle_spin_ns;
	atomic_init(&r->sleeping, 0);
	atomic_init(&r->ext_pending, 0);
	pthread_mutex_init(&r->ext_lock, NULL);
	atoll__timers_init(&r->timers);
	r->out = calloc(n, sizeof(*r->out));
	r->in = calloc(n, sizeof(*r->in));
	r->dirty = calloc(n, sizeof(*r->dirty));
	r->pool.home = index + 1;
	if (r->out == NULL || r->in == NULL || r->dirty == NULL ||
	    atoll__table_init(&r->table, index) < 0) {
		reactor_free(r);
		return NULL;
	}
	for (unsigned peer = 0; peer < n; peer++) {
		if (peer == index)
			continue;
		r->out[peer].ring = &rt->rings[index * n + peer];
		r->in[peer] = &rt->rings[peer * n + index];
	}
	return r;
}

static int block_signals(struct atoll_runtime *rt)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, &set, &rt->old_mask) != 0)
		return -EINVAL;
	rt->signals = true;
	rt->signal_fd = signalfd(-1, &set, SFD_CLOEXEC);
	if (rt->signal_fd < 0) {
		int err = -errno;
		atoll__log_error("signalfd: %s", atoll_strerror(err));
		return err;
	}
	return 0;
}

int atoll_runtime_start(const struct atoll_config *config, atoll_runtime **rt_out)
{
	struct atoll_config cfg = { 0 };
	struct atoll_runtime *rt;
	int *cpus = NULL;
	int ncpus, err;
	unsigned created = 0;

	if (rt_out == NULL)
		return -EINVAL;
	*rt_out = NULL;
	if (config != NULL)
		cfg = *config;
	atoll__log_set_level(cfg.log_level > 0 ? cfg.log_level : env_log_level());
	if (cfg.reactors > ATOLL_MAX_REACTORS || cfg.ring_capacity > MAX_RING_CAPACITY ||
	    (cfg.cpus == NULL) != (cfg.ncpus == 0)) {
		atoll__log_error("config: reactors must be <= %u, ring_capacity <= %u, and "
				 "cpus and ncpus set together",
				 ATOLL_MAX_REACTORS, MAX_RING_CAPACITY);
		return -EINVAL;
	}
	ncpus = choose_cpus(&cfg, &cpus);
	if (ncpus <= 0)
		return ncpus < 0 ? ncpus : -EINVAL;
	if (cfg.reactors == 0)
		cfg.reactors = (unsigned)ncpus;
	cfg.ring_capacity =
		round_pow2(cfg.ring_capacity ? cfg.ring_capacity : DEFAULT_RING_CAPACITY);
	if (cfg.batch == 0)
		cfg.batch = DEFAULT_BATCH;
	if (cfg.sq_entries == 0)
		cfg.sq_entries = DEFAULT_SQ_ENTRIES;
	if (cfg.recv_buffers == 0)
		cfg.recv_buffers = DEFAULT_RECV_BUFFERS;
	if (cfg.recv_buffers > MAX_RECV_BUFFERS || cfg.recv_buffer_size > (1u << 30)) {
		atoll__log_error("config: recv_buffers must be <= %u and recv_buffer_size "
				 "<= 1 GiB",
				 MAX_RECV_BUFFERS);
		return -EINVAL;
	}
	cfg.recv_buffers = round_pow2(cfg.recv_buffers);
	if (cfg.recv_buffer_size == 0)
		cfg.recv_buffer_size = DEFAULT_RECV_BUFFER_SIZE;

	rt = calloc(1, sizeof(*rt));
	if (rt == NULL) {
		free(cpus);
		return -ENOMEM;
	}
	rt->cfg = cfg;
	rt->cfg.cpus = NULL; /* Not ours to keep. */
	rt->n = cfg.reactors;
	rt->signal_fd = -1;
	atomic_init(&rt->stopping, 0);
	atomic_init(&rt->signal_to, ATOLL_REF_NONE);
	atomic_init(&rt->signal_type, 0);
	pthread_mutex_init(&rt->lock, NULL);
	pthread_cond_init(&rt->cond, NULL);
	pthread_mutex_init(&rt->wake_lock, NULL);
	pthread_mutex_init(&rt->reg_lock, NULL);

	err = probe_uring(rt);
	if (err < 0)
		goto fail;
	if (rt->n > (unsigned)ncpus && !cfg.no_pin)
		atoll__log_warn("%u reactors on %d CPUs: oversubscribed, pinning round-robin",
				rt->n, ncpus);
	/* Spinning only helps when each reactor has a CPU of its own. */
	if (cfg.idle_spin_us < 0 || (cfg.idle_spin_us == 0 && rt->n > (unsigned)ncpus))
		rt->idle_spin_ns = 0;
	else
		rt->idle_spin_ns = 1000u * (uint64_t)(cfg.idle_spin_us ? cfg.idle_spin_us
								       : DEFAULT_IDLE_SPIN_US);
	if (!cfg.no_signals && (err = block_signals(rt)) < 0)
		goto fail;

	err = -ENOMEM;
	rt->rings = aligned_alloc(128, rt->n * rt->n * sizeof(*rt->rings));
	rt->reactors = calloc(rt->n, sizeof(*rt->reactors));
	if (rt->rings == NULL || rt->reactors == NULL)
		goto fail;
	memset(rt->rings, 0, rt->n * rt->n * sizeof(*rt->rings));
	for (unsigned s = 0; s < rt->n; s++)
		for (unsigned d = 0; d < rt->n; d++)
			if (s != d &&
			    atoll__ring_init(&rt->rings[s * rt->n + d], cfg.ring_capacity))
				goto fail;
	for (unsigned i = 0; i < rt->n; i++) {
		rt->reactors[i] = reactor_new(rt, i, cfg.no_pin ? -1 : cpus[i % (unsigned)ncpus]);
		if (rt->reactors[i] == NULL)
			goto fail;
	}
	pthread_barrier_init(&rt->stop_barrier, NULL, rt->n);
	free(cpus);
	cpus = NULL;

	err = 0;
	for (created = 0; created < rt->n; created++) {
		int e = pthread_create(&rt->reactors[created]->thread, NULL, atoll__reactor_main,
				       rt->reactors[created]);
		if (e != 0) {
			atoll__log_error("cannot start reactor thread %u: %s", created,
					 strerror(e));
			err = -e;
			break;
		}
	}
	pthread_mutex_lock(&rt->lock);
	if (err < 0) {
		/* Fewer threads than planned: size the stop barrier to them. No
		 * thread is past the gate, so none waits on it yet. */
		rt->start_err = err;
		pthread_barrier_destroy(&rt->stop_barrier);
		pthread_barrier_init(&rt->stop_barrier, NULL, created ? created : 1);
	}
	while (rt->started < created)
		pthread_cond_wait(&rt->cond, &rt->lock);
	err = rt->start_err;
	rt->gate_open = true;
	pthread_cond_broadcast(&rt->cond);
	pthread_mutex_unlock(&rt->lock);
	if (err < 0) {
		if (err == -EPERM || err == -ENOSYS)
			explain_uring_failure(err);
		for (unsigned i = 0; i < created; i++)
			pthread_join(rt->reactors[i]->thread, NULL);
		pthread_barrier_destroy(&rt->stop_barrier);
		runtime_free(rt);
		return err;
	}
	*rt_out = rt;
	return 0;

fail:
	free(cpus);
	runtime_free(rt);
	return err;
}

void atoll_runtime_stop(atoll_runtime *rt)
{
	struct atoll_ctx *self = atoll__tls_reactor;

	if (rt == NULL)
		return;
	/* seq_cst store, then each wake's fence: pairs with the park fence,
	 * so a parking reactor either sees stopping or gets a doorbell. */
	if (atomic_exchange_explicit(&rt->stopping, 1, memory_order_seq_cst) != 0)
		return;
	for (unsigned i = 0; i < rt->n; i++)
		if (rt->reactors[i] != self)
			atoll__reactor_wake(NULL, rt->reactors[i]);
}

void atoll_stop_runtime(atoll_ctx *ctx)
{
	atoll_runtime_stop(ctx->rt);
}

int atoll_runtime_wait(atoll_runtime *rt)
{
	if (rt == NULL)
		return -EINVAL;
	if (rt->joined)
		return 0;
	for (unsigned i = 0; i < rt->n; i++)
		pthread_join(rt->reactors[i]->thread, NULL);
	rt->joined = true;
	pthread_barrier_destroy(&rt->stop_barrier);
	return 0;
}

void atoll_runtime_destroy(atoll_runtime *rt)
{
	if (rt == NULL)
		return;
	atoll_runtime_stop(rt);
	atoll_runtime_wait(rt);
	runtime_free(rt);
}

unsigned atoll_runtime_reactors(const atoll_runtime *rt)
{
	return rt->n;
}

int atoll_runtime_stats(const atoll_runtime *rt, unsigned core, struct atoll_stats *out)
{
	const struct atoll__stats *s;

	if (rt == NULL || out == NULL || core >= rt->n)
		return -EINVAL;
	s = &rt->reactors[core]->stats;
#define COPY(f) out->f = atomic_load_explicit(&s->f, memory_order_relaxed)
	COPY(sent_local);
	COPY(sent_remote);
	COPY(received);
	COPY(ring_full);
	COPY(overflow);
	COPY(doorbells);
	COPY(wakeups);
	COPY(dead_letters);
	COPY(spawned);
	COPY(actors_alive);
	COPY(timers_fired);
	COPY(init_failures);
	COPY(io_inflight);
	COPY(bufs_out);
	COPY(enobufs);
	COPY(queued);
	COPY(queued_max);
	COPY(mailbox_dropped);
	COPY(mailbox_rejected);
	COPY(failures);
	COPY(restarts);
	COPY(ask_timeouts);
#undef COPY
	return 0;
}

const char *atoll_runtime_uring_mode(const atoll_runtime *rt, unsigned core)
{
	static const char *const names[] = {
		"none+msg_ring",         "none+eventfd",          "defer_taskrun+msg_ring",
		"defer_taskrun+eventfd", "coop_taskrun+msg_ring", "coop_taskrun+eventfd",
		"plain+msg_ring",        "plain+eventfd",
	};
	const char *mode;
	int m = 0;

	if (rt == NULL || core >= rt->n)
		return names[0];
	mode = rt->reactors[core]->uring_mode;
	if (strcmp(mode, "defer_taskrun") == 0)
		m = 2;
	else if (strcmp(mode, "coop_taskrun") == 0)
		m = 4;
	else if (strcmp(mode, "plain") == 0)
		m = 6;
	return names[m + (rt->cfg.eventfd_doorbell ? 1 : 0)];
}

/* Queues msg in r's outside inbox and wakes r. Takes msg. */
int atoll__ext_push(struct atoll_ctx *r, atoll_msg *msg)
{
	pthread_mutex_lock(&r->ext_lock);
	if (r->ext_closed) {
		pthread_mutex_unlock(&r->ext_lock);
		atoll_msg_free(msg);
		return -ESHUTDOWN;
	}
	msg->next = NULL;
	if (r->ext_tail != NULL)
		r->ext_tail->next = msg;
	else
		r->ext_head = msg;
	r->ext_tail = msg;
	pthread_mutex_unlock(&r->ext_lock);
	/* Pairs with the reactor's exchange in drain_ext (reactor.c), and
	 * (through the fence in atoll__reactor_wake) with its park fence. */
	atomic_store_explicit(&r->ext_pending, 1, memory_order_seq_cst);
	atoll__reactor_wake(NULL, r);
	return 0;
}

int atoll_runtime_send(atoll_runtime *rt, atoll_ref to, atoll_msg *msg)
{
	unsigned core = atoll_ref_core(to);

	if (msg == NULL)
		return -EINVAL;
	if (rt == NULL || core >= rt->n || to == ATOLL_REF_NONE) {
		atoll_msg_free(msg);
		return -EINVAL;
	}
	if (atoll__table_get(&rt->reactors[core]->table, to) == NULL) {
		atoll_msg_free(msg);
		return -ESRCH;
	}
	msg->to = to;
	return atoll__ext_push(rt->reactors[core], msg);
}

/*
 * A prepared actor is its spawn message, held by the caller until launch or
 * discard: the message owns the actor (and whatever is queued for it), so a
 * message freed without being delivered frees both (atoll__actor_free_pending).
 */
static atoll_msg *pending_msg(struct atoll_pending *pending)
{
	return (atoll_msg *)pending;
}

/* atoll_runtime_prepare with spawn options (NULL: none). */
static int prepare_opts(atoll_runtime *rt, const struct atoll_actor_type *type, int where,
			const struct atoll_spawn_opts *opts, atoll_ref *ref,
			struct atoll_pending **pending)
{
	static const struct atoll_spawn_opts none;
	struct atoll_ctx *target;
	struct atoll__actor *a;
	struct atoll__spawn *sp;
	atoll_msg *msg;
	int err;

	if (pending == NULL)
		return -EINVAL;
	*pending = NULL;
	if (ref != NULL)
		*ref = ATOLL_REF_NONE;
	if (opts == NULL)
		opts = &none;
	/* Links and monitors need an actor on the other end: not from outside. */
	if (rt == NULL || type == NULL || type->receive == NULL || where < 0 ||
	    (unsigned)where >= rt->n || opts->flags != 0 || opts->monitor != NULL)
		return -EINVAL;
	target = rt->reactors[where];
	msg = atoll_msg_new(ATOLL_MSG_SPAWN, sizeof(*sp));
	a = atoll__actor_new(type);
	if (msg == NULL || a == NULL) {
		atoll_msg_free(msg);
		atoll__free(a);
		return -ENOMEM;
	}
	err = atoll__mailbox_setup(a, opts);
	if (err == 0)
		err = atoll__actor_alias_check(target, opts->alias);
	if (err < 0) {
		atoll_msg_free(msg);
		atoll__free(a);
		return err;
	}
	/* Everything is allocated before the slot is reserved: only the owner
	 * can give a slot back. */
	err = atoll__table_reserve(&target->table, &a->ref);
	if (err < 0) {
		atoll_msg_free(msg);
		atoll__free(a);
		return err;
	}
	sp = msg->data;
	sp->actor = a;
	sp->arg = NULL;
	sp->discard = false;
	msg->release = atoll__actor_free_pending;
	msg->to = a->ref;
	/* Published but not LIVE: messages sent to it wait in its mailbox
	 * (mailbox_push schedules LIVE actors only) until init has run. */
	atoll__actor_publish(target, a, opts->alias);
	if (ref != NULL)
		*ref = a->ref;
	*pending = (struct atoll_pending *)msg;
	return 0;
}

int atoll_runtime_prepare(atoll_runtime *rt, const struct atoll_actor_type *type, int where,
			  atoll_ref *ref, struct atoll_pending **pending)
{
	return prepare_opts(rt, type, where, NULL, ref, pending);
}

int atoll_runtime_prepare_opts(atoll_runtime *rt, const struct atoll_actor_type *type, int where,
			       const struct atoll_spawn_opts *opts, atoll_ref *ref,
			       struct atoll_pending **pending)
{
	return prepare_opts(rt, type, where, opts, ref, pending);
}

int atoll__pending_monitor(struct atoll_runtime *rt, struct atoll_pending *watcher,
			   struct atoll_pending *target, atoll_ref as, uint64_t *id)
{
	struct atoll__spawn *w, *t;
	uint64_t n;

	if (rt == NULL || watcher == NULL || target == NULL || id == NULL)
		return -EINVAL;
	w = pending_msg(watcher)->data;
	t = pending_msg(target)->data;
	n = atomic_fetch_add_explicit(&rt->next_outside_id, 1, memory_order_relaxed) + 1;
	*id = 0xffffull << 48 | (n & ((1ull << 48) - 1));
	/* Neither actor runs yet and nobody else holds their refs: their
	 * launch (through the reactors' locked outside inboxes) publishes
	 * what is written here. */
	return atoll__fail_prewire(w->actor, t->actor, as, *id);
}

int atoll_runtime_alias_new(atoll_runtime *rt, int where, atoll_ref *alias)
{
	if (rt == NULL || alias == NULL || where < 0 || (unsigned)where >= rt->n)
		return -EINVAL;
	return atoll__table_reserve_alias(&rt->reactors[where]->table, alias);
}

int atoll_runtime_launch(atoll_runtime *rt, struct atoll_pending *pending, const void *arg)
{
	atoll_msg *msg = pending_msg(pending);
	struct atoll__spawn *sp;

	if (rt == NULL || msg == NULL)
		return -EINVAL;
	sp = msg->data;
	sp->arg = arg;
	return atoll__ext_push(rt->reactors[atoll_ref_core(msg->to)], msg);
}

void atoll_runtime_discard(atoll_runtime *rt, struct atoll_pending *pending)
{
	atoll_msg *msg = pending_msg(pending);
	struct atoll__spawn *sp;

	if (rt == NULL || msg == NULL)
		return;
	sp = msg->data;
	sp->discard = true;
	/* The slot is the owner's to free: the reactor does it. A stopped
	 * runtime frees the message here, and the actor with it. */
	(void)atoll__ext_push(rt->reactors[atoll_ref_core(msg->to)], msg);
}

int atoll_runtime_spawn(atoll_runtime *rt, const struct atoll_actor_type *type, const void *arg,
			int where, atoll_ref *ref)
{
	return atoll_runtime_spawn_opts(rt, type, arg, where, NULL, ref);
}

int atoll_runtime_spawn_opts(atoll_runtime *rt, const struct atoll_actor_type *type,
			     const void *arg, int where, const struct atoll_spawn_opts *opts,
			     atoll_ref *ref)
{
	struct atoll_pending *pending;
	atoll_ref self;
	int err = prepare_opts(rt, type, where, opts, &self, &pending);

	if (ref != NULL)
		*ref = ATOLL_REF_NONE;
	if (err < 0)
		return err;
	err = atoll_runtime_launch(rt, pending, arg);
	if (err == 0 && ref != NULL)
		*ref = self;
	return err;
}

void atoll_runtime_on_signal(atoll_runtime *rt, atoll_ref to, uint32_t type)
{
	atomic_store_explicit(&rt->signal_type, type, memory_order_relaxed);
	/* Pairs with the acquire in reactor 0's signal_to_actor: the type is
	 * seen with the ref. */
	atomic_store_explicit(&rt->signal_to, to, memory_order_release);
}

bool atoll_runtime_stopping(const atoll_runtime *rt)
{
	/* Pairs with the seq_cst exchange in atoll_runtime_stop. */
	return atomic_load_explicit(&rt->stopping, memory_order_acquire) != 0;
}
