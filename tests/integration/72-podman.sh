#!/bin/bash
# SPDX-License-Identifier: MIT
# 72-podman.sh - Podman (Debian 12's 4.3) running a container with --network slirp4netns on
# qnet's slirp4netns symlink (containers.conf: helper_binaries_dir and network_cmd_path).
#
# The image is imported from a busybox rootfs tarball the test makes (podman import, never a
# registry); storage is vfs under $T. The container fetches from the test's HTTP server through
# 10.0.2.2, and -p publishes a port through qnet's API socket (port_handler=slirp4netns).
# Podman runs as root and rootless (as nobody), in a namespace H the test creates (its 127.0.0.1 is the test's alone)
# and a mount namespace where the cgroup2 mount is detached: this machine's cgroups are hybrid
# (v1 controllers plus a cgroup2 mount), which crun refuses, so containers run with
# --cgroups=disabled; the ulimits are set below the machine's hard limits (podman's defaults are
# above them here). The host's mounts and files are not changed.
set -u
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd ip podman unshare nsenter socat busybox tar timeout
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"
mkdir "$T/bin"
ln -s "$QNET" "$T/bin/slirp4netns"
cat >"$T/containers.conf" <<EOF
[engine]
helper_binaries_dir = ["$T/bin"]
network_cmd_path = "$T/bin/slirp4netns"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$T/events.log"
EOF
export CONTAINERS_CONF=$T/containers.conf
mkdir -p "$T/rootfs/bin" "$T/rootfs/etc" "$T/rootfs/tmp" "$T/rootfs/proc" "$T/rootfs/sys" "$T/rootfs/dev"
cp "$(command -v busybox)" "$T/rootfs/bin/busybox"
for c in sh wget nc ip cat echo sleep; do ln -s busybox "$T/rootfs/bin/$c"; done
tar -C "$T/rootfs" -cf "$T/bb.tar" .

H=qnp72h-$$
ns_create "$H" || { not_ok "namespace $H created"; finish; }
# shellcheck disable=SC2034 # read by lib.sh (in_ns, the port waits)
LIB_NS=$H

# pm ARGS... - podman in $H (nsenter, not ip netns exec: that remounts /sys and hides the cgroup
# mounts), private mounts without cgroup2, storage under $T
pm() {
	nsenter --net="/var/run/netns/$H" unshare -m sh -c \
		'for m in $(awk "\$3 == \"cgroup2\" { print \$2 }" /proc/self/mounts); do umount -l "$m"; done
		 exec "$@"' sh \
		timeout 90 podman --root "$T/storage" --runroot "$T/run" --storage-driver vfs \
		--cgroup-manager cgroupfs --events-backend file "$@"
}
RUN=(run --rm --cgroups=disabled --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)

check "podman import of the busybox tarball" pm import "$T/bb.tar" localhost/qnet-bb

token=tok-$$-$RANDOM
mkdir "$T/www"
echo "$token" >"$T/www/token.txt"
hport=18072
ip netns exec "$H" "$PY" -m http.server "$hport" --bind 127.0.0.1 --directory "$T/www" \
	</dev/null >"$T/http.log" 2>&1 &
bg_track $!
check "HTTP server on 127.0.0.1:$hport in $H" wait_tcp_listen "$hport"

pm "${RUN[@]}" --network slirp4netns:allow_host_loopback=true localhost/qnet-bb sh -c \
	"ip -4 addr show tap0; ip route; cat /etc/resolv.conf; wget -q -O - http://10.0.2.2:$hport/token.txt" \
	>"$T/run1.log" 2>&1 </dev/null
rc=$?
check "podman run --network slirp4netns: exit 0 (got $rc)" test "$rc" = 0
check "container: tap0 10.0.2.100/24" grep -q 'inet 10\.0\.2\.100/24' "$T/run1.log"
check "container: default via 10.0.2.2" grep -q '^default via 10\.0\.2\.2 dev tap0' "$T/run1.log"
check "container: resolv.conf names 10.0.2.3 first" \
	test "$(grep -m1 nameserver "$T/run1.log")" = "nameserver 10.0.2.3"
check "container: HTTP through 10.0.2.2 reaches 127.0.0.1:$hport in $H" grep -qx "$token" "$T/run1.log"
[ "$rc" = 0 ] || sed 's/^/#   /' "$T/run1.log" | tail -15
# podman's default passes --disable-host-loopback: 10.0.2.2 must not reach the host's 127.0.0.1
pm "${RUN[@]}" --network slirp4netns localhost/qnet-bb sh -c \
	"wget -q -T 3 -O - http://10.0.2.2:$hport/token.txt; echo wget-rc=\$?" >"$T/run1b.log" 2>&1 </dev/null
check "podman's default (--disable-host-loopback): 10.0.2.2:$hport is not reachable" \
	bash -c "grep -q '^wget-rc=[1-9]' '$T/run1b.log' && ! grep -qx '$token' '$T/run1b.log'"

pport=18172
pm "${RUN[@]}" --network slirp4netns:port_handler=slirp4netns -p "127.0.0.1:$pport:80" \
	localhost/qnet-bb sh -c "echo pub-$token | nc -l -p 80" >"$T/run2.log" 2>&1 </dev/null &
