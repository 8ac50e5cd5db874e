// SPDX-License-Identifier: MIT
// dhcp.c - DHCP server of the user stack (RFC 2131/2132), 16 leases keyed by MAC

#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/cursor.h"
#include "../core/wire.h"
#include "stack.h"

/*
 * What libslirp does, and where qnet differs on purpose (docs/behaviour.md):
 * - leases last 24 h as in libslirp, but expire (and are reused) and can be
 *   renewed; T1/T2 (58/59) are sent so clients renew instead of dropping.
 * - RELEASE frees the lease; INFORM is answered (libslirp ignores both).
 * - replies are unicast to the client's new address and MAC unless it set
 *   the broadcast flag (RFC 2131 4.1); libslirp always broadcasts. NAKs are
 *   broadcast.
 * - option 26 (MTU) is sent when mtu= is given; hostname is not cut to 32
 *   characters.
 * - a client that already holds a lease keeps it rather than moving to a
 *   lower free slot.
 * - bootfile= is also sent as option 67 (libslirp: the file field only); a
 *   plain BOOTP request (no option 53) gets a BOOTP reply: no DHCP message
 *   type, server id or lease times, and a lease picked as for a DISCOVER
 *   (never a NAK).
 */

#define BOOTP_FIXED WIRE_BOOTP_FIXED
#define DHCP_MAGIC WIRE_DHCP_MAGIC
#define DHCP_OPT_SPACE 312	/* option area of a reply, as libslirp pads it */

enum {
	DHCPDISCOVER = WIRE_DHCP_DISCOVER, DHCPOFFER = WIRE_DHCP_OFFER,
	DHCPREQUEST = WIRE_DHCP_REQUEST, DHCPDECLINE = WIRE_DHCP_DECLINE, DHCPACK = WIRE_DHCP_ACK,
	DHCPNAK = WIRE_DHCP_NAK, DHCPRELEASE = WIRE_DHCP_RELEASE, DHCPINFORM = WIRE_DHCP_INFORM,
};

/* struct bootp - the fixed part of a BOOTP/DHCP message */
struct bootp {
	uint8_t op, htype, hlen, hops;
	uint32_t xid;
	uint16_t secs, flags;
	struct in_addr ciaddr, yiaddr, siaddr, giaddr;
	uint8_t chaddr[16];
	char sname[64];
	char file[128];
} __attribute__((packed));
_Static_assert(sizeof(struct bootp) == WIRE_BOOTP_FIXED, "the fixed BOOTP part");

/* struct dhcp_req - what a request says */
struct dhcp_req {
	int type;		/* 0: plain BOOTP */
	struct in_addr requested;
	bool has_requested;
	struct in_addr server;
	bool has_server;
};

/* dhcp_parse_options() - bounded walk of the options; false if malformed */
static bool dhcp_parse_options(struct cursor *o, struct dhcp_req *r)
{
	while (cursor_remaining(o) > 0) {
		uint8_t code = cursor_u8(o), l;
		struct cursor v;

		if (code == WIRE_DHCPO_PAD)
			continue;
		if (code == WIRE_DHCPO_END)
			return true;
		if (!cursor_remaining(o))
			return false;
		l = cursor_u8(o);
		if (!cursor_sub(o, &v, l))
			return false;
		switch (code) {
		case WIRE_DHCPO_MSG_TYPE:
			if (l != 1)
				return false;
			r->type = cursor_u8(&v);
			break;
		case WIRE_DHCPO_REQUESTED_ADDR:
			if (l != WIRE_IP4_ADDR_LEN)
				return false;
			cursor_pull(&v, &r->requested, WIRE_IP4_ADDR_LEN);
			r->has_requested = true;
			break;
		case WIRE_DHCPO_SERVER_ID:
			if (l != WIRE_IP4_ADDR_LEN)
				return false;
			cursor_pull(&v, &r->server, WIRE_IP4_ADDR_LEN);
			r->has_server = true;
			break;
		}
	}
	return true;	/* no END: accepted, as most servers do */
}

