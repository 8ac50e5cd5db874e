#!/bin/bash
# SPDX-License-Identifier: MIT
# 68-user-smb.sh - -netdev user,smb=DIR: smbclient in a namespace behind qnet lists the share
# "qemu" at 10.0.2.4, gets and puts files (50 MB each way, sha256 checked), also through port
# 139 and at smbserver=; no smbd runs before a guest connects; after SIGTERM to qnet no smbd is
# left and the private directory is gone; QEMU's errors for a missing smbd or directory.
#
# Addresses: 10.0.2.0/24 inside namespaces the test creates; smbd itself only talks to qnet over
# a loopback TCP pair.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/lib/user_lib.sh"
need_root
need_cmd ip udhcpc smbclient sha256sum timeout pgrep
[ -x /usr/sbin/smbd ] || skip_all "no /usr/sbin/smbd (package samba)"
[ -x "$QNET" ] || { not_ok "qnet binary $QNET exists"; finish; }
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"

G=qnu68g-$$
ns_create "$G" || { not_ok "namespace $G created"; finish; }
S=$T/share
mkdir -p "$S" "$T/out"
head -c 52428800 /dev/urandom >"$S/big"
head -c 52428800 /dev/urandom >"$T/out/up"
echo hello >"$S/hello.txt"
sum() { sha256sum "$1" | cut -d' ' -f1; }
smbc() { # smbc SERVER PORT COMMANDS
	(cd "$T/out" && timeout 180 ip netns exec "$G" smbclient "//$1/qemu" -p "$2" -N -c "$3") 2>&1
}
# smb_dir - the private directory of this test's qnet (its smb.conf names $S)
smb_dir() { grep -l "path = $S\$" /tmp/qnet-smb.*/smb.conf 2>/dev/null | head -1 | xargs -r dirname; }
smbd_count() { if [ -n "$1" ]; then pgrep -fc "smbd -l $1 " || true; else echo 0; fi; }

if user_start q "$G" "smb=$S"; then ok "qnet starts with smb=$S"; else
	not_ok "qnet starts with smb=$S"; qnet_log q; finish; fi
ns_dhcp "$G" || not_ok "$G configured by DHCP"
D=$(smb_dir)
check "a private directory with smb.conf exists (${D:-none})" test -n "$D" -a -f "$D/smb.conf"
check "no smbd runs before a guest connects" test "$(smbd_count "$D")" = 0

r=$(smbc 10.0.2.4 445 'ls')
check "smbclient //10.0.2.4/qemu ls lists the files" grep -q 'hello.txt' <<<"$r" || echo "$r" | sed 's/^/#   /'
r=$(timeout 60 ip netns exec "$G" smbclient -L //10.0.2.4 -N 2>&1)
check "smbclient -L //10.0.2.4 shows the share qemu" grep -qE '^\s+qemu\s+Disk' <<<"$r" || echo "$r" | sed 's/^/#   /'
smbc 10.0.2.4 445 'get big got.big' >"$T/get.log"
check "get a 50 MB file: sha256 matches" test "$(sum "$T/out/got.big" 2>/dev/null)" = "$(sum "$S/big")"
smbc 10.0.2.4 445 'put up up.bin' >"$T/put.log"
check "put a 50 MB file: sha256 matches in the share" test "$(sum "$S/up.bin" 2>/dev/null)" = "$(sum "$T/out/up")"
r=$(smbc 10.0.2.4 139 'get hello.txt h139')
check "port 139 serves the share too" cmp -s "$S/hello.txt" "$T/out/h139"
sleep 2
check "every smbd is gone once its client disconnected (left: $(smbd_count "$D"))" \
	test "$(smbd_count "$D")" = 0

# a connection that is still open when qnet gets SIGTERM
timeout 60 ip netns exec "$G" smbclient //10.0.2.4/qemu -N -c "lcd $T/out; get big slow.big" \
	>/dev/null 2>&1 &
slow=$!
bg_track $slow
wait_for 20 eval '[ "$(smbd_count "$D")" -ge 1 ]'
check "an smbd serves the connection in flight" test "$(smbd_count "$D")" -ge 1
qnet_stop q
sleep 0.5
check "after SIGTERM no smbd is left" test "$(smbd_count "$D")" = 0
check "after SIGTERM the private directory is gone" test ! -e "$D"
kill $slow 2>/dev/null
wait $slow 2>/dev/null

# smbserver= elsewhere in the network
if user_start q2 "$G" "smb=$S,smbserver=10.0.2.9"; then ok "qnet with smbserver=10.0.2.9"; else
	not_ok "qnet with smbserver=10.0.2.9"; qnet_log q2; fi
ns_dhcp "$G" || not_ok "$G configured by DHCP again (a new tap)"
r=$(smbc 10.0.2.9 445 'get hello.txt h9')
check "the share at smbserver=10.0.2.9" cmp -s "$S/hello.txt" "$T/out/h9"
D2=$(smb_dir)
# a second user netdev with smb= added and deleted at run time: its directory comes and goes
hmp q2 "netdev_add user,id=u9,net=10.0.9.0/24,smb=$S" >"$T/hmp.out" 2>&1
n=$(grep -l "path = $S\$" /tmp/qnet-smb.*/smb.conf 2>/dev/null | wc -l)
check "netdev_add user,smb=: a second private directory ($n)" test "$n" = 2
hmp q2 "netdev_del u9" >>"$T/hmp.out" 2>&1
n=$(grep -l "path = $S\$" /tmp/qnet-smb.*/smb.conf 2>/dev/null | wc -l)
check "netdev_del: its directory is removed, q2's stays ($n)" test "$n" = 1 -a -e "$D2"
qnet_stop q2
check "q2: no smbd and no directory left" test "$(smbd_count "$D2")" = 0 -a -n "$D2" -a ! -e "$D2"

# QEMU's errors
r=$(QNET_SMBD=/nonexistent/smbd timeout 10 "$QNET" -netdev "user,id=u,smb=$S" 2>&1)
check "missing smbd: QEMU's error ($r)" grep -q "Could not find '/nonexistent/smbd', please install it" <<<"$r"
r=$(timeout 10 "$QNET" -netdev "user,id=u,smb=$T/nodir" 2>&1)
check "missing directory: QEMU's error ($r)" grep -q "Error accessing shared directory '$T/nodir'" <<<"$r"
r=$(timeout 10 "$QNET" -netdev "user,id=u,smb=$S,smbserver=10.0.2.999" 2>&1)
check "bad smbserver: QEMU's error ($r)" grep -q "Failed to parse SMB address" <<<"$r"
r=$(timeout 10 "$QNET" -netdev "user,id=u,smb=$S,smbserver=10.0.2.2" 2>&1)
check "smbserver on the gateway: QEMU's error ($r)" grep -q "Conflicting/invalid smbserver address" <<<"$r"
check "no private directory left by the failed starts" test -z "$(smb_dir)"
finish
