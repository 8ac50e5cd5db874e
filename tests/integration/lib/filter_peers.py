#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# filter_peers.py - Python peers for the filter tests 55..58 (QEMU stream framing over unix sockets).
#
# Every socket is a unix socket under the test's directory D (qnet: s1.sock and s2.sock stream
# netdevs on one hub, q.mon the monitor; chardev sockets as named per command).
#   mirror D           55: m1 mirrors s1 (all, plain framing), m2 mirrors s2 (rx, vnet_hdr);
#                      checks copies, pass-through, a gone and a non-reading mirror peer
#   redirect D         56: r1 redirects s1 tx out to o1.sock and injects what i1.sock sends
#   inject-all D       56: r2 (queue=all, indev i1 only): injected frames go both ways (QEMU)
#   buffer D MS        57: frames through a filter-buffer with interval MS are delayed, in order
#   traffic D N TAG    58: c1 sends N data frames (src 02:00:00:00:TAG:i) to c2, one at a time;
#                      prints "probes P", "got K", "maxlat MS" (the slowest frame's delay)
# Prints "# ..." diagnostics and one "ok"/"fail: ..." line per check; exit status 1 if any failed.
import socket
import struct
import sys
import time

FAILED = []


def check(desc, cond):
    print(("ok " if cond else "fail: ") + desc, flush=True)
    if not cond:
        FAILED.append(desc)


def frame(src, typ, i, size):
    hdr = b"\xff" * 6 + bytes.fromhex(src.replace(":", "")) + struct.pack(">H", typ)
    return hdr + bytes([(i * 7 + k) & 0xff for k in range(size - len(hdr))])


class Conn:
    """A framed unix stream connection (optionally with QEMU's vnet header length field)."""

    def __init__(self, path, vnet=False):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.s.settimeout(0.1)
        self.buf, self.vnet, self.vnet_lens = b"", vnet, []

    def send(self, f):
        self.s.sendall(struct.pack(">I", len(f)) + f)

    def frames(self, timeout, want=None):
        """Read for up to timeout s (stop early after a quiet 0.3 s once something came, or at want)."""
        end, out, quiet = time.time() + timeout, [], None
        hl = 8 if self.vnet else 4
        while time.time() < end:
            try:
                chunk = self.s.recv(1 << 20)
            except socket.timeout:
                if out and quiet and time.time() - quiet > 0.3:
                    break
                continue
            if not chunk:
                break
            quiet = time.time()
            self.buf += chunk
            while len(self.buf) >= hl:
                n = struct.unpack(">I", self.buf[:4])[0]
                if len(self.buf) < hl + n:
                    break
                if self.vnet:
                    self.vnet_lens.append(struct.unpack(">I", self.buf[4:8])[0])
                out.append(self.buf[hl:hl + n])
                self.buf = self.buf[hl + n:]
            if want is not None and len(out) >= want:
                break
        return out

    def close(self):
        self.s.close()


def hmp(path, cmd):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(path)
    buf = b""

    def until_prompt():
        nonlocal buf
        end = time.time() + 10
        while b"(qemu) " not in buf and time.time() < end:
            d = s.recv(65536)
            if not d:
                break
            buf += d
        i = buf.find(b"(qemu) ")
        out, buf = (buf[:i], buf[i + 7:]) if i >= 0 else (buf, b"")
        return out.decode(errors="replace").replace("\r\n", "\n")

    until_prompt()
    s.sendall(cmd.encode() + b"\n")
    out = until_prompt()
    s.close()
    if out.startswith(cmd + "\n"):
        out = out.split("\n", 1)[1]
    return out


def wait_chardevs(d, ids, up=True, timeout=10):
    """Until info chardev shows every id connected (or disconnected when up is False)."""
    end = time.time() + timeout
    while time.time() < end:
        info = hmp(d + "/q.mon", "info chardev")
        lines = {l.split(":", 1)[0]: l for l in info.splitlines() if ": filename=" in l}
        if all(i in lines and (("disconnected:" in lines[i]) != up) for i in ids):
            return True
        time.sleep(0.1)
    return False


