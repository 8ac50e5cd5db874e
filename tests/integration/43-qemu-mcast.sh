#!/bin/bash
# SPDX-License-Identifier: MIT
# 43-qemu-mcast.sh - a QEMU 7.2 guest on -netdev socket,mcast= and one on stream, joined by qnet.
#
# Everything (qnet and both QEMUs) runs inside a network namespace created here, whose only
# interface is lo, so the multicast traffic (239.192.168.1:1102, localaddr=127.0.0.1, QEMU's and
# UML's default group) can't leave it.
# qnet: socket,mcast=239.192.168.1:1102,localaddr=127.0.0.1 and a unix stream server, on hub 0.
# ga (virtio-net-pci) joins the group directly, gb (virtio-net-pci) connects to the stream server.
# Checks: ping both ways, 10 MiB TCP transfer ga->gb with equal sha256 on both ends.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd qemu-system-x86_64 ss ip
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
guest_build || { not_ok "guest image builds"; finish; }

ns=qnet-mc-$$
ns_create "$ns" || { not_ok "create namespace $ns"; finish; }
LIB_NS=$ns
mc=239.192.168.1:1102

if qnet_start q \
	-netdev socket,id=m,mcast=$mc,localaddr=127.0.0.1 \
	-netdev hubport,id=pm,hubid=0,netdev=m \
	-netdev stream,id=b,server=on,addr.type=unix,addr.path="$T/b.sock" \
	-netdev hubport,id=pb,hubid=0,netdev=b &&
   wait_udp_bound 1102 10 && wait_unix_socket "$T/b.sock" 10; then
	ok "qnet joined $mc (in namespace $ns) and listens on $T/b.sock"
else
	not_ok "qnet joined $mc (in namespace $ns) and listens on $T/b.sock"
	qnet_log q
	finish
fi

pair_start "socket,id=n0,mcast=$mc,localaddr=127.0.0.1" \
	"stream,id=n0,server=off,addr.type=unix,addr.path=$T/b.sock" || not_ok "QEMU guests start"
pair_finish 200 || qnet_log q
check "qnet still running after the guests left" qnet_alive q
check "qnet exits with status 0 on SIGTERM" qnet_stop q || qnet_log q
finish
