// SPDX-License-Identifier: MIT
/* fuzz_tcp.c - libFuzzer target: guest TCP segments into tcp4_input() of a real user stack */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/netdev.h"
#include "cli/opts.h"
#include "core/loop.h"
#include "core/net.h"
#include "stack/csum.h"
#include "stack/stack.h"

/*
 * Input: a sequence of records [ctl][len][len bytes of TCP header + payload]. The IP header
 * is fixed (10.0.2.15 -> 10.0.2.2, i.e. the host's loopback; nothing else is reachable).
 * ctl bits:
 *   0x01  fix the checksum (otherwise the segment goes in as is, usually dropped)
 *   0x02  set the destination port to a local listener (so connects succeed)
 *   0x04  set the ACK field to the last sequence the stack sent + its length + ack's low byte
 *   0x08  run the loop once first (connects complete, timers, deferred ACKs)
 *   0x10  accept on the listener and write 300 bytes on the newest accepted socket
 *   0x20  close the newest accepted socket (EOF towards the guest) or reset it (with 0x40)
 *   0x80  make the path to the guest busy / not busy (toggle)
 * After the input, every connection is torn down (tcp_fini + tcp_init).
 */

struct fz_guest {
	struct net_client nc;
	bool busy;
};

static struct user_stack *fz_s;
static struct fz_guest *fz_g;
static int fz_lfd = -1;
static uint16_t fz_port;
static uint32_t fz_last_seq;
static int fz_acc[64];
static int fz_nacc;

static ssize_t fz_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
				const struct net_meta *meta)
{
	struct fz_guest *g = (struct fz_guest *)(void *)nc;
	uint8_t f[128];
	size_t n, tot;

	if (g->busy)
		return 0;
	n = net_iov_copy(f, sizeof(f), iov, iovcnt);
	if (n >= 14 + 20 + 20 && f[12] == 8 && f[13] == 0 && f[14 + 9] == IPPROTO_TCP) {
		const uint8_t *th = f + 14 + (f[14] & 15) * 4;

		if (th + 20 <= f + n) {
			tot = (size_t)(f[16] << 8 | f[17]);
			fz_last_seq = (uint32_t)th[4] << 24 | (uint32_t)th[5] << 16 |
				      (uint32_t)th[6] << 8 | th[7];
			if (tot > (size_t)(f[14] & 15) * 4 + (size_t)(th[12] >> 4) * 4)
				fz_last_seq += (uint32_t)(tot - (size_t)(f[14] & 15) * 4 -
							  (size_t)(th[12] >> 4) * 4);
			fz_last_seq += !!(th[13] & 0x03);	/* SYN or FIN */
		}
	}
	return (ssize_t)net_iov_size(iov, iovcnt);
}

static const struct net_client_ops fz_ops = {
	.driver = NET_DRIVER_STREAM,
	.size = sizeof(struct fz_guest),
	.receive = fz_receive,
};

static void fz_setup(void)
{
	struct opts o = { 0 };
	struct error e = { 0 };
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	uint8_t mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
	struct in_addr ga;

	loop_init();
	fz_g = (struct fz_guest *)(void *)net_client_new(&fz_ops, NULL, "guest", "fzg");
	if (opts_parse(&o, "user,id=fz", "type", &e) < 0 || netdev_user.init(&o, "fz", &fz_g->nc, &e) < 0)
		abort();
	opts_free(&o);
	fz_s = (struct user_stack *)(void *)net_find("fz");
	inet_aton("10.0.2.15", &ga);
	arp_learn(fz_s, ga, mac);
	fz_lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fz_lfd < 0 || bind(fz_lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fz_lfd, 64) < 0 || getsockname(fz_lfd, (struct sockaddr *)&a, &l) < 0)
		abort();
	fz_port = ntohs(a.sin_port);
}

static void fz_host_actions(uint8_t ctl)
{
	static const uint8_t junk[300] = { 'x' };

	if (ctl & 0x10) {
		while (fz_nacc < (int)(sizeof(fz_acc) / sizeof(fz_acc[0]))) {
			int fd = accept4(fz_lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

			if (fd < 0)
				break;
			fz_acc[fz_nacc++] = fd;
		}
		if (fz_nacc)
			(void)!send(fz_acc[fz_nacc - 1], junk, sizeof(junk), MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	if ((ctl & 0x20) && fz_nacc) {
		if (ctl & 0x40) {
			struct linger lg = { 1, 0 };

			setsockopt(fz_acc[fz_nacc - 1], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		close(fz_acc[--fz_nacc]);
	}
	if (ctl & 0x80) {
		fz_g->busy = !fz_g->busy;
		if (!fz_g->busy)
			net_flush_queued(&fz_g->nc);
	}
}

static void fz_segment(uint8_t ctl, const uint8_t *data, size_t len)
{
	static uint8_t pkt[20 + 256] __attribute__((aligned(4)));
	struct iphdr *ip = (struct iphdr *)(void *)pkt;
	uint8_t *th = pkt + 20;
	struct in_addr src, dst;

	memset(pkt, 0, 20);
	memcpy(th, data, len);
	inet_aton("10.0.2.15", &src);
	inet_aton("10.0.2.2", &dst);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons((uint16_t)(20 + len));
	ip->ttl = 64;
	ip->protocol = IPPROTO_TCP;
	ip->saddr = src.s_addr;
	ip->daddr = dst.s_addr;
	ip->check = csum_ip4_header(ip, 20);
	if (len >= 20) {
		if (ctl & 0x02) {
			th[2] = (uint8_t)(fz_port >> 8);
			th[3] = (uint8_t)fz_port;
		}
		if (ctl & 0x04) {
			uint32_t ack = fz_last_seq + (uint32_t)(int8_t)th[11];

			th[8] = (uint8_t)(ack >> 24);
			th[9] = (uint8_t)(ack >> 16);
			th[10] = (uint8_t)(ack >> 8);
			th[11] = (uint8_t)ack;
		}
		if (ctl & 0x01) {
			uint16_t sum;

			th[16] = th[17] = 0;
			sum = csum_fold(csum_partial(th, len, csum_pseudo4(src, dst, IPPROTO_TCP,
									   (uint16_t)len)));
			memcpy(th + 16, &sum, 2);
		}
	}
	tcp4_input(fz_s, ip, th, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	if (!fz_s)
		fz_setup();
	fz_g->busy = false;
	fz_s->guest_busy = false;
	fz_last_seq = 0;
	for (int n = 0; off + 2 <= size && n < 64; n++) {
		uint8_t ctl = data[off], len = data[off + 1];
		size_t l = MIN((size_t)len, size - off - 2);

		if (ctl & 0x08)
			loop_run_once(0);
		fz_host_actions(ctl);
		fz_segment(ctl, data + off + 2, l);
		off += 2 + l;
	}
	loop_run_once(0);
	/* tear everything down for the next input */
	while (fz_nacc)
		close(fz_acc[--fz_nacc]);
	fz_g->busy = false;
	net_purge_from(&fz_g->nc, &fz_s->nc);
	fz_s->guest_busy = false;
	tcp_fini(fz_s);
	tcp_init(fz_s);
	for (int fd; (fd = accept4(fz_lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0;)
		close(fd);
	return 0;
}
