// SPDX-License-Identifier: MIT
// icmp.c - ICMP: local echo for the virtual hosts, echo forwarded via ping sockets, errors

#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../core/cursor.h"
#include "../core/log.h"
#include "../core/wire.h"
#include "csum.h"
#include "stack.h"

/*
 * DOC: ICMP
 *
 * Echo requests to the gateway or the DNS alias are answered here. Echo
 * requests to anything else (unless restrict=on) go out through a host ICMP
 * socket, one per echo flow (guest address, echo id, destination): an
 * unprivileged ping socket (SOCK_DGRAM, IPPROTO_ICMP; allowed by
 * net.ipv4.ping_group_range), or, when that is refused, a raw socket as
 * libslirp does. A ping socket picks its own echo id; replies get the guest's
 * id back before they are delivered. Flows expire ICMP_EXPIRE_MS after their
 * last use; the table is a fixed array (the least recently used flow is
 * evicted when it is full).
 *
 * Unlike libslirp, the guest's TTL minus one is applied to the echo (as for
 * UDP), so traceroute -I works; TTL 1 gets time exceeded from the gateway.
 * When no ICMP socket can be opened the echo is dropped (libslirp's fallback
 * of a UDP datagram to port 7 is not done).
 */

/**
 * struct icmp_flow - one echo flow
 * @used:	slot in use
 * @raw:	@fd is a raw socket (else a ping socket)
 * @gaddr:	guest address
 * @dst:	destination as the guest addressed it
 * @hdst:	destination on the host
 * @id:		the guest's echo id (network order)
 * @fd:		host socket
 * @h:		its loop handle
 * @s:		the stack
 * @expire_ms:	stack_now_ms(s) time of expiry
 * @ttl:	IP_TTL set on @fd, -1 if never set
 */
struct icmp_flow {
	bool used, raw;
	struct in_addr gaddr, dst, hdst;
	uint16_t id;
	int fd;
	struct stack_fd h;
	struct user_stack *s;
	uint64_t expire_ms;
	int ttl;
};

static void icmp_flow_free(struct user_stack *s, struct icmp_flow *f)
{
	if (!f->used)
		return;
	stack_fd_del(&f->h);
	close(f->fd);
	memset(f, 0, sizeof(*f));
	f->fd = -1;
	s->icmp.nflows--;
}

static void icmp_timer_cb(struct stack_timer *t)
{
	struct user_stack *s = t->opaque;
	uint64_t now = stack_now_ms(s), next = UINT64_MAX;

	for (unsigned i = 0; i < ICMP_FLOWS_MAX && s->icmp.nflows; i++) {
		struct icmp_flow *f = &s->icmp.flows[i];

		if (!f->used)
			continue;
		if (f->expire_ms <= now)
			icmp_flow_free(s, f);
		else if (f->expire_ms < next)
			next = f->expire_ms;
	}
	if (next != UINT64_MAX)
		stack_timer_arm(t, MAX(next - now, 1000));
}

void icmp_age(struct user_stack *s, uint64_t ms)
{
	for (unsigned i = 0; i < ICMP_FLOWS_MAX; i++) {
		struct icmp_flow *f = &s->icmp.flows[i];

		if (f->used)
			f->expire_ms -= MIN(ms, f->expire_ms);
	}
	icmp_timer_cb(&s->icmp.timer);
}

static void icmp_touch(struct user_stack *s, struct icmp_flow *f)
{
	f->expire_ms = stack_now_ms(s) + ICMP_EXPIRE_MS;
	if (!stack_timer_armed(&s->icmp.timer))
		stack_timer_arm(&s->icmp.timer, ICMP_EXPIRE_MS);
}

void icmp_init(struct user_stack *s)
{
	struct icmp_state *st = &s->icmp;

	st->flows = xzalloc(sizeof(*st->flows) * ICMP_FLOWS_MAX);
	for (unsigned i = 0; i < ICMP_FLOWS_MAX; i++)
		st->flows[i].fd = -1;
	st->nflows = 0;
	st->rxbuf = NULL;
	st->raw_warned = false;
	st->stats_sent = st->stats_replied = st->stats_errors = 0;
	stack_timer_init(s, &st->timer, icmp_timer_cb, s);
}

