// SPDX-License-Identifier: MIT
// gso.c - software TSO/USO/UFO and checksum completion for receivers without offloads

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gso.h"
#include "util.h"

#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8
#define GSO_VLAN_MAX 2
#define IP4_HLEN 20
#define IP4_MF 0x2000
#define IP4_OFFMASK 0x1fff
#define IP6_HLEN 40
#define IP6_EXT_MAX 8
#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_AH_ 51
#define IPPROTO_DSTOPTS_ 60
#define TCP_HLEN 20
#define TCP_OFF_CSUM 16
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80
#define UDP_HLEN 8
#define UDP_OFF_CSUM 6

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)(v >> 16));
	wr16(p + 2, (uint16_t)v);
}

uint32_t gso_csum(const void *buf, size_t len, uint32_t sum)
{
	const uint8_t *p = buf;
	uint64_t a = 0, b = 0;
	uint32_t w[2];

	/*
	 * The one's complement sum does not depend on byte order (RFC 1071): add
	 * native 32-bit words into 64-bit accumulators (no carry lost below 2^32
	 * words), fold, and swap to network order once at the end.
	 */
	while (len >= 8) {
		memcpy(w, p, 8);
		a += w[0];
		b += w[1];
		p += 8;
		len -= 8;
	}
	a += b;
	if (len >= 4) {
		memcpy(w, p, 4);
		a += w[0];
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t h;

		memcpy(&h, p, 2);
		a += h;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint8_t last[2] = { p[0], 0 };
		uint16_t h;

		memcpy(&h, last, 2);
		a += h;
	}
	while (a >> 16)
		a = (a & 0xffff) + (a >> 16);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	a = (uint16_t)(a << 8 | a >> 8);
#endif
	a += sum;
	while (a >> 16)
		a = (a & 0xffff) + (a >> 16);
	return (uint32_t)a;
}

uint16_t gso_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

bool gso_accepts(const struct net_meta *meta, uint32_t offloads)
{
	uint32_t need = 0;

	if (net_meta_is_plain(meta))
		return true;
	if (meta->flags & NET_META_F_NEEDS_CSUM)
		need |= NET_OFF_CSUM;
	switch (meta->gso_type & ~NET_META_GSO_ECN) {
	case NET_META_GSO_NONE:
		if (meta->gso_type & NET_META_GSO_ECN)
			return false;
		break;
	case NET_META_GSO_TCPV4:
		need |= NET_OFF_TSO4;
		break;
	case NET_META_GSO_TCPV6:
		need |= NET_OFF_TSO6;
		break;
	case NET_META_GSO_UDP:
		need |= NET_OFF_UFO;
		break;
	case NET_META_GSO_UDP_L4:
		need |= NET_OFF_USO4 | NET_OFF_USO6;
		break;
	default:
		return false;
	}
	if (meta->gso_type & NET_META_GSO_ECN)
		need |= NET_OFF_TSO_ECN;
	return (need & ~offloads) == 0;
}

/**
 * struct gso_frame - a parsed frame
 * @p, @len:	the bytes (up to the end of the IP packet)
 * @l3, @l4:	offsets of the IP and L4 headers (@l4 0: no L4 header found)
 * @ip6:	IPv6 (else IPv4)
 * @proto:	L4 protocol
 * @l4len:	L4 header bytes (TCP data offset, UDP 8)
 */
struct gso_frame {
	const uint8_t *p;
	size_t len;
	size_t l3, l4;
	bool ip6;
	uint8_t proto;
	size_t l4len;
};

