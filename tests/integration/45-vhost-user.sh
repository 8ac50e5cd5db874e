#!/bin/bash
# SPDX-License-Identifier: MIT
# 45-vhost-user.sh - QEMU 7.2 guests whose virtio-net rings qnet serves over vhost-user.
#
# qnet: -netdev user (hostfwd 127.0.0.1:HP -> guest :80) on hub 0 with two vhost-user netdevs
# (chardev servers on unix sockets). QEMU: memory-backend-memfd shared, -chardev socket client
# (reconnect=1), -netdev vhost-user, virtio-net-pci with vectors=0 (QEMU 7.2 under TCG crashes in
# msix_set_vector_notifiers otherwise).
#  1. guest g1 over vhost-user: DHCP lease, ping 10.0.2.2, HTTP fetch from the host's 127.0.0.1
#     through 10.0.2.2, hostfwd in (the host fetches g1's httpd), 100 MiB host->guest and
#     guest->host with matching sha256 (QNET_VU_MB to change), then reboot (a ring reset
#     mid-run) and DHCP + ping again after it.
#  2. QEMU killed (SIGKILL) and a new one started on the same socket: it works without
#     restarting qnet.
#  3. two vhost-user guests on the hub ping each other and move 10 MiB with equal sha256; then
#     a second qnet as the client (server=off,reconnect=1) of a QEMU whose chardev listens;
#     a 2-CPU guest with two queue pairs (queues=2, mq=on).
#  4. hostile front ends (tests/integration/lib/vhost_hostile.py): wrong sizes, bad fds,
#     overlapping/overflowing regions, regions past their file, rings outside memory,
#     descriptor loops and out-of-range indexes in a ring the client writes itself.
# qnet must stay up throughout, exit 0 on SIGTERM and (QNET=build/san/qnet) report nothing.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd qemu-system-x86_64 ss curl socat sha256sum
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
guest_build || { not_ok "guest image builds"; finish; }
MB=${QNET_VU_MB:-100}

# ---- host services ---------------------------------------------------------------------------------
token=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
mkdir -p "$T/www"
echo "qnet-page $token" >"$T/www/page.txt"
head -c $((MB * 1048576)) /dev/urandom >"$T/www/big.bin"
big_sum=$(sha256sum "$T/www/big.bin" | cut -d' ' -f1)
wp=$(free_port)
"$PY" -m http.server --bind 127.0.0.1 --directory "$T/www" "$wp" >"$T/http.log" 2>&1 &
bg_track $!
up=$(free_port)	# guest -> host upload sink: one connection, saved to a file
socat -u "TCP-LISTEN:$up,bind=127.0.0.1,reuseaddr" "OPEN:$T/upload.bin,creat,trunc" &
bg_track $!
wait_tcp_listen "$wp" 10 && wait_tcp_listen "$up" 10 ||
	{ not_ok "host services listen"; finish; }

# ---- qnet ------------------------------------------------------------------------------------------
hp=$(free_port)
if qnet_start q \
	-netdev "user,id=u0,hostfwd=tcp:127.0.0.1:$hp-:80" \
	-netdev hubport,id=p0,hubid=0,netdev=u0 \
	-chardev socket,id=c1,path="$T/vu1.sock",server=on,wait=off \
	-netdev vhost-user,id=v1,chardev=c1 \
	-netdev hubport,id=p1,hubid=0,netdev=v1 \
	-chardev socket,id=c2,path="$T/vu2.sock",server=on,wait=off \
	-netdev vhost-user,id=v2,chardev=c2 \
	-netdev hubport,id=p2,hubid=0,netdev=v2 \
	-chardev socket,id=c3,path="$T/vu3.sock",server=on,wait=off \
	-netdev vhost-user,id=v3,chardev=c3,queues=2 \
	-netdev hubport,id=p3,hubid=0,netdev=v3 \
	-monitor "unix:$T/mon,server=on,wait=off" &&
   wait_unix_socket "$T/vu1.sock" 10 && wait_unix_socket "$T/vu2.sock" 10 &&
   wait_tcp_listen "$hp" 10; then
	ok "qnet: user netdev and vhost-user netdevs on hub 0"
