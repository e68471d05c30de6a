/*
 * fileappend.c - file.append: one actor appends N records of R bytes to an
 * O_APPEND file with atoll_io_write at ATOLL_IO_CURRENT. --fsync always:
 * write, then sync, one append at a time; batch: group commit, up to
 * --window appends not yet durable, one sync at a time covering every write
 * completed before it; none: up to --window writes in flight. The sync is
 * fdatasync (as redis-server's). The file is read back (every record once,
 * intact) and deleted.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum fa_msg_type {
	FA_MSG_OPEN = ATOLL_MSG_USER + 48, /* atoll_io: the log's open */
	FA_MSG_WRITE,                      /* atoll_io: one record */
	FA_MSG_SYNC,                       /* atoll_io: fdatasync or fsync */
	FA_MSG_CLOSE,                      /* atoll_io: the log's close */
};

enum fa_mode {
	FA_ALWAYS,
	FA_BATCH,
	FA_NONE,
};

static const char *const fa_mode_names[] = { "always", "batch", "none" };

/* Written by the actor, read by main after atoll_runtime_wait. */
struct fa_run {
	char path[4096];
	uint64_t records;
	uint32_t record_size;
	enum fa_mode mode;
	unsigned window;
	bool full_fsync;
	uint64_t max_ns;
	/* results */
	uint64_t t_start, t_end;
	uint64_t issued;   /* records handed to atoll_io_write */
	uint64_t written;  /* writes completed */
	uint64_t durable;  /* appends done (see the top of the file) */
	uint64_t syncs;    /* syncs completed */
	uint64_t cpu_ns;   /* reactor thread CPU time, first write to last ack */
	int error;         /* first failure, -errno */
	const char *where; /* what failed */
};

struct fa_actor {
	struct fa_run *run;
	int fd;
	unsigned outstanding; /* appends issued and not yet done */
	uint64_t unsynced;    /* writes completed and not covered by a sync */
	uint64_t covering;    /* writes the sync in flight covers */
	bool syncing;
	bool finished;
	bool closing; /* the close is submitted: fd is no longer ours */
	uint64_t deadline;
	uint64_t cpu0;
};

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The byte at offset i of record seq. */
static unsigned char fa_byte(uint64_t seq, size_t i)
{
	return (unsigned char)(seq * 31u + i * 7u + 1u);
}

static void fa_fill(unsigned char *p, uint32_t size, uint64_t seq)
{
	for (size_t i = 0; i < size; i++)
		p[i] = fa_byte(seq, i);
	memcpy(p, &seq, sizeof(seq)); /* size >= 8 */
}

static void fa_fail(atoll_ctx *ctx, struct fa_actor *a, const char *where, int err)
{
	struct fa_run *run = a->run;

	if (run->error == 0) {
		run->error = err;
		run->where = where;
	}
	a->finished = true;
	atoll_stop_runtime(ctx);
}

/* All appends done, or the time cap passed and nothing is in flight: close. */
static void fa_maybe_finish(atoll_ctx *ctx, struct fa_actor *a)
{
	struct fa_run *run = a->run;
	struct atoll_io *io;
	int rc;

	if (a->finished || a->outstanding != 0 || a->syncing)
		return;
	if (run->issued < run->records && atoll_now_ns() < a->deadline)
		return;
	a->finished = true;
	run->t_end = atoll_now_ns();
	run->cpu_ns = thread_cpu_ns() - a->cpu0;
	io = atoll_io_new(FA_MSG_CLOSE, 0);
	if (io == NULL) {
		fa_fail(ctx, a, "atoll_io_new", -ENOMEM);
		return;
	}
	a->closing = true;
	rc = atoll_io_close(ctx, a->fd, io);
	if (rc < 0)
		fa_fail(ctx, a, "atoll_io_close", rc);
}

/* Issues appends up to the window; reuse (may be NULL) is a completed write
 * message to send again instead of allocating one. */
