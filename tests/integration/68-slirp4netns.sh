#!/bin/bash
# SPDX-License-Identifier: MIT
# 68-slirp4netns.sh - qnet started as "slirp4netns" against Debian's slirp4netns 1.2, side by side.
#
# The command line (help, version, errors: stdout, stderr and exit status compared with the real
# one), -c's configuration (10.0.2.100/24, route via 10.0.2.2, MTU), --ready-fd, --exit-fd, HTTP
# through 10.0.2.2 to the test's server, and the JSON API (-a): the same requests to both programs
# get the same replies; a port added through the API reaches a server in the namespace; bad JSON
# and a 1 MiB message are refused without memory growth and the socket keeps working.
# Each program runs in a namespace the test creates (H for qnet, HR for the real one: their
# 127.0.0.1 is the test's alone); their targets are namespaces the test creates (loopback and tap).
set -u
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd ip slirp4netns socat curl timeout
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"
REAL=$(command -v slirp4netns)
mkdir "$T/bin"
ln -s "$QNET" "$T/bin/slirp4netns"
OURS=$T/bin/slirp4netns

# s4n WHICH ARGS... - run ours or the real one with argv[0] "slirp4netns"
s4n() {
	local bin=$OURS
	[ "$1" = real ] && bin=$REAL
	shift
	(exec -a slirp4netns "$bin" "$@")
}

# ---- 1. the command line, compared --------------------------------------------------------------
same_cli() {
	local desc=$1
	shift
	timeout 10 bash -c "$(declare -f s4n); OURS=$OURS REAL=$REAL; s4n ours \"\$@\"" _ "$@" \
		>"$T/o.out" 2>"$T/o.err" </dev/null
	echo "rc=$?" >>"$T/o.out"
	timeout 10 bash -c "$(declare -f s4n); OURS=$OURS REAL=$REAL; s4n real \"\$@\"" _ "$@" \
		>"$T/r.out" 2>"$T/r.err" </dev/null
	echo "rc=$?" >>"$T/r.out"
	if cmp -s "$T/o.out" "$T/r.out" && cmp -s "$T/o.err" "$T/r.err"; then
		ok "same as slirp4netns 1.2: $desc ($(tail -1 "$T/r.out"), stderr '$(head -c 80 "$T/r.err" | tr '\n' '|')')"
	else
		not_ok "same as slirp4netns 1.2: $desc"
		diff "$T/o.out" "$T/r.out" | head -5 | sed 's/^/#   out /'
		diff "$T/o.err" "$T/r.err" | head -5 | sed 's/^/#   err /'
	fi
}
same_cli "--help" --help
same_cli "-h" -h
same_cli "no arguments: usage, exit 1"
same_cli "one argument: usage, exit 1" 12345
same_cli "unknown option" --bogus 1 tap0
same_cli "--mtu=70000" --mtu=70000 1 tap0
same_cli "--mtu=0" -m 0 1 tap0
same_cli "--mtu=x" --mtu=x 1 tap0
same_cli "-e x" -e x 1 tap0
same_cli "-r -1" -r -1 1 tap0
same_cli "PID 0" 0 tap0
same_cli "PID abc" abc tap0
same_cli "--netns-type=path, missing path" --netns-type=path /nonexistent/ns tap0
same_cli "--userns-path missing" --userns-path=/nonexistent/userns 1 tap0
same_cli "--macaddress without -c" --macaddress=52:54:00:12:34:56 1 tap0
same_cli "--macaddress=zz" -c --macaddress=zz 1 tap0
same_cli "--cidr=bad" --cidr=bad 1 tap0
same_cli "--cidr=10.0.2.1/24 (not a network)" --cidr=10.0.2.1/24 1 tap0
same_cli "--cidr=10.0.0.0/30 (prefix)" --cidr=10.0.0.0/30 1 tap0
same_cli "--cidr=300.0.0.0/8" --cidr=300.0.0.0/8 1 tap0
same_cli "a PID that does not exist: child failed(1)" 999999999 tap0
out=$(s4n ours --version 2>&1)
check "--version: first line 'slirp4netns version 1.2.0' (got '${out%%$'\n'*}')" \
	test "${out%%$'\n'*}" = "slirp4netns version 1.2.0"
check "--version names qnet" grep -q "^commit: qnet " <<<"$out"