void icmp_fini(struct user_stack *s)
{
	struct icmp_state *st = &s->icmp;

	if (!st->flows)
		return;
	for (unsigned i = 0; i < ICMP_FLOWS_MAX; i++)
		icmp_flow_free(s, &st->flows[i]);
	stack_timer_cancel(&st->timer);
	free(st->flows);
	free(st->rxbuf);
	st->flows = NULL;
	st->rxbuf = NULL;
}

/* ---- errors to the guest ---- */

static bool icmp_is_bcast(const struct user_stack *s, struct in_addr a)
{
	return a.s_addr == INADDR_BROADCAST ||
	       a.s_addr == (s->cfg.net.s_addr | ~s->cfg.mask.s_addr) ||
	       IN_MULTICAST(ntohl(a.s_addr));
}

/* icmp_type_is_error() - RFC 792 error messages (never answered with another error) */
static bool icmp_type_is_error(uint8_t type)
{
	switch (type) {
	case ICMP_ECHOREPLY:
	case ICMP_ECHO:
	case ICMP_TIMESTAMP:
	case ICMP_TIMESTAMPREPLY:
	case ICMP_INFO_REQUEST:
	case ICMP_INFO_REPLY:
	case ICMP_ADDRESS:
	case ICMP_ADDRESSREPLY:
		return false;
	default:
		return true;
	}
}

void icmp4_error(struct user_stack *s, uint8_t type, uint8_t code, const uint8_t *orig,
		 size_t orig_len, struct in_addr src)
{
	uint8_t hdr[WIRE_ICMP_HLEN] = { type, code };
	struct in_addr osrc, odst;
	struct iovec iov[2];
	struct cursor c;
	uint8_t vihl, tos, proto;
	uint16_t frag;
	size_t ihl, q;
	uint16_t sum;

	cursor_init_buf(&c, orig, orig_len);
	vihl = cursor_u8(&c);
	tos = cursor_u8(&c);
	cursor_skip(&c, 4);		/* tot_len, id */
	frag = cursor_be16(&c);
	cursor_skip(&c, 1);		/* ttl */
	proto = cursor_u8(&c);
	cursor_skip(&c, 2);		/* checksum */
	cursor_pull(&c, &osrc, WIRE_IP4_ADDR_LEN);
	cursor_pull(&c, &odst, WIRE_IP4_ADDR_LEN);
	ihl = (size_t)(vihl & 0x0f) * 4;
	if (!cursor_ok(&c) || vihl >> 4 != WIRE_IP4_VERSION || ihl < WIRE_IP4_HLEN ||
	    orig_len < ihl)
		return;
	/* RFC 1122 3.2.2: not about non-first fragments, broadcasts, multicasts, nor ICMP errors */
	if (frag & WIRE_IP4_OFFMASK)
		return;
	if (icmp_is_bcast(s, odst) || icmp_is_bcast(s, osrc) || !osrc.s_addr)
		return;
	if (proto == WIRE_IPPROTO_ICMP) {
		cursor_skip(&c, ihl - WIRE_IP4_HLEN);
		if (!cursor_remaining(&c) || icmp_type_is_error(cursor_u8(&c)))
			return;
	}
	/* RFC 1812 4.3.2.3: as much of the original as fits in 576 bytes */
	q = MIN(orig_len, (size_t)ICMP_QUOTE_MAX - 28);
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)orig;
	iov[1].iov_len = q;
	sum = csum_fold(csum_iov(iov, 2, 0));
	memcpy(&hdr[2], &sum, 2);
	s->icmp.stats_errors++;
	stack_output_ip4(s, src, osrc, IPPROTO_ICMP, (uint8_t)((tos & 0x1e) | 0xc0), iov, 2);
}

