/*
 * kv_aof.c - a shard's append-only log (kv_aof.h): the records a write
 * leaves, their way to the kernel, fsyncs by policy, and the replies that
 * wait for them.
 *
 * Invariants: at most one write of the log is in flight (O_APPEND at the
 * current end, so records keep their order); at most one fsync, covering
 * written_lsn as it was when it started; synced_lsn <= written_lsn <= lsn;
 * held replies leave in lsn order once synced_lsn reaches them. A write that
 * fails keeps its message (and so its bytes) and is retried from where it
 * stopped, so the file never holds a record twice or a hole; meanwhile writes
 * are refused with -MISCONF and replies waiting for it stay held.
 */
#include "kv_aof_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kv_keys.h"
#include "kv_strings.h"

/* How long after a failed write or fsync it is tried again. */
#define RETRY_MS 1000u

uint64_t kv__aof_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* --- records --------------------------------------------------------------- */

static void add_select(struct kv_buf *b, int *cur, int db)
{
	char num[8];
	struct kv_arg sel[2] = { { "SELECT", 6 }, { num, 0 } };

	if (*cur == db)
		return;
	sel[1].len = (size_t)snprintf(num, sizeof(num), "%d", db);
	kv_buf_command(b, 2, sel);
	*cur = db;
}

/* One record; name, when not NULL, in place of argv[0]. */
static void emit_as(struct kv_aof *a, int db, const char *name, int argc, const struct kv_arg *argv)
{
	size_t before = a->pend.len;

	add_select(&a->pend, &a->pend_db, db);
	kv_buf_command_as(&a->pend, name, argc, argv);
	if (a->pend.oom) {
		/* The record is lost: the log no longer matches the store. Only
		 * a rewrite (from the store) can make it whole again. */
		a->pend.oom = false;
		a->pend.len = before;
		a->pend_db = -1;
		a->error = -ENOMEM;
		a->write_errors++;
		return;
	}
	a->lsn += a->pend.len - before;
	if (a->diffing) {
		add_select(&a->diff, &a->diff_db, db);
		kv_buf_command_as(&a->diff, name, argc, argv);
		if (a->diff.oom)
			a->snap.err = -ENOMEM; /* the rewrite fails; the log is fine */
	}
}

void kv__aof_emit(struct kv_aof *a, int db, int argc, const struct kv_arg *argv)
{
	emit_as(a, db, NULL, argc, argv);
}

static void emit_del(struct kv_aof *a, int db, const char *key, size_t klen)
{
	struct kv_arg argv[2] = { { "DEL", 3 }, { key, klen } };

	kv__aof_emit(a, db, 2, argv);
}

/* The key as it is now: SET key value [PXAT t], or DEL key. */
static void emit_state(struct kv_aof *a, struct kv_store *st, int db, const struct kv_arg *key,
		       uint64_t now_ms)
{
	struct kv_entry *e = kv_lookup(st, db, key->p, key->len, now_ms, false);
	struct kv_arg argv[5] = { { "SET", 3 }, *key, { NULL, 0 }, { "PXAT", 4 }, { NULL, 0 } };
	char when[24];
	int64_t exp;

	if (e == NULL) {
		emit_del(a, db, key->p, key->len);
		return;
	}
	argv[2].p = kv_entry_value(e, &argv[2].len);
	exp = kv_entry_expire(e);
	if (exp == KV_NO_EXPIRE) {
		kv__aof_emit(a, db, 3, argv);
		return;
	}
	argv[4] = (struct kv_arg){ when,
				   (size_t)snprintf(when, sizeof(when), "%lld", (long long)exp) };
	kv__aof_emit(a, db, 5, argv);
}

/* The key's expiry as it is now: PEXPIREAT key t, PERSIST key, or DEL key. */
static void emit_ttl(struct kv_aof *a, struct kv_store *st, int db, const struct kv_arg *key,
		     uint64_t now_ms)
{
	struct kv_entry *e = kv_lookup(st, db, key->p, key->len, now_ms, false);
	struct kv_arg argv[3] = { { "PEXPIREAT", 9 }, *key, { NULL, 0 } };
	char when[24];
	int64_t exp;

	if (e == NULL) {
		emit_del(a, db, key->p, key->len);
		return;
	}
	exp = kv_entry_expire(e);
	if (exp == KV_NO_EXPIRE) {
		argv[0] = (struct kv_arg){ "PERSIST", 7 };
		kv__aof_emit(a, db, 2, argv);
		return;
	}
	argv[2] = (struct kv_arg){ when,
				   (size_t)snprintf(when, sizeof(when), "%lld", (long long)exp) };
	kv__aof_emit(a, db, 3, argv);
}

