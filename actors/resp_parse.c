/*
 * resp_parse.c - the incremental RESP request parser of resp.h: multibulk and
 * inline commands, with Redis 7.0's limits and error strings.
 *
 * Invariants: buf[0] is the first byte of the command being parsed. p->pos is
 * where the next unread element starts (a header line, or a bulk's data once
 * p->bulk_len >= 0), and p->scan >= p->pos is how far the current line has
 * been searched for its end, so however the command is split across calls
 * each byte is searched once and a bulk's data not at all: parsing is linear.
 * p->scan is 0 only between commands. Arguments point into buf (multibulk) or
 * into p->scratch (inline) and stay valid until the next call.
 */
#include "resp.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A declared count reserves at most this many arguments up front: the rest
 * grow as they arrive, so "*1000000\r\n" alone costs no 16 MB. */
#define ARGS_FIRST_MAX 1024u
/* Memory kept between commands; a bigger command's is given back. */
#define ARGS_KEEP 1024u
#define SCRATCH_KEEP (64u * 1024u)

static const char err_inline_big[] = "Protocol error: too big inline request";
static const char err_quotes[] = "Protocol error: unbalanced quotes in request";
static const char err_mbulk_len[] = "Protocol error: invalid multibulk length";
static const char err_mbulk_big[] = "Protocol error: too big mbulk count string";
static const char err_bulk_len[] = "Protocol error: invalid bulk length";
static const char err_bulk_big[] = "Protocol error: too big bulk count string";
static const char err_oom[] = "out of memory";

/*
 * "Protocol error: expected '$', got 'x'" for every byte x, built at compile
 * time so p->error stays a static string. As with Redis's "%c", the byte is
 * written raw (a CR or LF becomes a space when the reply writer sends it; a
 * NUL ends the string there).
 */
#define EXPECTED_DOLLAR(c)                                                                      \
	{                                                                                       \
		'P', 'r', 'o', 't', 'o', 'c', 'o', 'l', ' ', 'e', 'r', 'r', 'o', 'r', ':', ' ', \
			'e', 'x', 'p', 'e', 'c', 't', 'e', 'd', ' ', '\'', '$', '\'', ',', ' ', \
			'g', 'o', 't', ' ', '\'', (char)(c), '\'', '\0'                         \
	}
#define EXPECTED_DOLLAR4(c)                                                     \
	EXPECTED_DOLLAR(c), EXPECTED_DOLLAR((c) + 1), EXPECTED_DOLLAR((c) + 2), \
		EXPECTED_DOLLAR((c) + 3)
#define EXPECTED_DOLLAR16(c)                                                       \
	EXPECTED_DOLLAR4(c), EXPECTED_DOLLAR4((c) + 4), EXPECTED_DOLLAR4((c) + 8), \
		EXPECTED_DOLLAR4((c) + 12)
#define EXPECTED_DOLLAR64(c)                                                            \
	EXPECTED_DOLLAR16(c), EXPECTED_DOLLAR16((c) + 16), EXPECTED_DOLLAR16((c) + 32), \
		EXPECTED_DOLLAR16((c) + 48)

static const char expected_dollar[256][38] = { EXPECTED_DOLLAR64(0), EXPECTED_DOLLAR64(64),
					       EXPECTED_DOLLAR64(128), EXPECTED_DOLLAR64(192) };

void resp_parser_init(struct resp_parser *p, unsigned long long max_bulk)
{
	memset(p, 0, sizeof(*p));
	p->max_bulk = max_bulk ? max_bulk : RESP_MAX_BULK_DEFAULT;
	p->want_args = -1;
	p->bulk_len = -1;
}

void resp_parser_free(struct resp_parser *p)
{
	free(p->args);
	free(p->scratch);
	resp_parser_init(p, p->max_bulk);
}

/* Forgets the command just returned (its arguments were valid until now). */
static void begin_command(struct resp_parser *p, const char *buf)
{
	p->nargs = 0;
	p->scratch_len = 0;
	p->error = NULL;
	p->is_inline = buf[0] != '*';
	if (p->args_cap > ARGS_KEEP) {
		free(p->args);
		p->args = NULL;
		p->args_cap = 0;
	}
	if (p->scratch_cap > SCRATCH_KEEP) {
		free(p->scratch);
		p->scratch = NULL;
		p->scratch_cap = 0;
	}
}

/* Ends the command: the next call starts a new one. nargs and the arguments
 * are kept for the caller. */
static void end_command(struct resp_parser *p)
{
	p->pos = 0;
	p->scan = 0;
	p->want_args = -1;
	p->bulk_len = -1;
}

static enum resp_status done(struct resp_parser *p, size_t end, size_t *used)
{
	*used = end;
	end_command(p);
	return RESP_DONE;
}

static enum resp_status fail(struct resp_parser *p, const char *error)
{
	p->error = error;
	p->nargs = 0;
	end_command(p);
	return RESP_ERROR;
}

