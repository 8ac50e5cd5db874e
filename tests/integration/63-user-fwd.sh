#!/bin/bash
# SPDX-License-Identifier: MIT
# 63-user-fwd.sh - -netdev user forwarding: hostfwd (TCP, UDP; command line and HMP
# hostfwd_add/hostfwd_remove) from host loopback into a namespace, 50 concurrent hostfwd
# connections, guestfwd to a command and to a TCP service on host loopback.
#
# Host clients use 127.0.0.1 only; the servers run in the namespace the test creates.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/user_lib.sh"
need_root
need_cmd ip udhcpc ss timeout
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"

G=qnu63-$$
ns_create "$G" || { not_ok "namespace $G created"; finish; }
tool() { timeout 30 "$PY" "$USER_LIB/user_tool.py" "$@" 2>&1; }
gtool() { timeout 30 ip netns exec "$G" "$PY" "$USER_LIB/user_tool.py" "$@" 2>&1; }
tcp_listening() { [ -n "$(ss -Hltn "src 127.0.0.1:$1")" ]; }
udp_bound() { [ -n "$(ss -Haun "src 127.0.0.1:$1")" ]; }

# servers inside the namespace (any address: the guest side of the forwards)
GT=7001 GU=7002
ns_bg "$G" "$T/gtcp.log" "$PY" "$USER_LIB/user_tool.py" tcp-echo "$GT" 0.0.0.0
ns_bg "$G" "$T/gudp.log" "$PY" "$USER_LIB/user_tool.py" udp-echo "$GU" 0.0.0.0
# a TCP service on host loopback for guestfwd
HS=$(free_port tcp)
host_bg "$T/hs.log" "$PY" "$USER_LIB/user_tool.py" tcp-echo "$HS" 127.0.0.1
check "host TCP echo for guestfwd on 127.0.0.1:$HS" wait_tcp_listen "$HS" 10

HT=$(free_port tcp)
HU=$(free_port udp)
if user_start q "$G" "hostfwd=tcp:127.0.0.1:$HT-:$GT,hostfwd=udp:127.0.0.1:$HU-:$GU,guestfwd=tcp:10.0.2.100:4444-cmd:cat,guestfwd=tcp:10.0.2.101:80-tcp:127.0.0.1:$HS"; then
	ok "qnet starts with hostfwd tcp/udp and two guestfwd rules"
else
	not_ok "qnet starts with hostfwd tcp/udp and two guestfwd rules"
	qnet_log q
	finish
fi
if ns_dhcp "$G"; then ok "$G configured by DHCP (10.0.2.15)"; else not_ok "$G configured by DHCP"; fi
wait_for 10 bash -c "ip netns exec $G ss -Hltn 'sport = :$GT' | grep -q ."

