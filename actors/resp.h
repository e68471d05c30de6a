/*
 * resp.h - the Redis protocol (RESP2 and RESP3): an incremental request
 * parser with Redis's limits and error strings, and a reply writer.
 *
 * The parser reads commands, multibulk ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n") or
 * inline ("GET k\r\n"), from the front of a contiguous input buffer. A
 * command split across reads at any byte is resumed where it stopped: the
 * caller appends the new bytes after the old ones (the command's first
 * byte stays at buf[0]) and calls again, and the parser does not rescan
 * what it already read. Plain C, no runtime dependency, so it can be
 * fuzzed on its own.
 */
#ifndef ATOLL_RESP_H
#define ATOLL_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* --- reply writer ---------------------------------------------------- */

/*
 * A growable output buffer of RESP replies, written for one protocol
 * version. When memory runs out the writer sets oom and ignores further
 * writes, so callers check once at the end instead of after each add.
 */
struct resp_out {
	char *data;
	size_t len;
	size_t cap;
	uint8_t proto; /* 2 or 3 */
	bool oom;
};

void resp_out_init(struct resp_out *o, uint8_t proto);
/* Frees the buffer; o is then as after init (same proto). */
void resp_out_free(struct resp_out *o);
/* Empties the buffer, keeping its memory; clears oom. */
void resp_out_reset(struct resp_out *o);
/* Makes room for extra more bytes. Returns false (and sets oom) when out of
 * memory. */
bool resp_out_reserve(struct resp_out *o, size_t extra);
/* Hands the buffer to the caller (free it with free()); *len and *cap get
 * its sizes. o is then empty, as after init. Returns NULL when empty. */
char *resp_out_detach(struct resp_out *o, size_t *len, size_t *cap);

/* Bytes as they are (an already encoded reply, e.g. from a shard). */
void resp_add_raw(struct resp_out *o, const void *p, size_t n);
/* "+s\r\n". */
void resp_add_status(struct resp_out *o, const char *s);
/* "-s\r\n": s carries the code, e.g. "ERR syntax error" or "WRONGTYPE ...".
 * A CR or LF inside s is written as a space (a reply must stay one line). */
