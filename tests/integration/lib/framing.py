#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# framing.py - test peers that speak QEMU's stream framing (4-byte BE length + frame) or raw UDP.
#
# Endpoint specs:  unix:PATH | tcp:HOST:PORT (stream, framed) |
#                  udp:LHOST:LPORT:RHOST:RPORT (one frame per datagram) |
#                  mcast:GROUP:PORT:LOCALADDR (multicast on LOCALADDR, loop on)
# Commands (exit 0 on success, diagnostics on stderr prefixed with "# "):
#   mesh [--count N] [--size S] [--timeout T] SPEC...
#       every endpoint sends N frames (broadcast dst, its own src MAC); every endpoint must get
#       exactly the N frames of each other endpoint, in order per sender, and none of its own
#       (mcast endpoints also hear themselves and skip that).
#   closes SPEC PAYLOAD [--expect closed|open] [--wait T] [--observer SPEC --expect-lens L,L]
#       connect, send PAYLOAD, check whether qnet closes the connection within T seconds; with
#       --observer, another connection on the same hub must see frames of exactly these lengths.
#       PAYLOAD: comma-separated items hex:HEX | len:N (a 4-byte BE length) | frame:N (a whole
#       frame of N bytes) | junk:N (N bytes) | pause:SECONDS
#   flood SPEC SECONDS [--size S]
#       send frames as fast as possible for SECONDS while reading; print "sent N recv M".
#   sink SPEC SECONDS FILE
#       read frames for SECONDS, writing the running count to FILE every 0.2 s.
#   hold SPEC SECONDS
#       connect and stay connected without reading (the kernel buffers fill), then exit.
import argparse
import os
import select
import socket
import struct
import sys
import time

def bigbufs(s):
    """Large datagram buffers (root may exceed rmem_max), so a burst is not lost here."""
    for opt, force in ((socket.SO_RCVBUF, 33), (socket.SO_SNDBUF, 32)):
        try:
            s.setsockopt(socket.SOL_SOCKET, force, 4 << 20)
        except OSError:
            s.setsockopt(socket.SOL_SOCKET, opt, 4 << 20)


ETHERTYPE = 0x88B5  # IEEE local experimental
MAGIC = b"QNETTEST"


def log(msg):
    print("# " + msg, file=sys.stderr, flush=True)


def mkframe(src, seq, size=64):
    """An Ethernet frame: broadcast dst, src MAC 52:54:00:00:00:src, marker, sender, sequence."""
    hdr = b"\xff" * 6 + bytes([0x52, 0x54, 0, 0, 0, src & 0xFF]) + struct.pack(">H", ETHERTYPE)
    body = MAGIC + struct.pack(">BI", src & 0xFF, seq)
    f = hdr + body
    return f + bytes((i & 0xFF) for i in range(max(0, size - len(f))))


def parse(frame):
    """(src, seq) of a frame made by mkframe, else None."""
    if len(frame) < 14 + len(MAGIC) + 5 or frame[14:14 + len(MAGIC)] != MAGIC:
        return None
    src, seq = struct.unpack(">BI", frame[14 + len(MAGIC):14 + len(MAGIC) + 5])
    return src, seq


class Stream:
    """A framed stream connection."""

    def __init__(self, spec, timeout=10.0):
        kind, _, rest = spec.partition(":")
        end = time.time() + timeout
        while True:
            try:
                if kind == "unix":
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.connect(rest)
                else:
                    host, _, port = rest.rpartition(":")
                    s = socket.create_connection((host.strip("[]"), int(port)), timeout=2)
                break
            except OSError as e:
                if time.time() > end:
                    raise RuntimeError(f"connect {spec}: {e}")
                time.sleep(0.1)
        s.setblocking(False)
        self.sock = s
        self.buf = bytearray()
        self.eof = False
        self.spec = spec
        self.self_hears = False

    def fileno(self):
        return self.sock.fileno()

    def send(self, frame, timeout=10.0):
        self.send_raw(struct.pack(">I", len(frame)) + frame, timeout)

    def send_raw(self, data, timeout=10.0):
        end = time.time() + timeout
        view = memoryview(data)
        while view:
            try:
                n = self.sock.send(view)
                view = view[n:]
            except BlockingIOError:
                if time.time() > end:
                    raise RuntimeError(f"send to {self.spec} timed out")
                select.select([], [self.sock], [], 0.1)

    def pump(self, max_reads=64):
        """Read what is there (at most max_reads chunks); return the complete frames."""
        out = []
        for _ in range(max_reads):
            try:
                d = self.sock.recv(262144)
            except BlockingIOError:
                break
            except ConnectionResetError:
                self.eof = True
                break
            if not d:
                self.eof = True
                break
            self.buf += d
        buf, off = self.buf, 0
        while len(buf) - off >= 4:
            n = struct.unpack_from(">I", buf, off)[0]
            if len(buf) - off < 4 + n:
                break
            out.append(bytes(buf[off + 4:off + 4 + n]))
            off += 4 + n
        self.buf = buf[off:]
        return out

    def close(self):
        self.sock.close()


