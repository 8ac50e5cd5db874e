#!/bin/bash
# SPDX-License-Identifier: MIT
# 22-slow-member.sh - a stopped member of a hub must not slow the others or grow qnet's memory.
#
# Hub 0 has three stream ports a, b, c. Python clients on a and b flood frames at each other (and
# at c) as fast as they can; the client on c is a sink that gets SIGSTOPped. While it is stopped:
# a and b keep a comparable rate, qnet's VmRSS stays under a bound and stops growing, c's drop
# counter (info netstats) rises; after SIGCONT c receives again.
set -u
. "$(dirname "$0")/../lib.sh"
need_cmd socat
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
FR="$PY $ROOT/tests/integration/lib/framing.py"
RSS_LIMIT_KB=${RSS_LIMIT_KB:-65536}
RATE=${RATE:-20000}	# frames/s each of a and b sends (1000 bytes: 20 MB/s)
MIN=$(( RATE * 7 / 10 ))	# what each must receive per second: 70% of the other's rate

hmp() { (echo "$2"; sleep 0.3) | timeout 5 socat - UNIX-CONNECT:"$1" 2>/dev/null | tr -d '\r'; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$(cat "$T/q.pid")/status"; }
# drops NAME - the drops column of NAME in info netstats (header: name type rx_frames rx_bytes
# tx_frames tx_bytes drops ...)
drops() {
	hmp "$T/mon" "info netstats" | awk -v n="$1" '
		$1 == "name" { for (i = 1; i <= NF; i++) if ($i == "drops") col = i; next }
		$1 == n && col { print $col; exit }'
}
# flood_both SECONDS TAG - a and b flood for SECONDS; sets RA RB (frames received per second)
flood_both() {
	timeout $(( $1 + 20 )) $FR flood unix:"$T/a.sock" "$1" --src 1 --rate "$RATE" >"$T/fa.$2" 2>&1 &
	local p1=$!
	timeout $(( $1 + 20 )) $FR flood unix:"$T/b.sock" "$1" --src 2 --rate "$RATE" >"$T/fb.$2" 2>&1 &
	local p2=$!
	bg_track $p1; bg_track $p2
	wait $p1 $p2
	RA=$(awk -v s="$1" '/^sent/ {r = int($4 / s)} END {print r + 0}' "$T/fa.$2")
	RB=$(awk -v s="$1" '/^sent/ {r = int($4 / s)} END {print r + 0}' "$T/fb.$2")
}

qnet_start q -netdev stream,id=a,server=on,addr.type=unix,addr.path="$T/a.sock" \
	-netdev stream,id=b,server=on,addr.type=unix,addr.path="$T/b.sock" \
	-netdev stream,id=c,server=on,addr.type=unix,addr.path="$T/c.sock" \
	-netdev hubport,id=pa,hubid=0,netdev=a -netdev hubport,id=pb,hubid=0,netdev=b \
	-netdev hubport,id=pc,hubid=0,netdev=c -monitor unix:"$T/mon",server=on,wait=off &&
	wait_unix_socket "$T/c.sock" && wait_unix_socket "$T/mon" ||
	{ not_ok "qnet starts"; qnet_log q; finish; }
ok "qnet starts: hub 0 with stream ports a, b, c"

$FR sink unix:"$T/c.sock" 200 "$T/c.count" 2>"$T/sink.err" & sink=$!  # bounded by its 200 s
bg_track $sink
sleep 0.5

flood_both 3 run
echo "# all running: a receives $RA frames/s, b $RB frames/s"
check "a and b exchange frames at ${RATE}/s with c running (a gets $RA/s, b $RB/s, >= $MIN)" \
	[ "$RA" -ge "$MIN" ] && [ "$RB" -ge "$MIN" ]
RA1=$RA RB1=$RB
c_before=$(cat "$T/c.count" 2>/dev/null || echo 0)
check "c receives the flood while running ($c_before frames)" [ "$c_before" -gt 1000 ]

kill -STOP $sink
d0=$(drops c)
rss0=$(rss_kb)
flood_both 3 stall1
rss1=$(rss_kb)
flood_both 3 stall2
rss2=$(rss_kb)
d1=$(drops c)
echo "# c stopped: a $RA frames/s, b $RB frames/s; VmRSS ${rss0} -> ${rss1} -> ${rss2} kB; c drops $d0 -> $d1"
check "a and b keep their rate while c is stopped (a gets $RA/s, b $RB/s, >= $MIN)" \
	[ "$RA" -ge "$MIN" ] && [ "$RB" -ge "$MIN" ]
check "qnet VmRSS stays under ${RSS_LIMIT_KB} kB during the stall (${rss2} kB)" \
	[ "${rss2:-999999999}" -lt "$RSS_LIMIT_KB" ]
check "qnet VmRSS stops growing during the stall (${rss1} -> ${rss2} kB)" \
	[ $(( ${rss2:-0} - ${rss1:-0} )) -lt 8192 ]
check "c's drop counter rises while it is stopped (${d0:-?} -> ${d1:-?})" \
	[ -n "$d0" ] && [ -n "$d1" ] && [ "$d1" -gt "$d0" ]

c_stopped=$(cat "$T/c.count" 2>/dev/null || echo 0)
kill -CONT $sink
c_grew() { [ "$(cat "$T/c.count" 2>/dev/null || echo 0)" -gt $(( c_stopped + 1000 )) ]; }
flood_both 3 resumed &
fpid=$!
wait_for 15 c_grew
rc=$?
wait $fpid
c_after=$(cat "$T/c.count" 2>/dev/null || echo 0)
echo "# after SIGCONT: c count $c_stopped -> $c_after (sink $(ps -o stat= -p $sink))"
check "traffic to c resumes after SIGCONT ($c_stopped -> $c_after)" [ $rc -eq 0 ]
check "qnet is still running" qnet_alive q
kill $sink 2>/dev/null
qnet_stop q
check "qnet exits cleanly on SIGTERM" [ $? -eq 0 ]
finish
