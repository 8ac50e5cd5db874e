// SPDX-License-Identifier: MIT
// stack.c - the user stack library: instances, host callbacks, frame dispatch from the guest,
// IPv4 output to the guest

#include <arpa/inet.h>
#include <errno.h>
#include <net/ethernet.h>
#include <netinet/ip.h>
#include <stdlib.h>
#include <string.h>

#include "../core/cursor.h"
#include "../core/log.h"
#include "../core/wire.h"
#include "csum.h"
#include "stack.h"

/* ---- the host's handles: fds, timers, deferred work, clock, events ---- */

uint64_t stack_now_ns(const struct user_stack *s)
{
	return s->env.clock_ns(s->opaque);
}

uint64_t stack_now_ms(const struct user_stack *s)
{
	return stack_now_ns(s) / 1000000;
}

int stack_fd_add(struct user_stack *s, struct stack_fd *h, int fd, uint32_t events,
		 stack_fd_cb *cb, void *opaque)
{
	int r;

	h->fd = fd;
	h->events = events;
	h->cb = cb;
	h->opaque = opaque;
	h->s = s;
	r = s->env.fd_add(s->opaque, h);
	if (r < 0)
		h->fd = -1;
	return r;
}

int stack_fd_mod(struct stack_fd *h, uint32_t events)
{
	int r;

	if (h->fd < 0 || h->events == events)
		return 0;
	r = h->s->env.fd_mod(h->s->opaque, h, events);
	if (r == 0)
		h->events = events;
	return r;
}

void stack_fd_del(struct stack_fd *h)
{
	if (!h || h->fd < 0)
		return;
	if (h->s)	/* a zeroed handle that was never added has no stack */
		h->s->env.fd_del(h->s->opaque, h);
	h->fd = -1;
}

/* stack_timer_wake() - ask the host for one wake-up at the soonest deadline, if it changed */
static void stack_timer_wake(struct user_stack *s)
{
	uint64_t when = s->timers ? s->timers->deadline : STACK_NO_DEADLINE;

	if (when == s->timer_wake)
		return;
	s->timer_wake = when;
	s->env.timer_arm(s->opaque, when);
}

void stack_timer_init(struct user_stack *s, struct stack_timer *t, stack_timer_cb *cb,
		      void *opaque)
{
	t->deadline = 0;
	t->armed = false;
	t->cb = cb;
	t->opaque = opaque;
	t->s = s;
	t->next = NULL;
}

/* stack_timer_unlink() - out of the list; the host's wake-up is left to the caller */
static void stack_timer_unlink(struct stack_timer *t)
{
	struct stack_timer **pp;

	for (pp = &t->s->timers; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	t->armed = false;
	t->next = NULL;
}

void stack_timer_cancel(struct stack_timer *t)
{
	if (!t->armed)
		return;
	stack_timer_unlink(t);
	stack_timer_wake(t->s);
}

void stack_timer_arm(struct stack_timer *t, uint64_t ms)
{
	struct user_stack *s = t->s;
	struct stack_timer **pp;

	if (t->armed)
		stack_timer_unlink(t);
	t->deadline = stack_now_ms(s) + ms;
	t->armed = true;
	t->armed_pass = s->timer_pass;
	for (pp = &s->timers; *pp && (*pp)->deadline <= t->deadline; pp = &(*pp)->next)
		;
	t->next = *pp;
	*pp = t;
	stack_timer_wake(s);
}

void stack_timers_run(struct user_stack *s)
{
	uint64_t now = stack_now_ms(s);

	/* a handler that re-arms its timer (even at 0 ms) runs again in the next pass only */
	s->timer_pass++;
	while (s->timers && s->timers->deadline <= now && s->timers->armed_pass != s->timer_pass) {
		struct stack_timer *t = s->timers;

		s->timers = t->next;
		t->next = NULL;
		t->armed = false;
		t->cb(t);
	}
	/* the host's wake-up was used: ask again even if the soonest deadline is unchanged */
	s->timer_wake = 0;
	stack_timer_wake(s);
}

void stack_defer_init(struct user_stack *s, struct stack_defer *d, stack_defer_cb *cb,
		      void *opaque)
{
	d->cb = cb;
	d->opaque = opaque;
	d->s = s;
	d->pending = false;
	d->next = NULL;
}

void stack_defer(struct stack_defer *d)
{
	struct user_stack *s = d->s;
	bool first = !s->defer_head;

	if (d->pending)
		return;
	d->pending = true;
	d->next = NULL;
	if (s->defer_tail)
		s->defer_tail->next = d;
	else
		s->defer_head = d;
	s->defer_tail = d;
	if (first)
		s->env.defer(s->opaque);
}

void stack_defer_cancel(struct stack_defer *d)
{
	struct user_stack *s = d->s;
	struct stack_defer **pp, *prev = NULL;

	if (!d->pending)
		return;
	for (pp = &s->defer_head; *pp; prev = *pp, pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			if (s->defer_tail == d)
				s->defer_tail = prev;
			break;
		}
	}
	d->pending = false;
	d->next = NULL;
}

