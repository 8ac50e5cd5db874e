#!/bin/bash
# SPDX-License-Identifier: MIT
# 33-vxlan.sh - -netdev vxlan across two "hosts" (namespaces joined by a veth): against the kernel's
# vxlan device (IPv4 unicast, IPv6 multicast group with learning), and qnet to qnet (IPv6 unicast)
# with a -netdev user on one side; pings and 100 MB transfers with sha256.
#
# All traffic stays inside the namespaces this test creates.
set -u
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd ip ping socat sha256sum timeout tcpdump bridge ethtool
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"

H1=qvx-h1-$$	# host 1: qnet
H2=qvx-h2-$$	# host 2: the kernel's vxlan, or a second qnet
G1=qvx-g1-$$	# a machine behind qnet on host 1 (tap)
G2=qvx-g2-$$	# a machine behind qnet on host 2 (tap)
for n in "$H1" "$H2" "$G1" "$G2"; do
	ns_create "$n" || { not_ok "namespace $n created"; finish; }
done
MB=${VXLAN_MB:-100}

ip link add vxu0 netns "$H1" type veth peer name vxu1 netns "$H2" ||
	{ not_ok "veth between $H1 and $H2"; finish; }
ip -n "$H1" link set vxu0 mtu 1600 up
ip -n "$H2" link set vxu1 mtu 1600 up
ip -n "$H1" addr add 192.168.77.1/24 dev vxu0
ip -n "$H2" addr add 192.168.77.2/24 dev vxu1
ip -n "$H1" addr add fd77::1/64 dev vxu0 nodad
ip -n "$H2" addr add fd77::2/64 dev vxu1 nodad
# a veth hands its peer packets with the inner TCP checksum still to be done (checksum offload):
# a real link never does, and qnet (a UDP socket) would receive frames with wrong checksums
ip netns exec "$H1" ethtool -K vxu0 tx off >/dev/null
ip netns exec "$H2" ethtool -K vxu1 tx off >/dev/null
check "underlay: $H1 pings $H2" timeout 10 ip netns exec "$H1" ping -q -c 1 -W 2 192.168.77.2 >/dev/null

quiet() { "$@" >/dev/null 2>&1; }

# transfer NS_FROM NS_TO ADDR LABEL - $MB MiB over TCP, sha256 compared
transfer() {
	local from=$1 to=$2 addr=$3 label=$4 srv s1 s2
	rm -f "$T/recv.bin"
	timeout 120 ip netns exec "$to" socat -u TCP-LISTEN:5001,bind="$addr",reuseaddr \
		OPEN:"$T/recv.bin",creat,trunc </dev/null >"$T/socat.log" 2>&1 &
	srv=$!
	bg_track "$srv"
	wait_for 5 bash -c "ip netns exec $to ss -Hltn 'sport = :5001' | grep -q ."
	local t0=$SECONDS
	if timeout 120 ip netns exec "$from" socat -u OPEN:"$T/send.bin" TCP:"$addr":5001 \
		2>>"$T/socat.log"; then
		ok "$label: TCP transfer of $MB MiB completes ($((SECONDS - t0)) s)"
	else
		not_ok "$label: TCP transfer of $MB MiB completes"
		sed 's/^/#   /' "$T/socat.log"
	fi
	wait "$srv" 2>/dev/null
	s1=$(sha256sum <"$T/send.bin" | cut -d' ' -f1)
	s2=$(sha256sum <"$T/recv.bin" 2>/dev/null | cut -d' ' -f1)
	check "$label: received data has the same sha256" test "$s1" = "$s2"
}
head -c $((MB * 1024 * 1024)) /dev/urandom >"$T/send.bin"

# G1's tap on qnet's hub; $1... the vxlan netdev and more
start_h1() {
	local name=$1; shift
	LIB_NS=$H1 qnet_start "$name" \
		-netdev tap,id=t1,netns=/var/run/netns/"$G1",ifname=eth0,script=no,downscript=no \
		-netdev hubport,id=p1,hubid=0,netdev=t1 "$@" \
		-netdev hubport,id=p2,hubid=0,netdev=vx
}

