#!/bin/bash
# SPDX-License-Identifier: MIT
# 72-user-ipv6-hostile.sh - hostile IPv6 from a guest into -netdev user; qnet answers per RFC and
# stays up.
#
# qnet: a user netdev on hub 0 with a stream server (unix socket); a scapy script speaks QEMU's
# stream framing as the guest (52:54:00:12:34:56, fe80::5054:ff:fe12:3456 and fec0::5054:ff:fe12:3456).
# It sends: long extension header chains (8 pass, 9 do not), hop-by-hop in second place, routing
# header type 0 with segments left, a jumbogram option, overlapping, tiny and duplicate fragments
# (not reassembled yet: nothing comes back) next to an atomic fragment (answered), NDP options of
# length 0, NDP with hop limit 64, RA/NA/redirect from the guest pretending to be the router,
# neighbour floods from 200 addresses, truncated headers and payload lengths past the frame. Each
# check asserts what comes back (or that nothing does), with a valid control packet next to it.
# At the end an RS still gets an RA and ping6 fec0::2 still works, qnet is still running, exits
# 0, and its log (the ASan+UBSan build when present) has no report. Nothing leaves the machine.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd timeout
"$PY" -c 'import scapy' 2>/dev/null || skip_all "python3-scapy missing"
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

cat >"$T/hostile6.py" <<'EOF'
# hostile6.py SOCK - the scapy guest (IPv6): prints "ok - ..." / "not ok - ..." lines
import select, socket, struct, sys, time
from scapy.all import (Ether, IPv6, ICMPv6EchoRequest, ICMPv6EchoReply, ICMPv6ND_RS, ICMPv6ND_RA,
                       ICMPv6ND_NS, ICMPv6ND_NA, ICMPv6ND_Redirect, ICMPv6NDOptSrcLLAddr,
                       ICMPv6NDOptDstLLAddr, ICMPv6NDOptPrefixInfo, IPv6ExtHdrDestOpt,
                       IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, IPv6ExtHdrFragment, Jumbo, PadN,
                       Raw, fragment6, conf)
conf.verb = 0
GM, GWM = "52:54:00:12:34:56", "52:56:00:00:00:02"
LL, GL, R, RLL, DNS = "fe80::5054:ff:fe12:3456", "fec0::5054:ff:fe12:3456", "fec0::2", "fe80::2", "fec0::3"
from scapy_guest import Guest, ok, RESULTS  # tests/integration/lib (PYTHONPATH)

g = Guest(sys.argv[1], wait_timeout=2.0, quiet_timeout=0.8)
E = lambda: Ether(src=GM, dst=GWM)
seq = [0]
def echo(dst=R, ext=None, src=GL, data=b"qnet6"):
    seq[0] += 1
    p = IPv6(src=src, dst=dst)
    if ext is not None:
        p = p / ext
    return E() / p / ICMPv6EchoRequest(id=0x4242, seq=seq[0], data=data), seq[0]
def is_reply(s):
    return lambda p: ICMPv6EchoReply in p and p[ICMPv6EchoReply].seq == s
def ping(desc, dst=R, ext=None, want=True, raw=None):
    pkt, s = echo(dst, ext)
    m = g.mark()
    g.send(raw(pkt) if raw else pkt)
    if want:
        r = g.wait(is_reply(s), m)
        return ok(r is not None and r[IPv6].src == dst, desc)
    return ok(g.quiet(is_reply(s), m), desc)
is_ra = lambda p: ICMPv6ND_RA in p
def na_for(t):
    return lambda p: ICMPv6ND_NA in p and p[ICMPv6ND_NA].tgt == t

# ---- control: RS gets an RA, echo is answered ----
m = g.mark()
g.send(E() / IPv6(src=LL, dst="ff02::2", hlim=255) / ICMPv6ND_RS() / ICMPv6NDOptSrcLLAddr(lladdr=GM))
r = g.wait(is_ra, m)
ok(r is not None and r[IPv6].src == RLL and r[IPv6].hlim == 255 and ICMPv6NDOptPrefixInfo in r and
   r[ICMPv6NDOptPrefixInfo].prefix == "fec0::", "RS answered with an RA from fe80::2 with prefix fec0::")
ping("control: echo to fec0::2 answered")

# ---- extension headers ----
ping("8 destination options headers: walked, answered",
     ext=IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() /
     IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt())
chain = IPv6ExtHdrDestOpt()
for _ in range(39):
    chain = chain / IPv6ExtHdrDestOpt()
ping("40 destination options headers: dropped (bound of 8)", ext=chain, want=False)
ping("hop-by-hop after a destination options header: dropped",
     ext=IPv6ExtHdrDestOpt() / IPv6ExtHdrHopByHop(), want=False)
ping("routing header type 0 with 2 segments left: dropped",
     ext=IPv6ExtHdrRouting(type=0, segleft=2, addresses=["fec0::9", "fec0::10"]), want=False)
ping("routing header with 0 segments left: answered",
     ext=IPv6ExtHdrRouting(type=0, segleft=0, addresses=["fec0::9"]))
ping("jumbo payload option (a jumbogram): dropped",
     ext=IPv6ExtHdrHopByHop(options=[Jumbo(jumboplen=100000)]), want=False)
ping("hop-by-hop with PadN: answered", ext=IPv6ExtHdrHopByHop(options=[PadN(optdata=b"\0" * 4)]))
ping("an unknown hop-by-hop option of the discard class: dropped",
     ext=IPv6ExtHdrHopByHop(options=[PadN(otype=0x83, optdata=b"\0" * 4)]), want=False)