void stack_flush(struct user_stack *s)
{
	/* handlers may defer again: those run in the same pass, bounded by the list */
	for (int guard = 0; s->defer_head && guard < 100000; guard++) {
		struct stack_defer *d = s->defer_head;

		s->defer_head = d->next;
		if (!s->defer_head)
			s->defer_tail = NULL;
		d->pending = false;
		d->next = NULL;
		d->cb(d);
	}
}

const char *stack_name(const struct user_stack *s)
{
	return s->cfg.name ? s->cfg.name : "user";
}

void stack_event(struct user_stack *s, const char *name, const struct event_field *f, int n)
{
	if (s->env.event)
		s->env.event(s->opaque, name, f, n);
}

/* stack_iov_size() / stack_iov_copy() - as the core's net_iov_*: the library does not link the core */
static size_t stack_iov_size(const struct iovec *iov, int iovcnt)
{
	size_t n = 0;

	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}

static size_t stack_iov_copy(uint8_t *buf, size_t len, const struct iovec *iov, int iovcnt)
{
	size_t done = 0;

	for (int i = 0; i < iovcnt && done < len; i++) {
		size_t c = MIN(iov[i].iov_len, len - done);

		memcpy(buf + done, iov[i].iov_base, c);
		done += c;
	}
	return done;
}

int stack_send_eth(struct user_stack *s, const uint8_t *dst_mac, uint16_t type,
		   const struct iovec *iov, int iovcnt);

void stack_guest_resumed(struct user_stack *s)
{
	s->guest_busy = false;
	tcp_guest_resumed(s);
	udp_guest_resumed(s);
	tftp_guest_resumed(s);
}

/* stack_frame_out() - send a frame, padded to ETH_ZLEN as QEMU's slirp does */
static int stack_frame_out(struct user_stack *s, uint8_t *frame, size_t len,
			   const struct net_meta *meta)
{
	struct iovec iov = { .iov_base = frame };
	ssize_t r;

	if (len < ETH_ZLEN) {
		memset(frame + len, 0, ETH_ZLEN - len);
		len = ETH_ZLEN;
	}
	iov.iov_len = len;
	/*
	 * The host never calls stack_input() from inside send: a frame that comes
	 * back at once (another stack on the same hub answering) is queued and
	 * delivered later, never while a caller is half-way through a connection
	 * or through s->frame.
	 */
	r = s->env.send(s->opaque, &iov, 1, meta);
	if (r == 0) {
		s->guest_busy = true;
		return 1;
	}
	return r < 0 ? -1 : 0;
}

int stack_send_eth(struct user_stack *s, const uint8_t *dst_mac, uint16_t type,
		   const struct iovec *iov, int iovcnt)
{
	uint8_t *f = s->frame;
	size_t len = stack_iov_size(iov, iovcnt);

	if (len + 14 > sizeof(s->frame))
		return -1;
	memcpy(f, dst_mac, 6);
	memcpy(f + 6, s->gw_mac, 6);
	f[12] = (uint8_t)(type >> 8);
	f[13] = (uint8_t)type;
	stack_iov_copy(f + 14, len, iov, iovcnt);
	return stack_frame_out(s, f, len + 14, NULL);
}

