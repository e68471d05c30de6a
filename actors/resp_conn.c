/*
 * resp_conn.c - the atoll-kv connection actor (resp_conn.h): input,
 * routing of each command to its shard, and the connection's life (the
 * ordered replies are resp_conn_reply.c's).
 *
 * Invariants: a command runs directly on this core's store only when the
 * store is not locked by another connection and no earlier batch of ours
 * to this core's shard is unanswered (or still being built), so a client's
 * commands on one shard always run in the order it sent them; rbs leave in
 * the order they were made; once `closing` is set no more commands are
 * parsed, and the connection closes when the last reply is queued (or is
 * reset at once, over its output limit).
 */
#include "resp_conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "kv_rename.h"
#include "resp_conn_int.h"

/* The most query-buffer memory an idle connection keeps. */
#define QB_KEEP (64u * 1024u)

/* Redis 7.0's reply to a client refused by protected mode, word for word
 * (its "Setup a an" included: clients and scripts match on this text). */
static const char denied[] =
	"-DENIED Redis is running in protected mode because protected mode is enabled and no "
	"password is set for the default user. In this mode connections are only accepted from "
	"the loopback interface. If you want to connect from external computers to Redis you "
	"may adopt one of the following solutions: 1) Just disable protected mode sending the "
	"command 'CONFIG SET protected-mode no' from the loopback interface by connecting to "
	"Redis from the same host the server is running, however MAKE SURE Redis is not "
	"publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change "
	"permanent. 2) Alternatively you can just disable the protected mode by editing the "
	"Redis configuration file, and setting the protected mode option to 'no', and then "
	"restarting the server. 3) If you started the server manually just for testing, restart "
	"it with the '--protected-mode no' option. 4) Setup a an authentication password for "
	"the default user. NOTE: You only need to do one of the above things in order for the "
	"server to start accepting connections from the outside.\r\n";

/* A loopback peer: 127.0.0.0/8, ::1, or 127.x mapped into IPv6. Redis
 * compares the text with "127.0.0.1" and "::1" only; the whole of
 * 127.0.0.0/8 is the loopback network on Linux, so it counts here. */
static bool is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;

		return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;

		return IN6_IS_ADDR_LOOPBACK(&a->sin6_addr) ||
		       (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr) && a->sin6_addr.s6_addr[12] == 127);
	}
	return false;
}

/* --- input -------------------------------------------------------------- */

/* Redis's message: the name cut at 128 bytes, then the arguments quoted
 * while the list is under 128 bytes, each cut to what is left of that. */
static void unknown_command(struct conn *c, int argc, const struct kv_arg *argv)
{
	char args[512], msg[768];
	size_t len = 0;

	args[0] = '\0';
	for (int i = 1; i < argc && len < 128; i++) {
		int room = 128 - (int)len;
		int k = (int)(argv[i].len < (size_t)room ? argv[i].len : (size_t)room);
		int n = snprintf(args + len, sizeof(args) - len, "'%.*s' ", k, argv[i].p);

		if (n < 0)
			break;
		len += (size_t)n;
	}
	snprintf(msg, sizeof(msg), "ERR unknown command '%.*s', with args beginning with: %s",
		 (int)(argv[0].len > 128 ? 128 : argv[0].len), argv[0].p, args);
	conn_error(c, msg);
}

/* Under appendfsync always a write's reply waits for the log's fsync, which
 * the shard does (kv_aof_hold): writes go to it even from its own core. */
static bool can_run_here(const struct conn *c, const struct kv_command *cmd)
{
	atoll_ref holder = c->core->lock_holder;

	return (holder == ATOLL_REF_NONE || holder == c->client.ref) && c->own_inflight == 0 &&
	       c->bno[c->core->index] < 0 &&
	       !((cmd->flags & KV_CMD_WRITE) && kv_aof_sync_replies(c->core));
}

