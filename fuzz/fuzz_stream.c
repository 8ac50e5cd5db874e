// SPDX-License-Identifier: MIT
/* fuzz_stream.c - libFuzzer target: the length-prefixed reassembler, any split */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/stream_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* frames seen in one pass: count, and a running hash of lengths and contents */
struct seen {
	size_t count;
	uint64_t hash;
};

static void on_frame(void *opaque, const uint8_t *f, size_t len)
{
	struct seen *s = opaque;

	if (len > NET_BUFSIZE)
		abort();
	s->count++;
	s->hash = s->hash * 1000003u ^ len;
	for (size_t i = 0; i < len; i++)
		s->hash = s->hash * 31u + f[i];
}

/* feed() - the input in pieces whose sizes come from @sizes (cycled); -1 on error */
static int feed(struct stream_rx *rx, const uint8_t *p, size_t n, const uint8_t *sizes,
		size_t nsizes, struct seen *s)
{
	size_t off = 0, k = 0;

	while (off < n) {
		size_t piece = nsizes ? (size_t)sizes[k++ % nsizes] * 97 % 4099 + 1 : n;

		piece = piece > n - off ? n - off : piece;
		if (stream_rx_feed(rx, p + off, piece, on_frame, s) < 0)
			return -1;
		off += piece;
	}
	return 0;
}

/*
 * Input: [nsizes (1 byte)][nsizes split sizes][stream bytes]. The reassembler
 * must give the same frames and the same verdict for one big chunk and for
 * the stream cut into pieces.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stream_rx a, b;
	struct seen sa = { 0, 0 }, sb = { 0, 0 };
	size_t nsizes;
	int ra, rb;

	if (size < 1)
		return 0;
	nsizes = data[0] % 16;
	if (size < 1 + nsizes)
		return 0;
	stream_rx_init(&a);
	stream_rx_init(&b);
	ra = feed(&a, data + 1 + nsizes, size - 1 - nsizes, NULL, 0, &sa);
	rb = feed(&b, data + 1 + nsizes, size - 1 - nsizes, data + 1, nsizes, &sb);
	if (ra != rb || sa.count != sb.count || sa.hash != sb.hash)
		abort();
	stream_rx_fini(&a);
	stream_rx_fini(&b);
	return 0;
}