class Dgram:
    """udp:LHOST:LPORT:RHOST:RPORT or mcast:GROUP:PORT:LOCALADDR."""

    def __init__(self, spec):
        kind, _, rest = spec.partition(":")
        p = rest.split(":")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        bigbufs(s)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if kind == "udp":
            s.bind((p[0], int(p[1])))
            self.dst = (p[2], int(p[3]))
            self.self_hears = False
        else:
            group, port, local = p[0], int(p[1]), p[2]
            s.bind((group, port))
            mreq = socket.inet_aton(group) + socket.inet_aton(local)
            s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(local))
            self.dst = (group, port)
            self.self_hears = True
        s.setblocking(False)
        self.sock = s
        self.eof = False
        self.spec = spec

    def fileno(self):
        return self.sock.fileno()

    def send(self, frame, timeout=10.0):
        end = time.time() + timeout
        while True:
            try:
                self.sock.sendto(frame, self.dst)
                return
            except BlockingIOError:
                if time.time() > end:
                    raise RuntimeError("sendto timed out")
                select.select([], [self.sock], [], 0.1)

    def pump(self):
        out = []
        while True:
            try:
                out.append(self.sock.recv(70000))
            except BlockingIOError:
                break
        return out

    def close(self):
        self.sock.close()


def endpoint(spec):
    if spec.startswith(("udp:", "mcast:")):
        return Dgram(spec)
    return Stream(spec)


def cmd_mesh(a):
    eps = [endpoint(s) for s in a.specs]
    time.sleep(a.settle)
    n = len(eps)
    got = [dict() for _ in eps]  # receiver -> {src: [seqs]}
    sent = 0
    for seq in range(a.count):
        for i, ep in enumerate(eps):
            ep.send(mkframe(i + 1, seq, a.size))
            sent += 1
        if seq % 16 == 15:
            collect(eps, got, 0)
    end = time.time() + a.timeout
    while time.time() < end:
        collect(eps, got, 0.1)
        if all(complete(got[i], i, n, a.count) for i in range(n)):
            break
    ok = True
    for i, ep in enumerate(eps):
        for j in range(n):
            seqs = got[i].get(j + 1, [])
            if j == i:
                if seqs and not ep.self_hears and not a.allow_self:
                    log(f"{ep.spec} got {len(seqs)} of its own frames")
                    ok = False
                continue
            if seqs != list(range(a.count)):
                log(f"{ep.spec} got {len(seqs)}/{a.count} frames from {a.specs[j]}"
                    f" (in order: {seqs == sorted(seqs)})")
                ok = False
        other = got[i].get(None, 0)
        if other:
            log(f"{ep.spec} got {other} foreign frames")
    log(f"mesh: {n} endpoints, {sent} frames sent, ok={ok}")
    return 0 if ok else 1


def complete(g, i, n, count):
    return all(len(g.get(j + 1, [])) >= count for j in range(n) if j != i)


def collect(eps, got, timeout):
    r, _, _ = select.select(eps, [], [], timeout)
    for ep in r:
        i = eps.index(ep)
        for f in ep.pump():
            p = parse(f)
            if p is None:
                got[i][None] = got[i].get(None, 0) + 1
                continue
            got[i].setdefault(p[0], []).append(p[1])