static void run_here(struct conn *c, const struct kv_command *cmd, int argc,
		     const struct kv_arg *argv)
{
	struct kv_exec x = { .store = c->core->store, .db = c->client.db, .now_ms = c->now_ms };

	x.out = conn_reply_begin(c);
	(void)kv_core_exec(c->core, cmd, &x, argc, argv);
	kv_aof_kick(c->ctx, c->core);
	conn_reply_end(c);
	c->core->stats.commands_local++;
}

void conn_route_key(struct conn *c, const struct kv_command *cmd, int argc,
		    const struct kv_arg *argv, unsigned shard)
{
	struct slot *s;

	if (shard == c->core->index && can_run_here(c, cmd)) {
		run_here(c, cmd, argc, argv);
		return;
	}
	s = conn_slot(c, CMB_ONE);
	if (s == NULL) {
		conn_error(c, "ERR out of memory");
		return;
	}
	conn_add_remote(c, s, shard, kv_command_index(cmd), argc, argv);
}

/* MGET, MSET, DEL, EXISTS, TOUCH, UNLINK: one sub-command per shard. */
static void route_keys(struct conn *c, const struct kv_command *cmd, int argc,
		       const struct kv_arg *argv)
{
	unsigned n = c->srv->nshards;
	int step = cmd->key_step, nkeys = (argc - 1) / step;
	uint32_t *shard_of = NULL, *part_of = NULL, stack[256 + 64];
	struct kv_arg *sub = NULL;
	struct slot *s;
	bool one = true;
	uint8_t combine;

	if (step == 2 && (argc - 1) % 2 != 0) {
		char msg[96];

		snprintf(msg, sizeof(msg), "ERR wrong number of arguments for '%s' command",
			 cmd->name);
		conn_error(c, msg);
		return;
	}
	/* shard_of[key], then part_of[shard]: the part that answers it. */
	shard_of =
		nkeys <= 256 && n <= 64 ? stack : malloc(((size_t)nkeys + n) * sizeof(*shard_of));
	if (shard_of == NULL)
		goto oom;
	part_of = shard_of + nkeys;
	for (int k = 0; k < nkeys; k++) {
		const struct kv_arg *key = &argv[1 + k * step];

		shard_of[k] = kv_shard_of(c->srv, key->p, key->len);
		one = one && shard_of[k] == shard_of[0];
	}
	if (one) {
		conn_route_key(c, cmd, argc, argv, shard_of[0]);
		goto out;
	}
	combine = strcmp(cmd->name, "mget") == 0   ? CMB_MGET
		  : strcmp(cmd->name, "mset") == 0 ? CMB_OK
						   : CMB_SUM;
	s = conn_slot(c, combine);
	sub = malloc((size_t)argc * sizeof(*sub));
	if (s == NULL || sub == NULL)
		goto oom;
	for (unsigned shard = 0; shard < n; shard++) {
		int subc = 1;

		sub[0] = argv[0];
		for (int k = 0; k < nkeys; k++) {
			if (shard_of[k] != shard)
				continue;
			for (int j = 0; j < step; j++)
				sub[subc++] = argv[1 + k * step + j];
		}
		if (subc == 1)
			continue;
		part_of[shard] = s->nparts;
		if (shard == c->core->index && can_run_here(c, cmd)) {
			struct rb *rb = c->cur;
			struct kv_exec x = { .store = c->core->store,
					     .db = c->client.db,
					     .now_ms = c->now_ms,
					     .out = &rb->local };
			size_t off = rb->local.len;

			rb->local.proto = c->client.resp;
			(void)kv_core_exec(c->core, cmd, &x, subc, sub);
			kv_aof_kick(c->ctx, c->core);
			(void)conn_add_local_part(c, s, off, rb->local.len - off);
			c->core->stats.commands_local++;
		} else {
			conn_add_remote(c, s, shard, kv_command_index(cmd), subc, sub);
		}
	}
	if (combine == CMB_MGET) {
		struct rb *rb = c->cur;
		bool ok = true;

		conn_grow((void **)&rb->keymap, &rb->cap_keymap, rb->nkeymap + (uint32_t)nkeys,
			  sizeof(*rb->keymap), &ok);
		if (!ok)
			goto oom;
		s->first_key = rb->nkeymap;
		s->nkeys = (uint32_t)nkeys;
		for (int k = 0; k < nkeys; k++)
			rb->keymap[rb->nkeymap++] = part_of[shard_of[k]];
	}
	goto out;
oom:
	conn_error(c, "ERR out of memory");
out:
	free(sub);
	if (shard_of != stack)
		free(shard_of);
}

