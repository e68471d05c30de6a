/*
 * kv_strings.h - the string commands of atoll-kv (GET, SET, INCR, ...), as
 * shard functions for the command table (kv_cmd.h). Each runs against one
 * store and writes exactly one RESP reply to x->out.
 */
#ifndef ATOLL_KV_STRINGS_H
#define ATOLL_KV_STRINGS_H

#include "kv_cmd.h"

#ifdef __cplusplus
extern "C" {
#endif

void kv_cmd_get(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_set(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_setnx(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_setex(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_psetex(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_getset(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_getdel(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_getex(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_mget(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_mset(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_msetnx(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_append(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_strlen(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_incr(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_decr(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_incrby(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_decrby(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_incrbyfloat(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_getrange(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_setrange(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_substr(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_lcs(struct kv_exec *x, int argc, const struct kv_arg *argv);

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_KV_STRINGS_H */
