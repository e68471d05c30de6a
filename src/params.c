/*
 * params.c - parameter values of one actor, checked against its type's
 * table of struct atoll_param_spec (atoll/params.h).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "atoll.h"
#include "atoll/module.h"
#include "atoll/params.h"

/* The value of one declared parameter. */
struct pval {
	char *text;      /* as set, or NULL (then the spec's default applies) */
	int64_t num;     /* text parsed, for the numeric kinds */
	atoll_ref *refs; /* LINK: resolved refs */
	size_t nrefs;
};

struct atoll_params {
	const struct atoll_type_info *info;
	size_t n; /* declared parameters */
	struct pval *v;
	char *group;
	atoll_ref *members;
	size_t nmembers;
	unsigned index;
	struct atoll_params_child *children; /* a supervisor's */
	size_t nchildren;
};

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

static size_t spec_count(const struct atoll_type_info *info)
{
	size_t n = 0;

	if (info != NULL && info->params != NULL)
		while (info->params[n].name != NULL)
			n++;
	return n;
}

static const struct atoll_param_spec *spec_at(const struct atoll_params *p, size_t i)
{
	return &p->info->params[i];
}

static ssize_t find(const struct atoll_params *p, const char *name)
{
	if (p == NULL || name == NULL)
		return -1;
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(spec_at(p, i)->name, name) == 0)
			return (ssize_t)i;
	return -1;
}

/* Index of word in "a|b|c", or -1. */
static int choice_index(const char *choices, const char *word)
{
	size_t wlen = strlen(word);
	int i = 0;

	for (const char *s = choices; s != NULL && *s != '\0'; i++) {
		const char *bar = strchr(s, '|');
		size_t len = bar != NULL ? (size_t)(bar - s) : strlen(s);

		if (len == wlen && strncmp(s, word, len) == 0)
			return i;
		s = bar != NULL ? bar + 1 : NULL;
	}
	return -1;
}

static int parse_i64(const char *text, int64_t *out, const char **end)
{
	char *e;
	long long v;

	if (!isdigit((unsigned char)text[0]) &&
	    !(text[0] == '-' && isdigit((unsigned char)text[1])))
		return -EINVAL;
	errno = 0;
	v = strtoll(text, &e, 10);
	if (errno != 0)
		return -ERANGE;
	*out = (int64_t)v;
	*end = e;
	return 0;
}

/* *v * mult, or -ERANGE on overflow. */
static int scale(int64_t *v, int64_t mult)
{
	if (*v != 0 && (*v > INT64_MAX / mult || *v < INT64_MIN / mult))
		return -ERANGE;
	*v *= mult;
	return 0;
}

static int parse_size(const char *text, int64_t *out)
{
	static const struct {
		const char *suffix;
		int64_t mult;
	} units[] = {
		{ "", 1 },
		{ "b", 1 },
		{ "k", 1024 },
		{ "kb", 1024 },
		{ "m", 1024 * 1024 },
		{ "mb", 1024 * 1024 },
		{ "g", 1024LL * 1024 * 1024 },
		{ "gb", 1024LL * 1024 * 1024 },
	};
	const char *end;
	int64_t v;

	if (parse_i64(text, &v, &end) < 0 || v < 0)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcasecmp(end, units[i].suffix) == 0) {
			if (scale(&v, units[i].mult) < 0)
				return -EINVAL;
			*out = v;
			return 0;
		}
	return -EINVAL;
}

static int parse_duration(const char *text, int64_t *out)
{
	static const struct {
		const char *suffix;
		int64_t ns;
	} units[] = {
		{ "ns", 1 },
		{ "us", 1000 },
		{ "ms", 1000000 },
		{ "s", 1000000000 },
		{ "m", 60LL * 1000000000 },
		{ "h", 3600LL * 1000000000 },
	};
	const char *end;
	int64_t v;

	if (parse_i64(text, &v, &end) < 0 || v < 0)
		return -EINVAL;
	if (*end == '\0' && v == 0) {
		*out = 0;
		return 0;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(end, units[i].suffix) == 0) {
			if (scale(&v, units[i].ns) < 0)
				return -EINVAL;
			*out = v;
			return 0;
		}
	return -EINVAL;
}

