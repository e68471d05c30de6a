/*
 * test_kv_shard.c - the atoll-kv shard actor (actors/kv_shard.c) and its
 * batch wire format, through a real runtime set up as atoll-kv sets it up:
 * one shard per reactor, stores made before the shards are spawned. Test
 * "client" actors build batches with kv_batch_*, send them to shards on
 * their own core or another, and keep the replies for the test thread,
 * which checks them byte for byte: commands in order, RESP3 nulls, the
 * shard lock (others' batches wait, in order, until the holder unlocks),
 * INFO, CONFIG, RESETSTAT, truncated batches and bad entries. Every test
 * stops the runtime and frees the server: ASan/LSan see no leak.
 */
#include "../helpers.h"

#include "kv_shard.h"

#define MAX_CLIENTS 8
#define MAX_REPLIES 16384
#define MAX_ENTRIES 16
#define MAX_ARGS 8

/* --- the client actor ------------------------------------------------------ */

/* Test thread -> client: payload a struct request *, to build and send. */
enum {
	CLIENT_MSG_SEND = ATOLL_MSG_USER + 1
};

/* One batch entry, as the connection would add it. */
struct entry {
	uint32_t op;
	int db;
	int argc;
	struct kv_arg argv[MAX_ARGS];
};

/* What a client is asked to send: one batch to one shard. */
struct request {
	unsigned shard;
	uint64_t seq;
	uint64_t corr;
	uint8_t proto;
	uint32_t n;
	struct entry e[MAX_ENTRIES];
	bool cut; /* send only the first cut_len bytes of the batch */
	uint32_t cut_len;
};

/* What a client saw, for the test thread. reply[i] is written before
 * replies is incremented past i. */
struct client_slot {
	_Atomic uint64_t inits;
	_Atomic uint64_t stops;
	_Atomic uint64_t sent;    /* batches sent to a shard */
	_Atomic uint64_t replies; /* KV_MSG_REPLY messages kept in reply[] */
	atoll_msg *reply[MAX_REPLIES];
};

struct client {
	struct client_slot *slot;
	struct kv_batch batch; /* reused for every batch */
};

/* The server under test; the client actors read srv.shards. */
static struct kv_server srv;
static atoll_runtime *rt;
static struct client_slot slots[MAX_CLIENTS];
static atoll_ref client_refs[MAX_CLIENTS];
static uint64_t taken[MAX_CLIENTS]; /* replies the test has looked at */
static unsigned nclients;
static uint64_t last_seq;

static int client_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct client *c = state;

	(void)ctx;
	c->slot = (struct client_slot *)(uintptr_t)arg;
	atomic_fetch_add(&c->slot->inits, 1);
	return 0;
}

static void client_send(atoll_ctx *ctx, struct client *c, const struct request *r)
{
	atoll_msg *m;

	kv_batch_begin(&c->batch, r->seq, r->proto);
	for (uint32_t i = 0; i < r->n; i++)
		CHECK_EQ(
			kv_batch_add(&c->batch, r->e[i].op, r->e[i].db, r->e[i].argc, r->e[i].argv),
			i);
	CHECK(!c->batch.oom);
	m = kv_batch_take(&c->batch);
	CHECK(m != NULL);
	if (m == NULL)
		return;
	CHECK_EQ(m->type, KV_MSG_BATCH);
	/* Taking the batch empties the builder for the next one. */
	CHECK(c->batch.buf == NULL);
	CHECK_EQ(c->batch.len, 0);
	CHECK_EQ(c->batch.count, 0);
	if (r->cut) {
		CHECK(r->cut_len <= m->len);
		m->len = r->cut_len;
	}
	m->reply_to = atoll_self(ctx);
	m->corr = r->corr;
	CHECK(atoll_send(ctx, srv.shards[r->shard], m) >= 0);
	atomic_fetch_add(&c->slot->sent, 1);
}

static void client_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct client *c = state;
	uint64_t n;

	switch (msg->type) {
	case CLIENT_MSG_SEND: {
		const struct request *r;

		CHECK_EQ(msg->len, sizeof(r));
		memcpy(&r, msg->data, sizeof(r));
		client_send(ctx, c, r);
		return;
	}
	case KV_MSG_REPLY:
		n = atomic_load(&c->slot->replies);
		CHECK(n < MAX_REPLIES);
		if (n >= MAX_REPLIES)
			return;
		atoll_msg_keep(ctx, msg);
		c->slot->reply[n] = msg;
		atomic_store(&c->slot->replies, n + 1);
		return;
	default:
		check_failed(__FILE__, __LINE__, "a client got a message it does not know");
		return;
	}
}

static void client_stop(atoll_ctx *ctx, void *state)
{
	struct client *c = state;

	(void)ctx;
	kv_batch_free(&c->batch);
	atomic_fetch_add(&c->slot->stops, 1);
}

static const struct atoll_actor_type client_type = {
	.name = "kv_test_client",
	.state_size = sizeof(struct client),
	.init = client_init,
	.receive = client_receive,
	.stop = client_stop,
};

/* --- the server ------------------------------------------------------------ */

/* Starts n reactors and a shard on each, as examples/atoll-kv does. */
static void start_kv(unsigned n)
{
	struct kv_settings settings;

	rt = start_reactors(n);
	assert_int_equal(atoll_runtime_reactors(rt), n);
	kv_settings_default(&settings);
	memset(&srv, 0, sizeof(srv));
	assert_int_equal(kv_server_init(&srv, n, &settings), 0);
	srv.rt = rt;
	for (unsigned i = 0; i < n; i++) {
		srv.cores[i].store = kv_store_new();
		assert_non_null(srv.cores[i].store);
	}
	for (unsigned i = 0; i < n; i++)
		srv.shards[i] = spawn_on(rt, &kv_shard_type, &srv, (int)i);
}

