#!/bin/bash
# SPDX-License-Identifier: MIT
# 67-run.sh - `qnet [options] -- CMD`: CMD in its own user+network+mount namespace behind a
# -netdev user, as root and as an unprivileged user (nobody).
#
# CMD fetches from an HTTP server on the host side's loopback through 10.0.2.2, resolves a name
# through 10.0.2.3 against the test's own dnsmasq (resolv-conf= names it), and serves a port that
# hostfwd= forwards; its exit status and signals come back as qnet's; the host's /etc/resolv.conf
# is never changed. qnet, dnsmasq and the HTTP server run in a namespace H the test creates (its
# 127.0.0.1 is ours alone); CMD's namespaces are made by qnet and die with it.
set -u
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd ip dnsmasq curl socat getent setpriv unshare timeout mknod
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"

H=qnr67h-$$
ns_create "$H" || { not_ok "namespace $H created"; finish; }
# shellcheck disable=SC2034 # read by lib.sh (in_ns, the port waits)
LIB_NS=$H
chmod 755 "$T"
mkdir -m 1777 "$T/out"
token=tok-$$-$RANDOM
host_resolv_before=$(sha256sum /etc/resolv.conf 2>/dev/null)
host_mounts_before=$(grep -c resolv.conf /proc/self/mountinfo)

# ---- the host side: dnsmasq on 127.0.0.1:53 and an HTTP server on 127.0.0.1:$hport ---------------
ip netns exec "$H" dnsmasq -k -C /dev/null -u root --no-resolv --no-hosts --bind-interfaces \
	--listen-address=127.0.0.1 --port=53 --address=/run.qnet.test/10.99.0.5 \
	--log-queries --log-facility="$T/dns.log" --pid-file="$T/dns.pid" </dev/null >"$T/dns.out" 2>&1 &
bg_track $!
check "dnsmasq on 127.0.0.1:53 in $H" \
	wait_for 10 bash -c "ip netns exec $H ss -Hlun 'src 127.0.0.1:53' | grep -q ."
mkdir -m 755 "$T/www"
echo "$token" >"$T/www/token.txt"
chmod 644 "$T/www/token.txt"
hport=18067
ip netns exec "$H" "$PY" -m http.server "$hport" --bind 127.0.0.1 --directory "$T/www" \
	</dev/null >"$T/http.log" 2>&1 &
bg_track $!
check "HTTP server on 127.0.0.1:$hport in $H" wait_tcp_listen "$hport"
printf 'nameserver 127.0.0.1\n' >"$T/resolv.conf"
chmod 644 "$T/resolv.conf"

# the commands CMD runs inside (writes its findings to $T/out/NAME.*)
cat >"$T/inside.sh" <<'EOF'
#!/bin/sh
# SPDX-License-Identifier: MIT
# inside.sh OUT HPORT - what CMD checks in its namespace
out=$1
cat /etc/resolv.conf >"$out.resolv"
cat /proc/self/uid_map >"$out.uidmap"
ip -4 -o addr show dev eth0 >"$out.addr"
ip -o link show dev eth0 >"$out.link"
ip route >"$out.route"
ip -o link show up >"$out.up"
curl -sS -m 10 "http://10.0.2.2:$2/token.txt" >"$out.http" 2>"$out.http.err"
getent ahostsv4 www.run.qnet.test >"$out.dns" 2>&1
exit 7
EOF
chmod 755 "$T/inside.sh"

