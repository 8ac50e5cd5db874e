#!/bin/bash
# SPDX-License-Identifier: MIT
# 10-cli.sh - qnet's command line: QEMU's exact error texts and exit codes, help, version,
# -net auto ids, -pidfile, -daemonize and signal exits.
#
# Every error case checks qnet's stderr byte for byte (after the "qnet: " prefix) and exit status
# 1. Cases marked "qemu" also run QEMU 7.2 (qemu-system-x86_64 -machine none) with the same
# arguments and require the same message after its own prefix. Every address used is 127.0.0.1 or
# a unix socket under $T; the failing cases never get as far as sending anything.
set -u
. "$(dirname "$0")/../lib.sh"
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
HAVE_QEMU=0
command -v qemu-system-x86_64 >/dev/null 2>&1 && HAVE_QEMU=1
QNET_VERSION=$(sed -n 's/^#define QNET_VERSION "\(.*\)"$/\1/p' "$ROOT/src/core/util.h")
ID_HINT="Identifiers consist of letters, digits, '-', '.', '_', starting with a letter."
P=$(free_port)

# run_qnet ARGS... - run qnet (5 s at most); sets OUT, ERR (prefix "qnet: " removed) and RC
run_qnet() {
	timeout 5 "$QNET" "$@" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(sed 's/^qnet: //' "$T/err")
}

# run_qemu ARGS... - the same with QEMU 7.2; sets QERR (prefix removed, module warnings dropped)
run_qemu() {
	timeout 5 qemu-system-x86_64 -machine none -nodefaults -display none "$@" \
		>/dev/null 2>"$T/qerr" </dev/null
	QERR=$(grep -v "^qemu-system-x86_64: module \|terminating on signal" "$T/qerr" |
		sed 's/^qemu-system-x86_64: //')
}

