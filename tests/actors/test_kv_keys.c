/*
 * test_kv_keys.c - the keyspace, expiry and internal commands of a shard
 * (actors/kv_keys.c, kv_expire.c, kv_internal.c), run through the command
 * table as the connection runs them: each test sends argument vectors and
 * compares the reply bytes with what Redis 7.0 sends (RESP2, and RESP3
 * where the two differ), error strings included.
 */
#include "../helpers.h"

#include "kv_cmd.h"
#include "kv_keys.h"

#define NOW 1700000000000ull

static struct kv_store *store;
static struct kv_exec ex;
static struct resp_out out;

static int setup(void **state)
{
	(void)state;
	store = kv_store_new();
	resp_out_init(&out, 2);
	ex = (struct kv_exec){ .store = store, .db = 0, .now_ms = NOW, .out = &out };
	return store == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	resp_out_free(&out);
	kv_store_free(store);
	return 0;
}

/* Runs one command (NULL-terminated arguments) and returns its reply as a
 * C string (valid until the next call). */
static const char *run_v(const char *name, va_list ap)
{
	static char reply[4096];
	struct kv_arg argv[32];
	const struct kv_command *cmd;
	int argc = 0;

	for (const char *a = name; a != NULL; a = va_arg(ap, const char *)) {
		assert_true(argc < 32);
		argv[argc].p = a;
		argv[argc].len = strlen(a);
		argc++;
	}
	cmd = kv_command_find(argv[0].p, argv[0].len);
	assert_non_null(cmd);
	assert_non_null(cmd->exec);
	assert_true(kv_command_arity_ok(cmd, argc));
	resp_out_reset(&out);
	cmd->exec(&ex, argc, argv);
	assert_false(out.oom);
	assert_true(out.len < sizeof(reply));
	memcpy(reply, out.data, out.len);
	reply[out.len] = '\0';
	return reply;
}

static const char *run(const char *name, ...)
{
	va_list ap;
	const char *r;

	va_start(ap, name);
	r = run_v(name, ap);
	va_end(ap);
	return r;
}

#define EXPECT(want, ...) assert_string_equal(run(__VA_ARGS__, NULL), want)

static void put(int db, const char *k, const char *v, int64_t expire)
{
	assert_non_null(kv_set(store, db, k, strlen(k), v, strlen(v), expire));
}

static int64_t expire_of(int db, const char *k)
{
	struct kv_entry *e = kv_lookup(store, db, k, strlen(k), NOW, false);

	assert_non_null(e);
	return kv_entry_expire(e);
}

static bool exists(int db, const char *k)
{
	return kv_lookup(store, db, k, strlen(k), NOW, false) != NULL;
}

static void del_and_unlink_count_deleted_keys(void **state)
{
	(void)state;
	put(0, "a", "1", KV_NO_EXPIRE);
	put(0, "b", "2", KV_NO_EXPIRE);
	put(0, "gone", "x", (int64_t)NOW);
	EXPECT(":2\r\n", "DEL", "a", "b", "c", "a", "gone");
	assert_int_equal(ex.dirty, 2);
	put(0, "a", "1", KV_NO_EXPIRE);
	EXPECT(":1\r\n", "unlink", "a", "b");
	EXPECT(":0\r\n", "del", "a");
	assert_int_equal(ex.dirty, 3);
}

static void exists_and_touch_count_repeats_and_hits(void **state)
{
	struct kv_store_stats st;

	(void)state;
	put(0, "a", "1", KV_NO_EXPIRE);
	EXPECT(":2\r\n", "exists", "a", "a", "nokey");
	EXPECT(":1\r\n", "TOUCH", "a", "nokey");
	EXPECT(":0\r\n", "exists", "nokey");
	kv_store_stats(store, &st);
	assert_int_equal(st.keyspace_hits, 3);
	assert_int_equal(st.keyspace_misses, 3);
	assert_int_equal(ex.dirty, 0);
}

static void type_is_string_or_none(void **state)
{
	(void)state;
	put(0, "a", "1", KV_NO_EXPIRE);
	EXPECT("+string\r\n", "type", "a");
	EXPECT("+none\r\n", "type", "b");
}

