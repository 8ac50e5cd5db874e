// SPDX-License-Identifier: MIT
/* fuzz_arp.c - libFuzzer target: ARP frames from the guest, interleaved with packets being held */
#include "fuzz_user.h"

/*
 * Input: records. A record starting with a byte c:
 *   c & 0x80: the stack sends a UDP datagram of (c & 0x3f) * 8 bytes from 10.0.2.2 to
 *             10.0.2.X (X = next byte): unknown guests are resolved with an ARP request and
 *             the datagram is held (arp_hold) until an ARP frame answers, or dropped when the
 *             pending table is full
 *   else:     an ARP frame: Ethernet source MAC = next 6 bytes, then an ARP body of
 *             28 + (c & 0x0f) - 8 bytes from the input (shorter when the input ends: truncated
 *             frames); with c & 0x10 the fixed fields are made valid (Ethernet/IPv4, hlen 6,
 *             plen 4) so the frame reaches the request/reply logic, and the addresses are
 *             forced into 10.0.2.0/24 (else wrong hlen/plen, any op, any address);
 *             c & 0x20 runs the event loop once afterwards.
 * Checks: every frame towards the guest is well formed (fuzz_user.h); ARP replies come from
 * the virtual host that was asked, with its 52:55:<ip> MAC.
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t frame[2 + 256] __attribute__((aligned(8)));

static void arp_check(const uint8_t *f, size_t len)
{
	if (f[12] != 0x08 || f[13] != 0x06)
		return;
	if (f[20] == 0 && f[21] == 2) {	/* reply: sha is 52:55 + spa, spa virtual */
		struct in_addr spa;

		memcpy(&spa, f + 28, 4);
		if (f[22] != 0x52 || f[23] != 0x55 || memcmp(f + 24, f + 28, 4))
			fu_fail("ARP reply MAC");
		if (!arp_is_virtual(fu_s, spa))
			fu_fail("ARP reply for a non-virtual address");
	} else if (f[20] != 0 || f[21] != 1) {
		fu_fail("ARP op");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	if (!fu_s) {
		fu_setup("");
		fu_check_hook = arp_check;
	}
	for (int n = 0; off < size && n < 64; n++) {
		uint8_t c = data[off++];

		if (c & 0x80) {
			static const uint8_t payload[0x3f * 8];
			struct in_addr src, dst;

			if (off >= size)
				break;
			src.s_addr = htonl(0x0a000202);
			dst.s_addr = htonl(0x0a000200 | data[off++]);
			udp4_output(fu_s, src, 7, dst, 7, payload, (size_t)(c & 0x3f) * 8);
			continue;
		}
		size_t body = 28 + (c & 0x0f) - 8, avail = size - off, len;
		uint8_t *f = frame + 2;

		memset(f, 0xff, 6);
		len = MIN(avail, 6 + body);
		memcpy(f + 6, data + off, MIN(len, (size_t)6));
		f[12] = 0x08;
		f[13] = 0x06;
		if (len > 6)
			memcpy(f + 14, data + off + 6, len - 6);
		off += len;
		len = len > 6 ? 14 + len - 6 : 14;
		if ((c & 0x10) && len >= 14 + 28) {
			f[14] = 0; f[15] = 1; f[16] = 8; f[17] = 0; f[18] = 6; f[19] = 4;
			f[28] = 10; f[29] = 0; f[30] = 2;
			f[38] = 10; f[39] = 0; f[40] = 2;
		}
		fu_input(f, len);
		if (c & 0x20)
			fu_poll();
	}
	fu_reset();
	return 0;
}
