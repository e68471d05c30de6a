/*
 * kv.h - the pieces of the key-value benchmarks (kv.c, and kv.aof's
 * persistence targets in kv_aof.c): what a run measures and how it is
 * reported (kv_report.c); the child processes it drives
 * (kv_proc.c): a server pinned to its CPUs, its readiness (PING), its CPU
 * time, its bounded stop; redis-benchmark pinned to the client CPU, bounded,
 * watched together with the server it loads.
 *
 * Every child gets its own process group and SIGKILL when the driver dies,
 * so a server never outlives atoll-bench, not even a killed one.
 */
#ifndef ATOLL_BENCH_KV_H
#define ATOLL_BENCH_KV_H

#include "bench.h"

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

/* ------------------------------------------------------------ the run ---- */

/* Limits of one invocation. */
#define KV_MAX_TESTS 8
#define KV_MAX_PIPELINES 8
#define KV_MAX_TARGETS 8
#define KV_MAX_FSYNCS 3
#define KV_MAX_RUNS 25
#define KV_TEST_LEN 24

/* One redis-benchmark run of one test against one server. */
struct kv_sample {
	double rps;
	double avg_ms, p50_ms, p99_ms;
	double server_cpu_s;
	double cpu_us_per_req;        /* server CPU time / requests */
	double client_cpu_us_per_req; /* redis-benchmark's own rusage / requests */
	double busiest_thread_s;      /* CPU time of the server's busiest thread */
	double capacity_rps;          /* requests / busiest_thread_s */
	int64_t keys;                 /* DBSIZE after the test; -1: unknown */
};

/* One side of the comparison. */
struct kv_target {
	char name[16];   /* in RESULT lines: server=NAME, NAME_rps=... */
	char label[128]; /* column heading */
	bool atoll;      /* atoll-kv (--kv or --kv-cmd); else redis-server */
	unsigned reactors;
	cpu_set_t cpus;
	char cpus_text[48];
	const char *fsync;         /* kv.aof: appendfsync policy; NULL: no persistence */
	char dir[1200];            /* kv.aof: the server's fresh data directory */
	struct kv_sample *samples; /* [test][pipeline][run] */
};

/* What kv, kv.scale or kv.aof was asked to do, and the state of the run. */
struct kv_params {
	const char *bench;
	bool scale; /* kv.scale */
	bool aof;   /* kv.aof */
	const char *kv_path, *kv_cmd, *redis_path, *client_path;
	const char *server_cpus_text, *pipelines_text, *tests_text, *only;
	int client_cpu; /* < 0: not pinned */
	unsigned reactors;
	uint64_t requests;
	unsigned keyspace, size, clients, runs, port_base;
	bool quick;
	double run_timeout;
	const char *fsyncs_text, *data_dir; /* kv.aof */
	/* parsed */
	int server_cpus[BENCH_MAX_CPUS];
	unsigned nserver_cpus;
	unsigned pipelines[KV_MAX_PIPELINES];
	unsigned npipelines;
	char tests[KV_MAX_TESTS][KV_TEST_LEN];
	unsigned ntests;
	cpu_set_t client_set;
	char tmpdir[1024];
	uint16_t next_port;
	const char *cpu_source;
	/* kv.aof: where the servers' data directories go, and its file system */
	char data_base[1024];
	bool data_base_own; /* made by us inside --data-dir: removed at the end */
	char fs_type[32];
	double fsync_us; /* median fdatasync of a 4 KiB append there; 0: unknown */
	/* kv, kv.scale: targets[0] is measured against targets[1] (the
	 * reference); kv.aof: see kv_aof.c */
	struct kv_target targets[KV_MAX_TARGETS];
	unsigned ntargets;
};

/* Names the target, sets its CPUs (the first ncpus of --server-cpus) and
 * its column label (kv.c). */
void kv_target_set(struct kv_params *p, struct kv_target *t, const char *name, bool atoll,
		   unsigned reactors, unsigned ncpus);

