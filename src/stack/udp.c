// SPDX-License-Identifier: MIT
// udp.c - UDP NAT: guest flows onto host UDP sockets (full cone), UDP hostfwd, host errors as ICMP

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../core/cursor.h"
#include "../core/log.h"
#include "../core/wire.h"
#include "csum.h"
#include "stack.h"

/*
 * DOC: UDP NAT
 *
 * Each guest source (address, port) gets one host UDP socket (libslirp's
 * model, "full cone"): the guest may send to any destination through it, and
 * datagrams from any host peer come back to the guest from that peer's
 * address, translated back (stack_translate_in4(): the resolver appears as
 * 10.0.2.3, loopback as 10.0.2.2).
 *
 * A flow of the second kind belongs to a UDP hostfwd: datagrams a host peer
 * sends to the hostfwd socket go to the guest, and the guest's replies to
 * (peer as seen, port) go back through the hostfwd socket to that peer. These
 * flows are keyed by the guest side and the peer as the guest sees it.
 *
 * The table is a fixed array of UDP_FLOWS_MAX slots with a hash index and an
 * LRU list; when it is full the least recently used flow is evicted. Flows
 * expire UDP_EXPIRE_MS after their last use, UDP_EXPIRE_DNS_MS after a reply
 * from port 53 (libslirp's SO_EXPIREFAST).
 */

enum udp_kind { UDP_NAT, UDP_HOSTFWD };

/**
 * struct udp_flow - one guest UDP flow
 * @used:	slot in use
 * @kind:	UDP_NAT (own socket) or UDP_HOSTFWD (through @hf's socket)
 * @paused:	EPOLLIN dropped while the guest was busy
 * @bcast:	the guest's last datagram went to a broadcast address (sent to loopback)
 * @gaddr, @gport: guest side (port in host order)
 * @raddr, @rport: UDP_HOSTFWD: the peer as the guest sees it; zero for UDP_NAT
 * @fd:		UDP_NAT: the host socket
 * @h:		its loop handle
 * @s:		the stack
 * @hf:		UDP_HOSTFWD: the rule whose socket is used
 * @peer:	UDP_NAT: last host destination; UDP_HOSTFWD: the host sender
 * @orig_dst, @orig_dport: UDP_NAT: where the guest last sent to (as it addressed it)
 * @expire_ms:	stack_now_ms(s) time of expiry
 * @ttl, @tos:	IP_TTL / IP_TOS currently set on @fd, -1 if never set
 * @v6:		an IPv6 flow (udp6_input): @gaddr is the guest's IPv6 address, @fd an IPv6
 *		socket (v4-mapped destinations too: the resolver may be IPv4)
 * @orig6:	@v6: where the guest last sent to (as it addressed it)
 * @hnext:	hash chain, or free list
 * @lru_prev, @lru_next: LRU list (most recent first)
 */
struct udp_flow {
	bool used;
	uint8_t kind;
	bool paused;
	bool bcast;
	union inany gaddr, raddr;
	uint16_t gport, rport;
	int fd;
	struct stack_fd h;
	struct user_stack *s;
	struct hostfwd *hf;
	struct sockaddr_in peer;
	struct in_addr orig_dst;
	uint16_t orig_dport;
	uint64_t expire_ms;
	int ttl, tos;
	bool v6;
	struct in6_addr orig6;
	int32_t hnext, lru_prev, lru_next;
};


/* ---- table: hash, LRU, allocation ---- */

static uint32_t udp_mix(uint32_t h, uint32_t w)
{
	h ^= w;
	h *= 0x9e3779b1u;
	return h ^ (h >> 15);
}

static uint32_t udp_hash(uint32_t seed, uint8_t kind, const union inany *g, uint16_t gport, const union inany *r,
			 uint16_t rport)
{
	uint32_t h = seed ^ kind, w[4];

	memcpy(w, g, 16);
	for (int i = 0; i < 4; i++)
		h = udp_mix(h, w[i]);
	memcpy(w, r, 16);
	for (int i = 0; i < 4; i++)
		h = udp_mix(h, w[i]);
	h = udp_mix(h, (uint32_t)gport << 16 | rport);
	return h & (UDP_HASH_SIZE - 1);
}

static uint32_t udp_flow_bucket(const struct udp_state *u, const struct udp_flow *f)
{
	return udp_hash(u->seed, f->kind, &f->gaddr, f->gport, &f->raddr, f->rport);
}

/* udp_find_any() - the flow of guest @ga:@gport (UDP_HOSTFWD: and peer @ra:@rport), or -1 */
static int32_t udp_find_any(struct user_stack *s, uint8_t kind, union inany ga, uint16_t gport,
			    union inany ra, uint16_t rport)
{
	if (kind == UDP_NAT) {
		memset(&ra, 0, sizeof(ra));
		rport = 0;
	}
	for (int32_t i = s->udp.hash[udp_hash(s->udp.seed, kind, &ga, gport, &ra, rport)]; i >= 0;
	     i = s->udp.flows[i].hnext) {
		struct udp_flow *f = &s->udp.flows[i];

		if (f->kind == kind && f->gport == gport && f->rport == rport &&
		    !memcmp(&f->gaddr, &ga, sizeof(ga)) && !memcmp(&f->raddr, &ra, sizeof(ra)))
			return i;
	}
	return -1;
}

