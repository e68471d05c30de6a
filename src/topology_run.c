/*
 * topology_run.c - placing a checked topology on a number of reactors,
 * starting it in a runtime, and printing it (text for --check, Graphviz
 * DOT for --dot).
 *
 * Start is all or nothing: every actor's ref is reserved and every set of
 * parameters is built before the first launch, so a failure discards what
 * was prepared and no init has run. Spread groups share one cursor over the
 * reactors, in file order, so single actors of several groups land on
 * different cores.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reactor.h"
#include "topology.h"

/* A link between groups drawn member by member up to this many edges. */
#define DOT_MAX_EDGES 16u

static void fmt_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fmt_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void atoll__topology_unplace(struct atoll__topo_group *g)
{
	for (unsigned i = 0; g->params != NULL && i < g->members; i++)
		atoll_params_free(g->params[i]);
	for (unsigned i = 0; g->restart_params != NULL && i < g->members; i++)
		atoll_params_free(g->restart_params[i]);
	free(g->params);
	free(g->restart_params);
	free(g->member_core);
	free(g->refs);
	free(g->first);
	free(g->monitors);
	g->params = NULL;
	g->restart_params = NULL;
	g->member_core = NULL;
	g->refs = NULL;
	g->first = NULL;
	g->monitors = NULL;
	g->members = 0;
}

int atoll_topology_place(struct atoll_topology *t, unsigned reactors, char *err, size_t errlen)
{
	unsigned cursor = 0;

	if (t == NULL || reactors == 0 || reactors > ATOLL_MAX_REACTORS || t->started) {
		fmt_err(err, errlen, "%s: cannot place on %u reactors%s",
			t != NULL ? t->file : "topology", reactors,
			t != NULL && t->started ? " (already started)" : "");
		return -EINVAL;
	}
	for (size_t i = 0; i < t->ngroups; i++)
		atoll__topology_unplace(&t->groups[i]);
	t->reactors = 0;
	for (size_t i = 0; i < t->ngroups; i++) {
		struct atoll__topo_group *g = &t->groups[i];
		unsigned n = g->count != 0 ? g->count : 1;

		if (g->placement == ATOLL__PLACE_EACH)
			n = reactors;
		for (size_t c = 0; c < g->ncores; c++) {
			if (g->cores[c] >= reactors) {
				fmt_err(err, errlen,
					"%s:%d: [%s] core %u is beyond the %u reactor%s (0-%u)",
					t->file, g->place_line, g->name, g->cores[c], reactors,
					reactors == 1 ? "" : "s", reactors - 1);
				return -EINVAL;
			}
		}
		if ((g->info->flags & ATOLL_TYPE_SINGLETON) && n > 1) {
			fmt_err(err, errlen,
				"%s:%d: [%s] placement = each: type %s allows one actor per group",
				t->file, g->place_line, g->name, g->info->type->name);
			return -EINVAL;
		}
		g->member_core = calloc(n, sizeof(*g->member_core));
		g->refs = calloc(n, sizeof(*g->refs));
		g->params = calloc(n, sizeof(*g->params));
		g->first = calloc(n, sizeof(*g->first));
		g->monitors = calloc(n, sizeof(*g->monitors));
		if (g->member_core == NULL || g->refs == NULL || g->params == NULL ||
		    g->first == NULL || g->monitors == NULL) {
			atoll__topology_unplace(g);
			fmt_err(err, errlen, "%s: out of memory", t->file);
			return -ENOMEM;
		}
		g->members = n;
		for (unsigned m = 0; m < n; m++) {
			switch (g->placement) {
			case ATOLL__PLACE_EACH:
				g->member_core[m] = m;
				break;
			case ATOLL__PLACE_CORES:
				g->member_core[m] = g->cores[m % g->ncores];
				break;
			case ATOLL__PLACE_SPREAD:
			default:
				g->member_core[m] = cursor++ % reactors;
				break;
			}
		}
	}
	if (atoll__topology_place_supervision(t, err, errlen) < 0)
		return -EINVAL;
	t->reactors = reactors;
	return 0;
}

