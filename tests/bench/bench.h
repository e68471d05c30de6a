/*
 * bench.h - shared pieces of the atoll-bench driver: the registry of
 * benchmarks, command-line flags, result lines, timing, percentiles, pinning
 * and the watchdog that turns a hung runtime into an error instead of a hang.
 *
 * Every benchmark prints one "RESULT <bench> <metric>=<value> ..." line per
 * result on stdout and everything else on stderr (docs in BENCHMARKS.md).
 */
#ifndef ATOLL_BENCH_H
#define ATOLL_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <atoll.h>

/*
 * The registry: one X(name, description, function) per benchmark. main.c
 * turns it into the table behind --list, "all" and dispatch; the same list
 * declares the functions below. Each function parses its own flags (argv[0]
 * is the benchmark's name) and returns the process exit code: 0, 1 when the
 * benchmark could not run, 2 for bad flags.
 */
#define BENCH_REGISTRY(X)                                                                          \
	X("pingpong.local", "two actors on one reactor bounce one message", bench_pingpong_local)  \
	X("pingpong.remote", "two actors on reactors 0 and 1 bounce one message",                  \
	  bench_pingpong_remote)                                                                   \
	X("counting", "one sender, one receiver on one core, N fresh messages", bench_counting)    \
	X("threadring", "Savina thread ring: 503 actors, one token passed N times",                \
	  bench_threadring)                                                                        \
	X("spawn", "spawn rate and bytes per idle actor on one core", bench_spawn)                 \
	X("xcore.throughput", "producer on reactor 0, consumer on 1, vs spsc.floor",               \
	  bench_xcore_throughput)                                                                  \
	X("xcore.latency", "round trip between reactors 0 and 1, busy and parked",                 \
	  bench_xcore_latency)                                                                     \
	X("doorbell", "parked round trip: msg_ring vs eventfd vs bare threads", bench_doorbell)    \
	X("spsc.floor", "bare SPSC ring between two pinned threads, no runtime", bench_spsc_floor) \
	X("echo", "TCP echo server on one reactor (stream, zero copy), closed-loop client",        \
	  bench_echo)                                                                              \
	X("echo.epoll", "peer of echo: plain epoll echo server, same client", bench_echo_epoll)    \
	X("file.append", "one actor appends records to an O_APPEND file, fsync policies",          \
	  bench_file_append)                                                                       \
	X("kv", "atoll-kv vs redis-server under redis-benchmark, SET/GET at -P 1 and 16",          \
	  bench_kv)                                                                                \
	X("kv.scale", "atoll-kv server-side scaling: 1 reactor on 1 CPU vs K on K CPUs",           \
	  bench_kv_scale)                                                                          \
	X("kv.aof", "kv with the append-only log on, at appendfsync always, everysec and no",      \
	  bench_kv_aof)                                                                            \
	X("topic.fanout", "topic actor: shared payload to S subscribers vs a copy each",           \
	  bench_topic_fanout)

#define BENCH_DECLARE(name, description, function) int function(int argc, char **argv);
BENCH_REGISTRY(BENCH_DECLARE)
#undef BENCH_DECLARE

#define BENCH_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Process exit codes. */
#define BENCH_EXIT_OK 0
#define BENCH_EXIT_FAIL 1
#define BENCH_EXIT_USAGE 2
/* Not an exit code: bench_parse_flags found no problem, go on. */
#define BENCH_CONTINUE (-1)

/* Message types shared by the benchmarks (payloads are described where used). */
enum bench_msg_type {
	BENCH_MSG_START = ATOLL_MSG_USER, /* from main: begin the measured phase */
	BENCH_MSG_BALL,                   /* ping-pong ball, thread ring token */
	BENCH_MSG_KICK,                   /* to self: do the next chunk of work */
	BENCH_MSG_COUNT,                  /* counted message, payload: sequence */
	BENCH_MSG_END,                    /* last message, payload: total sent */
	BENCH_MSG_SPIN,                   /* to self forever: keeps a reactor busy */
	BENCH_MSG_ACK,                    /* receiver to sender, payload: count */
};

