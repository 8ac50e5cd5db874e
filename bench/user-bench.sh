#!/bin/bash
# SPDX-License-Identifier: MIT
# user-bench.sh: the user-mode NAT path (-netdev user + tap in a namespace) against the kernel's
# veth, pasta and slirp4netns, in one run: TCP throughput both ways at each MTU (iperf3), TCP
# request/response latency (sockperf ping-pong), new connections per second (conns.py rate), the
# engine's RSS holding HOLD concurrent connections (bench/hold.py, several server ports, fd limits
# raised with prlimit) and a STAB-second iperf3 stability run (min 1-s interval / median).
#
# Adapted from ../shared/bench/anchors.sh (same measurements and command lines), with:
#   - qnet's tap gets script=no,downscript=no (anchors.sh runs /etc/qemu-ifup when it exists);
#   - qnet runs from a private copy of build/qnet (the tree may be rebuilt meanwhile);
#   - connection-rate, concurrent-connections and stability rows, and ratios of qnet against veth,
#     pasta and slirp4netns.
#
# Environment knobs (defaults in brackets):
#   ENGINES   engines to run ["veth slirp4netns pasta qnet"] (veth: the kernel reference)
#   MTUS      MTUs ["1500 65520"]
#   T         seconds per iperf3 run [5]
#   RUNS      runs per point; the median is reported [3]
#   RATE_N    connections per conns.py rate run, per MTU (0: skip the row) [5000]
#   HOLD      concurrent connections qnet holds for the RSS row, at the first MTU (0: skip) [100000]
#   HOLD_ANCHORS  the same for veth, pasta and slirp4netns, which may not hold HOLD [10000]
#   HOLD_PER_PORT connections per server port (one client address has ~28k ephemeral ports per
#             destination) [20000]
#   STAB      seconds of the iperf3 -J stability run per direction, at the first MTU (0: skip) [60]
#   STAB_DIRS directions of the stability run ["up down"] (up: ns->host, down: host->ns)
#   PIN       "": no pinning (default); "1": engine on CPU 1, clients on CPU 0
#   QNET      the qnet binary [build/qnet]    PASTA  the pasta binary [pasta]
#   QNET_ARGS extra -netdev user options for qnet (e.g. for experiments) [""]
# Traffic stays on this machine: servers listen on 127.0.0.1; the namespace reaches them through
# the engine's gateway address 10.0.2.2. Needs iperf3 sockperf slirp4netns passt python3 util-linux
# and root; installs what is missing (tests/deps.sh bench). pasta refuses root, so it runs as an
# unprivileged user "qnetbench", created if missing.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MTUS=${MTUS:-"1500 65520"}
T=${T:-5}
RUNS=${RUNS:-3}
RATE_N=${RATE_N:-5000}
HOLD=${HOLD:-${CONNS:-100000}}
HOLD_ANCHORS=${HOLD_ANCHORS:-10000}
HOLD_PER_PORT=${HOLD_PER_PORT:-20000}
STAB=${STAB:-60}
STAB_DIRS=${STAB_DIRS:-"up down"}
PIN=${PIN:-}
ENGINES=${ENGINES:-"veth slirp4netns pasta qnet"}
QNET_SRC=${QNET:-$ROOT/build/qnet}
CONNS_PY=${CONNS_PY:-$ROOT/../shared/bench/conns.py}
[ -r "$CONNS_PY" ] || CONNS_PY=$ROOT/../../shared/bench/conns.py
[ -r "$CONNS_PY" ] || CONNS_PY=/work/shared/bench/conns.py
HOLD_PY=$ROOT/bench/hold.py
PASTA_TO=$((T + 60))	# seconds a pasta instance may live (it is stopped by timeout)
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

[ "$(id -u)" = 0 ] || die "run as root (namespaces, and pasta's unprivileged user)"
"$ROOT/tests/deps.sh" bench || die "cannot install the bench's packages (bench/README.md)"
for t in iperf3 sockperf prlimit nsenter unshare "$PY"; do
	command -v "$t" >/dev/null || die "$t not found"
