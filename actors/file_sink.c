/*
 * file_sink.c - the file-sink actor: open through io_uring at init, records
 * appended in order by an appender, and at the last END: drain, fsync,
 * summary, close, and maybe stop the runtime.
 *
 * Invariants: records counts lines handed to the appender; the summary is
 * printed once, after every byte appended was written (or failed); the fd
 * is closed exactly once, by the close request or by the stop hook.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "appender.h"
#include "file_sink.h"
#include "log.h"

enum sink_phase {
	OPENING,
	WRITING,  /* open (or failed to open) */
	SYNCING,  /* every END seen, drained, fsync in flight */
	CLOSING,  /* summary printed, close in flight */
	FINISHED, /* closed */
};

struct file_sink {
	char *path;
	struct atoll_appender out;
	enum sink_phase phase;
	int fd;
	bool failed; /* open failed: records are dropped */
	bool stop_at_end;
	bool fsync;
	uint64_t ends, ends_seen;
	uint64_t end_records; /* what the ENDs said was sent */
	uint64_t records;     /* lines handed to the appender */
	struct atoll_lib_stats stats;
};

static int file_sink_init(atoll_ctx *ctx, void *state, const void *arg)
{
	const struct atoll_params *p = arg;
	struct file_sink *s = state;
	const char *path = atoll_params_str(p, "path");
	int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;
	struct atoll_io *io;
	int rc;

	s->fd = -1;
	s->path = strdup(path);
	io = atoll_io_new(ATOLL_FILE_SINK_OPEN, strlen(path) + 1);
	if (s->path == NULL || io == NULL) {
		free(s->path); /* the stop hook does not run after a failed init */
		if (io != NULL)
			atoll_msg_free(&io->msg);
		return -ENOMEM;
	}
	memcpy(io->msg.data, path, strlen(path) + 1);
	io->msg.len = (uint32_t)strlen(path) + 1;
	if (!atoll_params_bool(p, "append"))
		flags |= O_TRUNC;
	s->ends = (uint64_t)atoll_params_int(p, "ends");
	s->stop_at_end = atoll_params_bool(p, "stop_at_end");
	s->fsync = atoll_params_bool(p, "fsync");
	atoll_appender_init(&s->out, ATOLL_FILE_SINK_WRITE, (size_t)atoll_params_int(p, "buffer"));
	rc = atoll_io_open(ctx, io, flags, 0644);
	if (rc < 0) {
		atoll__log_error("file-sink: cannot open %s: %s", path, atoll_strerror(rc));
		free(s->path);
	}
	return rc;
}

static void print_summary(struct file_sink *s)
{
	uint64_t dropped = s->stats.dropped;

	if (s->end_records != s->records + dropped)
		fprintf(stderr,
			"file-sink: warning: upstream sent %" PRIu64 " records, %" PRIu64
			" arrived\n",
			s->end_records, s->records + dropped);
	if (s->out.error != 0)
		fprintf(stderr, "file-sink: write to %s failed: %s\n", s->path,
			atoll_strerror(s->out.error));
	printf("file-sink: %" PRIu64 " records, %" PRIu64 " bytes to %s\n", s->records,
	       s->out.bytes, s->path);
	fflush(stdout);
}

