/*
 * test_timer.c - delayed and periodic messages: one-shots fire in deadline
 * order (shuffled 1..20 ms, seeded) and never before their delay, same
 * delays in creation order, cancelled timers never fire, periodic timers
 * repeat until cancelled or their target stops, timers to stopped actors
 * become dead letters, pending timers are freed at stop. Truly equal
 * deadlines cannot be made through the API, so the src/timer.h heap is also
 * tested alone. Only order and lower bounds on delays, never tight timing.
 */
#include "helpers.h"

#include "timer.h"

enum {
	MSG_GO = ATOLL_MSG_USER,
	MSG_TICK, /* payload: struct tick */
	MSG_MARKER,
	MSG_MARKER2,
	MSG_STOP_SELF,
	MSG_STOPPED,
	MSG_NEVER, /* a timer that must not fire */
};

struct tick {
	uint64_t id;
	uint64_t created_ns; /* atoll_now_ns() just before the timer was made */
	uint64_t delay_ns;   /* for periodic timers: the period */
};

#define MAX_TICKS 64

struct tworld {
	atoll_runtime *rt;
	uint64_t seed;
	_Atomic atoll_ref self, victim, remote, stale;
	_Atomic uint64_t arrivals;
	_Atomic uint64_t order[MAX_TICKS];
	_Atomic uint64_t early; /* ticks that arrived before their delay */
	_Atomic uint64_t never_received;
	_Atomic uint64_t results[8];
	_Atomic uint64_t done;
	_Atomic uint64_t released;
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

static uint64_t own_timers_fired(atoll_ctx *ctx)
{
	struct atoll_stats s;

	CHECK_EQ(atoll_runtime_stats(atoll_runtime_of(ctx), atoll_core(ctx), &s), 0);
	return s.timers_fired;
}

static int make_tick_timer(atoll_ctx *ctx, atoll_ref to, uint64_t id, uint64_t delay_ns,
			   atoll_timer *timer)
{
	struct tick t = { .id = id, .delay_ns = delay_ns };
	atoll_msg *m;

	t.created_ns = atoll_now_ns();
	m = atoll_msg_new_copy(MSG_TICK, &t, sizeof(t));
	CHECK(m != NULL);
	return atoll_send_after(ctx, to, m, delay_ns, timer);
}

static int make_marker(atoll_ctx *ctx, uint32_t type, uint64_t delay_ns, atoll_timer *timer)
{
	return atoll_send_after(ctx, atoll_self(ctx), atoll_msg_new(type, 0), delay_ns, timer);
}

/* Records a tick's arrival and checks it was not early. */
static void record_tick(struct tworld *w, const atoll_msg *msg, uint64_t min_delay_ns)
{
	struct tick t;
	uint64_t now = atoll_now_ns(), n;

	CHECK_EQ(msg->len, sizeof(t));
	memcpy(&t, msg->data, sizeof(t));
	if (now - t.created_ns < min_delay_ns) {
		atomic_fetch_add(&w->early, 1);
		CHECK_EQ(now - t.created_ns, min_delay_ns); /* prints both */
	}
	n = atomic_load(&w->arrivals);
	if (n < MAX_TICKS)
		atomic_store(&w->order[n], t.id);
	atomic_store(&w->arrivals, n + 1);
}

static void release_counted(atoll_msg *msg)
{
	struct tworld *w;

	memcpy(&w, msg->data, sizeof(w));
	free(msg->data);
	atomic_fetch_add(&w->released, 1);
}

/* A message whose attached buffer counts its release in w->released. */
static atoll_msg *counted_msg(struct tworld *w, uint32_t type)
{
	atoll_msg *m = atoll_msg_new(type, 0);
	void *buf = malloc(sizeof(w));

	if (m == NULL || buf == NULL) {
		free(buf);
		atoll_msg_free(m);
		return NULL;
	}
	memcpy(buf, &w, sizeof(w));
	atoll_msg_attach(m, buf, sizeof(w), sizeof(w), release_counted);
	return m;
}

/*
 * The test actor. Each test sends it MSG_GO with a scenario number; the
 * scenario's code runs in tk_go and the later messages in tk_receive.
 */
struct tk {
	struct tworld *w;
	int scenario;
	atoll_timer timers[4];
	uint64_t periodic_seen;
	uint64_t fired_at_cancel;
	uint64_t fired_before;
};

enum scenario {
	ORDER,
	EQUAL,
	CANCEL,
	PERIODIC,
	DEAD_TARGET,
	PERIODIC_DEAD_TARGET,
	REMOTE,
	PENDING_AT_STOP,
	BAD_ARGS,
};

static int tk_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct tk *k = state;

