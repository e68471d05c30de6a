/*
 * kv_strings.c - the string commands of atoll-kv (GET, SET and its
 * variants, MGET/MSET, APPEND, the INCR family, GETRANGE/SETRANGE, LCS) as
 * shard functions. Each writes exactly one reply to x->out, with Redis
 * 7.0's semantics and error strings, and counts every change in x->dirty.
 *
 * Invariants: an entry pointer is used only until the next kv_set or
 * kv_delete of its key; a failed allocation leaves the key as it was and
 * replies "ERR out of memory"; no value ever grows past proto-max-bulk-len.
 */
#include "kv_strings.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Longest string value: Redis's default proto-max-bulk-len. */
#define KV_STRING_MAX RESP_MAX_BULK_DEFAULT

/* Room for any long double printed with "%.17Lf": Redis's
 * MAX_LONG_DOUBLE_CHARS. The largest finite value has 4933 integer digits. */
#define KV_LD_BUF (5 * 1024)

static const char err_oom[] = "ERR out of memory";
static const char err_syntax[] = "ERR syntax error";
static const char err_not_int[] = "ERR value is not an integer or out of range";
static const char err_not_float[] = "ERR value is not a valid float";
static const char err_too_big[] = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

/*
 * Looks key up for a command that needs a string value. Reads pass
 * count = true (a keyspace hit or miss), writes false. *e gets the entry or
 * NULL. Returns false when the command must stop because a reply was
 * already written: the WRONGTYPE error goes here once other value types
 * exist; today every value is a string, so it always returns true.
 */
static bool lookup_string(struct kv_exec *x, const struct kv_arg *key, bool count,
			  struct kv_entry **e)
{
	*e = kv_lookup(x->store, x->db, key->p, key->len, x->now_ms, count);
	return true;
}

/*
 * Takes back everything written to x->out since mark (a value of
 * x->out->len), so a command that already wrote part of its reply (SET ...
 * GET's old value, which kv_set may free) can answer with an error instead
 * when its write fails. Cutting len is all it takes: resp_out is a plain
 * buffer whose bytes past len mean nothing.
 */
static void reply_rollback(struct kv_exec *x, size_t mark)
{
	if (x->out->len > mark)
		x->out->len = mark;
}

/*
 * Stores p[0..n) as the value of key, whose entry is e (NULL when the key
 * does not exist): in place when it exists, so its expiry time is kept (as
 * INCR and INCRBYFLOAT keep it). Returns false when out of memory, with the
 * key unchanged.
 */
static bool store_keep_ttl(struct kv_exec *x, const struct kv_arg *key, struct kv_entry *e,
			   const char *p, size_t n)
{
	char *v;

	if (e == NULL)
		return kv_set(x->store, x->db, key->p, key->len, p, n, KV_NO_EXPIRE) != NULL;
	v = kv_entry_resize(x->store, e, n);
	if (v == NULL)
		return false;
	memcpy(v, p, n);
	return true;
}

/* --- expiry times ---------------------------------------------------------- */

enum {
	OPT_NX = 1u << 0,
	OPT_XX = 1u << 1,
	OPT_GET = 1u << 2,
	OPT_KEEPTTL = 1u << 3,
	OPT_PERSIST = 1u << 4,
	OPT_EX = 1u << 5,
	OPT_PX = 1u << 6,
	OPT_EXAT = 1u << 7,
	OPT_PXAT = 1u << 8,
};
#define OPT_EXPIRE (OPT_EX | OPT_PX | OPT_EXAT | OPT_PXAT)

/*
 * Turns an expire argument into an absolute Unix time in ms, with Redis's
 * checks: a number (else "not an integer"), > 0, and no overflow once
 * scaled to ms and, for relative times, added to now (else "invalid expire
 * time in '<cmd>' command"). Replies and returns false when it is not valid.
 */
static bool expire_from_arg(struct kv_exec *x, const struct kv_arg *a, bool seconds, bool relative,
			    const char *cmd, int64_t *out)
{
	long long v;
	long long now = (long long)x->now_ms;

	if (!kv_parse_ll(a->p, a->len, &v)) {
		resp_add_error(x->out, err_not_int);
		return false;
	}
	if (v <= 0 || (seconds && v > LLONG_MAX / 1000))
		goto invalid;
	if (seconds)
		v *= 1000;
	if (relative) {
		if (v > LLONG_MAX - now)
			goto invalid;
		v += now;
	}
	*out = v;
	return true;
invalid:
	resp_add_errorf(x->out, "ERR invalid expire time in '%s' command", cmd);
	return false;
}

