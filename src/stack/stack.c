// SPDX-License-Identifier: MIT
// stack.c - the `user` netdev: options, frame dispatch from the guest, IPv4 output to the guest

#include <arpa/inet.h>
#include <errno.h>
#include <net/ethernet.h>
#include <netinet/ip.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/netdev.h"
#include "../core/hub.h"
#include "../core/cursor.h"
#include "../core/log.h"
#include "../core/wire.h"
#include "csum.h"
#include "stack.h"

static struct user_stack *stacks;

struct user_stack *stack_first(void)
{
	return stacks;
}

struct user_stack *stack_next(struct user_stack *s)
{
	return s->next_stack;
}

int stack_send_eth(struct user_stack *s, const uint8_t *dst_mac, uint16_t type,
		   const struct iovec *iov, int iovcnt);

static void stack_sent_cb(struct net_client *nc, ssize_t ret)
{
	struct user_stack *s = (struct user_stack *)(void *)nc;

	s->guest_busy = false;
	stack_guest_resumed(s);
}

void stack_guest_resumed(struct user_stack *s)
{
	tcp_guest_resumed(s);
	udp_guest_resumed(s);
}

/* stack_pad_send() - send a frame, padded to ETH_ZLEN as QEMU's slirp does */
static int stack_frame_out(struct user_stack *s, uint8_t *frame, size_t len)
{
	bool was;
	ssize_t r;

	if (len < ETH_ZLEN) {
		memset(frame + len, 0, ETH_ZLEN - len);
		len = ETH_ZLEN;
	}
	/*
	 * While sending, the stack counts as busy receiving: a frame that comes back
	 * synchronously (another user stack on the same hub answering at once) is
	 * queued by the core and delivered from deferred work, never while a
	 * caller is half-way through a connection or through s->frame.
	 */
	was = s->nc.delivering;
	s->nc.delivering = true;
	r = net_send_buf(&s->nc, frame, len, stack_sent_cb);
	s->nc.delivering = was;
	if (s->nc.queue.count)
		loop_defer(&s->rx_flush);
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
	size_t len = net_iov_size(iov, iovcnt);

	if (len + 14 > sizeof(s->frame))
		return -1;
	memcpy(f, dst_mac, 6);
	memcpy(f + 6, s->gw_mac, 6);
	f[12] = (uint8_t)(type >> 8);
	f[13] = (uint8_t)type;
	net_iov_copy(f + 14, len, iov, iovcnt);
	return stack_frame_out(s, f, len + 14);
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
	return stack_frame_out(s, s->frame, len);
}

