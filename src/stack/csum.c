// SPDX-License-Identifier: MIT
// csum.c - Internet checksums (RFC 1071), byte-order independent running sums

#include <string.h>

#include "csum.h"

uint32_t csum_partial(const void *buf, size_t len, uint32_t sum)
{
	const uint8_t *p = buf;
	uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, acc;
	uint32_t w[4];
	uint16_t h;

	/*
	 * RFC 1071 1.2: the sum is byte-order independent, and may be taken over wider words
	 * and folded. Native-order 32-bit words go into 64-bit accumulators (no carry is lost
	 * below 2^32 words); the folded 16-bit result is swapped to network order at the end.
	 * memcpy keeps unaligned access defined and compiles to plain loads.
	 */
	while (len >= 16) {
		memcpy(w, p, 16);
		a0 += w[0];
		a1 += w[1];
		a2 += w[2];
		a3 += w[3];
		p += 16;
		len -= 16;
	}
	acc = a0 + a1 + a2 + a3;
	while (len >= 4) {
		memcpy(w, p, 4);
		acc += w[0];
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		memcpy(&h, p, 2);
		acc += h;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint8_t last[2] = { p[0], 0 };

		memcpy(&h, last, 2);
		acc += h;
	}
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	acc = (uint16_t)(acc << 8 | acc >> 8);
#endif
	acc += sum;
	while (acc >> 32)
		acc = (acc & 0xffffffff) + (acc >> 32);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	acc = (acc & 0xffff) + (acc >> 16);
	return (uint32_t)acc;
}

uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

uint32_t csum_iov(const struct iovec *iov, int iovcnt, uint32_t sum)
{
	uint8_t carry = 0;
	bool odd = false;

	for (int i = 0; i < iovcnt; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t len = iov[i].iov_len;

		if (!len)
			continue;
		if (odd) {
			uint8_t pair[2] = { carry, p[0] };

			sum = csum_partial(pair, 2, sum);
			p++;
			len--;
			odd = false;
		}
		if (len & 1) {
			carry = p[len - 1];
			odd = true;
			len--;
		}
		sum = csum_partial(p, len, sum);
	}
	if (odd)
		sum = csum_partial(&carry, 1, sum);
	return sum;
}

uint32_t csum_pseudo4(struct in_addr src, struct in_addr dst, uint8_t proto, uint16_t len)
{
	uint8_t ph[12];
	uint16_t l = htons(len);

	memcpy(ph, &src, 4);
	memcpy(ph + 4, &dst, 4);
	ph[8] = 0;
	ph[9] = proto;
	memcpy(ph + 10, &l, 2);
	return csum_partial(ph, sizeof(ph), 0);
}

uint32_t csum_pseudo6(const struct in6_addr *src, const struct in6_addr *dst, uint8_t proto,
		      uint32_t len)
{
	uint8_t ph[40] = { 0 };
	uint32_t l = htonl(len);

	memcpy(ph, src, 16);
	memcpy(ph + 16, dst, 16);
	memcpy(ph + 32, &l, 4);
	ph[39] = proto;
	return csum_partial(ph, sizeof(ph), 0);
}

uint16_t csum_ip4_header(const void *hdr, size_t len)
{
	return csum_fold(csum_partial(hdr, len, 0));
}
