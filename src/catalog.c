/*
 * catalog.c - actor types by name, and the modules (.so) that add them
 * (atoll/module.h).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll.h"
#include "atoll/module.h"

struct entry {
	const struct atoll_type_info *info;
	size_t origin; /* index in origins: 0 = built-in */
};

struct atoll_catalog {
	struct entry *types;
	size_t n, cap;
	char **origins; /* [0] "built-in", then module paths */
	void **handles; /* dlopen handles, parallel to origins ([0] NULL) */
	size_t norigins;
	size_t current; /* origin of the types being added */
	int dup_err;    /* the first -EEXIST while loading a module */
	char dup_name[64];
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

static int add_origin(struct atoll_catalog *c, const char *name, void *handle)
{
	char **o = realloc(c->origins, (c->norigins + 1) * sizeof(*o));
	void **h;

	if (o == NULL)
		return -ENOMEM;
	c->origins = o;
	h = realloc(c->handles, (c->norigins + 1) * sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	c->handles = h;
	o[c->norigins] = strdup(name);
	if (o[c->norigins] == NULL)
		return -ENOMEM;
	h[c->norigins] = handle;
	return (int)c->norigins++;
}

struct atoll_catalog *atoll_catalog_new(void)
{
	struct atoll_catalog *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	if (add_origin(c, "built-in", NULL) < 0) {
		atoll_catalog_free(c);
		return NULL;
	}
	return c;
}

void atoll_catalog_free(struct atoll_catalog *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->norigins; i++) {
		if (c->handles[i] != NULL)
			dlclose(c->handles[i]);
		free(c->origins[i]);
	}
	free(c->origins);
	free(c->handles);
	free(c->types);
	free(c);
}

/* Is the parameter table of info well formed? */
static bool params_ok(const struct atoll_type_info *info)
{
	const struct atoll_param_spec *ps = info->params;

	for (size_t i = 0; ps != NULL && ps[i].name != NULL; i++) {
		if (ps[i].name[0] == '\0' || ps[i].kind < ATOLL_PARAM_STRING ||
		    ps[i].kind > ATOLL_PARAM_LINK)
			return false;
		if (ps[i].kind == ATOLL_PARAM_ENUM && ps[i].choices == NULL)
			return false;
		for (size_t j = 0; j < i; j++)
			if (strcmp(ps[i].name, ps[j].name) == 0)
				return false;
	}
	return true;
}

int atoll_catalog_add(struct atoll_catalog *c, const struct atoll_type_info *info)
{
	if (c == NULL || info == NULL || info->type == NULL || info->type->name == NULL ||
	    info->type->name[0] == '\0' || info->type->receive == NULL || !params_ok(info))
		return -EINVAL;
	if (atoll_catalog_find(c, info->type->name) != NULL) {
		if (c->dup_err == 0) {
			c->dup_err = -EEXIST;
			snprintf(c->dup_name, sizeof(c->dup_name), "%s", info->type->name);
		}
		return -EEXIST;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 16;
		struct entry *t = realloc(c->types, cap * sizeof(*t));

		if (t == NULL)
			return -ENOMEM;
		c->types = t;
		c->cap = cap;
	}
	c->types[c->n].info = info;
	c->types[c->n].origin = c->current;
	c->n++;
	return 0;
}

const struct atoll_type_info *atoll_catalog_find(const struct atoll_catalog *c, const char *name)
{
	if (c == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->types[i].info->type->name, name) == 0)
			return c->types[i].info;
	return NULL;
}

size_t atoll_catalog_count(const struct atoll_catalog *c)
{
	return c != NULL ? c->n : 0;
}

const struct atoll_type_info *atoll_catalog_at(const struct atoll_catalog *c, size_t i)
{
	return c != NULL && i < c->n ? c->types[i].info : NULL;
}

const char *atoll_catalog_origin(const struct atoll_catalog *c, size_t i)
{
	return c != NULL && i < c->n ? c->origins[c->types[i].origin] : NULL;
}

int atoll_catalog_load(struct atoll_catalog *c, const char *path, char *err, size_t errlen)
{
	int (*reg)(struct atoll_catalog *);
	const uint32_t *abi;
	size_t before;
	void *h;
	int origin;
	int rc;

	if (c == NULL || path == NULL) {
		fmt_err(err, errlen, "no module given");
		return -EINVAL;
	}
	/* RTLD_LOCAL: two modules may each have a static helper of the same
	 * name; they only share libatoll's symbols, which the program exports. */
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		const char *why = dlerror();

		fmt_err(err, errlen, "%s: cannot load module: %s", path,
			why != NULL ? why : "unknown error");
		return -ENOENT;
	}
	abi = dlsym(h, ATOLL_MODULE_ABI_SYMBOL);
	*(void **)&reg = dlsym(h, ATOLL_MODULE_REGISTER_SYMBOL);
	if (abi == NULL || reg == NULL) {
		fmt_err(err, errlen,
			"%s: not an atoll module: symbol '%s' is missing (define it with "
			"ATOLL_MODULE(fn) from <atoll/module.h>)",
			path, abi == NULL ? ATOLL_MODULE_ABI_SYMBOL : ATOLL_MODULE_REGISTER_SYMBOL);
		dlclose(h);
		return -ENOEXEC;
	}
	if (*abi != ATOLL_MODULE_ABI) {
		fmt_err(err, errlen,
			"%s: built for module ABI %u, this atoll has ABI %u: rebuild it against "
			"this version's headers",
			path, (unsigned)*abi, (unsigned)ATOLL_MODULE_ABI);
		dlclose(h);
		return -EPROTO;
	}
	origin = add_origin(c, path, h);
	if (origin < 0) {
		fmt_err(err, errlen, "%s: out of memory", path);
		dlclose(h);
		return origin;
	}
	before = c->n;
	c->current = (size_t)origin;
	c->dup_err = 0;
	rc = reg(c);
	c->current = 0;
	if (rc == 0 && c->dup_err != 0)
		rc = c->dup_err; /* a module that ignored atoll_catalog_add's error */
	if (rc < 0) {
		if (c->dup_err != 0) {
			size_t i;

			for (i = 0; i < before; i++)
				if (strcmp(c->types[i].info->type->name, c->dup_name) == 0)
					break;
			fmt_err(err, errlen, "%s: defines actor type '%s', already defined by %s",
				path, c->dup_name,
				i == before               ? "this module"
				: c->types[i].origin == 0 ? "the built-in library"
							  : c->origins[c->types[i].origin]);
			rc = -EEXIST;
		} else {
			fmt_err(err, errlen, "%s: its register function failed: %s", path,
				strerror(-rc));
		}
		/* Take back everything this module added. */
		c->n = before;
		c->norigins--;
		free(c->origins[c->norigins]);
		dlclose(h);
		return rc;
	}
	return 0;
}
