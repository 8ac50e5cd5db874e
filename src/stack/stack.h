/* SPDX-License-Identifier: MIT */
/* stack.h - the user-mode network stack, a library: one instance per -netdev user (or per embedder) */
#ifndef QNET_STACK_H
#define QNET_STACK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/uio.h>

#include "../core/util.h"
#include "env.h"

/*
 * DOC: Theory of operation
 *
 * The user-mode network stack is a library: behind one Ethernet link sit the
 * virtual hosts of QEMU's user networking (gateway 10.0.2.2, DNS 10.0.2.3,
 * guestfwd addresses) and a translator from guest flows to host sockets
 * (passt's model: no second TCP stack, data stays in the kernel's socket
 * buffers until the guest acknowledges it).
 *
 * Frame path from the guest: stack_input() -> eth: arp_input() or
 * ip4_input() (validation, reassembly) -> icmp4_input() / udp4_input() /
 * tcp4_input(). DHCP, DNS and forwarding hook into udp/tcp input.
 * Path to the guest: protocol code builds an L4 payload and calls
 * stack_output_ip4(), which adds the IP header, fragments to the MTU,
 * resolves the guest MAC (ARP, frames held briefly while resolving) and
 * sends the frame through env->send.
 *
 * All state is per instance (struct user_stack): several stacks in one
 * process are independent, and the library owns no globals. Flow keys carry
 * IPv4-mapped IPv6 addresses (union inany) so that IPv6 slots into the same
 * tables later. Each protocol module owns its own state struct, embedded
 * below, and its own header. Every table is bounded (leases, ARP entries,
 * flows, fragments, pending frames).
 */

/*
 * DOC: The library API (what a host program implements and calls)
 *
 * stack_cfg_default() fills a struct stack_cfg with QEMU's defaults; the host
 * changes what it wants and calls stack_new(cfg, env, opaque, e) (the config
 * is copied). struct stack_env holds the host's callbacks, each called with
 * @opaque:
 *
 *  send(opaque, iov, iovcnt, meta)	one frame to the guest(s), net_send()'s
 *	contract: >0 sent, 0 queued (the host calls stack_guest_resumed() when
 *	its queue drains), <0 dropped. @meta is NULL for now (plain frames).
 *  clock_ns(opaque)			monotonic time in ns; the stack's only clock.
 *  timer_arm(opaque, deadline_ms)	the host calls stack_timers_run() once
 *	clock_ns() / 1e6 >= @deadline_ms; STACK_NO_DEADLINE cancels. The
 *	stack keeps its own timers (embedded struct stack_timer, no
 *	allocation) and asks for one wake-up: the earliest deadline. This maps
 *	onto one loop_timer (qnet) or one timer_new_opaque/timer_mod (libslirp).
 *  fd_add / fd_mod / fd_del(opaque, h)	watch h->fd for h->events (epoll bits:
 *	EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLET; a poll(2) host maps them to
 *	POLLIN...: same values; EPOLLET means the stack reads until EAGAIN and
 *	clears EPOLLIN itself when it must stop). When h->fd is ready the host
 *	calls stack_fd_event(h, revents). h->env is storage the host may use for
 *	its own per-fd handle (qnet's loop keeps a struct loop_fd there). A
 *	handler may delete any handle, including handles whose events are
 *	pending in the same batch: the host must drop those events.
 *  defer(opaque)			the host calls stack_flush() once after the
 *	current batch of events (batching: delayed ACKs and the like).
 *  event(opaque, name, fields, n)	something happened (DHCP_LEASE...), as a
 *	name and plain data (core/event.h).
 *
 * Entries the host calls: stack_input() (a frame from the guest; never
 * re-entered from send: a host that loops frames back must queue them),
 * stack_timers_run(), stack_fd_event(), stack_flush(), stack_guest_resumed(),
 * stack_announce() (RARP, announce-self), stack_info_usernet(), the hostfwd
 * and guestfwd entries of fwd.h, and stack_free(). s->guest_offloads
 * (NET_OFF_* of core/frame.h) is what the guest side accepts; the host sets it.
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
#include "ip6.h"
#include "tcp.h"
#include "tftp.h"
#include "udp.h"

#define STACK_MTU_DEFAULT 1500
#define STACK_MTU_MIN 68
#define STACK_MTU_MAX 65520
/* largest frame the stack builds: MTU + Ethernet header */
#define STACK_FRAME_MAX (STACK_MTU_MAX + 14)
/* largest frame the stack takes from the guest (QEMU's NET_BUFSIZE) */
#define STACK_RX_MAX (4096 + 65536)

