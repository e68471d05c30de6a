/*
 * parser.c - the parser stage: "seq=N value=V" in, "N,V" out, in place when
 * the message owns its payload alone.
 *
 * Invariants: per_member[i] counts the records sent to to[i] since the last
 * END to it; a malformed record is never sent on.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "parser.h"

#define DIGITS_MAX 19

struct parser {
	atoll_ref *to;
	uint64_t *per_member;
	size_t nto;
	size_t rr;
	bool fail_malformed; /* on_malformed = fail */
	struct atoll_lib_stats stats;
};

/* Length of the run of at most DIGITS_MAX digits at s[0..len), 0 if none or
 * longer. */
static size_t digits(const char *s, size_t len)
{
	size_t n = 0;

	while (n < len && s[n] >= '0' && s[n] <= '9')
		n++;
	return n <= DIGITS_MAX ? n : 0;
}

int atoll_parser_normalize(const char *in, size_t len, char *out)
{
	static const char seq[] = "seq=", value[] = " value=";
	size_t nseq, nval, pos = sizeof(seq) - 1;

	if (len < pos || memcmp(in, seq, pos) != 0)
		return -EINVAL;
	nseq = digits(in + pos, len - pos);
	if (nseq == 0)
		return -EINVAL;
	pos += nseq;
	if (len - pos < sizeof(value) - 1 || memcmp(in + pos, value, sizeof(value) - 1) != 0)
		return -EINVAL;
	pos += sizeof(value) - 1;
	nval = digits(in + pos, len - pos);
	if (nval == 0 || pos + nval != len)
		return -EINVAL;
	/* memmove: out may be in (the output starts before what it copies). */
	memmove(out, in + 4, nseq);
	out[nseq] = ',';
	memmove(out + nseq + 1, in + pos, nval);
	return (int)(nseq + 1 + nval);
}

static int parser_init(atoll_ctx *ctx, void *state, const void *arg)
{
	const struct atoll_params *p = arg;
	struct parser *s = state;
	const atoll_ref *to;

	(void)ctx;
	s->nto = atoll_params_links(p, "to", &to);
	if (s->nto == 0) {
		atoll__log_error("parser: its link 'to' names no actor");
		return -EINVAL;
	}
	s->to = malloc(s->nto * sizeof(*s->to));
	s->per_member = calloc(s->nto, sizeof(*s->per_member));
	if (s->to == NULL || s->per_member == NULL) {
		free(s->to); /* the stop hook does not run after a failed init */
		free(s->per_member);
		return -ENOMEM;
	}
	memcpy(s->to, to, s->nto * sizeof(*to));
	s->fail_malformed = atoll_params_int(p, "on_malformed") == 1;
	return 0;
}

static void parse_record(atoll_ctx *ctx, struct parser *s, atoll_msg *msg)
{
	atoll_msg *out = msg;
	int n;

	s->stats.in++;
	/* An attached buffer (or an I/O message's) may be shared: not ours to
	 * rewrite. */
	if (msg->release != NULL || msg->data != (void *)(msg + 1)) {
		out = atoll_msg_new(ATOLL_LIB_DATA, msg->len);
		if (out == NULL) {
			s->stats.dropped++;
			return;
		}
	}
	n = atoll_parser_normalize(msg->data, msg->len, out->data);
	if (n < 0) {
		s->stats.dropped++;
		if (out != msg)
			atoll_msg_free(out);
		if (s->fail_malformed)
			atoll_fail(ctx, -EBADMSG, "malformed record %.*s",
				   (int)(msg->len < 32 ? msg->len : 32), (const char *)msg->data);
		return;
	}
	out->len = (uint32_t)n;
	out->type = ATOLL_LIB_DATA;
	out->reply_to = ATOLL_REF_NONE;
	out->corr = 0;
	if (atoll_send(ctx, s->to[s->rr], out) < 0) {
		s->stats.dropped++;
	} else {
		s->stats.out++;
		s->stats.bytes += (uint64_t)n;
		s->per_member[s->rr]++;
	}
	s->rr = s->rr + 1 == s->nto ? 0 : s->rr + 1;
}

static void parser_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct parser *s = state;

	switch (msg->type) {
	case ATOLL_LIB_DATA:
		parse_record(ctx, s, msg);
		break;
	case ATOLL_LIB_END:
		for (size_t i = 0; i < s->nto; i++) {
			atoll_lib_send_end(ctx, s->to[i], s->per_member[i]);
			s->per_member[i] = 0;
		}
		break;
	case ATOLL_LIB_STATS:
		atoll_lib_reply_stats(ctx, msg, &s->stats);
		break;
	default:
		break;
	}
}

static void parser_stop(atoll_ctx *ctx, void *state)
{
	struct parser *s = state;

	(void)ctx;
	free(s->to);
	free(s->per_member);
}

const struct atoll_actor_type atoll_parser_type = {
	.name = "parser",
	.state_size = sizeof(struct parser),
	.init = parser_init,
	.receive = parser_receive,
	.stop = parser_stop,
};

static const struct atoll_param_spec parser_params[] = {
	{ "to", ATOLL_PARAM_LINK, NULL, 0, 0, NULL, "the next stage (round-robin)",
	  ATOLL_PARAM_ACYCLIC },
	{ "on_malformed", ATOLL_PARAM_ENUM, "drop", 0, 0, "drop|fail",
	  "a malformed record is dropped and counted, or fails the parser (for a supervisor)", 0 },
	{ 0 },
};

static const struct atoll_msg_spec parser_accepts[] = {
	{ ATOLL_LIB_DATA, "DATA", "\"seq=N value=V\"; malformed ones are dropped and counted" },
	{ ATOLL_LIB_END, "END", "passed on to every member of 'to'" },
	{ ATOLL_LIB_STATS, "STATS", "in, out, bytes out, dropped = malformed" },
	{ 0 },
};

static const struct atoll_msg_spec parser_sends[] = {
	{ ATOLL_LIB_DATA, "DATA", "\"N,V\"" },
	{ ATOLL_LIB_END, "END", "one per END received, to each member" },
	{ 0 },
};

const struct atoll_type_info atoll_parser_info = {
	.type = &atoll_parser_type,
	.summary = "pipeline stage: parses \"seq=N value=V\" into \"N,V\", drops malformed",
	.params = parser_params,
	.accepts = parser_accepts,
	.sends = parser_sends,
};
