/*
 * chat.c - the chat rooms and their connections (chat.h).
 *
 * Invariants: a room knows only the connections of its own reactor
 * (`members`, added on JOIN, removed on LEAVE), and a relayed line is
 * delivered by each room to its own members only, so each client gets a
 * line once. A room's shared block (protocol table, room ref, guest
 * counter) is counted as line_server.c's is: the listener's count and one
 * per open connection, all on the room's reactor.
 */
#include "chat.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcp_conn.h"
#include "tcp_listener.h"

#define OUTPUT_LIMIT (1024u * 1024u)
#define NICK_MAX 32

struct block {
	struct atoll_tcp_proto tcp; /* first: conn_arg points here */
	atoll_ref room;
	unsigned core;
	uint64_t guests; /* guest names given out */
	unsigned refs;
};

static void block_drop(struct block *b)
{
	if (--b->refs == 0)
		free(b);
}

static void block_release(const void *conn_arg)
{
	block_drop((struct block *)(uintptr_t)conn_arg);
}

/* --- connections --------------------------------------------------------- */

struct chat_conn {
	struct block *block;
	char nick[NICK_MAX + 1];
};

/* Sends text to the room as a note of type. Returns as atoll_send. */
static int tell_room(atoll_ctx *ctx, struct block *b, uint32_t type, const char *text, size_t len)
{
	struct atoll_chat_note note = { .from = atoll_self(ctx) };
	atoll_msg *m = atoll_msg_new(type, sizeof(note) + len);

	if (m == NULL)
		return -ENOMEM;
	memcpy(m->data, &note, sizeof(note));
	memcpy((char *)m->data + sizeof(note), text, len);
	return atoll_send(ctx, b->room, m);
}

static void say(atoll_ctx *ctx, struct atoll_tcp_conn *c, const char *text)
{
	(void)atoll_tcp_conn_write(ctx, c, text, strlen(text));
}

static int conn_open(atoll_ctx *ctx, struct atoll_tcp_conn *c, void *state, const void *user)
{
	struct chat_conn *self = state;
	char text[NICK_MAX + 64];

	self->block = (struct block *)(uintptr_t)user;
	self->block->refs++;
	snprintf(self->nick, sizeof(self->nick), "guest%u-%llu", self->block->core,
		 (unsigned long long)++self->block->guests);
	snprintf(text, sizeof(text), "* welcome, you are %s", self->nick);
	say(ctx, c, text);
	snprintf(text, sizeof(text), "* %s joined", self->nick);
	return tell_room(ctx, self->block, ATOLL_CHAT_JOIN, text, strlen(text)) < 0 ? -ENOMEM : 0;
}

static void nick(atoll_ctx *ctx, struct atoll_tcp_conn *c, struct chat_conn *self, const char *name,
		 size_t len)
{
	char text[2 * NICK_MAX + 64];

	if (len == 0 || len > NICK_MAX || memchr(name, ' ', len) != NULL) {
		say(ctx, c, "* a nick is 1 to 32 bytes without spaces");
		return;
	}
	snprintf(text, sizeof(text), "* %s is now known as %.*s", self->nick, (int)len, name);
	(void)tell_room(ctx, self->block, ATOLL_CHAT_SAY, text, strlen(text));
	memcpy(self->nick, name, len);
	self->nick[len] = '\0';
	snprintf(text, sizeof(text), "* you are now %s", self->nick);
	say(ctx, c, text);
}

static void conn_line(atoll_ctx *ctx, struct atoll_tcp_conn *c, void *state, const char *data,
		      size_t len)
{
	struct chat_conn *self = state;
	atoll_msg *m;
	size_t nlen = strlen(self->nick);

	if (len >= 6 && memcmp(data, "/nick ", 6) == 0) {
		nick(ctx, c, self, data + 6, len - 6);
		return;
	}
	if (len == 5 && memcmp(data, "/quit", 5) == 0) {
		say(ctx, c, "* bye");
		atoll_tcp_conn_close(ctx, c);
		return;
	}
	/* "NICK: text", built in the message that carries it. */
	m = atoll_msg_new(ATOLL_CHAT_SAY, sizeof(struct atoll_chat_note) + nlen + 2 + len);
	if (m == NULL)
		return;
	struct atoll_chat_note note = { .from = atoll_self(ctx) };
	char *p = (char *)m->data + sizeof(note);

	memcpy(m->data, &note, sizeof(note));
	memcpy(p, self->nick, nlen);
	memcpy(p + nlen, ": ", 2);
	memcpy(p + nlen + 2, data, len);
	(void)atoll_send(ctx, self->block->room, m);
}

static void conn_message(atoll_ctx *ctx, struct atoll_tcp_conn *c, void *state, atoll_msg *msg)
{
	(void)state;
	if (msg->type != ATOLL_CHAT_DELIVER)
		return;
	if (atoll_tcp_conn_write(ctx, c, msg->data, msg->len) == 0 &&
	    atoll_tcp_conn_pending(c) > OUTPUT_LIMIT)
		atoll_tcp_conn_abort(ctx, c, -ENOBUFS);
}

static void conn_close(atoll_ctx *ctx, struct atoll_tcp_conn *c, void *state, int reason)
{
	struct chat_conn *self = state;
	char text[NICK_MAX + 16];

	if (reason == -EMSGSIZE)
		say(ctx, c, "* line too long");
	snprintf(text, sizeof(text), "* %s left", self->nick);
	(void)tell_room(ctx, self->block, ATOLL_CHAT_LEAVE, text, strlen(text));
	block_drop(self->block); /* its last use here (tcp_conn.h) */
}

