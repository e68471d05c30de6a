/*
 * kv.c - kv, kv.scale and kv.aof: atoll-kv under redis-benchmark. kv
 * measures it against Debian's redis-server, each server pinned to the same
 * CPUs and the client to another; kv.scale measures atoll-kv with one
 * reactor on one CPU against K reactors on K CPUs; kv.aof is kv with the
 * append-only log on, at each fsync policy (its targets: kv_aof.c). Runs
 * interleave the servers (A B, then B A), a fresh server per run and
 * pipeline depth; each test is its own redis-benchmark run, so the server's
 * CPU time (read from outside, before and after) is that test's alone.
 * Nothing here fails on a number: only a server that does not start or a
 * client that fails makes the run fail.
 */
#define _GNU_SOURCE
#include "bench.h"
#include "kv.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KV_START_TIMEOUT_S 10.0
#define KV_STOP_TIMEOUT_S 5.0
#define KV_QUICK_REQUESTS 20000u
#define KV_DEFAULT_REQUESTS 1000000u

/* ------------------------------------------------------------- parsing --- */

static int parse_list(const char *bench, const char *flag, const char *text, unsigned *out,
		      unsigned max, unsigned *n, unsigned lo, unsigned hi)
{
	const char *p = text;

	*n = 0;
	for (;;) {
		char *end;
		unsigned long v;

		if (!isdigit((unsigned char)*p) || *n == max)
			break;
		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno != 0 || v < lo || v > hi || (*end != ',' && *end != '\0'))
			break;
		out[(*n)++] = (unsigned)v;
		if (*end == '\0')
			return 0;
		p = end + 1;
	}
	bench_note(bench, "%s: expected up to %u comma-separated numbers in %u..%u, got '%s'", flag,
		   max, lo, hi, text);
	return -EINVAL;
}

static int parse_tests(struct kv_params *p)
{
	const char *s = p->tests_text;

	p->ntests = 0;
	while (*s != '\0') {
		size_t len = strcspn(s, ",");

		if (len == 0 || len >= KV_TEST_LEN || p->ntests == KV_MAX_TESTS)
			goto bad;
		for (size_t i = 0; i < len; i++)
			if (!isalnum((unsigned char)s[i]) && s[i] != '_')
				goto bad;
		for (size_t i = 0; i < len; i++)
			p->tests[p->ntests][i] = (char)tolower((unsigned char)s[i]);
		p->tests[p->ntests++][len] = '\0';
		s += len;
		if (*s == ',' && *++s == '\0')
			goto bad;
	}
	if (p->ntests > 0)
		return 0;
bad:
	bench_note(p->bench,
		   "--tests: expected up to %d comma-separated redis-benchmark test "
		   "names (set,get,incr,...), got '%s'",
		   KV_MAX_TESTS, p->tests_text);
	return -EINVAL;
}

static int parse_server_cpus(struct kv_params *p)
{
	unsigned list[BENCH_MAX_CPUS];
	cpu_set_t allowed;

	if (parse_list(p->bench, "--server-cpus", p->server_cpus_text, list, BENCH_MAX_CPUS,
		       &p->nserver_cpus, 0, CPU_SETSIZE - 1) < 0)
		return -EINVAL;
	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
		CPU_ZERO(&allowed);
	for (unsigned i = 0; i < p->nserver_cpus; i++) {
		if (!CPU_ISSET((int)list[i], &allowed)) {
			bench_note(p->bench,
				   "--server-cpus: CPU %u is not in this process's "
				   "affinity mask",
				   list[i]);
			return -EINVAL;
		}
		for (unsigned j = 0; j < i; j++) {
			if (list[j] == list[i]) {
				bench_note(p->bench, "--server-cpus: CPU %u is named twice",
					   list[i]);
				return -EINVAL;
			}
		}
		p->server_cpus[i] = (int)list[i];
	}
	if (p->client_cpu >= 0 &&
	    (p->client_cpu >= CPU_SETSIZE || !CPU_ISSET(p->client_cpu, &allowed))) {
		bench_note(p->bench, "--client-cpu: CPU %d is not in this process's affinity mask",
			   p->client_cpu);
		return -EINVAL;
	}
	CPU_ZERO(&p->client_set);
	if (p->client_cpu >= 0)
		CPU_SET(p->client_cpu, &p->client_set);
	return 0;
}

