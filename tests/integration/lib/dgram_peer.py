#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# dgram_peer.py - Python peers for 31-dgram.sh: exchange frames with qnet's dgram netdevs.
#
# Every address is given on the command line; the test passes only 127.0.0.1, unix paths, and a
# multicast group used with IP_MULTICAST_IF/membership on 127.0.0.1 (loopback only).
#
#   relay A B COUNT      frames sent on endpoint A must arrive intact, in order, on endpoint B
#   burst A B WINDOWS W  W frames at a time, WINDOWS times: none lost, all in order
#   mcast-in GROUP:PORT B COUNT   frames multicast on loopback arrive on endpoint B
#   mcast-out A GROUP:PORT COUNT  frames sent on A are multicast by qnet to the group
#
# An endpoint is udp:BINDPORT:TOPORT (127.0.0.1) or unix:BINDPATH:TOPATH.
import os
import random
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


TIMEOUT = 3.0


def endpoint(spec):
    kind, a, b = spec.split(":", 2)
    if kind == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        bigbufs(s)
        s.bind(("127.0.0.1", int(a)))
        dest = ("127.0.0.1", int(b))
    else:
        if os.path.exists(a):
            os.unlink(a)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        bigbufs(s)
        s.bind(a)
        dest = b
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.settimeout(TIMEOUT)
    return s, dest


def frame(i, size):
    """An Ethernet-looking frame: broadcast dst, a sequence number, random payload."""
    hdr = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x88\xb5" + struct.pack("!I", i)
    if size <= len(hdr):
        return hdr[:size]
    return hdr + random.randbytes(size - len(hdr))


def expect(sock, want, what):
    try:
        got = sock.recv(70000)
    except socket.timeout:
        print(f"# {what}: nothing arrived within {TIMEOUT}s")
        return False
    if got != want:
        print(f"# {what}: got {len(got)} bytes, want {len(want)}; first bytes {got[:20].hex()}")
        return False
    return True


def relay(a, b, count):
    sa, da = endpoint(a)
    sb, _ = endpoint(b)
    sizes = [14, 20, 59, 60, 61, 64, 128, 1000, 1514, 1518, 4000, 9014, 16000, 60000]
    ok = True
    for i in range(count):
        f = frame(i, sizes[i % len(sizes)])
        sa.sendto(f, da)
        ok = expect(sb, f, f"frame {i} ({len(f)} bytes)") and ok
    return ok


def burst(a, b, windows, w):
    sa, da = endpoint(a)
    sb, _ = endpoint(b)
    n = 0
    for _ in range(windows):
        sent = []
        for _ in range(w):
            f = frame(n, 60 + n % 1400)
            n += 1
            sa.sendto(f, da)
            sent.append(f)
        for f in sent:
            if not expect(sb, f, f"burst frame {struct.unpack('!I', f[14:18])[0]}"):
                return False
    return True


def mcast_socket(group, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    bigbufs(s)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((group, port))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                 socket.inet_aton(group) + socket.inet_aton("127.0.0.1"))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 0)
    s.settimeout(TIMEOUT)
    return s


def mcast_in(gp, b, count):
    group, port = gp.split(":")
    sm = mcast_socket(group, int(port))
    sb, _ = endpoint(b)
    ok = True
    for i in range(count):
        f = frame(i, 100 + i)
        sm.sendto(f, (group, int(port)))
        ok = expect(sb, f, f"multicast frame {i}") and ok
    return ok


def mcast_out(a, gp, count):
    group, port = gp.split(":")
    sm = mcast_socket(group, int(port))
    sa, da = endpoint(a)
    ok = True
    for i in range(count):
        f = frame(i, 200 + i)
        sa.sendto(f, da)
        ok = expect(sm, f, f"frame {i} multicast by qnet") and ok
        # QEMU's quirk, kept: a member hears its own group traffic, so qnet's hub
        # gets the frame back and floods it to A's peer once
        ok = expect(sa, f, f"frame {i} looped back by the group") and ok
    return ok


def main():
    cmd = sys.argv[1]
    random.seed(int(time.time()))
    if cmd == "relay":
        ok = relay(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "burst":
        ok = burst(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif cmd == "mcast-in":
        ok = mcast_in(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "mcast-out":
        ok = mcast_out(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        print(f"# unknown command {cmd}")
        ok = False
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