static void keys_matches_patterns(void **state)
{
	(void)state;
	EXPECT("*0\r\n", "keys", "*");
	put(0, "hello", "1", KV_NO_EXPIRE);
	put(0, "hallo", "1", KV_NO_EXPIRE);
	put(0, "", "empty key", KV_NO_EXPIRE);
	put(0, "old", "1", (int64_t)NOW - 5);
	EXPECT("*1\r\n$5\r\nhello\r\n", "keys", "h[^a]llo");
	EXPECT("*0\r\n", "keys", "x*");
	/* "*" alone matches every live key, the empty one too. */
	assert_memory_equal(run("keys", "*", NULL), "*3\r\n", 4);
	assert_memory_equal(run("keys", "h*", NULL), "*2\r\n", 4);
	put(1, "one", "1", KV_NO_EXPIRE);
	ex.db = 1;
	EXPECT("*1\r\n$3\r\none\r\n", "keys", "*");
}

static void scan_replies_cursor_and_keys(void **state)
{
	(void)state;
	EXPECT("*2\r\n$1\r\n0\r\n*0\r\n", "scan", "0");
	put(0, "a", "1", KV_NO_EXPIRE);
	EXPECT("*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n", "scan", "0");
	EXPECT("*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n", "SCAN", "0", "MATCH", "a", "COUNT", "5",
	       "TYPE", "STRING");
	EXPECT("*2\r\n$1\r\n0\r\n*0\r\n", "scan", "0", "match", "b*");
	EXPECT("*2\r\n$1\r\n0\r\n*0\r\n", "scan", "0", "type", "hash");
	/* The cursor is read as strtoul reads it. */
	EXPECT("*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n", "scan", "00");
	EXPECT("*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n", "scan", "");
	EXPECT("-ERR invalid cursor\r\n", "scan", "18446744073709551616");
	EXPECT("-ERR invalid cursor\r\n", "scan", " 1");
	EXPECT("-ERR invalid cursor\r\n", "scan", "1x", "foo");
	EXPECT("-ERR syntax error\r\n", "scan", "0", "count", "0");
	EXPECT("-ERR syntax error\r\n", "scan", "0", "count", "-1");
	EXPECT("-ERR value is not an integer or out of range\r\n", "scan", "0", "count", "x");
	EXPECT("-ERR syntax error\r\n", "scan", "0", "match");
	EXPECT("-ERR syntax error\r\n", "scan", "0", "foo", "bar");
}

static void scan_walks_a_large_db_in_steps(void **state)
{
	char k[16];
	size_t seen = 0;
	char cursor[32] = "0";
	int calls = 0;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		sprintf(k, "k%d", i);
		put(0, k, "v", KV_NO_EXPIRE);
	}
	do {
		const char *r = run("scan", cursor, "count", "50", NULL);
		const char *p;
		int clen, n;

		assert_memory_equal(r, "*2\r\n$", 5);
		clen = atoi(r + 5);
		p = strchr(r + 5, '\n') + 1;
		memcpy(cursor, p, (size_t)clen);
		cursor[clen] = '\0';
		p = strchr(p, '\n') + 1;
		assert_int_equal(*p, '*');
		n = atoi(p + 1);
		seen += (size_t)n;
		assert_true(n < 200);
		calls++;
	} while (strcmp(cursor, "0") != 0);
	assert_int_equal(seen, 1000);
	assert_true(calls > 5);
}

static void randomkey_and_dbsize(void **state)
{
	(void)state;
	EXPECT("$-1\r\n", "randomkey");
	EXPECT(":0\r\n", "dbsize");
	put(0, "only", "1", KV_NO_EXPIRE);
	put(0, "dead", "1", (int64_t)NOW);
	EXPECT(":2\r\n", "dbsize");
	for (int i = 0; i < 10; i++)
		EXPECT("$4\r\nonly\r\n", "randomkey");
	out.proto = 3;
	EXPECT("*0\r\n", "keys", "x");
	ex.db = 2;
	EXPECT("_\r\n", "randomkey");
}

