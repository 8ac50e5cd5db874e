// SPDX-License-Identifier: MIT
/* fuzz_libslirp.c - libFuzzer target: frames into slirp_input(), through include/libslirp.h only */

/*
 * The library as an application sees it: one Slirp per input (slirp_new ... slirp_cleanup), with a
 * slirp_add_guestfwd() rule (10.0.2.4:4005, the application as the host end) and a hostfwd.
 * Input: records [ctl][len hi][len lo][len bytes: an Ethernet frame], at most 32. IPv4
 * destinations are rewritten (ctl bits 0-1) to addresses that stay on this machine: the gateway
 * (-> 127.0.0.1), the guestfwd address, the guest itself, the subnet broadcast; never the DNS
 * alias (it forwards to /etc/resolv.conf's servers). ctl bits:
 *   0x04  recompute the IPv4 header checksum     0x08  recompute the L4 checksum
 *   0x10  answer the guestfwd with slirp_socket_recv()
 *   0x20  run the application's poll loop once (poll(2) with no wait, due timers)
 * Every frame the stack sends is checked: at least an Ethernet header, at most MTU + 14 bytes.
 */

#include <arpa/inet.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libslirp.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_FDS 128

static struct {
	Slirp *slirp;
	void *timer;
	int64_t expire;
	bool armed;
	struct pollfd pfd[FZ_FDS];
	int npfd;
} fz;

static ssize_t fz_send(const void *buf, size_t len, void *opaque)
{
	if (len < 14 || len > 1500 + 14)
		abort();
	return (ssize_t)len;
}

static void fz_guest_error(const char *msg, void *opaque) { }

static int64_t fz_clock(void *opaque)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *fz_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	fz.armed = false;
	return &fz.timer;
}

static void fz_timer_free(void *t, void *opaque) { fz.armed = false; }

static void fz_timer_mod(void *t, int64_t expire, void *opaque)
{
	fz.armed = true;
	fz.expire = expire;
}

static void fz_init_completed(Slirp *slirp, void *opaque) { fz.slirp = slirp; }

static const SlirpCb fz_cb = {
	.send_packet = fz_send,
	.guest_error = fz_guest_error,
	.clock_get_ns = fz_clock,
	.timer_free = fz_timer_free,
	.timer_mod = fz_timer_mod,
	.init_completed = fz_init_completed,
	.timer_new_opaque = fz_timer_new_opaque,
};

static ssize_t fz_gfwd_write(const void *buf, size_t len, void *opaque) { return (ssize_t)len; }

static int fz_add_poll(int fd, int events, void *opaque)
{
	if (fz.npfd == FZ_FDS)
		return -1;
	fz.pfd[fz.npfd].fd = fd;
	fz.pfd[fz.npfd].events = (short)((events & SLIRP_POLL_IN ? POLLIN : 0) |
					 (events & SLIRP_POLL_OUT ? POLLOUT : 0));
	fz.pfd[fz.npfd].revents = 0;
	return fz.npfd++;
}

static int fz_get_revents(int idx, void *opaque)
{
	short r = fz.pfd[idx].revents;

	return (r & POLLIN ? SLIRP_POLL_IN : 0) | (r & POLLOUT ? SLIRP_POLL_OUT : 0) |
	       (r & POLLERR ? SLIRP_POLL_ERR : 0) | (r & POLLHUP ? SLIRP_POLL_HUP : 0);
}

static void fz_poll(void)
{
	uint32_t timeout = 0;

	fz.npfd = 0;
	slirp_pollfds_fill(fz.slirp, &timeout, fz_add_poll, NULL);
	poll(fz.pfd, (nfds_t)fz.npfd, 0);
	slirp_pollfds_poll(fz.slirp, 0, fz_get_revents, NULL);
	if (fz.armed && fz.expire <= fz_clock(NULL) / 1000000) {
		fz.armed = false;
		slirp_handle_timer(fz.slirp, SLIRP_TIMER_RA, fz.slirp);
	}
}

static uint16_t fz_csum(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* fz_fix_ip() - a safe destination for the IPv4 header at @ip, checksums on request */
static void fz_fix_ip(uint8_t *ip, size_t avail, uint8_t ctl)
{
	static const uint8_t dst[4][4] = {
		{ 10, 0, 2, 2 }, { 10, 0, 2, 4 }, { 10, 0, 2, 15 }, { 10, 0, 2, 255 },
	};
	size_t hl = (size_t)(ip[0] & 15) * 4, tot = (size_t)(ip[2] << 8 | ip[3]);
	uint16_t s;

	memcpy(ip + 16, dst[ctl & 3], 4);
	if ((ctl & 0x04) && hl >= 20 && hl <= avail) {
		ip[10] = ip[11] = 0;
		s = fz_csum(ip, hl, 0);
		ip[10] = (uint8_t)(s >> 8);
		ip[11] = (uint8_t)s;
	}
	if ((ctl & 0x08) && hl >= 20 && tot >= hl && tot <= avail &&
	    !((ip[6] << 8 | ip[7]) & 0x3fff)) {
		uint8_t *l4 = ip + hl;
		size_t len = tot - hl, at = ip[9] == 6 ? 16 : ip[9] == 17 ? 6 : 2;
		uint32_t sum = 0;

		if (len < at + 2 || (ip[9] != 6 && ip[9] != 17 && ip[9] != 1))
			return;
		if (ip[9] != 1) {
			for (int i = 12; i < 20; i += 2)
				sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
			sum += ip[9] + (uint32_t)len;
		}
		l4[at] = l4[at + 1] = 0;
		s = fz_csum(l4, len, sum);
		l4[at] = (uint8_t)(s >> 8);
		l4[at + 1] = (uint8_t)s;
	}
}

static uint8_t buf[65536 + 4096] __attribute__((aligned(8)));

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	SlirpConfig c = { .version = 4, .in_enabled = true };
	struct in_addr gf = { 0 }, lo = { htonl(INADDR_LOOPBACK) }, any = { 0 };
	size_t off = 0;

	inet_aton("10.0.2.0", &c.vnetwork);
	inet_aton("255.255.255.0", &c.vnetmask);
	inet_aton("10.0.2.2", &c.vhost);
	inet_aton("10.0.2.15", &c.vdhcp_start);
	inet_aton("10.0.2.3", &c.vnameserver);
	if (!slirp_new(&c, &fz_cb, NULL))
		abort();
	if (slirp_add_guestfwd(fz.slirp, fz_gfwd_write, NULL, &gf, 4005) < 0)
		abort();
	slirp_add_hostfwd(fz.slirp, 0, lo, 0, any, 80);
	for (int n = 0; off + 3 <= size && n < 32; n++) {
		uint8_t ctl = data[off];
		size_t len = (size_t)(data[off + 1] << 8 | data[off + 2]);

		off += 3;
		len = len < size - off ? len : size - off;
		memcpy(buf, data + off, len);
		off += len;
		if (len >= 14 + 20 && buf[12] == 0x08 && buf[13] == 0x00)
			fz_fix_ip(buf + 14, len - 14, ctl);
		slirp_input(fz.slirp, buf, (int)len);
		if (ctl & 0x10) {
			if (slirp_socket_can_recv(fz.slirp, gf, 4005) >= 4)
				slirp_socket_recv(fz.slirp, gf, 4005, (const uint8_t *)"fuzz", 4);
		}
		if (ctl & 0x20)
			fz_poll();
	}
	fz_poll();
	free(slirp_connection_info(fz.slirp));
	free(slirp_neighbor_info(fz.slirp));
	slirp_cleanup(fz.slirp);
	fz.slirp = NULL;
	return 0;
}
