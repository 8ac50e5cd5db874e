// SPDX-License-Identifier: MIT
// ip6.c - IPv6 input from the guest (extension headers walked with a bound), output to the guest,
// the neighbour table

#include <arpa/inet.h>
#include <string.h>

#include "../core/cursor.h"
#include "../core/log.h"
#include "../core/wire.h"
#include "csum.h"
#include "stack.h"

/*
 * DOC: IPv6
 *
 * The stack's IPv6 addresses are QEMU's: [ipv6-host] (fec0::2, the router),
 * [ipv6-dns] (fec0::3) and the link-local forms of both (fe80::2, fe80::3:
 * fe80:: + the last 64 bits). Frames from them carry libslirp's MAC
 * 52:56:<last four bytes of the source address>.
 *
 * Input: the fixed header is checked (version, payload length inside the
 * frame, no multicast source), the guest's source address is learned in the
 * neighbour table when it is link-local or inside the prefix (as ARP learns
 * IPv4 guests), then at most IP6_EXT_MAX extension headers are walked:
 * hop-by-hop (first only; its options are read, a jumbogram or an option the
 * stack must not skip drops the packet), destination options, a routing
 * header with no segments left, and an atomic fragment header (RFC 6946).
 * Anything else is dropped and counted: real fragments silently, a routing
 * header with segments left and (unless restrict=on) an unknown next header
 * with an ICMPv6 parameter problem (icmp6_error()). ICMPv6 goes to icmp6.c, UDP to udp6_input() (NAT, DNS), TCP to
 * tcp6_input() (NAT; the same connection machinery as IPv4).
 *
 * Output: the packet is built in s->frame behind a fixed header; unicast
 * destinations come from the neighbour table (16 entries, replaced
 * round-robin); an unknown one gets a neighbour solicitation and the packet is
 * dropped (no hold queue yet).
 */

void ip6_init(struct user_stack *s)
{
	memset(&s->ip6, 0, sizeof(s->ip6));
	s->ip6.rand = (uint32_t)(stack_now_ns(s) ^ (uintptr_t)s) | 1;
	s->ip6.dns_ready = true;	/* [ipv6-dns]:53 is forwarded (udp6_input) */
}

void ip6_fini(struct user_stack *s)
{
	stack_timer_cancel(&s->ip6.ra_timer);
}

/* ip6_iid_eq() - the last 64 bits (the interface identifier) of @a and @b are equal */
static bool ip6_iid_eq(const struct in6_addr *a, const struct in6_addr *b)
{
	return !memcmp(a->s6_addr + 8, b->s6_addr + 8, 8);
}

bool ip6_is_ours(const struct user_stack *s, const struct in6_addr *a)
{
	if (!memcmp(a, &s->cfg.host6, sizeof(*a)) || !memcmp(a, &s->cfg.dns6, sizeof(*a)))
		return true;
	return ip6_is_linklocal(a) && !memcmp(a->s6_addr + 2, "\0\0\0\0\0", 6) &&
	       (ip6_iid_eq(a, &s->cfg.host6) || ip6_iid_eq(a, &s->cfg.dns6));
}

bool ip6_in_prefix(const struct user_stack *s, const struct in6_addr *a)
{
	unsigned bits = s->cfg.prefixlen6, k = bits / 8;

	if (memcmp(a->s6_addr, s->cfg.prefix6.s6_addr, k))
		return false;
	if (bits % 8) {
		uint8_t m = (uint8_t)(0xff << (8 - bits % 8));

		return (a->s6_addr[k] & m) == (s->cfg.prefix6.s6_addr[k] & m);
	}
	return true;
}

void ndp_learn(struct user_stack *s, const struct in6_addr *ip, const uint8_t *mac)
{
	struct ndp_entry *e = NULL;

	if ((mac[0] & 1) || ip6_is_unspec(ip) || ip->s6_addr[0] == 0xff || ip6_is_ours(s, ip) ||
	    (!ip6_is_linklocal(ip) && !ip6_in_prefix(s, ip)))
		return;
	for (int i = 0; i < IP6_NDP_ENTRIES && !e; i++)
		if (s->ip6.e[i].valid && !memcmp(&s->ip6.e[i].ip, ip, sizeof(*ip)))
			e = &s->ip6.e[i];
	if (!e) {
		e = &s->ip6.e[s->ip6.next];
		s->ip6.next = (s->ip6.next + 1) % IP6_NDP_ENTRIES;
	}
	e->ip = *ip;
	memcpy(e->mac, mac, 6);
	e->valid = true;
}

