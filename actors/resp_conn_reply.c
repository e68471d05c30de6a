/*
 * resp_conn_reply.c - a connection's replies, in request order (see
 * resp_conn_int.h): the rbs of reads still waiting, their slots and parts,
 * the batches being built for each shard, and how parts from several shards
 * combine into one reply.
 *
 * Invariants: rbs are written out strictly in the order they were made;
 * an rb leaves only when nothing in it waits (every batch answered, every
 * hold released) and it is not the read being parsed; a slot's parts are
 * contiguous in rb->parts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp_conn_int.h"

/* A batch over this size is sent before the read is done, so that one
 * message never grows past what its 32-bit length can say. */
#define BATCH_SPLIT (16u << 20)

void conn_grow(void **p, uint32_t *cap, uint32_t need, size_t elem, bool *ok)
{
	uint32_t n;
	void *q;

	if (need <= *cap)
		return;
	n = *cap ? *cap * 2 : 8;
	while (n < need)
		n *= 2;
	q = realloc(*p, (size_t)n * elem);
	if (q == NULL) {
		*ok = false;
		return;
	}
	*p = q;
	*cap = n;
}

/* --- rbs and slots ------------------------------------------------------ */

static struct rb *rb_new(struct conn *c)
{
	struct rb *rb = c->spare;

	if (rb != NULL) {
		c->spare = rb->next;
	} else {
		rb = calloc(1, sizeof(*rb));
		if (rb == NULL)
			return NULL;
		resp_out_init(&rb->local, c->client.resp);
	}
	rb->next = NULL;
	rb->seq = ++c->rb_seq;
	rb->local.proto = c->client.resp;
	return rb;
}

static void rb_recycle(struct conn *c, struct rb *rb)
{
	for (uint32_t i = 0; i < rb->nslots; i++)
		free(rb->slots[i].text);
	for (uint32_t i = 0; i < rb->nbatches; i++)
		atoll_msg_free(rb->replies[i]);
	rb->nslots = rb->nparts = rb->nkeymap = rb->nbatches = rb->waiting = 0;
	resp_out_reset(&rb->local);
	if (rb->local.cap > (1u << 20))
		resp_out_free(&rb->local);
	rb->next = c->spare;
	c->spare = rb;
}

void conn_rb_destroy(struct rb *rb)
{
	for (uint32_t i = 0; i < rb->nslots; i++)
		free(rb->slots[i].text);
	for (uint32_t i = 0; i < rb->nbatches; i++)
		atoll_msg_free(rb->replies[i]);
	free(rb->slots);
	free(rb->parts);
	free(rb->keymap);
	free(rb->replies);
	free(rb->bshard);
	resp_out_free(&rb->local);
	free(rb);
}

/* The rb of the current read, made on first use and queued at once. */
struct rb *conn_rb(struct conn *c)
{
	if (c->cur == NULL) {
		c->cur = rb_new(c);
		if (c->cur == NULL)
			return NULL;
		if (c->tail != NULL)
			c->tail->next = c->cur;
		else
			c->head = c->cur;
		c->tail = c->cur;
	}
	return c->cur;
}

struct slot *conn_slot(struct conn *c, uint8_t combine)
{
	struct rb *rb = conn_rb(c);
	bool ok = true;
	struct slot *s;

	if (rb == NULL)
		return NULL;
	conn_grow((void **)&rb->slots, &rb->cap_slots, rb->nslots + 1, sizeof(*rb->slots), &ok);
	if (!ok)
		return NULL;
	s = &rb->slots[rb->nslots++];
	memset(s, 0, sizeof(*s));
	s->combine = combine;
	s->first_part = rb->nparts;
	s->first_key = rb->nkeymap;
	return s;
}

struct part *conn_new_part(struct rb *rb, struct slot *s)
{
	bool ok = true;
	struct part *p;

	conn_grow((void **)&rb->parts, &rb->cap_parts, rb->nparts + 1, sizeof(*rb->parts), &ok);
	if (!ok)
		return NULL;
	p = &rb->parts[rb->nparts++];
	memset(p, 0, sizeof(*p));
	s->nparts++;
	return p;
}