def pair(d):
    """c1 on s1, c2 on s2; probes (0x88b6) from c1 until c2 hears one. Returns c1, c2, probes."""
    c1, c2 = Conn(d + "/s1.sock"), Conn(d + "/s2.sock")
    probes = 0
    for _ in range(50):
        c1.send(frame("02:00:00:00:00:99", 0x88b6, probes, 60))
        probes += 1
        if c2.frames(0.2):
            break
    else:
        check("c2 hears c1's probes", False)
        sys.exit(1)
    c2.frames(0.3)
    return c1, c2, probes


def data(got):
    return [f for f in got if f[12:14] == b"\x88\xb5"]


def collect(conn, n, timeout=5.0):
    got = []
    end = time.time() + timeout
    while len(got) < n and time.time() < end:
        got += data(conn.frames(min(1.0, end - time.time()) + 0.05, want=n - len(got)))
    return got


def cmd_mirror(d):
    m1, m2 = Conn(d + "/m1.sock"), Conn(d + "/m2.sock", vnet=True)
    check("both mirror chardevs report a connected peer", wait_chardevs(d, ["m1", "m2"]))
    c1, c2, probes = pair(d)
    sizes = [60, 61, 100, 200, 512, 1000, 1514, 4000, 60, 64, 9000, 65]
    sent1 = [frame("02:00:00:00:01:%02x" % i, 0x88b5, i, sizes[i % len(sizes)]) for i in range(12)]
    sent2 = [frame("02:00:00:00:02:%02x" % i, 0x88b5, i, 60 + 13 * i) for i in range(7)]
    for f in sent1:
        c1.send(f)
    got2 = collect(c2, len(sent1))
    for f in sent2:
        c2.send(f)
    got1 = collect(c1, len(sent2))
    check("frames pass the mirror: c2 got c1's %d, c1 got c2's %d" % (len(got2), len(got1)),
          got2 == sent1 and got1 == sent2)
    mir1 = m1.frames(3.0, want=probes + len(sent1) + len(sent2))
    print("# m1 got %d records (probes %d)" % (len(mir1), probes))
    want1 = [frame("02:00:00:00:00:99", 0x88b6, i, 60) for i in range(probes)] + sent1 + sent2
    check("m1 (queue=all): exactly the %d frames s1 sent and received, bytes equal, in order"
          % len(want1), mir1 == want1)
    mir2 = m2.frames(2.0)
    d2 = data(mir2)
    check("m2 (queue=rx, vnet_hdr_support=on): exactly c1's %d data frames (got %d)"
          % (len(sent1), len(d2)), d2 == sent1)
    check("m2: no frame sent by s2 itself (%d records)" % len(mir2),
          all(f[6:11] != bytes.fromhex("0200000002") for f in mir2))
    check("m2: every record carries vnet_hdr_len 0 (%d records)" % len(m2.vnet_lens),
          len(m2.vnet_lens) == len(mir2) and set(m2.vnet_lens) == {0})
    # the m1 peer goes away: frames still pass, m2 still mirrors
    m1.close()
    check("m1 disconnected in info chardev", wait_chardevs(d, ["m1"], up=False))
    more = [frame("02:00:00:00:03:%02x" % i, 0x88b5, i, 100) for i in range(5)]
    for f in more:
        c1.send(f)
    check("with m1's peer gone, frames still pass", collect(c2, 5) == more)
    check("with m1's peer gone, m2 still mirrors them", data(m2.frames(2.0, want=5)) == more)
    # a mirror peer that never reads: qnet drops copies instead of blocking
    m1 = Conn(d + "/m1.sock")
    m1.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    check("m1 reconnected (a peer that won't read)", wait_chardevs(d, ["m1"]))
    n, big = 1500, 1400
    got, sent_n = 0, 0
    end = time.time() + 30
    while sent_n < n and time.time() < end:
        for _ in range(50):
            c1.send(frame("02:00:00:00:04:00", 0x88b5, sent_n, big))
            sent_n += 1
        got += len(data(c2.frames(0.02)))
    got += len(collect(c2, n - got, timeout=10))
    check("a non-reading mirror peer does not stall qnet: %d of %d frames passed (%d MB)"
          % (got, n, n * big >> 20), got == n)
    m2.close()
    m1.close()


