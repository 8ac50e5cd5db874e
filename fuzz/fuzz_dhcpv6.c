// SPDX-License-Identifier: MIT
/* fuzz_dhcpv6.c - libFuzzer target: DHCPv6 messages from the guest to ff02::1:2 port 547 */
#include "fuzz_user.h"

/*
 * Input: [ctl][message...]. ctl bit 0: to fe80::2 (else ff02::1:2); bit 1: from the guest's
 * fec0:: address (else its link-local one); bit 2: run the loop afterwards. The message is the
 * UDP payload (type, transaction id, options); the UDP length and checksum are always right, so
 * the DHCPv6 parser sees every message. Replies are checked by fuzz_user.h (UDP checksum,
 * lengths, IPv6 header, source MAC).
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t frame[14 + 40 + 8 + 65536] __attribute__((aligned(8)));

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
	struct in6_addr s6, d6;
	uint8_t ctl, *ip = frame + 14, *u = frame + 54;
	size_t ulen;
	uint16_t sum;

	if (!fu_s)
		fu_setup("dnssearch=example.org,dnssearch=b.example");
	if (size < 1)
		return 0;
	ctl = data[0];
	ulen = 8 + MIN(size - 1, (size_t)65535 - 8);
	inet_pton(AF_INET6, (ctl & 1) ? "fe80::2" : "ff02::1:2", &d6);
	inet_pton(AF_INET6, (ctl & 2) ? "fec0::5054:ff:fe12:3456" : "fe80::5054:ff:fe12:3456", &s6);
	memset(frame, 0, 62);
	memcpy(frame, "\x33\x33\x00\x01\x00\x02", 6);
	memcpy(frame + 6, mac, 6);
	frame[12] = 0x86, frame[13] = 0xdd;
	ip[0] = 0x60;
	ip[4] = (uint8_t)(ulen >> 8);
	ip[5] = (uint8_t)ulen;
	ip[6] = IPPROTO_UDP;
	ip[7] = 1;
	memcpy(ip + 8, &s6, 16);
	memcpy(ip + 24, &d6, 16);
	u[0] = 546 >> 8, u[1] = 546 & 255, u[2] = 547 >> 8, u[3] = 547 & 255;
	u[4] = (uint8_t)(ulen >> 8), u[5] = (uint8_t)ulen;
	memcpy(u + 8, data + 1, ulen - 8);
	sum = csum_fold(csum_partial(u, ulen, csum_pseudo6(&s6, &d6, IPPROTO_UDP, (uint32_t)ulen)));
	memcpy(u + 6, &sum, 2);
	fu_input(frame, 54 + ulen);
	if (ctl & 4)
		fu_poll();
	fu_reset();
	return 0;
}