static int32_t udp_find(struct user_stack *s, uint8_t kind, struct in_addr g, uint16_t gport,
			struct in_addr r, uint16_t rport)
{
	union inany ga, ra;

	inany_from_v4(&ga, g);
	inany_from_v4(&ra, r);
	return udp_find_any(s, kind, ga, gport, ra, rport);
}

static void udp_lru_unlink(struct udp_state *u, int32_t i)
{
	struct udp_flow *f = &u->flows[i];

	if (f->lru_prev >= 0)
		u->flows[f->lru_prev].lru_next = f->lru_next;
	else
		u->lru_head = f->lru_next;
	if (f->lru_next >= 0)
		u->flows[f->lru_next].lru_prev = f->lru_prev;
	else
		u->lru_tail = f->lru_prev;
	f->lru_prev = f->lru_next = -1;
}

static void udp_lru_push(struct udp_state *u, int32_t i)
{
	struct udp_flow *f = &u->flows[i];

	f->lru_prev = -1;
	f->lru_next = u->lru_head;
	if (u->lru_head >= 0)
		u->flows[u->lru_head].lru_prev = i;
	u->lru_head = i;
	if (u->lru_tail < 0)
		u->lru_tail = i;
}

/* udp_timer_want() - make sure the expiry timer fires no later than @when (absolute ms) */
static void udp_timer_want(struct user_stack *s, uint64_t when)
{
	uint64_t now = stack_now_ms(s);

	if (stack_timer_armed(&s->udp.timer) && s->udp.timer.deadline <= when)
		return;
	stack_timer_arm(&s->udp.timer, when > now ? when - now : 0);
}

/* udp_touch() - the flow was used: most recent in the LRU, expiry pushed back */
static void udp_touch(struct user_stack *s, int32_t i, uint64_t expire_in)
{
	struct udp_flow *f = &s->udp.flows[i];

	f->expire_ms = stack_now_ms(s) + expire_in;
	if (s->udp.lru_head != i) {
		udp_lru_unlink(&s->udp, i);
		udp_lru_push(&s->udp, i);
	}
	udp_timer_want(s, f->expire_ms);
}

static void udp_flow_free(struct user_stack *s, int32_t i)
{
	struct udp_state *u = &s->udp;
	struct udp_flow *f = &u->flows[i];
	int32_t *pp;

	if (!f->used)
		return;
	for (pp = &u->hash[udp_flow_bucket(u, f)]; *pp >= 0; pp = &u->flows[*pp].hnext) {
		if (*pp == i) {
			*pp = f->hnext;
			break;
		}
	}
	udp_lru_unlink(u, i);
	if (f->fd >= 0) {
		stack_fd_del(&f->h);
		close(f->fd);
	}
	if (f->paused)
		u->npaused--;
	if (f->kind == UDP_HOSTFWD)
		u->nhostfwd--;
	memset(f, 0, sizeof(*f));
	f->fd = -1;
	f->hnext = u->free;
	f->lru_prev = f->lru_next = -1;
	u->free = i;
	u->nflows--;
}

static void udp_sock_event(struct stack_fd *h, uint32_t events);

/**
 * udp_flow_new() - take a slot (evicting the least recently used flow if full)
 * Return: the index, or -1 (UDP_NAT: no socket could be made)
 */
static int32_t udp_flow_new_any(struct user_stack *s, uint8_t kind, bool v6, union inany g,
				uint16_t gport, union inany r, uint16_t rport)
{
	struct udp_state *u = &s->udp;
	struct udp_flow *f;
	int fd = -1, one = 1, zero = 0;
	int32_t i;

	if (kind == UDP_NAT) {
		fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			debug("udp: socket: %s", strerror(errno));
			return -1;
		}
		/* host ICMP errors come back through MSG_ERRQUEUE (IPv4 for now) */
		if (!v6)
			setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
		else	/* dual stack: an IPv4 resolver is reached v4-mapped */
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	}
	if (u->free < 0) {
		u->stats_evicted++;
		udp_flow_free(s, u->lru_tail);
	}
	i = u->free;
	f = &u->flows[i];
	u->free = f->hnext;
	memset(f, 0, sizeof(*f));
	f->used = true;
	f->kind = kind;
	f->v6 = v6;
	f->gaddr = g;
	f->gport = gport;
	if (kind == UDP_HOSTFWD) {
		f->raddr = r;
		f->rport = rport;
		u->nhostfwd++;
	}
	f->fd = fd;
	f->s = s;
	f->ttl = f->tos = -1;
	f->lru_prev = f->lru_next = -1;
	f->hnext = u->hash[udp_flow_bucket(u, f)];
	u->hash[udp_flow_bucket(u, f)] = i;
	udp_lru_push(u, i);
	u->nflows++;
	if (fd >= 0 && stack_fd_add(s, &f->h, fd, EPOLLIN, udp_sock_event, f) < 0) {
		close(fd);
		f->fd = -1;
		udp_flow_free(s, i);
		return -1;
	}
	return i;
}

static int32_t udp_flow_new(struct user_stack *s, uint8_t kind, struct in_addr g, uint16_t gport,
			    struct in_addr r, uint16_t rport)
{
	union inany ga, ra;

