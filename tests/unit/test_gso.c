// SPDX-License-Identifier: MIT
// test_gso.c - software TSO/USO/UFO, checksum completion, malformed metadata, and the core's use of it

#include <errno.h>
#include <string.h>

#include "core/gso.h"
#include "core/loop.h"
#include "core/net.h"
#include "test.h"

#define MAXSEG 128
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_CWR 0x80

/* the segments one gso_segment() call emitted, copied out */
static uint8_t segbuf[MAXSEG][2048];
static size_t seglen[MAXSEG];
static int nseg;
static int stop_at = -1;	/* emit returns 0 at this segment index (once) */

static ssize_t collect(void *opaque, const struct iovec *iov, int iovcnt)
{
	size_t len = net_iov_size(iov, iovcnt);

	if (nseg == stop_at) {
		stop_at = -1;
		return 0;
	}
	if (nseg >= MAXSEG || len > sizeof(segbuf[0]))
		return -1;
	seglen[nseg] = net_iov_copy(segbuf[nseg], sizeof(segbuf[0]), iov, iovcnt);
	nseg++;
	return (ssize_t)len;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) << 16 | rd16(p + 2);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* sum16() - a plain 16-bit one's complement sum, independent of gso.c */
static uint32_t sum16(const uint8_t *p, size_t len, uint32_t s)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		s += rd16(p + i);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

/* pseudo() - pseudo header sum of the IP header at @ip (v4 or v6) for @l4len bytes */
static uint32_t pseudo(const uint8_t *ip, bool v6, uint8_t proto, size_t l4len)
{
	uint32_t s = proto + (uint32_t)l4len;

	return v6 ? sum16(ip + 8, 32, s) : sum16(ip + 12, 8, s);
}

/* l4_ok() - the L4 checksum of the packet at @l4 (@len bytes) verifies */
static bool l4_ok(const uint8_t *ip, bool v6, uint8_t proto, const uint8_t *l4, size_t len)
{
	return sum16(l4, len, pseudo(ip, v6, proto, len)) == 0xffff;
}

/**
 * build() - Ethernet + IP (v4 with 4 option bytes, or v6 with an 8-byte
 * destination options header) + TCP (12 option bytes) or UDP + @plen bytes
 * Return: frame length; *l4 gets the L4 offset
 */
static size_t build(uint8_t *f, bool v6, uint8_t proto, size_t plen, uint8_t tcpflags,
		    size_t *l4off)
{
	size_t l3 = 14, l4, hl = proto == 6 ? 32 : 8;
	uint8_t *ip = f + l3;

	memset(f, 0, 14);
	f[0] = 0x02;
	f[6] = 0x02;
	f[11] = 1;
	if (v6) {
		wr16(f + 12, 0x86dd);
		memset(ip, 0, 48);
		ip[0] = 0x60;
		wr16(ip + 4, (uint16_t)(8 + hl + plen));
		ip[6] = 60;	/* destination options */
		ip[7] = 64;
		ip[8 + 15] = 1;	/* fd00::1 -> fd00::2 */
		ip[8] = 0xfd;
		ip[24] = 0xfd;
		ip[24 + 15] = 2;
		ip[40] = proto;	/* ext header: next header, len 0 (8 bytes), PadN */
		ip[41] = 0;
		ip[42] = 1;
		ip[43] = 4;
		l4 = l3 + 48;
	} else {
		wr16(f + 12, 0x0800);
		memset(ip, 0, 24);
		ip[0] = 0x46;	/* 4 bytes of options (NOPs + EOL) */
		wr16(ip + 2, (uint16_t)(24 + hl + plen));
		wr16(ip + 4, 0x1234);
		wr16(ip + 6, 0x4000);	/* DF */
		ip[8] = 64;
		ip[9] = proto;
		ip[12] = 10, ip[15] = 1;
		ip[16] = 10, ip[19] = 2;
		ip[20] = 1, ip[21] = 1, ip[22] = 1, ip[23] = 0;
		wr16(ip + 10, (uint16_t)~sum16(ip, 24, 0));
		l4 = l3 + 24;
	}
	memset(f + l4, 0, hl);
	wr16(f + l4, 40000);
	wr16(f + l4 + 2, 80);
	if (proto == 6) {
		f[l4 + 4] = 0xfe;	/* seq near the wrap */
		f[l4 + 5] = 0xff;
		f[l4 + 6] = 0xff;
		f[l4 + 7] = 0x00;
		f[l4 + 12] = 8 << 4;
		f[l4 + 13] = tcpflags;
		wr16(f + l4 + 14, 65535);
		f[l4 + 20] = 1, f[l4 + 21] = 1, f[l4 + 22] = 8, f[l4 + 23] = 10;
	} else {
		wr16(f + l4 + 4, (uint16_t)(8 + plen));
	}
	for (size_t i = 0; i < plen; i++)
		f[l4 + hl + i] = (uint8_t)(i * 7 + (i >> 8));
	*l4off = l4;
	return l4 + hl + plen;
}

