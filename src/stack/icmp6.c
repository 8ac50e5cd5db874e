// SPDX-License-Identifier: MIT
// icmp6.c - ICMPv6 of the user stack: echo for the virtual hosts, NDP (RS/RA, NS/NA), RA timer

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "../core/cursor.h"
#include "../core/log.h"
#include "../core/wire.h"
#include "csum.h"
#include "stack.h"

/*
 * DOC: ICMPv6 and NDP
 *
 * Every message's checksum is checked first. NDP messages must carry hop
 * limit 255 and code 0, and every option a length other than 0 (RFC 4861
 * 6.1, 7.1): otherwise they are dropped and counted.
 *
 * - Echo requests to the stack's addresses are answered here (also with
 *   restrict=on); echo to anything else is not forwarded yet.
 * - Router solicitation: the guest's source link-layer address is learned and
 *   a router advertisement goes to ff02::1 at once. The same RA goes out
 *   every 200..600 s (random, as libslirp; the timer starts with the
 *   guest's first IPv6 packet, so an IPv4-only guest costs no wake-ups). It comes from the router's
 *   link-local address (fe80::2), with cur hop limit 64, M=0 O=0, router
 *   lifetime 1800 s, the source link-layer option (52:56:00:00:00:02), the
 *   prefix (on-link, autonomous: SLAAC; valid 86400 s, preferred 14400 s), an
 *   MTU option when mtu= was given (and is at least 1280), and, once DNS over
 *   IPv6 is served at [ipv6-dns], RDNSS and DNSSL (RFC 8106, lifetime 1200 s).
 * - Neighbour solicitation for one of the stack's addresses: a neighbour
 *   advertisement (router, solicited unless it answers a DAD probe, override,
 *   target link-layer option); the solicitor is learned. Solicitations for
 *   other targets are ignored (duplicate address detection is left alone).
 * - Neighbour advertisements teach the table; one that claims a stack address
 *   is refused and counted, and so are RAs and redirects from a guest.
 */

static void ndp_ra_timer(struct stack_timer *t);

static uint32_t ndp_rand(struct user_stack *s)
{
	uint32_t x = s->ip6.rand;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	s->ip6.rand = x;
	return x;
}

static void ndp_ra_arm(struct user_stack *s)
{
	stack_timer_arm(&s->ip6.ra_timer,
			IP6_RA_MIN_MS + ndp_rand(s) % (IP6_RA_MAX_MS - IP6_RA_MIN_MS + 1));
}

void ndp_start(struct user_stack *s)
{
	if (s->ip6.ra_started)
		return;
	s->ip6.ra_started = true;
	stack_timer_init(s, &s->ip6.ra_timer, ndp_ra_timer, s);
	ndp_ra_arm(s);
}

static void ndp_ra_timer(struct stack_timer *t)
{
	struct user_stack *s = t->opaque;

	ndp_send_ra(s);
	ndp_ra_arm(s);
}

/* icmp6_send() - checksum @m (@len bytes) and send it from @src to @dst */
static int icmp6_send(struct user_stack *s, const struct in6_addr *src, const struct in6_addr *dst,
		      uint8_t hlim, uint8_t *m, size_t len)
{
	struct iovec iov = { .iov_base = m, .iov_len = len };
	uint16_t sum;

	m[2] = m[3] = 0;
	sum = csum_fold(csum_partial(m, len, csum_pseudo6(src, dst, WIRE_IPPROTO_ICMPV6,
							  (uint32_t)len)));
	memcpy(m + 2, &sum, 2);
	return stack_output_ip6(s, src, dst, WIRE_IPPROTO_ICMPV6, hlim, &iov, 1);
}

