#!/bin/bash
# SPDX-License-Identifier: MIT
# 72-user-pxe.sh - a QEMU 7.2 guest with no disk and no -kernel network-boots from qnet's
# -netdev user,tftp=DIR,bootfile=boot.ipxe: SeaBIOS, -boot n, the NIC's iPXE ROM (Debian's
# ipxe-qemu) gets a DHCP lease naming the iPXE script, fetches it over TFTP, then the test
# kernel and initrd over TFTP, and boots them. The booted guest reports in on serial, takes a
# lease with udhcpc (checks the boot file name it is given) and fetches a file with busybox tftp
# (sha256 checked).
#
# The guest reaches qnet through -netdev stream (a unix socket); nothing leaves the machine.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd qemu-system-x86_64 sha256sum
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
# e1000 and its ROM: Debian's pxe-virtio.rom carries the modern virtio id (1af4:1041) and SeaBIOS
# does not run it for QEMU 7.2's transitional virtio-net-pci (1af4:1000)
ROM=/usr/lib/ipxe/qemu/pxe-e1000.rom
[ -r "$ROM" ] || skip_all "no $ROM (package ipxe-qemu)"
guest_build || { not_ok "guest image builds"; finish; }
[ -s "$GUEST_DIR/vmlinuz" ] || { not_ok "guest bzImage $GUEST_DIR/vmlinuz exists"; finish; }

R=$T/tftproot
mkdir -p "$R/img"
cp "$GUEST_DIR/vmlinuz" "$R/img/vmlinuz"
head -c 300000 /dev/urandom >"$R/payload"
sha=$(sha256sum "$R/payload" | cut -d' ' -f1)

# the guest's /test.sh: a lease (with the boot file name), then a TFTP download from the guest
cat >"$T/pxe-test.sh" <<'EOF'
cat > /tmp/dhcp.sh <<'SCRIPT'
#!/bin/sh
case "$1" in
deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
bound|renew)
	ip addr flush dev "$interface"
	ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}" up
	{ echo "ip=$ip"; echo "boot_file=$boot_file"; echo "siaddr=$siaddr"; } > /tmp/lease ;;
esac
exit 0
SCRIPT
chmod +x /tmp/dhcp.sh
mark booted-by pxe
check dhcp-lease timeout 60 udhcpc -i eth0 -s /tmp/dhcp.sh -f -q -n -t 10 -T 2 || exit 1
. /tmp/lease
mark boot_file "$boot_file"
check boot-file-boot.ipxe test "$boot_file" = boot.ipxe
check siaddr-10.0.2.2 test "$siaddr" = 10.0.2.2
check tftp-get eval 'timeout 60 tftp -g -b 1468 -r payload -l /tmp/payload 10.0.2.2'
check tftp-sha256 eval 'test "$(sha256sum /tmp/payload | cut -d" " -f1)" = "$QNET_SHA"'
EOF
d=$T/cpio
mkdir -p "$d"
install -m 0755 "$T/pxe-test.sh" "$d/test.sh"
(cd "$d" && echo test.sh | cpio -o -H newc --owner 0:0 --quiet) >"$T/test.cpio"
cat "$GUEST_INITRD" "$T/test.cpio" >"$R/img/initrd.cpio"
cat >"$R/boot.ipxe" <<EOF
#!ipxe
kernel img/vmlinuz console=ttyS0 panic=-1 qnet.name=pxe qnet.sha=$sha
initrd img/initrd.cpio
boot
EOF

if qnet_start q \
	-netdev "user,id=u0,tftp=$R,bootfile=boot.ipxe" \
	-netdev hubport,id=p0,hubid=0,netdev=u0 \
	-netdev stream,id=g,server=on,addr.type=unix,addr.path="$T/g.sock" \
	-netdev hubport,id=p1,hubid=0,netdev=g && wait_unix_socket "$T/g.sock" 10; then
	ok "qnet with tftp=$R,bootfile=boot.ipxe"
else
	not_ok "qnet with tftp=$R,bootfile=boot.ipxe"; qnet_log q; finish
fi

: >"$T/pxe.serial"
timeout -k 5 "$GUEST_TIMEOUT" qemu-system-x86_64 -accel "$GUEST_ACCEL" -m "$GUEST_MEM" \
	-display none -monitor none -no-reboot -nodefaults -no-user-config \
	-serial "file:$T/pxe.serial" -boot n \
	-netdev stream,id=n0,server=off,addr.type=unix,addr.path="$T/g.sock" \
	-device "e1000,netdev=n0,mac=52:54:00:12:34:56,romfile=$ROM" \
	</dev/null >"$T/pxe.qemu.log" 2>&1 &
echo $! >"$T/pxe.qemu.pid"
bg_track "$(cat "$T/pxe.qemu.pid")"

# iPXE prints on the BIOS console only (no VGA here): its script shows in the kernel command line
if guest_wait pxe "Command line: .*qnet.sha=$sha" 150; then
	ok "iPXE got the lease, fetched boot.ipxe and the kernel it names over TFTP (kernel started)"
else
	not_ok "iPXE got the lease, fetched boot.ipxe and the kernel it names over TFTP (kernel started)"
fi
if guest_wait pxe '^QNET-GUEST-READY' 120; then
	ok "the initrd fetched by iPXE over TFTP boots (the guest reports in)"
else
	not_ok "the initrd fetched by iPXE over TFTP boots (the guest reports in)"
fi
guest_wait pxe '^QNET-DONE' 120 >/dev/null
guest_checks pxe
guest_wait_exit pxe 20 || kill "$(cat "$T/pxe.qemu.pid")" 2>/dev/null
check "qnet still running" qnet_alive q
finish
