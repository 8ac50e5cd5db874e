#!/bin/bash
# SPDX-License-Identifier: MIT
# vhost-bench.sh: one QEMU 7.2 test guest moving data to and from a host server, over three paths
# in one run, each with qnet's or QEMU's user-mode NAT in front of the host's 127.0.0.1:
#   vhost-user  the guest's virtio-net rings served by qnet (-netdev vhost-user), qnet -netdev user
#   stream      QEMU -netdev stream to qnet over a unix socket, qnet -netdev user
#   qemu-user   QEMU's own -netdev user (libslirp), no qnet
# The guest (tests/guest, TCG unless QNET_GUEST_ACCEL=kvm) fetches MB MiB from a socat server on
# 127.0.0.1 through 10.0.2.2 (down) and sends MB MiB to another (up), timing each in the guest;
# the rate is MiB moved / guest seconds, in Gbit/s, with the ratios of vhost-user to the others.
# Under TCG the guest's CPU is the bottleneck; the ratios still show the transport's share.
#
# Environment: MB [100], PATHS ["vhost-user stream qemu-user"], QNET [build/qnet],
# QNET_GUEST_ACCEL [tcg]. Needs root (tests/lib.sh), qemu-system-x86_64, socat.
# Traffic stays on this machine: the servers listen on 127.0.0.1 only.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
QNET=${QNET:-$ROOT/build/qnet}
MB=${MB:-100}
PATHS=${PATHS:-"vhost-user stream qemu-user"}
# shellcheck source=tests/lib.sh
. "$ROOT/tests/lib.sh"
need_root
need_cmd qemu-system-x86_64 socat
[ -x "$QNET" ] || { echo "bench: $QNET missing (make first)"; exit 1; }
cp "$QNET" "$T/qnet" && QNET=$T/qnet	# the tree may be rebuilt meanwhile
guest_build || { echo "bench: the guest image does not build"; exit 1; }
GUEST_TIMEOUT=1200

head -c $((MB * 1048576)) /dev/urandom >"$T/data.bin"
dp=$(free_port)
up=$(free_port)
socat -U "TCP-LISTEN:$dp,bind=127.0.0.1,reuseaddr,fork" "OPEN:$T/data.bin,rdonly" &
bg_track $!
socat -u "TCP-LISTEN:$up,bind=127.0.0.1,reuseaddr,fork" "OPEN:/dev/null" &
bg_track $!
wait_tcp_listen "$dp" 10 && wait_tcp_listen "$up" 10 || { echo "bench: servers"; exit 1; }

cat >"$T/bench.sh" <<'EOF2'
cat > /tmp/dhcp.sh <<'SCRIPT'
#!/bin/sh
case "$1" in
bound|renew)
	ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}" up
	for r in $router; do ip route add default via "$r" dev "$interface"; break; done ;;
esac
exit 0
SCRIPT
chmod +x /tmp/dhcp.sh
check dhcp timeout 60 udhcpc -i eth0 -s /tmp/dhcp.sh -f -q -n -t 10 -T 2 || exit 1
t0=$(cut -d' ' -f1 /proc/uptime)
n=$(timeout 1000 nc -w 30 10.0.2.2 "$QNET_DP" | wc -c)
t1=$(cut -d' ' -f1 /proc/uptime)
mark down "$n $(echo "$t0 $t1" | awk '{print $2 - $1}')"
t0=$(cut -d' ' -f1 /proc/uptime)
head -c $((QNET_MB * 1048576)) /dev/zero | timeout 1000 nc -w 30 10.0.2.2 "$QNET_UP"
t1=$(cut -d' ' -f1 /proc/uptime)
mark up "$(echo "$t0 $t1" | awk '{print $2 - $1}')"
EOF2

declare -A down_g up_g
for p in $PATHS; do
	args=(qnet.dp=$dp qnet.up=$up qnet.mb=$MB)
	unset GUEST_EXTRA
	case $p in
	vhost-user)
		qnet_start q-$p -netdev user,id=u0 -netdev hubport,id=p0,hubid=0,netdev=u0 \
			-chardev socket,id=c0,path="$T/vu.sock",server=on,wait=off \
			-netdev vhost-user,id=v0,chardev=c0 -netdev hubport,id=p1,hubid=0,netdev=v0 || exit 1
		GUEST_EXTRA=(-object "memory-backend-memfd,id=mem,size=${GUEST_MEM}M,share=on"
			-numa node,memdev=mem -chardev "socket,id=c0,path=$T/vu.sock")
		nd="vhost-user,id=n0,chardev=c0"; nic="virtio-net-pci,vectors=0" ;;
	stream)
		qnet_start q-$p -netdev user,id=u0 -netdev hubport,id=p0,hubid=0,netdev=u0 \
			-netdev stream,id=s0,server=on,addr.type=unix,addr.path="$T/st.sock" \
			-netdev hubport,id=p1,hubid=0,netdev=s0 || exit 1
		wait_unix_socket "$T/st.sock" 10
		nd="stream,id=n0,server=off,addr.type=unix,addr.path=$T/st.sock"; nic=virtio-net-pci ;;
	qemu-user)
		nd="user,id=n0"; nic=virtio-net-pci ;;
	*) echo "bench: unknown path $p"; exit 1 ;;
	esac
	guest_start "b-$p" "$nd" "$T/bench.sh" "" 52:54:00:12:34:77 "$nic" "${args[*]}" || exit 1
	guest_wait_exit "b-$p" 1200 || echo "bench: $p: the guest did not finish"
	read -r n ds <<<"$(guest_mark "b-$p" down)"
	us=$(guest_mark "b-$p" up)
	if [ "${n:-0}" = $((MB * 1048576)) ] && [ -n "$us" ]; then
		down_g[$p]=$(awk -v m="$MB" -v s="$ds" 'BEGIN { printf "%.3f", m * 8 * 1048576 / s / 1e9 }')
		up_g[$p]=$(awk -v m="$MB" -v s="$us" 'BEGIN { printf "%.3f", m * 8 * 1048576 / s / 1e9 }')
	else
		echo "bench: $p: transfer incomplete (down ${n:-0} bytes)"
		guest_serial "b-$p" | tail -5
	fi
	[ "$p" != qemu-user ] && qnet_stop "q-$p"
done

echo
echo "vhost-bench: $MB MiB each way, guest accel $GUEST_ACCEL, Gbit/s (guest-timed)"
printf '%-12s %10s %10s\n' path down up
for p in $PATHS; do
	printf '%-12s %10s %10s\n' "$p" "${down_g[$p]:-fail}" "${up_g[$p]:-fail}"
done
v=vhost-user
for p in $PATHS; do
	[ "$p" = $v ] && continue
	[ -n "${down_g[$v]:-}" ] && [ -n "${down_g[$p]:-}" ] || continue
	printf 'ratio %s/%s: down %.2f  up %.2f\n' $v "$p" \
		"$(awk -v a="${down_g[$v]}" -v b="${down_g[$p]}" 'BEGIN { print a / b }')" \
		"$(awk -v a="${up_g[$v]}" -v b="${up_g[$p]}" 'BEGIN { print a / b }')"
done
exit 0
