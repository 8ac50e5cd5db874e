// SPDX-License-Identifier: MIT
/* test_tcp.c - the TCP NAT against real loopback sockets, guest segments crafted by hand */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stack/csum.h"
#include "stack/stack.h"
#include "sink.h"
#include "test.h"

#define GUEST_IP "10.0.2.15"
#define MAXSEG 4096

/* one segment the stack sent to the guest */
struct seg {
	uint8_t proto;		/* IPPROTO_TCP or IPPROTO_ICMP */
	uint8_t icmp_type, icmp_code;
	uint32_t src, dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win;
	uint16_t mss;
	int ws;
	size_t dlen;
	uint8_t data[2048];
	bool csum_ok;
};

static struct seg segs[MAXSEG];
static int nsegs;

static void parse_frame(const uint8_t *f, size_t len)
{
	const uint8_t *ip = f + 14, *l4;
	size_t ihl, tot;
	struct seg *g;

	if (len < 34 || f[12] != 0x08 || f[13] != 0x00 || nsegs == MAXSEG)
		return;
	ihl = (size_t)(ip[0] & 15) * 4;
	tot = (size_t)(ip[2] << 8 | ip[3]);
	if (tot > len - 14)
		return;
	g = &segs[nsegs++];
	memset(g, 0, sizeof(*g));
	g->proto = ip[9];
	memcpy(&g->src, ip + 12, 4);
	memcpy(&g->dst, ip + 16, 4);
	l4 = ip + ihl;
	if (g->proto == IPPROTO_ICMP) {
		g->icmp_type = l4[0];
		g->icmp_code = l4[1];
		return;
	}
	if (g->proto != IPPROTO_TCP)
		return;
	{
		size_t l4len = tot - ihl, hl = (size_t)(l4[12] >> 4) * 4;
		struct in_addr s, d;

		s.s_addr = g->src;
		d.s_addr = g->dst;
		g->csum_ok = csum_fold(csum_partial(l4, l4len, csum_pseudo4(s, d, IPPROTO_TCP,
									      (uint16_t)l4len))) == 0;
		g->sport = (uint16_t)(l4[0] << 8 | l4[1]);
		g->dport = (uint16_t)(l4[2] << 8 | l4[3]);
		g->seq = (uint32_t)l4[4] << 24 | (uint32_t)l4[5] << 16 | (uint32_t)l4[6] << 8 | l4[7];
		g->ack = (uint32_t)l4[8] << 24 | (uint32_t)l4[9] << 16 | (uint32_t)l4[10] << 8 | l4[11];
		g->flags = l4[13];
		g->win = (uint16_t)(l4[14] << 8 | l4[15]);
		g->ws = -1;
		for (size_t i = 20; i + 1 < hl;) {
			if (l4[i] == 0)
				break;
			if (l4[i] == 1) {
				i++;
				continue;
			}
			if (l4[i] == 2)
				g->mss = (uint16_t)(l4[i + 2] << 8 | l4[i + 3]);
			if (l4[i] == 3)
				g->ws = l4[i + 2];
			i += l4[i + 1] ? l4[i + 1] : 1;
		}
		g->dlen = l4len - hl;
		memcpy(g->data, l4 + hl, MIN(g->dlen, sizeof(g->data)));
	}
}

/* guest_frame() - the sink's hook: every frame the stack sends to the guest, whole */
static void guest_frame(struct sink *k, const uint8_t *f, size_t len)
{
	parse_frame(f, len);
}

static struct sink *gk;		/* the stack's test host (sink.h): fake clock, own epoll */
static struct user_stack *st;
static int stack_no;

/* make_stack() - a stack whose guest records segments, guest MAC known */
static struct user_stack *make_stack(const char *extra)
{
	struct error e = { 0 };
	char id[32];
	uint8_t mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
	struct in_addr ga;

	snprintf(id, sizeof(id), "u%d", stack_no++);
	gk = sink_new(id, extra ? extra : "", &e);
	if (!gk) {
		fprintf(stderr, "stack: %s\n", e.msg);
		return NULL;
	}
	gk->on_frame = guest_frame;
	st = gk->s;
	inet_aton(GUEST_IP, &ga);
	arp_learn(st, ga, mac);
	nsegs = 0;
	return st;
}

static void free_stack(void)
{
	sink_free(gk);
	st = NULL;
	gk = NULL;
}

static uint16_t next_urg;	/* urgent pointer of the next crafted segment */

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static bool partial_csum;	/* guest_seg() sends partial checksums ... */
static bool partial_ok;		/* ... with the frame's metadata saying so */

