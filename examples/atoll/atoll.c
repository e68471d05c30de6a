/*
 * atoll.c - the `atoll` runner: starts a topology file (atoll run), lists
 * the actor types it knows (atoll list), loads modules (--module M.so).
 *
 * The runner owns the catalog, the topology and the runtime, in that order
 * of creation, and frees them in reverse (a module's code must stay loaded
 * until the runtime that runs its actors is gone). Its main thread only
 * waits: for the runtime to stop (an actor, SIGINT/SIGTERM), for --duration,
 * and for the next --stats line. Modules call libatoll's functions from this
 * executable, which exports them (see CMakeLists.txt).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <atoll.h>

#define MAX_MODULES 64
#define MAX_SETS 64
/* How long the runner waits for every init to have run before it calls the
 * start done (inits are quick; this only bounds a runtime that hangs). */
#define START_LIMIT_NS (30ull * 1000000000ull)
#define EXIT_FAILED 1 /* an unsupervised actor failed, or the runtime did not start */
#define EXIT_USAGE 2  /* bad flags, bad module, bad topology */

struct options {
	const char *modules[MAX_MODULES];
	unsigned nmodules;
	unsigned reactors;
	uint64_t duration_ns;
	bool duration_set;
	bool check;
	bool dot;
	uint64_t stats_ns; /* 0: no --stats */
	const char *file;
	const char *sets[MAX_SETS];
	size_t nsets;
};

static void usage(FILE *out)
{
	fprintf(out, "usage: atoll run [options] FILE     start the topology in FILE\n"
		     "       atoll list [--module M.so]... list the actor types\n"
		     "       atoll --help | --version\n"
		     "\n"
		     "run options:\n"
		     "  --module M.so        load the actor types of a module (repeatable)\n"
		     "  --reactors N         number of reactors (default: [runtime] reactors,\n"
		     "                       else one per CPU)\n"
		     "  --duration D         stop after D (e.g. 500ms, 5s; default: [runtime]\n"
		     "                       duration, else until an actor stops the runtime or\n"
		     "                       SIGINT/SIGTERM)\n"
		     "  --check              check FILE, print the placement, start nothing\n"
		     "  --dot                with --check: print Graphviz DOT instead\n"
		     "  --stats[=INTERVAL]   per-reactor counters on stderr every INTERVAL (1s)\n"
		     "  --set G.KEY=VALUE    set a key of group G (or runtime.KEY), replacing\n"
		     "                       the file's value (repeatable)\n"
		     "\n"
		     "Exit status: 0 after a clean stop; 1 when the runtime failed to start or an\n"
		     "actor no supervisor watches failed (in init or later: the run stops and\n"
		     "says which); 2 for bad flags, modules or topology files.\n"
		     "docs/topologies.md describes the file format and supervision.\n");
}

static int parse_duration(const char *text, const char *flag, uint64_t *out)
{
	char err[256];
	int64_t v;

	if (atoll_param_parse(ATOLL_PARAM_DURATION, NULL, text, &v, err, sizeof(err)) < 0) {
		fprintf(stderr, "atoll: %s: %s\n", flag, err);
		return -EINVAL;
	}
	*out = (uint64_t)v;
	return 0;
}

