/*
 * fuzz_kv_cmd.c - libFuzzer target for the commands a shard runs
 * (actors/kv_strings.c, kv_keys.c, kv_expire.c, kv_lcs.c, kv_internal.c)
 * over the store (actors/kv_db.c).
 *
 * The input is RESP: each command it holds is looked up in the command table
 * and, when a shard would run it and its arity fits, run against one store
 * (RESP2 or RESP3, database and clock taken from the input), exactly as
 * kv_shard.c does. Every reply must be one well-formed RESP value. The store
 * is freed at the end: LSan sees any leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kv_cmd.h"
#include "kv_db.h"
#include "resp.h"

#define MAX_ARGS 64

/* Skips commands whose arguments would make the store allocate hundreds of
 * megabytes (SETRANGE at a huge offset): a memory limit, not a finding. */
static bool too_big(const struct kv_command *cmd, int argc, const struct kv_arg *argv)
{
	long long off;

	if (strcmp(cmd->name, "setrange") == 0 && argc >= 3 &&
	    kv_parse_ll(argv[2].p, argv[2].len, &off) && off > (1 << 20))
		return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kv_store *store;
	struct resp_parser p;
	struct resp_out out;
	struct kv_arg argv[MAX_ARGS];
	uint64_t now_ms = 1700000000000ull;
	size_t off = 3;
	uint8_t proto;
	int db;

	if (size < 3)
		return 0;
	proto = (data[0] & 1) ? 3 : 2;
	db = data[1] % KV_DBS;
	now_ms += (uint64_t)data[2] * 1000u;
	store = kv_store_new();
	if (store == NULL)
		return 0;
	resp_parser_init(&p, 1u << 20);
	resp_out_init(&out, proto);
	while (off < size) {
		size_t used = 0;
		enum resp_status st = resp_parse(&p, (const char *)data + off, size - off, &used);
		const struct kv_command *cmd;

		if (st != RESP_DONE)
			break;
		if (p.nargs > 0 && p.nargs <= MAX_ARGS) {
			for (size_t i = 0; i < p.nargs; i++)
				argv[i].p = resp_parser_arg(&p, (const char *)data + off, i,
							    &argv[i].len);
			cmd = kv_command_find(argv[0].p, argv[0].len);
			if (cmd != NULL && cmd->exec != NULL &&
			    kv_command_arity_ok(cmd, (int)p.nargs) &&
			    !too_big(cmd, (int)p.nargs, argv)) {
				struct kv_exec x = {
					.store = store, .db = db, .now_ms = now_ms, .out = &out
				};
				size_t before = out.len;

				cmd->exec(&x, (int)p.nargs, argv);
				/* Exactly one well-formed reply. */
				if (!out.oom &&
				    resp_value_len(out.data + before, out.len - before) !=
					    out.len - before)
					abort();
				if (out.len > (1u << 20))
					resp_out_reset(&out);
			}
		}
		off += used;
		now_ms += 7; /* time moves: expiry paths run too */
		if (now_ms % 5 == 0)
			(void)kv_store_active_expire(store, now_ms, 100);
	}
	resp_out_free(&out);
	resp_parser_free(&p);
	kv_store_free(store);
	return 0;
}
