/*
 * atoll-kv.c - the sharded key-value server that speaks the Redis protocol.
 *
 * One kv_shard actor per reactor owns 1/N of the keyspace; one TCP listener
 * per reactor (SO_REUSEPORT) spawns a resp_conn connection actor per client
 * on the core that accepted it. This file only reads the settings (flags and
 * a redis.conf-style file), starts the runtime and the actors, and waits for
 * SIGINT/SIGTERM, after which everything stops cleanly.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atoll.h>

#include "kv_aof.h"
#include "kv_rename.h"
#include "kv_server.h"
#include "kv_shard.h"
#include "resp.h"
#include "resp_conn.h"
#include "tcp_listener.h"

#define DEFAULT_PORT 6379u
#define DEFAULT_BIND "127.0.0.1"
#define START_TIMEOUT_MS 10000u

struct options {
	char bind[64];
	unsigned port;
	unsigned reactors; /* 0: one per CPU */
	int idle_spin_us;  /* 0: the runtime's default; -1: never spin */
	const char *config_file;
	char dir[4096]; /* "" : the working directory */
	bool repair;
	struct kv_settings settings;
	struct kv_rename *renames; /* rename-command; NULL until the first */
};

/* --- settings ------------------------------------------------------------ */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: atoll-kv [CONFIG-FILE] [options]\n"
		"\n"
		"A sharded key-value server speaking the Redis protocol (RESP2/RESP3):\n"
		"redis-cli, redis-benchmark and Redis client libraries work against it.\n"
		"One shard per reactor, one reactor per CPU by default. Ctrl-C or\n"
		"SIGTERM stops it cleanly.\n"
		"\n"
		"  -p, --port N            TCP port (default %u; 0: any free port)\n"
		"  -b, --bind ADDR         IPv4 or IPv6 address (default %s;\n"
		"                          0.0.0.0 or :: to listen on every interface)\n"
		"  -r, --reactors N        reactors, i.e. shards (default: one per CPU)\n"
		"  -a, --requirepass PW    clients must AUTH with this password\n"
		"      --protected-mode yes|no\n"
		"                          with no requirepass, refuse (-DENIED) clients\n"
		"                          that connect from a non-loopback address\n"
		"                          (default yes, as Redis)\n"
		"      --enable-debug-command no|yes|local\n"
		"                          who may run DEBUG: nobody (the default, as\n"
		"                          Redis 7), everyone, or loopback clients only\n"
		"      --rename-command NAME NEWNAME\n"
		"                          clients reach command NAME as NEWNAME only;\n"
		"                          NEWNAME \"\" disables it (both case-insensitive;\n"
		"                          repeatable, applied in order after the file's)\n"
		"  -m, --maxclients N      most clients connected at once (default 10000)\n"
		"  -c, --config FILE       read settings from FILE (redis.conf style:\n"
		"                          one \"name value\" per line, # comments)\n"
		"  -d, --dir DIR           directory for the logs and snapshots (default:\n"
		"                          the working directory; created if missing)\n"
		"      --appendonly yes|no log every write to a per-shard append-only file\n"
		"                          in DIR, replayed at start (default no)\n"
		"      --appendfsync always|everysec|no\n"
		"                          when the logs reach the disk: before each\n"
		"                          write's reply (always), once a second\n"
		"                          (everysec, the default), or when the kernel\n"
		"                          decides (no)\n"
		"      --maxmemory BYTES   most memory for keys and values (k/kb/m/mb/g/gb\n"
		"                          suffixes; default 0: no limit)\n"
		"      --maxmemory-policy P  over maxmemory: noeviction (refuse writes,\n"
		"                          the default), allkeys-lru, volatile-lru,\n"
		"                          allkeys-random, volatile-random, volatile-ttl\n"
		"      --repair            cut a log that is corrupt in the middle at the\n"
		"                          first bad command and start (what follows it\n"
		"                          is lost), as redis-check-aof --fix does\n"
		"  -s, --idle-spin-us N    microseconds an idle reactor polls before it\n"
		"                          sleeps (default 0: the runtime's, which does\n"
		"                          not spin while sockets wait; -1: never)\n"
		"  -h, --help              show this help\n"
		"\n"
		"Settings in a config file: port, bind, reactors, requirepass, maxclients,\n"
		"proto-max-bulk-len, client-query-buffer-limit, client-output-buffer-limit,\n"
		"hz, idle-spin-us, dir, appendonly, appendfsync, auto-aof-rewrite-percentage,\n"
		"auto-aof-rewrite-min-size, maxmemory, maxmemory-policy, maxmemory-samples,\n"
		"protected-mode, enable-debug-command, rename-command (NAME NEWNAME, quoted\n"
		"as in redis.conf: rename-command FLUSHALL \"\").\n"
		"Flags given on the command line win over the file.\n",
		DEFAULT_PORT, DEFAULT_BIND);
}