/* Spawns a client on reactor core; returns its number. */
static unsigned spawn_client(unsigned core)
{
	unsigned c = nclients++;

	assert_true(c < MAX_CLIENTS);
	client_refs[c] = spawn_on(rt, &client_type, &slots[c], (int)core);
	assert_wait_u64(&slots[c].inits, 1, WAIT_LIMIT_NS);
	return c;
}

static void free_replies(void)
{
	for (unsigned c = 0; c < MAX_CLIENTS; c++) {
		uint64_t n = atomic_load(&slots[c].replies);

		for (uint64_t i = 0; i < n && i < MAX_REPLIES; i++) {
			atoll_msg_free(slots[c].reply[i]);
			slots[c].reply[i] = NULL;
		}
		atomic_store(&slots[c].replies, 0);
	}
}

/* Stops the runtime: nothing may be left alive or failed; then the test
 * may read the cores (their threads are gone) until kv_destroy. */
static void stop_kv(void)
{
	atoll_runtime_stop(rt);
	assert_int_equal(wait_runtime(rt), 0);
	for (unsigned i = 0; i < atoll_runtime_reactors(rt); i++) {
		struct atoll_stats st = read_stats(rt, i);

		assert_int_equal(st.actors_alive, 0);
		assert_int_equal(st.init_failures, 0);
	}
	for (unsigned c = 0; c < nclients; c++)
		assert_int_equal(atomic_load(&slots[c].stops), 1);
	assert_no_check_failures();
}

/* Frees what the test kept and the server. */
static void kv_destroy(void)
{
	free_replies();
	destroy_runtime(rt);
	rt = NULL;
	kv_server_destroy(&srv);
}

static int setup(void **state)
{
	(void)state;
	reset_checks();
	memset(slots, 0, sizeof(slots));
	memset(client_refs, 0, sizeof(client_refs));
	memset(taken, 0, sizeof(taken));
	memset(&srv, 0, sizeof(srv));
	nclients = 0;
	rt = NULL;
	return 0;
}

/* After a failed test: stop what it left running and free everything. */
static int teardown(void **state)
{
	destroy_leftovers(state);
	rt = NULL;
	free_replies();
	if (srv.cores != NULL)
		kv_server_destroy(&srv);
	return 0;
}

/* --- requests -------------------------------------------------------------- */

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })
static const char *const no_args[] = { NULL };

/* The batch op of a command: its index in the table. */
static uint32_t op_of(const char *name)
{
	const struct kv_command *cmd = kv_command_find(name, strlen(name));

	assert_non_null(cmd);
	for (size_t i = 0; i < kv_command_count(); i++)
		if (kv_command_at(i) == cmd)
			return (uint32_t)i;
	fail_msg("command %s is not in the table", name);
	return 0;
}

static void req_init(struct request *r, unsigned shard, uint8_t proto)
{
	memset(r, 0, sizeof(*r));
	r->shard = shard;
	r->seq = ++last_seq;
	r->corr = 0x5eed0000ull + last_seq * 7;
	r->proto = proto;
}

/* Adds an entry with raw arguments. */
static void req_raw(struct request *r, uint32_t op, int db, int argc, const struct kv_arg *argv)
{
	struct entry *e = &r->e[r->n++];

	assert_true(r->n <= MAX_ENTRIES);
	assert_true(argc <= MAX_ARGS);
	e->op = op;
	e->db = db;
	e->argc = argc;
	for (int i = 0; i < argc; i++)
		e->argv[i] = argv[i];
}

/* Adds an entry: op and NULL-terminated C-string arguments. */
static void req_op(struct request *r, uint32_t op, int db, const char *const *args)
{
	struct kv_arg argv[MAX_ARGS];
	int argc = 0;

	for (; args[argc] != NULL; argc++) {
		assert_true(argc < MAX_ARGS);
		argv[argc] = (struct kv_arg){ .p = args[argc], .len = strlen(args[argc]) };
	}
	req_raw(r, op, db, argc, argv);
}

/* Adds a command: args[0] names it. */
static void req_cmd(struct request *r, int db, const char *const *args)
{
	req_op(r, op_of(args[0]), db, args);
}

/* Has client c send r, and waits until it has (r may be reused then). */
static void send_req(unsigned c, const struct request *r)
{
	uint64_t before = atomic_load(&slots[c].sent);
	atoll_msg *m = atoll_msg_new(CLIENT_MSG_SEND, sizeof(r));

	assert_non_null(m);
	memcpy(m->data, &r, sizeof(r));
	assert_int_equal(atoll_runtime_send(rt, client_refs[c], m), 0);
	assert_wait_u64(&slots[c].sent, before + 1, WAIT_LIMIT_NS);
}

/* The next reply client c gets, once it is there. */
static const atoll_msg *next_reply(unsigned c)
{
	uint64_t i = taken[c]++;

	assert_true(i < MAX_REPLIES);
	assert_wait_u64(&slots[c].replies, i + 1, WAIT_LIMIT_NS);
	return slots[c].reply[i];
}

/* Checks the framing of a reply to r and returns its view. */
static struct kv_reply_view view_of(const atoll_msg *msg, const struct request *r, uint32_t count)
{
	struct kv_reply_view v;

	assert_int_equal(msg->type, KV_MSG_REPLY);
	assert_int_equal(msg->corr, r->corr);
	assert_int_equal(kv_reply_view(msg, &v), 0);
	assert_int_equal(v.count, count);
	if (count > 0) {
		assert_int_equal(v.seq, r->seq);
		/* The ends grow, and the last one is where the message ends. */
		for (uint32_t i = 1; i < count; i++)
			assert_true(v.ends[i] >= v.ends[i - 1]);
		assert_int_equal((size_t)(v.data - (const char *)msg->data) + v.ends[count - 1],
				 msg->len);
	}
	return v;
}

