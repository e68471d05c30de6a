/*
 * appender.h - ordered appends to a file through the reactor's io_uring,
 * for actors that write streams of small records (file-sink, logger).
 *
 * An appender copies what it is given into a message-owned write buffer
 * (an atoll_io of buf_size bytes) and keeps at most one write in flight:
 * while the kernel owns one buffer, records fill the next, so under load
 * each write carries many records (one SQE per buffer, not per record) and
 * bytes reach the file in the order they were appended. Full buffers wait
 * in a FIFO. Memory grows only while the disk is slower than the records.
 *
 * The owning actor routes completions of type write_type back with
 * atoll_appender_complete. Not thread-safe: one actor, on its reactor.
 */
#ifndef ATOLL_APPENDER_H
#define ATOLL_APPENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <atoll.h>

#ifdef __cplusplus
extern "C" {
#endif

struct atoll_appender {
	int fd;              /* -1 until set: appends wait in buffers */
	uint32_t write_type; /* msg.type of its write requests */
	size_t buf_size;
	struct atoll_io *cur;     /* being filled, or NULL */
	struct atoll_io **queue;  /* full buffers, oldest first */
	size_t qhead, qlen, qcap; /* ring of queue pointers */
	struct atoll_io *spare;   /* a written buffer kept for reuse */
	bool inflight;            /* the kernel owns one buffer */
	uint64_t bytes;           /* bytes written */
	int error;                /* the first write error (-errno), or 0 */
};

/* Sets a up with no file yet. buf_size 0: 64 KiB. */
void atoll_appender_init(struct atoll_appender *a, uint32_t write_type, size_t buf_size);

/*
 * Copies len bytes (and a '\n' when newline) to the end of the stream and
 * starts a write if none is in flight and fd is set. Returns 0, -ENOMEM, or
 * the error an earlier write failed with (nothing appended).
 */
int atoll_appender_append(atoll_ctx *ctx, struct atoll_appender *a, const void *data, size_t len,
			  bool newline);

/* Sets the descriptor (after an open completes) and starts writing what
 * waits. The appender does not close it. */
void atoll_appender_set_fd(atoll_ctx *ctx, struct atoll_appender *a, int fd);

/*
 * Handles the completion of one of its writes (a message of write_type):
 * takes io, records an error, starts the next write. Returns io's result
 * (bytes, or -errno; after an error later buffers are dropped).
 */
int atoll_appender_complete(atoll_ctx *ctx, struct atoll_appender *a, struct atoll_io *io);

/* True when nothing waits and nothing is in flight. */
bool atoll_appender_idle(const struct atoll_appender *a);

/* Frees the buffers a holds (not one in flight: the kernel's, freed by the
 * runtime when it completes or is cancelled). */
void atoll_appender_free(struct atoll_appender *a);

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_APPENDER_H */