static struct in_addr dhcp_addr(struct user_stack *s, int i)
{
	struct in_addr a = { .s_addr = htonl(ntohl(s->cfg.dhcp_start.s_addr) + (uint32_t)i) };

	return a;
}

/* dhcp_index() - pool index of @a, or -1 */
static int dhcp_index(struct user_stack *s, struct in_addr a)
{
	int64_t i = (int64_t)ntohl(a.s_addr) - (int64_t)ntohl(s->cfg.dhcp_start.s_addr);

	if (i < 0 || i >= DHCP_LEASES || !stack_in_net(s, a))
		return -1;
	return (int)i;
}

static bool dhcp_live(const struct dhcp_lease *l, uint64_t now)
{
	return l->used && l->expires_ms > now;
}

/* dhcp_usable() - lease @i is free (or expired) or already @mac's */
static bool dhcp_usable(struct user_stack *s, int i, const uint8_t *mac, uint64_t now)
{
	const struct dhcp_lease *l = &s->dhcp.leases[i];

	return !dhcp_live(l, now) || !memcmp(l->mac, mac, 6);
}

static int dhcp_find_mac(struct user_stack *s, const uint8_t *mac, uint64_t now)
{
	for (int i = 0; i < DHCP_LEASES; i++)
		if (dhcp_live(&s->dhcp.leases[i], now) && !memcmp(s->dhcp.leases[i].mac, mac, 6))
			return i;
	return -1;
}

/* dhcp_pick() - the slot for a DISCOVER or an address-less REQUEST */
static int dhcp_pick(struct user_stack *s, const uint8_t *mac, const struct dhcp_req *r,
		     uint64_t now)
{
	int i;

	/* RFC 2131 4.3.1: the client's current binding first, then the address it asks for */
	i = dhcp_find_mac(s, mac, now);
	if (i >= 0)
		return i;
	if (r->has_requested) {
		i = dhcp_index(s, r->requested);
		if (i >= 0 && dhcp_usable(s, i, mac, now))
			return i;
	}
	for (i = 0; i < DHCP_LEASES; i++)
		if (!dhcp_live(&s->dhcp.leases[i], now))
			return i;
	return -1;
}

struct dhcp_out {
	uint8_t *p;
	size_t len, cap;
};

static void dhcp_opt(struct dhcp_out *o, uint8_t code, const void *data, size_t len)
{
	if (len > 255 || o->len + 2 + len + 1 > o->cap)
		return;	/* does not fit: skipped, END always fits */
	o->p[o->len++] = code;
	o->p[o->len++] = (uint8_t)len;
	memcpy(o->p + o->len, data, len);
	o->len += len;
}

static void dhcp_opt32(struct dhcp_out *o, uint8_t code, uint32_t host_order)
{
	uint32_t v = htonl(host_order);

	dhcp_opt(o, code, &v, 4);
}

static void dhcp_opt_addr(struct dhcp_out *o, uint8_t code, struct in_addr a)
{
	dhcp_opt(o, code, &a, 4);
}

