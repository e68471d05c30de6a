/*
 * kv_aof_snap.c - snapshots of a shard's store (kv_aof.h): the log rewrite
 * and the dump (SAVE, BGSAVE).
 *
 * A snapshot is built in one turn of the shard, so it is the store at one
 * instant: SELECT and SET [PXAT] for every live key, in pieces of at most
 * SNAP_CHUNK bytes. The pieces are then written, one write in flight, to
 * NAME.tmp while the shard keeps serving; the file is fsynced, renamed over
 * NAME, and the directory fsynced, so a crash at any point leaves either the
 * old file or the new one, whole.
 *
 * A rewrite also copies every record logged after its snapshot (the diff)
 * into the new file. Once the diff left to copy is small it switches: the
 * last of the diff goes to the new file and the records logged from then on
 * wait in pend (the old file gets no more); after the rename they go to the
 * new file. If anything fails before the rename, the old log simply carries
 * on, pend included.
 */
#include "kv_aof_int.h"

#include "kv_shard.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Largest piece of a snapshot handed to one write. */
#define SNAP_CHUNK (16u << 20)
/* A rewrite switches files once the diff left is at most this. */
#define SWITCH_DIFF (256u << 10)

struct builder {
	struct kv_aof *a;
	int db;
	bool selected;
};

static struct kv_buf *last_chunk(struct kv_snap *s)
{
	if (s->nchunks == 0 || s->chunks[s->nchunks - 1].len >= SNAP_CHUNK) {
		struct kv_buf *c = realloc(s->chunks, (s->nchunks + 1) * sizeof(*c));

		if (c == NULL)
			return NULL;
		s->chunks = c;
		memset(&c[s->nchunks], 0, sizeof(*c));
		s->nchunks++;
	}
	return &s->chunks[s->nchunks - 1];
}

static void add_key(void *arg, const struct kv_entry *e)
{
	struct builder *b = arg;
	struct kv_snap *s = &b->a->snap;
	struct kv_buf *out = last_chunk(s);
	struct kv_arg argv[5] = {
		{ "SET", 3 }, { NULL, 0 }, { NULL, 0 }, { "PXAT", 4 }, { NULL, 0 }
	};
	char when[24], num[8];
	int64_t exp = kv_entry_expire(e);

	if (out == NULL) {
		s->err = -ENOMEM;
		return;
	}
	if (!b->selected) {
		struct kv_arg sel[2] = { { "SELECT", 6 },
					 { num, (size_t)snprintf(num, sizeof(num), "%d", b->db) } };

		kv_buf_command(out, 2, sel);
		b->selected = true;
	}
	argv[1].p = kv_entry_key(e, &argv[1].len);
	/* Read only: the value is copied into the snapshot. */
	argv[2].p = kv_entry_value((struct kv_entry *)(uintptr_t)e, &argv[2].len);
	if (exp != KV_NO_EXPIRE)
		argv[4] = (struct kv_arg){ when, (size_t)snprintf(when, sizeof(when), "%lld",
								  (long long)exp) };
	kv_buf_command(out, exp != KV_NO_EXPIRE ? 5 : 3, argv);
	if (out->oom)
		s->err = -ENOMEM;
}

static void free_chunks(struct kv_snap *s)
{
	for (size_t i = 0; i < s->nchunks; i++)
		kv_buf_free(&s->chunks[i]);
	free(s->chunks);
	s->chunks = NULL;
	s->nchunks = s->next = 0;
}

/* The whole store, now. Returns 0 or -ENOMEM. */
static int build(struct kv_aof *a)
{
	struct builder b = { .a = a };
	uint64_t now = kv_unix_ms();

	for (int db = 0; db < KV_DBS && a->snap.err == 0; db++) {
		uint64_t cursor = 0;

		if (kv_db_size(a->core->store, db) == 0)
			continue;
		b.db = db;
		b.selected = false;
		do
			cursor = kv_db_scan(a->core->store, db, cursor, 4096, now, add_key, &b);
		while (cursor != 0 && a->snap.err == 0);
	}
	return a->snap.err;
}

bool kv__snap_switching(const struct kv_aof *a)
{
	return a->snap.kind == SNAP_REWRITE && a->snap.step >= STEP_FSYNC;
}

static int submit_path(atoll_ctx *ctx, uint32_t type, const char *a, const char *b, int flags)
{
	size_t la = strlen(a) + 1, lb = b != NULL ? strlen(b) + 1 : 0;
	struct atoll_io *io = atoll_io_new(type, la + lb);

	if (io == NULL)
		return -ENOMEM;
	memcpy(io->msg.data, a, la);
	if (b != NULL)
		memcpy((char *)io->msg.data + la, b, lb);
	io->msg.len = (uint32_t)(la + lb);
	return b != NULL ? atoll_io_rename(ctx, io) : atoll_io_open(ctx, io, flags, 0644);
}

