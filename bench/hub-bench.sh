#!/bin/bash
# SPDX-License-Identifier: MIT
# hub-bench.sh: frames/s and Gbit/s through a two-port hub: qnet vs vde_switch (hub and switch mode) vs QEMU 7.2.
#
# Environment knobs (defaults in brackets):
#   BENCH_ENGINES  engines to run ["qnet vde-hub vde-switch qemu"]; qemu is skipped if not installed
#   BENCH_SIZES    Ethernet frame sizes in bytes ["64 1500"]
#   BENCH_RUNS     runs per engine and size; the median is reported [3]
#   BENCH_WARMUP   seconds of traffic before counting [1]
#   BENCH_TIME     seconds counted [4]
#   BENCH_PIN      1: engine on CPU 1, blast on CPU 0 (needs 2 CPUs and taskset) [1]
#   BENCH_STRICT   1: exit 1 if qnet is not >= 2x vde_switch at every size [0]
#   QNET           the qnet binary [build/qnet]
# Only unix sockets under a private /tmp directory are used; everything started here is stopped on exit.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-$ROOT/build}
QNET=${QNET:-$B/qnet}
ENGINES=${BENCH_ENGINES:-qnet vde-hub vde-switch qemu}
SIZES=${BENCH_SIZES:-64 1500}
RUNS=${BENCH_RUNS:-3}
WARMUP=${BENCH_WARMUP:-1}
TIME=${BENCH_TIME:-4}
PIN=${BENCH_PIN:-1}
STRICT=${BENCH_STRICT:-0}
QEMU_BIN=${QEMU_BIN:-qemu-system-x86_64}
BLAST=$B/bench/blast
RESULTS=$B/bench/hub-bench.txt

