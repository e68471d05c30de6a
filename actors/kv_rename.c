/*
 * kv_rename.c - rename-command (kv_rename.h): which name reaches which
 * command, and the directive's words on a config file line.
 *
 * Invariants: a command answers to one name at most (a rename moves a name,
 * never copies it); no two commands answer to the same name; a command
 * marked moved answers no longer to its table name, only to its new one
 * (to none when disabled). So a lookup tries the new names first, then the
 * table, whose answer counts only for a command that was not moved. The
 * new names are few (an operator's list), so they are searched in order.
 */
#include "kv_rename.h"
#include "resp.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	char *name; /* the name it answers to now, if moved; NULL: none */
	size_t len;
	bool moved; /* its table name no longer reaches it */
};

struct kv_rename {
	size_t ncmds;
	struct entry *by_cmd; /* [ncmds], by kv_command_index */
	uint32_t *named;      /* the indexes whose entry has a name */
	size_t nnamed;
};

int kv_rename_create(struct kv_rename **out)
{
	struct kv_rename *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return -ENOMEM;
	r->ncmds = kv_command_count();
	r->by_cmd = calloc(r->ncmds, sizeof(*r->by_cmd));
	r->named = calloc(r->ncmds, sizeof(*r->named));
	if (r->by_cmd == NULL || r->named == NULL) {
		kv_rename_destroy(r);
		return -ENOMEM;
	}
	*out = r;
	return 0;
}

void kv_rename_destroy(struct kv_rename *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; r->by_cmd != NULL && i < r->ncmds; i++)
		free(r->by_cmd[i].name);
	free(r->by_cmd);
	free(r->named);
	free(r);
}

static inline unsigned char ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* Equal ignoring ASCII case, as Redis's command dictionary compares. */
static bool same_name(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++) {
		if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i]))
			return false;
	}
	return true;
}

const struct kv_command *kv_rename_find(const struct kv_rename *r, const char *name, size_t len)
{
	const struct kv_command *cmd;

	if (r == NULL)
		return kv_command_find(name, len);
	for (size_t i = 0; i < r->nnamed; i++) {
		const struct entry *e = &r->by_cmd[r->named[i]];

		if (same_name(e->name, e->len, name, len))
			return kv_command_at(r->named[i]);
	}
	cmd = kv_command_find(name, len);
	return cmd != NULL && r->by_cmd[kv_command_index(cmd)].moved ? NULL : cmd;
}

bool kv_rename_reachable(const struct kv_rename *r, const struct kv_command *cmd)
{
	const struct entry *e;

	if (r == NULL)
		return true;
	e = &r->by_cmd[kv_command_index(cmd)];
	return !e->moved || e->name != NULL;
}

int kv_rename_apply(struct kv_rename *r, const char *from, size_t flen, const char *to, size_t tlen)
{
	const struct kv_command *cmd = kv_rename_find(r, from, flen);
	struct entry *e;
	char *copy = NULL;

	if (cmd == NULL || (cmd->flags & KV_CMD_INTERNAL))
		return -ENOENT;
	if (tlen > 0) {
		const struct kv_command *other = kv_rename_find(r, to, tlen);

		if (other != NULL && (other->flags & KV_CMD_INTERNAL))
			return -EPERM;
		/* Its own name in another case is fine: Redis removes the
		 * command before it adds it back. */
		if (other != NULL && other != cmd)
			return -EEXIST;
		copy = malloc(tlen + 1);
		if (copy == NULL)
			return -ENOMEM;
		memcpy(copy, to, tlen);
		copy[tlen] = '\0';
	}
	e = &r->by_cmd[kv_command_index(cmd)];
	free(e->name);
	*e = (struct entry){ .name = copy, .len = tlen, .moved = true };
	r->nnamed = 0;
	for (size_t i = 0; i < r->ncmds; i++) {
		if (r->by_cmd[i].name != NULL)
			r->named[r->nnamed++] = (uint32_t)i;
	}
	return 0;
}

const char *kv_rename_strerror(int err)
{
	switch (err) {
	case -ENOENT:
		return "No such command in rename-command";
	case -EEXIST:
		return "Target command name already exists";
	case -EPERM:
		return "Target command name is reserved for atoll-kv's internal commands";
	case -ENOMEM:
		return "out of memory";
	default:
		return "bad rename-command";
	}
}

/* --- the config file line ------------------------------------------------ */

int kv_rename_line(struct kv_rename *r, const char *args, char *err, size_t errlen)
{
	struct resp_word w[2];
	char *buf = malloc(strlen(args) + 1);
	const char *why;
	int n, rc;

	if (buf == NULL) {
		snprintf(err, errlen, "%s", kv_rename_strerror(-ENOMEM));
		return -ENOMEM;
	}
	n = resp_split_args(args, strlen(args), w, 2, buf);
	if (n < 0) {
		rc = -EINVAL;
		why = "Unbalanced quotes in configuration line";
	} else if (n != 2) {
		rc = -EINVAL;
		why = "Bad directive or wrong number of arguments";
	} else {
		rc = kv_rename_apply(r, w[0].p, w[0].len, w[1].p, w[1].len);
		why = kv_rename_strerror(rc);
	}
	if (rc < 0)
		snprintf(err, errlen, "%s", why);
	free(buf);
	return rc;
}
