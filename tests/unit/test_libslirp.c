// SPDX-License-Identifier: MIT
// test_libslirp.c - the libslirp API (include/libslirp.h only) driven as QEMU drives it: a host
// with SlirpCb callbacks, timers and a poll(2) loop; every function, the callbacks, error paths.
// Traffic: only 127.0.0.1 (hostfwd, the gateway's ping and NAT go to the host's loopback).

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libslirp.h>

#include "test.h"

/* ---- the host: callbacks, timers, frames received, a poll loop ---- */

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define HOST_TIMERS 4
#define HOST_FRAMES 64
#define HOST_FDS 64

struct host_timer {
	bool used, armed;
	int64_t expire_ms;
	SlirpTimerCb cb;	/* timer_new */
	void *cb_opaque;
	bool opaque_kind;	/* timer_new_opaque */
	SlirpTimerId id;
};

struct host {
	Slirp *slirp;
	struct host_timer timers[HOST_TIMERS];
	int timers_made, timers_freed, timer_mods, inits, notifies;
	int registered, unregistered;
	uint8_t frames[HOST_FRAMES][2048];
	size_t frame_len[HOST_FRAMES];
	int nframes;
	bool reenter;		/* send_packet calls slirp_input (must be dropped) */
	struct pollfd pfd[HOST_FDS];
	int npfd;
	uint8_t gfwd_data[256];
	size_t gfwd_len;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static ssize_t cb_send(const void *buf, size_t len, void *opaque)
{
	struct host *h = opaque;

	if (h->nframes < HOST_FRAMES && len <= sizeof(h->frames[0])) {
		memcpy(h->frames[h->nframes], buf, len);
		h->frame_len[h->nframes++] = len;
	}
	if (h->reenter)
		slirp_input(h->slirp, buf, (int)len);
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque) { }
static int64_t cb_clock(void *opaque) { return now_ns(); }

static struct host_timer *timer_slot(struct host *h)
{
	for (int i = 0; i < HOST_TIMERS; i++)
		if (!h->timers[i].used) {
			memset(&h->timers[i], 0, sizeof(h->timers[i]));
			h->timers[i].used = true;
			h->timers_made++;
			return &h->timers[i];
		}
	return NULL;
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct host_timer *t = timer_slot(opaque);

	if (t) {
		t->cb = cb;
		t->cb_opaque = cb_opaque;
	}
	return t;
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	struct host_timer *t = timer_slot(opaque);

	if (t) {
		t->opaque_kind = true;
		t->id = id;
		t->cb_opaque = cb_opaque;
	}
	return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct host *h = opaque;
	struct host_timer *t = timer;

	t->used = false;
	h->timers_freed++;
}

static void cb_timer_mod(void *timer, int64_t expire, void *opaque)
{
	struct host *h = opaque;
	struct host_timer *t = timer;

	t->armed = true;
	t->expire_ms = expire;
	h->timer_mods++;
}

static void cb_register(int fd, void *opaque) { ((struct host *)opaque)->registered++; }
static void cb_unregister(int fd, void *opaque) { ((struct host *)opaque)->unregistered++; }
static void cb_notify(void *opaque) { ((struct host *)opaque)->notifies++; }

static void cb_init_completed(Slirp *slirp, void *opaque)
{
	struct host *h = opaque;

	h->inits++;
	h->slirp = slirp;
}

static const SlirpCb host_cb_v4 = {
	.send_packet = cb_send,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register,
	.unregister_poll_fd = cb_unregister,
	.notify = cb_notify,
	.init_completed = cb_init_completed,
	.timer_new_opaque = cb_timer_new_opaque,
};

static const SlirpCb host_cb_old = {
	.send_packet = cb_send,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock,
	.timer_new = cb_timer_new,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register,
	.unregister_poll_fd = cb_unregister,
	.notify = cb_notify,
};

static int host_add_poll(int fd, int events, void *opaque)
{
	struct host *h = opaque;

	if (h->npfd == HOST_FDS)
		return -1;
	h->pfd[h->npfd].fd = fd;
	h->pfd[h->npfd].events = (short)((events & SLIRP_POLL_IN ? POLLIN : 0) |
					 (events & SLIRP_POLL_OUT ? POLLOUT : 0) |
					 (events & SLIRP_POLL_PRI ? POLLPRI : 0));
	h->pfd[h->npfd].revents = 0;
	return h->npfd++;
}

static int host_get_revents(int idx, void *opaque)
{
	struct host *h = opaque;
	short r = h->pfd[idx].revents;

	return (r & POLLIN ? SLIRP_POLL_IN : 0) | (r & POLLOUT ? SLIRP_POLL_OUT : 0) |
	       (r & POLLPRI ? SLIRP_POLL_PRI : 0) | (r & POLLERR ? SLIRP_POLL_ERR : 0) |
	       (r & POLLHUP ? SLIRP_POLL_HUP : 0);
}

/* host_run() - QEMU's main loop for @ms: fill, poll, poll results, due timers */
static void host_run(struct host *h, int ms)
{
	int64_t end = now_ns() / 1000000 + ms;

	for (int pass = 0; pass < 1000 && now_ns() / 1000000 < end; pass++) {
		uint32_t timeout = 20;

		h->npfd = 0;
		slirp_pollfds_fill(h->slirp, &timeout, host_add_poll, h);
		poll(h->pfd, (nfds_t)h->npfd, (int)MIN(timeout, 20u));
		slirp_pollfds_poll(h->slirp, 0, host_get_revents, h);
		for (int i = 0; i < HOST_TIMERS; i++) {
			struct host_timer *t = &h->timers[i];

			if (!t->used || !t->armed || t->expire_ms > now_ns() / 1000000)
				continue;
			t->armed = false;
			if (t->opaque_kind)
				slirp_handle_timer(h->slirp, t->id, t->cb_opaque);
			else
				t->cb(t->cb_opaque);
		}
	}
}

/* ---- frames from the guest ---- */

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t gw_mac[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };

static uint16_t csum(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }

static size_t eth_hdr(uint8_t *f, const uint8_t *dst, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, guest_mac, 6);
	put16(f + 12, type);
	return 14;
}

