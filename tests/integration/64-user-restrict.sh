#!/bin/bash
# SPDX-License-Identifier: MIT
# 64-user-restrict.sh - -netdev user,restrict=on seen from a namespace: DHCP without router and
# DNS, new outbound TCP reset at once, outbound UDP dropped, hostfwd and guestfwd still working.
#
# The host servers listen on 127.0.0.1 only; the client is a namespace the test creates.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/user_lib.sh"
need_root
need_cmd ip udhcpc curl ping ss timeout
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"

G=qnu64-$$
ns_create "$G" || { not_ok "namespace $G created"; finish; }
quiet() { "$@" >/dev/null 2>&1; }
tool() { timeout 30 "$PY" "$USER_LIB/user_tool.py" "$@" 2>&1; }
gtool() { timeout 30 ip netns exec "$G" "$PY" "$USER_LIB/user_tool.py" "$@" 2>&1; }
env_val() { sed -n "s/^$2=//p" "$1" 2>/dev/null | head -1; }

# host services on loopback that the restricted guest must NOT reach (and one it may, by guestfwd)
HP=$(free_port tcp)
host_bg "$T/htcp.log" "$PY" "$USER_LIB/user_tool.py" tcp-echo "$HP" 127.0.0.1
HUP=$(free_port udp)
host_bg "$T/hudp.log" "$PY" "$USER_LIB/user_tool.py" udp-echo "$HUP" 127.0.0.1
check "host TCP echo on 127.0.0.1:$HP" wait_tcp_listen "$HP" 10
check "host UDP echo on 127.0.0.1:$HUP" wait_udp_bound "$HUP" 10
GT=7001
ns_bg "$G" "$T/gtcp.log" "$PY" "$USER_LIB/user_tool.py" tcp-echo "$GT" 0.0.0.0
HT=$(free_port tcp)

if user_start q "$G" "restrict=on,hostfwd=tcp:127.0.0.1:$HT-:$GT,guestfwd=tcp:10.0.2.100:4444-tcp:127.0.0.1:$HP"; then
	ok "qnet starts with restrict=on, a hostfwd and a guestfwd"
else
	not_ok "qnet starts with restrict=on, a hostfwd and a guestfwd"
	qnet_log q
	finish
fi

# ---- DHCP ----
if ns_dhcp "$G" "$T/ud"; then ok "DHCP works under restrict=on"; else
	not_ok "DHCP works under restrict=on"; sed 's/^/#   /' "$T/ud.log"; fi
check "DHCP: address 10.0.2.15" test "$(env_val "$T/ud.bound" ip)" = 10.0.2.15
check "DHCP: netmask /24" test "$(env_val "$T/ud.bound" mask)" = 24
check "DHCP: no router option" test -z "$(env_val "$T/ud.bound" router)"
check "DHCP: no DNS option" test -z "$(env_val "$T/ud.bound" dns)"
check "DHCP: server id 10.0.2.2" test "$(env_val "$T/ud.bound" serverid)" = 10.0.2.2
check "no default route in $G (nothing told it one)" test -z "$(ip -n "$G" route show default)"

# ---- outbound TCP: reset at once ----
start=$(date +%s%N)
timeout 30 ip netns exec "$G" curl -sSv --max-time 20 "http://10.0.2.2:$HP/" >"$T/curl.out" 2>&1
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "curl http://10.0.2.2:$HP/ fails with exit 7 (couldn't connect) (got $rc)" test "$rc" -eq 7
check "... because the connection was refused (curl -v: 'Connection refused')" \
	grep -q "port $HP failed: Connection refused" "$T/curl.out" ||
	sed 's/^/#   /' "$T/curl.out"
check "... fast, not a timeout (${ms} ms < 3000)" test "$ms" -lt 3000
r=$(gtool connect 10.0.2.2 "$HP" 10)
check "a TCP connect to 10.0.2.2:$HP is refused (RST) (got '$r')" test "${r%% *}" = ECONNREFUSED

# ---- outbound UDP and ICMP ----
r=$(gtool udp-ask 10.0.2.2 "$HUP" restricted 3)
check "UDP to the host's echo is dropped (got '$r')" test "$r" = timeout
r=$(gtool dns 10.0.2.3 qnet.test A udp)
check "DNS to 10.0.2.3 is dropped (got '${r//$'\n'/ }')" bash -c "[[ '$r' != 1* ]]"
check "ping 10.0.2.2 still answered (the gateway itself)" \
	quiet timeout 20 ip netns exec "$G" ping -c 2 -W 3 10.0.2.2

# ---- what restrict=on still allows ----
r=$(tool tcp-ask 127.0.0.1 "$HT" into-restricted)
check "TCP hostfwd 127.0.0.1:$HT -> $G:$GT works (got '$r')" test "$r" = into-restricted
r=$(tool conns 127.0.0.1 "$HT" 20 60)
check "20 concurrent hostfwd connections under restrict=on (got '$r')" \
	bash -c "[[ '$r' == 'opened 20 echoed 20 closed 20 '* ]]"
r=$(gtool tcp-ask 10.0.2.100 4444 via-guestfwd)
check "guestfwd 10.0.2.100:4444 -> 127.0.0.1:$HP works under restrict=on (got '$r')" test "$r" = via-guestfwd

hmp q "info usernet" >"$T/usernet.txt"
check "info usernet: no outbound TCP row to 10.0.2.2:$HP" \
	bash -c "! grep -qE '10\.0\.2\.2 +$HP ' '$T/usernet.txt'"
hmp q "info network" >"$T/network.txt"
check "info network: u0 shows restrict=on" grep -q 'u0: .*net=10.0.2.0,restrict=on' "$T/network.txt"
check "qnet still running" qnet_alive q
check "qnet exits with status 0 on SIGTERM" qnet_stop q
sanitizer_clean q
finish
