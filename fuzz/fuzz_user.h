/* SPDX-License-Identifier: MIT */
/* fuzz_user.h - shared set-up of the user-stack fuzzers: a real user netdev and a checking guest */
#ifndef QNET_FUZZ_USER_H
#define QNET_FUZZ_USER_H

#include <arpa/inet.h>
#include <netinet/ip.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/netdev.h"
#include "cli/opts.h"
#include "core/loop.h"
#include "core/net.h"
#include "stack/csum.h"
#include "stack/stack.h"

/*
 * Each fuzzer that includes this builds one user stack ("fz") whose peer is
 * a guest-side sink ("fzg"). Frames from the "guest" go in through the sink
 * (net_send: the stack's real receive op) or straight into the input
 * functions. Every frame the stack sends back is checked (length bounds, a
 * valid IPv4 header checksum, tot_len inside the frame, L4 checksums of
 * unfragmented UDP/TCP/ICMP): a violation aborts, so the fuzzer finds wrong
 * output, not only crashes. fu_check_hook, when set, checks more.
 *
 * Network safety: the resolver file names 127.0.0.1, and fu_safe_dst()
 * rewrites every destination to the gateway, the DNS alias or a broadcast,
 * which the stack maps to the host's loopback: nothing leaves the machine.
 */

struct fu_guest {
	struct net_client nc;
	uint64_t frames;
};

static struct user_stack *fu_s;
static struct fu_guest *fu_g;
static char fu_resolv[64];
static void (*fu_check_hook)(const uint8_t *f, size_t len);
static uint8_t fu_out[STACK_FRAME_MAX] __attribute__((aligned(8)));

static void fu_fail(const char *what)
{
	fprintf(stderr, "fuzz: bad frame towards the guest: %s\n", what);
	abort();
}

/* fu_l4_ok() - the L4 checksum of a complete (unfragmented) IPv4 packet */
static int fu_l4_ok(const uint8_t *ip, size_t hl, size_t tot)
{
	struct in_addr src, dst;
	const uint8_t *l4 = ip + hl;
	size_t len = tot - hl;

	memcpy(&src, ip + 12, 4);
	memcpy(&dst, ip + 16, 4);
	switch (ip[9]) {
	case IPPROTO_UDP:
		if (len < 8 || (size_t)(l4[4] << 8 | l4[5]) != len)
			return 0;
		if (!l4[6] && !l4[7])
			return 1;
		/* fall through */
	case IPPROTO_TCP:
		if (ip[9] == IPPROTO_TCP && len < 20)
			return 0;
		return csum_fold(csum_partial(l4, len, csum_pseudo4(src, dst, ip[9],
								     (uint16_t)len))) == 0;
	case IPPROTO_ICMP:
		return len >= 8 && csum_fold(csum_partial(l4, len, 0)) == 0;
	}
	return 1;
}

static ssize_t fu_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
				const struct net_meta *meta)
{
	struct fu_guest *g = (struct fu_guest *)(void *)nc;
	size_t len = net_iov_copy(fu_out, sizeof(fu_out), iov, iovcnt);

	if (len != net_iov_size(iov, iovcnt) || len < 60 || len > STACK_FRAME_MAX)
		fu_fail("length");
	if (memcmp(fu_out + 6, fu_s->gw_mac, 6))
		fu_fail("source MAC is not the gateway's");
	if (fu_out[12] == 0x08 && fu_out[13] == 0x00) {
		const uint8_t *ip = fu_out + 14;
		size_t hl = (size_t)(ip[0] & 15) * 4, tot = (size_t)(ip[2] << 8 | ip[3]);
		uint16_t fo = (uint16_t)(ip[6] << 8 | ip[7]);

		if (ip[0] >> 4 != 4 || hl < 20 || tot < hl || 14 + tot > len)
			fu_fail("IPv4 header");
		if (csum_ip4_header(ip, hl) != 0)
			fu_fail("IPv4 header checksum");
		if (tot > fu_s->cfg.mtu)
			fu_fail("bigger than the MTU");
		if (!(fo & 0x3fff) && !fu_l4_ok(ip, hl, tot))
			fu_fail("L4 length or checksum");
	} else if (fu_out[12] == 0x08 && fu_out[13] == 0x06) {
		if (fu_out[14] != 0 || fu_out[15] != 1 || fu_out[18] != 6 || fu_out[19] != 4)
			fu_fail("ARP header");
	} else {
		fu_fail("ethertype");
	}
	if (fu_check_hook)
		fu_check_hook(fu_out, len);
	g->frames++;
	return (ssize_t)len;
}