/* --------------------------------------------------------------- flags ---- */

#define BENCH_MAX_CPUS 64

/* Flags every benchmark accepts. */
struct bench_common {
	double seconds;           /* -t: cap on the measured phase, in seconds */
	double timeout;           /* --timeout: watchdog, exit 3 when exceeded */
	bool verbose;             /* -v: runtime counters and progress on stderr */
	int cpus[BENCH_MAX_CPUS]; /* --cpus A,B,...: pin to these, in order */
	unsigned ncpus;           /* 0: not given */
	int idle_spin_us;         /* --idle-spin-us: config.idle_spin_us (0: runtime default) */
};

enum bench_flag_kind {
	BENCH_FLAG_U64,    /* uint64_t; accepts k, m, g suffixes (x1000) */
	BENCH_FLAG_UINT,   /* unsigned */
	BENCH_FLAG_INT,    /* int, may be negative */
	BENCH_FLAG_DOUBLE, /* double, >= 0 */
	BENCH_FLAG_BOOL,   /* bool, set by the flag's presence */
	BENCH_FLAG_STRING, /* const char *, pointing into argv */
};

struct bench_flag {
	const char *short_name; /* "-n", or NULL */
	const char *long_name;  /* "--messages" */
	enum bench_flag_kind kind;
	void *value; /* where the parsed value goes */
	const char *help;
};

/*
 * Parses argv[1..argc) (argv[0] is the benchmark name) into the common flags
 * (defaults already set by the caller) and the benchmark's own flags.
 * Returns BENCH_CONTINUE, BENCH_EXIT_OK after printing --help, or
 * BENCH_EXIT_USAGE after printing what was wrong.
 */
int bench_parse_flags(int argc, char **argv, struct bench_common *common,
		      const struct bench_flag *flags, size_t nflags);

/* Fills config with no_signals, the given reactor count, the --cpus pins and
 * --idle-spin-us. */
void bench_config(struct atoll_config *config, const struct bench_common *common,
		  unsigned reactors);

/*
 * Starts a runtime, printing the reason on stderr when it cannot. Returns 0
 * or atoll_runtime_start's error.
 */
int bench_runtime_start(const char *bench, const struct atoll_config *config, atoll_runtime **rt);

/*
 * Sends a BENCH_MSG_START message with len bytes copied from payload (may be
 * NULL when len is 0) to `to` from the main thread. Returns 0 or -errno
 * (printed on stderr).
 */
int bench_send_start(const char *bench, atoll_runtime *rt, atoll_ref to, const void *payload,
		     size_t len);

/*
 * Waits for the runtime to stop (the watchdog bounds the wait), prints the
 * counters when verbose. The runtime is not destroyed: read stats, then call
 * atoll_runtime_destroy.
 */
void bench_runtime_wait(const char *bench, const struct bench_common *common, atoll_runtime *rt);

/* Peak resident set size of the process so far, in bytes. */
uint64_t bench_max_rss(void);

/* Current resident set size of the process, in bytes (0 if unknown). */
uint64_t bench_rss(void);

/* The index-th CPU to pin a bare thread to: --cpus when given, else the
 * index-th CPU of the process affinity mask (wrapping around). */
int bench_cpu(const struct bench_common *common, unsigned index);

/* Pins the calling thread to cpu. Returns 0 or -errno. */
int bench_pin_self(int cpu);

/* -------------------------------------------------------------- output ---- */