/* partial() - put the pseudo header sum in the checksum field, as a sender with CHECKSUM_PARTIAL */
static void partial(uint8_t *f, bool v6, uint8_t proto, size_t l4, size_t len)
{
	size_t pos = l4 + (proto == 6 ? 16 : 6);

	wr16(f + pos, (uint16_t)pseudo(f + 14, v6, proto, len - l4));
}

/* complete() - the right L4 checksum in place */
static void complete(uint8_t *f, bool v6, uint8_t proto, size_t l4, size_t len)
{
	size_t pos = l4 + (proto == 6 ? 16 : 6);
	uint16_t c;

	wr16(f + pos, 0);
	c = (uint16_t)~sum16(f + l4, len - l4, pseudo(f + 14, v6, proto, len - l4));
	wr16(f + pos, proto == 17 && !c ? 0xffff : c);
}

static uint8_t big[GSO_FRAME_MAX];
static struct gso_scratch scratch;

static void check_tso(bool v6, bool ecn)
{
	size_t l4, plen = 65000, mss = 1448, len;
	struct net_meta m = { 0 };
	unsigned done = 0;
	uint32_t seq0;
	int r;

	len = build(big, v6, 6, plen, TCP_FIN | TCP_PSH | TCP_ACK | (ecn ? TCP_CWR : 0), &l4);
	seq0 = rd32(big + l4 + 4);
	partial(big, v6, 6, l4, len);
	m.flags = NET_META_F_NEEDS_CSUM;
	m.gso_type = (uint8_t)((v6 ? NET_META_GSO_TCPV6 : NET_META_GSO_TCPV4) |
			       (ecn ? NET_META_GSO_ECN : 0));
	m.gso_size = (uint16_t)mss;
	m.hdr_len = (uint16_t)(l4 + 32);
	m.csum_start = (uint16_t)l4;
	m.csum_offset = 16;
	CHECK(!gso_accepts(&m, NET_OFF_CSUM | (v6 ? NET_OFF_TSO4 : NET_OFF_TSO6)));
	CHECK(gso_accepts(&m, NET_OFF_ALL));
	CHECK(ecn || gso_accepts(&m, NET_OFF_CSUM | (v6 ? NET_OFF_TSO6 : NET_OFF_TSO4)));
	nseg = 0;
	r = gso_segment(&scratch, &(struct iovec){ big, len }, 1, &m, 0, &done, collect, NULL);
	CHECK(r == 45);
	CHECK(nseg == 45);
	for (int i = 0; i < nseg; i++) {
		const uint8_t *s = segbuf[i], *ip = s + 14, *tcp = s + l4;
		size_t want = i < 44 ? mss : plen - 44 * mss;
		uint8_t fl = tcp[13];

		CHECK(seglen[i] == l4 + 32 + want);
		if (v6) {
			CHECK(rd16(ip + 4) == 8 + 32 + want);
		} else {
			CHECK(rd16(ip + 2) == 24 + 32 + want);
			CHECK(rd16(ip + 4) == (uint16_t)(0x1234 + i));
			CHECK(sum16(ip, 24, 0) == 0xffff);
		}
		CHECK(rd32(tcp + 4) == seq0 + (uint32_t)(i * mss));
		CHECK(!!(fl & TCP_FIN) == (i == 44));
		CHECK(!!(fl & TCP_PSH) == (i == 44));
		CHECK(fl & TCP_ACK);
		CHECK(!!(fl & TCP_CWR) == (ecn && i == 0));
		CHECK(l4_ok(ip, v6, 6, tcp, 32 + want));
		CHECK(!memcmp(tcp + 32, big + l4 + 32 + i * mss, want));
	}
}