/* arp_request() - from @sip (the guest) asking for @tip */
static size_t arp_request(uint8_t *f, const char *sip, const char *tip)
{
	static const uint8_t bc[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	size_t n = eth_hdr(f, bc, 0x0806);
	struct in_addr a;

	put16(f + n, 1);
	put16(f + n + 2, 0x0800);
	f[n + 4] = 6;
	f[n + 5] = 4;
	put16(f + n + 6, 1);
	memcpy(f + n + 8, guest_mac, 6);
	inet_aton(sip, &a);
	memcpy(f + n + 14, &a, 4);
	memset(f + n + 18, 0, 6);
	inet_aton(tip, &a);
	memcpy(f + n + 24, &a, 4);
	return n + 28;
}

/* ip_frame() - Ethernet + IPv4 header (+ the L4 pseudo-header checksum for UDP/TCP) */
static size_t ip_frame(uint8_t *f, const char *src, const char *dst, uint8_t proto,
		       const uint8_t *l4, size_t l4len, int csum_off)
{
	static const uint8_t bc[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct in_addr s, d;
	uint8_t *ip;
	size_t n;
	uint32_t sum = 0;

	inet_aton(src, &s);
	inet_aton(dst, &d);
	n = eth_hdr(f, d.s_addr == INADDR_BROADCAST ? bc : gw_mac, 0x0800);
	ip = f + n;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + l4len));
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, &s, 4);
	memcpy(ip + 16, &d, 4);
	put16(ip + 10, csum(ip, 20, 0));
	memcpy(ip + 20, l4, l4len);
	if (csum_off >= 0) {
		for (int i = 12; i < 20; i += 2)
			sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
		sum += proto + (uint32_t)l4len;
		put16(ip + 20 + csum_off, 0);
		put16(ip + 20 + csum_off, csum(ip + 20, l4len, sum));
	}
	return n + 20 + l4len;
}

static size_t tcp_frame(uint8_t *f, const char *src, uint16_t sport, const char *dst,
			uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
			const void *data, size_t len)
{
	uint8_t t[20 + 256];

	memset(t, 0, 20);
	put16(t, sport);
	put16(t + 2, dport);
	put32(t + 4, seq);
	put32(t + 8, ack);
	t[12] = 5 << 4;
	t[13] = flags;
	put16(t + 14, 65535);
	if (len)
		memcpy(t + 20, data, len);
	return ip_frame(f, src, dst, 6, t, 20 + len, 16);
}

static void input(struct host *h, const uint8_t *f, size_t len)
{
	slirp_input(h->slirp, f, (int)len);
}

/* find_frame() - the index of the first frame from @from with Ethernet type @type and (for IPv4)
 * protocol @proto, or -1 */
static int find_frame(struct host *h, int from, uint16_t type, int proto)
{
	for (int i = from; i < h->nframes; i++) {
		if (h->frame_len[i] < 14 || get16(h->frames[i] + 12) != type)
			continue;
		if (proto < 0 || (h->frame_len[i] >= 34 && h->frames[i][23] == proto))
			return i;
	}
	return -1;
}

