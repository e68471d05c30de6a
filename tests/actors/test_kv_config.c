/*
 * test_kv_config.c - atoll-kv's settings (actors/kv_config.c) and the shared
 * server state (actors/kv_server.c): the defaults, CONFIG SET of every
 * settable name with its bounds and memory units, the exact error strings
 * Redis 7.0.15 gives for unknown, immutable and bad values (a failed set
 * changes nothing), the CONFIG GET listing, and kv_shard_of: XXH3-64 of the
 * key modulo the shard count, stable, in range and spread evenly.
 */
#include "../helpers.h"

#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "kv_server.h"

#define MiB (1024ull * 1024)
#define GiB (1024ull * MiB)

/* What the defaults are, as kv_server.h documents them. */
static void expect_defaults(const struct kv_settings *s)
{
	assert_string_equal(s->requirepass, "");
	assert_int_equal(s->maxclients, 10000);
	assert_int_equal(s->proto_max_bulk_len, 512 * MiB);
	assert_int_equal(s->client_query_buffer_limit, GiB);
	assert_int_equal(s->client_output_limit, 64 * MiB);
	assert_int_equal(s->hz, 10);
	assert_int_equal(s->appendonly, 0);
	assert_int_equal(s->appendfsync, KV_FSYNC_EVERYSEC);
	assert_int_equal(s->auto_aof_rewrite_percentage, 100);
	assert_int_equal(s->auto_aof_rewrite_min_size, 64 * MiB);
	assert_int_equal(s->maxmemory, 0);
	assert_int_equal(s->maxmemory_policy, KV_EVICT_NOEVICTION);
	assert_int_equal(s->maxmemory_samples, 5);
}

/* kv_settings_set with C strings; err is cleared first. */
static int set(struct kv_settings *s, const char *name, const char *val, char *err, size_t errlen)
{
	memset(err, 0, errlen);
	return kv_settings_set(s, name, strlen(name), val, strlen(val), err, errlen);
}

/* Checks that setting name to val succeeds. */
static void expect_set(struct kv_settings *s, const char *name, const char *val)
{
	char err[256];
	int rc = set(s, name, val, err, sizeof(err));

	if (rc != 0)
		fail_msg("CONFIG SET %s '%s': %d (%s)", name, val, rc, err);
}

/*
 * Checks that setting name to val fails with rc and exactly the message
 * want, and changes nothing at all.
 */
static void expect_refused(struct kv_settings *s, const char *name, const char *val, int rc,
			   const char *want)
{
	struct kv_settings before = *s;
	char err[512];
	int got = set(s, name, val, err, sizeof(err));

	if (got != rc)
		fail_msg("CONFIG SET %s '%s': rc %d, expected %d (err '%s')", name, val, got, rc,
			 err);
	assert_string_equal(err, want);
	assert_string_equal(s->requirepass, before.requirepass);
	assert_int_equal(s->maxclients, before.maxclients);
	assert_int_equal(s->proto_max_bulk_len, before.proto_max_bulk_len);
	assert_int_equal(s->client_query_buffer_limit, before.client_query_buffer_limit);
	assert_int_equal(s->client_output_limit, before.client_output_limit);
	assert_int_equal(s->hz, before.hz);
}

/* "ERR CONFIG SET failed (possibly related to argument '<name>') - <why>" */
static void expect_bad_value(struct kv_settings *s, const char *name, const char *val,
			     const char *why)
{
	char want[400];

	snprintf(want, sizeof(want),
		 "ERR CONFIG SET failed (possibly related to argument '%s') - %s", name, why);
	expect_refused(s, name, val, -EINVAL, want);
}

static void settings_default_sets_every_field(void **state)
{
	struct kv_settings s;

	(void)state;
	memset(&s, 0xa5, sizeof(s));
	kv_settings_default(&s);
	expect_defaults(&s);
	/* The password is cleared to the end, not just its first byte. */
	for (size_t i = 0; i < sizeof(s.requirepass); i++)
		assert_int_equal(s.requirepass[i], 0);
}

