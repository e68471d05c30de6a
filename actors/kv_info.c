/*
 * kv_info.c - the text of INFO and CLIENT LIST, built by a connection from
 * every shard's answer (KV_OP_INFO integers, KV_OP_CLIENTS lines).
 *
 * INFO is Redis's format: "# Section" headers and field:value lines ending
 * in CRLF, a bulk string in RESP2 and a verbatim string in RESP3. Server-wide
 * figures are the sums over shards; the "atoll" section lists each reactor.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "resp_conn_int.h"

#ifndef ATOLL_USE_JEMALLOC
#define ATOLL_USE_JEMALLOC 0
#endif
#if ATOLL_USE_JEMALLOC
#include <jemalloc/jemalloc.h>
#elif defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
/* The sanitizers' runtime has it; gcc ships no header for it
 * (<sanitizer/allocator_interface.h> comes with clang). */
size_t __sanitizer_get_current_allocated_bytes(void);
#define ALLOC_SANITIZER 1
#else
#include <malloc.h>
#endif

static void line(struct resp_out *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void line(struct resp_out *t, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	resp_add_raw(t, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
	resp_add_raw(t, "\r\n", 2);
}

/* Reads one shard's KV_OP_INFO array into v. */
static bool info_ints(const char *p, size_t n, long long *v)
{
	const char *end = p + n;

	if (n < 4 || p[0] != '*')
		return false;
	p = memchr(p, '\n', n);
	for (int i = 0; p != NULL && i < KV_INFO_FIELDS; i++) {
		const char *cr;

		p++;
		if (p >= end || *p != ':' || (cr = memchr(p, '\r', (size_t)(end - p))) == NULL ||
		    !kv_parse_ll(p + 1, (size_t)(cr - p - 1), &v[i]))
			return false;
		p = cr + 1;
	}
	return p != NULL;
}

/* sections: the words INFO was given, lower case, each followed by a
 * space; empty for the default set. */
static bool has_word(const char *sections, const char *word)
{
	size_t wl = strlen(word);

	for (const char *p = sections; *p != '\0';) {
		const char *sp = strchr(p, ' ');
		size_t len = sp ? (size_t)(sp - p) : strlen(p);

		if (len == wl && strncmp(p, word, wl) == 0)
			return true;
		p += len + (sp != NULL);
	}
	return false;
}

static bool want(const char *sections, const char *name, bool in_default)
{
	if (sections == NULL || sections[0] == '\0')
		return in_default;
	if (has_word(sections, "all") || has_word(sections, "everything"))
		return true;
	if (has_word(sections, "default") && in_default)
		return true;
	return has_word(sections, name);
}

static void human(char *buf, size_t len, double bytes)
{
	const char *units = "BKMGT";
	int u = 0;

	while (bytes >= 1024 && u < 4) {
		bytes /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%.0fB", bytes);
	else
		snprintf(buf, len, "%.2f%c", bytes, units[u]);
}

/*
 * Bytes the process has allocated and not freed (INFO's
 * allocator_allocated, as Redis names jemalloc's figure): jemalloc's
 * stats.allocated, refreshed; under ASan or TSan their own count (freed
 * blocks waiting in quarantine excluded); else glibc's. Unlike RSS it
 * drops as soon as memory is freed, so it shows a leak or a buffer kept
 * too long without waiting for pages to go back to the kernel.
 */
static unsigned long long allocated_bytes(void)
{
#if ATOLL_USE_JEMALLOC
	uint64_t epoch = 1;
	size_t allocated = 0, sz = sizeof(epoch);

	if (mallctl("epoch", &epoch, &sz, &epoch, sz) != 0)
		return 0;
	sz = sizeof(allocated);
	if (mallctl("stats.allocated", &allocated, &sz, NULL, 0) != 0)
		return 0;
	return allocated;
#elif defined(ALLOC_SANITIZER)
	return __sanitizer_get_current_allocated_bytes();
#else
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
#endif
}

static unsigned long long rss_bytes(void)
{
	unsigned long long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return 0;
	if (fscanf(f, "%llu %llu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return resident * (unsigned long long)sysconf(_SC_PAGESIZE);
}

/* Setting name's value, as CONFIG GET prints it, into buf. */
static const char *config_value(const struct kv_server *srv, const struct kv_settings *s,
				const char *name, char *buf, size_t len)
{
	buf[0] = '\0';
	for (size_t i = 0; i < kv_config_count(); i++) {
		if (strcmp(kv_config_name(i), name) == 0)
			kv_config_value(srv, s, i, buf, len);
	}
	return buf;
}

static void info_text(struct conn *c, struct rb *rb, const struct slot *s, struct resp_out *t)
{
	const struct kv_server *srv = c->srv;
	unsigned n = srv->nshards;
	long long(*v)[KV_INFO_FIELDS] = calloc(n, sizeof(*v));
	long long sum[KV_INFO_FIELDS] = { 0 };
	const char *sec = s->text;
	uint64_t up = (atoll_now_ns() - srv->start_ns) / 1000000000u;
	char h[32];

	if (v == NULL)
		return;
	for (uint32_t i = 0; i < s->nparts && i < n; i++) {
		size_t len;
		const char *b = conn_part_bytes(rb, &rb->parts[s->first_part + i], &len);

		if (info_ints(b, len, v[i])) {
			for (int f = 0; f < KV_INFO_FIELDS; f++)
				sum[f] += v[i][f];
		}
	}
	if (want(sec, "server", true)) {
		struct utsname u;

		if (uname(&u) != 0)
			memset(&u, 0, sizeof(u));
		line(t, "# Server");
		line(t, "redis_version:7.0.15");
		line(t, "atoll_kv_version:0.1.0");
		line(t, "redis_mode:standalone");
		line(t, "os:%s %s %s", u.sysname, u.release, u.machine);
		line(t, "arch_bits:%d", (int)(sizeof(void *) * 8));
		line(t, "multiplexing_api:io_uring");
		line(t, "process_id:%d", (int)getpid());
		line(t, "tcp_port:%u",
		     (unsigned)atomic_load_explicit(&srv->port, memory_order_relaxed));
		line(t, "uptime_in_seconds:%llu", (unsigned long long)up);
		line(t, "uptime_in_days:%llu", (unsigned long long)(up / 86400));
		line(t, "hz:%u", c->core->settings.hz);
		line(t, "reactors:%u", n);
		line(t, "config_file:%s", srv->config_file ? srv->config_file : "");
		line(t, "%s", "");
	}
	if (want(sec, "clients", true)) {
		line(t, "# Clients");
		line(t, "connected_clients:%lld", sum[KV_INFO_CLIENTS]);
		line(t, "maxclients:%u", c->core->settings.maxclients);
		line(t, "blocked_clients:0");
		line(t, "%s", "");
	}
	if (want(sec, "memory", true)) {
		unsigned long long rss = rss_bytes();

		line(t, "# Memory");
		line(t, "used_memory:%lld", sum[KV_INFO_USED_MEMORY]);
		human(h, sizeof(h), (double)sum[KV_INFO_USED_MEMORY]);
		line(t, "used_memory_human:%s", h);
		line(t, "used_memory_rss:%llu", rss);
		human(h, sizeof(h), (double)rss);
		line(t, "used_memory_rss_human:%s", h);
		line(t, "allocator_allocated:%llu", allocated_bytes());
		line(t, "maxmemory:%llu", c->core->settings.maxmemory);
		human(h, sizeof(h), (double)c->core->settings.maxmemory);
		line(t, "maxmemory_human:%s", h);
		line(t, "maxmemory_policy:%s",
		     config_value(srv, &c->core->settings, "maxmemory-policy", h, sizeof(h)));
		line(t, "mem_allocator:jemalloc");
		line(t, "%s", "");
	}
	if (want(sec, "persistence", true)) {
		const long long *p = &sum[KV_INFO_PERSIST];
		long long lag = 0, last_save = -1, rewrite_ms = 0;

		/* Flags: any shard; times: the worst shard; sizes: the sum. */
		for (unsigned i = 0; i < n; i++) {
			const long long *q = &v[i][KV_INFO_PERSIST];

			if (q[KV_PERSIST_AOF_FSYNC_LAG] > lag)
				lag = q[KV_PERSIST_AOF_FSYNC_LAG];
			if (last_save < 0 || q[KV_PERSIST_LAST_SAVE] < last_save)
				last_save = q[KV_PERSIST_LAST_SAVE];
			if (q[KV_PERSIST_AOF_LAST_REWRITE_MS] > rewrite_ms)
				rewrite_ms = q[KV_PERSIST_AOF_LAST_REWRITE_MS];
		}
		line(t, "# Persistence");
		line(t, "loading:%d", p[KV_PERSIST_LOADING] > 0);
		line(t, "async_loading:0");
		line(t, "rdb_changes_since_last_save:%lld", p[KV_PERSIST_CHANGES]);
		line(t, "rdb_bgsave_in_progress:%d", p[KV_PERSIST_SAVING] > 0);
		line(t, "rdb_last_save_time:%lld",
		     last_save > 0 ? last_save : (long long)(srv->start_ms / 1000));
		line(t, "rdb_last_bgsave_status:%s",
		     p[KV_PERSIST_LAST_SAVE_OK] == (long long)n ? "ok" : "err");
		line(t, "aof_enabled:%d", p[KV_PERSIST_AOF_ENABLED] > 0);
		line(t, "aof_rewrite_in_progress:%d", p[KV_PERSIST_AOF_REWRITING] > 0);
		line(t, "aof_rewrite_scheduled:0");
		line(t, "aof_rewrites:%lld", p[KV_PERSIST_AOF_REWRITES]);
		line(t, "aof_last_rewrite_time_sec:%lld",
		     p[KV_PERSIST_AOF_REWRITES] > 0 ? (rewrite_ms + 999) / 1000 : -1LL);
		line(t, "aof_last_bgrewrite_status:%s",
		     p[KV_PERSIST_AOF_LAST_REWRITE_OK] == (long long)n ? "ok" : "err");
		line(t, "aof_last_write_status:%s",
		     p[KV_PERSIST_AOF_LAST_WRITE_OK] == (long long)n ? "ok" : "err");
		if (p[KV_PERSIST_AOF_ENABLED] > 0) {
			line(t, "aof_current_size:%lld", p[KV_PERSIST_AOF_CURRENT_SIZE]);
			line(t, "aof_base_size:%lld", p[KV_PERSIST_AOF_BASE_SIZE]);
			line(t, "aof_buffer_length:%lld", p[KV_PERSIST_AOF_BUFFER]);
			line(t, "aof_pending_writes:%lld", p[KV_PERSIST_AOF_BUFFER]);
			line(t, "aof_unsynced_bytes:%lld", p[KV_PERSIST_AOF_UNSYNCED]);
			line(t, "aof_fsync_lag_ms:%lld", lag);
			line(t, "aof_fsyncs:%lld", p[KV_PERSIST_AOF_FSYNCS]);
			line(t, "aof_replies_waiting_fsync:%lld", p[KV_PERSIST_AOF_HELD]);
			line(t, "aof_write_errors:%lld", p[KV_PERSIST_AOF_WRITE_ERRS]);
		}
		line(t, "%s", "");
	}
	if (want(sec, "stats", true)) {
		line(t, "# Stats");
		line(t, "total_connections_received:%lld", sum[KV_INFO_CONNECTIONS]);
		line(t, "total_commands_processed:%lld", sum[KV_INFO_COMMANDS]);
		line(t, "total_net_input_bytes:%lld", sum[KV_INFO_NET_INPUT]);
		line(t, "total_net_output_bytes:%lld", sum[KV_INFO_NET_OUTPUT]);
		line(t, "rejected_connections:%lld", sum[KV_INFO_REJECTED]);
		line(t, "expired_keys:%lld", sum[KV_INFO_EXPIRED_KEYS]);
		line(t, "evicted_keys:%lld", sum[KV_INFO_EVICTED_KEYS]);
		line(t, "keyspace_hits:%lld", sum[KV_INFO_HITS]);
		line(t, "keyspace_misses:%lld", sum[KV_INFO_MISSES]);
		line(t, "total_error_replies:0");
		line(t, "%s", "");
	}
	if (want(sec, "keyspace", true)) {
		line(t, "# Keyspace");
		for (int db = 0; db < KV_DBS; db++) {
			long long keys = 0, expires = 0, ttl_weighted = 0;

			for (unsigned i = 0; i < n; i++) {
				keys += v[i][KV_INFO_DB0 + 3 * db];
				expires += v[i][KV_INFO_DB0 + 3 * db + 1];
				ttl_weighted += v[i][KV_INFO_DB0 + 3 * db + 2] *
						v[i][KV_INFO_DB0 + 3 * db + 1];
			}
			if (keys > 0)
				line(t, "db%d:keys=%lld,expires=%lld,avg_ttl=%lld", db, keys,
				     expires, expires > 0 ? ttl_weighted / expires : 0);
		}
		line(t, "%s", "");
	}
	if (want(sec, "atoll", true)) {
		line(t, "# Atoll");
		line(t, "reactors:%u", n);
		for (unsigned i = 0; i < n; i++)
			line(t,
			     "reactor%u:clients=%lld,commands=%lld,local=%lld,remote=%lld,"
			     "batches_sent=%lld,batches_run=%lld,batch_commands=%lld,lock_waits=%"
			     "lld,"
			     "protocol_errors=%lld,output_drops=%lld,msgs_local=%lld,msgs_remote=%"
			     "lld,"
			     "doorbells=%lld,wakeups=%lld,dead_letters=%lld,used_memory=%lld,"
			     "queued=%lld,queued_max=%lld,ring_full=%lld,overflow=%lld",
			     i, v[i][KV_INFO_CLIENTS], v[i][KV_INFO_COMMANDS],
			     v[i][KV_INFO_COMMANDS_LOCAL], v[i][KV_INFO_COMMANDS_REMOTE],
			     v[i][KV_INFO_BATCHES_SENT], v[i][KV_INFO_BATCHES_RUN],
			     v[i][KV_INFO_BATCH_COMMANDS], v[i][KV_INFO_LOCK_WAITS],
			     v[i][KV_INFO_PROTOCOL_ERRORS], v[i][KV_INFO_OUTPUT_DROPS],
			     v[i][KV_INFO_MSGS_LOCAL], v[i][KV_INFO_MSGS_REMOTE],
			     v[i][KV_INFO_DOORBELLS], v[i][KV_INFO_WAKEUPS],
			     v[i][KV_INFO_DEAD_LETTERS], v[i][KV_INFO_USED_MEMORY],
			     v[i][KV_INFO_QUEUED], v[i][KV_INFO_QUEUED_MAX],
			     v[i][KV_INFO_RING_FULL], v[i][KV_INFO_OVERFLOW]);
		line(t, "%s", "");
	}
	/* Redis ends the text without the last blank line. */
	if (t->len >= 2)
		t->len -= 2;
	free(v);
}

void conn_emit_info(struct conn *c, struct rb *rb, const struct slot *s, struct resp_out *o)
{
	struct resp_out text;

	resp_out_init(&text, 2);
	if (s->combine == CMB_INFO) {
		info_text(c, rb, s, &text);
	} else {
		for (uint32_t i = 0; i < s->nparts; i++) {
			size_t len, vl;
			const char *b = conn_part_bytes(rb, &rb->parts[s->first_part + i], &len);
			const char *nl = memchr(b, '\n', len);

			/* Each part is a bulk string: "$<n>\r\n<text>\r\n". */
			if (len < 5 || b[0] != '$' || nl == NULL)
				continue;
			vl = len - (size_t)(nl + 1 - b) - 2;
			resp_add_raw(&text, nl + 1, vl);
		}
	}
	if (text.oom)
		resp_add_error(o, "ERR out of memory");
	else
		resp_add_verbatim(o, "txt", text.data, text.len);
	resp_out_free(&text);
}