else
	not_ok "qnet: user netdev and vhost-user netdevs on hub 0"
	qnet_log q
	finish
fi
info=$(timeout 10 socat -t 2 - "UNIX-CONNECT:$T/mon" <<<"info network" 2>/dev/null | tr -d '\r')
if grep -q "v1: index=0,type=vhost-user,vhost-user0 to c1" <<<"$info"; then
	ok "info network shows the vhost-user netdev"
else
	not_ok "info network shows the vhost-user netdev"
	sed 's/^/#   /' <<<"$info"
fi

# vu_guest NAME SOCK SCRIPT [IP [MAC [APPEND]]] - a guest on vhost-user socket SOCK
vu_guest() {
	local name=$1 sock=$2 script=$3 ip=${4:-} mac=${5:-52:54:00:12:34:45} app=${6:-}
	GUEST_EXTRA=(-object "memory-backend-memfd,id=mem,size=${GUEST_MEM}M,share=on"
		-numa node,memdev=mem -chardev "socket,id=c0,path=$sock,reconnect=1"
		${GEXTRA[@]+"${GEXTRA[@]}"})
	guest_start "$name" "vhost-user,id=n0,chardev=c0" "$script" "$ip" "$mac" \
		"virtio-net-pci,vectors=0" "$app"
	local r=$?
	unset GUEST_EXTRA
	return $r
}

cat >"$T/g1.sh" <<'EOF2'
cat > /tmp/dhcp.sh <<'SCRIPT'
#!/bin/sh
case "$1" in
deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
bound|renew)
	ip addr flush dev "$interface"
	ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}" up
	ip route del default 2>/dev/null
	for r in $router; do ip route add default via "$r" dev "$interface"; break; done
	echo "ip=$ip" > /tmp/lease
	;;
esac
exit 0
SCRIPT
chmod +x /tmp/dhcp.sh
http_get() {
	printf 'GET /%s HTTP/1.0\r\nHost: 10.0.2.2\r\n\r\n' "$1" |
		timeout 20 nc -w 10 10.0.2.2 "$QNET_WP" > "$2" 2>/dev/null
	head -1 "$2" | grep -q ' 200 '
}
check dhcp-lease timeout 60 udhcpc -i eth0 -s /tmp/dhcp.sh -f -q -n -t 10 -T 2 || exit 1
. /tmp/lease
# the host creates done-g1 once it fetched our page: then this is the boot after the reboot
if http_get done-g1 /tmp/done; then round=2; else round=1; fi
mark "ip$round" "$ip"
check "ping-10.0.2.2-$round" ping_all 10.0.2.2 3
check "http-get-page-$round" eval 'retry 3 http_get page.txt /tmp/page && grep -qx "qnet-page $QNET_TOKEN" /tmp/page'
[ "$round" = 2 ] && exit 0
mkdir -p /www
echo "qnet-guest $ip $QNET_TOKEN" > /www/index.html
check httpd-start httpd -p 80 -h /www
mark httpd-ready "$ip"
t0=$(cut -d' ' -f1 /proc/uptime)
sum=$(timeout 900 nc -w 30 10.0.2.2 "$QNET_DP" | sha256sum | cut -d' ' -f1)
t1=$(cut -d' ' -f1 /proc/uptime)
mark down-sha256 "$sum"
mark down-seconds "$(echo "$t0 $t1" | awk '{print $2 - $1}')"
dd if=/dev/urandom of=/tmp/chunk bs=1048576 count=4 2>/dev/null
chunks() { i=0; while [ $i -lt $((QNET_MB / 4)) ]; do cat /tmp/chunk; i=$((i + 1)); done; }
mark up-sha256 "$(chunks | sha256sum | cut -d' ' -f1)"
t0=$(cut -d' ' -f1 /proc/uptime)
chunks | timeout 900 nc -w 30 10.0.2.2 "$QNET_UP"
t1=$(cut -d' ' -f1 /proc/uptime)
mark up-seconds "$(echo "$t0 $t1" | awk '{print $2 - $1}')"
check host-fetched retry 60 http_get done-g1 /tmp/done
# reboot with traffic in flight: a download runs while the ring is reset
nc -w 30 10.0.2.2 "$QNET_DP" > /dev/null &
sleep 1
say "QNET-REBOOTING"
echo b > /proc/sysrq-trigger
EOF2

