#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# user_tool.py - small network tools for the -netdev user tests (60..66), one sub-command each.
#
#   hmp SOCK CMD...                  run HMP commands on qnet's unix monitor, print their output
#   dns SERVER NAME TYPE udp|tcp     one DNS query (TYPE A or AAAA), print the answers, one a line
#   connect HOST PORT [TIMEOUT]      TCP connect; print "connected" or the errno name (ECONNREFUSED,
#                                    EHOSTUNREACH, ETIMEDOUT...) and the seconds it took
#   tcp-echo PORT [ADDR]             TCP echo server (any number of clients); also answers "peer?\n"
#                                    with the client's address ("10.0.2.2:34567\n")
#   http PORT ADDR DIR               HTTP server for DIR (http.server without its reverse lookup of
#                                    ADDR, which would ask the system resolver); logs to stderr
#   udp-echo PORT [ADDR]             UDP echo server; "peer?" is answered with the client's address
#   udp-ask HOST PORT MSG [TIMEOUT]  send MSG over UDP (connected socket), print the reply, or
#                                    "timeout", or the errno name of an ICMP error (IP_RECVERR:
#                                    ECONNREFUSED, ENETUNREACH, EHOSTUNREACH...)
#   tcp-ask HOST PORT MSG [TIMEOUT]  connect, send MSG, shut down the write side, print everything
#                                    read until EOF
#   sink PORT ADDR                   accept one TCP connection, read to EOF, send back and print
#                                    "<bytes> <sha256>", close
#   source PORT ADDR BYTES SEED      accept one TCP connection, send BYTES of seeded pseudo-random
#                                    data, close; prints "<bytes> <sha256>"
#   send HOST PORT BYTES SEED [TMO]  connect, send BYTES of seeded data, half-close; print
#                                    "local <bytes> <sha256>" and "remote <the sink's reply>"
#   recv HOST PORT [TIMEOUT]         connect, read to EOF, print "<bytes> <sha256>"
#   hold HOST PORT SECS              connect to an echo server, exchange a byte, print "held", keep
#                                    the connection open SECS seconds
#   icmp-raw IFACE DST [TIMEOUT]     send one ICMP echo to DST as a raw frame on IFACE (to the
#                                    gateway's MAC; for destinations the kernel won't route, e.g.
#                                    host loopback), print "reply FROM" or "timeout" (scapy)
#   conns HOST PORT N [TIMEOUT]      open N connections at once (non-blocking), exchange a byte on
#                                    each, close them all; print "opened N echoed N closed N secs S"
#
# Everything is bounded by a timeout. Addresses come from the tests (loopback or namespaces they
# create).
import errno
import hashlib
import random
import selectors
import socket
import struct
import sys
import threading
import time


