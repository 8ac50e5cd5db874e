# SPDX-License-Identifier: MIT
# lib.sh - shared bash helpers for the integration tests (source it; needs bash, set -u is fine).
#
# Sourcing sets:
#   ROOT   the repository root
#   QNET   the qnet binary (default $ROOT/build/qnet; the environment may override it)
#   PY     /usr/bin/python3
#   T      a fresh temporary directory, deleted at exit (kept when KEEP=1)
# and installs an EXIT/INT/TERM trap that runs the cleanup registry (see at_exit), kills every
# process started through these helpers, deletes the namespaces made by ns_create, and removes $T.
#
# Results:   ok DESC | not_ok DESC | check DESC CMD... | summary (prints "N passed, N failed",
#            returns 0 only when nothing failed) | finish (summary, then exit with its status)
# Cleanup:   at_exit CMD (a string, run with eval at exit, last registered first)
#            bg_track PID (kill PID at exit)
# Prereqs:   need_root, need_cmd CMD... (missing -> skip_all, which fails under CI=true)
# Waiting:   wait_for TIMEOUT CMD... | wait_unix_socket PATH [TIMEOUT] |
#            wait_tcp_listen PORT [TIMEOUT] | wait_udp_bound PORT [TIMEOUT] | free_port [tcp|udp]
#            udp_owner ADDR PORT | wait_udp_owner ADDR PORT PID [TIMEOUT] | free_loopback [PORT]
#            (the waits never connect, so they don't take the one-client slot of a server)
# qnet:      qnet_start NAME ARGS... | qnet_alive NAME | qnet_stop NAME | qnet_log NAME
# Guests:    guest_build | guest_start NAME NETDEV SCRIPTFILE [IP/PREFIX [MAC [NIC [APPEND]]]] |
#            guest_wait NAME REGEX [TIMEOUT] | guest_wait_exit NAME [TIMEOUT] |
#            guest_checks NAME | guest_mark NAME KEY | guest_serial NAME
# Namespaces: ns_create NAME (deleted at exit) | ns_delete NAME | ns_exec NAME CMD... |
#            in_ns CMD... (runs in $LIB_NS when set; qnet_start and guest_start use it)
# Guest pairs: pair_start NETDEV_A NETDEV_B [NIC_A [NIC_B]] | pair_finish [TIMEOUT]
#
# Environment: QNET (binary), KEEP=1 (keep $T), QNET_GUEST_ACCEL (default tcg; kvm works where
# /dev/kvm does), QNET_GUEST_MEM (MiB, default 256), QNET_GUEST_TIMEOUT (s, default 240: QEMU is
# killed after that), PAIR_MB (size of the pair transfer, default 10), CI=true (skips fail).
#
# Network safety: helpers here only start processes; the addresses come from the tests, which must
# use 127.0.0.0/8, ::1, or namespaces and guests they create themselves.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QNET=${QNET:-$ROOT/build/qnet}
PY=/usr/bin/python3
T=$(mktemp -d /tmp/qnet-test.XXXXXX)

_lib_pass=0
_lib_fail=0
_lib_exit_cmds=()
_lib_pids=()
_lib_netns=()

# ---- results -------------------------------------------------------------------------------------

# ok DESC - record and print a passed check
ok() { _lib_pass=$((_lib_pass + 1)); echo "ok - $*"; }

# not_ok DESC - record and print a failed check
not_ok() { _lib_fail=$((_lib_fail + 1)); echo "not ok - $*"; }

# check DESC CMD [ARGS...] - run CMD; ok/not_ok by its exit status (returns it)
check() {
	local d=$1; shift
	if "$@"; then ok "$d"; return 0; fi
	not_ok "$d"; return 1
}

# summary - print "N passed, N failed"; status 0 when nothing failed and something passed
summary() {
	echo "$_lib_pass passed, $_lib_fail failed"
	[ "$_lib_fail" -eq 0 ] && [ "$_lib_pass" -gt 0 ]
}

