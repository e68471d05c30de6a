/*
 * kv_coord.c - commands whose keys live on different shards (RENAME,
 * RENAMENX, COPY, MSETNX, LCS), coordinated by the client's connection.
 *
 * The connection stops parsing, sends its pending batches (so the client's
 * earlier commands run first), then takes the lock of every shard involved
 * in ascending shard order - two coordinators that need the same shards
 * queue behind one another instead of deadlocking - and runs the command as
 * a few internal steps (kv.dump, exists, kv.restore, mset, del). A locked
 * shard runs only the holder's batches, so the steps are atomic for every
 * other client. LCS only reads, and takes no lock. If the client goes away
 * mid-way, the locks it asked for are released (coord_abandon).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp_conn_int.h"

enum kind {
	K_RENAME,
	K_RENAMENX,
	K_COPY,
	K_MSETNX,
	K_LCS,
	K_SCAN
};
enum phase {
	P_LOCK,
	P_WORK,
	P_UNLOCK
};

struct coord {
	enum kind kind;
	enum phase phase;
	int step;
	unsigned *locks; /* shards to lock, ascending (owned) */
	unsigned nlocks;
	unsigned nlocked;
	bool lock_sent;   /* a lock request is out, not answered */
	unsigned waiting; /* replies due in this step */
	int db, dst_db;
	bool replace;
	int argc;
	struct kv_arg *argv; /* copies, in one allocation with the bytes */
	char *val[2];        /* kv.dump results */
	size_t vlen[2];
	long long exp[2];
	bool found[2];
	long long sum;
	struct resp_out result;
	const struct kv_command *cmd;
	unsigned scan_shard;      /* K_SCAN: the shard being scanned */
	long long scan_count;     /* K_SCAN: COUNT, default 10 */
	long long scan_keys;      /* K_SCAN: keys gathered so far */
	struct resp_out scan_out; /* K_SCAN: their replies, back to back */
};

static void send_op(struct conn *c, unsigned shard, uint32_t op, int db, int argc,
		    const struct kv_arg *argv, unsigned tag)
{
	struct kv_batch b = { 0 };
	atoll_msg *m;

	kv_batch_begin(&b, 0, 2);
	(void)kv_batch_add(&b, op, db, argc, argv);
	m = kv_batch_take(&b);
	kv_batch_free(&b);
	c->coord->waiting++;
	if (m == NULL)
		goto lost;
	m->reply_to = atoll_self(c->ctx);
	m->corr = CORR_COORD | tag;
	if (atoll_send(c->ctx, c->srv->shards[shard], m) >= 0)
		return;
lost:
	/* The shard is gone (the server is stopping) or memory is: answer the
	 * client with an error once the step's other replies are in. */
	c->coord->waiting--;
	resp_out_reset(&c->coord->result);
	resp_add_error(&c->coord->result, "ERR out of memory");
}

static void send_cmd(struct conn *c, unsigned shard, const char *name, int db, int argc,
		     const struct kv_arg *argv, unsigned tag)
{
	const struct kv_command *cmd = kv_command_find(name, strlen(name));

	send_op(c, shard, kv_command_index(cmd), db, argc, argv, tag);
}

static unsigned shard_of(struct conn *c, const struct kv_arg *k)
{
	return kv_shard_of(c->srv, k->p, k->len);
}

static void coord_free(struct conn *c)
{
	struct coord *co = c->coord;

	c->coord = NULL;
	free(co->val[0]);
	free(co->val[1]);
	free(co->argv);
	free(co->locks);
	resp_out_free(&co->result);
	resp_out_free(&co->scan_out);
	free(co);
}

static void finish(struct conn *c)
{
	struct coord *co = c->coord;
	size_t off;
	struct resp_out *o = conn_block_out(c, &off);

	resp_add_raw(o, co->result.data, co->result.len);
	coord_free(c);
	conn_unblock(c, off);
}

static void unlock_all(struct conn *c)
{
	struct coord *co = c->coord;

	co->phase = P_UNLOCK;
	if (co->nlocked == 0) {
		finish(c);
		return;
	}
	for (unsigned i = 0; i < co->nlocked; i++)
		send_op(c, co->locks[i], KV_OP_UNLOCK, 0, 0, NULL, 0);
	if (co->waiting == 0)
		finish(c);
}

