/*
 * kv_aof_int.h - the state of one shard's log, shared by the files that
 * implement kv_aof.h: kv_aof.c (records, writes, fsyncs, held replies),
 * kv_aof_load.c (replay at start), kv_aof_snap.c (snapshots: rewrite, SAVE).
 *
 * Positions: lsn counts every byte ever appended to the log stream of this
 * run, across rewrites; written_lsn and synced_lsn say how far the kernel has
 * taken it and how far an fsync has made it durable. A held reply waits for
 * synced_lsn to reach its record's lsn.
 */
#ifndef ATOLL_KV_AOF_INT_H
#define ATOLL_KV_AOF_INT_H

#include "kv_aof.h"
#include "kv_buf.h"

/* A reply waiting for an fsync. */
struct kv_held {
	uint64_t lsn;
	atoll_ref to;
	atoll_msg *msg;
};

/* A reply holding a SAVE's answer: sent when the dump is done, with that
 * answer replaced by an error if it failed. */
struct kv_waiter {
	atoll_ref to;
	atoll_msg *msg;
	uint32_t entry;
};

/* Internal message types (completions), after the public ones. */
enum {
	AOF_T_WRITE = KV_MSG_AOF_IO, /* the log's write */
	AOF_T_FSYNC,                 /* the log's fsync */
	AOF_T_READ,                  /* loading: a chunk */
	AOF_T_OPEN,                  /* loading: the log opened */
	AOF_T_SNAP_OPEN,             /* a snapshot's file opened */
	AOF_T_SNAP_WRITE,
	AOF_T_SNAP_FSYNC,
	AOF_T_SNAP_RENAME,
	AOF_T_DIR_OPEN, /* the directory, to fsync the rename */
	AOF_T_DIR_FSYNC,
	AOF_T_CLOSE, /* nothing to do on completion */
	AOF_T_LAST,
};

/* A snapshot being written: a log rewrite or a dump (SAVE, BGSAVE,
 * SHUTDOWN SAVE). */
enum snap_kind {
	SNAP_NONE,
	SNAP_REWRITE,
	SNAP_DUMP,
};

enum snap_step {
	STEP_IDLE,
	STEP_OPEN,     /* opening name.tmp */
	STEP_WRITE,    /* writing the snapshot's chunks */
	STEP_CATCHUP,  /* rewrite: writing the commands logged meanwhile */
	STEP_FSYNC,    /* fsync of the new file */
	STEP_RENAME,   /* rename over the old name */
	STEP_DIR,      /* open and fsync the directory */
	STEP_DIR_SYNC, /* the directory's fsync */
};

struct kv_snap {
	enum snap_kind kind;
	enum snap_step step;
	int fd;
	char name[64];         /* final name; the file is written as name.tmp */
	struct kv_buf *chunks; /* the snapshot, in pieces of at most SNAP_CHUNK */
	size_t nchunks, next;
	uint64_t size;       /* bytes written to the new file */
	uint64_t switch_lsn; /* rewrite: the log position the new file covers */
	uint64_t start_ms;
	struct kv_waiter *waiters; /* replies sent once a dump is done */
	size_t nwaiters, cap_waiters;
	int err;
};

struct kv_aof {
	struct kv_core *core;
	atoll_ref shard;
	int fd;       /* the log, O_APPEND; -1 when not open */
	bool enabled; /* appendonly yes */
	bool loading;
	bool kicked;   /* a KV_MSG_AOF_KICK is on its way */
	bool stopped;  /* the shard stops: no more I/O */
	bool sync_all; /* fsync whatever the policy (shutting down) */
	bool closed;   /* shutting down: writes are refused, none can be lost */

	int dir_fd;         /* the directory, open to fsync a rename */
	uint64_t gen;       /* the log file's generation: +1 at each rewrite; the
			     * completions of an older file carry an older one */
	struct kv_buf pend; /* records not yet handed to the kernel */
	size_t pend_skip;   /* rewrite switching: pend bytes already in the new file */
	int pend_db;        /* the db the log stream's last SELECT named */
	uint64_t lsn;       /* end of pend, in the stream */
	uint64_t written_lsn;
	uint64_t synced_lsn;
	uint64_t write_end;      /* lsn at the end of the write in flight, 0: none */
	uint64_t fsync_end;      /* lsn the fsync in flight covers, 0: none */
	struct atoll_io *failed; /* a write that failed, kept to retry */
	int error;               /* the last write or fsync error, 0 when fine */
	uint64_t retry_ms;       /* when to retry it */
	uint64_t unsynced_ms;    /* when the oldest write not yet fsynced completed */
	uint64_t last_fsync_ms;
	uint64_t file_size; /* bytes in the current log file */
	uint64_t base_size; /* its size after the last rewrite (or at start) */

	struct kv_held *held; /* ring of replies waiting for fsync, by lsn */
	size_t held_head, held_len, held_cap;

	/* A rewrite: the commands logged since its snapshot, for the new file. */
	struct kv_buf diff;
	int diff_db;
	bool diffing;
	struct kv_snap snap;

	/* Loading. */
	char load_name[64];
	uint64_t load_off; /* file offset of the next read */
	uint64_t good_off; /* end of the last whole command */
	char *load_buf;    /* bytes read, not yet parsed */
	size_t load_len, load_cap;
	int load_db;
	int load_phase; /* kv_aof_load.c's enum phase */
	bool load_tail_zero;

	/* Figures. */
	uint64_t rewrites;
	uint64_t last_rewrite_ms; /* how long it took */
	bool last_rewrite_ok;
	uint64_t fsyncs;
	uint64_t write_errors;
	uint64_t changes; /* since the last dump */
	uint64_t last_save_unix;
	bool last_save_ok;
	char error_text[320]; /* why loading failed, for the program */
};

/* kv_aof.c */
void kv__aof_send_held(atoll_ctx *ctx, struct kv_aof *a);
uint64_t kv__aof_now_ms(void);
/* Every record goes through here: to pend, and to the rewrite's diff. */
void kv__aof_emit(struct kv_aof *a, int db, int argc, const struct kv_arg *argv);

/* kv_aof_load.c */
int kv__aof_load_start(atoll_ctx *ctx, struct kv_aof *a);
bool kv__aof_load_receive(atoll_ctx *ctx, struct kv_aof *a, struct atoll_io *io);

/* kv_aof_snap.c */
int kv__snap_start(atoll_ctx *ctx, struct kv_aof *a, enum snap_kind kind);
bool kv__snap_receive(atoll_ctx *ctx, struct kv_aof *a, struct atoll_io *io);
/* Rewrite: may the log's pend go to the old file now? (not while switching) */
bool kv__snap_switching(const struct kv_aof *a);

#endif /* ATOLL_KV_AOF_INT_H */
