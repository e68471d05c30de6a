/*
 * test_runtime.c - starting and stopping reactors: 1, 2, 4 and 8 reactors
 * (8 oversubscribes a 2-CPU box), the default of one reactor per CPU of the
 * affinity mask, pinning, messages from outside to every reactor, the stats
 * counters after a known workload, stop from another thread, bad settings,
 * io_uring blocked by seccomp (EPERM, ENOSYS) in a child process, and
 * atoll_strerror. The reactor loop itself is in test_reactor.c.
 */
#define _GNU_SOURCE
#include "helpers.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

enum {
	MSG_VALUE = PROBE_MSG_VALUE, /* payload: uint64_t */
	MSG_QUIT = PROBE_MSG_QUIT,
	MSG_GO = PROBE_MSG_END,
};

static void send_value(atoll_runtime *rt, atoll_ref to, uint64_t v)
{
	send_from_outside(rt, to, MSG_VALUE, &v, sizeof(v));
}

/* CPUs of the process affinity mask, in order. */
static unsigned affinity_cpus(int *cpus, unsigned max)
{
	cpu_set_t set;
	unsigned n = 0;

	/* No cmocka assert here: child processes call it too. */
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return 0;
	for (int cpu = 0; cpu < CPU_SETSIZE && n < max; cpu++)
		if (CPU_ISSET(cpu, &set))
			cpus[n++] = cpu;
	return n;
}

/* Start and stop ------------------------------------------------------- */

/* Starts n reactors, has an actor on each take a message from outside and
 * report where it runs, then stops them all. */
static void start_probe_every_reactor_and_stop(unsigned n)
{
	struct probe_slot *slots = calloc(n, sizeof(*slots));
	atoll_ref refs[16];
	int cpus[64];
	unsigned ncpus = affinity_cpus(cpus, 64);
	atoll_runtime *rt = start_reactors(n);
	struct atoll_stats st;

	assert_non_null(slots);
	assert_true(ncpus > 0);
	assert_int_equal(atoll_runtime_reactors(rt), n);
	for (unsigned i = 0; i < n; i++) {
		const char *mode = atoll_runtime_uring_mode(rt, i);

		assert_non_null(mode);
		assert_true(strlen(mode) > 0);
		assert_int_equal(atoll_runtime_stats(rt, i, &st), 0);
	}
	assert_int_equal(atoll_runtime_stats(rt, n, &st), -EINVAL);

	for (unsigned i = 0; i < n; i++) {
		refs[i] = spawn_on(rt, &probe_type, &slots[i], (int)i);
		assert_int_equal(atoll_ref_core(refs[i]), i);
		send_value(rt, refs[i], 1000 + i);
	}
	for (unsigned i = 0; i < n; i++) {
		assert_wait_u64(&slots[i].received, 1, WAIT_LIMIT_NS);
		assert_int_equal(atomic_load(&slots[i].inits), 1);
		assert_int_equal(atomic_load(&slots[i].init_core), i);
		assert_int_equal(atomic_load(&slots[i].receive_core), i);
		assert_int_equal(atomic_load(&slots[i].init_ncores), n);
		assert_true(atomic_load(&slots[i].self) == refs[i]);
		assert_int_equal(atomic_load(&slots[i].last_value), 1000 + i);
		/* Pinned round-robin over the affinity mask. */
		if (cpus[i % ncpus] < 64)
			assert_int_equal(atomic_load(&slots[i].cpu_mask), 1ull << cpus[i % ncpus]);
	}
	assert_no_check_failures();
	destroy_runtime(rt);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(atomic_load(&slots[i].stops), 1);
	free(slots);
}

static void runtime_starts_and_stops_with_1_reactor(void **state)
{
	(void)state;
	start_probe_every_reactor_and_stop(1);
}

static void runtime_starts_and_stops_with_2_reactors(void **state)
{
	(void)state;
	start_probe_every_reactor_and_stop(2);
}

static void runtime_starts_and_stops_with_4_reactors(void **state)
{
	(void)state;
	start_probe_every_reactor_and_stop(4);
}

static void runtime_starts_and_stops_with_8_reactors_oversubscribed(void **state)
{
	(void)state;
	start_probe_every_reactor_and_stop(8);
}

