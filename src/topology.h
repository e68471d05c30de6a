/*
 * topology.h - the parsed form of a topology file, shared by topology.c
 * (reading and checking) and topology_run.c (placement, start, output).
 *
 * Invariants: every key keeps the line it was read from, so any later error
 * can name it; groups are in file order; a group's links name groups by
 * index; after place, members/cores/refs/params have `members` entries.
 */
#ifndef ATOLL_TOPOLOGY_INT_H
#define ATOLL_TOPOLOGY_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "atoll.h"
#include "atoll/topology.h"

enum atoll__placement {
	ATOLL__PLACE_SPREAD = 0, /* count over all reactors, round-robin */
	ATOLL__PLACE_EACH,       /* one per reactor */
	ATOLL__PLACE_CORES,      /* round-robin over a list (core = N: a list of one) */
};

struct atoll__topo_link {
	const char *param; /* the LINK parameter's name (its spec's) */
	size_t target;     /* index of the group it names */
	int line;
	bool acyclic;
};

struct atoll__topo_group {
	char *name;
	int line; /* of its [section] */
	const struct atoll_type_info *info;
	int type_line;
	unsigned count; /* as written; 0: not written (1, or one per reactor) */
	int count_line;
	enum atoll__placement placement;
	int place_line;  /* of core, cores or placement */
	unsigned *cores; /* ATOLL__PLACE_CORES */
	size_t ncores;
	char *reg; /* register = name, or NULL */
	int reg_line;
	char *sup_name; /* supervisor = name, as written, or NULL */
	int sup_line;
	long supervisor;  /* index of the group supervising this one, or -1 */
	unsigned restart; /* restart = ...: 0 permanent, 1 transient, 2 temporary */
	int restart_line;
	unsigned mailbox_limit; /* mailbox_limit = N, 0: unbounded */
	int mailbox_line;
	unsigned overflow; /* overflow = ...: enum atoll_overflow */
	int overflow_line;
	struct atoll_params *proto; /* values set, checked; copied per member */
	struct atoll__topo_link *links;
	size_t nlinks;
	char **keys; /* keys seen, for duplicates */
	int *key_lines;
	size_t nkeys;

	/* After place. */
	unsigned members;
	unsigned *member_core;
	atoll_ref *refs; /* what links name: aliases in a supervised group */
	struct atoll_params **params;
	/* After start. A supervised group's first incarnations and the ids of
	 * the monitors its supervisor holds on them; a supervisor group's
	 * parameters for a restart (its children without first refs). */
	atoll_ref *first;
	uint64_t *monitors;
	struct atoll_params **restart_params;
};

/* What the topology's watcher saw: the first failure of a member that no
 * supervisor watches (topology_watch.c). */
struct atoll__topo_watch;

struct atoll_topology {
	char *file;
	struct atoll__topo_group *groups;
	size_t ngroups;
	int runtime_line; /* of [runtime], 0 if none */
	char **runtime_keys;
	int *runtime_key_lines;
	size_t nruntime_keys;
	struct atoll_config cfg; /* what [runtime] sets */
	int *cpus;
	uint64_t duration_ns;
	unsigned reactors; /* placed for; 0: not placed */
	bool started;
	struct atoll__topo_watch *watch; /* after start */
};

/* topology_run.c: frees what place built for g. */
void atoll__topology_unplace(struct atoll__topo_group *g);

/* topology_supervise.c: checks the supervision keys of every group once all
 * are read (targets, types, cycles, supervisors without children). Returns
 * 0, or -EINVAL with the line in *line and the message in msg. */
int atoll__topology_check_supervision(struct atoll_topology *t, int *line, char *msg,
				      size_t msglen);

/* topology_supervise.c: after place, refuses a supervisor with more
 * children than it takes. Returns 0 or -EINVAL with "FILE:LINE: ..." in
 * err. */
int atoll__topology_place_supervision(struct atoll_topology *t, char *err, size_t errlen);

/* topology_supervise.c: gives each supervisor group's member its children
 * (the members of the groups it supervises, in file order, with their
 * aliases, first incarnations and monitors) and its restart parameters.
 * After every member's params are built. Returns 0 or -ENOMEM. */
int atoll__topology_set_children(struct atoll_topology *t);

/* topology_watch.c: the watcher, an actor prepared with the topology that
 * monitors every member no supervisor watches. */
int atoll__topology_watch_prepare(struct atoll_topology *t, atoll_runtime *rt,
				  struct atoll_pending **pending);
/* Records that the watcher's monitor id watches member m of group g. */
int atoll__topology_watch_add(struct atoll_topology *t, uint64_t id, size_t g, unsigned m);
void atoll__topology_watch_free(struct atoll_topology *t);

#endif /* ATOLL_TOPOLOGY_INT_H */
