/*
 * test_io.c - file I/O through the reactor's io_uring (src/io.c): open with
 * the path in the message buffer, writes at offsets read back byte for byte
 * (holes read as zeros), a read past the end gives 0, writes at the current
 * position follow each other, fsync and fdatasync complete with 0, errors
 * come back as -errno in res (a missing file gives -ENOENT), many appends on
 * an O_APPEND descriptor (one message, reused) and many writes in flight at
 * explicit offsets land in order. Every completion is checked to be the
 * very message submitted, with its msg.type and the op, and io_inflight is
 * back to its idle value once the work is done and 0 after the runtime
 * stops. Each test works in a fresh mkdtemp directory, removed afterwards. */
#include "helpers.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
	MSG_GO = ATOLL_MSG_USER,
	T_OPEN,
	T_OPEN_MISSING,
	T_OPEN_EXISTING,
	T_WRITE_A,
	T_WRITE_B,
	T_WRITE,
	T_FSYNC,
	T_FDATASYNC,
	T_READ_A,
	T_READ_B,
	T_READ_HOLE,
	T_READ_SPAN,
	T_READ_EOF,
	T_READ_DIR,
	T_APPEND,
	T_CLOSE,
};

/* The round-trip file: A at 0, a hole, B at B_OFFSET, nothing after. */
#define A_BYTES 4096u
#define B_OFFSET 10000u
#define B_BYTES 3000u
#define FILE_BYTES (B_OFFSET + B_BYTES)

/* The append and offset tests: numbered records of varying length. */
#define MAX_RECORDS 1000u
#define RECORDS (TEST_TSAN ? 200u : TEST_ASAN ? 500u : MAX_RECORDS)
#define RECORD_MAX 64u
/* Writes the offset test keeps in flight at once. */
#define WINDOW 16u

/* How long a test waits for a sequence of I/O to finish. */
#define IO_LIMIT_NS (TSAN_SCALE(30, 120) * NS_PER_SEC)

/*
 * One record per test, reached by the driving actor through its init arg.
 * The test thread sets the paths and descriptors before the actor starts.
 */
struct fworld {
	atoll_runtime *rt;
	char dir[64];
	char path[PATH_MAX];
	char missing[PATH_MAX];
	int dir_fd; /* opened by the test thread, for the EISDIR case */
	_Atomic uint64_t done;
	_Atomic uint64_t completions;
	_Atomic uint64_t writes;      /* record writes completed */
	uint64_t idle_inflight;       /* io_inflight before any request */
	_Atomic uint64_t results[16]; /* res of the completion of each T_* */
};

static unsigned char pattern_byte(uint64_t seed, uint64_t i)
{
	uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull ^ (seed + 1) * 0xd1b54a32d192ed03ull;

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	return (unsigned char)(x >> 56);
}

static void fill_pattern(unsigned char *buf, size_t len, uint64_t seed, uint64_t start)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern_byte(seed, start + i);
}

/* Record i: "record 000042 " then (i % 23) filler letters, then a newline. */
static size_t make_record(unsigned i, char *buf)
{
	int n = snprintf(buf, RECORD_MAX, "record %06u ", i);
	size_t len = (size_t)n;

	for (unsigned k = 0; k < i % 23; k++)
		buf[len++] = (char)('a' + (i + k) % 26);
	buf[len++] = '\n';
	return len;
}

/* All records back to back, as the file must hold them. *len: its size. */
static char *expected_records(unsigned n, size_t *len)
{
	char *all = malloc((size_t)n * RECORD_MAX);
	size_t off = 0;

	assert_non_null(all);
	for (unsigned i = 0; i < n; i++)
		off += make_record(i, all + off);
	*len = off;
	return all;
}

/* Reads a whole file with plain read(2). */
static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf;
	size_t off = 0;

	if (fd < 0)
		fail_msg("open %s: %s", path, strerror(errno));
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);

		if (n <= 0)
			fail_msg("read %s: %zd (%s)", path, n, strerror(errno));
		off += (size_t)n;
	}
	close(fd);
	*len = off;
	return buf;
}

/* An I/O message of the given type holding a copy of len bytes. */
static struct atoll_io *io_with_bytes(uint32_t type, const void *data, size_t len)
{
	struct atoll_io *io = atoll_io_new(type, len);

	CHECK(io != NULL);
	if (io != NULL && len != 0) {
		memcpy(io->msg.data, data, len);
		io->msg.len = (uint32_t)len;
	}
	return io;
}