	k->w = (struct tworld *)arg;
	atomic_store(&k->w->self, atoll_self(ctx));
	return 0;
}

#define PERIOD_NS (2 * NS_PER_MS)

static void tk_go(atoll_ctx *ctx, struct tk *k)
{
	struct tworld *w = k->w;
	atoll_ref self = atoll_self(ctx);
	atoll_timer t = 0;
	uint64_t seed = w->seed, delays[20];

	switch (k->scenario) {
	case ORDER:
		for (uint64_t i = 0; i < 20; i++)
			delays[i] = i + 1;
		for (int i = 19; i > 0; i--) {
			int j = (int)(xorshift(&seed) % (uint64_t)(i + 1));
			uint64_t tmp = delays[i];

			delays[i] = delays[j];
			delays[j] = tmp;
		}
		for (int i = 0; i < 20; i++) {
			CHECK_EQ(make_tick_timer(ctx, self, delays[i], delays[i] * NS_PER_MS, &t),
				 0);
			CHECK(t != 0);
		}
		break;
	case EQUAL:
		for (uint64_t i = 0; i < 10; i++)
			CHECK_EQ(make_tick_timer(ctx, self, i, 5 * NS_PER_MS, NULL), 0);
		break;
	case CANCEL:
		CHECK_EQ(atoll_send_after(ctx, self, counted_msg(w, MSG_NEVER), 5 * NS_PER_MS,
					  &k->timers[0]),
			 0);
		CHECK_EQ(make_marker(ctx, MSG_MARKER, 30 * NS_PER_MS, &k->timers[1]), 0);
		CHECK(k->timers[0] != 0 && k->timers[1] != 0 && k->timers[0] != k->timers[1]);
		atomic_store(&w->results[0],
			     (uint64_t)(int64_t)atoll_timer_cancel(ctx, k->timers[0]));
		atomic_store(&w->results[1],
			     (uint64_t)(int64_t)atoll_timer_cancel(ctx, k->timers[0]));
		atomic_store(&w->results[2], (uint64_t)(int64_t)atoll_timer_cancel(ctx, 0));
		break;
	case PERIODIC:
		k->fired_before = own_timers_fired(ctx);
		{
			struct tick tk = { .id = 99, .delay_ns = PERIOD_NS };
			atoll_msg *m;

			tk.created_ns = atoll_now_ns();
			m = atoll_msg_new_copy(MSG_TICK, &tk, sizeof(tk));
			CHECK_EQ(atoll_send_every(ctx, self, m, PERIOD_NS, &k->timers[0]), 0);
		}
		break;
	case DEAD_TARGET:
		/* One target alive at creation and stopped before the fire,
		 * one already stopped (on the other reactor). */
		CHECK_EQ(atoll_send_after(ctx, atomic_load(&w->victim), atoll_msg_new(MSG_NEVER, 8),
					  10 * NS_PER_MS, NULL),
			 0);
		CHECK_EQ(atoll_stop(ctx, atomic_load(&w->victim)), 0);
		CHECK_EQ(atoll_send_after(ctx, atomic_load(&w->stale), atoll_msg_new(MSG_NEVER, 8),
					  10 * NS_PER_MS, NULL),
			 0);
		CHECK_EQ(make_marker(ctx, MSG_MARKER, 50 * NS_PER_MS, NULL), 0);
		break;
	case PERIODIC_DEAD_TARGET:
		CHECK_EQ(atoll_send_every(ctx, atomic_load(&w->victim), atoll_msg_new(MSG_TICK, 0),
					  PERIOD_NS, NULL),
			 0);
		break;
	case REMOTE:
		CHECK_EQ(make_tick_timer(ctx, atomic_load(&w->remote), 1, 5 * NS_PER_MS, NULL), 0);
		break;
	case PENDING_AT_STOP:
		for (int i = 0; i < 5; i++)
			CHECK_EQ(atoll_send_after(ctx, self, counted_msg(w, MSG_NEVER),
						  10 * NS_PER_SEC, NULL),
				 0);
		CHECK_EQ(atoll_send_every(ctx, self, counted_msg(w, MSG_NEVER), 10 * NS_PER_SEC,
					  NULL),
			 0);
		atomic_store(&w->done, 1);
		break;
	case BAD_ARGS:
		atomic_store(&w->results[0],
			     (uint64_t)(int64_t)atoll_send_every(
				     ctx, self, counted_msg(w, MSG_NEVER), 0, NULL));
		atomic_store(
			&w->results[1],
			(uint64_t)(int64_t)atoll_send_after(
				ctx,
				((atoll_ref)9 << (ATOLL_REF_SLOT_BITS + ATOLL_REF_GEN_BITS)) | 1,
				counted_msg(w, MSG_NEVER), NS_PER_MS, NULL));
		atomic_store(&w->done, 1);
		break;
	default:
		CHECK(false);
	}
}

