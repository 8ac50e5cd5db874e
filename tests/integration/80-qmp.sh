#!/bin/bash
# SPDX-License-Identifier: MIT
# 80-qmp.sh - the QMP server: QEMU 7.2's protocol on unix and tcp sockets.
#
# socat sends raw JSON (greeting, negotiation, errors, texts compared byte for byte with what
# QEMU 7.2 answers); a Python client of this test, written to QEMU's protocol (greeting, then
# qmp_capabilities, replies matched by id, events kept aside) runs query-version, query-commands,
# human-monitor-command "info network", errors, and sees NETDEV_STREAM_CONNECTED/DISCONNECTED when
# a client connects to and leaves a stream netdev; two sessions at once on tcp; quit.
set -u
. "$(dirname "$0")/../lib.sh"
need_cmd socat
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }

port=$(free_port)
qnet_start q -netdev "stream,id=st0,server=on,addr.type=unix,addr.path=$T/st0.sock" \
	-netdev hubport,id=hp0,hubid=0,netdev=st0 \
	-qmp "unix:$T/qmp.sock,server=on,wait=off" -qmp "tcp:127.0.0.1:$port,server=on,wait=off" ||
	{ not_ok "qnet starts with two -qmp servers"; finish; }
wait_unix_socket "$T/qmp.sock" 5
wait_tcp_listen "$port" 5

# ---- raw JSON with socat -------------------------------------------------------------------------
{
	printf '%s\n' '{"execute":"query-version"}' '{"execute":"qmp_capabilities","id":1}' \
		'{"execute":"nosuch","id":3}' '{"execute":"set_link","arguments":{"name":"foo","up":true},"id":4}' \
		'{"execute":"set_link","arguments":{"name":"foo"},"id":5}' \
		'{"execute":"set_link","arguments":{"name":1,"up":true},"id":6}' '{"bad json' '[1,2]' \
		'{"execute":"query-version","foo":1,"id":11}'
	sleep 1
} | timeout 10 socat -t 2 - "UNIX-CONNECT:$T/qmp.sock" >"$T/raw.out"
check "socat: greeting in QEMU 7.2's shape with qnet's version" \
	grep -qxF $'{"QMP": {"version": {"qemu": {"micro": 0, "minor": 1, "major": 0}, "package": "qnet 0.1.0"}, "capabilities": []}}\r' "$T/raw.out"
want() { grep -qxF "$1"$'\r' "$T/raw.out"; }
check "socat: command before negotiation: QEMU's CommandNotFound text" \
	want '{"error": {"class": "CommandNotFound", "desc": "Expecting capabilities negotiation with '"'"'qmp_capabilities'"'"'"}}'
check "socat: negotiation returns {} with the id" want '{"return": {}, "id": 1}'
check "socat: unknown command" \
	want '{"id": 3, "error": {"class": "CommandNotFound", "desc": "The command nosuch has not been found"}}'
check "socat: DeviceNotFound" \
	want '{"id": 4, "error": {"class": "DeviceNotFound", "desc": "Device '"'"'foo'"'"' not found"}}'
check "socat: missing argument" \
	want '{"id": 5, "error": {"class": "GenericError", "desc": "Parameter '"'"'up'"'"' is missing"}}'
check "socat: wrong argument type" \
	want '{"id": 6, "error": {"class": "GenericError", "desc": "Invalid parameter type for '"'"'name'"'"', expected: string"}}'
check "socat: broken JSON" \
	want '{"error": {"class": "GenericError", "desc": "JSON parse error, stray '"'"'\"bad json\n'"'"'"}}'
check "socat: not an object" want '{"error": {"class": "GenericError", "desc": "QMP input must be a JSON object"}}'
check "socat: unexpected member" \
	want '{"id": 11, "error": {"class": "GenericError", "desc": "QMP input member '"'"'foo'"'"' is unexpected"}}'

# ---- a Python client following QEMU's protocol ---------------------------------------------------
cat >"$T/client.py" <<'EOF'
import json, socket, sys, time

class QMP:
    """QEMU's protocol: greeting, qmp_capabilities, then requests with ids; events aside."""
    def __init__(self, addr):
        fam = socket.AF_UNIX if isinstance(addr, str) else socket.AF_INET
        self.s = socket.socket(fam, socket.SOCK_STREAM)
        self.s.settimeout(5)
        self.s.connect(addr)
        self.buf, self.events, self.n = b"", [], 0
        self.greeting = self.recv()
        assert "QMP" in self.greeting, self.greeting
        r = self.cmd("qmp_capabilities")
        assert r == {"return": {}, "id": r["id"]}, r
    def recv(self):
        deadline = time.time() + 5
        while b"\n" not in self.buf:
            assert time.time() < deadline, "timeout"
            d = self.s.recv(65536)
            assert d, "connection closed"
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        assert line.endswith(b"\r"), line
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
    def wait_event(self, name, secs=5):
        deadline = time.time() + secs
        while True:
            for e in self.events:
                if e["event"] == name:
                    self.events.remove(e)
                    return e
            if time.time() > deadline:
                return None
            self.s.settimeout(max(0.05, deadline - time.time()))
            try:
                m = self.recv()
            except (socket.timeout, AssertionError):
                continue
            finally:
                self.s.settimeout(5)
            if "event" in m:
                self.events.append(m)