# ---- 1. qnet (host 1) <-> kernel vxlan (host 2), IPv4 unicast ----
ip -n "$H2" link add vx4 type vxlan id 42 local 192.168.77.2 remote 192.168.77.1 dstport 4789 \
	dev vxu1
ip -n "$H2" link set vx4 mtu 1500 up
ip -n "$H2" addr add 10.77.0.2/24 dev vx4
if start_h1 q1 -netdev vxlan,id=vx,vni=42,local=192.168.77.1,remote=192.168.77.2; then
	ok "qnet starts with -netdev vxlan (IPv4, remote=)"
else
	not_ok "qnet starts with -netdev vxlan (IPv4, remote=)"
	finish
fi
wait_for 5 ip -n "$G1" link show dev eth0 >/dev/null 2>&1
ip -n "$G1" link set eth0 up
ip -n "$G1" addr add 10.77.0.1/24 dev eth0
check "kernel, IPv4: $G1 (behind qnet) pings the kernel's vxlan" \
	quiet timeout 20 ip netns exec "$G1" ping -q -c 3 -W 2 10.77.0.2
check "kernel, IPv4: the kernel's vxlan pings $G1" \
	quiet timeout 20 ip netns exec "$H2" ping -q -c 3 -W 2 10.77.0.1
transfer "$G1" "$H2" 10.77.0.2 "kernel, IPv4"

# hostile datagrams to qnet's port: wrong VNI, no I flag, short, and one with a good header
hostile() {
	ip netns exec "$H2" "$PY" - <<'EOF'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
frame = bytes.fromhex("ffffffffffff02000000000108060001080006040001020000000001c0a84d0200000000000"
                      "00a4d0001")
for d in (b"\x08\x00\x00\x00\x00\x00\x2b\x00" + frame,   # VNI 43
          b"\x00\x00\x00\x00\x00\x00\x2a\x00" + frame,   # no I flag
          b"\x08\x00\x00", b"", b"\x08\x00\x00\x00\x00\x00\x2a\x00" + b"\x01" * 10):
    s.sendto(d, ("192.168.77.1", 4789))
EOF
}
hostile
check "kernel, IPv4: qnet is alive after hostile datagrams" qnet_alive q1
check "kernel, IPv4: still pings after hostile datagrams" \
	quiet timeout 20 ip netns exec "$G1" ping -q -c 2 -W 2 10.77.0.2
check "qnet exits with status 0 on SIGTERM" qnet_stop q1 || qnet_log q1
ip -n "$H2" link del vx4

# ---- 2. qnet <-> kernel vxlan, IPv6 multicast group, learning ----
ip -n "$H2" link add vx6 type vxlan id 4242 local fd77::2 group ff05::77 dstport 4789 dev vxu1
ip -n "$H2" link set vx6 mtu 1500 up
ip -n "$H2" addr add 10.78.0.2/24 dev vx6
ip -n "$G1" addr flush dev eth0 2>/dev/null
if start_h1 q2 -netdev vxlan,id=vx,vni=4242,local=fd77::1,group=ff05::77,dev=vxu0; then
	ok "qnet starts with -netdev vxlan (IPv6, group=, dev=)"
else
	not_ok "qnet starts with -netdev vxlan (IPv6, group=, dev=)"
	finish
fi
wait_for 5 ip -n "$G1" link show dev eth0 >/dev/null 2>&1
ip -n "$G1" link set eth0 up
ip -n "$G1" addr add 10.78.0.1/24 dev eth0
# (the first datagrams may go out before the kernel's group membership is in place)
check "kernel, IPv6 group: $G1 pings the kernel's vxlan" \
	wait_for 20 quiet ip netns exec "$G1" ping -q -c 1 -W 1 10.78.0.2
# learning: the kernel's replies to G1 went to qnet's own address, and qnet's to the kernel's
check "kernel, IPv6 group: the kernel learned qnet's endpoint (fdb entry fd77::1)" \
	bash -c "ip -n $H2 link show vx6 >/dev/null && bridge -n $H2 fdb show dev vx6 | grep -q 'dst fd77::1'"