static void settings_set_requirepass_sets_and_clears_it(void **state)
{
	struct kv_settings s;
	char longest[128], too_long[129];

	(void)state;
	kv_settings_default(&s);
	expect_set(&s, "requirepass", "s3cret pass");
	assert_string_equal(s.requirepass, "s3cret pass");
	expect_set(&s, "REQUIREPASS", "x");
	assert_string_equal(s.requirepass, "x");
	expect_set(&s, "requirepass", "");
	assert_string_equal(s.requirepass, "");

	memset(longest, 'p', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	expect_set(&s, "requirepass", longest);
	assert_string_equal(s.requirepass, longest);

	memset(too_long, 'q', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';
	expect_bad_value(&s, "requirepass", too_long, "password too long");
	assert_string_equal(s.requirepass, longest);
}

static void settings_set_maxclients_within_its_bounds(void **state)
{
	struct kv_settings s;

	(void)state;
	kv_settings_default(&s);
	expect_set(&s, "maxclients", "1");
	assert_int_equal(s.maxclients, 1);
	expect_set(&s, "MaxClients", "1000000");
	assert_int_equal(s.maxclients, 1000000);
	expect_set(&s, "maxclients", "5000");
	assert_int_equal(s.maxclients, 5000);

	expect_bad_value(&s, "maxclients", "0", "argument must be between 1 and 1000000 inclusive");
	expect_bad_value(&s, "maxclients", "1000001",
			 "argument must be between 1 and 1000000 inclusive");
	/* Redis parses a negative number, then finds it out of range. */
	expect_bad_value(&s, "maxclients", "-5",
			 "argument must be between 1 and 1000000 inclusive");
	expect_bad_value(&s, "maxclients", "abc", "argument couldn't be parsed into an integer");
	expect_bad_value(&s, "maxclients", "01", "argument couldn't be parsed into an integer");
	expect_bad_value(&s, "maxclients", "+5", "argument couldn't be parsed into an integer");
	expect_bad_value(&s, "maxclients", "", "argument couldn't be parsed into an integer");
	expect_bad_value(&s, "maxclients", "10 ", "argument couldn't be parsed into an integer");
	expect_bad_value(&s, "maxclients", "99999999999999999999",
			 "argument couldn't be parsed into an integer");
	/* Bigger than an unsigned: must not wrap into range. */
	expect_bad_value(&s, "maxclients", "4294967297",
			 "argument must be between 1 and 1000000 inclusive");
	/* The error names the setting as the table spells it. */
	{
		char err[256];

		assert_int_equal(set(&s, "MAXCLIENTS", "0", err, sizeof(err)), -EINVAL);
		assert_string_equal(err, "ERR CONFIG SET failed (possibly related to argument "
					 "'maxclients') - argument must be between 1 and 1000000 "
					 "inclusive");
	}
	assert_int_equal(s.maxclients, 5000);
}

static void settings_set_hz_within_its_bounds(void **state)
{
	struct kv_settings s;

	(void)state;
	kv_settings_default(&s);
	expect_set(&s, "hz", "1");
	assert_int_equal(s.hz, 1);
	expect_set(&s, "HZ", "500");
	assert_int_equal(s.hz, 500);
	expect_set(&s, "hz", "42");
	assert_int_equal(s.hz, 42);
	expect_bad_value(&s, "hz", "0", "argument must be between 1 and 500 inclusive");
	expect_bad_value(&s, "hz", "501", "argument must be between 1 and 500 inclusive");
	expect_bad_value(&s, "hz", "-1", "argument must be between 1 and 500 inclusive");
	expect_bad_value(&s, "hz", "abc", "argument couldn't be parsed into an integer");
	expect_bad_value(&s, "hz", "1.5", "argument couldn't be parsed into an integer");
	assert_int_equal(s.hz, 42);
}

struct memory_case {
	const char *text;
	unsigned long long bytes;
};

static void settings_set_proto_max_bulk_len_with_memory_units(void **state)
{
	/* k/m/g are powers of 1000, kb/mb/gb of 1024, any case; b is bytes. */
	static const struct memory_case ok[] = {
		{ "1048576", MiB },      { "1mb", MiB },       { "1MB", MiB },
		{ "1Mb", MiB },          { "1mB", MiB },       { "1024kb", MiB },
		{ "1024KB", MiB },       { "1024Kb", MiB },    { "2m", 2000000 },
		{ "2M", 2000000 },       { "2000k", 2000000 }, { "2000K", 2000000 },
		{ "512mb", 512 * MiB },  { "3mb", 3 * MiB },   { "1048576b", MiB },
		{ "1048577B", MiB + 1 },
	};
	struct kv_settings s;
	const char *name = "proto-max-bulk-len";

	(void)state;
	kv_settings_default(&s);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		s.proto_max_bulk_len = 0;
		expect_set(&s, name, ok[i].text);
		if (s.proto_max_bulk_len != ok[i].bytes)
			fail_msg("'%s' gave %llu, expected %llu", ok[i].text, s.proto_max_bulk_len,
				 ok[i].bytes);
	}
	expect_set(&s, "PROTO-MAX-BULK-LEN", "4mb");
	assert_int_equal(s.proto_max_bulk_len, 4 * MiB);

	/* Bounds: 1 MiB to 512 MiB. */
	expect_bad_value(&s, name, "1048575",
			 "argument must be between 1048576 and 536870912 inclusive");
	expect_bad_value(&s, name, "1m",
			 "argument must be between 1048576 and 536870912 inclusive");
	expect_bad_value(&s, name, "1000k",
			 "argument must be between 1048576 and 536870912 inclusive");
	expect_bad_value(&s, name, "513mb",
			 "argument must be between 1048576 and 536870912 inclusive");
	expect_bad_value(&s, name, "1gb",
			 "argument must be between 1048576 and 536870912 inclusive");
	expect_bad_value(&s, name, "0", "argument must be between 1048576 and 536870912 inclusive");

	/* Not memory values at all. */
	expect_bad_value(&s, name, "mb", "argument must be a memory value");
	expect_bad_value(&s, name, "kb", "argument must be a memory value");
	expect_bad_value(&s, name, "1x", "argument must be a memory value");
	expect_bad_value(&s, name, "1tb", "argument must be a memory value");
	expect_bad_value(&s, name, "-1", "argument must be a memory value");
	expect_bad_value(&s, name, "-1mb", "argument must be a memory value");
	expect_bad_value(&s, name, "1.5mb", "argument must be a memory value");
	expect_bad_value(&s, name, " 1mb", "argument must be a memory value");
	expect_bad_value(&s, name, "0x10", "argument must be a memory value");
	expect_bad_value(&s, name, "1 mb", "argument must be a memory value");
	expect_bad_value(&s, name, "1mbb", "argument must be a memory value");
	assert_int_equal(s.proto_max_bulk_len, 4 * MiB);

	/* A product past 64 bits is refused, not wrapped into range. */
	{
		char err[256];

		assert_int_equal(set(&s, name, "17179869184gb", err, sizeof(err)), -EINVAL);
		assert_int_equal(s.proto_max_bulk_len, 4 * MiB);
	}
}

static void settings_set_client_query_buffer_limit_with_memory_units(void **state)
{
	static const struct memory_case ok[] = {
		{ "1gb", GiB },           { "1GB", GiB },
		{ "1gB", GiB },           { "2g", 2000000000 },
		{ "2G", 2000000000 },     { "1mb", MiB },
		{ "1024gb", 1024 * GiB }, { "1099511627776", 1024 * GiB },
	};
	struct kv_settings s;
	const char *name = "client-query-buffer-limit";

	(void)state;
	kv_settings_default(&s);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		s.client_query_buffer_limit = 0;
		expect_set(&s, name, ok[i].text);
		if (s.client_query_buffer_limit != ok[i].bytes)
			fail_msg("'%s' gave %llu, expected %llu", ok[i].text,
				 s.client_query_buffer_limit, ok[i].bytes);
	}
	expect_bad_value(&s, name, "1k",
			 "argument must be between 1048576 and 1099511627776 inclusive");
	expect_bad_value(&s, name, "1025gb",
			 "argument must be between 1048576 and 1099511627776 inclusive");
	expect_bad_value(&s, name, "lots", "argument must be a memory value");
	assert_int_equal(s.client_query_buffer_limit, 1024 * GiB);
	/* The other memory setting is a separate field. */
	assert_int_equal(s.proto_max_bulk_len, 512 * MiB);
}

