/*
 * kv_rename.h - rename-command: the names clients reach atoll-kv's commands
 * by, once an operator has renamed some or disabled them (Redis's
 * rename-command directive, in the config file or as --rename-command).
 *
 * A table is built at start, before any client connects, and is read-only
 * afterwards: connections on every reactor look names up in it at once,
 * without locks. Only the names clients send change. The command table
 * (kv_cmd.h) is not touched: the internal kv.* steps, the log (kv_aof.h) and
 * every reply that names a command (COMMAND INFO, "wrong number of
 * arguments for 'get'") keep the table's names, as Redis keeps a renamed
 * command's own name.
 */
#ifndef ATOLL_KV_RENAME_H
#define ATOLL_KV_RENAME_H

#include <stdbool.h>
#include <stddef.h>

#include "kv_cmd.h"

#ifdef __cplusplus
extern "C" {
#endif

struct kv_rename;

/* An empty table: every command answers to its own name. Returns 0 and
 * the table in *out, or -ENOMEM. */
int kv_rename_create(struct kv_rename **out);
/* Frees r and its names; NULL is fine. */
void kv_rename_destroy(struct kv_rename *r);

/*
 * rename-command FROM TO: the command clients now call FROM answers to TO
 * instead, or to nothing when tlen is 0 (disabled). Names are bytes of any
 * value (NUL included) and any length, compared ignoring ASCII case.
 *
 * As in Redis 7.0, renames apply in order, each to the names the earlier
 * ones left: a renamed command is renamed again by its new name; a name a
 * rename freed may be taken by another command; a command may be renamed
 * to its own name in another case. Internal commands (KV_CMD_INTERNAL) have
 * no name clients can use, so they cannot be renamed, and their names are
 * not free to take.
 *
 * Returns 0; -ENOENT when no command answers to FROM (unknown, internal,
 * disabled, or renamed away); -EEXIST when another command answers to TO;
 * -EPERM when TO is an internal command's name; -ENOMEM. A failure changes
 * nothing.
 */
int kv_rename_apply(struct kv_rename *r, const char *from, size_t flen, const char *to,
		    size_t tlen);

/*
 * The text after "rename-command" on a config file line (NUL-terminated):
 * split into words as Redis's sdssplitargs splits its config lines ("..."
 * with the escapes \n \r \t \b \a \xHH and \ before any other character,
 * '...' with \', a closing quote followed by a blank or the end, "" an
 * empty word), then kv_rename_apply of exactly two. Returns 0, what
 * kv_rename_apply returns, or -EINVAL for unbalanced quotes or a number of
 * words other than two; on failure err holds Redis 7.0's message ("No such
 * command in rename-command", "Target command name already exists",
 * "Unbalanced quotes in configuration line", "Bad directive or wrong number
 * of arguments") and nothing changed.
 */
int kv_rename_line(struct kv_rename *r, const char *args, char *err, size_t errlen);

/*
 * The message for a failure of kv_rename_apply: Redis 7.0's "No such
 * command in rename-command" (-ENOENT) and "Target command name already
 * exists" (-EEXIST); atoll-kv's own "Target command name is reserved for
 * atoll-kv's internal commands" (-EPERM: Redis has none) and "out of
 * memory".
 */
const char *kv_rename_strerror(int err);

/*
 * The command clients reach by name (len bytes, any case), or NULL. r NULL
 * is a table without renames: the same as kv_command_find. As
 * kv_command_find, it finds internal commands too (by their own names,
 * which renames never take): callers check KV_CMD_INTERNAL. Any thread.
 */
const struct kv_command *kv_rename_find(const struct kv_rename *r, const char *name, size_t len);

/* False when cmd was disabled (renamed to ""): COMMAND, COMMAND COUNT and
 * COMMAND DOCS leave it out, as Redis does. r NULL: true. */
bool kv_rename_reachable(const struct kv_rename *r, const struct kv_command *cmd);

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_KV_RENAME_H */
