#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# gen_vhost_user.py - writes the seed corpus of fuzz/fuzz_vhost_user.c (command format there)
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../tests/integration/lib"))
from vhost_msgs import *  # noqa: E402,F403

OUT = os.path.join(os.path.dirname(__file__), "fuzz_vhost_user")
FEAT = (1 << 32) | (1 << 15) | (1 << 29) | (1 << 30) | 1 | 2 | (1 << 7) | (1 << 11)
TXB = 0x8000  # TX ring base (ring 1); ring 0 (RX) at 0


def cmd(op, b):
    return bytes([op]) + struct.pack("<H", len(b)) + b


def wmem(off, b):
    return cmd(4, struct.pack("<H", off) + b)


def setup(feat=FEAT):
    s = cmd(0, msg(GET_FEATURES)) + cmd(0, u64(SET_FEATURES, feat))
    s += cmd(0, msg(GET_PROTOCOL_FEATURES)) + cmd(0, u64(SET_PROTOCOL_FEATURES, 1 << 3))
    s += cmd(0, msg(SET_OWNER))
    s += cmd(1, mem_table([(0, 65536, UVA, 0)], flags=1 | NEED_REPLY))
    for idx, base in ((0, 0), (1, TXB)):
        s += cmd(0, state(SET_VRING_NUM, idx, NUM)) + cmd(0, state(SET_VRING_BASE, idx, 0))
        s += cmd(0, vring_addr(idx, base)) + cmd(2, u64(SET_VRING_KICK, idx))
        s += cmd(2, u64(SET_VRING_CALL, idx)) + cmd(0, state(SET_VRING_ENABLE, idx, 1))
    return s


frame = bytes(12) + b"\xff" * 6 + b"\x52\x54\x00\x12\x34\x56" + b"\x08\x06" + bytes(46)


def tx_ring(descs, heads, idx=None):
    s = b""
    for d in descs:
        o, b = desc(*d)
        s += wmem(TXB + o, b)
    o, b = avail(heads, idx)
    return s + wmem(TXB + o, b)


def rx_ring(n=4, size=2048):
    s = b""
    for i in range(n):
        o, b = desc(i, BUF + i * size, size, 2)
        s += wmem(o, b)
    o, b = avail(list(range(n)))
    return s + wmem(o, b)


seeds = {
    "good": setup() + wmem(0xC000, frame) + tx_ring([(0, 0xC000, len(frame))], [0]) + cmd(5, b"")
    + rx_ring() + cmd(6, frame[12:]) + cmd(6, bytes(3000)) + cmd(5, b""),
    "split-tx": setup() + wmem(0xC000, frame) +
    tx_ring([(0, 0xC000, 12, 1, 3), (3, 0xC00C, len(frame) - 12)], [0]) + cmd(5, b""),
    "loop": setup() + tx_ring([(0, 0xC000, 12, 1, 1), (1, 0xC000, 12, 1, 0)], [0]) + cmd(5, b""),
    "head-range": setup() + tx_ring([], [200]) + cmd(5, b""),
    "avail-jump": setup() + tx_ring([(0, 0xC000, 64)], [0], idx=500) + cmd(5, b""),
    "outside": setup() + tx_ring([(0, 0xFFF0, 64)], [0]) + cmd(5, b""),
    "rx-small": setup() + rx_ring(2, 16) + cmd(6, bytes(1500)) + cmd(5, b""),
    "rx-tso": setup() + rx_ring(8, 2048) + cmd(14, bytes(14) + b"\x45" + bytes(5000)),
    "overlap": cmd(0, u64(SET_PROTOCOL_FEATURES, 1 << 3)) +
    cmd(3, mem_table([(0, 65536, UVA, 0), (0x8000, 4096, UVA + 0x100000, 0)], 1 | NEED_REPLY)),
    "past-file": cmd(1, mem_table([(0, 1 << 20, UVA, 0)])),
    "overflow": cmd(1, mem_table([(0xfffffffffffff000, 0x2000, UVA, 0)])),
    "pipe-fd": cmd(7, mem_table([(0, 65536, UVA, 0)])),
    "wrong-size": cmd(0, msg(SET_FEATURES, b"\x01\x02")) + cmd(0, msg(GET_FEATURES)),
    "huge": cmd(0, msg(SET_OWNER, size=0x100000)),
    "ring-outside": setup() + cmd(0, vring_addr(1, 0xF000)),
    "fds-on-wrong-msg": cmd(2, msg(SET_OWNER)),
    "reset": setup() + cmd(0, state(GET_VRING_BASE, 1, 0)) + cmd(0, msg(RESET_OWNER)) + setup(),
}
os.makedirs(OUT, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
