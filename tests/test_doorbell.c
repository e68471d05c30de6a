/*
 * test_doorbell.c - no lost wakeups: ping-pong between actors on different
 * reactors where, before each send, the sender spins a random 0..50 us
 * (seeded, printed) so the peer is sometimes parked and sometimes about to
 * park. Every ping must be answered within the deadline, and the stats must
 * show that reactors really parked and were woken by doorbells. Runs with
 * the msg_ring doorbell and with the eventfd one, with two wakers racing for
 * one parked reactor, and with sends from a thread outside the runtime.
 */
#include "helpers.h"

enum {
	MSG_GO = ATOLL_MSG_USER,
	MSG_PING, /* payload: struct ball */
	MSG_PONG, /* payload: struct ball */
	MSG_POKE,
};

struct ball {
	uint64_t seq;
	atoll_ref from;
};

#define MAX_SPIN_NS 50000

struct bell {
	uint64_t seed;
	uint64_t rounds;
	_Atomic uint64_t pongs; /* answers received, over all pingers */
	_Atomic uint64_t pokes;
};

struct player {
	struct bell *b;
	atoll_ref partner; /* pingers: the ponger; pongers: NONE */
	uint64_t rng;
	uint64_t next;        /* pinger: next seq to send */
	uint64_t expected[8]; /* ponger: next seq per pinger core */
};

struct player_arg {
	struct bell *b;
	atoll_ref partner;
	uint64_t seed;
};

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* Spins 0..50 us: the peer may park meanwhile, or be about to. */
static void random_spin(uint64_t *rng)
{
	uint64_t until = atoll_now_ns() + xorshift(rng) % (MAX_SPIN_NS + 1);

	while (atoll_now_ns() < until)
		;
}

static int player_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct player *p = state;
	const struct player_arg *a = arg;

	p->b = a->b;
	p->partner = a->partner;
	p->rng = a->seed ^ (0x9e3779b97f4a7c15ull * (atoll_core(ctx) + 1));
	if (p->rng == 0)
		p->rng = 1;
	p->next = 1;
	for (int i = 0; i < 8; i++)
		p->expected[i] = 1;
	return 0;
}

static void send_ball(atoll_ctx *ctx, atoll_ref to, uint32_t type, uint64_t seq)
{
	struct ball ball = { .seq = seq, .from = atoll_self(ctx) };

	CHECK(atoll_tell(ctx, to, type, &ball, sizeof(ball)) >= 0);
}

static void player_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct player *p = state;
	struct ball ball = { 0 };

	if (msg->len == sizeof(ball))
		memcpy(&ball, msg->data, sizeof(ball));
	switch (msg->type) {
	case MSG_GO:
		random_spin(&p->rng);
		send_ball(ctx, p->partner, MSG_PING, p->next);
		break;
	case MSG_PING: {
		unsigned from = atoll_ref_core(ball.from);

		CHECK(from < 8);
		if (from >= 8)
			break;
		CHECK_EQ(ball.seq, p->expected[from]);
		p->expected[from] = ball.seq + 1;
		random_spin(&p->rng);
		send_ball(ctx, ball.from, MSG_PONG, ball.seq);
		break;
	}
	case MSG_PONG:
		CHECK_EQ(ball.seq, p->next);
		atomic_fetch_add(&p->b->pongs, 1);
		if (p->next++ < p->b->rounds) {
			random_spin(&p->rng);
			send_ball(ctx, p->partner, MSG_PING, p->next);
		}
		break;
	case MSG_POKE:
		atomic_fetch_add(&p->b->pokes, 1);
		break;
	default:
		CHECK(false);
	}
}

static const struct atoll_actor_type player_type = {
	.name = "player",
	.state_size = sizeof(struct player),
	.init = player_init,
	.receive = player_receive,
};

