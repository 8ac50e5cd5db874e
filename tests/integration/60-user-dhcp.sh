#!/bin/bash
# SPDX-License-Identifier: MIT
# 60-user-dhcp.sh - -netdev user DHCP seen by udhcpc and ISC dhclient in namespaces (tap on hub 0).
#
# Leases, router/DNS, domain and search list, option 26 (mtu=), two MACs, renewal, release.
# Traffic stays inside the namespaces this test creates (the user network 10.0.2.0/24).
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/user_lib.sh"
need_root
need_cmd ip udhcpc dhclient timeout
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"

A=qnu60a-$$
B=qnu60b-$$
ns_create "$A" || { not_ok "namespace $A created"; finish; }
ns_create "$B" || { not_ok "namespace $B created"; finish; }
udhcpc_script
host_resolv_before=$(sha256sum /etc/resolv.conf 2>/dev/null)

quiet() { "$@" >/dev/null 2>&1; }

# env_val FILE KEY - the value of KEY=... in an environment dump
env_val() { sed -n "s/^$2=//p" "$1" 2>/dev/null | head -1; }

# ---- run 1: defaults + domainname/dnssearch, two namespaces with their own MAC ----
if user_start q1 "$A" "domainname=qnet.test,dnssearch=a.test,dnssearch=b.test" \
	-netdev tap,id=t2,netns=/var/run/netns/"$B",ifname=eth0,script=no,downscript=no \
	-netdev hubport,id=p2,hubid=0,netdev=t2; then
	ok "qnet starts: user + taps in $A and $B on hub 0"
else
	not_ok "qnet starts: user + taps in $A and $B on hub 0"
	qnet_log q1
	finish
fi
mac_a=$(ip -n "$A" -o link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
mac_b=$(ip -n "$B" -o link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')

# udhcpc in A, kept running (renewal below)
# (ip netns exec execs udhcpc itself, so $! is udhcpc: the signals below reach it)
UDHCP_OUT=$T/ua ip netns exec "$A" \
	udhcpc -i eth0 -s "$T/udhcpc.sh" -f -t 8 -T 2 -A 2 </dev/null >"$T/ua.log" 2>&1 &
ua=$!
bg_track "$ua"
if wait_for 30 test -f "$T/ua.bound"; then
	ok "udhcpc ($A) gets a lease"
else
	not_ok "udhcpc ($A) gets a lease"
	sed 's/^/#   /' "$T/ua.log"
fi
check "udhcpc: address 10.0.2.15" test "$(env_val "$T/ua.bound" ip)" = 10.0.2.15
check "udhcpc: netmask /24" test "$(env_val "$T/ua.bound" mask)" = 24
check "udhcpc: router 10.0.2.2" test "$(env_val "$T/ua.bound" router)" = 10.0.2.2
check "udhcpc: DNS 10.0.2.3" test "$(env_val "$T/ua.bound" dns)" = 10.0.2.3
check "udhcpc: server id 10.0.2.2" test "$(env_val "$T/ua.bound" serverid)" = 10.0.2.2
check "udhcpc: domain qnet.test (domainname=)" test "$(env_val "$T/ua.bound" domain)" = qnet.test
check "udhcpc: search list 'a.test b.test' (dnssearch= twice)" \
	test "$(env_val "$T/ua.bound" search)" = "a.test b.test"
check "udhcpc: lease time 86400" test "$(env_val "$T/ua.bound" lease)" = 86400
check "udhcpc: no MTU option without mtu=" test -z "$(env_val "$T/ua.bound" mtu)"
check "$A: eth0 configured with 10.0.2.15/24 by the test's script" \
	bash -c "ip -n $A -4 addr show dev eth0 | grep -q 'inet 10.0.2.15/24'"
check "$A: the lease works: ping 10.0.2.2" \
	quiet timeout 20 ip netns exec "$A" ping -q -c 2 -W 3 10.0.2.2

# renewal: SIGUSR1 makes udhcpc send a (unicast) REQUEST for its address
kill -USR1 "$ua" 2>/dev/null
if wait_for 20 test -f "$T/ua.renew"; then
	ok "udhcpc: renewal answered"
else
	not_ok "udhcpc: renewal answered"
	sed 's/^/#   /' "$T/ua.log"
fi
check "udhcpc: renewal keeps 10.0.2.15" test "$(env_val "$T/ua.renew" ip)" = 10.0.2.15

# a second client with another MAC
check "$A and $B have different MACs ($mac_a, $mac_b)" test -n "$mac_a" -a "$mac_a" != "$mac_b"
if ns_dhcp "$B" "$T/ub"; then ok "udhcpc ($B) gets a lease"; else
	not_ok "udhcpc ($B) gets a lease"; sed 's/^/#   /' "$T/ub.log"; fi
ip_b=$(env_val "$T/ub.bound" ip)
check "second MAC gets a different lease ($ip_b) in 10.0.2.16..30" \
	bash -c "[[ '$ip_b' =~ ^10\.0\.2\.(1[6-9]|2[0-9]|30)$ ]]"
check "$B reaches $A over the user network's segment" \
	quiet timeout 20 ip netns exec "$B" ping -q -c 2 -W 3 10.0.2.15

# release (SIGUSR2), then udhcpc exits
kill -USR2 "$ua" 2>/dev/null
wait_for 10 test -f "$T/ua.deconfig"
kill "$ua" 2>/dev/null
wait "$ua" 2>/dev/null
check "qnet q1 still running" qnet_alive q1
check "qnet q1 exits with status 0 on SIGTERM" qnet_stop q1
sanitizer_clean q1

# ---- run 2: mtu=9000, udhcpc then dhclient in A ----
ip -n "$A" addr flush dev eth0 2>/dev/null
if user_start q2 "$A" "mtu=9000,domainname=qnet.test,dnssearch=a.test,dnssearch=b.test"; then
	ok "qnet starts with mtu=9000"
else
	not_ok "qnet starts with mtu=9000"
	qnet_log q2
	finish
fi
if ns_dhcp "$A" "$T/um"; then ok "udhcpc (mtu=9000) gets a lease"; else
	not_ok "udhcpc (mtu=9000) gets a lease"; sed 's/^/#   /' "$T/um.log"; fi
check "udhcpc: MTU option 9000 (\$mtu)" test "$(env_val "$T/um.bound" mtu)" = 9000
check "udhcpc: address 10.0.2.15" test "$(env_val "$T/um.bound" ip)" = 10.0.2.15
# jumbo frames really pass: the namespace takes the MTU it was given
ip -n "$A" link set eth0 mtu 9000
check "ping 10.0.2.2 with 8000-byte payloads at MTU 9000 (no fragmentation)" \
	quiet timeout 20 ip netns exec "$A" ping -q -M "do" -s 8000 -c 2 -W 3 10.0.2.2
ip -n "$A" link set eth0 mtu 1500
ip -n "$A" addr flush dev eth0

# ISC dhclient with the test's own script, lease, pid and config files
cat >"$T/dhclient.sh" <<EOF
#!/bin/sh
# SPDX-License-Identifier: MIT
# dhclient.sh - the test's dhclient script: records each reason, configures only eth0 of $A
env | sort >"$T/dh.\$reason.tmp" && mv "$T/dh.\$reason.tmp" "$T/dh.\$reason"
case "\$reason" in
BOUND|RENEW|REBIND|REBOOT)
	ip addr flush dev "\$interface"
	ip addr add "\$new_ip_address/24" dev "\$interface" ;;
RELEASE|EXPIRE|STOP)
	ip addr flush dev "\$interface" ;;
