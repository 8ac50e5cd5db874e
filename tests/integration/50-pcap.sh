#!/bin/bash
# SPDX-License-Identifier: MIT
# 50-pcap.sh - filter-dump writes a pcap that tshark reads, while qnet runs and after it exits.
#
# qnet: two stream servers (unix sockets) on hub 0, filter-dump d1 (queue=all) on s1 and d2
# (queue=rx, maxlen=64) on s2. Two Python clients speak QEMU's stream framing (4-byte big-endian
# length + frame): c1 sends N1 frames, c2 sends N2 frames, each side checks it got the other's.
# Checks: the pcap header (host order, snaplen), tshark counts exactly the expected frames with
# the expected source MACs in order, caplen/len with maxlen, and the file is readable before exit.
set -u
. "$(dirname "$0")/../lib.sh"
need_cmd tshark
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }

N1=10
N2=7
if qnet_start q \
	-netdev stream,id=s1,server=on,addr.type=unix,addr.path="$T/s1.sock" \
	-netdev hubport,id=p1,hubid=0,netdev=s1 \
	-netdev stream,id=s2,server=on,addr.type=unix,addr.path="$T/s2.sock" \
	-netdev hubport,id=p2,hubid=0,netdev=s2 \
	-object filter-dump,id=d1,netdev=s1,file="$T/d1.pcap" \
	-object filter-dump,id=d2,netdev=s2,file="$T/d2.pcap",queue=rx,maxlen=64 &&
   wait_unix_socket "$T/s1.sock" 10 && wait_unix_socket "$T/s2.sock" 10; then
	ok "qnet starts with two filter-dump objects"
else
	not_ok "qnet starts with two filter-dump objects"
	qnet_log q
	finish
fi