/* ------------------------------------------------------------ commands --- */

/* argv and the storage its strings point into. */
struct kv_argv {
	char *argv[32];
	char port[8], reactors[12], requests[24], keyspace[16], size[16], clients[16];
	char pipeline[16];
	char shell[8192];
};

static void join_command(char *const argv[], char *out, size_t size)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; argv[i] != NULL && len + 1 < size; i++) {
		const char *a = argv[i];
		bool plain =
			a[0] != '\0' && strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
						  "QRSTUVWXYZ0123456789_./:=,@%+-") == strlen(a);

		if (i > 0)
			out[len++] = ' ';
		if (plain) {
			len += (size_t)snprintf(out + len, size - len, "%s", a);
		} else {
			out[len++] = '\'';
			for (; *a != '\0' && len + 5 < size; a++) {
				if (*a == '\'')
					len += (size_t)snprintf(out + len, size - len, "'\\''");
				else
					out[len++] = *a;
			}
			out[len++] = '\'';
		}
		if (len >= size)
			len = size - 1;
		out[len] = '\0';
	}
}

/* "{port}", "{reactors}", and for kv.aof "{dir}" and "{fsync}", in --kv-cmd
 * become their values. */
static void expand_template(const char *tmpl, const char *port, const struct kv_target *t,
			    const char *reactors, char *out, size_t size)
{
	size_t len = (size_t)snprintf(out, size, "exec ");

	while (*tmpl != '\0' && len + 1 < size) {
		const char *value = NULL;
		size_t skip = 0;

		if (strncmp(tmpl, "{port}", 6) == 0)
			value = port, skip = 6;
		else if (strncmp(tmpl, "{reactors}", 10) == 0)
			value = reactors, skip = 10;
		else if (strncmp(tmpl, "{dir}", 5) == 0 && t->fsync != NULL)
			value = t->dir, skip = 5;
		else if (strncmp(tmpl, "{fsync}", 7) == 0 && t->fsync != NULL)
			value = t->fsync, skip = 7;
		if (value != NULL) {
			len += (size_t)snprintf(out + len, size - len, "%s", value);
			if (len >= size)
				len = size - 1;
			tmpl += skip;
		} else {
			out[len++] = *tmpl++;
		}
	}
	out[len] = '\0';
}

static void server_argv(const struct kv_params *p, const struct kv_target *t, const char *port,
			struct kv_argv *a)
{
	unsigned i = 0;

	snprintf(a->port, sizeof(a->port), "%s", port);
	snprintf(a->reactors, sizeof(a->reactors), "%u", t->reactors);
	if (t->atoll && p->kv_cmd != NULL) {
		/* The shell execs the server, so the pid is the server's. */
		expand_template(p->kv_cmd, a->port, t, a->reactors, a->shell, sizeof(a->shell));
		a->argv[i++] = "/bin/sh";
		a->argv[i++] = "-c";
		a->argv[i++] = a->shell;
	} else if (t->atoll) {
		a->argv[i++] = (char *)p->kv_path;
		a->argv[i++] = "--port";
		a->argv[i++] = a->port;
		a->argv[i++] = "--bind";
		a->argv[i++] = "127.0.0.1";
		a->argv[i++] = "--reactors";
		a->argv[i++] = a->reactors;
		if (t->fsync != NULL) {
			a->argv[i++] = "--appendonly";
			a->argv[i++] = "yes";
			a->argv[i++] = "--appendfsync";
			a->argv[i++] = (char *)t->fsync;
			a->argv[i++] = "--dir";
			a->argv[i++] = (char *)t->dir;
		}
	} else {
		a->argv[i++] = (char *)p->redis_path;
		a->argv[i++] = "--port";
		a->argv[i++] = a->port;
		a->argv[i++] = "--bind";
		a->argv[i++] = "127.0.0.1";
		a->argv[i++] = "--save";
		a->argv[i++] = "";
		a->argv[i++] = "--appendonly";
		a->argv[i++] = t->fsync != NULL ? "yes" : "no";
		if (t->fsync != NULL) {
			a->argv[i++] = "--appendfsync";
			a->argv[i++] = (char *)t->fsync;
		}
		a->argv[i++] = "--daemonize";
		a->argv[i++] = "no";
		/* Without persistence nothing is written, but never into our cwd. */
		a->argv[i++] = "--dir";
		a->argv[i++] = t->fsync != NULL ? (char *)t->dir : (char *)p->tmpdir;
	}
	a->argv[i] = NULL;
}

