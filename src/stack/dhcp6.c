// SPDX-License-Identifier: MIT
// dhcp6.c - stateless DHCPv6 (RFC 8415 6.1): INFORMATION-REQUEST answered with DNS and search list

#include <arpa/inet.h>
#include <string.h>

#include "../core/cursor.h"
#include "../core/wire.h"
#include "stack.h"

/*
 * DOC: DHCPv6
 *
 * As libslirp: only INFORMATION-REQUEST (11) is answered, with a REPLY (7)
 * from the router's link-local address, port 547, to the client's address and
 * port. The reply echoes the client identifier (at most 256 bytes), names the
 * server (DUID-LL of the router's MAC, which RFC 8415 requires and libslirp
 * leaves out), and carries the DNS servers (23: [ipv6-dns]) and the domain
 * search list (24: dnssearch=) when the option request option asks for them.
 * A request that carries an IA_NA or IA_TA, and every other message type
 * (SOLICIT, REQUEST...), gets no answer: addresses come from SLAAC. Options
 * are read with the bounded cursor; a malformed message is dropped and
 * counted.
 */

#define DHCP6_INFO_REQUEST 11
#define DHCP6_REPLY 7
#define DHCP6_OPT_CLIENTID 1
#define DHCP6_OPT_SERVERID 2
#define DHCP6_OPT_IA_NA 3
#define DHCP6_OPT_IA_TA 4
#define DHCP6_OPT_ORO 6
#define DHCP6_OPT_DNS 23
#define DHCP6_OPT_DOMAINS 24
#define DHCP6_CLIENTID_MAX 256

static size_t dhcp6_opt(uint8_t *p, uint16_t code, const void *data, size_t len)
{
	p[0] = (uint8_t)(code >> 8);
	p[1] = (uint8_t)code;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	memcpy(p + 4, data, len);
	return 4 + len;
}

bool dhcp6_input(struct user_stack *s, const struct in6_addr *src, uint16_t sport,
		 const uint8_t *msg, size_t len)
{
	uint8_t out[4 + 4 + DHCP6_CLIENTID_MAX + 4 + 10 + 4 + 16 + 4 + IP6_DNSSL_MAX];
	uint8_t cid[DHCP6_CLIENTID_MAX], duid[10] = { 0, 3, 0, 1, 0x52, 0x56 };
	size_t cid_len = 0, o = 4;
	bool want_dns = false, want_domains = false, ia = false, have_cid = false;
	struct in6_addr from;
	struct cursor c;
	uint8_t type;

	cursor_init_buf(&c, msg, len);
	type = cursor_u8(&c);
	cursor_skip(&c, 3);		/* transaction id */
	for (int guard = 0; cursor_ok(&c) && cursor_remaining(&c) && guard < 512; guard++) {
		uint16_t code = cursor_be16(&c), olen = cursor_be16(&c);
		struct cursor v;

		if (!cursor_sub(&c, &v, olen))
			break;
		switch (code) {
		case DHCP6_OPT_CLIENTID:
			if (olen > sizeof(cid))
				goto bad;
			cursor_pull(&v, cid, olen);
			cid_len = olen;
			have_cid = true;
			break;
		case DHCP6_OPT_IA_NA:
		case DHCP6_OPT_IA_TA:
			ia = true;
			break;
		case DHCP6_OPT_ORO:
			while (cursor_remaining(&v) >= 2) {
				uint16_t r = cursor_be16(&v);

				want_dns |= r == DHCP6_OPT_DNS;
				want_domains |= r == DHCP6_OPT_DOMAINS;
			}
			break;
		default:
			break;
		}
	}
	if (!cursor_ok(&c))
		goto bad;
	if (type != DHCP6_INFO_REQUEST || ia)
		return true;	/* consumed, not answered (libslirp) */
	memcpy(out, msg, 4);
	out[0] = DHCP6_REPLY;
	if (have_cid)
		o += dhcp6_opt(out + o, DHCP6_OPT_CLIENTID, cid, cid_len);
	memcpy(duid + 6, s->cfg.host6.s6_addr + 12, 4);
	o += dhcp6_opt(out + o, DHCP6_OPT_SERVERID, duid, sizeof(duid));
	if (want_dns)
		o += dhcp6_opt(out + o, DHCP6_OPT_DNS, &s->cfg.dns6, 16);
	if (want_domains && s->cfg.dnssl_len && s->cfg.dnssl_len <= IP6_DNSSL_MAX)
		o += dhcp6_opt(out + o, DHCP6_OPT_DOMAINS, s->cfg.dnssl, s->cfg.dnssl_len);
	memset(&from, 0, sizeof(from));
	from.s6_addr[0] = 0xfe;
	from.s6_addr[1] = 0x80;
	memcpy(from.s6_addr + 8, s->cfg.host6.s6_addr + 8, 8);
	s->ip6.stats.dhcp6_replied++;
	udp6_output(s, &from, 547, src, sport, out, o);
	return true;
bad:
	s->ip6.stats.bad_dhcp6++;
	return true;
}
