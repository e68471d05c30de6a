/*
 * kv_shard_harness.h - what test_kv_shard.c and test_kv_shard_lock.c share:
 * a runtime set up as atoll-kv sets it up (one shard per reactor, stores made
 * before the shards are spawned), test "client" actors that send batches
 * built with kv_batch_* and keep the replies, and helpers that check them
 * byte for byte from the test thread. Included by exactly one .c file per
 * test program.
 */
#ifndef ATOLL_TEST_KV_SHARD_HARNESS_H
#define ATOLL_TEST_KV_SHARD_HARNESS_H

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

static inline int client_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct client *c = state;

	(void)ctx;
	c->slot = (struct client_slot *)(uintptr_t)arg;
	atomic_fetch_add(&c->slot->inits, 1);
	return 0;
}

static inline void client_send(atoll_ctx *ctx, struct client *c, const struct request *r)
{
	atoll_msg *m;

	kv_batch_begin(&c->batch, r->seq, r->proto);
	for (uint32_t i = 0; i < r->n; i++)
		CHECK_EQ(
			kv_batch_add(&c->batch, r->e[i].op, r->e[i].db, r->e[i].argc, r->e[i].argv),
			i);
	CHECK(!c->batch.buf.oom);
	m = kv_batch_take(&c->batch);
	CHECK(m != NULL);
	if (m == NULL)
		return;
	CHECK_EQ(m->type, KV_MSG_BATCH);
	/* Taking the batch empties the builder for the next one. */
	CHECK(c->batch.buf.p == NULL);
	CHECK_EQ(c->batch.buf.len, 0);
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

static inline void client_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
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

static inline void client_stop(atoll_ctx *ctx, void *state)
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
static inline void start_kv(unsigned n)
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
static inline unsigned spawn_client(unsigned core)
{
	unsigned c = nclients++;

	assert_true(c < MAX_CLIENTS);
	client_refs[c] = spawn_on(rt, &client_type, &slots[c], (int)core);
	assert_wait_u64(&slots[c].inits, 1, WAIT_LIMIT_NS);
	return c;
}

static inline void free_replies(void)
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
static inline void stop_kv(void)
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
static inline void kv_destroy(void)
{
	free_replies();
	destroy_runtime(rt);
	rt = NULL;
	kv_server_destroy(&srv);
}

static inline int setup(void **state)
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
static inline int teardown(void **state)
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
static inline uint32_t op_of(const char *name)
{
	const struct kv_command *cmd = kv_command_find(name, strlen(name));

	assert_non_null(cmd);
	for (size_t i = 0; i < kv_command_count(); i++)
		if (kv_command_at(i) == cmd)
			return (uint32_t)i;
	fail_msg("command %s is not in the table", name);
	return 0;
}

static inline void req_init(struct request *r, unsigned shard, uint8_t proto)
{
	memset(r, 0, sizeof(*r));
	r->shard = shard;
	r->seq = ++last_seq;
	r->corr = 0x5eed0000ull + last_seq * 7;
	r->proto = proto;
}

/* Adds an entry with raw arguments. */
static inline void req_raw(struct request *r, uint32_t op, int db, int argc,
			   const struct kv_arg *argv)
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
static inline void req_op(struct request *r, uint32_t op, int db, const char *const *args)
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
static inline void req_cmd(struct request *r, int db, const char *const *args)
{
	req_op(r, op_of(args[0]), db, args);
}

/* Has client c send r, and waits until it has (r may be reused then). */
static inline void send_req(unsigned c, const struct request *r)
{
	uint64_t before = atomic_load(&slots[c].sent);
	atoll_msg *m = atoll_msg_new(CLIENT_MSG_SEND, sizeof(r));

	assert_non_null(m);
	memcpy(m->data, &r, sizeof(r));
	assert_int_equal(atoll_runtime_send(rt, client_refs[c], m), 0);
	assert_wait_u64(&slots[c].sent, before + 1, WAIT_LIMIT_NS);
}

/* The next reply client c gets, once it is there. */
static inline const atoll_msg *next_reply(unsigned c)
{
	uint64_t i = taken[c]++;

	assert_true(i < MAX_REPLIES);
	assert_wait_u64(&slots[c].replies, i + 1, WAIT_LIMIT_NS);
	return slots[c].reply[i];
}

/* Checks the framing of a reply to r and returns its view. */
static inline struct kv_reply_view view_of(const atoll_msg *msg, const struct request *r,
					   uint32_t count)
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
static inline void check_replies(unsigned c, const struct request *r, const struct bytes *want,
				 size_t n)
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
static inline long long parse_int(const char **p, const char *end)
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
static inline void info_of(unsigned c, unsigned shard, long long *v)
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
static inline void wait_info_field(unsigned c, unsigned shard, int field, long long want)
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
static inline bool has_key(const struct kv_store *store, int db, const char *key)
{
	return kv_lookup((struct kv_store *)(uintptr_t)store, db, key, strlen(key), kv_unix_ms(),
			 false) != NULL;
}

#endif /* ATOLL_TEST_KV_SHARD_HARNESS_H */