static bool set_has_expiry(int argc, const struct kv_arg *argv)
{
	for (int i = 3; i < argc; i++) {
		if (kv_arg_is(&argv[i], "ex") || kv_arg_is(&argv[i], "px") ||
		    kv_arg_is(&argv[i], "exat") || kv_arg_is(&argv[i], "pxat"))
			return true;
	}
	return false;
}

uint64_t kv_aof_record(struct kv_core *core, const struct kv_command *cmd, const struct kv_exec *x,
		       int argc, const struct kv_arg *argv)
{
	struct kv_aof *a = core->aof;
	void (*f)(struct kv_exec *, int, const struct kv_arg *) = cmd->exec;

	if (a == NULL || x->dirty == 0)
		return 0;
	a->changes += x->dirty; /* INFO rdb_changes_since_last_save */
	if (!a->enabled || a->loading)
		return 0;
	/* Commands whose replay would depend on the clock or would not give
	 * the same value are logged as their effect on the key. */
	if (f == kv_cmd_setex || f == kv_cmd_psetex || f == kv_cmd_incrbyfloat ||
	    f == kv_cmd_kv_restore || (f == kv_cmd_set && set_has_expiry(argc, argv)))
		emit_state(a, x->store, x->db, &argv[1], x->now_ms);
	else if (f == kv_cmd_getex || f == kv_cmd_expire || f == kv_cmd_pexpire ||
		 f == kv_cmd_expireat || f == kv_cmd_pexpireat)
		emit_ttl(a, x->store, x->db, &argv[1], x->now_ms);
	else if (f == kv_cmd_getdel)
		emit_del(a, x->db, argv[1].p, argv[1].len);
	else /* by the table's name: the client's may be a rename-command's */
		emit_as(a, x->db, cmd->name, argc, argv);
	return core->settings.appendfsync == KV_FSYNC_ALWAYS ? a->lsn : 0;
}

/* The store's own deletions (kv_store_on_drop). */
static void on_drop(void *arg, int db, const char *key, size_t klen, enum kv_drop why)
{
	struct kv_aof *a = arg;

	(void)why;
	if (a->enabled && !a->loading)
		emit_del(a, db, key, klen);
}

/* --- life ---------------------------------------------------------------- */

int kv_aof_create(struct kv_core *core, atoll_ref shard)
{
	struct kv_aof *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return -ENOMEM;
	a->core = core;
	a->shard = shard;
	a->fd = -1;
	a->dir_fd = -1;
	a->snap.fd = -1;
	a->enabled = core->settings.appendonly != 0;
	a->pend_db = -1;
	a->diff_db = -1;
	a->last_rewrite_ok = true;
	a->last_save_ok = true;
	a->last_fsync_ms = kv__aof_now_ms();
	core->aof = a;
	if (core->store != NULL)
		kv_store_on_drop(core->store, on_drop, a);
	return 0;
}

void kv_aof_destroy(struct kv_core *core)
{
	struct kv_aof *a = core->aof;

	if (a == NULL)
		return;
	if (core->store != NULL)
		kv_store_on_drop(core->store, NULL, NULL);
	for (size_t i = 0; i < a->held_len; i++)
		atoll_msg_free(a->held[(a->held_head + i) % a->held_cap].msg);
	free(a->held);
	if (a->failed != NULL)
		atoll_msg_free(&a->failed->msg);
	for (size_t i = 0; i < a->snap.nchunks; i++)
		kv_buf_free(&a->snap.chunks[i]);
	free(a->snap.chunks);
	for (size_t i = 0; i < a->snap.nwaiters; i++)
		atoll_msg_free(a->snap.waiters[i].msg);
	free(a->snap.waiters);
	kv_buf_free(&a->pend);
	kv_buf_free(&a->diff);
	free(a->load_buf);
	/* Descriptors still open (the runtime stopped before they could be
	 * closed through it) are closed here, after the reactors are gone. */
	if (a->fd >= 0)
		close(a->fd);
	if (a->snap.fd >= 0)
		close(a->snap.fd);
	if (a->dir_fd >= 0)
		close(a->dir_fd);
	free(a);
	core->aof = NULL;
}

/* --- the write path ---------------------------------------------------------- */

bool kv_aof_sync_replies(const struct kv_core *core)
{
	const struct kv_aof *a = core->aof;

	return a != NULL && a->enabled && core->settings.appendfsync == KV_FSYNC_ALWAYS;
}

