#!/bin/bash
# SPDX-License-Identifier: MIT
# 61-user-dns.sh - -netdev user DNS forwarding: 10.0.2.3:53 (UDP and TCP) reaches the resolver
# named by resolv-conf=, and a changed resolver file is followed at run time.
#
# qnet and two dnsmasq instances run in a "host" namespace the test creates (so 127.0.0.1:53 is
# ours alone, whatever the machine runs); the client namespace is attached by tap. No system
# resolver is involved.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/user_lib.sh"
need_root
need_cmd ip udhcpc dnsmasq timeout
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"

H=qnu61h-$$
G=qnu61g-$$
ns_create "$H" || { not_ok "namespace $H created"; finish; }
ns_create "$G" || { not_ok "namespace $G created"; finish; }
# shellcheck disable=SC2034 # read by lib.sh (qnet_start, host_bg, the port waits)
LIB_NS=$H

# dnsmasq_start NAME ADDR ARGS... - a dnsmasq on ADDR:53 in $H (no config file, no upstream)
dnsmasq_start() {
	local name=$1 addr=$2
	shift 2
	host_bg "$T/$name.out" dnsmasq -k -C /dev/null -u root --no-resolv --no-hosts \
		--bind-interfaces --listen-address="$addr" --port=53 \
		--log-queries --log-facility="$T/$name.log" --pid-file="$T/$name.pid" "$@"
	wait_for 10 bash -c "ip netns exec $H ss -Hlun 'src $addr:53' | grep -q ."
}
# ask PROTO NAME TYPE - query 10.0.2.3 from the client namespace, answers on one line
ask() { timeout 15 ip netns exec "$G" "$PY" "$USER_LIB/user_tool.py" dns 10.0.2.3 "$2" "$3" "$1" 2>&1 | tr '\n' ' ' | sed 's/ $//'; }

check "dnsmasq 1 on 127.0.0.1:53 (in $H)" dnsmasq_start d1 127.0.0.1 \
	--address=/qnet.test/10.99.0.1 --host-record=both.qnet6.test,10.99.0.2,fd00:99::2
check "dnsmasq 2 on 127.0.0.2:53 (in $H)" dnsmasq_start d2 127.0.0.2 \
	--address=/qnet.test/10.99.0.7 --host-record=both.qnet6.test,10.99.0.8,fd00:99::8

printf 'search example.invalid\nnameserver 127.0.0.1\n' >"$T/resolv.conf"
if user_start q "$G" ""; then ok "qnet starts in $H with a tap in $G"; else
	not_ok "qnet starts in $H with a tap in $G"; qnet_log q; finish; fi
if ns_dhcp "$G"; then ok "$G configured by DHCP"; else not_ok "$G configured by DHCP"; fi

r=$(ask udp www.qnet.test A)
check "UDP A www.qnet.test -> 10.99.0.1 (got '$r')" test "$r" = 10.99.0.1
r=$(ask tcp www.qnet.test A)
check "TCP A www.qnet.test -> 10.99.0.1 (got '$r')" test "$r" = 10.99.0.1
r=$(ask udp both.qnet6.test AAAA)
check "UDP AAAA both.qnet6.test -> fd00:99::2 (got '$r')" test "$r" = fd00:99::2
r=$(ask tcp both.qnet6.test AAAA)
check "TCP AAAA both.qnet6.test -> fd00:99::2 (got '$r')" test "$r" = fd00:99::2
r=$(ask udp both.qnet6.test A)
check "UDP A both.qnet6.test -> 10.99.0.2 (got '$r')" test "$r" = 10.99.0.2
hmp q "info usernet" >"$T/usernet.txt"
check "info usernet shows the DNS flow (UDP row 10.0.2.15 -> 10.0.2.3 port 53)" \
	grep -qE '^  UDP\[[0-9]+ sec\] +[0-9]+ +10\.0\.2\.15 +[0-9]+ +10\.0\.2\.3 +53 ' "$T/usernet.txt"
check "dnsmasq 1 logged the queries (from 127.0.0.1, the NAT's source)" \
	grep -q 'query\[AAAA\] both.qnet6.test from 127.0.0.1' "$T/d1.log"
r=$(timeout 15 ip netns exec "$G" "$PY" "$USER_LIB/user_tool.py" udp-ask 10.0.2.3 5353 x 3 2>&1)
check "UDP to 10.0.2.3 on another port than 53: ICMP net unreachable, as libslirp (got '$r')" \
	test "$r" = ENETUNREACH
r=$(timeout 15 ip netns exec "$G" "$PY" "$USER_LIB/user_tool.py" connect 10.0.2.3 5353 5)
check "TCP to 10.0.2.3:5353 is not connected (got '$r')" test "${r%% *}" != connected

# the resolver file changes: a new file renamed over it (new inode) ...
printf 'nameserver 127.0.0.2\n' >"$T/resolv.conf.new"
mv "$T/resolv.conf.new" "$T/resolv.conf"
sleep 1.5
r=$(ask udp www.qnet.test A)
check "after resolv.conf names 127.0.0.2: UDP A -> 10.99.0.7 (got '$r')" test "$r" = 10.99.0.7
r=$(ask tcp both.qnet6.test AAAA)
check "after resolv.conf names 127.0.0.2: TCP AAAA -> fd00:99::8 (got '$r')" test "$r" = fd00:99::8
# ... and the same file rewritten in place
printf '# back\nnameserver 127.0.0.1\n' >"$T/resolv.conf"
sleep 1.5
r=$(ask udp www.qnet.test A)
check "after an in-place rewrite back to 127.0.0.1: UDP A -> 10.99.0.1 (got '$r')" test "$r" = 10.99.0.1
r=$(ask tcp www.qnet.test A)
check "after an in-place rewrite back to 127.0.0.1: TCP A -> 10.99.0.1 (got '$r')" test "$r" = 10.99.0.1

# a file without any nameserver line means 127.0.0.1 (libslirp 4.8)
printf 'search only.test\n' >"$T/resolv.conf"
sleep 1.5
r=$(ask udp www.qnet.test A)
check "resolv.conf without nameserver: 127.0.0.1 is used (got '$r')" test "$r" = 10.99.0.1

check "qnet still running" qnet_alive q
check "qnet exits with status 0 on SIGTERM" qnet_stop q
sanitizer_clean q
finish