static int submit_fd(atoll_ctx *ctx, uint32_t type, int fd)
{
	struct atoll_io *io = atoll_io_new(type, 0);

	if (io == NULL)
		return -ENOMEM;
	if (type == AOF_T_CLOSE)
		return atoll_io_close(ctx, fd, io);
	return atoll_io_fsync(ctx, fd, io, type == AOF_T_SNAP_FSYNC);
}

static int write_buf(atoll_ctx *ctx, struct kv_aof *a, struct kv_buf *b)
{
	struct atoll_io *io = kv_buf_take(b, AOF_T_SNAP_WRITE);

	if (io == NULL)
		return -ENOMEM;
	return atoll_io_write(ctx, a->snap.fd, io, ATOLL_IO_CURRENT);
}

/* Sends the replies waiting for a dump: their +OK stands, or becomes the
 * error. */
static void answer_waiters(atoll_ctx *ctx, struct kv_aof *a, int err)
{
	struct kv_snap *s = &a->snap;
	char msg[160];

	snprintf(msg, sizeof(msg), "-ERR writing the snapshot failed: %s\r\n", strerror(-err));
	for (size_t i = 0; i < s->nwaiters; i++) {
		struct kv_waiter *w = &s->waiters[i];
		atoll_msg *m = w->msg;

		if (err < 0)
			m = kv_reply_patch(m, w->entry, msg, strlen(msg));
		if (m != NULL)
			(void)atoll_send(ctx, w->to, m);
	}
	s->nwaiters = 0;
}

int kv_aof_wait_dump(struct kv_core *core, atoll_ref to, atoll_msg *reply, uint32_t entry)
{
	struct kv_snap *s = &core->aof->snap;

	if (s->kind != SNAP_DUMP)
		return -ENOENT;
	if (s->nwaiters == s->cap_waiters) {
		size_t cap = s->cap_waiters ? s->cap_waiters * 2 : 4;
		struct kv_waiter *w = realloc(s->waiters, cap * sizeof(*w));

		if (w == NULL)
			return -ENOMEM;
		s->waiters = w;
		s->cap_waiters = cap;
	}
	s->waiters[s->nwaiters++] = (struct kv_waiter){ .to = to, .msg = reply, .entry = entry };
	return 0;
}

static void end(atoll_ctx *ctx, struct kv_aof *a, int err)
{
	struct kv_snap *s = &a->snap;
	char tmp[80];
	bool rewrite = s->kind == SNAP_REWRITE;

	if (err < 0) {
		fprintf(stderr, "atoll-kv: shard %u: writing %s failed: %s\n", a->core->index,
			s->name, strerror(-err));
		if (s->fd >= 0)
			(void)submit_fd(ctx, AOF_T_CLOSE, s->fd);
		snprintf(tmp, sizeof(tmp), "%s.tmp", s->name);
		(void)unlink(tmp); /* a failed snapshot leaves nothing behind */
		if (rewrite) {
			a->last_rewrite_ok = false;
			a->diffing = false;
			kv_buf_free(&a->diff);
		} else {
			a->last_save_ok = false;
		}
	} else if (rewrite) {
		/* The new file holds everything up to switch_lsn, durably. */
		if (a->fd >= 0)
			(void)submit_fd(ctx, AOF_T_CLOSE, a->fd);
		a->fd = s->fd;
		a->gen++;
		a->file_size = a->base_size = s->size;
		if (a->pend_skip > 0) {
			memmove(a->pend.p, a->pend.p + a->pend_skip, a->pend.len - a->pend_skip);
			a->pend.len -= a->pend_skip;
		}
		if (a->failed != NULL) { /* its bytes are in the new file */
			atoll_msg_free(&a->failed->msg);
			a->failed = NULL;
		}
		a->write_end = 0;
		a->fsync_end = 0;
		if (a->written_lsn < s->switch_lsn)
			a->written_lsn = s->switch_lsn;
		if (a->synced_lsn < s->switch_lsn)
			a->synced_lsn = s->switch_lsn;
		a->error = 0;
		a->rewrites++;
		a->last_rewrite_ok = true;
		a->last_rewrite_ms = kv__aof_now_ms() - s->start_ms;
	} else {
		(void)submit_fd(ctx, AOF_T_CLOSE, s->fd);
		a->last_save_ok = true;
		a->last_save_unix = kv_unix_ms() / 1000;
		a->changes = 0;
	}
	if (!rewrite)
		answer_waiters(ctx, a, err);
	free_chunks(s);
	s->fd = -1;
	s->kind = SNAP_NONE;
	s->step = STEP_IDLE;
	a->pend_skip = 0;
	kv__aof_send_held(ctx, a);
	kv_aof_flush(ctx, a->core);
}

