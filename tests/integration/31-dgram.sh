#!/bin/bash
# SPDX-License-Identifier: MIT
# 31-dgram.sh - qnet's dgram netdev against Python peers: udp on 127.0.0.1, unix, multicast on loopback,
# info network, unix paths removed at exit, and QEMU 7.2's error texts.
set -u
. "$(dirname "$0")/../lib.sh"
need_cmd socat timeout ss
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
PEER=$ROOT/tests/integration/lib/dgram_peer.py

# ---- udp <-> unix through hub 0 ----
q1=$(free_port udp)
p1=$(free_port udp)
while [ "$p1" = "$q1" ]; do p1=$(free_port udp); done
UDP="udp:$p1:$q1"
UNIX="unix:$T/p2.sock:$T/q2.sock"
if qnet_start q \
	-netdev dgram,id=du,local.type=inet,local.host=127.0.0.1,local.port="$q1",remote.type=inet,remote.host=127.0.0.1,remote.port="$p1" \
	-netdev hubport,id=pu,hubid=0,netdev=du \
	-netdev dgram,id=dx,local.type=unix,local.path="$T/q2.sock",remote.type=unix,remote.path="$T/p2.sock" \
	-netdev hubport,id=px,hubid=0,netdev=dx \
	-monitor unix:"$T/mon.sock",server=on,wait=off &&
   wait_udp_bound "$q1" 5 && wait_unix_socket "$T/q2.sock" 5; then
	ok "qnet binds udp 127.0.0.1:$q1 and $T/q2.sock"
else
	not_ok "qnet binds udp 127.0.0.1:$q1 and $T/q2.sock"
	qnet_log q
	finish
fi

check "udp -> unix: 40 frames of 14..60000 bytes arrive intact and in order" \
	timeout 60 "$PY" "$PEER" relay "$UDP" "$UNIX" 40
check "unix -> udp: 40 frames of 14..60000 bytes arrive intact and in order" \
	timeout 60 "$PY" "$PEER" relay "$UNIX" "$UDP" 40
check "udp -> unix: 200 bursts of 8 frames, none lost" \
	timeout 60 "$PY" "$PEER" burst "$UDP" "$UNIX" 200 8
check "unix -> udp: 200 bursts of 8 frames, none lost" \
	timeout 60 "$PY" "$PEER" burst "$UNIX" "$UDP" 200 8

info=$(printf 'info network\n' | timeout 5 socat -t 1 - UNIX-CONNECT:"$T/mon.sock" 2>/dev/null | tr -d '\r')
check "info network: udp info_str" \
	grep -qF "du: index=0,type=dgram,udp=127.0.0.1:$q1/127.0.0.1:$p1" <<<"$info"
check "info network: unix info_str" \
	grep -qF "dx: index=0,type=dgram,udp=$T/q2.sock:$T/p2.sock" <<<"$info"
check "qnet exits with status 0 on SIGTERM" qnet_stop q || qnet_log q
check "qnet removed the unix path it bound" test ! -e "$T/q2.sock"

# ---- multicast on loopback (group membership and sending via 127.0.0.1 only) ----
q3=$(free_port udp)
p3=$(free_port udp)
mp=$(free_port udp)
G=239.255.$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))
if qnet_start m \
	-netdev dgram,id=dm,remote.type=inet,remote.host="$G",remote.port="$mp",local.type=inet,local.host=127.0.0.1,local.port=0 \
	-netdev hubport,id=pm,hubid=0,netdev=dm \
	-netdev dgram,id=du,local.type=inet,local.host=127.0.0.1,local.port="$q3",remote.type=inet,remote.host=127.0.0.1,remote.port="$p3" \
	-netdev hubport,id=pu,hubid=0,netdev=du \
	-monitor unix:"$T/mon2.sock",server=on,wait=off &&
   wait_udp_bound "$q3" 5; then
	ok "qnet joins $G:$mp on 127.0.0.1"
	check "multicast -> udp: 20 frames arrive" \
		timeout 60 "$PY" "$PEER" mcast-in "$G:$mp" "udp:$p3:$q3" 20
	check "udp -> multicast: 20 frames reach the group, and come back once (QEMU's loop quirk)" \
		timeout 60 "$PY" "$PEER" mcast-out "udp:$p3:$q3" "$G:$mp" 20
	info=$(printf 'info network\n' | timeout 5 socat -t 1 - UNIX-CONNECT:"$T/mon2.sock" 2>/dev/null | tr -d '\r')
	check "info network: mcast info_str" grep -qF "dm: index=0,type=dgram,mcast=$G:$mp" <<<"$info"
	check "qnet (multicast) exits with status 0 on SIGTERM" qnet_stop m || qnet_log m
