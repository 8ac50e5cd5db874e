#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# vhost_hostile.py SOCK - a hostile vhost-user front end against qnet's vhost-user server SOCK.
# Each case connects, misbehaves, and checks what qnet answers (or that it drops the connection);
# after every case qnet must still accept a new connection and answer GET_FEATURES.
# Prints "ok - ..." / "not ok - ..." lines (tests/lib.sh style); exit status 1 if any failed.
import mmap
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vhost_msgs import *  # noqa: E402,F403

SOCK = sys.argv[1]
failed = 0
FEAT = (1 << 32) | (1 << 15) | (1 << 29) | (1 << 30)


def res(cond, what):
    global failed
    print(("ok - " if cond else "not ok - ") + "hostile: " + what)
    if not cond:
        failed += 1


def conn():
    for _ in range(50):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(SOCK)
            s.settimeout(3)
            return s
        except OSError:
            s.close()
            time.sleep(0.1)  # the server accepts the next client once the last one is gone
    raise RuntimeError("cannot connect")


def send(s, data, fds=()):
    s.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("%di" % len(fds), *fds))]
              if fds else [])


def reply(s):
    """one reply: (req, payload) or None if the connection was closed / nothing came"""
    try:
        h = b""
        while len(h) < 12:
            c = s.recv(12 - len(h))
            if not c:
                return None
            h += c
        req, flags, size = struct.unpack("<III", h)
        p = b""
        while len(p) < size:
            c = s.recv(size - len(p))
            if not c:
                return None
            p += c
        return req, p
    except (socket.timeout, ConnectionResetError):
        return None


def closed(s):
    try:
        s.settimeout(3)
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def healthy():
    s = conn()
    send(s, msg(GET_FEATURES))
    r = reply(s)
    s.close()
    return r is not None and r[0] == GET_FEATURES and struct.unpack("<Q", r[1])[0] & (1 << 32)


def acked(s, data, fds=()):
    send(s, data, fds)
    r = reply(s)
    return None if r is None else struct.unpack("<Q", r[1])[0]


def start(s):
    send(s, u64(SET_FEATURES, FEAT))
    send(s, u64(SET_PROTOCOL_FEATURES, 1 << 3))


def guest_mem(size=65536):
    fd = os.memfd_create("hostile-guest")
    os.ftruncate(fd, size)
    return fd, mmap.mmap(fd, size)


# ---- malformed messages: the connection is dropped, qnet lives ----
for name, data, fds in [
    ("SET_FEATURES with a 2-byte payload", msg(SET_FEATURES, b"\x01\x02"), ()),
    ("GET_FEATURES with a payload", msg(GET_FEATURES, b"x" * 8), ()),
    ("a 1 MiB payload announced", msg(SET_OWNER, size=1 << 20), ()),
    ("version 2 in the flags", msg(GET_FEATURES, flags=2), ()),
    ("SET_VRING_ADDR of 12 bytes", msg(SET_VRING_ADDR, bytes(12)), ()),
    ("an fd with SET_OWNER", msg(SET_OWNER), "ev"),
    ("SET_VRING_KICK without its fd", u64(SET_VRING_KICK, 0), ()),
    ("SET_MEM_TABLE: 2 regions, 1 fd", mem_table([(0, 4096, UVA, 0), (8192, 4096, UVA + 8192, 0)]), "mem"),
    ("SET_MEM_TABLE: 9 regions", mem_table([(i * 4096, 4096, UVA + i * 4096, 0) for i in range(9)]), ()),
    ("GET_VRING_BASE of ring 200", state(GET_VRING_BASE, 200, 0), ()),
]:
    s = conn()
    extra = []
    if fds == "ev":
        extra = [os.eventfd(0)]
    elif fds == "mem":
        extra = [guest_mem()[0]]
    send(s, data, extra)
    res(closed(s), name + ": connection dropped")
    s.close()
    for f in extra:
        os.close(f)
    res(healthy(), name + ": qnet still answers")

# ---- well formed but impossible: refused with REPLY_ACK, connection kept ----
fd, m = guest_mem()
for name, regions in [
    ("overlapping regions", [(0, 65536, UVA, 0), (0x8000, 4096, UVA + 0x100000, 0)]),
    ("overlapping user addresses", [(0, 32768, UVA, 0), (0x100000, 32768, UVA + 4096, 0)]),
    ("region past the end of its file", [(0, 1 << 24, UVA, 0)]),
    ("region whose end overflows", [(0xfffffffffffff000, 0x2000, UVA, 0)]),
    ("mmap offset past the file", [(0, 4096, UVA, 1 << 20)]),
    ("empty region", [(0, 0, UVA, 0)]),
]:
    s = conn()
    start(s)
    fds = [fd] * len(regions)
    a = acked(s, mem_table(regions, flags=1 | NEED_REPLY), fds)
    res(a is not None and a != 0, name + ": refused (ack %r)" % a)
    s.close()
    res(healthy(), name + ": qnet still answers")

