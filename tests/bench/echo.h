/*
 * echo.h - the pieces of the echo benchmarks (echo.c): a closed-loop TCP
 * load generator (loadgen.c), the plain epoll echo server that is the peer
 * (echo_epoll.c), and a probe that counts one thread's CPU time and
 * syscalls over the measured window (probe.c).
 *
 * Everything here is loopback only and closes every socket it opens.
 */
#ifndef ATOLL_BENCH_ECHO_H
#define ATOLL_BENCH_ECHO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* ------------------------------------------------------------ loadgen ---- */

/*
 * A closed loop: conns connections to 127.0.0.1:port, each sends a message
 * of size bytes and waits for all of it to come back before sending the
 * next. One thread, pinned to cpu, on plain epoll and non-blocking sockets.
 * The run is a warm-up, then the measured window, then a drain in which no
 * new request starts and the outstanding ones finish; then every socket is
 * closed.
 */
struct loadgen_params {
	const char *bench; /* prefix of notes on stderr */
	uint16_t port;
	unsigned conns;
	unsigned size;
	uint64_t warmup_ns;
	uint64_t measure_ns;
	int cpu; /* pin the client thread here; < 0: do not pin */
	/* Called on the client thread when the measured window opens (start)
	 * and closes (!start), to sample the server's cost over exactly that
	 * window. May be NULL. */
	void (*window)(void *arg, bool start);
	void *window_arg;
};

struct loadgen_result {
	uint64_t requests;       /* echoes completed inside the window */
	uint64_t total_requests; /* echoes completed in the whole run */
	double seconds;          /* length of the window */
	double req_per_sec;
	/* Latency of the requests completed inside the window, send of the
	 * first byte to receipt of the last, in microseconds. */
	double p50_us, p90_us, p99_us, p999_us, max_us, mean_us;
	double client_cpu_s;  /* CPU time of the client thread in the window */
	uint64_t mismatches;  /* echoes whose bytes differ from what was sent */
	uint64_t conn_errors; /* connections that failed or closed early */
	unsigned unfinished;  /* requests still without their echo after the drain */
	bool stalled;         /* no echo at all for LOADGEN_STALL_NS: gave up */
};

/* No echo on any connection for this long ends the run as stalled. */
#define LOADGEN_STALL_NS 2000000000ull
/* The drain waits at most this long for the outstanding echoes. */
#define LOADGEN_DRAIN_NS 2000000000ull

/*
 * Runs the load on a new thread and waits for it. Returns 0 when the run
 * took place (look at mismatches, conn_errors, unfinished and stalled for
 * what went wrong), or -errno when it could not start (the reason is on
 * stderr).
 */
int loadgen_run(const struct loadgen_params *params, struct loadgen_result *result);

/* -------------------------------------------------------- epoll server --- */

/* The peer: one thread pinned to a CPU, level-triggered epoll, one read per
 * readiness and the bytes written straight back, a partial write parked in
 * a per-connection buffer until EPOLLOUT. */
struct echo_epoll;

/*
 * Starts the server on 127.0.0.1 (an ephemeral port) on a thread pinned to
 * cpu (< 0: not pinned) and stores it in *out. Returns once the thread is
 * serving: 0, or -errno (the reason is on stderr).
 */
int echo_epoll_start(const char *bench, int cpu, struct echo_epoll **out);

uint16_t echo_epoll_port(const struct echo_epoll *server);
pthread_t echo_epoll_thread(const struct echo_epoll *server);
pid_t echo_epoll_tid(const struct echo_epoll *server);

/* Connections the server holds open right now. */
unsigned echo_epoll_open_conns(const struct echo_epoll *server);

/* Connections that ended with an error other than a reset by the peer. */
uint64_t echo_epoll_errors(const struct echo_epoll *server);

/* Stops the thread, closes every socket and frees the server. */
void echo_epoll_stop(struct echo_epoll *server);

/* --------------------------------------------------------------- probe --- */

/*
 * CPU time and syscalls of one thread of this process between begin and end.
 * CPU time comes from the thread's CPU clock (pthread_getcpuclockid, the same
 * utime + stime as /proc/self/task/TID/stat, in nanoseconds); syscalls from a
 * perf counter on the raw_syscalls:sys_enter tracepoint of that thread, the
 * counter `perf stat -e raw_syscalls:sys_enter -t TID` reads.
 */
struct thread_probe {
	clockid_t cpu_clock;
	bool have_cpu;
	int perf_fd; /* -1: no syscall counter, see why */
	uint64_t cpu_start;
	uint64_t cpu_ns;   /* after end: CPU time in the window */
	uint64_t syscalls; /* after end: syscalls entered in the window */
	char why[160];     /* why perf_fd is -1 */
};

/* Opens the probe on thread/tid. Returns 0 even when one of the two
 * counters is unavailable (have_cpu, perf_fd and why tell). */
int thread_probe_open(struct thread_probe *probe, pthread_t thread, pid_t tid);
void thread_probe_begin(struct thread_probe *probe);
void thread_probe_end(struct thread_probe *probe);
void thread_probe_close(struct thread_probe *probe);

/*
 * The fallback when perf cannot count: `strace -c -q -p TID` attached to
 * the thread for a separate phase (ptrace slows the thread down, so that
 * phase gives a count, not a speed).
 */
struct strace_run {
	pid_t pid;
	char path[64]; /* the summary strace writes */
};

/* Starts strace on tid and waits (at most 3 s) until it is attached.
 * Returns 0 or -errno (the reason is on stderr). */
int strace_attach(const char *bench, pid_t tid, struct strace_run *run);

/* Detaches strace (SIGINT), waits for it (at most 5 s, then SIGKILL),
 * reads the total number of calls into *calls and removes the summary.
 * Returns 0 or -errno. */
int strace_detach(const char *bench, struct strace_run *run, uint64_t *calls);

/* The calling thread's kernel id. */
pid_t bench_gettid(void);

#endif /* ATOLL_BENCH_ECHO_H */
