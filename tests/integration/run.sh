#!/bin/bash
# SPDX-License-Identifier: MIT
# run.sh [PATTERN] - run the integration tests (tests/integration/NN-*.sh), as root.
# Each script prints "ok - ..." / "not ok - ..." lines and exits non-zero on failure.
# Every check line counts; a script that fails without a "not ok" line counts as one failure.
# A process the script started that is still alive after it adds a "not ok - left behind: ..."
# line and is killed (tests/leftovers.sh; the processes are told by QNET_TEST_TAG in their env).
set -u
cd "$(dirname "$0")/../.."
export QNET=${QNET:-$PWD/build/qnet}
export QNET_SAN=${QNET_SAN:-$PWD/build/san/qnet}
pattern=${1:-}
if [ "$(id -u)" -ne 0 ]; then
	echo "integration: NOT RUN: these tests need root (network namespaces, taps, QEMU)"
	echo "integration: 0 passed, 1 failed"
	exit 1
fi
pass=0 fail=0 failed_scripts=()
for t in tests/integration/[0-9]*.sh; do
	[ -n "$pattern" ] && [[ $t != *$pattern* ]] && continue
	start=$(date +%s)
	tag=run-$$-$start-${t##*/}
	out=$(QNET_TEST_TAG=$tag timeout 900 bash "$t" 2>&1); rc=$?
	# Anything the script started and left running fails it (and is killed).
	if ! left=$(tests/leftovers.sh "$tag"); then
		out="$out
$left"
		[ "$rc" -eq 0 ] && rc=1
	fi
	secs=$(( $(date +%s) - start ))
	okc=$(printf '%s\n' "$out" | grep -c '^ok ')
	nokc=$(printf '%s\n' "$out" | grep -c '^not ok ')
	if [ "$rc" -ne 0 ] && [ "$nokc" -eq 0 ]; then nokc=1; fi
	if [ "$rc" -eq 0 ] && [ "$okc" -eq 0 ]; then nokc=$((nokc + 1)); out="$out
not ok - $t printed no check"; fi
	pass=$((pass + okc)); fail=$((fail + nokc))
	if [ "$nokc" -ne 0 ]; then
		failed_scripts+=("$t")
		printf '%s\n' "$out" | tail -60
		echo "FAIL $t ($okc ok, $nokc not ok, exit $rc, ${secs}s)"
	else
		echo "ok   $t ($okc checks, ${secs}s)"
	fi
done
[ ${#failed_scripts[@]} -gt 0 ] && echo "failed: ${failed_scripts[*]}"
echo "integration: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