else
	not_ok "qnet joins $G:$mp on 127.0.0.1"
	qnet_log m
fi

# ---- multicast without local=, and local.type=fd cloned for the group: inside a namespace of our
# own, whose only interface is lo (224.0.0.0/4 routed to it), so nothing leaves the host ----
if [ "$(id -u)" -eq 0 ]; then
	NS=qnd-$$
	ns_create "$NS" && ip -n "$NS" route add 224.0.0.0/4 dev lo
	q4=$(free_port udp)
	p4=$(free_port udp)
	if LIB_NS=$NS qnet_start n \
		-netdev dgram,id=dm0,remote.type=inet,remote.host="$G",remote.port="$mp" \
		-netdev hubport,id=pm,hubid=0,netdev=dm0 \
		-netdev dgram,id=du,local.type=inet,local.host=127.0.0.1,local.port="$q4",remote.type=inet,remote.host=127.0.0.1,remote.port="$p4" \
		-netdev hubport,id=pu,hubid=0,netdev=du \
		-monitor unix:"$T/mon4.sock",server=on,wait=off &&
	   LIB_NS=$NS wait_udp_bound "$q4" 5; then
		ok "qnet joins $G:$mp without local= (in $NS)"
		check "multicast (no local=) -> udp: 10 frames arrive" \
			timeout 60 ip netns exec "$NS" "$PY" "$PEER" mcast-in "$G:$mp" "udp:$p4:$q4" 10
		info=$(printf 'info network\n' | timeout 5 socat -t 1 - UNIX-CONNECT:"$T/mon4.sock" 2>/dev/null | tr -d '\r')
		check "info network: mcast info_str without local=" \
			grep -qF "dm0: index=0,type=dgram,mcast=$G:$mp" <<<"$info"
		qnet_stop n
	else
		not_ok "qnet joins $G:$mp without local= (in $NS)"
		qnet_log n
	fi
	cat >"$T/fdmcast.py" <<'EOF2'
import os, socket, subprocess, sys, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0))
ufd = u.fileno()
if ufd != 3:
    os.dup2(ufd, 3)