static void runtime_restarts_many_times_in_one_process(void **state)
{
	(void)state;
	for (int i = 0; i < TSAN_SCALE(20, 5); i++) {
		atoll_runtime *rt = start_reactors(2);

		assert_int_equal(atoll_runtime_reactors(rt), 2);
		destroy_runtime(rt);
	}
}

static void runtime_default_config_starts_one_reactor_per_cpu_in_affinity_mask(void **state)
{
	struct atoll_config cfg = { .no_signals = true };
	cpu_set_t set;
	atoll_runtime *rt;

	(void)state;
	CPU_ZERO(&set);
	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	rt = start_runtime(&cfg);
	assert_int_equal(atoll_runtime_reactors(rt), (unsigned)CPU_COUNT(&set));
	destroy_runtime(rt);
}

/* Runs fn in a forked child and returns its wait status (bounded wait). */
static int run_in_child(int (*fn)(int fd), int *child_value)
{
	int fds[2];
	pid_t pid;
	int status = 0;
	uint64_t deadline = test_now_ns() + TSAN_SCALE(20, 120) * NS_PER_SEC;

	assert_int_equal(pipe(fds), 0);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		exit(fn(fds[1]));
	}
	close(fds[1]);
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		assert_int_equal(r, 0);
		if (test_now_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			close(fds[0]);
			fail_msg("child %d did not exit in time", (int)pid);
		}
		poll_pause();
	}
	*child_value = INT32_MIN;
	if (read(fds[0], child_value, sizeof(*child_value)) != (ssize_t)sizeof(*child_value))
		*child_value = INT32_MIN;
	close(fds[0]);
	if (WIFSIGNALED(status))
		fail_msg("child killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	return status;
}

static int child_default_reactors_on_one_cpu(int fd)
{
	int cpus[1];
	cpu_set_t one;
	struct atoll_config cfg = { .no_signals = true };
	atoll_runtime *rt = NULL;
	int value, rc;

	if (affinity_cpus(cpus, 1) != 1)
		return 10;
	CPU_ZERO(&one);
	CPU_SET(cpus[0], &one);
	if (sched_setaffinity(0, sizeof(one), &one) != 0)
		return 11;
	rc = atoll_runtime_start(&cfg, &rt);
	if (rc != 0)
		return 12;
	value = (int)atoll_runtime_reactors(rt);
	atoll_runtime_destroy(rt);
	if (write(fd, &value, sizeof(value)) != (ssize_t)sizeof(value))
		return 13;
	return 0;
}

static void runtime_default_reactors_follow_a_narrowed_affinity_mask(void **state)
{
	int reactors = 0;
	int status = run_in_child(child_default_reactors_on_one_cpu, &reactors);

	(void)state;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(reactors, 1);
}

static void runtime_pins_reactor_i_to_configured_cpus_i(void **state)
{
	int mask_cpus[64];
	unsigned n = affinity_cpus(mask_cpus, 64);
	static int cpus[2];
	static struct probe_slot slots[2]; /* actors point here: outlives the test */
	struct atoll_config cfg = { .reactors = 2, .cpus = cpus, .ncpus = 2, .no_signals = true };
	atoll_runtime *rt;

	(void)state;
	if (n < 2 || mask_cpus[1] >= 64) {
		skip();
		return;
	}
	/* Reversed, so that "reactor i on CPU i" would be wrong. */
	cpus[0] = mask_cpus[1];
	cpus[1] = mask_cpus[0];
	memset(slots, 0, sizeof(slots));
	rt = start_runtime(&cfg);
	for (int i = 0; i < 2; i++)
		spawn_on(rt, &probe_type, &slots[i], i);
	for (int i = 0; i < 2; i++) {
		assert_wait_u64(&slots[i].inits, 1, WAIT_LIMIT_NS);
		assert_int_equal(atomic_load(&slots[i].cpu_mask), 1ull << cpus[i]);
	}
	destroy_runtime(rt);
}

