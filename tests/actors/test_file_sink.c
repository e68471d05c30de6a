/*
 * test_file_sink.c - the file-sink actor (actors/file_sink.c, and the
 * appender of actors/appender.c under it): a generator's records land in
 * the file in order, one per line, with small write buffers so that many
 * wait in the appender's queue, and with stop_at_end the runtime stops by
 * itself after the last END (1 and 4 reactors); a DATA of several lines
 * counts each; `ends` waits for every upstream member; a path that cannot
 * be opened still ends the topology; `append` keeps what was there.
 */
#include "../helpers.h"

#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_sink.h"
#include "generator.h"
#include "lib_harness.h"

static char dir[64];

static int make_dir(void **st)
{
	(void)st;
	strcpy(dir, "/tmp/atoll-file-sink-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int remove_dir(void **st)
{
	char cmd[128];

	(void)st;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Reads the whole file into a NUL-terminated buffer (free it). */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void generator_to_file(unsigned reactors)
{
	atoll_runtime *rt = start_reactors(reactors);
	char path[128], kv[160], *text, *line;
	struct atoll_params *sp, *gp;
	atoll_ref sink;
	size_t len;
	uint64_t n = 0;

	snprintf(path, sizeof(path), "%s/gen%u.txt", dir, reactors);
	snprintf(kv, sizeof(kv), "path=%s", path);
	sp = make_params(&atoll_file_sink_info, NULL, NULL, 0, kv, "stop_at_end=yes", "buffer=4k",
			 NULL);
	sink = spawn_on(rt, &atoll_file_sink_type, sp, (int)reactors - 1);
	gp = make_params(&atoll_generator_info, "to", &sink, 1, "records=30000", NULL);
	spawn_on(rt, &atoll_generator_type, gp, 0);
	/* The sink stops the runtime itself. */
	assert_int_equal(wait_runtime(rt), 0);
	destroy_runtime(rt);
	text = slurp(path, &len);
	for (line = text; *line != '\0'; n++) {
		char want[64];
		char *nl = strchr(line, '\n');

		assert_non_null(nl);
		*nl = '\0';
		snprintf(want, sizeof(want), "seq=%" PRIu64 " value=%" PRIu64, n,
			 atoll_generator_value(n));
		assert_string_equal(line, want);
		line = nl + 1;
	}
	assert_int_equal(n, 30000);
	free(text);
	atoll_params_free(sp);
	atoll_params_free(gp);
}

static void generator_to_file_1(void **st)
{
	(void)st;
	generator_to_file(1);
}

static void generator_to_file_4(void **st)
{
	(void)st;
	generator_to_file(4);
}

static void waits_for_every_end(bool append)
{
	atoll_runtime *rt = start_reactors(2);
	char path[128], kv[160], *text;
	struct atoll_params *sp;
	atoll_ref sink;
	size_t len;
	uint64_t two = 2, one = 1;

	snprintf(path, sizeof(path), "%s/ends.txt", dir);
	snprintf(kv, sizeof(kv), "path=%s", path);
	sp = make_params(&atoll_file_sink_info, NULL, NULL, 0, kv, "stop_at_end=yes", "ends=2",
			 append ? "append=yes" : "append=no", NULL);
	sink = spawn_on(rt, &atoll_file_sink_type, sp, 1);
	send_from_outside(rt, sink, ATOLL_LIB_DATA, "a\nb", 3);
	send_from_outside(rt, sink, ATOLL_LIB_END, &two, sizeof(two));
	send_from_outside(rt, sink, ATOLL_LIB_DATA, "c", 1);
	send_from_outside(rt, sink, ATOLL_LIB_END, &one, sizeof(one));
	assert_int_equal(wait_runtime(rt), 0);
	destroy_runtime(rt);
	text = slurp(path, &len);
	assert_string_equal(text, append ? "a\nb\nc\na\nb\nc\n" : "a\nb\nc\n");
	free(text);
	atoll_params_free(sp);
}

static void waits_for_every_end_then_appends(void **st)
{
	(void)st;
	waits_for_every_end(false);
	waits_for_every_end(true);
}

static void unopenable_path_still_ends(void **st)
{
	atoll_runtime *rt = start_reactors(1);
	char kv[160];
	struct atoll_params *sp;
	atoll_ref sink;

	(void)st;
	snprintf(kv, sizeof(kv), "path=%s/no/such/dir/f.txt", dir);
	sp = make_params(&atoll_file_sink_info, NULL, NULL, 0, kv, "stop_at_end=yes", NULL);
	sink = spawn_on(rt, &atoll_file_sink_type, sp, 0);
	send_from_outside(rt, sink, ATOLL_LIB_DATA, "lost", 4);
	send_from_outside(rt, sink, ATOLL_LIB_END, NULL, 0);
	assert_int_equal(wait_runtime(rt), 0);
	destroy_runtime(rt);
	atoll_params_free(sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(generator_to_file_1, reset, destroy_leftovers),
		cmocka_unit_test_setup_teardown(generator_to_file_4, reset, destroy_leftovers),
		cmocka_unit_test_setup_teardown(waits_for_every_end_then_appends, reset,
						destroy_leftovers),
		cmocka_unit_test_setup_teardown(unopenable_path_still_ends, reset,
						destroy_leftovers),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
