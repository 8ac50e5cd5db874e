#!/bin/bash
# SPDX-License-Identifier: MIT
# tunnel-bench.sh: frames/s and Gbit/s through a tunnel between two engines on this machine:
#   blast -> [stream a] engine A [tunnel over 127.0.0.1] engine B [stream b] -> blast
# Engines: qnet-vxlan, qnet-l2tpv3 (UDP), qnet-l2tpv3-ip (IP encapsulation, root), qemu-l2tpv3
# (QEMU 7.2 with -machine none on both ends, UDP), kernel-vxlan (root): two namespaces joined by a
# veth, the kernel's vxlan device in each, bridged with a tap that a qnet (stream a/b + tap) feeds;
# that row includes two tap crossings per frame, so it is a lower bound for the kernel's vxlan.
#
# Environment knobs (defaults in brackets):
#   BENCH_ENGINES  ["qnet-vxlan qnet-l2tpv3 qnet-l2tpv3-ip qemu-l2tpv3"]
#   BENCH_SIZES    Ethernet frame sizes in bytes ["64 1500"]
#   BENCH_WARMUP   seconds of traffic before counting [1]
#   BENCH_TIME     seconds counted [3]
#   QNET           the qnet binary [build/qnet]
# Only 127.0.0.1/127.0.0.2 and unix sockets under a private /tmp directory are used; everything
# started here is stopped on exit.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-$ROOT/build}
QNET=${QNET:-$B/qnet}
ENGINES=${BENCH_ENGINES:-qnet-vxlan qnet-l2tpv3 qnet-l2tpv3-ip qemu-l2tpv3 kernel-vxlan}
SIZES=${BENCH_SIZES:-64 1500}
WARMUP=${BENCH_WARMUP:-1}
TIME=${BENCH_TIME:-3}
QEMU_BIN=${QEMU_BIN:-qemu-system-x86_64}
BLAST=$B/bench/blast
TMO=$((WARMUP + TIME + 20))

T=$(mktemp -d /tmp/qnet-tbench.XXXXXX) || exit 1
PIDS=()
stop_all() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	PIDS=()
}
NS1=qtb-1-$$
NS2=qtb-2-$$
ns_made=0
trap 'stop_all; [ $ns_made = 1 ] && { ip netns del $NS1; ip netns del $NS2; } 2>/dev/null; rm -rf "$T"' EXIT
trap 'exit 130' INT TERM

mkdir -p "$B/bench"
if [ ! -x "$BLAST" ] || [ "$ROOT/bench/blast.c" -nt "$BLAST" ]; then
	"${CC:-cc}" -O2 -std=c11 -D_GNU_SOURCE -o "$BLAST" "$ROOT/bench/blast.c" -lvdeplug ||
		{ echo "tunnel-bench: cannot build blast" >&2; exit 1; }
fi

free_port() {
	python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# tunnels ENGINE: set TA and TB, the tunnel netdevs of the two ends
tunnels() {
	local p1 p2
	p1=$(free_port); p2=$(free_port)
	case $1 in
	qnet-vxlan)
		TA="vxlan,id=t,vni=42,local=127.0.0.1,remote=127.0.0.2,port=$p1"
		TB="vxlan,id=t,vni=42,local=127.0.0.2,remote=127.0.0.1,port=$p1" ;;
	qnet-l2tpv3|qemu-l2tpv3)
		TA="l2tpv3,id=t,src=127.0.0.1,dst=127.0.0.2,udp=on,srcport=$p1,dstport=$p2,txsession=1,rxsession=2"
		TB="l2tpv3,id=t,src=127.0.0.2,dst=127.0.0.1,udp=on,srcport=$p2,dstport=$p1,txsession=2,rxsession=1" ;;
	qnet-l2tpv3-ip)
		TA="l2tpv3,id=t,src=127.0.0.1,dst=127.0.0.2,txsession=1,rxsession=2"
		TB="l2tpv3,id=t,src=127.0.0.2,dst=127.0.0.1,txsession=2,rxsession=1" ;;
	esac
}

