/*
 * kv_aof_load.c - a shard's replay at start (kv_aof.h): its log (or, with
 * appendonly off, its last dump) read through the reactor's io_uring in
 * chunks, each command run against the store with the clock stopped.
 *
 * A command cut short at the end of the file (a crash in the middle of a
 * write) is dropped and the file truncated to the last whole command, with a
 * log line; so is a tail of zero bytes (a file extended before its data
 * reached the disk). Anything else that is not a known command, in RESP
 * multibulk form, with the right arity, stops the start with the file's name
 * and the offset, unless the server runs with --repair: then the log is cut
 * there, as redis-check-aof --fix does. Truncation is ftruncate(2): the one
 * file operation here not done through io_uring (Debian 12's liburing has no
 * prep for IORING_OP_FTRUNCATE), once, at start, and only after a crash.
 */
#include "kv_aof_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resp.h"

#define READ_CHUNK (1u << 20)

static void finish(struct kv_aof *a, bool ok)
{
	struct kv_server *srv = a->core->server;

	a->loading = false;
	free(a->load_buf);
	a->load_buf = NULL;
	a->load_len = a->load_cap = 0;
	/* Pairs with the starting thread's acquire load (kv_server.h). */
	if (ok)
		atomic_fetch_add_explicit(&srv->loaded, 1, memory_order_release);
	else
		atomic_fetch_add_explicit(&srv->load_failed, 1, memory_order_release);
}

static void fail(struct kv_aof *a, const char *fmt, const char *why)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	/* fmt: "%s" for the file's name, then "%s" for why. */
	snprintf(a->error_text, sizeof(a->error_text), fmt, a->load_name, why);
#pragma GCC diagnostic pop
	finish(a, false);
}

static int submit_open(atoll_ctx *ctx, struct kv_aof *a, int flags)
{
	size_t n = strlen(a->load_name) + 1;
	struct atoll_io *io = atoll_io_new(AOF_T_OPEN, n);

	if (io == NULL)
		return -ENOMEM;
	memcpy(io->msg.data, a->load_name, n);
	io->msg.len = (uint32_t)n;
	return atoll_io_open(ctx, io, flags, 0644);
}

static int submit_read(atoll_ctx *ctx, struct kv_aof *a)
{
	struct atoll_io *io = atoll_io_new(AOF_T_READ, READ_CHUNK);

	if (io == NULL)
		return -ENOMEM;
	return atoll_io_read(ctx, a->fd, io, a->load_off);
}

/* What is being loaded. */
enum phase {
	PH_DUMP,    /* the dump: appendonly off, or the log starts from it */
	PH_LOG,     /* the log */
	PH_NEW_LOG, /* opening an empty log, to fill from a dump */
};

/* Opens what there is to load: the log (created if missing) or, with
 * appendonly off or a log to start from a dump, the dump. */
int kv__aof_load_start(atoll_ctx *ctx, struct kv_aof *a)
{
	bool dump = !a->enabled || a->core->server->load_dump_first;
	int err;

	a->loading = true;
	/* Loaded keys count as used now (LRU), not at the stopped clock. */
	kv_store_set_time(a->core->store, kv_unix_ms());
	a->load_phase = dump ? PH_DUMP : PH_LOG;
	snprintf(a->load_name, sizeof(a->load_name), "%s.%u", dump ? KV_DUMP_NAME : KV_AOF_NAME,
		 a->core->index);
	a->load_off = a->good_off = 0;
	a->load_db = 0;
	err = submit_open(ctx, a, dump ? O_RDONLY : O_RDWR | O_CREAT | O_APPEND);
	if (err < 0)
		fail(a, "%s: cannot open: %s", strerror(-err));
	return err;
}

/* The log is ready for appends: loaded, or created empty for a dump's keys,
 * which a rewrite then writes into it. */
static void log_ready(atoll_ctx *ctx, struct kv_aof *a)
{
	bool from_dump = a->load_phase == PH_NEW_LOG;

	a->file_size = a->good_off;
	a->base_size = a->file_size;
	a->pend_db = from_dump ? -1 : a->load_db;
	finish(a, true);
	if (from_dump)
		(void)kv__snap_start(ctx, a, SNAP_REWRITE);
}

