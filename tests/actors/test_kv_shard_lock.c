/*
 * test_kv_shard_lock.c - the atoll-kv shard's lock (actors/kv_shard.c), which
 * makes commands whose keys span shards atomic: while one sender holds it,
 * others' batches wait, each sender's in order, and run once it is released;
 * the holder's own batches never wait; batches still waiting when the shard
 * stops are freed. Same harness as test_kv_shard.c.
 */
#include "kv_shard_harness.h"

/* --- tests ----------------------------------------------------------------- */

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

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(shard_lock_defers_other_senders_until_unlock_and_keeps_their_order),
		T(shard_lock_passes_to_a_waiting_locker_before_later_batches),
		T(shard_stop_frees_batches_still_waiting_for_a_lock),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
