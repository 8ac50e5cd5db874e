#!/bin/bash
# SPDX-License-Identifier: MIT
# 44-qemu-tap-ns.sh - a network namespace (qnet tap with netns=) and a QEMU 7.2 guest on one hub.
#
# qnet: tap,netns=/var/run/netns/NS,ifname=eth0 (the tap is created inside NS) and a unix stream
# server, both on hub 0. The namespace's eth0 gets 10.0.9.12/24; the guest ga (virtio-net-pci,
# 10.0.9.11) connects to the stream server.
# Checks: ping both ways, 10 MiB TCP transfer guest->namespace (socat) with equal sha256; then a
# second guest (e1000, 10.0.9.13) on the same stream server, ping both ways.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd qemu-system-x86_64 ip socat sha256sum busybox
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
guest_build || { not_ok "guest image builds"; finish; }

ns=qnet-tap-$$
ns_create "$ns" || { not_ok "create namespace $ns"; finish; }

if qnet_start q \
	-netdev tap,id=t0,netns=/var/run/netns/"$ns",ifname=eth0,script=no,downscript=no \
	-netdev hubport,id=pt,hubid=0,netdev=t0 \
	-netdev stream,id=a,server=on,addr.type=unix,addr.path="$T/a.sock" \
	-netdev hubport,id=pa,hubid=0,netdev=a &&
   wait_for 10 ip -n "$ns" link show eth0 >/dev/null 2>&1 && wait_unix_socket "$T/a.sock" 10; then
	ok "qnet created eth0 in namespace $ns and listens on $T/a.sock"
else
	not_ok "qnet created eth0 in namespace $ns and listens on $T/a.sock"
	qnet_log q
	finish
fi
check "tap eth0 is not in the host namespace" test ! -e /sys/class/net/eth0/tun_flags
if ! { ip -n "$ns" addr add 10.0.9.12/24 dev eth0 && ip -n "$ns" link set eth0 up; }; then
	not_ok "configure eth0 in $ns"
fi

# The namespace plays pair.sh's receiver: socat takes the data, the host hashes it and sends the
# sum back to the guest (port 5002), which compares.
timeout 180 ip netns exec "$ns" socat -u TCP-LISTEN:5001,bind=10.0.9.12,reuseaddr \
	OPEN:"$T/rx",creat,trunc </dev/null >"$T/socat.log" 2>&1 &
rxpid=$!
bg_track "$rxpid"

guest_start ga "stream,id=n0,server=off,addr.type=unix,addr.path=$T/a.sock" \
	"$ROOT/tests/guest/pair.sh" 10.0.9.11/24 52:54:00:12:34:11 virtio-net-pci \
	"qnet.role=send qnet.peer=10.0.9.12 qnet.mb=$PAIR_MB" || not_ok "QEMU guest starts"

if guest_wait ga '^QNET-GUEST-READY' 120; then
	wait_for 60 ns_exec "$ns" busybox ping -c 1 -W 1 10.0.9.11 >/dev/null 2>&1
	out=$(ns_exec "$ns" busybox ping -A -c 3 -w 10 10.0.9.11 2>&1)
	if printf '%s\n' "$out" | grep -q ' 0% packet loss'; then
		ok "namespace pings the guest (3/3)"
	else
		not_ok "namespace pings the guest (3/3)"
		printf '%s\n' "$out" | sed 's/^/#   /'
	fi
else
	not_ok "guest ga boots"
fi

# Wait for the transfer (socat exits at the sender's EOF), then answer with the checksum.
if wait_for 180 eval "! kill -0 $rxpid 2>/dev/null" && wait "$rxpid"; then
	ok "namespace received a TCP stream from the guest ($(stat -c %s "$T/rx") bytes)"
else
	not_ok "namespace received a TCP stream from the guest"
	sed 's/^/#   /' "$T/socat.log"
fi
sum=$(sha256sum <"$T/rx" | cut -d' ' -f1)
echo "$sum" >"$T/sum"
wait_for 30 ns_exec "$ns" socat -u FILE:"$T/sum" TCP:10.0.9.11:5002,connect-timeout=2 2>/dev/null ||
	not_ok "send the checksum back to the guest"

guest_wait_exit ga 120 || not_ok "ga: powered off"
guest_checks ga
sa=$(guest_mark ga sha256)
if [ -n "$sa" ] && [ "$sa" = "$sum" ] && [ "$(stat -c %s "$T/rx")" = $((PAIR_MB * 1048576)) ]; then
	ok "host: ${PAIR_MB} MiB guest->namespace, sha256 equal on both ends"
else
	not_ok "host: ${PAIR_MB} MiB guest->namespace, sha256 equal on both ends (sent ${sa:-none}, got $sum)"
fi
check "qnet still running after the guest left" qnet_alive q || qnet_log q

# The stream server takes a new client once the first one is gone: a second guest, with an e1000
# this time, connects to the same socket and the namespace pings it (and it pings the namespace).
guest_start gc "stream,id=n0,server=off,addr.type=unix,addr.path=$T/a.sock" \
	"$ROOT/tests/guest/ping.sh" 10.0.9.13/24 52:54:00:12:34:13 e1000 \
	"qnet.peer=10.0.9.12 qnet.pinged=3" || not_ok "second QEMU guest starts"
if guest_wait gc '^QNET-GUEST-READY' 120 &&
   wait_for 60 ns_exec "$ns" busybox ping -c 1 -W 1 10.0.9.13 >/dev/null 2>&1 &&
   ns_exec "$ns" busybox ping -A -c 3 -w 10 10.0.9.13 | grep -q ' 0% packet loss'; then
	ok "namespace pings a second guest on the same stream server after the first left (3/3)"
else
	not_ok "namespace pings a second guest on the same stream server after the first left (3/3)"
fi
guest_wait_exit gc 90 || not_ok "gc: powered off"
guest_checks gc
check "qnet still running after the second guest left" qnet_alive q || qnet_log q
check "qnet exits with status 0 on SIGTERM" qnet_stop q || qnet_log q
check "namespace's eth0 is gone after qnet exited" wait_for 5 eval "! ip -n $ns link show eth0 >/dev/null 2>&1"
finish