	inany_from_v4(&ga, g);
	inany_from_v4(&ra, r);
	return udp_flow_new_any(s, kind, false, ga, gport, ra, rport);
}

static void udp_timer_cb(struct stack_timer *t)
{
	struct user_stack *s = t->opaque;
	struct udp_state *u = &s->udp;
	uint64_t now = stack_now_ms(s), next = UINT64_MAX;
	int32_t i = u->lru_head;

	while (i >= 0) {
		int32_t n = u->flows[i].lru_next;

		if (u->flows[i].expire_ms <= now)
			udp_flow_free(s, i);
		else if (u->flows[i].expire_ms < next)
			next = u->flows[i].expire_ms;
		i = n;
	}
	/* scan at most once a second: expiry is reported in whole seconds anyway */
	if (next != UINT64_MAX)
		stack_timer_arm(t, MAX(next - now, 1000));
}

void udp_age(struct user_stack *s, uint64_t ms)
{
	for (int32_t i = s->udp.lru_head; i >= 0; i = s->udp.flows[i].lru_next)
		s->udp.flows[i].expire_ms -= MIN(ms, s->udp.flows[i].expire_ms);
	udp_timer_cb(&s->udp.timer);
}

void udp_init(struct user_stack *s)
{
	struct udp_state *u = &s->udp;

	if (getrandom(&u->seed, sizeof(u->seed), GRND_NONBLOCK) != sizeof(u->seed))
		u->seed = (uint32_t)stack_now_ns(s) | 1;
	u->flows = xzalloc(sizeof(*u->flows) * UDP_FLOWS_MAX);
	u->hash = xmalloc(sizeof(*u->hash) * UDP_HASH_SIZE);
	for (unsigned b = 0; b < UDP_HASH_SIZE; b++)
		u->hash[b] = -1;
	for (int32_t i = 0; i < UDP_FLOWS_MAX; i++) {
		u->flows[i].fd = -1;
		u->flows[i].lru_prev = u->flows[i].lru_next = -1;
		u->flows[i].hnext = i + 1 < UDP_FLOWS_MAX ? i + 1 : -1;
	}
	u->free = 0;
	u->lru_head = u->lru_tail = -1;
	u->nflows = u->nhostfwd = u->npaused = 0;
	u->rxbuf = NULL;
	stack_timer_init(s, &u->timer, udp_timer_cb, s);
}

void udp_fini(struct user_stack *s)
{
	struct udp_state *u = &s->udp;

	if (!u->flows)
		return;
	while (u->lru_head >= 0)
		udp_flow_free(s, u->lru_head);
	stack_timer_cancel(&u->timer);
	free(u->flows);
	free(u->hash);
	free(u->rxbuf);
	u->flows = NULL;
	u->hash = NULL;
	u->rxbuf = NULL;
}

/* ---- output to the guest ---- */

int udp4_output(struct user_stack *s, struct in_addr src, uint16_t sport, struct in_addr dst,
		uint16_t dport, const void *payload, size_t len)
{
	uint8_t uh[8];
	struct iovec iov[2];
	uint16_t ulen, sum;

	if (len > 65535 - 20 - 8)
		return -1;
	ulen = (uint16_t)(len + 8);
	uh[0] = (uint8_t)(sport >> 8);
	uh[1] = (uint8_t)sport;
	uh[2] = (uint8_t)(dport >> 8);
	uh[3] = (uint8_t)dport;
	uh[4] = (uint8_t)(ulen >> 8);
	uh[5] = (uint8_t)ulen;
	uh[6] = uh[7] = 0;
	iov[0].iov_base = uh;
	iov[0].iov_len = 8;
	iov[1].iov_base = (void *)payload;
	iov[1].iov_len = len;
	sum = csum_fold(csum_iov(iov, 2, csum_pseudo4(src, dst, IPPROTO_UDP, ulen)));
	if (!sum)
		sum = 0xffff;	/* RFC 768: a computed zero is sent as all ones */
	memcpy(&uh[6], &sum, 2);
	return stack_output_ip4(s, src, dst, IPPROTO_UDP, 0, iov, 2);
}

/**
 * udp_error_to_guest() - an ICMP error about a guest datagram (@ip header, UDP at @l4)
 *
 * The IP header and the datagram may not be contiguous (reassembly, options):
 * quote a rebuilt header without options followed by the start of the datagram.
 */
static void udp_error_to_guest(struct user_stack *s, const struct iphdr *ip, const uint8_t *l4,
			       size_t len, uint8_t type, uint8_t code, struct in_addr src)
{
	uint8_t q[ICMP_QUOTE_MAX - 28];
	size_t n = MIN(len, sizeof(q) - 20);
	uint16_t tot = (uint16_t)MIN(len + 20, 65535), c;

	memcpy(q, ip, 20);
	q[0] = 0x45;
	q[2] = (uint8_t)(tot >> 8);
	q[3] = (uint8_t)tot;
	q[10] = q[11] = 0;
	c = csum_ip4_header(q, 20);
	memcpy(&q[10], &c, 2);
	memcpy(q + 20, l4, n);
	icmp4_error(s, type, code, q, 20 + n, src);
}

/* ---- host errors (IP_RECVERR) ---- */