static void client_argv(const struct kv_params *p, const char *port, const char *test,
			unsigned pipeline, struct kv_argv *a)
{
	unsigned i = 0;

	snprintf(a->port, sizeof(a->port), "%s", port);
	snprintf(a->requests, sizeof(a->requests), "%" PRIu64, p->requests);
	snprintf(a->keyspace, sizeof(a->keyspace), "%u", p->keyspace);
	snprintf(a->size, sizeof(a->size), "%u", p->size);
	snprintf(a->clients, sizeof(a->clients), "%u", p->clients);
	snprintf(a->pipeline, sizeof(a->pipeline), "%u", pipeline);
	a->argv[i++] = (char *)p->client_path;
	a->argv[i++] = "-h";
	a->argv[i++] = "127.0.0.1";
	a->argv[i++] = "-p";
	a->argv[i++] = a->port;
	a->argv[i++] = "-t";
	a->argv[i++] = (char *)test;
	a->argv[i++] = "-n";
	a->argv[i++] = a->requests;
	if (p->keyspace > 0) { /* redis-benchmark divides by it */
		a->argv[i++] = "-r";
		a->argv[i++] = a->keyspace;
	}
	a->argv[i++] = "-d";
	a->argv[i++] = a->size;
	a->argv[i++] = "-c";
	a->argv[i++] = a->clients;
	a->argv[i++] = "-P";
	a->argv[i++] = a->pipeline;
	a->argv[i++] = "--csv";
	a->argv[i] = NULL;
}

static void print_commands(const struct kv_params *p)
{
	char line[9000], pipelines[64] = "", tests[256] = "";
	struct kv_argv a;

	bench_note(p->bench, "commands (the driver pins with sched_setaffinity, as taskset would; "
			     "PORT is a free port, new for each server):");
	for (unsigned t = 0; t < p->ntargets; t++) {
		server_argv(p, &p->targets[t], "PORT", &a);
		join_command(a.argv, line, sizeof(line));
		fprintf(stderr, "  %-8s taskset -c %s %s\n", p->targets[t].name,
			p->targets[t].cpus_text, line);
	}
	client_argv(p, "PORT", "TEST", 999999, &a);
	for (unsigned i = 0; i < p->npipelines; i++)
		snprintf(pipelines + strlen(pipelines), sizeof(pipelines) - strlen(pipelines),
			 "%s%u", i ? "," : "", p->pipelines[i]);
	for (unsigned i = 0; i < p->ntests; i++)
		snprintf(tests + strlen(tests), sizeof(tests) - strlen(tests), "%s%s", i ? "," : "",
			 p->tests[i]);
	a.argv[6] = "TEST";
	snprintf(a.pipeline, sizeof(a.pipeline), "DEPTH");
	join_command(a.argv, line, sizeof(line));
	if (p->client_cpu >= 0)
		fprintf(stderr, "  client   taskset -c %d %s\n", p->client_cpu, line);
	else
		fprintf(stderr, "  client   %s   (not pinned)\n", line);
	fprintf(stderr,
		"           with TEST in %s (one run each, in that order, on the same server) "
		"and DEPTH in %s (a fresh server each)\n",
		tests, pipelines);
}

/* --------------------------------------------------------- measurement --- */

static void tmp_path(const struct kv_params *p, const char *name, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", p->tmpdir, name);
}

