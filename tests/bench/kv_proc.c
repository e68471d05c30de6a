/*
 * kv_proc.c - the child processes of the kv benchmarks: servers and
 * redis-benchmark, pinned with sched_setaffinity between fork and exec,
 * their output in log files, their CPU time read from outside.
 *
 * Invariants: every wait is bounded and also ends on SIGINT/SIGTERM/SIGHUP
 * (kv_interrupted); every child is reaped exactly once (struct kv_proc keeps
 * the status); a child dies with the driver (PR_SET_PDEATHSIG), so nothing
 * outlives atoll-bench. Only the pids we started are ever signalled.
 */
#define _GNU_SOURCE
#include "bench.h"
#include "kv.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How often the waits below look at their children and at the flag. */
#define KV_POLL_NS 5000000L

/* ------------------------------------------------------------- signals --- */

static volatile sig_atomic_t interrupted_by;
static struct sigaction old_int, old_term, old_hup;

static void on_signal(int sig)
{
	interrupted_by = sig;
}

void kv_signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a sleep or a connect returns at once with EINTR. */
	sa.sa_flags = 0;
	interrupted_by = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
}

void kv_signals_restore(void)
{
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
}

int kv_interrupted(void)
{
	return (int)interrupted_by;
}

static void pause_briefly(void)
{
	struct timespec pause = { .tv_sec = 0, .tv_nsec = KV_POLL_NS };

	nanosleep(&pause, NULL);
}

/* ----------------------------------------------------------- processes --- */

/* Between fork and exec: async-signal-safe calls only. */
static void child_fail(const char *what, const char *arg)
{
	const char *reason = strerrordesc_np(errno);

	(void)!write(2, what, strlen(what));
	(void)!write(2, arg, strlen(arg));
	(void)!write(2, ": ", 2);
	(void)!write(2, reason != NULL ? reason : "error",
		     strlen(reason != NULL ? reason : "error"));
	(void)!write(2, "\n", 1);
	_exit(127);
}