/* An I/O message holding the NUL-terminated path, for atoll_io_open. */
static struct atoll_io *io_with_path(uint32_t type, const char *path)
{
	return io_with_bytes(type, path, strlen(path) + 1);
}

/*
 * Checks that msg, an atoll_io, is a completion of op, and that it is the
 * message that was submitted (expected, when known). Returns it as an
 * atoll_io.
 */
static struct atoll_io *completion(atoll_msg *msg, const struct atoll_io *expected, uint32_t op)
{
	struct atoll_io *io = atoll_io_of(msg);

	/* The type was checked by the dispatch on it; receives have made sure
	 * msg is an atoll_io. */
	if (expected != NULL)
		CHECK(io == expected);
	CHECK_EQ(io->op, op);
	return io;
}

/* The driving actor: one state machine per test, chosen by its type. */
struct filer {
	struct fworld *w;
	int fd;
	unsigned pending;
	unsigned next;                   /* next record to submit */
	struct atoll_io *submitted[20];  /* by T_* - T_OPEN */
	struct atoll_io *window[WINDOW]; /* writes in flight, offset test */
	unsigned slot_record[WINDOW];
	unsigned char *seen; /* records completed, offset test */
	uint64_t offsets[MAX_RECORDS + 1];
};

static int filer_init(atoll_ctx *ctx, void *state, const void *arg)
{
	struct filer *f = state;

	(void)ctx;
	f->w = (struct fworld *)arg;
	f->fd = -1;
	return 0;
}

/* Whatever a state machine still holds at runtime stop is the actor's. */
static void filer_stop(atoll_ctx *ctx, void *state)
{
	struct filer *f = state;

	(void)ctx;
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	free(f->seen);
	f->seen = NULL;
}

static struct atoll_io **slot_of(struct filer *f, uint32_t type)
{
	return &f->submitted[type - T_OPEN];
}

static void record_result(struct filer *f, uint32_t type, int32_t res)
{
	atomic_store(&f->w->results[type - T_OPEN], (uint64_t)(int64_t)res);
	atomic_fetch_add(&f->w->completions, 1);
}

static void submit_open(atoll_ctx *ctx, struct filer *f, uint32_t type, const char *path, int flags)
{
	struct atoll_io *io = io_with_path(type, path);

	*slot_of(f, type) = io;
	CHECK_EQ(atoll_io_open(ctx, io, flags, 0600), 0);
}

static void submit_write(atoll_ctx *ctx, struct filer *f, uint32_t type, uint64_t seed, size_t len,
			 uint64_t offset)
{
	struct atoll_io *io = atoll_io_new(type, len);

	CHECK(io != NULL);
	if (io == NULL)
		return;
	fill_pattern(io->msg.data, len, seed, 0);
	io->msg.len = (uint32_t)len;
	*slot_of(f, type) = io;
	CHECK_EQ(atoll_io_write(ctx, f->fd, io, offset), 0);
}

static void submit_read(atoll_ctx *ctx, struct filer *f, uint32_t type, size_t cap, uint64_t offset)
{
	struct atoll_io *io = atoll_io_new(type, cap);

	CHECK(io != NULL);
	if (io == NULL)
		return;
	/* Garbage where the bytes will land: a read must overwrite it. */
	memset(io->msg.data, 0xa5, cap);
	*slot_of(f, type) = io;
	CHECK_EQ(atoll_io_read(ctx, f->fd, io, offset), 0);
}

static void submit_close(atoll_ctx *ctx, struct filer *f)
{
	struct atoll_io *io = atoll_io_new(T_CLOSE, 0);

	CHECK(io != NULL);
	*slot_of(f, T_CLOSE) = io;
	CHECK_EQ(atoll_io_close(ctx, f->fd, io), 0);
	f->fd = -1;
}

/* The byte at file offset off of the round-trip file. */
static unsigned char file_byte(uint64_t off)
{
	if (off < A_BYTES)
		return pattern_byte(1, off);
	if (off >= B_OFFSET && off < FILE_BYTES)
		return pattern_byte(2, off - B_OFFSET);
	return 0;
}

/* Checks the bytes a read at offset brought back against the file. */
static void check_read(const struct atoll_io *io, uint64_t offset, size_t asked)
{
	const unsigned char *b = io->msg.data;

	CHECK(io->res > 0);
	CHECK(io->res <= (int32_t)asked);
	CHECK_EQ(io->msg.len, (uint32_t)io->res);
	if (io->res <= 0)
		return;
	for (int32_t i = 0; i < io->res; i++) {
		if (b[i] != file_byte(offset + (uint64_t)i)) {
			CHECK_EQ(b[i], file_byte(offset + (uint64_t)i));
			return;
		}
	}
}