static void runtime_uring_mode_names_setup_and_doorbell(void **state)
{
	struct atoll_config cfg = { .reactors = 2, .no_signals = true, .eventfd_doorbell = true };
	atoll_runtime *rt;

	(void)state;
	for (int pass = 0; pass < 2; pass++) {
		cfg.eventfd_doorbell = pass == 1;
		rt = start_runtime(&cfg);
		for (unsigned i = 0; i < 2; i++) {
			const char *mode = atoll_runtime_uring_mode(rt, i);

			assert_non_null(mode);
			printf("reactor %u: %s\n", i, mode);
			assert_true(strstr(mode, "defer_taskrun") || strstr(mode, "coop_taskrun") ||
				    strstr(mode, "plain"));
			assert_true(strstr(mode, "msg_ring") || strstr(mode, "eventfd"));
			if (cfg.eventfd_doorbell)
				assert_non_null(strstr(mode, "eventfd"));
		}
		destroy_runtime(rt);
	}
}

/* Stats ---------------------------------------------------------------- */

struct driver_arg {
	atoll_ref local;
	atoll_ref remote;
	unsigned nlocal;
	unsigned nremote;
	_Atomic uint64_t done;
};

static int driver_init(atoll_ctx *ctx, void *state, const void *arg)
{
	(void)ctx;
	*(struct driver_arg **)state = (struct driver_arg *)arg;
	return 0;
}

static void driver_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct driver_arg *a = *(struct driver_arg **)state;
	uint64_t v = 7;

	CHECK_EQ(msg->type, MSG_GO);
	for (unsigned i = 0; i < a->nlocal; i++)
		CHECK_EQ(atoll_tell(ctx, a->local, MSG_VALUE, &v, sizeof(v)), ATOLL_SENT);
	for (unsigned i = 0; i < a->nremote; i++)
		CHECK(atoll_tell(ctx, a->remote, MSG_VALUE, &v, sizeof(v)) >= 0);
	atomic_store(&a->done, 1);
}

static const struct atoll_actor_type driver_type = {
	.name = "driver",
	.state_size = sizeof(struct driver_arg *),
	.init = driver_init,
	.receive = driver_receive,
};

static void runtime_stats_count_sends_receives_and_live_actors(void **state)
{
	atoll_runtime *rt = start_reactors(2);
	static struct probe_slot local_slot, remote_slot; /* outlive the test */
	static struct driver_arg arg;
	struct atoll_stats before0, before1, after0, after1;
	atoll_ref driver;

	(void)state;
	memset(&local_slot, 0, sizeof(local_slot));
	memset(&remote_slot, 0, sizeof(remote_slot));
	memset(&arg, 0, sizeof(arg));
	arg.nlocal = 10;
	arg.nremote = 7;
	arg.local = spawn_on(rt, &probe_type, &local_slot, 0);
	arg.remote = spawn_on(rt, &probe_type, &remote_slot, 1);
	driver = spawn_on(rt, &driver_type, &arg, 0);
	assert_wait_u64(&local_slot.inits, 1, WAIT_LIMIT_NS);
	assert_wait_u64(&remote_slot.inits, 1, WAIT_LIMIT_NS);
	assert_stat_eventually(rt, 0, actors_alive, 2);
	assert_stat_eventually(rt, 1, actors_alive, 1);
	assert_stat_eventually(rt, 0, spawned, 2);
	assert_stat_eventually(rt, 1, spawned, 1);
	before0 = read_stats(rt, 0);
	before1 = read_stats(rt, 1);

	send_from_outside(rt, driver, MSG_GO, NULL, 0);
	assert_wait_u64(&local_slot.received, 10, WAIT_LIMIT_NS);
	assert_wait_u64(&remote_slot.received, 7, WAIT_LIMIT_NS);
	/* The driver's go, its 10 local sends, and the 7 that crossed. */
	assert_stat_eventually(rt, 0, received, before0.received + 1 + 10);
	assert_stat_eventually(rt, 1, received, before1.received + 7);
	after0 = read_stats(rt, 0);
	after1 = read_stats(rt, 1);
	assert_int_equal(after0.sent_local - before0.sent_local, 10);
	assert_int_equal(after0.sent_remote - before0.sent_remote, 7);
	assert_int_equal(after1.sent_local - before1.sent_local, 0);
	assert_int_equal(after1.sent_remote - before1.sent_remote, 0);
	assert_int_equal(after0.dead_letters + after1.dead_letters, 0);
	assert_int_equal(after0.init_failures + after1.init_failures, 0);

	/* One actor leaves: alive drops, spawned does not. */
	send_from_outside(rt, arg.local, MSG_QUIT, NULL, 0);
	assert_wait_u64(&local_slot.stops, 1, WAIT_LIMIT_NS);
	assert_stat_eventually(rt, 0, actors_alive, 1);
	assert_stat_eventually(rt, 0, spawned, 2);
	assert_stat_eventually(rt, 1, actors_alive, 1);
	assert_no_check_failures();
	destroy_runtime(rt);
}

