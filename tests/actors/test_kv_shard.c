/*
 * test_kv_shard.c - the atoll-kv shard actor (actors/kv_shard.c) and its
 * batch wire format, through a real runtime set up as atoll-kv sets it up:
 * one shard per reactor, stores made before the shards are spawned. Test
 * "client" actors build batches with kv_batch_*, send them to shards on
 * their own core or another, and keep the replies for the test thread,
 * which checks them byte for byte: commands in order, RESP3 nulls, INFO,
 * CONFIG, RESETSTAT, truncated batches and bad entries (the shard lock is in
 * test_kv_shard_lock.c). Every test stops the runtime and frees the server:
 * ASan/LSan see no leak.
 */
#include "kv_shard_harness.h"

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
	head = b.buf.len;
	for (uint32_t i = 0; i < r.n; i++) {
		kv_batch_add(&b, r.e[i].op, r.e[i].db, r.e[i].argc, r.e[i].argv);
		ends[i] = b.buf.len;
	}
	full = b.buf.len;
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
	req_op(&r, KV_OP_SHUTDOWN + 1, 0, no_args);
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
