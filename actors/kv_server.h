/*
 * kv_server.h - what atoll-kv's actors share: the server description built
 * before the runtime starts, and one struct kv_core per reactor.
 *
 * The server struct is written once by the program that starts atoll-kv and
 * is read-only afterwards, except `clients`, an atomic counter. A kv_core
 * belongs to one reactor: its shard actor and the connection actors living
 * there touch it, all on that reactor's thread, so it needs no locks. A
 * setting changed with CONFIG SET reaches every core as a message to its
 * shard, which updates that core's copy.
 */
#ifndef ATOLL_KV_SERVER_H
#define ATOLL_KV_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <atoll.h>

#include "kv_db.h"

#ifdef __cplusplus
extern "C" {
#endif

struct kv_server;
struct kv_aof;
struct kv_rename;

/* appendfsync: when a shard's log is flushed to disk. */
enum kv_fsync {
	KV_FSYNC_NO,       /* left to the kernel */
	KV_FSYNC_EVERYSEC, /* once a second per shard */
	KV_FSYNC_ALWAYS,   /* before a write's reply is sent (group commit) */
};

/* maxmemory-policy: what a write does over maxmemory. */
enum kv_evict_policy {
	KV_EVICT_NOEVICTION,     /* refuse it (-OOM) */
	KV_EVICT_ALLKEYS_LRU,    /* evict the least recently used keys first */
	KV_EVICT_VOLATILE_LRU,   /* the same, among keys with an expiry time */
	KV_EVICT_ALLKEYS_RANDOM, /* random keys */
	KV_EVICT_VOLATILE_RANDOM,
	KV_EVICT_VOLATILE_TTL, /* the keys nearest their expiry time */
};

/* enable-debug-command (Redis 7's "protected actions"): who may run DEBUG. */
enum kv_protected_action {
	KV_ALLOW_NO,    /* nobody (the default, as Redis 7) */
	KV_ALLOW_YES,   /* every client */
	KV_ALLOW_LOCAL, /* clients connected from a loopback address */
};

/* The settings CONFIG GET and CONFIG SET know. */
struct kv_settings {
	char requirepass[128];                        /* "" = no password */
	unsigned maxclients;                          /* 10000, as Redis */
	unsigned long long proto_max_bulk_len;        /* 512 MiB */
	unsigned long long client_query_buffer_limit; /* 1 GiB */
	unsigned long long client_output_limit;       /* bytes of replies queued to one
						       * client before it is dropped */
	unsigned hz;                                  /* active expiry runs per second */
	/* Persistence (kv_aof.h). appendonly is read at start only. */
	unsigned appendonly;                          /* 0 or 1 */
	unsigned appendfsync;                         /* enum kv_fsync */
	unsigned auto_aof_rewrite_percentage;         /* 100; 0: never automatic */
	unsigned long long auto_aof_rewrite_min_size; /* 64 MiB */
	/* Memory (kv_maxmemory.c). maxmemory is for the whole server; each of
	 * the n shards keeps its own store under maxmemory / n. */
	unsigned long long maxmemory; /* bytes; 0: no limit */
	unsigned maxmemory_policy;    /* enum kv_evict_policy */
	unsigned maxmemory_samples;   /* keys sampled per eviction, 5 */
	/* Hardening (docs/reliability.md). With protected_mode on and no
	 * requirepass, clients from non-loopback addresses get -DENIED and are
	 * closed. enable_debug_command is read at start only. */
	unsigned protected_mode;       /* 0 or 1; 1 by default, as Redis */
	unsigned enable_debug_command; /* enum kv_protected_action; no */
};

/* Sets s to the defaults above. */
void kv_settings_default(struct kv_settings *s);

/*
 * Sets the setting called name (CONFIG SET's names, case-insensitive) from
 * its text value (memory sizes may carry k/kb/m/mb/g/gb). Returns 0;
 * -ENOENT for a name CONFIG does not know, -EPERM for one it knows but
 * cannot change at run time, -EINVAL for a bad value: then err holds the
 * Redis-style message (without the leading "-").
 */
int kv_settings_set(struct kv_settings *s, const char *name, size_t nlen, const char *val,
		    size_t vlen, char *err, size_t errlen);

/* True for a setting read at start only (appendonly): CONFIG SET refuses
 * it as immutable. */
bool kv_config_startup_only(const char *name, size_t nlen);

/* The settings CONFIG GET lists, with their values on srv and s (fixed
 * ones, like "databases", included). i from 0 to kv_config_count() - 1. */
size_t kv_config_count(void);
const char *kv_config_name(size_t i);
void kv_config_value(const struct kv_server *srv, const struct kv_settings *s, size_t i, char *buf,
		     size_t len);

/* One connected client, as CLIENT LIST and CLIENT KILL see it. Lives inside
 * the connection actor's state, linked into its core's list. */
struct kv_client {
	struct kv_client *next;
	struct kv_client *prev;
	atoll_ref ref; /* the connection actor */
	uint64_t id;   /* CLIENT ID: unique in the server's life */
	int fd;
	char addr[64];        /* "ip:port" of the peer */
	char laddr[64];       /* "ip:port" of our side */
	char name[64];        /* CLIENT SETNAME */
	char lib_name[32];    /* CLIENT SETINFO LIB-NAME */
	char lib_ver[32];     /* CLIENT SETINFO LIB-VER */
	const char *last_cmd; /* name of the last command (the table's), or NULL */
	uint64_t created_ms;  /* Unix ms */
	uint64_t last_ms;     /* Unix ms of the last command */
	uint64_t qbuf;        /* bytes waiting in the query buffer */
	uint64_t omem;        /* bytes of replies not yet sent */
	int db;
	uint8_t resp; /* 2 or 3 */
	bool authenticated;
};

/* Per-core counters (INFO stats, INFO atoll). */
struct kv_core_stats {
	uint64_t commands;        /* commands run, by connections on this core */
	uint64_t commands_local;  /* run directly on this core's shard */
	uint64_t commands_remote; /* sent to another shard in a batch */
	uint64_t batches_sent;    /* batch messages sent by connections here */
	uint64_t batches_run;     /* batch messages run by this core's shard */
	uint64_t batch_commands;  /* commands in those batches */
	uint64_t connections;     /* connections accepted */
	uint64_t rejected;        /* refused: over maxclients */
	uint64_t net_input;       /* bytes read from clients */
	uint64_t net_output;      /* bytes of replies queued to clients */
	uint64_t protocol_errors; /* clients closed for malformed input */
	uint64_t output_drops;    /* clients closed over the output limit */
	uint64_t lock_waits;      /* batches deferred behind a shard lock */
};

/* One reactor's part of the server. */
struct kv_core {
	struct kv_server *server;
	unsigned index;
	struct kv_store *store; /* the shard's keyspace (set by the shard) */
	struct kv_settings settings;
	/* The connection holding this shard's lock for a command whose keys
	 * span shards, or ATOLL_REF_NONE. Connections on this core must not run
	 * commands on the store directly while another holds it. */
	atoll_ref lock_holder;
	struct kv_aof *aof;        /* this shard's log, or NULL (kv_aof.h) */
	struct kv_client *clients; /* this core's connections */
	uint64_t nclients;
	struct kv_core_stats stats;
};

struct kv_server {
	unsigned nshards;
	atoll_ref *shards;     /* shards[i]: the shard actor on reactor i */
	struct kv_core *cores; /* [nshards] */
	atoll_runtime *rt;     /* for INFO atoll's runtime counters */
	const char *bind;
	/* The port listened on, stored by the starting thread once the first
	 * listener knows it (port 0 picks one) while connections may already
	 * read it: relaxed, it publishes nothing else. */
	_Atomic uint16_t port;
	const char *config_file; /* or NULL */
	/* rename-command (kv_rename.h): the names clients reach commands by,
	 * or NULL when none was renamed. The program's, set before the
	 * listeners start and read-only afterwards. */
	const struct kv_rename *renames;
	uint64_t start_ms; /* Unix ms at start */
	uint64_t start_ns; /* monotonic ns at start */
	/* Connected clients on all cores, for maxclients. Incremented by a
	 * connection's init and decremented by its close, relaxed: it pairs with
	 * nothing, it is a count checked against a limit. */
	_Atomic uint64_t clients;
	/* The last CLIENT ID given out: ids grow across all cores, as Redis's
	 * do. Relaxed fetch_add: only uniqueness and order matter, it guards
	 * no other memory. */
	_Atomic uint64_t next_client_id;
	/* Loading at start (kv_aof.h). Set before the runtime starts: */
	bool repair;          /* cut a corrupt log at the bad command */
	bool load_dump_first; /* appendonly, no logs yet, but a dump: load it */
	/* Shards done loading, and shards that failed (their core's
	 * aof->error_text says why). Each shard adds 1 to one of them once,
	 * release, after writing its store and error text; the starting
	 * thread reads them acquire before it looks at either. */
	_Atomic unsigned loaded;
	_Atomic unsigned load_failed;
};

struct kv_command;
struct kv_exec;
struct kv_arg;

/*
 * Runs cmd, a shard command, on core's store for one client (x: its db,
 * time and reply), as every path that runs a command on a store must: the
 * shard's batches and a connection running it directly on its own core.
 * A write may be refused (-OOM over maxmemory once eviction cannot make
 * room, -MISCONF while the core's log cannot be written); otherwise cmd runs
 * and, if it changed the store, is appended to the core's log. Returns the
 * log position the reply must wait for under appendfsync always (see
 * kv_aof.h), or 0 when it may go at once. Call on core's reactor.
 */
uint64_t kv_core_exec(struct kv_core *core, const struct kv_command *cmd, struct kv_exec *x,
		      int argc, const struct kv_arg *argv);

/* The error a write gets over maxmemory (Redis 7.0's, without the "-"). */
#define KV_OOM_ERROR "OOM command not allowed when used memory > 'maxmemory'."

/*
 * maxmemory (kv_maxmemory.c): true when cmd may run on core's store at
 * now_ms. Commands not flagged KV_CMD_DENYOOM always may, and so may any
 * while maxmemory is 0 or the store is within its share (maxmemory /
 * nshards, as kv_store_memory counts it). Otherwise keys are evicted by
 * core's maxmemory-policy until the store is within its share (at most
 * ~500 us of it per command, as Redis); false when that cannot be done:
 * noeviction, or no key the policy may evict. Call on core's reactor,
 * before cmd runs (kv_core_exec does).
 */
bool kv_maxmemory_admit(struct kv_core *core, const struct kv_command *cmd, uint64_t now_ms);

/*
 * Sets up srv for nshards shards (arrays allocated, cores zeroed with the
 * given settings). Returns 0 or -ENOMEM. kv_server_destroy frees what it
 * allocated (call it after the runtime has stopped).
 */
int kv_server_init(struct kv_server *srv, unsigned nshards, const struct kv_settings *settings);
void kv_server_destroy(struct kv_server *srv);

/* The shard index of a key: XXH3-64 (seed 0) of its bytes modulo nshards. */
unsigned kv_shard_of(const struct kv_server *srv, const char *key, size_t len);

/* Unix time in milliseconds (CLOCK_REALTIME). */
uint64_t kv_unix_ms(void);

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_KV_SERVER_H */
