#!/bin/bash
# SPDX-License-Identifier: MIT
# 81-qmp-netdev.sh - run-time control through QMP with real peers: QEMU 7.2 guests, a namespace.
#
# One qnet, one QMP socket (a Python client of this test logs every event from the start):
# - hub 0 (flood): guest ga (virtio-net-pci, 10.0.9.11) on the stream server "a" given at start-up.
#   netdev_add (QMP) adds a second stream server g2 and its hub port p2; guest gb (e1000,
#   10.0.9.12) connects to it; NETDEV_STREAM_CONNECTED arrives for g2 in QEMU's shape (members in
#   QEMU's QDict order, computed here from QEMU's hash); the guests ping each other; netdev_del g2
#   and p2: both guests lose each other (5 pings in a row fail, seen only after the delete), qnet
#   stays up, query-netdevs and info network no longer list them, g2's socket takes no client.
# - hub 1 (mode=switch): -netdev user u0 (hostfwd P1 -> :5001) and a tap in namespace NS, which
#   gets 10.0.2.15 by DHCP (udhcpc with the test's script); a filter-dump captures the tap netdev.
#   A 32 MiB transfer NS -> host through P1 is kept going (the host reads slowly) while a forward
#   is added by QMP hostfwd-add (P2) and another by HMP hostfwd_add (P3): connections through both
#   echo at once; query-hostfwd lists all three in its documented shape; hostfwd-remove (QMP) and
#   hostfwd_remove (HMP) close the listeners (connect refused) while the connections already
#   established through them keep working (as libslirp; docs/filters-and-monitor.md); the transfer
#   then ends with the sender's sha256.
# - query-dhcp-leases shows NS's lease, a DHCP_LEASE "bound" event came; query-netdevs counters
#   grew by at least the transfer; query-mac-table lists NS's MAC and the gateway's on hub 1 (and
#   nothing for the flood hub); set_link t0 off/on stops and resumes NS's traffic with
#   NETDEV_LINK_CHANGED; announce-self sends exactly `rounds` 60-byte RARP frames (0x8035) from the
#   gateway's MAC into the tap's capture.
# Traffic: 127.0.0.1, the namespace and the guests only. About 30-60 s (two TCG guests).
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd qemu-system-x86_64 ip ss socat busybox sha256sum
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
guest_build || { not_ok "guest image builds"; finish; }
t_start=$(date +%s)

ns=qnet-qmpnd-$$
ns_create "$ns" || { not_ok "create namespace $ns"; finish; }

# three distinct free ports for the forwards
P1=$(free_port); P2=$P1; P3=$P1
while [ "$P2" = "$P1" ]; do P2=$(free_port); done
while [ "$P3" = "$P1" ] || [ "$P3" = "$P2" ]; do P3=$(free_port); done
export P1 P2 P3 T
GWMAC=52:55:0a:00:02:02
export GWMAC

printf 'nameserver 127.0.0.1\n' >"$T/resolv.conf"
head -c $((32 * 1048576)) /dev/urandom >"$T/data"
data_sum=$(sha256sum <"$T/data" | cut -d' ' -f1)

# ---- the test's Python: a QMP client as in 80-qmp.sh, an event logger, traffic helpers ---------
cat >"$T/q.py" <<'EOF'
import hashlib, json, os, socket, struct, sys, time

class QMP:
    """QEMU's protocol: greeting, qmp_capabilities, then requests with ids; events aside."""
    def __init__(self, addr):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(10)
        self.s.connect(addr)
        self.buf, self.events, self.n, self.raw = b"", [], 0, b""
        self.greeting = self.recv()
        assert "QMP" in self.greeting, self.greeting
        r = self.cmd("qmp_capabilities")
        assert r == {"return": {}, "id": r["id"]}, r
    def recv(self):
        deadline = time.time() + 10
        while b"\n" not in self.buf:
            assert time.time() < deadline, "timeout"
            d = self.s.recv(65536)
            assert d, "connection closed"
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        assert line.endswith(b"\r"), line
        self.raw = line[:-1]
        return json.loads(line)
    def cmd(self, _cmd, **args):
        self.n += 1
        req = {"execute": _cmd, "id": "c%d" % self.n}
        if args:
            req["arguments"] = args
        self.s.sendall(json.dumps(req).encode())
        while True:
            m = self.recv()
            if "event" in m:
                self.events.append(m)
            elif m.get("id") == req["id"]:
                return m

