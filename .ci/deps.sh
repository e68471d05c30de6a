#!/usr/bin/env bash
# Checks that the Debian packages atoll needs to build and test are installed,
# and installs the missing ones when it can (as root, or through sudo).
# Fast path: when everything is present it only runs dpkg-query, no apt.
# With CI set (as .ci/run does), the fuzzing tools are needed too.
# Usage: .ci/deps.sh [extra-package ...]
set -euo pipefail

packages=(
	cmake pkg-config gcc make           # toolchain
	liburing-dev libjemalloc-dev         # libatoll
	libxxhash-dev                        # atoll-kv key hashing (header only)
	libinih-dev                          # topology files (atoll run)
	libcmocka-dev                        # tests
	redis-tools python3-redis            # atoll-kv integration tests
	clang-format                         # make format / format-check
)
# CI also runs the libFuzzer targets (make fuzz).
if [[ -n "${CI:-}" ]]; then
	packages+=(clang-14 libfuzzer-14-dev)
fi
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	if [[ "$status" != "install ok installed" ]]; then
		missing+=("$p")
	fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
	echo "deps: all ${#packages[@]} packages installed"
	exit 0
fi

echo "deps: missing: ${missing[*]}"
install_cmd=(apt-get install -y --no-install-recommends "${missing[@]}")

if [[ $(id -u) -eq 0 ]]; then
	sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	sudo=(sudo -n)
else
	echo "deps: not root and sudo is not usable; run this, then retry:" >&2
	echo "  sudo apt-get update && sudo env DEBIAN_FRONTEND=noninteractive ${install_cmd[*]}" >&2
	exit 1
fi

echo "deps: apt-get update"
"${sudo[@]}" apt-get update
echo "deps: ${install_cmd[*]}"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive "${install_cmd[@]}" </dev/null
echo "deps: installed ${missing[*]}"