static void fa_issue(atoll_ctx *ctx, struct fa_actor *a, struct atoll_io *reuse)
{
	struct fa_run *run = a->run;
	unsigned window = run->mode == FA_ALWAYS ? 1 : run->window;

	while (a->outstanding < window && run->issued < run->records &&
	       (run->issued == 0 || atoll_now_ns() < a->deadline)) {
		struct atoll_io *io =
			reuse != NULL ? reuse : atoll_io_new(FA_MSG_WRITE, run->record_size);
		int rc;

		reuse = NULL;
		if (io == NULL) {
			fa_fail(ctx, a, "atoll_io_new", -ENOMEM);
			return;
		}
		fa_fill(io->msg.data, run->record_size, run->issued);
		io->msg.len = run->record_size;
		rc = atoll_io_write(ctx, a->fd, io, ATOLL_IO_CURRENT);
		if (rc < 0) {
			fa_fail(ctx, a, "atoll_io_write", rc);
			return;
		}
		run->issued++;
		a->outstanding++;
	}
}

static void fa_sync(atoll_ctx *ctx, struct fa_actor *a, struct atoll_io *reuse)
{
	struct atoll_io *io = reuse != NULL ? reuse : atoll_io_new(FA_MSG_SYNC, 0);
	int rc;

	if (io == NULL) {
		fa_fail(ctx, a, "atoll_io_new", -ENOMEM);
		return;
	}
	a->covering = a->unsynced;
	a->unsynced = 0;
	a->syncing = true;
	rc = atoll_io_fsync(ctx, a->fd, io, !a->run->full_fsync);
	if (rc < 0)
		fa_fail(ctx, a, "atoll_io_fsync", rc);
}

/* count appends are done now. */
static void fa_done(struct fa_actor *a, uint64_t count)
{
	a->run->durable += count;
	a->outstanding -= (unsigned)count;
}

static void fa_on_write(atoll_ctx *ctx, struct fa_actor *a, struct atoll_io *io)
{
	struct fa_run *run = a->run;

	if (io->res < 0) {
		fa_fail(ctx, a, "write", io->res);
		return;
	}
	if ((uint32_t)io->res != run->record_size) {
		fa_fail(ctx, a, "write: a short completion", -EIO);
		return;
	}
	run->written++;
	switch (run->mode) {
	case FA_NONE:
		fa_done(a, 1);
		fa_issue(ctx, a, io);
		break;
	case FA_ALWAYS:
		a->unsynced++;
		fa_sync(ctx, a, NULL);
		break;
	case FA_BATCH:
		a->unsynced++;
		if (!a->syncing)
			fa_sync(ctx, a, NULL);
		break;
	}
}

static void fa_on_sync(atoll_ctx *ctx, struct fa_actor *a, struct atoll_io *io)
{
	if (io->res < 0) {
		fa_fail(ctx, a, a->run->full_fsync ? "fsync" : "fdatasync", io->res);
		return;
	}
	a->run->syncs++;
	a->syncing = false;
	fa_done(a, a->covering);
	a->covering = 0;
	if (a->unsynced > 0)
		fa_sync(ctx, a, io); /* Writes finished meanwhile: the next group. */
	fa_issue(ctx, a, NULL);
}

static void fa_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct fa_actor *a = state;
	struct fa_run *run = a->run;
	struct atoll_io *io = atoll_io_of(msg);
	int rc;

	if (msg->type == BENCH_MSG_START) {
		io = atoll_io_new(FA_MSG_OPEN, strlen(run->path) + 1);
		if (io == NULL) {
			fa_fail(ctx, a, "atoll_io_new", -ENOMEM);
			return;
		}
		memcpy(io->msg.data, run->path, strlen(run->path) + 1);
		io->msg.len = (uint32_t)strlen(run->path) + 1;
		rc = atoll_io_open(ctx, io, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
		if (rc < 0)
			fa_fail(ctx, a, "atoll_io_open", rc);
		return;
	}
	if (io == NULL || a->finished) {
		if (io != NULL && msg->type == FA_MSG_CLOSE) {
			if (io->res < 0 && run->error == 0) {
				run->error = io->res;
				run->where = "close";
			}
			atoll_stop_runtime(ctx);
		}
		return;
	}
	switch (msg->type) {
	case FA_MSG_OPEN:
		if (io->res < 0) {
			fa_fail(ctx, a, "open", io->res);
			return;
		}
		a->fd = io->res;
		run->t_start = atoll_now_ns();
		a->deadline = run->max_ns ? run->t_start + run->max_ns : UINT64_MAX;
		a->cpu0 = thread_cpu_ns();
		fa_issue(ctx, a, NULL);
		break;
	case FA_MSG_WRITE:
		fa_on_write(ctx, a, io);
		break;
	case FA_MSG_SYNC:
		fa_on_sync(ctx, a, io);
		break;
	default:
		return;
	}
	fa_maybe_finish(ctx, a);
}

