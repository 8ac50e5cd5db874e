// SPDX-License-Identifier: MIT
// tcp.c - TCP NAT: guest connections translated onto host sockets, without a second TCP stack

#include <arpa/inet.h>
#include <errno.h>
#include <linux/sockios.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../core/cursor.h"
#include "../core/log.h"
#include "../core/wire.h"
#include "csum.h"
#include "stack.h"

/*
 * DOC: Theory of operation
 *
 * Every guest connection maps onto one host socket; there is no TCP state
 * machine of our own beyond sequence bookkeeping (passt's model):
 *
 * - guest -> host: in-order payload is written to the socket and only what
 *   the socket took is acknowledged. Small segments of one connection that
 *   arrive in one batch of guest frames are gathered (copied into @stage) and
 *   written with one send() after the batch, before the ACKs go out; anything
 *   else for that connection (FIN, RST, a gap) writes them first. The window we advertise is the
 *   socket's free send buffer, so the guest rarely overruns it; whatever it
 *   sends out of order is dropped with a duplicate ACK and retransmitted by
 *   the guest.
 * - host -> guest: data stays in the socket's receive queue until the guest
 *   acknowledges it. It is read with MSG_PEEK at the SO_PEEK_OFF offset (the
 *   kernel advances it), straight into the frames being built, and dropped
 *   from the socket (MSG_TRUNC) as ACKs arrive. Retransmission rewinds the
 *   peek offset to the first unacknowledged byte (go-back-N).
 *
 * Sequence space towards the guest: snd_una is the first byte the guest has
 * not acknowledged and also the first byte of the socket's receive queue;
 * snd_nxt - snd_una is the peek offset (plus one once our FIN is out).
 *
 * Host sockets are watched edge-triggered: every reason to send more (ACKs,
 * window updates, tcp_guest_resumed()) calls tcp_sock_send() directly, and
 * EPOLLIN is dropped while the guest window is full or the path to the guest
 * is busy, so a waiting connection costs no wakeups.
 *
 * Timers: one per-stack loop timer at the earliest deadline of the (short)
 * list of connections that have one: connect and handshake timeouts,
 * retransmission, persist probes and TIME_WAIT. Idle connections have none.
 */

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

/* sink for bytes discarded by reading (AF_UNIX) or skipped by peeking (no SO_PEEK_OFF) */
/* tcp_discard_buf() - this stack's sink for bytes read only to skip them (allocated on first use) */
static uint8_t *tcp_discard_buf(struct tcp_state *t)
{
	if (!t->discard)
		t->discard = xmalloc(TCP_DISCARD_MAX);
	return t->discard;
}

static void tcp_sock_send(struct tcp_conn *c);
static void tcp_sock_event(struct stack_fd *h, uint32_t events);
static bool tcp_stage_flush(struct tcp_state *t);

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

/* ---- circular lists ---------------------------------------------------- */

static struct tcp_node *tcp_node(struct tcp_conn *c, size_t off)
{
	return (struct tcp_node *)(void *)((char *)c + off);
}

static void tcp_list_add(struct tcp_conn **head, struct tcp_conn *c, size_t off)
{
	struct tcp_node *n = tcp_node(c, off);

	if (!*head) {
		n->prev = n->next = c;
		*head = c;
		return;
	}
	/* insert at the tail: before the head */
	n->next = *head;
	n->prev = tcp_node(*head, off)->prev;
	tcp_node(n->prev, off)->next = c;
	tcp_node(*head, off)->prev = c;
}

static void tcp_list_del(struct tcp_conn **head, struct tcp_conn *c, size_t off)
{
	struct tcp_node *n = tcp_node(c, off);

	if (n->next == c) {
		*head = NULL;
	} else {
		tcp_node(n->prev, off)->next = n->next;
		tcp_node(n->next, off)->prev = n->prev;
		if (*head == c)
			*head = n->next;
	}
	n->prev = n->next = NULL;
}

#define TN offsetof(struct tcp_conn, tn)
#define AN offsetof(struct tcp_conn, an)
#define BN offsetof(struct tcp_conn, bn)

/* ---- table ------------------------------------------------------------- */

static uint32_t tcp_mix(uint32_t h, uint32_t v)
{
	h ^= v;
	h *= 0x9e3779b1u;
	return h ^ (h >> 15);
}

static uint32_t tcp_hash(const struct tcp_state *t, const union inany *g, uint16_t gport,
			 const union inany *r, uint16_t rport)
{
	uint32_t h = t->secret[0], w;

	for (int i = 0; i < 4; i++) {
		memcpy(&w, g->a6.s6_addr + 4 * i, 4);
		h = tcp_mix(h, w);
		memcpy(&w, r->a6.s6_addr + 4 * i, 4);
		h = tcp_mix(h, w);
	}
	h = tcp_mix(h, (uint32_t)gport << 16 | rport);
	return h & (TCP_HASH_BUCKETS - 1);
}

static struct tcp_conn *tcp_lookup(struct tcp_state *t, const union inany *g, uint16_t gport,
				   const union inany *r, uint16_t rport)
{
	struct tcp_conn *c = t->hash[tcp_hash(t, g, gport, r, rport)];

	for (; c; c = c->hnext)
		if (c->gport == gport && c->rport == rport &&
		    !memcmp(&c->gaddr, g, sizeof(*g)) && !memcmp(&c->raddr, r, sizeof(*r)))
			return c;
	return NULL;
}

/* tcp_conn_new() - a zeroed slot hashed under the tuple, or NULL when the table is full */
static struct tcp_conn *tcp_conn_new(struct user_stack *s, const union inany *g, uint16_t gport,
				     const union inany *r, uint16_t rport)
{
	struct tcp_state *t = &s->tcp;
	struct tcp_conn *c;
	uint32_t b;

	if (t->free) {
		c = t->free;
		t->free = c->hnext;
	} else if (t->hwm < TCP_CONNS_MAX) {
		c = &t->conns[t->hwm++];
	} else {
		t->stats.full++;
		return NULL;
	}
	memset(c, 0, sizeof(*c));
	c->h.fd = -1;
	c->fd = -1;
	c->s = s;
	c->gaddr = *g;
	c->raddr = *r;
	c->gport = gport;
	c->rport = rport;
	c->rto = TCP_RTO_INIT;
	c->since_ms = stack_now_ms(s);
	b = tcp_hash(t, g, gport, r, rport);
	c->hnext = t->hash[b];
	t->hash[b] = c;
	t->nconns++;
	return c;
}

static void tcp_set_deadline(struct tcp_conn *c, uint64_t when)
{
	struct tcp_state *t = &c->s->tcp;
	uint64_t now;

	c->deadline = when;
	if (c->flags & TCP_F_FIRING) {
		tcp_list_del(&t->firing, c, TN);
		c->flags &= ~(uint32_t)TCP_F_FIRING;
	}
	if (!when) {
		if (c->flags & TCP_F_TIMED) {
			tcp_list_del(&t->timed, c, TN);
			c->flags &= ~(uint32_t)TCP_F_TIMED;
		}
		return;
	}
	if (!(c->flags & TCP_F_TIMED)) {
		tcp_list_add(&t->timed, c, TN);
		c->flags |= TCP_F_TIMED;
	}
	if (!stack_timer_armed(&t->timer) || t->timer.deadline > when) {
		now = stack_now_ms(c->s);
		stack_timer_arm(&t->timer, when > now ? when - now : 0);
	}
}

/* tcp_free() - close the socket (with an RST to the host peer if @abort) and free the slot */
static void tcp_free(struct tcp_conn *c, bool abort)
{
	struct tcp_state *t = &c->s->tcp;
	struct tcp_conn **pp;

	if (c->fd >= 0) {
		if (abort && !(c->flags & TCP_F_UNIX)) {
			struct linger l = { .l_onoff = 1, .l_linger = 0 };

			setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		}
		stack_fd_del(&c->h);
		close(c->fd);
		c->fd = -1;
	}
	tcp_set_deadline(c, 0);
	if (t->stage_conn == c) {
		t->stage_conn = NULL;
		t->stage_len = 0;
	}
	if (c->flags & TCP_F_ACKQ)
		tcp_list_del(&t->acks, c, AN);
	if (c->flags & TCP_F_BLOCKED)
		tcp_list_del(&t->blocked, c, BN);
	for (pp = &t->hash[tcp_hash(t, &c->gaddr, c->gport, &c->raddr, c->rport)]; *pp;
	     pp = &(*pp)->hnext) {
		if (*pp == c) {
			*pp = c->hnext;
			break;
		}
	}
	c->state = TCP_S_FREE;
	c->flags = 0;
	c->hnext = t->free;
	t->free = c;
	t->nconns--;
}

/* ---- output ------------------------------------------------------------ */

/**
 * tcp_emit() - fill in a TCP header and send header + payload to the guest
 * @th:		header space (@hlen bytes, options already written after byte 20),
 *		the payload (@plen bytes) follows it
 * @headroom:	@th has STACK_HEADROOM writable bytes before it (a batch slot): the frame
 *		is built in place, the payload is not copied again
 * Return: stack_output_ip4()'s result
 */
