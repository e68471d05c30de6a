/*
 * kv_keys.c - the keyspace commands of one shard: DEL, UNLINK, EXISTS,
 * TOUCH, TYPE, KEYS, SCAN, RANDOMKEY, DBSIZE, FLUSHDB, FLUSHALL, SWAPDB,
 * RENAME, RENAMENX, COPY, MOVE and OBJECT, with Redis 7.0's replies and
 * error strings, checked in the order Redis checks them.
 *
 * Every value is a string, so TYPE is "string" or "none". Reads count as
 * keyspace hits or misses where Redis's do; writes bump x->dirty.
 */
#include "kv_keys.h"

#include <stdio.h>
#include <string.h>

/* Redis's shared error replies. */
static const char err_syntax[] = "ERR syntax error";
static const char err_not_int[] = "ERR value is not an integer or out of range";
static const char err_db_range[] = "ERR DB index is out of range";
static const char err_same[] = "ERR source and destination objects are the same";
static const char err_no_key[] = "ERR no such key";

/* As Redis's getIntFromObjectOrReply: a long long that fits an int. */
static bool parse_int(const struct kv_arg *a, int *out)
{
	long long v;

	if (!kv_parse_ll(a->p, a->len, &v) || v < INT32_MIN || v > INT32_MAX)
		return false;
	*out = (int)v;
	return true;
}

static bool db_in_range(int db)
{
	return db >= 0 && db < KV_DBS;
}

