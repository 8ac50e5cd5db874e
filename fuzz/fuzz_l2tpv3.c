// SPDX-License-Identifier: MIT
/* fuzz_l2tpv3.c - libFuzzer target: L2TPv3 decapsulation of -netdev l2tpv3, several configurations */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backends/l2tpv3.h"
#include "cli/netdev.h"
#include "cli/opts.h"
#include "core/loop.h"
#include "core/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t max_len;
static int got;

static ssize_t rec_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
			   const struct net_meta *meta)
{
	size_t len = net_iov_size(iov, iovcnt);

	if (len < 14 || len > max_len)
		abort();
	got++;
	return (ssize_t)len;
}

static const struct net_client_ops rec_ops = {
	.driver = NET_DRIVER_NIC,
	.size = sizeof(struct net_client),
	.receive = rec_receive,
};

/* UDP configurations always; IP encapsulation only where raw sockets are allowed */
static const char *const specs[] = {
	"l2tpv3,id=f0,src=127.0.0.1,dst=127.0.0.1,udp=on,srcport=%d,dstport=%d,txsession=1,rxsession=2",
	"l2tpv3,id=f1,src=127.0.0.1,dst=127.0.0.1,udp=on,srcport=%d,dstport=%d,txsession=1,rxsession=2,"
	"txcookie=7,rxcookie=0x11223344,counter=on,offset=5",
	"l2tpv3,id=f2,src=127.0.0.1,dst=127.0.0.1,udp=on,srcport=%d,dstport=%d,txsession=1,rxsession=2,"
	"cookie64=on,txcookie=7,rxcookie=0x1122334455667788,counter=on,pincounter=on,offset=256",
	"l2tpv3,id=f3,src=127.0.0.1,dst=127.0.0.1,txsession=1,rxsession=2,counter=on%.0d%.0d",
	"l2tpv3,id=f4,src=::1,dst=::1,ipv6=on,txsession=1,rxsession=2,txcookie=1,rxcookie=2%.0d%.0d",
};
static struct net_client *ncs[5];

static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM, 0), port = 0;

	if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(fd, (struct sockaddr *)&a, &alen))
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static void setup(void)
{
	loop_init();
	for (size_t i = 0; i < 5; i++) {
		struct net_client *rec = net_client_new(&rec_ops, NULL, "rec", NULL);
		struct opts o = { 0 };
		struct error e = { 0 };
		char spec[320];
		int p = free_port();

		snprintf(spec, sizeof(spec), specs[i], p, p);
		if (opts_parse(&o, spec, "type", &e) == 0)
			ncs[i] = netdev_create(&o, true, rec, &e);
		opts_free(&o);
		if (!ncs[i] && i < 3)
			abort();	/* UDP must work everywhere */
	}
}

/* Input: [configuration (1 byte)][one datagram as the socket delivers it] */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net_client *nc;
	ssize_t r;

	if (!ncs[0])
		setup();
	if (size < 1)
		return 0;
	nc = ncs[data[0] % 5];
	if (!nc)
		return 0;
	max_len = size - 1;
	got = 0;
	r = l2tpv3_input(nc, data + 1, size - 1);
	if ((r > 0) != (got == 1))
		abort();
	return 0;
}