static void test_tso4(void)
{
	check_tso(false, false);
	check_tso(false, true);
}

static void test_tso6(void)
{
	check_tso(true, false);
	check_tso(true, true);
}

static void check_csum(bool v6, uint8_t proto, size_t plen)
{
	static uint8_t f[2048], want[2048];
	struct net_meta m = { .flags = NET_META_F_NEEDS_CSUM };
	unsigned done;
	size_t l4, len = build(f, v6, proto, plen, TCP_ACK, &l4);

	complete(f, v6, proto, l4, len);
	memcpy(want, f, len);
	partial(f, v6, proto, l4, len);
	m.csum_start = (uint16_t)l4;
	m.csum_offset = proto == 6 ? 16 : 6;
	CHECK(!gso_accepts(&m, 0));
	CHECK(gso_accepts(&m, NET_OFF_CSUM));
	nseg = 0;
	CHECK(gso_segment(&scratch, &(struct iovec){ f, len }, 1, &m, 0, &done, collect, NULL) == 1);
	CHECK(nseg == 1 && seglen[0] == len);
	CHECK(!memcmp(segbuf[0], want, len));
	CHECK(l4_ok(segbuf[0] + 14, v6, proto, segbuf[0] + l4, len - l4));
}

static void test_csum_complete(void)
{
	check_csum(false, 6, 1000);
	check_csum(false, 17, 999);
	check_csum(true, 6, 1001);
	check_csum(true, 17, 1000);
	check_csum(false, 17, 0);
}

/* a frame in three pieces is linearized first */
static void test_csum_iov(void)
{
	static uint8_t f[2048], want[2048];
	struct net_meta m = { .flags = NET_META_F_NEEDS_CSUM };
	struct iovec v[3];
	unsigned done;
	size_t l4, len = build(f, false, 17, 777, 0, &l4);

	complete(f, false, 17, l4, len);
	memcpy(want, f, len);
	partial(f, false, 17, l4, len);
	m.csum_start = (uint16_t)l4;
	m.csum_offset = 6;
	v[0] = (struct iovec){ f, 5 };
	v[1] = (struct iovec){ f + 5, 40 };
	v[2] = (struct iovec){ f + 45, len - 45 };
	nseg = 0;
	CHECK(gso_segment(&scratch, v, 3, &m, 0, &done, collect, NULL) == 1);
	CHECK(nseg == 1 && seglen[0] == len && !memcmp(segbuf[0], want, len));
}

