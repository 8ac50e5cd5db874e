// SPDX-License-Identifier: MIT
/* fuzz_dhcp.c - libFuzzer target: BOOTP/DHCP payloads in UDP 68->67 frames into a user stack */
#include "fuzz_user.h"

/*
 * Input: records [ctl][len hi][len lo][len bytes of BOOTP payload], at most 16 (a DISCOVER,
 * REQUEST, RELEASE... conversation). Each becomes a whole guest frame: Ethernet from the
 * client MAC, IPv4 (checksum right), UDP 68 -> 67 (length right, checksum 0 or right).
 *   ctl 0x01: IP source 10.0.2.15 (else 0.0.0.0)   0x02: to 10.0.2.2 (else 255.255.255.255)
 *   ctl 0x04: make the fixed part valid (op 1, htype 1, hlen 6, magic cookie) so the option
 *             parser and the server logic are reached
 *   ctl 0x08: chaddr (and the Ethernet source) = 52:54:00:00:00:(ctl >> 5): a few clients
 *   ctl 0x10: compute the UDP checksum (else 0: none)
 * Checks, besides fuzz_user.h's: every UDP datagram the stack sends is a DHCP reply from
 * 10.0.2.2:67 to port 68: op 2, the magic cookie, options that parse to an END inside the
 * packet, a message type OFFER/ACK/NAK (none: a BOOTP reply), and an address from the pool
 * (or none).
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t frame[2 + 14 + 20 + 8 + 1500] __attribute__((aligned(8)));

static void dhcp_check(const uint8_t *f, size_t len)
{
	const uint8_t *ip = f + 14, *uh, *b, *o;
	size_t hl, tot, blen, i;
	uint32_t yi, start = 0x0a00020f;
	int type = 0, end = 0;

	if (f[12] != 0x08 || f[13] != 0x00 || ip[9] != IPPROTO_UDP)
		return;
	hl = (size_t)(ip[0] & 15) * 4;
	tot = (size_t)(ip[2] << 8 | ip[3]);
	if ((ip[6] << 8 | ip[7]) & 0x3fff)
		fu_fail("fragmented DHCP reply");
	uh = ip + hl;
	if (tot < hl + 8 || uh[0] != 0 || uh[1] != 67 || uh[2] != 0 || uh[3] != 68)
		fu_fail("UDP datagram that is not a DHCP reply");
	if (memcmp(ip + 12, "\x0a\x00\x02\x02", 4))
		fu_fail("DHCP reply not from 10.0.2.2");
	b = uh + 8;
	blen = tot - hl - 8;
	if (blen < 240 || b[0] != 2 || memcmp(b + 236, "\x63\x82\x53\x63", 4))
		fu_fail("BOOTP reply header");
	yi = (uint32_t)b[16] << 24 | (uint32_t)b[17] << 16 | (uint32_t)b[18] << 8 | b[19];
	if (yi && (yi < start || yi >= start + DHCP_LEASES))
		fu_fail("address outside the pool");
	o = b + 240;
	for (i = 0; i < blen - 240;) {
		uint8_t c = o[i++];

		if (c == 0)
			continue;
		if (c == 255) {
			end = 1;
			break;
		}
		if (i >= blen - 240 || o[i] > blen - 240 - i - 1)
			fu_fail("option runs past the end");
		if (c == 53 && o[i] == 1)
			type = o[i + 1];
		i += 1 + o[i];
	}
	/* type 0: the BOOTP reply to a plain BOOTP request */
	if (!end || (type != 0 && type != 2 && type != 5 && type != 6))
		fu_fail("options: no END or no OFFER/ACK/NAK type");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	if (!fu_s) {
		fu_setup("hostname=fuzz,domainname=example.org,dnssearch=a.example,dnssearch=b.example");
		fu_check_hook = dhcp_check;
	}
	for (int n = 0; off + 3 <= size && n < 16; n++) {
		uint8_t ctl = data[off], *f = frame + 2;
		size_t len = (size_t)(data[off + 1] << 8 | data[off + 2]);
		struct in_addr src, dst;
		struct iphdr *ip = (struct iphdr *)(void *)(f + 14);
		uint8_t *uh = f + 34, *b = f + 42;
		uint16_t sum;

		off += 3;
		len = MIN(MIN(len, size - off), (size_t)1500);
		memcpy(b, data + off, len);
		off += len;
		if ((ctl & 0x04) && len >= 240) {
			b[0] = 1; b[1] = 1; b[2] = 6;
			memcpy(b + 236, "\x63\x82\x53\x63", 4);
		}
		if ((ctl & 0x08) && len >= 34)
			memcpy(b + 28, (uint8_t[6]){ 0x52, 0x54, 0, 0, 0, (uint8_t)(ctl >> 5) }, 6);
		memset(f, 0xff, 6);
		if (len >= 34)
			memcpy(f + 6, b + 28, 6);
		else
			memcpy(f + 6, "\x52\x54\x00\x12\x34\x56", 6);
		f[6] &= 0xfe;
		f[12] = 0x08;
		f[13] = 0x00;
		src.s_addr = (ctl & 0x01) ? htonl(0x0a00020f) : 0;
		dst.s_addr = (ctl & 0x02) ? htonl(0x0a000202) : INADDR_BROADCAST;
		memset(ip, 0, 20);
		ip->version = 4;
		ip->ihl = 5;
		ip->tot_len = htons((uint16_t)(28 + len));
		ip->ttl = 64;
		ip->protocol = IPPROTO_UDP;
		ip->saddr = src.s_addr;
		ip->daddr = dst.s_addr;
		ip->check = csum_ip4_header(ip, 20);
		uh[0] = 0; uh[1] = 68; uh[2] = 0; uh[3] = 67;
		uh[4] = (uint8_t)((8 + len) >> 8);
		uh[5] = (uint8_t)(8 + len);
		uh[6] = uh[7] = 0;
		if (ctl & 0x10) {
			sum = csum_fold(csum_partial(uh, 8 + len,
						     csum_pseudo4(src, dst, IPPROTO_UDP, (uint16_t)(8 + len))));
			memcpy(uh + 6, &sum, 2);
		}
		fu_input(f, 42 + len);
	}
	fu_reset();
	return 0;
}
