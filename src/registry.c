/*
 * registry.c - the per-runtime map from names to actor refs. A short list
 * under a mutex: registration happens at start-up and lookups are meant to
 * be done once, so simplicity wins over speed here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reactor.h"

struct atoll_registry_entry {
	struct atoll_registry_entry *next;
	atoll_ref ref;
	char name[ATOLL_NAME_MAX + 1];
};

static struct atoll_registry_entry **find(struct atoll_runtime *rt, const char *name)
{
	struct atoll_registry_entry **e = &rt->registry;

	while (*e != NULL && strcmp((*e)->name, name) != 0)
		e = &(*e)->next;
	return e;
}

static int valid_name(const char *name)
{
	return name != NULL && name[0] != '\0' &&
	       strnlen(name, ATOLL_NAME_MAX + 1) <= ATOLL_NAME_MAX;
}

int atoll_register(atoll_runtime *rt, const char *name, atoll_ref ref)
{
	struct atoll_registry_entry *e;
	int err = 0;

	if (rt == NULL || !valid_name(name) || ref == ATOLL_REF_NONE)
		return -EINVAL;
	pthread_mutex_lock(&rt->reg_lock);
	if (*find(rt, name) != NULL) {
		err = -EEXIST;
	} else if ((e = malloc(sizeof(*e))) == NULL) {
		err = -ENOMEM;
	} else {
		strcpy(e->name, name);
		e->ref = ref;
		e->next = rt->registry;
		rt->registry = e;
	}
	pthread_mutex_unlock(&rt->reg_lock);
	return err;
}

int atoll_unregister(atoll_runtime *rt, const char *name)
{
	struct atoll_registry_entry **e, *gone;

	if (rt == NULL || !valid_name(name))
		return -ENOENT;
	pthread_mutex_lock(&rt->reg_lock);
	e = find(rt, name);
	gone = *e;
	if (gone != NULL)
		*e = gone->next;
	pthread_mutex_unlock(&rt->reg_lock);
	free(gone);
	return gone != NULL ? 0 : -ENOENT;
}

int atoll_lookup(atoll_runtime *rt, const char *name, atoll_ref *ref)
{
	struct atoll_registry_entry *e;

	if (rt == NULL || !valid_name(name) || ref == NULL)
		return -ENOENT;
	pthread_mutex_lock(&rt->reg_lock);
	e = *find(rt, name);
	if (e != NULL)
		*ref = e->ref;
	pthread_mutex_unlock(&rt->reg_lock);
	return e != NULL ? 0 : -ENOENT;
}

void atoll__registry_destroy(struct atoll_runtime *rt)
{
	struct atoll_registry_entry *e = rt->registry;

	while (e != NULL) {
		struct atoll_registry_entry *next = e->next;
		free(e);
		e = next;
	}
	rt->registry = NULL;
}
