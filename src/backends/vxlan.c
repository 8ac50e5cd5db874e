// SPDX-License-Identifier: MIT
// vxlan.c - the vxlan netdev: Ethernet frames in VXLAN over UDP (RFC 7348), IPv4 or IPv6 underlay

/*
 * DOC: Theory of operation
 *
 * -netdev vxlan,id=ID,vni=N,local=ADDR,remote=ADDR|group=MCAST[,port=4789]
 * [,ttl=N][,dev=IF] is qnet's own backend (QEMU has none): it speaks the
 * encapsulation of the Linux kernel's vxlan device and of Open vSwitch, so a
 * qnet hub joins a kernel bridge, an OVS port or another qnet across hosts.
 *
 * Every frame goes out as one UDP datagram to port @port: an 8-byte VXLAN
 * header (flags 0x08, the 24-bit VNI) and the frame. The socket is bound to
 * @port as well (on @local with remote=, on the wildcard address with group=,
 * so that both the group's datagrams and the learned peers' unicast replies
 * arrive); any source port is accepted, as the kernel sends from a hashed
 * range. A datagram is taken if it carries the I flag and our VNI (the
 * reserved bits are ignored, as RFC 7348 says); everything else is dropped
 * and counted (struct vxlan_counters).
 *
 * With remote=, every frame goes to that address. With group=, the socket
 * joins the multicast group (on dev= if given) and, as the kernel's vxlan
 * device, learns which address each inner source MAC address comes from, in
 * a fixed table (VXLAN_FDB_SIZE entries, VXLAN_FDB_PROBE probes, entries
 * age out after VXLAN_FDB_AGE_MS); unicast frames to a learned MAC address
 * go to that address (at @port: the kernel sends from other ports), the rest (broadcast, multicast, unknown) to the group.
 * Our own datagrams looped back by the group are dropped.
 *
 * Frames larger than the underlay's MTU allows are fragmented by the host
 * (IP_PMTUDISC_DONT), so a 1500-byte guest MTU works over a 1500-byte link.
 * RX and TX go through the batched datagram engine (dgram_io.h).
 */

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../cli/netdev.h"
#include "../core/cursor.h"
#include "../core/log.h"
#include "../core/loop.h"
#include "../core/net.h"
#include "../core/wire.h"
#include "dgram_io.h"
#include "vxlan.h"

#define VXLAN_FDB_SIZE 256		/* learned endpoints (power of 2) */
#define VXLAN_FDB_PROBE 8		/* slots looked at per MAC address */
#define VXLAN_FDB_AGE_MS 300000		/* as the kernel's default ageing */
#define VXLAN_MCAST_TTL 1		/* multicast TTL/hops when ttl= is not given */

union vxlan_sa {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
};

/**
 * struct vxlan_fdb - one learned endpoint
 * @mac:	inner source MAC address
 * @used:	slot holds an entry
 * @seen:	loop_now_ms() of the last frame from it
 * @addr:	outer source address and port
 */
struct vxlan_fdb {
	uint8_t mac[WIRE_ETH_ALEN];
	bool used;
	uint64_t seen;
	union vxlan_sa addr;
};

/**
 * struct vxlan - one vxlan netdev
 * @nc:		the net client (first)
 * @io:		the socket and its batches
 * @vni:	VXLAN network identifier
 * @hdr:	the header in front of every frame
 * @learn:	group mode: learn endpoints
 * @local:	our address and port (to recognise our own looped datagrams)
 * @cnt:	drop counters
 * @fdb:	learned endpoints
 */
struct vxlan {
	struct net_client nc;
	struct dgram_io io;
	uint32_t vni;
	uint8_t hdr[WIRE_VXLAN_HLEN];
	bool learn;
	union vxlan_sa local;
	struct vxlan_counters cnt;
	struct vxlan_fdb fdb[VXLAN_FDB_SIZE];
};

static socklen_t vxlan_sa_len(const union vxlan_sa *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(a->in6) : sizeof(a->in4);
}

static bool vxlan_sa_equal(const union vxlan_sa *a, const struct sockaddr *b, socklen_t blen)
{
	if (a->sa.sa_family != b->sa_family)
		return false;
	if (a->sa.sa_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)b;

		return blen >= sizeof(*s) && s->sin_port == a->in4.sin_port &&
		       s->sin_addr.s_addr == a->in4.sin_addr.s_addr;
	}
	if (a->sa.sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)b;

		return blen >= sizeof(*s) && s->sin6_port == a->in6.sin6_port &&
		       !memcmp(&s->sin6_addr, &a->in6.sin6_addr, sizeof(s->sin6_addr));
	}
	return false;
}

