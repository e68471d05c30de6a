/*
 * kv_topology.h - atoll-kv started from a topology: the "kv.server" type.
 *
 * One kv.server actor per reactor (placement = each; the group must have
 * exactly one member per reactor, member i on reactor i) does there what
 * examples/atoll-kv's main does per core: it is that reactor's shard (the
 * kv_shard actor's code runs in it, so its ref is the shard's), it replays
 * the shard's log, and once every shard of the group has loaded it starts
 * the reactor's TCP listener, whose connections speak RESP (resp_conn.h).
 * The group shares one struct kv_server, made by the first member to start
 * and freed when the last user of it (shard, listener or connection) is
 * gone. Member 0 takes SIGINT/SIGTERM (atoll_runtime_on_signal): the logs
 * are synced before the runtime stops, as atoll-kv does.
 *
 *   [kv]
 *   type = kv.server
 *   placement = each
 *   port = 6379
 *   appendonly = yes
 *   dir = /var/lib/atoll-kv
 *
 * Parameters (atoll-kv's flags): port, bind, dir (chdir'd into at start:
 * it is process-wide), appendonly, appendfsync, requirepass, maxclients,
 * maxmemory, maxmemory_policy, hz, repair. Only one kv.server group per
 * process.
 */
#ifndef ATOLL_KV_TOPOLOGY_H
#define ATOLL_KV_TOPOLOGY_H

#include <atoll.h>

#include "lib_msg.h"

#ifdef __cplusplus
extern "C" {
#endif

enum atoll_kv_topology_msg {
	/* A member's own timer: have all shards loaded? */
	ATOLL_KV_LOAD_CHECK = ATOLL_LIB_MSG_BLOCK(16),
};

/* The kv.server type. Its init fails with -EINVAL (and says why on stderr)
 * when the group is not one member per reactor or a second group starts. */
extern const struct atoll_type_info kv_server_info;

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_KV_TOPOLOGY_H */
