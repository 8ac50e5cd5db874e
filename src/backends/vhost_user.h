/* SPDX-License-Identifier: MIT */
/* vhost_user.h - the vhost-user netdev (backends/vhost_user.c): counters and a test entry */
#ifndef QNET_VHOST_USER_H
#define QNET_VHOST_USER_H

#include <stddef.h>
#include <stdint.h>

#include "../core/net.h"

/* queue pairs one vhost-user netdev serves at most (queues=) */
#define VHOST_USER_QUEUES_MAX 8

/**
 * struct vhost_user_stats - counters of one vhost-user netdev
 * @messages:		protocol messages handled
 * @refused:		well-formed requests refused (a bad memory table, a ring outside memory...)
 * @protocol_errors:	malformed messages (the connection was dropped) and failed replies
 * @connects:		front-end connections
 * @broken_rings:	rings marked broken for breaking the virtqueue rules
 * @tx_frames, @rx_frames: frames from / to the guest
 * @tx_bad:		TX chains dropped (too short, too long, writable buffers)
 * @rx_dropped:		frames for the guest dropped (no running ring, buffers too small)
 * @call_errors:	interrupts that could not be raised
 */
struct vhost_user_stats {
	uint64_t messages, refused, protocol_errors, connects, broken_rings;
	uint64_t tx_frames, rx_frames, tx_bad, rx_dropped, call_errors;
};

/* vhost_user_get_stats() - @nc's counters, or NULL if it is not a vhost-user netdev */
const struct vhost_user_stats *vhost_user_get_stats(struct net_client *nc);

/**
 * vhost_user_feed() - tests and fuzzing: protocol bytes as if read from the socket, with
 * @nfds fds received along (taken over: closed when the message does not use them)
 * Return: 0, or -1 after a protocol error (the connection, if any, was dropped)
 */
int vhost_user_feed(struct net_client *nc, const uint8_t *buf, size_t len, const int *fds,
		    int nfds);

#endif /* QNET_VHOST_USER_H */