static void flushdb_and_flushall_take_sync_or_async(void **state)
{
	(void)state;
	put(0, "a", "1", KV_NO_EXPIRE);
	put(1, "b", "1", KV_NO_EXPIRE);
	EXPECT("-ERR syntax error\r\n", "flushdb", "x");
	EXPECT("-ERR syntax error\r\n", "flushdb", "async", "sync");
	EXPECT("-ERR syntax error\r\n", "flushall", "async", "foo");
	assert_int_equal(ex.dirty, 0);
	EXPECT("+OK\r\n", "FLUSHDB", "ASYNC");
	assert_false(exists(0, "a"));
	assert_true(exists(1, "b"));
	EXPECT("+OK\r\n", "flushdb", "sync");
	EXPECT("+OK\r\n", "flushall");
	assert_false(exists(1, "b"));
	assert_true(ex.dirty >= 4);
}

static void swapdb_checks_indexes_in_redis_order(void **state)
{
	(void)state;
	put(0, "a", "1", KV_NO_EXPIRE);
	EXPECT("-ERR invalid first DB index\r\n", "swapdb", "x", "1");
	EXPECT("-ERR invalid first DB index\r\n", "swapdb", "99999999999", "x");
	EXPECT("-ERR invalid second DB index\r\n", "swapdb", "0", "x");
	EXPECT("-ERR DB index is out of range\r\n", "swapdb", "0", "16");
	EXPECT("-ERR DB index is out of range\r\n", "swapdb", "-1", "0");
	EXPECT("+OK\r\n", "swapdb", "1", "1");
	EXPECT("+OK\r\n", "swapdb", "0", "15");
	assert_false(exists(0, "a"));
	assert_true(exists(15, "a"));
}

static void rename_and_renamenx(void **state)
{
	struct kv_store_stats st;

	(void)state;
	put(0, "a", "va", (int64_t)NOW + 5000);
	put(0, "b", "vb", KV_NO_EXPIRE);
	EXPECT("-ERR no such key\r\n", "rename", "nokey", "x");
	EXPECT("-ERR no such key\r\n", "renamenx", "nokey", "nokey");
	EXPECT("-ERR no such key\r\n", "rename", "nokey", "nokey");
	EXPECT("+OK\r\n", "rename", "a", "a");
	EXPECT(":0\r\n", "renamenx", "a", "a");
	EXPECT(":0\r\n", "renamenx", "a", "b");
	assert_int_equal(ex.dirty, 0);
	/* The expiry moves with the value; the old key is gone. */
	EXPECT("+OK\r\n", "rename", "a", "b");
	assert_false(exists(0, "a"));
	assert_int_equal(expire_of(0, "b"), (int64_t)NOW + 5000);
	EXPECT(":1\r\n", "renamenx", "b", "c");
	assert_int_equal(expire_of(0, "c"), (int64_t)NOW + 5000);
	assert_int_equal(ex.dirty, 2);
	EXPECT("*2\r\n$2\r\nva\r\n:1700000005000\r\n", "kv.dump", "c");
	/* RENAME looks keys up as a write: no hits or misses. */
	kv_store_stats(store, &st);
	assert_int_equal(st.keyspace_hits + st.keyspace_misses, 0);
}

static void copy_with_db_and_replace(void **state)
{
	(void)state;
	put(0, "a", "va", (int64_t)NOW + 1000);
	put(0, "b", "vb", KV_NO_EXPIRE);
	EXPECT("-ERR source and destination objects are the same\r\n", "copy", "a", "a");
	EXPECT("-ERR source and destination objects are the same\r\n", "copy", "x", "x");
	EXPECT("-ERR DB index is out of range\r\n", "copy", "a", "c", "db", "16");
	EXPECT("-ERR DB index is out of range\r\n", "copy", "a", "c", "DB", "-1");
	EXPECT("-ERR value is not an integer or out of range\r\n", "copy", "a", "c", "db", "x");
	EXPECT("-ERR syntax error\r\n", "copy", "a", "c", "foo");
	EXPECT("-ERR syntax error\r\n", "copy", "a", "c", "db");
	EXPECT(":0\r\n", "copy", "a", "b");
	EXPECT(":0\r\n", "copy", "nokey", "z");
	assert_int_equal(ex.dirty, 0);
	EXPECT(":1\r\n", "copy", "a", "b", "replace");
	assert_int_equal(expire_of(0, "b"), (int64_t)NOW + 1000);
	EXPECT(":1\r\n", "copy", "a", "a", "db", "1");
	assert_int_equal(expire_of(1, "a"), (int64_t)NOW + 1000);
	EXPECT(":0\r\n", "copy", "a", "a", "db", "1");
	EXPECT(":1\r\n", "copy", "b", "c", "REPLACE", "db", "0");
	assert_true(exists(0, "a"));
	assert_int_equal(ex.dirty, 3);
}

