/*
 * atoll/registry.h - named actors.
 *
 * One registry per runtime maps names to refs, so that actors started from a
 * topology can find each other. Registration is rare and takes a lock; look a
 * name up once and keep the ref. Any thread may call these functions.
 */
#ifndef ATOLL_REGISTRY_H
#define ATOLL_REGISTRY_H

#include "actor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct atoll_runtime atoll_runtime;

/* Longest name accepted, without the terminating NUL. */
#define ATOLL_NAME_MAX 63

/*
 * Registers ref under name (copied). Returns 0, -EEXIST if the name is
 * taken, -EINVAL for an empty or too long name or ATOLL_REF_NONE, -ENOMEM.
 */
int atoll_register(atoll_runtime *rt, const char *name, atoll_ref ref);

/* Removes name. Returns 0 or -ENOENT. */
int atoll_unregister(atoll_runtime *rt, const char *name);

/*
 * Looks name up and stores its ref in *ref. Returns 0 or -ENOENT. The ref may
 * name an actor that has since stopped: sends to it then fail with -ESRCH.
 */
int atoll_lookup(atoll_runtime *rt, const char *name, atoll_ref *ref);

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_REGISTRY_H */
