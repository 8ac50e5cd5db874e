// SPDX-License-Identifier: MIT
// test_net.c - the delivery contract, bounded queues, hubs and switches

#include <string.h>

#include "core/hub.h"
#include "core/loop.h"
#include "core/net.h"
#include "test.h"

/* a test client: takes frames unless blocked, remembers the last one */
struct sink {
	struct net_client nc;
	bool blocked;
	int budget;
	int got;
	uint8_t last[64];
	size_t last_len;
	int order_ok;
	int next_seq;
};

static ssize_t sink_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
				const struct net_meta *meta)
{
	struct sink *s = (struct sink *)(void *)nc;

	if (s->blocked || s->budget == 0)
		return 0;
	if (s->budget > 0)
		s->budget--;
	s->last_len = net_iov_copy(s->last, sizeof(s->last), iov, iovcnt);
	if (s->last_len > 12 && s->last[12] == (uint8_t)s->next_seq)
		s->order_ok++;
	s->next_seq = (uint8_t)(s->last[12] + 1);
	s->got++;
	return (ssize_t)net_iov_size(iov, iovcnt);
}

static const struct net_client_ops sink_ops = {
	.driver = NET_DRIVER_STREAM,
	.size = sizeof(struct sink),
	.receive = sink_receive,
};

static int sent_calls;
static void sent_cb(struct net_client *sender, ssize_t ret)
{
	sent_calls++;
}

static struct sink *sink_new(const char *name, struct net_client *peer)
{
	struct sink *s = (struct sink *)(void *)net_client_new(&sink_ops, peer, "sink", name);

	s->budget = -1;
	return s;
}

/* frame(): dst, src, byte 12 = seq */
static void frame(uint8_t *f, uint8_t dst, uint8_t src, uint8_t seq)
{
	memset(f, 0, 60);
	f[0] = 0x52; f[5] = dst;
	f[6] = 0x52; f[11] = src;
	f[12] = seq;
}

static void test_direct_delivery(void)
{
	struct sink *a = sink_new("a", NULL), *b = sink_new("b", &a->nc);
	uint8_t f[60];

	frame(f, 2, 1, 0);
	CHECK(net_send_buf(&a->nc, f, 60, sent_cb) == 60);
	CHECK(b->got == 1 && b->last_len == 60);
	CHECK(a->nc.stats.tx_frames == 1 && b->nc.stats.rx_frames == 1);

	/* blocked receiver: queued, sender told 0, order kept after flush */
	b->blocked = true;
	sent_calls = 0;
	for (int i = 1; i <= 5; i++) {
		frame(f, 2, 1, (uint8_t)i);
		CHECK(net_send_buf(&a->nc, f, 60, sent_cb) == 0);
	}
	CHECK(net_queue_len(&b->nc) == 5);
	CHECK(!net_can_send(&a->nc));
	b->blocked = false;
	b->order_ok = 0;
	CHECK(net_flush_queued(&b->nc));
	CHECK(b->got == 6 && b->order_ok == 5);
	CHECK(sent_calls == 5);
	CHECK(net_can_send(&a->nc));

	net_client_free(&b->nc);
	CHECK(a->nc.peer == NULL);
	/* no peer: silently "delivered" */
	CHECK(net_send_buf(&a->nc, f, 60, NULL) == 60);
	net_client_free(&a->nc);
	CHECK(net_first() == NULL);
}

static void test_queue_bounded(void)
{
	struct sink *a = sink_new("a", NULL), *b = sink_new("b", &a->nc);
	uint8_t f[1500] = { 0 };
	int queued = 0, dropped = 0;

	b->blocked = true;
	for (int i = 0; i < 5000; i++) {
		ssize_t r = net_send_buf(&a->nc, f, sizeof(f), NULL);

		if (r == 0)
			queued++;
		else if (r < 0)
			dropped++;
	}
	CHECK(queued > 0 && queued <= 1024);
	CHECK(dropped == 5000 - queued);
	CHECK(b->nc.stats.drops == (uint64_t)dropped);
	/* a frame with a callback still finds room (senders pause after it) */
	CHECK(net_send_buf(&a->nc, f, sizeof(f), sent_cb) == 0);
	b->blocked = false;
	CHECK(net_flush_queued(&b->nc));
	CHECK(b->got == queued + 1);
	/* oversized frames are dropped by the core */
	static uint8_t big[NET_BUFSIZE + 1];
	CHECK(net_send_buf(&a->nc, big, sizeof(big), NULL) == (ssize_t)sizeof(big));
	CHECK(b->got == queued + 1);
	net_client_free(&a->nc);
	net_client_free(&b->nc);
}

