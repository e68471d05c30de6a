# Thin wrapper over CMake: the build itself is described in CMakeLists.txt.
# `make help` lists the targets. Variables you may override on the command
# line: JOBS, CTEST_JOBS, PREFIX, CMAKE_ARGS, RUN_ARGS.
#
# With the CI environment variable set (as .ci/run does), `build` turns
# warnings into errors (-DATOLL_WERROR=ON).

BUILD_DIR  ?= build
ASAN_DIR   ?= build-asan
TSAN_DIR   ?= build-tsan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
# Tests start reactor threads pinned to CPUs and are CPU heavy: never run more
# than two at once, nor more than there are CPUs.
CTEST_JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); [ $$n -gt 2 ] && n=2; echo $$n)
PREFIX     ?= /usr/local
CMAKE_ARGS ?=
RUN_ARGS   ?=

ifneq ($(CI),)
WERROR := ON
else
WERROR := OFF
endif

# Sources that clang-format owns.
FORMAT_DIRS  := $(wildcard include src actors tests examples)
FORMAT_FILES  = $(shell find $(FORMAT_DIRS) -type f \( -name '*.c' -o -name '*.h' \) | sort)

CTEST = ctest --output-on-failure -j$(CTEST_JOBS)

.DEFAULT_GOAL := build
.PHONY: help deps build run test bench-kv bench-kv-aof sanitize tsan fuzz format format-check install clean

help:
	@echo "atoll make targets (a wrapper over CMake):"
	@echo "  build         check deps, configure $(BUILD_DIR)/ and build (default target)"
	@echo "  deps          check the Debian packages needed; install missing ones as root"
	@echo "  run           build, then start atoll-kv on 127.0.0.1:6379, one shard per CPU"
	@echo "  test          build, then run every test with ctest"
	@echo "  bench-kv      build, then compare atoll-kv with redis-server (atoll-bench kv)"
	@echo "  bench-kv-aof  the same with the append-only log at each fsync policy (kv.aof)"
	@echo "  sanitize      build $(ASAN_DIR)/ with ASan+UBSan (Debug) and run every test"
	@echo "  tsan          build $(TSAN_DIR)/ with TSan (Debug) and run the concurrency tests"
	@echo "  fuzz          build the libFuzzer targets (clang-14) and run each FUZZ_SECONDS"
	@echo "  format        clang-format -i every .c/.h under: $(FORMAT_DIRS)"
	@echo "  format-check  fail if any of those files is not clang-formatted"
	@echo "  install       build, then install into PREFIX (now: $(PREFIX))"
	@echo "  clean         remove $(BUILD_DIR)/ $(ASAN_DIR)/ $(TSAN_DIR)/"
	@echo "Variables: JOBS=$(JOBS) CTEST_JOBS=$(CTEST_JOBS) PREFIX=$(PREFIX)"
	@echo "           CMAKE_ARGS='$(CMAKE_ARGS)' RUN_ARGS='$(RUN_ARGS)' CI='$(CI)'"

deps:
	@bash .ci/deps.sh

build: deps
	cmake -S . -B $(BUILD_DIR) -DATOLL_WERROR=$(WERROR) $(CMAKE_ARGS)
	cmake --build $(BUILD_DIR) -j$(JOBS)

# Starts atoll-kv, the sharded key-value server, on 127.0.0.1:6379 with one
# shard per CPU (Ctrl-C stops it). RUN_ARGS adds flags: RUN_ARGS="--port 7000".
run: build
	$(BUILD_DIR)/bin/atoll-kv $(RUN_ARGS)

test: build
	$(CTEST) --test-dir $(BUILD_DIR)

# The sanitizers own malloc, so these builds use the libc allocator instead of
# jemalloc (see CMakeLists.txt). -Werror stays off here: gcc warns about
# constructs the sanitizers cannot see (e.g. -Wtsan on atomic_thread_fence),
# and those warnings are for the reader, not a build failure.
sanitize: deps
	cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug \
		-DATOLL_SANITIZE=address,undefined -DATOLL_BUILD_BENCH=OFF $(CMAKE_ARGS)
	cmake --build $(ASAN_DIR) -j$(JOBS)
	ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(CTEST) --test-dir $(ASAN_DIR)

# If TSan ever aborts with "unexpected memory mapping" (high mmap ASLR
# entropy on recent kernels), run the tests under `setarch $$(uname -m) -R`
# or lower vm.mmap_rnd_bits to 28. Not needed on the CI machine today.
tsan: deps
	cmake -S . -B $(TSAN_DIR) -DCMAKE_BUILD_TYPE=Debug \
		-DATOLL_SANITIZE=thread -DATOLL_BUILD_BENCH=OFF $(CMAKE_ARGS)
	cmake --build $(TSAN_DIR) -j$(JOBS)
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
		$(CTEST) --test-dir $(TSAN_DIR) -L concurrency

# atoll-kv against Debian's redis-server under redis-benchmark (a few minutes;
# docs/benchmarks.md says how to read it). BENCH_ARGS adds flags.
BENCH_ARGS ?=
bench-kv: build
	@bash .ci/deps.sh redis-server redis-tools
	$(BUILD_DIR)/bin/atoll-bench kv $(BENCH_ARGS)

# The same SET run with the append-only log on, at appendfsync always,
# everysec and no; the logs go under $$TMPDIR or /tmp: that must be a disk,
# not tmpfs (the run prints the file system), or pass BENCH_ARGS=--data-dir=DIR.
bench-kv-aof: build
	@bash .ci/deps.sh redis-server redis-tools
	$(BUILD_DIR)/bin/atoll-bench kv.aof $(BENCH_ARGS)

# libFuzzer targets (tests/fuzz/targets lists them: the RESP parser, the
# inline command parser, the shard commands): each runs FUZZ_SECONDS from its
# seed corpus; any crash, leak, timeout or UB fails. CI runs it too.
FUZZ_SECONDS ?= 60
fuzz:
	@bash .ci/deps.sh clang-14 libfuzzer-14-dev
	tests/fuzz/run.sh $(FUZZ_SECONDS)

format:
	@echo "clang-format -i ($(words $(FORMAT_FILES)) files under $(FORMAT_DIRS))"
	@clang-format -i $(FORMAT_FILES)

format-check:
	@echo "clang-format --dry-run --Werror ($(words $(FORMAT_FILES)) files under $(FORMAT_DIRS))"
	@clang-format --dry-run --Werror $(FORMAT_FILES)

install: build
	cmake --install $(BUILD_DIR) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(TSAN_DIR)
