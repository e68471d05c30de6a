/*
 * kv_cmd.h - atoll-kv's command table and the commands a shard executes.
 *
 * Every command the server knows has one const entry here: its name, arity
 * and key positions (as Redis's COMMAND reports them), flags, how the
 * connection routes it (enum kv_route), and, for commands a shard executes,
 * the function that runs it against one store. A shard function sees only
 * its own store: the connection actor (resp_conn.c) splits multi-key
 * commands by shard, and coordinates the commands whose keys span shards.
 *
 * Command functions write exactly one RESP reply to x->out (resp.h), in the
 * protocol x->out->proto says; errors use Redis's exact strings.
 */
#ifndef ATOLL_KV_CMD_H
#define ATOLL_KV_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kv_db.h"
#include "resp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One argument: bytes and length (not NUL-terminated). argv[0] is the
 * command name as the client sent it. */
struct kv_arg {
	const char *p;
	size_t len;
};

/* What a shard command runs against. */
struct kv_exec {
	struct kv_store *store; /* the shard's keyspace */
	int db;                 /* the client's selected database, 0..15 */
	uint64_t now_ms;        /* Unix time in ms, fixed for one batch */
	struct resp_out *out;   /* the reply goes here */
	uint64_t dirty;         /* incremented by every change to the store */
};

/* How the connection routes a command. */
enum kv_route {
	/* Run by the connection itself (PING, AUTH, CLIENT, CONFIG, ...);
	 * exec is NULL. */
	KV_ROUTE_CONN = 0,
	/* One key, argv[first_key], names the shard. */
	KV_ROUTE_KEY,
	/* Independent keys at first_key..last_key by key_step (MGET, MSET,
	 * DEL, EXISTS, ...): the connection sends each shard the same command
	 * with only its keys (and their values, for MSET) and combines the
	 * replies. */
	KV_ROUTE_KEYS,
	/* Every shard runs it (DBSIZE, KEYS, SCAN, FLUSHDB, ...); the
	 * connection combines the replies. */
	KV_ROUTE_ALL,
	/* Several keys that must be handled together (RENAME, COPY, LCS,
	 * MSETNX, SMOVE-like): when all keys are on one shard it runs as
	 * KV_ROUTE_KEY does; otherwise the connection coordinates it with the
	 * internal kv.* commands below. */
	KV_ROUTE_MULTI,
};

/* Command flags (Redis's COMMAND flag names where one exists). */
#define KV_CMD_WRITE 0x01u    /* "write": may change the keyspace */
#define KV_CMD_READONLY 0x02u /* "readonly" */
#define KV_CMD_ADMIN 0x04u    /* "admin" (DEBUG, CONFIG SET, ...) */
#define KV_CMD_NOAUTH 0x08u   /* "no_auth": allowed before AUTH */
#define KV_CMD_FAST 0x10u     /* "fast": O(1) or O(log n) */
#define KV_CMD_INTERNAL                                          \
	0x20u                /* between actors only: clients get \
			      * "unknown command" */
#define KV_CMD_DENYOOM 0x40u /* "denyoom": refused over maxmemory */

struct kv_command {
	const char *name; /* lower case, e.g. "getrange" */
	int arity;        /* Redis convention: n exact, -n at least n, name included */
	uint32_t flags;   /* KV_CMD_* */
	int first_key;    /* argv index of the first key, 0 if none */
	int last_key;     /* of the last key; -1: the last argument */
	int key_step;     /* distance between keys, 0 if none */
	enum kv_route route;
	const char *group;   /* COMMAND DOCS group: "string", "generic", ... */
	const char *summary; /* one line, for COMMAND DOCS */
	/* Runs the command on one shard's store (argc >= the arity, already
	 * checked by the caller). NULL for KV_ROUTE_CONN. */
	void (*exec)(struct kv_exec *x, int argc, const struct kv_arg *argv);
};

/* Finds a command by name, case-insensitively. Internal commands are found
 * too: callers check KV_CMD_INTERNAL. Returns NULL when there is none. */
