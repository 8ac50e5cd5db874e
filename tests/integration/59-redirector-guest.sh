#!/bin/bash
# SPDX-License-Identifier: MIT
# 59-redirector-guest.sh - a filter-redirector's indev injects frames into a real QEMU 7.2 guest.
#
# qnet: stream servers g (the guest, unix g.sock) and o (a Python observer, unix o.sock) on hub 0;
# chardev in0 (unix server in.sock, wait=off); filter-redirector r0 on g, queue=rx, indev=in0.
# With queue=rx an injected frame goes "as if g's peer (the hub port) sent it": g receives it and
# writes it to its socket, i.e. to the guest, and the hub never sees it. The guest (virtio-net,
# 10.0.9.11, MAC 52:54:00:12:34:11) answers through g -> hub -> o, so the observer sees the replies.
# Python (written to $T/peer.py) plays the made-up host 52:54:00:aa:bb:cc / 10.0.9.50:
#   1. injects a broadcast ARP request for 10.0.9.11: the guest's ARP reply reaches o;
#   2. injects an ICMP echo request (seq 1): the guest's echo reply (same id/seq/payload) reaches o;
#   3. none of the injected frames reached o (they went to the guest only);
#   4. qom-set r0 queue tx: an injected echo request (seq 2) now goes out through the hub (o gets
#      it byte for byte) and not to the guest (no reply);
#   5. qom-set r0 queue rx: an echo request (seq 3) reaches the guest again and is answered.
# The guest counts the echo requests it got (exactly 2: seq 1 and 3) and checks that it learned
# 10.0.9.50 -> 52:54:00:aa:bb:cc from the injected ARP request.
# Runs against $QNET, then against the ASan+UBSan build (QNET_SAN, default build/san/qnet) when it
# exists; for that one the qnet log must hold no sanitizer report.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd qemu-system-x86_64 timeout
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
guest_build || { not_ok "guest image builds"; finish; }

cat >"$T/guest.sh" <<'EOF'
#!/bin/sh
# the host injects echo requests seq 1 and 3 (seq 2 must not arrive)
check injected_echo_requests_arrive wait_pinged 2 45
sleep 1
mark echos "$(in_echos)"
check injected_arp_taught_10.0.9.50_is_52:54:00:aa:bb:cc \
	grep -qE '^10\.0\.9\.50 .*52:54:00:aa:bb:cc' /proc/net/arp
cat /proc/net/arp
EOF

cat >"$T/peer.py" <<'EOF'
import socket, struct, sys, time

D = sys.argv[1]
HOST_MAC = bytes.fromhex("525400aabbcc")
GUEST_MAC = bytes.fromhex("525400123411")
HOST_IP = socket.inet_aton("10.0.9.50")
GUEST_IP = socket.inet_aton("10.0.9.11")
ICMP_ID = 0x5159
FAILED = []


def check(desc, cond):
    print(("ok " if cond else "fail: ") + desc, flush=True)
    if not cond:
        FAILED.append(desc)


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def pad(f):
    return f + b"\0" * max(0, 60 - len(f))


def arp(op, dst, sha, spa, tha, tpa):
    return pad(dst + sha + b"\x08\x06" +
               struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + sha + spa + tha + tpa)


def payload(seq):
    return b"qnet-59 seq %d " % seq + bytes(range(32, 96))


def echo_request(seq):
    icmp = struct.pack("!BBHHH", 8, 0, 0, ICMP_ID, seq) + payload(seq)
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0x1000 + seq, 0x4000, 64, 1, 0,
                     HOST_IP, GUEST_IP)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return pad(GUEST_MAC + HOST_MAC + b"\x08\x00" + ip + icmp)


class Conn:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.s.settimeout(0.05)
        self.buf = b""

    def send(self, f):
        self.s.sendall(struct.pack(">I", len(f)) + f)

    def read(self):
        try:
            chunk = self.s.recv(1 << 20)
        except socket.timeout:
            return []
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk
        out = []
        while len(self.buf) >= 4:
            n = struct.unpack(">I", self.buf[:4])[0]
            if len(self.buf) < 4 + n:
                break
            out.append(self.buf[4:4 + n])
            self.buf = self.buf[4 + n:]
        return out


def hmp(cmd):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(D + "/q.mon")
    buf = b""

    def until_prompt():
        nonlocal buf
        end = time.time() + 10
        while b"(qemu) " not in buf and time.time() < end:
            d = s.recv(65536)
            if not d:
                break
            buf += d
        i = buf.find(b"(qemu) ")
        out, buf = (buf[:i], buf[i + 7:]) if i >= 0 else (buf, b"")
        return out.decode(errors="replace").replace("\r\n", "\n")

    until_prompt()
    s.sendall(cmd.encode() + b"\n")
    out = until_prompt()
    s.close()
    if out.startswith(cmd + "\n"):
        out = out.split("\n", 1)[1]
    return out