static void route_all(struct conn *c, const struct kv_command *cmd, int argc,
		      const struct kv_arg *argv)
{
	uint8_t combine = CMB_OK;

	if (strcmp(cmd->name, "dbsize") == 0)
		combine = CMB_SUM;
	else if (strcmp(cmd->name, "keys") == 0)
		combine = CMB_CONCAT;
	else if (strcmp(cmd->name, "randomkey") == 0)
		combine = CMB_RANDOM;
	if (strcmp(cmd->name, "scan") == 0) {
		unsigned long long cursor;

		if (!kv_parse_ull(argv[1].p, argv[1].len, &cursor)) {
			conn_error(c, "ERR invalid cursor");
			return;
		}
		coord_scan(c, cmd, argc, argv, (unsigned)(cursor % c->srv->nshards),
			   cursor / c->srv->nshards);
		return;
	}
	conn_to_all(c, combine, kv_command_index(cmd), argc, argv, 0, NULL);
}

static bool debug_allowed(const struct conn *c)
{
	unsigned allow = c->core->settings.enable_debug_command;

	return allow == KV_ALLOW_YES || (allow == KV_ALLOW_LOCAL && c->local_peer);
}

static void dispatch(struct conn *c, int argc, const struct kv_arg *argv)
{
	/* By the names rename-command left: a renamed or disabled command's
	 * own name is unknown, as any other. argv[0] stays as the client spelt
	 * it; replies that quote it do so, as Redis's. */
	const struct kv_command *cmd = kv_rename_find(c->srv->renames, argv[0].p, argv[0].len);

	c->core->stats.commands++;
	c->client.last_ms = c->now_ms;
	/* Redis's order: unknown command, then arity, then authentication. */
	if (cmd == NULL || (cmd->flags & KV_CMD_INTERNAL)) {
		unknown_command(c, argc, argv);
		return;
	}
	c->client.last_cmd = cmd->name;
	if (!kv_command_arity_ok(cmd, argc)) {
		char msg[96];

		snprintf(msg, sizeof(msg), "ERR wrong number of arguments for '%s' command",
			 cmd->name);
		conn_error(c, msg);
		return;
	}
	/* Then DEBUG's enable-debug-command, before authentication too. */
	if (strcmp(cmd->name, "debug") == 0 && !debug_allowed(c)) {
		conn_error(c,
			   "ERR DEBUG command not allowed. If the enable-debug-command option is "
			   "set to \"local\", you can run it from a local connection, otherwise "
			   "you need to set this option in the configuration file, and then "
			   "restart the server.");
		return;
	}
	if (!conn_authed(c) && !(cmd->flags & KV_CMD_NOAUTH)) {
		conn_error(c, "NOAUTH Authentication required.");
		return;
	}
	switch (cmd->route) {
	case KV_ROUTE_CONN:
		conn_command(c, cmd, argc, argv);
		return;
	case KV_ROUTE_KEY:
		if (cmd->first_key >= argc) /* e.g. OBJECT HELP: no key */
			conn_route_key(c, cmd, argc, argv, c->core->index);
		else
			conn_route_key(c, cmd, argc, argv,
				       kv_shard_of(c->srv, argv[cmd->first_key].p,
						   argv[cmd->first_key].len));
		return;
	case KV_ROUTE_KEYS:
		route_keys(c, cmd, argc, argv);
		return;
	case KV_ROUTE_ALL:
		route_all(c, cmd, argc, argv);
		return;
	case KV_ROUTE_MULTI:
		coord_start(c, cmd, argc, argv);
		return;
	}
}

