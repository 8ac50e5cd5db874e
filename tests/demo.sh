#!/bin/bash
# SPDX-License-Identifier: MIT
# demo.sh - qnet's main job, shown step by step (run by `make demo`, as root).
#
# A network namespace plays the guest. qnet creates a tap inside it and joins it, on hub 0, to a
# user-mode network stack (-netdev user: QEMU's "slirp" networking). The namespace then gets its
# address by DHCP, resolves a name through the stack's DNS address, fetches a page from a web server
# on the host's loopback through the gateway address 10.0.2.2, and serves a page back to the host
# through a port forward. The demo brings its own DNS server (dnsmasq on a 127.53.N.1 address nobody
# else listens on, checked to be the one answering) and web server; nothing leaves this machine, and
# nothing the demo starts outlives it (stopped at exit, on error and on Ctrl-C).
set -u
cd "$(dirname "$0")/.."
QNET=${QNET:-$PWD/build/qnet}
T=$(mktemp -d /tmp/qnet-demo.XXXXXX)
NS=qnet-demo
HOSTPORT=${DEMO_HOSTPORT:-18080}
WEBPORT=${DEMO_WEBPORT:-18000}
PIDS=()
QPID=

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
# stop PID... - SIGTERM, up to 2 s for them to exit, then SIGKILL
stop() {
	local p left i
	kill "$@" 2>/dev/null
	for i in $(seq 20); do
		left=()
		for p in "$@"; do kill -0 "$p" 2>/dev/null && left+=("$p"); done
		[ ${#left[@]} -eq 0 ] && return 0
		sleep 0.1
	done
	kill -KILL "${left[@]}" 2>/dev/null
	return 0
}
cleanup() {
	local p live=()
	trap - INT TERM HUP
	[ -n "$QPID" ] && stop "$QPID"
	for p in "${PIDS[@]:-}"; do [ -n "$p" ] && live+=("$p"); done
	[ ${#live[@]} -gt 0 ] && stop "${live[@]}"
	mapfile -t live < <(ip netns pids "$NS" 2>/dev/null)
	[ ${#live[@]} -gt 0 ] && stop "${live[@]}"
	wait 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'echo "demo: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM HUP
fail() { echo "demo: FAILED: $*"; [ -f "$T/qnet.log" ] && { echo "qnet's log:"; cat "$T/qnet.log"; }; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
	echo "make demo needs root: it creates a network namespace and a tap device." >&2
	echo "Run it as root (for example: sudo make demo)." >&2
	exit 1
fi
need=()
command -v ip >/dev/null || need+=(iproute2)
command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
command -v busybox >/dev/null || need+=(busybox-static)
command -v curl >/dev/null || need+=(curl)
command -v socat >/dev/null || need+=(socat)
command -v tshark >/dev/null || need+=(tshark)
[ -x /usr/bin/python3 ] || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
	step "Installing what the demo needs: ${need[*]}"
	command -v apt-get >/dev/null || { echo "please install: ${need[*]}" >&2; exit 1; }
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" ||
		{ echo "could not install ${need[*]}: install them and run make demo again" >&2; exit 1; }
fi

step "1. The demo's own servers on the host's loopback: DNS (dnsmasq) and a web page"
# listening ADDR PORT - something listens on ADDR:PORT (UDP or TCP). A wildcard listener does not
# count: the bind tells, and the check below that the listener is ours.
listening() {
	[ -n "$(ss -Hlun "( sport = :$2 )" 2>/dev/null | awk -v a="$1:$2" '$4 == a')" ] ||
	[ -n "$(ss -Hltn "( sport = :$2 )" 2>/dev/null | awk -v a="$1:$2" '$4 == a')" ]
}
# The resolver's address: the first 127.53.N.1 nothing listens on (DEMO_DNS forces one).
DNS=${DEMO_DNS:-}
if [ -z "$DNS" ]; then
	for n in $(seq 1 64); do listening "127.53.$n.1" 53 || { DNS=127.53.$n.1; break; }; done
	[ -n "$DNS" ] || fail "no free 127.53.N.1:53 address for the demo's resolver"
fi
listening "$DNS" 53 && fail "$DNS:53 is already in use"
cat >"$T/resolv.conf" <<EOF
nameserver $DNS
EOF
# Started directly, not through run(): $! must be dnsmasq's pid, not a subshell's.
printf '$ dnsmasq --keep-in-foreground --listen-address=%s --port=53 %s\n' "$DNS" \
	"--address=/www.qnet.test/10.0.2.2 ..."
dnsmasq --keep-in-foreground --conf-file=/dev/null --user=root --no-resolv --no-hosts \
	--bind-interfaces --listen-address="$DNS" --port=53 --address=/www.qnet.test/10.0.2.2 \
	--address=/www.qnet.test/fec0::2 \
	--pid-file="$T/dnsmasq.pid" --log-facility=- 2>"$T/dnsmasq.log" &
DNSPID=$!
PIDS+=("$DNSPID")
# It started, it is ours (the pid that listens on $DNS:53), and it answers.
owner=
for _ in $(seq 50); do
	owner=$(ss -Hlunp "( sport = :53 )" 2>/dev/null | awk -v a="$DNS:53" '$4 == a' |
		sed -n 's/.*pid=\([0-9]*\).*/\1/p')
	[ -n "$owner" ] && break
	kill -0 "$DNSPID" 2>/dev/null || break
	sleep 0.1
done
if [ "$owner" != "$DNSPID" ]; then
	cat "$T/dnsmasq.log"
	fail "dnsmasq did not start on $DNS:53 (listener pid '$owner', ours $DNSPID)"
fi
answer=$(busybox nslookup www.qnet.test "$DNS" 2>&1)
grep -q '^Address: 10\.0\.2\.2$' <<<"$answer" || fail "the demo's dnsmasq on $DNS does not answer"
echo "resolver: dnsmasq pid $DNSPID on $DNS:53, answering"
mkdir -p "$T/www-host" "$T/www-guest"
echo "hello from the host's loopback" >"$T/www-host/index.html"
echo "hello from inside the namespace" >"$T/www-guest/index.html"
printf '$ python3 -m http.server --bind 127.0.0.1 %s\n' "$WEBPORT"
/usr/bin/python3 -m http.server --bind 127.0.0.1 --directory "$T/www-host" "$WEBPORT" \
	>/dev/null 2>&1 &
PIDS+=($!)
sleep 0.5

step "2. A namespace, $NS, with nothing in it but lo"
ip netns del "$NS" 2>/dev/null
run ip netns add "$NS"
run ip -n "$NS" link set lo up

step "3. qnet: a user-mode stack and the namespace's tap on hub 0, a port forward, a capture"
set -- -netdev user,id=u0,resolv-conf=$T/resolv.conf,hostfwd=tcp:127.0.0.1:$HOSTPORT-:80 \
	-netdev hubport,id=p0,hubid=0,netdev=u0 \
	-netdev tap,id=t0,netns=/var/run/netns/$NS,ifname=eth0,script=no,downscript=no \
	-netdev hubport,id=p1,hubid=0,netdev=t0 \
	-object filter-dump,id=cap,netdev=t0,file=$T/demo.pcap \
	-monitor unix:$T/monitor.sock,server=on,wait=off
printf '$ qnet'; printf ' %s' "$@"; printf '\n'
"$QNET" "$@" 2>"$T/qnet.log" &
QPID=$!
for _ in $(seq 50); do [ -S "$T/monitor.sock" ] && break; sleep 0.1; done
kill -0 "$QPID" 2>/dev/null && [ -S "$T/monitor.sock" ] || fail "qnet did not start"

step "4. DHCP: the namespace asks for an address (udhcpc, with a script of the demo's own)"
cat >"$T/udhcpc.sh" <<'EOF'
#!/bin/sh
# udhcpc script: configure eth0 in this namespace only; never touches /etc/resolv.conf
case "$1" in
bound|renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	for r in $router; do ip route add default via "$r" dev "$interface"; break; done
	echo "lease: ip=$ip mask=$mask router=$router dns=$dns domain=$domain lease=${lease}s" ;;
esac
EOF
chmod +x "$T/udhcpc.sh"
run ip netns exec "$NS" busybox udhcpc -i eth0 -n -q -t 5 -T 2 -s "$T/udhcpc.sh" 2>&1 |
	grep -v '^udhcpc: ' || true
run ip -n "$NS" -br addr show eth0
run ip -n "$NS" route
ip -n "$NS" -br addr show eth0 | grep -q 10.0.2.15 || fail "no DHCP lease"

step "5. DNS: the namespace resolves a name through the stack's DNS address 10.0.2.3"
run ip netns exec "$NS" busybox nslookup www.qnet.test 10.0.2.3 | grep -v '^$' ||
	fail "DNS lookup failed"

step "6. NAT: the namespace fetches the host's page through the gateway 10.0.2.2"
run ip netns exec "$NS" curl -sS --max-time 10 "http://10.0.2.2:$WEBPORT/" ||
	fail "fetch through 10.0.2.2 failed"
run ip netns exec "$NS" ping -c 2 -W 2 -i 0.3 10.0.2.2 | grep -E 'bytes from|packets' ||
	fail "ping 10.0.2.2 failed"

step "7. Port forward: the host fetches a page served inside the namespace"
printf '$ ip netns exec %s busybox httpd -f -p 80 -h www-guest\n' "$NS"
ip netns exec "$NS" busybox httpd -f -p 80 -h "$T/www-guest" &
PIDS+=($!)
sleep 0.5
run curl -sS --max-time 10 "http://127.0.0.1:$HOSTPORT/" || fail "fetch through the hostfwd failed"

step "8. qnet's monitor: info usernet, info network"
mon() { printf '%s\n' "$1" | socat -t 1 - UNIX-CONNECT:"$T/monitor.sock" | tr -d '\r' |
	sed -e '/^qnet .*monitor/d' -e '/^(qemu) *$/d' -e 's/^(qemu) //' | grep -vx "$1"; }
echo "(qemu) info usernet"; mon "info usernet"
echo "(qemu) info network"; mon "info network"

step "9. The capture of the namespace's port (filter-dump, pcap), read by tshark"
stop "$QPID"; wait "$QPID" 2>/dev/null; QPID=
echo "frames: $(tshark -r "$T/demo.pcap" 2>/dev/null | wc -l)," \
	"DHCP: $(tshark -r "$T/demo.pcap" -Y dhcp 2>/dev/null | wc -l)," \
	"DNS: $(tshark -r "$T/demo.pcap" -Y dns 2>/dev/null | wc -l)," \
	"HTTP: $(tshark -r "$T/demo.pcap" -Y http 2>/dev/null | wc -l)," \
	"ICMP: $(tshark -r "$T/demo.pcap" -Y icmp 2>/dev/null | wc -l)"
run tshark -r "$T/demo.pcap" -Y 'dhcp or dns' 2>/dev/null

step "10. Done: qnet stopped and its tap is gone with it"
ip -n "$NS" link show eth0 >/dev/null 2>&1 && fail "eth0 still exists in $NS"
echo "demo: the namespace got DHCP, DNS, NAT and a port forward through qnet"
