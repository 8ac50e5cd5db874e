/* SPDX-License-Identifier: MIT */
/* stack.h - the user-mode network stack (-netdev user): one instance per netdev */
#ifndef QNET_STACK_H
#define QNET_STACK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "../core/loop.h"
#include "../core/net.h"

/*
 * DOC: Theory of operation
 *
 * A `user` netdev is a net client whose receive() takes whole Ethernet frames
 * from the guest(s) and whose output goes back through net_send(). Behind it
 * sit the virtual hosts of QEMU's user networking (gateway 10.0.2.2, DNS
 * 10.0.2.3, guestfwd addresses) and a translator from guest flows to host
 * sockets (passt's model: no second TCP stack, data stays in the kernel's
 * socket buffers until the guest acknowledges it).
 *
 * Frame path from the guest: stack_receive() -> eth: arp_input() or
 * ip4_input() (validation, reassembly) -> icmp4_input() / udp4_input() /
 * tcp4_input(). DHCP, DNS and forwarding hook into udp/tcp input.
 * Path to the guest: protocol code builds an L4 payload and calls
 * stack_output_ip4(), which adds the IP header, fragments to the MTU,
 * resolves the guest MAC (ARP, frames held briefly while resolving) and
 * sends the frame.
 *
 * All state is per instance (struct user_stack): several user netdevs in one
 * process are independent. Flow keys carry IPv4-mapped IPv6 addresses
 * (union inany) so that IPv6 slots into the same tables later.
 *
 * Each protocol module owns its own state struct, embedded below, and its
 * own header. Every table is bounded (leases, ARP entries, flows,
 * fragments, pending frames).
 */

/* union inany - an IPv6 address, or an IPv4 one mapped as ::ffff:a.b.c.d */
union inany {
	struct in6_addr a6;
	struct {
		uint8_t zero[10];
		uint8_t one[2];
		struct in_addr a4;
	} v4;
};

static inline void inany_from_v4(union inany *a, struct in_addr a4)
{
	for (int i = 0; i < 10; i++)
		a->v4.zero[i] = 0;
	a->v4.one[0] = a->v4.one[1] = 0xff;
	a->v4.a4 = a4;
}

#include "arp.h"
#include "dhcp.h"
#include "dns.h"
#include "fwd.h"
#include "icmp.h"
#include "ip4.h"
#include "tcp.h"
#include "udp.h"

#define STACK_MTU_DEFAULT 1500
#define STACK_MTU_MIN 68
#define STACK_MTU_MAX 65520
/* largest frame the stack builds: MTU + Ethernet header */
#define STACK_FRAME_MAX (STACK_MTU_MAX + 14)

/**
 * struct stack_cfg - what the options of -netdev user set (network byte order addresses)
 * @ipv4, @ipv6:	families enabled (QEMU's rules for ipv4=/ipv6=)
 * @restricted:		restrict=on
 * @net, @mask:		guest network (10.0.2.0/255.255.255.0)
 * @host:		gateway / host alias (10.0.2.2)
 * @dns:		DNS alias (10.0.2.3)
 * @dhcp_start:		first lease (10.0.2.15)
 * @guestfwd_default:	default guestfwd/smb address (10.0.2.4)
 * @hostname:		DHCP option 12, or NULL
 * @domainname:		DHCP option 15, or NULL
 * @dnssearch:		DHCP option 119 payload, RFC 1035 labels compressed (RFC 3397),
 *			or NULL; split into 255-byte options when sent (RFC 3396)
 * @dnssearch_len:	bytes in @dnssearch
 * @mtu:		interface MTU (qnet's mtu= option), 1500 default
 * @mtu_set:		mtu= was given (then DHCP sends option 26)
 * @resolv_conf:	resolver file (qnet's resolv-conf= option), /etc/resolv.conf default
 */
struct stack_cfg {
	bool ipv4, ipv6, restricted;
	struct in_addr net, mask, host, dns, dhcp_start, guestfwd_default;
	char *hostname;
	char *domainname;
	uint8_t *dnssearch;
	size_t dnssearch_len;
	unsigned mtu;
	bool mtu_set;
	char *resolv_conf;
};