def ok(cond, what):
    print(("ok - " if cond else "not ok - ") + what)
    return cond

mode, a, b = sys.argv[1], sys.argv[2], sys.argv[3]
if mode == "main":
    q = QMP(a)
    g = q.greeting["QMP"]
    ok(g["version"]["qemu"] == {"major": 0, "minor": 1, "micro": 0} and g["capabilities"] == [],
       "python: greeting version and capabilities")
    r = q.cmd("query-version")
    ok(r["return"]["package"].startswith("qnet ") and r["id"] == "c2", "python: query-version, id echoed")
    names = [c["name"] for c in q.cmd("query-commands")["return"]]
    ok(all(n in names for n in ["qmp_capabilities", "query-version", "query-commands", "quit",
                                "human-monitor-command", "netdev_add", "netdev_del", "set_link",
                                "object-add", "object-del", "query-netdevs", "query-hostfwd",
                                "hostfwd-add", "hostfwd-remove", "query-dhcp-leases",
                                "query-mac-table", "announce-self"]), "python: query-commands lists every command")
    r = q.cmd("human-monitor-command", **{"command-line": "info network"})
    ok("hub 0\r\n \\ hp0: st0: index=0,type=stream," in r["return"], "python: HMP info network through QMP, \\r\\n lines")
    r = q.cmd("netdev_del", id="nope")
    ok(r["error"] == {"class": "DeviceNotFound", "desc": "Device 'nope' not found"}, "python: netdev_del error")
    r = q.cmd("query-netdevs")
    st = [n for n in r["return"] if n["name"] == "st0"]
    ok(st and st[0]["type"] == "stream" and st[0]["peer"] == "hp0" and st[0]["up"] is False,
       "python: query-netdevs shows st0, its peer and link down before a connection")
    # a stream client connects and leaves: QEMU's events
    c = socket.socket(socket.AF_UNIX); c.connect(b)
    e = q.wait_event("NETDEV_STREAM_CONNECTED")
    ok(e is not None and e["data"] == {"netdev-id": "st0", "addr": {"type": "unix", "path": b}}
       and set(e["timestamp"]) == {"seconds", "microseconds"},
       "python: NETDEV_STREAM_CONNECTED {netdev-id, addr} with a timestamp")
    c.close()
    e = q.wait_event("NETDEV_STREAM_DISCONNECTED")
    ok(e is not None and e["data"] == {"netdev-id": "st0"}, "python: NETDEV_STREAM_DISCONNECTED {netdev-id}")
    r = q.cmd("set_link", name="hp0", up=False)
    for _ in range(5):  # st0's own link changes (connect, disconnect) come first
        e = q.wait_event("NETDEV_LINK_CHANGED")
        if not e or e["data"]["netdev-id"] == "hp0":
            break
    ok(r["return"] == {} and e and e["data"] == {"netdev-id": "hp0", "up": False}, "python: set_link and NETDEV_LINK_CHANGED")
elif mode == "two":
    q1, q2 = QMP(a), QMP(("127.0.0.1", int(b)))
    r1, r2 = q1.cmd("query-version"), q2.cmd("query-version")
    ok(r1["return"] == r2["return"], "python: two sessions at once (unix and tcp), each its own")
    q2.s.close()
    r = q1.cmd("quit")
    e = q1.wait_event("SHUTDOWN", 1) if not [x for x in q1.events if x["event"] == "SHUTDOWN"] else True
    ok(r == {"return": {}, "id": r["id"]} and e, "python: quit returns {} after a SHUTDOWN event")
EOF
"$PY" "$T/client.py" main "$T/qmp.sock" "$T/st0.sock" >"$T/py.out" 2>&1 ||
	not_ok "python client (main) ran to the end"
while read -r l; do case $l in "ok - "*) ok "${l#ok - }" ;; "not ok - "*) not_ok "${l#not ok - }" ;; esac; done <"$T/py.out"
grep -vE '^(ok|not ok) ' "$T/py.out" | sed 's/^/# /'
"$PY" "$T/client.py" two "$T/qmp.sock" "$port" >"$T/py2.out" 2>&1 ||
	not_ok "python client (two) ran to the end"
while read -r l; do case $l in "ok - "*) ok "${l#ok - }" ;; "not ok - "*) not_ok "${l#not ok - }" ;; esac; done <"$T/py2.out"
grep -vE '^(ok|not ok) ' "$T/py2.out" | sed 's/^/# /'
wait_for 5 eval '! qnet_alive q'
check "quit ends qnet" eval '! qnet_alive q'
check "the QMP socket file is removed at exit" test ! -e "$T/qmp.sock"
finish