int icmp_sock_errqueue(int fd, struct icmp_sockerr *e, void *buf, size_t cap)
{
	union {
		char buf[512];
		struct cmsghdr align;
	} ctrl;
	struct sockaddr_in name;
	struct iovec iov = { buf, cap };
	struct msghdr msg = {
		.msg_name = &name, .msg_namelen = sizeof(name),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctrl.buf, .msg_controllen = sizeof(ctrl.buf),
	};
	ssize_t r;

	memset(&name, 0, sizeof(name));
	r = recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
	if (r < 0)
		return -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		struct sock_extended_err ee;
		struct sockaddr_in off;

		if (c->cmsg_level != SOL_IP || c->cmsg_type != IP_RECVERR ||
		    c->cmsg_len < CMSG_LEN(sizeof(ee)))
			continue;
		memcpy(&ee, CMSG_DATA(c), sizeof(ee));
		if (ee.ee_origin != SO_EE_ORIGIN_ICMP)
			return 0;
		memset(e, 0, sizeof(*e));
		e->type = ee.ee_type;
		e->code = ee.ee_code;
		if (c->cmsg_len >= CMSG_LEN(sizeof(ee) + sizeof(off))) {
			memcpy(&off, CMSG_DATA(c) + sizeof(ee), sizeof(off));
			if (off.sin_family == AF_INET)
				e->offender = off.sin_addr;
		}
		e->dst = name;
		e->len = MIN((size_t)r, cap);
		return 1;
	}
	return 0;
}

/* ---- echo ---- */

/* icmp_echo_reply() - send the guest an echo reply: @hdr (8 bytes, type set by caller) + @data */
static void icmp_echo_reply(struct user_stack *s, struct in_addr src, struct in_addr dst,
			    uint8_t tos, uint8_t *hdr, const uint8_t *data, size_t len)
{
	struct iovec iov[2] = { { hdr, 8 }, { (void *)data, len } };
	uint16_t sum;

	hdr[0] = ICMP_ECHOREPLY;
	hdr[1] = 0;
	hdr[2] = hdr[3] = 0;
	sum = csum_fold(csum_iov(iov, 2, 0));
	memcpy(&hdr[2], &sum, 2);
	s->icmp.stats_replied++;
	stack_output_ip4(s, src, dst, IPPROTO_ICMP, tos, iov, 2);
}

/* icmp_flow_error() - an error the host got about a flow's echo, to the guest */
static void icmp_flow_error(struct user_stack *s, struct icmp_flow *f, uint8_t type, uint8_t code,
			    struct in_addr offender, const uint8_t *quoted, size_t qlen)
{
	uint8_t pkt[20 + 8 + 64];
	size_t n = 8;
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct in_addr src = f->dst;
	uint16_t c;

	if (type == ICMP_DEST_UNREACH) {
		if (code == ICMP_FRAG_NEEDED)
			return;
		if (code != ICMP_PORT_UNREACH && code != ICMP_HOST_UNREACH && code != ICMP_PROT_UNREACH)
			code = code == ICMP_NET_UNKNOWN || code == ICMP_NET_ANO ||
			       code == ICMP_NET_UNR_TOS || code == ICMP_NET_UNREACH ?
			       ICMP_NET_UNREACH : ICMP_HOST_UNREACH;
	} else if (type != ICMP_TIME_EXCEEDED) {
		return;
	}
	/* the guest's echo request: IP header, echo header with its id, some payload */
	memset(pkt, 0, sizeof(pkt));
	if (qlen >= 8) {
		n = MIN(qlen, sizeof(pkt) - 20);
		memcpy(pkt + 20, quoted, n);
	}
	pkt[20] = ICMP_ECHO;
	pkt[21] = 0;
	memcpy(&pkt[24], &f->id, 2);
	pkt[0] = 0x45;
	pkt[2] = (uint8_t)((20 + n) >> 8);
	pkt[3] = (uint8_t)(20 + n);
	pkt[8] = 64;
	pkt[9] = IPPROTO_ICMP;
	memcpy(&pkt[12], &f->gaddr, 4);
	memcpy(&pkt[16], &f->dst, 4);
	c = csum_ip4_header(pkt, 20);
	memcpy(&pkt[10], &c, 2);
	if (offender.s_addr) {
		memset(&ss, 0, sizeof(ss));
		sin->sin_family = AF_INET;
		sin->sin_addr = offender;
		src = stack_translate_in4(s, f->dst, &ss);
	}
	icmp4_error(s, type, code, pkt, 20 + n, src);
}

