#!/bin/bash
# SPDX-License-Identifier: MIT
# tftp-bench.sh - time of a TFTP download of a SIZE_MB file (default 50) by the same QEMU 7.2 test
# guest (tests/guest: busybox tftp -b 1468) from QEMU's own -netdev user,tftp= (libslirp) and
# from qnet's -netdev user,tftp= (the guest on -netdev stream), in one run; then qnet alone with
# the tests' RFC 7440 client from a namespace (blksize 1468, windowsize 16, which busybox and
# libslirp lack). RUNS runs each (default 2), the best time counts; prints the ratio.
#
# Environment: SIZE_MB [50], RUNS [2], QNET [build/qnet], QNET_GUEST_ACCEL [tcg] (see
# tests/lib.sh). Traffic stays inside the guests' user networks and a namespace made here.
set -u
. "$(dirname "$0")/../tests/lib.sh"
. "$ROOT/tests/integration/lib/user_lib.sh"
need_root
need_cmd qemu-system-x86_64 sha256sum
SIZE_MB=${SIZE_MB:-50}
RUNS=${RUNS:-2}
guest_build || { echo "guest image build failed" >&2; exit 1; }

R=$T/root
mkdir -p "$R"
head -c $((SIZE_MB * 1048576)) /dev/urandom >"$R/big"
sha=$(sha256sum "$R/big" | cut -d' ' -f1)

cat >"$T/get.sh" <<'EOF'
up() { awk '{ print int($1 * 1000) }' /proc/uptime; }
t0=$(up)
check tftp-get timeout 600 tftp -g -b 1468 -r big -l /tmp/big 10.0.2.2
t1=$(up)
check sha256 eval 'test "$(sha256sum /tmp/big | cut -d" " -f1)" = "$QNET_SHA"'
mark ms $((t1 - t0))
rm -f /tmp/big
EOF

# run_guest NAME NETDEV - one download; prints its milliseconds, or "fail"
run_guest() {
	local name=$1
	guest_start "$name" "$2" "$T/get.sh" 10.0.2.15/24 52:54:00:12:34:56 virtio-net-pci \
		"qnet.sha=$sha" || { echo fail; return; }
	guest_wait "$name" '^QNET-DONE' 900 >/dev/null
	guest_wait_exit "$name" 20 || kill "$(cat "$T/$name.qemu.pid")" 2>/dev/null
	if guest_serial "$name" | grep -q "^QNET-RESULT $name ok"; then
		guest_mark "$name" ms
	else
		echo fail
	fi
}

best() { tr ' ' '\n' | grep -E '^[0-9]+$' | sort -n | head -1; }

qemu_ms=() qnet_ms=()
qnet_start q -netdev "user,id=u0,tftp=$R" -netdev hubport,id=p0,hubid=0,netdev=u0 \
	-netdev stream,id=g,server=on,addr.type=unix,addr.path="$T/g.sock" \
	-netdev hubport,id=p1,hubid=0,netdev=g || exit 1
wait_unix_socket "$T/g.sock" 10
for i in $(seq "$RUNS"); do
	qemu_ms+=("$(run_guest qemu$i "user,id=n0,tftp=$R")")
	qnet_ms+=("$(run_guest qnet$i "stream,id=n0,server=off,addr.type=unix,addr.path=$T/g.sock")")
	# a new stream client per guest: wait until qnet listens again
	wait_unix_socket "$T/g.sock" 10
done
qnet_stop q

# qnet alone: the RFC 7440 client from a namespace (windowsize 16)
G=qnbt-$$
ws_ms=()
if ns_create "$G" && user_start w "$G" "tftp=$R"; then
	ip netns exec "$G" ip addr add 10.0.2.15/24 dev eth0
	ip netns exec "$G" ip link set eth0 up
	for i in $(seq "$RUNS"); do
		t0=$(date +%s%N)
		r=$(timeout 600 ip netns exec "$G" "$PY" "$ROOT/tests/integration/lib/tftp_client.py" \
			10.0.2.2 big "$T/ws.big" --opt blksize=1468 --opt windowsize=16 2>&1)
		t1=$(date +%s%N)
		if [ "$(sha256sum "$T/ws.big" | cut -d' ' -f1)" = "$sha" ]; then
			ws_ms+=($(((t1 - t0) / 1000000)))
		else
			ws_ms+=(fail)
			echo "# $r"
		fi
		rm -f "$T/ws.big"
	done
	qnet_stop w
fi

qe=$(echo "${qemu_ms[*]}" | best)
qn=$(echo "${qnet_ms[*]}" | best)
ws=$(echo "${ws_ms[*]}" | best)
echo "tftp-bench: ${SIZE_MB} MB, busybox tftp -b 1468 in a QEMU 7.2 guest (${QNET_GUEST_ACCEL:-tcg}), best of $RUNS"
printf '  %-46s %s ms (runs: %s)\n' "QEMU -netdev user,tftp= (libslirp)" "${qe:-fail}" "${qemu_ms[*]}"
printf '  %-46s %s ms (runs: %s)\n' "qnet -netdev user,tftp= (guest on stream)" "${qn:-fail}" "${qnet_ms[*]}"
if [ -n "$qe" ] && [ -n "$qn" ]; then
	awk -v a="$qe" -v b="$qn" 'BEGIN { printf "  qnet time / QEMU time: %.2f (below 1: qnet faster)\n", b / a }'
fi
printf '  %-46s %s ms (runs: %s)\n' "qnet, namespace client, blksize 1468 ws 16" "${ws:-fail}" "${ws_ms[*]}"