# ---- 2. both programs running: namespaces, servers ----------------------------------------------
H=qns68h-$$
HR=qns68r-$$
A=qns68a-$$
B=qns68b-$$
for n in "$H" "$HR" "$A" "$B"; do ns_create "$n" || { not_ok "namespace $n created"; finish; }; done
# shellcheck disable=SC2034 # read by lib.sh (in_ns, the port waits)
LIB_NS=$H
token=tok-$$-$RANDOM
mkdir "$T/www"
echo "$token" >"$T/www/token.txt"
hport=18068
ip netns exec "$H" "$PY" -m http.server "$hport" --bind 127.0.0.1 --directory "$T/www" \
	</dev/null >"$T/http.log" 2>&1 &
bg_track $!
check "HTTP server on 127.0.0.1:$hport in $H" wait_tcp_listen "$hport"

# start WHICH NS: the program in $H (ours) or $HR (real) on namespace NS with -c, -a, -r (a fifo)
# and -e (a fifo whose writer is a sleep: killing it stops the program); pid in $S4N_PID
start() {
	local which=$1 ns=$2
	rm -f "$T/$which.sock"
	mkfifo "$T/$which.ready" "$T/$which.exit"
	# the only writer of the exit fifo is a sleep: killing it hangs the exit-fd up
	sleep 300 >"$T/$which.exit" &
	eval "EXITW_$which=$!"
	bg_track $!
	local host=$H
	[ "$which" = real ] && host=$HR
	ip netns exec "$host" bash -c "$(declare -f s4n); OURS=$OURS REAL=$REAL
		exec 5>'$T/$which.ready' 6<'$T/$which.exit'
		exec -a slirp4netns \"\$@\"" _ "$([ "$which" = real ] && echo "$REAL" || echo "$OURS")" \
		-c -r 5 -e 6 -a "$T/$which.sock" --netns-type=path "/var/run/netns/$ns" tap0 \
		</dev/null >"$T/$which.log" 2>&1 &
	S4N_PID=$!
	bg_track "$S4N_PID"
	READY=$(timeout 10 head -c 1 "$T/$which.ready")
}
api() { timeout 10 "$PY" "$T/api.py" "$@"; }
cat >"$T/api.py" <<'EOF'
# SPDX-License-Identifier: MIT
# api.py SOCK JSON|@garbage:N - one request, print the reply (one line)
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(8)
s.connect(sys.argv[1])
msg = sys.argv[2].encode()
if msg.startswith(b"@garbage:"):
    msg = b"x" * int(msg[9:])
try:
    s.sendall(msg)
    s.shutdown(socket.SHUT_WR)
except OSError:
    pass
r = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        r += d
except OSError:
    pass
print(r.decode(errors="replace"))
EOF

start ours "$A"
ours_pid=$S4N_PID
check "ours: --ready-fd gets '1' (got '$READY')" test "$READY" = 1
start real "$B"
real_pid=$S4N_PID
check "real: --ready-fd gets '1' (got '$READY')" test "$READY" = 1
wait_unix_socket "$T/ours.sock" 5
wait_unix_socket "$T/real.sock" 5

for n in "$A" "$B"; do
	w=ours; [ "$n" = "$B" ] && w=real
	ip -n "$n" -4 -o addr show dev tap0 >"$T/$w.addr" 2>&1
	ip -n "$n" route >"$T/$w.route" 2>&1
	ip -n "$n" -o link show dev tap0 >"$T/$w.link" 2>&1
done
check "ours: tap0 10.0.2.100/24 (-c)" grep -q 'inet 10\.0\.2\.100/24' "$T/ours.addr"
check "ours: default via 10.0.2.2 dev tap0" grep -q '^default via 10\.0\.2\.2 dev tap0' "$T/ours.route"
check "ours: tap0 MTU 1500" grep -q 'mtu 1500 ' "$T/ours.link"
check "ours and real: the same address and routes" \
	bash -c "diff '$T/ours.addr' '$T/real.addr' >/dev/null && diff '$T/ours.route' '$T/real.route' >/dev/null"
r=$(ip netns exec "$A" curl -sS -m 10 "http://10.0.2.2:$hport/token.txt" 2>&1)
check "ours: HTTP through 10.0.2.2 reaches 127.0.0.1:$hport in $H (got '$r')" test "$r" = "$token"

