/*
 * atoll/topology.h - topology files: which actors a runtime starts, how
 * many, on which cores, with which parameters and links (what `atoll run
 * FILE` does; docs/topologies.md describes the format).
 *
 *   struct atoll_topology *t;
 *   char err[512];
 *   if (atoll_topology_load("pipe.ini", catalog, &t, err, sizeof(err)) < 0)
 *       fprintf(stderr, "%s\n", err);       // "pipe.ini:7: unknown type 'gen'"
 *   struct atoll_config cfg = { 0 };
 *   atoll_topology_config(t, &cfg);         // what [runtime] asks for
 *   atoll_topology_place(t, 4, err, sizeof(err));
 *   atoll_runtime_start(&cfg, &rt);
 *   atoll_topology_start(t, rt, err, sizeof(err));
 *   ...
 *   atoll_runtime_destroy(rt);
 *   atoll_topology_free(t);                 // after: inits read its params
 *
 * Every error names the file and line: "FILE:LINE: message". A topology
 * that fails to load, place or start leaves nothing running. A topology is
 * used by one thread at a time; none of these functions may be called on a
 * reactor thread.
 */
#ifndef ATOLL_TOPOLOGY_H
#define ATOLL_TOPOLOGY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "module.h"
#include "runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A parsed and checked topology. Opaque. */
struct atoll_topology;

/*
 * Reads the topology file at path and checks it against the types of
 * catalog (which must outlive the topology): syntax, duplicate sections and
 * keys, [runtime] keys, types, parameters (through each type's table and
 * check hook), link targets, cycles through ATOLL_PARAM_ACYCLIC links,
 * placement keys. Stores the topology in *out. Returns 0, or -EINVAL (the
 * file is wrong), -ENOENT/-EACCES (cannot be read) or -ENOMEM, with
 * "FILE:LINE: message" (or "FILE: message") in err.
 */
int atoll_topology_load(const char *path, const struct atoll_catalog *catalog,
			struct atoll_topology **out, char *err, size_t errlen);

/* As atoll_topology_load, from text in memory; name stands for the file in
 * messages. */
int atoll_topology_parse(const char *text, const char *name, const struct atoll_catalog *catalog,
			 struct atoll_topology **out, char *err, size_t errlen);

/*
 * As atoll_topology_load and _parse, with nsets overrides "GROUP.KEY=VALUE"
 * (or "runtime.KEY=VALUE"), as `atoll run --set` gives them: each replaces
 * the key's value in the file, or adds the key to its section; for a key
 * set twice the last wins. Checked like the file's own keys; an error names
 * the override ("FILE: --set 'ring.hops=x': ...") or, for a value that
 * replaced a key, the key's line.
 */
int atoll_topology_load_set(const char *path, const struct atoll_catalog *catalog,
			    const char *const *sets, size_t nsets, struct atoll_topology **out,
			    char *err, size_t errlen);
int atoll_topology_parse_set(const char *text, const char *name,
			     const struct atoll_catalog *catalog, const char *const *sets,
			     size_t nsets, struct atoll_topology **out, char *err, size_t errlen);

/* Frees t and the parameters it built. NULL is a no-op. Call only after
 * the runtime it started has been destroyed (inits read those
 * parameters). */
void atoll_topology_free(struct atoll_topology *t);

/*
 * Copies the settings of the [runtime] section into cfg, leaving the fields
 * it does not set as they are. cfg->cpus then points into t. Returns 0.
 */
int atoll_topology_config(const struct atoll_topology *t, struct atoll_config *cfg);

/* The [runtime] duration in ns, 0 when the file sets none. */
uint64_t atoll_topology_duration(const struct atoll_topology *t);

/*
 * Places every actor on one of `reactors` reactors (core = N, cores = list,
 * placement = each | spread) and counts the members of each group. May be
 * called again with another count before start. Returns 0, or -EINVAL with
 * "FILE:LINE: message" in err (a core beyond the reactors, a singleton type
 * placed on each of several reactors).
 */
int atoll_topology_place(struct atoll_topology *t, unsigned reactors, char *err, size_t errlen);

/*
 * Starts the placed topology in rt (which has as many reactors as it was
 * placed for): reserves every actor's ref, builds each actor's parameters
 * with its group and its links resolved to refs, registers the names
 * (register = name; member i is "name.i" when a group has several), then
 * launches them all, so every init sees every ref it links to. Members of
 * a supervised group (supervisor = GROUP) are known by aliases, so their
 * refs survive restarts; their supervisor monitors them from before they
 * run. Every other member is watched: if one fails (in init or later), the
 * runtime is stopped and atoll_topology_failure says which and why. Inits
 * run on the reactors afterwards, not here. Returns 0, or an error (-EINVAL
 * not placed or already started or another reactor count, -ENOMEM, -EAGAIN,
 * -EEXIST a name is registered already) with a message in err; then
 * nothing of the topology was launched. Once only.
 */
int atoll_topology_start(struct atoll_topology *t, atoll_runtime *rt, char *err, size_t errlen);

/*
 * 1 when a member that no supervisor watches failed (its init, or later;
 * the top of each supervision tree included), which stops the runtime, with
 * "[group] group.i (type on core c) failed...: reason" in buf; else 0. Any
 * thread, any time after start; final once the runtime has stopped
 * (atoll_runtime_wait).
 */
int atoll_topology_failure(const struct atoll_topology *t, char *buf, size_t len);

/* The number of actors the placed topology starts (0 before place). */
size_t atoll_topology_actors(const struct atoll_topology *t);

/*
 * The group named name: stores pointers (valid as long as t, and until the
 * next place) to the core of each member in *cores and to their refs in
 * *refs (ATOLL_REF_NONE before start); either may be NULL. Returns the
 * number of members (after place; 0 before), or -ENOENT.
 */
int atoll_topology_group(const struct atoll_topology *t, const char *name, const unsigned **cores,
			 const atoll_ref **refs);

/*
 * Writes the resolved placement as text: each group with its type, count
 * and cores and its links, then each core with the actors on it (what
 * `atoll run --check` prints). Returns 0, -EINVAL (not placed) or -EIO.
 */
int atoll_topology_print(const struct atoll_topology *t, FILE *f);

/*
 * Writes the placed topology as a Graphviz DOT digraph: one cluster per
 * core, a node per actor, an edge per link between members; a link whose
 * groups would need more than 16 edges is drawn as one bold edge between
 * the groups' first members, labelled with the sizes. Returns 0, -EINVAL
 * (not placed) or -EIO.
 */
int atoll_topology_dot(const struct atoll_topology *t, FILE *f);

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_TOPOLOGY_H */