/* Prints "RESULT <bench> <formatted>\n" on stdout and flushes it. */
void bench_result(const char *bench, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints a note on stderr, prefixed with the benchmark name. */
void bench_note(const char *bench, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints every reactor's counters on stderr. */
void bench_print_stats(const char *bench, const atoll_runtime *rt);

/* Sums one reactor counter over all reactors; field is an offsetof into
 * struct atoll_stats. */
uint64_t bench_stats_sum(const atoll_runtime *rt, size_t field);

/* ---------------------------------------------------------- time, stats ---- */

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

/* Seconds to nanoseconds, saturating. */
uint64_t bench_seconds_ns(double seconds);

/* Summary of a set of latency samples, in the samples' unit. */
struct bench_percentiles {
	uint64_t min, p50, p90, p99, p999, max;
	double mean;
};

/* Sorts samples in place and summarises them in *out (all zero when n == 0). */
void bench_percentiles(uint64_t *samples, size_t n, struct bench_percentiles *out);

/* -------------------------------------------------------------- watchdog --- */

/*
 * Starts a thread that, if bench_watchdog_stop is not called within seconds,
 * prints what was running and exits the process with code 3: a runtime that
 * hangs must not hang the benchmark driver. seconds <= 0 disables it.
 */
void bench_watchdog_start(const char *bench, double seconds);
void bench_watchdog_stop(void);

/* ---------------------------------------------- shared benchmark pieces ---- */

/* Moves n pointers through a bare atoll__ring (src/ring.h) between two
 * threads pinned to cpu_producer and cpu_consumer, publishing every batch
 * slots, for at most max_ns (0: no cap), and fills *result. Returns 0, or
 * -errno when a thread could not start; -EPROTO if a pointer arrived out of
 * order. */
struct spsc_floor_result {
	uint64_t moved;
	double seconds;
	double ptrs_per_sec;
};
int spsc_floor_run(uint64_t n, uint32_t capacity, uint32_t batch, int cpu_producer,
		   int cpu_consumer, uint64_t max_ns, struct spsc_floor_result *result);

/* One sender actor on reactor 0 sends fresh messages to one receiver
 * (counting.c), on reactor 0 or 1. */
struct counting_params {
	uint64_t messages;      /* messages to send */
	unsigned chunk;         /* sends per turn of the sender */
	unsigned batch;         /* runtime config.batch; 0: the runtime's default */
	unsigned ring_capacity; /* runtime config.ring_capacity; 0: default */
	unsigned payload;       /* payload bytes per message, >= 8 */
	bool remote;            /* receiver on reactor 1 instead of 0 */
	uint64_t window;        /* most messages unacknowledged; 0: no limit */
	uint64_t ack_every;     /* set by counting_run_once: window / 4 */
	uint64_t max_ns;        /* cap on the measured phase */
};
struct counting_result {
	uint64_t sent;         /* messages the sender sent */
	uint64_t received;     /* messages the receiver counted */
	uint64_t out_of_order; /* sequence numbers that were not the next one */
	uint64_t queued;       /* sends that returned ATOLL_SENT_QUEUED */
	uint64_t ring_full;    /* runtime counter, all reactors */
	uint64_t doorbells;    /* runtime counter, all reactors */
	double seconds;        /* first send to last receive */
};
/* Returns 0, or -errno when the runtime could not run or lost messages
 * (the reason is on stderr). */
int counting_run_once(const char *bench, const struct bench_common *common,
		      const struct counting_params *params, struct counting_result *result);

/* Round trips through the runtime between actors on reactors 0 and 1
 * (xcore.c): back to back with both reactors kept busy, or with gap_ns of
 * idle time before each ping so that the receiver parks. Returns 0 or -errno
 * (the reason is on stderr). */
struct lat_params {
	uint64_t samples;      /* round trips to measure */
	uint64_t warmup;       /* round trips before measuring */
	uint64_t gap_ns;       /* idle time before each ping; 0 = back to back */
	bool busy;             /* a spinning actor on each reactor: never park */
	bool eventfd_doorbell; /* runtime config.eventfd_doorbell */
	uint64_t max_ns;       /* cap on the measured phase */
};
struct lat_result {
	uint64_t *samples; /* round trip times in ns, malloc'd, caller frees */
	size_t n;
	uint64_t doorbells; /* doorbells rung, both reactors */
	uint64_t wakeups;   /* wakeups from park, both reactors */
	char mode[64];      /* atoll_runtime_uring_mode of reactor 1 */
};
int xcore_latency_run(const struct bench_common *common, const struct lat_params *params,
		      struct lat_result *result);

#endif /* ATOLL_BENCH_H */
