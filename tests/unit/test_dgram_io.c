// SPDX-License-Identifier: MIT
/* test_dgram_io.c - the batched datagram engine as a tunnel uses it: headers, sizes, order */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backends/dgram_io.h"
#include "core/cursor.h"
#include "core/loop.h"
#include "core/net.h"
#include "test.h"

#define TUN_MAGIC 0x51540001u
#define TUN_HLEN 4

/* a toy tunnel: every datagram is [be32 magic][frame] */
struct tun {
	struct net_client nc;
	struct dgram_io io;
	uint64_t bad;
};

static void tun_sent(struct net_client *nc, ssize_t ret)
{
	dgram_io_sent(&container_of(nc, struct tun, nc)->io);
}

static ssize_t tun_deliver(struct dgram_io *io, const uint8_t *buf, size_t len)
{
	struct tun *t = io->opaque;
	struct cursor c;

	cursor_init_buf(&c, buf, len);
	if (cursor_be32(&c) != TUN_MAGIC || !cursor_ok(&c) || cursor_remaining(&c) > NET_BUFSIZE) {
		t->bad++;
		return -1;
	}
	return net_send_buf(&t->nc, buf + TUN_HLEN, len - TUN_HLEN, tun_sent);
}

static ssize_t tun_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
			 const struct net_meta *meta)
{
	static const uint8_t hdr[TUN_HLEN] = { 0x51, 0x54, 0x00, 0x01 };

	return dgram_io_send(&container_of(nc, struct tun, nc)->io, hdr, sizeof(hdr), iov, iovcnt);
}

static void tun_cleanup(struct net_client *nc)
{
	dgram_io_fini(&container_of(nc, struct tun, nc)->io);
}

static const struct net_client_ops tun_ops = {
	.driver = NET_DRIVER_L2TPV3,
	.size = sizeof(struct tun),
	.receive = tun_receive,
	.cleanup = tun_cleanup,
};

/* the guest side: records lengths and first bytes; can refuse */
struct rec {
	struct net_client nc;
	bool refuse;
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

	if (r->refuse)
		return 0;
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

static uint8_t big[NET_BUFSIZE + TUN_HLEN + 1];

static void spin(int n)
{
	for (int i = 0; i < n; i++)
		loop_run_once(20);
}

/* make() - a tunnel on one end of a unix datagram pair (the test holds *@other) */
static struct tun *make(struct rec **r, int *other, const char *name)
{
	int sv[2];
	struct tun *t;
	char rn[32];

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
		return NULL;
	snprintf(rn, sizeof(rn), "%s-guest", name);
	*r = container_of(net_client_new(&rec_ops, NULL, "rec", rn), struct rec, nc);
	t = container_of(net_client_new(&tun_ops, &(*r)->nc, "tun", name), struct tun, nc);
	dgram_io_init(&t->io, &t->nc, tun_sent, t);
	t->io.deliver = tun_deliver;
	t->io.headroom = TUN_HLEN;
	if (dgram_io_start(&t->io, sv[0]) < 0) {
		close(sv[0]);
		close(sv[1]);
		net_client_free(&t->nc);
		net_client_free(&(*r)->nc);
		return NULL;
	}
	*other = sv[1];
	return t;
}

static void test_tx_header_and_burst(void)
{
	struct rec *r;
	int fd = -1, got = 0;
	struct tun *t = make(&r, &fd, "tx");
	uint8_t f[200], back[300];

	CHECK(t != NULL);
	if (!t)
		return;
	/* more than a batch, in one go: gathered, sent in order, each with its header */
	memset(f, 0x33, sizeof(f));
	for (int i = 0; i < 3 * DGRAM_IO_BATCH / 2; i++) {
		f[0] = (uint8_t)i;
		CHECK(net_send_buf(&r->nc, f, 60 + (size_t)i, NULL) > 0);
	}
	/* the remote's queue may be short (net.unix.max_dgram_qlen): drain as it goes */
	for (int tries = 0; tries < 100 && got < 3 * DGRAM_IO_BATCH / 2; tries++) {
		ssize_t n;

		spin(1);
		while (got < 3 * DGRAM_IO_BATCH / 2 &&
		       (n = recv(fd, back, sizeof(back), MSG_DONTWAIT)) >= 0) {
			CHECK(n == TUN_HLEN + 60 + got);
			CHECK(back[0] == 0x51 && back[3] == 0x01 && back[TUN_HLEN] == got);
			got++;
		}
	}
	CHECK(got == 3 * DGRAM_IO_BATCH / 2);
	CHECK(recv(fd, back, sizeof(back), MSG_DONTWAIT) < 0 && errno == EAGAIN);
	/* a header beyond the headroom limit is refused */
	{
		uint8_t h[DGRAM_IO_HEADROOM_MAX + 1] = { 0 };
		struct iovec v = { f, 60 };

		CHECK(dgram_io_send(&t->io, h, sizeof(h), &v, 1) < 0);
	}
	net_client_free(&t->nc);
	net_client_free(&r->nc);
	close(fd);
}

static void test_rx_strip_sizes_order(void)
{
	struct rec *r;
	int fd = -1;
	struct tun *t = make(&r, &fd, "rx");
	uint8_t d[100];

	CHECK(t != NULL);
	if (!t)
		return;
	d[0] = 0x51;
	d[1] = 0x54;
	d[2] = 0x00;
	d[3] = 0x01;
	memset(d + 4, 0x77, sizeof(d) - 4);
	/* good ones, one with a bad header, an empty one, then the largest frame and one past it */
	for (int i = 0; i < 5; i++) {
		d[4] = (uint8_t)i;
		CHECK(send(fd, d, 20 + (size_t)i, 0) == 20 + i);
	}
	d[0] = 0;
	CHECK(send(fd, d, 30, 0) == 30);
	CHECK(send(fd, d, 0, 0) == 0);
	memcpy(big, "\x51\x54\x00\x01", 4);
	big[4] = 0xee;
	CHECK(send(fd, big, TUN_HLEN + NET_BUFSIZE, 0) == TUN_HLEN + NET_BUFSIZE);
	CHECK(send(fd, big, sizeof(big), 0) == (ssize_t)sizeof(big));
	spin(3);
	CHECK(r->count == 6);
	for (int i = 0; i < 5 && i < r->count; i++)
		CHECK(r->lens[i] == 16 + (size_t)i && r->first[i] == i);
	CHECK(r->count >= 6 && r->lens[5] == NET_BUFSIZE && r->first[5] == 0xee);
	CHECK(t->bad == 1);
	CHECK(t->io.rx_dropped == 2);	/* the empty one and the truncated one */

	/* back-pressure: the guest refuses, one frame waits in the core, the rest in the slots */
	r->refuse = true;
	d[0] = 0x51;
	for (int i = 0; i < 10; i++) {
		d[4] = (uint8_t)(100 + i);
		send(fd, d, 40, 0);
	}
	spin(3);
	CHECK(r->count == 6);
	CHECK(r->nc.queue.count == 1);
	r->refuse = false;
	net_flush_queued(&r->nc);
	spin(3);
	CHECK(r->count == 16);
	for (int i = 6; i < 16 && i < r->count; i++)
		CHECK(r->first[i] == 100 + i - 6);
	net_client_free(&t->nc);
	net_client_free(&r->nc);
	close(fd);
}

int main(void)
{
	loop_init();
	RUN(test_tx_header_and_burst);
	RUN(test_rx_strip_sizes_order);
	net_cleanup_all();
	loop_fini();
	TEST_DONE();
}
