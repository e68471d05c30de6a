/*
 * test_kv_db.c - one shard's keyspace (actors/kv_db.c, actors/kv_glob.c):
 * set, lookup, overwrite and delete of binary keys; growth to 100k keys and
 * back through incremental rehash; SCAN completeness across a resize started
 * mid-scan; lazy and active expiry; random keys; SWAPDB and FLUSH; memory
 * accounting; the LRU clock; eviction candidates (kv_db_evict.c) and the
 * memory limit on table growth; and Redis's glob patterns, including one that would make a
 * backtracking matcher run for ages.
 */
#include "../helpers.h"

#include "kv_db.h"

#define NOW 1700000000000ull

static struct kv_store *store;

static int setup(void **state)
{
	(void)state;
	store = kv_store_new();
	return store == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	kv_store_free(store);
	store = NULL;
	return 0;
}

static struct kv_entry *set_str(int db, const char *k, const char *v, int64_t expire)
{
	return kv_set(store, db, k, strlen(k), v, strlen(v), expire);
}

static struct kv_entry *get_str(int db, const char *k, uint64_t now)
{
	return kv_lookup(store, db, k, strlen(k), now, false);
}

static void assert_value(const struct kv_entry *ce, const char *want)
{
	size_t len;
	const char *v;

	assert_non_null(ce);
	v = kv_entry_value((struct kv_entry *)ce, &len);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(v, want, len);
}

static int key_of(int i, char *buf)
{
	return sprintf(buf, "key:%d", i);
}

static void set_lookup_overwrite_delete(void **state)
{
	struct kv_entry *e;

	(void)state;
	assert_null(get_str(0, "a", NOW));
	e = set_str(0, "a", "1", KV_NO_EXPIRE);
	assert_value(e, "1");
	assert_ptr_equal(get_str(0, "a", NOW), e);
	assert_null(get_str(1, "a", NOW));
	/* A value of the same size is rewritten in place. */
	assert_ptr_equal(set_str(0, "a", "2", KV_NO_EXPIRE), e);
	assert_value(get_str(0, "a", NOW), "2");
	assert_value(set_str(0, "a", "a much longer value than before", KV_NO_EXPIRE),
		     "a much longer value than before");
	assert_value(get_str(0, "a", NOW), "a much longer value than before");
	assert_int_equal(kv_db_size(store, 0), 1);
	assert_true(kv_delete(store, 0, "a", 1, NOW));
	assert_false(kv_delete(store, 0, "a", 1, NOW));
	assert_null(get_str(0, "a", NOW));
	assert_int_equal(kv_db_size(store, 0), 0);
}

