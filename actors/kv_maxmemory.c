/*
 * kv_maxmemory.c - maxmemory and maxmemory-policy (kv_maxmemory_admit,
 * kv_server.h): before a command that may grow the keyspace ("denyoom"),
 * a shard over its share of maxmemory evicts keys by its policy until it is
 * under it again, or refuses the command.
 *
 * Each shard keeps its own store under maxmemory / nshards, counted as the
 * store counts its bytes (kv_store_memory: keys, values, tables), not the
 * process's RSS: shards never ask each other, so the check costs one
 * comparison. Keys go through kv_store_drop(..., KV_DROP_EVICTED), so the
 * shard's log records each eviction as a DEL.
 */
#include "kv_server.h"

#include "kv_cmd.h"

/* Eviction time per command, and how often it is checked: Redis's defaults
 * (maxmemory-eviction-tenacity 10: 500 us, every 16 keys). A shard still
 * over its budget then runs the command anyway and evicts more before the
 * next one, as Redis's EVICT_RUNNING does, so lowering maxmemory a lot
 * cannot stall a reactor. */
#define EVICT_BUDGET_NS 500000u
#define EVICT_CHECK_EVERY 16u

/* This core's share of maxmemory; 0: no limit. */
static uint64_t shard_budget(const struct kv_core *core)
{
	unsigned long long max = core->settings.maxmemory;
	unsigned n = core->server->nshards;

	if (max == 0)
		return 0;
	return max / n > 0 ? max / n : 1;
}

bool kv_maxmemory_admit(struct kv_core *core, const struct kv_command *cmd, uint64_t now_ms)
{
	const struct kv_settings *st = &core->settings;
	struct kv_store *store = core->store;
	uint64_t budget = shard_budget(core), start_ns;
	enum kv_evict_rank rank;
	bool volatile_only;
	unsigned evicted = 0;

	kv_store_set_limit(store, budget);
	if (budget == 0 || !(cmd->flags & KV_CMD_DENYOOM) || kv_store_memory(store) <= budget)
		return true;
	switch ((enum kv_evict_policy)st->maxmemory_policy) {
	case KV_EVICT_ALLKEYS_LRU:
		rank = KV_RANK_IDLE;
		volatile_only = false;
		break;
	case KV_EVICT_VOLATILE_LRU:
		rank = KV_RANK_IDLE;
		volatile_only = true;
		break;
	case KV_EVICT_ALLKEYS_RANDOM:
		rank = KV_RANK_RANDOM;
		volatile_only = false;
		break;
	case KV_EVICT_VOLATILE_RANDOM:
		rank = KV_RANK_RANDOM;
		volatile_only = true;
		break;
	case KV_EVICT_VOLATILE_TTL:
		rank = KV_RANK_TTL;
		volatile_only = true;
		break;
	case KV_EVICT_NOEVICTION:
	default:
		return false;
	}
	start_ns = atoll_now_ns();
	while (kv_store_memory(store) > budget) {
		uint64_t before = kv_store_memory(store);
		int db;
		struct kv_entry *e = kv_store_evict_candidate(store, rank, volatile_only,
							      st->maxmemory_samples, now_ms, &db);

		/* Expired keys the samples met are gone: maybe that was
		 * room enough. */
		if (kv_store_memory(store) <= budget)
			break;
		/* No candidate: if the samples were all expired keys try
		 * again, else there is nothing left to evict. */
		if (e == NULL) {
			if (kv_store_memory(store) < before)
				continue;
			return false;
		}
		kv_store_drop(store, db, e, KV_DROP_EVICTED);
		if (++evicted % EVICT_CHECK_EVERY == 0 &&
		    atoll_now_ns() - start_ns > EVICT_BUDGET_NS)
			return true;
	}
	return true;
}