bool conn_add_local_part(struct conn *c, struct slot *s, size_t off, size_t len)
{
	struct part *p = conn_new_part(c->cur, s);

	if (p == NULL)
		return false;
	p->local = true;
	p->off = off;
	p->len = len;
	return true;
}

/* Makes room in cur for one more batch; returns its number or -1. */
static int32_t new_bno(struct conn *c, unsigned shard)
{
	struct rb *rb = c->cur;
	uint32_t cap = rb->cap_batches;
	bool ok = true;

	conn_grow((void **)&rb->replies, &cap, rb->nbatches + 1, sizeof(*rb->replies), &ok);
	if (ok && cap != rb->cap_batches) {
		uint32_t cap2 = rb->cap_batches;

		conn_grow((void **)&rb->bshard, &cap2, cap, sizeof(*rb->bshard), &ok);
	}
	if (!ok)
		return -1;
	rb->cap_batches = cap;
	rb->replies[rb->nbatches] = NULL;
	rb->bshard[rb->nbatches] = shard;
	rb->waiting++;
	kv_batch_begin(&c->builders[shard], 0, c->client.resp);
	return (int32_t)rb->nbatches++;
}

static void send_batch(struct conn *c, unsigned shard)
{
	struct rb *rb = c->cur;
	int32_t bno = c->bno[shard];
	atoll_msg *m = kv_batch_take(&c->builders[shard]);

	c->bno[shard] = -1;
	if (m != NULL) {
		m->reply_to = atoll_self(c->ctx);
		m->corr = (rb->seq << CORR_BNO_BITS) | (uint64_t)bno;
		if (atoll_send(c->ctx, c->srv->shards[shard], m) >= 0) {
			c->core->stats.batches_sent++;
			if (shard == c->core->index)
				c->own_inflight++;
			return;
		}
	}
	/* Lost (no memory, or the shard has stopped): its parts read as
	 * errors, and the rb does not wait for it. */
	rb->waiting--;
}

void conn_flush_builders(struct conn *c)
{
	for (unsigned s = 0; s < c->srv->nshards; s++) {
		if (c->bno[s] >= 0)
			send_batch(c, s);
	}
}

void conn_add_remote(struct conn *c, struct slot *s, unsigned shard, uint32_t op, int argc,
		     const struct kv_arg *argv)
{
	struct part *p;

	if (c->bno[shard] < 0)
		c->bno[shard] = new_bno(c, shard);
	p = conn_new_part(c->cur, s);
	if (p == NULL || c->bno[shard] < 0) {
		if (p != NULL) {
			p->local = true; /* empty: reads as an error */
		}
		return;
	}
	p->bno = (uint32_t)c->bno[shard];
	p->idx = kv_batch_add(&c->builders[shard], op, c->client.db, argc, argv);
	c->core->stats.commands_remote++;
	if (c->builders[shard].buf.len > BATCH_SPLIT)
		send_batch(c, shard);
}

void conn_to_all(struct conn *c, uint8_t combine, uint32_t op, int argc, const struct kv_arg *argv,
		 uint64_t arg, char *text)
{
	struct slot *s = conn_slot(c, combine);

	if (s == NULL) {
		free(text);
		conn_error(c, "ERR out of memory");
		return;
	}
	s->arg = arg;
	s->text = text;
	for (unsigned shard = 0; shard < c->srv->nshards; shard++)
		conn_add_remote(c, s, shard, op, argc, argv);
}

bool conn_block(struct conn *c)
{
	struct slot *s = conn_slot(c, CMB_ONE);

	if (s == NULL)
		return false;
	c->hold_rb = c->cur;
	c->hold_slot = c->cur->nslots - 1;
	c->hold_rb->waiting++;
	c->blocked = true;
	return true;
}

struct resp_out *conn_block_out(struct conn *c, size_t *off)
{
	c->hold_rb->local.proto = c->client.resp;
	*off = c->hold_rb->local.len;
	return &c->hold_rb->local;
}

/* --- immediate replies -------------------------------------------------- */

/*
 * Where to write a reply that is ready now: straight to out when nothing
 * is pending, else a local part of a new slot in the current rb. Pair with
 * conn_reply_end, with nothing else in between.
 */
struct resp_out *conn_reply_begin(struct conn *c)
{
	struct slot *s;