static void keys_and_values_are_binary_safe(void **state)
{
	static const char k1[] = { 'k', 0, '1' }, k2[] = { 'k', 0, '2' };
	static const char v[] = { 0, 1, 0, 2 };
	struct kv_entry *e;
	size_t len;
	const char *p;

	(void)state;
	assert_non_null(kv_set(store, 0, k1, 3, v, 4, KV_NO_EXPIRE));
	assert_non_null(kv_set(store, 0, k2, 3, "", 0, KV_NO_EXPIRE));
	e = kv_lookup(store, 0, k1, 3, NOW, false);
	assert_non_null(e);
	p = kv_entry_key(e, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(p, k1, 3);
	p = kv_entry_value(e, &len);
	assert_int_equal(len, 4);
	assert_memory_equal(p, v, 4);
	assert_value(kv_lookup(store, 0, k2, 3, NOW, false), "");
	assert_null(kv_lookup(store, 0, "k", 1, NOW, false));
}

static void lookups_count_hits_and_misses_only_when_asked(void **state)
{
	struct kv_store_stats st;

	(void)state;
	set_str(0, "a", "1", KV_NO_EXPIRE);
	kv_lookup(store, 0, "a", 1, NOW, true);
	kv_lookup(store, 0, "a", 1, NOW, true);
	kv_lookup(store, 0, "b", 1, NOW, true);
	kv_lookup(store, 0, "a", 1, NOW, false);
	kv_lookup(store, 0, "b", 1, NOW, false);
	kv_store_stats(store, &st);
	assert_int_equal(st.keyspace_hits, 2);
	assert_int_equal(st.keyspace_misses, 1);
	kv_store_reset_stats(store);
	kv_store_stats(store, &st);
	assert_int_equal(st.keyspace_hits + st.keyspace_misses, 0);
}

static void growth_and_shrink_keep_every_key_reachable(void **state)
{
	enum {
		N = 100000
	};
	char k[32], v[32];
	struct kv_entry *first;
	uint64_t mem_full;

	(void)state;
	first = set_str(3, "first", "stays put", KV_NO_EXPIRE);
	for (int i = 0; i < N; i++) {
		int n = key_of(i, k);

		sprintf(v, "%d", i);
		assert_non_null(kv_set(store, 3, k, (size_t)n, v, strlen(v), KV_NO_EXPIRE));
		/* Every so often, in the middle of some rehash, check an
		 * older key from either table. */
		if (i % 997 == 0) {
			int old = i / 2;
			int m = key_of(old, k);
			struct kv_entry *e = kv_lookup(store, 3, k, (size_t)m, NOW, false);

			sprintf(v, "%d", old);
			assert_value(e, v);
		}
	}
	assert_int_equal(kv_db_size(store, 3), N + 1);
	/* Growing the table never moved an entry. */
	assert_ptr_equal(get_str(3, "first", NOW), first);
	for (int i = 0; i < N; i++) {
		int n = key_of(i, k);

		sprintf(v, "%d", i);
		assert_value(kv_lookup(store, 3, k, (size_t)n, NOW, false), v);
	}
	mem_full = kv_store_memory(store);
	/* Down to a few keys: the table shrinks through the same rehash. */
	for (int i = 0; i < N - 10; i++) {
		int n = key_of(i, k);

		assert_true(kv_delete(store, 3, k, (size_t)n, NOW));
	}
	for (int i = N - 10; i < N; i++) {
		int n = key_of(i, k);

		sprintf(v, "%d", i);
		assert_value(kv_lookup(store, 3, k, (size_t)n, NOW, false), v);
	}
	assert_ptr_equal(get_str(3, "first", NOW), first);
	assert_int_equal(kv_db_size(store, 3), 11);
	/* The periodic run finishes a resize that operations left half
	 * done; with the table shrunk, memory is a tiny part of what it was. */
	for (int i = 0; i < 100; i++)
		kv_store_active_expire(store, NOW, 1000);
	assert_true(kv_store_memory(store) < mem_full / 100);
}

struct seen {
	uint8_t *hit;
	size_t n;
	size_t visits;
};

static void note_key(void *arg, const struct kv_entry *e)
{
	struct seen *sn = arg;
	size_t len;
	const char *k = kv_entry_key(e, &len);
	char buf[32];
	int i;

	sn->visits++;
	if (len < 5 || len >= sizeof(buf) || memcmp(k, "key:", 4) != 0)
		return;
	memcpy(buf, k + 4, len - 4);
	buf[len - 4] = '\0';
	i = atoi(buf);
	if (i >= 0 && (size_t)i < sn->n)
		sn->hit[i] = 1;
}

static void scan_visits_every_key_across_growth_mid_scan(void **state)
{
	enum {
		N = 5000
	};
	char k[32];
	struct seen sn = { calloc(N, 1), N, 0 };
	uint64_t cursor = 0;
	int calls = 0;

	(void)state;
	for (int i = 0; i < N; i++)
		kv_set(store, 0, k, (size_t)key_of(i, k), "v", 1, KV_NO_EXPIRE);
	do {
		cursor = kv_db_scan(store, 0, cursor, 10, NOW, note_key, &sn);
		/* After a few calls, grow the table (several doublings, one
		 * of them left half done) while the scan is under way. */
		if (++calls == 20) {
			for (int i = N; i < 8 * N + 77; i++)
				kv_set(store, 0, k, (size_t)key_of(i, k), "v", 1, KV_NO_EXPIRE);
		}
	} while (cursor != 0);
	for (int i = 0; i < N; i++) {
		if (!sn.hit[i])
			fail_msg("key:%d never visited", i);
	}
	free(sn.hit);
}

static void scan_visits_every_key_across_shrink_mid_scan(void **state)
{
	enum {
		N = 20000,
		KEEP = 300
	};
	char k[32];
	struct seen sn = { calloc(KEEP, 1), KEEP, 0 };
	uint64_t cursor = 0;
	int calls = 0;

	(void)state;
	for (int i = 0; i < N; i++)
		kv_set(store, 0, k, (size_t)key_of(i, k), "v", 1, KV_NO_EXPIRE);
	do {
		cursor = kv_db_scan(store, 0, cursor, 5, NOW, note_key, &sn);
		if (++calls == 50) {
			/* Keep key:0..KEEP-1; the table shrinks under the scan. */
			for (int i = KEEP; i < N; i++)
				kv_delete(store, 0, k, (size_t)key_of(i, k), NOW);
		}
	} while (cursor != 0);
	for (int i = 0; i < KEEP; i++) {
		if (!sn.hit[i])
			fail_msg("key:%d never visited", i);
	}
	free(sn.hit);
}

static void count_visit(void *arg, const struct kv_entry *e)
{
	(void)e;
	(*(size_t *)arg)++;
}

static void deletes_during_rehash_keep_counts_right(void **state)
{
	enum {
		N = 50000
	};
	char k[32];
	size_t visited = 0, live = 0;
	uint64_t cursor = 0;

	(void)state;
	/* Keys added while a resize is under way land in the new table
	 * whatever their old bucket; deleting them (and older keys) must
	 * charge the right table, or the rehash would end early and lose
	 * keys. */
	for (int i = 0; i < N; i++) {
		kv_set(store, 0, k, (size_t)key_of(i, k), "v", 1, KV_NO_EXPIRE);
		if (i % 3 == 2) {
			assert_true(kv_delete(store, 0, k, (size_t)key_of(i - 1, k), NOW));
			(void)kv_delete(store, 0, k, (size_t)key_of(i / 2, k), NOW);
		}
	}
	for (int i = 0; i < N; i++) {
		if (kv_lookup(store, 0, k, (size_t)key_of(i, k), NOW, false) != NULL)
			live++;
	}
	assert_int_equal(kv_db_size(store, 0), live);
	do {
		cursor = kv_db_scan(store, 0, cursor, 100, NOW, count_visit, &visited);
	} while (cursor != 0);
	/* No resize ran during this scan, so each key is visited once. */
	assert_int_equal(visited, live);
	for (int i = 0; i < N; i++)
		kv_delete(store, 0, k, (size_t)key_of(i, k), NOW);
	assert_int_equal(kv_db_size(store, 0), 0);
}

static void scan_skips_expired_keys_and_ends_on_empty_db(void **state)
{
	struct seen sn = { calloc(4, 1), 4, 0 };
	uint64_t cursor = 0;

	(void)state;
	assert_int_equal(kv_db_scan(store, 5, 0, 10, NOW, note_key, &sn), 0);
	assert_int_equal(sn.visits, 0);
	set_str(5, "key:0", "v", KV_NO_EXPIRE);
	set_str(5, "key:1", "v", (int64_t)NOW - 1);
	set_str(5, "key:2", "v", (int64_t)NOW + 1000);
	do {
		cursor = kv_db_scan(store, 5, cursor, 100, NOW, note_key, &sn);
	} while (cursor != 0);
	assert_int_equal(sn.hit[0] + sn.hit[1] + sn.hit[2], 2);
	assert_false(sn.hit[1]);
	/* Scanning deletes nothing. */
	assert_int_equal(kv_db_size(store, 5), 3);
	free(sn.hit);
}

static void lazy_expiry_deletes_on_lookup(void **state)
{
	struct kv_store_stats st;
	struct kv_db_info info;

	(void)state;
	set_str(0, "t", "v", (int64_t)NOW + 100);
	assert_int_equal(kv_entry_expire(get_str(0, "t", NOW)), (int64_t)NOW + 100);
	assert_non_null(get_str(0, "t", NOW + 99));
	kv_db_info(store, 0, &info);
	assert_int_equal(info.expires, 1);
	assert_null(get_str(0, "t", NOW + 100));
	assert_int_equal(kv_db_size(store, 0), 0);
	kv_db_info(store, 0, &info);
	assert_int_equal(info.expires, 0);
	/* Deleting a key whose time has passed reports it as missing. */
	set_str(0, "u", "v", (int64_t)NOW);
	assert_false(kv_delete(store, 0, "u", 1, NOW));
	kv_store_stats(store, &st);
	assert_int_equal(st.expired_keys, 2);
}

static void set_keeps_or_replaces_expiry(void **state)
{
	struct kv_entry *e;
	struct kv_db_info info;

	(void)state;
	set_str(0, "k", "v", (int64_t)NOW + 500);
	e = set_str(0, "k", "w", KV_KEEP_EXPIRE);
	assert_int_equal(kv_entry_expire(e), (int64_t)NOW + 500);
	/* A value that needs a new entry keeps its expiry slot too. */
	e = set_str(0, "k", "a value far too long to fit the old room", KV_KEEP_EXPIRE);
	assert_int_equal(kv_entry_expire(e), (int64_t)NOW + 500);
	kv_db_info(store, 0, &info);
	assert_int_equal(info.expires, 1);
	e = set_str(0, "k", "x", KV_NO_EXPIRE);
	assert_int_equal(kv_entry_expire(e), KV_NO_EXPIRE);
	kv_db_info(store, 0, &info);
	assert_int_equal(info.expires, 0);
	e = set_str(0, "new", "x", KV_KEEP_EXPIRE);
	assert_int_equal(kv_entry_expire(e), KV_NO_EXPIRE);
	kv_entry_set_expire(store, 0, e, (int64_t)NOW + 7);
	kv_db_info(store, 0, &info);
	assert_int_equal(info.expires, 1);
	kv_entry_set_expire(store, 0, e, KV_NO_EXPIRE);
	kv_db_info(store, 0, &info);
	assert_int_equal(info.expires, 0);
}

static void active_expiry_removes_expired_volatile_keys(void **state)
{
	char k[32];
	struct kv_db_info info;
	struct kv_store_stats st;
	uint64_t deleted;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		kv_set(store, 2, k, (size_t)key_of(i, k), "v", 1, (int64_t)NOW + 10);
		kv_set(store, 2, k, (size_t)key_of(i + 1000, k), "v", 1, KV_NO_EXPIRE);
		kv_set(store, 7, k, (size_t)key_of(i, k), "v", 1, (int64_t)NOW + 60000);
	}
	deleted = kv_store_active_expire(store, NOW + 10, 1000000);
	/* Every sample of db 2 is all expired, so the loop ran until none
	 * was left; db 7's keys are alive and were only sampled. */
	assert_int_equal(deleted, 1000);
	assert_int_equal(kv_db_size(store, 2), 1000);
	kv_db_info(store, 2, &info);
	assert_int_equal(info.expires, 0);
	kv_db_info(store, 7, &info);
	assert_int_equal(info.keys, 1000);
	assert_int_equal(info.expires, 1000);
	assert_true(info.avg_ttl_ms > 59000 && info.avg_ttl_ms <= 60000);
	kv_store_stats(store, &st);
	assert_int_equal(st.expired_keys, 1000);
	assert_int_equal(st.expire_cycles, 1);
}

