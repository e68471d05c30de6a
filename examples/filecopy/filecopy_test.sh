#!/bin/sh
# filecopy_test.sh - checks build/bin/filecopy: copies of a random file (with
# a size that is not a multiple of the chunk) at several chunk sizes and
# depths, and of an empty file, must equal their source; a missing source, an
# unwritable destination and bad flags must fail cleanly.
#
# Usage: filecopy_test.sh PATH_TO_FILECOPY [SIZE_BYTES]. Exit 0 on success,
# 1 on failure, 77 (skip) when the runtime cannot start (no io_uring).
set -u

filecopy=$1
size=${2:-3000001}
dir=$(mktemp -d "${TMPDIR:-/tmp}/filecopy_test.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT INT TERM

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

head -c "$size" /dev/urandom >"$dir/src" || fail "cannot make the source file"
: >"$dir/empty"

if ! "$filecopy" "$dir/empty" "$dir/probe" >"$dir/out" 2>&1; then
	if grep -q "cannot start the runtime" "$dir/out"; then
		echo "skip: $(cat "$dir/out")"
		exit 77
	fi
	fail "empty file: $(cat "$dir/out")"
fi
cmp "$dir/empty" "$dir/probe" || fail "empty copy differs"
echo "ok: empty file"

for args in "" "--chunk 4K --depth 1" "--chunk 64K --depth 16" "--chunk 1M --depth 2" \
	"--chunk 1000 --depth 7"; do
	rm -f "$dir/dst"
	# shellcheck disable=SC2086 # args is a list of words
	"$filecopy" "$dir/src" "$dir/dst" $args || fail "copy with '$args' exited $?"
	cmp "$dir/src" "$dir/dst" || fail "copy with '$args' differs"
	echo "ok: $size bytes with '$args'"
done

# Copying over a longer file truncates it.
head -c $((size + 12345)) /dev/urandom >"$dir/dst"
"$filecopy" "$dir/src" "$dir/dst" >/dev/null || fail "copy over a longer file exited $?"
cmp "$dir/src" "$dir/dst" || fail "copy over a longer file differs"
echo "ok: an existing longer destination is truncated"

expect_error() {
	want=$1
	shift
	"$filecopy" "$@" >"$dir/out" 2>&1
	code=$?
	[ "$code" -eq "$want" ] || fail "'$*' exited $code, want $want: $(cat "$dir/out")"
	grep -q "filecopy" "$dir/out" || fail "'$*' gave no message"
	echo "ok: $(head -n 1 "$dir/out")"
}
expect_error 1 "$dir/missing" "$dir/dst2"
[ ! -e "$dir/dst2" ] || fail "a missing source created the destination"
expect_error 1 "$dir/src" "$dir/no/such/dir/dst"
expect_error 1 "$dir/src" "$dir/src"
expect_error 1 "$dir" "$dir/dst3"
expect_error 2 "$dir/src"
expect_error 2 "$dir/src" "$dir/dst" --chunk 0
expect_error 2 "$dir/src" "$dir/dst" --depth 100000
expect_error 2 --bogus
exit 0
