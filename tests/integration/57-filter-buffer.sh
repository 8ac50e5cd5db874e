#!/bin/bash
# SPDX-License-Identifier: MIT
# 57-filter-buffer.sh - filter-buffer holds frames and releases them every interval, in order.
#
# qnet: stream servers s1 and s2 (unix) on hub 0, filter-buffer b0 on s1 with interval=300000
# (300 ms). Python peers (lib/filter_peers.py buffer): c1 on s1 sends frames one at a time at
# varying moments; c2 measures when each arrives. Checks: every frame arrives, in order; frames are
# held up to about one interval and none waits much more than one; a burst of 200 keeps its
# order; qom-set status off lets frames through at once, status on buffers again. Plus the
# interval errors (QEMU's texts) and info network.
set -u
. "$(dirname "$0")/../lib.sh"
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }

hmp() { timeout 20 "$PY" "$ROOT/tests/integration/lib/user_tool.py" hmp "$T/q.mon" "$@"; }
MS=300

if qnet_start q \
	-netdev stream,id=s1,server=on,addr.type=unix,addr.path="$T/s1.sock" \
	-netdev hubport,id=p1,hubid=0,netdev=s1 \
	-netdev stream,id=s2,server=on,addr.type=unix,addr.path="$T/s2.sock" \
	-netdev hubport,id=p2,hubid=0,netdev=s2 \
	-object filter-buffer,id=b0,netdev=s1,interval=$((MS * 1000)) \
	-monitor unix:"$T/q.mon",server=on,wait=off &&
   wait_unix_socket "$T/s2.sock" 10 && wait_unix_socket "$T/q.mon" 10; then
	ok "qnet starts with a filter-buffer"
else
	not_ok "qnet starts with a filter-buffer"
	qnet_log q
	finish
fi
check "info network: b0 interval=$((MS * 1000))" grep -qxF \
	"  - b0: type=filter-buffer,interval=$((MS * 1000)),position=tail,status=on,insert=behind,netdev=s1,queue=all" \
	<<<"$(hmp "info network")"

out=$(timeout 120 "$PY" "$ROOT/tests/integration/lib/filter_peers.py" buffer "$T" "$MS" 2>&1)
[ -n "$out" ] || not_ok "buffer peers ran"
while IFS= read -r line; do
	case $line in
	"ok "*) ok "${line#ok }" ;;
	"fail: "*) not_ok "${line#fail: }" ;;
	*) echo "# $line" ;;
	esac
done <<<"$out"

# qom-set interval at run time, and QEMU's texts
check "qom-set b0 interval 1000 is taken" test -z "$(hmp "qom-set b0 interval 1000")"
check "info network shows interval=1000" grep -qF "b0: type=filter-buffer,interval=1000," \
	<<<"$(hmp "info network")"
check "qom-set interval 0: QEMU's text" grep -qxF \
	"Error: Property 'filter-buffer.interval' requires a positive value" <<<"$(hmp "qom-set b0 interval 0")"
check "qom-set interval too big: QEMU's text" grep -qxF \
	"Error: Parameter 'interval' expects uint32_t" <<<"$(hmp "qom-set b0 interval 4294967296")"
check "object_add without interval: QEMU's text" grep -qxF "Error: Parameter 'interval' is missing" \
	<<<"$(hmp "object_add filter-buffer,id=b1,netdev=s2")"
check "object_add interval=0: QEMU's text" grep -qxF \
	"Error: Property 'filter-buffer.interval' requires a positive value" \
	<<<"$(hmp "object_add filter-buffer,id=b1,netdev=s2,interval=0")"
bad() {
	"$QNET" -netdev stream,id=n0,server=on,addr.type=unix,addr.path="$T/x.sock" \
		-object filter-buffer,id=b,"$1" 2>&1 >/dev/null | head -1
}
st="Invalid value for netfilter status, should be 'on' or 'off'"
check "-object interval=0,status=bad: the status setter's error comes first, as in QEMU" \
	grep -qF ": $st" <<<"$(bad netdev=n0,interval=0,status=bad)"
check "-object interval=-1,status=bad: the visitor's error comes first, as in QEMU" \
	grep -qF ": Parameter 'interval' expects a uint64 value" <<<"$(bad netdev=n0,interval=-1,status=bad)"
check "-object netdev=zz,interval=0: the setter's error before the netdev check, as in QEMU" \
	grep -qF ": Property 'filter-buffer.interval' requires a positive value" \
	<<<"$(bad netdev=zz,interval=0)"
check "qnet is still running" qnet_alive q
qnet_stop q
check "qnet exits 0 on SIGTERM" test $? -eq 0
finish
