/*
 * kv_db.c - one shard's keyspace: per database, a chained hash table that
 * grows and shrinks by incremental rehash (as Redis's dict), and an array of
 * the keys that have an expiry time, which active expiry (kv_db_expire.c)
 * samples.
 *
 * Invariants: an entry is one allocation (header, key, and the value it was
 * created with) and never moves until deleted or replaced by kv_set; a value
 * outgrowing that inline room moves to its own allocation. While a table
 * rehashes, buckets of t[0] below rehash_idx are empty and new keys go to
 * t[1]. An entry with an expiry time sits in db->vol at vol_idx (or has
 * vol_idx VOL_NONE only when that array could not grow: lazy expiry still
 * works); the array grows by fixed blocks, so it never copies itself either.
 * Store memory counts every byte this file asked malloc for.
 */
#include "kv_db_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

/* --- helpers ------------------------------------------------------------ */

static uint64_t key_hash(const struct kv_store *s, const char *key, size_t klen)
{
	return XXH3_64bits_withSeed(key, klen, s->seed);
}

static void entry_free(struct kv_store *s, struct kv_entry *e)
{
	if (e->pooled)
		kv__pool_forget(s, e);
	s->memory -= sizeof(*e) + e->klen + e->icap;
	if (e->val_heap) {
		s->memory -= e->vcap;
		free(e->val);
	}
	free(e);
}

/* --- the volatile-key array ---------------------------------------------- */

/* Makes room for one more volatile key. Returns false when out of memory. */
static bool vol_reserve(struct kv_store *s, struct kv_db *d)
{
	struct kv_entry **block;

	if (d->vol_len < d->vol_blocks * VOL_BLOCK)
		return true;
	if (d->vol_len >= VOL_NONE - 1)
		return false;
	if (d->vol_blocks == d->vol_dir_cap) {
		size_t cap = d->vol_dir_cap ? d->vol_dir_cap * 2 : 4;
		struct kv_entry ***dir = realloc(d->vol, cap * sizeof(*dir));

		if (dir == NULL)
			return false;
		s->memory += (cap - d->vol_dir_cap) * sizeof(*dir);
		d->vol = dir;
		d->vol_dir_cap = cap;
	}
	block = malloc(VOL_BLOCK * sizeof(*block));
	if (block == NULL)
		return false;
	s->memory += VOL_BLOCK * sizeof(*block);
	d->vol[d->vol_blocks++] = block;
	return true;
}

static void vol_add(struct kv_store *s, struct kv_db *d, struct kv_entry *e)
{
	if (e->vol_idx != VOL_NONE || !vol_reserve(s, d))
		return;
	e->vol_idx = (uint32_t)d->vol_len;
	*kv__vol_slot(d, d->vol_len++) = e;
}

static void vol_remove(struct kv_store *s, struct kv_db *d, struct kv_entry *e)
{
	struct kv_entry *last;

	if (e->vol_idx == VOL_NONE)
		return;
	last = *kv__vol_slot(d, --d->vol_len);
	*kv__vol_slot(d, e->vol_idx) = last;
	last->vol_idx = e->vol_idx;
	e->vol_idx = VOL_NONE;
	/* Free the last block once a whole spare one sits before it, so a
	 * key flapping at a block edge does not allocate each time. */
	if (d->vol_blocks >= 2 && d->vol_len <= (d->vol_blocks - 2) * VOL_BLOCK) {
		free(d->vol[--d->vol_blocks]);
		s->memory -= VOL_BLOCK * sizeof(**d->vol);
	}
}

/* --- the table ----------------------------------------------------------- */

static size_t db_used(const struct kv_db *d)
{
	return d->t[0].used + d->t[1].used;
}

static void table_release(struct kv_store *s, struct kv_table *t)
{
	s->memory -= t->size * sizeof(*t->b);
	free(t->b);
	memset(t, 0, sizeof(*t));
}

/*
 * Moves up to n buckets of t[0] to t[1], skipping at most n * 10 empty
 * ones so one step stays short in a sparse table. Finishes the rehash when
 * t[0] is empty.
 */
