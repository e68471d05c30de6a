/*
 * test_resp_write.c - the RESP reply writer (actors/resp_write.c): every add
 * function byte for byte in RESP2 and RESP3 (doubles as Redis 7.0.15 sends
 * them), integers against printf over boundaries and a pseudo-random sweep,
 * errors kept on one line, formatted errors of every length around the
 * buffer's edge, and the buffer's reserve, reset, detach, free and
 * out-of-memory behaviour.
 */
#include "../helpers.h"

#include <float.h>
#include <limits.h>
#include <math.h>

#include "resp.h"

static void expect_bytes(const char *got, size_t got_len, const char *want, size_t want_len)
{
	if (got_len != want_len || memcmp(got, want, want_len) != 0)
		fail_msg("wrote \"%.*s\" (%zu bytes), expected \"%.*s\" (%zu bytes)", (int)got_len,
			 got ? got : "", got_len, (int)want_len, want, want_len);
}

#define S(lit) lit, sizeof(lit) - 1

/* Runs `call` (which writes to `o`) on a RESP2 and a RESP3 writer and checks
 * each one's bytes. */
#define EXPECT_WRITE(call, want2, want3)               \
	do {                                           \
		struct resp_out o;                     \
		resp_out_init(&o, 2);                  \
		call;                                  \
		assert_false(o.oom);                   \
		expect_bytes(o.data, o.len, S(want2)); \
		resp_out_free(&o);                     \
		resp_out_init(&o, 3);                  \
		call;                                  \
		assert_false(o.oom);                   \
		expect_bytes(o.data, o.len, S(want3)); \
		resp_out_free(&o);                     \
	} while (0)

static void write_status_is_a_plus_line(void **state)
{
	(void)state;
	EXPECT_WRITE(resp_add_status(&o, "OK"), "+OK\r\n", "+OK\r\n");
	EXPECT_WRITE(resp_add_status(&o, ""), "+\r\n", "+\r\n");
}

static void write_error_is_a_minus_line_with_cr_and_lf_as_spaces(void **state)
{
	(void)state;
	EXPECT_WRITE(resp_add_error(&o, "ERR syntax error"), "-ERR syntax error\r\n",
		     "-ERR syntax error\r\n");
	EXPECT_WRITE(resp_add_error(&o, "ERR a\r\nb\nc\r"), "-ERR a  b c \r\n", "-ERR a  b c \r\n");
	EXPECT_WRITE(resp_add_errorf(&o, "ERR wrong number of arguments for '%s' command", "get"),
		     "-ERR wrong number of arguments for 'get' command\r\n",
		     "-ERR wrong number of arguments for 'get' command\r\n");
	EXPECT_WRITE(resp_add_errorf(&o, "ERR %s\n", "x\ry"), "-ERR x y \r\n", "-ERR x y \r\n");
	EXPECT_WRITE(resp_add_errorf(&o, "%s", ""), "-\r\n", "-\r\n");
}

/* A formatted error of each length from 0 to 600, after replies that leave
 * the buffer in every state of fullness: the same bytes as printf's. */
static void write_errorf_of_every_length_lands_whole_after_other_replies(void **state)
{
	char msg[601], want[1000];

	(void)state;
	memset(msg, 'e', sizeof(msg) - 1);
	for (size_t before = 0; before < 300; before += 37) {
		for (size_t n = 0; n <= 600; n++) {
			struct resp_out o;
			size_t want_len;

			msg[n] = '\0';
			resp_out_init(&o, 2);
			for (size_t i = 0; i < before; i++)
				resp_add_raw(&o, "x", 1);
			resp_add_errorf(&o, "E%sZ", msg);
			msg[n] = 'e';
			memset(want, 'x', before);
			want[before] = '-';
			want[before + 1] = 'E';
			memset(want + before + 2, 'e', n);
			memcpy(want + before + 2 + n, "Z\r\n", 3);
			want_len = before + n + 5;
			assert_false(o.oom);
			expect_bytes(o.data, o.len, want, want_len);
			resp_out_free(&o);
		}
	}
}

static void write_int_is_a_colon_line(void **state)
{
	(void)state;
	EXPECT_WRITE(resp_add_int(&o, 0), ":0\r\n", ":0\r\n");
	EXPECT_WRITE(resp_add_int(&o, -1), ":-1\r\n", ":-1\r\n");
	EXPECT_WRITE(resp_add_int(&o, 1234567890), ":1234567890\r\n", ":1234567890\r\n");
	EXPECT_WRITE(resp_add_int(&o, LLONG_MAX), ":9223372036854775807\r\n",
		     ":9223372036854775807\r\n");
	EXPECT_WRITE(resp_add_int(&o, LLONG_MIN), ":-9223372036854775808\r\n",
		     ":-9223372036854775808\r\n");
}

