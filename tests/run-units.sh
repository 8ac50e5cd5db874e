#!/bin/bash
# SPDX-License-Identifier: MIT
# run-units.sh DIR BIN... - run unit test binaries, sum their "N passed, N failed" lines; a
# binary that leaves a process behind fails (tests/leftovers.sh)
set -u
shift
pass=0 fail=0
for b in "$@"; do
	tag=unit-$$-$(basename "$b")
	out=$(QNET_TEST_TAG=$tag "$b" 2>&1); rc=$?
	if ! left=$("$(dirname "$0")"/leftovers.sh "$tag"); then
		out="$out
$left"
		line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)
		p=${line%% passed*}
		printf '%s\n' "$out"
		echo "$(basename "$b"): ${p:-0} passed, 1 failed (left processes behind)"
		pass=$((pass + ${p:-0})); fail=$((fail + 1)); continue
	fi
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)
	if [ -z "$line" ]; then
		printf '%s\n' "$out"
		echo "FAIL $(basename "$b"): no summary line (exit $rc)"
		fail=$((fail + 1)); continue
	fi
	p=${line%% passed*}; f=${line#*, }; f=${f%% failed*}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	[ "$f" -ne 0 ] && printf '%s\n' "$out"
	echo "$(basename "$b"): $p passed, $f failed"
	pass=$((pass + p)); fail=$((fail + f))
done
echo "units: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