static void settings_set_client_output_buffer_limit_takes_the_normal_hard_limit(void **state)
{
	struct kv_settings s;
	const char *name = "client-output-buffer-limit";

	(void)state;
	kv_settings_default(&s);
	expect_set(&s, name, "normal 10mb 0 0");
	assert_int_equal(s.client_output_limit, 10 * MiB);
	expect_set(&s, name, "normal 1MB 2mb 3 slave 256mb 64mb 60 pubsub 32mb 8mb 60");
	assert_int_equal(s.client_output_limit, MiB);
	expect_set(&s, name, "pubsub 32mb 8mb 60 normal 5gb 1gb 10 replica 1 2 3");
	assert_int_equal(s.client_output_limit, 5 * GiB);
	/* Other classes alone leave the normal limit as it was. */
	expect_set(&s, name, "replica 1 2 3");
	expect_set(&s, name, "slave 1 2 3 pubsub 4 5 6");
	assert_int_equal(s.client_output_limit, 5 * GiB);
	expect_set(&s, "CLIENT-OUTPUT-BUFFER-LIMIT", "NORMAL 7 0 0");
	assert_int_equal(s.client_output_limit, 7);
	/* The last normal class wins; 0 means no limit; b is bytes. */
	expect_set(&s, name, "normal 5 0 0 normal 6 0 0");
	assert_int_equal(s.client_output_limit, 6);
	expect_set(&s, name, "normal 9b 0 +3");
	assert_int_equal(s.client_output_limit, 9);
	expect_set(&s, name, "normal 0 0 0");
	assert_int_equal(s.client_output_limit, 0);
	/* No classes at all is accepted (Redis 7.0.15 answers OK). */
	expect_set(&s, name, "normal 10mb 0 0");
	expect_set(&s, name, "");
	assert_int_equal(s.client_output_limit, 10 * MiB);
}