for v in "$WARMUP" "$TIME"; do
	[[ $v =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "hub-bench: BENCH_WARMUP/BENCH_TIME must be numbers" >&2; exit 1; }
done
[[ $RUNS =~ ^[1-9][0-9]?$ ]] || { echo "hub-bench: BENCH_RUNS must be 1..99" >&2; exit 1; }
TMO=$(awk -v a="$WARMUP" -v b="$TIME" 'BEGIN { printf "%d", a + b + 20 }')

T=$(mktemp -d /tmp/qnet-bench.XXXXXX) || exit 1
ENGINE_PID=
BLAST_PID=
FAILED=0

# stop_pid PID: SIGTERM, wait up to 2 s, then SIGKILL. Only PIDs this script started are passed here.
stop_pid() {
	local pid=$1
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 40); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# stop_engine: stop the running engine, including a vde_switch daemon whose pid file exists but
# whose ENGINE_PID was not set yet (interrupted or failed start)
stop_engine() {
	local vpid=
	[ -s "$T/run/vde.pid" ] && vpid=$(cat "$T/run/vde.pid")
	stop_pid "$ENGINE_PID"
	[ -n "$vpid" ] && [ "$vpid" != "$ENGINE_PID" ] && stop_pid "$vpid"
	rm -f "$T/run/vde.pid"
	ENGINE_PID=
}

# shellcheck disable=SC2317  # called from the trap
cleanup() {
	stop_pid "$BLAST_PID"
	stop_engine
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "hub-bench: $*" >&2; exit 1; }

# --- build blast ----------------------------------------------------------------------------------
mkdir -p "$B/bench" || exit 1
VDE_OK=1
if [ ! -e /usr/include/libvdeplug.h ]; then
	VDE_OK=0
	echo "hub-bench: libvdeplug.h not found (apt-get install libvdeplug-dev): vde engines skipped" >&2
fi
if [ ! -x "$BLAST" ] || [ "$ROOT/bench/blast.c" -nt "$BLAST" ] || [ "$0" -nt "$BLAST" ]; then
	CFL=(-O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes)
	if [ "$VDE_OK" = 1 ]; then
		"${CC:-cc}" "${CFL[@]}" -o "$BLAST" "$ROOT/bench/blast.c" -lvdeplug || die "cannot build blast"
	else
		"${CC:-cc}" "${CFL[@]}" -DBLAST_NO_VDE -o "$BLAST" "$ROOT/bench/blast.c" || die "cannot build blast"
	fi
fi

PIN_E=() PIN_C=() PIN_MSG=none
if [ "$PIN" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	PIN_E=(taskset -c 1) PIN_C=(taskset -c 0) PIN_MSG="engine on CPU 1, blast on CPU 0"
fi

# wait_for PATH...: until every path exists and ENGINE_PID is alive, at most 5 s
wait_for() {
	local p ok
	for _ in $(seq 1 100); do
		ok=1
		for p in "$@"; do [ -e "$p" ] || ok=0; done
		[ $ok = 1 ] && return 0
		if [ -n "$ENGINE_PID" ] && ! kill -0 "$ENGINE_PID" 2>/dev/null; then
			return 1
		fi
		sleep 0.05
	done
	return 1
}

# start_engine ENGINE: start it listening under $T/run, set ENGINE_PID and BLAST_ARGS
start_engine() {
	local e=$1 d=$T/run
	rm -rf "$d"; mkdir -p "$d"
	ENGINE_PID=
	case $e in
	qnet|qemu)
		local cmd=("$QNET")
		[ "$e" = qemu ] && cmd=("$QEMU_BIN" -nodefaults -display none -machine none)
		"${PIN_E[@]}" "${cmd[@]}" \
			-netdev stream,id=a,server=on,addr.type=unix,addr.path="$d/a" \
			-netdev hubport,id=pa,hubid=0,netdev=a \
			-netdev stream,id=b,server=on,addr.type=unix,addr.path="$d/b" \
			-netdev hubport,id=pb,hubid=0,netdev=b \
			</dev/null >"$T/engine.log" 2>&1 &
		ENGINE_PID=$!
		BLAST_ARGS=(stream "$d/a" "$d/b")
		wait_for "$d/a" "$d/b"
		;;
	vde-hub|vde-switch)
		local mode=()
		[ "$e" = vde-hub ] && mode=(-x)
		"${PIN_E[@]}" vde_switch -s "$d/vde" "${mode[@]}" -d -p "$d/vde.pid" \
			</dev/null >"$T/engine.log" 2>&1 || return 1
		wait_for "$d/vde.pid" "$d/vde/ctl" || return 1
		ENGINE_PID=$(cat "$d/vde.pid")
		BLAST_ARGS=(vde "$d/vde")
		[ "$e" = vde-switch ] && BLAST_ARGS+=(--learn)
		return 0
		;;
	esac
}

# engine_available ENGINE: 0 if it can run here
engine_available() {
	case $1 in
	qnet) [ -x "$QNET" ] || { echo "hub-bench: $QNET not built: qnet skipped" >&2; return 1; } ;;
	qemu) command -v "$QEMU_BIN" >/dev/null || return 1 ;;
	vde-*) [ "$VDE_OK" = 1 ] && command -v vde_switch >/dev/null || return 1 ;;
	*) echo "hub-bench: unknown engine $1" >&2; return 1 ;;
	esac
}

# field NAME LINE: value of NAME=... in a blast output line
field() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }

# cpu_jiffies: "TOTAL BUSY" summed over all CPUs from /proc/stat (idle and iowait are not busy)
cpu_jiffies() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t, t - $5 - $6 }' /proc/stat; }
# pid_jiffies PID: utime+stime of a process (0 if gone)
pid_jiffies() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
HZ=$(getconf CLK_TCK)