static void runtime_stop_from_another_thread_returns_wait(void **state)
{
	atoll_runtime *rt = start_reactors(2);
	static struct probe_slot slot; /* outlives the test */

	(void)state;
	memset(&slot, 0, sizeof(slot));
	spawn_on(rt, &probe_type, &slot, 1);
	assert_wait_u64(&slot.inits, 1, WAIT_LIMIT_NS);
	atoll_runtime_stop(rt);
	atoll_runtime_stop(rt); /* twice is harmless */
	assert_int_equal(wait_runtime(rt), 0);
	assert_int_equal(atomic_load(&slot.stops), 1);
	destroy_runtime(rt);
	assert_int_equal(atomic_load(&slot.stops), 1);
}

/* Bad input ------------------------------------------------------------ */

static int noop_init(atoll_ctx *ctx, void *state, const void *arg)
{
	(void)ctx;
	(void)state;
	(void)arg;
	return 0;
}

static const struct atoll_actor_type no_receive_type = {
	.name = "no_receive",
	.init = noop_init,
};

static void runtime_rejects_bad_config_spawn_and_refs_with_einval(void **state)
{
	struct atoll_config cfg = { .reactors = ATOLL_MAX_REACTORS + 1, .no_signals = true };
	atoll_runtime *rt = NULL;
	static struct probe_slot slot; /* outlives the test */
	atoll_ref ref = ATOLL_REF_NONE, nowhere;
	int rc;

	(void)state;
	assert_int_equal(atoll_runtime_start(&cfg, &rt), -EINVAL);
	cfg.reactors = UINT32_MAX;
	assert_int_equal(atoll_runtime_start(&cfg, &rt), -EINVAL);

	/* Not a power of two: rounded up, not refused. */
	cfg.reactors = 2;
	cfg.ring_capacity = 3;
	rt = start_runtime(&cfg);
	memset(&slot, 0, sizeof(slot));
	assert_int_equal(atoll_runtime_spawn(rt, &probe_type, &slot, 2, &ref), -EINVAL);
	assert_int_equal(atoll_runtime_spawn(rt, &probe_type, &slot, ATOLL_HERE, &ref), -EINVAL);
	assert_int_equal(atoll_runtime_spawn(rt, &no_receive_type, NULL, 0, &ref), -EINVAL);
	assert_int_equal(atoll_runtime_spawn(rt, NULL, NULL, 0, &ref), -EINVAL);

	/* A ref naming no reactor; the message is taken (and freed) anyway. */
	nowhere = ((atoll_ref)5 << (ATOLL_REF_SLOT_BITS + ATOLL_REF_GEN_BITS)) | 1;
	assert_int_equal(atoll_runtime_send(rt, nowhere, atoll_msg_new(MSG_VALUE, 8)), -EINVAL);
	rc = atoll_runtime_send(rt, ATOLL_REF_NONE, atoll_msg_new(MSG_VALUE, 8));
	assert_true(rc == -EINVAL || rc == -ESRCH);

	/* The runtime still works. */
	ref = spawn_on(rt, &probe_type, &slot, 1);
	send_value(rt, ref, 42);
	assert_wait_u64(&slot.received, 1, WAIT_LIMIT_NS);
	assert_int_equal(atomic_load(&slot.last_value), 42);
	destroy_runtime(rt);
}

/* io_uring blocked by seccomp ------------------------------------------ */