static void test_uso(void)
{
	size_t l4, plen = 3500, len;
	struct net_meta m = { .flags = NET_META_F_NEEDS_CSUM, .gso_type = NET_META_GSO_UDP_L4,
			      .gso_size = 1000, .csum_offset = 6 };
	unsigned done;

	for (int v6 = 0; v6 < 2; v6++) {
		len = build(big, v6, 17, plen, 0, &l4);
		partial(big, v6, 17, l4, len);
		m.csum_start = (uint16_t)l4;
		CHECK(!gso_accepts(&m, NET_OFF_CSUM | NET_OFF_USO4));
		CHECK(gso_accepts(&m, NET_OFF_CSUM | NET_OFF_USO4 | NET_OFF_USO6));
		nseg = 0;
		CHECK(gso_segment(&scratch, &(struct iovec){ big, len }, 1, &m, 0, &done, collect,
				  NULL) == 4);
		CHECK(nseg == 4);
		for (int i = 0; i < nseg; i++) {
			size_t want = i < 3 ? 1000 : 500;
			const uint8_t *ip = segbuf[i] + 14, *udp = segbuf[i] + l4;

			CHECK(seglen[i] == l4 + 8 + want);
			CHECK(rd16(udp + 4) == 8 + want);
			CHECK(l4_ok(ip, v6, 17, udp, 8 + want));
			CHECK(!memcmp(udp + 8, big + l4 + 8 + i * 1000, want));
			if (!v6)
				CHECK(sum16(ip, 24, 0) == 0xffff && rd16(ip + 2) == 24 + 8 + want);
		}
	}
}

static void test_ufo(void)
{
	static uint8_t whole[8192];
	size_t l4, plen = 5000, len = build(big, false, 17, plen, 0, &l4), got = 0;
	struct net_meta m = { .flags = NET_META_F_NEEDS_CSUM, .gso_type = NET_META_GSO_UDP,
			      .gso_size = 1485, .csum_start = (uint16_t)l4, .csum_offset = 6 };
	unsigned done;

	partial(big, false, 17, l4, len);
	nseg = 0;
	CHECK(gso_segment(&scratch, &(struct iovec){ big, len }, 1, &m, 0, &done, collect,
			  NULL) == 4);
	CHECK(nseg == 4);	/* 5008 bytes of UDP in fragments of 1480 */
	for (int i = 0; i < nseg; i++) {
		const uint8_t *ip = segbuf[i] + 14;
		uint16_t fo = rd16(ip + 6);
		size_t n = seglen[i] - l4;

		CHECK(sum16(ip, 24, 0) == 0xffff);
		CHECK(rd16(ip + 2) == 24 + n);
		CHECK((size_t)(fo & 0x1fff) * 8 == got);
		CHECK(!!(fo & 0x2000) == (i < 3));
		CHECK(i == 3 || n == 1480);
		memcpy(whole + got, segbuf[i] + l4, n);
		got += n;
	}
	CHECK(got == 8 + plen);
	CHECK(l4_ok(big + 14, false, 17, whole, got));
	CHECK(!memcmp(whole + 8, big + l4 + 8, plen));
}

/* emit says 0 in the middle: a second call with skip goes on where it stopped */
static void test_resume(void)
{
	size_t l4, len = build(big, false, 6, 10000, TCP_ACK | TCP_PSH, &l4);
	struct net_meta m = { .flags = NET_META_F_NEEDS_CSUM, .gso_type = NET_META_GSO_TCPV4,
			      .gso_size = 1000, .csum_start = (uint16_t)l4, .csum_offset = 16 };
	unsigned done = 99;

	nseg = 0;
	stop_at = 3;
	CHECK(gso_segment(&scratch, &(struct iovec){ big, len }, 1, &m, 0, &done, collect,
			  NULL) == 0);
	CHECK(done == 3 && nseg == 3);
	CHECK(gso_segment(&scratch, &(struct iovec){ big, len }, 1, &m, done, &done, collect,
			  NULL) == 10);
	CHECK(nseg == 10);
	for (int i = 0; i < nseg; i++)
		CHECK(rd32(segbuf[i] + l4 + 4) == rd32(big + l4 + 4) + (uint32_t)i * 1000);
}

static int bad(const uint8_t *f, size_t len, const struct net_meta *m)
{
	unsigned done;
	int r;

	nseg = 0;
	r = gso_segment(&scratch, &(struct iovec){ (void *)f, len }, 1, m, 0, &done, collect, NULL);
	return r == -EINVAL && nseg == 0;
}