static void volatile_index_spans_blocks_and_shrinks(void **state)
{
	enum {
		N = 5000
	};
	char k[32];
	struct kv_db_info info;
	uint64_t mem_all, deleted = 0;

	(void)state;
	for (int i = 0; i < N; i++)
		kv_set(store, 4, k, (size_t)key_of(i, k), "v", 1, (int64_t)NOW + 1 + i % 7);
	mem_all = kv_store_memory(store);
	/* Clearing expiries, and replacing entries, keeps the index exact. */
	for (int i = 0; i < N - 1000; i++) {
		key_of(i, k);
		kv_entry_set_expire(store, 4, get_str(4, k, NOW), KV_NO_EXPIRE);
	}
	for (int i = N - 1000; i < N; i++)
		kv_set(store, 4, k, (size_t)key_of(i, k), "a value long enough to need a new entry",
		       39, KV_KEEP_EXPIRE);
	kv_db_info(store, 4, &info);
	assert_int_equal(info.expires, 1000);
	/* The index gave back the blocks it no longer needs. */
	assert_true(kv_store_memory(store) < mem_all + 1000 * 39 - 2 * 1024 * sizeof(void *));
	while (kv_db_size(store, 4) > N - 1000)
		deleted += kv_store_active_expire(store, NOW + 10, 1000000);
	assert_int_equal(deleted, 1000);
	kv_db_info(store, 4, &info);
	assert_int_equal(info.expires, 0);
	for (int i = 0; i < N - 1000; i++)
		assert_non_null(kv_lookup(store, 4, k, (size_t)key_of(i, k), NOW + 10, false));
}