# kernel_setup: the two namespaces, the veth, a vxlan device and a bridge br0 in each
kernel_setup() {
	[ $ns_made = 1 ] && return 0
	ip netns add "$NS1" && ip netns add "$NS2" || return 1
	ns_made=1
	ip link add v1 netns "$NS1" type veth peer name v2 netns "$NS2" || return 1
	local i a r
	for i in 1 2; do
		a=10.200.0.$i; r=10.200.0.$((3 - i))
		ip -n "qtb-$i-$$" link set "v$i" mtu 1600 up
		ip -n "qtb-$i-$$" addr add "$a/24" dev "v$i"
		ip -n "qtb-$i-$$" link add vx0 type vxlan id 42 local "$a" remote "$r" dstport 4789 dev "v$i"
		ip -n "qtb-$i-$$" link add br0 type bridge
		ip -n "qtb-$i-$$" link set vx0 mtu 1500 master br0 up
		ip -n "qtb-$i-$$" link set br0 up
	done
}

# start ENGINE SIDE TUNNEL: one end, stream server $T/SIDE
start() {
	local cmd=("$QNET")
	[ "${1%%-*}" = qemu ] && cmd=("$QEMU_BIN" -nodefaults -display none -machine none)
	"${cmd[@]}" -netdev stream,id=s,server=on,addr.type=unix,addr.path="$T/$2" \
		-netdev hubport,id=ps,hubid=0,netdev=s -netdev "$3" -netdev hubport,id=pt,hubid=0,netdev=t \
		</dev/null >"$T/$2.log" 2>&1 &
	PIDS+=($!)
}

printf '%-16s %6s %12s %8s\n' engine size frames/s Gbit/s
for e in $ENGINES; do
	case $e in
	kernel-*) { [ "$(id -u)" = 0 ] && kernel_setup; } ||
		{ echo "tunnel-bench: $e needs root and namespaces: skipped" >&2; continue; } ;;
	qemu-*) command -v "$QEMU_BIN" >/dev/null || { echo "tunnel-bench: no QEMU: $e skipped" >&2; continue; } ;;
	*-ip) [ "$(id -u)" = 0 ] || { echo "tunnel-bench: $e needs root: skipped" >&2; continue; } ;;
	esac
	for size in $SIZES; do
		rm -f "$T/a" "$T/b"
		if [ "$e" = kernel-vxlan ]; then
			start "$e" a "tap,id=t,netns=/var/run/netns/$NS1,ifname=t0,script=no,downscript=no"
			start "$e" b "tap,id=t,netns=/var/run/netns/$NS2,ifname=t0,script=no,downscript=no"
			for i in 1 2; do
				for _ in $(seq 100); do
					ip -n "qtb-$i-$$" link set t0 master br0 2>/dev/null && break
					sleep 0.05
				done
			done
		else
			tunnels "$e"
			start "$e" a "$TA"
			start "$e" b "$TB"
		fi
		for _ in $(seq 100); do [ -S "$T/a" ] && [ -S "$T/b" ] && break; sleep 0.05; done
		out=$(timeout "$TMO" "$BLAST" stream "$T/a" "$T/b" --size "$size" --warmup "$WARMUP" \
			--time "$TIME" 2>"$T/blast.err")
		stop_all
		fps=$(sed -n 's/.*fps=\([^ ]*\).*/\1/p' <<<"$out")
		gbps=$(sed -n 's/.*gbps=\([^ ]*\).*/\1/p' <<<"$out")
		if [ -z "$fps" ]; then
			echo "tunnel-bench: $e ${size}B failed:" >&2
			sed 's/^/  /' "$T/blast.err" "$T/a.log" "$T/b.log" >&2
			continue
		fi
		printf '%-16s %6s %12s %8s\n' "$e" "$size" "$fps" "$gbps"
	done
done
