/*
 * test_kv_cmd.c - the command table and the number parsers of atoll-kv
 * (actors/kv_cmd.c): Redis's string2ll/string2ld rules, option matching,
 * and lookups by name in any case.
 */
#include "../helpers.h"

#include <limits.h>
#include <math.h>

#include "kv_cmd.h"

static bool ll(const char *s, long long *v)
{
	return kv_parse_ll(s, strlen(s), v);
}

static void parse_ll_accepts_redis_integers(void **state)
{
	long long v;

	(void)state;
	assert_true(ll("0", &v));
	assert_int_equal(v, 0);
	assert_true(ll("-1", &v));
	assert_int_equal(v, -1);
	assert_true(ll("9223372036854775807", &v));
	assert_true(v == LLONG_MAX);
	assert_true(ll("-9223372036854775808", &v));
	assert_true(v == LLONG_MIN);
	assert_true(ll("1234567890", &v));
	assert_int_equal(v, 1234567890);
}

static void parse_ll_rejects_what_redis_rejects(void **state)
{
	static const char *bad[] = { "",
				     "-",
				     "+1",
				     "-0",
				     "00",
				     "01",
				     " 1",
				     "1 ",
				     "1a",
				     "9223372036854775808",
				     "-9223372036854775809",
				     "99999999999999999999",
				     "0x1",
				     "1.0" };
	long long v;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (ll(bad[i], &v))
			fail_msg("accepted \"%s\"", bad[i]);
	}
	/* Binary safe: a NUL inside the argument is not the end of it. */
	assert_false(kv_parse_ll("1\0"
				 "2",
				 3, &v));
}

static void parse_ull_covers_the_unsigned_range(void **state)
{
	unsigned long long v;

	(void)state;
	assert_true(kv_parse_ull("18446744073709551615", 20, &v));
	assert_true(v == ULLONG_MAX);
	assert_false(kv_parse_ull("18446744073709551616", 20, &v));
	assert_false(kv_parse_ull("-1", 2, &v));
	assert_true(kv_parse_ull("0", 1, &v));
	assert_true(v == 0);
	assert_false(kv_parse_ull("007", 3, &v));
}

static void parse_ld_follows_strtold_on_the_whole_argument(void **state)
{
	static const char *good[] = { "1.5", "+1.5", "-0",   "00.5", ".5",
				      "5.",  "0x10", "1e10", "inf",  "-inf" };
	static const char *bad[] = {
		"", " 1", "1 ", "nan", "1e", "1e5000", "1e-5000", "abc", "1.5x"
	};
	long double v;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (!kv_parse_ld(good[i], strlen(good[i]), &v))
			fail_msg("rejected \"%s\"", good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (kv_parse_ld(bad[i], strlen(bad[i]), &v))
			fail_msg("accepted \"%s\"", bad[i]);
	}
	assert_true(kv_parse_ld("0x10", 4, &v));
	assert_true(v == 16.0L);
	assert_true(kv_parse_ld("inf", 3, &v) && isinf(v));
	/* Not NUL-terminated: only len bytes count. */
	assert_true(kv_parse_ld("2.5junk", 3, &v));
	assert_true(v == 2.5L);
}

static void arg_is_ignores_ascii_case_only(void **state)
{
	struct kv_arg a = { "eX", 2 };
	struct kv_arg longer = { "exx", 3 };
	struct kv_arg nul = { "E\0", 2 };

	(void)state;
	assert_true(kv_arg_is(&a, "EX"));
	assert_true(kv_arg_is(&a, "ex"));
	assert_false(kv_arg_is(&a, "EXAT"));
	assert_false(kv_arg_is(&longer, "EX"));
	assert_false(kv_arg_is(&nul, "E"));
}

static void table_is_sorted_and_complete(void **state)
{
	size_t n = kv_command_count();

	(void)state;
	assert_true(n >= 64);
	for (size_t i = 0; i < n; i++) {
		const struct kv_command *c = kv_command_at(i);

		if (i > 0 && strcmp(kv_command_at(i - 1)->name, c->name) >= 0)
			fail_msg("%s is out of order", c->name);
		/* The connection runs exactly the commands without exec. */
		assert_true((c->route == KV_ROUTE_CONN) == (c->exec == NULL));
		assert_non_null(c->group);
		assert_non_null(c->summary);
		assert_int_not_equal(c->arity, 0);
		/* Key positions name existing arguments of a minimal call. */
		if (c->route != KV_ROUTE_CONN && c->route != KV_ROUTE_ALL) {
			assert_true(c->first_key >= 1 && c->key_step >= 1);
			assert_true(c->last_key == -1 || c->last_key >= c->first_key);
		}
		assert_ptr_equal(kv_command_find(c->name, strlen(c->name)), c);
	}
	assert_null(kv_command_at(n));
}

static void find_ignores_case_and_rejects_unknown_names(void **state)
{
	const struct kv_command *c;

	(void)state;
	c = kv_command_find("GeT", 3);
	assert_non_null(c);
	assert_string_equal(c->name, "get");
	assert_int_equal(c->arity, 2);
	assert_int_equal(c->flags, KV_CMD_READONLY | KV_CMD_FAST);
	assert_int_equal(c->route, KV_ROUTE_KEY);
	c = kv_command_find("KV.DUMP", 7);
	assert_non_null(c);
	assert_true(c->flags & KV_CMD_INTERNAL);
	c = kv_command_find("MSET", 4);
	assert_non_null(c);
	assert_int_equal(c->first_key, 1);
	assert_int_equal(c->last_key, -1);
	assert_int_equal(c->key_step, 2);
	assert_int_equal(c->route, KV_ROUTE_KEYS);
	assert_int_equal(kv_command_find("rename", 6)->route, KV_ROUTE_MULTI);
	assert_int_equal(kv_command_find("ping", 4)->route, KV_ROUTE_CONN);
	assert_int_equal(kv_command_find("scan", 4)->route, KV_ROUTE_ALL);
	assert_null(kv_command_find("ge", 2));
	assert_null(kv_command_find("gett", 4));
	assert_null(kv_command_find("", 0));
	assert_null(kv_command_find("get\0", 4));
	assert_null(kv_command_find("hset", 4));
	assert_null(kv_command_find("averyveryverylongcommandname", 28));
	/* Only the first len bytes count. */
	assert_non_null(kv_command_find("getrange", 3));
}

static void arity_follows_redis_convention(void **state)
{
	(void)state;
	assert_true(kv_command_arity_ok(kv_command_find("get", 3), 2));
	assert_false(kv_command_arity_ok(kv_command_find("get", 3), 3));
	assert_true(kv_command_arity_ok(kv_command_find("set", 3), 5));
	assert_false(kv_command_arity_ok(kv_command_find("set", 3), 2));
	assert_true(kv_command_arity_ok(kv_command_find("ping", 4), 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_ll_accepts_redis_integers),
		cmocka_unit_test(parse_ll_rejects_what_redis_rejects),
		cmocka_unit_test(parse_ull_covers_the_unsigned_range),
		cmocka_unit_test(parse_ld_follows_strtold_on_the_whole_argument),
		cmocka_unit_test(arg_is_ignores_ascii_case_only),
		cmocka_unit_test(table_is_sorted_and_complete),
		cmocka_unit_test(find_ignores_case_and_rejects_unknown_names),
		cmocka_unit_test(arity_follows_redis_convention),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
