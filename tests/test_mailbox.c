/*
 * test_mailbox.c - bounded mailboxes (struct atoll_spawn_opts): DROP_NEWEST
 * keeps the first messages, DROP_OLDEST the last, REJECT gives a sender on
 * the same core -ENOBUFS and bounces messages from another core back to the
 * sender as ATOLL_MSG_REJECTED holding the message; system messages (DOWN,
 * TIMEOUT) enter a full mailbox; counters queued, queued_max,
 * mailbox_dropped and mailbox_rejected.
 */
#include "helpers.h"

enum {
	MSG_FLOOD = ATOLL_MSG_USER, /* payload: struct flood */
	MSG_VALUE,                  /* payload: uint64_t */
	MSG_FILL_SELF,              /* the sink fills its own mailbox */
	MSG_ASK_NOBODY,
	MSG_FLOOD_ASK, /* payload: struct flood: flood, then a timed ask */
	MSG_MARK,
};

#define LIMIT 4u
#define FLOOD 10u

struct flood {
	atoll_ref to;
	uint32_t n;
};

struct seen {
	_Atomic uint64_t values, first, last, sum;
	_Atomic uint64_t downs, timeouts, rejected, rejected_ok, send_ok, send_enobufs, other;
	_Atomic uint64_t ask_corr, rejected_corr, marks;
};

static struct seen sink_seen, src_seen;

/* The sink records the values it gets; on MSG_FILL_SELF it fills its own
 * mailbox and keeps it full until a TIMEOUT comes, and watches a dead actor
 * (its DOWN must enter the full mailbox). */
struct sink {
	bool fill;
	atoll_ref dead;
};

static int sink_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct sink *s = state;

	(void)ctx;
	if (arg != NULL)
		s->dead = *(const atoll_ref *)arg;
	return 0;
}

static void sink_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct sink *s = state;
	uint64_t v = 0;

	switch (msg->type) {
	case MSG_VALUE:
		if (msg->len == sizeof(v))
			memcpy(&v, msg->data, sizeof(v));
		if (atomic_fetch_add(&sink_seen.values, 1) == 0)
			atomic_store(&sink_seen.first, v);
		atomic_store(&sink_seen.last, v);
		atomic_fetch_add(&sink_seen.sum, v);
		if (s->fill) /* Keep the mailbox full. */
			(void)atoll_tell(ctx, atoll_self(ctx), MSG_VALUE, &v, sizeof(v));
		break;
	case MSG_FILL_SELF: {
		atoll_msg *ask = atoll_msg_new(MSG_ASK_NOBODY, 0);
		uint64_t id;

		s->fill = true;
		/* Nobody answers: the TIMEOUT comes while the mailbox is full. */
		CHECK(atoll_ask_timeout(ctx, s->dead, ask, 0, NULL) == -ESRCH);
		ask = atoll_msg_new(MSG_ASK_NOBODY, 0);
		CHECK(atoll_ask_timeout(ctx, atoll_self(ctx), ask, 0, NULL) >= 0);
		for (uint64_t i = 1; i <= 200; i++)
			(void)atoll_tell(ctx, atoll_self(ctx), MSG_VALUE, &i, sizeof(i));
		/* The mailbox is full: the DOWN (NOPROC) still enters. */
		CHECK_EQ(atoll_monitor(ctx, s->dead, &id), 0);
		break;
	}
	case MSG_ASK_NOBODY:
		break;
	case ATOLL_MSG_DOWN:
		atomic_fetch_add(&sink_seen.downs, 1);
		break;
	case ATOLL_MSG_TIMEOUT:
		s->fill = false;
		atomic_fetch_add(&sink_seen.timeouts, 1);
		break;
	default:
		atomic_fetch_add(&sink_seen.other, 1);
		break;
	}
}

static const struct atoll_actor_type sink_type = {
	.name = "sink",
	.state_size = sizeof(struct sink),
	.init = sink_init,
	.receive = sink_receive,
};

/* The source sends n values (1..n) to `to` in one receive and records what
 * atoll_send said and what comes back rejected. */
