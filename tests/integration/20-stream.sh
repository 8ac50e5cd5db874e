#!/bin/bash
# SPDX-License-Identifier: MIT
# 20-stream.sh - -netdev stream with Python peers that speak QEMU's framing (no QEMU needed).
#
# Checks: a unix and a tcp stream server on one hub exchange frames both ways; QEMU 7.2's
# info_str while connected and after; the server listens again after a disconnect; the hubid=
# server with three clients that all reach each other (and frees their clients when they go);
# a qnet stream client (reconnect-ms) reaching another qnet's server and reconnecting after it
# restarts; QEMU's option errors; the unix socket file is removed at exit.
set -u
. "$(dirname "$0")/../lib.sh"
need_cmd ss socat
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
FR="$PY $ROOT/tests/integration/lib/framing.py"

# hmp SOCK CMD - one monitor command, its output
hmp() { (echo "$2"; sleep 0.3) | timeout 5 socat - UNIX-CONNECT:"$1" 2>/dev/null | tr -d '\r'; }

# ---- two servers on hub 0, one unix and one tcp ----
pt=$(free_port)
if qnet_start q -netdev stream,id=a,server=on,addr.type=unix,addr.path="$T/a.sock" \
	-netdev stream,id=b,server=on,addr.type=inet,addr.host=127.0.0.1,addr.port="$pt" \
	-netdev hubport,id=pa,hubid=0,netdev=a -netdev hubport,id=pb,hubid=0,netdev=b \
	-monitor unix:"$T/mon",server=on,wait=off &&
   wait_unix_socket "$T/a.sock" && wait_tcp_listen "$pt" && wait_unix_socket "$T/mon"; then
	ok "qnet listens on $T/a.sock and 127.0.0.1:$pt"
else
	not_ok "qnet listens on $T/a.sock and 127.0.0.1:$pt"; qnet_log q; finish
fi

out=$(hmp "$T/mon" "info network")
check "listening servers have an empty info_str (QEMU 7.2)" \
	grep -q "a: index=0,type=stream,$" <<<"$out"

check "unix and tcp clients exchange 200 frames each way through the hub" \
	timeout 60 $FR mesh --count 200 --size 200 unix:"$T/a.sock" tcp:127.0.0.1:"$pt"

# hold both connections and look at info network
timeout 20 $FR hold unix:"$T/a.sock" 3 & h1=$!; bg_track $h1
timeout 20 $FR hold tcp:127.0.0.1:"$pt" 3 & h2=$!; bg_track $h2
sleep 1
out=$(hmp "$T/mon" "info network")
check "unix server info_str is the local address (unix:PATH)" \
	grep -qF "a: index=0,type=stream,unix:$T/a.sock" <<<"$out"
check "tcp server info_str is the peer address (tcp:127.0.0.1:PORT)" \
	grep -qE "b: index=0,type=stream,tcp:127\.0\.0\.1:[0-9]+$" <<<"$out"
wait $h1 $h2 2>/dev/null
sleep 0.5
out=$(hmp "$T/mon" "info network")
check "info_str is cleared after the client leaves" \
	grep -q "b: index=0,type=stream,$" <<<"$out"
check "the servers accept again after a disconnect (second exchange)" \
	timeout 60 $FR mesh --count 50 unix:"$T/a.sock" tcp:127.0.0.1:"$pt"
check "qnet is still running" qnet_alive q

qnet_stop q
check "qnet exits cleanly on SIGTERM" [ $? -eq 0 ]
check "the unix socket file qnet created is removed at exit" test ! -e "$T/a.sock"

# ---- hubid= server: any number of clients, each on its own hub port ----
if qnet_start m -netdev stream,id=m,server=on,hubid=5,addr.type=unix,addr.path="$T/m.sock" \
	-monitor unix:"$T/mon2",server=on,wait=off && wait_unix_socket "$T/m.sock" &&
   wait_unix_socket "$T/mon2"; then
	ok "hubid=5 server listens"
else
	not_ok "hubid=5 server listens"; qnet_log m; finish
fi
check "three clients of one hubid= server all reach each other" \
	timeout 60 $FR mesh --count 100 unix:"$T/m.sock" unix:"$T/m.sock" unix:"$T/m.sock"