/* gso_parse_ip6() - IPv6 header and a bounded walk of extension headers */
static int gso_parse_ip6(struct gso_frame *f)
{
	const uint8_t *ip = f->p + f->l3;
	size_t end, off = f->l3 + IP6_HLEN;
	uint8_t nh;

	if (f->len - f->l3 < IP6_HLEN || (ip[0] >> 4) != 6)
		return -EINVAL;
	nh = ip[6];
	end = f->l3 + IP6_HLEN + rd16(ip + 4);
	if (end > f->len)
		return -EINVAL;
	f->len = end;
	for (int i = 0; i < IP6_EXT_MAX; i++) {
		size_t hl;

		switch (nh) {
		case IPPROTO_HOPOPTS_:
		case IPPROTO_ROUTING_:
		case IPPROTO_DSTOPTS_:
			if (end - off < 8)
				return -EINVAL;
			hl = ((size_t)f->p[off + 1] + 1) * 8;
			break;
		case IPPROTO_AH_:
			if (end - off < 8)
				return -EINVAL;
			hl = ((size_t)f->p[off + 1] + 2) * 4;
			break;
		case IPPROTO_FRAGMENT_:
			return -EINVAL;	/* a fragment carries no whole L4 header to offload */
		default:
			f->proto = nh;
			f->l4 = off;
			return 0;
		}
		if (end - off < hl)
			return -EINVAL;
		nh = f->p[off];
		off += hl;
	}
	return -EINVAL;
}

static int gso_parse_ip4(struct gso_frame *f)
{
	const uint8_t *ip = f->p + f->l3;
	size_t ihl, tot;

	if (f->len - f->l3 < IP4_HLEN || (ip[0] >> 4) != 4)
		return -EINVAL;
	ihl = (size_t)(ip[0] & 15) * 4;
	tot = rd16(ip + 2);
	if (ihl < IP4_HLEN || tot < ihl || f->l3 + tot > f->len)
		return -EINVAL;
	if (rd16(ip + 6) & (IP4_MF | IP4_OFFMASK))
		return -EINVAL;	/* already a fragment */
	f->len = f->l3 + tot;
	f->proto = ip[9];
	f->l4 = f->l3 + ihl;
	return 0;
}

