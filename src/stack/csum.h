/* SPDX-License-Identifier: MIT */
/* csum.h - Internet checksums (RFC 1071) */
#ifndef QNET_CSUM_H
#define QNET_CSUM_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/uio.h>

/* csum_partial() - add @len bytes at @buf to a 32-bit running sum (any alignment, odd lengths) */
uint32_t csum_partial(const void *buf, size_t len, uint32_t sum);
/* csum_fold() - fold a running sum and complement it: the value for the header field */
uint16_t csum_fold(uint32_t sum);
/* csum_iov() - csum_partial() over an iovec, treating it as one byte string */
uint32_t csum_iov(const struct iovec *iov, int iovcnt, uint32_t sum);
/* csum_pseudo4() - running sum of the IPv4 pseudo header (addresses in network order) */
uint32_t csum_pseudo4(struct in_addr src, struct in_addr dst, uint8_t proto, uint16_t len);
/* csum_pseudo6() - running sum of the IPv6 pseudo header (RFC 8200 8.1; @len in host order) */
uint32_t csum_pseudo6(const struct in6_addr *src, const struct in6_addr *dst, uint8_t proto,
		      uint32_t len);
/* csum_ip4_header() - the IPv4 header checksum field value for @hdr of @len bytes */
uint16_t csum_ip4_header(const void *hdr, size_t len);

#endif /* QNET_CSUM_H */
