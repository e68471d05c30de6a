/*
 * kv_config.c - the settings CONFIG GET and CONFIG SET know (kv_server.h):
 * their names, how each is printed, and how a new value is checked and
 * applied.
 *
 * The table mixes settings that can change at run time with fixed facts
 * that clients ask about (redis-benchmark starts with CONFIG GET save and
 * CONFIG GET appendonly); the fixed ones answer -EPERM to a set. A set that
 * fails changes nothing, and its message is Redis 7.0's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "kv_cmd.h"
#include "kv_server.h"

enum kind {
	FIXED,
	MEMORY,
	UINT,
	PASSWORD,
	OUTPUT_LIMIT,
	ENUM /* an unsigned, one of a list of names (values) */
};

struct setting {
	const char *name;
	enum kind kind;
	size_t offset;          /* in struct kv_settings, unless FIXED */
	unsigned long long min; /* for UINT and MEMORY */
	unsigned long long max;
	const char *fixed_value;   /* FIXED: NULL means computed from the server */
	const char *const *values; /* ENUM: the names, by value, NULL-terminated */
	bool startup;              /* set from flags or the file only, not CONFIG SET */
};

static const char *const yes_no[] = { "no", "yes", NULL };
static const char *const fsync_names[] = { "no", "everysec", "always", NULL };
/* By enum kv_protected_action. */
static const char *const allow_names[] = { "no", "yes", "local", NULL };
static const char *const policy_names[] = {
	"noeviction",   "allkeys-lru", "volatile-lru", "allkeys-random", "volatile-random",
	"volatile-ttl", NULL
};

#define OFF(f) offsetof(struct kv_settings, f)

static const struct setting settings[] = {
	{ .name = "bind", .kind = FIXED },
	{ .name = "port", .kind = FIXED },
	{ .name = "databases", .kind = FIXED, .fixed_value = "16" },
	{ .name = "reactors", .kind = FIXED },
	{ .name = "requirepass", .kind = PASSWORD, .offset = OFF(requirepass) },
	{ .name = "maxclients", .kind = UINT, .offset = OFF(maxclients), .min = 1, .max = 1000000 },
	{ .name = "proto-max-bulk-len",
	  .kind = MEMORY,
	  .offset = OFF(proto_max_bulk_len),
	  .min = 1024 * 1024,
	  .max = 512ull << 20 },
	{ .name = "client-query-buffer-limit",
	  .kind = MEMORY,
	  .offset = OFF(client_query_buffer_limit),
	  .min = 1024 * 1024,
	  .max = 1ull << 40 },
	{ .name = "client-output-buffer-limit",
	  .kind = OUTPUT_LIMIT,
	  .offset = OFF(client_output_limit) },
	{ .name = "hz", .kind = UINT, .offset = OFF(hz), .min = 1, .max = 500 },
	{ .name = "timeout", .kind = FIXED, .fixed_value = "0" },
	{ .name = "save", .kind = FIXED, .fixed_value = "" },
	{ .name = "appendonly",
	  .kind = ENUM,
	  .offset = OFF(appendonly),
	  .values = yes_no,
	  .startup = true },
	{ .name = "appendfsync", .kind = ENUM, .offset = OFF(appendfsync), .values = fsync_names },
	{ .name = "auto-aof-rewrite-percentage",
	  .kind = UINT,
	  .offset = OFF(auto_aof_rewrite_percentage),
	  .max = INT32_MAX },
	{ .name = "auto-aof-rewrite-min-size",
	  .kind = MEMORY,
	  .offset = OFF(auto_aof_rewrite_min_size),
	  .max = 1ull << 50 },
	{ .name = "appendfilename", .kind = FIXED, .fixed_value = "appendonly.aof" },
	{ .name = "dbfilename", .kind = FIXED, .fixed_value = "dump.akv" },
	{ .name = "maxmemory", .kind = MEMORY, .offset = OFF(maxmemory), .max = 1ull << 50 },
	{ .name = "maxmemory-policy",
	  .kind = ENUM,
	  .offset = OFF(maxmemory_policy),
	  .values = policy_names },
	{ .name = "maxmemory-samples",
	  .kind = UINT,
	  .offset = OFF(maxmemory_samples),
	  .min = 1,
	  .max = 64 },
	{ .name = "io-threads", .kind = FIXED, .fixed_value = "1" },
	{ .name = "protected-mode", .kind = ENUM, .offset = OFF(protected_mode), .values = yes_no },
	{ .name = "enable-debug-command",
	  .kind = ENUM,
	  .offset = OFF(enable_debug_command),
	  .values = allow_names,
	  .startup = true },
	{ .name = "tcp-keepalive", .kind = FIXED, .fixed_value = "0" },
	{ .name = "dir", .kind = FIXED },
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

size_t kv_config_count(void)
{
	return NSETTINGS;
}

const char *kv_config_name(size_t i)
{
	return i < NSETTINGS ? settings[i].name : NULL;
}

void kv_config_value(const struct kv_server *srv, const struct kv_settings *s, size_t i, char *buf,
		     size_t len)
{
	const struct setting *st = &settings[i];
	const char *base = (const char *)s;

	buf[0] = '\0';
	switch (st->kind) {
	case FIXED:
		if (st->fixed_value != NULL)
			snprintf(buf, len, "%s", st->fixed_value);
		else if (strcmp(st->name, "bind") == 0)
			snprintf(buf, len, "%s", srv->bind ? srv->bind : "127.0.0.1");
		else if (strcmp(st->name, "port") == 0)
			snprintf(buf, len, "%u",
				 (unsigned)atomic_load_explicit(&srv->port, memory_order_relaxed));
		else if (strcmp(st->name, "reactors") == 0)
			snprintf(buf, len, "%u", srv->nshards);
		else if (strcmp(st->name, "dir") == 0 && getcwd(buf, len) == NULL)
			buf[0] = '\0';
		break;
	case MEMORY: {
		unsigned long long v;

		memcpy(&v, base + st->offset, sizeof(v));
		snprintf(buf, len, "%llu", v);
		break;
	}
	case UINT: {
		unsigned v;

		memcpy(&v, base + st->offset, sizeof(v));
		snprintf(buf, len, "%u", v);
		break;
	}
	case PASSWORD:
		snprintf(buf, len, "%s", s->requirepass);
		break;
	case OUTPUT_LIMIT:
		snprintf(buf, len,
			 "normal %llu 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
			 s->client_output_limit);
		break;
	case ENUM: {
		unsigned v;

		memcpy(&v, base + st->offset, sizeof(v));
		snprintf(buf, len, "%s", st->values[v]);
		break;
	}
	}
}

bool kv_config_startup_only(const char *name, size_t nlen)
{
	for (size_t i = 0; i < NSETTINGS; i++) {
		if (strlen(settings[i].name) == nlen &&
		    strncasecmp(settings[i].name, name, nlen) == 0)
			return settings[i].startup;
	}
	return false;
}

/* "100", "100b", "1k" (1000), "1kb" (1024), up to "gb", case-insensitive.
 * The one-letter "b" comes after "kb", "mb" and "gb", which end with it. */
static bool parse_memory(const char *p, size_t n, unsigned long long *out)
{
	static const struct {
		const char *suffix;
		unsigned long long mul;
	} units[] = { { "kb", 1024 }, { "mb", 1024 * 1024 }, { "gb", 1024ull * 1024 * 1024 },
		      { "k", 1000 },  { "m", 1000 * 1000 },  { "g", 1000ull * 1000 * 1000 },
		      { "b", 1 } };
	unsigned long long mul = 1, v;

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t sl = strlen(units[i].suffix);

		if (n > sl && strncasecmp(p + n - sl, units[i].suffix, sl) == 0) {
			mul = units[i].mul;
			n -= sl;
			break;
		}
	}
	if (!kv_parse_ull(p, n, &v) || (v != 0 && mul > UINT64_MAX / v))
		return false;
	*out = v * mul;
	return true;
}

