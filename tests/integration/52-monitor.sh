#!/bin/bash
# SPDX-License-Identifier: MIT
# 52-monitor.sh - the HMP monitor on stdio and on a unix socket.
#
# stdio: banner, prompt, help, info network, unknown command, an overlong line, quit; EOF on stdin
# (pipe and regular file) ends the session, not qnet.
# unix socket (socat and Python): the same commands, several sessions at once, a client that
# never reads is dropped without stalling the others, quit, the socket file removed at exit
# (after quit and after SIGTERM), a bad -monitor argument.
set -u
. "$(dirname "$0")/../lib.sh"
need_cmd socat
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }

NET=(-netdev hubport,id=hp0,hubid=0 -netdev "stream,id=st0,server=on,addr.type=unix,addr.path=$T/st0.sock")
long=$(head -c 5000 /dev/zero | tr '\0' a)

# ---- stdio -------------------------------------------------------------------------------------
printf 'help\ninfo network\nfoo bar\n%s\ninfo version\ninfo\nquit\ninfo network\n' "$long" |
	timeout 10 "$QNET" "${NET[@]}" -monitor stdio >"$T/stdio.out" 2>"$T/stdio.err"
rc=$?
tr -d '\r' <"$T/stdio.out" >"$T/stdio.txt"
check "stdio: quit exits with status 0 (got $rc)" test "$rc" -eq 0
check "stdio: banner in QEMU's shape" \
	grep -qx "qnet [0-9.]* monitor - type 'help' for more information" "$T/stdio.txt"
check "stdio: lines end in \\r\\n as QEMU's" grep -q $'^hub 0\r$' "$T/stdio.out"
check "stdio: help lists help|?, info, quit|q" eval \
	"grep -qx 'help|? \[cmd\] -- show the help' '$T/stdio.txt' &&
	 grep -q '^info \[subcommand\] -- ' '$T/stdio.txt' && grep -qx 'quit|q  -- quit the emulator' '$T/stdio.txt'"
check "stdio: info network shows the hub and the stream netdev" eval \
	"grep -qzP 'hub 0\n \\\\ hp0\nst0: index=0,type=stream,' '$T/stdio.txt'"
check "stdio: unknown command in QEMU's words" grep -qx "unknown command: 'foo'" "$T/stdio.txt"
check "stdio: the overlong line is rejected" grep -q '^command line too long' "$T/stdio.txt"
check "stdio: the overlong line is not run nor echoed" eval "! grep -q aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa '$T/stdio.txt'"
check "stdio: commands after it still work (info version)" grep -qx '[0-9]*\.[0-9]*\.[0-9]*' "$T/stdio.txt"
check "stdio: info alone lists the info subcommands" \
	grep -qx 'info network  -- show the network state' "$T/stdio.txt"
n=$(grep -o '(qemu) ' "$T/stdio.txt" | wc -l)
check "stdio: one prompt per command before quit, none after (7, got $n)" test "$n" -eq 7
check "stdio: nothing runs after quit" eval "[ \$(grep -c '^hub 0\$' '$T/stdio.txt') -eq 1 ]"

# EOF on stdin (pipe) ends the monitor, not qnet
mkfifo "$T/in.fifo"
"$QNET" "${NET[@]}" -monitor stdio <"$T/in.fifo" >"$T/eof.out" 2>&1 &
pid=$!
bg_track "$pid"
printf 'info network\n' >"$T/in.fifo"
sleep 0.5
check "stdio: qnet keeps running after EOF on a pipe" kill -0 "$pid"
check "stdio: the command before EOF was answered" grep -q 'st0: index=0' "$T/eof.out"
kill -TERM "$pid"; wait "$pid"; rc=$?
check "stdio: qnet exits 0 on SIGTERM afterwards (got $rc)" test "$rc" -eq 0

# stdin a regular file (epoll can't watch it)
printf 'info network\n' >"$T/in.txt"
"$QNET" "${NET[@]}" -monitor stdio <"$T/in.txt" >"$T/file.out" 2>&1 &
pid=$!
bg_track "$pid"
sleep 0.5
check "stdio from a file: answered, and qnet keeps running" eval \
	"kill -0 $pid && grep -q 'st0: index=0' '$T/file.out'"
kill -TERM "$pid"; wait "$pid"

# ---- unix socket -------------------------------------------------------------------------------
M="$T/mon.sock"
if qnet_start q "${NET[@]}" -monitor "unix:$M,server=on,wait=off" && wait_unix_socket "$M" 5; then
	ok "unix: qnet listens on $M"
else
	not_ok "unix: qnet listens on $M"; qnet_log q; finish
fi

printf 'help\ninfo network\nfoo\n%s\ninfo version\n' "$long" |
	timeout 10 socat -t 1 - "UNIX-CONNECT:$M" | tr -d '\r' >"$T/sock.txt"
check "unix/socat: banner and prompt" eval \
	"head -1 '$T/sock.txt' | grep -qx \"qnet [0-9.]* monitor - type 'help' for more information\" &&
	 grep -q '^(qemu) help\$' '$T/sock.txt'"
