/*
 * test_ask_timeout.c - atoll_ask_timeout: a reply before the deadline is
 * delivered and no TIMEOUT follows; no reply gives exactly one TIMEOUT with
 * the ask's corr; a reply after the TIMEOUT is a dead letter; and 100 000
 * asks whose deadline races the reply (same core and across cores) each get
 * exactly one answer, the late replies all counted as dead letters.
 */
#include "helpers.h"

enum {
	MSG_GO = ATOLL_MSG_USER, /* payload: struct plan */
	MSG_REQ,                 /* to the responder */
	MSG_REP,                 /* the answer */
	MSG_FLUSH,               /* responder: answer the request it kept */
	MSG_MARK,                /* asker: a timer past every deadline */
};

enum responder_mode {
	ANSWER,
	IGNORE,
	KEEP
};

struct plan {
	atoll_ref responder;
	uint64_t asks;
	uint64_t max_timeout_ns; /* each ask's deadline in [0, max] if random, else max */
	bool random;
};

struct tally {
	_Atomic uint64_t replies, timeouts, mismatched, marks, done;
	_Atomic uint64_t last_corr;
};

static struct tally tally;

struct asker {
	struct plan plan;
	uint64_t sent, corr, seed;
	bool waiting;
};

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void ask_next(atoll_ctx *ctx, struct asker *a)
{
	uint64_t t = a->plan.max_timeout_ns;

	if (a->plan.random)
		t = next_rand(&a->seed) % (t + 1);
	atoll_msg *m = atoll_msg_new(MSG_REQ, 0);

	CHECK(m != NULL);
	CHECK(atoll_ask_timeout(ctx, a->plan.responder, m, t, &a->corr) >= 0);
	atomic_store(&tally.last_corr, a->corr);
	a->sent++;
	a->waiting = true;
}

static void asker_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct asker *a = state;

	switch (msg->type) {
	case MSG_GO:
		memcpy(&a->plan, msg->data, sizeof(a->plan));
		a->seed = 0x9e3779b97f4a7c15ull ^ atoll_self(ctx);
		ask_next(ctx, a);
		return;
	case MSG_MARK:
		atomic_fetch_add(&tally.marks, 1);
		return;
	case MSG_REP:
	case ATOLL_MSG_TIMEOUT:
		if (!a->waiting || msg->corr != a->corr) {
			atomic_fetch_add(&tally.mismatched, 1);
			return;
		}
		a->waiting = false;
		atomic_fetch_add(msg->type == MSG_REP ? &tally.replies : &tally.timeouts, 1);
		if (a->sent < a->plan.asks) {
			ask_next(ctx, a);
			return;
		}
		/* A timer past every deadline: any second answer would come
		 * before it. */
		atoll_msg *mark = atoll_msg_new(MSG_MARK, 0);
		CHECK(mark != NULL);
		CHECK_EQ(atoll_send_after(ctx, atoll_self(ctx), mark,
					  a->plan.max_timeout_ns + 20 * NS_PER_MS, NULL),
			 0);
		atomic_store(&tally.done, 1);
		return;
	default:
		atomic_fetch_add(&tally.mismatched, 1);
		return;
	}
}

static const struct atoll_actor_type asker_type = {
	.name = "asker",
	.state_size = sizeof(struct asker),
	.receive = asker_receive,
};

struct responder {
	enum responder_mode mode;
	atoll_msg *kept;
};

static int responder_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct responder *r = state;

	(void)ctx;
	r->mode = *(const enum responder_mode *)arg;
	return 0;
}

static void responder_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct responder *r = state;

	if (msg->type == MSG_FLUSH) {
		if (r->kept != NULL) {
			atoll_msg *rep = atoll_msg_new(MSG_REP, 0);

			CHECK(rep != NULL);
			CHECK_EQ(atoll_reply(ctx, r->kept, rep), 0);
			atoll_msg_free(r->kept);
			r->kept = NULL;
		}
		return;
	}

	if (msg->type != MSG_REQ || r->mode == IGNORE)
		return;
	if (r->mode == KEEP) {
		atoll_msg_keep(ctx, msg);
		r->kept = msg;
		return;
	}
	/* Reply with the request itself: no allocation. */
	msg->type = MSG_REP;
	CHECK(atoll_reply(ctx, msg, msg) >= 0);
}

static void responder_stop(atoll_ctx *ctx, void *state)
{
	struct responder *r = state;

	(void)ctx;
	atoll_msg_free(r->kept);
}

static const struct atoll_actor_type responder_type = {
	.name = "responder",
	.state_size = sizeof(struct responder),
	.init = responder_init,
	.receive = responder_receive,
	.stop = responder_stop,
};

static int setup(void **state)
{
	(void)state;
	reset_checks();
	memset(&tally, 0, sizeof(tally));
	return 0;
}

static const enum responder_mode answer = ANSWER, ignore = IGNORE, keep = KEEP;

static void go(atoll_runtime *rt, atoll_ref asker, atoll_ref responder, uint64_t asks,
	       uint64_t max_timeout_ns, bool random)
{
	struct plan p = { responder, asks, max_timeout_ns, random };

	send_from_outside(rt, asker, MSG_GO, &p, sizeof(p));
}