static bool args_equal(const struct kv_arg *a, const struct kv_arg *b)
{
	return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

/* --- DEL, UNLINK, EXISTS, TOUCH, TYPE ------------------------------------ */

static void delete_keys(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	long long deleted = 0;

	for (int i = 1; i < argc; i++) {
		if (kv_delete(x->store, x->db, argv[i].p, argv[i].len, x->now_ms))
			deleted++;
	}
	x->dirty += (uint64_t)deleted;
	resp_add_int(x->out, deleted);
}

void kv_cmd_del(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	delete_keys(x, argc, argv);
}

/* Freeing a string is cheap enough to do now: UNLINK is DEL. */
void kv_cmd_unlink(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	delete_keys(x, argc, argv);
}

/* A key named twice counts twice, as in Redis. flags: kv_lookup's. */
static void count_existing(struct kv_exec *x, int argc, const struct kv_arg *argv, unsigned flags)
{
	long long found = 0;

	for (int i = 1; i < argc; i++) {
		if (kv_lookup(x->store, x->db, argv[i].p, argv[i].len, x->now_ms, flags) != NULL)
			found++;
	}
	resp_add_int(x->out, found);
}

/* EXISTS and TYPE leave the LRU clock alone, as Redis's LOOKUP_NOTOUCH. */
void kv_cmd_exists(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	count_existing(x, argc, argv, KV_LOOKUP_COUNT | KV_LOOKUP_NOTOUCH);
}

/* Touching is looking up: the lookup stamps the LRU clock. */
void kv_cmd_touch(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	count_existing(x, argc, argv, KV_LOOKUP_COUNT);
}

void kv_cmd_type(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	(void)argc;
	if (kv_lookup(x->store, x->db, argv[1].p, argv[1].len, x->now_ms,
		      KV_LOOKUP_COUNT | KV_LOOKUP_NOTOUCH) != NULL)
		resp_add_status(x->out, "string");
	else
		resp_add_status(x->out, "none");
}

/* --- KEYS, SCAN, RANDOMKEY, DBSIZE ------------------------------------------ */

/* Keys gathered as bulk strings in their own buffer, counted, so the
 * array header can go first. */
struct key_list {
	struct resp_out keys;
	size_t n;
	const char *pattern; /* NULL: every key */
	size_t plen;
};

static void collect_key(void *arg, const struct kv_entry *e)
{
	struct key_list *l = arg;
	size_t len;
	const char *k = kv_entry_key(e, &len);

	if (l->pattern != NULL && !kv_glob_match(l->pattern, l->plen, k, len, false))
		return;
	resp_add_bulk(&l->keys, k, len);
	l->n++;
}

static void skip_key(void *arg, const struct kv_entry *e)
{
	(void)arg;
	(void)e;
}

static void key_list_init(struct key_list *l, const struct kv_exec *x, const struct kv_arg *pat)
{
	resp_out_init(&l->keys, x->out->proto);
	l->n = 0;
	/* "*" alone matches every key, the empty one too (as Redis). */
	l->pattern = pat == NULL || (pat->len == 1 && pat->p[0] == '*') ? NULL : pat->p;
	l->plen = pat == NULL ? 0 : pat->len;
}

/* Writes the gathered keys as an array and frees them. */
static void key_list_reply(struct kv_exec *x, struct key_list *l)
{
	if (l->keys.oom)
		x->out->oom = true;
	resp_add_array(x->out, l->n);
	resp_add_raw(x->out, l->keys.data, l->keys.len);
	resp_out_free(&l->keys);
}

void kv_cmd_keys(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	struct key_list l;
	uint64_t cursor = 0;

	(void)argc;
	key_list_init(&l, x, &argv[1]);
	/* Nothing changes the table during the loop, so each key is seen
	 * exactly once. */
	do {
		cursor = kv_db_scan(x->store, x->db, cursor, SIZE_MAX, x->now_ms, collect_key, &l);
	} while (cursor != 0);
	key_list_reply(x, &l);
}

/*
 * As Redis's parseScanCursorOrReply, which uses strtoul: an optional sign
 * ("-1" wraps around), digits, nothing else; the empty string is 0.
 */
static bool parse_cursor(const struct kv_arg *a, uint64_t *out)
{
	size_t i = 0;
	bool neg = false;
	uint64_t v = 0;

	if (a->len > 0 && (a->p[0] == '-' || a->p[0] == '+')) {
		neg = a->p[0] == '-';
		i++;
		if (i == a->len)
			return false;
	}
	for (; i < a->len; i++) {
		unsigned d = (unsigned)(a->p[i] - '0');

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = neg ? (uint64_t)0 - v : v;
	return true;
}

void kv_cmd_scan(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	const struct kv_arg *pattern = NULL, *type = NULL;
	long long count = 10;
	uint64_t cursor;
	struct key_list l;
	char buf[24];
	int n;

	if (!parse_cursor(&argv[1], &cursor)) {
		resp_add_error(x->out, "ERR invalid cursor");
		return;
	}
	for (int i = 2; i < argc; i += 2) {
		if (kv_arg_is(&argv[i], "count") && i + 1 < argc) {
			if (!kv_parse_ll(argv[i + 1].p, argv[i + 1].len, &count)) {
				resp_add_error(x->out, err_not_int);
				return;
			}
			if (count < 1) {
				resp_add_error(x->out, err_syntax);
				return;
			}
		} else if (kv_arg_is(&argv[i], "match") && i + 1 < argc) {
			pattern = &argv[i + 1];
		} else if (kv_arg_is(&argv[i], "type") && i + 1 < argc) {
			type = &argv[i + 1];
		} else {
			resp_add_error(x->out, err_syntax);
			return;
		}
	}
	key_list_init(&l, x, pattern);
	/* Every key is a string: TYPE string keeps them all, any other type
	 * none (Redis does not reject unknown type names either). */
	cursor = kv_db_scan(x->store, x->db, cursor, (size_t)count, x->now_ms,
			    type == NULL || kv_arg_is(type, "string") ? collect_key : skip_key, &l);
	resp_add_array(x->out, 2);
	n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)cursor);
	resp_add_bulk(x->out, buf, (size_t)n);
	key_list_reply(x, &l);
}

void kv_cmd_randomkey(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	struct kv_entry *e = kv_db_random(x->store, x->db, x->now_ms);
	size_t len;
	const char *k;

	(void)argc;
	(void)argv;
	if (e == NULL) {
		resp_add_null(x->out);
		return;
	}
	k = kv_entry_key(e, &len);
	resp_add_bulk(x->out, k, len);
}

void kv_cmd_dbsize(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	(void)argc;
	(void)argv;
	resp_add_int(x->out, (long long)kv_db_size(x->store, x->db));
}

/* --- FLUSHDB, FLUSHALL, SWAPDB ----------------------------------------------- */

/* [ASYNC|SYNC]: both free now, strings being cheap to free. */
static bool flush_args_ok(int argc, const struct kv_arg *argv)
{
	return argc == 1 ||
	       (argc == 2 && (kv_arg_is(&argv[1], "sync") || kv_arg_is(&argv[1], "async")));
}

void kv_cmd_flushdb(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	if (!flush_args_ok(argc, argv)) {
		resp_add_error(x->out, err_syntax);
		return;
	}
	/* One change for the flush itself, even of an empty db, as Redis
	 * always propagates it. */
	x->dirty += kv_db_size(x->store, x->db) + 1;
	kv_db_flush(x->store, x->db);
	resp_add_status(x->out, "OK");
}