/* The dump is in the store (or there was none). */
static void dump_done(atoll_ctx *ctx, struct kv_aof *a)
{
	if (a->fd >= 0) {
		close(a->fd); /* opened read only: nothing to flush */
		a->fd = -1;
	}
	if (!a->enabled) {
		finish(a, true);
		return;
	}
	a->load_phase = PH_NEW_LOG;
	snprintf(a->load_name, sizeof(a->load_name), "%s.%u", KV_AOF_NAME, a->core->index);
	a->good_off = 0;
	if (submit_open(ctx, a, O_RDWR | O_CREAT | O_APPEND | O_TRUNC) < 0)
		fail(a, "%s: cannot open: %s", strerror(ENOMEM));
}

/* Runs one parsed command. Returns NULL, or why it is not a valid record. */
static const char *replay(struct kv_aof *a, struct resp_parser *p, const char *buf,
			  struct resp_out *out)
{
	struct kv_arg argv[64], *args = argv;
	const struct kv_command *cmd;
	struct kv_exec x;
	int argc = (int)p->nargs;
	const char *why = NULL;

	if (argc == 0)
		return "empty command";
	if (p->nargs > 64) {
		args = malloc(p->nargs * sizeof(*args));
		if (args == NULL)
			return "out of memory";
	}
	for (int i = 0; i < argc; i++)
		args[i].p = resp_parser_arg(p, buf, (size_t)i, &args[i].len);
	if (kv_arg_is(&args[0], "select")) {
		long long db;

		if (argc != 2 || !kv_parse_ll(args[1].p, args[1].len, &db) || db < 0 ||
		    db >= KV_DBS)
			why = "bad SELECT";
		else
			a->load_db = (int)db;
		goto out;
	}
	cmd = kv_command_find(args[0].p, args[0].len);
	if (cmd == NULL || cmd->exec == NULL || (cmd->flags & KV_CMD_INTERNAL) ||
	    !(cmd->flags & KV_CMD_WRITE)) {
		why = "not a write command";
		goto out;
	}
	if (!kv_command_arity_ok(cmd, argc)) {
		why = "wrong number of arguments";
		goto out;
	}
	if (a->load_db < 0)
		a->load_db = 0;
	/* The clock stopped at 0: nothing expires while loading. */
	x = (struct kv_exec){ .store = a->core->store, .db = a->load_db, .now_ms = 0, .out = out };
	resp_out_reset(out);
	cmd->exec(&x, argc, args);
out:
	if (args != argv)
		free(args);
	return why;
}

static bool all_zero(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != '\0')
			return false;
	return true;
}

/* Cuts the file at good_off (a torn tail, or --repair). */
static bool cut(struct kv_aof *a, const char *what)
{
	uint64_t size = a->load_off;

	if (ftruncate(a->fd, (off_t)a->good_off) < 0) {
		fail(a, "%s: cannot truncate: %s", strerror(errno));
		return false;
	}
	fprintf(stderr, "atoll-kv: %s: %s: dropped %llu bytes at offset %llu\n", a->load_name, what,
		(unsigned long long)(size - a->good_off), (unsigned long long)a->good_off);
	return true;
}

enum parsed {
	PARSED_MORE,   /* go on reading */
	PARSED_CUT,    /* --repair cut the file: stop reading, it is loaded */
	PARSED_FAILED, /* loading failed */
};

/* Parses what load_buf holds. */
static enum parsed parse(struct kv_aof *a, bool eof)
{
	struct resp_parser p;
	struct resp_out out;
	size_t pos = 0;
	enum parsed ret = PARSED_MORE;

