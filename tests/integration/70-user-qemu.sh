#!/bin/bash
# SPDX-License-Identifier: MIT
# 70-user-qemu.sh - two QEMU 7.2 guests on one qnet hub with -netdev user: DHCP, ping, NAT, DNS, hostfwd.
#
# qnet: a user netdev (resolv-conf naming a dnsmasq the test starts on a 127.x address, two
# hostfwds: 127.0.0.1:HP -> default guest (first lease) :80 and 127.0.0.1:HP2 -> 10.0.2.16:80) on
# hub 0 with two stream servers (unix sockets), one per guest. Both guests boot in parallel and,
# in /test.sh: get a lease with busybox udhcpc (router 10.0.2.2, DNS 10.0.2.3), ping 10.0.2.2,
# fetch a page with a random token (busybox nc) from a python3 http.server on the host's 127.0.0.1 through
# 10.0.2.2, resolve a name through 10.0.2.3 (busybox nslookup, answered by dnsmasq), serve a page
# naming themselves with busybox httpd on :80 and wait until the host has fetched it through the
# hostfwd. The host checks the two leases are 10.0.2.15 and 10.0.2.16, fetches both pages with
# curl, checks `info usernet` on the monitor, that qnet stays up, and (QNET=build/san/qnet) that
# no sanitizer report appears at exit.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd qemu-system-x86_64 ss curl dnsmasq socat
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
guest_build || { not_ok "guest image builds"; finish; }

# ---- host services: an HTTP server on 127.0.0.1, dnsmasq on a 127.x address ---------------------
token=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
mkdir -p "$T/www"
echo "qnet-page $token" >"$T/www/page.txt"
wp=$(free_port)
"$PY" -m http.server --bind 127.0.0.1 --directory "$T/www" "$wp" >"$T/http.log" 2>&1 &
bg_track $!
# A loopback address of our own so that port 53 can't collide with a system resolver.
# Nothing may listen there yet, and the listener we wait for must be our dnsmasq itself.
dns_ip=$(free_loopback 53) || { not_ok "a free 127.x address for dnsmasq"; finish; }
dnsmasq --no-daemon --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces \
	--listen-address="$dns_ip" --port=53 --user=root --pid-file="$T/dnsmasq.pid" \
	--address=/qnet-user-test.example/10.9.8.7 --log-queries >"$T/dnsmasq.log" 2>&1 &
dns_pid=$!
bg_track $dns_pid
echo "nameserver $dns_ip" >"$T/resolv.conf"
if wait_tcp_listen "$wp" 10 && wait_udp_owner "$dns_ip" 53 "$dns_pid" 10; then
	ok "host services: http.server on 127.0.0.1:$wp, dnsmasq on $dns_ip:53"
else
	not_ok "host services: http.server on 127.0.0.1:$wp, dnsmasq on $dns_ip:53"
	sed 's/^/#   /' "$T/http.log" "$T/dnsmasq.log"
	finish
fi

# ---- qnet ------------------------------------------------------------------------------------------
hp=$(free_port)
hp2=$(free_port)
while [ "$hp2" = "$hp" ]; do hp2=$(free_port); done
if qnet_start q \
	-netdev "user,id=u0,resolv-conf=$T/resolv.conf,hostfwd=tcp:127.0.0.1:$hp-:80,hostfwd=tcp:127.0.0.1:$hp2-10.0.2.16:80" \
	-netdev hubport,id=p0,hubid=0,netdev=u0 \
	-netdev stream,id=g1,server=on,addr.type=unix,addr.path="$T/g1.sock" \
	-netdev hubport,id=p1,hubid=0,netdev=g1 \
	-netdev stream,id=g2,server=on,addr.type=unix,addr.path="$T/g2.sock" \
	-netdev hubport,id=p2,hubid=0,netdev=g2 \
	-monitor "unix:$T/mon,server=on,wait=off" &&
   wait_unix_socket "$T/g1.sock" 10 && wait_unix_socket "$T/g2.sock" 10 &&
   wait_tcp_listen "$hp" 10 && wait_tcp_listen "$hp2" 10; then
	ok "qnet: user netdev + two stream servers on hub 0, hostfwds on 127.0.0.1:$hp and :$hp2"
