#!/bin/bash
# SPDX-License-Identifier: MIT
# 90-demo.sh - `make demo` works and shows what it claims (pings, info network, capture)
set -u
cd "$(dirname "$0")/../.."
out=$(timeout 120 tests/demo.sh 2>&1); rc=$?
check() { if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fail=1; fi; }
fail=0
check "demo exits 0" '[ $rc -eq 0 ]'
check "ping A->B: 3 replies" 'printf "%s\n" "$out" | grep -q "3 packets transmitted, 3 received"'
check "info network shows hub 0 with both taps" \
	'printf "%s\n" "$out" | grep -q "^ \\\\ pb: tb: index=0,type=tap,ifname=eth0,script=no,downscript=no"'
check "info network shows the capture filter" 'printf "%s\n" "$out" | grep -q "  - cap: type=filter-dump"'
check "capture holds ICMP requests and replies" \
	'printf "%s\n" "$out" | grep -Eq "ICMP echo requests: [1-9][0-9]*, replies: [1-9]"'
check "taps are gone after qnet exits" '! printf "%s\n" "$out" | grep -q "still exists"'
[ $fail -eq 0 ] || printf '%s\n' "$out" | tail -40
exit $fail