void kv__rehash_step(struct kv_store *s, struct kv_db *d, size_t n)
{
	size_t empty_visits = n * REHASH_EMPTY_VISITS;
	struct kv_table *t0 = &d->t[0], *t1 = &d->t[1];

	if (!d->rehashing)
		return;
	while (n-- > 0 && t0->used > 0) {
		struct kv_entry *e;

		while (t0->b[d->rehash_idx] == NULL) {
			d->rehash_idx++;
			if (--empty_visits == 0)
				return;
		}
		e = t0->b[d->rehash_idx];
		while (e != NULL) {
			struct kv_entry *next = e->next;
			size_t h = e->hash & (t1->size - 1);

			e->next = t1->b[h];
			t1->b[h] = e;
			t0->used--;
			t1->used++;
			e = next;
		}
		t0->b[d->rehash_idx++] = NULL;
	}
	if (t0->used == 0) {
		table_release(s, t0);
		*t0 = *t1;
		memset(t1, 0, sizeof(*t1));
		d->rehashing = false;
		d->rehash_idx = 0;
	}
}

static size_t next_power(size_t n)
{
	size_t size = TABLE_MIN_SIZE;

	while (size < n && size < (SIZE_MAX >> 1))
		size <<= 1;
	return size;
}

/*
 * Starts a resize to the power of two that fits n keys: the first table is
 * allocated directly; later ones become t[1] and fill incrementally.
 * Returns false when out of memory (the table stays as it was).
 */
static bool table_resize(struct kv_store *s, struct kv_db *d, size_t n)
{
	size_t size = next_power(n);
	struct kv_entry **b;

	if (d->rehashing || size == d->t[0].size)
		return true;
	b = calloc(size, sizeof(*b));
	if (b == NULL)
		return false;
	s->memory += size * sizeof(*b);
	if (d->t[0].size == 0) {
		d->t[0].b = b;
		d->t[0].size = size;
		return true;
	}
	d->t[1].b = b;
	d->t[1].size = size;
	d->t[1].used = 0;
	d->rehashing = true;
	d->rehash_idx = 0;
	return true;
}

/*
 * Under a memory limit, a table whose chains are still short (fewer than
 * 1.618 keys per bucket, Redis's HASHTABLE_MAX_LOAD_FACTOR) does not double
 * past the limit: as Redis's dictExpandAllowed, so one write near the limit
 * cannot allocate a bucket array that evicts (or, under noeviction, locks
 * out) many keys.
 */
static bool growth_allowed(const struct kv_store *s, const struct kv_table *t)
{
	size_t more = next_power(t->used + 1) * sizeof(*t->b);

	if (s->limit == 0 || t->used * 1000 > t->size * 1618)
		return true;
	return s->memory + more <= s->limit;
}

/* Grows at one key per bucket, as Redis; an allocation failure only makes
 * chains longer, except for the very first table. */
static bool table_grow_if_needed(struct kv_store *s, struct kv_db *d)
{
	if (d->t[0].size == 0)
		return table_resize(s, d, TABLE_MIN_SIZE);
	if (!d->rehashing && d->t[0].used >= d->t[0].size && growth_allowed(s, &d->t[0]))
		(void)table_resize(s, d, d->t[0].used + 1);
	return true;
}

void kv__shrink_if_sparse(struct kv_store *s, struct kv_db *d)
{
	if (d->rehashing || d->t[0].size <= TABLE_MIN_SIZE)
		return;
	if (d->t[0].used * TABLE_MIN_FILL < d->t[0].size)
		(void)table_resize(s, d, d->t[0].used);
}

/* Where an entry sits: the link pointing at it, and the table it is in. */
struct slot {
	struct kv_entry **link;
	struct kv_table *table;
};

/* Finds key, searching both tables while rehashing; *at gets its place. */
static struct kv_entry *table_find(struct kv_db *d, uint64_t hash, const char *key, size_t klen,
				   struct slot *at)
{
	for (int i = 0; i <= (d->rehashing ? 1 : 0); i++) {
		struct kv_table *t = &d->t[i];
		struct kv_entry **pp;

		if (t->size == 0)
			continue;
		pp = &t->b[hash & (t->size - 1)];
		for (; *pp != NULL; pp = &(*pp)->next) {
			struct kv_entry *e = *pp;

			if (e->hash == hash && e->klen == klen && memcmp(e->key, key, klen) == 0) {
				at->link = pp;
				at->table = t;
				return e;
			}
		}
	}
	return NULL;
}

