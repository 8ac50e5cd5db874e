// SPDX-License-Identifier: MIT
// user.c - the `user` netdev: options, the net client, and the user stack's environment on qnet's loop

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/netdev.h"
#include "../core/event.h"
#include "../core/hub.h"
#include "../core/log.h"
#include "../core/loop.h"
#include "user.h"

/**
 * struct user_netdev - one -netdev user
 * @nc:		the net client (first member)
 * @s:		the stack
 * @timer:	the one wake-up the stack asked for
 * @flush:	runs stack_flush() after the current batch
 * @rx_flush:	delivers guest frames that arrived while the stack was sending
 * @next:	list of every user netdev
 * @smb_dir:	smb=: the private temporary directory of smbd (user_smb.c), removed at cleanup
 */
struct user_netdev {
	struct net_client nc;
	struct user_stack *s;
	struct loop_timer timer;
	struct loop_defer flush;
	struct loop_defer rx_flush;
	struct user_netdev *next;
	char *smb_dir;
};

_Static_assert(sizeof(struct loop_fd) <= sizeof(((struct stack_fd *)0)->env),
	       "a loop_fd fits in a stack_fd's env storage");

static struct user_netdev *users;

struct user_stack *user_first(void)
{
	return users ? users->s : NULL;
}

struct user_stack *user_next(struct user_stack *s)
{
	struct user_netdev *u = s->opaque;

	return u->next ? u->next->s : NULL;
}

struct user_stack *user_of(struct net_client *nc)
{
	if (!nc || nc->ops->driver != NET_DRIVER_USER)
		return NULL;
	return ((struct user_netdev *)(void *)nc)->s;
}

void user_info_usernet(struct user_stack *s, struct sbuf *out)
{
	struct user_netdev *u = s->opaque;
	struct hub *h = hub_port_hub(u->nc.peer);

	sbuf_printf(out, "Hub %d (%s):\n", h ? hub_id(h) : -1, u->nc.name);
	stack_info_usernet(s, out);
}

/* ---- struct stack_env on qnet's loop ---- */

static void user_sent_cb(struct net_client *nc, ssize_t ret)
{
	struct user_netdev *u = (struct user_netdev *)(void *)nc;

	stack_guest_resumed(u->s);
}

static ssize_t user_env_send(void *opaque, const struct iovec *iov, int iovcnt,
			     const struct net_meta *meta)
{
	struct user_netdev *u = opaque;
	bool was = u->nc.delivering;
	ssize_t r;

	/*
	 * While sending, the netdev counts as busy receiving: a frame that comes
	 * back synchronously (another user stack on the same hub answering at
	 * once) is queued by the core and delivered from deferred work, never
	 * while the stack is inside send.
	 */
	u->nc.delivering = true;
	r = net_send_meta(&u->nc, iov, iovcnt, meta, user_sent_cb);
	u->nc.delivering = was;
	if (u->nc.queue.count)
		loop_defer(&u->rx_flush);
	return r;
}

static uint64_t user_env_clock_ns(void *opaque)
{
	return loop_now_ns();
}

static void user_env_timer_arm(void *opaque, uint64_t deadline_ms)
{
	struct user_netdev *u = opaque;
	uint64_t now;

	if (deadline_ms == STACK_NO_DEADLINE) {
		loop_timer_cancel(&u->timer);
		return;
	}
	now = loop_now_ms();
	loop_timer_arm(&u->timer, deadline_ms > now ? deadline_ms - now : 0);
}

static void user_timer_cb(struct loop_timer *t)
{
	struct user_netdev *u = t->opaque;

	stack_timers_run(u->s);
}

static void user_fd_cb(struct loop_fd *l, uint32_t events)
{
	stack_fd_event(l->opaque, events);
}

static struct loop_fd *user_loop_fd(struct stack_fd *h)
{
	return (struct loop_fd *)(void *)h->env;
}

static int user_env_fd_add(void *opaque, struct stack_fd *h)
{
	return loop_fd_add(user_loop_fd(h), h->fd, h->events, user_fd_cb, h);
}

static int user_env_fd_mod(void *opaque, struct stack_fd *h, uint32_t events)
{
	return loop_fd_mod(user_loop_fd(h), events);
}

static void user_env_fd_del(void *opaque, struct stack_fd *h)
{
	loop_fd_del(user_loop_fd(h));
}

