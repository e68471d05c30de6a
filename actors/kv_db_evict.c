/*
 * kv_db_evict.c - choosing the key a shard evicts next (kv_store_evict_candidate),
 * as Redis's performEvictions does: random keys of the store, or the best of
 * random samples merged into a pool of candidates kept between evictions.
 *
 * Invariants: the pool holds at most EVICT_POOL_SIZE distinct live entries,
 * ascending by score, each with its `pooled` bit set, all scored for the
 * policy in pool_mode; an entry is taken out (entry_free calls
 * kv__pool_forget) before it is freed, so the pool never points at freed
 * memory. A score is a key's rank when it was sampled; it is checked again
 * before the key goes.
 */
#include "kv_db_internal.h"

#include <string.h>

/* Higher goes first: the idle time, or how soon the key expires. */
static uint64_t score(const struct kv_entry *e, enum kv_evict_rank rank, uint64_t now_ms)
{
	if (rank == KV_RANK_TTL)
		return e->expire == KV_NO_EXPIRE ? 0 : UINT64_MAX - (uint64_t)e->expire;
	return kv_entry_idle_ms(e, now_ms);
}

static void pool_remove_at(struct kv_store *s, unsigned i)
{
	s->pool[i].e->pooled = 0;
	memmove(&s->pool[i], &s->pool[i + 1], (s->pool_len - i - 1) * sizeof(s->pool[0]));
	s->pool_len--;
}

static void pool_clear(struct kv_store *s)
{
	while (s->pool_len > 0)
		pool_remove_at(s, s->pool_len - 1);
}

void kv__pool_forget(struct kv_store *s, const struct kv_entry *e)
{
	for (unsigned i = 0; i < s->pool_len; i++) {
		if (s->pool[i].e == e) {
			pool_remove_at(s, i);
			return;
		}
	}
}

void kv__pool_swap_db(struct kv_store *s, int a, int b)
{
	for (unsigned i = 0; i < s->pool_len; i++) {
		if (s->pool[i].db == a)
			s->pool[i].db = b;
		else if (s->pool[i].db == b)
			s->pool[i].db = a;
	}
}

/* Puts e in the pool with score sc (again, if it was there), unless the
 * pool is full of better candidates; a full pool drops its worst. */
static void pool_insert(struct kv_store *s, struct kv_entry *e, int db, uint64_t sc)
{
	unsigned i;

	if (e->pooled)
		kv__pool_forget(s, e);
	if (s->pool_len == EVICT_POOL_SIZE) {
		if (sc <= s->pool[0].score)
			return;
		pool_remove_at(s, 0);
	}
	for (i = s->pool_len; i > 0 && s->pool[i - 1].score > sc; i--)
		s->pool[i] = s->pool[i - 1];
	s->pool[i] = (struct kv_evict_slot){ .e = e, .score = sc, .db = db };
	s->pool_len++;
	e->pooled = 1;
}

/* Deletes e, found expired by a sample, as lazy expiry would. */
static void drop_expired(struct kv_store *s, struct kv_db *d, struct kv_entry *e)
{
	kv__dropping(s, d, e, KV_DROP_EXPIRED);
	kv__entry_delete(s, d, e);
	s->stats.expired_keys++;
}

/* Keys of db i eviction may pick from. */
static size_t candidates(const struct kv_store *s, int i, bool volatile_only)
{
	return volatile_only ? s->db[i].vol_len : kv_db_size(s, i);
}

/* A random key of d (one with an expiry time when volatile_only); d must
 * have one. */
static struct kv_entry *random_key(struct kv_store *s, struct kv_db *d, bool volatile_only)
{
	if (volatile_only)
		return *kv__vol_slot(d, kv__random(s) % d->vol_len);
	return kv__random_entry(s, d);
}

/* Redis's evictionPoolPopulate, for db i: up to `samples` random keys,
 * with replacement (a key drawn twice is pooled once). */
static void pool_populate(struct kv_store *s, int i, enum kv_evict_rank rank, bool volatile_only,
			  unsigned samples, uint64_t now_ms)
{
	struct kv_db *d = &s->db[i];

	kv__rehash_step(s, d, REHASH_STEP);
	for (unsigned n = 0; n < samples && candidates(s, i, volatile_only) > 0; n++) {
		struct kv_entry *e = random_key(s, d, volatile_only);

		if (kv__expired(e, now_ms))
			drop_expired(s, d, e);
		else
			pool_insert(s, e, i, score(e, rank, now_ms));
	}
	kv__shrink_if_sparse(s, d);
}

/* The pool's best, rescored: a key used (or given another expiry time)
 * since it was sampled goes back in at its score now. */
static struct kv_entry *pool_take(struct kv_store *s, enum kv_evict_rank rank, bool volatile_only,
				  uint64_t now_ms, int *db)
{
	while (s->pool_len > 0) {
		struct kv_evict_slot best = s->pool[s->pool_len - 1];
		uint64_t now_score;

		pool_remove_at(s, s->pool_len - 1);
		if (volatile_only && best.e->expire == KV_NO_EXPIRE)
			continue;
		if (kv__expired(best.e, now_ms)) {
			drop_expired(s, &s->db[best.db], best.e);
			continue;
		}
		/* Rescored entries keep their score until this call ends, so
		 * each is put back at most once. */
		now_score = score(best.e, rank, now_ms);
		if (now_score != best.score) {
			pool_insert(s, best.e, best.db, now_score);
			continue;
		}
		*db = best.db;
		return best.e;
	}
	return NULL;
}

/* A key drawn uniformly from every db's candidates; expired ones met are
 * deleted, so this ends. */
static struct kv_entry *random_pick(struct kv_store *s, bool volatile_only, uint64_t now_ms,
				    int *db)
{
	for (;;) {
		uint64_t total = 0, r;
		struct kv_entry *e;
		int i;

		for (i = 0; i < KV_DBS; i++)
			total += candidates(s, i, volatile_only);
		if (total == 0)
			return NULL;
		r = kv__random(s) % total;
		for (i = 0; r >= candidates(s, i, volatile_only); i++)
			r -= candidates(s, i, volatile_only);
		kv__rehash_step(s, &s->db[i], REHASH_STEP);
		e = random_key(s, &s->db[i], volatile_only);
		if (!kv__expired(e, now_ms)) {
			*db = i;
			return e;
		}
		drop_expired(s, &s->db[i], e);
	}
}

struct kv_entry *kv_store_evict_candidate(struct kv_store *s, enum kv_evict_rank rank,
					  bool volatile_only, unsigned samples, uint64_t now_ms,
					  int *db)
{
	unsigned mode = (unsigned)rank * 2 + volatile_only;

	if (rank == KV_RANK_RANDOM)
		return random_pick(s, volatile_only, now_ms, db);
	/* Scores of another policy mean nothing to this one. */
	if (mode != s->pool_mode) {
		pool_clear(s);
		s->pool_mode = mode;
	}
	for (int i = 0; i < KV_DBS; i++) {
		if (candidates(s, i, volatile_only) > 0)
			pool_populate(s, i, rank, volatile_only, samples, now_ms);
	}
	return pool_take(s, rank, volatile_only, now_ms, db);
}
