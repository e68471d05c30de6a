/*
 * bufring.c - a reactor's provided-buffer ring for multishot receives.
 *
 * count buffers of size bytes, lent to the kernel through a registered
 * io_uring_buf_ring (set up by hand, as liburing 2.3 has no setup helper).
 * Invariants: a buffer is either in the ring (the kernel's to fill) or lent
 * to exactly one received message; only the home reactor adds buffers back,
 * so a message freed on another core sends its buffer home as a message.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "reactor.h"

int atoll__bufring_init(struct atoll_ctx *r)
{
	struct atoll__bufring *b = &r->bufring;
	struct io_uring_buf_reg reg;
	size_t ring_bytes;
	int err;

	b->count = r->rt->cfg.recv_buffers;
	b->size = r->rt->cfg.recv_buffer_size;
	if (r->rt->cfg.no_buf_ring) {
		if (r->index == 0)
			atoll__log_info("receives: single-shot (no_buf_ring set)");
		return 0;
	}
	ring_bytes = b->count * sizeof(struct io_uring_buf);
	if (posix_memalign((void **)&b->br, (size_t)sysconf(_SC_PAGESIZE), ring_bytes) != 0)
		return -ENOMEM;
	b->bufs = malloc((size_t)b->count * b->size);
	if (b->bufs == NULL) {
		free(b->br);
		b->br = NULL;
		return -ENOMEM;
	}
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)b->br;
	reg.ring_entries = b->count;
	reg.bgid = ATOLL__BGID;
	err = io_uring_register_buf_ring(&r->ring, &reg, 0);
	if (err < 0) {
		/* Kernels before 5.19 lack it: receives then cannot start. */
		atoll__log_warn("reactor %u: io_uring_register_buf_ring: %s: receives fall "
				"back to single-shot",
				r->index, atoll_strerror(err));
		free(b->bufs);
		free(b->br);
		b->bufs = NULL;
		b->br = NULL;
		return 0;
	}
	io_uring_buf_ring_init(b->br);
	for (uint32_t i = 0; i < b->count; i++)
		io_uring_buf_ring_add(b->br, b->bufs + (size_t)i * b->size, b->size, (uint16_t)i,
				      io_uring_buf_ring_mask(b->count), (int)i);
	io_uring_buf_ring_advance(b->br, (int)b->count);
	b->ok = true;
	return 0;
}

void atoll__bufring_destroy(struct atoll_ctx *r)
{
	struct atoll__bufring *b = &r->bufring;

	if (b->ok && r->uring_ok)
		(void)io_uring_unregister_buf_ring(&r->ring, ATOLL__BGID);
	b->ok = false;
	free(b->bufs);
	free(b->br);
	b->bufs = NULL;
	b->br = NULL;
}

void atoll__bufring_put(struct atoll_ctx *r, uint16_t bid)
{
	struct atoll__bufring *b = &r->bufring;

	if (!b->ok)
		return;
	io_uring_buf_ring_add(b->br, b->bufs + (size_t)bid * b->size, b->size, bid,
			      io_uring_buf_ring_mask(b->count), 0);
	/* The release store in advance publishes the entry to the kernel. */
	io_uring_buf_ring_advance(b->br, 1);
	ATOLL__STAT_ADD(r, bufs_out, (uint64_t)-1);
	b->lent--;
	/* Receives that ran dry start again once a batch of buffers is back
	 * (an eighth of the ring): re-arming on every single buffer made the
	 * starved receives fail again at once, millions of times a second. */
	if (b->starved != NULL && !r->io_stopping && b->count - b->lent >= b->count / 8) {
		struct atoll_stream *s = b->starved;

		b->starved = NULL;
		while (s != NULL) {
			struct atoll_stream *next = atoll__stream_starved_next(s);
			atoll__stream_arm_recv(r, s);
			s = next;
		}
	}
}

void atoll__bufring_release(atoll_msg *msg)
{
	struct atoll_io *io = (struct atoll_io *)msg;
	struct atoll_ctx *home = io->priv;
	struct atoll_ctx *self = atoll__tls_reactor;
	uint16_t bid = (uint16_t)io->offset;
	atoll_msg *back;

	if (self == home) {
		atoll__bufring_put(home, bid);
		return;
	}
	/* Freed away from home: the buffer travels back as a message. After
	 * the stop barrier nothing may be sent; home frees the whole ring. */
	if (self != NULL && (self->no_send || self->rt != home->rt))
		return;
	back = atoll_msg_new(ATOLL_MSG_BUF_RETURN, sizeof(bid));
	if (back == NULL) {
		atoll__log_error("out of memory returning a receive buffer to reactor %u",
				 home->index);
		return;
	}
	memcpy(back->data, &bid, sizeof(bid));
	back->to = atoll__ref_make(home->index, 0, 0);
	if (self != NULL)
		(void)atoll__send_remote(self, home->index, back);
	else
		(void)atoll__ext_push(home, back);
}