static void child_exec(const struct kv_proc *proc, char *const argv[], const cpu_set_t *cpus,
		       pid_t parent)
{
	int in, out, err;

	/* Its own group: a Ctrl-C at the terminal reaches the driver only,
	 * which then stops its children in order. */
	(void)setpgid(0, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
		_exit(127);
	in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	out = open(proc->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	err = proc->err_log[0] != '\0'
		      ? open(proc->err_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)
		      : out;
	if (in < 0 || out < 0 || err < 0)
		_exit(127);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(127);
	if (cpus != NULL && sched_setaffinity(0, sizeof(*cpus), cpus) != 0)
		child_fail("sched_setaffinity for ", argv[0]);
	execv(argv[0], argv);
	child_fail("cannot execute ", argv[0]);
}

int kv_proc_spawn(const char *bench, struct kv_proc *proc, char *const argv[],
		  const cpu_set_t *cpus)
{
	pid_t parent = getpid();
	pid_t pid;

	proc->pid = 0;
	proc->reaped = false;
	proc->status = 0;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int rc = -errno;

		bench_note(bench, "cannot start %s: fork: %s", proc->what, strerror(-rc));
		return rc;
	}
	if (pid == 0)
		child_exec(proc, argv, cpus, parent);
	proc->pid = pid;
	return 0;
}

static void reap(struct kv_proc *proc, int status)
{
	proc->reaped = true;
	proc->status = status;
}

bool kv_proc_alive(struct kv_proc *proc)
{
	int status;
	pid_t rc;

	if (proc->pid <= 0 || proc->reaped)
		return false;
	rc = waitpid(proc->pid, &status, WNOHANG);
	if (rc == proc->pid) {
		reap(proc, status);
		return false;
	}
	return rc == 0;
}

static void describe_status(int status, char *out, size_t size)
{
	if (WIFEXITED(status))
		snprintf(out, size, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, size, "was killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(out, size, "ended with wait status %#x", (unsigned)status);
}

/* Prints the last lines of path (at most about 1.5 KB) on stderr. */
static void print_tail(const char *bench, const char *what, const char *path)
{
	char buf[1536];
	ssize_t n;
	off_t size;
	char *line, *save = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	if (size > (off_t)sizeof(buf) - 1)
		(void)lseek(fd, size - (off_t)sizeof(buf) + 1, SEEK_SET);
	else
		(void)lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	bench_note(bench, "%s output (%s, last lines):", what, path);
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		fprintf(stderr, "    | %s\n", line);
}

void kv_proc_explain(const char *bench, const struct kv_proc *proc)
{
	char how[96];

	if (proc->reaped) {
		describe_status(proc->status, how, sizeof(how));
		bench_note(bench, "%s (pid %d) %s", proc->what, (int)proc->pid, how);
	}
	print_tail(bench, proc->what, proc->log);
	if (proc->err_log[0] != '\0')
		print_tail(bench, proc->what, proc->err_log);
}

int kv_proc_stop(const char *bench, struct kv_proc *proc, double timeout_s)
{
	uint64_t deadline;
	int status;

	if (proc->pid <= 0)
		return 0;
	if (proc->reaped || !kv_proc_alive(proc))
		return -ECHILD;
	kill(proc->pid, SIGTERM);
	deadline = bench_now_ns() + bench_seconds_ns(timeout_s);
	while (bench_now_ns() < deadline) {
		if (!kv_proc_alive(proc))
			return 0;
		pause_briefly();
	}
	bench_note(bench, "%s (pid %d) still runs %g s after SIGTERM: SIGKILL", proc->what,
		   (int)proc->pid, timeout_s);
	kill(proc->pid, SIGKILL);
	while (waitpid(proc->pid, &status, 0) < 0 && errno == EINTR)
		;
	reap(proc, status);
	return -ETIMEDOUT;
}

/* ---------------------------------------------------------------- RESP --- */

/* A blocking loopback connection with one-second timeouts. Returns the fd
 * or -errno. */
static int connect_loopback(uint16_t port)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 1, .tv_usec = 0 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

/* Sends argv as a RESP array and reads one line ("...\r\n") of reply into
 * line. Returns the line's length without CRLF, or -errno. */
static int resp_line(uint16_t port, int argc, const char *const argv[], char *line, size_t size)
{
	char req[512];
	size_t len = 0, got = 0;
	int fd, n;

	n = snprintf(req, sizeof(req), "*%d\r\n", argc);
	if (n < 0)
		return -EINVAL;
	len = (size_t)n;
	for (int i = 0; i < argc; i++) {
		n = snprintf(req + len, sizeof(req) - len, "$%zu\r\n%s\r\n", strlen(argv[i]),
			     argv[i]);
		if (n < 0 || (size_t)n >= sizeof(req) - len)
			return -EINVAL;
		len += (size_t)n;
	}
	fd = connect_loopback(port);
	if (fd < 0)
		return fd;
	if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len) {
		int rc = errno != 0 ? -errno : -EIO;

		close(fd);
		return rc;
	}
	while (got + 1 < size) {
		ssize_t r = recv(fd, line + got, size - 1 - got, 0);

		if (r <= 0) {
			int rc = r == 0 ? -ECONNRESET : -errno;

			close(fd);
			return rc;
		}
		got += (size_t)r;
		line[got] = '\0';
		if (got >= 2 && line[got - 2] == '\r' && line[got - 1] == '\n')
			break;
	}
	close(fd);
	if (got < 2 || line[got - 1] != '\n')
		return -EPROTO;
	line[got - 2] = '\0';
	return (int)(got - 2);
}

int kv_wait_ready(const char *bench, struct kv_proc *server, uint16_t port, double timeout_s)
{
	static const char *const ping[] = { "PING" };
	uint64_t deadline = bench_now_ns() + bench_seconds_ns(timeout_s);
	char line[128];
	int rc = -ETIMEDOUT;

	while (bench_now_ns() < deadline) {
		if (kv_interrupted())
			return -EINTR;
		if (!kv_proc_alive(server)) {
			bench_note(bench, "%s did not start on port %u", server->what,
				   (unsigned)port);
			kv_proc_explain(bench, server);
			return -ECHILD;
		}
		rc = resp_line(port, 1, ping, line, sizeof(line));
		if (rc >= 0 && strcmp(line, "+PONG") == 0)
			return 0;
		/* -LOADING and friends: not ready yet, ask again. */
		pause_briefly();
	}
	bench_note(bench, "%s does not answer PING on 127.0.0.1:%u within %g s (last: %s)",
		   server->what, (unsigned)port, timeout_s,
		   rc >= 0 ? line : strerror(rc == -ETIMEDOUT ? ETIMEDOUT : -rc));
	kv_proc_explain(bench, server);
	return -ETIMEDOUT;
}

int kv_query_int(uint16_t port, int argc, const char *const argv[], int64_t *out)
{
	char line[128];
	char *end;
	long long v;
	int rc = resp_line(port, argc, argv, line, sizeof(line));

	if (rc < 0)
		return rc;
	if (line[0] != ':')
		return -EPROTO;
	errno = 0;
	v = strtoll(line + 1, &end, 10);
	if (errno != 0 || end == line + 1 || *end != '\0')
		return -EPROTO;
	*out = v;
	return 0;
}

/* ----------------------------------------------------------- CPU time --- */

static int stat_cpu_ns(pid_t pid, uint64_t *ns)
{
	char path[64], buf[1024];
	unsigned long long utime, stime;
	long ticks = sysconf(_SC_CLK_TCK);
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || ticks <= 0)
		return -EIO;
	buf[n] = '\0';
	/* The name in parentheses may hold spaces: fields count from the last
	 * ')'. After it: state (3) ... utime (14), stime (15). */
	p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
				&utime, &stime) != 2)
		return -EPROTO;
	*ns = (uint64_t)(utime + stime) * (1000000000u / (uint64_t)ticks);
	return 0;
}

