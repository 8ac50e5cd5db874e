#!/bin/bash
# SPDX-License-Identifier: MIT
# leftovers.sh TAG - after a test: find every process still alive that the test started, print
# "not ok - left behind: PID COMMAND" for each, kill it (TERM, then KILL), and exit 1; exit 0 when
# there is none.
#
# The runner starts each test with QNET_TEST_TAG=TAG in its environment. Every process the test
# starts inherits it, including daemons that fork, call setsid() and reparent to pid 1 (dnsmasq,
# iperf3 -D, qnet -daemonize), processes in namespaces the test made, and QEMU. So this finds
# exactly the test's own processes, never another user's or another run's, on a shared machine.
set -u
tag=${1:?usage: leftovers.sh TAG}

# tagged - the pids whose environment holds QNET_TEST_TAG=$tag (zombies have none: not counted)
tagged() {
	local f p
	for f in /proc/[0-9]*/environ; do
		p=${f#/proc/}; p=${p%/environ}
		[ "$p" = "$$" ] || [ "$p" = "$BASHPID" ] && continue
		grep -qzxF "QNET_TEST_TAG=$tag" "$f" 2>/dev/null && echo "$p"
	done
}

# A test's cleanup may still be reaping: give what it stopped 2 s to go.
left=()
for _ in $(seq 20); do
	mapfile -t left < <(tagged)
	[ ${#left[@]} -eq 0 ] && exit 0
	sleep 0.1
done
for p in "${left[@]}"; do
	cmd=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-160)
	echo "not ok - left behind: pid $p (ppid $(ps -o ppid= -p "$p" 2>/dev/null | tr -d ' ')): ${cmd:-?}"
done
kill -TERM "${left[@]}" 2>/dev/null
for _ in $(seq 30); do
	alive=()
	for p in "${left[@]}"; do
		st=$(ps -o stat= -p "$p" 2>/dev/null)
		[ -n "$st" ] && [ "${st:0:1}" != Z ] && alive+=("$p")
	done
	[ ${#alive[@]} -eq 0 ] && break
	sleep 0.1
done
[ ${#alive[@]} -gt 0 ] && kill -KILL "${alive[@]}" 2>/dev/null
exit 1
