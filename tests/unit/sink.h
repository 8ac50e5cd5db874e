/* SPDX-License-Identifier: MIT */
/* sink.h - a test net client that plays the guest: records every frame sent to it */
#ifndef QNET_TEST_SINK_H
#define QNET_TEST_SINK_H

#include <stdbool.h>

#include "core/net.h"

#define SINK_MAX 128

/**
 * struct sink - the recorded frames
 * @blocked:	receive returns 0 ("not now") while set
 * @n:		frames recorded (at most SINK_MAX are kept)
 * @len, @f:	each frame's length and bytes (first 2048)
 */
struct sink {
	struct net_client nc;
	bool blocked;
	int n;
	size_t len[SINK_MAX];
	uint8_t f[SINK_MAX][2048];
};

static ssize_t sink_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
				const struct net_meta *meta)
{
	struct sink *k = (struct sink *)(void *)nc;

	if (k->blocked)
		return 0;
	if (k->n < SINK_MAX) {
		k->len[k->n] = net_iov_copy(k->f[k->n], sizeof(k->f[0]), iov, iovcnt);
		k->n++;
	}
	return (ssize_t)net_iov_size(iov, iovcnt);
}

static const struct net_client_ops sink_ops = {
	.driver = NET_DRIVER_STREAM,
	.size = sizeof(struct sink),
	.receive = sink_receive,
};

#endif /* QNET_TEST_SINK_H */
