/*
 * kv_cmd.c - atoll-kv's command table, its lookup, and the argument parsers
 * the command functions share.
 *
 * The table is sorted by name, so the per-request lookup is a binary search
 * with no allocation and no shared mutable state (reactor threads call it
 * concurrently).
 *
 * Numbers parse with Redis's rules, so replies to bad input match Redis's
 * byte for byte: integers are the whole argument, digits only, with an
 * optional '-', no '+', no spaces and no leading zeros; floats are whatever
 * strtold takes of the whole argument, except spaces, NaN and overflow.
 */
#include "kv_cmd.h"
#include "kv_keys.h"
#include "kv_strings.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- number parsing ---------------------------------------------------- */

/* Longest float argument accepted: Redis's MAX_LONG_DOUBLE_CHARS. */
#define KV_LD_MAX_CHARS (5 * 1024)

/*
 * Reads the digits of p[0..len) as an unsigned value no greater than limit.
 * The first digit must not be '0' (so "0" itself is the caller's business).
 */
static bool parse_digits(const char *p, size_t len, unsigned long long limit,
			 unsigned long long *out)
{
	unsigned long long v = 0;

	if (len == 0 || p[0] < '1' || p[0] > '9')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned d;

		if (p[i] < '0' || p[i] > '9')
			return false;
		d = (unsigned)(p[i] - '0');
		if (v > (limit - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

bool kv_parse_ll(const char *p, size_t len, long long *out)
{
	unsigned long long v;

	if (len == 1 && p[0] == '0') {
		*out = 0;
		return true;
	}
	if (len > 0 && p[0] == '-') {
		/* "-0" fails here, as in Redis: its first digit is '0'. */
		if (!parse_digits(p + 1, len - 1, (unsigned long long)LLONG_MAX + 1, &v))
			return false;
		/* -(v - 1) - 1 reaches LLONG_MIN without overflowing. */
		*out = -(long long)(v - 1) - 1;
		return true;
	}
	if (!parse_digits(p, len, LLONG_MAX, &v))
		return false;
	*out = (long long)v;
	return true;
}

bool kv_parse_ull(const char *p, size_t len, unsigned long long *out)
{
	if (len == 1 && p[0] == '0') {
		*out = 0;
		return true;
	}
	return parse_digits(p, len, ULLONG_MAX, out);
}

/*
 * As Redis's string2ld: strtold must consume the whole argument, which may
 * not start with a space; "inf" is a valid float (commands refuse infinite
 * results themselves), NaN is not, and neither is a value out of range.
 */
bool kv_parse_ld(const char *p, size_t len, long double *out)
{
	char buf[KV_LD_MAX_CHARS];
	char *end;
	long double v;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, p, len);
	buf[len] = '\0';
	if (isspace((unsigned char)buf[0]))
		return false;
	errno = 0;
	v = strtold(buf, &end);
	if ((size_t)(end - buf) != len || errno == EINVAL || isnan(v))
		return false;
	if (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO))
		return false;
	*out = v;
	return true;
}

/* ASCII only: option names are ASCII, and the locale must not matter. */
static inline unsigned char ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

bool kv_arg_is(const struct kv_arg *a, const char *b)
{
	size_t i;

	for (i = 0; i < a->len; i++) {
		if (b[i] == '\0' ||
		    ascii_lower((unsigned char)a->p[i]) != ascii_lower((unsigned char)b[i]))
			return false;
	}
	return b[i] == '\0';
}

const char *kv_command_spelt(const struct kv_arg *name, char *buf)
{
	const char *nul = memchr(name->p, '\0', name->len);
	size_t n = nul != NULL ? (size_t)(nul - name->p) : name->len;

	if (n > KV_SPELT_MAX)
		n = KV_SPELT_MAX;
	for (size_t i = 0; i < n; i++) {
		char ch = name->p[i];

		buf[i] = ch >= 'a' && ch <= 'z'     ? (char)(ch - ('a' - 'A'))
			 : ch == '\r' || ch == '\n' ? ' '
						    : ch;
	}
	buf[n] = '\0';
	return buf;
}

void kv_reply_help(struct resp_out *o, const struct kv_arg *name, const char *const *lines,
		   size_t n)
{
	char head[KV_SPELT_MAX + 64], spelt[KV_SPELT_MAX + 1];

	snprintf(head, sizeof(head), "%s <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		 kv_command_spelt(name, spelt));
	resp_add_array(o, n + 3);
	resp_add_status(o, head);
	for (size_t i = 0; i < n; i++)
		resp_add_status(o, lines[i]);
	resp_add_status(o, "HELP");
	resp_add_status(o, "    Prints this help.");
}

/* --- the command table ------------------------------------------------------ */

/*
 * Every command, sorted by name (strcmp order) so kv_command_find can
 * binary-search it; a test checks the order. Slots, as struct kv_command:
 * name, arity, flags, first_key, last_key, key_step, route, group, summary,
 * exec. Arity, flags and key positions are Redis 7.0's COMMAND INFO, except
 * OBJECT's keys: Redis gives the container none, but the shard holding
 * argv[2] must run it, so it carries its subcommands' 2, 2, 1.
 */
static const struct kv_command commands[] = {
	{ "append", 3, KV_CMD_WRITE | KV_CMD_DENYOOM | KV_CMD_FAST, 1, 1, 1, KV_ROUTE_KEY, "string",
	  "Append a value to a key", kv_cmd_append },
	{ "auth", -2, KV_CMD_FAST | KV_CMD_NOAUTH, 0, 0, 0, KV_ROUTE_CONN, "connection",
	  "Authenticate to the server", NULL },
	{ "bgrewriteaof", 1, KV_CMD_ADMIN, 0, 0, 0, KV_ROUTE_CONN, "server",
	  "Asynchronously rewrite the append-only file", NULL },
	{ "bgsave", -1, KV_CMD_ADMIN, 0, 0, 0, KV_ROUTE_CONN, "server",
	  "Asynchronously save the dataset to disk", NULL },
	{ "client", -2, 0, 0, 0, 0, KV_ROUTE_CONN, "connection",
	  "A container for client connection commands", NULL },
	{ "command", -1, 0, 0, 0, 0, KV_ROUTE_CONN, "server", "Get array of Redis command details",
	  NULL },
	{ "config", -2, 0, 0, 0, 0, KV_ROUTE_CONN, "server",
	  "A container for server configuration commands", NULL },
	{ "copy", -3, KV_CMD_WRITE | KV_CMD_DENYOOM, 1, 2, 1, KV_ROUTE_MULTI, "generic",
	  "Copy a key", kv_cmd_copy },
	{ "dbsize", 1, KV_CMD_READONLY | KV_CMD_FAST, 0, 0, 0, KV_ROUTE_ALL, "server",
	  "Return the number of keys in the selected database", kv_cmd_dbsize },
	{ "debug", -2, KV_CMD_ADMIN, 0, 0, 0, KV_ROUTE_CONN, "server",
	  "A container for debugging commands", NULL },
	{ "decr", 2, KV_CMD_WRITE | KV_CMD_DENYOOM | KV_CMD_FAST, 1, 1, 1, KV_ROUTE_KEY, "string",
	  "Decrement the integer value of a key by one", kv_cmd_decr },
	{ "decrby", 3, KV_CMD_WRITE | KV_CMD_DENYOOM | KV_CMD_FAST, 1, 1, 1, KV_ROUTE_KEY, "string",
	  "Decrement the integer value of a key by the given number", kv_cmd_decrby },
	{ "del", -2, KV_CMD_WRITE, 1, -1, 1, KV_ROUTE_KEYS, "generic", "Delete a key", kv_cmd_del },
	{ "echo", 2, KV_CMD_FAST, 0, 0, 0, KV_ROUTE_CONN, "connection", "Echo the given string",
	  NULL },
	{ "exists", -2, KV_CMD_READONLY | KV_CMD_FAST, 1, -1, 1, KV_ROUTE_KEYS, "generic",
	  "Determine if a key exists", kv_cmd_exists },
	{ "expire", -3, KV_CMD_WRITE | KV_CMD_FAST, 1, 1, 1, KV_ROUTE_KEY, "generic",
	  "Set a key's time to live in seconds", kv_cmd_expire },
	{ "expireat", -3, KV_CMD_WRITE | KV_CMD_FAST, 1, 1, 1, KV_ROUTE_KEY, "generic",
	  "Set the expiration for a key as a UNIX timestamp", kv_cmd_expireat },
	{ "expiretime", 2, KV_CMD_READONLY | KV_CMD_FAST, 1, 1, 1, KV_ROUTE_KEY, "generic",
	  "Get the expiration Unix timestamp for a key", kv_cmd_expiretime },
	{ "flushall", -1, KV_CMD_WRITE, 0, 0, 0, KV_ROUTE_ALL, "server",
	  "Remove all keys from all databases", kv_cmd_flushall },
	{ "flushdb", -1, KV_CMD_WRITE, 0, 0, 0, KV_ROUTE_ALL, "server",
	  "Remove all keys from the current database", kv_cmd_flushdb },
	{ "get", 2, KV_CMD_READONLY | KV_CMD_FAST, 1, 1, 1, KV_ROUTE_KEY, "string",
	  "Get the value of a key", kv_cmd_get },
	{ "getdel", 2, KV_CMD_WRITE | KV_CMD_FAST, 1, 1, 1, KV_ROUTE_KEY, "string",
	  "Get the value of a key and delete the key", kv_cmd_getdel },
	{ "getex", -2, KV_CMD_WRITE | KV_CMD_FAST, 1, 1, 1, KV_ROUTE_KEY, "string",
	  "Get the value of a key and optionally set its expiration", kv_cmd_getex },
	{ "getrange", 4, KV_CMD_READONLY, 1, 1, 1, KV_ROUTE_KEY, "string",
	  "Get a substring of the string stored at a key", kv_cmd_getrange },
	{ "getset", 3, KV_CMD_WRITE | KV_CMD_DENYOOM | KV_CMD_FAST, 1, 1, 1, KV_ROUTE_KEY, "string",
	  "Set the string value of a key and return its old value", kv_cmd_getset },
	{ "hello", -1, KV_CMD_FAST | KV_CMD_NOAUTH, 0, 0, 0, KV_ROUTE_CONN, "connection",
	  "Handshake with Redis", NULL },
	{ "incr", 2, KV_CMD_WRITE | KV_CMD_DENYOOM | KV_CMD_FAST, 1, 1, 1, KV_ROUTE_KEY, "string",
	  "Increment the integer value of a key by one", kv_cmd_incr },
	{ "incrby", 3, KV_CMD_WRITE | KV_CMD_DENYOOM | KV_CMD_FAST, 1, 1, 1, KV_ROUTE_KEY, "string",
	  "Increment the integer value of a key by the given amount", kv_cmd_incrby },
	{ "incrbyfloat", 3, KV_CMD_WRITE | KV_CMD_DENYOOM | KV_CMD_FAST, 1, 1, 1, KV_ROUTE_KEY,
	  "string", "Increment the float value of a key by the given amount", kv_cmd_incrbyfloat },
	{ "info", -1, 0, 0, 0, 0, KV_ROUTE_CONN, "server",
	  "Get information and statistics about the server", NULL },
	{ "keys", 2, KV_CMD_READONLY, 0, 0, 0, KV_ROUTE_ALL, "generic",
	  "Find all keys matching the given pattern", kv_cmd_keys },
	{ "kv.dump", 2, KV_CMD_INTERNAL | KV_CMD_READONLY, 1, 1, 1, KV_ROUTE_KEY, "server",
	  "Read a key's value and expiry time, for a command spanning shards", kv_cmd_kv_dump },
	{ "kv.info", 1, KV_CMD_INTERNAL | KV_CMD_READONLY, 0, 0, 0, KV_ROUTE_ALL, "server",
	  "One shard's memory, counters and keyspace figures, for INFO", kv_cmd_kv_info },
	{ "kv.resetstat", 1, KV_CMD_INTERNAL, 0, 0, 0, KV_ROUTE_ALL, "server",
	  "Reset one shard's counters, for CONFIG RESETSTAT", kv_cmd_kv_resetstat },
	{ "kv.restore", -4, KV_CMD_INTERNAL | KV_CMD_WRITE | KV_CMD_DENYOOM, 1, 1, 1, KV_ROUTE_KEY,
	  "server", "Set a key's value and absolute expiry time, for a command spanning shards",
	  kv_cmd_kv_restore },
	{ "lcs", -3, KV_CMD_READONLY, 1, 2, 1, KV_ROUTE_MULTI, "string",
	  "Find longest common substring", kv_cmd_lcs },
	{ "mget", -2, KV_CMD_READONLY | KV_CMD_FAST, 1, -1, 1, KV_ROUTE_KEYS, "string",
	  "Get the values of all the given keys", kv_cmd_mget },
	{ "move", 3, KV_CMD_WRITE | KV_CMD_FAST, 1, 1, 1, KV_ROUTE_KEY, "generic",
	  "Move a key to another database", kv_cmd_move },
	{ "mset", -3, KV_CMD_WRITE | KV_CMD_DENYOOM, 1, -1, 2, KV_ROUTE_KEYS, "string",
	  "Set multiple keys to multiple values", kv_cmd_mset },
	{ "msetnx", -3, KV_CMD_WRITE | KV_CMD_DENYOOM, 1, -1, 2, KV_ROUTE_MULTI, "string",
	  "Set multiple keys to multiple values, only if none of the keys exist", kv_cmd_msetnx },
	{ "object", -2, 0, 2, 2, 1, KV_ROUTE_KEY, "generic",
	  "A container for object introspection commands", kv_cmd_object },
	{ "persist", 2, KV_CMD_WRITE | KV_CMD_FAST, 1, 1, 1, KV_ROUTE_KEY, "generic",
	  "Remove the expiration from a key", kv_cmd_persist },
	{ "pexpire", -3, KV_CMD_WRITE | KV_CMD_FAST, 1, 1, 1, KV_ROUTE_KEY, "generic",
	  "Set a key's time to live in milliseconds", kv_cmd_pexpire },
	{ "pexpireat", -3, KV_CMD_WRITE | KV_CMD_FAST, 1, 1, 1, KV_ROUTE_KEY, "generic",
	  "Set the expiration for a key as a UNIX timestamp specified in milliseconds",
	  kv_cmd_pexpireat },
	{ "pexpiretime", 2, KV_CMD_READONLY | KV_CMD_FAST, 1, 1, 1, KV_ROUTE_KEY, "generic",
	  "Get the expiration Unix timestamp for a key in milliseconds", kv_cmd_pexpiretime },
	{ "ping", -1, KV_CMD_FAST, 0, 0, 0, KV_ROUTE_CONN, "connection", "Ping the server", NULL },
	{ "psetex", 4, KV_CMD_WRITE | KV_CMD_DENYOOM, 1, 1, 1, KV_ROUTE_KEY, "string",
	  "Set the value and expiration in milliseconds of a key", kv_cmd_psetex },
	{ "pttl", 2, KV_CMD_READONLY | KV_CMD_FAST, 1, 1, 1, KV_ROUTE_KEY, "generic",
	  "Get the time to live for a key in milliseconds", kv_cmd_pttl },
	{ "quit", -1, KV_CMD_FAST | KV_CMD_NOAUTH, 0, 0, 0, KV_ROUTE_CONN, "connection",
	  "Close the connection", NULL },
	{ "randomkey", 1, KV_CMD_READONLY, 0, 0, 0, KV_ROUTE_ALL, "generic",
	  "Return a random key from the keyspace", kv_cmd_randomkey },
	{ "rename", 3, KV_CMD_WRITE, 1, 2, 1, KV_ROUTE_MULTI, "generic", "Rename a key",
	  kv_cmd_rename },
	{ "renamenx", 3, KV_CMD_WRITE | KV_CMD_FAST, 1, 2, 1, KV_ROUTE_MULTI, "generic",
	  "Rename a key, only if the new key does not exist", kv_cmd_renamenx },
	{ "save", 1, KV_CMD_ADMIN, 0, 0, 0, KV_ROUTE_CONN, "server",
	  "Synchronously save the dataset to disk", NULL },
	{ "scan", -2, KV_CMD_READONLY, 0, 0, 0, KV_ROUTE_ALL, "generic",
	  "Incrementally iterate the keys space", kv_cmd_scan },
	{ "select", 2, KV_CMD_FAST, 0, 0, 0, KV_ROUTE_CONN, "connection",
	  "Change the selected database for the current connection", NULL },
	{ "set", -3, KV_CMD_WRITE | KV_CMD_DENYOOM, 1, 1, 1, KV_ROUTE_KEY, "string",
	  "Set the string value of a key", kv_cmd_set },
	{ "setex", 4, KV_CMD_WRITE | KV_CMD_DENYOOM, 1, 1, 1, KV_ROUTE_KEY, "string",
	  "Set the value and expiration of a key", kv_cmd_setex },
	{ "setnx", 3, KV_CMD_WRITE | KV_CMD_DENYOOM | KV_CMD_FAST, 1, 1, 1, KV_ROUTE_KEY, "string",
	  "Set the value of a key, only if the key does not exist", kv_cmd_setnx },
	{ "setrange", 4, KV_CMD_WRITE | KV_CMD_DENYOOM, 1, 1, 1, KV_ROUTE_KEY, "string",
	  "Overwrite part of a string at key starting at the specified offset", kv_cmd_setrange },
	{ "shutdown", -1, KV_CMD_ADMIN, 0, 0, 0, KV_ROUTE_CONN, "server",
	  "Synchronously save the dataset to disk and then shut down the server", NULL },
	{ "strlen", 2, KV_CMD_READONLY | KV_CMD_FAST, 1, 1, 1, KV_ROUTE_KEY, "string",
	  "Get the length of the value stored in a key", kv_cmd_strlen },
	{ "substr", 4, KV_CMD_READONLY, 1, 1, 1, KV_ROUTE_KEY, "string",
	  "Get a substring of the string stored at a key", kv_cmd_substr },
	{ "swapdb", 3, KV_CMD_WRITE | KV_CMD_FAST, 0, 0, 0, KV_ROUTE_ALL, "server",
	  "Swaps two Redis databases", kv_cmd_swapdb },
	{ "time", 1, KV_CMD_FAST, 0, 0, 0, KV_ROUTE_CONN, "server",
	  "Return the current server time", NULL },
	{ "touch", -2, KV_CMD_READONLY | KV_CMD_FAST, 1, -1, 1, KV_ROUTE_KEYS, "generic",
	  "Alters the last access time of a key(s). Returns the number of existing keys specified.",
	  kv_cmd_touch },
	{ "ttl", 2, KV_CMD_READONLY | KV_CMD_FAST, 1, 1, 1, KV_ROUTE_KEY, "generic",
	  "Get the time to live for a key in seconds", kv_cmd_ttl },
	{ "type", 2, KV_CMD_READONLY | KV_CMD_FAST, 1, 1, 1, KV_ROUTE_KEY, "generic",
	  "Determine the type stored at key", kv_cmd_type },
	{ "unlink", -2, KV_CMD_WRITE | KV_CMD_FAST, 1, -1, 1, KV_ROUTE_KEYS, "generic",
	  "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non "
	  "blocking.",
	  kv_cmd_unlink },
};

#define COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

/* The longest command name, to refuse longer input before comparing. */
#define COMMAND_NAME_MAX 16

/* Compares the name asked for (any case) with a table name (lower case). */
static int name_cmp(const char *p, size_t len, const char *name)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char a = ascii_lower((unsigned char)p[i]), b = (unsigned char)name[i];

		if (b == '\0' || a != b)
			return b == '\0' ? 1 : (int)a - (int)b;
	}
	return name[i] == '\0' ? 0 : -1;
}

const struct kv_command *kv_command_find(const char *name, size_t len)
{
	size_t lo = 0, hi = COMMAND_COUNT;

	if (len == 0 || len > COMMAND_NAME_MAX)
		return NULL;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = name_cmp(name, len, commands[mid].name);

		if (c == 0)
			return &commands[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

size_t kv_command_count(void)
{
	return COMMAND_COUNT;
}

const struct kv_command *kv_command_at(size_t i)
{
	return i < COMMAND_COUNT ? &commands[i] : NULL;
}

uint32_t kv_command_index(const struct kv_command *cmd)
{
	return (uint32_t)(cmd - commands);
}
