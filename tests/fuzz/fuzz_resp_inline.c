/*
 * fuzz_resp_inline.c - libFuzzer target for the inline command parser
 * (parse_inline and split_inline in actors/resp_parse.c): "SET k v\r\n",
 * with sdssplitargs's quoting rules.
 *
 * The input is made an inline request (a leading '*' becomes a space) and
 * parsed line by line. For each line parsed: every argument lies inside the
 * parser's scratch space; a line without quotes splits exactly as a plain
 * reference split does (separators space, tab, CR, LF; \v and \f skipped
 * between arguments only); and the arguments, written back as one line of
 * double-quoted \xHH escapes, parse again to the same arguments. Any crash,
 * leak, UB or mismatch is a finding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"

#define MAX_LINES 64

static bool is_sep(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_space(char c)
{
	return is_sep(c) || c == '\v' || c == '\f';
}

/* The line's content: up to the LF, without a CR just before it. */
static size_t content_len(const char *line, size_t used)
{
	size_t n = used - 1; /* the LF */

	if (n > 0 && line[n - 1] == '\r')
		n--;
	return n;
}

/* The reference split of a line without quotes, compared argument by
 * argument with what the parser returned. */
static void check_plain(const struct resp_parser *p, const char *line, size_t n)
{
	size_t i = 0, k = 0;

	for (;;) {
		size_t start, len;
		const char *a;

		while (i < n && is_space(line[i]))
			i++;
		if (i == n)
			break;
		start = i;
		while (i < n && !is_sep(line[i]))
			i++;
		if (k >= p->nargs)
			abort();
		a = resp_parser_arg(p, line, k, &len);
		if (len != i - start || memcmp(a, line + start, len) != 0)
			abort();
		k++;
	}
	if (k != p->nargs)
		abort();
}

/* Writes the arguments back as one quoted inline line and parses it. */
static void check_round_trip(const struct resp_parser *p, const char *buf)
{
	static const char hex[] = "0123456789abcdef";
	struct resp_parser q;
	size_t cap = 2, len = 0, used;
	char *line;

	for (size_t i = 0; i < p->nargs; i++)
		cap += p->args[i].len * 4 + 3;
	line = malloc(cap);
	if (line == NULL)
		return;
	for (size_t i = 0; i < p->nargs; i++) {
		size_t alen;
		const unsigned char *a = (const unsigned char *)resp_parser_arg(p, buf, i, &alen);

		line[len++] = '"';
		for (size_t k = 0; k < alen; k++) {
			line[len++] = '\\';
			line[len++] = 'x';
			line[len++] = hex[a[k] >> 4];
			line[len++] = hex[a[k] & 15];
		}
		line[len++] = '"';
		line[len++] = ' ';
	}
	line[len++] = '\r';
	line[len++] = '\n';
	resp_parser_init(&q, 0);
	/* A line longer than the inline limit is refused; nothing to compare. */
	if (resp_parse(&q, line, len, &used) == RESP_DONE) {
		if (used != len || q.nargs != p->nargs)
			abort();
		for (size_t i = 0; i < p->nargs; i++) {
			size_t l1, l2;
			const char *a1 = resp_parser_arg(p, buf, i, &l1);
			const char *a2 = resp_parser_arg(&q, line, i, &l2);

			if (l1 != l2 || memcmp(a1, a2, l1) != 0)
				abort();
		}
	} else if (len <= RESP_MAX_INLINE) {
		abort();
	}
	resp_parser_free(&q);
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct resp_parser p;
	size_t off = 0;
	char *copy;

	if (size == 0)
		return 0;
	copy = malloc(size);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	resp_parser_init(&p, 0);
	for (int n = 0; n < MAX_LINES && off < size; n++) {
		const char *line = copy + off;
		size_t used = 0, clen;
		enum resp_status st;

		if (line[0] == '*')
			copy[off] = ' ';
		st = resp_parse(&p, line, size - off, &used);
		if (st != RESP_DONE)
			break;
		if (!p.is_inline || used == 0 || used > size - off || line[used - 1] != '\n')
			abort();
		for (size_t i = 0; i < p.nargs; i++) {
			if (p.args[i].off > p.scratch_len ||
			    p.args[i].len > p.scratch_len - p.args[i].off)
				abort();
		}
		clen = content_len(line, used);
		if (memchr(line, '"', clen) == NULL && memchr(line, '\'', clen) == NULL)
			check_plain(&p, line, clen);
		check_round_trip(&p, line);
		off += used;
	}
	resp_parser_free(&p);
	free(copy);
	return 0;
}