def until(timeout, pred):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.1)
    return False


# the observer (on o) and the injector (on in0); wait until qnet has accepted both
obs = Conn(D + "/o.sock")
inj = Conn(D + "/in.sock")
check("qnet accepted the observer on o",
      until(10, lambda: "o: index=0,type=stream,unix:" in hmp("info network")))
check("in0 reports a connected peer",
      until(10, lambda: "in0: filename=unix:" in hmp("info chardev")))

seen = []            # every frame the observer got
injected = []        # every frame written to in0
arp_answers = 0      # ARP requests for 10.0.9.50 the observer answered


def pump(timeout, pred=None):
    """Read o for up to timeout s (until pred(frame) holds for a new frame); answer ARP for .50."""
    global arp_answers
    end = time.time() + timeout
    while time.time() < end:
        for f in obs.read():
            seen.append(f)
            if (f[12:14] == b"\x08\x06" and f[20:22] == b"\x00\x01" and f[38:42] == HOST_IP):
                obs.send(arp(2, f[6:12], HOST_MAC, HOST_IP, f[22:28], f[28:32]))
                arp_answers += 1
            if pred is not None and pred(f):
                return f
    return None


def is_arp_reply(f):
    return (f[0:6] == HOST_MAC and f[6:12] == GUEST_MAC and f[12:14] == b"\x08\x06" and
            f[20:22] == b"\x00\x02" and f[22:28] == GUEST_MAC and f[28:32] == GUEST_IP and
            f[32:38] == HOST_MAC and f[38:42] == HOST_IP)


def is_echo_reply(seq):
    def p(f):
        if f[0:6] != HOST_MAC or f[12:14] != b"\x08\x00" or f[23] != 1:
            return False
        ihl = (f[14] & 15) * 4
        tot = struct.unpack("!H", f[16:18])[0]
        icmp = f[14 + ihl:14 + tot]
        return (f[26:30] == GUEST_IP and f[30:34] == HOST_IP and f[6:12] == GUEST_MAC and
                icmp[0] == 0 and struct.unpack("!HH", icmp[4:8]) == (ICMP_ID, seq) and
                icmp[8:] == payload(seq))
    return p


def inject(f):
    injected.append(f)
    inj.send(f)


# 1. ARP request (broadcast) for 10.0.9.11 from 10.0.9.50: the guest's reply comes out on o.
#    Repeated (at most 10 times, 0.5 s apart) in case the guest's NIC is not quite ready.
req = arp(1, b"\xff" * 6, HOST_MAC, HOST_IP, b"\0" * 6, GUEST_IP)
t0 = time.time()
got = None
for i in range(10):
    inject(req)
    got = pump(0.5, is_arp_reply)
    if got:
        break
check("queue=rx: the guest answers the injected ARP request: its ARP reply to "
      "52:54:00:aa:bb:cc reaches o (%d request(s), %.2f s)" % (len(injected), time.time() - t0),
      got is not None)

# 2. ICMP echo request seq 1 to the guest
inject(echo_request(1))
t0 = time.time()
got = pump(5, is_echo_reply(1))
check("queue=rx: the guest answers the injected echo request: echo reply (id 0x5159 seq 1, "
      "payload equal) to 52:54:00:aa:bb:cc reaches o (%.0f ms)" % ((time.time() - t0) * 1000),
      got is not None)

# 3. frame count: nothing the injector sent reached the hub side
pump(0.5)
leaked = [f for f in seen if f[6:12] == HOST_MAC]
check("queue=rx: none of the %d injected frames reached o (%d frames from 52:54:00:aa:bb:cc seen, "
      "%d frames seen in all)" % (len(injected), len(leaked), len(seen)), leaked == [])

# 4. queue=tx: injected frames now go out through the hub, not to the guest
out = hmp("qom-set r0 queue tx")
check("qom-set r0 queue tx prints nothing (got %r)" % out, out == "")
check("info network shows r0 with queue=tx",
      "netdev=g,queue=tx" in hmp("info network"))
n_before = len(seen)
f2 = echo_request(2)
inject(f2)
pump(2.0, lambda f: f == f2)
pump(2.0, is_echo_reply(2))
tx_seen = [f for f in seen[n_before:] if f[6:12] == HOST_MAC]
check("queue=tx: the injected echo request (seq 2) reaches o exactly once, bytes equal "
      "(%d injected frame(s) seen)" % len(tx_seen), tx_seen == [f2])
check("queue=tx: the guest does not answer it (no echo reply seq 2 on o)",
      not any(is_echo_reply(2)(f) for f in seen[n_before:]))

