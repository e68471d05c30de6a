/*
 * kv_cmd.c - atoll-kv's command table, its lookup, and the argument parsers
 * the command functions share.
 *
 * Numbers parse with Redis's rules, so replies to bad input match Redis's
 * byte for byte: integers are the whole argument, digits only, with an
 * optional '-', no '+', no spaces and no leading zeros; floats are whatever
 * strtold takes of the whole argument, except spaces, NaN and overflow.
 */
#include "kv_cmd.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* --- number parsing ---------------------------------------------------- */

/* Longest float argument accepted: Redis's MAX_LONG_DOUBLE_CHARS. */
#define KV_LD_MAX_CHARS (5 * 1024)

/*
 * Reads the digits of p[0..len) as an unsigned value no greater than limit.
 * The first digit must not be '0' (so "0" itself is the caller's business).
 */
static bool parse_digits(const char *p, size_t len, unsigned long long limit,
			 unsigned long long *out)
{
	unsigned long long v = 0;

	if (len == 0 || p[0] < '1' || p[0] > '9')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned d;

		if (p[i] < '0' || p[i] > '9')
			return false;
		d = (unsigned)(p[i] - '0');
		if (v > (limit - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

bool kv_parse_ll(const char *p, size_t len, long long *out)
{
	unsigned long long v;

	if (len == 1 && p[0] == '0') {
		*out = 0;
		return true;
	}
	if (len > 0 && p[0] == '-') {
		/* "-0" fails here, as in Redis: its first digit is '0'. */
		if (!parse_digits(p + 1, len - 1, (unsigned long long)LLONG_MAX + 1, &v))
			return false;
		/* -(v - 1) - 1 reaches LLONG_MIN without overflowing. */
		*out = -(long long)(v - 1) - 1;
		return true;
	}
	if (!parse_digits(p, len, LLONG_MAX, &v))
		return false;
	*out = (long long)v;
	return true;
}

bool kv_parse_ull(const char *p, size_t len, unsigned long long *out)
{
	if (len == 1 && p[0] == '0') {
		*out = 0;
		return true;
	}
	return parse_digits(p, len, ULLONG_MAX, out);
}

/*
 * As Redis's string2ld: strtold must consume the whole argument, which may
 * not start with a space; "inf" is a valid float (commands refuse infinite
 * results themselves), NaN is not, and neither is a value out of range.
 */
bool kv_parse_ld(const char *p, size_t len, long double *out)
{
	char buf[KV_LD_MAX_CHARS];
	char *end;
	long double v;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, p, len);
	buf[len] = '\0';
	if (isspace((unsigned char)buf[0]))
		return false;
	errno = 0;
	v = strtold(buf, &end);
	if ((size_t)(end - buf) != len || errno == EINVAL || isnan(v))
		return false;
	if (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO))
		return false;
	*out = v;
	return true;
}

/* ASCII only: option names are ASCII, and the locale must not matter. */
static inline unsigned char ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

bool kv_arg_is(const struct kv_arg *a, const char *b)
{
	size_t i;

	for (i = 0; i < a->len; i++) {
		if (b[i] == '\0' ||
		    ascii_lower((unsigned char)a->p[i]) != ascii_lower((unsigned char)b[i]))
			return false;
	}
	return b[i] == '\0';
}