static void tk_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct tk *k = state;
	struct tworld *w = k->w;

	switch (msg->type) {
	case MSG_GO:
		CHECK_EQ(msg->len, sizeof(int));
		memcpy(&k->scenario, msg->data, sizeof(int));
		tk_go(ctx, k);
		break;
	case MSG_TICK:
		if (k->scenario != PERIODIC) {
			record_tick(w, msg, ((const struct tick *)msg->data)->delay_ns);
			break;
		}
		/* Copy number n of a periodic timer comes n periods after. */
		k->periodic_seen++;
		CHECK_EQ(((const struct tick *)msg->data)->id, 99);
		record_tick(w, msg, k->periodic_seen * PERIOD_NS);
		if (k->periodic_seen == 3) {
			k->fired_at_cancel = own_timers_fired(ctx);
			atomic_store(&w->results[0],
				     (uint64_t)(int64_t)atoll_timer_cancel(ctx, k->timers[0]));
			atomic_store(&w->results[1],
				     (uint64_t)(int64_t)atoll_timer_cancel(ctx, k->timers[0]));
			CHECK_EQ(make_marker(ctx, MSG_MARKER, 20 * NS_PER_MS, NULL), 0);
		}
		break;
	case MSG_NEVER:
		atomic_fetch_add(&w->never_received, 1);
		break;
	case MSG_STOPPED:
		/* The periodic timer's target is gone; give it time to end. */
		if (k->scenario == PERIODIC_DEAD_TARGET)
			CHECK_EQ(make_marker(ctx, MSG_MARKER, 20 * NS_PER_MS, NULL), 0);
		break;
	case MSG_MARKER:
		if (k->scenario == CANCEL) {
			/* Fired already: nothing left to cancel. */
			atomic_store(&w->results[3],
				     (uint64_t)(int64_t)atoll_timer_cancel(ctx, k->timers[1]));
			atomic_store(&w->done, 1);
		} else if (k->scenario == PERIODIC) {
			/* Every copy fired before the cancel has arrived (they
			 * queue ahead of the marker), and only the marker
			 * fired since. */
			atomic_store(&w->results[2], k->periodic_seen);
			atomic_store(&w->results[3], k->fired_at_cancel - k->fired_before);
			atomic_store(&w->results[4], own_timers_fired(ctx) - k->fired_at_cancel);
			atomic_store(&w->done, 1);
		} else if (k->scenario == PERIODIC_DEAD_TARGET) {
			k->fired_at_cancel = own_timers_fired(ctx);
			CHECK_EQ(make_marker(ctx, MSG_MARKER2, 30 * NS_PER_MS, NULL), 0);
		} else {
			atomic_store(&w->done, 1);
		}
		break;
	case MSG_MARKER2:
		/* Only this marker fired in the last 30 ms (15 periods). */
		atomic_store(&w->results[0], own_timers_fired(ctx) - k->fired_at_cancel);
		atomic_store(&w->done, 1);
		break;
	default:
		CHECK(false);
	}
}

