#!/bin/bash
# SPDX-License-Identifier: MIT
# 56-filter-redirector.sh - filter-redirector: outdev consumes frames, indev injects frames.
#
# qnet: stream servers s1 and s2 (unix) on hub 0; chardevs o1 and i1 (unix servers, wait=off);
# filter-redirector r1 on s1, queue=tx, outdev=o1, indev=i1. Python peers (lib/filter_peers.py):
# c1 on s1, c2 on s2, a reader on o1 and a writer on i1. Checks: c1's frames go to o1 (QEMU
# framing) and no longer reach c2; rx frames pass; i1's frames (split anywhere) reach c2 and not
# c1; an empty indev frame is skipped; an oversized one drops the indev connection and a new peer
# works. Then r1 is replaced at run time by r2 (queue=all, indev only): injected frames go both
# ways (QEMU's behaviour) and frames hitting it pass. Plus QEMU's error texts.
set -u
. "$(dirname "$0")/../lib.sh"
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }

hmp() { timeout 20 "$PY" "$ROOT/tests/integration/lib/user_tool.py" hmp "$T/q.mon" "$@"; }
peers() {
	local out line
	out=$(timeout 120 "$PY" "$ROOT/tests/integration/lib/filter_peers.py" "$@" 2>&1)
	[ -n "$out" ] || not_ok "filter peers $1 ran"
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "${line#ok }" ;;
		"fail: "*) not_ok "${line#fail: }" ;;
		*) echo "# $line" ;;
		esac
	done <<<"$out"
}

if qnet_start q \
	-netdev stream,id=s1,server=on,addr.type=unix,addr.path="$T/s1.sock" \
	-netdev hubport,id=p1,hubid=0,netdev=s1 \
	-netdev stream,id=s2,server=on,addr.type=unix,addr.path="$T/s2.sock" \
	-netdev hubport,id=p2,hubid=0,netdev=s2 \
	-chardev socket,id=o1,path="$T/o1.sock",server=on,wait=off \
	-chardev socket,id=i1,path="$T/i1.sock",server=on,wait=off \
	-object filter-redirector,id=r1,netdev=s1,queue=tx,outdev=o1,indev=i1 \
	-monitor unix:"$T/q.mon",server=on,wait=off &&
   wait_unix_socket "$T/i1.sock" 10 && wait_unix_socket "$T/q.mon" 10; then
	ok "qnet starts with a filter-redirector"
else
	not_ok "qnet starts with a filter-redirector"
	qnet_log q
	finish
fi
check "info network: r1 with QEMU's property order" grep -qxF \
	"  - r1: type=filter-redirector,vnet_hdr_support=false,indev=i1,outdev=o1,position=tail,status=on,insert=behind,netdev=s1,queue=tx" \
	<<<"$(hmp "info network")"

peers redirect "$T"
check "the oversized indev frame is reported with QEMU's text" \
	grep -qF "serious error: oversized packet received,connection terminated." "$T/q.log"

# run time: r1 goes, r2 (queue=all, indev only) comes
check "object_del r1" test -z "$(hmp "object_del r1")"
check "object_add r2 (queue=all, indev=i1)" \
	test -z "$(hmp "object_add filter-redirector,id=r2,netdev=s1,indev=i1")"
peers inject-all "$T"

# QEMU's texts for object_add errors
e() { grep -qxF "Error: $2" <<<"$(hmp "object_add $1")"; }
check "error: no indev nor outdev" e filter-redirector,id=x,netdev=s1 \
	"filter redirector needs 'indev' or 'outdev' at least one property set"
check "error: indev == outdev" e filter-redirector,id=x,netdev=s1,indev=o1,outdev=o1 \
	"'indev' and 'outdev' could not be same for filter redirector"
check "error: IN Device not found" e filter-redirector,id=x,netdev=s1,indev=zz "IN Device 'zz' not found"
check "error: OUT Device not found" e filter-redirector,id=x,netdev=s1,indev=o1,outdev=zz \
	"OUT Device 'zz' not found"
check "error: indev in use" e filter-redirector,id=x,netdev=s2,indev=i1 "Device 'i1' is in use"
check "a failed object_add left no filter x" test -z "$(hmp "info network" | grep -- "- x:")"
check "o1 is free again after the failed add" test -z "$(hmp "object_add filter-redirector,id=x,netdev=s2,outdev=o1")"
check "qnet is still running" qnet_alive q
qnet_stop q
check "qnet exits 0 on SIGTERM" test $? -eq 0
finish
