/*
 * kv_conn_cmds.c - the commands an atoll-kv connection runs itself (route
 * KV_ROUTE_CONN): PING, ECHO, QUIT, HELLO, AUTH, SELECT, CLIENT, COMMAND,
 * INFO, CONFIG, TIME, DEBUG; and the INFO / CLIENT LIST text built from
 * every shard's answer.
 *
 * Replies and errors follow Redis 7.0. The password check compares in
 * constant time. Settings changed with CONFIG SET are checked here first,
 * then sent to every shard, which applies them to its core's copy.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#include "kv_rename.h"
#include "resp_conn_int.h"

#define KV_VERSION "7.0.15"
#define ATOLL_KV_VERSION "0.1.0"

static void wrong_args(struct conn *c, const char *name)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "ERR wrong number of arguments for '%s' command", name);
	conn_error(c, msg);
}

/* argv[1] is not a subcommand of the container argv[0]. */
static void unknown_sub(struct conn *c, const struct kv_arg *argv)
{
	char msg[320], name[KV_SPELT_MAX + 1];

	snprintf(msg, sizeof(msg), "ERR unknown subcommand '%.*s'. Try %s HELP.",
		 (int)(argv[1].len > 128 ? 128 : argv[1].len), argv[1].p,
		 kv_command_spelt(&argv[0], name));
	conn_error(c, msg);
}

/* The container argv[0]'s HELP: lines, then HELP itself (kv_reply_help). */
static void help(struct conn *c, const struct kv_arg *argv, const char *const *lines, size_t n)
{
	kv_reply_help(conn_reply_begin(c), &argv[0], lines, n);
	conn_reply_end(c);
}

static void status(struct conn *c, const char *s)
{
	resp_add_status(conn_reply_begin(c), s);
	conn_reply_end(c);
}

static void bulk(struct conn *c, const char *p, size_t n)
{
	resp_add_bulk(conn_reply_begin(c), p, n);
	conn_reply_end(c);
}

struct subcmd {
	const char *name;
	int arity; /* as a command's: n exact, -n at least n */
};

/*
 * Checks argv[1] against a container command's subcommands. Returns true
 * when it is known and its arity fits; otherwise replies (unknown
 * subcommand, or wrong arguments for 'cmd|sub') and returns false.
 */
static bool check_sub(struct conn *c, const char *cmd, const struct subcmd *subs, int argc,
		      const struct kv_arg *argv)
{
	for (; subs->name != NULL; subs++) {
		if (!kv_arg_is(&argv[1], subs->name))
			continue;
		if (subs->arity >= 0 ? argc == subs->arity : argc >= -subs->arity)
			return true;
		{
			char full[64];

			snprintf(full, sizeof(full), "%s|%s", cmd, subs->name);
			wrong_args(c, full);
		}
		return false;
	}
	unknown_sub(c, argv);
	return false;
}

static const struct subcmd client_subs[] = {
	{ "id", 2 },    { "getname", 2 }, { "info", 2 }, { "setname", 3 }, { "setinfo", 4 },
	{ "list", -2 }, { "kill", -3 },   { "help", 2 }, { NULL, 0 },
};

static const struct subcmd config_subs[] = {
	{ "get", -3 }, { "set", -4 }, { "resetstat", 2 }, { "help", 2 }, { NULL, 0 },
};

static const struct subcmd command_subs[] = {
	{ "count", 2 }, { "info", -2 }, { "docs", -2 }, { "list", -2 }, { "help", 2 }, { NULL, 0 },
};

/* Constant-time comparison of a candidate with the configured password. */
static bool password_ok(const struct conn *c, const struct kv_arg *pass)
{
	const char *want = c->core->settings.requirepass;
	size_t wl = strlen(want);
	unsigned char diff = (unsigned char)(wl != pass->len);

	for (size_t i = 0; i < pass->len; i++)
		diff |= (unsigned char)(pass->p[i] ^ want[i < wl ? i : 0]);
	return diff == 0 && wl > 0;
}