timeout 20 $FR hold unix:"$T/m.sock" 3 & h1=$!; bg_track $h1
timeout 20 $FR hold unix:"$T/m.sock" 3 & h2=$!; bg_track $h2
sleep 1
out=$(hmp "$T/mon2" "info network")
n=$(grep -cE "m\.[0-9]+: index=0,type=stream,unix:" <<<"$out")
check "each connection is its own client m.N on hub 5 (2 open: $n)" [ "$n" -eq 2 ]
wait $h1 $h2 2>/dev/null
sleep 0.5
out=$(hmp "$T/mon2" "info network")
check "closed connections free their clients and hub ports" \
	bash -c '! grep -qE "m\.[0-9]+:|hub5port" <<<"$1"' _ "$out"
check "a client mixing frames with two others still works afterwards" \
	timeout 60 $FR mesh --count 20 unix:"$T/m.sock" unix:"$T/m.sock"
qnet_stop m

# ---- a qnet stream client to another qnet's server, with reconnect-ms ----
ps=$(free_port)
qnet_start srv -netdev stream,id=s,server=on,addr.type=inet,addr.host=127.0.0.1,addr.port="$ps" \
	-netdev stream,id=l,server=on,addr.type=unix,addr.path="$T/l.sock" \
	-netdev hubport,id=p1,hubid=0,netdev=s -netdev hubport,id=p2,hubid=0,netdev=l &&
	wait_tcp_listen "$ps" || not_ok "server qnet starts"
qnet_start cli -netdev stream,id=c,addr.type=inet,addr.host=127.0.0.1,addr.port="$ps",reconnect-ms=200 \
	-netdev stream,id=r,server=on,addr.type=unix,addr.path="$T/r.sock" \
	-netdev hubport,id=p1,hubid=0,netdev=c -netdev hubport,id=p2,hubid=0,netdev=r \
	-monitor unix:"$T/mon3",server=on,wait=off &&
	wait_unix_socket "$T/r.sock" || not_ok "client qnet starts"
sleep 0.5
out=$(hmp "$T/mon3" "info network")
check "client info_str is the server address (tcp:127.0.0.1:$ps)" \
	grep -qF "c: index=0,type=stream,tcp:127.0.0.1:$ps" <<<"$out"
check "frames cross two qnets joined by stream client and server" \
	timeout 60 $FR mesh --count 100 unix:"$T/l.sock" unix:"$T/r.sock"
qnet_stop srv
sleep 0.5
out=$(hmp "$T/mon3" "info network")
check "client info_str drops the address when the server goes away (retrying: connection error)" \
	grep -qE "c: index=0,type=stream,(connection error)?$" <<<"$out"
qnet_start srv -netdev stream,id=s,server=on,addr.type=inet,addr.host=127.0.0.1,addr.port="$ps" \
	-netdev stream,id=l,server=on,addr.type=unix,addr.path="$T/l.sock" \
	-netdev hubport,id=p1,hubid=0,netdev=s -netdev hubport,id=p2,hubid=0,netdev=l &&
	wait_tcp_listen "$ps" || not_ok "server qnet restarts"
sleep 1
check "the client reconnects (reconnect-ms=200) and frames flow again" \
	timeout 60 $FR mesh --count 50 unix:"$T/l.sock" unix:"$T/r.sock"
qnet_stop cli
qnet_stop srv

# ---- errors with QEMU's texts ----
experr() {
	local want=$1; shift
	local out
	out=$(timeout 5 "$QNET" "$@" 2>&1 </dev/null)
	local rc=$?
	if [ $rc -ne 0 ] && grep -qF -- "$want" <<<"$out"; then ok "error: $want"; else
		not_ok "error: $want (rc $rc: $out)"; fi
}
experr "'reconnect-ms' option is incompatible with socket in server mode" \
	-netdev stream,id=x,server=on,reconnect-ms=100,addr.type=unix,addr.path="$T/x.sock"
experr "Parameter 'addr' is missing" -netdev stream,id=x
experr "Parameter 'addr.path' is missing" -netdev stream,id=x,addr.type=unix
experr "Parameter 'type' does not accept value 'foo'" -netdev stream,id=x,addr.type=foo
experr "Parameter 'addr.host' is unexpected" \
	-netdev stream,id=x,addr.type=unix,addr.path="$T/x.sock",addr.host=h
experr "'hubid' option is only valid with server=on" \
	-netdev stream,id=x,hubid=1,addr.type=unix,addr.path="$T/x.sock"
finish