/* guest_seg() - craft a guest segment to @dst:@dport from the guest's @sport and feed it */
static void guest_seg(const char *dst, uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq,
		      uint32_t ack, uint16_t win, const uint8_t *opt, size_t optlen,
		      const void *data, size_t dlen)
{
	static uint8_t pkt[20 + 60 + 65536] __attribute__((aligned(4)));
	struct iphdr *ip = (struct iphdr *)(void *)pkt;
	uint8_t *th = pkt + 20;
	size_t hl = 20 + ((optlen + 3) & ~(size_t)3), len = hl + dlen;
	struct in_addr s, d;
	uint16_t sum;

	memset(pkt, 0, 20 + hl);
	inet_aton(GUEST_IP, &s);
	inet_aton(dst, &d);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons((uint16_t)(20 + len));
	ip->ttl = 64;
	ip->protocol = IPPROTO_TCP;
	ip->saddr = s.s_addr;
	ip->daddr = d.s_addr;
	ip->check = csum_ip4_header(ip, 20);
	th[0] = (uint8_t)(sport >> 8);
	th[1] = (uint8_t)sport;
	th[2] = (uint8_t)(dport >> 8);
	th[3] = (uint8_t)dport;
	put32(th + 4, seq);
	put32(th + 8, ack);
	th[12] = (uint8_t)((hl / 4) << 4);
	th[13] = flags;
	th[14] = (uint8_t)(win >> 8);
	th[15] = (uint8_t)win;
	th[18] = (uint8_t)(next_urg >> 8);
	th[19] = (uint8_t)next_urg;
	next_urg = 0;
	if (optlen)
		memcpy(th + 20, opt, optlen);
	if (dlen)
		memcpy(th + hl, data, dlen);
	if (partial_csum) {
		/* what a guest with checksum offload sends: the pseudo header sum only */
		sum = (uint16_t)~csum_fold(csum_pseudo4(s, d, IPPROTO_TCP, (uint16_t)len));
		memcpy(th + 16, &sum, 2);
		st->rx_csum_ok = partial_ok;
		tcp4_input(st, ip, th, len);
		st->rx_csum_ok = false;
		return;
	}
	sum = csum_fold(csum_partial(th, len, csum_pseudo4(s, d, IPPROTO_TCP, (uint16_t)len)));
	memcpy(th + 16, &sum, 2);
	tcp4_input(st, ip, th, len);
}

#define FIN 0x01
#define SYN 0x02
#define RST 0x04
#define PSH 0x08
#define ACK 0x10
#define URG 0x20

static const uint8_t syn_opts[] = { 2, 4, 0x05, 0xb4, 1, 3, 3, 7 };	/* MSS 1460, WS 7 */

/* RUN_UNTIL() - dispatch socket events until @cond or @ms pass (real time; the fake clock stays) */
#define RUN_UNTIL(cond, ms)                                                     \
	do {                                                                    \
		uint64_t end_ = sink_real_ms() + (ms);                          \
		while (!(cond) && sink_real_ms() < end_)                        \
			sink_poll(gk, 10);                                      \
	} while (0)

static int find_seg(int from, uint8_t flags, uint8_t mask)
{
	for (int i = from; i < nsegs; i++)
		if (segs[i].proto == IPPROTO_TCP && (segs[i].flags & mask) == flags)
			return i;
	return -1;
}

static int listener(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	bind(fd, (struct sockaddr *)&a, sizeof(a));
	listen(fd, 128);
	getsockname(fd, (struct sockaddr *)&a, &l);
	*port = ntohs(a.sin_port);
	return fd;
}

static int accept_nb(int lfd)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };

	for (int i = 0; i < 200 && poll(&p, 1, 0) == 0; i++)
		sink_poll(gk, 5);
	return accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

/* read_all() - read @n bytes from @fd, running the loop meanwhile */
static size_t read_all(int fd, uint8_t *buf, size_t n, int ms)
{
	size_t got = 0;
	uint64_t end = sink_real_ms() + (uint64_t)ms;

	while (got < n && sink_real_ms() < end) {
		ssize_t r = recv(fd, buf + got, n - got, MSG_DONTWAIT);

		if (r > 0)
			got += (size_t)r;
		else if (r == 0)
			break;
		else
			sink_poll(gk, 5);
	}
	return got;
}

/**
 * open_conn() - guest connects to 10.0.2.2:port (the host's loopback); the handshake done
 * Return: the host-side accepted socket; *isn_host = the stack's ISS
 */
static int open_conn(int lfd, uint16_t port, uint16_t gport, uint32_t gisn, uint32_t *iss)
{
	int i, afd;

	nsegs = 0;
	guest_seg("10.0.2.2", gport, port, SYN, gisn, 0, 65535, syn_opts, sizeof(syn_opts), NULL, 0);
	RUN_UNTIL(find_seg(0, SYN | ACK, SYN | ACK) >= 0, 2000);
	i = find_seg(0, SYN | ACK, SYN | ACK);
	if (i < 0)
		return -1;
	*iss = segs[i].seq;
	afd = accept_nb(lfd);
	guest_seg("10.0.2.2", gport, port, ACK, gisn + 1, *iss + 1, 1024, NULL, 0, NULL, 0);
	return afd;
}

