// SPDX-License-Identifier: MIT
/* fuzz_ip6.c - libFuzzer target: IPv6 frames from the guest (extension headers, ICMPv6, NDP) */
#include "fuzz_user.h"

/*
 * Input: [ctl][next header][hop limit][payload...]
 *   ctl bits 0-2: destination: fec0::2, fec0::3, fe80::2, ff02::1, ff02::2,
 *        ff02::1:ff00:2, fec0::99 (inside the prefix), fe80::3
 *   bits 3-4: source: the guest's link-local, the guest's fec0:: address, ::, fec0::99
 *   bit 5: a payload length 7 bytes longer than the payload (else exact)
 *   bit 6: fix the ICMPv6 or TCP checksum, or the UDP length and checksum (the fuzzer walks hop-by-hop, routing,
 *        destination options and fragment headers, 16 at most, to find it)
 *   bit 7: run the event loop and the timers afterwards
 * The frame goes through stack_input() with the guest's MAC. Destinations
 * stay inside the virtual network (nothing could leave the machine even once
 * IPv6 NAT exists: the prefix maps to ::1).
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t frame[14 + 40 + 65536] __attribute__((aligned(8)));

static const char *const dsts[8] = {
	"fec0::2", "fec0::3", "fe80::2", "ff02::1", "ff02::2", "ff02::1:ff00:2", "fec0::99", "fe80::3",
};
static const char *const srcs[4] = {
	"fe80::5054:ff:fe12:3456", "fec0::5054:ff:fe12:3456", "::", "fec0::99",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
	struct in6_addr s6, d6;
	uint8_t ctl, nh, *ip = frame + 14, *p = frame + 54;
	size_t plen, off = 0;

	if (!fu_s)
		fu_setup("");
	if (size < 3)
		return 0;
	ctl = data[0];
	plen = MIN(size - 3, (size_t)65535 - 7);
	inet_pton(AF_INET6, dsts[ctl & 7], &d6);
	inet_pton(AF_INET6, srcs[(ctl >> 3) & 3], &s6);
	memset(frame, 0, 54);
	frame[0] = 0x52, frame[1] = 0x56, frame[5] = 2;
	if (d6.s6_addr[0] == 0xff) {
		frame[0] = frame[1] = 0x33;
		memcpy(frame + 2, d6.s6_addr + 12, 4);
	}
	memcpy(frame + 6, mac, 6);
	frame[12] = 0x86, frame[13] = 0xdd;
	ip[0] = 0x60;
	ip[4] = (uint8_t)((plen + ((ctl & 0x20) ? 7 : 0)) >> 8);
	ip[5] = (uint8_t)(plen + ((ctl & 0x20) ? 7 : 0));
	ip[6] = data[1];
	ip[7] = data[2];
	memcpy(ip + 8, &s6, 16);
	memcpy(ip + 24, &d6, 16);
	memcpy(p, data + 3, plen);
	if (ctl & 0x40) {
		nh = data[1];
		for (int i = 0; i < 16 && off + 8 <= plen; i++) {
			if (nh == 0 || nh == 43 || nh == 60) {
				nh = p[off];
				off += ((size_t)p[off + 1] + 1) * 8;
			} else if (nh == 44) {
				nh = p[off];
				off += 8;
			} else {
				break;
			}
		}
		if ((nh == IPPROTO_ICMPV6 && off + 4 <= plen) || (nh == IPPROTO_UDP && off + 8 <= plen) ||
		    (nh == IPPROTO_TCP && off + 20 <= plen)) {
			size_t at = nh == IPPROTO_UDP ? 6 : nh == IPPROTO_TCP ? 16 : 2;
			uint16_t sum;

			if (nh == IPPROTO_UDP) {	/* the UDP length: the rest of the payload */
				p[off + 4] = (uint8_t)((plen - off) >> 8);
				p[off + 5] = (uint8_t)(plen - off);
			}
			p[off + at] = p[off + at + 1] = 0;
			sum = csum_fold(csum_partial(p + off, plen - off,
						     csum_pseudo6(&s6, &d6, nh, (uint32_t)(plen - off))));
			memcpy(p + off + at, &sum, 2);
		}
	}
	fu_input(frame, 54 + plen);
	if (ctl & 0x80)
		fu_poll();
	fu_reset();
	return 0;
}
