/*
 * filecopy.c - copies a file through io_uring with message-owned buffers.
 *
 * One actor keeps up to --depth reads in flight at increasing offsets. Each
 * read comes back as the message that carries its buffer; the actor turns
 * that very message around as a write of the same bytes at the same offset
 * (no copy), and once the write is back, reuses it for the next read. At the
 * end it syncs the copy to disk and closes both files through io_uring too.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atoll.h>

#define DEFAULT_CHUNK (256u * 1024)
#define MAX_CHUNK (64u * 1024 * 1024)
#define DEFAULT_DEPTH 4u
#define MAX_DEPTH 256u
/* Buffers in flight at most: chunk times depth. */
#define MAX_IN_FLIGHT (1ull << 30)

/* Message types: a completion comes back with the type it was sent with. */
enum filecopy_msg {
	MSG_OPEN_SRC = ATOLL_MSG_USER,
	MSG_OPEN_DST,
	MSG_READ,  /* a slot's buffer, filled from SRC */
	MSG_WRITE, /* the same buffer, written to DST */
	MSG_FSYNC,
	MSG_CLOSE_SRC,
	MSG_CLOSE_DST,
};

/* The copy's settings; lives in main until the runtime has stopped. */
struct copy_args {
	const char *src;
	const char *dst;
	uint32_t chunk;
	unsigned depth;
};

/* What main learns once the runtime has stopped. */
struct copy_result {
	bool done;        /* copied, synced and closed */
	int err;          /* the first failure: -errno, or 0 with `what` alone */
	const char *what; /* e.g. "cannot open", NULL when nothing failed */
	const char *path; /* the file `what` is about */
	const char *tail; /* words after the path, e.g. " for writing", or "" */
	uint64_t size;    /* SRC's size when it was opened */
	uint64_t copied;  /* bytes written to DST */
	uint64_t elapsed_ns;
};

struct copier_init {
	const struct copy_args *args;
	struct copy_result *result;
};

/*
 * One buffer's share of the work: it copies [offset, end), one read and one
 * write at a time, then takes the next unclaimed range of the file.
 */
struct slot {
	struct atoll_io *io; /* the message in flight for this slot; NULL: idle */
	uint64_t offset;     /* where its current read or write starts */
	uint64_t end;
};

struct copier {
	const struct copy_args *args;
	struct copy_result *result;
	int src_fd; /* -1 when not open, or once its close is submitted */
	int dst_fd;
	uint64_t next_offset; /* start of the first range no slot has claimed */
	struct slot *slots;
	unsigned nslots;
	unsigned busy;   /* slots with a message in flight */
	unsigned closes; /* close completions still to come */
	uint64_t start_ns;
	bool failed;
};

/* Records the first failure and stops the runtime; later ones are dropped. */
static void copier_fail_tail(atoll_ctx *ctx, struct copier *self, const char *what,
			     const char *path, const char *tail, int err)
{
	if (self->failed)
		return;
	self->failed = true;
	self->result->what = what;
	self->result->path = path;
	self->result->tail = tail;
	self->result->err = err;
	atoll_stop_runtime(ctx);
}

static void copier_fail(atoll_ctx *ctx, struct copier *self, const char *what, const char *path,
			int err)
{
	copier_fail_tail(ctx, self, what, path, "", err);
}

/* Submits an open of path; the completion comes back with the given type. */
static int submit_open(atoll_ctx *ctx, uint32_t type, const char *path, int flags, mode_t mode)
{
	size_t size = strlen(path) + 1;
	struct atoll_io *io = atoll_io_new(type, size);

	if (io == NULL)
		return -ENOMEM;
	memcpy(io->msg.data, path, size);
	io->msg.len = (uint32_t)size;
	return atoll_io_open(ctx, io, flags, mode);
}

