/*
 * resp_write.c - the RESP reply writer of resp.h: replies appended to a
 * growable buffer, in RESP2 or RESP3 as the buffer's proto says.
 *
 * Invariants: data[0..len) holds the replies written so far and cap is
 * data's size (data is NULL exactly when cap is 0). Once an allocation fails
 * oom is set and every later write is ignored until a reset, so callers check
 * oom once at the end. Each add reserves its whole reply first, so a failed
 * add writes nothing; integers are formatted by hand (they are on every
 * reply's path), doubles with "%.17g" as Redis 7.0 does.
 */
#include "resp.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first allocation: room for a typical reply and then some. */
#define OUT_FIRST_CAP 256u
/* "-9223372036854775808" or "18446744073709551615": 20 characters. */
#define LL_CHARS 20u
/* A type byte, a number and CRLF. */
#define HEADER_MAX (1u + LL_CHARS + 2u)

static bool is_resp3(const struct resp_out *o)
{
	return o->proto >= 3;
}

void resp_out_init(struct resp_out *o, uint8_t proto)
{
	o->data = NULL;
	o->len = 0;
	o->cap = 0;
	o->proto = proto;
	o->oom = false;
}

void resp_out_free(struct resp_out *o)
{
	free(o->data);
	resp_out_init(o, o->proto);
}

void resp_out_reset(struct resp_out *o)
{
	o->len = 0;
	o->oom = false;
}

bool resp_out_reserve(struct resp_out *o, size_t extra)
{
	size_t need, cap;
	char *data;

	if (o->oom)
		return false;
	if (o->cap - o->len >= extra)
		return true;
	if (extra > SIZE_MAX - o->len)
		goto out_of_memory;
	need = o->len + extra;
	cap = o->cap ? o->cap : OUT_FIRST_CAP;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	data = realloc(o->data, cap);
	if (!data)
		goto out_of_memory;
	o->data = data;
	o->cap = cap;
	return true;

out_of_memory:
	o->oom = true;
	return false;
}

char *resp_out_detach(struct resp_out *o, size_t *len, size_t *cap)
{
	char *data = o->data;

	*len = o->len;
	*cap = o->cap;
	if (o->len == 0) {
		free(data);
		data = NULL;
		*cap = 0;
	}
	resp_out_init(o, o->proto);
	return data;
}

/* "00" to "99": two digits per division, half the divisions of one. */
static const char digit_pairs[201] = "00010203040506070809"
				     "10111213141516171819"
				     "20212223242526272829"
				     "30313233343536373839"
				     "40414243444546474849"
				     "50515253545556575859"
				     "60616263646566676869"
				     "70717273747576777879"
				     "80818283848586878889"
				     "90919293949596979899";

static size_t count_digits(unsigned long long v)
{
	size_t n = 1;

	while (v >= 10000) {
		v /= 10000;
		n += 4;
	}
	return n + (v >= 10) + (v >= 100) + (v >= 1000);
}

/* Writes v in decimal at dst (LL_CHARS bytes of room, no NUL); returns the
 * length. */
static size_t ull_to_str(char *dst, unsigned long long v)
{
	size_t n = count_digits(v), i = n;

	while (v >= 100) {
		size_t k = (size_t)(v % 100) * 2;

		v /= 100;
		dst[--i] = digit_pairs[k + 1];
		dst[--i] = digit_pairs[k];
	}
	if (v >= 10) {
		dst[--i] = digit_pairs[v * 2 + 1];
		dst[--i] = digit_pairs[v * 2];
	} else {
		dst[--i] = (char)('0' + v);
	}
	return n;
}

static size_t ll_to_str(char *dst, long long v)
{
	if (v >= 0)
		return ull_to_str(dst, (unsigned long long)v);
	/* 0 - (unsigned)v is |v|, LLONG_MIN included. */
	dst[0] = '-';
	return 1 + ull_to_str(dst + 1, 0 - (unsigned long long)v);
}

/* Writes "<type><v>\r\n" into reserved space; returns its length. */
static size_t put_header(char *dst, char type, unsigned long long v)
{
	size_t n = 1 + ull_to_str(dst + 1, v);

	dst[0] = type;
	dst[n] = '\r';
	dst[n + 1] = '\n';
	return n + 2;
}

static void add_header(struct resp_out *o, char type, unsigned long long v)
{
	if (!resp_out_reserve(o, HEADER_MAX))
		return;
	o->len += put_header(o->data + o->len, type, v);
}

/* "<type><s>\r\n" for a string s of n bytes known to be one line. */
static void add_line(struct resp_out *o, char type, const char *s, size_t n)
{
	char *dst;

	if (n > SIZE_MAX - 3) {
		o->oom = true;
		return;
	}
	if (!resp_out_reserve(o, n + 3))
		return;
	dst = o->data + o->len;
	dst[0] = type;
	memcpy(dst + 1, s, n);
	dst[n + 1] = '\r';
	dst[n + 2] = '\n';
	o->len += n + 3;
}

void resp_add_raw(struct resp_out *o, const void *p, size_t n)
{
	if (n == 0 || !resp_out_reserve(o, n))
		return;
	memcpy(o->data + o->len, p, n);
	o->len += n;
}

void resp_add_status(struct resp_out *o, const char *s)
{
	add_line(o, '+', s, strlen(s));
}

