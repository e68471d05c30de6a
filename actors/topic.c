/*
 * topic.c - the pub-sub topic: a list of subscribers, and per published
 * message one shared block that counts the deliveries still holding its
 * payload.
 *
 * Invariants: a published message shared by n deliveries is owned by its
 * struct shared until the n-th release frees both; each delivery's inline
 * area (its header's payload slot, which attach leaves unused) holds the
 * pointer to that block.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "topic.h"

struct shared {
	/* fetch_sub(acq_rel) by every release, on any core: the release half
	 * publishes each reader's last use of the payload, the acquire half
	 * lets the last one (which frees) see them all. Initialised before
	 * any delivery is sent; the sends' own ring release/acquire pairs
	 * publish that store to the readers. */
	atomic_uint refs;
	atoll_msg *published;
};

struct subscriber {
	atoll_ref ref;
	uint64_t delivered; /* DATA since the last END to it */
};

struct topic {
	struct subscriber *subs;
	size_t nsubs, cap;
	struct atoll_lib_stats stats;
};

static int add_subscriber(struct topic *t, atoll_ref ref)
{
	if (t->nsubs == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 8;
		struct subscriber *subs = realloc(t->subs, cap * sizeof(*subs));

		if (subs == NULL)
			return -ENOMEM;
		t->subs = subs;
		t->cap = cap;
	}
	t->subs[t->nsubs++] = (struct subscriber){ .ref = ref };
	return 0;
}

static void remove_at(struct topic *t, size_t i)
{
	memmove(&t->subs[i], &t->subs[i + 1], (t->nsubs - i - 1) * sizeof(t->subs[0]));
	t->nsubs--;
}

static int topic_init(atoll_ctx *ctx, void *state, const void *arg)
{
	const struct atoll_params *p = arg;
	struct topic *t = state;
	const atoll_ref *subs;
	size_t n = atoll_params_links(p, "subscribers", &subs);

	(void)ctx;
	for (size_t i = 0; i < n; i++) {
		if (add_subscriber(t, subs[i]) < 0) {
			free(t->subs); /* the stop hook does not run after a failed init */
			return -ENOMEM;
		}
	}
	return 0;
}

static void release_shared(atoll_msg *msg)
{
	struct shared *sh;

	memcpy(&sh, msg + 1, sizeof(sh));
	/* Pairs with the fetch_sub of every other delivery (see struct
	 * shared): the last one frees. */
	if (atomic_fetch_sub_explicit(&sh->refs, 1, memory_order_acq_rel) == 1) {
		atoll_msg_free(sh->published);
		free(sh);
	}
}

/* A delivery of the shared payload: a header whose inline slot holds sh. */
static atoll_msg *delivery(struct shared *sh)
{
	atoll_msg *m = atoll_msg_new(ATOLL_LIB_DATA, sizeof(sh));
	atoll_msg *pub = sh->published;

	if (m == NULL)
		return NULL;
	memcpy(m->data, &sh, sizeof(sh));
	atoll_msg_attach(m, pub->data, pub->len, pub->len, release_shared);
	return m;
}

static void deliver(atoll_ctx *ctx, struct topic *t, size_t i, atoll_msg *m, uint32_t len)
{
	int rc = atoll_send(ctx, t->subs[i].ref, m);

	if (rc < 0) {
		t->stats.dropped++;
		if (rc == -ESRCH)
			t->subs[i].ref = ATOLL_REF_NONE; /* stopped: dropped by compact */
		return;
	}
	t->stats.out++;
	t->stats.bytes += len;
	t->subs[i].delivered++;
}

/* Drops the subscribers deliver found stopped. */
static void compact(struct topic *t)
{
	size_t k = 0;

	for (size_t i = 0; i < t->nsubs; i++)
		if (t->subs[i].ref != ATOLL_REF_NONE)
			t->subs[k++] = t->subs[i];
	t->nsubs = k;
}

