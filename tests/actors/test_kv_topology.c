/*
 * test_kv_topology.c - atoll-kv started as a topology starts it: the
 * kv.server type (actors/kv_topology.c), one member per reactor on 4 and 8
 * reactors. PING, SET and GET in RESP from many clients over keys of every
 * shard, and with redis-cli when it is installed; the append-only log
 * replayed by a second start in the same directory; a group that is not one
 * member per reactor refused at init; bad settings refused by the check.
 */
#include "../helpers.h"

#include <sys/stat.h>

#include "net_harness.h"

#include "kv_topology.h"

static void resp(struct client *c, const char *cmd, const char *want)
{
	client_say(c, cmd);
	client_expect(c, want);
}

static void set_get(struct client *c, int i)
{
	char cmd[128], want[64];

	snprintf(cmd, sizeof(cmd), "*3\r\n$3\r\nSET\r\n$%zu\r\nkey:%d\r\n$%zu\r\nval:%d\r\n",
		 strlen("key:") + (size_t)snprintf(NULL, 0, "%d", i), i,
		 strlen("val:") + (size_t)snprintf(NULL, 0, "%d", i), i);
	resp(c, cmd, "+OK\r");
	snprintf(cmd, sizeof(cmd), "GET key:%d\r\n", i);
	client_say(c, cmd);
	snprintf(want, sizeof(want), "$%zu\r", strlen("val:") + (size_t)snprintf(NULL, 0, "%d", i));
	client_expect(c, want);
	snprintf(want, sizeof(want), "val:%d\r", i);
	client_expect(c, want);
}

/* Runs redis-cli with args; returns its first output line in out, or false
 * when redis-cli is not installed. */
static bool redis_cli(uint16_t port, const char *args, char *out, size_t cap)
{
	char cmd[256];
	FILE *f;

	if (access("/usr/bin/redis-cli", X_OK) != 0)
		return false;
	snprintf(cmd, sizeof(cmd), "/usr/bin/redis-cli -h 127.0.0.1 -p %u %s", port, args);
	f = popen(cmd, "r");
	assert_non_null(f);
	if (fgets(out, (int)cap, f) == NULL)
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	pclose(f);
	return true;
}

static void kv_on(unsigned reactors)
{
	atoll_runtime *rt = start_reactors(reactors);
	char port[16], out[128];
	const char *kv[] = { "port", port, NULL };
	struct client c[4];
	struct group g;
	uint16_t p = free_port();

	snprintf(port, sizeof(port), "%u", p);
	group_start(rt, &g, &kv_server_info, "kv", reactors, kv, NULL, NULL);
	wait_actors_alive(rt, 2); /* the shard and its listener */
	for (int i = 0; i < 4; i++) {
		client_dial(&c[i], p);
		resp(&c[i], "PING\r\n", "+PONG\r");
	}
	for (int i = 0; i < 64; i++)
		set_get(&c[i % 4], i);
	if (redis_cli(p, "PING", out, sizeof(out))) {
		assert_string_equal(out, "PONG");
		assert_true(redis_cli(p, "SET cli hello", out, sizeof(out)));
		assert_string_equal(out, "OK");
		assert_true(redis_cli(p, "GET cli", out, sizeof(out)));
		assert_string_equal(out, "hello");
		assert_true(redis_cli(p, "GET key:7", out, sizeof(out)));
		assert_string_equal(out, "val:7");
	} else {
		printf("note: /usr/bin/redis-cli not installed: its part is skipped\n");
	}
	for (int i = 0; i < 4; i++)
		client_close(&c[i]);
	destroy_runtime(rt);
	group_free(&g);
	assert_no_check_failures();
}

static void kv_server_answers_on_4_reactors(void **state)
{
	(void)state;
	kv_on(4);
}

static void kv_server_answers_on_8_reactors(void **state)
{
	(void)state;
	kv_on(8);
}

static void kv_server_replays_its_log(void **state)
{
	char dir[] = "/tmp/atoll-kv-topo-XXXXXX", port[16], cmd[300];
	const char *kv[] = { "port", port,          "dir",    dir, "appendonly",
			     "yes",  "appendfsync", "always", NULL };
	struct client c;
	struct group g;

	(void)state;
	assert_non_null(mkdtemp(dir));
	for (int run = 0; run < 2; run++) {
		atoll_runtime *rt = start_reactors(4);
		uint16_t p = free_port();

		snprintf(port, sizeof(port), "%u", p);
		group_start(rt, &g, &kv_server_info, "kv", 4, kv, NULL, NULL);
		wait_actors_alive(rt, 2);
		client_dial(&c, p);
		if (run == 0) {
			for (int i = 0; i < 32; i++)
				set_get(&c, i);
		} else {
			for (int i = 0; i < 32; i++) {
				char want[32];

				snprintf(cmd, sizeof(cmd), "GET key:%d\r\n", i);
				client_say(&c, cmd);
				snprintf(want, sizeof(want), "$%d\r", i < 10 ? 5 : 6);
				client_expect(&c, want);
				snprintf(want, sizeof(want), "val:%d\r", i);
				client_expect(&c, want);
			}
		}
		client_close(&c);
		destroy_runtime(rt);
		group_free(&g);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	assert_no_check_failures();
}

static void kv_server_needs_one_member_per_reactor(void **state)
{
	atoll_runtime *rt = start_reactors(4);
	const char *kv[] = { "port", "0", NULL };
	struct group g;

	(void)state;
	group_start(rt, &g, &kv_server_info, "kv", 2, kv, NULL, NULL);
	assert_stat_eventually(rt, ALL_REACTORS, init_failures, 2);
	destroy_runtime(rt);
	group_free(&g);
}

static void kv_server_refuses_bad_settings(void **state)
{
	const char *policy[] = { "maxmemory_policy", "sometimes", NULL };
	const char *hz[] = { "hz", "0", NULL };
	char err[256];

	(void)state;
	assert_int_equal(params_check(&kv_server_info, policy, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "maxmemory_policy"));
	assert_int_equal(params_check(&kv_server_info, hz, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "hz"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(kv_server_answers_on_4_reactors, destroy_leftovers),
		cmocka_unit_test_teardown(kv_server_answers_on_8_reactors, destroy_leftovers),
		cmocka_unit_test_teardown(kv_server_replays_its_log, destroy_leftovers),
		cmocka_unit_test_teardown(kv_server_needs_one_member_per_reactor,
					  destroy_leftovers),
		cmocka_unit_test(kv_server_refuses_bad_settings),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