def cmd_redirect(d):
    out, inj = Conn(d + "/o1.sock"), Conn(d + "/i1.sock")
    check("redirector chardevs o1, i1 report a connected peer", wait_chardevs(d, ["o1", "i1"]))
    c1 = Conn(d + "/s1.sock")
    c2 = Conn(d + "/s2.sock")
    # frames c2 sends reach s1's peer (rx of s1) and pass: redirector queue=tx only
    time.sleep(0.3)
    back = [frame("02:00:00:00:02:%02x" % i, 0x88b5, i, 80 + i) for i in range(6)]
    for f in back:
        c2.send(f)
    check("rx frames pass the tx redirector: c1 got c2's 6", collect(c1, 6) == back)
    # frames c1 sends (tx of s1) go to o1 and no longer reach c2
    sent = [frame("02:00:00:00:01:%02x" % i, 0x88b5, i, [60, 1514, 300, 9000][i % 4])
            for i in range(10)]
    for f in sent:
        c1.send(f)
    red = out.frames(3.0, want=len(sent))
    check("outdev o1 got exactly the 10 frames c1 sent, QEMU-framed, in order", red == sent)
    check("redirected frames no longer reach c2", collect(c2, 1, timeout=1.0) == [])
    # frames written to i1 are injected as sent by s1: they reach c2 (and not c1: queue=tx)
    inj_frames = [frame("02:00:00:00:05:%02x" % i, 0x88b5, i, [64, 1000, 65000][i % 3])
                  for i in range(9)]
    blob = b"".join(struct.pack(">I", len(f)) + f for f in inj_frames)
    for k in range(0, len(blob), 777):         # split anywhere
        inj.s.sendall(blob[k:k + 777])
        time.sleep(0.001)
    check("indev frames injected after the filter reach c2 intact, in order",
          collect(c2, len(inj_frames)) == inj_frames)
    check("queue=tx injection does not go back out through s1", collect(c1, 1, timeout=1.0) == [])
    # an empty frame and then a valid one: the empty one is skipped
    inj.s.sendall(struct.pack(">I", 0) + struct.pack(">I", 70) + frame("02:00:00:00:06:00", 0x88b5, 1, 70))
    got = collect(c2, 1)
    check("a zero-length indev frame is skipped, the next one arrives", len(got) == 1 and len(got[0]) == 70)
    # an oversized length closes the indev connection (QEMU's message), qnet goes on
    inj.s.sendall(struct.pack(">I", 69633) + b"\0" * 69633)
    check("oversized indev frame: qnet drops the indev connection",
          wait_chardevs(d, ["i1"], up=False))
    inj2 = Conn(d + "/i1.sock")
    check("a new indev peer is accepted", wait_chardevs(d, ["i1"]))
    f = frame("02:00:00:00:07:00", 0x88b5, 2, 128)
    inj2.send(f)
    check("frames from the new indev peer are injected", collect(c2, 1) == [f])
    for c in (out, inj2, c1, c2):
        c.close()


def cmd_inject_all(d):
    c1, c2 = Conn(d + "/s1.sock"), Conn(d + "/s2.sock")
    inj = Conn(d + "/i1.sock")
    check("i1 reports a connected peer", wait_chardevs(d, ["i1"]))
    time.sleep(0.3)
    fs = [frame("02:00:00:00:08:%02x" % i, 0x88b5, i, 200 + i) for i in range(3)]
    for f in fs:
        inj.send(f)
    check("queue=all: injected frames reach s1's peer side (c2)", collect(c2, 3) == fs)
    check("queue=all: and go out through s1 itself (c1), as QEMU does", collect(c1, 3) == fs)
    # frames that hit a redirector without outdev pass on
    f = frame("02:00:00:00:01:ff", 0x88b5, 3, 300)
    c1.send(f)
    check("without outdev, frames hitting the redirector pass on", collect(c2, 1) == [f])
    for c in (c1, c2, inj):
        c.close()


