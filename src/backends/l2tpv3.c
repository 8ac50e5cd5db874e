// SPDX-License-Identifier: MIT
// l2tpv3.c - the l2tpv3 netdev: static L2TPv3 pseudowires (RFC 3931), QEMU 7.2's wire format

/*
 * DOC: Theory of operation
 *
 * -netdev l2tpv3,id=ID,src=S,dst=D,txsession=N[,rxsession=N][,ipv6=on][,udp=on,
 * srcport=P,dstport=P][,txcookie=C,rxcookie=C[,cookie64=on]][,counter=on]
 * [,pincounter=on][,offset=N] exchanges frames with a QEMU -netdev l2tpv3 (or
 * a Linux L2TPv3 static tunnel) with QEMU 7.2's header, all fields big-endian:
 *
 *   [0x00030000 (udp=on only)] [session] [cookie: 4 or 8 bytes, if set]
 *   [counter, if counter=on] [offset bytes] [the frame]
 *
 * IP encapsulation (udp=off) is a raw socket of IP protocol 115 (needs
 * CAP_NET_RAW). TX writes txsession and txcookie; the counter counts from 1,
 * or stays 0 with pincounter=on. RX takes a datagram if its session is
 * rxsession (default txsession) and its cookie is rxcookie; the first word of
 * UDP encapsulation is not checked (as QEMU). Everything else is dropped and
 * counted (struct l2tpv3_counters).
 *
 * QEMU 7.2's defects are not copied (qemu-net-reference.md section 8):
 * cookie64=off means 32-bit cookies; pincounter without counter=on sends no
 * counter word (as QEMU does on the wire) but never writes past the header;
 * offset bytes are sent as zeros; the IPv4 header a raw socket delivers is
 * skipped by its own length (options included), not a fixed 20 bytes; frames
 * up to NET_BUFSIZE are received, not 16 KiB. One addition: with counter=on,
 * a counter that is not newer than the last one taken (within 65536 of it)
 * is dropped as a replay or reordering; 0 (a pinned counter) is always taken.
 *
 * RX and TX go through the batched datagram engine (dgram_io.h).
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../cli/netdev.h"
#include "../core/cursor.h"
#include "../core/log.h"
#include "../core/net.h"
#include "../core/wire.h"
#include "dgram_io.h"
#include "l2tpv3.h"

#define L2TPV3_HDR_MAX (3 * WIRE_L2TP_WORD_LEN + WIRE_L2TP_COOKIE64_LEN + WIRE_L2TP_OFFSET_MAX)
#define L2TPV3_REPLAY_WINDOW 65536	/* a counter this far behind is a restart, not a replay */

/**
 * struct l2tpv3 - one l2tpv3 netdev
 * @nc:		the net client (first)
 * @io:		the socket and its batches
 * @udp, @ipv6:	encapsulation and family
 * @has_cookie, @cookie64: cookie present, 8 bytes long
 * @has_counter: a counter word is on the wire
 * @pin_counter: and it is always 0
 * @offset:	extra bytes after the header
 * @tx_session, @rx_session, @tx_cookie, @rx_cookie: as the options
 * @counter:	last counter sent
 * @rx_counter:	last counter taken; @rx_counter_valid: one was taken
 * @hdr:	the header sent, @hlen bytes; @counter_pos: where its counter is
 * @cnt:	drop counters
 */
struct l2tpv3 {
	struct net_client nc;
	struct dgram_io io;
	bool udp, ipv6;
	bool has_cookie, cookie64;
	bool has_counter, pin_counter;
	uint32_t offset;
	uint32_t tx_session, rx_session;
	uint64_t tx_cookie, rx_cookie;
	uint32_t counter;
	uint32_t rx_counter;
	bool rx_counter_valid;
	uint8_t hdr[L2TPV3_HDR_MAX];
	size_t hlen, counter_pos;
	struct l2tpv3_counters cnt;
};

static void l2tpv3_sent(struct net_client *nc, ssize_t ret)
{
	dgram_io_sent(&container_of(nc, struct l2tpv3, nc)->io);
}

