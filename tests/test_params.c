/*
 * test_params.c - actor parameters checked against a type's spec table
 * (atoll/params.h) and the catalog of types by name (atoll/module.h):
 * every kind parses its good forms and refuses bad ones with the message
 * users see, bounds, defaults, required parameters, the type's check hook,
 * links and groups, dup, and catalog add/find/duplicates/bad tables.
 * Module loading (dlopen) is tested with real modules in test_module.c.
 */
#include "helpers.h"

#include <string.h>

#include "atoll/module.h"

static void nop_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	(void)ctx;
	(void)state;
	(void)msg;
}

static const struct atoll_actor_type demo_type = {
	.name = "demo",
	.receive = nop_receive,
};

static const struct atoll_param_spec demo_params[] = {
	{ "count", ATOLL_PARAM_INT, "10", 1, 100, NULL, "how many", 0 },
	{ "name", ATOLL_PARAM_STRING, NULL, 0, 0, NULL, "who", 0 },
	{ "every", ATOLL_PARAM_DURATION, "1s", 1000, 0, NULL, "period", 0 },
	{ "buf", ATOLL_PARAM_SIZE, "64k", 0, 0, NULL, "buffer", 0 },
	{ "verbose", ATOLL_PARAM_BOOL, "no", 0, 0, NULL, "say more", 0 },
	{ "mode", ATOLL_PARAM_ENUM, "hash", 0, 0, "hash|round-robin|broadcast", "how", 0 },
	{ "to", ATOLL_PARAM_LINK, "", 0, 0, NULL, "next stage", ATOLL_PARAM_ACYCLIC },
	{ 0 },
};

/* Refuses count > 50 when mode is broadcast. */
static int demo_check(const struct atoll_params *p, char *err, size_t errlen)
{
	if (atoll_params_int(p, "mode") == 2 && atoll_params_int(p, "count") > 50) {
		snprintf(err, errlen, "broadcast takes at most 50, not %lld",
			 (long long)atoll_params_int(p, "count"));
		return -EINVAL;
	}
	return 0;
}

static const struct atoll_type_info demo_info = {
	.type = &demo_type,
	.summary = "a demo",
	.params = demo_params,
	.check = demo_check,
};