/* Reads argv after the command word. Returns 0, or EXIT_USAGE. */
static int parse_options(int argc, char **argv, bool run, struct options *o)
{
	enum {
		OPT_MODULE = 1,
		OPT_REACTORS,
		OPT_DURATION,
		OPT_CHECK,
		OPT_DOT,
		OPT_STATS,
		OPT_SET
	};
	static const struct option longopts[] = {
		{ "module", required_argument, NULL, OPT_MODULE },
		{ "reactors", required_argument, NULL, OPT_REACTORS },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "dot", no_argument, NULL, OPT_DOT },
		{ "stats", optional_argument, NULL, OPT_STATS },
		{ "set", required_argument, NULL, OPT_SET },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			exit(0);
		}
		if (!run && c != OPT_MODULE) {
			fprintf(stderr, "atoll list: only --module is accepted\n");
			return EXIT_USAGE;
		}
		switch (c) {
		case OPT_MODULE:
			if (o->nmodules == MAX_MODULES) {
				fprintf(stderr, "atoll: at most %d modules\n", MAX_MODULES);
				return EXIT_USAGE;
			}
			o->modules[o->nmodules++] = optarg;
			break;
		case OPT_REACTORS: {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);

			if (*optarg < '1' || *optarg > '9' || *end != '\0' ||
			    n > ATOLL_MAX_REACTORS) {
				fprintf(stderr, "atoll: --reactors: expected 1 to %u, got '%s'\n",
					ATOLL_MAX_REACTORS, optarg);
				return EXIT_USAGE;
			}
			o->reactors = (unsigned)n;
			break;
		}
		case OPT_DURATION:
			if (parse_duration(optarg, "--duration", &o->duration_ns) < 0)
				return EXIT_USAGE;
			o->duration_set = true;
			break;
		case OPT_SET:
			if (o->nsets == MAX_SETS) {
				fprintf(stderr, "atoll: at most %d --set\n", MAX_SETS);
				return EXIT_USAGE;
			}
			o->sets[o->nsets++] = optarg;
			break;
		case OPT_CHECK:
			o->check = true;
			break;
		case OPT_DOT:
			o->dot = true;
			break;
		case OPT_STATS:
			o->stats_ns = 1000000000ull;
			if (optarg != NULL && parse_duration(optarg, "--stats", &o->stats_ns) < 0)
				return EXIT_USAGE;
			if (o->stats_ns < 1000000ull) {
				fprintf(stderr,
					"atoll: --stats: the interval must be 1ms or more\n");
				return EXIT_USAGE;
			}
			break;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (run) {
		if (optind != argc - 1) {
			fprintf(stderr, "atoll run: expected one topology FILE (atoll --help)\n");
			return EXIT_USAGE;
		}
		o->file = argv[optind];
	} else if (optind != argc) {
		fprintf(stderr, "atoll list: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	return 0;
}

/* A catalog with the built-in types and the modules'. NULL on error. */
static struct atoll_catalog *load_catalog(const struct options *o)
{
	struct atoll_catalog *c = atoll_catalog_new();
	char err[512];
	int rc;

	if (c == NULL) {
		fprintf(stderr, "atoll: out of memory\n");
		return NULL;
	}
	rc = atoll_catalog_add_builtin(c);
	if (rc < 0) {
		fprintf(stderr, "atoll: the built-in types: %s\n", atoll_strerror(rc));
		atoll_catalog_free(c);
		return NULL;
	}
	for (unsigned i = 0; i < o->nmodules; i++) {
		if (atoll_catalog_load(c, o->modules[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "atoll: %s\n", err);
			atoll_catalog_free(c);
			return NULL;
		}
	}
	return c;
}

/* --- atoll list ----------------------------------------------------------- */

static const char *kind_name(enum atoll_param_kind k)
{
	switch (k) {
	case ATOLL_PARAM_STRING:
		return "string";
	case ATOLL_PARAM_INT:
		return "int";
	case ATOLL_PARAM_BOOL:
		return "bool";
	case ATOLL_PARAM_SIZE:
		return "size";
	case ATOLL_PARAM_DURATION:
		return "duration";
	case ATOLL_PARAM_ENUM:
		return "enum";
	case ATOLL_PARAM_LINK:
		return "link";
	}
	return "?";
}

static void list_msgs(const char *title, const struct atoll_msg_spec *m)
{
	if (m == NULL || m->name == NULL)
		return;
	printf("  %s:\n", title);
	for (; m->name != NULL; m++)
		printf("    %-14s 0x%05" PRIx32 "  %s\n", m->name, m->type,
		       m->help != NULL ? m->help : "");
}

static void list_type(const struct atoll_type_info *info, const char *origin)
{
	printf("%s (%s)%s%s\n", info->type->name, origin,
	       (info->flags & ATOLL_TYPE_SINGLETON) ? " [singleton]" : "",
	       (info->flags & ATOLL_TYPE_SUPERVISOR) ? " [supervisor]" : "");
	if (info->summary != NULL)
		printf("  %s\n", info->summary);
	if (info->params != NULL && info->params->name != NULL) {
		printf("  parameters:\n");
		for (const struct atoll_param_spec *s = info->params; s->name != NULL; s++) {
			char range[64] = "";
			char def[80];

			/* Durations are in ns; max 0 means no upper bound. */
			const char *unit = s->kind == ATOLL_PARAM_DURATION ? " ns" : "";

			if (s->max != 0)
				snprintf(range, sizeof(range), " [%" PRId64 "..%" PRId64 "%s]",
					 s->min, s->max, unit);
			else if (s->min != 0)
				snprintf(range, sizeof(range), " [%" PRId64 "%s..]", s->min, unit);
			if (s->def == NULL)
				snprintf(def, sizeof(def), "required");
			else if (s->def[0] == '\0')
				snprintf(def, sizeof(def), "optional");
			else
				snprintf(def, sizeof(def), "default %s", s->def);
			printf("    %-16s %s%s%s%s, %s%s%s\n", s->name, kind_name(s->kind),
			       s->choices != NULL ? " " : "", s->choices != NULL ? s->choices : "",
			       range, def, (s->flags & ATOLL_PARAM_ACYCLIC) ? ", pipeline" : "",
			       "");
			if (s->help != NULL)
				printf("      %s\n", s->help);
		}
	}
	list_msgs("accepts", info->accepts);
	list_msgs("sends", info->sends);
}

static int cmd_list(int argc, char **argv)
{
	struct options o = { 0 };
	struct atoll_catalog *c;
	int rc = parse_options(argc, argv, false, &o);

	if (rc != 0)
		return rc;
	c = load_catalog(&o);
	if (c == NULL)
		return EXIT_USAGE;
	if (atoll_catalog_count(c) == 0)
		printf("(no actor types)\n");
	for (size_t i = 0; i < atoll_catalog_count(c); i++) {
		if (i > 0)
			putchar('\n');
		list_type(atoll_catalog_at(c, i), atoll_catalog_origin(c, i));
	}
	atoll_catalog_free(c);
	return 0;
}

/* --- atoll run ------------------------------------------------------------ */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void pause_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)ms * 1000000L };

	nanosleep(&ts, NULL);
}