static void user_env_defer(void *opaque)
{
	struct user_netdev *u = opaque;

	loop_defer(&u->flush);
}

static void user_flush_cb(struct loop_defer *d)
{
	struct user_netdev *u = d->opaque;

	stack_flush(u->s);
}

static void user_rx_flush_cb(struct loop_defer *d)
{
	struct user_netdev *u = d->opaque;

	net_flush_queued(&u->nc);
}

/* user_env_event() - the stack's event, with "netdev-id" first, to the core's hook */
static void user_env_event(void *opaque, const char *name, const struct event_field *f, int n)
{
	struct user_netdev *u = opaque;
	struct event_field all[16] = { EVENT_FIELD_STR("netdev-id", u->nc.name) };
	int k = 1;

	for (int i = 0; i < n && k < (int)ARRAY_SIZE(all); i++)
		all[k++] = f[i];
	event_raise(name, all, k);
}

static const struct stack_env user_env = {
	.send = user_env_send,
	.clock_ns = user_env_clock_ns,
	.timer_arm = user_env_timer_arm,
	.fd_add = user_env_fd_add,
	.fd_mod = user_env_fd_mod,
	.fd_del = user_env_fd_del,
	.defer = user_env_defer,
	.event = user_env_event,
};

/* ---- the net client ---- */

static ssize_t user_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
			    const struct net_meta *meta)
{
	struct user_netdev *u = (struct user_netdev *)(void *)nc;

	/* what frames towards the guest may carry: rechecked per guest frame (hubs change) */
	u->s->guest_offloads = net_path_offloads(nc);
	stack_input(u->s, iov, iovcnt, meta);
	return (ssize_t)net_iov_size(iov, iovcnt);
}

static void user_cleanup(struct net_client *nc)
{
	struct user_netdev *u = (struct user_netdev *)(void *)nc, **pp;

	stack_free(u->s);	/* stops every smbd it started */
	u->s = NULL;
	user_smb_remove(u->smb_dir);
	u->smb_dir = NULL;
	loop_timer_cancel(&u->timer);
	loop_defer_cancel(&u->flush);
	loop_defer_cancel(&u->rx_flush);
	for (pp = &users; *pp; pp = &(*pp)->next) {
		if (*pp == u) {
			*pp = u->next;
			break;
		}
	}
}

static const struct net_client_ops user_ops = {
	.driver = NET_DRIVER_USER,
	.size = sizeof(struct user_netdev),
	.receive = user_receive,
	.cleanup = user_cleanup,
};

/* ---- options ---- */

/* user_in_net() - @a (network order) lies inside @c's guest network */
static bool user_in_net(const struct stack_cfg *c, struct in_addr a)
{
	return (a.s_addr & c->mask.s_addr) == c->net.s_addr;
}