static SlirpConfig cfg_default(uint32_t version)
{
	SlirpConfig c = { .version = version, .in_enabled = true };

	inet_aton("10.0.2.0", &c.vnetwork);
	inet_aton("255.255.255.0", &c.vnetmask);
	inet_aton("10.0.2.2", &c.vhost);
	inet_aton("10.0.2.15", &c.vdhcp_start);
	inet_aton("10.0.2.3", &c.vnameserver);
	return c;
}

static Slirp *host_new(struct host *h, uint32_t version)
{
	SlirpConfig c = cfg_default(version);

	memset(h, 0, sizeof(*h));
	h->slirp = slirp_new(&c, version >= 4 ? &host_cb_v4 : &host_cb_old, h);
	return h->slirp;
}

static void host_free(struct host *h)
{
	slirp_cleanup(h->slirp);
	h->slirp = NULL;
}

/* ---- tests ---- */

static void test_versions(void)
{
	CHECK(strncmp(slirp_version_string(), "4.7.0", 5) == 0);
	CHECK(strstr(slirp_version_string(), "qnet") != NULL);
	CHECK(slirp_state_version() == 4);
	CHECK(SLIRP_CHECK_VERSION(4, 7, 0) && !SLIRP_CHECK_VERSION(4, 8, 0));
}

static void test_new_configs(void)
{
	struct host h;

	for (uint32_t v = 1; v <= 4; v++) {
		CHECK(host_new(&h, v) != NULL);
		CHECK(h.timers_made == 1);
		CHECK(h.inits == (v >= 4));
		CHECK(h.timers[0].opaque_kind == (v >= 4));
		host_free(&h);
		CHECK(h.timers_freed == 1);
		CHECK(h.registered == h.unregistered);
	}
}

static void test_new_errors(void)
{
	struct host h = { 0 };
	SlirpConfig c = cfg_default(4);
	SlirpCb nocb = host_cb_v4;

	c.version = 0;
	CHECK(slirp_new(&c, &host_cb_v4, &h) == NULL);
	c.version = 5;
	CHECK(slirp_new(&c, &host_cb_v4, &h) == NULL);
	c = cfg_default(4);
	CHECK(slirp_new(NULL, &host_cb_v4, &h) == NULL);
	CHECK(slirp_new(&c, NULL, &h) == NULL);
	nocb.timer_new_opaque = NULL;	/* no timer at all */
	CHECK(slirp_new(&c, &nocb, &h) == NULL);
	nocb = host_cb_v4;
	nocb.send_packet = NULL;
	CHECK(slirp_new(&c, &nocb, &h) == NULL);
	/* a version 3 config ignores the version-4 callbacks: timer_new is needed */
	c.version = 3;
	CHECK(slirp_new(&c, &host_cb_v4, &h) == NULL);
	/* refused features, never silently ignored */
	c = cfg_default(2);
	c.outbound_addr = &(struct sockaddr_in){ .sin_family = AF_INET };
	CHECK(slirp_new(&c, &host_cb_old, &h) == NULL);
	c = cfg_default(1);
	c.if_mtu = 20;
	CHECK(slirp_new(&c, &host_cb_old, &h) == NULL);
	/* the stack's own address rules */
	c = cfg_default(1);
	inet_aton("10.0.3.2", &c.vhost);
	CHECK(slirp_new(&c, &host_cb_old, &h) == NULL);
	c = cfg_default(1);
	c.vnameserver = c.vhost;
	CHECK(slirp_new(&c, &host_cb_old, &h) == NULL);
	c = cfg_default(1);
	c.in_enabled = false;
	CHECK(slirp_new(&c, &host_cb_old, &h) == NULL);
	CHECK(h.timers_made == h.timers_freed);
}

static void test_init_and_arp(void)
{
	struct host h = { 0 };
	struct in_addr net, mask, host, dhcp, dns;
	struct in6_addr z6 = IN6ADDR_ANY_INIT;
	const char *search[] = { "example.com", NULL };
	uint8_t f[128];
	char *info;
	int i;

	inet_aton("10.0.2.0", &net);
	inet_aton("255.255.255.0", &mask);
	inet_aton("10.0.2.2", &host);
	inet_aton("10.0.2.15", &dhcp);
	inet_aton("10.0.2.3", &dns);
	h.slirp = slirp_init(0, true, net, mask, host, false, z6, 64, z6, "vm", NULL, NULL, NULL,
			     dhcp, dns, z6, search, "example.com", &host_cb_old, &h);
	CHECK(h.slirp != NULL);
	if (!h.slirp)
		return;
	input(&h, f, arp_request(f, "10.0.2.15", "10.0.2.2"));
	i = find_frame(&h, 0, 0x0806, -1);
	CHECK(i >= 0);
	if (i >= 0) {
		CHECK(memcmp(h.frames[i], guest_mac, 6) == 0);
		CHECK(memcmp(h.frames[i] + 6, gw_mac, 6) == 0);
		CHECK(get16(h.frames[i] + 20) == 2);			/* reply */
		CHECK(memcmp(h.frames[i] + 22, gw_mac, 6) == 0);	/* sender MAC */
	}
	info = slirp_neighbor_info(h.slirp);
	CHECK(info && strstr(info, "52:54:00:12:34:56") && strstr(info, "10.0.2.15"));
	free(info);
	host_free(&h);
}

