// SPDX-License-Identifier: MIT
/* fuzz_icmp6.c - libFuzzer target: ICMPv6 and NDP messages from the guest, always well checksummed */
#include "fuzz_user.h"

/*
 * Input: [ctl][type][code][body...]
 *   ctl bits 0-1: destination: fec0::2, ff02::2, ff02::1:ff00:2, fe80::2
 *   bits 2-3: source: the guest's link-local, its fec0:: address, ::, fe80::2 (the router's)
 *   bit 4: hop limit 64 (else 255, as NDP wants)
 *   bit 5: type from the table 128, 133, 134, 135, 136, 137, 129, 1 by the low bits of
 *        the type byte (else the byte as is)
 *   bit 6: deliver the frame twice; bit 7: run the loop and the timers afterwards
 * The body follows the 4-byte ICMPv6 header (NDP fixed part and options); the
 * checksum is always right, so the NDP parsers see every body.
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t frame[14 + 40 + 65536] __attribute__((aligned(8)));

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
	static const uint8_t types[8] = { 128, 133, 134, 135, 136, 137, 129, 1 };
	static const char *const dsts[4] = { "fec0::2", "ff02::2", "ff02::1:ff00:2", "fe80::2" };
	static const char *const srcs[4] = {
		"fe80::5054:ff:fe12:3456", "fec0::5054:ff:fe12:3456", "::", "fe80::2",
	};
	struct in6_addr s6, d6;
	uint8_t ctl, *ip = frame + 14, *m = frame + 54;
	size_t len;
	uint16_t sum;

	if (!fu_s)
		fu_setup("mtu=1400,dnssearch=example.org,dnssearch=b.example");
	if (size < 3)
		return 0;
	ctl = data[0];
	len = 4 + MIN(size - 3, (size_t)65535 - 4);
	inet_pton(AF_INET6, dsts[ctl & 3], &d6);
	inet_pton(AF_INET6, srcs[(ctl >> 2) & 3], &s6);
	memset(frame, 0, 58);
	memcpy(frame, fu_s->gw_mac, 6);
	memcpy(frame + 6, mac, 6);
	frame[12] = 0x86, frame[13] = 0xdd;
	ip[0] = 0x60;
	ip[4] = (uint8_t)(len >> 8);
	ip[5] = (uint8_t)len;
	ip[6] = IPPROTO_ICMPV6;
	ip[7] = (ctl & 0x10) ? 64 : 255;
	memcpy(ip + 8, &s6, 16);
	memcpy(ip + 24, &d6, 16);
	m[0] = (ctl & 0x20) ? types[data[1] & 7] : data[1];
	m[1] = data[2];
	memcpy(m + 4, data + 3, len - 4);
	sum = csum_fold(csum_partial(m, len, csum_pseudo6(&s6, &d6, IPPROTO_ICMPV6, (uint32_t)len)));
	memcpy(m + 2, &sum, 2);
	fu_input(frame, 54 + len);
	if (ctl & 0x40)
		fu_input(frame, 54 + len);
	if (ctl & 0x80)
		fu_poll();
	fu_reset();
	return 0;
}
