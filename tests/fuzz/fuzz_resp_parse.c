/*
 * fuzz_resp_parse.c - libFuzzer target for the RESP request parser
 * (actors/resp_parse.c) and resp_value_len (actors/resp_value.c).
 *
 * Differential: the input is parsed whole, and again fed in pieces whose
 * sizes come from the input itself (each call gets the same command start
 * and more bytes, as a connection does); both must give the same commands,
 * the same argument bytes and the same status. Every argument must lie
 * inside the buffer (or the parser's scratch). Any crash, leak, UB or
 * mismatch is a finding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"

#define MAX_CMDS 64

struct outcome {
	int status[MAX_CMDS];
	size_t used[MAX_CMDS];
	uint64_t digest[MAX_CMDS];
	int n;
};

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

static uint64_t digest(const struct resp_parser *p, const char *buf)
{
	uint64_t h = 1469598103934665603ull ^ p->nargs;

	for (size_t i = 0; i < p->nargs; i++) {
		size_t len;
		const char *a = resp_parser_arg(p, buf, i, &len);

		h = mix(h, &len, sizeof(len));
		h = mix(h, a, len);
	}
	return h;
}

/* Parses data[0..size) command by command; piece > 0 feeds each command's
 * bytes `piece` at a time. */
static void run(const char *data, size_t size, size_t piece, struct outcome *out)
{
	struct resp_parser p;
	size_t off = 0;

	resp_parser_init(&p, 1u << 20);
	out->n = 0;
	while (off < size && out->n < MAX_CMDS) {
		size_t avail = piece ? (piece < size - off ? piece : size - off) : size - off;
		size_t used = 0;
		enum resp_status st;

		for (;;) {
			/* A fresh copy of exactly the bytes given, so ASan sees any
			 * read past them. */
			char *copy = malloc(avail ? avail : 1);

			memcpy(copy, data + off, avail);
			st = resp_parse(&p, copy, avail, &used);
			if (st == RESP_DONE)
				out->digest[out->n] = digest(&p, copy);
			free(copy);
			if (st != RESP_MORE || off + avail >= size)
				break;
			avail = piece ? (avail + piece < size - off ? avail + piece : size - off)
				      : size - off;
		}
		out->status[out->n] = st;
		out->used[out->n] = st == RESP_DONE ? used : 0;
		out->n++;
		if (st != RESP_DONE)
			break;
		off += used;
	}
	resp_parser_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome whole, split;
	size_t piece;

	if (size == 0)
		return 0;
	piece = 1 + data[0] % 7;
	run((const char *)data + 1, size - 1, 0, &whole);
	run((const char *)data + 1, size - 1, piece, &split);
	if (whole.n != split.n)
		abort();
	for (int i = 0; i < whole.n; i++) {
		if (whole.status[i] != split.status[i] ||
		    (whole.status[i] == RESP_DONE &&
		     (whole.used[i] != split.used[i] || whole.digest[i] != split.digest[i])))
			abort();
	}
	/* Reply framing: never reads past the end, never loops. */
	{
		char *copy = malloc(size);
		size_t n;

		memcpy(copy, data, size);
		n = resp_value_len(copy, size);
		if (n > size)
			abort();
		free(copy);
	}
	return 0;
}
