#!/bin/bash
# SPDX-License-Identifier: MIT
# 46-qemu-vde.sh - a QEMU 7.2 guest with -netdev vde and qnet's -netdev vde on the same vde_switch;
# a namespace on qnet's hub (tap) and the guest ping each other.
# Everything stays in $T (the switch's sockets) and in the namespace this test creates.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd qemu-system-x86_64 ip vde_switch busybox socat
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"
guest_build || { not_ok "guest image builds"; finish; }

ns=qnet-vde-$$
ns_create "$ns" || { not_ok "create namespace $ns"; finish; }

# the switch daemonizes (it reads its console on stdin otherwise): stopped by its pid file
vde_switch -s "$T/sw" -d -p "$T/sw.pid" </dev/null >"$T/sw.log" 2>&1
wait_for 5 test -s "$T/sw.pid"
swpid=$(cat "$T/sw.pid" 2>/dev/null)
at_exit "[ -n '$swpid' ] && kill $swpid 2>/dev/null"
check "vde_switch runs" kill -0 "${swpid:-0}"

if qnet_start q \
	-netdev tap,id=t0,netns=/var/run/netns/"$ns",ifname=eth0,script=no,downscript=no \
	-netdev hubport,id=pt,hubid=0,netdev=t0 \
	-netdev vde,id=v0,sock="$T/sw" -netdev hubport,id=pv,hubid=0,netdev=v0 \
	-monitor unix:"$T/mon",server=on,wait=off &&
   wait_for 10 ip -n "$ns" link show eth0 >/dev/null 2>&1; then
	ok "qnet joins the vde_switch and creates eth0 in $ns"
else
	not_ok "qnet joins the vde_switch and creates eth0 in $ns"
	qnet_log q
	finish
fi
ip -n "$ns" addr add 10.0.9.12/24 dev eth0
ip -n "$ns" link set eth0 up
wait_unix_socket "$T/mon"
out=$(printf 'info network\n' | timeout 5 socat -t 1 - "UNIX-CONNECT:$T/mon" | tr -d '\r')
check "info network shows the vde netdev as QEMU does (sock=PATH,fd=N)" \
	grep -Eq "v0: index=0,type=vde,sock=$T/sw,fd=[0-9]+" <<<"$out"

guest_start gv "vde,id=n0,sock=$T/sw" "$ROOT/tests/guest/ping.sh" 10.0.9.13/24 52:54:00:12:34:13 \
	virtio-net-pci "qnet.peer=10.0.9.12 qnet.pinged=3" || not_ok "QEMU guest (vde) starts"
if guest_wait gv '^QNET-GUEST-READY' 120 &&
   wait_for 60 ns_exec "$ns" busybox ping -c 1 -W 1 10.0.9.13 >/dev/null 2>&1 &&
   ns_exec "$ns" busybox ping -A -c 3 -w 10 10.0.9.13 | grep -q ' 0% packet loss'; then
	ok "the namespace on qnet's hub pings the vde guest (3/3)"
else
	not_ok "the namespace on qnet's hub pings the vde guest (3/3)"
fi
guest_wait_exit gv 90 || not_ok "gv: powered off"
guest_checks gv
check "qnet still running after the guest left" qnet_alive q || qnet_log q
check "qnet exits with status 0 on SIGTERM" qnet_stop q || qnet_log q
kill "$swpid" 2>/dev/null
check "vde_switch stopped" wait_for 5 eval "! kill -0 $swpid 2>/dev/null"
finish
