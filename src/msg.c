/*
 * msg.c - message allocation. A message is one block: the header, then the
 * inline payload. An attached buffer replaces the inline payload and is given
 * back through the message's release hook when the message is freed.
 */
#include "atoll/msg.h"

#include <string.h>

#include "alloc.h"

/*
 * The message the running actor is receiving, on a reactor thread (set by
 * reactor.c). Freeing it from inside receive() tells the runtime not to
 * free it again.
 */
_Thread_local atoll_msg **atoll__tls_current_msg;

atoll_msg *atoll_msg_new(uint32_t type, size_t len)
{
	atoll_msg *msg;

	if (len > UINT32_MAX - sizeof(*msg))
		return NULL;
	msg = atoll__alloc(sizeof(*msg) + len);
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
	msg->flags = 0;
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
	atoll__free(msg);
}

void atoll_msg_attach(atoll_msg *msg, void *data, uint32_t len, uint32_t cap,
		      atoll_msg_release_fn release)
{
	msg->data = data;
	msg->len = len;
	msg->cap = cap;
	msg->release = release;
}