static bool parse_uint(const char *s, unsigned long max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v > max || s[0] == '-')
		return false;
	*out = (unsigned)v;
	return true;
}

static bool is_address(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* Applies one setting; where names the file and line, for errors. */
static bool apply(struct options *o, const char *name, const char *value, const char *where)
{
	char err[256];

	if (strcasecmp(name, "port") == 0) {
		if (!parse_uint(value, 65535, &o->port))
			goto bad;
	} else if (strcasecmp(name, "bind") == 0) {
		if (!is_address(value) || strlen(value) >= sizeof(o->bind)) {
			fprintf(stderr, "atoll-kv: %s: bind: '%s' is not an IPv4 or IPv6 address\n",
				where, value);
			return false;
		}
		strcpy(o->bind, value);
	} else if (strcasecmp(name, "idle-spin-us") == 0) {
		char *end;
		long v = strtol(value, &end, 10);

		if (*value == '\0' || *end != '\0' || v < -1 || v > 1000000)
			goto bad;
		o->idle_spin_us = v < 0 ? -1 : (int)v;
	} else if (strcasecmp(name, "dir") == 0) {
		if (*value == '\0' || strlen(value) >= sizeof(o->dir)) {
			fprintf(stderr, "atoll-kv: %s: dir: bad directory name '%s'\n", where,
				value);
			return false;
		}
		strcpy(o->dir, value);
	} else if (strcasecmp(name, "reactors") == 0) {
		if (!parse_uint(value, ATOLL_MAX_REACTORS, &o->reactors) || o->reactors == 0)
			goto bad;
	} else if (kv_settings_set(&o->settings, name, strlen(name), value, strlen(value), err,
				   sizeof(err)) < 0) {
		fprintf(stderr, "atoll-kv: %s: %s\n", where, err);
		return false;
	}
	return true;
bad:
	fprintf(stderr, "atoll-kv: %s: %s: bad value '%s'\n", where, name, value);
	return false;
}

/* Writes n bytes of p in an error message: printable ASCII as it is, other
 * bytes as \xHH, at most max of them, then "..." if there are more. */
static void put_escaped(FILE *f, const char *p, size_t n, size_t max)
{
	for (size_t i = 0; i < n && i < max; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch >= ' ' && ch <= '~')
			fputc(ch, f);
		else
			fprintf(f, "\\x%02x", ch);
	}
	if (n > max)
		fputs("...", f);
}

static bool rename_table(struct options *o)
{
	if (o->renames == NULL && kv_rename_create(&o->renames) < 0) {
		fprintf(stderr, "atoll-kv: out of memory\n");
		return false;
	}
	return true;
}

/* rename-command in the config file: args is the rest of the line, words
 * quoted as redis.conf's; where names the file and line. */
static bool rename_line(struct options *o, const char *args, const char *where)
{
	char err[128];

	if (!rename_table(o))
		return false;
	if (kv_rename_line(o->renames, args, err, sizeof(err)) == 0)
		return true;
	fprintf(stderr, "atoll-kv: %s: rename-command ", where);
	put_escaped(stderr, args, strlen(args), 128);
	fprintf(stderr, ": %s\n", err);
	return false;
}