done
cp "$CONNS_PY" "$TMP/conns.py" 2>/dev/null || die "cannot read $CONNS_PY"
cp "$HOLD_PY" "$TMP/hold.py" 2>/dev/null || die "cannot read $HOLD_PY"
chmod 644 "$TMP/conns.py" "$TMP/hold.py"
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
# Descriptor limits: qnet and the anchors need one per held connection. Raising the hard limit
# needs CAP_SYS_RESOURCE; without it (some containers) everything runs with the hard limit there is.
NOFILE=$((HOLD + 4096))
if ! prlimit --nofile=$NOFILE:$NOFILE true 2>/dev/null; then
	NOFILE=$(ulimit -Hn)
	[ "$NOFILE" = unlimited ] && NOFILE=1048576
	echo "user-bench: NOTE: cannot raise the fd limit to $((HOLD + 4096)) here (no CAP_SYS_RESOURCE):" \
		"engines run with $NOFILE, so none can hold more than about that many connections"
fi
[ "$HOLD_PER_PORT" -gt $((NOFILE - 64)) ] && HOLD_PER_PORT=$((NOFILE - 64))
PIN_E=() PIN_C=()
if [ "$PIN" = 1 ] && [ "$(nproc)" -ge 2 ]; then PIN_E=(taskset -c 1) PIN_C=(taskset -c 0); fi

# Every server runs in the foreground of a background job, so $! is its own pid (iperf3 -D would
# daemonize and could outlive the script).
start_servers() { # $1: address to bind
	iperf3 -s -B "$1" -p 5201 --logfile "$TMP/iperf3.log" &
	PIDS+=($!)
	"${PIN_C[@]}" sockperf sr --tcp -i "$1" -p 11111 >/dev/null 2>&1 &
	PIDS+=($!)
	prlimit --nofile=$NOFILE:$NOFILE "$PY" "$TMP/conns.py" serve 5301 "$1" >/dev/null 2>&1 &
	PIDS+=($!)
	SRV_ADDR=$1
	sleep 0.5
}

# hold_servers NPORTS: conns.py servers on ports 5401.. for the concurrent-connections row
hold_servers() {
	local i
	for ((i = 0; i < $1; i++)); do
		prlimit --nofile=$NOFILE:$NOFILE \
			"$PY" "$TMP/conns.py" serve $((5401 + i)) "$SRV_ADDR" >/dev/null 2>&1 &
		PIDS+=($!)
	done
	sleep 0.5
}

# run_in ENGINE MTU CMD...: run CMD inside the engine's namespace, print its output
run_in() {
	local engine=$1 mtu=$2; shift 2
	case $engine in
	veth) ip netns exec qbench "${PIN_C[@]}" "$@" ;;
	slirp4netns | qnet) nsenter -t "$NSPID" -n "${PIN_C[@]}" "$@" ;;
	pasta)
		prlimit --nofile=$NOFILE:$NOFILE su qnetbench -s /bin/bash -c "ulimit -n $NOFILE; \
			timeout $PASTA_TO ${PIN_E[*]} ${PASTA:-pasta} -f --config-net -a 10.0.2.15 -n 24 \
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
		"${PIN_E[@]}" prlimit --nofile=$NOFILE:$NOFILE \
			slirp4netns --configure --mtu="$mtu" "$NSPID" tap0 >"$TMP/s4n.log" 2>&1 &
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
		"${PIN_E[@]}" prlimit --nofile=$NOFILE:$NOFILE \
			"$QNETBIN" -netdev user,id=u0,mtu="$mtu"${QNET_ARGS:+,$QNET_ARGS} \
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

# rss_now ENGINE: VmRSS of the engine right now (kB)
rss_now() { local p; p=$(engine_pid "$1"); [ -n "$p" ] && awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null; }