ip netns exec "$H2" timeout 15 tcpdump -ni vxu1 -c 3 "ip6 dst fd77::2 and udp port 4789" \
	>"$T/td.log" 2>&1 &
td=$!
bg_track "$td"
sleep 1
quiet timeout 10 ip netns exec "$G1" ping -q -c 3 -W 2 10.78.0.2
wait "$td" 2>/dev/null
check "kernel, IPv6 group: qnet learned the kernel's endpoint (unicast to fd77::2)" \
	grep -q "3 packets captured" "$T/td.log"
transfer "$G1" "$H2" 10.78.0.2 "kernel, IPv6 group"
check "qnet exits with status 0 on SIGTERM" qnet_stop q2 || qnet_log q2
ip -n "$H2" link del vx6

# ---- 3. qnet <-> qnet, IPv6 unicast; host 1 also has a -netdev user on its hub ----
if start_h1 q3 -netdev vxlan,id=vx,vni=7,local=fd77::1,remote=fd77::2 \
	-netdev user,id=u,net=10.79.0.0/24 -netdev hubport,id=p3,hubid=0,netdev=u; then
	ok "qnet 1 starts (IPv6 unicast, with -netdev user)"
else
	not_ok "qnet 1 starts (IPv6 unicast, with -netdev user)"
	finish
fi
if LIB_NS=$H2 qnet_start q4 \
	-netdev tap,id=t1,netns=/var/run/netns/"$G2",ifname=eth0,script=no,downscript=no \
	-netdev hubport,id=p1,hubid=0,netdev=t1 \
	-netdev vxlan,id=vx,vni=7,local=fd77::2,remote=fd77::1,ttl=8 \
	-netdev hubport,id=p2,hubid=0,netdev=vx; then
	ok "qnet 2 starts (IPv6 unicast, ttl=8)"
else
	not_ok "qnet 2 starts (IPv6 unicast, ttl=8)"
	finish
fi
wait_for 5 ip -n "$G2" link show dev eth0 >/dev/null 2>&1
ip -n "$G2" link set eth0 up
ip -n "$G2" addr add 10.79.0.16/24 dev eth0
check "qnet-qnet: $G2 (host 2) pings qnet 1's user stack gateway 10.79.0.2 across the tunnel" \
	wait_for 20 quiet ip netns exec "$G2" ping -q -c 1 -W 1 10.79.0.2
check "qnet 1 exits with status 0 on SIGTERM" qnet_stop q3 || qnet_log q3
# the user stack takes every frame of its segment (as libslirp, it does not look at the destination
# MAC address) and answers TCP to other hosts of its net with ICMP unreachable: without it for the
# transfer between the two machines
if start_h1 q5 -netdev vxlan,id=vx,vni=7,local=fd77::1,remote=fd77::2; then
	ok "qnet 1 restarts (IPv6 unicast)"
else
	not_ok "qnet 1 restarts (IPv6 unicast)"
	finish
fi
wait_for 5 ip -n "$G1" link show dev eth0 >/dev/null 2>&1
ip -n "$G1" link set eth0 up
ip -n "$G1" addr add 10.79.0.15/24 dev eth0
check "qnet-qnet: $G1 pings $G2" \
	wait_for 20 quiet ip netns exec "$G1" ping -q -c 1 -W 1 10.79.0.16
transfer "$G1" "$G2" 10.79.0.16 "qnet-qnet"
check "qnet 1 exits with status 0 on SIGTERM" qnet_stop q5 || qnet_log q5
check "qnet 2 exits with status 0 on SIGTERM" qnet_stop q4 || qnet_log q4

