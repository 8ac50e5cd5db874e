/* SPDX-License-Identifier: MIT */
/* arp.h - ARP for the virtual hosts, the guests' MAC table, frames held while resolving */
#ifndef QNET_ARP_H
#define QNET_ARP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "env.h"

#define ARP_ENTRIES 16
#define ARP_PENDING 16
#define ARP_HOLD_MS 1000

struct user_stack;

/**
 * struct arp_entry - a guest address and its MAC
 * @ip:		network order
 * @mac:	hardware address
 * @valid:	in use
 */
struct arp_entry {
	struct in_addr ip;
	uint8_t mac[6];
	bool valid;
};

/**
 * struct arp_pending - an IPv4 frame waiting for its destination MAC
 * @dst:	next hop (network order)
 * @since_ms:	when it was held (dropped after ARP_HOLD_MS)
 * @len:	frame bytes, 0 when the slot is free
 * @cap:	bytes allocated at @frame (allocated once, reused)
 * @frame:	the whole Ethernet frame; bytes 0-5 are filled in on resolution
 */
struct arp_pending {
	struct in_addr dst;
	uint64_t since_ms;
	size_t len;
	size_t cap;
	uint8_t *frame;
};

/**
 * struct arp_state - per stack
 * @e:		table, round-robin replacement (libslirp keeps 16 too)
 * @next:	next slot to replace
 * @p:		held frames
 * @timer:	expires held frames
 */
struct arp_state {
	struct arp_entry e[ARP_ENTRIES];
	int next;
	struct arp_pending p[ARP_PENDING];
	struct stack_timer timer;
};

void arp_init(struct user_stack *s);
void arp_fini(struct user_stack *s);
/* arp_input() - an ARP frame from the guest (whole frame) */
void arp_input(struct user_stack *s, const uint8_t *frame, size_t len);
/* arp_learn() - remember @mac for @ip (not 0.0.0.0 nor broadcasts); sends held frames */
void arp_learn(struct user_stack *s, struct in_addr ip, const uint8_t *mac);
/* arp_lookup() - the MAC for @ip, or NULL */
const uint8_t *arp_lookup(struct user_stack *s, struct in_addr ip);
/* arp_hold() - keep @frame until @dst resolves (and send an ARP request); 0 or -1 (full) */
int arp_hold(struct user_stack *s, struct in_addr dst, const uint8_t *frame, size_t len);
/* arp_is_virtual() - an address the stack answers ARP for (gateway, DNS, guestfwd targets) */
bool arp_is_virtual(struct user_stack *s, struct in_addr ip);

#endif /* QNET_ARP_H */