static void active_expiry_stops_at_its_budget(void **state)
{
	char k[32];
	uint64_t deleted;

	(void)state;
	for (int i = 0; i < 20000; i++)
		kv_set(store, 0, k, (size_t)key_of(i, k), "v", 1, (int64_t)NOW);
	/* A zero budget allows one round of sampling. */
	deleted = kv_store_active_expire(store, NOW, 0);
	assert_true(deleted > 0 && deleted <= 20);
	assert_int_equal(kv_db_size(store, 0), 20000 - deleted);
}

static void random_returns_live_keys_and_collects_expired(void **state)
{
	char k[32];
	size_t len;
	int counts[4] = { 0 };

	(void)state;
	assert_null(kv_db_random(store, 0, NOW));
	for (int i = 0; i < 4; i++)
		kv_set(store, 0, k, (size_t)key_of(i, k), "v", 1, KV_NO_EXPIRE);
	for (int i = 0; i < 400; i++) {
		struct kv_entry *e = kv_db_random(store, 0, NOW);
		const char *kp = kv_entry_key(e, &len);

		assert_int_equal(len, 5);
		counts[kp[4] - '0']++;
	}
	for (int i = 0; i < 4; i++)
		assert_true(counts[i] > 30);
	/* Only expired keys: each is deleted as met, and then none is left. */
	for (int i = 0; i < 50; i++)
		kv_set(store, 1, k, (size_t)key_of(i, k), "v", 1, (int64_t)NOW - 1);
	assert_null(kv_db_random(store, 1, NOW));
	assert_int_equal(kv_db_size(store, 1), 0);
}

