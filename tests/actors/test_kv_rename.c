/*
 * test_kv_rename.c - rename-command (actors/kv_rename.c): a disabled
 * command's name reaches nothing; a renamed one answers to its new name in
 * any case and not to its old one; renames apply in order as Redis 7.0's
 * (chains, freed names taken by another command, a command's own name in
 * another case); the refusals (unknown, internal, disabled or renamed-away
 * source, taken or internal target) change nothing; names are bytes of any
 * value and length; and the config line's words split as Redis's
 * sdssplitargs splits them, with Redis's messages.
 */
#include "../helpers.h"

#include "kv_cmd.h"
#include "kv_rename.h"

static struct kv_rename *table(void)
{
	struct kv_rename *r = NULL;

	assert_int_equal(kv_rename_create(&r), 0);
	assert_non_null(r);
	return r;
}

static const struct kv_command *find(const struct kv_rename *r, const char *name)
{
	return kv_rename_find(r, name, strlen(name));
}

static int apply(struct kv_rename *r, const char *from, const char *to)
{
	return kv_rename_apply(r, from, strlen(from), to, strlen(to));
}

static const struct kv_command *cmd(const char *name)
{
	const struct kv_command *c = kv_command_find(name, strlen(name));

	assert_non_null(c);
	return c;
}

/* kv_rename_line of line: its result, and err ("" on success). */
static int line(struct kv_rename *r, const char *text, char *err, size_t errlen)
{
	memset(err, 0, errlen);
	return kv_rename_line(r, text, err, errlen);
}

static void expect_line_refused(struct kv_rename *r, const char *text, int rc, const char *msg)
{
	char err[128];

	assert_int_equal(line(r, text, err, sizeof(err)), rc);
	assert_string_equal(err, msg);
}

static void no_table_is_the_command_table(void **state)
{
	(void)state;
	assert_ptr_equal(find(NULL, "get"), cmd("get"));
	assert_ptr_equal(find(NULL, "GeT"), cmd("get"));
	assert_ptr_equal(find(NULL, "kv.dump"), cmd("kv.dump"));
	assert_null(find(NULL, "nosuch"));
	assert_true(kv_rename_reachable(NULL, cmd("flushall")));
	kv_rename_destroy(NULL);
}

static void an_empty_table_changes_nothing(void **state)
{
	struct kv_rename *r = table();

	(void)state;
	for (size_t i = 0; i < kv_command_count(); i++) {
		const struct kv_command *c = kv_command_at(i);

		assert_ptr_equal(find(r, c->name), c);
		assert_true(kv_rename_reachable(r, c));
	}
	assert_null(find(r, ""));
	assert_null(find(r, "nosuch"));
	kv_rename_destroy(r);
}

static void disabled_command_answers_to_no_name(void **state)
{
	struct kv_rename *r = table();

	(void)state;
	assert_int_equal(apply(r, "FLUSHALL", ""), 0);
	assert_null(find(r, "flushall"));
	assert_null(find(r, "FLUSHALL"));
	assert_null(find(r, ""));
	assert_false(kv_rename_reachable(r, cmd("flushall")));
	/* The others are untouched. */
	assert_ptr_equal(find(r, "flushdb"), cmd("flushdb"));
	assert_true(kv_rename_reachable(r, cmd("flushdb")));
	/* Disabling it again: it has no name left to be found by (Redis). */
	assert_int_equal(apply(r, "flushall", ""), -ENOENT);
	assert_int_equal(apply(r, "flushall", "x"), -ENOENT);
	kv_rename_destroy(r);
}

static void renamed_command_answers_to_its_new_name_only(void **state)
{
	struct kv_rename *r = table();

	(void)state;
	assert_int_equal(apply(r, "config", "My-Secret-Config"), 0);
	assert_ptr_equal(find(r, "my-secret-config"), cmd("config"));
	assert_ptr_equal(find(r, "MY-SECRET-CONFIG"), cmd("config"));
	assert_null(find(r, "config"));
	assert_null(find(r, "CONFIG"));
	assert_null(find(r, "my-secret-confi"));
	assert_null(find(r, "my-secret-configx"));
	assert_true(kv_rename_reachable(r, cmd("config")));
	/* The table keeps the command's own name (COMMAND INFO says it). */
	assert_string_equal(find(r, "my-secret-config")->name, "config");
	kv_rename_destroy(r);
}

