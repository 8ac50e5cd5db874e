#!/bin/bash
# SPDX-License-Identifier: MIT
# build.sh - build the QEMU test guest (Debian 12 kernel + busybox initramfs) into build/guest/.
#
# Usage: tests/guest/build.sh [OUTDIR]     (default: build/guest relative to the repo root)
#
# Produces in OUTDIR:
#   vmlinuz       the kernel of the linux-image-6.1.0-*-amd64 package that linux-image-amd64
#                 depends on (downloaded with `apt-get download`, extracted with dpkg-deb -x,
#                 never installed)
#   initrd.cpio   newc cpio: busybox (from busybox-static) + applet links, the NIC modules
#                 (virtio_pci, virtio_net, e1000 and their dependencies, in modprobe order),
#                 tests/guest/init as /init
#   kver          the kernel version string
# Tests append a second cpio holding /test.sh (Linux accepts concatenated cpio archives).
#
# Cached: nothing is done when the outputs are newer than this script and the init script.
# Needs: apt-get, dpkg-deb, kmod (depmod, modprobe), cpio, xz-utils, busybox-static.
set -eu -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/build/guest}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# Modules the guest loads (with their dependencies, resolved by modprobe).
MODULES="virtio_pci virtio_net e1000"

if [ -s "$out/vmlinuz" ] && [ -s "$out/initrd.cpio" ] &&
   [ "$out/initrd.cpio" -nt "$here/build.sh" ] && [ "$out/initrd.cpio" -nt "$here/init" ]; then
	echo "guest: up to date ($out)"
	exit 0
fi

for t in apt-get apt-cache dpkg-deb depmod modprobe cpio; do
	command -v "$t" >/dev/null || { echo "guest: missing tool $t" >&2; exit 1; }
done
[ -x /bin/busybox ] || { echo "guest: /bin/busybox missing (apt-get install busybox-static)" >&2; exit 1; }
# No pipelines into an early-exiting reader (grep -q, head) here: under pipefail the producer's
# SIGPIPE would fail them at random. Outputs are captured whole, then searched.
applets=$(/bin/busybox --list 2>/dev/null || true)
if ! grep -qx insmod <<<"$applets"; then
	echo "guest: /bin/busybox has no insmod applet (need the busybox-static package)" >&2
	exit 1
fi
case $(file -b /bin/busybox 2>/dev/null || echo static) in
*dynamic*) echo "guest: /bin/busybox is dynamically linked (need busybox-static)" >&2; exit 1 ;;
esac