static unsigned vxlan_hash(const uint8_t *mac)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < WIRE_ETH_ALEN; i++)
		h = (h ^ mac[i]) * 16777619u;
	return h & (VXLAN_FDB_SIZE - 1);
}

static bool vxlan_fdb_live(const struct vxlan_fdb *f, uint64_t now)
{
	return f->used && now - f->seen < VXLAN_FDB_AGE_MS;
}

static struct vxlan_fdb *vxlan_fdb_find(struct vxlan *v, const uint8_t *mac, uint64_t now)
{
	unsigned h = vxlan_hash(mac);

	for (unsigned i = 0; i < VXLAN_FDB_PROBE; i++) {
		struct vxlan_fdb *f = &v->fdb[(h + i) & (VXLAN_FDB_SIZE - 1)];

		if (vxlan_fdb_live(f, now) && !memcmp(f->mac, mac, WIRE_ETH_ALEN))
			return f;
	}
	return NULL;
}

/* vxlan_learn() - @mac is behind @src: remember it (replacing a stale or the oldest slot) */
static void vxlan_learn(struct vxlan *v, const uint8_t *mac, const struct sockaddr *src,
			socklen_t srclen)
{
	uint64_t now = loop_now_ms();
	unsigned h = vxlan_hash(mac);
	struct vxlan_fdb *f = vxlan_fdb_find(v, mac, now), *victim = NULL;

	if (mac[0] & 1 || srclen > sizeof(f->addr) || src->sa_family != v->local.sa.sa_family)
		return;	/* a multicast source address is invalid: never learned */
	if (!f) {
		for (unsigned i = 0; i < VXLAN_FDB_PROBE; i++) {
			struct vxlan_fdb *c = &v->fdb[(h + i) & (VXLAN_FDB_SIZE - 1)];

			if (!vxlan_fdb_live(c, now)) {
				victim = c;
				break;
			}
			if (!victim || c->seen < victim->seen)
				victim = c;
		}
		f = victim;
		memcpy(f->mac, mac, WIRE_ETH_ALEN);
		f->used = true;
		v->cnt.learned++;
	}
	f->seen = now;
	memset(&f->addr, 0, sizeof(f->addr));
	memcpy(&f->addr, src, srclen);
	/* the peer listens on the configured port, whatever port it sends from (as the kernel) */
	if (f->addr.sa.sa_family == AF_INET)
		f->addr.in4.sin_port = v->local.in4.sin_port;
	else
		f->addr.in6.sin6_port = v->local.in6.sin6_port;
}

const struct sockaddr *vxlan_lookup(struct net_client *nc, const uint8_t mac[6], socklen_t *len)
{
	struct vxlan *v = container_of(nc, struct vxlan, nc);
	struct vxlan_fdb *f;

	if (!v->learn || mac[0] & 1)
		return NULL;
	f = vxlan_fdb_find(v, mac, loop_now_ms());
	if (!f)
		return NULL;
	*len = vxlan_sa_len(&f->addr);
	return &f->addr.sa;
}

const struct vxlan_counters *vxlan_counters(const struct net_client *nc)
{
	return &container_of(nc, const struct vxlan, nc)->cnt;
}

static void vxlan_sent(struct net_client *nc, ssize_t ret)
{
	struct vxlan *v = container_of(nc, struct vxlan, nc);

	dgram_io_sent(&v->io);
}

ssize_t vxlan_input(struct net_client *nc, const uint8_t *buf, size_t len,
		    const struct sockaddr *src, socklen_t srclen)
{
	struct vxlan *v = container_of(nc, struct vxlan, nc);
	uint8_t smac[WIRE_ETH_ALEN];
	struct cursor c;
	uint8_t flags;
	uint32_t vni;

	cursor_init_buf(&c, buf, len);
	flags = cursor_u8(&c);
	cursor_skip(&c, 3);
	vni = cursor_be32(&c) >> 8;
	if (!cursor_ok(&c) || cursor_remaining(&c) < WIRE_ETH_HLEN) {
		v->cnt.short_hdr++;
		goto drop;
	}
	if (!(flags & WIRE_VXLAN_FLAG_I)) {
		v->cnt.bad_flags++;
		goto drop;
	}
	if (vni != v->vni) {
		v->cnt.wrong_vni++;
		goto drop;
	}
	if (v->learn && src) {
		struct cursor m = c;

		if (vxlan_sa_equal(&v->local, src, srclen)) {
			v->cnt.self++;
			goto drop;
		}
		cursor_skip(&m, WIRE_ETH_ALEN);
		cursor_pull(&m, smac, sizeof(smac));
		vxlan_learn(v, smac, src, srclen);
	}
	return net_send_buf(&v->nc, buf + WIRE_VXLAN_HLEN, len - WIRE_VXLAN_HLEN, vxlan_sent);
drop:
	v->nc.stats.drops++;
	return -1;
}

