# SPDX-License-Identifier: MIT
# pair.sh - guest /test.sh for two guests on one segment: ping both ways, TCP transfer, checksums.
#
# Kernel command line (see tests/guest/init): qnet.role=send|recv, qnet.peer=PEER-IP,
# qnet.mb=MEGABYTES (default 10). Both guests ping each other; the sender then sends MB MiB of
# random data to the receiver with busybox nc (port 5001); the receiver answers with the sha256 of
# what it got (port 5002) and the sender compares. Both print their checksum as
# "QNET-MARK sha256 SUM" so the host can compare as well.

mb=${QNET_MB:-10}
peer=$QNET_PEER

check wait-peer wait_ping "$peer" 60 || exit 1
check "ping-$peer" ping_all "$peer" 3

if [ "$QNET_ROLE" = send ]; then
	dd if=/dev/urandom of=/tmp/data bs=1048576 count="$mb" 2>/dev/null
	sum=$(sha256sum /tmp/data | cut -d' ' -f1)
	mark sha256 "$sum"
	mark bytes "$(wc -c < /tmp/data)"
	t0=$(cut -d' ' -f1 /proc/uptime)
	check tcp-send tcp_send "$peer" 5001 /tmp/data 60
	t1=$(cut -d' ' -f1 /proc/uptime)
	mark seconds "$(echo "$t0 $t1" | awk '{print $2 - $1}')"
	check tcp-recv-sum tcp_recv 5002 /tmp/peersum 60
	say "sent $sum, peer got $(cat /tmp/peersum)"
	check "tcp-${mb}MB-sha256-match" [ "$(cat /tmp/peersum)" = "$sum" ]
else
	check tcp-recv tcp_recv 5001 /tmp/data 90
	sum=$(sha256sum /tmp/data | cut -d' ' -f1)
	mark sha256 "$sum"
	mark bytes "$(wc -c < /tmp/data)"
	echo "$sum" > /tmp/sum
	check tcp-send-sum tcp_send "$peer" 5002 /tmp/sum 60
fi