static int copier_init(atoll_ctx *ctx, void *state, const void *arg)
{
	const struct copier_init *init = arg;
	struct copier *self = state;
	int err;

	self->args = init->args;
	self->result = init->result;
	self->src_fd = -1;
	self->dst_fd = -1;
	self->start_ns = atoll_now_ns();
	/* DST is opened once SRC is: a missing source creates no file. */
	err = submit_open(ctx, MSG_OPEN_SRC, self->args->src, O_RDONLY, 0);
	if (err < 0)
		copier_fail(ctx, self, "cannot open", self->args->src, err);
	return 0;
}

/*
 * Gives a slot the next range of the file and reads its first bytes into
 * io. Returns false, with io freed, when the whole file is claimed.
 */
static bool claim_range(atoll_ctx *ctx, struct copier *self, struct slot *slot, struct atoll_io *io)
{
	uint64_t size = self->result->size;
	int err;

	if (self->next_offset >= size) {
		atoll_msg_free(&io->msg);
		slot->io = NULL;
		self->busy--;
		return false;
	}
	slot->io = io;
	slot->offset = self->next_offset;
	slot->end =
		size - slot->offset > self->args->chunk ? slot->offset + self->args->chunk : size;
	self->next_offset = slot->end;
	io->msg.type = MSG_READ;
	err = atoll_io_read(ctx, self->src_fd, io, slot->offset);
	if (err < 0) {
		slot->io = NULL; /* Freed by atoll_io_read. */
		self->busy--;
		copier_fail(ctx, self, "cannot read", self->args->src, err);
	}
	return true;
}

static void submit_fsync(atoll_ctx *ctx, struct copier *self)
{
	struct atoll_io *io = atoll_io_new(MSG_FSYNC, 0);
	int err = io != NULL ? atoll_io_fsync(ctx, self->dst_fd, io, false) : -ENOMEM;

	if (err < 0)
		copier_fail(ctx, self, "cannot sync", self->args->dst, err);
}

/* Both files are open: sets the slots going, or syncs an empty copy. */
static void start_copy(atoll_ctx *ctx, struct copier *self)
{
	uint64_t size = self->result->size;
	uint64_t chunks = (size + self->args->chunk - 1) / self->args->chunk;
	/* No buffer needs to be bigger than the file. */
	uint32_t cap = size < self->args->chunk ? (uint32_t)size : self->args->chunk;

	self->nslots = chunks < self->args->depth ? (unsigned)chunks : self->args->depth;
	if (self->nslots == 0) {
		submit_fsync(ctx, self);
		return;
	}
	self->slots = calloc(self->nslots, sizeof(*self->slots));
	if (self->slots == NULL) {
		copier_fail(ctx, self, "cannot allocate buffers for", self->args->src, -ENOMEM);
		return;
	}
	for (unsigned i = 0; i < self->nslots && !self->failed; i++) {
		struct atoll_io *io = atoll_io_new(MSG_READ, cap);

		if (io == NULL) {
			copier_fail(ctx, self, "cannot allocate buffers for", self->args->src,
				    -ENOMEM);
			return;
		}
		self->busy++;
		claim_range(ctx, self, &self->slots[i], io);
	}
}