static void lock_next(struct conn *c)
{
	struct coord *co = c->coord;

	co->lock_sent = true;
	send_op(c, co->locks[co->nlocked], KV_OP_LOCK, 0, 0, NULL, 0);
}

static void work(struct conn *c);

static void start_work(struct conn *c)
{
	c->coord->phase = P_WORK;
	c->coord->step = 0;
	work(c);
}

/* SCAN: asks shard co->scan_shard for a page from its cursor tc. */
static void scan_send(struct conn *c, unsigned long long tc)
{
	struct coord *co = c->coord;
	struct kv_arg cursor = co->argv[1];
	char num[24];

	/* The client's arguments, with the shard's own cursor in place of the
	 * server-wide one (the batch copies them). */
	co->argv[1] = (struct kv_arg){ num, (size_t)snprintf(num, sizeof(num), "%llu", tc) };
	send_op(c, co->scan_shard, kv_command_index(co->cmd), co->db, co->argc, co->argv, 0);
	co->argv[1] = cursor;
}

/*
 * SCAN's page from one shard: "*2\r\n$<n>\r\n<cursor>\r\n*<k>...". The
 * server-wide cursor is shard_cursor * shards + shard; a shard that is done
 * hands over to the next one, and an empty page from a finished shard goes
 * straight on to the next, so an empty keyspace answers cursor 0 at once.
 */
static void scan_reply(struct conn *c, const char *b, size_t len)
{
	struct coord *co = c->coord;
	unsigned n = c->srv->nshards;
	const char *p, *end = b + len, *cr;
	unsigned long long tc, next;
	long long keys = -1;
	char num[24];

	if (len > 0 && b[0] == '-') {
		resp_add_raw(&co->result, b, len);
		finish(c);
		return;
	}
	/* "*2\r\n", the cursor as a bulk string, then the keys' array. */
	size_t bl = len > 4 && memcmp(b, "*2\r\n", 4) == 0 ? resp_value_len(b + 4, len - 4) : 0;
	const char *digits = bl > 0 ? memchr(b + 4, '\n', bl) : NULL;

	cr = b + 4 + bl; /* the keys' array */
	p = cr < end ? memchr(cr, '\r', (size_t)(end - cr)) : NULL;
	if (digits == NULL || b[4] != '$' ||
	    !kv_parse_ull(digits + 1, (size_t)(b + 4 + bl - 2 - digits - 1), &tc) || p == NULL ||
	    *cr != '*' || !kv_parse_ll(cr + 1, (size_t)(p - cr - 1), &keys)) {
		resp_add_error(&co->result, "ERR internal: bad SCAN reply");
		finish(c);
		return;
	}
	co->scan_keys += keys;
	resp_add_raw(&co->scan_out, p + 2, (size_t)(end - p - 2));
	/* A finished shard with room left in the page: go on with the next
	 * one, as Redis's single table would. */
	if (tc == 0 && co->scan_keys < co->scan_count && co->scan_shard + 1 < n) {
		co->scan_shard++;
		scan_send(c, 0);
		return;
	}
	if (tc != 0)
		next = tc * n + co->scan_shard;
	else
		next = co->scan_shard + 1 < n ? co->scan_shard + 1 : 0;
	resp_add_array(&co->result, 2);
	resp_add_bulk(&co->result, num, (size_t)snprintf(num, sizeof(num), "%llu", next));
	resp_add_array(&co->result, (size_t)co->scan_keys);
	resp_add_raw(&co->result, co->scan_out.data, co->scan_out.len);
	resp_out_free(&co->scan_out);
	finish(c);
}

