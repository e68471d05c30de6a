/*
 * kv_shard.h - the atoll-kv shard actor: one per reactor, owner of that
 * reactor's part of the keyspace, and the wire format of the batches that
 * connection actors send it.
 *
 * A batch is one message from one connection holding the commands of one
 * read that belong to this shard, in order. The shard runs them with the
 * command table's exec functions and answers with one reply message: the
 * RESP replies back to back, and where each one ends. Both buffers are
 * attached to their messages, so nothing is copied on the way across cores.
 *
 * Locks: a connection coordinating a command whose keys span shards takes
 * the lock of each shard involved (KV_OP_LOCK, in ascending shard order, so
 * two coordinators cannot deadlock). While a shard is locked it defers every
 * batch not sent by the holder until KV_OP_UNLOCK; each sender's batches
 * keep their order, and the holder's never wait behind another's.
 */
#ifndef ATOLL_KV_SHARD_H
#define ATOLL_KV_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include <atoll.h>

#include "kv_aof.h"
#include "kv_buf.h"
#include "kv_cmd.h"
#include "kv_server.h"

#ifdef __cplusplus
extern "C" {
#endif

enum kv_shard_msg {
	/* Connection -> shard: a batch (kv_batch_*). reply_to: the
	 * connection. Answered with KV_MSG_REPLY. */
	KV_MSG_BATCH = ATOLL_MSG_USER + 0x300,
	/* Shard -> connection: the replies to one batch (kv_reply_*). */
	KV_MSG_REPLY,
	/* Shard -> connection: CLIENT KILL matched it. No payload. */
	KV_MSG_KILL,
	/* The shard's own periodic timer: active expiry. */
	KV_MSG_EXPIRE,
	/* To shard 0, from the runtime: SIGINT or SIGTERM (corr: which). Shard
	 * 0 then shuts the server down as SHUTDOWN does. */
	KV_MSG_SIGNAL,
	/* Shard 0's own timer: a signal's shutdown still waiting for shards. */
	KV_MSG_SHUTDOWN_LATE,
};

/* Operations a batch entry can name besides a command (whose op is its
 * index in the command table). */
enum kv_op {
	KV_OP_LOCK = 0xff00, /* lock the shard for the sender; +OK */
	KV_OP_UNLOCK,        /* release it; +OK */
	KV_OP_INFO,          /* an array of KV_INFO_FIELDS integers */
	KV_OP_CLIENTS,       /* CLIENT LIST lines of this core, a bulk */
	KV_OP_KILL,          /* CLIENT KILL filters; :matched */
	KV_OP_CONFIG,        /* name value: apply a setting; +OK */
	KV_OP_RESETSTAT,     /* CONFIG RESETSTAT for this core; +OK */
	KV_OP_REWRITE,       /* BGREWRITEAOF: start this shard's; +OK or an error */
	KV_OP_SAVE,          /* ["bg"]: dump this shard; +OK once written (at once
			      * with "bg"), or an error */
	KV_OP_SYNC,          /* write and fsync the log; +OK once done (SHUTDOWN) */
	KV_OP_SHUTDOWN,      /* shard 0 only: ["save"|"nosave"] ["force"]: dump every
			      * shard if asked, sync every log, stop the runtime. No
			      * reply unless it fails (an error) */
};

/* KV_OP_INFO's integers, in order. */
enum kv_info_field {
	KV_INFO_USED_MEMORY,
	KV_INFO_EXPIRED_KEYS,
	KV_INFO_HITS,
	KV_INFO_MISSES,
	KV_INFO_COMMANDS,
	KV_INFO_COMMANDS_LOCAL,
	KV_INFO_COMMANDS_REMOTE,
	KV_INFO_BATCHES_SENT,
	KV_INFO_BATCHES_RUN,
	KV_INFO_BATCH_COMMANDS,
	KV_INFO_CONNECTIONS,
	KV_INFO_REJECTED,
	KV_INFO_NET_INPUT,
	KV_INFO_NET_OUTPUT,
	KV_INFO_PROTOCOL_ERRORS,
	KV_INFO_OUTPUT_DROPS,
	KV_INFO_LOCK_WAITS,
	KV_INFO_CLIENTS,
	KV_INFO_MSGS_LOCAL, /* runtime counters of this reactor */
	KV_INFO_MSGS_REMOTE,
	KV_INFO_DOORBELLS,
	KV_INFO_WAKEUPS,
	KV_INFO_DEAD_LETTERS,
	KV_INFO_QUEUED,     /* overload: messages waiting in mailboxes (sampled) */
	KV_INFO_QUEUED_MAX, /* the most seen */
	KV_INFO_RING_FULL,  /* sends that found a cross-core ring full */
	KV_INFO_OVERFLOW,   /* messages parked behind full rings now */
	KV_INFO_EVICTED_KEYS,
	KV_INFO_DB0, /* then keys, expires, avg_ttl for each of the KV_DBS dbs */
	/* then the KV_PERSIST_FIELDS figures of kv_aof_info */
	KV_INFO_PERSIST = KV_INFO_DB0 + 3 * KV_DBS,
	KV_INFO_FIELDS = KV_INFO_PERSIST + KV_PERSIST_FIELDS,
};

/* The shard actor. Init argument: struct kv_server * (the shard's core is
 * the reactor it is spawned on). Init creates the core's store. */
extern const struct atoll_actor_type kv_shard_type;

/* --- batches --------------------------------------------------------- */

/* Builds one batch; reuse it for the next after kv_batch_take. */
struct kv_batch {
	struct kv_buf buf;
	uint32_t count;
};

/* Starts a batch (seq: the sender's id for it, proto: 2 or 3). */
void kv_batch_begin(struct kv_batch *b, uint64_t seq, uint8_t proto);
/* Adds an entry: op (a command index or enum kv_op), database, arguments.
 * Returns its index in the batch. */
uint32_t kv_batch_add(struct kv_batch *b, uint32_t op, int db, int argc, const struct kv_arg *argv);
/* Wraps the batch in a KV_MSG_BATCH message (no copy) and empties b.
 * Returns NULL when out of memory (b is then emptied too). */
atoll_msg *kv_batch_take(struct kv_batch *b);
void kv_batch_free(struct kv_batch *b);

/* A reply message, as the connection reads it. */
struct kv_reply_view {
	uint64_t seq;
	uint32_t count;
	const uint32_t *ends; /* ends[i]: where reply i ends in data */
	const char *data;
};

/* A copy of reply (a KV_MSG_REPLY) with entry i's reply replaced by the
 * len RESP bytes at resp; reply is freed. NULL when out of memory. */
atoll_msg *kv_reply_patch(atoll_msg *reply, uint32_t i, const char *resp, size_t len);

/* Reads a KV_MSG_REPLY. Returns 0, or -EINVAL when msg is not one. */
int kv_reply_view(const atoll_msg *msg, struct kv_reply_view *v);

/* Reply i of v: pointer, and length in *len. */
static inline const char *kv_reply_at(const struct kv_reply_view *v, uint32_t i, size_t *len)
{
	uint32_t start = i == 0 ? 0 : v->ends[i - 1];
	*len = v->ends[i] - start;
	return v->data + start;
}

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_KV_SHARD_H */