static void expect_int_like_printf(long long v)
{
	char want[32];
	int n = snprintf(want, sizeof(want), ":%lld\r\n", v);
	struct resp_out o;

	resp_out_init(&o, 2);
	resp_add_int(&o, v);
	expect_bytes(o.data, o.len, want, (size_t)n);
	resp_out_reset(&o);
	resp_add_bulk_ll(&o, v);
	n = snprintf(want, sizeof(want), "$%d\r\n%lld\r\n", snprintf(NULL, 0, "%lld", v), v);
	expect_bytes(o.data, o.len, want, (size_t)n);
	resp_out_free(&o);
}

static void write_int_matches_printf_at_every_digit_count_and_at_random(void **state)
{
	unsigned long long x = 88172645463325252ull;

	(void)state;
	for (long long p = 1; p <= LLONG_MAX / 10; p *= 10) {
		for (long long d = -1; d <= 1; d++) {
			expect_int_like_printf(p + d);
			expect_int_like_printf(-(p + d));
		}
	}
	expect_int_like_printf(LLONG_MAX);
	expect_int_like_printf(LLONG_MIN);
	expect_int_like_printf(LLONG_MIN + 1);
	for (int i = 0; i < 20000; i++) {
		/* xorshift64, and a shift so that every magnitude comes up */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		expect_int_like_printf((long long)(x >> (x % 64)));
		expect_int_like_printf((long long)x);
	}
}

static void write_bulk_has_its_length_then_its_bytes(void **state)
{
	(void)state;
	EXPECT_WRITE(resp_add_bulk(&o, "value", 5), "$5\r\nvalue\r\n", "$5\r\nvalue\r\n");
	EXPECT_WRITE(resp_add_bulk(&o, "a\r\n\0b", 5), "$5\r\na\r\n\0b\r\n", "$5\r\na\r\n\0b\r\n");
	EXPECT_WRITE(resp_add_bulk(&o, NULL, 0), "$0\r\n\r\n", "$0\r\n\r\n");
	EXPECT_WRITE(resp_add_bulk_cstr(&o, "hello"), "$5\r\nhello\r\n", "$5\r\nhello\r\n");
	EXPECT_WRITE(resp_add_bulk_ll(&o, -42), "$3\r\n-42\r\n", "$3\r\n-42\r\n");
	EXPECT_WRITE(resp_add_bulk_ll(&o, 0), "$1\r\n0\r\n", "$1\r\n0\r\n");
}

static void write_big_bulk_grows_the_buffer(void **state)
{
	enum {
		N = 1 << 20
	};
	char *data = malloc(N);
	struct resp_out o;

	(void)state;
	assert_non_null(data);
	for (size_t i = 0; i < N; i++)
		data[i] = (char)(i % 251);
	resp_out_init(&o, 3);
	resp_add_int(&o, 1);
	resp_add_bulk(&o, data, N);
	assert_false(o.oom);
	assert_int_equal(o.len, 4 + 10 + N + 2);
	assert_true(o.cap >= o.len);
	assert_memory_equal(o.data, ":1\r\n$1048576\r\n", 14);
	assert_memory_equal(o.data + 14, data, N);
	assert_memory_equal(o.data + 14 + N, "\r\n", 2);
	resp_out_free(&o);
	free(data);
}

static void write_nulls_are_resp2_nil_or_resp3_null(void **state)
{
	(void)state;
	EXPECT_WRITE(resp_add_null(&o), "$-1\r\n", "_\r\n");
	EXPECT_WRITE(resp_add_null_array(&o), "*-1\r\n", "_\r\n");
}

static void write_aggregate_headers_flatten_in_resp2(void **state)
{
	(void)state;
	EXPECT_WRITE(resp_add_array(&o, 3), "*3\r\n", "*3\r\n");
	EXPECT_WRITE(resp_add_array(&o, 0), "*0\r\n", "*0\r\n");
	EXPECT_WRITE(resp_add_map(&o, 2), "*4\r\n", "%2\r\n");
	EXPECT_WRITE(resp_add_map(&o, 0), "*0\r\n", "%0\r\n");
	EXPECT_WRITE(resp_add_set(&o, 5), "*5\r\n", "~5\r\n");
	EXPECT_WRITE((resp_add_map(&o, 1), resp_add_bulk_cstr(&o, "k"), resp_add_set(&o, 1),
		      resp_add_int(&o, 7)),
		     "*2\r\n$1\r\nk\r\n*1\r\n:7\r\n", "%1\r\n$1\r\nk\r\n~1\r\n:7\r\n");
}