/* --rename-command NAME NEWNAME: the words as they are, no quotes to undo. */
static bool rename_flag(struct options *o, const char *from, const char *to)
{
	int err;

	if (!rename_table(o))
		return false;
	err = kv_rename_apply(o->renames, from, strlen(from), to, strlen(to));
	if (err == 0)
		return true;
	fputs("atoll-kv: --rename-command \"", stderr);
	put_escaped(stderr, from, strlen(from), 64);
	fputs("\" \"", stderr);
	put_escaped(stderr, to, strlen(to), 64);
	fprintf(stderr, "\": %s\n", kv_rename_strerror(err));
	return false;
}

/*
 * A config line's value as Redis 7.0 reads redis.conf: the words after the
 * name, split as sdssplitargs splits them (double quotes with \xHH and C
 * escapes, single quotes), joined by one space. Only
 * client-output-buffer-limit takes more than one word; the others take one,
 * quoted if it holds blanks. Writes the value over value (it never grows).
 */
static bool config_value(const char *name, char *value, const char *where)
{
	size_t n = strlen(value), used = 0;
	int max = (int)(n / 2 + 1), count;
	struct resp_word *w = malloc((size_t)max * sizeof(*w));
	char *buf = malloc(n + 1);
	bool ok = false;

	if (w == NULL || buf == NULL) {
		fprintf(stderr, "atoll-kv: out of memory\n");
		goto out;
	}
	count = resp_split_args(value, n, w, max, buf);
	if (count < 0) {
		fprintf(stderr, "atoll-kv: %s: Unbalanced quotes in configuration line\n", where);
		goto out;
	}
	if (count > 1 && strcasecmp(name, "client-output-buffer-limit") != 0) {
		fprintf(stderr,
			"atoll-kv: %s: %s takes one value (quote it if it holds spaces), not %d\n",
			where, name, count);
		goto out;
	}
	for (int i = 0; i < count; i++) {
		if (memchr(w[i].p, '\0', w[i].len) != NULL) {
			fprintf(stderr, "atoll-kv: %s: %s: a value cannot hold a NUL byte\n", where,
				name);
			goto out;
		}
		if (i > 0)
			value[used++] = ' ';
		memcpy(value + used, w[i].p, w[i].len);
		used += w[i].len;
	}
	value[used] = '\0';
	ok = true;
out:
	free(w);
	free(buf);
	return ok;
}