/* --- rooms --------------------------------------------------------------- */

struct room {
	atoll_ref listener;
	atoll_ref *peers; /* the other rooms of the group */
	size_t npeers;
	atoll_ref *members; /* connections on this reactor */
	size_t nmembers, cap;
};

/* Writes text to every member but `except`. */
static void deliver(atoll_ctx *ctx, struct room *r, atoll_ref except, const char *text, size_t len)
{
	for (size_t i = 0; i < r->nmembers; i++)
		if (r->members[i] != except)
			(void)atoll_tell(ctx, r->members[i], ATOLL_CHAT_DELIVER, text, len);
}

static void relay(atoll_ctx *ctx, struct room *r, const char *text, size_t len)
{
	for (size_t i = 0; i < r->npeers; i++)
		(void)atoll_tell(ctx, r->peers[i], ATOLL_CHAT_RELAY, text, len);
}

static void join(struct room *r, atoll_ref conn)
{
	if (r->nmembers == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		atoll_ref *m = realloc(r->members, cap * sizeof(*m));

		if (m == NULL)
			return; /* It will hear nothing; it can still talk. */
		r->members = m;
		r->cap = cap;
	}
	r->members[r->nmembers++] = conn;
}

static void leave(struct room *r, atoll_ref conn)
{
	for (size_t i = 0; i < r->nmembers; i++) {
		if (r->members[i] == conn) {
			r->members[i] = r->members[--r->nmembers];
			return;
		}
	}
}

static void room_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct room *r = state;
	struct atoll_chat_note note;
	const char *text;
	size_t len;

	if (msg->type == ATOLL_CHAT_RELAY) {
		deliver(ctx, r, ATOLL_REF_NONE, msg->data, msg->len);
		return;
	}
	if (msg->type < ATOLL_CHAT_JOIN || msg->type > ATOLL_CHAT_LEAVE || msg->len < sizeof(note))
		return;
	memcpy(&note, msg->data, sizeof(note));
	text = (const char *)msg->data + sizeof(note);
	len = msg->len - sizeof(note);
	if (msg->type == ATOLL_CHAT_JOIN)
		join(r, note.from);
	else if (msg->type == ATOLL_CHAT_LEAVE)
		leave(r, note.from);
	deliver(ctx, r, note.from, text, len);
	relay(ctx, r, text, len);
}

static int room_init(atoll_ctx *ctx, void *state, const void *arg)
{
	const struct atoll_params *p = arg;
	struct room *r = state;
	const atoll_ref *group;
	size_t n = atoll_params_group(p, &group);
	unsigned me = atoll_params_index(p);
	struct block *b;
	int err;

	r->peers = calloc(n ? n : 1, sizeof(*r->peers));
	b = calloc(1, sizeof(*b));
	if (r->peers == NULL || b == NULL) {
		free(r->peers);
		free(b);
		return -ENOMEM;
	}
	for (size_t i = 0; group != NULL && i < n; i++)
		if (i != me)
			r->peers[r->npeers++] = group[i];
	b->tcp = (struct atoll_tcp_proto){
		.framing = ATOLL_TCP_LINES,
		.max_frame = (uint32_t)atoll_params_int(p, "max_line"),
		.state_size = sizeof(struct chat_conn),
		.open = conn_open,
		.frame = conn_line,
		.message = conn_message,
		.close = conn_close,
	};
	b->room = atoll_self(ctx);
	b->core = atoll_core(ctx);
	b->refs = 1; /* the listener's */
	err = atoll_tcp_listener_spawn(ctx, p, &atoll_tcp_conn_type, &b->tcp, block_release,
				       &r->listener);
	if (err < 0) {
		free(b);
		free(r->peers);
	}
	return err;
}

static void room_stop(atoll_ctx *ctx, void *state)
{
	struct room *r = state;

	(void)atoll_stop(ctx, r->listener);
	free(r->peers);
	free(r->members);
}

static const struct atoll_actor_type chat_type = {
	.name = "chat",
	.state_size = sizeof(struct room),
	.init = room_init,
	.receive = room_receive,
	.stop = room_stop,
};

static const struct atoll_param_spec chat_params[] = {
	ATOLL_TCP_LISTENER_PARAMS("7002"),
	{ "max_line", ATOLL_PARAM_SIZE, "4k", 1, 1024 * 1024, NULL,
	  "longest line a client may send", 0 },
	{ 0 },
};

static const struct atoll_msg_spec chat_accepts[] = {
	{ ATOLL_CHAT_JOIN, "JOIN", "a connection on this reactor joined (note + notice)" },
	{ ATOLL_CHAT_SAY, "SAY", "a line from a local connection (note + text)" },
	{ ATOLL_CHAT_LEAVE, "LEAVE", "a local connection left (note + notice)" },
	{ ATOLL_CHAT_RELAY, "RELAY", "a line from another room, for every local client" },
	{ 0 },
};

static const struct atoll_msg_spec chat_sends[] = {
	{ ATOLL_CHAT_RELAY, "RELAY", "to the other rooms of the group" },
	{ ATOLL_CHAT_DELIVER, "DELIVER", "to a local connection: a line to write" },
	{ 0 },
};

const struct atoll_type_info chat_info = {
	.type = &chat_type,
	.summary = "multi-core line chat over TCP (nc): a room per reactor, lines broadcast "
		   "across rooms; /nick, /quit",
	.params = chat_params,
	.accepts = chat_accepts,
	.sends = chat_sends,
	.check = atoll_tcp_listener_check_params,
};