static void test_malformed(void)
{
	static uint8_t f[4096];
	size_t l4, len = build(f, false, 6, 3000, TCP_ACK, &l4);
	struct net_meta ok = { .flags = NET_META_F_NEEDS_CSUM, .gso_type = NET_META_GSO_TCPV4,
			       .gso_size = 1000, .csum_start = (uint16_t)l4, .csum_offset = 16 };
	struct net_meta m;

	m = ok;
	m.gso_size = 0;
	CHECK(bad(f, len, &m));
	m = ok;
	m.gso_type = NET_META_GSO_TCPV6;	/* on an IPv4 frame */
	CHECK(bad(f, len, &m));
	m = ok;
	m.gso_type = NET_META_GSO_UDP_L4;	/* on TCP */
	CHECK(bad(f, len, &m));
	m = ok;
	m.gso_type = 9;	/* unknown */
	CHECK(bad(f, len, &m));
	m = ok;
	m.csum_start = (uint16_t)(l4 + 4);	/* not the TCP header */
	CHECK(bad(f, len, &m));
	m = ok;
	m.csum_offset = 6;
	CHECK(bad(f, len, &m));
	CHECK(bad(f, l4 + 10, &ok));		/* truncated TCP header */
	CHECK(bad(f, len - 1, &ok));		/* IPv4 total length past the frame */
	CHECK(bad(f, 13, &ok));			/* not even Ethernet */
	m = (struct net_meta){ .flags = NET_META_F_NEEDS_CSUM, .csum_start = 4000 };
	CHECK(bad(f, len, &m));			/* csum_start past the end */
	m.csum_start = (uint16_t)(len - 1);
	CHECK(bad(f, len, &m));			/* field past the end */
	m.csum_start = 2;
	CHECK(bad(f, len, &m));			/* inside the Ethernet header */
	m = (struct net_meta){ .gso_type = NET_META_GSO_ECN };
	CHECK(bad(f, len, &m));			/* ECN alone */
	f[l4 + 12] = 4 << 4;			/* TCP data offset below 20 */
	CHECK(bad(f, len, &ok));
	f[l4 + 12] = 8 << 4;
	f[14 + 6] = 0x20;			/* MF: already a fragment */
	CHECK(bad(f, len, &ok));
	f[14 + 6] = 0x40;
	CHECK(!bad(f, len, &ok));		/* and the frame itself is fine */
	/* IPv6: a chain of 9 extension headers is not walked to the end */
	{
		size_t l, n;
		struct net_meta m6 = ok;

		n = build(f, true, 6, 100, TCP_ACK, &l);
		m6.gso_type = NET_META_GSO_TCPV6;
		m6.csum_start = (uint16_t)l;
		CHECK(!bad(f, n, &m6));
		memmove(f + 62 + 64, f + 62, n - 62);
		for (int i = 0; i < 9; i++) {
			uint8_t *e = f + 54 + 8 * i;

			e[0] = i == 8 ? 6 : 60;
			e[1] = 0, e[2] = 1, e[3] = 4;
			memset(e + 4, 0, 4);
		}
		wr16(f + 14 + 4, (uint16_t)(rd16(f + 14 + 4) + 64));
		m6.csum_start = (uint16_t)(l + 64);
		CHECK(bad(f, n + 64, &m6));
		/* UFO over IPv6 is not done: refused */
		n = build(f, true, 17, 3000, 0, &l);
		m6 = (struct net_meta){ .gso_type = NET_META_GSO_UDP, .gso_size = 1280 };
		CHECK(bad(f, n, &m6));
	}
}

/* ---- through the core: receivers with and without offloads ---- */

struct rcv {
	struct net_client nc;
	int frames, plain, with_meta, valid;
	size_t largest;
	int block_after;
};

