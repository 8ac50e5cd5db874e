#!/bin/bash
# SPDX-License-Identifier: MIT
# deps.sh [build|all|bench] - install what qnet's build (build), its whole test suite (all, the
# default: every package in .ci/packages) or bench/user-bench.sh (bench) needs, when it is missing.
# `make check` and `make demo` run it first, bench/user-bench.sh too.
#
# Checks each package with dpkg-query; runs `apt-get update` and `apt-get install -y
# --no-install-recommends` only for what is missing, and only as root. Not root: prints loudly
# what is missing and what to run, and exits 0 so the parts that can run still do (the build
# then fails on a missing header, the integration tests say NOT RUN).
set -u
cd "$(dirname "$0")/.."
set_=${1:-all}
case $set_ in
build) pkgs=(gcc make libjson-c-dev) ;;
bench) pkgs=(iperf3 sockperf slirp4netns passt python3 util-linux iproute2 procps) ;;
all) mapfile -t pkgs < <(grep -Ev '^[[:space:]]*(#|$)' .ci/packages) ;;
*) echo "usage: tests/deps.sh [build|all|bench]" >&2; exit 2 ;;
esac

missing=()
if command -v dpkg-query >/dev/null; then
	for p in "${pkgs[@]}"; do
		st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
		[ "${st:0:2}" = ii ] || missing+=("$p")
	done
else
	echo "deps: no dpkg-query: cannot check packages; make sure these are installed: ${pkgs[*]}" >&2
	exit 0
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
	{
		echo "!!"
		echo "!! deps: MISSING PACKAGES (not installed: not root or no apt-get):"
		echo "!!   ${missing[*]}"
		echo "!! install them as root:"
		echo "!!   apt-get install -y --no-install-recommends ${missing[*]}"
		echo "!! (or run the same make target as root: it installs them itself)"
		echo "!!"
	} >&2
	exit 0
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
lock=(-o DPkg::Lock::Timeout=600)
apt-get "${lock[@]}" update -q || echo "deps: apt-get update failed, trying the install anyway" >&2
if ! apt-get "${lock[@]}" install -y -q --no-install-recommends "${missing[@]}"; then
	echo "deps: FAILED to install: ${missing[*]}" >&2
	exit 1
fi