struct bytes {
	const char *p;
	size_t len;
};

#define B(s)                       \
	{                          \
		(s), sizeof(s) - 1 \
	}

/* Checks that the next reply of client c answers r with exactly want. */
static void check_replies(unsigned c, const struct request *r, const struct bytes *want, size_t n)
{
	const atoll_msg *msg = next_reply(c);
	struct kv_reply_view v = view_of(msg, r, (uint32_t)n);

	assert_int_equal(n, r->n);
	for (uint32_t i = 0; i < v.count; i++) {
		size_t len;
		const char *got = kv_reply_at(&v, i, &len);

		if (len != want[i].len || memcmp(got, want[i].p, len) != 0)
			fail_msg("reply %u of batch %llu: got [%.*s], want [%.*s]", i,
				 (unsigned long long)r->seq, (int)len, got, (int)want[i].len,
				 want[i].p);
	}
}

#define expect_replies(c_, r_, ...)                                      \
	check_replies((c_), (r_), (const struct bytes[]){ __VA_ARGS__ }, \
		      sizeof((const struct bytes[]){ __VA_ARGS__ }) / sizeof(struct bytes))

/* Sends r from client c and checks its replies. */
#define roundtrip(c_, r_, ...)                           \
	do {                                             \
		send_req((c_), (r_));                    \
		expect_replies((c_), (r_), __VA_ARGS__); \
	} while (0)

/* Parses ":<n>\r\n" at *p, advancing it. */
static long long parse_int(const char **p, const char *end)
{
	const char *e;
	long long v;

	/* The reply is not NUL-terminated: no strtoll (ASan's strict string
	 * checks read on to the NUL). */
	assert_true(*p < end && **p == ':');
	e = memchr(*p, '\r', (size_t)(end - *p));
	assert_non_null(e);
	assert_true(kv_parse_ll(*p + 1, (size_t)(e - *p - 1), &v));
	assert_true(e + 2 <= end && e[1] == '\n');
	*p = e + 2;
	return v;
}

/* Has client c ask shard for KV_OP_INFO; fills v[KV_INFO_FIELDS]. */
static void info_of(unsigned c, unsigned shard, long long *v)
{
	struct request r;
	struct kv_reply_view view;
	const char *p, *end;
	size_t len;
	char head[16];
	int hn = snprintf(head, sizeof(head), "*%d\r\n", KV_INFO_FIELDS);

	req_init(&r, shard, 2);
	req_op(&r, KV_OP_INFO, 0, no_args);
	send_req(c, &r);
	view = view_of(next_reply(c), &r, 1);
	p = kv_reply_at(&view, 0, &len);
	end = p + len;
	assert_true(len > (size_t)hn);
	assert_memory_equal(p, head, (size_t)hn);
	p += hn;
	for (int i = 0; i < KV_INFO_FIELDS; i++)
		v[i] = parse_int(&p, end);
	assert_ptr_equal(p, end);
	/* Polls may ask many times: give each answer back at once. */
	atoll_msg_free(slots[c].reply[taken[c] - 1]);
	slots[c].reply[taken[c] - 1] = NULL;
}

/* Polls shard's INFO through client c until field reaches want. */
static void wait_info_field(unsigned c, unsigned shard, int field, long long want)
{
	long long v[KV_INFO_FIELDS];
	uint64_t deadline = test_now_ns() + WAIT_LIMIT_NS;

	for (;;) {
		info_of(c, shard, v);
		if (v[field] == want)
			return;
		if (test_now_ns() > deadline)
			fail_msg("INFO field %d of shard %u is %lld, expected %lld", field, shard,
				 v[field], want);
		for (int i = 0; i < 10; i++)
			poll_pause();
	}
}

/* True when key is in db of the store (read after the runtime stopped). */
static bool has_key(const struct kv_store *store, int db, const char *key)
{
	return kv_lookup((struct kv_store *)(uintptr_t)store, db, key, strlen(key), kv_unix_ms(),
			 false) != NULL;
}

/* --- tests ----------------------------------------------------------------- */

static void shard_runs_a_batch_in_order_and_says_where_each_reply_ends(void **state)
{
	struct request r;
	const struct kv_arg bin[] = { { "SET", 3 }, { "b\0k", 3 }, { "x\0y", 3 } };
	const struct kv_arg get_bin[] = { { "GET", 3 }, { "b\0k", 3 } };
	unsigned c;

	(void)state;
	start_kv(2);
	c = spawn_client(0);

	req_init(&r, 0, 2);
	req_cmd(&r, 0, ARGS("set", "k", "v"));
	req_cmd(&r, 0, ARGS("GET", "k"));
	req_cmd(&r, 0, ARGS("incr", "n"));
	req_cmd(&r, 0, ARGS("incr", "n"));
	req_cmd(&r, 0, ARGS("get", "n"));
	req_cmd(&r, 0, ARGS("set", "empty", ""));
	req_cmd(&r, 0, ARGS("get", "empty"));
	req_cmd(&r, 0, ARGS("del", "k", "n", "nosuch"));
	req_cmd(&r, 0, ARGS("get", "k"));
	req_cmd(&r, 0, ARGS("exists", "k", "n", "empty"));
	req_cmd(&r, 0, ARGS("incr", "empty"));
	roundtrip(c, &r, B("+OK\r\n"), B("$1\r\nv\r\n"), B(":1\r\n"), B(":2\r\n"), B("$1\r\n2\r\n"),
		  B("+OK\r\n"), B("$0\r\n\r\n"), B(":2\r\n"), B("$-1\r\n"), B(":1\r\n"),
		  B("-ERR value is not an integer or out of range\r\n"));

	/* The builder is reused; arguments are binary-safe. */
	req_init(&r, 0, 2);
	req_raw(&r, op_of("set"), 0, 3, bin);
	req_raw(&r, op_of("get"), 0, 2, get_bin);
	req_cmd(&r, 0, ARGS("incr", "n"));
	roundtrip(c, &r, B("+OK\r\n"), B("$3\r\nx\0y\r\n"), B(":1\r\n"));

	/* An empty batch is answered with an empty reply. */
	req_init(&r, 0, 2);
	send_req(c, &r);
	(void)view_of(next_reply(c), &r, 0);

	stop_kv();
	assert_int_equal(srv.cores[0].stats.batches_run, 3);
	assert_int_equal(srv.cores[0].stats.batch_commands, 14);
	assert_int_equal(srv.cores[1].stats.batches_run, 0);
	assert_true(has_key(srv.cores[0].store, 0, "empty"));
	assert_false(has_key(srv.cores[0].store, 0, "k"));
	kv_destroy();
}