const uint8_t *ndp_lookup(struct user_stack *s, const struct in6_addr *ip)
{
	for (int i = 0; i < IP6_NDP_ENTRIES; i++)
		if (s->ip6.e[i].valid && !memcmp(&s->ip6.e[i].ip, ip, sizeof(*ip)))
			return s->ip6.e[i].mac;
	return NULL;
}

/* ip6_send_ns() - a neighbour solicitation for @target, to its solicited-node group */
static void ip6_send_ns(struct user_stack *s, const struct in6_addr *target)
{
	uint8_t m[WIRE_ND_NS_LEN + WIRE_ND_OPT_UNIT] = { WIRE_ND_NEIGHBOR_SOLICIT };
	struct in6_addr src = { 0 }, dst = { 0 };
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(m) };
	uint16_t sum;

	src.s6_addr[0] = 0xfe;
	src.s6_addr[1] = 0x80;
	memcpy(src.s6_addr + 8, s->cfg.host6.s6_addr + 8, 8);
	dst.s6_addr[0] = 0xff;
	dst.s6_addr[1] = 0x02;
	dst.s6_addr[11] = 0x01;
	dst.s6_addr[12] = 0xff;
	memcpy(dst.s6_addr + 13, target->s6_addr + 13, 3);
	memcpy(m + 8, target, 16);
	m[24] = WIRE_ND_OPT_SLLA;
	m[25] = 1;
	m[26] = 0x52;
	m[27] = 0x56;
	memcpy(m + 28, src.s6_addr + 12, 4);
	sum = csum_fold(csum_partial(m, sizeof(m), csum_pseudo6(&src, &dst, WIRE_IPPROTO_ICMPV6,
								 sizeof(m))));
	memcpy(m + 2, &sum, 2);
	s->ip6.stats.ns_sent++;
	stack_output_ip6(s, &src, &dst, WIRE_IPPROTO_ICMPV6, WIRE_ND_HOP_LIMIT, &iov, 1);
}

int stack_output_ip6(struct user_stack *s, const struct in6_addr *src, const struct in6_addr *dst,
		     uint8_t proto, uint8_t hlim, const struct iovec *l4, int l4cnt)
{
	uint8_t *f = s->frame, mcast[6];
	const uint8_t *mac;
	size_t len = 0, done = 0;
	struct iovec iov;
	ssize_t r;

	for (int i = 0; i < l4cnt; i++)
		len += l4[i].iov_len;
	if (len > 0xffff || WIRE_IP6_HLEN + len > s->cfg.mtu) {
		s->ip6.stats.too_big++;
		return -1;
	}
	if (dst->s6_addr[0] == 0xff) {
		mcast[0] = mcast[1] = 0x33;
		memcpy(mcast + 2, dst->s6_addr + 12, 4);
		mac = mcast;
	} else if (!(mac = ndp_lookup(s, dst))) {
		s->ip6.stats.no_neigh++;
		ip6_send_ns(s, dst);
		return -1;
	}
	memcpy(f, mac, 6);
	f[6] = 0x52;
	f[7] = 0x56;
	memcpy(f + 8, src->s6_addr + 12, 4);
	f[12] = WIRE_ETHERTYPE_IPV6 >> 8;
	f[13] = WIRE_ETHERTYPE_IPV6 & 0xff;
	f[14] = WIRE_IP6_VERSION << 4;
	f[15] = f[16] = f[17] = 0;
	f[18] = (uint8_t)(len >> 8);
	f[19] = (uint8_t)len;
	f[20] = proto;
	f[21] = hlim;
	memcpy(f + 22, src, 16);
	memcpy(f + 38, dst, 16);
	for (int i = 0; i < l4cnt; i++) {
		memmove(f + 54 + done, l4[i].iov_base, l4[i].iov_len);
		done += l4[i].iov_len;
	}
	len += 54;
	if (len < 60) {
		memset(f + len, 0, 60 - len);
		len = 60;
	}
	iov.iov_base = f;
	iov.iov_len = len;
	r = s->env.send(s->opaque, &iov, 1, NULL);
	if (r == 0) {
		s->guest_busy = true;
		return 1;
	}
	return r < 0 ? -1 : 0;
}

/*
 * ip6_opts_ok() - the options of a hop-by-hop or destination options header
 * (RFC 8200 4.2): padding is skipped, a jumbo payload is refused (the stack
 * takes no jumbograms), and any other option is skipped only when its type
 * says so (the two high bits 00).
 */