/* The options of SET (from argv[3]) and GETEX (from argv[2]). */
struct str_opts {
	unsigned flags;            /* OPT_* */
	const struct kv_arg *time; /* argument of the last EX/PX/EXAT/PXAT */
};

static unsigned expire_opt(const struct kv_arg *a)
{
	if (kv_arg_is(a, "ex"))
		return OPT_EX;
	if (kv_arg_is(a, "px"))
		return OPT_PX;
	if (kv_arg_is(a, "exat"))
		return OPT_EXAT;
	if (kv_arg_is(a, "pxat"))
		return OPT_PXAT;
	return 0;
}

/*
 * Parses SET's options (for_set) or GETEX's. As in Redis, an option may be
 * repeated (the last time given wins) but never combined with one it
 * conflicts with, and an expire option needs its argument; anything else
 * is a syntax error. Numbers are not checked here: Redis reports a syntax
 * error anywhere before a bad number. Returns false on a syntax error.
 */
static bool parse_str_opts(int argc, const struct kv_arg *argv, int first, bool for_set,
			   struct str_opts *o)
{
	o->flags = 0;
	o->time = NULL;
	for (int i = first; i < argc; i++) {
		const struct kv_arg *a = &argv[i];
		unsigned f = o->flags;
		unsigned unit = expire_opt(a);

		if (for_set && kv_arg_is(a, "nx") && !(f & OPT_XX)) {
			o->flags |= OPT_NX;
		} else if (for_set && kv_arg_is(a, "xx") && !(f & OPT_NX)) {
			o->flags |= OPT_XX;
		} else if (for_set && kv_arg_is(a, "get")) {
			o->flags |= OPT_GET;
		} else if (for_set && kv_arg_is(a, "keepttl") && !(f & OPT_EXPIRE)) {
			o->flags |= OPT_KEEPTTL;
		} else if (!for_set && kv_arg_is(a, "persist") && !(f & OPT_EXPIRE)) {
			o->flags |= OPT_PERSIST;
		} else if (unit != 0 && i + 1 < argc &&
			   !(f & (OPT_KEEPTTL | OPT_PERSIST | (OPT_EXPIRE & ~unit)))) {
			o->flags |= unit;
			o->time = &argv[++i];
		} else {
			return false;
		}
	}
	return true;
}

/* The absolute expiry time o asks for (o has an expire option). */
static bool opts_expire(struct kv_exec *x, const struct str_opts *o, const char *cmd, int64_t *out)
{
	return expire_from_arg(x, o->time, (o->flags & (OPT_EX | OPT_EXAT)) != 0,
			       (o->flags & (OPT_EX | OPT_PX)) != 0, cmd, out);
}

/* --- GET, SET and friends --------------------------------------------------- */

/* What a set-like command replies. */
enum set_reply {
	SET_REPLY_OK,  /* +OK, or nil when NX/XX stopped it (SET, SETEX) */
	SET_REPLY_INT, /* :1 when set, :0 when not (SETNX) */
	SET_REPLY_OLD, /* the old value or nil, either way (SET GET, GETSET) */
};

/*
 * Sets key to val unless NX/XX in flags says no. expire_ms is absolute,
 * KV_NO_EXPIRE (SET clears the TTL) or KV_KEEP_EXPIRE. An absolute time
 * already past leaves the key deleted, as a set followed by its expiry.
 */