static bool read_config(struct options *o, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL, where[512];
	size_t cap = 0;
	unsigned lineno = 0;
	bool ok = true;

	if (f == NULL) {
		fprintf(stderr, "atoll-kv: cannot open config file %s: %s\n", path,
			strerror(errno));
		return false;
	}
	/* getline: a line of any length is one line (a fixed buffer would cut
	 * a long one in two, the rest read as a line of its own). */
	while (ok && getline(&line, &cap, f) >= 0) {
		char *name, *value, *end;

		lineno++;
		snprintf(where, sizeof(where), "%s:%u", path, lineno);
		name = line + strspn(line, " \t");
		end = name + strcspn(name, "\r\n");
		*end = '\0';
		if (*name == '\0' || *name == '#')
			continue;
		value = name + strcspn(name, " \t");
		if (*value != '\0')
			*value++ = '\0';
		value += strspn(value, " \t");
		while (end > value && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		/* Two words, each may be quoted: the line's own split. */
		if (strcasecmp(name, "rename-command") == 0) {
			ok = rename_line(o, value, where);
			continue;
		}
		ok = config_value(name, value, where) && apply(o, name, value, where);
	}
	if (ok && ferror(f)) {
		fprintf(stderr, "atoll-kv: cannot read config file %s: %s\n", path,
			strerror(errno));
		ok = false;
	}
	free(line);
	fclose(f);
	return ok;
}

/* Returns -1 to go on, else the exit code. */
static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, 'b' },
		{ "reactors", required_argument, NULL, 'r' },
		{ "requirepass", required_argument, NULL, 'a' },
		{ "maxclients", required_argument, NULL, 'm' },
		{ "config", required_argument, NULL, 'c' },
		{ "idle-spin-us", required_argument, NULL, 's' },
		{ "dir", required_argument, NULL, 'd' },
		{ "appendonly", required_argument, NULL, 'A' },
		{ "appendfsync", required_argument, NULL, 'F' },
		{ "maxmemory", required_argument, NULL, 'M' },
		{ "maxmemory-policy", required_argument, NULL, 'P' },
		{ "protected-mode", required_argument, NULL, 'G' },
		{ "enable-debug-command", required_argument, NULL, 'D' },
		{ "rename-command", required_argument, NULL, 'N' },
		{ "repair", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	/* The settings given as flags, applied after the file in their order.
	 * Each takes at least one word of argv, so argc of them are room
	 * enough. */
	struct flag {
		const char *name;
		const char *value;
		const char *value2; /* --rename-command's NEWNAME, else NULL */
	};
	struct flag *flags;
	int nflags = 0, ch, code = -1;

	memset(o, 0, sizeof(*o));
	strcpy(o->bind, DEFAULT_BIND);
	o->port = DEFAULT_PORT;
	kv_settings_default(&o->settings);
	flags = calloc((size_t)argc, sizeof(*flags));
	if (flags == NULL) {
		fprintf(stderr, "atoll-kv: out of memory\n");
		return 1;
	}
	while ((ch = getopt_long(argc, argv, "p:b:r:a:m:c:s:d:h", longopts, NULL)) != -1) {
		const char *name = NULL;

		switch (ch) {
		case 'p':
			name = "port";
			break;
		case 'b':
			name = "bind";
			break;
		case 'r':
			name = "reactors";
			break;
		case 'a':
			name = "requirepass";
			break;
		case 'm':
			name = "maxclients";
			break;
		case 'c':
			o->config_file = optarg;
			break;
		case 's':
			name = "idle-spin-us";
			break;
		case 'd':
			name = "dir";
			break;
		case 'A':
			name = "appendonly";
			break;
		case 'F':
			name = "appendfsync";
			break;
		case 'M':
			name = "maxmemory";
			break;
		case 'P':
			name = "maxmemory-policy";
			break;
		case 'G':
			name = "protected-mode";
			break;
		case 'D':
			name = "enable-debug-command";
			break;
		case 'N':
			/* Its second word is the next argument; one starting with
			 * "--" is the next flag, as redis-server reads it. */
			if (optind >= argc || strncmp(argv[optind], "--", 2) == 0 ||
			    strncmp(optarg, "--", 2) == 0) {
				fprintf(stderr,
					"atoll-kv: --rename-command: wrong number of arguments: it "
					"takes NAME NEWNAME (NEWNAME \"\" disables NAME)\n");
				code = 2;
				goto out;
			}
			flags[nflags++] = (struct flag){ "rename-command", optarg, argv[optind++] };
			break;
		case 'R':
			o->repair = true;
			break;
		case 'h':
			usage(stdout);
			code = 0;
			goto out;
		default:
			usage(stderr);
			code = 2;
			goto out;
		}
		if (name != NULL)
			flags[nflags++] = (struct flag){ name, optarg, NULL };
	}
	if (optind < argc && o->config_file == NULL)
		o->config_file = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "atoll-kv: unexpected argument '%s' (see --help)\n", argv[optind]);
		code = 2;
		goto out;
	}
	if (o->config_file != NULL && !read_config(o, o->config_file)) {
		code = 2;
		goto out;
	}
	for (int i = 0; i < nflags && code < 0; i++) {
		char where[64];

		snprintf(where, sizeof(where), "--%s", flags[i].name);
		if (flags[i].value2 != NULL ? !rename_flag(o, flags[i].value, flags[i].value2)
					    : !apply(o, flags[i].name, flags[i].value, where))
			code = 2;
	}
out:
	free(flags);
	return code;
}

/*
 * How many of NAME.0, NAME.1, ... exist in the working directory; *stray
 * gets the first index >= n that exists too (or -1). Missing ones in the
 * middle count as an end: the caller compares the count with n.
 */
