/*
 * kv_topology.c - the kv.server type (kv_topology.h): atoll-kv's per-core
 * start as an actor.
 *
 * Invariants: one shared instance per process, made under `lock` by the
 * first member's init and found by the others'; its `refs` counts every
 * member (until its stop), every listener (until its release hook) and
 * every connection (between its open and close), across cores, so it is
 * atomic; the last drop frees the server. A member starts its listener only
 * after every shard has loaded (the shards' release add on loaded /
 * load_failed, read here with acquire), as atoll-kv's main waits.
 */
#include "kv_topology.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kv_aof.h"
#include "kv_server.h"
#include "kv_shard.h"
#include "resp_conn.h"
#include "tcp_conn.h"
#include "tcp_listener.h"

#define LOAD_CHECK_NS (1000ull * 1000)

struct instance {
	struct resp_conn_proto proto; /* first: conn_arg points here */
	int (*open)(atoll_ctx *, struct atoll_tcp_conn *, void *, const void *);
	void (*close)(atoll_ctx *, struct atoll_tcp_conn *, void *, int);
	struct kv_server srv;
	char bind[64];
	/* Users of the instance; acq_rel on the drop, so that the last one
	 * sees every other user's writes before it frees. */
	_Atomic unsigned refs;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct instance *current; /* guarded by lock */

static void instance_hold(struct instance *in)
{
	atomic_fetch_add_explicit(&in->refs, 1, memory_order_relaxed);
}

static void instance_drop(struct instance *in)
{
	if (atomic_fetch_sub_explicit(&in->refs, 1, memory_order_acq_rel) != 1)
		return;
	pthread_mutex_lock(&lock);
	if (current == in)
		current = NULL;
	pthread_mutex_unlock(&lock);
	kv_server_destroy(&in->srv);
	free(in);
}

static void listener_release(const void *conn_arg)
{
	instance_drop((struct instance *)(uintptr_t)conn_arg);
}

/* resp_conn's callbacks, wrapped to count connections. */
static int conn_open(atoll_ctx *ctx, struct atoll_tcp_conn *c, void *state, const void *user)
{
	struct instance *in = (struct instance *)(uintptr_t)user;

	instance_hold(in);
	return in->open(ctx, c, state, user);
}

static void conn_close(atoll_ctx *ctx, struct atoll_tcp_conn *c, void *state, int reason)
{
	struct instance *in;

	/* close gets no user pointer: the one instance of the process. A
	 * connection holds it, so it is still current. */
	pthread_mutex_lock(&lock);
	in = current;
	pthread_mutex_unlock(&lock);
	in->close(ctx, c, state, reason);
	instance_drop(in);
}

/* The settings kv_settings_set knows, by their parameter names. */
static const char *const settings[] = {
	"appendonly", "appendfsync", "requirepass",      "maxclients",
	"maxmemory",  "hz",          "maxmemory_policy", NULL,
};

static int apply_settings(const struct atoll_params *p, struct kv_settings *s, char *err,
			  size_t errlen)
{
	kv_settings_default(s);
	for (size_t i = 0; settings[i] != NULL; i++) {
		const char *v = atoll_params_str(p, settings[i]);
		char name[32];
		char why[200];

		if (v == NULL)
			continue;
		snprintf(name, sizeof(name), "%s", settings[i]);
		for (char *q = name; *q; q++)
			if (*q == '_')
				*q = '-';
		/* BOOL parameters may say yes/true/on/1; kv wants yes|no. */
		if (strcmp(name, "appendonly") == 0)
			v = atoll_params_bool(p, "appendonly") ? "yes" : "no";
		if (kv_settings_set(s, name, strlen(name), v, strlen(v), why, sizeof(why)) < 0) {
			snprintf(err, errlen, "parameter '%s': %s", settings[i], why);
			return -EINVAL;
		}
	}
	return 0;
}

static int kv_check(const struct atoll_params *p, char *err, size_t errlen)
{
	struct kv_settings s;
	int rc = atoll_tcp_listener_check_params(p, err, errlen);

	if (rc == 0)
		rc = apply_settings(p, &s, err, errlen);
	if (rc == 0 &&
	    strlen(atoll_params_str(p, "bind")) >= sizeof(((struct instance *)0)->bind)) {
		snprintf(err, errlen, "parameter 'bind': too long");
		rc = -EINVAL;
	}
	return rc;
}

/* Makes the group's instance (lock held). Returns it or NULL, saying why. */
static struct instance *instance_new(atoll_ctx *ctx, const struct atoll_params *p)
{
	const atoll_ref *group;
	size_t n = atoll_params_group(p, &group);
	const char *dir = atoll_params_str(p, "dir");
	struct instance *in = calloc(1, sizeof(*in));
	struct kv_settings s;
	char err[256];

