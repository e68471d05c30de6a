/*
 * kv_glob.c - Redis's glob patterns (KEYS, SCAN MATCH, CONFIG GET): '*',
 * '?', classes "[abc]", "[^a]", "[a-z]", and '\' escapes, with the same
 * quirks as Redis's stringmatchlen, but matched without recursion, so no
 * pattern can make a match take more than O(pattern * string) steps.
 */
#include "kv_db.h"

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/*
 * Whether the pattern token at p (not '*') matches c; *len gets the
 * token's length. Classes follow Redis's stringmatchlen exactly: '\'
 * escapes inside them (compared with case), "a-z" ranges in either order
 * compare as signed chars, and a class left open runs to the pattern's end.
 */
static bool token_match(const char *p, size_t plen, char c, bool nocase, size_t *len)
{
	size_t i;
	bool not, match = false;

	switch (p[0]) {
	case '?':
		*len = 1;
		return true;
	case '\\':
		if (plen >= 2) {
			*len = 2;
			return nocase ? lower(p[1]) == lower(c) : p[1] == c;
		}
		*len = 1;
		return c == '\\';
	case '[':
		i = 1;
		not = i < plen && p[i] == '^';
		if (not )
			i++;
		while (i < plen) {
			if (p[i] == '\\' && plen - i >= 2) {
				i++;
				if (p[i] == c)
					match = true;
			} else if (p[i] == ']') {
				break;
			} else if (plen - i >= 3 && p[i + 1] == '-') {
				int start = p[i], end = p[i + 2], ch = c;

				if (start > end) {
					int t = start;

					start = end;
					end = t;
				}
				if (nocase) {
					start = lower(start);
					end = lower(end);
					ch = lower(ch);
				}
				if (ch >= start && ch <= end)
					match = true;
				i += 2;
			} else if (nocase ? lower(p[i]) == lower(c) : p[i] == c) {
				match = true;
			}
			i++;
		}
		/* Past the ']' or, for a class left open, the pattern's end. */
		*len = i < plen ? i + 1 : plen;
		return not ? !match : match;
	default:
		*len = 1;
		return nocase ? lower(p[0]) == lower(c) : p[0] == c;
	}
}

/*
 * Every token but '*' matches exactly one byte, so on a mismatch it is
 * enough to retry from the last '*' with one more byte given to it: no
 * backtracking into earlier stars, O(plen * slen) at worst, where Redis's
 * recursive matcher needed a nesting limit against patterns like
 * "a*a*a*a*...b".
 */
bool kv_glob_match(const char *pattern, size_t plen, const char *str, size_t slen, bool nocase)
{
	size_t p = 0, s = 0, star_p = 0, star_s = 0;
	bool star = false;

	/* Redis's matcher matches an empty string only with an empty pattern
	 * (KEYS and SCAN treat "*" alone as match-all before calling it). */
	if (slen == 0)
		return plen == 0;
	while (s < slen) {
		size_t len;

		if (p < plen && pattern[p] == '*') {
			while (p < plen && pattern[p] == '*')
				p++;
			if (p == plen)
				return true;
			star = true;
			star_p = p;
			star_s = s;
			continue;
		}
		if (p < plen && token_match(pattern + p, plen - p, str[s], nocase, &len)) {
			p += len;
			s++;
			continue;
		}
		if (!star)
			return false;
		p = star_p;
		s = ++star_s;
	}
	while (p < plen && pattern[p] == '*')
		p++;
	return p == plen;
}
