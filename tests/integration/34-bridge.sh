#!/bin/bash
# SPDX-License-Identifier: MIT
# 34-bridge.sh - -netdev bridge and -netdev tap,helper= through QEMU's qemu-bridge-helper: a namespace
# on qnet's hub pings the address of a kernel bridge (in a namespace of this test) that the helper
# attached qnet's tap to; the helper's ACL file is honoured.
#
# /etc/qemu/bridge.conf is created only if it does not exist, and removed at exit; nothing else on
# the host changes (the bridge, the taps and the addresses live in the namespaces).
set -u
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd ip ping
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"
HELPER=/usr/lib/qemu/qemu-bridge-helper
[ -x "$HELPER" ] || skip_all "no $HELPER (Debian's qemu-system-common)"
ACL=/etc/qemu/bridge.conf
BR=qbr$$
BR=${BR:0:15}

if [ -e "$ACL" ]; then
	grep -qx 'allow all' "$ACL" || skip_all "$ACL exists and does not allow all bridges: not touched"
else
	made_dir=
	[ -d /etc/qemu ] || { mkdir /etc/qemu && made_dir=1; }
	echo "allow $BR" >"$ACL"
	at_exit "rm -f $ACL; [ -n '$made_dir' ] && rmdir /etc/qemu"
fi

NB=qbr-host-$$	# the "host" with the bridge; qnet runs here
NG=qbr-ns-$$	# a namespace on qnet's hub
ns_create "$NB" || { not_ok "namespace $NB created"; finish; }
ns_create "$NG" || { not_ok "namespace $NG created"; finish; }
ip -n "$NB" link add "$BR" type bridge
ip -n "$NB" addr add 10.0.10.1/24 dev "$BR"
ip -n "$NB" link set "$BR" up

quiet() { "$@" >/dev/null 2>&1; }
bridge_ports() { ip -n "$NB" -o link show master "$BR" 2>/dev/null | wc -l; }

# try NAME NETDEV... - qnet in $NB: the helper's tap and a tap into $NG on hub 0; ping the bridge
try() {
	local name=$1; shift
	if LIB_NS=$NB qnet_start "$name" "$@" -netdev hubport,id=p0,hubid=0,netdev=b0 \
		-netdev tap,id=t1,netns=/var/run/netns/"$NG",ifname=eth0,script=no,downscript=no \
		-netdev hubport,id=p1,hubid=0,netdev=t1; then
		ok "$name: qnet starts with $*"
	else
		not_ok "$name: qnet starts with $*"
		return
	fi
	check "$name: the helper attached a tap to $BR" test "$(bridge_ports)" = 1
	wait_for 5 ip -n "$NG" link show eth0 >/dev/null 2>&1
	ip -n "$NG" addr add 10.0.10.2/24 dev eth0 2>/dev/null
	ip -n "$NG" link set eth0 up
	check "$name: $NG (on qnet's hub) pings the bridge's address" \
		wait_for 20 quiet ip netns exec "$NG" ping -q -c 1 -W 1 10.0.10.1
	check "$name: qnet exits with status 0 on SIGTERM" qnet_stop "$name" || qnet_log "$name"
	check "$name: the tap left the bridge with qnet" wait_for 5 test "$(bridge_ports)" = 0
}

try qb -netdev bridge,id=b0,br="$BR"
try qt -netdev tap,id=b0,helper="$HELPER",br="$BR"
try qs -netdev "bridge,id=b0,br=$BR,helper=$HELPER --use-vnet"

# the ACL: a bridge not allowed is refused (the helper fails, QEMU's text)
ip -n "$NB" link add qbrdeny type bridge
out=$(timeout 10 ip netns exec "$NB" "$QNET" -netdev bridge,id=b0,br=qbrdeny 2>&1)
check "a bridge the ACL does not allow: 'bridge helper failed'" \
	grep -q "^qnet: -netdev bridge,id=b0,br=qbrdeny: bridge helper failed$" <<<"$out"
check "and no tap was attached to it" test "$(ip -n "$NB" -o link show master qbrdeny | wc -l)" = 0
out=$("$QNET" -netdev bridge,id=b0,helper=/bin/false 2>&1)
check "helper=/bin/false: 'bridge helper failed'" \
	test "$out" = "qnet: -netdev bridge,id=b0,helper=/bin/false: bridge helper failed"
finish