static void set_generic(struct kv_exec *x, const struct kv_arg *key, const struct kv_arg *val,
			unsigned flags, int64_t expire_ms, enum set_reply reply)
{
	struct kv_entry *e;
	size_t mark = x->out->len;

	if (!lookup_string(x, key, reply == SET_REPLY_OLD, &e))
		return;
	if (reply == SET_REPLY_OLD) {
		size_t n;
		const char *old = e ? kv_entry_value(e, &n) : NULL;

		if (old)
			resp_add_bulk(x->out, old, n);
		else
			resp_add_null(x->out);
	}
	if (((flags & OPT_NX) && e != NULL) || ((flags & OPT_XX) && e == NULL)) {
		if (reply == SET_REPLY_OK)
			resp_add_null(x->out);
		else if (reply == SET_REPLY_INT)
			resp_add_int(x->out, 0);
		return;
	}
	if (expire_ms >= 0 && expire_ms <= (int64_t)x->now_ms) {
		kv_delete(x->store, x->db, key->p, key->len, x->now_ms);
	} else if (!kv_set(x->store, x->db, key->p, key->len, val->p, val->len, expire_ms)) {
		reply_rollback(x, mark);
		resp_add_error(x->out, err_oom);
		return;
	}
	x->dirty++;
	if (reply == SET_REPLY_OK)
		resp_add_status(x->out, "OK");
	else if (reply == SET_REPLY_INT)
		resp_add_int(x->out, 1);
}

/* GET key */
void kv_cmd_get(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	struct kv_entry *e;
	const char *v;
	size_t n;

	(void)argc;
	if (!lookup_string(x, &argv[1], true, &e))
		return;
	if (e == NULL) {
		resp_add_null(x->out);
		return;
	}
	v = kv_entry_value(e, &n);
	resp_add_bulk(x->out, v, n);
}

/* SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL] */
void kv_cmd_set(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	struct str_opts o;
	int64_t expire_ms = KV_NO_EXPIRE;

	if (!parse_str_opts(argc, argv, 3, true, &o)) {
		resp_add_error(x->out, err_syntax);
		return;
	}
	if ((o.flags & OPT_EXPIRE) && !opts_expire(x, &o, "set", &expire_ms))
		return;
	if (o.flags & OPT_KEEPTTL)
		expire_ms = KV_KEEP_EXPIRE;
	set_generic(x, &argv[1], &argv[2], o.flags, expire_ms,
		    (o.flags & OPT_GET) ? SET_REPLY_OLD : SET_REPLY_OK);
}

/* SETNX key value */
void kv_cmd_setnx(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	(void)argc;
	set_generic(x, &argv[1], &argv[2], OPT_NX, KV_NO_EXPIRE, SET_REPLY_INT);
}

/* SETEX key seconds value; PSETEX key ms value. */
static void setex_generic(struct kv_exec *x, const struct kv_arg *argv, bool seconds,
			  const char *cmd)
{
	int64_t expire_ms;

	if (!expire_from_arg(x, &argv[2], seconds, true, cmd, &expire_ms))
		return;
	set_generic(x, &argv[1], &argv[3], 0, expire_ms, SET_REPLY_OK);
}

void kv_cmd_setex(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	(void)argc;
	setex_generic(x, argv, true, "setex");
}

void kv_cmd_psetex(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	(void)argc;
	setex_generic(x, argv, false, "psetex");
}

/* GETSET key value: SET key value GET, which clears the TTL. */
void kv_cmd_getset(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	(void)argc;
	set_generic(x, &argv[1], &argv[2], 0, KV_NO_EXPIRE, SET_REPLY_OLD);
}

/* GETDEL key */
void kv_cmd_getdel(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	struct kv_entry *e;
	const char *v;
	size_t n;

	(void)argc;
	if (!lookup_string(x, &argv[1], true, &e))
		return;
	if (e == NULL) {
		resp_add_null(x->out);
		return;
	}
	v = kv_entry_value(e, &n);
	resp_add_bulk(x->out, v, n);
	kv_delete(x->store, x->db, argv[1].p, argv[1].len, x->now_ms);
	x->dirty++;
}

/*
 * GETEX key [EX s|PX ms|EXAT s|PXAT ms|PERSIST]. A missing key replies nil
 * before the time is checked, as in Redis. A time already past deletes the
 * key (after its value is replied).
 */
