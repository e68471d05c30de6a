/*
 * test_reactor.c - the reactor loop of src/reactor.c under load: per-sender
 * FIFO across cores (also through the overflow path of a 2-slot ring, with
 * nothing left in overflow once all has arrived), the batch limit letting
 * other actors run before a full mailbox drains, and every in-flight message
 * (mailboxes, rings, overflow) freed when the runtime stops.
 */
#include "helpers.h"

/* Numbered after the probe's own types: a probe takes these as plain messages. */
enum {
	MSG_VALUE = PROBE_MSG_END,
	MSG_GO,
	MSG_CONTINUE,
	MSG_SEQ, /* payload: struct seq_payload */
	MSG_FLOOD,
	MSG_COUNTED, /* attached buffer, release counted */
	MSG_SPIN,    /* the spinner sends itself another */
	MSG_POKE,    /* from a stop hook to a live actor */
};

/* Cross-core FIFO ------------------------------------------------------ */

#define MAX_SENDERS 8
#define CHUNK 1000

struct seq_payload {
	uint32_t sender;
	uint32_t pad;
	uint64_t seq;
};

struct seq_sender_arg {
	atoll_ref receiver;
	uint32_t id;
	uint64_t count;
	_Atomic uint64_t queued; /* sends that returned ATOLL_SENT_QUEUED */
	_Atomic uint64_t done;
};

struct seq_sender_state {
	struct seq_sender_arg *arg;
	uint64_t next;
};

static int seq_sender_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct seq_sender_state *s = state;

	(void)ctx;
	s->arg = (struct seq_sender_arg *)arg;
	s->next = 1;
	return 0;
}

/* Sends the next chunk, then a message to self for the one after: long
 * work is split so the reactor stays responsive. */
static void seq_sender_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct seq_sender_state *s = state;
	struct seq_payload p = { .sender = s->arg->id };

	CHECK(msg->type == MSG_GO || msg->type == MSG_CONTINUE);
	for (int i = 0; i < CHUNK && s->next <= s->arg->count; i++) {
		int rc;

		p.seq = s->next++;
		rc = atoll_tell(ctx, s->arg->receiver, MSG_SEQ, &p, sizeof(p));
		CHECK(rc == ATOLL_SENT || rc == ATOLL_SENT_QUEUED);
		if (rc == ATOLL_SENT_QUEUED)
			atomic_fetch_add(&s->arg->queued, 1);
	}
	if (s->next <= s->arg->count)
		CHECK(atoll_tell(ctx, atoll_self(ctx), MSG_CONTINUE, NULL, 0) >= 0);
	else
		atomic_store(&s->arg->done, 1);
}

static const struct atoll_actor_type seq_sender_type = {
	.name = "seq_sender",
	.state_size = sizeof(struct seq_sender_state),
	.init = seq_sender_init,
	.receive = seq_sender_receive,
};

struct seq_receiver_arg {
	unsigned nsenders;
	_Atomic uint64_t next[MAX_SENDERS]; /* next expected seq per sender */
	_Atomic uint64_t total;
	_Atomic uint64_t gaps;
};

static int seq_receiver_init(atoll_ctx *ctx, void *state, const void *arg)
{
	(void)ctx;
	*(struct seq_receiver_arg **)state = (struct seq_receiver_arg *)arg;
	return 0;
}

static void seq_receiver_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct seq_receiver_arg *a = *(struct seq_receiver_arg **)state;
	struct seq_payload p;
	uint64_t expect;

	(void)ctx;
	CHECK_EQ(msg->type, MSG_SEQ);
	CHECK_EQ(msg->len, sizeof(p));
	memcpy(&p, msg->data, sizeof(p));
	CHECK(p.sender < a->nsenders);
	if (p.sender >= a->nsenders)
		return;
	expect = atomic_load(&a->next[p.sender]);
	if (p.seq != expect) {
		/* Report the first few; resynchronise to count the rest. */
		if (atomic_fetch_add(&a->gaps, 1) < 5)
			CHECK_EQ(p.seq, expect);
	}
	atomic_store(&a->next[p.sender], p.seq + 1);
	atomic_fetch_add(&a->total, 1);
}