static void move_between_databases(void **state)
{
	(void)state;
	put(0, "a", "1", (int64_t)NOW + 1000);
	put(1, "b", "1", KV_NO_EXPIRE);
	put(0, "b", "0", KV_NO_EXPIRE);
	EXPECT("-ERR value is not an integer or out of range\r\n", "move", "a", "x");
	EXPECT("-ERR DB index is out of range\r\n", "move", "a", "16");
	EXPECT("-ERR source and destination objects are the same\r\n", "move", "nokey", "0");
	EXPECT(":0\r\n", "move", "nokey", "1");
	EXPECT(":0\r\n", "move", "b", "1");
	EXPECT(":1\r\n", "move", "a", "1");
	assert_false(exists(0, "a"));
	assert_int_equal(expire_of(1, "a"), (int64_t)NOW + 1000);
	assert_int_equal(ex.dirty, 1);
}

static void expire_options_follow_redis_7(void **state)
{
	(void)state;
	put(0, "a", "1", KV_NO_EXPIRE);
	EXPECT("-ERR NX and XX, GT or LT options at the same time are not compatible\r\n", "expire",
	       "a", "100", "nx", "xx");
	EXPECT("-ERR NX and XX, GT or LT options at the same time are not compatible\r\n", "expire",
	       "nokey", "100", "NX", "gt");
	EXPECT("-ERR GT and LT options at the same time are not compatible\r\n", "expire", "a",
	       "100", "gt", "lt");
	EXPECT("-ERR Unsupported option foo\r\n", "expire", "a", "abc", "foo");
	EXPECT("-ERR value is not an integer or out of range\r\n", "expire", "a", "abc");
	/* No expiry counts as an infinite one: XX and GT refuse, LT sets. */
	EXPECT(":0\r\n", "expire", "a", "100", "xx");
	EXPECT(":0\r\n", "expire", "a", "100", "gt");
	EXPECT(":0\r\n", "expire", "a", "100", "xx", "gt");
	assert_int_equal(expire_of(0, "a"), KV_NO_EXPIRE);
	EXPECT(":1\r\n", "expire", "a", "50", "lt");
	assert_int_equal(expire_of(0, "a"), (int64_t)NOW + 50000);
	EXPECT(":0\r\n", "expire", "a", "100", "nx");
	EXPECT(":0\r\n", "expire", "a", "50", "gt");
	EXPECT(":1\r\n", "expire", "a", "51", "gt");
	EXPECT(":0\r\n", "expire", "a", "51", "lt");
	/* Repeating an option is allowed. */
	EXPECT(":0\r\n", "expire", "a", "10", "nx", "nx");
	EXPECT(":1\r\n", "pexpire", "a", "10", "xx", "lt");
	assert_int_equal(expire_of(0, "a"), (int64_t)NOW + 10);
	EXPECT(":0\r\n", "expire", "nokey", "100");
	/* A refused past time leaves the key alone. */
	put(0, "b", "1", KV_NO_EXPIRE);
	EXPECT(":0\r\n", "expire", "b", "-5", "xx");
	assert_true(exists(0, "b"));
}