static void reply_in_time_is_delivered_and_no_timeout_follows(void **state)
{
	atoll_runtime *rt = start_reactors(2);
	atoll_ref asker = spawn_on(rt, &asker_type, NULL, 0);
	atoll_ref resp = spawn_on(rt, &responder_type, &answer, 1);

	(void)state;
	go(rt, asker, resp, 1, 5 * NS_PER_SEC, false);
	assert_wait_u64(&tally.done, 1, WAIT_LIMIT_NS);
	assert_int_equal(atomic_load(&tally.replies), 1);
	assert_int_equal(atomic_load(&tally.timeouts), 0);
	assert_stat_eventually(rt, ALL_REACTORS, ask_timeouts, 0);
	destroy_runtime(rt);
	assert_int_equal(atomic_load(&tally.mismatched), 0);
	assert_no_check_failures();
}

static void no_reply_gives_one_timeout_then_late_reply_is_dead_letter(void **state)
{
	atoll_runtime *rt = start_reactors(2);
	atoll_ref asker = spawn_on(rt, &asker_type, NULL, 0);
	atoll_ref silent = spawn_on(rt, &responder_type, &ignore, 1);
	atoll_ref keeper = spawn_on(rt, &responder_type, &keep, 1);

	(void)state;
	go(rt, asker, silent, 1, 0, false);
	assert_wait_u64(&tally.marks, 1, WAIT_LIMIT_NS);
	assert_int_equal(atomic_load(&tally.timeouts), 1);
	assert_int_equal(atomic_load(&tally.replies), 0);
	assert_stat_eventually(rt, 0, ask_timeouts, 1);

	/* The keeper answers only when told, long after the TIMEOUT. */
	memset(&tally, 0, sizeof(tally));
	go(rt, asker, keeper, 1, 0, false);
	assert_wait_u64(&tally.marks, 1, WAIT_LIMIT_NS);
	uint64_t dead = STATS_SUM(rt, dead_letters);
	send_from_outside(rt, keeper, MSG_FLUSH, NULL, 0);
	assert_stat_eventually(rt, ALL_REACTORS, dead_letters, dead + 1);
	assert_int_equal(atomic_load(&tally.timeouts), 1);
	assert_int_equal(atomic_load(&tally.replies), 0);
	destroy_runtime(rt);
	assert_int_equal(atomic_load(&tally.mismatched), 0);
	assert_no_check_failures();
}

/* asks asks, one at a time, each with a deadline drawn in [0, max]: replies
 * and deadlines race; every ask gets exactly one answer. */
static void race(unsigned reactors, int responder_core, uint64_t max_timeout_ns)
{
	atoll_runtime *rt = start_reactors(reactors);
	atoll_ref asker = spawn_on(rt, &asker_type, NULL, 0);
	atoll_ref resp = spawn_on(rt, &responder_type, &answer, responder_core);
	uint64_t asks = TSAN_SCALE(100000, 5000);
	uint64_t dead = STATS_SUM(rt, dead_letters);

	go(rt, asker, resp, asks, max_timeout_ns, true);
	assert_wait_u64(&tally.marks, 1, 120 * NS_PER_SEC);
	uint64_t replies = atomic_load(&tally.replies), timeouts = atomic_load(&tally.timeouts);
	printf("# %u reactors, responder on core %d: %llu replies, %llu timeouts of %llu\n",
	       reactors, responder_core, (unsigned long long)replies, (unsigned long long)timeouts,
	       (unsigned long long)asks);
	assert_int_equal(replies + timeouts, asks);
	assert_int_equal(atomic_load(&tally.mismatched), 0);
	/* The responder answered every ask: each one that timed out left a
	 * late reply, counted as a dead letter. */
	assert_stat_eventually(rt, ALL_REACTORS, dead_letters, dead + timeouts);
	assert_stat_eventually(rt, 0, ask_timeouts, timeouts);
	destroy_runtime(rt);
	assert_no_check_failures();
}

static void reply_and_timeout_race_across_cores_exactly_one_answer(void **state)
{
	(void)state;
	race(2, 1, 3000);
}

static void reply_and_timeout_race_on_one_core_exactly_one_answer(void **state)
{
	(void)state;
	race(2, 0, 2000);
}

static void reply_and_timeout_race_on_4_reactors_exactly_one_answer(void **state)
{
	(void)state;
	race(4, 3, 40000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(reply_in_time_is_delivered_and_no_timeout_follows,
						setup, destroy_leftovers),
		cmocka_unit_test_setup_teardown(
			no_reply_gives_one_timeout_then_late_reply_is_dead_letter, setup,
			destroy_leftovers),
		cmocka_unit_test_setup_teardown(
			reply_and_timeout_race_across_cores_exactly_one_answer, setup,
			destroy_leftovers),
		cmocka_unit_test_setup_teardown(
			reply_and_timeout_race_on_one_core_exactly_one_answer, setup,
			destroy_leftovers),
		cmocka_unit_test_setup_teardown(
			reply_and_timeout_race_on_4_reactors_exactly_one_answer, setup,
			destroy_leftovers),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
