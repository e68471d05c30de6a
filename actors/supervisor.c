/*
 * supervisor.c - the supervisor actor (see supervisor.h): child specs,
 * Erlang's restart strategies and policies, and a restart intensity limit.
 *
 * It watches each child with a monitor taken at spawn (atoll_spawn_opts), so
 * even an init failure on another core comes back as a DOWN. Invariants: a
 * child's ref is ATOLL_REF_NONE exactly when the supervisor holds no monitor
 * on it; during a group restart (ONE_FOR_ALL, REST_FOR_ONE) `pending` counts
 * the DOWNs still awaited from children it stopped, and nothing is started
 * until it reaches 0, so an old and a new instance of a child never run at
 * once under the same name.
 */
#include "supervisor.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct child {
	struct atoll_supervisor_child spec;
	char name[ATOLL_NAME_MAX + 1]; /* "" when not registered */
	atoll_ref ref;                 /* ATOLL_REF_NONE when not running */
	uint64_t monitor;
	bool stopping;                   /* stopped by the supervisor, DOWN awaited */
	bool restart;                    /* start again when the group restart runs */
	char label[ATOLL_NAME_MAX + 16]; /* for log lines: name, group.i or type */
};

struct supervisor {
	enum atoll_supervisor_strategy strategy;
	unsigned max_restarts;
	uint64_t window_ns;
	struct child *kids;
	unsigned n;
	uint64_t *restarts; /* ring of the last max_restarts + 1 restart times */
	unsigned nrestarts, next_restart;
	unsigned pending; /* DOWNs awaited before a group restart or shutdown */
	bool shutting_down;
	bool giving_up; /* too many restarts: stopping the children, then fail */
};

/* The ref the registry names a child by: its alias when it has one (stable
 * across restarts), else the current incarnation's. */
static atoll_ref visible_ref(const struct child *c)
{
	return c->spec.opts.alias != ATOLL_REF_NONE ? c->spec.opts.alias : c->ref;
}

/* Stops the registry from naming child c (if it still names it). */
static void unname(atoll_ctx *ctx, struct child *c)
{
	atoll_ref cur;

	if (c->name[0] == '\0')
		return;
	if (atoll_lookup(atoll_runtime_of(ctx), c->name, &cur) == 0 && cur == visible_ref(c))
		(void)atoll_unregister(atoll_runtime_of(ctx), c->name);
}

/* Starts child c. Returns 0 or a spawn error (-ENOMEM, -EAGAIN, -EINVAL). */
static int start(atoll_ctx *ctx, struct child *c)
{
	struct atoll_spawn_opts opts = c->spec.opts;
	int err;

	opts.flags = 0;
	opts.monitor = &c->monitor;
	err = atoll_spawn_opts(ctx, c->spec.type, c->spec.arg, c->spec.where, &opts, &c->ref);
	if (err < 0) {
		c->ref = ATOLL_REF_NONE;
		return err;
	}
	c->restart = false;
	if (c->name[0] != '\0') {
		(void)atoll_unregister(atoll_runtime_of(ctx), c->name); /* a stale entry */
		(void)atoll_register(atoll_runtime_of(ctx), c->name, visible_ref(c));
	}
	return 0;
}

/* Asks child c to stop; its DOWN is then awaited. */
static void stop_child(atoll_ctx *ctx, struct supervisor *s, struct child *c)
{
	if (c->ref == ATOLL_REF_NONE || c->stopping)
		return;
	c->stopping = true;
	s->pending++;
	/* -ESRCH: it is gone already and its DOWN is on its way. */
	(void)atoll_stop(ctx, c->ref);
}

/* Records a restart now; returns false when that exceeds the intensity. */
static bool may_restart(struct supervisor *s)
{
	uint64_t now = atoll_now_ns();
	unsigned cap = s->max_restarts + 1;

	s->restarts[s->next_restart] = now;
	s->next_restart = (s->next_restart + 1) % cap;
	if (s->nrestarts < cap)
		s->nrestarts++;
	/* The oldest of the last max_restarts + 1 restarts is in the window:
	 * too many. */
	return s->nrestarts < cap || now - s->restarts[s->next_restart] > s->window_ns;
}

/* Fails the supervisor once no child of its runs any more. */
static void fail_if_done(atoll_ctx *ctx, struct supervisor *s)
{
	if (s->pending != 0)
		return;
	atoll_fail(ctx, ATOLL_SUPERVISOR_GAVE_UP, "supervisor: more than %u restarts in %llu ms",
		   s->max_restarts, (unsigned long long)(s->window_ns / 1000000u));
}