static void test_handshake_and_data(void)
{
	uint16_t port;
	int lfd = listener(&port), afd, i;
	uint32_t iss = 0;
	uint8_t buf[4096];
	struct sbuf info = { 0 };

	make_stack(NULL);
	guest_seg("10.0.2.2", 40000, port, SYN, 1000, 0, 65535, syn_opts, sizeof(syn_opts), NULL, 0);
	CHECK(find_seg(0, SYN, SYN) < 0);	/* nothing before the host connect completes */
	/* SYN retransmit while connecting: ignored */
	guest_seg("10.0.2.2", 40000, port, SYN, 1000, 0, 65535, syn_opts, sizeof(syn_opts), NULL, 0);
	CHECK(tcp_count(st) == 1);
	RUN_UNTIL(find_seg(0, SYN | ACK, SYN | ACK) >= 0, 2000);
	i = find_seg(0, SYN | ACK, SYN | ACK);
	CHECK(i >= 0);
	if (i < 0)
		goto out;
	CHECK(segs[i].ack == 1001);
	CHECK(segs[i].mss == 1460);
	CHECK(segs[i].ws == 7);
	CHECK(segs[i].csum_ok);
	CHECK(segs[i].sport == port && segs[i].dport == 40000);
	CHECK(segs[i].src == inet_addr("10.0.2.2") && segs[i].dst == inet_addr(GUEST_IP));
	iss = segs[i].seq;
	afd = accept_nb(lfd);
	CHECK(afd >= 0);
	/* handshake ACK with data */
	nsegs = 0;
	guest_seg("10.0.2.2", 40000, port, ACK | PSH, 1001, iss + 1, 1024, NULL, 0, "hello", 5);
	CHECK(read_all(afd, buf, 5, 1000) == 5 && !memcmp(buf, "hello", 5));
	RUN_UNTIL(find_seg(0, ACK, ACK) >= 0, 500);
	i = find_seg(0, ACK, ACK);
	CHECK(i >= 0 && segs[i].ack == 1006 && segs[i].seq == iss + 1 && segs[i].dlen == 0);
	/* urgent data with a wild pointer (CVE-2026-9539 class): ignored, the byte goes inline */
	next_urg = 0xffff;
	guest_seg("10.0.2.2", 40000, port, ACK | PSH | URG, 1006, iss + 1, 1024, NULL, 0, "u", 1);
	CHECK(read_all(afd, buf, 1, 1000) == 1 && buf[0] == 'u');
	CHECK(recv(afd, buf, sizeof(buf), MSG_DONTWAIT) < 0);
	/* out of order: dropped with a duplicate ACK */
	nsegs = 0;
	guest_seg("10.0.2.2", 40000, port, ACK, 1100, iss + 1, 1024, NULL, 0, "zz", 2);
	i = find_seg(0, ACK, ACK);
	CHECK(i >= 0 && segs[i].ack == 1007);
	CHECK(recv(afd, buf, sizeof(buf), MSG_DONTWAIT) < 0);
	/* host -> guest */
	nsegs = 0;
	CHECK(send(afd, "world", 5, 0) == 5);
	RUN_UNTIL(find_seg(0, ACK | PSH, ACK | PSH) >= 0, 1000);
	i = find_seg(0, ACK | PSH, ACK | PSH);
	CHECK(i >= 0 && segs[i].dlen == 5 && !memcmp(segs[i].data, "world", 5));
	CHECK(i >= 0 && segs[i].seq == iss + 1 && segs[i].ack == 1007 && segs[i].csum_ok);
	/* info usernet while established */
	tcp_info_usernet(st, &info);
	CHECK(strstr(sbuf_str(&info), "  TCP[ESTABLISHED]") != NULL);
	CHECK(strstr(sbuf_str(&info), "       10.0.2.15 40000        10.0.2.2 ") != NULL);
	sbuf_free(&info);
	guest_seg("10.0.2.2", 40000, port, ACK, 1007, iss + 6, 1024, NULL, 0, NULL, 0);
	/* host closes: FIN after the data */
	nsegs = 0;
	close(afd);
	RUN_UNTIL(find_seg(0, FIN, FIN) >= 0, 1000);
	i = find_seg(0, FIN, FIN);
	CHECK(i >= 0 && segs[i].seq == iss + 6);
	guest_seg("10.0.2.2", 40000, port, ACK | FIN, 1007, iss + 7, 1024, NULL, 0, NULL, 0);
	RUN_UNTIL(false, 20);
	CHECK(tcp_count(st) == 1);	/* TIME_WAIT: 2 s of the stack's clock */
	sink_advance(gk, 1500);
	CHECK(tcp_count(st) == 1);
	sink_advance(gk, 600);
	CHECK(tcp_count(st) == 0);
out:
	close(lfd);
	free_stack();
}

