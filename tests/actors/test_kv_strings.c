/*
 * test_kv_strings.c - atoll-kv's string commands (actors/kv_strings.c,
 * actors/kv_lcs.c) run through the command table against one store with a
 * fake clock, comparing replies byte for byte with what Redis 7.0.15 sends:
 * every SET/GETEX option and conflict, every error string, TTLs kept or
 * cleared, expiry as the clock moves, INCRBYFLOAT's formatting,
 * GETRANGE/SETRANGE edges, and LCS in all its modes in RESP2 and RESP3.
 */
#include "../helpers.h"

#include "kv_strings.h"

#define NOW 1700000000000ll

struct command_fn {
	const char *name;
	void (*exec)(struct kv_exec *x, int argc, const struct kv_arg *argv);
};

/* Each string command and the function the table must run for it. */
static const struct command_fn commands[] = {
	{ "get", kv_cmd_get },           { "set", kv_cmd_set },
	{ "setnx", kv_cmd_setnx },       { "setex", kv_cmd_setex },
	{ "psetex", kv_cmd_psetex },     { "getset", kv_cmd_getset },
	{ "getdel", kv_cmd_getdel },     { "getex", kv_cmd_getex },
	{ "mget", kv_cmd_mget },         { "mset", kv_cmd_mset },
	{ "msetnx", kv_cmd_msetnx },     { "append", kv_cmd_append },
	{ "strlen", kv_cmd_strlen },     { "incr", kv_cmd_incr },
	{ "decr", kv_cmd_decr },         { "incrby", kv_cmd_incrby },
	{ "decrby", kv_cmd_decrby },     { "incrbyfloat", kv_cmd_incrbyfloat },
	{ "getrange", kv_cmd_getrange }, { "setrange", kv_cmd_setrange },
	{ "substr", kv_cmd_substr },     { "lcs", kv_cmd_lcs },
};

static struct kv_store *store;
static struct resp_out out;
static struct kv_exec x;

static int setup(void **state)
{
	(void)state;
	store = kv_store_new();
	if (store == NULL)
		return -1;
	resp_out_init(&out, 2);
	x = (struct kv_exec){ .store = store, .db = 0, .now_ms = NOW, .out = &out, .dirty = 0 };
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	resp_out_free(&out);
	kv_store_free(store);
	store = NULL;
	return 0;
}

/* Runs the command in args (NULL-terminated C strings) through the command
 * table, as the connection would, and checks that its reply is exactly
 * want[0..wlen). */
static void check_cmd(const char *want, size_t wlen, const char *const *args)
{
	struct kv_arg argv[32];
	int argc = 0;
	const struct kv_command *cmd = kv_command_find(args[0], strlen(args[0]));

	for (; args[argc] != NULL; argc++) {
		assert_true(argc < 32);
		argv[argc] = (struct kv_arg){ .p = args[argc], .len = strlen(args[argc]) };
	}
	assert_non_null(cmd);
	assert_non_null(cmd->exec);
	assert_true(kv_command_arity_ok(cmd, argc));
	resp_out_reset(&out);
	cmd->exec(&x, argc, argv);
	assert_false(out.oom);
	if (out.len != wlen || memcmp(out.data, want, wlen) != 0) {
		print_error("command %s: want [%.*s] got [%.*s]\n", args[0], (int)wlen, want,
			    (int)out.len, out.data);
		fail();
	}
}

/* CMD("reply", "set", "k", "v"): want is a literal, so it may hold NULs. */
#define CMD(want, ...) check_cmd(want, sizeof(want) - 1, (const char *const[]){ __VA_ARGS__, NULL })

static struct kv_entry *entry(const char *key)
{
	return kv_lookup(store, 0, key, strlen(key), x.now_ms, false);
}

static int64_t expire_of(const char *key)
{
	struct kv_entry *e = entry(key);

	assert_non_null(e);
	return kv_entry_expire(e);
}

static void table_runs_these_functions_for_the_string_commands(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct kv_command *cmd =
			kv_command_find(commands[i].name, strlen(commands[i].name));

		assert_non_null(cmd);
		assert_ptr_equal(cmd->exec, commands[i].exec);
	}
}

/* --- GET / SET -------------------------------------------------------------------- */

static void get_missing_key_is_nil_in_both_protocols(void **state)
{
	(void)state;
	CMD("$-1\r\n", "get", "nokey");
	out.proto = 3;
	CMD("_\r\n", "get", "nokey");
	CMD("*2\r\n_\r\n_\r\n", "mget", "a", "b");
	CMD("_\r\n", "set", "k", "v", "get");
}

