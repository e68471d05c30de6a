/*
 * topology_supervise.c - supervision in a topology file: `supervisor =
 * GROUP` and `restart = permanent|transient|temporary` in a group hand its
 * members to the supervisor group it names (a type with
 * ATOLL_TYPE_SUPERVISOR), which starts, watches and restarts them.
 *
 * Invariants: supervision is a forest (no group supervises itself, even
 * through others); every supervisor group has at least one child group and
 * one member; a supervised member is known to everyone by an alias, so the
 * refs links resolved to stay good across its restarts.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology.h"

static int say(char *msg, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int say(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool is_supervisor(const struct atoll__topo_group *g)
{
	return (g->info->flags & ATOLL_TYPE_SUPERVISOR) != 0;
}

/* Writes "a -> b -> ... -> a", the supervision chain from group i back to
 * itself, into buf. */
static void chain_text(const struct atoll_topology *t, size_t i, char *buf, size_t len)
{
	size_t used = 0;
	long g = (long)i;

	buf[0] = '\0';
	for (size_t step = 0; step <= t->ngroups && used < len; step++) {
		int w = snprintf(buf + used, len - used, "%s%s", step ? " -> " : "",
				 t->groups[g].name);

		if (w < 0)
			return;
		used += (size_t)w;
		if (step > 0 && (size_t)g == i)
			return;
		g = t->groups[g].supervisor;
	}
}

int atoll__topology_check_supervision(struct atoll_topology *t, int *line, char *msg, size_t msglen)
{
	for (size_t i = 0; i < t->ngroups; i++) {
		struct atoll__topo_group *g = &t->groups[i];
		long s = -1;

		if (g->sup_name == NULL) {
			if (g->restart_line != 0) {
				*line = g->restart_line;
				return say(msg, msglen,
					   "[%s] restart: only for a supervised group (add "
					   "supervisor = GROUP)",
					   g->name);
			}
			continue;
		}
		*line = g->sup_line;
		for (size_t j = 0; j < t->ngroups && s < 0; j++)
			if (strcmp(t->groups[j].name, g->sup_name) == 0)
				s = (long)j;
		if (s < 0)
			return say(msg, msglen, "[%s] supervisor: no group named '%s'", g->name,
				   g->sup_name);
		if ((size_t)s == i)
			return say(msg, msglen, "[%s] supervisor: a group cannot supervise itself",
				   g->name);
		if (!is_supervisor(&t->groups[s]))
			return say(msg, msglen,
				   "[%s] supervisor: [%s] is a %s, not a supervisor (its type "
				   "must be one, e.g. type = supervisor)",
				   g->name, t->groups[s].name, t->groups[s].info->type->name);
		g->supervisor = s;
	}
	/* A chain of supervisors longer than the number of groups loops. */
	for (size_t i = 0; i < t->ngroups; i++) {
		long g = t->groups[i].supervisor;

		for (size_t step = 0; g >= 0 && step < t->ngroups; step++) {
			if ((size_t)g == i) {
				char chain[256];

				chain_text(t, i, chain, sizeof(chain));
				*line = t->groups[i].sup_line;
				return say(msg, msglen,
					   "[%s] supervisor: the supervision makes a cycle %s",
					   t->groups[i].name, chain);
			}
			g = t->groups[g].supervisor;
		}
	}
	for (size_t i = 0; i < t->ngroups; i++) {
		bool has_child = false;

		if (!is_supervisor(&t->groups[i]))
			continue;
		for (size_t j = 0; j < t->ngroups && !has_child; j++)
			has_child = t->groups[j].supervisor == (long)i;
		if (!has_child) {
			*line = t->groups[i].line;
			return say(msg, msglen,
				   "[%s] supervises no group (add supervisor = %s to the groups "
				   "it restarts)",
				   t->groups[i].name, t->groups[i].name);
		}
	}
	return 0;
}

/* The members of the groups supervisor group si supervises (after place). */
static size_t count_children(const struct atoll_topology *t, size_t si)
{
	size_t n = 0;

	for (size_t j = 0; j < t->ngroups; j++)
		if (t->groups[j].supervisor == (long)si)
			n += t->groups[j].members;
	return n;
}

int atoll__topology_place_supervision(struct atoll_topology *t, char *err, size_t errlen)
{
	for (size_t i = 0; i < t->ngroups; i++) {
		const struct atoll__topo_group *s = &t->groups[i];
		size_t n;

		if (!is_supervisor(s))
			continue;
		n = count_children(t, i);
		if (s->members != 1 || n > ATOLL_PARAMS_MAX_CHILDREN) {
			snprintf(err, errlen,
				 s->members != 1 ? "%s:%d: [%s] a supervisor group has one member"
						 : "%s:%d: [%s] supervises %zu actors, more "
						   "than %u",
				 t->file, s->line, s->name, n, ATOLL_PARAMS_MAX_CHILDREN);
			return -EINVAL;
		}
	}
	return 0;
}

/* Fills kids with the children of supervisor group si, in file order. */
static size_t collect(const struct atoll_topology *t, size_t si, struct atoll_params_child *kids)
{
	size_t n = 0;

	for (size_t j = 0; j < t->ngroups; j++) {
		const struct atoll__topo_group *c = &t->groups[j];

		if (c->supervisor != (long)si)
			continue;
		for (unsigned m = 0; m < c->members; m++, n++) {
			kids[n] = (struct atoll_params_child){
				.type = c->info->type,
				/* A supervisor child restarts with its own
				 * children started anew, not adopted. */
				.params = is_supervisor(c) ? c->restart_params[m] : c->params[m],
				.core = c->member_core[m],
				.alias = c->refs[m],
				.restart = c->restart,
				.mailbox_limit = c->mailbox_limit,
				.overflow = c->overflow,
				.first = c->first[m],
				.monitor = c->monitors[m],
				.group = c->name,
				.index = m,
			};
		}
	}
	return n;
}

int atoll__topology_set_children(struct atoll_topology *t)
{
	/* Every supervisor's restart parameters first: the children lists of
	 * the supervisors above them point at them. */
	for (size_t i = 0; i < t->ngroups; i++) {
		struct atoll__topo_group *s = &t->groups[i];

		if (!is_supervisor(s))
			continue;
		s->restart_params = calloc(s->members, sizeof(*s->restart_params));
		if (s->restart_params == NULL)
			return -ENOMEM;
		for (unsigned m = 0; m < s->members; m++)
			if ((s->restart_params[m] = atoll_params_dup(s->params[m])) == NULL)
				return -ENOMEM;
	}
	for (size_t i = 0; i < t->ngroups; i++) {
		struct atoll__topo_group *s = &t->groups[i];
		struct atoll_params_child *kids;
		size_t n;
		int rc;

		if (!is_supervisor(s))
			continue;
		/* At least one child (check_supervision), at most the limit
		 * (place_supervision). */
		kids = calloc(count_children(t, i), sizeof(*kids));
		if (kids == NULL)
			return -ENOMEM;
		n = collect(t, i, kids);
		rc = atoll_params_set_children(s->params[0], kids, n);
		/* A restarted supervisor adopts nobody: its children are gone. */
		for (size_t k = 0; k < n; k++) {
			kids[k].first = ATOLL_REF_NONE;
			kids[k].monitor = 0;
		}
		if (rc == 0)
			rc = atoll_params_set_children(s->restart_params[0], kids, n);
		free(kids);
		if (rc < 0)
			return rc;
	}
	return 0;
}