void kv_cmd_getex(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	struct str_opts o;
	struct kv_entry *e;
	int64_t expire_ms = KV_NO_EXPIRE;
	const char *v;
	size_t n;

	if (!parse_str_opts(argc, argv, 2, false, &o)) {
		resp_add_error(x->out, err_syntax);
		return;
	}
	if (!lookup_string(x, &argv[1], true, &e))
		return;
	if (e == NULL) {
		resp_add_null(x->out);
		return;
	}
	if ((o.flags & OPT_EXPIRE) && !opts_expire(x, &o, "getex", &expire_ms))
		return;
	v = kv_entry_value(e, &n);
	resp_add_bulk(x->out, v, n);
	if (o.flags & OPT_EXPIRE) {
		if (expire_ms <= (int64_t)x->now_ms)
			kv_delete(x->store, x->db, argv[1].p, argv[1].len, x->now_ms);
		else
			kv_entry_set_expire(x->store, x->db, e, expire_ms);
		x->dirty++;
	} else if ((o.flags & OPT_PERSIST) && kv_entry_expire(e) != KV_NO_EXPIRE) {
		kv_entry_set_expire(x->store, x->db, e, KV_NO_EXPIRE);
		x->dirty++;
	}
}

/* --- several keys ------------------------------------------------------------ */

/* MGET key [key ...]: nil for a missing key (and, later, for a key of
 * another type: MGET never replies WRONGTYPE). */
void kv_cmd_mget(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	resp_add_array(x->out, (size_t)(argc - 1));
	for (int i = 1; i < argc; i++) {
		struct kv_entry *e =
			kv_lookup(x->store, x->db, argv[i].p, argv[i].len, x->now_ms, true);
		const char *v;
		size_t n;

		if (e == NULL) {
			resp_add_null(x->out);
			continue;
		}
		v = kv_entry_value(e, &n);
		resp_add_bulk(x->out, v, n);
	}
}

/* MSET key value [key value ...]. Keys set before an allocation fails stay
 * set, as the ones before a crash would. */
void kv_cmd_mset(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	if (argc % 2 == 0) {
		resp_add_error(x->out, "ERR wrong number of arguments for 'mset' command");
		return;
	}
	for (int i = 1; i < argc; i += 2) {
		if (!kv_set(x->store, x->db, argv[i].p, argv[i].len, argv[i + 1].p, argv[i + 1].len,
			    KV_NO_EXPIRE)) {
			resp_add_error(x->out, err_oom);
			return;
		}
		x->dirty++;
	}
	resp_add_status(x->out, "OK");
}

/*
 * MSETNX key value [key value ...]: all or none, over this shard's keys.
 * When an allocation fails part way, the keys already set (all new) are
 * deleted again, so it stays all or none.
 */
void kv_cmd_msetnx(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	if (argc % 2 == 0) {
		resp_add_error(x->out, "ERR wrong number of arguments for 'msetnx' command");
		return;
	}
	for (int i = 1; i < argc; i += 2) {
		if (kv_lookup(x->store, x->db, argv[i].p, argv[i].len, x->now_ms, false)) {
			resp_add_int(x->out, 0);
			return;
		}
	}
	for (int i = 1; i < argc; i += 2) {
		if (!kv_set(x->store, x->db, argv[i].p, argv[i].len, argv[i + 1].p, argv[i + 1].len,
			    KV_NO_EXPIRE)) {
			for (int j = 1; j < i; j += 2)
				kv_delete(x->store, x->db, argv[j].p, argv[j].len, x->now_ms);
			resp_add_error(x->out, err_oom);
			return;
		}
	}
	x->dirty += (uint64_t)(argc - 1) / 2;
	resp_add_int(x->out, 1);
}

/* --- in-place edits ------------------------------------------------------------ */

/* APPEND key value: creates the key (even with an empty value) or extends
 * it, keeping its TTL. Replies the new length. */
void kv_cmd_append(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	const struct kv_arg *add = &argv[2];
	struct kv_entry *e;
	size_t olen;
	char *v;

	(void)argc;
	if (!lookup_string(x, &argv[1], false, &e))
		return;
	if (e == NULL) {
		if (!kv_set(x->store, x->db, argv[1].p, argv[1].len, add->p, add->len,
			    KV_NO_EXPIRE)) {
			resp_add_error(x->out, err_oom);
			return;
		}
		x->dirty++;
		resp_add_int(x->out, (long long)add->len);
		return;
	}
	kv_entry_value(e, &olen);
	if (olen > KV_STRING_MAX || add->len > KV_STRING_MAX - olen) {
		resp_add_error(x->out, err_too_big);
		return;
	}
	v = kv_entry_resize(x->store, e, olen + add->len);
	if (v == NULL) {
		resp_add_error(x->out, err_oom);
		return;
	}
	memcpy(v + olen, add->p, add->len);
	x->dirty++;
	resp_add_int(x->out, (long long)(olen + add->len));
}