/* gso_parse() - Ethernet (+VLAN), IP, and the TCP/UDP header if there is one */
static int gso_parse(struct gso_frame *f)
{
	size_t off = 12;
	uint16_t type;
	int i;

	if (f->len < ETH_HLEN)
		return -EINVAL;
	type = rd16(f->p + off);
	for (i = 0; i < GSO_VLAN_MAX && (type == ETH_P_8021Q || type == ETH_P_8021AD); i++) {
		off += 4;
		if (f->len < off + 2)
			return -EINVAL;
		type = rd16(f->p + off);
	}
	f->l3 = off + 2;
	if (type == ETH_P_IP) {
		f->ip6 = false;
		if (gso_parse_ip4(f))
			return -EINVAL;
	} else if (type == ETH_P_IPV6) {
		f->ip6 = true;
		if (gso_parse_ip6(f))
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (f->proto == IPPROTO_TCP_) {
		if (f->len - f->l4 < TCP_HLEN)
			return -EINVAL;
		f->l4len = (size_t)(f->p[f->l4 + 12] >> 4) * 4;
		if (f->l4len < TCP_HLEN || f->len - f->l4 < f->l4len)
			return -EINVAL;
	} else if (f->proto == IPPROTO_UDP_) {
		if (f->len - f->l4 < UDP_HLEN)
			return -EINVAL;
		f->l4len = UDP_HLEN;
	} else {
		f->l4len = 0;
	}
	return 0;
}

/* gso_pseudo() - the pseudo header sum for an L4 length of @l4len bytes */
static uint32_t gso_pseudo(const struct gso_frame *f, const uint8_t *l3hdr, size_t l4len)
{
	uint32_t sum = f->proto + (uint32_t)(l4len & 0xffff) + (uint32_t)(l4len >> 16);

	if (f->ip6)
		return gso_csum(l3hdr + 8, 32, sum);
	return gso_csum(l3hdr + 12, 8, sum);
}

/* gso_fix_ip() - lengths, ID and header checksum of a segment's IP header in @h */
static void gso_fix_ip(const struct gso_frame *f, uint8_t *h, size_t l3_total, unsigned seg)
{
	uint8_t *ip = h + f->l3;

	if (f->ip6) {
		wr16(ip + 4, (uint16_t)(l3_total - IP6_HLEN));
		return;
	}
	wr16(ip + 2, (uint16_t)l3_total);
	wr16(ip + 4, (uint16_t)(rd16(ip + 4) + seg));
	wr16(ip + 10, 0);
	wr16(ip + 10, gso_csum_fold(gso_csum(ip, f->l4 - f->l3, 0)));
}

/* gso_l4_csum() - checksum of one L4 segment: header in @h, payload @pl */
static uint16_t gso_l4_csum(const struct gso_frame *f, const uint8_t *h, const uint8_t *pl,
			    size_t plen)
{
	size_t hl = f->l4len;
	uint32_t sum = gso_pseudo(f, h + f->l3, hl + plen);
	uint16_t c;

	sum = gso_csum(h + f->l4, hl, sum);
	sum = gso_csum(pl, plen, sum);	/* hl is even: the payload starts on a word */
	c = gso_csum_fold(sum);
	if (!c && f->proto == IPPROTO_UDP_)
		c = 0xffff;
	return c;
}

/**
 * gso_segment_l4() - TSO and USO: one L4 segment per gso_size payload bytes
 */
static int gso_segment_l4(struct gso_scratch *s, const struct gso_frame *f,
			  const struct net_meta *meta, unsigned skip, unsigned *done,
			  gso_emit_fn *emit, void *opaque)
{
	size_t hlen = f->l4 + f->l4len;
	size_t plen = f->len - hlen, mss = meta->gso_size;
	unsigned nseg, i;
	uint32_t seq = 0;
	uint8_t flags = 0;

	if (!mss || hlen > GSO_HDR_MAX)
		return -EINVAL;
	nseg = plen ? (unsigned)((plen + mss - 1) / mss) : 1;
	if (f->proto == IPPROTO_TCP_) {
		seq = rd32(f->p + f->l4 + 4);
		flags = f->p[f->l4 + 13];
	}
	for (i = skip; i < nseg; i++) {
		size_t off = (size_t)i * mss, n = MIN(mss, plen - MIN(off, plen));
		const uint8_t *pl = f->p + hlen + off;
		uint8_t *l4 = s->hdr + f->l4;
		struct iovec v[2];

		memcpy(s->hdr, f->p, hlen);
		gso_fix_ip(f, s->hdr, hlen - f->l3 + n, i);
		if (f->proto == IPPROTO_TCP_) {
			uint8_t fl = flags;

			if (i + 1 < nseg)
				fl &= (uint8_t)~(TCP_FIN | TCP_PSH);
			if (i > 0)
				fl &= (uint8_t)~TCP_CWR;
			wr32(l4 + 4, seq + (uint32_t)off);
			l4[13] = fl;
			wr16(l4 + TCP_OFF_CSUM, 0);
			wr16(l4 + TCP_OFF_CSUM, gso_l4_csum(f, s->hdr, pl, n));
		} else {
			wr16(l4 + 4, (uint16_t)(UDP_HLEN + n));
			wr16(l4 + UDP_OFF_CSUM, 0);
			wr16(l4 + UDP_OFF_CSUM, gso_l4_csum(f, s->hdr, pl, n));
		}
		v[0] = (struct iovec){ .iov_base = s->hdr, .iov_len = hlen };
		v[1] = (struct iovec){ .iov_base = (void *)pl, .iov_len = n };
		if (emit(opaque, v, n ? 2 : 1) == 0) {
			*done = i;
			return 0;
		}
	}
	return (int)nseg;
}

/**
 * gso_segment_ufo() - UFO: complete the UDP checksum, then IPv4 fragments
 */
static int gso_segment_ufo(struct gso_scratch *s, const struct gso_frame *f,
			   const struct net_meta *meta, unsigned skip, unsigned *done,
			   gso_emit_fn *emit, void *opaque)
{
	size_t hlen = f->l4, dlen = f->len - f->l4, fs = meta->gso_size & ~7u;
	const uint8_t *d = f->p + f->l4;
	unsigned nseg, i;
	uint32_t sum;
	uint16_t c;

	if (f->ip6 || !fs || hlen > GSO_HDR_MAX)
		return -EINVAL;	/* IPv6 UFO needs a fragment header: not done */
	/* the whole datagram's checksum, as the kernel computes it before fragmenting */
	memcpy(s->l4, d, UDP_HLEN);
	wr16(s->l4 + 4, (uint16_t)dlen);
	wr16(s->l4 + UDP_OFF_CSUM, 0);
	sum = gso_pseudo(f, f->p + f->l3, dlen);
	sum = gso_csum(s->l4, UDP_HLEN, sum);
	sum = gso_csum(d + UDP_HLEN, dlen - UDP_HLEN, sum);
	c = gso_csum_fold(sum);
	wr16(s->l4 + UDP_OFF_CSUM, c ? c : 0xffff);
	nseg = (unsigned)((dlen + fs - 1) / fs);
	for (i = skip; i < nseg; i++) {
		size_t off = (size_t)i * fs, n = MIN(fs, dlen - off);
		uint8_t *ip = s->hdr + f->l3;
		struct iovec v[3];
		int cnt = 0;

		memcpy(s->hdr, f->p, hlen);
		wr16(ip + 2, (uint16_t)(hlen - f->l3 + n));
		wr16(ip + 6, (uint16_t)((rd16(ip + 6) & ~(IP4_MF | IP4_OFFMASK)) |
					(i + 1 < nseg ? IP4_MF : 0) | (off >> 3)));
		wr16(ip + 10, 0);
		wr16(ip + 10, gso_csum_fold(gso_csum(ip, f->l4 - f->l3, 0)));
		v[cnt++] = (struct iovec){ .iov_base = s->hdr, .iov_len = hlen };
		if (i == 0) {
			v[cnt++] = (struct iovec){ .iov_base = s->l4, .iov_len = UDP_HLEN };
			v[cnt++] = (struct iovec){ .iov_base = (void *)(d + UDP_HLEN),
						   .iov_len = n - UDP_HLEN };
		} else {
			v[cnt++] = (struct iovec){ .iov_base = (void *)(d + off), .iov_len = n };
		}
		if (emit(opaque, v, cnt) == 0) {
			*done = i;
			return 0;
		}
	}
	return (int)nseg;
}

/**
 * gso_complete_csum() - NEEDS_CSUM alone: sum from csum_start to the end of
 * the IP packet (or of the frame if it is not IP) and store it
 */
static int gso_complete_csum(struct gso_scratch *s, struct gso_frame *f, size_t flen,
			     const struct net_meta *meta, unsigned skip, unsigned *done,
			     gso_emit_fn *emit, void *opaque)
{
	size_t start = meta->csum_start, pos = start + meta->csum_offset;
	size_t end = f->l3 ? f->len : flen;
	uint32_t sum;
	uint16_t c;
	struct iovec v[3];

	if (skip)
		return 1;
	if (start < ETH_HLEN || pos + 2 > end || pos < start)
		return -EINVAL;
	/* the field holds the pseudo header sum; the rest is summed around it */
	sum = gso_csum(f->p + start, end - start, 0);
	c = gso_csum_fold(sum);
	if (!c && f->l3 && f->proto == IPPROTO_UDP_ && start == f->l4 &&
	    meta->csum_offset == UDP_OFF_CSUM)
		c = 0xffff;
	wr16(s->csum, c);
	v[0] = (struct iovec){ .iov_base = (void *)f->p, .iov_len = pos };
	v[1] = (struct iovec){ .iov_base = s->csum, .iov_len = 2 };
	v[2] = (struct iovec){ .iov_base = (void *)(f->p + pos + 2), .iov_len = flen - pos - 2 };
	if (emit(opaque, v, 3) == 0) {
		*done = 0;
		return 0;
	}
	return 1;
}

int gso_segment(struct gso_scratch *s, const struct iovec *iov, int iovcnt,
		const struct net_meta *meta, unsigned skip, unsigned *done,
		gso_emit_fn *emit, void *opaque)
{
	struct gso_frame f = { 0 };
	size_t flen;
	uint8_t type;

	if (iovcnt == 1) {
		f.p = iov[0].iov_base;
		flen = iov[0].iov_len;
	} else {
		flen = 0;
		for (int i = 0; i < iovcnt; i++)
			flen += iov[i].iov_len;
		if (flen > GSO_FRAME_MAX)
			return -EINVAL;
		if (!s->lin)
			s->lin = xmalloc(GSO_FRAME_MAX);
		flen = 0;
		for (int i = 0; i < iovcnt; i++) {
			memcpy(s->lin + flen, iov[i].iov_base, iov[i].iov_len);
			flen += iov[i].iov_len;
		}
		f.p = s->lin;
	}
	f.len = flen;
	type = meta->gso_type & ~NET_META_GSO_ECN;
	if (type == NET_META_GSO_NONE) {
		if (!(meta->flags & NET_META_F_NEEDS_CSUM))
			return -EINVAL;	/* ECN alone */
		if (gso_parse(&f)) {	/* not IP: sum to the end of the frame */
			f.l3 = 0;
			f.len = flen;
		}
		return gso_complete_csum(s, &f, flen, meta, skip, done, emit, opaque);
	}
	if (gso_parse(&f))
		return -EINVAL;
	if ((meta->flags & NET_META_F_NEEDS_CSUM) &&
	    (meta->csum_start != f.l4 ||
	     meta->csum_offset != (f.proto == IPPROTO_TCP_ ? TCP_OFF_CSUM : UDP_OFF_CSUM)))
		return -EINVAL;
	switch (type) {
	case NET_META_GSO_TCPV4:
	case NET_META_GSO_TCPV6:
		if (f.proto != IPPROTO_TCP_ || f.ip6 != (type == NET_META_GSO_TCPV6))
			return -EINVAL;
		return gso_segment_l4(s, &f, meta, skip, done, emit, opaque);
	case NET_META_GSO_UDP_L4:
		if (f.proto != IPPROTO_UDP_)
			return -EINVAL;
		return gso_segment_l4(s, &f, meta, skip, done, emit, opaque);
	case NET_META_GSO_UDP:
		if (f.proto != IPPROTO_UDP_)
			return -EINVAL;
		return gso_segment_ufo(s, &f, meta, skip, done, emit, opaque);
	default:
		return -EINVAL;
	}
}

void gso_vnet_hdr_put(uint8_t hdr[NET_VNET_HDR_LEN], const struct net_meta *meta)
{
	static const struct net_meta plain;
	uint16_t v[4];

	if (!meta)
		meta = &plain;
	v[0] = meta->hdr_len;
	v[1] = meta->gso_size;
	v[2] = meta->csum_start;
	v[3] = meta->csum_offset;
	hdr[0] = meta->flags;
	hdr[1] = meta->gso_type;
	for (int i = 0; i < 4; i++) {
		hdr[2 + 2 * i] = (uint8_t)v[i];
		hdr[3 + 2 * i] = (uint8_t)(v[i] >> 8);
	}
}

void gso_vnet_hdr_get(struct net_meta *meta, const uint8_t hdr[NET_VNET_HDR_LEN])
{
	meta->flags = hdr[0];
	meta->gso_type = hdr[1];
	meta->hdr_len = (uint16_t)(hdr[2] | hdr[3] << 8);
	meta->gso_size = (uint16_t)(hdr[4] | hdr[5] << 8);
	meta->csum_start = (uint16_t)(hdr[6] | hdr[7] << 8);
	meta->csum_offset = (uint16_t)(hdr[8] | hdr[9] << 8);
}

void gso_scratch_free(struct gso_scratch *s)
{
	free(s->lin);
	s->lin = NULL;
}
