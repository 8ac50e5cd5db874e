#!/bin/bash
# SPDX-License-Identifier: MIT
# 67-user-ipv6.sh - -netdev user over IPv6 (dual stack by default, as QEMU): a namespace on qnet's
# tap gets its SLAAC address from the stack's router advertisement (fec0::/64, default route via
# fe80::2, the MTU option from mtu=), resolves and pings fec0::2, fec0::3 and fe80::2, gets DNS and
# the search list from stateless DHCPv6 (dhclient -6 -S); a custom
# ipv6-net is advertised; ipv4=off leaves IPv6 alone working; ipv6=off gives no IPv6 address.
#
# Traffic stays inside the namespaces the test creates (no route leaves them).
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/user_lib.sh"
need_root
need_cmd ip ping timeout
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"

A=qnu67a-$$ B=qnu67b-$$ C=qnu67c-$$
for n in "$A" "$B" "$C"; do
	ns_create "$n" || { not_ok "namespace $n created"; finish; }
	ip netns exec "$n" sysctl -qw net.ipv6.conf.default.accept_ra=1 \
		net.ipv6.conf.default.router_solicitation_delay=0 >/dev/null 2>&1
done
quiet() { "$@" >/dev/null 2>&1; }
# global_addr NS - the first global-scope IPv6 address of eth0 in NS (no prefix length)
global_addr() { ip -n "$1" -6 -o addr show dev eth0 scope global 2>/dev/null | awk '{ split($4, a, "/"); print a[1]; exit }'; }
# has_global NS PREFIX - eth0 in NS has a non-tentative global address starting with PREFIX
has_global() { ip -n "$1" -6 -o addr show dev eth0 scope global 2>/dev/null | grep -v tentative | grep -q " inet6 $2"; }
# site-local fec0::/10 counts as global scope for `ip` filters on some kernels, as "site" on others
has_addr() { ip -n "$1" -6 -o addr show dev eth0 2>/dev/null | grep -v tentative | grep -q " inet6 $2"; }

check "qnet starts in $A (defaults, mtu=1400)" user_start qa "$A" "mtu=1400,dnssearch=example.org,dnssearch=qnet.test"
check "qnet starts in $B (ipv6-net=fd00:beef::/64, ipv4=off)" \
	user_start qb "$B" "ipv4=off,ipv6-net=fd00:beef::/64"
check "qnet starts in $C (ipv6=off)" user_start qc "$C" "ipv6=off"

# ---- SLAAC from the RA ----
if wait_for 20 has_addr "$A" "fec0::"; then
	ok "$A: SLAAC address in fec0::/64 ($(ip -n "$A" -6 -o addr show dev eth0 | awk '/fec0/ { print $4 }'))"
else
	not_ok "$A: SLAAC address in fec0::/64"; ip -n "$A" -6 addr show dev eth0 | sed 's/^/#   /'
fi
check "$A: the prefix is /64" bash -c "ip -n '$A' -6 -o addr show dev eth0 | grep -q 'fec0::[0-9a-f:]*/64'"
check "$A: default route via fe80::2 from the RA" \
	bash -c "ip -n '$A' -6 route show default | grep -q 'via fe80::2 dev eth0 proto ra'"
r=$(ip netns exec "$A" cat /proc/sys/net/ipv6/conf/eth0/mtu 2>/dev/null)
check "$A: IPv6 MTU 1400 from the RA's MTU option (got '$r')" test "$r" = 1400

# ---- NDP and echo ----
check "$A: ping6 fec0::2 (the router) answered" quiet timeout 20 ip netns exec "$A" ping -6 -c 3 -W 3 fec0::2
check "$A: ping6 fec0::3 (the DNS address) answered" quiet timeout 20 ip netns exec "$A" ping -6 -c 2 -W 3 fec0::3
check "$A: ping6 fe80::2%eth0 answered" quiet timeout 20 ip netns exec "$A" ping -6 -c 2 -W 3 fe80::2%eth0
check "$A: neighbour fec0::2 is 52:56:00:00:00:02" \
	bash -c "ip -n '$A' -6 neigh show fec0::2 | grep -q 'lladdr 52:56:00:00:00:02'"
check "$A: 1400-byte echo answered (MTU-sized: 1352 bytes of data)" \
	quiet timeout 20 ip netns exec "$A" ping -6 -c 1 -W 3 -s 1352 -M "do" fec0::2
# ---- DHCPv6 stateless: dhclient -6 -S gets the DNS server and the search list ----
if command -v dhclient >/dev/null; then
	printf '#!/bin/sh\n# SPDX-License-Identifier: MIT\nenv | sort >"%s/dh6.$reason"\n' "$T" >"$T/dh6.sh"
	chmod 755 "$T/dh6.sh"
	timeout 20 ip netns exec "$A" dhclient -6 -S -d -1 -lf "$T/dh6.leases" -pf "$T/dh6.pid" \
		-sf "$T/dh6.sh" eth0 >"$T/dh6.log" 2>&1
	env6=$(cat "$T"/dh6.*6 2>/dev/null)
	check "dhclient -6 -S: a Reply from fe80::2" grep -q "Reply message on eth0 from fe80::2" "$T/dh6.log" || sed "s/^/#   /" "$T/dh6.log"
	check "dhclient -6 -S: DNS server fec0::3" bash -c "grep -qx 'new_dhcp6_name_servers=fec0::3' <<<'$env6'"
	check "dhclient -6 -S: search list example.org qnet.test" \
		bash -c "grep -qx 'new_dhcp6_domain_search=example.org. qnet.test.' <<<'$env6'"
	check "dhclient -6 -S: server id is the DUID-LL of 52:56:00:00:00:02" \
		bash -c "grep -qx 'new_dhcp6_server_id=0:3:0:1:52:56:0:0:0:2' <<<'$env6'"
fi

# last for $A: udhcpc flushes eth0 (its IPv6 addresses too)
check "$A: IPv4 still works (ping 10.0.2.2 after udhcpc)" bash -c "$(declare -f ns_dhcp udhcpc_script); T='$T' ns_dhcp '$A' && timeout 20 ip netns exec '$A' ping -c 2 -W 3 10.0.2.2 >/dev/null 2>&1"

# ---- a custom prefix, IPv6 only ----
if wait_for 20 has_addr "$B" "fd00:beef::"; then ok "$B: SLAAC address in fd00:beef::/64"; else
	not_ok "$B: SLAAC address in fd00:beef::/64"; ip -n "$B" -6 addr show dev eth0 | sed 's/^/#   /'; fi
check "$B: ping6 fd00:beef::2 answered" quiet timeout 20 ip netns exec "$B" ping -6 -c 2 -W 3 fd00:beef::2
check "$B: ping6 fd00:beef::3 answered" quiet timeout 20 ip netns exec "$B" ping -6 -c 2 -W 3 fd00:beef::3
r=$(ip netns exec "$B" cat /proc/sys/net/ipv6/conf/eth0/mtu 2>/dev/null)
check "$B: no MTU option without mtu= (link MTU stays, got '$r')" test "$r" = 1500

# ---- ipv6=off ----
sleep 3
check "$C: ipv6=off: no address from an RA" bash -c "! ip -n '$C' -6 -o addr show dev eth0 | grep -qv ' fe80::'"
check "$C: ipv6=off: fe80::2 does not answer" bash -c "! timeout 10 ip netns exec '$C' ping -6 -c 1 -W 2 fe80::2%eth0 >/dev/null 2>&1"

for q in qa qb qc; do
	check "$q still running" qnet_alive "$q"
	sanitizer_clean "$q"
done
finish
