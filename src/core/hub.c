// SPDX-License-Identifier: MIT
// hub.c - QEMU hubs (flood) and learning switches, with per-destination bounded queues

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "hub.h"
#include "log.h"
#include "loop.h"
#include "wire.h"

/*
 * Back-pressure across a hub: a destination's incoming queue (the core's,
 * on the client linked to the port) holds up to NET_QUEUE_MAX_COUNT frames
 * sent without a callback, then drops. Before forwarding, a port checks every
 * destination: if one holds more than HUB_HIGH frames and has drained (or
 * started queueing) within HUB_LIVE_MS, the source is paused (receive returns 0, the core queues the
 * frame on the port and the source stops reading its fd). It resumes when
 * that destination drains (peer_drained) or, at the latest, after HUB_LIVE_MS,
 * when a destination that stopped draining no longer counts: its frames are
 * then dropped and counted, and the others run at full rate.
 */
#define HUB_HIGH 256
#define HUB_LIVE_MS 500
#define HUB_MAC_BUCKETS 1024

struct hub_port;

struct hub_mac {
	uint8_t mac[6];
	struct hub_port *port;
	uint64_t seen_ms;
};

struct hub {
	int id;
	enum hub_mode mode;
	bool mode_set;
	unsigned ageing_s;
	int num_ports;
	struct hub_port *ports;	/* newest first, as QEMU lists them */
	struct hub *next;	/* newest first */
	struct hub_mac *macs;	/* HUB_MAC_BUCKETS, switch mode only */
	struct loop_timer resume;
};

struct hub_port {
	struct net_client nc;
	struct hub *hub;
	struct hub_port *next;
};

static struct hub *hubs;

static ssize_t hub_port_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
				const struct net_meta *meta);
static void hub_port_cleanup(struct net_client *nc);
static void hub_port_peer_drained(struct net_client *nc);

static const struct net_client_ops hub_port_ops = {
	.driver = NET_DRIVER_HUBPORT,
	.size = sizeof(struct hub_port),
	.receive = hub_port_receive,
	.cleanup = hub_port_cleanup,
	.peer_drained = hub_port_peer_drained,
};

struct hub *hub_find(int id)
{
	for (struct hub *h = hubs; h; h = h->next)
		if (h->id == id)
			return h;
	return NULL;
}

/* hub_resume() - let paused sources try again */
static void hub_resume(struct hub *h)
{
	struct hub_port *p, *next;

	for (p = h->ports; p; p = next) {
		next = p->next;
		if (p->nc.receive_disabled || p->nc.queue.count)
			net_flush_queued(&p->nc);
	}
}

static void hub_resume_timer(struct loop_timer *t)
{
	hub_resume(t->opaque);
}

struct hub *hub_get(int id)
{
	struct hub *h = hub_find(id);

	if (h)
		return h;
	h = xzalloc(sizeof(*h));
	h->id = id;
	h->mode = HUB_FLOOD;
	h->ageing_s = HUB_AGEING_DEFAULT;
	loop_timer_init(&h->resume, hub_resume_timer, h);
	h->next = hubs;
	hubs = h;
	return h;
}

int hub_id(const struct hub *h)
{
	return h->id;
}

int hub_set_mode(struct hub *h, enum hub_mode mode, unsigned ageing_s, struct error *e)
{
	if (h->mode_set && (h->mode != mode || h->ageing_s != ageing_s))
		return err_set(e, "hub %d already has mode=%s,ageing=%u", h->id,
			       h->mode == HUB_SWITCH ? "switch" : "flood", h->ageing_s);
	h->mode = mode;
	h->ageing_s = ageing_s;
	h->mode_set = true;
	if (mode == HUB_SWITCH && !h->macs)
		h->macs = xzalloc(sizeof(*h->macs) * HUB_MAC_BUCKETS);
	return 0;
}

struct hub *hub_port_hub(const struct net_client *nc)
{
	if (!nc || nc->ops != &hub_port_ops)
		return NULL;
	return ((const struct hub_port *)(const void *)nc)->hub;
}

