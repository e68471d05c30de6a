/*
 * logger.c - the logger actor: each message becomes one formatted line
 * handed to an appender writing to stderr or to a file opened through
 * io_uring.
 *
 * Invariants: the logger never closes stderr; a file it opened is closed
 * once, by its stop hook.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "appender.h"
#include "log.h"
#include "logger.h"

#define LINE_MAX_TEXT 1024

static const char *const level_names[] = { "", "error", "warn", "info", "debug" };

struct logger {
	struct atoll_appender out;
	char prefix[64];
	int level;
	int fd;
	bool own_fd;
	size_t max;
	struct atoll_lib_stats stats;
};

int atoll_logger_log(atoll_ctx *ctx, atoll_ref logger, int level, const char *fmt, ...)
{
	char text[1 + LINE_MAX_TEXT];
	va_list ap;
	int n;

	if (level < ATOLL_LOG_ERROR || level > ATOLL_LOG_DEBUG)
		return -EINVAL;
	text[0] = (char)level;
	va_start(ap, fmt);
	n = vsnprintf(text + 1, LINE_MAX_TEXT, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if (n >= LINE_MAX_TEXT)
		n = LINE_MAX_TEXT - 1;
	return atoll_tell(ctx, logger, ATOLL_LOGGER_LINE, text, 1 + (size_t)n);
}

static int logger_init(atoll_ctx *ctx, void *state, const void *arg)
{
	const struct atoll_params *p = arg;
	struct logger *l = state;
	const char *path = atoll_params_str(p, "path");
	const char *prefix = atoll_params_str(p, "prefix");
	const char *group = atoll_params_group_name(p);
	struct atoll_io *io;
	int rc;

	if (prefix == NULL || prefix[0] == '\0')
		prefix = group != NULL && group[0] != '\0' ? group : "log";
	snprintf(l->prefix, sizeof(l->prefix), "%s", prefix);
	l->level = (int)atoll_params_int(p, "level") + ATOLL_LOG_ERROR;
	l->max = (size_t)atoll_params_int(p, "max");
	l->fd = -1;
	atoll_appender_init(&l->out, ATOLL_LOGGER_WRITE, 0);
	if (path == NULL || path[0] == '\0') {
		l->fd = STDERR_FILENO;
		atoll_appender_set_fd(ctx, &l->out, l->fd);
		return 0;
	}
	io = atoll_io_new(ATOLL_LOGGER_OPEN, strlen(path) + 1);
	if (io == NULL)
		return -ENOMEM;
	memcpy(io->msg.data, path, strlen(path) + 1);
	io->msg.len = (uint32_t)strlen(path) + 1;
	rc = atoll_io_open(ctx, io, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (rc < 0)
		atoll__log_error("logger: cannot open %s: %s", path, atoll_strerror(rc));
	return rc;
}

/* Appends "<level> <prefix>: " + text (escaped when escape) + '\n'. */
static void emit(atoll_ctx *ctx, struct logger *l, int level, const char *text, size_t len,
		 bool escape)
{
	char line[64 + 64 + 4 * LINE_MAX_TEXT + 1];
	size_t n;

	if (level > l->level) {
		l->stats.dropped++;
		return;
	}
	n = (size_t)snprintf(line, 128, "%s %s: ", level_names[level], l->prefix);
	if (n > 127)
		n = 127;
	if (len > LINE_MAX_TEXT)
		len = LINE_MAX_TEXT;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)text[i];

		if (escape && (ch < 0x20 || ch >= 0x7f || ch == '\\')) {
			n += (size_t)snprintf(line + n, 5, "\\x%02x", ch);
		} else {
			line[n++] = (char)ch;
		}
	}
	if (atoll_appender_append(ctx, &l->out, line, n, true) < 0) {
		l->stats.dropped++;
		return;
	}
	l->stats.out++;
	l->stats.bytes += n + 1;
}