/* ------------------------------------------------------------- kv.aof ---- */

/*
 * Sets up kv.aof's targets from --fsyncs (atoll-kv and redis-server at each
 * policy, atoll-kv without persistence when everysec is measured) and the
 * base of the data directories (--data-dir, or the run's tmpdir), whose
 * file system and fsync cost it prints. Returns 0, or -EINVAL (bad flags)
 * or -errno, with the reason on stderr.
 */
int kv_aof_set_up(struct kv_params *p, bool want_atoll, bool want_redis);

/* A fresh, empty data directory for t (t->dir). Returns 0 or -errno. */
int kv_aof_fresh_dir(const struct kv_params *p, struct kv_target *t);

/* Removes t->dir and everything in it (what the server wrote). */
void kv_aof_remove_dir(const struct kv_params *p, struct kv_target *t);

/* Removes the base of the data directories if kv_aof_set_up made it. */
void kv_aof_clean_up(const struct kv_params *p);

/* The tables of one test at one pipeline depth: one per policy, atoll-kv
 * over redis-server, and everysec over no persistence, against the targets
 * of issue 5. */
void kv_aof_report(const struct kv_params *p, unsigned test, unsigned pipeline);

/* ------------------------------------------------------------- report ---- */

/*
 * Reads redis-benchmark's --csv output in path (a header line naming the
 * columns, then one row for the one test it ran) into s's rate and
 * latencies. Returns 0, or -errno / -EPROTO with the reason on stderr.
 */
int kv_report_parse_csv(const char *bench, const char *path, struct kv_sample *s);

/* The sample of target t for one test, pipeline depth and run. */
struct kv_sample *kv_report_sample(const struct kv_params *p, const struct kv_target *t,
				   unsigned test, unsigned pipeline, unsigned run);

/* Prints the table (stderr) and the RESULT kind=median line (stdout) of one
 * test at one pipeline depth, over all runs. */
void kv_report_table(const struct kv_params *p, unsigned test, unsigned pipeline);

/*
 * The same for the targets ts[0..n): heading goes after "SET, -P 16, " ("":
 * none); when n >= 2 the ratios are ts[0] over ts[1], rps_note and cpu_note
 * follow the requests/s and CPU ratios ("  (target >= 1.5)" or ""), and
 * result_extra (" name=value ...", or "") ends the RESULT line.
 */
void kv_report_group(const struct kv_params *p, unsigned test, unsigned pipeline,
		     const struct kv_target *const *ts, unsigned n, const char *heading,
		     const char *rps_note, const char *cpu_note, const char *result_extra);

/* Median over the runs of x's requests/s over y's, each run's ratio taken
 * within the run. */
double kv_report_rps_ratio(const struct kv_params *p, const struct kv_target *x,
			   const struct kv_target *y, unsigned test, unsigned pipeline);

/* Prints, under the tables, how every derived number is computed. */
void kv_report_definitions(const struct kv_params *p);

/* ----------------------------------------------------------- processes --- */

/* A child process: reaped once, its wait status kept. */
struct kv_proc {
	pid_t pid;          /* 0: none */
	bool reaped;        /* waited for; status holds how it ended */
	int status;         /* wait status, valid when reaped */
	char log[4096];     /* where its stdout goes, and its stderr unless err_log */
	char err_log[4096]; /* where its stderr goes; "": to log */
	char what[32];      /* "atoll-kv", "redis-server", "redis-benchmark": for notes */
};

/*
 * SIGINT, SIGTERM and SIGHUP set a flag instead of killing the driver, so
 * that every wait below returns -EINTR and the caller stops its servers.
 * kv_signals_restore puts the previous dispositions back.
 */
void kv_signals_install(void);
void kv_signals_restore(void);
/* The signal that interrupted the run, or 0. */
int kv_interrupted(void);

