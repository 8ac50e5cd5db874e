#!/bin/bash
# SPDX-License-Identifier: MIT
# 41-qemu-socket.sh - two QEMU 7.2 guests on one qnet hub over the legacy -netdev socket (TCP).
#
# qnet: socket,listen=127.0.0.1:PA and socket,listen=127.0.0.1:PB, both on hub 0.
# QEMU: socket,connect=127.0.0.1:PA (ga, virtio-net-pci) and socket,connect=127.0.0.1:PB (gb, e1000).
# Checks: ping both ways, 10 MiB TCP transfer ga->gb with equal sha256 on both ends.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd qemu-system-x86_64 ss
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
guest_build || { not_ok "guest image builds"; finish; }

pa=$(free_port)
pb=$(free_port)
while [ "$pb" = "$pa" ]; do pb=$(free_port); done
if qnet_start q \
	-netdev socket,id=a,listen=127.0.0.1:"$pa" \
	-netdev hubport,id=pa,hubid=0,netdev=a \
	-netdev socket,id=b,listen=127.0.0.1:"$pb" \
	-netdev hubport,id=pb,hubid=0,netdev=b &&
   wait_tcp_listen "$pa" 10 && wait_tcp_listen "$pb" 10; then
	ok "qnet listens on 127.0.0.1:$pa and 127.0.0.1:$pb"
else
	not_ok "qnet listens on 127.0.0.1:$pa and 127.0.0.1:$pb"
	qnet_log q
	finish
fi

pair_start "socket,id=n0,connect=127.0.0.1:$pa" "socket,id=n0,connect=127.0.0.1:$pb" \
	virtio-net-pci e1000 || not_ok "QEMU guests start"
pair_finish 200 || qnet_log q
check "qnet still running after the guests left" qnet_alive q
check "qnet exits with status 0 on SIGTERM" qnet_stop q || qnet_log q
finish