struct net_client *hub_add_port(struct hub *h, const char *name, struct net_client *peer,
				bool is_netdev)
{
	struct hub_port *p;
	struct net_client *nc;
	char *gen = NULL;

	if (!name)
		name = gen = xasprintf("hub%dport%d", h->id, h->num_ports);
	h->num_ports++;
	nc = net_client_new(&hub_port_ops, peer, "hub", name);
	free(gen);
	nc->is_netdev = is_netdev;
	nc->offloads = NET_OFF_ALL;	/* frames cross the hub whole; each receiver gets what it takes */
	p = (struct hub_port *)(void *)nc;
	p->hub = h;
	p->next = h->ports;
	h->ports = p;
	return nc;
}

uint32_t hub_port_path_offloads(const struct net_client *nc)
{
	const struct hub *h = hub_port_hub(nc);
	uint32_t off = NET_OFF_ALL;
	bool any = false;

	if (!h)
		return 0;
	for (const struct hub_port *p = h->ports; p; p = p->next) {
		if (&p->nc == nc || !p->nc.peer || p->nc.peer->deleted)
			continue;
		off &= p->nc.peer->offloads;
		any = true;
	}
	return any ? off : 0;
}

static void hub_port_cleanup(struct net_client *nc)
{
	struct hub_port *p = (struct hub_port *)(void *)nc, **pp;
	struct hub *h = p->hub;

	for (pp = &h->ports; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	if (h->macs)
		for (int i = 0; i < HUB_MAC_BUCKETS; i++)
			if (h->macs[i].port == p)
				h->macs[i].port = NULL;
}

static unsigned hub_mac_hash(const uint8_t *mac)
{
	uint32_t x = 2166136261u;

	for (int i = 0; i < 6; i++)
		x = (x ^ mac[i]) * 16777619u;
	return x % HUB_MAC_BUCKETS;
}

/* hub_mac_slot() - the bucket for @mac: linear probing over a few slots */
static struct hub_mac *hub_mac_slot(struct hub *h, const uint8_t *mac, bool create)
{
	unsigned b = hub_mac_hash(mac);
	uint64_t now = loop_now_ms();
	struct hub_mac *oldest = NULL;

	for (int i = 0; i < 8; i++) {
		struct hub_mac *m = &h->macs[(b + i) % HUB_MAC_BUCKETS];
		bool live = m->port && now - m->seen_ms < (uint64_t)h->ageing_s * 1000;

		if (live && !memcmp(m->mac, mac, 6))
			return m;
		if (!create)
			continue;
		if (!live)
			return m;
		if (!oldest || m->seen_ms < oldest->seen_ms)
			oldest = m;
	}
	return oldest;
}

static void hub_learn(struct hub *h, struct hub_port *src, const uint8_t *smac)
{
	struct hub_mac *m;

	if (smac[0] & 1)
		return;
	m = hub_mac_slot(h, smac, true);
	memcpy(m->mac, smac, 6);
	m->port = src;
	m->seen_ms = loop_now_ms();
}

/* hub_dest_busy() - a live destination is above its high watermark */
static bool hub_dest_busy(struct hub *h, struct hub_port *src, uint64_t now)
{
	for (struct hub_port *p = h->ports; p; p = p->next) {
		struct net_client *d = p->nc.peer;

		if (p == src || !d || d->queue.count < HUB_HIGH)
			continue;
		/* live: it drained lately, or its backlog is young (a burst after a quiet spell) */
		if (now - d->last_drain_ms < HUB_LIVE_MS || now - d->queued_since_ms < HUB_LIVE_MS)
			return true;
	}
	return false;
}

/* hub_forward() - out of port @p, offloads and all: each receiver gets what it accepts */
static void hub_forward(struct hub_port *p, const struct iovec *iov, int iovcnt,
			const struct net_meta *meta)
{
	net_send_meta(&p->nc, iov, iovcnt, meta, NULL);
}

static ssize_t hub_port_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
				const struct net_meta *meta)
{
	struct hub_port *src = (struct hub_port *)(void *)nc;
	struct hub *h = src->hub;
	size_t size = net_iov_size(iov, iovcnt);
	uint64_t now = loop_now_ms();
	uint8_t eth[2 * WIRE_ETH_ALEN];	/* destination, source */
	struct cursor c;

	if (hub_dest_busy(h, src, now)) {
		if (!loop_timer_armed(&h->resume))
			loop_timer_arm(&h->resume, HUB_LIVE_MS);
		return 0;
	}
	cursor_init_iov(&c, iov, iovcnt);
	if (h->mode == HUB_SWITCH && cursor_pull(&c, eth, sizeof(eth))) {
		struct hub_mac *m;

		hub_learn(h, src, eth + WIRE_ETH_ALEN);
		m = (eth[0] & 1) ? NULL : hub_mac_slot(h, eth, false);
		if (m && m->port) {
			if (m->port != src)
				hub_forward(m->port, iov, iovcnt, meta);
			return (ssize_t)size;
		}
	}
	for (struct hub_port *p = h->ports; p; p = p->next)
		if (p != src)
			hub_forward(p, iov, iovcnt, meta);
	return (ssize_t)size;
}

