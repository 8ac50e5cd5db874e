#!/bin/bash
# SPDX-License-Identifier: MIT
# 71-user-hostile.sh - malformed and hostile guest frames into -netdev user; qnet answers per RFC and stays up.
#
# qnet: a user netdev on hub 0 with a stream server (unix socket). A scapy script connects to the
# socket and speaks QEMU's stream framing as the guest 10.0.2.15 (52:54:00:12:34:56); its host
# side is a UDP echo server and a TCP listener on 127.0.0.1 (reached as 10.0.2.2). It sends:
# bad IPv4 header lengths, versions and checksums; bad ICMP/UDP checksums; UDP with bad lengths;
# valid, tiny, duplicate, overlapping and oversized (> 65535) fragments; truncated BOOTP, DHCP
# options running past the end or with wrong lengths; ARP with wrong hlen/plen or truncated;
# TCP segments with all 64 flag combinations to unknown tuples (RFC 793 reset generation) and on
# established connections, data beyond the window, an urgent pointer past the data. Each check
# asserts what comes back (or that nothing does, and that nothing reached the host), with a
# valid control packet next to it. At the end a DHCP DISCOVER still gets an OFFER, qnet is still
# running, exits 0, and its log (the ASan+UBSan build when present, LSan at exit) has no report.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd ss timeout
"$PY" -c 'import scapy' 2>/dev/null || skip_all "python3-scapy missing"
# the sanitizer build when there is one (run.sh exports QNET_SAN): leaks and UB are reported
QB=$QNET
[ -x "${QNET_SAN:-$ROOT/build/san/qnet}" ] && QB=${QNET_SAN:-$ROOT/build/san/qnet}
[ -x "$QB" ] || { not_ok "qnet binary $QB exists"; finish; }
echo "# qnet binary: $QB"
QNET=$QB

echo "nameserver 127.0.0.1" >"$T/resolv.conf"
if ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 qnet_start q \
	-netdev "user,id=u0,resolv-conf=$T/resolv.conf" -netdev hubport,id=p0,hubid=0,netdev=u0 \
	-netdev stream,id=g,server=on,addr.type=unix,addr.path="$T/g.sock" \
	-netdev hubport,id=p1,hubid=0,netdev=g &&
   wait_unix_socket "$T/g.sock" 10; then
	ok "qnet: user netdev + stream server on hub 0"
else
	not_ok "qnet: user netdev + stream server on hub 0"
	qnet_log q
	finish
fi

cat >"$T/hostile.py" <<'EOF'
# hostile.py SOCK - the scapy guest: prints "ok - ..." / "not ok - ..." lines
import os, select, socket, struct, sys, threading, time
from scapy.all import Ether, ARP, IP, ICMP, UDP, TCP, BOOTP, DHCP, Raw, fragment, conf
conf.verb = 0
GM, GW, ME, GWIP = "52:54:00:12:34:56", "52:55:0a:00:02:02", "10.0.2.15", "10.0.2.2"
QUIET = 1.0          # seconds of silence that count as "nothing came back"
from scapy_guest import Guest, ok, RESULTS  # tests/integration/lib (PYTHONPATH)

g = Guest(sys.argv[1], arp=(GM, ME), quiet_timeout=QUIET)
E = lambda: Ether(src=GM, dst=GW)
EB = lambda: Ether(src=GM, dst="ff:ff:ff:ff:ff:ff")

# ---- host side: UDP echo server and TCP listener on 127.0.0.1 ----
usock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
usock.bind(("127.0.0.1", 0))
UPORT = usock.getsockname()[1]
useen = []
def udp_echo():
    while True:
        try:
            d, a = usock.recvfrom(70000)
        except OSError:
            return
        useen.append(d)
        usock.sendto(d, a)
threading.Thread(target=udp_echo, daemon=True).start()

lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
lsock.bind(("127.0.0.1", 0))
lsock.listen(128)
TPORT = lsock.getsockname()[1]
conns = {}           # id (2 bytes the guest sends first) -> {"data": bytearray, "eof": bool}
def tcp_conn(c):
    st = {"data": bytearray(), "eof": False}
    ident = None
    while True:
        try:
            d = c.recv(65536)
        except OSError:
            d = b""
        if not d:
            st["eof"] = True
            if ident is None:
                conns.setdefault("anon", []).append(st)
            return
        st["data"] += d
        if ident is None and len(st["data"]) >= 2:
            ident = bytes(st["data"][:2])
            conns[ident] = st
def tcp_accept():
    while True:
        try:
            c, _ = lsock.accept()
        except OSError:
            return
        threading.Thread(target=tcp_conn, args=(c,), daemon=True).start()
threading.Thread(target=tcp_accept, daemon=True).start()
tmp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tmp.bind(("127.0.0.1", 0))
CLOSED = tmp.getsockname()[1]
tmp.close()          # nothing listens there now

def is_dhcp(p): return UDP in p and p[UDP].sport == 67 and p[UDP].dport == 68
def dhcp_type(p):
    for o in p[DHCP].options if DHCP in p else []:
        if isinstance(o, tuple) and o[0] == "message-type":
            return o[1]
    return None
def bootp(opts, xid, chaddr=GM):
    mac = bytes.fromhex(chaddr.replace(":", ""))
    return EB() / IP(src="0.0.0.0", dst="255.255.255.255") / UDP(sport=68, dport=67) / \
        BOOTP(chaddr=mac, xid=xid) / Raw(b"\x63\x82\x53\x63" + opts)
def dhcp_reply(xid):
    return lambda p: is_dhcp(p) and BOOTP in p and p[BOOTP].xid == xid

# ---- DHCP ----
m = g.mark()
g.send(bootp(bytes([53, 1, 1, 255]), 101))
r = g.wait(dhcp_reply(101), m)
ok(r is not None and dhcp_type(r) == 2 and r[BOOTP].yiaddr == ME, "dhcp: DISCOVER gets an OFFER of 10.0.2.15")
m = g.mark()
g.send(bootp(bytes([53, 1, 3, 50, 4, 10, 0, 2, 15, 54, 4, 10, 0, 2, 2, 255]), 102))
r = g.wait(dhcp_reply(102), m)
ok(r is not None and dhcp_type(r) == 5 and r[BOOTP].yiaddr == ME, "dhcp: REQUEST gets an ACK for 10.0.2.15")
bad_dhcp = {
    "truncated BOOTP (100 bytes)": bytes(bootp(b"", 201))[:42 + 100],
    "option length past the end": bytes(bootp(bytes([53, 1, 1, 50, 200, 10, 0]), 202)),
    "option code without a length byte": bytes(bootp(bytes([53, 1, 1, 12]), 203)),
    "message type of length 2": bytes(bootp(bytes([53, 2, 1, 1, 255]), 204)),
    "requested address of length 3": bytes(bootp(bytes([53, 1, 1, 50, 3, 10, 0, 2, 255]), 205)),
    "hlen 16": bytes(bootp(bytes([53, 1, 1, 255]), 206)),
    "op 2 (a reply) from the guest": bytes(bootp(bytes([53, 1, 1, 255]), 207)),
    "multicast chaddr": bytes(bootp(bytes([53, 1, 1, 255]), 208, chaddr="01:00:5e:00:00:01")),
}
for desc, b in bad_dhcp.items():
    b = bytearray(b)
    if desc.startswith("truncated"):   # fix the IP and UDP lengths to the cut packet
        p = Ether(bytes(b)); p[IP].len = None; p[IP].chksum = None; p[UDP].len = None; p[UDP].chksum = None
        b = bytearray(bytes(p))
    if desc == "hlen 16":
        p = Ether(bytes(b)); p[BOOTP].hlen = 16; p[UDP].chksum = None; b = bytearray(bytes(p))
    if desc.startswith("op 2"):
        p = Ether(bytes(b)); p[BOOTP].op = 2; p[UDP].chksum = None; b = bytearray(bytes(p))
    m = g.mark()
    g.send(bytes(b))
    ok(g.quiet(lambda p: is_dhcp(p), m), "dhcp: no reply to " + desc)