static void expire_in_the_past_deletes_and_overflow_is_refused(void **state)
{
	(void)state;
	put(0, "a", "1", KV_NO_EXPIRE);
	EXPECT("-ERR invalid expire time in 'expire' command\r\n", "EXPIRE", "a",
	       "9223372036854775807");
	EXPECT("-ERR invalid expire time in 'expire' command\r\n", "expire", "a",
	       "9223372036854775");
	EXPECT("-ERR invalid expire time in 'expire' command\r\n", "expire", "a",
	       "-9223372036854775808");
	EXPECT("-ERR invalid expire time in 'pexpire' command\r\n", "pexpire", "a",
	       "9223372036854775000");
	EXPECT("-ERR invalid expire time in 'expireat' command\r\n", "expireat", "a",
	       "9223372036854775807");
	assert_int_equal(ex.dirty, 0);
	EXPECT(":1\r\n", "pexpireat", "a", "9223372036854775807");
	assert_int_equal(expire_of(0, "a"), INT64_MAX);
	EXPECT(":1\r\n", "expire", "a", "0");
	assert_false(exists(0, "a"));
	put(0, "a", "1", KV_NO_EXPIRE);
	EXPECT(":1\r\n", "pexpire", "a", "-9223372036854775808");
	assert_false(exists(0, "a"));
	put(0, "w", "1", KV_NO_EXPIRE);
	EXPECT(":0\r\n", "expireat", "w", "0", "gt");
	EXPECT(":1\r\n", "expireat", "w", "0", "lt");
	assert_false(exists(0, "w"));
	put(0, "n", "1", KV_NO_EXPIRE);
	EXPECT(":1\r\n", "pexpireat", "n", "1700000000000");
	assert_false(exists(0, "n"));
	assert_int_equal(ex.dirty, 5);
}

static void expireat_sets_absolute_times(void **state)
{
	(void)state;
	put(0, "a", "1", KV_NO_EXPIRE);
	EXPECT(":1\r\n", "expireat", "a", "1800000000");
	assert_int_equal(expire_of(0, "a"), 1800000000000);
	EXPECT(":1\r\n", "pexpireat", "a", "1800000000123");
	assert_int_equal(expire_of(0, "a"), 1800000000123);
	EXPECT(":1\r\n", "pexpire", "a", "1500");
	assert_int_equal(expire_of(0, "a"), (int64_t)NOW + 1500);
}

static void ttl_family_and_persist(void **state)
{
	(void)state;
	EXPECT(":-2\r\n", "ttl", "nokey");
	EXPECT(":-2\r\n", "pttl", "nokey");
	EXPECT(":-2\r\n", "expiretime", "nokey");
	EXPECT(":-2\r\n", "pexpiretime", "nokey");
	put(0, "p", "1", KV_NO_EXPIRE);
	EXPECT(":-1\r\n", "ttl", "p");
	EXPECT(":-1\r\n", "pttl", "p");
	EXPECT(":-1\r\n", "expiretime", "p");
	EXPECT(":-1\r\n", "pexpiretime", "p");
	put(0, "v", "1", (int64_t)NOW + 99500);
	/* Seconds round to nearest, as Redis's (ttl + 500) / 1000. */
	EXPECT(":100\r\n", "ttl", "v");
	EXPECT(":99500\r\n", "pttl", "v");
	EXPECT(":1700000099\r\n", "expiretime", "v");
	EXPECT(":1700000099500\r\n", "pexpiretime", "v");
	put(0, "s", "1", (int64_t)NOW + 1499);
	EXPECT(":1\r\n", "ttl", "s");
	EXPECT(":0\r\n", "persist", "p");
	EXPECT(":0\r\n", "persist", "nokey");
	assert_int_equal(ex.dirty, 0);
	EXPECT(":1\r\n", "persist", "v");
	EXPECT(":-1\r\n", "ttl", "v");
	EXPECT(":0\r\n", "persist", "v");
	assert_int_equal(ex.dirty, 1);
	/* At its expiry time a key is gone. */
	ex.now_ms = NOW + 1499;
	EXPECT(":-2\r\n", "pttl", "s");
}

