/*
 * failure.c - failing actors, monitors and links.
 *
 * Each actor that uses any of this gets a struct atoll__fail (lazily, so the
 * others pay nothing): who monitors it (watchers), the monitors it holds,
 * its links, trap_exit and its failure text. Only the actor's reactor
 * touches it. Requests to an actor on another core (monitor, demonitor,
 * link, unlink) travel as messages to that core and are handled on arrival,
 * before the mailbox; so do DOWN and EXIT, which are filtered against the
 * receiver's state (a demonitored monitor or an unlinked link delivers
 * nothing). DOWN and EXIT leave a stopping actor after its stop hook ran,
 * on the same path as its earlier sends, so they arrive after them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "log.h"
#include "reactor.h"

/* One monitor or link: the actor at the other end, the monitor id (0 for a
 * link), and in watchers and links the ref the other end knows this actor
 * by (its own, or the alias it was reached through), which DOWN and EXIT
 * name. */
struct peer {
	atoll_ref ref;
	uint64_t id;
	atoll_ref as;
};

struct peers {
	struct peer *v;
	uint32_t n, cap;
};

struct atoll__fail {
	struct peers watchers; /* who monitors this actor: (watcher, id) */
	struct peers monitors; /* the monitors it holds: (target, id) */
	struct peers links;    /* linked actors: (ref, 0) */
	bool trap_exit;
	char text[ATOLL_FAIL_TEXT_MAX];
};

