/*
 * line_server.h - a line-protocol TCP server, reusable for any protocol
 * whose requests and replies are lines of text.
 *
 * Each line-server actor runs a TCP listener on its reactor (all members of
 * a group share one port with SO_REUSEPORT; placement = each gives one per
 * reactor). Every connection cuts its input into lines (line_frame.h: "\n"
 * or "\r\n", at most max_line bytes) and sends each line, as an
 * ATOLL_LIB_DATA message with reply_to = the connection actor, to the
 * member of the linked `handler` group nearest its core
 * (atoll_params_link_near). Whatever the handler answers with atoll_reply
 * is written back to the client followed by "\n": an ATOLL_LIB_DATA reply
 * (or any other type) is one line; an ATOLL_LIB_END reply closes the
 * connection once what was written has gone out. Replies from one handler
 * come back in the order of the lines.
 *
 * A line longer than max_line gets "ERR line too long" and the connection
 * is closed; a client whose unread replies exceed 1 MiB is disconnected.
 *
 *   [upper]
 *   type = my-upper        ; replies to each DATA with a DATA
 *   placement = each
 *   [lines]
 *   type = line-server
 *   placement = each
 *   port = 7001
 *   handler = upper
 */
#ifndef ATOLL_LINE_SERVER_H
#define ATOLL_LINE_SERVER_H

#include <atoll.h>

#include "lib_msg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The line-server type: parameters port (default 7001), bind,
 * max_connections, max_line (default 64k) and handler (a LINK, required).
 * Accepts no messages itself; its connections send ATOLL_LIB_DATA to the
 * handler and take its replies. */
extern const struct atoll_type_info line_server_info;

/* What a client gets before its connection closes for an overlong line. */
#define ATOLL_LINE_SERVER_TOO_LONG "ERR line too long"

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_LINE_SERVER_H */