# finish - summary, then exit with its status (the EXIT trap cleans up)
finish() {
	if summary; then exit 0; fi
	exit 1
}

# skip_all REASON - the test can't run here: a failure under CI=true, a plain skip otherwise
skip_all() {
	if [ "${CI:-}" = true ]; then
		not_ok "prerequisite: $*"
		finish
	fi
	echo "ok - # SKIP $*"
	echo "0 passed, 0 failed"
	exit 0
}

# need_root - skip_all unless running as root
need_root() { [ "$(id -u)" -eq 0 ] || skip_all "needs root"; }

# need_cmd CMD... - skip_all unless every CMD is in PATH (or an executable path)
need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip_all "missing command $c"
	done
}

# ---- cleanup registry ----------------------------------------------------------------------------

# at_exit CMD - run CMD (eval'd string) at exit; last registered runs first
at_exit() { _lib_exit_cmds+=("$1"); }

# bg_track PID - kill PID (TERM, then KILL) at exit
bg_track() { _lib_pids+=("$1"); }

# _lib_kill PID - TERM, wait up to 3 s, then KILL; never fails
_lib_kill() {
	local p=$1 i
	kill -0 "$p" 2>/dev/null || return 0
	kill -TERM "$p" 2>/dev/null
	for i in $(seq 30); do
		kill -0 "$p" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$p" 2>/dev/null
	return 0
}