static int measure_test(struct kv_params *p, struct kv_target *t, struct kv_proc *server,
			uint16_t port, unsigned test, unsigned pipeline, unsigned run)
{
	struct kv_sample *s = kv_report_sample(p, t, test, pipeline, run);
	static const char *const dbsize[] = { "DBSIZE" };
	struct kv_proc client = { .what = "redis-benchmark" };
	char port_text[8], command[2048];
	struct kv_threads threads0, threads1;
	struct rusage usage;
	struct kv_argv a;
	uint64_t cpu0, cpu1, busiest;
	int rc;

	snprintf(port_text, sizeof(port_text), "%u", (unsigned)port);
	tmp_path(p, "client.csv", client.log, sizeof(client.log));
	tmp_path(p, "client.err", client.err_log, sizeof(client.err_log));
	client_argv(p, port_text, p->tests[test], p->pipelines[pipeline], &a);
	join_command(a.argv, command, sizeof(command));
	rc = kv_threads_read(server->pid, &threads0);
	if (rc == 0)
		rc = kv_cpu_ns(server->pid, &cpu0, &p->cpu_source);
	if (rc < 0) {
		bench_note(p->bench, "cannot read the CPU time of %s: %s", server->what,
			   strerror(-rc));
		return rc;
	}
	rc = kv_client_run(p->bench, &client, a.argv, p->client_cpu >= 0 ? &p->client_set : NULL,
			   server, p->run_timeout, &usage);
	if (rc < 0) {
		if (rc != -EINTR)
			bench_note(p->bench, "failed: %s", command);
		return rc;
	}
	rc = kv_cpu_ns(server->pid, &cpu1, &p->cpu_source);
	if (rc == 0)
		rc = kv_threads_read(server->pid, &threads1);
	if (rc < 0) {
		bench_note(p->bench, "cannot read the CPU time of %s: %s", server->what,
			   strerror(-rc));
		return rc;
	}
	rc = kv_report_parse_csv(p->bench, client.log, s);
	if (rc < 0) {
		bench_note(p->bench, "from: %s", command);
		return rc;
	}
	busiest = kv_threads_max_delta(&threads0, &threads1);
	s->server_cpu_s = (double)(cpu1 - cpu0) / 1e9;
	s->busiest_thread_s = (double)busiest / 1e9;
	s->capacity_rps = busiest > 0 ? (double)p->requests * 1e9 / (double)busiest : 0;
	s->cpu_us_per_req = (double)(cpu1 - cpu0) / 1e3 / (double)p->requests;
	s->client_cpu_us_per_req =
		((double)usage.ru_utime.tv_sec * 1e6 + (double)usage.ru_utime.tv_usec +
		 (double)usage.ru_stime.tv_sec * 1e6 + (double)usage.ru_stime.tv_usec) /
		(double)p->requests;
	if (kv_query_int(port, 1, dbsize, &s->keys) < 0)
		s->keys = -1;
	bench_note(p->bench,
		   "run %u/%u -P %u %-6s %-5s %9.0f req/s  p50 %.3f ms  p99 %.3f ms  server "
		   "%.3f us CPU/req  client %.3f us CPU/req  keys %" PRId64,
		   run + 1, p->runs, p->pipelines[pipeline], t->name, p->tests[test], s->rps,
		   s->p50_ms, s->p99_ms, s->cpu_us_per_req, s->client_cpu_us_per_req, s->keys);
	bench_result(p->bench,
		     "kind=run run=%u server=%s test=%s pipeline=%u rps=%.2f avg_ms=%.3f "
		     "p50_ms=%.3f p99_ms=%.3f cpu_us_per_req=%.4f client_cpu_us_per_req=%.4f "
		     "server_cpu_s=%.4f busiest_thread_cpu_s=%.4f capacity_rps=%.0f "
		     "requests=%" PRIu64 " keys=%" PRId64
		     " reactors=%u server_cpus=%s client_cpu=%d clients=%u size=%u "
		     "keyspace=%u cpu_source=%s",
		     run + 1, t->name, p->tests[test], p->pipelines[pipeline], s->rps, s->avg_ms,
		     s->p50_ms, s->p99_ms, s->cpu_us_per_req, s->client_cpu_us_per_req,
		     s->server_cpu_s, s->busiest_thread_s, s->capacity_rps, p->requests, s->keys,
		     t->atoll ? t->reactors : 1, t->cpus_text, p->client_cpu, p->clients, p->size,
		     p->keyspace, p->cpu_source);
	return 0;
}

/* A fresh server, every test once against it, the server stopped whatever
 * happened. */
