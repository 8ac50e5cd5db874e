#!/bin/bash
# SPDX-License-Identifier: MIT
# 73-libslirp-abi.sh - build/libslirp.so.0 against Debian's libslirp 4.7 (libslirp-dev, libslirp0),
# without copying its header: tests/slirp/abi_dump.c, built against the system header, prints
# every struct size, field offset/size and constant of tests/slirp/abi_fields.h; abi_check.c
# static-asserts include/libslirp.h against that. Then every symbol libslirp0 exports must be
# exported by ours with the same version node (objdump -T), and nothing else; the soname and the
# version definitions (with their parents) must be the same; slirp.pc must point at the header.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
need_cmd objdump pkg-config cc
SYS=/usr/lib/x86_64-linux-gnu/libslirp.so.0
LIB=$ROOT/build/libslirp.so.0
[ -f "$LIB" ] || { not_ok "$LIB exists (make)"; finish; }
SYSINC=/usr/include/slirp	# its slirp.pc needs glib's .pc: the directory is named here
[ -f "$SYS" ] && [ -f "$SYSINC/libslirp.h" ] || { not_ok "libslirp0 and libslirp-dev installed"; finish; }

if cc -std=c11 -Wall -Werror -I"$SYSINC" -o "$T/dump" "$ROOT/tests/slirp/abi_dump.c" &&
   "$T/dump" >"$T/abi_sys.h"; then
	ok "system header: $(grep -c define "$T/abi_sys.h") sizes/offsets/constants dumped"
else
	not_ok "abi_dump.c builds against the system's libslirp.h"; finish
fi
if cc -std=c11 -Wall -Werror -I"$ROOT/include" -I"$T" -o "$T/check" "$ROOT/tests/slirp/abi_check.c" \
	2>"$T/check.log" && out=$("$T/check"); then
	ok "include/libslirp.h: $out with libslirp 4.7's header"
else
	not_ok "include/libslirp.h matches libslirp 4.7's sizes, offsets and constants"
	sed 's/^/#   /' "$T/check.log" | head -20
fi

defined() { objdump -T "$1" | grep -E '^[0-9a-f]{8,} ' | grep -v '\*UND\*'; }
syms() { defined "$1" | awk '$NF ~ /^(slirp_|SLIRP_)/ { print $(NF-1), $NF }' | sort; }
syms "$SYS" >"$T/sys.syms"
syms "$LIB" >"$T/ours.syms"
if [ -s "$T/sys.syms" ] && diff -u "$T/sys.syms" "$T/ours.syms" >"$T/syms.diff"; then
	ok "the same $(awk '$2 ~ /^slirp_/' "$T/sys.syms" | wc -l) slirp_* symbols with the same version nodes"
else
	not_ok "the same slirp_* symbols with the same version nodes"
	sed 's/^/#   /' "$T/syms.diff"
fi
others=$(defined "$LIB" | awk '$NF !~ /^(slirp_|SLIRP_)/ { print $NF }' | tr '\n' ' ')
check "nothing but slirp_* exported (${others:-none else})" test -z "$others"
vdefs() { objdump -p "$1" | sed -n '/^Version definitions:/,/^$/p' | awk 'NF { print $NF }'; }
check "version definitions and parents equal" test "$(vdefs "$SYS")" = "$(vdefs "$LIB")"
soname() { objdump -p "$1" | awk '$1 == "SONAME" { print $2 }'; }
check "soname libslirp.so.0" test "$(soname "$LIB")" = "$(soname "$SYS")"
check "build/slirp.pc: version 4.7.0, Cflags with include/slirp" \
	eval "PKG_CONFIG_PATH=$ROOT/build pkg-config --modversion slirp | grep -qx 4.7.0 &&
	      PKG_CONFIG_PATH=$ROOT/build pkg-config --cflags slirp | grep -q '/include/slirp'"

# make install into a DESTDIR: a program built with the installed slirp.pc runs on the library
if make -s -C "$ROOT" install DESTDIR="$T/inst" PREFIX=/usr >"$T/install.log" 2>&1; then
	printf '#include <libslirp.h>\n#include <stdio.h>\nint main(void) { puts(slirp_version_string()); return 0; }\n' >"$T/v.c"
	pc() { PKG_CONFIG_SYSROOT_DIR=$T/inst PKG_CONFIG_LIBDIR=$T/inst/usr/lib/pkgconfig pkg-config "$@" slirp; }
	out=$(cc $(pc --cflags) -o "$T/v" "$T/v.c" $(pc --libs) 2>&1 && LD_LIBRARY_PATH=$T/inst/usr/lib "$T/v")
	check "make install DESTDIR PREFIX=/usr: header, library and slirp.pc build a program ($out)" \
		eval '[[ "$out" == 4.7.0-qnet-* ]] && [ -f "$T/inst/usr/bin/qnet" ]'
else
	not_ok "make install DESTDIR=... PREFIX=/usr"; sed 's/^/#   /' "$T/install.log"
fi
finish
