/*
 * kv_internal.c - the internal kv.* commands, which only connection actors
 * send (clients get "unknown command"): kv.dump and kv.restore move a key
 * between shards for RENAME, COPY and MOVE-like commands whose keys live on
 * different shards; kv.info and kv.resetstat serve INFO and CONFIG
 * RESETSTAT. Replies are as kv_cmd.h documents them.
 */
#include "kv_keys.h"

/* kv.dump key -> [value, expire_ms] or a null array. */
void kv_cmd_kv_dump(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	struct kv_entry *e = kv_lookup(x->store, x->db, argv[1].p, argv[1].len, x->now_ms, false);
	size_t len;
	const char *v;

	(void)argc;
	if (e == NULL) {
		resp_add_null_array(x->out);
		return;
	}
	v = kv_entry_value(e, &len);
	resp_add_array(x->out, 2);
	resp_add_bulk(x->out, v, len);
	resp_add_int(x->out, kv_entry_expire(e));
}

/* kv.restore key value expire_ms [NX] -> :1 set (or deleted, for a time
 * already past), :0 when NX found the key. */
void kv_cmd_kv_restore(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	long long expire;
	bool nx = false;

	if (!kv_parse_ll(argv[3].p, argv[3].len, &expire)) {
		resp_add_error(x->out, "ERR value is not an integer or out of range");
		return;
	}
	if (argc > 5 || (argc == 5 && !(nx = kv_arg_is(&argv[4], "nx")))) {
		resp_add_error(x->out, "ERR syntax error");
		return;
	}
	if (nx && kv_lookup(x->store, x->db, argv[1].p, argv[1].len, x->now_ms, false) != NULL) {
		resp_add_int(x->out, 0);
		return;
	}
	if (expire != KV_NO_EXPIRE && expire <= (long long)x->now_ms) {
		/* The source key expired in flight: the destination is left
		 * as if it had been written and then expired. */
		kv_delete(x->store, x->db, argv[1].p, argv[1].len, x->now_ms);
	} else if (kv_set(x->store, x->db, argv[1].p, argv[1].len, argv[2].p, argv[2].len,
			  expire) == NULL) {
		x->out->oom = true;
		return;
	}
	x->dirty++;
	resp_add_int(x->out, 1);
}

/* kv.info -> used_memory, expired_keys, keyspace_hits, keyspace_misses,
 * then keys, expires, avg_ttl_ms of each db. */
void kv_cmd_kv_info(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	struct kv_store_stats st;

	(void)argc;
	(void)argv;
	kv_store_stats(x->store, &st);
	resp_add_array(x->out, 4 + 3 * KV_DBS);
	resp_add_int(x->out, (long long)kv_store_memory(x->store));
	resp_add_int(x->out, (long long)st.expired_keys);
	resp_add_int(x->out, (long long)st.keyspace_hits);
	resp_add_int(x->out, (long long)st.keyspace_misses);
	for (int db = 0; db < KV_DBS; db++) {
		struct kv_db_info info;

		kv_db_info(x->store, db, &info);
		resp_add_int(x->out, (long long)info.keys);
		resp_add_int(x->out, (long long)info.expires);
		resp_add_int(x->out, (long long)info.avg_ttl_ms);
	}
}

void kv_cmd_kv_resetstat(struct kv_exec *x, int argc, const struct kv_arg *argv)
{
	(void)argc;
	(void)argv;
	kv_store_reset_stats(x->store);
	resp_add_status(x->out, "OK");
}
