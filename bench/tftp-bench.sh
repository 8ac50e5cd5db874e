#!/bin/bash
# SPDX-License-Identifier: MIT
# tftp-bench.sh - time of a TFTP download of a SIZE_MB file (default 50) by the same QEMU 7.2 test
# guest (tests/guest) from QEMU's own -netdev user,tftp= (libslirp) and from qnet's -netdev
# user,tftp= (the guest on -netdev stream), in one run, with two clients in the guest: busybox
# tftp -b 1468 (lock-step) and bench/tftp_get.c asking blksize 1468 and windowsize 16 (each
# server grants what it supports: libslirp caps blksize at 1428 and has no windowsize). Then qnet
# alone with the tests' RFC 7440 client from a namespace. RUNS runs each (default 2), the best
# time counts; prints the ratios.
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

# the guest's client for blksize + windowsize (busybox has no windowsize), linked statically
cc -static -O2 -std=c11 -D_GNU_SOURCE -o "$T/tftp_get" "$ROOT/bench/tftp_get.c" ||
	{ echo "cannot build bench/tftp_get.c statically" >&2; exit 1; }

cat >"$T/get.sh" <<'EOF'
up() { awk '{ print int($1 * 1000) }' /proc/uptime; }
t0=$(up)
check busybox-get timeout 600 tftp -g -b 1468 -r big -l /tmp/big 10.0.2.2
t1=$(up)
check busybox-sha256 eval 'test "$(sha256sum /tmp/big | cut -d" " -f1)" = "$QNET_SHA"'
mark bb_ms $((t1 - t0))
rm -f /tmp/big
r=$(timeout 600 /tftp_get 10.0.2.2 big /tmp/big 1468 16)
say "tftp_get: $r"
check ws-get eval 'case "$r" in ok*) true ;; *) false ;; esac'
check ws-sha256 eval 'test "$(sha256sum /tmp/big | cut -d" " -f1)" = "$QNET_SHA"'
set -- $r
mark ws_ms "$3"
mark ws_granted "$4 $5"
rm -f /tmp/big
EOF

# run_guest NAME NETDEV - boot the test guest with get.sh and tftp_get; prints "BB_MS WS_MS GRANTED"
run_guest() {
	local name=$1 d=$T/guest-$1
	mkdir -p "$d/root"
	install -m 0755 "$T/get.sh" "$d/root/test.sh"
	install -m 0755 "$T/tftp_get" "$d/root/tftp_get"
	(cd "$d/root" && printf 'test.sh\ntftp_get\n' | cpio -o -H newc --owner 0:0 --quiet) >"$d/add.cpio"
	cat "$GUEST_INITRD" "$d/add.cpio" >"$d/initrd.cpio"
	: >"$T/$name.serial"
	timeout -k 5 900 qemu-system-x86_64 -accel "$GUEST_ACCEL" -m "$GUEST_MEM" -display none \
		-monitor none -no-reboot -nodefaults -no-user-config -serial "file:$T/$name.serial" \
		-kernel "$GUEST_KERNEL" -initrd "$d/initrd.cpio" \
		-append "console=ttyS0 quiet panic=-1 qnet.name=$name qnet.ip=10.0.2.15/24 qnet.sha=$sha" \
		-netdev "$2" -device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56,romfile= \
		</dev/null >"$T/$name.qemu.log" 2>&1 &
	echo $! >"$T/$name.qemu.pid"
	bg_track "$(cat "$T/$name.qemu.pid")"
	guest_wait "$name" '^QNET-DONE' 900 >/dev/null
	guest_wait_exit "$name" 20 || kill "$(cat "$T/$name.qemu.pid")" 2>/dev/null
	if guest_serial "$name" | grep -q "^QNET-RESULT $name ok"; then
		echo "$(guest_mark "$name" bb_ms) $(guest_mark "$name" ws_ms) $(guest_mark "$name" ws_granted | tr ' ' ,)"
	else
		guest_serial "$name" | grep -E 'QNET-CHECK|tftp_get' | sed 's/^/# /' >&2
		echo "fail fail -"
	fi
}

best() { tr ' ' '\n' | grep -E '^[0-9]+$' | sort -n | head -1; }

qe_bb=() qe_ws=() qn_bb=() qn_ws=() qe_g=- qn_g=-
qnet_start q -netdev "user,id=u0,tftp=$R" -netdev hubport,id=p0,hubid=0,netdev=u0 \
	-netdev stream,id=g,server=on,addr.type=unix,addr.path="$T/g.sock" \
	-netdev hubport,id=p1,hubid=0,netdev=g || exit 1
wait_unix_socket "$T/g.sock" 10
for i in $(seq "$RUNS"); do
	read -r a b qe_g < <(run_guest qemu$i "user,id=n0,tftp=$R")
	qe_bb+=("$a") qe_ws+=("$b")
	read -r a b qn_g < <(run_guest qnet$i "stream,id=n0,server=off,addr.type=unix,addr.path=$T/g.sock")
	qn_bb+=("$a") qn_ws+=("$b")
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

row() { # row LABEL RUNS...
	local label=$1; shift
	printf '  %-52s %6s ms (runs: %s)\n' "$label" "$(echo "$*" | best)" "$*"
}
ratio() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }
echo "tftp-bench: ${SIZE_MB} MB to the same QEMU 7.2 test guest (${QNET_GUEST_ACCEL:-tcg}), best of $RUNS"
row "QEMU tftp=, busybox tftp -b 1468 (lock-step)" "${qe_bb[@]}"
row "qnet tftp=, busybox tftp -b 1468 (lock-step)" "${qn_bb[@]}"
row "QEMU tftp=, tftp_get blksize 1468 ws 16 (got $qe_g)" "${qe_ws[@]}"
row "qnet tftp=, tftp_get blksize 1468 ws 16 (got $qn_g)" "${qn_ws[@]}"
echo "  qnet/QEMU time, busybox lock-step: $(ratio "$(echo "${qe_bb[*]}" | best)" "$(echo "${qn_bb[*]}" | best)")"
echo "  qnet/QEMU time, blksize 1468 windowsize 16: $(ratio "$(echo "${qe_ws[*]}" | best)" "$(echo "${qn_ws[*]}" | best)") (below 1: qnet faster)"
row "qnet tftp=, namespace client blksize 1468 ws 16" "${ws_ms[@]}"
