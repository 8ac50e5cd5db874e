#!/bin/bash
# SPDX-License-Identifier: MIT
# 72-libslirp-qemu.sh - Debian's unmodified QEMU 7.2 runs its own -netdev user on qnet's stack
# (LD_LIBRARY_PATH=build: build/libslirp.so.0 instead of libslirp0).
#
# Everything runs in a namespace of the test's own that has only loopback (QEMU's slirp config
# can't forward anywhere else); `ip netns exec` bind-mounts /etc/netns/NS/resolv.conf over
# /etc/resolv.conf there, naming a dnsmasq the test starts in the namespace. The QEMU guest
# (tests/guest) gets a lease with udhcpc (router 10.0.2.2, DNS 10.0.2.3), pings 10.0.2.2, fetches
# a page with a random token from a python3 http.server on the namespace's 127.0.0.1 through
# 10.0.2.2, resolves a name through 10.0.2.3, talks to two guestfwds (cmd: a command; a chardev
# to an echo server on the host: QEMU's write_cb/slirp_socket_recv path), and serves a page with
# busybox httpd on :80. The
# host checks /proc/PID/maps (qnet's library is the one mapped, Debian's is not), fetches the page
# through the command line's hostfwd, and on QEMU's HMP: `info usernet` lists the rule,
# `hostfwd_add` adds a second one that works, `hostfwd_remove` removes it (and then refuses).
# Then a QEMU without guest holds two user netdevs (two instances in one process, separate rules).
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd qemu-system-x86_64 ss curl dnsmasq socat
LIB=$ROOT/build/libslirp.so.0
[ -f "$LIB" ] || { not_ok "$LIB exists (make)"; finish; }
guest_build || { not_ok "guest image builds"; finish; }

NS=qnet-ls-$$
ns_create "$NS" || { not_ok "namespace $NS"; finish; }
LIB_NS=$NS
mkdir -p "/etc/netns/$NS"
at_exit "rm -rf /etc/netns/$NS"

# ---- services in the namespace: http.server on 127.0.0.1, dnsmasq on 127.0.0.53 -------------------
token=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
mkdir -p "$T/www"
echo "qnet-page $token" >"$T/www/page.txt"
wp=8080
ip netns exec "$NS" "$PY" -m http.server --bind 127.0.0.1 --directory "$T/www" "$wp" >"$T/http.log" 2>&1 &
bg_track $!
dns_ip=127.0.0.53
ip netns exec "$NS" dnsmasq --no-daemon --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces \
	--listen-address="$dns_ip" --port=53 --user=root --pid-file="$T/dnsmasq.pid" \
	--address=/qnet-libslirp-test.example/10.9.8.7 --log-queries >"$T/dnsmasq.log" 2>&1 &
dns_pid=$!
bg_track $dns_pid
echo "nameserver $dns_ip" >"/etc/netns/$NS/resolv.conf"
if wait_tcp_listen "$wp" 10 && wait_udp_owner "$dns_ip" 53 "$dns_pid" 10; then
	ok "namespace $NS: http.server on 127.0.0.1:$wp, dnsmasq on $dns_ip:53"
else
	not_ok "namespace $NS: http.server on 127.0.0.1:$wp, dnsmasq on $dns_ip:53"
	sed 's/^/#   /' "$T/http.log" "$T/dnsmasq.log"
	finish
fi

# an echo server for the chardev guestfwd (QEMU connects its chardev at start-up, once)
cat >"$T/echo.py" <<'EOF2'
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); s.settimeout(200)
c, _ = s.accept(); c.settimeout(200)
while True:
    d = c.recv(4096)
    if not d:
        break
    c.sendall(b"echo:" + d)
EOF2
ep=5001
ip netns exec "$NS" "$PY" "$T/echo.py" "$ep" >"$T/echo.log" 2>&1 &
bg_track $!
wait_tcp_listen "$ep" 10 || not_ok "echo server on 127.0.0.1:$ep"

# ---- the guest --------------------------------------------------------------------------------------
cat >"$T/guest.sh" <<'EOF'
# /test.sh of 72-libslirp-qemu: DHCP, ping the gateway, a page from the host, DNS, httpd for hostfwd.
cat > /tmp/dhcp.sh <<'SCRIPT'
#!/bin/sh
case "$1" in
deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
bound|renew)
	ip addr flush dev "$interface"
	ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}" up
	ip route del default 2>/dev/null
	for r in $router; do ip route add default via "$r" dev "$interface"; break; done
	: > /etc/resolv.conf
	for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
	{ echo "ip=$ip"; echo "router=$router"; echo "dns=$dns"; } > /tmp/lease
	;;