static void settings_set_client_output_buffer_limit_refuses_bad_values_whole(void **state)
{
	struct kv_settings s;
	const char *name = "client-output-buffer-limit";
	const char *wrong = "Wrong number of arguments in buffer limit configuration.";
	const char *klass = "Invalid client class specified in buffer limit configuration.";
	const char *value = "Error in hard, soft or soft_seconds setting in buffer limit "
			    "configuration.";

	(void)state;
	kv_settings_default(&s);
	expect_set(&s, name, "normal 10mb 0 0");
	expect_bad_value(&s, name, "normal 10mb 0", wrong);
	expect_bad_value(&s, name, "normal", wrong);
	expect_bad_value(&s, name, "a", wrong);
	/* Redis splits on single spaces: doubled, leading or trailing ones
	 * make empty arguments. */
	expect_bad_value(&s, name, "normal 10mb 0 0 ", wrong);
	expect_bad_value(&s, name, " normal 10mb 0 0", wrong);
	expect_bad_value(&s, name, "normal  8  0  0", wrong);
	expect_bad_value(&s, name, "foo 1 2 3", klass);
	expect_bad_value(&s, name, "master 1 1 1", klass);
	expect_bad_value(&s, name, "normal x 0 0", value);
	expect_bad_value(&s, name, "normal -1 0 0", value);
	expect_bad_value(&s, name, "normal 1mb x 0", value);
	expect_bad_value(&s, name, "normal 1mb 0 -1", value);
	expect_bad_value(&s, name, "normal 1mb 0 0x", value);
	expect_bad_value(&s, name, "normal 1mb 0 x", value);
	expect_bad_value(&s, name, "pubsub 1mb 0 x", value);
	/* A bad class after a good one: nothing is applied, the first
	 * class's limit included. */
	expect_bad_value(&s, name, "normal 1mb 0 0 bogus", wrong);
	expect_bad_value(&s, name, "normal 1mb 0 0 foo 1 2 3", klass);
	expect_bad_value(&s, name, "normal 1mb 0 0 slave x 0 0", value);
	assert_int_equal(s.client_output_limit, 10 * MiB);
}

static void settings_set_unknown_name_is_enoent_with_redis_message(void **state)
{
	struct kv_settings s;

	(void)state;
	kv_settings_default(&s);
	expect_refused(&s, "x", "1", -ENOENT,
		       "ERR Unknown option or number of arguments for CONFIG SET - 'x'");
	expect_refused(&s, "maxclient", "1", -ENOENT,
		       "ERR Unknown option or number of arguments for CONFIG SET - 'maxclient'");
	expect_refused(&s, "maxclientsx", "1", -ENOENT,
		       "ERR Unknown option or number of arguments for CONFIG SET - 'maxclientsx'");
	expect_refused(&s, "", "1", -ENOENT,
		       "ERR Unknown option or number of arguments for CONFIG SET - ''");
	/* The name as the client spelt it. */
	expect_refused(&s, "No-Such", "1", -ENOENT,
		       "ERR Unknown option or number of arguments for CONFIG SET - 'No-Such'");
}