static const struct atoll_actor_type tk_type = {
	.name = "timekeeper",
	.state_size = sizeof(struct tk),
	.init = tk_init,
	.receive = tk_receive,
};

/* A target: counts ticks, stops itself on MSG_STOP_SELF or at tick 3, and
 * tells the timekeeper when it stopped. */
struct victim {
	struct tworld *w;
	int ticks;
};

static int victim_init(atoll_ctx *ctx, void *state, const void *arg)
{
	(void)ctx;
	((struct victim *)state)->w = (struct tworld *)arg;
	return 0;
}

static void victim_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct victim *v = state;

	if (msg->type == MSG_NEVER)
		atomic_fetch_add(&v->w->never_received, 1);
	if (msg->type == MSG_STOP_SELF || (msg->type == MSG_TICK && ++v->ticks == 3))
		CHECK_EQ(atoll_stop(ctx, atoll_self(ctx)), 0);
	if (msg->type == MSG_TICK && msg->len == sizeof(struct tick))
		record_tick(v->w, msg, ((const struct tick *)msg->data)->delay_ns);
}

static void victim_stop(atoll_ctx *ctx, void *state)
{
	struct victim *v = state;
	atoll_ref tk = atomic_load(&v->w->self);

	atomic_fetch_add(&v->w->results[7], 1);
	if (tk != ATOLL_REF_NONE) {
		/* At runtime stop the timekeeper may have stopped first. */
		int rc = atoll_tell(ctx, tk, MSG_STOPPED, NULL, 0);

		CHECK(rc >= 0 || rc == -ESRCH);
	}
}

static const struct atoll_actor_type victim_type = {
	.name = "victim",
	.state_size = sizeof(struct victim),
	.init = victim_init,
	.receive = victim_receive,
	.stop = victim_stop,
};

static int tworld_setup(void **state)
{
	struct tworld *w = calloc(1, sizeof(*w));
	const char *env = getenv("ATOLL_TEST_SEED");

	if (w == NULL)
		return -1;
	reset_checks();
	w->seed = env ? strtoull(env, NULL, 0) : (test_now_ns() | 1);
	w->rt = start_reactors(2);
	*state = w;
	return 0;
}

static int tworld_teardown(void **state)
{
	struct tworld *w = *state;

	if (w->rt != NULL)
		destroy_runtime(w->rt);
	free(w);
	/* Checks made by stop hooks during the runtime stop count too. */
	assert_no_check_failures();
	return 0;
}

/* Spawns the timekeeper on reactor 0 and starts a scenario. */
static void run_scenario(struct tworld *w, int scenario)
{
	atoll_ref tk = spawn_on(w->rt, &tk_type, w, 0);

	send_from_outside(w->rt, tk, MSG_GO, &scenario, sizeof(scenario));
}

static void timer_one_shots_fire_in_deadline_order_never_early(void **state)
{
	struct tworld *w = *state;

	printf("seed %llu (replay with ATOLL_TEST_SEED=%llu)\n", (unsigned long long)w->seed,
	       (unsigned long long)w->seed);
	run_scenario(w, ORDER);
	assert_wait_u64(&w->arrivals, 20, WAIT_LIMIT_NS);
	assert_no_check_failures();
	assert_int_equal(atomic_load(&w->early), 0);
	for (int i = 0; i < 20; i++)
		if (atomic_load(&w->order[i]) != (uint64_t)i + 1)
			fail_msg("arrival %d was the %llu ms timer, expected %d ms", i,
				 (unsigned long long)atomic_load(&w->order[i]), i + 1);
	assert_stat_eventually(w->rt, 0, timers_fired, 20);
}

