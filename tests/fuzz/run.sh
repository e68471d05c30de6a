#!/usr/bin/env bash
# Builds the libFuzzer targets in tests/fuzz/ with clang-14
# (-fsanitize=fuzzer,address,undefined) and runs each for SECONDS (default 60)
# from its seed corpus in tests/fuzz/corpus/<target>/. New inputs go to a
# scratch copy, so the checked-in corpus only changes by hand. Any crash,
# leak, timeout or UB stops the run with a non-zero exit and leaves the input
# in build-fuzz/. Needs clang-14 and libfuzzer-14-dev (Debian 12).
# Usage: tests/fuzz/run.sh [SECONDS] [TARGET ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
shift || true
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=(resp_parse kv_cmd)
cc=${CC_FUZZ:-clang-14}
out=build-fuzz
mkdir -p "$out"
flags=(-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
       -Iinclude -Iactors -I/usr/include)
resp=(actors/resp_parse.c actors/resp_write.c actors/resp_value.c)
kv=(actors/kv_db.c actors/kv_db_expire.c actors/kv_glob.c actors/kv_cmd.c
    actors/kv_strings.c actors/kv_lcs.c actors/kv_keys.c actors/kv_expire.c actors/kv_internal.c)
for t in "${targets[@]}"; do
	case $t in
	resp_parse) srcs=("${resp[@]}") ;;
	kv_cmd) srcs=("${resp[@]}" "${kv[@]}") ;;
	*) echo "fuzz: unknown target $t" >&2; exit 2 ;;
	esac
	echo "fuzz: building $t"
	"$cc" "${flags[@]}" -o "$out/fuzz_$t" "tests/fuzz/fuzz_$t.c" "${srcs[@]}"
	work="$out/corpus_$t"
	rm -rf "$work"
	mkdir -p "$work"
	cp tests/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
	echo "fuzz: running $t for ${seconds}s"
	(cd "$out" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		./"fuzz_$t" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
		-print_final_stats=1 "corpus_$t" 2>&1 | tail -15)
done
