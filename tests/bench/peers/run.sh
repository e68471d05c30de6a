#!/usr/bin/env bash
# run.sh - runs the Erlang peers of atoll-bench's local-messaging benchmarks
# (ping-pong, counting, thread ring, spawn) and, when atoll-bench is found,
# the matching atoll benchmarks in the same run, alternating A B A B, each
# pinned with taskset. RESULT lines go to stdout; a summary of medians and
# atoll/Erlang ratios goes to stderr.
#
# Needs Debian's erlang-nox (escript). Not part of the CMake build.
#
# usage: tests/bench/peers/run.sh [-r ROUNDS] [-c CPU] [-n MESSAGES]
#                                 [-b PATH/TO/atoll-bench] [--erlang-only]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
rounds=5
cpu=0
messages=10000000
bench=${ATOLL_BENCH:-}
erlang_only=0

usage() {
	sed -n '10,11p' "$0" | sed 's/^# //' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
	-r) rounds=${2:?-r needs a value}; shift 2 ;;
	-c) cpu=${2:?-c needs a value}; shift 2 ;;
	-n) messages=${2:?-n needs a value}; shift 2 ;;
	-b) bench=${2:?-b needs a value}; shift 2 ;;
	--erlang-only) erlang_only=1; shift ;;
	-h|--help) usage ;;
	*) echo "run.sh: unknown argument '$1'" >&2; usage ;;
	esac
done
for v in "$rounds" "$cpu" "$messages"; do
	case "$v" in
	''|*[!0-9]*) echo "run.sh: '$v' is not a number" >&2; exit 2 ;;
	esac
done
[ "$rounds" -ge 1 ] || { echo "run.sh: -r must be at least 1" >&2; exit 2; }

if ! command -v escript >/dev/null 2>&1; then
	echo "run.sh: escript not found: apt-get install erlang-nox" >&2
	exit 1
fi
if [ -z "$bench" ]; then
	for b in "$root/build/bin/atoll-bench" "$root/build-bench/bin/atoll-bench"; do
		if [ -x "$b" ]; then bench=$b; break; fi
	done
fi
if [ "$erlang_only" = 0 ] && { [ -z "$bench" ] || [ ! -x "$bench" ]; }; then
	echo "run.sh: atoll-bench not found (build it, or pass -b): Erlang only" >&2
	erlang_only=1
fi

ncpus=$(nproc)
other=$(( (cpu + 1) % ncpus ))
results=$(mktemp)
trap 'rm -f "$results"' EXIT

# Runs one command, prints its RESULT lines and files them under a label.
# A failing command is reported and the run goes on.
run() {
	local label=$1 out rc=0
	shift
	echo "run.sh: [$label] $*" >&2
	out=$(mktemp)
	"$@" >"$out" || rc=$?
	if [ "$rc" != 0 ]; then
		echo "run.sh: [$label] failed (exit code $rc)" >&2
	fi
	grep '^RESULT' "$out" || true
	grep '^RESULT' "$out" | sed "s/^/$label /" >>"$results" || true
	rm -f "$out"
}

for ((r = 1; r <= rounds; r++)); do
	echo "run.sh: round $r of $rounds" >&2
	# One core: ping-pong.
	run erlang.pingpong taskset -c "$cpu" escript "$here/pingpong.erl" -n "$messages" -s 1
	[ "$erlang_only" = 1 ] ||
		run atoll.pingpong taskset -c "$cpu" "$bench" pingpong.local -n "$((messages * 10))" --cpus "$cpu"
	# One core: counting. Erlang's sender never waits, like --window 0.
	run erlang.counting taskset -c "$cpu" escript "$here/counting.erl" -n "$messages" -s 1
	if [ "$erlang_only" = 0 ]; then
		run atoll.counting taskset -c "$cpu" "$bench" counting -n "$((messages * 5))" --cpus "$cpu"
		run atoll.counting.w0 taskset -c "$cpu" "$bench" counting -n "$messages" --window 0 --cpus "$cpu"
	fi
	# One core: thread ring.
	run erlang.threadring.1 taskset -c "$cpu" escript "$here/threadring.erl" -n "$messages" -s 1
	[ "$erlang_only" = 1 ] ||
		run atoll.threadring.1 taskset -c "$cpu" "$bench" threadring -r 1 -n "$((messages * 10))" --cpus "$cpu"
	# Every core: thread ring spread over the schedulers / reactors.
	if [ "$ncpus" -ge 2 ]; then
		run erlang.threadring.2 taskset -c "$cpu,$other" escript "$here/threadring.erl" -n "$messages" -s 2
		[ "$erlang_only" = 1 ] ||
			run atoll.threadring.2 taskset -c "$cpu,$other" "$bench" threadring -r 2 --cpus "$cpu,$other"
	fi
	# One core: spawning 1M idle actors.
	run erlang.spawn taskset -c "$cpu" escript "$here/spawn.erl" -n 1000000 -s 1
	[ "$erlang_only" = 1 ] ||
		run atoll.spawn taskset -c "$cpu" "$bench" spawn -n 1000000 --cpus "$cpu"
done

# Medians of one metric per label, then the ratios.
median() {
	grep "^$1 " "$results" | sed -n "s/.* $2=\([0-9.]*\).*/\1/p" | sort -g |
		awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
compare() { # label-suffix erlang-label metric
	local e a
	e=$(median "erlang.$2" "$3")
	a=$(median "atoll.$1" "$3")
	if [ "$e" != 0 ] && [ "$a" != 0 ]; then
		awk -v p="$1" -v m="$3" -v a="$a" -v e="$e" \
			'BEGIN { printf "  %-14s %-16s atoll %12.1f  erlang %12.1f  atoll/erlang %.2f\n", p, m, a, e, a / e }' >&2
	elif [ "$e" != 0 ]; then
		awk -v p="$2" -v m="$3" -v e="$e" 'BEGIN { printf "  %-14s %-16s erlang %12.1f\n", p, m, e }' >&2
	fi
}
echo "run.sh: medians of $rounds rounds (CPU $cpu; .2 rows: CPUs $cpu,$other):" >&2
compare pingpong pingpong msgs_per_sec
compare counting counting msgs_per_sec
compare counting.w0 counting msgs_per_sec
compare threadring.1 threadring.1 msgs_per_sec
compare threadring.2 threadring.2 msgs_per_sec
compare spawn spawn actors_per_sec
compare spawn spawn bytes_per_actor
