/*
 * kv_server.c - the state atoll-kv's actors share (kv_server.h): setting
 * defaults, the per-core array, and the key-to-shard hash.
 *
 * The shard of a key must not change while a server runs and should not
 * change between runs with the same shard count (per-shard logs depend on
 * it), so it is XXH3-64 with a fixed seed of 0; the stores hash their own
 * tables with a random seed of their own.
 */
#include "kv_server.h"

#include "kv_aof.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

void kv_settings_default(struct kv_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->maxclients = 10000;
	s->proto_max_bulk_len = 512ull * 1024 * 1024;
	s->client_query_buffer_limit = 1024ull * 1024 * 1024;
	s->client_output_limit = 64ull * 1024 * 1024;
	s->hz = 10;
	s->appendfsync = KV_FSYNC_EVERYSEC;
	s->auto_aof_rewrite_percentage = 100;
	s->auto_aof_rewrite_min_size = 64ull * 1024 * 1024;
	s->maxmemory_policy = KV_EVICT_NOEVICTION;
	s->maxmemory_samples = 5;
	s->protected_mode = 1;
	s->enable_debug_command = KV_ALLOW_NO;
}

int kv_server_init(struct kv_server *srv, unsigned nshards, const struct kv_settings *settings)
{
	if (nshards == 0)
		return -EINVAL;
	srv->nshards = nshards;
	srv->shards = calloc(nshards, sizeof(*srv->shards));
	srv->cores = calloc(nshards, sizeof(*srv->cores));
	if (srv->shards == NULL || srv->cores == NULL) {
		kv_server_destroy(srv);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < nshards; i++) {
		srv->cores[i].server = srv;
		srv->cores[i].index = i;
		srv->cores[i].settings = *settings;
	}
	srv->start_ms = kv_unix_ms();
	srv->start_ns = atoll_now_ns();
	atomic_init(&srv->clients, 0);
	atomic_init(&srv->next_client_id, 0);
	atomic_init(&srv->loaded, 0);
	atomic_init(&srv->load_failed, 0);
	return 0;
}

void kv_server_destroy(struct kv_server *srv)
{
	if (srv->cores != NULL) {
		for (unsigned i = 0; i < srv->nshards; i++) {
			kv_aof_destroy(&srv->cores[i]);
			kv_store_free(srv->cores[i].store);
		}
	}
	free(srv->cores);
	free(srv->shards);
	srv->cores = NULL;
	srv->shards = NULL;
}

unsigned kv_shard_of(const struct kv_server *srv, const char *key, size_t len)
{
	if (srv->nshards == 1)
		return 0;
	return (unsigned)(XXH3_64bits(key, len) % srv->nshards);
}

uint64_t kv_unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
