#!/bin/bash
# SPDX-License-Identifier: MIT
# 62-user-nat.sh - -netdev user NAT from a namespace to host loopback through the gateway
# 10.0.2.2: HTTP (curl), ICMP echo, UDP echo, and the rows of `info usernet` in libslirp's format.
#
# Servers listen on 127.0.0.1 only; the client is a namespace the test creates (tap on hub 0).
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/user_lib.sh"
need_root
need_cmd ip udhcpc curl ping timeout sha256sum
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"

G=qnu62-$$
ns_create "$G" || { not_ok "namespace $G created"; finish; }
quiet() { "$@" >/dev/null 2>&1; }

# host servers on loopback: a web root with a random file, a UDP echo, a TCP echo
mkdir -p "$T/www"
head -c 3000000 /dev/urandom >"$T/www/blob.bin"
echo "hello from the host" >"$T/www/index.html"
HTTP=$(free_port tcp)
host_bg "$T/http.log" "$PY" "$USER_LIB/user_tool.py" http "$HTTP" 127.0.0.1 "$T/www"
UDP=$(free_port udp)
host_bg "$T/udp.log" "$PY" "$USER_LIB/user_tool.py" udp-echo "$UDP" 127.0.0.1
TCP=$(free_port tcp)
host_bg "$T/tcp.log" "$PY" "$USER_LIB/user_tool.py" tcp-echo "$TCP" 127.0.0.1
check "host HTTP server on 127.0.0.1:$HTTP" wait_tcp_listen "$HTTP" 10
check "host UDP echo on 127.0.0.1:$UDP" wait_udp_bound "$UDP" 10
check "host TCP echo on 127.0.0.1:$TCP" wait_tcp_listen "$TCP" 10

if user_start q "$G" ""; then ok "qnet starts (user + tap in $G on hub 0)"; else
	not_ok "qnet starts (user + tap in $G on hub 0)"; qnet_log q; finish; fi
if ns_dhcp "$G"; then ok "$G configured by DHCP"; else not_ok "$G configured by DHCP"; fi

