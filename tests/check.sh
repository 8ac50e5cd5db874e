#!/bin/bash
# SPDX-License-Identifier: MIT
# check.sh - everything `make check` runs: unit tests, the same under ASan+UBSan, the fuzz
# corpora, then the integration and interop tests. Ends with one line "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
pass=0 fail=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
run() { # SUITE MAKE-TARGET
	local line p f
	echo "== $1"
	$MAKE --no-print-directory "$2" 2>&1 | tee "$log"
	line=$(grep -E "^$1: [0-9]+ passed, [0-9]+ failed" "$log" | tail -1)
	if [ -z "$line" ]; then
		echo "$1: did not complete (build or runner error)"
		fail=$((fail + 1)); return
	fi
	p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
	f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
	pass=$((pass + p)); fail=$((fail + f))
}
run units unit
run units unit-san
run fuzz fuzz-replay
run integration integration
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