static void hub_port_peer_drained(struct net_client *nc)
{
	struct hub_port *p = (struct hub_port *)(void *)nc;

	hub_resume(p->hub);
}

void hub_info(struct sbuf *out)
{
	for (struct hub *h = hubs; h; h = h->next) {
		sbuf_printf(out, "hub %d\n", h->id);
		for (struct hub_port *p = h->ports; p; p = p->next) {
			sbuf_printf(out, " \\ %s", p->nc.name);
			if (p->nc.peer) {
				sbuf_printf(out, ": ");
				net_client_line(p->nc.peer, out);
			} else {
				sbuf_printf(out, "\n");
			}
		}
	}
}

void hub_info_mac_table(struct sbuf *out)
{
	uint64_t now = loop_now_ms();

	for (struct hub *h = hubs; h; h = h->next) {
		if (h->mode != HUB_SWITCH)
			continue;
		sbuf_printf(out, "hub %d (switch, ageing %us)\n", h->id, h->ageing_s);
		for (int i = 0; i < HUB_MAC_BUCKETS; i++) {
			struct hub_mac *m = &h->macs[i];

			if (!m->port || now - m->seen_ms >= (uint64_t)h->ageing_s * 1000)
				continue;
			sbuf_printf(out, "  %02x:%02x:%02x:%02x:%02x:%02x %s %llus\n", m->mac[0],
				    m->mac[1], m->mac[2], m->mac[3], m->mac[4], m->mac[5],
				    m->port->nc.name, (unsigned long long)(now - m->seen_ms) / 1000);
		}
	}
}

/* hub_mac_foreach() - every live learned MAC of switch-mode hubs (QMP query-mac-table) */
void hub_mac_foreach(hub_mac_cb *cb, void *opaque)
{
	uint64_t now = loop_now_ms();

	for (struct hub *h = hubs; h; h = h->next) {
		if (h->mode != HUB_SWITCH || !h->macs)
			continue;
		for (int i = 0; i < HUB_MAC_BUCKETS; i++) {
			struct hub_mac *m = &h->macs[i];

			if (!m->port || now - m->seen_ms >= (uint64_t)h->ageing_s * 1000)
				continue;
			cb(h->id, m->mac, m->port->nc.name, (unsigned)((now - m->seen_ms) / 1000), opaque);
		}
	}
}

void hub_check_clients(void)
{
	for (struct hub *h = hubs; h; h = h->next) {
		int peers = 0;

		for (struct hub_port *p = h->ports; p; p = p->next) {
			if (p->nc.peer)
				peers++;
			else
				warn_report("hub port %s has no peer", p->nc.name);
		}
		if (peers < 2)
			warn_report("hub %d has fewer than two connected ports", h->id);
	}
}

void hub_free_all(void)
{
	while (hubs) {
		struct hub *h = hubs;

		hubs = h->next;
		loop_timer_cancel(&h->resume);
		while (h->ports)
			net_client_free(&h->ports->nc);
		free(h->macs);
		free(h);
	}
}