# hold_conns ENGINE MTU N NPORTS: hold N connections open from the namespace (bench/hold.py) to
# the NPORTS servers of hold_servers, print "held rss_kB seconds_to_open". Runs in a subshell:
# starts nothing that outlives it.
hold_conns() {
	local engine=$1 mtu=$2 n=$3 nports=$4 i pid rss=- held=- secs=- line
	: >"$TMP/hold.out"
	# opening n connections at >= 1000/s, then 60 s to measure; pasta is stopped by its timeout
	PASTA_TO=$((n / 1000 + 120))
	run_in "$engine" "$mtu" "$PY" "$TMP/hold.py" "$TARGET" 5401 "$nports" "$n" 60 \
		>"$TMP/hold.out" 2>"$TMP/hold.err" &
	local hp=$!
	for ((i = 0; i < (n / 1000 + 60) * 10; i++)); do
		[ -s "$TMP/hold.out" ] && break
		kill -0 "$hp" 2>/dev/null || break
		sleep 0.1
	done
	PASTA_TO=$((T + 60))
	line=$(cat "$TMP/hold.out")
	if [[ $line =~ ^held\ ([0-9]+)\ of\ [0-9]+\ in\ ([0-9.]+)s ]]; then
		held=${BASH_REMATCH[1]} secs=${BASH_REMATCH[2]}
	fi
	[ -n "$line" ] && echo "  $engine: hold.py: $line" >&2
	[ -s "$TMP/hold.err" ] && sed 's/^/  hold.py: /' "$TMP/hold.err" | tail -3 >&2
	sleep 1	# let the engine settle (ACKs, timers)
	pid=$(engine_pid "$engine")
	[ -n "$pid" ] && [ "$engine" != veth ] && rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null)
	# the holder sleeps: stop it (pasta's copy goes with its namespace)
	pkill -P "$hp" 2>/dev/null; kill "$hp" 2>/dev/null; wait "$hp" 2>/dev/null
	[ "$engine" = pasta ] && [ -n "$pid" ] && kill "$pid" 2>/dev/null
	echo "${held:--} ${rss:--} ${secs:--}"
}

# stab ENGINE MTU DIR: a STAB-second iperf3 -J run (DIR up: ns->host, down: host->ns); prints
# "intervals median_gbps min_gbps min/median low_count" (low: an interval < 10% of the median)
stab() {
	local engine=$1 mtu=$2 dir=$3 r=
	[ "$dir" = down ] && r=-R
	PASTA_TO=$((STAB + 60))
	run_in "$engine" "$mtu" iperf3 -c "$TARGET" -p 5201 -t "$STAB" -J $r >"$TMP/stab.json" 2>/dev/null
	PASTA_TO=$((T + 60))
	"$PY" - "$TMP/stab.json" <<'PYEOF'
import json, statistics, sys
try:
    iv = [i["sum"]["bits_per_second"] / 1e9 for i in json.load(open(sys.argv[1]))["intervals"]]
except (OSError, ValueError, KeyError, TypeError):
    iv = []
if not iv:
    print("0 - - - -")
else:
    med = statistics.median(iv)
    low = sum(1 for v in iv if v < 0.1 * med or v <= 0)
    print(f"{len(iv)} {med:.2f} {min(iv):.2f} {min(iv) / med if med > 0 else 0:.2f} {low}")
PYEOF
}