static const uint8_t eth_broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* stack_dst_mac() - the MAC for @dst, NULL if it must be resolved first */
static const uint8_t *stack_dst_mac(struct user_stack *s, struct in_addr dst)
{
	uint32_t bcast = s->cfg.net.s_addr | ~s->cfg.mask.s_addr;

	if (dst.s_addr == INADDR_BROADCAST || dst.s_addr == bcast)
		return eth_broadcast;
	return arp_lookup(s, dst);
}

/* stack_ip4_frame() - send or hold one complete IPv4 frame at s->frame */
static int stack_ip4_frame(struct user_stack *s, struct in_addr dst, size_t len)
{
	const uint8_t *mac = stack_dst_mac(s, dst);

	if (!mac)
		return arp_hold(s, dst, s->frame, len) < 0 ? -1 : 0;
	memcpy(s->frame, mac, 6);
	return stack_frame_out(s, s->frame, len, NULL);
}

int stack_output_ip4(struct user_stack *s, struct in_addr src, struct in_addr dst, uint8_t proto,
		     uint8_t tos, const struct iovec *l4, int l4cnt)
{
	size_t len = stack_iov_size(l4, l4cnt), off = 0, maxfrag;
	uint8_t *f = s->frame;
	struct iphdr *ip = (struct iphdr *)(void *)(f + 14);
	uint16_t id = s->ip4.next_id++;
	int ret = 0;

	if (len > 65535 - 20)
		return -1;
	maxfrag = (s->cfg.mtu - 20) & ~(size_t)7;
	do {
		size_t n = len - off, skip = off;
		bool more = false;
		int r;

		/* rewritten every time: holding a frame for ARP reuses s->frame */
		memcpy(f + 6, s->gw_mac, 6);
		f[12] = 0x08;
		f[13] = 0x00;
		if (20 + n > s->cfg.mtu) {
			n = maxfrag;
			more = true;
		}
		memset(ip, 0, sizeof(*ip));
		ip->version = 4;
		ip->ihl = 5;
		ip->tos = tos;
		ip->tot_len = htons((uint16_t)(20 + n));
		ip->id = htons(id);
		ip->frag_off = htons((uint16_t)((off >> 3) | (more ? IP_MF : 0)));
		ip->ttl = 64;
		ip->protocol = proto;
		ip->saddr = src.s_addr;
		ip->daddr = dst.s_addr;
		ip->check = csum_ip4_header(ip, 20);
		/* copy bytes [off, off+n) of the L4 iovec */
		for (int i = 0, done = 0; i < l4cnt && (size_t)done < n; i++) {
			size_t l = l4[i].iov_len;

			if (skip >= l) {
				skip -= l;
				continue;
			}
			size_t c = MIN(l - skip, n - (size_t)done);

			memmove(f + 34 + done, (const uint8_t *)l4[i].iov_base + skip, c);
			done += (int)c;
			skip = 0;
		}
		r = stack_ip4_frame(s, dst, 34 + n);
		if (r < 0)
			return -1;
		if (r > 0)
			ret = 1;
		off += n;
	} while (off < len);
	return ret;
}

