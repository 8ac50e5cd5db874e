#!/bin/bash
# SPDX-License-Identifier: MIT
# 69-user-tftp-hostile.sh - hostile TFTP from a scapy guest into -netdev user,tftp=: malformed
# read requests (no NUL, empty name, unknown modes, 64 KiB of options in a fragmented datagram),
# ACKs for blocks never sent, duplicate ACKs, DATA/ACK/ERROR to port 69, a flood of read requests
# from 600 ports. Each check asserts the answer (a TFTP error, or nothing), qnet keeps at most 32
# transfers (the rest get "Server busy"), a normal transfer works at the end, qnet stays up and
# (the ASan+UBSan build when present) reports nothing.
#
# The scapy guest speaks QEMU's stream framing on a unix socket; nothing leaves the machine.
set -u
. "$(dirname "$0")/../lib.sh"
need_root
"$PY" -c 'import scapy' 2>/dev/null || skip_all "python3-scapy missing"
QB=$QNET
[ -x "${QNET_SAN:-$ROOT/build/san/qnet}" ] && QB=${QNET_SAN:-$ROOT/build/san/qnet}
[ -x "$QB" ] || { not_ok "qnet binary $QB exists"; finish; }
echo "# qnet binary: $QB"
QNET=$QB

R=$T/root
mkdir -p "$R"
head -c 5000 /dev/urandom >"$R/file"
if ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 qnet_start q \
	-netdev "user,id=u0,tftp=$R" -netdev hubport,id=p0,hubid=0,netdev=u0 \
	-netdev stream,id=g,server=on,addr.type=unix,addr.path="$T/g.sock" \
	-netdev hubport,id=p1,hubid=0,netdev=g && wait_unix_socket "$T/g.sock" 10; then
	ok "qnet: user netdev with tftp= + stream server on hub 0"
else
	not_ok "qnet: user netdev with tftp= + stream server on hub 0"; qnet_log q; finish
fi

cat >"$T/hostile.py" <<'EOF'
# hostile.py SOCK FILE - the scapy guest: prints "ok - ..." / "not ok - ..." lines
import select, socket, struct, sys, time
from scapy.all import Ether, ARP, IP, UDP, Raw, fragment, conf
conf.verb = 0
GM, GW, ME, GWIP = "52:54:00:12:34:56", "52:55:0a:00:02:02", "10.0.2.15", "10.0.2.2"
CONTENT = open(sys.argv[2], "rb").read()
from scapy_guest import Guest, ok, RESULTS  # tests/integration/lib (PYTHONPATH)

g = Guest(sys.argv[1], arp=(GM, ME))

def udp(sport, dport, payload):
    return Ether(src=GM, dst=GW) / IP(src=ME, dst=GWIP) / UDP(sport=sport, dport=dport) / Raw(payload)

def tftp_to(port):
    return lambda p: UDP in p and p[IP].src == GWIP and p[UDP].dport == port

def error_of(p):
    b = bytes(p[UDP].payload)
    if len(b) < 5 or b[:2] != b"\0\5":
        return None
    return (struct.unpack("!H", b[2:4])[0], b[4:].split(b"\0")[0].decode(errors="replace"))

def ask(port, payload, what, want):
    m = g.mark()
    g.send(udp(port, 69, payload))
    r = g.wait(tftp_to(port), m)
    got = error_of(r) if r is not None else None
    ok(got == want, "%s -> %s (got %s)" % (what, want, got))

def rrq(name, mode=b"octet", opts=b""):
    return b"\0\1" + name + b"\0" + mode + b"\0" + opts

# malformed requests
ask(3001, b"\0\1file", "RRQ without any NUL", (4, "Illegal operation"))
ask(3002, b"\0\1file\0octet", "RRQ whose mode has no NUL", (4, "Illegal operation"))
ask(3003, rrq(b""), "RRQ with an empty name", (2, "Access violation"))
ask(3004, rrq(b"file", b"mail"), "RRQ in mode mail", (4, "Unsupported transfer mode"))
ask(3005, rrq(b"file", b"\xff\xfe" * 40), "RRQ with an 80-byte binary mode", (4, "Unsupported transfer mode"))
ask(3006, rrq(b"../../etc/passwd"), "RRQ for ../../etc/passwd", (2, "Access violation"))
ask(3007, rrq(b"a" * 600), "RRQ with a 600-byte name", (2, "Access violation"))
ask(3008, b"\0\2file\0octet\0", "WRQ", (4, "Illegal operation"))
# 64 KiB of options (a fragmented 65 000-byte datagram): ignored, the file is served
m = g.mark()
big = rrq(b"file", b"octet", b"x" * 64000 + b"\0" + b"1\0")
for f in fragment(IP(src=ME, dst=GWIP) / UDP(sport=3009, dport=69) / Raw(big), fragsize=1400):
    g.send(Ether(src=GM, dst=GW) / f)
r = g.wait(tftp_to(3009), m, 5)
ok(r is not None and bytes(r[UDP].payload)[:4] == b"\0\3\0\1",
   "RRQ with 64 KiB of options (fragmented): block 1, the options ignored")
