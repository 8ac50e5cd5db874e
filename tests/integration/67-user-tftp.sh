#!/bin/bash
# SPDX-License-Identifier: MIT
# 67-user-tftp.sh - -netdev user,tftp=DIR,bootfile=: DHCP boot fields, then transfers with the
# TFTP clients of tftp-hpa, busybox and curl and the tests' own client (blksize, tsize,
# windowsize, timeout, netascii, a lost block), 20 concurrent 10 MB transfers with matching
# sha256, the errors (missing file, .., absolute path, symlink leaving the root, WRQ), and no
# file descriptor left open afterwards.
#
# The client namespace is attached to qnet by a tap; the only addresses used are 10.0.2.0/24
# inside that namespace.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/user_lib.sh"
need_root
need_cmd ip udhcpc busybox curl tftp sha256sum timeout
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"

G=qnu67g-$$
ns_create "$G" || { not_ok "namespace $G created"; finish; }
TC=$USER_LIB/tftp_client.py
R=$T/root
mkdir -p "$R/sub" "$T/out"
head -c 100000 /dev/urandom >"$R/small"
head -c 10485760 /dev/urandom >"$R/big"
printf 'line one\nline two\r\nend' >"$R/text"
echo secret >"$T/secret"
ln -s "$T/secret" "$R/leak"
ln -s ../small "$R/sub/inside"
sum() { sha256sum "$1" | cut -d' ' -f1; }
SMALL=$(sum "$R/small")
BIG=$(sum "$R/big")

if user_start q "$G" "tftp=$R,bootfile=pxe/boot.ipxe,tftp-server-name=boot.qnet.test"; then
	ok "qnet starts with tftp=, bootfile=, tftp-server-name="
else
	not_ok "qnet starts with tftp=, bootfile=, tftp-server-name="; qnet_log q; finish
fi
if ns_dhcp "$G"; then ok "$G configured by DHCP"; else not_ok "$G configured by DHCP"; fi
env_of() { sed -n "s/^$1=//p" "$T/dhcp.$G.bound" 2>/dev/null; }
check "DHCP: BOOTP file field = bootfile (udhcpc boot_file='$(env_of boot_file)')" \
	test "$(env_of boot_file)" = pxe/boot.ipxe
check "DHCP: option 67 = bootfile (udhcpc bootfile='$(env_of bootfile)')" \
	test "$(env_of bootfile)" = pxe/boot.ipxe
check "DHCP: option 66 = tftp-server-name (udhcpc tftp='$(env_of tftp)')" \
	test "$(env_of tftp)" = boot.qnet.test
check "DHCP: siaddr = the gateway (udhcpc siaddr='$(env_of siaddr)')" \
	test "$(env_of siaddr)" = 10.0.2.2
FDS0=$(qnet_fds q)

# tftp-hpa: plain RFC 1350 (512-byte blocks, no options)
(cd "$T/out" && timeout 60 ip netns exec "$G" tftp -m binary 10.0.2.2 -c get small hpa.small) \
	>"$T/hpa.log" 2>&1
check "tftp-hpa get small (100 kB, octet): sha256 matches" test "$(sum "$T/out/hpa.small")" = "$SMALL"
(cd "$T/out" && timeout 60 ip netns exec "$G" tftp -m binary 10.0.2.2 -c get sub/inside hpa.in) \
	>>"$T/hpa.log" 2>&1
check "tftp-hpa get sub/inside (a symlink inside the root)" \
	test "$(sum "$T/out/hpa.in")" = "$SMALL"
(cd "$T/out" && timeout 60 ip netns exec "$G" tftp -m ascii 10.0.2.2 -c get text hpa.text) \
	>>"$T/hpa.log" 2>&1
check "tftp-hpa get text in netascii: the same text back" cmp -s "$R/text" "$T/out/hpa.text"

# busybox (blksize; it also asks tsize)
timeout 120 ip netns exec "$G" busybox tftp -g -b 1468 -r big -l "$T/out/bb.big" 10.0.2.2 \
	>"$T/bb.log" 2>&1
check "busybox tftp -b 1468 get big (10 MB): sha256 matches" test "$(sum "$T/out/bb.big")" = "$BIG"