const struct l2tpv3_counters *l2tpv3_counters(const struct net_client *nc)
{
	return &container_of(nc, const struct l2tpv3, nc)->cnt;
}

/**
 * l2tpv3_parse() - check one datagram as the socket delivered it
 * @off:	set to where the frame starts
 * Return: 0, or -1 with the reason counted
 */
static int l2tpv3_parse(struct l2tpv3 *s, const uint8_t *buf, size_t len, size_t *off)
{
	struct cursor c;
	uint32_t session, counter = 0;
	uint64_t cookie = 0;

	cursor_init_buf(&c, buf, len);
	if (!s->udp && !s->ipv6) {
		/* a raw IPv4 socket hands over the IP header: skip it by its own length */
		uint8_t vihl = cursor_peek_u8(&c);
		size_t ihl = (size_t)(vihl & 0x0f) * 4;

		if ((vihl >> 4) != WIRE_IP4_VERSION || ihl < WIRE_IP4_HLEN) {
			s->cnt.bad_ip++;
			return -1;
		}
		cursor_skip(&c, ihl);
	}
	if (s->udp)
		cursor_skip(&c, WIRE_L2TP_WORD_LEN);	/* not checked, as QEMU */
	session = cursor_be32(&c);
	if (s->has_cookie) {
		cookie = cursor_be32(&c);
		if (s->cookie64)
			cookie = cookie << 32 | cursor_be32(&c);
	}
	if (s->has_counter)
		counter = cursor_be32(&c);
	cursor_skip(&c, s->offset);
	if (!cursor_ok(&c) || cursor_remaining(&c) < WIRE_ETH_HLEN) {
		s->cnt.short_hdr++;
		return -1;
	}
	if (session != s->rx_session) {
		s->cnt.wrong_session++;
		return -1;
	}
	if (s->has_cookie && cookie != s->rx_cookie) {
		s->cnt.wrong_cookie++;
		return -1;
	}
	if (s->has_counter && counter) {
		int32_t d = (int32_t)(counter - s->rx_counter);

		if (s->rx_counter_valid && d <= 0 && d > -L2TPV3_REPLAY_WINDOW) {
			s->cnt.old_counter++;
			return -1;
		}
		s->rx_counter = counter;
		s->rx_counter_valid = true;
	}
	*off = len - cursor_remaining(&c);
	return 0;
}

ssize_t l2tpv3_input(struct net_client *nc, const uint8_t *buf, size_t len)
{
	struct l2tpv3 *s = container_of(nc, struct l2tpv3, nc);
	size_t off;

	if (l2tpv3_parse(s, buf, len, &off) < 0) {
		nc->stats.drops++;
		return -1;
	}
	return net_send_buf(nc, buf + off, len - off, l2tpv3_sent);
}

static ssize_t l2tpv3_deliver(struct dgram_io *io, const uint8_t *buf, size_t len)
{
	struct l2tpv3 *s = io->opaque;

	return l2tpv3_input(&s->nc, buf, len);
}

static void l2tpv3_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* l2tpv3_receive() - a frame from the peer: the header (with the next counter) in front */
static ssize_t l2tpv3_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
			      const struct net_meta *meta)
{
	struct l2tpv3 *s = container_of(nc, struct l2tpv3, nc);
	ssize_t r;

	if (s->has_counter)
		l2tpv3_put32(s->hdr + s->counter_pos, s->pin_counter ? 0 : s->counter + 1);
	r = dgram_io_send(&s->io, s->hdr, s->hlen, iov, iovcnt);
	if (r > 0)
		s->counter++;
	return r;
}

static void l2tpv3_cleanup(struct net_client *nc)
{
	dgram_io_fini(&container_of(nc, struct l2tpv3, nc)->io);
}

static const struct net_client_ops l2tpv3_ops = {
	.driver = NET_DRIVER_L2TPV3,
	.size = sizeof(struct l2tpv3),
	.receive = l2tpv3_receive,
	.cleanup = l2tpv3_cleanup,
};