static bool args_reserve(struct resp_parser *p, size_t n)
{
	struct resp_arg *args;

	if (n <= p->args_cap)
		return true;
	if (n > SIZE_MAX / sizeof(*args))
		return false;
	args = realloc(p->args, n * sizeof(*args));
	if (!args)
		return false;
	p->args = args;
	p->args_cap = n;
	return true;
}

/* Appends an argument, doubling the array when full; a multibulk's array
 * never grows past its declared count. */
static bool push_arg(struct resp_parser *p, size_t off, size_t len)
{
	if (p->nargs == p->args_cap) {
		size_t cap = p->args_cap ? p->args_cap * 2 : 8;

		if (p->want_args > 0 && cap > (size_t)p->want_args)
			cap = (size_t)p->want_args;
		if (!args_reserve(p, cap))
			return false;
	}
	p->args[p->nargs].off = off;
	p->args[p->nargs].len = len;
	p->nargs++;
	return true;
}

/*
 * Parses s[0..n) as Redis's string2ll does: an optional '-', then digits
 * with no leading zero ("0" alone is fine), nothing else (no '+', no
 * spaces), within a long long. Returns false otherwise.
 */
static bool parse_ll(const char *s, size_t n, long long *out)
{
	unsigned long long v = 0, limit = LLONG_MAX;
	size_t i = 0;
	bool negative = false;

	if (n == 1 && s[0] == '0') {
		*out = 0;
		return true;
	}
	if (n > 0 && s[0] == '-') {
		negative = true;
		limit = (unsigned long long)LLONG_MAX + 1;
		i = 1;
	}
	if (i == n || s[i] < '1' || s[i] > '9')
		return false;
	for (; i < n; i++) {
		unsigned digit = (unsigned)(unsigned char)s[i] - '0';

		if (digit > 9 || v > (limit - digit) / 10)
			return false;
		v = v * 10 + digit;
	}
	/* -(v - 1) - 1 reaches LLONG_MIN without overflowing. */
	*out = negative ? -(long long)(v - 1) - 1 : (long long)v;
	return true;
}

/*
 * Finds the end of the header line starting at p->pos. Like Redis, the line
 * ends at its first CR, and the byte after the CR is taken as the LF without
 * looking at it. Returns 1 with *cr set, 0 when more bytes are needed, -1
 * when more than RESP_MAX_INLINE bytes precede the CR (Redis refuses a
 * buffer holding that many without one; counting before the CR, rather than
 * in whatever the caller has buffered, makes the answer the same however the
 * bytes were split).
 */
static int find_header_end(struct resp_parser *p, const char *buf, size_t len, size_t *cr)
{
	const char *r = memchr(buf + p->scan, '\r', len - p->scan);
	size_t end = r ? (size_t)(r - buf) : len;

	if (end - p->pos > RESP_MAX_INLINE)
		return -1;
	if (!r || end + 1 >= len) {
		p->scan = end;
		return 0;
	}
	*cr = end;
	return 1;
}

static enum resp_status parse_multibulk(struct resp_parser *p, const char *buf, size_t len,
					size_t *used)
{
	long long ll;
	size_t cr, avail;
	int found;

	if (p->want_args < 0) {
		found = find_header_end(p, buf, len, &cr);
		if (found <= 0)
			return found < 0 ? fail(p, err_mbulk_big) : RESP_MORE;
		if (!parse_ll(buf + 1, cr - 1, &ll) || ll > (long long)RESP_MAX_ARGS)
			return fail(p, err_mbulk_len);
		p->pos = p->scan = cr + 2;
		if (ll <= 0)
			return done(p, p->pos, used);
		p->want_args = ll;
		if (!args_reserve(p, ll < ARGS_FIRST_MAX ? (size_t)ll : ARGS_FIRST_MAX))
			return fail(p, err_oom);
	}
	while (p->nargs < (size_t)p->want_args) {
		if (p->bulk_len < 0) {
			found = find_header_end(p, buf, len, &cr);
			if (found <= 0)
				return found < 0 ? fail(p, err_bulk_big) : RESP_MORE;
			if (buf[p->pos] != '$')
				return fail(p, expected_dollar[(unsigned char)buf[p->pos]]);
			if (!parse_ll(buf + p->pos + 1, cr - p->pos - 1, &ll) || ll < 0 ||
			    (unsigned long long)ll > p->max_bulk)
				return fail(p, err_bulk_len);
			p->bulk_len = ll;
			p->pos = p->scan = cr + 2;
		}
		/* The data, then 2 bytes skipped unread, as Redis does. */
		avail = len - p->pos;
		if (avail < 2 || avail - 2 < (size_t)p->bulk_len)
			return RESP_MORE;
		if (!push_arg(p, p->pos, (size_t)p->bulk_len))
			return fail(p, err_oom);
		p->pos += (size_t)p->bulk_len + 2;
		p->scan = p->pos;
		p->bulk_len = -1;
	}
	return done(p, p->pos, used);
}