static void timer_same_delay_fires_in_creation_order(void **state)
{
	struct tworld *w = *state;

	run_scenario(w, EQUAL);
	assert_wait_u64(&w->arrivals, 10, WAIT_LIMIT_NS);
	assert_no_check_failures();
	assert_int_equal(atomic_load(&w->early), 0);
	for (uint64_t i = 0; i < 10; i++)
		assert_int_equal(atomic_load(&w->order[i]), i);
}

static void timer_cancelled_never_fires_and_second_cancel_gives_enoent(void **state)
{
	struct tworld *w = *state;

	run_scenario(w, CANCEL);
	assert_wait_u64(&w->done, 1, WAIT_LIMIT_NS);
	assert_no_check_failures();
	assert_int_equal((int64_t)atomic_load(&w->results[0]), 0);
	assert_int_equal((int64_t)atomic_load(&w->results[1]), -ENOENT);
	assert_int_equal((int64_t)atomic_load(&w->results[2]), -ENOENT);
	assert_int_equal((int64_t)atomic_load(&w->results[3]), -ENOENT);
	/* The marker came 25 ms after the cancelled one was due. */
	assert_int_equal(atomic_load(&w->never_received), 0);
	/* The cancelled timer's message was freed. */
	assert_int_equal(atomic_load(&w->released), 1);
	assert_stat_eventually(w->rt, 0, timers_fired, 1);
}

static void timer_periodic_repeats_until_cancelled_then_stops(void **state)
{
	struct tworld *w = *state;

	run_scenario(w, PERIODIC);
	assert_wait_u64(&w->done, 1, WAIT_LIMIT_NS);
	assert_no_check_failures();
	assert_int_equal(atomic_load(&w->early), 0);
	assert_int_equal((int64_t)atomic_load(&w->results[0]), 0);
	assert_int_equal((int64_t)atomic_load(&w->results[1]), -ENOENT);
	/* At least 3 copies, and exactly as many as had fired at the cancel. */
	assert_true(atomic_load(&w->results[2]) >= 3);
	assert_int_equal(atomic_load(&w->results[2]), atomic_load(&w->results[3]));
	/* Between the cancel and the marker, only the marker fired. */
	assert_int_equal(atomic_load(&w->results[4]), 1);
}

static void timer_to_stopped_target_becomes_dead_letter(void **state)
{
	struct tworld *w = *state;
	atoll_ref stale = spawn_on(w->rt, &victim_type, w, 1);

	send_from_outside(w->rt, stale, MSG_STOP_SELF, NULL, 0);
	assert_wait_u64(&w->results[7], 1, WAIT_LIMIT_NS);
	atomic_store(&w->stale, stale);
	atomic_store(&w->victim, spawn_on(w->rt, &victim_type, w, 0));
	run_scenario(w, DEAD_TARGET);
	assert_wait_u64(&w->done, 1, WAIT_LIMIT_NS);
	assert_no_check_failures();
	assert_int_equal(atomic_load(&w->never_received), 0);
	assert_int_equal(atomic_load(&w->results[7]), 2);
	assert_stat_eventually(w->rt, ALL_REACTORS, dead_letters, 2);
}

static void timer_periodic_ends_when_its_target_stops(void **state)
{
	struct tworld *w = *state;

	atomic_store(&w->victim, spawn_on(w->rt, &victim_type, w, 0));
	run_scenario(w, PERIODIC_DEAD_TARGET);
	assert_wait_u64(&w->done, 1, WAIT_LIMIT_NS);
	assert_no_check_failures();
	assert_int_equal(atomic_load(&w->results[7]), 1);
	assert_int_equal(atomic_load(&w->results[0]), 1);
	/* At most the one copy that found the target gone. */
	assert_true(STATS_SUM(w->rt, dead_letters) <= 1);
}