static int fail(char *err, size_t errlen, const char *name, const char *why)
{
	snprintf(err, errlen, "ERR CONFIG SET failed (possibly related to argument '%s') - %s",
		 name, why);
	return -EINVAL;
}

/* Redis's message for a number outside a setting's bounds. */
static int out_of_range(char *err, size_t errlen, const struct setting *st)
{
	char why[96];

	snprintf(why, sizeof(why), "argument must be between %llu and %llu inclusive", st->min,
		 st->max);
	return fail(err, errlen, st->name, why);
}

/* A buffer class name as Redis's getClientTypeByName knows it ("master"
 * has no limits to set). */
static bool output_class(const char *p, size_t n, bool *normal)
{
	static const char *const classes[] = { "normal", "slave", "replica", "pubsub" };

	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		if (strlen(classes[i]) == n && strncasecmp(classes[i], p, n) == 0) {
			*normal = i == 0;
			return true;
		}
	}
	return false;
}

/* The soft_seconds of a buffer class: an integer >= 0 ("+3" and "-0" too,
 * as strtoll reads them). */
static bool output_seconds(const char *p, size_t n)
{
	size_t i = n > 0 && (p[0] == '+' || p[0] == '-') ? 1 : 0;
	bool negative = n > 0 && p[0] == '-';
	unsigned long long v = 0;

	if (i == n || n - i > 10)
		return false;
	for (; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (unsigned long long)(p[i] - '0');
	}
	return negative ? v == 0 : v <= INT32_MAX;
}

/*
 * CONFIG SET client-output-buffer-limit: "<class> <hard> <soft> <seconds>"
 * repeated, split on single spaces as Redis 7.0 does (so a doubled or
 * trailing space makes an empty argument). Every group is checked before
 * anything is applied: a bad one leaves the setting as it was. Only the
 * normal class's hard limit means something here.
 */