/* ndp_router_ll() - the router's link-local address: fe80:: + [ipv6-host]'s last 64 bits */
static void ndp_router_ll(const struct user_stack *s, struct in6_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->s6_addr[0] = 0xfe;
	a->s6_addr[1] = 0x80;
	memcpy(a->s6_addr + 8, s->cfg.host6.s6_addr + 8, 8);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void ndp_send_ra(struct user_stack *s)
{
	uint8_t m[WIRE_ND_RA_LEN + 8 + 32 + 8 + 24 + 8 + IP6_DNSSL_MAX + 8] = { 0 };
	struct in6_addr src, dst = { .s6_addr = { 0xff, 0x02, [15] = 0x01 } };
	size_t o = WIRE_ND_RA_LEN;

	ndp_router_ll(s, &src);
	m[0] = WIRE_ND_ROUTER_ADVERT;
	m[4] = IP6_HOP_LIMIT;			/* cur hop limit; M=0 O=0 */
	put_be16(m + 6, IP6_RA_LIFETIME);	/* reachable, retrans: 0 */
	m[o] = WIRE_ND_OPT_SLLA;
	m[o + 1] = 1;
	m[o + 2] = 0x52;
	m[o + 3] = 0x56;
	memcpy(m + o + 4, src.s6_addr + 12, 4);
	o += 8;
	m[o] = WIRE_ND_OPT_PREFIX;
	m[o + 1] = 4;
	m[o + 2] = (uint8_t)s->cfg.prefixlen6;
	m[o + 3] = WIRE_ND_PREFIX_ONLINK | WIRE_ND_PREFIX_AUTO;
	put_be32(m + o + 4, IP6_PREFIX_VALID);
	put_be32(m + o + 8, IP6_PREFIX_PREFERRED);
	for (unsigned i = 0; i < 16; i++) {
		unsigned bits = s->cfg.prefixlen6 > i * 8 ? s->cfg.prefixlen6 - i * 8 : 0;
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));

		m[o + 16 + i] = s->cfg.prefix6.s6_addr[i] & mask;
	}
	o += 32;
	if (s->cfg.mtu_set && s->cfg.mtu >= WIRE_IP6_MIN_MTU) {
		m[o] = WIRE_ND_OPT_MTU;
		m[o + 1] = 1;
		put_be32(m + o + 4, s->cfg.mtu);
		o += 8;
	}
	if (s->ip6.dns_ready) {
		m[o] = WIRE_ND_OPT_RDNSS;
		m[o + 1] = 3;
		put_be32(m + o + 4, IP6_DNS_LIFETIME);
		memcpy(m + o + 8, &s->cfg.dns6, 16);
		o += 24;
		if (s->cfg.dnssl_len && s->cfg.dnssl_len <= IP6_DNSSL_MAX) {
			size_t n = 8 + s->cfg.dnssl_len;

			n = (n + 7) & ~(size_t)7;	/* zero padded to 8 bytes */
			m[o] = WIRE_ND_OPT_DNSSL;
			m[o + 1] = (uint8_t)(n / 8);
			put_be32(m + o + 4, IP6_DNS_LIFETIME);
			memcpy(m + o + 8, s->cfg.dnssl, s->cfg.dnssl_len);
			o += n;
		}
	}
	s->ip6.stats.ra_sent++;
	icmp6_send(s, &src, &dst, WIRE_ND_HOP_LIMIT, m, o);
}

int ndp_encode_dnssl(const char *const *names, int n, uint8_t **out, size_t *len)
{
	uint8_t buf[IP6_DNSSL_MAX];
	size_t o = 0;

	for (int i = 0; i < n; i++) {
		const char *p = names[i];

		while (*p) {
			const char *dot = strchr(p, '.');
			size_t l = dot ? (size_t)(dot - p) : strlen(p);

			if (l == 0 || l > 63 || o + 1 + l + 1 > sizeof(buf))
				return -1;
			buf[o++] = (uint8_t)l;
			memcpy(buf + o, p, l);
			o += l;
			p += l;
			if (*p == '.')
				p++;
		}
		if (o == 0 || buf[o - 1] == 0 || o + 1 > sizeof(buf))
			return -1;	/* an empty name */
		buf[o++] = 0;
	}
	*out = xmalloc(o ? o : 1);
	memcpy(*out, buf, o);
	*len = o;
	return 0;
}

/*
 * ndp_opts() - walk the NDP options after a message's fixed part: a zero
 * length drops the message (RFC 4861); @want's link-layer address, if any,
 * goes to @mac. Return: false (message invalid), true.
 */
static bool ndp_opts(struct cursor *c, uint8_t want, uint8_t *mac, bool *have)
{
	*have = false;
	for (int guard = 0; cursor_remaining(c) && guard < 256; guard++) {
		uint8_t type = cursor_u8(c), n = cursor_u8(c);
		struct cursor o;

		if (!n || !cursor_sub(c, &o, (size_t)n * WIRE_ND_OPT_UNIT - 2))
			return false;
		if (type == want && n == 1) {
			cursor_pull(&o, mac, 6);
			*have = true;
		}
	}
	return cursor_ok(c) && !cursor_remaining(c);
}

