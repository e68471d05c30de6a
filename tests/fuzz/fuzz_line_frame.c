/*
 * fuzz_line_frame.c - libFuzzer target for the line framer
 * (actors/line_frame.c), which splits what TCP clients send into lines.
 *
 * Input: byte 0 picks max_line (1 to 64), byte 1 the chunk sizes the
 * stream is cut into (as receives would cut it); the rest is the stream.
 * The framer's lines are compared with a reference split of the whole
 * stream (lines end at '\n', one '\r' before it is dropped): every line it
 * returns must be the next reference line, no longer than max_line. It may
 * stop with -EMSGSIZE only when the next reference line (complete or the
 * unfinished tail) is too long for max_line; if it does not stop, every
 * complete reference line came out and the bytes left pending are the tail.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "line_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The reference: the next line of s[*pos..n) (its length without the
 * terminator in *len); false when no '\n' is left (*len: the tail). */
static bool ref_next(const char *s, size_t n, size_t *pos, const char **line, size_t *len)
{
	const char *nl = memchr(s + *pos, '\n', n - *pos);

	*line = s + *pos;
	if (nl == NULL) {
		*len = n - *pos;
		return false;
	}
	*len = (size_t)(nl - (s + *pos));
	*pos += *len + 1;
	if (*len > 0 && (*line)[*len - 1] == '\r')
		(*len)--;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct atoll_line_frame f;
	const char *s;
	size_t n, max_line, step, at = 0, rpos = 0;
	bool stopped = false;
	int rc = 0;

	if (size < 2)
		return 0;
	max_line = (size_t)(data[0] % 64) + 1;
	step = (size_t)data[1];
	s = (const char *)data + 2;
	n = size - 2;
	atoll_line_frame_init(&f, max_line);
	while (at < n && !stopped) {
		/* Chunks of 1 to 16 bytes, varied by the step byte. */
		size_t chunk = (step + at) % 16 + 1;
		struct atoll_line_input in = { s + at, chunk < n - at ? chunk : n - at };

		at += in.len;
		for (;;) {
			const char *line, *want;
			size_t len, wlen;

			rc = atoll_line_frame_next(&f, &in, &line, &len);
			if (rc == 0)
				break;
			if (rc < 0) {
				stopped = true;
				break;
			}
			if (!ref_next(s, n, &rpos, &want, &wlen) || wlen != len || len > max_line ||
			    memcmp(want, line, len) != 0)
				abort(); /* not the next reference line */
		}
	}
	if (stopped) {
		const char *want;
		size_t wlen;
		bool complete;

		if (rc != -EMSGSIZE)
			abort();
		complete = ref_next(s, n, &rpos, &want, &wlen);
		/* The next line must be too long: complete, or a tail that
		 * already holds more than max_line bytes besides a last '\r'
		 * (which may yet start its terminator). */
		if (!complete && wlen > 0 && want[wlen - 1] == '\r')
			wlen--;
		if (wlen <= max_line)
			abort();
		/* Errors stay. */
		struct atoll_line_input none = { NULL, 0 };
		const char *line;
		size_t len;

		if (atoll_line_frame_next(&f, &none, &line, &len) != -EMSGSIZE)
			abort();
	} else {
		const char *want;
		size_t wlen;

		if (ref_next(s, n, &rpos, &want, &wlen))
			abort(); /* a complete line never came out */
		if (atoll_line_frame_pending(&f) != wlen)
			abort();
	}
	atoll_line_frame_free(&f);
	return 0;
}
