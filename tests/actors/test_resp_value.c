/*
 * test_resp_value.c - framing of RESP replies (actors/resp_value.c): the
 * length of each RESP2 and RESP3 type, nested and deeply nested, followed by
 * more bytes or cut at every byte (0), malformed input (0), and the writer's
 * output of both protocols split back into the replies it wrote. Inputs sit
 * in heap blocks of their exact size, so ASan catches reads past the end.
 */
#include "../helpers.h"

#include <limits.h>
#include <math.h>

#include "resp.h"

#define S(lit) lit, sizeof(lit) - 1

/* resp_value_len over a heap copy of exactly n bytes. */
static size_t value_len(const char *p, size_t n)
{
	char *copy = malloc(n ? n : 1);
	size_t len;

	assert_non_null(copy);
	if (n)
		memcpy(copy, p, n);
	len = resp_value_len(copy, n);
	free(copy);
	return len;
}

static const struct {
	const char *bytes;
	size_t len;
} values[] = {
	{ S("+OK\r\n") },
	{ S("+\r\n") },
	{ S("-ERR syntax error\r\n") },
	{ S(":0\r\n") },
	{ S(":-9223372036854775808\r\n") },
	{ S("$5\r\nvalue\r\n") },
	{ S("$5\r\na\r\n\0b\r\n") },
	{ S("$0\r\n\r\n") },
	{ S("$-1\r\n") },
	{ S("*-1\r\n") },
	{ S("*0\r\n") },
	{ S("*2\r\n$3\r\nGET\r\n:1\r\n") },
	{ S("_\r\n") },
	{ S(",3.5\r\n") },
	{ S(",-1.0000000000000001e+300\r\n") },
	{ S(",inf\r\n") },
	{ S(",-inf\r\n") },
	{ S(",nan\r\n") },
	{ S("#t\r\n") },
	{ S("#f\r\n") },
	{ S("(3492890328409238509324850943850943825024385\r\n") },
	{ S("=8\r\ntxt:a\r\nb\r\n") },
	{ S("!21\r\nSYNTAX invalid syntax\r\n") },
	{ S("%2\r\n+a\r\n:1\r\n+b\r\n_\r\n") },
	{ S("~3\r\n:1\r\n:2\r\n:3\r\n") },
	{ S(">3\r\n+message\r\n+chan\r\n$2\r\nhi\r\n") },
	/* An attribute, then the value it annotates. */
	{ S("|1\r\n+ttl\r\n:3600\r\n$5\r\nvalue\r\n") },
	{ S("*3\r\n*2\r\n:1\r\n*0\r\n%1\r\n~1\r\n_\r\n*1\r\n$-1\r\n$1\r\nx\r\n") },
};

static void value_len_measures_each_type_and_stops_at_its_end(void **state)
{
	char buf[256];

	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		size_t n = values[i].len;

		assert_int_equal(value_len(values[i].bytes, n), n);
		/* What follows is the next value's business. */
		assert_true(n + 10 < sizeof(buf));
		memcpy(buf, values[i].bytes, n);
		memcpy(buf + n, ":1\r\n+more", 10);
		assert_int_equal(value_len(buf, n + 10), n);
	}
}

static void value_len_of_a_value_cut_anywhere_is_zero(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		for (size_t k = 0; k < values[i].len; k++)
			if (value_len(values[i].bytes, k) != 0)
				fail_msg("value %zu cut at %zu was taken as complete", i, k);
}

static void value_len_refuses_malformed_values(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
	} bad[] = {
		{ S("x\r\n") },
		{ S("\r\n") },
		{ S("+OK\rX") },
		{ S("+OK\n\r\n") },
		{ S(":abc\r\n") },
		{ S(":\r\n") },
		{ S(":1.5\r\n") },
		{ S("$3\r\nabcd\r\n") },
		{ S("$3\r\nab\r\n") },
		{ S("$-2\r\n") },
		{ S("$x\r\n\r\n") },
		{ S("$\r\n\r\n") },
		{ S("$99999999999999999999999999\r\n") },
		{ S("*-2\r\n") },
		{ S("*x\r\n") },
		{ S("*1\r\n") },
		{ S("*2\r\n:1\r\n") },
		{ S("*1000000000\r\n:1\r\n") },
		{ S("*99999999999999999999999999\r\n") },
		{ S("%-1\r\n") },
		{ S("~-1\r\n") },
		{ S("%1\r\n:1\r\n") },
		{ S("|1\r\n+a\r\n+b\r\n") },
		{ S("_x\r\n") },
		{ S("#x\r\n") },
		{ S("#tt\r\n") },
		{ S(",\r\n") },
		{ S(",1.5x\r\n") },
		{ S(",1e\r\n") },
		{ S(",infinity\r\n") },
		{ S("(12a\r\n") },
		{ S("=3\r\ntxt\r\n") },
		{ S("=5\r\ntxtxy\r\n") },
		/* RESP3's streamed strings and aggregates are not supported. */
		{ S("$?\r\n;4\r\nHell\r\n;0\r\n") },
		{ S("*?\r\n:1\r\n.\r\n") },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (value_len(bad[i].bytes, bad[i].len) != 0)
			fail_msg("malformed value %zu (\"%.*s\") was accepted", i, (int)bad[i].len,
				 bad[i].bytes);
}