static void source_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	(void)state;
	if (msg->type == MSG_MARK) {
		atomic_fetch_add(&src_seen.marks, 1);
		return;
	}
	if (msg->type == ATOLL_MSG_TIMEOUT) {
		atomic_fetch_add(&src_seen.timeouts, 1);
		return;
	}
	if (msg->type == MSG_FLOOD || msg->type == MSG_FLOOD_ASK) {
		struct flood f;

		memcpy(&f, msg->data, sizeof(f));
		for (uint64_t i = 1; i <= f.n; i++) {
			int rc = atoll_tell(ctx, f.to, MSG_VALUE, &i, sizeof(i));

			if (rc == -ENOBUFS)
				atomic_fetch_add(&src_seen.send_enobufs, 1);
			else if (rc >= 0)
				atomic_fetch_add(&src_seen.send_ok, 1);
		}
		if (msg->type == MSG_FLOOD_ASK) {
			/* Arrives behind the flood: refused, and the refusal
			 * is the ask's one answer. */
			uint64_t v = 0, corr = 0;
			atoll_msg *q = atoll_msg_new_copy(MSG_VALUE, &v, sizeof(v));

			CHECK(atoll_ask_timeout(ctx, f.to, q, 200 * NS_PER_MS, &corr) >= 0);
			atomic_store(&src_seen.ask_corr, corr);
			CHECK_EQ(atoll_send_after(ctx, atoll_self(ctx), atoll_msg_new(MSG_MARK, 0),
						  400 * NS_PER_MS, NULL),
				 0);
		}
		return;
	}
	if (msg->type == ATOLL_MSG_REJECTED) {
		struct atoll_rejected *rej = atoll_rejected_of(msg);
		uint64_t v = 0;

		atomic_fetch_add(&src_seen.rejected, 1);
		atomic_store(&src_seen.rejected_corr, msg->corr);
		if (rej != NULL && rej->msg != NULL && rej->msg->type == MSG_VALUE) {
			/* Take the message back: the sender owns it now. */
			atoll_msg *m = rej->msg;

			rej->msg = NULL;
			memcpy(&v, m->data, sizeof(v));
			if (v <= FLOOD)
				atomic_fetch_add(&src_seen.rejected_ok, 1);
			atoll_msg_free(m);
		}
		return;
	}
	atomic_fetch_add(&src_seen.other, 1);
}

static const struct atoll_actor_type source_type = {
	.name = "source",
	.receive = source_receive,
};

static int setup(void **state)
{
	(void)state;
	reset_checks();
	memset(&sink_seen, 0, sizeof(sink_seen));
	memset(&src_seen, 0, sizeof(src_seen));
	return 0;
}

static atoll_ref bounded_sink(atoll_runtime *rt, int where, enum atoll_overflow policy)
{
	struct atoll_spawn_opts opts = { .mailbox_limit = LIMIT, .overflow = policy };
	atoll_ref ref = ATOLL_REF_NONE;

	assert_int_equal(atoll_runtime_spawn_opts(rt, &sink_type, NULL, where, &opts, &ref), 0);
	return ref;
}

static void flood(atoll_runtime *rt, atoll_ref source, atoll_ref to)
{
	struct flood f = { to, FLOOD };

	send_from_outside(rt, source, MSG_FLOOD, &f, sizeof(f));
}

static void drop_newest_keeps_the_first_messages(void **state)
{
	atoll_runtime *rt = start_reactors(2);
	atoll_ref sink = bounded_sink(rt, 1, ATOLL_OVERFLOW_DROP_NEWEST);
	atoll_ref src = spawn_on(rt, &source_type, NULL, 1);

	(void)state;
	flood(rt, src, sink);
	assert_wait_u64(&sink_seen.values, LIMIT, WAIT_LIMIT_NS);
	assert_stat_eventually(rt, 1, mailbox_dropped, FLOOD - LIMIT);
	assert_int_equal(atomic_load(&sink_seen.first), 1);
	assert_int_equal(atomic_load(&sink_seen.last), LIMIT);
	assert_int_equal(atomic_load(&src_seen.send_ok), FLOOD);
	destroy_runtime(rt);
	assert_int_equal(atomic_load(&sink_seen.values), LIMIT);
	assert_no_check_failures();
}

