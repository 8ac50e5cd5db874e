/* SPDX-License-Identifier: MIT */
/* frame.h - offload metadata carried with a frame (the virtio-net header), and offload sets */
#ifndef QNET_FRAME_H
#define QNET_FRAME_H

#include <stdint.h>

/*
 * DOC: Frame metadata
 *
 * A frame is its bytes plus struct net_meta: the fields of the virtio-net
 * header (virtio 1.x, struct virtio_net_hdr), in host byte order. A zeroed
 * net_meta (or a NULL pointer where an API takes one) is a plain frame:
 * complete checksums, no segmentation offload.
 *
 * Senders fill it from what they got (a tap with IFF_VNET_HDR, a vhost-user
 * ring) or build it (the user stack's TSO frames). Receivers declare in
 * net_client.offloads which of these they accept; the core hands a receiver
 * only frames it accepts, segmenting and checksumming in software (gso.c)
 * for the others.
 *
 * This header is plain data: no dependency on the rest of the core, so the
 * user stack library and the libslirp-compatible layer use it too.
 */

/* flags */
#define NET_META_F_NEEDS_CSUM 1 /* checksum at csum_start + csum_offset left to the receiver */
#define NET_META_F_DATA_VALID 2 /* checksums already verified (receive side) */

/* gso_type */
#define NET_META_GSO_NONE 0
#define NET_META_GSO_TCPV4 1
#define NET_META_GSO_UDP 3 /* UFO: IP fragmentation of one UDP datagram */
#define NET_META_GSO_TCPV6 4
#define NET_META_GSO_UDP_L4 5 /* USO: one UDP datagram per segment */
#define NET_META_GSO_ECN 0x80 /* flag: TCP segments carry CWR as in the first one */

/* the virtio-net header on the wire (tap, vhost-user, redirector vnet_hdr): 10 bytes,
 * 12 with num_buffers (mergeable rx buffers, virtio 1.x) */
#define NET_VNET_HDR_LEN 10
#define NET_VNET_HDR_MRG_LEN 12

/**
 * struct net_meta - a frame's offload metadata (virtio_net_hdr fields, host order)
 * @flags:	NET_META_F_*
 * @gso_type:	NET_META_GSO_*
 * @hdr_len:	bytes of Ethernet + IP + L4 headers (a hint; the core recomputes it)
 * @gso_size:	payload bytes per segment
 * @csum_start:	offset from the start of the frame where checksumming starts
 * @csum_offset: offset from csum_start where the 16-bit checksum goes
 */
struct net_meta {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};

/* offloads a receiver accepts (net_client.offloads); 0 accepts plain frames only */
#define NET_OFF_CSUM (1u << 0) /* NEEDS_CSUM frames (partial checksums) */
#define NET_OFF_TSO4 (1u << 1)
#define NET_OFF_TSO6 (1u << 2)
#define NET_OFF_TSO_ECN (1u << 3)
#define NET_OFF_UFO (1u << 4)
#define NET_OFF_USO4 (1u << 5)
#define NET_OFF_USO6 (1u << 6)
#define NET_OFF_ALL 0x7fu

static inline int net_meta_is_plain(const struct net_meta *m)
{
	return !m || (!(m->flags & NET_META_F_NEEDS_CSUM) && m->gso_type == NET_META_GSO_NONE);
}

#endif /* QNET_FRAME_H */
