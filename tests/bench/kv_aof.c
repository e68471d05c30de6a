/*
 * kv_aof.c - kv.aof's side of the kv benchmark (kv.c runs it): atoll-kv
 * and redis-server with the append-only log on, at each appendfsync policy
 * of --fsyncs, plus atoll-kv without persistence, the baseline of everysec.
 * Every server start gets a fresh, empty data directory, removed when the
 * server stops, under one base directory whose file system and fsync cost
 * are printed first: a log on tmpfs measures nothing about disks. The
 * report has one table per policy, atoll-kv over redis-server, with issue
 * 5's targets: at always >= 2x redis-server, at everysec >= 0.9x atoll-kv
 * without persistence.
 */
#define _GNU_SOURCE
#include "bench.h"
#include "kv.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KV_AOF_PROBES 200
#define KV_AOF_PROBE_SIZE 4096

static const char *const policies[] = { "always", "everysec", "no" };

static int parse_fsyncs(const struct kv_params *p, const char **out, unsigned *n)
{
	const char *s = p->fsyncs_text;

	*n = 0;
	while (*s != '\0') {
		size_t len = strcspn(s, ",");
		const char *found = NULL;

		for (size_t i = 0; i < BENCH_ARRAY_SIZE(policies); i++)
			if (strlen(policies[i]) == len && strncmp(s, policies[i], len) == 0)
				found = policies[i];
		for (unsigned i = 0; found != NULL && i < *n; i++)
			if (out[i] == found)
				found = NULL;
		if (found == NULL || *n == KV_MAX_FSYNCS)
			goto bad;
		out[(*n)++] = found;
		s += len;
		if (*s == ',' && *++s == '\0')
			goto bad;
	}
	if (*n > 0)
		return 0;
bad:
	bench_note(p->bench,
		   "--fsyncs: expected always, everysec and/or no, comma-separated, each once; "
		   "got '%s'",
		   p->fsyncs_text);
	return -EINVAL;
}

/* The file system of the mount that holds path (the longest mount point
 * that is a prefix of it, from /proc/self/mounts), or "unknown". */
static void fs_type_of(const char *path, char *out, size_t size)
{
	char real[PATH_MAX], line[4096];
	size_t best = 0;
	FILE *f;

	snprintf(out, size, "unknown");
	if (realpath(path, real) == NULL)
		return;
	f = fopen("/proc/self/mounts", "r");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char dev[1024], dir[PATH_MAX], type[32];
		size_t len;

		if (sscanf(line, "%1023s %4095s %31s", dev, dir, type) != 3)
			continue;
		len = strlen(dir);
		if (strncmp(real, dir, len) != 0 ||
		    (real[len] != '/' && real[len] != '\0' && strcmp(dir, "/") != 0))
			continue;
		if (len >= best) {
			best = len;
			snprintf(out, size, "%s", type);
		}
	}
	fclose(f);
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median microseconds of one fdatasync after a 4 KiB append in dir: what a
 * log write at appendfsync always waits for at least, on this disk. */
static double fsync_cost_us(const char *bench, const char *dir)
{
	char path[PATH_MAX + 32], block[KV_AOF_PROBE_SIZE];
	double us[KV_AOF_PROBES];
	int fd;

	snprintf(path, sizeof(path), "%s/fsync-probe", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		bench_note(bench, "cannot create %s: %s", path, strerror(errno));
		return 0;
	}
	memset(block, 'a', sizeof(block));
	for (unsigned i = 0; i < KV_AOF_PROBES; i++) {
		uint64_t t0 = bench_now_ns();

		if (write(fd, block, sizeof(block)) != (ssize_t)sizeof(block) ||
		    fdatasync(fd) != 0) {
			bench_note(bench, "fsync probe in %s: %s", dir, strerror(errno));
			close(fd);
			(void)unlink(path);
			return 0;
		}
		us[i] = (double)(bench_now_ns() - t0) / 1e3;
	}
	close(fd);
	(void)unlink(path);
	qsort(us, KV_AOF_PROBES, sizeof(us[0]), compare_double);
	return us[KV_AOF_PROBES / 2];
}

static void add_target(struct kv_params *p, const char *name, bool atoll, const char *fsync)
{
	struct kv_target *t = &p->targets[p->ntargets++];
	char cpus[sizeof(t->cpus_text)];

	kv_target_set(p, t, name, atoll, atoll ? p->reactors : 1, p->nserver_cpus);
	t->fsync = fsync;
	memcpy(cpus, t->cpus_text, sizeof(cpus));
	snprintf(t->label, sizeof(t->label), "%s %s (CPU%s %s)",
		 atoll ? "atoll-kv" : "redis-server", fsync != NULL ? fsync : "no log",
		 p->nserver_cpus == 1 ? "" : "s", cpus);
	snprintf(t->dir, sizeof(t->dir), "%s/%s.data", p->data_base, name);
}