def tdb_hash(k):
    """QEMU's qdict bucket of key k (qobject/qdict.c: tdb_hash() % QDICT_BUCKET_MAX)"""
    v = (0x238F13AF * len(k)) & 0xffffffff
    for i, c in enumerate(k.encode()):
        v = (v + (c << (i * 5 % 24))) & 0xffffffff
    return ((1103515243 * v + 12345) & 0xffffffff) % 512

def qdict_order(o):
    """every object's members come in QEMU's QDict iteration order (bucket order)"""
    if isinstance(o, dict):
        b = [tdb_hash(k) for k in o]
        return b == sorted(b) and all(qdict_order(v) for v in o.values())
    if isinstance(o, list):
        return all(qdict_order(v) for v in o)
    return True

env = os.environ
def I(k): return int(env[k])
mode = sys.argv[1]

if mode == "events":                    # events SOCK OUT: log every event line, raw
    q = QMP(sys.argv[2])
    q.s.settimeout(None)
    with open(sys.argv[3], "ab", buffering=0) as out:
        open(sys.argv[3] + ".ready", "w").close()
        while True:
            try:
                m = q.recv()
            except (AssertionError, OSError):
                break
            if "event" in m:
                out.write(q.raw + b"\n")
elif mode == "cmd":                     # cmd SOCK JSON [EXPR]: print the reply; EXPR on r
    q = QMP(sys.argv[2])
    req = json.loads(sys.argv[3])
    r = q.cmd(req["execute"], **req.get("arguments", {}))
    print(json.dumps(r))
    if len(sys.argv) > 4:
        try:
            good = eval("(" + sys.argv[4] + "\n)")
        except Exception as ex:
            print("expression failed: %r" % ex)
            good = False
        sys.exit(0 if good else 1)
elif mode == "ev":                      # ev FILE NAME EXPR [N]: N events NAME with EXPR true (e, d)
    try:
        lines = open(sys.argv[2], "rb").read().splitlines()
    except OSError:
        lines = []
    counting = len(sys.argv) > 5 and sys.argv[5] == "count"
    want, n = int(sys.argv[5]) if len(sys.argv) > 5 and not counting else 1, 0
    for raw in lines:
        e = json.loads(raw)
        d = e.get("data")
        if e.get("event") == sys.argv[3]:
            try:
                if eval("(" + sys.argv[4] + "\n)"):
                    n += 1
            except SyntaxError as ex:
                print("expression failed: %r" % ex)
                sys.exit(2)
            except Exception:
                pass
    if counting:
        print(n)
        sys.exit(0)
    sys.exit(0 if n >= want else 1)
elif mode == "slow":                    # slow PORT GOFILE PROGRESS OUT: read slowly until GOFILE
    s = socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=30)
    h, n, last, end = hashlib.sha256(), 0, 0, time.time() + 120
    while time.time() < end:
        fast = os.path.exists(sys.argv[3])
        d = s.recv(262144 if fast else 4096)
        if not d:
            break
        h.update(d)
        n += len(d)
        if not fast:
            time.sleep(0.01)            # at most ~400 KB/s: 32 MiB can't finish by itself
        if time.time() - last > 0.1:
            with open(sys.argv[4] + ".tmp", "w") as f:
                f.write("%d\n" % n)
            os.rename(sys.argv[4] + ".tmp", sys.argv[4])
            last = time.time()
    with open(sys.argv[5], "w") as f:
        f.write("%d %s\n" % (n, h.hexdigest()))
elif mode == "hold":                    # hold PORT GOFILE OUT: echo, wait for GOFILE, echo again
    port, out = int(sys.argv[2]), sys.argv[4]
    def rt(s, msg):
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            d = s.recv(4096)
            if not d:
                break
            got += d
        return got == msg
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    with open(out, "a") as f:
        f.write("first %s\n" % ("ok" if rt(s, b"first through %d\n" % port) else "fail"))
    end = time.time() + 60
    while not os.path.exists(sys.argv[3]) and time.time() < end:
        time.sleep(0.05)
    try:
        good = rt(s, b"second through %d\n" % port)
    except OSError:
        good = False
    with open(out, "a") as f:
        f.write("second %s\n" % ("ok" if good else "fail"))
elif mode == "refused":                 # refused PORT: connect is refused
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=5).close()
    except ConnectionRefusedError:
        sys.exit(0)
    sys.exit(1)
