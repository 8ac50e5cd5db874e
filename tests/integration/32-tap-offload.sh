#!/bin/bash
# SPDX-License-Identifier: MIT
# 32-tap-offload.sh - offloads end to end: two namespaces on vnet_hdr taps (TSO on) joined by a hub
# move 100 MB each way with matching sha256, the taps pass 64 KiB TSO frames whole (info netstats:
# rx_max/tx_max and average frame size well above 1514), and a stream client on the same hub gets
# only software segments of at most 1514 bytes with valid checksums.
#
# All traffic stays inside the two namespaces this test creates (10.0.32.0/24 exists only there)
# and on a unix socket in $T.
set -u
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd ip socat sha256sum timeout ss
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"

A=qno-a-$$
B=qno-b-$$
ns_create "$A" || { not_ok "namespace $A created"; finish; }
ns_create "$B" || { not_ok "namespace $B created"; finish; }
MB=${OFFLOAD_MB:-100}

hmp() { (echo "$1"; sleep 0.3) | timeout 5 socat - UNIX-CONNECT:"$T/mon" 2>/dev/null | tr -d '\r'; }
# ncol NAME COLUMN - one column of NAME's line in info netstats
ncol() {
	hmp "info netstats" | awk -v n="$1" -v c="$2" '
		$1 == "name" { for (i = 1; i <= NF; i++) if ($i == c) col = i; next }
		$1 == n && col { print $col; exit }'
}

if qnet_start q \
	-netdev tap,id=t1,netns=/var/run/netns/"$A",ifname=eth0,script=no,downscript=no \
	-netdev hubport,id=p1,hubid=0,netdev=t1 \
	-netdev tap,id=t2,netns=/var/run/netns/"$B",ifname=eth0,script=no,downscript=no \
	-netdev hubport,id=p2,hubid=0,netdev=t2 \
	-netdev stream,id=s,server=on,addr.type=unix,addr.path="$T/s.sock" \
	-netdev hubport,id=p3,hubid=0,netdev=s \
	-monitor unix:"$T/mon",server=on,wait=off; then
	ok "qnet starts: two taps and a stream server on hub 0"
else
	not_ok "qnet starts: two taps and a stream server on hub 0"
	finish
fi
ip -n "$A" addr add 10.0.32.1/24 dev eth0
ip -n "$B" addr add 10.0.32.2/24 dev eth0

# the stream client: checks every frame it gets while the transfers run
"$PY" "$ROOT/tests/integration/lib/segcheck.py" "$T/s.sock" 300 "$T/seg.txt" 2>"$T/seg.log" &
seg=$!
bg_track "$seg"
wait_for 5 test -s "$T/seg.txt"
check "ping $A -> $B" bash -c "timeout 20 ip netns exec $A ping -q -c 3 -W 2 10.0.32.2 >/dev/null"

head -c $((MB * 1000 * 1000)) /dev/urandom >"$T/send.bin"
src_sum=$(sha256sum <"$T/send.bin" | cut -d' ' -f1)
# transfer FROM TO TOADDR TAG - send.bin from namespace FROM to TO over TCP; sha256 must match
transfer() {
	local from=$1 to=$2 addr=$3 tag=$4 srv sum
	rm -f "$T/recv.$tag"
	timeout 120 ip netns exec "$to" socat -u TCP-LISTEN:5032,bind="$addr",reuseaddr \
		OPEN:"$T/recv.$tag",creat,trunc </dev/null >>"$T/socat.log" 2>&1 &
	srv=$!
	bg_track "$srv"
	wait_for 5 bash -c "ip netns exec $to ss -Hltn 'sport = :5032' | grep -q ."
	if ! timeout 120 ip netns exec "$from" socat -u OPEN:"$T/send.bin" TCP:"$addr":5032 \
		2>>"$T/socat.log"; then
		echo "# socat $tag failed" >&2
	fi
	wait "$srv" 2>/dev/null
	sum=$(sha256sum <"$T/recv.$tag" 2>/dev/null | cut -d' ' -f1)
	[ "$sum" = "$src_sum" ]
}
check "$MB MB $A -> $B over TCP: sha256 matches" transfer "$A" "$B" 10.0.32.2 ab
check "$MB MB $B -> $A over TCP: sha256 matches" transfer "$B" "$A" 10.0.32.1 ba

