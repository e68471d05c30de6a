/*
 * logger.h - writes log lines to stderr or a file, through the reactor's
 * io_uring (an appender: actors/appender.h), so actors on any core log
 * without blocking and lines from one sender stay in order.
 *
 * Each line is "<level> <prefix>: <text>\n". What it writes:
 *   ATOLL_LOGGER_LINE  a line at a level (atoll_logger_log builds one);
 *                      lines above `level` are dropped (counted)
 *   ATOLL_LIB_DATA     the payload, at info, non-printable bytes as \xNN,
 *                      cut at `max` bytes
 *   anything else      a summary: "message type 0x10002, 8 bytes", at debug
 *
 * Parameters:
 *   path    STRING  the file to append to (default "": stderr)
 *   level   ENUM    error|warn|info|debug: the most verbose level written
 *                   (default info)
 *   prefix  STRING  (default: the group's name, or "log")
 *   max     INT     bytes of a DATA payload shown (default 256)
 *
 * At stop, lines still buffered are written synchronously when no write is
 * in flight, else dropped (the count is said on stderr).
 *
 * Accepts ATOLL_LIB_STATS (in = messages, out = lines written, bytes,
 * dropped = lines filtered out or lost).
 */
#ifndef ATOLL_LOGGER_H
#define ATOLL_LOGGER_H

#include "lib_msg.h"

#ifdef __cplusplus
extern "C" {
#endif

enum atoll_logger_msg {
	/* Payload: one byte, the level (enum atoll_log_level, 1 = error ..
	 * 4 = debug), then the text (no '\n'). */
	ATOLL_LOGGER_LINE = ATOLL_LIB_MSG_BLOCK(4),
	/* Completions of its own I/O. Internal. */
	ATOLL_LOGGER_OPEN,
	ATOLL_LOGGER_WRITE,
};

/*
 * Formats a line (printf-style, at most 1024 bytes) at level (ATOLL_LOG_ERROR
 * .. ATOLL_LOG_DEBUG) and sends it to the logger actor `logger`. Call on a
 * reactor thread (from an actor). Returns as atoll_send, -EINVAL for a bad
 * level, or -ENOMEM.
 */
__attribute__((format(printf, 4, 5))) int atoll_logger_log(atoll_ctx *ctx, atoll_ref logger,
							   int level, const char *fmt, ...);

/* The logger actor type; its init takes a const struct atoll_params *. */
extern const struct atoll_actor_type atoll_logger_type;
/* Its description for topologies and `atoll list`. */
extern const struct atoll_type_info atoll_logger_info;

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_LOGGER_H */
