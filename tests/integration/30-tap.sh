#!/bin/bash
# SPDX-License-Identifier: MIT
# 30-tap.sh - two network namespaces joined by qnet taps (netns=) on hub 0: ping, TCP, scripts, fd=.
#
# All traffic stays inside the two namespaces this test creates (10.0.9.0/24 exists only there).
set -u
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd ip ping socat sha256sum timeout
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"

A=qnt-a-$$
B=qnt-b-$$
ns_create "$A" || { not_ok "namespace $A created"; finish; }
ns_create "$B" || { not_ok "namespace $B created"; finish; }
NA=/var/run/netns/$A
NB=/var/run/netns/$B

# the down-script records its argument, and that it ran inside the namespace with the tap still there
cat >"$T/down.sh" <<EOF
#!/bin/sh
if ip link show dev "\$1" >/dev/null 2>&1; then echo "\$1 present" >>"$T/down.marker"
else echo "\$1 missing" >>"$T/down.marker"; fi
EOF
chmod 755 "$T/down.sh"

link_up() { ip -n "$1" link show dev "$2" 2>/dev/null | grep -q '[<,]UP[,>]'; }
quiet() { "$@" >/dev/null 2>&1; }
link_gone() { ! ip -n "$1" link show dev "$2" >/dev/null 2>&1; }

# ---- two namespaces on hub 0 ----
if qnet_start q \
	-netdev tap,id=t1,netns="$NA",ifname=eth0,script=no,downscript="$T/down.sh" \
	-netdev hubport,id=p1,hubid=0,netdev=t1 \
	-netdev tap,id=t2,netns="$NB",ifname=eth0,script=no,downscript=no \
	-netdev hubport,id=p2,hubid=0,netdev=t2; then
	ok "qnet starts with two netns taps on hub 0"
else
	not_ok "qnet starts with two netns taps on hub 0"
	finish
fi
check "eth0 exists and is up in $A" wait_for 5 link_up "$A" eth0
check "eth0 exists and is up in $B" wait_for 5 link_up "$B" eth0
check "no eth0 tap leaked into the host namespace" \
	bash -c "! ip -d link show dev eth0 2>/dev/null | grep -q 'tun type tap'"
ip -n "$A" addr add 10.0.9.1/24 dev eth0
ip -n "$B" addr add 10.0.9.2/24 dev eth0
check "ping $A -> $B" quiet timeout 20 ip netns exec "$A" ping -q -c 3 -W 2 10.0.9.2
check "ping $B -> $A" quiet timeout 20 ip netns exec "$B" ping -q -c 3 -W 2 10.0.9.1

# ---- TCP transfer with checksum ----
head -c $((4 * 1024 * 1024)) /dev/urandom >"$T/send.bin"
timeout 30 ip netns exec "$B" socat -u TCP-LISTEN:5001,bind=10.0.9.2,reuseaddr \
	OPEN:"$T/recv.bin",creat,trunc </dev/null >"$T/socat.log" 2>&1 &
srv=$!
bg_track "$srv"
wait_for 5 bash -c "ip netns exec $B ss -Hltn 'sport = :5001' | grep -q ."
if timeout 30 ip netns exec "$A" socat -u OPEN:"$T/send.bin" TCP:10.0.9.2:5001 2>>"$T/socat.log"; then
	ok "TCP transfer of 4 MiB $A -> $B completes"
else
	not_ok "TCP transfer of 4 MiB $A -> $B completes"
	sed 's/^/#   /' "$T/socat.log"
fi
wait "$srv" 2>/dev/null
s1=$(sha256sum <"$T/send.bin" | cut -d' ' -f1)
s2=$(sha256sum <"$T/recv.bin" 2>/dev/null | cut -d' ' -f1)
check "received data has the same sha256" test "$s1" = "$s2"

# ---- SIGTERM: down-script, exit status, interfaces gone ----
check "qnet exits with status 0 on SIGTERM" qnet_stop q || qnet_log q
check "down-script ran once, in $A, with ifname eth0 and the tap still open" \
	test "$(cat "$T/down.marker" 2>/dev/null)" = "eth0 present"
check "eth0 is gone from $A after qnet exits" wait_for 3 link_gone "$A" eth0
check "eth0 is gone from $B after qnet exits" wait_for 3 link_gone "$B" eth0

# ---- a failing up-script: QEMU's error, nothing left behind ----
out=$(timeout 10 "$QNET" -netdev tap,id=t,netns="$NA",ifname=eth1,script=/bin/false,downscript=no 2>&1)
rc=$?
check "script=/bin/false: qnet fails" test "$rc" -ne 0 -a "$rc" -ne 124
check "script=/bin/false: QEMU's error text" \
	grep -q "network script /bin/false failed with status 256" <<<"$out"
check "script=/bin/false: no eth1 left in $A" link_gone "$A" eth1

# ---- an up-script runs inside the namespace with the ifname ----
cat >"$T/up.sh" <<EOF
#!/bin/sh
ip link show dev "\$1" >/dev/null 2>&1 && echo "up \$1" >"$T/up.marker"
EOF
chmod 755 "$T/up.sh"
if qnet_start u -netdev tap,id=t,netns="$NA",ifname=eth3,script="$T/up.sh",downscript=no \
	-netdev hubport,id=p,hubid=0,netdev=t; then
	check "up-script ran inside $A with ifname eth3" test "$(cat "$T/up.marker" 2>/dev/null)" = "up eth3"
	qnet_stop u
else
	not_ok "qnet starts with an up-script"
fi

# ---- bad netns= ----
out=$(timeout 10 "$QNET" -netdev tap,id=t,netns=/var/run/netns/qnt-none-$$,script=no,downscript=no 2>&1)
check "netns= naming no namespace: clear error" \
	grep -q "could not open network namespace /var/run/netns/qnt-none-$$: No such file or directory" <<<"$out"

# ---- fd=: a tap opened by someone else (python, inside $A), passed as fd 3 ----
cat >"$T/fdtap.py" <<'EOF'
import fcntl, os, struct, sys
TUNSETIFF = 0x400454ca
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", b"tfd0", IFF_TAP | IFF_NO_PI))
if fd != 3:
    os.dup2(fd, 3)
    os.close(fd)
os.set_inheritable(3, True)
os.execv(sys.argv[1], sys.argv[1:])
EOF
ip netns exec "$A" "$PY" "$T/fdtap.py" "$QNET" \
	-netdev tap,id=f,fd=3 -netdev hubport,id=p1,hubid=0,netdev=f \
	-netdev tap,id=t2,netns="$NB",ifname=eth0,script=no,downscript=no \
	-netdev hubport,id=p2,hubid=0,netdev=t2 </dev/null >"$T/fd.log" 2>&1 &
fdpid=$!
bg_track "$fdpid"
echo "$fdpid" >"$T/fdq.pid"
if wait_for 5 link_up "$B" eth0 && wait_for 5 quiet ip -n "$A" link show dev tfd0; then
	ok "qnet runs with tap fd=3"
	ip -n "$A" link set tfd0 up
	ip -n "$A" addr add 10.0.9.3/24 dev tfd0
	ip -n "$B" addr add 10.0.9.2/24 dev eth0
	check "ping over the fd= tap $A -> $B" quiet timeout 20 ip netns exec "$A" ping -q -c 3 -W 2 10.0.9.2
	check "qnet (fd=) exits with status 0 on SIGTERM" qnet_stop fdq
	check "the fd= tap is gone once qnet exits" wait_for 3 link_gone "$A" tfd0
else
	not_ok "qnet runs with tap fd=3"
	sed 's/^/#   /' "$T/fd.log"
fi
finish