static const struct atoll_actor_type seq_receiver_type = {
	.name = "seq_receiver",
	.state_size = sizeof(struct seq_receiver_arg *),
	.init = seq_receiver_init,
	.receive = seq_receiver_receive,
};

/*
 * One receiver on reactor 0, one sender on every reactor (0 included, for
 * the local path), each sending `count` numbered messages. Returns the sum
 * of ATOLL_SENT_QUEUED results.
 */
static uint64_t run_fifo(atoll_runtime *rt, uint64_t count)
{
	unsigned n = atoll_runtime_reactors(rt);
	struct seq_receiver_arg *recv = calloc(1, sizeof(*recv));
	struct seq_sender_arg *senders = calloc(n, sizeof(*senders));
	atoll_ref receiver, refs[MAX_SENDERS];
	uint64_t queued = 0, t0 = test_now_ns();

	assert_non_null(recv);
	assert_non_null(senders);
	assert_true(n <= MAX_SENDERS);
	recv->nsenders = n;
	for (unsigned i = 0; i < n; i++)
		atomic_store(&recv->next[i], 1);
	receiver = spawn_on(rt, &seq_receiver_type, recv, 0);
	for (unsigned i = 0; i < n; i++) {
		senders[i].receiver = receiver;
		senders[i].id = i;
		senders[i].count = count;
		refs[i] = spawn_on(rt, &seq_sender_type, &senders[i], (int)i);
	}
	for (unsigned i = 0; i < n; i++)
		send_from_outside(rt, refs[i], MSG_GO, NULL, 0);

	assert_wait_u64(&recv->total, count * n, TSAN_SCALE(60, 240) * NS_PER_SEC);
	printf("fifo: %u senders x %llu messages in %.3f s\n", n, (unsigned long long)count,
	       (double)(test_now_ns() - t0) / 1e9);
	assert_no_check_failures();
	assert_int_equal(atomic_load(&recv->gaps), 0);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(atomic_load(&recv->next[i]), count + 1);
		assert_int_equal(atomic_load(&senders[i].done), 1);
		queued += atomic_load(&senders[i].queued);
	}
	/* Nothing beyond the expected total arrives. */
	assert_int_equal(atomic_load(&recv->total), count * n);
	free(senders);
	free(recv);
	return queued;
}

static void runtime_cross_core_messages_keep_per_sender_fifo_order(void **state)
{
	atoll_runtime *rt = start_reactors(4);

	(void)state;
	run_fifo(rt, TSAN_SCALE(100000u, 20000u));
	destroy_runtime(rt);
}

struct overflow_drained {
	atoll_runtime *rt;
};

static bool overflow_is_empty(void *arg)
{
	struct overflow_drained *d = arg;

	return STATS_SUM(d->rt, overflow) == 0;
}

static void runtime_tiny_ring_overflows_without_loss_and_keeps_order(void **state)
{
	struct atoll_config cfg = { .reactors = 4, .ring_capacity = 2, .no_signals = true };
	atoll_runtime *rt;
	struct overflow_drained d;
	uint64_t queued;

	(void)state;
	rt = start_runtime(&cfg);
	queued = run_fifo(rt, TSAN_SCALE(20000u, 5000u));
	printf("ring_full total %llu, ATOLL_SENT_QUEUED returned %llu times\n",
	       (unsigned long long)STATS_SUM(rt, ring_full), (unsigned long long)queued);
	assert_true(STATS_SUM(rt, ring_full) > 0);
	assert_true(queued > 0);
	/* Everything arrived, so nothing may be left waiting in overflow. */
	d.rt = rt;
	if (!wait_for(overflow_is_empty, &d, WAIT_LIMIT_NS))
		fail_msg("stats.overflow stays at %llu after every message arrived",
			 (unsigned long long)STATS_SUM(rt, overflow));
	destroy_runtime(rt);
}

/* Fairness ------------------------------------------------------------- */

struct fairness {
	atoll_ref busy;
	atoll_ref other;
	_Atomic uint64_t busy_count;
	_Atomic uint64_t busy_count_seen_by_other;
	_Atomic uint64_t other_done;
};

static int fair_init(atoll_ctx *ctx, void *state, const void *arg)
{
	(void)ctx;
	*(struct fairness **)state = (struct fairness *)arg;
	return 0;
}

