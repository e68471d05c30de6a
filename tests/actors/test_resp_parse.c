/*
 * test_resp_parse.c - the RESP request parser (actors/resp_parse.c): multibulk
 * and inline commands, pipelines, every command cut at every byte, Redis 7.0's
 * error strings and limits, inline quoting, big bulks fed in small pieces, and
 * arguments that grow as they arrive rather than as declared. Inputs are
 * copied into heap blocks of their exact size, so ASan catches any read past
 * the bytes given.
 */
#include "../helpers.h"

#include "resp.h"

/* What one call to resp_parse gave: status, length used, the error, and the
 * arguments written as "[len]bytes[len]bytes...". */
struct outcome {
	enum resp_status status;
	size_t used;
	size_t nargs;
	const char *error;
	char args[1024];
	size_t args_len;
	bool args_too_long; /* for args[]: only nargs is checked then */
};

static void describe_args(const struct resp_parser *p, const char *buf, struct outcome *out)
{
	out->args_len = 0;
	for (size_t i = 0; i < p->nargs; i++) {
		size_t len;
		const char *arg = resp_parser_arg(p, buf, i, &len);
		int n = snprintf(out->args + out->args_len, sizeof(out->args) - out->args_len,
				 "[%zu]", len);

		assert_true(n > 0);
		if (out->args_len + (size_t)n + len >= sizeof(out->args)) {
			out->args_too_long = true;
			return;
		}
		out->args_len += (size_t)n;
		memcpy(out->args + out->args_len, arg, len);
		out->args_len += len;
	}
}

/* Parses buf[0..n) from a heap copy of exactly n bytes. */
static struct outcome feed(struct resp_parser *p, const char *buf, size_t n)
{
	struct outcome out = { 0 };
	char *copy = malloc(n ? n : 1);

	assert_non_null(copy);
	if (n)
		memcpy(copy, buf, n);
	out.status = resp_parse(p, copy, n, &out.used);
	out.nargs = p->nargs;
	out.error = p->error;
	if (out.status == RESP_DONE)
		describe_args(p, copy, &out);
	free(copy);
	return out;
}

static struct outcome parse_once(const char *buf, size_t n, unsigned long long max_bulk)
{
	struct resp_parser p;
	struct outcome out;

	resp_parser_init(&p, max_bulk);
	out = feed(&p, buf, n);
	resp_parser_free(&p);
	return out;
}

static void expect_args(const struct outcome *out, const char *want, size_t want_len)
{
	assert_false(out->args_too_long);
	if (out->args_len != want_len || memcmp(out->args, want, want_len) != 0)
		fail_msg("arguments \"%.*s\", expected \"%.*s\"", (int)out->args_len, out->args,
			 (int)want_len, want);
}

static void expect_same(const struct outcome *a, const struct outcome *b)
{
	assert_int_equal(a->status, b->status);
	if (a->status == RESP_DONE) {
		assert_int_equal(a->used, b->used);
		assert_int_equal(a->nargs, b->nargs);
		expect_args(a, b->args, b->args_len);
	} else if (a->status == RESP_ERROR) {
		assert_string_equal(a->error, b->error);
	}
}

#define S(lit) lit, sizeof(lit) - 1

/* One complete command: parsed whole gives DONE using all of it. */
#define EXPECT_COMMAND(input, want)                             \
	do {                                                    \
		struct outcome out_ = parse_once(S(input), 0);  \
		assert_int_equal(out_.status, RESP_DONE);       \
		assert_int_equal(out_.used, sizeof(input) - 1); \
		expect_args(&out_, S(want));                    \
	} while (0)

#define EXPECT_ERROR(input, message)                           \
	do {                                                   \
		struct outcome out_ = parse_once(S(input), 0); \
		assert_int_equal(out_.status, RESP_ERROR);     \
		assert_string_equal(out_.error, message);      \
	} while (0)