dp=$(free_port)
socat -U "TCP-LISTEN:$dp,bind=127.0.0.1,reuseaddr,fork" "OPEN:$T/www/big.bin,rdonly" &
bg_track $!
wait_tcp_listen "$dp" 10 || not_ok "download server listens"

# ---- 1. one guest: DHCP, ping, fetch, hostfwd, 100 MiB each way, reboot -----------------------------
GUEST_TIMEOUT=900
GEXTRA=(-action reboot=reset)
start=$(date +%s)
vu_guest g1 "$T/vu1.sock" "$T/g1.sh" "" 52:54:00:12:34:45 \
	"qnet.wp=$wp qnet.token=$token qnet.dp=$dp qnet.up=$up qnet.mb=$MB" || not_ok "QEMU guest g1 starts"
if guest_wait g1 '^QNET-MARK httpd-ready ' 240; then
	ip=$(guest_mark g1 ip1)
	out=$(curl -s --max-time 10 --retry 3 --retry-connrefused "http://127.0.0.1:$hp/") || true
	if [ "$out" = "qnet-guest $ip $token" ]; then
		ok "hostfwd 127.0.0.1:$hp -> g1 ($ip):80 over vhost-user"
	else
		not_ok "hostfwd 127.0.0.1:$hp -> g1 ($ip):80 over vhost-user (got '${out:0:80}')"
	fi
else
	not_ok "g1 got a lease and serves (vhost-user)"
fi
: >"$T/www/done-g1"
if guest_wait g1 '^QNET-REBOOTING' 900; then
	d=$(guest_mark g1 down-sha256); u=$(guest_mark g1 up-sha256)
	check "$MB MiB host->guest, sha256 equal ($(guest_mark g1 down-seconds)s)" test "$d" = "$big_sum"
	us=$(sha256sum "$T/upload.bin" | cut -d' ' -f1)
	check "$MB MiB guest->host, sha256 equal ($(guest_mark g1 up-seconds)s)" test "$u" = "$us"
	check "guest->host size" test "$(stat -c %s "$T/upload.bin")" = $((MB / 4 * 4194304))
else
	not_ok "g1 finished the transfers and rebooted"
fi
guest_wait_exit g1 300 || not_ok "g1 powered off after its second boot"
guest_checks g1
check "g1's second boot ran (ring reset and set up again)" test -n "$(guest_mark g1 ip2)"
check "qnet still running after g1" qnet_alive q


# ---- 2. a killed QEMU, and a new one on the same socket ------------------------------------------
cat >"$T/g3.sh" <<'EOF2'
mark alive 1
sleep 300
EOF2
GEXTRA=()
vu_guest g3 "$T/vu2.sock" "$T/g3.sh" 10.0.9.11/24 52:54:00:12:34:46 || not_ok "QEMU guest g3 starts"
if guest_wait g3 '^QNET-GUEST-READY' 180; then
	sleep 2
	# the pid file holds timeout's pid: QEMU is its child
	pkill -KILL -P "$(cat "$T/g3.qemu.pid")" 2>/dev/null
	guest_wait_exit g3 10
	ok "QEMU of g3 killed (SIGKILL) while its rings ran"
else
	not_ok "g3 booted"
fi
check "qnet still running after a killed QEMU" qnet_alive q

# ---- 3. two vhost-user guests on the hub: the restarted one (same socket) and a new one -----------
PAIR_MB=10
GEXTRA=()
vu_guest ga "$T/vu2.sock" "$ROOT/tests/guest/pair.sh" 10.0.9.11/24 52:54:00:12:34:11 \
	"qnet.role=send qnet.peer=10.0.9.12 qnet.mb=$PAIR_MB" || not_ok "QEMU guest ga starts (restart on vu2)"
vu_guest gb "$T/vu1.sock" "$ROOT/tests/guest/pair.sh" 10.0.9.12/24 52:54:00:12:34:12 \
	"qnet.role=recv qnet.peer=10.0.9.11 qnet.mb=$PAIR_MB" || not_ok "QEMU guest gb starts"
pair_finish 300 || qnet_log q
check "qnet still running after the pair" qnet_alive q

