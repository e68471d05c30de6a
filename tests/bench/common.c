/*
 * common.c - helpers shared by every benchmark: flag parsing, CPU pinning,
 * RESULT lines, clocks, percentiles and the watchdog.
 *
 * Flags come from the command line, so every value is checked and a bad one
 * is reported with the flag's name; nothing here aborts on user input.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- flags --- */

static int parse_u64(const char *text, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t scale = 1;

	if (text[0] == '\0' || text[0] == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0 || end == text)
		return -EINVAL;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		scale = 1000;
		end++;
		break;
	case 'm':
	case 'M':
		scale = 1000 * 1000;
		end++;
		break;
	case 'g':
	case 'G':
		scale = 1000 * 1000 * 1000;
		end++;
		break;
	default:
		return -EINVAL;
	}
	if (*end != '\0')
		return -EINVAL;
	if (v > UINT64_MAX / scale)
		return -ERANGE;
	*out = (uint64_t)v * scale;
	return 0;
}

static int parse_int(const char *text, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v < INT32_MIN || v > INT32_MAX)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int parse_double(const char *text, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (errno != 0 || end == text || *end != '\0' || !(v >= 0) || v > 1e9)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_cpus(const char *text, struct bench_common *common)
{
	cpu_set_t allowed;
	const char *p = text;
	unsigned n = 0;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
		CPU_ZERO(&allowed);
	while (*p != '\0') {
		char *end;
		long cpu;

		errno = 0;
		cpu = strtol(p, &end, 10);
		if (errno != 0 || end == p || cpu < 0 || cpu >= CPU_SETSIZE ||
		    (*end != ',' && *end != '\0')) {
			fprintf(stderr,
				"atoll-bench: --cpus: expected a comma-separated list of CPU "
				"numbers, got '%s'\n",
				text);
			return -EINVAL;
		}
		if (!CPU_ISSET((int)cpu, &allowed)) {
			fprintf(stderr,
				"atoll-bench: --cpus: CPU %ld is not in this process's affinity "
				"mask\n",
				cpu);
			return -EINVAL;
		}
		if (n == BENCH_MAX_CPUS) {
			fprintf(stderr, "atoll-bench: --cpus: more than %d CPUs\n", BENCH_MAX_CPUS);
			return -EINVAL;
		}
		common->cpus[n++] = (int)cpu;
		p = *end == ',' ? end + 1 : end;
		if (*end == ',' && *p == '\0') {
			fprintf(stderr, "atoll-bench: --cpus: trailing comma in '%s'\n", text);
			return -EINVAL;
		}
	}
	if (n == 0) {
		fprintf(stderr, "atoll-bench: --cpus: empty list\n");
		return -EINVAL;
	}
	common->ncpus = n;
	return 0;
}

static void print_flag_help(FILE *out, const char *bench, const struct bench_common *common,
			    const struct bench_flag *flags, size_t nflags)
{
	fprintf(out, "usage: atoll-bench %s [flags]\n\nflags:\n", bench);
	for (size_t i = 0; i < nflags; i++) {
		const struct bench_flag *f = &flags[i];
		char names[64];
		char def[64] = "";

		snprintf(names, sizeof(names), "%s%s%s%s", f->short_name ? f->short_name : "",
			 f->short_name ? ", " : "", f->long_name,
			 f->kind == BENCH_FLAG_BOOL ? "" : " X");
		switch (f->kind) {
		case BENCH_FLAG_U64:
			snprintf(def, sizeof(def), " (default %" PRIu64 ")", *(uint64_t *)f->value);
			break;
		case BENCH_FLAG_UINT:
			snprintf(def, sizeof(def), " (default %u)", *(unsigned *)f->value);
			break;
		case BENCH_FLAG_INT:
			snprintf(def, sizeof(def), " (default %d)", *(int *)f->value);
			break;
		case BENCH_FLAG_DOUBLE:
			snprintf(def, sizeof(def), " (default %g)", *(double *)f->value);
			break;
		case BENCH_FLAG_STRING:
			/* NULL: no default (the help text says what happens). */
			if (*(const char **)f->value != NULL)
				snprintf(def, sizeof(def), " (default %s)",
					 *(const char **)f->value);
			break;
		case BENCH_FLAG_BOOL:
			break;
		}
		fprintf(out, "  %-24s %s%s\n", names, f->help, def);
	}
	fprintf(out,
		"  %-24s %s\n  %-24s %s (default %d)\n  %-24s %s (default %g)\n"
		"  %-24s %s (default %g)\n  %-24s %s\n  %-24s %s\n",
		"--cpus A,B,...", "pin reactors (or bare threads) to these CPUs, in order",
		"--idle-spin-us N", "runtime: poll before parking; 0: runtime default, < 0: never",
		common->idle_spin_us, "-t, --seconds X", "cap on the measured phase",
		common->seconds, "--timeout X", "watchdog: exit 3 if the run takes longer",
		common->timeout, "-v, --verbose", "runtime counters on stderr", "-h, --help",
		"this text");
	fprintf(out, "\nNumbers accept k, m and g suffixes (x1000): -n 10m.\n");
}

static const struct bench_flag *find_flag(const char *name, size_t name_len,
					  const struct bench_flag *flags, size_t nflags)
{
	for (size_t i = 0; i < nflags; i++) {
		const char *s = flags[i].short_name;
		const char *l = flags[i].long_name;

		if (s != NULL && strlen(s) == name_len && strncmp(s, name, name_len) == 0)
			return &flags[i];
		if (l != NULL && strlen(l) == name_len && strncmp(l, name, name_len) == 0)
			return &flags[i];
	}
	return NULL;
}

int bench_parse_flags(int argc, char **argv, struct bench_common *common,
		      const struct bench_flag *flags, size_t nflags)
{
	const char *bench = argv[0];
	const char *cpus_text = NULL;
	struct bench_flag common_flags[] = {
		{ "-t", "--seconds", BENCH_FLAG_DOUBLE, &common->seconds, "" },
		{ NULL, "--timeout", BENCH_FLAG_DOUBLE, &common->timeout, "" },
		{ "-v", "--verbose", BENCH_FLAG_BOOL, &common->verbose, "" },
		{ NULL, "--cpus", BENCH_FLAG_STRING, &cpus_text, "" },
		{ NULL, "--idle-spin-us", BENCH_FLAG_INT, &common->idle_spin_us, "" },
	};

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		const char *eq = strchr(arg, '=');
		size_t name_len = eq != NULL && arg[0] == '-' && arg[1] == '-' ? (size_t)(eq - arg)
									       : strlen(arg);
		const char *value = NULL;
		const struct bench_flag *f;
		int rc = 0;

		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			print_flag_help(stdout, bench, common, flags, nflags);
			return BENCH_EXIT_OK;
		}
		f = find_flag(arg, name_len, flags, nflags);
		if (f == NULL)
			f = find_flag(arg, name_len, common_flags, BENCH_ARRAY_SIZE(common_flags));
		if (f == NULL) {
			fprintf(stderr,
				"atoll-bench %s: unknown flag '%s' (try atoll-bench %s --help)\n",
				bench, arg, bench);
			return BENCH_EXIT_USAGE;
		}
		if (f->kind == BENCH_FLAG_BOOL) {
			if (name_len != strlen(arg)) {
				fprintf(stderr, "atoll-bench %s: flag %s takes no value\n", bench,
					f->long_name);
				return BENCH_EXIT_USAGE;
			}
			*(bool *)f->value = true;
			continue;
		}
		if (name_len != strlen(arg)) {
			value = arg + name_len + 1;
		} else if (i + 1 < argc) {
			value = argv[++i];
		} else {
			fprintf(stderr, "atoll-bench %s: flag %s needs a value\n", bench, arg);
			return BENCH_EXIT_USAGE;
		}
		switch (f->kind) {
		case BENCH_FLAG_U64:
			rc = parse_u64(value, f->value);
			break;
		case BENCH_FLAG_UINT: {
			uint64_t v = 0;

			rc = parse_u64(value, &v);
			if (rc == 0 && v > UINT32_MAX)
				rc = -ERANGE;
			if (rc == 0)
				*(unsigned *)f->value = (unsigned)v;
			break;
		}
		case BENCH_FLAG_INT:
			rc = parse_int(value, f->value);
			break;
		case BENCH_FLAG_DOUBLE:
			rc = parse_double(value, f->value);
			break;
		case BENCH_FLAG_STRING:
			*(const char **)f->value = value;
			break;
		case BENCH_FLAG_BOOL:
			break;
		}
		if (rc != 0) {
			fprintf(stderr, "atoll-bench %s: bad value '%s' for %s\n", bench, value,
				f->long_name);
			return BENCH_EXIT_USAGE;
		}
	}
	if (cpus_text != NULL && parse_cpus(cpus_text, common) != 0)
		return BENCH_EXIT_USAGE;
	return BENCH_CONTINUE;
}