/* A reply line must not break: CR and LF become spaces. */
static void flatten(char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\r' || s[i] == '\n')
			s[i] = ' ';
}

void resp_add_error(struct resp_out *o, const char *s)
{
	size_t start = o->len + 1, n = strlen(s);

	add_line(o, '-', s, n);
	if (!o->oom)
		flatten(o->data + start, n);
}

void resp_add_errorf(struct resp_out *o, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int n;

	/* Format straight into the buffer, after the '-': first into whatever
	 * room is there, and again once the length is known if it was short. */
	if (!resp_out_reserve(o, 64))
		return;
	room = o->cap - o->len - 1;
	va_start(ap, fmt);
	n = vsnprintf(o->data + o->len + 1, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n + 2 > room) {
		/* vsnprintf needs its NUL's byte, then CRLF replaces it. */
		if (!resp_out_reserve(o, (size_t)n + 3))
			return;
		va_start(ap, fmt);
		vsnprintf(o->data + o->len + 1, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	o->data[o->len] = '-';
	flatten(o->data + o->len + 1, (size_t)n);
	o->data[o->len + 1 + (size_t)n] = '\r';
	o->data[o->len + 2 + (size_t)n] = '\n';
	o->len += (size_t)n + 3;
}

void resp_add_int(struct resp_out *o, long long v)
{
	char *dst;
	size_t n;

	if (!resp_out_reserve(o, HEADER_MAX))
		return;
	dst = o->data + o->len;
	dst[0] = ':';
	n = 1 + ll_to_str(dst + 1, v);
	dst[n] = '\r';
	dst[n + 1] = '\n';
	o->len += n + 2;
}

void resp_add_bulk(struct resp_out *o, const void *p, size_t n)
{
	char *dst;
	size_t k;

	if (n > SIZE_MAX - HEADER_MAX - 2) {
		o->oom = true;
		return;
	}
	if (!resp_out_reserve(o, HEADER_MAX + n + 2))
		return;
	dst = o->data + o->len;
	k = put_header(dst, '$', n);
	if (n)
		memcpy(dst + k, p, n);
	dst[k + n] = '\r';
	dst[k + n + 1] = '\n';
	o->len += k + n + 2;
}

void resp_add_bulk_cstr(struct resp_out *o, const char *s)
{
	resp_add_bulk(o, s, strlen(s));
}

void resp_add_bulk_ll(struct resp_out *o, long long v)
{
	char digits[LL_CHARS];

	resp_add_bulk(o, digits, ll_to_str(digits, v));
}

void resp_add_null(struct resp_out *o)
{
	if (is_resp3(o))
		resp_add_raw(o, "_\r\n", 3);
	else
		resp_add_raw(o, "$-1\r\n", 5);
}

void resp_add_null_array(struct resp_out *o)
{
	if (is_resp3(o))
		resp_add_raw(o, "_\r\n", 3);
	else
		resp_add_raw(o, "*-1\r\n", 5);
}

void resp_add_array(struct resp_out *o, size_t n)
{
	add_header(o, '*', n);
}

void resp_add_map(struct resp_out *o, size_t n)
{
	if (is_resp3(o))
		add_header(o, '%', n);
	else
		add_header(o, '*', 2 * (unsigned long long)n);
}

void resp_add_set(struct resp_out *o, size_t n)
{
	add_header(o, is_resp3(o) ? '~' : '*', n);
}

void resp_add_double(struct resp_out *o, double d)
{
	char text[32]; /* "%.17g" needs at most 24 */
	const char *s = text;
	size_t n;

	/* Spelled out: libcs differ ("-nan", "infinity"), RESP3 does not. */
	if (isnan(d))
		s = "nan";
	else if (isinf(d))
		s = d > 0 ? "inf" : "-inf";
	else
		snprintf(text, sizeof(text), "%.17g", d);
	n = strlen(s);
	if (is_resp3(o))
		add_line(o, ',', s, n);
	else
		resp_add_bulk(o, s, n);
}

void resp_add_bool(struct resp_out *o, bool b)
{
	if (is_resp3(o))
		resp_add_raw(o, b ? "#t\r\n" : "#f\r\n", 4);
	else
		resp_add_raw(o, b ? ":1\r\n" : ":0\r\n", 4);
}

void resp_add_verbatim(struct resp_out *o, const char *fmt, const void *p, size_t n)
{
	char *dst;
	size_t k;

	if (!is_resp3(o)) {
		resp_add_bulk(o, p, n);
		return;
	}
	/* The format is three bytes by definition; anything else is sent as
	 * plain text rather than as a malformed reply. */
	if (strlen(fmt) != 3)
		fmt = "txt";
	if (n > SIZE_MAX - HEADER_MAX - 6) {
		o->oom = true;
		return;
	}
	if (!resp_out_reserve(o, HEADER_MAX + 4 + n + 2))
		return;
	dst = o->data + o->len;
	k = put_header(dst, '=', (unsigned long long)n + 4);
	memcpy(dst + k, fmt, 3);
	dst[k + 3] = ':';
	if (n)
		memcpy(dst + k + 4, p, n);
	dst[k + 4 + n] = '\r';
	dst[k + 5 + n] = '\n';
	o->len += k + n + 6;
}
