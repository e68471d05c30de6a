/*
 * lib_harness.h - what the tests of the actor library (ticker, generator,
 * parser, ...) share: building an atoll_params from "key=value" strings and
 * links, the collector actor (records every message it gets, for the test
 * thread to check once the counters say all arrived), and the asker actor
 * (asks a library actor for ATOLL_LIB_STATS and keeps the answer).
 * Include after helpers.h.
 */
#ifndef ATOLL_TEST_LIB_HARNESS_H
#define ATOLL_TEST_LIB_HARNESS_H

#include "../helpers.h"

#include <stdarg.h>

#include "atoll/module.h"
#include "lib_msg.h"

/*
 * A params set for info: each "key=value" string in the NULL-terminated
 * list, then the link `link` (when not NULL) to refs[0..n). Fails the test
 * on any error. Free with atoll_params_free after the actor's init ran
 * (simplest: after the runtime is destroyed).
 */
static inline struct atoll_params *make_params(const struct atoll_type_info *info, const char *link,
					       const atoll_ref *refs, size_t n, ...)
{
	struct atoll_params *p = atoll_params_new(info);
	char err[256];
	va_list ap;
	const char *kv;

	assert_non_null(p);
	va_start(ap, n);
	while ((kv = va_arg(ap, const char *)) != NULL) {
		char key[64];
		const char *eq = strchr(kv, '=');

		assert_non_null(eq);
		assert_true((size_t)(eq - kv) < sizeof(key));
		memcpy(key, kv, (size_t)(eq - kv));
		key[eq - kv] = '\0';
		if (atoll_params_set(p, key, eq + 1, err, sizeof(err)) != 0)
			fail_msg("params %s: %s", kv, err);
	}
	va_end(ap);
	if (link != NULL)
		assert_int_equal(atoll_params_set_link(p, link, refs, n), 0);
	if (atoll_params_finish(p, err, sizeof(err)) != 0)
		fail_msg("atoll_params_finish: %s", err);
	return p;
}

/* --- the collector ---------------------------------------------------- */

#define COLLECT_MAX 200000

/* What one collector saw. Records are written before `data` is bumped. */
struct collected {
	_Atomic uint64_t data;        /* DATA messages */
	_Atomic uint64_t ends;        /* END messages */
	_Atomic uint64_t end_records; /* sum of what the ENDs carried */
	_Atomic uint64_t other;       /* messages of any other type */
	_Atomic uint64_t last_type;
	_Atomic uint64_t core; /* where it received */
	_Atomic uint64_t bytes;
	_Atomic uint64_t first_data_ptr;    /* msg->data of the first DATA */
	char **records;                     /* COLLECT_MAX NUL-terminated copies */
	uint64_t *stamps;                   /* atoll_now_ns() at each arrival */
	_Atomic uint64_t dropped_from_list; /* records beyond COLLECT_MAX */
};

static inline void collected_init(struct collected *c)
{
	memset(c, 0, sizeof(*c));
	c->records = calloc(COLLECT_MAX, sizeof(*c->records));
	c->stamps = calloc(COLLECT_MAX, sizeof(*c->stamps));
	assert_non_null(c->records);
	assert_non_null(c->stamps);
}

static inline void collected_free(struct collected *c)
{
	for (uint64_t i = 0; i < COLLECT_MAX; i++)
		free(c->records[i]);
	free(c->records);
	free(c->stamps);
}

struct collector {
	struct collected *c;
};

static inline int collector_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct collector *s = state;

	(void)ctx;
	s->c = (struct collected *)arg;
	return 0;
}