/* Round trip ------------------------------------------------------------ */

static void round_trip_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct filer *f = state;
	struct fworld *w = f->w;
	struct atoll_io *io;

	if (msg->type != MSG_GO && atoll_io_of(msg) == NULL) {
		check_failed(__FILE__, __LINE__, "a completion without ATOLL_MSGF_IO");
		return;
	}
	if (msg->type == MSG_GO) {
		submit_open(ctx, f, T_OPEN, w->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC);
		return;
	}
	CHECK(msg->type >= T_OPEN && msg->type <= T_CLOSE);
	if (msg->type < T_OPEN || msg->type > T_CLOSE)
		return;
	io = *slot_of(f, msg->type);
	*slot_of(f, msg->type) = NULL;
	switch (msg->type) {
	case T_OPEN:
		io = completion(msg, io, ATOLL_IO_OPEN);
		record_result(f, T_OPEN, io->res);
		if (io->res < 0) {
			atomic_store(&w->done, 1); /* the test thread reports it */
			return;
		}
		f->fd = io->res;
		/* Both writes in flight together, at their own offsets. */
		submit_write(ctx, f, T_WRITE_A, 1, A_BYTES, 0);
		submit_write(ctx, f, T_WRITE_B, 2, B_BYTES, B_OFFSET);
		f->pending = 2;
		return;
	case T_WRITE_A:
	case T_WRITE_B:
		io = completion(msg, io, ATOLL_IO_WRITE);
		record_result(f, msg->type, io->res);
		CHECK_EQ(io->res, msg->type == T_WRITE_A ? A_BYTES : B_BYTES);
		CHECK_EQ(io->fd, f->fd);
		if (--f->pending != 0)
			return;
		/* Data, hole, data and hole across, and past the end. */
		submit_read(ctx, f, T_READ_A, A_BYTES, 0);
		submit_read(ctx, f, T_READ_B, B_BYTES, B_OFFSET);
		submit_read(ctx, f, T_READ_HOLE, B_OFFSET - A_BYTES, A_BYTES);
		submit_read(ctx, f, T_READ_SPAN, 2000, B_OFFSET - 1000);
		submit_read(ctx, f, T_READ_EOF, 100, FILE_BYTES);
		f->pending = 5;
		return;
	case T_READ_A:
		io = completion(msg, io, ATOLL_IO_READ);
		check_read(io, 0, A_BYTES);
		break;
	case T_READ_B:
		io = completion(msg, io, ATOLL_IO_READ);
		check_read(io, B_OFFSET, B_BYTES);
		break;
	case T_READ_HOLE:
		io = completion(msg, io, ATOLL_IO_READ);
		check_read(io, A_BYTES, B_OFFSET - A_BYTES);
		break;
	case T_READ_SPAN:
		io = completion(msg, io, ATOLL_IO_READ);
		check_read(io, B_OFFSET - 1000, 2000);
		break;
	case T_READ_EOF:
		io = completion(msg, io, ATOLL_IO_READ);
		CHECK_EQ(io->res, 0);
		CHECK_EQ(io->msg.len, 0);
		break;
	case T_CLOSE:
		io = completion(msg, io, ATOLL_IO_CLOSE);
		record_result(f, T_CLOSE, io->res);
		atomic_store(&w->done, 1);
		return;
	default:
		check_failed(__FILE__, __LINE__, "unexpected completion type");
		return;
	}
	record_result(f, msg->type, io->res);
	if (--f->pending == 0)
		submit_close(ctx, f);
}

static const struct atoll_actor_type round_trip_type = {
	.name = "round_trip",
	.state_size = sizeof(struct filer),
	.init = filer_init,
	.receive = round_trip_receive,
	.stop = filer_stop,
};

/* Test scaffolding ------------------------------------------------------ */

static int fworld_setup(void **state)
{
	struct fworld *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return -1;
	reset_checks();
	snprintf(w->dir, sizeof(w->dir), "/tmp/atoll-io-XXXXXX");
	if (mkdtemp(w->dir) == NULL) {
		fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
		free(w);
		return -1;
	}
	snprintf(w->path, sizeof(w->path), "%s/data", w->dir);
	snprintf(w->missing, sizeof(w->missing), "%s/no-such-file", w->dir);
	w->dir_fd = -1;
	*state = w;
	return 0;
}