os.set_inheritable(3, True)
qnet, group, mon = sys.argv[1], sys.argv[2], sys.argv[3]
host, port = group.split(":")
p = subprocess.Popen([qnet, "-netdev", "dgram,id=dc,local.type=fd,local.str=3,remote.type=inet,"
                      "remote.host=%s,remote.port=%s" % (host, port),
                      "-monitor", "unix:%s,server=on,wait=off" % mon],
                     pass_fds=(3,), stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
u.close()
if ufd != 3:
    os.close(3)
try:
    for _ in range(50):
        if os.path.exists(mon):
            break
        time.sleep(0.1)
    out = subprocess.run(["socat", "-t", "1", "-", "UNIX-CONNECT:" + mon], input=b"info network\n",
                         capture_output=True, timeout=5).stdout.decode().replace("\r", "")
    ok = "dc: index=0,type=dgram,fd=3 (cloned mcast=%s)" % group in out
    if not ok:
        print("# info network:", out)
finally:
    p.terminate()
    rc = p.wait(timeout=5)
sys.exit(0 if ok and rc == 0 else 1)
EOF2
	check "local.type=fd with a multicast remote: the fd is cloned for the group" \
		timeout 20 ip netns exec "$NS" "$PY" "$T/fdmcast.py" "$QNET" "$G:$mp" "$T/mon5.sock"
fi

# ---- local.type=fd: a socketpair end passed as fd 3 ----
cat >"$T/fdpair.py" <<'EOF'
import os, socket, subprocess, sys
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
afd = a.fileno()
if afd != 3:
    os.dup2(afd, 3)
os.set_inheritable(3, True)
mon = sys.argv[2]
p = subprocess.Popen([sys.argv[1], "-netdev", "dgram,id=df,local.type=fd,local.str=3",
                      "-netdev", "hubport,id=pf,hubid=0,netdev=df",
                      "-netdev", "hubport,id=pg,hubid=0",
                      "-monitor", "unix:%s,server=on,wait=off" % mon],
                     pass_fds=(3,), stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
a.close()
if afd != 3:
    os.close(3)
b.settimeout(3)
ok = True
try:
    import time
    for _ in range(50):
        if os.path.exists(mon):
            break
        time.sleep(0.1)
    out = subprocess.run(["socat", "-t", "1", "-", "UNIX-CONNECT:" + mon], input=b"info network\n",
                         capture_output=True, timeout=5).stdout.decode().replace("\r", "")
    if "df: index=0,type=dgram,fd=3 unix" not in out:
        print("# info network:", out)
        ok = False
finally:
    p.terminate()
    rc = p.wait(timeout=5)
sys.exit(0 if ok and rc == 0 else 1)
EOF
check "local.type=fd: info_str 'fd=3 unix', clean exit" timeout 20 "$PY" "$T/fdpair.py" "$QNET" "$T/mon3.sock"

# ---- QEMU 7.2's error texts ----
mkdir -p "$T/adir"
long=$(printf 'a%.0s' $(seq 120))
expect_error() {
	local want=$1 out rc; shift
	out=$(timeout 10 "$QNET" "$@" </dev/null 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && grep -qF -- "$want" <<<"$out"; then
		ok "error: $want"
	else
		not_ok "error: $want (exit $rc)"
		sed 's/^/#   /' <<<"$out"
	fi
}
L=local.type=inet,local.host=127.0.0.1,local.port=$q1
R=remote.type=inet,remote.host=127.0.0.1,remote.port=$p1
expect_error "dgram requires local= parameter" -netdev dgram,id=d
expect_error "dgram requires local= parameter" -netdev "dgram,id=d,$R"
expect_error "type=inet or type=unix requires remote parameter" -netdev "dgram,id=d,$L"
expect_error "type=inet or type=unix requires remote parameter" -netdev dgram,id=d,local.type=unix,local.path="$T/x"
expect_error "don't set remote with local.fd" -netdev "dgram,id=d,local.type=fd,local.str=0,$R"
expect_error "remote and local types must be the same" -netdev "dgram,id=d,local.type=unix,local.path=$T/x,$R"
expect_error "only support inet or fd type for local" \
	-netdev dgram,id=d,remote.type=inet,remote.host=239.255.1.1,remote.port=5000,local.type=unix,local.path="$T/x"
expect_error "localaddr 'foo' is not a valid IPv4 address" \
	-netdev dgram,id=d,remote.type=inet,remote.host=239.255.1.1,remote.port=5000,local.type=inet,local.host=foo,local.port=0
expect_error "port number 'abc' is invalid" \
	-netdev "dgram,id=d,$L,remote.type=inet,remote.host=127.0.0.1,remote.port=abc"
expect_error "host address '127.0.0.1.5' is not a valid IPv4 address" \
	-netdev "dgram,id=d,$L,remote.type=inet,remote.host=127.0.0.1.5,remote.port=1"
expect_error "failed to unlink socket $T/adir: Is a directory" \
	-netdev dgram,id=d,local.type=unix,local.path="$T/adir",remote.type=unix,remote.path="$T/r"
expect_error "UNIX socket path '/tmp/$long' is too long" \
	-netdev dgram,id=d,local.type=unix,local.path="/tmp/$long",remote.type=unix,remote.path="$T/r"
expect_error "can't bind unix=$T/nodir/x to socket: No such file or directory" \
	-netdev dgram,id=d,local.type=unix,local.path="$T/nodir/x",remote.type=unix,remote.path="$T/r"
expect_error "Invalid file descriptor number 'abc'" -netdev dgram,id=d,local.type=fd,local.str=abc
expect_error "d: Can't use file descriptor 999: Bad file descriptor" -netdev dgram,id=d,local.type=fd,local.str=999
expect_error "Parameter 'local.port' is missing" \
	-netdev dgram,id=d,remote.type=inet,remote.host=239.255.1.1,remote.port=5000,local.type=inet,local.host=127.0.0.1
expect_error "Parameter 'type' does not accept value 'bogus'" -netdev dgram,id=d,local.type=bogus
expect_error "Parameter 'local.foo' is unexpected" -netdev "dgram,id=d,$L,$R,local.foo=1"
finish
