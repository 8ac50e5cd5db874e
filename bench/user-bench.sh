#!/bin/bash
# SPDX-License-Identifier: MIT
# user-bench.sh: the user-mode NAT path (-netdev user + tap in a namespace) against pasta and
# slirp4netns, in one run: TCP throughput both ways at each MTU (iperf3), TCP request/response
# latency (sockperf ping-pong) and the engine's RSS with N idle connections (conns.py).
#
# Adapted from ../shared/bench/anchors.sh (same measurements and command lines), with:
#   - qnet's tap gets script=no,downscript=no (anchors.sh runs /etc/qemu-ifup when it exists);
#   - qnet runs from a private copy of build/qnet (the tree may be rebuilt meanwhile);
#   - an RSS-with-idle-connections row, and ratios qnet/pasta and qnet/slirp4netns.
#
# Environment knobs (defaults in brackets):
#   ENGINES   engines to run ["slirp4netns pasta qnet"] (also: veth, the kernel reference)
#   MTUS      MTUs ["1500 65520"]
#   T         seconds per iperf3 run [5]
#   RUNS      runs per point; the median is reported [3]
#   CONNS     idle connections held for the RSS row (0: skip) [1000]
#   PIN       "": no pinning (default); "1": engine on CPU 1, clients on CPU 0
#   QNET      the qnet binary [build/qnet]    PASTA  the pasta binary [pasta]
#   QNET_ARGS extra -netdev user options for qnet (e.g. for experiments) [""]
# Traffic stays on this machine: servers listen on 127.0.0.1; the namespace reaches them through
# the engine's gateway address 10.0.2.2. Needs iperf3 sockperf slirp4netns passt python3 and root
# (pasta refuses root, so it runs as an unprivileged user "qnetbench", created if missing).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MTUS=${MTUS:-"1500 65520"}
T=${T:-5}
RUNS=${RUNS:-3}
CONNS=${CONNS:-1000}
PIN=${PIN:-}
ENGINES=${ENGINES:-"slirp4netns pasta qnet"}
QNET_SRC=${QNET:-$ROOT/build/qnet}
CONNS_PY=${CONNS_PY:-$ROOT/../shared/bench/conns.py}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
RESULTS=$ROOT/build/bench/user-bench.txt

TMP=$(mktemp -d /tmp/qnet-ubench.XXXXXX) || exit 1
chmod 755 "$TMP"	# the pasta user reads conns.py from here
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null; done
	PIDS=()
	ip link del qbv0 2>/dev/null
	ip netns del qbench 2>/dev/null
	return 0
}
TUN_MODE=
trap 'cleanup; rm -rf "$TMP"; [ -n "$TUN_MODE" ] && chmod "$TUN_MODE" /dev/net/tun' EXIT
trap 'exit 130' INT TERM

die() { echo "user-bench: $*" >&2; exit 1; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }

for t in iperf3 sockperf "$PY"; do command -v "$t" >/dev/null || die "$t not found"; done
[ "$(id -u)" = 0 ] || die "run as root (namespaces, and pasta's unprivileged user)"
cp "$CONNS_PY" "$TMP/conns.py" 2>/dev/null || die "cannot read $CONNS_PY"
chmod 644 "$TMP/conns.py"
if [[ " $ENGINES " == *" qnet "* ]]; then
	[ -x "$QNET_SRC" ] || die "$QNET_SRC not built (make)"
	cp "$QNET_SRC" "$TMP/qnet" || die "cannot copy $QNET_SRC"
fi
QNETBIN=$TMP/qnet
# pasta opens /dev/net/tun as the unprivileged user (inside its own user namespace): the device
# must be world-accessible, as it is on a stock Debian; some containers ship it 0600
if [[ " $ENGINES " == *" pasta "* ]] && [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
	TUN_MODE=$(stat -c %a /dev/net/tun)
	echo "user-bench: /dev/net/tun is mode $TUN_MODE: 0666 while pasta runs (restored on exit)"
	chmod 0666 /dev/net/tun || die "cannot chmod /dev/net/tun"
fi
PIN_E=() PIN_C=()
if [ "$PIN" = 1 ] && [ "$(nproc)" -ge 2 ]; then PIN_E=(taskset -c 1) PIN_C=(taskset -c 0); fi

start_servers() { # $1: address to bind
	iperf3 -s -B "$1" -p 5201 -D -I "$TMP/iperf3.pid" --logfile "$TMP/iperf3.log"
	"${PIN_C[@]}" sockperf sr --tcp -i "$1" -p 11111 >/dev/null 2>&1 &
	PIDS+=($!)
	(ulimit -n 65536; exec "$PY" "$TMP/conns.py" serve 5301 "$1") >/dev/null 2>&1 &
	PIDS+=($!)
	sleep 0.5
	PIDS+=("$(cat "$TMP/iperf3.pid")")
}

# run_in ENGINE MTU CMD...: run CMD inside the engine's namespace, print its output
run_in() {
	local engine=$1 mtu=$2; shift 2
	case $engine in
	veth) ip netns exec qbench "${PIN_C[@]}" "$@" ;;
	slirp4netns | qnet) nsenter -t "$NSPID" -n "${PIN_C[@]}" "$@" ;;
	pasta)
		su qnetbench -s /bin/bash -c "ulimit -n 65536 2>/dev/null || ulimit -n 4096; \
			timeout $((T + 60)) ${PIN_E[*]} ${PASTA:-pasta} -f --config-net -a 10.0.2.15 -n 24 \
			-g 10.0.2.2 -m $mtu -t none -u none -T none -U none -- ${PIN_C[*]} $*" 2>/dev/null ;;
	esac
}