static void swap_and_flush(void **state)
{
	(void)state;
	set_str(0, "a", "0", KV_NO_EXPIRE);
	set_str(1, "b", "1", (int64_t)NOW + 1000);
	kv_db_swap(store, 0, 1);
	assert_null(get_str(0, "a", NOW));
	assert_value(get_str(0, "b", NOW), "1");
	assert_value(get_str(1, "a", NOW), "0");
	kv_db_flush(store, 0);
	assert_int_equal(kv_db_size(store, 0), 0);
	assert_int_equal(kv_db_size(store, 1), 1);
	set_str(0, "c", "x", KV_NO_EXPIRE);
	kv_store_flush(store);
	assert_int_equal(kv_db_size(store, 0) + kv_db_size(store, 1), 0);
	assert_null(get_str(1, "a", NOW));
}

static void memory_accounting_returns_to_zero_after_flush(void **state)
{
	char k[32];
	uint64_t m1, m2;
	struct kv_entry *e;

	(void)state;
	assert_int_equal(kv_store_memory(store), 0);
	set_str(0, "k", "v", KV_NO_EXPIRE);
	m1 = kv_store_memory(store);
	assert_true(m1 > 2);
	for (int i = 0; i < 10000; i++)
		kv_set(store, i % KV_DBS, k, (size_t)key_of(i, k), "value", 5,
		       i % 3 ? KV_NO_EXPIRE : (int64_t)NOW + i);
	m2 = kv_store_memory(store);
	assert_true(m2 > 10000 * 10);
	/* A value grown out of its inline room, and big replacements. */
	e = get_str(0, "k", NOW);
	assert_non_null(kv_entry_resize(store, e, 100000));
	set_str(1, "key:1", "a longer value that needs a fresh entry", KV_NO_EXPIRE);
	assert_true(kv_store_memory(store) > m2 + 100000);
	kv_db_flush(store, 0);
	kv_store_flush(store);
	assert_int_equal(kv_store_memory(store), 0);
}

static void resize_keeps_entry_and_zero_fills(void **state)
{
	struct kv_entry *e;
	char *v;
	size_t len;

	(void)state;
	e = set_str(0, "k", "abc", KV_NO_EXPIRE);
	v = kv_entry_resize(store, e, 6);
	assert_non_null(v);
	assert_memory_equal(v, "abc\0\0\0", 6);
	assert_ptr_equal(get_str(0, "k", NOW), e);
	memcpy(v + 3, "def", 3);
	v = kv_entry_resize(store, e, 2);
	assert_memory_equal(v, "ab", 2);
	v = kv_entry_resize(store, e, 4);
	assert_memory_equal(v, "ab\0\0", 4);
	kv_entry_value(e, &len);
	assert_int_equal(len, 4);
	/* A value living in its own allocation is overwritten by kv_set. */
	set_str(0, "k", "xy", KV_NO_EXPIRE);
	assert_value(get_str(0, "k", NOW), "xy");
}

static bool gm(const char *p, const char *s, bool nocase)
{
	return kv_glob_match(p, strlen(p), s, strlen(s), nocase);
}

/* --- the LRU clock ----------------------------------------------------------- */

static void lookups_touch_keys_unless_asked_not_to(void **state)
{
	struct kv_entry *e;

	(void)state;
	kv_store_set_time(store, NOW);
	e = set_str(0, "k", "v", KV_NO_EXPIRE);
	assert_int_equal(kv_entry_idle_ms(e, NOW), 0);
	assert_int_equal(kv_entry_idle_ms(e, NOW + 5000), 5000);
	/* NOTOUCH (TTL, TYPE, OBJECT) leaves the clock; a plain lookup,
	 * counted or not, stamps now. */
	e = kv_lookup(store, 0, "k", 1, NOW + 5000, KV_LOOKUP_COUNT | KV_LOOKUP_NOTOUCH);
	assert_int_equal(kv_entry_idle_ms(e, NOW + 5000), 5000);
	e = kv_lookup(store, 0, "k", 1, NOW + 5000, false);
	assert_int_equal(kv_entry_idle_ms(e, NOW + 6000), 1000);
	e = kv_lookup(store, 0, "k", 1, NOW + 7000, KV_LOOKUP_COUNT);
	assert_int_equal(kv_entry_idle_ms(e, NOW + 7000), 0);
	/* kv_set stamps the store's time, in place or with a new entry. */
	kv_store_set_time(store, NOW + 9000);
	e = set_str(0, "k", "w", KV_NO_EXPIRE);
	assert_int_equal(kv_entry_idle_ms(e, NOW + 9000), 0);
	kv_store_set_time(store, NOW + 12000);
	e = set_str(0, "k", "a value too long for the old entry's room", KV_NO_EXPIRE);
	assert_int_equal(kv_entry_idle_ms(e, NOW + 12340), 340);
}

