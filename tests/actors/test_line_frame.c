/*
 * test_line_frame.c - the line framer (actors/line_frame.c), without a
 * runtime: "\n" and "\r\n", empty lines, a lone "\r" kept as data, lines
 * in place when whole in a chunk, the same lines whatever the chunk
 * boundaries (every split of a stream, and one byte at a time), the length
 * limit at, just over and far over max_line (in one chunk and across
 * chunks, with "\r\n" split between chunks), and errors that stay.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "line_frame.h"

/* Frames the chunks in turn; appends each line and "|" to out. Returns the
 * first error, or 0. */
static int frame_chunks(struct atoll_line_frame *f, const char *const *chunks, size_t n, char *out,
			size_t outlen)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		struct atoll_line_input in = { chunks[i], strlen(chunks[i]) };
		const char *line;
		size_t len;
		int rc;

		while ((rc = atoll_line_frame_next(f, &in, &line, &len)) > 0) {
			assert_true(used + len + 2 <= outlen);
			memcpy(out + used, line, len);
			used += len;
			out[used++] = '|';
			out[used] = '\0';
		}
		if (rc < 0)
			return rc;
		assert_int_equal(in.len, 0);
	}
	return 0;
}

static void line_frame_cuts_lf_and_crlf_lines(void **state)
{
	struct atoll_line_frame f;
	const char *chunks[] = { "one\ntwo\r\n\nthr\ree\r\n" };
	char out[128];

	(void)state;
	atoll_line_frame_init(&f, 64);
	assert_int_equal(frame_chunks(&f, chunks, 1, out, sizeof(out)), 0);
	assert_string_equal(out, "one|two||thr\ree|");
	assert_int_equal(atoll_line_frame_pending(&f), 0);
	atoll_line_frame_free(&f);
}

static void line_frame_returns_whole_lines_in_place(void **state)
{
	static const char data[] = "abc\ndef\nghi";
	struct atoll_line_frame f;
	struct atoll_line_input in = { data, sizeof(data) - 1 };
	const char *line;
	size_t len;

	(void)state;
	atoll_line_frame_init(&f, 0);
	assert_int_equal(atoll_line_frame_next(&f, &in, &line, &len), 1);
	assert_ptr_equal(line, data);
	assert_int_equal(len, 3);
	assert_int_equal(atoll_line_frame_next(&f, &in, &line, &len), 1);
	assert_ptr_equal(line, data + 4);
	/* "ghi" has no end yet: kept, and the input is used up. */
	assert_int_equal(atoll_line_frame_next(&f, &in, &line, &len), 0);
	assert_int_equal(in.len, 0);
	assert_int_equal(atoll_line_frame_pending(&f), 3);
	in = (struct atoll_line_input){ "jk\n", 3 };
	assert_int_equal(atoll_line_frame_next(&f, &in, &line, &len), 1);
	assert_int_equal(len, 5);
	assert_memory_equal(line, "ghijk", 5);
	assert_int_equal(atoll_line_frame_next(&f, &in, &line, &len), 0);
	atoll_line_frame_free(&f);
}

static void line_frame_same_lines_at_every_split(void **state)
{
	static const char stream[] = "alpha\r\nbeta\n\r\ngamma delta\r\n\nz\n";
	const char *want = "alpha|beta||gamma delta||z|";
	char a[64], b[64], out[128];

	(void)state;
	for (size_t i = 0; i <= sizeof(stream) - 1; i++) {
		for (size_t j = i; j <= sizeof(stream) - 1; j++) {
			struct atoll_line_frame f;
			char c[64];
			const char *chunks[3] = { a, b, c };

			memcpy(a, stream, i);
			a[i] = '\0';
			memcpy(b, stream + i, j - i);
			b[j - i] = '\0';
			strcpy(c, stream + j);
			atoll_line_frame_init(&f, 16);
			assert_int_equal(frame_chunks(&f, chunks, 3, out, sizeof(out)), 0);
			assert_string_equal(out, want);
			atoll_line_frame_free(&f);
		}
	}
}

static void line_frame_one_byte_at_a_time(void **state)
{
	static const char stream[] = "x\r\nyy\nzzz\r\n";
	struct atoll_line_frame f;
	const char *chunks[sizeof(stream) - 1];
	char bytes[sizeof(stream) - 1][2], out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(stream) - 1; i++) {
		bytes[i][0] = stream[i];
		bytes[i][1] = '\0';
		chunks[i] = bytes[i];
	}
	atoll_line_frame_init(&f, 3);
	assert_int_equal(frame_chunks(&f, chunks, sizeof(stream) - 1, out, sizeof(out)), 0);
	assert_string_equal(out, "x|yy|zzz|");
	atoll_line_frame_free(&f);
}