# engine_pid ENGINE: the process whose RSS is reported
engine_pid() {
	case $1 in
	pasta) pgrep -u qnetbench -x 'pasta|pasta.avx2|passt|passt.avx2' | head -1 ;;
	*) echo "${EPID:-}" ;;
	esac
}

setup() { # ENGINE MTU -> sets TARGET, NSPID, EPID
	local engine=$1 mtu=$2
	EPID=
	case $engine in
	veth)
		ip netns add qbench
		ip link add qbv0 type veth peer name qbv1
		ip link set qbv1 netns qbench
		ip addr add 10.9.0.1/24 dev qbv0
		ip link set qbv0 mtu "$mtu" up
		ip -n qbench addr add 10.9.0.2/24 dev qbv1
		ip -n qbench link set qbv1 mtu "$mtu" up
		ip -n qbench link set lo up
		TARGET=10.9.0.1
		start_servers 10.9.0.1 ;;
	slirp4netns)
		unshare --net --fork --kill-child sleep 3600 &
		NSPID=$!
		PIDS+=($NSPID)
		sleep 0.3
		NSPID=$(pgrep -P "$NSPID")
		PIDS+=("$NSPID")
		"${PIN_E[@]}" slirp4netns --configure --mtu="$mtu" "$NSPID" tap0 >"$TMP/s4n.log" 2>&1 &
		EPID=$!
		PIDS+=($EPID)
		sleep 0.5
		TARGET=10.0.2.2
		start_servers 127.0.0.1 ;;
	qnet)
		unshare --net --fork --kill-child sleep 3600 &
		NSPID=$!
		PIDS+=($NSPID)
		sleep 0.3
		NSPID=$(pgrep -P "$NSPID")
		PIDS+=("$NSPID")
		"${PIN_E[@]}" "$QNETBIN" -netdev user,id=u0,mtu="$mtu"${QNET_ARGS:+,$QNET_ARGS} \
			-netdev tap,id=t0,netns=/proc/$NSPID/ns/net,ifname=eth0,script=no,downscript=no \
			-netdev hubport,id=p0,hubid=0,netdev=u0 -netdev hubport,id=p1,hubid=0,netdev=t0 \
			>"$TMP/qnet.log" 2>&1 &
		EPID=$!
		PIDS+=($EPID)
		sleep 0.5
		kill -0 "$EPID" 2>/dev/null || { cat "$TMP/qnet.log" >&2; die "qnet did not start"; }
		nsenter -t "$NSPID" -n sh -c "ip link set lo up; ip link set eth0 mtu $mtu up;
			ip addr add 10.0.2.15/24 dev eth0; ip route add default via 10.0.2.2"
		TARGET=10.0.2.2
		start_servers 127.0.0.1 ;;
	pasta)
		id qnetbench >/dev/null 2>&1 || useradd -M -s /bin/bash qnetbench
		TARGET=10.0.2.2
		start_servers 127.0.0.1 ;;
	*) die "unknown engine $engine" ;;
	esac
}

# conns_rss ENGINE MTU: hold CONNS connections open from the namespace, print "held rss_kB"
conns_rss() {
	local engine=$1 mtu=$2 i pid rss=- held=-
	: >"$TMP/hold.out"
	run_in "$engine" "$mtu" "$PY" "$TMP/conns.py" hold "$TARGET" 5301 "$CONNS" 40 \
		>"$TMP/hold.out" 2>"$TMP/hold.err" &
	local hp=$!
	for ((i = 0; i < 400; i++)); do
		[ -s "$TMP/hold.out" ] && break
		kill -0 "$hp" 2>/dev/null || break
		sleep 0.1
	done
	held=$(head -1 "$TMP/hold.out")
	sleep 1	# let the engine settle (ACKs, timers)
	pid=$(engine_pid "$engine")
	[ -n "$pid" ] && rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null)
	# the holder sleeps: stop it (pasta's copy goes with its namespace)
	pkill -P "$hp" 2>/dev/null; kill "$hp" 2>/dev/null; wait "$hp" 2>/dev/null
	[ "$engine" = pasta ] && [ -n "$pid" ] && kill "$pid" 2>/dev/null
	echo "${held:--} ${rss:--}"
}