else
	not_ok "qnet: user netdev + two stream servers on hub 0, hostfwds on 127.0.0.1:$hp and :$hp2"
	qnet_log q
	finish
fi

# ---- the guests ------------------------------------------------------------------------------------
cat >"$T/user-guest.sh" <<'EOF'
# /test.sh of 70-user-qemu: DHCP, ping the gateway, wget from the host, DNS, httpd for hostfwd.
cat > /tmp/dhcp.sh <<'SCRIPT'
#!/bin/sh
# udhcpc event script: configure eth0 from the lease, remember what the server said
case "$1" in
deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
bound|renew)
	ip addr flush dev "$interface"
	ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}" up
	ip route del default 2>/dev/null
	for r in $router; do ip route add default via "$r" dev "$interface"; break; done
	: > /etc/resolv.conf
	for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
	{ echo "ip=$ip"; echo "subnet=$subnet"; echo "router=$router"; echo "dns=$dns"
	  echo "lease=$lease"; echo "serverid=$serverid"; } > /tmp/lease
	;;
esac
exit 0
SCRIPT
chmod +x /tmp/dhcp.sh
check dhcp-lease timeout 60 udhcpc -i eth0 -s /tmp/dhcp.sh -f -q -n -t 10 -T 2 || exit 1
say "$(cat /tmp/lease)"
. /tmp/lease
mark ip "$ip"
mark router "$router"
mark dns "$dns"
mark subnet "$subnet"
mark serverid "$serverid"
check lease-in-pool eval 'case $ip in 10.0.2.15|10.0.2.16) true ;; *) false ;; esac'
check router-10.0.2.2 test "$router" = 10.0.2.2
check dns-10.0.2.3 test "$dns" = 10.0.2.3
check ping-10.0.2.2 ping_all 10.0.2.2 3
# http_get PATH OUT - HTTP/1.0 GET from the host's http.server through 10.0.2.2 (busybox nc: the
# static busybox's wget crashes in this initramfs, which has no NSS configuration)
http_get() {
	printf 'GET /%s HTTP/1.0\r\nHost: 10.0.2.2\r\n\r\n' "$1" |
		timeout 20 nc -w 10 10.0.2.2 "$QNET_WP" > "$2" 2>/dev/null
	head -1 "$2" | grep -q ' 200 '
}
check http-get-host-page eval 'retry 3 http_get page.txt /tmp/page && grep -qx "qnet-page $QNET_TOKEN" /tmp/page'
check nslookup-10.0.2.3 eval 'retry 3 nslookup -type=a qnet-user-test.example 10.0.2.3 > /tmp/ns 2>&1;
	grep -q "10\.9\.8\.7" /tmp/ns'
cat /tmp/ns
check nslookup-resolv.conf eval 'nslookup -type=a qnet-user-test.example > /tmp/ns2 2>&1; grep -q "10\.9\.8\.7" /tmp/ns2'
mkdir -p /www
echo "qnet-guest $QNET_NAME $ip $QNET_TOKEN" > /www/index.html
check httpd-start httpd -p 80 -h /www
mark httpd-ready "$ip"
# the host fetches the page through its hostfwd, then creates done-NAME on its HTTP server
check host-fetched retry 150 http_get "done-$QNET_NAME" /tmp/done
EOF

boot_start=$(date +%s)
guest_start g1 "stream,id=n0,server=off,addr.type=unix,addr.path=$T/g1.sock" "$T/user-guest.sh" "" \
	52:54:00:12:34:71 virtio-net-pci "qnet.wp=$wp qnet.token=$token" || not_ok "QEMU guest g1 starts"
