/*
 * file_sink.h - appends each ATOLL_LIB_DATA payload plus '\n' to a file,
 * through the reactor's io_uring (atoll/io.h), in arrival order. When it
 * has the `ends` ENDs it expects, it writes what it holds, fsyncs, closes
 * the file, prints one summary line on stdout:
 *
 *   file-sink: 100000 records, 1788890 bytes to out.txt
 *
 * (records = lines written: a DATA carrying "a\nb" is two) and, with
 * `stop_at_end`, stops the runtime, so a topology ends with its result.
 *
 * Parameters:
 *   path         STRING  the file (required); created if missing
 *   append       BOOL    append to an existing file (default no: truncate)
 *   ends         INT     ENDs to wait for: one per upstream member (default 1)
 *   stop_at_end  BOOL    stop the runtime after the summary (default no)
 *   fsync        BOOL    fsync before the summary (default yes)
 *   buffer       SIZE    write buffer size (default 64k)
 *
 * Ownership and copies: the DATA message cannot itself be the write buffer
 * without a second write per record for its '\n' (or a payload with spare
 * room, which messages do not promise), and one write per record would
 * cost an SQE and a CQE for every 20-byte line. So payloads are copied into
 * message-owned write buffers (struct atoll_appender, actors/appender.h):
 * the kernel owns one buffer while it writes it, records fill the next, and
 * each DATA message is freed by the runtime after receive. A copy of ~20
 * bytes costs far less than the SQE it saves.
 *
 * If the sum of the record counts the ENDs carry differs from the records
 * received, a warning says so on stderr. A failed open or write is logged;
 * records after it are counted as dropped, and the summary still comes.
 *
 * Accepts ATOLL_LIB_DATA, ATOLL_LIB_END and ATOLL_LIB_STATS (in = DATA
 * messages, out = records written, bytes = bytes written, dropped).
 */
#ifndef ATOLL_FILE_SINK_H
#define ATOLL_FILE_SINK_H

#include "lib_msg.h"

#ifdef __cplusplus
extern "C" {
#endif

enum atoll_file_sink_msg {
	/* Completions of its own I/O requests. Internal. */
	ATOLL_FILE_SINK_OPEN = ATOLL_LIB_MSG_BLOCK(5),
	ATOLL_FILE_SINK_WRITE,
	ATOLL_FILE_SINK_FSYNC,
	ATOLL_FILE_SINK_CLOSE,
};

/* The file-sink actor type; its init takes a const struct atoll_params *. */
extern const struct atoll_actor_type atoll_file_sink_type;
/* Its description for topologies and `atoll list`. */
extern const struct atoll_type_info atoll_file_sink_info;

#ifdef __cplusplus
}
#endif

#endif /* ATOLL_FILE_SINK_H */
