#!/bin/bash
# SPDX-License-Identifier: MIT
# 21-socket.sh - legacy -netdev socket: listen, connect, fd, udp and mcast carry frames.
#
# Python peers speak the framing (TCP) or send one frame per datagram (udp, mcast). Multicast
# runs inside a network namespace this test creates (group 239.192.168.1:1102 like UML, on lo
# with localaddr=127.0.0.1). Also: QEMU's info_str texts and option errors.
set -u
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd ss socat ip
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
FR="$PY $ROOT/tests/integration/lib/framing.py"

hmp() { (echo "$2"; sleep 0.3) | timeout 5 socat - UNIX-CONNECT:"$1" 2>/dev/null | tr -d '\r'; }

# ---- listen= and connect=: qnet A listens, qnet B connects, unix stream peers on both hubs ----
pl=$(free_port)
qnet_start a -netdev socket,id=l,listen=127.0.0.1:"$pl" \
	-netdev stream,id=ua,server=on,addr.type=unix,addr.path="$T/ua.sock" \
	-netdev hubport,id=p1,hubid=0,netdev=l -netdev hubport,id=p2,hubid=0,netdev=ua \
	-monitor unix:"$T/mona",server=on,wait=off &&
	wait_tcp_listen "$pl" && wait_unix_socket "$T/mona" || { not_ok "qnet a starts"; qnet_log a; finish; }
out=$(hmp "$T/mona" "info network")
check "listen= without a peer: empty info_str" grep -q "l: index=0,type=socket,$" <<<"$out"
qnet_start b -netdev socket,id=c,connect=127.0.0.1:"$pl" \
	-netdev stream,id=ub,server=on,addr.type=unix,addr.path="$T/ub.sock" \
	-netdev hubport,id=p1,hubid=0,netdev=c -netdev hubport,id=p2,hubid=0,netdev=ub \
	-monitor unix:"$T/monb",server=on,wait=off &&
	wait_unix_socket "$T/ub.sock" && wait_unix_socket "$T/monb" || { not_ok "qnet b starts"; qnet_log b; finish; }
sleep 0.5
out=$(hmp "$T/mona" "info network")
check "listen= info_str: socket: connection from 127.0.0.1:PORT" \
	grep -qE "l: index=0,type=socket,socket: connection from 127\.0\.0\.1:[0-9]+$" <<<"$out"
out=$(hmp "$T/monb" "info network")
check "connect= info_str: socket: connect to 127.0.0.1:$pl" \
	grep -qF "c: index=0,type=socket,socket: connect to 127.0.0.1:$pl" <<<"$out"
check "frames cross socket listen= <-> connect= both ways (300 each, 1400 bytes)" \
	timeout 60 $FR mesh --count 300 --size 1400 unix:"$T/ua.sock" unix:"$T/ub.sock"
qnet_stop b
sleep 0.5
out=$(hmp "$T/mona" "info network")
check "listen=: info_str cleared when the peer leaves" grep -q "l: index=0,type=socket,$" <<<"$out"
check "listen=: a Python client is accepted next and exchanges frames" \
	timeout 60 $FR mesh --count 100 unix:"$T/ua.sock" tcp:127.0.0.1:"$pl"
qnet_stop a

# ---- fd=: a socketpair end passed to qnet ----
cat >"$T/fd.py" <<'EOF'
import os, socket, subprocess, sys, time
sys.path.insert(0, sys.argv[1])
import framing
qnet, tdir = sys.argv[2], sys.argv[3]
a, b = socket.socketpair()
fd = a.fileno()
p = subprocess.Popen([qnet, "-netdev", f"socket,id=f,fd={fd}",
                      "-netdev", f"stream,id=u,server=on,addr.type=unix,addr.path={tdir}/fd.sock",
                      "-netdev", "hubport,id=p1,hubid=0,netdev=f",
                      "-netdev", "hubport,id=p2,hubid=0,netdev=u"],
                     pass_fds=[fd], stdin=subprocess.DEVNULL)
a.close()
rc = 1
try:
    u = framing.Stream(f"unix:{tdir}/fd.sock")
    b.setblocking(False)
    s = framing.Stream.__new__(framing.Stream)
    s.sock, s.buf, s.eof, s.spec, s.self_hears = b, bytearray(), False, "fd", False
    time.sleep(0.3)
    for i in range(50):
        s.send(framing.mkframe(1, i))
        u.send(framing.mkframe(2, i))
    got_u, got_s = [], []
    end = time.time() + 10
    while time.time() < end and (len(got_u) < 50 or len(got_s) < 50):
        time.sleep(0.05)
        got_u += [framing.parse(f) for f in u.pump()]
        got_s += [framing.parse(f) for f in s.pump()]
    ok = got_u == [(1, i) for i in range(50)] and got_s == [(2, i) for i in range(50)]
    framing.log(f"fd: unix got {len(got_u)}, fd peer got {len(got_s)}")
    rc = 0 if ok else 1
