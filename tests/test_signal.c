/*
 * test_signal.c - SIGTERM and SIGINT stop a runtime cleanly: a child process
 * starts a runtime with default signal handling, an actor whose stop hook
 * writes a byte to a pipe, reports ready, and waits; the parent signals it
 * and expects exit status 0 (the runtime stopped, was destroyed, and the
 * signal mask was restored) and the stop hook's byte. With no_signals the
 * runtime must leave the signal alone, so SIGTERM kills the child.
 */
#include "helpers.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

enum {
	CHILD_OK = 0,
	CHILD_START_FAILED = 10,
	CHILD_SPAWN_FAILED,
	CHILD_NOT_READY,
	CHILD_WAIT_FAILED,
	CHILD_MASK_NOT_RESTORED,
	CHILD_WAIT_RETURNED, /* with no_signals, wait must not return */
};

#define STOP_BYTE 'S'
#define READY_BYTE 'R'

struct hook_arg {
	int stop_fd;
	atomic_bool inited;
};

static int hook_init(atoll_ctx *ctx, void *state, const void *arg)
{
	(void)ctx;
	*(struct hook_arg **)state = (struct hook_arg *)arg;
	atomic_store(&((struct hook_arg *)arg)->inited, true);
	return 0;
}

static void hook_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	(void)ctx;
	(void)state;
	(void)msg;
}

static void hook_stop(atoll_ctx *ctx, void *state)
{
	struct hook_arg *a = *(struct hook_arg **)state;
	char byte = STOP_BYTE;

	(void)ctx;
	if (write(a->stop_fd, &byte, 1) != 1)
		abort();
}

static const struct atoll_actor_type hook_type = {
	.name = "stop_hook",
	.state_size = sizeof(struct hook_arg *),
	.init = hook_init,
	.receive = hook_receive,
	.stop = hook_stop,
};

static bool sig_blocked(int sig)
{
	sigset_t set;

	sigemptyset(&set);
	pthread_sigmask(SIG_SETMASK, NULL, &set);
	return sigismember(&set, sig) == 1;
}

/* The child: no cmocka calls here, only exit codes. */
static int child_main(int ready_fd, int stop_fd, bool no_signals)
{
	struct atoll_config cfg = { .reactors = 2, .no_signals = no_signals };
	struct hook_arg arg = { .stop_fd = stop_fd };
	atoll_runtime *rt = NULL;
	atoll_ref ref;
	uint64_t deadline;
	char byte = READY_BYTE;
	sigset_t both;

	/* Whatever the test runner left behind: default actions, unblocked. */
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	sigemptyset(&both);
	sigaddset(&both, SIGTERM);
	sigaddset(&both, SIGINT);
	pthread_sigmask(SIG_UNBLOCK, &both, NULL);
	if (atoll_runtime_start(&cfg, &rt) != 0)
		return CHILD_START_FAILED;
	if (atoll_runtime_spawn(rt, &hook_type, &arg, 1, &ref) != 0)
		return CHILD_SPAWN_FAILED;
	deadline = test_now_ns() + WAIT_LIMIT_NS;
	while (!atomic_load(&arg.inited)) {
		if (test_now_ns() > deadline)
			return CHILD_NOT_READY;
		poll_pause();
	}
	if (write(ready_fd, &byte, 1) != 1)
		return CHILD_NOT_READY;
	if (atoll_runtime_wait(rt) != 0)
		return CHILD_WAIT_FAILED;
	if (no_signals)
		return CHILD_WAIT_RETURNED;
	atoll_runtime_destroy(rt);
	/* Start blocked SIGINT/SIGTERM in this thread; destroy unblocks. */
	if (sig_blocked(SIGTERM) || sig_blocked(SIGINT))
		return CHILD_MASK_NOT_RESTORED;
	return CHILD_OK;
}

struct child {
	pid_t pid;
	int ready_fd;
	int stop_fd;
};

static void start_child(struct child *c, bool no_signals)
{
	int ready[2], stop[2];

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(stop), 0);
	fflush(stdout);
	fflush(stderr);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		close(ready[0]);
		close(stop[0]);
		exit(child_main(ready[1], stop[1], no_signals));
	}
	close(ready[1]);
	close(stop[1]);
	c->ready_fd = ready[0];
	c->stop_fd = stop[0];
}

/* Waits for the child to report ready (bounded), failing otherwise. */
static void wait_ready(struct child *c)
{
	struct pollfd pfd = { .fd = c->ready_fd, .events = POLLIN };
	char byte = 0;
	int limit_ms = (int)(TSAN_SCALE(10, 60) * 1000);

	if (poll(&pfd, 1, limit_ms) != 1 || read(c->ready_fd, &byte, 1) != 1 ||
	    byte != READY_BYTE) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		fail_msg("child did not become ready");
	}
}

/* Reaps the child within 10 s (more under TSan), killing it otherwise. */
static int reap_child(struct child *c)
{
	uint64_t deadline = test_now_ns() + TSAN_SCALE(10, 60) * NS_PER_SEC;
	int status = 0;

	for (;;) {
		pid_t r = waitpid(c->pid, &status, WNOHANG);

		if (r == c->pid)
			return status;
		assert_int_equal(r, 0);
		if (test_now_ns() > deadline) {
			kill(c->pid, SIGKILL);
			waitpid(c->pid, &status, 0);
			fail_msg("child still running 10 s after the signal");
		}
		poll_pause();
	}
}

static void check_signal_stops_runtime_cleanly(int sig)
{
	struct child c;
	int status;
	char byte = 0;

	start_child(&c, false);
	wait_ready(&c);
	assert_int_equal(kill(c.pid, sig), 0);
	status = reap_child(&c);
	if (WIFSIGNALED(status))
		fail_msg("child killed by signal %d (%s) instead of stopping cleanly",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) != CHILD_OK)
		fail_msg("child exited with %d", WEXITSTATUS(status));
	/* The child has exited: the hook's byte is in the pipe or never was. */
	assert_int_equal(read(c.stop_fd, &byte, 1), 1);
	assert_int_equal(byte, STOP_BYTE);
	/* Exactly once. */
	assert_int_equal(read(c.stop_fd, &byte, 1), 0);
	close(c.ready_fd);
	close(c.stop_fd);
}

static void signal_sigterm_stops_runtime_and_runs_stop_hooks(void **state)
{
	(void)state;
	check_signal_stops_runtime_cleanly(SIGTERM);
}

static void signal_sigint_stops_runtime_and_runs_stop_hooks(void **state)
{
	(void)state;
	check_signal_stops_runtime_cleanly(SIGINT);
}

static void signal_no_signals_leaves_sigterm_to_its_default_action(void **state)
{
	struct child c;
	int status;

	(void)state;
	start_child(&c, true);
	wait_ready(&c);
	assert_int_equal(kill(c.pid, SIGTERM), 0);
	status = reap_child(&c);
	if (WIFEXITED(status))
		fail_msg("child exited with %d; SIGTERM should have killed it",
			 WEXITSTATUS(status));
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGTERM);
	close(c.ready_fd);
	close(c.stop_fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(signal_sigterm_stops_runtime_and_runs_stop_hooks),
		cmocka_unit_test(signal_sigint_stops_runtime_and_runs_stop_hooks),
		cmocka_unit_test(signal_no_signals_leaves_sigterm_to_its_default_action),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