size_t atoll_topology_actors(const struct atoll_topology *t)
{
	size_t n = 0;

	for (size_t i = 0; t != NULL && i < t->ngroups; i++)
		n += t->groups[i].members;
	return n;
}

int atoll_topology_group(const struct atoll_topology *t, const char *name, const unsigned **cores,
			 const atoll_ref **refs)
{
	for (size_t i = 0; t != NULL && name != NULL && i < t->ngroups; i++) {
		const struct atoll__topo_group *g = &t->groups[i];

		if (strcmp(g->name, name) != 0)
			continue;
		if (cores != NULL)
			*cores = g->member_core;
		if (refs != NULL)
			*refs = g->refs;
		return (int)g->members;
	}
	return -ENOENT;
}

/* --- start -------------------------------------------------------------------- */

/* Builds the parameters of member m of g, with its group and links. */
static int build_params(struct atoll_topology *t, struct atoll__topo_group *g, unsigned m)
{
	struct atoll_params *p = atoll_params_dup(g->proto);
	int rc;

	if (p == NULL)
		return -ENOMEM;
	rc = atoll_params_set_group(p, g->name, g->refs, g->members, m);
	for (size_t l = 0; rc == 0 && l < g->nlinks; l++) {
		const struct atoll__topo_group *to = &t->groups[g->links[l].target];

		rc = atoll_params_set_link(p, g->links[l].param, to->refs, to->members);
	}
	if (rc < 0) {
		atoll_params_free(p);
		return rc;
	}
	g->params[m] = p;
	return 0;
}

static void unregister_names(struct atoll_topology *t, atoll_runtime *rt, size_t upto)
{
	char name[ATOLL_NAME_MAX + 1];

	for (size_t i = 0; i < upto; i++) {
		const struct atoll__topo_group *g = &t->groups[i];

		if (g->reg == NULL)
			continue;
		if (g->members == 1) {
			(void)atoll_unregister(rt, g->reg);
			continue;
		}
		for (unsigned m = 0; m < g->members; m++) {
			snprintf(name, sizeof(name), "%s.%u", g->reg, m);
			(void)atoll_unregister(rt, name);
		}
	}
}

/* Registers g's members: "name", or "name.i" when it has several. */
static int register_group(struct atoll_topology *t, atoll_runtime *rt,
			  const struct atoll__topo_group *g, char *err, size_t errlen)
{
	char name[ATOLL_NAME_MAX + 1];

	for (unsigned m = 0; g->reg != NULL && m < g->members; m++) {
		int rc;

		if (g->members == 1)
			snprintf(name, sizeof(name), "%s", g->reg);
		else
			snprintf(name, sizeof(name), "%s.%u", g->reg, m);
		rc = atoll_register(rt, name, g->refs[m]);
		if (rc < 0) {
			for (unsigned k = 0; k < m; k++) {
				snprintf(name, sizeof(name), "%s.%u", g->reg, k);
				(void)atoll_unregister(rt, name);
			}
			fmt_err(err, errlen, "%s:%d: [%s] register: cannot register '%s': %s",
				t->file, g->reg_line, g->name, name,
				rc == -EEXIST ? "the name is taken" : atoll_strerror(rc));
			return rc;
		}
	}
	return 0;
}

/* Phase 1 for member m of g: its ref (an alias when it is supervised, with
 * a first incarnation prepared under it) and its prepared actor. */
static int prepare_member(struct atoll_topology *t, atoll_runtime *rt, struct atoll__topo_group *g,
			  unsigned m, struct atoll_pending **pending, char *err, size_t errlen)
{
	struct atoll_spawn_opts opts = {
		.mailbox_limit = g->mailbox_limit,
		.overflow = (enum atoll_overflow)g->overflow,
		.alias = ATOLL_REF_NONE,
	};
	int core = (int)g->member_core[m];
	int rc;

	if (g->supervisor < 0) {
		rc = atoll_runtime_prepare_opts(rt, g->info->type, core, &opts, &g->refs[m],
						pending);
	} else {
		rc = atoll_runtime_alias_new(rt, core, &opts.alias);
		if (rc == 0)
			rc = atoll_runtime_prepare_opts(rt, g->info->type, core, &opts,
							&g->first[m], pending);
		g->refs[m] = rc == 0 ? opts.alias : ATOLL_REF_NONE;
	}
	if (rc < 0)
		fmt_err(err, errlen, "%s:%d: [%s] cannot create actor %u on core %u: %s", t->file,
			g->line, g->name, m, g->member_core[m], atoll_strerror(rc));
	return rc;
}