guest_start g2 "stream,id=n0,server=off,addr.type=unix,addr.path=$T/g2.sock" "$T/user-guest.sh" "" \
	52:54:00:12:34:72 e1000 "qnet.wp=$wp qnet.token=$token" || not_ok "QEMU guest g2 starts"

# hostfwd: which guest is behind each port depends on who got which lease
fetch_check() {	# fetch_check PORT IP - the page behind 127.0.0.1:PORT names the guest with IP
	local port=$1 ip=$2 name out
	name=
	[ "$(guest_mark g1 httpd-ready)" = "$ip" ] && name=g1
	[ "$(guest_mark g2 httpd-ready)" = "$ip" ] && name=g2
	if [ -z "$name" ]; then
		not_ok "hostfwd 127.0.0.1:$port -> $ip:80 (no guest serves on $ip)"
		return 1
	fi
	out=$(curl -s --max-time 10 --retry 3 --retry-connrefused "http://127.0.0.1:$port/") || true
	if [ "$out" = "qnet-guest $name $ip $token" ]; then
		ok "hostfwd 127.0.0.1:$port -> $ip:80 reaches $name's httpd"
	else
		not_ok "hostfwd 127.0.0.1:$port -> $ip:80 reaches $name's httpd (got '${out:0:80}')"
	fi
}
if guest_wait g1 '^QNET-MARK httpd-ready ' 180 && guest_wait g2 '^QNET-MARK httpd-ready ' 60; then
	ok "both guests configured by DHCP and serving ($(($(date +%s) - boot_start))s after boot)"
	l1=$(guest_mark g1 ip); l2=$(guest_mark g2 ip)
	if [ "$(printf '%s\n' "$l1" "$l2" | sort | tr '\n' ' ')" = "10.0.2.15 10.0.2.16 " ]; then
		ok "two guests, two leases: g1 $l1, g2 $l2"
	else
		not_ok "two guests, two leases 10.0.2.15 and 10.0.2.16 (g1 '$l1', g2 '$l2')"
	fi
	check "DHCP server identifier is 10.0.2.2" test "$(guest_mark g1 serverid)" = 10.0.2.2
	check "DHCP subnet mask 255.255.255.0" test "$(guest_mark g2 subnet)" = 255.255.255.0
	fetch_check "$hp" 10.0.2.15
	fetch_check "$hp2" 10.0.2.16
	timeout 10 socat -t 2 - "UNIX-CONNECT:$T/mon" <<<"info usernet" 2>/dev/null | tr -d '\r' >"$T/usernet.txt"
	if grep -Eq "TCP\[HOST_FORWARD\].*127\.0\.0\.1 +$hp +10\.0\.2\.15 +80" "$T/usernet.txt" &&
	   grep -Eq "TCP\[HOST_FORWARD\].*127\.0\.0\.1 +$hp2 +10\.0\.2\.16 +80" "$T/usernet.txt"; then
		ok "monitor: info usernet lists both hostfwds"
	else
		not_ok "monitor: info usernet lists both hostfwds"
		sed 's/^/#   /' "$T/usernet.txt"
	fi
else
	not_ok "both guests configured by DHCP and serving"
fi
: >"$T/www/done-g1"
: >"$T/www/done-g2"

guest_wait_exit g1 120 || not_ok "g1 powered off"
guest_wait_exit g2 60 || not_ok "g2 powered off"
guest_checks g1
guest_checks g2
check "dnsmasq answered the guests' queries" grep -q 'query\[A\] qnet-user-test.example' "$T/dnsmasq.log"
check "qnet still running after the guests left" qnet_alive q
if qnet_stop q; then ok "qnet exits with status 0 on SIGTERM"; else not_ok "qnet exits with status 0 on SIGTERM"; fi
if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/q.log"; then
	not_ok "no sanitizer report in qnet's log"
	qnet_log q | head -40
else
	ok "no sanitizer report in qnet's log"
fi
finish