static int fa_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct fa_actor *a = state;

	(void)ctx;
	a->run = (struct fa_run *)arg;
	a->fd = -1;
	return 0;
}

/* After a failure the log is still open: close it so it can be deleted. */
static void fa_stop(atoll_ctx *ctx, void *state)
{
	struct fa_actor *a = state;

	(void)ctx;
	if (a->fd >= 0 && !a->closing)
		close(a->fd);
	a->fd = -1;
}

static const struct atoll_actor_type fa_type = {
	.name = "bench.file.append",
	.state_size = sizeof(struct fa_actor),
	.init = fa_init,
	.receive = fa_receive,
	.stop = fa_stop,
};

/*
 * Reads the log back: it must hold exactly `written` records, each intact
 * and each sequence number once. Counts records out of issue order in
 * *out_of_order (concurrent appends may land in any order). Returns 0 or
 * -errno / -EIO (the reason is on stderr).
 */
static int fa_verify(const char *bench, const struct fa_run *run, uint64_t *out_of_order)
{
	uint32_t size = run->record_size;
	unsigned char *rec = malloc(size), *expect = malloc(size);
	uint8_t *seen = calloc(run->issued / 8 + 1, 1);
	FILE *f = fopen(run->path, "rb");
	uint64_t n = 0, prev = 0;
	int rc = 0;

	*out_of_order = 0;
	if (rec == NULL || expect == NULL || seen == NULL || f == NULL) {
		rc = f == NULL ? -errno : -ENOMEM;
		bench_note(bench, "verify: %s", strerror(-rc));
		goto out;
	}
	while (fread(rec, 1, size, f) == size) {
		uint64_t seq;

		memcpy(&seq, rec, sizeof(seq));
		fa_fill(expect, size, seq);
		if (seq >= run->issued || memcmp(rec, expect, size) != 0 ||
		    (seen[seq / 8] & (1u << (seq % 8)))) {
			bench_note(bench,
				   "verify: record %" PRIu64 " of the file is corrupt or a "
				   "duplicate",
				   n);
			rc = -EIO;
			goto out;
		}
		seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
		if (n > 0 && seq != prev + 1)
			(*out_of_order)++;
		prev = seq;
		n++;
	}
	if (ferror(f) || !feof(f) || n != run->written) {
		bench_note(bench,
			   "verify: the file holds %" PRIu64 " whole records (plus a partial one: "
			   "%s), %" PRIu64 " were written",
			   n, feof(f) && ftell(f) % (long)size == 0 ? "no" : "yes", run->written);
		rc = -EIO;
	}
out:
	if (f != NULL)
		fclose(f);
	free(rec);
	free(expect);
	free(seen);
	return rc;
}

