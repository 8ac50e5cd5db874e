/* SPDX-License-Identifier: MIT */
/* gso.h - software segmentation and checksum completion for receivers without offloads */
#ifndef QNET_GSO_H
#define QNET_GSO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "frame.h"

/*
 * DOC: Software offloads
 *
 * A frame with metadata (struct net_meta) that its receiver does not accept
 * (net_client.offloads) goes through gso_segment() on its way in: it comes
 * out as plain frames with complete checksums, the way a NIC without those
 * offloads would have put them on the wire:
 *   - TSO (TCPV4/TCPV6): segments of gso_size payload bytes; IPv4 total
 *     length, ID (+1 per segment) and header checksum, IPv6 payload length,
 *     TCP sequence numbers; FIN and PSH only on the last segment, CWR only on
 *     the first; every TCP checksum computed.
 *   - USO (UDP_L4): one UDP datagram of gso_size payload bytes per segment.
 *   - UFO (UDP, IPv4 only): the UDP datagram's checksum completed, then IPv4
 *     fragments of gso_size (rounded down to 8) bytes.
 *   - NEEDS_CSUM alone: the checksum at csum_start + csum_offset completed.
 * Every offset and length is checked against the frame (Ethernet with up to
 * two VLAN tags, IPv4 with options, IPv6 with a bounded walk of extension
 * headers); metadata that does not fit the frame is refused (-EINVAL) and the
 * caller drops and counts the frame. Nothing is allocated per frame: headers
 * are rewritten in struct gso_scratch, payloads are passed by reference.
 */

/* largest frame handled (NET_BUFSIZE) and largest header block (L2+L3+L4) */
#define GSO_FRAME_MAX (4096 + 65536)
#define GSO_HDR_MAX 256

/**
 * struct gso_scratch - a receiver's work space (one per receiver, reused)
 * @hdr:	rewritten headers of the segment being emitted
 * @l4:		a UFO datagram's completed UDP header
 * @csum:	a completed checksum (NEEDS_CSUM alone)
 * @lin:	linear copy of a frame given in several pieces (GSO_FRAME_MAX, allocated on first use)
 */
struct gso_scratch {
	uint8_t hdr[GSO_HDR_MAX];
	uint8_t l4[8];
	uint8_t csum[2];
	uint8_t *lin;
};

/**
 * gso_emit_fn - take one plain frame
 * Return: >0 taken (or dropped by the receiver, counted there), 0 not now: stop
 */
typedef ssize_t gso_emit_fn(void *opaque, const struct iovec *iov, int iovcnt);

/* gso_accepts() - a receiver with @offloads can take a frame with @meta as it is */
bool gso_accepts(const struct net_meta *meta, uint32_t offloads);

/**
 * gso_segment() - emit the frame as plain frames
 * @s:		scratch space of the receiver
 * @iov, @iovcnt: the frame
 * @meta:	its metadata (not plain)
 * @skip:	segments emitted by an earlier call for this frame (resume)
 * @done:	out: with return 0, the index of the segment to emit next time
 * @emit:	called once per segment, in order
 *
 * Return: number of segments (>0) when all were emitted, 0 when @emit said
 *	   0 (call again with @skip = *@done), -EINVAL when the metadata does not
 *	   fit the frame (nothing emitted).
 */
int gso_segment(struct gso_scratch *s, const struct iovec *iov, int iovcnt,
		const struct net_meta *meta, unsigned skip, unsigned *done,
		gso_emit_fn *emit, void *opaque);

/**
 * gso_vnet_hdr_put() - @meta (NULL: plain) as the 10-byte virtio-net header
 * (little endian, as virtio 1.x and a tap on a little-endian host use it)
 */
void gso_vnet_hdr_put(uint8_t hdr[NET_VNET_HDR_LEN], const struct net_meta *meta);
/* gso_vnet_hdr_get() - the first 10 bytes of a virtio-net header into @meta */
void gso_vnet_hdr_get(struct net_meta *meta, const uint8_t hdr[NET_VNET_HDR_LEN]);

/* gso_scratch_free() - release @s's linear buffer */
void gso_scratch_free(struct gso_scratch *s);

/* gso_csum() - RFC 1071 sum of @len bytes added to @sum (network order, not folded to 16 bits) */
uint32_t gso_csum(const void *buf, size_t len, uint32_t sum);
/* gso_csum_fold() - fold and complement a gso_csum() sum: the checksum field's value */
uint16_t gso_csum_fold(uint32_t sum);

#endif /* QNET_GSO_H */