# large frames went through whole: the taps' own counters
hmp "info netstats" >"$T/netstats.txt"
sed 's/^/#   /' "$T/netstats.txt"
for t in t1 t2; do
	rxf=$(ncol $t rx_frames); rxb=$(ncol $t rx_bytes); rxmax=$(ncol $t rx_max)
	txmax=$(ncol $t tx_max)
	avg=$(( ${rxb:-0} / (${rxf:-0} > 0 ? ${rxf:-1} : 1) ))
	echo "# $t: rx_frames $rxf rx_bytes $rxb average $avg rx_max $rxmax tx_max $txmax"
	check "$t received frames averaging well above 1514 bytes (avg $avg)" test "$avg" -gt 6000
	check "$t received TSO frames larger than 32 KiB whole (rx_max $rxmax)" test "${rxmax:-0}" -gt 32768
	check "$t sent TSO frames larger than 32 KiB (tx_max $txmax)" test "${txmax:-0}" -gt 32768
done
check "no frame with bad metadata anywhere" \
	awk '$1 == "name" { for (i = 1; i <= NF; i++) if ($i == "bad_meta") col = i; next }
	     col && NF == 13 && $col != 0 { bad = 1 } END { exit bad || !col }' "$T/netstats.txt"

# the stream client: segments only, checksums valid
sleep 1
read -r _ frames _ tcp _ bad_len _ bad_csum _ max <"$T/seg.txt"
echo "# stream client: frames $frames tcp $tcp bad_len $bad_len bad_csum $bad_csum max $max"
# (the hub forwards without back-pressure, so a slow python reader loses some: counted as drops)
check "the stream client saw the transfers' TCP segments ($tcp)" test "${tcp:-0}" -gt 10000
check "the stream client got no frame above 1514 bytes (max $max)" test "${bad_len:-1}" -eq 0 -a "${max:-9999}" -le 1514
check "every IP/TCP/UDP checksum the stream client got is valid" test "${bad_csum:-1}" -eq 0
sw=$(ncol p3 sw_gso)
check "the core segmented in software for the stream side only ($sw frames)" test "${sw:-0}" -eq 0 -a "$(ncol s sw_gso)" -gt 1000

# vnet_hdr=off: plain frames both ways, as before
kill "$seg" 2>/dev/null
check "qnet exits with status 0 on SIGTERM" qnet_stop q || qnet_log q
if qnet_start o \
	-netdev tap,id=t1,netns=/var/run/netns/"$A",ifname=eth1,script=no,downscript=no,vnet_hdr=off \
	-netdev hubport,id=p1,hubid=0,netdev=t1 \
	-netdev tap,id=t2,netns=/var/run/netns/"$B",ifname=eth1,script=no,downscript=no,vnet_hdr=off \
	-netdev hubport,id=p2,hubid=0,netdev=t2 -monitor unix:"$T/mon",server=on,wait=off; then
	ip -n "$A" addr add 10.0.33.1/24 dev eth1
	ip -n "$B" addr add 10.0.33.2/24 dev eth1
	head -c $((4 * 1000 * 1000)) /dev/urandom >"$T/send.bin"
	src_sum=$(sha256sum <"$T/send.bin" | cut -d' ' -f1)
	check "vnet_hdr=off: 4 MB $A -> $B, sha256 matches" transfer "$A" "$B" 10.0.33.2 off
	rxmax=$(ncol t2 rx_max)
	check "vnet_hdr=off: no frame above 1514 bytes reached the tap (rx_max $rxmax)" \
		test "${rxmax:-9999}" -le 1514
	qnet_stop o
else
	not_ok "qnet starts with vnet_hdr=off taps"
fi
finish