/* Runs the next step of the command, or ends it (result set). */
static void work(struct conn *c)
{
	struct coord *co = c->coord;
	const struct kv_arg *a = co->argv;
	struct resp_out *r = &co->result;

	if (r->len > 0) { /* a step failed */
		unlock_all(c);
		return;
	}
	switch (co->kind) {
	case K_SCAN:
		return;
	case K_LCS:
		if (co->step++ == 0) {
			send_cmd(c, shard_of(c, &a[1]), "kv.dump", co->db, 2,
				 (struct kv_arg[]){ { "kv.dump", 7 }, a[1] }, 0);
			send_cmd(c, shard_of(c, &a[2]), "kv.dump", co->db, 2,
				 (struct kv_arg[]){ { "kv.dump", 7 }, a[2] }, 1);
			return;
		}
		kv_lcs_reply(r, co->found[0] ? co->val[0] : NULL, co->vlen[0],
			     co->found[1] ? co->val[1] : NULL, co->vlen[1], co->argc, a, 3);
		unlock_all(c);
		return;
	case K_RENAME:
	case K_RENAMENX:
	case K_COPY:
		switch (co->step++) {
		case 0:
			send_cmd(c, shard_of(c, &a[1]), "kv.dump", co->db, 2,
				 (struct kv_arg[]){ { "kv.dump", 7 }, a[1] }, 0);
			return;
		case 1:
			if (!co->found[0]) {
				if (co->kind == K_COPY)
					resp_add_int(r, 0);
				else
					resp_add_error(r, "ERR no such key");
				unlock_all(c);
				return;
			}
			if (co->kind == K_RENAMENX) {
				send_cmd(c, shard_of(c, &a[2]), "exists", co->db, 2,
					 (struct kv_arg[]){ { "exists", 6 }, a[2] }, 0);
				return;
			}
			co->step++;
			/* fall through */
		case 2: {
			char exp[24];
			struct kv_arg args[5] = { { "kv.restore", 10 },
						  a[2],
						  { co->val[0], co->vlen[0] } };
			int n = 4;

			if (co->kind == K_RENAMENX && co->sum > 0) {
				resp_add_int(r, 0);
				unlock_all(c);
				return;
			}
			args[3].len = (size_t)snprintf(exp, sizeof(exp), "%lld", co->exp[0]);
			args[3].p = exp;
			if (co->kind == K_COPY && !co->replace)
				args[n++] = (struct kv_arg){ "NX", 2 };
			co->sum = 0;
			send_cmd(c, shard_of(c, &a[2]), "kv.restore", co->dst_db, n, args, 0);
			return;
		}
		case 3:
			/* The source goes only once the copy is in: kv.restore
			 * may be refused (-OOM over maxmemory, out of memory),
			 * and then the step above failed and the key stays. */
			if (co->kind != K_COPY) {
				send_cmd(c, shard_of(c, &a[1]), "del", co->db, 2,
					 (struct kv_arg[]){ { "del", 3 }, a[1] }, 2);
				return;
			}
			/* fall through */
		default:
			if (co->kind == K_COPY)
				resp_add_int(r, co->sum);
			else if (co->kind == K_RENAMENX)
				resp_add_int(r, 1);
			else
				resp_add_status(r, "OK");
			unlock_all(c);
			return;
		}
	case K_MSETNX: {
		int pairs = (co->argc - 1) / 2;
		struct kv_arg *sub = malloc((size_t)co->argc * sizeof(*sub));

		if (sub == NULL) {
			resp_add_error(r, "ERR out of memory");
			unlock_all(c);
			return;
		}
		if (co->step == 1 && co->sum > 0) {
			resp_add_int(r, 0);
		} else if (co->step == 2) {
			resp_add_int(r, 1);
		} else {
			for (unsigned i = 0; i < co->nlocks; i++) {
				int n = 1;

				sub[0] = co->step == 0 ? (struct kv_arg){ "exists", 6 }
						       : (struct kv_arg){ "mset", 4 };
				for (int k = 0; k < pairs; k++) {
					if (shard_of(c, &a[1 + 2 * k]) != co->locks[i])
						continue;
					sub[n++] = a[1 + 2 * k];
					if (co->step == 1)
						sub[n++] = a[2 + 2 * k];
				}
				send_cmd(c, co->locks[i], co->step == 0 ? "exists" : "mset", co->db,
					 n, sub, 0);
			}
			co->step++;
			free(sub);
			return;
		}
		free(sub);
		unlock_all(c);
		return;
	}
	}
}