/* Makes room for `more` entries. Returns 0 or -ENOMEM. */
static int peers_reserve(struct peers *p, uint32_t more)
{
	uint32_t cap = p->cap != 0 ? p->cap : 4;
	struct peer *v;

	if (p->n + more <= p->cap)
		return 0;
	while (cap < p->n + more)
		cap *= 2;
	v = atoll__alloc(cap * sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	if (p->n != 0)
		memcpy(v, p->v, p->n * sizeof(*v));
	atoll__free(p->v);
	p->v = v;
	p->cap = cap;
	return 0;
}

/* Appends (ref, id, as); room must have been reserved. */
static void peers_push(struct peers *p, atoll_ref ref, uint64_t id, atoll_ref as)
{
	p->v[p->n].ref = ref;
	p->v[p->n].id = id;
	p->v[p->n].as = as;
	p->n++;
}

static int peers_add(struct peers *p, atoll_ref ref, uint64_t id, atoll_ref as)
{
	int err = peers_reserve(p, 1);

	if (err == 0)
		peers_push(p, ref, id, as);
	return err;
}

/* Index of the entry (ref, id), or -1; ref NONE matches any ref. */
static int peers_find(const struct peers *p, atoll_ref ref, uint64_t id)
{
	for (uint32_t i = 0; i < p->n; i++)
		if (p->v[i].id == id && (ref == ATOLL_REF_NONE || p->v[i].ref == ref))
			return (int)i;
	return -1;
}

/* Removes entry i (order is not kept: no caller depends on it). */
static void peers_del(struct peers *p, int i)
{
	p->v[i] = p->v[--p->n];
}

static struct atoll__fail *fail_get(struct atoll__actor *a)
{
	if (a->fail == NULL)
		a->fail = atoll__zalloc(sizeof(*a->fail));
	return a->fail;
}

static void fail_free(struct atoll__actor *a)
{
	struct atoll__fail *f = a->fail;

	if (f == NULL)
		return;
	atoll__free(f->watchers.v);
	atoll__free(f->monitors.v);
	atoll__free(f->links.v);
	atoll__free(f);
	a->fail = NULL;
}

void atoll__fail_release(struct atoll__actor *a)
{
	fail_free(a);
}

/* Sends a control message (MONITOR, DEMONITOR, LINK, UNLINK) about `who`
 * and id to `to`. Returns as atoll_send, or -ENOMEM. */
static int send_peer(struct atoll_ctx *r, uint32_t type, atoll_ref to, atoll_ref who, uint64_t id)
{
	atoll_msg *m = atoll_msg_new(type, sizeof(struct peer));
	struct peer p = { who, id, ATOLL_REF_NONE };

	if (m == NULL)
		return -ENOMEM;
	memcpy(m->data, &p, sizeof(p));
	return atoll_send(r, to, m);
}

/* Sends DOWN or EXIT about `who` to `to`. */
static void send_down(struct atoll_ctx *r, uint32_t type, atoll_ref to, atoll_ref who, uint64_t id,
		      int reason, int code, const char *text)
{
	atoll_msg *m = atoll_msg_new(type, sizeof(struct atoll_down));
	struct atoll_down *d;

	if (m == NULL) {
		atoll__log_error("reactor %u: out of memory: a %s is lost", r->index,
				 type == ATOLL_MSG_DOWN ? "DOWN" : "EXIT");
		return;
	}
	d = m->data;
	memset(d, 0, sizeof(*d));
	d->who = who;
	d->monitor = id;
	d->reason = reason;
	d->code = code;
	if (text != NULL)
		snprintf(d->text, sizeof(d->text), "%s", text);
	(void)atoll_send(r, to, m);
}

void atoll__fail_set(struct atoll__actor *a, int code, const char *text)
{
	struct atoll__fail *f;

	if (a->flags & ATOLL__ACTOR_FAILED)
		return; /* The first failure's reason wins. */
	a->flags |= ATOLL__ACTOR_FAILED;
	a->fail_code = code;
	f = fail_get(a);
	if (f != NULL)
		snprintf(f->text, sizeof(f->text), "%s", text != NULL ? text : "");
}

void atoll__fail_kill(struct atoll_ctx *r, struct atoll__actor *a, atoll_msg *msg)
{
	if (a->flags & ATOLL__ACTOR_STOPPING) {
		atoll_msg_free(msg);
		return;
	}
	/* A stop at the front: the actor handles no further message. */
	msg->type = ATOLL_MSG_STOP;
	msg->len = 0;
	msg->next = a->mbox_head;
	a->mbox_head = msg;
	if (a->mbox_tail == NULL)
		a->mbox_tail = msg;
	atoll__mailbox_count(r, a);
	if ((a->flags & (ATOLL__ACTOR_LIVE | ATOLL__ACTOR_SCHEDULED)) == ATOLL__ACTOR_LIVE)
		atoll__reactor_schedule(r, a);
}

void atoll__fail_notify(struct atoll_ctx *r, struct atoll__actor *a)
{
	struct atoll__fail *f = a->fail;
	bool failed = (a->flags & ATOLL__ACTOR_FAILED) != 0;

	if (failed)
		ATOLL__STAT_INC(r, failures);
	if (f == NULL)
		return;
	/* A runtime stop tells nobody: every actor is stopping anyway. */
	if (atomic_load_explicit(&r->rt->stopping, memory_order_relaxed) == 0) {
		int reason = failed ? ATOLL_EXIT_FAILED : ATOLL_EXIT_NORMAL;
		int code = failed ? a->fail_code : 0;
		const char *text = failed ? f->text : "";

		for (uint32_t i = 0; i < f->watchers.n; i++)
			send_down(r, ATOLL_MSG_DOWN, f->watchers.v[i].ref, f->watchers.v[i].as,
				  f->watchers.v[i].id, reason, code, text);
		for (uint32_t i = 0; i < f->links.n; i++)
			send_down(r, ATOLL_MSG_EXIT, f->links.v[i].ref, f->links.v[i].as, 0, reason,
				  code, text);
		/* Monitors it held: their targets forget it (no DOWN to a
		 * stopped actor, and no list that grows with dead watchers). */
		for (uint32_t i = 0; i < f->monitors.n; i++)
			(void)send_peer(r, ATOLL_MSG_DEMONITOR, f->monitors.v[i].ref, a->ref,
					f->monitors.v[i].id);
	}
	fail_free(a);
}

/* A DOWN or EXIT for actor a (or NULL): filtered against its state. */
static void deliver_down(struct atoll_ctx *r, struct atoll__actor *a, atoll_msg *msg)
{
	const struct atoll_down *d = msg->data;
	struct atoll__fail *f = a != NULL ? a->fail : NULL;
	int i;

	if (f == NULL || msg->len != sizeof(*d)) {
		atoll_msg_free(msg); /* Not a dead letter: nobody waits for it. */
		return;
	}
	if (msg->type == ATOLL_MSG_DOWN) {
		i = peers_find(&f->monitors, d->who, d->monitor);
		if (i < 0) {
			atoll_msg_free(msg); /* Demonitored meanwhile. */
			return;
		}
		peers_del(&f->monitors, i);
		atoll__mailbox_push(r, a, msg);
		return;
	}
	i = peers_find(&f->links, d->who, 0);
	if (i < 0) {
		atoll_msg_free(msg); /* Unlinked meanwhile. */
		return;
	}
	peers_del(&f->links, i);
	if (f->trap_exit) {
		atoll__mailbox_push(r, a, msg);
	} else if (d->reason != ATOLL_EXIT_NORMAL) {
		atoll__fail_set(a, ATOLL_FAIL_LINKED, "linked actor failed");
		atoll__fail_kill(r, a, msg);
	} else {
		atoll_msg_free(msg);
	}
}

void atoll__fail_deliver(struct atoll_ctx *r, struct atoll__actor *a, atoll_msg *msg)
{
	uint32_t type = msg->type;
	atoll_ref target = msg->to;
	struct atoll__fail *f;
	struct peer p;
	int i;

	if (type == ATOLL_MSG_DOWN || type == ATOLL_MSG_EXIT) {
		deliver_down(r, a, msg);
		return;
	}
	if (msg->len != sizeof(p)) {
		atoll_msg_free(msg);
		return;
	}
	memcpy(&p, msg->data, sizeof(p));
	atoll_msg_free(msg);
	/* A stopping actor tells its peers when it finishes stopping; one that
	 * has finished is answered at once. */
	f = a != NULL ? fail_get(a) : NULL;
	switch (type) {
	case ATOLL_MSG_MONITOR:
		if (f == NULL || peers_add(&f->watchers, p.ref, p.id, target) < 0)
			send_down(r, ATOLL_MSG_DOWN, p.ref, target, p.id, ATOLL_EXIT_NOPROC,
				  a != NULL ? -ENOMEM : 0, a != NULL ? "out of memory" : "");
		break;
	case ATOLL_MSG_LINK:
		if (f == NULL || (peers_find(&f->links, p.ref, 0) < 0 &&
				  peers_add(&f->links, p.ref, 0, target) < 0))
			send_down(r, ATOLL_MSG_EXIT, p.ref, target, 0, ATOLL_EXIT_NOPROC,
				  a != NULL ? -ENOMEM : 0, a != NULL ? "out of memory" : "");
		break;
	case ATOLL_MSG_DEMONITOR:
		if (f != NULL && (i = peers_find(&f->watchers, p.ref, p.id)) >= 0)
			peers_del(&f->watchers, i);
		break;
	case ATOLL_MSG_UNLINK:
		if (f != NULL && (i = peers_find(&f->links, p.ref, 0)) >= 0)
			peers_del(&f->links, i);
		break;
	default:
		break;
	}
}

int atoll__fail_spawn_prepare(struct atoll_ctx *r, struct atoll__actor *a,
			      const struct atoll_spawn_opts *opts)
{
	bool link = (opts->flags & ATOLL_SPAWN_LINK) != 0;
	bool mon = opts->monitor != NULL;
	struct atoll__fail *pf, *cf;

	if (!link && !mon)
		return 0;
	if (r == NULL || r->current == NULL)
		return -EINVAL; /* Nobody to link or to tell. */
	pf = fail_get(r->current);
	cf = fail_get(a);
	if (pf == NULL || cf == NULL)
		return -ENOMEM;
	if ((link && (peers_reserve(&pf->links, 1) < 0 || peers_reserve(&cf->links, 1) < 0)) ||
	    (mon && (peers_reserve(&pf->monitors, 1) < 0 || peers_reserve(&cf->watchers, 1) < 0)))
		return -ENOMEM;
	return 0;
}

void atoll__fail_spawn_commit(struct atoll_ctx *r, struct atoll__actor *a,
			      const struct atoll_spawn_opts *opts)
{
	struct atoll__actor *parent = r->current;

	if (opts->flags & ATOLL_SPAWN_LINK) {
		peers_push(&parent->fail->links, a->ref, 0, parent->ref);
		peers_push(&a->fail->links, parent->ref, 0, a->ref);
	}
	if (opts->monitor != NULL) {
		uint64_t id = atoll__new_id(r);

		peers_push(&parent->fail->monitors, a->ref, id, ATOLL_REF_NONE);
		peers_push(&a->fail->watchers, parent->ref, id, a->ref);
		*opts->monitor = id;
	}
}

int atoll__fail_prewire(struct atoll__actor *watcher, struct atoll__actor *target, atoll_ref as,
			uint64_t id)
{
	struct atoll__fail *wf = fail_get(watcher), *tf = fail_get(target);

	if (wf == NULL || tf == NULL || peers_reserve(&wf->monitors, 1) < 0 ||
	    peers_reserve(&tf->watchers, 1) < 0)
		return -ENOMEM;
	peers_push(&wf->monitors, as, id, ATOLL_REF_NONE);
	peers_push(&tf->watchers, watcher->ref, id, as);
	return 0;
}

/* --- the public API -------------------------------------------------------- */

void atoll_fail(atoll_ctx *ctx, int code, const char *fmt, ...)
{
	struct atoll__actor *a = ctx->current;
	char text[ATOLL_FAIL_TEXT_MAX];
	va_list ap;

	if (a == NULL || (a->flags & ATOLL__ACTOR_FAILED))
		return;
	text[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(text, sizeof(text), fmt, ap);
		va_end(ap);
	}
	atoll__fail_set(a, code, text);
	a->flags |= ATOLL__ACTOR_STOPPING;
	atoll__log_debug("actor '%s' on reactor %u failed: %d (%s)", a->type->name, ctx->index,
			 code, text);
}

/* The calling actor, if target is a ref it may watch or link to. */
static struct atoll__actor *caller_for(atoll_ctx *ctx, atoll_ref target)
{
	struct atoll__actor *a = ctx->current;

	if (a == NULL || target == a->ref || target == ATOLL_REF_NONE ||
	    atoll_ref_core(target) >= ctx->ncores)
		return NULL;
	return a;
}

int atoll_monitor(atoll_ctx *ctx, atoll_ref target, uint64_t *monitor)
{
	struct atoll__actor *a = caller_for(ctx, target);
	struct atoll__fail *f;
	uint64_t id;
	int err;

	if (a == NULL)
		return -EINVAL;
	f = fail_get(a);
	if (f == NULL || peers_reserve(&f->monitors, 1) < 0)
		return -ENOMEM;
	id = atoll__new_id(ctx);
	peers_push(&f->monitors, target, id, ATOLL_REF_NONE);
	if (monitor != NULL)
		*monitor = id;
	/* On this core the request is handled before atoll_send returns (a
	 * stopped target answers with DOWN at once); on another, on arrival. */
	err = send_peer(ctx, ATOLL_MSG_MONITOR, target, a->ref, id);
	if (err == -ENOMEM) {
		peers_del(&a->fail->monitors, (int)a->fail->monitors.n - 1);
		return err;
	}
	return 0;
}

int atoll_demonitor(atoll_ctx *ctx, uint64_t monitor)
{
	struct atoll__actor *a = ctx->current;
	atoll_ref target;
	int i;

	if (a == NULL || a->fail == NULL || monitor == 0 ||
	    (i = peers_find(&a->fail->monitors, ATOLL_REF_NONE, monitor)) < 0)
		return -ENOENT;
	target = a->fail->monitors.v[i].ref;
	peers_del(&a->fail->monitors, i);
	/* Best effort: if this is lost, the target's DOWN is filtered here. */
	(void)send_peer(ctx, ATOLL_MSG_DEMONITOR, target, a->ref, monitor);
	return 0;
}

int atoll_link(atoll_ctx *ctx, atoll_ref other)
{
	struct atoll__actor *a = caller_for(ctx, other);
	struct atoll__fail *f;
	int err;

	if (a == NULL)
		return -EINVAL;
	if (atoll__table_get(&ctx->rt->reactors[atoll_ref_core(other)]->table, other) == NULL)
		return -ESRCH; /* Racy across cores: the arrival check catches the rest. */
	f = fail_get(a);
	if (f == NULL || peers_reserve(&f->links, 1) < 0)
		return -ENOMEM;
	if (peers_find(&f->links, other, 0) >= 0)
		return 0;
	peers_push(&f->links, other, 0, a->ref);
	err = send_peer(ctx, ATOLL_MSG_LINK, other, a->ref, 0);
	if (err == -ENOMEM) {
		peers_del(&a->fail->links, (int)a->fail->links.n - 1);
		return err;
	}
	return 0;
}

int atoll_unlink(atoll_ctx *ctx, atoll_ref other)
{
	struct atoll__actor *a = ctx->current;
	int i;

	if (a == NULL || a->fail == NULL || (i = peers_find(&a->fail->links, other, 0)) < 0)
		return -ENOENT;
	peers_del(&a->fail->links, i);
	(void)send_peer(ctx, ATOLL_MSG_UNLINK, other, a->ref, 0);
	return 0;
}

int atoll_trap_exit(atoll_ctx *ctx, bool on)
{
	struct atoll__fail *f;

	if (ctx->current == NULL)
		return -EINVAL;
	f = fail_get(ctx->current);
	if (f == NULL)
		return -ENOMEM;
	f->trap_exit = on;
	return 0;
}

const struct atoll_down *atoll_down_of(const atoll_msg *msg)
{
	if (msg == NULL || (msg->type != ATOLL_MSG_DOWN && msg->type != ATOLL_MSG_EXIT) ||
	    msg->len != sizeof(struct atoll_down))
		return NULL;
	return msg->data;
}

struct atoll_rejected *atoll_rejected_of(atoll_msg *msg)
{
	if (msg == NULL || msg->type != ATOLL_MSG_REJECTED ||
	    msg->len != sizeof(struct atoll_rejected))
		return NULL;
	return msg->data;
}

void atoll_count_restart(atoll_ctx *ctx)
{
	ATOLL__STAT_INC(ctx, restarts);
}