static void line_frame_accepts_max_line_with_crlf_split(void **state)
{
	/* Exactly 4 bytes, "\r" in one chunk and "\n" in the next. */
	const char *chunks[] = { "ab", "cd\r", "\n" };
	struct atoll_line_frame f;
	char out[32];

	(void)state;
	atoll_line_frame_init(&f, 4);
	assert_int_equal(frame_chunks(&f, chunks, 3, out, sizeof(out)), 0);
	assert_string_equal(out, "abcd|");
	atoll_line_frame_free(&f);
}

static void line_frame_refuses_line_over_max_in_one_chunk(void **state)
{
	const char *chunks[] = { "ok\nabcde\nnever\n" };
	struct atoll_line_frame f;
	char out[32];

	(void)state;
	atoll_line_frame_init(&f, 4);
	assert_int_equal(frame_chunks(&f, chunks, 1, out, sizeof(out)), -EMSGSIZE);
	assert_string_equal(out, "ok|"); /* the lines before it came out */
	atoll_line_frame_free(&f);
}

static void line_frame_refuses_split_line_before_its_end(void **state)
{
	/* Five bytes and no end yet: refused at once, the rest never needed. */
	const char *chunks[] = { "abc", "de" };
	struct atoll_line_frame f;
	struct atoll_line_input in = { "more\n", 5 };
	const char *line;
	size_t len;
	char out[32];

	(void)state;
	atoll_line_frame_init(&f, 4);
	assert_int_equal(frame_chunks(&f, chunks, 2, out, sizeof(out)), -EMSGSIZE);
	/* The error stays, and nothing more is consumed. */
	assert_int_equal(atoll_line_frame_next(&f, &in, &line, &len), -EMSGSIZE);
	assert_int_equal(in.len, 5);
	assert_true(atoll_line_frame_pending(&f) <= 5);
	atoll_line_frame_free(&f);
}

static void line_frame_refuses_cr_that_does_not_end_line(void **state)
{
	/* "abcd\r" may still end as "abcd\r\n"; "abcd\rx" cannot fit. */
	const char *chunks[] = { "abcd\r", "x" };
	struct atoll_line_frame f;
	char out[32];

	(void)state;
	atoll_line_frame_init(&f, 4);
	assert_int_equal(frame_chunks(&f, chunks, 1, out, sizeof(out)), 0);
	assert_int_equal(frame_chunks(&f, chunks + 1, 1, out, sizeof(out)), -EMSGSIZE);
	atoll_line_frame_free(&f);
}

static void line_frame_long_lines_over_many_chunks(void **state)
{
	enum {
		LINE = 100000,
		CHUNK = 977
	};
	char *stream = malloc(2 * (LINE + 1));
	struct atoll_line_frame f;
	size_t got = 0, total = 2 * (LINE + 1);

	(void)state;
	assert_non_null(stream);
	for (size_t i = 0; i < total; i++)
		stream[i] = (char)('a' + i % 26);
	stream[LINE] = '\n';
	stream[total - 1] = '\n';
	atoll_line_frame_init(&f, LINE);
	for (size_t off = 0; off < total; off += CHUNK) {
		size_t n = total - off < CHUNK ? total - off : CHUNK;
		struct atoll_line_input in = { stream + off, n };
		const char *line;
		size_t len;
		int rc;

		while ((rc = atoll_line_frame_next(&f, &in, &line, &len)) > 0) {
			assert_int_equal(len, LINE);
			assert_memory_equal(line, stream + got * (LINE + 1), LINE);
			got++;
		}
		assert_int_equal(rc, 0);
	}
	assert_int_equal(got, 2);
	atoll_line_frame_free(&f);
	free(stream);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(line_frame_cuts_lf_and_crlf_lines),
		cmocka_unit_test(line_frame_returns_whole_lines_in_place),
		cmocka_unit_test(line_frame_same_lines_at_every_split),
		cmocka_unit_test(line_frame_one_byte_at_a_time),
		cmocka_unit_test(line_frame_accepts_max_line_with_crlf_split),
		cmocka_unit_test(line_frame_refuses_line_over_max_in_one_chunk),
		cmocka_unit_test(line_frame_refuses_split_line_before_its_end),
		cmocka_unit_test(line_frame_refuses_cr_that_does_not_end_line),
		cmocka_unit_test(line_frame_long_lines_over_many_chunks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