elif mode == "unix-refused":            # unix-refused PATH: nothing accepts on PATH
    try:
        c = socket.socket(socket.AF_UNIX); c.settimeout(5); c.connect(sys.argv[2]); c.close()
    except (ConnectionRefusedError, FileNotFoundError):
        sys.exit(0)
    sys.exit(1)
elif mode == "rarp":                    # rarp PCAP MAC: print how many 60-byte RARPs MAC sent
    data = open(sys.argv[2], "rb").read()
    mac = bytes.fromhex(sys.argv[3].replace(":", ""))
    magic = struct.unpack("<I", data[:4])[0]
    end = "<" if magic == 0xa1b2c3d4 else ">"
    off, n = 24, 0
    while off + 16 <= len(data):
        _, _, incl, orig = struct.unpack(end + "IIII", data[off:off + 16])
        f = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(f) == 60 and orig == 60 and f[12:14] == b"\x80\x35" and f[6:12] == mac \
           and f[:6] == b"\xff" * 6 and f[20:22] == b"\x00\x03" and f[22:28] == mac:
            n += 1
    print(n)
EOF

qmp() { "$PY" "$T/q.py" cmd "$T/qmp" "$@"; }
# qmp_check DESC JSON EXPR - one QMP request; ok when EXPR (Python, reply in r) holds
qmp_check() {
	local out
	if out=$(qmp "$2" "$3" 2>&1); then ok "$1"; return 0; fi
	not_ok "$1"
	printf '%s\n' "$out" | sed 's/^/#   reply: /'
	return 1
}
# hmp CMDLINE - the HMP output of CMDLINE through human-monitor-command, \r removed
hmp() {
	qmp "$("$PY" -c 'import json,sys; print(json.dumps({"execute": "human-monitor-command",
		"arguments": {"command-line": sys.argv[1]}}))' "$1")" |
		"$PY" -c 'import json,sys; sys.stdout.write(json.load(sys.stdin)["return"].replace("\r", ""))'
}
# ev_wait DESC NAME EXPR [TIMEOUT=10 [N=1]] - N events NAME with EXPR (Python: e, d) true arrived
ev_wait() {
	if wait_for "${4:-10}" "$PY" "$T/q.py" ev "$T/events" "$2" "$3" "${5:-1}"; then ok "$1"; return 0; fi
	not_ok "$1"
	grep -F "\"$2\"" "$T/events" | tail -5 | sed 's/^/#   event: /'
	return 1
}
ns_ping() { ns_exec "$ns" busybox ping -c "$1" -W 1 10.0.2.2 >/dev/null 2>&1; }
netdevs() { qmp '{"execute":"query-netdevs"}'; }
# stat_of FILE NAME KEY - a counter of client NAME in a saved query-netdevs reply
stat_of() {
	"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1]))
print([n for n in r["return"] if n["name"] == sys.argv[2]][0]["stats"][sys.argv[3]])' "$@" 2>/dev/null ||
		echo -1
}

# ---- qnet ----------------------------------------------------------------------------------------
if qnet_start q \
	-netdev stream,id=a,server=on,addr.type=unix,addr.path="$T/a.sock" \
	-netdev hubport,id=pa,hubid=0,netdev=a \
	-netdev user,id=u0,"resolv-conf=$T/resolv.conf,hostfwd=tcp:127.0.0.1:$P1-:5001" \
	-netdev hubport,id=pu,hubid=1,netdev=u0,mode=switch \
	-netdev tap,id=t0,netns=/var/run/netns/"$ns",ifname=eth0,script=no,downscript=no \
	-netdev hubport,id=pt,hubid=1,netdev=t0,mode=switch \
	-object filter-dump,id=cap,netdev=t0,file="$T/t0.pcap" \
	-qmp unix:"$T/qmp",server=on,wait=off &&
   wait_unix_socket "$T/qmp" 10 && wait_unix_socket "$T/a.sock" 10 &&
   wait_for 10 ip -n "$ns" link show eth0 >/dev/null 2>&1; then
	ok "qnet runs with -qmp, a stream server on hub 0, user + tap in $ns on hub 1"
else
	not_ok "qnet runs with -qmp, a stream server on hub 0, user + tap in $ns on hub 1"
	qnet_log q
	finish