static ssize_t vxlan_deliver(struct dgram_io *io, const uint8_t *buf, size_t len)
{
	struct vxlan *v = io->opaque;

	return vxlan_input(&v->nc, buf, len, (const struct sockaddr *)io->rx_src,
			   io->rx_src ? io->rx_src_len : 0);
}

/* vxlan_receive() - a frame from the peer: header in front, to the learned endpoint or remote/group */
static ssize_t vxlan_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
			     const struct net_meta *meta)
{
	struct vxlan *v = container_of(nc, struct vxlan, nc);
	uint8_t dmac[WIRE_ETH_ALEN];
	const struct sockaddr *to = NULL;
	socklen_t tolen = 0;
	struct cursor c;

	cursor_init_iov(&c, iov, iovcnt);
	if (!cursor_pull(&c, dmac, sizeof(dmac))) {
		nc->stats.drops++;
		return -1;
	}
	if (v->learn)
		to = vxlan_lookup(nc, dmac, &tolen);
	return dgram_io_send_to(&v->io, to, tolen, v->hdr, sizeof(v->hdr), iov, iovcnt);
}

static void vxlan_cleanup(struct net_client *nc)
{
	struct vxlan *v = container_of(nc, struct vxlan, nc);

	dgram_io_fini(&v->io);
}

static const struct net_client_ops vxlan_ops = {
	.driver = NET_DRIVER_VXLAN,
	.size = sizeof(struct vxlan),
	.receive = vxlan_receive,
	.cleanup = vxlan_cleanup,
};

/* ---- options and the socket ---- */

/* vxlan_addr() - a numeric IPv4 or IPv6 address (IPv6 may carry %IF) */
static int vxlan_addr(union vxlan_sa *a, const char *what, const char *str, uint16_t port,
		      struct error *e)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_DGRAM };
	struct addrinfo *res;

	if (getaddrinfo(str, NULL, &hints, &res) || !res)
		return err_set(e, "%s '%s' is not a valid IPv4 or IPv6 address", what, str);
	memset(a, 0, sizeof(*a));
	memcpy(a, res->ai_addr, MIN((size_t)res->ai_addrlen, sizeof(*a)));
	freeaddrinfo(res);
	if (a->sa.sa_family == AF_INET)
		a->in4.sin_port = htons(port);
	else
		a->in6.sin6_port = htons(port);
	return 0;
}

static bool vxlan_is_mcast(const union vxlan_sa *a)
{
	if (a->sa.sa_family == AF_INET)
		return IN_MULTICAST(ntohl(a->in4.sin_addr.s_addr));
	return IN6_IS_ADDR_MULTICAST(&a->in6.sin6_addr);
}

static const char *vxlan_ntop(const union vxlan_sa *a, char *buf, size_t len)
{
	if (a->sa.sa_family == AF_INET)
		return inet_ntop(AF_INET, &a->in4.sin_addr, buf, (socklen_t)len);
	return inet_ntop(AF_INET6, &a->in6.sin6_addr, buf, (socklen_t)len);
}

static int vxlan_sockopt(int fd, int level, int name, const void *val, socklen_t len,
			 const char *what, struct error *e)
{
	if (setsockopt(fd, level, name, val, len) < 0)
		return err_set_errno(e, errno, "vxlan: can't set %s", what);
	return 0;
}

/**
 * vxlan_socket() - the UDP socket: bound, options set, group joined
 * Return: fd or -1
 */