/* Removes every file the test made, then the directory. */
static int fworld_teardown(void **state)
{
	struct fworld *w = *state;
	DIR *d;
	struct dirent *e;

	if (w->rt != NULL)
		destroy_runtime(w->rt);
	if (w->dir_fd >= 0)
		close(w->dir_fd);
	d = opendir(w->dir);
	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			char p[PATH_MAX];

			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(p, sizeof(p), "%s/%s", w->dir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(w->dir);
	free(w);
	assert_no_check_failures();
	return 0;
}

/* Starts two reactors and the driving actor on reactor 1, and sends it go. */
static void run_driver(struct fworld *w, const struct atoll_actor_type *type)
{
	atoll_ref driver;

	w->rt = start_reactors(2);
	/* The runtime's own requests (e.g. each reactor's eventfd read). */
	w->idle_inflight = STATS_SUM(w->rt, io_inflight);
	driver = spawn_on(w->rt, type, w, 1);
	send_from_outside(w->rt, driver, MSG_GO, NULL, 0);
}

/*
 * Checks that none of the test's requests is left in flight (io_inflight is
 * back where it was before them), stops the runtime, checks that nothing at
 * all is in flight once every reactor has exited (before destroy), and
 * frees it.
 */
static void stop_and_check_no_io_left(struct fworld *w)
{
	assert_stat_eventually(w->rt, ALL_REACTORS, io_inflight, w->idle_inflight);
	atoll_runtime_stop(w->rt);
	assert_int_equal(wait_runtime(w->rt), 0);
	assert_int_equal(STATS_SUM(w->rt, io_inflight), 0);
	assert_int_equal(STATS_SUM(w->rt, actors_alive), 0);
	destroy_runtime(w->rt);
	w->rt = NULL;
	assert_no_check_failures();
}

static int64_t result_of(struct fworld *w, uint32_t type)
{
	return (int64_t)atomic_load(&w->results[type - T_OPEN]);
}

static void io_write_at_offsets_reads_back_bytes_holes_as_zeros_and_eof_as_zero(void **state)
{
	struct fworld *w = *state;
	unsigned char *file;
	size_t len;

	run_driver(w, &round_trip_type);
	assert_wait_u64(&w->done, 1, IO_LIMIT_NS);
	assert_no_check_failures();
	assert_true(result_of(w, T_OPEN) >= 0);
	assert_int_equal(result_of(w, T_WRITE_A), A_BYTES);
	assert_int_equal(result_of(w, T_WRITE_B), B_BYTES);
	assert_int_equal(result_of(w, T_READ_EOF), 0);
	assert_int_equal(result_of(w, T_CLOSE), 0);
	/* open, 2 writes, 5 reads, close. */
	assert_int_equal(atomic_load(&w->completions), 9);
	stop_and_check_no_io_left(w);

	/* What the kernel wrote, seen without the library. */
	file = (unsigned char *)slurp(w->path, &len);
	assert_int_equal(len, FILE_BYTES);
	for (size_t i = 0; i < len; i++)
		if (file[i] != file_byte(i))
			fail_msg("byte %zu of the file is %u, expected %u", i, file[i],
				 file_byte(i));
	free(file);
}

/* fsync and fdatasync ---------------------------------------------------- */

#define SYNCED_BYTES 100u

static void sync_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct filer *f = state;
	struct atoll_io *io, *next;

	if (msg->type != MSG_GO && atoll_io_of(msg) == NULL) {
		check_failed(__FILE__, __LINE__, "a completion without ATOLL_MSGF_IO");
		return;
	}
	if (msg->type == MSG_GO) {
		submit_open(ctx, f, T_OPEN, f->w->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC);
		return;
	}
	CHECK(msg->type >= T_OPEN && msg->type <= T_CLOSE);
	if (msg->type < T_OPEN || msg->type > T_CLOSE)
		return;
	io = *slot_of(f, msg->type);
	switch (msg->type) {
	case T_OPEN:
		io = completion(msg, io, ATOLL_IO_OPEN);
		record_result(f, T_OPEN, io->res);
		if (io->res < 0) {
			atomic_store(&f->w->done, 1);
			return;
		}
		f->fd = io->res;
		submit_write(ctx, f, T_WRITE, 3, SYNCED_BYTES, ATOLL_IO_CURRENT);
		break;
	case T_WRITE:
		io = completion(msg, io, ATOLL_IO_WRITE);
		record_result(f, T_WRITE, io->res);
		if (f->next++ == 0) {
			/* The second lands after the first: the position moved. */
			submit_write(ctx, f, T_WRITE, 4, SYNCED_BYTES, ATOLL_IO_CURRENT);
			break;
		}
		next = atoll_io_new(T_FSYNC, 0);
		*slot_of(f, T_FSYNC) = next;
		CHECK_EQ(atoll_io_fsync(ctx, f->fd, next, false), 0);
		break;
	case T_FSYNC:
		io = completion(msg, io, ATOLL_IO_FSYNC);
		record_result(f, T_FSYNC, io->res);
		next = atoll_io_new(T_FDATASYNC, 0);
		*slot_of(f, T_FDATASYNC) = next;
		CHECK_EQ(atoll_io_fsync(ctx, f->fd, next, true), 0);
		break;
	case T_FDATASYNC:
		io = completion(msg, io, ATOLL_IO_FSYNC);
		record_result(f, T_FDATASYNC, io->res);
		submit_close(ctx, f);
		break;
	case T_CLOSE:
		io = completion(msg, io, ATOLL_IO_CLOSE);
		record_result(f, T_CLOSE, io->res);
		atomic_store(&f->w->done, 1);
		break;
	default:
		check_failed(__FILE__, __LINE__, "unexpected completion type");
		break;
	}
}