/*
 * Starts argv[0] (a path; no PATH search) with argv, pinned to cpus (NULL:
 * not pinned), stdin from /dev/null, stdout and stderr to proc->log (stderr to proc->err_log if
 * set), in its own process group, killed when the driver dies. proc->log and proc->what must be
 * set, proc->err_log may be. Returns 0 or -errno (the reason is on stderr). A failure after fork
 * (pinning, exec) shows up as the child's exit and its log.
 */
int kv_proc_spawn(const char *bench, struct kv_proc *proc, char *const argv[],
		  const cpu_set_t *cpus);

/* Whether the child still runs (reaps it when it has ended). */
bool kv_proc_alive(struct kv_proc *proc);

/* Prints how the child ended and the tail of its log on stderr. */
void kv_proc_explain(const char *bench, const struct kv_proc *proc);

/*
 * Stops the child: SIGTERM, up to timeout_s seconds for it to exit, then
 * SIGKILL. Always reaps it. Returns 0 when it ended by itself or on SIGTERM,
 * -ETIMEDOUT when it needed SIGKILL, -ECHILD when it had died before.
 */
int kv_proc_stop(const char *bench, struct kv_proc *proc, double timeout_s);

/*
 * Waits (at most timeout_s seconds) until a server on 127.0.0.1:port
 * answers PING with +PONG. Returns 0; -ECHILD if the server exited (the
 * reason is on stderr), -ETIMEDOUT, or -EINTR on a signal.
 */
int kv_wait_ready(const char *bench, struct kv_proc *server, uint16_t port, double timeout_s);

/*
 * Sends the RESP command argv[0..argc) to 127.0.0.1:port on a new connection
 * and parses an integer reply (":N\r\n") into *out. Returns 0, -EPROTO on
 * any other reply, or -errno. One second per step at most.
 */
int kv_query_int(uint16_t port, int argc, const char *const argv[], int64_t *out);

/*
 * CPU time (user + system, all threads, including exited ones) of process
 * pid in nanoseconds: the process CPU clock (clock_getcpuclockid), the same
 * quantity as utime + stime in /proc/PID/stat in full precision; when the
 * clock is not available, /proc/PID/stat itself. *source says which:
 * "clock" or "stat". Returns 0 or -errno.
 */
int kv_cpu_ns(pid_t pid, uint64_t *ns, const char **source);

/* CPU time of each thread of a process at one moment. */
#define KV_MAX_THREADS 256
struct kv_threads {
	unsigned n;
	pid_t tid[KV_MAX_THREADS];
	uint64_t ns[KV_MAX_THREADS];
};

/*
 * Reads the CPU time of every thread of pid (/proc/PID/task/TID/schedstat,
 * nanoseconds; utime + stime from .../stat where schedstat is missing).
 * Returns 0 or -errno.
 */
int kv_threads_read(pid_t pid, struct kv_threads *out);

/* The most CPU time one thread used between two readings; a thread that
 * appears only in after counts from zero. */
uint64_t kv_threads_max_delta(const struct kv_threads *before, const struct kv_threads *after);

/*
 * Runs the client argv pinned to cpus (NULL: not pinned) and waits at most
 * timeout_s seconds for it, while server keeps running; output as in
 * kv_proc_spawn. Returns 0 when the
 * client exited with status 0 (its rusage in *usage), or: -EPIPE when the
 * server died meanwhile, -ETIMEDOUT, -EINTR on a signal, -EIO when the
 * client failed; the reason is on stderr. The client is always reaped.
 */
int kv_client_run(const char *bench, struct kv_proc *client, char *const argv[],
		  const cpu_set_t *cpus, struct kv_proc *server, double timeout_s,
		  struct rusage *usage);

/*
 * A port for a server on 127.0.0.1: the first one from *next that can be
 * bound now (then *next moves past it), or one the kernel picks when *next
 * is 0. Returns the port or -errno.
 */
int kv_free_port(uint16_t *next);

#endif /* ATOLL_BENCH_KV_H */
