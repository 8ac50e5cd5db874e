#!/bin/bash
# SPDX-License-Identifier: MIT
# 55-filter-mirror.sh - filter-mirror copies frames to a unix socket chardev in QEMU's framing.
#
# qnet: stream servers s1 and s2 (unix) on hub 0; chardevs m1 and m2 (unix servers, wait=off);
# filter-mirror f1 on s1 (queue=all) to m1, f2 on s2 (queue=rx, vnet_hdr_support=on) to m2.
# Python peers (lib/filter_peers.py mirror): c1 and c2 exchange frames, two readers parse the
# mirror streams. Checks: the copies are exactly the frames that passed (count, bytes, order),
# the vnet_hdr_len field, frames still pass, a gone or non-reading mirror peer never stalls qnet
# (copies are dropped and reported with QEMU's message), info network / info chardev lines.
set -u
. "$(dirname "$0")/../lib.sh"
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }

hmp() { timeout 20 "$PY" "$ROOT/tests/integration/lib/user_tool.py" hmp "$T/q.mon" "$@"; }

if qnet_start q \
	-netdev stream,id=s1,server=on,addr.type=unix,addr.path="$T/s1.sock" \
	-netdev hubport,id=p1,hubid=0,netdev=s1 \
	-netdev stream,id=s2,server=on,addr.type=unix,addr.path="$T/s2.sock" \
	-netdev hubport,id=p2,hubid=0,netdev=s2 \
	-chardev socket,id=m1,path="$T/m1.sock",server=on,wait=off \
	-chardev socket,id=m2,path="$T/m2.sock",server=on,wait=off \
	-object filter-mirror,id=f1,netdev=s1,outdev=m1 \
	-object filter-mirror,id=f2,netdev=s2,outdev=m2,vnet_hdr_support=on,queue=rx \
	-monitor unix:"$T/q.mon",server=on,wait=off &&
   wait_unix_socket "$T/m2.sock" 10 && wait_unix_socket "$T/q.mon" 10; then
	ok "qnet starts with two chardevs and two filter-mirror objects"
else
	not_ok "qnet starts with two chardevs and two filter-mirror objects"
	qnet_log q
	finish
fi

info=$(hmp "info network")
check "info network: f1 with QEMU's property order" grep -qxF \
	"  - f1: type=filter-mirror,vnet_hdr_support=false,outdev=m1,position=tail,status=on,insert=behind,netdev=s1,queue=all" \
	<<<"$info"
check "info network: f2 vnet_hdr_support=true, queue=rx" grep -qxF \
	"  - f2: type=filter-mirror,vnet_hdr_support=true,outdev=m2,position=tail,status=on,insert=behind,netdev=s2,queue=rx" \
	<<<"$info"
check "info chardev: m1 listening, no peer yet" grep -qxF \
	"m1: filename=disconnected:unix:$T/m1.sock,server=on" <<<"$(hmp "info chardev")"

out=$(timeout 120 "$PY" "$ROOT/tests/integration/lib/filter_peers.py" mirror "$T" 2>&1)
while IFS= read -r line; do
	case $line in
	"ok "*) ok "${line#ok }" ;;
	"fail: "*) not_ok "${line#fail: }" ;;
	*) echo "# $line" ;;
	esac
done <<<"$out"
[ -n "$out" ] || not_ok "mirror peers ran"

check "qnet is still running" qnet_alive q
check "a gone mirror peer is reported with QEMU's text" \
	grep -qF "filter mirror send failed(Input/output error)" "$T/q.log"
check "a full mirror buffer is reported (copies dropped, qnet not blocked)" \
	grep -qF "filter mirror send failed(No buffer space available)" "$T/q.log"
n=$(grep -c "filter mirror send failed" "$T/q.log")
check "failures are reported once per run of failures, not per frame ($n lines)" test "$n" -le 10

# removing the filter releases the chardev for a new frontend
check "object_del f1 prints nothing" test -z "$(hmp "object_del f1")"
check "m1 can take a new mirror after object_del" test -z "$(hmp "object_add filter-mirror,id=f3,netdev=s2,outdev=m1")"
check "a second frontend on m1 is refused with QEMU's text" grep -qxF "Error: Device 'm1' is in use" \
	<<<"$(hmp "object_add filter-mirror,id=f4,netdev=s1,outdev=m1")"

qnet_stop q
check "qnet exits 0 on SIGTERM" test $? -eq 0
check "the chardev socket files are removed at exit" test ! -e "$T/m1.sock" -a ! -e "$T/m2.sock"
finish