static void set_then_get_round_trips_binary_values(void **state)
{
	struct kv_arg argv[3] = { { "set", 3 }, { "k\0y", 3 }, { "a\0\r\nb", 5 } };

	(void)state;
	resp_out_reset(&out);
	kv_cmd_set(&x, 3, argv);
	assert_int_equal(out.len, 5);
	assert_memory_equal(out.data, "+OK\r\n", 5);
	resp_out_reset(&out);
	kv_cmd_get(&x, 2, argv);
	assert_int_equal(out.len, 11);
	assert_memory_equal(out.data, "$5\r\na\0\r\nb\r\n", 11);
	CMD("$-1\r\n", "get", "k");
	CMD("+OK\r\n", "set", "e", "");
	CMD("$0\r\n\r\n", "get", "e");
	assert_int_equal(x.dirty, 2);
}

static void set_nx_xx_and_get_follow_redis7(void **state)
{
	(void)state;
	CMD("$-1\r\n", "set", "k", "v", "xx");
	assert_null(entry("k"));
	CMD("$-1\r\n", "set", "k", "v", "xx", "get");
	assert_null(entry("k"));
	CMD("$-1\r\n", "set", "k", "v", "nx", "get");
	CMD("$1\r\nv\r\n", "set", "k", "v2", "nx", "get");
	CMD("$1\r\nv\r\n", "get", "k");
	CMD("$-1\r\n", "set", "k", "v2", "NX");
	CMD("$1\r\nv\r\n", "set", "k", "v3", "xx", "get");
	CMD("+OK\r\n", "set", "k", "v4", "Xx");
	CMD("$2\r\nv4\r\n", "set", "k", "v5", "get", "get");
	CMD("$-1\r\n", "set", "k", "v6", "nx", "nx");
	CMD("$2\r\nv5\r\n", "get", "k");
	assert_int_equal(x.dirty, 4);
}

