/*
 * main.c - the atoll-bench driver: "atoll-bench --list", "atoll-bench NAME
 * [flags]", "atoll-bench all" and "--help".
 *
 * The benchmarks come from BENCH_REGISTRY in bench.h, one file per family.
 * Results go to stdout as RESULT lines, everything else to stderr. Exit codes:
 * 0 success, 1 a benchmark could not run, 2 bad usage, 3 watchdog fired.
 */
#include "bench.h"

#include <stdio.h>
#include <string.h>

struct bench_entry {
	const char *name;
	const char *description;
	int (*run)(int argc, char **argv);
};

#define BENCH_ENTRY(name, description, function) { name, description, function },
static const struct bench_entry benches[] = { BENCH_REGISTRY(BENCH_ENTRY) };
#undef BENCH_ENTRY

static void usage(FILE *out)
{
	fprintf(out, "usage: atoll-bench --list\n"
		     "       atoll-bench NAME [flags]     run one benchmark (NAME --help for its "
		     "flags)\n"
		     "       atoll-bench all              run every benchmark once with defaults\n"
		     "       atoll-bench --help\n"
		     "\n"
		     "Each result is one line on stdout: RESULT <bench> <metric>=<value> ...\n"
		     "Everything else goes to stderr.\n"
		     "\nbenchmarks:\n");
	for (size_t i = 0; i < BENCH_ARRAY_SIZE(benches); i++)
		fprintf(out, "  %-18s %s\n", benches[i].name, benches[i].description);
}

static const struct bench_entry *find_bench(const char *name)
{
	for (size_t i = 0; i < BENCH_ARRAY_SIZE(benches); i++)
		if (strcmp(benches[i].name, name) == 0)
			return &benches[i];
	return NULL;
}

static int run_all(int argc, char **argv)
{
	int worst = BENCH_EXIT_OK;

	if (argc > 1) {
		fprintf(stderr,
			"atoll-bench all: takes no flags (got '%s'); run one benchmark to pass "
			"flags\n",
			argv[1]);
		return BENCH_EXIT_USAGE;
	}
	for (size_t i = 0; i < BENCH_ARRAY_SIZE(benches); i++) {
		char *bench_argv[] = { (char *)benches[i].name, NULL };
		int rc;

		fprintf(stderr, "== %s\n", benches[i].name);
		rc = benches[i].run(1, bench_argv);
		if (rc != BENCH_EXIT_OK) {
			fprintf(stderr, "== %s failed (exit code %d)\n", benches[i].name, rc);
			worst = BENCH_EXIT_FAIL;
		}
	}
	return worst;
}

int main(int argc, char **argv)
{
	const struct bench_entry *bench;

	if (argc < 2) {
		usage(stderr);
		return BENCH_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return BENCH_EXIT_OK;
	}
	if (strcmp(argv[1], "--list") == 0) {
		if (argc > 2) {
			fprintf(stderr, "atoll-bench --list: takes no arguments\n");
			return BENCH_EXIT_USAGE;
		}
		for (size_t i = 0; i < BENCH_ARRAY_SIZE(benches); i++)
			printf("%s\n", benches[i].name);
		return BENCH_EXIT_OK;
	}
	if (strcmp(argv[1], "all") == 0)
		return run_all(argc - 1, argv + 1);
	bench = find_bench(argv[1]);
	if (bench == NULL) {
		fprintf(stderr,
			"atoll-bench: unknown %s '%s' (atoll-bench --list names the benchmarks)\n",
			argv[1][0] == '-' ? "flag" : "benchmark", argv[1]);
		return BENCH_EXIT_USAGE;
	}
	return bench->run(argc - 1, argv + 1);
}