/* tcp_header() - the fixed TCP header at @th (checksum zero; options already after byte 20) */
static void tcp_header(uint8_t *th, uint16_t sport, uint16_t dport, size_t hlen, uint8_t flags,
		       uint32_t seq, uint32_t ack, uint16_t win)
{
	put16(th, sport);
	put16(th + 2, dport);
	put32(th + 4, seq);
	put32(th + 8, ack);
	th[12] = (uint8_t)((hlen / 4) << 4);
	th[13] = flags;
	put16(th + 14, win);
	memset(th + 16, 0, 4);
}

static int tcp_emit(struct user_stack *s, struct in_addr src, uint16_t sport, struct in_addr dst,
		    uint16_t dport, uint8_t *th, size_t hlen, size_t plen, uint8_t flags,
		    uint32_t seq, uint32_t ack, uint16_t win, bool headroom)
{
	struct iovec iov = { .iov_base = th, .iov_len = hlen + plen };
	uint16_t sum;

	tcp_header(th, sport, dport, hlen, flags, seq, ack, win);
	sum = csum_fold(csum_partial(th, hlen + plen,
				     csum_pseudo4(src, dst, IPPROTO_TCP, (uint16_t)(hlen + plen))));
	memcpy(th + 16, &sum, 2);
	if (headroom)
		return stack_output_ip4_hr(s, src, dst, IPPROTO_TCP, 0, th, hlen + plen);
	return stack_output_ip4(s, src, dst, IPPROTO_TCP, 0, &iov, 1);
}

/**
 * tcp_emit_offload() - tcp_emit() for a guest side that takes partial checksums (and TSO):
 * the checksum field gets the pseudo header sum, the receiver (or the core, for one that
 * cannot) sums the rest; @plen above @mss makes a TSO frame cut into @mss-byte segments
 */
static int tcp_emit_offload(struct user_stack *s, struct in_addr src, uint16_t sport,
			    struct in_addr dst, uint16_t dport, uint8_t *th, size_t plen,
			    uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win, uint16_t mss)
{
	struct net_meta meta = {
		.flags = NET_META_F_NEEDS_CSUM,
		.csum_offset = 16,
	};
	uint16_t sum;

	tcp_header(th, sport, dport, 20, flags, seq, ack, win);
	sum = (uint16_t)~csum_fold(csum_pseudo4(src, dst, IPPROTO_TCP, (uint16_t)(20 + plen)));
	memcpy(th + 16, &sum, 2);
	if (plen > mss) {
		meta.gso_type = NET_META_GSO_TCPV4;
		meta.gso_size = mss;
	}
	return stack_output_ip4_meta(s, src, dst, IPPROTO_TCP, th, 20 + plen, &meta);
}

/* tcp_is_v6() - @a is an IPv6 address (not v4-mapped): the flow runs over IPv6 */
static bool tcp_is_v6(const union inany *a)
{
	return !IN6_IS_ADDR_V4MAPPED(&a->a6);
}

/**
 * tcp_emit_any() - tcp_emit() for either family: IPv4-mapped addresses take tcp_emit(), IPv6
 * ones are sent with stack_output_ip6() (copied into the frame: no headroom path)
 */
static int tcp_emit_any(struct user_stack *s, const union inany *src, uint16_t sport,
			const union inany *dst, uint16_t dport, uint8_t *th, size_t hlen,
			size_t plen, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win,
			bool headroom)
{
	struct iovec iov = { .iov_base = th, .iov_len = hlen + plen };
	uint16_t sum;

	if (!tcp_is_v6(src))
		return tcp_emit(s, src->v4.a4, sport, dst->v4.a4, dport, th, hlen, plen, flags, seq,
				ack, win, headroom);
	tcp_header(th, sport, dport, hlen, flags, seq, ack, win);
	sum = csum_fold(csum_partial(th, hlen + plen, csum_pseudo6(&src->a6, &dst->a6, IPPROTO_TCP,
								   (uint32_t)(hlen + plen))));
	memcpy(th + 16, &sum, 2);
	return stack_output_ip6(s, &src->a6, &dst->a6, IPPROTO_TCP, IP6_HOP_LIMIT, &iov, 1);
}

/* tcp_rst_reply() - RST for a segment that belongs to no connection (RFC 9293 3.10.7.1) */
static void tcp_rst_reply(struct user_stack *s, const struct tcp_seg *g)
{
	uint8_t th[20];
	uint32_t seq = 0, ack = 0;
	uint8_t flags = TCP_RST;

	if (g->flags & TCP_RST)
		return;
	if (g->flags & TCP_ACK) {
		seq = g->ack;
	} else {
		flags |= TCP_ACK;
		ack = g->seq + (uint32_t)g->dlen + !!(g->flags & TCP_SYN) + !!(g->flags & TCP_FIN);
	}
	s->tcp.stats.rst_sent++;
	if (g->v6) {
		union inany gs = { .a6 = g->src6 }, gd = { .a6 = g->dst6 };

		tcp_emit_any(s, &gd, g->dport, &gs, g->sport, th, 20, 0, flags, seq, ack, 0, false);
		return;
	}
	tcp_emit(s, g->dst, g->dport, g->src, g->sport, th, 20, 0, flags, seq, ack, 0, false);
}

static uint16_t tcp_mtu_mss(const struct user_stack *s)
{
	unsigned mtu = s->cfg.mtu ? s->cfg.mtu : STACK_MTU_DEFAULT;

	return (uint16_t)(mtu > 40 + 64 ? mtu - 40 : 64);
}

/* tcp_window() - what the socket can take now: its free send buffer (bytes) */
static uint32_t tcp_window(struct tcp_conn *c)
{
	int sndbuf = 0, outq = 0;
	socklen_t sl = sizeof(sndbuf);
	long w;

	if (c->fd < 0 || (c->flags & TCP_F_GUEST_FIN))
		return 0;
	if (getsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl) < 0 ||
	    ioctl(c->fd, SIOCOUTQ, &outq) < 0)
		return 65535;
	/* the buffer is charged with overhead too: keep a quarter in reserve */
	w = (long)sndbuf / 4 * 3 - outq;
	if (c->s->tcp.stage_conn == c)
		w -= (long)c->s->tcp.stage_len;	/* on its way into the socket */
	if (w < 0)
		w = 0;
	if (w > (long)(65535u << c->ws_ours))
		w = (long)(65535u << c->ws_ours);
	return (uint32_t)w;
}

/* tcp_win_field() - the window to advertise, recorded; asks for EPOLLOUT if it is small */
static uint16_t tcp_win_field(struct tcp_conn *c, bool syn)
{
	uint32_t w = tcp_window(c);

	if (syn && w > 65535)
		w = 65535;
	if (!syn)
		w &= ~((1u << c->ws_ours) - 1);
	c->rcv_wnd = w;
	if (w < c->mss && !(c->flags & TCP_F_GUEST_FIN))
		c->flags |= TCP_F_WANT_WRITE;
	return (uint16_t)(syn ? w : w >> c->ws_ours);
}

/* tcp_update_events() - the epoll mask this connection needs now */
static void tcp_update_events(struct tcp_conn *c)
{
	uint32_t ev = EPOLLET | EPOLLRDHUP;

	if (c->h.fd < 0)
		return;
	if (c->state == TCP_S_CONNECTING)
		ev |= EPOLLOUT;
	if (c->flags & TCP_F_WANT_WRITE)
		ev |= EPOLLOUT;
	if (c->state == TCP_S_ESTABLISHED &&
	    !(c->flags & (TCP_F_PAUSED | TCP_F_BLOCKED | TCP_F_HOST_EOF | TCP_F_FIN_SENT)))
		ev |= EPOLLIN;
	stack_fd_mod(&c->h, ev);
}

/* tcp_send_ctl() - a segment without payload (SYN/SYN-ACK with options, ACK, FIN, RST) */
static int tcp_send_ctl(struct tcp_conn *c, uint8_t flags, uint32_t seq)
{
	uint8_t th[TCP_HDR_ROOM];
	size_t hlen = 20;
	uint16_t win = 0;
	bool syn = flags & TCP_SYN;

	if (syn) {
		uint16_t mss = tcp_mtu_mss(c->s);

		if (c->state == TCP_S_SYN_RCVD && c->mss_adv)
			mss = c->mss_adv;	/* mirror the guest's MSS */
		th[20] = 2;
		th[21] = 4;
		put16(th + 22, mss);
		hlen = 24;
		if (c->ws_ours || c->state == TCP_S_SYN_SENT) {
			th[24] = 1;
			th[25] = 3;
			th[26] = 3;
			th[27] = TCP_WS_OURS;
			hlen = 28;
		}
	}
	if (!(flags & TCP_RST))
		win = tcp_win_field(c, syn);
	if (flags & TCP_RST)
		c->s->tcp.stats.rst_sent++;
	if ((flags & TCP_ACK) && (c->flags & TCP_F_ACKQ)) {
		tcp_list_del(&c->s->tcp.acks, c, AN);
		c->flags &= ~(uint32_t)TCP_F_ACKQ;
	}
	return tcp_emit_any(c->s, &c->raddr, c->rport, &c->gaddr, c->gport, th, hlen, 0,
			    flags, seq, (flags & TCP_ACK) ? c->rcv_nxt : 0, win, false);
}