static bool argv_room(struct conn *c, size_t n)
{
	struct kv_arg *a;
	size_t cap;

	if (n <= c->argv_cap)
		return true;
	cap = c->argv_cap ? c->argv_cap : 16;
	while (cap < n)
		cap *= 2;
	a = realloc(c->argv, cap * sizeof(*a));
	if (a == NULL)
		return false;
	c->argv = a;
	c->argv_cap = cap;
	return true;
}

/* Replies written and not yet sent, against client-output-buffer-limit. */
static bool over_output_limit(const struct conn *c)
{
	unsigned long long limit = c->core->settings.client_output_limit;
	size_t held = c->out.len + c->client.omem + (c->cur != NULL ? c->cur->local.len : 0);

	return limit != 0 && held > limit;
}

/* Parses and runs commands from buf; returns the bytes used. */
static size_t parse(struct conn *c, const char *buf, size_t len)
{
	size_t off = 0;

	while (off < len && !c->blocked && !c->closing && !c->ended) {
		size_t used = 0;
		enum resp_status st = resp_parse(&c->parser, buf + off, len - off, &used);

		if (st == RESP_MORE)
			break;
		if (st == RESP_ERROR) {
			char msg[128];

			snprintf(msg, sizeof(msg), "ERR %s", c->parser.error);
			conn_error(c, msg);
			c->core->stats.protocol_errors++;
			c->closing = true;
			return len;
		}
		if (c->parser.nargs > 0) {
			if (!argv_room(c, c->parser.nargs)) {
				conn_error(c, "ERR out of memory");
				c->closing = true;
				return len;
			}
			for (size_t i = 0; i < c->parser.nargs; i++)
				c->argv[i].p =
					resp_parser_arg(&c->parser, buf + off, i, &c->argv[i].len);
			dispatch(c, (int)c->parser.nargs, c->argv);
		}
		off += used;
		if (over_output_limit(c)) {
			/* As Redis: a client over its limit is closed and its
			 * remaining input not run. The reset happens at the end of
			 * the round, when nothing of the connection is in use. */
			c->drop = true;
			c->closing = true;
			return len;
		}
	}
	return off;
}

static bool keep_input(struct conn *c, const char *data, size_t len)
{
	size_t need = c->qlen + len;

	if (need > c->core->settings.client_query_buffer_limit)
		return false;
	if (need > c->qcap) {
		size_t cap = c->qcap ? c->qcap : 4096, hint = resp_parser_need(&c->parser);
		char *q;

		while (cap < need)
			cap *= 2;
		/* The parser knows how long the command will be: grow to that
		 * at once, but only once half of it has come. A length is only
		 * a claim: honoured at once, "$536870912" and a few bytes from
		 * each of many clients would reserve 512 MiB apiece. So what a
		 * client makes the server hold stays within twice what it sent,
		 * and a big value is still copied O(1) times per byte. */
		if (hint > cap && hint <= c->core->settings.client_query_buffer_limit &&
		    hint / 2 <= need)
			cap = hint;
		q = realloc(c->qb, cap);
		if (q == NULL)
			return false;
		c->qb = q;
		c->qcap = cap;
	}
	memcpy(c->qb + c->qlen, data, len);
	c->qlen += len;
	return true;
}

/* Ends a round of input: sends the batches built, writes what is ready. */
static void round_end(struct conn *c)
{
	if (c->cur != NULL) {
		conn_flush_builders(c);
		c->cur = NULL;
	}
	c->client.qbuf = c->qlen;
	/* A big request grew the query buffer; an idle client should not keep
	 * it (Redis trims its query buffers too). */
	if (c->qlen == 0 && c->qcap > QB_KEEP) {
		free(c->qb);
		c->qb = NULL;
		c->qcap = 0;
	}
	conn_emit_ready(c);
}

/* Parses what the query buffer holds (after a blocked command finished). */
static void resume(struct conn *c)
{
	size_t used;

	if (c->qlen > 0 && !c->blocked && !c->closing) {
		c->now_ms = kv_unix_ms();
		used = parse(c, c->qb, c->qlen);
		memmove(c->qb, c->qb + used, c->qlen - used);
		c->qlen -= used;
	}
	round_end(c);
}

