// SPDX-License-Identifier: MIT
/* fuzz_udp.c - libFuzzer target: arbitrary bytes as the UDP part of a guest packet, real stack */
#include <arpa/inet.h>
#include <netinet/ip.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/netdev.h"
#include "cli/opts.h"
#include "core/loop.h"
#include "stack/csum.h"
#include "stack/stack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input: byte 0 picks the destination and TTL, the rest is the UDP header
 * and payload behind a fixed valid IPv4 header from 10.0.2.15. Every
 * destination leads to the host's loopback (gateway, DNS alias with a
 * resolver file naming 127.0.0.1, broadcast): nothing leaves the machine.
 */

struct sink {
	struct net_client nc;
	uint64_t frames;
};

static ssize_t sink_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
				const struct net_meta *meta)
{
	struct sink *k = (struct sink *)(void *)nc;
	size_t len = net_iov_size(iov, iovcnt);

	if (len < 14 || len > STACK_FRAME_MAX)
		abort();
	k->frames++;
	return (ssize_t)len;
}

static const struct net_client_ops sink_ops = {
	.driver = NET_DRIVER_STREAM,
	.size = sizeof(struct sink),
	.receive = sink_receive,
};

static struct user_stack *stack;
static struct sink *guest;
static uint8_t frame[2 + 14 + 65535] __attribute__((aligned(8)));

static char path[64];

static void fuzz_cleanup(void)
{
	unlink(path);
}

static void fuzz_setup(void)
{
	struct opts o = { 0 };
	struct error e = { 0 };
	char spec[128];
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/qnet-fuzz-udp-%d.conf", (int)getpid());
	f = fopen(path, "w");
	if (!f)
		abort();
	fputs("nameserver 127.0.0.1\n", f);
	fclose(f);
	atexit(fuzz_cleanup);
	loop_init();
	snprintf(spec, sizeof(spec), "resolv-conf=%s,hostfwd=udp:127.0.0.1:0-:7777", path);
	if (opts_parse(&o, spec, NULL, &e) < 0 || netdev_user.init(&o, "fz", NULL, &e) < 0) {
		fprintf(stderr, "fuzz_udp: %s\n", e.msg);
		abort();
	}
	opts_free(&o);
	stack = (struct user_stack *)(void *)net_find("fz");
	guest = (struct sink *)(void *)net_client_new(&sink_ops, &stack->nc, "sink", "guest");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const dsts[] = { "10.0.2.2", "10.0.2.3", "255.255.255.255",
					    "10.0.2.255" };
	static unsigned runs;
	uint8_t *f = frame + 2;
	struct iphdr ip = { 0 };
	struct in_addr dst;

	if (!stack)
		fuzz_setup();
	if (size < 1 || size - 1 > 65535 - 20)
		return 0;
	inet_aton(dsts[data[0] & 3], &dst);
	memcpy(f, "\x52\x55\x0a\x00\x02\x02\x52\x54\x00\x12\x34\x56\x08\x00", 14);
	ip.version = 4;
	ip.ihl = 5;
	ip.tot_len = htons((uint16_t)(20 + size - 1));
	ip.ttl = (data[0] & 4) ? 1 : 64;
	ip.protocol = IPPROTO_UDP;
	ip.saddr = htonl(0x0a00020f);
	ip.daddr = dst.s_addr;
	ip.check = csum_ip4_header(&ip, 20);
	memcpy(f + 14, &ip, 20);
	memcpy(f + 34, data + 1, size - 1);
	net_send_buf(&guest->nc, f, 34 + size - 1, NULL);
	/* replies and errors from the host side */
	loop_run_once(0);
	if (++runs % 256 == 0)
		udp_age(stack, UDP_EXPIRE_MS);
	return 0;
}
