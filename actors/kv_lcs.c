/*
 * kv_lcs.c - the longest common subsequence of two strings, and the
 * replies of the LCS command: the subsequence, its LEN, or its IDX matches
 * (ranges of both strings, last match first, as Redis 7 lists them).
 *
 * It is the classic dynamic programme over an (alen+1) x (blen+1) table of
 * 32-bit lengths. The table is transient but sized by client data, so it
 * is refused, as Redis refuses it, when it would exceed proto-max-bulk-len
 * bytes; nothing else allocated here is larger than the shorter string.
 */
#include "kv_cmd.h"

#include <stdint.h>
#include <stdlib.h>

/* Largest table accepted, in bytes: Redis's default proto-max-bulk-len. */
#define LCS_TABLE_MAX RESP_MAX_BULK_DEFAULT

struct lcs_opts {
	bool len;
	bool idx;
	bool withmatchlen;
	long long minmatchlen; /* >= 0 */
};

/* Parses argv[first..argc). Replies and returns false on an error. */
static bool parse_lcs_opts(struct resp_out *out, int argc, const struct kv_arg *argv, int first,
			   struct lcs_opts *o)
{
	o->len = o->idx = o->withmatchlen = false;
	o->minmatchlen = 0;
	for (int i = first; i < argc; i++) {
		const struct kv_arg *a = &argv[i];

		if (kv_arg_is(a, "idx")) {
			o->idx = true;
		} else if (kv_arg_is(a, "len")) {
			o->len = true;
		} else if (kv_arg_is(a, "withmatchlen")) {
			o->withmatchlen = true;
		} else if (kv_arg_is(a, "minmatchlen") && i + 1 < argc) {
			i++;
			if (!kv_parse_ll(argv[i].p, argv[i].len, &o->minmatchlen)) {
				resp_add_error(out, "ERR value is not an integer or out of range");
				return false;
			}
			if (o->minmatchlen < 0)
				o->minmatchlen = 0;
		} else {
			resp_add_error(out, "ERR syntax error");
			return false;
		}
	}
	if (o->idx && o->len) {
		resp_add_error(out,
			       "ERR If you want both the length and indexes, please just use IDX.");
		return false;
	}
	return true;
}

/* The filled table: t[i * (blen + 1) + j] is the LCS length of a[0..i) and
 * b[0..j). */
struct lcs_table {
	uint32_t *t;
	size_t alen;
	size_t blen;
};

static inline uint32_t cell(const struct lcs_table *lt, size_t i, size_t j)
{
	return lt->t[i * (lt->blen + 1) + j];
}

static void lcs_fill(struct lcs_table *lt, const char *a, const char *b)
{
	size_t w = lt->blen + 1;

	for (size_t j = 0; j <= lt->blen; j++)
		lt->t[j] = 0;
	for (size_t i = 1; i <= lt->alen; i++) {
		uint32_t *row = lt->t + i * w;
		const uint32_t *up = row - w;

		row[0] = 0;
		for (size_t j = 1; j <= lt->blen; j++) {
			if (a[i - 1] == b[j - 1])
				row[j] = up[j - 1] + 1;
			else
				row[j] = up[j] > row[j - 1] ? up[j] : row[j - 1];
		}
	}
}

static void add_match(struct resp_out *out, const struct lcs_opts *o, size_t a0, size_t a1,
		      size_t b0, size_t b1)
{
	resp_add_array(out, o->withmatchlen ? 3 : 2);
	resp_add_array(out, 2);
	resp_add_int(out, (long long)a0);
	resp_add_int(out, (long long)a1);
	resp_add_array(out, 2);
	resp_add_int(out, (long long)b0);
	resp_add_int(out, (long long)b1);
	if (o->withmatchlen)
		resp_add_int(out, (long long)(a1 - a0 + 1));
}