esac
exit 0
SCRIPT
chmod +x /tmp/dhcp.sh
check dhcp-lease timeout 60 udhcpc -i eth0 -s /tmp/dhcp.sh -f -q -n -t 10 -T 2 || exit 1
. /tmp/lease
mark ip "$ip"
check lease-10.0.2.15 test "$ip" = 10.0.2.15
check router-10.0.2.2 test "$router" = 10.0.2.2
check dns-10.0.2.3 test "$dns" = 10.0.2.3
check ping-10.0.2.2 ping_all 10.0.2.2 3
http_get() {
	printf 'GET /%s HTTP/1.0\r\nHost: 10.0.2.2\r\n\r\n' "$1" |
		timeout 20 nc -w 10 10.0.2.2 "$QNET_WP" > "$2" 2>/dev/null
	head -1 "$2" | grep -q ' 200 '
}
check http-get-host-page eval 'retry 3 http_get page.txt /tmp/page && grep -qx "qnet-page $QNET_TOKEN" /tmp/page'
check nslookup-10.0.2.3 eval 'retry 3 nslookup -type=a qnet-libslirp-test.example 10.0.2.3 > /tmp/ns 2>&1;
	grep -q "10\.9\.8\.7" /tmp/ns'
# guestfwd: 10.0.2.100:4000 runs a command (slirp_add_exec), :4001 is QEMU's chardev to the host's
# echo server (slirp_add_guestfwd, slirp_socket_recv)
check guestfwd-cmd eval 'retry 3 sh -c "timeout 10 nc -w 5 10.0.2.100 4000 < /dev/null > /tmp/cmd";
	grep -qx "cmd-ok" /tmp/cmd'
check guestfwd-chardev eval 'echo "gf-$QNET_TOKEN" | timeout 10 nc -w 3 10.0.2.100 4001 > /tmp/gf;
	grep -qx "echo:gf-$QNET_TOKEN" /tmp/gf'
mkdir -p /www
echo "qnet-guest $ip $QNET_TOKEN" > /www/index.html
check httpd-start httpd -p 80 -h /www
mark httpd-ready "$ip"
check host-done retry 150 http_get done /tmp/done
EOF

hp=8081 hp2=8082
GUEST_ENV="LD_LIBRARY_PATH=$ROOT/build" GUEST_MONITOR="unix:$T/mon,server=on,wait=off" \
	guest_start g1 "user,id=n0,hostfwd=tcp:127.0.0.1:$hp-:80,guestfwd=tcp:10.0.2.100:4000-cmd:echo cmd-ok,guestfwd=tcp:10.0.2.100:4001-tcp:127.0.0.1:$ep" "$T/guest.sh" "" \
	52:54:00:12:34:72 virtio-net-pci "qnet.wp=$wp qnet.token=$token" || { not_ok "QEMU starts"; finish; }
hmp() {	# hmp COMMAND - one HMP command on QEMU's monitor, output without the echo
	timeout 10 socat -t 2 - "UNIX-CONNECT:$T/mon" <<<"$1" 2>/dev/null | tr -d '\r' |
		sed 's/\x1b\[[0-9]*[A-Z]//g'
}
wait_unix_socket "$T/mon" 10
qpid=$(pgrep -P "$(cat "$T/g1.qemu.pid")" -x qemu-system-x86 | head -1)
if [ -n "$qpid" ] && grep -q " $LIB\$" "/proc/$qpid/maps" &&
   ! grep -q 'x86_64-linux-gnu/libslirp' "/proc/$qpid/maps"; then
	ok "QEMU (pid $qpid) maps build/libslirp.so.0, not Debian's libslirp"
else
	not_ok "QEMU (pid ${qpid:-?}) maps build/libslirp.so.0, not Debian's libslirp"
	grep slirp "/proc/${qpid:-0}/maps" 2>/dev/null | sed 's/^/#   /'
fi