/* Reads a kv.dump reply into slot i. */
static void dump_result(struct coord *co, int i, const char *b, size_t len)
{
	const char *p, *end = b + len;
	long long n;

	co->found[i] = false;
	if (len >= 2 && (b[0] == '-')) {
		resp_add_raw(&co->result, b, len);
		return;
	}
	if (len < 4 || b[0] != '*' || b[1] == '-')
		return;
	/* "*2\r\n$<n>\r\n<bytes>\r\n:<exp>\r\n" */
	p = memchr(b, '\n', len);
	if (p == NULL || ++p >= end || *p != '$')
		return;
	{
		const char *cr = memchr(p, '\r', (size_t)(end - p));

		if (cr == NULL || !kv_parse_ll(p + 1, (size_t)(cr - p - 1), &n) || n < 0 ||
		    (size_t)n > (size_t)(end - cr - 2))
			return;
		p = cr + 2;
	}
	co->val[i] = malloc((size_t)n + 1);
	if (co->val[i] == NULL) {
		resp_add_error(&co->result, "ERR out of memory");
		return;
	}
	memcpy(co->val[i], p, (size_t)n);
	co->vlen[i] = (size_t)n;
	p += n + 2;
	if (p >= end || *p != ':')
		return;
	{
		const char *cr = memchr(p, '\r', (size_t)(end - p));

		if (cr == NULL || !kv_parse_ll(p + 1, (size_t)(cr - p - 1), &co->exp[i]))
			return;
	}
	co->found[i] = true;
}

void coord_reply(struct conn *c, atoll_msg *msg)
{
	struct coord *co = c->coord;
	struct kv_reply_view v;
	unsigned tag = (unsigned)(msg->corr & 0xff);
	const char *b = "-ERR out of memory\r\n";
	size_t len = 20;
	long long n;

	if (co == NULL)
		return;
	if (kv_reply_view(msg, &v) == 0 && v.count == 1)
		b = kv_reply_at(&v, 0, &len);
	co->waiting--;
	switch (co->phase) {
	case P_LOCK:
		co->lock_sent = false;
		co->nlocked++;
		if (co->nlocked < co->nlocks)
			lock_next(c);
		else
			start_work(c);
		return;
	case P_UNLOCK:
		if (co->waiting == 0)
			finish(c);
		return;
	case P_WORK:
		break;
	}
	if (co->kind == K_SCAN) {
		scan_reply(c, b, len);
		return;
	}
	if (co->kind != K_MSETNX && co->step == 1 && tag <= 1) {
		dump_result(co, (int)tag, b, len);
	} else if (len > 0 && b[0] == '-') {
		if (co->result.len == 0)
			resp_add_raw(&co->result, b, len);
	} else if (tag != 2 && len >= 4 && b[0] == ':' && kv_parse_ll(b + 1, len - 3, &n)) {
		co->sum += n;
	}
	if (co->waiting == 0)
		work(c);
}

static struct coord *coord_new(struct conn *c, const struct kv_command *cmd, int argc,
			       const struct kv_arg *argv)
{
	struct coord *co = calloc(1, sizeof(*co));
	size_t bytes = 0;
	char *p;

	if (co == NULL)
		return NULL;
	for (int i = 0; i < argc; i++)
		bytes += argv[i].len;
	co->argv = malloc((size_t)argc * sizeof(*co->argv) + bytes);
	if (co->argv == NULL || !conn_block(c)) {
		free(co->argv);
		free(co);
		return NULL;
	}
	p = (char *)(co->argv + argc);
	for (int i = 0; i < argc; i++) {
		memcpy(p, argv[i].p, argv[i].len);
		co->argv[i] = (struct kv_arg){ p, argv[i].len };
		p += argv[i].len;
	}
	co->argc = argc;
	co->cmd = cmd;
	co->db = co->dst_db = c->client.db;
	resp_out_init(&co->result, c->client.resp);
	c->coord = co;
	/* The client's earlier commands go first. */
	conn_flush_builders(c);
	return co;
}