static inline void collector_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct collected *c = ((struct collector *)state)->c;

	atomic_store(&c->core, atoll_core(ctx));
	atomic_store(&c->last_type, msg->type);
	if (msg->type == ATOLL_LIB_DATA) {
		uint64_t n = atomic_load(&c->data);

		if (n == 0)
			atomic_store(&c->first_data_ptr, (uint64_t)(uintptr_t)msg->data);
		if (n < COLLECT_MAX) {
			char *r = malloc(msg->len + 1u);

			CHECK(r != NULL);
			if (r != NULL) {
				memcpy(r, msg->data, msg->len);
				r[msg->len] = '\0';
			}
			c->records[n] = r;
			c->stamps[n] = atoll_now_ns();
		} else {
			atomic_fetch_add(&c->dropped_from_list, 1);
		}
		atomic_fetch_add(&c->bytes, msg->len);
		atomic_store(&c->data, n + 1);
	} else if (msg->type == ATOLL_LIB_END) {
		atomic_fetch_add(&c->end_records, atoll_lib_end_records(msg));
		atomic_fetch_add(&c->ends, 1);
	} else {
		atomic_fetch_add(&c->other, 1);
	}
}

static const struct atoll_actor_type collector_type = {
	.name = "collector",
	.state_size = sizeof(struct collector),
	.init = collector_init,
	.receive = collector_receive,
};

/* A message whose attached buffer (a copy of text) counts its release in
 * *released. */
struct counted_buf {
	_Atomic uint64_t *released;
	char text[];
};

static inline void counted_release(atoll_msg *msg)
{
	struct counted_buf *b = (struct counted_buf *)((char *)msg->data - sizeof(*b));

	atomic_fetch_add(b->released, 1);
	free(b);
}

static inline atoll_msg *counted_msg(uint32_t type, const char *text, _Atomic uint64_t *released)
{
	size_t len = strlen(text);
	struct counted_buf *b = malloc(sizeof(*b) + len + 1);
	atoll_msg *m = atoll_msg_new(type, 0);

	assert_non_null(b);
	assert_non_null(m);
	b->released = released;
	memcpy(b->text, text, len + 1);
	atoll_msg_attach(m, b->text, (uint32_t)len, (uint32_t)len + 1, counted_release);
	return m;
}

/* --- the asker -------------------------------------------------------- */

enum {
	ASKER_ASK = PROBE_MSG_END + 100, /* payload: atoll_ref to ask for STATS */
};

struct asked {
	_Atomic uint64_t replies;
	struct atoll_lib_stats stats; /* written before replies is bumped */
};

struct asker {
	struct asked *a;
};

static inline int asker_init(atoll_ctx *ctx, void *state, const void *arg)
{
	(void)ctx;
	((struct asker *)state)->a = (struct asked *)arg;
	return 0;
}

static inline void asker_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct asked *a = ((struct asker *)state)->a;

	if (msg->type == ASKER_ASK) {
		atoll_ref target;

		memcpy(&target, msg->data, sizeof(target));
		CHECK(atoll_ask(ctx, target, atoll_msg_new(ATOLL_LIB_STATS, 0), NULL) >= 0);
	} else if (msg->type == ATOLL_LIB_STATS_REPLY) {
		CHECK_EQ(msg->len, sizeof(a->stats));
		memcpy(&a->stats, msg->data, sizeof(a->stats));
		atomic_fetch_add(&a->replies, 1);
	}
}

static const struct atoll_actor_type asker_type = {
	.name = "asker",
	.state_size = sizeof(struct asker),
	.init = asker_init,
	.receive = asker_receive,
};

/* Asks target for its stats through an asker on reactor 0 and returns them. */
static inline struct atoll_lib_stats ask_stats(atoll_runtime *rt, atoll_ref target)
{
	static struct asked a;
	uint64_t before = atomic_load(&a.replies);
	atoll_ref asker = spawn_on(rt, &asker_type, &a, 0);

	send_from_outside(rt, asker, ASKER_ASK, &target, sizeof(target));
	assert_wait_u64(&a.replies, before + 1, WAIT_LIMIT_NS);
	return a.stats;
}

#endif /* ATOLL_TEST_LIB_HARNESS_H */
