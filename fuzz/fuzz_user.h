/* SPDX-License-Identifier: MIT */
/* fuzz_user.h - shared set-up of the user-stack fuzzers: a stack on a test host and a checking guest */
#ifndef QNET_FUZZ_USER_H
#define QNET_FUZZ_USER_H

#include <arpa/inet.h>
#include <netinet/ip.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stack/csum.h"
#include "stack/stack.h"
#include "../tests/unit/sink.h"

/*
 * Each fuzzer that includes this builds one user stack ("fz") through the
 * library API on the unit tests' host (tests/unit/sink.h: fake clock, its
 * own epoll). Frames from the "guest" go in through stack_input() (fu_input)
 * or straight into the input functions. Every frame the stack sends back is checked (length bounds, a
 * valid IPv4 header checksum, tot_len inside the frame, L4 checksums of
 * unfragmented UDP/TCP/ICMP): a violation aborts, so the fuzzer finds wrong
 * output, not only crashes. fu_check_hook, when set, checks more.
 *
 * Network safety: the resolver file names 127.0.0.1, and fu_safe_dst()
 * rewrites every destination to the gateway, the DNS alias or a broadcast,
 * which the stack maps to the host's loopback: nothing leaves the machine.
 */

struct fu_guest {
	uint64_t frames;
};

static struct user_stack *fu_s;
static struct fu_guest fu_guest, *fu_g = &fu_guest;
static struct sink *fu_k;
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

/* fu_receive() - the sink's hook: every frame the stack sends to the guest */
static void fu_receive(struct sink *k, const uint8_t *frame, size_t len)
{
	struct fu_guest *g = fu_g;

	if (len < 60 || len > STACK_FRAME_MAX)
		fu_fail("length");
	memcpy(fu_out, frame, len);
	if (fu_out[12] == 0x86 && fu_out[13] == 0xdd) {
		/* IPv6: source MAC 52:56 + the source address's last 4 bytes, checksummed ICMPv6 */
		const uint8_t *ip = fu_out + 14;
		size_t plen = (size_t)(ip[4] << 8 | ip[5]);
		struct in6_addr s6, d6;

		if (len < 54 || ip[0] >> 4 != 6 || 54 + plen > len || 40 + plen > fu_s->cfg.mtu)
			fu_fail("IPv6 header");
		if (fu_out[6] != 0x52 || fu_out[7] != 0x56 || memcmp(fu_out + 8, ip + 20, 4))
			fu_fail("IPv6 source MAC");
		memcpy(&s6, ip + 8, 16);
		memcpy(&d6, ip + 24, 16);
		if ((ip[6] == IPPROTO_ICMPV6 || ip[6] == IPPROTO_UDP) &&
		    csum_fold(csum_partial(ip + 40, plen, csum_pseudo6(&s6, &d6, ip[6],
								       (uint32_t)plen))) != 0)
			fu_fail("ICMPv6 or UDP checksum");
		if (ip[6] == IPPROTO_UDP && (plen < 8 || (size_t)(ip[44] << 8 | ip[45]) != plen))
			fu_fail("UDP length");
		if (fu_check_hook)
			fu_check_hook(fu_out, len);
		g->frames++;
		return;
	}
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
}

static void fu_cleanup(void)
{
	unlink(fu_resolv);
}

/* fu_setup() - the stack with "resolv-conf=FILE" + @extra (may be "") */
static void fu_setup(const char *extra)
{
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
	snprintf(spec, sizeof(spec), "resolv-conf=%s%s%s", fu_resolv, *extra ? "," : "", extra);
	fu_k = sink_new("fz", spec, &e);
	if (!fu_k) {
		fprintf(stderr, "fuzz: %s\n", e.msg);
		abort();
	}
	fu_k->on_frame = fu_receive;
	fu_s = fu_k->s;
	inet_aton("10.0.2.15", &ga);
	arp_learn(fu_s, ga, mac);
}

/* fu_input() - one frame from the guest into the stack */
static void fu_input(const uint8_t *f, size_t len)
{
	sink_input(fu_k, f, len);
}

/* fu_poll() - socket events that are ready, deferred work, due timers */
static void fu_poll(void)
{
	sink_poll(fu_k, 0);
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

	fu_poll();
	fu_k->nq = 0;
	fu_k->n = 0;
	fu_s->guest_busy = false;
	if (tcp_count(fu_s)) {	/* (tcp_init allocates the whole table: only when needed) */
		tcp_fini(fu_s);
		tcp_init(fu_s);
	}
	if (++runs % 64 == 0)	/* flows expire: the fake clock moves past their lifetime */
		sink_advance(fu_k, MAX(UDP_EXPIRE_MS, ICMP_EXPIRE_MS));
}

#endif /* QNET_FUZZ_USER_H */