static void on_frame(atoll_ctx *ctx, struct atoll_tcp_conn *tc, void *state, const char *data,
		     size_t len)
{
	struct conn *c = state;
	size_t used = 0;
	bool kept;

	c->ctx = ctx;
	c->tc = tc;
	c->core->stats.net_input += len;
	if (c->closing)
		return;
	c->now_ms = kv_unix_ms();
	if (c->qlen == 0 && !c->blocked) {
		/* The common case: parse straight from the receive buffer and
		 * keep only an incomplete tail. */
		used = parse(c, data, len);
		kept = used == len || c->closing || keep_input(c, data + used, len - used);
	} else {
		kept = keep_input(c, data, len);
		if (kept && !c->blocked) {
			used = parse(c, c->qb, c->qlen);
			memmove(c->qb, c->qb + used, c->qlen - used);
			c->qlen -= used;
		}
	}
	if (!kept) {
		/* Over client-query-buffer-limit: Redis closes such a client. */
		c->core->stats.protocol_errors++;
		c->closing = true;
		c->qlen = 0;
	}
	round_end(c);
}

/* A message that is not our own input: shard replies, kills, timers. */
static void on_message(atoll_ctx *ctx, struct atoll_tcp_conn *tc, void *state, atoll_msg *msg)
{
	struct conn *c = state;

	c->ctx = ctx;
	c->tc = tc;
	switch (msg->type) {
	case KV_MSG_REPLY: {
		uint64_t seq = msg->corr >> CORR_BNO_BITS;
		uint32_t bno = (uint32_t)(msg->corr & ((1u << CORR_BNO_BITS) - 1));
		struct rb *rb;

		if (msg->corr & CORR_COORD) {
			coord_reply(c, msg);
			return;
		}
		for (rb = c->head; rb != NULL && rb->seq != seq; rb = rb->next)
			;
		if (rb == NULL || bno >= rb->nbatches || rb->replies[bno] != NULL)
			return;
		atoll_msg_keep(ctx, msg);
		rb->replies[bno] = msg;
		rb->waiting--;
		if (rb->bshard[bno] == c->core->index)
			c->own_inflight--;
		conn_emit_ready(c);
		return;
	}
	case KV_MSG_KILL:
		c->closing = true;
		conn_emit_ready(c);
		return;
	case CONN_MSG_WAKE:
		conn_wake(c);
		return;
	default:
		return;
	}
}