/* Unlinks e, found at *at, and frees it. */
static void entry_delete(struct kv_store *s, struct kv_db *d, const struct slot *at,
			 struct kv_entry *e)
{
	at->table->used--;
	*at->link = e->next;
	vol_remove(s, d, e);
	entry_free(s, e);
}

/* Deletes e wherever it is; for callers that did not keep its place. */
void kv__entry_delete(struct kv_store *s, struct kv_db *d, struct kv_entry *e)
{
	struct slot at;

	if (table_find(d, e->hash, e->key, e->klen, &at) == e)
		entry_delete(s, d, &at, e);
}

static struct kv_entry *entry_new(struct kv_store *s, uint64_t hash, const char *key, size_t klen,
				  const void *val, size_t vlen)
{
	struct kv_entry *e;

	/* Keys and first values of 4 GiB or more are refused (as out of
	 * memory): the entry keeps their lengths in 32 bits. */
	if (klen >= UINT32_MAX || vlen >= UINT32_MAX)
		return NULL;
	e = malloc(sizeof(*e) + klen + vlen);
	if (e == NULL)
		return NULL;
	e->next = NULL;
	e->hash = hash;
	e->klen = (uint32_t)klen;
	e->vol_idx = VOL_NONE;
	e->expire = KV_NO_EXPIRE;
	memcpy(e->key, key, klen);
	e->val = e->key + klen;
	e->vlen = vlen;
	e->vcap = vlen;
	e->icap = (uint32_t)vlen;
	e->val_heap = 0;
	e->pooled = 0;
	kv__touch(e, s->lru_now);
	if (vlen)
		memcpy(e->val, val, vlen);
	s->memory += sizeof(*e) + klen + vlen;
	return e;
}

/* --- the store ------------------------------------------------------------ */

struct kv_store *kv_store_new(void)
{
	struct kv_store *s = calloc(1, sizeof(*s));
	uint64_t r[2];

	if (s == NULL)
		return NULL;
	/* A seed the shard router (seed 0) does not share, so bucket indices
	 * are uncorrelated with the shard a key lives on; and random, so
	 * clients cannot aim keys at one bucket. */
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		r[0] = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)s;
		r[1] = r[0] * 0x9e3779b97f4a7c15ull;
	}
	s->seed = r[0] | 1;
	s->rng = r[1];
	return s;
}

static void db_clear(struct kv_store *s, struct kv_db *d)
{
	for (int i = 0; i < 2; i++) {
		struct kv_table *t = &d->t[i];

		for (size_t j = 0; j < t->size; j++) {
			struct kv_entry *e = t->b[j];

			while (e != NULL) {
				struct kv_entry *next = e->next;

				entry_free(s, e);
				e = next;
			}
		}
		table_release(s, t);
	}
	for (size_t i = 0; i < d->vol_blocks; i++)
		free(d->vol[i]);
	s->memory -=
		d->vol_blocks * VOL_BLOCK * sizeof(**d->vol) + d->vol_dir_cap * sizeof(*d->vol);
	free(d->vol);
	memset(d, 0, sizeof(*d));
}

void kv_store_free(struct kv_store *s)
{
	if (s == NULL)
		return;
	kv_store_flush(s);
	free(s);
}

struct kv_entry *kv_lookup(struct kv_store *s, int db, const char *key, size_t klen,
			   uint64_t now_ms, unsigned flags)
{
	struct kv_db *d = &s->db[db];
	struct slot at;
	struct kv_entry *e;

	kv__rehash_step(s, d, REHASH_STEP);
	e = table_find(d, key_hash(s, key, klen), key, klen, &at);
	if (e != NULL && kv__expired(e, now_ms)) {
		kv__dropping(s, d, e, KV_DROP_EXPIRED);
		entry_delete(s, d, &at, e);
		s->stats.expired_keys++;
		kv__shrink_if_sparse(s, d);
		e = NULL;
	}
	if (e != NULL && !(flags & KV_LOOKUP_NOTOUCH))
		kv__touch(e, kv__lru_clock(now_ms));
	if (flags & KV_LOOKUP_COUNT) {
		if (e != NULL)
			s->stats.keyspace_hits++;
		else
			s->stats.keyspace_misses++;
	}
	return e;
}