static void idle_time_survives_the_clock_wrapping(void **state)
{
	/* The clock is Unix ms / 10 in 30 bits: 60 ms before it wraps. */
	uint64_t before_wrap = (3ull << 30) * 10 - 60;
	struct kv_entry *e;

	(void)state;
	kv_store_set_time(store, before_wrap);
	e = set_str(0, "k", "v", KV_NO_EXPIRE);
	assert_int_equal(kv_entry_idle_ms(e, before_wrap + 100), 100);
	assert_int_equal(kv_entry_idle_ms(e, before_wrap + 3600000), 3600000);
}

/* --- the memory limit and eviction candidates -------------------------------- */

static void tables_do_not_double_past_the_limit_while_chains_are_short(void **state)
{
	char k[32];
	uint64_t before;
	int i;

	(void)state;
	/* 64 keys fill a 64-bucket table exactly. */
	for (i = 0; i < 64; i++)
		kv_set(store, 0, k, (size_t)key_of(i, k), "v", 1, KV_NO_EXPIRE);
	/* Lookups move the rehash to 64 buckets along to its end. */
	for (int n = 0; n < 64; n++)
		kv_lookup(store, 0, "x", 1, NOW, false);
	before = kv_store_memory(store);
	kv_store_set_limit(store, before + 512);
	kv_set(store, 0, k, (size_t)key_of(i++, k), "v", 1, KV_NO_EXPIRE);
	/* One entry more, no 128-bucket array (1 KiB). */
	assert_true(kv_store_memory(store) - before < 128);
	/* Past 1.618 keys per bucket it grows all the same. */
	for (; i < 110; i++)
		kv_set(store, 0, k, (size_t)key_of(i, k), "v", 1, KV_NO_EXPIRE);
	assert_true(kv_store_memory(store) > before + 1000);
	for (i = 0; i < 110; i++)
		assert_non_null(kv_lookup(store, 0, k, (size_t)key_of(i, k), NOW, false));
	kv_store_set_limit(store, 0);
}

/* Sets key:i for i in [from, to) in db with the given expiry (0: none),
 * at time now. */
static void fill(int db, int from, int to, uint64_t now, int64_t expire)
{
	char k[32];

	kv_store_set_time(store, now);
	for (int i = from; i < to; i++)
		assert_non_null(kv_set(store, db, k, (size_t)key_of(i, k), "value", 5,
				       expire ? expire + i : KV_NO_EXPIRE));
}

/* i of an entry named key:i (keys are not NUL-terminated). */
static int key_index(const struct kv_entry *e)
{
	char buf[32];
	size_t len;
	const char *k = kv_entry_key(e, &len);

	assert_true(len > 4 && len < sizeof(buf) && memcmp(k, "key:", 4) == 0);
	memcpy(buf, k + 4, len - 4);
	buf[len - 4] = '\0';
	return atoi(buf);
}

static void idle_rank_takes_the_longest_idle_keys(void **state)
{
	int old = 0, db;

	(void)state;
	/* 1000 keys written at NOW, 1000 at NOW + 60 s. */
	fill(0, 0, 1000, NOW, 0);
	fill(0, 1000, 2000, NOW + 60000, 0);
	for (int n = 0; n < 500; n++) {
		struct kv_entry *e =
			kv_store_evict_candidate(store, KV_RANK_IDLE, false, 5, NOW + 61000, &db);

		assert_non_null(e);
		assert_int_equal(db, 0);
		old += key_index(e) < 1000;
		kv_store_drop(store, db, e, KV_DROP_EVICTED);
	}
	/* With the pool, every one of them is an old key: allow a few. */
	assert_true(old >= 490);
}

static void ttl_rank_takes_the_nearest_expiry_among_volatile_keys(void **state)
{
	int near = 0, db;

	(void)state;
	fill(0, 0, 500, NOW, 0);                         /* persistent */
	fill(0, 500, 1500, NOW, (int64_t)NOW + 3600000); /* expire in 1 h + i ms */
	for (int n = 0; n < 200; n++) {
		struct kv_entry *e =
			kv_store_evict_candidate(store, KV_RANK_TTL, true, 5, NOW, &db);

		assert_non_null(e);
		assert_int_not_equal(kv_entry_expire(e), KV_NO_EXPIRE);
		near += key_index(e) < 1000;
		kv_store_drop(store, db, e, KV_DROP_EVICTED);
	}
	assert_true(near >= 190);
	/* Volatile-only candidates run out with the volatile keys. */
	for (int n = 0; n < 800; n++) {
		struct kv_entry *e =
			kv_store_evict_candidate(store, KV_RANK_IDLE, true, 5, NOW, &db);

		assert_non_null(e);
		kv_store_drop(store, db, e, KV_DROP_EVICTED);
	}
	assert_null(kv_store_evict_candidate(store, KV_RANK_TTL, true, 5, NOW, &db));
	assert_null(kv_store_evict_candidate(store, KV_RANK_RANDOM, true, 5, NOW, &db));
	assert_int_equal(kv_db_size(store, 0), 500);
}