/* STRLEN key: 0 for a missing key. */
void kv_cmd_strlen(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	struct kv_entry *e;
	size_t n = 0;

	(void)argc;
	if (!lookup_string(x, &argv[1], true, &e))
		return;
	if (e != NULL)
		kv_entry_value(e, &n);
	resp_add_int(x->out, (long long)n);
}

/*
 * SETRANGE key offset value: overwrites from offset, zero-padding a gap.
 * An empty value changes nothing (and creates no key): it replies the
 * current length. Replies the new length.
 */
void kv_cmd_setrange(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	const struct kv_arg *val = &argv[3];
	struct kv_entry *e;
	long long offset;
	size_t olen = 0, end;
	char *v;

	(void)argc;
	if (!kv_parse_ll(argv[2].p, argv[2].len, &offset)) {
		resp_add_error(x->out, err_not_int);
		return;
	}
	if (offset < 0) {
		resp_add_error(x->out, "ERR offset is out of range");
		return;
	}
	if (!lookup_string(x, &argv[1], false, &e))
		return;
	if (e != NULL)
		kv_entry_value(e, &olen);
	if (val->len == 0) {
		resp_add_int(x->out, (long long)olen);
		return;
	}
	if ((unsigned long long)offset > KV_STRING_MAX ||
	    val->len > KV_STRING_MAX - (unsigned long long)offset) {
		resp_add_error(x->out, err_too_big);
		return;
	}
	end = (size_t)offset + val->len;
	if (e == NULL) {
		/* Created empty, then grown: the resize zero-fills the gap. */
		e = kv_set(x->store, x->db, argv[1].p, argv[1].len, "", 0, KV_NO_EXPIRE);
		v = e ? kv_entry_resize(x->store, e, end) : NULL;
		if (v == NULL && e != NULL)
			kv_delete(x->store, x->db, argv[1].p, argv[1].len, x->now_ms);
	} else {
		v = end > olen ? kv_entry_resize(x->store, e, end) : kv_entry_value(e, &olen);
	}
	if (v == NULL) {
		resp_add_error(x->out, err_oom);
		return;
	}
	memcpy(v + offset, val->p, val->len);
	x->dirty++;
	resp_add_int(x->out, (long long)(end > olen ? end : olen));
}

/*
 * GETRANGE key start end (and SUBSTR): inclusive, negative indexes count
 * from the end, clamped to the string; an empty range (or a missing key)
 * replies "". Both numbers are checked before the key is looked up.
 */
void kv_cmd_getrange(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	struct kv_entry *e;
	long long start, end, len;
	const char *v = NULL;
	size_t n = 0;

	(void)argc;
	if (!kv_parse_ll(argv[2].p, argv[2].len, &start) ||
	    !kv_parse_ll(argv[3].p, argv[3].len, &end)) {
		resp_add_error(x->out, err_not_int);
		return;
	}
	if (!lookup_string(x, &argv[1], true, &e))
		return;
	if (e != NULL)
		v = kv_entry_value(e, &n);
	len = (long long)n;
	/* Both negative and reversed is empty even where clamping would make
	 * them meet at 0. */
	if (start < 0 && end < 0 && start > end) {
		resp_add_bulk(x->out, "", 0);
		return;
	}
	if (start < 0)
		start += len;
	if (end < 0)
		end += len;
	if (start < 0)
		start = 0;
	if (end < 0)
		end = 0;
	if (end >= len)
		end = len - 1;
	if (len == 0 || start > end) {
		resp_add_bulk(x->out, "", 0);
		return;
	}
	resp_add_bulk(x->out, v + start, (size_t)(end - start + 1));
}

void kv_cmd_substr(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	kv_cmd_getrange(x, argc, argv);
}

/* --- counters -------------------------------------------------------------------- */