# run_one ENGINE SIZE RUN: one measurement; appends "fps gbps" to $T/samples.ENGINE.SIZE
run_one() {
	local e=$1 size=$2 r=$3 out rc alive c0 c1 p0 p1 other ecpu
	if ! start_engine "$e"; then
		echo "hub-bench: $e did not start:" >&2; sed 's/^/  /' "$T/engine.log" >&2
		stop_engine; FAILED=1
		return
	fi
	c0=$(cpu_jiffies); p0=$(pid_jiffies "$ENGINE_PID")
	# in the background so that a signal to this script is handled at once (see cleanup)
	"${PIN_C[@]}" timeout "$TMO" "$BLAST" "${BLAST_ARGS[@]}" \
		--size "$size" --warmup "$WARMUP" --time "$TIME" --spin >"$T/blast.out" 2>"$T/blast.err" &
	BLAST_PID=$!
	wait "$BLAST_PID"
	rc=$?
	BLAST_PID=
	out=$(cat "$T/blast.out")
	c1=$(cpu_jiffies); p1=$(pid_jiffies "$ENGINE_PID")
	if [ "$e" = qnet ] && [ -r "/proc/$ENGINE_PID/status" ]; then
		QNET_MEM=$(awk '/^VmRSS|^VmHWM/ { printf "%s%s %s kB", sep, $1, $2; sep=", " }' \
			"/proc/$ENGINE_PID/status")
	fi
	alive=1; kill -0 "$ENGINE_PID" 2>/dev/null || alive=0
	stop_engine
	if [ $rc != 0 ] || [ -z "$(field fps "$out")" ]; then
		echo "hub-bench: $e ${size}B run $r failed (rc=$rc, engine alive=$alive):" >&2
		sed 's/^/  /' "$T/blast.err" "$T/engine.log" >&2
		FAILED=1
		return
	fi
	# CPU used by everything else on the machine meanwhile, in % of all CPUs
	other=$(awk -v c0="$c0" -v c1="$c1" -v p="$((p1 - p0))" -v b="$(field cpu "$out")" -v hz="$HZ" \
		'BEGIN { split(c0, a, " "); split(c1, z, " "); t = z[1] - a[1]; o = z[2] - a[2] - p - b * hz;
			 if (o < 0) o = 0; printf "%.0f", (t > 0 ? 100 * o / t : 0) }')
	[ "$other" -gt "$MAX_OTHER" ] && MAX_OTHER=$other
	ecpu=$(awk -v j="$((p1 - p0))" -v hz="$HZ" 'BEGIN { print j / hz }')
	if [ "$(field frames "$out")" = 0 ]; then
		# a stalled engine is a bug to report (or starved by other load), not a sample of 0
		echo "hub-bench: $e ${size}B run $r: nothing arrived in ${TIME}s ($out engine_cpu=$ecpu other=$other%)" >&2
		STALLS="$STALLS $e/${size}B/run$r"
		FAILED=1
		return
	fi
	printf '  %-10s %5sB run %s: %s engine_cpu=%.2f other=%s%%\n' "$e" "$size" "$r" "$out" "$ecpu" "$other"
	echo "$(field fps "$out") $(field gbps "$out") $(field frames "$out") $(field sent "$out")" \
		>>"$T/samples.$e.$size"
}

declare -A MED_FPS MED_GBPS LOST
QNET_MEM=
MAX_OTHER=0
STALLS=
START=$(date +%s)
RUNLIST=()
for e in $ENGINES; do engine_available "$e" && RUNLIST+=("$e"); done
# a private copy: the tree may be rebuilt while we run
if [[ " ${RUNLIST[*]} " == *" qnet "* ]]; then
	cp "$QNET" "$T/qnet" || die "cannot copy $QNET"
	QNET=$T/qnet
