# SPDX-License-Identifier: MIT
# scapy_guest.py - a fake guest for the hostile-input tests (69, 71, 72): it speaks QEMU's stream
# framing (4-byte big-endian length + frame) to a qnet stream netdev, records every frame qnet sends
# back (parsed by scapy), and can answer the stack's ARP requests for its own address.
#
#   g = Guest(path, arp=(guest_mac, guest_ip))   connect; arp=None: ARP requests are not answered
#   g.send(pkt)                                  one frame to qnet
#   g.mark()                                     where the next recorded frame will be
#   g.wait(pred, since, timeout)                 first frame after `since` matching pred, or None
#   g.quiet(pred, since, timeout)                True when nothing matching came within timeout
#   g.all(pred, since, timeout)                  every frame matching pred within timeout
#   ok(cond, desc)                               print "ok - desc" / "not ok - desc", remember it
#
# Every wait is bounded by its timeout; a closed stream ends the test (SystemExit).
import select, socket, struct, time

from scapy.all import Ether, ARP

RESULTS = []


def ok(cond, desc):
    print(("ok - " if cond else "not ok - ") + desc, flush=True)
    RESULTS.append(bool(cond))
    return cond


class Guest:
    def __init__(self, path, arp=None, wait_timeout=3.0, quiet_timeout=1.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.buf = b""
        self.frames = []
        self.arp = arp
        self.wait_timeout = wait_timeout
        self.quiet_timeout = quiet_timeout

    def send(self, pkt):
        b = bytes(pkt)
        self.s.sendall(struct.pack(">I", len(b)) + b)

    def pump(self, t):
        r, _, _ = select.select([self.s], [], [], t)
        if not r:
            return
        d = self.s.recv(1 << 20)
        if not d:
            raise SystemExit("qnet closed the stream")
        self.buf += d
        while len(self.buf) >= 4:
            n = struct.unpack(">I", self.buf[:4])[0]
            if len(self.buf) < 4 + n:
                break
            p = Ether(self.buf[4:4 + n])
            self.buf = self.buf[4 + n:]
            if self.arp and ARP in p and p[ARP].op == 1 and p[ARP].pdst == self.arp[1]:
                mac, ip = self.arp
                self.send(Ether(src=mac, dst=p.src) /
                          ARP(op=2, hwsrc=mac, psrc=ip, hwdst=p.src, pdst=p[ARP].psrc))
            self.frames.append(p)

    def mark(self):
        return len(self.frames)

    def wait(self, pred, since, timeout=None):
        """first frame after `since` matching pred, or None after timeout"""
        end = time.time() + (self.wait_timeout if timeout is None else timeout)
        i = since
        while True:
            while i < len(self.frames):
                if pred(self.frames[i]):
                    return self.frames[i]
                i += 1
            left = end - time.time()
            if left <= 0:
                return None
            self.pump(min(left, 0.1))

    def quiet(self, pred, since, timeout=None):
        return self.wait(pred, since, self.quiet_timeout if timeout is None else timeout) is None

    def all(self, pred, since, timeout):
        self.wait(lambda p: False, since, timeout)
        return [p for p in self.frames[since:] if pred(p)]