void coord_start(struct conn *c, const struct kv_command *cmd, int argc, const struct kv_arg *argv)
{
	struct coord *co;
	enum kind kind;
	unsigned first, nk = 0, *locks = NULL;
	bool one = true, replace = false;
	int dst_db = c->client.db;

	if (strcmp(cmd->name, "rename") == 0)
		kind = K_RENAME;
	else if (strcmp(cmd->name, "renamenx") == 0)
		kind = K_RENAMENX;
	else if (strcmp(cmd->name, "copy") == 0)
		kind = K_COPY;
	else if (strcmp(cmd->name, "lcs") == 0)
		kind = K_LCS;
	else
		kind = K_MSETNX;
	if (kind == K_MSETNX && (argc - 1) % 2 != 0) {
		conn_error(c, "ERR wrong number of arguments for 'msetnx' command");
		return;
	}
	first = shard_of(c, &argv[1]);
	for (int i = 1; i < argc && (kind == K_MSETNX || i <= 2); i += kind == K_MSETNX ? 2 : 1)
		one = one && shard_of(c, &argv[i]) == first;
	if (one) {
		conn_route_key(c, cmd, argc, argv, first);
		return;
	}
	if (kind == K_COPY) {
		for (int i = 3; i < argc; i++) {
			long long db;

			if (kv_arg_is(&argv[i], "replace")) {
				replace = true;
			} else if (kv_arg_is(&argv[i], "db") && i + 1 < argc) {
				if (!kv_parse_ll(argv[i + 1].p, argv[i + 1].len, &db)) {
					conn_error(c,
						   "ERR value is not an integer or out of range");
					return;
				}
				if (db < 0 || db >= KV_DBS) {
					conn_error(c, "ERR DB index is out of range");
					return;
				}
				dst_db = (int)db;
				i++;
			} else {
				conn_error(c, "ERR syntax error");
				return;
			}
		}
	} else if ((kind == K_RENAME || kind == K_RENAMENX) && argc != 3) {
		conn_error(c, "ERR syntax error");
		return;
	}
	/* The shards to lock, ascending, without repeats. */
	if (kind != K_LCS) {
		unsigned n = c->srv->nshards;
		bool *used = calloc(n, sizeof(*used));

		locks = malloc(n * sizeof(*locks));
		if (used == NULL || locks == NULL) {
			free(used);
			free(locks);
			conn_error(c, "ERR out of memory");
			return;
		}
		for (int i = 1; i < argc && (kind == K_MSETNX || i <= 2);
		     i += kind == K_MSETNX ? 2 : 1)
			used[shard_of(c, &argv[i])] = true;
		for (unsigned s = 0; s < n; s++) {
			if (used[s])
				locks[nk++] = s;
		}
		free(used);
	}
	co = coord_new(c, cmd, argc, argv);
	if (co == NULL) {
		free(locks);
		conn_error(c, "ERR out of memory");
		return;
	}
	co->kind = kind;
	co->replace = replace;
	co->dst_db = dst_db;
	co->locks = locks;
	co->nlocks = nk;
	if (co->nlocks > 0) {
		co->phase = P_LOCK;
		lock_next(c);
	} else {
		start_work(c);
	}
}

void coord_scan(struct conn *c, const struct kv_command *cmd, int argc, const struct kv_arg *argv,
		unsigned shard, unsigned long long tc)
{
	struct coord *co = coord_new(c, cmd, argc, argv);

	if (co == NULL) {
		conn_error(c, "ERR out of memory");
		return;
	}
	co->kind = K_SCAN;
	co->phase = P_WORK;
	co->scan_shard = shard;
	co->scan_count = 10;
	for (int i = 2; i + 1 < argc; i++) {
		if (kv_arg_is(&argv[i], "count"))
			(void)kv_parse_ll(argv[i + 1].p, argv[i + 1].len, &co->scan_count);
	}
	resp_out_init(&co->scan_out, c->client.resp);
	scan_send(c, tc);
}

void coord_abandon(struct conn *c)
{
	struct coord *co = c->coord;
	unsigned held;

	if (co == NULL)
		return;
	/* Locks granted, plus one asked for and not yet answered: unlocking a
	 * shard we do not hold is harmless, and it runs after our lock request
	 * (same sender, same ring, in order), so nothing stays locked. */
	held = co->nlocked + (co->lock_sent ? 1 : 0);
	if (co->phase != P_UNLOCK) {
		for (unsigned i = 0; i < held && i < co->nlocks; i++)
			send_op(c, co->locks[i], KV_OP_UNLOCK, 0, 0, NULL, 0);
	}
	coord_free(c);
}