finally:
    p.terminate()
    p.wait(timeout=5)
sys.exit(rc)
EOF
check "fd= (stream socketpair) carries frames both ways" \
	timeout 60 "$PY" "$T/fd.py" "$ROOT/tests/integration/lib" "$QNET" "$T"

# ---- udp= ----
pr=$(free_port udp)
pu=$(free_port udp)
while [ "$pu" = "$pr" ]; do pu=$(free_port udp); done
qnet_start u -netdev socket,id=u,udp=127.0.0.1:"$pr",localaddr=127.0.0.1:"$pu" \
	-netdev stream,id=s,server=on,addr.type=unix,addr.path="$T/us.sock" \
	-netdev hubport,id=p1,hubid=0,netdev=u -netdev hubport,id=p2,hubid=0,netdev=s \
	-monitor unix:"$T/monu",server=on,wait=off &&
	wait_unix_socket "$T/us.sock" && wait_unix_socket "$T/monu" || { not_ok "qnet udp starts"; qnet_log u; finish; }
out=$(hmp "$T/monu" "info network")
check "udp= info_str: socket: udp=127.0.0.1:$pr" \
	grep -qF "u: index=0,type=socket,socket: udp=127.0.0.1:$pr" <<<"$out"
check "udp= carries frames both ways (200 each)" \
	timeout 60 $FR mesh --settle 1 --count 200 --size 300 unix:"$T/us.sock" udp:127.0.0.1:"$pr":127.0.0.1:"$pu"
qnet_stop u

# ---- mcast= inside a namespace of our own ----
ns=qnet-t21-$$
if ns_create "$ns"; then
	ok "namespace $ns created"
	ip -n "$ns" link set lo multicast on
	LIB_NS=$ns qnet_start mc -netdev socket,id=mc,mcast=239.192.168.1:1102,localaddr=127.0.0.1 \
		-netdev stream,id=s,server=on,addr.type=unix,addr.path="$T/ms.sock" \
		-netdev hubport,id=p1,hubid=0,netdev=mc -netdev hubport,id=p2,hubid=0,netdev=s \
		-monitor unix:"$T/monm",server=on,wait=off &&
		wait_unix_socket "$T/ms.sock" || { not_ok "qnet mcast starts"; qnet_log mc; }
	out=$(hmp "$T/monm" "info network")
	check "mcast= info_str: socket: mcast=239.192.168.1:1102" \
		grep -qF "mc: index=0,type=socket,socket: mcast=239.192.168.1:1102" <<<"$out"
	check "mcast= (239.192.168.1:1102, localaddr=127.0.0.1) carries frames both ways" \
		timeout 60 ip netns exec "$ns" $FR mesh --settle 1 --allow-self --count 100 unix:"$T/ms.sock" \
		mcast:239.192.168.1:1102:127.0.0.1
	qnet_stop mc
else
	not_ok "namespace $ns created"
fi

# ---- errors with QEMU's texts ----
experr() {
	local want=$1; shift
	local out
	out=$(timeout 5 "$QNET" "$@" 2>&1 </dev/null)
	local rc=$?
	if [ $rc -ne 0 ] && grep -qF -- "$want" <<<"$out"; then ok "error: $want"; else
		not_ok "error: $want (rc $rc: $out)"; fi
}
experr "exactly one of listen=, connect=, mcast= or udp= is required" -netdev socket,id=s
experr "exactly one of listen=, connect=, mcast= or udp= is required" \
	-netdev socket,id=s,listen=127.0.0.1:1,connect=127.0.0.1:2
experr "localaddr= is only valid with mcast= or udp=" \
	-netdev socket,id=s,listen=127.0.0.1:"$(free_port)",localaddr=127.0.0.1
experr "localaddr= is mandatory with udp=" -netdev socket,id=s,udp=127.0.0.1:9
experr "host address '127.0.0.1' doesn't contain ':' separating host from port" \
	-netdev socket,id=s,listen=127.0.0.1
experr "host address '127.0.0.300' is not a valid IPv4 address" \
	-netdev socket,id=s,listen=127.0.0.300:1
experr "port number 'x' is invalid" -netdev socket,id=s,listen=127.0.0.1:x
experr "specified mcastaddr 127.0.0.1 (0x7f000001) does not contain a multicast address" \
	-netdev socket,id=s,mcast=127.0.0.1:1102
experr "localaddr 'nope' is not a valid IPv4 address" \
	-netdev socket,id=s,mcast=239.192.168.1:1102,localaddr=nope
experr "s: Can't use file descriptor 987: Bad file descriptor" -netdev socket,id=s,fd=987
experr "Invalid file descriptor number 'abc'" -netdev socket,id=s,fd=abc
finish
