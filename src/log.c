/*
 * log.c - formats one log line and writes it to stderr with a single
 * write(2), so lines from different reactors never interleave mid-line.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

_Atomic int atoll__log_level = ATOLL_LOG_WARN;

void atoll__log_set_level(int level)
{
	atomic_store_explicit(&atoll__log_level, level, memory_order_relaxed);
}

void atoll__log(int level, const char *fmt, ...)
{
	static const char *const names[] = { "", "error", "warning", "info", "debug" };
	char line[512];
	va_list ap;
	int n;

	if (level > atomic_load_explicit(&atoll__log_level, memory_order_relaxed))
		return;
	n = snprintf(line, sizeof(line), "atoll: %s: ",
		     names[level < 1   ? 1
			   : level > 4 ? 4
				       : level]);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return; /* Nowhere left to report a failed log write. */
}