static const char wrongpass[] = "WRONGPASS invalid username-password pair or user is disabled.";

static bool user_ok(const struct kv_arg *user)
{
	return user->len == 7 && memcmp(user->p, "default", 7) == 0;
}

static void cmd_auth(struct conn *c, int argc, const struct kv_arg *argv)
{
	if (argc > 3) {
		conn_error(c, "ERR syntax error");
		return;
	}
	if (c->core->settings.requirepass[0] == '\0') {
		conn_error(c,
			   argc == 2 ? "ERR AUTH <password> called without any password configured "
				       "for the default user. Are you sure your configuration is "
				       "correct?"
				     : wrongpass);
		return;
	}
	if ((argc == 3 && !user_ok(&argv[1])) || !password_ok(c, &argv[argc - 1])) {
		conn_error(c, wrongpass);
		return;
	}
	c->client.authenticated = true;
	status(c, "OK");
}

static void hello_reply(struct conn *c)
{
	struct resp_out *o = conn_reply_begin(c);

	resp_add_map(o, 7);
	resp_add_bulk_cstr(o, "server");
	resp_add_bulk_cstr(o, "redis");
	resp_add_bulk_cstr(o, "version");
	resp_add_bulk_cstr(o, KV_VERSION);
	resp_add_bulk_cstr(o, "proto");
	resp_add_int(o, c->client.resp);
	resp_add_bulk_cstr(o, "id");
	resp_add_int(o, (long long)c->client.id);
	resp_add_bulk_cstr(o, "mode");
	resp_add_bulk_cstr(o, "standalone");
	resp_add_bulk_cstr(o, "role");
	resp_add_bulk_cstr(o, "master");
	resp_add_bulk_cstr(o, "modules");
	resp_add_array(o, 0);
	conn_reply_end(c);
}

static bool valid_name(const struct kv_arg *a)
{
	for (size_t i = 0; i < a->len; i++) {
		if (a->p[i] < '!' || a->p[i] > '~')
			return false;
	}
	return true;
}

static void set_name(struct conn *c, const struct kv_arg *a)
{
	size_t n = a->len < sizeof(c->client.name) - 1 ? a->len : sizeof(c->client.name) - 1;

	memcpy(c->client.name, a->p, n);
	c->client.name[n] = '\0';
}

static void cmd_hello(struct conn *c, int argc, const struct kv_arg *argv)
{
	long long ver = c->client.resp;
	const struct kv_arg *name = NULL;
	bool authed_now = false;

	if (argc >= 2) {
		if (!kv_parse_ll(argv[1].p, argv[1].len, &ver)) {
			conn_error(c, "ERR Protocol version is not an integer or out of range");
			return;
		}
		for (int i = 2; i < argc; i++) {
			if (kv_arg_is(&argv[i], "auth") && i + 2 < argc) {
				if (!user_ok(&argv[i + 1]) || !password_ok(c, &argv[i + 2])) {
					conn_error(
						c,
						c->core->settings.requirepass[0]
							? wrongpass
							: "ERR AUTH <password> called without any "
							  "password configured for the default "
							  "user. "
							  "Are you sure your configuration is "
							  "correct?");
					return;
				}
				authed_now = true;
				i += 2;
			} else if (kv_arg_is(&argv[i], "setname") && i + 1 < argc) {
				name = &argv[++i];
				if (!valid_name(name)) {
					conn_error(c, "ERR Client names cannot contain spaces, "
						      "newlines or "
						      "special characters.");
					return;
				}
			} else {
				char msg[160];

				snprintf(msg, sizeof(msg),
					 "ERR Syntax error in HELLO option '%.*s'",
					 (int)(argv[i].len > 64 ? 64 : argv[i].len), argv[i].p);
				conn_error(c, msg);
				return;
			}
		}
		if (ver < 2 || ver > 3) {
			conn_error(c, "NOPROTO unsupported protocol version");
			return;
		}
	}
	if (!conn_authed(c) && !authed_now) {
		conn_error(c, "NOAUTH HELLO must be called with the client already authenticated, "
			      "otherwise the HELLO AUTH <user> <pass> option can be used to "
			      "authenticate the client and select the RESP protocol version at the "
			      "same time");
		return;
	}
	if (authed_now)
		c->client.authenticated = true;
	if (name != NULL)
		set_name(c, name);
	if (c->client.resp != (uint8_t)ver) {
		/* Batches being built speak the old version: send them first. */
		conn_flush_builders(c);
		c->client.resp = (uint8_t)ver;
	}
	hello_reply(c);
}