static void icmp_sock_event(struct stack_fd *h, uint32_t events)
{
	struct icmp_flow *f = h->opaque;
	struct user_stack *s = f->s;
	struct sockaddr_storage from;
	struct icmp_sockerr e;
	uint8_t *buf;

	if (!s->icmp.rxbuf)
		s->icmp.rxbuf = xmalloc(ICMP_RECV_MAX);
	buf = s->icmp.rxbuf;
	if (events & EPOLLERR) {
		for (int n = 0; n < ICMP_RECV_BUDGET; n++) {
			int r = icmp_sock_errqueue(f->fd, &e, buf, ICMP_RECV_MAX);

			if (r < 0)
				break;
			if (r > 0)
				icmp_flow_error(s, f, e.type, e.code, e.offender, buf, e.len);
		}
	}
	if (!(events & EPOLLIN))
		return;
	for (int n = 0; n < ICMP_RECV_BUDGET; n++) {
		socklen_t fl = sizeof(from);
		ssize_t r = recvfrom(f->fd, buf, ICMP_RECV_MAX, MSG_DONTWAIT, (struct sockaddr *)&from,
				     &fl);
		const uint8_t *m = buf;
		size_t len;
		struct in_addr src;
		uint8_t hdr[8];

		if (r < 0)
			break;
		len = (size_t)r;
		if (from.ss_family != AF_INET)
			continue;
		if (f->raw) {
			/* raw sockets see every ICMP message to the host: take ours only */
			struct in_addr from4 = ((const struct sockaddr_in *)&from)->sin_addr;
			struct cursor c;
			size_t ihl;

			cursor_init_buf(&c, buf, len);
			ihl = (size_t)(cursor_peek_u8(&c) & 0x0f) * 4;
			if (len < WIRE_IP4_HLEN || ihl < WIRE_IP4_HLEN || !cursor_skip(&c, ihl) ||
			    cursor_remaining(&c) < WIRE_ICMP_HLEN)
				continue;
			m = buf + ihl;
			len -= ihl;
			if (from4.s_addr != f->hdst.s_addr && m[0] == WIRE_ICMP_ECHOREPLY)
				continue;
			if (m[0] == WIRE_ICMP_DEST_UNREACH || m[0] == WIRE_ICMP_TIME_EXCEEDED) {
				/* quoted: IP header + our echo request */
				struct cursor q;
				struct in_addr qdst;
				uint8_t qproto, qtype;
				uint16_t qid;
				size_t qihl;

				cursor_init_buf(&q, m + WIRE_ICMP_HLEN, len - WIRE_ICMP_HLEN);
				qihl = (size_t)(cursor_peek_u8(&q) & 0x0f) * 4;
				if (qihl < WIRE_IP4_HLEN)
					continue;
				cursor_skip(&q, 9);	/* to the protocol */
				qproto = cursor_u8(&q);
				cursor_skip(&q, WIRE_IP4_DADDR_OFF - 10);
				cursor_pull(&q, &qdst, WIRE_IP4_ADDR_LEN);
				cursor_skip(&q, qihl - WIRE_IP4_HLEN);
				qtype = cursor_u8(&q);
				cursor_skip(&q, 3);
				cursor_pull(&q, &qid, sizeof(qid));	/* network order, as f->id */
				cursor_skip(&q, 2);
				if (!cursor_ok(&q) || qproto != WIRE_IPPROTO_ICMP ||
				    qdst.s_addr != f->hdst.s_addr || qtype != WIRE_ICMP_ECHO ||
				    qid != f->id)
					continue;
				icmp_flow_error(s, f, m[0], m[1], from4, m + WIRE_ICMP_HLEN + qihl,
						len - WIRE_ICMP_HLEN - qihl);
				continue;
			}
			if (m[0] != WIRE_ICMP_ECHOREPLY || memcmp(&m[4], &f->id, 2))
				continue;
		} else if (len < WIRE_ICMP_HLEN || m[0] != WIRE_ICMP_ECHOREPLY) {
			continue;
		}
		/* the reply with the guest's echo id, from the address it pinged */
		memcpy(hdr, m, 8);
		memcpy(&hdr[4], &f->id, 2);
		src = stack_translate_in4(s, f->dst, &from);
		icmp_touch(s, f);
		icmp_echo_reply(s, src, f->gaddr, 0, hdr, m + 8, len - 8);
	}
}