# run_checks WHO OUT - the checks on what inside.sh saw
run_checks() {
	local who=$1 o=$2
	check "$who: eth0 has 10.0.2.15/24" grep -q 'inet 10\.0\.2\.15/24' "$o.addr"
	check "$who: default route via 10.0.2.2 dev eth0" grep -q '^default via 10\.0\.2\.2 dev eth0' "$o.route"
	check "$who: lo is up" grep -q ': lo:' "$o.up"
	check "$who: eth0 MTU 1500 (the stack's default)" grep -q 'mtu 1500 ' "$o.link"
	check "$who: /etc/resolv.conf inside is 'nameserver 10.0.2.3'" \
		test "$(cat "$o.resolv" 2>/dev/null)" = "nameserver 10.0.2.3"
	check "$who: HTTP through 10.0.2.2 reaches the host's 127.0.0.1:$hport" \
		test "$(cat "$o.http" 2>/dev/null)" = "$token"
	check "$who: www.run.qnet.test resolves through 10.0.2.3 to the test's dnsmasq (10.99.0.5)" \
		grep -q '^10\.99\.0\.5 ' "$o.dns"
}

# ---- 1. as root ------------------------------------------------------------------------------
ip netns exec "$H" timeout 60 "$QNET" -netdev "user,id=u0,resolv-conf=$T/resolv.conf" \
	-- "$T/inside.sh" "$T/out/root" "$hport" </dev/null >"$T/root.log" 2>&1
rc=$?
check "root: qnet exits with CMD's status 7 (got $rc)" test "$rc" = 7
run_checks root "$T/out/root"
check "root: uid map inside is the identity (0 0 4294967295)" \
	grep -qE '^ +0 +0 +4294967295$' "$T/out/root.uidmap"
check "dnsmasq saw the query for www.run.qnet.test" grep -q 'query\[A\] www.run.qnet.test' "$T/dns.log"
[ "$rc" = 7 ] || sed 's/^/#   /' "$T/root.log"

# ---- 2. as nobody (user namespace; /dev/net/tun as Debian ships it, 0666) ------------------------
# The machine's node may be 0600: a 0666 copy is bind-mounted over it in a mount namespace of the
# test's own, so nothing on the host changes.
mknod -m 666 "$T/tun" c 10 200
ip netns exec "$H" unshare -m sh -c 'mount --bind "$1" /dev/net/tun && shift && exec "$@"' sh \
	"$T/tun" setpriv --reuid=65534 --regid=65534 --clear-groups \
	timeout 60 "$QNET" -netdev "user,id=u0,resolv-conf=$T/resolv.conf" \
	-- "$T/inside.sh" "$T/out/nobody" "$hport" </dev/null >"$T/nobody.log" 2>&1
rc=$?
check "nobody: qnet exits with CMD's status 7 (got $rc)" test "$rc" = 7
run_checks nobody "$T/out/nobody"
check "nobody: inside, uid 0 is the user's own uid 65534 (uid_map '0 65534 1')" \
	grep -qE '^ +0 +65534 +1$' "$T/out/nobody.uidmap"
check "nobody: CMD's files belong to nobody on the host" \
	test "$(stat -c %u "$T/out/nobody.addr" 2>/dev/null)" = 65534
[ "$rc" = 7 ] || sed 's/^/#   /' "$T/nobody.log"

# ---- 3. hostfwd= reaches a server CMD runs; defaults (no -netdev user: user0) ---------------------
fport=18167
ip netns exec "$H" timeout 60 "$QNET" \
	-netdev "user,id=u0,resolv-conf=$T/resolv.conf,hostfwd=tcp:127.0.0.1:$fport-:8080" \
	-- sh -c "echo inside-$token | timeout 30 socat -u STDIN TCP-LISTEN:8080,reuseaddr" \
	</dev/null >"$T/fwd.log" 2>&1 &
qpid=$!
bg_track "$qpid"
fetch_fwd() {
	ip netns exec "$H" timeout 5 socat -u "TCP:127.0.0.1:$fport" STDOUT >"$T/fwd.out" 2>/dev/null
	grep -q "inside-$token" "$T/fwd.out"
}
check "hostfwd tcp:127.0.0.1:$fport-:8080 reaches CMD's server on 8080" wait_for 20 fetch_fwd
wait_for 10 bash -c "! kill -0 $qpid 2>/dev/null"
wait "$qpid"
rc=$?
check "qnet exits 0 once CMD (the one-shot server) has (got $rc)" test "$rc" = 0

