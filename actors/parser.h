/*
 * parser.h - a pipeline stage: parses "seq=N value=V" records (what the
 * generator sends), emits each as the normalized record "N,V" to a linked
 * group (round-robin over its members), and drops and counts malformed
 * ones. N and V are unsigned decimal numbers of at most 19 digits; nothing
 * else may come before, between or after them.
 *
 * Parameters:
 *   to            LINK  the next stage (acyclic)
 *   on_malformed  ENUM  drop (default: dropped and counted) or fail (the
 *                       parser fails with -EBADMSG: for a supervisor)
 *
 * Ownership: a DATA record with an inline payload is rewritten in place and
 * forwarded (the output is never longer than the input), so the stage
 * allocates nothing; a record whose buffer is attached (it may be shared,
 * e.g. by a topic) is left alone and the output is a new message.
 *
 * Accepts ATOLL_LIB_DATA, ATOLL_LIB_END (passed on to every member of `to`
 * with the count of records sent to it), ATOLL_LIB_STATS (in = records
 * received, out = records sent, dropped = malformed).
 */
#ifndef ATOLL_PARSER_H
#define ATOLL_PARSER_H

#include "lib_msg.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Parses one "seq=N value=V" record of len bytes and writes "N,V" to out
 * (room for len bytes; no NUL). Returns the length written, or -EINVAL for
 * a malformed record. Any thread.
 */
int atoll_parser_normalize(const char *in, size_t len, char *out);

/* The parser actor type; its init takes a const struct atoll_params *. */
extern const struct atoll_actor_type atoll_parser_type;
/* Its description for topologies and `atoll list`. */
extern const struct atoll_type_info atoll_parser_info;

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_PARSER_H */