/* icmp_open() - a ping socket, or a raw one where ping sockets are refused; -errno */
static int icmp_open(bool *raw)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);

	*raw = false;
	if (fd >= 0)
		return fd;
	if (errno != EACCES && errno != EPERM && errno != EPROTONOSUPPORT && errno != EAFNOSUPPORT)
		return -errno;
	fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
	if (fd < 0)
		return -errno;
	*raw = true;
	return fd;
}

static struct icmp_flow *icmp_flow_get(struct user_stack *s, struct in_addr g, uint16_t id,
				       struct in_addr dst, struct in_addr hdst)
{
	struct icmp_state *st = &s->icmp;
	struct icmp_flow *f = NULL, *oldest = NULL;
	int fd, one = 1;
	bool raw;

	for (unsigned i = 0; i < ICMP_FLOWS_MAX; i++) {
		struct icmp_flow *c = &st->flows[i];

		if (!c->used) {
			if (!f)
				f = c;
			continue;
		}
		if (c->gaddr.s_addr == g.s_addr && c->id == id && c->dst.s_addr == dst.s_addr) {
			if (c->hdst.s_addr == hdst.s_addr)
				return c;
			/* the alias now leads elsewhere (resolver changed): start over */
			icmp_flow_free(s, c);
			if (!f)
				f = c;
			continue;
		}
		if (!oldest || c->expire_ms < oldest->expire_ms)
			oldest = c;
	}
	fd = icmp_open(&raw);
	if (fd < 0) {
		if (!st->raw_warned)
			warn_report("user: cannot open an ICMP socket for ping (%s); "
				    "check net.ipv4.ping_group_range", strerror(-fd));
		st->raw_warned = true;
		return NULL;
	}
	if (!f) {
		f = oldest;
		icmp_flow_free(s, f);
	}
	/* a raw socket sees the ICMP errors themselves; a ping socket gets them queued */
	if (!raw)
		setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
	f->used = true;
	f->raw = raw;
	f->gaddr = g;
	f->id = id;
	f->dst = dst;
	f->hdst = hdst;
	f->fd = fd;
	f->s = s;
	f->ttl = -1;
	if (stack_fd_add(s, &f->h, fd, EPOLLIN, icmp_sock_event, f) < 0) {
		close(fd);
		memset(f, 0, sizeof(*f));
		f->fd = -1;
		return NULL;
	}
	st->nflows++;
	return f;
}

/* icmp_quote() - @ip and @l4 as one buffer (for icmp4_error), options left out */
static size_t icmp_quote(uint8_t *q, size_t cap, const struct iphdr *ip, const uint8_t *l4,
			 size_t len)
{
	size_t n = MIN(len, cap - 20);
	uint16_t tot = (uint16_t)MIN(len + 20, 65535), c;

	memcpy(q, ip, 20);
	q[0] = 0x45;
	q[2] = (uint8_t)(tot >> 8);
	q[3] = (uint8_t)tot;
	q[10] = q[11] = 0;
	c = csum_ip4_header(q, 20);
	memcpy(&q[10], &c, 2);
	memcpy(q + 20, l4, n);
	return 20 + n;
}

