/*
 * test_kv_maxmemory.c - maxmemory and its policies (actors/kv_maxmemory.c),
 * through kv_core_exec as the shard and the connections run commands: the
 * "denyoom" flags of the command table, noeviction's -OOM, what each
 * eviction policy may and may not evict, the per-shard budget, and the drop
 * hook seeing every eviction. Statistical checks leave wide margins (the
 * store's sampling is seeded at random): they fail only if the policy is
 * wrong, not by bad luck.
 */
#include "../helpers.h"

#include "kv_cmd.h"
#include "kv_server.h"

#define NOW 1700000000000ull
#define OOM "-" KV_OOM_ERROR "\r\n"

static struct kv_server srv;
static struct kv_core *core;
static struct resp_out out;
static uint64_t now_ms;

/* What the drop hook saw. */
static struct {
	int evicted;
	int expired;
} drops;

static void on_drop(void *arg, int db, const char *key, size_t klen, enum kv_drop why)
{
	(void)arg;
	(void)db;
	(void)key;
	(void)klen;
	if (why == KV_DROP_EVICTED)
		drops.evicted++;
	else
		drops.expired++;
}

static int setup_shards(unsigned n)
{
	struct kv_settings st;

	kv_settings_default(&st);
	if (kv_server_init(&srv, n, &st) != 0)
		return -1;
	core = &srv.cores[0];
	core->store = kv_store_new();
	if (core->store == NULL)
		return -1;
	kv_store_on_drop(core->store, on_drop, NULL);
	memset(&drops, 0, sizeof(drops));
	resp_out_init(&out, 2);
	now_ms = NOW;
	return 0;
}

static int setup(void **state)
{
	(void)state;
	return setup_shards(1);
}

static int setup4(void **state)
{
	(void)state;
	return setup_shards(4);
}

static int teardown(void **state)
{
	(void)state;
	resp_out_free(&out);
	kv_server_destroy(&srv);
	return 0;
}

/* Runs one command (NULL-terminated arguments) on db 0 through
 * kv_core_exec; returns its reply as a C string (valid until the next
 * call). */
static const char *run(const char *name, ...)
{
	static char reply[4096];
	struct kv_arg argv[16];
	const struct kv_command *cmd;
	struct kv_exec x;
	va_list ap;
	int argc = 0;

	va_start(ap, name);
	for (const char *a = name; a != NULL; a = va_arg(ap, const char *)) {
		assert_true(argc < 16);
		argv[argc].p = a;
		argv[argc].len = strlen(a);
		argc++;
	}
	va_end(ap);
	cmd = kv_command_find(argv[0].p, argv[0].len);
	assert_non_null(cmd);
	assert_true(kv_command_arity_ok(cmd, argc));
	resp_out_reset(&out);
	x = (struct kv_exec){ .store = core->store, .db = 0, .now_ms = now_ms, .out = &out };
	kv_core_exec(core, cmd, &x, argc, argv);
	assert_true(out.len < sizeof(reply));
	memcpy(reply, out.data, out.len);
	reply[out.len] = '\0';
	return reply;
}

#define EXPECT(want, ...) assert_string_equal(run(__VA_ARGS__, NULL), want)

static const char *key(const char *prefix, int i)
{
	static char buf[8][32];
	static int next;
	char *b = buf[next++ % 8];

	snprintf(b, 32, "%s:%d", prefix, i);
	return b;
}

/* A 100-byte value. */
static const char value[] = "0123456789012345678901234567890123456789012345678901234567890123456789"
			    "012345678901234567890123456789";

static void set_policy(const char *policy)
{
	char err[160];

	assert_int_equal(kv_settings_set(&core->settings, "maxmemory-policy", 16, policy,
					 strlen(policy), err, sizeof(err)),
			 0);
}

static bool exists(const char *k)
{
	return kv_lookup(core->store, 0, k, strlen(k), now_ms, KV_LOOKUP_NOTOUCH) != NULL;
}

static uint64_t memory(void)
{
	return kv_store_memory(core->store);
}