static void drop_oldest_keeps_the_last_messages(void **state)
{
	atoll_runtime *rt = start_reactors(2);
	atoll_ref sink = bounded_sink(rt, 1, ATOLL_OVERFLOW_DROP_OLDEST);
	atoll_ref src = spawn_on(rt, &source_type, NULL, 1);

	(void)state;
	flood(rt, src, sink);
	assert_wait_u64(&sink_seen.values, LIMIT, WAIT_LIMIT_NS);
	assert_stat_eventually(rt, 1, mailbox_dropped, FLOOD - LIMIT);
	assert_int_equal(atomic_load(&sink_seen.first), FLOOD - LIMIT + 1);
	assert_int_equal(atomic_load(&sink_seen.last), FLOOD);
	destroy_runtime(rt);
	assert_int_equal(atomic_load(&sink_seen.values), LIMIT);
	assert_no_check_failures();
}

static void reject_on_the_same_core_returns_enobufs(void **state)
{
	atoll_runtime *rt = start_reactors(2);
	atoll_ref sink = bounded_sink(rt, 0, ATOLL_OVERFLOW_REJECT);
	atoll_ref src = spawn_on(rt, &source_type, NULL, 0);

	(void)state;
	flood(rt, src, sink);
	assert_wait_u64(&sink_seen.values, LIMIT, WAIT_LIMIT_NS);
	assert_int_equal(atomic_load(&src_seen.send_ok), LIMIT);
	assert_int_equal(atomic_load(&src_seen.send_enobufs), FLOOD - LIMIT);
	assert_stat_eventually(rt, 0, mailbox_rejected, FLOOD - LIMIT);
	assert_int_equal(atomic_load(&src_seen.rejected), 0);
	destroy_runtime(rt);
	assert_no_check_failures();
}

/* Sources on every other core flood one REJECT sink: every value is either
 * received or comes back to its sender, and the rings lose nothing. */
static void reject_across_cores_bounces(unsigned n)
{
	atoll_runtime *rt = start_reactors(n);
	atoll_ref sink = bounded_sink(rt, 0, ATOLL_OVERFLOW_REJECT);

	for (unsigned c = 1; c < n; c++)
		flood(rt, spawn_on(rt, &source_type, NULL, (int)c), sink);
	uint64_t total = (uint64_t)FLOOD * (n - 1);
	uint64_t deadline = test_now_ns() + WAIT_LIMIT_NS;
	while (atomic_load(&sink_seen.values) + atomic_load(&src_seen.rejected) < total &&
	       test_now_ns() < deadline)
		poll_pause();
	assert_int_equal(atomic_load(&sink_seen.values) + atomic_load(&src_seen.rejected), total);
	assert_int_equal(atomic_load(&src_seen.rejected_ok), atomic_load(&src_seen.rejected));
	assert_true(atomic_load(&src_seen.rejected) >= FLOOD - LIMIT);
	assert_int_equal(atomic_load(&src_seen.send_ok), total);
	assert_stat_eventually(rt, 0, mailbox_rejected, atomic_load(&src_seen.rejected));
	destroy_runtime(rt);
	assert_int_equal(atomic_load(&src_seen.other), 0);
	assert_no_check_failures();
}

static void reject_across_cores_bounces_to_the_sender_2_reactors(void **state)
{
	(void)state;
	reject_across_cores_bounces(2);
}

static void reject_across_cores_bounces_to_the_sender_4_reactors(void **state)
{
	(void)state;
	reject_across_cores_bounces(4);
}

static void reject_across_cores_bounces_to_the_sender_8_reactors(void **state)
{
	(void)state;
	reject_across_cores_bounces(8);
}

static void system_messages_enter_a_full_mailbox(void **state)
{
	atoll_runtime *rt = start_reactors(2);
	static struct probe_slot slot;
	atoll_ref dead;
	struct atoll_spawn_opts opts = { .mailbox_limit = 100,
					 .overflow = ATOLL_OVERFLOW_DROP_NEWEST };
	atoll_ref sink = ATOLL_REF_NONE;

	(void)state;
	memset(&slot, 0, sizeof(slot));
	dead = spawn_on(rt, &probe_type, &slot, 1);
	assert_wait_u64(&slot.inits, 1, WAIT_LIMIT_NS);
	send_from_outside(rt, dead, PROBE_MSG_QUIT, NULL, 0);
	assert_wait_u64(&slot.stops, 1, WAIT_LIMIT_NS);
	assert_int_equal(atoll_runtime_spawn_opts(rt, &sink_type, &dead, 1, &opts, &sink), 0);
	send_from_outside(rt, sink, MSG_FILL_SELF, NULL, 0);
	assert_wait_u64(&sink_seen.timeouts, 1, WAIT_LIMIT_NS);
	assert_wait_u64(&sink_seen.downs, 1, WAIT_LIMIT_NS);
	struct atoll_stats s = read_stats(rt, 1);
	assert_true(s.mailbox_dropped >= 100);
	destroy_runtime(rt);
	assert_int_equal(atomic_load(&sink_seen.timeouts), 1);
	assert_no_check_failures();
}

