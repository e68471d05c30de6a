/*
 * atoll/params.h - the parameters and links an actor is started with.
 *
 * An actor type that can be started from a topology file (atoll run) or
 * listed by `atoll list` describes the parameters it takes with a table of
 * struct atoll_param_spec (see atoll/module.h). The topology loader checks
 * every value against that table before anything starts, so init can read
 * them without checking again: its arg is a const struct atoll_params *.
 *
 *   static const struct atoll_param_spec ticker_params[] = {
 *       { "every", ATOLL_PARAM_DURATION, "1s", 1000, 0, NULL, "period" },
 *       { "to", ATOLL_PARAM_LINK, NULL, 0, 0, NULL, "the group to tick" },
 *       { 0 },
 *   };
 *
 *   static int ticker_init(atoll_ctx *ctx, void *state, const void *arg)
 *   {
 *       const struct atoll_params *p = arg;
 *       struct ticker *t = state;
 *       t->period_ns = (uint64_t)atoll_params_int(p, "every");
 *       t->n = atoll_params_links(p, "to", &t->to); // copy if kept
 *       ...
 *   }
 *
 * A C program starts such a type without a topology by building the
 * parameters itself (atoll_params_new, _set, _set_link, _finish).
 *
 * Lifetime: an atoll_params is owned by whoever built it (the topology, or
 * the program) and must stay valid until init has run. An actor copies what
 * it keeps past init (strings, link arrays).
 */
#ifndef ATOLL_PARAMS_H
#define ATOLL_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ref.h"