def cmd_buffer(d, ms):
    c1, c2, probes = pair(d)
    n = 20
    delays, order = [], []
    sent = []
    for i in range(n):
        f = frame("02:00:00:00:01:%02x" % i, 0x88b5, i, 100 + i)
        sent.append(f)
        t0 = time.time()
        c1.send(f)
        got = collect(c2, 1, timeout=5.0)
        delays.append((time.time() - t0) * 1000)
        order += got
        time.sleep(0.013 * (i % 4))
    print("# delays ms: " + " ".join("%.0f" % x for x in delays))
    check("all %d frames arrive through the buffer, in order" % n, order == sent)
    mean = sum(delays) / n
    check("frames are held: mean delay %.0f ms, between 1/4 and 5/4 of the %d ms interval"
          % (mean, ms), ms * 0.25 <= mean <= ms * 1.25)
    check("no frame waits much longer than one interval (max %.0f ms <= %d)"
          % (max(delays), ms * 2 + 150), max(delays) <= ms * 2 + 150)
    check("some frame waits at least half an interval (max %.0f ms)" % max(delays),
          max(delays) >= ms * 0.5)
    # a burst keeps its order
    burst = [frame("02:00:00:00:02:%02x" % i, 0x88b5, i, 60 + (i * 37) % 1400) for i in range(200)]
    for f in burst:
        c1.send(f)
    check("a burst of 200 frames is released in order", collect(c2, 200) == burst)
    # status off: frames pass at once
    out = hmp(d + "/q.mon", "qom-set b0 status off")
    check("qom-set b0 status off prints nothing (got %r)" % out, out == "")
    t = []
    for i in range(5):
        f = frame("02:00:00:00:03:%02x" % i, 0x88b5, i, 90)
        t0 = time.time()
        c1.send(f)
        ok = collect(c2, 1, timeout=3.0) == [f]
        t.append((time.time() - t0) * 1000 if ok else 1e9)
    print("# status=off delays ms: " + " ".join("%.0f" % x for x in t))
    check("status=off: frames pass without the buffer delay (max %.0f ms < %d)" % (max(t), ms // 2),
          max(t) < ms // 2)
    out = hmp(d + "/q.mon", "qom-set b0 status on")
    f = frame("02:00:00:00:03:ff", 0x88b5, 9, 90)
    t0 = time.time()
    c1.send(f)
    got = collect(c2, 1, timeout=5.0)
    ms_on = (time.time() - t0) * 1000
    check("status=on again: frames are buffered and released (%.0f ms)" % ms_on, got == [f])
    c1.close()
    c2.close()


def cmd_traffic(d, n, tag):
    c1, c2, probes = pair(d)
    sent = [frame("02:00:00:00:%02x:%02x" % (tag, i), 0x88b5, i, 60 + 9 * i) for i in range(n)]
    got, lat = [], []
    for f in sent:                  # one at a time: the latency shows whether a buffer holds it
        t0 = time.time()
        c1.send(f)
        got += collect(c2, 1)
        lat.append((time.time() - t0) * 1000)
    print("probes %d" % probes)
    print("got %d" % len(got))
    print("maxlat %d" % max(lat))
    check("c2 got the %d frames (tag %02x) intact" % (n, tag), got == sent)
    c1.close()
    c2.close()


def main():
    cmd, d = sys.argv[1], sys.argv[2]
    if cmd == "mirror":
        cmd_mirror(d)
    elif cmd == "redirect":
        cmd_redirect(d)
    elif cmd == "inject-all":
        cmd_inject_all(d)
    elif cmd == "buffer":
        cmd_buffer(d, int(sys.argv[3]))
    elif cmd == "traffic":
        cmd_traffic(d, int(sys.argv[3]), int(sys.argv[4], 16))
    else:
        print("fail: unknown command " + cmd)
        sys.exit(2)
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
