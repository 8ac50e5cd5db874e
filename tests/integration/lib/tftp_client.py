#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tftp_client.py - a small TFTP client for the tests (RRQ with any options, RFC 7440 windows).

Usage: tftp_client.py SERVER NAME OUT [--mode octet|netascii] [--opt NAME=VALUE]...
                      [--timeout S] [--drop-every N]
Prints one line: "ok bytes=N tid=PORT oack=k=v,k=v acks=N" or "error CODE MESSAGE" or
"fail REASON"; exit 0 only for ok. --drop-every N ignores every Nth DATA block once (the test
of retransmission / window restart). Every wait is bounded by --timeout (default 5 s per packet,
30 retries at most in total). Talks only to SERVER (the tests use 10.0.2.2 inside a namespace).
"""
import argparse
import socket
import struct
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("server")
    ap.add_argument("name")
    ap.add_argument("out")
    ap.add_argument("--mode", default="octet")
    ap.add_argument("--opt", action="append", default=[])
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--drop-every", type=int, default=0)
    a = ap.parse_args()

    opts = [o.split("=", 1) for o in a.opt]
    req = struct.pack("!H", 1) + a.name.encode() + b"\0" + a.mode.encode() + b"\0"
    for k, v in opts:
        req += k.encode() + b"\0" + v.encode() + b"\0"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(a.timeout)
    s.sendto(req, (a.server, 69))
    blksize, window = 512, 1
    tid = None
    oack = {}
    data = bytearray()
    expect = 1
    acks = 0
    retries = 0
    dropped = set()
    since_ack = 0
    while True:
        try:
            pkt, peer = s.recvfrom(70000)
        except socket.timeout:
            retries += 1
            if retries > 30 or tid is None:
                print("fail timeout")
                return 1
            # RFC 7440: on a timeout the receiver acknowledges the last block it got in order
            s.sendto(struct.pack("!HH", 4, (expect - 1) & 0xFFFF), (a.server, tid))
            acks += 1
            since_ack = 0
            continue
        if peer[0] != a.server:
            continue
        if tid is None:
            tid = peer[1]
        elif peer[1] != tid:
            s.sendto(struct.pack("!HH", 5, 5) + b"Unknown transfer ID\0", peer)
            continue
        op = struct.unpack("!H", pkt[:2])[0]
        if op == 5:
            code = struct.unpack("!H", pkt[2:4])[0]
            print("error %d %s" % (code, pkt[4:].split(b"\0")[0].decode(errors="replace")))
            return 2
        if op == 6:
            f = pkt[2:].split(b"\0")
            for i in range(0, len(f) - 1, 2):
                oack[f[i].decode().lower()] = f[i + 1].decode()
            blksize = int(oack.get("blksize", 512))
            window = int(oack.get("windowsize", 1))
            s.sendto(struct.pack("!HH", 4, 0), (a.server, tid))
            acks += 1
            continue
        if op != 3:
            print("fail opcode %d" % op)
            return 1
        blk = struct.unpack("!H", pkt[2:4])[0]
        if blk != (expect & 0xFFFF):
            continue    # out of order (a window restart sends it again)
        if a.drop_every and expect % a.drop_every == 0 and expect not in dropped:
            dropped.add(expect)
            continue
        payload = pkt[4:]
        data += payload
        last = len(payload) < blksize
        expect += 1
        since_ack += 1
        retries = 0
        if last or since_ack >= window:
            s.sendto(struct.pack("!HH", 4, (expect - 1) & 0xFFFF), (a.server, tid))
            acks += 1
            since_ack = 0
        if last:
            break
    if a.mode.lower() == "netascii":
        data = data.replace(b"\r\n", b"\n").replace(b"\r\0", b"\r")
    with open(a.out, "wb") as f:
        f.write(data)
    print("ok bytes=%d tid=%d oack=%s acks=%d" % (len(data), tid,
          ",".join("%s=%s" % kv for kv in oack.items()), acks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