# ---- 3b. qnet as the client (server=off,reconnect=1) of a QEMU that listens ---------------------
cat >"$T/g5.sh" <<'EOF2'
check ping-10.0.9.1 ping_all 10.0.9.1 3
EOF2
# QEMU's vhost-user netdev waits for its server socket's first client before the guest boots
GUEST_EXTRA=(-object "memory-backend-memfd,id=mem,size=${GUEST_MEM}M,share=on"
	-numa node,memdev=mem -chardev "socket,id=c0,path=$T/qs.sock,server=on,wait=off")
guest_start g5 "vhost-user,id=n0,chardev=c0" "$T/g5.sh" 10.0.9.2/24 52:54:00:12:34:47 \
	"virtio-net-pci,vectors=0" || not_ok "QEMU guest g5 (vhost-user server) starts"
unset GUEST_EXTRA
wait_unix_socket "$T/qs.sock" 20
# a second qnet connects to QEMU; the guest pings its user stack's gateway (net=10.0.9.0/24)
if qnet_start q2 -netdev user,id=u9,net=10.0.9.0/24,host=10.0.9.1 \
	-netdev hubport,id=p9,hubid=0,netdev=u9 \
	-chardev socket,id=c9,path="$T/qs.sock",server=off,reconnect=1 \
	-netdev vhost-user,id=v9,chardev=c9 -netdev hubport,id=p10,hubid=0,netdev=v9; then
	guest_wait_exit g5 180 || not_ok "g5 powered off"
	guest_checks g5
	check "qnet (client side) still running" qnet_alive q2
	if qnet_stop q2; then ok "qnet (client side) exits with status 0"; else not_ok "qnet (client side) exits with status 0"; fi
else
	not_ok "a qnet with a vhost-user client chardev starts"
fi

# ---- 3c. two queue pairs (queues=2, a 2-CPU guest with mq=on) -------------------------------------
cat >"$T/g6.sh" <<'EOF2'
ls /sys/class/net/eth0/queues/
check two-rx-queues test "$(ls /sys/class/net/eth0/queues | grep -c rx-)" = 2
check ping-mq ping_all 10.0.2.2 5
check ping-flood eval 'ping -c 200 -A -w 20 10.0.2.2 | grep -q " 0% packet loss"'
EOF2
GUEST_EXTRA=(-object "memory-backend-memfd,id=mem,size=${GUEST_MEM}M,share=on"
	-numa node,memdev=mem -chardev "socket,id=c0,path=$T/vu3.sock" -smp 2)
guest_start g6 "vhost-user,id=n0,chardev=c0,queues=2" "$T/g6.sh" 10.0.2.20/24 52:54:00:12:34:48 \
	"virtio-net-pci,mq=on,vectors=0" || not_ok "QEMU guest g6 (queues=2) starts"
unset GUEST_EXTRA
guest_wait_exit g6 180 || not_ok "g6 powered off"
guest_checks g6

# ---- 4. hostile front ends ------------------------------------------------------------------------
if timeout 300 "$PY" "$ROOT/tests/integration/lib/vhost_hostile.py" "$T/vu3.sock" >"$T/hostile.out" 2>&1; then
	ok "hostile front end: $(grep -c '^ok' "$T/hostile.out") checks passed"
else
	not_ok "hostile front end"
	grep -v '^ok' "$T/hostile.out" | sed 's/^/#   /' | tail -30
fi
check "qnet still running after the hostile front ends" qnet_alive q
if grep -q "ring 1 broken" "$T/q.log"; then ok "qnet logged the broken rings"; else not_ok "qnet logged the broken rings"; fi
info=$(timeout 10 socat -t 2 - "UNIX-CONNECT:$T/mon" <<<"info netstats" 2>/dev/null | tr -d '\r')
sed 's/^/#   /' <<<"$info"
if qnet_stop q; then ok "qnet exits with status 0 on SIGTERM"; else not_ok "qnet exits with status 0 on SIGTERM"; fi
if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/q.log"; then
	not_ok "no sanitizer report in qnet's log"
	qnet_log q | grep -A20 Sanitizer | head -40
else
	ok "no sanitizer report in qnet's log"
fi
finish