pr=$!
bg_track "$pr"
s4n_pid() { pgrep -f "^$T/bin/slirp4netns" | head -1; }
check "podman started a slirp4netns from $T/bin" wait_for 40 bash -c "pgrep -f '^$T/bin/slirp4netns' >/dev/null"
exe=$(readlink "/proc/$(s4n_pid)/exe" 2>/dev/null)
check "that slirp4netns is qnet ($exe)" test "$exe" = "$(readlink -f "$QNET")"
st=$(cat "/proc/$(s4n_pid)/status" 2>/dev/null)
check "podman's --enable-sandbox/--enable-seccomp: it runs with seccomp and CapEff 0" \
	bash -c "grep -qE '^Seccomp:\s+2$' <<<'$st' && grep -qE '^CapEff:\s+0+$' <<<'$st'"
fetch_pub() {
	ip netns exec "$H" timeout 5 socat -u "TCP:127.0.0.1:$pport" STDOUT 2>/dev/null |
		grep -q "pub-$token"
}
check "-p 127.0.0.1:$pport:80 (port_handler=slirp4netns: qnet's API socket) reaches nc in the container" \
	wait_for 40 fetch_pub
wait_for 30 bash -c "! kill -0 $pr 2>/dev/null"
wait "$pr"
rc=$?
check "podman run -p: exit 0 once nc served (got $rc)" test "$rc" = 0
[ "$rc" = 0 ] || sed 's/^/#   /' "$T/run2.log" | tail -15
check "no slirp4netns left running" bash -c "! pgrep -f '^$T/bin/slirp4netns' >/dev/null"
pm rmi -a >/dev/null 2>&1

# ---- rootless: the same as nobody ------------------------------------------------------------------
# nobody gets a subordinate id range and a 0666 /dev/net/tun (Debian's mode) from files the test
# writes, bind-mounted over the host's in the test's mount namespace; HOME and XDG_RUNTIME_DIR
# under $T. Podman runs newuidmap (uidmap) and our slirp4netns inside its rootless namespaces.
chmod 755 "$T" "$T/bin"
chmod 644 "$T/bb.tar" "$T/containers.conf"
chmod -R a+rX "$T/www"
# a short XDG_RUNTIME_DIR: the API socket path in it must stay below 108 bytes (sun_path), for
# slirp4netns as for qnet
XDG=$(mktemp -d /tmp/qx.XXXXXX)
at_exit "rm -rf '$XDG'"
mkdir -p "$T/rl/home"
chown 65534:65534 "$T/rl/home" "$XDG"
chmod 700 "$XDG"
echo "nobody:100000:65536" >"$T/rl/subid"
mknod -m 666 "$T/rl/tun" c 10 200
sed "s#$T/events.log#$T/rl/home/events.log#" "$T/containers.conf" >"$T/rl/containers.conf"
chmod 644 "$T/rl/containers.conf"
# pmu ARGS... - rootless podman as nobody in $H
pmu() {
	nsenter --net="/var/run/netns/$H" unshare -m sh -c \
		'for m in $(awk "\$3 == \"cgroup2\" { print \$2 }" /proc/self/mounts); do umount -l "$m"; done
		 mount --bind "$1/subid" /etc/subuid && mount --bind "$1/subid" /etc/subgid &&
		 mount --bind "$1/tun" /dev/net/tun || exit 99
		 shift; exec "$@"' sh "$T/rl" \
		setpriv --reuid=65534 --regid=65534 --init-groups \
		env HOME="$T/rl/home" XDG_RUNTIME_DIR="$XDG" CONTAINERS_CONF="$T/rl/containers.conf" \
		timeout 90 podman --storage-driver vfs --events-backend file "$@"
}
check "rootless: podman import of the busybox tarball" pmu import "$T/bb.tar" localhost/qnet-bb
pmu "${RUN[@]}" --network slirp4netns:allow_host_loopback=true localhost/qnet-bb sh -c \
	"id; cat /proc/self/uid_map; ip -4 addr show tap0; wget -q -O - http://10.0.2.2:$hport/token.txt" \
	>"$T/run3.log" 2>&1 </dev/null
rc=$?
check "rootless: podman run --network slirp4netns: exit 0 (got $rc)" test "$rc" = 0
check "rootless: container root is nobody's uid outside (uid_map 0 65534 1)" \
	grep -qE '^ +0 +65534 +1$' "$T/run3.log"
check "rootless: container tap0 10.0.2.100/24" grep -q 'inet 10\.0\.2\.100/24' "$T/run3.log"
check "rootless: HTTP through 10.0.2.2 reaches 127.0.0.1:$hport in $H" grep -qx "$token" "$T/run3.log"
[ "$rc" = 0 ] || sed 's/^/#   /' "$T/run3.log" | tail -15
pport=18173
pmu "${RUN[@]}" --network slirp4netns:port_handler=slirp4netns -p "127.0.0.1:$pport:80" \
	localhost/qnet-bb sh -c "echo pub-$token | nc -l -p 80" >"$T/run4.log" 2>&1 </dev/null &
pr=$!
bg_track "$pr"
check "rootless: -p 127.0.0.1:$pport:80 through qnet's API socket reaches nc in the container" \
	wait_for 40 fetch_pub
wait_for 30 bash -c "! kill -0 $pr 2>/dev/null"
wait "$pr"
rc=$?
check "rootless: podman run -p: exit 0 once nc served (got $rc)" test "$rc" = 0
[ "$rc" = 0 ] || sed 's/^/#   /' "$T/run4.log" | tail -15
check "rootless: no slirp4netns left running" bash -c "! pgrep -f '^$T/bin/slirp4netns' >/dev/null"
pmu rmi -a >/dev/null 2>&1
# podman's rootless pause process (it keeps the user namespace) is stopped by its own pid
pause=$(cat "$XDG/libpod/tmp/pause.pid" 2>/dev/null)
[ -n "$pause" ] && kill "$pause" 2>/dev/null
finish