static void shard_writes_resp3_nulls_for_a_proto_3_batch(void **state)
{
	struct request r;
	unsigned c;

	(void)state;
	start_kv(2);
	c = spawn_client(1);

	/* The protocol is per batch: 2, then 3, then 2 again. */
	for (int round = 0; round < 2; round++) {
		req_init(&r, 1, 2);
		req_cmd(&r, 0, ARGS("get", "missing"));
		req_cmd(&r, 0, ARGS("kv.dump", "missing"));
		req_cmd(&r, 0, ARGS("set", "k", "v"));
		roundtrip(c, &r, B("$-1\r\n"), B("*-1\r\n"), B("+OK\r\n"));

		req_init(&r, 1, 3);
		req_cmd(&r, 0, ARGS("get", "missing"));
		req_cmd(&r, 0, ARGS("kv.dump", "missing"));
		req_cmd(&r, 0, ARGS("get", "k"));
		req_cmd(&r, 0, ARGS("getdel", "missing"));
		roundtrip(c, &r, B("_\r\n"), B("_\r\n"), B("$1\r\nv\r\n"), B("_\r\n"));
	}

	stop_kv();
	kv_destroy();
}

static void shard_on_another_core_answers_the_sender_there(void **state)
{
	struct request r;
	unsigned a, b;

	(void)state;
	start_kv(2);
	a = spawn_client(0);
	b = spawn_client(1);

	req_init(&r, 1, 2);
	req_cmd(&r, 0, ARGS("set", "on-one", "from-a"));
	req_cmd(&r, 0, ARGS("get", "on-one"));
	roundtrip(a, &r, B("+OK\r\n"), B("$6\r\nfrom-a\r\n"));

	req_init(&r, 0, 2);
	req_cmd(&r, 0, ARGS("set", "on-zero", "from-b"));
	req_cmd(&r, 0, ARGS("get", "on-zero"));
	roundtrip(b, &r, B("+OK\r\n"), B("$6\r\nfrom-b\r\n"));

	/* Each shard sees the other's key through its own store only. */
	req_init(&r, 0, 2);
	req_cmd(&r, 0, ARGS("get", "on-one"));
	roundtrip(a, &r, B("$-1\r\n"));

	stop_kv();
	assert_true(has_key(srv.cores[1].store, 0, "on-one"));
	assert_false(has_key(srv.cores[0].store, 0, "on-one"));
	assert_true(has_key(srv.cores[0].store, 0, "on-zero"));
	assert_false(has_key(srv.cores[1].store, 0, "on-zero"));
	assert_int_equal(srv.cores[0].stats.batches_run, 2);
	assert_int_equal(srv.cores[1].stats.batches_run, 1);
	kv_destroy();
}

static void shard_lock_defers_other_senders_until_unlock_and_keeps_their_order(void **state)
{
	struct request lock, unlock, r, b1, b2, b3;
	long long v[KV_INFO_FIELDS];
	unsigned a, b;

	(void)state;
	start_kv(2);
	a = spawn_client(0); /* the holder, on the other core */
	b = spawn_client(1); /* on the shard's own core */

	req_init(&lock, 1, 2);
	req_op(&lock, KV_OP_LOCK, 0, no_args);
	roundtrip(a, &lock, B("+OK\r\n"));

	req_init(&b1, 1, 2);
	req_cmd(&b1, 0, ARGS("set", "k", "1"));
	req_init(&b2, 1, 2);
	req_cmd(&b2, 0, ARGS("incr", "k"));
	req_cmd(&b2, 0, ARGS("incr", "k"));
	req_init(&b3, 1, 2);
	req_cmd(&b3, 0, ARGS("get", "k"));
	send_req(b, &b1);
	send_req(b, &b2);
	send_req(b, &b3);

	/* The holder's batches still run: its INFO shows the three waiting. */
	wait_info_field(a, 1, KV_INFO_LOCK_WAITS, 3);
	assert_int_equal(atomic_load(&slots[b].replies), 0);

	/* The holder writes while the others wait; they arrived before this
	 * batch, so had they not been deferred they would have answered. */
	req_init(&r, 1, 2);
	req_cmd(&r, 0, ARGS("set", "k", "100"));
	req_cmd(&r, 0, ARGS("get", "k"));
	roundtrip(a, &r, B("+OK\r\n"), B("$3\r\n100\r\n"));
	assert_int_equal(atomic_load(&slots[b].replies), 0);
	info_of(a, 1, v);
	assert_int_equal(v[KV_INFO_LOCK_WAITS], 3);
	assert_int_equal(atomic_load(&slots[b].replies), 0);

	req_init(&unlock, 1, 2);
	req_op(&unlock, KV_OP_UNLOCK, 0, no_args);
	roundtrip(a, &unlock, B("+OK\r\n"));

	/* Then b's batches run, in the order b sent them. */
	expect_replies(b, &b1, B("+OK\r\n"));
	expect_replies(b, &b2, B(":2\r\n"), B(":3\r\n"));
	expect_replies(b, &b3, B("$1\r\n3\r\n"));

	/* Unlocked, nothing waits any more. */
	req_init(&r, 1, 2);
	req_cmd(&r, 0, ARGS("incr", "k"));
	roundtrip(b, &r, B(":4\r\n"));
	info_of(b, 1, v);
	assert_int_equal(v[KV_INFO_LOCK_WAITS], 3);

	stop_kv();
	assert_int_equal(srv.cores[1].stats.lock_waits, 3);
	assert_int_equal(srv.cores[0].stats.lock_waits, 0);
	assert_true(srv.cores[1].lock_holder == ATOLL_REF_NONE);
	kv_destroy();
}