static void tcp_send_ack(struct tcp_conn *c)
{
	tcp_send_ctl(c, TCP_ACK, c->snd_nxt);
	tcp_update_events(c);
}

/* tcp_ack_later() - acknowledge after the current batch of guest frames (one ACK for many) */
static void tcp_ack_later(struct tcp_conn *c)
{
	struct tcp_state *t = &c->s->tcp;

	if (c->flags & TCP_F_ACKQ)
		return;
	tcp_list_add(&t->acks, c, AN);
	c->flags |= TCP_F_ACKQ;
	stack_defer(&t->defer);
}

static void tcp_acks_flush(struct stack_defer *d)
{
	struct user_stack *s = d->opaque;

	tcp_stage_flush(&s->tcp);
	while (s->tcp.acks)
		tcp_send_ack(s->tcp.acks);	/* tcp_send_ctl() unlinks it */
}

/* tcp_reset() - RST to the guest and to the host peer, free */
static void tcp_reset(struct tcp_conn *c)
{
	if (c->state == TCP_S_CONNECTING)
		tcp_send_ctl(c, TCP_RST | TCP_ACK, 0);
	else if (c->state != TCP_S_SYN_SENT)
		tcp_send_ctl(c, TCP_RST | TCP_ACK, c->snd_nxt);
	else
		tcp_send_ctl(c, TCP_RST, c->snd_nxt);
	tcp_free(c, true);
}

/* ---- timers ------------------------------------------------------------ */

static void tcp_rto_arm(struct tcp_conn *c)
{
	uint64_t rto = (uint64_t)c->rto << MIN(c->backoff, 20);

	if (rto > TCP_RTO_MAX)
		rto = TCP_RTO_MAX;
	c->flags &= ~(uint32_t)TCP_F_PERSIST;
	tcp_set_deadline(c, stack_now_ms(c->s) + rto);
}

/* tcp_timer_update() - after sending or an ACK: RTO while data is out, persist on a zero window */
static void tcp_timer_update(struct tcp_conn *c, bool restart)
{
	if (c->state != TCP_S_ESTABLISHED)
		return;
	if (c->snd_nxt != c->snd_una || c->snd_max != c->snd_una) {
		if (restart || !c->deadline || (c->flags & TCP_F_PERSIST))
			tcp_rto_arm(c);
	} else if (!c->guest_wnd && !(c->flags & (TCP_F_HOST_EOF | TCP_F_FIN_SENT))) {
		if (!(c->flags & TCP_F_PERSIST) || !c->deadline) {
			tcp_rto_arm(c);
			c->flags |= TCP_F_PERSIST;
		}
	} else {
		c->flags &= ~(uint32_t)TCP_F_PERSIST;
		tcp_set_deadline(c, 0);
	}
}

/* tcp_rewind() - go back to the first unacknowledged byte and send again */
static void tcp_rewind(struct tcp_conn *c)
{
	int zero = 0;

	c->s->tcp.stats.retransmits++;
	c->recover = c->snd_max;
	c->flags |= TCP_F_RECOVERY;
	c->snd_nxt = c->snd_una;
	c->flags &= ~(uint32_t)(TCP_F_RTT | TCP_F_PAUSED);
	if ((c->flags & TCP_F_FIN_SENT) && !(c->flags & TCP_F_FIN_ACKED))
		c->flags &= ~(uint32_t)TCP_F_FIN_SENT;
	if (!(c->flags & TCP_F_NO_PEEKOFF))
		setsockopt(c->fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero));
	c->dupacks = 0;
	tcp_sock_send(c);
}

static void tcp_timeout(struct tcp_conn *c, uint64_t now)
{
	switch (c->state) {
	case TCP_S_CONNECTING:
		tcp_reset(c);
		return;
	case TCP_S_SYN_RCVD:
	case TCP_S_SYN_SENT:
		if (now - c->since_ms >= (c->state == TCP_S_SYN_SENT ? TCP_HOSTFWD_MS : TCP_CONNECT_MS)) {
			tcp_reset(c);
			return;
		}
		c->backoff++;
		tcp_send_ctl(c, c->state == TCP_S_SYN_SENT ? TCP_SYN : TCP_SYN | TCP_ACK, c->iss);
		tcp_rto_arm(c);
		return;
	case TCP_S_TIME_WAIT:
		tcp_free(c, false);
		return;
	case TCP_S_ESTABLISHED:
		break;
	default:
		tcp_set_deadline(c, 0);
		return;
	}
	if (c->flags & TCP_F_PERSIST) {
		/* zero window probe: an old sequence number makes the guest answer with an ACK */
		tcp_send_ctl(c, TCP_ACK, c->snd_una - 1);
		if (c->backoff < 16)
			c->backoff++;
		c->flags &= ~(uint32_t)TCP_F_PERSIST;
		tcp_rto_arm(c);
		c->flags |= TCP_F_PERSIST;
		if (c->deadline > now + TCP_PERSIST_MAX)
			tcp_set_deadline(c, now + TCP_PERSIST_MAX);
		return;
	}
	if (c->snd_nxt == c->snd_una) {
		tcp_set_deadline(c, 0);
		return;
	}
	if (now - c->since_ms >= TCP_GIVEUP_MS) {
		tcp_reset(c);
		return;
	}
	if (c->backoff < 16)
		c->backoff++;
	c->deadline = 0;
	tcp_rewind(c);
	if (c->state == TCP_S_ESTABLISHED)
		tcp_timer_update(c, true);
}

static void tcp_timer_cb(struct stack_timer *tm)
{
	struct user_stack *s = tm->opaque;
	struct tcp_state *t = &s->tcp;
	uint64_t now = stack_now_ms(s);
	struct tcp_conn *c;

	/* move the list aside: handlers (and anything they trigger) put back what still waits */
	t->firing = t->timed;
	t->timed = NULL;
	c = t->firing;
	if (c) {
		do {
			c->flags = (c->flags & ~(uint32_t)TCP_F_TIMED) | TCP_F_FIRING;
			c = c->tn.next;
		} while (c != t->firing);
	}
	while (t->firing) {
		c = t->firing;
		tcp_list_del(&t->firing, c, TN);
		c->flags &= ~(uint32_t)TCP_F_FIRING;
		if (c->deadline <= now)
			tcp_timeout(c, now);
		else
			tcp_set_deadline(c, c->deadline);
	}
}

/* ---- host -> guest ----------------------------------------------------- */

static void tcp_block(struct tcp_conn *c)
{
	if (c->flags & TCP_F_BLOCKED)
		return;
	tcp_list_add(&c->s->tcp.blocked, c, BN);
	c->flags |= TCP_F_BLOCKED;
}

/* tcp_batch_alloc() - the frame scratch, sized for the MTU (once per stack) */
static int tcp_batch_alloc(struct tcp_state *t, const struct user_stack *s)
{
	if (t->batch)
		return 0;
	t->seg_max = tcp_mtu_mss(s);
	t->slot = TCP_HDR_ROOM + ((t->seg_max + 7) & ~(size_t)7);
	t->batch = malloc(t->slot * TCP_BATCH);
	return t->batch ? 0 : -1;
}

/* tcp_tso_alloc() - the TSO frame scratch (once per stack, on first use) */
static int tcp_tso_alloc(struct tcp_state *t)
{
	if (!t->tso_batch)
		t->tso_batch = malloc((size_t)TCP_TSO_SLOT * TCP_TSO_BATCH);
	return t->tso_batch ? 0 : -1;
}

/* tcp_offload_mode() - frames towards the guest: 0 plain, 1 partial checksums, 2 TSO as well */
static int tcp_offload_mode(const struct user_stack *s)
{
	if (!(s->guest_offloads & NET_OFF_CSUM))
		return 0;
	return (s->guest_offloads & NET_OFF_TSO4) ? 2 : 1;
}

/* tcp_send_fin() - our FIN, once the socket reached EOF and all data went out */
static void tcp_send_fin(struct tcp_conn *c)
{
	if (c->snd_max == c->snd_una)
		c->since_ms = stack_now_ms(c->s);	/* idle until now: the give-up clock starts */
	c->fin_seq = c->snd_nxt;
	tcp_send_ctl(c, TCP_FIN | TCP_ACK, c->snd_nxt);
	c->snd_nxt++;
	if (SEQ_GT(c->snd_nxt, c->snd_max))
		c->snd_max = c->snd_nxt;
	c->flags |= TCP_F_FIN_SENT;
}

