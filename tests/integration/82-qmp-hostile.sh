#!/bin/bash
# SPDX-License-Identifier: MIT
# 82-qmp-hostile.sh - hostile QMP clients, against build/qnet and build/san/qnet (ASan+UBSan).
#
# Broken JSON, a 10 MiB document (QEMU's size error, client dropped), unknown commands, wrong
# argument types, 100000-deep nesting, a client that never reads its replies (dropped at the
# output bound) while another QMP client and the data path (two stream clients on a hub) keep
# working; RSS stays bounded; no sanitizer report; clean exit.
set -u
. "$(dirname "$0")/../lib.sh"
SAN=${QNET_SAN:-$(dirname "$QNET")/san/qnet}
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
[ -x "$SAN" ] || { not_ok "sanitizer build $SAN exists"; finish; }
# a small quarantine, so that RSS shows what qnet holds rather than what ASan keeps
export ASAN_OPTIONS=detect_leaks=1:exitcode=99:quarantine_size_mb=4
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
PLAIN=$QNET

cat >"$T/hostile.py" <<'EOF'
import json, os, socket, struct, sys, time

T, pid, bound = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def ok(cond, what):
    print(("ok - " if cond else "not ok - ") + what, flush=True)

def rss_kb():
    for l in open("/proc/%d/status" % pid):
        if l.startswith("VmRSS:"):
            return int(l.split()[1])
    return -1

class C:
    def __init__(self):
        self.s = socket.socket(socket.AF_UNIX); self.s.settimeout(10)
        self.s.connect(T + "/qmp.sock"); self.buf = b""
        self.line()
    def line(self):
        deadline = time.time() + 10
        while b"\n" not in self.buf:
            if time.time() > deadline: raise TimeoutError
            d = self.s.recv(65536)
            if not d: raise EOFError
            self.buf += d
        l, self.buf = self.buf.split(b"\n", 1)
        return json.loads(l)
    def send(self, b): self.s.sendall(b)
    def reply(self):
        while True:
            m = self.line()
            if "event" not in m: return m

good = C(); good.send(b'{"execute":"qmp_capabilities"}'); good.reply()
rss0 = rss_kb()

def alive(what):
    good.send(b'{"execute":"query-version","id":"alive"}')
    r = good.reply()
    ok(r.get("id") == "alive" and "return" in r, "the other client still gets answers after " + what)

h = C(); h.send(b'{"execute":"qmp_capabilities"}'); h.reply()
for doc, want in [(b'{"execute": }', "JSON parse error, expecting value"),
                  (b'{"execute":tru}', "JSON parse error, invalid keyword 'tru'"),
                  (b'}', "JSON parse error, expecting value"),
                  (b'{"execute":"nosuch"}', "The command nosuch has not been found"),
                  (b'{"execute":"set_link","arguments":{"name":["x"],"up":1}}', "Invalid parameter type for 'name', expected: string"),
                  (b'{"execute":"netdev_add","arguments":{"type":"hubport","id":"h9","hubid":"x"}}', None),
                  (b'{"execute":"object-add","arguments":{"qom-type":"filter-dump"}}', None),
                  (b'{"execute":"human-monitor-command","arguments":{"command-line":7}}', "Invalid parameter type for 'command-line', expected: string"),
                  (b'{"execute":"query-version"\x01}', "JSON parse error, expecting value"),
                  (b'\x00\xff\xfe', "JSON parse error, expecting value")]:
    h.send(doc + b"\n")
    r = h.reply()
    ok("error" in r and (want is None or r["error"]["desc"] == want), "error for %r" % doc[:40])
h.send(b"[" * 100000 + b"]" * 100000)
r = h.reply()
ok(r.get("error", {}).get("desc") == "JSON nesting depth limit exceeded", "100000-deep nesting: QEMU's nesting error")
h.send(b'{"execute":"query-version","id":1}')
ok(h.reply().get("id") == 1, "the hostile client is still served after nesting")
alive("broken input")

# a 10 MiB document: the size error, then the client is dropped
big = C(); big.send(b'{"execute":"qmp_capabilities"}'); big.reply()
try:
    big.send(b'{"execute":"human-monitor-command","arguments":{"command-line":"' + b"A" * (10 << 20) + b'"}}')