static const struct atoll_actor_type sync_type = {
	.name = "sync",
	.state_size = sizeof(struct filer),
	.init = filer_init,
	.receive = sync_receive,
	.stop = filer_stop,
};

static void io_writes_at_current_position_follow_each_other_and_fsyncs_give_zero(void **state)
{
	struct fworld *w = *state;
	char *file;
	size_t len;

	run_driver(w, &sync_type);
	assert_wait_u64(&w->done, 1, IO_LIMIT_NS);
	assert_no_check_failures();
	assert_true(result_of(w, T_OPEN) >= 0);
	assert_int_equal(result_of(w, T_WRITE), SYNCED_BYTES);
	assert_int_equal(result_of(w, T_FSYNC), 0);
	assert_int_equal(result_of(w, T_FDATASYNC), 0);
	assert_int_equal(result_of(w, T_CLOSE), 0);
	stop_and_check_no_io_left(w);

	/* Two writes at the current position, one after the other. */
	file = slurp(w->path, &len);
	assert_int_equal(len, 2 * SYNCED_BYTES);
	for (size_t i = 0; i < SYNCED_BYTES; i++) {
		assert_int_equal((unsigned char)file[i], pattern_byte(3, i));
		assert_int_equal((unsigned char)file[SYNCED_BYTES + i], pattern_byte(4, i));
	}
	free(file);
}

/* Rename ------------------------------------------------------------------ */

enum {
	T_RENAME = ATOLL_MSG_USER + 100, /* path -> path.new */
	T_RENAME_MISSING,                /* missing -> path.other */
};

struct renamer {
	struct fworld *w;
	_Atomic int64_t res[2];
	_Atomic int64_t bad; /* atoll_io_rename of a buffer without two paths */
	_Atomic uint64_t done;
};

static struct renamer the_renamer;

static int submit_rename(atoll_ctx *ctx, uint32_t type, const char *from, const char *to)
{
	size_t a = strlen(from) + 1, b = strlen(to) + 1;
	struct atoll_io *io = atoll_io_new(type, a + b);

	if (io == NULL)
		return -ENOMEM;
	memcpy(io->msg.data, from, a);
	memcpy((char *)io->msg.data + a, to, b);
	io->msg.len = (uint32_t)(a + b);
	return atoll_io_rename(ctx, io);
}

static void rename_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct renamer *r = &the_renamer;
	struct atoll_io *io = atoll_io_of(msg);
	char to[PATH_MAX + 8];

	(void)state;
	if (msg->type == MSG_GO) {
		struct atoll_io *bad = atoll_io_new(T_RENAME, 8);

		memcpy(bad->msg.data, "only-one", 8); /* no NUL at all */
		bad->msg.len = 8;
		atomic_store(&r->bad, atoll_io_rename(ctx, bad));
		snprintf(to, sizeof(to), "%s.new", r->w->path);
		CHECK_EQ(submit_rename(ctx, T_RENAME, r->w->path, to), 0);
		snprintf(to, sizeof(to), "%s.other", r->w->path);
		CHECK_EQ(submit_rename(ctx, T_RENAME_MISSING, r->w->missing, to), 0);
		return;
	}
	CHECK(io != NULL && io->op == ATOLL_IO_RENAME);
	if (io == NULL || (msg->type != T_RENAME && msg->type != T_RENAME_MISSING))
		return;
	atomic_store(&r->res[msg->type - T_RENAME], io->res);
	atomic_fetch_add(&r->done, 1);
}