/* Adds by to the integer at key (0 when missing), keeping its TTL. */
static void incr_by(struct kv_exec *x, const struct kv_arg *key, long long by)
{
	struct kv_entry *e;
	long long v = 0;
	char buf[24];
	int n;

	if (!lookup_string(x, key, false, &e))
		return;
	if (e != NULL) {
		size_t len;
		const char *p = kv_entry_value(e, &len);

		if (!kv_parse_ll(p, len, &v)) {
			resp_add_error(x->out, err_not_int);
			return;
		}
	}
	if ((by < 0 && v < LLONG_MIN - by) || (by > 0 && v > LLONG_MAX - by)) {
		resp_add_error(x->out, "ERR increment or decrement would overflow");
		return;
	}
	v += by;
	n = snprintf(buf, sizeof(buf), "%lld", v);
	if (!store_keep_ttl(x, key, e, buf, (size_t)n)) {
		resp_add_error(x->out, err_oom);
		return;
	}
	x->dirty++;
	resp_add_int(x->out, v);
}

void kv_cmd_incr(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	(void)argc;
	incr_by(x, &argv[1], 1);
}

void kv_cmd_decr(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	(void)argc;
	incr_by(x, &argv[1], -1);
}

void kv_cmd_incrby(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	long long by;

	(void)argc;
	if (!kv_parse_ll(argv[2].p, argv[2].len, &by)) {
		resp_add_error(x->out, err_not_int);
		return;
	}
	incr_by(x, &argv[1], by);
}

void kv_cmd_decrby(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	long long by;

	(void)argc;
	if (!kv_parse_ll(argv[2].p, argv[2].len, &by)) {
		resp_add_error(x->out, err_not_int);
		return;
	}
	/* -LLONG_MIN does not exist; Redis says so before reading the key. */
	if (by == LLONG_MIN) {
		resp_add_error(x->out, "ERR decrement would overflow");
		return;
	}
	incr_by(x, &argv[1], -by);
}

/*
 * Prints v as Redis's human-friendly long double: "%.17Lf" with trailing
 * zeros (and a trailing '.') removed, and "-0" as "0". Seventeen decimals
 * hide the binary noise of the 64-bit mantissa ("10.6", not
 * "10.5999999999999999"). buf has KV_LD_BUF bytes. Returns the length.
 */
static size_t format_ld_human(long double v, char *buf)
{
	int r = snprintf(buf, KV_LD_BUF, "%.17Lf", v);
	size_t n;

	if (r < 0 || r >= KV_LD_BUF)
		return 0;
	n = (size_t)r;
	if (memchr(buf, '.', n) != NULL) {
		while (buf[n - 1] == '0')
			n--;
		if (buf[n - 1] == '.')
			n--;
	}
	if (n == 2 && buf[0] == '-' && buf[1] == '0') {
		buf[0] = '0';
		n = 1;
	}
	return n;
}

/* INCRBYFLOAT key increment: keeps the TTL; replies the stored string. */
void kv_cmd_incrbyfloat(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	struct kv_entry *e;
	long double v = 0, by;
	char buf[KV_LD_BUF];
	size_t n;

	(void)argc;
	if (!lookup_string(x, &argv[1], false, &e))
		return;
	if (e != NULL) {
		size_t len;
		const char *p = kv_entry_value(e, &len);

		if (!kv_parse_ld(p, len, &v)) {
			resp_add_error(x->out, err_not_float);
			return;
		}
	}
	if (!kv_parse_ld(argv[2].p, argv[2].len, &by)) {
		resp_add_error(x->out, err_not_float);
		return;
	}
	v += by;
	if (isnan(v) || isinf(v)) {
		resp_add_error(x->out, "ERR increment would produce NaN or Infinity");
		return;
	}
	n = format_ld_human(v, buf);
	if (n == 0 || !store_keep_ttl(x, &argv[1], e, buf, n)) {
		resp_add_error(x->out, err_oom);
		return;
	}
	x->dirty++;
	resp_add_bulk(x->out, buf, n);
}

/* --- LCS -------------------------------------------------------------------------- */

/* LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]: the keys are on
 * this shard; a missing key counts as "". */
void kv_cmd_lcs(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	struct kv_entry *ea, *eb;
	const char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;

	if (!lookup_string(x, &argv[1], true, &ea) || !lookup_string(x, &argv[2], true, &eb))
		return;
	if (ea != NULL)
		a = kv_entry_value(ea, &alen);
	if (eb != NULL)
		b = kv_entry_value(eb, &blen);
	kv_lcs_reply(x->out, a, alen, b, blen, argc, argv, 3);
}