/*
 * Too many restarts: as in Erlang, the supervisor stops its children
 * (reverse start order) and waits for each one's DOWN before it fails, so
 * whoever restarts it never finds an old child still running (or still
 * holding its alias).
 */
static void give_up(atoll_ctx *ctx, struct supervisor *s)
{
	s->giving_up = true;
	for (unsigned i = s->n; i-- > 0;) {
		s->kids[i].restart = false;
		stop_child(ctx, s, &s->kids[i]);
	}
	fail_if_done(ctx, s);
}

/* Starts every child marked for restart, in start order. */
static void restart_marked(atoll_ctx *ctx, struct supervisor *s)
{
	for (unsigned i = 0; i < s->n; i++) {
		struct child *c = &s->kids[i];

		if (!c->restart || c->ref != ATOLL_REF_NONE)
			continue;
		if (start(ctx, c) < 0) {
			atoll_fail(ctx, -ECHILD, "supervisor: cannot restart child %u", i);
			return;
		}
		atoll_count_restart(ctx);
	}
}

static bool wants_restart(const struct child *c, int reason)
{
	switch (c->spec.restart) {
	case ATOLL_SUPERVISOR_PERMANENT:
		return true;
	case ATOLL_SUPERVISOR_TRANSIENT:
		return reason != ATOLL_EXIT_NORMAL;
	default:
		return false;
	}
}

/* Stops the next running child from the end, or the supervisor itself. */
static void shutdown_step(atoll_ctx *ctx, struct supervisor *s)
{
	for (unsigned i = s->n; i-- > 0;) {
		if (s->kids[i].ref != ATOLL_REF_NONE) {
			stop_child(ctx, s, &s->kids[i]);
			return;
		}
	}
	atoll_stop(ctx, atoll_self(ctx));
}

static void on_down(atoll_ctx *ctx, struct supervisor *s, const struct atoll_down *d)
{
	struct child *c = NULL;
	unsigned i;

	for (i = 0; i < s->n; i++) {
		if (s->kids[i].ref != ATOLL_REF_NONE && s->kids[i].monitor == d->monitor) {
			c = &s->kids[i];
			break;
		}
	}
	if (c == NULL)
		return;
	unname(ctx, c);
	c->ref = ATOLL_REF_NONE;
	if (c->stopping) {
		c->stopping = false;
		s->pending--;
		if (s->giving_up)
			fail_if_done(ctx, s);
		else if (s->shutting_down)
			shutdown_step(ctx, s);
		else if (s->pending == 0)
			restart_marked(ctx, s);
		return;
	}
	if (s->giving_up)
		return;
	if (s->shutting_down) {
		shutdown_step(ctx, s);
		return;
	}
	if (d->reason == ATOLL_EXIT_FAILED)
		atoll__log_warn("supervisor: child %s failed (%d: %s)%s", c->label, d->code,
				d->text,
				wants_restart(c, d->reason) ? "" : "; not restarted (temporary)");
	if (!wants_restart(c, d->reason))
		return;
	if (!may_restart(s)) {
		atoll__log_error("supervisor: more than %u restarts of its children in %llu ms: "
				 "giving up",
				 s->max_restarts, (unsigned long long)(s->window_ns / 1000000u));
		give_up(ctx, s);
		return;
	}
	c->restart = true;
	if (s->strategy != ATOLL_SUPERVISOR_ONE_FOR_ONE) {
		unsigned from = s->strategy == ATOLL_SUPERVISOR_ONE_FOR_ALL ? 0 : i + 1;

		/* Reverse start order; temporary children are not restarted. */
		for (unsigned j = s->n; j-- > from;) {
			struct child *o = &s->kids[j];

			if (o == c || o->ref == ATOLL_REF_NONE)
				continue;
			o->restart = o->spec.restart != ATOLL_SUPERVISOR_TEMPORARY;
			stop_child(ctx, s, o);
		}
	}
	if (s->pending == 0)
		restart_marked(ctx, s);
}

