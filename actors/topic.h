/*
 * topic.h - publish/subscribe: every message published to the topic is
 * delivered, as ATOLL_LIB_DATA, to every subscriber, on every core.
 *
 * Subscribers come from the optional `subscribers` LINK (static, resolved
 * before anything runs) and from ATOLL_TOPIC_SUBSCRIBE messages at run
 * time; ATOLL_TOPIC_UNSUBSCRIBE removes one. A subscriber that has stopped
 * is dropped when a local send to it fails (a remote one only shows as
 * dead letters on its core).
 *
 * Parameters:
 *   subscribers  LINK  static subscribers (optional)
 *
 * Ownership - one payload, many readers. A message has one owner, so each
 * subscriber must get a message of its own. Copying the payload for each
 * would cost n copies; instead the topic keeps the published message and
 * gives each subscriber a small header-only message whose buffer is
 * attached (atoll_msg_attach) to the published payload, with a release hook
 * that drops one reference on a shared, atomically counted block. The last
 * release, on whichever core, frees the published message. So fan-out to n
 * subscribers costs n small allocations and no payload copy. Subscribers
 * must treat the payload as read-only (it is shared); a stage that rewrites
 * payloads in place (the parser) copies attached buffers first. With a
 * single subscriber the published message itself is forwarded.
 *
 * Accepts ATOLL_TOPIC_PUBLISH and ATOLL_LIB_DATA (published),
 * ATOLL_TOPIC_SUBSCRIBE, ATOLL_TOPIC_UNSUBSCRIBE, ATOLL_LIB_END (an END to
 * every subscriber, with what it was delivered) and ATOLL_LIB_STATS
 * (in = messages published, out = deliveries, bytes = payload bytes
 * delivered, dropped = deliveries whose send failed).
 */
#ifndef ATOLL_TOPIC_H
#define ATOLL_TOPIC_H

#include "lib_msg.h"

#ifdef __cplusplus
extern "C" {
#endif

enum atoll_topic_msg {
	/* Payload: the bytes to publish (delivered as ATOLL_LIB_DATA). */
	ATOLL_TOPIC_PUBLISH = ATOLL_LIB_MSG_BLOCK(7),
	/* Payload: the atoll_ref to add (none: the message's reply_to).
	 * Subscribing twice delivers twice. */
	ATOLL_TOPIC_SUBSCRIBE,
	/* Payload: the atoll_ref to remove (none: reply_to); its first entry. */
	ATOLL_TOPIC_UNSUBSCRIBE,
};

/* The topic actor type; its init takes a const struct atoll_params *. */
extern const struct atoll_actor_type atoll_topic_type;
/* Its description for topologies and `atoll list`. */
extern const struct atoll_type_info atoll_topic_info;

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_TOPIC_H */
