#!/bin/bash
# SPDX-License-Identifier: MIT
# 74-libslirp-slirp4netns.sh - Debian's unmodified slirp4netns 1.2 on qnet's stack
# (LD_LIBRARY_PATH=build: build/libslirp.so.0 instead of libslirp0).
#
# Two namespaces of the test's own: "host" (only loopback; `ip netns exec` bind-mounts
# /etc/netns/HOST/resolv.conf there, naming a dnsmasq on 127.0.0.53; an http.server on
# 127.0.0.1:8080) runs slirp4netns, which puts tap0 into "guest" (--configure: 10.0.2.100/24,
# gateway 10.0.2.2, DNS 10.0.2.3). From the guest namespace: ping 10.0.2.2, fetch the page
# through 10.0.2.2:8080, resolve a name through 10.0.2.3. Through slirp4netns's API socket:
# add_hostfwd 127.0.0.1:8083 -> guest :8000 (an http.server in the guest namespace answers the
# host's curl), list_hostfwd shows it, remove_hostfwd removes it. /proc/PID/maps shows qnet's
# library in slirp4netns. A second slirp4netns with --disable-host-loopback into a third namespace:
# 10.0.2.2 no longer reaches the host's loopback.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd slirp4netns ss curl dnsmasq socat busybox ping
LIB=$ROOT/build/libslirp.so.0
[ -f "$LIB" ] || { not_ok "$LIB exists (make)"; finish; }

H=qnet-s4h-$$ G=qnet-s4g-$$
ns_create "$H" && ns_create "$G" || { not_ok "namespaces $H and $G"; finish; }
mkdir -p "/etc/netns/$H"
at_exit "rm -rf /etc/netns/$H"
LIB_NS=$H

token=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
mkdir -p "$T/www" "$T/gwww"
echo "qnet-page $token" >"$T/www/page.txt"
echo "qnet-guest $token" >"$T/gwww/index.html"
ip netns exec "$H" "$PY" -m http.server --bind 127.0.0.1 --directory "$T/www" 8080 >"$T/http.log" 2>&1 &
bg_track $!
ip netns exec "$H" dnsmasq --no-daemon --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces \
	--listen-address=127.0.0.53 --port=53 --user=root --pid-file="$T/dnsmasq.pid" \
	--address=/qnet-s4n-test.example/10.9.8.7 --log-queries >"$T/dnsmasq.log" 2>&1 &
dns_pid=$!
bg_track $dns_pid
echo "nameserver 127.0.0.53" >"/etc/netns/$H/resolv.conf"
if wait_tcp_listen 8080 10 && wait_udp_owner 127.0.0.53 53 "$dns_pid" 10; then
	ok "namespace $H: http.server on 127.0.0.1:8080, dnsmasq on 127.0.0.53:53"
else
	not_ok "namespace $H: http.server and dnsmasq"; finish
fi

ip netns exec "$H" env LD_LIBRARY_PATH="$ROOT/build" slirp4netns --configure --mtu=1500 \
	--api-socket "$T/api.sock" --netns-type=path "/run/netns/$G" tap0 >"$T/s4n.log" 2>&1 &
s4n=$!
bg_track $s4n
if wait_unix_socket "$T/api.sock" 10 && wait_for 10 eval "ip -n $G -4 addr show tap0 | grep -q 10.0.2.100"; then
	ok "slirp4netns (pid $s4n) configured tap0 in $G"
else
	not_ok "slirp4netns configured tap0 in $G"; sed 's/^/#   /' "$T/s4n.log"; finish
fi
if grep -q " $LIB\$" "/proc/$s4n/maps" && ! grep -q 'x86_64-linux-gnu/libslirp' "/proc/$s4n/maps"; then
	ok "slirp4netns maps build/libslirp.so.0, not Debian's libslirp"
else
	not_ok "slirp4netns maps build/libslirp.so.0, not Debian's libslirp"
	grep slirp "/proc/$s4n/maps" | sed 's/^/#   /'
fi

check "guest namespace: ping 10.0.2.2" ip netns exec "$G" ping -q -c 2 -W 5 10.0.2.2
out=$(ip netns exec "$G" curl -s --max-time 10 --retry 2 "http://10.0.2.2:8080/page.txt") || true
check "guest namespace: the host's 127.0.0.1:8080 through 10.0.2.2" test "$out" = "qnet-page $token"
out=$(ip netns exec "$G" timeout 10 busybox nslookup qnet-s4n-test.example 10.0.2.3 2>&1) || true
check "guest namespace: DNS through 10.0.2.3 (dnsmasq answers)" eval 'grep -q "10\.9\.8\.7" <<<"$out"'

api() { timeout 10 socat -t 2 - "UNIX-CONNECT:$T/api.sock" <<<"$1" 2>/dev/null; }
ip netns exec "$G" "$PY" -m http.server --bind 0.0.0.0 --directory "$T/gwww" 8000 >"$T/ghttp.log" 2>&1 &
bg_track $!
LIB_NS=$G wait_tcp_listen 8000 10
r=$(api '{"execute":"add_hostfwd","arguments":{"proto":"tcp","host_addr":"127.0.0.1","host_port":8083,"guest_port":8000}}')
id=$(sed -n 's/.*"id": *\([0-9]*\).*/\1/p' <<<"$r")
check "API add_hostfwd answers with an id ($r)" test -n "$id"
out=$(ip netns exec "$H" curl -s --max-time 10 --retry 3 --retry-connrefused http://127.0.0.1:8083/) || true
check "hostfwd 127.0.0.1:8083 -> 10.0.2.100:8000 reaches the guest namespace's server" \
	test "$out" = "qnet-guest $token"
r=$(api '{"execute":"list_hostfwd"}')
check "API list_hostfwd shows the rule" eval 'grep -q "\"host_port\": *8083" <<<"$r"'
r=$(api "{\"execute\":\"remove_hostfwd\",\"arguments\":{\"id\":${id:-0}}}")
check "API remove_hostfwd succeeds ($r)" eval '! grep -q error <<<"$r"'
check "after remove_hostfwd nothing listens on 8083" eval "! _lib_tcp_listening 8083"
check "slirp4netns still running" kill -0 "$s4n"

# --disable-host-loopback (SlirpConfig.disable_host_loopback): 10.0.2.2 no longer reaches 127.0.0.1
G2=qnet-s4l-$$
ns_create "$G2" || not_ok "namespace $G2"
ip netns exec "$H" env LD_LIBRARY_PATH="$ROOT/build" slirp4netns --configure --disable-host-loopback \
	--netns-type=path "/run/netns/$G2" tap0 >"$T/s4n2.log" 2>&1 &
bg_track $!
if wait_for 10 eval "ip -n $G2 -4 addr show tap0 | grep -q 10.0.2.100"; then
	check "--disable-host-loopback: the outside (127.0.0.1:8080) is unreachable through 10.0.2.2" \
		eval "! ip netns exec $G2 curl -s --max-time 5 http://10.0.2.2:8080/page.txt"
else
	not_ok "slirp4netns --disable-host-loopback configured tap0 in $G2"; sed 's/^/#   /' "$T/s4n2.log"
fi
check "dnsmasq answered" grep -q 'query\[A\] qnet-s4n-test.example' "$T/dnsmasq.log"
finish
