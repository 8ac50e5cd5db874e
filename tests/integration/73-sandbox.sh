#!/bin/bash
# SPDX-License-Identifier: MIT
# 73-sandbox.sh - -sandbox on: after set-up qnet has no capabilities (CapEff 0, even as root),
# no_new_privs and a seccomp filter; it keeps working (DHCP, NAT, hostfwd, DNS, the monitor,
# run-time netdev_add/netdev_del, a clean exit); a forbidden system call (the hidden x-violate=on)
# kills it with SIGSYS; combinations that need fork/exec later are refused up front.
# Traffic: a namespace G behind -netdev user, servers on 127.0.0.1 in a namespace H the test made.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/user_lib.sh"
need_root
need_cmd ip udhcpc curl socat timeout
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"

H=qnx73h-$$
G=qnx73g-$$
ns_create "$H" || { not_ok "namespace $H created"; finish; }
ns_create "$G" || { not_ok "namespace $G created"; finish; }
# shellcheck disable=SC2034 # read by lib.sh (qnet_start, host_bg, the port waits)
LIB_NS=$H
mkdir "$T/www"
echo "hello sandboxed" >"$T/www/index.html"
HTTP=18073
host_bg "$T/http.log" "$PY" "$USER_LIB/user_tool.py" http "$HTTP" 127.0.0.1 "$T/www"
check "HTTP server on 127.0.0.1:$HTTP in $H" wait_tcp_listen "$HTTP"

# qnet: user + tap in G (downscript=no, from user_lib), monitor, a hostfwd, sandbox on
FWD=18173
if user_start q "$G" "hostfwd=tcp:127.0.0.1:$FWD-10.0.2.15:8080" -sandbox on; then
	ok "qnet starts with -sandbox on"
else
	not_ok "qnet starts with -sandbox on"; qnet_log q; finish
fi
pid=$(qnet_pid q)
st=/proc/$pid/status
check "CapEff is 0 ($(awk '/^CapEff/ { print $2 }' "$st"))" \
	test "$(awk '/^CapEff/ { print $2 }' "$st")" = 0000000000000000
check "CapPrm and CapBnd are 0 too" \
	bash -c "awk '/^CapPrm|^CapBnd/ { print \$2 }' $st | grep -qv '^0000000000000000$' && exit 1 || exit 0"
check "NoNewPrivs 1" grep -qE '^NoNewPrivs:\s+1$' "$st"
check "Seccomp 2 (filter)" grep -qE '^Seccomp:\s+2$' "$st"

if ns_dhcp "$G"; then ok "DHCP under the sandbox"; else not_ok "DHCP under the sandbox"; fi
r=$(timeout 30 ip netns exec "$G" curl -sS --max-time 20 "http://10.0.2.2:$HTTP/index.html" 2>&1)
check "TCP NAT: curl 10.0.2.2:$HTTP from $G ('$r')" test "$r" = "hello sandboxed"
ip netns exec "$G" timeout 20 socat -u "SYSTEM:echo fwd-ok" TCP-LISTEN:8080,reuseaddr \
	</dev/null >/dev/null 2>&1 &
bg_track $!
fetch_fwd() { ip netns exec "$H" timeout 5 socat -u "TCP:127.0.0.1:$FWD" STDOUT 2>/dev/null | grep -q fwd-ok; }
check "hostfwd 127.0.0.1:$FWD -> 10.0.2.15:8080" wait_for 15 fetch_fwd
out=$(hmp q "info network")
check "monitor: info network answers" grep -q "u0" <<<"$out"
hmp q "netdev_add socket,id=s9,listen=127.0.0.1:18273" >/dev/null
out=$(hmp q "info network")
check "monitor: run-time netdev_add of a socket netdev" grep -q "s9" <<<"$out"
hmp q "netdev_del s9" >/dev/null
out=$(hmp q "info network")
check "monitor: netdev_del" bash -c "! grep -q s9 <<<'$out'"
check "still alive after all that" qnet_alive q
qnet_stop q
rc=$?
check "SIGTERM: clean exit 0 under the sandbox (got $rc)" test "$rc" = 0
check "no 'Bad system call' in the log" bash -c "! grep -qi 'bad system call' '$T/q.log'"

# ---- a forbidden call kills it ----------------------------------------------------------------------
ip netns exec "$H" timeout 20 "$QNET" -netdev user,id=u -sandbox on,x-violate=on \
	</dev/null >"$T/v.log" 2>&1
rc=$?
check "x-violate=on: killed by SIGSYS, status 159 (got $rc)" test "$rc" = 159
check "x-violate=on: it did try (log)" grep -q "x-violate" "$T/v.log"

# ---- -sandbox off, errors -----------------------------------------------------------------------------
ip netns exec "$H" "$QNET" -netdev user,id=u -sandbox off </dev/null >"$T/off.log" 2>&1 &
opid=$!
bg_track "$opid"
sleep 0.5
check "-sandbox off (root): CapEff is not 0" \
	bash -c "! grep -qE '^CapEff:\s+0000000000000000$' /proc/$opid/status"
kill "$opid"
wait "$opid" 2>/dev/null
out=$("$QNET" -sandbox bogus 2>&1)
check "-sandbox bogus: QEMU's text ('$out')" \
	test "$out" = "qnet: -sandbox bogus: Parameter 'enable' expects 'on' or 'off'"
out=$("$QNET" -sandbox on,spawn=deny 2>&1)
check "-sandbox on,spawn=deny: not supported ('$out')" \
	test "$out" = "qnet: -sandbox on,spawn=deny: Invalid parameter 'spawn'"
out=$("$QNET" -sandbox on -netdev tap,id=t,ifname=qnx73t 2>&1)
check "-sandbox on with a tap down-script: refused ('$out')" \
	grep -q "a tap down-script cannot run sandboxed" <<<"$out"
out=$("$QNET" -sandbox on -netdev "user,id=u,guestfwd=tcp:10.0.2.100:80-cmd:cat" 2>&1)
check "-sandbox on with guestfwd cmd:: refused ('$out')" grep -q "cannot run sandboxed" <<<"$out"
finish
