#!/bin/bash
# SPDX-License-Identifier: MIT
# 66-user-load.sh - -netdev user under load: 100 MB each way between a namespace and host loopback
# with matching sha256 (through 10.0.2.2 and through a hostfwd), then 1000 concurrent connections
# each way (a byte echoed on each, all closed); afterwards qnet's fd count is back to where it
# started, its RSS growth is bounded and `info usernet` has no TCP rows left.
#
# Environment: USER_LOAD_MB (default 100), USER_LOAD_CONNS (default 1000).
# Host servers listen on 127.0.0.1 only; the client is a namespace the test creates.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/user_lib.sh"
need_root
need_cmd ip udhcpc ss timeout
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"

MB=${USER_LOAD_MB:-100}
N=${USER_LOAD_CONNS:-1000}
BYTES=$((MB * 1048576))
# 1000 sockets on each side, plus qnet's two per connection
ulimit -n 16384 2>/dev/null || ulimit -n 8192 2>/dev/null

G=qnu66-$$
ns_create "$G" || { not_ok "namespace $G created"; finish; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
rate() { awk -v b="$BYTES" -v ms="$1" 'BEGIN { printf "%.1f", (ms > 0) ? (b / 1048576 / (ms / 1000)) : 0 }'; }

# servers: on host loopback (for the NAT) and in the namespace (for the hostfwds)
HSINK=$(free_port tcp) HSRC=$(free_port tcp) HECHO=$(free_port tcp)
host_bg "$T/hsink.out" "$PY" "$USER_LIB/user_tool.py" sink "$HSINK" 127.0.0.1
host_bg "$T/hsrc.out" "$PY" "$USER_LIB/user_tool.py" source "$HSRC" 127.0.0.1 "$BYTES" 1
host_bg "$T/hecho.out" "$PY" "$USER_LIB/user_tool.py" tcp-echo "$HECHO" 127.0.0.1
GSINK=7101 GSRC=7102 GECHO=7103
ns_bg "$G" "$T/gsink.out" "$PY" "$USER_LIB/user_tool.py" sink "$GSINK" 0.0.0.0
ns_bg "$G" "$T/gsrc.out" "$PY" "$USER_LIB/user_tool.py" source "$GSRC" 0.0.0.0 "$BYTES" 2
ns_bg "$G" "$T/gecho.out" "$PY" "$USER_LIB/user_tool.py" tcp-echo "$GECHO" 0.0.0.0
for p in "$HSINK" "$HSRC" "$HECHO"; do wait_tcp_listen "$p" 10; done
HF1=$(free_port tcp) HF2=$(free_port tcp) HF3=$(free_port tcp)

if user_start q "$G" "hostfwd=tcp:127.0.0.1:$HF1-:$GSINK,hostfwd=tcp:127.0.0.1:$HF2-:$GSRC,hostfwd=tcp:127.0.0.1:$HF3-:$GECHO"; then
	ok "qnet starts with three hostfwds"
else
	not_ok "qnet starts with three hostfwds"
	qnet_log q
	finish
fi
if ns_dhcp "$G"; then ok "$G configured by DHCP"; else not_ok "$G configured by DHCP"; fi
for p in $GSINK $GSRC $GECHO; do
	wait_for 10 bash -c "ip netns exec $G ss -Hltn 'sport = :$p' | grep -q ."
done
fds0=$(qnet_fds q)
rss0=$(qnet_rss_kb q)
echo "# qnet at start: $fds0 fds, RSS $rss0 kB"

# ---- integrity: $MB MB each way ----
# namespace -> host through 10.0.2.2
t0=$(now_ms)
timeout 600 ip netns exec "$G" "$PY" "$USER_LIB/user_tool.py" send 10.0.2.2 "$HSINK" "$BYTES" 3 300 >"$T/send1.out" 2>&1
ms=$(( $(now_ms) - t0 ))
l=$(sed -n 's/^local //p' "$T/send1.out") r=$(sed -n 's/^remote //p' "$T/send1.out")
check "$MB MB namespace -> 127.0.0.1 via 10.0.2.2: same sha256 both ends (${ms} ms, $(rate "$ms") MB/s)" \
	test -n "$l" -a "$l" = "$r" -a "${l%% *}" = "$BYTES" || sed 's/^/#   /' "$T/send1.out"
# host -> namespace through 10.0.2.2 (the namespace pulls)
t0=$(now_ms)
got=$(timeout 600 ip netns exec "$G" "$PY" "$USER_LIB/user_tool.py" recv 10.0.2.2 "$HSRC" 300 2>&1)
ms=$(( $(now_ms) - t0 ))
wait_for 10 test -s "$T/hsrc.out"
sent=$(cat "$T/hsrc.out")
check "$MB MB 127.0.0.1 -> namespace via 10.0.2.2: same sha256 both ends (${ms} ms, $(rate "$ms") MB/s)" \
	test -n "$sent" -a "$got" = "$sent" || echo "#   sent '$sent' got '$got'"
# host -> namespace through a hostfwd
t0=$(now_ms)
timeout 600 "$PY" "$USER_LIB/user_tool.py" send 127.0.0.1 "$HF1" "$BYTES" 4 300 >"$T/send2.out" 2>&1
ms=$(( $(now_ms) - t0 ))
l=$(sed -n 's/^local //p' "$T/send2.out") r=$(sed -n 's/^remote //p' "$T/send2.out")
check "$MB MB 127.0.0.1 -> namespace via hostfwd: same sha256 both ends (${ms} ms, $(rate "$ms") MB/s)" \
	test -n "$l" -a "$l" = "$r" -a "${l%% *}" = "$BYTES" || sed 's/^/#   /' "$T/send2.out"
# namespace -> host through a hostfwd (the host pulls)
t0=$(now_ms)
got=$(timeout 600 "$PY" "$USER_LIB/user_tool.py" recv 127.0.0.1 "$HF2" 300 2>&1)
ms=$(( $(now_ms) - t0 ))
wait_for 10 test -s "$T/gsrc.out"
sent=$(cat "$T/gsrc.out")
check "$MB MB namespace -> 127.0.0.1 via hostfwd: same sha256 both ends (${ms} ms, $(rate "$ms") MB/s)" \
	test -n "$sent" -a "$got" = "$sent" || echo "#   sent '$sent' got '$got'"

tcp_rows() { hmp q "info usernet" | grep -E '^  TCP\[' | grep -vc HOST_FORWARD; }
no_tcp_rows() { [ "$(tcp_rows)" -eq 0 ]; }
fds_back() { [ "$(qnet_fds q)" -le "$fds0" ]; }
check "no TCP rows left after the transfers" wait_for 20 no_tcp_rows
check "qnet's fd count back to $fds0 after the transfers" wait_for 20 fds_back

# ---- $N concurrent connections each way ----
r=$(timeout 300 ip netns exec "$G" "$PY" "$USER_LIB/user_tool.py" conns 10.0.2.2 "$HECHO" "$N" 240 2>&1)
check "$N concurrent connections namespace -> 127.0.0.1 via 10.0.2.2 (got '$r')" \
	bash -c "[[ '$r' == 'opened $N echoed $N closed $N '* ]]"
check "no TCP rows left after they closed" wait_for 30 no_tcp_rows || hmp q "info usernet" | head -5 | sed 's/^/#   /'
check "qnet's fd count back to $fds0" wait_for 30 fds_back
r=$(timeout 300 "$PY" "$USER_LIB/user_tool.py" conns 127.0.0.1 "$HF3" "$N" 240 2>&1)
check "$N concurrent connections 127.0.0.1 -> namespace via hostfwd (got '$r')" \
	bash -c "[[ '$r' == 'opened $N echoed $N closed $N '* ]]"
check "no TCP rows left after they closed" wait_for 30 no_tcp_rows || hmp q "info usernet" | head -5 | sed 's/^/#   /'
check "qnet's fd count back to $fds0" wait_for 30 fds_back
# a second round: nothing accumulates
r=$(timeout 300 ip netns exec "$G" "$PY" "$USER_LIB/user_tool.py" conns 10.0.2.2 "$HECHO" "$N" 240 2>&1)
check "second round of $N concurrent connections via 10.0.2.2 (got '$r')" \
	bash -c "[[ '$r' == 'opened $N echoed $N closed $N '* ]]"
check "no TCP rows left after the second round" wait_for 30 no_tcp_rows
check "qnet's fd count back to $fds0 after the second round" wait_for 30 fds_back
rss1=$(qnet_rss_kb q)
grow=$(( rss1 - rss0 ))
echo "# qnet at end: $(qnet_fds q) fds, RSS $rss1 kB (growth $grow kB)"
# bounded: the flow tables are allocated at start; buffers for 2000 live flows may be touched
limit=$((64 * 1024))
case "$QNET" in */san/*) limit=$((256 * 1024)) ;; esac
check "qnet's RSS growth bounded: $grow kB < $limit kB" test "$grow" -lt "$limit"
hmp q "info netstats" | sed 's/^/#   /'

check "qnet still running" qnet_alive q
check "qnet exits with status 0 on SIGTERM" qnet_stop q
sanitizer_clean q
finish