	resp_parser_init(&p, 0);
	resp_out_init(&out, 2);
	while (pos < a->load_len) {
		size_t used = 0;
		enum resp_status st;
		const char *why = NULL;
		char msg[160];

		if (a->load_buf[pos] != '*') {
			why = "expected '*'";
		} else {
			st = resp_parse(&p, a->load_buf + pos, a->load_len - pos, &used);
			if (st == RESP_MORE)
				break;
			if (st == RESP_ERROR)
				why = p.error;
			else
				why = replay(a, &p, a->load_buf + pos, &out);
		}
		if (why != NULL) {
			if (all_zero(a->load_buf + pos, a->load_len - pos) && eof) {
				pos = a->load_len;
				a->load_tail_zero = true;
				break;
			}
			if (a->core->server->repair && a->load_phase == PH_LOG) {
				ret = cut(a, "repaired: cut at a bad command") ? PARSED_CUT
									       : PARSED_FAILED;
				a->load_len = 0;
				goto out;
			}
			snprintf(msg, sizeof(msg), "%s at offset %llu", why,
				 (unsigned long long)a->good_off);
			fail(a,
			     "%s: not a valid log: %s (start with --repair to cut the log there, "
			     "losing what follows it)",
			     msg);
			ret = PARSED_FAILED;
			goto out;
		}
		pos += used;
		a->good_off += used;
	}
	memmove(a->load_buf, a->load_buf + pos, a->load_len - pos);
	a->load_len -= pos;
out:
	resp_parser_free(&p);
	resp_out_free(&out);
	return ret;
}

/* The whole file is in the store. */
static void read_all(atoll_ctx *ctx, struct kv_aof *a)
{
	if (a->load_db < 0)
		a->load_db = 0;
	if (a->load_phase == PH_DUMP)
		dump_done(ctx, a);
	else
		log_ready(ctx, a);
}

static void read_done(atoll_ctx *ctx, struct kv_aof *a, struct atoll_io *io)
{
	int res = io->res;
	enum parsed r;

	if (res < 0) {
		atoll_msg_free(&io->msg);
		fail(a, "%s: cannot read: %s", strerror(-res));
		return;
	}
	if (res > 0) {
		size_t need = a->load_len + (size_t)res;

		if (need > a->load_cap) {
			size_t cap = a->load_cap ? a->load_cap : READ_CHUNK;
			char *p;

			while (cap < need)
				cap *= 2;
			p = realloc(a->load_buf, cap);
			if (p == NULL) {
				atoll_msg_free(&io->msg);
				fail(a, "%s: %s", "out of memory");
				return;
			}
			a->load_buf = p;
			a->load_cap = cap;
		}
		memcpy(a->load_buf + a->load_len, io->msg.data, (size_t)res);
		a->load_len = need;
		a->load_off += (uint64_t)res;
		atoll_msg_free(&io->msg);
		r = parse(a, false);
		if (r == PARSED_CUT)
			read_all(ctx, a);
		else if (r == PARSED_MORE && submit_read(ctx, a) < 0)
			fail(a, "%s: cannot read: %s", strerror(ENOMEM));
		return;
	}
	atoll_msg_free(&io->msg);
	/* The end of the file: what is left is a command cut short. */
	r = a->load_len > 0 ? parse(a, true) : PARSED_MORE;
	if (r == PARSED_FAILED)
		return;
	if (r == PARSED_MORE && (a->load_len > 0 || a->load_tail_zero)) {
		if (a->load_phase == PH_DUMP) {
			fail(a, "%s: %s", "the dump ends in the middle of a command");
			return;
		}
		if (!cut(a, a->load_tail_zero ? "zero bytes at the end (crash?)"
					      : "the last command was cut short (crash?)"))
			return;
	}
	read_all(ctx, a);
}

bool kv__aof_load_receive(atoll_ctx *ctx, struct kv_aof *a, struct atoll_io *io)
{
	int res = io->res;

	switch (io->msg.type) {
	case AOF_T_OPEN:
		atoll_msg_free(&io->msg);
		if (res == -ENOENT && a->load_phase == PH_DUMP) {
			dump_done(ctx, a); /* no dump: an empty store */
			return true;
		}
		if (res < 0) {
			fail(a, "%s: cannot open: %s", strerror(-res));
			return true;
		}
		a->fd = res;
		if (a->load_phase == PH_NEW_LOG)
			log_ready(ctx, a);
		else if (submit_read(ctx, a) < 0)
			fail(a, "%s: cannot read: %s", strerror(ENOMEM));
		return true;
	case AOF_T_READ:
		read_done(ctx, a, io);
		return true;
	default:
		return false;
	}
}