static void on_which(atoll_ctx *ctx, struct supervisor *s, const atoll_msg *msg)
{
	atoll_ref ref = ATOLL_REF_NONE;
	atoll_msg *reply;

	for (unsigned i = 0; i < s->n; i++) {
		const char *name = s->kids[i].spec.name;

		if (name != NULL && strlen(name) == msg->len &&
		    memcmp(name, msg->data, msg->len) == 0)
			ref = s->kids[i].ref;
	}
	reply = atoll_msg_new_copy(ATOLL_SUPERVISOR_CHILD, &ref, sizeof(ref));
	if (reply != NULL)
		(void)atoll_reply(ctx, msg, reply);
}

static void supervisor_free(struct supervisor *s)
{
	free(s->kids);
	free(s->restarts);
	s->kids = NULL;
	s->restarts = NULL;
}

/* Sets s up for n children (their specs filled in by the caller). Returns
 * 0, -EINVAL or -ENOMEM. */
static int setup(struct supervisor *s, unsigned strategy, unsigned max_restarts, uint64_t window_ns,
		 size_t n)
{
	if (n > ATOLL_SUPERVISOR_MAX_CHILDREN || strategy > ATOLL_SUPERVISOR_REST_FOR_ONE)
		return -EINVAL;
	s->strategy = (enum atoll_supervisor_strategy)strategy;
	s->max_restarts = max_restarts != 0 ? max_restarts : 3;
	s->window_ns = window_ns != 0 ? window_ns : 5000000000ull;
	s->n = (unsigned)n;
	s->kids = calloc(s->n != 0 ? s->n : 1, sizeof(*s->kids));
	s->restarts = calloc(s->max_restarts + 1, sizeof(*s->restarts));
	if (s->kids == NULL || s->restarts == NULL) {
		supervisor_free(s);
		return -ENOMEM;
	}
	return 0;
}

/* Starts, in order, every child that is not running yet (a topology's
 * children run already). On an error, stops the children started so far
 * and frees s. Returns 0 or the spawn error. */
static int start_all(atoll_ctx *ctx, struct supervisor *s)
{
	for (unsigned i = 0; i < s->n; i++) {
		int err = s->kids[i].ref != ATOLL_REF_NONE ? 0 : start(ctx, &s->kids[i]);

		if (err < 0) {
			for (unsigned j = i; j-- > 0;) {
				unname(ctx, &s->kids[j]);
				(void)atoll_demonitor(ctx, s->kids[j].monitor);
				(void)atoll_stop(ctx, s->kids[j].ref);
			}
			supervisor_free(s);
			return err;
		}
	}
	return 0;
}

static int supervisor_init(atoll_ctx *ctx, void *state, const void *arg)
{
	const struct atoll_supervisor_spec *spec = arg;
	struct supervisor *s = state;
	int err;

	if (spec == NULL || (spec->nchildren != 0 && spec->children == NULL))
		return -EINVAL;
	err = setup(s, (unsigned)spec->strategy, spec->max_restarts, spec->window_ns,
		    spec->nchildren);
	if (err < 0)
		return err;
	for (unsigned i = 0; i < s->n; i++) {
		const struct atoll_supervisor_child *cs = &spec->children[i];
		struct child *c = &s->kids[i];

		if (cs->type == NULL || (unsigned)cs->restart > ATOLL_SUPERVISOR_TEMPORARY ||
		    (cs->name != NULL && strlen(cs->name) > ATOLL_NAME_MAX)) {
			supervisor_free(s);
			return -EINVAL;
		}
		c->spec = *cs;
		if (cs->name != NULL)
			strcpy(c->name, cs->name);
		c->spec.name = c->name[0] != '\0' ? c->name : NULL;
		snprintf(c->label, sizeof(c->label), "%s",
			 c->spec.name != NULL ? c->spec.name : cs->type->name);
	}
	return start_all(ctx, s);
}

/*
 * A supervisor started from a topology: its children are the members of
 * the groups that name its group in `supervisor =`, each under its alias.
 * The first incarnation adopts the children the topology launched (it
 * monitors them from before they ran); a restarted one starts them anew.
 */
