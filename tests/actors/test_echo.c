/*
 * test_echo.c - the echo server type (actors/echo.c) started as a topology
 * starts it: one member per reactor on a shared port, on 1, 4 and 8
 * reactors, many clients each getting back exactly its own bytes; a bind
 * that is not an address refused before anything starts; a port another
 * socket holds failing init; the type in the built-in catalog.
 */
#include "../helpers.h"

#include "net_harness.h"

#include "echo.h"

static void echo_each_reactor(unsigned reactors)
{
	atoll_runtime *rt = start_reactors(reactors);
	char port[16];
	const char *kv[] = { "port", port, NULL };
	struct group g;
	struct client c[16];

	snprintf(port, sizeof(port), "%u", free_port());
	group_start(rt, &g, &echo_info, "echo", reactors, kv, NULL, NULL);
	wait_actors_alive(rt, 2); /* the server and its listener */
	for (int i = 0; i < 16; i++)
		client_dial(&c[i], (uint16_t)atoi(port));
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 16; i++) {
			char line[64];

			snprintf(line, sizeof(line), "client %d round %d\n", i, round);
			client_say(&c[i], line);
		}
		for (int i = 0; i < 16; i++) {
			char want[64];

			snprintf(want, sizeof(want), "client %d round %d", i, round);
			client_expect(&c[i], want);
		}
	}
	/* A half-close: the echoes come back, then the server closes. */
	for (int i = 0; i < 16; i++) {
		char line[64];

		client_say(&c[i], "last\n");
		shutdown(c[i].fd, SHUT_WR);
		client_expect(&c[i], "last");
		assert_int_equal(client_line(&c[i], line, sizeof(line)), -1);
		client_close(&c[i]);
	}
	destroy_runtime(rt);
	group_free(&g);
	assert_no_check_failures();
}

static void echo_serves_clients_on_1_reactor(void **state)
{
	(void)state;
	echo_each_reactor(1);
}

static void echo_serves_clients_on_4_reactors(void **state)
{
	(void)state;
	echo_each_reactor(4);
}

static void echo_serves_clients_on_8_reactors(void **state)
{
	(void)state;
	echo_each_reactor(8);
}

static void echo_refuses_bind_that_is_not_an_address(void **state)
{
	const char *kv[] = { "bind", "localhost", NULL };
	const char *port[] = { "port", "70000", NULL };
	char err[256];

	(void)state;
	assert_int_equal(params_check(&echo_info, kv, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "parameter 'bind'"));
	assert_int_equal(params_check(&echo_info, port, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "port"));
}

static void echo_init_fails_on_port_in_use(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	char port[16];
	const char *kv[] = { "port", port, NULL };
	atoll_runtime *rt;
	struct group g;

	(void)state;
	/* A listening socket without SO_REUSEPORT: nobody may join it. */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(port, sizeof(port), "%u", ntohs(sa.sin_port));
	rt = start_reactors(1);
	group_start(rt, &g, &echo_info, "echo", 1, kv, NULL, NULL);
	/* The listener failed, and with it the echo server. */
	assert_stat_eventually(rt, 0, init_failures, 2);
	destroy_runtime(rt);
	group_free(&g);
	close(fd);
}

static void echo_is_a_builtin_type(void **state)
{
	struct atoll_catalog *c = atoll_catalog_new();

	(void)state;
	assert_non_null(c);
	assert_int_equal(atoll_catalog_add_builtin(c), 0);
	assert_ptr_equal(atoll_catalog_find(c, "echo"), &echo_info);
	atoll_catalog_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(echo_serves_clients_on_1_reactor, destroy_leftovers),
		cmocka_unit_test_teardown(echo_serves_clients_on_4_reactors, destroy_leftovers),
		cmocka_unit_test_teardown(echo_serves_clients_on_8_reactors, destroy_leftovers),
		cmocka_unit_test(echo_refuses_bind_that_is_not_an_address),
		cmocka_unit_test_teardown(echo_init_fails_on_port_in_use, destroy_leftovers),
		cmocka_unit_test(echo_is_a_builtin_type),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
