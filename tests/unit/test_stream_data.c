// SPDX-License-Identifier: MIT
/* test_stream_data.c - the length-prefixed reassembler and the framed connection */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backends/stream_data.h"
#include "core/loop.h"
#include "core/net.h"
#include "test.h"

/* what the frame callback saw */
static struct {
	int count;
	size_t lens[4096];
	uint32_t sums[4096];
	int bad_content;
} got;

static uint32_t sum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i < n; i++)
		s = s * 31 + p[i];
	return s;
}

static void on_frame(void *opaque, const uint8_t *f, size_t len)
{
	if (got.count < 4096) {
		got.lens[got.count] = len;
		got.sums[got.count] = sum(f, len);
	}
	/* frames built by put_frame() carry byte i = (i + len) & 0xff */
	for (size_t i = 0; i < len; i++)
		if (f[i] != (uint8_t)(i + len))
			got.bad_content++;
	got.count++;
}

static void reset_got(void)
{
	memset(&got, 0, sizeof(got));
}

static size_t put_len(uint8_t *p, uint32_t len)
{
	p[0] = (uint8_t)(len >> 24);
	p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	return 4;
}

static size_t put_frame(uint8_t *p, uint32_t len)
{
	size_t n = put_len(p, len);

	for (uint32_t i = 0; i < len; i++)
		p[n + i] = (uint8_t)(i + len);
	return n + len;
}

static uint8_t big[4 * NET_BUFSIZE];

static void test_split_prefix(void)
{
	struct stream_rx rx;
	uint8_t b[200];
	size_t n = put_frame(b, 100);

	stream_rx_init(&rx);
	reset_got();
	/* one byte at a time, the prefix split over four reads */
	for (size_t i = 0; i < n; i++) {
		CHECK(stream_rx_feed(&rx, b + i, 1, on_frame, NULL) == 0);
		CHECK(got.count == (i == n - 1 ? 1 : 0));
	}
	CHECK(got.lens[0] == 100 && !got.bad_content);
	/* split 2+2+rest */
	reset_got();
	CHECK(stream_rx_feed(&rx, b, 2, on_frame, NULL) == 0);
	CHECK(stream_rx_feed(&rx, b + 2, 2, on_frame, NULL) == 0);
	CHECK(got.count == 0);
	CHECK(stream_rx_feed(&rx, b + 4, n - 4, on_frame, NULL) == 0);
	CHECK(got.count == 1 && got.lens[0] == 100);
	stream_rx_fini(&rx);
}

static void test_zero_length(void)
{
	struct stream_rx rx;
	uint8_t b[64];
	size_t n;

	stream_rx_init(&rx);
	reset_got();
	/* QEMU: the empty frame is emitted when more input is processed */
	n = put_len(b, 0);
	CHECK(stream_rx_feed(&rx, b, n, on_frame, NULL) == 0);
	CHECK(got.count == 0);
	n = put_frame(b, 10);
	CHECK(stream_rx_feed(&rx, b, n, on_frame, NULL) == 0);
	CHECK(got.count == 2);
	CHECK(got.lens[0] == 0 && got.lens[1] == 10);
	/* 0 then a frame in the same chunk */
	reset_got();
	n = put_len(b, 0);
	n += put_frame(b + n, 20);
	CHECK(stream_rx_feed(&rx, b, n, on_frame, NULL) == 0);
	CHECK(got.count == 2 && got.lens[0] == 0 && got.lens[1] == 20);
	stream_rx_fini(&rx);
}

static void test_max_size(void)
{
	struct stream_rx rx;
	size_t n = put_frame(big, NET_BUFSIZE);

	stream_rx_init(&rx);
	reset_got();
	CHECK(stream_rx_feed(&rx, big, n, on_frame, NULL) == 0);
	CHECK(got.count == 1 && got.lens[0] == NET_BUFSIZE && !got.bad_content);
	/* the same, split in the middle (copy path) */
	reset_got();
	CHECK(stream_rx_feed(&rx, big, 1000, on_frame, NULL) == 0);
	CHECK(stream_rx_feed(&rx, big + 1000, n - 1000, on_frame, NULL) == 0);
	CHECK(got.count == 1 && got.lens[0] == NET_BUFSIZE && !got.bad_content);
	stream_rx_fini(&rx);
}