static void test_refused_and_unknown(void)
{
	uint16_t port;
	int lfd = listener(&port), i;

	close(lfd);	/* nothing listens there now */
	make_stack(NULL);
	guest_seg("10.0.2.2", 40001, port, SYN, 5000, 0, 65535, syn_opts, sizeof(syn_opts), NULL, 0);
	RUN_UNTIL(find_seg(0, RST, RST) >= 0, 2000);
	i = find_seg(0, RST, RST);
	CHECK(i >= 0 && (segs[i].flags & ACK) && segs[i].ack == 5001 && segs[i].seq == 0);
	CHECK(tcp_count(st) == 0);
	/* non-SYN for an unknown tuple: RST, seq = their ACK */
	nsegs = 0;
	guest_seg("10.0.2.2", 40002, port, ACK, 7, 12345, 100, NULL, 0, NULL, 0);
	i = find_seg(0, RST, RST);
	CHECK(i >= 0 && segs[i].seq == 12345 && !(segs[i].flags & ACK));
	/* without ACK: RST+ACK acking the segment */
	nsegs = 0;
	guest_seg("10.0.2.2", 40002, port, FIN, 7, 0, 100, NULL, 0, "abc", 3);
	i = find_seg(0, RST | ACK, RST | ACK);
	CHECK(i >= 0 && segs[i].ack == 7 + 3 + 1);
	/* RST for an unknown tuple: silence */
	nsegs = 0;
	guest_seg("10.0.2.2", 40002, port, RST, 7, 0, 100, NULL, 0, NULL, 0);
	CHECK(nsegs == 0);
	/* bad checksum: dropped */
	{
		uint8_t pkt[40] = { 0x45 };
		struct iphdr *ip = (struct iphdr *)(void *)pkt;

		ip->saddr = inet_addr(GUEST_IP);
		ip->daddr = inet_addr("10.0.2.2");
		ip->protocol = IPPROTO_TCP;
		pkt[20 + 12] = 0x50;
		pkt[20 + 13] = SYN;
		pkt[21] = 1;
		pkt[23] = 1;
		tcp4_input(st, ip, pkt + 20, 20);
		CHECK(nsegs == 0 && tcp_count(st) == 0);
	}
	free_stack();
}

static void test_restrict(void)
{
	uint16_t port;
	int lfd = listener(&port), i;

	make_stack("restrict=on");
	guest_seg("10.0.2.2", 40003, port, SYN, 1, 0, 65535, syn_opts, sizeof(syn_opts), NULL, 0);
	i = find_seg(0, RST | ACK, RST | ACK);
	CHECK(i >= 0 && segs[i].ack == 2);
	CHECK(tcp_count(st) == 0);
	close(lfd);
	free_stack();
}

static void test_retransmit(void)
{
	uint16_t port;
	int lfd = listener(&port), afd, i, n;
	uint32_t iss;
	uint8_t big[6000];

	make_stack(NULL);
	afd = open_conn(lfd, port, 40004, 100, &iss);
	CHECK(afd >= 0);
	if (afd < 0)
		goto out;
	for (size_t k = 0; k < sizeof(big); k++)
		big[k] = (uint8_t)k;
	nsegs = 0;
	/* guest window 1024 (scaled by 7: 128 KiB): 6000 bytes go out in 1460-byte segments */
	CHECK(send(afd, big, sizeof(big), 0) == (ssize_t)sizeof(big));
	RUN_UNTIL(find_seg(0, ACK | PSH, ACK | PSH) >= 0, 1000);
	n = 0;
	for (i = 0; i < nsegs; i++)
		n += (int)segs[i].dlen;
	CHECK(n == 6000);
	CHECK(segs[0].dlen == 1460 && segs[0].seq == iss + 1);
	CHECK(!memcmp(segs[1].data, big + 1460, 1460));
	/* the guest acks the first segment, then three duplicate ACKs: resend from there */
	guest_seg("10.0.2.2", 40004, port, ACK, 101, iss + 1 + 1460, 1024, NULL, 0, NULL, 0);
	nsegs = 0;
	for (int k = 0; k < 3; k++)
		guest_seg("10.0.2.2", 40004, port, ACK, 101, iss + 1 + 1460, 1024, NULL, 0, NULL, 0);
	i = find_seg(0, ACK, ACK);
	CHECK(i >= 0 && segs[i].seq == iss + 1 + 1460 && segs[i].dlen == 1460);
	CHECK(i >= 0 && !memcmp(segs[i].data, big + 1460, 1460));
	/* no ACK at all: RTO resends from the last acked byte, once the clock says so */
	nsegs = 0;
	RUN_UNTIL(false, 20);
	CHECK(nsegs == 0);
	sink_advance(gk, 3000);
	CHECK(nsegs > 0 && segs[0].seq == iss + 1 + 1460);
	/* all acked */
	nsegs = 0;
	guest_seg("10.0.2.2", 40004, port, ACK, 101, iss + 1 + 6000, 1024, NULL, 0, NULL, 0);
	RUN_UNTIL(false, 100);
	CHECK(nsegs == 0);
	/* zero window from the guest: host data waits */
	guest_seg("10.0.2.2", 40004, port, ACK, 101, iss + 1 + 6000, 0, NULL, 0, NULL, 0);
	CHECK(send(afd, "later", 5, 0) == 5);
	RUN_UNTIL(false, 100);
	CHECK(find_seg(0, PSH, PSH) < 0);
	guest_seg("10.0.2.2", 40004, port, ACK, 101, iss + 1 + 6000, 10, NULL, 0, NULL, 0);
	RUN_UNTIL(find_seg(0, PSH, PSH) >= 0, 500);
	i = find_seg(0, PSH, PSH);
	CHECK(i >= 0 && segs[i].dlen == 5 && !memcmp(segs[i].data, "later", 5));
	/* guest RST: the host peer sees a reset */
	guest_seg("10.0.2.2", 40004, port, RST, 101, 0, 0, NULL, 0, NULL, 0);
	CHECK(tcp_count(st) == 0);
	{
		uint8_t b[16];
		ssize_t r;
		int err = 0;

		for (int k = 0; k < 100; k++) {
			r = recv(afd, b, sizeof(b), MSG_DONTWAIT);
			err = errno;
			if (r >= 0 || err != EAGAIN)
				break;
			sink_poll(gk, 5);
		}
		CHECK(r < 0 && err == ECONNRESET);
	}
	close(afd);
out:
	close(lfd);
	free_stack();
}