static void object_encoding_and_help(void **state)
{
	(void)state;
	put(0, "i", "12345", KV_NO_EXPIRE);
	put(0, "z", "01", KV_NO_EXPIRE);
	put(0, "n", "-9223372036854775808", KV_NO_EXPIRE);
	put(0, "e", "12345678901234567890123456789012345678901234", KV_NO_EXPIRE);
	put(0, "r", "123456789012345678901234567890123456789012345", KV_NO_EXPIRE);
	EXPECT("$3\r\nint\r\n", "object", "encoding", "i");
	EXPECT("$6\r\nembstr\r\n", "OBJECT", "ENCODING", "z");
	EXPECT("$3\r\nint\r\n", "object", "encoding", "n");
	EXPECT("$6\r\nembstr\r\n", "object", "encoding", "e");
	EXPECT("$3\r\nraw\r\n", "object", "encoding", "r");
	EXPECT("$-1\r\n", "object", "encoding", "nokey");
	EXPECT("-ERR wrong number of arguments for 'object|encoding' command\r\n", "object",
	       "encoding");
	EXPECT("-ERR wrong number of arguments for 'object|encoding' command\r\n", "object",
	       "encoding", "a", "b");
	EXPECT("-ERR unknown subcommand 'foo'. Try OBJECT HELP.\r\n", "object", "foo", "a");
	EXPECT("-ERR unknown subcommand 'Foo'. Try OBJECT HELP.\r\n", "object", "Foo");
	{
		/* OBJECT renamed (rename-command): named as the client called it,
		 * upper-cased, as Redis does. */
		static const char want[] = "-ERR unknown subcommand 'foo'. Try MY-OBJ HELP.\r\n";
		const struct kv_arg argv[] = { { "my-Obj", 6 }, { "foo", 3 } };

		resp_out_reset(&out);
		kv_cmd_object(&ex, 2, argv);
		assert_int_equal(out.len, sizeof(want) - 1);
		assert_memory_equal(out.data, want, sizeof(want) - 1);
	}
	EXPECT("-ERR wrong number of arguments for 'object|help' command\r\n", "object", "help",
	       "x");
	EXPECT("*12\r\n"
	       "+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
	       "+ENCODING <key>\r\n"
	       "+    Return the kind of internal representation used in order to store the "
	       "value\r\n"
	       "+    associated with a <key>.\r\n"
	       "+FREQ <key>\r\n"
	       "+    Return the access frequency index of the <key>. The returned integer is\r\n"
	       "+    proportional to the logarithm of the recent access frequency of the key.\r\n"
	       "+IDLETIME <key>\r\n"
	       "+    Return the idle time of the <key>, that is the approximated number of\r\n"
	       "+    seconds elapsed since the last access to the key.\r\n"
	       "+HELP\r\n"
	       "+    Prints this help.\r\n",
	       "object", "help");
	out.proto = 3;
	EXPECT("_\r\n", "object", "encoding", "nokey");
}

/* OBJECT IDLETIME: seconds since a command last used the key; asking
 * (OBJECT, TTL, TYPE, EXISTS) does not count as using it, GET and TOUCH do. */
static void object_idletime_and_freq(void **state)
{
	(void)state;
	kv_store_set_time(store, NOW);
	put(0, "k", "v", KV_NO_EXPIRE);
	EXPECT(":0\r\n", "object", "idletime", "k");
	ex.now_ms = NOW + 7400;
	EXPECT(":7\r\n", "object", "idletime", "k");
	EXPECT(":-1\r\n", "ttl", "k");
	EXPECT(":1\r\n", "exists", "k");
	EXPECT("+string\r\n", "type", "k");
	EXPECT(":7\r\n", "OBJECT", "IDLETIME", "k");
	EXPECT("$1\r\nv\r\n", "get", "k");
	EXPECT(":0\r\n", "object", "idletime", "k");
	ex.now_ms = NOW + 10000;
	EXPECT(":2\r\n", "object", "idletime", "k");
	EXPECT(":1\r\n", "touch", "k");
	EXPECT(":0\r\n", "object", "idletime", "k");
	EXPECT("$-1\r\n", "object", "idletime", "nokey");
	EXPECT("-ERR wrong number of arguments for 'object|idletime' command\r\n", "object",
	       "idletime");
	EXPECT("$-1\r\n", "object", "freq", "nokey");
	EXPECT("-ERR An LFU maxmemory policy is not selected, access frequency not tracked. "
	       "Please note that when switching between policies at runtime LRU and LFU data "
	       "will take some time to adjust.\r\n",
	       "object", "freq", "k");
	EXPECT("-ERR wrong number of arguments for 'object|freq' command\r\n", "object", "freq",
	       "k", "x");
}

