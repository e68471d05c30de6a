/*
 * test_registry.c - the per-runtime name registry: register, lookup and
 * unregister round trips, -EEXIST for a taken name (the first mapping
 * survives), -EINVAL for empty or too long names and ATOLL_REF_NONE,
 * -ENOENT for missing names, names copied on register, and concurrent
 * registrations from plain threads and from actors on every reactor, where
 * exactly one contender wins a contested name.
 */
#include "helpers.h"

enum {
	MSG_REGISTER_MANY = ATOLL_MSG_USER,
};

#define NAMES_PER_CONTENDER 200
#define CONTENDER_THREADS 3

struct registry_world {
	atoll_runtime *rt;
	atoll_ref actor;
};

/* An actor that, asked to, registers names from its reactor thread. */
struct contender_state {
	int unused;
};

struct contender_result {
	_Atomic uint64_t done;
	_Atomic uint64_t won_contested;
	_Atomic uint64_t lost_contested;
};

static struct contender_result actor_results[2];

static void register_many(atoll_runtime *rt, const char *prefix, atoll_ref ref,
			  struct contender_result *res)
{
	char name[ATOLL_NAME_MAX + 1];
	int rc;

	for (int i = 0; i < NAMES_PER_CONTENDER; i++) {
		snprintf(name, sizeof(name), "%s-%d", prefix, i);
		rc = atoll_register(rt, name, ref);
		CHECK_EQ(rc, 0);
	}
	rc = atoll_register(rt, "contested", ref);
	if (rc == 0)
		atomic_fetch_add(&res->won_contested, 1);
	else if (rc == -EEXIST)
		atomic_fetch_add(&res->lost_contested, 1);
	else
		CHECK_EQ(rc, 0);
	atomic_store(&res->done, 1);
}

static void contender_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	char prefix[32];
	unsigned core = atoll_core(ctx);

	(void)state;
	CHECK_EQ(msg->type, MSG_REGISTER_MANY);
	CHECK(core < 2);
	if (core >= 2)
		return;
	snprintf(prefix, sizeof(prefix), "actor%u", core);
	register_many(atoll_runtime_of(ctx), prefix, atoll_self(ctx), &actor_results[core]);
}

static const struct atoll_actor_type contender_type = {
	.name = "contender",
	.state_size = sizeof(struct contender_state),
	.receive = contender_receive,
};

static int setup_world(void **state)
{
	struct registry_world *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return -1;
	reset_checks();
	w->rt = start_reactors(2);
	w->actor = spawn_on(w->rt, &contender_type, NULL, 0);
	*state = w;
	return 0;
}

static int teardown_world(void **state)
{
	struct registry_world *w = *state;

	destroy_runtime(w->rt);
	free(w);
	assert_no_check_failures();
	return 0;
}

static void registry_register_lookup_unregister_round_trip(void **state)
{
	struct registry_world *w = *state;
	atoll_ref found = ATOLL_REF_NONE;

	assert_int_equal(atoll_register(w->rt, "shard-0", w->actor), 0);
	assert_int_equal(atoll_lookup(w->rt, "shard-0", &found), 0);
	assert_true(found == w->actor);

	assert_int_equal(atoll_unregister(w->rt, "shard-0"), 0);
	assert_int_equal(atoll_lookup(w->rt, "shard-0", &found), -ENOENT);
	/* The name is free again. */
	assert_int_equal(atoll_register(w->rt, "shard-0", w->actor), 0);
	assert_int_equal(atoll_unregister(w->rt, "shard-0"), 0);
}

static void registry_register_taken_name_returns_eexist_and_keeps_first(void **state)
{
	struct registry_world *w = *state;
	atoll_ref other = spawn_on(w->rt, &contender_type, NULL, 1);
	atoll_ref found = ATOLL_REF_NONE;

	assert_true(other != w->actor);
	assert_int_equal(atoll_register(w->rt, "logger", w->actor), 0);
	assert_int_equal(atoll_register(w->rt, "logger", other), -EEXIST);
	assert_int_equal(atoll_register(w->rt, "logger", w->actor), -EEXIST);
	assert_int_equal(atoll_lookup(w->rt, "logger", &found), 0);
	assert_true(found == w->actor);
	/* One ref may have several names. */
	assert_int_equal(atoll_register(w->rt, "logger-alias", w->actor), 0);
	assert_int_equal(atoll_lookup(w->rt, "logger-alias", &found), 0);
	assert_true(found == w->actor);
}

static void registry_rejects_empty_or_too_long_name_and_ref_none(void **state)
{
	struct registry_world *w = *state;
	char name[ATOLL_NAME_MAX + 2];
	atoll_ref found = ATOLL_REF_NONE;

	assert_int_equal(atoll_register(w->rt, "", w->actor), -EINVAL);

	memset(name, 'n', ATOLL_NAME_MAX + 1);
	name[ATOLL_NAME_MAX + 1] = '\0'; /* one too long */
	assert_int_equal(atoll_register(w->rt, name, w->actor), -EINVAL);
	assert_int_equal(atoll_lookup(w->rt, name, &found), -ENOENT);

	name[ATOLL_NAME_MAX] = '\0'; /* exactly the longest */
	assert_int_equal(atoll_register(w->rt, name, w->actor), 0);
	assert_int_equal(atoll_lookup(w->rt, name, &found), 0);
	assert_true(found == w->actor);

	assert_int_equal(atoll_register(w->rt, "nobody", ATOLL_REF_NONE), -EINVAL);
	assert_int_equal(atoll_lookup(w->rt, "nobody", &found), -ENOENT);
}

