// SPDX-License-Identifier: MIT
/* fuzz_vxlan.c - libFuzzer target: VXLAN decapsulation and endpoint learning of -netdev vxlan */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backends/vxlan.h"
#include "cli/netdev.h"
#include "cli/opts.h"
#include "core/loop.h"
#include "core/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the guest side: checks what it gets */
static size_t expect_len;
static int got;

static ssize_t rec_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
			   const struct net_meta *meta)
{
	size_t len = net_iov_size(iov, iovcnt);

	if (len != expect_len || len < 14 || len > NET_BUFSIZE)
		abort();
	got++;
	return (ssize_t)len;
}

static const struct net_client_ops rec_ops = {
	.driver = NET_DRIVER_NIC,
	.size = sizeof(struct net_client),
	.receive = rec_receive,
};

/* make() - a vxlan netdev in group mode (learning) if the host allows joining, else unicast */
static struct net_client *make(void)
{
	static const char *const specs[] = {
		"vxlan,id=fz,vni=42,local=127.0.0.1,group=239.255.77.2,port=%d",
		"vxlan,id=fz,vni=42,local=127.0.0.1,remote=127.0.0.2,port=%d",
	};
	struct net_client *rec = net_client_new(&rec_ops, NULL, "rec", "fz-guest");

	for (size_t i = 0; i < 2; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t alen = sizeof(a);
		struct opts o = { 0 };
		struct error e = { 0 };
		struct net_client *nc = NULL;
		char spec[128];
		int fd = socket(AF_INET, SOCK_DGRAM, 0);

		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    getsockname(fd, (struct sockaddr *)&a, &alen) < 0)
			abort();
		close(fd);
		snprintf(spec, sizeof(spec), specs[i], ntohs(a.sin_port));
		if (opts_parse(&o, spec, "type", &e) == 0)
			nc = netdev_create(&o, true, rec, &e);
		opts_free(&o);
		if (nc)
			return nc;
	}
	abort();
}

/*
 * Input: [source selector (1 byte)][one datagram]. The datagram goes through
 * the netdev's input path from 127.0.0.<selector>; a frame that comes out must
 * be the datagram without its 8-byte header; the learning table must find
 * only what it learned.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct net_client *nc;
	struct sockaddr_in src = { .sin_family = AF_INET };
	socklen_t len = 0;
	ssize_t r;

	if (!nc) {
		loop_init();
		nc = make();
	}
	if (size < 1)
		return 0;
	src.sin_addr.s_addr = htonl(0x7f000000u | data[0]);
	src.sin_port = htons(1000 + data[0]);
	expect_len = size - 1 >= 8 ? size - 1 - 8 : 0;
	got = 0;
	r = vxlan_input(nc, data + 1, size - 1, (struct sockaddr *)&src, sizeof(src));
	if ((r > 0) != (got == 1))
		abort();
	if (got && !(data[1 + 8 + 6] & 1)) {
		const struct sockaddr_in *to = (const void *)vxlan_lookup(nc, data + 1 + 8 + 6, &len);

		/* group mode learned the sender, at the configured port */
		if (to && (len != sizeof(*to) || to->sin_addr.s_addr != src.sin_addr.s_addr))
			abort();
	}
	return 0;
}