bool kv_aof_refuses_writes(const struct kv_core *core, char *msg, size_t len)
{
	const struct kv_aof *a = core->aof;

	if (a == NULL)
		return false;
	if (a->closed) {
		snprintf(msg, len, "ERR the server is shutting down");
		return true;
	}
	if (!a->enabled || a->error == 0)
		return false;
	snprintf(msg, len, "MISCONF Errors writing to the AOF file: %s", strerror(-a->error));
	return true;
}

void kv_aof_kick(atoll_ctx *ctx, struct kv_core *core)
{
	struct kv_aof *a = core->aof;
	atoll_msg *m;

	if (a == NULL || a->kicked || a->pend.len == 0 || a->stopped)
		return;
	m = atoll_msg_new(KV_MSG_AOF_KICK, 0);
	if (m != NULL && atoll_send(ctx, a->shard, m) >= 0)
		a->kicked = true;
}

static void start_fsync(atoll_ctx *ctx, struct kv_aof *a)
{
	struct atoll_io *io;

	if (a->fsync_end != 0 || a->written_lsn <= a->synced_lsn || a->fd < 0 ||
	    kv__snap_switching(a))
		return;
	io = atoll_io_new(AOF_T_FSYNC, 0);
	if (io == NULL)
		return;
	a->fsync_end = a->written_lsn;
	io->msg.corr = a->gen;
	if (atoll_io_fsync(ctx, a->fd, io, true) < 0)
		a->fsync_end = 0;
}

void kv_aof_flush(atoll_ctx *ctx, struct kv_core *core)
{
	struct kv_aof *a = core->aof;
	struct atoll_io *io;

	if (a == NULL || !a->enabled || a->fd < 0 || a->loading || a->stopped)
		return;
	if (a->write_end == 0 && a->failed == NULL && a->pend.len > 0 && !kv__snap_switching(a)) {
		io = kv_buf_take(&a->pend, AOF_T_WRITE);
		if (io != NULL) {
			a->write_end = a->lsn;
			io->msg.corr = a->gen;
			if (atoll_io_write(ctx, a->fd, io, ATOLL_IO_CURRENT) < 0)
				a->write_end = 0; /* the reactor is stopping */
		}
	}
	if (core->settings.appendfsync == KV_FSYNC_ALWAYS || a->sync_all ||
	    (core->settings.appendfsync == KV_FSYNC_EVERYSEC &&
	     kv__aof_now_ms() - a->last_fsync_ms >= 1000))
		start_fsync(ctx, a);
}

void kv__aof_send_held(atoll_ctx *ctx, struct kv_aof *a)
{
	while (a->held_len > 0) {
		struct kv_held *h = &a->held[a->held_head];

		if (h->lsn > a->synced_lsn)
			return;
		(void)atoll_send(ctx, h->to, h->msg);
		a->held_head = (a->held_head + 1) % a->held_cap;
		a->held_len--;
	}
}

void kv_aof_hold(atoll_ctx *ctx, struct kv_core *core, uint64_t lsn, atoll_ref to, atoll_msg *reply)
{
	struct kv_aof *a = core->aof;

	if (a == NULL || lsn <= a->synced_lsn) {
		(void)atoll_send(ctx, to, reply);
		return;
	}
	if (a->held_len == a->held_cap) {
		size_t cap = a->held_cap ? a->held_cap * 2 : 64;
		struct kv_held *h = malloc(cap * sizeof(*h));

		if (h == NULL) {
			/* No memory to wait: late is better than never. */
			(void)atoll_send(ctx, to, reply);
			return;
		}
		for (size_t i = 0; i < a->held_len; i++)
			h[i] = a->held[(a->held_head + i) % a->held_cap];
		free(a->held);
		a->held = h;
		a->held_cap = cap;
		a->held_head = 0;
	}
	a->held[(a->held_head + a->held_len) % a->held_cap] =
		(struct kv_held){ .lsn = lsn, .to = to, .msg = reply };
	a->held_len++;
}