static void denyoom_flags_are_redis_7s(void **state)
{
	static const char *const denyoom[] = { "append", "copy",   "decr",     "decrby",
					       "getset", "incr",   "incrby",   "incrbyfloat",
					       "mset",   "msetnx", "psetex",   "set",
					       "setex",  "setnx",  "setrange", "kv.restore" };
	static const char *const not_denyoom[] = { "del",      "unlink",  "expire",  "pexpire",
						   "expireat", "persist", "get",     "getdel",
						   "getex",    "mget",    "flushdb", "flushall",
						   "swapdb",   "move",    "rename",  "renamenx",
						   "touch",    "exists",  "object",  "kv.dump" };

	(void)state;
	for (size_t i = 0; i < sizeof(denyoom) / sizeof(denyoom[0]); i++)
		assert_true(kv_command_find(denyoom[i], strlen(denyoom[i]))->flags &
			    KV_CMD_DENYOOM);
	for (size_t i = 0; i < sizeof(not_denyoom) / sizeof(not_denyoom[0]); i++)
		assert_false(kv_command_find(not_denyoom[i], strlen(not_denyoom[i]))->flags &
			     KV_CMD_DENYOOM);
}

static void without_maxmemory_everything_runs(void **state)
{
	(void)state;
	for (int i = 0; i < 1000; i++)
		EXPECT("+OK\r\n", "set", key("k", i), value);
	assert_int_equal(kv_db_size(core->store, 0), 1000);
	assert_int_equal(drops.evicted, 0);
}

static void noeviction_refuses_denyoom_commands_only(void **state)
{
	uint64_t full;

	(void)state;
	for (int i = 0; i < 1000; i++)
		EXPECT("+OK\r\n", "set", key("k", i), value);
	EXPECT("+OK\r\n", "set", "n", "5");
	core->settings.maxmemory = memory() / 2;
	full = memory();
	EXPECT(OOM, "set", "new", "v");
	EXPECT(OOM, "set", key("k", 1), "v");
	EXPECT(OOM, "incr", "n");
	EXPECT(OOM, "append", key("k", 1), "x");
	EXPECT(OOM, "mset", "a", "1", "b", "2");
	/* Nothing changed, nothing was evicted. */
	assert_int_equal(memory(), full);
	assert_int_equal(drops.evicted, 0);
	assert_false(exists("new"));
	/* Reads, deletes and expiry changes still run. */
	EXPECT("$1\r\n5\r\n", "get", "n");
	EXPECT(":1\r\n", "expire", key("k", 2), "100");
	EXPECT(":1\r\n", "persist", key("k", 2));
	EXPECT(":1\r\n", "del", key("k", 0));
	EXPECT("$100\r\n"
	       "0123456789012345678901234567890123456789012345678901234567890123456789"
	       "012345678901234567890123456789\r\n",
	       "getdel", key("k", 3));
	/* Under the limit again, writes run. */
	for (int i = 4; i < 700; i++)
		EXPECT(":1\r\n", "del", key("k", i));
	EXPECT("+OK\r\n", "set", "new", "v");
	assert_int_equal(drops.evicted, 0);
}

static void allkeys_lru_keeps_the_keys_in_use(void **state)
{
	enum {
		COLD = 2000,
		HOT = 100,
		MORE = 1500
	};
	int hot_left = 0, cold_left = 0;
	struct kv_store_stats st;

	(void)state;
	set_policy("allkeys-lru");
	for (int i = 0; i < COLD; i++)
		EXPECT("+OK\r\n", "set", key("cold", i), value);
	now_ms += 10000;
	for (int i = 0; i < HOT; i++)
		EXPECT("+OK\r\n", "set", key("hot", i), value);
	core->settings.maxmemory = memory();
	/* A scan of new keys, each needing room, while the hot keys are
	 * read between them. */
	for (int i = 0; i < MORE; i++) {
		now_ms += 10;
		EXPECT("+OK\r\n", "set", key("new", i), value);
		assert_true(memory() <= core->settings.maxmemory + 1024);
		if (i % 10 == 0) {
			for (int h = 0; h < HOT; h++)
				(void)run("get", key("hot", h), NULL);
		}
	}
	for (int i = 0; i < HOT; i++)
		hot_left += exists(key("hot", i));
	for (int i = 0; i < COLD; i++)
		cold_left += exists(key("cold", i));
	/* About MORE keys went, all cold ones but by a sampling fluke. */
	assert_true(hot_left >= HOT * 95 / 100);
	assert_true(cold_left <= COLD - MORE * 9 / 10);
	kv_store_stats(core->store, &st);
	assert_int_equal(st.evicted_keys, (uint64_t)drops.evicted);
	assert_true(drops.evicted >= MORE * 9 / 10);
	assert_int_equal(drops.expired, 0);
}

