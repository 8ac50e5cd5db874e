#!/bin/bash
# SPDX-License-Identifier: MIT
# 58-filter-runtime.sh - filters added, toggled and removed at run time through the HMP monitor.
#
# qnet: stream servers s1 and s2 (unix) on hub 0, a chardev m1, -monitor unix:...; no filter at
# start. Through object_add / qom-set / object_del: a filter-dump on s1 (queue=tx) records only
# the traffic sent while it exists with status=on (tshark counts the pcap); a filter-mirror on s1
# copies to m1 only while on; a filter-buffer on s1 delays frames only while on. Traffic comes from
# Python peers (lib/filter_peers.py traffic); each run is tagged in the source MAC.
set -u
. "$(dirname "$0")/../lib.sh"
need_cmd tshark
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }

hmp() { timeout 20 "$PY" "$ROOT/tests/integration/lib/user_tool.py" hmp "$T/q.mon" "$@"; }
# traffic N TAG - run the peers; sets PROBES, GOT, MAXLAT; records the checks
traffic() {
	local out line
	out=$(timeout 60 "$PY" "$ROOT/tests/integration/lib/filter_peers.py" traffic "$T" "$1" "$2" 2>&1)
	PROBES=$(sed -n 's/^probes //p' <<<"$out"); PROBES=${PROBES:-0}
	GOT=$(sed -n 's/^got //p' <<<"$out"); GOT=${GOT:-0}
	MAXLAT=$(sed -n 's/^maxlat //p' <<<"$out"); MAXLAT=${MAXLAT:-99999}
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "${line#ok }" ;;
		"fail: "*) not_ok "${line#fail: }" ;;
		esac
	done <<<"$out"
	echo "# traffic $2: probes $PROBES, got $GOT, slowest frame ${MAXLAT} ms"
}
quiet() { local o; o=$(hmp "$1"); [ -z "$o" ] || { echo "# $1: $o"; return 1; }; }

if qnet_start q \
	-netdev stream,id=s1,server=on,addr.type=unix,addr.path="$T/s1.sock" \
	-netdev hubport,id=p1,hubid=0,netdev=s1 \
	-netdev stream,id=s2,server=on,addr.type=unix,addr.path="$T/s2.sock" \
	-netdev hubport,id=p2,hubid=0,netdev=s2 \
	-chardev socket,id=m1,path="$T/m1.sock",server=on,wait=off \
	-monitor unix:"$T/q.mon",server=on,wait=off &&
   wait_unix_socket "$T/s2.sock" 10 && wait_unix_socket "$T/q.mon" 10; then
	ok "qnet starts without filters"
else
	not_ok "qnet starts without filters"
	qnet_log q
	finish
fi

# ---- filter-dump ----
check "object_add filter-dump d0 (queue=tx)" quiet "object_add filter-dump,id=d0,netdev=s1,file=$T/d0.pcap,queue=tx"
check "info network lists d0" grep -qxF \
	"  - d0: type=filter-dump,file=$T/d0.pcap,maxlen=65536,position=tail,status=on,insert=behind,netdev=s1,queue=tx" \
	<<<"$(hmp "info network")"
check "object_add with the same id: QEMU's QOM text" grep -qxF \
	"Error: attempt to add duplicate property 'd0' to object (type 'container')" \
	<<<"$(hmp "object_add filter-dump,id=d0,netdev=s1,file=$T/x.pcap")"
traffic 5 1; dumped=$((PROBES + 5))
check "qom-set d0 status off" quiet "qom-set d0 status off"
check "info network: d0 status=off" grep -qF "d0: type=filter-dump,file=$T/d0.pcap,maxlen=65536,position=tail,status=off," \
	<<<"$(hmp "info network")"
traffic 4 2
check "qom-set /objects/d0 status on (full path)" quiet "qom-set /objects/d0 status on"
traffic 3 3; dumped=$((dumped + PROBES + 3))
check "qom-set with a bad status: QEMU's text" grep -qxF \
	"Error: Invalid value for netfilter status, should be 'on' or 'off'" <<<"$(hmp "qom-set d0 status maybe")"