/* tcp_peek() - peek up to @n segments of at most @seg bytes into the slots of @batch */
static ssize_t tcp_peek(struct tcp_conn *c, uint8_t *batch, size_t slot, int n, size_t seg,
			size_t want)
{
	struct iovec iov[TCP_BATCH + 1];
	struct msghdr mh = { .msg_iov = iov };
	size_t skip = 0;
	int k = 0;
	ssize_t r;

	if (c->flags & TCP_F_NO_PEEKOFF) {
		skip = c->snd_nxt - c->snd_una;
		iov[k].iov_base = tcp_discard_buf(&c->s->tcp);
		iov[k++].iov_len = skip;
	}
	for (int i = 0; i < n && want; i++) {
		size_t l = MIN(seg, want);

		iov[k].iov_base = batch + (size_t)i * slot + TCP_HDR_ROOM;
		iov[k++].iov_len = l;
		want -= l;
	}
	mh.msg_iovlen = (size_t)k;
	do {
		r = recvmsg(c->fd, &mh, MSG_PEEK | MSG_DONTWAIT);
	} while (r < 0 && errno == EINTR);
	if (skip && r >= 0) {
		/* without a peek offset, "nothing new" and end of stream look alike until
		 * everything in flight is acknowledged: call both "nothing new" */
		if ((size_t)r <= skip) {
			errno = EAGAIN;
			return -1;
		}
		r -= (ssize_t)skip;
	}
	return r;
}

/**
 * tcp_sock_send() - move what the socket has towards the guest, within the guest's window
 *
 * Stops when the window is full (EPOLLIN off until an ACK opens it), when the path to the
 * guest is busy (until tcp_guest_resumed()), or when the socket is drained. At end of
 * stream, once everything is out, sends the FIN.
 */
static void tcp_sock_send(struct tcp_conn *c)
{
	struct user_stack *s = c->s;
	struct tcp_state *t = &s->tcp;

	if (c->state != TCP_S_ESTABLISHED || (c->flags & TCP_F_FIN_SENT) || c->fd < 0)
		return;
	if (tcp_batch_alloc(t, s) < 0)
		return;
	c->flags &= ~(uint32_t)TCP_F_PAUSED;
	for (;;) {
		uint32_t inflight = c->snd_nxt - c->snd_una, avail;
		size_t mss = MIN((size_t)c->mss, t->seg_max), seg = mss, want, done = 0;
		int mode = tcp_is_v6(&c->gaddr) ? 0 : tcp_offload_mode(s), nslots = TCP_BATCH;
		uint8_t *batch = t->batch;
		size_t slot = t->slot;
		uint16_t wfield;
		ssize_t r;

		if (s->guest_busy) {
			tcp_block(c);
			break;
		}
		if ((c->flags & TCP_F_HOST_EOF) && c->snd_nxt == c->eof_seq) {
			tcp_send_fin(c);	/* needs no window */
			break;
		}
		avail = c->guest_wnd > inflight ? c->guest_wnd - inflight : 0;
		if ((c->flags & TCP_F_NO_PEEKOFF) && avail > TCP_DISCARD_MAX - MIN(inflight, TCP_DISCARD_MAX))
			avail = TCP_DISCARD_MAX - MIN(inflight, TCP_DISCARD_MAX);
		if (!avail) {
			c->flags |= TCP_F_PAUSED;
			break;
		}
		if (mode == 2 && tcp_tso_alloc(t) == 0) {
			/* whole TSO frames of up to 64 KiB, cut at the guest's MSS by the receiver */
			seg = TCP_TSO_MAX / mss * mss;
			batch = t->tso_batch;
			slot = TCP_TSO_SLOT;
			nslots = TCP_TSO_BATCH;
		}
		want = MIN((size_t)avail, seg * (size_t)nslots);
		r = tcp_peek(c, batch, slot, (int)((want + seg - 1) / seg), seg, want);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			tcp_reset(c);	/* host reset or error */
			return;
		}
		if (r == 0) {
			c->flags |= TCP_F_HOST_EOF;
			c->eof_seq = c->snd_nxt;
			continue;
		}
		if ((c->flags & TCP_F_HOST_EOF) && SEQ_GT(c->snd_nxt + (uint32_t)r, c->eof_seq))
			c->flags &= ~(uint32_t)TCP_F_HOST_EOF;	/* cannot happen: data after EOF */
		wfield = tcp_win_field(c, false);
		if (c->snd_max == c->snd_una)
			c->since_ms = stack_now_ms(s);	/* idle until now: the give-up clock starts */
		for (int i = 0; done < (size_t)r; i++) {
			uint8_t *th = batch + (size_t)i * slot + TCP_HDR_ROOM - 20;
			size_t l = MIN(seg, (size_t)r - done);
			uint8_t fl = TCP_ACK | (done + l == (size_t)r ? TCP_PSH : 0);
			int ret;

			if (mode)
				ret = tcp_emit_offload(s, c->raddr.v4.a4, c->rport, c->gaddr.v4.a4,
						       c->gport, th, l, fl, c->snd_nxt, c->rcv_nxt,
						       wfield, (uint16_t)mss);
			else
				ret = tcp_emit_any(s, &c->raddr, c->rport, &c->gaddr, c->gport, th,
						   20, l, fl, c->snd_nxt, c->rcv_nxt, wfield, true);
			if (l > mss)
				t->stats.tso_frames++;
			if (!(c->flags & TCP_F_RTT)) {
				c->flags |= TCP_F_RTT;
				c->rtt_seq = c->snd_nxt + (uint32_t)l;
				c->rtt_ts = stack_now_ms(s);
			}
			c->snd_nxt += (uint32_t)l;
			done += l;
			if (ret != 0)
				break;	/* queued (guest busy) or dropped: stop here */
		}
		if (SEQ_GT(c->snd_nxt, c->snd_max))
			c->snd_max = c->snd_nxt;
		if (c->flags & TCP_F_ACKQ) {
			tcp_list_del(&t->acks, c, AN);
			c->flags &= ~(uint32_t)TCP_F_ACKQ;
		}
		if (done < (size_t)r) {
			/* peeked more than went out: put the peek offset back */
			int off = (int)(c->snd_nxt - c->snd_una);

			if (!(c->flags & TCP_F_NO_PEEKOFF))
				setsockopt(c->fd, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off));
			if (!s->guest_busy)
				break;	/* dropped on the way to the guest: the RTO resends */
		}
		/* short read: loop once more, to see EAGAIN or the end of stream (edge-triggered) */
	}
	tcp_timer_update(c, false);
	tcp_update_events(c);
}

/* ---- connection setup -------------------------------------------------- */

static uint32_t tcp_iss(const struct tcp_conn *c)
{
	const struct tcp_state *t = &c->s->tcp;
	uint32_t h = t->secret[1];

	/* RFC 6528: a keyed hash of the tuple plus a 4 us clock */
	h = tcp_mix(h, tcp_hash(t, &c->gaddr, c->gport, &c->raddr, c->rport));
	h = tcp_mix(h ^ t->secret[2], (uint32_t)c->gport << 16 | c->rport);
	return h + (uint32_t)(stack_now_ns(c->s) / 4000);
}

/* tcp_sock_setup() - options of a host socket that carries data from now on */
static void tcp_sock_setup(struct tcp_conn *c)
{
	int one = 1, zero = 0, dom = AF_INET;
	socklen_t sl = sizeof(dom);

	if (getsockopt(c->fd, SOL_SOCKET, SO_DOMAIN, &dom, &sl) == 0 && dom == AF_UNIX)
		c->flags |= TCP_F_UNIX;
	if (!(c->flags & TCP_F_UNIX)) {
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(c->fd, SOL_SOCKET, SO_OOBINLINE, &one, sizeof(one));
	}
	if (setsockopt(c->fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)) < 0)
		c->flags |= TCP_F_NO_PEEKOFF;
}

/* tcp_icmp_unreach() - ICMP unreachable quoting the guest's SYN (rebuilt from the flow) */
static void tcp_icmp_unreach(struct tcp_conn *c, uint8_t code)
{
	uint8_t q[40] = { 0 };
	uint16_t sum;

	q[0] = 0x45;
	put16(q + 2, sizeof(q));
	q[8] = 64;
	q[9] = IPPROTO_TCP;
	memcpy(q + 12, &c->gaddr.v4.a4, 4);
	memcpy(q + 16, &c->raddr.v4.a4, 4);
	sum = csum_ip4_header(q, 20);
	memcpy(q + 10, &sum, 2);
	put16(q + 20, c->gport);
	put16(q + 22, c->rport);
	put32(q + 24, c->rcv_nxt - 1);
	q[32] = 5 << 4;
	q[33] = TCP_SYN;
	put16(q + 34, (uint16_t)MIN(c->guest_wnd, 65535u));
	sum = csum_fold(csum_partial(q + 20, 20, csum_pseudo4(c->gaddr.v4.a4, c->raddr.v4.a4,
							       IPPROTO_TCP, 20)));
	memcpy(q + 36, &sum, 2);
	icmp4_error(c->s, ICMP_DEST_UNREACH, code, q, sizeof(q), c->s->cfg.host);
}

