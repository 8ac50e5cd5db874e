#!/bin/bash
# SPDX-License-Identifier: MIT
# 11-install.sh - `make install` with PREFIX and DESTDIR puts the program, the static library, the
# libslirp-compatible library with its header and slirp.pc, and
# the man page qnet(1) where they belong; the installed program runs, the man page renders cleanly
# and describes every netdev type that `qnet -netdev help` lists.
set -u
. "$(dirname "$0")/../lib.sh"
need_cmd make nroff
D=$T/dest
out=$(make -C "$ROOT" --no-print-directory install DESTDIR="$D" PREFIX=/opt/qnet 2>&1)
check "make install DESTDIR=... PREFIX=/opt/qnet succeeds" test $? -eq 0
for f in bin/qnet lib/libqnet.a lib/libslirp.so.0 lib/pkgconfig/slirp.pc include/slirp/libslirp.h \
	share/man/man1/qnet.1; do
	check "installed /opt/qnet/$f" test -s "$D/opt/qnet/$f"
done
check "the installed qnet runs (--version)" "$D/opt/qnet/bin/qnet" --version
warn=$(nroff -man -ww "$D/opt/qnet/share/man/man1/qnet.1" 2>&1 >/dev/null)
check "the man page renders without warnings${warn:+ ($warn)}" test -z "$warn"
page=$(nroff -man "$D/opt/qnet/share/man/man1/qnet.1" 2>/dev/null | sed "s/.\x08//g")
for t in $("$QNET" -netdev help 2>&1 | awk 'NR > 1 && NF == 1 { print $1 }'); do
	check "the man page describes netdev type $t" grep -qw -- "$t" <<<"$page"
done
finish
