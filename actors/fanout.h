/*
 * fanout.h - scatter/gather: a coordinator splits a job into tasks, asks a
 * group of workers (one per core, say) to compute them, gathers the answers
 * and checks the total.
 *
 * The job: the sum of i*i for i in [1, n], split into `tasks` ranges. Each
 * task is an ask (atoll_ask) to a worker chosen round-robin; the worker
 * answers with its partial sum (atoll_reply). The coordinator keeps at most
 * `inflight` tasks outstanding, compares the gathered total with the closed
 * form n(n+1)(2n+1)/6 (mod 2^64), and prints
 *
 *   fanout: 1000 tasks over 4 workers on 2 cores, 1000000 numbers, sum ok (333333833333500000), 12
 * ms
 *
 * with `rounds` jobs one after another (the line shows the last), then, with
 * stop_at_end, stops the runtime.
 *
 * Topology:
 *   [coordinator]               [workers]
 *   type = fanout               type = fanout-worker
 *   core = 0                    placement = each
 *   workers = workers
 *   tasks = 1000
 */
#ifndef ATOLL_ACTORS_FANOUT_H
#define ATOLL_ACTORS_FANOUT_H

#include <atoll.h>

#include "lib_msg.h"

enum fanout_msg {
	/* coordinator -> worker (ask); payload: struct fanout_task. */
	FANOUT_TASK = ATOLL_LIB_MSG_BLOCK(14),
	/* worker -> coordinator (reply); payload: struct fanout_result. */
	FANOUT_RESULT,
};

struct fanout_task {
	uint64_t first, last; /* the range, inclusive */
};

struct fanout_result {
	uint64_t sum;      /* sum of i*i over the range, mod 2^64 */
	uint32_t core;     /* where the worker ran */
	uint32_t reserved; /* 0 */
};

extern const struct atoll_actor_type fanout_type;
extern const struct atoll_type_info fanout_info;
extern const struct atoll_actor_type fanout_worker_type;
extern const struct atoll_type_info fanout_worker_info;

#endif /* ATOLL_ACTORS_FANOUT_H */