#if defined(__x86_64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef TEST_AUDIT_ARCH
static int child_start_with_io_uring_setup_failing(int fd, int err)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TEST_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((uint32_t)err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = (unsigned short)(sizeof(filter) / sizeof(filter[0])),
		.filter = filter,
	};
	struct atoll_config cfg = { .reactors = 2, .no_signals = true };
	struct io_uring ring;
	atoll_runtime *rt = NULL;
	int rc;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return 20;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
		return 21;
	/* The filter works: liburing itself now gets the error. */
	if (io_uring_queue_init(4, &ring, 0) != -err)
		return 22;
	rc = atoll_runtime_start(&cfg, &rt);
	if (write(fd, &rc, sizeof(rc)) != (ssize_t)sizeof(rc))
		return 23;
	if (rc == 0) {
		atoll_runtime_destroy(rt);
		return 24;
	}
	return rc == -err ? 0 : 25;
}

static int child_io_uring_eperm(int fd)
{
	return child_start_with_io_uring_setup_failing(fd, EPERM);
}

static int child_io_uring_enosys(int fd)
{
	return child_start_with_io_uring_setup_failing(fd, ENOSYS);
}
#endif

static void check_start_fails_in_child(int (*child)(int fd), int err)
{
	int rc = 0;
	int status = run_in_child(child, &rc);

	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) != 0)
		fail_msg("child exited with %d; atoll_runtime_start returned %d (%s), expected %d",
			 WEXITSTATUS(status), rc, rc == INT32_MIN ? "nothing" : atoll_strerror(rc),
			 -err);
	assert_int_equal(rc, -err);
}

static void runtime_start_returns_eperm_when_seccomp_blocks_io_uring(void **state)
{
	(void)state;
#ifdef TEST_AUDIT_ARCH
	check_start_fails_in_child(child_io_uring_eperm, EPERM);
#else
	(void)check_start_fails_in_child;
	skip();
#endif
}

static void runtime_start_returns_enosys_when_seccomp_hides_io_uring(void **state)
{
	(void)state;
#ifdef TEST_AUDIT_ARCH
	check_start_fails_in_child(child_io_uring_enosys, ENOSYS);
#else
	skip();
#endif
}

static void strerror_returns_success_or_the_errno_text(void **state)
{
	static const int errs[] = { EINVAL, ENOMEM, ESRCH, EEXIST, ENOENT, EPERM, ENOSYS, EAGAIN };

	(void)state;
	assert_string_equal(atoll_strerror(0), "success");
	assert_string_equal(atoll_strerror(ATOLL_SENT_QUEUED), "success");
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		const char *s = atoll_strerror(-errs[i]);

		assert_non_null(s);
		assert_true(strlen(s) > 0);
		assert_string_equal(s, strerror(errs[i]));
	}
	/* Values no errno has still give a string. */
	assert_non_null(atoll_strerror(-99999));
	assert_true(strlen(atoll_strerror(-99999)) > 0);
}

/* Two-phase spawn ------------------------------------------------------ */

/* What the linked actors saw, written on reactor threads. */
static struct {
	_Atomic uint64_t inits;    /* inits that ran */
	_Atomic uint64_t received; /* VALUE messages received, all actors */
	_Atomic uint64_t last_sum; /* sum of the VALUEs the last actor got */
	_Atomic uint64_t discarded_inits;
} linked;

struct linked_arg {
	atoll_ref next; /* where init sends its VALUE; NONE: nowhere */
	uint64_t value;
	bool is_last;
};

struct linked_state {
	bool is_last;
	bool init_ran;
};

static int linked_init(atoll_ctx *ctx, void *state, const void *arg)
{
	const struct linked_arg *a = arg;
	struct linked_state *s = state;

	s->is_last = a->is_last;
	s->init_ran = true;
	if (a->next != ATOLL_REF_NONE)
		CHECK(atoll_tell(ctx, a->next, MSG_VALUE, &a->value, sizeof(a->value)) >= 0);
	atomic_fetch_add(&linked.inits, 1);
	return 0;
}

