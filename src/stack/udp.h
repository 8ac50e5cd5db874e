/* SPDX-License-Identifier: MIT */
/* udp.h - UDP NAT from guest flows to host sockets, UDP hostfwd */
#ifndef QNET_UDP_H
#define QNET_UDP_H

#include <netinet/in.h>
#include <netinet/ip.h>
#include <stddef.h>
#include <stdint.h>

#include "env.h"
#include "../core/util.h"

struct user_stack;
struct hostfwd;

/*
 * The UDP module owns this header: keep the functions below, add state
 * fields as needed. One host socket per guest (addr, port) as libslirp
 * (full cone), 240 s expiry, 10 s after a DNS reply; bounded flow count.
 */
#define UDP_FLOWS_MAX 4096
#define UDP_EXPIRE_MS 240000
#define UDP_EXPIRE_DNS_MS 10000

struct udp_flow;

#define UDP_HASH_SIZE 8192		/* buckets, power of two, 2 per flow */
#define UDP_RECV_BATCH 8		/* datagrams per recvmmsg() */
#define UDP_RECV_BUDGET 64		/* datagrams read per socket per wakeup */
#define UDP_DGRAM_MAX 65536		/* receive buffer per datagram */

/**
 * struct udp_state - per stack UDP NAT state
 * @flows:	UDP_FLOWS_MAX slots, allocated at init
 * @nflows:	slots in use
 * @timer:	expiry, armed for the earliest expiry (at most once a second)
 * @hash:	UDP_HASH_SIZE bucket heads (flow index or -1)
 * @free:	free slot list head (-1 when full)
 * @lru_head, @lru_tail: used slots, most recently used first
 * @nhostfwd:	flows that belong to a UDP hostfwd (lookup shortcut)
 * @npaused:	flows whose socket reading is paused (guest_busy)
 * @rxbuf:	UDP_RECV_BATCH * UDP_DGRAM_MAX bytes, allocated on first use
 * @stats_evicted: flows evicted because the table was full
 * @seed:	this instance's hash seed (random)
 */
struct udp_state {
	struct udp_flow *flows;
	unsigned nflows;
	struct stack_timer timer;
	int32_t *hash;
	int32_t free;
	int32_t lru_head, lru_tail;
	unsigned nhostfwd;
	unsigned npaused;
	uint8_t *rxbuf;
	uint64_t stats_evicted;
	uint32_t seed;
};

void udp_init(struct user_stack *s);
void udp_fini(struct user_stack *s);
/**
 * udp4_input() - UDP from the guest. DHCP (port 67 to the gateway or
 * broadcast) goes to dhcp_input() first, before the restrict check; DNS to
 * cfg.dns:53 is translated to the resolver (dns.h).
 */
void udp4_input(struct user_stack *s, const struct iphdr *ip, const uint8_t *l4, size_t len);
/* udp4_output() - send a datagram to the guest (builds the UDP header and checksum) */
int udp4_output(struct user_stack *s, struct in_addr src, uint16_t sport, struct in_addr dst,
		uint16_t dport, const void *payload, size_t len);
/**
 * udp6_input() - UDP over IPv6 from the guest (@ip: the IPv6 header, validated; @l4/@len the
 * datagram): NAT through an IPv6 host socket; [ipv6-dns]:53 goes to the resolver (either family),
 * the rest of the prefix to ::1. Dropped entirely under restrict=on (libslirp).
 */
void udp6_input(struct user_stack *s, const uint8_t *ip, const uint8_t *l4, size_t len);
/* udp6_output() - send a datagram to the guest over IPv6 (UDP header and checksum built here) */
int udp6_output(struct user_stack *s, const struct in6_addr *src, uint16_t sport,
		const struct in6_addr *dst, uint16_t dport, const void *payload, size_t len);
/* udp_guest_resumed() - the path to the guest has room again: resume reading sockets */
void udp_guest_resumed(struct user_stack *s);
/* udp_hostfwd_readable() - a UDP hostfwd socket has datagrams for the guest */
void udp_hostfwd_readable(struct user_stack *s, struct hostfwd *hf);
/* udp_hostfwd_removed() - a hostfwd is going away: drop flows that use its socket */
void udp_hostfwd_removed(struct user_stack *s, struct hostfwd *hf);
/* udp_info_usernet() - rows for info usernet ("  UDP[236 sec]" ...) */
void udp_info_usernet(struct user_stack *s, struct sbuf *out);
/* udp_guest_resumed() - the path to the guest has room again: resume reading paused sockets */
void udp_guest_resumed(struct user_stack *s);
/* udp_age() - for tests: make every flow @ms older, then expire what is due */
void udp_age(struct user_stack *s, uint64_t ms);

#endif /* QNET_UDP_H */
