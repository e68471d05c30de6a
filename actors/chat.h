/*
 * chat.h - a multi-core line chat server over TCP, usable with nc.
 *
 * Each chat actor is the room of its reactor and runs a TCP listener there
 * (all members share one port, SO_REUSEPORT; use placement = each, so that
 * clients land on every reactor). A client's connection lives on the core
 * that accepted it and joins that core's room; a line it sends goes to its
 * room, which writes it to its other local clients and relays it to every
 * other room of the group (the actor's own group: no link needed), which
 * writes it to theirs. So a broadcast crosses each core boundary once, and
 * every client sees each other client's lines in the order they were sent.
 *
 * What a client sees: "* welcome, you are NAME" on connecting (NAME is
 * guestR-K until /nick), "NAME: text" for others' lines, and notices
 * "* NAME joined", "* NAME left", "* OLD is now known as NEW". Commands:
 * /nick NEW (1 to 32 bytes, no spaces; answered "* you are now NEW"),
 * /quit (answered "* bye", then the connection closes). A line longer than
 * max_line ends the connection with "* line too long"; a client whose
 * unread output exceeds 1 MiB is disconnected.
 *
 *   [chat]
 *   type = chat
 *   placement = each
 *   port = 7002
 */
#ifndef ATOLL_CHAT_H
#define ATOLL_CHAT_H

#include <atoll.h>

#include "lib_msg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Messages between connections and rooms. Payload of all but
 * ATOLL_CHAT_DELIVER: struct atoll_chat_note followed by the text. */
enum atoll_chat_msg {
	/* Connection -> its room: it joined; text: the notice for others. */
	ATOLL_CHAT_JOIN = ATOLL_LIB_MSG_BLOCK(15),
	/* Connection -> its room: a line (or a notice) for everyone else. */
	ATOLL_CHAT_SAY,
	/* Connection -> its room: it left; text: the notice for others. */
	ATOLL_CHAT_LEAVE,
	/* Room -> the other rooms: text for all of their clients. */
	ATOLL_CHAT_RELAY,
	/* Room -> a connection: one line to write to its client (the
	 * payload is the text, no note). */
	ATOLL_CHAT_DELIVER,
};

struct atoll_chat_note {
	atoll_ref from; /* the connection it came from */
};

/* The chat type: parameters port (default 7002), bind, max_connections,
 * max_line (default 4k). */
extern const struct atoll_type_info chat_info;

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_CHAT_H */
