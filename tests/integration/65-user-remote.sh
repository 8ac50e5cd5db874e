#!/bin/bash
# SPDX-License-Identifier: MIT
# 65-user-remote.sh - -netdev user NAT to a "remote" host: a second namespace the test creates,
# joined to the host by a veth pair on a /24 of its own. The guest namespace reaches its HTTP and
# UDP echo servers, a closed port there is refused (RST), a silent address of that subnet is
# reported unreachable (ICMP host unreachable from the failed ARP), as are UDP errors.
#
# Network safety: the remote subnet 10.250.N.0/24 exists only on the veth pair made here.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/user_lib.sh"
need_root
need_cmd ip udhcpc curl ping timeout
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"

G=qnu65g-$$
R=qnu65r-$$
VH=qv65h-$$
VR=qv65r-$$
quiet() { "$@" >/dev/null 2>&1; }
gtool() { timeout 30 ip netns exec "$G" "$PY" "$USER_LIB/user_tool.py" "$@" 2>&1; }

# a /24 that nothing on this machine routes yet (several runs may share the host)
NET=
for i in $(seq 0 40); do
	n=$(( ($$ + i) % 200 + 20 ))
	if ! ip -4 route show | grep -q "^10\.250\.$n\.0/24" && ! ip -4 addr | grep -q "inet 10\.250\.$n\."; then
		NET=10.250.$n
		break
	fi
done
[ -n "$NET" ] || { not_ok "a free 10.250.N.0/24 for the remote namespace"; finish; }
RA=$NET.2
HA=$NET.1
SILENT=$NET.99

ns_create "$G" || { not_ok "namespace $G created"; finish; }
ns_create "$R" || { not_ok "namespace $R created"; finish; }
ip link add "$VH" type veth peer name "$VR" netns "$R" || { not_ok "veth pair created"; finish; }
at_exit "ip link del $VH"
ip addr add "$HA/24" dev "$VH"
ip link set "$VH" up
ip -n "$R" addr add "$RA/24" dev "$VR"
ip -n "$R" link set "$VR" up
check "host $HA reaches the remote namespace $RA over the veth" quiet ping -c 1 -W 3 "$RA"

# remote servers
mkdir -p "$T/www"
echo "remote page" >"$T/www/index.html"
ns_bg "$R" "$T/rhttp.log" "$PY" "$USER_LIB/user_tool.py" http 8080 "$RA" "$T/www"
ns_bg "$R" "$T/rudp.log" "$PY" "$USER_LIB/user_tool.py" udp-echo 9000 "$RA"
ns_bg "$R" "$T/rtcp.log" "$PY" "$USER_LIB/user_tool.py" tcp-echo 9001 "$RA"
check "remote HTTP server listening" wait_for 10 bash -c "ip netns exec $R ss -Hltn 'sport = :8080' | grep -q ."
check "remote UDP echo bound" wait_for 10 bash -c "ip netns exec $R ss -Haun 'sport = :9000' | grep -q ."

if user_start q "$G" ""; then ok "qnet starts (user + tap in $G)"; else
	not_ok "qnet starts (user + tap in $G)"; qnet_log q; finish; fi
if ns_dhcp "$G"; then ok "$G configured by DHCP (default route 10.0.2.2)"; else
	not_ok "$G configured by DHCP"; fi

# ---- reachable through NAT ----
r=$(timeout 30 ip netns exec "$G" curl -sS --max-time 20 "http://$RA:8080/index.html" 2>&1)
check "curl http://$RA:8080/ from $G through the NAT (got '$r')" test "$r" = "remote page"
check "the remote server saw the host's address $HA" grep -q "^$HA .*GET /index.html" "$T/rhttp.log"
r=$(gtool udp-ask "$RA" 9000 remote-udp 5)
check "UDP echo at $RA:9000 through the NAT (got '$r')" test "$r" = remote-udp
r=$(gtool udp-ask "$RA" 9000 'peer?' 5)
check "the remote UDP server sees $HA (got '$r')" bash -c "[[ '$r' == $HA:* ]]"
r=$(gtool tcp-ask "$RA" 9001 'peer?
' 10)
check "the remote TCP server sees $HA (got '${r%$'\n'}')" bash -c "[[ '$r' == $HA:* ]]"
check "ping $RA through the NAT (ICMP socket)" quiet timeout 20 ip netns exec "$G" ping -c 2 -W 3 "$RA"

# ---- refused: a closed port on the remote host ----
r=$(gtool connect "$RA" 8081 20)
check "TCP to closed $RA:8081: refused (RST), not a hang (got '$r')" test "${r%% *}" = ECONNREFUSED
timeout 30 ip netns exec "$G" curl -sSv --max-time 20 "http://$RA:8081/" >"$T/curl-refused.out" 2>&1
check "curl to the closed port: 'Connection refused'" grep -q "Connection refused" "$T/curl-refused.out"
r=$(gtool udp-ask "$RA" 9999 x 5)
check "UDP to closed $RA:9999: the ICMP port unreachable reaches the guest (got '$r')" \
	test "$r" = ECONNREFUSED

# ---- unreachable: nobody at $SILENT ----
r=$(gtool connect "$SILENT" 80 30)
secs=${r#* }
check "TCP to silent $SILENT:80: 'No route to host' (EHOSTUNREACH) (got '$r')" test "${r%% *}" = EHOSTUNREACH
check "... within 20 s, not a hang" bash -c "[ \"\${1%.*}\" -lt 20 ]" _ "$secs"
timeout 40 ip netns exec "$G" curl -sSv --max-time 30 "http://$SILENT:80/" >"$T/curl-unreach.out" 2>&1
check "curl to the silent address: 'No route to host'" grep -q "No route to host" "$T/curl-unreach.out"
r=$(gtool udp-ask "$SILENT" 9000 x 20)
check "UDP to silent $SILENT: ICMP host unreachable reaches the guest (got '$r')" test "$r" = EHOSTUNREACH
timeout 30 ip netns exec "$G" ping -c 1 -W 15 "$SILENT" >"$T/ping-unreach.out" 2>&1
check "ping $SILENT: 'Destination Host Unreachable'" grep -qi "Destination Host Unreachable" "$T/ping-unreach.out" ||
	sed 's/^/#   /' "$T/ping-unreach.out"

hmp q "info usernet" >"$T/usernet.txt"
sed 's/^/#   /' "$T/usernet.txt"
check "info usernet: UDP row 10.0.2.15 -> $RA:9000" \
	grep -qE "^  UDP\[[0-9]+ sec\] +[0-9]+ +10\.0\.2\.15 +[0-9]+ +${RA//./\\.} +9000 " "$T/usernet.txt"
check "info usernet: ICMP row 10.0.2.15 -> $RA" \
	grep -qE "^  ICMP\[[0-9]+ sec\] +[0-9]+ +10\.0\.2\.15  -  +${RA//./\\.}  - " "$T/usernet.txt"
check "info usernet: no TCP row left for the refused and unreachable connects" \
	bash -c "! grep -qE '^  TCP\[.*(${RA//./\\.} +8081|${SILENT//./\\.} +80) ' '$T/usernet.txt'"

check "qnet still running" qnet_alive q
check "qnet exits with status 0 on SIGTERM" qnet_stop q
sanitizer_clean q
finish
