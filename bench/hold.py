#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# hold.py - hold many TCP connections open through a user-mode network (run inside the namespace).
#
#   hold.py HOST PORT0 NPORTS N SECS
#
# Opens N connections to HOST, spread over the ports PORT0 .. PORT0+NPORTS-1 (one client address
# has only ~28k ephemeral ports per destination), one child process per port (so that no process
# needs more than N/NPORTS descriptors: the hard limit may be low where CAP_SYS_RESOURCE is
# missing). Each connection exchanges one byte (so the far end really accepted it). Then prints
# "held K of N in Ts" (and the first error if a child stopped early) and holds them SECS seconds;
# the children also exit when the parent goes. The servers are `conns.py serve PORT ADDR`.
import os
import resource
import socket
import sys
import time


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def child(host, port, n, secs, wfd, parent):
    raise_nofile(n + 64)
    socks, err = [], ""
    for i in range(n):
        try:
            s = socket.create_connection((host, port), timeout=10)
            s.sendall(b"x")
            if s.recv(1) != b"x":
                raise OSError("no echo")
        except OSError as e:
            err = f"port {port} stopped at {i}: {e}"
            break
        socks.append(s)
    os.write(wfd, f"{len(socks)} {err}\n".encode())
    os.close(wfd)
    end = time.monotonic() + secs
    while time.monotonic() < end and os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def main():
    host, port0, nports, n, secs = (sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                                    int(sys.argv[4]), float(sys.argv[5]))
    t = time.monotonic()
    parent = os.getpid()
    rfds = []
    for p in range(nports):
        share = n // nports + (1 if p < n % nports else 0)
        r, w = os.pipe()
        if os.fork() == 0:
            os.close(r)
            child(host, port0 + p, share, secs + 5, w, parent)
        os.close(w)
        rfds.append(r)
    held, errs = 0, []
    for r in rfds:
        with os.fdopen(r) as f:
            line = f.readline().split(" ", 1)
        if line and line[0].isdigit():
            held += int(line[0])
            if len(line) > 1 and line[1].strip():
                errs.append(line[1].strip())
        else:
            errs.append("a child died")
    err = f" ({'; '.join(errs[:3])})" if errs else ""
    print(f"held {held} of {n} in {time.monotonic() - t:.1f}s{err}", flush=True)
    time.sleep(secs)


if __name__ == "__main__":
    main()
