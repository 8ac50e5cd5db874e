#!/bin/bash
# SPDX-License-Identifier: MIT
# 51-info-network.sh - `info network` of qnet equals QEMU 7.2's for the same topology.
#
# Topology (same arguments for both programs, run one after the other on the same ports):
#   hub 0: hp0 - stream server st0 (127.0.0.1:P1), hp1 - socket listen so0 (127.0.0.1:P2),
#          hp2 - dgram dg0 (127.0.0.1:P3 -> 127.0.0.1:P4), hp3 (no peer, with a filter)
#   hub 1: hp4 (no peer);  st1: stream server on a unix socket, no peer
#   filters f0 (tail), f1 (head, queue=tx, status=off, maxlen) on st0, f2 on hp3.
# QEMU: qemu-system-x86_64 -nodefaults -display none -S, no NICs; its HMP is reached through QMP
# human-monitor-command (clean text, no readline echo). qnet: -monitor unix:..., over HMP.
# Phase 1 compares the idle topology; phase 2 connects a client to st0, so0 and st1 and compares
# again. Only dgram sends nothing: no traffic leaves 127.0.0.1.
#
# Normalisations (everything else must match byte for byte):
#   - line ends: "\r\n" -> "\n" (both print \r\n through HMP, QMP leaves them; strip everywhere);
#   - phase 2: the clients' own ephemeral TCP ports (different in each run) -> CLIENTPORT;
#     the helper replaces exactly the port numbers of its own sockets, nothing else.
set -u
. "$(dirname "$0")/../lib.sh"
need_cmd qemu-system-x86_64
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }

P1=$(free_port); P2=$(free_port); P3=$(free_port udp); P4=$(free_port udp)
while [ "$P2" = "$P1" ]; do P2=$(free_port); done
while [ "$P4" = "$P3" ]; do P4=$(free_port udp); done

ARGS=(
	-netdev "stream,id=st0,server=on,addr.type=inet,addr.host=127.0.0.1,addr.port=$P1"
	-netdev hubport,id=hp0,hubid=0,netdev=st0
	-netdev "socket,id=so0,listen=127.0.0.1:$P2"
	-netdev hubport,id=hp1,hubid=0,netdev=so0
	-netdev "dgram,id=dg0,local.type=inet,local.host=127.0.0.1,local.port=$P3,remote.type=inet,remote.host=127.0.0.1,remote.port=$P4"
	-netdev hubport,id=hp2,hubid=0,netdev=dg0
	-netdev hubport,id=hp3,hubid=0
	-netdev hubport,id=hp4,hubid=1
	-netdev "stream,id=st1,server=on,addr.type=unix,addr.path=$T/st1.sock"
	-object "filter-dump,id=f0,netdev=st0,file=$T/f0.pcap"
	-object "filter-dump,id=f1,netdev=st0,file=$T/f1.pcap,position=head,queue=tx,status=off,maxlen=128"
	-object "filter-dump,id=f2,netdev=hp3,file=$T/f2.pcap,queue=rx"
)

# probe.py qmp|hmp SOCKET OUTPREFIX - phase 1 and phase 2 `info network` into OUTPREFIX.{1,2}
cat >"$T/probe.py" <<'EOF'
import json, re, socket, sys, time
mode, path, out, p1, p2, st1 = sys.argv[1:7]

def connect_unix(p):
    for _ in range(100):
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(p)
            return s
        except OSError:
            time.sleep(0.1)
    sys.exit("cannot connect to " + p)

s = connect_unix(path)
s.settimeout(10)
f = s.makefile("rwb", buffering=0)

def hmp_read_prompt():
    buf = b""
    while not buf.endswith(b"(qemu) "):
        c = s.recv(4096)
        if not c:
            sys.exit("monitor closed")
        buf += c
    return buf.decode()