/* user_parse_net() - QEMU's net=addr[/mask] with its classful default masks */
static int user_parse_net(const char *v, struct in_addr *net, struct in_addr *mask,
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

/* user_addr_opt() - an address option, or the default @low bits inside the network */
static int user_addr_opt(struct stack_cfg *c, struct opts *o, const char *key, uint32_t low,
			  struct in_addr *out, const char *errtext, struct error *e)
{
	const char *v = opts_get(o, key);

	if (!v) {
		out->s_addr = c->net.s_addr | (htonl(low) & ~c->mask.s_addr);
		return 0;
	}
	if (!inet_aton(v, out))
		return err_set(e, "%s", errtext);
	return 0;
}

/* user_in_prefix() - the first @len bits of @a and @p are equal (QEMU's in6_equal_net) */
static bool user_in_prefix(const struct in6_addr *p, const struct in6_addr *a, unsigned len)
{
	for (unsigned i = 0; i < len; i++) {
		uint8_t bit = (uint8_t)(0x80 >> (i % 8));

		if ((p->s6_addr[i / 8] & bit) != (a->s6_addr[i / 8] & bit))
			return false;
	}
	return true;
}

/* user_parse_ipv6() - ipv6-net / ipv6-prefix, ipv6-prefixlen, ipv6-host, ipv6-dns, in QEMU's order */
static int user_parse_ipv6(struct stack_cfg *c, struct opts *o, struct error *e)
{
	const char *net6 = opts_get(o, "ipv6-net"), *pfx = opts_get(o, "ipv6-prefix");
	const char *h6 = opts_get(o, "ipv6-host"), *d6 = opts_get(o, "ipv6-dns");
	uint64_t len = 0;
	char buf[INET6_ADDRSTRLEN + 8];

	if (opts_get_u64(o, "ipv6-prefixlen", &len, e) < 0)
		return -1;
	if (net6) {
		const char *slash = strchr(net6, '/');
		size_t n = slash ? (size_t)(slash - net6) : strlen(net6);
		struct in6_addr a;

		if (n >= sizeof(buf) || (memcpy(buf, net6, n), buf[n] = 0, inet_pton(AF_INET6, buf, &a) != 1))
			return err_set(e, "Parameter 'ipv6-net' expects a valid IPv6 prefix");
		len = 64;
		if (slash) {
			char *end;

			len = strtoull(slash + 1, &end, 10);
			if (*end || end == slash + 1)
				return err_set(e, "parameter 'ipv6-net' expects a number after '/'");
		}
		pfx = buf;
	}
	if (pfx && inet_pton(AF_INET6, pfx, &c->prefix6) != 1)
		return err_set(e, "Failed to parse IPv6 prefix");
	if (!len)
		len = 64;	/* QEMU: 0 means the default */
	if (len > 126)
		return err_set(e, "Invalid IPv6 prefix provided "
				  "(IPv6 prefix length must be between 0 and 126)");
	c->prefixlen6 = (unsigned)len;
	if (h6) {
		if (inet_pton(AF_INET6, h6, &c->host6) != 1)
			return err_set(e, "Failed to parse IPv6 host");
		if (!user_in_prefix(&c->prefix6, &c->host6, c->prefixlen6))
			return err_set(e, "IPv6 Host doesn't belong to network");
	} else {
		c->host6 = c->prefix6;
		c->host6.s6_addr[15] |= 2;
	}
	if (d6) {
		if (inet_pton(AF_INET6, d6, &c->dns6) != 1)
			return err_set(e, "Failed to parse IPv6 DNS");
		if (c->restricted && !user_in_prefix(&c->prefix6, &c->dns6, c->prefixlen6))
			return err_set(e, "IPv6 DNS doesn't belong to network");
	} else {
		c->dns6 = c->prefix6;
		c->dns6.s6_addr[15] |= 3;
	}
	return 0;
}

/* user_parse_families() - QEMU's ipv4=/ipv6= rules (one given "on" alone disables the other) */
static int user_parse_families(struct stack_cfg *c, struct opts *o, struct error *e)
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
	c->ipv4 = v4;
	c->ipv6 = v6;
	if (!v4 && (opts_has(o, "net") || opts_has(o, "host") || opts_has(o, "dns") ||
		    opts_has(o, "ip")))
		return err_set(e, "IPv4 disabled but netmask/host/dns provided");
	if (!v6 && (opts_has(o, "ipv6-net") || opts_has(o, "ipv6-prefix") ||
		    opts_has(o, "ipv6-host") || opts_has(o, "ipv6-dns")))
		return err_set(e, "IPv6 disabled but prefix/host6/dns6 provided");
	return 0;
}

static int user_parse_v4(struct stack_cfg *c, struct opts *o, struct error *e)
{
	const char *net = opts_get(o, "net"), *ip = opts_get(o, "ip");
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
	if (net && user_parse_net(net, &c->net, &c->mask, e) < 0)
		return -1;
	if (user_addr_opt(c, o, "host", 0x0202, &c->host, "Failed to parse host", e) < 0)
		return -1;
	if (!user_in_net(c, c->host))
		return err_set(e, "Host doesn't belong to network");
	if (user_addr_opt(c, o, "dns", 0x0203, &c->dns, "Failed to parse DNS", e) < 0)
		return -1;
	if (c->restricted && !user_in_net(c, c->dns))
		return err_set(e, "DNS doesn't belong to network");
	if (c->dns.s_addr == c->host.s_addr)
		return err_set(e, "DNS must be different from host");
	if (user_addr_opt(c, o, "dhcpstart", 0x020f, &c->dhcp_start,
			   "Failed to parse DHCP start address", e) < 0)
		return -1;
	if (!user_in_net(c, c->dhcp_start))
		return err_set(e, "DHCP doesn't belong to network");
	if (c->dhcp_start.s_addr == c->host.s_addr || c->dhcp_start.s_addr == c->dns.s_addr)
		return err_set(e, "DHCP must be different from host and DNS");
	c->guestfwd_default.s_addr = c->net.s_addr | (htonl(0x0204) & ~c->mask.s_addr);
	return 0;
}