/* udp_map_error() - the ICMP error the guest gets for one the host got; false: none */
static bool udp_map_error(uint8_t *type, uint8_t *code)
{
	if (*type == ICMP_TIME_EXCEEDED) {
		*code = *code ? ICMP_EXC_FRAGTIME : ICMP_EXC_TTL;
		return true;
	}
	if (*type != ICMP_DEST_UNREACH)
		return false;
	switch (*code) {
	case ICMP_PORT_UNREACH:
		return true;
	case ICMP_NET_UNREACH:
	case ICMP_NET_UNKNOWN:
	case ICMP_NET_ANO:
	case ICMP_NET_UNR_TOS:
		*code = ICMP_NET_UNREACH;
		return true;
	case ICMP_FRAG_NEEDED:
		/* the host re-fragments the next datagram to the new path MTU itself */
		return false;
	default:
		*code = ICMP_HOST_UNREACH;
		return true;
	}
}

static struct in_addr udp_seen_orig(struct user_stack *s, const struct udp_flow *f)
{
	return f->bcast ? s->cfg.host : f->orig_dst;
}

/**
 * udp_drain_errqueue() - forward the host's ICMP errors on a NAT flow's socket to the guest
 * Return: errors read (any kind)
 */
static int udp_drain_errqueue(struct user_stack *s, struct udp_flow *f)
{
	uint8_t pkt[ICMP_QUOTE_MAX - 28];
	struct icmp_sockerr e;
	int n = 0, r;

	/* bounded: the queue is emptied, but never more than this per call */
	while (n < 64 && (r = icmp_sock_errqueue(f->fd, &e, pkt + 28, sizeof(pkt) - 28)) >= 0) {
		struct sockaddr_storage ss;
		struct in_addr gdst, src, ga = f->gaddr.v4.a4;
		uint16_t ulen, dport;

		n++;
		/* never about a broadcast (RFC 1122 3.2.2): the guest did not send to 10.0.2.2 */
		if (!r || f->bcast || !udp_map_error(&e.type, &e.code))
			continue;
		/* the destination as the guest addressed it, and the reporter as it sees it */
		memset(&ss, 0, sizeof(ss));
		memcpy(&ss, &e.dst, sizeof(e.dst));
		if (e.dst.sin_addr.s_addr == f->peer.sin_addr.s_addr)
			gdst = udp_seen_orig(s, f);
		else
			gdst = stack_translate_in4(s, udp_seen_orig(s, f), &ss);
		src = gdst;
		if (e.offender.s_addr) {
			struct sockaddr_in *o = (struct sockaddr_in *)&ss;

			o->sin_family = AF_INET;
			o->sin_addr = e.offender;
			o->sin_port = e.dst.sin_port;
			src = stack_translate_in4(s, udp_seen_orig(s, f), &ss);
		}
		/* rebuild the guest's datagram: IP header, UDP header, what the host quoted */
		ulen = (uint16_t)(8 + e.len);
		dport = ntohs(e.dst.sin_port);
		memset(pkt, 0, 28);
		pkt[0] = 0x45;
		pkt[2] = (uint8_t)((20 + ulen) >> 8);
		pkt[3] = (uint8_t)(20 + ulen);
		pkt[8] = 64;
		pkt[9] = IPPROTO_UDP;
		memcpy(&pkt[12], &ga, 4);
		memcpy(&pkt[16], &gdst, 4);
		{
			uint16_t c = csum_ip4_header(pkt, 20);

			memcpy(&pkt[10], &c, 2);
		}
		pkt[20] = (uint8_t)(f->gport >> 8);
		pkt[21] = (uint8_t)f->gport;
		pkt[22] = (uint8_t)(dport >> 8);
		pkt[23] = (uint8_t)dport;
		pkt[24] = (uint8_t)(ulen >> 8);
		pkt[25] = (uint8_t)ulen;
		icmp4_error(s, e.type, e.code, pkt, 28 + e.len, src);
	}
	return n;
}

/* ---- host sockets -> guest ---- */

static void udp_pause(struct user_stack *s, struct udp_flow *f)
{
	if (f->paused)
		return;
	f->paused = true;
	s->udp.npaused++;
	stack_fd_mod(&f->h, 0);
}

void udp_guest_resumed(struct user_stack *s)
{
	struct udp_state *u = &s->udp;

	if (!u->flows)
		return;
	if (u->npaused) {
		for (int32_t i = u->lru_head; i >= 0; i = u->flows[i].lru_next) {
			struct udp_flow *f = &u->flows[i];

			if (f->paused) {
				f->paused = false;
				u->npaused--;
				stack_fd_mod(&f->h, EPOLLIN);
			}
		}
	}
	/* UDP hostfwd sockets paused by udp_hostfwd_readable() */
	for (struct hostfwd *hf = s->fwd.hostfwd; hf; hf = hf->next) {
		if (hf->udp && hf->fd >= 0 && hf->h.fd >= 0 && !(hf->h.events & EPOLLIN))
			stack_fd_mod(&hf->h, EPOLLIN);
	}
}

/**
 * udp_recv_batch() - read up to UDP_RECV_BATCH datagrams from @fd
 * @names:	receives the senders
 * @lens:	receives each datagram's length (truncated ones are skipped by the caller: -1)
 * Return: datagrams read, 0 if none
 */