static void fair_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct fairness *f = *(struct fairness **)state;

	if (msg->type == MSG_FLOOD) {
		/* The flooder: 1000 messages to busy, then one to other. */
		for (int i = 0; i < 1000; i++)
			CHECK(atoll_tell(ctx, f->busy, MSG_VALUE, NULL, 0) >= 0);
		CHECK(atoll_tell(ctx, f->other, MSG_GO, NULL, 0) >= 0);
	} else if (msg->type == MSG_VALUE) {
		atomic_fetch_add(&f->busy_count, 1);
	} else if (msg->type == MSG_GO) {
		atomic_store(&f->busy_count_seen_by_other, atomic_load(&f->busy_count));
		atomic_store(&f->other_done, 1);
	}
}

static const struct atoll_actor_type fair_type = {
	.name = "fair",
	.state_size = sizeof(struct fairness *),
	.init = fair_init,
	.receive = fair_receive,
};

static void runtime_batch_limit_lets_other_actors_run_before_a_full_mailbox_drains(void **state)
{
	struct atoll_config cfg = { .reactors = 1, .batch = 16, .no_signals = true };
	atoll_runtime *rt = start_runtime(&cfg);
	static struct fairness f; /* outlives the test */
	atoll_ref flooder;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.busy = spawn_on(rt, &fair_type, &f, 0);
	f.other = spawn_on(rt, &fair_type, &f, 0);
	flooder = spawn_on(rt, &fair_type, &f, 0);
	send_from_outside(rt, flooder, MSG_FLOOD, NULL, 0);
	assert_wait_u64(&f.other_done, 1, WAIT_LIMIT_NS);
	assert_wait_u64(&f.busy_count, 1000, WAIT_LIMIT_NS);
	printf("other ran after busy handled %llu of 1000\n",
	       (unsigned long long)atomic_load(&f.busy_count_seen_by_other));
	assert_true(atomic_load(&f.busy_count_seen_by_other) < 1000);
	assert_no_check_failures();
	destroy_runtime(rt);
}

/* Stop ----------------------------------------------------------------- */

static _Atomic uint64_t released_buffers;

static void release_counted(atoll_msg *msg)
{
	free(msg->data);
	atomic_fetch_add(&released_buffers, 1);
}

static atoll_msg *counted_msg(void)
{
	atoll_msg *m = atoll_msg_new(MSG_COUNTED, 0);
	void *buf = malloc(16);

	if (m == NULL || buf == NULL) {
		free(buf);
		atoll_msg_free(m);
		return NULL;
	}
	memset(buf, 0, 16);
	atoll_msg_attach(m, buf, 0, 16, release_counted);
	return m;
}

struct flood_arg {
	atoll_ref target;
	unsigned count;
};

static int flood_init(atoll_ctx *ctx, void *state, const void *arg)
{
	(void)ctx;
	*(const struct flood_arg **)state = arg;
	return 0;
}

static void flood_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	const struct flood_arg *a = *(const struct flood_arg **)state;

	CHECK_EQ(msg->type, MSG_FLOOD);
	for (unsigned i = 0; i < a->count; i++) {
		atoll_msg *m = counted_msg();

		CHECK(m != NULL);
		if (m != NULL)
			CHECK(atoll_send(ctx, a->target, m) >= 0);
	}
	atoll_stop_runtime(ctx);
}

static const struct atoll_actor_type flood_type = {
	.name = "flood",
	.state_size = sizeof(struct flood_arg *),
	.init = flood_init,
	.receive = flood_receive,
};