static void test_queue_wraps_large_frames(void)
{
	struct sink *a = sink_new("a", NULL), *b = sink_new("b", &a->nc);
	static uint8_t f[60000];
	uint8_t seq = 0;

	/* keep ~50 big frames queued while draining one per step: the ring wraps */
	b->budget = 0;
	for (int i = 0; i < 50; i++) {
		f[12] = seq++;
		CHECK(net_send_buf(&a->nc, f, sizeof(f) - (size_t)(i % 7) * 1000, sent_cb) == 0);
	}
	b->next_seq = 0;
	b->order_ok = 0;
	for (int i = 0; i < 400; i++) {
		f[12] = seq++;
		CHECK(net_send_buf(&a->nc, f, sizeof(f) - (size_t)(i % 5) * 3000, sent_cb) == 0);
		b->budget = 1;
		net_flush_queued(&b->nc);
	}
	CHECK(b->got == 400);
	CHECK(b->order_ok == 400);
	CHECK(net_queue_len(&b->nc) == 50);
	b->budget = -1;
	CHECK(net_flush_queued(&b->nc));
	CHECK(b->got == 450 && b->order_ok == 450);
	net_client_free(&a->nc);
	net_client_free(&b->nc);
}

static void test_hub_flood(void)
{
	struct hub *h = hub_get(7);
	struct sink *s[3];
	struct net_client *port[3];
	uint8_t f[60];
	int sent = 0;

	for (int i = 0; i < 3; i++) {
		char name[16];

		snprintf(name, sizeof(name), "s%d", i);
		s[i] = sink_new(name, NULL);
		port[i] = hub_add_port(h, NULL, &s[i]->nc, true);
	}
	frame(f, 9, 1, 0);
	CHECK(net_send_buf(&s[0]->nc, f, 60, sent_cb) == 60);
	CHECK(s[0]->got == 0 && s[1]->got == 1 && s[2]->got == 1);

	/* info network: hub first, newest port first */
	struct sbuf out = { 0 };
	net_info_network(&out);
	CHECK(strstr(sbuf_str(&out), "hub 7\n \\ hub7port2: s2: index=0,type=stream,\n"
				     " \\ hub7port1: s1: index=0,type=stream,\n"
				     " \\ hub7port0: s0: index=0,type=stream,\n") != NULL);
	sbuf_free(&out);

	/*
	 * A member that stops reading first holds the source back (its backlog is
	 * young: it may be a burst), then, once it has not drained for
	 * HUB_LIVE_MS, no longer stalls the others: its frames are dropped.
	 */
	s[2]->blocked = true;
	sent_calls = 0;
	while (sent < 3000 && net_send_buf(&s[0]->nc, f, 60, sent_cb) == 60)
		sent++;
	CHECK(sent >= 256 && sent < 3000);	/* paused at the high watermark */
	CHECK(s[2]->nc.stats.drops == 0);
	s[2]->nc.queued_since_ms -= 10000;	/* the backlog is old now, nothing drained */
	s[2]->nc.last_drain_ms = 0;
	net_flush_queued(port[0]);		/* what the hub's timer does */
	CHECK(sent_calls == 1);			/* the source may go on */
	for (int i = 0; i < 3000; i++)
		CHECK(net_send_buf(&s[0]->nc, f, 60, sent_cb) == 60);
	CHECK(s[1]->got == sent + 3002);
	CHECK(s[2]->nc.stats.drops > 0);
	CHECK(net_queue_len(&s[2]->nc) <= 1024);
	s[2]->blocked = false;
	net_flush_queued(&s[2]->nc);
	CHECK(s[2]->got > 1 && net_queue_len(&s[2]->nc) == 0);
	for (int i = 0; i < 3; i++)
		net_client_free(&s[i]->nc);
	hub_free_all();
	CHECK(net_first() == NULL);
}