static void opened_src(atoll_ctx *ctx, struct copier *self, int res)
{
	struct stat st;
	mode_t mode;
	int err;

	if (res < 0) {
		copier_fail(ctx, self, "cannot open", self->args->src, res);
		return;
	}
	self->src_fd = res;
	/* fstat of an open file reads the inode in memory: it does not block. */
	if (fstat(self->src_fd, &st) < 0) {
		copier_fail(ctx, self, "cannot stat", self->args->src, -errno);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		copier_fail_tail(ctx, self, "cannot copy", self->args->src, ": not a regular file",
				 0);
		return;
	}
	self->result->size = (uint64_t)st.st_size;
	/* A new DST gets SRC's permissions, less the umask, as with cp. */
	mode = st.st_mode & 0777;
	err = submit_open(ctx, MSG_OPEN_DST, self->args->dst, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (err < 0)
		copier_fail_tail(ctx, self, "cannot open", self->args->dst, " for writing", err);
}

static struct slot *slot_of(struct copier *self, const struct atoll_io *io)
{
	for (unsigned i = 0; i < self->nslots; i++)
		if (self->slots[i].io == io)
			return &self->slots[i];
	return NULL;
}

/* A read is back: write the same buffer, unchanged, at the same offset. */
static void read_done(atoll_ctx *ctx, struct copier *self, struct slot *slot, struct atoll_io *io)
{
	uint64_t want = slot->end - slot->offset;
	int err;

	if (io->res < 0) {
		copier_fail(ctx, self, "cannot read", self->args->src, io->res);
		return;
	}
	if (io->res == 0) {
		copier_fail_tail(ctx, self, "cannot copy", self->args->src,
				 ": it shrank during the copy", 0);
		return;
	}
	/* A read near the end may return bytes past this slot's range (a
	 * short read made it start late, or the file grew): they are not
	 * ours to write. */
	if (io->msg.len > want)
		io->msg.len = (uint32_t)want;
	io->msg.type = MSG_WRITE;
	err = atoll_io_write(ctx, self->dst_fd, io, slot->offset);
	if (err < 0) {
		slot->io = NULL;
		self->busy--;
		copier_fail(ctx, self, "cannot write", self->args->dst, err);
	}
}

/* A write is back: read the rest of the range, or the next range. */
static void write_done(atoll_ctx *ctx, struct copier *self, struct slot *slot, struct atoll_io *io)
{
	int err;

	if (io->res < 0) {
		copier_fail(ctx, self, "cannot write", self->args->dst, io->res);
		return;
	}
	self->result->copied += io->msg.len;
	slot->offset += io->msg.len;
	if (slot->offset < slot->end) {
		/* The read was short: fetch the rest of the range. */
		io->msg.type = MSG_READ;
		err = atoll_io_read(ctx, self->src_fd, io, slot->offset);
		if (err < 0) {
			slot->io = NULL;
			self->busy--;
			copier_fail(ctx, self, "cannot read", self->args->src, err);
		}
		return;
	}
	if (!claim_range(ctx, self, slot, io) && self->busy == 0)
		submit_fsync(ctx, self);
}

/* Everything is copied, synced and closed: report and stop. */
static void copier_finish(atoll_ctx *ctx, struct copier *self)
{
	self->result->elapsed_ns = atoll_now_ns() - self->start_ns;
	self->result->done = true;
	atoll_stop_runtime(ctx);
}

/*
 * Submits the close of *fd, whose completion comes back with the given type,
 * and forgets the descriptor: from here on the close owns it.
 */
static void submit_close(atoll_ctx *ctx, struct copier *self, uint32_t type, int *fd)
{
	struct atoll_io *io = atoll_io_new(type, 0);

	if (io != NULL && atoll_io_close(ctx, *fd, io) == 0)
		self->closes++;
	else
		close(*fd); /* Could not submit: close it here, it does not block. */
	*fd = -1;
}

static void closed(atoll_ctx *ctx, struct copier *self, const struct atoll_io *io, const char *path)
{
	/* A failed close can mean lost data (on NFS, say): it is an error. */
	if (io->res < 0) {
		copier_fail(ctx, self, "cannot close", path, io->res);
		return;
	}
	if (--self->closes == 0)
		copier_finish(ctx, self);
}

static void copier_receive(atoll_ctx *ctx, void *state, atoll_msg *msg)
{
	struct copier *self = state;
	struct atoll_io *io = atoll_io_of(msg);
	struct slot *slot;

	if (io == NULL)
		return;
	if (self->failed) {
		/* Completions after a failure are dropped (the runtime frees
		 * them), but a descriptor that arrives late must be closed. */
		if ((msg->type == MSG_OPEN_SRC || msg->type == MSG_OPEN_DST) && io->res >= 0)
			close(io->res);
		return;
	}
	switch (msg->type) {
	case MSG_OPEN_SRC:
		opened_src(ctx, self, io->res);
		break;
	case MSG_OPEN_DST:
		if (io->res < 0) {
			copier_fail_tail(ctx, self, "cannot open", self->args->dst, " for writing",
					 io->res);
			break;
		}
		self->dst_fd = io->res;
		start_copy(ctx, self);
		break;
	case MSG_READ:
	case MSG_WRITE:
		slot = slot_of(self, io);
		if (slot == NULL)
			break;
		if (msg->type == MSG_READ)
			read_done(ctx, self, slot, io);
		else
			write_done(ctx, self, slot, io);
		break;
	case MSG_FSYNC:
		if (io->res < 0) {
			copier_fail(ctx, self, "cannot sync", self->args->dst, io->res);
			break;
		}
		submit_close(ctx, self, MSG_CLOSE_SRC, &self->src_fd);
		submit_close(ctx, self, MSG_CLOSE_DST, &self->dst_fd);
		if (self->closes == 0)
			copier_finish(ctx, self);
		break;
	case MSG_CLOSE_SRC:
		closed(ctx, self, io, self->args->src);
		break;
	case MSG_CLOSE_DST:
		closed(ctx, self, io, self->args->dst);
		break;
	default:
		break;
	}
}

static void copier_stop(atoll_ctx *ctx, void *state)
{
	struct copier *self = state;

	(void)ctx;
	/* After a failure or Ctrl-C: requests still in flight are cancelled
	 * by the runtime, which frees their messages. */
	if (self->src_fd >= 0)
		close(self->src_fd);
	if (self->dst_fd >= 0)
		close(self->dst_fd);
	free(self->slots);
}

static const struct atoll_actor_type copier_type = {
	.name = "filecopy",
	.state_size = sizeof(struct copier),
	.init = copier_init,
	.receive = copier_receive,
	.stop = copier_stop,
};

struct options {
	const char *src;
	const char *dst;
	uint32_t chunk;
	unsigned depth;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: filecopy SRC DST [--chunk BYTES] [--depth N]\n"
		"\n"
		"Copies the regular file SRC to DST through io_uring, with up to N reads\n"
		"in flight; each read's buffer is written out as it is, then reused. DST\n"
		"is created or truncated, and synced to disk at the end.\n"
		"\n"
		"  -c, --chunk BYTES   bytes per read and write, with an optional K or M\n"
		"                      suffix (default %uK, at most %uM)\n"
		"  -d, --depth N       reads and writes in flight (default %u, at most %u)\n"
		"  -h, --help          show this help\n",
		DEFAULT_CHUNK / 1024, MAX_CHUNK / (1024 * 1024), DEFAULT_DEPTH, MAX_DEPTH);
}