static void test_bulk_both_ways(void)
{
	uint16_t port;
	int lfd = listener(&port), afd;
	uint32_t iss, gseq = 9000, acked;
	static uint8_t data[1 << 20], got[1 << 20];
	size_t sent = 0, rcvd = 0;

	make_stack(NULL);
	afd = open_conn(lfd, port, 40005, gseq, &iss);
	CHECK(afd >= 0);
	if (afd < 0)
		goto out;
	gseq++;
	for (size_t k = 0; k < sizeof(data); k++)
		data[k] = (uint8_t)(k * 7 + (k >> 9));
	/* guest -> host: 1 MiB in 1460-byte segments, as fast as the stack acknowledges */
	acked = gseq;
	for (int round = 0; round < 100000 && rcvd < sizeof(data); round++) {
		size_t off = acked - 9001;

		if (off < sizeof(data)) {
			size_t l = MIN(1460, sizeof(data) - off);

			nsegs = 0;
			guest_seg("10.0.2.2", 40005, port, ACK, acked, iss + 1, 1024, NULL, 0,
				  data + off, l);
			sink_poll(gk, 0);
			for (int i = 0; i < nsegs; i++)
				if (segs[i].flags & ACK && segs[i].ack > acked)
					acked = segs[i].ack;
		}
		ssize_t r = recv(afd, got + rcvd, sizeof(got) - rcvd, MSG_DONTWAIT);

		if (r > 0)
			rcvd += (size_t)r;
		if (off >= sizeof(data) && r <= 0)
			sink_poll(gk, 1);
	}
	CHECK(rcvd == sizeof(data) && !memcmp(got, data, sizeof(data)));
	/* host -> guest: 1 MiB, the guest acks everything it gets */
	rcvd = 0;
	acked = iss + 1;
	for (int round = 0; round < 100000 && rcvd < sizeof(data); round++) {
		if (sent < sizeof(data)) {
			ssize_t r = send(afd, data + sent, sizeof(data) - sent, MSG_DONTWAIT);

			if (r > 0)
				sent += (size_t)r;
		}
		nsegs = 0;
		sink_poll(gk, 1);
		sink_advance(gk, 1);	/* segments dropped below come back by RTO */
		for (int i = 0; i < nsegs; i++) {
			if (segs[i].dlen && segs[i].seq == iss + 1 + rcvd) {
				memcpy(got + rcvd, segs[i].data, segs[i].dlen);
				rcvd += segs[i].dlen;
			}
		}
		if (nsegs)
			guest_seg("10.0.2.2", 40005, port, ACK, gseq + (uint32_t)sizeof(data),
				  iss + 1 + (uint32_t)rcvd, 1024, NULL, 0, NULL, 0);
	}
	CHECK(rcvd == sizeof(data) && !memcmp(got, data, sizeof(data)));
	guest_seg("10.0.2.2", 40005, port, RST, gseq + (uint32_t)sizeof(data), 0, 0, NULL, 0, NULL, 0);
	CHECK(tcp_count(st) == 0);
	close(afd);
out:
	close(lfd);
	free_stack();
}