static void renames_apply_in_order_to_the_names_left(void **state)
{
	struct kv_rename *r = table();

	(void)state;
	/* A chain: renamed again by its new name; the middle name is gone. */
	assert_int_equal(apply(r, "get", "foo"), 0);
	assert_int_equal(apply(r, "foo", "bar"), 0);
	assert_ptr_equal(find(r, "bar"), cmd("get"));
	assert_null(find(r, "foo"));
	assert_null(find(r, "get"));
	/* The old name, freed, may be taken by another command. */
	assert_int_equal(apply(r, "get", "x"), -ENOENT);
	assert_int_equal(apply(r, "set", "get"), 0);
	assert_ptr_equal(find(r, "GET"), cmd("set"));
	assert_null(find(r, "set"));
	/* Back to its own name: the table name reaches it again. */
	assert_int_equal(apply(r, "bar", "Get"), -EEXIST); /* set has it now */
	assert_int_equal(apply(r, "get", "set"), 0);
	assert_int_equal(apply(r, "bar", "Get"), 0);
	assert_ptr_equal(find(r, "get"), cmd("get"));
	assert_ptr_equal(find(r, "set"), cmd("set"));
	assert_null(find(r, "bar"));
	/* Its own name in another case is no conflict (Redis allows it). */
	assert_int_equal(apply(r, "echo", "ECHO"), 0);
	assert_ptr_equal(find(r, "echo"), cmd("echo"));
	kv_rename_destroy(r);
}

static void refused_renames_change_nothing(void **state)
{
	struct kv_rename *r = table();

	(void)state;
	assert_int_equal(apply(r, "keys", "k2"), 0);
	assert_int_equal(apply(r, "nosuch", "foo"), -ENOENT);
	assert_int_equal(apply(r, "", "foo"), -ENOENT);
	/* Subcommands are not commands of the table (Redis 7.0.15 asserts). */
	assert_int_equal(apply(r, "config|get", "foo"), -ENOENT);
	/* Internal commands have no name clients reach: none to rename... */
	assert_int_equal(apply(r, "kv.dump", "foo"), -ENOENT);
	assert_int_equal(apply(r, "kv.restore", ""), -ENOENT);
	/* ... and their names are not free. */
	assert_int_equal(apply(r, "get", "kv.dump"), -EPERM);
	assert_int_equal(apply(r, "get", "KV.RESTORE"), -EPERM);
	/* Taken names: a command's own, or another's new one. */
	assert_int_equal(apply(r, "get", "set"), -EEXIST);
	assert_int_equal(apply(r, "get", "K2"), -EEXIST);
	assert_int_equal(apply(r, "dbsize", "Keys"), 0); /* keys' own name is free */
	assert_int_equal(apply(r, "get", "keys"), -EEXIST);
	/* After all that: only keys -> k2 and dbsize -> keys happened. */
	assert_ptr_equal(find(r, "get"), cmd("get"));
	assert_ptr_equal(find(r, "set"), cmd("set"));
	assert_ptr_equal(find(r, "k2"), cmd("keys"));
	assert_ptr_equal(find(r, "keys"), cmd("dbsize"));
	assert_null(find(r, "dbsize"));
	assert_null(find(r, "foo"));
	/* Internal steps are found by their names still (kv_coord.c). */
	assert_ptr_equal(find(r, "kv.dump"), cmd("kv.dump"));
	kv_rename_destroy(r);
}

static void names_are_bytes_of_any_value_and_length(void **state)
{
	struct kv_rename *r = table();
	static const char binary[] = { '\xff', '\0', 'z', '\xc3', '(' };
	size_t long_len = 100000;
	char *long_name = malloc(long_len);

	(void)state;
	assert_non_null(long_name);
	memset(long_name, 'x', long_len);
	assert_int_equal(kv_rename_apply(r, "get", 3, binary, sizeof(binary)), 0);
	assert_ptr_equal(kv_rename_find(r, binary, sizeof(binary)), cmd("get"));
	/* The NUL is part of the name: its prefix is another name. */
	assert_null(kv_rename_find(r, binary, 1));
	assert_int_equal(kv_rename_apply(r, "set", 3, long_name, long_len), 0);
	assert_ptr_equal(kv_rename_find(r, long_name, long_len), cmd("set"));
	assert_null(kv_rename_find(r, long_name, long_len - 1));
	/* Upper case of a byte over 0x7f is itself (ASCII only). */
	long_name[0] = (char)0xe9;
	assert_null(kv_rename_find(r, long_name, long_len));
	assert_int_equal(kv_rename_apply(r, long_name, long_len, "x", 1), -ENOENT);
	free(long_name);
	kv_rename_destroy(r);
}