/* l2tpv3_header() - the TX header from the options; positions of its fields */
static void l2tpv3_header(struct l2tpv3 *s)
{
	size_t n = 0;

	memset(s->hdr, 0, sizeof(s->hdr));
	if (s->udp) {
		l2tpv3_put32(s->hdr, WIRE_L2TP_UDP_WORD);
		n += WIRE_L2TP_WORD_LEN;
	}
	l2tpv3_put32(s->hdr + n, s->tx_session);
	n += WIRE_L2TP_WORD_LEN;
	if (s->has_cookie) {
		if (s->cookie64) {
			l2tpv3_put32(s->hdr + n, (uint32_t)(s->tx_cookie >> 32));
			n += WIRE_L2TP_WORD_LEN;
		}
		l2tpv3_put32(s->hdr + n, (uint32_t)s->tx_cookie);
		n += WIRE_L2TP_WORD_LEN;
	}
	if (s->has_counter) {
		s->counter_pos = n;
		n += WIRE_L2TP_WORD_LEN;
	}
	s->hlen = n + s->offset;	/* the offset bytes stay zero */
}

static int l2tpv3_bool(struct opts *o, const char *key, bool *out, struct error *e)
{
	*out = false;
	return opts_get_bool(o, key, out, e);
}

static int l2tpv3_u32(struct opts *o, const char *key, uint32_t *out, bool *has,
		      struct error *e)
{
	uint64_t v = 0;

	*has = opts_has(o, key);
	if (opts_get_u64(o, key, &v, e) < 0)
		return -1;
	if (v > UINT32_MAX)
		return err_set(e, "Parameter '%s' expects uint32_t", key);
	*out = (uint32_t)v;
	return 0;
}

/**
 * l2tpv3_init() - -netdev l2tpv3: options in QEMU 7.2's order and texts, the socket, the client
 * Return: 0 or -1 with @e set
 */