void bench_config(struct atoll_config *config, const struct bench_common *common, unsigned reactors)
{
	memset(config, 0, sizeof(*config));
	config->reactors = reactors;
	config->no_signals = true;
	config->idle_spin_us = common->idle_spin_us;
	if (common->ncpus > 0) {
		config->cpus = common->cpus;
		config->ncpus = common->ncpus;
	}
}

int bench_runtime_start(const char *bench, const struct atoll_config *config, atoll_runtime **rt)
{
	int rc = atoll_runtime_start(config, rt);

	if (rc < 0)
		bench_note(bench, "cannot start the runtime: %s", atoll_strerror(rc));
	return rc;
}

int bench_send_start(const char *bench, atoll_runtime *rt, atoll_ref to, const void *payload,
		     size_t len)
{
	atoll_msg *msg = len > 0 ? atoll_msg_new_copy(BENCH_MSG_START, payload, len)
				 : atoll_msg_new(BENCH_MSG_START, 0);
	int rc;

	if (msg == NULL) {
		bench_note(bench, "cannot allocate the start message");
		return -ENOMEM;
	}
	rc = atoll_runtime_send(rt, to, msg);
	if (rc < 0)
		bench_note(bench, "cannot send the start message: %s", atoll_strerror(rc));
	return rc < 0 ? rc : 0;
}