int atoll_param_parse(enum atoll_param_kind kind, const char *choices, const char *text,
		      int64_t *out, char *err, size_t errlen)
{
	const char *end;
	int64_t v = 0;
	int idx;

	if (text == NULL)
		text = "";
	switch (kind) {
	case ATOLL_PARAM_STRING:
	case ATOLL_PARAM_LINK:
		*out = 0;
		return 0;
	case ATOLL_PARAM_INT:
		if (parse_i64(text, &v, &end) < 0 || *end != '\0') {
			fmt_err(err, errlen, "expected an integer, got '%s'", text);
			return -EINVAL;
		}
		break;
	case ATOLL_PARAM_BOOL:
		idx = choice_index("no|yes|false|true|off|on|0|1", text);
		if (idx < 0) {
			fmt_err(err, errlen, "expected yes or no, got '%s'", text);
			return -EINVAL;
		}
		v = idx % 2;
		break;
	case ATOLL_PARAM_SIZE:
		if (parse_size(text, &v) < 0) {
			fmt_err(err, errlen, "expected a size like 4096, 64k or 16m, got '%s'",
				text);
			return -EINVAL;
		}
		break;
	case ATOLL_PARAM_DURATION:
		if (parse_duration(text, &v) < 0) {
			fmt_err(err, errlen, "expected a duration like 250ms or 2s, got '%s'",
				text);
			return -EINVAL;
		}
		break;
	case ATOLL_PARAM_ENUM:
		idx = choice_index(choices, text);
		if (idx < 0) {
			fmt_err(err, errlen, "expected one of %s, got '%s'",
				choices != NULL ? choices : "(none)", text);
			return -EINVAL;
		}
		v = idx;
		break;
	default:
		fmt_err(err, errlen, "expected a known parameter kind, got %d", (int)kind);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* Writes the bounds of spec into buf as " from A to B" (or ""). */
static const char *bounds_text(const struct atoll_param_spec *s, char *buf, size_t len)
{
	if (s->min == 0 && s->max == 0)
		snprintf(buf, len, "%s", "");
	else if (s->max == 0)
		snprintf(buf, len, " (at least %" PRId64 "%s)", s->min,
			 s->kind == ATOLL_PARAM_DURATION ? " ns" : "");
	else
		snprintf(buf, len, " (from %" PRId64 " to %" PRId64 "%s)", s->min, s->max,
			 s->kind == ATOLL_PARAM_DURATION ? " ns" : "");
	return buf;
}

/* Parses text for spec s into *out, with the parameter's name in errors. */
static int parse_for(const struct atoll_param_spec *s, const char *text, int64_t *out, char *err,
		     size_t errlen)
{
	char why[160];
	char b[80];

	if (atoll_param_parse(s->kind, s->choices, text, out, why, sizeof(why)) < 0) {
		fmt_err(err, errlen, "parameter '%s': %s", s->name, why);
		return -EINVAL;
	}
	if (s->kind == ATOLL_PARAM_INT || s->kind == ATOLL_PARAM_SIZE ||
	    s->kind == ATOLL_PARAM_DURATION) {
		if ((s->min != 0 || s->max != 0) &&
		    (*out < s->min || (s->max != 0 && *out > s->max))) {
			fmt_err(err, errlen, "parameter '%s': '%s' is out of range%s", s->name,
				text, bounds_text(s, b, sizeof(b)));
			return -EINVAL;
		}
	}
	if (s->kind == ATOLL_PARAM_LINK && text[0] == '\0' && s->def == NULL) {
		fmt_err(err, errlen, "parameter '%s': expected the name of a group", s->name);
		return -EINVAL;
	}
	return 0;
}

struct atoll_params *atoll_params_new(const struct atoll_type_info *info)
{
	struct atoll_params *p;

	if (info == NULL)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->info = info;
	p->n = spec_count(info);
	p->v = calloc(p->n + 1, sizeof(*p->v));
	p->group = strdup("");
	if (p->v == NULL || p->group == NULL) {
		atoll_params_free(p);
		return NULL;
	}
	/* Defaults parse: a bad default is a bug in the type, seen at finish. */
	for (size_t i = 0; i < p->n; i++) {
		const struct atoll_param_spec *s = spec_at(p, i);

		if (s->def != NULL)
			(void)atoll_param_parse(s->kind, s->choices, s->def, &p->v[i].num, NULL, 0);
	}
	return p;
}

void atoll_params_free(struct atoll_params *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; p->v != NULL && i < p->n; i++) {
		free(p->v[i].text);
		free(p->v[i].refs);
	}
	free(p->v);
	free(p->group);
	free(p->members);
	free(p->children);
	free(p);
}

/* Appends "a, b, c" (the declared names) to buf. */
static void names_text(const struct atoll_params *p, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < p->n && used < len; i++) {
		int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
				 spec_at(p, i)->name);

		if (w < 0)
			break;
		used += (size_t)w;
	}
}