/**
 * struct user_stack - one -netdev user instance
 * @nc:		the net client (first member)
 * @cfg:	configuration
 * @gw_mac:	MAC of the virtual hosts: 52:55 + the gateway's IPv4 address
 * @hubid:	hub the netdev sits on (-1 if none), for info usernet
 * @arp:	ARP table and frames waiting for resolution
 * @ip4:	fragment reassembly
 * @dhcp:	leases
 * @dns:	the host resolver (from @cfg.resolv_conf)
 * @icmp:	ICMP echo flows
 * @udp:	UDP flows
 * @tcp:	TCP flows
 * @fwd:	hostfwd and guestfwd rules
 * @guest_busy:	the last frame towards the guest was queued: flows should hold off
 * @stats:	per-protocol counters of dropped guest input (for tests and info)
 * @next_stack:	list of every user netdev
 * @rx_flush:	delivers guest frames that arrived while the stack was sending
 * @frame_pad, @rx_pad: alignment only
 * @frame:	scratch buffer for one outgoing frame
 * @rx:		a guest frame made contiguous (and its IP header aligned) when needed
 */
struct user_stack {
	struct net_client nc;
	struct stack_cfg cfg;
	uint8_t gw_mac[6];
	int hubid;
	struct arp_state arp;
	struct ip4_state ip4;
	struct dhcp_state dhcp;
	struct dns_state dns;
	struct icmp_state icmp;
	struct udp_state udp;
	struct tcp_state tcp;
	struct fwd_state fwd;
	bool guest_busy;
	struct {
		uint64_t bad_eth, bad_arp, bad_ip, bad_l4, restricted;
	} stats;
	struct user_stack *next_stack;
	struct loop_defer rx_flush;
	/* frame + 14 (the IP header) and rx + 14 are 8-byte aligned */
	uint8_t frame_pad[2] __attribute__((aligned(8)));
	uint8_t frame[STACK_FRAME_MAX];
	uint8_t rx_pad[2] __attribute__((aligned(8)));
	uint8_t rx[NET_BUFSIZE];
};

extern const struct netdev_type netdev_user;

/* stack_in_net() - @a (network order) lies inside the guest network */
static inline bool stack_in_net(const struct user_stack *s, struct in_addr a)
{
	return (a.s_addr & s->cfg.mask.s_addr) == s->cfg.net.s_addr;
}

/**
 * stack_output_ip4() - send an IPv4 packet to the guest
 * @src, @dst:	addresses (network order)
 * @proto:	IPPROTO_*
 * @tos:	type of service
 * @l4:		L4 header + payload, checksums already filled in (see csum.h)
 * @len:	bytes in @l4
 *
 * Adds the IP header (TTL 64, DF clear), fragments to cfg.mtu, resolves the
 * destination MAC (broadcast for 255.255.255.255 and the subnet broadcast),
 * holding the packet while an ARP request goes out if the MAC is unknown.
 * Return: 0 sent, 1 queued towards the guest (guest_busy), -1 dropped
 */
int stack_output_ip4(struct user_stack *s, struct in_addr src, struct in_addr dst, uint8_t proto,
		     uint8_t tos, const struct iovec *l4, int l4cnt);

/* bytes an in-place packet needs in front of its L4 header: Ethernet + IPv4 */
#define STACK_HEADROOM (14 + 20)

/**
 * stack_output_ip4_hr() - stack_output_ip4() for one contiguous L4 buffer, without copying it
 * @l4:		L4 header + payload, with STACK_HEADROOM writable bytes before it and room
 *		after it up to ETH_ZLEN frame bytes (short frames are padded in place)
 *
 * Writes the Ethernet and IP headers in front of @l4 and sends the frame from there. Packets
 * that need fragmenting, or whose destination MAC is still unknown, take stack_output_ip4()'s
 * path. Same results as stack_output_ip4().
 */
int stack_output_ip4_hr(struct user_stack *s, struct in_addr src, struct in_addr dst,
			uint8_t proto, uint8_t tos, uint8_t *l4, size_t len);

/* stack_send_eth() - send one frame (dst MAC, gateway MAC as source, @type, payload) */
int stack_send_eth(struct user_stack *s, const uint8_t *dst_mac, uint16_t type,
		   const struct iovec *iov, int iovcnt);

/* stack_first() / stack_next() - every user netdev, for info usernet and hostfwd_add */
struct user_stack *stack_first(void);
struct user_stack *stack_next(struct user_stack *s);

/* stack_info_usernet() - QEMU's `info usernet` for one stack */
void stack_info_usernet(struct user_stack *s, struct sbuf *out);

/* stack_guest_resumed() - frames queued towards the guest left the queue: flows may go on */
void stack_guest_resumed(struct user_stack *s);

#endif /* QNET_STACK_H */