static void settings_set_reads_exactly_nlen_and_vlen_bytes(void **state)
{
	struct kv_settings s;
	char err[256];

	(void)state;
	kv_settings_default(&s);
	/* Neither the name nor the value is NUL-terminated. */
	assert_int_equal(kv_settings_set(&s, "hzzz", 2, "123456", 2, err, sizeof(err)), 0);
	assert_int_equal(s.hz, 12);
	assert_int_equal(
		kv_settings_set(&s, "requirepassword", 11, "secretXYZ", 6, err, sizeof(err)), 0);
	assert_string_equal(s.requirepass, "secret");
	assert_int_equal(kv_settings_set(&s, "hzzz", 3, "1", 1, err, sizeof(err)), -ENOENT);
	assert_string_equal(err,
			    "ERR Unknown option or number of arguments for CONFIG SET - 'hzz'");
}

static void settings_set_error_fits_a_small_buffer(void **state)
{
	struct kv_settings s;
	char err[24];

	(void)state;
	kv_settings_default(&s);
	memset(err, 'z', sizeof(err));
	assert_int_equal(kv_settings_set(&s, "maxclients", 10, "0", 1, err, 16), -EINVAL);
	assert_int_equal(strlen(err), 15);
	assert_memory_equal(err, "ERR CONFIG SET ", 15);
	assert_int_equal(err[16], 'z');
	assert_int_equal(kv_settings_set(&s, "nosuchoption", 12, "0", 1, err, 16), -ENOENT);
	assert_int_equal(strlen(err), 15);
	assert_int_equal(kv_settings_set(&s, "port", 4, "0", 1, err, 16), -EPERM);
	assert_int_equal(strlen(err), 15);
	assert_int_equal(err[16], 'z');
}

/* The settable names; every other listed name is a fixed fact. */
static const char *const settable[] = {
	"requirepass",
	"maxclients",
	"proto-max-bulk-len",
	"client-query-buffer-limit",
	"client-output-buffer-limit",
	"hz",
	"appendonly", /* from flags and the file; CONFIG SET refuses it (startup only) */
	"appendfsync",
	"auto-aof-rewrite-percentage",
	"auto-aof-rewrite-min-size",
	"maxmemory",
	"maxmemory-policy",
	"maxmemory-samples",
	"protected-mode",
	"enable-debug-command", /* from flags and the file only, as appendonly */
};

static bool is_settable(const char *name)
{
	for (size_t i = 0; i < sizeof(settable) / sizeof(settable[0]); i++)
		if (strcmp(settable[i], name) == 0)
			return true;
	return false;
}

static void settings_set_immutable_names_are_eperm(void **state)
{
	struct kv_settings s;
	char want[256];
	size_t immutable = 0;

	(void)state;
	kv_settings_default(&s);
	expect_refused(&s, "port", "6380", -EPERM,
		       "ERR CONFIG SET failed (possibly related to argument 'port') - can't set "
		       "immutable config");
	expect_refused(&s, "databases", "4", -EPERM,
		       "ERR CONFIG SET failed (possibly related to argument 'databases') - can't "
		       "set immutable config");
	/* Redis names an immutable setting as the client spelt it. */
	expect_refused(&s, "DATABASES", "4", -EPERM,
		       "ERR CONFIG SET failed (possibly related to argument 'DATABASES') - can't "
		       "set immutable config");
	for (size_t i = 0; i < kv_config_count(); i++) {
		const char *name = kv_config_name(i);

		if (is_settable(name))
			continue;
		snprintf(want, sizeof(want),
			 "ERR CONFIG SET failed (possibly related to argument '%s') - can't set "
			 "immutable config",
			 name);
		expect_refused(&s, name, "", -EPERM, want);
		immutable++;
	}
	assert_true(immutable >= 10);
	expect_defaults(&s);
}

/* Named values: any case, Redis's message listing them when wrong; appendonly
 * parses (flags, file) but CONFIG SET must refuse it. */