m = g.mark()
g.send(bootp(bytes([53, 1, 1]) + b"\0" * 8, 209))
r = g.wait(dhcp_reply(209), m)
ok(r is not None and dhcp_type(r) == 2, "dhcp: options without END are accepted (OFFER)")

# ---- ARP ----
def arp_req(**kw):
    a = dict(op=1, hwsrc=GM, psrc=ME, pdst=GWIP)
    a.update(kw)
    return EB() / ARP(**a)
def arp_reply_for(ip): return lambda p: ARP in p and p[ARP].op == 2 and p[ARP].psrc == ip
m = g.mark()
g.send(arp_req())
r = g.wait(arp_reply_for(GWIP), m)
ok(r is not None and r[ARP].hwsrc == GW and r[ARP].pdst == ME and r.dst == GM,
   "arp: who-has 10.0.2.2 is answered with 52:55:0a:00:02:02")
for desc, pkt in [("hlen 8", arp_req(hwlen=8)), ("plen 6", arp_req(plen=6)),
                  ("hardware type 6", arp_req(hwtype=6)), ("protocol type 0x86dd", arp_req(ptype=0x86dd)),
                  ("a truncated body", bytes(arp_req())[:14 + 20]),
                  ("a non-virtual address (10.0.2.99)", arp_req(pdst="10.0.2.99")), ("op 9", arp_req(op=9))]:
    m = g.mark()
    g.send(pkt)
    ok(g.quiet(lambda p: ARP in p and p[ARP].op == 2, m), "arp: no reply to " + desc)
m = g.mark()
g.send(arp_req(pdst="10.0.2.3"))
ok(g.wait(arp_reply_for("10.0.2.3"), m) is not None, "arp: who-has 10.0.2.3 still answered afterwards")

# ---- IPv4 header and ICMP ----
def echo(ident, **ipkw):
    return E() / IP(src=ME, dst=GWIP, **ipkw) / ICMP(id=ident, seq=1) / Raw(b"e" * 32)
def echo_reply(ident): return lambda p: ICMP in p and p[ICMP].type == 0 and p[ICMP].id == ident
m = g.mark()
g.send(echo(0x100))
ok(g.wait(echo_reply(0x100), m) is not None, "ipv4: control: echo request to 10.0.2.2 is answered")
def mangled(ident, f):
    b = bytearray(bytes(echo(ident)))
    f(b)
    return bytes(b)