static int l2tpv3_init(struct opts *o, const char *id, struct net_client *peer, struct error *e)
{
	const char *src, *dst, *srcport, *dstport;
	bool ipv6, udp, counter, pincounter, cookie64, has_tx, has_rx, has_off, has_rxs, has_txs;
	uint32_t txsession = 0, rxsession = 0, offset = 0;
	uint64_t txcookie = 0, rxcookie = 0;
	struct addrinfo hints = { 0 }, *res = NULL;
	struct l2tpv3 *s;
	int fd, gai, r;

	src = opts_get(o, "src");
	dst = opts_get(o, "dst");
	srcport = opts_get(o, "srcport");
	dstport = opts_get(o, "dstport");
	if (l2tpv3_bool(o, "ipv6", &ipv6, e) < 0 || l2tpv3_bool(o, "udp", &udp, e) < 0 ||
	    l2tpv3_bool(o, "cookie64", &cookie64, e) < 0 ||
	    l2tpv3_bool(o, "counter", &counter, e) < 0 ||
	    l2tpv3_bool(o, "pincounter", &pincounter, e) < 0)
		return -1;
	has_tx = opts_has(o, "txcookie");
	has_rx = opts_has(o, "rxcookie");
	if (opts_get_u64(o, "txcookie", &txcookie, e) < 0 ||
	    opts_get_u64(o, "rxcookie", &rxcookie, e) < 0 ||
	    l2tpv3_u32(o, "txsession", &txsession, &has_txs, e) < 0 ||
	    l2tpv3_u32(o, "rxsession", &rxsession, &has_rxs, e) < 0 ||
	    l2tpv3_u32(o, "offset", &offset, &has_off, e) < 0)
		return -1;
	if (!src)
		return err_set(e, "Parameter 'src' is missing");
	if (!dst)
		return err_set(e, "Parameter 'dst' is missing");
	if (!has_txs)
		return err_set(e, "Parameter 'txsession' is missing");
	if (offset > WIRE_L2TP_OFFSET_MAX)
		return err_set(e, "offset must be less than 256 bytes");
	if (has_tx != has_rx)
		return err_set(e, "require both 'rxcookie' and 'txcookie' or neither");
	if (udp && (!srcport || !dstport))
		return err_set(e, "need both src and dst port for udp");
	if (!udp)
		srcport = dstport = NULL;

	hints.ai_family = ipv6 ? AF_INET6 : AF_INET;
	hints.ai_socktype = udp ? SOCK_DGRAM : SOCK_RAW;
	hints.ai_protocol = udp ? 0 : WIRE_IPPROTO_L2TP;
	gai = getaddrinfo(src, srcport, &hints, &res);
	if (gai || !res)
		return err_set(e, "could not resolve src, errno = %s", gai_strerror(gai));
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    res->ai_protocol);
	if (fd < 0) {
		freeaddrinfo(res);
		return err_set_errno(e, errno, "socket creation failed");
	}
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0) {
		err_set_errno(e, errno, "could not bind socket");
		freeaddrinfo(res);
		close(fd);
		return -1;
	}
	freeaddrinfo(res);
	res = NULL;
	gai = getaddrinfo(dst, dstport, &hints, &res);
	if (gai || !res) {
		close(fd);
		return err_set(e, "could not resolve dst, error = %s", gai_strerror(gai));
	}
	sock_set_dgram_bufs(fd);

	s = container_of(net_client_new(&l2tpv3_ops, peer, "l2tpv3", id), struct l2tpv3, nc);
	s->udp = udp;
	s->ipv6 = ipv6;
	s->has_cookie = has_tx;
	s->cookie64 = cookie64;
	s->has_counter = counter;
	s->pin_counter = pincounter;
	s->offset = offset;
	s->tx_session = txsession;
	s->rx_session = has_rxs ? rxsession : txsession;
	s->tx_cookie = cookie64 ? txcookie : (uint32_t)txcookie;
	s->rx_cookie = cookie64 ? rxcookie : (uint32_t)rxcookie;
	l2tpv3_header(s);
	dgram_io_init(&s->io, &s->nc, l2tpv3_sent, s);
	s->io.headroom = s->hlen + (!udp && !ipv6 ? WIRE_IP4_HLEN_MAX : 0);
	s->io.deliver = l2tpv3_deliver;
	r = dgram_io_start(&s->io, fd);
	if (r < 0) {
		freeaddrinfo(res);
		close(fd);
		net_client_free(&s->nc);
		return err_set_errno(e, -r, "l2tpv3: can't watch socket");
	}
	dgram_io_set_dest(&s->io, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	net_set_info_str(&s->nc, "l2tpv3: connected");
	return 0;
}

static const struct opt_desc l2tpv3_opts[] = {
	{ "src", OPT_STRING, "source address" },
	{ "dst", OPT_STRING, "destination address" },
	{ "srcport", OPT_STRING, "source port, udp=on only" },
	{ "dstport", OPT_STRING, "destination port, udp=on only" },
	{ "ipv6", OPT_BOOL, "force IPv6" },
	{ "udp", OPT_BOOL, "UDP encapsulation (default: IP, protocol 115, needs CAP_NET_RAW)" },
	{ "cookie64", OPT_BOOL, "64-bit cookies (default 32-bit)" },
	{ "counter", OPT_BOOL, "a counter word in every header (default off)" },
	{ "pincounter", OPT_BOOL, "send the counter as 0" },
	{ "txcookie", OPT_NUMBER, "cookie sent (with rxcookie)" },
	{ "rxcookie", OPT_NUMBER, "cookie required on receive (with txcookie)" },
	{ "txsession", OPT_NUMBER, "session id sent (required)" },
	{ "rxsession", OPT_NUMBER, "session id required on receive (default txsession)" },
	{ "offset", OPT_NUMBER, "bytes between the header and the frame (0-256)" },
	{ NULL, OPT_STRING, NULL },
};

const struct netdev_type netdev_l2tpv3 = {
	.name = "l2tpv3",
	.driver = NET_DRIVER_L2TPV3,
	.opts = l2tpv3_opts,
	.modern = false,
	.legacy_ok = true,
	.init = l2tpv3_init,
};