#define EXPECT_MORE(input)                                     \
	do {                                                   \
		struct outcome out_ = parse_once(S(input), 0); \
		assert_int_equal(out_.status, RESP_MORE);      \
	} while (0)

static void parse_multibulk_command_gives_its_arguments(void **state)
{
	(void)state;
	EXPECT_COMMAND("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n", "[3]SET[3]key[5]value");
	/* Bulks are binary: CR, LF and NUL inside are data. */
	EXPECT_COMMAND("*2\r\n$4\r\nECHO\r\n$5\r\na\r\n\0b\r\n", "[4]ECHO[5]a\r\n\0b");
	EXPECT_COMMAND("*2\r\n$3\r\nGET\r\n$0\r\n\r\n", "[3]GET[0]");
}

static void parse_multibulk_of_zero_or_negative_count_is_an_empty_command(void **state)
{
	(void)state;
	EXPECT_COMMAND("*0\r\n", "");
	EXPECT_COMMAND("*-1\r\n", "");
	EXPECT_COMMAND("*-5\r\n", "");
}

static void parse_empty_inline_lines_are_empty_commands(void **state)
{
	(void)state;
	EXPECT_COMMAND("\r\n", "");
	EXPECT_COMMAND("\n", "");
	EXPECT_COMMAND("   \t \r\n", "");
}

static void parse_bulk_skips_the_two_bytes_after_its_data_unread(void **state)
{
	(void)state;
	/* Redis takes whatever two bytes follow a bulk, and the byte after a
	 * header's CR, as the line end. */
	EXPECT_COMMAND("*1\r\n$4\r\nPINGxy", "[4]PING");
	EXPECT_COMMAND("*1\rX$4\r\nPING\r\n", "[4]PING");
	EXPECT_COMMAND("*1\r\n$4\r\rPING\r\n", "[4]PING");
}

static void parse_pipeline_gives_each_command_in_turn(void **state)
{
	static const char pipeline[] = "*1\r\n$4\r\nPING\r\n"
				       "ECHO hi\r\n"
				       "*0\r\n"
				       "\r\n"
				       "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
				       "*1\r\n$4\r\nPI";
	static const struct {
		const char *args;
		size_t used;
	} want[] = {
		{ "[4]PING", 14 }, { "[4]ECHO[2]hi", 9 }, { "", 4 },
		{ "", 2 },         { "[3]GET[1]k", 20 },
	};
	struct resp_parser p;
	size_t off = 0;

	(void)state;
	resp_parser_init(&p, 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct outcome out = feed(&p, pipeline + off, sizeof(pipeline) - 1 - off);

		assert_int_equal(out.status, RESP_DONE);
		assert_int_equal(out.used, want[i].used);
		expect_args(&out, want[i].args, strlen(want[i].args));
		off += out.used;
	}
	assert_int_equal(feed(&p, pipeline + off, sizeof(pipeline) - 1 - off).status, RESP_MORE);
	assert_int_equal(resp_parser_need(&p), 14);
	resp_parser_free(&p);
}

/*
 * Each prefix of a command gives MORE (or, for a bad command, the same error
 * once the error shows), both from a new parser and from one fed a byte at
 * a time with the bytes moved each time; the whole gives the same result.
 */
static void expect_every_split(const char *cmd, size_t n)
{
	struct outcome whole = parse_once(cmd, n, 0), out;
	struct resp_parser p;

	assert_int_not_equal(whole.status, RESP_MORE);
	if (whole.status == RESP_DONE)
		assert_int_equal(whole.used, n);
	for (size_t k = 1; k < n; k++) {
		resp_parser_init(&p, 0);
		out = feed(&p, cmd, k);
		if (out.status == RESP_ERROR) {
			expect_same(&out, &whole);
		} else {
			assert_int_equal(out.status, RESP_MORE);
			out = feed(&p, cmd, n);
			expect_same(&out, &whole);
		}
		resp_parser_free(&p);
	}
	resp_parser_init(&p, 0);
	for (size_t k = 1; k <= n; k++) {
		out = feed(&p, cmd, k);
		if (out.status != RESP_MORE) {
			assert_true(k == n || whole.status == RESP_ERROR);
			expect_same(&out, &whole);
			break;
		}
		assert_true(k < n);
	}
	resp_parser_free(&p);
}

