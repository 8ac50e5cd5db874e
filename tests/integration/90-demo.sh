#!/bin/bash
# SPDX-License-Identifier: MIT
# 90-demo.sh - `make demo` works and shows what it claims: DHCP, DNS, NAT, port forward, monitor
set -u
cd "$(dirname "$0")/../.."
out=$(timeout 180 tests/demo.sh 2>&1); rc=$?
fail=0
check() { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fail=1; fi; }
has() { printf '%s\n' "$out" | grep -Eq -- "$1"; }
check "demo exits 0" '[ $rc -eq 0 ]'
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