static void shard_lock_passes_to_a_waiting_locker_before_later_batches(void **state)
{
	struct request a_lock, a_unlock, c_lock, c_write, c_unlock, b_get;
	long long v[KV_INFO_FIELDS];
	unsigned a, b, c;

	(void)state;
	start_kv(2);
	a = spawn_client(1);
	b = spawn_client(0);
	c = spawn_client(0);

	req_init(&a_lock, 0, 2);
	req_op(&a_lock, KV_OP_LOCK, 0, no_args);
	roundtrip(a, &a_lock, B("+OK\r\n"));

	/* c wants the lock, then b wants to read: both wait behind a. */
	req_init(&c_lock, 0, 2);
	req_op(&c_lock, KV_OP_LOCK, 0, no_args);
	send_req(c, &c_lock);
	wait_info_field(a, 0, KV_INFO_LOCK_WAITS, 1);
	req_init(&b_get, 0, 2);
	req_cmd(&b_get, 0, ARGS("get", "k"));
	send_req(b, &b_get);
	wait_info_field(a, 0, KV_INFO_LOCK_WAITS, 2);

	req_init(&a_unlock, 0, 2);
	req_op(&a_unlock, KV_OP_UNLOCK, 0, no_args);
	roundtrip(a, &a_unlock, B("+OK\r\n"));

	/* c got the lock; b still waits, now behind c. */
	expect_replies(c, &c_lock, B("+OK\r\n"));
	req_init(&c_write, 0, 2);
	req_cmd(&c_write, 0, ARGS("set", "k", "from-c"));
	roundtrip(c, &c_write, B("+OK\r\n"));
	info_of(c, 0, v);
	assert_int_equal(v[KV_INFO_LOCK_WAITS], 2);
	assert_int_equal(atomic_load(&slots[b].replies), 0);

	req_init(&c_unlock, 0, 2);
	req_op(&c_unlock, KV_OP_UNLOCK, 0, no_args);
	roundtrip(c, &c_unlock, B("+OK\r\n"));
	expect_replies(b, &b_get, B("$6\r\nfrom-c\r\n"));

	stop_kv();
	assert_int_equal(srv.cores[0].stats.lock_waits, 2);
	assert_true(srv.cores[0].lock_holder == ATOLL_REF_NONE);
	kv_destroy();
}

static void shard_stop_frees_batches_still_waiting_for_a_lock(void **state)
{
	struct request lock, r;
	unsigned a, b;

	(void)state;
	start_kv(2);
	a = spawn_client(0);
	b = spawn_client(1);

	req_init(&lock, 0, 2);
	req_op(&lock, KV_OP_LOCK, 0, no_args);
	roundtrip(a, &lock, B("+OK\r\n"));
	for (int i = 0; i < 3; i++) {
		req_init(&r, 0, 2);
		req_cmd(&r, 0, ARGS("set", "k", "v"));
		send_req(b, &r);
	}
	wait_info_field(a, 0, KV_INFO_LOCK_WAITS, 3);

	/* Never unlocked: the stop frees the waiting batches (LSan checks). */
	stop_kv();
	assert_int_equal(atomic_load(&slots[b].replies), 0);
	assert_int_equal(srv.cores[0].stats.lock_waits, 3);
	assert_false(has_key(srv.cores[0].store, 0, "k"));
	kv_destroy();
}

