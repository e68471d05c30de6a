/*
 * kv_report.c - what the kv benchmarks print: redis-benchmark's CSV read
 * into samples, medians over the runs, one table per test and pipeline
 * depth (kv.aof: per fsync policy too) on stderr with its RESULT line on
 * stdout, and how each number is derived. Ratios are taken within a run
 * (the two servers of one A B pair) and then their median, so that drift
 * between runs cancels out.
 */
#define _GNU_SOURCE
#include "kv.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kv_report_parse_csv(const char *bench, const char *path, struct kv_sample *s)
{
	static const char *const wanted[] = { "test", "rps", "avg_latency_ms", "p50_latency_ms",
					      "p99_latency_ms" };
	int column[5] = { -1, -1, -1, -1, -1 };
	double value[5] = { 0 };
	char line[1024];
	unsigned rows = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		bench_note(bench, "cannot read redis-benchmark's output %s: %s", path,
			   strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *save = NULL, *field;
		int col = 0;
		bool header = strncmp(line, "\"test\",", 7) == 0;

		if (line[0] != '"')
			continue; /* warnings, e.g. no CONFIG GET on the server */
		if (!header && column[0] < 0)
			continue;
		if (!header)
			rows++;
		for (field = strtok_r(line, ",\r\n", &save); field != NULL;
		     field = strtok_r(NULL, ",\r\n", &save), col++) {
			size_t len = strlen(field);

			if (len >= 2 && field[0] == '"' && field[len - 1] == '"') {
				field[len - 1] = '\0';
				field++;
			}
			for (unsigned w = 0; w < 5; w++) {
				if (header && strcmp(field, wanted[w]) == 0)
					column[w] = col;
				else if (!header && rows == 1 && column[w] == col && w > 0)
					value[w] = strtod(field, NULL);
			}
		}
	}
	fclose(f);
	for (unsigned w = 0; w < 5; w++) {
		if (column[w] < 0) {
			bench_note(bench, "redis-benchmark's CSV (%s) has no column \"%s\"", path,
				   wanted[w]);
			return -EPROTO;
		}
	}
	if (rows != 1 || !(value[1] > 0)) {
		bench_note(bench,
			   "redis-benchmark's CSV (%s) has %u result rows (rps %g); expected one "
			   "test with a rate (name a single test: ping_mbulk, not ping)",
			   path, rows, value[1]);
		return -EPROTO;
	}
	s->rps = value[1];
	s->avg_ms = value[2];
	s->p50_ms = value[3];
	s->p99_ms = value[4];
	return 0;
}