static int on_open(atoll_ctx *ctx, struct atoll_tcp_conn *tc, void *state, const void *user)
{
	const struct resp_conn_proto *p = user;
	struct conn *c = state;
	struct kv_server *srv = p->server;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	unsigned n = srv->nshards;
	uint64_t total;

	c->ctx = ctx;
	c->tc = tc;
	c->srv = srv;
	c->core = &srv->cores[atoll_core(ctx)];
	c->client.ref = atoll_self(ctx);
	c->client.id = atomic_fetch_add_explicit(&srv->next_client_id, 1, memory_order_relaxed) + 1;
	c->client.fd = atoll_tcp_conn_fd(tc);
	/* Replies answer requests: send them at once, not after Nagle's
	 * delay. Best effort. */
	(void)setsockopt(c->client.fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
	c->client.resp = 2;
	c->client.created_ms = c->client.last_ms = kv_unix_ms();
	c->core->stats.connections++;
	resp_out_init(&c->out, 2);
	resp_parser_init(&c->parser, c->core->settings.proto_max_bulk_len);
	for (int side = 0; side < 2; side++) {
		char host[INET6_ADDRSTRLEN] = "?";
		char *dst = side == 0 ? c->client.addr : c->client.laddr;
		int port = 0;

		sl = sizeof(ss);
		ss.ss_family = AF_UNSPEC;
		if ((side == 0 ? getpeername(c->client.fd, (struct sockaddr *)&ss, &sl)
			       : getsockname(c->client.fd, (struct sockaddr *)&ss, &sl)) == 0) {
			if (ss.ss_family == AF_INET) {
				struct sockaddr_in *a = (struct sockaddr_in *)&ss;

				inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
				port = ntohs(a->sin_port);
			} else if (ss.ss_family == AF_INET6) {
				struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

				inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
				port = ntohs(a->sin6_port);
			}
		}
		snprintf(dst, sizeof(c->client.addr), "%s:%d", host, port);
		if (side == 0)
			c->local_peer = is_loopback(&ss);
	}
	/* Linked first, so that close (which runs even when open fails)
	 * always finds it. */
	c->client.next = c->core->clients;
	if (c->core->clients != NULL)
		c->core->clients->prev = &c->client;
	c->core->clients = &c->client;
	c->core->nclients++;
	total = atomic_fetch_add_explicit(&srv->clients, 1, memory_order_relaxed) + 1;
	c->counted = true;
	c->builders = calloc(n, sizeof(*c->builders));
	c->bno = malloc(n * sizeof(*c->bno));
	if (c->builders == NULL || c->bno == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++)
		c->bno[i] = -1;
	if (total > c->core->settings.maxclients) {
		static const char full[] = "-ERR max number of clients reached\r\n";

		c->core->stats.rejected++;
		(void)atoll_tcp_conn_write(ctx, tc, full, sizeof(full) - 1);
		return -EUSERS;
	}
	/* Protected mode, as Redis: no password and a client from outside the
	 * host. A bind to 127.0.0.1 never sees one; a public bind does. */
	if (c->core->settings.protected_mode && c->core->settings.requirepass[0] == '\0' &&
	    !c->local_peer) {
		c->core->stats.rejected++;
		(void)atoll_tcp_conn_write(ctx, tc, denied, sizeof(denied) - 1);
		return -EACCES;
	}
	return 0;
}

static void on_close(atoll_ctx *ctx, struct atoll_tcp_conn *tc, void *state, int reason)
{
	struct conn *c = state;

	(void)reason;
	c->ctx = ctx;
	c->tc = tc;
	c->ended = true;
	coord_abandon(c);
	if (c->client.prev != NULL)
		c->client.prev->next = c->client.next;
	else if (c->core != NULL && c->core->clients == &c->client)
		c->core->clients = c->client.next;
	if (c->client.next != NULL)
		c->client.next->prev = c->client.prev;
	if (c->core != NULL)
		c->core->nclients--;
	if (c->counted)
		atomic_fetch_sub_explicit(&c->srv->clients, 1, memory_order_relaxed);
	while (c->head != NULL) {
		struct rb *rb = c->head;

		c->head = rb->next;
		conn_rb_destroy(rb);
	}
	while (c->spare != NULL) {
		struct rb *rb = c->spare;

		c->spare = rb->next;
		conn_rb_destroy(rb);
	}
	c->tail = c->cur = NULL;
	if (c->builders != NULL) {
		for (unsigned i = 0; i < c->srv->nshards; i++)
			kv_batch_free(&c->builders[i]);
	}
	free(c->builders);
	free(c->bno);
	free(c->qb);
	free(c->argv);
	resp_parser_free(&c->parser);
	resp_out_free(&c->out);
}

void resp_conn_proto_init(struct resp_conn_proto *p, struct kv_server *srv)
{
	memset(p, 0, sizeof(*p));
	p->tcp.framing = ATOLL_TCP_RAW;
	p->tcp.state_size = sizeof(struct conn);
	p->tcp.open = on_open;
	p->tcp.frame = on_frame;
	p->tcp.message = on_message;
	p->tcp.close = on_close;
	p->server = srv;
}

void conn_unblock(struct conn *c, size_t off)
{
	struct rb *rb = c->hold_rb;
	struct part *p = conn_new_part(rb, &rb->slots[c->hold_slot]);

	if (p != NULL) {
		p->local = true;
		p->off = off;
		p->len = rb->local.len - off;
	}
	rb->waiting--;
	c->hold_rb = NULL;
	c->blocked = false;
	resume(c);
}
