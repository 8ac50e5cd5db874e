// SPDX-License-Identifier: MIT
// arp.c - ARP for the virtual hosts, learning the guests, frames held while a MAC is resolved

#include <arpa/inet.h>
#include <net/ethernet.h>
#include <net/if_arp.h>
#include <stdlib.h>
#include <string.h>

#include "../core/cursor.h"
#include "../core/log.h"
#include "../core/wire.h"
#include "stack.h"

/* ARP for Ethernet/IPv4: the fixed 28-byte body after the Ethernet header */
struct arp_body {
	uint16_t htype, ptype;
	uint8_t hlen, plen;
	uint16_t op;
	uint8_t sha[6];
	uint8_t spa[4];
	uint8_t tha[6];
	uint8_t tpa[4];
} __attribute__((packed));

static void arp_timer(struct stack_timer *t);

void arp_init(struct user_stack *s)
{
	stack_timer_init(s, &s->arp.timer, arp_timer, s);
}

void arp_fini(struct user_stack *s)
{
	stack_timer_cancel(&s->arp.timer);
	for (int i = 0; i < ARP_PENDING; i++) {
		free(s->arp.p[i].frame);
		s->arp.p[i].frame = NULL;
	}
}

bool arp_is_virtual(struct user_stack *s, struct in_addr ip)
{
	if (!stack_in_net(s, ip))
		return false;
	if (ip.s_addr == s->cfg.host.s_addr || ip.s_addr == s->cfg.dns.s_addr)
		return true;
	for (struct guestfwd *g = s->fwd.guestfwd; g; g = g->next)
		if (g->addr.s_addr == ip.s_addr)
			return true;
	return false;
}

const uint8_t *arp_lookup(struct user_stack *s, struct in_addr ip)
{
	for (int i = 0; i < ARP_ENTRIES; i++)
		if (s->arp.e[i].valid && s->arp.e[i].ip.s_addr == ip.s_addr)
			return s->arp.e[i].mac;
	return NULL;
}

/* arp_release() - send the frames held for @ip now that its MAC is known */
static void arp_release(struct user_stack *s, struct in_addr ip, const uint8_t *mac)
{
	for (int i = 0; i < ARP_PENDING; i++) {
		struct arp_pending *p = &s->arp.p[i];

		if (!p->len || p->dst.s_addr != ip.s_addr)
			continue;
		memcpy(p->frame, mac, 6);
		/* padded to ETH_ZLEN like every other frame (cap >= mtu + 14 > ETH_ZLEN) */
		if (p->len < ETH_ZLEN) {
			memset(p->frame + p->len, 0, ETH_ZLEN - p->len);
			p->len = ETH_ZLEN;
		}
		struct iovec iov = { .iov_base = p->frame, .iov_len = p->len };

		s->env.send(s->opaque, &iov, 1, NULL);
		p->len = 0;
	}
}

void arp_learn(struct user_stack *s, struct in_addr ip, const uint8_t *mac)
{
	uint32_t bcast = s->cfg.net.s_addr | ~s->cfg.mask.s_addr;
	struct arp_entry *e = NULL;

	/* only guests: addresses of the virtual network that are not the stack's own */
	if (ip.s_addr == INADDR_ANY || ip.s_addr == INADDR_BROADCAST || ip.s_addr == bcast ||
	    (mac[0] & 1) || !stack_in_net(s, ip) || arp_is_virtual(s, ip))
		return;
	for (int i = 0; i < ARP_ENTRIES && !e; i++)
		if (s->arp.e[i].valid && s->arp.e[i].ip.s_addr == ip.s_addr)
			e = &s->arp.e[i];
	if (!e) {
		e = &s->arp.e[s->arp.next];
		s->arp.next = (s->arp.next + 1) % ARP_ENTRIES;
	}
	e->ip = ip;
	memcpy(e->mac, mac, 6);
	e->valid = true;
	arp_release(s, ip, mac);
}

