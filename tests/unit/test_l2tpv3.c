// SPDX-License-Identifier: MIT
/* test_l2tpv3.c - the l2tpv3 netdev over UDP on 127.0.0.1: QEMU 7.2's header, hostile datagrams */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backends/l2tpv3.h"
#include "cli/netdev.h"
#include "cli/opts.h"
#include "core/loop.h"
#include "core/net.h"
#include "test.h"

struct rec {
	struct net_client nc;
	int count;
	size_t lens[64];
	uint8_t first[64];
};

static ssize_t rec_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
			   const struct net_meta *meta)
{
	struct rec *r = container_of(nc, struct rec, nc);
	size_t len = net_iov_size(iov, iovcnt);
	uint8_t b = 0;

	net_iov_copy(&b, 1, iov, iovcnt);
	if (r->count < 64) {
		r->lens[r->count] = len;
		r->first[r->count] = b;
	}
	r->count++;
	return (ssize_t)(len ? len : 1);
}

static const struct net_client_ops rec_ops = {
	.driver = NET_DRIVER_NIC,
	.size = sizeof(struct rec),
	.receive = rec_receive,
};

static void spin(int n)
{
	for (int i = 0; i < n; i++)
		loop_run_once(20);
}

/* bound() - a UDP socket on 127.0.0.1 with a kernel-chosen port */
static int bound(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

static int free_port(void)
{
	int p = 0, fd = bound(&p);

	if (fd >= 0)
		close(fd);
	return p;
}

static struct net_client *make(const char *spec, struct net_client *peer, struct error *e)
{
	struct opts o = { 0 };
	struct net_client *nc = NULL;

	if (opts_parse(&o, spec, "type", e) == 0)
		nc = netdev_create(&o, true, peer, e);
	opts_free(&o);
	return nc;
}

/* run() - a netdev from @fmt (two %d: srcport, dstport) towards a test socket; tx and rx checks */
struct rig {
	struct rec *r;
	struct net_client *nc;
	int fd;
	struct sockaddr_in to;	/* the netdev's address */
};

static bool rig_make(struct rig *g, const char *fmt)
{
	struct error e = { 0 };
	char spec[400];
	int tport = 0, qport = free_port();

	g->fd = bound(&tport);
	g->r = container_of(net_client_new(&rec_ops, NULL, "rec", NULL), struct rec, nc);
	snprintf(spec, sizeof(spec), fmt, qport, tport);
	g->nc = make(spec, &g->r->nc, &e);
	if (!g->nc)
		printf("# %s: %s\n", spec, e.msg);
	memset(&g->to, 0, sizeof(g->to));
	g->to.sin_family = AF_INET;
	g->to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g->to.sin_port = htons((uint16_t)qport);
	return g->fd >= 0 && g->nc;
}

static void rig_free(struct rig *g)
{
	if (g->nc)
		net_client_free(g->nc);
	net_client_free(&g->r->nc);
	if (g->fd >= 0)
		close(g->fd);
}

static void test_header_cookie32_counter(void)
{
	struct rig g;
	uint8_t f[80], d[400];
	static const uint8_t want[] = { 0, 3, 0, 0,  0, 0, 0, 0x11,  0x55, 0x66, 0x77, 0x88,
					0, 0, 0, 1,  0, 0 };

	/* cookie64=off: 32-bit cookies (QEMU 7.2 would take 64) */
	CHECK(rig_make(&g, "l2tpv3,id=l0,src=127.0.0.1,dst=127.0.0.1,udp=on,srcport=%d,dstport=%d,"
			  "txsession=0x11,rxsession=0x22,txcookie=0x55667788,rxcookie=0x99,"
			  "cookie64=off,counter=on,offset=2"));
	if (!g.nc) {
		rig_free(&g);
		return;
	}
	CHECK_STR(g.nc->info_str, "l2tpv3: connected");
	memset(f, 0xab, sizeof(f));
	CHECK(net_send_buf(&g.r->nc, f, 60, NULL) > 0);
	CHECK(net_send_buf(&g.r->nc, f, 61, NULL) > 0);
	spin(2);
	CHECK(recv(g.fd, d, sizeof(d), MSG_DONTWAIT) == (ssize_t)sizeof(want) + 60);
	CHECK(!memcmp(d, want, sizeof(want)) && d[sizeof(want)] == 0xab);
	CHECK(recv(g.fd, d, sizeof(d), MSG_DONTWAIT) == (ssize_t)sizeof(want) + 61);
	CHECK(d[15] == 2);	/* the counter counts */

	/* RX: good, then wrong session, wrong cookie, replayed counter, short; then a newer one */
	memcpy(d, "\x00\x03\x00\x00\x00\x00\x00\x22\x00\x00\x00\x99\x00\x00\x00\x05\xee\xee", 18);
	memset(d + 18, 0x11, 60);
	CHECK(sendto(g.fd, d, 78, 0, (struct sockaddr *)&g.to, sizeof(g.to)) == 78);
	d[7] = 0x23;
	CHECK(sendto(g.fd, d, 78, 0, (struct sockaddr *)&g.to, sizeof(g.to)) == 78);
	d[7] = 0x22;
	d[11] = 0x98;
	CHECK(sendto(g.fd, d, 78, 0, (struct sockaddr *)&g.to, sizeof(g.to)) == 78);
	d[11] = 0x99;
	d[15] = 0x04;
	CHECK(sendto(g.fd, d, 78, 0, (struct sockaddr *)&g.to, sizeof(g.to)) == 78);
	CHECK(sendto(g.fd, d, 18 + 13, 0, (struct sockaddr *)&g.to, sizeof(g.to)) == 31);
	CHECK(sendto(g.fd, d, 7, 0, (struct sockaddr *)&g.to, sizeof(g.to)) == 7);
	d[15] = 0x06;
	d[18] = 0x22;
	CHECK(sendto(g.fd, d, 78, 0, (struct sockaddr *)&g.to, sizeof(g.to)) == 78);
	d[15] = 0x00;	/* a pinned counter is always taken */
	d[18] = 0x33;
	CHECK(sendto(g.fd, d, 78, 0, (struct sockaddr *)&g.to, sizeof(g.to)) == 78);
	spin(3);
	CHECK(g.r->count == 3);
	CHECK(g.r->count == 3 && g.r->lens[0] == 60 && g.r->first[0] == 0x11 &&
	      g.r->first[1] == 0x22 && g.r->first[2] == 0x33);
	{
		const struct l2tpv3_counters *c = l2tpv3_counters(g.nc);

		CHECK(c->wrong_session == 1 && c->wrong_cookie == 1 && c->old_counter == 1 &&
		      c->short_hdr == 2);
	}
	rig_free(&g);
}

static void test_header_cookie64_pincounter(void)
{
	struct rig g;
	uint8_t f[80], d[600];

	CHECK(rig_make(&g, "l2tpv3,id=l1,src=127.0.0.1,dst=127.0.0.1,udp=on,srcport=%d,dstport=%d,"
			  "txsession=7,cookie64=on,txcookie=0x0102030405060708,rxcookie=1,"
			  "counter=on,pincounter=on,offset=256"));
	if (!g.nc) {
		rig_free(&g);
		return;
	}
	memset(f, 0xcd, sizeof(f));
	for (int i = 0; i < 2; i++)
		CHECK(net_send_buf(&g.r->nc, f, 60, NULL) > 0);
	spin(2);
	for (int i = 0; i < 2; i++) {
		bool zero = true;

		CHECK(recv(g.fd, d, sizeof(d), MSG_DONTWAIT) == 4 + 4 + 8 + 4 + 256 + 60);
		CHECK(!memcmp(d, "\x00\x03\x00\x00\x00\x00\x00\x07\x01\x02\x03\x04\x05\x06\x07\x08"
			      "\x00\x00\x00\x00", 20));
		for (int k = 20; k < 20 + 256; k++)
			zero &= d[k] == 0;	/* offset bytes are zeros, not heap garbage */
		CHECK(zero && d[276] == 0xcd);
	}
	rig_free(&g);
}

static void test_pincounter_alone(void)
{
	struct rig g;
	uint8_t f[64], d[200];

	/* pincounter without counter: no counter word (QEMU's wire format), nothing written past */
	CHECK(rig_make(&g, "l2tpv3,id=l2,src=127.0.0.1,dst=127.0.0.1,udp=on,srcport=%d,dstport=%d,"
			  "txsession=9,pincounter=on"));
	if (!g.nc) {
		rig_free(&g);
		return;
	}
	memset(f, 0xef, sizeof(f));
	CHECK(net_send_buf(&g.r->nc, f, 60, NULL) > 0);
	spin(2);
	CHECK(recv(g.fd, d, sizeof(d), MSG_DONTWAIT) == 8 + 60);
	CHECK(d[7] == 9 && d[8] == 0xef);
	rig_free(&g);
}

int main(void)
{
	loop_init();
	RUN(test_header_cookie32_counter);
	RUN(test_header_cookie64_pincounter);
	RUN(test_pincounter_alone);
	net_cleanup_all();
	loop_fini();
	TEST_DONE();
}
