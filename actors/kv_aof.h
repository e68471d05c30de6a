/*
 * kv_aof.h - a shard's append-only log and snapshots: what atoll-kv keeps on
 * disk, and how it comes back at start.
 *
 * Each shard has its own log, DIR/appendonly.aof.<shard>, holding the write
 * commands that shard ran, in RESP form, as Redis's AOF does. Only the
 * shard's reactor writes it, through its io_uring: records go to a pending
 * buffer, the buffer is handed to the kernel inside a write message (the
 * message owns it until the completion comes back), one write at a time so
 * records keep their order, and fsyncs follow as appendfsync says. Under
 * "always" a reply waits for the fsync that covers its write; one fsync
 * covers every write that came meanwhile (group commit).
 *
 * What is logged: a command that changed the store, as the client sent it
 * when replaying it gives the same result, or else as its effect on the
 * key (SET key value [PXAT t], PEXPIREAT, PERSIST, DEL): every relative
 * time becomes absolute (SET EX, EXPIRE, SETEX, GETEX), INCRBYFLOAT becomes
 * the value it made. Keys the store drops by itself (expiry, eviction) are
 * logged as DEL. A replay runs with the clock stopped (nothing expires while
 * loading, as in Redis), so it rebuilds the store exactly; keys whose time
 * has passed are then deleted by the usual lazy and active expiry.
 *
 * Snapshots (a log rewrite, SAVE, BGSAVE, SHUTDOWN SAVE) are a compact log:
 * SELECT and SET [PXAT] for every live key, taken in one turn of the shard
 * (so at one instant), then written while the shard keeps serving. A
 * rewrite also writes the commands logged meanwhile to the new file, then
 * fsyncs it and renames it over the old log, and fsyncs the directory.
 *
 * Everything here runs on the shard's reactor.
 */
#ifndef ATOLL_KV_AOF_H
#define ATOLL_KV_AOF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <atoll.h>

#include "kv_cmd.h"
#include "kv_server.h"