static int user_parse_names(struct stack_cfg *c, struct opts *o, struct error *e)
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
	c->hostname = hn ? xstrdup(hn) : NULL;
	c->domainname = dn ? xstrdup(dn) : NULL;
	while ((v = opts_next(o, "dnssearch", &pos))) {
		if (n == (int)ARRAY_SIZE(list))
			return err_set(e, "too many 'dnssearch' domains (at most %zu)",
				       ARRAY_SIZE(list));
		list[n++] = v;
	}
	/* libslirp silently drops an invalid list; qnet warns and drops it too */
	if (n && dhcp_encode_search(list, n, &c->dnssearch, &c->dnssearch_len) < 0)
		warn_report("'dnssearch' has an invalid domain name: option 119 not sent");
	else if (n && ndp_encode_dnssl(list, n, &c->dnssl, &c->dnssl_len) < 0)
		warn_report("'dnssearch' needs more than %d bytes: not sent in IPv6 RAs",
			    IP6_DNSSL_MAX);
	return 0;
}

static int user_parse_qnet(struct stack_cfg *c, struct opts *o, struct error *e)
{
	uint64_t mtu = STACK_MTU_DEFAULT;
	const char *rc = opts_get(o, "resolv-conf");
	int r = opts_get_u64(o, "mtu", &mtu, e);

	if (r < 0)
		return -1;
	if (mtu < STACK_MTU_MIN || mtu > STACK_MTU_MAX)
		return err_set(e, "Parameter 'mtu' expects a value from %d to %d", STACK_MTU_MIN,
			       STACK_MTU_MAX);
	c->mtu = (unsigned)mtu;
	c->mtu_set = r > 0;
	if (rc && !*rc)
		return err_set(e, "'resolv-conf' parameter cannot be empty");
	c->resolv_conf = xstrdup(rc ? rc : "/etc/resolv.conf");
	return 0;
}


/* tftp=, bootfile=, tftp-server-name= (QEMU's texts; its 128-byte bootfile limit is a libslirp one) */
static int user_parse_tftp(struct stack_cfg *c, struct opts *o, struct error *e)
{
	const char *t = opts_get(o, "tftp"), *bf = opts_get(o, "bootfile");
	const char *tn = opts_get(o, "tftp-server-name");

	if (tn && strlen(tn) > 255)
		return err_set(e, "'tftp-server-name' parameter cannot exceed 255 bytes");
	if (bf && strlen(bf) >= 128)
		return err_set(e, "'bootfile' parameter cannot exceed 127 bytes");
	c->tftp_root = t ? xstrdup(t) : NULL;
	c->bootfile = bf ? xstrdup(bf) : NULL;
	c->tftp_server_name = tn ? xstrdup(tn) : NULL;
	return 0;
}

int user_add_fwds(struct user_stack *s, struct opts *o, struct error *e)
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

int user_parse_cfg(struct stack_cfg *c, struct opts *o, struct error *e)
{
	stack_cfg_default(c);
	if (user_parse_families(c, o, e) < 0 || user_parse_v4(c, o, e) < 0 ||
	    user_smb_check_addr(o, e) < 0 ||
	    user_parse_ipv6(c, o, e) < 0)
		return -1;
	if (!c->ipv4 && !c->ipv6)
		return err_set(e, "IPv4 and IPv6 disabled");
	if (user_parse_names(c, o, e) < 0 || user_parse_tftp(c, o, e) < 0 ||
	    user_parse_qnet(c, o, e) < 0)
		return -1;
	return 0;
}

static int user_netdev_init(struct opts *o, const char *id, struct net_client *peer,
			    struct error *e)
{
	struct stack_cfg cfg;
	struct net_client *nc;
	struct user_netdev *u, **pp;
	int r = user_parse_cfg(&cfg, o, e);

