/*
 * router.h - forwards every message it receives, unchanged, to one member
 * of a linked group: the message itself moves (ownership and buffer, no
 * copy), so a router costs one hop.
 *
 * Parameters:
 *   to    LINK    the group to route to
 *   mode  ENUM    round-robin (default): members in turn;
 *                 hash: by the XXH3 hash of the payload, or of its key (the
 *                       bytes before the first `sep`), so equal keys always
 *                       reach the same member;
 *                 near: the member on the router's own core (see
 *                       atoll_params_link_near), for "the shard here"
 *   sep   STRING  hash mode: the key ends at the first byte of sep
 *                 (e.g. ","); empty (default): the whole payload is the key
 *
 * ATOLL_LIB_END is not routed to one member but answered by an END to every
 * member (each with the count routed to it), so a stage behind a router
 * sees its stream end; ATOLL_LIB_STATS is answered by the router (in, out,
 * bytes routed, dropped = sends that failed). Everything else is routed.
 */
#ifndef ATOLL_ROUTER_H
#define ATOLL_ROUTER_H

#include "lib_msg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Router modes: the `mode` parameter's index. */
enum atoll_router_mode {
	ATOLL_ROUTER_ROUND_ROBIN = 0,
	ATOLL_ROUTER_HASH,
	ATOLL_ROUTER_NEAR,
};

/* The router actor type; its init takes a const struct atoll_params *. */
extern const struct atoll_actor_type atoll_router_type;
/* Its description for topologies and `atoll list`. */
extern const struct atoll_type_info atoll_router_info;

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_ROUTER_H */