static void arp_send(struct user_stack *s, uint16_t op, const uint8_t *dst_mac,
		     const uint8_t *tha, struct in_addr spa, struct in_addr tpa)
{
	struct arp_body a = {
		.htype = htons(ARPHRD_ETHER),
		.ptype = htons(ETHERTYPE_IP),
		.hlen = 6,
		.plen = 4,
		.op = htons(op),
	};
	struct iovec iov = { .iov_base = &a, .iov_len = sizeof(a) };

	memcpy(a.sha, s->gw_mac, 6);
	if (op == ARPOP_REPLY) {
		/* the virtual host answers with its own 52:55:<ip> MAC */
		uint32_t h = ntohl(spa.s_addr);

		a.sha[2] = (uint8_t)(h >> 24);
		a.sha[3] = (uint8_t)(h >> 16);
		a.sha[4] = (uint8_t)(h >> 8);
		a.sha[5] = (uint8_t)h;
	}
	memcpy(a.spa, &spa, 4);
	memcpy(a.tha, tha, 6);
	memcpy(a.tpa, &tpa, 4);
	stack_send_eth(s, dst_mac, ETHERTYPE_ARP, &iov, 1);
}

void arp_input(struct user_stack *s, const uint8_t *frame, size_t len)
{
	struct cursor c;
	uint16_t htype, ptype, op;
	uint8_t hlen, plen, sha[WIRE_ETH_ALEN];
	struct in_addr spa, tpa;

	cursor_init_buf(&c, frame, len);
	cursor_skip(&c, WIRE_ETH_HLEN);
	htype = cursor_be16(&c);
	ptype = cursor_be16(&c);
	hlen = cursor_u8(&c);
	plen = cursor_u8(&c);
	op = cursor_be16(&c);
	cursor_pull(&c, sha, sizeof(sha));
	cursor_pull(&c, &spa, WIRE_IP4_ADDR_LEN);
	cursor_skip(&c, WIRE_ETH_ALEN);		/* tha */
	cursor_pull(&c, &tpa, WIRE_IP4_ADDR_LEN);
	if (!cursor_ok(&c) || htype != WIRE_ARP_HTYPE_ETHER || ptype != WIRE_ETHERTYPE_IPV4 ||
	    hlen != WIRE_ETH_ALEN || plen != WIRE_ARP_PLEN_IPV4) {
		s->stats.bad_arp++;
		return;
	}
	switch (op) {
	case WIRE_ARP_OP_REQUEST:
		if (spa.s_addr == tpa.s_addr) {	/* gratuitous: just learn */
			arp_learn(s, spa, sha);
			return;
		}
		if (!arp_is_virtual(s, tpa))
			return;
		arp_learn(s, spa, sha);
		arp_send(s, ARPOP_REPLY, sha, sha, tpa, spa);
		return;
	case WIRE_ARP_OP_REPLY:
		arp_learn(s, spa, sha);
		return;
	default:
		s->stats.bad_arp++;
	}
}

static void arp_timer(struct stack_timer *t)
{
	struct user_stack *s = t->opaque;
	uint64_t now = stack_now_ms(s);
	bool any = false;

	for (int i = 0; i < ARP_PENDING; i++) {
		struct arp_pending *p = &s->arp.p[i];

		if (p->len && now - p->since_ms >= ARP_HOLD_MS)
			p->len = 0;
		any |= p->len != 0;
	}
	if (any)
		stack_timer_arm(t, ARP_HOLD_MS / 4);
}

int arp_hold(struct user_stack *s, struct in_addr dst, const uint8_t *frame, size_t len)
{
	static const uint8_t zero[6];
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct arp_pending *p = NULL;
	bool asked = false;

	for (int i = 0; i < ARP_PENDING; i++) {
		if (!s->arp.p[i].len && !p)
			p = &s->arp.p[i];
		else if (s->arp.p[i].len && s->arp.p[i].dst.s_addr == dst.s_addr)
			asked = true;
	}
	if (!p)
		return -1;
	if (p->cap < len) {
		free(p->frame);
		p->cap = s->cfg.mtu + 14 > len ? s->cfg.mtu + 14 : len;
		p->frame = xmalloc(p->cap);
	}
	memcpy(p->frame, frame, len);
	p->len = len;
	p->dst = dst;
	p->since_ms = stack_now_ms(s);
	if (!stack_timer_armed(&s->arp.timer))
		stack_timer_arm(&s->arp.timer, ARP_HOLD_MS / 4);
	if (!asked)
		arp_send(s, ARPOP_REQUEST, bcast, zero, s->cfg.host, dst);
	return 0;
}
