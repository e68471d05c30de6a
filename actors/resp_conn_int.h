/*
 * resp_conn_int.h - the connection actor's state, shared by its parts:
 * resp_conn.c (input, routing), resp_conn_reply.c (ordered output),
 * kv_conn_cmds.c (the commands the connection runs itself), kv_coord.c
 * (commands whose keys span shards) and kv_info.c. Private to those files.
 *
 * Output order: replies that can be written at once go straight to `out`
 * while nothing is pending. From the first command of a read that has to
 * wait (a shard's reply, a lock), that read gets a struct rb and each of
 * its commands a slot; a slot's reply is made of parts (bytes written here,
 * or entry idx of batch bno's reply), combined when every part is in. rbs
 * are written out strictly in order.
 */
#ifndef ATOLL_RESP_CONN_INT_H
#define ATOLL_RESP_CONN_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "kv_cmd.h"
#include "kv_server.h"
#include "kv_shard.h"
#include "resp.h"
#include "resp_conn.h"
#include "tcp_conn.h"

/* How a slot's parts become the client's reply. */
enum combine {
	CMB_ONE,    /* one part, as it is */
	CMB_SUM,    /* integers added up (DEL, EXISTS, DBSIZE, ...) */
	CMB_OK,     /* every part +OK: the first; else the first error */
	CMB_CONCAT, /* arrays joined (KEYS) */
	CMB_MGET,   /* arrays interleaved back into key order */
	CMB_RANDOM, /* one of the non-null parts, at random */
	CMB_INFO,   /* KV_OP_INFO arrays, formatted as INFO text */
	CMB_TEXT,   /* bulk strings joined (CLIENT LIST) */
	CMB_KILL,   /* CLIENT KILL: a sum, or +OK / error in the old form */
	CMB_STATUS, /* every part +OK: the status in slot text; else the first error */
};

struct part {
	bool local;   /* bytes in rb->local, else a shard's reply */
	uint32_t bno; /* which batch of the rb */
	uint32_t idx; /* entry of that batch */
	size_t off;   /* local bytes */
	size_t len;
};

struct slot {
	uint8_t combine;
	uint32_t first_part;
	uint32_t nparts;
	uint32_t first_key; /* CMB_MGET: rb->keymap[first_key .. + nkeys) */
	uint32_t nkeys;
	uint64_t arg; /* CMB_SCAN: shard; CMB_KILL: old form */
	char *text;   /* CMB_INFO: the sections asked for (owned) */
};

struct rb {
	struct rb *next;
	uint64_t seq;
	struct slot *slots;
	uint32_t nslots, cap_slots;
	struct part *parts;
	uint32_t nparts, cap_parts;
	uint32_t *keymap; /* part index of each key, for CMB_MGET */
	uint32_t nkeymap, cap_keymap;
	struct resp_out local;
	atoll_msg **replies; /* by bno; NULL until it arrives or if lost */
	uint32_t *bshard;    /* by bno: the shard */
	uint32_t nbatches, cap_batches;
	uint32_t waiting; /* batches not answered, plus holds */
};

struct coord;

struct conn {
	struct kv_client client; /* in core->clients */
	struct kv_core *core;
	struct kv_server *srv;
	struct atoll_tcp_conn *tc;
	atoll_ctx *ctx; /* valid during a callback */
	struct resp_parser parser;
	char *qb; /* bytes not yet parsed */
	size_t qlen, qcap;
	struct kv_arg *argv;
	size_t argv_cap;
	struct resp_out out; /* ready to send, in order */
	struct rb *head, *tail, *cur, *spare;
	struct kv_batch *builders; /* [nshards], for cur */
	int32_t *bno;              /* [nshards]: bno of builders[s] in cur, or -1 */
	uint32_t own_inflight;     /* batches sent to our own shard, unanswered */
	uint64_t rb_seq;
	uint64_t now_ms;
	struct coord *coord; /* a command spanning shards, in progress */
	bool blocked;        /* parsing waits: coordinator, DEBUG SLEEP */
	bool closing;        /* close once every reply is out */
	bool ended;          /* tcp_conn's close ran */
	bool counted;        /* included in srv->clients */
	bool drop;           /* over the output limit: reset at the next flush */
	bool local_peer;     /* connected from a loopback address */
	struct rb *hold_rb;  /* conn_block's rb and slot */
	uint32_t hold_slot;
	int32_t imm_slot; /* conn_reply_begin's slot in cur, or -1 */
	size_t imm_off;
};

