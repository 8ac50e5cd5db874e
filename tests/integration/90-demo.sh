#!/bin/bash
# SPDX-License-Identifier: MIT
# 90-demo.sh - `make demo` works and shows what it claims: DHCP, DNS, NAT, port forward, monitor
set -u
cd "$(dirname "$0")/../.."
fail=0
check() { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fail=1; fi; }
has() { printf '%s\n' "$out" | grep -Eq -- "$1"; }
# A decoy holds UDP 127.53.1.1:53 (the demo's first choice): the demo must take another address,
# not share or reuse the decoy. The decoy exits by itself after 200 s at the latest.
python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.53.1.1", 53)); time.sleep(200)' &
decoy=$!
trap 'kill $decoy 2>/dev/null; wait $decoy 2>/dev/null' EXIT
for _ in $(seq 30); do ss -Hlun 'sport = :53' | grep -q '127\.53\.1\.1:53' && break; sleep 0.1; done
out=$(timeout 180 tests/demo.sh 2>&1); rc=$?
check "demo exits 0" '[ $rc -eq 0 ]'
dns=$(printf '%s\n' "$out" | sed -n 's/^resolver: dnsmasq pid \([0-9]*\) on \(127\.[0-9.]*\):53, answering$/\1 \2/p')
dnspid=${dns%% *} dnsip=${dns#* }
check "the demo's own resolver started and answered ($dnsip, pid $dnspid)" '[ -n "$dns" ]'
check "it is not on 127.0.0.1 nor on the decoy's 127.53.1.1" \
	'[ -n "$dnsip" ] && [ "$dnsip" != 127.0.0.1 ] && [ "$dnsip" != 127.53.1.1 ]'
check "the demo's dnsmasq is gone after the demo" '[ -n "$dnspid" ] && ! kill -0 "$dnspid" 2>/dev/null'
check "nothing listens on the demo's resolver address any more" \
	'[ -n "$dnsip" ] && ! ss -Hlun "sport = :53" | grep -qF " $dnsip:53 "'
check "DHCP lease 10.0.2.15 with router and DNS" \
	'has "lease: ip=10.0.2.15 mask=24 router=10.0.2.2 dns=10.0.2.3"'
check "default route via 10.0.2.2" 'has "^default via 10.0.2.2 dev eth0"'
check "DNS answer through 10.0.2.3" 'has "^Address: 10.0.2.2$"'
check "page fetched from host loopback through 10.0.2.2" 'has "^hello from the host.s loopback$"'
check "ping 10.0.2.2 answered" 'has "2 packets transmitted, 2 received"'
check "page fetched from the namespace through the hostfwd" 'has "^hello from inside the namespace$"'
check "info usernet in QEMU's layout with the forward" \
	'has "^Hub 0 \\(u0\\):$" && has "^  Protocol\\[State\\]    FD  Source Address  Port   Dest. Address  Port RecvQ SendQ$" && has "^  TCP\\[HOST_FORWARD\\] +[0-9]+ +127.0.0.1 +[0-9]+ +10.0.2.15 +80 +0 +0$"'
check "info network shows the user netdev on hub 0" 'has "^ \\\\ p0: u0: index=0,type=user,net=10.0.2.0,restrict=off$"'
check "the capture holds DHCP, DNS and HTTP" 'has "DHCP: [1-9][0-9]*, DNS: [1-9][0-9]*, HTTP: [1-9]"'
check "the tap is gone after qnet exits" '! has "eth0 still exists"'
[ $fail -eq 0 ] || printf '%s\n' "$out" | tail -60
exit $fail
