// SPDX-License-Identifier: MIT
// tcp.c - TCP NAT: guest connections translated onto host sockets, without a second TCP stack:
// the connection table, set-up, guest -> host input, socket events, hostfwd and the API
// (output towards the guest is in tcp_out.c, timers in tcp_timer.c)

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
#include "tcp_internal.h"

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

/* sink for bytes discarded by reading (AF_UNIX) or skipped by peeking (no SO_PEEK_OFF) */
/* tcp_discard_buf() - this stack's sink for bytes read only to skip them (allocated on first use) */
uint8_t *tcp_discard_buf(struct tcp_state *t)
{
	if (!t->discard)
		t->discard = xmalloc(TCP_DISCARD_MAX);
	return t->discard;
}

/* ---- circular lists ---------------------------------------------------- */

static struct tcp_node *tcp_node(struct tcp_conn *c, size_t off)
{
	return (struct tcp_node *)(void *)((char *)c + off);
}

void tcp_list_add(struct tcp_conn **head, struct tcp_conn *c, size_t off)
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

void tcp_list_del(struct tcp_conn **head, struct tcp_conn *c, size_t off)
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

void tcp_set_deadline(struct tcp_conn *c, uint64_t when)
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
void tcp_free(struct tcp_conn *c, bool abort)
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
bool tcp_stage_flush(struct tcp_state *t)
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

void tcp_sock_event(struct stack_fd *h, uint32_t events)
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

