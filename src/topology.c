/*
 * topology.c - reading a topology file (INI, through libinih) and checking
 * it against a catalog of actor types (atoll/topology.h).
 *
 * Reading is two passes: libinih hands every key to the handler, which only
 * records it with its line (a section's keys may come in any order: type may
 * follow the parameters); then each group is checked in file order. Our own
 * line reader feeds libinih, counting lines (Debian's inih is built without
 * INI_HANDLER_LINENO) and seeing every [section] header, even an empty one.
 * Only the first error is kept; nothing is started by this file.
 */
#include <errno.h>
#include <ini.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology.h"

#define MAX_COUNT 65536u
#define MAX_MAILBOX 1000000000u
#define MAX_CPU 1023u

/* Reserved keys of a group; every other key is a parameter of its type. */
static const char *const reserved[] = {
	"type",       "count",   "core",          "cores",    "placement", "register",
	"supervisor", "restart", "mailbox_limit", "overflow", NULL,
};

struct loader {
	struct atoll_topology *t;
	const struct atoll_catalog *catalog;
	char *err;
	size_t errlen;
	int rc;
	int err_line;
	/* Line reader. */
	const char *text;
	size_t pos;
	int line;           /* of the text last handed to inih */
	bool at_line_start; /* the next chunk starts a line */
	/* Section being read: -1 none, -2 [runtime], -3 a duplicate (skipped),
	 * else a group index. */
	long section;
	/* Per-key values, parallel to each group's keys. */
	char ***values;
	/* Overrides "SECTION.KEY=VALUE" (atoll_topology_load_set) and which
	 * of them a key of the file took. */
	const char *const *sets;
	size_t nsets;
	bool *used;
};