/* The reactors the runtime will start with cfg (as atoll_runtime_start
 * chooses them), so the topology can be placed before it starts. */
static unsigned default_reactors(const struct atoll_config *cfg)
{
	cpu_set_t set;

	if (cfg->reactors != 0)
		return cfg->reactors;
	if (cfg->ncpus != 0)
		return cfg->ncpus;
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return 1;
	return (unsigned)CPU_COUNT(&set);
}

static uint64_t sum_stat(atoll_runtime *rt, size_t offset)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < atoll_runtime_reactors(rt); i++) {
		struct atoll_stats s;
		uint64_t v;

		if (atoll_runtime_stats(rt, i, &s) != 0)
			continue;
		memcpy(&v, (const char *)&s + offset, sizeof(v));
		sum += v;
	}
	return sum;
}

#define SUM(rt, f) sum_stat((rt), offsetof(struct atoll_stats, f))

/* One line per reactor: counts since the last line, and current gauges. */
static void print_stats(atoll_runtime *rt, struct atoll_stats *last, uint64_t elapsed_ns)
{
	for (unsigned i = 0; i < atoll_runtime_reactors(rt); i++) {
		struct atoll_stats s;

		if (atoll_runtime_stats(rt, i, &s) != 0)
			continue;
		fprintf(stderr,
			"stats %.3fs core %u: sent %" PRIu64 " (remote %" PRIu64 ") recv %" PRIu64
			" ring_full %" PRIu64 " overflow %" PRIu64 " dead %" PRIu64
			" doorbells %" PRIu64 " timers %" PRIu64 " alive %" PRIu64 " io %" PRIu64
			" queued %" PRIu64 " (max %" PRIu64 ") dropped %" PRIu64
			" rejected %" PRIu64 " failures %" PRIu64 " restarts %" PRIu64 "\n",
			(double)elapsed_ns / 1e9, i,
			s.sent_local + s.sent_remote - last[i].sent_local - last[i].sent_remote,
			s.sent_remote - last[i].sent_remote, s.received - last[i].received,
			s.ring_full - last[i].ring_full, s.overflow,
			s.dead_letters - last[i].dead_letters, s.doorbells - last[i].doorbells,
			s.timers_fired - last[i].timers_fired, s.actors_alive, s.io_inflight,
			s.queued, s.queued_max, s.mailbox_dropped - last[i].mailbox_dropped,
			s.mailbox_rejected - last[i].mailbox_rejected,
			s.failures - last[i].failures, s.restarts - last[i].restarts);
		last[i] = s;
	}
}