static const struct net_client_ops fu_ops = {
	.driver = NET_DRIVER_STREAM,
	.size = sizeof(struct fu_guest),
	.receive = fu_receive,
};

static void fu_cleanup(void)
{
	unlink(fu_resolv);
}

/* fu_setup() - the stack with "user,id=fz,resolv-conf=FILE" + @extra (may be "") */
static void fu_setup(const char *extra)
{
	struct opts o = { 0 };
	struct error e = { 0 };
	char spec[256];
	uint8_t mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
	struct in_addr ga;
	FILE *f;

	snprintf(fu_resolv, sizeof(fu_resolv), "/tmp/qnet-fuzz-%d.conf", (int)getpid());
	f = fopen(fu_resolv, "w");
	if (!f)
		abort();
	fputs("nameserver 127.0.0.1\n", f);
	fclose(f);
	atexit(fu_cleanup);
	loop_init();
	fu_g = (struct fu_guest *)(void *)net_client_new(&fu_ops, NULL, "guest", "fzg");
	snprintf(spec, sizeof(spec), "resolv-conf=%s%s%s", fu_resolv, *extra ? "," : "", extra);
	if (opts_parse(&o, spec, NULL, &e) < 0 || netdev_user.init(&o, "fz", &fu_g->nc, &e) < 0) {
		fprintf(stderr, "fuzz: %s\n", e.msg);
		abort();
	}
	opts_free(&o);
	fu_s = (struct user_stack *)(void *)net_find("fz");
	inet_aton("10.0.2.15", &ga);
	arp_learn(fu_s, ga, mac);
}

/* fu_safe_dst() - a destination that stays on this machine, picked by @sel */
static uint32_t fu_safe_dst(uint8_t sel)
{
	static const uint32_t d[] = { 0x0a000202, 0x0a000203, 0xffffffff, 0x0a0002ff };

	return htonl(d[sel & 3]);
}

/* fu_fix_ip() - rewrite the destination of the IPv4 header at @ip (safe), optionally fix csums */
static void fu_fix_ip(uint8_t *ip, size_t avail, uint8_t sel, int fix_ip, int fix_l4)
{
	size_t hl, tot;
	uint32_t d = fu_safe_dst(sel);
	uint16_t sum;

	if (avail < 20)
		return;
	memcpy(ip + 16, &d, 4);
	hl = (size_t)(ip[0] & 15) * 4;
	tot = (size_t)(ip[2] << 8 | ip[3]);
	if (fix_ip && hl >= 20 && hl <= avail) {
		ip[10] = ip[11] = 0;
		sum = csum_ip4_header(ip, hl);
		memcpy(ip + 10, &sum, 2);
	}
	if (fix_l4 && hl >= 20 && tot >= hl && tot <= avail && !((ip[6] << 8 | ip[7]) & 0x3fff)) {
		struct in_addr src, dst;
		uint8_t *l4 = ip + hl;
		size_t len = tot - hl;
		size_t at = ip[9] == IPPROTO_TCP ? 16 : ip[9] == IPPROTO_UDP ? 6 : 2;

		if (len < at + 2 || (ip[9] != IPPROTO_TCP && ip[9] != IPPROTO_UDP &&
				     ip[9] != IPPROTO_ICMP))
			return;
		memcpy(&src, ip + 12, 4);
		memcpy(&dst, ip + 16, 4);
		l4[at] = l4[at + 1] = 0;
		sum = csum_fold(csum_partial(l4, len, ip[9] == IPPROTO_ICMP ? 0 :
					     csum_pseudo4(src, dst, ip[9], (uint16_t)len)));
		memcpy(l4 + at, &sum, 2);
	}
}

/* fu_reset() - forget the flows of one input (keeps leases and ARP: bounded tables) */
static void fu_reset(void)
{
	static unsigned runs;

	loop_run_once(0);
	net_purge_from(&fu_g->nc, &fu_s->nc);
	fu_s->guest_busy = false;
	if (tcp_count(fu_s)) {	/* (tcp_init allocates the whole table: only when needed) */
		tcp_fini(fu_s);
		tcp_init(fu_s);
	}
	if (++runs % 64 == 0) {
		udp_age(fu_s, UDP_EXPIRE_MS);
		icmp_age(fu_s, ICMP_EXPIRE_MS);
	}
}

#endif /* QNET_FUZZ_USER_H */
