/*
 * test_module.c - actor modules (atoll_catalog_load): a good module loads,
 * lists its type and runs in a topology on 1 and 4 reactors; a module
 * missing the register symbol, one built for another ABI, one defining a
 * type name already taken, a file that is not a shared object and a missing
 * file are each refused with their exact message, leaving the catalog as
 * it was. The modules are built from tests/modules/ into build/modules/;
 * this executable exports libatoll's symbols to them, as the runner does.
 */
#define _GNU_SOURCE
#include "helpers.h"

#define MODULE(name) ATOLL_TEST_MODULE_DIR "/" name ".so"

static void module_good_loads_and_lists_its_type(void **state)
{
	struct atoll_catalog *c = atoll_catalog_new();
	char err[512] = "";

	(void)state;
	assert_int_equal(atoll_catalog_load(c, MODULE("relay"), err, sizeof(err)), 0);
	assert_int_equal(atoll_catalog_count(c), 1);
	const struct atoll_type_info *info = atoll_catalog_find(c, "relay");
	assert_non_null(info);
	assert_ptr_equal(atoll_catalog_at(c, 0), info);
	assert_string_equal(atoll_catalog_origin(c, 0), MODULE("relay"));
	assert_string_equal(info->params[0].name, "next");
	assert_int_equal(info->params[0].kind, ATOLL_PARAM_LINK);
	atoll_catalog_free(c);
}

static void expect_refused(const char *path, int rc, const char *message)
{
	struct atoll_catalog *c = atoll_catalog_new();
	char err[512] = "";

	assert_int_equal(atoll_catalog_load(c, MODULE("relay"), err, sizeof(err)), 0);
	assert_int_equal(atoll_catalog_load(c, path, err, sizeof(err)), rc);
	assert_string_equal(err, message);
	/* Nothing of the refused module stays. */
	assert_int_equal(atoll_catalog_count(c), 1);
	assert_string_equal(atoll_catalog_origin(c, 0), MODULE("relay"));
	atoll_catalog_free(c);
}

static void module_without_register_symbol_is_refused(void **state)
{
	(void)state;
	expect_refused(MODULE("no_register"), -ENOEXEC,
		       MODULE("no_register") ": not an atoll module: symbol "
					     "'atoll_module_register' is missing (define it with "
					     "ATOLL_MODULE(fn) from <atoll/module.h>)");
}

static void module_with_another_abi_is_refused(void **state)
{
	char want[512];

	(void)state;
	snprintf(want, sizeof(want),
		 "%s: built for module ABI %u, this atoll has ABI %u: rebuild it against this "
		 "version's headers",
		 MODULE("bad_abi"), ATOLL_MODULE_ABI + 1000, ATOLL_MODULE_ABI);
	expect_refused(MODULE("bad_abi"), -EPROTO, want);
}

static void module_defining_a_taken_type_name_is_refused(void **state)
{
	(void)state;
	expect_refused(
		MODULE("dup_relay"), -EEXIST,
		MODULE("dup_relay") ": defines actor type 'relay', already defined by " MODULE(
			"relay"));
}

static void module_that_is_not_a_shared_object_is_refused(void **state)
{
	char want[1024];

	(void)state;
	snprintf(want, sizeof(want), "%s: cannot load module: %s: invalid ELF header",
		 ATOLL_TEST_SOURCE_DIR "/topologies/relay.ini",
		 ATOLL_TEST_SOURCE_DIR "/topologies/relay.ini");
	expect_refused(ATOLL_TEST_SOURCE_DIR "/topologies/relay.ini", -ENOENT, want);
}

static void module_missing_file_is_refused(void **state)
{
	(void)state;
	expect_refused("/nonexistent/mod.so", -ENOENT,
		       "/nonexistent/mod.so: cannot load module: /nonexistent/mod.so: cannot open "
		       "shared object file: No such file or directory");
}

/* The relay ring of tests/topologies/relay.ini, run to its end: the last
 * hop stops the runtime. */
static void run_relay(unsigned reactors)
{
	struct atoll_catalog *c = atoll_catalog_new();
	struct atoll_topology *t;
	char err[512] = "";

	assert_int_equal(atoll_catalog_load(c, MODULE("relay"), err, sizeof(err)), 0);
	assert_int_equal(atoll_topology_load(ATOLL_TEST_SOURCE_DIR "/topologies/relay.ini", c, &t,
					     err, sizeof(err)),
			 0);
	assert_int_equal(atoll_topology_place(t, reactors, err, sizeof(err)), 0);
	atoll_runtime *rt = start_reactors(reactors);
	assert_int_equal(atoll_topology_start(t, rt, err, sizeof(err)), 0);
	assert_int_equal(wait_runtime(rt), 0);
	/* 10000 hops, one message each, plus nothing else. */
	assert_int_equal(STATS_SUM(rt, received), 10000);
	assert_int_equal(STATS_SUM(rt, init_failures), 0);
	destroy_runtime(rt);
	atoll_topology_free(t);
	atoll_catalog_free(c);
}

static void module_type_runs_in_a_topology_on_1_reactor(void **state)
{
	(void)state;
	run_relay(1);
}

static void module_type_runs_in_a_topology_on_4_reactors(void **state)
{
	(void)state;
	run_relay(4);
}

/* The module's check hook runs when the topology is read. */
static void module_check_hook_refuses_a_topology(void **state)
{
	struct atoll_catalog *c = atoll_catalog_new();
	struct atoll_topology *t;
	char err[512] = "";

	(void)state;
	assert_int_equal(atoll_catalog_load(c, MODULE("relay"), err, sizeof(err)), 0);
	assert_int_equal(atoll_topology_parse("[r]\ntype = relay\nnext = r\nstop_at_end = yes\n",
					      "r.ini", c, &t, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "r.ini:1: [r] relay: stop_at_end needs start = yes in the same "
				 "group");
	atoll_catalog_free(c);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, reset, destroy_leftovers)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(module_good_loads_and_lists_its_type),
		cmocka_unit_test(module_without_register_symbol_is_refused),
		cmocka_unit_test(module_with_another_abi_is_refused),
		cmocka_unit_test(module_defining_a_taken_type_name_is_refused),
		cmocka_unit_test(module_that_is_not_a_shared_object_is_refused),
		cmocka_unit_test(module_missing_file_is_refused),
		cmocka_unit_test(module_check_hook_refuses_a_topology),
		TEST(module_type_runs_in_a_topology_on_1_reactor),
		TEST(module_type_runs_in_a_topology_on_4_reactors),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
