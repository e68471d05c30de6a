#!/usr/bin/env bash
# Builds the libFuzzer targets listed in tests/fuzz/targets with clang-14
# (-fsanitize=fuzzer,address,undefined) and runs each for SECONDS (default 60)
# from its seed corpus in tests/fuzz/corpus/<target>/. New inputs go to a
# scratch copy, so the checked-in corpus only changes by hand. Any crash,
# leak, timeout or UB stops the run with a non-zero exit and leaves the input
# in build-fuzz/ (add it to the corpus: the ctest replay then keeps it as a
# regression test). Prints one "FUZZ <target> execs=N ..." line per target.
# Needs clang-14 and libfuzzer-14-dev (Debian 12).
# Usage: tests/fuzz/run.sh [SECONDS] [TARGET ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
shift || true
targets=("$@")
declare -A sources
while read -r name rest; do
	[[ -z "$name" || "$name" == \#* ]] && continue
	sources[$name]=$rest
	[[ $# -eq 0 ]] && targets+=("$name")
done <tests/fuzz/targets
cc=${CC_FUZZ:-clang-14}
out=build-fuzz
mkdir -p "$out"
flags=(-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
       -Iinclude -Iactors -Isrc -I/usr/include)
summary=()
for t in "${targets[@]}"; do
	if [[ -z "${sources[$t]+set}" ]]; then
		echo "fuzz: unknown target $t (not in tests/fuzz/targets)" >&2
		exit 2
	fi
	# shellcheck disable=SC2206 # the line's words: sources and -l libraries
	words=(${sources[$t]})
	srcs=() libs=()
	for w in "${words[@]}"; do
		if [[ "$w" == -l* ]]; then libs+=("$w"); else srcs+=("$w"); fi
	done
	echo "fuzz: building $t"
	"$cc" "${flags[@]}" -o "$out/fuzz_$t" "tests/fuzz/fuzz_$t.c" "${srcs[@]}" "${libs[@]}"
	work="$out/corpus_$t"
	rm -rf "$work"
	mkdir -p "$work"
	cp tests/fuzz/corpus/"$t"/* "$work"/ 2>/dev/null || true
	echo "fuzz: running $t for ${seconds}s"
	log="$out/fuzz_$t.log"
	rc=0
	(cd "$out" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		./"fuzz_$t" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
		-print_final_stats=1 "corpus_$t") >"$log" 2>&1 || rc=$?
	tail -n 15 "$log"
	if [[ $rc -ne 0 ]]; then
		echo "fuzz: $t FAILED (exit $rc); the log is $log, the input build-fuzz/crash-*," \
			"leak-* or timeout-*" >&2
		exit 1
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	units=$(find "$work" -type f | wc -l)
	summary+=("FUZZ $t execs=${execs:-?} seconds=$seconds corpus=$units crashes=0")
done
printf '%s\n' "${summary[@]}"