void kv_cmd_flushall(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	if (!flush_args_ok(argc, argv)) {
		resp_add_error(x->out, err_syntax);
		return;
	}
	for (int db = 0; db < KV_DBS; db++)
		x->dirty += kv_db_size(x->store, db);
	x->dirty++;
	kv_store_flush(x->store);
	resp_add_status(x->out, "OK");
}

void kv_cmd_swapdb(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	int a, b;

	(void)argc;
	if (!parse_int(&argv[1], &a)) {
		resp_add_error(x->out, "ERR invalid first DB index");
		return;
	}
	if (!parse_int(&argv[2], &b)) {
		resp_add_error(x->out, "ERR invalid second DB index");
		return;
	}
	if (!db_in_range(a) || !db_in_range(b)) {
		resp_add_error(x->out, err_db_range);
		return;
	}
	if (a != b)
		kv_db_swap(x->store, a, b);
	x->dirty++;
	resp_add_status(x->out, "OK");
}

/* --- RENAME, RENAMENX, COPY, MOVE ---------------------------------------------- */

/*
 * Writes src's value and expiry under key in db dst_db (replacing any key
 * there). src stays valid: kv_set on another key never moves an entry.
 * Returns false when out of memory (the reply is then the caller's).
 */
static bool clone_entry(struct kv_exec *x, struct kv_entry *src, int dst_db,
			const struct kv_arg *key)
{
	size_t vlen;
	const char *v = kv_entry_value(src, &vlen);

	return kv_set(x->store, dst_db, key->p, key->len, v, vlen, kv_entry_expire(src)) != NULL;
}

static void rename_key(struct kv_exec *x, const struct kv_arg *argv, bool nx)
{
	struct kv_entry *src;

	src = kv_lookup(x->store, x->db, argv[1].p, argv[1].len, x->now_ms, false);
	if (src == NULL) {
		resp_add_error(x->out, err_no_key);
		return;
	}
	/* Renaming a key to itself changes nothing but must still find it. */
	if (args_equal(&argv[1], &argv[2])) {
		if (nx)
			resp_add_int(x->out, 0);
		else
			resp_add_status(x->out, "OK");
		return;
	}
	if (nx && kv_lookup(x->store, x->db, argv[2].p, argv[2].len, x->now_ms, false) != NULL) {
		resp_add_int(x->out, 0);
		return;
	}
	if (!clone_entry(x, src, x->db, &argv[2])) {
		x->out->oom = true;
		return;
	}
	kv_delete(x->store, x->db, argv[1].p, argv[1].len, x->now_ms);
	x->dirty++;
	if (nx)
		resp_add_int(x->out, 1);
	else
		resp_add_status(x->out, "OK");
}

void kv_cmd_rename(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	(void)argc;
	rename_key(x, argv, false);
}

void kv_cmd_renamenx(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	(void)argc;
	rename_key(x, argv, true);
}

/* COPY source destination [DB destination-db] [REPLACE] */
void kv_cmd_copy(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	int dst_db = x->db;
	bool replace = false;
	struct kv_entry *src;

	for (int i = 3; i < argc; i++) {
		if (kv_arg_is(&argv[i], "replace")) {
			replace = true;
		} else if (kv_arg_is(&argv[i], "db") && i + 1 < argc) {
			long long v;

			if (!kv_parse_ll(argv[i + 1].p, argv[i + 1].len, &v)) {
				resp_add_error(x->out, err_not_int);
				return;
			}
			if (v < 0 || v >= KV_DBS) {
				resp_add_error(x->out, err_db_range);
				return;
			}
			dst_db = (int)v;
			i++;
		} else {
			resp_add_error(x->out, err_syntax);
			return;
		}
	}
	if (dst_db == x->db && args_equal(&argv[1], &argv[2])) {
		resp_add_error(x->out, err_same);
		return;
	}
	src = kv_lookup(x->store, x->db, argv[1].p, argv[1].len, x->now_ms, true);
	if (src == NULL || (!replace && kv_lookup(x->store, dst_db, argv[2].p, argv[2].len,
						  x->now_ms, false) != NULL)) {
		resp_add_int(x->out, 0);
		return;
	}
	if (!clone_entry(x, src, dst_db, &argv[2])) {
		x->out->oom = true;
		return;
	}
	x->dirty++;
	resp_add_int(x->out, 1);
}

