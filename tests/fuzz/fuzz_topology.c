/*
 * fuzz_topology.c - libFuzzer target for the topology loader
 * (src/topology.c with libinih, src/params.c, src/topology_supervise.c): any
 * text is read against a catalog of four local types whose parameters cover
 * every kind, links among them (one acyclic), a check hook, and a
 * supervisor type (supervisor = GROUP, restart = ...). A file that loads is then
 * placed on 1 to 8 reactors and printed as text and as DOT. Nothing runs.
 * The loader must never crash, leak or accept a file and then fail to
 * place it for a reason other than its cores; every error it reports must
 * start with the file name.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll.h"
#include "atoll/topology.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void nop(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	(void)ctx;
	(void)state;
	(void)msg;
}

static const struct atoll_actor_type src_type = { .name = "src", .receive = nop };
static const struct atoll_actor_type stage_type = { .name = "stage", .receive = nop };
static const struct atoll_actor_type sink_type = { .name = "sink", .receive = nop };
static const struct atoll_actor_type sup_type = { .name = "sup", .receive = nop };

static const struct atoll_param_spec src_params[] = {
	{ "to", ATOLL_PARAM_LINK, NULL, 0, 0, NULL, "next", ATOLL_PARAM_ACYCLIC },
	{ "records", ATOLL_PARAM_INT, "10", 0, 1000000, NULL, "n", 0 },
	{ "every", ATOLL_PARAM_DURATION, "1s", 1000, 0, NULL, "period", 0 },
	{ 0 },
};
static const struct atoll_param_spec stage_params[] = {
	{ "next", ATOLL_PARAM_LINK, "", 0, 0, NULL, "ring link (cycles allowed)", 0 },
	{ "to", ATOLL_PARAM_LINK, "", 0, 0, NULL, "onward", ATOLL_PARAM_ACYCLIC },
	{ "mode", ATOLL_PARAM_ENUM, "hash", 0, 0, "hash|round-robin", "how", 0 },
	{ "buf", ATOLL_PARAM_SIZE, "4k", 0, 0, NULL, "bytes", 0 },
	{ 0 },
};
static const struct atoll_param_spec sink_params[] = {
	{ "path", ATOLL_PARAM_STRING, NULL, 0, 0, NULL, "file", 0 },
	{ "sync", ATOLL_PARAM_BOOL, "no", 0, 0, NULL, "fsync", 0 },
	{ 0 },
};

static const struct atoll_param_spec sup_params[] = {
	{ "strategy", ATOLL_PARAM_ENUM, "one_for_one", 0, 0, "one_for_one|one_for_all", "how", 0 },
	{ 0 },
};

static int sink_check(const struct atoll_params *p, char *err, size_t errlen)
{
	const char *path = atoll_params_str(p, "path");

	if (path == NULL || path[0] == '\0') {
		snprintf(err, errlen, "path must not be empty");
		return -EINVAL;
	}
	return 0;
}

static const struct atoll_type_info infos[] = {
	{ .type = &src_type, .summary = "s", .params = src_params },
	{ .type = &stage_type, .summary = "s", .params = stage_params },
	{ .type = &sink_type, .summary = "s", .params = sink_params, .check = sink_check },
	{ .type = &sup_type,
	  .summary = "s",
	  .params = sup_params,
	  .flags = ATOLL_TYPE_SINGLETON | ATOLL_TYPE_SUPERVISOR },
};

static struct atoll_catalog *catalog(void)
{
	static struct atoll_catalog *c;

	if (c == NULL) {
		c = atoll_catalog_new();
		for (size_t i = 0; c != NULL && i < sizeof(infos) / sizeof(infos[0]); i++)
			if (atoll_catalog_add(c, &infos[i]) != 0)
				abort();
	}
	return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct atoll_topology *t = NULL;
	char err[512] = "";
	unsigned reactors = size > 0 ? (unsigned)(data[0] % 8) + 1 : 1;
	char *text = malloc(size + 1);
	FILE *null;
	int rc;

	if (text == NULL || catalog() == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0'; /* a NUL inside ends the text, as for a C string */
	rc = atoll_topology_parse(text, "f.ini", catalog(), &t, err, sizeof(err));
	free(text);
	if (rc != 0) {
		if (t != NULL || (rc == -EINVAL && strncmp(err, "f.ini", 5) != 0))
			abort();
		return 0;
	}
	if (atoll_topology_place(t, reactors, err, sizeof(err)) == 0) {
		null = fopen("/dev/null", "w");
		if (null == NULL)
			abort();
		atoll_topology_print(t, null);
		atoll_topology_dot(t, null);
		fclose(null);
		if (atoll_topology_actors(t) == 0 && strstr(err, "f.ini") != NULL)
			abort();
	} else if (strncmp(err, "f.ini", 5) != 0) {
		abort();
	}
	atoll_topology_free(t);
	return 0;
}