/*
 * Walks the table back from its far corner along one longest subsequence.
 * On a byte that matches, the byte is part of it (stored in seq, from the
 * end, when seq is not NULL); otherwise the walk steps back in a (i) when
 * that keeps a strictly longer subsequence, else in b (j), which fixes the
 * one subsequence Redis reports. A run of consecutive matches is one
 * match; it ends at a mismatch or at the start of either string, and is
 * written to out (when not NULL) if it is at least minmatchlen long.
 * Returns the number of matches written (or that would be).
 */
static size_t lcs_walk(const struct lcs_table *lt, const char *a, const char *b,
		       const struct lcs_opts *o, struct resp_out *out, char *seq)
{
	size_t i = lt->alen, j = lt->blen, k = cell(lt, i, j);
	size_t a0 = 0, a1 = 0, b0 = 0, b1 = 0, matches = 0;
	bool in_run = false;

	while (i > 0 && j > 0) {
		bool run_ends;

		if (a[i - 1] == b[j - 1]) {
			if (seq != NULL)
				seq[--k] = a[i - 1];
			if (!in_run) {
				a1 = i - 1;
				b1 = j - 1;
				in_run = true;
			}
			a0 = --i;
			b0 = --j;
			run_ends = i == 0 || j == 0;
		} else {
			if (cell(lt, i - 1, j) > cell(lt, i, j - 1))
				i--;
			else
				j--;
			run_ends = in_run;
		}
		if (run_ends) {
			if (a1 - a0 + 1 >= (unsigned long long)o->minmatchlen) {
				if (out != NULL)
					add_match(out, o, a0, a1, b0, b1);
				matches++;
			}
			in_run = false;
		}
	}
	return matches;
}

void kv_lcs_reply(struct resp_out *out, const char *a, size_t alen, const char *b, size_t blen,
		  int argc, const struct kv_arg *argv, int first)
{
	struct lcs_opts o;
	struct lcs_table lt = { .t = NULL, .alen = alen, .blen = blen };
	unsigned long long cells;
	char *seq = NULL;
	size_t len = 0;

	if (!parse_lcs_opts(out, argc, argv, first, &o))
		return;
	/* Lengths must fit the table's 32-bit cells. */
	if (alen >= UINT32_MAX - 1 || blen >= UINT32_MAX - 1) {
		resp_add_error(out, "ERR String too long for LCS");
		return;
	}
	/* Below 2^32 each, the product fits 64 bits; four times it may not. */
	cells = (unsigned long long)(alen + 1) * (blen + 1);
	if (cells > SIZE_MAX / sizeof(uint32_t)) {
		resp_add_error(
			out, "ERR Insufficient memory, failed allocating transient memory for LCS");
		return;
	}
	if (cells * sizeof(uint32_t) > LCS_TABLE_MAX) {
		resp_add_error(out, "ERR Insufficient memory, transient memory for LCS exceeds "
				    "proto-max-bulk-len");
		return;
	}
	/* With an empty string there is nothing to compute (or allocate). */
	if (alen > 0 && blen > 0) {
		lt.t = malloc((size_t)cells * sizeof(uint32_t));
		if (lt.t == NULL)
			goto oom;
		lcs_fill(&lt, a, b);
		len = cell(&lt, alen, blen);
	}
	if (o.len) {
		resp_add_int(out, (long long)len);
	} else if (o.idx) {
		resp_add_map(out, 2);
		resp_add_bulk(out, "matches", 7);
		if (lt.t == NULL) {
			resp_add_array(out, 0);
		} else {
			/* Counted first: the array's length leads its elements. */
			resp_add_array(out, lcs_walk(&lt, a, b, &o, NULL, NULL));
			lcs_walk(&lt, a, b, &o, out, NULL);
		}
		resp_add_bulk(out, "len", 3);
		resp_add_int(out, (long long)len);
	} else {
		if (len > 0) {
			seq = malloc(len);
			if (seq == NULL)
				goto oom;
			lcs_walk(&lt, a, b, &o, NULL, seq);
		}
		resp_add_bulk(out, seq ? seq : "", len);
	}
	free(seq);
	free(lt.t);
	return;
oom:
	free(lt.t);
	resp_add_error(out, "ERR Insufficient memory, failed allocating transient memory for LCS");
}