/* MOVE key db */
void kv_cmd_move(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	struct kv_entry *src;
	int dst_db;

	(void)argc;
	if (!parse_int(&argv[2], &dst_db)) {
		resp_add_error(x->out, err_not_int);
		return;
	}
	if (!db_in_range(dst_db)) {
		resp_add_error(x->out, err_db_range);
		return;
	}
	if (dst_db == x->db) {
		resp_add_error(x->out, err_same);
		return;
	}
	src = kv_lookup(x->store, x->db, argv[1].p, argv[1].len, x->now_ms, false);
	if (src == NULL ||
	    kv_lookup(x->store, dst_db, argv[1].p, argv[1].len, x->now_ms, false) != NULL) {
		resp_add_int(x->out, 0);
		return;
	}
	if (!clone_entry(x, src, dst_db, &argv[1])) {
		x->out->oom = true;
		return;
	}
	kv_delete(x->store, x->db, argv[1].p, argv[1].len, x->now_ms);
	x->dirty++;
	resp_add_int(x->out, 1);
}

/* --- OBJECT -------------------------------------------------------------------- */

static const char *const object_help[] = {
	"ENCODING <key>",
	"    Return the kind of internal representation used in order to store the value",
	"    associated with a <key>.",
	"FREQ <key>",
	"    Return the access frequency index of the <key>. The returned integer is",
	"    proportional to the logarithm of the recent access frequency of the key.",
	"IDLETIME <key>",
	"    Return the idle time of the <key>, that is the approximated number of",
	"    seconds elapsed since the last access to the key.",
};

/* The encoding Redis would report for a string value set by SET: "int"
 * for a long long of up to 20 characters, "embstr" up to 44 bytes, else
 * "raw". */
static const char *string_encoding(const char *v, size_t len)
{
	long long ll;

	if (len <= 20 && kv_parse_ll(v, len, &ll))
		return "int";
	return len <= 44 ? "embstr" : "raw";
}

/* Prints at most 128 bytes of a, up to a NUL, as Redis's "%.128s" does. */
static int printable_len(const struct kv_arg *a)
{
	const char *nul = memchr(a->p, '\0', a->len);
	size_t n = nul != NULL ? (size_t)(nul - a->p) : a->len;

	return (int)(n < 128 ? n : 128);
}

/* OBJECT ENCODING|IDLETIME|FREQ key | OBJECT HELP. REFCOUNT is not offered:
 * atoll-kv shares no objects. FREQ answers Redis's error for a policy that
 * is not LFU, the only kind atoll-kv has. The lookup leaves the key's LRU
 * clock alone, as Redis's. */
void kv_cmd_object(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	static const char *const subs[] = { "encoding", "idletime", "freq" };
	struct kv_entry *e;
	size_t len, sub;
	const char *v;
	char name[KV_SPELT_MAX + 1];

	if (kv_arg_is(&argv[1], "help")) {
		if (argc != 2) {
			resp_add_error(x->out,
				       "ERR wrong number of arguments for 'object|help' command");
			return;
		}
		kv_reply_help(x->out, &argv[0], object_help,
			      sizeof(object_help) / sizeof(object_help[0]));
		return;
	}
	for (sub = 0; sub < sizeof(subs) / sizeof(subs[0]); sub++) {
		if (kv_arg_is(&argv[1], subs[sub]))
			break;
	}
	if (sub == sizeof(subs) / sizeof(subs[0])) {
		resp_add_errorf(x->out, "ERR unknown subcommand '%.*s'. Try %s HELP.",
				printable_len(&argv[1]), argv[1].p,
				kv_command_spelt(&argv[0], name));
		return;
	}
	if (argc != 3) {
		resp_add_errorf(x->out, "ERR wrong number of arguments for 'object|%s' command",
				subs[sub]);
		return;
	}
	e = kv_lookup(x->store, x->db, argv[2].p, argv[2].len, x->now_ms,
		      KV_LOOKUP_COUNT | KV_LOOKUP_NOTOUCH);
	if (e == NULL) {
		resp_add_null(x->out);
		return;
	}
	switch (sub) {
	case 0:
		v = kv_entry_value(e, &len);
		resp_add_bulk_cstr(x->out, string_encoding(v, len));
		break;
	case 1:
		resp_add_int(x->out, (long long)(kv_entry_idle_ms(e, x->now_ms) / 1000));
		break;
	default:
		resp_add_error(x->out,
			       "ERR An LFU maxmemory policy is not selected, access frequency not "
			       "tracked. Please note that when switching between policies at "
			       "runtime LRU and LFU data will take some time to adjust.");
		break;
	}
}