/* Waits until the runtime stops (or --duration passes), printing stats.
 * Returns EXIT_FAILED when an actor no supervisor watches failed (the
 * topology's watcher then stopped the runtime), or the actors did not all
 * start, else 0. */
static int supervise(atoll_runtime *rt, const struct atoll_topology *t, const struct options *o)
{
	size_t actors = atoll_topology_actors(t);
	char failure[512];
	struct atoll_stats *last = calloc(atoll_runtime_reactors(rt), sizeof(*last));
	uint64_t start = now_ns(), next_stats = start + o->stats_ns;
	bool started = false;
	int rc = 0;

	if (last == NULL) {
		fprintf(stderr, "atoll: out of memory\n");
		atoll_runtime_stop(rt);
		return EXIT_FAILED;
	}
	if (o->stats_ns != 0)
		fprintf(stderr, "stats: counts per interval; overflow, alive, io and queued are "
				"current values (queued: messages waiting in mailboxes, sampled; "
				"max: the most seen)\n");
	while (!atoll_runtime_stopping(rt)) {
		uint64_t now = now_ns();

		if (!started) {
			started = SUM(rt, spawned) >= actors;
			if (!started && now - start > START_LIMIT_NS) {
				fprintf(stderr, "atoll: the actors did not start within %llu s\n",
					START_LIMIT_NS / 1000000000ull);
				rc = EXIT_FAILED;
				atoll_runtime_stop(rt);
				break;
			}
		}
		if (o->duration_ns != 0 && now - start >= o->duration_ns) {
			atoll_runtime_stop(rt);
			break;
		}
		if (o->stats_ns != 0 && now >= next_stats) {
			print_stats(rt, last, now - start);
			next_stats += o->stats_ns;
		}
		pause_ms(started ? 10 : 1);
	}
	atoll_runtime_wait(rt);
	if (atoll_topology_failure(t, failure, sizeof(failure))) {
		fprintf(stderr, "atoll: %s\n", failure);
		rc = EXIT_FAILED;
	}
	if (o->stats_ns != 0)
		print_stats(rt, last, now_ns() - start);
	free(last);
	return rc;
}

static int cmd_run(int argc, char **argv)
{
	struct options o = { 0 };
	struct atoll_config cfg = { 0 };
	struct atoll_catalog *c = NULL;
	struct atoll_topology *t = NULL;
	atoll_runtime *rt = NULL;
	char err[1024];
	int rc = parse_options(argc, argv, true, &o);

	if (rc != 0)
		return rc;
	c = load_catalog(&o);
	if (c == NULL)
		return EXIT_USAGE;
	rc = EXIT_USAGE;
	if (atoll_topology_load_set(o.file, c, o.sets, o.nsets, &t, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	atoll_topology_config(t, &cfg);
	if (o.reactors != 0)
		cfg.reactors = o.reactors;
	if (!o.duration_set)
		o.duration_ns = atoll_topology_duration(t);
	if (atoll_topology_place(t, default_reactors(&cfg), err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	if (o.check || o.dot) {
		rc = (o.dot ? atoll_topology_dot(t, stdout) : atoll_topology_print(t, stdout)) < 0
			     ? EXIT_FAILED
			     : 0;
		goto out;
	}
	rc = EXIT_FAILED;
	int e = atoll_runtime_start(&cfg, &rt);
	if (e < 0) {
		fprintf(stderr, "atoll: cannot start the runtime: %s\n", atoll_strerror(e));
		goto out;
	}
	if (atoll_topology_start(t, rt, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	rc = supervise(rt, t, &o);
out:
	atoll_runtime_destroy(rt);
	atoll_topology_free(t);
	atoll_catalog_free(c);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("atoll %d.%d.%d (module ABI %u)\n", ATOLL_VERSION_MAJOR, ATOLL_VERSION_MINOR,
		       ATOLL_VERSION_PATCH, ATOLL_MODULE_ABI);
		return 0;
	}
	/* getopt names the command in its messages: "atoll run: ...". */
	if (strcmp(argv[1], "run") == 0) {
		argv[1] = (char *)"atoll run";
		return cmd_run(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "list") == 0) {
		argv[1] = (char *)"atoll list";
		return cmd_list(argc - 1, argv + 1);
	}
	fprintf(stderr, "atoll: unknown command '%s' (atoll --help)\n", argv[1]);
	return EXIT_USAGE;
}