# expect_err MODE WANT ARGS... - qnet fails with exit 1 and stderr WANT; MODE "qemu" also
# requires QEMU's message to be WANT
expect_err() {
	local mode=$1 want=$2; shift 2
	local desc="$*" show=${want//$'\n'/\\n}
	run_qnet "$@"
	if [ "$RC" -eq 1 ] && [ "$ERR" = "$want" ]; then
		ok "qnet $desc: exit 1, '$show'"
	else
		not_ok "qnet $desc: exit 1, '$show' (got exit $RC, '${ERR//$'\n'/\\n}')"
	fi
	[ "$mode" = qemu ] && [ "$HAVE_QEMU" = 1 ] || return 0
	run_qemu "$@"
	if [ "$QERR" = "$want" ]; then
		ok "qemu 7.2 says the same for $desc"
	else
		not_ok "qemu 7.2 says the same for $desc (qemu: '$QERR')"
	fi
}

S=$T/s.sock
echo "# id"
expect_err qemu "-netdev socket: Parameter 'id' is missing" -netdev socket
expect_err qemu "-netdev socket,id=1x,listen=127.0.0.1:$P: Parameter 'id' expects an identifier
$ID_HINT" -netdev "socket,id=1x,listen=127.0.0.1:$P"
expect_err qemu "--netdev socket,id=a b: Parameter 'id' expects an identifier
$ID_HINT" --netdev "socket,id=a b"
expect_err qemu "-netdev socket,id=x,,listen=127.0.0.1:$P: Parameter 'id' expects an identifier
$ID_HINT" -netdev "socket,id=x,,listen=127.0.0.1:$P"
expect_err qemu "-netdev stream,addr.type=unix,addr.path=$S: Parameter 'id' is missing" \
	-netdev "stream,addr.type=unix,addr.path=$S"

echo "# duplicate ids"
expect_err qemu "-netdev hubport,id=x,hubid=1: Duplicate ID 'x' for netdev" \
	-netdev hubport,id=x,hubid=0 -netdev hubport,id=x,hubid=1
expect_err qemu "-netdev hubport,id=x,hubid=1: Duplicate ID 'x'" \
	-netdev '{"type":"hubport","id":"x","hubid":0}' -netdev hubport,id=x,hubid=1
expect_err qemu "-net socket,id=x,listen=127.0.0.1:$P: Duplicate ID 'x' for net" \
	-net "socket,id=x,listen=127.0.0.1:$P" -net "socket,id=x,listen=127.0.0.1:$P"

echo "# types"
expect_err qemu "-netdev bogus,id=x: Parameter 'type' does not accept value 'bogus'" \
	-netdev bogus,id=x
expect_err qemu "-netdev {\"type\":\"bogus\",\"id\":\"x\"}: Parameter 'type' does not accept value 'bogus'" \
	-netdev '{"type":"bogus","id":"x"}'
expect_err qemu "-netdev id=x: Parameter 'type' is missing" -netdev id=x
expect_err qemu "-netdev socket,,id=x: Parameter 'type' does not accept value 'socket,id=x'" \
	-netdev socket,,id=x
expect_err qemu "-net bogus: Parameter 'type' does not accept value 'bogus'" -net bogus
for ty in nic none; do
	expect_err qemu "-netdev $ty,id=x: network backend '$ty' is not compiled into this binary" \
		-netdev "$ty,id=x"
done
for ty in vhost-vdpa netmap; do
	expect_err qnet "-netdev $ty,id=x: network backend '$ty' is not compiled into this binary" \
		-netdev "$ty,id=x"
done
echo "# l2tpv3 option errors, as QEMU 7.2"
expect_err qemu "-netdev l2tpv3,id=x: Parameter 'src' is missing" -netdev l2tpv3,id=x
expect_err qemu "-netdev l2tpv3,id=x,src=127.0.0.1: Parameter 'dst' is missing" \
	-netdev l2tpv3,id=x,src=127.0.0.1
expect_err qemu "-netdev l2tpv3,id=x,src=127.0.0.1,dst=127.0.0.1: Parameter 'txsession' is missing" \
	-netdev l2tpv3,id=x,src=127.0.0.1,dst=127.0.0.1
expect_err qemu "-netdev l2tpv3,id=x,src=127.0.0.1,dst=127.0.0.1,txsession=1,offset=257: offset must be less than 256 bytes" \
	-netdev l2tpv3,id=x,src=127.0.0.1,dst=127.0.0.1,txsession=1,offset=257
expect_err qemu "-netdev l2tpv3,id=x,src=127.0.0.1,dst=127.0.0.1,txsession=1,txcookie=5: require both 'rxcookie' and 'txcookie' or neither" \
	-netdev l2tpv3,id=x,src=127.0.0.1,dst=127.0.0.1,txsession=1,txcookie=5
expect_err qemu "-netdev l2tpv3,id=x,src=127.0.0.1,dst=127.0.0.1,txsession=1,udp=on,srcport=1: need both src and dst port for udp" \
	-netdev l2tpv3,id=x,src=127.0.0.1,dst=127.0.0.1,txsession=1,udp=on,srcport=1
expect_err qemu "-netdev vhost-user,id=x: Parameter 'chardev' is missing" -netdev vhost-user,id=x
expect_err qemu "-netdev vhost-user,id=x,chardev=nope: chardev \"nope\" not found" \
	-netdev vhost-user,id=x,chardev=nope
expect_err qnet "-netdev vhost-user,id=x,chardev=c: chardev \"c\" does not support FD passing" \
	-chardev socket,id=c,host=127.0.0.1,port=$P,server=on,wait=off -netdev vhost-user,id=x,chardev=c
expect_err qnet "-netdev vhost-user,id=x,chardev=c,queues=9: qnet: vhost-user number of queues must be in range [1, 8]" \
	-chardev socket,id=c,path=$T/vu.sock,server=on,wait=off -netdev vhost-user,id=x,chardev=c,queues=9
expect_err qemu "-net hubport,hubid=0: network backend 'hubport' is only supported with -netdev/-nic" \
	-net hubport,hubid=0

echo "# unknown keys"
expect_err qemu "-netdev socket,id=x,foo=1,listen=127.0.0.1:$P: Invalid parameter 'foo'" \
	-netdev "socket,id=x,foo=1,listen=127.0.0.1:$P"
expect_err qemu "-netdev socket,id=x,foo=1: Invalid parameter 'foo'" -netdev socket,id=x,foo=1
expect_err qemu "-netdev hubport,id=h,hubid=0,=5: Invalid parameter ''" -netdev hubport,id=h,hubid=0,=5
expect_err qemu "-net none,foo=1: Invalid parameter 'foo'" -net none,foo=1
expect_err qemu "-netdev {\"type\":\"hubport\",\"id\":\"h\",\"hubid\":0,\"foo\":1}: Parameter 'foo' is unexpected" \
	-netdev '{"type":"hubport","id":"h","hubid":0,"foo":1}'
expect_err qemu "-netdev stream,id=x,addr.type=unix,addr.path=$S,foo=1: Parameter 'foo' is unexpected" \
	-netdev "stream,id=x,addr.type=unix,addr.path=$S,foo=1"
expect_err qemu "-netdev stream,id=x,addr.type=unix,addr.path=$S,server=on,addr.foo=1: Parameter 'addr.foo' is unexpected" \
	-netdev "stream,id=x,addr.type=unix,addr.path=$S,server=on,addr.foo=1"
check "a refused stream server left no socket file behind" test ! -e "$S"

echo "# values"
expect_err qemu "-netdev stream,id=x,addr.type=unix,addr.path=$S,server=maybe: Parameter 'server' expects 'on' or 'off'" \
	-netdev "stream,id=x,addr.type=unix,addr.path=$S,server=maybe"
expect_err qemu "-netdev stream,id=x,addr.type=unix,addr.path=$S,server=: Parameter 'server' expects 'on' or 'off'" \
	-netdev "stream,id=x,addr.type=unix,addr.path=$S,server="
expect_err qemu "-netdev tap,id=t,vhost=Y: Parameter 'vhost' expects 'on' or 'off'" -netdev tap,id=t,vhost=Y
expect_err qemu "-netdev tap,id=t,queues=abc: Parameter 'queues' expects a uint64 value" \
	-netdev tap,id=t,queues=abc
expect_err qemu "-netdev tap,id=t,queues=-1: Parameter 'queues' expects a uint64 value" \
	-netdev tap,id=t,queues=-1
expect_err qemu "-netdev tap,id=t,sndbuf=1Q: Parameter 'sndbuf' expects a size value" \
	-netdev tap,id=t,sndbuf=1Q
expect_err qemu "-netdev hubport,id=h,hubid=abc: Parameter 'hubid' expects an int64 value" \
	-netdev hubport,id=h,hubid=abc
expect_err qemu "-netdev hubport,id=h: Parameter 'hubid' is missing" -netdev hubport,id=h
expect_err qemu "-netdev {\"type\":\"hubport\",\"id\":\"x\",\"hubid\":true}: Invalid parameter type for 'hubid', expected: integer" \
	-netdev '{"type":"hubport","id":"x","hubid":true}'
expect_err qemu "-netdev {\"type\":\"hubport\",\"id\":\"x\",\"hubid\":5.5}: Invalid parameter type for 'hubid', expected: integer" \
	-netdev '{"type":"hubport","id":"x","hubid":5.5}'

echo "# syntax"
expect_err qemu "-netdev {\"type\":\"stream\": JSON parse error, premature EOI" -netdev '{"type":"stream"'
expect_err qemu "-netdev {a}: JSON parse error, invalid keyword 'a'" -netdev '{a}'
expect_err qemu "-netdev {\"a\" 1}: JSON parse error, missing : in object pair" -netdev '{"a" 1}'
expect_err qemu "-netdev {} x: Expecting at most one JSON value" -netdev '{} x'
expect_err qemu "-netdev stream,id=x,foo: Expected '=' after parameter 'foo'" -netdev stream,id=x,foo
expect_err qemu "-netdev stream,id=x,a..b=5: Invalid parameter 'a..b'" -netdev stream,id=x,a..b=5
expect_err qemu "-netdev stream,id=x,addr=5,addr.type=inet: Parameters 'addr.*' used inconsistently" \
	-netdev stream,id=x,addr=5,addr.type=inet
expect_err qemu "-foo: invalid option" -foo
expect_err qemu "-netdev: requires an argument" -netdev

echo "# NICs live in QEMU"
for args in "-nic user" "-device e1000" "-net nic,model=e1000"; do
	# shellcheck disable=SC2086
	run_qnet $args
	if [ "$RC" -eq 1 ] && [[ $ERR == "$args: qnet has no NICs"* ]] &&
		[[ $ERR == *"-netdev stream,"*"-device virtio-net-pci,netdev="* ]]; then
		ok "qnet $args: exit 1 with an explanation and an example"
	else
		not_ok "qnet $args: exit 1 with an explanation and an example (exit $RC, '$ERR')"
	fi
done

echo "# help and version"
run_qnet --version
check "--version: 'qnet version $QNET_VERSION', exit 0" \
	test "$RC" -eq 0 -a "$OUT" = "qnet version $QNET_VERSION" -a -z "$ERR"
run_qnet -version
check "-version works too" test "$RC" -eq 0 -a "$OUT" = "qnet version $QNET_VERSION"
run_qnet --help
check "--help: usage with examples, exit 0" \
	eval '[ "$RC" -eq 0 ] && [[ $OUT == usage:* ]] && [[ $OUT == *examples:* ]]'
run_qnet -netdev help
WANT_HELP="Available netdev backend types:
socket
stream
dgram
hubport
tap
user
l2tpv3
vde
bridge
vhost-user
vhost-vdpa"
check "-netdev help: QEMU 7.2's list, exit 0" test "$RC" -eq 0 -a "$OUT" = "$WANT_HELP"
if [ "$HAVE_QEMU" = 1 ]; then
	QOUT=$(timeout 5 qemu-system-x86_64 -netdev help 2>/dev/null)
	check "-netdev help: the same as this QEMU's" test "$OUT" = "$QOUT"
fi
run_qnet -netdev type=help
check "-netdev type=help lists the types too" test "$RC" -eq 0 -a "$OUT" = "$WANT_HELP"
run_qnet -netdev stream,help
check "-netdev stream,help: 'stream options:' with server=<bool>, exit 0" \
	eval '[ "$RC" -eq 0 ] && [[ $OUT == "stream options:"* ]] && [[ $OUT == *"  server=<bool>"* ]]'
run_qnet -netdev socket,help
check "-netdev socket,help: 'socket options:' with listen=<str>" \
	eval '[ "$RC" -eq 0 ] && [[ $OUT == "socket options:"* ]] && [[ $OUT == *"  listen=<str>"* ]]'

echo "# running"
M=$T/mon.sock
qnet_start net -net "socket,listen=127.0.0.1:$P" -net none -monitor "unix:$M,server=on,wait=off"
wait_unix_socket "$M" 5
INFO=$(printf 'info network\n' | timeout 5 socat -t 1 - "UNIX-CONNECT:$M" 2>/dev/null | tr -d '\r')
if printf '%s\n' "$INFO" | grep -Eq '^ \\ hub0port0: #net0[0-9]{2}: index=0,type=socket,'; then
	ok "-net socket: auto id #net0NN on hub 0 port 0, as QEMU names it"
else
	not_ok "-net socket: auto id #net0NN on hub 0 port 0 (info network: $INFO)"
fi
qnet_stop net
check "SIGTERM: exit 0" test $? -eq 0
check "the monitor socket is removed at exit" test ! -e "$M"

"$QNET" -netdev hubport,id=h,hubid=0 </dev/null >/dev/null 2>&1 &
pid=$!
bg_track "$pid"
sleep 0.3
kill -INT "$pid"
wait "$pid"
check "SIGINT: exit 0" test $? -eq 0

PIDF=$T/qnet.pid
timeout 5 "$QNET" -netdev hubport,id=h,hubid=0 -pidfile "$PIDF" -daemonize -D "$T/d.log" \
	</dev/null >"$T/dout" 2>"$T/derr"
RC=$?
check "-daemonize: the parent exits 0 once the child is ready" test "$RC" -eq 0
check "-daemonize: nothing on stdout, no error on stderr" \
	eval '[ ! -s "$T/dout" ] && ! grep -v "warning:" "$T/derr"' 
dpid=$(cat "$PIDF" 2>/dev/null)
if [ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null; then
	ok "-pidfile holds the daemon's pid ($dpid) and it runs"
	at_exit "kill $dpid"
	check "the daemon is a session leader" test "$(ps -o sid= -p "$dpid" | tr -d ' ')" = "$dpid"
	kill -TERM "$dpid"
	wait_for 5 eval "! kill -0 $dpid 2>/dev/null"
	check "the daemon exits on SIGTERM" eval "! kill -0 $dpid 2>/dev/null"
	check "-D: the daemon logged its exit to the log file" grep -q "terminating on signal 15" "$T/d.log"
	check "-pidfile is removed at exit" test ! -e "$PIDF"
else
	not_ok "-pidfile holds the daemon's pid and it runs (pidfile: '${dpid}')"
fi
expect_err qnet "-monitor stdio: cannot use stdio with -daemonize" \
	-netdev hubport,id=h,hubid=0 -monitor stdio -daemonize
finish