static int measure_server(struct kv_params *p, struct kv_target *t, unsigned pipeline, unsigned run,
			  bool verbose)
{
	struct kv_proc server = { 0 };
	char port_text[12], log_name[32], command[9000];
	struct kv_argv a;
	int port, rc, stop;

	snprintf(server.what, sizeof(server.what), "%s",
		 t->atoll ? (p->kv_cmd != NULL ? "the --kv-cmd server" : "atoll-kv")
			  : "redis-server");
	snprintf(log_name, sizeof(log_name), "%s.log", t->name);
	tmp_path(p, log_name, server.log, sizeof(server.log));
	port = kv_free_port(&p->next_port);
	if (port < 0) {
		bench_note(p->bench, "no free port on 127.0.0.1: %s", strerror(-port));
		return port;
	}
	snprintf(port_text, sizeof(port_text), "%d", port);
	if (t->fsync != NULL) {
		rc = kv_aof_fresh_dir(p, t);
		if (rc < 0)
			return rc;
	}
	server_argv(p, t, port_text, &a);
	if (verbose) {
		join_command(a.argv, command, sizeof(command));
		bench_note(p->bench, "start: taskset -c %s %s", t->cpus_text, command);
	}
	rc = kv_proc_spawn(p->bench, &server, a.argv, &t->cpus);
	if (rc < 0) {
		if (t->fsync != NULL)
			kv_aof_remove_dir(p, t);
		return rc;
	}
	rc = kv_wait_ready(p->bench, &server, (uint16_t)port, KV_START_TIMEOUT_S);
	for (unsigned test = 0; rc == 0 && test < p->ntests; test++)
		rc = measure_test(p, t, &server, (uint16_t)port, test, pipeline, run);
	stop = kv_proc_stop(p->bench, &server, KV_STOP_TIMEOUT_S);
	if (t->fsync != NULL) /* the log of a run can be large: never kept */
		kv_aof_remove_dir(p, t);
	if (rc == 0 && stop == -ECHILD) {
		bench_note(p->bench, "%s died before it was stopped", server.what);
		kv_proc_explain(p->bench, &server);
		rc = -ECHILD;
	}
	return rc;
}

/* -------------------------------------------------------------- set-up --- */

static const char *default_kv_path(void)
{
	static char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 16);
	char *slash;

	if (n <= 0)
		return "atoll-kv";
	path[n] = '\0';
	slash = strrchr(path, '/');
	snprintf(slash != NULL ? slash + 1 : path, 16, "atoll-kv");
	return path;
}

static int check_executable(const char *bench, const char *path, const char *flag, const char *hint)
{
	if (access(path, X_OK) == 0)
		return 0;
	bench_note(bench, "%s: cannot execute %s: %s%s", flag, path, strerror(errno), hint);
	return -ENOENT;
}

void kv_target_set(struct kv_params *p, struct kv_target *t, const char *name, bool atoll,
		   unsigned reactors, unsigned ncpus)
{
	char cpus[sizeof(t->cpus_text)];
	size_t len = 0;

	snprintf(t->name, sizeof(t->name), "%s", name);
	t->atoll = atoll;
	t->fsync = NULL;
	t->reactors = reactors;
	CPU_ZERO(&t->cpus);
	t->cpus_text[0] = '\0';
	for (unsigned i = 0; i < ncpus; i++) {
		CPU_SET(p->server_cpus[i], &t->cpus);
		len += (size_t)snprintf(t->cpus_text + len, sizeof(t->cpus_text) - len, "%s%d",
					i ? "," : "", p->server_cpus[i]);
		if (len >= sizeof(t->cpus_text))
			break;
	}
	/* A copy: gcc cannot tell that t->label and t->cpus_text never overlap. */
	memcpy(cpus, t->cpus_text, sizeof(cpus));
	if (!atoll)
		snprintf(t->label, sizeof(t->label), "redis-server (CPU %s)", cpus);
	else
		snprintf(t->label, sizeof(t->label), "%s, %u reactor%s (CPU%s %s)",
			 p->kv_cmd != NULL ? "--kv-cmd" : "atoll-kv", reactors,
			 reactors == 1 ? "" : "s", ncpus == 1 ? "" : "s", cpus);
}