static void shard_info_reports_its_counters_and_key_counts(void **state)
{
	struct request r;
	long long v[KV_INFO_FIELDS];
	unsigned c;

	(void)state;
	start_kv(2);
	c = spawn_client(1);

	info_of(c, 0, v);
	for (int i = 0; i < KV_INFO_DB0 + 3 * KV_DBS; i++) {
		if (i == KV_INFO_USED_MEMORY || (i >= KV_INFO_MSGS_LOCAL && i < KV_INFO_DB0))
			continue;
		if (v[i] != 0)
			fail_msg("INFO field %d of a fresh shard is %lld", i, v[i]);
	}

	req_init(&r, 0, 2);
	req_cmd(&r, 0, ARGS("set", "a", "1"));
	req_cmd(&r, 0, ARGS("set", "b", "2"));
	req_cmd(&r, 0, ARGS("set", "c", "3"));
	req_cmd(&r, 0, ARGS("set", "d", "4"));
	req_cmd(&r, 0, ARGS("set", "e", "5"));
	req_cmd(&r, 0, ARGS("get", "a"));
	req_cmd(&r, 0, ARGS("get", "zz"));
	roundtrip(c, &r, B("+OK\r\n"), B("+OK\r\n"), B("+OK\r\n"), B("+OK\r\n"), B("+OK\r\n"),
		  B("$1\r\n1\r\n"), B("$-1\r\n"));
	req_init(&r, 0, 2);
	req_cmd(&r, 3, ARGS("set", "x", "1", "EX", "100"));
	req_cmd(&r, 3, ARGS("set", "y", "2"));
	roundtrip(c, &r, B("+OK\r\n"), B("+OK\r\n"));

	info_of(c, 0, v);
	assert_true(v[KV_INFO_USED_MEMORY] > 0);
	assert_int_equal(v[KV_INFO_HITS], 1);
	assert_int_equal(v[KV_INFO_MISSES], 1);
	assert_int_equal(v[KV_INFO_EXPIRED_KEYS], 0);
	/* Three batches ran before this INFO's: the first INFO and the two
	 * above, 10 commands in all. */
	assert_int_equal(v[KV_INFO_BATCHES_RUN], 3);
	assert_int_equal(v[KV_INFO_BATCH_COMMANDS], 10);
	assert_int_equal(v[KV_INFO_LOCK_WAITS], 0);
	assert_int_equal(v[KV_INFO_CLIENTS], 0);
	assert_int_equal(v[KV_INFO_COMMANDS], 0);
	assert_int_equal(v[KV_INFO_CONNECTIONS], 0);
	for (int db = 0; db < KV_DBS; db++) {
		long long keys = v[KV_INFO_DB0 + 3 * db], expires = v[KV_INFO_DB0 + 3 * db + 1];
		long long ttl = v[KV_INFO_DB0 + 3 * db + 2];

		if (db == 0) {
			assert_int_equal(keys, 5);
			assert_int_equal(expires, 0);
			assert_int_equal(ttl, 0);
		} else if (db == 3) {
			assert_int_equal(keys, 2);
			assert_int_equal(expires, 1);
			assert_true(ttl >= 0 && ttl <= 100000);
		} else {
			assert_int_equal(keys, 0);
			assert_int_equal(expires, 0);
		}
	}

	/* The other shard's figures are its own. */
	info_of(c, 1, v);
	assert_int_equal(v[KV_INFO_DB0], 0);
	assert_int_equal(v[KV_INFO_HITS], 0);
	assert_int_equal(v[KV_INFO_BATCHES_RUN], 0);

	stop_kv();
	kv_destroy();
}

static void shard_config_changes_that_cores_settings_only(void **state)
{
	struct request r;
	unsigned c;

	(void)state;
	start_kv(2);
	c = spawn_client(0);

	req_init(&r, 1, 2);
	req_op(&r, KV_OP_CONFIG, 0, ARGS("hz", "50"));
	req_op(&r, KV_OP_CONFIG, 0, ARGS("MAXCLIENTS", "5"));
	req_op(&r, KV_OP_CONFIG, 0, ARGS("requirepass", "pw"));
	req_op(&r, KV_OP_CONFIG, 0, ARGS("client-output-buffer-limit", "normal 1mb 0 0"));
	req_op(&r, KV_OP_CONFIG, 0, ARGS("nosuch", "1"));
	req_op(&r, KV_OP_CONFIG, 0, ARGS("hz", "0"));
	req_op(&r, KV_OP_CONFIG, 0, ARGS("port", "1"));
	req_op(&r, KV_OP_CONFIG, 0, ARGS("hz"));
	req_op(&r, KV_OP_CONFIG, 0, ARGS("hz", "7", "8"));
	roundtrip(c, &r, B("+OK\r\n"), B("+OK\r\n"), B("+OK\r\n"), B("+OK\r\n"),
		  B("-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n"),
		  B("-ERR CONFIG SET failed (possibly related to argument 'hz') - argument must be "
		    "between 1 and 500 inclusive\r\n"),
		  B("-ERR CONFIG SET failed (possibly related to argument 'port') - can't set "
		    "immutable config\r\n"),
		  B("-ERR syntax error\r\n"), B("-ERR syntax error\r\n"));

	stop_kv();
	assert_int_equal(srv.cores[1].settings.hz, 50);
	assert_int_equal(srv.cores[1].settings.maxclients, 5);
	assert_string_equal(srv.cores[1].settings.requirepass, "pw");
	assert_int_equal(srv.cores[1].settings.client_output_limit, 1024 * 1024);
	/* The other core keeps its copy until its own shard is told. */
	assert_int_equal(srv.cores[0].settings.hz, 10);
	assert_int_equal(srv.cores[0].settings.maxclients, 10000);
	assert_string_equal(srv.cores[0].settings.requirepass, "");
	kv_destroy();
}

static void shard_resetstat_zeroes_the_counters_and_keeps_the_keys(void **state)
{
	struct request r, lock, unlock;
	long long v[KV_INFO_FIELDS];
	unsigned a, b;

	(void)state;
	start_kv(2);
	a = spawn_client(0);
	b = spawn_client(1);

	req_init(&r, 0, 2);
	req_cmd(&r, 0, ARGS("set", "a", "1"));
	req_cmd(&r, 0, ARGS("get", "a"));
	req_cmd(&r, 0, ARGS("get", "b"));
	roundtrip(a, &r, B("+OK\r\n"), B("$1\r\n1\r\n"), B("$-1\r\n"));
	/* One wait for the lock, so that counter is not 0 either. */
	req_init(&lock, 0, 2);
	req_op(&lock, KV_OP_LOCK, 0, no_args);
	roundtrip(a, &lock, B("+OK\r\n"));
	req_init(&r, 0, 2);
	req_cmd(&r, 0, ARGS("get", "a"));
	send_req(b, &r);
	wait_info_field(a, 0, KV_INFO_LOCK_WAITS, 1);
	req_init(&unlock, 0, 2);
	req_op(&unlock, KV_OP_UNLOCK, 0, no_args);
	roundtrip(a, &unlock, B("+OK\r\n"));
	expect_replies(b, &r, B("$1\r\n1\r\n"));

	info_of(a, 0, v);
	assert_int_equal(v[KV_INFO_HITS], 2);
	assert_int_equal(v[KV_INFO_MISSES], 1);
	assert_int_equal(v[KV_INFO_LOCK_WAITS], 1);
	assert_true(v[KV_INFO_BATCHES_RUN] >= 5);

	req_init(&r, 0, 2);
	req_op(&r, KV_OP_RESETSTAT, 0, no_args);
	roundtrip(a, &r, B("+OK\r\n"));
	info_of(a, 0, v);
	assert_int_equal(v[KV_INFO_HITS], 0);
	assert_int_equal(v[KV_INFO_MISSES], 0);
	assert_int_equal(v[KV_INFO_LOCK_WAITS], 0);
	/* Only the RESETSTAT batch ran since. */
	assert_int_equal(v[KV_INFO_BATCHES_RUN], 1);
	assert_int_equal(v[KV_INFO_BATCH_COMMANDS], 1);
	assert_int_equal(v[KV_INFO_DB0], 1);

	req_init(&r, 0, 2);
	req_cmd(&r, 0, ARGS("get", "a"));
	roundtrip(a, &r, B("$1\r\n1\r\n"));

	stop_kv();
	kv_destroy();
}

