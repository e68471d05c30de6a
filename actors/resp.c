/*
 * TEMPORARY stand-in, replaced by the real resp.c when merged.
 *
 * resp.c - a minimal RESP reply writer so the shard commands can be built
 * and tested before the real codec lands. The request parser is a stub that
 * always fails; resp_value_len always returns 0.
 */
#include "resp.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	size_t cap;
	char *d;

	if (o->oom)
		return false;
	if (o->cap - o->len >= extra)
		return true;
	cap = o->cap ? o->cap : 64;
	while (cap - o->len < extra)
		cap *= 2;
	d = realloc(o->data, cap);
	if (d == NULL) {
		o->oom = true;
		return false;
	}
	o->data = d;
	o->cap = cap;
	return true;
}

char *resp_out_detach(struct resp_out *o, size_t *len, size_t *cap)
{
	char *d = o->len ? o->data : NULL;

	*len = o->len;
	*cap = o->cap;
	if (d == NULL)
		free(o->data);
	resp_out_init(o, o->proto);
	return d;
}

void resp_add_raw(struct resp_out *o, const void *p, size_t n)
{
	if (!resp_out_reserve(o, n))
		return;
	if (n)
		memcpy(o->data + o->len, p, n);
	o->len += n;
}

static void add_line(struct resp_out *o, char type, const char *s, size_t n)
{
	if (!resp_out_reserve(o, n + 3))
		return;
	o->data[o->len++] = type;
	for (size_t i = 0; i < n; i++)
		o->data[o->len++] = (s[i] == '\r' || s[i] == '\n') ? ' ' : s[i];
	o->data[o->len++] = '\r';
	o->data[o->len++] = '\n';
}

static void add_header(struct resp_out *o, char type, long long n)
{
	char buf[32];
	int k = snprintf(buf, sizeof(buf), "%lld", n);

	add_line(o, type, buf, (size_t)k);
}

void resp_add_status(struct resp_out *o, const char *s)
{
	add_line(o, '+', s, strlen(s));
}

void resp_add_error(struct resp_out *o, const char *s)
{
	add_line(o, '-', s, strlen(s));
}

void resp_add_errorf(struct resp_out *o, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	resp_add_error(o, buf);
}

void resp_add_int(struct resp_out *o, long long v)
{
	add_header(o, ':', v);
}

void resp_add_bulk(struct resp_out *o, const void *p, size_t n)
{
	add_header(o, '$', (long long)n);
	resp_add_raw(o, p, n);
	resp_add_raw(o, "\r\n", 2);
}

void resp_add_bulk_cstr(struct resp_out *o, const char *s)
{
	resp_add_bulk(o, s, strlen(s));
}

void resp_add_bulk_ll(struct resp_out *o, long long v)
{
	char buf[32];
	int k = snprintf(buf, sizeof(buf), "%lld", v);

	resp_add_bulk(o, buf, (size_t)k);
}

void resp_add_null(struct resp_out *o)
{
	resp_add_raw(o, o->proto == 3 ? "_\r\n" : "$-1\r\n", o->proto == 3 ? 3 : 5);
}

void resp_add_null_array(struct resp_out *o)
{
	resp_add_raw(o, o->proto == 3 ? "_\r\n" : "*-1\r\n", o->proto == 3 ? 3 : 5);
}

void resp_add_array(struct resp_out *o, size_t n)
{
	add_header(o, '*', (long long)n);
}

void resp_add_map(struct resp_out *o, size_t n)
{
	if (o->proto == 3)
		add_header(o, '%', (long long)n);
	else
		add_header(o, '*', (long long)(2 * n));
}

void resp_add_set(struct resp_out *o, size_t n)
{
	add_header(o, o->proto == 3 ? '~' : '*', (long long)n);
}

void resp_add_double(struct resp_out *o, double d)
{
	char buf[64];
	int k;

	if (isinf(d))
		k = snprintf(buf, sizeof(buf), "%s", d > 0 ? "inf" : "-inf");
	else if (isnan(d))
		k = snprintf(buf, sizeof(buf), "nan");
	else
		k = snprintf(buf, sizeof(buf), "%.17g", d);
	if (o->proto == 3)
		add_line(o, ',', buf, (size_t)k);
	else
		resp_add_bulk(o, buf, (size_t)k);
}

void resp_add_bool(struct resp_out *o, bool b)
{
	if (o->proto == 3)
		resp_add_raw(o, b ? "#t\r\n" : "#f\r\n", 4);
	else
		resp_add_int(o, b ? 1 : 0);
}

void resp_add_verbatim(struct resp_out *o, const char *fmt, const void *p, size_t n)
{
	if (o->proto != 3) {
		resp_add_bulk(o, p, n);
		return;
	}
	add_header(o, '=', (long long)(n + 4));
	resp_add_raw(o, fmt, 3);
	resp_add_raw(o, ":", 1);
	resp_add_raw(o, p, n);
	resp_add_raw(o, "\r\n", 2);
}

size_t resp_value_len(const char *p, size_t n)
{
	(void)p;
	(void)n;
	return 0;
}

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
	p->args = NULL;
	p->scratch = NULL;
}

enum resp_status resp_parse(struct resp_parser *p, const char *buf, size_t len, size_t *used)
{
	(void)buf;
	(void)len;
	*used = 0;
	p->error = "Protocol error: parser not available in the stand-in";
	return RESP_ERROR;
}

size_t resp_parser_need(const struct resp_parser *p)
{
	return p->pos;
}
