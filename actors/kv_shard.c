/*
 * kv_shard.c - the atoll-kv shard actor and the batch wire format
 * (kv_shard.h).
 *
 * Invariants: only this reactor touches core->store; a batch runs whole,
 * in one receive, so its commands are atomic with respect to every other
 * client's; while core->lock_holder is set, batches from anyone else wait in
 * `deferred`; each sender's batches run in the order they came, and the
 * holder's never wait behind anyone's.
 *
 * Batch layout: struct batch_head, then per entry a struct entry_head and
 * argc × (u32 length, bytes). Reply layout: struct reply_head, count u32
 * end offsets, then the RESP bytes.
 */
#include "kv_shard.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"

struct batch_head {
	uint64_t seq;
	uint32_t count;
	uint8_t proto;
	uint8_t pad[3];
};

struct entry_head {
	uint32_t op;
	uint16_t db;
	uint16_t pad;
	uint32_t argc;
};

struct reply_head {
	uint64_t seq;
	uint32_t count;
	uint32_t pad;
};

/* Shard 0 shutting the server down (SHUTDOWN, or a signal): first every
 * shard dumps (if asked), then every shard syncs its log, then the runtime
 * stops. */
#define SHUT_CORR 0x5348555444574eull /* the corr of its batches */

struct shutdown {
	bool active;
	bool save;
	bool force;
	bool failed;
	int phase; /* 1: dumps, 2: log syncs */
	unsigned waiting;
	atoll_msg *reply; /* SHUTDOWN's reply, sent only if it fails */
	atoll_ref reply_to;
	uint32_t entry;
};

struct kv_shard {
	struct kv_core *core;
	struct shutdown shut;
	int64_t shut_entry;  /* the entry of a SHUTDOWN in the batch, or -1 */
	struct kv_arg *argv; /* decoded arguments of the entry being run */
	size_t argv_cap;
	struct resp_out out;  /* the reply being built */
	atoll_msg **deferred; /* batches waiting for the lock, oldest first */
	size_t def_len;
	size_t def_cap;
	uint64_t dirty;
	uint64_t batch_lsn;      /* the log position the batch's reply waits for */
	int64_t wait_dump_entry; /* the entry of a SAVE in the batch, or -1 */
};

/* --- batch building (connection side) -------------------------------- */

void kv_batch_begin(struct kv_batch *b, uint64_t seq, uint8_t proto)
{
	struct batch_head h = { .seq = seq, .proto = proto };

	b->buf.len = 0;
	b->buf.oom = false;
	b->count = 0;
	kv_buf_add(&b->buf, &h, sizeof(h));
}

uint32_t kv_batch_add(struct kv_batch *b, uint32_t op, int db, int argc, const struct kv_arg *argv)
{
	struct entry_head e = { .op = op, .db = (uint16_t)db, .argc = (uint32_t)argc };
	size_t need = sizeof(e);

	for (int i = 0; i < argc; i++)
		need += 4 + argv[i].len;
	if (kv_buf_room(&b->buf, need)) {
		char *p = b->buf.p + b->buf.len;

		memcpy(p, &e, sizeof(e));
		p += sizeof(e);
		for (int i = 0; i < argc; i++) {
			uint32_t len = (uint32_t)argv[i].len;

			memcpy(p, &len, 4);
			memcpy(p + 4, argv[i].p, argv[i].len);
			p += 4 + argv[i].len;
		}
		b->buf.len += need;
	}
	return b->count++;
}

atoll_msg *kv_batch_take(struct kv_batch *b)
{
	struct kv_buf *buf = &b->buf;
	atoll_msg *m = NULL;

	if (!buf->oom && buf->len <= UINT32_MAX) {
		memcpy(buf->p + offsetof(struct batch_head, count), &b->count, 4);
		m = atoll_msg_new(KV_MSG_BATCH, 0);
	}
	if (m == NULL) {
		buf->len = 0;
		b->count = 0;
		return NULL;
	}
	atoll_msg_attach(m, buf->p, (uint32_t)buf->len,
			 (uint32_t)(buf->cap > UINT32_MAX ? buf->len : buf->cap), kv_buf_release);
	memset(buf, 0, sizeof(*buf));
	b->count = 0;
	return m;
}

void kv_batch_free(struct kv_batch *b)
{
	kv_buf_free(&b->buf);
	b->count = 0;
}