void resp_add_error(struct resp_out *o, const char *s);
void resp_add_errorf(struct resp_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* ":v\r\n". */
void resp_add_int(struct resp_out *o, long long v);
/* "$n\r\n<bytes>\r\n". */
void resp_add_bulk(struct resp_out *o, const void *p, size_t n);
void resp_add_bulk_cstr(struct resp_out *o, const char *s);
/* A bulk string of the decimal integer v (e.g. INCRBYFLOAT's, SCAN's
 * cursor). */
void resp_add_bulk_ll(struct resp_out *o, long long v);
/* The null bulk: "$-1\r\n" in RESP2, "_\r\n" in RESP3. */
void resp_add_null(struct resp_out *o);
/* The null array: "*-1\r\n" in RESP2, "_\r\n" in RESP3. */
void resp_add_null_array(struct resp_out *o);
/* Headers of aggregates; the n (or 2n for maps) elements follow. */
void resp_add_array(struct resp_out *o, size_t n);
/* "%n" in RESP3; in RESP2 a flat array of 2n. */
void resp_add_map(struct resp_out *o, size_t n);
/* "~n" in RESP3; "*n" in RESP2. */
void resp_add_set(struct resp_out *o, size_t n);
/* ",<d>" in RESP3 (inf, -inf, nan as RESP3 spells them); a bulk string
 * in RESP2. Formatted as Redis 7.0 does: "%.17g" (0.1 is
 * "0.10000000000000001"; Redis 7.2 moved to the shortest exact form). */
void resp_add_double(struct resp_out *o, double d);
/* "#t"/"#f" in RESP3; ":1"/":0" in RESP2. */
void resp_add_bool(struct resp_out *o, bool b);
/* A verbatim string "=<n+4>\r\n<fmt>:<bytes>\r\n" in RESP3 (fmt is three
 * letters, "txt"); a bulk string in RESP2. INFO and CLIENT LIST use it. */
void resp_add_verbatim(struct resp_out *o, const char *fmt, const void *p, size_t n);

/*
 * Returns the length of the one complete RESP value (of any type, RESP2 or
 * RESP3, aggregates included) at the start of p[0..n), or 0 when p does not
 * start with a complete, well-formed value. For splitting a shard's
 * concatenated replies.
 */
size_t resp_value_len(const char *p, size_t n);

/* --- request parser -------------------------------------------------- */

/* What separates inline arguments: C's isspace() in the "C" locale, as
 * Redis's sdssplitargs uses. */
bool resp_is_blank(char c);

/*
 * Reads one argument of Redis's inline syntax (sdssplitargs's rules, which
 * redis.conf lines follow too) from s[*i..n), where s[*i] is not a blank:
 * outside quotes an argument ends at a space, tab, CR or LF, and a quote
 * opens a quoted part; inside double quotes \xHH and C escapes, inside
 * single quotes only \'. A closing quote ends the argument and must be
 * followed by a blank or the end. Writes the unquoted bytes to out (room
 * for n - *i: unquoting never lengthens) and moves *i past the argument.
 * Returns how many bytes it wrote, or -1 for an unterminated quote or a
 * closing quote followed by something else. Any thread.
 */
long resp_inline_arg(const char *s, size_t n, size_t *i, char *out);

/* One word of a line split by resp_split_args. */
struct resp_word {
	const char *p;
	size_t len;
};

/*
 * Splits line (n bytes) into words as Redis 7.0's sdssplitargs does (each
 * read by resp_inline_arg; blanks between words). The words' bytes go to
 * buf, which must hold n bytes; the first max words are stored in w.
 * Returns how many words there are (more than max if there are more), or
 * -EINVAL for an unterminated quote or a closing quote with something
 * other than a blank after it. Any thread.
 */
int resp_split_args(const char *line, size_t n, struct resp_word *w, int max, char *buf);

/* Limits, as Redis's defaults: */
#define RESP_MAX_INLINE (64u * 1024u)                /* PROTO_INLINE_MAX_SIZE */
#define RESP_MAX_BULK_DEFAULT (512ull * 1024 * 1024) /* proto-max-bulk-len */
#define RESP_MAX_ARGS 1048576u                       /* multibulk count */
/* (Redis 7.0 itself accepts multibulk counts up to INT_MAX; 1048576 is the
 * limit Redis had before 7.0, kept here as a bound on hostile requests.) */

enum resp_status {
	RESP_ERROR = -1, /* malformed or over a limit: see error */
	RESP_MORE = 0,   /* incomplete: call again with more bytes */
	RESP_DONE = 1,   /* one command parsed */
};

/* One argument as an offset into the input buffer (or into the parser's
 * scratch space, for inline commands). */
struct resp_arg {
	size_t off;
	size_t len;
};

/* Parser state for one connection. Fields are the parser's own, except the
 * limits, which the caller may change between commands. */
struct resp_parser {
	unsigned long long max_bulk; /* longest bulk string accepted */
	size_t pos;                  /* bytes of the current command read */
	size_t scan;                 /* bytes searched for the current line's end */
	long long want_args;         /* multibulk: arguments declared, -1 before */
	long long bulk_len;          /* length of the bulk being read, -1 before */
	bool is_inline;
	struct resp_arg *args; /* arguments parsed so far */
	size_t nargs;
	size_t args_cap;
	char *scratch; /* inline arguments, unquoted */
	size_t scratch_len;
	size_t scratch_cap;
	const char *error; /* after RESP_ERROR: a static message */
};

/* Sets up p with max_bulk (0: RESP_MAX_BULK_DEFAULT). */
void resp_parser_init(struct resp_parser *p, unsigned long long max_bulk);
/* Frees what p allocated. */
void resp_parser_free(struct resp_parser *p);

/*
 * Parses the command starting at buf[0]; buf holds len bytes. For a command
 * that needed more bytes before, buf must start at the same command (with the
 * old bytes, possibly moved, plus the new ones).
 *
 * Returns RESP_DONE with p->nargs arguments (fetch them with resp_parser_arg)
 * and *used = the command's length in bytes (the next command starts at
 * buf + *used); nargs may be 0 for an empty line or "*0\r\n" (Redis skips
 * those silently). Returns RESP_MORE when the command is incomplete
 * (p keeps its progress). Returns RESP_ERROR with p->error set to Redis's
 * message (to be sent as "-ERR <error>" before closing the connection):
 *   "Protocol error: too big inline request"
 *   "Protocol error: unbalanced quotes in request"
 *   "Protocol error: invalid multibulk length"
 *   "Protocol error: too big mbulk count string"
 *   "Protocol error: expected '$', got 'x'" (x the byte found)
 *   "Protocol error: invalid bulk length"
 *   "Protocol error: too big bulk count string"
 *   "out of memory" (the arguments array or scratch could not grow)
 * After DONE or ERROR the next call starts a new command.
 */
enum resp_status resp_parse(struct resp_parser *p, const char *buf, size_t len, size_t *used);

/* The i-th argument of the command just parsed: pointer and length. buf is
 * the buffer given to resp_parse. */
static inline const char *resp_parser_arg(const struct resp_parser *p, const char *buf, size_t i,
					  size_t *len)
{
	*len = p->args[i].len;
	return (p->is_inline ? p->scratch : buf) + p->args[i].off;
}

/* For a command still incomplete: the total length it will have at least
 * (e.g. the end of the bulk being read), so the caller can grow its buffer
 * once instead of many times. */
size_t resp_parser_need(const struct resp_parser *p);

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_RESP_H */