/* stack_ip4_hdr_in_place() - Ethernet and IPv4 headers in front of @l4 (@len bytes) */
static uint8_t *stack_ip4_hdr_in_place(struct user_stack *s, const uint8_t *mac, struct in_addr src,
				       struct in_addr dst, uint8_t proto, uint8_t tos, uint8_t *l4,
				       size_t len)
{
	uint8_t *f = l4 - STACK_HEADROOM;
	struct iphdr ip;

	memcpy(f, mac, 6);
	memcpy(f + 6, s->gw_mac, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	memset(&ip, 0, sizeof(ip));
	ip.version = 4;
	ip.ihl = 5;
	ip.tos = tos;
	ip.tot_len = htons((uint16_t)(20 + len));
	ip.id = htons(s->ip4.next_id++);
	ip.ttl = 64;
	ip.protocol = proto;
	ip.saddr = src.s_addr;
	ip.daddr = dst.s_addr;
	ip.check = csum_ip4_header(&ip, 20);
	memcpy(f + 14, &ip, 20);
	return f;
}

int stack_output_ip4_hr(struct user_stack *s, struct in_addr src, struct in_addr dst,
			uint8_t proto, uint8_t tos, uint8_t *l4, size_t len)
{
	const uint8_t *mac;

	if (len + 20 > s->cfg.mtu || !(mac = stack_dst_mac(s, dst))) {
		struct iovec iov = { .iov_base = l4, .iov_len = len };

		return stack_output_ip4(s, src, dst, proto, tos, &iov, 1);
	}
	return stack_frame_out(s, stack_ip4_hdr_in_place(s, mac, src, dst, proto, tos, l4, len),
			       34 + len, NULL);
}

int stack_output_ip4_meta(struct user_stack *s, struct in_addr src, struct in_addr dst,
			  uint8_t proto, uint8_t *l4, size_t len, struct net_meta *meta)
{
	const uint8_t *mac = stack_dst_mac(s, dst);

	if (len + 20 > 65535)
		return -1;
	if (!mac) {
		/* rare (the guest's ARP entry expired): complete the checksum here and take the
		 * plain path, which holds the packet while ARP resolves (and fragments a TSO one) */
		struct iovec iov = { .iov_base = l4, .iov_len = len };
		uint16_t sum = csum_fold(csum_partial(l4, len, 0));

		memcpy(l4 + meta->csum_offset, &sum, 2);
		return stack_output_ip4(s, src, dst, proto, 0, &iov, 1);
	}
	meta->csum_start = STACK_HEADROOM;
	if (meta->gso_type != NET_META_GSO_NONE)
		meta->hdr_len = (uint16_t)(STACK_HEADROOM + (l4[12] >> 4) * 4);
	return stack_frame_out(s, stack_ip4_hdr_in_place(s, mac, src, dst, proto, 0, l4, len),
			       34 + len, meta);
}

/*
 * stack_mac_is_ours() - @mac is a virtual host's: 52:55 + an IPv4 address of the guest network,
 * or (IPv6) 52:56 + the last four bytes of one of the stack's IPv6 addresses, as libslirp's
 */
static bool stack_mac_is_ours(const struct user_stack *s, const uint8_t *mac)
{
	struct in_addr a;

	if (mac[0] != 0x52)
		return false;
	if (mac[1] == 0x56)
		return s->cfg.ipv6;
	if (mac[1] != 0x55)
		return false;
	memcpy(&a, mac + 2, 4);
	return stack_in_net(s, a);
}

void stack_input(struct user_stack *s, const struct iovec *iov, int iovcnt,
		 const struct net_meta *meta)
{
	size_t len = stack_iov_size(iov, iovcnt);
	const uint8_t *f;
	struct cursor c;
	uint16_t type;

	/* headers are read through struct pointers: the IP header must be 4-byte aligned */
	if (iovcnt == 1 && !(((uintptr_t)iov[0].iov_base + 14) & 3)) {
		f = iov[0].iov_base;
	} else {
		len = stack_iov_copy(s->rx, sizeof(s->rx), iov, iovcnt);
		f = s->rx;
	}
	cursor_init_buf(&c, f, len);
	cursor_skip(&c, WIRE_ETH_TYPE_OFF);
	type = cursor_be16(&c);
	if (!cursor_ok(&c)) {
		s->stats.bad_eth++;
		return;
	}
	/*
	 * Only what the virtual hosts' NICs would take: broadcast, multicast and frames to one
	 * of their MACs (52:55 + an address of the guest network: the gateway, DNS, guestfwd
	 * and SMB hosts). On a hub the stack sees the guests' traffic to each other too;
	 * libslirp answers it (NATing a flow between two guests, or resetting it), qnet leaves
	 * it alone.
	 */
	if (!(f[0] & 1) && !stack_mac_is_ours(s, f)) {
		s->stats.not_ours++;
		return;
	}
	/* checksums the guest left to us (partial) or had verified: a fragment's never count */
	s->rx_csum_ok = meta && (meta->flags & (NET_META_F_NEEDS_CSUM | NET_META_F_DATA_VALID)) &&
			!(type == WIRE_ETHERTYPE_IPV4 && len >= WIRE_ETH_HLEN + 8 &&
			  ((f[WIRE_ETH_HLEN + 6] & 0x3f) | f[WIRE_ETH_HLEN + 7]));
	if (type == WIRE_ETHERTYPE_ARP && s->cfg.ipv4)
		arp_input(s, f, len);
	else if (type == WIRE_ETHERTYPE_IPV4 && s->cfg.ipv4)
		ip4_input(s, f + WIRE_ETH_HLEN, len - WIRE_ETH_HLEN, f + WIRE_ETH_ALEN);
	else if (type == WIRE_ETHERTYPE_IPV6 && s->cfg.ipv6)
		ip6_input(s, f + WIRE_ETH_HLEN, len - WIRE_ETH_HLEN, f + WIRE_ETH_ALEN);
	else
		s->stats.bad_eth++;
}


void stack_cfg_default(struct stack_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->ipv4 = c->ipv6 = true;
	c->net.s_addr = htonl(0x0a000200);
	c->mask.s_addr = htonl(0xffffff00);
	c->host.s_addr = htonl(0x0a000202);
	c->dns.s_addr = htonl(0x0a000203);
	c->dhcp_start.s_addr = htonl(0x0a00020f);
	c->guestfwd_default.s_addr = htonl(0x0a000204);
	c->mtu = STACK_MTU_DEFAULT;
	inet_pton(AF_INET6, "fec0::", &c->prefix6);
	c->prefixlen6 = 64;
	inet_pton(AF_INET6, "fec0::2", &c->host6);
	inet_pton(AF_INET6, "fec0::3", &c->dns6);
}

static bool stack_cfg_in_net(const struct stack_cfg *c, struct in_addr a)
{
	return (a.s_addr & c->mask.s_addr) == c->net.s_addr;
}

int stack_cfg_check(const struct stack_cfg *c, struct error *e)
{
	if (!c->ipv4 && !c->ipv6)
		return err_set(e, "IPv4 and IPv6 disabled");
	if (c->mtu < STACK_MTU_MIN || c->mtu > STACK_MTU_MAX)
		return err_set(e, "Parameter 'mtu' expects a value from %d to %d", STACK_MTU_MIN,
			       STACK_MTU_MAX);
	if ((c->net.s_addr & ~c->mask.s_addr) != 0)
		return err_set(e, "Failed to parse netmask");
	if (!stack_cfg_in_net(c, c->host))
		return err_set(e, "Host doesn't belong to network");
	if (c->restricted && !stack_cfg_in_net(c, c->dns))
		return err_set(e, "DNS doesn't belong to network");
	if (c->dns.s_addr == c->host.s_addr)
		return err_set(e, "DNS must be different from host");
	if (!stack_cfg_in_net(c, c->dhcp_start))
		return err_set(e, "DHCP doesn't belong to network");
	if (c->dhcp_start.s_addr == c->host.s_addr || c->dhcp_start.s_addr == c->dns.s_addr)
		return err_set(e, "DHCP must be different from host and DNS");
	if (c->prefixlen6 > 126)
		return err_set(e, "Invalid IPv6 prefix provided "
				  "(IPv6 prefix length must be between 0 and 126)");
	if (c->dnssl_len > IP6_DNSSL_MAX)
		return err_set(e, "user stack: DNSSL longer than %d bytes", IP6_DNSSL_MAX);
	return 0;
}

void stack_cfg_free(struct stack_cfg *c)
{
	free(c->name);
	free(c->hostname);
	free(c->domainname);
	free(c->dnssearch);
	free(c->resolv_conf);
	free(c->tftp_root);
	free(c->bootfile);
	free(c->tftp_server_name);
	c->tftp_root = c->bootfile = c->tftp_server_name = NULL;
	free(c->dnssl);
	c->dnssl = NULL;
	c->dnssl_len = 0;
	c->name = c->hostname = c->domainname = c->resolv_conf = NULL;
	c->dnssearch = NULL;
	c->dnssearch_len = 0;
}

static char *stack_strdup(const char *v)
{
	return v ? xstrdup(v) : NULL;
}

struct user_stack *stack_new(const struct stack_cfg *cfg, const struct stack_env *env,
			     void *opaque, struct error *e)
{
	struct user_stack *s;
	uint32_t h;

	if (!env || !env->send || !env->clock_ns || !env->timer_arm || !env->fd_add ||
	    !env->fd_mod || !env->fd_del || !env->defer) {
		err_set(e, "user stack: incomplete environment");
		return NULL;
	}
	if (stack_cfg_check(cfg, e) < 0)
		return NULL;
	s = xzalloc(sizeof(*s));
	s->cfg = *cfg;
	s->cfg.name = stack_strdup(cfg->name);
	s->cfg.hostname = stack_strdup(cfg->hostname);
	s->cfg.domainname = stack_strdup(cfg->domainname);
	s->cfg.resolv_conf = xstrdup(cfg->resolv_conf ? cfg->resolv_conf : "/etc/resolv.conf");
	s->cfg.tftp_root = stack_strdup(cfg->tftp_root);
	s->cfg.bootfile = stack_strdup(cfg->bootfile);
	s->cfg.tftp_server_name = stack_strdup(cfg->tftp_server_name);
	s->cfg.dnssearch = NULL;
	if (cfg->dnssearch && cfg->dnssearch_len) {
		s->cfg.dnssearch = xmalloc(cfg->dnssearch_len);
		memcpy(s->cfg.dnssearch, cfg->dnssearch, cfg->dnssearch_len);
	}
	s->cfg.dnssl = NULL;
	if (cfg->dnssl && cfg->dnssl_len) {
		s->cfg.dnssl = xmalloc(cfg->dnssl_len);
		memcpy(s->cfg.dnssl, cfg->dnssl, cfg->dnssl_len);
	}
	s->env = *env;
	s->opaque = opaque;
	s->timer_wake = STACK_NO_DEADLINE;
	arp_init(s);
	ip4_init(s);
	ip6_init(s);
	icmp_init(s);
	udp_init(s);
	tcp_init(s);
	tftp_init(s);
	h = ntohl(s->cfg.host.s_addr);
	s->gw_mac[0] = 0x52;
	s->gw_mac[1] = 0x55;
	s->gw_mac[2] = (uint8_t)(h >> 24);
	s->gw_mac[3] = (uint8_t)(h >> 16);
	s->gw_mac[4] = (uint8_t)(h >> 8);
	s->gw_mac[5] = (uint8_t)h;
	return s;
}

void stack_free(struct user_stack *s)
{
	if (!s)
		return;
	tftp_fini(s);
	tcp_fini(s);
	udp_fini(s);
	icmp_fini(s);
	fwd_fini(s);
	arp_fini(s);
	ip4_fini(s);
	ip6_fini(s);
	while (s->timers)
		stack_timer_cancel(s->timers);
	while (s->defer_head)
		stack_defer_cancel(s->defer_head);
	stack_cfg_free(&s->cfg);
	free(s);
}

void stack_announce(struct user_stack *s)
{
	uint8_t f[60] = { 0 };
	struct iovec iov = { .iov_base = f, .iov_len = sizeof(f) };

	/* QEMU's announce-self frame (reference 5.5): RARP reverse request, 60 bytes */
	memset(f, 0xff, 6);
	memcpy(f + 6, s->gw_mac, 6);
	f[12] = 0x80, f[13] = 0x35;		/* RARP */
	f[14] = 0, f[15] = 1;			/* Ethernet */
	f[16] = 0x08, f[17] = 0x00;		/* IPv4 */
	f[18] = 6, f[19] = 4;
	f[20] = 0, f[21] = 3;			/* reverse request */
	memcpy(f + 22, s->gw_mac, 6);		/* sha, spa 0 */
	memcpy(f + 32, s->gw_mac, 6);		/* tha, tpa 0 */
	s->env.send(s->opaque, &iov, 1, NULL);
}

void stack_info_usernet(struct user_stack *s, struct sbuf *out)
{
	sbuf_printf(out, "  Protocol[State]    FD  Source Address  Port   Dest. Address  Port "
			 "RecvQ SendQ\n");
	fwd_info_usernet(s, out);
	tcp_info_usernet(s, out);
	udp_info_usernet(s, out);
	icmp_info_usernet(s, out);
}
