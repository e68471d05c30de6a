/*
 * test_line_server.c - the line-protocol server type (actors/line_server.c)
 * with a handler group that upper-cases each line, one member each per
 * reactor, on 1, 4 and 8 reactors: pipelined lines answered in order ("\n"
 * and "\r\n"), the handler's END closing the connection, an overlong line
 * answered with the error and closed, a missing handler refused by the
 * parameter check.
 */
#include "../helpers.h"

#include <ctype.h>

#include "net_harness.h"

#include "line_server.h"

/* The handler: upper-cases each DATA back; "BYE" answers END. Counts the
 * lines it handled on a reactor other than the connection's, which must not
 * happen with one handler per reactor. */
static _Atomic uint64_t far_lines;

static void upper_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	atoll_msg *reply;

	(void)state;
	if (msg->type != ATOLL_LIB_DATA)
		return;
	if (atoll_ref_core(msg->reply_to) != atoll_core(ctx))
		atomic_fetch_add(&far_lines, 1);
	if (msg->len == 3 && memcmp(msg->data, "BYE", 3) == 0) {
		reply = atoll_msg_new(ATOLL_LIB_END, 0);
	} else {
		reply = atoll_msg_new(ATOLL_LIB_DATA, msg->len);
		CHECK(reply != NULL);
		for (uint32_t i = 0; reply != NULL && i < msg->len; i++)
			((char *)reply->data)[i] = (char)toupper(((unsigned char *)msg->data)[i]);
	}
	CHECK(reply != NULL);
	CHECK(atoll_reply(ctx, msg, reply) >= 0);
}

static const struct atoll_actor_type upper_type = {
	.name = "upper",
	.receive = upper_receive,
};

static const struct atoll_type_info upper_info = {
	.type = &upper_type,
	.summary = "test handler",
};

struct server {
	atoll_runtime *rt;
	struct group handlers, servers;
	uint16_t port;
};

static void server_start(struct server *s, unsigned reactors, const char *max_line)
{
	char port[16];
	const char *kv[] = { "port", port, "max_line", max_line, NULL };

	s->rt = start_reactors(reactors);
	s->port = free_port();
	snprintf(port, sizeof(port), "%u", s->port);
	group_start(s->rt, &s->handlers, &upper_info, "upper", reactors, NULL, NULL, NULL);
	group_start(s->rt, &s->servers, &line_server_info, "lines", reactors, kv, "handler",
		    &s->handlers);
	wait_actors_alive(s->rt, 3); /* handler, server, listener */
	atomic_store(&far_lines, 0);
}

static void server_stop(struct server *s)
{
	destroy_runtime(s->rt);
	group_free(&s->servers);
	group_free(&s->handlers);
	assert_no_check_failures();
}

static void lines_on(unsigned reactors)
{
	struct server s;
	struct client c[8];
	char line[64];

	server_start(&s, reactors, "64k");
	for (int i = 0; i < 8; i++)
		client_dial(&c[i], s.port);
	for (int i = 0; i < 8; i++) {
		/* Pipelined: three lines in one write, the middle with CRLF. */
		snprintf(line, sizeof(line), "a%d\nb%d\r\nc%d\n", i, i, i);
		client_say(&c[i], line);
	}
	for (int i = 0; i < 8; i++) {
		char want[16];

		snprintf(want, sizeof(want), "A%d", i);
		client_expect(&c[i], want);
		snprintf(want, sizeof(want), "B%d", i);
		client_expect(&c[i], want);
		snprintf(want, sizeof(want), "C%d", i);
		client_expect(&c[i], want);
		/* A line split over two writes. */
		client_say(&c[i], "spl");
		client_say(&c[i], "it\n");
		client_expect(&c[i], "SPLIT");
		/* The handler's END: closed after the replies before it. */
		client_say(&c[i], "x\nBYE\n");
		client_expect(&c[i], "X");
		assert_int_equal(client_line(&c[i], line, sizeof(line)), -1);
		client_close(&c[i]);
	}
	assert_int_equal(atomic_load(&far_lines), 0);
	server_stop(&s);
}

static void line_server_answers_in_order_on_1_reactor(void **state)
{
	(void)state;
	lines_on(1);
}

static void line_server_answers_in_order_on_4_reactors(void **state)
{
	(void)state;
	lines_on(4);
}

static void line_server_answers_in_order_on_8_reactors(void **state)
{
	(void)state;
	lines_on(8);
}

static void line_server_closes_on_overlong_line(void **state)
{
	struct server s;
	struct client c;
	char big[200], line[64];

	(void)state;
	server_start(&s, 4, "100");
	client_dial(&c, s.port);
	client_say(&c, "short\n");
	client_expect(&c, "SHORT");
	memset(big, 'x', sizeof(big));
	client_send(&c, big, sizeof(big)); /* no end: refused before it */
	client_expect(&c, ATOLL_LINE_SERVER_TOO_LONG);
	assert_int_equal(client_line(&c, line, sizeof(line)), -1);
	client_close(&c);
	/* The server goes on. */
	client_dial(&c, s.port);
	client_say(&c, "again\n");
	client_expect(&c, "AGAIN");
	client_close(&c);
	server_stop(&s);
}

static void line_server_requires_a_handler(void **state)
{
	const char *kv[] = { "port", "7001", NULL };
	char err[256];

	(void)state;
	assert_int_equal(params_check(&line_server_info, kv, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "handler"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(line_server_answers_in_order_on_1_reactor,
					  destroy_leftovers),
		cmocka_unit_test_teardown(line_server_answers_in_order_on_4_reactors,
					  destroy_leftovers),
		cmocka_unit_test_teardown(line_server_answers_in_order_on_8_reactors,
					  destroy_leftovers),
		cmocka_unit_test_teardown(line_server_closes_on_overlong_line, destroy_leftovers),
		cmocka_unit_test(line_server_requires_a_handler),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