static void linked_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct linked_state *s = state;
	uint64_t v;

	(void)ctx;
	if (msg->type != MSG_VALUE || msg->len != sizeof(v))
		return;
	memcpy(&v, msg->data, sizeof(v));
	CHECK(s->init_ran);
	if (s->is_last)
		atomic_fetch_add(&linked.last_sum, v);
	atomic_fetch_add(&linked.received, 1);
}

static const struct atoll_actor_type linked_type = {
	.name = "linked",
	.state_size = sizeof(struct linked_state),
	.init = linked_init,
	.receive = linked_receive,
};

static int discarded_init(atoll_ctx *ctx, void *state, const void *arg)
{
	(void)ctx;
	(void)state;
	(void)arg;
	atomic_fetch_add(&linked.discarded_inits, 1);
	return 0;
}

static void discarded_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	(void)ctx;
	(void)state;
	(void)msg;
}

static const struct atoll_actor_type discarded_type = {
	.name = "discarded",
	.init = discarded_init,
	.receive = discarded_receive,
};

/*
 * A chain of actors, one per reactor, each prepared before any is launched,
 * so each init gets the ref of the next. They are launched in reverse, and a
 * VALUE is sent from outside to the last one before its launch: messages to
 * a prepared actor wait for its init, none is lost.
 */
static void prepare_launch_chain(unsigned n)
{
	struct atoll_pending *pending[8];
	struct linked_arg args[8];
	atoll_ref refs[8];
	atoll_runtime *rt = start_reactors(n);

	memset(&linked, 0, sizeof(linked));
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(
			atoll_runtime_prepare(rt, &linked_type, (int)i, &refs[i], &pending[i]), 0);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(atoll_ref_core(refs[i]), i);
		args[i].next = i + 1 < n ? refs[i + 1] : ATOLL_REF_NONE;
		args[i].value = 100 + i;
		args[i].is_last = i + 1 == n;
	}
	send_value(rt, refs[n - 1], 7); /* Queued until the last one runs init. */
	for (unsigned i = n; i-- > 0;)
		assert_int_equal(atoll_runtime_launch(rt, pending[i], &args[i]), 0);
	assert_wait_u64(&linked.received, n, WAIT_LIMIT_NS);
	assert_int_equal(atomic_load(&linked.inits), n);
	assert_int_equal(atomic_load(&linked.last_sum), n == 1 ? 7 : 7 + 100 + n - 2);
	assert_stat_eventually(rt, ALL_REACTORS, init_failures, 0);
	assert_stat_eventually(rt, ALL_REACTORS, actors_alive, n);
	destroy_runtime(rt);
	assert_no_check_failures();
}

static void runtime_prepare_then_launch_links_a_chain_on_1_reactor(void **state)
{
	(void)state;
	prepare_launch_chain(1);
}

static void runtime_prepare_then_launch_links_a_chain_on_4_reactors(void **state)
{
	(void)state;
	prepare_launch_chain(4);
}

static void runtime_prepare_then_launch_links_a_chain_on_8_reactors(void **state)
{
	(void)state;
	prepare_launch_chain(8);
}

/* A discarded actor never runs init; what was sent to it becomes a dead
 * letter, and its ref goes stale (its slot is freed on its reactor). */
static void runtime_discard_frees_the_slot_and_drops_queued_messages(void **state)
{
	struct atoll_pending *pending;
	atoll_ref ref;
	atoll_runtime *rt = start_reactors(2);

	(void)state;
	memset(&linked, 0, sizeof(linked));
	assert_int_equal(atoll_runtime_prepare(rt, &discarded_type, 1, &ref, &pending), 0);
	send_value(rt, ref, 1);
	atoll_runtime_discard(rt, pending);
	assert_stat_eventually(rt, 1, dead_letters, 1);
	assert_stat_eventually(rt, 1, actors_alive, 0);
	assert_ref_goes_stale(rt, ref, MSG_VALUE);
	assert_int_equal(atomic_load(&linked.discarded_inits), 0);
	/* The slot is reused by the next actor of that reactor, with a new
	 * generation. */
	atoll_ref again;
	assert_int_equal(atoll_runtime_prepare(rt, &discarded_type, 1, &again, &pending), 0);
	assert_true(again != ref);
	assert_int_equal(atoll_runtime_launch(rt, pending, NULL), 0);
	assert_stat_eventually(rt, 1, actors_alive, 1);
	destroy_runtime(rt);
	assert_int_equal(atomic_load(&linked.discarded_inits), 1);
}