static void dhcp_options(struct user_stack *s, struct dhcp_out *o, int type, bool inform)
{
	uint8_t t = (uint8_t)type;

	if (type) {	/* 0: a BOOTP reply */
		dhcp_opt(o, WIRE_DHCPO_MSG_TYPE, &t, 1);
		dhcp_opt_addr(o, WIRE_DHCPO_SERVER_ID, s->cfg.host);
	}
	if (type == DHCPNAK) {
		static const char msg[] = "requested address not available";

		dhcp_opt(o, 56, msg, sizeof(msg) - 1);
		return;
	}
	dhcp_opt_addr(o, 1, s->cfg.mask);
	if (!s->cfg.restricted) {
		dhcp_opt_addr(o, 3, s->cfg.host);
		dhcp_opt_addr(o, 6, s->cfg.dns);
	}
	if (!inform && type) {
		dhcp_opt32(o, 51, DHCP_LEASE_TIME);
		dhcp_opt32(o, 58, DHCP_LEASE_TIME / 2);
		dhcp_opt32(o, 59, DHCP_LEASE_TIME / 8 * 7);
	}
	if (s->cfg.hostname)
		dhcp_opt(o, 12, s->cfg.hostname, strlen(s->cfg.hostname));
	if (s->cfg.domainname)
		dhcp_opt(o, 15, s->cfg.domainname, strlen(s->cfg.domainname));
	if (s->cfg.tftp_server_name)
		dhcp_opt(o, WIRE_DHCPO_TFTP_SERVER, s->cfg.tftp_server_name,
			 strlen(s->cfg.tftp_server_name));
	if (s->cfg.bootfile)
		dhcp_opt(o, WIRE_DHCPO_BOOTFILE, s->cfg.bootfile, strlen(s->cfg.bootfile));
	if (s->cfg.mtu_set) {
		uint16_t mtu = htons((uint16_t)MIN(s->cfg.mtu, 65535u));

		dhcp_opt(o, 26, &mtu, 2);
	}
	/* RFC 3396: a long option is split into several of the same code */
	for (size_t off = 0; off < s->cfg.dnssearch_len; off += 255)
		dhcp_opt(o, 119, s->cfg.dnssearch + off, MIN(s->cfg.dnssearch_len - off, 255));
}

static void dhcp_reply(struct user_stack *s, const struct bootp *req, int type,
		       struct in_addr yiaddr, bool inform)
{
	uint8_t buf[sizeof(struct bootp) + 4 + DHCP_OPT_SPACE];
	struct bootp *b = (struct bootp *)(void *)buf;
	struct dhcp_out o = { .p = buf + sizeof(*b) + 4, .cap = DHCP_OPT_SPACE - 4 };
	uint32_t magic = htonl(DHCP_MAGIC);
	struct in_addr dst = { .s_addr = INADDR_BROADCAST };

	memset(buf, 0, sizeof(buf));
	b->op = 2;
	b->htype = 1;
	b->hlen = 6;
	b->xid = req->xid;
	b->flags = req->flags;
	b->ciaddr = req->ciaddr;
	if (type != DHCPNAK && !inform)
		b->yiaddr = yiaddr;
	b->siaddr = s->cfg.host;
	memcpy(b->chaddr, req->chaddr, 16);
	if (s->cfg.bootfile && type != DHCPNAK)	/* < 128 bytes (checked by the options) */
		strncpy(b->file, s->cfg.bootfile, sizeof(b->file) - 1);
	memcpy(buf + sizeof(*b), &magic, 4);
	dhcp_options(s, &o, type, inform);
	o.p[o.len++] = 255;
	if (inform || (req->ciaddr.s_addr && type == DHCPACK &&
				   req->ciaddr.s_addr == yiaddr.s_addr)) {
		dst = req->ciaddr;		/* renewing or informing: its own address */
		arp_learn(s, dst, req->chaddr);
	} else if (type != DHCPNAK && !(ntohs(req->flags) & 0x8000)) {
		dst = yiaddr;			/* unicast to the new address and MAC */
		arp_learn(s, dst, req->chaddr);
	}
	udp4_output(s, s->cfg.host, 67, dst, 68, buf, sizeof(buf));
}

