#!/bin/bash
# SPDX-License-Identifier: MIT
# 69-user-ipv6-tcp.sh - -netdev user TCP over IPv6: a namespace on qnet's tap (SLAAC) reaches
# servers on the host's ::1 through [fec0::2]: curl -6 of a page and a 3 MB file, the peer seen
# as ::1, a refused port reset, MB (100) MB each way with the same sha256 at both ends, N (1000)
# concurrent connections, and the IPv6 rows of info usernet.
#
# qnet and the servers run in a "host" namespace the test creates (its ::1 is ours alone); the
# client namespace is attached by tap. Traffic stays inside the two namespaces.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/user_lib.sh"
need_root
need_cmd ip curl ss timeout sha256sum
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"

MB=${USER_LOAD_MB:-100}
N=${USER_LOAD_CONNS:-1000}
BYTES=$((MB * 1048576))
ulimit -n 16384 2>/dev/null || ulimit -n 8192 2>/dev/null

H=qnu69h-$$ G=qnu69g-$$
for n in "$H" "$G"; do
	ns_create "$n" || { not_ok "namespace $n created"; finish; }
done
ip netns exec "$G" sysctl -qw net.ipv6.conf.default.accept_ra=1 \
	net.ipv6.conf.default.router_solicitation_delay=0 >/dev/null 2>&1
# shellcheck disable=SC2034 # read by lib.sh (qnet_start, host_bg, the port waits)
LIB_NS=$H
has_addr() { ip -n "$1" -6 -o addr show dev eth0 2>/dev/null | grep -v tentative | grep -q " inet6 $2"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
rate() { awk -v b="$BYTES" -v ms="$1" 'BEGIN { printf "%.1f", (ms > 0) ? (b / 1048576 / (ms / 1000)) : 0 }'; }
tool() { "$PY" "$USER_LIB/user_tool.py" "$@"; }

mkdir -p "$T/www"
head -c 3000000 /dev/urandom >"$T/www/blob.bin"
echo "hello from ::1" >"$T/www/index.html"
HTTP=8080 ECHO=8081 SINK=8082 SRC=8083 CLOSED=8084
host_bg "$T/http.log" "$PY" "$USER_LIB/user_tool.py" http "$HTTP" ::1 "$T/www"
host_bg "$T/echo.log" "$PY" "$USER_LIB/user_tool.py" tcp-echo "$ECHO" ::1
host_bg "$T/sink.out" "$PY" "$USER_LIB/user_tool.py" sink "$SINK" ::1
host_bg "$T/src.out" "$PY" "$USER_LIB/user_tool.py" source "$SRC" ::1 "$BYTES" 1
for p in "$HTTP" "$ECHO" "$SINK" "$SRC"; do
	check "server on [::1]:$p (in $H)" wait_tcp_listen "$p" 10
done

check "qnet starts in $H with a tap in $G" user_start q "$G" ""
check "$G: SLAAC address in fec0::/64" wait_for 20 has_addr "$G" "fec0::"

# ---- curl -6 ----
r=$(timeout 30 ip netns exec "$G" curl -6 -gsS --max-time 20 "http://[fec0::2]:$HTTP/index.html" 2>&1)
check "curl -6 http://[fec0::2]:$HTTP/ gets the page of the server on ::1 (got '$r')" \
	test "$r" = "hello from ::1"
s1=$(sha256sum <"$T/www/blob.bin" | cut -d' ' -f1)
s2=$(timeout 60 ip netns exec "$G" curl -6 -gsS --max-time 50 "http://[fec0::2]:$HTTP/blob.bin" | sha256sum | cut -d' ' -f1)
check "curl -6 of a 3 MB file: same sha256" test "$s1" = "$s2"
check "the server saw the requests from ::1" grep -q '^::1 .*"GET /blob.bin' "$T/http.log"
r=$(timeout 20 ip netns exec "$G" "$PY" "$USER_LIB/user_tool.py" tcp-ask fec0::2 "$ECHO" 'peer?
' 10)
check "the host's TCP peer is ::1 (got '$r')" bash -c "[[ '$r' == ::1:* ]]"
r=$(timeout 20 ip netns exec "$G" "$PY" "$USER_LIB/user_tool.py" connect fec0::2 "$CLOSED" 5 2>&1)
check "a closed port on ::1 is refused (got '$r')" bash -c "[[ '$r' == ECONNREFUSED* ]]"

# ---- info usernet while a connection is open ----
ns_bg "$G" "$T/hold.out" "$PY" "$USER_LIB/user_tool.py" hold fec0::2 "$ECHO" 6
wait_for 10 grep -q held "$T/hold.out"
hmp q "info usernet" >"$T/usernet.txt"
check "info usernet lists the IPv6 connection (fec0:: guest -> fec0::2 $ECHO)" \
	grep -qE "^  TCP\[ESTABLISHED\] +[0-9]+ +fec0::[0-9a-f:]+ +[0-9]+ +fec0::2 +$ECHO " "$T/usernet.txt"

# ---- $MB MB each way ----
t0=$(now_ms)
timeout 600 ip netns exec "$G" "$PY" "$USER_LIB/user_tool.py" send fec0::2 "$SINK" "$BYTES" 3 300 >"$T/send.out" 2>&1
ms=$(( $(now_ms) - t0 ))
l=$(sed -n 's/^local //p' "$T/send.out") r=$(sed -n 's/^remote //p' "$T/send.out")
check "$MB MB namespace -> [::1] via [fec0::2]: same sha256 both ends (${ms} ms, $(rate "$ms") MB/s)" \
	test -n "$l" -a "$l" = "$r" -a "${l%% *}" = "$BYTES" || sed 's/^/#   /' "$T/send.out"
t0=$(now_ms)
got=$(timeout 600 ip netns exec "$G" "$PY" "$USER_LIB/user_tool.py" recv fec0::2 "$SRC" 300 2>&1)
ms=$(( $(now_ms) - t0 ))
wait_for 10 test -s "$T/src.out"
sent=$(cat "$T/src.out")
check "$MB MB [::1] -> namespace via [fec0::2]: same sha256 both ends (${ms} ms, $(rate "$ms") MB/s)" \
	test -n "$sent" -a "$got" = "$sent" || echo "#   sent '$sent' got '$got'"

# ---- $N concurrent connections ----
r=$(timeout 300 ip netns exec "$G" bash -c "ulimit -n 16384; '$PY' '$USER_LIB/user_tool.py' conns fec0::2 $ECHO $N 240" 2>&1)
check "$N concurrent IPv6 connections through [fec0::2], one byte echoed on each (got '$r')" \
	bash -c "[[ '$r' == 'opened $N echoed $N closed $N'* ]]"

check "q still running" qnet_alive q
sanitizer_clean q
finish