static void write_done(atoll_ctx *ctx, struct kv_aof *a, struct atoll_io *io)
{
	if (io->msg.corr != a->gen) {
		/* To the file a rewrite replaced: what it held is in the new one. */
		atoll_msg_free(&io->msg);
		return;
	}
	if (io->res < 0) {
		/* Keep what was not written, to write it again later: the file
		 * holds a prefix of the records, never a gap. */
		if (a->error == 0)
			fprintf(stderr, "atoll-kv: shard %u: writing %s.%u: %s\n", a->core->index,
				KV_AOF_NAME, a->core->index, strerror(-io->res));
		a->file_size += io->done;
		memmove(io->msg.data, (char *)io->msg.data + io->done, io->msg.len - io->done);
		io->msg.len -= io->done;
		a->error = io->res;
		a->write_errors++;
		a->failed = io;
		a->retry_ms = kv__aof_now_ms() + RETRY_MS;
		return;
	}
	a->file_size += io->msg.len;
	if (a->written_lsn == a->synced_lsn)
		a->unsynced_ms = kv__aof_now_ms();
	a->written_lsn = a->write_end;
	a->write_end = 0;
	if (a->error != 0 && a->error != -EIO) {
		fprintf(stderr, "atoll-kv: shard %u: %s.%u is written again\n", a->core->index,
			KV_AOF_NAME, a->core->index);
		a->error = 0;
	}
	atoll_msg_free(&io->msg);
	kv_aof_flush(ctx, a->core);
	if (a->core->settings.appendfsync == KV_FSYNC_NO && !a->sync_all) {
		/* Nobody waits for an fsync: the kernel's writeback decides. */
		a->synced_lsn = a->written_lsn;
		kv__aof_send_held(ctx, a);
	}
}

static void fsync_done(atoll_ctx *ctx, struct kv_aof *a, struct atoll_io *io)
{
	int res = io->res;
	bool stale = io->msg.corr != a->gen;

	atoll_msg_free(&io->msg);
	if (stale)
		return; /* of the file a rewrite replaced */
	if (res < 0) {
		/* After a failed fsync the kernel may have dropped the pages it
		 * could not write: only a rewrite from memory is trustworthy
		 * again (kv_aof_tick starts one). */
		fprintf(stderr, "atoll-kv: shard %u: fsync of %s.%u: %s\n", a->core->index,
			KV_AOF_NAME, a->core->index, strerror(-res));
		a->fsync_end = 0;
		a->error = -EIO;
		a->write_errors++;
		a->retry_ms = kv__aof_now_ms() + RETRY_MS;
		return;
	}
	a->fsyncs++;
	a->last_fsync_ms = kv__aof_now_ms();
	if (a->fsync_end > a->synced_lsn)
		a->synced_lsn = a->fsync_end;
	a->fsync_end = 0;
	if (a->written_lsn > a->synced_lsn)
		a->unsynced_ms = a->last_fsync_ms;
	kv__aof_send_held(ctx, a);
	kv_aof_flush(ctx, a->core);
}

bool kv_aof_receive(atoll_ctx *ctx, struct kv_core *core, atoll_msg *msg)
{
	struct kv_aof *a = core->aof;
	struct atoll_io *io;

	if (msg->type < KV_MSG_AOF_KICK || msg->type >= AOF_T_LAST)
		return false;
	if (a == NULL)
		return true;
	switch (msg->type) {
	case KV_MSG_AOF_KICK:
		a->kicked = false;
		kv_aof_flush(ctx, core);
		return true;
	case KV_MSG_AOF_LOAD:
		(void)kv__aof_load_start(ctx, a);
		return true;
	default:
		break;
	}
	io = atoll_io_of(msg);
	if (io == NULL)
		return true;
	atoll_msg_keep(ctx, msg);
	switch (msg->type) {
	case AOF_T_WRITE:
		write_done(ctx, a, io);
		return true;
	case AOF_T_FSYNC:
		fsync_done(ctx, a, io);
		return true;
	case AOF_T_CLOSE:
		atoll_msg_free(msg);
		return true;
	default:
		if (!kv__aof_load_receive(ctx, a, io) && !kv__snap_receive(ctx, a, io))
			atoll_msg_free(msg);
		return true;
	}
}

void kv_aof_tick(atoll_ctx *ctx, struct kv_core *core)
{
	struct kv_aof *a = core->aof;
	uint64_t now = kv__aof_now_ms();
	const struct kv_settings *s = &core->settings;

	if (a == NULL || a->loading || a->stopped)
		return;
	if (a->failed != NULL && now >= a->retry_ms) {
		struct atoll_io *io = a->failed;

		a->failed = NULL;
		if (atoll_io_write(ctx, a->fd, io, ATOLL_IO_CURRENT) < 0)
			a->write_end = 0;
	}
	if (a->error == -EIO && a->snap.kind == SNAP_NONE && now >= a->retry_ms) {
		a->retry_ms = now + RETRY_MS;
		(void)kv__snap_start(ctx, a, SNAP_REWRITE);
	}
	if (a->enabled && a->fd >= 0 && a->snap.kind == SNAP_NONE && a->error == 0 &&
	    s->auto_aof_rewrite_percentage > 0 && a->file_size >= s->auto_aof_rewrite_min_size &&
	    a->file_size >= a->base_size + a->base_size / 100 * s->auto_aof_rewrite_percentage)
		(void)kv__snap_start(ctx, a, SNAP_REWRITE);
	kv_aof_flush(ctx, core);
}

