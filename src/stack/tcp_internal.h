/* SPDX-License-Identifier: MIT */
/* tcp_internal.h - what tcp.c (state, input, set-up), tcp_out.c (towards the guest) and
 * tcp_timer.c (timers) share: constants, the connection and segment structs, and the functions
 * each file offers the others. Not part of the stack's API. */
#ifndef QNET_TCP_INTERNAL_H
#define QNET_TCP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/wire.h"
#include "stack.h"

#define TCP_FIN WIRE_TCP_FIN
#define TCP_SYN WIRE_TCP_SYN
#define TCP_RST WIRE_TCP_RST
#define TCP_PSH WIRE_TCP_PSH
#define TCP_ACK WIRE_TCP_ACK

#define TCP_HDR_ROOM 64			/* TCP header with options, room before payload */
_Static_assert(TCP_HDR_ROOM - 20 >= STACK_HEADROOM, "batch slots hold Ethernet + IP headers");
#define TCP_BATCH 16			/* segments read from a socket per recvmsg() */
#define TCP_TSO_BATCH 4			/* TSO frames read per recvmsg() */
#define TCP_TSO_MAX (65535 - 20 - 20)	/* payload of one TSO frame: one IPv4 datagram */
#define TCP_TSO_SLOT (TCP_HDR_ROOM + 65536)
#define TCP_MSS_DFL 536		/* RFC 9293 3.7.1 */
#define TCP_WS_OURS 7			/* our window scale: 8 MiB windows */
#define TCP_WS_MAX 14
#define TCP_RTO_INIT 1000
#define TCP_RTO_MIN 200
#define TCP_RTO_MAX 12000		/* libslirp's TCPTV_REXMTMAX */
#define TCP_GIVEUP_MS 120000		/* retransmitting without progress: reset */
#define TCP_CONNECT_MS 75000		/* libslirp's TCPTV_KEEP_INIT */
#define TCP_HOSTFWD_MS 10000		/* guest silent on a hostfwd SYN */
#define TCP_TIME_WAIT_MS 2000		/* the host socket does the real TIME_WAIT */
#define TCP_PERSIST_MAX 60000
#define TCP_DISCARD_MAX (1 << 20)	/* in flight without SO_PEEK_OFF; AF_UNIX discard chunk */
#define TCP_STAGE_MAX (256 << 10)	/* guest payload gathered per send() */
#define TCP_STAGE_SEG 16384		/* larger segments are written directly */

#define SEQ_LT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LE(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b) SEQ_LT(b, a)
#define SEQ_GE(a, b) SEQ_LE(b, a)

enum tcp_cstate {
	TCP_S_FREE,
	TCP_S_CONNECTING,	/* guest SYN seen, host connect() in progress */
	TCP_S_SYN_RCVD,		/* SYN-ACK sent to the guest */
	TCP_S_SYN_SENT,		/* hostfwd: SYN sent to the guest */
	TCP_S_ESTABLISHED,	/* data phase, half-closes in the flags */
	TCP_S_TIME_WAIT,
};

enum tcp_flag {
	TCP_F_GUEST_FIN = 1 << 0,	/* guest FIN consumed, socket shut down for writing */
	TCP_F_GUEST_FIN_FIRST = 1 << 1,	/* ... before ours went out */
	TCP_F_HOST_EOF = 1 << 2,	/* the socket reached end of stream */
	TCP_F_FIN_SENT = 1 << 3,	/* our FIN is at fin_seq, snd_nxt past it */
	TCP_F_FIN_ACKED = 1 << 4,
	TCP_F_UNIX = 1 << 5,		/* AF_UNIX host end: no MSG_TRUNC discard, no TCP options */
	TCP_F_NO_PEEKOFF = 1 << 6,	/* no SO_PEEK_OFF: peek from the start, skipping in flight */
	TCP_F_WANT_WRITE = 1 << 7,	/* window to the guest is small: EPOLLOUT for an update */
	TCP_F_HOSTFWD = 1 << 8,		/* accepted on a hostfwd listener */
	TCP_F_RTT = 1 << 9,		/* timing rtt_seq */
	TCP_F_PAUSED = 1 << 10,		/* guest window full: EPOLLIN off */
	TCP_F_PERSIST = 1 << 11,	/* the deadline is a zero-window probe */
	TCP_F_TIMED = 1 << 12,		/* on the timed list */
	TCP_F_ACKQ = 1 << 13,		/* on the ACK list */
	TCP_F_BLOCKED = 1 << 14,	/* on the blocked list */
	TCP_F_FIRING = 1 << 15,		/* on the list the timer handler is walking */
	TCP_F_GUESTFWD = 1 << 16,	/* host end opened by a guestfwd rule */
	TCP_F_RECOVERY = 1 << 17,	/* resent from snd_una: no new fast retransmit below @recover */
};

/* struct tcp_node - links of one circular list */
struct tcp_node {
	struct tcp_conn *prev, *next;
};