fi
"$PY" "$T/q.py" events "$T/qmp" "$T/events" >"$T/events.log" 2>&1 &
bg_track $!
wait_for 10 test -e "$T/events.ready" || not_ok "the event logger negotiated"

# ---- hub 0: guest ga at start-up, g2 + p2 added through QMP, guest gb on g2 ---------------------
cat >"$T/peer.sh" <<'EOF'
# SPDX-License-Identifier: MIT
# ping qnet.peer until it answers, 3 pings without loss, then keep pinging until 5 in a row fail
# (the host removes the peer's netdev): check peer-lost. Bounded: at most 300 pings.
peer=$QNET_PEER
check wait-peer wait_ping "$peer" 150 || exit 1
check "ping-$peer" ping_all "$peer" 3
lost=0
i=0
while [ "$lost" -lt 5 ] && [ "$i" -lt 300 ]; do
	if ping -c 1 -W 1 "$peer" >/dev/null 2>&1; then lost=0; sleep 0.3; else lost=$((lost + 1)); fi
	i=$((i + 1))
done
check peer-lost [ "$lost" -ge 5 ]
EOF
guest_start ga "stream,id=n0,server=off,addr.type=unix,addr.path=$T/a.sock" "$T/peer.sh" \
	10.0.9.11/24 52:54:00:12:34:11 virtio-net-pci "qnet.peer=10.0.9.12" || not_ok "guest ga starts"

qmp_check "QMP netdev_add stream server g2 (unix $T/g2.sock)" \
	"{\"execute\":\"netdev_add\",\"arguments\":{\"type\":\"stream\",\"id\":\"g2\",\"server\":true,\"addr\":{\"type\":\"unix\",\"path\":\"$T/g2.sock\"}}}" \
	'r["return"] == {}'
qmp_check "QMP netdev_add hubport p2 on hub 0 with netdev g2" \
	'{"execute":"netdev_add","arguments":{"type":"hubport","id":"p2","hubid":0,"netdev":"g2"}}' \
	'r["return"] == {}'
qmp_check "query-netdevs: g2 is a stream netdev, peer p2, link down, no traffic yet; p2 on hub 0" \
	'{"execute":"query-netdevs"}' \
	'[(n["type"], n["peer"], n["up"], n["stats"]["rx-frames"] + n["stats"]["tx-frames"])
	  for n in r["return"] if n["name"] == "g2"] == [("stream", "p2", False, 0)] and
	 [n["hub"] for n in r["return"] if n["name"] == "p2"] == [0]'
wait_unix_socket "$T/g2.sock" 5
info=$(hmp "info network")
if printf '%s\n' "$info" | grep -q '^ \\ p2: g2: index=0,type=stream,'; then
	ok "info network lists g2 behind p2 on hub 0"
else
	not_ok "info network lists g2 behind p2 on hub 0"
	printf '%s\n' "$info" | sed 's/^/#   /'
fi
guest_start gb "stream,id=n0,server=off,addr.type=unix,addr.path=$T/g2.sock" "$T/peer.sh" \
	10.0.9.12/24 52:54:00:12:34:12 e1000 "qnet.peer=10.0.9.11" || not_ok "guest gb starts"
ev_wait "NETDEV_STREAM_CONNECTED for g2: {netdev-id, addr {path, type unix}}, timestamp, QEMU's member order" \
	NETDEV_STREAM_CONNECTED \
	'd == {"netdev-id": "g2", "addr": {"type": "unix", "path": env["T"] + "/g2.sock"}} and
	 list(e) == ["timestamp", "event", "data"] and qdict_order(e) and
	 list(e["timestamp"]) == ["seconds", "microseconds"] and
	 abs(e["timestamp"]["seconds"] + e["timestamp"]["microseconds"] / 1e6 - time.time()) < 600' 20

# ---- hub 1: the namespace gets its lease --------------------------------------------------------
cat >"$T/udhcpc.sh" <<'EOF'
#!/bin/sh
# SPDX-License-Identifier: MIT
# udhcpc script: configure the interface of this namespace only
case "$1" in
bound|renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	for r in $router; do ip route add default via "$r" dev "$interface"; break; done ;;
esac
EOF
chmod +x "$T/udhcpc.sh"
NSMAC=$(ns_exec "$ns" cat /sys/class/net/eth0/address)
export NSMAC
timeout 30 ip netns exec "$ns" busybox udhcpc -i eth0 -n -q -t 5 -T 2 -s "$T/udhcpc.sh" \
	>"$T/udhcpc.log" 2>&1