static void shard_answers_a_batch_cut_at_any_byte_with_errors(void **state)
{
	static const char malformed[] = "-ERR internal: malformed batch\r\n";
	struct request r;
	struct kv_batch b = { 0 };
	size_t ends[3], head, full;
	unsigned c;

	(void)state;
	start_kv(2);
	c = spawn_client(0);

	req_init(&r, 1, 2);
	req_cmd(&r, 0, ARGS("set", "a", "1"));
	req_cmd(&r, 0, ARGS("get", "a"));
	req_cmd(&r, 0, ARGS("set", "bee", "22"));
	/* Where each entry ends, from the builder itself. */
	kv_batch_begin(&b, r.seq, r.proto);
	head = b.len;
	for (uint32_t i = 0; i < r.n; i++) {
		kv_batch_add(&b, r.e[i].op, r.e[i].db, r.e[i].argc, r.e[i].argv);
		ends[i] = b.len;
	}
	full = b.len;
	kv_batch_free(&b);

	for (size_t cut = 0; cut <= full; cut++) {
		const atoll_msg *msg;
		struct kv_reply_view v;
		const char *want[3] = { "+OK\r\n", "$1\r\n1\r\n", "+OK\r\n" };

		r.seq = ++last_seq;
		r.corr = 1000 + cut;
		r.cut = cut < full;
		r.cut_len = (uint32_t)cut;
		send_req(c, &r);
		msg = next_reply(c);
		if (cut < head) {
			/* Not even a header: an empty reply, which the
			 * connection turns into errors, rather than none. */
			assert_int_equal(msg->corr, r.corr);
			assert_int_equal(kv_reply_view(msg, &v), 0);
			assert_int_equal(v.count, 0);
			continue;
		}
		v = view_of(msg, &r, 3);
		for (uint32_t i = 0; i < 3; i++) {
			size_t len;
			const char *got = kv_reply_at(&v, i, &len);
			const char *w = cut >= ends[i] ? want[i] : malformed;

			if (len != strlen(w) || memcmp(got, w, len) != 0)
				fail_msg("cut at %zu of %zu: reply %u is [%.*s], want [%s]", cut,
					 full, i, (int)len, got, w);
		}
	}

	/* The shard is fine afterwards. */
	req_init(&r, 1, 2);
	req_cmd(&r, 0, ARGS("get", "bee"));
	roundtrip(c, &r, B("$2\r\n22\r\n"));

	stop_kv();
	kv_destroy();
}

static void shard_answers_a_bad_op_or_db_with_bad_batch_entry(void **state)
{
	static const char bad[] = "-ERR internal: bad batch entry\r\n";
	struct request r;
	uint32_t ping = op_of("ping");
	unsigned c;

	(void)state;
	/* PING runs on the connection: the table gives a shard nothing to run. */
	assert_null(kv_command_at(ping)->exec);
	start_kv(2);
	c = spawn_client(1);

	req_init(&r, 1, 2);
	req_cmd(&r, 0, ARGS("set", "k", "v"));
	req_op(&r, (uint32_t)kv_command_count(), 0, ARGS("get", "k"));
	req_op(&r, ping, 0, ARGS("ping"));
	req_op(&r, KV_OP_LOCK - 1, 0, ARGS("get", "k"));
	req_op(&r, KV_OP_RESETSTAT + 1, 0, no_args);
	req_op(&r, UINT32_MAX, 0, ARGS("get", "k"));
	req_cmd(&r, KV_DBS, ARGS("get", "k"));
	req_cmd(&r, KV_DBS - 1, ARGS("get", "k"));
	req_cmd(&r, 0, ARGS("get", "k"));
	roundtrip(c, &r, B("+OK\r\n"), B(bad), B(bad), B(bad), B(bad), B(bad), B(bad), B("$-1\r\n"),
		  B("$1\r\nv\r\n"));

	stop_kv();
	/* The bad entries changed nothing: no lock, no reset. */
	assert_true(srv.cores[1].lock_holder == ATOLL_REF_NONE);
	assert_int_equal(srv.cores[1].stats.batches_run, 1);
	kv_destroy();
}