# ---- fragments ----
ping("an atomic fragment (offset 0, M=0): answered", ext=IPv6ExtHdrFragment(id=7, m=0, offset=0))
pkt, s = echo(ext=IPv6ExtHdrFragment(id=8), data=b"x" * 3000)
frags = fragment6(pkt, 1280)
m = g.mark()
for f in frags + frags + frags[::-1]:
    g.send(f)
ok(g.quiet(is_reply(s), m), "duplicate and reversed fragments of a 3000-byte echo: no reply, nothing reassembled")
pkt, s = echo(ext=IPv6ExtHdrFragment(id=9, m=1, offset=0), data=b"a" * 40)
m = g.mark()
g.send(pkt)
g.send(E() / IPv6(src=GL, dst=R, nh=44) / IPv6ExtHdrFragment(nh=58, id=9, m=0, offset=2) / Raw(b"b" * 40))
g.send(E() / IPv6(src=GL, dst=R, nh=44) / IPv6ExtHdrFragment(nh=58, id=9, m=1, offset=1) / Raw(b"c" * 8))
ok(g.quiet(is_reply(s), m), "overlapping and tiny fragments: no reply")
ping("after the fragments: echo answered")

# ---- truncated and lying headers ----
pkt, s = echo()
b = bytes(pkt)
m = g.mark()
g.send(Raw(b[:14 + 20]))
g.send(Raw(b[:14 + 6] + b"\xff\xff" + b[14 + 8:]))                 # payload length 65535
g.send(Raw(b[:14] + b"\x40" + b[15:]))                             # version 4 inside 86dd
g.send(Raw(b[:14 + 40] + b"\x80"))                                 # ICMPv6 of one byte
g.send(E() / IPv6(src="ff02::1", dst=R) / ICMPv6EchoRequest(id=1, seq=999))
ok(g.quiet(lambda p: ICMPv6EchoReply in p, m), "truncated, over-long, wrong-version and multicast-source packets: nothing back")
ping("then a valid echo: answered")

# ---- NDP ----
m = g.mark()
g.send(E() / IPv6(src=LL, dst="ff02::1:ff00:2", hlim=255) / ICMPv6ND_NS(tgt=R) / Raw(b"\x01\x00" + b"\0" * 6))
ok(g.quiet(na_for(R), m), "NS with an option of length 0: no NA (RFC 4861 7.1.1)")
m = g.mark()
g.send(E() / IPv6(src=LL, dst="ff02::1:ff00:2", hlim=64) / ICMPv6ND_NS(tgt=R) / ICMPv6NDOptSrcLLAddr(lladdr=GM))
ok(g.quiet(na_for(R), m), "NS with hop limit 64: no NA")
m = g.mark()
g.send(E() / IPv6(src=LL, dst="ff02::2", hlim=255) / ICMPv6ND_RS() / Raw(b"\x01\x00" + b"\0" * 6))
ok(g.quiet(is_ra, m), "RS with an option of length 0: no RA")
# the guest pretends to be the router
g.send(E() / IPv6(src=RLL, dst="ff02::1", hlim=255) / ICMPv6ND_RA() / ICMPv6NDOptSrcLLAddr(lladdr=GM) /
       ICMPv6NDOptPrefixInfo(prefix="2001:db8::", prefixlen=64))
g.send(E() / IPv6(src=LL, dst="ff02::1", hlim=255) / ICMPv6ND_NA(tgt=R, R=1, S=0, O=1) / ICMPv6NDOptDstLLAddr(lladdr=GM))
g.send(E() / IPv6(src=RLL, dst=GL, hlim=255) / ICMPv6ND_Redirect(tgt="fec0::66", dst=R))
m = g.mark()
g.send(E() / IPv6(src=LL, dst="ff02::1:ff00:2", hlim=255) / ICMPv6ND_NS(tgt=R) / ICMPv6NDOptSrcLLAddr(lladdr=GM))
r = g.wait(na_for(R), m)
ok(r is not None and r.src == GWM and r[ICMPv6NDOptDstLLAddr].lladdr == GWM and r.dst == GM,
   "after a rogue RA, NA and redirect: NS for fec0::2 still answered with 52:56:00:00:00:02")
m = g.mark()
g.send(E() / IPv6(src="::", dst="ff02::1:ff00:3", hlim=255) / ICMPv6ND_NS(tgt=DNS))
r = g.wait(na_for(DNS), m)
ok(r is not None and r[IPv6].dst == "ff02::1" and r[ICMPv6ND_NA].S == 0, "DAD probe for fec0::3: NA to all nodes, not solicited")
# a neighbour flood: 200 addresses, then the real guest still gets its answers
for i in range(200):
    g.send(Ether(src="02:00:00:00:%02x:%02x" % (i >> 8, i & 255), dst=GWM) /
           IPv6(src="fec0::99:%x" % i, dst="ff02::1", hlim=255) /
           ICMPv6ND_NA(tgt="fec0::99:%x" % i, O=1) / ICMPv6NDOptDstLLAddr(lladdr="02:00:00:00:%02x:%02x" % (i >> 8, i & 255)))
ping("after 200 neighbours: echo from the guest answered (learned again, table bounded)")
ping("echo to fe80::2 answered", dst=RLL, ext=None)
m = g.mark()
g.send(E() / IPv6(src=LL, dst="ff02::2", hlim=255) / ICMPv6ND_RS() / ICMPv6NDOptSrcLLAddr(lladdr=GM))
ok(g.wait(is_ra, m) is not None, "an RS still gets an RA after all of it")
sys.exit(0 if all(RESULTS) else 1)
EOF

scapy_guest_run "$T/hostile6.py" "$T/g.sock"
hostile_epilogue q
finish
