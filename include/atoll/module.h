/*
 * atoll/module.h - actor types by name: type descriptions, the catalog, and
 * modules (.so files) that add types to it.
 *
 * A topology file names actor types ("type = router"); the catalog maps
 * those names to a struct atoll_type_info, which points at the actor type
 * and says what parameters it takes and which messages it accepts. The
 * built-in library (actors/) registers its types with
 * atoll_catalog_add_builtin; a module adds its own from a shared object:
 *
 *   // mymod.c, built with: cc -shared -fPIC -o mymod.so mymod.c
 *   #include <atoll.h>
 *   static const struct atoll_type_info doubler_info = { ... };
 *   static int mymod_register(struct atoll_catalog *c)
 *   {
 *       return atoll_catalog_add(c, &doubler_info);
 *   }
 *   ATOLL_MODULE(mymod_register)
 *
 * and `atoll run --module ./mymod.so topo.ini` loads it. The module calls
 * libatoll's functions from the program that loads it (atoll exports them).
 */
#ifndef ATOLL_MODULE_H
#define ATOLL_MODULE_H

#include <stddef.h>
#include <stdint.h>

#include "actor.h"
#include "params.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The module ABI version: the layouts of the structs in this header, of
 * struct atoll_actor_type, struct atoll_msg and the other structs of the
 * public headers a module hands to libatoll (struct atoll_spawn_opts, ...),
 * and the meaning of the functions modules call. Raised on every
 * incompatible change; a module built against another version is refused.
 * 2: struct atoll_spawn_opts gained alias.
 */
#define ATOLL_MODULE_ABI 2u

/* A message type an actor type accepts (or sends). Tables end with {0}. */
struct atoll_msg_spec {
	uint32_t type;    /* its msg.type */
	const char *name; /* e.g. "TICK" */
	const char *help; /* one line: what it carries, what the actor does */
};

/* Flags of a type. */
#define ATOLL_TYPE_SINGLETON 1u /* at most one actor of this type per group */
/* A supervisor: topology groups may name its group in `supervisor =`, and
 * its init finds them in atoll_params_children. */
#define ATOLL_TYPE_SUPERVISOR 2u

/*
 * Everything a topology and `atoll list` know about an actor type. Declare
 * it const next to the type. init of a type started from a topology gets a
 * const struct atoll_params * as its arg.
 */
struct atoll_type_info {
	/* The actor type; its name is the name topologies use. Required. */
	const struct atoll_actor_type *type;
	/* One line: what the actor does. */
	const char *summary;
	/* Parameters it takes, ending with {0}; NULL: none. */
	const struct atoll_param_spec *params;
	/* Messages it accepts and sends, each ending with {0}; NULL: none. */
	const struct atoll_msg_spec *accepts;
	const struct atoll_msg_spec *sends;
	/* Checks the values together once all are set (atoll_params_finish),
	 * before anything starts: returns 0, or -EINVAL with a message in err.
	 * Optional. */
	int (*check)(const struct atoll_params *p, char *err, size_t errlen);
	unsigned flags; /* ATOLL_TYPE_* */
};

/* A set of actor types by name. Opaque. Not thread-safe: fill it, then read
 * it from any thread. */
struct atoll_catalog;

/* A new empty catalog, or NULL when out of memory. */
struct atoll_catalog *atoll_catalog_new(void);

/* Frees the catalog and unloads the modules it loaded. NULL is a no-op. Call
 * only once no actor of a module type runs (after atoll_runtime_destroy). */
void atoll_catalog_free(struct atoll_catalog *c);

/*
 * Adds a type (info is not copied: it must outlive the catalog). Returns 0,
 * -EEXIST when a type of that name is already there, or -EINVAL (no type, no
 * name, no receive, or a bad parameter table: unnamed or duplicate
 * parameter, ENUM without choices, unknown kind).
 */
int atoll_catalog_add(struct atoll_catalog *c, const struct atoll_type_info *info);

/* Adds every type of the actor library (actors/). Returns as
 * atoll_catalog_add. */
int atoll_catalog_add_builtin(struct atoll_catalog *c);

/* The type named name, or NULL. */
const struct atoll_type_info *atoll_catalog_find(const struct atoll_catalog *c, const char *name);

/* The number of types, and the i-th in the order they were added. */
size_t atoll_catalog_count(const struct atoll_catalog *c);
const struct atoll_type_info *atoll_catalog_at(const struct atoll_catalog *c, size_t i);

/* Where the i-th type came from: "built-in", or the module's path. */
const char *atoll_catalog_origin(const struct atoll_catalog *c, size_t i);

/*
 * Loads a module (dlopen), checks its ABI version and runs its register
 * function, which adds its types. Returns 0, or an error with a message in
 * err naming the file: -ENOENT (cannot be opened: dlerror's text), -ENOEXEC
 * (a symbol is missing: not an atoll module), -EPROTO (built for another
 * ABI version), -EEXIST (it defines a type whose name is taken), or the
 * register function's error. Nothing the failed module added stays in the
 * catalog.
 */
int atoll_catalog_load(struct atoll_catalog *c, const char *path, char *err, size_t errlen);

/* The symbols a module exports; define them with ATOLL_MODULE. */
#define ATOLL_MODULE_ABI_SYMBOL "atoll_module_abi"
#define ATOLL_MODULE_REGISTER_SYMBOL "atoll_module_register"
extern const uint32_t atoll_module_abi;
int atoll_module_register(struct atoll_catalog *c);

/* Defines the two symbols of a module whose types register_fn adds. */
#define ATOLL_MODULE(register_fn)                                                                  \
	__attribute__((visibility("default"))) const uint32_t atoll_module_abi = ATOLL_MODULE_ABI; \
	__attribute__((visibility("default"))) int atoll_module_register(                          \
		struct atoll_catalog *atoll_module_catalog_)                                       \
	{                                                                                          \
		return register_fn(atoll_module_catalog_);                                         \
	}

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_MODULE_H */