static void registry_lookup_and_unregister_of_missing_name_return_enoent(void **state)
{
	struct registry_world *w = *state;
	atoll_ref found = (atoll_ref)12345;

	assert_int_equal(atoll_lookup(w->rt, "missing", &found), -ENOENT);
	assert_int_equal(atoll_unregister(w->rt, "missing"), -ENOENT);
	assert_int_equal(atoll_register(w->rt, "once", w->actor), 0);
	assert_int_equal(atoll_unregister(w->rt, "once"), 0);
	assert_int_equal(atoll_unregister(w->rt, "once"), -ENOENT);
}

static void registry_copies_the_name_on_register(void **state)
{
	struct registry_world *w = *state;
	char name[16] = "original";
	atoll_ref found = ATOLL_REF_NONE;

	assert_int_equal(atoll_register(w->rt, name, w->actor), 0);
	memcpy(name, "modified", 9);
	assert_int_equal(atoll_lookup(w->rt, "original", &found), 0);
	assert_true(found == w->actor);
	assert_int_equal(atoll_lookup(w->rt, "modified", &found), -ENOENT);
}

struct thread_contender {
	pthread_t thread;
	atoll_runtime *rt;
	atoll_ref ref;
	char prefix[16];
	struct contender_result res;
};

static void *thread_contender_main(void *arg)
{
	struct thread_contender *t = arg;

	register_many(t->rt, t->prefix, t->ref, &t->res);
	return NULL;
}

static void registry_concurrent_registration_from_threads_and_actors_has_one_winner(void **state)
{
	struct registry_world *w = *state;
	struct thread_contender threads[CONTENDER_THREADS];
	atoll_ref actor1 = spawn_on(w->rt, &contender_type, NULL, 1);
	uint64_t won = 0, lost = 0;
	char name[ATOLL_NAME_MAX + 1];
	atoll_ref found;

	memset(actor_results, 0, sizeof(actor_results));
	memset(threads, 0, sizeof(threads));
	/* Actors on both reactors and plain threads, all at once. */
	send_from_outside(w->rt, w->actor, MSG_REGISTER_MANY, NULL, 0);
	send_from_outside(w->rt, actor1, MSG_REGISTER_MANY, NULL, 0);
	for (int i = 0; i < CONTENDER_THREADS; i++) {
		threads[i].rt = w->rt;
		threads[i].ref = (i % 2) ? w->actor : actor1;
		snprintf(threads[i].prefix, sizeof(threads[i].prefix), "thread%d", i);
		assert_int_equal(pthread_create(&threads[i].thread, NULL, thread_contender_main,
						&threads[i]),
				 0);
	}
	for (int i = 0; i < CONTENDER_THREADS; i++) {
		pthread_join(threads[i].thread, NULL);
		won += atomic_load(&threads[i].res.won_contested);
		lost += atomic_load(&threads[i].res.lost_contested);
	}
	for (int core = 0; core < 2; core++) {
		assert_wait_u64(&actor_results[core].done, 1, WAIT_LIMIT_NS);
		won += atomic_load(&actor_results[core].won_contested);
		lost += atomic_load(&actor_results[core].lost_contested);
	}
	assert_no_check_failures();
	assert_int_equal(won, 1);
	assert_int_equal(lost, CONTENDER_THREADS + 2 - 1);

	/* Every name maps to the ref its registrant gave. */
	for (int i = 0; i < CONTENDER_THREADS; i++) {
		for (int k = 0; k < NAMES_PER_CONTENDER; k++) {
			snprintf(name, sizeof(name), "%s-%d", threads[i].prefix, k);
			assert_int_equal(atoll_lookup(w->rt, name, &found), 0);
			assert_true(found == threads[i].ref);
		}
	}
	for (unsigned core = 0; core < 2; core++) {
		for (int k = 0; k < NAMES_PER_CONTENDER; k++) {
			snprintf(name, sizeof(name), "actor%u-%d", core, k);
			assert_int_equal(atoll_lookup(w->rt, name, &found), 0);
			assert_true(found == (core == 0 ? w->actor : actor1));
		}
	}
	assert_int_equal(atoll_lookup(w->rt, "contested", &found), 0);
	assert_true(found == w->actor || found == actor1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(registry_register_lookup_unregister_round_trip,
						setup_world, teardown_world),
		cmocka_unit_test_setup_teardown(
			registry_register_taken_name_returns_eexist_and_keeps_first, setup_world,
			teardown_world),
		cmocka_unit_test_setup_teardown(
			registry_rejects_empty_or_too_long_name_and_ref_none, setup_world,
			teardown_world),
		cmocka_unit_test_setup_teardown(
			registry_lookup_and_unregister_of_missing_name_return_enoent, setup_world,
			teardown_world),
		cmocka_unit_test_setup_teardown(registry_copies_the_name_on_register, setup_world,
						teardown_world),
		cmocka_unit_test_setup_teardown(
			registry_concurrent_registration_from_threads_and_actors_has_one_winner,
			setup_world, teardown_world),
	};

	require_io_uring_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