static int set_up(struct kv_params *p, const struct bench_common *common)
{
	const char *tmp = getenv("TMPDIR");
	bool want_atoll = true, want_redis = !p->scale;

	if (common->ncpus > 0 || common->seconds > 0 || common->idle_spin_us != 0) {
		bench_note(p->bench, "--cpus, --seconds and --idle-spin-us do not apply here: use "
				     "--server-cpus, --client-cpu and -n");
		return -EINVAL;
	}
	if (p->only != NULL) {
		want_atoll = strcmp(p->only, "atoll") == 0;
		want_redis = strcmp(p->only, "redis") == 0;
		if (p->scale || (!want_atoll && !want_redis)) {
			bench_note(p->bench, "--only takes atoll or redis (kv only)");
			return -EINVAL;
		}
	}
	if (parse_server_cpus(p) < 0 || parse_tests(p) < 0 ||
	    parse_list(p->bench, "--pipelines", p->pipelines_text, p->pipelines, KV_MAX_PIPELINES,
		       &p->npipelines, 1, 100000) < 0)
		return -EINVAL;
	if (p->requests == 0)
		p->requests = p->quick ? KV_QUICK_REQUESTS : KV_DEFAULT_REQUESTS;
	if (p->runs < 1 || p->runs > KV_MAX_RUNS || p->clients < 1 || p->clients > 10000 ||
	    p->size < 1 || p->size > (1u << 26) || p->requests > INT32_MAX ||
	    p->port_base > UINT16_MAX || (p->port_base != 0 && p->port_base < 1024)) {
		bench_note(p->bench,
			   "bad value: --runs must be 1..%d, -c 1..10000, -d 1..2^26, "
			   "-n up to 2^31-1, --port-base 0 or 1024..65535",
			   KV_MAX_RUNS);
		return -EINVAL;
	}
	if (p->scale && p->nserver_cpus < 2) {
		bench_note(p->bench, "--server-cpus: kv.scale compares 1 reactor with K >= 2; "
				     "name at least two CPUs");
		return -EINVAL;
	}
	if (p->reactors == 0)
		p->reactors = p->nserver_cpus;
	if (p->run_timeout <= 0)
		p->run_timeout = 30 + (double)p->requests / 5000;
	p->next_port = (uint16_t)p->port_base;
	if (check_executable(p->bench, p->client_path, "--redis-benchmark", "") < 0)
		return -ENOENT;
	if (want_redis && check_executable(p->bench, p->redis_path, "--redis", "") < 0)
		return -ENOENT;
	if (want_atoll && p->kv_cmd == NULL &&
	    check_executable(p->bench, p->kv_path, "--kv",
			     " (build it next to atoll-bench with `cmake --build build --target "
			     "atoll-kv`, or pass --kv PATH)") < 0)
		return -ENOENT;
	for (unsigned i = 0; p->client_cpu >= 0 && i < p->nserver_cpus; i++)
		if (p->server_cpus[i] == p->client_cpu)
			bench_note(p->bench,
				   "the client shares CPU %d with the server: its CPU "
				   "time counts against the server's throughput",
				   p->client_cpu);

	/* Logs, redis-benchmark's output and (kv.aof) by default the data. */
	snprintf(p->tmpdir, sizeof(p->tmpdir), "%s/atoll-bench-kv.XXXXXX",
		 tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
	if (mkdtemp(p->tmpdir) == NULL) {
		int rc = -errno;

		bench_note(p->bench, "mkdtemp %s: %s", p->tmpdir, strerror(-rc));
		p->tmpdir[0] = '\0';
		return rc;
	}

	p->ntargets = 0;
	if (p->aof) {
		int rc = kv_aof_set_up(p, want_atoll, want_redis);

		if (rc < 0)
			return rc;
	} else if (p->scale) {
		char name[16];

		/* r2 against r1: the ratios read "K reactors over one". */
		snprintf(name, sizeof(name), "r%u", p->nserver_cpus);
		kv_target_set(p, &p->targets[p->ntargets++], name, true, p->nserver_cpus,
			      p->nserver_cpus);
		kv_target_set(p, &p->targets[p->ntargets++], "r1", true, 1, 1);
	} else {
		if (want_atoll)
			kv_target_set(p, &p->targets[p->ntargets++], "atoll", true, p->reactors,
				      p->nserver_cpus);
		if (want_redis)
			kv_target_set(p, &p->targets[p->ntargets++], "redis", false, 1,
				      p->nserver_cpus);
	}
	for (unsigned t = 0; t < p->ntargets; t++) {
		p->targets[t].samples = calloc((size_t)p->ntests * p->npipelines * p->runs,
					       sizeof(struct kv_sample));
		if (p->targets[t].samples == NULL)
			return -ENOMEM;
	}
	return 0;
}

static void clean_up(struct kv_params *p, bool keep_logs)
{
	char path[PATH_MAX + 32];

	for (unsigned t = 0; t < KV_MAX_TARGETS; t++)
		free(p->targets[t].samples);
	if (p->tmpdir[0] == '\0')
		return;
	if (p->aof) /* the data directories go whatever happened: they can be large */
		kv_aof_clean_up(p);
	if (keep_logs) {
		bench_note(p->bench, "logs kept in %s", p->tmpdir);
		return;
	}
	/* Exactly the files measure_server and measure_test write. */
	for (unsigned t = 0; t < p->ntargets; t++) {
		snprintf(path, sizeof(path), "%s/%s.log", p->tmpdir, p->targets[t].name);
		(void)unlink(path);
	}
	snprintf(path, sizeof(path), "%s/client.csv", p->tmpdir);
	(void)unlink(path);
	snprintf(path, sizeof(path), "%s/client.err", p->tmpdir);
	(void)unlink(path);
	if (rmdir(p->tmpdir) != 0)
		bench_note(p->bench, "could not remove %s: %s", p->tmpdir, strerror(errno));
}

/* ---------------------------------------------------------------- main --- */

static int kv_main(int argc, char **argv, bool scale, bool aof)
{
	struct bench_common common = { .seconds = 0 };
	struct kv_params p = {
		.bench = argv[0],
		.scale = scale,
		.aof = aof,
		.redis_path = "/usr/bin/redis-server",
		.client_path = "/usr/bin/redis-benchmark",
		.server_cpus_text = scale ? "0,1" : "0",
		.client_cpu = scale ? -1 : 1,
		.keyspace = 100000,
		.size = 64,
		.clients = 50,
		.pipelines_text = "1,16",
		.tests_text = aof ? "set" : "set,get",
		.runs = 3,
		.fsyncs_text = "always,everysec,no",
	};
	const struct bench_flag kv_flags[] = {
		{ NULL, "--kv", BENCH_FLAG_STRING, &p.kv_path,
		  "atoll-kv to run (default: the one next to atoll-bench)" },
		{ NULL, "--kv-cmd", BENCH_FLAG_STRING, &p.kv_cmd,
		  "run this shell command instead of --kv (it must exec one server); {port} and "
		  "{reactors} (kv.aof: also {dir} and {fsync}) are replaced, e.g. "
		  "\"redis-server --port {port} --save ''\"" },
		{ NULL, "--redis", BENCH_FLAG_STRING, &p.redis_path, "the peer: redis-server" },
		{ NULL, "--redis-benchmark", BENCH_FLAG_STRING, &p.client_path, "the client" },
		{ NULL, "--server-cpus", BENCH_FLAG_STRING, &p.server_cpus_text,
		  scale ? "CPUs for K reactors; 1 reactor gets the first"
			: "pin each server to these CPUs" },
		{ NULL, "--client-cpu", BENCH_FLAG_INT, &p.client_cpu,
		  "pin redis-benchmark to this CPU; -1: do not pin" },
		{ NULL, "--reactors", BENCH_FLAG_UINT, &p.reactors,
		  "atoll-kv reactors; 0: one per server CPU" },
		{ "-n", "--requests", BENCH_FLAG_U64, &p.requests,
		  "requests per test and run; 0: 1000000, or 20000 with --quick" },
		{ "-r", "--keyspace", BENCH_FLAG_UINT, &p.keyspace,
		  "redis-benchmark -r: random keys out of this many; 0: one key" },
		{ "-d", "--size", BENCH_FLAG_UINT, &p.size, "value size in bytes" },
		{ "-c", "--clients", BENCH_FLAG_UINT, &p.clients, "connections" },
		{ NULL, "--pipelines", BENCH_FLAG_STRING, &p.pipelines_text,
		  "redis-benchmark -P depths" },
		{ NULL, "--tests", BENCH_FLAG_STRING, &p.tests_text,
		  "redis-benchmark -t tests, one run each, in order" },
		{ NULL, "--runs", BENCH_FLAG_UINT, &p.runs,
		  "rounds, servers interleaved (A B, B A, ...); medians reported" },
		{ NULL, "--port-base", BENCH_FLAG_UINT, &p.port_base,
		  "first port to try; 0: the kernel picks free ones" },
		{ NULL, "--only", BENCH_FLAG_STRING, &p.only, "run one server: atoll or redis" },
		{ NULL, "--quick", BENCH_FLAG_BOOL, &p.quick,
		  "smoke run: -n 20000 unless -n given" },
		{ NULL, "--run-timeout", BENCH_FLAG_DOUBLE, &p.run_timeout,
		  "seconds one redis-benchmark run may take; 0: 30 + n / 5000" },
		{ NULL, "--fsyncs", BENCH_FLAG_STRING, &p.fsyncs_text,
		  "kv.aof: appendfsync policies, in order (always,everysec,no)" },
		{ NULL, "--data-dir", BENCH_FLAG_STRING, &p.data_dir,
		  "kv.aof: the servers' data directories go in a new directory here (default: "
		  "with the logs, under $TMPDIR or /tmp); put it on the disk to measure" },
	};
	struct bench_flag flags[BENCH_ARRAY_SIZE(kv_flags)];
	size_t nflags = 0;
	bool failed = false;
	int rc;

	p.kv_path = default_kv_path();
	for (size_t i = 0; i < BENCH_ARRAY_SIZE(kv_flags); i++) {
		const char *name = kv_flags[i].long_name;

		/* kv.scale: no peer, no --only, the reactors come from
		 * --server-cpus. Only kv.aof has a log. */
		if (scale && (strcmp(name, "--redis") == 0 || strcmp(name, "--only") == 0 ||
			      strcmp(name, "--reactors") == 0))
			continue;
		if (!aof && (strcmp(name, "--fsyncs") == 0 || strcmp(name, "--data-dir") == 0))
			continue;
		flags[nflags++] = kv_flags[i];
	}
	rc = bench_parse_flags(argc, argv, &common, flags, nflags);
	if (rc != BENCH_CONTINUE)
		return rc;
	rc = set_up(&p, &common);
	if (rc < 0) {
		clean_up(&p, false);
		return rc == -EINVAL ? BENCH_EXIT_USAGE : BENCH_EXIT_FAIL;
	}
	if (p.client_cpu >= 0 && bench_pin_self(p.client_cpu) < 0)
		bench_note(p.bench, "could not pin the driver to CPU %d", p.client_cpu);
	bench_watchdog_start(p.bench, common.timeout);
	print_commands(&p);
	bench_note(p.bench,
		   "%u run%s x %u depth%s x %u server%s x %u test%s of %" PRIu64 " requests; "
		   "servers take turns, A B in odd runs and B A in even ones",
		   p.runs, p.runs == 1 ? "" : "s", p.npipelines, p.npipelines == 1 ? "" : "s",
		   p.ntargets, p.ntargets == 1 ? "" : "s", p.ntests, p.ntests == 1 ? "" : "s",
		   p.requests);

	kv_signals_install();
	for (unsigned run = 0; !failed && run < p.runs; run++)
		for (unsigned pl = 0; !failed && pl < p.npipelines; pl++)
			for (unsigned i = 0; !failed && i < p.ntargets; i++) {
				/* A B, then B A: neither always goes first. */
				unsigned t = run % 2 == 0 ? i : p.ntargets - 1 - i;

				failed = measure_server(&p, &p.targets[t], pl, run,
							common.verbose) < 0;
			}
	kv_signals_restore();
	bench_watchdog_stop();
	if (kv_interrupted()) {
		bench_note(p.bench, "interrupted by signal %d; servers stopped", kv_interrupted());
		failed = true;
	}
	if (!failed) {
		for (unsigned test = 0; test < p.ntests; test++)
			for (unsigned pl = 0; pl < p.npipelines; pl++)
				if (p.aof)
					kv_aof_report(&p, test, pl);
				else
					kv_report_table(&p, test, pl);
		kv_report_definitions(&p);
	}
	clean_up(&p, failed && !kv_interrupted());
	return failed ? BENCH_EXIT_FAIL : BENCH_EXIT_OK;
}

int bench_kv(int argc, char **argv)
{
	return kv_main(argc, argv, false, false);
}

int bench_kv_scale(int argc, char **argv)
{
	return kv_main(argc, argv, true, false);
}

int bench_kv_aof(int argc, char **argv)
{
	return kv_main(argc, argv, false, true);
}