static void rejected_timed_ask_is_answered_by_its_rejection(void **state)
{
	atoll_runtime *rt = start_reactors(2);
	atoll_ref sink = bounded_sink(rt, 1, ATOLL_OVERFLOW_REJECT);
	atoll_ref src = spawn_on(rt, &source_type, NULL, 0);
	struct flood f = { sink, FLOOD };

	(void)state;
	send_from_outside(rt, src, MSG_FLOOD_ASK, &f, sizeof(f));
	assert_wait_u64(&src_seen.marks, 1, WAIT_LIMIT_NS);
	assert_true(atomic_load(&src_seen.ask_corr) != 0);
	assert_true(atomic_load(&src_seen.rejected_corr) == atomic_load(&src_seen.ask_corr));
	assert_int_equal(atomic_load(&src_seen.timeouts), 0);
	assert_stat_eventually(rt, 0, ask_timeouts, 0);
	destroy_runtime(rt);
	assert_no_check_failures();
}

/* 200 000 messages queued at once on one core take hundreds of loops to
 * drain: stats.queued sees them, then returns to 0. */
static void queued_shows_waiting_messages_then_returns_to_zero(void **state)
{
	atoll_runtime *rt = start_reactors(2);
	atoll_ref sink = spawn_on(rt, &sink_type, NULL, 1);
	atoll_ref src = spawn_on(rt, &source_type, NULL, 1);
	struct flood f = { sink, 200000 };

	(void)state;
	send_from_outside(rt, src, MSG_FLOOD, &f, sizeof(f));
	assert_wait_u64(&sink_seen.values, f.n, WAIT_LIMIT_NS);
	struct atoll_stats s = read_stats(rt, 1);
	printf("# queued_max %llu\n", (unsigned long long)s.queued_max);
	assert_true(s.queued_max > 0 && s.queued_max <= f.n);
	assert_stat_eventually(rt, 1, queued, 0);
	destroy_runtime(rt);
	assert_no_check_failures();
}

static void bad_overflow_policy_is_refused(void **state)
{
	atoll_runtime *rt = start_reactors(1);
	struct atoll_spawn_opts opts = { .mailbox_limit = 1, .overflow = (enum atoll_overflow)7 };
	struct atoll_spawn_opts linked = { .flags = ATOLL_SPAWN_LINK };
	atoll_ref ref;

	(void)state;
	assert_int_equal(atoll_runtime_spawn_opts(rt, &sink_type, NULL, 0, &opts, &ref), -EINVAL);
	/* No actor outside the runtime to link to. */
	assert_int_equal(atoll_runtime_spawn_opts(rt, &sink_type, NULL, 0, &linked, &ref), -EINVAL);
	destroy_runtime(rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(drop_newest_keeps_the_first_messages, setup,
						destroy_leftovers),
		cmocka_unit_test_setup_teardown(drop_oldest_keeps_the_last_messages, setup,
						destroy_leftovers),
		cmocka_unit_test_setup_teardown(reject_on_the_same_core_returns_enobufs, setup,
						destroy_leftovers),
		cmocka_unit_test_setup_teardown(
			reject_across_cores_bounces_to_the_sender_2_reactors, setup,
			destroy_leftovers),
		cmocka_unit_test_setup_teardown(
			reject_across_cores_bounces_to_the_sender_4_reactors, setup,
			destroy_leftovers),
		cmocka_unit_test_setup_teardown(
			reject_across_cores_bounces_to_the_sender_8_reactors, setup,
			destroy_leftovers),
		cmocka_unit_test_setup_teardown(system_messages_enter_a_full_mailbox, setup,
						destroy_leftovers),
		cmocka_unit_test_setup_teardown(rejected_timed_ask_is_answered_by_its_rejection,
						setup, destroy_leftovers),
		cmocka_unit_test_setup_teardown(queued_shows_waiting_messages_then_returns_to_zero,
						setup, destroy_leftovers),
		cmocka_unit_test_setup_teardown(bad_overflow_policy_is_refused, setup,
						destroy_leftovers),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
