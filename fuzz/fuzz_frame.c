// SPDX-License-Identifier: MIT
/* fuzz_frame.c - libFuzzer target: whole Ethernet frames into the user stack's input (stack_input) */
#include "fuzz_user.h"

/*
 * Input: a sequence of records [ctl][len hi][len lo][len bytes: an Ethernet frame], at most 32.
 * Every frame goes through stack_input(), the library's entry for guest frames (ARP,
 * IPv4 and anything else). For IPv4 frames the destination is rewritten to a safe address (see
 * fuzz_user.h), chosen by ctl bits 0-1; ctl bits:
 *   0x04  recompute the IPv4 header checksum     0x08  recompute the L4 checksum
 *   0x10  deliver as two iovecs split at byte ctl>>5 (the stack's copying path)
 *   0x20  poll the host once afterwards (replies from the host's loopback, due timers)
 * Output frames are checked by fuzz_user.h. After each input the TCP flows are torn down.
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t buf[2 + STACK_RX_MAX] __attribute__((aligned(8)));

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
		len = MIN(len, (size_t)STACK_RX_MAX);
		memcpy(f, data + off, len);
		off += len;
		if (len >= 14 + 20 && f[12] == 0x08 && f[13] == 0x00)
			fu_fix_ip(f + 14, len - 14, ctl, ctl & 0x04, ctl & 0x08);
		if (ctl & 0x10) {
			size_t cut = MIN((size_t)(ctl >> 5) * 5, len);
			struct iovec iov[2] = { { f, cut }, { f + cut, len - cut } };

			stack_input(fu_s, iov, 2, NULL);
		} else {
			fu_input(f, len);
		}
		if (ctl & 0x20)
			fu_poll();
	}
	fu_reset();
	return 0;
}
