/*
 * topology_watch.c - the watcher a started topology runs beside its actors:
 * an actor on reactor 0 that monitors every member no supervisor watches
 * (the top of each supervision tree included). When one fails, in init or
 * later, it records which and why and stops the runtime: a part of the
 * topology is gone and nothing would bring it back. atoll_topology_failure
 * reads the record once the runtime has stopped.
 *
 * Invariants: the monitor table is written before the watcher is launched
 * and only read afterwards; the failure record is written once, by the
 * watcher alone, before `failed` is set.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology.h"

struct watch_entry {
	uint64_t id; /* the watcher's monitor id */
	size_t group;
	unsigned member;
};

struct atoll__topo_watch {
	const struct atoll_topology *t;
	struct watch_entry *v;
	size_t n, cap;
	/* Set (release) by the watcher after it wrote failure; read (acquire)
	 * by atoll_topology_failure on any thread. */
	_Atomic bool failed;
	char failure[512];
};

struct watcher {
	struct atoll__topo_watch *w;
};

static int watcher_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct watcher *self = state;

	(void)ctx;
	self->w = (struct atoll__topo_watch *)arg;
	return 0;
}

static void on_down(atoll_ctx *ctx, struct atoll__topo_watch *w, const struct atoll_down *d)
{
	const struct watch_entry *e = NULL;

	for (size_t i = 0; i < w->n && e == NULL; i++)
		if (w->v[i].id == d->monitor)
			e = &w->v[i];
	/* Only failures count: an actor may finish its work and stop. */
	if (e == NULL || d->reason != ATOLL_EXIT_FAILED ||
	    atomic_load_explicit(&w->failed, memory_order_relaxed))
		return;
	const struct atoll__topo_group *g = &w->t->groups[e->group];
	const char *type = g->info->type->name;
	unsigned core = g->member_core[e->member];

	if (strcmp(d->text, ATOLL_FAIL_INIT_TEXT) == 0)
		snprintf(w->failure, sizeof(w->failure),
			 "[%s] %s.%u (%s on core %u) failed to start: %s", g->name, g->name,
			 e->member, type, core, atoll_strerror(d->code));
	else
		snprintf(w->failure, sizeof(w->failure),
			 "[%s] %s.%u (%s on core %u) failed: %s (%d)", g->name, g->name, e->member,
			 type, core, d->text[0] != '\0' ? d->text : atoll_strerror(d->code),
			 d->code);
	atomic_store_explicit(&w->failed, true, memory_order_release);
	atoll_stop_runtime(ctx);
}

static void watcher_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct watcher *self = state;

	if (msg->type == ATOLL_MSG_DOWN && atoll_down_of(msg) != NULL)
		on_down(ctx, self->w, atoll_down_of(msg));
}

static const struct atoll_actor_type watcher_type = {
	.name = "topology-watcher",
	.state_size = sizeof(struct watcher),
	.init = watcher_init,
	.receive = watcher_receive,
};

int atoll__topology_watch_prepare(struct atoll_topology *t, atoll_runtime *rt,
				  struct atoll_pending **pending)
{
	int rc;

	t->watch = calloc(1, sizeof(*t->watch));
	if (t->watch == NULL)
		return -ENOMEM;
	t->watch->t = t;
	rc = atoll_runtime_prepare(rt, &watcher_type, 0, NULL, pending);
	if (rc < 0) {
		atoll__topology_watch_free(t);
		return rc;
	}
	return 0;
}

int atoll__topology_watch_add(struct atoll_topology *t, uint64_t id, size_t g, unsigned m)
{
	struct atoll__topo_watch *w = t->watch;

	if (w->n == w->cap) {
		size_t cap = w->cap != 0 ? w->cap * 2 : 16;
		struct watch_entry *v = realloc(w->v, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		w->v = v;
		w->cap = cap;
	}
	w->v[w->n++] = (struct watch_entry){ .id = id, .group = g, .member = m };
	return 0;
}

void atoll__topology_watch_free(struct atoll_topology *t)
{
	if (t->watch == NULL)
		return;
	free(t->watch->v);
	free(t->watch);
	t->watch = NULL;
}

int atoll_topology_failure(const struct atoll_topology *t, char *buf, size_t len)
{
	if (t == NULL || t->watch == NULL ||
	    !atomic_load_explicit(&t->watch->failed, memory_order_acquire))
		return 0;
	if (buf != NULL && len > 0)
		snprintf(buf, len, "%s", t->watch->failure);
	return 1;
}