/* TSO towards the guest: what the guest's receiver sees of the frames the stack built */
static uint8_t *tso_got;
static size_t tso_len, tso_frames, tso_bad;
static uint32_t tso_base;

static void tso_frame(struct sink *k, const uint8_t *cf, size_t len)
{
	const struct net_meta *m = k->cur_meta;
	static uint8_t f[70000];
	uint8_t *l4 = f + 34;
	size_t l4len, hl;
	struct in_addr s, d;
	uint16_t sum;
	uint32_t seq;

	if (len < 54 || len > sizeof(f) || cf[23] != IPPROTO_TCP)
		return;
	memcpy(f, cf, len);
	l4len = len - 34;
	if (!m || !(m->flags & NET_META_F_NEEDS_CSUM) || m->csum_start != 34 || m->csum_offset != 16) {
		tso_bad++;	/* the guest side takes partial checksums: every data frame has one */
		return;
	}
	/* the receiver's part: sum from csum_start over the pseudo header sum in the field */
	sum = csum_fold(csum_partial(l4, l4len, 0));
	memcpy(l4 + 16, &sum, 2);
	memcpy(&s, f + 26, 4);
	memcpy(&d, f + 30, 4);
	if (csum_fold(csum_partial(l4, l4len, csum_pseudo4(s, d, IPPROTO_TCP, (uint16_t)l4len))))
		tso_bad++;
	hl = (size_t)(l4[12] >> 4) * 4;
	if (l4len - hl > 1460) {
		tso_frames++;
		if (m->gso_type != NET_META_GSO_TCPV4 || m->gso_size != 1460 || m->hdr_len != 54 ||
		    len > 65535 + 14)
			tso_bad++;
	} else if (m->gso_type != NET_META_GSO_NONE) {
		tso_bad++;
	}
	seq = (uint32_t)l4[4] << 24 | (uint32_t)l4[5] << 16 | (uint32_t)l4[6] << 8 | l4[7];
	if (seq - tso_base == tso_len && l4len > hl && tso_len + (l4len - hl) <= (4u << 20)) {
		memcpy(tso_got + tso_len, l4 + hl, l4len - hl);
		tso_len += l4len - hl;
	}
	parse_frame(f, len);
}

static void test_tso(void)
{
	uint16_t port;
	int lfd = listener(&port), afd;
	uint32_t iss, gseq = 7000;
	static uint8_t data[4 << 20], got[4 << 20];
	size_t sent = 0, rcvd = 0, bad0;

	make_stack(NULL);
	afd = open_conn(lfd, port, 40011, gseq, &iss);
	CHECK(afd >= 0);
	if (afd < 0)
		goto out;
	gseq++;
	for (size_t k = 0; k < sizeof(data); k++)
		data[k] = (uint8_t)(k * 13 + (k >> 11));
	/* guest -> host: 64 KiB segments with partial checksums go into the socket whole */
	partial_csum = partial_ok = true;
	for (size_t off = 0; off < (1u << 20); off += 65000) {
		size_t l = MIN(65000, (1u << 20) - off);

		guest_seg("10.0.2.2", 40011, port, ACK, gseq + (uint32_t)off, iss + 1, 65535, NULL, 0,
			  data + off, l);
		for (int i = 0; i < 1000; i++) {
			ssize_t r = recv(afd, got + rcvd, sizeof(got) - rcvd, MSG_DONTWAIT);

			if (r > 0)
				rcvd += (size_t)r;
			if (rcvd >= off + l)
				break;
			sink_poll(gk, 1);
		}
	}
	CHECK(rcvd == (1u << 20) && !memcmp(got, data, rcvd));
	/* the same partial checksum without metadata saying so is a bad checksum: dropped */
	bad0 = st->tcp.stats.bad;
	partial_ok = false;
	guest_seg("10.0.2.2", 40011, port, ACK, gseq + (1u << 20), iss + 1, 65535, NULL, 0, data, 100);
	CHECK(st->tcp.stats.bad == bad0 + 1);
	partial_csum = partial_ok = false;
	gseq += 1u << 20;
	/* host -> guest: the guest side takes TSO, so frames of up to 64 KiB come out */
	st->guest_offloads = NET_OFF_CSUM | NET_OFF_TSO4;
	gk->on_frame = tso_frame;
	tso_got = got;
	tso_len = tso_frames = tso_bad = 0;
	tso_base = iss + 1;
	for (int round = 0; round < 20000 && tso_len < sizeof(data); round++) {
		if (sent < sizeof(data)) {
			ssize_t r = send(afd, data + sent, sizeof(data) - sent, MSG_DONTWAIT);

			if (r > 0)
				sent += (size_t)r;
		}
		nsegs = 0;
		sink_poll(gk, 1);
		sink_advance(gk, 1);
		if (nsegs)
			guest_seg("10.0.2.2", 40011, port, ACK, gseq, tso_base + (uint32_t)tso_len,
				  65535, NULL, 0, NULL, 0);
	}
	CHECK(tso_len == sizeof(data) && !memcmp(got, data, sizeof(data)));
	CHECK(tso_frames > 0);
	CHECK(tso_bad == 0);
	CHECK(st->tcp.stats.tso_frames == tso_frames);
	gk->on_frame = guest_frame;
	guest_seg("10.0.2.2", 40011, port, RST, gseq, 0, 0, NULL, 0, NULL, 0);
	close(afd);
out:
	close(lfd);
	free_stack();
}

