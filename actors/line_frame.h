/*
 * line_frame.h - cutting a byte stream into lines, across receive buffers.
 *
 * A pure helper, no runtime needed: feed it the bytes of each receive as
 * they come and take the complete lines out, one at a time. A line ends in
 * "\n"; the "\n" and one "\r" just before it are not part of the line (so
 * "\n" and "\r\n" both work, and a lone "\r" elsewhere is ordinary data). A
 * line that lies whole inside one input chunk is returned in place, as a
 * pointer into that chunk (no copy); only a line split across chunks is
 * gathered in the framer's own buffer, which never holds more than
 * max_line + 1 bytes.
 *
 *   struct atoll_line_frame f;
 *   atoll_line_frame_init(&f, 4096);
 *   ... for each received chunk (data, len):
 *   struct atoll_line_input in = { data, len };
 *   const char *line;
 *   size_t n;
 *   int rc;
 *   while ((rc = atoll_line_frame_next(&f, &in, &line, &n)) > 0)
 *           handle(line, n);
 *   if (rc < 0) ... -EMSGSIZE: a line longer than 4096 bytes; close.
 *   ...
 *   atoll_line_frame_free(&f);
 *
 * Any thread may use a framer, one thread at a time; it owns its buffer.
 */
#ifndef ATOLL_LINE_FRAME_H
#define ATOLL_LINE_FRAME_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A framer's state: the start of a line not yet complete. Treat the fields
 * as private; zero-initialised it is not usable (call init). */
struct atoll_line_frame {
	char *partial; /* the bytes of the incomplete line, owned */
	size_t partial_len;
	size_t partial_cap;
	size_t max_line; /* the longest line accepted, "\r\n" not counted */
	int error;       /* 0, or the error that stopped the framer */
};

/* The bytes of one input chunk not yet framed; next advances it. */
struct atoll_line_input {
	const char *data;
	size_t len;
};

/* Readies f for lines of at most max_line bytes (0: 64 KiB). Allocates
 * nothing. */
void atoll_line_frame_init(struct atoll_line_frame *f, size_t max_line);

/* Frees f's buffer; f may be initialised again. */
void atoll_line_frame_free(struct atoll_line_frame *f);

/*
 * Takes the next complete line out of in (advancing in past it and its
 * terminator), joining it with the bytes an earlier chunk left in f.
 * Returns 1 with *line and *len the line (without terminator; valid until
 * the next call on f, or as long as in's bytes for a line in place); 0 when
 * in is used up without completing a line (the start of the next line is
 * kept in f: feed the next chunk); -EMSGSIZE when a line is longer than
 * max_line, or -ENOMEM when gathering a split line found no memory. After an
 * error f keeps returning it: the stream cannot be framed any further (the
 * caller reports it and closes the connection).
 */
int atoll_line_frame_next(struct atoll_line_frame *f, struct atoll_line_input *in,
			  const char **line, size_t *len);

/* Bytes of an incomplete line waiting in f (for query-buffer limits). */
size_t atoll_line_frame_pending(const struct atoll_line_frame *f);

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_LINE_FRAME_H */