if ip -n "$ns" -4 -br addr show eth0 | grep -q '10\.0\.2\.15/24'; then
	ok "namespace got 10.0.2.15/24 by DHCP"
else
	not_ok "namespace got 10.0.2.15/24 by DHCP"
	sed 's/^/#   /' "$T/udhcpc.log"
fi
ev_wait "DHCP_LEASE event: bound 10.0.2.15 to the namespace's MAC on u0" DHCP_LEASE \
	'd == {"netdev-id": "u0", "ip": "10.0.2.15", "mac": env["NSMAC"], "event": "bound"} and qdict_order(e)'
qmp_check "query-dhcp-leases: u0, 10.0.2.15, the namespace's MAC, expiry in (0, 86400]" \
	'{"execute":"query-dhcp-leases"}' \
	'[(l["netdev"], l["ip"], l["mac"], set(l)) for l in r["return"]] ==
	   [("u0", "10.0.2.15", env["NSMAC"], {"netdev", "ip", "mac", "expires"})] and
	 0 < r["return"][0]["expires"] <= 86400'
qmp_check "query-dhcp-leases netdev=pa: not a user netdev" \
	'{"execute":"query-dhcp-leases","arguments":{"netdev":"pa"}}' \
	'r["error"] == {"class": "GenericError", "desc": "Device '"'"'pa'"'"' is not a user netdev"}'

# servers in the namespace: the 32 MiB file on 5001 (one connection), echo on 5002 and 5003
timeout 100 ip netns exec "$ns" socat -u FILE:"$T/data" TCP-LISTEN:5001,bind=10.0.2.15,reuseaddr \
	</dev/null >"$T/srv1.log" 2>&1 &
bg_track $!
for p in 5002 5003; do
	timeout 100 ip netns exec "$ns" socat TCP-LISTEN:$p,bind=10.0.2.15,reuseaddr,fork EXEC:cat \
		</dev/null >"$T/srv$p.log" 2>&1 &
	bg_track $!
done
for p in 5001 5002 5003; do
	wait_for 10 eval "[ -n \"\$(ip netns exec $ns ss -Hltn 'sport = :$p')\" ]" ||
		not_ok "server on port $p in the namespace listens"
done
netdevs >"$T/nd1.json"

# ---- a long transfer through P1 while forwards come and go --------------------------------------
"$PY" "$T/q.py" slow "$P1" "$T/drain" "$T/progress" "$T/slow.out" >"$T/slow.log" 2>&1 &
slowpid=$!
bg_track "$slowpid"
# shellcheck disable=SC2016 # expanded by eval, on every try
wait_for 15 eval '[ "$(cat "$T/progress" 2>/dev/null || echo 0)" -gt 65536 ]' ||
	not_ok "the transfer through 127.0.0.1:$P1 starts"
prog0=$(cat "$T/progress" 2>/dev/null || echo 0)

qmp_check "QMP hostfwd-add tcp:127.0.0.1:$P2-:5002 on u0" \
	"{\"execute\":\"hostfwd-add\",\"arguments\":{\"netdev\":\"u0\",\"rule\":\"tcp:127.0.0.1:$P2-:5002\"}}" \
	'r["return"] == {}'
out=$(hmp "hostfwd_add u0 tcp:127.0.0.1:$P3-:5003")
if [ -z "$out" ]; then
	ok "HMP hostfwd_add u0 tcp:127.0.0.1:$P3-:5003 (no output, as QEMU)"
else
	not_ok "HMP hostfwd_add u0 tcp:127.0.0.1:$P3-:5003 (no output, as QEMU)"
	printf '%s\n' "$out" | sed 's/^/#   /'
fi
qmp_check "QMP hostfwd-add of a port in use: QEMU's error text" \
	"{\"execute\":\"hostfwd-add\",\"arguments\":{\"rule\":\"tcp:127.0.0.1:$P2-:5009\"}}" \
	'r["error"] == {"class": "GenericError", "desc": "Could not set up host forwarding rule '"'"'tcp:127.0.0.1:%d-:5009'"'"'" % I("P2")}'
