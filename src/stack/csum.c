// SPDX-License-Identifier: MIT
// csum.c - Internet checksums (RFC 1071), byte-order independent running sums

#include <string.h>

#include "csum.h"

uint32_t csum_partial(const void *buf, size_t len, uint32_t sum)
{
	const uint8_t *p = buf;
	uint64_t acc = sum;

	/* sum 16-bit big-endian words; memcpy keeps unaligned access defined */
	while (len >= 8) {
		uint8_t w[8];

		memcpy(w, p, 8);
		acc += (uint32_t)(w[0] << 8 | w[1]) + (uint32_t)(w[2] << 8 | w[3]) +
		       (uint32_t)(w[4] << 8 | w[5]) + (uint32_t)(w[6] << 8 | w[7]);
		p += 8;
		len -= 8;
	}
	while (len >= 2) {
		acc += (uint32_t)(p[0] << 8 | p[1]);
		p += 2;
		len -= 2;
	}
	if (len)
		acc += (uint32_t)p[0] << 8;
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

uint16_t csum_ip4_header(const void *hdr, size_t len)
{
	return csum_fold(csum_partial(hdr, len, 0));
}