/* Copies val over e's value when it fits without wasting much room. */
static bool value_overwrite(struct kv_entry *e, const void *val, size_t vlen)
{
	if (vlen > e->vcap || (e->vcap > 64 && vlen < e->vcap / 2))
		return false;
	if (vlen)
		memmove(e->val, val, vlen);
	e->vlen = vlen;
	return true;
}

struct kv_entry *kv_set(struct kv_store *s, int db, const char *key, size_t klen, const void *val,
			size_t vlen, int64_t expire_ms)
{
	struct kv_db *d = &s->db[db];
	uint64_t hash = key_hash(s, key, klen);
	struct slot at;
	struct kv_entry *e, *old;
	bool volatile_key = expire_ms != KV_NO_EXPIRE && expire_ms != KV_KEEP_EXPIRE;

	kv__rehash_step(s, d, REHASH_STEP);
	old = table_find(d, hash, key, klen, &at);
	/* Claim the volatile slot first: failing later would leave a half-set
	 * key. */
	if (volatile_key && (old == NULL || old->vol_idx == VOL_NONE) && !vol_reserve(s, d))
		return NULL;
	if (old != NULL) {
		if (value_overwrite(old, val, vlen)) {
			e = old;
			kv__touch(e, s->lru_now);
		} else {
			e = entry_new(s, hash, key, klen, val, vlen);
			if (e == NULL)
				return NULL;
			/* Take old's place in its chain and in the volatile array. */
			e->next = old->next;
			*at.link = e;
			e->expire = old->expire;
			e->vol_idx = old->vol_idx;
			if (e->vol_idx != VOL_NONE)
				*kv__vol_slot(d, e->vol_idx) = e;
			entry_free(s, old);
		}
	} else {
		struct kv_table *t;
		size_t h;

		if (!table_grow_if_needed(s, d))
			return NULL;
		e = entry_new(s, hash, key, klen, val, vlen);
		if (e == NULL)
			return NULL;
		t = d->rehashing ? &d->t[1] : &d->t[0];
		h = hash & (t->size - 1);
		e->next = t->b[h];
		t->b[h] = e;
		t->used++;
	}
	if (expire_ms != KV_KEEP_EXPIRE)
		kv_entry_set_expire(s, db, e, expire_ms);
	return e;
}

bool kv_delete(struct kv_store *s, int db, const char *key, size_t klen, uint64_t now_ms)
{
	struct kv_db *d = &s->db[db];
	struct slot at;
	struct kv_entry *e;
	bool live;

	kv__rehash_step(s, d, REHASH_STEP);
	e = table_find(d, key_hash(s, key, klen), key, klen, &at);
	if (e == NULL)
		return false;
	live = !kv__expired(e, now_ms);
	if (!live) {
		kv__dropping(s, d, e, KV_DROP_EXPIRED);
		s->stats.expired_keys++;
	}
	entry_delete(s, d, &at, e);
	kv__shrink_if_sparse(s, d);
	return live;
}

const char *kv_entry_key(const struct kv_entry *e, size_t *len)
{
	*len = e->klen;
	return e->key;
}

char *kv_entry_value(struct kv_entry *e, size_t *len)
{
	*len = e->vlen;
	return e->val;
}

char *kv_entry_resize(struct kv_store *s, struct kv_entry *e, size_t len)
{
	if (len > e->vcap) {
		/* Grow with room to spare, as sds does, so repeated APPENDs
		 * stay amortised O(1). */
		size_t cap = len < 1024 * 1024 ? len * 2 : len + 1024 * 1024;
		char *v;

		if (cap < len)
			cap = len;
		if (!e->val_heap) {
			v = malloc(cap);
			if (v == NULL)
				return NULL;
			memcpy(v, e->val, e->vlen);
			/* The inline room stays with the entry, unused. */
			s->memory += cap;
		} else {
			v = realloc(e->val, cap);
			if (v == NULL)
				return NULL;
			s->memory += cap - e->vcap;
		}
		e->val = v;
		e->vcap = cap;
		e->val_heap = 1;
	}
	if (len > e->vlen)
		memset(e->val + e->vlen, 0, len - e->vlen);
	e->vlen = len;
	return e->val;
}

