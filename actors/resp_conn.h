/*
 * resp_conn.h - the atoll-kv connection actor: one per client, on the
 * reactor that accepted it, speaking RESP2/RESP3 over actors/tcp_conn.
 *
 * It parses pipelined requests, runs commands on its own core's shard
 * directly, batches the others per shard per read (kv_shard.h), combines
 * the replies of commands that touch several shards, and writes every reply
 * in request order. Start it through the TCP listener:
 *
 *   struct resp_conn_proto proto;
 *   resp_conn_proto_init(&proto, &server);
 *   struct atoll_tcp_listener_args args = {
 *           .host = "127.0.0.1", .port = 6379,
 *           .conn_type = &atoll_tcp_conn_type, .conn_arg = &proto.tcp,
 *   };
 *
 * The proto struct and the server must outlive the runtime.
 */
#ifndef ATOLL_RESP_CONN_H
#define ATOLL_RESP_CONN_H

#include "kv_server.h"
#include "tcp_conn.h"

#ifdef __cplusplus
extern "C" {
#endif

struct resp_conn_proto {
	struct atoll_tcp_proto tcp; /* first: the listener passes &tcp */
	struct kv_server *server;
};

/* Fills p for server srv. */
void resp_conn_proto_init(struct resp_conn_proto *p, struct kv_server *srv);

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_RESP_CONN_H */
