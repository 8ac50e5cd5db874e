# SPDX-License-Identifier: MIT
# user_lib.sh - shared helpers of the -netdev user namespace tests (60..66); source after lib.sh.
# shellcheck shell=bash
#
# Topology: a namespace the test creates gets a tap (eth0) that qnet makes inside it; the tap and a
# user netdev u0 sit on hub 0; the monitor listens on $T/NAME.mon.
#
#   user_tool ARGS...            tests/integration/lib/user_tool.py (see its header)
#   user_start NAME NS USEROPTS [MORE QNET ARGS...]
#                                start qnet NAME with that topology; USEROPTS is appended to
#                                "-netdev user,id=u0,resolv-conf=$T/resolv.conf" (may be empty)
#   hmp NAME CMD...              run monitor commands on qnet NAME, print the output
#   usernet_rows NAME REGEX      count the `info usernet` rows matching REGEX (grep -E)
#   udhcpc_script                write $T/udhcpc.sh: records each event's environment in
#                                $UDHCP_OUT.EVENT and configures the interface on bound/renew
#   ns_dhcp NS [OUT]             run udhcpc once in NS (configures eth0); env files at OUT.*
#   ns_bg NS LOG CMD...          run CMD in NS in the background (killed at exit); pid in $NS_BG_PID
#   host_bg LOG CMD...           the same on the host (or in $LIB_NS); pid in $HOST_BG_PID
#   qnet_pid NAME | qnet_fds NAME | qnet_rss_kb NAME
#   sanitizer_clean NAME         ok/not_ok: no ASan/UBSan report in qnet NAME's log
#
# Network safety: the only addresses used are 127.0.0.1 (the host side, or the loopback of a
# namespace the test made for that purpose), 10.0.2.0/24 (the user network inside the namespace)
# and subnets the tests create between namespaces.

USER_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

user_tool() { "$PY" "$USER_LIB/user_tool.py" "$@"; }

user_start() {
	local name=$1 ns=$2 uopts=$3
	shift 3
	[ -f "$T/resolv.conf" ] || echo "nameserver 127.0.0.1" >"$T/resolv.conf"
	qnet_start "$name" \
		-netdev tap,id=t0,netns=/var/run/netns/"$ns",ifname=eth0,script=no,downscript=no \
		-netdev "user,id=u0,resolv-conf=$T/resolv.conf${uopts:+,$uopts}" \
		-netdev hubport,id=p0,hubid=0,netdev=u0 \
		-netdev hubport,id=p1,hubid=0,netdev=t0 \
		-monitor "unix:$T/$name.mon,server=on,wait=off" "$@" || return 1
	wait_unix_socket "$T/$name.mon" 10
}

hmp() { local n=$1; shift; timeout 20 "$PY" "$USER_LIB/user_tool.py" hmp "$T/$n.mon" "$@"; }

usernet_rows() { hmp "$1" "info usernet" | grep -cE -- "$2"; }

udhcpc_script() {
	cat >"$T/udhcpc.sh" <<'EOF'
#!/bin/sh
# SPDX-License-Identifier: MIT
# udhcpc.sh - the tests' own udhcpc script: record the event, configure only the namespace's eth0
out=${UDHCP_OUT:-/dev/null}
env | sort >"$out.$1.tmp" && mv "$out.$1.tmp" "$out.$1"
case "$1" in
deconfig) ip addr flush dev "$interface" ;;
bound|renew)
	if ! ip addr show dev "$interface" | grep -q "inet $ip/"; then
		ip addr flush dev "$interface"
		ip addr add "$ip/${mask:-24}" dev "$interface"
	fi
	if [ -n "${router:-}" ]; then
		ip route replace default via "${router%% *}" dev "$interface"
	fi ;;
esac
exit 0
EOF
	chmod 755 "$T/udhcpc.sh"
}

ns_dhcp() {
	local ns=$1 out=${2:-$T/dhcp.$1}
	[ -x "$T/udhcpc.sh" ] || udhcpc_script
	UDHCP_OUT=$out timeout 30 ip netns exec "$ns" \
		udhcpc -i eth0 -s "$T/udhcpc.sh" -f -q -n -t 8 -T 2 >"$out.log" 2>&1
}

ns_bg() {
	local ns=$1 log=$2
	shift 2
	ip netns exec "$ns" "$@" </dev/null >"$log" 2>&1 &
	NS_BG_PID=$!
	bg_track "$NS_BG_PID"
}

host_bg() {
	local log=$1
	shift
	_lib_ns_prefix
	# shellcheck disable=SC2154 # set by _lib_ns_prefix (lib.sh)
	"${_lib_pre[@]}" "$@" </dev/null >"$log" 2>&1 &
	HOST_BG_PID=$!
	bg_track "$HOST_BG_PID"
}

qnet_pid() { cat "$T/$1.pid"; }
qnet_fds() { ls "/proc/$(qnet_pid "$1")/fd" 2>/dev/null | wc -l; }
qnet_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$(qnet_pid "$1")/status" 2>/dev/null; }

sanitizer_clean() {
	if grep -qE 'ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer' "$T/$1.log" 2>/dev/null; then
		not_ok "$1: no sanitizer report"
		grep -E -A15 'ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer' "$T/$1.log" | head -40 | sed 's/^/#   /'
		return 1
	fi
	ok "$1: no sanitizer report"
}