static int udp_recv_batch(struct user_stack *s, int fd, struct sockaddr_storage *names,
			  ssize_t *lens)
{
	struct mmsghdr msgs[UDP_RECV_BATCH];
	struct iovec iov[UDP_RECV_BATCH];
	int n;

	if (!s->udp.rxbuf)
		s->udp.rxbuf = xmalloc((size_t)UDP_RECV_BATCH * UDP_DGRAM_MAX);
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < UDP_RECV_BATCH; i++) {
		iov[i].iov_base = s->udp.rxbuf + (size_t)i * UDP_DGRAM_MAX;
		iov[i].iov_len = UDP_DGRAM_MAX;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &names[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(names[i]);
	}
	n = recvmmsg(fd, msgs, UDP_RECV_BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return 0;
	for (int i = 0; i < n; i++) {
		lens[i] = msgs[i].msg_len;
		if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)
			lens[i] = -1;
		if (msgs[i].msg_hdr.msg_namelen < sizeof(struct sockaddr_in))
			lens[i] = -1;
	}
	return n;
}

/* udp_sender4() - the IPv4 address and port of a sender (also v4-mapped IPv6); false if none */
static bool udp_sender4(const struct sockaddr_storage *ss, struct sockaddr_in *out)
{
	if (ss->ss_family == AF_INET) {
		memcpy(out, ss, sizeof(*out));
		return true;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)ss;

		if (!IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr))
			return false;
		memset(out, 0, sizeof(*out));
		out->sin_family = AF_INET;
		out->sin_port = a6->sin6_port;
		memcpy(&out->sin_addr, &a6->sin6_addr.s6_addr[12], 4);
		return true;
	}
	return false;
}

static void udp6_nat_deliver(struct user_stack *s, int32_t idx, const struct sockaddr_storage *ss,
			     const uint8_t *data, size_t len);

static void udp_nat_readable(struct user_stack *s, int32_t idx)
{
	struct udp_flow *f = &s->udp.flows[idx];
	struct sockaddr_storage names[UDP_RECV_BATCH];
	ssize_t lens[UDP_RECV_BATCH];
	int budget = UDP_RECV_BUDGET;

	while (budget > 0) {
		int n = udp_recv_batch(s, f->fd, names, lens);

		if (n <= 0)
			break;
		budget -= n;
		for (int i = 0; i < n; i++) {
			struct sockaddr_in sin;
			struct in_addr src;
			bool dns;

			if (lens[i] >= 0 && f->v6) {
				udp6_nat_deliver(s, idx, &names[i], s->udp.rxbuf + (size_t)i * UDP_DGRAM_MAX,
						 (size_t)lens[i]);
				continue;
			}
			if (lens[i] < 0 || !udp_sender4(&names[i], &sin))
				continue;
			dns = ntohs(sin.sin_port) == WIRE_PORT_DNS;
			src = stack_translate_in4(s, udp_seen_orig(s, f), &names[i]);
			udp_touch(s, idx, dns ? UDP_EXPIRE_DNS_MS : UDP_EXPIRE_MS);
			udp4_output(s, src, ntohs(sin.sin_port), f->gaddr.v4.a4, f->gport,
				    s->udp.rxbuf + (size_t)i * UDP_DGRAM_MAX, (size_t)lens[i]);
		}
		if (s->guest_busy) {
			udp_pause(s, f);
			break;
		}
		if (n < UDP_RECV_BATCH)
			break;
	}
}

static void udp_sock_event(struct stack_fd *h, uint32_t events)
{
	struct udp_flow *f = h->opaque;
	struct user_stack *s = f->s;
	int32_t idx = (int32_t)(f - s->udp.flows);

	if ((events & EPOLLERR) && f->v6) {
		int err;
		socklen_t l = sizeof(err);

		getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &err, &l);	/* IPv6: not reported yet */
	} else if (events & EPOLLERR) {
		udp_drain_errqueue(s, f);
	}
	if (!(events & EPOLLIN) || f->paused)
		return;
	if (s->guest_busy) {
		udp_pause(s, f);
		return;
	}
	udp_nat_readable(s, idx);
}

void udp_hostfwd_readable(struct user_stack *s, struct hostfwd *hf)
{
	struct sockaddr_storage names[UDP_RECV_BATCH];
	ssize_t lens[UDP_RECV_BATCH];
	int budget = UDP_RECV_BUDGET;
	struct in_addr gaddr;

	if (s->guest_busy) {
		/* resumed by udp_guest_resumed() */
		stack_fd_mod(&hf->h, 0);
		return;
	}
	gaddr = hf->gaddr.s_addr ? hf->gaddr : dhcp_first_lease(s);
	while (budget > 0) {
		int n = udp_recv_batch(s, hf->fd, names, lens);

		if (n <= 0)
			break;
		budget -= n;
		for (int i = 0; i < n; i++) {
			struct sockaddr_in sin;
			struct in_addr seen;
			uint16_t sport;
			int32_t idx;

			if (lens[i] < 0 || !udp_sender4(&names[i], &sin))
				continue;
			/* loopback and unspecified senders appear as the gateway (libslirp) */
			seen = sin.sin_addr;
			if ((ntohl(seen.s_addr) >> 24) == 127 || !seen.s_addr)
				seen = s->cfg.host;
			sport = ntohs(sin.sin_port);
			idx = udp_find(s, UDP_HOSTFWD, gaddr, hf->gport, seen, sport);
			if (idx < 0)
				idx = udp_flow_new(s, UDP_HOSTFWD, gaddr, hf->gport, seen, sport);
			if (idx >= 0) {
				s->udp.flows[idx].hf = hf;
				s->udp.flows[idx].peer = sin;
				udp_touch(s, idx, UDP_EXPIRE_MS);
			}
			udp4_output(s, seen, sport, gaddr, hf->gport,
				    s->udp.rxbuf + (size_t)i * UDP_DGRAM_MAX, (size_t)lens[i]);
		}
		if (s->guest_busy) {
			stack_fd_mod(&hf->h, 0);
			break;
		}
		if (n < UDP_RECV_BATCH)
			break;
	}
}