/* Persistent keys, and volatile ones; then writes until nothing is left
 * that the policy may evict. */
static void volatile_policy_evicts_only_keys_with_ttl(const char *policy)
{
	int refused = -1;
	char when[32];

	set_policy(policy);
	snprintf(when, sizeof(when), "%llu", (unsigned long long)(NOW / 1000 + 3600));
	for (int i = 0; i < 500; i++) {
		EXPECT("+OK\r\n", "set", key("p", i), value);
		EXPECT("+OK\r\n", "set", key("v", i), value, "exat", when);
	}
	core->settings.maxmemory = memory();
	for (int i = 0; i < 1000 && refused < 0; i++) {
		if (strcmp(run("set", key("new", i), value, NULL), OOM) == 0)
			refused = i;
	}
	/* Every volatile key went (about 500 writes' worth), then writes
	 * were refused; no persistent key was touched. */
	assert_true(refused >= 400 && refused <= 600);
	for (int i = 0; i < 500; i++)
		assert_true(exists(key("p", i)));
	for (int i = 0; i < refused; i++)
		assert_true(exists(key("new", i)));
	assert_int_equal(drops.evicted, 500);
	EXPECT(OOM, "set", "one more", "v");
	EXPECT(":1\r\n", "del", key("p", 0));
}

static void volatile_lru_evicts_only_keys_with_ttl(void **state)
{
	(void)state;
	volatile_policy_evicts_only_keys_with_ttl("volatile-lru");
}

static void volatile_random_evicts_only_keys_with_ttl(void **state)
{
	(void)state;
	volatile_policy_evicts_only_keys_with_ttl("volatile-random");
}

static void volatile_ttl_evicts_only_keys_with_ttl(void **state)
{
	(void)state;
	volatile_policy_evicts_only_keys_with_ttl("volatile-ttl");
}

static void volatile_ttl_takes_the_nearest_expiry_first(void **state)
{
	int near_left = 0, far_left = 0;
	char near[32], far[32];

	(void)state;
	set_policy("volatile-ttl");
	snprintf(near, sizeof(near), "%llu", (unsigned long long)(NOW + 600000));
	snprintf(far, sizeof(far), "%llu", (unsigned long long)(NOW + 6000000));
	for (int i = 0; i < 500; i++) {
		EXPECT("+OK\r\n", "set", key("near", i), value, "pxat", near);
		EXPECT("+OK\r\n", "set", key("far", i), value, "pxat", far);
	}
	core->settings.maxmemory = memory();
	for (int i = 0; i < 300; i++)
		EXPECT("+OK\r\n", "set", key("p", i), value);
	for (int i = 0; i < 500; i++) {
		near_left += exists(key("near", i));
		far_left += exists(key("far", i));
	}
	/* ~300 keys went, (nearly) all of them near ones. */
	assert_true(near_left <= 500 - 250);
	assert_true(far_left >= 500 - 15);
}

static void allkeys_random_evicts_any_key(void **state)
{
	int old_left = 0;

	(void)state;
	set_policy("allkeys-random");
	for (int i = 0; i < 1000; i++)
		EXPECT("+OK\r\n", "set", key("old", i), value, "ex", "1000");
	for (int i = 0; i < 1000; i++)
		EXPECT("+OK\r\n", "set", key("p", i), value);
	core->settings.maxmemory = memory();
	for (int i = 0; i < 1000; i++)
		EXPECT("+OK\r\n", "set", key("new", i), value);
	for (int i = 0; i < 1000; i++)
		old_left += exists(key("old", i));
	/* 1000 evictions, each of a random one of ~2000 keys: an old key
	 * stays with p ~ e^-0.5, so ~607 are left (sd ~15). Volatile keys are
	 * no safer and no likelier to go than the rest. */
	assert_true(old_left > 450 && old_left < 780);
	assert_true(drops.evicted >= 1000);
	assert_true(memory() <= core->settings.maxmemory + 1024);
}