# curl (blksize and tsize)
timeout 120 ip netns exec "$G" curl -sS --tftp-blksize 1024 -o "$T/out/curl.big" \
	tftp://10.0.2.2/big >"$T/curl.log" 2>&1
check "curl --tftp-blksize 1024 get big: sha256 matches" test "$(sum "$T/out/curl.big")" = "$BIG"

# the tests' client: every option, the OACK's values, windows of 16
r=$(timeout 120 ip netns exec "$G" "$PY" "$TC" 10.0.2.2 big "$T/out/tc.big" --opt blksize=1468 \
	--opt tsize=0 --opt windowsize=16 --opt timeout=2 2>&1)
check "windowsize=16 blksize=1468 tsize timeout: OACK echoes them ($r)" \
	grep -q 'oack=blksize=1468,tsize=10485760,timeout=2,windowsize=16 ' <<<"$r"
check "windowsize=16 transfer: sha256 matches" test "$(sum "$T/out/tc.big")" = "$BIG"
acks=$(sed -n 's/.* acks=\([0-9]*\).*/\1/p' <<<"$r")
check "windowsize=16: about one ACK per 16 blocks (got ${acks:-?} for 7143 blocks)" \
	test "${acks:-99999}" -le 460
r=$(timeout 120 ip netns exec "$G" "$PY" "$TC" 10.0.2.2 small "$T/out/tc.small" --opt blksize=9000 \
	--opt windowsize=4 --drop-every 37 --timeout 2 2>&1)
check "blksize=9000 is cut to the MTU's 1468 ($r)" grep -q 'blksize=1468' <<<"$r"
check "lost blocks in a window are sent again: sha256 matches" \
	test "$(sum "$T/out/tc.small")" = "$SMALL"
r=$(timeout 60 ip netns exec "$G" "$PY" "$TC" 10.0.2.2 text "$T/out/tc.text" --mode netascii 2>&1)
check "netascii (own client): the text back ($r)" cmp -s "$R/text" "$T/out/tc.text"

# 20 concurrent 10 MB transfers
pids=()
for i in $(seq 1 20); do
	timeout 300 ip netns exec "$G" busybox tftp -g -b 1468 -r big -l "$T/out/c$i" 10.0.2.2 \
		>"$T/c$i.log" 2>&1 &
	pids+=($!)
	bg_track $!
done
good=0
for i in $(seq 1 20); do
	wait "${pids[$((i - 1))]}"
	[ "$(sum "$T/out/c$i")" = "$BIG" ] && good=$((good + 1))
	rm -f "$T/out/c$i"
done
check "20 concurrent busybox transfers of 10 MB: $good of 20 with matching sha256" test "$good" = 20

# errors
err() { timeout 30 ip netns exec "$G" "$PY" "$TC" 10.0.2.2 "$1" "$T/out/e" --timeout 3 2>&1; }
r=$(err nothere)
check "missing file: error 1 File not found ($r)" test "$r" = "error 1 File not found"
r=$(err ../secret)
check "..: error 2 Access violation ($r)" test "$r" = "error 2 Access violation"
r=$(err "$T/secret")
check "absolute path: error 2 Access violation ($r)" test "$r" = "error 2 Access violation"
r=$(err leak)
check "symlink leading outside: error 2 Access violation ($r)" test "$r" = "error 2 Access violation"
r=$(err sub)
check "a directory: error 2 Access violation ($r)" test "$r" = "error 2 Access violation"
echo data >"$T/out/up"
r=$(cd "$T/out" && timeout 30 ip netns exec "$G" tftp -m binary 10.0.2.2 -c put up up 2>&1)
check "tftp-hpa put (WRQ): refused with Illegal operation ($r)" grep -q 'Illegal operation' <<<"$r"
check "nothing was written to the root" test ! -e "$R/up"
r=$(cd "$T/out" && timeout 30 ip netns exec "$G" tftp -m binary 10.0.2.2 -c get ../secret x 2>&1)
check "tftp-hpa get ../secret: Access violation ($r)" grep -q 'Access violation' <<<"$r"

sleep 1
FDS1=$(qnet_fds q)
check "every transfer's file is closed (qnet fds $FDS0 before, $FDS1 after)" test "$FDS1" -le "$FDS0"
check "qnet still running" qnet_alive q
sanitizer_clean q
finish