static void kv_dump_and_restore(void **state)
{
	struct kv_store_stats st;

	(void)state;
	put(0, "a", "va", (int64_t)NOW + 1000);
	put(0, "b", "vb", KV_NO_EXPIRE);
	EXPECT("*2\r\n$2\r\nva\r\n:1700000001000\r\n", "kv.dump", "a");
	EXPECT("*2\r\n$2\r\nvb\r\n:-1\r\n", "KV.DUMP", "b");
	EXPECT("*-1\r\n", "kv.dump", "nokey");
	kv_store_stats(store, &st);
	assert_int_equal(st.keyspace_hits + st.keyspace_misses, 0);
	EXPECT(":1\r\n", "kv.restore", "c", "vc", "1700000002000");
	assert_int_equal(expire_of(0, "c"), (int64_t)NOW + 2000);
	EXPECT(":0\r\n", "kv.restore", "c", "other", "-1", "NX");
	EXPECT(":1\r\n", "kv.restore", "c", "vc2", "-1");
	assert_int_equal(expire_of(0, "c"), KV_NO_EXPIRE);
	EXPECT("*2\r\n$3\r\nvc2\r\n:-1\r\n", "kv.dump", "c");
	EXPECT(":1\r\n", "kv.restore", "new", "v", "-1", "nx");
	/* A time already past deletes the key instead. */
	EXPECT(":1\r\n", "kv.restore", "c", "vc3", "1700000000000");
	assert_false(exists(0, "c"));
	EXPECT("-ERR value is not an integer or out of range\r\n", "kv.restore", "c", "v", "x");
	EXPECT("-ERR syntax error\r\n", "kv.restore", "c", "v", "-1", "xx");
	EXPECT("-ERR syntax error\r\n", "kv.restore", "c", "v", "-1", "nx", "nx");
	assert_int_equal(ex.dirty, 4);
	out.proto = 3;
	EXPECT("_\r\n", "kv.dump", "nokey");
}

static void kv_info_and_resetstat(void **state)
{
	const char *r;
	long long v[52];
	const char *p;

	(void)state;
	put(0, "a", "1", KV_NO_EXPIRE);
	put(3, "b", "1", (int64_t)NOW + 1000);
	put(3, "c", "1", KV_NO_EXPIRE);
	EXPECT(":1\r\n", "exists", "a");
	EXPECT(":0\r\n", "exists", "x");
	r = run("kv.info", NULL);
	assert_memory_equal(r, "*52\r\n", 5);
	p = r + 5;
	for (int i = 0; i < 52; i++) {
		assert_int_equal(*p, ':');
		v[i] = strtoll(p + 1, (char **)&p, 10);
		assert_memory_equal(p, "\r\n", 2);
		p += 2;
	}
	assert_int_equal(*p, '\0');
	assert_int_equal(v[0], (long long)kv_store_memory(store));
	assert_true(v[0] > 0);
	assert_int_equal(v[1], 0);
	assert_int_equal(v[2], 1);
	assert_int_equal(v[3], 1);
	assert_int_equal(v[4], 1);  /* db 0 keys */
	assert_int_equal(v[5], 0);  /* db 0 expires */
	assert_int_equal(v[13], 2); /* db 3 keys */
	assert_int_equal(v[14], 1); /* db 3 expires */
	EXPECT("+OK\r\n", "kv.resetstat");
	r = run("kv.info", NULL);
	assert_non_null(strstr(r, "\r\n:0\r\n:0\r\n:0\r\n:1\r\n"));
}

static void internal_commands_are_flagged(void **state)
{
	static const char *const names[] = { "kv.dump", "kv.restore", "kv.info", "kv.resetstat" };

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_true(kv_command_find(names[i], strlen(names[i]))->flags & KV_CMD_INTERNAL);
	assert_false(kv_command_find("del", 3)->flags & KV_CMD_INTERNAL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(del_and_unlink_count_deleted_keys),
		T(exists_and_touch_count_repeats_and_hits),
		T(type_is_string_or_none),
		T(keys_matches_patterns),
		T(scan_replies_cursor_and_keys),
		T(scan_walks_a_large_db_in_steps),
		T(randomkey_and_dbsize),
		T(flushdb_and_flushall_take_sync_or_async),
		T(swapdb_checks_indexes_in_redis_order),
		T(rename_and_renamenx),
		T(copy_with_db_and_replace),
		T(move_between_databases),
		T(expire_options_follow_redis_7),
		T(expire_in_the_past_deletes_and_overflow_is_refused),
		T(expireat_sets_absolute_times),
		T(ttl_family_and_persist),
		T(object_encoding_and_help),
		T(object_idletime_and_freq),
		T(kv_dump_and_restore),
		T(kv_info_and_resetstat),
		T(internal_commands_are_flagged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
