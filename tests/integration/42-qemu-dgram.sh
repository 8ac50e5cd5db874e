#!/bin/bash
# SPDX-License-Identifier: MIT
# 42-qemu-dgram.sh - two QEMU 7.2 guests on one qnet hub over -netdev dgram (unix and UDP).
#
# ga (virtio-net-pci): dgram unix, local $T/ga.sock <-> remote $T/qa.sock (qnet's side mirrored).
# gb (e1000): dgram inet, local 127.0.0.1:GP <-> remote 127.0.0.1:QP (qnet's side mirrored).
# Checks: ping both ways, 10 MiB TCP transfer ga->gb with equal sha256 on both ends.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd qemu-system-x86_64 ss
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
guest_build || { not_ok "guest image builds"; finish; }

qp=$(free_port udp)
gp=$(free_port udp)
while [ "$gp" = "$qp" ]; do gp=$(free_port udp); done
if qnet_start q \
	-netdev "dgram,id=a,local.type=unix,local.path=$T/qa.sock,remote.type=unix,remote.path=$T/ga.sock" \
	-netdev hubport,id=pa,hubid=0,netdev=a \
	-netdev "dgram,id=b,local.type=inet,local.host=127.0.0.1,local.port=$qp,remote.type=inet,remote.host=127.0.0.1,remote.port=$gp" \
	-netdev hubport,id=pb,hubid=0,netdev=b &&
   wait_unix_socket "$T/qa.sock" 10 && wait_udp_bound "$qp" 10; then
	ok "qnet bound $T/qa.sock and udp 127.0.0.1:$qp"
else
	not_ok "qnet bound $T/qa.sock and udp 127.0.0.1:$qp"
	qnet_log q
	finish
fi

pair_start \
	"dgram,id=n0,local.type=unix,local.path=$T/ga.sock,remote.type=unix,remote.path=$T/qa.sock" \
	"dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=$gp,remote.type=inet,remote.host=127.0.0.1,remote.port=$qp" \
	virtio-net-pci e1000 || not_ok "QEMU guests start"
pair_finish 200 || qnet_log q
check "qnet still running after the guests left" qnet_alive q
check "qnet exits with status 0 on SIGTERM" qnet_stop q || qnet_log q
finish
