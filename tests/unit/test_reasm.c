// SPDX-License-Identifier: MIT
/* test_reasm.c - the shared length-prefix reassembler: plain and vnet framing, any split */
#include <stdint.h>
#include <string.h>

#include "core/reasm.h"
#include "test.h"

struct got {
	int count;
	size_t lens[16];
	uint8_t first[16];
};

static void on_frame(void *opaque, const uint8_t *f, size_t len)
{
	struct got *g = opaque;

	if (g->count < 16) {
		g->lens[g->count] = len;
		g->first[g->count] = len ? f[0] : 0;
	}
	g->count++;
}

static size_t put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return 4;
}

/* [len][vnet len][frame] records, fed one byte at a time and whole: same frames */
static void test_vnet_any_split(void)
{
	uint8_t b[256];
	size_t n = 0;
	struct reasm r;
	struct got g1 = { 0 }, g2 = { 0 };

	for (int i = 0; i < 3; i++) {
		n += put32(b + n, 10 + (uint32_t)i);
		n += put32(b + n, 12);		/* vnet header length: read and ignored */
		memset(b + n, 0x40 + i, 10 + (size_t)i);
		n += 10 + (size_t)i;
	}
	reasm_init(&r, true);
	for (size_t i = 0; i < n; i++)
		CHECK(reasm_feed(&r, b + i, 1, on_frame, &g1) == 0);
	CHECK(r.state == REASM_LEN && r.index == 0);
	CHECK(reasm_feed(&r, b, n, on_frame, &g2) == 0);
	CHECK(g1.count == 3 && g2.count == 3);
	for (int i = 0; i < 3; i++) {
		CHECK(g1.lens[i] == 10 + (size_t)i && g1.first[i] == 0x40 + i);
		CHECK(g2.lens[i] == g1.lens[i] && g2.first[i] == g1.first[i]);
	}
	/* the same bytes without vnet: the vnet length is read as a frame length */
	reasm_reset(&r);
	r.vnet = false;
	g1.count = 0;
	CHECK(reasm_feed(&r, b, 8, on_frame, &g1) == 0);
	CHECK(g1.count == 0 && r.state == REASM_DATA && r.len == 10);
	reasm_fini(&r);
}

/* an empty frame shows up when the next byte is processed, as in QEMU */
static void test_empty_frame(void)
{
	uint8_t b[16];
	size_t n = put32(b, 0);
	struct reasm r;
	struct got g = { 0 };

	reasm_init(&r, false);
	CHECK(reasm_feed(&r, b, n, on_frame, &g) == 0);
	CHECK(g.count == 0 && r.state == REASM_DATA);
	n = put32(b, 1);
	b[n++] = 0x99;
	CHECK(reasm_feed(&r, b, n, on_frame, &g) == 0);
	CHECK(g.count == 2 && g.lens[0] == 0 && g.lens[1] == 1 && g.first[1] == 0x99);
	reasm_fini(&r);
}

/* oversized: waits while the bytes are missing, fails once they pass the cap */
static void test_oversized(void)
{
	static uint8_t big[REASM_MAX + 16];
	struct reasm r;
	struct got g = { 0 };
	size_t n = put32(big, REASM_MAX + 1);

	reasm_init(&r, false);
	CHECK(reasm_feed(&r, big, n + 1000, on_frame, &g) == 0);
	CHECK(reasm_feed(&r, big + n, REASM_MAX - 1000, on_frame, &g) == 0);
	CHECK(r.index == REASM_MAX);
	CHECK(reasm_feed(&r, big, 1, on_frame, &g) == -1);
	CHECK(g.count == 0 && r.state == REASM_LEN && r.index == 0);
	/* the largest frame goes through, whole and split */
	put32(big, REASM_MAX);
	big[4] = 0x5e;
	CHECK(reasm_feed(&r, big, 4 + REASM_MAX, on_frame, &g) == 0);
	CHECK(reasm_feed(&r, big, 3, on_frame, &g) == 0);
	CHECK(reasm_feed(&r, big + 3, 1 + REASM_MAX, on_frame, &g) == 0);
	CHECK(g.count == 2 && g.lens[0] == REASM_MAX && g.lens[1] == REASM_MAX);
	CHECK(g.first[0] == 0x5e && g.first[1] == 0x5e);
	reasm_fini(&r);
}

int main(void)
{
	RUN(test_vnet_any_split);
	RUN(test_empty_frame);
	RUN(test_oversized);
	TEST_DONE();
}
