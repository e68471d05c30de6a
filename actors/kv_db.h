/*
 * kv_db.h - one shard's keyspace: 16 databases of string keys and values,
 * with expiry times, owned by exactly one thread (the shard's reactor).
 *
 * Nothing here is thread-safe and nothing needs to be: a shard's store is
 * only ever touched by the actors of the reactor it belongs to. Keys and
 * values are binary-safe byte strings. Expiry times are absolute Unix
 * milliseconds (CLOCK_REALTIME, as Redis keeps them), so EXPIREAT and a
 * logged expiry mean the same thing after a restart.
 *
 * Entry pointers returned by lookups stay valid until that key is deleted,
 * overwritten by kv_set, or its database is flushed or swapped: growing the
 * table rehashes incrementally but never moves an entry.
 *
 * Each key carries an LRU clock (10 ms ticks) stamped when a command looks
 * it up or writes it, which OBJECT IDLETIME reports and LRU eviction ranks
 * keys by.
 */
#ifndef ATOLL_KV_DB_H
#define ATOLL_KV_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Databases per store: SELECT 0 to KV_DBS - 1. */
#define KV_DBS 16

/* expire_ms values besides an absolute time. */
#define KV_NO_EXPIRE (-1)   /* the key lives until deleted */
#define KV_KEEP_EXPIRE (-2) /* kv_set: keep the old key's expiry, if any */

/* One shard's databases. Opaque. */
struct kv_store;

/* One key and its value. Opaque; read it with the accessors below. */
struct kv_entry;

/* Counters of one store, since creation or kv_store_reset_stats. */
struct kv_store_stats {
	uint64_t expired_keys;    /* deleted because their time passed */
	uint64_t evicted_keys;    /* deleted to stay under maxmemory */
	uint64_t keyspace_hits;   /* read lookups that found a key */
	uint64_t keyspace_misses; /* read lookups that did not */
	uint64_t expire_cycles;   /* active expiry runs */
};

/* Per-database figures for INFO keyspace. */
struct kv_db_info {
	uint64_t keys;
	uint64_t expires;    /* keys with an expiry time */
	uint64_t avg_ttl_ms; /* estimate, as Redis's avg_ttl; 0 when unknown */
};

/*
 * Creates an empty store. The hash seed is random per store (HashDoS).
 * Returns NULL when out of memory.
 */
struct kv_store *kv_store_new(void);

/* Frees the store and every key in it. NULL is a no-op. */
void kv_store_free(struct kv_store *s);

/* kv_lookup flags. A bool still works as flags: true is KV_LOOKUP_COUNT. */
#define KV_LOOKUP_COUNT 0x1u   /* a keyspace hit or miss (reads) */
#define KV_LOOKUP_NOTOUCH 0x2u /* keep the key's LRU clock (TTL, TYPE, EXISTS, OBJECT) */

/*
 * Finds key in db. A key whose expiry time is <= now_ms is deleted now (lazy
 * expiry, counted in expired_keys) and not found. With KV_LOOKUP_COUNT the
 * lookup counts as a keyspace hit or miss (reads do; writes and internal
 * lookups do not). A key found gets now_ms as its LRU clock, unless
 * KV_LOOKUP_NOTOUCH (Redis's LOOKUP_NOTOUCH). Returns the entry or NULL.
 */
struct kv_entry *kv_lookup(struct kv_store *s, int db, const char *key, size_t klen,
			   uint64_t now_ms, unsigned flags);

/*
 * Sets key in db to a copy of val, replacing any value it had. expire_ms is
 * an absolute time, KV_NO_EXPIRE, or KV_KEEP_EXPIRE (keep the old key's
 * expiry; none if the key is new). The key's LRU clock is the store's time
 * (kv_store_set_time). Returns the entry, or NULL when out of memory (the
 * old value is then left as it was).
 */
struct kv_entry *kv_set(struct kv_store *s, int db, const char *key, size_t klen, const void *val,
			size_t vlen, int64_t expire_ms);

/*
 * Deletes key from db. Returns true if it existed (an expired key that was
 * still stored counts as not existing, and is deleted).
 */
bool kv_delete(struct kv_store *s, int db, const char *key, size_t klen, uint64_t now_ms);

/* The entry's key and value bytes; *len gets their length. The value may be
 * changed in place (up to its length) by the shard that owns the store. */
const char *kv_entry_key(const struct kv_entry *e, size_t *len);
char *kv_entry_value(struct kv_entry *e, size_t *len);

/*
 * Resizes e's value to len bytes, keeping the first min(old, len) bytes and
 * zeroing any new ones (APPEND, SETRANGE, INCR). The entry does not move;
 * the value may. Returns the value, or NULL when out of memory (unchanged).
 */
char *kv_entry_resize(struct kv_store *s, struct kv_entry *e, size_t len);

/* The entry's expiry time in Unix ms, or KV_NO_EXPIRE. */
int64_t kv_entry_expire(const struct kv_entry *e);

/* Sets or clears (KV_NO_EXPIRE) the expiry time of e, which is in db. */
void kv_entry_set_expire(struct kv_store *s, int db, struct kv_entry *e, int64_t expire_ms);

/*
 * Sets the time (Unix ms) kv_set stamps as the LRU clock of the keys it
 * writes. kv_core_exec sets it before each command; until then it is 0.
 */