static void test_oversized(void)
{
	struct stream_rx rx;
	uint8_t b[64];
	size_t n;

	stream_rx_init(&rx);
	reset_got();
	/* 69633: fine until the 69633rd byte arrives */
	n = put_frame(big, NET_BUFSIZE + 1);
	CHECK(stream_rx_feed(&rx, big, 4 + NET_BUFSIZE, on_frame, NULL) == 0);
	CHECK(got.count == 0);
	CHECK(stream_rx_feed(&rx, big + 4 + NET_BUFSIZE, 1, on_frame, NULL) == -1);
	CHECK(got.count == 0);
	/* reset after the error: a good frame parses */
	n = put_frame(b, 30);
	CHECK(stream_rx_feed(&rx, b, n, on_frame, NULL) == 0);
	CHECK(got.count == 1 && got.lens[0] == 30);
	/* all in one chunk, with a good frame before it: that one is emitted first */
	reset_got();
	n = put_frame(big, 50);
	n += put_frame(big + n, NET_BUFSIZE + 1);
	CHECK(stream_rx_feed(&rx, big, n, on_frame, NULL) == -1);
	CHECK(got.count == 1 && got.lens[0] == 50);
	stream_rx_fini(&rx);
}

static void test_huge_length(void)
{
	struct stream_rx rx;
	uint8_t b[8];

	stream_rx_init(&rx);
	reset_got();
	put_len(b, 0xFFFFFFFFu);
	CHECK(stream_rx_feed(&rx, b, 4, on_frame, NULL) == 0);
	memset(big, 0xab, sizeof(big));
	/* waits while the data still fits... */
	CHECK(stream_rx_feed(&rx, big, 100, on_frame, NULL) == 0);
	CHECK(rx.r.state == REASM_DATA && rx.r.index == 100);
	/* ...and fails once it would not */
	CHECK(stream_rx_feed(&rx, big, NET_BUFSIZE, on_frame, NULL) == -1);
	CHECK(got.count == 0 && rx.r.state == REASM_LEN && rx.r.index == 0);
	stream_rx_fini(&rx);
}

static void test_truncated(void)
{
	struct stream_rx rx;
	uint8_t b[200];

	stream_rx_init(&rx);
	reset_got();
	put_frame(b, 100);
	/* half a frame, then the connection ends: nothing emitted, reset drops it */
	CHECK(stream_rx_feed(&rx, b, 54, on_frame, NULL) == 0);
	CHECK(got.count == 0 && rx.r.state == REASM_DATA && rx.r.index == 50);
	stream_rx_reset(&rx);
	CHECK(rx.r.state == REASM_LEN && rx.r.index == 0);
	put_frame(b, 8);
	CHECK(stream_rx_feed(&rx, b, 12, on_frame, NULL) == 0);
	CHECK(got.count == 1 && got.lens[0] == 8);
	stream_rx_fini(&rx);
}

static void test_many_frames(void)
{
	struct stream_rx rx;
	size_t n = 0, off;
	uint32_t i, nframes = 0;

	stream_rx_init(&rx);
	reset_got();
	for (i = 0; n + 4 + 1600 < sizeof(big) && nframes < 4000; i++, nframes++)
		n += put_frame(big + n, (i * 37) % 1514);
	CHECK(stream_rx_feed(&rx, big, n, on_frame, NULL) == 0);
	CHECK(got.count == (int)nframes && !got.bad_content);
	for (i = 0; i < nframes && i < 4096; i++)
		CHECK(got.lens[i] == (i * 37) % 1514);
	/* the same bytes in odd-sized pieces give the same frames */
	reset_got();
	for (off = 0; off < n;) {
		size_t piece = MIN(n - off, (size_t)(off % 977) + 1);

		CHECK(stream_rx_feed(&rx, big + off, piece, on_frame, NULL) == 0);
		off += piece;
	}
	CHECK(got.count == (int)nframes && !got.bad_content);
	stream_rx_fini(&rx);
}

/* ---- the connection, over a socketpair, with the real core ---- */

struct sink {
	struct net_client nc;
	int got;
	size_t last_len;
	bool blocked;
};

static ssize_t sink_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
				const struct net_meta *meta)
{
	struct sink *s = (struct sink *)(void *)nc;

	if (s->blocked)
		return 0;
	s->got++;
	s->last_len = net_iov_size(iov, iovcnt);
	return (ssize_t)s->last_len;
}

static const struct net_client_ops sink_ops = {
	.driver = NET_DRIVER_NIC,
	.size = sizeof(struct sink),
	.receive = sink_receive,
};

