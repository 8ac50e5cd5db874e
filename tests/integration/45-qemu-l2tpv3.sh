#!/bin/bash
# SPDX-License-Identifier: MIT
# 45-qemu-l2tpv3.sh - two QEMU 7.2 guests with -netdev l2tpv3 on one qnet hub, every encapsulation:
# run 1: ga over UDP/IPv4 (32-bit cookies, counter), gb over IP/IPv6 (64-bit cookies, offset=8);
# run 2: ga over IP/IPv4 (no cookie), gb over UDP/IPv6 (counter, pincounter, offset=3).
# Checks: ping both ways, 10 MiB TCP transfer ga->gb with equal sha256 on both ends.
# Traffic stays on 127.0.0.0/8 and ::1 (IP encapsulation: raw sockets, root).
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd qemu-system-x86_64 ss
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
guest_build || { not_ok "guest image builds"; finish; }

# run LABEL QNET_A QEMU_A QNET_B QEMU_B - qnet with both netdevs on hub 0, then the guest pair
run() {
	local label=$1
	if qnet_start "q$label" -netdev "$2" -netdev hubport,id=pa,hubid=0,netdev=a \
		-netdev "$4" -netdev hubport,id=pb,hubid=0,netdev=b; then
		ok "run $label: qnet starts"
	else
		not_ok "run $label: qnet starts"
		return
	fi
	pair_start "$3" "$5" virtio-net-pci e1000 || not_ok "run $label: QEMU guests start"
	pair_finish 200 || qnet_log "q$label"
	check "run $label: qnet still running after the guests left" qnet_alive "q$label"
	check "run $label: qnet exits with status 0 on SIGTERM" qnet_stop "q$label" || qnet_log "q$label"
}

qp=$(free_port udp)
gp=$(free_port udp)
while [ "$gp" = "$qp" ]; do gp=$(free_port udp); done
run 1 \
	"l2tpv3,id=a,src=127.0.0.2,dst=127.0.0.1,udp=on,srcport=$qp,dstport=$gp,txsession=0x11,rxsession=0x22,txcookie=0x1234,rxcookie=0x5678,counter=on" \
	"l2tpv3,id=n0,src=127.0.0.1,dst=127.0.0.2,udp=on,srcport=$gp,dstport=$qp,txsession=0x22,rxsession=0x11,txcookie=0x5678,rxcookie=0x1234,counter=on" \
	"l2tpv3,id=b,src=::1,dst=::1,ipv6=on,txsession=0x33,rxsession=0x44,cookie64=on,txcookie=0x1122334455667788,rxcookie=0x99aabbccddeeff00,offset=8" \
	"l2tpv3,id=n0,src=::1,dst=::1,ipv6=on,txsession=0x44,rxsession=0x33,cookie64=on,txcookie=0x99aabbccddeeff00,rxcookie=0x1122334455667788,offset=8"

qp=$(free_port udp)
gp=$(free_port udp)
while [ "$gp" = "$qp" ]; do gp=$(free_port udp); done
run 2 \
	"l2tpv3,id=a,src=127.0.0.2,dst=127.0.0.1,txsession=0x55,rxsession=0x66" \
	"l2tpv3,id=n0,src=127.0.0.1,dst=127.0.0.2,txsession=0x66,rxsession=0x55" \
	"l2tpv3,id=b,src=::1,dst=::1,ipv6=on,udp=on,srcport=$qp,dstport=$gp,txsession=0x77,rxsession=0x88,counter=on,pincounter=on,offset=3" \
	"l2tpv3,id=n0,src=::1,dst=::1,ipv6=on,udp=on,srcport=$gp,dstport=$qp,txsession=0x88,rxsession=0x77,counter=on,pincounter=on,offset=3"
finish