# DATA, ACK, ERROR and garbage to port 69: nothing comes back
m = g.mark()
for p in (b"\0\3\0\1abc", b"\0\4\0\1", b"\0\5\0\0x\0", b"\0", b"\0\11xx", b""):
    g.send(udp(3010, 69, p))
ok(not g.all(tftp_to(3010), m, 1.0), "DATA/ACK/ERROR/short/unknown opcodes to port 69: no answer")

# a transfer with ACKs for blocks never sent and duplicate ACKs
m = g.mark()
g.send(udp(3020, 69, rrq(b"file")))
r = g.wait(tftp_to(3020), m)
ok(r is not None and bytes(r[UDP].payload)[:4] == b"\0\3\0\1", "RRQ: block 1 from a fresh port")
tid = r[UDP].sport if r is not None else 0
ok(tid >= 49152, "the transfer's port %d is from 49152..65535" % tid)
m = g.mark()
for blk in (5, 9, 500, 65535, 0):
    g.send(udp(3020, tid, struct.pack("!HH", 4, blk)))
data = [p for p in g.all(tftp_to(3020), m, 0.5) if bytes(p[UDP].payload)[:2] == b"\0\3"]
ok(not data, "ACKs for blocks never sent (5, 9, 500, 65535) and for block 0: nothing sent")
got = bytearray(bytes(r[UDP].payload)[4:]) if r is not None else bytearray()
blk = 1
while blk < 20:
    m = g.mark()
    g.send(udp(3020, tid, struct.pack("!HH", 4, blk)))
    g.send(udp(3020, tid, struct.pack("!HH", 4, blk)))   # a duplicate: must not send twice
    frames = [p for p in g.all(tftp_to(3020), m, 0.3) if bytes(p[UDP].payload)[:2] == b"\0\3"]
    nxt = [p for p in frames if struct.unpack("!H", bytes(p[UDP].payload)[2:4])[0] == blk + 1]
    if len(frames) != 1 or len(nxt) != 1:
        ok(False, "ACK %d twice: exactly one block %d (got %d DATA)" % (blk, blk + 1, len(frames)))
        break
    payload = bytes(nxt[0][UDP].payload)[4:]
    got += payload
    blk += 1
    if len(payload) < 512:
        g.send(udp(3020, tid, struct.pack("!HH", 4, blk)))
        break
ok(bytes(got) == CONTENT, "duplicate ACKs: every block once, the file intact (%d bytes)" % len(got))

# a flood of read requests from 600 ports: at most 32 transfers, the rest "Server busy"
m = g.mark()
for port in range(10000, 10600):
    g.send(udp(port, 69, rrq(b"file")))
frames = g.all(lambda p: UDP in p and p[IP].src == GWIP and 10000 <= p[UDP].dport < 10600, m, 3.0)
first = {}
for p in frames:
    first.setdefault(p[UDP].dport, p)
starts = sum(1 for p in first.values() if bytes(p[UDP].payload)[:4] == b"\0\3\0\1")
busy = sum(1 for p in first.values() if error_of(p) == (0, "Server busy"))
ok(len(first) == 600, "600 requests from 600 ports: each answered (%d)" % len(first))
ok(starts <= 32 and starts >= 1, "at most 32 transfers started (%d)" % starts)
ok(busy == 600 - starts, "the others got error 0 Server busy (%d)" % busy)
# the flood's transfers time out (6 retransmissions with back-off, about 40 s) -- answer them
# with ERROR instead so the table empties now
for port, p in first.items():
    if bytes(p[UDP].payload)[:2] == b"\0\3":
        g.send(udp(port, p[UDP].sport, b"\0\5\0\0bye\0"))
m = g.mark()
g.send(udp(3030, 69, rrq(b"file")))
r = g.wait(tftp_to(3030), m)
ok(r is not None and bytes(r[UDP].payload)[:4] == b"\0\3\0\1", "after the flood a new transfer starts")
print("# %d checks" % len(RESULTS))
sys.exit(0 if all(RESULTS) else 1)
EOF

PYTHONPATH="$ROOT/tests/integration/lib" timeout 240 "$PY" "$T/hostile.py" "$T/g.sock" "$R/file" >"$T/hostile.out" 2>&1
rc=$?
while read -r line; do
	case $line in
	"ok - "*) ok "${line#ok - }" ;;
	"not ok - "*) not_ok "${line#not ok - }" ;;
	*) echo "# $line" ;;
	esac
done <"$T/hostile.out"
[ "$rc" = 0 ] || not_ok "hostile.py exited $rc"
check "qnet still running" qnet_alive q
qnet_stop q
check "qnet exited cleanly" test "$?" = 0
if grep -qE 'ERROR: AddressSanitizer|runtime error:|ERROR: LeakSanitizer' "$T/q.log"; then
	not_ok "no sanitizer report"; grep -A15 -E 'ERROR|runtime error' "$T/q.log" | head -30 | sed 's/^/#   /'
else
	ok "no sanitizer report"
fi
finish
