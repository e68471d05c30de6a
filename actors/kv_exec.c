/*
 * kv_exec.c - the one way a command runs on a shard's store
 * (kv_core_exec, kv_server.h): the shard's batches and the connections
 * running commands directly on their own core all come through here, so the
 * checks before a write and the log after it cannot be missed by either.
 */
#include "kv_server.h"

#include "kv_aof.h"
#include "kv_cmd.h"

uint64_t kv_core_exec(struct kv_core *core, const struct kv_command *cmd, struct kv_exec *x,
		      int argc, const struct kv_arg *argv)
{
	char msg[160];

	kv_store_set_time(core->store, x->now_ms);
	/* Redis's order: over maxmemory first (evicting), then the log. */
	if (!kv_maxmemory_admit(core, cmd, x->now_ms)) {
		resp_add_error(x->out, KV_OOM_ERROR);
		return 0;
	}
	/* As Redis: while the log cannot be written, writes are refused
	 * (reads go on), so nothing is acknowledged that could be lost. */
	if ((cmd->flags & KV_CMD_WRITE) && kv_aof_refuses_writes(core, msg, sizeof(msg))) {
		resp_add_error(x->out, msg);
		return 0;
	}
	cmd->exec(x, argc, argv);
	return kv_aof_record(core, cmd, x, argc, argv);
}