static void random_rank_draws_from_every_db(void **state)
{
	int from[KV_DBS] = { 0 }, db;

	(void)state;
	fill(0, 0, 1000, NOW, 0);
	fill(7, 0, 1000, NOW, 0);
	for (int n = 0; n < 1000; n++) {
		struct kv_entry *e =
			kv_store_evict_candidate(store, KV_RANK_RANDOM, false, 5, NOW, &db);

		assert_non_null(e);
		from[db]++;
		kv_store_drop(store, db, e, KV_DROP_EVICTED);
	}
	/* About 500 each (sd ~16): far from either edge. */
	assert_int_equal(from[0] + from[7], 1000);
	assert_true(from[0] > 350 && from[7] > 350);
	assert_int_equal(kv_db_size(store, 0) + kv_db_size(store, 7), 1000);
}

struct drops {
	int expired;
	int evicted;
};

static void count_drop(void *arg, int db, const char *key, size_t klen, enum kv_drop why)
{
	struct drops *d = arg;

	(void)db;
	(void)key;
	(void)klen;
	if (why == KV_DROP_EXPIRED)
		d->expired++;
	else
		d->evicted++;
}

static void candidates_expire_the_expired_keys_they_meet(void **state)
{
	struct drops d = { 0 };
	struct kv_store_stats st;
	int db;

	(void)state;
	kv_store_on_drop(store, count_drop, &d);
	fill(0, 0, 100, NOW, (int64_t)NOW + 10); /* all expired by NOW + 1000 */
	/* Each call deletes the expired keys it samples and finds nothing
	 * to evict. */
	for (int n = 0; n < 100 && kv_db_size(store, 0) > 0; n++)
		assert_null(
			kv_store_evict_candidate(store, KV_RANK_IDLE, false, 5, NOW + 1000, &db));
	assert_int_equal(kv_db_size(store, 0), 0);
	assert_int_equal(d.expired, 100);
	assert_int_equal(d.evicted, 0);
	kv_store_stats(store, &st);
	assert_int_equal(st.expired_keys, 100);
	assert_int_equal(st.evicted_keys, 0);
	kv_store_on_drop(store, NULL, NULL);
}

static void drop_counts_evictions_and_tells_the_hook(void **state)
{
	struct drops d = { 0 };
	struct kv_store_stats st;
	struct kv_entry *e;

	(void)state;
	kv_store_on_drop(store, count_drop, &d);
	e = set_str(2, "k", "v", KV_NO_EXPIRE);
	kv_store_drop(store, 2, e, KV_DROP_EVICTED);
	assert_null(get_str(2, "k", NOW));
	kv_store_stats(store, &st);
	assert_int_equal(st.evicted_keys, 1);
	assert_int_equal(d.evicted, 1);
	kv_store_reset_stats(store);
	kv_store_stats(store, &st);
	assert_int_equal(st.evicted_keys, 0);
	kv_store_on_drop(store, NULL, NULL);
}

/* The pool keeps entry pointers between calls: deleting, replacing,
 * flushing and swapping keys must leave it pointing at live entries of the
 * right db (ASan checks the first, the lookups the second). */
static void the_pool_follows_deletes_flushes_and_swaps(void **state)
{
	char k[32];
	int db;

	(void)state;
	fill(0, 0, 300, NOW, 0);
	fill(1, 300, 600, NOW + 1000, 0);
	for (int round = 0; round < 6; round++) {
		struct kv_entry *e =
			kv_store_evict_candidate(store, KV_RANK_IDLE, false, 5, NOW + 2000, &db);
		size_t len;
		const char *key;

		assert_non_null(e);
		key = kv_entry_key(e, &len);
		assert_true(kv_lookup(store, db, key, len, NOW + 2000, KV_LOOKUP_NOTOUCH) == e);
		kv_store_drop(store, db, e, KV_DROP_EVICTED);
		switch (round) {
		case 0: /* delete and replace pooled keys, whichever they are */
			for (int i = 0; i < 300; i += 2)
				kv_delete(store, 0, k, (size_t)key_of(i, k), NOW);
			for (int i = 301; i < 600; i += 2)
				kv_set(store, 1, k, (size_t)key_of(i, k), "a much longer value", 19,
				       KV_NO_EXPIRE);
			break;
		case 1:
		case 3:
			kv_db_swap(store, 0, 1);
			break;
		case 2:
			kv_db_flush(store, 1);
			fill(1, 1000, 1100, NOW, 0);
			break;
		default:
			break;
		}
	}
	kv_store_flush(store);
	assert_null(kv_store_evict_candidate(store, KV_RANK_IDLE, false, 5, NOW, &db));
}