/**
 * struct stack_cfg - what the options of -netdev user set (network byte order addresses)
 * @name:		the instance's name in events and info (the netdev id), or NULL
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
 * @no_host_loopback:	no flows to the host's loopback (the gateway alias, 127/8)
 * @no_dns:		no DNS forwarding on the DNS alias
 * @no_dhcp:		no DHCP server (requests are dropped)
 *			(the last three: libslirp's disable_host_loopback/dns/dhcp)
 * @tftp_root:		tftp= directory served read-only on UDP 69 at @host, or NULL
 * @bootfile:		bootfile=: BOOTP file field and DHCP option 67, or NULL
 * @tftp_server_name:	tftp-server-name=: DHCP option 66, or NULL
 * @prefix6, @prefixlen6: IPv6 prefix (fec0::/64)
 * @host6:		IPv6 router / host alias (fec0::2)
 * @dns6:		IPv6 DNS alias (fec0::3)
 * @dnssl:		the dnssearch names as uncompressed labels (RA DNSSL, RFC 8106), or NULL
 * @dnssl_len:		bytes in @dnssl (at most IP6_DNSSL_MAX)
 */
struct stack_cfg {
	char *name;
	bool ipv4, ipv6, restricted;
	struct in_addr net, mask, host, dns, dhcp_start, guestfwd_default;
	char *hostname;
	char *domainname;
	uint8_t *dnssearch;
	size_t dnssearch_len;
	unsigned mtu;
	bool mtu_set;
	char *resolv_conf;
	bool no_host_loopback, no_dns, no_dhcp;
	char *tftp_root;
	char *bootfile;
	char *tftp_server_name;
	struct in6_addr prefix6, host6, dns6;
	unsigned prefixlen6;
	uint8_t *dnssl;
	size_t dnssl_len;
};

/**
 * struct user_stack - one stack instance (one -netdev user)
 * @cfg:	configuration (a copy owned by the stack)
 * @env:	the host's callbacks
 * @opaque:	passed to every callback
 * @guest_offloads: NET_OFF_* the guest side accepts (set by the host): with NET_OFF_CSUM the
 *		stack leaves TCP checksums to the receiver, with NET_OFF_TSO4 too it sends
 *		up to 64 KiB TCP segments in one frame (stack_output_ip4_hr()'s @meta)
 * @rx_csum_ok:	the guest frame being processed has verified or partial checksums
 *		(NET_META_F_DATA_VALID / NEEDS_CSUM, not a fragment): L4 checksums are not checked
 * @gw_mac:	MAC of the virtual hosts: 52:55 + the gateway's IPv4 address
 * @arp:	ARP table and frames waiting for resolution
 * @ip4:	fragment reassembly
 * @ip6:	neighbour table, router advertisements, IPv6 counters
 * @dhcp:	leases
 * @dns:	the host resolver (from @cfg.resolv_conf)
 * @icmp:	ICMP echo flows
 * @udp:	UDP flows
 * @tcp:	TCP flows
 * @tftp:	TFTP transfers
 * @fwd:	hostfwd and guestfwd rules
 * @guest_busy:	the last frame towards the guest was queued: flows should hold off
 * @stats:	per-protocol counters of dropped guest input (for tests and info)
 * @timers:	armed timers, soonest first
 * @timer_pass:	counts stack_timers_run() calls
 * @timer_wake:	deadline last asked of env->timer_arm
 * @defer_head, @defer_tail: work for the next stack_flush()
 * @frame_pad, @rx_pad: alignment only
 * @frame:	scratch buffer for one outgoing frame
 * @rx:		a guest frame made contiguous (and its IP header aligned) when needed
 */