	if (in == NULL || apply_settings(p, &s, err, sizeof(err)) < 0 ||
	    kv_server_init(&in->srv, (unsigned)n, &s) < 0) {
		fprintf(stderr, "kv.server: cannot start: %s\n",
			in == NULL ? "out of memory" : err);
		free(in);
		return NULL;
	}
	/* As atoll-kv: the server works in dir, so its files have short
	 * names. Before any shard opens its log. */
	if (dir != NULL && dir[0] != '\0' &&
	    ((mkdir(dir, 0755) < 0 && errno != EEXIST) || chdir(dir) < 0)) {
		fprintf(stderr, "kv.server: cannot use directory %s: %s\n", dir, strerror(errno));
		kv_server_destroy(&in->srv);
		free(in);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		in->srv.shards[i] = group[i];
	in->srv.rt = atoll_runtime_of(ctx);
	in->srv.repair = atoll_params_bool(p, "repair");
	snprintf(in->bind, sizeof(in->bind), "%s", atoll_params_str(p, "bind"));
	in->srv.bind = in->bind;
	atomic_store_explicit(&in->srv.port, (uint16_t)atoll_params_int(p, "port"),
			      memory_order_relaxed);
	resp_conn_proto_init(&in->proto, &in->srv);
	in->open = in->proto.tcp.open;
	in->close = in->proto.tcp.close;
	in->proto.tcp.open = conn_open;
	in->proto.tcp.close = conn_close;
	return in;
}

struct member {
	struct instance *in;
	void *shard; /* the kv_shard actor's state: this actor is the shard */
	atoll_ref listener;
	uint16_t port;
	unsigned max_connections;
	bool listening;
};

static int member_init(atoll_ctx *ctx, void *state, const void *arg)
{
	const struct atoll_params *p = arg;
	struct member *m = state;
	unsigned core = atoll_core(ctx);
	size_t n = atoll_params_group(p, NULL);
	atoll_msg *check;
	int err;

	if (n != atoll_ncores(ctx) || atoll_params_index(p) != core) {
		fprintf(stderr,
			"kv.server: group '%s' must have one member per reactor, member i on "
			"reactor i (placement = each): %zu members for %u reactors\n",
			atoll_params_group_name(p), n, atoll_ncores(ctx));
		return -EINVAL;
	}
	pthread_mutex_lock(&lock);
	if (current == NULL) {
		current = instance_new(ctx, p);
	} else if (current->srv.shards[core] != atoll_self(ctx)) {
		fprintf(stderr, "kv.server: only one kv.server group per process\n");
		pthread_mutex_unlock(&lock);
		return -EINVAL;
	}
	m->in = current;
	if (m->in != NULL)
		instance_hold(m->in);
	pthread_mutex_unlock(&lock);
	if (m->in == NULL)
		return -EINVAL;
	m->port = (uint16_t)atoll_params_int(p, "port");
	m->max_connections = (unsigned)atoll_params_int(p, "max_connections");
	m->shard = calloc(1, kv_shard_type.state_size);
	err = m->shard == NULL ? -ENOMEM : kv_shard_type.init(ctx, m->shard, &m->in->srv);
	if (err == 0) {
		check = atoll_msg_new(ATOLL_KV_LOAD_CHECK, 0);
		err = check == NULL ? -ENOMEM : atoll_send(ctx, atoll_self(ctx), check);
	}
	if (err < 0) {
		free(m->shard);
		instance_drop(m->in);
	}
	return err < 0 ? err : 0;
}

/* Every shard loaded: starts this reactor's listener. Failed: says why
 * (member 0) and stops the runtime. Else checks again later. */
static void load_check(atoll_ctx *ctx, struct member *m)
{
	struct kv_server *srv = &m->in->srv;
	unsigned done = atomic_load_explicit(&srv->loaded, memory_order_acquire);
	unsigned failed = atomic_load_explicit(&srv->load_failed, memory_order_acquire);
	atoll_msg *again;

	if (done + failed < srv->nshards) {
		again = atoll_msg_new(ATOLL_KV_LOAD_CHECK, 0);
		if (again != NULL)
			(void)atoll_send_after(ctx, atoll_self(ctx), again, LOAD_CHECK_NS, NULL);
		return;
	}
	if (failed != 0) {
		if (atoll_core(ctx) == 0) {
			for (unsigned i = 0; i < srv->nshards; i++) {
				const char *why = kv_aof_error_text(&srv->cores[i]);

				if (why != NULL)
					fprintf(stderr, "kv.server: %s\n", why);
			}
			atoll_stop_runtime(ctx);
		}
		return;
	}
	struct atoll_tcp_listener_args args = {
		.host = m->in->bind,
		.port = m->port,
		.max_connections = m->max_connections,
		.conn_type = &atoll_tcp_conn_type,
		.conn_arg = &m->in->proto.tcp,
		.release = listener_release,
	};
	instance_hold(m->in); /* the listener's */
	int err = atoll_spawn(ctx, &atoll_tcp_listener_type, &args, ATOLL_HERE, &m->listener);
	if (err < 0) {
		instance_drop(m->in);
		fprintf(stderr, "kv.server: cannot listen on %s port %u (reactor %u): %s\n",
			m->in->bind, m->port, atoll_core(ctx), atoll_strerror(err));
		atoll_stop_runtime(ctx);
		return;
	}
	m->listening = true;
	if (atoll_core(ctx) == 0) {
		/* SIGINT and SIGTERM: shard 0 syncs every log, then stops. */
		atoll_runtime_on_signal(srv->rt, atoll_self(ctx), KV_MSG_SIGNAL);
		fprintf(stderr, "kv.server: ready on %s port %u, %u shards\n", m->in->bind, m->port,
			srv->nshards);
	}
}

static void member_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct member *m = state;