qmp_check "query-hostfwd lists the three forwards in its documented shape" \
	'{"execute":"query-hostfwd"}' \
	'sorted((f["netdev"], f["proto"], f["host-addr"], f["host-port"], f["guest-addr"], f["guest-port"], f["rule"])
	        for f in r["return"]) == sorted(("u0", "tcp", "127.0.0.1", I(p), "10.0.2.15", g, "tcp:127.0.0.1:%d-:%d" % (I(p), g))
	        for p, g in (("P1", 5001), ("P2", 5002), ("P3", 5003))) and
	 all(set(f) == {"netdev", "proto", "host-addr", "host-port", "guest-addr", "guest-port", "rule"}
	     for f in r["return"])'
usernet=$(hmp "info usernet")
n=0
for p in "$P1" "$P2" "$P3"; do
	printf '%s\n' "$usernet" | grep -Eq "^  TCP\[HOST_FORWARD\] +[0-9]+ +127\.0\.0\.1 +$p " && n=$((n + 1))
done
if [ "$n" = 3 ]; then
	ok "info usernet shows the three listeners"
else
	not_ok "info usernet shows the three listeners ($n)"
	printf '%s\n' "$usernet" | sed 's/^/#   /'
fi

# a connection through each new forward, both open at once
"$PY" "$T/q.py" hold "$P2" "$T/go" "$T/hold2" >"$T/hold2.log" 2>&1 &
bg_track $!
"$PY" "$T/q.py" hold "$P3" "$T/go" "$T/hold3" >"$T/hold3.log" 2>&1 &
bg_track $!
if wait_for 15 grep -qs '^first' "$T/hold2" && wait_for 5 grep -qs '^first' "$T/hold3" &&
   grep -qx 'first ok' "$T/hold2" && grep -qx 'first ok' "$T/hold3"; then
	ok "the QMP and HMP forwards both carry echo traffic, connections open at once"
else
	not_ok "the QMP and HMP forwards both carry echo traffic, connections open at once"
	cat "$T/hold2" "$T/hold3" "$T/hold2.log" "$T/hold3.log" 2>/dev/null | sed 's/^/#   /'
fi

qmp_check "QMP hostfwd-remove tcp:127.0.0.1:$P2" \
	"{\"execute\":\"hostfwd-remove\",\"arguments\":{\"netdev\":\"u0\",\"rule\":\"tcp:127.0.0.1:$P2\"}}" \
	'r["return"] == {}'
out=$(hmp "hostfwd_remove u0 tcp:127.0.0.1:$P3")
check "HMP hostfwd_remove u0 tcp:127.0.0.1:$P3: QEMU's text" \
	[ "$out" = "host forwarding rule for tcp:127.0.0.1:$P3 removed" ] || printf '#   %s\n' "$out"
qmp_check "QMP hostfwd-remove of the same rule again: not found" \
	"{\"execute\":\"hostfwd-remove\",\"arguments\":{\"rule\":\"tcp:127.0.0.1:$P2\"}}" \
	'r["error"] == {"class": "GenericError", "desc": "host forwarding rule for tcp:127.0.0.1:%d not found" % I("P2")}'
check "a new connection to the removed QMP forward (port $P2) is refused" \
	"$PY" "$T/q.py" refused "$P2"
check "a new connection to the removed HMP forward (port $P3) is refused" \
	"$PY" "$T/q.py" refused "$P3"
qmp_check "query-hostfwd lists only the start-up forward" '{"execute":"query-hostfwd"}' \
	'[(f["host-port"], f["guest-port"]) for f in r["return"]] == [(I("P1"), 5001)]'
touch "$T/go"
if wait_for 15 grep -qs '^second' "$T/hold2" && wait_for 5 grep -qs '^second' "$T/hold3" &&
   grep -qx 'second ok' "$T/hold2" && grep -qx 'second ok' "$T/hold3"; then
	ok "connections established through removed forwards keep working (documented)"
else
	not_ok "connections established through removed forwards keep working (documented)"
	cat "$T/hold2" "$T/hold3" 2>/dev/null | sed 's/^/#   /'
fi

prog1=$(cat "$T/progress" 2>/dev/null || echo 0)
if [ "$prog0" -gt 0 ] && [ "$prog1" -gt "$prog0" ] && [ "$prog1" -lt $((32 * 1048576)) ]; then
	ok "the transfer through $P1 ran during all the changes ($prog0 -> $prog1 bytes)"
else
	not_ok "the transfer through $P1 ran during all the changes ($prog0 -> $prog1 bytes)"