struct kv_sample *kv_report_sample(const struct kv_params *p, const struct kv_target *t,
				   unsigned test, unsigned pipeline, unsigned run)
{
	return &t->samples[((size_t)test * p->npipelines + pipeline) * p->runs + run];
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, unsigned n, double *min, double *max)
{
	qsort(v, n, sizeof(v[0]), compare_double);
	if (min != NULL)
		*min = v[0];
	if (max != NULL)
		*max = v[n - 1];
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Median (and range) over the runs of one double field of struct kv_sample. */
static double median_field(const struct kv_params *p, const struct kv_target *t, unsigned test,
			   unsigned pipeline, size_t field, double *min, double *max)
{
	double v[KV_MAX_RUNS];

	for (unsigned r = 0; r < p->runs; r++)
		memcpy(&v[r], (const char *)kv_report_sample(p, t, test, pipeline, r) + field,
		       sizeof(double));
	return median(v, p->runs, min, max);
}

/* Median over the runs of x's field over y's (a ratio within each round,
 * so that drift between rounds cancels), times factor. */
static double median_ratio(const struct kv_params *p, const struct kv_target *x,
			   const struct kv_target *y, unsigned test, unsigned pipeline,
			   size_t field, bool inverse, double factor)
{
	double v[KV_MAX_RUNS];

	for (unsigned r = 0; r < p->runs; r++) {
		double a, b;

		memcpy(&a, (const char *)kv_report_sample(p, x, test, pipeline, r) + field,
		       sizeof(double));
		memcpy(&b, (const char *)kv_report_sample(p, y, test, pipeline, r) + field,
		       sizeof(double));
		v[r] = factor * (inverse ? b / a : a / b);
	}
	return median(v, p->runs, NULL, NULL);
}

double kv_report_rps_ratio(const struct kv_params *p, const struct kv_target *x,
			   const struct kv_target *y, unsigned test, unsigned pipeline)
{
	return median_ratio(p, x, y, test, pipeline, offsetof(struct kv_sample, rps), false, 1);
}

#define KV_FIELD(name) offsetof(struct kv_sample, name)

static void print_row(const struct kv_params *p, const struct kv_target *const *ts, unsigned n,
		      unsigned test, unsigned pipeline, const char *title, size_t field,
		      int decimals, bool range, const char *ratio_text)
{
	char line[512];
	size_t len = (size_t)snprintf(line, sizeof(line), "  %-24s", title);

	for (unsigned t = 0; t < n && len < sizeof(line); t++) {
		char cell[128], value[32], lo[32], hi[32];
		double min, max, med;

		med = median_field(p, ts[t], test, pipeline, field, &min, &max);
		snprintf(value, sizeof(value), "%.*f", decimals, med);
		snprintf(lo, sizeof(lo), "%.*f", decimals, min);
		snprintf(hi, sizeof(hi), "%.*f", decimals, max);
		if (range && p->runs > 1)
			snprintf(cell, sizeof(cell), "%s (%s-%s)", value, lo, hi);
		else
			snprintf(cell, sizeof(cell), "%s", value);
		len += (size_t)snprintf(line + len, sizeof(line) - len, " %-34s", cell);
	}
	if (ratio_text != NULL && len < sizeof(line))
		len += (size_t)snprintf(line + len, sizeof(line) - len, " %s", ratio_text);
	if (len >= sizeof(line))
		len = sizeof(line) - 1;
	while (len > 0 && line[len - 1] == ' ')
		line[--len] = '\0';
	fprintf(stderr, "%s\n", line);
}

void kv_report_group(const struct kv_params *p, unsigned test, unsigned pipeline,
		     const struct kv_target *const *ts, unsigned n, const char *heading,
		     const char *rps_note, const char *cpu_note, const char *result_extra)
{
	static const struct {
		const char *name; /* in the RESULT line: <server>_<name>= */
		size_t field;
		int decimals;
	} metrics[] = {
		{ "rps", KV_FIELD(rps), 0 },
		{ "p50_ms", KV_FIELD(p50_ms), 3 },
		{ "p99_ms", KV_FIELD(p99_ms), 3 },
		{ "cpu_us_per_req", KV_FIELD(cpu_us_per_req), 4 },
		{ "client_cpu_us_per_req", KV_FIELD(client_cpu_us_per_req), 4 },
		{ "capacity_rps", KV_FIELD(capacity_rps), 0 },
	};
	const struct kv_target *a = ts[0], *b = n > 1 ? ts[1] : NULL;
	unsigned depth = p->pipelines[pipeline];
	bool pair = n >= 2;
	double rps_ratio = 0, cpu_ratio = 0, capacity_ratio = 0, scale_cpu = 0;
	char upper[KV_TEST_LEN], rps_text[64] = "", cpu_text[64] = "", cap_text[64] = "";
	char line[2048];
	size_t len = 0;

	for (size_t i = 0; i <= strlen(p->tests[test]); i++)
		upper[i] = (char)toupper((unsigned char)p->tests[test][i]);
	if (pair) {
		rps_ratio = median_ratio(p, a, b, test, pipeline, KV_FIELD(rps), false, 1);
		cpu_ratio =
			median_ratio(p, a, b, test, pipeline, KV_FIELD(cpu_us_per_req), false, 1);
		capacity_ratio =
			median_ratio(p, a, b, test, pipeline, KV_FIELD(capacity_rps), false, 1);
		/* K x cpu(1) / cpu(K): a has K reactors. */
		scale_cpu = median_ratio(p, a, b, test, pipeline, KV_FIELD(cpu_us_per_req), true,
					 (double)a->reactors);
		snprintf(rps_text, sizeof(rps_text), "%.3f%s", rps_ratio, rps_note);
		snprintf(cpu_text, sizeof(cpu_text), "%.3f%s", cpu_ratio, cpu_note);
		snprintf(cap_text, sizeof(cap_text), "%.3f", capacity_ratio);
	}
	if (p->runs > 1)
		fprintf(stderr, "\n%s: %s, -P %u%s%s: medians of %u runs (min-max)\n", p->bench,
			upper, depth, heading[0] ? ", " : "", heading, p->runs);
	else
		fprintf(stderr, "\n%s: %s, -P %u%s%s: one run\n", p->bench, upper, depth,
			heading[0] ? ", " : "", heading);
	fprintf(stderr, "  %-24s", "");
	for (unsigned t = 0; t < n; t++)
		fprintf(stderr, t + 1 < n || pair ? " %-34s" : " %s", ts[t]->label);
	if (pair)
		fprintf(stderr, " %s/%s", a->name, b->name);
	fprintf(stderr, "\n");
	print_row(p, ts, n, test, pipeline, "requests/s", KV_FIELD(rps), 0, true, rps_text);
	print_row(p, ts, n, test, pipeline, "p50 latency, ms", KV_FIELD(p50_ms), 3, true, NULL);
	print_row(p, ts, n, test, pipeline, "p99 latency, ms", KV_FIELD(p99_ms), 3, true, NULL);
	print_row(p, ts, n, test, pipeline, "server CPU, us/request", KV_FIELD(cpu_us_per_req), 3,
		  true, cpu_text);
	print_row(p, ts, n, test, pipeline, "server capacity, req/s", KV_FIELD(capacity_rps), 0,
		  true, cap_text);
	print_row(p, ts, n, test, pipeline, "client CPU, us/request",
		  KV_FIELD(client_cpu_us_per_req), 3, false, NULL);
	if (p->scale && pair) {
		fprintf(stderr, "  %-24s %-69s %.3f  (target >= 1.7)\n", "scale, by CPU/request",
			"", scale_cpu);
		fprintf(stderr, "  %-24s %-69s %.3f  (target >= 1.7)\n", "scale, by capacity", "",
			capacity_ratio);
	}

	/* The machine-readable summary. */
	len += (size_t)snprintf(line + len, sizeof(line) - len,
				"kind=median test=%s pipeline=%u runs=%u", p->tests[test], depth,
				p->runs);
	for (unsigned t = 0; t < n; t++) {
		const struct kv_target *x = ts[t];

		for (size_t m = 0; m < BENCH_ARRAY_SIZE(metrics) && len < sizeof(line); m++) {
			double min, max, med;

			med = median_field(p, x, test, pipeline, metrics[m].field, &min, &max);
			len += (size_t)snprintf(line + len, sizeof(line) - len, " %s_%s=%.*f",
						x->name, metrics[m].name, metrics[m].decimals, med);
			if (m == 0 && len < sizeof(line))
				len += (size_t)snprintf(line + len, sizeof(line) - len,
							" %s_rps_min=%.0f %s_rps_max=%.0f", x->name,
							min, x->name, max);
		}
	}
	if (pair && len < sizeof(line))
		len += (size_t)snprintf(line + len, sizeof(line) - len,
					" rps_ratio=%.4f cpu_ratio=%.4f capacity_ratio=%.4f",
					rps_ratio, cpu_ratio, capacity_ratio);
	if (pair && p->scale && len < sizeof(line))
		len += (size_t)snprintf(line + len, sizeof(line) - len,
					" scale_cpu=%.4f scale_capacity=%.4f", scale_cpu,
					capacity_ratio);
	if (len < sizeof(line))
		snprintf(line + len, sizeof(line) - len, "%s", result_extra);
	bench_result(p->bench, "%s", line);
}

void kv_report_table(const struct kv_params *p, unsigned test, unsigned pipeline)
{
	const struct kv_target *ts[KV_MAX_TARGETS];
	unsigned depth = p->pipelines[pipeline];

	for (unsigned t = 0; t < p->ntargets; t++)
		ts[t] = &p->targets[t];
	kv_report_group(p, test, pipeline, ts, p->ntargets, "",
			!p->scale && depth == 16 ? "  (target >= 1.5)" : "",
			!p->scale && depth == 1 ? "  (target <= 0.6)" : "", "");
}

void kv_report_definitions(const struct kv_params *p)
{
	bool clock = p->cpu_source != NULL && strcmp(p->cpu_source, "clock") == 0;

	fprintf(stderr,
		"\nHow these are computed (each test is one redis-benchmark run of -n %" PRIu64
		" requests):\n"
		"  requests/s, p50, p99      redis-benchmark's CSV for that run\n"
		"  server CPU, us/request    utime + stime of the whole server process (all "
		"threads) after\n"
		"                            the run minus before, / -n; read from %s\n"
		"  server capacity, req/s    -n / CPU seconds of the server's busiest thread "
		"over the run\n"
		"                            (/proc/PID/task/TID/schedstat): the rate at which "
		"that thread\n"
		"                            would be 100%% busy, if its cost per request held\n"
		"  client CPU, us/request    redis-benchmark's own utime + stime (wait4) / -n\n",
		p->requests,
		clock ? "the process CPU clock (clock_getcpuclockid)" : "/proc/PID/stat");
	if (p->aof)
		fprintf(stderr,
			"  atoll_X/redis_X ratios    atoll-kv over redis-server at appendfsync X "
			"within each run, then\n"
			"                            the median; each server starts on a fresh, "
			"empty data directory\n"
			"  everysec over no log      atoll_everysec over atoll (no persistence) "
			"requests/s, the same way\n");
	else if (p->ntargets == 2) {
		char title[48];

		snprintf(title, sizeof(title), "%s/%s ratios", p->targets[0].name,
			 p->targets[1].name);
		fprintf(stderr,
			"  %-25s %s over %s within each run (one A B pair), then the median\n",
			title, p->targets[0].name, p->targets[1].name);
	}
	if (p->scale)
		fprintf(stderr,
			"  scale, by CPU/request     K x (server CPU us/request, 1 reactor) / "
			"(server CPU us/request,\n"
			"                            K reactors), K = %u: what K busy CPUs serve "
			"over what one serves,\n"
			"                            each at the cost per request measured with "
			"that many reactors;\n"
			"                            assumes the K reactors share the load evenly\n"
			"  scale, by capacity        capacity with K reactors / capacity with 1: "
			"bound by the busiest\n"
			"                            thread, so uneven load (or a single-threaded "
			"server) shows here\n"
			"  The client shares the server's CPUs here, so requests/s understates the "
			"server; the two\n"
			"  scale figures do not depend on who else runs.\n",
			p->targets[0].reactors);
	fprintf(stderr, "\n");
}
