#!/bin/bash
# SPDX-License-Identifier: MIT
# 68-user-ipv6-nat.sh - -netdev user UDP over IPv6: a namespace on qnet's tap reaches a UDP echo on
# the host's ::1 through [fec0::2], asks AAAA and A through
# [fec0::3] of the test's own dnsmasq on ::1, then of an IPv4-only resolver file (reached from the
# IPv6 flow); info usernet lists the IPv6 flows; restrict=on lets no IPv6 UDP out.
#
# qnet, the echo and dnsmasq run in a "host" namespace the test creates (so ::1:53 is ours alone);
# the client namespace is attached by tap. No system resolver is involved.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/user_lib.sh"
need_root
need_cmd ip dnsmasq timeout
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"

H=qnu68h-$$ G=qnu68g-$$ R=qnu68r-$$
for n in "$H" "$G" "$R"; do
	ns_create "$n" || { not_ok "namespace $n created"; finish; }
done
for n in "$G" "$R"; do
	ip netns exec "$n" sysctl -qw net.ipv6.conf.default.accept_ra=1 \
		net.ipv6.conf.default.router_solicitation_delay=0 >/dev/null 2>&1
done
# shellcheck disable=SC2034 # read by lib.sh (qnet_start, host_bg, the port waits)
LIB_NS=$H
has_addr() { ip -n "$1" -6 -o addr show dev eth0 2>/dev/null | grep -v tentative | grep -q " inet6 $2"; }

dnsmasq_start() {
	local name=$1 addr=$2
	shift 2
	host_bg "$T/$name.out" dnsmasq -k -C /dev/null -u root --no-resolv --no-hosts \
		--bind-interfaces --listen-address="$addr" --port=53 \
		--log-queries --log-facility="$T/$name.log" --pid-file="$T/$name.pid" "$@"
	wait_for 10 bash -c "ip netns exec $H ss -Hlun 'src [$addr]:53' | grep -q . || ip netns exec $H ss -Hlun 'src $addr:53' | grep -q ."
}
ask() { timeout 15 ip netns exec "$G" "$PY" "$USER_LIB/user_tool.py" dns fec0::3 "$2" "$3" "$1" 2>&1 | tr '\n' ' ' | sed 's/ $//'; }

check "dnsmasq 1 on [::1]:53 (in $H)" dnsmasq_start d1 ::1 \
	--host-record=both.qnet6.test,10.99.0.2,fd00:99::2
check "dnsmasq 2 on 127.0.0.2:53 (in $H)" dnsmasq_start d2 127.0.0.2 \
	--host-record=both.qnet6.test,10.99.0.8,fd00:99::8
UDP=$(in_ns "$PY" -c 'import socket; s=socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::1", 0)); print(s.getsockname()[1])')
host_bg "$T/udp.log" "$PY" "$USER_LIB/user_tool.py" udp-echo "$UDP" ::1
check "UDP echo on [::1]:$UDP (in $H)" wait_udp_bound "$UDP" 10

printf 'nameserver ::1\n' >"$T/resolv.conf"
check "qnet starts in $H with a tap in $G" user_start q "$G" ""
check "qnet (restrict=on) starts in $H with a tap in $R" user_start qr "$R" "restrict=on"
check "$G: SLAAC address in fec0::/64" wait_for 20 has_addr "$G" "fec0::"
check "$R: SLAAC address in fec0::/64 (NDP is not restricted)" wait_for 20 has_addr "$R" "fec0::"

# ---- UDP NAT to ::1 ----
r=$(timeout 20 ip netns exec "$G" "$PY" "$USER_LIB/user_tool.py" udp-ask fec0::2 "$UDP" qnet-udp6 5 2>&1)
check "UDP echo on host ::1 reached through [fec0::2]:$UDP (got '$r')" test "$r" = qnet-udp6
r=$(timeout 20 ip netns exec "$G" "$PY" "$USER_LIB/user_tool.py" udp-ask fec0::2 "$UDP" 'peer?' 5 2>&1)
check "the host's UDP peer is ::1 (got '$r')" bash -c "[[ '$r' == ::1:* ]]"

# ---- DNS through [fec0::3] ----
r=$(ask udp both.qnet6.test AAAA)
check "UDP AAAA both.qnet6.test via fec0::3 -> fd00:99::2 (got '$r')" test "$r" = fd00:99::2
r=$(ask udp both.qnet6.test A)
check "UDP A both.qnet6.test via fec0::3 -> 10.99.0.2 (got '$r')" test "$r" = 10.99.0.2
check "dnsmasq 1 logged the query from ::1" grep -q 'query\[AAAA\] both.qnet6.test from ::1' "$T/d1.log"
hmp q "info usernet" >"$T/usernet.txt"
check "info usernet lists the IPv6 DNS flow (fec0::3 port 53)" \
	grep -qE '^  UDP\[[0-9]+ sec\] +[0-9]+ +fec0::[0-9a-f:]+ +[0-9]+ +fec0::3 +53 ' "$T/usernet.txt"
# an IPv4-only resolver file is followed, and reached from the IPv6 flow
printf 'nameserver 127.0.0.2\n' >"$T/resolv.conf.new" && mv "$T/resolv.conf.new" "$T/resolv.conf"
sleep 1.2
r=$(ask udp both.qnet6.test AAAA)
check "after the file changed: AAAA via fec0::3 from the IPv4 resolver -> fd00:99::8 (got '$r')" \
	test "$r" = fd00:99::8

# ---- restrict=on ----
r=$(timeout 20 ip netns exec "$R" "$PY" "$USER_LIB/user_tool.py" udp-ask fec0::2 "$UDP" leak 2 2>&1)
check "restrict=on: no IPv6 UDP reaches the host (got '$r')" test "$r" = timeout
check "restrict=on: ping6 fec0::2 still answered" \
	bash -c "timeout 10 ip netns exec '$R' ping -6 -c 1 -W 3 fec0::2 >/dev/null 2>&1"

for q in q qr; do
	check "$q still running" qnet_alive "$q"
	sanitizer_clean "$q"
done
finish