static void cmd_select(struct conn *c, const struct kv_arg *a)
{
	long long db;

	if (!kv_parse_ll(a->p, a->len, &db)) {
		conn_error(c, "ERR value is not an integer or out of range");
		return;
	}
	if (db < 0 || db >= KV_DBS) {
		conn_error(c, "ERR DB index is out of range");
		return;
	}
	c->client.db = (int)db;
	status(c, "OK");
}

/* CLIENT KILL: checks the filters, then every shard kills matches on its
 * core. */
static void client_kill(struct conn *c, int argc, const struct kv_arg *argv)
{
	struct kv_arg sub[32];
	char idbuf[24];
	int n = 0;

	if (argc == 3) { /* old form: CLIENT KILL addr:port */
		sub[n++] = (struct kv_arg){ "addr", 4 };
		sub[n++] = argv[2];
		sub[n++] = (struct kv_arg){ "skipme", 6 };
		sub[n++] = (struct kv_arg){ "no", 2 };
	} else {
		if ((argc - 2) % 2 != 0 || argc - 2 > 28) {
			conn_error(c, "ERR syntax error");
			return;
		}
		for (int i = 2; i < argc; i += 2) {
			const struct kv_arg *k = &argv[i], *v = &argv[i + 1];
			unsigned long long id;

			if (kv_arg_is(k, "id")) {
				if (!kv_parse_ull(v->p, v->len, &id) || id == 0) {
					conn_error(c, "ERR client-id should be greater than 0");
					return;
				}
			} else if (kv_arg_is(k, "type")) {
				if (!kv_arg_is(v, "normal") && !kv_arg_is(v, "master") &&
				    !kv_arg_is(v, "replica") && !kv_arg_is(v, "slave") &&
				    !kv_arg_is(v, "pubsub")) {
					char msg[128];

					snprintf(msg, sizeof(msg), "ERR Unknown client type '%.*s'",
						 (int)(v->len > 64 ? 64 : v->len), v->p);
					conn_error(c, msg);
					return;
				}
			} else if (kv_arg_is(k, "skipme")) {
				if (!kv_arg_is(v, "yes") && !kv_arg_is(v, "no")) {
					conn_error(c, "ERR syntax error");
					return;
				}
			} else if (!kv_arg_is(k, "addr") && !kv_arg_is(k, "laddr") &&
				   !kv_arg_is(k, "user") && !kv_arg_is(k, "maxage")) {
				conn_error(c, "ERR syntax error");
				return;
			}
			sub[n++] = *k;
			sub[n++] = *v;
		}
	}
	sub[n].len =
		(size_t)snprintf(idbuf, sizeof(idbuf), "%llu", (unsigned long long)c->client.id);
	sub[n++].p = idbuf;
	conn_to_all(c, CMB_KILL, KV_OP_KILL, n, sub, argc == 3, NULL);
}