/* tcp_connected() - the host connect() finished with @err: answer the guest's SYN */
static void tcp_connected(struct tcp_conn *c, int err)
{
	if (err == ECONNREFUSED || (err && (c->flags & TCP_F_GUESTFWD)) ||
	    (err && tcp_is_v6(&c->gaddr))) {	/* IPv6: no ICMPv6 errors yet, a RST */
		tcp_send_ctl(c, TCP_RST | TCP_ACK, 0);
		tcp_free(c, false);
		return;
	}
	if (err) {
		tcp_icmp_unreach(c, err == ENETUNREACH ? ICMP_NET_UNREACH : ICMP_HOST_UNREACH);
		tcp_free(c, false);
		return;
	}
	tcp_sock_setup(c);
	c->iss = tcp_iss(c);
	c->snd_una = c->iss;
	c->snd_nxt = c->snd_max = c->iss + 1;
	c->state = TCP_S_SYN_RCVD;
	c->since_ms = stack_now_ms(c->s);
	c->backoff = 0;
	tcp_send_ctl(c, TCP_SYN | TCP_ACK, c->iss);
	tcp_rto_arm(c);
	tcp_update_events(c);
}

/* tcp_syn_options() - MSS and window scale of a guest SYN */
static void tcp_syn_options(struct tcp_conn *c, const struct tcp_seg *g)
{
	uint16_t cap = tcp_mtu_mss(c->s) - (g->v6 ? 20 : 0);

	c->mss = g->mss ? MIN(g->mss, cap) : MIN(TCP_MSS_DFL, cap);
	if (c->mss < 64)
		c->mss = 64;	/* bogus tiny MSS: no 1-byte segment storms */
	c->mss_adv = g->mss ? MIN(g->mss, cap) : cap;
	if (g->ws >= 0) {
		c->ws_guest = (uint8_t)MIN(g->ws, TCP_WS_MAX);
		c->ws_ours = TCP_WS_OURS;
	} else {
		c->ws_guest = c->ws_ours = 0;
	}
}

/* tcp_open_host() - socket + non-blocking connect() to @sa; fd or -errno */
static int tcp_open_host(const struct sockaddr_storage *sa, socklen_t salen)
{
	int fd, r, one = 1;

	fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)sa, salen) < 0 && errno != EINPROGRESS) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static void tcp_open_flow(struct user_stack *s, const struct tcp_seg *g, struct guestfwd *gf,
			  const union inany *ga, const union inany *ra,
			  const struct sockaddr_storage *sa, socklen_t salen);

/*
 * tcp6_input_new() - a guest SYN over IPv6: [ipv6-host] (the prefix) to ::1, [ipv6-dns]:53 to
 * the resolver, others through an IPv6 socket; restrict=on resets it (libslirp). A
 * destination that cannot be reached gets a RST (ICMPv6 errors are not generated yet).
 */
static void tcp6_input_new(struct user_stack *s, const struct tcp_seg *g)
{
	struct sockaddr_storage sa;
	union inany ga, ra;

	if (g->src6.s6_addr[0] == 0xff || g->dst6.s6_addr[0] == 0xff || ip6_is_unspec(&g->src6)) {
		s->tcp.stats.bad++;
		return;
	}
	if (s->cfg.restricted) {
		s->stats.restricted++;
		tcp_rst_reply(s, g);
		return;
	}
	memset(&sa, 0, sizeof(sa));
	if (stack_translate_out6(s, &g->dst6, g->dport, (struct sockaddr_in6 *)&sa) < 0) {
		tcp_rst_reply(s, g);
		return;
	}
	ga.a6 = g->src6;
	ra.a6 = g->dst6;
	tcp_open_flow(s, g, NULL, &ga, &ra, &sa, sizeof(struct sockaddr_in6));
}

/* tcp_input_new() - a segment for no known flow: a SYN opens one, anything else gets RST */
static void tcp_input_new(struct user_stack *s, const struct tcp_seg *g)
{
	struct sockaddr_storage sa;
	socklen_t salen = 0;
	struct guestfwd *gf;
	union inany ga, ra;

	if (g->flags & TCP_RST)
		return;
	if ((g->flags & (TCP_SYN | TCP_ACK | TCP_FIN)) != TCP_SYN) {
		tcp_rst_reply(s, g);
		return;
	}
	if (g->v6) {
		tcp6_input_new(s, g);
		return;
	}
	if (IN_MULTICAST(ntohl(g->dst.s_addr)) || IN_MULTICAST(ntohl(g->src.s_addr)) ||
	    g->src.s_addr == INADDR_ANY || g->src.s_addr == INADDR_BROADCAST) {
		s->tcp.stats.bad++;
		return;
	}
	gf = fwd_guestfwd_find(s, g->dst, g->dport);
	if (!gf && s->cfg.restricted) {
		s->stats.restricted++;
		tcp_rst_reply(s, g);
		return;
	}
	if (!gf && stack_translate_out4(s, g->dst, g->dport, &sa, &salen) < 0) {
		/* e.g. the DNS address on a port other than 53: libslirp's connect fails and
		 * the guest gets ICMP net unreachable, quoting its SYN */
		icmp4_error(s, ICMP_DEST_UNREACH, ICMP_NET_UNREACH, (const uint8_t *)g->ip,
			    (size_t)g->ip->ihl * 4 + g->len, s->cfg.host);
		return;
	}
	inany_from_v4(&ga, g->src);
	inany_from_v4(&ra, g->dst);
	tcp_open_flow(s, g, gf, &ga, &ra, &sa, salen);
}

/* tcp_open_flow() - the flow of a guest SYN (@ga/@ra its ends), connecting to @sa or @gf */
static void tcp_open_flow(struct user_stack *s, const struct tcp_seg *g, struct guestfwd *gf,
			  const union inany *ga, const union inany *ra,
			  const struct sockaddr_storage *sa, socklen_t salen)
{
	struct tcp_conn *c = tcp_conn_new(s, ga, g->sport, ra, g->dport);
	int fd;

	if (!c) {
		tcp_rst_reply(s, g);
		return;
	}
	c->state = TCP_S_CONNECTING;
	c->rcv_nxt = g->seq + 1;
	c->guest_wnd = g->win;
	if (gf)
		c->flags |= TCP_F_GUESTFWD;
	tcp_syn_options(c, g);
	fd = gf ? fwd_guestfwd_open(s, gf) : tcp_open_host(sa, salen);
	if (fd < 0) {
		tcp_connected(c, -fd);
		return;
	}
	c->fd = fd;
	if (stack_fd_add(s, &c->h, fd, EPOLLOUT | EPOLLET | EPOLLRDHUP, tcp_sock_event, c) < 0) {
		c->flags |= TCP_F_GUESTFWD;	/* answer with RST */
		tcp_connected(c, EMFILE);
		return;
	}
	tcp_set_deadline(c, stack_now_ms(s) + TCP_CONNECT_MS);
}

/* ---- guest -> host ----------------------------------------------------- */