int stack_output_ip4(struct user_stack *s, struct in_addr src, struct in_addr dst, uint8_t proto,
		     uint8_t tos, const struct iovec *l4, int l4cnt)
{
	size_t len = net_iov_size(l4, l4cnt), off = 0, maxfrag;
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

int stack_output_ip4_hr(struct user_stack *s, struct in_addr src, struct in_addr dst,
			uint8_t proto, uint8_t tos, uint8_t *l4, size_t len)
{
	uint8_t *f = l4 - STACK_HEADROOM;
	const uint8_t *mac;
	struct iphdr ip;
	uint16_t id;

	if (len + 20 > s->cfg.mtu || !(mac = stack_dst_mac(s, dst))) {
		struct iovec iov = { .iov_base = l4, .iov_len = len };

		return stack_output_ip4(s, src, dst, proto, tos, &iov, 1);
	}
	id = s->ip4.next_id++;
	memcpy(f, mac, 6);
	memcpy(f + 6, s->gw_mac, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	memset(&ip, 0, sizeof(ip));
	ip.version = 4;
	ip.ihl = 5;
	ip.tos = tos;
	ip.tot_len = htons((uint16_t)(20 + len));
	ip.id = htons(id);
	ip.ttl = 64;
	ip.protocol = proto;
	ip.saddr = src.s_addr;
	ip.daddr = dst.s_addr;
	ip.check = csum_ip4_header(&ip, 20);
	memcpy(f + 14, &ip, 20);
	return stack_frame_out(s, f, 34 + len);
}

static ssize_t stack_receive(struct net_client *nc, const struct iovec *iov, int iovcnt)
{
	struct user_stack *s = (struct user_stack *)(void *)nc;
	size_t len = net_iov_size(iov, iovcnt);
	const uint8_t *f;
	struct cursor c;
	uint16_t type;

	/* headers are read through struct pointers: the IP header must be 4-byte aligned */
	if (iovcnt == 1 && !(((uintptr_t)iov[0].iov_base + 14) & 3)) {
		f = iov[0].iov_base;
	} else {
		len = net_iov_copy(s->rx, sizeof(s->rx), iov, iovcnt);
		f = s->rx;
	}
	cursor_init_buf(&c, f, len);
	cursor_skip(&c, WIRE_ETH_TYPE_OFF);
	type = cursor_be16(&c);
	if (!cursor_ok(&c)) {
		s->stats.bad_eth++;
		return (ssize_t)len;
	}
	if (type == WIRE_ETHERTYPE_ARP && s->cfg.ipv4)
		arp_input(s, f, len);
	else if (type == WIRE_ETHERTYPE_IPV4 && s->cfg.ipv4)
		ip4_input(s, f + WIRE_ETH_HLEN, len - WIRE_ETH_HLEN, f + WIRE_ETH_ALEN);
	else
		s->stats.bad_eth++;
	return (ssize_t)net_iov_size(iov, iovcnt);
}

static void stack_rx_flush(struct loop_defer *d)
{
	struct user_stack *s = d->opaque;

	net_flush_queued(&s->nc);
}

static void stack_cleanup(struct net_client *nc)
{
	struct user_stack *s = (struct user_stack *)(void *)nc, **pp;

	loop_defer_cancel(&s->rx_flush);

	tcp_fini(s);
	udp_fini(s);
	icmp_fini(s);
	fwd_fini(s);
	arp_fini(s);
	ip4_fini(s);
	free(s->cfg.hostname);
	free(s->cfg.domainname);
	free(s->cfg.dnssearch);
	free(s->cfg.resolv_conf);
	for (pp = &stacks; *pp; pp = &(*pp)->next_stack) {
		if (*pp == s) {
			*pp = s->next_stack;
			break;
		}
	}
}

static const struct net_client_ops stack_ops = {
	.driver = NET_DRIVER_USER,
	.size = sizeof(struct user_stack),
	.receive = stack_receive,
	.cleanup = stack_cleanup,
};

/* stack_parse_net() - QEMU's net=addr[/mask] with its classful default masks */
static int stack_parse_net(const char *v, struct in_addr *net, struct in_addr *mask,
			   struct error *e)
{
	char buf[64];
	const char *slash = strchr(v, '/');
	uint32_t a;

	if (!slash) {
		if (!inet_aton(v, net))
			return err_set(e, "Failed to parse netmask");
		a = ntohl(net->s_addr);
		if (!(a & 0x80000000))
			mask->s_addr = htonl(0xff000000);	/* class A */
		else if ((a & 0xfff00000) == 0xac100000)
			mask->s_addr = htonl(0xfff00000);	/* 172.16/12 */
		else if ((a & 0xc0000000) == 0x80000000)
			mask->s_addr = htonl(0xffff0000);	/* class B */
		else if ((a & 0xffff0000) == 0xc0a80000)
			mask->s_addr = htonl(0xffff0000);	/* 192.168/16 */
		else if ((a & 0xfffe0000) == 0xc6120000)
			mask->s_addr = htonl(0xfffe0000);	/* 198.18/15 */
		else if ((a & 0xe0000000) == 0xe0000000)
			mask->s_addr = htonl(0xffffff00);	/* 224+: as QEMU codes it */
		else
			mask->s_addr = htonl(0xfffffff0);	/* the rest of 192-223: /28 */
	} else {
		char *end;
		long shift;

		if ((size_t)(slash - v) >= sizeof(buf))
			return err_set(e, "Failed to parse netmask");
		memcpy(buf, v, (size_t)(slash - v));
		buf[slash - v] = 0;
		if (!inet_aton(buf, net))
			return err_set(e, "Failed to parse netmask");
		shift = strtol(slash + 1, &end, 10);
		if (*end != '\0' || end == slash + 1) {
			if (!inet_aton(slash + 1, mask))
				return err_set(e, "Failed to parse netmask (trailing chars)");
		} else if (shift < 4 || shift > 32) {
			return err_set(e, "Invalid netmask provided (must be in range 4-32)");
		} else {
			mask->s_addr = htonl(shift == 32 ? 0xffffffffu : ~(0xffffffffu >> shift));
		}
	}
	net->s_addr &= mask->s_addr;
	return 0;
}

/* stack_addr_opt() - an address option, or the default @low bits inside the network */
static int stack_addr_opt(struct user_stack *s, struct opts *o, const char *key, uint32_t low,
			  struct in_addr *out, const char *errtext, struct error *e)
{
	const char *v = opts_get(o, key);

	if (!v) {
		out->s_addr = s->cfg.net.s_addr | (htonl(low) & ~s->cfg.mask.s_addr);
		return 0;
	}
	if (!inet_aton(v, out))
		return err_set(e, "%s", errtext);
	return 0;
}

static int stack_parse_ipv6(struct opts *o, bool ipv6, struct error *e)
{
	const char *net6 = opts_get(o, "ipv6-net"), *pfx = opts_get(o, "ipv6-prefix");
	const char *h6 = opts_get(o, "ipv6-host"), *d6 = opts_get(o, "ipv6-dns");
	struct in6_addr a;
	uint64_t len = 64;
	char buf[INET6_ADDRSTRLEN + 8];

	if (opts_get_u64(o, "ipv6-prefixlen", &len, e) < 0)
		return -1;
	if (net6) {
		const char *slash = strchr(net6, '/');
		size_t n = slash ? (size_t)(slash - net6) : strlen(net6);

		if (n >= sizeof(buf) || (memcpy(buf, net6, n), buf[n] = 0, inet_pton(AF_INET6, buf, &a) != 1))
			return err_set(e, "Parameter 'ipv6-net' expects a valid IPv6 prefix");
		if (slash) {
			char *end;

			len = strtoull(slash + 1, &end, 10);
			if (*end || end == slash + 1)
				return err_set(e, "parameter 'ipv6-net' expects a number after '/'");
		}
		pfx = buf;
	}
	if (!ipv6 && (pfx || h6 || d6))
		return err_set(e, "IPv6 disabled but prefix/host6/dns6 provided");
	if (pfx && inet_pton(AF_INET6, pfx, &a) != 1)
		return err_set(e, "Failed to parse IPv6 prefix");
	if (len > 126)
		return err_set(e, "Invalid IPv6 prefix provided "
				  "(IPv6 prefix length must be between 0 and 126)");
	if (h6 && inet_pton(AF_INET6, h6, &a) != 1)
		return err_set(e, "Failed to parse IPv6 host");
	if (d6 && inet_pton(AF_INET6, d6, &a) != 1)
		return err_set(e, "Failed to parse IPv6 DNS");
	return 0;
}

/* stack_parse_families() - QEMU's ipv4=/ipv6= rules (one given "on" alone disables the other) */
static int stack_parse_families(struct user_stack *s, struct opts *o, struct error *e)
{
	bool v4 = true, v6 = true;
	int h4 = opts_get_bool(o, "ipv4", &v4, e), h6;

	if (h4 < 0)
		return -1;
	h6 = opts_get_bool(o, "ipv6", &v6, e);
	if (h6 < 0)
		return -1;
	if (h4 && v4 && !h6)
		v6 = false;
	if (h6 && v6 && !h4)
		v4 = false;
	s->cfg.ipv4 = v4;
	s->cfg.ipv6 = v6;
	if (!v4 && (opts_has(o, "net") || opts_has(o, "host") || opts_has(o, "dns") ||
		    opts_has(o, "ip")))
		return err_set(e, "IPv4 disabled but netmask/host/dns provided");
	return 0;
}

static int stack_parse_v4(struct user_stack *s, struct opts *o, struct error *e)
{
	const char *net = opts_get(o, "net"), *ip = opts_get(o, "ip");
	struct stack_cfg *c = &s->cfg;
	char legacy[64];
	bool restricted = false;

	if (opts_get_bool(o, "restrict", &restricted, e) < 0)
		return -1;
	c->restricted = restricted;
	inet_aton("10.0.2.0", &c->net);
	inet_aton("255.255.255.0", &c->mask);
	if (!net && ip) {
		snprintf(legacy, sizeof(legacy), "%s/24", ip);
		net = legacy;
	}
	if (net && stack_parse_net(net, &c->net, &c->mask, e) < 0)
		return -1;
	if (stack_addr_opt(s, o, "host", 0x0202, &c->host, "Failed to parse host", e) < 0)
		return -1;
	if (!stack_in_net(s, c->host))
		return err_set(e, "Host doesn't belong to network");
	if (stack_addr_opt(s, o, "dns", 0x0203, &c->dns, "Failed to parse DNS", e) < 0)
		return -1;
	if (c->restricted && !stack_in_net(s, c->dns))
		return err_set(e, "DNS doesn't belong to network");
	if (c->dns.s_addr == c->host.s_addr)
		return err_set(e, "DNS must be different from host");
	if (stack_addr_opt(s, o, "dhcpstart", 0x020f, &c->dhcp_start,
			   "Failed to parse DHCP start address", e) < 0)
		return -1;
	if (!stack_in_net(s, c->dhcp_start))
		return err_set(e, "DHCP doesn't belong to network");
	if (c->dhcp_start.s_addr == c->host.s_addr || c->dhcp_start.s_addr == c->dns.s_addr)
		return err_set(e, "DHCP must be different from host and DNS");
	c->guestfwd_default.s_addr = c->net.s_addr | (htonl(0x0204) & ~c->mask.s_addr);
	return 0;
}

static int stack_parse_names(struct user_stack *s, struct opts *o, struct error *e)
{
	const char *hn = opts_get(o, "hostname"), *dn = opts_get(o, "domainname"), *v;
	const char *list[64];
	int n = 0, pos = 0;

	if (hn && strlen(hn) > 255)
		return err_set(e, "'vhostname' parameter cannot exceed 255 bytes");
	if (dn && !*dn)
		return err_set(e, "'domainname' parameter cannot be empty");
	if (dn && strlen(dn) > 255)
		return err_set(e, "'domainname' parameter cannot exceed 255 bytes");
	s->cfg.hostname = hn ? xstrdup(hn) : NULL;
	s->cfg.domainname = dn ? xstrdup(dn) : NULL;
	while ((v = opts_next(o, "dnssearch", &pos))) {
		if (n == (int)ARRAY_SIZE(list))
			return err_set(e, "too many 'dnssearch' domains (at most %zu)",
				       ARRAY_SIZE(list));
		list[n++] = v;
	}
	/* libslirp silently drops an invalid list; qnet warns and drops it too */
	if (n && dhcp_encode_search(list, n, &s->cfg.dnssearch, &s->cfg.dnssearch_len) < 0)
		warn_report("'dnssearch' has an invalid domain name: option 119 not sent");
	return 0;
}

static int stack_parse_qnet(struct user_stack *s, struct opts *o, struct error *e)
{
	uint64_t mtu = STACK_MTU_DEFAULT;
	const char *rc = opts_get(o, "resolv-conf");
	int r = opts_get_u64(o, "mtu", &mtu, e);

	if (r < 0)
		return -1;
	if (mtu < STACK_MTU_MIN || mtu > STACK_MTU_MAX)
		return err_set(e, "Parameter 'mtu' expects a value from %d to %d", STACK_MTU_MIN,
			       STACK_MTU_MAX);
	s->cfg.mtu = (unsigned)mtu;
	s->cfg.mtu_set = r > 0;
	if (rc && !*rc)
		return err_set(e, "'resolv-conf' parameter cannot be empty");
	s->cfg.resolv_conf = xstrdup(rc ? rc : "/etc/resolv.conf");
	return 0;
}

static const char *const stack_later[] = {
	"tftp", "tftp-server-name", "bootfile", "smb", "smbserver",
};

static int stack_parse_fwd(struct user_stack *s, struct opts *o, struct error *e)
{
	const char *v;
	int pos = 0;

	/* QEMU applies guestfwds first; each rule fails the whole netdev */
	while ((v = opts_next(o, "guestfwd", &pos)))
		if (fwd_guestfwd_add(s, v, e) < 0)
			return -1;
	pos = 0;
	while ((v = opts_next(o, "hostfwd", &pos)))
		if (fwd_hostfwd_add(s, v, e) < 0)
			return -1;
	return 0;
}

static int stack_init_opts(struct user_stack *s, struct opts *o, struct error *e)
{
	for (size_t i = 0; i < ARRAY_SIZE(stack_later); i++)
		if (opts_has(o, stack_later[i]))
			return err_set(e, "'%s' is not supported by qnet yet", stack_later[i]);
	if (stack_parse_families(s, o, e) < 0 || stack_parse_v4(s, o, e) < 0 ||
	    stack_parse_ipv6(o, s->cfg.ipv6, e) < 0)
		return -1;
	if (!s->cfg.ipv4 && !s->cfg.ipv6)
		return err_set(e, "IPv4 and IPv6 disabled");
	if (stack_parse_names(s, o, e) < 0 || stack_parse_qnet(s, o, e) < 0)
		return -1;
	return 0;
}

static int stack_netdev_init(struct opts *o, const char *id, struct net_client *peer,
			     struct error *e)
{
	struct net_client *nc = net_client_new(&stack_ops, peer, "user", id);
	struct user_stack *s = (struct user_stack *)(void *)nc;
	uint32_t h;

	struct user_stack **pp = &stacks;

	s->hubid = -1;
	loop_defer_init(&s->rx_flush, stack_rx_flush, s);
	while (*pp)		/* creation order: "the first user stack" is QEMU's default */
		pp = &(*pp)->next_stack;
	*pp = s;
	arp_init(s);
	ip4_init(s);
	icmp_init(s);
	udp_init(s);
	tcp_init(s);
	if (stack_init_opts(s, o, e) < 0 || stack_parse_fwd(s, o, e) < 0) {
		net_client_free(nc);
		return -1;
	}
	h = ntohl(s->cfg.host.s_addr);
	s->gw_mac[0] = 0x52;
	s->gw_mac[1] = 0x55;
	s->gw_mac[2] = (uint8_t)(h >> 24);
	s->gw_mac[3] = (uint8_t)(h >> 16);
	s->gw_mac[4] = (uint8_t)(h >> 8);
	s->gw_mac[5] = (uint8_t)h;
	net_set_info_str(nc, "net=%s,restrict=%s", inet_ntoa(s->cfg.net),
			 s->cfg.restricted ? "on" : "off");
	return 0;
}

void stack_info_usernet(struct user_stack *s, struct sbuf *out)
{
	struct hub *h = hub_port_hub(s->nc.peer);

	sbuf_printf(out, "Hub %d (%s):\n", h ? hub_id(h) : -1, s->nc.name);
	sbuf_printf(out, "  Protocol[State]    FD  Source Address  Port   Dest. Address  Port "
			 "RecvQ SendQ\n");
	fwd_info_usernet(s, out);
	tcp_info_usernet(s, out);
	udp_info_usernet(s, out);
	icmp_info_usernet(s, out);
}

static const struct opt_desc stack_opts[] = {
	{ "ipv4", OPT_BOOL, "IPv4 on/off (ipv4=on alone means IPv4 only, as QEMU)" },
	{ "ipv6", OPT_BOOL, "IPv6 on/off (accepted; qnet's IPv6 is not built yet)" },
	{ "net", OPT_STRING, "guest network addr[/mask] (10.0.2.0/24)" },
	{ "ip", OPT_STRING, "legacy: guest network addr, /24" },
	{ "host", OPT_STRING, "gateway / host alias (10.0.2.2)" },
	{ "dhcpstart", OPT_STRING, "first of 16 DHCP leases (10.0.2.15)" },
	{ "dns", OPT_STRING, "DNS alias (10.0.2.3)" },
	{ "restrict", OPT_BOOL, "isolate the guest from the host network (off)" },
	{ "hostname", OPT_STRING, "DHCP option 12" },
	{ "domainname", OPT_STRING, "DHCP option 15" },
	{ "dnssearch", OPT_STRING, "DHCP option 119; repeat the key for several domains" },
	{ "ipv6-net", OPT_STRING, "IPv6 prefix/len (accepted, not used yet)" },
	{ "ipv6-prefix", OPT_STRING, "IPv6 prefix (accepted, not used yet)" },
	{ "ipv6-prefixlen", OPT_NUMBER, "IPv6 prefix length (accepted, not used yet)" },
	{ "ipv6-host", OPT_STRING, "IPv6 gateway (accepted, not used yet)" },
	{ "ipv6-dns", OPT_STRING, "IPv6 DNS (accepted, not used yet)" },
	{ "hostfwd", OPT_STRING, "[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport, repeatable" },
	{ "guestfwd", OPT_STRING, "[tcp]:[server]:port-cmd:COMMAND | -tcp:host:port | -unix:PATH" },
	{ "mtu", OPT_NUMBER, "qnet: interface MTU 68..65520 (1500), sent as DHCP option 26" },
	{ "resolv-conf", OPT_STRING, "qnet: resolver file for DNS forwarding (/etc/resolv.conf)" },
	{ "tftp", OPT_STRING, "not supported yet" },
	{ "tftp-server-name", OPT_STRING, "not supported yet" },
	{ "bootfile", OPT_STRING, "not supported yet" },
	{ "smb", OPT_STRING, "not supported yet" },
	{ "smbserver", OPT_STRING, "not supported yet" },
	{ NULL, 0, NULL },
};

const struct netdev_type netdev_user = {
	.name = "user",
	.driver = NET_DRIVER_USER,
	.opts = stack_opts,
	.modern = false,
	.legacy_ok = true,
	.init = stack_netdev_init,
};