const struct kv_command *kv_command_find(const char *name, size_t len);

/* The whole table, for COMMAND, COMMAND COUNT, COMMAND DOCS. */
size_t kv_command_count(void);
const struct kv_command *kv_command_at(size_t i);
/* The index of cmd, an entry of the table (from kv_command_find or _at):
 * what a batch entry carries to name it (kv_shard.h). */
uint32_t kv_command_index(const struct kv_command *cmd);

/* True when argc fits cmd's arity. */
static inline bool kv_command_arity_ok(const struct kv_command *cmd, int argc)
{
	return cmd->arity >= 0 ? argc == cmd->arity : argc >= -cmd->arity;
}

/*
 * Number parsing with Redis's rules (string2ll, string2ld): the whole
 * string must be the number, no spaces, no leading '+', no leading zeros
 * ("0" alone is fine), within range. Return true and store the value, or
 * false.
 */
bool kv_parse_ll(const char *p, size_t len, long long *out);
bool kv_parse_ull(const char *p, size_t len, unsigned long long *out);
bool kv_parse_ld(const char *p, size_t len, long double *out);

/* True when a and b are equal ignoring ASCII case (a's length alen; b a
 * C string): for option names like "EX", "NX". */
bool kv_arg_is(const struct kv_arg *a, const char *b);

/* Bytes of a command's name kv_command_spelt keeps. */
#define KV_SPELT_MAX 128

/*
 * A command's name as Redis prints it in a container's errors and HELP
 * headers (argv[0]: "Try CONFIG HELP."): as the client spelt it (so a
 * renamed command says its new name), upper-cased, up to a NUL and at most
 * KV_SPELT_MAX bytes, CR and LF as spaces (it may head a status line).
 * Writes it to buf (KV_SPELT_MAX + 1 bytes) and returns buf.
 */
const char *kv_command_spelt(const struct kv_arg *name, char *buf);

/*
 * A container's HELP reply, as Redis's addReplyHelp writes it: an array of
 * status lines, "NAME <subcommand> [<arg> [value] [opt] ...]. Subcommands
 * are:" (NAME from kv_command_spelt(name)), then lines[0..n), then "HELP"
 * and "    Prints this help.". lines hold no CR or LF.
 */
void kv_reply_help(struct resp_out *o, const struct kv_arg *name, const char *const *lines,
		   size_t n);

/*
 * The internal commands (KV_CMD_INTERNAL), used by the connection to run
 * commands whose keys span shards:
 *
 *   kv.dump key             -> array [value (bulk), expire_ms (int, -1 for
 *                              none)], or a null array when the key does not
 *                              exist. Read only; not counted as a hit/miss.
 *   kv.restore key value expire_ms [NX]
 *                           -> :1 when set, :0 when NX and the key exists.
 *                              expire_ms is absolute (-1: none); one in the
 *                              past deletes the key instead and replies :1.
 *   kv.info                 -> a flat array of integers: used_memory,
 *                              expired_keys, keyspace_hits, keyspace_misses,
 *                              then for each db 0..15: keys, expires,
 *                              avg_ttl_ms (so 4 + 3 * 16 = 52 integers).
 *   kv.resetstat            -> +OK, after kv_store_reset_stats.
 *
 * Commands routed KV_ROUTE_ALL run on each shard over that shard's keys
 * only: SCAN's cursor and reply are the shard's own (the connection maps
 * them to a server-wide cursor), KEYS returns the shard's matches, DBSIZE
 * its count, RANDOMKEY one of its keys or nil.
 */

/*
 * LCS over two values (NULL with len 0 for a missing key), with LCS's
 * options in argv[first..argc) (LEN, IDX, MINMATCHLEN n, WITHMATCHLEN).
 * Writes the reply (or a syntax error) to out. Used by the lcs command and
 * by the connection when the two keys are on different shards.
 */
void kv_lcs_reply(struct resp_out *out, const char *a, size_t alen, const char *b, size_t blen,
		  int argc, const struct kv_arg *argv, int first);

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_KV_CMD_H */