void udp_hostfwd_removed(struct user_stack *s, struct hostfwd *hf)
{
	struct udp_state *u = &s->udp;
	int32_t i = u->lru_head;

	if (!u->flows)
		return;
	while (i >= 0 && u->nhostfwd) {
		int32_t n = u->flows[i].lru_next;

		if (u->flows[i].kind == UDP_HOSTFWD && u->flows[i].hf == hf)
			udp_flow_free(s, i);
		i = n;
	}
}

/* ---- guest -> host ---- */

static bool udp_is_bcast(const struct user_stack *s, struct in_addr a)
{
	return a.s_addr == INADDR_BROADCAST ||
	       a.s_addr == (s->cfg.net.s_addr | ~s->cfg.mask.s_addr);
}

/* udp_set_opt() - IP_TTL / IP_TOS on the flow's socket, only when it changes */
static void udp_set_opt(struct udp_flow *f, int opt, int val, int *cur)
{
	if (*cur == val)
		return;
	if (!setsockopt(f->fd, IPPROTO_IP, opt, &val, sizeof(val)))
		*cur = val;
}

static void udp_nat_send(struct user_stack *s, const struct iphdr *ip, const uint8_t *l4,
			 size_t ulen, struct in_addr src, uint16_t sport, struct in_addr dst,
			 uint16_t dport)
{
	struct sockaddr_storage sa;
	socklen_t salen;
	struct udp_flow *f;
	int32_t idx;
	bool bcast = udp_is_bcast(s, dst);
	int r, err;

	/*
	 * Where it goes on the host: the gateway is the host's loopback, the DNS
	 * alias port 53 the resolver (any other port of it is refused), and
	 * broadcasts go to the host's loopback as libslirp does.
	 */
	r = stack_translate_out4(s, bcast ? s->cfg.host : dst, dport, &sa, &salen);
	if (r < 0 || sa.ss_family != AF_INET) {
		udp_error_to_guest(s, ip, l4, ulen, ICMP_DEST_UNREACH, ICMP_NET_UNREACH, s->cfg.host);
		return;
	}
	if (ip->ttl <= 1) {
		udp_error_to_guest(s, ip, l4, ulen, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, s->cfg.host);
		return;
	}
	idx = udp_find(s, UDP_NAT, src, sport, (struct in_addr){ 0 }, 0);
	if (idx < 0)
		idx = udp_flow_new(s, UDP_NAT, src, sport, (struct in_addr){ 0 }, 0);
	if (idx < 0)
		return;
	f = &s->udp.flows[idx];
	f->bcast = bcast;
	f->orig_dst = dst;
	f->orig_dport = dport;
	memcpy(&f->peer, &sa, sizeof(f->peer));
	udp_touch(s, idx, UDP_EXPIRE_MS);
	udp_set_opt(f, IP_TTL, ip->ttl - 1, &f->ttl);
	udp_set_opt(f, IP_TOS, ip->tos, &f->tos);

	r = (int)sendto(f->fd, l4 + 8, ulen - 8, MSG_DONTWAIT, (struct sockaddr *)&sa, salen);
	/* a failure may be an earlier datagram's error (IP_RECVERR): report those, retry once */
	if (r < 0 && errno != EAGAIN && errno != ENOBUFS && udp_drain_errqueue(s, f) > 0)
		r = (int)sendto(f->fd, l4 + 8, ulen - 8, MSG_DONTWAIT, (struct sockaddr *)&sa, salen);
	if (r >= 0)
		return;
	err = errno;
	if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS || err == ENOMEM)
		return;
	debug("udp: sendto: %s", strerror(err));
	udp_error_to_guest(s, ip, l4, ulen, ICMP_DEST_UNREACH,
			   err == EHOSTUNREACH ? ICMP_HOST_UNREACH : ICMP_NET_UNREACH, s->cfg.host);
}