static void cmd_client(struct conn *c, int argc, const struct kv_arg *argv)
{
	const struct kv_arg *sub = &argv[1];

	if (!check_sub(c, "client", client_subs, argc, argv))
		return;
	if (kv_arg_is(sub, "id")) {
		resp_add_int(conn_reply_begin(c), (long long)c->client.id);
		conn_reply_end(c);
	} else if (kv_arg_is(sub, "setname")) {
		if (argc != 3) {
			wrong_args(c, "client|setname");
		} else if (!valid_name(&argv[2])) {
			conn_error(c, "ERR Client names cannot contain spaces, newlines or special "
				      "characters.");
		} else {
			set_name(c, &argv[2]);
			status(c, "OK");
		}
	} else if (kv_arg_is(sub, "getname") && argc == 2) {
		struct resp_out *o = conn_reply_begin(c);

		if (c->client.name[0])
			resp_add_bulk_cstr(o, c->client.name);
		else
			resp_add_null(o);
		conn_reply_end(c);
	} else if (kv_arg_is(sub, "setinfo")) {
		char *dst;
		size_t cap, n;

		if (argc != 4) {
			wrong_args(c, "client|setinfo");
			return;
		}
		if (kv_arg_is(&argv[2], "lib-name")) {
			dst = c->client.lib_name;
			cap = sizeof(c->client.lib_name);
		} else if (kv_arg_is(&argv[2], "lib-ver")) {
			dst = c->client.lib_ver;
			cap = sizeof(c->client.lib_ver);
		} else {
			char msg[128];

			snprintf(msg, sizeof(msg), "ERR Unrecognized option '%.*s'",
				 (int)(argv[2].len > 64 ? 64 : argv[2].len), argv[2].p);
			conn_error(c, msg);
			return;
		}
		if (!valid_name(&argv[3])) {
			conn_error(
				c,
				dst == c->client.lib_name
					? "ERR lib-name cannot contain spaces, newlines or special "
					  "characters."
					: "ERR lib-ver cannot contain spaces, newlines or special "
					  "characters.");
			return;
		}
		n = argv[3].len < cap - 1 ? argv[3].len : cap - 1;
		memcpy(dst, argv[3].p, n);
		dst[n] = '\0';
		status(c, "OK");
	} else if (kv_arg_is(sub, "list")) {
		if (argc > 2 && !(kv_arg_is(&argv[2], "id") && argc > 3) &&
		    !(kv_arg_is(&argv[2], "type") && argc == 4)) {
			conn_error(c, "ERR syntax error");
			return;
		}
		for (int i = 3; i < argc && kv_arg_is(&argv[2], "id"); i++) {
			unsigned long long id;

			if (!kv_parse_ull(argv[i].p, argv[i].len, &id) || id == 0) {
				conn_error(c, "ERR Invalid client ID");
				return;
			}
		}
		if (argc > 3 && kv_arg_is(&argv[2], "id"))
			conn_to_all(c, CMB_TEXT, KV_OP_CLIENTS, argc - 3, argv + 3, 0, NULL);
		else
			conn_to_all(c, CMB_TEXT, KV_OP_CLIENTS, 0, NULL, 0, NULL);
	} else if (kv_arg_is(sub, "info") && argc == 2) {
		char idbuf[24];
		struct kv_arg id = { idbuf, (size_t)snprintf(idbuf, sizeof(idbuf), "%llu",
							     (unsigned long long)c->client.id) };

		conn_to_all(c, CMB_TEXT, KV_OP_CLIENTS, 1, &id, 1, NULL);
	} else if (kv_arg_is(sub, "kill")) {
		if (argc < 3)
			wrong_args(c, "client|kill");
		else
			client_kill(c, argc, argv);
	} else if (kv_arg_is(sub, "help")) {
		static const char *const lines[] = {
			"ID",
			"    Return the ID of the current connection.",
			"GETNAME",
			"    Return the name of the current connection.",
			"INFO",
			"    Return information about the current client connection.",
			"KILL <ip:port> | <option> <value> [<option> <value> [...]]",
			"    Kill connections (ID, ADDR, LADDR, SKIPME, USER, TYPE).",
			"LIST [ID <id> [<id> ...]]",
			"    Return information about client connections.",
			"SETNAME <name>",
			"    Assign the name <name> to the current connection.",
			"SETINFO <LIB-NAME|LIB-VER> <value>",
			"    Set client library information.",
		};

		help(c, argv, lines, sizeof(lines) / sizeof(lines[0]));
	} else {
		unknown_sub(c, argv);
	}
}

/* --- COMMAND ------------------------------------------------------------ */