check "qom-set on a missing object: QEMU's text" grep -qxF "Error: Device 'zz' not found" \
	<<<"$(hmp "qom-set zz status on")"
check "qom-set of an unknown property: QEMU's text" grep -qxF \
	"Error: Property 'filter-dump.nope' not found" <<<"$(hmp "qom-set d0 nope 1")"
check "object_del d0" quiet "object_del d0"
check "info network: d0 gone" test -z "$(hmp "info network" | grep -F "d0:")"
check "object_del d0 again: QEMU's text" grep -qxF "Error: object 'd0' not found" <<<"$(hmp "object_del d0")"
traffic 2 4
n=$(tshark -r "$T/d0.pcap" 2>/dev/null | wc -l)
check "tshark reads the runtime dump: $dumped frames (got $n)" test "$n" -eq "$dumped"
tags=$(tshark -r "$T/d0.pcap" -Y 'eth.type == 0x88b5' -T fields -e eth.src 2>/dev/null | cut -d: -f5 | uniq -c |
	awk '{printf "%s:%s ", $2, $1}')
check "the dump holds exactly the frames sent while it was on: 01 x5, 03 x3 (got $tags)" \
	test "$tags" = "01:5 03:3 "

# ---- filter-mirror ----
timeout 60 "$PY" "$ROOT/tests/integration/lib/framing.py" sink "unix:$T/m1.sock" 40 "$T/m1.count" \
	>"$T/sink.log" 2>&1 &
bg_track $!
check "object_add filter-mirror mi (s1 tx to m1)" quiet "object_add filter-mirror,id=mi,netdev=s1,outdev=m1,queue=tx"
wait_for 10 eval "hmp 'info chardev' | grep -q '^m1: filename=unix:'"
check "the mirror's reader is connected" grep -q '^m1: filename=unix:' <<<"$(hmp "info chardev")"
traffic 6 5; mirrored=$((PROBES + 6))
wait_for 5 eval '[ "$(cat "$T/m1.count" 2>/dev/null)" = "$mirrored" ]'
check "the mirror copied the $mirrored frames c1 sent (got $(cat "$T/m1.count" 2>/dev/null))" \
	test "$(cat "$T/m1.count" 2>/dev/null)" = "$mirrored"
check "qom-set mi status off" quiet "qom-set mi status off"
traffic 3 6
sleep 0.5
check "status=off: nothing more mirrored (count $(cat "$T/m1.count"))" test "$(cat "$T/m1.count")" = "$mirrored"
check "qom-set mi status on" quiet "qom-set mi status on"
traffic 2 7; mirrored=$((mirrored + PROBES + 2))
wait_for 5 eval '[ "$(cat "$T/m1.count" 2>/dev/null)" = "$mirrored" ]'
check "status=on again: copies resume ($mirrored, got $(cat "$T/m1.count"))" test "$(cat "$T/m1.count")" = "$mirrored"
check "object_del mi" quiet "object_del mi"
traffic 2 8
sleep 0.5
check "after object_del nothing more is mirrored" test "$(cat "$T/m1.count")" = "$mirrored"

# ---- filter-buffer ----
check "object_add filter-buffer bu (400 ms)" quiet "object_add filter-buffer,id=bu,netdev=s1,interval=400000"
traffic 4 9
check "with bu on, frames are held (slowest ${MAXLAT} ms >= 150)" test "$MAXLAT" -ge 150
check "qom-set bu status off" quiet "qom-set bu status off"
traffic 4 10
check "with bu off, frames pass at once (slowest ${MAXLAT} ms < 150)" test "$MAXLAT" -lt 150
check "qom-set bu status on" quiet "qom-set bu status on"
traffic 3 11
check "bu on again holds frames (slowest ${MAXLAT} ms >= 150)" test "$MAXLAT" -ge 150
check "object_del bu" quiet "object_del bu"
traffic 3 12
check "after object_del bu frames pass at once (slowest ${MAXLAT} ms < 150)" test "$MAXLAT" -lt 150
check "no filter left on s1" test -z "$(hmp "info network" | grep -A3 '^s1:' | grep filters)"
check "qnet is still running" qnet_alive q
qnet_stop q
check "qnet exits 0 on SIGTERM" test $? -eq 0
finish