static unsigned count_files(const char *name, unsigned n, long *stray)
{
	char path[96];
	struct stat st;
	unsigned count = 0;

	*stray = -1;
	for (unsigned i = 0; i < ATOLL_MAX_REACTORS; i++) {
		snprintf(path, sizeof(path), "%s.%u", name, i);
		if (stat(path, &st) < 0)
			continue;
		if (i < n)
			count++;
		else if (*stray < 0)
			*stray = (long)i;
	}
	return count;
}

/*
 * Checks that the files in the directory belong to a server of n shards:
 * each shard replays its own file, and a key's shard depends on n. Sets
 * load_dump_first when a log is to be started from a dump. Returns true, or
 * false with the reason printed.
 */
static bool check_files(struct kv_server *srv, const struct options *o, unsigned n)
{
	const char *names[2] = { KV_AOF_NAME, KV_DUMP_NAME };

	for (int k = 0; k < 2; k++) {
		long stray;
		unsigned have = count_files(names[k], n, &stray);

		if ((have == 0 && stray < 0) || (have == n && stray < 0))
			continue;
		if (k == 1 && o->settings.appendonly && count_files(KV_AOF_NAME, n, &stray) == n)
			continue; /* the logs win; the dumps are not read */
		fprintf(stderr,
			"atoll-kv: %s.* in %s do not match this server's %u shards (%u of "
			"%s.0..%u present%s): keys are sharded by count, so start with the "
			"--reactors the server that wrote them had\n",
			names[k], o->dir[0] ? o->dir : "the working directory", n, have, names[k],
			n - 1, stray >= 0 ? ", and more beyond" : "");
		return false;
	}
	{
		long stray;

		srv->load_dump_first = o->settings.appendonly &&
				       count_files(KV_AOF_NAME, n, &stray) == 0 &&
				       count_files(KV_DUMP_NAME, n, &stray) == n;
	}
	return true;
}

/* Waits until every shard has replayed its log (or its dump). Returns true,
 * or false with each failure printed. */
static bool wait_loaded(struct kv_server *srv, unsigned n)
{
	struct timespec pause = { 0, 1000000 };
	unsigned done, failed;

	for (;;) {
		/* Pair with each shard's release when it finishes (kv_server.h). */
		done = atomic_load_explicit(&srv->loaded, memory_order_acquire);
		failed = atomic_load_explicit(&srv->load_failed, memory_order_acquire);
		if (done + failed >= n)
			break;
		if (atoll_runtime_stopping(srv->rt))
			return false; /* a signal during the load */
		for (unsigned i = 0; i < n; i++) {
			struct atoll_stats st;

			/* A shard whose init failed never loads (the runtime
			 * logged why). */
			if (atoll_runtime_stats(srv->rt, i, &st) == 0 && st.init_failures > 0)
				return false;
		}
		nanosleep(&pause, NULL);
	}
	if (failed == 0)
		return true;
	for (unsigned i = 0; i < n; i++) {
		const char *why = kv_aof_error_text(&srv->cores[i]);

		if (why != NULL)
			fprintf(stderr, "atoll-kv: %s\n", why);
	}
	return false;
}

static uint16_t listener_port(struct kv_server *srv)
{
	return atomic_load_explicit(&srv->port, memory_order_relaxed);
}