static void command_flags(struct resp_out *o, const struct kv_command *cmd)
{
	const char *f[8];
	size_t n = 0;

	if (cmd->flags & KV_CMD_WRITE)
		f[n++] = "write";
	if (cmd->flags & KV_CMD_READONLY)
		f[n++] = "readonly";
	if (cmd->flags & KV_CMD_DENYOOM)
		f[n++] = "denyoom";
	if (cmd->flags & KV_CMD_ADMIN)
		f[n++] = "admin";
	if (cmd->flags & KV_CMD_NOAUTH)
		f[n++] = "no_auth";
	if (cmd->flags & KV_CMD_FAST)
		f[n++] = "fast";
	resp_add_set(o, n);
	for (size_t i = 0; i < n; i++)
		resp_add_status(o, f[i]);
}

static void command_info(struct resp_out *o, const struct kv_command *cmd)
{
	resp_add_array(o, 10);
	resp_add_bulk_cstr(o, cmd->name);
	resp_add_int(o, cmd->arity);
	command_flags(o, cmd);
	/* OBJECT names its key per subcommand: Redis 7 reports no key
	 * positions for the container command, only routing uses them. */
	bool container = strcmp(cmd->name, "object") == 0;

	resp_add_int(o, container ? 0 : cmd->first_key);
	resp_add_int(o, container ? 0 : cmd->last_key);
	resp_add_int(o, container ? 0 : cmd->key_step);
	resp_add_set(o, 0);   /* ACL categories */
	resp_add_set(o, 0);   /* tips */
	resp_add_array(o, 0); /* key specs */
	resp_add_array(o, 0); /* subcommands */
}

static void command_docs(struct resp_out *o, const struct kv_command *cmd)
{
	resp_add_bulk_cstr(o, cmd->name);
	resp_add_map(o, 3);
	resp_add_bulk_cstr(o, "summary");
	resp_add_bulk_cstr(o, cmd->summary ? cmd->summary : "");
	resp_add_bulk_cstr(o, "since");
	resp_add_bulk_cstr(o, "1.0.0");
	resp_add_bulk_cstr(o, "group");
	resp_add_bulk_cstr(o, cmd->group ? cmd->group : "generic");
}

/* The command a client reaches by the name a (rename-command's names), or
 * NULL. */
static const struct kv_command *public_cmd(const struct conn *c, const struct kv_arg *a)
{
	const struct kv_command *cmd = kv_rename_find(c->srv->renames, a->p, a->len);

	return cmd != NULL && !(cmd->flags & KV_CMD_INTERNAL) ? cmd : NULL;
}

/* In COMMAND's lists: not internal, not disabled by rename-command. A
 * renamed command is listed under its own name, as Redis lists it. */
static bool listed(const struct conn *c, const struct kv_command *cmd)
{
	return !(cmd->flags & KV_CMD_INTERNAL) && kv_rename_reachable(c->srv->renames, cmd);
}