#ifdef __cplusplus
extern "C" {
#endif

struct atoll_type_info;

/* What a parameter's text means. */
enum atoll_param_kind {
	ATOLL_PARAM_STRING = 1, /* any text */
	ATOLL_PARAM_INT,        /* decimal integer; min/max bound it */
	ATOLL_PARAM_BOOL,       /* yes|no|true|false|on|off|1|0 */
	ATOLL_PARAM_SIZE,       /* bytes: 4096, 64k, 16m, 1g (powers of 1024) */
	ATOLL_PARAM_DURATION,   /* 250ms, 2s, 10us, 500ns, 1m, 1h (or 0) -> ns */
	ATOLL_PARAM_ENUM,       /* one of choices "a|b|c"; its index */
	ATOLL_PARAM_LINK,       /* the name of a group of actors -> their refs */
};

/* Flags of a parameter. */
#define ATOLL_PARAM_ACYCLIC                              \
	1u /* LINK: following these links must not come  \
	    * back to the same group (a pipeline), which \
	    * the topology loader checks */

/*
 * One parameter an actor type takes. Tables end with an all-zero entry.
 * def is the default as text; NULL makes the parameter required (a LINK
 * with def "" is optional: no refs). min and max bound INT, SIZE and
 * DURATION values (DURATION in ns), inclusive; min == max == 0: no bound.
 */
struct atoll_param_spec {
	const char *name;
	enum atoll_param_kind kind;
	const char *def;
	int64_t min;
	int64_t max;
	const char *choices; /* ENUM: "a|b|c" */
	const char *help;    /* one line, for atoll list */
	unsigned flags;      /* ATOLL_PARAM_* */
};

/* A set of parameter values for one actor. Opaque. */
struct atoll_params;

/* --- Reading (init, on the actor's reactor) ---------------------------- */

/* The text of a parameter (its value, or its default), or NULL when it has
 * none (an unset optional parameter, or a name the type does not declare). */
const char *atoll_params_str(const struct atoll_params *p, const char *name);

/* The value of an INT, SIZE (bytes), DURATION (ns), BOOL (0/1) or ENUM
 * (index in choices) parameter; 0 when unset or undeclared. */
int64_t atoll_params_int(const struct atoll_params *p, const char *name);

/* atoll_params_int(p, name) != 0. */
bool atoll_params_bool(const struct atoll_params *p, const char *name);

/* The refs a LINK parameter resolved to, in group order: stores a pointer to
 * them in *refs (valid as long as p) and returns how many (0 when unset). */
size_t atoll_params_links(const struct atoll_params *p, const char *name, const atoll_ref **refs);

/* The member of a LINK parameter's group that lives on reactor `core`, the
 * first one in group order when several do; when none does, the member at
 * index core % count. ATOLL_REF_NONE when the link is empty. For "the shard
 * actor on my core". */
atoll_ref atoll_params_link_near(const struct atoll_params *p, const char *name, unsigned core);

/* This actor's own group: stores a pointer to the refs of its members
 * (valid as long as p; this actor's is at atoll_params_index) in *refs when
 * refs is not NULL, and returns how many. 1 and no refs for a standalone
 * actor built with atoll_params_new. */
size_t atoll_params_group(const struct atoll_params *p, const atoll_ref **refs);

/* This actor's index in its group, from 0. */
unsigned atoll_params_index(const struct atoll_params *p);

/* The group's name ("" for a standalone actor). */
const char *atoll_params_group_name(const struct atoll_params *p);

/*
 * A child of a supervisor type (ATOLL_TYPE_SUPERVISOR in atoll/module.h) as
 * a topology declares it (`supervisor = GROUP` in a group): the supervisor
 * starts it, watches it and restarts it, always under the same alias, so
 * the refs others were given stay good across restarts.
 */
struct atoll_params_child {
	const struct atoll_actor_type *type;
	const struct atoll_params *params; /* its init argument, at every start */
	unsigned core;                     /* the reactor it runs on */
	atoll_ref alias;                   /* its stable ref (atoll_alias_new) */
	/* When to restart it: enum atoll_supervisor_restart (actors/
	 * supervisor.h): 0 permanent, 1 transient, 2 temporary. */
	unsigned restart;
	/* Its bounded mailbox (struct atoll_spawn_opts): 0 for none, and
	 * enum atoll_overflow. */
	unsigned mailbox_limit;
	unsigned overflow;
	/* Its first incarnation, already prepared and launched by the topology
	 * and monitored by the supervisor (monitor id below) from before
	 * either ran; ATOLL_REF_NONE when the supervisor must start it. */
	atoll_ref first;
	uint64_t monitor;
	const char *group; /* its group's name and its index there, for logs */
	unsigned index;
};

/* Most children one supervisor takes. */
#define ATOLL_PARAMS_MAX_CHILDREN 1024u

/* The children a supervisor type was given, in start order: stores a
 * pointer to them in *children (valid as long as p) and returns how many
 * (0 for any other type). */
size_t atoll_params_children(const struct atoll_params *p,
			     const struct atoll_params_child **children);

/* --- Building (any thread) -------------------------------------------- */

/*
 * A new, empty set of parameters for a type (its info lists what it takes).
 * Returns NULL when out of memory.
 */
struct atoll_params *atoll_params_new(const struct atoll_type_info *info);

/* Frees p. NULL is a no-op. */
void atoll_params_free(struct atoll_params *p);

/*
 * Sets parameter name from its text, checked against its spec. For a LINK
 * this records the group's name; the refs come with atoll_params_set_link.
 * Returns 0, or -EINVAL with a message in err (e.g. "parameter 'every':
 * expected a duration like 250ms or 2s, got 'soon'", "unknown parameter
 * 'evry' (echo takes: port, bind)"), or -ENOMEM.
 */
int atoll_params_set(struct atoll_params *p, const char *name, const char *value, char *err,
		     size_t errlen);

/*
 * Sets the refs of LINK parameter name (copied), naming the group too when
 * it was not set. Returns 0, -EINVAL (not a LINK of this type) or -ENOMEM.
 */
int atoll_params_set_link(struct atoll_params *p, const char *name, const atoll_ref *refs,
			  size_t n);

/*
 * Places p in a group: its name, the refs of all members (copied) and this
 * actor's index among them. Returns 0, -EINVAL or -ENOMEM.
 */
int atoll_params_set_group(struct atoll_params *p, const char *group, const atoll_ref *refs,
			   size_t n, unsigned index);

/*
 * Sets the children of a supervisor type's parameters (the array is copied;
 * the pointers in it are not: what they point to must outlive p). Returns
 * 0, -EINVAL or -ENOMEM.
 */
int atoll_params_set_children(struct atoll_params *p, const struct atoll_params_child *children,
			      size_t n);

/*
 * Checks that every required parameter is set, then runs the type's check
 * hook (struct atoll_type_info.check) if it has one. Call once every value
 * is set, before the actor is spawned. Returns 0, or -EINVAL with a message
 * in err ("missing parameter 'to' (the group to tick)").
 */
int atoll_params_finish(struct atoll_params *p, char *err, size_t errlen);

/*
 * Makes a copy of p (values, links and group) for another member of the same
 * group: the topology builds one set per actor. Returns NULL when out of
 * memory.
 */
struct atoll_params *atoll_params_dup(const struct atoll_params *p);

/* The type p was made for. */
const struct atoll_type_info *atoll_params_type(const struct atoll_params *p);

/*
 * Parses text as a parameter of the given kind (INT, SIZE, DURATION, BOOL;
 * ENUM with choices), without a type: for tools and flags that share the
 * syntax. Stores the value in *out. Returns 0, or -EINVAL with a message
 * that starts with "expected".
 */
int atoll_param_parse(enum atoll_param_kind kind, const char *choices, const char *text,
		      int64_t *out, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_PARAMS_H */