/* Keys whose time has passed are expired by the sampling (as expired, not
 * evicted), and the room they leave counts: few live keys go while the
 * samples find expired ones (~10 expected, when the samples miss them). */
static void expired_keys_make_room_before_live_ones_go(void **state)
{
	int left = 0;

	(void)state;
	set_policy("allkeys-lru");
	for (int i = 0; i < 200; i++)
		EXPECT("+OK\r\n", "set", key("soon", i), value, "px", "100");
	for (int i = 0; i < 200; i++)
		EXPECT("+OK\r\n", "set", key("p", i), value);
	core->settings.maxmemory = memory();
	now_ms += 1000;
	for (int i = 0; i < 100; i++)
		EXPECT("+OK\r\n", "set", key("new", i), value);
	for (int i = 0; i < 200; i++)
		left += exists(key("p", i));
	assert_true(left >= 150);
	assert_true(drops.evicted <= 50);
	assert_true(drops.expired >= 50);
	assert_true(drops.expired + drops.evicted >= 90);
}

/* Each of n shards keeps its own store under maxmemory / n. */
static void each_shard_keeps_maxmemory_over_nshards(void **state)
{
	uint64_t used;

	(void)state;
	set_policy("allkeys-random");
	for (int i = 0; i < 1000; i++)
		EXPECT("+OK\r\n", "set", key("k", i), value);
	used = memory();
	/* The whole server's limit is twice what this shard holds: this
	 * shard's share is half of that. */
	core->settings.maxmemory = used * 2;
	EXPECT("+OK\r\n", "set", "one", "v");
	/* One command evicts for at most ~500 us: the next ones go on. */
	for (int i = 0; i < 1000 && memory() > used / 2 + 1024; i++)
		EXPECT("+OK\r\n", "set", key("more", i), "v");
	assert_true(memory() <= used / 2 + 1024);
	assert_true(drops.evicted >= 400);
	assert_true(exists("one"));
}

static void config_values_apply_at_once(void **state)
{
	char err[160];

	(void)state;
	for (int i = 0; i < 100; i++)
		EXPECT("+OK\r\n", "set", key("k", i), value);
	assert_int_equal(
		kv_settings_set(&core->settings, "maxmemory", 9, "4kb", 3, err, sizeof(err)), 0);
	assert_int_equal(core->settings.maxmemory, 4096);
	EXPECT(OOM, "set", "x", "y");
	set_policy("allkeys-lru");
	EXPECT("+OK\r\n", "set", "x", "y");
	for (int i = 0; i < 1000 && memory() > 4096 + 256; i++)
		EXPECT("+OK\r\n", "set", "x", "y");
	assert_true(memory() <= 4096 + 256);
	assert_true(drops.evicted > 50);
	assert_int_equal(kv_settings_set(&core->settings, "maxmemory", 9, "0", 1, err, sizeof(err)),
			 0);
	set_policy("noeviction");
	for (int i = 0; i < 100; i++)
		EXPECT("+OK\r\n", "set", key("k", i), value);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(denyoom_flags_are_redis_7s),
		T(without_maxmemory_everything_runs),
		T(noeviction_refuses_denyoom_commands_only),
		T(allkeys_lru_keeps_the_keys_in_use),
		T(volatile_lru_evicts_only_keys_with_ttl),
		T(volatile_random_evicts_only_keys_with_ttl),
		T(volatile_ttl_evicts_only_keys_with_ttl),
		T(volatile_ttl_takes_the_nearest_expiry_first),
		T(allkeys_random_evicts_any_key),
		T(expired_keys_make_room_before_live_ones_go),
		cmocka_unit_test_setup_teardown(each_shard_keeps_maxmemory_over_nshards, setup4,
						teardown),
		T(config_values_apply_at_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