void udp4_input(struct user_stack *s, const struct iphdr *iph, const uint8_t *l4, size_t len)
{
	struct iphdr hdr;
	const struct iphdr *ip = &hdr;
	struct in_addr src, dst;
	uint16_t sport, dport, ulen, check;
	struct cursor c;
	int32_t idx;

	/* a copy: the header inside a frame is not necessarily aligned */
	memcpy(&hdr, iph, sizeof(hdr));
	src.s_addr = ip->saddr;
	dst.s_addr = ip->daddr;

	/* header and length: trim to the UDP length, drop if it claims more than we have */
	cursor_init_buf(&c, l4, len);
	sport = cursor_be16(&c);
	dport = cursor_be16(&c);
	ulen = cursor_be16(&c);
	check = cursor_be16(&c);
	if (!cursor_ok(&c) || ulen < WIRE_UDP_HLEN || ulen > len)
		goto bad;
	len = ulen;
	/* a zero checksum means "none" (RFC 768); a wrong one drops the datagram */
	if (check && !s->rx_csum_ok &&
	    csum_fold(csum_partial(l4, len, csum_pseudo4(src, dst, IPPROTO_UDP, ulen))))
		goto bad;

	/* DHCP/BOOTP, served even under restrict=on */
	if (dport == WIRE_PORT_BOOTPS && (dst.s_addr == s->cfg.host.s_addr || dst.s_addr == INADDR_BROADCAST) &&
	    (s->cfg.no_dhcp ||	/* libslirp's disable_dhcp: dropped, not forwarded */
	     dhcp_input(s, ip, (const struct udphdr *)(const void *)l4, l4 + WIRE_UDP_HLEN,
			len - WIRE_UDP_HLEN)))
		return;

	/* TFTP at the gateway: port 69 and the transfers' ports, also under restrict=on */
	if (dst.s_addr == s->cfg.host.s_addr) {
		union inany from;

		inany_from_v4(&from, src);
		if (tftp_input(s, &from, sport, dport, l4 + WIRE_UDP_HLEN, len - WIRE_UDP_HLEN))
			return;
	}

	/*
	 * restrict=on: the guest reaches nothing else over UDP. Like libslirp,
	 * this includes DNS to the DNS alias and the guest's replies on UDP
	 * hostfwd flows (so UDP hostfwd is one-way under restrict).
	 */
	if (s->cfg.restricted) {
		s->stats.restricted++;
		return;
	}

	/* no flow for unspecified, broadcast or multicast sources, nor for port 0 */
	if (!src.s_addr || src.s_addr == INADDR_BROADCAST || IN_MULTICAST(ntohl(src.s_addr)) ||
	    !sport || !dport)
		goto bad;
	/* multicast and "this network" destinations are not forwarded to the host */
	if (!dst.s_addr || IN_MULTICAST(ntohl(dst.s_addr)))
		return;

	/* the guest's reply on a UDP hostfwd flow: back to the host sender */
	if (s->udp.nhostfwd && (idx = udp_find(s, UDP_HOSTFWD, src, sport, dst, dport)) >= 0) {
		struct udp_flow *f = &s->udp.flows[idx];

		udp_touch(s, idx, UDP_EXPIRE_MS);
		if (f->hf && f->hf->fd >= 0)
			sendto(f->hf->fd, l4 + WIRE_UDP_HLEN, len - WIRE_UDP_HLEN, MSG_DONTWAIT, (struct sockaddr *)&f->peer,
			       sizeof(f->peer));
		return;
	}
	udp_nat_send(s, ip, l4, len, src, sport, dst, dport);
	return;
bad:
	s->stats.bad_l4++;
}

/* ---- IPv6 ---- */

int udp6_output(struct user_stack *s, const struct in6_addr *src, uint16_t sport,
		const struct in6_addr *dst, uint16_t dport, const void *payload, size_t len)
{
	uint8_t uh[WIRE_UDP_HLEN];
	struct iovec iov[2];
	uint16_t ulen, sum;

	if (len > 65535 - WIRE_UDP_HLEN)
		return -1;
	ulen = (uint16_t)(len + WIRE_UDP_HLEN);
	uh[0] = (uint8_t)(sport >> 8);
	uh[1] = (uint8_t)sport;
	uh[2] = (uint8_t)(dport >> 8);
	uh[3] = (uint8_t)dport;
	uh[4] = (uint8_t)(ulen >> 8);
	uh[5] = (uint8_t)ulen;
	uh[6] = uh[7] = 0;
	iov[0].iov_base = uh;
	iov[0].iov_len = WIRE_UDP_HLEN;
	iov[1].iov_base = (void *)payload;
	iov[1].iov_len = len;
	sum = csum_fold(csum_iov(iov, 2, csum_pseudo6(src, dst, IPPROTO_UDP, ulen)));
	if (!sum)
		sum = 0xffff;
	memcpy(&uh[6], &sum, 2);
	return stack_output_ip6(s, src, dst, IPPROTO_UDP, IP6_HOP_LIMIT, iov, 2);
}

/* udp6_nat_deliver() - a datagram from host peer @ss on IPv6 flow @idx, to the guest */
static void udp6_nat_deliver(struct user_stack *s, int32_t idx, const struct sockaddr_storage *ss,
			     const uint8_t *data, size_t len)
{
	struct udp_flow *f = &s->udp.flows[idx];
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	struct in6_addr src;
	uint16_t sport;

	if (ss->ss_family != AF_INET6)
		return;
	sport = ntohs(sin6->sin6_port);
	stack_translate_in6(s, &f->orig6, ss, &src);
	udp_touch(s, idx, sport == WIRE_PORT_DNS ? UDP_EXPIRE_DNS_MS : UDP_EXPIRE_MS);
	udp6_output(s, &src, sport, &f->gaddr.a6, f->gport, data, len);
}