/* Phase 1b: each supervised member is monitored by its supervisor, every
 * other one by the watcher, from before any of them runs. pending holds
 * every member's prepared actor in file order; watch is the watcher's. */
static int wire_monitors(struct atoll_topology *t, atoll_runtime *rt,
			 struct atoll_pending **pending, struct atoll_pending *watch)
{
	size_t *first_index = calloc(t->ngroups, sizeof(*first_index));
	size_t k = 0;
	int rc = 0;

	if (first_index == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < t->ngroups; i++) {
		first_index[i] = k;
		k += t->groups[i].members;
	}
	k = 0;
	for (size_t i = 0; i < t->ngroups && rc == 0; i++) {
		struct atoll__topo_group *g = &t->groups[i];

		for (unsigned m = 0; m < g->members && rc == 0; m++, k++) {
			uint64_t id;

			if (g->supervisor >= 0) {
				/* A supervisor group has one member (place). */
				rc = atoll__pending_monitor(rt, pending[first_index[g->supervisor]],
							    pending[k], g->refs[m],
							    &g->monitors[m]);
				continue;
			}
			rc = atoll__pending_monitor(rt, watch, pending[k], g->refs[m], &id);
			if (rc == 0)
				rc = atoll__topology_watch_add(t, id, i, m);
		}
	}
	free(first_index);
	return rc;
}

int atoll_topology_start(struct atoll_topology *t, atoll_runtime *rt, char *err, size_t errlen)
{
	struct atoll_pending **pending, *watch = NULL;
	size_t total = atoll_topology_actors(t), k = 0, registered = 0;
	int rc = 0;

	if (t == NULL || rt == NULL || t->reactors == 0 || t->started ||
	    t->reactors != atoll_runtime_reactors(rt)) {
		fmt_err(err, errlen, "%s: cannot start: %s", t != NULL ? t->file : "topology",
			t == NULL || t->reactors == 0 ? "not placed"
			: t->started                  ? "already started"
						      : "placed for another number of reactors");
		return -EINVAL;
	}
	pending = calloc(total, sizeof(*pending));
	if (pending == NULL) {
		fmt_err(err, errlen, "%s: out of memory", t->file);
		return -ENOMEM;
	}
	/* Phase 1: every ref, before any init can run; then the monitors. */
	rc = atoll__topology_watch_prepare(t, rt, &watch);
	if (rc < 0)
		fmt_err(err, errlen, "%s: cannot start: %s", t->file, atoll_strerror(rc));
	for (size_t i = 0; i < t->ngroups && rc == 0; i++) {
		struct atoll__topo_group *g = &t->groups[i];

		for (unsigned m = 0; m < g->members && rc == 0; m++, k++)
			rc = prepare_member(t, rt, g, m, &pending[k], err, errlen);
	}
	if (rc == 0 && (rc = wire_monitors(t, rt, pending, watch)) < 0)
		fmt_err(err, errlen, "%s: out of memory", t->file);
	/* Phase 2: parameters with the refs, the supervisors' children, and
	 * names. */
	for (size_t i = 0; i < t->ngroups && rc == 0; i++) {
		struct atoll__topo_group *g = &t->groups[i];

		for (unsigned m = 0; m < g->members && rc == 0; m++)
			if ((rc = build_params(t, g, m)) < 0)
				fmt_err(err, errlen, "%s: out of memory", t->file);
	}
	if (rc == 0 && (rc = atoll__topology_set_children(t)) < 0)
		fmt_err(err, errlen, "%s: out of memory", t->file);
	for (size_t i = 0; i < t->ngroups && rc == 0; i++)
		if ((rc = register_group(t, rt, &t->groups[i], err, errlen)) == 0)
			registered = i + 1;
	if (rc < 0) {
		unregister_names(t, rt, registered);
		for (size_t i = 0; i < total; i++)
			atoll_runtime_discard(rt, pending[i]);
		atoll_runtime_discard(rt, watch);
		atoll__topology_watch_free(t);
		for (size_t i = 0; i < t->ngroups; i++) {
			struct atoll__topo_group *g = &t->groups[i];

			for (unsigned m = 0; m < g->members; m++) {
				atoll_params_free(g->params[m]);
				g->params[m] = NULL;
				g->refs[m] = ATOLL_REF_NONE;
				if (g->restart_params != NULL)
					atoll_params_free(g->restart_params[m]);
			}
			/* A later start allocates them anew. */
			free(g->restart_params);
			g->restart_params = NULL;
		}
		free(pending);
		return rc;
	}
	/* Phase 3: launch, the watcher first, then in file order. A launch
	 * fails only when the runtime has stopped meanwhile; the rest are then
	 * freed the same way. */
	rc = atoll_runtime_launch(rt, watch, t->watch);
	if (rc < 0)
		fmt_err(err, errlen, "%s: cannot start: %s", t->file, atoll_strerror(rc));
	k = 0;
	for (size_t i = 0; i < t->ngroups; i++) {
		struct atoll__topo_group *g = &t->groups[i];

		for (unsigned m = 0; m < g->members; m++, k++) {
			int e = atoll_runtime_launch(rt, pending[k], g->params[m]);

			if (e < 0 && rc == 0) {
				rc = e;
				fmt_err(err, errlen, "%s: cannot start [%s]: %s", t->file, g->name,
					atoll_strerror(e));
			}
		}
	}
	free(pending);
	t->started = true;
	return rc;
}