static void publish(atoll_ctx *ctx, struct topic *t, atoll_msg *msg)
{
	struct shared *sh;
	uint32_t len = msg->len;
	size_t n = t->nsubs;

	t->stats.in++;
	if (n == 0)
		return; /* freed by the runtime */
	msg->type = ATOLL_LIB_DATA;
	if (n == 1) {
		deliver(ctx, t, 0, msg, len);
		compact(t);
		return;
	}
	sh = malloc(sizeof(*sh));
	if (sh == NULL) {
		t->stats.dropped += n;
		return;
	}
	atoll_msg_keep(ctx, msg);
	sh->published = msg;
	/* One reference per delivery, plus the topic's own until all are
	 * made: a fast subscriber cannot free the payload meanwhile. */
	atomic_init(&sh->refs, (unsigned)n + 1);
	for (size_t i = 0; i < n; i++) {
		atoll_msg *m = delivery(sh);

		if (m == NULL) {
			t->stats.dropped++;
			atomic_fetch_sub_explicit(&sh->refs, 1, memory_order_relaxed);
			continue;
		}
		deliver(ctx, t, i, m, len);
	}
	compact(t);
	/* The topic's own reference; pairs like any delivery's release. */
	if (atomic_fetch_sub_explicit(&sh->refs, 1, memory_order_acq_rel) == 1) {
		atoll_msg_free(msg);
		free(sh);
	}
}

/* The ref a SUBSCRIBE or UNSUBSCRIBE names. */
static atoll_ref named_ref(const atoll_msg *msg)
{
	atoll_ref ref = msg->reply_to;

	if (msg->len == sizeof(ref))
		memcpy(&ref, msg->data, sizeof(ref));
	return ref;
}

static void topic_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct topic *t = state;
	atoll_ref ref;

	switch (msg->type) {
	case ATOLL_TOPIC_PUBLISH:
	case ATOLL_LIB_DATA:
		publish(ctx, t, msg);
		break;
	case ATOLL_TOPIC_SUBSCRIBE:
		ref = named_ref(msg);
		if (ref != ATOLL_REF_NONE && add_subscriber(t, ref) < 0)
			atoll__log_error("topic: out of memory for a subscriber");
		break;
	case ATOLL_TOPIC_UNSUBSCRIBE:
		ref = named_ref(msg);
		for (size_t i = 0; i < t->nsubs; i++)
			if (t->subs[i].ref == ref) {
				remove_at(t, i);
				break;
			}
		break;
	case ATOLL_LIB_END:
		for (size_t i = 0; i < t->nsubs; i++) {
			atoll_lib_send_end(ctx, t->subs[i].ref, t->subs[i].delivered);
			t->subs[i].delivered = 0;
		}
		break;
	case ATOLL_LIB_STATS:
		atoll_lib_reply_stats(ctx, msg, &t->stats);
		break;
	default:
		break;
	}
}

static void topic_stop(atoll_ctx *ctx, void *state)
{
	struct topic *t = state;

	(void)ctx;
	free(t->subs);
}

const struct atoll_actor_type atoll_topic_type = {
	.name = "topic",
	.state_size = sizeof(struct topic),
	.init = topic_init,
	.receive = topic_receive,
	.stop = topic_stop,
};

static const struct atoll_param_spec topic_params[] = {
	{ "subscribers", ATOLL_PARAM_LINK, "", 0, 0, NULL, "static subscribers (optional)", 0 },
	{ 0 },
};

static const struct atoll_msg_spec topic_accepts[] = {
	{ ATOLL_TOPIC_PUBLISH, "PUBLISH", "bytes delivered to every subscriber as DATA" },
	{ ATOLL_LIB_DATA, "DATA", "published like PUBLISH" },
	{ ATOLL_TOPIC_SUBSCRIBE, "SUBSCRIBE", "atoll_ref to add (none: reply_to)" },
	{ ATOLL_TOPIC_UNSUBSCRIBE, "UNSUBSCRIBE", "atoll_ref to remove (none: reply_to)" },
	{ ATOLL_LIB_END, "END", "an END to every subscriber" },
	{ ATOLL_LIB_STATS, "STATS", "in = published, out = deliveries" },
	{ 0 },
};

static const struct atoll_msg_spec topic_sends[] = {
	{ ATOLL_LIB_DATA, "DATA", "each published payload, shared read-only" },
	{ ATOLL_LIB_END, "END", "one per END received, to each subscriber" },
	{ 0 },
};

const struct atoll_type_info atoll_topic_info = {
	.type = &atoll_topic_type,
	.summary = "pub-sub: delivers each published payload to every subscriber, shared",
	.params = topic_params,
	.accepts = topic_accepts,
	.sends = topic_sends,
};
