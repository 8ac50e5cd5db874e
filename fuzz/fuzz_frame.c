// SPDX-License-Identifier: MIT
/* fuzz_frame.c - libFuzzer target: whole Ethernet frames into a real user netdev's receive op */
#include "fuzz_user.h"

/*
 * Input: a sequence of records [ctl][len hi][len lo][len bytes: an Ethernet frame], at most 32.
 * Every frame goes through net_send() from the guest client, i.e. the stack's receive op (ARP,
 * IPv4 and anything else). For IPv4 frames the destination is rewritten to a safe address (see
 * fuzz_user.h), chosen by ctl bits 0-1; ctl bits:
 *   0x04  recompute the IPv4 header checksum     0x08  recompute the L4 checksum
 *   0x10  deliver as two iovecs split at byte ctl>>5 (the stack's copying path)
 *   0x20  run the event loop once afterwards (replies from the host's loopback, timers)
 * Output frames are checked by fuzz_user.h. After each input the TCP flows are torn down.
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t buf[2 + NET_BUFSIZE] __attribute__((aligned(8)));

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	if (!fu_s)
		fu_setup("");
	for (int n = 0; off + 3 <= size && n < 32; n++) {
		uint8_t ctl = data[off];
		size_t len = (size_t)(data[off + 1] << 8 | data[off + 2]);
		uint8_t *f = buf + 2;	/* the IP header 4-byte aligned */

		off += 3;
		len = MIN(len, size - off);
		len = MIN(len, (size_t)NET_BUFSIZE);
		memcpy(f, data + off, len);
		off += len;
		if (len >= 14 + 20 && f[12] == 0x08 && f[13] == 0x00)
			fu_fix_ip(f + 14, len - 14, ctl, ctl & 0x04, ctl & 0x08);
		if (ctl & 0x10) {
			size_t cut = MIN((size_t)(ctl >> 5) * 5, len);
			struct iovec iov[2] = { { f, cut }, { f + cut, len - cut } };

			net_send(&fu_g->nc, iov, 2, NULL);
		} else {
			net_send_buf(&fu_g->nc, f, len, NULL);
		}
		if (ctl & 0x20)
			loop_run_once(0);
	}
	fu_reset();
	return 0;
}
