#!/bin/bash
# SPDX-License-Identifier: MIT
# 40-qemu-stream.sh - two QEMU 7.2 guests on one qnet hub over -netdev stream (unix and TCP).
#
# qnet: stream server on a unix socket + stream server on 127.0.0.1:PORT, both on hub 0.
# Guest ga (virtio-net-pci, 10.0.9.11) connects over unix, guest gb (e1000, 10.0.9.12) over TCP.
# Checks: ping both ways, 10 MiB TCP transfer ga->gb with equal sha256 on both ends.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd qemu-system-x86_64 ss
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
guest_build || { not_ok "guest image builds"; finish; }

port=$(free_port)
if qnet_start q \
	-netdev stream,id=a,server=on,addr.type=unix,addr.path="$T/a.sock" \
	-netdev hubport,id=pa,hubid=0,netdev=a \
	-netdev stream,id=b,server=on,addr.type=inet,addr.host=127.0.0.1,addr.port="$port" \
	-netdev hubport,id=pb,hubid=0,netdev=b &&
   wait_unix_socket "$T/a.sock" 10 && wait_tcp_listen "$port" 10; then
	ok "qnet listens on $T/a.sock and 127.0.0.1:$port"
else
	not_ok "qnet listens on $T/a.sock and 127.0.0.1:$port"
	qnet_log q
	finish
fi

# QEMU 7.2's stream client connects once at startup, so qnet must be listening first (it is).
pair_start "stream,id=n0,server=off,addr.type=unix,addr.path=$T/a.sock" \
	"stream,id=n0,server=off,addr.type=inet,addr.host=127.0.0.1,addr.port=$port" \
	virtio-net-pci e1000 || not_ok "QEMU guests start"
pair_finish 200 || qnet_log q
check "qnet still running after the guests left" qnet_alive q
check "qnet exits with status 0 on SIGTERM" qnet_stop q || qnet_log q
finish