	c->imm_slot = -1;
	c->out.proto = c->client.resp;
	if (c->head == NULL)
		return &c->out;
	s = conn_slot(c, CMB_ONE);
	if (s == NULL)
		return &c->out; /* out of memory: better out of order than lost */
	c->imm_slot = (int32_t)(c->cur->nslots - 1);
	c->cur->local.proto = c->client.resp;
	c->imm_off = c->cur->local.len;
	return &c->cur->local;
}

void conn_reply_end(struct conn *c)
{
	if (c->imm_slot >= 0)
		(void)conn_add_local_part(c, &c->cur->slots[c->imm_slot], c->imm_off,
					  c->cur->local.len - c->imm_off);
	c->imm_slot = -1;
}

void conn_error(struct conn *c, const char *err)
{
	resp_add_error(conn_reply_begin(c), err);
	conn_reply_end(c);
}

bool conn_authed(const struct conn *c)
{
	return c->client.authenticated || c->core->settings.requirepass[0] == '\0';
}

/* --- output ------------------------------------------------------------- */

static void release_free(atoll_msg *m)
{
	free(m->data);
}

static void end_now(struct conn *c, bool abort)
{
	if (c->ended)
		return;
	if (abort)
		atoll_tcp_conn_abort(c->ctx, c->tc, -ENOBUFS);
	else
		atoll_tcp_conn_close(c->ctx, c->tc);
}

/* Sends what out holds, then enforces the output limit and a pending close. */
static void flush_out(struct conn *c)
{
	unsigned long long limit = c->core->settings.client_output_limit;

	if (c->drop) {
		c->core->stats.output_drops++;
		end_now(c, true);
		return;
	}
	if (c->out.len > 0 && !c->ended) {
		size_t len, cap;
		char *buf = resp_out_detach(&c->out, &len, &cap);
		atoll_msg *m = atoll_msg_new(ATOLL_MSG_USER, 0);

		if (m == NULL || len > UINT32_MAX) {
			free(buf);
			atoll_msg_free(m);
			end_now(c, true);
			return;
		}
		atoll_msg_attach(m, buf, (uint32_t)len, (uint32_t)(cap > UINT32_MAX ? len : cap),
				 release_free);
		c->core->stats.net_output += len;
		(void)atoll_tcp_conn_send(c->ctx, c->tc, m);
	}
	if (c->ended)
		return;
	c->client.omem = atoll_tcp_conn_pending(c->tc);
	if (limit != 0 && c->client.omem > limit) {
		c->core->stats.output_drops++;
		end_now(c, true);
		return;
	}
	if (c->closing && c->head == NULL)
		end_now(c, false);
}

const char *conn_part_bytes(const struct rb *rb, const struct part *p, size_t *len)
{
	static const char lost[] = "-ERR out of memory\r\n";
	struct kv_reply_view v;

	if (p->local) {
		if (p->len == 0)
			goto fail;
		*len = p->len;
		return rb->local.data + p->off;
	}
	if (rb->replies[p->bno] == NULL || kv_reply_view(rb->replies[p->bno], &v) < 0 ||
	    p->idx >= v.count)
		goto fail;
	return kv_reply_at(&v, p->idx, len);
fail:
	*len = sizeof(lost) - 1;
	return lost;
}

/* Parses ":<n>\r\n". */
static bool reply_int(const char *p, size_t n, long long *v)
{
	return n >= 4 && p[0] == ':' && kv_parse_ll(p + 1, n - 3, v);
}

/* The element count of an array reply and where its elements start. */
static bool reply_array(const char *p, size_t n, long long *count, size_t *hdr)
{
	const char *cr = memchr(p, '\r', n);

	if (n < 4 || p[0] != '*' || cr == NULL || !kv_parse_ll(p + 1, (size_t)(cr - p - 1), count))
		return false;
	*hdr = (size_t)(cr - p) + 2;
	return *hdr <= n;
}

