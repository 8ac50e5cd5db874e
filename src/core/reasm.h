/* SPDX-License-Identifier: MIT */
/* reasm.h - the one length-prefix reassembler (stream/socket framing, filter-redirector indev) */
#ifndef QNET_REASM_H
#define QNET_REASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * DOC: Length-prefixed frames over a byte stream
 *
 * QEMU frames packets on byte streams as a 4-byte big-endian length, then
 * (filter-mirror/redirector with vnet_hdr_support=on only) a 4-byte
 * big-endian vnet header length, then the frame. struct reasm reassembles
 * frames from input cut anywhere, exactly as QEMU 7.2's net_fill_rstate():
 *
 * - a length of 0 gives an empty frame, emitted when the next byte of input
 *   is processed (owners drop it: QEMU's receivers stall on it);
 * - a frame whose bytes would overflow REASM_MAX (NET_BUFSIZE) fails the feed
 *   (-1, state reset), but only once those bytes actually arrive: a huge
 *   length followed by nothing just waits;
 * - the vnet header length is read and ignored (QEMU ignores it too).
 *
 * A frame that lies whole in one input chunk is handed over in place (no
 * copy); others are gathered in a buffer of REASM_MAX bytes allocated once by
 * reasm_init(). The input is walked with a cursor (core/cursor.h).
 */

#define REASM_MAX (4096 + 65536)	/* NET_BUFSIZE */
#define REASM_LEN_SIZE 4		/* WIRE_STREAM_LEN_SIZE */
/* What QEMU prints when reasm_feed() fails (no space after the comma: QEMU's concatenation) */
#define REASM_OVERSIZED_MSG "serious error: oversized packet received,connection terminated."

enum reasm_state {
	REASM_LEN,	/* collecting the length */
	REASM_VNET,	/* collecting the vnet header length */
	REASM_DATA,	/* collecting the frame */
};

/**
 * struct reasm - QEMU's SocketReadState
 * @state:	what is being collected
 * @vnet:	a vnet header length follows the length (may change between feeds)
 * @index:	bytes collected in this state
 * @len:	length of the frame being collected
 * @vnet_len:	the vnet header length read (unused)
 * @hdr:	the length bytes collected so far
 * @buf:	frame storage, REASM_MAX bytes
 */
struct reasm {
	enum reasm_state state;
	bool vnet;
	uint32_t index;
	uint32_t len;
	uint32_t vnet_len;
	uint8_t hdr[REASM_LEN_SIZE];
	uint8_t *buf;
};

/* reasm_frame_cb - one complete frame (valid only during the call) */
typedef void reasm_frame_cb(void *opaque, const uint8_t *frame, size_t len);

/* reasm_init() - an empty reassembler (allocates its buffer) */
void reasm_init(struct reasm *r, bool vnet);
/* reasm_reset() - start a new stream (a new connection) */
void reasm_reset(struct reasm *r);
/* reasm_fini() - free the buffer */
void reasm_fini(struct reasm *r);
/**
 * reasm_feed() - process @n bytes of input, calling @cb for every frame completed
 * Return: 0, or -1 when a frame is larger than REASM_MAX (the state is reset;
 * frames completed earlier in @p were already emitted)
 */
int reasm_feed(struct reasm *r, const uint8_t *p, size_t n, reasm_frame_cb *cb, void *opaque);

#endif /* QNET_REASM_H */