fi
touch "$T/drain"
wait_for 60 test -s "$T/slow.out"
read -r got_bytes got_sum <"$T/slow.out" 2>/dev/null || { got_bytes=0; got_sum=none; }
if [ "$got_bytes" = $((32 * 1048576)) ] && [ "$got_sum" = "$data_sum" ]; then
	ok "the transfer through $P1 is complete and its sha256 is the sender's"
else
	not_ok "the transfer through $P1 is complete and its sha256 is the sender's ($got_bytes bytes)"
	sed 's/^/#   /' "$T/slow.log" "$T/srv1.log"
fi

# ---- counters, MAC table, set_link, announce-self -----------------------------------------------
netdevs >"$T/nd2.json"
min=$((32 * 1048576))
for c in "t0 tx-bytes" "pt rx-bytes" "pu tx-bytes" "u0 rx-bytes" "u0 tx-frames" "t0 rx-frames"; do
	read -r nm key <<<"$c"
	set -- "$nm" "$key"
	a=$(stat_of "$T/nd1.json" "$1" "$2"); b=$(stat_of "$T/nd2.json" "$1" "$2")
	if [ "$2" = tx-bytes ] || [ "$2" = rx-bytes ]; then want=$min; else want=1; fi
	if [ "$a" -ge 0 ] && [ $((b - a)) -ge "$want" ]; then
		ok "query-netdevs: $1 $2 grew by at least $want ($a -> $b)"
	else
		not_ok "query-netdevs: $1 $2 grew by at least $want ($a -> $b)"
	fi
done

qmp_check "query-mac-table: the namespace's MAC on pt, the gateway's on pu (hub 1), no flood hub" \
	'{"execute":"query-mac-table"}' \
	'{(m["hub"], m["mac"], m["port"]) for m in r["return"]} >= {(1, env["NSMAC"], "pt"), (1, env["GWMAC"], "pu")} and
	 all(m["hub"] == 1 and set(m) == {"hub", "mac", "port", "age"} and 0 <= m["age"] < 300 for m in r["return"])'

check "the namespace pings 10.0.2.2 with the tap's link up" ns_ping 2
up_events=$("$PY" "$T/q.py" ev "$T/events" NETDEV_LINK_CHANGED 'd == {"netdev-id": "t0", "up": True}' count)
qmp_check "set_link t0 off" '{"execute":"set_link","arguments":{"name":"t0","up":false}}' 'r["return"] == {}'
ev_wait "NETDEV_LINK_CHANGED {netdev-id t0, up false}" NETDEV_LINK_CHANGED \
	'd == {"netdev-id": "t0", "up": False} and qdict_order(e)'
t0_tx() { netdevs | "$PY" -c 'import json,sys
print([(n["up"], n["stats"]["tx-frames"]) for n in json.load(sys.stdin)["return"] if n["name"] == "t0"])'; }
tx_down=$(t0_tx)
if ns_ping 3; then not_ok "no ping answered while t0's link is down"; else ok "no ping answered while t0's link is down"; fi
tx_after=$(t0_tx)
if [ "$tx_down" = "$tx_after" ] && [[ $tx_down == "[(False, "* ]]; then
	ok "query-netdevs: t0 down, nothing the namespace sent while down went through ($tx_after)"
else
	not_ok "query-netdevs: t0 down, nothing the namespace sent while down went through ($tx_down, $tx_after)"
fi
qmp_check "set_link t0 on" '{"execute":"set_link","arguments":{"name":"t0","up":true}}' 'r["return"] == {}'
ev_wait "NETDEV_LINK_CHANGED {netdev-id t0, up true} (a new one)" NETDEV_LINK_CHANGED \
	'd == {"netdev-id": "t0", "up": True}' 10 $((up_events + 1))
check "the namespace's pings are answered again after set_link on" wait_for 10 ns_ping 1

before=$("$PY" "$T/q.py" rarp "$T/t0.pcap" "$GWMAC" 2>/dev/null || echo -1)
qmp_check "announce-self with QEMU's mandatory arguments (rounds 3)" \
	'{"execute":"announce-self","arguments":{"initial":50,"max":550,"rounds":3,"step":100}}' \
	'r["return"] == {}'
rarp_is() { [ "$("$PY" "$T/q.py" rarp "$T/t0.pcap" "$GWMAC" 2>/dev/null)" = "$1" ]; }
if [ "$before" = 0 ] && wait_for 10 rarp_is 3 && sleep 1 && rarp_is 3; then
	ok "the tap's capture holds exactly 3 RARP frames (0x8035, 60 bytes) from $GWMAC"
else
	not_ok "the tap's capture holds exactly 3 RARP frames (before: $before, after: $("$PY" "$T/q.py" rarp "$T/t0.pcap" "$GWMAC" 2>&1))"
fi

# ---- hub 0 again: the guests ping each other, then g2 goes ---------------------------------------
if guest_wait ga '^QNET-CHECK ping-10\.0\.9\.12 (ok|fail)' 150 &&
   guest_wait gb '^QNET-CHECK ping-10\.0\.9\.11 (ok|fail)' 60 &&
   guest_serial ga | grep -q '^QNET-CHECK ping-10\.0\.9\.12 ok' &&
   guest_serial gb | grep -q '^QNET-CHECK ping-10\.0\.9\.11 ok'; then
	ok "the guests ping each other through a (start-up) and g2 (netdev_add)"
else
	not_ok "the guests ping each other through a (start-up) and g2 (netdev_add)"
fi
qmp_check "query-netdevs: g2 up, its frame counters grew both ways" '{"execute":"query-netdevs"}' \
	'[(n["up"], n["stats"]["rx-frames"] > 0, n["stats"]["tx-frames"] > 0)
	  for n in r["return"] if n["name"] == "g2"] == [(True, True, True)]'