int bench_file_append(int argc, char **argv)
{
	const char *bench = argv[0];
	struct bench_common common = { .seconds = 10, .timeout = 0 };
	const char *mode_name = "batch";
	const char *dir = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
	uint64_t records = 100000;
	unsigned record_size = 128, window = 64;
	bool full_fsync = false;
	const struct bench_flag flags[] = {
		{ "-n", "--records", BENCH_FLAG_U64, &records, "records to append" },
		{ "-r", "--record-size", BENCH_FLAG_UINT, &record_size, "bytes per record" },
		{ NULL, "--fsync", BENCH_FLAG_STRING, &mode_name, "always|batch|none" },
		{ NULL, "--window", BENCH_FLAG_UINT, &window,
		  "batch/none: appends not yet done, at most" },
		{ NULL, "--full-fsync", BENCH_FLAG_BOOL, &full_fsync,
		  "sync with fsync instead of fdatasync" },
		{ NULL, "--dir", BENCH_FLAG_STRING, &dir, "where the temporary log lives" },
	};
	struct fa_run *run;
	struct atoll_config config;
	atoll_runtime *rt;
	char tmpdir[4000]; /* room for "/log" in run->path */
	uint64_t out_of_order = 0;
	double secs;
	int rc, exit_code = BENCH_EXIT_FAIL;
	size_t m;

	rc = bench_parse_flags(argc, argv, &common, flags, BENCH_ARRAY_SIZE(flags));
	if (rc != BENCH_CONTINUE)
		return rc;
	run = calloc(1, sizeof(*run));
	if (run == NULL)
		return BENCH_EXIT_FAIL;
	for (m = 0; m < BENCH_ARRAY_SIZE(fa_mode_names); m++)
		if (strcmp(mode_name, fa_mode_names[m]) == 0)
			break;
	if (m == BENCH_ARRAY_SIZE(fa_mode_names) || records == 0 || record_size == 0 ||
	    record_size < 8 || record_size > (1u << 20) || window == 0 || window > 4096) {
		bench_note(bench, "--fsync must be always, batch or none; --records > 0; "
				  "--record-size in 8..1048576; --window in 1..4096");
		free(run);
		return BENCH_EXIT_USAGE;
	}
	if (snprintf(tmpdir, sizeof(tmpdir), "%s/atoll-bench-append-XXXXXX", dir) >=
		    (int)sizeof(tmpdir) ||
	    mkdtemp(tmpdir) == NULL) {
		bench_note(bench, "cannot create a temporary directory in %s: %s", dir,
			   strerror(errno));
		free(run);
		return BENCH_EXIT_FAIL;
	}
	snprintf(run->path, sizeof(run->path), "%s/log", tmpdir);
	run->records = records;
	run->record_size = record_size;
	run->mode = (enum fa_mode)m;
	run->window = window;
	run->full_fsync = full_fsync;
	run->max_ns = bench_seconds_ns(common.seconds);
	if (common.timeout <= 0)
		common.timeout = common.seconds + 60;

	bench_config(&config, &common, 1);
	bench_watchdog_start(bench, common.timeout);
	if (bench_runtime_start(bench, &config, &rt) < 0) {
		bench_watchdog_stop();
		goto cleanup;
	}
	{
		atoll_ref ref;

		rc = atoll_runtime_spawn(rt, &fa_type, run, 0, &ref);
		if (rc < 0)
			bench_note(bench, "atoll_runtime_spawn: %s", atoll_strerror(rc));
		else
			rc = bench_send_start(bench, rt, ref, NULL, 0);
	}
	if (rc < 0)
		atoll_runtime_stop(rt);
	bench_runtime_wait(bench, &common, rt);
	bench_watchdog_stop();
	atoll_runtime_destroy(rt);
	if (rc < 0)
		goto cleanup;
	if (run->error != 0) {
		bench_note(bench, "%s failed: %s (after %" PRIu64 " records)", run->where,
			   atoll_strerror(run->error), run->written);
		goto cleanup;
	}
	if (run->durable == 0 || run->t_end <= run->t_start) {
		bench_note(bench, "the runtime stopped before the run finished");
		goto cleanup;
	}
	if (fa_verify(bench, run, &out_of_order) < 0)
		goto cleanup;
	if (run->durable < run->records)
		bench_note(bench, "time cap reached after %" PRIu64 " of %" PRIu64 " records",
			   run->durable, run->records);
	if (out_of_order != 0)
		bench_note(bench, "%" PRIu64 " records landed out of issue order", out_of_order);
	secs = (double)(run->t_end - run->t_start) / 1e9;
	bench_result(bench,
		     "fsync=%s records=%" PRIu64 " record_size=%u appends_per_sec=%.0f "
		     "fsyncs_per_sec=%.0f appends_per_fsync=%.2f cpu_us_per_append=%.2f "
		     "sync=%s window=%u out_of_order=%" PRIu64 " seconds=%.3f",
		     mode_name, run->durable, record_size, (double)run->durable / secs,
		     (double)run->syncs / secs,
		     run->syncs ? (double)run->durable / (double)run->syncs : 0.0,
		     (double)run->cpu_ns / 1e3 / (double)run->durable,
		     full_fsync ? "fsync" : "fdatasync", run->mode == FA_ALWAYS ? 1u : window,
		     out_of_order, secs);
	exit_code = BENCH_EXIT_OK;
cleanup:
	if (unlink(run->path) < 0 && errno != ENOENT)
		bench_note(bench, "cannot delete %s: %s", run->path, strerror(errno));
	if (rmdir(tmpdir) < 0)
		bench_note(bench, "cannot delete %s: %s", tmpdir, strerror(errno));
	free(run);
	return exit_code;
}