int64_t kv_entry_expire(const struct kv_entry *e)
{
	return e->expire;
}

void kv_entry_set_expire(struct kv_store *s, int db, struct kv_entry *e, int64_t expire_ms)
{
	struct kv_db *d = &s->db[db];

	e->expire = expire_ms;
	if (expire_ms == KV_NO_EXPIRE)
		vol_remove(s, d, e);
	else
		vol_add(s, d, e);
}

uint64_t kv_db_size(const struct kv_store *s, int db)
{
	return db_used(&s->db[db]);
}

void kv_db_flush(struct kv_store *s, int db)
{
	db_clear(s, &s->db[db]);
}

void kv_store_flush(struct kv_store *s)
{
	for (int i = 0; i < KV_DBS; i++)
		db_clear(s, &s->db[i]);
}

void kv_db_swap(struct kv_store *s, int a, int b)
{
	struct kv_db t = s->db[a];

	s->db[a] = s->db[b];
	s->db[b] = t;
	kv__pool_swap_db(s, a, b);
}

/* --- scan ------------------------------------------------------------------ */

static uint64_t rev64(uint64_t v)
{
	v = ((v >> 1) & 0x5555555555555555ull) | ((v & 0x5555555555555555ull) << 1);
	v = ((v >> 2) & 0x3333333333333333ull) | ((v & 0x3333333333333333ull) << 2);
	v = ((v >> 4) & 0x0f0f0f0f0f0f0f0full) | ((v & 0x0f0f0f0f0f0f0f0full) << 4);
	return __builtin_bswap64(v);
}

/* Adds one to the cursor's bits under mask, counting from the high bit
 * down: the order that keeps a cursor valid when the table doubles or
 * halves between calls. */
static uint64_t cursor_next(uint64_t v, uint64_t mask)
{
	v |= ~mask;
	return rev64(rev64(v) + 1);
}

static size_t scan_bucket(struct kv_entry *e, uint64_t now_ms,
			  void (*fn)(void *arg, const struct kv_entry *e), void *arg)
{
	size_t n = 0;

	for (; e != NULL; e = e->next, n++) {
		if (!kv__expired(e, now_ms))
			fn(arg, e);
	}
	return n;
}

/*
 * One step of Redis's reverse-binary scan: the bucket under the cursor in
 * the small table and, while rehashing, every bucket of the large table
 * that the small one's bucket splits into. Returns the next cursor.
 */
static uint64_t scan_step(struct kv_db *d, uint64_t v, uint64_t now_ms, size_t *seen,
			  void (*fn)(void *arg, const struct kv_entry *e), void *arg)
{
	const struct kv_table *small = &d->t[0], *large = &d->t[1];
	uint64_t m0, m1;

	if (!d->rehashing) {
		m0 = small->size - 1;
		*seen += scan_bucket(small->b[v & m0], now_ms, fn, arg);
		return cursor_next(v, m0);
	}
	if (small->size > large->size) {
		small = &d->t[1];
		large = &d->t[0];
	}
	m0 = small->size - 1;
	m1 = large->size - 1;
	*seen += scan_bucket(small->b[v & m0], now_ms, fn, arg);
	do {
		*seen += scan_bucket(large->b[v & m1], now_ms, fn, arg);
		v = cursor_next(v, m1);
	} while (v & (m0 ^ m1));
	return v;
}

uint64_t kv_db_scan(struct kv_store *s, int db, uint64_t cursor, size_t count, uint64_t now_ms,
		    void (*fn)(void *arg, const struct kv_entry *e), void *arg)
{
	struct kv_db *d = &s->db[db];
	size_t seen = 0;
	/* As Redis: at most ten buckets per key asked for, so a sparse table
	 * cannot make one call long. */
	size_t steps;

	if (db_used(d) == 0)
		return 0;
	if (count == 0)
		count = 1;
	steps = count > SIZE_MAX / 10 ? SIZE_MAX : count * 10;
	do {
		cursor = scan_step(d, cursor, now_ms, &seen, fn, arg);
	} while (cursor != 0 && --steps > 0 && seen < count);
	return cursor;
}