# The clients: probes (ethertype 0x88b6) from c1 until c2 hears one, so both connections are up;
# then data frames (ethertype 0x88b5) c1 -> c2, then c2 -> c1. Prints "probes P" and "ok"/"fail".
cat >"$T/clients.py" <<'EOF'
import socket, struct, sys, time
d, n1, n2 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def conn(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(0.2)
    return s

def frame(src, typ, i, size):
    hdr = b"\xff" * 6 + bytes.fromhex(src.replace(":", "")) + struct.pack(">H", typ)
    body = bytes([(i + k) & 0xff for k in range(size - len(hdr))])
    return hdr + body

def send(s, f):
    s.sendall(struct.pack(">I", len(f)) + f)

class Reader:
    def __init__(self, s):
        self.s, self.buf = s, b""
    def frames(self, timeout):
        end, out = time.time() + timeout, []
        while time.time() < end:
            try:
                chunk = self.s.recv(65536)
            except socket.timeout:
                if out:
                    break
                continue
            if not chunk:
                break
            self.buf += chunk
            while len(self.buf) >= 4:
                n = struct.unpack(">I", self.buf[:4])[0]
                if len(self.buf) < 4 + n:
                    break
                out.append(self.buf[4:4 + n])
                self.buf = self.buf[4 + n:]
        return out

c1, c2 = conn(d + "/s1.sock"), conn(d + "/s2.sock")
r1, r2 = Reader(c1), Reader(c2)
probes, heard = 0, False
for _ in range(50):
    send(c1, frame("02:00:00:00:00:99", 0x88b6, probes, 60))
    probes += 1
    if r2.frames(0.2):
        heard = True
        break
print("probes", probes)
if not heard:
    print("fail: c2 never heard c1")
    sys.exit(1)
r2.frames(0.3)  # late probes
sizes = [60, 61, 100, 200, 512, 1000, 1514, 4000, 60, 64]
sent1 = [frame("02:00:00:00:01:%02x" % i, 0x88b5, i, sizes[i % len(sizes)]) for i in range(n1)]
for f in sent1:
    send(c1, f)
got2 = []
while len(got2) < n1:
    fr = r2.frames(3.0)
    if not fr:
        break
    got2 += [f for f in fr if f[12:14] == b"\x88\xb5"]
sent2 = [frame("02:00:00:00:02:%02x" % i, 0x88b5, i, 60 + 7 * i) for i in range(n2)]
for f in sent2:
    send(c2, f)
got1 = []
while len(got1) < n2:
    fr = r1.frames(3.0)
    if not fr:
        break
    got1 += [f for f in fr if f[12:14] == b"\x88\xb5"]
print("c2 got", len(got2), "c1 got", len(got1))
print("ok" if got2 == sent1 and got1 == sent2 else "fail: frames differ")
EOF

out=$(timeout 60 "$PY" "$T/clients.py" "$T" "$N1" "$N2" 2>&1)
echo "$out" | sed 's/^/# /'
probes=$(echo "$out" | sed -n 's/^probes //p')
check "clients exchange $N1 + $N2 frames through the hub" test "$(echo "$out" | tail -1)" = ok
probes=${probes:-0}

# the global header, as QEMU writes it (host byte order)
hdr=$(od -A n -t x4 -N 24 "$T/d1.pcap" | tr -s ' \n' ' ')
check "d1 pcap header: magic a1b2c3d4, v2.4, snaplen 65536, linktype 1 (got$hdr)" \
	test "$hdr" = " a1b2c3d4 00040002 00000000 00000000 00010000 00000001 "
hdr=$(od -A n -t x4 -N 24 "$T/d2.pcap" | tr -s ' \n' ' ')
check "d2 pcap header: snaplen 64 (got$hdr)" \
	test "$hdr" = " a1b2c3d4 00040002 00000000 00000000 00000040 00000001 "

# read while qnet runs: the records are flushed every loop iteration
sleep 0.3
want=$((probes + N1 + N2))
n=$(tshark -r "$T/d1.pcap" 2>/dev/null | wc -l)
check "tshark reads d1 while qnet runs: $want frames (got $n)" test "$n" -eq "$want"
n=$(tshark -r "$T/d1.pcap" -Y 'eth.type == 0x88b5' 2>/dev/null | wc -l)
check "d1: exactly $((N1 + N2)) data frames, both directions (got $n)" test "$n" -eq $((N1 + N2))

expect=$( (for ((i = 0; i < N1; i++)); do printf '02:00:00:00:01:%02x\n' "$i"; done
	for ((i = 0; i < N2; i++)); do printf '02:00:00:00:02:%02x\n' "$i"; done) | tr '\n' ' ')
got=$(tshark -r "$T/d1.pcap" -Y 'eth.type == 0x88b5' -T fields -e eth.src 2>/dev/null | tr '\n' ' ')
check "d1: eth.src of the data frames in send order" test "$got" = "$expect"
lens=$(tshark -r "$T/d1.pcap" -Y 'eth.type == 0x88b5' -T fields -e frame.len 2>/dev/null |
	head -n "$N1" | tr '\n' ' ')
check "d1: frame lengths as sent, 4000-byte frame whole (got $lens)" \
	test "$lens" = "60 61 100 200 512 1000 1514 4000 60 64 "

# d2 sees only rx of s2 (the c1 frames), cut to 64 bytes
n=$(tshark -r "$T/d2.pcap" -Y 'eth.type == 0x88b5' 2>/dev/null | wc -l)
check "d2 (queue=rx): exactly the $N1 frames sent to s2 (got $n)" test "$n" -eq "$N1"
got=$(tshark -r "$T/d2.pcap" -Y 'eth.type == 0x88b5' -T fields -e eth.src 2>/dev/null | sort -u |
	tr '\n' ' ')
want_src=$( (for ((i = 0; i < N1; i++)); do printf '02:00:00:00:01:%02x\n' "$i"; done) | tr '\n' ' ')
check "d2: no frame from c2 (its own tx)" test "$got" = "$want_src"
caps=$(tshark -r "$T/d2.pcap" -Y 'eth.type == 0x88b5' -T fields -e frame.cap_len -e frame.len \
	2>/dev/null | awk '$1 != ($2 < 64 ? $2 : 64) { bad++ } END { print bad + 0 }')
check "d2: caplen = min(len, maxlen=64) for every frame" test "$caps" -eq 0

# timestamps are wall-clock time (qnet has no virtual clock)
now=$(date +%s)
ts=$(tshark -r "$T/d1.pcap" -T fields -e frame.time_epoch 2>/dev/null | tail -1)
check "d1: timestamps are the real time (last $ts, now $now)" \
	awk -v t="${ts:-0}" -v n="$now" 'BEGIN { exit !(t > n - 120 && t <= n + 1) }'

check "qnet exits with status 0 on SIGTERM" qnet_stop q
n=$(tshark -r "$T/d1.pcap" 2>/dev/null | wc -l)
check "d1 after exit: still $want frames, file complete (got $n)" test "$n" -eq "$want"
check "tshark reads d1 without errors" sh -c 'tshark -r "$1" -q >/dev/null 2>&1' _ "$T/d1.pcap"
finish
