/*
 * kv_buf.c - the growable buffer of kv_buf.h.
 */
#include "kv_buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool kv_buf_room(struct kv_buf *b, size_t extra)
{
	size_t cap;
	char *p;

	if (b->oom)
		return false;
	if (b->len + extra <= b->cap)
		return true;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + extra)
		cap *= 2;
	p = realloc(b->p, cap);
	if (p == NULL) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void kv_buf_add(struct kv_buf *b, const void *p, size_t len)
{
	if (kv_buf_room(b, len)) {
		memcpy(b->p + b->len, p, len);
		b->len += len;
	}
}

void kv_buf_command(struct kv_buf *b, int argc, const struct kv_arg *argv)
{
	kv_buf_command_as(b, NULL, argc, argv);
}

void kv_buf_command_as(struct kv_buf *b, const char *name, int argc, const struct kv_arg *argv)
{
	char head[32];
	size_t need = 16;
	int n;

	for (int i = 0; i < argc; i++)
		need += (i == 0 && name != NULL ? strlen(name) : argv[i].len) + 24;
	if (!kv_buf_room(b, need))
		return;
	n = snprintf(head, sizeof(head), "*%d\r\n", argc);
	kv_buf_add(b, head, (size_t)n);
	for (int i = 0; i < argc; i++) {
		struct kv_arg a =
			i == 0 && name != NULL ? (struct kv_arg){ name, strlen(name) } : argv[i];

		n = snprintf(head, sizeof(head), "$%zu\r\n", a.len);
		kv_buf_add(b, head, (size_t)n);
		kv_buf_add(b, a.p, a.len);
		kv_buf_add(b, "\r\n", 2);
	}
}

void kv_buf_release(atoll_msg *msg)
{
	free(msg->data);
}

struct atoll_io *kv_buf_take(struct kv_buf *b, uint32_t type)
{
	struct atoll_io *io;

	if (b->len > UINT32_MAX / 2)
		return NULL; /* callers keep pieces far smaller */
	io = atoll_io_new(type, 0);
	if (io == NULL)
		return NULL;
	atoll_msg_attach(&io->msg, b->p, (uint32_t)b->len,
			 (uint32_t)(b->cap > UINT32_MAX ? b->len : b->cap), kv_buf_release);
	memset(b, 0, sizeof(*b));
	return io;
}

void kv_buf_free(struct kv_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}
