# SPDX-License-Identifier: MIT
# ping.sh - guest /test.sh: wait until qnet.peer answers, ping it 3 times without loss, then (with
# qnet.pinged=N) stay up until N echo requests have come in, so the peer can ping back.
check wait-peer wait_ping "$QNET_PEER" 60 || exit 1
check "ping-$QNET_PEER" ping_all "$QNET_PEER" 3
if [ -n "${QNET_PINGED:-}" ]; then
	check "pinged-$QNET_PINGED-times" wait_pinged "$QNET_PINGED" 60
fi