static void cmd_command(struct conn *c, int argc, const struct kv_arg *argv)
{
	size_t n = kv_command_count(), visible = 0;
	struct resp_out *o;

	for (size_t i = 0; i < n; i++)
		visible += listed(c, kv_command_at(i));
	if (argc > 1 && !check_sub(c, "command", command_subs, argc, argv))
		return;
	if (argc == 1 || kv_arg_is(&argv[1], "list")) {
		bool list = argc > 1;

		if (list && argc > 2) {
			conn_error(c, "ERR syntax error");
			return;
		}
		o = conn_reply_begin(c);
		resp_add_array(o, visible);
		for (size_t i = 0; i < n; i++) {
			const struct kv_command *cmd = kv_command_at(i);

			if (!listed(c, cmd))
				continue;
			if (list)
				resp_add_bulk_cstr(o, cmd->name);
			else
				command_info(o, cmd);
		}
		conn_reply_end(c);
	} else if (kv_arg_is(&argv[1], "count") && argc == 2) {
		resp_add_int(conn_reply_begin(c), (long long)visible);
		conn_reply_end(c);
	} else if (kv_arg_is(&argv[1], "info")) {
		o = conn_reply_begin(c);
		resp_add_array(o, argc == 2 ? visible : (size_t)(argc - 2));
		if (argc == 2) {
			for (size_t i = 0; i < n; i++) {
				if (listed(c, kv_command_at(i)))
					command_info(o, kv_command_at(i));
			}
		}
		for (int i = 2; i < argc; i++) {
			const struct kv_command *cmd = public_cmd(c, &argv[i]);

			if (cmd != NULL)
				command_info(o, cmd);
			else
				resp_add_null(o); /* Redis 7.0: $-1, not *-1 */
		}
		conn_reply_end(c);
	} else if (kv_arg_is(&argv[1], "docs")) {
		size_t found = 0;

		for (int i = 2; i < argc; i++)
			found += public_cmd(c, &argv[i]) != NULL;
		o = conn_reply_begin(c);
		resp_add_map(o, argc == 2 ? visible : found);
		for (size_t i = 0; argc == 2 && i < n; i++) {
			if (listed(c, kv_command_at(i)))
				command_docs(o, kv_command_at(i));
		}
		for (int i = 2; i < argc; i++) {
			const struct kv_command *cmd = public_cmd(c, &argv[i]);

			if (cmd != NULL)
				command_docs(o, cmd);
		}
		conn_reply_end(c);
	} else if (kv_arg_is(&argv[1], "help")) {
		/* What atoll-kv answers: Redis's text without GETKEYS and
		 * GETKEYSANDFLAGS. */
		static const char *const lines[] = {
			"(no subcommand)",
			"    Return details about all Redis commands.",
			"COUNT",
			"    Return the total number of commands in this Redis server.",
			"LIST",
			"    Return a list of all commands in this Redis server.",
			"INFO [<command-name> ...]",
			"    Return details about multiple Redis commands.",
			"    If no command names are given, documentation details for all",
			"    commands are returned.",
			"DOCS [<command-name> ...]",
			"    Return documentation details about multiple Redis commands.",
			"    If no command names are given, documentation details for all",
			"    commands are returned.",
		};

		help(c, argv, lines, sizeof(lines) / sizeof(lines[0]));
	} else {
		unknown_sub(c, argv);
	}
}

/* --- CONFIG ------------------------------------------------------------- */