struct owner {
	struct net_client nc;
	struct stream_conn conn;
	int downs;
};

static void owner_sent(struct net_client *nc, ssize_t ret)
{
	stream_conn_resume(&((struct owner *)(void *)nc)->conn);
}

static void owner_event(struct stream_conn *c, enum stream_conn_event ev, int err)
{
	struct owner *o = c->opaque;

	if (ev == STREAM_CONN_DOWN)
		o->downs++;
}

static ssize_t owner_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
				const struct net_meta *meta)
{
	return stream_conn_receive(&((struct owner *)(void *)nc)->conn, iov, iovcnt);
}

static void owner_cleanup(struct net_client *nc)
{
	stream_conn_fini(&((struct owner *)(void *)nc)->conn);
}

static const struct net_client_ops owner_ops = {
	.driver = NET_DRIVER_STREAM,
	.size = sizeof(struct owner),
	.receive = owner_receive,
	.cleanup = owner_cleanup,
};

static void run_loop(int n)
{
	for (int i = 0; i < n; i++)
		loop_run_once(10);
}

static void test_conn(void)
{
	int sv[2];
	struct owner *o;
	struct sink *k;
	uint8_t b[256], rb[4096];
	struct iovec iov;
	ssize_t r;
	size_t n;
	int queued = 0, i;

	CHECK(loop_init() == 0);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	o = (struct owner *)(void *)net_client_new(&owner_ops, NULL, "stream", "o");
	k = (struct sink *)(void *)net_client_new(&sink_ops, &o->nc, "sink", "k");
	stream_conn_init(&o->conn, &o->nc, owner_sent, owner_event, o);
	CHECK(stream_conn_attach(&o->conn, sv[0], false) == 0);

	/* RX: two frames written by "the other side" reach the sink */
	n = put_frame(b, 60);
	n += put_frame(b + n, 42);
	CHECK(write(sv[1], b, n) == (ssize_t)n);
	run_loop(3);
	CHECK(k->got == 2 && k->last_len == 42);

	/* TX: three frames from the sink are batched into the socket */
	memset(b, 7, 60);
	iov.iov_base = b;
	iov.iov_len = 60;
	for (i = 0; i < 3; i++)
		CHECK(net_send(&k->nc, &iov, 1, NULL) == 60);
	run_loop(2);
	r = read(sv[1], rb, sizeof(rb));
	CHECK(r == 3 * 64);
	CHECK(rb[0] == 0 && rb[3] == 60 && rb[4] == 7 && rb[64 + 3] == 60);

	/* the peer stops reading: the buffer fills, receive says 0, the core queues */
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	memset(big, 1, 1500);
	iov.iov_base = big;
	iov.iov_len = 1500;
	for (i = 0; i < 2000 && !queued; i++) {
		r = net_send(&k->nc, &iov, 1, NULL);
		if (r == 0)
			queued = 1;
		if (i % 50 == 0)
			run_loop(1);
	}
	CHECK(queued);
	CHECK(o->conn.blocked);
	CHECK(o->nc.receive_disabled);
	/* drain the other side: EPOLLOUT flushes and the core's queue empties */
	for (i = 0; i < 200 && (o->nc.queue.count || o->conn.tx_len); i++) {
		while (read(sv[1], big + 2000, 65536) > 0)
			;
		run_loop(1);
	}
	CHECK(o->nc.queue.count == 0 && !o->conn.blocked && !o->nc.receive_disabled);

	/* an oversized frame closes the connection */
	n = put_len(b, NET_BUFSIZE + 1);
	CHECK(write(sv[1], b, n) == (ssize_t)n);
	memset(big, 0, NET_BUFSIZE + 1);
	n = 0;
	while (n < NET_BUFSIZE + 1) {
		r = write(sv[1], big, NET_BUFSIZE + 1 - n);
		if (r > 0)
			n += (size_t)r;
		run_loop(1);
		if (o->downs)
			break;
	}
	run_loop(2);
	CHECK(o->downs == 1);
	CHECK(!stream_conn_is_open(&o->conn));
	close(sv[1]);
	net_client_free(&k->nc);
	net_client_free(&o->nc);
	loop_fini();
}

int main(void)
{
	RUN(test_split_prefix);
	RUN(test_zero_length);
	RUN(test_max_size);
	RUN(test_oversized);
	RUN(test_huge_length);
	RUN(test_truncated);
	RUN(test_many_frames);
	RUN(test_conn);
	TEST_DONE();
}