/* Prepared actors left after the runtime stopped are freed by discard (or
 * launch) on the calling thread, without leaking (ASan checks). */
static void runtime_prepared_actor_outlives_a_stopped_runtime_cleanly(void **state)
{
	struct atoll_pending *a, *b;
	atoll_ref ra, rb;
	atoll_runtime *rt = start_reactors(2);

	(void)state;
	assert_int_equal(atoll_runtime_prepare(rt, &discarded_type, 0, &ra, &a), 0);
	assert_int_equal(atoll_runtime_prepare(rt, &discarded_type, 1, &rb, &b), 0);
	send_value(rt, rb, 3);
	atoll_runtime_stop(rt);
	assert_int_equal(wait_runtime(rt), 0);
	atoll_runtime_discard(rt, a);
	assert_int_equal(atoll_runtime_launch(rt, b, NULL), -ESHUTDOWN);
	destroy_runtime(rt);
}

static void runtime_prepare_rejects_bad_arguments(void **state)
{
	struct atoll_pending *pending = (struct atoll_pending *)1;
	atoll_ref ref = 1;
	atoll_runtime *rt = start_reactors(2);

	(void)state;
	assert_int_equal(atoll_runtime_prepare(rt, &linked_type, 2, &ref, &pending), -EINVAL);
	assert_null(pending);
	assert_int_equal(ref, ATOLL_REF_NONE);
	assert_int_equal(atoll_runtime_prepare(rt, NULL, 0, &ref, &pending), -EINVAL);
	assert_int_equal(atoll_runtime_prepare(rt, &linked_type, -1, &ref, &pending), -EINVAL);
	assert_int_equal(atoll_runtime_prepare(rt, &linked_type, 0, &ref, NULL), -EINVAL);
	assert_int_equal(atoll_runtime_launch(rt, NULL, NULL), -EINVAL);
	atoll_runtime_discard(rt, NULL);
	destroy_runtime(rt);
}

/* Last in the list: UBSan stops the process if negating it overflows. */
static void strerror_of_int_min_gives_a_string_without_overflow(void **state)
{
	(void)state;
	assert_non_null(atoll_strerror(INT32_MIN));
	assert_true(strlen(atoll_strerror(INT32_MIN)) > 0);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, reset, destroy_leftovers)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(runtime_starts_and_stops_with_1_reactor),
		TEST(runtime_starts_and_stops_with_2_reactors),
		TEST(runtime_starts_and_stops_with_4_reactors),
		TEST(runtime_starts_and_stops_with_8_reactors_oversubscribed),
		TEST(runtime_restarts_many_times_in_one_process),
		TEST(runtime_default_config_starts_one_reactor_per_cpu_in_affinity_mask),
		TEST(runtime_default_reactors_follow_a_narrowed_affinity_mask),
		TEST(runtime_pins_reactor_i_to_configured_cpus_i),
		TEST(runtime_uring_mode_names_setup_and_doorbell),
		TEST(runtime_stats_count_sends_receives_and_live_actors),
		TEST(runtime_stop_from_another_thread_returns_wait),
		TEST(runtime_rejects_bad_config_spawn_and_refs_with_einval),
		TEST(runtime_start_returns_eperm_when_seccomp_blocks_io_uring),
		TEST(runtime_start_returns_enosys_when_seccomp_hides_io_uring),
		TEST(runtime_prepare_then_launch_links_a_chain_on_1_reactor),
		TEST(runtime_prepare_then_launch_links_a_chain_on_4_reactors),
		TEST(runtime_prepare_then_launch_links_a_chain_on_8_reactors),
		TEST(runtime_discard_frees_the_slot_and_drops_queued_messages),
		TEST(runtime_prepared_actor_outlives_a_stopped_runtime_cleanly),
		TEST(runtime_prepare_rejects_bad_arguments),
		TEST(strerror_returns_success_or_the_errno_text),
		TEST(strerror_of_int_min_gives_a_string_without_overflow),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