#ifdef __cplusplus
extern "C" {
#endif

/* File names, in the server's directory. */
#define KV_AOF_NAME "appendonly.aof"
#define KV_DUMP_NAME "dump.akv"

/* Messages of the log's I/O: completions and kicks, all to the shard. */
enum kv_aof_msg {
	KV_MSG_AOF_KICK = ATOLL_MSG_USER + 0x380, /* records are pending */
	KV_MSG_AOF_LOAD,                          /* start loading */
	KV_MSG_AOF_IO,                            /* a completion (struct atoll_io) */
};

/* --- the log of one shard ------------------------------------------------ */

/* Creates the log state of core (core->aof). kick_to: the shard actor.
 * Returns 0 or -ENOMEM. */
int kv_aof_create(struct kv_core *core, atoll_ref shard);
void kv_aof_destroy(struct kv_core *core);

/*
 * Appends the record of cmd, which just ran on core's store for a client
 * (x: its db and time; x->dirty says whether it changed anything), to the
 * log. A record names its command by the table's name (kv_cmd.h), whatever
 * argv[0] says: a client may have called it by a rename-command's name, and
 * the log must replay under any renames. Returns the log position its reply
 * must wait for under appendfsync always, or 0.
 */
uint64_t kv_aof_record(struct kv_core *core, const struct kv_command *cmd, const struct kv_exec *x,
		       int argc, const struct kv_arg *argv);

/* After records were added from a connection (not the shard): makes sure the
 * shard will write them (one kick message at most is in flight). */
void kv_aof_kick(atoll_ctx *ctx, struct kv_core *core);

/* True when writes must be refused with -MISCONF (the log cannot be
 * written); msg gets Redis's message. */
bool kv_aof_refuses_writes(const struct kv_core *core, char *msg, size_t len);

/* True when replies to writes must wait for an fsync (appendfsync always,
 * with a log): connections then send writes to the shard, which holds
 * their replies (kv_aof_hold). */
bool kv_aof_sync_replies(const struct kv_core *core);

/* The shard's side: hands pending records to the kernel and fsyncs per the
 * policy; call at the end of every receive. */
void kv_aof_flush(atoll_ctx *ctx, struct kv_core *core);

/* Holds reply (to be sent to `to`) until the log is synced up to lsn; takes
 * it. Sends at once when it already is. */
void kv_aof_hold(atoll_ctx *ctx, struct kv_core *core, uint64_t lsn, atoll_ref to,
		 atoll_msg *reply);

/* Handles a KV_MSG_AOF_* message (the shard passes them on); returns true
 * when it was one. */
bool kv_aof_receive(atoll_ctx *ctx, struct kv_core *core, atoll_msg *msg);

/* The periodic tick (everysec fsync, automatic rewrite, retry after an
 * error). */
void kv_aof_tick(atoll_ctx *ctx, struct kv_core *core);

/* Starts a rewrite (BGREWRITEAOF). Returns 0, -EALREADY when one runs,
 * -ENOENT when there is no log, or -errno. */
int kv_aof_rewrite(atoll_ctx *ctx, struct kv_core *core);

/* Starts a dump (SAVE, BGSAVE) of core's store. Returns 0, -EBUSY when a
 * snapshot is being written, or -errno. */
int kv_aof_dump(atoll_ctx *ctx, struct kv_core *core);

/* Holds reply until the dump in progress is done; its entry `entry` (a
 * +OK) becomes an error if the dump fails. Takes reply on success. Returns 0,
 * -ENOENT when no dump is in progress, or -ENOMEM. */
int kv_aof_wait_dump(struct kv_core *core, atoll_ref to, atoll_msg *reply, uint32_t entry);

/* True while the shard replays its log: no active expiry meanwhile. */
bool kv_aof_loading(const struct kv_core *core);

/* Shutting down (close): refuses writes from now on, makes the next flushes
 * fsync whatever appendfsync says, and returns the log position a reply must
 * wait for to cover every record so far (0: nothing to wait for). With close
 * false (a shutdown refused), accepts writes again. */
uint64_t kv_aof_sync_all(struct kv_core *core, bool close);

/* Why the shard's loading failed, or NULL. Read after the server's
 * load_failed counter (acquire). */
const char *kv_aof_error_text(const struct kv_core *core);

/* The shard stops: no more I/O is started. */
void kv_aof_stop(struct kv_core *core);

/* INFO persistence figures of one shard, as KV_PERSIST_* integers. */
enum kv_persist_field {
	KV_PERSIST_LOADING,
	KV_PERSIST_AOF_ENABLED,
	KV_PERSIST_AOF_REWRITING,
	KV_PERSIST_AOF_REWRITES,
	KV_PERSIST_AOF_LAST_REWRITE_MS,
	KV_PERSIST_AOF_LAST_REWRITE_OK,
	KV_PERSIST_AOF_LAST_WRITE_OK,
	KV_PERSIST_AOF_CURRENT_SIZE,
	KV_PERSIST_AOF_BASE_SIZE,
	KV_PERSIST_AOF_BUFFER,     /* bytes not yet handed to the kernel */
	KV_PERSIST_AOF_UNSYNCED,   /* bytes written, not yet fsynced */
	KV_PERSIST_AOF_FSYNC_LAG,  /* ms since the oldest unsynced write */
	KV_PERSIST_AOF_FSYNCS,     /* fsyncs done */
	KV_PERSIST_AOF_HELD,       /* replies waiting for an fsync */
	KV_PERSIST_AOF_WRITE_ERRS, /* failed writes and fsyncs */
	KV_PERSIST_CHANGES,        /* changes since the last save */
	KV_PERSIST_SAVING,
	KV_PERSIST_LAST_SAVE,    /* Unix s */
	KV_PERSIST_LAST_SAVE_OK, /* 1 or 0 */
	KV_PERSIST_FIELDS,
};
void kv_aof_info(const struct kv_core *core, long long v[KV_PERSIST_FIELDS]);

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_KV_AOF_H */