static void test_dhcp(void)
{
	struct host h;
	uint8_t b[300 + 8], f[400];
	int i;

	CHECK(host_new(&h, 4) != NULL);
	memset(b, 0, sizeof(b));
	put16(b, 68);
	put16(b + 2, 67);
	put16(b + 4, sizeof(b));
	b[8] = 1;		/* BOOTREQUEST */
	b[9] = 1;
	b[10] = 6;
	put32(b + 12, 0x12345678);
	memcpy(b + 8 + 28, guest_mac, 6);
	put32(b + 8 + 236, 0x63825363);
	b[8 + 240] = 53;
	b[8 + 241] = 1;
	b[8 + 242] = 1;		/* DISCOVER */
	b[8 + 243] = 255;
	input(&h, f, ip_frame(f, "0.0.0.0", "255.255.255.255", 17, b, sizeof(b), 6));
	i = find_frame(&h, 0, 0x0800, 17);
	CHECK(i >= 0);
	if (i >= 0) {
		const uint8_t *u = h.frames[i] + 34;

		CHECK(get16(u) == 67 && get16(u + 2) == 68);
		CHECK(get32(u + 8 + 4) == 0x12345678);
		CHECK(get32(u + 8 + 16) == 0x0a00020f);	/* yiaddr 10.0.2.15 */
	}
	host_free(&h);
}

/* dhcp_discover() - a DHCPDISCOVER frame from the guest into @f; its length */
static size_t dhcp_discover(uint8_t *f)
{
	uint8_t b[300 + 8];

	memset(b, 0, sizeof(b));
	put16(b, 68);
	put16(b + 2, 67);
	put16(b + 4, sizeof(b));
	b[8] = 1;
	b[9] = 1;
	b[10] = 6;
	put32(b + 12, 0x12345678);
	memcpy(b + 8 + 28, guest_mac, 6);
	put32(b + 8 + 236, 0x63825363);
	b[8 + 240] = 53;
	b[8 + 241] = 1;
	b[8 + 242] = 1;
	b[8 + 243] = 255;
	return ip_frame(f, "0.0.0.0", "255.255.255.255", 17, b, sizeof(b), 6);
}

/* udp_to_gateway() - a datagram to 10.0.2.2:@port reaches a socket on 127.0.0.1:@port? */
static bool udp_to_gateway(struct host *h)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	uint8_t u[8 + 4] = { 0x11, 0x5c, 0, 0, 0, 12, 0, 0, 'q', 'n', 'e', 't' }, f[128], got[16];
	bool ok = false;

	bind(fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(fd, (struct sockaddr *)&a, &len);
	memcpy(u + 2, &a.sin_port, 2);
	input(h, f, ip_frame(f, "10.0.2.15", "10.0.2.2", 17, u, sizeof(u), 6));
	for (int k = 0; k < 10 && !ok; k++) {
		host_run(h, 10);
		ok = recv(fd, got, sizeof(got), 0) == 4 && !memcmp(got, "qnet", 4);
	}
	close(fd);
	return ok;
}

