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
	struct atoll_params *proto; /* values set, checked; copied per member */
	struct atoll__topo_link *links;
	size_t nlinks;
	char **keys; /* keys seen, for duplicates */
	int *key_lines;
	size_t nkeys;

	/* After place. */
	unsigned members;
	unsigned *member_core;
	atoll_ref *refs;
	struct atoll_params **params;
};

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
};

/* topology_run.c: frees what place built for g. */
void atoll__topology_unplace(struct atoll__topo_group *g);

#endif /* ATOLL_TOPOLOGY_INT_H */
