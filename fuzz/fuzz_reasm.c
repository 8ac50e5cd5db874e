// SPDX-License-Identifier: MIT
/* fuzz_reasm.c - libFuzzer target: the shared length-prefix reassembler against a model */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/reasm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* frames seen: count, and a running hash of lengths and contents */
struct seen {
	size_t count;
	uint64_t hash;
};

static void seen_add(struct seen *s, const uint8_t *f, size_t len)
{
	s->count++;
	s->hash = s->hash * 1000003u ^ len;
	for (size_t i = 0; i < len; i++)
		s->hash = s->hash * 31u + f[i];
}

static void on_frame(void *opaque, const uint8_t *f, size_t len)
{
	if (len > REASM_MAX || (len && !f))
		abort();
	seen_add(opaque, f, len);
}

/*
 * model() - the framing, written independently: frames seen (an empty frame
 * counts once a byte follows it) and the verdict (-1 at the first frame that
 * overflows REASM_MAX once its bytes are there)
 */
static int model(const uint8_t *p, size_t n, int vnet, struct seen *s)
{
	size_t hl = vnet ? 8 : 4;

	while (n) {
		uint32_t len;

		if (n < hl)
			return 0;
		len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
		if (len > REASM_MAX)
			return n - hl > REASM_MAX ? -1 : 0;
		if (n - hl < len)
			return 0;
		if (len || n > hl)
			seen_add(s, p + hl, len);
		p += hl + len;
		n -= hl + len;
	}
	return 0;
}

/*
 * Input: [flags][nsizes][sizes...][stream]. flags bit 0: vnet header length.
 * The stream is fed whole to one reassembler and in pieces to another: both
 * must give the frames and the verdict of the model.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reasm a, b;
	struct seen sa = { 0, 0 }, sb = { 0, 0 }, sm = { 0, 0 };
	size_t nsizes, off = 0, k = 0, n;
	const uint8_t *sizes, *p;
	int vnet, ra, rb = 0, rm;

	if (size < 2)
		return 0;
	vnet = data[0] & 1;
	nsizes = data[1] % 16;
	if (size < 2 + nsizes)
		return 0;
	sizes = data + 2;
	p = data + 2 + nsizes;
	n = size - 2 - nsizes;
	reasm_init(&a, vnet);
	reasm_init(&b, vnet);
	ra = reasm_feed(&a, p, n, on_frame, &sa);
	while (off < n && rb == 0) {
		size_t piece = nsizes ? (size_t)sizes[k++ % nsizes] * 97 % 4099 + 1 : n;

		piece = piece > n - off ? n - off : piece;
		rb = reasm_feed(&b, p + off, piece, on_frame, &sb);
		off += piece;
	}
	rm = model(p, n, vnet, &sm);
	if (ra != rm || rb != rm)
		abort();
	/* after an error the frames before it match; a whole feed stops at the error */
	if (sa.count != sm.count || sa.hash != sm.hash || sb.count != sm.count ||
	    sb.hash != sm.hash)
		abort();
	reasm_fini(&a);
	reasm_fini(&b);
	return 0;
}
