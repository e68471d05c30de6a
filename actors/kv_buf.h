/*
 * kv_buf.h - a growable byte buffer that a message can take over: batches
 * (kv_shard.h), log records and snapshots (kv_aof.h) are built in one and
 * then attached, without a copy, to the message that carries them.
 */
#ifndef ATOLL_KV_BUF_H
#define ATOLL_KV_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <atoll.h>

#include "kv_cmd.h"

#ifdef __cplusplus
extern "C" {
#endif

struct kv_buf {
	char *p;
	size_t len;
	size_t cap;
	bool oom; /* a growth failed: nothing more is added until reset */
};

/* Makes room for extra more bytes. Returns false (and sets oom) when out of
 * memory. */
bool kv_buf_room(struct kv_buf *b, size_t extra);
void kv_buf_add(struct kv_buf *b, const void *p, size_t len);
/* Appends one RESP multibulk command. */
void kv_buf_command(struct kv_buf *b, int argc, const struct kv_arg *argv);
/* The same with name (a C string) in place of argv[0], when not NULL. */
void kv_buf_command_as(struct kv_buf *b, const char *name, int argc, const struct kv_arg *argv);
/* Wraps b's bytes in a write message (struct atoll_io) of the given type; b
 * is emptied. NULL when out of memory or too big (b unchanged). */
struct atoll_io *kv_buf_take(struct kv_buf *b, uint32_t type);
/* Frees what free() would for an attached kv_buf (a message's release). */
void kv_buf_release(atoll_msg *msg);
void kv_buf_free(struct kv_buf *b);

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_KV_BUF_H */