def hmp(path, cmds):
    """Connect to the monitor, wait for the prompt, run each command, print its output."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(path)
    buf = b""

    def until_prompt():
        nonlocal buf
        end = time.monotonic() + 10
        while b"(qemu) " not in buf:
            if time.monotonic() > end:
                raise TimeoutError("no monitor prompt")
            d = s.recv(65536)
            if not d:
                raise ConnectionError("monitor closed")
            buf += d
        i = buf.index(b"(qemu) ")
        out, buf = buf[:i], buf[i + 7:]
        return out

    until_prompt()
    for c in cmds:
        s.sendall(c.encode() + b"\n")
        out = until_prompt().decode(errors="replace")
        # the monitor echoes nothing on a socket; drop a leading echo if one is there
        if out.startswith(c + "\r\n") or out.startswith(c + "\n"):
            out = out.split("\n", 1)[1]
        sys.stdout.write(out.replace("\r\n", "\n"))
    s.close()


def dns_query(server, name, qtype, proto, timeout=5.0):
    t = {"A": 1, "AAAA": 28}[qtype]
    qid = random.randrange(65536)
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack("!HH", t, 1)
    if proto == "udp":
        s = socket.socket(fam(server), socket.SOCK_DGRAM)
        s.settimeout(timeout)
        s.sendto(q, (server, 53))
        r = s.recv(4096)
    else:
        s = socket.create_connection((server, 53), timeout=timeout)
        s.sendall(struct.pack("!H", len(q)) + q)
        r = b""
        while len(r) < 2 or len(r) < 2 + struct.unpack("!H", r[:2])[0]:
            d = s.recv(4096)
            if not d:
                break
            r += d
        r = r[2:]
    s.close()
    rid, flags, qd, an = struct.unpack("!HHHH", r[:8])
    if rid != qid:
        raise ValueError("wrong id")
    if flags & 0xF:
        print("rcode %d" % (flags & 0xF))
    p = 12

    def skip_name(p):
        while True:
            n = r[p]
            if n == 0:
                return p + 1
            if n & 0xC0 == 0xC0:
                return p + 2
            p += 1 + n

    for _ in range(qd):
        p = skip_name(p) + 4
    for _ in range(an):
        p = skip_name(p)
        rt, _, _, rl = struct.unpack("!HHIH", r[p:p + 10])
        p += 10
        data = r[p:p + rl]
        p += rl
        if rt == 1:
            print(socket.inet_ntop(socket.AF_INET, data))
        elif rt == 28:
            print(socket.inet_ntop(socket.AF_INET6, data))


def connect(host, port, timeout):
    t = time.monotonic()
    s = socket.socket(fam(host))
    s.settimeout(timeout)
    try:
        s.connect((host, port))
        r = "connected"
    except socket.timeout:
        r = "ETIMEDOUT"
    except OSError as e:
        r = errno.errorcode.get(e.errno, str(e.errno))
    print(r, "%.2f" % (time.monotonic() - t))


def tcp_echo(port, addr):
    ls = socket.socket(fam(addr))
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(4096)
    ls.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ)
    peers = {}
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            if s is ls:
                try:
                    c, a = ls.accept()
                except OSError:
                    continue
                c.setblocking(False)
                peers[c] = "%s:%d\n" % a[:2]
                sel.register(c, selectors.EVENT_READ)
                continue
            try:
                d = s.recv(65536)
            except OSError:
                d = b""
            if not d:
                sel.unregister(s)
                peers.pop(s, None)
                s.close()
                continue
            if d == b"peer?\n":
                d = peers[s].encode()
            try:
                s.setblocking(True)
                s.settimeout(10)
                s.sendall(d)
                s.setblocking(False)
            except OSError:
                sel.unregister(s)
                peers.pop(s, None)
                s.close()


def http_serve(port, addr, root):
    import functools
    import http.server
    import socketserver

    class Server(http.server.ThreadingHTTPServer):
        address_family = fam(addr)

        def server_bind(self):
            socketserver.TCPServer.server_bind(self)
            self.server_name, self.server_port = addr, port

    h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
    with Server((addr, port), h) as srv:
        srv.serve_forever()


def fam(addr):
    """The address family of a literal address (IPv6 if it has a colon)."""
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def udp_echo(port, addr):
    s = socket.socket(fam(addr), socket.SOCK_DGRAM)
    s.bind((addr, port))
    while True:
        d, a = s.recvfrom(65536)
        if d == b"peer?":
            d = ("%s:%d" % a[:2]).encode()
        s.sendto(d, a)


def udp_ask(host, port, msg, timeout):
    s = socket.socket(fam(host), socket.SOCK_DGRAM)
    s.settimeout(timeout)
    # every ICMP error is reported (without it Linux reports only port/protocol unreachable)
    if fam(host) == socket.AF_INET:
        s.setsockopt(socket.IPPROTO_IP, 11, 1)  # IP_RECVERR
    s.connect((host, port))
    try:
        s.send(msg.encode())
        print(s.recv(65536).decode(errors="replace"))
    except socket.timeout:
        print("timeout")
        sys.exit(1)
    except OSError as e:
        # a connected socket reports the ICMP error the NAT forwarded
        print(errno.errorcode.get(e.errno, str(e.errno)))
        sys.exit(1)


def tcp_ask(host, port, msg, timeout):
    s = socket.create_connection((host, port), timeout=timeout)
    s.sendall(msg.encode())
    s.shutdown(socket.SHUT_WR)
    r = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        r += d
    sys.stdout.write(r.decode(errors="replace"))


def listen_one(port, addr):
    ls = socket.socket(fam(addr))
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(1)
    ls.settimeout(300)
    c, _ = ls.accept()
    c.settimeout(120)
    ls.close()
    return c


def sink(port, addr):
    c = listen_one(port, addr)
    h = hashlib.sha256()
    n = 0
    while True:
        d = c.recv(1 << 20)
        if not d:
            break
        h.update(d)
        n += len(d)
    r = "%d %s" % (n, h.hexdigest())
    c.sendall(r.encode() + b"\n")
    c.close()
    print(r, flush=True)


def blocks(nbytes, seed):
    rnd = random.Random(seed)
    left = nbytes
    while left:
        n = min(left, 1 << 20)
        yield rnd.randbytes(n)
        left -= n


def source(port, addr, nbytes, seed):
    c = listen_one(port, addr)
    h = hashlib.sha256()
    for b in blocks(nbytes, seed):
        h.update(b)
        c.sendall(b)
    c.close()
    print(nbytes, h.hexdigest(), flush=True)


def send(host, port, nbytes, seed, timeout):
    s = socket.create_connection((host, port), timeout=timeout)
    h = hashlib.sha256()
    for b in blocks(nbytes, seed):
        h.update(b)
        s.sendall(b)
    s.shutdown(socket.SHUT_WR)
    r = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        r += d
    print("local", nbytes, h.hexdigest())
    print("remote", r.decode().strip())


def recv(host, port, timeout):
    s = socket.create_connection((host, port), timeout=timeout)
    h = hashlib.sha256()
    n = 0
    while True:
        d = s.recv(1 << 20)
        if not d:
            break
        h.update(d)
        n += len(d)
    print(n, h.hexdigest())


def hold(host, port, secs):
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(b"h")
    if s.recv(16) != b"h":
        sys.exit("no echo")
    print("held", flush=True)
    time.sleep(secs)
    s.close()


def icmp_raw(iface, dst, timeout):
    import logging
    logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
    from scapy.all import ARP, Ether, ICMP, IP, conf, get_if_addr, srp1
    conf.verb = 0
    src = get_if_addr(iface)
    gw = srp1(Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst="10.0.2.2", psrc=src),
              iface=iface, timeout=timeout)
    if gw is None:
        print("timeout (no ARP reply from 10.0.2.2)")
        sys.exit(1)
    ident = random.randrange(1, 65535)
    r = srp1(Ether(dst=gw[ARP].hwsrc) / IP(src=src, dst=dst) / ICMP(id=ident, seq=1) / b"qnet-icmp",
             iface=iface, timeout=timeout)
    if r is None or ICMP not in r or r[ICMP].type != 0 or r[ICMP].id != ident:
        print("timeout")
        sys.exit(1)
    print("reply", r[IP].src)


def conns(host, port, n, timeout):
    """N non-blocking connects at once, one byte echoed on each, then all closed."""
    t0 = time.monotonic()
    end = t0 + timeout
    sel = selectors.DefaultSelector()
    socks = []
    for i in range(n):
        s = socket.socket(fam(host))
        s.setblocking(False)
        try:
            s.connect((host, port))
        except BlockingIOError:
            pass
        socks.append(s)
        sel.register(s, selectors.EVENT_WRITE, i)
    state = [0] * n  # 0 connecting, 1 byte sent, 2 byte echoed, -1 failed
    done = 0
    while done < n and time.monotonic() < end:
        for key, ev in sel.select(timeout=1):
            i, s = key.data, key.fileobj
            if state[i] == 0:
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    state[i] = -1
                    sel.unregister(s)
                    done += 1
                    continue
                s.send(bytes([65 + i % 26]))
                state[i] = 1
                sel.modify(s, selectors.EVENT_READ, i)
            elif state[i] == 1:
                try:
                    d = s.recv(16)
                except OSError:
                    d = b""
                state[i] = 2 if d == bytes([65 + i % 26]) else -1
                sel.unregister(s)
                done += 1
    opened = sum(1 for x in state if x >= 1)
    echoed = sum(1 for x in state if x == 2)
    closed = 0
    for s in socks:
        try:
            s.close()
            closed += 1
        except OSError:
            pass
    print("opened %d echoed %d closed %d secs %.2f" % (opened, echoed, closed,
                                                       time.monotonic() - t0))


def main():
    a = sys.argv[1:]
    c = a[0]
    if c == "hmp":
        hmp(a[1], a[2:])
    elif c == "dns":
        dns_query(a[1], a[2], a[3], a[4])
    elif c == "connect":
        connect(a[1], int(a[2]), float(a[3]) if len(a) > 3 else 10.0)
    elif c == "tcp-echo":
        tcp_echo(int(a[1]), a[2] if len(a) > 2 else "127.0.0.1")
    elif c == "http":
        http_serve(int(a[1]), a[2], a[3])
    elif c == "udp-echo":
        udp_echo(int(a[1]), a[2] if len(a) > 2 else "127.0.0.1")
    elif c == "udp-ask":
        udp_ask(a[1], int(a[2]), a[3], float(a[4]) if len(a) > 4 else 5.0)
    elif c == "tcp-ask":
        tcp_ask(a[1], int(a[2]), a[3], float(a[4]) if len(a) > 4 else 10.0)
    elif c == "sink":
        sink(int(a[1]), a[2])
    elif c == "source":
        source(int(a[1]), a[2], int(a[3]), int(a[4]))
    elif c == "send":
        send(a[1], int(a[2]), int(a[3]), int(a[4]), float(a[5]) if len(a) > 5 else 60.0)
    elif c == "recv":
        recv(a[1], int(a[2]), float(a[3]) if len(a) > 3 else 60.0)
    elif c == "hold":
        hold(a[1], int(a[2]), float(a[3]))
    elif c == "icmp-raw":
        icmp_raw(a[1], a[2], float(a[3]) if len(a) > 3 else 5.0)
    elif c == "conns":
        conns(a[1], int(a[2]), int(a[3]), float(a[4]) if len(a) > 4 else 60.0)
    else:
        sys.exit("unknown command " + c)


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError, TimeoutError) as e:
        print("error:", e, file=sys.stderr)
        sys.exit(1)
