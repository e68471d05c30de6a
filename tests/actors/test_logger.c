/*
 * test_logger.c - the logger actor (actors/logger.c): lines from actors on
 * every core (atoll_logger_log) reach its file, each sender's in order;
 * levels above `level` are dropped; DATA is written escaped, other messages
 * summarised at debug. The test polls the file (bounded) for the lines.
 * 1 and 4 reactors.
 */
#include "../helpers.h"

#include <unistd.h>

#include "lib_harness.h"
#include "logger.h"

enum {
	TALK = ATOLL_MSG_USER + 3
};

/* On TALK (payload: logger ref), logs 100 numbered lines at info and one
 * at debug. */
static void talker_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	atoll_ref logger;

	(void)state;
	if (msg->type != TALK)
		return;
	memcpy(&logger, msg->data, sizeof(logger));
	for (int i = 0; i < 100; i++)
		CHECK(atoll_logger_log(ctx, logger, ATOLL_LOG_INFO, "core %u line %d",
				       atoll_core(ctx), i) >= 0);
	CHECK(atoll_logger_log(ctx, logger, ATOLL_LOG_DEBUG, "core %u debug", atoll_core(ctx)) >=
	      0);
	CHECK(atoll_logger_log(ctx, logger, 9, "bad level") == -EINVAL);
}

static const struct atoll_actor_type talker_type = {
	.name = "talker",
	.receive = talker_receive,
};

static size_t count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;
	int ch;

	if (f == NULL)
		return 0;
	while ((ch = fgetc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

static void wait_lines(const char *path, size_t want)
{
	uint64_t deadline = test_now_ns() + WAIT_LIMIT_NS;

	while (count_lines(path) < want && test_now_ns() < deadline)
		poll_pause();
	assert_int_equal(count_lines(path), want);
}

static void lines_from_every_core(unsigned reactors)
{
	atoll_runtime *rt = start_reactors(reactors);
	char path[] = "/tmp/atoll-logger-XXXXXX", kv[64];
	struct atoll_params *p;
	atoll_ref logger;
	int fd = mkstemp(path);
	int next[4] = { 0 };
	FILE *f;
	char line[256];

	assert_true(fd >= 0);
	close(fd);
	snprintf(kv, sizeof(kv), "path=%s", path);
	p = make_params(&atoll_logger_info, NULL, NULL, 0, kv, "prefix=t", NULL);
	logger = spawn_on(rt, &atoll_logger_type, p, 0);
	for (unsigned c = 0; c < reactors; c++) {
		atoll_ref t = spawn_on(rt, &talker_type, NULL, (int)c);

		send_from_outside(rt, t, TALK, &logger, sizeof(logger));
	}
	send_from_outside(rt, logger, ATOLL_LIB_DATA, "a\001b\\", 4);
	send_from_outside(rt, logger, ATOLL_MSG_USER + 9, "xyz", 3); /* debug: dropped */
	wait_lines(path, 100 * reactors + 1);
	destroy_runtime(rt);
	assert_no_check_failures();
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned core;
		int i;

		if (sscanf(line, "info t: core %u line %d", &core, &i) == 2) {
			assert_true(core < reactors);
			assert_int_equal(i, next[core]); /* each sender in order */
			next[core]++;
		} else {
			assert_string_equal(line, "info t: a\\x01b\\x5c\n");
		}
	}
	fclose(f);
	for (unsigned c = 0; c < reactors; c++)
		assert_int_equal(next[c], 100);
	unlink(path);
	atoll_params_free(p);
}

static void lines_from_every_core_1(void **st)
{
	(void)st;
	lines_from_every_core(1);
}

static void lines_from_every_core_4(void **st)
{
	(void)st;
	lines_from_every_core(4);
}

static void debug_level_summarises_other_messages(void **st)
{
	atoll_runtime *rt = start_reactors(1);
	char path[] = "/tmp/atoll-logger-XXXXXX", kv[64], *text;
	struct atoll_params *p;
	atoll_ref logger;
	int fd = mkstemp(path);
	FILE *f;

	(void)st;
	assert_true(fd >= 0);
	close(fd);
	snprintf(kv, sizeof(kv), "path=%s", path);
	p = make_params(&atoll_logger_info, NULL, NULL, 0, kv, "level=debug", NULL);
	logger = spawn_on(rt, &atoll_logger_type, p, 0);
	send_from_outside(rt, logger, ATOLL_LIB_END, "12345678", 8);
	wait_lines(path, 1);
	destroy_runtime(rt);
	text = calloc(1, 256);
	f = fopen(path, "r");
	assert_non_null(fgets(text, 256, f));
	fclose(f);
	/* Standalone: the prefix is "log". */
	assert_string_equal(text, "debug log: message type 0x10002, 8 bytes\n");
	free(text);
	unlink(path);
	atoll_params_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(lines_from_every_core_1, reset, destroy_leftovers),
		cmocka_unit_test_setup_teardown(lines_from_every_core_4, reset, destroy_leftovers),
		cmocka_unit_test_setup_teardown(debug_level_summarises_other_messages, reset,
						destroy_leftovers),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