	if (msg->type == ATOLL_KV_LOAD_CHECK) {
		if (!m->listening)
			load_check(ctx, m);
		return;
	}
	kv_shard_type.receive(ctx, m->shard, msg);
}

static void member_stop(atoll_ctx *ctx, void *state)
{
	struct member *m = state;

	if (m->listening)
		(void)atoll_stop(ctx, m->listener);
	kv_shard_type.stop(ctx, m->shard);
	free(m->shard);
	instance_drop(m->in);
}

static const struct atoll_actor_type kv_member_type = {
	.name = "kv.server",
	.state_size = sizeof(struct member),
	.init = member_init,
	.receive = member_receive,
	.stop = member_stop,
};

static const struct atoll_param_spec kv_params[] = {
	ATOLL_TCP_LISTENER_PARAMS("6379"),
	{ "dir", ATOLL_PARAM_STRING, "", 0, 0, NULL,
	  "directory for logs and dumps (created; the process works in it)", 0 },
	{ "appendonly", ATOLL_PARAM_BOOL, "no", 0, 0, NULL,
	  "log every write to a per-shard append-only file, replayed at start", 0 },
	{ "appendfsync", ATOLL_PARAM_ENUM, "everysec", 0, 0, "always|everysec|no",
	  "when the logs reach the disk", 0 },
	{ "requirepass", ATOLL_PARAM_STRING, "", 0, 0, NULL, "clients must AUTH with it", 0 },
	{ "maxclients", ATOLL_PARAM_INT, "10000", 1, 1000000, NULL, "most clients at once", 0 },
	{ "maxmemory", ATOLL_PARAM_SIZE, "0", 0, 0, NULL, "bytes for keys and values; 0: no limit",
	  0 },
	{ "maxmemory_policy", ATOLL_PARAM_ENUM, "noeviction", 0, 0,
	  "noeviction|allkeys-lru|volatile-lru|allkeys-random|volatile-random|volatile-ttl",
	  "what a write does over maxmemory", 0 },
	{ "hz", ATOLL_PARAM_INT, "10", 1, 500, NULL, "active expiry runs per second", 0 },
	{ "repair", ATOLL_PARAM_BOOL, "no", 0, 0, NULL,
	  "cut a log corrupt in the middle at the first bad command", 0 },
	{ 0 },
};

const struct atoll_type_info kv_server_info = {
	.type = &kv_member_type,
	.summary = "atoll-kv (Redis protocol): one shard and listener per reactor; use placement "
		   "= each",
	.params = kv_params,
	.check = kv_check,
};