static void parse_command_cut_at_every_byte_gives_more_then_the_same_command(void **state)
{
	static const struct {
		const char *cmd;
		size_t len;
	} cmds[] = {
		{ S("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n") },
		{ S("*2\r\n$4\r\nECHO\r\n$6\r\na\r\nb\r\n\r\n") },
		{ S("*1\r\n$0\r\n\r\n") },
		{ S("*0\r\n") },
		{ S("*-1\r\n") },
		{ S("*12\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n"
		    "$1\r\ng\r\n$1\r\nh\r\n$1\r\ni\r\n$1\r\nj\r\n$1\r\nk\r\n$"
		    "10\r\n0123456789\r\n") },
		{ S("PING\r\n") },
		{ S("PING\n") },
		{ S("\r\n") },
		{ S("SET k \"a b\\x41\\\"\" 'c\\'d'\r\n") },
		{ S("*1\r\nx\r\n") },
		{ S("*1\r\n$-1\r\n") },
		{ S("*x\r\n") },
		{ S("*2\r\n$3\r\nGET\r\n:1\r\n") },
		{ S("ECHO \"a\r\n") },
		{ S("ECHO 'a'b\r\n") },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		expect_every_split(cmds[i].cmd, cmds[i].len);
}

static void parse_rejects_a_multibulk_length_that_is_not_a_number(void **state)
{
	(void)state;
	EXPECT_ERROR("*x\r\n", "Protocol error: invalid multibulk length");
	EXPECT_ERROR("*\r\n", "Protocol error: invalid multibulk length");
	EXPECT_ERROR("*00\r\n", "Protocol error: invalid multibulk length");
	EXPECT_ERROR("*-0\r\n", "Protocol error: invalid multibulk length");
	EXPECT_ERROR("*+1\r\n", "Protocol error: invalid multibulk length");
	EXPECT_ERROR("* 1\r\n", "Protocol error: invalid multibulk length");
	EXPECT_ERROR("*1 \r\n", "Protocol error: invalid multibulk length");
	EXPECT_ERROR("*-99999999999999999999\r\n", "Protocol error: invalid multibulk length");
	EXPECT_ERROR("*99999999999999999999\r\n", "Protocol error: invalid multibulk length");
}

static void parse_rejects_more_than_max_args(void **state)
{
	(void)state;
	EXPECT_ERROR("*1048577\r\n", "Protocol error: invalid multibulk length");
	EXPECT_MORE("*1048576\r\n");
}

/* A header line of n bytes (the type byte and n - 1 digits) and no CR. */
static char *digits_line(char type, size_t prefix_len, const char *prefix, size_t n)
{
	char *line = malloc(prefix_len + n);

	assert_non_null(line);
	memcpy(line, prefix, prefix_len);
	line[prefix_len] = type;
	memset(line + prefix_len + 1, '1', n - 1);
	return line;
}

static void parse_rejects_a_count_line_over_the_inline_limit(void **state)
{
	char *line = digits_line('*', 0, "", RESP_MAX_INLINE + 1);
	struct outcome out;

	(void)state;
	out = parse_once(line, RESP_MAX_INLINE + 1, 0);
	assert_int_equal(out.status, RESP_ERROR);
	assert_string_equal(out.error, "Protocol error: too big mbulk count string");
	assert_int_equal(parse_once(line, RESP_MAX_INLINE, 0).status, RESP_MORE);
	free(line);

	line = digits_line('$', 4, "*1\r\n", RESP_MAX_INLINE + 1);
	out = parse_once(line, 4 + RESP_MAX_INLINE + 1, 0);
	assert_int_equal(out.status, RESP_ERROR);
	assert_string_equal(out.error, "Protocol error: too big bulk count string");
	assert_int_equal(parse_once(line, 4 + RESP_MAX_INLINE, 0).status, RESP_MORE);
	free(line);
}

static void parse_rejects_a_bulk_header_without_a_dollar(void **state)
{
	struct outcome out;

	(void)state;
	EXPECT_ERROR("*1\r\nx\r\n", "Protocol error: expected '$', got 'x'");
	EXPECT_ERROR("*2\r\n$3\r\nGET\r\n:1\r\n", "Protocol error: expected '$', got ':'");
	EXPECT_ERROR("*1\r\n\xc3\r\n", "Protocol error: expected '$', got '\xc3'");
	/* The byte is given raw; the reply writer turns a CR into a space. */
	EXPECT_ERROR("*1\r\n\r\n", "Protocol error: expected '$', got '\r'");
	/* Nothing is judged before the header line is whole. */
	EXPECT_MORE("*1\r\nx");
	out = parse_once(S("*1\r\n\0\r\n"), 0);
	assert_int_equal(out.status, RESP_ERROR);
	assert_string_equal(out.error, "Protocol error: expected '$', got '");
}

static void parse_rejects_a_bad_bulk_length(void **state)
{
	(void)state;
	EXPECT_ERROR("*1\r\n$-1\r\n", "Protocol error: invalid bulk length");
	EXPECT_ERROR("*1\r\n$abc\r\n", "Protocol error: invalid bulk length");
	EXPECT_ERROR("*1\r\n$01\r\nx\r\n", "Protocol error: invalid bulk length");
	EXPECT_ERROR("*1\r\n$\r\n", "Protocol error: invalid bulk length");
	EXPECT_ERROR("*1\r\n$+1\r\n", "Protocol error: invalid bulk length");
	EXPECT_ERROR("*1\r\n$1 \r\n", "Protocol error: invalid bulk length");
	EXPECT_ERROR("*1\r\n$536870913\r\n", "Protocol error: invalid bulk length");
	EXPECT_MORE("*1\r\n$536870912\r\n");
}

static void parse_rejects_a_bulk_over_max_bulk(void **state)
{
	struct outcome out;

	(void)state;
	out = parse_once(S("*1\r\n$11\r\n"), 10);
	assert_int_equal(out.status, RESP_ERROR);
	assert_string_equal(out.error, "Protocol error: invalid bulk length");
	out = parse_once(S("*1\r\n$10\r\n0123456789\r\n"), 10);
	assert_int_equal(out.status, RESP_DONE);
	expect_args(&out, S("[10]0123456789"));
}

static void parse_rejects_an_inline_line_over_the_limit(void **state)
{
	char *line = malloc(RESP_MAX_INLINE + 2);
	struct outcome out;

	(void)state;
	assert_non_null(line);
	memset(line, 'a', RESP_MAX_INLINE + 2);
	out = parse_once(line, RESP_MAX_INLINE + 1, 0);
	assert_int_equal(out.status, RESP_ERROR);
	assert_string_equal(out.error, "Protocol error: too big inline request");
	assert_int_equal(parse_once(line, RESP_MAX_INLINE, 0).status, RESP_MORE);
	/* As in Redis, the limit is on bytes held without a LF: a line whose
	 * LF is already in the buffer is served, however long. */
	line[RESP_MAX_INLINE] = '\r';
	line[RESP_MAX_INLINE + 1] = '\n';
	out = parse_once(line, RESP_MAX_INLINE + 2, 0);
	assert_int_equal(out.status, RESP_DONE);
	assert_int_equal(out.nargs, 1);
	free(line);
}

static void parse_rejects_unbalanced_inline_quotes(void **state)
{
	(void)state;
	EXPECT_ERROR("ECHO \"abc\r\n", "Protocol error: unbalanced quotes in request");
	EXPECT_ERROR("ECHO 'abc\r\n", "Protocol error: unbalanced quotes in request");
	EXPECT_ERROR("ECHO \"abc\\\"\r\n", "Protocol error: unbalanced quotes in request");
	EXPECT_ERROR("ECHO \"abc\\\r\n", "Protocol error: unbalanced quotes in request");
	EXPECT_ERROR("ECHO 'abc\\'\r\n", "Protocol error: unbalanced quotes in request");
}

static void parse_rejects_a_closing_quote_followed_by_more_bytes(void **state)
{
	(void)state;
	EXPECT_ERROR("ECHO \"a\"b\r\n", "Protocol error: unbalanced quotes in request");
	EXPECT_ERROR("ECHO 'a'b\r\n", "Protocol error: unbalanced quotes in request");
	EXPECT_ERROR("ECHO a\"b c\"d\r\n", "Protocol error: unbalanced quotes in request");
	EXPECT_ERROR("ECHO \"a\"\"b\"\r\n", "Protocol error: unbalanced quotes in request");
}

static void parse_inline_unquotes_like_redis(void **state)
{
	(void)state;
	EXPECT_COMMAND("SET k \"a\\x41\\n\"\r\n", "[3]SET[1]k[3]aA\n");
	EXPECT_COMMAND("ECHO \"\\n\\r\\t\\b\\a\\\\\\\"\"\r\n", "[4]ECHO[7]\n\r\t\b\a\\\"");
	EXPECT_COMMAND("ECHO \"\\x4a\\x4B\\xff\"\n", "[4]ECHO[3]JK\xff");
	/* \x without two hex digits, and unknown escapes, are the letter. */
	EXPECT_COMMAND("ECHO \"\\xZZ\\x4\" \"\\q\"\r\n", "[4]ECHO[5]xZZx4[1]q");
	/* Single quotes know only \'. */
	EXPECT_COMMAND("ECHO 'a\\'b' 'c\\nd'\r\n", "[4]ECHO[3]a'b[4]c\\nd");
	/* A quote inside an argument opens a quoted part of it. */
	EXPECT_COMMAND("ECHO a\"b c\" d\r\n", "[4]ECHO[4]ab c[1]d");
	EXPECT_COMMAND("ECHO \"\" ''\r\n", "[4]ECHO[0][0]");
	/* A closing quote may be followed by any space, \v and \f included. */
	EXPECT_COMMAND("ECHO \"a\"\tb 'c'\vd\r\n", "[4]ECHO[1]a[1]b[1]c[1]d");
}

static void parse_inline_splits_on_spaces_tabs_and_stray_crs(void **state)
{
	(void)state;
	EXPECT_COMMAND("  \t GET\t k  \r\n", "[3]GET[1]k");
	EXPECT_COMMAND("GET a\rb\r\n", "[3]GET[1]a[1]b");
	/* \v and \f are skipped before an argument but are bytes inside one,
	 * as in sdssplitargs. */
	EXPECT_COMMAND("\v\fGET a\vb\r\n", "[3]GET[3]a\vb");
	/* Only a CR just before the LF is dropped. */
	EXPECT_COMMAND("GET \"a\r\"\r\n", "[3]GET[2]a\r");
	/* NUL is an ordinary byte (Redis never gets this far with one). */
	EXPECT_COMMAND("GET a\0b\r\n", "[3]GET[3]a\0b");
}

static void parse_starts_a_new_command_after_an_error(void **state)
{
	struct resp_parser p;
	struct outcome out;

	(void)state;
	resp_parser_init(&p, 0);
	assert_int_equal(feed(&p, S("*1\r\n$4\r\nPI")).status, RESP_MORE);
	out = feed(&p, S("*1\r\n$4\r\nPI\r\n\r\n"));
	assert_int_equal(out.status, RESP_DONE);
	out = feed(&p, S("*1\r\n$x\r\n"));
	assert_int_equal(out.status, RESP_ERROR);
	assert_int_equal(feed(&p, S("PI")).status, RESP_MORE);
	out = feed(&p, S("PING\r\n"));
	assert_int_equal(out.status, RESP_DONE);
	assert_null(out.error);
	expect_args(&out, S("[4]PING"));
	resp_parser_free(&p);
}

static void parse_need_reports_the_length_a_partial_command_needs(void **state)
{
	struct resp_parser p;

	(void)state;
	resp_parser_init(&p, 0);
	assert_int_equal(feed(&p, S("*12")).status, RESP_MORE);
	assert_int_equal(resp_parser_need(&p), 5);
	assert_int_equal(feed(&p, S("*12\r")).status, RESP_MORE);
	assert_int_equal(resp_parser_need(&p), 5);
	assert_int_equal(feed(&p, S("*12\r\n$100\r\nab")).status, RESP_MORE);
	assert_int_equal(resp_parser_need(&p), 11 + 100 + 2);
	resp_parser_free(&p);

	resp_parser_init(&p, 0);
	assert_int_equal(feed(&p, S("GET k")).status, RESP_MORE);
	assert_int_equal(resp_parser_need(&p), 6);
	resp_parser_free(&p);
}

static void parse_declared_count_does_not_reserve_all_its_arguments(void **state)
{
	enum {
		COUNT = 5000
	};
	struct resp_parser p;
	char *buf = malloc(16 + COUNT * 7);
	size_t len, used;

	(void)state;
	assert_non_null(buf);
	resp_parser_init(&p, 0);
	assert_int_equal(resp_parse(&p, S("*1048576\r\n"), &used), RESP_MORE);
	assert_true(p.args_cap <= 1024);
	resp_parser_free(&p);

	len = (size_t)sprintf(buf, "*%d\r\n", COUNT);
	resp_parser_init(&p, 0);
	assert_int_equal(resp_parse(&p, buf, len, &used), RESP_MORE);
	assert_true(p.args_cap <= 1024);
	for (int i = 0; i < COUNT; i++) {
		memcpy(buf + len, "$1\r\nx\r\n", 7);
		buf[len + 4] = (char)('a' + i % 26);
		len += 7;
		assert_int_equal(resp_parse(&p, buf, len, &used),
				 i + 1 < COUNT ? RESP_MORE : RESP_DONE);
		/* The array grows with the arguments that came, doubling. */
		assert_true(p.args_cap <= 2 * p.nargs || p.args_cap <= 1024);
	}
	assert_int_equal(used, len);
	assert_int_equal(p.nargs, COUNT);
	assert_true(p.args_cap <= COUNT);
	for (size_t i = 0; i < COUNT; i++) {
		size_t n;
		const char *arg = resp_parser_arg(&p, buf, i, &n);

		assert_int_equal(n, 1);
		assert_int_equal(arg[0], 'a' + (int)(i % 26));
	}
	resp_parser_free(&p);
	free(buf);
}

/*
 * A 1 MB bulk fed a byte at a time into a growing buffer: 2^20 calls, which
 * only finish in time if each one does work for its new bytes alone. The
 * need is known, and reported, once the header is read.
 */
static void parse_big_bulk_fed_a_byte_at_a_time_is_linear(void **state)
{
	enum {
		BULK = 1 << 20
	};
	static const char header[] = "*2\r\n$3\r\nSET\r\n$1048576\r\n";
	size_t total = sizeof(header) - 1 + BULK + 2, used = 0, mores = 0, len;
	struct resp_parser p;
	char *buf = malloc(total);
	const char *arg;

	(void)state;
	assert_non_null(buf);
	memcpy(buf, header, sizeof(header) - 1);
	for (size_t i = 0; i < BULK; i++)
		buf[sizeof(header) - 1 + i] = (char)(i * 7 + i / 251);
	memcpy(buf + total - 2, "\r\n", 2);
	resp_parser_init(&p, 0);
	for (len = 1; len <= total; len++) {
		enum resp_status status = resp_parse(&p, buf, len, &used);

		if (status == RESP_DONE)
			break;
		assert_int_equal(status, RESP_MORE);
		mores++;
		if (len >= sizeof(header) - 1)
			assert_int_equal(resp_parser_need(&p), total);
	}
	assert_int_equal(len, total);
	assert_int_equal(mores, total - 1);
	assert_int_equal(used, total);
	assert_int_equal(p.nargs, 2);
	arg = resp_parser_arg(&p, buf, 1, &len);
	assert_int_equal(len, BULK);
	assert_ptr_equal(arg, buf + sizeof(header) - 1);
	resp_parser_free(&p);
	free(buf);
}

/* The same bulk in 16 KiB reads, each into a buffer grown (moved) to fit. */
static void parse_big_bulk_in_moved_pieces_gives_the_whole_bulk(void **state)
{
	enum {
		BULK = 1 << 20,
		PIECE = 16 * 1024
	};
	static const char header[] = "*1\r\n$1048576\r\n";
	size_t total = sizeof(header) - 1 + BULK + 2, used = 0, have = 0, n;
	struct resp_parser p;
	char *src = malloc(total), *buf = NULL;
	enum resp_status status = RESP_MORE;
	const char *arg;

	(void)state;
	assert_non_null(src);
	memcpy(src, header, sizeof(header) - 1);
	for (size_t i = 0; i < BULK; i++)
		src[sizeof(header) - 1 + i] = (char)(i % 253);
	memcpy(src + total - 2, "\r\n", 2);
	resp_parser_init(&p, 0);
	while (status == RESP_MORE) {
		have = have + PIECE < total ? have + PIECE : total;
		buf = realloc(buf, have);
		assert_non_null(buf);
		memcpy(buf, src, have);
		status = resp_parse(&p, buf, have, &used);
	}
	assert_int_equal(status, RESP_DONE);
	assert_int_equal(used, total);
	arg = resp_parser_arg(&p, buf, 0, &n);
	assert_int_equal(n, BULK);
	assert_memory_equal(arg, src + sizeof(header) - 1, BULK);
	resp_parser_free(&p);
	free(buf);
	free(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_multibulk_command_gives_its_arguments),
		cmocka_unit_test(parse_multibulk_of_zero_or_negative_count_is_an_empty_command),
		cmocka_unit_test(parse_empty_inline_lines_are_empty_commands),
		cmocka_unit_test(parse_bulk_skips_the_two_bytes_after_its_data_unread),
		cmocka_unit_test(parse_pipeline_gives_each_command_in_turn),
		cmocka_unit_test(parse_command_cut_at_every_byte_gives_more_then_the_same_command),
		cmocka_unit_test(parse_rejects_a_multibulk_length_that_is_not_a_number),
		cmocka_unit_test(parse_rejects_more_than_max_args),
		cmocka_unit_test(parse_rejects_a_count_line_over_the_inline_limit),
		cmocka_unit_test(parse_rejects_a_bulk_header_without_a_dollar),
		cmocka_unit_test(parse_rejects_a_bad_bulk_length),
		cmocka_unit_test(parse_rejects_a_bulk_over_max_bulk),
		cmocka_unit_test(parse_rejects_an_inline_line_over_the_limit),
		cmocka_unit_test(parse_rejects_unbalanced_inline_quotes),
		cmocka_unit_test(parse_rejects_a_closing_quote_followed_by_more_bytes),
		cmocka_unit_test(parse_inline_unquotes_like_redis),
		cmocka_unit_test(parse_inline_splits_on_spaces_tabs_and_stray_crs),
		cmocka_unit_test(parse_starts_a_new_command_after_an_error),
		cmocka_unit_test(parse_need_reports_the_length_a_partial_command_needs),
		cmocka_unit_test(parse_declared_count_does_not_reserve_all_its_arguments),
		cmocka_unit_test(parse_big_bulk_fed_a_byte_at_a_time_is_linear),
		cmocka_unit_test(parse_big_bulk_in_moved_pieces_gives_the_whole_bulk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
