/*
 * kv_db_internal.h - the layout of a shard's keyspace, shared by the files
 * that implement kv_db.h (kv_db.c: tables, entries, scan; kv_db_expire.c:
 * active expiry; kv_db_evict.c: choosing keys to evict). Nothing outside
 * those files includes it.
 */
#ifndef ATOLL_KV_DB_INTERNAL_H
#define ATOLL_KV_DB_INTERNAL_H

#include "kv_db.h"

/* Buckets of a new table, and the smallest a table shrinks to. */
#define TABLE_MIN_SIZE 4u
/* Shrink when fewer than 1 key per 10 buckets, as Redis (HASHTABLE_MIN_FILL). */
#define TABLE_MIN_FILL 10u
/* Rehash work per table operation: buckets moved, and empty ones skipped. */
#define REHASH_STEP 1u
#define REHASH_EMPTY_VISITS 10u
/* Volatile keys per block of db->vol. */
#define VOL_BLOCK 1024u
#define VOL_NONE UINT32_MAX
/* The LRU clock: Unix ms / LRU_TICK_MS in LRU_BITS bits, wrapping every
 * 2^30 * 10 ms (about 124 days; Redis's 24-bit clock of seconds, 100 times
 * coarser, wraps every 194 days). */
#define LRU_TICK_MS 10u
#define LRU_BITS 30
#define LRU_MAX ((1u << LRU_BITS) - 1)
/* Candidates the eviction pool keeps between evictions, as Redis's
 * EVPOOL_SIZE. */
#define EVICT_POOL_SIZE 16u

struct kv_entry {
	struct kv_entry *next; /* bucket chain */
	uint64_t hash;         /* of the key, with the store's seed */
	char *val;             /* inline after the key, or its own allocation */
	size_t vlen;
	size_t vcap;      /* bytes val can hold */
	int64_t expire;   /* Unix ms or KV_NO_EXPIRE */
	uint32_t klen;    /* keys are shorter than 4 GiB */
	uint32_t vol_idx; /* index in db->vol, or VOL_NONE */
	uint32_t icap;    /* the inline value room allocated with the entry */
	/* val is its own allocation. A flag, not a pointer comparison: with
	 * no inline room, a separate block may start right after the entry. */
	uint32_t val_heap : 1;
	uint32_t pooled : 1; /* in the store's eviction pool */
	/* The LRU clock when a command last used the key. These three share
	 * the 4 bytes a bool used to pad to, so an entry header stays 64
	 * bytes. */
	uint32_t lru : LRU_BITS;
	char key[]; /* klen key bytes, then the inline value room */
};

/* One cache line of header per key on 64-bit targets: the LRU clock must
 * not grow it. */
_Static_assert(sizeof(void *) != 8 || sizeof(struct kv_entry) == 64,
	       "struct kv_entry is 64 bytes on 64-bit targets");

struct kv_table {
	struct kv_entry **b;
	size_t size; /* a power of two, or 0 before the first key */
	size_t used;
};

struct kv_db {
	struct kv_table t[2]; /* t[1] is only in use while rehashing */
	size_t rehash_idx;    /* next bucket of t[0] to move */
	bool rehashing;
	struct kv_entry ***vol; /* blocks of VOL_BLOCK keys with an expiry */
	size_t vol_len;
	size_t vol_blocks;  /* blocks allocated */
	size_t vol_dir_cap; /* block pointers vol has room for */
	uint64_t avg_ttl;   /* running estimate, as Redis's db->avg_ttl */
};

/* A candidate for eviction, as Redis's evictionPoolEntry: the entry (its
 * `pooled` bit set) and the score it had when sampled; higher goes first. */
struct kv_evict_slot {
	struct kv_entry *e;
	uint64_t score;
	int db;
};

struct kv_store {
	struct kv_db db[KV_DBS];
	uint64_t seed;    /* hash seed: never 0, which the shard router uses */
	uint64_t rng;     /* splitmix64 state for sampling */
	uint64_t memory;  /* bytes allocated for entries, values and tables */
	int expire_db;    /* active expiry resumes at this db */
	uint32_t lru_now; /* kv_store_set_time's clock, which kv_set stamps */
	uint64_t limit;   /* kv_store_set_limit: 0, or tables grow only within it */
	/* The best eviction candidates seen so far, by ascending score, and
	 * the policy they were scored for (kv_db_evict.c). */
	struct kv_evict_slot pool[EVICT_POOL_SIZE];
	unsigned pool_len;
	unsigned pool_mode;
	struct kv_store_stats stats;
	kv_drop_fn *on_drop; /* kv_store_on_drop */
	void *on_drop_arg;
};

/* splitmix64: sampling needs speed and spread, not secrecy. */
static inline uint64_t kv__random(struct kv_store *s)
{
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline bool kv__expired(const struct kv_entry *e, uint64_t now_ms)
{
	return e->expire != KV_NO_EXPIRE && e->expire <= (int64_t)now_ms;
}

/* The LRU clock at Unix time now_ms. */
static inline uint32_t kv__lru_clock(uint64_t now_ms)
{
	return (uint32_t)(now_ms / LRU_TICK_MS) & LRU_MAX;
}

/* Stamps e with clock, a value of kv__lru_clock. */
static inline void kv__touch(struct kv_entry *e, uint32_t clock)
{
	e->lru = clock & LRU_MAX;
}

static inline struct kv_entry **kv__vol_slot(struct kv_db *d, size_t i)
{
	return &d->vol[i / VOL_BLOCK][i % VOL_BLOCK];
}

/* Tells the drop hook that e, in d, is about to go (expired or evicted). */
static inline void kv__dropping(struct kv_store *s, struct kv_db *d, const struct kv_entry *e,
				enum kv_drop why)
{
	if (s->on_drop != NULL)
		s->on_drop(s->on_drop_arg, (int)(d - s->db), e->key, e->klen, why);
}

/* Moves up to n buckets of a rehash along (kv_db.c). */
void kv__rehash_step(struct kv_store *s, struct kv_db *d, size_t n);
/* Starts shrinking d's table when it is mostly empty (kv_db.c). */
void kv__shrink_if_sparse(struct kv_store *s, struct kv_db *d);
/* Deletes e, wherever in d's tables it is (kv_db.c). */
void kv__entry_delete(struct kv_store *s, struct kv_db *d, struct kv_entry *e);
/* A random entry of d, which must not be empty (kv_db.c). */
struct kv_entry *kv__random_entry(struct kv_store *s, struct kv_db *d);
/* Takes e out of the eviction pool, before it is freed (kv_db_evict.c). */
void kv__pool_forget(struct kv_store *s, const struct kv_entry *e);
/* Renames db a to b and b to a in the pool, for SWAPDB (kv_db_evict.c). */
void kv__pool_swap_db(struct kv_store *s, int a, int b);

#endif /* ATOLL_KV_DB_INTERNAL_H */