static void icmp6_echo(struct user_stack *s, const struct in6_addr *src,
		       const struct in6_addr *dst, const uint8_t *l4, size_t len)
{
	/* built where stack_output_ip6() puts the payload: no copy there */
	uint8_t *m = s->frame + WIRE_ETH_HLEN + WIRE_IP6_HLEN;

	if (dst->s6_addr[0] == 0xff || !ip6_is_ours(s, dst)) {
		s->ip6.stats.unsupported++;	/* echo forwarding over IPv6: not yet */
		return;
	}
	if (WIRE_IP6_HLEN + len > s->cfg.mtu) {
		s->ip6.stats.too_big++;
		return;
	}
	memcpy(m, l4, len);
	m[0] = WIRE_ICMP6_ECHO_REPLY;
	s->ip6.stats.echo_replied++;
	icmp6_send(s, dst, src, IP6_HOP_LIMIT, m, len);
}

static void ndp_rogue(struct user_stack *s, const char *what)
{
	s->ip6.stats.rogue_nd++;
	if (!s->ip6.rogue_warned) {
		s->ip6.rogue_warned = true;
		warn_report("%s: the guest sent %s (ignored)", stack_name(s), what);
	}
}

/* ndp_ns() - a neighbour solicitation: answer for the stack's addresses */
static void ndp_ns(struct user_stack *s, const struct in6_addr *src, const struct in6_addr *dst,
		   struct cursor *c, const uint8_t *src_mac)
{
	uint8_t m[WIRE_ND_NA_LEN + 8] = { WIRE_ND_NEIGHBOR_ADVERT }, mac[6];
	struct in6_addr target, to = { .s6_addr = { 0xff, 0x02, [15] = 0x01 } };
	bool have, dad = ip6_is_unspec(src);

	cursor_skip(c, 4);			/* reserved */
	cursor_pull(c, &target, 16);
	if (!cursor_ok(c) || target.s6_addr[0] == 0xff || !ndp_opts(c, WIRE_ND_OPT_SLLA, mac, &have) ||
	    (dad && (have || dst->s6_addr[0] != 0xff))) {
		s->ip6.stats.bad_nd++;
		return;
	}
	if (!dad)
		ndp_learn(s, src, have ? mac : src_mac);
	if (!ip6_is_ours(s, &target))
		return;
	m[4] = WIRE_ND_NA_ROUTER | WIRE_ND_NA_OVERRIDE;
	if (!dad) {
		to = *src;
		m[4] |= WIRE_ND_NA_SOLICITED;
	}
	memcpy(m + 8, &target, 16);
	m[24] = WIRE_ND_OPT_TLLA;
	m[25] = 1;
	m[26] = 0x52;
	m[27] = 0x56;
	memcpy(m + 28, target.s6_addr + 12, 4);
	s->ip6.stats.na_sent++;
	icmp6_send(s, &target, &to, WIRE_ND_HOP_LIMIT, m, sizeof(m));
}

/* ndp_na() - a neighbour advertisement from the guest: learn its target */
static void ndp_na(struct user_stack *s, const struct in6_addr *dst, struct cursor *c,
		   const uint8_t *src_mac)
{
	struct in6_addr target;
	uint8_t flags, mac[6];
	bool have;

	flags = cursor_u8(c);
	cursor_skip(c, 3);
	cursor_pull(c, &target, 16);
	if (!cursor_ok(c) || target.s6_addr[0] == 0xff || !ndp_opts(c, WIRE_ND_OPT_TLLA, mac, &have) ||
	    (dst->s6_addr[0] == 0xff && (flags & WIRE_ND_NA_SOLICITED))) {
		s->ip6.stats.bad_nd++;
		return;
	}
	if (ip6_is_ours(s, &target)) {
		ndp_rogue(s, "a neighbour advertisement for the stack's own address");
		return;
	}
	ndp_learn(s, &target, have ? mac : src_mac);
}

/* icmp6_is_error() - @pkt carries an ICMPv6 error (its extension headers walked, bounded) */
static bool icmp6_is_error(const uint8_t *pkt, size_t len)
{
	struct cursor c;
	uint8_t nh = pkt[6];

	cursor_init_buf(&c, pkt + WIRE_IP6_HLEN, len - WIRE_IP6_HLEN);
	for (int i = 0; i < IP6_EXT_MAX && cursor_ok(&c); i++) {
		uint8_t next;

		if (nh != WIRE_IP6_NH_HOPOPTS && nh != WIRE_IP6_NH_ROUTING &&
		    nh != WIRE_IP6_NH_DSTOPTS && nh != WIRE_IP6_NH_FRAGMENT)
			break;
		next = cursor_u8(&c);
		cursor_skip(&c, nh == WIRE_IP6_NH_FRAGMENT ? 7 : (size_t)cursor_u8(&c) * 8 + 6);
		nh = next;
	}
	/* a chain cut short: treated as an error (no answer) */
	if (!cursor_ok(&c))
		return true;
	return nh == WIRE_IPPROTO_ICMPV6 && cursor_peek_u8(&c) < WIRE_ICMP6_ECHO_REQUEST &&
	       cursor_ok(&c);
}