if mode == "qmp":
    rd = s.makefile("r")
    json.loads(rd.readline())
    def qmp(cmd, **a):
        msg = {"execute": cmd}
        if a:
            msg["arguments"] = a
        s.sendall((json.dumps(msg) + "\n").encode())
        while True:
            r = json.loads(rd.readline())
            if "return" in r or "error" in r:
                return r
    qmp("qmp_capabilities")
    def info():
        return qmp("human-monitor-command", **{"command-line": "info network"})["return"]
    def quit():
        qmp("quit")
else:
    hmp_read_prompt()
    def info():
        s.sendall(b"info network\n")
        text = hmp_read_prompt()
        first, rest = text.split("\n", 1)          # the echoed command line
        assert first.rstrip("\r") == "info network", first
        return rest[:-len("(qemu) ")]
    def quit():
        s.sendall(b"quit\n")

def norm(text, ports=()):
    text = text.replace("\r\n", "\n")
    for p in ports:
        text = re.sub(r":%d\b" % p, ":CLIENTPORT", text)
    return text

open(out + ".1", "w").write(norm(info()))
c1 = socket.create_connection(("127.0.0.1", int(p1)))
c2 = socket.create_connection(("127.0.0.1", int(p2)))
c3 = connect_unix(st1)
time.sleep(0.5)
ports = [c1.getsockname()[1], c2.getsockname()[1]]
open(out + ".2", "w").write(norm(info(), ports))
quit()
time.sleep(0.2)
EOF

# QEMU
timeout 30 qemu-system-x86_64 -nodefaults -no-user-config -display none -S -monitor none \
	-qmp "unix:$T/qmp.sock,server=on,wait=off" "${ARGS[@]}" >"$T/qemu.log" 2>&1 &
qpid=$!
bg_track "$qpid"
if timeout 30 "$PY" "$T/probe.py" qmp "$T/qmp.sock" "$T/qemu" "$P1" "$P2" "$T/st1.sock"; then
	ok "QEMU 7.2 reports info network for the topology"
else
	not_ok "QEMU 7.2 reports info network for the topology"
	sed 's/^/#   /' "$T/qemu.log"
fi
wait_for 10 eval "! kill -0 $qpid 2>/dev/null"
rm -f "$T/st1.sock"

# qnet, same arguments and ports
if qnet_start q "${ARGS[@]}" -monitor "unix:$T/mon.sock,server=on,wait=off" &&
   timeout 30 "$PY" "$T/probe.py" hmp "$T/mon.sock" "$T/qnet" "$P1" "$P2" "$T/st1.sock"; then
	ok "qnet reports info network for the topology"
else
	not_ok "qnet reports info network for the topology"
	qnet_log q
fi

compare() {
	local phase=$1 what=$2
	if [ -s "$T/qemu.$phase" ] && diff -u "$T/qemu.$phase" "$T/qnet.$phase" >"$T/diff.$phase"; then
		ok "info network equals QEMU's, $what ($(wc -l <"$T/qemu.$phase") lines)"
	else
		not_ok "info network equals QEMU's, $what"
		sed 's/^/#   /' "$T/diff.$phase"
	fi
}
compare 1 "idle topology"
compare 2 "clients connected to st0, so0, st1"
# the parts this test is about are really there (a comparison of two empty outputs proves nothing)
check "hubs newest first, ports newest first" \
	grep -qzP 'hub 1\n \\ hp4\nhub 0\n \\ hp3\n \\ hp2: dg0' "$T/qnet.1"
check "filter lines in list order (head first)" \
	grep -qzP 'filters:\n  - f1: type=filter-dump,file=[^\n]*,maxlen=128,position=head,status=off,insert=behind,netdev=st0,queue=tx\n  - f0:' \
	"$T/qnet.1"
wait_for 10 eval "! qnet_alive q"
check "qnet exited on quit" eval "! qnet_alive q"
check "qnet removed its monitor socket" test ! -e "$T/mon.sock"
finish