int kv_aof_set_up(struct kv_params *p, bool want_atoll, bool want_redis)
{
	const char *fsyncs[KV_MAX_FSYNCS];
	bool everysec = false;
	unsigned n;

	if (parse_fsyncs(p, fsyncs, &n) < 0)
		return -EINVAL;
	if (p->data_dir != NULL) {
		snprintf(p->data_base, sizeof(p->data_base), "%s/atoll-bench-kv-aof.XXXXXX",
			 p->data_dir);
		if (mkdtemp(p->data_base) == NULL) {
			int rc = -errno;

			bench_note(p->bench, "--data-dir: mkdtemp %s: %s", p->data_base,
				   strerror(-rc));
			p->data_base[0] = '\0';
			return rc;
		}
		p->data_base_own = true;
	} else {
		snprintf(p->data_base, sizeof(p->data_base), "%s", p->tmpdir);
	}
	fs_type_of(p->data_base, p->fs_type, sizeof(p->fs_type));
	p->fsync_us = fsync_cost_us(p->bench, p->data_base);
	bench_note(p->bench,
		   "data directories under %s: file system %s; fdatasync after a 4 KiB append "
		   "takes %.0f us (median of %d)",
		   p->data_base, p->fs_type, p->fsync_us, KV_AOF_PROBES);
	if (strcmp(p->fs_type, "tmpfs") == 0 || strcmp(p->fs_type, "ramfs") == 0)
		bench_note(p->bench,
			   "WARNING: %s is in memory: fsync costs nothing there, so "
			   "these numbers say nothing about a disk; pass --data-dir on one",
			   p->fs_type);
	bench_result(p->bench, "kind=disk fs=%s fdatasync_us=%.1f", p->fs_type, p->fsync_us);

	for (unsigned i = 0; i < n; i++) {
		char name[16];

		everysec |= strcmp(fsyncs[i], "everysec") == 0;
		if (want_atoll) {
			snprintf(name, sizeof(name), "atoll_%s", fsyncs[i]);
			add_target(p, name, true, fsyncs[i]);
		}
		if (want_redis) {
			snprintf(name, sizeof(name), "redis_%s", fsyncs[i]);
			add_target(p, name, false, fsyncs[i]);
		}
	}
	if (want_atoll && everysec)
		add_target(p, "atoll", true, NULL);
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

static int remove_tree(const char *dir)
{
	if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int kv_aof_fresh_dir(const struct kv_params *p, struct kv_target *t)
{
	int rc = remove_tree(t->dir);

	if (rc == 0 && mkdir(t->dir, 0700) != 0)
		rc = -errno;
	if (rc < 0)
		bench_note(p->bench, "cannot make a fresh data directory %s: %s", t->dir,
			   strerror(-rc));
	return rc;
}

void kv_aof_remove_dir(const struct kv_params *p, struct kv_target *t)
{
	int rc = remove_tree(t->dir);

	if (rc < 0)
		bench_note(p->bench, "could not remove %s: %s", t->dir, strerror(-rc));
}

void kv_aof_clean_up(const struct kv_params *p)
{
	for (unsigned t = 0; t < p->ntargets; t++)
		if (p->targets[t].fsync != NULL)
			(void)remove_tree(p->targets[t].dir);
	if (p->data_base_own && rmdir(p->data_base) != 0)
		bench_note(p->bench, "could not remove %s: %s", p->data_base, strerror(errno));
}

static const struct kv_target *find(const struct kv_params *p, const char *name)
{
	for (unsigned t = 0; t < p->ntargets; t++)
		if (strcmp(p->targets[t].name, name) == 0)
			return &p->targets[t];
	return NULL;
}

void kv_aof_report(const struct kv_params *p, unsigned test, unsigned pipeline)
{
	for (size_t i = 0; i < BENCH_ARRAY_SIZE(policies); i++) {
		const char *fsync = policies[i];
		const struct kv_target *ts[3], *base = find(p, "atoll");
		char name[16], heading[64], note[64] = "", extra[128];
		double vs_none = 0, vs_redis = 0;
		unsigned n = 0;

		snprintf(name, sizeof(name), "atoll_%s", fsync);
		if (find(p, name) != NULL)
			ts[n++] = find(p, name);
		snprintf(name, sizeof(name), "redis_%s", fsync);
		if (find(p, name) != NULL)
			ts[n++] = find(p, name);
		if (n == 0)
			continue; /* not in --fsyncs */
		bool both = n == 2 && ts[0]->atoll && !ts[1]->atoll;
		bool baseline = strcmp(fsync, "everysec") == 0 && base != NULL && ts[0]->atoll;

		if (both)
			vs_redis = kv_report_rps_ratio(p, ts[0], ts[1], test, pipeline);
		if (both && strcmp(fsync, "always") == 0)
			snprintf(note, sizeof(note), "  (target >= 2: %s)",
				 vs_redis >= 2 ? "met" : "NOT met");
		snprintf(extra, sizeof(extra), " fsync=%s", fsync);
		if (baseline) {
			vs_none = kv_report_rps_ratio(p, ts[0], base, test, pipeline);
			snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
				 " vs_no_log_rps_ratio=%.4f", vs_none);
			ts[n++] = base;
		}
		snprintf(heading, sizeof(heading), "appendfsync %s", fsync);
		kv_report_group(p, test, pipeline, ts, n, heading, note, "", extra);
		if (baseline)
			fprintf(stderr, "  %-24s %.3f  (target >= 0.9: %s)\n",
				"everysec over no log", vs_none,
				vs_none >= 0.9 ? "met" : "NOT met");
	}
}