/* tcp_discard_acked() - drop @n acknowledged bytes from the socket's receive queue */
static void tcp_discard_acked(struct tcp_conn *c, uint32_t n)
{
	while (n) {
		ssize_t r;

		if (c->flags & TCP_F_UNIX)
			r = recv(c->fd, tcp_discard_buf(&c->s->tcp), MIN((size_t)n, TCP_DISCARD_MAX),
				 MSG_DONTWAIT);
		else
			r = recv(c->fd, NULL, n, MSG_TRUNC | MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		n -= (uint32_t)MIN((size_t)r, (size_t)n);
	}
}

static void tcp_rtt_sample(struct tcp_conn *c, uint32_t rtt)
{
	if (!c->srtt) {
		c->srtt = rtt ? rtt : 1;
		c->rttvar = rtt / 2;
	} else {
		uint32_t d = c->srtt > rtt ? c->srtt - rtt : rtt - c->srtt;

		c->rttvar = (3 * c->rttvar + d) / 4;
		c->srtt = (7 * c->srtt + rtt) / 8;
		if (!c->srtt)
			c->srtt = 1;
	}
	c->rto = c->srtt + MAX(4 * c->rttvar, 10u);
	if (c->rto < TCP_RTO_MIN)
		c->rto = TCP_RTO_MIN;
	if (c->rto > TCP_RTO_MAX)
		c->rto = TCP_RTO_MAX;
}

/**
 * tcp_ack_input() - the guest's ACK field and window
 * Return: 1 go on with the segment, 0 drop it, -1 the connection is gone
 */
static int tcp_ack_input(struct tcp_conn *c, const struct tcp_seg *g)
{
	uint32_t oldwnd = c->guest_wnd, acked;
	bool more = false;

	if (SEQ_GT(g->ack, c->snd_max)) {
		tcp_send_ack(c);	/* acknowledges what we never sent */
		return 0;
	}
	if (SEQ_GE(g->ack, c->snd_una))
		c->guest_wnd = (uint32_t)g->win << c->ws_guest;
	if (SEQ_GT(g->ack, c->snd_una)) {
		acked = g->ack - c->snd_una;
		/*
		 * Our FIN sits at eof_seq. An ACK beyond it acknowledges the FIN, even
		 * when a rewind took FIN_SENT back before the guest's ACK came in.
		 */
		if ((c->flags & TCP_F_HOST_EOF) && SEQ_GT(g->ack, c->eof_seq)) {
			c->flags |= TCP_F_FIN_SENT | TCP_F_FIN_ACKED;
			c->fin_seq = c->eof_seq;
			acked = c->eof_seq - c->snd_una;
		}
		if (acked)
			tcp_discard_acked(c, acked);
		if ((c->flags & TCP_F_RTT) && SEQ_GE(g->ack, c->rtt_seq)) {
			tcp_rtt_sample(c, (uint32_t)(stack_now_ms(c->s) - c->rtt_ts));
			c->flags &= ~(uint32_t)TCP_F_RTT;
		}
		c->snd_una = g->ack;
		if (SEQ_LT(c->snd_nxt, c->snd_una))
			c->snd_nxt = c->snd_una;	/* acked past a rewind */
		c->dupacks = 0;
		if ((c->flags & TCP_F_RECOVERY) && SEQ_GE(g->ack, c->recover))
			c->flags &= ~(uint32_t)TCP_F_RECOVERY;
		c->backoff = 0;
		c->since_ms = stack_now_ms(c->s);
		tcp_timer_update(c, true);
		more = true;
	} else if (g->ack == c->snd_una && !g->dlen && !(g->flags & (TCP_FIN | TCP_SYN)) &&
		   c->guest_wnd == oldwnd && c->snd_nxt != c->snd_una &&
		   !(c->flags & TCP_F_RECOVERY)) {
		if (++c->dupacks == 3) {
			tcp_rewind(c);
			return c->state == TCP_S_FREE ? -1 : 1;
		}
	}
	if (c->guest_wnd > oldwnd || (c->flags & TCP_F_PAUSED))
		more = true;
	if (more && c->state == TCP_S_ESTABLISHED)
		tcp_sock_send(c);
	if (c->state == TCP_S_FREE)
		return -1;
	if (c->snd_nxt == c->snd_una)
		tcp_timer_update(c, false);
	return 1;
}

/* tcp_staged() - bytes of @c's payload gathered but not yet written */
static size_t tcp_staged(const struct tcp_conn *c)
{
	return c->s->tcp.stage_conn == c ? c->s->tcp.stage_len : 0;
}

/**
 * tcp_stage_flush() - write the gathered payload to its socket, as tcp_data_input() would
 * have written it segment by segment: what the socket took is acknowledged (after the
 * batch, by the ACK already queued), a partial write is acknowledged at once
 * Return: false if the connection was reset (and freed)
 */
static bool tcp_stage_flush(struct tcp_state *t)
{
	struct tcp_conn *c = t->stage_conn;
	size_t len = t->stage_len;
	ssize_t n;

	if (!c)
		return true;
	t->stage_conn = NULL;
	t->stage_len = 0;
	do {
		n = send(c->fd, t->stage, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			tcp_reset(c);
			return false;
		}
		n = 0;
	}
	c->rcv_nxt += (uint32_t)n;
	if ((size_t)n < len) {
		t->stats.partial_writes++;
		c->flags |= TCP_F_WANT_WRITE;
		tcp_send_ack(c);
	} else {
		tcp_ack_later(c);	/* an ACK sent meanwhile did not cover these bytes */
	}
	return true;
}

/**
 * tcp_stage() - gather an in-order payload of @c (at @seq) for one send() after the batch
 * Return: 1 taken (an ACK is queued), 0 write it directly, -1 the connection was reset
 */
static int tcp_stage(struct tcp_conn *c, uint32_t seq, const uint8_t *p, size_t len)
{
	struct tcp_state *t = &c->s->tcp;

	if (len > TCP_STAGE_SEG || c->state != TCP_S_ESTABLISHED || c->fd < 0)
		return 0;
	if (!t->stage) {
		t->stage = malloc(TCP_STAGE_MAX);
		if (!t->stage)
			return 0;
	}
	if (t->stage_conn && (t->stage_conn != c || t->stage_len + len > TCP_STAGE_MAX)) {
		bool mine = t->stage_conn == c;

		if (!tcp_stage_flush(t) && mine)
			return -1;
	}
	if (seq != c->rcv_nxt + (uint32_t)tcp_staged(c))
		return 0;	/* a partial write left a gap: the normal path answers */
	memcpy(t->stage + t->stage_len, p, len);
	t->stage_len += len;
	t->stage_conn = c;
	tcp_ack_later(c);
	return 1;
}

/* tcp_data_input() - write in-order payload to the socket, handle the FIN; false if freed */
static bool tcp_data_input(struct tcp_conn *c, const struct tcp_seg *g)
{
	const uint8_t *p = g->data;
	size_t len = g->dlen, off;
	bool fin = g->flags & TCP_FIN;
	ssize_t n = 0;

	if (!len && !fin)
		return true;
	if (!fin && !(c->flags & TCP_F_GUEST_FIN) && g->seq == c->rcv_nxt + (uint32_t)tcp_staged(c)) {
		int r = tcp_stage(c, g->seq, p, len);

		if (r)
			return r > 0;
	}
	if (tcp_staged(c) && !tcp_stage_flush(&c->s->tcp))
		return false;
	if (c->flags & TCP_F_GUEST_FIN) {
		tcp_send_ack(c);	/* retransmitted FIN or data after it */
		return true;
	}
	if (SEQ_GT(g->seq, c->rcv_nxt)) {
		c->s->tcp.stats.out_of_order++;
		tcp_send_ack(c);	/* duplicate ACK: the guest fills the hole */
		return true;
	}
	off = c->rcv_nxt - g->seq;
	if (off > len || (off == len && !fin)) {
		tcp_send_ack(c);	/* all old: our ACK was lost */
		return true;
	}
	p += off;
	len -= off;
	if (len) {
		do {
			n = send(c->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		} while (n < 0 && errno == EINTR);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				tcp_reset(c);
				return false;
			}
			n = 0;
		}
		c->rcv_nxt += (uint32_t)n;
		if ((size_t)n < len) {
			c->s->tcp.stats.partial_writes++;
			c->flags |= TCP_F_WANT_WRITE;
			tcp_send_ack(c);
			return true;
		}
	}
	if (fin) {
		c->rcv_nxt++;
		c->flags |= TCP_F_GUEST_FIN;
		if (!(c->flags & TCP_F_FIN_SENT))
			c->flags |= TCP_F_GUEST_FIN_FIRST;
		shutdown(c->fd, SHUT_WR);
		c->flags &= ~(uint32_t)TCP_F_WANT_WRITE;
		tcp_send_ack(c);
		return true;
	}
	tcp_ack_later(c);
	return true;
}

/* tcp_check_closed() - both directions finished: free (passive close) or TIME_WAIT */
static void tcp_check_closed(struct tcp_conn *c)
{
	if (c->state != TCP_S_ESTABLISHED ||
	    (c->flags & (TCP_F_GUEST_FIN | TCP_F_FIN_ACKED)) != (TCP_F_GUEST_FIN | TCP_F_FIN_ACKED))
		return;
	if (c->flags & TCP_F_GUEST_FIN_FIRST) {
		tcp_free(c, false);
		return;
	}
	c->state = TCP_S_TIME_WAIT;
	c->flags &= ~(uint32_t)TCP_F_PERSIST;
	tcp_update_events(c);
	tcp_set_deadline(c, stack_now_ms(c->s) + TCP_TIME_WAIT_MS);
}

/* tcp_rst_acceptable() - RFC 5961 3.2: exact match resets, in-window gets a challenge ACK */
static bool tcp_rst_input(struct tcp_conn *c, const struct tcp_seg *g)
{
	uint32_t wnd = MAX(c->rcv_wnd, 1u);

	if (g->seq == c->rcv_nxt) {
		tcp_free(c, true);
		return false;
	}
	if (SEQ_GT(g->seq, c->rcv_nxt) && SEQ_LT(g->seq, c->rcv_nxt + wnd))
		tcp_send_ack(c);
	return true;
}

static void tcp_established_input(struct tcp_conn *c, const struct tcp_seg *g)
{
	if (g->flags & TCP_RST) {
		tcp_rst_input(c, g);
		return;
	}
	if (g->flags & TCP_SYN) {
		tcp_send_ack(c);	/* RFC 5961 4.2 challenge ACK */
		return;
	}
	if (!(g->flags & TCP_ACK))
		return;
	if (tcp_ack_input(c, g) <= 0)
		return;
	if (!tcp_data_input(c, g))
		return;
	tcp_check_closed(c);
}