except (BrokenPipeError, ConnectionResetError):
    pass
try:
    r = big.reply()
    ok(r.get("error", {}).get("desc") == "JSON token size limit exceeded", "10 MiB document: QEMU's size error")
    try:
        big.line(); dropped = False
    except (EOFError, ConnectionResetError):
        dropped = True
    ok(dropped, "10 MiB document: the client is dropped")
except (EOFError, ConnectionResetError):
    ok(True, "10 MiB document: the client is dropped (error lost with the reset)")
alive("a 10 MiB document")

# a client that never reads: flood requests, never recv
lazy = C(); lazy.send(b'{"execute":"qmp_capabilities"}')
lazy.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
req = b'{"execute":"query-commands"}' * 64
sent, closed = 0, False
lazy.s.settimeout(0.5)
t0 = time.time()
while time.time() - t0 < 20 and sent < (40 << 20):
    try:
        lazy.s.sendall(req); sent += len(req)
    except (BrokenPipeError, ConnectionResetError):
        closed = True; break
    except socket.timeout:
        # qnet stopped reading us (or dropped us): check the others meanwhile
        break
alive("a client that never reads")
# qnet must have dropped it: the socket reaches EOF once the unread data is consumed
lazy.s.settimeout(10)
try:
    total = 0
    while True:
        d = lazy.s.recv(1 << 20)
        if not d: break
        total += len(d)
        if total > (8 << 20): break
    closed = closed or total <= (8 << 20)
except (ConnectionResetError, socket.timeout):
    closed = True
ok(closed, "the client that never read is dropped (sent %d bytes)" % sent)

# the data path works: a frame from a's client reaches b's client through the hub
ca, cb = socket.socket(socket.AF_UNIX), socket.socket(socket.AF_UNIX)
ca.connect(T + "/a.sock"); cb.connect(T + "/b.sock"); cb.settimeout(5)
time.sleep(0.3)
frame = b"\xff" * 6 + b"\x52\x54\x00\x12\x34\x56" + b"\x08\x06" + b"x" * 46
ca.sendall(struct.pack(">I", len(frame)) + frame)
got = b""
try:
    while len(got) < 4 + len(frame):
        d = cb.recv(4096)
        if not d: break
        got += d
except socket.timeout:
    pass
ok(got[4:4 + len(frame)] == frame, "the data path forwards a frame through the hub meanwhile")
rss1 = rss_kb()
ok(rss1 - rss0 < bound, "RSS grew by %d KiB (bound %d KiB)" % (rss1 - rss0, bound))
alive("everything")
EOF

# run NAME BINARY RSS_BOUND_KIB
run() {
	QNET=$2
	rm -f "$T"/*.sock
	qnet_start "$1" -netdev "stream,id=a,server=on,addr.type=unix,addr.path=$T/a.sock" \
		-netdev "stream,id=b,server=on,addr.type=unix,addr.path=$T/b.sock" \
		-netdev hubport,id=pa,hubid=0,netdev=a -netdev hubport,id=pb,hubid=0,netdev=b \
		-qmp "unix:$T/qmp.sock,server=on,wait=off" || { not_ok "$1: qnet starts"; return; }
	wait_unix_socket "$T/qmp.sock" 10
	timeout 120 "$PY" "$T/hostile.py" "$T" "$(cat "$T/$1.pid")" "$3" >"$T/$1.py.out" 2>&1 ||
		not_ok "$1: the hostile client script ran to the end"
	while read -r l; do
		case $l in
		"ok - "*) ok "$1: ${l#ok - }" ;;
		"not ok - "*) not_ok "$1: ${l#not ok - }" ;;
		esac
	done <"$T/$1.py.out"
	grep -vE '^(ok|not ok) ' "$T/$1.py.out" | sed 's/^/# /'
	check "$1: qnet still runs" qnet_alive "$1"
	qnet_stop "$1"
	local rc=$?
	check "$1: clean exit on SIGTERM, no sanitizer report (status $rc)" eval \
		"[ $rc -eq 0 ] && ! grep -qE 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' '$T/$1.log'"
	grep -E 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' -A15 "$T/$1.log" | head -30 |
		sed 's/^/# /'
}

run plain "$PLAIN" $((16 * 1024))
run san "$SAN" $((64 * 1024))
finish