static bool ip6_opts_ok(struct cursor *opts)
{
	for (int guard = 0; cursor_remaining(opts) && guard < 2048; guard++) {
		uint8_t type = cursor_u8(opts), olen;

		if (type == 0)		/* Pad1 */
			continue;
		olen = cursor_u8(opts);
		if (!cursor_skip(opts, olen))
			return false;
		if (type == 1)		/* PadN */
			continue;
		if (type >> 6)		/* jumbo payload (0xc2) and every "do not skip" type */
			return false;
	}
	return cursor_ok(opts);
}

void ip6_input(struct user_stack *s, const uint8_t *pkt, size_t len, const uint8_t *src_mac)
{
	struct in6_addr src, dst;
	struct cursor c;
	uint32_t vtcf;
	uint16_t plen;
	uint8_t nh;
	size_t off, nh_off = 6, hdr_off;

	cursor_init_buf(&c, pkt, len);
	vtcf = cursor_be32(&c);
	plen = cursor_be16(&c);
	nh = cursor_u8(&c);
	cursor_skip(&c, 1);		/* hop limit */
	cursor_pull(&c, &src, WIRE_IP6_ADDR_LEN);
	cursor_pull(&c, &dst, WIRE_IP6_ADDR_LEN);
	if (!cursor_ok(&c) || vtcf >> 28 != WIRE_IP6_VERSION || !cursor_limit(&c, plen) ||
	    src.s6_addr[0] == 0xff || ip6_is_unspec(&dst)) {
		s->ip6.stats.bad_ip6++;
		return;
	}
	ndp_start(s);
	if (!ip6_is_unspec(&src))
		ndp_learn(s, &src, src_mac);
	for (int i = 0; i <= IP6_EXT_MAX; i++) {
		struct cursor ext;
		uint8_t next, hl;

		hdr_off = (size_t)plen + WIRE_IP6_HLEN - cursor_remaining(&c);

		switch (nh) {
		case WIRE_IP6_NH_HOPOPTS:
		case WIRE_IP6_NH_DSTOPTS:
		case WIRE_IP6_NH_ROUTING:
			if (i == IP6_EXT_MAX || (nh == WIRE_IP6_NH_HOPOPTS && i > 0))
				goto bad;
			next = cursor_u8(&c);
			hl = cursor_u8(&c);
			if (!cursor_sub(&c, &ext, (size_t)hl * 8 + 6))
				goto bad;
			if (nh == WIRE_IP6_NH_ROUTING) {
				cursor_skip(&ext, 1);		/* routing type */
				if (cursor_u8(&ext) != 0) {	/* segments left: not a router */
					/* RFC 8200 4.4: parameter problem at the routing type */
					icmp6_error(s, WIRE_ICMP6_PARAM_PROB, 0, (uint32_t)hdr_off + 2,
						    pkt, (size_t)plen + WIRE_IP6_HLEN);
					goto bad;
				}
			} else if (!ip6_opts_ok(&ext)) {
				goto bad;
			}
			nh = next;
			nh_off = hdr_off;
			continue;
		case WIRE_IP6_NH_FRAGMENT:
			if (i == IP6_EXT_MAX)
				goto bad;
			next = cursor_u8(&c);
			cursor_skip(&c, 1);
			/* only an atomic fragment (offset 0, no more): reassembly is not done yet */
			if ((cursor_be16(&c) & 0xfff9) != 0 || !cursor_skip(&c, 4)) {
				s->ip6.stats.unsupported++;
				return;
			}
			nh = next;
			nh_off = hdr_off;
			continue;
		default:
			break;
		}
		break;
	}
	if (!cursor_ok(&c))
		goto bad;
	off = (size_t)(plen + WIRE_IP6_HLEN) - cursor_remaining(&c);
	switch (nh) {
	case WIRE_IPPROTO_ICMPV6:
		icmp6_input(s, pkt, pkt + off, cursor_remaining(&c), src_mac);
		return;
	case WIRE_IPPROTO_UDP:
		udp6_input(s, pkt, pkt + off, cursor_remaining(&c));
		return;
	case WIRE_IPPROTO_TCP:
		tcp6_input(s, pkt, pkt + off, cursor_remaining(&c));
		return;
	case WIRE_IP6_NH_NONE:
		return;
	default:
		/* other protocols are not translated: unrecognized next header (RFC 8200 4) */
		s->ip6.stats.unsupported++;
		if (!s->cfg.restricted)
			icmp6_error(s, WIRE_ICMP6_PARAM_PROB, 1, (uint32_t)nh_off, pkt,
				    (size_t)plen + WIRE_IP6_HLEN);
		return;
	}
bad:
	s->ip6.stats.bad_ext++;
}