/* tcp_syn_sent_input() - the guest's answer to our hostfwd SYN */
static void tcp_syn_sent_input(struct tcp_conn *c, const struct tcp_seg *g)
{
	bool ack_ok = (g->flags & TCP_ACK) && g->ack == c->iss + 1;

	if (g->flags & TCP_RST) {
		if (ack_ok)
			tcp_free(c, true);
		return;
	}
	if ((g->flags & TCP_ACK) && !ack_ok) {
		tcp_rst_reply(c->s, g);
		return;
	}
	if (!(g->flags & TCP_SYN) || !ack_ok)
		return;
	c->rcv_nxt = g->seq + 1;
	tcp_syn_options(c, g);
	c->guest_wnd = g->win;	/* never scaled in a SYN */
	c->snd_una = g->ack;
	c->state = TCP_S_ESTABLISHED;
	c->since_ms = stack_now_ms(c->s);
	c->backoff = 0;
	tcp_set_deadline(c, 0);
	tcp_send_ack(c);
	tcp_sock_send(c);
}

/* tcp_syn_rcvd_input() - waiting for the ACK of our SYN-ACK */
static void tcp_syn_rcvd_input(struct tcp_conn *c, const struct tcp_seg *g)
{
	if (g->flags & TCP_RST) {
		if (SEQ_GE(g->seq, c->rcv_nxt) && SEQ_LT(g->seq, c->rcv_nxt + MAX(c->rcv_wnd, 1u)))
			tcp_free(c, true);
		return;
	}
	if (g->flags & TCP_SYN) {
		if (!(g->flags & TCP_ACK) && g->seq + 1 == c->rcv_nxt)
			tcp_send_ctl(c, TCP_SYN | TCP_ACK, c->iss);	/* our SYN-ACK was lost */
		return;
	}
	if (!(g->flags & TCP_ACK))
		return;
	if (g->ack != c->iss + 1) {
		tcp_rst_reply(c->s, g);
		return;
	}
	c->state = TCP_S_ESTABLISHED;
	c->snd_una = g->ack;
	c->guest_wnd = (uint32_t)g->win << c->ws_guest;
	c->since_ms = stack_now_ms(c->s);
	c->backoff = 0;
	tcp_set_deadline(c, 0);
	if (!tcp_data_input(c, g))
		return;
	tcp_sock_send(c);
	if (c->state != TCP_S_FREE)
		tcp_check_closed(c);
}

static void tcp_conn_input(struct tcp_conn *c, const struct tcp_seg *g)
{
	switch (c->state) {
	case TCP_S_CONNECTING:
		/* SYN retransmits wait for the host; an RST from the guest gives up */
		if ((g->flags & TCP_RST) && g->seq == c->rcv_nxt)
			tcp_free(c, true);
		return;
	case TCP_S_SYN_SENT:
		tcp_syn_sent_input(c, g);
		return;
	case TCP_S_SYN_RCVD:
		tcp_syn_rcvd_input(c, g);
		return;
	case TCP_S_ESTABLISHED:
		tcp_established_input(c, g);
		return;
	case TCP_S_TIME_WAIT:
		if ((g->flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN &&
		    SEQ_GT(g->seq, c->rcv_nxt)) {
			struct user_stack *s = c->s;

			tcp_free(c, false);	/* the guest reuses the port */
			tcp_input_new(s, g);
		} else if (g->flags & TCP_RST) {
			tcp_free(c, false);
		} else if (g->flags & TCP_FIN) {
			tcp_send_ack(c);
			tcp_set_deadline(c, stack_now_ms(c->s) + TCP_TIME_WAIT_MS);
		}
		return;
	default:
		return;
	}
}

/* tcp_parse_options() - MSS and window scale from the option area; a malformed option ends it */
static void tcp_parse_options(struct cursor *o, struct tcp_seg *g)
{
	while (cursor_remaining(o) > 0) {
		uint8_t kind = cursor_u8(o), olen;
		struct cursor v;

		if (kind == WIRE_TCPOPT_EOL)
			break;
		if (kind == WIRE_TCPOPT_NOP)
			continue;
		if (!cursor_remaining(o))
			break;
		olen = cursor_u8(o);
		if (olen < 2 || !cursor_sub(o, &v, olen - 2u))
			break;
		if (kind == WIRE_TCPOPT_MSS && olen == WIRE_TCPOLEN_MSS)
			g->mss = cursor_be16(&v);
		else if (kind == WIRE_TCPOPT_WSCALE && olen == WIRE_TCPOLEN_WSCALE)
			g->ws = cursor_u8(&v);
	}
}

/* tcp_parse() - validate a guest segment (lengths, checksum, options); 0 or -1 */
static int tcp_parse(const struct iphdr *ip, const uint8_t *l4, size_t len, bool csum_ok,
		     struct tcp_seg *g)
{
	struct cursor c, o;
	size_t hlen;

	if (len > WIRE_IP4_MAX)
		return -1;
	memset(g, 0, sizeof(*g));
	cursor_init_buf(&c, l4, len);
	g->sport = cursor_be16(&c);
	g->dport = cursor_be16(&c);
	g->seq = cursor_be32(&c);
	g->ack = cursor_be32(&c);
	hlen = (size_t)(cursor_u8(&c) >> 4) * 4;
	g->flags = cursor_u8(&c);
	g->win = cursor_be16(&c);
	/* checksum, and the urgent pointer: ignored, urgent bytes are ordinary data */
	cursor_skip(&c, 4);
	if (!cursor_ok(&c) || hlen < WIRE_TCP_HLEN || hlen > len)
		return -1;
	cursor_sub(&c, &o, hlen - WIRE_TCP_HLEN);
	g->ip = ip;
	g->l4 = l4;
	g->len = len;
	/* @ip may sit at any alignment inside the frame; NULL: IPv6, checked by tcp6_input */
	if (ip) {
		memcpy(&g->src, (const uint8_t *)ip + WIRE_IP4_SADDR_OFF, WIRE_IP4_ADDR_LEN);
		memcpy(&g->dst, (const uint8_t *)ip + WIRE_IP4_DADDR_OFF, WIRE_IP4_ADDR_LEN);
		if (!csum_ok && csum_fold(csum_partial(l4, len, csum_pseudo4(g->src, g->dst,
									      IPPROTO_TCP,
									      (uint16_t)len))) != 0)
			return -1;
	}
	g->data = l4 + hlen;
	g->dlen = len - hlen;
	g->ws = -1;
	if (!g->sport || !g->dport)
		return -1;
	tcp_parse_options(&o, g);
	return 0;
}

void tcp4_input(struct user_stack *s, const struct iphdr *ip, const uint8_t *l4, size_t len)
{
	struct tcp_seg g;
	union inany ga, ra;
	struct tcp_conn *c;

	if (!s->tcp.conns)
		return;
	if (tcp_parse(ip, l4, len, s->rx_csum_ok, &g) < 0) {
		s->tcp.stats.bad++;
		s->stats.bad_l4++;
		return;
	}
	inany_from_v4(&ga, g.src);
	inany_from_v4(&ra, g.dst);
	c = tcp_lookup(&s->tcp, &ga, g.sport, &ra, g.dport);
	if (c && s->tcp.stage_conn == c && (g.flags & (TCP_RST | TCP_SYN | TCP_FIN)) &&
	    !tcp_stage_flush(&s->tcp))
		return;	/* reset by the write: the guest gets that RST */
	if (c)
		tcp_conn_input(c, &g);
	else
		tcp_input_new(s, &g);
}

void tcp6_input(struct user_stack *s, const uint8_t *ip, const uint8_t *l4, size_t len)
{
	struct in6_addr src, dst;
	struct tcp_seg g;
	union inany ga, ra;
	struct tcp_conn *c;

	if (!s->tcp.conns)
		return;
	memcpy(&src, ip + 8, sizeof(src));
	memcpy(&dst, ip + 24, sizeof(dst));
	if ((!s->rx_csum_ok &&
	     csum_fold(csum_partial(l4, len, csum_pseudo6(&src, &dst, IPPROTO_TCP, (uint32_t)len)))) ||
	    tcp_parse(NULL, l4, len, true, &g) < 0) {
		s->tcp.stats.bad++;
		s->stats.bad_l4++;
		return;
	}
	g.v6 = true;
	g.src6 = src;
	g.dst6 = dst;
	ga.a6 = src;
	ra.a6 = dst;
	c = tcp_lookup(&s->tcp, &ga, g.sport, &ra, g.dport);
	if (c && s->tcp.stage_conn == c && (g.flags & (TCP_RST | TCP_SYN | TCP_FIN)) &&
	    !tcp_stage_flush(&s->tcp))
		return;
	if (c)
		tcp_conn_input(c, &g);
	else
		tcp_input_new(s, &g);
}

/* ---- host socket events ------------------------------------------------ */

static void tcp_sock_event(struct stack_fd *h, uint32_t events)
{
	struct tcp_conn *c = h->opaque;
	int err = 0;
	socklen_t sl = sizeof(err);

	if (c->state == TCP_S_CONNECTING) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
			err = errno;
		if (!err && (events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLOUT))
			err = ECONNREFUSED;
		tcp_connected(c, err);
		return;
	}
	if (events & EPOLLERR) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl) == 0 && err) {
			if (c->state == TCP_S_SYN_SENT)
				tcp_free(c, true);
			else
				tcp_reset(c);
			return;
		}
	}
	if ((events & EPOLLOUT) && (c->flags & TCP_F_WANT_WRITE) &&
	    c->state == TCP_S_ESTABLISHED) {
		c->flags &= ~(uint32_t)TCP_F_WANT_WRITE;
		tcp_send_ack(c);	/* window update */
	}
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))
		tcp_sock_send(c);
	else
		tcp_update_events(c);
}

