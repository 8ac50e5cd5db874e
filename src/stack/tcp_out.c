// SPDX-License-Identifier: MIT
// tcp_out.c - TCP towards the guest: segments, checksums/TSO, windows, ACKs, and moving what the
// host socket has to the guest (MSG_PEEK into the frames being built)

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
bool tcp_is_v6(const union inany *a)
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
void tcp_rst_reply(struct user_stack *s, const struct tcp_seg *g)
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

uint16_t tcp_mtu_mss(const struct user_stack *s)
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
void tcp_update_events(struct tcp_conn *c)
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
int tcp_send_ctl(struct tcp_conn *c, uint8_t flags, uint32_t seq)
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

void tcp_send_ack(struct tcp_conn *c)
{
	tcp_send_ctl(c, TCP_ACK, c->snd_nxt);
	tcp_update_events(c);
}

/* tcp_ack_later() - acknowledge after the current batch of guest frames (one ACK for many) */
void tcp_ack_later(struct tcp_conn *c)
{
	struct tcp_state *t = &c->s->tcp;

	if (c->flags & TCP_F_ACKQ)
		return;
	tcp_list_add(&t->acks, c, AN);
	c->flags |= TCP_F_ACKQ;
	stack_defer(&t->defer);
}

void tcp_acks_flush(struct stack_defer *d)
{
	struct user_stack *s = d->opaque;

	tcp_stage_flush(&s->tcp);
	while (s->tcp.acks)
		tcp_send_ack(s->tcp.acks);	/* tcp_send_ctl() unlinks it */
}

/* tcp_reset() - RST to the guest and to the host peer, free */
void tcp_reset(struct tcp_conn *c)
{
	if (c->state == TCP_S_CONNECTING)
		tcp_send_ctl(c, TCP_RST | TCP_ACK, 0);
	else if (c->state != TCP_S_SYN_SENT)
		tcp_send_ctl(c, TCP_RST | TCP_ACK, c->snd_nxt);
	else
		tcp_send_ctl(c, TCP_RST, c->snd_nxt);
	tcp_free(c, true);
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
void tcp_sock_send(struct tcp_conn *c)
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

