/* SPDX-License-Identifier: MIT */
/* dhcp.h - the DHCP server of the user stack */
#ifndef QNET_DHCP_H
#define QNET_DHCP_H

#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/util.h"

struct user_stack;

#define DHCP_LEASES 16
#define DHCP_LEASE_TIME 86400	/* seconds, as libslirp */

/**
 * struct dhcp_lease - one address of the pool (cfg.dhcp_start + index)
 * @mac:	owner
 * @used:	allocated
 * @expires_ms:	stack_now_ms(s) time the lease ends (renewals extend it)
 */
struct dhcp_lease {
	uint8_t mac[6];
	bool used;
	uint64_t expires_ms;
};

struct dhcp_state {
	struct dhcp_lease leases[DHCP_LEASES];
};

/**
 * dhcp_input() - a datagram to UDP port 67 (gateway or broadcast) from the guest
 * @payload/@len:	the BOOTP message (UDP payload)
 * Return: true if it was handled (or dropped as malformed)
 */
bool dhcp_input(struct user_stack *s, const struct iphdr *ip, const struct udphdr *uh,
		const uint8_t *payload, size_t len);
/* dhcp_first_lease() - address of the first allocated lease (for hostfwd default), or dhcp_start */
struct in_addr dhcp_first_lease(struct user_stack *s);
/* dhcp_lease_get() - pool entry @i: 1 and its address, MAC and ms left if live, else 0 */
int dhcp_lease_get(struct user_stack *s, int i, struct in_addr *ip, uint8_t *mac,
		   uint64_t *left_ms);
/* dhcp_info() - "ip mac expires" lines (for the monitor) */
void dhcp_info(struct user_stack *s, struct sbuf *out);
/**
 * dhcp_encode_search() - RFC 1035 labels for a list of domains, compressed per RFC 3397
 * Return: 0 with *out malloc'd (*outlen bytes), or -1 if a domain is invalid
 */
int dhcp_encode_search(const char *const *domains, int n, uint8_t **out, size_t *outlen);

#endif /* QNET_DHCP_H */