atoll_msg *kv_reply_patch(atoll_msg *reply, uint32_t i, const char *resp, size_t len)
{
	struct kv_reply_view v;
	struct reply_head rh;
	struct resp_out o;
	size_t base, n, cap;
	atoll_msg *m;
	char *buf;

	if (kv_reply_view(reply, &v) < 0 || i >= v.count) {
		return reply;
	}
	rh = (struct reply_head){ .seq = v.seq, .count = v.count };
	resp_out_init(&o, 2);
	resp_add_raw(&o, &rh, sizeof(rh));
	base = sizeof(rh) + 4ull * v.count;
	if (resp_out_reserve(&o, 4ull * v.count))
		o.len = base;
	for (uint32_t k = 0; k < v.count; k++) {
		const char *p = kv_reply_at(&v, k, &n);
		uint32_t endoff;

		if (k == i)
			resp_add_raw(&o, resp, len);
		else
			resp_add_raw(&o, p, n);
		endoff = (uint32_t)(o.len - base);
		if (!o.oom)
			memcpy(o.data + sizeof(rh) + 4ull * k, &endoff, 4);
	}
	m = o.oom ? NULL : atoll_msg_new(KV_MSG_REPLY, 0);
	if (m == NULL) {
		resp_out_free(&o);
		return reply; /* the +OK stands: better than no answer */
	}
	buf = resp_out_detach(&o, &n, &cap);
	atoll_msg_attach(m, buf, (uint32_t)n, (uint32_t)(cap > UINT32_MAX ? n : cap),
			 kv_buf_release);
	m->corr = reply->corr;
	atoll_msg_free(reply);
	return m;
}

int kv_reply_view(const atoll_msg *msg, struct kv_reply_view *v)
{
	struct reply_head h;

	if (msg->type != KV_MSG_REPLY || msg->len < sizeof(h))
		return -EINVAL;
	memcpy(&h, msg->data, sizeof(h));
	if (msg->len < sizeof(h) + 4ull * h.count)
		return -EINVAL;
	v->seq = h.seq;
	v->count = h.count;
	v->ends = (const uint32_t *)(const void *)((const char *)msg->data + sizeof(h));
	v->data = (const char *)msg->data + sizeof(h) + 4ull * h.count;
	return 0;
}

/* --- the shard --------------------------------------------------------- */