static void cmd_config(struct conn *c, int argc, const struct kv_arg *argv)
{
	if (!check_sub(c, "config", config_subs, argc, argv))
		return;
	if (kv_arg_is(&argv[1], "get")) {
		size_t n = kv_config_count(), matched = 0;
		bool hit[64] = { false };
		struct resp_out *o;
		char val[256];

		if (argc < 3) {
			wrong_args(c, "config|get");
			return;
		}
		for (size_t i = 0; i < n && i < 64; i++) {
			const char *name = kv_config_name(i);

			for (int a = 2; a < argc && !hit[i]; a++)
				hit[i] = kv_glob_match(argv[a].p, argv[a].len, name, strlen(name),
						       true);
			matched += hit[i];
		}
		o = conn_reply_begin(c);
		resp_add_map(o, matched);
		for (size_t i = 0; i < n && i < 64; i++) {
			if (!hit[i])
				continue;
			kv_config_value(c->srv, &c->core->settings, i, val, sizeof(val));
			resp_add_bulk_cstr(o, kv_config_name(i));
			resp_add_bulk_cstr(o, val);
		}
		conn_reply_end(c);
	} else if (kv_arg_is(&argv[1], "set")) {
		struct kv_settings copy = c->core->settings;
		char err[256];

		if (argc < 4) {
			wrong_args(c, "config|set");
			return;
		}
		if ((argc - 2) % 2 != 0) { /* a name without its value: Redis's word */
			conn_error(c, "ERR syntax error");
			return;
		}
		for (int i = 2; i < argc; i += 2) {
			if (kv_config_startup_only(argv[i].p, argv[i].len)) {
				snprintf(err, sizeof(err),
					 "ERR CONFIG SET failed (possibly related to argument "
					 "'%.*s') - can't set immutable config",
					 (int)(argv[i].len > 64 ? 64 : argv[i].len), argv[i].p);
				conn_error(c, err);
				return;
			}
			if (kv_settings_set(&copy, argv[i].p, argv[i].len, argv[i + 1].p,
					    argv[i + 1].len, err, sizeof(err)) < 0) {
				conn_error(c, err);
				return;
			}
		}
		/* Every shard applies the pairs in one batch entry each. */
		{
			struct slot *s = conn_slot(c, CMB_OK);

			if (s == NULL) {
				conn_error(c, "ERR out of memory");
				return;
			}
			for (unsigned shard = 0; shard < c->srv->nshards; shard++) {
				for (int i = 2; i < argc; i += 2)
					conn_add_remote(c, s, shard, KV_OP_CONFIG, 2, &argv[i]);
			}
		}
	} else if (kv_arg_is(&argv[1], "resetstat") && argc == 2) {
		conn_to_all(c, CMB_OK, KV_OP_RESETSTAT, 0, NULL, 0, NULL);
	} else if (kv_arg_is(&argv[1], "resetstat")) {
		wrong_args(c, "config|resetstat");
	} else if (kv_arg_is(&argv[1], "help")) {
		/* Redis's text without REWRITE: atoll-kv never writes its
		 * config file. */
		static const char *const lines[] = {
			"GET <pattern>",
			"    Return parameters matching the glob-like <pattern> and their values.",
			"SET <directive> <value>",
			"    Set the configuration <directive> to <value>.",
			"RESETSTAT",
			"    Reset statistics reported by the INFO command.",
		};

		help(c, argv, lines, sizeof(lines) / sizeof(lines[0]));
	} else {
		unknown_sub(c, argv);
	}
}

/* --- DEBUG, TIME -------------------------------------------------------- */

static void cmd_debug(struct conn *c, int argc, const struct kv_arg *argv)
{
	long double secs;

	if (kv_arg_is(&argv[1], "sleep") && argc == 3) {
		atoll_msg *m;

		if (!kv_parse_ld(argv[2].p, argv[2].len, &secs) || secs < 0 || secs > 3600) {
			conn_error(c, "ERR value is not a valid float");
			return;
		}
		/* Only this client waits: the reactor keeps serving others
		 * (Redis blocks the whole server here). */
		m = atoll_msg_new(CONN_MSG_WAKE, 0);
		if (m == NULL || !conn_block(c)) {
			atoll_msg_free(m);
			conn_error(c, "ERR out of memory");
			return;
		}
		(void)atoll_send_after(c->ctx, atoll_self(c->ctx), m, (uint64_t)(secs * 1e9L) + 1,
				       NULL);
	} else {
		unknown_sub(c, argv);
	}
}

void conn_wake(struct conn *c)
{
	size_t off;

	if (!c->blocked || c->hold_rb == NULL)
		return;
	resp_add_status(conn_block_out(c, &off), "OK");
	conn_unblock(c, off);
}

static void cmd_time(struct conn *c)
{
	struct timeval tv;
	struct resp_out *o = conn_reply_begin(c);

	gettimeofday(&tv, NULL);
	resp_add_array(o, 2);
	resp_add_bulk_ll(o, (long long)tv.tv_sec);
	resp_add_bulk_ll(o, (long long)tv.tv_usec);
	conn_reply_end(c);
}

/* Every shard does op; the reply is status once all said +OK. */
static void to_all_status(struct conn *c, uint32_t op, int argc, const struct kv_arg *argv,
			  const char *status)
{
	char *text = strdup(status);

	if (text == NULL) {
		conn_error(c, "ERR out of memory");
		return;
	}
	conn_to_all(c, CMB_STATUS, op, argc, argv, 0, text);
}

/* SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: shard 0 runs it. */
static void cmd_shutdown(struct conn *c, int argc, const struct kv_arg *argv)
{
	struct kv_arg args[2];
	int n = 0;
	bool save = false, nosave = false, force = false;
	struct slot *s;

	for (int i = 1; i < argc; i++) {
		if (kv_arg_is(&argv[i], "save"))
			save = true;
		else if (kv_arg_is(&argv[i], "nosave"))
			nosave = true;
		else if (kv_arg_is(&argv[i], "force"))
			force = true;
		else if (kv_arg_is(&argv[i], "now"))
			continue;
		else if (kv_arg_is(&argv[i], "abort")) {
			conn_error(c, "ERR No shutdown in progress.");
			return;
		} else {
			conn_error(c, "ERR syntax error");
			return;
		}
	}
	if (save && nosave) {
		conn_error(c, "ERR syntax error");
		return;
	}
	/* No save points: SHUTDOWN saves only when told to (Redis's rule with
	 * save ""). */
	if (save)
		args[n++] = (struct kv_arg){ "save", 4 };
	if (force)
		args[n++] = (struct kv_arg){ "force", 5 };
	s = conn_slot(c, CMB_ONE);
	if (s == NULL) {
		conn_error(c, "ERR out of memory");
		return;
	}
	conn_add_remote(c, s, 0, KV_OP_SHUTDOWN, n, args);
}

void conn_command(struct conn *c, const struct kv_command *cmd, int argc, const struct kv_arg *argv)
{
	const char *n = cmd->name;

	if (strcmp(n, "ping") == 0) {
		if (argc > 2)
			wrong_args(c, "ping");
		else if (argc == 2)
			bulk(c, argv[1].p, argv[1].len);
		else
			status(c, "PONG");
	} else if (strcmp(n, "echo") == 0) {
		bulk(c, argv[1].p, argv[1].len);
	} else if (strcmp(n, "quit") == 0) {
		status(c, "OK");
		c->closing = true;
	} else if (strcmp(n, "hello") == 0) {
		cmd_hello(c, argc, argv);
	} else if (strcmp(n, "auth") == 0) {
		cmd_auth(c, argc, argv);
	} else if (strcmp(n, "select") == 0) {
		cmd_select(c, &argv[1]);
	} else if (strcmp(n, "client") == 0) {
		cmd_client(c, argc, argv);
	} else if (strcmp(n, "command") == 0) {
		cmd_command(c, argc, argv);
	} else if (strcmp(n, "info") == 0) {
		size_t len = 0;
		char *text;

		for (int i = 1; i < argc; i++)
			len += argv[i].len + 1;
		text = malloc(len + 1);
		if (text == NULL) {
			conn_error(c, "ERR out of memory");
			return;
		}
		len = 0;
		for (int i = 1; i < argc; i++) {
			for (size_t k = 0; k < argv[i].len; k++)
				text[len++] = (char)(argv[i].p[k] | 0x20);
			text[len++] = ' ';
		}
		text[len] = '\0';
		conn_to_all(c, CMB_INFO, KV_OP_INFO, 0, NULL, 0, text);
	} else if (strcmp(n, "config") == 0) {
		cmd_config(c, argc, argv);
	} else if (strcmp(n, "time") == 0) {
		cmd_time(c);
	} else if (strcmp(n, "debug") == 0) {
		cmd_debug(c, argc, argv);
	} else if (strcmp(n, "bgrewriteaof") == 0) {
		to_all_status(c, KV_OP_REWRITE, 0, NULL,
			      "Background append only file rewriting started");
	} else if (strcmp(n, "bgsave") == 0) {
		const struct kv_arg bg = { "bg", 2 };

		if (argc > 2 || (argc == 2 && !kv_arg_is(&argv[1], "schedule")))
			conn_error(c, "ERR syntax error");
		else
			to_all_status(c, KV_OP_SAVE, 1, &bg, "Background saving started");
	} else if (strcmp(n, "save") == 0) {
		to_all_status(c, KV_OP_SAVE, 0, NULL, "OK");
	} else if (strcmp(n, "shutdown") == 0) {
		cmd_shutdown(c, argc, argv);
	} else {
		conn_error(c, "ERR internal: command without a handler");
	}
}