esac
exit 0
EOF
chmod 755 "$T/dhclient.sh"
cat >"$T/dhclient.conf" <<'EOF'
request subnet-mask, broadcast-address, routers, domain-name, domain-name-servers,
	domain-search, interface-mtu, dhcp-lease-time, dhcp-server-identifier;
timeout 30;
retry 5;
EOF
dh=(dhclient -4 -v -sf "$T/dhclient.sh" -lf "$T/dhclient.leases" -pf "$T/dhclient.pid"
	-cf "$T/dhclient.conf")
at_exit "ip netns exec $A ${dh[*]} -x eth0; kill \$(cat $T/dhclient.pid 2>/dev/null) 2>/dev/null"
if timeout 60 ip netns exec "$A" "${dh[@]}" -1 eth0 </dev/null >"$T/dh.log" 2>&1; then
	ok "dhclient gets a lease"
else
	not_ok "dhclient gets a lease"
	sed 's/^/#   /' "$T/dh.log"
fi
check "dhclient: address 10.0.2.15" test "$(env_val "$T/dh.BOUND" new_ip_address)" = 10.0.2.15
check "dhclient: netmask 255.255.255.0" test "$(env_val "$T/dh.BOUND" new_subnet_mask)" = 255.255.255.0
check "dhclient: router 10.0.2.2" test "$(env_val "$T/dh.BOUND" new_routers)" = 10.0.2.2
check "dhclient: DNS 10.0.2.3" test "$(env_val "$T/dh.BOUND" new_domain_name_servers)" = 10.0.2.3
check "dhclient: domain qnet.test" test "$(env_val "$T/dh.BOUND" new_domain_name)" = qnet.test
dsearch=$(env_val "$T/dh.BOUND" new_domain_search)
check "dhclient: search list a.test b.test (got '$dsearch')" \
	test "$dsearch" = "a.test. b.test." -o "$dsearch" = "a.test b.test"
check "dhclient: MTU 9000" test "$(env_val "$T/dh.BOUND" new_interface_mtu)" = 9000
check "dhclient: lease recorded in the test's own lease file" grep -q 'fixed-address 10.0.2.15' "$T/dhclient.leases"
# release: dhclient -r sends DHCPRELEASE and stops the running client
timeout 30 ip netns exec "$A" "${dh[@]}" -r eth0 </dev/null >>"$T/dh.log" 2>&1
check "dhclient -r: released (RELEASE reason seen)" test -f "$T/dh.RELEASE"
# after the release the same MAC gets the address again
rm -f "$T/dh.BOUND"
timeout 60 ip netns exec "$A" "${dh[@]}" -1 eth0 </dev/null >>"$T/dh.log" 2>&1
check "dhclient after release: 10.0.2.15 again" test "$(env_val "$T/dh.BOUND" new_ip_address)" = 10.0.2.15
timeout 30 ip netns exec "$A" "${dh[@]}" -r eth0 </dev/null >>"$T/dh.log" 2>&1

check "qnet q2 exits with status 0 on SIGTERM" qnet_stop q2
sanitizer_clean q2
check "the host's /etc/resolv.conf was not touched" \
	test "$(sha256sum /etc/resolv.conf 2>/dev/null)" = "$host_resolv_before"
finish