# rss_now ENGINE: VmRSS of the engine right now (kB)
rss_now() { local p; p=$(engine_pid "$1"); [ -n "$p" ] && awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null; }

declare -A UP DOWN LAT RSS HELD RSS0
START=$(date +%s)
echo "user-bench: engines: $ENGINES; MTUs: $MTUS; $RUNS runs of ${T}s; $(nproc) CPUs; pinning: ${PIN:-none}"
for engine in $ENGINES; do
	for mtu in $MTUS; do
		setup "$engine" "$mtu"
		up=() down=() lat=()
		for ((i = 0; i < RUNS; i++)); do
			up+=("$(run_in "$engine" "$mtu" iperf3 -c "$TARGET" -p 5201 -t "$T" -f g \
				| awk '/receiver/ {print $(NF-2)}')")
			down+=("$(run_in "$engine" "$mtu" iperf3 -c "$TARGET" -p 5201 -t "$T" -f g -R \
				| awk '/receiver/ {print $(NF-2)}')")
			lat+=("$(run_in "$engine" "$mtu" sockperf pp --tcp -i "$TARGET" -p 11111 -t 3 -m 64 \
				2>&1 | awk '/percentile 50.000/ {print $NF}')")
		done
		UP[$engine,$mtu]=$(printf '%s\n' "${up[@]}" | grep . | median)
		DOWN[$engine,$mtu]=$(printf '%s\n' "${down[@]}" | grep . | median)
		LAT[$engine,$mtu]=$(printf '%s\n' "${lat[@]}" | grep . | median)
		printf '  %-12s mtu %5s: ns->host %s  host->ns %s  rr %s usec (runs: %s | %s | %s)\n' \
			"$engine" "$mtu" "${UP[$engine,$mtu]}" "${DOWN[$engine,$mtu]}" "${LAT[$engine,$mtu]}" \
			"${up[*]}" "${down[*]}" "${lat[*]}"
		if [ "$CONNS" -gt 0 ] && [ "$mtu" = "${MTUS%% *}" ] && [ "$engine" != veth ]; then
			[ "$engine" != pasta ] && RSS0[$engine]=$(rss_now "$engine")
			read -r HELD[$engine] RSS[$engine] <<<"$(conns_rss "$engine" "$mtu")"
			echo "  $engine: ${HELD[$engine]} connections held, VmRSS ${RSS[$engine]} kB" \
				"(before: ${RSS0[$engine]:-n/a} kB)"
		fi
		cleanup
	done
done

ratio() { # a b: a/b with 2 decimals, or -
	awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else printf "-" }'
}
{
	echo
	echo "user-mode NAT, median of $RUNS ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -r), pinning: ${PIN:-none})"
	echo "throughput Gbit/s (iperf3 -t $T, receiver), rr: sockperf TCP ping-pong 64 B, median one-way usec"
	printf '%-12s %6s %10s %10s %9s\n' engine mtu "ns->host" "host->ns" "rr usec"
	for mtu in $MTUS; do
		for engine in $ENGINES; do
			printf '%-12s %6s %10s %10s %9s\n' "$engine" "$mtu" "${UP[$engine,$mtu]:--}" \
				"${DOWN[$engine,$mtu]:--}" "${LAT[$engine,$mtu]:--}"
		done
	done
	if [[ " $ENGINES " == *" qnet "* ]]; then
		echo
		echo "ratios (throughput: >1 means qnet is faster; latency: <1 means qnet is faster)"
		printf '%-18s %6s %10s %10s %9s\n' ratio mtu "ns->host" "host->ns" "rr usec"
		for other in pasta slirp4netns; do
			[[ " $ENGINES " == *" $other "* ]] || continue
			for mtu in $MTUS; do
				printf '%-18s %6s %10s %10s %9s\n' "qnet/$other" "$mtu" \
					"$(ratio "${UP[qnet,$mtu]:-}" "${UP[$other,$mtu]:-}")" \
					"$(ratio "${DOWN[qnet,$mtu]:-}" "${DOWN[$other,$mtu]:-}")" \
					"$(ratio "${LAT[qnet,$mtu]:-}" "${LAT[$other,$mtu]:-}")"
			done
		done
	fi
	if [ "$CONNS" -gt 0 ]; then
		echo
		echo "RSS with $CONNS idle TCP connections (conns.py hold through 10.0.2.2 to a loopback server, MTU ${MTUS%% *})"
		for engine in $ENGINES; do
			[ "$engine" = veth ] && continue
			echo "$engine: held ${HELD[$engine]:--}, VmRSS ${RSS[$engine]:--} kB (idle before: ${RSS0[$engine]:-n/a} kB)"
		done
	fi
	echo "wall time: $(($(date +%s) - START))s"
} >"$TMP/report"
mkdir -p "$(dirname "$RESULTS")"
tee "$RESULTS" <"$TMP/report"