static const struct atoll_actor_type rename_type = {
	.name = "renamer",
	.receive = rename_receive,
};

static void io_rename_replaces_the_target_and_reports_errors(void **state)
{
	struct fworld *w = *state;
	char to[PATH_MAX + 8];
	struct stat st;
	int fd = open(w->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "abc", 3), 3);
	close(fd);
	snprintf(to, sizeof(to), "%s.new", w->path);
	fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644); /* replaced */
	assert_true(fd >= 0);
	close(fd);
	memset(&the_renamer, 0, sizeof(the_renamer));
	the_renamer.w = w;
	run_driver(w, &rename_type);
	assert_wait_u64(&the_renamer.done, 2, IO_LIMIT_NS);
	assert_no_check_failures();
	assert_int_equal(atomic_load(&the_renamer.bad), -EINVAL);
	assert_int_equal(atomic_load(&the_renamer.res[0]), 0);
	assert_int_equal(atomic_load(&the_renamer.res[1]), -ENOENT);
	stop_and_check_no_io_left(w);
	assert_int_equal(stat(w->path, &st), -1);
	assert_int_equal(stat(to, &st), 0);
	assert_int_equal(st.st_size, 3);
	unlink(to);
}

/* Errors ---------------------------------------------------------------- */

static void errors_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct filer *f = state;
	struct fworld *w = f->w;
	struct atoll_io *io;

	if (msg->type != MSG_GO && atoll_io_of(msg) == NULL) {
		check_failed(__FILE__, __LINE__, "a completion without ATOLL_MSGF_IO");
		return;
	}
	if (msg->type == MSG_GO) {
		/* All three in flight at once. */
		submit_open(ctx, f, T_OPEN_MISSING, w->missing, O_RDONLY | O_CLOEXEC);
		submit_open(ctx, f, T_OPEN_EXISTING, w->path,
			    O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC);
		io = atoll_io_new(T_READ_DIR, 64);
		*slot_of(f, T_READ_DIR) = io;
		CHECK_EQ(atoll_io_read(ctx, w->dir_fd, io, 0), 0);
		f->pending = 3;
		return;
	}
	CHECK(msg->type == T_OPEN_MISSING || msg->type == T_OPEN_EXISTING ||
	      msg->type == T_READ_DIR);
	if (msg->type != T_OPEN_MISSING && msg->type != T_OPEN_EXISTING && msg->type != T_READ_DIR)
		return;
	io = completion(msg, *slot_of(f, msg->type),
			msg->type == T_READ_DIR ? ATOLL_IO_READ : ATOLL_IO_OPEN);
	record_result(f, msg->type, io->res);
	if (msg->type == T_READ_DIR)
		CHECK_EQ(io->fd, w->dir_fd);
	if (--f->pending == 0)
		atomic_store(&w->done, 1);
}

static const struct atoll_actor_type errors_type = {
	.name = "errors",
	.state_size = sizeof(struct filer),
	.init = filer_init,
	.receive = errors_receive,
	.stop = filer_stop,
};