/* 300000 nested arrays: no recursion, so no stack to run out of. */
static void value_len_walks_deep_nesting_without_recursion(void **state)
{
	enum {
		DEPTH = 300000
	};
	size_t n = DEPTH * 4 + 4;
	char *buf = malloc(n);

	(void)state;
	assert_non_null(buf);
	for (size_t i = 0; i < DEPTH; i++)
		memcpy(buf + i * 4, "*1\r\n", 4);
	memcpy(buf + DEPTH * 4, ":1\r\n", 4);
	assert_int_equal(resp_value_len(buf, n), n);
	assert_int_equal(resp_value_len(buf, n - 1), 0);
	/* A map of maps the same way, two elements per level. */
	for (size_t i = 0; i < DEPTH / 2; i++)
		memcpy(buf + i * 8, "%1\r\n+k\r\n", 8);
	memcpy(buf + (DEPTH / 2) * 8, ":1\r\n", 4);
	assert_int_equal(resp_value_len(buf, (DEPTH / 2) * 8 + 4), (DEPTH / 2) * 8 + 4);
	free(buf);
}

/* Writes one reply of every kind, noting where each ends. */
static size_t write_every_reply(struct resp_out *o, size_t *ends)
{
	size_t k = 0;

	resp_add_status(o, "OK");
	ends[k++] = o->len;
	resp_add_error(o, "ERR bad\r\nthing");
	ends[k++] = o->len;
	resp_add_errorf(o, "ERR %d", 42);
	ends[k++] = o->len;
	resp_add_int(o, LLONG_MIN);
	ends[k++] = o->len;
	resp_add_bulk(o, "a\r\nb", 4);
	ends[k++] = o->len;
	resp_add_bulk_cstr(o, "");
	ends[k++] = o->len;
	resp_add_bulk_ll(o, 123);
	ends[k++] = o->len;
	resp_add_null(o);
	ends[k++] = o->len;
	resp_add_null_array(o);
	ends[k++] = o->len;
	resp_add_array(o, 2);
	resp_add_int(o, 1);
	resp_add_map(o, 1);
	resp_add_bulk_cstr(o, "k");
	resp_add_set(o, 2);
	resp_add_bool(o, true);
	resp_add_double(o, -0.25);
	ends[k++] = o->len;
	resp_add_double(o, 1e300);
	ends[k++] = o->len;
	resp_add_double(o, -INFINITY);
	ends[k++] = o->len;
	resp_add_double(o, NAN);
	ends[k++] = o->len;
	resp_add_bool(o, false);
	ends[k++] = o->len;
	resp_add_verbatim(o, "txt", "line1\r\nline2", 12);
	ends[k++] = o->len;
	resp_add_raw(o, S("+raw\r\n"));
	ends[k++] = o->len;
	return k;
}

static void value_len_splits_the_writers_replies_in_both_protocols(void **state)
{
	(void)state;
	for (uint8_t proto = 2; proto <= 3; proto++) {
		struct resp_out o;
		size_t ends[32], count, off = 0;

		resp_out_init(&o, proto);
		count = write_every_reply(&o, ends);
		assert_false(o.oom);
		for (size_t i = 0; i < count; i++) {
			size_t len = value_len(o.data + off, o.len - off);

			if (off + len != ends[i])
				fail_msg("RESP%u reply %zu: length %zu, expected %zu", proto, i,
					 len, ends[i] - off);
			off += len;
		}
		assert_int_equal(off, o.len);
		resp_out_free(&o);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(value_len_measures_each_type_and_stops_at_its_end),
		cmocka_unit_test(value_len_of_a_value_cut_anywhere_is_zero),
		cmocka_unit_test(value_len_refuses_malformed_values),
		cmocka_unit_test(value_len_walks_deep_nesting_without_recursion),
		cmocka_unit_test(value_len_splits_the_writers_replies_in_both_protocols),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