/* --- output ------------------------------------------------------------------- */

static void print_cores(FILE *f, const struct atoll__topo_group *g)
{
	for (unsigned m = 0; m < g->members; m++)
		fprintf(f, "%s%u", m ? "," : "", g->member_core[m]);
}

static const char *const restart_names[] = { "permanent", "transient", "temporary" };
static const char *const overflow_names[] = { "reject", "drop_newest", "drop_oldest" };

int atoll_topology_print(const struct atoll_topology *t, FILE *f)
{
	static const char *const how[] = { "spread", "each", "cores" };

	if (t == NULL || f == NULL || t->reactors == 0)
		return -EINVAL;
	fprintf(f, "topology %s: %zu group%s, %zu actor%s on %u reactor%s\n", t->file, t->ngroups,
		t->ngroups == 1 ? "" : "s", atoll_topology_actors(t),
		atoll_topology_actors(t) == 1 ? "" : "s", t->reactors, t->reactors == 1 ? "" : "s");
	for (size_t i = 0; i < t->ngroups; i++) {
		const struct atoll__topo_group *g = &t->groups[i];

		fprintf(f, "[%s] %s x%u (%s): core%s ", g->name, g->info->type->name, g->members,
			how[g->placement], g->members == 1 ? "" : "s");
		print_cores(f, g);
		if (g->reg != NULL)
			fprintf(f, "; registered as %s%s", g->reg, g->members > 1 ? ".N" : "");
		if (g->mailbox_limit != 0)
			fprintf(f, "; mailbox %u, %s", g->mailbox_limit,
				overflow_names[g->overflow]);
		fputc('\n', f);
		for (size_t l = 0; l < g->nlinks; l++)
			fprintf(f, "  %s -> [%s] x%u%s\n", g->links[l].param,
				t->groups[g->links[l].target].name,
				t->groups[g->links[l].target].members,
				g->links[l].acyclic ? " (pipeline)" : "");
		if (g->supervisor >= 0)
			fprintf(f, "  supervised by [%s], restart %s\n",
				t->groups[g->supervisor].name, restart_names[g->restart]);
	}
	for (unsigned c = 0; c < t->reactors; c++) {
		fprintf(f, "core %u:", c);
		for (size_t i = 0; i < t->ngroups; i++)
			for (unsigned m = 0; m < t->groups[i].members; m++)
				if (t->groups[i].member_core[m] == c)
					fprintf(f, " %s.%u", t->groups[i].name, m);
		fputc('\n', f);
	}
	return ferror(f) ? -EIO : 0;
}