static void emit_slot(struct conn *c, struct rb *rb, const struct slot *s, struct resp_out *o)
{
	const struct part *parts = rb->parts + s->first_part;
	const char *b;
	size_t len;

	/* An error in any part is the reply (the first one). */
	if (s->combine != CMB_ONE && s->combine != CMB_RANDOM) {
		for (uint32_t i = 0; i < s->nparts; i++) {
			b = conn_part_bytes(rb, &parts[i], &len);
			if (len > 0 && b[0] == '-') {
				resp_add_raw(o, b, len);
				return;
			}
		}
	}
	switch (s->combine) {
	case CMB_STATUS:
		resp_add_status(o, s->text != NULL ? s->text : "OK");
		return;
	case CMB_ONE:
	case CMB_OK:
		b = conn_part_bytes(rb, &parts[0], &len);
		resp_add_raw(o, b, len);
		return;
	case CMB_SUM:
	case CMB_KILL: {
		long long sum = 0, v;

		for (uint32_t i = 0; i < s->nparts; i++) {
			b = conn_part_bytes(rb, &parts[i], &len);
			if (reply_int(b, len, &v))
				sum += v;
		}
		if (s->combine == CMB_KILL && s->arg != 0) {
			if (sum > 0)
				resp_add_status(o, "OK");
			else
				resp_add_error(o, "ERR No such client");
		} else {
			resp_add_int(o, sum);
		}
		return;
	}
	case CMB_CONCAT: {
		long long total = 0, n;
		size_t hdr;

		for (uint32_t i = 0; i < s->nparts; i++) {
			b = conn_part_bytes(rb, &parts[i], &len);
			if (reply_array(b, len, &n, &hdr) && n > 0)
				total += n;
		}
		resp_add_array(o, (size_t)total);
		for (uint32_t i = 0; i < s->nparts; i++) {
			b = conn_part_bytes(rb, &parts[i], &len);
			if (reply_array(b, len, &n, &hdr) && n > 0)
				resp_add_raw(o, b + hdr, len - hdr);
		}
		return;
	}
	case CMB_MGET: {
		size_t pos[64], *cur = s->nparts <= 64 ? pos : calloc(s->nparts, sizeof(size_t));

		if (cur == NULL) {
			resp_add_error(o, "ERR out of memory");
			return;
		}
		for (uint32_t i = 0; i < s->nparts; i++) {
			long long n;

			b = conn_part_bytes(rb, &parts[i], &len);
			if (!reply_array(b, len, &n, &cur[i]))
				cur[i] = len;
		}
		resp_add_array(o, s->nkeys);
		for (uint32_t k = 0; k < s->nkeys; k++) {
			uint32_t pi = rb->keymap[s->first_key + k];
			size_t vl;

			b = conn_part_bytes(rb, &parts[pi], &len);
			vl = cur[pi] < len ? resp_value_len(b + cur[pi], len - cur[pi]) : 0;
			if (vl == 0) {
				resp_add_null(o);
			} else {
				resp_add_raw(o, b + cur[pi], vl);
				cur[pi] += vl;
			}
		}
		if (cur != pos)
			free(cur);
		return;
	}
	case CMB_RANDOM: {
		/* One of the shards' keys, each non-null answer equally likely
		 * (reservoir sampling over the parts). */
		uint32_t nf = 0, pick = 0;

		for (uint32_t i = 0; i < s->nparts; i++) {
			b = conn_part_bytes(rb, &parts[i], &len);
			if (len > 0 && b[0] == '$' && b[1] != '-' && (uint32_t)rand() % ++nf == 0)
				pick = i;
		}
		if (nf == 0) {
			resp_add_null(o);
			return;
		}
		b = conn_part_bytes(rb, &parts[pick], &len);
		resp_add_raw(o, b, len);
		return;
	}
	case CMB_INFO:
	case CMB_TEXT:
		conn_emit_info(c, rb, s, o);
		return;
	default:
		resp_add_error(o, "ERR internal: bad combine");
		return;
	}
}

/* Writes out every rb at the head that has all its parts, in order. */
void conn_emit_ready(struct conn *c)
{
	while (c->head != NULL && c->head->waiting == 0 && c->head != c->cur) {
		struct rb *rb = c->head;

		c->out.proto = c->client.resp;
		for (uint32_t i = 0; i < rb->nslots; i++)
			emit_slot(c, rb, &rb->slots[i], &c->out);
		c->head = rb->next;
		if (c->head == NULL)
			c->tail = NULL;
		rb_recycle(c, rb);
	}
	flush_out(c);
}
