#!/bin/bash
# SPDX-License-Identifier: MIT
# 67-user-offload.sh - the user stack and a vnet_hdr tap exchange 64 KiB TSO frames both ways:
# a namespace moves MB megabytes to and from host loopback through 10.0.2.2 with matching sha256,
# and `info netstats` shows frames far above the MTU on the user netdev in both directions
# (rx_max: guest TSO segments taken whole; tx_max: TSO frames the stack built). With
# vnet_hdr=off on the tap the same transfers work and no frame exceeds 1514 bytes.
#
# Servers listen on 127.0.0.1 only; the client is a namespace the test creates.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/user_lib.sh"
need_root
need_cmd ip udhcpc timeout
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"
MB=${OFFLOAD_MB:-50}
BYTES=$((MB * 1000000))

# ncol NAME CLIENT COLUMN - one column of CLIENT's line in qnet NAME's info netstats
ncol() {
	hmp "$1" "info netstats" | awk -v n="$2" -v c="$3" '
		$1 == "name" { for (i = 1; i <= NF; i++) if ($i == c) col = i; next }
		$1 == n && col { print $col; exit }'
}

# transfers NAME NS LABEL - MB each way between NS and host loopback, sha256 checked
transfers() {
	local name=$1 ns=$2 label=$3 port out want got
	port=$(free_port tcp)
	host_bg "$T/src.$label.log" "$PY" "$USER_LIB/user_tool.py" source "$port" 127.0.0.1 "$BYTES" 7
	wait_tcp_listen "$port" 10
	got=$(timeout 120 ip netns exec "$ns" "$PY" "$USER_LIB/user_tool.py" recv 10.0.2.2 "$port" 100)
	wait_for 10 grep -q . "$T/src.$label.log"
	want=$(cat "$T/src.$label.log")
	check "$label: host->namespace $MB MB, same sha256 ($got)" test -n "$got" -a "$got" = "$want"
	port=$(free_port tcp)
	host_bg "$T/sink.$label.log" "$PY" "$USER_LIB/user_tool.py" sink "$port" 127.0.0.1
	wait_tcp_listen "$port" 10
	out=$(timeout 120 ip netns exec "$ns" "$PY" "$USER_LIB/user_tool.py" send 10.0.2.2 "$port" "$BYTES" 9 100)
	want=$(echo "$out" | awk '$1 == "local" { print $2, $3 }')
	got=$(echo "$out" | awk '$1 == "remote" { print $2, $3 }')
	check "$label: namespace->host $MB MB, same sha256 ($got)" test -n "$got" -a "$got" = "$want"
}

G=qnu67-$$
ns_create "$G" || { not_ok "namespace $G created"; finish; }
if user_start q "$G" ""; then ok "qnet starts (user + vnet_hdr tap in $G on hub 0)"; else
	not_ok "qnet starts"; qnet_log q; finish; fi
check "$G configured by DHCP" ns_dhcp "$G"
transfers q "$G" offload
rx=$(ncol q u0 rx_max); tx=$(ncol q u0 tx_max)
check "the user netdev took guest TSO segments whole (rx_max $rx > 1514)" test "${rx:-0}" -gt 9000
check "the user netdev sent TSO frames (tx_max $tx > 1514)" test "${tx:-0}" -gt 9000
sw=$(ncol q t0 sw_gso)
check "nothing was segmented in software for the tap (sw_gso ${sw:-?})" test "${sw:-1}" -eq 0
check "qnet still running" qnet_alive q
qnet_stop q

G2=qnu67b-$$
ns_create "$G2" || { not_ok "namespace $G2 created"; finish; }
if qnet_start q2 \
	-netdev tap,id=t0,netns=/var/run/netns/"$G2",ifname=eth0,script=no,downscript=no,vnet_hdr=off \
	-netdev "user,id=u0,resolv-conf=$T/resolv.conf" \
	-netdev hubport,id=p0,hubid=0,netdev=u0 -netdev hubport,id=p1,hubid=0,netdev=t0 \
	-monitor "unix:$T/q2.mon,server=on,wait=off" && wait_unix_socket "$T/q2.mon" 10; then
	ok "qnet starts (user + tap with vnet_hdr=off)"
else
	not_ok "qnet starts (vnet_hdr=off)"; qnet_log q2; finish
fi
check "$G2 configured by DHCP" ns_dhcp "$G2"
transfers q2 "$G2" plain
rx=$(ncol q2 u0 rx_max); tx=$(ncol q2 u0 tx_max)
check "no offloads on the path: user netdev frames stay <= 1514 (rx_max $rx, tx_max $tx)" \
	test "${rx:-99999}" -le 1514 -a "${tx:-99999}" -le 1514
check "qnet still running" qnet_alive q2
finish