/* Writes s as the inside of a DOT string. */
static void dot_str(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
}

static void dot_node(FILE *f, const struct atoll__topo_group *g, unsigned m)
{
	fputc('"', f);
	dot_str(f, g->name);
	fprintf(f, ".%u\"", m);
}

int atoll_topology_dot(const struct atoll_topology *t, FILE *f)
{
	if (t == NULL || f == NULL || t->reactors == 0)
		return -EINVAL;
	fprintf(f, "digraph topology {\n\trankdir=LR;\n\tnode [shape=box, style=rounded];\n");
	for (unsigned c = 0; c < t->reactors; c++) {
		fprintf(f, "\tsubgraph cluster_core%u {\n\t\tlabel=\"core %u\";\n", c, c);
		for (size_t i = 0; i < t->ngroups; i++) {
			const struct atoll__topo_group *g = &t->groups[i];

			for (unsigned m = 0; m < g->members; m++) {
				if (g->member_core[m] != c)
					continue;
				fputs("\t\t", f);
				dot_node(f, g, m);
				fputs(" [label=\"", f);
				dot_str(f, g->name);
				fprintf(f, ".%u\\n", m);
				dot_str(f, g->info->type->name);
				fputs("\"];\n", f);
			}
		}
		fputs("\t}\n", f);
	}
	for (size_t i = 0; i < t->ngroups; i++) {
		const struct atoll__topo_group *g = &t->groups[i];

		for (size_t l = 0; l < g->nlinks; l++) {
			const struct atoll__topo_group *to = &t->groups[g->links[l].target];

			if (to->members == 0 || g->members == 0)
				continue;
			if ((size_t)g->members * to->members > DOT_MAX_EDGES) {
				fputc('\t', f);
				dot_node(f, g, 0);
				fputs(" -> ", f);
				dot_node(f, to, 0);
				fputs(" [style=bold, label=\"", f);
				dot_str(f, g->links[l].param);
				fprintf(f, " (%u -> %u)\"];\n", g->members, to->members);
				continue;
			}
			for (unsigned m = 0; m < g->members; m++) {
				for (unsigned n = 0; n < to->members; n++) {
					fputc('\t', f);
					dot_node(f, g, m);
					fputs(" -> ", f);
					dot_node(f, to, n);
					fputs(" [label=\"", f);
					dot_str(f, g->links[l].param);
					fputs("\"];\n", f);
				}
			}
		}
	}
	/* Supervision: a dashed edge from the supervisor to each child. */
	for (size_t i = 0; i < t->ngroups; i++) {
		const struct atoll__topo_group *g = &t->groups[i];

		if (g->supervisor < 0 || t->groups[g->supervisor].members == 0 || g->members == 0)
			continue;
		if (g->members > DOT_MAX_EDGES) {
			fputc('\t', f);
			dot_node(f, &t->groups[g->supervisor], 0);
			fputs(" -> ", f);
			dot_node(f, g, 0);
			fprintf(f,
				" [style=\"dashed,bold\", arrowhead=odot, label=\"%s (x%u)\"];\n",
				restart_names[g->restart], g->members);
			continue;
		}
		for (unsigned m = 0; m < g->members; m++) {
			fputc('\t', f);
			dot_node(f, &t->groups[g->supervisor], 0);
			fputs(" -> ", f);
			dot_node(f, g, m);
			fprintf(f, " [style=dashed, arrowhead=odot, label=\"%s\"];\n",
				restart_names[g->restart]);
		}
	}
	fputs("}\n", f);
	return ferror(f) ? -EIO : 0;
}