static void close_and_finish(atoll_ctx *ctx, struct file_sink *s)
{
	struct atoll_io *io;

	print_summary(s);
	s->phase = CLOSING;
	if (s->fd >= 0 && (io = atoll_io_new(ATOLL_FILE_SINK_CLOSE, 0)) != NULL &&
	    atoll_io_close(ctx, s->fd, io) == 0) {
		s->fd = -1; /* the close request owns it now */
		return;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->phase = FINISHED;
	if (s->stop_at_end)
		atoll_stop_runtime(ctx);
}

/* After the last END, once everything is written: fsync, then finish. */
static void maybe_finish(atoll_ctx *ctx, struct file_sink *s)
{
	struct atoll_io *io;

	if (s->phase != WRITING || s->ends_seen < s->ends || !atoll_appender_idle(&s->out))
		return;
	if (s->fsync && s->fd >= 0 && s->out.error == 0 &&
	    (io = atoll_io_new(ATOLL_FILE_SINK_FSYNC, 0)) != NULL &&
	    atoll_io_fsync(ctx, s->fd, io, false) == 0) {
		s->phase = SYNCING;
		return;
	}
	close_and_finish(ctx, s);
}

static void on_data(atoll_ctx *ctx, struct file_sink *s, const atoll_msg *msg)
{
	uint64_t lines = 1;

	for (const char *p = msg->data, *end = p + msg->len;
	     (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
		lines++;
	s->stats.in++;
	if (s->failed || s->phase > WRITING ||
	    atoll_appender_append(ctx, &s->out, msg->data, msg->len, true) < 0) {
		s->stats.dropped += lines;
		return;
	}
	s->records += lines;
	s->stats.out += lines;
}

static void on_io(atoll_ctx *ctx, struct file_sink *s, atoll_msg *msg)
{
	struct atoll_io *io = atoll_io_of(msg);

	if (io == NULL)
		return;
	switch (msg->type) {
	case ATOLL_FILE_SINK_OPEN:
		if (io->res < 0) {
			atoll__log_error("file-sink: cannot open %s: %s", s->path,
					 atoll_strerror(io->res));
			s->failed = true;
			s->stats.dropped += s->records;
			s->records = 0;
			atoll_appender_free(&s->out);
		} else {
			s->fd = io->res;
			atoll_appender_set_fd(ctx, &s->out, s->fd);
		}
		s->phase = WRITING;
		break;
	case ATOLL_FILE_SINK_WRITE:
		if (atoll_appender_complete(ctx, &s->out, io) < 0 && s->out.error == io->res)
			atoll__log_error("file-sink: write to %s: %s", s->path,
					 atoll_strerror(s->out.error));
		break;
	case ATOLL_FILE_SINK_FSYNC:
		if (io->res < 0)
			atoll__log_error("file-sink: fsync %s: %s", s->path,
					 atoll_strerror(io->res));
		close_and_finish(ctx, s);
		return;
	case ATOLL_FILE_SINK_CLOSE:
		s->phase = FINISHED;
		if (s->stop_at_end)
			atoll_stop_runtime(ctx);
		return;
	default:
		return;
	}
	maybe_finish(ctx, s);
}

static void file_sink_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct file_sink *s = state;

	switch (msg->type) {
	case ATOLL_LIB_DATA:
		on_data(ctx, s, msg);
		break;
	case ATOLL_LIB_END:
		s->ends_seen++;
		s->end_records += atoll_lib_end_records(msg);
		maybe_finish(ctx, s);
		break;
	case ATOLL_LIB_STATS:
		s->stats.bytes = s->out.bytes;
		atoll_lib_reply_stats(ctx, msg, &s->stats);
		break;
	default:
		on_io(ctx, s, msg);
		break;
	}
}

static void file_sink_stop(atoll_ctx *ctx, void *state)
{
	struct file_sink *s = state;

	(void)ctx;
	/* Stopped before the end (the runtime stopped first): what was not
	 * written is lost, and said so. */
	if (s->phase < CLOSING)
		fprintf(stderr,
			"file-sink: stopped before the end of its input: %" PRIu64
			" records, %" PRIu64 " bytes written to %s\n",
			s->records, s->out.bytes, s->path);
	atoll_appender_free(&s->out);
	if (s->fd >= 0)
		close(s->fd);
	free(s->path);
}

const struct atoll_actor_type atoll_file_sink_type = {
	.name = "file-sink",
	.state_size = sizeof(struct file_sink),
	.init = file_sink_init,
	.receive = file_sink_receive,
	.stop = file_sink_stop,
};

static const struct atoll_param_spec file_sink_params[] = {
	{ "path", ATOLL_PARAM_STRING, NULL, 0, 0, NULL, "the file to write", 0 },
	{ "append", ATOLL_PARAM_BOOL, "no", 0, 0, NULL, "append instead of truncating", 0 },
	{ "ends", ATOLL_PARAM_INT, "1", 1, 1000000, NULL,
	  "ENDs to wait for (one per upstream member)", 0 },
	{ "stop_at_end", ATOLL_PARAM_BOOL, "no", 0, 0, NULL, "stop the runtime after the summary",
	  0 },
	{ "fsync", ATOLL_PARAM_BOOL, "yes", 0, 0, NULL, "fsync before the summary", 0 },
	{ "buffer", ATOLL_PARAM_SIZE, "64k", 4096, 1 << 30, NULL, "write buffer size", 0 },
	{ 0 },
};

static const struct atoll_msg_spec file_sink_accepts[] = {
	{ ATOLL_LIB_DATA, "DATA", "payload + '\\n' appended to the file" },
	{ ATOLL_LIB_END, "END", "after `ends` of them: fsync, summary, close" },
	{ ATOLL_LIB_STATS, "STATS", "in = DATA, out = records, bytes written" },
	{ 0 },
};

static int file_sink_check(const struct atoll_params *p, char *err, size_t errlen)
{
	const char *path = atoll_params_str(p, "path");

	if (path == NULL || path[0] == '\0') {
		snprintf(err, errlen, "parameter 'path': empty");
		return -EINVAL;
	}
	return 0;
}

const struct atoll_type_info atoll_file_sink_info = {
	.type = &atoll_file_sink_type,
	.summary = "appends each record + newline to a file via io_uring; summary at END",
	.params = file_sink_params,
	.accepts = file_sink_accepts,
	.check = file_sink_check,
};