int kv__snap_start(atoll_ctx *ctx, struct kv_aof *a, enum snap_kind kind)
{
	struct kv_snap *s = &a->snap;
	char tmp[80];
	int err;

	if (s->kind != SNAP_NONE)
		return -EBUSY;
	s->kind = kind;
	s->err = 0;
	s->size = 0;
	s->fd = -1;
	s->start_ms = kv__aof_now_ms();
	snprintf(s->name, sizeof(s->name), "%s.%u",
		 kind == SNAP_REWRITE ? KV_AOF_NAME : KV_DUMP_NAME, a->core->index);
	err = build(a);
	if (err == 0 && kind == SNAP_REWRITE) {
		a->diffing = true;
		a->diff_db = -1;
		a->diff.len = 0;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->name);
	s->step = STEP_OPEN;
	if (err == 0)
		err = submit_path(ctx, AOF_T_SNAP_OPEN, tmp, NULL,
				  O_WRONLY | O_CREAT | O_TRUNC | O_APPEND);
	if (err < 0) {
		end(ctx, a, err);
		return err;
	}
	return 0;
}

/* The next thing to write, or the next step once all is written. */
static int advance(atoll_ctx *ctx, struct kv_aof *a)
{
	struct kv_snap *s = &a->snap;
	char tmp[80];

	if (s->err < 0)
		return s->err;
	if (s->step == STEP_WRITE && s->next < s->nchunks) {
		struct kv_buf *b = &s->chunks[s->next++];

		if (b->len > 0)
			return write_buf(ctx, a, b);
	}
	if (s->step == STEP_WRITE && s->next < s->nchunks)
		return advance(ctx, a);
	if (s->kind == SNAP_REWRITE && (s->step == STEP_WRITE || s->step == STEP_CATCHUP)) {
		s->step = STEP_CATCHUP;
		if (a->diff.len > SWITCH_DIFF)
			return write_buf(ctx, a, &a->diff);
		/* Switch: the rest of the diff is the last thing the new file
		 * gets before the rename; pend's bytes so far are in it too, so
		 * they will not go to the new file again. */
		s->switch_lsn = a->lsn;
		a->pend_skip = a->pend.len;
		a->pend_db = -1;
		a->diffing = false;
		s->step = STEP_FSYNC;
		if (a->diff.len > 0)
			return write_buf(ctx, a, &a->diff);
	}
	if (s->step == STEP_WRITE)
		s->step = STEP_FSYNC;
	if (s->step == STEP_FSYNC)
		return submit_fd(ctx, AOF_T_SNAP_FSYNC, s->fd);
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->name);
	return submit_path(ctx, AOF_T_SNAP_RENAME, tmp, s->name, 0);
}

bool kv__snap_receive(atoll_ctx *ctx, struct kv_aof *a, struct atoll_io *io)
{
	struct kv_snap *s = &a->snap;
	int res = io->res, err = 0;
	uint32_t type = io->msg.type, len = io->msg.len;

	if (type < AOF_T_SNAP_OPEN || type > AOF_T_DIR_FSYNC)
		return false;
	atoll_msg_free(&io->msg);
	if (s->kind == SNAP_NONE) { /* ended already */
		if (type == AOF_T_SNAP_OPEN && res >= 0)
			close(res);
		return true;
	}
	if (res < 0) {
		if (type == AOF_T_DIR_OPEN || type == AOF_T_DIR_FSYNC) {
			/* The rename is done: the new file is in place whatever
			 * the directory's fsync says; note it and go on. */
			fprintf(stderr, "atoll-kv: shard %u: fsync of the directory: %s\n",
				a->core->index, strerror(-res));
			end(ctx, a, 0);
			return true;
		}
		end(ctx, a, res);
		return true;
	}
	switch (type) {
	case AOF_T_SNAP_OPEN:
		s->fd = res;
		s->step = STEP_WRITE;
		s->next = 0;
		err = advance(ctx, a);
		break;
	case AOF_T_SNAP_WRITE:
		s->size += len;
		err = advance(ctx, a);
		break;
	case AOF_T_SNAP_FSYNC:
		s->step = STEP_RENAME;
		err = advance(ctx, a);
		break;
	case AOF_T_SNAP_RENAME:
		s->step = STEP_DIR;
		err = submit_path(ctx, AOF_T_DIR_OPEN, ".", NULL, O_RDONLY | O_DIRECTORY);
		break;
	case AOF_T_DIR_OPEN:
		s->step = STEP_DIR_SYNC;
		a->dir_fd = res;
		err = submit_fd(ctx, AOF_T_DIR_FSYNC, res);
		break;
	case AOF_T_DIR_FSYNC:
		(void)submit_fd(ctx, AOF_T_CLOSE, a->dir_fd);
		a->dir_fd = -1;
		end(ctx, a, 0);
		return true;
	}
	if (err < 0)
		end(ctx, a, err);
	return true;
}
