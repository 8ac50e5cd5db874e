// SPDX-License-Identifier: MIT
// ip4.c - IPv4 input from the guest: validation, fragment reassembly, dispatch

#include <arpa/inet.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <stdlib.h>
#include <string.h>

#include "../core/cursor.h"
#include "../core/wire.h"
#include "csum.h"
#include "stack.h"

static void ip4_timer(struct stack_timer *t);

void ip4_init(struct user_stack *s)
{
	stack_timer_init(s, &s->ip4.timer, ip4_timer, s);
	s->ip4.next_id = 1;
}

void ip4_fini(struct user_stack *s)
{
	stack_timer_cancel(&s->ip4.timer);
	for (int i = 0; i < IP4_REASS_SLOTS; i++) {
		free(s->ip4.r[i].buf);
		s->ip4.r[i].buf = NULL;
		s->ip4.r[i].used = false;
	}
}

/* ip4_dispatch() - a whole datagram: @ip is its header (ihl may include options) */
static void ip4_dispatch(struct user_stack *s, const struct iphdr *ip, size_t tot)
{
	size_t hl = (size_t)ip->ihl * 4;
	const uint8_t *l4 = (const uint8_t *)ip + hl;
	size_t len = tot - hl;

	switch (ip->protocol) {
	case IPPROTO_ICMP:
		icmp4_input(s, ip, l4, len);
		break;
	case IPPROTO_UDP:
		udp4_input(s, ip, l4, len);
		break;
	case IPPROTO_TCP:
		tcp4_input(s, ip, l4, len);
		break;
	default:
		s->stats.bad_l4++;
		if (!s->cfg.restricted)
			icmp4_error(s, ICMP_DEST_UNREACH, ICMP_PROT_UNREACH, (const uint8_t *)ip, tot,
				    (struct in_addr){ ip->daddr });
	}
}

static void ip4_reass_free(struct ip4_reass *r)
{
	r->used = false;
	r->have = r->total = 0;
	r->nfrag = 0;
}

static void ip4_timer(struct stack_timer *t)
{
	struct user_stack *s = t->opaque;
	uint64_t now = stack_now_ms(s);
	bool any = false;

	for (int i = 0; i < IP4_REASS_SLOTS; i++) {
		struct ip4_reass *r = &s->ip4.r[i];

		if (r->used && now - r->since_ms >= IP4_REASS_TIMEOUT_MS)
			ip4_reass_free(r);
		any |= r->used;
	}
	if (any)
		stack_timer_arm(t, 1000);
}

/* ip4_reass_slot() - the slot for this datagram, a free one, or the oldest (evicted) */
static struct ip4_reass *ip4_reass_slot(struct user_stack *s, const struct iphdr *ip)
{
	struct ip4_reass *free_slot = NULL, *oldest = NULL;

	for (int i = 0; i < IP4_REASS_SLOTS; i++) {
		struct ip4_reass *r = &s->ip4.r[i];

		if (!r->used) {
			if (!free_slot)
				free_slot = r;
			continue;
		}
		if (r->src.s_addr == ip->saddr && r->dst.s_addr == ip->daddr &&
		    r->id == ip->id && r->proto == ip->protocol)
			return r;
		if (!oldest || r->since_ms < oldest->since_ms)
			oldest = r;
	}
	if (!free_slot) {
		free_slot = oldest;
		ip4_reass_free(free_slot);
	}
	free_slot->used = true;
	free_slot->src.s_addr = ip->saddr;
	free_slot->dst.s_addr = ip->daddr;
	free_slot->id = ip->id;
	free_slot->proto = ip->protocol;
	free_slot->since_ms = stack_now_ms(s);
	if (!free_slot->buf)
		free_slot->buf = xmalloc(20 + IP4_REASS_MAX);
	if (!stack_timer_armed(&s->ip4.timer))
		stack_timer_arm(&s->ip4.timer, 1000);
	return free_slot;
}

/*
 * ip4_reass_add() - add a fragment. Overlapping fragments make the whole
 * datagram invalid (as RFC 5722 asks for IPv6; no legitimate sender
 * overlaps); an exact duplicate is ignored. Return: true when complete.
 */
