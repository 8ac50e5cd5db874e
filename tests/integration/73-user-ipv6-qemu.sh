#!/bin/bash
# SPDX-License-Identifier: MIT
# 73-user-ipv6-qemu.sh - a QEMU 7.2 guest (the busybox guest, virtio-net) on qnet's -netdev user
# gets its SLAAC address (fec0::/64) and default route from the stack's RA, pings fec0::2 and
# fe80::2, and reaches a TCP server on the host's ::1 through [fec0::2] (busybox nc); the host
# checks what arrived. qnet runs in a namespace the test creates, the guest reaches it over a
# stream socket. Nothing leaves the machine.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd qemu-system-x86_64 ss
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
guest_build || { not_ok "guest image builds"; finish; }

H=qnu73h-$$
ns_create "$H" || { not_ok "namespace $H created"; finish; }
# shellcheck disable=SC2034 # read by lib.sh (qnet_start, host_bg, the port waits)
LIB_NS=$H
token=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
SINK=8090
in_ns "$PY" - "$SINK" "$T/got.txt" >"$T/sink.log" 2>&1 <<'EOF' &
# one TCP connection on [::1]:PORT, its bytes written to FILE
import socket, sys
ls = socket.socket(socket.AF_INET6)
ls.bind(("::1", int(sys.argv[1])))
ls.listen(1)
ls.settimeout(200)
c, a = ls.accept()
c.settimeout(30)
data = b""
while True:
    d = c.recv(4096)
    if not d:
        break
    data += d
open(sys.argv[2], "w").write(data.decode(errors="replace") + " from " + a[0] + "\n")
EOF
bg_track $!
check "TCP sink on [::1]:$SINK (in $H)" wait_tcp_listen "$SINK" 10
echo "nameserver 127.0.0.1" >"$T/resolv.conf"
check "qnet starts (user + stream server on hub 0)" qnet_start q \
	-netdev "user,id=u0,resolv-conf=$T/resolv.conf" -netdev hubport,id=p0,hubid=0,netdev=u0 \
	-netdev stream,id=g1,server=on,addr.type=unix,addr.path="$T/g1.sock" \
	-netdev hubport,id=p1,hubid=0,netdev=g1
wait_unix_socket "$T/g1.sock" 10

cat >"$T/guest6.sh" <<'EOF'
# /test.sh of 73-user-ipv6-qemu: SLAAC from the RA, ping6, TCP to the host's ::1
has_v6() { ip -6 addr show dev eth0 | grep -v tentative | grep -q 'inet6 fec0::'; }
wait_v6() {
	_end=$(($(uptime_s) + 60))
	while ! has_v6; do
		[ "$(uptime_s)" -ge "$_end" ] && return 1
		sleep 0.5
	done
}
check slaac-fec0 wait_v6
ip -6 addr show dev eth0
ip -6 route
mark addr6 "$(ip -6 addr show dev eth0 | sed -n 's/.*inet6 \(fec0::[0-9a-f:]*\)\/64.*/\1/p' | head -1)"
check default-via-fe80::2 eval 'ip -6 route | grep -q "default via fe80::2"'
check ping6-fec0::2 eval 'ping -6 -c 3 -w 10 fec0::2 | grep -q " 0% packet loss"'
check ping6-fe80::2 eval 'ping -6 -c 2 -w 10 -I eth0 fe80::2 | grep -q " 0% packet loss"'
check tcp6-to-host eval 'echo "qnet6 $QNET_TOKEN" | timeout 20 nc -w 5 fec0::2 "$QNET_SINK"'
EOF
guest_start g1 "stream,id=n0,server=off,addr.type=unix,addr.path=$T/g1.sock" "$T/guest6.sh" "" \
	52:54:00:12:34:73 virtio-net-pci "qnet.token=$token qnet.sink=$SINK" || not_ok "QEMU guest g1 starts"
guest_wait g1 'QNET-DONE' 200
guest_checks g1
a6=$(guest_mark g1 addr6)
check "the guest's SLAAC address is EUI-64 of 52:54:00:12:34:73 (got '$a6')" \
	test "$a6" = fec0::5054:ff:fe12:3473
wait_for 10 test -s "$T/got.txt"
r=$(cat "$T/got.txt" 2>/dev/null)
check "the host's ::1 server got the guest's bytes from ::1 (got '$r')" test "$r" = "qnet6 $token
 from ::1"
check "qnet still running" qnet_alive q
finish