static void test_defaults_and_required(void **st)
{
	struct atoll_params *p = atoll_params_new(&demo_info);
	char err[256];

	(void)st;
	assert_non_null(p);
	assert_int_equal(atoll_params_finish(p, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "missing parameter 'name' (who)");
	assert_int_equal(atoll_params_set(p, "name", "alice", err, sizeof(err)), 0);
	assert_int_equal(atoll_params_finish(p, err, sizeof(err)), 0);
	assert_int_equal(atoll_params_int(p, "count"), 10);
	assert_int_equal(atoll_params_int(p, "every"), 1000000000);
	assert_int_equal(atoll_params_int(p, "buf"), 65536);
	assert_false(atoll_params_bool(p, "verbose"));
	assert_int_equal(atoll_params_int(p, "mode"), 0);
	assert_string_equal(atoll_params_str(p, "mode"), "hash");
	assert_string_equal(atoll_params_str(p, "name"), "alice");
	assert_null(atoll_params_str(p, "nonesuch"));
	assert_int_equal(atoll_params_int(p, "nonesuch"), 0);
	assert_int_equal(atoll_params_links(p, "to", NULL), 0);
	assert_int_equal(atoll_params_link_near(p, "to", 0), ATOLL_REF_NONE);
	assert_int_equal(atoll_params_group(p, NULL), 1);
	assert_int_equal(atoll_params_index(p), 0);
	assert_string_equal(atoll_params_group_name(p), "");
	assert_ptr_equal(atoll_params_type(p), &demo_info);
	atoll_params_free(p);
}

/* Sets name=value and expects it refused with exactly msg. */
static void refuse(struct atoll_params *p, const char *name, const char *value, const char *msg)
{
	char err[256] = "";

	assert_int_equal(atoll_params_set(p, name, value, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, msg);
}

static void test_kinds(void **st)
{
	struct atoll_params *p = atoll_params_new(&demo_info);
	char err[256];

	(void)st;
	assert_int_equal(atoll_params_set(p, "count", "100", err, sizeof(err)), 0);
	assert_int_equal(atoll_params_int(p, "count"), 100);
	refuse(p, "count", "101", "parameter 'count': '101' is out of range (from 1 to 100)");
	refuse(p, "count", "0", "parameter 'count': '0' is out of range (from 1 to 100)");
	refuse(p, "count", "ten", "parameter 'count': expected an integer, got 'ten'");
	refuse(p, "count", "5x", "parameter 'count': expected an integer, got '5x'");
	refuse(p, "count", "", "parameter 'count': expected an integer, got ''");
	refuse(p, "count", "99999999999999999999",
	       "parameter 'count': expected an integer, got '99999999999999999999'");
	assert_int_equal(atoll_params_int(p, "count"), 100); /* unchanged */

	assert_int_equal(atoll_params_set(p, "every", "250ms", err, sizeof(err)), 0);
	assert_int_equal(atoll_params_int(p, "every"), 250000000);
	assert_int_equal(atoll_params_set(p, "every", "2h", err, sizeof(err)), 0);
	assert_int_equal(atoll_params_int(p, "every"), 7200LL * 1000000000);
	assert_int_equal(atoll_params_set(p, "every", "10us", err, sizeof(err)), 0);
	assert_int_equal(atoll_params_int(p, "every"), 10000);
	refuse(p, "every", "500ns",
	       "parameter 'every': '500ns' is out of range (at least 1000 ns)");
	refuse(p, "every", "soon",
	       "parameter 'every': expected a duration like 250ms or 2s, got 'soon'");
	refuse(p, "every", "5", "parameter 'every': expected a duration like 250ms or 2s, got '5'");
	refuse(p, "every", "-1s",
	       "parameter 'every': expected a duration like 250ms or 2s, got '-1s'");
	refuse(p, "every", "99999999999h",
	       "parameter 'every': expected a duration like 250ms or 2s, got '99999999999h'");

	assert_int_equal(atoll_params_set(p, "buf", "16m", err, sizeof(err)), 0);
	assert_int_equal(atoll_params_int(p, "buf"), 16 << 20);
	assert_int_equal(atoll_params_set(p, "buf", "1G", err, sizeof(err)), 0);
	assert_int_equal(atoll_params_int(p, "buf"), 1LL << 30);
	assert_int_equal(atoll_params_set(p, "buf", "4096", err, sizeof(err)), 0);
	assert_int_equal(atoll_params_int(p, "buf"), 4096);
	refuse(p, "buf", "lots",
	       "parameter 'buf': expected a size like 4096, 64k or 16m, got 'lots'");
	refuse(p, "buf", "4t", "parameter 'buf': expected a size like 4096, 64k or 16m, got '4t'");

	for (const char *const *y = (const char *const[]){ "yes", "true", "on", "1", NULL }; *y;
	     y++) {
		assert_int_equal(atoll_params_set(p, "verbose", *y, err, sizeof(err)), 0);
		assert_true(atoll_params_bool(p, "verbose"));
	}
	for (const char *const *n = (const char *const[]){ "no", "false", "off", "0", NULL }; *n;
	     n++) {
		assert_int_equal(atoll_params_set(p, "verbose", *n, err, sizeof(err)), 0);
		assert_false(atoll_params_bool(p, "verbose"));
	}
	refuse(p, "verbose", "maybe", "parameter 'verbose': expected yes or no, got 'maybe'");

	assert_int_equal(atoll_params_set(p, "mode", "round-robin", err, sizeof(err)), 0);
	assert_int_equal(atoll_params_int(p, "mode"), 1);
	refuse(p, "mode", "round",
	       "parameter 'mode': expected one of hash|round-robin|broadcast, got 'round'");
	refuse(p, "evry", "1s",
	       "unknown parameter 'evry' (demo takes: count, name, every, buf, verbose, mode, "
	       "to)");
	atoll_params_free(p);
}

static void test_check_hook(void **st)
{
	struct atoll_params *p = atoll_params_new(&demo_info);
	char err[256];

	(void)st;
	assert_int_equal(atoll_params_set(p, "name", "x", err, sizeof(err)), 0);
	assert_int_equal(atoll_params_set(p, "mode", "broadcast", err, sizeof(err)), 0);
	assert_int_equal(atoll_params_set(p, "count", "60", err, sizeof(err)), 0);
	assert_int_equal(atoll_params_finish(p, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "broadcast takes at most 50, not 60");
	assert_int_equal(atoll_params_set(p, "count", "50", err, sizeof(err)), 0);
	assert_int_equal(atoll_params_finish(p, err, sizeof(err)), 0);
	atoll_params_free(p);
}

static void test_links_groups_dup(void **st)
{
	struct atoll_params *p = atoll_params_new(&demo_info);
	struct atoll_params *d;
	/* Refs are opaque values here: build them with a core in the top bits. */
	const unsigned shift = ATOLL_REF_SLOT_BITS + ATOLL_REF_GEN_BITS;
	atoll_ref to[3] = { (1ull << shift) | 7, (0ull << shift) | 8, (1ull << shift) | 9 };
	atoll_ref group[2] = { 11, 12 };
	const atoll_ref *got;
	char err[256];

	(void)st;
	assert_int_equal(atoll_params_set(p, "name", "x", err, sizeof(err)), 0);
	assert_int_equal(atoll_params_set(p, "to", "workers", err, sizeof(err)), 0);
	assert_int_equal(atoll_params_set_link(p, "to", to, 3), 0);
	assert_int_equal(atoll_params_set_link(p, "name", to, 3), -EINVAL);
	assert_int_equal(atoll_params_set_link(p, "nope", to, 3), -EINVAL);
	assert_int_equal(atoll_params_set_group(p, "stage", group, 2, 1), 0);
	assert_int_equal(atoll_params_set_group(p, "stage", group, 2, 2), -EINVAL);
	assert_int_equal(atoll_params_finish(p, err, sizeof(err)), 0);

	d = atoll_params_dup(p);
	atoll_params_free(p); /* the copy owns its own memory */
	assert_non_null(d);
	assert_int_equal(atoll_params_links(d, "to", &got), 3);
	assert_memory_equal(got, to, sizeof(to));
	assert_string_equal(atoll_params_str(d, "to"), "workers");
	assert_int_equal(atoll_params_link_near(d, "to", 0), to[1]);
	assert_int_equal(atoll_params_link_near(d, "to", 1), to[0]);
	/* No member on core 5: index 5 % 3. */
	assert_int_equal(atoll_params_link_near(d, "to", 5), to[2]);
	assert_int_equal(atoll_params_group(d, &got), 2);
	assert_memory_equal(got, group, sizeof(group));
	assert_int_equal(atoll_params_index(d), 1);
	assert_string_equal(atoll_params_group_name(d), "stage");
	assert_string_equal(atoll_params_str(d, "name"), "x");
	atoll_params_free(d);
	atoll_params_free(NULL);
}

static void test_parse_alone(void **st)
{
	int64_t v;
	char err[128];

	(void)st;
	assert_int_equal(atoll_param_parse(ATOLL_PARAM_DURATION, NULL, "0", &v, err, sizeof(err)),
			 0);
	assert_int_equal(v, 0);
	assert_int_equal(atoll_param_parse(ATOLL_PARAM_SIZE, NULL, "2kb", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 2048);
	assert_int_equal(atoll_param_parse(ATOLL_PARAM_ENUM, "a|b", "b", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 1);
	assert_int_equal(atoll_param_parse(ATOLL_PARAM_INT, NULL, "-3", &v, err, sizeof(err)), 0);
	assert_int_equal(v, -3);
	assert_int_equal(
		atoll_param_parse((enum atoll_param_kind)99, NULL, "1", &v, err, sizeof(err)),
		-EINVAL);
}

static const struct atoll_param_spec dup_params[] = {
	{ "a", ATOLL_PARAM_INT, "1", 0, 0, NULL, NULL, 0 },
	{ "a", ATOLL_PARAM_INT, "1", 0, 0, NULL, NULL, 0 },
	{ 0 },
};
static const struct atoll_param_spec enum_params[] = {
	{ "e", ATOLL_PARAM_ENUM, "x", 0, 0, NULL, NULL, 0 },
	{ 0 },
};
static const struct atoll_actor_type other_type = { .name = "other", .receive = nop_receive };
static const struct atoll_actor_type demo2_type = { .name = "demo", .receive = nop_receive };
static const struct atoll_actor_type noreceive_type = { .name = "mute" };

static void test_catalog(void **st)
{
	struct atoll_catalog *c = atoll_catalog_new();
	const struct atoll_type_info other = { .type = &other_type };
	const struct atoll_type_info demo2 = { .type = &demo2_type };
	const struct atoll_type_info dups = { .type = &other_type, .params = dup_params };
	const struct atoll_type_info enums = { .type = &other_type, .params = enum_params };
	const struct atoll_type_info mute = { .type = &noreceive_type };
	const struct atoll_type_info notype = { .summary = "no type" };
	char err[256];

	(void)st;
	assert_non_null(c);
	assert_int_equal(atoll_catalog_count(c), 0);
	assert_int_equal(atoll_catalog_add(c, &demo_info), 0);
	assert_int_equal(atoll_catalog_add(c, &other), 0);
	assert_int_equal(atoll_catalog_add(c, &demo2), -EEXIST);
	assert_int_equal(atoll_catalog_add(c, &dups), -EINVAL);
	assert_int_equal(atoll_catalog_add(c, &enums), -EINVAL);
	assert_int_equal(atoll_catalog_add(c, &mute), -EINVAL);
	assert_int_equal(atoll_catalog_add(c, &notype), -EINVAL);
	assert_int_equal(atoll_catalog_count(c), 2);
	assert_ptr_equal(atoll_catalog_find(c, "demo"), &demo_info);
	assert_ptr_equal(atoll_catalog_at(c, 1), &other);
	assert_null(atoll_catalog_at(c, 2));
	assert_string_equal(atoll_catalog_origin(c, 0), "built-in");
	assert_null(atoll_catalog_find(c, "nonesuch"));
	/* Every built-in type has a well-formed table and a unique name. */
	{
		struct atoll_catalog *b = atoll_catalog_new();

		assert_int_equal(atoll_catalog_add_builtin(b), 0);
		for (size_t i = 0; i < atoll_catalog_count(b); i++) {
			const struct atoll_type_info *t = atoll_catalog_at(b, i);

			assert_non_null(t->summary);
			assert_int_equal(atoll_catalog_add(c, t) == -EEXIST ||
						 atoll_catalog_find(c, t->type->name) == t,
					 1);
		}
		atoll_catalog_free(b);
	}
	assert_int_equal(atoll_catalog_load(c, "/nonexistent/mod.so", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/mod.so: cannot load module: "));
	atoll_catalog_free(c);
	atoll_catalog_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_required),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_check_hook),
		cmocka_unit_test(test_links_groups_dup),
		cmocka_unit_test(test_parse_alone),
		cmocka_unit_test(test_catalog),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