	if (r == 0) {
		cfg.name = xstrdup(id);
		nc = net_client_new(&user_ops, peer, "user", id);
		u = (struct user_netdev *)(void *)nc;
		/* guest TCP segments of up to 64 KiB go into one socket write; partial checksums
		 * are taken as they are (the guest's kernel had the data in memory, not on a wire) */
		nc->offloads = NET_OFF_CSUM | NET_OFF_TSO4 | NET_OFF_TSO6 | NET_OFF_TSO_ECN;
		loop_timer_init(&u->timer, user_timer_cb, u);
		loop_defer_init(&u->flush, user_flush_cb, u);
		loop_defer_init(&u->rx_flush, user_rx_flush_cb, u);
		for (pp = &users; *pp; pp = &(*pp)->next)
			;	/* creation order: "the first user stack" is QEMU's default */
		*pp = u;
		u->s = stack_new(&cfg, &user_env, u, e);
		if (!u->s || user_add_fwds(u->s, o, e) < 0 ||
		    user_smb_start(u->s, o, &u->smb_dir, e) < 0) {
			net_client_free(nc);
			r = -1;
		} else {
			net_set_info_str(nc, "net=%s,restrict=%s", inet_ntoa(cfg.net),
					 cfg.restricted ? "on" : "off");
		}
	}
	stack_cfg_free(&cfg);
	return r;
}

static const struct opt_desc user_opts[] = {
	{ "ipv4", OPT_BOOL, "IPv4 on/off (ipv4=on alone means IPv4 only, as QEMU)" },
	{ "ipv6", OPT_BOOL, "IPv6 on/off (on: RA for SLAAC, NDP, TCP/UDP NAT, DNS on ipv6-dns)" },
	{ "net", OPT_STRING, "guest network addr[/mask] (10.0.2.0/24)" },
	{ "ip", OPT_STRING, "legacy: guest network addr, /24" },
	{ "host", OPT_STRING, "gateway / host alias (10.0.2.2)" },
	{ "dhcpstart", OPT_STRING, "first of 16 DHCP leases (10.0.2.15)" },
	{ "dns", OPT_STRING, "DNS alias (10.0.2.3)" },
	{ "restrict", OPT_BOOL, "isolate the guest from the host network (off)" },
	{ "hostname", OPT_STRING, "DHCP option 12" },
	{ "domainname", OPT_STRING, "DHCP option 15" },
	{ "dnssearch", OPT_STRING, "DHCP option 119; repeat the key for several domains" },
	{ "ipv6-net", OPT_STRING, "IPv6 prefix/len, advertised for SLAAC (fec0::/64)" },
	{ "ipv6-prefix", OPT_STRING, "IPv6 prefix advertised for SLAAC (fec0::)" },
	{ "ipv6-prefixlen", OPT_NUMBER, "IPv6 prefix length 1..126 (64; 0 means 64)" },
	{ "ipv6-host", OPT_STRING, "IPv6 router / host alias, inside the prefix (fec0::2)" },
	{ "ipv6-dns", OPT_STRING, "IPv6 DNS alias (fec0::3)" },
	{ "hostfwd", OPT_STRING, "[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport, repeatable" },
	{ "guestfwd", OPT_STRING, "[tcp]:[server]:port-cmd:COMMAND | -tcp:host:port | -unix:PATH" },
	{ "mtu", OPT_NUMBER, "qnet: interface MTU 68..65520 (1500), sent in DHCP (26) and RAs" },
	{ "resolv-conf", OPT_STRING, "qnet: resolver file for DNS forwarding (/etc/resolv.conf)" },
	{ "tftp", OPT_STRING, "directory served read-only by TFTP at the gateway (UDP 69)" },
	{ "tftp-server-name", OPT_STRING, "DHCP option 66 (at most 255 bytes)" },
	{ "bootfile", OPT_STRING, "BOOTP file field and DHCP option 67 (at most 127 bytes)" },
	{ "smb", OPT_STRING, "directory exported by Samba's smbd as share 'qemu' (smbserver:445/139)" },
	{ "smbserver", OPT_STRING, "address of the SMB server (10.0.2.4)" },
	{ NULL, 0, NULL },
};

const struct netdev_type netdev_user = {
	.name = "user",
	.driver = NET_DRIVER_USER,
	.opts = user_opts,
	.modern = false,
	.legacy_ok = true,
	.init = user_netdev_init,
};