void kv_store_set_time(struct kv_store *s, uint64_t now_ms);

/*
 * Milliseconds since a command last looked e up or wrote it, to the clock's
 * 10 ms resolution (OBJECT IDLETIME). The clock wraps every ~124 days; an
 * idle time longer than that reads as its remainder, as Redis's does (its
 * clock wraps every 194 days).
 */
uint64_t kv_entry_idle_ms(const struct kv_entry *e, uint64_t now_ms);

/* Keys stored in db, including expired keys not yet collected. */
uint64_t kv_db_size(const struct kv_store *s, int db);

/* Deletes every key of db; of every db. */
void kv_db_flush(struct kv_store *s, int db);
void kv_store_flush(struct kv_store *s);

/* Swaps the contents of databases a and b (SWAPDB). */
void kv_db_swap(struct kv_store *s, int a, int b);

/*
 * Visits some keys of db, Redis SCAN style: the cursor is 0 to start;
 * returns the next cursor, 0 when the scan is complete. Every key present
 * for the whole scan is visited at least once, even across a resize; a key
 * may be visited more than once. Visits about `count` keys per call (whole
 * buckets). Expired keys are skipped (not deleted, since fn may not expect
 * the table to change). fn must not modify the store.
 */
uint64_t kv_db_scan(struct kv_store *s, int db, uint64_t cursor, size_t count, uint64_t now_ms,
		    void (*fn)(void *arg, const struct kv_entry *e), void *arg);

/* A random live key of db, or NULL when db is empty. May delete expired
 * keys it meets. */
struct kv_entry *kv_db_random(struct kv_store *s, int db, uint64_t now_ms);

/*
 * Active expiry, as Redis's activeExpireCycle: samples keys that have an
 * expiry time, in every db, deletes those past now_ms, and repeats while
 * more than a quarter of a sample was expired, for at most budget_us
 * microseconds. Returns the number of keys deleted.
 */
uint64_t kv_store_active_expire(struct kv_store *s, uint64_t now_ms, uint64_t budget_us);

/* The figures for INFO keyspace, for db. */
void kv_db_info(const struct kv_store *s, int db, struct kv_db_info *out);

/* Counters; reset (CONFIG RESETSTAT). */
void kv_store_stats(const struct kv_store *s, struct kv_store_stats *out);
void kv_store_reset_stats(struct kv_store *s);

/*
 * Keys the store deletes on its own account, not a command's: expired keys
 * it meets (lazily, or by active expiry) and evicted ones (kv_store_drop).
 * The shard's log records each as a DEL, so a replay that keeps time still
 * sees the store as it was (see kv_aof.h). The hook is called before the
 * key is freed; it must not touch the store.
 */
enum kv_drop {
	KV_DROP_EXPIRED,
	KV_DROP_EVICTED,
};
typedef void kv_drop_fn(void *arg, int db, const char *key, size_t klen, enum kv_drop why);

/* Sets the hook (NULL: none). */
void kv_store_on_drop(struct kv_store *s, kv_drop_fn *fn, void *arg);

/* Deletes e, a key of db, for reason why (eviction), telling the hook first.
 * Counted in evicted_keys (or expired_keys). */
void kv_store_drop(struct kv_store *s, int db, struct kv_entry *e, enum kv_drop why);

/* Bytes the store holds for keys, values and tables (its own count). */
uint64_t kv_store_memory(const struct kv_store *s);

/*
 * A soft cap on kv_store_memory, for maxmemory (0: none): a table doubles
 * past it only once its chains average 1.618 keys, as Redis's
 * dictExpandAllowed. Keys are not refused or evicted here (kv_maxmemory.c).
 */
void kv_store_set_limit(struct kv_store *s, uint64_t bytes);

/* How eviction ranks the keys it may delete (maxmemory-policy). */
enum kv_evict_rank {
	KV_RANK_RANDOM, /* any key, uniformly at random */
	KV_RANK_IDLE,   /* the longest idle first: approximate LRU */
	KV_RANK_TTL,    /* the nearest expiry time first */
};

/*
 * The key to evict next, as Redis's performEvictions picks it: for
 * KV_RANK_IDLE and KV_RANK_TTL, `samples` random keys of every db (only
 * keys with an expiry time when volatile_only) are merged into the store's
 * pool of the 16 best candidates seen so far, whose best goes (rescored
 * first, so a key used since it was sampled does not go on a stale score);
 * for KV_RANK_RANDOM, a key drawn uniformly from all dbs. Expired keys the
 * samples meet are deleted as expired (through the drop hook) instead.
 * Returns the entry, with its db in *db, for the caller to delete
 * (kv_store_drop ... KV_DROP_EVICTED); NULL when there is no key to offer:
 * none left, or every key sampled was expired (and is gone now: the store
 * is smaller, and another call may find one).
 */
struct kv_entry *kv_store_evict_candidate(struct kv_store *s, enum kv_evict_rank rank,
					  bool volatile_only, unsigned samples, uint64_t now_ms,
					  int *db);

/*
 * Redis glob matching (KEYS, SCAN MATCH, CONFIG GET): '*', '?', '[a-z]',
 * '[^x]', and '\' escapes. Returns true when str matches pattern.
 */
bool kv_glob_match(const char *pattern, size_t plen, const char *str, size_t slen, bool nocase);

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_KV_DB_H */