static void runtime_stop_frees_every_message_in_mailboxes_rings_and_overflow(void **state)
{
	struct atoll_config cfg = { .reactors = 2, .ring_capacity = 2, .no_signals = true };
	atoll_runtime *rt = start_runtime(&cfg);
	static struct probe_slot sink_slot; /* outlive the test */
	static struct flood_arg arg;
	atoll_ref flooder;

	(void)state;
	memset(&sink_slot, 0, sizeof(sink_slot));
	arg.count = 5000;
	atomic_store(&released_buffers, 0);
	arg.target = spawn_on(rt, &probe_type, &sink_slot, 1);
	flooder = spawn_on(rt, &flood_type, &arg, 0);
	for (int i = 0; i < 500; i++) {
		atoll_msg *m = counted_msg();

		assert_non_null(m);
		assert_true(atoll_runtime_send(rt, arg.target, m) >= 0);
	}
	/* The flooder fills ring and overflow, then stops the runtime. */
	send_from_outside(rt, flooder, MSG_FLOOD, NULL, 0);
	assert_int_equal(wait_runtime(rt), 0);
	/* Stats stay readable between wait and destroy. */
	assert_int_equal(read_stats(rt, 1).received, atomic_load(&sink_slot.received));
	destroy_runtime(rt);
	printf("sink received %llu of 5500 before the stop\n",
	       (unsigned long long)atomic_load(&sink_slot.received));
	assert_int_equal(atomic_load(&released_buffers), 5500);
	assert_int_equal(atomic_load(&sink_slot.stops), 1);
	assert_no_check_failures();
}

/*
 * Shutdown with an actor still queued to run: the spinner always has mail
 * (it sends itself one per message) and stops the runtime, so it is in the
 * run queue when the reactor stops its actors, and it is freed first (it has
 * the lowest slot). The notifier's stop hook then sends to the sink, which is
 * still alive: queueing the sink must not link it behind the freed spinner
 * (ASan: heap-use-after-free in atoll__reactor_schedule before the fix).
 */
static _Atomic uint64_t spins, sink_stops;
static atoll_ref sink_ref;

static void spinner_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	(void)state;
	(void)msg;
	if (atomic_fetch_add(&spins, 1) == 100)
		atoll_stop_runtime(ctx);
	CHECK(atoll_tell(ctx, atoll_self(ctx), MSG_SPIN, NULL, 0) >= 0);
}

static const struct atoll_actor_type spinner_type = {
	.name = "spinner",
	.receive = spinner_receive,
};

static void notifier_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	(void)ctx;
	(void)state;
	(void)msg;
}

static void notifier_stop(atoll_ctx *ctx, void *state)
{
	(void)state;
	(void)atoll_tell(ctx, sink_ref, MSG_POKE, NULL, 0);
}

static const struct atoll_actor_type notifier_type = {
	.name = "notifier",
	.receive = notifier_receive,
	.stop = notifier_stop,
};

static void sink_stop(atoll_ctx *ctx, void *state)
{
	(void)ctx;
	(void)state;
	atomic_fetch_add(&sink_stops, 1);
}

static const struct atoll_actor_type sink_type = {
	.name = "sink",
	.receive = notifier_receive,
	.stop = sink_stop,
};

static void runtime_stop_with_an_actor_queued_and_a_stop_hook_sending_to_a_live_one(void **state)
{
	struct atoll_config cfg = { .reactors = 1, .no_signals = true };
	atoll_runtime *rt = start_runtime(&cfg);
	atoll_ref spinner;

	(void)state;
	atomic_store(&spins, 0);
	atomic_store(&sink_stops, 0);
	/* Slot order is spawn order: spinner, notifier, sink. */
	spinner = spawn_on(rt, &spinner_type, NULL, 0);
	(void)spawn_on(rt, &notifier_type, NULL, 0);
	sink_ref = spawn_on(rt, &sink_type, NULL, 0);
	send_from_outside(rt, spinner, MSG_SPIN, NULL, 0);
	assert_int_equal(wait_runtime(rt), 0);
	assert_int_equal(read_stats(rt, 0).actors_alive, 0);
	destroy_runtime(rt);
	assert_true(atomic_load(&spins) > 100);
	assert_int_equal(atomic_load(&sink_stops), 1);
	assert_no_check_failures();
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, reset, destroy_leftovers)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(runtime_cross_core_messages_keep_per_sender_fifo_order),
		TEST(runtime_tiny_ring_overflows_without_loss_and_keeps_order),
		TEST(runtime_batch_limit_lets_other_actors_run_before_a_full_mailbox_drains),
		TEST(runtime_stop_frees_every_message_in_mailboxes_rings_and_overflow),
		TEST(runtime_stop_with_an_actor_queued_and_a_stop_hook_sending_to_a_live_one),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