static int set_output_limit(struct kv_settings *s, const struct setting *st, const char *val,
			    size_t vlen, char *err, size_t errlen)
{
	const char *w[4], *p = val, *end = val + vlen;
	size_t wl[4], nwords = 0;
	unsigned long long hard, soft, limit = s->client_output_limit;
	bool normal;

	/* Redis refuses a word count that is not a multiple of 4 before
	 * looking at any word. No words at all is fine (and changes nothing). */
	if (vlen > 0) {
		nwords = 1;
		for (size_t i = 0; i < vlen; i++)
			nwords += val[i] == ' ';
	}
	if (nwords % 4 != 0)
		return fail(err, errlen, st->name,
			    "Wrong number of arguments in buffer limit configuration.");
	for (size_t g = 0; g < nwords / 4; g++) {
		for (int k = 0; k < 4; k++) {
			const char *sp = memchr(p, ' ', (size_t)(end - p));

			w[k] = p;
			wl[k] = (size_t)((sp != NULL ? sp : end) - p);
			p = sp != NULL ? sp + 1 : end;
		}
		if (!output_class(w[0], wl[0], &normal))
			return fail(err, errlen, st->name,
				    "Invalid client class specified in buffer limit "
				    "configuration.");
		if (!parse_memory(w[1], wl[1], &hard) || !parse_memory(w[2], wl[2], &soft) ||
		    !output_seconds(w[3], wl[3]))
			return fail(err, errlen, st->name,
				    "Error in hard, soft or soft_seconds setting in buffer limit "
				    "configuration.");
		if (normal)
			limit = hard;
	}
	s->client_output_limit = limit;
	return 0;
}

int kv_settings_set(struct kv_settings *s, const char *name, size_t nlen, const char *val,
		    size_t vlen, char *err, size_t errlen)
{
	const struct setting *st = NULL;
	char *base = (char *)s;
	unsigned long long v;

	for (size_t i = 0; i < NSETTINGS; i++) {
		if (strlen(settings[i].name) == nlen &&
		    strncasecmp(settings[i].name, name, nlen) == 0)
			st = &settings[i];
	}
	if (st == NULL) {
		snprintf(err, errlen,
			 "ERR Unknown option or number of arguments for CONFIG SET - '%.*s'",
			 (int)(nlen > 64 ? 64 : nlen), name);
		return -ENOENT;
	}
	switch (st->kind) {
	case FIXED:
		/* Redis names an immutable setting as the client spelt it. */
		snprintf(err, errlen,
			 "ERR CONFIG SET failed (possibly related to argument '%.*s') - can't set "
			 "immutable config",
			 (int)(nlen > 64 ? 64 : nlen), name);
		return -EPERM;
	case PASSWORD:
		if (vlen >= sizeof(s->requirepass))
			return fail(err, errlen, st->name, "password too long");
		memcpy(s->requirepass, val, vlen);
		s->requirepass[vlen] = '\0';
		return 0;
	case UINT: {
		long long sv;
		unsigned u;

		/* A negative number parses, then is out of range, as in Redis. */
		if (!kv_parse_ll(val, vlen, &sv))
			return fail(err, errlen, st->name,
				    "argument couldn't be parsed into an integer");
		if (sv < 0 || (unsigned long long)sv < st->min || (unsigned long long)sv > st->max)
			return out_of_range(err, errlen, st);
		u = (unsigned)sv;
		memcpy(base + st->offset, &u, sizeof(u));
		return 0;
	}
	case MEMORY:
		if (!parse_memory(val, vlen, &v))
			return fail(err, errlen, st->name, "argument must be a memory value");
		if (v < st->min || v > st->max)
			return out_of_range(err, errlen, st);
		memcpy(base + st->offset, &v, sizeof(v));
		return 0;
	case OUTPUT_LIMIT:
		return set_output_limit(s, st, val, vlen, err, errlen);
	case ENUM:
		for (unsigned i = 0; st->values[i] != NULL; i++) {
			if (strlen(st->values[i]) == vlen &&
			    strncasecmp(st->values[i], val, vlen) == 0) {
				memcpy(base + st->offset, &i, sizeof(i));
				return 0;
			}
		}
		if (st->values == yes_no) /* Redis's booleans say it so */
			return fail(err, errlen, st->name, "argument must be 'yes' or 'no'");
		{
			char why[160];
			size_t n = (size_t)snprintf(why, sizeof(why),
						    "argument(s) must be one of the following: ");

			for (unsigned i = 0; st->values[i] != NULL && n < sizeof(why); i++)
				n += (size_t)snprintf(why + n, sizeof(why) - n, "%s%s",
						      i ? ", " : "", st->values[i]);
			return fail(err, errlen, st->name, why);
		}
	}
	return -EINVAL;
}