# a pipe instead of guest memory
s = conn()
start(s)
r, w = os.pipe()
a = acked(s, mem_table([(0, 4096, UVA, 0)], flags=1 | NEED_REPLY), [r])
res(a is not None and a != 0, "a pipe as guest memory: refused (ack %r)" % a)
os.close(r); os.close(w)
s.close()

# ring outside memory
s = conn()
start(s)
a = acked(s, mem_table([(0, 65536, UVA, 0)], flags=1 | NEED_REPLY), [fd])
res(a == 0, "a good memory table is accepted")
send(s, state(SET_VRING_NUM, 1, NUM))
a = acked(s, msg(SET_VRING_ADDR, struct.pack("<IIQQQQ", 1, 0, UVA + 0xFFF0, UVA + 0x2000,
                                             UVA + 0x1000, 0), 1 | NEED_REPLY))
res(a is not None and a != 0, "descriptor table outside memory: refused (ack %r)" % a)
a = acked(s, state(SET_VRING_NUM, 1, 6, 1 | NEED_REPLY))
res(a is not None and a != 0, "ring size 6 (not a power of two): refused (ack %r)" % a)
s.close()
res(healthy(), "after rings outside memory: qnet still answers")


# ---- a ring the guest breaks: descriptor loop, head out of range, buffer outside memory ----
def ring_case(name, descs, heads, idx=None):
    m[:] = bytes(len(m))
    s = conn()
    start(s)
    acked(s, mem_table([(0, 65536, UVA, 0)], flags=1 | NEED_REPLY), [fd])
    for i, base in ((0, 0x4000), (1, 0x8000)):
        send(s, state(SET_VRING_NUM, i, NUM))
        send(s, state(SET_VRING_BASE, i, 0))
        send(s, vring_addr(i, base))
    for d in descs:
        o, b = desc(*d)
        m[0x8000 + o:0x8000 + o + len(b)] = b
    o, b = avail(heads, idx)
    m[0x8000 + o:0x8000 + o + len(b)] = b
    kick, call = os.eventfd(0), os.eventfd(0, os.EFD_NONBLOCK)
    send(s, u64(SET_VRING_CALL, 1), [call])
    send(s, u64(SET_VRING_KICK, 1), [kick])
    a = acked(s, state(SET_VRING_ENABLE, 1, 1, 1 | NEED_REPLY))
    os.eventfd_write(kick, 1)
    time.sleep(0.3)
    used = struct.unpack_from("<H", m, 0x8000 + USED + 2)[0]
    send(s, state(GET_VRING_BASE, 1, 0))
    r = reply(s)
    s.close()
    os.close(kick); os.close(call)
    res(a == 0 and used == 0 and r is not None and r[0] == GET_VRING_BASE,
        name + ": nothing used, ring stopped on request (ack %r, used %d)" % (a, used))
    res(healthy(), name + ": qnet still answers")


ring_case("descriptor loop", [(0, 0xC000, 12, 1, 1), (1, 0xC000, 12, 1, 0)], [0])
ring_case("descriptor chained to itself", [(2, 0xC000, 12, 1, 2)], [2])
ring_case("head index out of range", [], [NUM + 5])
ring_case("next index out of range", [(0, 0xC000, 12, 1, 300)], [0])
ring_case("buffer outside guest memory", [(0, 0x100000, 64)], [0])
ring_case("buffer running past the region", [(0, 0xFFF0, 64)], [0])
ring_case("avail index jumping past the ring", [(0, 0xC000, 64)], [0], idx=1000)

# and a good frame on the same ring layout is used (the walker works at all)
m[:] = bytes(len(m))
s = conn()
start(s)
acked(s, mem_table([(0, 65536, UVA, 0)], flags=1 | NEED_REPLY), [fd])
send(s, state(SET_VRING_NUM, 1, NUM))
send(s, state(SET_VRING_BASE, 1, 0))
send(s, vring_addr(1, 0x8000))
frame = bytes(12) + b"\xff" * 6 + b"\x52\x54\x00\x12\x34\x99" + b"\x08\x06" + bytes(46)
m[0xC000:0xC000 + len(frame)] = frame
o, b = desc(0, 0xC000, len(frame))
m[0x8000 + o:0x8000 + o + 16] = b
o, b = avail([0])
m[0x8000 + o:0x8000 + o + len(b)] = b
kick = os.eventfd(0)
send(s, u64(SET_VRING_KICK, 1), [kick])
acked(s, state(SET_VRING_ENABLE, 1, 1, 1 | NEED_REPLY))
os.eventfd_write(kick, 1)
time.sleep(0.3)
used = struct.unpack_from("<H", m, 0x8000 + USED + 2)[0]
res(used == 1, "a good TX frame is taken (used index %d)" % used)
s.close()
os.close(kick)
res(healthy(), "at the end: qnet still answers")
sys.exit(1 if failed else 0)