_lib_cleanup() {
	local rc=$? i
	trap - EXIT INT TERM
	for ((i = ${#_lib_exit_cmds[@]} - 1; i >= 0; i--)); do
		eval "${_lib_exit_cmds[i]}" >/dev/null 2>&1 || true
	done
	for ((i = ${#_lib_pids[@]} - 1; i >= 0; i--)); do
		_lib_kill "${_lib_pids[i]}"
	done
	for i in "${_lib_pids[@]}"; do
		wait "$i" 2>/dev/null
	done
	for i in "${_lib_netns[@]}"; do
		ip netns delete "$i" 2>/dev/null || true
	done
	if [ "${KEEP:-0}" = 1 ]; then
		echo "# kept $T" >&2
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap _lib_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# in_ns CMD [ARGS...] - run CMD in namespace $LIB_NS when that is set, else directly. qnet_start,
# guest_start and the port waits use it, so a test can put qnet and its QEMUs into a namespace of
# its own (e.g. to keep multicast off the host) by setting LIB_NS=NAME.
in_ns() {
	if [ -n "${LIB_NS:-}" ]; then ip netns exec "$LIB_NS" "$@"; else "$@"; fi
}

# _lib_ns_prefix - set the array _lib_pre to the command prefix in_ns would use (background jobs
# must be simple commands, so that $! is the process itself and not a subshell)
_lib_ns_prefix() {
	_lib_pre=()
	[ -n "${LIB_NS:-}" ] && _lib_pre=(ip netns exec "$LIB_NS")
	return 0
}

# ---- waiting -------------------------------------------------------------------------------------

# wait_for TIMEOUT CMD [ARGS...] - poll CMD every 0.1 s until it succeeds or TIMEOUT seconds pass
wait_for() {
	local limit=$1; shift
	local end=$(( $(date +%s%N) / 1000000 + limit * 1000 ))
	while :; do
		"$@" && return 0
		[ $(( $(date +%s%N) / 1000000 )) -ge "$end" ] && return 1
		sleep 0.1
	done
}

# wait_unix_socket PATH [TIMEOUT=10] - wait until PATH exists and is a socket
wait_unix_socket() { wait_for "${2:-10}" test -S "$1"; }

_lib_tcp_listening() { [ -n "$(in_ns ss -Hltn "sport = :$1" 2>/dev/null)" ]; }
_lib_udp_bound() { [ -n "$(in_ns ss -Haun "sport = :$1" 2>/dev/null)" ]; }

# wait_tcp_listen PORT [TIMEOUT=10] - wait until something listens on TCP PORT (checked with ss)
wait_tcp_listen() { wait_for "${2:-10}" _lib_tcp_listening "$1"; }

# wait_udp_bound PORT [TIMEOUT=10] - wait until a UDP socket is bound to PORT (checked with ss)
wait_udp_bound() { wait_for "${2:-10}" _lib_udp_bound "$1"; }

# udp_owner ADDR PORT - print the pid of the process bound to UDP ADDR:PORT exactly (ss), if any
udp_owner() {
	in_ns ss -Haunp "sport = :$2" 2>/dev/null | awk -v a="$1:$2" '$4 == a' |
		sed -n 's/.*pid=\([0-9]*\).*/\1/p'
}

# wait_udp_owner ADDR PORT PID [TIMEOUT=10] - wait until PID itself is bound to UDP ADDR:PORT
wait_udp_owner() { wait_for "${4:-10}" eval "[ \"\$(udp_owner $1 $2)\" = $3 ]"; }

# free_loopback [PORT=53] - print a 127.x.y.z address where nothing is bound to PORT (UDP or TCP)
free_loopback() {
	local a i
	for i in $(seq 50); do
		a=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)).$((RANDOM % 250 + 1))
		in_ns ss -Hauntl "sport = :${1:-53}" 2>/dev/null | awk -v a="$a:${1:-53}" '$5 == a' |
			grep -q . || { echo "$a"; return 0; }
	done
	return 1
}

# free_port [tcp|udp] - print a port that is free on 127.0.0.1 right now
# shellcheck disable=SC2120
free_port() {
	"$PY" - "${1:-tcp}" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
EOF
}

# ---- qnet ----------------------------------------------------------------------------------------

# qnet_start NAME ARGS... - start "$QNET ARGS..." in the background; log $T/NAME.log,
# pid in $T/NAME.pid; killed at exit. Fails if qnet dies within 0.3 s.
qnet_start() {
	local name=$1; shift
	[ -x "$QNET" ] || { echo "# qnet binary $QNET missing" >&2; return 1; }
	_lib_ns_prefix
	"${_lib_pre[@]}" "$QNET" "$@" </dev/null >"$T/$name.log" 2>&1 &
	local pid=$!
	echo "$pid" >"$T/$name.pid"
	bg_track "$pid"
	sleep 0.3
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "# qnet $name exited at startup:" >&2
		sed 's/^/#   /' "$T/$name.log" >&2
		return 1
	fi
}

# qnet_alive NAME - status 0 while the qnet started as NAME runs
qnet_alive() { kill -0 "$(cat "$T/$1.pid" 2>/dev/null)" 2>/dev/null; }

# qnet_stop NAME - SIGTERM, wait up to 5 s (then SIGKILL); returns qnet's exit status
# (137 when it had to be killed)
qnet_stop() {
	local pid rc i
	pid=$(cat "$T/$1.pid" 2>/dev/null) || return 1
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	return "$rc"
}

# qnet_log NAME - print qnet's log, prefixed with "# " (for diagnostics)
qnet_log() { sed 's/^/#   /' "$T/$1.log" 2>/dev/null; }

# ---- QEMU guests ---------------------------------------------------------------------------------
#
# The guest (tests/guest/build.sh) is a Debian kernel + busybox initramfs whose /init configures
# eth0 from the kernel command line (qnet.ip=...), sources /test.sh and prints markers on ttyS0:
# QNET-GUEST-READY, QNET-CHECK <check> ok|fail, QNET-MARK ..., QNET-RESULT <name> ok|fail, QNET-DONE.
# See tests/guest/init for the functions /test.sh can use (check, retry, mark, say).

GUEST_DIR=${GUEST_DIR:-$ROOT/build/guest}
GUEST_ACCEL=${QNET_GUEST_ACCEL:-tcg}
GUEST_MEM=${QNET_GUEST_MEM:-256}
GUEST_TIMEOUT=${QNET_GUEST_TIMEOUT:-240}

# guest_build - build (or reuse) the guest image; sets GUEST_KERNEL and GUEST_INITRD
guest_build() {
	need_cmd qemu-system-x86_64 cpio flock
	mkdir -p "$GUEST_DIR"
	if ! flock "$GUEST_DIR/.lock" "$ROOT/tests/guest/build.sh" "$GUEST_DIR" >"$T/guest-build.log" 2>&1; then
		echo "# guest build failed:" >&2
		sed 's/^/#   /' "$T/guest-build.log" >&2
		return 1
	fi
	# The ELF vmlinux boots through PVH (no in-guest decompression): much faster under TCG.
	if [ -s "$GUEST_DIR/vmlinux" ]; then
		GUEST_KERNEL=$GUEST_DIR/vmlinux
	else
		GUEST_KERNEL=$GUEST_DIR/vmlinuz
	fi
	GUEST_INITRD=$GUEST_DIR/initrd.cpio
}

# guest_start NAME NETDEV SCRIPTFILE [IP/PREFIX [MAC [NIC [APPEND]]]]
#   Boot a guest in the background. NETDEV is QEMU's -netdev value and must name the netdev n0
#   (e.g. "stream,id=n0,server=off,addr.type=unix,addr.path=$T/a.sock"). SCRIPTFILE becomes the
#   guest's /test.sh. NIC (default virtio-net-pci) gets netdev=n0,mac=MAC (default
#   52:54:00:12:34:56). APPEND is added to the kernel command line (qnet.KEY=VALUE parameters
#   become QNET_KEY in /test.sh). GUEST_ENV ("VAR=VALUE ...") goes into QEMU's environment,
#   GUEST_MONITOR is its -monitor (default none). Serial console: $T/NAME.serial; QEMU's own output:
#   $T/NAME.qemu.log. QEMU runs under `timeout $GUEST_TIMEOUT` and is killed at exit.
#   The array GUEST_EXTRA, if set, is added to QEMU's arguments (vhost-user: memory backend, chardev).
guest_start() {
	local name=$1 netdev=$2 script=$3 ip=${4:-} mac=${5:-52:54:00:12:34:56}
	local nic=${6:-virtio-net-pci} append=${7:-}
	[ -n "${GUEST_KERNEL:-}" ] || guest_build || return 1
	local d="$T/guest-$name"
	rm -rf "$d"
	mkdir -p "$d/root"
	install -m 0755 "$script" "$d/root/test.sh"
	(cd "$d/root" && echo test.sh | cpio -o -H newc --owner 0:0 --quiet) >"$d/test.cpio" || return 1
	cat "$GUEST_INITRD" "$d/test.cpio" >"$d/initrd.cpio"
	: >"$T/$name.serial"
	local cmdline="console=ttyS0 quiet panic=-1 qnet.name=$name"
	[ -n "$ip" ] && cmdline="$cmdline qnet.ip=$ip"
	[ -n "$append" ] && cmdline="$cmdline $append"
	_lib_ns_prefix
	# GUEST_ENV: VAR=VALUE words for QEMU's environment; GUEST_MONITOR: its -monitor (none)
	# shellcheck disable=SC2086
	"${_lib_pre[@]}" env ${GUEST_ENV:-} timeout -k 5 "$GUEST_TIMEOUT" qemu-system-x86_64 \
		-accel "$GUEST_ACCEL" -m "$GUEST_MEM" -display none \
		-monitor "${GUEST_MONITOR:-none}" -no-reboot \
		-nodefaults -no-user-config \
		-serial "file:$T/$name.serial" \
		-kernel "$GUEST_KERNEL" -initrd "$d/initrd.cpio" -append "$cmdline" \
		-netdev "$netdev" \
		-device "$nic,netdev=n0,mac=$mac,romfile=" \
		${GUEST_EXTRA[@]+"${GUEST_EXTRA[@]}"} \
		</dev/null >"$T/$name.qemu.log" 2>&1 &
	local pid=$!
	echo "$pid" >"$T/$name.qemu.pid"
	bg_track "$pid"
	sleep 0.2
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "# qemu $name exited at startup:" >&2
		sed 's/^/#   /' "$T/$name.qemu.log" >&2
		return 1
	fi
}

# guest_serial NAME - print the guest's serial output without carriage returns
guest_serial() { tr -d '\r' <"$T/$1.serial" 2>/dev/null; }

# guest_running NAME - status 0 while the guest's QEMU runs
guest_running() { kill -0 "$(cat "$T/$1.qemu.pid" 2>/dev/null)" 2>/dev/null; }

_lib_guest_has() { guest_serial "$1" | grep -Eq -- "$2"; }
_lib_guest_has_or_gone() { _lib_guest_has "$1" "$2" || ! guest_running "$1"; }

# guest_wait NAME REGEX [TIMEOUT=120] - wait until a serial line matches REGEX (grep -E);
# gives up early when QEMU exits
guest_wait() {
	wait_for "${3:-120}" _lib_guest_has_or_gone "$1" "$2"
	_lib_guest_has "$1" "$2"
}

# guest_wait_exit NAME [TIMEOUT=120] - wait until the guest's QEMU has exited (the guest powers
# off after /test.sh); status 0 if it did
guest_wait_exit() {
	local pid
	pid=$(cat "$T/$1.qemu.pid" 2>/dev/null) || return 1
	wait_for "${2:-120}" eval "! kill -0 $pid 2>/dev/null"
}

# guest_checks NAME - turn the guest's QNET-CHECK lines into ok/not_ok "NAME: CHECK", and its
# QNET-RESULT into "NAME: guest test script"; a guest without a result line is a failure and its
# serial output and QEMU log are printed as diagnostics. Status 0 when all passed.
guest_checks() {
	local name=$1 line c r before=$_lib_fail
	while read -r _ c r; do
		if [ "$r" = ok ]; then ok "$name: $c"; else not_ok "$name: $c"; fi
	done < <(guest_serial "$name" | grep -E '^QNET-CHECK [^ ]+ (ok|fail)$')
	line=$(guest_serial "$name" | grep -E "^QNET-RESULT $name (ok|fail)$" | tail -1)
	if [ "$line" = "QNET-RESULT $name ok" ]; then
		ok "$name: guest test script"
	else
		not_ok "$name: guest test script (${line:-no result})"
		echo "# serial output of $name:"
		guest_serial "$name" | grep -v -E '^QNET-CHECK ' | tail -40 | sed 's/^/#   /'
		echo "# qemu log of $name:"
		sed 's/^/#   /' "$T/$name.qemu.log" 2>/dev/null | tail -10
	fi
	[ "$_lib_fail" -eq "$before" ]
}

# guest_mark NAME KEY - print VALUE of the guest's last "QNET-MARK KEY VALUE" line
guest_mark() {
	guest_serial "$1" | sed -n "s/^QNET-MARK $2 //p" | tail -1
}

# ---- network namespaces --------------------------------------------------------------------------

# ns_create NAME - create network namespace NAME with lo up; deleted at exit
ns_create() {
	ip netns add "$1" || return 1
	_lib_netns+=("$1")
	ip -n "$1" link set lo up
}

# ns_delete NAME - delete namespace NAME now
ns_delete() { ip netns delete "$1" 2>/dev/null; }

# ns_exec NAME CMD [ARGS...] - run CMD inside namespace NAME
ns_exec() { local n=$1; shift; ip netns exec "$n" "$@"; }

# ---- guest pairs (tests/guest/pair.sh) -----------------------------------------------------------
#
# Two guests on one segment: "ga" (10.0.9.11, MAC 52:54:00:12:34:11, sender) and "gb" (10.0.9.12,
# MAC 52:54:00:12:34:12, receiver). They ping each other, ga sends PAIR_MB (default 10) MiB of
# random data to gb over TCP, gb sends back its sha256 and ga compares; the host compares too.

PAIR_MB=${PAIR_MB:-10}

# pair_start NETDEV_A NETDEV_B [NIC_A [NIC_B]] - boot both guests (in parallel)
pair_start() {
	guest_start ga "$1" "$ROOT/tests/guest/pair.sh" 10.0.9.11/24 52:54:00:12:34:11 \
		"${3:-virtio-net-pci}" "qnet.role=send qnet.peer=10.0.9.12 qnet.mb=$PAIR_MB" || return 1
	guest_start gb "$2" "$ROOT/tests/guest/pair.sh" 10.0.9.12/24 52:54:00:12:34:12 \
		"${4:-virtio-net-pci}" "qnet.role=recv qnet.peer=10.0.9.11 qnet.mb=$PAIR_MB"
}

# pair_finish [TIMEOUT=200] - wait for both guests to power off, report their checks and compare
# the checksums of the transfer on the host. Status 0 when everything passed.
pair_finish() {
	local limit=${1:-200} before=$_lib_fail sa sb ba
	guest_wait_exit ga "$limit" || not_ok "ga: powered off within ${limit}s"
	guest_wait_exit gb 30 || not_ok "gb: powered off within ${limit}s"
	guest_checks ga
	guest_checks gb
	sa=$(guest_mark ga sha256); sb=$(guest_mark gb sha256); ba=$(guest_mark gb bytes)
	if [ -n "$sa" ] && [ "$sa" = "$sb" ] && [ "$ba" = $((PAIR_MB * 1048576)) ]; then
		ok "host: ${PAIR_MB} MiB ga->gb, sha256 equal on both ends ($(guest_mark ga seconds)s)"
	else
		not_ok "host: ${PAIR_MB} MiB ga->gb, sha256 equal on both ends (sent ${sa:-none}, got ${sb:-none}, ${ba:-0} bytes)"
	fi
	[ "$_lib_fail" -eq "$before" ]
}

# ---- hostile-input tests (scapy guest over a stream netdev) ---------------------------------------

# scapy_guest_run SCRIPT ARGS... - run SCRIPT (a Python file using tests/integration/lib/
# scapy_guest.py) bounded at 240 s, relay its "ok -"/"not ok -" lines as checks; a script that
# fails without a "not ok" line is a failure too (its stderr is shown)
scapy_guest_run() {
	local script=$1 rc line
	shift
	PYTHONPATH="$ROOT/tests/integration/lib" timeout 240 "$PY" "$script" "$@" >"$script.out" 2>"$script.err"
	rc=$?
	while IFS= read -r line; do
		case $line in
		"ok - "*) ok "${line#ok - }" ;;
		"not ok - "*) not_ok "${line#not ok - }" ;;
		esac
	done <"$script.out"
	if [ "$rc" -ne 0 ] && ! grep -q '^not ok' "$script.out"; then
		not_ok "scapy guest script ran to the end (exit $rc)"
		sed 's/^/#   /' "$script.err" | tail -20
	fi
}

# hostile_epilogue NAME - after hostile input: qnet NAME still runs, exits 0 on SIGTERM, and its
# log has no sanitizer report
hostile_epilogue() {
	check "qnet still running after the hostile input" qnet_alive "$1"
	if qnet_stop "$1"; then ok "qnet exits with status 0 on SIGTERM"; else not_ok "qnet exits with status 0 on SIGTERM"; fi
	if grep -Eq 'Sanitizer|runtime error:' "$T/$1.log"; then
		not_ok "no sanitizer report (ASan, UBSan, LSan at exit) in qnet's log"
		qnet_log "$1" | head -40
	else
		ok "no sanitizer report (ASan, UBSan, LSan at exit) in qnet's log"
	fi
}