if guest_wait g1 '^QNET-MARK httpd-ready ' 180; then
	ok "guest configured by DHCP and serving"
	out=$(in_ns curl -s --max-time 10 --retry 3 --retry-connrefused "http://127.0.0.1:$hp/") || true
	check "hostfwd tcp:127.0.0.1:$hp-:80 (command line) reaches the guest's httpd" \
		test "$out" = "qnet-guest 10.0.2.15 $token"
	hmp "info usernet" >"$T/usernet.txt"
	if grep -Eq "TCP\[HOST_FORWARD\].*127\.0\.0\.1 +$hp +10\.0\.2\.15 +80" "$T/usernet.txt"; then
		ok "HMP info usernet lists the hostfwd"
	else
		not_ok "HMP info usernet lists the hostfwd"
		sed 's/^/#   /' "$T/usernet.txt"
	fi
	hmp "hostfwd_add n0 tcp:127.0.0.1:$hp2-10.0.2.15:80" >"$T/add.txt"
	if wait_tcp_listen "$hp2" 5; then
		out=$(in_ns curl -s --max-time 10 --retry 3 --retry-connrefused "http://127.0.0.1:$hp2/") || true
		check "HMP hostfwd_add: 127.0.0.1:$hp2 reaches the guest's httpd" \
			test "$out" = "qnet-guest 10.0.2.15 $token"
	else
		not_ok "HMP hostfwd_add: 127.0.0.1:$hp2 listens"
		sed 's/^/#   /' "$T/add.txt"
	fi
	check "HMP hostfwd_remove answers 'removed'" \
		eval "hmp 'hostfwd_remove n0 tcp:127.0.0.1:$hp2' | grep -q 'rule for tcp:127.0.0.1:$hp2 removed'"
	check "after hostfwd_remove nothing listens on $hp2" eval "! _lib_tcp_listening $hp2"
	check "HMP hostfwd_remove again: 'not found'" \
		eval "hmp 'hostfwd_remove n0 tcp:127.0.0.1:$hp2' | grep -q 'rule for tcp:127.0.0.1:$hp2 not found'"
else
	not_ok "guest configured by DHCP and serving"
fi
: >"$T/www/done"
guest_wait_exit g1 120 || not_ok "g1 powered off"
guest_checks g1
check "dnsmasq answered the guest's query" grep -q 'query\[A\] qnet-libslirp-test.example' "$T/dnsmasq.log"
check "QEMU said nothing about slirp" eval "! grep -i 'slirp' '$T/g1.qemu.log'"

# two instances in one QEMU process: each has its own rules
ip netns exec "$NS" env LD_LIBRARY_PATH="$ROOT/build" timeout 60 qemu-system-x86_64 -M none \
	-nodefaults -display none -netdev user,id=a,hostfwd=tcp:127.0.0.1:8091-:1 \
	-netdev user,id=b,net=192.168.77.0/24,hostfwd=tcp:127.0.0.1:8092-:1 \
	-monitor "unix:$T/mon2,server=on,wait=off" >"$T/q2.log" 2>&1 &
q2=$!
bg_track $q2
if wait_unix_socket "$T/mon2" 10 && wait_tcp_listen 8092 10; then
	mon2() { timeout 10 socat -t 2 - "UNIX-CONNECT:$T/mon2" <<<"$1" 2>/dev/null | tr -d '\r' |
		sed 's/\x1b\[[0-9]*[A-Z]//g'; }
	mon2 "info usernet" >"$T/usernet2.txt"
	check "two user netdevs in one QEMU: info usernet shows both, each with its rule" \
		eval "grep -A3 '(a):' '$T/usernet2.txt' | grep -Eq '127\.0\.0\.1 +8091 +10\.0\.2\.15' &&
		      grep -A3 '(b):' '$T/usernet2.txt' | grep -Eq '127\.0\.0\.1 +8092 +192\.168\.77\.15'"
	check "hostfwd_remove on the other instance: not found" \
		eval "mon2 'hostfwd_remove b tcp:127.0.0.1:8091' | grep -q 'not found'"
	check "hostfwd_remove on its own instance: removed" \
		eval "mon2 'hostfwd_remove a tcp:127.0.0.1:8091' | grep -q 'removed'"
	check "the other instance's rule still listens" _lib_tcp_listening 8092
	kill "$q2"
else
	not_ok "QEMU with two user netdevs starts"; sed 's/^/#   /' "$T/q2.log"
fi
finish
