/*
 * kv_keys.h - the keyspace commands of atoll-kv (DEL, EXPIRE, SCAN, RENAME,
 * ...) and the internal kv.* commands, as shard functions for the command
 * table (kv_cmd.h). Each runs against one store and writes exactly one RESP
 * reply to x->out; the connection combines replies of commands it splits.
 */
#ifndef ATOLL_KV_KEYS_H
#define ATOLL_KV_KEYS_H

#include "kv_cmd.h"

#ifdef __cplusplus
extern "C" {
#endif

/* kv_keys.c: keys, databases, and OBJECT. */
void kv_cmd_del(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_unlink(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_exists(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_touch(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_type(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_keys(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_scan(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_randomkey(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_dbsize(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_flushdb(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_flushall(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_swapdb(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_rename(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_renamenx(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_copy(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_move(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_object(struct kv_exec *x, int argc, const struct kv_arg *argv);

/* kv_expire.c: expiry times. */
void kv_cmd_expire(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_pexpire(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_expireat(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_pexpireat(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_expiretime(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_pexpiretime(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_ttl(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_pttl(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_persist(struct kv_exec *x, int argc, const struct kv_arg *argv);

/* kv_internal.c: kv.dump, kv.restore, kv.info, kv.resetstat (kv_cmd.h). */
void kv_cmd_kv_dump(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_kv_restore(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_kv_info(struct kv_exec *x, int argc, const struct kv_arg *argv);
void kv_cmd_kv_resetstat(struct kv_exec *x, int argc, const struct kv_arg *argv);

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_KV_KEYS_H */