def send_payload(ep, payload):
    for item in payload.split(","):
        kind, _, arg = item.partition(":")
        if kind == "hex":
            ep.send_raw(bytes.fromhex(arg))
        elif kind == "len":
            ep.send_raw(struct.pack(">I", int(arg, 0)))
        elif kind == "frame":
            f = mkframe(9, 0, int(arg))[:int(arg)]
            ep.send_raw(struct.pack(">I", len(f)) + f)
        elif kind == "junk":
            ep.send_raw(b"\xab" * int(arg))
        elif kind == "pause":
            time.sleep(float(arg))
        else:
            raise RuntimeError(f"bad payload item {item}")


def cmd_closes(a):
    obs = Stream(a.observer) if a.observer else None
    ep = Stream(a.spec)
    time.sleep(0.2)
    try:
        send_payload(ep, a.payload)
    except (BrokenPipeError, ConnectionResetError):
        ep.eof = True
    end = time.time() + a.wait
    lens = []
    while time.time() < end:
        select.select([ep] + ([obs] if obs else []), [], [], 0.1)
        if not ep.eof:
            ep.pump()
        if obs:
            lens += [len(f) for f in obs.pump()]
        if ep.eof and not obs:
            break
    state = "closed" if ep.eof else "open"
    log(f"{a.spec} after {a.payload[:40]}: {state}; observer saw lengths {lens[:10]}")
    ok = state == a.expect
    if obs is not None and a.expect_lens is not None:
        want = [int(x) for x in a.expect_lens.split(",") if x != ""]
        ok = ok and lens == want
    return 0 if ok else 1


def cmd_flood(a):
    ep = Stream(a.spec)
    sent = recv = 0
    start = time.time()
    end = start + a.seconds
    frame = mkframe(a.src, 0, a.size)
    data = struct.pack(">I", len(frame)) + frame
    batch = data * 64
    while time.time() < end:
        r, w, _ = select.select([ep], [ep], [], 0.01)
        if a.rate and sent >= a.rate * (time.time() - start):
            w = []  # paced: ahead of schedule
        if w:
            try:
                n = ep.sock.send(batch)
                sent += n // len(data)
                rest = n % len(data)
                if rest:  # finish the partial frame so the stream stays framed
                    ep.send_raw(data[rest:])
                    sent += 1
            except BlockingIOError:
                pass
        if r:
            recv += len(ep.pump())
    recv += len(ep.pump())
    print(f"sent {sent} recv {recv}", flush=True)
    return 0


def cmd_sink(a):
    ep = Stream(a.spec)
    count = 0
    end = time.time() + a.seconds
    last = 0.0
    while time.time() < end:
        select.select([ep], [], [], 0.1)
        count += len(ep.pump())
        if time.time() - last > 0.2:
            last = time.time()
            with open(a.file + ".tmp", "w") as f:
                f.write(f"{count}\n")
            os.replace(a.file + ".tmp", a.file)
    return 0


def cmd_hold(a):
    ep = Stream(a.spec)
    s = ep.sock
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    time.sleep(a.seconds)
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("mesh")
    m.add_argument("--count", type=int, default=50)
    m.add_argument("--size", type=int, default=64)
    m.add_argument("--timeout", type=float, default=10)
    m.add_argument("--settle", type=float, default=0.3)
    m.add_argument("--allow-self", action="store_true",
                   help="endpoints may hear their own frames (socket mcast= loops back)")
    m.add_argument("specs", nargs="+")
    c = sub.add_parser("closes")
    c.add_argument("spec")
    c.add_argument("payload")
    c.add_argument("--expect", choices=["closed", "open"], default="closed")
    c.add_argument("--wait", type=float, default=2)
    c.add_argument("--observer")
    c.add_argument("--expect-lens")
    f = sub.add_parser("flood")
    f.add_argument("spec")
    f.add_argument("seconds", type=float)
    f.add_argument("--size", type=int, default=1000)
    f.add_argument("--src", type=int, default=77)
    f.add_argument("--rate", type=int, default=0, help="frames per second (0: as fast as possible)")
    k = sub.add_parser("sink")
    k.add_argument("spec")
    k.add_argument("seconds", type=float)
    k.add_argument("file")
    h = sub.add_parser("hold")
    h.add_argument("spec")
    h.add_argument("seconds", type=float)
    a = ap.parse_args()
    try:
        return {"mesh": cmd_mesh, "closes": cmd_closes, "flood": cmd_flood,
                "hold": cmd_hold, "sink": cmd_sink}[a.cmd](a)
    except (RuntimeError, OSError) as e:
        log(f"error: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
