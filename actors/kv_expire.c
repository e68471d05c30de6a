/*
 * kv_expire.c - the expiry commands of one shard: EXPIRE, PEXPIRE,
 * EXPIREAT, PEXPIREAT (with Redis 7's NX, XX, GT and LT), EXPIRETIME,
 * PEXPIRETIME, TTL, PTTL and PERSIST.
 *
 * Times are absolute Unix ms, as the store keeps them. A time at or before
 * x->now_ms deletes the key at once (and the command still replies 1), so
 * a stored expiry time is always in the future when it is set.
 */
#include "kv_keys.h"

#include <limits.h>
#include <string.h>

/* Option bits of the EXPIRE family. */
#define EXPIRE_NX 0x1u
#define EXPIRE_XX 0x2u
#define EXPIRE_GT 0x4u
#define EXPIRE_LT 0x8u

/*
 * Reads NX, XX, GT and LT from argv[3..argc), in any case and repeated as
 * Redis allows. Replies with Redis's error and returns false on a bad one.
 */
static bool parse_expire_flags(struct kv_exec *x, int argc, const struct kv_arg *argv,
			       unsigned *flags)
{
	static const struct {
		const char *name;
		unsigned bit;
	} opts[] = {
		{ "nx", EXPIRE_NX }, { "xx", EXPIRE_XX }, { "gt", EXPIRE_GT }, { "lt", EXPIRE_LT }
	};

	*flags = 0;
	for (int i = 3; i < argc; i++) {
		size_t j;

		for (j = 0; j < sizeof(opts) / sizeof(opts[0]); j++) {
			if (kv_arg_is(&argv[i], opts[j].name))
				break;
		}
		if (j == sizeof(opts) / sizeof(opts[0])) {
			/* Redis prints the option as a C string: up to a NUL. */
			const char *nul = memchr(argv[i].p, '\0', argv[i].len);
			int n = (int)(nul != NULL ? (size_t)(nul - argv[i].p) : argv[i].len);

			resp_add_errorf(x->out, "ERR Unsupported option %.*s", n, argv[i].p);
			return false;
		}
		*flags |= opts[j].bit;
	}
	if ((*flags & EXPIRE_NX) && (*flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT))) {
		resp_add_error(
			x->out,
			"ERR NX and XX, GT or LT options at the same time are not compatible");
		return false;
	}
	if ((*flags & EXPIRE_GT) && (*flags & EXPIRE_LT)) {
		resp_add_error(x->out, "ERR GT and LT options at the same time are not compatible");
		return false;
	}
	return true;
}

/* Whether the flags let an expiry of `when` replace `current` (-1: none,
 * which counts as an infinite time to live). */
static bool expire_flags_allow(unsigned flags, int64_t current, long long when)
{
	if ((flags & EXPIRE_NX) && current != KV_NO_EXPIRE)
		return false;
	if ((flags & EXPIRE_XX) && current == KV_NO_EXPIRE)
		return false;
	if ((flags & EXPIRE_GT) && (current == KV_NO_EXPIRE || when <= current))
		return false;
	if ((flags & EXPIRE_LT) && current != KV_NO_EXPIRE && when >= current)
		return false;
	return true;
}

/*
 * The EXPIRE family: argv[2] in seconds or ms (ms false/true), relative to
 * now or absolute. name is the command, for the overflow error.
 */
static void expire_generic(struct kv_exec *x, int argc, const struct kv_arg *argv, const char *name,
			   bool ms, bool relative)
{
	long long when, base = relative ? (long long)x->now_ms : 0;
	unsigned flags;
	struct kv_entry *e;
	bool past = false;

	if (!parse_expire_flags(x, argc, argv, &flags))
		return;
	if (!kv_parse_ll(argv[2].p, argv[2].len, &when)) {
		resp_add_error(x->out, "ERR value is not an integer or out of range");
		return;
	}
	if ((!ms && (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000)) ||
	    (!ms ? when * 1000 : when) > LLONG_MAX - base) {
		resp_add_errorf(x->out, "ERR invalid expire time in '%s' command", name);
		return;
	}
	if (!ms)
		when *= 1000;
	/* A sum below LLONG_MIN is far in the past (Redis wraps around to
	 * the same verdict). */
	if (when < LLONG_MIN + base)
		past = true;
	else
		when += base;
	e = kv_lookup(x->store, x->db, argv[1].p, argv[1].len, x->now_ms, false);
	if (e == NULL || !expire_flags_allow(flags, kv_entry_expire(e), when)) {
		resp_add_int(x->out, 0);
		return;
	}
	if (past || when <= (long long)x->now_ms)
		kv_delete(x->store, x->db, argv[1].p, argv[1].len, x->now_ms);
	else
		kv_entry_set_expire(x->store, x->db, e, when);
	x->dirty++;
	resp_add_int(x->out, 1);
}

void kv_cmd_expire(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	expire_generic(x, argc, argv, "expire", false, true);
}

void kv_cmd_pexpire(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	expire_generic(x, argc, argv, "pexpire", true, true);
}

void kv_cmd_expireat(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	expire_generic(x, argc, argv, "expireat", false, false);
}

void kv_cmd_pexpireat(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	expire_generic(x, argc, argv, "pexpireat", true, false);
}

/* TTL, PTTL (relative) and EXPIRETIME, PEXPIRETIME (absolute): -2 for a
 * missing key, -1 for one without an expiry. Seconds round as Redis's. As
 * in Redis, asking does not count as using the key (its LRU clock stays). */
static void ttl_generic(struct kv_exec *x, const struct kv_arg *argv, bool ms, bool relative)
{
	struct kv_entry *e = kv_lookup(x->store, x->db, argv[1].p, argv[1].len, x->now_ms,
				       KV_LOOKUP_COUNT | KV_LOOKUP_NOTOUCH);
	long long t;

	if (e == NULL) {
		resp_add_int(x->out, -2);
		return;
	}
	t = kv_entry_expire(e);
	if (t == KV_NO_EXPIRE) {
		resp_add_int(x->out, -1);
		return;
	}
	if (relative) {
		t -= (long long)x->now_ms;
		if (t < 0)
			t = 0;
		resp_add_int(x->out, ms ? t : (t + 500) / 1000);
	} else {
		resp_add_int(x->out, ms ? t : t / 1000);
	}
}

void kv_cmd_ttl(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	(void)argc;
	ttl_generic(x, argv, false, true);
}

void kv_cmd_pttl(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	(void)argc;
	ttl_generic(x, argv, true, true);
}

void kv_cmd_expiretime(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	(void)argc;
	ttl_generic(x, argv, false, false);
}

void kv_cmd_pexpiretime(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	(void)argc;
	ttl_generic(x, argv, true, false);
}

void kv_cmd_persist(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	struct kv_entry *e = kv_lookup(x->store, x->db, argv[1].p, argv[1].len, x->now_ms, false);

	(void)argc;
	if (e == NULL || kv_entry_expire(e) == KV_NO_EXPIRE) {
		resp_add_int(x->out, 0);
		return;
	}
	kv_entry_set_expire(x->store, x->db, e, KV_NO_EXPIRE);
	x->dirty++;
	resp_add_int(x->out, 1);
}