/* dhcp_event() - qnet's DHCP_LEASE event: the host adds the netdev id */
static void dhcp_event(struct user_stack *s, struct in_addr ip, const uint8_t *mac,
		       const char *what)
{
	char a[INET_ADDRSTRLEN], m[18];
	struct event_field f[] = {
		EVENT_FIELD_STR("ip", inet_ntop(AF_INET, &ip, a, sizeof(a)) ? a : ""),
		EVENT_FIELD_STR("mac", m),
		EVENT_FIELD_STR("event", what),
	};

	snprintf(m, sizeof(m), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
	stack_event(s, "DHCP_LEASE", f, (int)ARRAY_SIZE(f));
}

static void dhcp_bind(struct user_stack *s, int i, const uint8_t *mac, uint64_t now)
{
	struct dhcp_lease *l = &s->dhcp.leases[i];
	bool renewal = dhcp_live(l, now) && !memcmp(l->mac, mac, 6);

	/* QMP DHCP_LEASE "bound" for a new binding, not for renewals */
	if (!renewal)
		dhcp_event(s, dhcp_addr(s, i), mac, "bound");
	/* one lease per client: moving to another address frees the old one */
	for (int j = 0; j < DHCP_LEASES; j++)
		if (j != i && s->dhcp.leases[j].used && !memcmp(s->dhcp.leases[j].mac, mac, 6))
			s->dhcp.leases[j].used = false;
	memcpy(l->mac, mac, 6);
	l->used = true;
	l->expires_ms = now + (uint64_t)DHCP_LEASE_TIME * 1000;
}

static void dhcp_request(struct user_stack *s, const struct bootp *b, struct dhcp_req *r,
			 uint64_t now)
{
	int i;

	if (r->has_server && r->server.s_addr != s->cfg.host.s_addr)
		return;	/* the client chose another server */
	if (!r->has_requested && b->ciaddr.s_addr) {
		r->requested = b->ciaddr;
		r->has_requested = true;
	}
	if (r->has_requested) {
		i = dhcp_index(s, r->requested);
		if (i < 0 || !dhcp_usable(s, i, b->chaddr, now)) {
			dhcp_reply(s, b, DHCPNAK, r->requested, false);
			return;
		}
	} else {
		/* no address named: the client's lease, or a new one (as libslirp) */
		i = dhcp_pick(s, b->chaddr, r, now);
		if (i < 0)
			return;
	}
	dhcp_bind(s, i, b->chaddr, now);
	dhcp_reply(s, b, DHCPACK, dhcp_addr(s, i), false);
}

bool dhcp_input(struct user_stack *s, const struct iphdr *ip, const struct udphdr *uh,
		const uint8_t *payload, size_t len)
{
	struct dhcp_req r = { 0 };
	uint64_t now = stack_now_ms(s);
	struct cursor c;
	struct bootp b;
	int i;

	cursor_init_buf(&c, payload, len);
	if (!cursor_pull(&c, &b, sizeof(b)))
		return true;
	if (b.op != WIRE_BOOTP_REQUEST || b.htype != WIRE_ARP_HTYPE_ETHER ||
	    b.hlen != WIRE_ETH_ALEN || (b.chaddr[0] & 1))
		return true;
	if (cursor_remaining(&c) >= WIRE_DHCP_MAGIC_LEN && cursor_be32(&c) == WIRE_DHCP_MAGIC &&
	    !dhcp_parse_options(&c, &r))
		return true;
	switch (r.type) {
	case 0:		/* plain BOOTP: the client's lease or a new one, a BOOTP reply */
		i = dhcp_pick(s, b.chaddr, &r, now);
		if (i >= 0) {
			dhcp_bind(s, i, b.chaddr, now);
			dhcp_reply(s, &b, 0, dhcp_addr(s, i), false);
		}
		break;
	case DHCPREQUEST:
		dhcp_request(s, &b, &r, now);
		break;
	case DHCPDISCOVER:
		i = dhcp_pick(s, b.chaddr, &r, now);
		if (i >= 0)
			dhcp_reply(s, &b, DHCPOFFER, dhcp_addr(s, i), false);
		break;
	case DHCPRELEASE:
		i = dhcp_index(s, b.ciaddr);
		if (i >= 0 && dhcp_live(&s->dhcp.leases[i], now) &&
		    !memcmp(s->dhcp.leases[i].mac, b.chaddr, 6)) {
			s->dhcp.leases[i].used = false;
			dhcp_event(s, dhcp_addr(s, i), b.chaddr, "released");
		}
		break;
	case DHCPINFORM:
		if (b.ciaddr.s_addr)
			dhcp_reply(s, &b, DHCPACK, b.ciaddr, true);
		break;
	default:	/* DECLINE and server-side types: ignored */
		break;
	}
	return true;
}

struct in_addr dhcp_first_lease(struct user_stack *s)
{
	uint64_t now = stack_now_ms(s);

	for (int i = 0; i < DHCP_LEASES; i++)
		if (dhcp_live(&s->dhcp.leases[i], now))
			return dhcp_addr(s, i);
	return s->cfg.dhcp_start;
}

int dhcp_lease_get(struct user_stack *s, int i, struct in_addr *ip, uint8_t *mac,
		   uint64_t *left_ms)
{
	uint64_t now = stack_now_ms(s);
	const struct dhcp_lease *l;

	if (i < 0 || i >= DHCP_LEASES)
		return 0;
	l = &s->dhcp.leases[i];
	if (!dhcp_live(l, now))
		return 0;
	*ip = dhcp_addr(s, i);
	memcpy(mac, l->mac, 6);
	*left_ms = l->expires_ms - now;
	return 1;
}

void dhcp_info(struct user_stack *s, struct sbuf *out)
{
	uint64_t now = stack_now_ms(s);

	for (int i = 0; i < DHCP_LEASES; i++) {
		const struct dhcp_lease *l = &s->dhcp.leases[i];

		if (!dhcp_live(l, now))
			continue;
		sbuf_printf(out, "%s %02x:%02x:%02x:%02x:%02x:%02x %llu\n",
			    inet_ntoa(dhcp_addr(s, i)), l->mac[0], l->mac[1], l->mac[2], l->mac[3],
			    l->mac[4], l->mac[5], (unsigned long long)(l->expires_ms - now) / 1000);
	}
}

/* a label suffix already written: the name from this label on, and its offset */
struct dhcp_suffix {
	const char *name;
	size_t nlen;
	size_t off;
};

int dhcp_encode_search(const char *const *domains, int n, uint8_t **out, size_t *outlen)
{
	size_t cap = 0, len = 0, nsuf = 0;
	struct dhcp_suffix *suf;
	uint8_t *p;

	for (int d = 0; d < n; d++)
		cap += strlen(domains[d]) + 2;
	p = xmalloc(cap + 1);
	suf = xmalloc(sizeof(*suf) * (cap + 1));
	for (int d = 0; d < n; d++) {
		const char *name = domains[d];
		size_t nl = strlen(name);

		if (nl && name[nl - 1] == '.')
			nl--;
		if (!nl || nl > 253)
			goto bad;
		for (const char *l = name; l < name + nl;) {
			const char *dot = memchr(l, '.', (size_t)(name + nl - l));
			size_t ll = dot ? (size_t)(dot - l) : (size_t)(name + nl - l);
			bool found = false;

			/* the rest of the name from l: already written somewhere? */
			for (size_t k = 0; k < nsuf; k++) {
				size_t rest = (size_t)(name + nl - l);

				if (suf[k].nlen == rest && !strncasecmp(suf[k].name, l, rest) &&
				    suf[k].off < 0x3fff) {
					p[len++] = (uint8_t)(0xc0 | (suf[k].off >> 8));
					p[len++] = (uint8_t)suf[k].off;
					found = true;
					break;
				}
			}
			if (found)
				goto next;
			if (!ll || ll > 63)
				goto bad;
			suf[nsuf].name = l;
			suf[nsuf].nlen = (size_t)(name + nl - l);
			suf[nsuf].off = len;
			nsuf++;
			p[len++] = (uint8_t)ll;
			memcpy(p + len, l, ll);
			len += ll;
			l += ll + (dot ? 1 : 0);
			if (!dot)
				break;
		}
		p[len++] = 0;
next:
		;
	}
	free(suf);
	*out = p;
	*outlen = len;
	return 0;
bad:
	free(suf);
	free(p);
	return -1;
}
