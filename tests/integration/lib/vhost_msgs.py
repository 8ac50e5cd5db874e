# SPDX-License-Identifier: MIT
# vhost_msgs.py - vhost-user front-end messages and a guest ring layout, shared by the hostile
# front end (45-vhost-user.sh) and the fuzz corpus generator (fuzz/corpus/fuzz_vhost_user).
import struct

GET_FEATURES, SET_FEATURES, SET_OWNER, RESET_OWNER, SET_MEM_TABLE = 1, 2, 3, 4, 5
SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE, GET_VRING_BASE = 8, 9, 10, 11
SET_VRING_KICK, SET_VRING_CALL, SET_VRING_ERR = 12, 13, 14
GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, GET_QUEUE_NUM, SET_VRING_ENABLE = 15, 16, 17, 18
NEED_REPLY = 8

# guest memory layout used by both: one region, gpa 0, user address UVA
UVA = 0x10000000
NUM = 8
DESC, AVAIL, USED, BUF = 0x0, 0x1000, 0x2000, 0x4000


def msg(req, payload=b"", flags=1, size=None):
    return struct.pack("<III", req, flags, len(payload) if size is None else size) + payload


def u64(req, v, flags=1):
    return msg(req, struct.pack("<Q", v), flags)


def state(req, idx, num, flags=1):
    return msg(req, struct.pack("<II", idx, num), flags)


def mem_table(regions, flags=1):
    """regions: (gpa, size, uva, offset) tuples"""
    p = struct.pack("<II", len(regions), 0)
    for r in regions:
        p += struct.pack("<QQQQ", *r)
    return msg(SET_MEM_TABLE, p, flags)


def vring_addr(idx, base, flags=1):
    return msg(SET_VRING_ADDR, struct.pack("<IIQQQQ", idx, 0, UVA + base + DESC,
                                          UVA + base + USED, UVA + base + AVAIL, 0), flags)


def desc(i, addr, length, fl=0, nxt=0):
    """bytes of descriptor i and its offset in the ring"""
    return DESC + 16 * i, struct.pack("<QIHH", addr, length, fl, nxt)


def avail(heads, idx=None):
    """avail ring: flags 0, idx, ring entries"""
    ring = b"".join(struct.pack("<H", h) for h in heads)
    return AVAIL, struct.pack("<HH", 0, len(heads) if idx is None else idx) + ring
