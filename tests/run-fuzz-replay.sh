#!/bin/bash
# SPDX-License-Identifier: MIT
# run-fuzz-replay.sh BIN... - replay each libFuzzer target's corpus (fuzz/corpus/<name>/) once
set -u
pass=0 fail=0
for b in "$@"; do
	name=$(basename "$b")
	dir=fuzz/corpus/$name
	if [ ! -d "$dir" ] || [ -z "$(ls -A "$dir" 2>/dev/null)" ]; then
		echo "FAIL $name: no corpus in $dir"
		fail=$((fail + 1)); continue
	fi
	n=$(ls "$dir" | wc -l)
	if out=$(ASAN_OPTIONS=detect_leaks=1 timeout 300 "$b" -runs=0 "$dir" 2>&1); then
		echo "ok   $name: $n corpus inputs"
		pass=$((pass + 1))
	else
		printf '%s\n' "$out" | tail -40
		echo "FAIL $name"
		fail=$((fail + 1))
	fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