static void settings_set_enums(void **state)
{
	struct kv_settings s;
	char err[256];

	(void)state;
	kv_settings_default(&s);
	assert_int_equal(set(&s, "appendfsync", "ALWAYS", err, sizeof(err)), 0);
	assert_int_equal(s.appendfsync, KV_FSYNC_ALWAYS);
	assert_int_equal(set(&s, "appendfsync", "no", err, sizeof(err)), 0);
	assert_int_equal(s.appendfsync, KV_FSYNC_NO);
	expect_refused(&s, "appendfsync", "sometimes", -EINVAL,
		       "ERR CONFIG SET failed (possibly related to argument 'appendfsync') - "
		       "argument(s) must be one of the following: no, everysec, always");
	assert_int_equal(set(&s, "maxmemory-policy", "volatile-ttl", err, sizeof(err)), 0);
	assert_int_equal(s.maxmemory_policy, KV_EVICT_VOLATILE_TTL);
	assert_int_equal(set(&s, "maxmemory", "1mb", err, sizeof(err)), 0);
	assert_int_equal(s.maxmemory, MiB);
	assert_int_equal(set(&s, "appendonly", "yes", err, sizeof(err)), 0);
	assert_int_equal(s.appendonly, 1);
	assert_true(kv_config_startup_only("APPENDONLY", 10));
	assert_false(kv_config_startup_only("appendfsync", 11));
	/* Booleans answer as Redis's do; enable-debug-command is Redis 7's
	 * three-way "protected action". */
	assert_int_equal(s.protected_mode, 1);
	assert_int_equal(set(&s, "protected-mode", "NO", err, sizeof(err)), 0);
	assert_int_equal(s.protected_mode, 0);
	expect_refused(&s, "protected-mode", "maybe", -EINVAL,
		       "ERR CONFIG SET failed (possibly related to argument 'protected-mode') - "
		       "argument must be 'yes' or 'no'");
	assert_int_equal(s.enable_debug_command, KV_ALLOW_NO);
	assert_int_equal(set(&s, "enable-debug-command", "local", err, sizeof(err)), 0);
	assert_int_equal(s.enable_debug_command, KV_ALLOW_LOCAL);
	assert_int_equal(set(&s, "enable-debug-command", "yes", err, sizeof(err)), 0);
	assert_int_equal(s.enable_debug_command, KV_ALLOW_YES);
	expect_refused(&s, "enable-debug-command", "sometimes", -EINVAL,
		       "ERR CONFIG SET failed (possibly related to argument "
		       "'enable-debug-command') - argument(s) must be one of the following: no, "
		       "yes, local");
	assert_true(kv_config_startup_only("enable-debug-command", 20));
	assert_false(kv_config_startup_only("protected-mode", 14));
}

/* Finds a listed setting by name; fails the test when it is missing. */
static size_t config_index(const char *name)
{
	for (size_t i = 0; i < kv_config_count(); i++)
		if (strcmp(kv_config_name(i), name) == 0)
			return i;
	fail_msg("CONFIG GET does not list '%s'", name);
	return 0;
}

static void expect_config(const struct kv_server *srv, const struct kv_settings *s,
			  const char *name, const char *want)
{
	char buf[512];

	memset(buf, 'z', sizeof(buf));
	kv_config_value(srv, s, config_index(name), buf, sizeof(buf));
	if (strcmp(buf, want) != 0)
		fail_msg("CONFIG GET %s: '%s', expected '%s'", name, buf, want);
}

static void config_lists_every_setting_once_with_a_name(void **state)
{
	size_t n = kv_config_count();

	(void)state;
	assert_true(n >= 16);
	for (size_t i = 0; i < n; i++) {
		const char *name = kv_config_name(i);

		assert_non_null(name);
		assert_true(name[0] != '\0');
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(kv_config_name(j), name);
	}
	assert_null(kv_config_name(n));
	assert_null(kv_config_name(n + 100));
	for (size_t i = 0; i < sizeof(settable) / sizeof(settable[0]); i++)
		(void)config_index(settable[i]);
}