static void test_hub_backpressure_live(void)
{
	struct hub *h = hub_get(1);
	struct sink *src = sink_new("src", NULL), *dst = sink_new("dst", NULL);
	uint8_t f[60];
	int paused = 0;

	hub_add_port(h, NULL, &src->nc, true);
	hub_add_port(h, NULL, &dst->nc, true);
	frame(f, 2, 1, 0);
	dst->blocked = true;
	dst->nc.last_drain_ms = loop_now_ms(); /* it drained just now: live */
	for (int i = 0; i < 600 && !paused; i++)
		if (net_send_buf(&src->nc, f, 60, sent_cb) == 0)
			paused = 1;
	CHECK(paused);
	CHECK(dst->nc.stats.drops == 0);
	sent_calls = 0;
	dst->blocked = false;
	net_flush_queued(&dst->nc); /* drains, resumes the source through the hub */
	CHECK(sent_calls == 1);
	CHECK(net_queue_len(&dst->nc) == 0);
	net_client_free(&src->nc);
	net_client_free(&dst->nc);
	hub_free_all();
}

static void test_switch_learns(void)
{
	struct hub *h = hub_get(3);
	struct sink *s[3];
	uint8_t f[60];

	CHECK(hub_set_mode(h, HUB_SWITCH, 300, NULL) == 0);
	CHECK(hub_set_mode(h, HUB_FLOOD, 300, NULL) < 0);
	for (int i = 0; i < 3; i++) {
		s[i] = sink_new(NULL, NULL);
		hub_add_port(h, NULL, &s[i]->nc, true);
	}
	/* unknown destination: flooded */
	frame(f, 2, 1, 0);
	net_send_buf(&s[0]->nc, f, 60, NULL);
	CHECK(s[1]->got == 1 && s[2]->got == 1);
	/* reply from s[1] to MAC 1: learned, goes to s[0] only */
	frame(f, 1, 2, 0);
	net_send_buf(&s[1]->nc, f, 60, NULL);
	CHECK(s[0]->got == 1 && s[2]->got == 1);
	/* now MAC 2 is known too */
	frame(f, 2, 1, 0);
	net_send_buf(&s[0]->nc, f, 60, NULL);
	CHECK(s[1]->got == 2 && s[2]->got == 1);
	/* broadcast floods */
	memset(f, 0xff, 6);
	net_send_buf(&s[0]->nc, f, 60, NULL);
	CHECK(s[1]->got == 3 && s[2]->got == 2);
	struct sbuf out = { 0 };
	hub_info_mac_table(&out);
	CHECK(strstr(sbuf_str(&out), "52:00:00:00:00:01 hub3port0") != NULL);
	CHECK(strstr(sbuf_str(&out), "52:00:00:00:00:02 hub3port1") != NULL);
	sbuf_free(&out);
	for (int i = 0; i < 3; i++)
		net_client_free(&s[i]->nc);
	hub_free_all();
}

static void test_names(void)
{
	struct sink *a = sink_new(NULL, NULL), *b = sink_new(NULL, NULL);

	CHECK_STR(a->nc.name, "sink.0");
	CHECK_STR(b->nc.name, "sink.1");
	CHECK(net_find("sink.1") == &b->nc);
	CHECK(net_find("nope") == NULL);
	net_cleanup_all();
	CHECK(net_first() == NULL);
}

int main(void)
{
	loop_init();
	RUN(test_direct_delivery);
	RUN(test_queue_bounded);
	RUN(test_queue_wraps_large_frames);
	RUN(test_hub_flood);
	RUN(test_hub_backpressure_live);
	RUN(test_switch_learns);
	RUN(test_names);
	loop_fini();
	TEST_DONE();
}
