/*
 * supervisor.h - a supervisor actor: starts children from child specs,
 * monitors them, and restarts them by Erlang's rules.
 *
 * Strategies: ONE_FOR_ONE restarts the child that stopped; ONE_FOR_ALL stops
 * every other child (in reverse start order, waiting for each one's DOWN)
 * and restarts them all in start order; REST_FOR_ONE does that for the
 * children started after the one that stopped. Restart policies: PERMANENT
 * children are always restarted, TRANSIENT ones only after a failure (not a
 * normal stop), TEMPORARY ones never. More than max_restarts restarts within
 * window_ns and the supervisor gives up: it stops its children, waits for
 * every one's DOWN, and fails itself with ATOLL_SUPERVISOR_GAVE_UP, which its
 * own monitors and links see (so supervisors nest).
 *
 * A restarted child gets a new ref of its own. To give others a ref that
 * stays good across restarts, give the child an alias (atoll_alias_new on
 * the child's reactor, in .opts.alias): every incarnation answers to it.
 * A child with a name is registered under it in the runtime registry
 * (atoll_register) while it runs (its alias if it has one, else its current
 * ref), so atoll_lookup finds the current one; the supervisor also answers
 * ATOLL_SUPERVISOR_WHICH_CHILD. Children may live on any core. Failures of
 * children are logged (warn), and giving up (error).
 *
 *   static const struct atoll_supervisor_child kids[] = {
 *           { .name = "cache", .type = &cache_type, .where = 1,
 *             .restart = ATOLL_SUPERVISOR_PERMANENT },
 *           { .name = "writer", .type = &writer_type, .arg = &wcfg, .where = 2,
 *             .restart = ATOLL_SUPERVISOR_TRANSIENT },
 *   };
 *   static const struct atoll_supervisor_spec spec = {
 *           .strategy = ATOLL_SUPERVISOR_ONE_FOR_ONE, .max_restarts = 3,
 *           .window_ns = 5000000000, .children = kids, .nchildren = 2,
 *   };
 *   atoll_spawn(ctx, &atoll_supervisor_type, &spec, ATOLL_HERE, &sup);
 *
 * Stopping a supervisor (atoll_stop) stops its children: the stop requests
 * go out in reverse start order from its stop hook. To wait for each child
 * to be gone before the next is stopped and before the supervisor stops,
 * send it ATOLL_SUPERVISOR_SHUTDOWN instead.
 */
#ifndef ATOLL_SUPERVISOR_H
#define ATOLL_SUPERVISOR_H

#include <stdint.h>

#include <atoll.h>

#ifdef __cplusplus
extern "C" {
#endif

enum atoll_supervisor_strategy {
	ATOLL_SUPERVISOR_ONE_FOR_ONE = 0,
	ATOLL_SUPERVISOR_ONE_FOR_ALL = 1,
	ATOLL_SUPERVISOR_REST_FOR_ONE = 2,
};

enum atoll_supervisor_restart {
	ATOLL_SUPERVISOR_PERMANENT = 0, /* always restarted */
	ATOLL_SUPERVISOR_TRANSIENT = 1, /* restarted after a failure only */
	ATOLL_SUPERVISOR_TEMPORARY = 2, /* never restarted */
};

/* The code a supervisor fails with when restarts exceed its intensity. */
#define ATOLL_SUPERVISOR_GAVE_UP (-EMLINK)

/* Most children one supervisor takes. */
#define ATOLL_SUPERVISOR_MAX_CHILDREN ATOLL_PARAMS_MAX_CHILDREN

/* A child spec. */
struct atoll_supervisor_child {
	/* Registry name (copied; at most ATOLL_NAME_MAX bytes), or NULL. */
	const char *name;
	const struct atoll_actor_type *type;
	/* init's argument, for the first start and every restart: it must
	 * outlive the supervisor. */
	const void *arg;
	/* Reactor index, or ATOLL_HERE (the supervisor's). */
	int where;
	enum atoll_supervisor_restart restart;
	/* Mailbox options and alias (flags and monitor are the supervisor's:
	 * ignored). With an alias, where must be the alias's reactor. */
	struct atoll_spawn_opts opts;
};

/* The supervisor's init argument: copied during init (the children's args
 * excepted, see above); from another core, it must stay valid until then. */
struct atoll_supervisor_spec {
	enum atoll_supervisor_strategy strategy;
	/* Restarts allowed within window_ns; 0: 3 within 5 s. */
	unsigned max_restarts;
	uint64_t window_ns;
	const struct atoll_supervisor_child *children; /* in start order */
	unsigned nchildren;
};

/* Messages the supervisor accepts, and its answers. */
enum atoll_supervisor_msg {
	/* Ask (atoll_ask): payload a child's name (no NUL needed). The answer,
	 * ATOLL_SUPERVISOR_CHILD, carries the child's current atoll_ref, or
	 * ATOLL_REF_NONE when it is not running or unknown. */
	ATOLL_SUPERVISOR_WHICH_CHILD = ATOLL_MSG_USER + 0x400,
	ATOLL_SUPERVISOR_CHILD,
	/* Stops the children one at a time in reverse start order, each after
	 * the previous one's DOWN, then the supervisor itself (normal stop). */
	ATOLL_SUPERVISOR_SHUTDOWN,
};

/* Init fails with -EINVAL for a bad spec, or with the error of a child that
 * could not be spawned (the children started so far are stopped). */
extern const struct atoll_actor_type atoll_supervisor_type;

/* The supervisor as topologies know it ("type = supervisor"): parameters
 * strategy, max_restarts and window; its children are the groups that name
 * it (`supervisor = GROUP`, `restart = permanent|transient|temporary`),
 * each member under an alias, so its ref survives restarts. */
extern const struct atoll_type_info atoll_supervisor_info;

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_SUPERVISOR_H */
