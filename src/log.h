/*
 * log.h - the runtime's log lines, on stderr, each prefixed "atoll: ".
 * One process-wide level, set by the last runtime started.
 */
#ifndef ATOLL_LOG_H
#define ATOLL_LOG_H

#include <stdatomic.h>

#include "atoll/runtime.h"

/* Written by atoll__log_set_level, read by every atoll__log: relaxed is
 * enough, a log line racing a level change may go either way. */
extern _Atomic int atoll__log_level;

void atoll__log_set_level(int level);

__attribute__((format(printf, 2, 3))) void atoll__log(int level, const char *fmt, ...);

#define atoll__log_error(...) atoll__log(ATOLL_LOG_ERROR, __VA_ARGS__)
#define atoll__log_warn(...) atoll__log(ATOLL_LOG_WARN, __VA_ARGS__)
#define atoll__log_info(...) atoll__log(ATOLL_LOG_INFO, __VA_ARGS__)
#define atoll__log_debug(...) atoll__log(ATOLL_LOG_DEBUG, __VA_ARGS__)

#endif /* ATOLL_LOG_H */
