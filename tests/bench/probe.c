/*
 * probe.c - the cost of one server thread over a window: CPU time from its
 * CPU clock; syscalls from a perf counter on the raw_syscalls:sys_enter
 * tracepoint of that thread (what `perf stat -e raw_syscalls:sys_enter -t
 * TID` counts, read in-process so the window is exact) or, where perf cannot
 * count, `strace -c` on the thread. A missing counter is reported with its
 * reason, never guessed.
 */
#define _GNU_SOURCE
#include "bench.h"
#include "echo.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

pid_t bench_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The id of raw_syscalls:sys_enter, from tracefs. Returns it or -errno. */
static long long tracepoint_id(char *why, size_t why_len)
{
	static const char *const paths[] = {
		"/sys/kernel/tracing/events/raw_syscalls/sys_enter/id",
		"/sys/kernel/debug/tracing/events/raw_syscalls/sys_enter/id",
	};
	int err = ENOENT;

	for (size_t i = 0; i < BENCH_ARRAY_SIZE(paths); i++) {
		FILE *f = fopen(paths[i], "r");
		long long id;

		if (f == NULL) {
			err = errno;
			continue;
		}
		if (fscanf(f, "%lld", &id) == 1) {
			fclose(f);
			return id;
		}
		fclose(f);
		err = EINVAL;
	}
	snprintf(why, why_len, "no raw_syscalls:sys_enter id in tracefs (%s)", strerror(err));
	return -err;
}

int thread_probe_open(struct thread_probe *probe, pthread_t thread, pid_t tid)
{
	struct perf_event_attr attr;
	long long id;

	memset(probe, 0, sizeof(*probe));
	probe->perf_fd = -1;
	probe->have_cpu = pthread_getcpuclockid(thread, &probe->cpu_clock) == 0;
	id = tracepoint_id(probe->why, sizeof(probe->why));
	if (id < 0)
		return 0;
	memset(&attr, 0, sizeof(attr));
	attr.type = PERF_TYPE_TRACEPOINT;
	attr.size = sizeof(attr);
	attr.config = (uint64_t)id;
	attr.disabled = 1;
	/* A tracepoint fires in the kernel: exclude_kernel would hide it. */
	probe->perf_fd =
		(int)syscall(SYS_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (probe->perf_fd < 0) {
		int err = errno;

		snprintf(probe->why, sizeof(probe->why),
			 "perf_event_open(raw_syscalls:sys_enter, tid %d): %s%s", (int)tid,
			 strerror(err),
			 err == EACCES || err == EPERM ? " (see kernel.perf_event_paranoid)" : "");
		probe->perf_fd = -1;
	}
	return 0;
}

void thread_probe_begin(struct thread_probe *probe)
{
	if (probe->perf_fd >= 0) {
		(void)ioctl(probe->perf_fd, PERF_EVENT_IOC_RESET, 0);
		(void)ioctl(probe->perf_fd, PERF_EVENT_IOC_ENABLE, 0);
	}
	if (probe->have_cpu)
		probe->cpu_start = clock_ns(probe->cpu_clock);
}

void thread_probe_end(struct thread_probe *probe)
{
	if (probe->have_cpu)
		probe->cpu_ns = clock_ns(probe->cpu_clock) - probe->cpu_start;
	if (probe->perf_fd >= 0) {
		uint64_t count = 0;

		(void)ioctl(probe->perf_fd, PERF_EVENT_IOC_DISABLE, 0);
		if (read(probe->perf_fd, &count, sizeof(count)) != (ssize_t)sizeof(count)) {
			snprintf(probe->why, sizeof(probe->why), "reading the perf counter: %s",
				 strerror(errno));
			close(probe->perf_fd);
			probe->perf_fd = -1;
			return;
		}
		probe->syscalls = count;
	}
}

void thread_probe_close(struct thread_probe *probe)
{
	if (probe->perf_fd >= 0)
		close(probe->perf_fd);
	probe->perf_fd = -1;
}

/* ------------------------------------------------------------- strace --- */

/* The pid tracing tid, 0 when none, or -errno. */
static int tracer_of(pid_t tid)
{
	char path[64], line[128];
	FILE *f;
	int tracer = -ENOENT;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	f = fopen(path, "r");
	if (f == NULL)
		return -errno;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "TracerPid: %d", &tracer) == 1)
			break;
	fclose(f);
	return tracer;
}

int strace_attach(const char *bench, pid_t tid, struct strace_run *run)
{
	char tid_text[16];
	char *argv[] = { "strace", "-c", "-q", "-o", run->path, "-p", tid_text, NULL };
	uint64_t deadline;
	int fd, rc;

	snprintf(run->path, sizeof(run->path), "/tmp/atoll-bench-strace-XXXXXX");
	fd = mkstemp(run->path);
	if (fd < 0) {
		rc = -errno;
		bench_note(bench, "strace: mkstemp: %s", strerror(-rc));
		return rc;
	}
	close(fd);
	snprintf(tid_text, sizeof(tid_text), "%d", (int)tid);
	rc = -posix_spawnp(&run->pid, "strace", NULL, NULL, argv, environ);
	if (rc < 0) {
		bench_note(bench, "strace: cannot run it: %s", strerror(-rc));
		unlink(run->path);
		return rc;
	}
	deadline = bench_now_ns() + 3000000000ull;
	while ((rc = tracer_of(tid)) == 0 && bench_now_ns() < deadline) {
		struct timespec pause = { .tv_sec = 0, .tv_nsec = 1000000 };

		nanosleep(&pause, NULL);
	}
	if (rc > 0)
		return 0;
	bench_note(bench, "strace: did not attach to thread %d within 3 s", (int)tid);
	kill(run->pid, SIGKILL);
	waitpid(run->pid, NULL, 0);
	unlink(run->path);
	return rc < 0 ? rc : -ETIMEDOUT;
}

int strace_detach(const char *bench, struct strace_run *run, uint64_t *calls)
{
	uint64_t deadline = bench_now_ns() + 5000000000ull;
	char line[256];
	bool found = false;
	int status = 0;
	FILE *f;

	kill(run->pid, SIGINT);
	while (waitpid(run->pid, &status, WNOHANG) == 0) {
		struct timespec pause = { .tv_sec = 0, .tv_nsec = 1000000 };

		if (bench_now_ns() >= deadline) {
			bench_note(bench, "strace: still running 5 s after SIGINT: killed");
			kill(run->pid, SIGKILL);
			waitpid(run->pid, &status, 0);
			unlink(run->path);
			return -ETIMEDOUT;
		}
		nanosleep(&pause, NULL);
	}
	f = fopen(run->path, "r");
	if (f != NULL) {
		/* The last line: "100.00  secs  usecs/call  calls  [errors]  total". */
		while (fgets(line, sizeof(line), f) != NULL) {
			double pct, secs;
			unsigned long long usecs, n;

			if (strstr(line, " total") != NULL &&
			    sscanf(line, "%lf %lf %llu %llu", &pct, &secs, &usecs, &n) == 4) {
				*calls = n;
				found = true;
			}
		}
		fclose(f);
	}
	unlink(run->path);
	if (!found) {
		bench_note(bench, "strace: no summary (exit status %d)", status);
		return -EIO;
	}
	return 0;
}