check "unix/socat: help" grep -qx 'quit|q  -- quit the emulator' "$T/sock.txt"
check "unix/socat: info network" grep -q '^st0: index=0,type=stream,' "$T/sock.txt"
check "unix/socat: unknown command" grep -qx "unknown command: 'foo'" "$T/sock.txt"
check "unix/socat: overlong line rejected, next command answered" eval \
	"grep -q '^command line too long' '$T/sock.txt' && grep -qx '[0-9]*\.[0-9]*\.[0-9]*' '$T/sock.txt'"

# several sessions at once, and a client that never reads
cat >"$T/sessions.py" <<'EOF'
import socket, sys, time
path = sys.argv[1]

def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(5)
    return s

def until_prompt(s):
    buf = b""
    while not buf.endswith(b"(qemu) "):
        c = s.recv(65536)
        if not c:
            raise EOFError(buf)
        buf += c
    return buf.decode()

def ask(s, cmd):
    s.sendall(cmd.encode() + b"\n")
    return until_prompt(s)

fails = 0
def check(name, cond):
    global fails
    print(("ok - " if cond else "not ok - ") + name)
    fails += not cond

# three sessions, commands interleaved: each answers its own
a, b, c = conn(), conn(), conn()
for s in (a, b, c):
    until_prompt(s)
ra = ask(a, "info version")
rb = ask(b, "foo")
rc = ask(c, "info network")
ra2 = ask(a, "bar")
check("sessions: each answers its own command",
      "unknown command: 'foo'" in rb and "st0: index=0" in rc and "unknown command: 'bar'" in ra2
      and "unknown" not in ra and "st0" not in rb)
b.close()
check("sessions: closing one leaves the others working", "st0: index=0" in ask(c, "info network"))

# a client that sends a lot and never reads: its output (> 1 MiB) overflows and it is dropped
hog = conn()
hog.setblocking(False)
chunk = b"help\n" * 2000
sent = 0
end = time.time() + 10
while sent < 8 * 1024 * 1024 and time.time() < end:
    try:
        sent += hog.send(chunk)
    except BlockingIOError:
        time.sleep(0.01)
    except OSError:
        break
t0 = time.time()
r = ask(a, "info network")
check("sessions: a non-reading client doesn't stall the others (%.2fs)" % (time.time() - t0),
      "st0: index=0" in r and time.time() - t0 < 2)
# the hog's session was dropped: reading what is left ends in EOF
hog.setblocking(True)
hog.settimeout(5)
total, closed = 0, False
try:
    while total < 64 * 1024 * 1024:
        d = hog.recv(1 << 20)
        if not d:
            closed = True
            break
        total += len(d)
except OSError:
    closed = True
check("sessions: the non-reading client was disconnected (after %d bytes)" % total, closed)
check("sessions: still answering after that", "unknown command: 'baz'" in ask(c, "baz"))
sys.exit(1 if fails else 0)
EOF
timeout 60 "$PY" "$T/sessions.py" "$M" || not_ok "sessions.py ran to the end"
check "unix: qnet still running" qnet_alive q

out=$(printf 'quit\n' | timeout 5 socat -t 1 - "UNIX-CONNECT:$M" 2>&1)
wait_for 5 eval "! qnet_alive q"
check "unix: quit ends qnet" eval "! qnet_alive q"
qnet_stop q; rc=$?
check "unix: exit status 0 after quit (got $rc)" test "$rc" -eq 0
check "unix: socket file removed after quit" test ! -e "$M"

# SIGTERM also removes it; a stale file from an earlier run is replaced
"$PY" -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$M"
if qnet_start q2 "${NET[@]}" -monitor "unix:$M,server=on,wait=off"; then
	out=$(printf 'info version\n' | timeout 5 socat -t 1 - "UNIX-CONNECT:$M" 2>&1 | tr -d '\r')
	check "unix: binds over a stale socket file" grep -qx '[0-9]*\.[0-9]*\.[0-9]*' <<<"$out"
	qnet_stop q2; rc=$?
	check "unix: SIGTERM exits 0 (got $rc)" test "$rc" -eq 0
	check "unix: socket file removed after SIGTERM" test ! -e "$M"
else
	not_ok "unix: qnet starts over a stale socket file"; qnet_log q2
fi

# bad arguments
err=$(timeout 5 "$QNET" "${NET[@]}" -monitor bogus 2>&1 </dev/null); rc=$?
check "-monitor bogus fails with QEMU's text (rc $rc: $err)" eval \
	"[ $rc -ne 0 ] && grep -q \"'bogus' is not a valid char driver\" <<<\"\$err\""
err=$(timeout 5 "$QNET" "${NET[@]}" -monitor "unix:$M,server=on,wait=off,foo=1" 2>&1 </dev/null); rc=$?
check "-monitor unix:...,foo=1 fails with QEMU's text (rc $rc: $err)" eval \
	"[ $rc -ne 0 ] && grep -q \"Invalid parameter 'foo'\" <<<\"\$err\""
finish