static void shards_on_four_oversubscribed_reactors_serve_clients_on_every_core(void **state)
{
	enum {
		NCORES = 4,
		KEYS_PER_CLIENT = 12
	};
	static char keys[NCORES][KEYS_PER_CLIENT][32];
	static struct request reqs[NCORES][NCORES];
	unsigned clients[NCORES];
	bool incr_seen[NCORES][NCORES + 1] = { { false } };

	(void)state;
	start_kv(NCORES);
	for (unsigned core = 0; core < NCORES; core++)
		clients[core] = spawn_client(core);

	/* Each client sends every shard one batch: a shared counter, then the
	 * client's own keys that belong there (kv_shard_of), then reads back. */
	for (unsigned c = 0; c < NCORES; c++) {
		for (unsigned s = 0; s < NCORES; s++) {
			req_init(&reqs[c][s], s, 2);
			req_cmd(&reqs[c][s], 0, ARGS("incr", "counter"));
		}
		for (unsigned k = 0; k < KEYS_PER_CLIENT; k++) {
			struct request *r;

			snprintf(keys[c][k], sizeof(keys[c][k]), "user:%u:%u", c, k);
			r = &reqs[c][kv_shard_of(&srv, keys[c][k], strlen(keys[c][k]))];
			req_cmd(r, 0, ARGS("set", keys[c][k], keys[c][k]));
		}
		for (unsigned s = 0; s < NCORES; s++)
			send_req(clients[c], &reqs[c][s]);
	}

	/* Replies from different shards come in any order: match by corr. */
	for (unsigned c = 0; c < NCORES; c++) {
		for (unsigned i = 0; i < NCORES; i++) {
			const atoll_msg *msg = next_reply(clients[c]);
			const struct request *r = NULL;
			struct kv_reply_view v;
			size_t len;
			const char *p;
			long long n;

			for (unsigned s = 0; s < NCORES; s++)
				if (reqs[c][s].corr == msg->corr)
					r = &reqs[c][s];
			assert_non_null(r);
			v = view_of(msg, r, r->n);
			p = kv_reply_at(&v, 0, &len);
			n = parse_int(&p, p + len);
			assert_true(n >= 1 && n <= NCORES);
			assert_false(incr_seen[r->shard][n]);
			incr_seen[r->shard][n] = true;
			for (uint32_t e = 1; e < v.count; e++) {
				p = kv_reply_at(&v, e, &len);
				assert_int_equal(len, 5);
				assert_memory_equal(p, "+OK\r\n", 5);
			}
		}
	}

	stop_kv();
	for (unsigned s = 0; s < NCORES; s++) {
		assert_int_equal(srv.cores[s].stats.batches_run, NCORES);
		assert_int_equal(kv_db_size(srv.cores[s].store, 0),
				 1 + (uint64_t)(reqs[0][s].n - 1) + (reqs[1][s].n - 1) +
					 (reqs[2][s].n - 1) + (reqs[3][s].n - 1));
	}
	for (unsigned c = 0; c < NCORES; c++) {
		for (unsigned k = 0; k < KEYS_PER_CLIENT; k++) {
			unsigned home = kv_shard_of(&srv, keys[c][k], strlen(keys[c][k]));

			for (unsigned s = 0; s < NCORES; s++)
				assert_int_equal(has_key(srv.cores[s].store, 0, keys[c][k]),
						 s == home);
		}
	}
	kv_destroy();
}

static void reply_view_refuses_other_and_short_messages(void **state)
{
	atoll_msg *m;
	struct kv_reply_view v;
	struct {
		uint64_t seq;
		uint32_t count;
		uint32_t pad;
		uint32_t ends[2];
		char data[7];
	} reply = { 9, 2, 0, { 3, 7 }, { '+', 'O', 'K', ':', '1', '\r', '\n' } };

	(void)state;
	/* Not a reply at all. */
	m = atoll_msg_new_copy(KV_MSG_BATCH, &reply, sizeof(reply));
	assert_non_null(m);
	assert_int_equal(kv_reply_view(m, &v), -EINVAL);
	atoll_msg_free(m);

	/* Shorter than its header, or than its ends. */
	m = atoll_msg_new_copy(KV_MSG_REPLY, &reply, 15);
	assert_non_null(m);
	assert_int_equal(kv_reply_view(m, &v), -EINVAL);
	atoll_msg_free(m);
	m = atoll_msg_new_copy(KV_MSG_REPLY, &reply, 16 + 7);
	assert_non_null(m);
	assert_int_equal(kv_reply_view(m, &v), -EINVAL);
	atoll_msg_free(m);

	/* Whole: the view points into the message. */
	m = atoll_msg_new_copy(KV_MSG_REPLY, &reply, sizeof(reply));
	assert_non_null(m);
	assert_int_equal(kv_reply_view(m, &v), 0);
	assert_int_equal(v.seq, 9);
	assert_int_equal(v.count, 2);
	{
		size_t len;
		const char *p = kv_reply_at(&v, 0, &len);

		assert_int_equal(len, 3);
		assert_memory_equal(p, "+OK", 3);
		p = kv_reply_at(&v, 1, &len);
		assert_int_equal(len, 4);
		assert_memory_equal(p, ":1\r\n", 4);
	}
	atoll_msg_free(m);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(shard_runs_a_batch_in_order_and_says_where_each_reply_ends),
		T(shard_writes_resp3_nulls_for_a_proto_3_batch),
		T(shard_on_another_core_answers_the_sender_there),
		T(shard_lock_defers_other_senders_until_unlock_and_keeps_their_order),
		T(shard_lock_passes_to_a_waiting_locker_before_later_batches),
		T(shard_stop_frees_batches_still_waiting_for_a_lock),
		T(shard_info_reports_its_counters_and_key_counts),
		T(shard_config_changes_that_cores_settings_only),
		T(shard_resetstat_zeroes_the_counters_and_keeps_the_keys),
		T(shard_answers_a_batch_cut_at_any_byte_with_errors),
		T(shard_answers_a_bad_op_or_db_with_bad_batch_entry),
		T(shards_on_four_oversubscribed_reactors_serve_clients_on_every_core),
		T(reply_view_refuses_other_and_short_messages),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