bool resp_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The byte a backslash escape inside double quotes stands for. */
static char unescape(char c)
{
	switch (c) {
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	case 'b':
		return '\b';
	case 'a':
		return '\a';
	default:
		return c; /* \\, \" and any other byte stand for themselves */
	}
}

long resp_inline_arg(const char *s, size_t n, size_t *i, char *out)
{
	size_t k = *i, len = 0;
	char quote = 0;

	while (k < n) {
		char c = s[k];

		if (!quote) {
			if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
				break;
			if (c == '"' || c == '\'')
				quote = c;
			else
				out[len++] = c;
			k++;
		} else if (c == '\\' && quote == '"' && k + 3 < n && s[k + 1] == 'x' &&
			   hex_value(s[k + 2]) >= 0 && hex_value(s[k + 3]) >= 0) {
			out[len++] = (char)(hex_value(s[k + 2]) * 16 + hex_value(s[k + 3]));
			k += 4;
		} else if (c == '\\' && quote == '"' && k + 1 < n) {
			out[len++] = unescape(s[k + 1]);
			k += 2;
		} else if (c == '\\' && quote == '\'' && k + 1 < n && s[k + 1] == '\'') {
			out[len++] = '\'';
			k += 2;
		} else if (c == quote) {
			if (k + 1 < n && !resp_is_blank(s[k + 1]))
				return -1;
			*i = k + 1;
			return (long)len;
		} else {
			out[len++] = c;
			k++;
		}
	}
	*i = k;
	return quote ? -1 : (long)len;
}

int resp_split_args(const char *line, size_t n, struct resp_word *w, int max, char *buf)
{
	size_t i = 0, used = 0;
	int count = 0;

	for (;;) {
		long len;

		while (i < n && resp_is_blank(line[i]))
			i++;
		if (i == n)
			return count;
		len = resp_inline_arg(line, n, &i, buf + used);
		if (len < 0)
			return -EINVAL;
		if (count < max)
			w[count] = (struct resp_word){ buf + used, (size_t)len };
		used += (size_t)len;
		count++;
	}
}

/* Splits the line s[0..n) into arguments in the scratch space. Returns 0, or
 * -1 for unbalanced quotes, -2 when out of memory. */
static int split_inline(struct resp_parser *p, const char *s, size_t n)
{
	size_t i = 0, start;

	/* Unquoting never lengthens an argument: the line's size is enough. */
	if (n > p->scratch_cap) {
		char *scratch = realloc(p->scratch, n);

		if (!scratch)
			return -2;
		p->scratch = scratch;
		p->scratch_cap = n;
	}
	for (;;) {
		long len;

		while (i < n && resp_is_blank(s[i]))
			i++;
		if (i == n)
			return 0;
		start = p->scratch_len;
		len = resp_inline_arg(s, n, &i, p->scratch + start);
		if (len < 0)
			return -1;
		p->scratch_len += (size_t)len;
		if (!push_arg(p, start, (size_t)len))
			return -2;
	}
}

/*
 * An inline command is one line up to LF (a CR just before it is dropped).
 * It is too big when more than RESP_MAX_INLINE bytes are held without a LF
 * (Redis's rule, so it depends on how the reads were split).
 */
static enum resp_status parse_inline(struct resp_parser *p, const char *buf, size_t len,
				     size_t *used)
{
	const char *lf = memchr(buf + p->scan, '\n', len - p->scan);
	size_t end = lf ? (size_t)(lf - buf) : len;
	size_t line_len = end;
	int split;

	if (!lf) {
		/* Redis's rule: too big only while no line end has come, so a
		 * line that ends in the read that takes it past the limit is
		 * still served; with 16 KiB reads no line passes 80 KiB. */
		if (len > RESP_MAX_INLINE)
			return fail(p, err_inline_big);
		p->scan = len;
		return RESP_MORE;
	}
	if (line_len > 0 && buf[line_len - 1] == '\r')
		line_len--;
	split = split_inline(p, buf, line_len);
	if (split < 0)
		return fail(p, split == -1 ? err_quotes : err_oom);
	return done(p, end + 1, used);
}

enum resp_status resp_parse(struct resp_parser *p, const char *buf, size_t len, size_t *used)
{
	*used = 0;
	if (len == 0)
		return RESP_MORE;
	if (p->scan == 0)
		begin_command(p, buf);
	/* The caller must give back at least the bytes it gave before. */
	assert(p->scan <= len && p->pos <= len);
	return p->is_inline ? parse_inline(p, buf, len, used) : parse_multibulk(p, buf, len, used);
}

size_t resp_parser_need(const struct resp_parser *p)
{
	if (p->bulk_len >= 0)
		return p->pos + (size_t)p->bulk_len + 2;
	/* An inline line needs its LF; a header line its CR and LF. */
	return p->scan + (p->is_inline ? 1 : 2);
}
