/* SPDX-License-Identifier: MIT */
/* tcp.h - TCP NAT: guest connections translated onto host sockets (passt's model) */
#ifndef QNET_TCP_H
#define QNET_TCP_H

#include <netinet/in.h>
#include <netinet/ip.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "env.h"
#include "../core/util.h"

struct user_stack;
struct hostfwd;
struct guestfwd;

/*
 * The TCP module owns this header: keep the functions below, add state
 * fields as needed. Bounded connection table (TCP_CONNS_MAX), hash lookup.
 */
#define TCP_CONNS_MAX 131072
#define TCP_HASH_BUCKETS 65536		/* power of two */

struct tcp_conn;

/**
 * struct tcp_state - the TCP flows of one stack
 * @conns:	TCP_CONNS_MAX slots, allocated zeroed at init (pages are touched only as
 *		slots are used: @hwm grows, freed slots go to @free)
 * @nconns:	connections in use
 * @hwm:	slots ever used
 * @free:	free slots below @hwm
 * @hash:	TCP_HASH_BUCKETS chains, keyed by (guest addr, port, remote addr, port)
 * @timed:	circular list of connections with a deadline (the only ones the timer scans)
 * @firing:	@timed moved aside while the timer handler walks it
 * @acks:	circular list of connections owing the guest an ACK (sent after the batch)
 * @blocked:	circular list of connections paused while the path to the guest is busy
 * @timer:	fires at the earliest deadline of @timed
 * @defer:	sends the ACKs of @acks once per loop batch
 * @batch:	scratch for frames towards the guest (TCP_BATCH slots of @slot bytes)
 * @slot:	bytes per slot: header room + the largest segment payload (@seg_max)
 * @seg_max:	largest payload per segment the scratch holds
 * @tso_batch:	scratch for TSO frames (TCP_TSO_BATCH slots of TCP_TSO_SLOT bytes), allocated
 *		the first time the guest side takes TSO
 * @stage:	guest payload gathered for one connection during a batch of guest frames,
 *		written with one send() (TCP_STAGE_MAX bytes, allocated on first use)
 * @stage_len:	bytes in @stage
 * @stage_conn:	the connection they belong to, or NULL
 * @discard:	sink for bytes read only to skip them (TCP_DISCARD_MAX, allocated on first use)
 * @secret:	hash and initial sequence number key
 * @eport:	next ephemeral port for hostfwd clients without one (AF_UNIX)
 * @stats:	counters (tests and debugging)
 */
struct tcp_state {
	struct tcp_conn *conns;
	unsigned nconns;
	unsigned hwm;
	struct tcp_conn *free;
	struct tcp_conn **hash;
	struct tcp_conn *timed, *firing, *acks, *blocked;
	struct stack_timer timer;
	struct stack_defer defer;
	uint8_t *batch;
	size_t slot;
	size_t seg_max;
	uint8_t *tso_batch;
	uint8_t *stage;
	size_t stage_len;
	struct tcp_conn *stage_conn;
	uint8_t *discard;
	uint32_t secret[4];
	uint16_t eport;
	struct {
		uint64_t rst_sent, retransmits, bad, full, out_of_order, partial_writes, tso_frames;
	} stats;
};

void tcp_init(struct user_stack *s);
void tcp_fini(struct user_stack *s);
/* tcp4_input() - a TCP segment from the guest */
void tcp4_input(struct user_stack *s, const struct iphdr *ip, const uint8_t *l4, size_t len);
/* tcp6_input() - TCP over IPv6 from the guest (@ip: the IPv6 header, validated) */
void tcp6_input(struct user_stack *s, const uint8_t *ip, const uint8_t *l4, size_t len);
/**
 * tcp_hostfwd_accept() - a host client connected to a TCP hostfwd listener
 * @fd:		the accepted socket (non-blocking); the TCP module owns it now
 * @peer:	the client's address (loopback clients appear to the guest as the gateway)
 */
void tcp_hostfwd_accept(struct user_stack *s, struct hostfwd *hf, int fd,
			const struct sockaddr_storage *peer, socklen_t peerlen);
/* tcp_guest_resumed() - the path to the guest has room again */
void tcp_guest_resumed(struct user_stack *s);
/* tcp_info_usernet() - rows for info usernet ("  TCP[ESTABLISHED]" ...) */
void tcp_info_usernet(struct user_stack *s, struct sbuf *out);
/* tcp_count() - open connections (tests check for leaks) */
unsigned tcp_count(const struct user_stack *s);

#endif /* QNET_TCP_H */