int main(int argc, char **argv)
{
	struct options opt;
	struct kv_server srv = { 0 };
	struct resp_conn_proto proto;
	struct atoll_config config = { 0 };
	atoll_runtime *rt = NULL;
	unsigned n;
	int code = parse_options(argc, argv, &opt), err;

	if (code >= 0)
		goto done;
	code = 1;
	if (opt.port != 0 && (err = atoll_tcp_port_free(opt.bind, (uint16_t)opt.port)) < 0) {
		fprintf(stderr, "atoll-kv: cannot listen on %s port %u: %s\n", opt.bind, opt.port,
			atoll_strerror(err));
		goto done;
	}
	/* As Redis: the server works in DIR, so its files have short names. */
	if (opt.dir[0] != '\0') {
		if (mkdir(opt.dir, 0755) < 0 && errno != EEXIST) {
			fprintf(stderr, "atoll-kv: cannot create directory %s: %s\n", opt.dir,
				strerror(errno));
			goto done;
		}
		if (chdir(opt.dir) < 0) {
			fprintf(stderr, "atoll-kv: cannot use directory %s: %s\n", opt.dir,
				strerror(errno));
			goto done;
		}
	}
	/* A file size limit (RLIMIT_FSIZE) makes writes fail with EFBIG, which
	 * the logs report and retry, instead of killing the server. */
	signal(SIGXFSZ, SIG_IGN);
	config.reactors = opt.reactors;
	config.idle_spin_us = opt.idle_spin_us;
	err = atoll_runtime_start(&config, &rt);
	if (err < 0) {
		fprintf(stderr, "atoll-kv: cannot start the runtime: %s\n", atoll_strerror(err));
		goto done;
	}
	n = atoll_runtime_reactors(rt);
	code = 1;
	if (kv_server_init(&srv, n, &opt.settings) < 0)
		goto oom;
	srv.rt = rt;
	srv.repair = opt.repair;
	if (!check_files(&srv, &opt, n))
		goto out;
	srv.bind = opt.bind;
	srv.config_file = opt.config_file;
	srv.renames = opt.renames;
	for (unsigned i = 0; i < n; i++) {
		srv.cores[i].store = kv_store_new();
		if (srv.cores[i].store == NULL)
			goto oom;
	}
	/* Every shard's ref exists before any connection can use it. */
	for (unsigned i = 0; i < n; i++) {
		err = atoll_runtime_spawn(rt, &kv_shard_type, &srv, (int)i, &srv.shards[i]);
		if (err < 0) {
			fprintf(stderr, "atoll-kv: cannot start shard %u: %s\n", i,
				atoll_strerror(err));
			goto out;
		}
	}
	/* SIGINT meanwhile stops the runtime; a shard that stops before it
	 * finished counts as failed. */
	if (!wait_loaded(&srv, n)) {
		if (atoll_runtime_stopping(rt))
			goto stopped; /* SIGINT or SIGTERM while loading */
		atoll_runtime_stop(rt);
		goto out;
	}
	/* SIGINT and SIGTERM: shard 0 syncs every log, then stops the runtime. */
	atoll_runtime_on_signal(rt, srv.shards[0], KV_MSG_SIGNAL);
	resp_conn_proto_init(&proto, &srv);
	{
		struct atoll_tcp_listener_args listener = {
			.host = opt.bind,
			.port = (uint16_t)opt.port,
			.conn_type = &atoll_tcp_conn_type,
			.conn_arg = &proto.tcp,
		};
		uint16_t port = 0;
		unsigned failed = 0;

		/* A client may connect as soon as the first listener runs: CONFIG
		 * GET port must already know it (port 0: once it is picked). */
		atomic_store_explicit(&srv.port, (uint16_t)opt.port, memory_order_relaxed);
		/* SIGINT meanwhile stops the runtime, and the starters with it. */
		err = atoll_tcp_listener_start_all(rt, &listener, START_TIMEOUT_MS, &port, &failed);
		if (err < 0 && atoll_runtime_stopping(rt))
			goto stopped; /* a signal while starting */
		if (err < 0) {
			fprintf(stderr, "atoll-kv: cannot listen on %s port %u (reactor %u): %s\n",
				opt.bind, opt.port, failed, atoll_strerror(err));
			goto out;
		}
		atomic_store_explicit(&srv.port, port, memory_order_relaxed);
	}
	printf("atoll-kv: ready on %s%s%s:%u, %u shard%s (io_uring mode: %s)\n",
	       strchr(opt.bind, ':') ? "[" : "", opt.bind, strchr(opt.bind, ':') ? "]" : "",
	       (unsigned)listener_port(&srv), n, n == 1 ? "" : "s",
	       atoll_runtime_uring_mode(rt, 0));
	fflush(stdout);
stopped:
	atoll_runtime_wait(rt);
	printf("atoll-kv: stopped\n");
	code = 0;
	goto out;
oom:
	fprintf(stderr, "atoll-kv: out of memory\n");
out:
	atoll_runtime_destroy(rt);
	kv_server_destroy(&srv);
done:
	kv_rename_destroy(opt.renames);
	return code;
}