fi
[ ${#RUNLIST[@]} -gt 0 ] || die "no engine to run"
echo "hub-bench: engines: ${RUNLIST[*]}; sizes: $SIZES; $RUNS rounds of ${WARMUP}s warm-up + ${TIME}s;" \
	"pinning: $PIN_MSG"
# the client's own ceiling per loop type: sender and receiver on a socketpair, no engine
declare -A CEIL
for size in $SIZES; do
	for kind in self self-dgram; do
		out=$("${PIN_C[@]}" timeout 30 "$BLAST" $kind --size "$size" --warmup 0.2 --time 1 --spin 2>/dev/null)
		CEIL[$kind,$size]=$(field fps "$out")
	done
done
# rounds interleave the engines, so a burst of foreign load hits all of them alike
for r in $(seq 1 "$RUNS"); do
	for size in $SIZES; do
		for e in "${RUNLIST[@]}"; do
			run_one "$e" "$size" "$r"
		done
	done
done
for e in "${RUNLIST[@]}"; do
	for size in $SIZES; do
		[ -s "$T/samples.$e.$size" ] || continue
		n=$(wc -l <"$T/samples.$e.$size")
		med=$(sort -n "$T/samples.$e.$size" | sed -n "$(((n + 1) / 2))p")
		read -r f g _ <<<"$med"
		MED_FPS[$e,$size]=$f
		MED_GBPS[$e,$size]=$g
		# frames offered but never received, over all counted runs
		LOST[$e,$size]=$(awk '{ f += $3; s += $4 } END { l = s > 0 ? 100 * (s - f) / s : 0;
			printf "%.1f", (l < 0 ? 0 : l) }' "$T/samples.$e.$size")
	done
done

# --- report ---------------------------------------------------------------------------------------
{
	echo
	echo "hub throughput, 2 stream/vde ports, median of $RUNS x ${TIME}s ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs)"
	printf '%-12s %6s %12s %9s %10s %7s\n' engine frame frames/s Gbit/s qnet/this lost%
	for size in $SIZES; do
		q=${MED_FPS[qnet,$size]:-}
		for e in "${RUNLIST[@]}"; do
			f=${MED_FPS[$e,$size]:-}
			if [ -z "$f" ]; then
				printf '%-12s %5sB %12s %9s %10s %7s\n' "$e" "$size" failed - - -
				continue
			fi
			ratio=-
			[ -n "$q" ] && ratio=$(awk -v a="$q" -v b="$f" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else printf "-" }')
			printf '%-12s %5sB %12s %9s %10s %7s\n' "$e" "$size" "$f" "${MED_GBPS[$e,$size]}" "$ratio" \
				"${LOST[$e,$size]}"
		done
	done
	for size in $SIZES; do
		echo "client ceiling (blast alone on a socketpair), ${size}B: stream ${CEIL[self,$size]:-?} frames/s," \
			"datagram (vde loop) ${CEIL[self-dgram,$size]:-?} frames/s"
	done
	[ -n "$QNET_MEM" ] && echo "qnet memory after its last run: $QNET_MEM"
	GOAL=1 HAVE_GOAL=0
	for size in $SIZES; do
		q=${MED_FPS[qnet,$size]:-} v1=${MED_FPS[vde-hub,$size]:-0} v2=${MED_FPS[vde-switch,$size]:-0}
		best=$v1; [ "${v2%.*}" -gt "${best%.*}" ] && best=$v2
		if [ -z "$q" ] || [ "${best%.*}" -le 0 ]; then continue; fi
		HAVE_GOAL=1
		verdict=$(awk -v a="$q" -v b="$best" 'BEGIN { printf "%.2fx %s", a / b, (a >= 2 * b ? "met" : "NOT met") }')
		echo "goal qnet >= 2x best vde_switch mode, ${size}B frames: $verdict"
		case $verdict in *NOT*) GOAL=0 ;; esac
	done
	[ -n "$STALLS" ] && echo "STALLED (no frame arrived; left out of the median; see engine_cpu/other):$STALLS"
	[ "$MAX_OTHER" -gt 10 ] && echo "warning: other processes used up to ${MAX_OTHER}% of the CPUs during a run: numbers are noisy"
	echo "wall time: $(($(date +%s) - START))s"
} >"$T/report"
tee "$RESULTS" <"$T/report"

[ $FAILED = 0 ] || exit 1
[ "$STRICT" = 1 ] && { [ "$HAVE_GOAL" = 1 ] && [ "$GOAL" = 1 ] || exit 1; }
exit 0