static ssize_t rcv_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
			   const struct net_meta *meta)
{
	struct rcv *r = (struct rcv *)(void *)nc;
	size_t len = net_iov_size(iov, iovcnt);

	if (r->block_after >= 0 && r->frames >= r->block_after)
		return 0;
	r->frames++;
	if (!net_meta_is_plain(meta))
		r->with_meta++;
	else
		r->plain++;
	if (meta && (meta->flags & NET_META_F_DATA_VALID))
		r->valid++;
	if (len > r->largest)
		r->largest = len;
	return (ssize_t)len;
}

static const struct net_client_ops rcv_ops = {
	.driver = NET_DRIVER_STREAM,
	.size = sizeof(struct rcv),
	.receive = rcv_receive,
};

static ssize_t none_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
			    const struct net_meta *meta)
{
	return (ssize_t)net_iov_size(iov, iovcnt);
}

static const struct net_client_ops src_ops = {
	.driver = NET_DRIVER_TAP,
	.size = sizeof(struct net_client),
	.receive = none_receive,
};

static int cb_calls;
static void sent(struct net_client *nc, ssize_t ret)
{
	cb_calls++;
}

static void test_core(void)
{
	size_t l4, len = build(big, false, 6, 20000, TCP_ACK, &l4);
	struct net_meta m = { .flags = NET_META_F_NEEDS_CSUM, .gso_type = NET_META_GSO_TCPV4,
			      .gso_size = 1448, .csum_start = (uint16_t)l4, .csum_offset = 16 };
	struct iovec v = { big, len };
	struct net_client *a, *b;
	struct rcv *r;

	/* a receiver with offloads gets the frame whole, metadata and all */
	a = net_client_new(&src_ops, NULL, "src", "a");
	b = net_client_new(&rcv_ops, a, "rcv", "b");
	r = (struct rcv *)(void *)b;
	r->block_after = -1;
	b->offloads = NET_OFF_ALL;
	CHECK(net_send_meta(a, &v, 1, &m, NULL) > 0);
	CHECK(r->frames == 1 && r->with_meta == 1 && r->largest == len);
	CHECK(b->stats.rx_largest == len && a->stats.tx_largest == len);
	/* without: software segments, plain */
	b->offloads = 0;
	r->frames = r->with_meta = r->plain = 0;
	r->largest = 0;
	CHECK(net_send_meta(a, &v, 1, &m, NULL) > 0);
	CHECK(r->frames == 14 && r->plain == 14 && r->with_meta == 0);
	CHECK(r->valid == 14);	/* checksums just computed: flagged valid */
	CHECK(r->largest == l4 + 32 + 1448);
	CHECK(b->stats.rx_gso_frames == 1);
	/* the receiver stalls after 5 segments: the frame waits with its progress */
	r->frames = r->plain = 0;
	r->block_after = 5;
	cb_calls = 0;
	CHECK(net_send_meta(a, &v, 1, &m, sent) == 0);
	CHECK(r->frames == 5 && net_queue_len(b) == 1);
	r->block_after = 9;
	net_flush_queued(b);
	CHECK(r->frames == 9 && net_queue_len(b) == 1 && cb_calls == 0);
	r->block_after = -1;
	net_flush_queued(b);
	CHECK(r->frames == 14 && net_queue_len(b) == 0 && cb_calls == 1);
	/* bad metadata: dropped and counted at the receiver */
	m.gso_type = NET_META_GSO_TCPV6;
	r->frames = 0;
	CHECK(net_send_meta(a, &v, 1, &m, NULL) < 0);
	CHECK(r->frames == 0 && b->stats.rx_bad_meta == 1 && b->stats.drops == 1);
	net_client_free(b);
	net_client_free(a);
}

int main(void)
{
	loop_init();
	RUN(test_tso4);
	RUN(test_tso6);
	RUN(test_csum_complete);
	RUN(test_csum_iov);
	RUN(test_uso);
	RUN(test_ufo);
	RUN(test_resume);
	RUN(test_malformed);
	RUN(test_core);
	gso_scratch_free(&scratch);
	TEST_DONE();
}