/* The bytes Redis 7.0.15 sends for these scores (ZSCORE, RESP2 and 3). */
static void write_double_is_formatted_as_redis_7_0(void **state)
{
	(void)state;
	EXPECT_WRITE(resp_add_double(&o, 0.1), "$19\r\n0.10000000000000001\r\n",
		     ",0.10000000000000001\r\n");
	EXPECT_WRITE(resp_add_double(&o, 1), "$1\r\n1\r\n", ",1\r\n");
	EXPECT_WRITE(resp_add_double(&o, 3.5), "$3\r\n3.5\r\n", ",3.5\r\n");
	EXPECT_WRITE(resp_add_double(&o, 0), "$1\r\n0\r\n", ",0\r\n");
	EXPECT_WRITE(resp_add_double(&o, 1e300), "$23\r\n1.0000000000000001e+300\r\n",
		     ",1.0000000000000001e+300\r\n");
	EXPECT_WRITE(resp_add_double(&o, 1e-5), "$22\r\n1.0000000000000001e-05\r\n",
		     ",1.0000000000000001e-05\r\n");
	EXPECT_WRITE(resp_add_double(&o, 123456789012345678.0), "$22\r\n1.2345678901234568e+17\r\n",
		     ",1.2345678901234568e+17\r\n");
	EXPECT_WRITE(resp_add_double(&o, 0.1 + 0.2), "$19\r\n0.30000000000000004\r\n",
		     ",0.30000000000000004\r\n");
	EXPECT_WRITE(resp_add_double(&o, -1.5), "$4\r\n-1.5\r\n", ",-1.5\r\n");
	EXPECT_WRITE(resp_add_double(&o, -DBL_MAX), "$24\r\n-1.7976931348623157e+308\r\n",
		     ",-1.7976931348623157e+308\r\n");
}

static void write_double_spells_inf_and_nan(void **state)
{
	(void)state;
	EXPECT_WRITE(resp_add_double(&o, INFINITY), "$3\r\ninf\r\n", ",inf\r\n");
	EXPECT_WRITE(resp_add_double(&o, -INFINITY), "$4\r\n-inf\r\n", ",-inf\r\n");
	EXPECT_WRITE(resp_add_double(&o, NAN), "$3\r\nnan\r\n", ",nan\r\n");
	EXPECT_WRITE(resp_add_double(&o, -NAN), "$3\r\nnan\r\n", ",nan\r\n");
}

static void write_bool_is_resp3_boolean_or_resp2_integer(void **state)
{
	(void)state;
	EXPECT_WRITE(resp_add_bool(&o, true), ":1\r\n", "#t\r\n");
	EXPECT_WRITE(resp_add_bool(&o, false), ":0\r\n", "#f\r\n");
}

static void write_verbatim_is_resp3_verbatim_or_resp2_bulk(void **state)
{
	(void)state;
	EXPECT_WRITE(resp_add_verbatim(&o, "txt", "a\r\nb", 4), "$4\r\na\r\nb\r\n",
		     "=8\r\ntxt:a\r\nb\r\n");
	EXPECT_WRITE(resp_add_verbatim(&o, "mkd", "", 0), "$0\r\n\r\n", "=4\r\nmkd:\r\n");
	/* A format that is not three bytes is sent as text, never malformed. */
	EXPECT_WRITE(resp_add_verbatim(&o, "markdown", "x", 1), "$1\r\nx\r\n", "=5\r\ntxt:x\r\n");
}

static void write_raw_appends_bytes_as_they_are(void **state)
{
	(void)state;
	EXPECT_WRITE((resp_add_raw(&o, S("+OK\r\n")), resp_add_raw(&o, NULL, 0),
		      resp_add_raw(&o, S(":1\r\n"))),
		     "+OK\r\n:1\r\n", "+OK\r\n:1\r\n");
}

static void write_many_replies_concatenate_in_order(void **state)
{
	char want[64];
	struct resp_out o;
	size_t off = 0;

	(void)state;
	resp_out_init(&o, 2);
	for (int i = 0; i < 10000; i++)
		resp_add_int(&o, i * 7919LL - 5000000);
	for (int i = 0; i < 10000; i++) {
		int n = snprintf(want, sizeof(want), ":%lld\r\n", i * 7919LL - 5000000);

		assert_true(off + (size_t)n <= o.len);
		assert_memory_equal(o.data + off, want, (size_t)n);
		off += (size_t)n;
	}
	assert_int_equal(off, o.len);
	resp_out_free(&o);
}

