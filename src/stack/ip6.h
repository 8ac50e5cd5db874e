/* SPDX-License-Identifier: MIT */
/* ip6.h - IPv6 of the user stack: input (extension headers), output, neighbour table, ICMPv6/NDP */
#ifndef QNET_IP6_H
#define QNET_IP6_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "env.h"

struct user_stack;

#define IP6_NDP_ENTRIES 16		/* libslirp: 16 neighbours, round-robin replacement */
#define IP6_EXT_MAX 8			/* extension headers walked before the packet is dropped */
#define IP6_RA_MIN_MS 200000		/* unsolicited RAs: every 200..600 s, as libslirp */
#define IP6_RA_MAX_MS 600000
#define IP6_RA_LIFETIME 1800		/* router lifetime, s */
#define IP6_PREFIX_VALID 86400		/* prefix valid lifetime, s */
#define IP6_PREFIX_PREFERRED 14400	/* prefix preferred lifetime, s */
#define IP6_DNS_LIFETIME 1200		/* RDNSS/DNSSL lifetime, s: 2 x the longest RA interval */
#define IP6_HOP_LIMIT 64		/* hop limit of what the stack sends (NDP: 255) */
#define IP6_DNSSL_MAX 1024		/* bytes of the DNSSL names (an option holds at most 2040) */

/**
 * struct ndp_entry - a guest's IPv6 address and its MAC, learned like ARP
 * @ip:		the address (link-local or inside the prefix)
 * @mac:	its Ethernet address
 * @valid:	slot in use
 */
struct ndp_entry {
	struct in6_addr ip;
	uint8_t mac[6];
	bool valid;
};

/**
 * struct ip6_state - per stack IPv6 state
 * @e, @next:	neighbour table and the next slot to replace
 * @ra_timer:	unsolicited router advertisements
 * @rand:	xorshift state for the RA interval
 * @ra_started:	@ra_timer runs (from the guest's first IPv6 packet on)
 * @dns_ready:	[ipv6-dns] answers DNS over IPv6: RAs carry RDNSS (and DNSSL)
 * @rogue_warned: a guest sent an RA or a redirect (logged once)
 * @stats:	dropped and answered packets, for tests and fuzzers
 */
struct ip6_state {
	struct ndp_entry e[IP6_NDP_ENTRIES];
	unsigned next;
	struct stack_timer ra_timer;
	uint32_t rand;
	bool ra_started;
	bool dns_ready;
	bool rogue_warned;
	struct {
		uint64_t bad_ip6, bad_ext, bad_icmp6, bad_nd, rogue_nd, unsupported;
		uint64_t no_neigh, too_big, ra_sent, na_sent, ns_sent, echo_replied;
		uint64_t dhcp6_replied, bad_dhcp6, errors_sent;
	} stats;
};

void ip6_init(struct user_stack *s);
void ip6_fini(struct user_stack *s);

/**
 * ip6_input() - an IPv6 packet from the guest
 * @pkt:	the IPv6 header onwards (contiguous)
 * @len:	bytes after the Ethernet header (may include Ethernet padding)
 * @src_mac:	the sender's MAC (learned for the source address, as ARP does)
 */
void ip6_input(struct user_stack *s, const uint8_t *pkt, size_t len, const uint8_t *src_mac);

/**
 * stack_output_ip6() - send an IPv6 packet to the guest
 * @src, @dst:	addresses
 * @proto:	next header (the upper layer: the stack sends no extension headers)
 * @hlim:	hop limit
 * @l4:		upper-layer header + payload, checksum filled in (csum_pseudo6)
 *
 * Multicast destinations go to 33:33:xx:xx:xx:xx; a unicast destination must be
 * in the neighbour table (a neighbour solicitation goes out and the packet is
 * dropped otherwise). The source MAC is libslirp's 52:56 + the source address's
 * last four bytes. Packets longer than cfg.mtu are dropped (counted).
 * Return: 0 sent, 1 queued towards the guest (guest_busy), -1 dropped
 */
int stack_output_ip6(struct user_stack *s, const struct in6_addr *src, const struct in6_addr *dst,
		     uint8_t proto, uint8_t hlim, const struct iovec *l4, int l4cnt);

/* ip6_is_linklocal() - fe80::/10 */
static inline bool ip6_is_linklocal(const struct in6_addr *a)
{
	return a->s6_addr[0] == 0xfe && (a->s6_addr[1] & 0xc0) == 0x80;
}

/* ip6_is_unspec() - :: */
static inline bool ip6_is_unspec(const struct in6_addr *a)
{
	for (int i = 0; i < 16; i++)
		if (a->s6_addr[i])
			return false;
	return true;
}

/* ip6_is_ours() - @a is [ipv6-host], [ipv6-dns] or the link-local form of either */
bool ip6_is_ours(const struct user_stack *s, const struct in6_addr *a);
/* ip6_in_prefix() - @a lies inside [ipv6-prefix]/[ipv6-prefixlen] */
bool ip6_in_prefix(const struct user_stack *s, const struct in6_addr *a);
/* ndp_learn() / ndp_lookup() - the neighbour table (guests only: never the stack's own addresses) */
void ndp_learn(struct user_stack *s, const struct in6_addr *ip, const uint8_t *mac);
const uint8_t *ndp_lookup(struct user_stack *s, const struct in6_addr *ip);
/* ndp_start() - arm the unsolicited RA timer (once, at the guest's first IPv6 packet) */
void ndp_start(struct user_stack *s);
/* ndp_send_ra() - one router advertisement to ff02::1 from the router's link-local address */
void ndp_send_ra(struct user_stack *s);
/**
 * ndp_encode_dnssl() - @n domain names as RFC 1035 labels, uncompressed (RFC 8106 DNSSL)
 * Return: 0 with *@out (malloc'ed) and *@len set, -1 if a name is invalid or they need
 * more than IP6_DNSSL_MAX bytes
 */
int ndp_encode_dnssl(const char *const *names, int n, uint8_t **out, size_t *len);

/**
 * icmp6_error() - an ICMPv6 error about a guest packet, back to the guest (RFC 4443)
 * @type, @code, @param:	e.g. WIRE_ICMP6_PARAM_PROB, 0, the offset of the bad field
 * @orig, @orig_len:	the guest's packet from its IPv6 header (quoted up to 1280 bytes in all)
 * From the stack address the packet was sent to, else [ipv6-host]. Never about an ICMPv6
 * error, a multicast destination, or an unspecified or multicast source.
 */
void icmp6_error(struct user_stack *s, uint8_t type, uint8_t code, uint32_t param,
		 const uint8_t *orig, size_t orig_len);

/**
 * dhcp6_input() - a DHCPv6 message from the guest (UDP to port 547, @msg/@len its payload)
 * @src, @sport:	where the reply goes
 * Return: true (the datagram is consumed: answered, ignored or counted as malformed)
 */
bool dhcp6_input(struct user_stack *s, const struct in6_addr *src, uint16_t sport,
		 const uint8_t *msg, size_t len);

/**
 * icmp6_input() - an ICMPv6 message from the guest (the IPv6 header validated)
 * @ip:		the IPv6 header (for its addresses and hop limit)
 * @l4, @len:	the ICMPv6 message
 * @src_mac:	the frame's source MAC
 */
void icmp6_input(struct user_stack *s, const uint8_t *ip, const uint8_t *l4, size_t len,
		 const uint8_t *src_mac);

#endif /* QNET_IP6_H */