def ip_csum(b):
    b[24:26] = b"\0\0"
    s = sum(struct.unpack(">%dH" % (((b[14] & 15) * 4) // 2), bytes(b[14:14 + (b[14] & 15) * 4])))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    b[24:26] = struct.pack(">H", ~s & 0xffff)
cases = {
    "ihl 4 (header shorter than 20)": lambda b: (b.__setitem__(14, 0x44), ip_csum(b)),
    "ihl 15 (header past the packet)": lambda b: (b.__setitem__(14, 0x4f), b.__setitem__(24, 0), b.__setitem__(25, 0)),
    "total length past the frame": lambda b: (b.__setitem__(slice(16, 18), struct.pack(">H", 1000)), ip_csum(b)),
    "total length 19": lambda b: (b.__setitem__(slice(16, 18), struct.pack(">H", 19)), ip_csum(b)),
    "version 5": lambda b: (b.__setitem__(14, 0x55), ip_csum(b)),
    "bad header checksum": lambda b: b.__setitem__(24, b[24] ^ 0xff),
    "bad ICMP checksum": lambda b: b.__setitem__(36, b[36] ^ 0xff),
    "multicast source": lambda b: (b.__setitem__(slice(26, 30), bytes([224, 0, 0, 1])), ip_csum(b)),
}
for i, (desc, f) in enumerate(cases.items()):
    ident = 0x200 + i
    m = g.mark()
    g.send(mangled(ident, f))
    ok(g.quiet(lambda p: ICMP in p and p[ICMP].type == 0 and p[ICMP].id == ident, m), "ipv4: no reply to " + desc)
m = g.mark()
g.send(E() / IP(src=ME, dst=GWIP, proto=253) / Raw(b"x" * 20))
r = g.wait(lambda p: ICMP in p and p[ICMP].type == 3 and p[ICMP].code == 2, m)
ok(r is not None, "ipv4: unknown protocol 253 gets ICMP protocol unreachable (RFC 1122 3.2.2.1)")

# ---- UDP and fragments, through the echo server on 127.0.0.1 ----
def udp_pkt(payload, **kw):
    return IP(src=ME, dst=GWIP, **kw) / UDP(sport=40000, dport=UPORT) / Raw(payload)
def udp_back(payload):   # (bytes(p[UDP])[8:len]: the frame may carry Ethernet padding)
    return lambda p: UDP in p and p[UDP].sport == UPORT and bytes(p[UDP])[8:p[UDP].len] == payload
def seen(payload, t=QUIET):
    end = time.time() + t
    while time.time() < end:
        if payload in useen: return True
        g.pump(0.05)
    return payload in useen
m = g.mark()
g.send(E() / udp_pkt(b"valid-1"))
ok(g.wait(udp_back(b"valid-1"), m) is not None and b"valid-1" in useen, "udp: control: datagram echoed by the host")
p = E() / udp_pkt(b"badsum-1"); p[UDP].chksum = 0x1234
g.send(p); ok(not seen(b"badsum-1"), "udp: bad checksum: dropped, the host sees nothing")
p = E() / udp_pkt(b"toolong-1"); p[UDP].len = 200; p[UDP].chksum = 0
g.send(p); ok(not seen(b"toolong-1"), "udp: length past the packet: dropped")
p = E() / udp_pkt(b"short-1"); p[UDP].len = 4; p[UDP].chksum = 0
g.send(p); ok(not seen(b"short-1"), "udp: length 4 (< 8): dropped")
p = E() / udp_pkt(b"trimmed-1" + b"JUNKJUNK"); p[UDP].len = 8 + 9; p[UDP].chksum = 0
g.send(p); ok(seen(b"trimmed-1", 2) and not any(b"JUNK" in d for d in useen),
              "udp: length shorter than the packet: trimmed to the UDP length (RFC 768)")

big = bytes((i * 7) & 0xff for i in range(3000))
m = g.mark()
for f in fragment(udp_pkt(big, id=0x4001), fragsize=1000):
    g.send(E() / f)
got = seen(big, 3)
frs = []
end = time.time() + 3
while time.time() < end and sum(len(bytes(x[IP].payload)) for x in frs) < 3008:
    # the id of the fragmented echo (a late echo of an earlier check may come first)
    ids = [x[IP].id for x in g.frames[m:] if IP in x and x[IP].src == GWIP and x[IP].proto == 17 and x[IP].flags.MF]
    frs = [x for x in g.frames[m:] if IP in x and x[IP].src == GWIP and x[IP].proto == 17 and ids and x[IP].id == ids[0]]
    g.pump(0.1)
ok(got, "fragments: a 3000-byte datagram in 3 fragments reaches the host whole")
ok(len(frs) >= 3 and sum(len(bytes(x[IP].payload)) for x in frs) == 3008 and all(len(x[IP]) <= 1500 for x in frs),
   "fragments: the echo comes back fragmented to the 1500 MTU (%d fragments)" % len(frs))
tiny = b"tiny-fragments-ok-24byte"
pk = bytes(udp_pkt(tiny, id=0x4002)[UDP])
for off in range(0, len(pk), 8):
    g.send(E() / IP(src=ME, dst=GWIP, id=0x4002, proto=17, frag=off // 8, flags="MF" if off + 8 < len(pk) else 0) / Raw(pk[off:off + 8]))
ok(seen(tiny, 2), "fragments: 8-byte fragments are reassembled (legal per RFC 791)")
dup = b"duplicate-fragment-data!" * 4
pk = bytes(udp_pkt(dup, id=0x4003)[UDP])
for off in (0, 0, 56):
    g.send(E() / IP(src=ME, dst=GWIP, id=0x4003, proto=17, frag=off // 8, flags="MF" if off == 0 else 0) / Raw(pk[off:off + 56] if off == 0 else pk[56:]))
ok(seen(dup, 2), "fragments: an exact duplicate fragment is ignored, the datagram arrives")
ovl = b"overlapping-fragments!!!" * 4
pk = bytes(udp_pkt(ovl, id=0x4004)[UDP])
g.send(E() / IP(src=ME, dst=GWIP, id=0x4004, proto=17, frag=0, flags="MF") / Raw(pk[:64]))
g.send(E() / IP(src=ME, dst=GWIP, id=0x4004, proto=17, frag=4, flags=0) / Raw(pk[32:]))
ok(not seen(ovl), "fragments: overlapping fragments: the datagram is dropped")
over = b"oversized"
pk = bytes(udp_pkt(over, id=0x4005)[UDP])
g.send(E() / IP(src=ME, dst=GWIP, id=0x4005, proto=17, frag=0, flags="MF") / Raw(pk[:8]))
g.send(E() / IP(src=ME, dst=GWIP, id=0x4005, proto=17, frag=8189, flags=0) / Raw(b"z" * 1000))
g.send(E() / IP(src=ME, dst=GWIP, id=0x4005, proto=17, frag=1, flags="MF") / Raw(pk[8:] + b"\0" * (8 - len(pk[8:]) % 8)))
ok(not seen(over) and not any(len(d) > 60000 for d in useen), "fragments: a datagram ending past 65535 is dropped")
m = g.mark()
g.send(E() / udp_pkt(b"valid-2"))
ok(g.wait(udp_back(b"valid-2"), m) is not None, "udp: still echoed after the bad fragments")

# ---- TCP: every flag combination to an unknown tuple (RFC 793, CLOSED state) ----
F, S, R, P, A, U = 1, 2, 4, 8, 16, 32
def seg(sport, dport, flags, seq, ack=0, data=b"", **kw):
    return E() / IP(src=ME, dst=GWIP) / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=65535, **kw) / Raw(data)
m = g.mark()
for fl in range(64):
    g.send(seg(20000 + fl, CLOSED, fl, 5000, 7000))
end = time.time() + 4
while time.time() < end:
    g.pump(0.1)
resp = {}
for p in g.frames[m:]:
    if TCP in p and p[TCP].sport == CLOSED and 20000 <= p[TCP].dport < 20064:
        resp.setdefault(p[TCP].dport - 20000, []).append(p[TCP])
bad = []
for fl in range(64):
    rs = resp.get(fl, [])
    if fl & R:
        good = not rs                                  # never answer a RST
    elif fl & A:
        good = len(rs) == 1 and int(rs[0].flags) & 0x3f == R and rs[0].seq == 7000
    elif (fl & S) and (fl & F):
        good = all(int(x.flags) & R for x in rs)      # dropped or reset: never SYN+ACK
    else:
        want = 5000 + (1 if fl & S else 0) + (1 if fl & F else 0)
        good = len(rs) == 1 and int(rs[0].flags) & 0x3f == R | A and rs[0].seq == 0 and rs[0].ack == want
    if not good:
        bad.append("%s->%s" % (TCP(flags=fl).sprintf("%TCP.flags%") or "none",
                               ",".join("%s/%d/%d" % (x.sprintf("%TCP.flags%"), x.seq, x.ack) for x in rs) or "nothing"))
ok(not bad, "tcp: 64 flag combinations to a closed port / unknown tuple answered per RFC 793" + ("" if not bad else " (got: %s)" % " ".join(bad[:8])))

# ---- TCP: established connections ----
def connect(sport, ident):
    m = g.mark()
    g.send(seg(sport, TPORT, "S", 1000, options=[("MSS", 1460)]))
    r = g.wait(lambda p: TCP in p and p[TCP].dport == sport and int(p[TCP].flags) & 0x12 == 0x12, m, 5)
    if r is None:
        return None
    c = {"sport": sport, "snd": 1001, "rcv": r[TCP].seq + 1, "win": r[TCP].window}
    g.send(seg(sport, TPORT, "A", c["snd"], c["rcv"]))
    g.send(seg(sport, TPORT, "PA", c["snd"], c["rcv"], ident))
    c["snd"] += len(ident)
    return c
def host_has(ident, pred, t=3):
    end = time.time() + t
    while time.time() < end:
        st = conns.get(ident)
        if st is not None and pred(st): return True
        g.pump(0.05)
    st = conns.get(ident)
    return st is not None and pred(st)

c = connect(31000, b"W1")
ok(c is not None and host_has(b"W1", lambda st: True), "tcp: handshake through 10.0.2.2 reaches the host listener")
if c:
    m = g.mark()
    g.send(seg(31000, TPORT, "PA", c["snd"] + (1 << 30), c["rcv"], b"BEYOND-WINDOW"))
    r = g.wait(lambda p: TCP in p and p[TCP].dport == 31000 and int(p[TCP].flags) & A, m, 3)
    ok(r is not None and r[TCP].ack == c["snd"] and not int(r[TCP].flags) & R,
       "tcp: data beyond the window gets an ACK for the expected sequence (RFC 793 p.69)")
    g.send(seg(31000, TPORT, "PA", c["snd"], c["rcv"], b"GOOD"))
    c["snd"] += 4
    ok(host_has(b"W1", lambda st: bytes(st["data"]) == b"W1GOOD"), "tcp: ...and is not delivered; in-window data is")
    g.send(seg(31000, TPORT, "PAU", c["snd"], c["rcv"], b"URGENT", urgptr=5000))
    c["snd"] += 6
    g.send(seg(31000, TPORT, "PA", c["snd"], c["rcv"], b"-AFTER"))
    c["snd"] += 6
    ok(host_has(b"W1", lambda st: bytes(st["data"]) == b"W1GOODURGENT-AFTER" and not st["eof"]),
       "tcp: urgent pointer past the data: data delivered in line, connection stays up")

cs = {}
for fl in range(64):
    ident = struct.pack(">H", 0x8000 + fl)
    cc = connect(32000 + fl, ident)
    if cc: cs[fl] = (cc, ident)
ok(len(cs) == 64 and all(host_has(i, lambda st: True, 2) for _, i in cs.values()),
   "tcp: 64 connections established (%d)" % len(cs))
for fl, (cc, ident) in cs.items():
    g.send(seg(cc["sport"], TPORT, fl, cc["snd"], cc["rcv"]))
end = time.time() + 3
while time.time() < end:
    g.pump(0.1)
bad = []
for fl, (cc, ident) in cs.items():
    st = conns.get(ident, {"eof": None})
    if fl & R and not fl & S:
        good = st["eof"] is True                        # in-window RST closes
    elif fl & S:
        good = True                                     # RFC 793 reset or RFC 5961 challenge ACK
    elif fl & F and not fl & A:
        good = st["eof"] is False                       # no ACK bit: segment dropped
    elif fl & F:
        good = st["eof"] is True                        # FIN: the host sees EOF
    else:
        good = st["eof"] is False
    if not good:
        bad.append("%s:eof=%s" % (TCP(flags=fl).sprintf("%TCP.flags%") or "none", st["eof"]))
ok(not bad, "tcp: every flag combination on an established connection handled" + ("" if not bad else " (got: %s)" % " ".join(bad[:10])))

c = connect(33000, b"W9")
ok(c is not None and host_has(b"W9", lambda st: True), "tcp: a new connection still works afterwards")

# ---- still serving ----
m = g.mark()
g.send(bootp(bytes([53, 1, 1, 255]), 999, chaddr="52:54:00:12:34:99"))
r = g.wait(dhcp_reply(999), m)
ok(r is not None and dhcp_type(r) == 2, "dhcp: a DISCOVER still gets an OFFER after all of it (%s)" % (r[BOOTP].yiaddr if r else "none"))
sys.exit(0 if all(RESULTS) else 1)
EOF

scapy_guest_run "$T/hostile.py" "$T/g.sock"
hostile_epilogue q
finish