static void io_errors_come_back_as_negative_errno_missing_file_gives_enoent(void **state)
{
	struct fworld *w = *state;
	int fd = open(w->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	close(fd);
	w->dir_fd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(w->dir_fd >= 0);
	run_driver(w, &errors_type);
	assert_wait_u64(&w->done, 1, IO_LIMIT_NS);
	assert_no_check_failures();
	assert_int_equal(result_of(w, T_OPEN_MISSING), -ENOENT);
	assert_int_equal(result_of(w, T_OPEN_EXISTING), -EEXIST);
	assert_int_equal(result_of(w, T_READ_DIR), -EISDIR);
	stop_and_check_no_io_left(w);
	/* A failed open creates nothing. */
	assert_int_equal(access(w->missing, F_OK), -1);
}

/* Appends, one at a time ------------------------------------------------- */

/*
 * Opens with O_APPEND, then writes record after record at ATOLL_IO_CURRENT,
 * each only once the previous one completed, reusing the one message: its
 * completion is the submitted message, ready to be filled again.
 */
static void append_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct filer *f = state;
	struct fworld *w = f->w;
	struct atoll_io *io;

	if (msg->type != MSG_GO && atoll_io_of(msg) == NULL) {
		check_failed(__FILE__, __LINE__, "a completion without ATOLL_MSGF_IO");
		return;
	}
	switch (msg->type) {
	case MSG_GO:
		submit_open(ctx, f, T_OPEN, w->path,
			    O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC);
		return;
	case T_OPEN:
		io = completion(msg, *slot_of(f, T_OPEN), ATOLL_IO_OPEN);
		record_result(f, T_OPEN, io->res);
		if (io->res < 0) {
			atomic_store(&w->done, 1);
			return;
		}
		f->fd = io->res;
		io = atoll_io_new(T_APPEND, RECORD_MAX);
		CHECK(io != NULL);
		if (io == NULL)
			return;
		io->msg.len = (uint32_t)make_record(f->next++, io->msg.data);
		*slot_of(f, T_APPEND) = io;
		CHECK_EQ(atoll_io_write(ctx, f->fd, io, ATOLL_IO_CURRENT), 0);
		return;
	case T_APPEND:
		io = completion(msg, *slot_of(f, T_APPEND), ATOLL_IO_WRITE);
		CHECK_EQ(io->res, io->msg.len);
		atomic_fetch_add(&w->writes, 1);
		if (io->res < 0)
			atomic_store(&w->results[T_APPEND - T_OPEN], (uint64_t)(int64_t)io->res);
		if (f->next < RECORDS) {
			io->msg.len = (uint32_t)make_record(f->next++, io->msg.data);
			CHECK_EQ(atoll_io_write(ctx, f->fd, io, ATOLL_IO_CURRENT), 0);
			return;
		}
		*slot_of(f, T_APPEND) = NULL;
		submit_close(ctx, f);
		return; /* the runtime frees the last one */
	case T_CLOSE:
		io = completion(msg, *slot_of(f, T_CLOSE), ATOLL_IO_CLOSE);
		record_result(f, T_CLOSE, io->res);
		atomic_store(&w->done, 1);
		return;
	default:
		check_failed(__FILE__, __LINE__, "unexpected completion type");
		return;
	}
}

static const struct atoll_actor_type append_type = {
	.name = "append",
	.state_size = sizeof(struct filer),
	.init = filer_init,
	.receive = append_receive,
	.stop = filer_stop,
};

/* Fails unless the file at path holds exactly the first n records. */
static void assert_file_holds_records(const char *path, unsigned n)
{
	size_t want_len, got_len;
	char *want = expected_records(n, &want_len);
	char *got = slurp(path, &got_len);
	size_t i = 0;

	while (i < want_len && i < got_len && want[i] == got[i])
		i++;
	if (i != want_len || got_len != want_len) {
		size_t line = i;

		while (line > 0 && got[line - 1] != '\n')
			line--;
		fail_msg("file differs at byte %zu (file %zu bytes, expected %zu); there: "
			 "\"%.30s\", expected \"%.30s\"",
			 i, got_len, want_len, line < got_len ? got + line : "",
			 line < want_len ? want + line : "");
	}
	free(want);
	free(got);
}

static void io_appends_on_o_append_fd_one_after_another_land_in_order(void **state)
{
	struct fworld *w = *state;

	run_driver(w, &append_type);
	assert_wait_u64(&w->done, 1, IO_LIMIT_NS);
	assert_no_check_failures();
	assert_int_equal(atomic_load(&w->writes), RECORDS);
	assert_int_equal(result_of(w, T_APPEND), 0);
	assert_int_equal(result_of(w, T_CLOSE), 0);
	stop_and_check_no_io_left(w);
	assert_file_holds_records(w->path, RECORDS);
}

/* Writes at explicit offsets, many in flight ---------------------------- */

static void submit_record_at_offset(atoll_ctx *ctx, struct filer *f, unsigned slot)
{
	unsigned i = f->next++;
	struct atoll_io *io = atoll_io_new(T_WRITE, RECORD_MAX);

	CHECK(io != NULL);
	if (io == NULL)
		return;
	io->msg.len = (uint32_t)make_record(i, io->msg.data);
	f->window[slot] = io;
	f->slot_record[slot] = i;
	f->pending++;
	CHECK_EQ(atoll_io_write(ctx, f->fd, io, f->offsets[i]), 0);
}