static void test_guest_busy(void)
{
	uint16_t port;
	int lfd = listener(&port), afd, i, n = 0;
	uint32_t iss;
	uint8_t big[20000] = { 0 };

	make_stack(NULL);
	afd = open_conn(lfd, port, 40006, 1, &iss);
	CHECK(afd >= 0);
	if (afd < 0)
		goto out;
	gk->blocked = true;
	nsegs = 0;
	CHECK(send(afd, big, sizeof(big), 0) == (ssize_t)sizeof(big));
	RUN_UNTIL(false, 100);
	CHECK(st->guest_busy);
	CHECK(nsegs == 0);
	sink_unblock(gk);
	RUN_UNTIL(false, 100);
	for (i = 0; i < nsegs; i++)
		n += (int)segs[i].dlen;
	CHECK(n == (int)sizeof(big));
	guest_seg("10.0.2.2", 40006, port, RST, 2, 0, 0, NULL, 0, NULL, 0);
	close(afd);
out:
	close(lfd);
	free_stack();
}

static void test_hostfwd(void)
{
	uint16_t port;
	int lfd = listener(&port), cfd, afd, i;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_storage peer;
	socklen_t pl = sizeof(peer);
	struct hostfwd hf = { 0 };
	uint32_t iss;
	uint8_t buf[64];
	struct sbuf info = { 0 };

	make_stack(NULL);
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(connect(cfd, (struct sockaddr *)&a, sizeof(a)) == 0);
	afd = accept4(lfd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	inet_aton(GUEST_IP, &hf.gaddr);
	hf.gport = 22;
	CHECK(send(cfd, "early", 5, 0) == 5);
	tcp_hostfwd_accept(st, &hf, afd, &peer, pl);
	i = find_seg(0, SYN, SYN | ACK);
	CHECK(i >= 0);
	if (i < 0)
		goto out;
	CHECK(segs[i].src == inet_addr("10.0.2.2") && segs[i].dport == 22);
	CHECK(segs[i].mss == 1460 && segs[i].ws == 7);
	iss = segs[i].seq;
	/* info usernet: the host side is the accepted socket's address */
	tcp_info_usernet(st, &info);
	CHECK(strstr(sbuf_str(&info), "  TCP[SYN_SENT]") != NULL);
	CHECK(strstr(sbuf_str(&info), "       127.0.0.1") != NULL);
	sbuf_free(&info);
	nsegs = 0;
	{
		const uint8_t o[] = { 2, 4, 0x05, 0xb4 };	/* no window scaling */
		uint16_t sp = segs[i].sport;

		guest_seg("10.0.2.2", 22, sp, SYN | ACK, 777, iss + 1, 30000, o, sizeof(o), NULL, 0);
		i = find_seg(0, ACK, ACK | SYN);
		CHECK(i >= 0 && segs[i].ack == 778);
		RUN_UNTIL(find_seg(0, PSH, PSH) >= 0, 1000);
		i = find_seg(0, PSH, PSH);
		CHECK(i >= 0 && segs[i].dlen == 5 && !memcmp(segs[i].data, "early", 5));
		guest_seg("10.0.2.2", 22, sp, ACK | PSH, 778, iss + 6, 30000, NULL, 0, "hi", 2);
		CHECK(read_all(cfd, buf, 2, 1000) == 2 && !memcmp(buf, "hi", 2));
		/* guest RST: the client sees a reset */
		guest_seg("10.0.2.2", 22, sp, RST, 780, 0, 0, NULL, 0, NULL, 0);
		CHECK(tcp_count(st) == 0);
		CHECK(recv(cfd, buf, sizeof(buf), 0) < 0 && errno == ECONNRESET);
	}
out:
	close(cfd);
	close(lfd);
	free_stack();
}

static void test_guestfwd_cmd(void)
{
	uint32_t iss;
	int i;
	size_t got = 0;
	uint8_t buf[64];

	make_stack("guestfwd=tcp:10.0.2.100:1234-cmd:cat");
	guest_seg("10.0.2.100", 40010, 1234, SYN, 50, 0, 65535, syn_opts, sizeof(syn_opts), NULL, 0);
	RUN_UNTIL(find_seg(0, SYN | ACK, SYN | ACK) >= 0, 2000);
	i = find_seg(0, SYN | ACK, SYN | ACK);
	CHECK(i >= 0);
	if (i < 0)
		goto out;
	iss = segs[i].seq;
	guest_seg("10.0.2.100", 40010, 1234, ACK | PSH, 51, iss + 1, 1024, NULL, 0, "echo me", 7);
	nsegs = 0;
	for (int k = 0; k < 200 && got < 7; k++) {
		sink_poll(gk, 10);
		for (i = 0; i < nsegs; i++) {
			if (segs[i].dlen && segs[i].seq == iss + 1 + got && got + segs[i].dlen <= 7) {
				memcpy(buf + got, segs[i].data, segs[i].dlen);
				got += segs[i].dlen;
			}
		}
		nsegs = 0;
	}
	CHECK(got == 7 && !memcmp(buf, "echo me", 7));
	/* ACK: discarded from the AF_UNIX socket by reading */
	guest_seg("10.0.2.100", 40010, 1234, ACK | FIN, 58, iss + 8, 1024, NULL, 0, NULL, 0);
	RUN_UNTIL(find_seg(0, FIN, FIN) >= 0, 2000);
	i = find_seg(0, FIN, FIN);
	CHECK(i >= 0 && segs[i].seq == iss + 8);
	if (i >= 0)
		guest_seg("10.0.2.100", 40010, 1234, ACK, 59, iss + 9, 1024, NULL, 0, NULL, 0);
	CHECK(tcp_count(st) == 0);
out:
	free_stack();
}

static void test_icmp_unreachable(void)
{
	int i;

	uint64_t errors;

	make_stack(NULL);
	/* the DNS address refuses ports other than 53 as libslirp does: ICMP net unreachable
	 * quoting the SYN, no RST, no connection */
	errors = st->icmp.stats_errors;
	guest_seg("10.0.2.3", 40020, 80, SYN, 1, 0, 65535, syn_opts, sizeof(syn_opts), NULL, 0);
	i = find_seg(0, RST | ACK, RST | ACK);
	CHECK(i < 0);
	CHECK(st->icmp.stats_errors == errors + 1);
	CHECK(tcp_count(st) == 0);
	free_stack();
}

static void test_many_conns(void)
{
	uint16_t port;
	int lfd = listener(&port), n = 0;

	make_stack(NULL);
	for (int k = 0; k < 50; k++)
		guest_seg("10.0.2.2", (uint16_t)(41000 + k), port, SYN, 1, 0, 65535, syn_opts,
			  sizeof(syn_opts), NULL, 0);
	CHECK(tcp_count(st) == 50);
	RUN_UNTIL(false, 200);
	for (int i = 0; i < nsegs; i++)
		if ((segs[i].flags & (SYN | ACK)) == (SYN | ACK))
			n++;
	CHECK(n == 50);
	free_stack();	/* tcp_fini closes everything */
	close(lfd);
}

/*
 * test_icmp_netns() - a connect() that fails with ENETUNREACH becomes ICMP net unreachable.
 * Runs last, inside a new network namespace with no interface up (nothing can leave it);
 * skipped when user namespaces are not available.
 */
static void test_icmp_netns(void)
{
	int i = -1;

	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0) {
		printf("skip test_icmp_netns: unshare: %s\n", strerror(errno));
		return;
	}
	make_stack(NULL);
	guest_seg("192.0.2.1", 40030, 80, SYN, 77, 0, 65535, syn_opts, sizeof(syn_opts), NULL, 0);
	RUN_UNTIL(nsegs > 0, 1000);
	for (int k = 0; k < nsegs; k++)
		if (segs[k].proto == IPPROTO_ICMP)
			i = k;
	CHECK(i >= 0 && segs[i].icmp_type == ICMP_DEST_UNREACH);
	CHECK(i >= 0 && (segs[i].icmp_code == ICMP_NET_UNREACH ||
			 segs[i].icmp_code == ICMP_HOST_UNREACH));
	CHECK(i >= 0 && segs[i].dst == inet_addr(GUEST_IP));
	CHECK(tcp_count(st) == 0);
	free_stack();
}

int main(void)
{
	RUN(test_handshake_and_data);
	RUN(test_refused_and_unknown);
	RUN(test_restrict);
	RUN(test_retransmit);
	RUN(test_bulk_both_ways);
	RUN(test_tso);
	RUN(test_guest_busy);
	RUN(test_hostfwd);
	RUN(test_guestfwd_cmd);
	RUN(test_icmp_unreachable);
	RUN(test_many_conns);
	RUN(test_icmp_netns);	/* last: leaves the process in an empty network namespace */
	TEST_DONE();
}