/* disable_dhcp, disable_dns, disable_host_loopback */
static void test_disable(void)
{
	struct host h = { 0 };
	SlirpConfig c = cfg_default(4);
	uint8_t f[400];

	c.disable_dhcp = true;
	c.disable_dns = true;
	c.disable_host_loopback = true;
	h.slirp = slirp_new(&c, &host_cb_v4, &h);
	CHECK(h.slirp != NULL);
	if (!h.slirp)
		return;
	input(&h, f, dhcp_discover(f));
	host_run(&h, 20);
	CHECK(find_frame(&h, 0, 0x0800, 17) < 0);	/* no OFFER */
	input(&h, f, arp_request(f, "10.0.2.15", "10.0.2.2"));
	CHECK(!udp_to_gateway(&h));
	host_free(&h);
	/* the same instance without the flags: both work */
	CHECK(host_new(&h, 4) != NULL);
	input(&h, f, dhcp_discover(f));
	CHECK(find_frame(&h, 0, 0x0800, 17) >= 0);
	input(&h, f, arp_request(f, "10.0.2.15", "10.0.2.2"));
	CHECK(udp_to_gateway(&h));
	host_free(&h);
}

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	bind(fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(fd, (struct sockaddr *)&a, &len);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void test_hostfwd(void)
{
	struct host h;
	struct in_addr lo, any = { 0 }, g;
	struct sockaddr_in ha = { .sin_family = AF_INET }, ga = { .sin_family = AF_INET };
	struct sockaddr_in6 h6 = { .sin6_family = AF_INET6 };
	int port = free_port(), port2 = free_port(), fd, i;
	uint8_t f[128];
	char *info;

	inet_aton("127.0.0.1", &lo);
	inet_aton("10.0.2.15", &g);
	CHECK(host_new(&h, 4) != NULL);
	CHECK(slirp_add_hostfwd(h.slirp, 0, lo, port, g, 22) == 0);
	CHECK(slirp_add_hostfwd(h.slirp, 0, lo, port, g, 22) == -1);	/* port taken */
	CHECK(slirp_add_hostfwd(h.slirp, 0, lo, 70000, g, 22) == -1);
	CHECK(slirp_add_hostfwd(h.slirp, 0, lo, port2, g, 0) == -1);
	CHECK(slirp_add_hostfwd(h.slirp, 1, lo, port, any, 53) == 0);	/* udp: its own port space */
	info = slirp_connection_info(h.slirp);
	CHECK(info && strstr(info, "TCP[HOST_FORWARD]") && strstr(info, "UDP[HOST_FORWARD]"));
	free(info);
	CHECK(h.registered >= 2);

	/* a connection through the hostfwd: after ARP the guest sees a SYN to :22 */
	input(&h, f, arp_request(f, "10.0.2.15", "10.0.2.2"));
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ha.sin_addr = lo;
	ha.sin_port = htons((uint16_t)port);
	connect(fd, (struct sockaddr *)&ha, sizeof(ha));
	h.nframes = 0;
	for (int k = 0; k < 50 && find_frame(&h, 0, 0x0800, 6) < 0; k++)
		host_run(&h, 20);
	i = find_frame(&h, 0, 0x0800, 6);
	CHECK(i >= 0);
	if (i >= 0) {
		CHECK(get16(h.frames[i] + 34 + 2) == 22);
		CHECK((h.frames[i][34 + 13] & 0x12) == 0x02);		/* SYN */
		CHECK(memcmp(h.frames[i] + 30, &g, 4) == 0);
	}
	close(fd);

	CHECK(slirp_remove_hostfwd(h.slirp, 0, lo, port) == 0);
	CHECK(slirp_remove_hostfwd(h.slirp, 0, lo, port) == -1);
	CHECK(slirp_remove_hostfwd(h.slirp, 1, lo, port) == 0);
	CHECK(slirp_remove_hostfwd(h.slirp, 0, lo, -1) == -1);

	/* hostxfwd: IPv4 socket addresses; IPv6 guests are refused (no IPv6 yet) */
	ha.sin_port = htons((uint16_t)port2);
	ga.sin_addr = g;
	ga.sin_port = htons(80);
	CHECK(slirp_add_hostxfwd(h.slirp, (struct sockaddr *)&ha, sizeof(ha),
				 (struct sockaddr *)&ga, sizeof(ga), 0) == 0);
	CHECK(slirp_add_hostxfwd(h.slirp, (struct sockaddr *)&ha, sizeof(ha),
				 (struct sockaddr *)&h6, sizeof(h6), 0) == -1);
	CHECK(slirp_add_hostxfwd(h.slirp, (struct sockaddr *)&ha, 4,
				 (struct sockaddr *)&ga, sizeof(ga), 0) == -1);
	CHECK(slirp_remove_hostxfwd(h.slirp, (struct sockaddr *)&ha, sizeof(ha), 0) == 0);
	CHECK(slirp_remove_hostxfwd(h.slirp, (struct sockaddr *)&ha, sizeof(ha), 0) == -1);
	CHECK(slirp_remove_hostxfwd(h.slirp, (struct sockaddr *)&h6, sizeof(h6), 0) == -1);
	host_free(&h);
	CHECK(h.registered == h.unregistered);
}

static ssize_t gfwd_write(const void *buf, size_t len, void *opaque)
{
	struct host *h = opaque;
	size_t n = MIN(len, sizeof(h->gfwd_data) - h->gfwd_len);

	memcpy(h->gfwd_data + h->gfwd_len, buf, n);
	h->gfwd_len += n;
	return (ssize_t)len;
}

/* wait_tcp() - run until a TCP frame with @flags set arrives (from frame @from); its index or -1 */
static int wait_tcp(struct host *h, int from, uint8_t flags)
{
	for (int k = 0; k < 50; k++) {
		for (int i = from; i < h->nframes; i++)
			if (find_frame(h, i, 0x0800, 6) == i && (h->frames[i][34 + 13] & flags) == flags)
				return i;
		host_run(h, 20);
	}
	return -1;
}

static void test_guestfwd(void)
{
	struct host h;
	struct in_addr a = { 0 }, b = { 0 }, bad;
	uint8_t f[400];
	uint32_t seq = 1000, their;
	int i, from;

	CHECK(host_new(&h, 4) != NULL);
	/* exec and unix rules: the default address is written back, duplicates refused */
	CHECK(slirp_add_exec(h.slirp, "cat", &a, 4000) == 0);
	CHECK_STR(inet_ntoa(a), "10.0.2.4");
	CHECK(slirp_add_exec(h.slirp, "cat", &a, 4000) == -1);
	CHECK(slirp_add_exec(h.slirp, "cat", &a, 0) == -1);
	CHECK(slirp_add_unix(h.slirp, "relative.sock", &b, 4001) == -1);
	CHECK(slirp_add_unix(h.slirp, "/tmp/qnet-test-none.sock", &b, 4001) == 0);
	inet_aton("10.0.2.2", &bad);
	CHECK(slirp_add_exec(h.slirp, "cat", &bad, 4002) == -1);	/* the gateway */
	CHECK(slirp_remove_guestfwd(h.slirp, a, 4000) == 0);
	CHECK(slirp_remove_guestfwd(h.slirp, a, 4000) == -1);
	CHECK(slirp_remove_guestfwd(h.slirp, b, 4001) == 0);

	/* the application as the host end: write_cb gets the guest's bytes, socket_recv answers */
	a.s_addr = 0;
	CHECK(slirp_add_guestfwd(h.slirp, gfwd_write, &h, &a, 4005) == 0);
	CHECK(slirp_add_guestfwd(h.slirp, gfwd_write, &h, &a, 4005) == -1);
	CHECK(slirp_socket_can_recv(h.slirp, a, 4005) == 0);		/* no connection yet */
	input(&h, f, arp_request(f, "10.0.2.15", "10.0.2.4"));
	h.nframes = 0;
	input(&h, f, tcp_frame(f, "10.0.2.15", 33000, "10.0.2.4", 4005, seq, 0, 0x02, NULL, 0));
	i = wait_tcp(&h, 0, 0x12);
	CHECK(i >= 0);
	if (i < 0)
		goto out;
	CHECK(h.notifies > 0);	/* can_recv went above 0: the application's loop was kicked */
	their = get32(h.frames[i] + 34 + 4) + 1;
	seq++;
	input(&h, f, tcp_frame(f, "10.0.2.15", 33000, "10.0.2.4", 4005, seq, their, 0x10, NULL, 0));
	input(&h, f, tcp_frame(f, "10.0.2.15", 33000, "10.0.2.4", 4005, seq, their, 0x18, "hello", 5));
	for (int k = 0; k < 50 && h.gfwd_len < 5; k++)
		host_run(&h, 20);
	CHECK(h.gfwd_len == 5 && memcmp(h.gfwd_data, "hello", 5) == 0);
	CHECK(slirp_socket_can_recv(h.slirp, a, 4005) > 5);
	from = h.nframes;
	slirp_socket_recv(h.slirp, a, 4005, (const uint8_t *)"world", 5);
	i = wait_tcp(&h, from, 0x18);
	CHECK(i >= 0);
	if (i >= 0) {
		CHECK(get16(h.frames[i] + 16) == 20 + 20 + 5);
		CHECK(memcmp(h.frames[i] + 54, "world", 5) == 0);
	}
	slirp_socket_recv(h.slirp, a, 4006, (const uint8_t *)"x", 1);	/* no such rule */
	CHECK(slirp_socket_can_recv(h.slirp, a, 4006) == 0);
	CHECK(slirp_remove_guestfwd(h.slirp, a, 4005) == 0);
	CHECK(slirp_socket_can_recv(h.slirp, a, 4005) == 0);
	CHECK(h.timer_mods > 0);	/* TCP asked for its wake-up through timer_mod */
out:
	host_free(&h);
	CHECK(h.registered == h.unregistered);
}

/* the gateway's ping goes to the host's 127.0.0.1 through the poll loop */
static void test_ping_gateway(void)
{
	struct host h;
	uint8_t icmp[16] = { 8, 0, 0, 0, 0x12, 0x34, 0, 1, 'q', 'n', 'e', 't' }, f[128];
	int i;

	CHECK(host_new(&h, 4) != NULL);
	put16(icmp + 2, csum(icmp, sizeof(icmp), 0));
	input(&h, f, arp_request(f, "10.0.2.15", "10.0.2.2"));
	h.nframes = 0;
	input(&h, f, ip_frame(f, "10.0.2.15", "10.0.2.2", 1, icmp, sizeof(icmp), -1));
	for (int k = 0; k < 50 && find_frame(&h, 0, 0x0800, 1) < 0; k++)
		host_run(&h, 20);
	i = find_frame(&h, 0, 0x0800, 1);
	CHECK(i >= 0);
	if (i >= 0) {
		CHECK(h.frames[i][34] == 0);				/* echo reply */
		CHECK(memcmp(h.frames[i] + 34 + 8, "qnet", 4) == 0);
	}
	host_free(&h);
}

static ssize_t st_write(const void *buf, size_t len, void *opaque)
{
	struct host *h = opaque;

	memcpy(h->gfwd_data + h->gfwd_len, buf, MIN(len, sizeof(h->gfwd_data) - h->gfwd_len));
	h->gfwd_len += MIN(len, sizeof(h->gfwd_data) - h->gfwd_len);
	return (ssize_t)len;
}

static size_t st_pos;
static ssize_t st_read(void *buf, size_t len, void *opaque)
{
	struct host *h = opaque;
	size_t n = MIN(len, h->gfwd_len - st_pos);

	memcpy(buf, h->gfwd_data + st_pos, n);
	st_pos += n;
	return (ssize_t)n;
}

/* tftp_path / bootfile: a read request through slirp_input gets the file's first block */
static void test_tftp(void)
{
	char dir[] = "/tmp/qnet-slirp-tftp.XXXXXX", path[64];
	uint8_t u[64] = { 0x07, 0xd0, 0, 69, 0, 0, 0, 0, 0, 1 }, f[256];
	SlirpConfig c = cfg_default(4);
	struct host h;
	size_t n = 10;
	int i = -1;
	FILE *fp;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/boot.txt", dir);
	fp = fopen(path, "w");
	CHECK(fp != NULL);
	if (!fp)
		return;
	fputs("qnet tftp through libslirp", fp);
	fclose(fp);
	memset(&h, 0, sizeof(h));
	c.tftp_path = dir;
	c.bootfile = "boot.txt";
	h.slirp = slirp_new(&c, &host_cb_v4, &h);
	CHECK(h.slirp != NULL);
	if (!h.slirp)
		goto out;
	memcpy(u + n, "boot.txt\0octet\0", 15);
	n += 15;
	put16(u + 4, (uint16_t)n);	/* UDP length */
	input(&h, f, ip_frame(f, "10.0.2.15", "10.0.2.2", 17, u, n, 6));
	for (int k = 0; k < 20 && i < 0; k++) {
		host_run(&h, 10);
		i = find_frame(&h, 0, 0x0800, 17);
	}
	CHECK(i >= 0);
	/* DATA (3), block 1, the 26 bytes of the file, to the client's port 2000 */
	if (i >= 0) {
		const uint8_t *d = h.frames[i] + 14 + 20;

		CHECK(get16(d + 2) == 2000);
		CHECK(get16(d + 8) == 3 && get16(d + 10) == 1);
		CHECK(h.frame_len[i] >= 14 + 20 + 8 + 4 + 26 &&
		      !memcmp(d + 12, "qnet tftp through libslirp", 26));
	}
	host_free(&h);
out:
	unlink(path);
	rmdir(dir);
}

/* in6_enabled: a router solicitation through slirp_input is answered with an RA for the prefix */
static void test_ipv6(void)
{
	static const uint8_t allrouters[6] = { 0x33, 0x33, 0, 0, 0, 2 };
	SlirpConfig c = cfg_default(4);
	uint8_t f[128], *ip;
	struct host h;
	uint32_t sum = 0;
	int i = -1;
	size_t n;

	memset(&h, 0, sizeof(h));
	c.in6_enabled = true;
	inet_pton(AF_INET6, "fd00:1234::", &c.vprefix_addr6);
	c.vprefix_len = 64;
	inet_pton(AF_INET6, "fd00:1234::2", &c.vhost6);
	inet_pton(AF_INET6, "fd00:1234::3", &c.vnameserver6);
	h.slirp = slirp_new(&c, &host_cb_v4, &h);
	CHECK(h.slirp != NULL);
	if (!h.slirp)
		return;
	n = eth_hdr(f, allrouters, 0x86dd);
	ip = f + n;
	memset(ip, 0, 40 + 8);
	ip[0] = 0x60;
	put16(ip + 4, 8);
	ip[6] = 58;
	ip[7] = 255;
	inet_pton(AF_INET6, "fe80::5054:ff:fe12:3456", ip + 8);
	inet_pton(AF_INET6, "ff02::2", ip + 24);
	ip[40] = 133;	/* router solicitation */
	for (int k = 8; k < 40; k += 2)
		sum += (uint32_t)(ip[k] << 8 | ip[k + 1]);
	sum += 58 + 8;
	put16(ip + 42, csum(ip + 40, 8, sum));
	input(&h, f, n + 48);
	for (int k = 0; k < 20 && i < 0; k++) {
		host_run(&h, 10);
		i = find_frame(&h, 0, 0x86dd, -1);
	}
	CHECK(i >= 0);
	if (i >= 0) {
		const uint8_t *r = h.frames[i] + 14, *o;
		uint8_t want[16];
		bool found = false;

		CHECK(r[6] == 58 && r[40] == 134);	/* ICMPv6 router advertisement */
		inet_pton(AF_INET6, "fd00:1234::", want);
		/* walk the options for the prefix information (type 3) */
		for (o = r + 40 + 16; o + 8 <= h.frames[i] + h.frame_len[i] && o[1]; o += o[1] * 8)
			if (o[0] == 3 && o[2] == 64 && !memcmp(o + 16, want, 16))
				found = true;
		CHECK(found);
	}
	host_free(&h);
	/* a prefix length QEMU would never pass */
	c.vprefix_len = 0;
	CHECK(slirp_new(&c, &host_cb_v4, &h) == NULL);
}

static void test_state(void)
{
	struct host h;

	CHECK(host_new(&h, 4) != NULL);
	slirp_state_save(h.slirp, st_write, &h);
	CHECK(h.gfwd_len == 1);
	st_pos = 0;
	CHECK(slirp_state_load(h.slirp, slirp_state_version(), st_read, &h) == 0);
	st_pos = 0;
	CHECK(slirp_state_load(h.slirp, 3, st_read, &h) < 0);
	h.gfwd_data[0] = 0;	/* libslirp's own stream starts with 0 or 42 */
	st_pos = 0;
	CHECK(slirp_state_load(h.slirp, 4, st_read, &h) < 0);
	st_pos = 1;		/* nothing left to read */
	CHECK(slirp_state_load(h.slirp, 4, st_read, &h) < 0);
	host_free(&h);
}

/* bad input, re-entry from send_packet, timers with a bad id, two instances, NULLs */
static void test_robustness(void)
{
	struct host h1, h2;
	uint8_t f[128] = { 0 };
	char *info;

	CHECK(host_new(&h1, 4) != NULL);
	CHECK(host_new(&h2, 2) != NULL);
	slirp_input(h1.slirp, NULL, 60);
	slirp_input(h1.slirp, f, 0);
	slirp_input(h1.slirp, f, -5);
	slirp_input(h1.slirp, f, 13);
	slirp_input(h1.slirp, f, sizeof(f));
	CHECK(h1.nframes == 0);
	h1.reenter = true;	/* a guest answering from inside send_packet: dropped, no recursion */
	input(&h1, f, arp_request(f, "10.0.2.15", "10.0.2.2"));
	CHECK(h1.nframes == 1);
	h1.reenter = false;
	slirp_handle_timer(h1.slirp, SLIRP_TIMER_NUM, NULL);
	slirp_handle_timer(h1.slirp, SLIRP_TIMER_RA, h1.slirp);
	slirp_handle_timer(NULL, SLIRP_TIMER_RA, NULL);
	/* the second instance is independent: it learnt nothing */
	info = slirp_neighbor_info(h2.slirp);
	CHECK(info && !strstr(info, "52:54:00:12:34:56"));
	free(info);
	info = slirp_neighbor_info(h1.slirp);
	CHECK(info && strstr(info, "52:54:00:12:34:56"));
	free(info);
	slirp_pollfds_poll(h1.slirp, 1, host_get_revents, &h1);	/* poll() failed: nothing */
	CHECK(slirp_connection_info(NULL) == NULL);
	CHECK(slirp_add_hostfwd(NULL, 0, (struct in_addr){ 0 }, 1, (struct in_addr){ 0 }, 1) == -1);
	slirp_cleanup(NULL);
	host_free(&h2);
	host_free(&h1);
}

int main(void)
{
	RUN(test_versions);
	RUN(test_new_configs);
	RUN(test_new_errors);
	RUN(test_init_and_arp);
	RUN(test_dhcp);
	RUN(test_disable);
	RUN(test_hostfwd);
	RUN(test_guestfwd);
	RUN(test_ping_gateway);
	RUN(test_tftp);
	RUN(test_ipv6);
	RUN(test_state);
	RUN(test_robustness);
	TEST_DONE();
}