static void timer_fires_to_actor_on_other_core_after_delay(void **state)
{
	struct tworld *w = *state;

	atomic_store(&w->remote, spawn_on(w->rt, &victim_type, w, 1));
	run_scenario(w, REMOTE);
	assert_wait_u64(&w->arrivals, 1, WAIT_LIMIT_NS);
	assert_no_check_failures();
	assert_int_equal(atomic_load(&w->early), 0);
	assert_int_equal(atomic_load(&w->order[0]), 1);
}

static void timer_pending_at_runtime_stop_are_freed(void **state)
{
	struct tworld *w = *state;

	run_scenario(w, PENDING_AT_STOP);
	assert_wait_u64(&w->done, 1, WAIT_LIMIT_NS);
	assert_int_equal(atomic_load(&w->released), 0);
	destroy_runtime(w->rt);
	w->rt = NULL;
	assert_int_equal(atomic_load(&w->released), 6);
	assert_int_equal(atomic_load(&w->never_received), 0);
	assert_no_check_failures();
}

static void timer_rejects_zero_period_and_bad_ref_and_frees_the_message(void **state)
{
	struct tworld *w = *state;
	int64_t rc;

	run_scenario(w, BAD_ARGS);
	assert_wait_u64(&w->done, 1, WAIT_LIMIT_NS);
	assert_int_equal((int64_t)atomic_load(&w->results[0]), -EINVAL);
	/* A ref naming no reactor is refused at once (timer.h). */
	rc = (int64_t)atomic_load(&w->results[1]);
	assert_int_equal(rc, -EINVAL);
	/* "Takes ownership of msg (freed on failure)". */
	assert_wait_u64(&w->released, 2, WAIT_LIMIT_NS);
	assert_int_equal(atomic_load(&w->never_received), 0);
	assert_no_check_failures();
}

/* The heap on its own ---------------------------------------------------- */

static atoll_msg *id_msg(uint64_t id)
{
	atoll_msg *m = atoll_msg_new_copy(MSG_TICK, &id, sizeof(id));

	assert_non_null(m);
	return m;
}

static uint64_t msg_id(const atoll_msg *m)
{
	uint64_t id;

	memcpy(&id, m->data, sizeof(id));
	return id;
}

static void timer_heap_equal_deadlines_pop_in_creation_order(void **state)
{
	struct atoll__timers tm;
	atoll_ref to = 0;
	atoll_timer id = 0;
	int periodic = -1;
	atoll_msg *m;

	(void)state;
	atoll__timers_init(&tm);
	/* Ids 0..59: deadlines 2000, 1000, 3000 in turn, so each deadline
	 * has 20 timers created between others'. */
	for (uint64_t i = 0; i < 60; i++) {
		static const uint64_t deadlines[3] = { 2000, 1000, 3000 };

		assert_int_equal(atoll__timers_add(&tm, deadlines[i % 3], 0, (atoll_ref)(i + 1),
						   id_msg(i), NULL),
				 0);
	}
	assert_int_equal(atoll__timers_next(&tm), 1000);
	assert_null(atoll__timers_pop_due(&tm, 999, &to, &id, &periodic));
	for (uint64_t k = 0; k < 60; k++) {
		/* Deadline order first (1000s, then 2000s, then 3000s), then
		 * creation order within each. */
		uint64_t expect = (k / 20 == 0 ? 1 : k / 20 == 1 ? 0 : 2) + 3 * (k % 20);

		m = atoll__timers_pop_due(&tm, 5000, &to, &id, &periodic);
		assert_non_null(m);
		assert_int_equal(msg_id(m), expect);
		assert_int_equal(to, expect + 1);
		assert_int_equal(periodic, 0);
		atoll_msg_free(m);
	}
	assert_null(atoll__timers_pop_due(&tm, UINT64_MAX, &to, &id, &periodic));
	assert_int_equal(atoll__timers_next(&tm), 0);
	atoll__timers_destroy(&tm);
}