static void client_line(struct resp_out *o, const struct kv_client *c, uint64_t now_ms)
{
	char line[768];
	int n = snprintf(
		line, sizeof(line),
		"id=%llu addr=%s laddr=%s fd=%d name=%s age=%llu idle=%llu flags=N db=%d "
		"sub=0 psub=0 ssub=0 multi=-1 qbuf=%llu qbuf-free=0 argv-mem=0 multi-mem=0 "
		"rbs=0 rbp=0 obl=0 oll=0 omem=%llu tot-mem=0 events=r cmd=%s user=default "
		"redir=-1 resp=%u lib-name=%s lib-ver=%s\n",
		(unsigned long long)c->id, c->addr, c->laddr, c->fd, c->name,
		(unsigned long long)((now_ms - c->created_ms) / 1000),
		(unsigned long long)((now_ms - c->last_ms) / 1000), c->db,
		(unsigned long long)c->qbuf, (unsigned long long)c->omem,
		c->last_cmd ? c->last_cmd : "NULL", c->resp, c->lib_name, c->lib_ver);

	if (n > 0)
		resp_add_raw(o, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static void op_clients(struct kv_shard *sh, int argc, const struct kv_arg *argv)
{
	struct resp_out text;
	uint64_t now = kv_unix_ms();
	unsigned long long want_id = 0;

	/* Optional: "ID id ..." restricts the list (CLIENT LIST ID). */
	resp_out_init(&text, 2);
	for (const struct kv_client *c = sh->core->clients; c != NULL; c = c->next) {
		bool match = argc == 0;

		for (int i = 0; i < argc && !match; i++)
			match = kv_parse_ull(argv[i].p, argv[i].len, &want_id) && want_id == c->id;
		if (match)
			client_line(&text, c, now);
	}
	resp_add_bulk(&sh->out, text.data, text.len);
	resp_out_free(&text);
}

/*
 * CLIENT KILL filters, already checked by the connection: pairs of
 * (ID id | ADDR ip:port | LADDR ip:port | SKIPME yes/no | USER name |
 * TYPE normal), then the requester's id as the last argument.
 */
static void op_kill(atoll_ctx *ctx, struct kv_shard *sh, int argc, const struct kv_arg *argv)
{
	unsigned long long self_id = 0, id;
	long long killed = 0;
	bool skipme = true;

	if (argc < 1 || !kv_parse_ull(argv[argc - 1].p, argv[argc - 1].len, &self_id)) {
		resp_add_error(&sh->out, "ERR syntax error");
		return;
	}
	argc--;
	for (int i = 0; i + 1 < argc; i += 2) {
		if (kv_arg_is(&argv[i], "skipme"))
			skipme = kv_arg_is(&argv[i + 1], "yes");
	}
	for (struct kv_client *c = sh->core->clients; c != NULL; c = c->next) {
		bool match = true;

		if (skipme && c->id == self_id)
			continue;
		for (int i = 0; i + 1 < argc && match; i += 2) {
			const struct kv_arg *v = &argv[i + 1];

			if (kv_arg_is(&argv[i], "id"))
				match = kv_parse_ull(v->p, v->len, &id) && id == c->id;
			else if (kv_arg_is(&argv[i], "addr"))
				match = strlen(c->addr) == v->len &&
					memcmp(c->addr, v->p, v->len) == 0;
			else if (kv_arg_is(&argv[i], "laddr"))
				match = strlen(c->laddr) == v->len &&
					memcmp(c->laddr, v->p, v->len) == 0;
			else if (kv_arg_is(&argv[i], "user"))
				match = v->len == 7 && memcmp(v->p, "default", 7) == 0;
			else if (kv_arg_is(&argv[i], "type"))
				match = kv_arg_is(v, "normal");
		}
		if (match) {
			atoll_msg *m = atoll_msg_new(KV_MSG_KILL, 0);

			if (m != NULL && atoll_send(ctx, c->ref, m) >= 0)
				killed++;
		}
	}
	resp_add_int(&sh->out, killed);
}

static void op_info(struct kv_shard *sh)
{
	const struct kv_core *core = sh->core;
	const struct kv_core_stats *st = &core->stats;
	struct kv_store_stats ss;
	struct atoll_stats rs = { 0 };
	long long v[KV_INFO_FIELDS];

	kv_store_stats(core->store, &ss);
	if (core->server->rt != NULL)
		(void)atoll_runtime_stats(core->server->rt, core->index, &rs);
	v[KV_INFO_USED_MEMORY] = (long long)kv_store_memory(core->store);
	v[KV_INFO_EXPIRED_KEYS] = (long long)ss.expired_keys;
	v[KV_INFO_HITS] = (long long)ss.keyspace_hits;
	v[KV_INFO_MISSES] = (long long)ss.keyspace_misses;
	v[KV_INFO_COMMANDS] = (long long)st->commands;
	v[KV_INFO_COMMANDS_LOCAL] = (long long)st->commands_local;
	v[KV_INFO_COMMANDS_REMOTE] = (long long)st->commands_remote;
	v[KV_INFO_BATCHES_SENT] = (long long)st->batches_sent;
	v[KV_INFO_BATCHES_RUN] = (long long)st->batches_run;
	v[KV_INFO_BATCH_COMMANDS] = (long long)st->batch_commands;
	v[KV_INFO_CONNECTIONS] = (long long)st->connections;
	v[KV_INFO_REJECTED] = (long long)st->rejected;
	v[KV_INFO_NET_INPUT] = (long long)st->net_input;
	v[KV_INFO_NET_OUTPUT] = (long long)st->net_output;
	v[KV_INFO_PROTOCOL_ERRORS] = (long long)st->protocol_errors;
	v[KV_INFO_OUTPUT_DROPS] = (long long)st->output_drops;
	v[KV_INFO_LOCK_WAITS] = (long long)st->lock_waits;
	v[KV_INFO_CLIENTS] = (long long)core->nclients;
	v[KV_INFO_MSGS_LOCAL] = (long long)rs.sent_local;
	v[KV_INFO_MSGS_REMOTE] = (long long)rs.sent_remote;
	v[KV_INFO_DOORBELLS] = (long long)rs.doorbells;
	v[KV_INFO_WAKEUPS] = (long long)rs.wakeups;
	v[KV_INFO_DEAD_LETTERS] = (long long)rs.dead_letters;
	v[KV_INFO_QUEUED] = (long long)rs.queued;
	v[KV_INFO_QUEUED_MAX] = (long long)rs.queued_max;
	v[KV_INFO_RING_FULL] = (long long)rs.ring_full;
	v[KV_INFO_OVERFLOW] = (long long)rs.overflow;
	v[KV_INFO_EVICTED_KEYS] = (long long)ss.evicted_keys;
	kv_aof_info(core, &v[KV_INFO_PERSIST]);
	for (int db = 0; db < KV_DBS; db++) {
		struct kv_db_info di;

		kv_db_info(core->store, db, &di);
		v[KV_INFO_DB0 + 3 * db] = (long long)di.keys;
		v[KV_INFO_DB0 + 3 * db + 1] = (long long)di.expires;
		v[KV_INFO_DB0 + 3 * db + 2] = (long long)di.avg_ttl_ms;
	}
	resp_add_array(&sh->out, KV_INFO_FIELDS);
	for (int i = 0; i < KV_INFO_FIELDS; i++)
		resp_add_int(&sh->out, v[i]);
}

/* Phase 1: every shard closes for writes and syncs its log; 2: every shard
 * dumps (SHUTDOWN SAVE); 3: a refused shutdown reopens them. */
static void shutdown_phase(atoll_ctx *ctx, struct kv_shard *sh, int phase)
{
	const struct kv_server *srv = sh->core->server;
	const struct kv_arg open = { "open", 4 };
	struct kv_batch b = { 0 };

	sh->shut.phase = phase;
	sh->shut.waiting = 0;
	for (unsigned i = 0; i < srv->nshards; i++) {
		atoll_msg *m;

		kv_batch_begin(&b, 0, 2);
		(void)kv_batch_add(&b, phase == 2 ? KV_OP_SAVE : KV_OP_SYNC, 0, phase == 3, &open);
		m = kv_batch_take(&b);
		if (m == NULL) {
			sh->shut.failed = true;
			continue;
		}
		m->reply_to = atoll_self(ctx);
		m->corr = SHUT_CORR;
		if (atoll_send(ctx, srv->shards[i], m) >= 0)
			sh->shut.waiting++;
	}
	kv_batch_free(&b);
}

static void shutdown_start(atoll_ctx *ctx, struct kv_shard *sh, bool save, bool force)
{
	sh->shut.active = true;
	sh->shut.save = save;
	sh->shut.force = force;
	sh->shut.failed = false;
	fprintf(stderr, "atoll-kv: shutting down: syncing the logs%s\n",
		save ? ", then saving the dumps" : "");
	shutdown_phase(ctx, sh, 1);
	if (sh->shut.reply == NULL) { /* a signal: report if it takes long */
		atoll_msg *late = atoll_msg_new(KV_MSG_SHUTDOWN_LATE, 0);

		if (late != NULL)
			(void)atoll_send_after(ctx, atoll_self(ctx), late, 5000000000ull, NULL);
	}
}

/* A shard's answer to a shutdown phase. */
static void shutdown_reply(atoll_ctx *ctx, struct kv_shard *sh, const atoll_msg *msg)
{
	static const char refused[] = "-ERR Errors trying to SHUTDOWN. Check logs.\r\n";
	struct shutdown *st = &sh->shut;
	struct kv_reply_view v;
	const char *b;
	size_t len;

	if (!st->active || kv_reply_view(msg, &v) < 0 || st->waiting == 0)
		return;
	b = v.count == 1 ? kv_reply_at(&v, 0, &len) : NULL;
	if (b == NULL || len == 0 || b[0] == '-')
		st->failed = true;
	if (--st->waiting > 0)
		return;
	if (st->phase == 3) { /* reopened after a refusal */
		st->active = false;
		return;
	}
	if (st->phase == 1 && st->save && (!st->failed || st->force)) {
		shutdown_phase(ctx, sh, 2);
		return;
	}
	if (!st->failed || st->force || st->reply == NULL) {
		fprintf(stderr, "atoll-kv: %s, stopping\n",
			st->failed ? "errors while shutting down (see above)" : "every log synced");
		atoll_stop_runtime(ctx);
		return;
	}
	/* A dump failed: as Redis, SHUTDOWN refuses (unless FORCE), and the
	 * shards take writes again. */
	fprintf(stderr, "atoll-kv: shutdown refused: errors saving (see above)\n");
	if (st->reply != NULL) {
		atoll_msg *m = kv_reply_patch(st->reply, st->entry, refused, sizeof(refused) - 1);

		if (m != NULL)
			(void)atoll_send(ctx, st->reply_to, m);
	}
	st->reply = NULL;
	shutdown_phase(ctx, sh, 3);
}

/* KV_OP_REWRITE, KV_OP_SAVE, KV_OP_SYNC: the snapshot and log operations. */
static void op_persist(atoll_ctx *ctx, struct kv_shard *sh, uint32_t op, uint32_t entry, int argc,
		       const struct kv_arg *argv)
{
	struct kv_core *core = sh->core;
	uint64_t lsn;
	int err;

	switch (op) {
	case KV_OP_REWRITE:
		err = kv_aof_rewrite(ctx, core);
		if (err == -EALREADY)
			resp_add_error(&sh->out, "ERR Background append only file rewriting "
						 "already in progress");
		else if (err == -EBUSY)
			resp_add_error(&sh->out, "ERR Background save already in progress");
		else if (err == -ENOENT)
			resp_add_error(&sh->out,
				       "ERR Append only file is off: start with --appendonly yes");
		else if (err < 0)
			resp_add_errorf(&sh->out, "ERR Background AOF rewrite failed: %s",
					strerror(-err));
		else
			resp_add_status(&sh->out, "OK");
		return;
	case KV_OP_SAVE:
		err = kv_aof_dump(ctx, core);
		if (err == -EBUSY)
			resp_add_error(&sh->out, "ERR Background save or AOF rewrite already in "
						 "progress");
		else if (err < 0)
			resp_add_errorf(&sh->out, "ERR saving failed: %s", strerror(-err));
		else
			resp_add_status(&sh->out, "OK");
		if (err == 0 && !(argc >= 1 && kv_arg_is(&argv[0], "bg")))
			sh->wait_dump_entry = entry;
		return;
	case KV_OP_SYNC:
		lsn = kv_aof_sync_all(core, !(argc >= 1 && kv_arg_is(&argv[0], "open")));
		if (lsn > sh->batch_lsn)
			sh->batch_lsn = lsn;
		resp_add_status(&sh->out, "OK");
		return;
	default:
		return;
	}
}

/* Runs one entry; its reply goes to sh->out. Returns true when it released
 * the lock (the deferred batches may run). */
static bool run_entry(atoll_ctx *ctx, struct kv_shard *sh, atoll_ref from, uint32_t op,
		      uint32_t entry, int db, int argc, const struct kv_arg *argv, uint64_t now_ms)
{
	uint64_t lsn;
	struct kv_core *core = sh->core;
	const struct kv_command *cmd;
	struct kv_exec x;
	char err[160];

	switch (op) {
	case KV_OP_LOCK:
		core->lock_holder = from;
		resp_add_status(&sh->out, "OK");
		return false;
	case KV_OP_UNLOCK:
		if (core->lock_holder == from)
			core->lock_holder = ATOLL_REF_NONE;
		resp_add_status(&sh->out, "OK");
		return true;
	case KV_OP_INFO:
		op_info(sh);
		return false;
	case KV_OP_CLIENTS:
		op_clients(sh, argc, argv);
		return false;
	case KV_OP_KILL:
		op_kill(ctx, sh, argc, argv);
		return false;
	case KV_OP_CONFIG:
		if (argc == 2 && kv_settings_set(&core->settings, argv[0].p, argv[0].len, argv[1].p,
						 argv[1].len, err, sizeof(err)) == 0)
			resp_add_status(&sh->out, "OK");
		else
			resp_add_error(&sh->out, argc == 2 ? err : "ERR syntax error");
		return false;
	case KV_OP_RESETSTAT:
		kv_store_reset_stats(core->store);
		memset(&core->stats, 0, sizeof(core->stats));
		resp_add_status(&sh->out, "OK");
		return false;
	case KV_OP_REWRITE:
	case KV_OP_SAVE:
	case KV_OP_SYNC:
		op_persist(ctx, sh, op, entry, argc, argv);
		return false;
	case KV_OP_SHUTDOWN: {
		bool save = false, force = false;

		for (int i = 0; i < argc; i++) {
			save = save || kv_arg_is(&argv[i], "save");
			force = force || kv_arg_is(&argv[i], "force");
		}
		if (core->index != 0 || sh->shut.active) {
			resp_add_error(&sh->out, "ERR shutdown already in progress");
			return false;
		}
		resp_add_status(&sh->out, "OK"); /* replaced by the error if it fails */
		sh->shut_entry = entry;
		shutdown_start(ctx, sh, save, force);
		return false;
	}
	default:
		break;
	}
	cmd = op < kv_command_count() ? kv_command_at(op) : NULL;
	if (cmd == NULL || cmd->exec == NULL || db < 0 || db >= KV_DBS) {
		resp_add_error(&sh->out, "ERR internal: bad batch entry");
		return false;
	}
	x = (struct kv_exec){ .store = core->store, .db = db, .now_ms = now_ms, .out = &sh->out };
	lsn = kv_core_exec(core, cmd, &x, argc, argv);
	if (lsn > sh->batch_lsn)
		sh->batch_lsn = lsn;
	sh->dirty += x.dirty;
	return false;
}

/* The argv a shard keeps between batches (entries). */
#define ARGV_KEEP 1024u

static bool argv_room(struct kv_shard *sh, size_t n)
{
	struct kv_arg *a;

	if (n <= sh->argv_cap)
		return true;
	a = realloc(sh->argv, n * sizeof(*a));
	if (a == NULL)
		return false;
	sh->argv = a;
	sh->argv_cap = n;
	return true;
}

/* Runs a whole batch and answers it. Returns true when the lock was
 * released by it. */
static bool run_batch(atoll_ctx *ctx, struct kv_shard *sh, atoll_msg *msg)
{
	const char *p = msg->data, *end = p + msg->len;
	struct batch_head h;
	struct reply_head rh;
	uint64_t now_ms = kv_unix_ms();
	size_t base;
	unsigned long long out_limit;
	bool unlocked = false;
	atoll_msg *reply;
	char *buf;
	size_t len, cap;

	/* Too short to say what it holds: answer with no replies (the
	 * connection turns that into errors) rather than leave it waiting. */
	memset(&h, 0, sizeof(h));
	if (msg->len >= sizeof(h)) {
		memcpy(&h, p, sizeof(h));
		p += sizeof(h);
	}
	/* A count larger than the message's length is corrupt: answered with
	 * no replies instead of billions of errors. (A batch merely cut short
	 * gets an error for each entry it lost.) */
	if (h.count > msg->len)
		h.count = 0;
	resp_out_free(&sh->out);
	resp_out_init(&sh->out, h.proto == 3 ? 3 : 2);
	rh = (struct reply_head){ .seq = h.seq, .count = h.count };
	resp_add_raw(&sh->out, &rh, sizeof(rh));
	base = sizeof(rh) + 4ull * h.count;
	if (resp_out_reserve(&sh->out, 4ull * h.count))
		sh->out.len = base;
	out_limit = sh->core->settings.client_output_limit;
	sh->batch_lsn = 0;
	sh->wait_dump_entry = -1;
	sh->shut_entry = -1;
	for (uint32_t i = 0; i < h.count; i++) {
		struct entry_head e;
		uint32_t endoff;
		bool ok = (size_t)(end - p) >= sizeof(e);

		if (ok) {
			memcpy(&e, p, sizeof(e));
			p += sizeof(e);
			/* Each argument takes at least its length word. */
			ok = e.argc <= (size_t)(end - p) / 4 && argv_room(sh, e.argc ? e.argc : 1);
			for (uint32_t a = 0; ok && a < e.argc; a++) {
				uint32_t alen;

				ok = (size_t)(end - p) >= 4;
				if (!ok)
					break;
				memcpy(&alen, p, 4);
				ok = (size_t)(end - p - 4) >= alen;
				sh->argv[a] = (struct kv_arg){ .p = p + 4, .len = alen };
				p += 4 + (ok ? alen : 0);
			}
		}
		if (ok && out_limit != 0 && sh->out.len - base > out_limit && e.op < KV_OP_LOCK)
			/* The client will be dropped over its output limit anyway
			 * (resp_conn.c): do not run, and buffer, the rest of a
			 * pipeline of big replies. Lock operations always run. */
			resp_add_error(&sh->out,
				       "ERR output buffer limit reached, command not run");
		else if (ok)
			unlocked |= run_entry(ctx, sh, msg->reply_to, e.op, i, e.db, (int)e.argc,
					      sh->argv, now_ms);
		else
			resp_add_error(&sh->out, "ERR internal: malformed batch");
		endoff = (uint32_t)(sh->out.len - base);
		if (!sh->out.oom)
			memcpy(sh->out.data + sizeof(rh) + 4ull * i, &endoff, 4);
	}
	/* A command with many arguments (MSET of 50 000 pairs) grew argv: give
	 * it back, as the parser does, so a shard keeps only what ordinary
	 * commands need. */
	if (sh->argv_cap > ARGV_KEEP) {
		free(sh->argv);
		sh->argv = NULL;
		sh->argv_cap = 0;
	}
	sh->core->stats.batches_run++;
	sh->core->stats.batch_commands += h.count;
	if (sh->out.oom || sh->out.len > UINT32_MAX) {
		/* No memory for the replies: the connection gets an empty reply
		 * message and turns it into errors (see resp_conn.c). */
		resp_out_free(&sh->out);
		resp_out_init(&sh->out, 2);
		rh.count = 0;
		resp_add_raw(&sh->out, &rh, sizeof(rh));
	}
	buf = resp_out_detach(&sh->out, &len, &cap);
	reply = atoll_msg_new(KV_MSG_REPLY, 0);
	if (reply == NULL) {
		free(buf);
		return unlocked;
	}
	atoll_msg_attach(reply, buf, (uint32_t)len, (uint32_t)(cap > UINT32_MAX ? len : cap),
			 kv_buf_release);
	reply->corr = msg->corr;
	if (sh->shut_entry >= 0 && sh->shut.reply == NULL) {
		sh->shut.reply = reply; /* answered only if the shutdown fails */
		sh->shut.reply_to = msg->reply_to;
		sh->shut.entry = (uint32_t)sh->shut_entry;
		return unlocked;
	}
	if (sh->wait_dump_entry >= 0 &&
	    kv_aof_wait_dump(sh->core, msg->reply_to, reply, (uint32_t)sh->wait_dump_entry) == 0)
		return unlocked; /* sent when the dump is written */
	/* appendfsync always: once the log is fsynced past the batch's writes. */
	kv_aof_hold(ctx, sh->core, sh->batch_lsn, msg->reply_to, reply);
	return unlocked;
}

static bool defer(struct kv_shard *sh, atoll_msg *msg)
{
	if (sh->def_len == sh->def_cap) {
		size_t cap = sh->def_cap ? sh->def_cap * 2 : 16;
		atoll_msg **q = realloc(sh->deferred, cap * sizeof(*q));

		if (q == NULL)
			return false;
		sh->deferred = q;
		sh->def_cap = cap;
	}
	sh->deferred[sh->def_len++] = msg;
	return true;
}

static bool may_run(const struct kv_shard *sh, const atoll_msg *m)
{
	atoll_ref holder = sh->core->lock_holder;

	/* While the log is replayed, every batch waits. */
	return (holder == ATOLL_REF_NONE || holder == m->reply_to) && !kv_aof_loading(sh->core);
}

/*
 * Runs the deferred batches that may run now, oldest first, until none may:
 * each pass takes the first one whose sender may run. A sender's batches
 * all may run or all may not, so each sender's keep their order; and the
 * holder's own (its UNLOCK above all) never wait behind another sender's,
 * which would wait for that UNLOCK for ever.
 */
static void run_deferred(atoll_ctx *ctx, struct kv_shard *sh)
{
	for (;;) {
		size_t i = 0;
		atoll_msg *m;

		while (i < sh->def_len && !may_run(sh, sh->deferred[i]))
			i++;
		if (i == sh->def_len)
			return;
		m = sh->deferred[i];
		memmove(&sh->deferred[i], &sh->deferred[i + 1],
			(sh->def_len - i - 1) * sizeof(*sh->deferred));
		sh->def_len--;
		(void)run_batch(ctx, sh, m);
		atoll_msg_free(m);
	}
}

static void shard_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct kv_shard *sh = state;
	struct kv_core *core = sh->core;

	if (kv_aof_receive(ctx, core, msg)) {
		if (sh->def_len > 0) /* loading may have ended */
			run_deferred(ctx, sh);
		return;
	}
	switch (msg->type) {
	case KV_MSG_BATCH:
		/* The common case: nothing waits and nobody else holds the lock. */
		if (sh->def_len == 0 && may_run(sh, msg)) {
			if (run_batch(ctx, sh, msg))
				run_deferred(ctx, sh);
			kv_aof_flush(ctx, core);
			return;
		}
		/* Behind the lock, or behind batches that are: in the queue, so
		 * that a sender's batches never overtake one another. */
		if (!may_run(sh, msg))
			core->stats.lock_waits++;
		if (defer(sh, msg))
			atoll_msg_keep(ctx, msg);
		else
			(void)run_batch(ctx, sh, msg); /* no memory to wait: run it */
		run_deferred(ctx, sh);
		kv_aof_flush(ctx, core);
		return;
	case KV_MSG_REPLY:
		if (msg->corr == SHUT_CORR)
			shutdown_reply(ctx, sh, msg);
		return;
	case KV_MSG_SIGNAL:
		if (!sh->shut.active)
			shutdown_start(ctx, sh, false, true);
		return;
	case KV_MSG_SHUTDOWN_LATE:
		/* A log that cannot be written (a full disk) keeps a sync
		 * waiting; say so: a second signal stops at once. */
		if (sh->shut.active)
			fprintf(stderr,
				"atoll-kv: shutdown: %u shard(s) still syncing after 5 s (phase "
				"%d); send the signal again to stop without them\n",
				sh->shut.waiting, sh->shut.phase);
		return;
	case KV_MSG_EXPIRE:
		/* A replay runs with the clock stopped: nothing expires then. */
		if (!kv_aof_loading(core)) {
			uint64_t now = kv_unix_ms();

			(void)kv_store_active_expire(core->store, now, 1000);
			kv_aof_tick(ctx, core);
		}
		return;
	default:
		return;
	}
}

static int shard_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct kv_server *srv = (struct kv_server *)(uintptr_t)arg;
	struct kv_shard *sh = state;
	unsigned core = atoll_core(ctx);
	atoll_msg *tick;
	unsigned hz;

	if (srv == NULL || core >= srv->nshards)
		return -EINVAL;
	sh->core = &srv->cores[core];
	if (sh->core->store == NULL) {
		sh->core->store = kv_store_new();
		if (sh->core->store == NULL)
			return -ENOMEM;
	}
	resp_out_init(&sh->out, 2);
	sh->wait_dump_entry = -1;
	/* The log (or the dump) is replayed before anything else runs: the
	 * program starts the listeners once every shard has loaded. */
	if (sh->core->aof == NULL) {
		atoll_msg *load;
		int err = kv_aof_create(sh->core, atoll_self(ctx));

		if (err < 0)
			return err;
		load = atoll_msg_new(KV_MSG_AOF_LOAD, 0);
		if (load == NULL || atoll_send(ctx, atoll_self(ctx), load) < 0)
			return -ENOMEM;
	}
	hz = sh->core->settings.hz ? sh->core->settings.hz : 10;
	tick = atoll_msg_new(KV_MSG_EXPIRE, 0);
	if (tick == NULL)
		return -ENOMEM;
	return atoll_send_every(ctx, atoll_self(ctx), tick, 1000000000ull / hz, NULL);
}

static void shard_stop(atoll_ctx *ctx, void *state)
{
	struct kv_shard *sh = state;

	(void)ctx;
	kv_aof_stop(sh->core);
	atoll_msg_free(sh->shut.reply);
	sh->shut.reply = NULL;
	/* Batches still waiting for a lock that will never be released: the
	 * server is stopping, their senders are going too. */
	for (size_t i = 0; i < sh->def_len; i++)
		atoll_msg_free(sh->deferred[i]);
	sh->def_len = 0;
	free(sh->deferred);
	free(sh->argv);
	resp_out_free(&sh->out);
	/* The store stays: connections on this core may still be running; the
	 * server frees it after the runtime has stopped. */
}

const struct atoll_actor_type kv_shard_type = {
	.name = "kv_shard",
	.state_size = sizeof(struct kv_shard),
	.init = shard_init,
	.receive = shard_receive,
	.stop = shard_stop,
};