/* ---- hostfwd ----------------------------------------------------------- */

/* tcp_hostfwd_source() - address and port the guest sees for a hostfwd client */
static void tcp_hostfwd_source(struct user_stack *s, const struct sockaddr_storage *peer,
			       struct in_addr *a, uint16_t *port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)peer;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)peer;
	uint32_t h;

	*a = s->cfg.host;
	*port = 0;
	if (peer->ss_family == AF_INET) {
		*a = sin->sin_addr;
		*port = ntohs(sin->sin_port);
	} else if (peer->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		memcpy(a, sin6->sin6_addr.s6_addr + 12, 4);
		*port = ntohs(sin6->sin6_port);
	} else if (peer->ss_family == AF_INET6) {
		*port = ntohs(sin6->sin6_port);	/* IPv6 clients: shown as the gateway for now */
		return;
	}
	h = ntohl(a->s_addr);
	if (!h || (h >> 24) == 127)
		*a = s->cfg.host;
}

void tcp_hostfwd_accept(struct user_stack *s, struct hostfwd *hf, int fd,
			const struct sockaddr_storage *peer, socklen_t peerlen)
{
	struct tcp_state *t = &s->tcp;
	struct in_addr src, dst;
	union inany ga, ra;
	struct tcp_conn *c;
	uint16_t sport;

	if (!t->conns) {
		close(fd);
		return;
	}
	tcp_hostfwd_source(s, peer, &src, &sport);
	dst = hf->gaddr.s_addr ? hf->gaddr : dhcp_first_lease(s);
	inany_from_v4(&ga, dst);
	inany_from_v4(&ra, src);
	for (int tries = 0; !sport || tcp_lookup(t, &ga, hf->gport, &ra, sport); tries++) {
		if (tries == 16384) {
			close(fd);
			return;
		}
		if (t->eport < 49152)
			t->eport = (uint16_t)(49152 + (t->secret[3] % 16384));
		sport = t->eport++;
	}
	c = tcp_conn_new(s, &ga, hf->gport, &ra, sport);
	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->flags |= TCP_F_HOSTFWD;
	c->state = TCP_S_SYN_SENT;
	c->mss = MIN(TCP_MSS_DFL, tcp_mtu_mss(s));
	tcp_sock_setup(c);
	c->iss = tcp_iss(c);
	c->snd_una = c->iss;
	c->snd_nxt = c->snd_max = c->iss + 1;
	if (stack_fd_add(s, &c->h, fd, EPOLLET | EPOLLRDHUP, tcp_sock_event, c) < 0) {
		tcp_free(c, true);
		return;
	}
	tcp_send_ctl(c, TCP_SYN, c->iss);
	tcp_rto_arm(c);
}

/* ---- the rest of the API ----------------------------------------------- */

void tcp_guest_resumed(struct user_stack *s)
{
	struct tcp_state *t = &s->tcp;
	unsigned n = t->nconns;

	while (t->blocked && !s->guest_busy && n--) {
		struct tcp_conn *c = t->blocked;

		tcp_list_del(&t->blocked, c, BN);
		c->flags &= ~(uint32_t)TCP_F_BLOCKED;
		tcp_sock_send(c);
	}
}

static const char *tcp_state_name(const struct tcp_conn *c)
{
	uint32_t f = c->flags;

	switch (c->state) {
	case TCP_S_CONNECTING:
	case TCP_S_SYN_RCVD:
		return "SYN_RCVD";
	case TCP_S_SYN_SENT:
		return "SYN_SENT";
	case TCP_S_TIME_WAIT:
		return "TIME_WAIT";
	case TCP_S_ESTABLISHED:
		break;
	default:
		return "CLOSED";
	}
	if (!(f & TCP_F_GUEST_FIN))
		return !(f & TCP_F_FIN_SENT) ? "ESTABLISHED" :
		       (f & TCP_F_FIN_ACKED) ? "FIN_WAIT_2" : "FIN_WAIT_1";
	if (!(f & TCP_F_FIN_SENT))
		return "CLOSE_WAIT";
	return (f & TCP_F_GUEST_FIN_FIRST) ? "LAST_ACK" : "CLOSING";
}

void tcp_info_usernet(struct user_stack *s, struct sbuf *out)
{
	struct tcp_state *t = &s->tcp;

	for (unsigned i = 0; t->conns && i < t->hwm; i++) {
		struct tcp_conn *c = &t->conns[i];
		char col[32], a1[INET_ADDRSTRLEN] = "*", a2[INET_ADDRSTRLEN];
		int inq = 0, outq = 0, p1, p2;

		if (c->state == TCP_S_FREE)
			continue;
		if (c->fd >= 0) {
			if (ioctl(c->fd, SIOCINQ, &inq) < 0)
				inq = 0;
			if (ioctl(c->fd, SIOCOUTQ, &outq) < 0)
				outq = 0;
		}
		snprintf(col, sizeof(col), "  TCP[%s]", tcp_state_name(c));
		if (tcp_is_v6(&c->gaddr)) {
			char g6[INET6_ADDRSTRLEN], r6[INET6_ADDRSTRLEN];

			inet_ntop(AF_INET6, &c->gaddr.a6, g6, sizeof(g6));
			inet_ntop(AF_INET6, &c->raddr.a6, r6, sizeof(r6));
			sbuf_printf(out, "%-19s %3d %15s %5d %15s %5d %5d %5d\n", col, c->fd, g6,
				    c->gport, r6, c->rport, inq, outq);
			continue;
		}
		if (c->flags & TCP_F_HOSTFWD) {
			struct sockaddr_storage ss;
			struct sockaddr_in *sin = (struct sockaddr_in *)(void *)&ss;
			socklen_t sl = sizeof(ss);

			p1 = 0;
			if (getsockname(c->fd, (struct sockaddr *)&ss, &sl) == 0 &&
			    ss.ss_family == AF_INET) {
				if (sin->sin_addr.s_addr)
					inet_ntop(AF_INET, &sin->sin_addr, a1, sizeof(a1));
				p1 = ntohs(sin->sin_port);
			}
			inet_ntop(AF_INET, &c->gaddr.v4.a4, a2, sizeof(a2));
			p2 = c->gport;
		} else {
			inet_ntop(AF_INET, &c->gaddr.v4.a4, a1, sizeof(a1));
			inet_ntop(AF_INET, &c->raddr.v4.a4, a2, sizeof(a2));
			p1 = c->gport;
			p2 = c->rport;
		}
		sbuf_printf(out, "%-19s %3d %15s %5d %15s %5d %5d %5d\n", col, c->fd, a1, p1, a2,
			    p2, inq, outq);
	}
}

unsigned tcp_count(const struct user_stack *s)
{
	return s->tcp.nconns;
}

void tcp_init(struct user_stack *s)
{
	struct tcp_state *t = &s->tcp;

	memset(t, 0, sizeof(*t));
	t->conns = calloc(TCP_CONNS_MAX, sizeof(*t->conns));
	t->hash = calloc(TCP_HASH_BUCKETS, sizeof(*t->hash));
	if (!t->conns || !t->hash) {
		free(t->conns);
		free(t->hash);
		t->conns = NULL;
		t->hash = NULL;
		error_report("tcp: out of memory");
		return;
	}
	if (getrandom(t->secret, sizeof(t->secret), GRND_NONBLOCK) != sizeof(t->secret)) {
		uint64_t ns = stack_now_ns(s);

		t->secret[0] = (uint32_t)ns ^ 0x5bd1e995u;
		t->secret[1] = (uint32_t)(ns >> 32) ^ (uint32_t)getpid();
		t->secret[2] = (uint32_t)(uintptr_t)s;
		t->secret[3] = (uint32_t)ns * 2654435761u;
	}
	stack_timer_init(s, &t->timer, tcp_timer_cb, s);
	stack_defer_init(s, &t->defer, tcp_acks_flush, s);
}

void tcp_fini(struct user_stack *s)
{
	struct tcp_state *t = &s->tcp;

	if (!t->conns)
		return;
	for (unsigned i = 0; i < t->hwm; i++)
		if (t->conns[i].state != TCP_S_FREE)
			tcp_free(&t->conns[i], false);
	stack_timer_cancel(&t->timer);
	stack_defer_cancel(&t->defer);
	free(t->conns);
	free(t->hash);
	free(t->batch);
	free(t->tso_batch);
	free(t->stage);
	free(t->discard);
	memset(t, 0, sizeof(*t));
}
