/* SPDX-License-Identifier: MIT */
/* vxlan.h - the vxlan netdev's input path and counters, for the unit test and the fuzzer */
#ifndef QNET_VXLAN_H
#define QNET_VXLAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "../core/net.h"

/**
 * struct vxlan_counters - datagrams the vxlan netdev dropped, by reason
 * @short_hdr:	shorter than the VXLAN header plus an Ethernet header
 * @bad_flags:	the I flag (VNI valid) is not set
 * @wrong_vni:	another VNI
 * @self:	our own multicast datagram looped back
 * @learned:	remote endpoints learned (group mode)
 */
struct vxlan_counters {
	uint64_t short_hdr;
	uint64_t bad_flags;
	uint64_t wrong_vni;
	uint64_t self;
	uint64_t learned;
};

/**
 * vxlan_input() - one datagram from @src as the socket delivered it: check
 * the header, learn the sender (group mode), send the frame to the peer
 * @nc:		a vxlan netdev
 * Return: as net_send(): >0 delivered, 0 queued, <0 dropped (and counted)
 */
ssize_t vxlan_input(struct net_client *nc, const uint8_t *buf, size_t len,
		    const struct sockaddr *src, socklen_t srclen);
/* vxlan_counters() - the drop counters of a vxlan netdev */
const struct vxlan_counters *vxlan_counters(const struct net_client *nc);
/**
 * vxlan_lookup() - where a frame for @mac goes now
 * Return: the learned address (its length in *@len), or NULL: the group/remote
 */
const struct sockaddr *vxlan_lookup(struct net_client *nc, const uint8_t mac[6], socklen_t *len);

#endif /* QNET_VXLAN_H */