static int supervisor_init_params(atoll_ctx *ctx, void *state, const void *arg)
{
	const struct atoll_params *p = arg;
	const struct atoll_params_child *kids;
	struct supervisor *s = state;
	size_t n = atoll_params_children(p, &kids);
	int err = setup(s, (unsigned)atoll_params_int(p, "strategy"),
			(unsigned)atoll_params_int(p, "max_restarts"),
			(uint64_t)atoll_params_int(p, "window"), n);

	if (err < 0)
		return err;
	for (unsigned i = 0; i < s->n; i++) {
		struct child *c = &s->kids[i];

		c->spec.type = kids[i].type;
		c->spec.arg = kids[i].params;
		c->spec.where = (int)kids[i].core;
		c->spec.restart = (enum atoll_supervisor_restart)kids[i].restart;
		c->spec.opts.alias = kids[i].alias;
		c->spec.opts.mailbox_limit = kids[i].mailbox_limit;
		c->spec.opts.overflow = (enum atoll_overflow)kids[i].overflow;
		snprintf(c->label, sizeof(c->label), "%.*s.%u", ATOLL_NAME_MAX,
			 kids[i].group != NULL ? kids[i].group : kids[i].type->name, kids[i].index);
		if (kids[i].first != ATOLL_REF_NONE) {
			c->ref = kids[i].first;
			c->monitor = kids[i].monitor;
		}
	}
	return start_all(ctx, s);
}

static void supervisor_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct supervisor *s = state;

	switch (msg->type) {
	case ATOLL_MSG_DOWN:
		if (atoll_down_of(msg) != NULL)
			on_down(ctx, s, atoll_down_of(msg));
		break;
	case ATOLL_SUPERVISOR_WHICH_CHILD:
		on_which(ctx, s, msg);
		break;
	case ATOLL_SUPERVISOR_SHUTDOWN:
		if (!s->shutting_down && !s->giving_up) {
			s->shutting_down = true;
			if (s->pending == 0)
				shutdown_step(ctx, s);
		}
		break;
	default:
		break;
	}
}

/* Children still running are asked to stop, in reverse start order. */
static void supervisor_stop(atoll_ctx *ctx, void *state)
{
	struct supervisor *s = state;

	for (unsigned i = s->n; i-- > 0;) {
		struct child *c = &s->kids[i];

		if (c->ref == ATOLL_REF_NONE)
			continue;
		unname(ctx, c);
		(void)atoll_demonitor(ctx, c->monitor);
		if (!c->stopping)
			(void)atoll_stop(ctx, c->ref);
		c->ref = ATOLL_REF_NONE;
	}
	supervisor_free(s);
}

const struct atoll_actor_type atoll_supervisor_type = {
	.name = "supervisor",
	.state_size = sizeof(struct supervisor),
	.init = supervisor_init,
	.receive = supervisor_receive,
	.stop = supervisor_stop,
};

/* --- from a topology file --------------------------------------------------- */

/* The same actor with a topology's parameters as its init argument. */
static const struct atoll_actor_type supervisor_params_type = {
	.name = "supervisor",
	.state_size = sizeof(struct supervisor),
	.init = supervisor_init_params,
	.receive = supervisor_receive,
	.stop = supervisor_stop,
};

static const struct atoll_param_spec supervisor_params[] = {
	{ "strategy", ATOLL_PARAM_ENUM, "one_for_one", 0, 0, "one_for_one|one_for_all|rest_for_one",
	  "which children a failure restarts: it alone, all, or it and those after it", 0 },
	{ "max_restarts", ATOLL_PARAM_INT, "3", 1, 1000000, NULL,
	  "restarts allowed within window; one more and the supervisor gives up", 0 },
	{ "window", ATOLL_PARAM_DURATION, "5s", 1000000, 0, NULL, "the restart intensity window",
	  0 },
	{ 0 },
};

static const struct atoll_msg_spec supervisor_accepts[] = {
	{ ATOLL_SUPERVISOR_WHICH_CHILD, "WHICH_CHILD",
	  "ask: a child's name; answered by CHILD with its ref" },
	{ ATOLL_SUPERVISOR_SHUTDOWN, "SHUTDOWN", "stop the children last first, then itself" },
	{ 0 },
};

static const struct atoll_msg_spec supervisor_sends[] = {
	{ ATOLL_SUPERVISOR_CHILD, "CHILD", "the answer to WHICH_CHILD" },
	{ 0 },
};

const struct atoll_type_info atoll_supervisor_info = {
	.type = &supervisor_params_type,
	.summary = "starts the groups that name it in 'supervisor =' and restarts them by "
		   "Erlang's rules; their refs stay the same across restarts",
	.params = supervisor_params,
	.accepts = supervisor_accepts,
	.sends = supervisor_sends,
	.flags = ATOLL_TYPE_SINGLETON | ATOLL_TYPE_SUPERVISOR,
};