void icmp4_input(struct user_stack *s, const struct iphdr *iph, const uint8_t *l4, size_t len)
{
	struct iphdr iphc;
	const struct iphdr *ip = &iphc;
	struct in_addr src, dst;
	struct sockaddr_storage sa;
	socklen_t salen;
	struct icmp_flow *f;
	struct cursor c;
	uint8_t hdr[WIRE_ICMP_HLEN];
	uint8_t q[ICMP_QUOTE_MAX - 28];
	uint16_t id;

	/* a copy: the header inside a frame is not necessarily aligned */
	memcpy(&iphc, iph, sizeof(iphc));
	src.s_addr = ip->saddr;
	dst.s_addr = ip->daddr;
	cursor_init_buf(&c, l4, len);
	cursor_pull(&c, hdr, sizeof(hdr));	/* type, code, checksum, id, sequence */
	if (!cursor_ok(&c) || csum_fold(csum_partial(l4, len, 0))) {
		s->stats.bad_l4++;
		return;
	}
	/* only echo requests are handled; other types from the guest are dropped */
	if (hdr[0] != WIRE_ICMP_ECHO)
		return;
	if (!src.s_addr || icmp_is_bcast(s, src) || !dst.s_addr || icmp_is_bcast(s, dst))
		return;
	if (dst.s_addr == s->cfg.host.s_addr || dst.s_addr == s->cfg.dns.s_addr) {
		icmp_echo_reply(s, dst, src, ip->tos, hdr, l4 + WIRE_ICMP_HLEN, len - WIRE_ICMP_HLEN);
		return;
	}
	if (s->cfg.restricted) {
		s->stats.restricted++;
		return;
	}
	if (stack_translate_out4(s, dst, 0, &sa, &salen) < 0 || sa.ss_family != AF_INET) {
		icmp4_error(s, ICMP_DEST_UNREACH, ICMP_NET_UNREACH, q,
			    icmp_quote(q, sizeof(q), ip, l4, len), s->cfg.host);
		return;
	}
	if (ip->ttl <= 1) {
		icmp4_error(s, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, q,
			    icmp_quote(q, sizeof(q), ip, l4, len), s->cfg.host);
		return;
	}
	memcpy(&id, &hdr[4], 2);
	f = icmp_flow_get(s, src, id, dst, ((struct sockaddr_in *)&sa)->sin_addr);
	if (!f)
		return;
	icmp_touch(s, f);
	if (f->ttl != ip->ttl - 1) {
		int ttl = ip->ttl - 1;

		if (!setsockopt(f->fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)))
			f->ttl = ttl;
	}
	/* a ping socket rewrites the id and the checksum; a raw socket sends it as it is */
	if (sendto(f->fd, l4, len, MSG_DONTWAIT, (struct sockaddr *)&sa, salen) < 0) {
		int err = errno;

		if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS || err == ENOMEM)
			return;
		debug("icmp: sendto: %s", strerror(err));
		icmp4_error(s, ICMP_DEST_UNREACH,
			    err == EHOSTUNREACH ? ICMP_HOST_UNREACH : ICMP_NET_UNREACH, q,
			    icmp_quote(q, sizeof(q), ip, l4, len), s->cfg.host);
		return;
	}
	s->icmp.stats_sent++;
}

void icmp_info_usernet(struct user_stack *s, struct sbuf *out)
{
	uint64_t now = stack_now_ms(s);

	if (!s->icmp.flows)
		return;
	for (unsigned i = 0; i < ICMP_FLOWS_MAX; i++) {
		const struct icmp_flow *f = &s->icmp.flows[i];
		char state[32], ga[INET_ADDRSTRLEN], fa[INET_ADDRSTRLEN];

		if (!f->used)
			continue;
		snprintf(state, sizeof(state), "  ICMP[%d sec]",
			 (int)((f->expire_ms > now ? f->expire_ms - now : 0) / 1000));
		inet_ntop(AF_INET, &f->gaddr, ga, sizeof(ga));
		inet_ntop(AF_INET, &f->dst, fa, sizeof(fa));
		sbuf_printf(out, "%-19s %3d %15s  -    %15s  -    %5d %5d\n", state, f->fd, ga, fa, 0,
			    0);
	}
}