/* --- random keys -------------------------------------------------------------- */

/* A random entry of a non-empty db: a random non-empty bucket, then a
 * random entry of its chain, as Redis's dictGetRandomKey. */
struct kv_entry *kv__random_entry(struct kv_store *s, struct kv_db *d)
{
	struct kv_entry *e;
	size_t len, i;

	do {
		if (d->rehashing) {
			/* t[0] below rehash_idx is empty: pick among the rest
			 * of t[0] and all of t[1]. */
			size_t span = d->t[0].size - d->rehash_idx + d->t[1].size;
			size_t h = d->rehash_idx + kv__random(s) % span;

			e = h < d->t[0].size ? d->t[0].b[h] : d->t[1].b[h - d->t[0].size];
		} else {
			e = d->t[0].b[kv__random(s) & (d->t[0].size - 1)];
		}
	} while (e == NULL);
	len = 0;
	for (struct kv_entry *c = e; c != NULL; c = c->next)
		len++;
	for (i = kv__random(s) % len; i > 0; i--)
		e = e->next;
	return e;
}

struct kv_entry *kv_db_random(struct kv_store *s, int db, uint64_t now_ms)
{
	struct kv_db *d = &s->db[db];

	/* Each expired key met is deleted, so this ends: with a live key or
	 * an empty db. */
	while (db_used(d) > 0) {
		struct kv_entry *e;

		kv__rehash_step(s, d, REHASH_STEP);
		e = kv__random_entry(s, d);
		if (!kv__expired(e, now_ms))
			return e;
		kv__dropping(s, d, e, KV_DROP_EXPIRED);
		kv__entry_delete(s, d, e);
		s->stats.expired_keys++;
	}
	kv__shrink_if_sparse(s, d);
	return NULL;
}

/* --- figures ------------------------------------------------------------------ */

void kv_db_info(const struct kv_store *s, int db, struct kv_db_info *out)
{
	const struct kv_db *d = &s->db[db];

	out->keys = db_used(d);
	out->expires = d->vol_len;
	out->avg_ttl_ms = d->avg_ttl;
}

void kv_store_stats(const struct kv_store *s, struct kv_store_stats *out)
{
	*out = s->stats;
}

void kv_store_reset_stats(struct kv_store *s)
{
	memset(&s->stats, 0, sizeof(s->stats));
}

void kv_store_on_drop(struct kv_store *s, kv_drop_fn *fn, void *arg)
{
	s->on_drop = fn;
	s->on_drop_arg = arg;
}

void kv_store_drop(struct kv_store *s, int db, struct kv_entry *e, enum kv_drop why)
{
	struct kv_db *d = &s->db[db];

	if (why == KV_DROP_EVICTED)
		s->stats.evicted_keys++;
	else
		s->stats.expired_keys++;
	kv__dropping(s, d, e, why);
	kv__entry_delete(s, d, e);
	kv__shrink_if_sparse(s, d);
}

uint64_t kv_store_memory(const struct kv_store *s)
{
	return s->memory;
}

void kv_store_set_limit(struct kv_store *s, uint64_t bytes)
{
	s->limit = bytes;
}

/* --- the LRU clock ------------------------------------------------------------ */

void kv_store_set_time(struct kv_store *s, uint64_t now_ms)
{
	s->lru_now = kv__lru_clock(now_ms);
}

/* As Redis's estimateObjectIdleTime: a clock that wrapped since the key's
 * stamp reads as the distance around the wrap (arithmetic modulo 2^30). */
uint64_t kv_entry_idle_ms(const struct kv_entry *e, uint64_t now_ms)
{
	uint32_t ticks = (kv__lru_clock(now_ms) - (uint32_t)e->lru) & LRU_MAX;

	return (uint64_t)ticks * LRU_TICK_MS;
}