void bench_runtime_wait(const char *bench, const struct bench_common *common, atoll_runtime *rt)
{
	atoll_runtime_wait(rt);
	if (common->verbose)
		bench_print_stats(bench, rt);
}

uint64_t bench_max_rss(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (uint64_t)ru.ru_maxrss * 1024u;
}

uint64_t bench_rss(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long long size = 0, resident = 0;
	int n;

	if (f == NULL)
		return 0;
	n = fscanf(f, "%llu %llu", &size, &resident);
	fclose(f);
	if (n != 2)
		return 0;
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

int bench_cpu(const struct bench_common *common, unsigned index)
{
	cpu_set_t allowed;
	unsigned n, seen = 0;

	if (common->ncpus > 0)
		return common->cpus[index % common->ncpus];
	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
		return 0;
	n = (unsigned)CPU_COUNT(&allowed);
	if (n == 0)
		return 0;
	index %= n;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &allowed))
			continue;
		if (seen++ == index)
			return cpu;
	}
	return 0;
}

int bench_pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* --------------------------------------------------------------- output --- */

void bench_result(const char *bench, const char *fmt, ...)
{
	va_list ap;

	printf("RESULT %s ", bench);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

void bench_note(const char *bench, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", bench);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void bench_print_stats(const char *bench, const atoll_runtime *rt)
{
	unsigned n = atoll_runtime_reactors(rt);

	for (unsigned core = 0; core < n; core++) {
		struct atoll_stats s;

		if (atoll_runtime_stats(rt, core, &s) != 0)
			continue;
		bench_note(bench,
			   "reactor %u [%s]: sent_local=%" PRIu64 " sent_remote=%" PRIu64
			   " received=%" PRIu64 " ring_full=%" PRIu64 " overflow=%" PRIu64
			   " doorbells=%" PRIu64 " wakeups=%" PRIu64 " dead_letters=%" PRIu64
			   " spawned=%" PRIu64 " alive=%" PRIu64 " timers=%" PRIu64,
			   core, atoll_runtime_uring_mode(rt, core), s.sent_local, s.sent_remote,
			   s.received, s.ring_full, s.overflow, s.doorbells, s.wakeups,
			   s.dead_letters, s.spawned, s.actors_alive, s.timers_fired);
	}
}

uint64_t bench_stats_sum(const atoll_runtime *rt, size_t field)
{
	unsigned n = atoll_runtime_reactors(rt);
	uint64_t sum = 0;

	for (unsigned core = 0; core < n; core++) {
		struct atoll_stats s;
		uint64_t v;

		if (atoll_runtime_stats(rt, core, &s) != 0)
			continue;
		memcpy(&v, (const char *)&s + field, sizeof(v));
		sum += v;
	}
	return sum;
}

/* ---------------------------------------------------------- time, stats --- */

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t bench_seconds_ns(double seconds)
{
	if (!(seconds > 0))
		return 0;
	if (seconds > 1e9)
		return UINT64_MAX;
	return (uint64_t)(seconds * 1e9);
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a;
	uint64_t y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static uint64_t quantile(const uint64_t *sorted, size_t n, double q)
{
	size_t i = (size_t)(q * (double)(n - 1) + 0.5);

	return sorted[i < n ? i : n - 1];
}

void bench_percentiles(uint64_t *samples, size_t n, struct bench_percentiles *out)
{
	double sum = 0;

	memset(out, 0, sizeof(*out));
	if (n == 0)
		return;
	qsort(samples, n, sizeof(samples[0]), compare_u64);
	for (size_t i = 0; i < n; i++)
		sum += (double)samples[i];
	out->min = samples[0];
	out->p50 = quantile(samples, n, 0.50);
	out->p90 = quantile(samples, n, 0.90);
	out->p99 = quantile(samples, n, 0.99);
	out->p999 = quantile(samples, n, 0.999);
	out->max = samples[n - 1];
	out->mean = sum / (double)n;
}

/* ------------------------------------------------------------- watchdog --- */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool running;
	bool stopped;
	const char *bench;
	double seconds;
} watchdog = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void *watchdog_main(void *arg)
{
	struct timespec deadline;
	int rc = 0;

	(void)arg;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += (time_t)watchdog.seconds;
	deadline.tv_nsec += (long)((watchdog.seconds - (double)(time_t)watchdog.seconds) * 1e9);
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&watchdog.lock);
	while (!watchdog.stopped && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&watchdog.cond, &watchdog.lock, &deadline);
	if (!watchdog.stopped) {
		fprintf(stderr,
			"%s: watchdog: still running after %g s; the runtime looks hung "
			"(lost wakeup or lost message?). Exiting with code 3.\n",
			watchdog.bench, watchdog.seconds);
		fflush(stderr);
		_exit(3);
	}
	pthread_mutex_unlock(&watchdog.lock);
	return NULL;
}

void bench_watchdog_start(const char *bench, double seconds)
{
	if (!(seconds > 0) || watchdog.running)
		return;
	watchdog.bench = bench;
	watchdog.seconds = seconds;
	watchdog.stopped = false;
	if (pthread_create(&watchdog.thread, NULL, watchdog_main, NULL) == 0)
		watchdog.running = true;
}

void bench_watchdog_stop(void)
{
	if (!watchdog.running)
		return;
	pthread_mutex_lock(&watchdog.lock);
	watchdog.stopped = true;
	pthread_cond_signal(&watchdog.cond);
	pthread_mutex_unlock(&watchdog.lock);
	pthread_join(watchdog.thread, NULL);
	watchdog.running = false;
}