/*
 * Parses a decimal number in [min, max], with an optional K or M suffix
 * (binary multiples) when `suffixes` is true. Returns 0 or -EINVAL.
 */
static int parse_u64(const char *text, bool suffixes, uint64_t min, uint64_t max, uint64_t *value)
{
	uint64_t scale = 1;
	char *end;

	if (text[0] < '0' || text[0] > '9')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno != 0)
		return -EINVAL;
	if (suffixes && (*end == 'K' || *end == 'k')) {
		scale = 1024;
		end++;
	} else if (suffixes && (*end == 'M' || *end == 'm')) {
		scale = 1024 * 1024;
		end++;
	}
	if (*end != '\0' || v > max / scale || v * scale < min)
		return -EINVAL;
	*value = v * scale;
	return 0;
}

/* Returns -1 to go on, or the exit code main should return now. */
static int parse_options(int argc, char **argv, struct options *opt)
{
	static const struct option longopts[] = {
		{ "chunk", required_argument, NULL, 'c' },
		{ "depth", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t value;
	int c;

	*opt = (struct options){ .chunk = DEFAULT_CHUNK, .depth = DEFAULT_DEPTH };
	while ((c = getopt_long(argc, argv, "c:d:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (parse_u64(optarg, true, 1, MAX_CHUNK, &value) < 0) {
				fprintf(stderr, "filecopy: bad --chunk '%s' (1 to %uM)\n", optarg,
					MAX_CHUNK / (1024 * 1024));
				return 2;
			}
			opt->chunk = (uint32_t)value;
			break;
		case 'd':
			if (parse_u64(optarg, false, 1, MAX_DEPTH, &value) < 0) {
				fprintf(stderr, "filecopy: bad --depth '%s' (1 to %u)\n", optarg,
					MAX_DEPTH);
				return 2;
			}
			opt->depth = (unsigned)value;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			/* getopt_long has already named the bad option. */
			fprintf(stderr, "Try 'filecopy --help'.\n");
			return 2;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "filecopy: %s\nTry 'filecopy --help'.\n",
			argc - optind < 2 ? "want a source and a destination"
					  : "too many arguments");
		return 2;
	}
	if ((uint64_t)opt->chunk * opt->depth > MAX_IN_FLIGHT) {
		fprintf(stderr, "filecopy: --chunk times --depth is over %llu MiB\n",
			MAX_IN_FLIGHT / (1024 * 1024));
		return 2;
	}
	opt->src = argv[optind];
	opt->dst = argv[optind + 1];
	return -1;
}

/* True when both paths exist and name the same file. */
static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* Prints why the copy did not finish. */
static void report_failure(const struct copy_result *result)
{
	if (result->what == NULL)
		fprintf(stderr, "filecopy: interrupted\n");
	else if (result->err != 0)
		fprintf(stderr, "filecopy: %s '%s'%s: %s\n", result->what, result->path,
			result->tail, atoll_strerror(result->err));
	else
		fprintf(stderr, "filecopy: %s '%s'%s\n", result->what, result->path, result->tail);
}

int main(int argc, char **argv)
{
	struct options opt;
	int code = parse_options(argc, argv, &opt);

	if (code >= 0)
		return code;
	/* Opening DST would truncate SRC before the first read. */
	if (same_file(opt.src, opt.dst)) {
		fprintf(stderr, "filecopy: '%s' and '%s' are the same file\n", opt.src, opt.dst);
		return 1;
	}

	/* One reactor is plenty: the actor only waits for the kernel. Signals
	 * stay on, so Ctrl-C stops the copy cleanly. */
	struct atoll_config config = { .reactors = 1 };
	atoll_runtime *rt;
	int err = atoll_runtime_start(&config, &rt);
	if (err < 0) {
		fprintf(stderr, "filecopy: cannot start the runtime: %s\n", atoll_strerror(err));
		return 1;
	}

	const struct copy_args args = {
		.src = opt.src,
		.dst = opt.dst,
		.chunk = opt.chunk,
		.depth = opt.depth,
	};
	struct copy_result result = { 0 };
	const struct copier_init init = { .args = &args, .result = &result };
	atoll_ref copier;
	err = atoll_runtime_spawn(rt, &copier_type, &init, 0, &copier);
	if (err < 0) {
		fprintf(stderr, "filecopy: cannot start the copy: %s\n", atoll_strerror(err));
		atoll_runtime_destroy(rt);
		return 1;
	}
	/* The copier stops the runtime when it is done or has failed. */
	atoll_runtime_wait(rt);
	atoll_runtime_destroy(rt);

	if (!result.done) {
		report_failure(&result);
		return 1;
	}
	struct stat st;
	if (stat(opt.dst, &st) < 0) {
		fprintf(stderr, "filecopy: cannot check '%s': %s\n", opt.dst, strerror(errno));
		return 1;
	}
	if (result.copied != result.size || (uint64_t)st.st_size != result.size) {
		fprintf(stderr,
			"filecopy: size mismatch: '%s' had %" PRIu64 " bytes, %" PRIu64
			" were written, '%s' has %" PRIu64 "\n",
			opt.src, result.size, result.copied, opt.dst, (uint64_t)st.st_size);
		return 1;
	}
	double seconds = (double)result.elapsed_ns / 1e9;
	printf("filecopy: copied %" PRIu64 " bytes in %.3f s (%.1f MB/s)\n", result.copied, seconds,
	       seconds > 0 ? (double)result.copied / seconds / 1e6 : 0.0);
	return 0;
}
