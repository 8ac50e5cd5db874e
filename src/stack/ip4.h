/* SPDX-License-Identifier: MIT */
/* ip4.h - IPv4 input (validation, reassembly) */
#ifndef QNET_IP4_H
#define QNET_IP4_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/types.h>

#include "env.h"

#define IP4_REASS_SLOTS 16		/* datagrams being reassembled at once */
#define IP4_REASS_MAX 65535		/* bytes of one reassembled datagram */
#define IP4_REASS_TIMEOUT_MS 30000	/* libslirp: ~30 s */
#define IP4_REASS_HOLES 64		/* fragments per datagram */

struct user_stack;

/**
 * struct ip4_reass - one datagram being reassembled
 * @src, @dst, @id, @proto:	the key (RFC 791)
 * @hdr:			first fragment's IP header (options dropped)
 * @buf:			payload, IP4_REASS_MAX bytes, allocated once per slot
 * @have:			payload bytes received (without overlaps)
 * @total:			payload length once the last fragment arrived, else 0
 * @nfrag:			fragments received
 * @ranges:			received [start, end) ranges, sorted; used to refuse overlaps
 * @since_ms:			first fragment's arrival
 * @used:			slot in use
 */
struct ip4_reass {
	struct in_addr src, dst;
	uint16_t id;
	uint8_t proto;
	uint8_t hdr[20];
	uint8_t *buf;
	size_t have, total;
	unsigned nfrag;
	struct { uint32_t start, end; } ranges[IP4_REASS_HOLES];
	uint64_t since_ms;
	bool used;
};

struct ip4_state {
	struct ip4_reass r[IP4_REASS_SLOTS];
	struct stack_timer timer;
	uint16_t next_id;
};

void ip4_init(struct user_stack *s);
void ip4_fini(struct user_stack *s);
/**
 * ip4_input() - an IPv4 packet from the guest
 * @pkt:	the IP header onwards (Ethernet header stripped)
 * @len:	bytes after the Ethernet header (may include Ethernet padding)
 * @src_mac:	the sender's MAC (learned for the source address)
 */
void ip4_input(struct user_stack *s, const uint8_t *pkt, size_t len, const uint8_t *src_mac);

#endif /* QNET_IP4_H */