static void set_option_conflicts_are_syntax_errors(void **state)
{
	static const char *const bad[][6] = {
		{ "nx", "xx" },
		{ "xx", "nx" },
		{ "ex", "1", "px", "1" },
		{ "ex", "1", "keepttl" },
		{ "keepttl", "ex", "1" },
		{ "exat", "1", "pxat", "1" },
		{ "ex" },
		{ "px" },
		{ "foo" },
		{ "persist" },
		{ "ex", "abc", "foo" },
		{ "ex", "0", "nx", "xx" },
		{ "ex", "10", "px" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *args[10] = { "set", "k", "v" };

		for (size_t j = 0; j < 6 && bad[i][j] != NULL; j++)
			args[3 + j] = bad[i][j];
		check_cmd("-ERR syntax error\r\n", 19, args);
	}
	assert_null(entry("k"));
	assert_int_equal(x.dirty, 0);
}

static void set_expire_arguments_are_checked_as_redis_does(void **state)
{
	(void)state;
	CMD("-ERR invalid expire time in 'set' command\r\n", "set", "k", "v", "ex", "0");
	CMD("-ERR invalid expire time in 'set' command\r\n", "set", "k", "v", "px", "-1");
	CMD("-ERR invalid expire time in 'set' command\r\n", "set", "k", "v", "ex",
	    "9223372036854775807");
	CMD("-ERR invalid expire time in 'set' command\r\n", "set", "k", "v", "px",
	    "9223372036854775807");
	/* Fits once scaled to ms, overflows once now is added. */
	CMD("-ERR invalid expire time in 'set' command\r\n", "set", "k", "v", "ex",
	    "9223372036854775");
	CMD("-ERR invalid expire time in 'set' command\r\n", "set", "k", "v", "exat",
	    "9223372036854776");
	CMD("-ERR value is not an integer or out of range\r\n", "set", "k", "v", "ex", "abc");
	CMD("-ERR value is not an integer or out of range\r\n", "set", "k", "v", "ex", "1.5");
	CMD("-ERR value is not an integer or out of range\r\n", "set", "k", "v", "ex", "010");
	CMD("-ERR value is not an integer or out of range\r\n", "set", "k", "v", "ex", "+10");
	/* The last of a repeated option is the one checked. */
	CMD("-ERR value is not an integer or out of range\r\n", "set", "k", "v", "ex", "10", "ex",
	    "abc");
	assert_null(entry("k"));
	/* Numbers are checked before NX looks at the key. */
	CMD("+OK\r\n", "set", "k", "v");
	CMD("-ERR invalid expire time in 'set' command\r\n", "set", "k", "v", "nx", "ex", "0");
	CMD("+OK\r\n", "set", "k", "v", "ex", "abc", "ex", "10");
	assert_int_equal(expire_of("k"), NOW + 10000);
	CMD("+OK\r\n", "set", "k", "v", "exat", "9223372036854775");
	assert_int_equal(expire_of("k"), 9223372036854775000ll);
	CMD("+OK\r\n", "set", "k", "v", "pxat", "9223372036854775807");
	assert_int_equal(expire_of("k"), INT64_MAX);
}

static void set_expire_times_are_absolute_unix_ms(void **state)
{
	(void)state;
	CMD("+OK\r\n", "set", "a", "v", "EX", "10");
	assert_int_equal(expire_of("a"), NOW + 10000);
	CMD("+OK\r\n", "set", "b", "v", "px", "1500");
	assert_int_equal(expire_of("b"), NOW + 1500);
	CMD("+OK\r\n", "set", "c", "v", "exat", "1800000000");
	assert_int_equal(expire_of("c"), 1800000000000ll);
	CMD("+OK\r\n", "set", "d", "v", "pxat", "1800000000123");
	assert_int_equal(expire_of("d"), 1800000000123ll);
	CMD("+OK\r\n", "setex", "e", "5", "v");
	assert_int_equal(expire_of("e"), NOW + 5000);
	CMD("+OK\r\n", "psetex", "f", "5", "v");
	assert_int_equal(expire_of("f"), NOW + 5);
}

static void set_clears_ttl_keepttl_keeps_it(void **state)
{
	(void)state;
	CMD("+OK\r\n", "set", "k", "v", "ex", "100");
	CMD("+OK\r\n", "set", "k", "v2", "keepttl");
	assert_int_equal(expire_of("k"), NOW + 100000);
	CMD("+OK\r\n", "set", "k", "v3", "KEEPTTL", "keepttl", "xx");
	assert_int_equal(expire_of("k"), NOW + 100000);
	CMD("$2\r\nv3\r\n", "set", "k", "v4", "get");
	assert_int_equal(expire_of("k"), KV_NO_EXPIRE);
	CMD("+OK\r\n", "set", "n", "v", "keepttl");
	assert_int_equal(expire_of("n"), KV_NO_EXPIRE);
	CMD("+OK\r\n", "set", "k", "v", "px", "100");
	CMD("$1\r\nv\r\n", "getset", "k", "w");
	assert_int_equal(expire_of("k"), KV_NO_EXPIRE);
}

static void set_with_a_time_already_past_leaves_no_key(void **state)
{
	(void)state;
	CMD("+OK\r\n", "set", "k", "v", "exat", "1");
	assert_null(entry("k"));
	CMD("+OK\r\n", "set", "k", "old");
	CMD("$3\r\nold\r\n", "set", "k", "v", "pxat", "1", "get");
	assert_null(entry("k"));
	CMD("+OK\r\n", "set", "k", "v", "pxat", "1700000000000");
	assert_null(entry("k"));
	CMD("+OK\r\n", "set", "k", "old");
	CMD("$-1\r\n", "set", "k", "v", "exat", "1", "nx");
	CMD("$3\r\nold\r\n", "get", "k");
}

static void keys_expire_as_the_clock_moves(void **state)
{
	(void)state;
	CMD("+OK\r\n", "set", "k", "v", "px", "100");
	x.now_ms = NOW + 99;
	CMD("$1\r\nv\r\n", "get", "k");
	x.now_ms = NOW + 100;
	CMD("$-1\r\n", "get", "k");
	CMD("+OK\r\n", "set", "k", "v", "px", "100");
	x.now_ms += 100;
	/* An expired key is a missing key to every command. */
	CMD(":1\r\n", "setnx", "k", "new");
	CMD("$-1\r\n", "set", "a", "v", "xx");
	CMD("+OK\r\n", "set", "k", "v", "px", "10");
	x.now_ms += 10;
	CMD(":1\r\n", "incr", "k");
	assert_int_equal(expire_of("k"), KV_NO_EXPIRE);
	CMD("+OK\r\n", "set", "k", "v", "px", "10");
	x.now_ms += 10;
	CMD(":0\r\n", "strlen", "k");
	CMD("$0\r\n\r\n", "getrange", "k", "0", "-1");
	CMD("$-1\r\n", "getex", "k", "persist");
}

static void setnx_setex_psetex(void **state)
{
	(void)state;
	CMD(":1\r\n", "setnx", "k", "a");
	CMD(":0\r\n", "setnx", "k", "b");
	CMD("$1\r\na\r\n", "get", "k");
	CMD("-ERR invalid expire time in 'setex' command\r\n", "setex", "k", "0", "v");
	CMD("-ERR invalid expire time in 'setex' command\r\n", "setex", "k", "-1", "v");
	CMD("-ERR invalid expire time in 'setex' command\r\n", "setex", "k", "9223372036854775",
	    "v");
	CMD("-ERR value is not an integer or out of range\r\n", "setex", "k", "1.0", "v");
	CMD("-ERR invalid expire time in 'psetex' command\r\n", "psetex", "k", "0", "v");
	CMD("-ERR invalid expire time in 'psetex' command\r\n", "psetex", "k",
	    "9223372036854775807", "v");
	CMD("-ERR value is not an integer or out of range\r\n", "psetex", "k", "x", "v");
	CMD("$1\r\na\r\n", "get", "k");
	CMD("+OK\r\n", "setex", "k", "10", "v");
	CMD("$1\r\nv\r\n", "get", "k");
	assert_int_equal(x.dirty, 2);
}

static void getset_and_getdel(void **state)
{
	(void)state;
	CMD("$-1\r\n", "getset", "k", "a");
	CMD("$1\r\na\r\n", "getset", "k", "b");
	CMD("$1\r\nb\r\n", "getdel", "k");
	assert_null(entry("k"));
	CMD("$-1\r\n", "getdel", "k");
	assert_int_equal(x.dirty, 3);
}

static void getex_sets_persists_or_deletes(void **state)
{
	(void)state;
	CMD("$-1\r\n", "getex", "nokey");
	/* A missing key is nil before its time is checked. */
	CMD("$-1\r\n", "getex", "nokey", "ex", "0");
	CMD("$-1\r\n", "getex", "nokey", "ex", "abc");
	CMD("-ERR syntax error\r\n", "getex", "nokey", "foo");
	CMD("+OK\r\n", "set", "k", "v");
	x.dirty = 0;
	CMD("$1\r\nv\r\n", "getex", "k");
	assert_int_equal(x.dirty, 0);
	CMD("-ERR invalid expire time in 'getex' command\r\n", "getex", "k", "ex", "0");
	CMD("-ERR invalid expire time in 'getex' command\r\n", "getex", "k", "ex",
	    "9223372036854775");
	CMD("-ERR value is not an integer or out of range\r\n", "getex", "k", "px", "abc");
	CMD("-ERR syntax error\r\n", "getex", "k", "ex", "10", "px", "10");
	CMD("-ERR syntax error\r\n", "getex", "k", "persist", "ex", "10");
	CMD("-ERR syntax error\r\n", "getex", "k", "ex", "10", "persist");
	CMD("-ERR syntax error\r\n", "getex", "k", "keepttl");
	CMD("-ERR syntax error\r\n", "getex", "k", "nx");
	CMD("-ERR syntax error\r\n", "getex", "k", "get");
	CMD("-ERR syntax error\r\n", "getex", "k", "ex");
	assert_int_equal(expire_of("k"), KV_NO_EXPIRE);
	CMD("$1\r\nv\r\n", "getex", "k", "ex", "10", "ex", "20");
	assert_int_equal(expire_of("k"), NOW + 20000);
	CMD("$1\r\nv\r\n", "getex", "k", "PX", "5");
	assert_int_equal(expire_of("k"), NOW + 5);
	CMD("$1\r\nv\r\n", "getex", "k", "exat", "1800000000");
	assert_int_equal(expire_of("k"), 1800000000000ll);
	CMD("$1\r\nv\r\n", "getex", "k", "pxat", "1800000000001");
	assert_int_equal(expire_of("k"), 1800000000001ll);
	assert_int_equal(x.dirty, 4);
	CMD("$1\r\nv\r\n", "getex", "k", "persist", "persist");
	assert_int_equal(expire_of("k"), KV_NO_EXPIRE);
	assert_int_equal(x.dirty, 5);
	/* PERSIST on a key without a TTL changes nothing. */
	CMD("$1\r\nv\r\n", "getex", "k", "persist");
	assert_int_equal(x.dirty, 5);
	CMD("$1\r\nv\r\n", "getex", "k", "exat", "1");
	assert_null(entry("k"));
	assert_int_equal(x.dirty, 6);
}

/* --- several keys ----------------------------------------------------------------- */

static void mget_mset_msetnx(void **state)
{
	(void)state;
	CMD("+OK\r\n", "mset", "a", "1", "b", "2");
	CMD("+OK\r\n", "mset", "a", "x", "a", "y");
	CMD("*3\r\n$1\r\ny\r\n$1\r\n2\r\n$-1\r\n", "mget", "a", "b", "c");
	CMD(":0\r\n", "msetnx", "c", "3", "a", "1");
	assert_null(entry("c"));
	CMD(":1\r\n", "msetnx", "c", "3", "d", "4");
	CMD(":1\r\n", "msetnx", "e", "1", "e", "2");
	CMD("*3\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n2\r\n", "mget", "c", "d", "e");
	assert_int_equal(x.dirty, 8);
	CMD("-ERR wrong number of arguments for 'mset' command\r\n", "mset", "a", "1", "b");
	CMD("-ERR wrong number of arguments for 'msetnx' command\r\n", "msetnx", "x", "1", "y");
	assert_null(entry("x"));
	assert_int_equal(x.dirty, 8);
	/* MSET clears TTLs, as SET does. */
	CMD("+OK\r\n", "set", "t", "v", "ex", "10");
	CMD("+OK\r\n", "mset", "t", "w");
	assert_int_equal(expire_of("t"), KV_NO_EXPIRE);
}

static void reads_count_hits_and_misses_writes_do_not(void **state)
{
	struct kv_store_stats st;

	(void)state;
	CMD("+OK\r\n", "set", "a", "1");
	CMD(":2\r\n", "incr", "a");
	CMD(":0\r\n", "setnx", "a", "1");
	CMD(":1\r\n", "append", "b", "x");
	CMD(":1\r\n", "setrange", "c", "0", "x");
	kv_store_stats(store, &st);
	assert_int_equal(st.keyspace_hits, 0);
	assert_int_equal(st.keyspace_misses, 0);
	CMD("$1\r\n2\r\n", "get", "a");
	CMD("$-1\r\n", "get", "zz");
	CMD("*2\r\n$1\r\n2\r\n$-1\r\n", "mget", "a", "zz");
	CMD(":1\r\n", "strlen", "b");
	CMD("$0\r\n\r\n", "lcs", "a", "zz");
	kv_store_stats(store, &st);
	assert_int_equal(st.keyspace_hits, 4);
	assert_int_equal(st.keyspace_misses, 3);
}

/* --- APPEND, STRLEN, GETRANGE, SETRANGE ------------------------------------------ */

static void append_and_strlen(void **state)
{
	(void)state;
	CMD(":0\r\n", "strlen", "a");
	CMD(":5\r\n", "append", "a", "hello");
	CMD(":10\r\n", "append", "a", "world");
	CMD(":10\r\n", "strlen", "a");
	CMD("$10\r\nhelloworld\r\n", "get", "a");
	/* An empty APPEND still creates the key. */
	CMD(":0\r\n", "append", "e", "");
	assert_non_null(entry("e"));
	CMD("+OK\r\n", "set", "t", "ab", "ex", "10");
	CMD(":4\r\n", "append", "t", "cd");
	assert_int_equal(expire_of("t"), NOW + 10000);
}

static void getrange_clamps_like_redis(void **state)
{
	(void)state;
	CMD("+OK\r\n", "set", "a", "helloworld");
	CMD("$10\r\nhelloworld\r\n", "getrange", "a", "0", "-1");
	CMD("$3\r\nrld\r\n", "getrange", "a", "-3", "-1");
	CMD("$0\r\n\r\n", "getrange", "a", "5", "2");
	CMD("$0\r\n\r\n", "getrange", "a", "100", "200");
	CMD("$1\r\nh\r\n", "getrange", "a", "-100", "-50");
	CMD("$3\r\nhel\r\n", "getrange", "a", "-100", "2");
	CMD("$7\r\nloworld\r\n", "getrange", "a", "3", "100");
	CMD("$1\r\nh\r\n", "getrange", "a", "0", "0");
	CMD("$1\r\nd\r\n", "getrange", "a", "-1", "-1");
	CMD("$1\r\nd\r\n", "getrange", "a", "9", "9");
	CMD("$0\r\n\r\n", "getrange", "a", "10", "10");
	CMD("$0\r\n\r\n", "getrange", "a", "9", "-100");
	CMD("$0\r\n\r\n", "getrange", "a", "-1", "-2");
	CMD("$0\r\n\r\n", "getrange", "a", "2", "-9");
	CMD("$10\r\nhelloworld\r\n", "getrange", "a", "0", "9223372036854775807");
	CMD("$1\r\nh\r\n", "getrange", "a", "-9223372036854775808", "-9223372036854775808");
	CMD("$0\r\n\r\n", "getrange", "a", "9223372036854775807", "9223372036854775807");
	CMD("$3\r\nhel\r\n", "substr", "a", "0", "2");
	CMD("-ERR value is not an integer or out of range\r\n", "getrange", "a", "abc", "1");
	CMD("-ERR value is not an integer or out of range\r\n", "getrange", "a", "0",
	    "9223372036854775808");
	/* Numbers are checked before the key is looked up. */
	CMD("-ERR value is not an integer or out of range\r\n", "getrange", "nokey", "x", "1");
	CMD("$0\r\n\r\n", "getrange", "nokey", "0", "-1");
	CMD("+OK\r\n", "set", "e", "");
	CMD("$0\r\n\r\n", "getrange", "e", "0", "-1");
	CMD("$0\r\n\r\n", "getrange", "e", "0", "0");
	CMD("$0\r\n\r\n", "getrange", "e", "-1", "-1");
}

static void setrange_pads_with_zeros_and_checks_bounds(void **state)
{
	(void)state;
	CMD(":0\r\n", "setrange", "k", "0", "");
	CMD(":0\r\n", "setrange", "k", "5", "");
	CMD(":0\r\n", "setrange", "k", "536870912", "");
	assert_null(entry("k"));
	CMD("-ERR offset is out of range\r\n", "setrange", "k", "-1", "x");
	CMD("-ERR value is not an integer or out of range\r\n", "setrange", "k", "abc", "x");
	CMD("-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n", "setrange", "k",
	    "536870912", "x");
	CMD("-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n", "setrange", "k",
	    "536870911", "xx");
	CMD("-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n", "setrange", "k",
	    "9223372036854775807", "x");
	assert_null(entry("k"));
	assert_int_equal(x.dirty, 0);
	CMD(":6\r\n", "setrange", "k", "3", "abc");
	CMD("$6\r\n\0\0\0abc\r\n", "get", "k");
	CMD(":6\r\n", "setrange", "k", "1", "X");
	CMD("$6\r\n\0X\0abc\r\n", "get", "k");
	CMD(":6\r\n", "setrange", "k", "10", "");
	CMD(":8\r\n", "setrange", "k", "5", "yzw");
	CMD("$8\r\n\0X\0abyzw\r\n", "get", "k");
	assert_int_equal(x.dirty, 3);
	CMD("+OK\r\n", "set", "t", "hello", "px", "50");
	CMD(":5\r\n", "setrange", "t", "0", "J");
	CMD("$5\r\nJello\r\n", "get", "t");
	assert_int_equal(expire_of("t"), NOW + 50);
}

/* --- counters ------------------------------------------------------------------------ */

static void incr_family_and_its_errors(void **state)
{
	static const char *const not_ints[] = { "abc", "010", "+1", "-0",
						" 1",  "1 ",  "",   "12345678901234567890",
						"1.0" };

	(void)state;
	CMD(":1\r\n", "incr", "n");
	CMD(":11\r\n", "incrby", "n", "10");
	CMD(":6\r\n", "decrby", "n", "5");
	CMD(":5\r\n", "decr", "n");
	CMD("$1\r\n5\r\n", "get", "n");
	CMD(":-5\r\n", "decrby", "m", "5");
	CMD("-ERR value is not an integer or out of range\r\n", "incrby", "n", "abc");
	CMD("-ERR value is not an integer or out of range\r\n", "incrby", "n", "1.5");
	CMD("-ERR value is not an integer or out of range\r\n", "decrby", "n", "");
	CMD("-ERR decrement would overflow\r\n", "decrby", "n", "-9223372036854775808");
	CMD(":-9223372036854775803\r\n", "incrby", "n", "-9223372036854775808");
	for (size_t i = 0; i < sizeof(not_ints) / sizeof(not_ints[0]); i++) {
		CMD("+OK\r\n", "set", "s", not_ints[i]);
		CMD("-ERR value is not an integer or out of range\r\n", "incr", "s");
	}
	CMD("+OK\r\n", "set", "s", "9223372036854775807");
	CMD("-ERR increment or decrement would overflow\r\n", "incr", "s");
	CMD("-ERR increment or decrement would overflow\r\n", "incrby", "s", "1");
	CMD(":-1\r\n", "incrby", "s", "-9223372036854775808");
	CMD("+OK\r\n", "set", "s", "-9223372036854775808");
	CMD("-ERR increment or decrement would overflow\r\n", "decr", "s");
	CMD("-ERR increment or decrement would overflow\r\n", "decrby", "s", "1");
	CMD("$20\r\n-9223372036854775808\r\n", "get", "s");
	CMD("+OK\r\n", "set", "z", "0");
	CMD(":0\r\n", "incrby", "z", "0");
}

static void incr_append_and_setrange_keep_the_ttl(void **state)
{
	(void)state;
	CMD("+OK\r\n", "set", "k", "1", "ex", "100");
	CMD(":2\r\n", "incr", "k");
	CMD(":12\r\n", "incrby", "k", "10");
	CMD(":11\r\n", "decr", "k");
	CMD("$4\r\n11.5\r\n", "incrbyfloat", "k", "0.5");
	CMD(":5\r\n", "append", "k", "0");
	CMD(":5\r\n", "setrange", "k", "0", "2");
	CMD("$5\r\n21.50\r\n", "get", "k");
	assert_int_equal(expire_of("k"), NOW + 100000);
}

static void incrbyfloat_formats_as_redis(void **state)
{
	(void)state;
	CMD("+OK\r\n", "set", "f", "10.5");
	CMD("$4\r\n10.6\r\n", "incrbyfloat", "f", "0.1");
	CMD("$23\r\n-4989.39999999999999991\r\n", "incrbyfloat", "f", "-5.0e3");
	CMD("$4\r\n3000\r\n", "incrbyfloat", "g", "3.0e3");
	CMD("$6\r\n3001.5\r\n", "incrbyfloat", "g", "1.5");
	CMD("$6\r\n3001.5\r\n", "get", "g");
	CMD("$3\r\n0.5\r\n", "incrbyfloat", "h", "5.0e-1");
	CMD("$1\r\n1\r\n", "incrbyfloat", "i", "+1");
	CMD("$2\r\n17\r\n", "incrbyfloat", "i", "0x10");
	CMD("$9\r\n0.0000001\r\n", "incrbyfloat", "j", "0.0000001");
	CMD("$21\r\n100000000000000000000\r\n", "incrbyfloat", "k", "1e20");
	CMD("$31\r\n1000000000000000000024696061952\r\n", "incrbyfloat", "l", "1e30");
	CMD("$1\r\n0\r\n", "incrbyfloat", "m", "-0");
	CMD("$3\r\n0.5\r\n", "incrbyfloat", "m", ".5");
	CMD("$3\r\n5.5\r\n", "incrbyfloat", "m", "5.");
	CMD("$19\r\n3.14159265358979324\r\n", "incrbyfloat", "o", "3.14159265358979323846264");
	CMD("$1\r\n0\r\n", "incrbyfloat", "p", "1e-20");
	CMD("$1\r\n0\r\n", "incrbyfloat", "q", "-1e-20");
	CMD("$30\r\n123456789012345678899921813504\r\n", "incrbyfloat", "r",
	    "123456789012345678901234567890");
	CMD("+OK\r\n", "set", "s", "5");
	CMD("$3\r\n7.5\r\n", "incrbyfloat", "s", "2.5");
}

static void incrbyfloat_errors(void **state)
{
	(void)state;
	CMD("-ERR value is not a valid float\r\n", "incrbyfloat", "h", "abc");
	CMD("-ERR value is not a valid float\r\n", "incrbyfloat", "h", "nan");
	CMD("-ERR value is not a valid float\r\n", "incrbyfloat", "h", "");
	CMD("-ERR value is not a valid float\r\n", "incrbyfloat", "h", " 1");
	CMD("-ERR value is not a valid float\r\n", "incrbyfloat", "h", "1 ");
	CMD("-ERR increment would produce NaN or Infinity\r\n", "incrbyfloat", "h", "inf");
	CMD("-ERR increment would produce NaN or Infinity\r\n", "incrbyfloat", "h", "-inf");
	assert_null(entry("h"));
	CMD("+OK\r\n", "set", "s", "abc");
	CMD("-ERR value is not a valid float\r\n", "incrbyfloat", "s", "1");
	CMD("+OK\r\n", "set", "s", "inf");
	CMD("-ERR increment would produce NaN or Infinity\r\n", "incrbyfloat", "s", "-inf");
	CMD("-ERR increment would produce NaN or Infinity\r\n", "incrbyfloat", "s", "1");
	assert_int_equal(x.dirty, 2);
}

/* --- LCS -------------------------------------------------------------------------------- */

/* The pieces of an LCS IDX reply: a range [from, to], a match in both
 * strings (with its length when WITHMATCHLEN), and the whole reply with the
 * map header of RESP2 (a flat array) or RESP3. */
#define RANGE(from, to) "*2\r\n:" #from "\r\n:" #to "\r\n"
#define MATCH(a0, a1, b0, b1) "*2\r\n" RANGE(a0, a1) RANGE(b0, b1)
#define MATCH_LEN(a0, a1, b0, b1, n) "*3\r\n" RANGE(a0, a1) RANGE(b0, b1) ":" #n "\r\n"
#define IDX(map, n, matches, len) \
	map "$7\r\nmatches\r\n*" #n "\r\n" matches "$3\r\nlen\r\n:" #len "\r\n"
#define MAP2 "*4\r\n"
#define MAP3 "%2\r\n"

static void lcs_docs_examples_in_every_mode(void **state)
{
	(void)state;
	CMD("+OK\r\n", "mset", "key1", "ohmytext", "key2", "mynewtext");
	CMD("$6\r\nmytext\r\n", "lcs", "key1", "key2");
	CMD(":6\r\n", "lcs", "key1", "key2", "LEN");
	CMD(":6\r\n", "lcs", "key1", "key2", "len", "withmatchlen", "minmatchlen", "3");
	CMD(IDX(MAP2, 2, MATCH(4, 7, 5, 8) MATCH(2, 3, 0, 1), 6), "lcs", "key1", "key2", "IDX");
	CMD(IDX(MAP2, 2, MATCH(4, 7, 5, 8) MATCH(2, 3, 0, 1), 6), "lcs", "key1", "key2", "idx",
	    "minmatchlen", "-5");
	CMD(IDX(MAP2, 1, MATCH(4, 7, 5, 8), 6), "lcs", "key1", "key2", "idx", "minmatchlen", "4");
	CMD(IDX(MAP2, 1, MATCH_LEN(4, 7, 5, 8, 4), 6), "lcs", "key1", "key2", "idx", "minmatchlen",
	    "4", "withmatchlen");
	CMD(IDX(MAP2, 2, MATCH_LEN(4, 7, 5, 8, 4) MATCH_LEN(2, 3, 0, 1, 2), 6), "lcs", "key1",
	    "key2", "idx", "withmatchlen");
	out.proto = 3;
	CMD(IDX(MAP3, 2, MATCH(4, 7, 5, 8) MATCH(2, 3, 0, 1), 6), "lcs", "key1", "key2", "idx");
	CMD(IDX(MAP3, 1, MATCH_LEN(4, 7, 5, 8, 4), 6), "lcs", "key1", "key2", "idx", "withmatchlen",
	    "minmatchlen", "4");
	CMD("$6\r\nmytext\r\n", "lcs", "key1", "key2");
	CMD(":6\r\n", "lcs", "key1", "key2", "len");
}

static void lcs_missing_keys_and_errors(void **state)
{
	(void)state;
	CMD("+OK\r\n", "set", "a", "x");
	CMD("$0\r\n\r\n", "lcs", "a", "nokey");
	CMD(":0\r\n", "lcs", "nokey", "nokey2", "len");
	CMD(IDX(MAP2, 0, "", 0), "lcs", "a", "nokey", "idx", "withmatchlen");
	CMD("$1\r\nx\r\n", "lcs", "a", "a");
	CMD(IDX(MAP2, 1, MATCH(0, 0, 0, 0), 1), "lcs", "a", "a", "idx", "minmatchlen", "2",
	    "minmatchlen", "1");
	CMD("-ERR If you want both the length and indexes, please just use IDX.\r\n", "lcs", "a",
	    "a", "len", "idx");
	CMD("-ERR syntax error\r\n", "lcs", "a", "a", "foo");
	CMD("-ERR syntax error\r\n", "lcs", "a", "a", "minmatchlen");
	CMD("-ERR value is not an integer or out of range\r\n", "lcs", "a", "a", "minmatchlen",
	    "abc");
	CMD("-ERR value is not an integer or out of range\r\n", "lcs", "a", "a", "minmatchlen",
	    "9223372036854775808");
}

static void lcs_refuses_a_table_over_proto_max_bulk_len(void **state)
{
	size_t n = 11600; /* (n + 1)^2 * 4 bytes > 512 MB */
	char *a = malloc(n), *b = malloc(n);
	struct kv_arg len_opt = { "len", 3 };

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	memset(a, 'a', n);
	memset(b, 'b', n);
	resp_out_reset(&out);
	kv_lcs_reply(&out, a, n, b, n, 1, &len_opt, 0);
	static const char want[] =
		"-ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len\r\n";
	assert_int_equal(out.len, sizeof(want) - 1);
	assert_memory_equal(out.data, want, sizeof(want) - 1);
	/* A smaller one is computed. */
	resp_out_reset(&out);
	kv_lcs_reply(&out, a, 2000, b, 2000, 1, &len_opt, 0);
	assert_int_equal(out.len, 4);
	assert_memory_equal(out.data, ":0\r\n", 4);
	free(a);
	free(b);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(table_runs_these_functions_for_the_string_commands),
		T(get_missing_key_is_nil_in_both_protocols),
		T(set_then_get_round_trips_binary_values),
		T(set_nx_xx_and_get_follow_redis7),
		T(set_option_conflicts_are_syntax_errors),
		T(set_expire_arguments_are_checked_as_redis_does),
		T(set_expire_times_are_absolute_unix_ms),
		T(set_clears_ttl_keepttl_keeps_it),
		T(set_with_a_time_already_past_leaves_no_key),
		T(keys_expire_as_the_clock_moves),
		T(setnx_setex_psetex),
		T(getset_and_getdel),
		T(getex_sets_persists_or_deletes),
		T(mget_mset_msetnx),
		T(reads_count_hits_and_misses_writes_do_not),
		T(append_and_strlen),
		T(getrange_clamps_like_redis),
		T(setrange_pads_with_zeros_and_checks_bounds),
		T(incr_family_and_its_errors),
		T(incr_append_and_setrange_keep_the_ttl),
		T(incrbyfloat_formats_as_redis),
		T(incrbyfloat_errors),
		T(lcs_docs_examples_in_every_mode),
		T(lcs_missing_keys_and_errors),
		T(lcs_refuses_a_table_over_proto_max_bulk_len),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
