/*
 * io.h - internals of I/O: how a CQE finds its owner, the provided-buffer
 * ring, streams and acceptors.
 *
 * A CQE's user_data is either a small tag (< ATOLL__TAG_MAX, see reactor.h)
 * or a pointer whose low three bits say what it points to (all our objects
 * are 16-byte aligned). Every SQE that will produce a CQE goes through
 * atoll__sqe, which counts it in io_inflight; a CQE without IORING_CQE_F_MORE
 * uncounts it, so at stop the reactor knows when the kernel has returned
 * everything.
 */
#ifndef ATOLL_IO_INTERNAL_H
#define ATOLL_IO_INTERNAL_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>

#include "atoll/io.h"

struct atoll_ctx;

enum atoll__ud_kind {
	ATOLL__UD_IO = 0,     /* struct atoll_io: a one-shot request */
	ATOLL__UD_RECV = 1,   /* struct atoll_stream: its multishot receive */
	ATOLL__UD_SEND = 2,   /* struct atoll_stream: its send in flight */
	ATOLL__UD_SOTHER = 3, /* struct atoll_stream: a cancel or the close */
	ATOLL__UD_ACCEPT = 4, /* struct atoll__acceptor: its multishot accept */
	ATOLL__UD_KIND_MASK = 7,
};

static inline uint64_t atoll__ud(const void *p, enum atoll__ud_kind kind)
{
	return (uint64_t)(uintptr_t)p | (uint64_t)kind;
}

/* The reactor's provided-buffer ring (group id 0). */
struct atoll__bufring {
	struct io_uring_buf_ring *br;
	unsigned char *bufs; /* count * size bytes */
	uint32_t count;      /* a power of two */
	uint32_t size;
	uint32_t lent;                /* buffers lent to received messages */
	bool ok;                      /* registered with the kernel */
	struct atoll_stream *starved; /* receives waiting for a buffer */
};

#define ATOLL__BGID 0

/* Returns a counted SQE, submitting first when the SQ is full. */
struct io_uring_sqe *atoll__sqe(struct atoll_ctx *r);

/* Dispatches a CQE whose user_data is a pointer (not a tag). */
void atoll__io_cqe(struct atoll_ctx *r, struct io_uring_cqe *cqe);

/* Stop: cancels everything in flight, reaps it, frees streams, acceptors
 * and the buffer ring's registration. */
void atoll__io_shutdown(struct atoll_ctx *r);

/* bufring.c */
int atoll__bufring_init(struct atoll_ctx *r);
void atoll__bufring_destroy(struct atoll_ctx *r);
void atoll__bufring_put(struct atoll_ctx *r, uint16_t bid);
/* Release hook of received messages: gives the buffer back home. */
void atoll__bufring_release(atoll_msg *msg);

/* stream.c */
void atoll__stream_cqe(struct atoll_ctx *r, struct atoll_stream *s, enum atoll__ud_kind kind,
		       struct io_uring_cqe *cqe);
void atoll__stream_arm_recv(struct atoll_ctx *r, struct atoll_stream *s);
struct atoll_stream *atoll__stream_starved_next(const struct atoll_stream *s);
void atoll__streams_shutdown(struct atoll_ctx *r);

/* An armed multishot accept (io.c). */
struct atoll__acceptor {
	struct atoll__acceptor *next; /* the reactor's list */
	atoll_ref owner;
	int fd;
	uint32_t type;
	bool armed;
};

#endif /* ATOLL_IO_INTERNAL_H */
