// SPDX-License-Identifier: MIT
/* fuzz_ip4.c - libFuzzer target: IPv4 datagrams split into fragments, into ip4_input() */
#include "fuzz_user.h"

/*
 * Input: [ctl][proto][id][n][n fragment specs of 4 bytes][data...]
 *   ctl bits 0-1: destination (fuzz_user.h's safe set); 0x04: source 10.0.2.15 (else
 *        10.0.2.X with X from id); 0x08: compute the L4 checksum over the whole datagram
 *        first; 0x10: corrupt the IP header checksum of the last fragment; 0x20: give the
 *        first fragment 8 bytes of IP options; 0x40: run the event loop once afterwards
 *   proto: 0-3 ICMP/UDP/TCP/other (47), bit 2 set: the byte as is
 *   n (1-24 used): fragments; each spec is [offset lo][offset hi: bits 0-4, MF: bit 7,
 *        bad version: bit 6, ihl 4: bit 5][len lo][len hi]. Offsets are in 8-byte units up
 *        to 8191 (so a datagram can claim more than 65535 bytes), lengths are bytes up to
 *        65515; the fragment's bytes come from the datagram built from the rest of the
 *        input (zeros past its end). Overlapping, duplicate, tiny and oversized fragments
 *        all happen.
 * Every fragment goes into ip4_input() as a guest frame would (after the Ethernet header).
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t dgram[65536];
static uint8_t pkt[20 + 8 + 65535] __attribute__((aligned(8)));

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t protos[] = { IPPROTO_ICMP, IPPROTO_UDP, IPPROTO_TCP, 47 };
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
	uint8_t ctl, proto, n;
	uint16_t id;
	size_t dlen, off = 5;
	uint32_t src, dst;

	if (!fu_s)
		fu_setup("");
	if (size < 5)
		return 0;
	ctl = data[0];
	proto = (data[1] & 4) ? data[1] : protos[data[1] & 3];
	id = (uint16_t)(data[2] << 8 | data[3]);
	n = (uint8_t)MIN(data[4], 24);
	if (off + 4u * n > size)
		n = (uint8_t)((size - off) / 4);
	const uint8_t *spec = data + off;

	off += 4u * n;
	dlen = MIN(size - off, sizeof(dgram));
	memset(dgram, 0, sizeof(dgram));
	memcpy(dgram, data + off, dlen);
	src = (ctl & 0x04) ? htonl(0x0a00020f) : htonl(0x0a000200 | data[2]);
	dst = fu_safe_dst(ctl);
	if ((ctl & 0x08) && (proto == IPPROTO_UDP || proto == IPPROTO_TCP || proto == IPPROTO_ICMP)) {
		size_t at = proto == IPPROTO_TCP ? 16 : proto == IPPROTO_UDP ? 6 : 2;

		if (dlen >= at + 2) {
			struct in_addr s4 = { src }, d4 = { dst };
			uint16_t sum;

			if (proto == IPPROTO_UDP) {
				dgram[4] = (uint8_t)(dlen >> 8);
				dgram[5] = (uint8_t)dlen;
			}
			dgram[at] = dgram[at + 1] = 0;
			sum = csum_fold(csum_partial(dgram, dlen, proto == IPPROTO_ICMP ? 0 :
						     csum_pseudo4(s4, d4, proto, (uint16_t)dlen)));
			memcpy(dgram + at, &sum, 2);
		}
	}
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *sp = spec + 4 * i;
		uint32_t fo = (uint32_t)(sp[0] | (sp[1] & 0x1f) << 8);
		size_t flen = MIN((size_t)(sp[2] | sp[3] << 8), (size_t)65515);
		size_t start = (size_t)fo * 8, hl = (i == 0 && (ctl & 0x20)) ? 28 : 20;
		struct iphdr *ip = (struct iphdr *)(void *)pkt;
		uint16_t frag = (uint16_t)(fo | ((sp[1] & 0x80) ? IP_MF : 0));

		if (hl + flen > 65535)
			flen = 65535 - hl;
		memset(pkt, 0, hl);
		ip->version = (sp[1] & 0x40) ? 6 : 4;
		ip->ihl = (sp[1] & 0x20) ? 4 : (uint8_t)(hl / 4);
		ip->tot_len = htons((uint16_t)(hl + flen));
		ip->id = htons(id);
		ip->frag_off = htons(frag);
		ip->ttl = 64;
		ip->protocol = proto;
		ip->saddr = src;
		ip->daddr = dst;
		if (hl > 20)
			memset(pkt + 20, 1, hl - 20);	/* NOPs */
		ip->check = csum_ip4_header(ip, hl);
		if ((ctl & 0x10) && i == n - 1u)
			ip->check ^= 0x5a5a;
		if (start < sizeof(dgram)) {
			size_t c = MIN(flen, sizeof(dgram) - start);

			memcpy(pkt + hl, dgram + start, c);
			memset(pkt + hl + c, 0, flen - c);
		} else {
			memset(pkt + hl, 0, flen);
		}
		ip4_input(fu_s, pkt, hl + flen, mac);
		if (ctl & 0x40)
			fu_poll();
	}
	fu_reset();
	return 0;
}