static void offsets_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct filer *f = state;
	struct fworld *w = f->w;
	struct atoll_io *io;
	char scratch[RECORD_MAX];
	unsigned slot;

	if (msg->type != MSG_GO && atoll_io_of(msg) == NULL) {
		check_failed(__FILE__, __LINE__, "a completion without ATOLL_MSGF_IO");
		return;
	}
	switch (msg->type) {
	case MSG_GO:
		/* Where each record goes: right after the one before. */
		for (unsigned i = 0; i < RECORDS; i++)
			f->offsets[i + 1] = f->offsets[i] + make_record(i, scratch);
		f->seen = calloc(RECORDS, 1);
		CHECK(f->seen != NULL);
		submit_open(ctx, f, T_OPEN, w->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC);
		return;
	case T_OPEN:
		io = completion(msg, *slot_of(f, T_OPEN), ATOLL_IO_OPEN);
		record_result(f, T_OPEN, io->res);
		if (io->res < 0 || f->seen == NULL) {
			atomic_store(&w->done, 1);
			return;
		}
		f->fd = io->res;
		for (slot = 0; slot < WINDOW; slot++)
			submit_record_at_offset(ctx, f, slot);
		return;
	case T_WRITE:
		io = completion(msg, NULL, ATOLL_IO_WRITE);
		for (slot = 0; slot < WINDOW && f->window[slot] != io; slot++)
			;
		CHECK(slot < WINDOW); /* one of those in flight */
		if (slot == WINDOW)
			return;
		f->window[slot] = NULL;
		f->pending--;
		CHECK_EQ(io->res, io->msg.len);
		CHECK_EQ(io->fd, f->fd);
		CHECK_EQ(f->seen[f->slot_record[slot]], 0);
		f->seen[f->slot_record[slot]] = 1;
		atomic_fetch_add(&w->writes, 1);
		if (f->next < RECORDS)
			submit_record_at_offset(ctx, f, slot);
		else if (f->pending == 0)
			submit_close(ctx, f);
		return;
	case T_CLOSE:
		io = completion(msg, *slot_of(f, T_CLOSE), ATOLL_IO_CLOSE);
		record_result(f, T_CLOSE, io->res);
		atomic_store(&w->done, 1);
		return;
	default:
		check_failed(__FILE__, __LINE__, "unexpected completion type");
		return;
	}
}

static const struct atoll_actor_type offsets_type = {
	.name = "offsets",
	.state_size = sizeof(struct filer),
	.init = filer_init,
	.receive = offsets_receive,
	.stop = filer_stop,
};

static void io_writes_in_flight_together_at_increasing_offsets_land_in_order(void **state)
{
	struct fworld *w = *state;

	run_driver(w, &offsets_type);
	assert_wait_u64(&w->done, 1, IO_LIMIT_NS);
	assert_no_check_failures();
	assert_int_equal(atomic_load(&w->writes), RECORDS);
	assert_int_equal(result_of(w, T_CLOSE), 0);
	stop_and_check_no_io_left(w);
	assert_file_holds_records(w->path, RECORDS);
}

/* Kernel features --------------------------------------------------------- */

/* Exits with 77 unless the kernel has every io_uring opcode used here. */
static void require_file_ops_or_skip(void)
{
	static const struct {
		int op;
		const char *name;
	} ops[] = {
		{ IORING_OP_OPENAT, "openat" }, { IORING_OP_READ, "read" },
		{ IORING_OP_WRITE, "write" },   { IORING_OP_FSYNC, "fsync" },
		{ IORING_OP_CLOSE, "close" },
	};
	struct io_uring ring;
	struct io_uring_probe *probe;

	require_io_uring_or_skip();
	if (io_uring_queue_init(4, &ring, 0) != 0)
		return;
	probe = io_uring_get_probe_ring(&ring);
	if (probe == NULL) {
		printf("SKIP: the kernel cannot list its io_uring opcodes (no probe)\n");
		io_uring_queue_exit(&ring);
		exit(77);
	}
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (!io_uring_opcode_supported(probe, ops[i].op)) {
			printf("SKIP: the kernel's io_uring has no %s\n", ops[i].name);
			exit(77);
		}
	}
	io_uring_free_probe(probe);
	io_uring_queue_exit(&ring);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, fworld_setup, fworld_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(io_write_at_offsets_reads_back_bytes_holes_as_zeros_and_eof_as_zero),
		TEST(io_writes_at_current_position_follow_each_other_and_fsyncs_give_zero),
		TEST(io_rename_replaces_the_target_and_reports_errors),
		TEST(io_errors_come_back_as_negative_errno_missing_file_gives_enoent),
		TEST(io_appends_on_o_append_fd_one_after_another_land_in_order),
		TEST(io_writes_in_flight_together_at_increasing_offsets_land_in_order),
	};

	require_file_ops_or_skip();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
