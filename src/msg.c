/*
 * msg.c - message allocation. A message is one block: the header, then the
 * inline payload. An attached buffer replaces the inline payload and is given
 * back through the message's release hook when the message is freed.
 */
#include "atoll/msg.h"

#include <string.h>

#include "alloc.h"
#include "msg.h"

#ifndef ATOLL_USE_JEMALLOC
#define ATOLL_USE_JEMALLOC 0
#endif

_Thread_local struct atoll__msg_pool *atoll__tls_pool;

/*
 * The message the running actor is receiving, on a reactor thread (set by
 * reactor.c). Freeing it from inside receive() tells the runtime not to
 * free it again.
 */
_Thread_local atoll_msg **atoll__tls_current_msg;

atoll_msg *atoll_msg_new(uint32_t type, size_t len)
{
	atoll_msg *msg;

	uint32_t flags = 0;

	if (len > UINT32_MAX - sizeof(*msg))
		return NULL;
	if (ATOLL_USE_JEMALLOC && len <= ATOLL__POOL_PAYLOAD) {
		struct atoll__msg_pool *pool = atoll__tls_pool;

		flags = ATOLL__MSGF_POOLED;
		if (pool != NULL)
			flags |= pool->home << ATOLL__MSGF_HOME_SHIFT;
		if (pool != NULL && pool->head != NULL) {
			msg = pool->head;
			pool->head = msg->next;
			pool->count--;
		} else {
			msg = atoll__alloc(sizeof(*msg) + ATOLL__POOL_PAYLOAD);
		}
	} else {
		msg = atoll__alloc(sizeof(*msg) + len);
	}
	if (msg == NULL)
		return NULL;
	msg->next = NULL;
	msg->to = ATOLL_REF_NONE;
	msg->reply_to = ATOLL_REF_NONE;
	msg->corr = 0;
	msg->data = msg + 1;
	msg->type = type;
	msg->len = (uint32_t)len;
	msg->cap = (uint32_t)len;
	msg->flags = flags;
	msg->release = NULL;
	return msg;
}

atoll_msg *atoll_msg_new_copy(uint32_t type, const void *data, size_t len)
{
	atoll_msg *msg = atoll_msg_new(type, len);

	if (msg != NULL && len > 0)
		memcpy(msg->data, data, len);
	return msg;
}

void atoll_msg_free(atoll_msg *msg)
{
	if (msg == NULL)
		return;
	if (atoll__tls_current_msg != NULL && *atoll__tls_current_msg == msg)
		*atoll__tls_current_msg = NULL;
	if (msg->release != NULL)
		msg->release(msg);
	if (msg->flags & ATOLL__MSGF_POOLED) {
		struct atoll__msg_pool *pool = atoll__tls_pool;

		if (pool != NULL && pool->count < ATOLL__POOL_MAX &&
		    pool->home == msg->flags >> ATOLL__MSGF_HOME_SHIFT) {
			msg->next = pool->head;
			pool->head = msg;
			pool->count++;
			return;
		}
	}
	atoll__free(msg);
}

void atoll__msg_pool_drain(struct atoll__msg_pool *pool)
{
	atoll_msg *m = pool->head;

	while (m != NULL) {
		atoll_msg *next = m->next;
		atoll__free(m);
		m = next;
	}
	pool->head = NULL;
	pool->count = 0;
}

void atoll_msg_attach(atoll_msg *msg, void *data, uint32_t len, uint32_t cap,
		      atoll_msg_release_fn release)
{
	msg->data = data;
	msg->len = len;
	msg->cap = cap;
	msg->release = release;
}