static void timer_heap_keeps_order_under_random_adds_and_cancels(void **state)
{
	struct atoll__timers tm;
	uint64_t seed = test_now_ns() | 1, last_deadline = 0, last_i = 0, popped = 0;
	atoll_timer ids[500];
	uint64_t deadlines[500];
	bool cancelled[500];
	atoll_ref to;
	atoll_timer id;
	int periodic;
	atoll_msg *m;

	(void)state;
	printf("seed %llu\n", (unsigned long long)seed);
	atoll__timers_init(&tm);
	for (uint64_t i = 0; i < 500; i++) {
		deadlines[i] = 1 + xorshift(&seed) % 100; /* many ties */
		cancelled[i] = false;
		assert_int_equal(atoll__timers_add(&tm, deadlines[i], 0, 1, id_msg(i), &ids[i]), 0);
		assert_true(ids[i] != 0);
	}
	for (uint64_t i = 0; i < 500; i += 3) {
		assert_int_equal(atoll__timers_cancel(&tm, ids[i]), 0);
		assert_int_equal(atoll__timers_cancel(&tm, ids[i]), -ENOENT);
		cancelled[i] = true;
	}
	while ((m = atoll__timers_pop_due(&tm, UINT64_MAX, &to, &id, &periodic)) != NULL) {
		uint64_t i = msg_id(m);

		assert_true(i < 500);
		assert_false(cancelled[i]);
		assert_true(id == ids[i]);
		assert_true(deadlines[i] >= last_deadline);
		if (popped != 0 && deadlines[i] == last_deadline)
			assert_true(i > last_i); /* ties in creation order */
		last_deadline = deadlines[i];
		last_i = i;
		cancelled[i] = true; /* popped: must not come again */
		/* A one-shot that fired is no longer cancellable. */
		assert_int_equal(atoll__timers_cancel(&tm, id), -ENOENT);
		atoll_msg_free(m);
		popped++;
	}
	assert_int_equal(popped, 500 - 167);
	atoll__timers_destroy(&tm);
}

static void timer_heap_periodic_returns_template_and_reschedules(void **state)
{
	struct atoll__timers tm;
	atoll_msg *template = id_msg(7), *m;
	atoll_ref to;
	atoll_timer id, got;
	int periodic = 0;

	(void)state;
	atoll__timers_init(&tm);
	assert_int_equal(atoll__timers_add(&tm, 100, 50, 3, template, &id), 0);
	m = atoll__timers_pop_due(&tm, 100, &to, &got, &periodic);
	assert_ptr_equal(m, template); /* still the timer's */
	assert_int_equal(periodic, 1);
	assert_true(got == id);
	assert_int_equal(atoll__timers_next(&tm), 150);
	/* Far behind: missed periods are skipped, not fired in a burst. */
	m = atoll__timers_pop_due(&tm, 1000, &to, &got, &periodic);
	assert_ptr_equal(m, template);
	assert_true(atoll__timers_next(&tm) > 1000);
	assert_null(atoll__timers_pop_due(&tm, 1000, &to, &got, &periodic));
	/* Cancelling frees the template (ASan would see a leak). */
	assert_int_equal(atoll__timers_cancel(&tm, id), 0);
	assert_int_equal(atoll__timers_next(&tm), 0);
	atoll__timers_destroy(&tm);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, tworld_setup, tworld_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(timer_one_shots_fire_in_deadline_order_never_early),
		TEST(timer_same_delay_fires_in_creation_order),
		TEST(timer_cancelled_never_fires_and_second_cancel_gives_enoent),
		TEST(timer_periodic_repeats_until_cancelled_then_stops),
		TEST(timer_to_stopped_target_becomes_dead_letter),
		TEST(timer_periodic_ends_when_its_target_stops),
		TEST(timer_fires_to_actor_on_other_core_after_delay),
		TEST(timer_pending_at_runtime_stop_are_freed),
		TEST(timer_rejects_zero_period_and_bad_ref_and_frees_the_message),
		cmocka_unit_test(timer_heap_equal_deadlines_pop_in_creation_order),
		cmocka_unit_test(timer_heap_keeps_order_under_random_adds_and_cancels),
		cmocka_unit_test(timer_heap_periodic_returns_template_and_reschedules),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
