/*
 * resp_value.c - framing of RESP replies (resp.h's resp_value_len): how long
 * the one complete RESP2 or RESP3 value at the front of a buffer is, to split
 * a shard's concatenated replies.
 *
 * The walk is iterative with a single count of values still expected (an
 * aggregate's header adds its elements to it), so nesting costs no stack and
 * crafted input cannot exhaust it. Each header line is searched once and bulk
 * data is jumped over, so the walk is linear in the value's size. Anything
 * incomplete, malformed or not supported (RESP3 streamed types) gives 0.
 */
#include "resp.h"

#include <string.h>

static bool all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* An integer (':' and '(' lines): an optional sign, then digits. */
static bool is_integer(const char *s, size_t n)
{
	if (n > 0 && (s[0] == '-' || s[0] == '+'))
		return all_digits(s + 1, n - 1);
	return all_digits(s, n);
}

/* A RESP3 double: [sign] digits [. digits] [e [sign] digits], or inf/nan. */
static bool is_double(const char *s, size_t n)
{
	size_t i = 0, digits;

	if (n > 0 && (s[0] == '-' || s[0] == '+'))
		i = 1;
	if ((n - i == 3 && memcmp(s + i, "inf", 3) == 0) || (n == 3 && memcmp(s, "nan", 3) == 0))
		return true;
	for (digits = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		digits++;
	if (digits == 0)
		return false;
	if (i < n && s[i] == '.') {
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			i++;
		if (!all_digits(s + i, n - i))
			return false;
		i = n;
	}
	return i == n;
}

/*
 * The length or count of a bulk or aggregate header: digits, or "-1" (a
 * RESP2 null) when null_ok. Values over limit are refused: they cannot fit
 * in what is left of the buffer anyway, and the refusal keeps the sums below
 * from overflowing. Returns false when malformed or too big.
 */
static bool header_count(const char *s, size_t n, bool null_ok, size_t limit, size_t *count,
			 bool *null)
{
	size_t v = 0;

	*null = false;
	if (null_ok && n == 2 && s[0] == '-' && s[1] == '1') {
		*null = true;
		*count = 0;
		return true;
	}
	if (!all_digits(s, n))
		return false;
	for (size_t i = 0; i < n; i++) {
		v = v * 10 + (size_t)(s[i] - '0');
		if (v > limit)
			return false;
	}
	*count = v;
	return true;
}

size_t resp_value_len(const char *p, size_t n)
{
	size_t pos = 0, pending = 1; /* values still to read */

	while (pending > 0) {
		const char *line, *cr;
		size_t line_len, next, count;
		bool null;

		if (pos >= n)
			return 0;
		line = p + pos + 1;
		cr = memchr(line, '\r', n - pos - 1);
		if (!cr || (size_t)(cr - p) + 1 >= n || cr[1] != '\n')
			return 0;
		line_len = (size_t)(cr - line);
		next = (size_t)(cr - p) + 2;
		pending--;
		switch (p[pos]) {
		case '+':
		case '-':
			if (memchr(line, '\n', line_len))
				return 0;
			break;
		case ':':
		case '(':
			if (!is_integer(line, line_len) || (p[pos] == ':' && line_len > 20))
				return 0;
			break;
		case '_':
			if (line_len != 0)
				return 0;
			break;
		case '#':
			if (line_len != 1 || (line[0] != 't' && line[0] != 'f'))
				return 0;
			break;
		case ',':
			if (!is_double(line, line_len))
				return 0;
			break;
		case '$':
		case '!':
		case '=':
			/* The data and its CRLF must fit in what is left. */
			if (!header_count(line, line_len, p[pos] == '$', n - next, &count, &null))
				return 0;
			if (null)
				break;
			if (n - next - count < 2 || p[next + count] != '\r' ||
			    p[next + count + 1] != '\n')
				return 0;
			if (p[pos] == '=' && (count < 4 || p[next + 3] != ':'))
				return 0;
			next += count + 2;
			break;
		case '*':
		case '~':
		case '>':
		case '%':
		case '|':
			/* Every element takes 3 bytes at least, so more than that
			 * cannot be complete: that bound keeps pending small. */
			if (!header_count(line, line_len, p[pos] == '*', (n - next) / 3, &count,
					  &null))
				return 0;
			if (p[pos] == '%' || p[pos] == '|')
				count *= 2;
			/* An attribute annotates the value that follows it. */
			if (p[pos] == '|')
				count++;
			pending += count;
			if (pending > (n - next) / 3)
				return 0;
			break;
		default:
			return 0;
		}
		pos = next;
	}
	return pos;
}
