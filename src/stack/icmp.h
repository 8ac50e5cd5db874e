/* SPDX-License-Identifier: MIT */
/* icmp.h - ICMP: echo answered for the virtual hosts, forwarded through ping sockets, errors */
#ifndef QNET_ICMP_H
#define QNET_ICMP_H

#include <netinet/in.h>
#include <netinet/ip.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "env.h"
#include "../core/util.h"

struct user_stack;

/*
 * The ICMP module owns this header: keep the functions below, add state
 * fields as needed (bounded: a fixed maximum of echo flows).
 */
#define ICMP_FLOWS_MAX 256
#define ICMP_EXPIRE_MS 240000	/* libslirp: one socket per echo, 240 s expiry */

struct icmp_flow;

#define ICMP_QUOTE_MAX 576		/* RFC 1812 4.3.2.3: error datagram size cap */
#define ICMP_RECV_MAX 65536		/* receive buffer for one reply */
#define ICMP_RECV_BUDGET 16		/* replies read per socket per wakeup */

/**
 * struct icmp_state - per stack ICMP state
 * @flows:		ICMP_FLOWS_MAX slots, allocated at init
 * @nflows:		slots in use
 * @timer:		expiry
 * @stats_sent:		echo requests forwarded to the host
 * @stats_replied:	echo replies delivered to the guest (local and forwarded)
 * @stats_errors:	ICMP errors sent to the guest
 * @rxbuf:		ICMP_RECV_MAX bytes, allocated on first use
 * @raw_warned:		no ICMP socket could be opened (logged once)
 */
struct icmp_state {
	struct icmp_flow *flows;
	unsigned nflows;
	struct stack_timer timer;
	uint64_t stats_sent, stats_replied, stats_errors;
	uint8_t *rxbuf;
	bool raw_warned;
};

/**
 * struct icmp_sockerr - an ICMP error read from a socket's error queue (IP_RECVERR)
 * @type, @code:	ICMP type and code as the host received them
 * @offender:		the host that reported it (network order), 0.0.0.0 if unknown
 * @dst:		the original datagram's destination (address and port/echo id)
 * @len:		bytes of the original payload (after the L4 header for UDP) copied out
 */
struct icmp_sockerr {
	uint8_t type, code;
	struct in_addr offender;
	struct sockaddr_in dst;
	size_t len;
};

void icmp_init(struct user_stack *s);
void icmp_fini(struct user_stack *s);
/* icmp4_input() - ICMP from the guest (@ip validated, @l4/@len the ICMP message) */
void icmp4_input(struct user_stack *s, const struct iphdr *ip, const uint8_t *l4, size_t len);
/**
 * icmp4_error() - send an ICMP error about a guest packet back to the guest
 * @type, @code:	ICMP_DEST_UNREACH/ICMP_PORT_UNREACH, ICMP_TIME_EXCEEDED...
 * @orig:		the guest's IP packet that caused it (header + at least 8 bytes)
 * @orig_len:		its length (quoted up to 576 bytes total, RFC 1812)
 * @src:		source address of the error (the gateway, or the host that reported it)
 * Never sent about ICMP errors, fragments other than the first, or broadcasts (RFC 1122).
 */
void icmp4_error(struct user_stack *s, uint8_t type, uint8_t code, const uint8_t *orig,
		 size_t orig_len, struct in_addr src);
/* icmp_info_usernet() - rows for info usernet */
void icmp_info_usernet(struct user_stack *s, struct sbuf *out);
/**
 * icmp_sock_errqueue() - read one message from @fd's error queue (MSG_ERRQUEUE)
 * @e:		filled for an ICMP-originated error
 * @buf, @cap:	receives the quoted original payload
 * Return: 1 an ICMP error (@e set), 0 another kind of error (local: skip it), -1 queue empty
 */
int icmp_sock_errqueue(int fd, struct icmp_sockerr *e, void *buf, size_t cap);
/* icmp_age() - for tests: make every echo flow @ms older, then expire what is due */
void icmp_age(struct user_stack *s, uint64_t ms);

#endif /* QNET_ICMP_H */