static void fail(struct loader *ld, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Records the first error as "FILE:LINE: message" (or "FILE: message"). */
static void fail(struct loader *ld, int line, const char *fmt, ...)
{
	va_list ap;
	int w = 0;

	if (ld->rc != 0)
		return;
	ld->rc = -EINVAL;
	ld->err_line = line;
	if (ld->err == NULL || ld->errlen == 0)
		return;
	if (line > 0)
		w = snprintf(ld->err, ld->errlen, "%s:%d: ", ld->t->file, line);
	else
		w = snprintf(ld->err, ld->errlen, "%s: ", ld->t->file);
	if (w < 0 || (size_t)w >= ld->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(ld->err + w, ld->errlen - (size_t)w, fmt, ap);
	va_end(ap);
}

static void fail_nomem(struct loader *ld)
{
	fail(ld, 0, "out of memory");
	ld->rc = -ENOMEM;
}

static bool is_reserved(const char *key)
{
	for (size_t i = 0; reserved[i] != NULL; i++)
		if (strcmp(reserved[i], key) == 0)
			return true;
	return false;
}

static long find_group(const struct atoll_topology *t, const char *name)
{
	for (size_t i = 0; i < t->ngroups; i++)
		if (strcmp(t->groups[i].name, name) == 0)
			return (long)i;
	return -1;
}

/* --- sections and keys, as libinih reads them ------------------------------ */

static void on_section(struct loader *ld, const char *name, size_t len, int line)
{
	struct atoll_topology *t = ld->t;
	char *copy = strndup(name, len);
	long dup;

	if (copy == NULL) {
		fail_nomem(ld);
		return;
	}
	if (strcmp(copy, "runtime") == 0) {
		if (t->runtime_line != 0) {
			fail(ld, line, "duplicate section [runtime] (first at line %d)",
			     t->runtime_line);
			ld->section = -3;
		} else {
			t->runtime_line = line;
			ld->section = -2;
		}
		free(copy);
		return;
	}
	if (copy[0] == '\0' || (dup = find_group(t, copy)) >= 0) {
		if (copy[0] == '\0')
			fail(ld, line, "empty section name");
		else
			fail(ld, line, "duplicate section [%s] (first at line %d)", copy,
			     t->groups[dup].line);
		free(copy);
		ld->section = -3;
		return;
	}
	struct atoll__topo_group *g = realloc(t->groups, (t->ngroups + 1) * sizeof(*g));
	char ***v = realloc(ld->values, (t->ngroups + 1) * sizeof(*v));
	if (g != NULL)
		t->groups = g;
	if (v != NULL)
		ld->values = v;
	if (g == NULL || v == NULL) {
		free(copy);
		fail_nomem(ld);
		return;
	}
	memset(&t->groups[t->ngroups], 0, sizeof(*g));
	t->groups[t->ngroups].supervisor = -1;
	t->groups[t->ngroups].name = copy;
	t->groups[t->ngroups].line = line;
	ld->values[t->ngroups] = NULL;
	ld->section = (long)t->ngroups++;
}

/*
 * libinih's line reader: hands over the text one line at a time, counting
 * lines and noticing [section] headers before inih parses them.
 */
static char *read_line(char *str, int num, void *stream)
{
	struct loader *ld = stream;
	const char *p = ld->text + ld->pos;
	const char *nl;
	size_t len, take;

	if (*p == '\0')
		return NULL;
	nl = strchr(p, '\n');
	len = nl != NULL ? (size_t)(nl - p) + 1 : strlen(p);
	if (ld->at_line_start) {
		const char *s = p;

		ld->line++;
		if (len + 1 > (size_t)num)
			fail(ld, ld->line, "line too long (at most %d characters)", num - 2);
		while (s < p + len && (*s == ' ' || *s == '\t'))
			s++;
		if (*s == '[') {
			const char *end = memchr(s, ']', (size_t)(p + len - s));

			if (end != NULL)
				on_section(ld, s + 1, (size_t)(end - s - 1), ld->line);
		}
	}
	take = len < (size_t)num - 1 ? len : (size_t)num - 1;
	memcpy(str, p, take);
	str[take] = '\0';
	ld->pos += take;
	ld->at_line_start = take > 0 && str[take - 1] == '\n';
	return str;
}

static int add_key(struct loader *ld, char ***keys, int **lines, size_t *n, char ***values,
		   const char *name, const char *value, const char *where)
{
	for (size_t i = 0; i < *n; i++) {
		if (strcmp((*keys)[i], name) == 0) {
			fail(ld, ld->line, "duplicate key '%s' in %s (first at line %d)", name,
			     where, (*lines)[i]);
			return -EINVAL;
		}
	}
	char **k = realloc(*keys, (*n + 1) * sizeof(*k));
	if (k != NULL)
		*keys = k;
	int *l = realloc(*lines, (*n + 1) * sizeof(*l));
	if (l != NULL)
		*lines = l;
	char **v = values != NULL ? realloc(*values, (*n + 1) * sizeof(*v)) : NULL;
	if (v != NULL)
		*values = v;
	if (k == NULL || l == NULL || (values != NULL && v == NULL)) {
		fail_nomem(ld);
		return -ENOMEM;
	}
	k[*n] = strdup(name);
	if (values != NULL)
		v[*n] = strdup(value);
	l[*n] = ld->line;
	if (k[*n] == NULL || (values != NULL && v[*n] == NULL)) {
		free(k[*n]);
		if (values != NULL)
			free(v[*n]);
		fail_nomem(ld);
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

/* --- [runtime] ------------------------------------------------------------ */

/* Parses "0-3,6" into a list of numbers <= max. Returns its length, or -1. */
static long parse_list(const char *text, unsigned max, unsigned **out)
{
	unsigned *list = NULL;
	size_t n = 0;
	const char *p = text;

	*out = NULL;
	for (;;) {
		char *end;
		unsigned long a, b;

		while (*p == ' ')
			p++;
		if (*p < '0' || *p > '9')
			goto bad;
		a = strtoul(p, &end, 10);
		b = a;
		p = end;
		if (*p == '-') {
			p++;
			if (*p < '0' || *p > '9')
				goto bad;
			b = strtoul(p, &end, 10);
			p = end;
		}
		if (a > b || b > max || b - a + 1 > MAX_COUNT)
			goto bad;
		unsigned *l = realloc(list, (n + (b - a) + 1) * sizeof(*l));
		if (l == NULL)
			goto bad;
		list = l;
		for (unsigned long c = a; c <= b; c++)
			list[n++] = (unsigned)c;
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		if (*p != ',')
			goto bad;
		p++;
	}
	*out = list;
	return (long)n;
bad:
	free(list);
	return -1;
}

struct runtime_key {
	const char *name;
	enum atoll_param_kind kind;
	int64_t min, max;
	const char *choices;
};

static const struct runtime_key runtime_keys[] = {
	{ "reactors", ATOLL_PARAM_INT, 1, ATOLL_MAX_REACTORS, NULL },
	{ "cpus", ATOLL_PARAM_STRING, 0, 0, NULL },
	{ "duration", ATOLL_PARAM_DURATION, 0, INT64_MAX, NULL },
	{ "no_pin", ATOLL_PARAM_BOOL, 0, 1, NULL },
	{ "ring_capacity", ATOLL_PARAM_INT, 2, 1 << 24, NULL },
	{ "batch", ATOLL_PARAM_INT, 1, 1 << 20, NULL },
	{ "sq_entries", ATOLL_PARAM_INT, 1, 32768, NULL },
	{ "eventfd_doorbell", ATOLL_PARAM_BOOL, 0, 1, NULL },
	{ "idle_spin_us", ATOLL_PARAM_INT, -1, 1000000, NULL },
	{ "recv_buffers", ATOLL_PARAM_INT, 1, 32768, NULL },
	{ "recv_buffer_size", ATOLL_PARAM_SIZE, 1, 1 << 30, NULL },
	{ "no_buf_ring", ATOLL_PARAM_BOOL, 0, 1, NULL },
	{ "log_level", ATOLL_PARAM_ENUM, 0, 3, "error|warn|info|debug" },
	{ NULL, 0, 0, 0, NULL },
};

static void runtime_key(struct loader *ld, const char *name, const char *value)
{
	struct atoll_topology *t = ld->t;
	const struct runtime_key *k = runtime_keys;
	char msg[256];
	int64_t v = 0;

	while (k->name != NULL && strcmp(k->name, name) != 0)
		k++;
	if (k->name == NULL) {
		fail(ld, ld->line,
		     "unknown key '%s' in [runtime] (known: reactors, cpus, duration, no_pin, "
		     "ring_capacity, batch, sq_entries, eventfd_doorbell, idle_spin_us, "
		     "recv_buffers, recv_buffer_size, no_buf_ring, log_level)",
		     name);
		return;
	}
	if (add_key(ld, &t->runtime_keys, &t->runtime_key_lines, &t->nruntime_keys, NULL, name,
		    value, "[runtime]") < 0)
		return;
	if (strcmp(name, "cpus") == 0) {
		unsigned *list;
		long n = parse_list(value, MAX_CPU, &list);

		if (n <= 0) {
			fail(ld, ld->line,
			     "[runtime] cpus: expected a CPU list like 0-3 or 0,2, got '%s'",
			     value);
			return;
		}
		t->cpus = malloc((size_t)n * sizeof(int));
		if (t->cpus == NULL) {
			free(list);
			fail_nomem(ld);
			return;
		}
		for (long i = 0; i < n; i++)
			t->cpus[i] = (int)list[i];
		free(list);
		t->cfg.cpus = t->cpus;
		t->cfg.ncpus = (unsigned)n;
		return;
	}
	if (atoll_param_parse(k->kind, k->choices, value, &v, msg, sizeof(msg)) < 0) {
		fail(ld, ld->line, "[runtime] %s: %s", name, msg);
		return;
	}
	if (k->kind != ATOLL_PARAM_DURATION && (v < k->min || v > k->max)) {
		fail(ld, ld->line, "[runtime] %s: expected %lld to %lld, got %s", name,
		     (long long)k->min, (long long)k->max, value);
		return;
	}
	if (strcmp(name, "reactors") == 0)
		t->cfg.reactors = (unsigned)v;
	else if (strcmp(name, "duration") == 0)
		t->duration_ns = (uint64_t)v;
	else if (strcmp(name, "no_pin") == 0)
		t->cfg.no_pin = v != 0;
	else if (strcmp(name, "ring_capacity") == 0)
		t->cfg.ring_capacity = (unsigned)v;
	else if (strcmp(name, "batch") == 0)
		t->cfg.batch = (unsigned)v;
	else if (strcmp(name, "sq_entries") == 0)
		t->cfg.sq_entries = (unsigned)v;
	else if (strcmp(name, "eventfd_doorbell") == 0)
		t->cfg.eventfd_doorbell = v != 0;
	else if (strcmp(name, "idle_spin_us") == 0)
		t->cfg.idle_spin_us = (int)v;
	else if (strcmp(name, "recv_buffers") == 0)
		t->cfg.recv_buffers = (unsigned)v;
	else if (strcmp(name, "recv_buffer_size") == 0)
		t->cfg.recv_buffer_size = (unsigned)v;
	else if (strcmp(name, "no_buf_ring") == 0)
		t->cfg.no_buf_ring = v != 0;
	else if (strcmp(name, "log_level") == 0)
		t->cfg.log_level = (int)v + 1;
}

/* Does set ("SECTION.KEY=VALUE") name section and key? */
static bool set_names(const char *set, const char *section, const char *key)
{
	size_t slen = strlen(section), klen = strlen(key);

	return strncmp(set, section, slen) == 0 && set[slen] == '.' &&
	       strncmp(set + slen + 1, key, klen) == 0 && set[slen + 1 + klen] == '=';
}

/* The value an override gives section's key, or NULL. The last one wins. */
static const char *override_for(struct loader *ld, const char *section, const char *key)
{
	const char *v = NULL;

	for (size_t i = 0; i < ld->nsets; i++)
		if (set_names(ld->sets[i], section, key)) {
			v = strchr(ld->sets[i], '=') + 1;
			ld->used[i] = true;
		}
	return v;
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct loader *ld = user;
	const char *ov = override_for(ld, section, name);

	if (ov != NULL)
		value = ov;
	if (ld->rc != 0)
		return 1;
	if (ld->section == -1) {
		fail(ld, ld->line, "key '%s' outside a section (put it under [runtime] or a group)",
		     name);
	} else if (ld->section == -2) {
		runtime_key(ld, name, value);
	} else if (ld->section >= 0) {
		struct atoll__topo_group *g = &ld->t->groups[ld->section];
		char where[80];

		snprintf(where, sizeof(where), "[%s]", g->name);
		(void)add_key(ld, &g->keys, &g->key_lines, &g->nkeys, &ld->values[ld->section],
			      name, value, where);
	}
	return 1;
}

/* --- checking each group ---------------------------------------------------- */

static void group_reserved(struct loader *ld, struct atoll__topo_group *g, const char *key,
			   const char *value, int line)
{
	char msg[256];
	int64_t v;

	if (strcmp(key, "count") == 0) {
		if (atoll_param_parse(ATOLL_PARAM_INT, NULL, value, &v, msg, sizeof(msg)) < 0 ||
		    v < 1 || v > MAX_COUNT) {
			fail(ld, line, "[%s] count: expected a number from 1 to %u, got '%s'",
			     g->name, MAX_COUNT, value);
			return;
		}
		g->count = (unsigned)v;
		g->count_line = line;
		return;
	}
	if (strcmp(key, "register") == 0) {
		if (value[0] == '\0' || strlen(value) > ATOLL_NAME_MAX - 6) {
			fail(ld, line, "[%s] register: expected a name of 1 to %d characters",
			     g->name, ATOLL_NAME_MAX - 6);
			return;
		}
		g->reg = strdup(value);
		if (g->reg == NULL)
			fail_nomem(ld);
		g->reg_line = line;
		return;
	}
	if (strcmp(key, "supervisor") == 0) {
		/* The group it names may come later in the file: resolved in
		 * atoll__topology_check_supervision. */
		g->sup_name = strdup(value);
		if (g->sup_name == NULL)
			fail_nomem(ld);
		g->sup_line = line;
		return;
	}
	if (strcmp(key, "mailbox_limit") == 0) {
		if (atoll_param_parse(ATOLL_PARAM_INT, NULL, value, &v, msg, sizeof(msg)) < 0 ||
		    v < 1 || v > MAX_MAILBOX) {
			fail(ld, line,
			     "[%s] mailbox_limit: expected a number from 1 to %u, got '%s'",
			     g->name, MAX_MAILBOX, value);
			return;
		}
		g->mailbox_limit = (unsigned)v;
		g->mailbox_line = line;
		return;
	}
	if (strcmp(key, "overflow") == 0) {
		if (atoll_param_parse(ATOLL_PARAM_ENUM, "reject|drop_newest|drop_oldest", value, &v,
				      msg, sizeof(msg)) < 0) {
			fail(ld, line,
			     "[%s] overflow: expected reject, drop_newest or drop_oldest, got '%s'",
			     g->name, value);
			return;
		}
		g->overflow = (unsigned)v;
		g->overflow_line = line;
		return;
	}
	if (strcmp(key, "restart") == 0) {
		if (atoll_param_parse(ATOLL_PARAM_ENUM, "permanent|transient|temporary", value, &v,
				      msg, sizeof(msg)) < 0) {
			fail(ld, line,
			     "[%s] restart: expected permanent, transient or temporary, got '%s'",
			     g->name, value);
			return;
		}
		g->restart = (unsigned)v;
		g->restart_line = line;
		return;
	}
	/* core, cores, placement: one of them per group. */
	if (g->place_line != 0) {
		fail(ld, line, "[%s] '%s' conflicts with the placement at line %d", g->name, key,
		     g->place_line);
		return;
	}
	g->place_line = line;
	if (strcmp(key, "placement") == 0) {
		if (strcmp(value, "each") == 0) {
			g->placement = ATOLL__PLACE_EACH;
		} else if (strcmp(value, "spread") == 0) {
			g->placement = ATOLL__PLACE_SPREAD;
		} else {
			fail(ld, line,
			     "[%s] placement: expected each or spread (or use core = N, "
			     "cores = LIST), got '%s'",
			     g->name, value);
		}
		return;
	}
	long n = parse_list(value, ATOLL_MAX_REACTORS - 1, &g->cores);
	if (n <= 0 || (strcmp(key, "core") == 0 && n != 1)) {
		free(g->cores);
		g->cores = NULL;
		if (strcmp(key, "core") == 0)
			fail(ld, line, "[%s] core: expected a core number, got '%s'", g->name,
			     value);
		else
			fail(ld, line, "[%s] cores: expected a core list like 0-3 or 0,2, got '%s'",
			     g->name, value);
		return;
	}
	g->ncores = (size_t)n;
	g->placement = ATOLL__PLACE_CORES;
}

static const struct atoll_param_spec *find_spec(const struct atoll_type_info *info,
						const char *name)
{
	for (const struct atoll_param_spec *s = info->params; s != NULL && s->name != NULL; s++)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

static void group_param(struct loader *ld, struct atoll__topo_group *g, const char *key,
			const char *value, int line)
{
	const struct atoll_param_spec *s = find_spec(g->info, key);
	char msg[256];
	int rc;

	if (s != NULL && s->kind == ATOLL_PARAM_LINK && value[0] != '\0') {
		long target = find_group(ld->t, value);

		if (target < 0) {
			fail(ld, line, "[%s] parameter '%s': no group named '%s'", g->name, key,
			     value);
			return;
		}
		struct atoll__topo_link *l = realloc(g->links, (g->nlinks + 1) * sizeof(*l));
		if (l == NULL) {
			fail_nomem(ld);
			return;
		}
		g->links = l;
		l[g->nlinks++] = (struct atoll__topo_link){
			.param = s->name,
			.target = (size_t)target,
			.line = line,
			.acyclic = (s->flags & ATOLL_PARAM_ACYCLIC) != 0,
		};
	}
	rc = atoll_params_set(g->proto, key, value, msg, sizeof(msg));
	if (rc == -ENOMEM)
		fail_nomem(ld);
	else if (rc < 0)
		fail(ld, line, "[%s] %s", g->name, msg);
}

static void check_group(struct loader *ld, size_t gi)
{
	struct atoll__topo_group *g = &ld->t->groups[gi];
	char **values = ld->values[gi];
	char msg[256];

	for (size_t i = 0; i < g->nkeys; i++) {
		if (strcmp(g->keys[i], "type") != 0)
			continue;
		g->type_line = g->key_lines[i];
		g->info = atoll_catalog_find(ld->catalog, values[i]);
		if (g->info == NULL) {
			fail(ld, g->type_line,
			     "[%s] unknown type '%s' (atoll list shows the types)", g->name,
			     values[i]);
			return;
		}
	}
	if (g->info == NULL) {
		fail(ld, g->line, "[%s] has no type (add: type = NAME)", g->name);
		return;
	}
	g->proto = atoll_params_new(g->info);
	if (g->proto == NULL) {
		fail_nomem(ld);
		return;
	}
	for (size_t i = 0; i < g->nkeys && ld->rc == 0; i++) {
		if (strcmp(g->keys[i], "type") == 0)
			continue;
		if (is_reserved(g->keys[i]))
			group_reserved(ld, g, g->keys[i], values[i], g->key_lines[i]);
		else
			group_param(ld, g, g->keys[i], values[i], g->key_lines[i]);
	}
	if (ld->rc != 0)
		return;
	if (g->overflow_line != 0 && g->mailbox_line == 0) {
		fail(ld, g->overflow_line, "[%s] overflow: only with mailbox_limit = N", g->name);
		return;
	}
	if (g->placement == ATOLL__PLACE_EACH && g->count != 0) {
		fail(ld, g->count_line,
		     "[%s] count conflicts with placement = each (line %d), "
		     "which puts one on every reactor",
		     g->name, g->place_line);
		return;
	}
	if ((g->info->flags & ATOLL_TYPE_SINGLETON) && g->count > 1) {
		fail(ld, g->count_line, "[%s] count: type %s allows one actor per group", g->name,
		     g->info->type->name);
		return;
	}
	int rc = atoll_params_finish(g->proto, msg, sizeof(msg));
	if (rc == -ENOMEM)
		fail_nomem(ld);
	else if (rc < 0)
		fail(ld, g->line, "[%s] %s", g->name, msg);
}

/*
 * Depth-first search along ACYCLIC links from group gi. state: 0 unseen, 1
 * on the current path, 2 done. path holds the groups on the current path.
 */
static bool find_cycle(struct loader *ld, size_t gi, unsigned char *state, size_t *path,
		       size_t depth)
{
	struct atoll__topo_group *g = &ld->t->groups[gi];

	state[gi] = 1;
	path[depth] = gi;
	for (size_t i = 0; i < g->nlinks; i++) {
		const struct atoll__topo_link *l = &g->links[i];

		if (!l->acyclic)
			continue;
		if (state[l->target] == 1) {
			char chain[512];
			size_t used = 0, start = 0;

			while (path[start] != l->target)
				start++;
			chain[0] = '\0';
			for (size_t k = start; k <= depth && used < sizeof(chain); k++) {
				int w = snprintf(chain + used, sizeof(chain) - used, "%s -> ",
						 ld->t->groups[path[k]].name);
				if (w < 0)
					break;
				used += (size_t)w;
			}
			fail(ld, l->line,
			     "[%s] parameter '%s': the links make a cycle %s%s, which "
			     "this link must not (a pipeline)",
			     g->name, l->param, chain, ld->t->groups[l->target].name);
			return true;
		}
		if (state[l->target] == 0 && find_cycle(ld, l->target, state, path, depth + 1))
			return true;
	}
	state[gi] = 2;
	return false;
}

static void check_topology(struct loader *ld)
{
	struct atoll_topology *t = ld->t;

	for (size_t i = 0; i < t->ngroups && ld->rc == 0; i++)
		check_group(ld, i);
	if (ld->rc != 0)
		return;
	if (t->ngroups == 0) {
		fail(ld, 0, "no groups of actors (a topology needs at least one [group])");
		return;
	}
	char msg[384];
	int line = 0;
	if (atoll__topology_check_supervision(t, &line, msg, sizeof(msg)) < 0) {
		fail(ld, line, "%s", msg);
		return;
	}
	unsigned char *state = calloc(t->ngroups, 1);
	size_t *path = calloc(t->ngroups, sizeof(*path));
	if (state == NULL || path == NULL) {
		fail_nomem(ld);
	} else {
		for (size_t i = 0; i < t->ngroups && ld->rc == 0; i++)
			if (state[i] == 0)
				(void)find_cycle(ld, i, state, path, 0);
	}
	free(state);
	free(path);
	for (size_t i = 0; i < t->ngroups && ld->rc == 0; i++)
		for (size_t j = 0; j < i && t->groups[i].reg != NULL; j++)
			if (t->groups[j].reg != NULL &&
			    strcmp(t->groups[i].reg, t->groups[j].reg) == 0)
				fail(ld, t->groups[i].reg_line,
				     "[%s] register: the name '%s' is taken by [%s] (line %d)",
				     t->groups[i].name, t->groups[i].reg, t->groups[j].name,
				     t->groups[j].reg_line);
}

/* --- entry points ------------------------------------------------------------ */

/* libinih's settings are process-wide variables (Debian builds them so):
 * set ours under a lock and restore them. An indented line is a key like
 * any other, not the continuation of a value. */
static pthread_mutex_t inih_lock = PTHREAD_MUTEX_INITIALIZER;

/* Checks the form of every override: "SECTION.KEY=VALUE". */
static void check_sets(struct loader *ld)
{
	for (size_t i = 0; i < ld->nsets; i++) {
		const char *s = ld->sets[i];
		const char *dot = strchr(s, '.');
		const char *eq = strchr(s, '=');

		if (dot == NULL || eq == NULL || dot > eq || dot == s || dot + 1 == eq) {
			fail(ld, 0, "--set '%s': expected GROUP.KEY=VALUE (or runtime.KEY=VALUE)",
			     s);
			return;
		}
	}
}

/* Adds the overrides no key of the file took, as keys of their sections. */
static void apply_new_sets(struct loader *ld)
{
	for (size_t i = 0; i < ld->nsets && ld->rc == 0; i++) {
		char section[128], key[128];
		const char *s = ld->sets[i];
		const char *dot = strchr(s, '.');
		const char *eq = strchr(s, '=');
		size_t slen = (size_t)(dot - s), klen = (size_t)(eq - dot - 1);
		bool later = false;

		if (ld->used[i])
			continue;
		for (size_t j = i + 1; j < ld->nsets; j++)
			later |= strncmp(ld->sets[j], s, (size_t)(eq - s) + 1) == 0;
		if (later)
			continue; /* the last override of a key wins */
		if (slen >= sizeof(section) || klen >= sizeof(key)) {
			fail(ld, 0, "--set '%s': name too long", s);
			return;
		}
		memcpy(section, s, slen);
		section[slen] = '\0';
		memcpy(key, dot + 1, klen);
		key[klen] = '\0';
		if (strcmp(section, "runtime") == 0) {
			ld->section = -2;
		} else {
			ld->section = find_group(ld->t, section);
			if (ld->section < 0) {
				fail(ld, 0, "--set '%s': no group [%s] in the file", s, section);
				return;
			}
		}
		ld->line = 0;
		on_key(ld, section, key, eq + 1);
	}
}

int atoll_topology_parse(const char *text, const char *name, const struct atoll_catalog *catalog,
			 struct atoll_topology **out, char *err, size_t errlen)
{
	return atoll_topology_parse_set(text, name, catalog, NULL, 0, out, err, errlen);
}

int atoll_topology_parse_set(const char *text, const char *name,
			     const struct atoll_catalog *catalog, const char *const *sets,
			     size_t nsets, struct atoll_topology **out, char *err, size_t errlen)
{
	struct loader ld = { .err = err, .errlen = errlen, .text = text, .section = -1 };
	int line;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (out == NULL)
		return -EINVAL;
	*out = NULL;
	if (text == NULL || catalog == NULL)
		return -EINVAL;
	ld.t = calloc(1, sizeof(*ld.t));
	if (ld.t == NULL)
		return -ENOMEM;
	ld.t->file = strdup(name != NULL ? name : "(topology)");
	if (ld.t->file == NULL) {
		free(ld.t);
		return -ENOMEM;
	}
	ld.catalog = catalog;
	ld.at_line_start = true;
	ld.sets = sets;
	ld.nsets = sets != NULL ? nsets : 0;
	ld.used = calloc(ld.nsets + 1, sizeof(bool));
	if (ld.used == NULL) {
		free(ld.t->file);
		free(ld.t);
		return -ENOMEM;
	}
	check_sets(&ld);

	pthread_mutex_lock(&inih_lock);
	bool multiline = ini_allow_multiline;
	ini_allow_multiline = false;
	line = ini_parse_stream(read_line, &ld, on_key, &ld);
	ini_allow_multiline = multiline;
	pthread_mutex_unlock(&inih_lock);

	if (line > 0 && (ld.rc == 0 || line < ld.err_line)) {
		ld.rc = 0;
		fail(&ld, line, "syntax error: expected [section], key = value or a comment");
	} else if (line < 0 && ld.rc == 0) {
		fail_nomem(&ld);
	}
	if (ld.rc == 0)
		apply_new_sets(&ld);
	if (ld.rc == 0)
		check_topology(&ld);
	free(ld.used);
	for (size_t i = 0; i < ld.t->ngroups; i++) {
		for (size_t k = 0; ld.values[i] != NULL && k < ld.t->groups[i].nkeys; k++)
			free(ld.values[i][k]);
		free(ld.values[i]);
	}
	free(ld.values);
	if (ld.rc != 0) {
		atoll_topology_free(ld.t);
		return ld.rc;
	}
	*out = ld.t;
	return 0;
}

int atoll_topology_load(const char *path, const struct atoll_catalog *catalog,
			struct atoll_topology **out, char *err, size_t errlen)
{
	return atoll_topology_load_set(path, catalog, NULL, 0, out, err, errlen);
}

int atoll_topology_load_set(const char *path, const struct atoll_catalog *catalog,
			    const char *const *sets, size_t nsets, struct atoll_topology **out,
			    char *err, size_t errlen)
{
	FILE *f;
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (path == NULL || out == NULL)
		return -EINVAL;
	f = fopen(path, "re");
	if (f == NULL) {
		rc = -errno;
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(-rc));
		return rc;
	}
	FILE *mem = open_memstream(&text, &len);
	char buf[4096];
	size_t n;

	rc = 0;
	while (mem != NULL && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (fwrite(buf, 1, n, mem) != n)
			rc = -ENOMEM;
	if (mem == NULL || ferror(f))
		rc = mem == NULL ? -ENOMEM : -EIO;
	fclose(f);
	if (mem != NULL)
		fclose(mem);
	if (rc == 0 && memchr(text, '\0', len) != NULL)
		rc = -EINVAL;
	if (rc < 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: cannot read: %s", path,
				 rc == -EINVAL ? "not a text file" : strerror(-rc));
		free(text);
		return rc;
	}
	rc = atoll_topology_parse_set(text, path, catalog, sets, nsets, out, err, errlen);
	free(text);
	return rc;
}

static void free_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

void atoll_topology_free(struct atoll_topology *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->ngroups; i++) {
		struct atoll__topo_group *g = &t->groups[i];

		atoll__topology_unplace(g);
		free(g->name);
		free(g->cores);
		free(g->reg);
		free(g->sup_name);
		atoll_params_free(g->proto);
		free(g->links);
		free_list(g->keys, g->nkeys);
		free(g->key_lines);
	}
	free(t->groups);
	atoll__topology_watch_free(t);
	free_list(t->runtime_keys, t->nruntime_keys);
	free(t->runtime_key_lines);
	free(t->cpus);
	free(t->file);
	free(t);
}

int atoll_topology_config(const struct atoll_topology *t, struct atoll_config *cfg)
{
	if (t == NULL || cfg == NULL)
		return -EINVAL;
	for (size_t i = 0; i < t->nruntime_keys; i++) {
		const char *k = t->runtime_keys[i];

#define SET(field)                  \
	if (strcmp(k, #field) == 0) \
		cfg->field = t->cfg.field;
		SET(reactors)
		SET(no_pin)
		SET(ring_capacity)
		SET(batch)
		SET(sq_entries)
		SET(eventfd_doorbell)
		SET(idle_spin_us)
		SET(recv_buffers)
		SET(recv_buffer_size)
		SET(no_buf_ring)
		SET(log_level)
#undef SET
		if (strcmp(k, "cpus") == 0) {
			cfg->cpus = t->cfg.cpus;
			cfg->ncpus = t->cfg.ncpus;
		}
	}
	return 0;
}

uint64_t atoll_topology_duration(const struct atoll_topology *t)
{
	return t != NULL ? t->duration_ns : 0;
}