int kv_aof_rewrite(atoll_ctx *ctx, struct kv_core *core)
{
	struct kv_aof *a = core->aof;

	if (a == NULL || !a->enabled || a->fd < 0)
		return -ENOENT;
	if (a->snap.kind == SNAP_REWRITE)
		return -EALREADY;
	if (a->snap.kind != SNAP_NONE)
		return -EBUSY;
	return kv__snap_start(ctx, a, SNAP_REWRITE);
}

void kv_aof_info(const struct kv_core *core, long long v[KV_PERSIST_FIELDS])
{
	const struct kv_aof *a = core->aof;
	uint64_t now = kv__aof_now_ms();

	memset(v, 0, sizeof(long long) * KV_PERSIST_FIELDS);
	v[KV_PERSIST_AOF_LAST_REWRITE_OK] = 1;
	v[KV_PERSIST_AOF_LAST_WRITE_OK] = 1;
	v[KV_PERSIST_LAST_SAVE_OK] = 1;
	if (a == NULL)
		return;
	v[KV_PERSIST_LOADING] = a->loading;
	v[KV_PERSIST_AOF_ENABLED] = a->enabled;
	v[KV_PERSIST_AOF_REWRITING] = a->snap.kind == SNAP_REWRITE;
	v[KV_PERSIST_AOF_REWRITES] = (long long)a->rewrites;
	v[KV_PERSIST_AOF_LAST_REWRITE_MS] = (long long)a->last_rewrite_ms;
	v[KV_PERSIST_AOF_LAST_REWRITE_OK] = a->last_rewrite_ok;
	v[KV_PERSIST_AOF_LAST_WRITE_OK] = a->error == 0;
	v[KV_PERSIST_AOF_CURRENT_SIZE] = (long long)a->file_size;
	v[KV_PERSIST_AOF_BASE_SIZE] = (long long)a->base_size;
	v[KV_PERSIST_AOF_BUFFER] = (long long)(a->lsn - a->written_lsn);
	v[KV_PERSIST_AOF_UNSYNCED] = (long long)(a->written_lsn - a->synced_lsn);
	v[KV_PERSIST_AOF_FSYNC_LAG] =
		a->written_lsn > a->synced_lsn ? (long long)(now - a->unsynced_ms) : 0;
	v[KV_PERSIST_AOF_FSYNCS] = (long long)a->fsyncs;
	v[KV_PERSIST_AOF_HELD] = (long long)a->held_len;
	v[KV_PERSIST_AOF_WRITE_ERRS] = (long long)a->write_errors;
	v[KV_PERSIST_CHANGES] = (long long)a->changes;
	v[KV_PERSIST_SAVING] = a->snap.kind == SNAP_DUMP;
	v[KV_PERSIST_LAST_SAVE] = (long long)a->last_save_unix;
	v[KV_PERSIST_LAST_SAVE_OK] = a->last_save_ok;
}

int kv_aof_dump(atoll_ctx *ctx, struct kv_core *core)
{
	struct kv_aof *a = core->aof;

	if (a == NULL)
		return -ENOENT;
	if (a->snap.kind != SNAP_NONE)
		return -EBUSY;
	return kv__snap_start(ctx, a, SNAP_DUMP);
}

bool kv_aof_loading(const struct kv_core *core)
{
	return core->aof != NULL && core->aof->loading;
}

uint64_t kv_aof_sync_all(struct kv_core *core, bool close)
{
	struct kv_aof *a = core->aof;

	if (a == NULL)
		return 0;
	/* From here until the runtime stops no write is acknowledged, so none
	 * can be lost: what SHUTDOWN and SIGTERM promise. */
	a->closed = close;
	if (!a->enabled || a->fd < 0)
		return 0;
	a->sync_all = close;
	return a->lsn > a->synced_lsn ? a->lsn : 0;
}

void kv_aof_stop(struct kv_core *core)
{
	struct kv_aof *a = core->aof;

	if (a == NULL)
		return;
	a->stopped = true;
	if (a->loading) {
		a->loading = false;
		snprintf(a->error_text, sizeof(a->error_text),
			 "shard %u stopped before it finished loading", core->index);
		/* Pairs with the starting thread's acquire (kv_server.h). */
		atomic_fetch_add_explicit(&core->server->load_failed, 1, memory_order_release);
	}
}

const char *kv_aof_error_text(const struct kv_core *core)
{
	return core->aof != NULL && core->aof->error_text[0] != '\0' ? core->aof->error_text : NULL;
}