# ---- hostfwd from the command line ----
check "TCP hostfwd listener on 127.0.0.1:$HT" tcp_listening "$HT"
check "UDP hostfwd socket on 127.0.0.1:$HU" udp_bound "$HU"
r=$(tool tcp-ask 127.0.0.1 "$HT" hello-tcp)
check "TCP 127.0.0.1:$HT -> $G:$GT echoes (got '$r')" test "$r" = hello-tcp
r=$(tool tcp-ask 127.0.0.1 "$HT" 'peer?
')
check "the namespace sees the loopback client as 10.0.2.2 (got '${r%$'\n'}')" bash -c "[[ '$r' == 10.0.2.2:* ]]"
r=$(tool udp-ask 127.0.0.1 "$HU" hello-udp 5)
check "UDP 127.0.0.1:$HU -> $G:$GU echoes (got '$r')" test "$r" = hello-udp
r=$(tool udp-ask 127.0.0.1 "$HU" 'peer?' 5)
check "the namespace sees the UDP loopback client as 10.0.2.2 (got '$r')" bash -c "[[ '$r' == 10.0.2.2:* ]]"
head -c 2000000 /dev/urandom >"$T/blob"
s1=$(sha256sum <"$T/blob" | cut -d' ' -f1)
s2=$(timeout 60 "$PY" -c '
import socket, sys, hashlib, threading
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
data = open(sys.argv[2], "rb").read()
def w():
    s.sendall(data); s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=w); t.start()
h = hashlib.sha256(); n = 0
while n < len(data):
    d = s.recv(1 << 20)
    if not d: break
    h.update(d); n += len(d)
t.join(); print(h.hexdigest())' "$HT" "$T/blob" 2>&1)
check "2 MB through the TCP hostfwd and back: same sha256" test "$s1" = "$s2"
hmp q "info usernet" >"$T/usernet1.txt"
check "info usernet: TCP[HOST_FORWARD] row 127.0.0.1:$HT -> 10.0.2.15:$GT" \
	grep -qE "^  TCP\[HOST_FORWARD\] +[0-9]+ +127\.0\.0\.1 +$HT +10\.0\.2\.15 +$GT +0 +0$" "$T/usernet1.txt"
check "info usernet: UDP[HOST_FORWARD] row 127.0.0.1:$HU -> 10.0.2.15:$GU" \
	grep -qE "^  UDP\[HOST_FORWARD\] +[0-9]+ +127\.0\.0\.1 +$HU +10\.0\.2\.15 +$GU +0 +0$" "$T/usernet1.txt"

# ---- 50 concurrent connections through the TCP hostfwd ----
r=$(tool conns 127.0.0.1 "$HT" 50 60)
check "50 concurrent hostfwd connections opened, echoed, closed (got '$r')" \
	bash -c "[[ '$r' == 'opened 50 echoed 50 closed 50 '* ]]"
# (connection rows, not the HOST_FORWARD listener rows)
gone() { [ "$(hmp q "info usernet" | grep -E "^  TCP\[" | grep -v HOST_FORWARD | grep -cE " 10\.0\.2\.15 +$GT ")" -eq 0 ]; }
check "no hostfwd connection rows left after they closed" wait_for 20 gone

# ---- hostfwd_add / hostfwd_remove at run time ----
HT2=$(free_port tcp)
HU2=$(free_port udp)
r=$(hmp q "hostfwd_add tcp:127.0.0.1:$HT2-10.0.2.15:$GT")
check "hostfwd_add tcp:127.0.0.1:$HT2-10.0.2.15:$GT prints nothing (got '$r')" test -z "$r"
r=$(hmp q "hostfwd_add u0 udp:127.0.0.1:$HU2-10.0.2.15:$GU")
check "hostfwd_add u0 udp:... (with the netdev id) prints nothing (got '$r')" test -z "$r"
check "run-time TCP listener on 127.0.0.1:$HT2" tcp_listening "$HT2"
r=$(tool tcp-ask 127.0.0.1 "$HT2" runtime-tcp)
check "run-time TCP hostfwd echoes (got '$r')" test "$r" = runtime-tcp
r=$(tool udp-ask 127.0.0.1 "$HU2" runtime-udp 5)
check "run-time UDP hostfwd echoes (got '$r')" test "$r" = runtime-udp
r=$(hmp q "hostfwd_add tcp:127.0.0.1:$HT2-10.0.2.15:$GT")
check "hostfwd_add on a port in use: QEMU's error (got '$r')" \
	test "$r" = "Could not set up host forwarding rule 'tcp:127.0.0.1:$HT2-10.0.2.15:$GT'"
r=$(hmp q "hostfwd_add tcp:127.0.0.1:x-:1")
check "hostfwd_add with a bad port: QEMU's error (got '$r')" \
	test "$r" = "Invalid host forwarding rule 'tcp:127.0.0.1:x-:1' (Bad host port)"
r=$(hmp q "hostfwd_remove tcp:127.0.0.1:$HT2")
check "hostfwd_remove tcp: QEMU's message (got '$r')" \
	test "$r" = "host forwarding rule for tcp:127.0.0.1:$HT2 removed"
check "the TCP listener on $HT2 is closed" wait_for 5 eval "! tcp_listening $HT2"
r=$(tool connect 127.0.0.1 "$HT2" 5)
check "a connect to $HT2 is refused now (got '$r')" test "${r%% *}" = ECONNREFUSED
r=$(hmp q "hostfwd_remove u0 udp:127.0.0.1:$HU2")
check "hostfwd_remove u0 udp: QEMU's message (got '$r')" \
	test "$r" = "host forwarding rule for udp:127.0.0.1:$HU2 removed"
check "the UDP socket on $HU2 is closed" wait_for 5 eval "! udp_bound $HU2"
r=$(hmp q "hostfwd_remove tcp:127.0.0.1:$HT2")
check "hostfwd_remove again: not found (got '$r')" \
	test "$r" = "host forwarding rule for tcp:127.0.0.1:$HT2 not found"
# a forward to a guest port where nothing listens: the guest's RST closes the host connection
HT3=$(free_port tcp)
hmp q "hostfwd_add tcp:127.0.0.1:$HT3-10.0.2.15:7009" >/dev/null
t0=$(date +%s)
r=$(tool tcp-ask 127.0.0.1 "$HT3" nobody 20)
secs=$(( $(date +%s) - t0 ))
check "hostfwd to a closed guest port: the host client gets no echo, the connection ends (${secs}s) (got '${r//$'\n'/ }')" \
	test "$r" != nobody -a "$secs" -lt 15
stale() { [ "$(hmp q "info usernet" | grep -E "^  TCP\[" | grep -v HOST_FORWARD | grep -cE " 10\.0\.2\.15 +7009 ")" -eq 0 ]; }
check "... and leaves no row in info usernet" wait_for 15 stale
hmp q "hostfwd_remove tcp:127.0.0.1:$HT3" >/dev/null
check "the command-line TCP hostfwd still works" test "$(tool tcp-ask 127.0.0.1 "$HT" still)" = still

# ---- guestfwd ----
r=$(gtool tcp-ask 10.0.2.100 4444 'through cat')
check "guestfwd 10.0.2.100:4444 -> cmd:cat echoes (got '$r')" test "$r" = "through cat"
r1=$(gtool tcp-ask 10.0.2.100 4444 one) r2=$(gtool tcp-ask 10.0.2.100 4444 two)
check "guestfwd cmd: each connection its own command (got '$r1' '$r2')" test "$r1$r2" = onetwo
r=$(gtool tcp-ask 10.0.2.101 80 'via guestfwd')
check "guestfwd 10.0.2.101:80 -> tcp:127.0.0.1:$HS echoes (got '$r')" test "$r" = "via guestfwd"
r=$(gtool tcp-ask 10.0.2.101 80 'peer?
')
check "the host service sees a loopback client (got '${r%$'\n'}')" bash -c "[[ '$r' == 127.0.0.1:* ]]"

check "qnet still running" qnet_alive q
check "qnet exits with status 0 on SIGTERM" qnet_stop q
check "the hostfwd listener is gone after exit" wait_for 5 eval "! tcp_listening $HT"
sanitizer_clean q
finish
