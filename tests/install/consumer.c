/*
 * consumer.c - a program built outside the atoll tree against an installed
 * atoll (see tests/install/CMakeLists.txt and .ci/run). It checks that the
 * public header compiles on its own and that the library links and starts:
 * exit 0 on success, 1 with a message on any failure.
 */
#include <atoll.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
	struct atoll_config cfg = { .reactors = 1, .no_signals = true };
	atoll_runtime *rt = NULL;
	const char *text;
	int err;

	text = atoll_strerror(-22);
	if (text == NULL || strcmp(text, strerror(EINVAL)) != 0) {
		fprintf(stderr, "consumer: atoll_strerror(-22) = \"%s\", want \"%s\"\n",
			text ? text : "(null)", strerror(EINVAL));
		return 1;
	}

	err = atoll_runtime_start(&cfg, &rt);
	if (err != 0) {
		fprintf(stderr, "consumer: atoll_runtime_start: %s\n", atoll_strerror(err));
		return 1;
	}
	if (rt == NULL || atoll_runtime_reactors(rt) != 1) {
		fprintf(stderr, "consumer: expected a runtime with 1 reactor\n");
		atoll_runtime_destroy(rt);
		return 1;
	}
	atoll_runtime_destroy(rt);

	printf("consumer: atoll %d.%d.%d linked and started 1 reactor\n", ATOLL_VERSION_MAJOR,
	       ATOLL_VERSION_MINOR, ATOLL_VERSION_PATCH);
	return 0;
}