static void logger_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct logger *l = state;
	struct atoll_io *io;
	char summary[96];
	int n;

	switch (msg->type) {
	case ATOLL_LOGGER_OPEN:
		io = atoll_io_of(msg);
		if (io == NULL)
			return;
		if (io->res < 0) {
			atoll__log_error("logger: cannot open its file: %s",
					 atoll_strerror(io->res));
			l->fd = STDERR_FILENO; /* better on stderr than nowhere */
		} else {
			l->fd = io->res;
			l->own_fd = true;
		}
		atoll_appender_set_fd(ctx, &l->out, l->fd);
		return;
	case ATOLL_LOGGER_WRITE:
		io = atoll_io_of(msg);
		if (io != NULL && atoll_appender_complete(ctx, &l->out, io) < 0)
			fprintf(stderr, "logger: write failed: %s\n", atoll_strerror(l->out.error));
		return;
	case ATOLL_LIB_STATS:
		atoll_lib_reply_stats(ctx, msg, &l->stats);
		return;
	default:
		break;
	}
	l->stats.in++;
	if (msg->type == ATOLL_LOGGER_LINE && msg->len >= 1) {
		int level = ((const char *)msg->data)[0];

		if (level < ATOLL_LOG_ERROR || level > ATOLL_LOG_DEBUG)
			level = ATOLL_LOG_INFO;
		emit(ctx, l, level, (const char *)msg->data + 1, msg->len - 1, false);
	} else if (msg->type == ATOLL_LIB_DATA) {
		emit(ctx, l, ATOLL_LOG_INFO, msg->data, msg->len < l->max ? msg->len : l->max,
		     true);
	} else {
		n = snprintf(summary, sizeof(summary),
			     "message type 0x%" PRIx32 ", %" PRIu32 " bytes", msg->type, msg->len);
		emit(ctx, l, ATOLL_LOG_DEBUG, summary, (size_t)n, false);
	}
}

/* At stop: what waits is written synchronously, unless a write is in
 * flight (writing now could reorder lines). */
static void logger_stop(atoll_ctx *ctx, void *state)
{
	struct logger *l = state;
	struct atoll_appender *a = &l->out;
	uint64_t lost = 0;

	(void)ctx;
	if (!a->inflight && a->fd >= 0 && a->error == 0) {
		for (size_t i = 0; i < a->qlen; i++) {
			struct atoll_io *io = a->queue[(a->qhead + i) % a->qcap];

			if (write(a->fd, io->msg.data, io->msg.len) < 0)
				break;
		}
		if (a->cur != NULL && a->cur->msg.len > 0 &&
		    write(a->fd, a->cur->msg.data, a->cur->msg.len) < 0)
			lost++;
	} else if (!atoll_appender_idle(a)) {
		lost = 1;
	}
	if (lost)
		fprintf(stderr, "logger %s: lines still buffered at stop were lost\n", l->prefix);
	atoll_appender_free(a);
	if (l->own_fd)
		close(l->fd);
}

const struct atoll_actor_type atoll_logger_type = {
	.name = "logger",
	.state_size = sizeof(struct logger),
	.init = logger_init,
	.receive = logger_receive,
	.stop = logger_stop,
};

static const struct atoll_param_spec logger_params[] = {
	{ "path", ATOLL_PARAM_STRING, "", 0, 0, NULL, "file to append to (empty: stderr)", 0 },
	{ "level", ATOLL_PARAM_ENUM, "info", 0, 0, "error|warn|info|debug",
	  "most verbose level written", 0 },
	{ "prefix", ATOLL_PARAM_STRING, "", 0, 0, NULL, "line prefix (empty: group name)", 0 },
	{ "max", ATOLL_PARAM_INT, "256", 1, LINE_MAX_TEXT, NULL, "DATA bytes shown at most", 0 },
	{ 0 },
};

static const struct atoll_msg_spec logger_accepts[] = {
	{ ATOLL_LOGGER_LINE, "LINE", "level byte + text: written if the level allows" },
	{ ATOLL_LIB_DATA, "DATA", "payload written at info, escaped" },
	{ ATOLL_LIB_STATS, "STATS", "in, out = lines written, dropped = filtered" },
	{ 0 },
};

const struct atoll_type_info atoll_logger_info = {
	.type = &atoll_logger_type,
	.summary = "writes log lines (and DATA, or any message summarised) to stderr or a file",
	.params = logger_params,
	.accepts = logger_accepts,
};