static void glob_follows_redis_stringmatchlen(void **state)
{
	static const struct {
		const char *pat, *str;
		bool nocase, want;
	} cases[] = {
		{ "*", "anything", false, true },
		{ "h?llo", "hello", false, true },
		{ "h?llo", "hllo", false, false },
		{ "h*llo", "hllo", false, true },
		{ "h*llo", "heeeello", false, true },
		{ "h[ae]llo", "hallo", false, true },
		{ "h[ae]llo", "hillo", false, false },
		{ "h[^e]llo", "hallo", false, true },
		{ "h[^e]llo", "hello", false, false },
		{ "h[a-b]llo", "hbllo", false, true },
		{ "h[b-a]llo", "hallo", false, true },
		{ "h[a-b]llo", "hcllo", false, false },
		{ "h\\*llo", "h*llo", false, true },
		{ "h\\*llo", "hello", false, false },
		{ "[\\]]", "]", false, true },
		{ "[]a]", "a", false, false },
		{ "[^]", "x", false, true },
		{ "[abc", "b", false, true },
		{ "[abc", "d", false, false },
		{ "a\\", "a\\", false, true },
		{ "HELLO", "hello", true, true },
		{ "HELLO", "hello", false, false },
		{ "h[A-Z]llo", "hello", true, true },
		{ "h[A-Z]llo", "hello", false, false },
		{ "*a*", "bab", false, true },
		{ "*a", "bab", false, false },
		{ "a*", "a", false, true },
		{ "a**", "a", false, true },
		{ "a*b*c", "aXbYc", false, true },
		{ "a*b*c", "aXbY", false, false },
		{ "foo*bar", "foobarbar", false, true },
		{ "", "", false, true },
		{ "", "x", false, false },
		/* As Redis's stringmatchlen: only the empty pattern matches "". */
		{ "*", "", false, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (gm(cases[i].pat, cases[i].str, cases[i].nocase) != cases[i].want)
			fail_msg("pattern \"%s\" on \"%s\" (nocase %d): expected %d", cases[i].pat,
				 cases[i].str, cases[i].nocase, cases[i].want);
	}
	/* Binary: NUL bytes are ordinary. */
	assert_true(kv_glob_match("a?c", 3, "a\0c", 3, false));
	assert_false(kv_glob_match("a\0c", 3, "abc", 3, false));
}

static void glob_pathological_pattern_finishes_fast(void **state)
{
	char pat[400], str[4001];
	struct timespec t0, t1;
	size_t n = 0;

	(void)state;
	for (int i = 0; i < 100; i++) {
		pat[n++] = 'a';
		pat[n++] = '*';
	}
	pat[n++] = 'b';
	memset(str, 'a', 4000);
	str[4000] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 10; i++)
		assert_false(kv_glob_match(pat, n, str, 4000, false));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* Linear-ish: well under a second where backtracking would take
	 * longer than the age of the universe. */
	assert_true((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) <
		    1000000000L);
	str[3999] = 'b';
	assert_true(kv_glob_match(pat, n, str, 4000, false));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(set_lookup_overwrite_delete),
		T(keys_and_values_are_binary_safe),
		T(lookups_count_hits_and_misses_only_when_asked),
		T(growth_and_shrink_keep_every_key_reachable),
		T(scan_visits_every_key_across_growth_mid_scan),
		T(scan_visits_every_key_across_shrink_mid_scan),
		T(deletes_during_rehash_keep_counts_right),
		T(scan_skips_expired_keys_and_ends_on_empty_db),
		T(lazy_expiry_deletes_on_lookup),
		T(set_keeps_or_replaces_expiry),
		T(active_expiry_removes_expired_volatile_keys),
		T(volatile_index_spans_blocks_and_shrinks),
		T(active_expiry_stops_at_its_budget),
		T(random_returns_live_keys_and_collects_expired),
		T(swap_and_flush),
		T(memory_accounting_returns_to_zero_after_flush),
		T(resize_keeps_entry_and_zero_fills),
		T(lookups_touch_keys_unless_asked_not_to),
		T(idle_time_survives_the_clock_wrapping),
		T(tables_do_not_double_past_the_limit_while_chains_are_short),
		T(idle_rank_takes_the_longest_idle_keys),
		T(ttl_rank_takes_the_nearest_expiry_among_volatile_keys),
		T(random_rank_draws_from_every_db),
		T(candidates_expire_the_expired_keys_they_meet),
		T(drop_counts_evictions_and_tells_the_hook),
		T(the_pool_follows_deletes_flushes_and_swaps),
		T(glob_follows_redis_stringmatchlen),
		T(glob_pathological_pattern_finishes_fast),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
