#!/bin/bash
# SPDX-License-Identifier: MIT
# 69-rootlesskit.sh - RootlessKit (Debian's rootlesskit) with --net=slirp4netns and
# --slirp4netns-binary pointing at qnet's slirp4netns symlink.
#
# The command RootlessKit runs fetches from the test's HTTP server through 10.0.2.2 and serves a
# port that RootlessKit publishes with its slirp4netns port driver (-p, through qnet's API socket).
# RootlessKit runs as root here (it warns that this is unsupported, but it works): it needs
# /etc/subuid and /etc/subgid ranges for root, which it gets from files the test writes,
# bind-mounted over the host's in a mount namespace of the test's own (the host's files are not
# touched). Everything runs in a namespace H the test creates (its 127.0.0.1 is the test's alone).
set -u
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd ip rootlesskit unshare socat curl timeout
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"
mkdir "$T/bin"
ln -s "$QNET" "$T/bin/slirp4netns"
echo "root:100000:65536" >"$T/subid"

H=qnk69h-$$
ns_create "$H" || { not_ok "namespace $H created"; finish; }
# shellcheck disable=SC2034 # read by lib.sh (in_ns, the port waits)
LIB_NS=$H
token=tok-$$-$RANDOM
mkdir "$T/www"
echo "$token" >"$T/www/token.txt"
hport=18069
ip netns exec "$H" "$PY" -m http.server "$hport" --bind 127.0.0.1 --directory "$T/www" \
	</dev/null >"$T/http.log" 2>&1 &
bg_track $!
check "HTTP server on 127.0.0.1:$hport in $H" wait_tcp_listen "$hport"

cat >"$T/inside.sh" <<'EOF'
#!/bin/sh
# SPDX-License-Identifier: MIT
# inside.sh OUT HPORT TOKEN - what runs inside RootlessKit
ip -4 -o addr show dev tap0 >"$1.addr" 2>&1
ip -o link show dev tap0 >"$1.link" 2>&1
ip route >"$1.route" 2>&1
curl -sS -m 10 "http://10.0.2.2:$2/token.txt" >"$1.http" 2>&1
echo "fwd-$3" | timeout 20 socat -u STDIN TCP-LISTEN:80,reuseaddr
exit 5
EOF
chmod 755 "$T/inside.sh"

pport=18169
ip netns exec "$H" unshare -m sh -c \
	'mount --bind "$1" /etc/subuid && mount --bind "$1" /etc/subgid && shift && exec "$@"' sh \
	"$T/subid" timeout 60 rootlesskit --net=slirp4netns --slirp4netns-binary="$T/bin/slirp4netns" \
	--disable-host-loopback=false --port-driver=slirp4netns -p "127.0.0.1:$pport:80/tcp" \
	"$T/inside.sh" "$T/in" "$hport" "$token" </dev/null >"$T/rk.log" 2>&1 &
rk=$!
bg_track "$rk"
fetch_pub() {
	ip netns exec "$H" timeout 5 socat -u "TCP:127.0.0.1:$pport" STDOUT 2>/dev/null |
		grep -q "fwd-$token"
}
check "-p 127.0.0.1:$pport:80/tcp (RootlessKit's slirp4netns port driver, qnet's API) reaches the server inside" \
	wait_for 30 fetch_pub
wait_for 20 bash -c "! kill -0 $rk 2>/dev/null"
wait "$rk"
rc=$?
check "rootlesskit exits with the command's status 5 (got $rc)" test "$rc" = 5
check "inside: tap0 10.0.2.100/24" grep -q 'inet 10\.0\.2\.100/24' "$T/in.addr"
check "inside: tap0 MTU 65520 (RootlessKit's --mtu default, passed as --mtu)" grep -q 'mtu 65520 ' "$T/in.link"
check "inside: default via 10.0.2.2" grep -q '^default via 10\.0\.2\.2 dev tap0' "$T/in.route"
check "inside: HTTP through 10.0.2.2 reaches 127.0.0.1:$hport in $H" \
	test "$(cat "$T/in.http" 2>/dev/null)" = "$token"
if [ "$rc" != 5 ]; then sed 's/^/#   /' "$T/rk.log" | tail -20; fi
finish
