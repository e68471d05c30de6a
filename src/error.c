/*
 * error.c - atoll_strerror: errors are negative errno values throughout.
 */
#define _GNU_SOURCE
#include "atoll/error.h"

#include <limits.h>
#include <string.h>

const char *atoll_strerror(int err)
{
	if (err >= 0)
		return "success";
	/* strerror() may share a buffer across threads for unknown values;
	 * strerrordesc_np (glibc 2.32+) returns a static string or NULL. */
	if (err == INT_MIN)
		return "unknown error";
	const char *s = strerrordesc_np(-err);
	return s != NULL ? s : "unknown error";
}