struct user_stack {
	struct stack_cfg cfg;
	struct stack_env env;
	void *opaque;
	uint32_t guest_offloads;
	bool rx_csum_ok;
	uint8_t gw_mac[6];
	struct arp_state arp;
	struct ip4_state ip4;
	struct ip6_state ip6;
	struct dhcp_state dhcp;
	struct dns_state dns;
	struct icmp_state icmp;
	struct udp_state udp;
	struct tcp_state tcp;
	struct tftp_state tftp;
	struct fwd_state fwd;
	bool guest_busy;
	struct {
		uint64_t bad_eth, bad_arp, bad_ip, bad_l4, restricted, not_ours;
	} stats;
	struct stack_timer *timers;
	unsigned timer_pass;
	uint64_t timer_wake;
	struct stack_defer *defer_head, *defer_tail;
	/* frame + 14 (the IP header) and rx + 14 are 8-byte aligned */
	uint8_t frame_pad[2] __attribute__((aligned(8)));
	uint8_t frame[STACK_FRAME_MAX];
	uint8_t rx_pad[2] __attribute__((aligned(8)));
	uint8_t rx[STACK_RX_MAX];
};

/* stack_cfg_default() - QEMU's defaults: 10.0.2.0/24, host .2, DNS .3, DHCP from .15, MTU 1500 */
void stack_cfg_default(struct stack_cfg *c);
/* stack_cfg_check() - the address rules of QEMU's -netdev user (its error texts); 0 or -1 */
int stack_cfg_check(const struct stack_cfg *c, struct error *e);
/* stack_cfg_free() - the strings of a config filled by the host */
void stack_cfg_free(struct stack_cfg *c);

/**
 * stack_new() - a stack instance
 * @cfg:	configuration, copied (strings included)
 * @env:	the host's callbacks, copied (see the DOC block above)
 * @opaque:	passed to every callback
 * Return: the stack, or NULL with @e set
 */
struct user_stack *stack_new(const struct stack_cfg *cfg, const struct stack_env *env,
			     void *opaque, struct error *e);
/* stack_free() - close every flow, socket and listener; no callback but fd_del runs after it */
void stack_free(struct user_stack *s);

/* stack_input() - one frame from the guest (@meta: ignored for now); never fails, drops and counts */
void stack_input(struct user_stack *s, const struct iovec *iov, int iovcnt,
		 const struct net_meta *meta);
/* stack_timers_run() - run the timers that are due (call when env->timer_arm's deadline came) */
void stack_timers_run(struct user_stack *s);
/* stack_fd_event() - the host saw @events on h->fd */
static inline void stack_fd_event(struct stack_fd *h, uint32_t events)
{
	h->cb(h, events);
}
/* stack_flush() - deferred work (after env->defer); the host calls it after its batch */
void stack_flush(struct user_stack *s);
/* stack_announce() - one RARP (QEMU's announce-self frame) from the gateway MAC, broadcast */
void stack_announce(struct user_stack *s);
/* stack_name() - cfg.name, or "user" */
const char *stack_name(const struct user_stack *s);
/* stack_event() - report @name with @n fields through env->event */
void stack_event(struct user_stack *s, const char *name, const struct event_field *f, int n);

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
/**
 * stack_output_ip4_meta() - stack_output_ip4_hr() for a frame with offload metadata
 * @meta:	what the guest side accepts (s->guest_offloads): a partial checksum, or a TSO
 *		frame larger than the MTU that the receiver (or the core, for receivers that
 *		cannot take it) segments; csum_start and hdr_len are filled in here
 * Without a known destination MAC the checksum is completed here and the packet takes
 * stack_output_ip4()'s path.
 */
int stack_output_ip4_meta(struct user_stack *s, struct in_addr src, struct in_addr dst,
			  uint8_t proto, uint8_t *l4, size_t len, struct net_meta *meta);

/* stack_send_eth() - send one frame (dst MAC, gateway MAC as source, @type, payload) */
int stack_send_eth(struct user_stack *s, const uint8_t *dst_mac, uint16_t type,
		   const struct iovec *iov, int iovcnt);

/* stack_info_usernet() - QEMU's `info usernet` for one stack, after its "Hub N (id):" line */
void stack_info_usernet(struct user_stack *s, struct sbuf *out);

/* stack_guest_resumed() - frames queued towards the guest left the host's queue: flows go on */
void stack_guest_resumed(struct user_stack *s);

#endif /* QNET_STACK_H */