# ---- the monitor: netdev_add, info network, netdev_del ----
M=$T/mon.sock
P=$(free_port udp)
if qnet_start qm -monitor unix:"$M",server=on,wait=off; then
	wait_unix_socket "$M"
	printf 'netdev_add vxlan,id=vm,vni=77,local=127.0.0.1,remote=127.0.0.2,port=%s\ninfo network\nnetdev_del vm\ninfo network\n' \
		"$P" | timeout 10 socat -t 1 - "UNIX-CONNECT:$M" | tr -d '\r' >"$T/mon.txt"
	check "monitor: netdev_add vxlan shows in info network" \
		grep -q "^vm: index=0,type=vxlan,vxlan: vni=77 local=127.0.0.1 remote=127.0.0.2 port=$P" "$T/mon.txt"
	check "monitor: netdev_del vxlan removes it (one line only)" \
		test "$(grep -c '^vm: ' "$T/mon.txt")" = 1
	check "qnet (monitor) exits with status 0 on SIGTERM" qnet_stop qm || qnet_log qm
else
	not_ok "qnet starts with a monitor"
fi

# ---- QMP: netdev_add of the tunnel types, query-netdevs, netdev_del ----
Q=$T/qmp.sock
if qnet_start qq -qmp unix:"$Q",server=on,wait=off && wait_unix_socket "$Q"; then
	P1=$(free_port udp); P2=$(free_port udp)
	"$PY" - "$Q" "$P1" "$P2" >"$T/qmp.txt" 2>&1 <<'PYEOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1]); f = s.makefile("rw")
def cmd(c, **a):
    f.write(json.dumps({"execute": c, "arguments": a}) + "\n"); f.flush()
    while True:
        r = json.loads(f.readline())
        if "event" not in r:
            return r
f.readline(); cmd("qmp_capabilities")
print("add-vxlan", "return" in cmd("netdev_add", type="vxlan", id="vx", vni=5, local="127.0.0.1",
                                    remote="127.0.0.2", port=int(sys.argv[2])))
print("add-l2tpv3", "return" in cmd("netdev_add", type="l2tpv3", id="l2", src="127.0.0.1",
                                     dst="127.0.0.1", udp=True, srcport=sys.argv[3],
                                     dstport=sys.argv[3], txsession=1, counter=True))
q = {n["name"]: n for n in cmd("query-netdevs")["return"]}
print("types", q.get("vx", {}).get("type"), q.get("l2", {}).get("type"), q.get("l2", {}).get("info"))
print("del", "return" in cmd("netdev_del", id="vx"), "return" in cmd("netdev_del", id="l2"))
print("left", len(cmd("query-netdevs")["return"]))
PYEOF
	check "QMP: netdev_add vxlan" grep -qx "add-vxlan True" "$T/qmp.txt"
	check "QMP: netdev_add l2tpv3" grep -qx "add-l2tpv3 True" "$T/qmp.txt"
	check "QMP: query-netdevs knows both types" grep -qx "types vxlan l2tpv3 l2tpv3: connected" "$T/qmp.txt"
	check "QMP: netdev_del of both, none left" eval 'grep -qx "del True True" "$T/qmp.txt" && grep -qx "left 0" "$T/qmp.txt"'
	check "qnet (QMP) exits with status 0 on SIGTERM" qnet_stop qq || qnet_log qq
else
	not_ok "qnet starts with a QMP socket"
fi

# ---- option errors ----
err() { timeout 5 "$QNET" -netdev "$1" 2>&1 | head -1; }
check "vni missing" test "$(err vxlan,id=x,local=127.0.0.1,remote=127.0.0.2)" = \
	"qnet: -netdev vxlan,id=x,local=127.0.0.1,remote=127.0.0.2: Parameter 'vni' is missing"
check "remote and group" bash -c "'$QNET' -netdev vxlan,id=x,vni=1,local=127.0.0.1,remote=127.0.0.2,group=239.1.1.1 2>&1 | grep -q 'exactly one of remote= and group='"
check "vni out of range" bash -c "'$QNET' -netdev vxlan,id=x,vni=16777216,local=127.0.0.1,remote=127.0.0.2 2>&1 | grep -q 'out of range'"
check "mixed families" bash -c "'$QNET' -netdev vxlan,id=x,vni=1,local=127.0.0.1,remote=::1 2>&1 | grep -q 'same address family'"
check "-netdev vxlan,help lists vni" bash -c "'$QNET' -netdev vxlan,help 2>&1 | grep -q '^ *vni='"
finish