lost_early=$(guest_serial ga | grep -c '^QNET-CHECK peer-lost')
qmp_check "QMP netdev_del g2" '{"execute":"netdev_del","arguments":{"id":"g2"}}' 'r["return"] == {}'
qmp_check "query-netdevs: g2 gone, p2 stays without a peer" '{"execute":"query-netdevs"}' \
	'[n for n in r["return"] if n["name"] == "g2"] == [] and
	 [("peer" in n) for n in r["return"] if n["name"] == "p2"] == [False]'
qmp_check "QMP netdev_del p2" '{"execute":"netdev_del","arguments":{"id":"p2"}}' 'r["return"] == {}'
qmp_check "QMP netdev_del g2 again: DeviceNotFound" '{"execute":"netdev_del","arguments":{"id":"g2"}}' \
	'r["error"] == {"class": "DeviceNotFound", "desc": "Device '"'"'g2'"'"' not found"}'
if [ "$lost_early" = 0 ] && guest_wait ga '^QNET-CHECK peer-lost ok' 30; then
	ok "ga's pings to gb fail after netdev_del g2 (and not before)"
else
	not_ok "ga's pings to gb fail after netdev_del g2 (and not before: $lost_early early)"
fi
check "gb's pings to ga fail too" guest_wait gb '^QNET-CHECK peer-lost ok' 30
check "qnet still runs after netdev_del" qnet_alive q
info=$(hmp "info network")
if printf '%s\n' "$info" | grep -q ' a: index=0,type=stream,' && ! printf '%s\n' "$info" | grep -Eq '(^| )(g2|p2):'; then
	ok "info network lists a, no longer g2 or p2"
else
	not_ok "info network lists a, no longer g2 or p2"
	printf '%s\n' "$info" | sed 's/^/#   /'
fi
check "nothing accepts on g2's socket any more" "$PY" "$T/q.py" unix-refused "$T/g2.sock"
if "$PY" "$T/q.py" ev "$T/events" NETDEV_STREAM_DISCONNECTED 'd == {"netdev-id": "g2"}'; then
	echo "# NETDEV_STREAM_DISCONNECTED came for g2"
else
	echo "# no NETDEV_STREAM_DISCONNECTED for g2 (netdev_del closes without one, as QEMU 7.2's cleanup)"
fi
ev_wait "NETDEV_STREAM_CONNECTED for a (the start-up guest)" NETDEV_STREAM_CONNECTED \
	'd == {"netdev-id": "a", "addr": {"type": "unix", "path": env["T"] + "/a.sock"}}' 1

guest_wait_exit ga 30 || not_ok "ga powered off"
guest_wait_exit gb 30 || not_ok "gb powered off"
guest_checks ga
guest_checks gb
check "qnet still running after the guests left" qnet_alive q || qnet_log q
check "qnet exits with status 0 on SIGTERM" qnet_stop q || qnet_log q
echo "# $(($(date +%s) - t_start)) s"
finish