static bool ip4_reass_add(struct user_stack *s, struct ip4_reass *r, const struct iphdr *ip,
			  const uint8_t *data, size_t n, uint32_t start, bool more)
{
	uint32_t end = start + (uint32_t)n;
	int i, pos;

	if (end > IP4_REASS_MAX - WIRE_IP4_HLEN || (more && (n & 7)) || (!more && r->total) ||
	    (r->total && end > r->total) || (!more && end < r->have)) {
		ip4_reass_free(r);
		return false;
	}
	for (i = 0, pos = (int)r->nfrag; i < (int)r->nfrag; i++) {
		if (r->ranges[i].start == start && r->ranges[i].end == end)
			return false;	/* duplicate */
		if (start < r->ranges[i].end && r->ranges[i].start < end) {
			ip4_reass_free(r);
			return false;
		}
		if (start < r->ranges[i].start && pos == (int)r->nfrag)
			pos = i;
	}
	if (r->nfrag == IP4_REASS_HOLES) {
		ip4_reass_free(r);
		return false;
	}
	memmove(&r->ranges[pos + 1], &r->ranges[pos],
		sizeof(r->ranges[0]) * (r->nfrag - (unsigned)pos));
	r->ranges[pos].start = start;
	r->ranges[pos].end = end;
	r->nfrag++;
	memcpy(r->buf + WIRE_IP4_HLEN + start, data, n);
	r->have += n;
	if (start == 0)
		memcpy(r->hdr, ip, WIRE_IP4_HLEN);
	if (!more)
		r->total = end;
	if (r->total && r->total < end) {
		ip4_reass_free(r);
		return false;
	}
	return r->total && r->have == r->total;
}

/* ip4_fragment() - one fragment; @fo: the flags and offset field (host order) */
static void ip4_fragment(struct user_stack *s, const struct iphdr *ip, size_t tot, uint16_t fo)
{
	size_t hl = (size_t)ip->ihl * 4;
	uint32_t start = (uint32_t)(fo & WIRE_IP4_OFFMASK) * 8;
	struct ip4_reass *r = ip4_reass_slot(s, ip);
	struct iphdr *h;

	if (!ip4_reass_add(s, r, ip, (const uint8_t *)ip + hl, tot - hl, start, fo & WIRE_IP4_FLAG_MF))
		return;
	/* complete: the first fragment's header (options dropped) in front of the data */
	h = (struct iphdr *)(void *)r->buf;
	memcpy(h, r->hdr, WIRE_IP4_HLEN);
	h->ihl = WIRE_IP4_HLEN / 4;
	h->tot_len = htons((uint16_t)(WIRE_IP4_HLEN + r->total));
	h->frag_off = 0;
	h->check = 0;
	h->check = csum_ip4_header(h, WIRE_IP4_HLEN);
	ip4_dispatch(s, h, WIRE_IP4_HLEN + r->total);
	ip4_reass_free(r);
}

void ip4_input(struct user_stack *s, const uint8_t *pkt, size_t len, const uint8_t *src_mac)
{
	const struct iphdr *ip = (const struct iphdr *)(const void *)pkt;
	struct cursor c, opts;
	struct in_addr src, dst;
	uint16_t tot, frag;
	uint8_t vihl;
	size_t hl;

	cursor_init_buf(&c, pkt, len);
	vihl = cursor_u8(&c);
	cursor_skip(&c, 1);		/* tos */
	tot = cursor_be16(&c);
	cursor_skip(&c, 2);		/* id */
	frag = cursor_be16(&c);
	cursor_skip(&c, 4);		/* ttl, protocol, checksum */
	cursor_pull(&c, &src, WIRE_IP4_ADDR_LEN);
	cursor_pull(&c, &dst, WIRE_IP4_ADDR_LEN);
	hl = (size_t)(vihl & 0xf) * 4;
	if (!cursor_ok(&c) || vihl >> 4 != WIRE_IP4_VERSION || hl < WIRE_IP4_HLEN) {
		s->stats.bad_ip++;
		return;
	}
	/* options: bounded here; the stack honours none of them */
	cursor_sub(&c, &opts, hl - WIRE_IP4_HLEN);
	if (!cursor_ok(&c) || tot < hl || tot > len || csum_ip4_header(ip, hl) != 0) {
		s->stats.bad_ip++;
		return;
	}
	/* multicast and reserved sources never come from a real guest */
	if ((ntohl(src.s_addr) >> 28) >= 14 || (ntohl(dst.s_addr) >> 28) == 14 ||
	    dst.s_addr == INADDR_ANY) {
		s->stats.bad_ip++;
		return;
	}
	if (src.s_addr != INADDR_ANY && stack_in_net(s, src))
		arp_learn(s, src, src_mac);
	if (frag & (WIRE_IP4_FLAG_MF | WIRE_IP4_OFFMASK)) {
		ip4_fragment(s, ip, tot, frag);
		return;
	}
	ip4_dispatch(s, ip, tot);
}