/* corr of a batch: the rb's sequence number and the batch's number in it;
 * batches of a coordinated command carry CORR_COORD instead. */
#define CORR_BNO_BITS 20
#define CORR_COORD (1ull << 63)

/* Message types the connection sends itself. */
enum conn_msg {
	CONN_MSG_WAKE = ATOLL_MSG_USER + 0x380, /* DEBUG SLEEP is over */
};

/* resp_conn_reply.c: rbs, slots, parts, batches and ordered output. */
void conn_grow(void **p, uint32_t *cap, uint32_t need, size_t elem, bool *ok);
struct part *conn_new_part(struct rb *rb, struct slot *s);
void conn_rb_destroy(struct rb *rb);
/* Writes out every rb at the head that has all its parts, then sends. */
void conn_emit_ready(struct conn *c);
struct resp_out *conn_reply_begin(struct conn *c);
void conn_reply_end(struct conn *c);
struct rb *conn_rb(struct conn *c);
struct slot *conn_slot(struct conn *c, uint8_t combine);
bool conn_add_local_part(struct conn *c, struct slot *s, size_t off, size_t len);
void conn_add_remote(struct conn *c, struct slot *s, unsigned shard, uint32_t op, int argc,
		     const struct kv_arg *argv);
void conn_to_all(struct conn *c, uint8_t combine, uint32_t op, int argc, const struct kv_arg *argv,
		 uint64_t arg, char *text);
void conn_flush_builders(struct conn *c);
/* A blocking command (coordinator, DEBUG SLEEP): parsing stops after it,
 * and its reply slot waits. Returns false when out of memory. */
bool conn_block(struct conn *c);
/* Where the blocking command writes its reply; *off marks its start. */
struct resp_out *conn_block_out(struct conn *c, size_t *off);
void conn_error(struct conn *c, const char *err);
bool conn_authed(const struct conn *c);

/* resp_conn.c: input, routing, the connection's life. */
/* The reply is written from off: release the slot and go on parsing. */
void conn_unblock(struct conn *c, size_t off);
/* Runs cmd on shard: here if it is ours and allowed, else in a batch. */
void conn_route_key(struct conn *c, const struct kv_command *cmd, int argc,
		    const struct kv_arg *argv, unsigned shard);

/* kv_conn_cmds.c: commands with route KV_ROUTE_CONN. */
void conn_command(struct conn *c, const struct kv_command *cmd, int argc,
		  const struct kv_arg *argv);
/* CMB_INFO and CMB_TEXT output, from the shards' parts. */
void conn_emit_info(struct conn *c, struct rb *rb, const struct slot *s, struct resp_out *o);
void conn_wake(struct conn *c);

/* kv_coord.c: commands whose keys span shards. */
void coord_start(struct conn *c, const struct kv_command *cmd, int argc, const struct kv_arg *argv);
void coord_reply(struct conn *c, atoll_msg *msg);
/* SCAN from server-wide cursor (shard, tc): pages from one shard at a time. */
void coord_scan(struct conn *c, const struct kv_command *cmd, int argc, const struct kv_arg *argv,
		unsigned shard, unsigned long long tc);
void coord_abandon(struct conn *c);

/* Part bytes, for the emitters. */
const char *conn_part_bytes(const struct rb *rb, const struct part *p, size_t *len);

#endif /* ATOLL_RESP_CONN_INT_H */