static void out_reset_keeps_the_memory_and_empties_the_buffer(void **state)
{
	struct resp_out o;
	char *data;
	size_t cap;

	(void)state;
	resp_out_init(&o, 3);
	assert_true(resp_out_reserve(&o, 1000));
	assert_true(o.cap >= 1000);
	assert_int_equal(o.len, 0);
	resp_add_status(&o, "OK");
	data = o.data;
	cap = o.cap;
	resp_out_reset(&o);
	assert_int_equal(o.len, 0);
	assert_ptr_equal(o.data, data);
	assert_int_equal(o.cap, cap);
	assert_int_equal(o.proto, 3);
	resp_add_int(&o, 5);
	expect_bytes(o.data, o.len, S(":5\r\n"));
	resp_out_free(&o);
	assert_null(o.data);
	assert_int_equal(o.len, 0);
	assert_int_equal(o.cap, 0);
	assert_int_equal(o.proto, 3);
}

static void out_detach_hands_over_the_buffer_and_leaves_it_empty(void **state)
{
	struct resp_out o;
	size_t len = 99, cap = 99;
	char *data;

	(void)state;
	resp_out_init(&o, 3);
	assert_null(resp_out_detach(&o, &len, &cap));
	assert_int_equal(len, 0);
	assert_int_equal(cap, 0);
	/* Reserved but empty is empty too (and nothing leaks). */
	assert_true(resp_out_reserve(&o, 10));
	assert_null(resp_out_detach(&o, &len, &cap));
	assert_int_equal(cap, 0);
	assert_null(o.data);

	resp_add_status(&o, "PONG");
	data = resp_out_detach(&o, &len, &cap);
	assert_non_null(data);
	expect_bytes(data, len, S("+PONG\r\n"));
	assert_true(cap >= len);
	assert_null(o.data);
	assert_int_equal(o.len, 0);
	assert_int_equal(o.cap, 0);
	assert_int_equal(o.proto, 3);
	free(data);
	resp_add_null(&o);
	expect_bytes(o.data, o.len, S("_\r\n"));
	resp_out_free(&o);
}

/* A reservation that cannot be met (it would overflow size_t, so no
 * allocator is asked) sets oom; later writes are dropped until a reset. */
static void out_of_memory_drops_writes_until_reset(void **state)
{
	struct resp_out o;

	(void)state;
	resp_out_init(&o, 2);
	resp_add_status(&o, "OK");
	assert_false(resp_out_reserve(&o, SIZE_MAX));
	assert_true(o.oom);
	resp_add_int(&o, 1);
	resp_add_bulk(&o, "x", 1);
	resp_add_errorf(&o, "ERR %d", 1);
	resp_add_array(&o, 2);
	resp_add_double(&o, 1.5);
	assert_false(resp_out_reserve(&o, 1));
	expect_bytes(o.data, o.len, S("+OK\r\n"));
	resp_out_reset(&o);
	assert_false(o.oom);
	resp_add_int(&o, 2);
	expect_bytes(o.data, o.len, S(":2\r\n"));

	/* A bulk too long for size_t sets oom without touching its bytes. */
	resp_add_bulk(&o, "x", SIZE_MAX - 1);
	assert_true(o.oom);
	expect_bytes(o.data, o.len, S(":2\r\n"));
	resp_out_free(&o);
	assert_false(o.oom);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(write_status_is_a_plus_line),
		cmocka_unit_test(write_error_is_a_minus_line_with_cr_and_lf_as_spaces),
		cmocka_unit_test(write_errorf_of_every_length_lands_whole_after_other_replies),
		cmocka_unit_test(write_int_is_a_colon_line),
		cmocka_unit_test(write_int_matches_printf_at_every_digit_count_and_at_random),
		cmocka_unit_test(write_bulk_has_its_length_then_its_bytes),
		cmocka_unit_test(write_big_bulk_grows_the_buffer),
		cmocka_unit_test(write_nulls_are_resp2_nil_or_resp3_null),
		cmocka_unit_test(write_aggregate_headers_flatten_in_resp2),
		cmocka_unit_test(write_double_is_formatted_as_redis_7_0),
		cmocka_unit_test(write_double_spells_inf_and_nan),
		cmocka_unit_test(write_bool_is_resp3_boolean_or_resp2_integer),
		cmocka_unit_test(write_verbatim_is_resp3_verbatim_or_resp2_bulk),
		cmocka_unit_test(write_raw_appends_bytes_as_they_are),
		cmocka_unit_test(write_many_replies_concatenate_in_order),
		cmocka_unit_test(out_reset_keeps_the_memory_and_empties_the_buffer),
		cmocka_unit_test(out_detach_hands_over_the_buffer_and_leaves_it_empty),
		cmocka_unit_test(out_of_memory_drops_writes_until_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