static uint64_t test_seed(void)
{
	const char *env = getenv("ATOLL_TEST_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : (test_now_ns() | 1);

	printf("seed %llu (replay with ATOLL_TEST_SEED=%llu)\n", (unsigned long long)seed,
	       (unsigned long long)seed);
	return seed;
}

/* Whether this kernel has IORING_OP_MSG_RING (else the runtime falls back
 * to the eventfd doorbell by itself). */
static bool kernel_has_msg_ring(void)
{
	struct io_uring_probe *probe = io_uring_get_probe();
	bool has;

	if (probe == NULL)
		return false;
	has = io_uring_opcode_supported(probe, IORING_OP_MSG_RING);
	io_uring_free_probe(probe);
	return has;
}

static void print_stats(const atoll_runtime *rt)
{
	for (unsigned i = 0; i < atoll_runtime_reactors(rt); i++) {
		struct atoll_stats s = read_stats(rt, i);

		printf("reactor %u (%s): received %llu doorbells %llu wakeups %llu\n", i,
		       atoll_runtime_uring_mode(rt, i), (unsigned long long)s.received,
		       (unsigned long long)s.doorbells, (unsigned long long)s.wakeups);
	}
}

/*
 * Pingers on the reactors in `pinger_cores`, one ponger on reactor 1, each
 * pinger playing `rounds` rounds with it. Fails unless every ping is
 * answered in 60 s and reactor 1 parked and was woken by doorbells.
 */
static void play(bool eventfd, unsigned reactors, const unsigned *pinger_cores, unsigned npingers,
		 uint64_t rounds)
{
	/* No idle spin: an idle reactor parks at once, so the random pauses
	 * land on every side of the park protocol, not inside a spin. */
	struct atoll_config cfg = { .reactors = reactors,
				    .no_signals = true,
				    .eventfd_doorbell = eventfd,
				    .idle_spin_us = -1 };
	/* Static: actors point here, also if a failed test leaves them. */
	static struct bell b;
	static struct player_arg ponger_arg, pinger_args[4];
	atoll_ref ponger, pingers[4];
	atoll_runtime *rt = start_runtime(&cfg);
	uint64_t t0 = test_now_ns();
	struct atoll_stats s1;
	uint64_t bells_to_1 = 0;

	memset(&b, 0, sizeof(b));
	b.seed = test_seed();
	b.rounds = rounds;
	ponger_arg = (struct player_arg){ &b, ATOLL_REF_NONE, b.seed };
	reset_checks();
	/* The doorbell asked for is the one under test. */
	if (eventfd)
		assert_non_null(strstr(atoll_runtime_uring_mode(rt, 1), "eventfd"));
	else if (kernel_has_msg_ring())
		assert_non_null(strstr(atoll_runtime_uring_mode(rt, 1), "msg_ring"));
	ponger = spawn_on(rt, &player_type, &ponger_arg, 1);
	for (unsigned i = 0; i < npingers; i++) {
		pinger_args[i] = (struct player_arg){ &b, ponger, b.seed + i };
		pingers[i] = spawn_on(rt, &player_type, &pinger_args[i], (int)pinger_cores[i]);
	}
	for (unsigned i = 0; i < npingers; i++)
		send_from_outside(rt, pingers[i], MSG_GO, NULL, 0);

	if (!wait_u64_at_least(&b.pongs, rounds * npingers, 60 * NS_PER_SEC)) {
		print_stats(rt);
		fail_msg("lost wakeup? %llu of %llu pings answered after 60 s (seed %llu)",
			 (unsigned long long)atomic_load(&b.pongs),
			 (unsigned long long)(rounds * npingers), (unsigned long long)b.seed);
	}
	printf("%llu round trips in %.3f s\n", (unsigned long long)(rounds * npingers),
	       (double)(test_now_ns() - t0) / 1e9);
	print_stats(rt);
	assert_no_check_failures();
	assert_int_equal(atomic_load(&b.pongs), rounds * npingers);

	s1 = read_stats(rt, 1);
	for (unsigned i = 0; i < npingers; i++)
		bells_to_1 += read_stats(rt, pinger_cores[i]).doorbells;
	assert_true(s1.wakeups > 0);
	assert_true(s1.doorbells > 0); /* the pongs woke the pingers */
	assert_true(bells_to_1 > 0);
	for (unsigned i = 0; i < npingers; i++)
		assert_true(read_stats(rt, pinger_cores[i]).wakeups > 0);
	destroy_runtime(rt);
}

/* 100 000 round trips; fewer under the sanitizers, to stay near a minute. */
#define ROUNDS (TEST_TSAN ? 20000u : TEST_ASAN ? 50000u : 100000u)

static void doorbell_msg_ring_wakes_parked_reactor_on_every_ping(void **state)
{
	static const unsigned cores[] = { 0 };

	(void)state;
	play(false, 2, cores, 1, ROUNDS);
}

static void doorbell_eventfd_wakes_parked_reactor_on_every_ping(void **state)
{
	static const unsigned cores[] = { 0 };

	(void)state;
	play(true, 2, cores, 1, ROUNDS);
}

static void doorbell_two_wakers_racing_for_one_parked_reactor_lose_nothing(void **state)
{
	static const unsigned cores[] = { 0, 2 };

	(void)state;
	play(false, 3, cores, 2, ROUNDS / 5);
}

/* From outside: each message waits until the previous one was handled, so
 * the reactor has parked again in between. */
static void poke_from_outside(bool eventfd)
{
	struct atoll_config cfg = {
		.reactors = 2, .no_signals = true, .eventfd_doorbell = eventfd, .idle_spin_us = -1
	};
	static struct bell b; /* actors point here */
	static struct player_arg arg;
	atoll_runtime *rt = start_runtime(&cfg);
	uint64_t n = TSAN_SCALE(1000u, 200u);
	atoll_ref target;

	reset_checks();
	memset(&b, 0, sizeof(b));
	b.seed = 1;
	arg = (struct player_arg){ &b, ATOLL_REF_NONE, 1 };
	target = spawn_on(rt, &player_type, &arg, 1);
	for (uint64_t i = 1; i <= n; i++) {
		send_from_outside(rt, target, MSG_POKE, NULL, 0);
		if (!wait_u64_at_least(&b.pokes, i, 10 * NS_PER_SEC)) {
			print_stats(rt);
			fail_msg("poke %llu from outside was not handled in 10 s",
				 (unsigned long long)i);
		}
	}
	print_stats(rt);
	assert_no_check_failures();
	assert_true(read_stats(rt, 1).wakeups > 0);
	destroy_runtime(rt);
}

static void doorbell_msg_ring_wakes_parked_reactor_for_sends_from_outside(void **state)
{
	(void)state;
	poke_from_outside(false);
}

static void doorbell_eventfd_wakes_parked_reactor_for_sends_from_outside(void **state)
{
	(void)state;
	poke_from_outside(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(doorbell_msg_ring_wakes_parked_reactor_on_every_ping,
					  destroy_leftovers),
		cmocka_unit_test_teardown(doorbell_eventfd_wakes_parked_reactor_on_every_ping,
					  destroy_leftovers),
		cmocka_unit_test_teardown(
			doorbell_two_wakers_racing_for_one_parked_reactor_lose_nothing,
			destroy_leftovers),
		cmocka_unit_test_teardown(
			doorbell_msg_ring_wakes_parked_reactor_for_sends_from_outside,
			destroy_leftovers),
		cmocka_unit_test_teardown(
			doorbell_eventfd_wakes_parked_reactor_for_sends_from_outside,
			destroy_leftovers),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