void udp6_input(struct user_stack *s, const uint8_t *ip, const uint8_t *l4, size_t len)
{
	union inany ga, none;
	struct in6_addr src, dst;
	struct sockaddr_in6 sa;
	uint16_t sport, dport, ulen, check;
	uint8_t hlim = ip[7];
	struct udp_flow *f;
	struct cursor c;
	int32_t idx;
	int hops, r;

	memcpy(&src, ip + 8, sizeof(src));
	memcpy(&dst, ip + 24, sizeof(dst));
	cursor_init_buf(&c, l4, len);
	sport = cursor_be16(&c);
	dport = cursor_be16(&c);
	ulen = cursor_be16(&c);
	check = cursor_be16(&c);
	if (!cursor_ok(&c) || ulen < WIRE_UDP_HLEN || ulen > len)
		goto bad;
	len = ulen;
	/* the checksum is mandatory over IPv6 (RFC 8200 8.1) */
	if (!check || (!s->rx_csum_ok &&
		       csum_fold(csum_partial(l4, len, csum_pseudo6(&src, &dst, IPPROTO_UDP, ulen)))))
		goto bad;
	/* restrict=on: no IPv6 UDP at all, as libslirp */
	if (s->cfg.restricted) {
		s->stats.restricted++;
		return;
	}
	if (ip6_is_unspec(&src) || src.s6_addr[0] == 0xff || !sport || !dport)
		goto bad;
	/* DHCPv6 to All_DHCP_Relay_Agents_and_Servers (ff02::1:2) or to the router */
	if (dport == 547 && (ip6_is_ours(s, &dst) ||
			     !memcmp(&dst, "\xff\x02\0\0\0\0\0\0\0\0\0\0\0\x01\0\x02", 16)) &&
	    dhcp6_input(s, &src, sport, l4 + WIRE_UDP_HLEN, len - WIRE_UDP_HLEN))
		return;
	if (dst.s6_addr[0] == 0xff)
		return;		/* multicast is not forwarded to the host */
	if (hlim <= 1) {
		icmp6_error(s, WIRE_ICMP6_TIME_EXCEEDED, 0, 0, ip, WIRE_IP6_HLEN + (size_t)(ip[4] << 8 | ip[5]));
		return;
	}
	r = stack_translate_out6(s, &dst, dport, &sa);
	if (r < 0) {
		/* the DNS address on another port: administratively prohibited; else no route */
		s->ip6.stats.unsupported++;
		icmp6_error(s, WIRE_ICMP6_DST_UNREACH, r == -EPERM ? 1 : 0, 0, ip,
			    WIRE_IP6_HLEN + (size_t)(ip[4] << 8 | ip[5]));
		return;
	}
	memset(&ga, 0, sizeof(ga));
	memset(&none, 0, sizeof(none));
	ga.a6 = src;
	idx = udp_find_any(s, UDP_NAT, ga, sport, none, 0);
	if (idx < 0)
		idx = udp_flow_new_any(s, UDP_NAT, true, ga, sport, none, 0);
	if (idx < 0)
		return;
	f = &s->udp.flows[idx];
	f->orig6 = dst;
	f->orig_dport = dport;
	udp_touch(s, idx, UDP_EXPIRE_MS);
	hops = hlim - 1;
	if (f->ttl != hops && !setsockopt(f->fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops)))
		f->ttl = hops;
	sendto(f->fd, l4 + WIRE_UDP_HLEN, len - WIRE_UDP_HLEN, MSG_DONTWAIT,
	       (const struct sockaddr *)&sa, sizeof(sa));
	return;
bad:
	s->stats.bad_l4++;
}

/* ---- info usernet ---- */

void udp_info_usernet(struct user_stack *s, struct sbuf *out)
{
	struct udp_state *u = &s->udp;
	uint64_t now = stack_now_ms(s);

	if (!u->flows)
		return;
	for (int32_t i = u->lru_head; i >= 0; i = u->flows[i].lru_next) {
		const struct udp_flow *f = &u->flows[i];
		char state[32], ga[INET_ADDRSTRLEN], fa[INET_ADDRSTRLEN];
		struct in_addr g = f->gaddr.v4.a4;

		if (f->kind != UDP_NAT)
			continue;
		snprintf(state, sizeof(state), "  UDP[%d sec]",
			 (int)((f->expire_ms > now ? f->expire_ms - now : 0) / 1000));
		if (f->v6) {
			char g6[INET6_ADDRSTRLEN], f6[INET6_ADDRSTRLEN];

			inet_ntop(AF_INET6, &f->gaddr.a6, g6, sizeof(g6));
			inet_ntop(AF_INET6, &f->orig6, f6, sizeof(f6));
			sbuf_printf(out, "%-19s %3d %15s %5d %15s %5d %5d %5d\n", state, f->fd, g6,
				    f->gport, f6, f->orig_dport, 0, 0);
			continue;
		}
		inet_ntop(AF_INET, &g, ga, sizeof(ga));
		inet_ntop(AF_INET, &f->orig_dst, fa, sizeof(fa));
		sbuf_printf(out, "%-19s %3d %15s %5d %15s %5d %5d %5d\n", state, f->fd,
			    g.s_addr ? ga : "*", f->gport, fa, f->orig_dport, 0, 0);
	}
}