static int vxlan_socket(const union vxlan_sa *local, const union vxlan_sa *group, int ttl,
			const char *dev, unsigned ifindex, struct error *e)
{
	int fam = local->sa.sa_family, one = 1, fd;
	union vxlan_sa bind_addr = *local;

	fd = socket(fam, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_set_errno(e, errno, "vxlan: can't create socket");
	sock_set_dgram_bufs(fd);
	if (vxlan_sockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one), "SO_REUSEADDR", e) < 0)
		goto fail;
	if (dev && vxlan_sockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, (socklen_t)strlen(dev),
				 "SO_BINDTODEVICE", e) < 0)
		goto fail;
	if (fam == AF_INET) {
		int pmtu = IP_PMTUDISC_DONT;

		if (vxlan_sockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu),
				  "IP_MTU_DISCOVER", e) < 0)
			goto fail;
		if (ttl && vxlan_sockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl), "IP_TTL", e) < 0)
			goto fail;
		if (group) {
			struct ip_mreqn mr = { .imr_multiaddr = group->in4.sin_addr,
					       .imr_address = local->in4.sin_addr,
					       .imr_ifindex = (int)ifindex };
			int mttl = ttl ? ttl : VXLAN_MCAST_TTL;

			bind_addr.in4.sin_addr.s_addr = htonl(INADDR_ANY);
			if (vxlan_sockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr),
					  "IP_ADD_MEMBERSHIP", e) < 0 ||
			    vxlan_sockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr),
					  "IP_MULTICAST_IF", e) < 0 ||
			    vxlan_sockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &mttl, sizeof(mttl),
					  "IP_MULTICAST_TTL", e) < 0 ||
			    vxlan_sockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof(one),
					  "IP_MULTICAST_LOOP", e) < 0)
				goto fail;
		}
	} else {
		int pmtu = IPV6_PMTUDISC_DONT;

		if (vxlan_sockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one), "IPV6_V6ONLY",
				  e) < 0 ||
		    vxlan_sockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu, sizeof(pmtu),
				  "IPV6_MTU_DISCOVER", e) < 0)
			goto fail;
		if (ttl && vxlan_sockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof(ttl),
					 "IPV6_UNICAST_HOPS", e) < 0)
			goto fail;
		if (group) {
			struct ipv6_mreq mr = { .ipv6mr_multiaddr = group->in6.sin6_addr,
						.ipv6mr_interface = ifindex };
			int hops = ttl ? ttl : VXLAN_MCAST_TTL;

			bind_addr.in6.sin6_addr = in6addr_any;
			bind_addr.in6.sin6_scope_id = 0;
			if (vxlan_sockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof(mr),
					  "IPV6_JOIN_GROUP", e) < 0 ||
			    (ifindex && vxlan_sockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex,
						      sizeof(ifindex), "IPV6_MULTICAST_IF", e) < 0) ||
			    vxlan_sockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops),
					  "IPV6_MULTICAST_HOPS", e) < 0 ||
			    vxlan_sockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &one, sizeof(one),
					  "IPV6_MULTICAST_LOOP", e) < 0)
				goto fail;
		}
	}
	if (bind(fd, &bind_addr.sa, vxlan_sa_len(&bind_addr)) < 0) {
		char h[INET6_ADDRSTRLEN];

		err_set_errno(e, errno, "vxlan: can't bind %s port %u",
			      vxlan_ntop(&bind_addr, h, sizeof(h)),
			      ntohs(fam == AF_INET ? bind_addr.in4.sin_port : bind_addr.in6.sin6_port));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/**
 * vxlan_init() - -netdev vxlan: check the options, bind, join, create the client
 * Return: 0 or -1 with @e set
 */
static int vxlan_init(struct opts *o, const char *id, struct net_client *peer, struct error *e)
{
	const char *local_s, *remote_s, *group_s, *dev;
	uint64_t vni, port = WIRE_VXLAN_PORT, ttl = 0;
	union vxlan_sa local, dest;
	unsigned ifindex = 0;
	char lh[INET6_ADDRSTRLEN], dh[INET6_ADDRSTRLEN];
	struct vxlan *v;
	int fd, r;

	if (!opts_has(o, "vni"))
		return err_set(e, "Parameter 'vni' is missing");
	if (opts_get_u64(o, "vni", &vni, e) < 0)
		return -1;
	if (vni > WIRE_VXLAN_VNI_MAX)
		return err_set(e, "vni=%llu out of range (0-%u)", (unsigned long long)vni,
			       WIRE_VXLAN_VNI_MAX);
	local_s = opts_get(o, "local");
	remote_s = opts_get(o, "remote");
	group_s = opts_get(o, "group");
	dev = opts_get(o, "dev");
	if (opts_get_u64(o, "port", &port, e) < 0 || opts_get_u64(o, "ttl", &ttl, e) < 0)
		return -1;
	if (!local_s)
		return err_set(e, "Parameter 'local' is missing");
	if (!remote_s == !group_s)
		return err_set(e, "vxlan requires exactly one of remote= and group=");
	if (!port || port > 65535)
		return err_set(e, "port=%llu out of range (1-65535)", (unsigned long long)port);
	if (ttl > 255)
		return err_set(e, "ttl=%llu out of range (0-255)", (unsigned long long)ttl);
	if (dev) {
		ifindex = if_nametoindex(dev);
		if (!ifindex)
			return err_set(e, "vxlan: no interface '%s'", dev);
	}
	if (vxlan_addr(&local, "local", local_s, (uint16_t)port, e) < 0 ||
	    vxlan_addr(&dest, group_s ? "group" : "remote", group_s ? group_s : remote_s,
		       (uint16_t)port, e) < 0)
		return -1;
	if (local.sa.sa_family != dest.sa.sa_family)
		return err_set(e, "vxlan: local= and %s= must be of the same address family",
			       group_s ? "group" : "remote");
	if (vxlan_is_mcast(&local))
		return err_set(e, "vxlan: local '%s' is a multicast address", local_s);
	if (group_s && !vxlan_is_mcast(&dest))
		return err_set(e, "vxlan: group '%s' is not a multicast address", group_s);
	if (remote_s && vxlan_is_mcast(&dest))
		return err_set(e, "vxlan: remote '%s' is a multicast address: use group=", remote_s);
	if (dest.sa.sa_family == AF_INET6 && !dest.in6.sin6_scope_id &&
	    (IN6_IS_ADDR_LINKLOCAL(&dest.in6.sin6_addr) || group_s))
		dest.in6.sin6_scope_id = ifindex;

	fd = vxlan_socket(&local, group_s ? &dest : NULL, (int)ttl, dev, ifindex, e);
	if (fd < 0)
		return -1;
	v = container_of(net_client_new(&vxlan_ops, peer, "vxlan", id), struct vxlan, nc);
	v->vni = (uint32_t)vni;
	v->hdr[0] = WIRE_VXLAN_FLAG_I;
	v->hdr[4] = (uint8_t)(vni >> 16);
	v->hdr[5] = (uint8_t)(vni >> 8);
	v->hdr[6] = (uint8_t)vni;
	v->learn = group_s != NULL;
	v->local = local;
	dgram_io_init(&v->io, &v->nc, vxlan_sent, v);
	v->io.headroom = WIRE_VXLAN_HLEN;
	v->io.deliver = vxlan_deliver;
	v->io.want_src = v->learn;
	r = dgram_io_start(&v->io, fd);
	if (r < 0) {
		err_set_errno(e, -r, "vxlan: can't watch socket");
		close(fd);
		net_client_free(&v->nc);
		return -1;
	}
	dgram_io_set_dest(&v->io, &dest, vxlan_sa_len(&dest));
	net_set_info_str(&v->nc, "vxlan: vni=%u local=%s %s=%s port=%u", v->vni,
			 vxlan_ntop(&local, lh, sizeof(lh)), group_s ? "group" : "remote",
			 vxlan_ntop(&dest, dh, sizeof(dh)), (unsigned)port);
	return 0;
}

static const struct opt_desc vxlan_opts[] = {
	{ "vni", OPT_NUMBER, "VXLAN network identifier, 0-16777215 (required)" },
	{ "local", OPT_STRING, "local IPv4 or IPv6 address (required)" },
	{ "remote", OPT_STRING, "the remote endpoint's address (unicast), or:" },
	{ "group", OPT_STRING, "a multicast group: remote endpoints are learned" },
	{ "port", OPT_NUMBER, "UDP port, local and remote (default 4789)" },
	{ "ttl", OPT_NUMBER, "TTL / hop limit of the outer packets (default: the system's; 1 for a group)" },
	{ "dev", OPT_STRING, "underlay interface (the group is joined on it)" },
	{ NULL, OPT_STRING, NULL },
};

const struct netdev_type netdev_vxlan = {
	.name = "vxlan",
	.driver = NET_DRIVER_VXLAN,
	.opts = vxlan_opts,
	.modern = false,
	.legacy_ok = true,
	.init = vxlan_init,
};
