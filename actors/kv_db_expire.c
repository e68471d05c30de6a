/*
 * kv_db_expire.c - active expiry of a shard's keyspace, as Redis's
 * activeExpireCycle: random samples of the keys that have an expiry time
 * (db->vol, so keys without one cost nothing), repeated while a sample is
 * mostly expired, within a time budget, resuming at the next db each run.
 * It also keeps Redis's avg_ttl estimate, from the live keys it samples.
 */
#include "kv_db_internal.h"

#include <time.h>

/* Volatile keys sampled per round, as Redis's default effort. */
#define EXPIRE_SAMPLE 20u

static uint64_t monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/*
 * One db's share of an active expiry run: rounds of EXPIRE_SAMPLE random
 * volatile keys, deleting the expired ones, while more than a quarter of a
 * round was expired and before deadline_us. Returns false when the time
 * ran out.
 */
static bool expire_db(struct kv_store *s, struct kv_db *d, uint64_t now_ms, uint64_t deadline_us,
		      uint64_t *deleted)
{
	for (;;) {
		size_t sampled = 0, expired = 0, ttl_samples = 0;
		uint64_t ttl_sum = 0;

		if (d->vol_len == 0) {
			d->avg_ttl = 0;
			return true;
		}
		while (sampled < EXPIRE_SAMPLE && d->vol_len > 0) {
			struct kv_entry *e = *kv__vol_slot(d, kv__random(s) % d->vol_len);

			sampled++;
			if (kv__expired(e, now_ms)) {
				kv__dropping(s, d, e, KV_DROP_EXPIRED);
				kv__entry_delete(s, d, e);
				expired++;
			} else {
				ttl_sum += (uint64_t)(e->expire - (int64_t)now_ms);
				ttl_samples++;
			}
		}
		s->stats.expired_keys += expired;
		*deleted += expired;
		if (ttl_samples > 0) {
			uint64_t avg = ttl_sum / ttl_samples;

			/* Redis's estimate: a slow moving average of the
			 * sampled TTLs. */
			if (d->avg_ttl == 0)
				d->avg_ttl = avg;
			d->avg_ttl = d->avg_ttl / 50 * 49 + avg / 50;
		}
		if (monotonic_us() >= deadline_us)
			return false;
		if (expired * 4 <= sampled)
			return true;
	}
}

uint64_t kv_store_active_expire(struct kv_store *s, uint64_t now_ms, uint64_t budget_us)
{
	uint64_t deadline = monotonic_us() + budget_us;
	uint64_t deleted = 0;

	s->stats.expire_cycles++;
	for (int i = 0; i < KV_DBS; i++) {
		struct kv_db *d = &s->db[s->expire_db];
		bool in_time;

		/* The periodic run also moves rehashing along, as Redis's
		 * databasesCron, so an idle db finishes its resize. */
		kv__rehash_step(s, d, 100);
		in_time = expire_db(s, d, now_ms, deadline, &deleted);
		kv__shrink_if_sparse(s, d);
		s->expire_db = (s->expire_db + 1) % KV_DBS;
		if (!in_time)
			break;
	}
	return deleted;
}
