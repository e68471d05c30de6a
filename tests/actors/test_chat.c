/*
 * test_chat.c - the chat type (actors/chat.c): a room per reactor on 4 and
 * 8 reactors, clients landing on several of them; welcome, join, nick and
 * leave notices reach every other client; every client sees every other
 * client's lines, each sender's in the order sent, and never its own;
 * /quit and an overlong line end a client's connection with their notices.
 */
#include "../helpers.h"

#include "net_harness.h"

#include "chat.h"

#define CLIENTS 8
#define LINES 20

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);

	return n >= t && strcmp(s + n - t, tail) == 0;
}

/* Reads the next line into buf and fails unless it starts with head and
 * ends with tail. */
static void expect_shape(struct client *c, char *buf, size_t cap, const char *head,
			 const char *tail)
{
	if (client_line(c, buf, cap) < 0)
		fail_msg("expected '%s...%s', got the end of the stream", head, tail);
	if (strncmp(buf, head, strlen(head)) != 0 || !ends_with(buf, tail))
		fail_msg("expected '%s...%s', got '%s'", head, tail, buf);
}

static unsigned reactors_with_clients(atoll_runtime *rt)
{
	unsigned n = 0;

	/* Each reactor runs its room and listener, plus its connections. */
	for (unsigned core = 0; core < atoll_runtime_reactors(rt); core++)
		n += read_stats(rt, core).actors_alive > 2;
	return n;
}

static void chat_on(unsigned reactors)
{
	atoll_runtime *rt = start_reactors(reactors);
	char port[16], line[256], want[64];
	const char *kv[] = { "port", port, "max_line", "64", NULL };
	struct client c[CLIENTS];
	struct group g;

	snprintf(port, sizeof(port), "%u", free_port());
	group_start(rt, &g, &chat_info, "chat", reactors, kv, NULL, NULL);
	wait_actors_alive(rt, 2);
	/* One at a time: each newcomer is announced to everyone before it. */
	for (int i = 0; i < CLIENTS; i++) {
		client_dial(&c[i], (uint16_t)atoi(port));
		expect_shape(&c[i], line, sizeof(line), "* welcome, you are guest", "");
		for (int j = 0; j < i; j++)
			expect_shape(&c[j], line, sizeof(line), "* guest", " joined");
		snprintf(line, sizeof(line), "/nick c%d\n", i);
		client_say(&c[i], line);
		snprintf(want, sizeof(want), "* you are now c%d", i);
		client_expect(&c[i], want);
		snprintf(want, sizeof(want), " is now known as c%d", i);
		for (int j = 0; j < i; j++)
			expect_shape(&c[j], line, sizeof(line), "* guest", want);
	}
	assert_true(reactors_with_clients(rt) >= 2);
	/* Everyone talks at once. */
	for (int k = 0; k < LINES; k++) {
		for (int i = 0; i < CLIENTS; i++) {
			snprintf(line, sizeof(line), "m%d from c%d\n", k, i);
			client_say(&c[i], line);
		}
	}
	for (int i = 0; i < CLIENTS; i++) {
		int next[CLIENTS] = { 0 };

		for (int n = 0; n < (CLIENTS - 1) * LINES; n++) {
			int from, k, from2;

			if (client_line(&c[i], line, sizeof(line)) < 0)
				fail_msg("client %d: the stream ended after %d lines", i, n);
			if (sscanf(line, "c%d: m%d from c%d", &from, &k, &from2) != 3 ||
			    from != from2 || from < 0 || from >= CLIENTS)
				fail_msg("client %d: unexpected line '%s'", i, line);
			assert_int_not_equal(from, i);
			if (k != next[from])
				fail_msg("client %d: from c%d got m%d, expected m%d", i, from, k,
					 next[from]);
			next[from]++;
		}
	}
	/* /quit: the client is told, the others see it leave. */
	client_say(&c[0], "/quit\n");
	client_expect(&c[0], "* bye");
	assert_int_equal(client_line(&c[0], line, sizeof(line)), -1);
	client_close(&c[0]);
	for (int j = 1; j < CLIENTS; j++)
		client_expect(&c[j], "* c0 left");
	/* An overlong line ends the connection with a notice. */
	memset(line, 'x', 100);
	line[100] = '\n';
	client_send(&c[1], line, 101);
	client_expect(&c[1], "* line too long");
	assert_int_equal(client_line(&c[1], line, sizeof(line)), -1);
	client_close(&c[1]);
	for (int j = 2; j < CLIENTS; j++)
		client_expect(&c[j], "* c1 left");
	for (int j = 2; j < CLIENTS; j++)
		client_close(&c[j]);
	destroy_runtime(rt);
	group_free(&g);
	assert_no_check_failures();
}

static void chat_broadcasts_across_4_reactors(void **state)
{
	(void)state;
	chat_on(4);
}

static void chat_broadcasts_across_8_reactors(void **state)
{
	(void)state;
	chat_on(8);
}

static void chat_is_a_builtin_type(void **state)
{
	struct atoll_catalog *c = atoll_catalog_new();

	(void)state;
	assert_non_null(c);
	assert_int_equal(atoll_catalog_add_builtin(c), 0);
	assert_ptr_equal(atoll_catalog_find(c, "chat"), &chat_info);
	assert_non_null(atoll_catalog_find(c, "line-server"));
	atoll_catalog_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(chat_broadcasts_across_4_reactors, destroy_leftovers),
		cmocka_unit_test_teardown(chat_broadcasts_across_8_reactors, destroy_leftovers),
		cmocka_unit_test(chat_is_a_builtin_type),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