declare -A UP DOWN LAT RATE RSS HELD RSS0 HOLDN HOLDT STABR
START=$(date +%s)
echo "user-bench: engines: $ENGINES; MTUs: $MTUS; $RUNS runs of ${T}s; $(nproc) CPUs; pinning: ${PIN:-none}"
echo "user-bench: rows: conn rate ${RATE_N}/run; hold $HOLD (qnet) / $HOLD_ANCHORS (anchors); stability ${STAB}s ($STAB_DIRS)"
for engine in $ENGINES; do
	for mtu in $MTUS; do
		setup "$engine" "$mtu"
		up=() down=() lat=() rate=()
		for ((i = 0; i < RUNS; i++)); do
			up+=("$(run_in "$engine" "$mtu" iperf3 -c "$TARGET" -p 5201 -t "$T" -f g \
				| awk '/receiver/ {print $(NF-2)}')")
			down+=("$(run_in "$engine" "$mtu" iperf3 -c "$TARGET" -p 5201 -t "$T" -f g -R \
				| awk '/receiver/ {print $(NF-2)}')")
			lat+=("$(run_in "$engine" "$mtu" sockperf pp --tcp -i "$TARGET" -p 11111 -t 3 -m 64 \
				2>&1 | awk '/percentile 50.000/ {print $NF}')")
			[ "$RATE_N" -gt 0 ] &&
				rate+=("$(run_in "$engine" "$mtu" "$PY" "$TMP/conns.py" rate "$TARGET" 5301 "$RATE_N" 2>"$TMP/rate.err")")
			[ -s "$TMP/rate.err" ] && tail -2 "$TMP/rate.err" >&2
		done
		UP[$engine,$mtu]=$(printf '%s\n' "${up[@]}" | grep . | median)
		DOWN[$engine,$mtu]=$(printf '%s\n' "${down[@]}" | grep . | median)
		LAT[$engine,$mtu]=$(printf '%s\n' "${lat[@]}" | grep . | median)
		RATE[$engine,$mtu]=$(printf '%s\n' "${rate[@]:-}" | grep . | median)
		printf '  %-12s mtu %5s: ns->host %s  host->ns %s  rr %s usec  conn/s %s (runs: %s | %s | %s | %s)\n' \
			"$engine" "$mtu" "${UP[$engine,$mtu]}" "${DOWN[$engine,$mtu]}" "${LAT[$engine,$mtu]}" \
			"${RATE[$engine,$mtu]}" "${up[*]}" "${down[*]}" "${lat[*]}" "${rate[*]:-}"
		if [ "$mtu" = "${MTUS%% *}" ] && [ "$STAB" -gt 0 ]; then
			for dir in $STAB_DIRS; do
				STABR[$engine,$dir]=$(stab "$engine" "$mtu" "$dir")
				echo "  $engine: ${STAB}s $dir: intervals median min min/median low: ${STABR[$engine,$dir]}"
			done
		fi
		if [ "$HOLD" -gt 0 ] && [ "$mtu" = "${MTUS%% *}" ]; then
			HOLDN[$engine]=$HOLD
			[ "$engine" != qnet ] && [ "$HOLD_ANCHORS" -lt "$HOLD" ] && HOLDN[$engine]=$HOLD_ANCHORS
			[ "$engine" != pasta ] && [ "$engine" != veth ] && RSS0[$engine]=$(rss_now "$engine")
			nports=$(((HOLDN[$engine] + HOLD_PER_PORT - 1) / HOLD_PER_PORT))
			hold_servers "$nports"
			read -r HELD[$engine] RSS[$engine] HOLDT[$engine] \
				<<<"$(hold_conns "$engine" "$mtu" "${HOLDN[$engine]}" "$nports")"
			echo "  $engine: ${HELD[$engine]} of ${HOLDN[$engine]} connections held" \
				"(opened in ${HOLDT[$engine]}s), VmRSS ${RSS[$engine]} kB (before: ${RSS0[$engine]:-n/a} kB)"
		fi
		cleanup
	done
done

