#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# segcheck.py UNIXPATH SECONDS OUT - connect to a qnet stream netdev (QEMU's 4-byte length framing),
# read frames for SECONDS (or until qnet closes), and check each one as a NIC without offloads
# would want it: no longer than 1514 bytes, and for IPv4/IPv6 TCP and UDP a valid IP header
# checksum and L4 checksum. Writes "frames N tcp N bad_len N bad_csum N max N" to OUT
# (updated every 0.5 s, so the test can read it while the peer runs).
import array
import socket
import struct
import sys
import time


def csum_ok(data):
    """One's complement sum over data is 0xffff."""
    if len(data) & 1:
        data += b"\0"
    a = array.array("H", data)
    if sys.byteorder == "little":
        a.byteswap()
    s = sum(a)
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s == 0xFFFF


def check(f, st):
    """Update the counters of st with frame f."""
    st["frames"] += 1
    st["max"] = max(st["max"], len(f))
    if len(f) > 1514:
        st["bad_len"] += 1
        return
    if len(f) < 14:
        return
    et = struct.unpack(">H", f[12:14])[0]
    if et == 0x0800 and len(f) >= 34:
        ihl = (f[14] & 15) * 4
        tot = struct.unpack(">H", f[16:18])[0]
        if not csum_ok(f[14:14 + ihl]):
            st["bad_csum"] += 1
            return
        if struct.unpack(">H", f[20:22])[0] & 0x3FFF:
            return  # a fragment: no whole L4 datagram
        proto, l4 = f[23], f[14 + ihl:14 + tot]
        pseudo = f[26:34] + struct.pack(">BBH", 0, proto, len(l4))
    elif et == 0x86DD and len(f) >= 54:
        plen = struct.unpack(">H", f[18:20])[0]
        proto, l4 = f[20], f[54:54 + plen]
        pseudo = f[22:54] + struct.pack(">IxxxB", len(l4), proto)
    else:
        return
    if proto not in (6, 17):
        return
    if proto == 6:
        st["tcp"] += 1
    if proto == 17 and len(l4) >= 8 and l4[6:8] == b"\0\0":
        return  # UDP over IPv4 without a checksum
    if not csum_ok(pseudo + l4):
        st["bad_csum"] += 1


def main():
    path, secs, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    st = {"frames": 0, "tcp": 0, "bad_len": 0, "bad_csum": 0, "max": 0}
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(0.5)
    buf = b""
    end = time.time() + secs
    last = 0.0

    def dump():
        with open(out + ".tmp", "w") as fh:
            fh.write("frames %(frames)d tcp %(tcp)d bad_len %(bad_len)d bad_csum %(bad_csum)d "
                     "max %(max)d\n" % st)
        import os
        os.replace(out + ".tmp", out)

    while time.time() < end:
        try:
            d = s.recv(1 << 20)
        except socket.timeout:
            d = None
        if d == b"":
            break
        if d:
            buf += d
            off = 0
            while len(buf) - off >= 4:
                n = struct.unpack(">I", buf[off:off + 4])[0]
                if len(buf) - off - 4 < n:
                    break
                check(buf[off + 4:off + 4 + n], st)
                off += 4 + n
            buf = buf[off:]
        if time.time() - last > 0.5:
            dump()
            last = time.time()
    dump()


if __name__ == "__main__":
    main()