int atoll_params_set(struct atoll_params *p, const char *name, const char *value, char *err,
		     size_t errlen)
{
	ssize_t i = find(p, name);
	int64_t num;
	char *copy;

	if (p == NULL || name == NULL || value == NULL) {
		fmt_err(err, errlen, "no parameter given");
		return -EINVAL;
	}
	if (i < 0) {
		char names[256];

		names_text(p, names, sizeof(names));
		if (p->n == 0)
			fmt_err(err, errlen, "unknown parameter '%s' (%s takes none)", name,
				p->info->type->name);
		else
			fmt_err(err, errlen, "unknown parameter '%s' (%s takes: %s)", name,
				p->info->type->name, names);
		return -EINVAL;
	}
	if (parse_for(spec_at(p, (size_t)i), value, &num, err, errlen) < 0)
		return -EINVAL;
	copy = strdup(value);
	if (copy == NULL) {
		fmt_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	free(p->v[i].text);
	p->v[i].text = copy;
	p->v[i].num = num;
	return 0;
}

int atoll_params_set_link(struct atoll_params *p, const char *name, const atoll_ref *refs, size_t n)
{
	ssize_t i = find(p, name);
	atoll_ref *copy = NULL;

	if (i < 0 || spec_at(p, (size_t)i)->kind != ATOLL_PARAM_LINK || (n > 0 && refs == NULL))
		return -EINVAL;
	if (n > 0) {
		copy = malloc(n * sizeof(*copy));
		if (copy == NULL)
			return -ENOMEM;
		memcpy(copy, refs, n * sizeof(*copy));
	}
	if (p->v[i].text == NULL) {
		p->v[i].text = strdup("");
		if (p->v[i].text == NULL) {
			free(copy);
			return -ENOMEM;
		}
	}
	free(p->v[i].refs);
	p->v[i].refs = copy;
	p->v[i].nrefs = n;
	return 0;
}

int atoll_params_set_group(struct atoll_params *p, const char *group, const atoll_ref *refs,
			   size_t n, unsigned index)
{
	atoll_ref *copy;
	char *name;

	if (p == NULL || group == NULL || refs == NULL || n == 0 || index >= n)
		return -EINVAL;
	copy = malloc(n * sizeof(*copy));
	name = strdup(group);
	if (copy == NULL || name == NULL) {
		free(copy);
		free(name);
		return -ENOMEM;
	}
	memcpy(copy, refs, n * sizeof(*copy));
	free(p->members);
	free(p->group);
	p->members = copy;
	p->nmembers = n;
	p->group = name;
	p->index = index;
	return 0;
}

int atoll_params_set_children(struct atoll_params *p, const struct atoll_params_child *children,
			      size_t n)
{
	struct atoll_params_child *copy = NULL;

	if (p == NULL || (n != 0 && children == NULL))
		return -EINVAL;
	if (n != 0) {
		copy = malloc(n * sizeof(*copy));
		if (copy == NULL)
			return -ENOMEM;
		memcpy(copy, children, n * sizeof(*copy));
	}
	free(p->children);
	p->children = copy;
	p->nchildren = n;
	return 0;
}

size_t atoll_params_children(const struct atoll_params *p,
			     const struct atoll_params_child **children)
{
	if (children != NULL)
		*children = p != NULL ? p->children : NULL;
	return p != NULL ? p->nchildren : 0;
}

int atoll_params_finish(struct atoll_params *p, char *err, size_t errlen)
{
	if (p == NULL) {
		fmt_err(err, errlen, "no parameters");
		return -EINVAL;
	}
	for (size_t i = 0; i < p->n; i++) {
		const struct atoll_param_spec *s = spec_at(p, i);
		int64_t num;

		if (p->v[i].text != NULL)
			continue;
		if (s->def == NULL) {
			fmt_err(err, errlen, "missing parameter '%s'%s%s%s", s->name,
				s->help != NULL ? " (" : "", s->help != NULL ? s->help : "",
				s->help != NULL ? ")" : "");
			return -EINVAL;
		}
		/* The type's own default must be valid too. */
		if (parse_for(s, s->def, &num, err, errlen) < 0)
			return -EINVAL;
	}
	if (p->info->check != NULL) {
		if (err != NULL && errlen > 0)
			err[0] = '\0';
		if (p->info->check(p, err, errlen) < 0) {
			if (err != NULL && errlen > 0 && err[0] == '\0')
				fmt_err(err, errlen, "%s refused its parameters",
					p->info->type->name);
			return -EINVAL;
		}
	}
	return 0;
}

struct atoll_params *atoll_params_dup(const struct atoll_params *p)
{
	struct atoll_params *d;

	if (p == NULL)
		return NULL;
	d = atoll_params_new(p->info);
	if (d == NULL)
		return NULL;
	for (size_t i = 0; i < p->n; i++) {
		const struct pval *s = &p->v[i];

		d->v[i].num = s->num;
		if (s->text != NULL && (d->v[i].text = strdup(s->text)) == NULL)
			goto fail;
		if (s->nrefs > 0) {
			d->v[i].refs = malloc(s->nrefs * sizeof(atoll_ref));
			if (d->v[i].refs == NULL)
				goto fail;
			memcpy(d->v[i].refs, s->refs, s->nrefs * sizeof(atoll_ref));
			d->v[i].nrefs = s->nrefs;
		}
	}
	if (p->nmembers > 0 &&
	    atoll_params_set_group(d, p->group, p->members, p->nmembers, p->index) < 0)
		goto fail;
	if (p->nchildren > 0 && atoll_params_set_children(d, p->children, p->nchildren) < 0)
		goto fail;
	return d;
fail:
	atoll_params_free(d);
	return NULL;
}

const struct atoll_type_info *atoll_params_type(const struct atoll_params *p)
{
	return p != NULL ? p->info : NULL;
}

const char *atoll_params_str(const struct atoll_params *p, const char *name)
{
	ssize_t i = find(p, name);

	if (i < 0)
		return NULL;
	return p->v[i].text != NULL ? p->v[i].text : spec_at(p, (size_t)i)->def;
}

int64_t atoll_params_int(const struct atoll_params *p, const char *name)
{
	ssize_t i = find(p, name);

	return i < 0 ? 0 : p->v[i].num;
}

bool atoll_params_bool(const struct atoll_params *p, const char *name)
{
	return atoll_params_int(p, name) != 0;
}

size_t atoll_params_links(const struct atoll_params *p, const char *name, const atoll_ref **refs)
{
	ssize_t i = find(p, name);

	if (refs != NULL)
		*refs = i < 0 ? NULL : p->v[i].refs;
	return i < 0 ? 0 : p->v[i].nrefs;
}

atoll_ref atoll_params_link_near(const struct atoll_params *p, const char *name, unsigned core)
{
	const atoll_ref *refs;
	size_t n = atoll_params_links(p, name, &refs);

	if (n == 0)
		return ATOLL_REF_NONE;
	for (size_t i = 0; i < n; i++)
		if (atoll_ref_core(refs[i]) == core)
			return refs[i];
	return refs[core % n];
}

size_t atoll_params_group(const struct atoll_params *p, const atoll_ref **refs)
{
	if (refs != NULL)
		*refs = p != NULL ? p->members : NULL;
	if (p == NULL)
		return 0;
	return p->nmembers > 0 ? p->nmembers : 1;
}

unsigned atoll_params_index(const struct atoll_params *p)
{
	return p != NULL ? p->index : 0;
}

const char *atoll_params_group_name(const struct atoll_params *p)
{
	return p != NULL && p->group != NULL ? p->group : "";
}