# ---- TCP: curl through the gateway ----
r=$(timeout 30 ip netns exec "$G" curl -sS --max-time 20 "http://10.0.2.2:$HTTP/index.html" 2>&1)
check "curl http://10.0.2.2:$HTTP/ from $G gets the host's page" test "$r" = "hello from the host"
s1=$(sha256sum <"$T/www/blob.bin" | cut -d' ' -f1)
s2=$(timeout 60 ip netns exec "$G" curl -sS --max-time 50 "http://10.0.2.2:$HTTP/blob.bin" | sha256sum | cut -d' ' -f1)
check "curl of a 3 MB file: same sha256" test "$s1" = "$s2"
check "the host server saw the requests from 127.0.0.1" grep -q '^127.0.0.1 .*"GET /blob.bin' "$T/http.log"
r=$(timeout 20 ip netns exec "$G" "$PY" "$USER_LIB/user_tool.py" tcp-ask 10.0.2.2 "$TCP" 'peer?
' 10)
check "the host's TCP peer is a loopback address (got '$r')" bash -c "[[ '$r' == 127.* ]]"

# ---- ICMP ----
check "ping 10.0.2.2 answered" quiet timeout 20 ip netns exec "$G" ping -c 3 -W 3 10.0.2.2
check "ping 10.0.2.3 answered" quiet timeout 20 ip netns exec "$G" ping -c 2 -W 3 10.0.2.3
# an echo the kernel won't route itself: to host loopback, sent raw, forwarded by an ICMP socket
r=$(timeout 30 ip netns exec "$G" "$PY" "$USER_LIB/user_tool.py" icmp-raw eth0 127.0.0.1 5 2>&1)
check "ICMP echo to 127.0.0.1 forwarded through a host ICMP socket, reply from 127.0.0.1 (got '$r')" \
	test "$r" = "reply 127.0.0.1"

# ---- UDP ----
r=$(timeout 20 ip netns exec "$G" "$PY" "$USER_LIB/user_tool.py" udp-ask 10.0.2.2 "$UDP" qnet-udp 5 2>&1)
check "UDP echo on host loopback reached through 10.0.2.2:$UDP (got '$r')" test "$r" = qnet-udp
r=$(timeout 20 ip netns exec "$G" "$PY" "$USER_LIB/user_tool.py" udp-ask 10.0.2.2 "$UDP" 'peer?' 5 2>&1)
check "the host's UDP peer is 127.0.0.1 (got '$r')" bash -c "[[ '$r' == 127.0.0.1:* ]]"
big=$(head -c 4000 /dev/zero | tr '\0' u)
r=$(timeout 20 ip netns exec "$G" "$PY" "$USER_LIB/user_tool.py" udp-ask 10.0.2.2 "$UDP" "$big" 5 2>&1)
check "a 4000-byte UDP datagram (IP fragments both ways) echoed whole" test "$r" = "$big"
closed=$(free_port udp)
r=$(timeout 20 ip netns exec "$G" "$PY" "$USER_LIB/user_tool.py" udp-ask 10.0.2.2 "$closed" x 3 2>&1)
check "UDP to a closed host port: the port unreachable reaches the guest (got '$r')" test "$r" = ECONNREFUSED

# ---- info usernet while flows are open ----
ip netns exec "$G" "$PY" "$USER_LIB/user_tool.py" hold 10.0.2.2 "$TCP" 60 >"$T/hold.out" 2>&1 </dev/null &
holder=$!
bg_track "$holder"
wait_for 15 grep -q held "$T/hold.out"
hmp q "info usernet" >"$T/usernet.txt"
sed 's/^/#   /' "$T/usernet.txt"
check "info usernet: header 'Hub 0 (u0):'" test "$(head -1 "$T/usernet.txt")" = "Hub 0 (u0):"
check "info usernet: libslirp's column header" \
	test "$(sed -n 2p "$T/usernet.txt")" = "  Protocol[State]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ"
check "info usernet: TCP[ESTABLISHED] row 10.0.2.15 -> 10.0.2.2:$TCP" \
	grep -qE "^  TCP\[ESTABLISHED\] +[0-9]+ +10\.0\.2\.15 +[0-9]+ +10\.0\.2\.2 +$TCP +[0-9]+ +[0-9]+$" "$T/usernet.txt"
check "info usernet: UDP[N sec] row 10.0.2.15 -> 10.0.2.2:$UDP" \
	grep -qE "^  UDP\[[0-9]+ sec\] +[0-9]+ +10\.0\.2\.15 +[0-9]+ +10\.0\.2\.2 +$UDP +[0-9]+ +[0-9]+$" "$T/usernet.txt"
check "info usernet: ICMP[N sec] row 10.0.2.15 -> 127.0.0.1 with '-' ports" \
	grep -qE "^  ICMP\[[0-9]+ sec\] +[0-9]+ +10\.0\.2\.15  -  +127\.0\.0\.1  -  +[0-9]+ +[0-9]+$" "$T/usernet.txt"
# every row, rebuilt with libslirp's printf formats, is byte for byte the same
bad=0 rows=0
while IFS= read -r line; do
	c1=${line:0:19}
	c1=${c1%"${c1##*[! ]}"}
	read -r fd sa sp da dp rq sq <<<"${line:19}"
	if [ "$sp" = - ]; then
		want=$(printf '%-19s %3d %15s  -    %15s  -    %5d %5d' "$c1" "$fd" "$sa" "$da" "$rq" "$sq")
	else
		want=$(printf '%-19s %3d %15s %5d %15s %5d %5d %5d' "$c1" "$fd" "$sa" "$sp" "$da" "$dp" "$rq" "$sq")
	fi
	rows=$((rows + 1))
	[ "$line" = "$want" ] || { bad=$((bad + 1)); echo "# row differs: '$line' / '$want'"; }
done < <(grep -E '^  (TCP|UDP|ICMP)\[' "$T/usernet.txt")
check "info usernet: all $rows rows in libslirp's exact column format" test "$rows" -ge 3 -a "$bad" -eq 0

kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
gone() { [ "$(usernet_rows q "^  TCP\[[A-Z_0-9]+\] .* 10\.0\.2\.2 +$TCP ")" -eq 0 ]; }
check "the held TCP flow leaves info usernet after it is closed" wait_for 20 gone ||
	hmp q "info usernet" | sed 's/^/#   /'
hmp q "info netstats" >"$T/netstats.txt"
check "info netstats lists u0 with traffic" grep -qE '^u0 +user +[1-9]' "$T/netstats.txt"
check "qnet still running" qnet_alive q
check "qnet exits with status 0 on SIGTERM" qnet_stop q
sanitizer_clean q
finish