static void config_values_come_from_the_server_and_the_settings(void **state)
{
	struct kv_settings s;
	struct kv_server srv;
	char cwd[4096];

	(void)state;
	kv_settings_default(&s);
	memset(&srv, 0, sizeof(srv));
	assert_int_equal(kv_server_init(&srv, 3, &s), 0);
	srv.port = 6380;
	srv.bind = "0.0.0.0";

	/* Fixed facts clients ask about. */
	expect_config(&srv, &s, "save", "");
	expect_config(&srv, &s, "appendonly", "no");
	expect_config(&srv, &s, "appendfsync", "everysec");
	expect_config(&srv, &s, "databases", "16");
	expect_config(&srv, &s, "timeout", "0");
	expect_config(&srv, &s, "maxmemory", "0");
	expect_config(&srv, &s, "maxmemory-policy", "noeviction");
	expect_config(&srv, &s, "io-threads", "1");
	expect_config(&srv, &s, "protected-mode", "yes");
	expect_config(&srv, &s, "enable-debug-command", "no");
	expect_config(&srv, &s, "tcp-keepalive", "0");
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	expect_config(&srv, &s, "dir", cwd);

	/* From the server struct. */
	expect_config(&srv, &s, "port", "6380");
	expect_config(&srv, &s, "bind", "0.0.0.0");
	expect_config(&srv, &s, "reactors", "3");
	srv.port = 0;
	srv.bind = NULL;
	expect_config(&srv, &s, "port", "0");
	expect_config(&srv, &s, "bind", "127.0.0.1");

	/* From the settings: the defaults, then what CONFIG SET changed. */
	expect_config(&srv, &s, "requirepass", "");
	expect_config(&srv, &s, "maxclients", "10000");
	expect_config(&srv, &s, "proto-max-bulk-len", "536870912");
	expect_config(&srv, &s, "client-query-buffer-limit", "1073741824");
	expect_config(&srv, &s, "hz", "10");
	expect_config(&srv, &s, "client-output-buffer-limit",
		      "normal 67108864 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
	expect_set(&s, "requirepass", "hunter2");
	expect_set(&s, "maxclients", "77");
	expect_set(&s, "proto-max-bulk-len", "2mb");
	expect_set(&s, "client-query-buffer-limit", "3mb");
	expect_set(&s, "hz", "25");
	expect_set(&s, "client-output-buffer-limit", "normal 10mb 0 0");
	expect_config(&srv, &s, "requirepass", "hunter2");
	expect_config(&srv, &s, "maxclients", "77");
	expect_config(&srv, &s, "proto-max-bulk-len", "2097152");
	expect_config(&srv, &s, "client-query-buffer-limit", "3145728");
	expect_config(&srv, &s, "hz", "25");
	expect_config(&srv, &s, "client-output-buffer-limit",
		      "normal 10485760 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
	kv_server_destroy(&srv);
}

static void config_value_truncates_to_the_buffer(void **state)
{
	struct kv_settings s;
	struct kv_server srv;
	char buf[8];

	(void)state;
	kv_settings_default(&s);
	memset(&srv, 0, sizeof(srv));
	srv.nshards = 1;
	memset(buf, 'z', sizeof(buf));
	kv_config_value(&srv, &s, config_index("maxmemory-policy"), buf, 5);
	assert_string_equal(buf, "noev");
	assert_int_equal(buf[5], 'z');
	kv_config_value(&srv, &s, config_index("client-output-buffer-limit"), buf, 5);
	assert_string_equal(buf, "norm");
	assert_int_equal(buf[5], 'z');
}

static void server_init_sets_up_every_core(void **state)
{
	struct kv_settings s;
	struct kv_server srv;

	(void)state;
	kv_settings_default(&s);
	s.hz = 33;
	memset(&srv, 0, sizeof(srv));
	assert_int_equal(kv_server_init(&srv, 0, &s), -EINVAL);
	assert_int_equal(kv_server_init(&srv, 4, &s), 0);
	assert_int_equal(srv.nshards, 4);
	assert_non_null(srv.shards);
	assert_non_null(srv.cores);
	for (unsigned i = 0; i < 4; i++) {
		assert_ptr_equal(srv.cores[i].server, &srv);
		assert_int_equal(srv.cores[i].index, i);
		assert_int_equal(srv.cores[i].settings.hz, 33);
		assert_null(srv.cores[i].store);
		assert_true(srv.cores[i].lock_holder == ATOLL_REF_NONE);
		assert_true(srv.shards[i] == ATOLL_REF_NONE);
	}
	assert_true(srv.start_ms > 1600000000000ull);
	/* The server frees the stores the shards leave behind. */
	srv.cores[2].store = kv_store_new();
	assert_non_null(srv.cores[2].store);
	kv_server_destroy(&srv);
	assert_null(srv.cores);
	assert_null(srv.shards);
	kv_server_destroy(&srv); /* twice is harmless */
}

/* A server of n shards, for kv_shard_of (nothing else is used). */
static struct kv_server shards_of(unsigned n)
{
	struct kv_server srv;

	memset(&srv, 0, sizeof(srv));
	srv.nshards = n;
	return srv;
}

static void shard_of_is_xxh3_of_the_key_modulo_the_shards(void **state)
{
	static const char *const keys[] = { "",
					    "a",
					    "key:1",
					    "foo",
					    "{user1000}.following",
					    "a rather longer key, past the 16-byte XXH3 path" };
	char bin[] = { 'a', '\0', 'b' };

	(void)state;
	for (unsigned n = 1; n <= 8; n++) {
		struct kv_server srv = shards_of(n);

		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			size_t len = strlen(keys[i]);

			assert_int_equal(kv_shard_of(&srv, keys[i], len),
					 XXH3_64bits(keys[i], len) % n);
		}
		/* Binary-safe: the bytes after a NUL count. */
		assert_int_equal(kv_shard_of(&srv, bin, 3), XXH3_64bits(bin, 3) % n);
	}
	/* A fixed seed: known values, so the shard of a key never changes
	 * between runs (XXH3-64 of "" with seed 0 is 0x2d06800538d394c2). */
	assert_int_equal(XXH3_64bits("", 0), 0x2d06800538d394c2ull);
	{
		struct kv_server srv = shards_of(7);

		assert_int_equal(kv_shard_of(&srv, "", 0), 0x2d06800538d394c2ull % 7);
	}
}

static void shard_of_is_stable_and_in_range(void **state)
{
	char key[32], copy[32];

	(void)state;
	for (unsigned n = 1; n <= 8; n++) {
		struct kv_server srv = shards_of(n);
		bool seen[8] = { false };

		for (int i = 0; i < 2000; i++) {
			int len = snprintf(key, sizeof(key), "key:%d", i);
			unsigned shard = kv_shard_of(&srv, key, (size_t)len);

			assert_true(shard < n);
			/* The same bytes at another address: the same shard. */
			memcpy(copy, key, sizeof(key));
			assert_int_equal(kv_shard_of(&srv, copy, (size_t)len), shard);
			assert_int_equal(kv_shard_of(&srv, key, (size_t)len), shard);
			seen[shard] = true;
		}
		for (unsigned s = 0; s < n; s++)
			assert_true(seen[s]);
	}
}

static void shard_of_spreads_keys_evenly_over_four_shards(void **state)
{
	struct kv_server srv = shards_of(4);
	unsigned count[4] = { 0 };
	char key[32];

	(void)state;
	for (int i = 0; i < 10000; i++) {
		int len = snprintf(key, sizeof(key), "key:%d", i);

		count[kv_shard_of(&srv, key, (size_t)len)]++;
	}
	for (unsigned s = 0; s < 4; s++) {
		if (count[s] < 2000 || count[s] > 3000)
			fail_msg("shard %u got %u of 10000 keys (%u %u %u %u)", s, count[s],
				 count[0], count[1], count[2], count[3]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(settings_default_sets_every_field),
		cmocka_unit_test(settings_set_requirepass_sets_and_clears_it),
		cmocka_unit_test(settings_set_maxclients_within_its_bounds),
		cmocka_unit_test(settings_set_hz_within_its_bounds),
		cmocka_unit_test(settings_set_proto_max_bulk_len_with_memory_units),
		cmocka_unit_test(settings_set_client_query_buffer_limit_with_memory_units),
		cmocka_unit_test(
			settings_set_client_output_buffer_limit_takes_the_normal_hard_limit),
		cmocka_unit_test(settings_set_client_output_buffer_limit_refuses_bad_values_whole),
		cmocka_unit_test(settings_set_unknown_name_is_enoent_with_redis_message),
		cmocka_unit_test(settings_set_reads_exactly_nlen_and_vlen_bytes),
		cmocka_unit_test(settings_set_error_fits_a_small_buffer),
		cmocka_unit_test(settings_set_immutable_names_are_eperm),
		cmocka_unit_test(settings_set_enums),
		cmocka_unit_test(config_lists_every_setting_once_with_a_name),
		cmocka_unit_test(config_values_come_from_the_server_and_the_settings),
		cmocka_unit_test(config_value_truncates_to_the_buffer),
		cmocka_unit_test(server_init_sets_up_every_core),
		cmocka_unit_test(shard_of_is_xxh3_of_the_key_modulo_the_shards),
		cmocka_unit_test(shard_of_is_stable_and_in_range),
		cmocka_unit_test(shard_of_spreads_keys_evenly_over_four_shards),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