# ---- 3. the API, the same requests to both -------------------------------------------------------
fport=18168
reqs=(
	'{"execute": "list_hostfwd"}'
	"{\"execute\": \"add_hostfwd\", \"arguments\": {\"proto\": \"tcp\", \"host_addr\": \"127.0.0.1\", \"host_port\": $fport, \"guest_port\": 80}}"
	"{\"execute\": \"add_hostfwd\", \"arguments\": {\"proto\": \"tcp\", \"host_addr\": \"127.0.0.1\", \"host_port\": $fport, \"guest_port\": 80}}"
	'{"execute": "add_hostfwd", "arguments": {"proto": "udp", "host_addr": "127.0.0.1", "host_port": 18169, "guest_addr": "10.0.2.50", "guest_port": 53}}'
	'{"execute": "list_hostfwd"}'
	'{"execute": "add_hostfwd", "arguments": {"proto": "sctp"}}'
	'{"execute": "add_hostfwd", "arguments": {"proto": "tcp", "host_port": 0}}'
	'{"execute": "add_hostfwd", "arguments": {"proto": "tcp", "host_port": 1, "guest_port": 0}}'
	'{"execute": "add_hostfwd", "arguments": {"proto": "tcp6", "host_port": 1, "guest_port": 2}}'
	'{"execute": "add_hostfwd", "arguments": {"proto": "tcp", "host_addr": "::1", "host_port": 1, "guest_port": 2}}'
	'{"execute": "add_hostfwd", "arguments": {"proto": "tcp", "host_addr": "x.y", "host_port": 18170, "guest_port": 2}}'
	'{"execute": "add_hostfwd", "arguments": {"proto": "tcp", "host_addr": "127.0.0.1", "host_port": 18170, "guest_addr": "bad", "guest_port": 2}}'
	'{"execute": "remove_hostfwd", "arguments": {"id": 2}}'
	'{"execute": "remove_hostfwd", "arguments": {"id": 2}}'
	'{"execute": "remove_hostfwd"}'
	'not json'
	'[1,2]'
	'{}'
	'{"execute": "foo"}'
	'@garbage:4095'
	'@garbage:4096'
	'{"execute": "list_hostfwd"}'
)
for q in "${reqs[@]}"; do
	o=$(api "$T/ours.sock" "$q")
	r=$(api "$T/real.sock" "$q")
	check "API '${q:0:70}': same reply as slirp4netns ('$r')" test "$o" = "$r"
done
o=$(api "$T/ours.sock" '{"execute": "add_hostfwd"}')
check "API add_hostfwd without arguments: an error reply (slirp4netns 1.2 crashes) ('$o')" \
	test "$o" = '{"error":{"desc":"bad request: add_hostfwd: bad arguments.proto"}}'

# the forward added through the API reaches a server in the namespace
ip netns exec "$A" timeout 30 socat -u "SYSTEM:echo fwd-$token" TCP-LISTEN:80,bind=10.0.2.100 \
	</dev/null >/dev/null 2>&1 &
bg_track $!
fetch_fwd() {
	ip netns exec "$H" timeout 5 socat -u "TCP:127.0.0.1:$fport" STDOUT 2>/dev/null |
		grep -q "fwd-$token"
}
check "ours: the API's tcp 127.0.0.1:$fport -> 10.0.2.100:80 reaches the namespace's server" \
	wait_for 15 fetch_fwd
o=$(api "$T/ours.sock" '{"execute": "remove_hostfwd", "arguments": {"id": 1}}')
check "ours: remove_hostfwd id 1 ('$o')" test "$o" = '{"return":{}}'
check "ours: after remove_hostfwd, nothing listens on 127.0.0.1:$fport" \
	wait_for 5 bash -c "! ip netns exec $H ss -Hltn 'sport = :$fport' | grep -q ."

# ---- 4. a 1 MiB message: refused, no memory growth, the socket still answers ------------------------
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
rss0=$(rss "$ours_pid")
for i in 1 2 3 4 5; do o=$(api "$T/ours.sock" '@garbage:1048576'); done
rss1=$(rss "$ours_pid")
check "ours: 1 MiB garbage: 'too large message' ('$o')" \
	test "$o" = '{"error":{"desc":"bad request: too large message"}}'
check "ours: RSS after 5 x 1 MiB garbage grew by < 256 KiB ($rss0 -> $rss1 KiB)" \
	test $((rss1 - rss0)) -lt 256
o=$(api "$T/ours.sock" '{"execute": "list_hostfwd"}')
check "ours: the socket still answers afterwards ('$o')" grep -q '^{"entries":\[' <<<"$o"

# ---- 5. --exit-fd --------------------------------------------------------------------------------
kill "$EXITW_ours"
wait_for 10 bash -c "! kill -0 $ours_pid 2>/dev/null"
wait "$ours_pid"
rc=$?
check "ours: closing --exit-fd stops it, exit 0 (got $rc)" test "$rc" = 0
kill "$EXITW_real"
wait_for 10 bash -c "! kill -0 $real_pid 2>/dev/null"
check "ours: the tap is gone with it" bash -c "! ip -n $A link show tap0 >/dev/null 2>&1"
finish
