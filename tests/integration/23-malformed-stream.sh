#!/bin/bash
# SPDX-License-Identifier: MIT
# 23-malformed-stream.sh - bad framing on stream and socket connections, judged against QEMU 7.2.
#
# net_fill_rstate() rules: a length of 0 is an empty frame (qnet does not forward it), 69632 is the largest frame, and a
# connection whose frame would exceed 69632 bytes is closed once those bytes arrive ("serious
# error: oversized packet received,connection terminated."); a huge length with little data just
# waits. qnet must stay up, close exactly where QEMU closes, and take a new client afterwards.
# An observer on another port of the same hub checks which frames got through.
set -u
. "$(dirname "$0")/../lib.sh"
need_cmd ss
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
FR="$PY $ROOT/tests/integration/lib/framing.py"

pw=$(free_port)
qnet_start q -netdev stream,id=v,server=on,addr.type=unix,addr.path="$T/v.sock" \
	-netdev socket,id=w,listen=127.0.0.1:"$pw" \
	-netdev stream,id=o,server=on,addr.type=unix,addr.path="$T/o.sock" \
	-netdev hubport,id=p1,hubid=0,netdev=v -netdev hubport,id=p2,hubid=0,netdev=w \
	-netdev hubport,id=p3,hubid=0,netdev=o &&
	wait_unix_socket "$T/v.sock" && wait_unix_socket "$T/o.sock" && wait_tcp_listen "$pw" ||
	{ not_ok "qnet starts"; qnet_log q; finish; }
ok "qnet starts with a stream and a socket victim and an observer on hub 0"

# case NAME PAYLOAD EXPECT LENGTHS
case_() {
	local victim=$1 name=$2 payload=$3 expect=$4 lens=$5
	check "$victim: $name -> connection $expect, observer sees [${lens}]" \
		timeout 30 $FR closes "$victim" "$payload" --expect "$expect" --wait 1.5 \
		--observer unix:"$T/o.sock" --expect-lens "$lens"
	sleep 0.2
}

for victim in unix:"$T/v.sock" tcp:127.0.0.1:"$pw"; do
	# QEMU passes the empty frame on (and its receivers stall on it); qnet drops it
	case_ "$victim" "length 0 then a frame" "len:0,frame:100" open "100"
	case_ "$victim" "length 0 alone (emitted only when more input comes)" "len:0" open ""
	case_ "$victim" "69632-byte frame (the maximum)" "frame:69632" open "69632"
	case_ "$victim" "length 69633" "len:69633,junk:69633" closed ""
	case_ "$victim" "length 0xFFFFFFFF with 70000 bytes" "len:0xffffffff,junk:70000" closed ""
	case_ "$victim" "length 0xFFFFFFFF with 100 bytes (waits)" "len:0xffffffff,junk:100" open ""
	case_ "$victim" "length prefix split over three writes" \
		"hex:00,pause:0.2,hex:0000,pause:0.2,hex:40,junk:64" open "64"
	case_ "$victim" "good frame, then an oversized one in the same write" \
		"frame:60,len:69633,junk:69633" closed "60"
	case_ "$victim" "truncated frame, then EOF" "len:1500,junk:700" open ""
	check "$victim: a new client exchanges frames afterwards" \
		timeout 60 $FR mesh --count 50 "$victim" unix:"$T/o.sock"
done

check "qnet is still running" qnet_alive q
n=$(grep -c "^serious error: oversized packet received,connection terminated\.$" "$T/q.log")
check "QEMU's oversized message was printed for each oversized connection (6: $n)" [ "$n" -eq 6 ]
qnet_stop q
check "qnet exits cleanly on SIGTERM" [ $? -eq 0 ]
finish