# 5. back to queue=rx: seq 3 reaches the guest again (and ends its script)
out = hmp("qom-set r0 queue rx")
check("qom-set r0 queue rx prints nothing (got %r)" % out, out == "")
n_before = len(seen)
inject(echo_request(3))
got = pump(5, is_echo_reply(3))
check("queue=rx again: the guest answers echo request seq 3", got is not None)
pump(0.3)
check("queue=rx again: the injected frame did not reach o",
      not any(f[6:12] == HOST_MAC for f in seen[n_before:]))
print("# observer: %d frames, answered %d ARP request(s) for 10.0.9.50" % (len(seen), arp_answers))
for f in seen:
    print("# o: %s len %d" % (f[:14].hex(), len(f)))
sys.exit(1 if FAILED else 0)
EOF

# run_once TAG BINARY - one qnet (BINARY) with one guest; all the checks above
run_once() {
	local tag=$1 bin=$2 line out rc
	local QNET=$bin
	rm -f "$T"/*.sock "$T/q.mon"
	echo "# $tag: qnet binary $bin"
	if ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
		qnet_start "q$tag" \
		-netdev stream,id=g,server=on,addr.type=unix,addr.path="$T/g.sock" \
		-netdev hubport,id=pg,hubid=0,netdev=g \
		-netdev stream,id=o,server=on,addr.type=unix,addr.path="$T/o.sock" \
		-netdev hubport,id=po,hubid=0,netdev=o \
		-chardev socket,id=in0,path="$T/in.sock",server=on,wait=off \
		-object filter-redirector,id=r0,netdev=g,queue=rx,indev=in0 \
		-monitor unix:"$T/q.mon",server=on,wait=off &&
	   wait_unix_socket "$T/g.sock" 10 && wait_unix_socket "$T/in.sock" 10 &&
	   wait_unix_socket "$T/q.mon" 10; then
		ok "$tag: qnet starts: guest port g and observer port o on hub 0, redirector r0 on g"
	else
		not_ok "$tag: qnet starts: guest port g and observer port o on hub 0, redirector r0 on g"
		qnet_log "q$tag"
		return 1
	fi
	out=$(timeout 20 "$PY" "$ROOT/tests/integration/lib/user_tool.py" hmp "$T/q.mon" "info network")
	check "$tag: info network: r0 on g with indev=in0, queue=rx" grep -qxF \
		"  - r0: type=filter-redirector,vnet_hdr_support=false,indev=in0,position=tail,status=on,insert=behind,netdev=g,queue=rx" \
		<<<"$out"

	# QEMU 7.2's stream client connects once at startup: qnet listens already
	if ! guest_start "g$tag" "stream,id=n0,server=off,addr.type=unix,addr.path=$T/g.sock" \
		"$T/guest.sh" 10.0.9.11/24 52:54:00:12:34:11 virtio-net-pci; then
		not_ok "$tag: QEMU guest starts"
		return 1
	fi
	if guest_wait "g$tag" "^QNET-GUEST-READY g$tag" 60; then
		ok "$tag: guest g$tag is up (10.0.9.11, virtio-net-pci)"
	else
		not_ok "$tag: guest g$tag is up (10.0.9.11, virtio-net-pci)"
		guest_checks "g$tag"
		return 1
	fi

	out=$(timeout 40 "$PY" "$T/peer.py" "$T" 2>&1)
	rc=$?
	while IFS= read -r line; do
		case $line in
		"ok "*) ok "$tag: ${line#ok }" ;;
		"fail: "*) not_ok "$tag: ${line#fail: }" ;;
		*) echo "# $line" ;;
		esac
	done <<<"$out"
	[ "$rc" -eq 0 ] || not_ok "$tag: the Python peers ran to the end (status $rc)"

	guest_wait_exit "g$tag" 30 || not_ok "$tag: guest powered off within 30 s"
	guest_checks "g$tag"
	line=$(guest_mark "g$tag" echos)
	check "$tag: the guest got exactly 2 echo requests (seq 1 and 3, not the queue=tx one): ${line:-none}" \
		test "$line" = 2
	check "$tag: qnet still running" qnet_alive "q$tag"
	qnet_stop "q$tag"
	rc=$?
	check "$tag: qnet exits 0 on SIGTERM (status $rc)" test "$rc" -eq 0
	[ "$tag" = san ] || return 0
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/q$tag.log"; then
		not_ok "$tag: no sanitizer report in the qnet log"
		qnet_log "q$tag" | head -40
	else
		ok "$tag: no sanitizer report in the qnet log"
	fi
}

run_once plain "$QNET"
SAN=${QNET_SAN:-$ROOT/build/san/qnet}
if [ -x "$SAN" ]; then
	run_once san "$SAN"
else
	echo "# no sanitizer build at $SAN: skipped the second run"
fi
finish