static void config_line_splits_as_redis_sdssplitargs(void **state)
{
	struct kv_rename *r = table();
	char err[128];

	(void)state;
	assert_int_equal(line(r, "FLUSHALL \"\"", err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_false(kv_rename_reachable(r, cmd("flushall")));
	assert_int_equal(line(r, "  \t\"config\"   'my config' \t ", err, sizeof(err)), 0);
	assert_ptr_equal(find(r, "my config"), cmd("config"));
	assert_int_equal(line(r, "get ab\"cd\"", err, sizeof(err)), 0); /* as Redis */
	assert_ptr_equal(find(r, "abcd"), cmd("get"));
	assert_int_equal(
		line(r, "set \"\\x41\\x00\\n\\r\\t\\b\\a\\\\\\\"\\q\\xZZ\"", err, sizeof(err)), 0);
	assert_ptr_equal(kv_rename_find(r, "A\0\n\r\t\b\a\\\"qxZZ", 13), cmd("set"));
	assert_int_equal(line(r, "keys 'it\\'s'", err, sizeof(err)), 0);
	assert_ptr_equal(find(r, "it's"), cmd("keys"));
	assert_int_equal(line(r, "dbsize ''", err, sizeof(err)), 0);
	assert_false(kv_rename_reachable(r, cmd("dbsize")));
	kv_rename_destroy(r);
}

static void config_line_refusals_say_what_redis_says(void **state)
{
	struct kv_rename *r = table();

	(void)state;
	expect_line_refused(r, "", -EINVAL, "Bad directive or wrong number of arguments");
	expect_line_refused(r, "get", -EINVAL, "Bad directive or wrong number of arguments");
	expect_line_refused(r, "get a b", -EINVAL, "Bad directive or wrong number of arguments");
	expect_line_refused(r, "get \"unbalanced", -EINVAL,
			    "Unbalanced quotes in configuration line");
	expect_line_refused(r, "get 'unbalanced", -EINVAL,
			    "Unbalanced quotes in configuration line");
	expect_line_refused(r, "get \"a\"b", -EINVAL, "Unbalanced quotes in configuration line");
	expect_line_refused(r, "get \"\\x4", -EINVAL, "Unbalanced quotes in configuration line");
	expect_line_refused(r, "nosuch foo", -ENOENT, "No such command in rename-command");
	expect_line_refused(r, "\"\" foo", -ENOENT, "No such command in rename-command");
	expect_line_refused(r, "get set", -EEXIST, "Target command name already exists");
	expect_line_refused(r, "get kv.info", -EPERM,
			    "Target command name is reserved for atoll-kv's internal commands");
	/* None of them changed anything. */
	assert_ptr_equal(find(r, "get"), cmd("get"));
	assert_null(find(r, "a"));
	assert_null(find(r, "foo"));
	kv_rename_destroy(r);
}

static void config_line_error_fits_a_small_buffer(void **state)
{
	struct kv_rename *r = table();
	char err[8];

	(void)state;
	assert_int_equal(line(r, "nosuch foo", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "No such");
	kv_rename_destroy(r);
}

static void strerror_names_every_result(void **state)
{
	(void)state;
	assert_string_equal(kv_rename_strerror(-ENOENT), "No such command in rename-command");
	assert_string_equal(kv_rename_strerror(-EEXIST), "Target command name already exists");
	assert_string_equal(kv_rename_strerror(-EPERM),
			    "Target command name is reserved for atoll-kv's internal commands");
	assert_string_equal(kv_rename_strerror(-ENOMEM), "out of memory");
	assert_non_null(kv_rename_strerror(-EIO));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(no_table_is_the_command_table),
		cmocka_unit_test(an_empty_table_changes_nothing),
		cmocka_unit_test(disabled_command_answers_to_no_name),
		cmocka_unit_test(renamed_command_answers_to_its_new_name_only),
		cmocka_unit_test(renames_apply_in_order_to_the_names_left),
		cmocka_unit_test(refused_renames_change_nothing),
		cmocka_unit_test(names_are_bytes_of_any_value_and_length),
		cmocka_unit_test(config_line_splits_as_redis_sdssplitargs),
		cmocka_unit_test(config_line_refusals_say_what_redis_says),
		cmocka_unit_test(config_line_error_fits_a_small_buffer),
		cmocka_unit_test(strerror_names_every_result),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
