#!/bin/bash
# SPDX-License-Identifier: MIT
# demo.sh - qnet's main job, shown step by step (run by `make demo`, as root).
#
# Two network namespaces, each with a tap device that qnet creates inside it, joined by qnet's
# hub 0; they ping each other, then qnet's monitor shows `info network` and the capture of one
# port (filter-dump, pcap) is summarised. Everything stays inside namespaces this script creates.
set -u
cd "$(dirname "$0")/.."
QNET=${QNET:-$PWD/build/qnet}
T=$(mktemp -d /tmp/qnet-demo.XXXXXX)
A=qnet-demo-a B=qnet-demo-b
QPID=

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
cleanup() {
	[ -n "$QPID" ] && kill "$QPID" 2>/dev/null && wait "$QPID" 2>/dev/null
	ip netns del "$A" 2>/dev/null
	ip netns del "$B" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then
	echo "make demo needs root: it creates network namespaces and tap devices." >&2
	echo "Run it as root (for example: sudo make demo)." >&2
	exit 1
fi
need=()
command -v ip >/dev/null || need+=(iproute2)
command -v ping >/dev/null || need+=(iputils-ping)
command -v tshark >/dev/null || need+=(tshark)
command -v socat >/dev/null || need+=(socat)
if [ ${#need[@]} -gt 0 ]; then
	step "Installing what the demo needs: ${need[*]}"
	if command -v apt-get >/dev/null; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" ||
			{ echo "could not install ${need[*]}: install them and run make demo again" >&2; exit 1; }
	else
		echo "please install: ${need[*]}" >&2
		exit 1
	fi
fi

step "1. Two network namespaces, $A and $B (no interfaces but lo yet)"
ip netns del "$A" 2>/dev/null; ip netns del "$B" 2>/dev/null
run ip netns add "$A"
run ip netns add "$B"

step "2. qnet creates a tap inside each namespace and joins both to hub 0, capturing one port"
set -- -netdev tap,id=ta,netns=/var/run/netns/$A,ifname=eth0,script=no,downscript=no \
	-netdev hubport,id=pa,hubid=0,netdev=ta \
	-netdev tap,id=tb,netns=/var/run/netns/$B,ifname=eth0,script=no,downscript=no \
	-netdev hubport,id=pb,hubid=0,netdev=tb \
	-object filter-dump,id=cap,netdev=ta,file=$T/demo.pcap \
	-monitor unix:$T/monitor.sock,server=on,wait=off -pidfile "$T/qnet.pid"
printf '$ qnet'; printf ' %s' "$@"; printf '\n'
"$QNET" "$@" 2>"$T/qnet.log" &
QPID=$!
for _ in $(seq 50); do [ -S "$T/monitor.sock" ] && break; sleep 0.1; done
if ! kill -0 "$QPID" 2>/dev/null || [ ! -S "$T/monitor.sock" ]; then
	echo "qnet did not start:"; cat "$T/qnet.log"; exit 1
fi

step "3. Addresses inside the namespaces"
run ip -n "$A" addr add 10.0.9.1/24 dev eth0
run ip -n "$B" addr add 10.0.9.2/24 dev eth0
run ip -n "$A" link set eth0 up
run ip -n "$B" link set eth0 up
run ip -n "$A" -br addr show eth0
run ip -n "$B" -br addr show eth0

step "4. Ping both ways through qnet's hub"
ok=1
run ip netns exec "$A" ping -c 3 -W 2 -i 0.2 10.0.9.2 || ok=0
run ip netns exec "$B" ping -c 3 -W 2 -i 0.2 10.0.9.1 || ok=0

step "5. qnet's monitor: info network (QEMU's layout) and per-client counters"
mon() { printf '%s\n' "$1" | socat -t 1 - UNIX-CONNECT:"$T/monitor.sock" | tr -d '\r' |
	sed -e '/^QEMU\|^qnet .*monitor/d' -e 's/^(qemu) //' -e '/^$/d'; }
echo "(qemu) info network"; mon "info network"
echo "(qemu) info netstats"; mon "info netstats"

step "6. The capture of port ta (filter-dump, pcap), read by tshark"
kill "$QPID"; wait "$QPID" 2>/dev/null; QPID=
run tshark -r "$T/demo.pcap" -q -z io,phs 2>/dev/null | sed -n '/eth/,/====/p'
echo "frames: $(tshark -r "$T/demo.pcap" 2>/dev/null | wc -l) in total," \
	"ICMP echo requests: $(tshark -r "$T/demo.pcap" -Y 'icmp.type==8' 2>/dev/null | wc -l)," \
	"replies: $(tshark -r "$T/demo.pcap" -Y 'icmp.type==0' 2>/dev/null | wc -l)," \
	"ARP: $(tshark -r "$T/demo.pcap" -Y arp 2>/dev/null | wc -l)"

step "7. Done: qnet stopped, its taps are gone with it"
ip -n "$A" link show eth0 >/dev/null 2>&1 && { echo "eth0 still exists in $A"; ok=0; }
if [ "$ok" -eq 1 ]; then
	echo "demo: the namespaces talked through qnet"
else
	echo "demo: FAILED (see above); qnet's log:"; cat "$T/qnet.log"; exit 1
fi