int kv_cpu_ns(pid_t pid, uint64_t *ns, const char **source)
{
	struct timespec ts;
	clockid_t clock;

	if (clock_getcpuclockid(pid, &clock) == 0 && clock_gettime(clock, &ts) == 0) {
		*ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		*source = "clock";
		return 0;
	}
	*source = "stat";
	return stat_cpu_ns(pid, ns);
}

static int thread_cpu_ns(pid_t pid, pid_t tid, uint64_t *ns)
{
	char path[96], buf[128];
	unsigned long long v;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", (int)pid, (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			/* "sum_exec_runtime run_delay timeslices", in ns. */
			if (sscanf(buf, "%llu", &v) == 1) {
				*ns = v;
				return 0;
			}
		}
	}
	return stat_cpu_ns(tid, ns);
}

int kv_threads_read(pid_t pid, struct kv_threads *out)
{
	char path[64];
	struct dirent *entry;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (dir == NULL)
		return -errno;
	out->n = 0;
	while ((entry = readdir(dir)) != NULL && out->n < KV_MAX_THREADS) {
		pid_t tid = (pid_t)atoi(entry->d_name);

		/* A thread that ended meanwhile is simply not counted. */
		if (tid > 0 && thread_cpu_ns(pid, tid, &out->ns[out->n]) == 0)
			out->tid[out->n++] = tid;
	}
	closedir(dir);
	return out->n > 0 ? 0 : -ESRCH;
}

uint64_t kv_threads_max_delta(const struct kv_threads *before, const struct kv_threads *after)
{
	uint64_t max = 0;

	for (unsigned i = 0; i < after->n; i++) {
		uint64_t start = 0;

		for (unsigned j = 0; j < before->n; j++)
			if (before->tid[j] == after->tid[i])
				start = before->ns[j];
		if (after->ns[i] > start && after->ns[i] - start > max)
			max = after->ns[i] - start;
	}
	return max;
}

/* -------------------------------------------------------------- client --- */

int kv_client_run(const char *bench, struct kv_proc *client, char *const argv[],
		  const cpu_set_t *cpus, struct kv_proc *server, double timeout_s,
		  struct rusage *usage)
{
	uint64_t deadline = bench_now_ns() + bench_seconds_ns(timeout_s);
	const char *why = NULL;
	int status, rc;

	rc = kv_proc_spawn(bench, client, argv, cpus);
	if (rc < 0)
		return rc;
	for (;;) {
		pid_t r = wait4(client->pid, &status, WNOHANG, usage);

		if (r == client->pid) {
			reap(client, status);
			break;
		}
		if (r < 0 && errno != EINTR) {
			rc = -errno;
			why = "wait4 failed";
		} else if (kv_interrupted()) {
			rc = -EINTR;
		} else if (!kv_proc_alive(server)) {
			/* redis-benchmark spins forever reconnecting to a
			 * dead server: stop it. */
			rc = -EPIPE;
			why = "the server died under load";
		} else if (bench_now_ns() >= deadline) {
			rc = -ETIMEDOUT;
			why = "no result in time (raise --run-timeout?)";
		}
		if (rc < 0) {
			kill(client->pid, SIGKILL);
			while (wait4(client->pid, &status, 0, usage) < 0 && errno == EINTR)
				;
			reap(client, status);
			if (why != NULL) {
				bench_note(bench, "%s: %s", client->what, why);
				if (rc == -EPIPE)
					kv_proc_explain(bench, server);
				else
					kv_proc_explain(bench, client);
			}
			return rc;
		}
		pause_briefly();
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		bench_note(bench, "%s failed", client->what);
		kv_proc_explain(bench, client);
		if (!kv_proc_alive(server)) {
			bench_note(bench, "because the server died:");
			kv_proc_explain(bench, server);
		}
		return -EIO;
	}
	return 0;
}

/* ---------------------------------------------------------------- ports --- */

int kv_free_port(uint16_t *next)
{
	for (unsigned tries = 0; tries < 1000; tries++) {
		struct sockaddr_in addr = { .sin_family = AF_INET };
		socklen_t len = sizeof(addr);
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int rc;

		if (fd < 0)
			return -errno;
		addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		addr.sin_port = htons(*next);
		rc = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
		if (rc == 0)
			rc = getsockname(fd, (struct sockaddr *)&addr, &len);
		if (rc != 0)
			rc = -errno;
		close(fd);
		if (rc == 0) {
			uint16_t port = ntohs(addr.sin_port);

			if (*next != 0)
				*next = port == UINT16_MAX ? 1024 : (uint16_t)(port + 1);
			return port;
		}
		if (*next == 0 || rc != -EADDRINUSE)
			return rc;
		*next = *next == UINT16_MAX ? 1024 : (uint16_t)(*next + 1);
	}
	return -EADDRINUSE;
}