void icmp6_error(struct user_stack *s, uint8_t type, uint8_t code, uint32_t param,
		 const uint8_t *orig, size_t orig_len)
{
	/* built where stack_output_ip6() puts the payload (@orig is a guest frame, never there) */
	uint8_t *m = s->frame + WIRE_ETH_HLEN + WIRE_IP6_HLEN;
	struct in6_addr src, dst, from;
	size_t n;

	if (orig_len < WIRE_IP6_HLEN || s->cfg.mtu < WIRE_IP6_HLEN + WIRE_ICMP6_HLEN + WIRE_IP6_HLEN)
		return;
	memcpy(&src, orig + 8, sizeof(src));
	memcpy(&dst, orig + 24, sizeof(dst));
	/* RFC 4443 2.4: never about an ICMPv6 error, a multicast destination, or a source that is
	 * not one guest */
	if (ip6_is_unspec(&src) || src.s6_addr[0] == 0xff || dst.s6_addr[0] == 0xff)
		return;
	if (icmp6_is_error(orig, orig_len))
		return;
	from = ip6_is_ours(s, &dst) ? dst : s->cfg.host6;
	/* as much of the packet as fits in the minimum MTU (and ours) */
	n = MIN(orig_len, (size_t)MIN(s->cfg.mtu, WIRE_IP6_MIN_MTU) - WIRE_IP6_HLEN - WIRE_ICMP6_HLEN);
	memmove(m + WIRE_ICMP6_HLEN, orig, n);
	m[0] = type;
	m[1] = code;
	put_be32(m + 4, param);
	s->ip6.stats.errors_sent++;
	icmp6_send(s, &from, &src, IP6_HOP_LIMIT, m, WIRE_ICMP6_HLEN + n);
}

void icmp6_input(struct user_stack *s, const uint8_t *ip, const uint8_t *l4, size_t len,
		 const uint8_t *src_mac)
{
	struct in6_addr src, dst;
	uint8_t type, code, hlim = ip[7], mac[6];
	struct cursor c;
	bool have;

	memcpy(&src, ip + 8, 16);
	memcpy(&dst, ip + 24, 16);
	if (len < WIRE_ICMP6_HLEN - 4 ||
	    csum_fold(csum_partial(l4, len, csum_pseudo6(&src, &dst, WIRE_IPPROTO_ICMPV6,
							 (uint32_t)len))) != 0) {
		s->ip6.stats.bad_icmp6++;
		return;
	}
	cursor_init_buf(&c, l4, len);
	type = cursor_u8(&c);
	code = cursor_u8(&c);
	cursor_skip(&c, 2);		/* checksum */
	if (type >= WIRE_ND_ROUTER_SOLICIT && type <= WIRE_ND_REDIRECT &&
	    (hlim != WIRE_ND_HOP_LIMIT || code != 0)) {
		s->ip6.stats.bad_nd++;
		return;
	}
	switch (type) {
	case WIRE_ICMP6_ECHO_REQUEST:
		if (len < WIRE_ICMP6_HLEN) {
			s->ip6.stats.bad_icmp6++;
			return;
		}
		icmp6_echo(s, &src, &dst, l4, len);
		return;
	case WIRE_ND_ROUTER_SOLICIT:
		cursor_skip(&c, 4);	/* reserved */
		if (!cursor_ok(&c) || !ndp_opts(&c, WIRE_ND_OPT_SLLA, mac, &have) ||
		    (have && ip6_is_unspec(&src))) {
			s->ip6.stats.bad_nd++;
			return;
		}
		if (have)
			ndp_learn(s, &src, mac);
		ndp_send_ra(s);
		return;
	case WIRE_ND_NEIGHBOR_SOLICIT:
		ndp_ns(s, &src, &dst, &c, src_mac);
		return;
	case WIRE_ND_NEIGHBOR_ADVERT:
		ndp_na(s, &dst, &c, src_mac);
		return;
	case WIRE_ND_ROUTER_ADVERT:
		ndp_rogue(s, "a router advertisement");
		return;
	case WIRE_ND_REDIRECT:
		ndp_rogue(s, "a redirect");
		return;
	default:
		/* echo replies, errors, MLD reports...: nothing to do for them */
		return;
	}
}