ratio() { # a b: a/b with 2 decimals, or -
	awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else printf "-" }'
}
# per_conn RSS RSS0 HELD: bytes per held connection above the idle RSS, or -
per_conn() {
	awk -v r="$1" -v r0="$2" -v n="$3" 'BEGIN { if (r + 0 > 0 && r0 + 0 > 0 && n + 0 > 0) printf "%.0f", (r - r0) * 1024 / n; else printf "-" }'
}
{
	echo
	echo "user-mode NAT, median of $RUNS ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -r), pinning: ${PIN:-none})"
	echo "throughput Gbit/s (iperf3 -t $T, receiver), rr: sockperf TCP ping-pong 64 B, median one-way usec,"
	echo "conn/s: conns.py rate (connect, 2 bytes each way, close; $RATE_N sequential)"
	printf '%-12s %6s %10s %10s %9s %9s\n' engine mtu "ns->host" "host->ns" "rr usec" "conn/s"
	for mtu in $MTUS; do
		for engine in $ENGINES; do
			printf '%-12s %6s %10s %10s %9s %9s\n' "$engine" "$mtu" "${UP[$engine,$mtu]:--}" \
				"${DOWN[$engine,$mtu]:--}" "${LAT[$engine,$mtu]:--}" "${RATE[$engine,$mtu]:--}"
		done
	done
	if [[ " $ENGINES " == *" qnet "* ]]; then
		echo
		echo "ratios (throughput, conn/s: >1 means qnet is faster; latency: <1 means qnet is faster)"
		printf '%-18s %6s %10s %10s %9s %9s\n' ratio mtu "ns->host" "host->ns" "rr usec" "conn/s"
		for other in veth pasta slirp4netns; do
			[[ " $ENGINES " == *" $other "* ]] || continue
			for mtu in $MTUS; do
				printf '%-18s %6s %10s %10s %9s %9s\n' "qnet/$other" "$mtu" \
					"$(ratio "${UP[qnet,$mtu]:-}" "${UP[$other,$mtu]:-}")" \
					"$(ratio "${DOWN[qnet,$mtu]:-}" "${DOWN[$other,$mtu]:-}")" \
					"$(ratio "${LAT[qnet,$mtu]:-}" "${LAT[$other,$mtu]:-}")" \
					"$(ratio "${RATE[qnet,$mtu]:-}" "${RATE[$other,$mtu]:-}")"
			done
		done
	fi
	if [ "$HOLD" -gt 0 ]; then
		echo
		echo "concurrent TCP connections (bench/hold.py through the gateway to loopback servers on"
		echo "ceil(N/$HOLD_PER_PORT) ports, MTU ${MTUS%% *}; asked: qnet $HOLD, anchors $HOLD_ANCHORS; veth: kernel, no RSS)"
		printf '%-12s %8s %8s %8s %11s %11s %10s\n' engine asked held "open s" "RSS idle kB" "RSS held kB" "B/conn"
		for engine in $ENGINES; do
			printf '%-12s %8s %8s %8s %11s %11s %10s\n' "$engine" "${HOLDN[$engine]:--}" \
				"${HELD[$engine]:--}" "${HOLDT[$engine]:--}" "${RSS0[$engine]:--}" "${RSS[$engine]:--}" \
				"$(per_conn "${RSS[$engine]:-}" "${RSS0[$engine]:-}" "${HELD[$engine]:-}")"
		done
		for engine in $ENGINES; do
			[ -n "${HOLDN[$engine]:-}" ] && [ "${HELD[$engine]:--}" != "${HOLDN[$engine]}" ] &&
				echo "NOTE: $engine held ${HELD[$engine]:--} of the ${HOLDN[$engine]} asked"
			[ "$engine" != qnet ] && [ "${HOLDN[$engine]:-$HOLD}" != "$HOLD" ] &&
				echo "NOTE: $engine was asked for ${HOLDN[$engine]}, not $HOLD (HOLD_ANCHORS)"
		done
	fi
	if [ "$STAB" -gt 0 ]; then
		echo
		echo "stability: iperf3 -t $STAB -J, 1-s intervals, Gbit/s (MTU ${MTUS%% *}; LOW: an interval < 10% of the median)"
		printf '%-12s %5s %9s %8s %8s %10s %5s\n' engine dir intervals median min min/median low
		for engine in $ENGINES; do
			for dir in $STAB_DIRS; do
				read -r n med mn rel low <<<"${STABR[$engine,$dir]:-0 - - - -}"
				flag=
				[ "$low" != - ] && [ "$low" -gt 0 ] && flag=" LOW"
				[ "$n" = 0 ] && flag=" FAILED"
				printf '%-12s %5s %9s %8s %8s %10s %5s%s\n' "$engine" "$dir" "$n" "$med" "$mn" "$rel" "$low" "$flag"
			done
		done
	fi
	echo "wall time: $(($(date +%s) - START))s"
} >"$TMP/report"
mkdir -p "$(dirname "$RESULTS")"
tee "$RESULTS" <"$TMP/report"