/**
 * struct tcp_conn - one guest connection and its host socket
 * @h:		the socket in the loop (edge-triggered)
 * @fd:		the socket (kept here too: @h.fd is -1 when unregistered)
 * @s:		the stack
 * @gaddr, @gport:	guest side of the flow
 * @raddr, @rport:	remote side as the guest sees it
 * @state:	enum tcp_cstate
 * @ws_guest:	shift for windows the guest advertises
 * @ws_ours:	shift for windows we advertise (0 without the option)
 * @dupacks:	duplicate ACKs in a row
 * @backoff:	RTO doublings since the last progress
 * @flags:	enum tcp_flag
 * @mss:	largest payload per segment towards the guest
 * @mss_adv:	MSS we advertise in our SYN-ACK (the guest's, capped by the MTU)
 * @iss:	our initial sequence number
 * @snd_una, @snd_nxt, @snd_max:	towards the guest: oldest unacked, next to send, highest sent
 * @recover:	snd_max at the last rewind (RFC 6582): duplicate ACKs below it are
 *		echoes of that loss and of the resent data, not a new loss
 * @fin_seq:	sequence number of our FIN
 * @eof_seq:	sequence number where the socket's data ended (TCP_F_HOST_EOF)
 * @rcv_nxt:	next byte expected from the guest
 * @rcv_wnd:	window last advertised to the guest (bytes)
 * @guest_wnd:	window the guest advertised (bytes, scaled)
 * @rtt_seq, @rtt_ts:	segment being timed (Karn: never a retransmitted one)
 * @srtt, @rttvar, @rto:	RFC 6298 estimators, milliseconds
 * @deadline:	timer deadline (0: none)
 * @since_ms:	state entry (handshakes) or last progress (data)
 * @hnext:	hash chain / free list
 * @tn, @an, @bn:	timed, ACK and blocked list links
 */
struct tcp_conn {
	struct stack_fd h;
	int fd;
	struct user_stack *s;
	union inany gaddr, raddr;
	uint16_t gport, rport;
	uint8_t state, ws_guest, ws_ours, dupacks;
	uint8_t backoff;
	uint32_t flags;
	uint16_t mss, mss_adv;
	uint32_t iss, snd_una, snd_nxt, snd_max, recover, fin_seq, eof_seq;
	uint32_t rcv_nxt, rcv_wnd, guest_wnd;
	uint32_t rtt_seq;
	uint32_t srtt, rttvar, rto;
	uint64_t rtt_ts, deadline, since_ms;
	struct tcp_conn *hnext;
	struct tcp_node tn, an, bn;
};

/**
 * struct tcp_seg - a parsed guest segment
 * @ip:		its IP header
 * @l4, @len:	TCP header onwards
 * @src, @dst, @sport, @dport:	the tuple (ports host order)
 * @seq, @ack, @flags, @win:	header fields (window unscaled)
 * @data, @dlen:	payload
 * @mss:	MSS option, 0 if absent
 * @ws:		window scale option, -1 if absent
 * @v6, @src6, @dst6:	an IPv6 segment (tcp6_input): @ip is NULL, @src/@dst unused
 */
struct tcp_seg {
	bool v6;
	struct in6_addr src6, dst6;
	const struct iphdr *ip;
	const uint8_t *l4;
	size_t len;
	struct in_addr src, dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	const uint8_t *data;
	size_t dlen;
	uint16_t mss;
	int ws;
};

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* the links of the timed, ACK and blocked lists in struct tcp_conn */
#define TN offsetof(struct tcp_conn, tn)
#define AN offsetof(struct tcp_conn, an)
#define BN offsetof(struct tcp_conn, bn)

/* shared between the TCP files */
void tcp_ack_later(struct tcp_conn *c);
void tcp_acks_flush(struct stack_defer *d);
uint8_t *tcp_discard_buf(struct tcp_state *t);
void tcp_free(struct tcp_conn *c, bool abort);
bool tcp_is_v6(const union inany *a);
void tcp_list_add(struct tcp_conn **head, struct tcp_conn *c, size_t off);
void tcp_list_del(struct tcp_conn **head, struct tcp_conn *c, size_t off);
uint16_t tcp_mtu_mss(const struct user_stack *s);
void tcp_reset(struct tcp_conn *c);
void tcp_rewind(struct tcp_conn *c);
void tcp_rst_reply(struct user_stack *s, const struct tcp_seg *g);
void tcp_rto_arm(struct tcp_conn *c);
void tcp_send_ack(struct tcp_conn *c);
int tcp_send_ctl(struct tcp_conn *c, uint8_t flags, uint32_t seq);
void tcp_set_deadline(struct tcp_conn *c, uint64_t when);
void tcp_sock_event(struct stack_fd *h, uint32_t events);
void tcp_sock_send(struct tcp_conn *c);
bool tcp_stage_flush(struct tcp_state *t);
void tcp_timer_cb(struct stack_timer *tm);
void tcp_timer_update(struct tcp_conn *c, bool restart);
void tcp_update_events(struct tcp_conn *c);

#endif /* QNET_TCP_INTERNAL_H */
