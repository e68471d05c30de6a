/*
 * line_frame.c - cutting a byte stream into lines (line_frame.h).
 *
 * Invariants: `partial` holds only the start of one line whose "\n" has not
 * arrived, never more than max_line + 1 bytes (the extra one a "\r" that may
 * turn out to end the line); once `error` is set every call returns it and
 * consumes nothing.
 */
#include "line_frame.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_LINE (64u * 1024u)

void atoll_line_frame_init(struct atoll_line_frame *f, size_t max_line)
{
	*f = (struct atoll_line_frame){ 0 };
	if (max_line == 0)
		max_line = DEFAULT_MAX_LINE;
	/* max_line + 1 must not wrap. */
	f->max_line = max_line < SIZE_MAX / 2 ? max_line : SIZE_MAX / 2;
}

void atoll_line_frame_free(struct atoll_line_frame *f)
{
	free(f->partial);
	f->partial = NULL;
	f->partial_len = 0;
	f->partial_cap = 0;
}

size_t atoll_line_frame_pending(const struct atoll_line_frame *f)
{
	return f->partial_len;
}

/* Appends len bytes to the partial line; the caller has checked the limit,
 * so the buffer never grows past max_line + 1. Returns 0 or -ENOMEM. */
static int gather(struct atoll_line_frame *f, const char *data, size_t len)
{
	size_t need = f->partial_len + len;

	if (need > f->partial_cap) {
		size_t cap = f->partial_cap ? f->partial_cap : 128;
		char *p;

		while (cap < need)
			cap *= 2;
		if (cap > f->max_line + 1)
			cap = f->max_line + 1;
		p = realloc(f->partial, cap);
		if (p == NULL)
			return -ENOMEM;
		f->partial = p;
		f->partial_cap = cap;
	}
	if (len != 0)
		memcpy(f->partial + f->partial_len, data, len);
	f->partial_len = need;
	return 0;
}

static int fail(struct atoll_line_frame *f, int err)
{
	f->error = err;
	return err;
}

int atoll_line_frame_next(struct atoll_line_frame *f, struct atoll_line_input *in,
			  const char **line, size_t *len)
{
	const char *nl;
	size_t take, total;
	char last;

	if (f->error != 0)
		return f->error;
	if (in->len == 0)
		return 0;
	nl = memchr(in->data, '\n', in->len);
	take = nl != NULL ? (size_t)(nl - in->data) : in->len;
	total = f->partial_len + take;
	/* The byte before the "\n" (or the last one so far): a "\r" there
	 * does not count towards the limit. */
	last = take != 0             ? in->data[take - 1]
	       : f->partial_len != 0 ? f->partial[f->partial_len - 1]
				     : 0;
	if (nl == NULL) {
		/* Not complete yet: a line can only get longer, so give up as
		 * soon as it cannot fit, without waiting for its end. */
		if (total > f->max_line + 1 || (total == f->max_line + 1 && last != '\r'))
			return fail(f, -EMSGSIZE);
		if (gather(f, in->data, take) < 0)
			return fail(f, -ENOMEM);
		in->data += take;
		in->len = 0;
		return 0;
	}
	if (total != 0 && last == '\r')
		total--;
	if (total > f->max_line)
		return fail(f, -EMSGSIZE);
	if (f->partial_len == 0) {
		*line = in->data; /* Whole in this chunk: in place. */
	} else {
		if (gather(f, in->data, take) < 0)
			return fail(f, -ENOMEM);
		*line = f->partial;
		f->partial_len = 0; /* The bytes stay until the next call. */
	}
	*len = total;
	in->data += take + 1;
	in->len -= take + 1;
	return 1;
}