# 1. The kernel package linux-image-amd64 depends on.
kernel_pkg() {
	local deps
	deps=$(apt-cache depends linux-image-amd64 2>/dev/null || true)
	deps=$(sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' <<<"$deps")
	printf '%s\n' "${deps%%$'\n'*}"
}
# first_file GLOB... - the first existing path a glob expands to, or nothing
first_file() { [ -e "$1" ] && printf '%s\n' "$1"; return 0; }
dl="$out/dl"
mkdir -p "$dl"
# apt drops privileges to _apt for downloads; a directory it can write avoids a warning.
chmod 0777 "$dl" 2>/dev/null || true
# fetch_kernel - resolve the package, reuse a cached .deb or download it; sets pkg and deb
fetch_kernel() {
	pkg=$(kernel_pkg)
	[ -n "$pkg" ] || return 1
	deb=$(first_file "$dl"/"${pkg}"_*.deb)
	[ -n "$deb" ] && return 0
	rm -f "$dl"/*.deb
	(cd "$dl" && apt-get download -q "$pkg") >&2 || return 1
	deb=$(first_file "$dl"/"${pkg}"_*.deb)
	[ -n "$deb" ]
}
if ! fetch_kernel; then
	# Empty or stale package lists: refresh them once and try again.
	echo "guest: refreshing the apt package lists" >&2
	apt-get update -qq >&2 || true
	fetch_kernel || { echo "guest: cannot download the kernel package of linux-image-amd64" >&2; exit 1; }
fi
echo "guest: kernel package $pkg ($(basename "$deb"))"

x="$out/kroot"
rm -rf "$x"
mkdir -p "$x"
dpkg-deb -x "$deb" "$x"
kver=$(first_file "$x"/lib/modules/*)
kver=${kver##*/}
[ -n "$kver" ] || { echo "guest: no lib/modules in $deb" >&2; exit 1; }
kimg="$x/boot/vmlinuz-$kver"
[ -f "$kimg" ] || { echo "guest: $kimg missing" >&2; exit 1; }
depmod -b "$x" "$kver"

# 2. The initramfs tree.
t="$out/tree"
rm -rf "$t"
mkdir -p "$t"/bin "$t"/sbin "$t"/usr/bin "$t"/usr/sbin "$t"/proc "$t"/sys "$t"/dev "$t"/tmp \
	"$t"/etc "$t"/root "$t"/lib/modules
cp /bin/busybox "$t/bin/busybox"
for a in $(/bin/busybox --list-full); do
	[ "$a" = bin/busybox ] && continue
	mkdir -p "$t/$(dirname "$a")"
	ln -sf /bin/busybox "$t/$a"
done
ln -sf busybox "$t/bin/sh"

# Modules, flattened, with a load order file (dependencies first, no duplicates).
: > "$t/lib/modules/order"
for m in $MODULES; do
	modprobe --show-depends -d "$x" -S "$kver" "$m" | while read -r kw path _; do
		[ "$kw" = insmod ] || continue
		base=$(basename "$path")
		case $base in
		*.ko.xz) name=${base%.xz}; xz -dc "$path" > "$t/lib/modules/$name" ;;
		*.ko.zst) name=${base%.zst}; zstd -qdc "$path" > "$t/lib/modules/$name" ;;
		*.ko.gz) name=${base%.gz}; gzip -dc "$path" > "$t/lib/modules/$name" ;;
		*) name=$base; cp "$path" "$t/lib/modules/$name" ;;
		esac
		grep -qx "$name" "$t/lib/modules/order" || echo "$name" >> "$t/lib/modules/order"
	done
done
[ -s "$t/lib/modules/order" ] || { echo "guest: no modules resolved" >&2; exit 1; }

install -m 0755 "$here/init" "$t/init"
echo "root:x:0:0:root:/root:/bin/sh" > "$t/etc/passwd"
echo "root:x:0:" > "$t/etc/group"
echo "127.0.0.1 localhost" > "$t/etc/hosts"

(cd "$t" && find . | LC_ALL=C sort | cpio -o -H newc --owner 0:0 --quiet) > "$out/initrd.cpio.tmp"
cp "$kimg" "$out/vmlinuz.tmp"

# 3. The uncompressed ELF vmlinux: QEMU boots it through its PVH entry point, which skips the
# self-decompression of the bzImage (about 7 s under TCG). Optional: tests fall back to vmlinuz.
rm -f "$out/vmlinux"
xoff=$(LC_ALL=C grep -abo -P '\xfd7zXZ\x00' "$kimg" 2>/dev/null || true)
xoff=${xoff%%$'\n'*}
xoff=${xoff%%:*}
if [ -n "$xoff" ]; then
	tail -c +$((xoff + 1)) "$kimg" | xz -dc > "$out/vmlinux.tmp" 2>/dev/null || true
	if [ "$(head -c 4 "$out/vmlinux.tmp" | od -An -c | tr -d ' ')" = '177ELF' ] &&
	   LC_ALL=C grep -q 'Xen' "$out/vmlinux.tmp"; then
		mv "$out/vmlinux.tmp" "$out/vmlinux"
	fi
	rm -f "$out/vmlinux.tmp"
fi
[ -f "$out/vmlinux" ] || echo "guest: no PVH vmlinux extracted, tests boot vmlinuz (slower)" >&2
echo "$kver" > "$out/kver"
cp "$t/lib/modules/order" "$out/modules"
mv "$out/vmlinuz.tmp" "$out/vmlinuz"
mv "$out/initrd.cpio.tmp" "$out/initrd.cpio"
rm -rf "$x" "$t"
echo "guest: built $out (kernel $kver; modules: $(tr '\n' ' ' < "$out/modules"); initrd $(du -h "$out/initrd.cpio" | cut -f1))"