ip netns exec "$H" timeout 30 "$QNET" -netdev "user,id=u9,mtu=9000,resolv-conf=$T/resolv.conf" \
	-- sh -c 'ip -o link show dev eth0' </dev/null >"$T/mtu.log" 2>&1
check "mtu=9000 of the user netdev is eth0's MTU" grep -q 'eth0: .* mtu 9000 ' "$T/mtu.log"
ip netns exec "$H" timeout 30 "$QNET" -- sh -c 'cat /etc/resolv.conf; ip -4 -o addr show eth0' \
	</dev/null >"$T/def.log" 2>&1
check "no -netdev user: a default one (10.0.2.15, DNS 10.0.2.3)" \
	bash -c "grep -q 'nameserver 10.0.2.3' '$T/def.log' && grep -q 'inet 10.0.2.15/24' '$T/def.log'"
ip netns exec "$H" timeout 30 "$QNET" -netdev "user,id=u1,net=192.168.76.0/24,resolv-conf=$T/resolv.conf" \
	-- sh -c 'cat /etc/resolv.conf; ip -4 -o addr show eth0; ip route' </dev/null >"$T/net.log" 2>&1
check "net=192.168.76.0/24: eth0 192.168.76.15/24, route via .2, DNS .3" \
	bash -c "grep -q 'nameserver 192.168.76.3' '$T/net.log' && grep -q 'inet 192.168.76.15/24' '$T/net.log' && grep -q 'default via 192.168.76.2' '$T/net.log'"

# ---- 4. status and signals -----------------------------------------------------------------------
ip netns exec "$H" timeout 30 "$QNET" -- sh -c 'kill -KILL $$' </dev/null >/dev/null 2>&1
rc=$?
check "CMD killed by SIGKILL: qnet exits 137 (got $rc)" test "$rc" = 137
ip netns exec "$H" "$QNET" -- sleep 30 </dev/null >"$T/sig.log" 2>&1 &
qpid=$!
bg_track "$qpid"
wait_for 10 bash -c "pgrep -P $qpid -x sleep >/dev/null"
kill -TERM "$qpid"
wait_for 10 bash -c "! kill -0 $qpid 2>/dev/null"
wait "$qpid"
rc=$?
check "SIGTERM to qnet is passed on to CMD: qnet exits 143 (got $rc)" test "$rc" = 143
out=$(timeout 30 "$QNET" -- /nonexistent/cmd 2>&1 </dev/null)
rc=$?
check "a missing CMD: exit 127 (got $rc)" test "$rc" = 127
check "a missing CMD: 'qnet: /nonexistent/cmd: No such file or directory' (got '$out')" \
	test "$out" = "qnet: /nonexistent/cmd: No such file or directory"
out=$(timeout 10 "$QNET" -- 2>&1)
rc=$?
check "'qnet --': exit 1, 'qnet: --: needs a command to run' (got $rc, '$out')" \
	test "$rc:$out" = "1:qnet: --: needs a command to run"
out=$(timeout 10 "$QNET" -daemonize -- true 2>&1)
rc=$?
check "-daemonize with --: refused (got $rc, '$out')" \
	test "$rc:$out" = "1:qnet: -daemonize: cannot be used with -- CMD"
out=$(timeout 10 "$QNET" -netdev user,id=u0,ipv4=off,ipv6=on -- true 2>&1)
rc=$?
check "ipv4=off: refused (got $rc, '$out')" \
	test "$rc:$out" = "1:qnet: --: -netdev user,id=u0: '--' needs IPv4 (ipv4=on)"

# ---- the host is untouched ---------------------------------------------------------------------
check "the host's /etc/resolv.conf is unchanged" test "$(sha256sum /etc/resolv.conf 2>/dev/null)" = "$host_resolv_before"
check "no resolv.conf mount appeared on the host" \
	test "$(grep -c resolv.conf /proc/self/mountinfo)" = "$host_mounts_before"
finish
