// SPDX-License-Identifier: MIT
/* test_cursor.c - the bounded reader: iovec boundaries, sub-cursors, sticky failure */
#include <stdint.h>
#include <string.h>

#include "core/cursor.h"
#include "test.h"

static uint8_t data[64];

static void fill(void)
{
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i + 1);
}

/* split data[0..n) into segments of the sizes given (0 allowed) */
static int split(struct iovec *iov, const size_t *sizes, int k)
{
	size_t off = 0;

	for (int i = 0; i < k; i++) {
		iov[i].iov_base = data + off;
		iov[i].iov_len = sizes[i];
		off += sizes[i];
	}
	return k;
}

static void test_flat(void)
{
	struct cursor c;
	uint8_t b[3];

	fill();
	cursor_init_buf(&c, data, 10);
	CHECK(cursor_remaining(&c) == 10);
	CHECK(cursor_u8(&c) == 1);
	CHECK(cursor_be16(&c) == 0x0203);
	CHECK(cursor_be32(&c) == 0x04050607);
	CHECK(cursor_peek_u8(&c) == 8);
	CHECK(cursor_remaining(&c) == 3);
	CHECK(cursor_pull(&c, b, 3) && b[0] == 8 && b[2] == 10);
	CHECK(cursor_remaining(&c) == 0);
	CHECK(cursor_ok(&c));
}

static void test_iov_boundaries(void)
{
	static const size_t sizes[] = { 1, 0, 2, 1, 0, 3, 5, 0 };
	struct iovec iov[8];
	struct cursor c;
	uint8_t scratch[8];
	const uint8_t *p;
	int n;

	fill();
	n = split(iov, sizes, 8);
	cursor_init_iov(&c, iov, n);
	CHECK(cursor_remaining(&c) == 12);
	/* be16 across the 1|2 boundary, be32 across 2|1|3 */
	CHECK(cursor_be16(&c) == 0x0102);
	CHECK(cursor_be32(&c) == 0x03040506);
	/* contiguous inside a segment: a pointer into the data */
	p = cursor_pull_ptr(&c, 1, scratch);
	CHECK(p == data + 6 && *p == 7);
	/* across: a copy in scratch */
	cursor_init_iov(&c, iov, n);
	CHECK(cursor_skip(&c, 5));
	p = cursor_pull_ptr(&c, 4, scratch);
	CHECK(p == scratch && p[0] == 6 && p[3] == 9);
	CHECK(cursor_remaining(&c) == 3);
	CHECK(cursor_skip(&c, 3));
	CHECK(cursor_remaining(&c) == 0 && cursor_ok(&c));
	/* empty array */
	cursor_init_iov(&c, iov, 0);
	CHECK(cursor_remaining(&c) == 0);
	CHECK(cursor_u8(&c) == 0 && !cursor_ok(&c));
}

static void test_sticky(void)
{
	struct cursor c;
	uint8_t b[4] = { 9, 9, 9, 9 };

	fill();
	cursor_init_buf(&c, data, 5);
	CHECK(cursor_be32(&c) == 0x01020304);
	/* one byte left: a be16 fails, zero, and everything after too */
	CHECK(cursor_be16(&c) == 0);
	CHECK(!cursor_ok(&c));
	CHECK(cursor_remaining(&c) == 0);
	CHECK(cursor_u8(&c) == 0);
	CHECK(!cursor_pull(&c, b, 4));
	CHECK(b[0] == 0 && b[3] == 0);
	CHECK(!cursor_skip(&c, 0));
	CHECK(!cursor_ok(&c));
	/* skip past the end fails too; the bytes before were still readable */
	cursor_init_buf(&c, data, 5);
	CHECK(!cursor_skip(&c, 6));
	CHECK(cursor_u8(&c) == 0 && !cursor_ok(&c));
	/* a failed peek fails the cursor */
	cursor_init_buf(&c, data, 1);
	CHECK(!cursor_peek(&c, b, 2) && !cursor_ok(&c));
	/* limit: shrinking works, growing fails */
	cursor_init_buf(&c, data, 10);
	CHECK(cursor_limit(&c, 3));
	CHECK(cursor_remaining(&c) == 3);
	CHECK(!cursor_skip(&c, 4));
	cursor_init_buf(&c, data, 10);
	CHECK(!cursor_limit(&c, 11) && !cursor_ok(&c));
}

static void test_sub(void)
{
	static const size_t sizes[] = { 3, 3, 4 };
	struct iovec iov[3];
	struct cursor c, s, s2;

	fill();
	cursor_init_iov(&c, iov, split(iov, sizes, 3));
	CHECK(cursor_u8(&c) == 1);
	CHECK(cursor_sub(&c, &s, 4));	/* bytes 2..5 across a boundary */
	CHECK(cursor_remaining(&c) == 5);
	CHECK(cursor_u8(&c) == 6);
	CHECK(cursor_remaining(&s) == 4);
	CHECK(cursor_be32(&s) == 0x02030405);
	CHECK(cursor_remaining(&s) == 0);
	/* the sub-cursor's window is its own: reading past it fails only it */
	CHECK(cursor_u8(&s) == 0 && !cursor_ok(&s));
	CHECK(cursor_ok(&c));
	CHECK(cursor_be32(&c) == 0x0708090a);
	/* nested */
	cursor_init_iov(&c, iov, 3);
	CHECK(cursor_sub(&c, &s, 8));
	CHECK(cursor_skip(&s, 2));
	CHECK(cursor_sub(&s, &s2, 3));
	CHECK(cursor_u8(&s2) == 3 && cursor_be16(&s2) == 0x0405);
	CHECK(cursor_remaining(&s) == 3 && cursor_u8(&s) == 6);
	/* a sub-cursor larger than what is left: both fail */
	cursor_init_iov(&c, iov, 3);
	CHECK(cursor_skip(&c, 7));
	CHECK(!cursor_sub(&c, &s, 4));
	CHECK(!cursor_ok(&c) && !cursor_ok(&s));
	CHECK(cursor_remaining(&s) == 0 && cursor_u8(&s) == 0);
	/* exactly what is left: fine */
	cursor_init_iov(&c, iov, 3);
	CHECK(cursor_skip(&c, 6));
	CHECK(cursor_sub(&c, &s, 4) && cursor_remaining(&c) == 0 && cursor_ok(&c));
	CHECK(cursor_be32(&s) == 0x0708090a && cursor_ok(&s));
}

static void test_contig(void)
{
	static const size_t sizes[] = { 0, 2, 5 };
	struct iovec iov[3];
	struct cursor c;
	const uint8_t *p;
	size_t n;

	fill();
	cursor_init_iov(&c, iov, split(iov, sizes, 3));
	p = cursor_contig(&c, &n);
	CHECK(p == data && n == 2);
	CHECK(cursor_skip(&c, 3));
	p = cursor_contig(&c, &n);
	CHECK(p == data + 3 && n == 4);
	/* limit clamps the segment too */
	CHECK(cursor_limit(&c, 2));
	p = cursor_contig(&c, &n);
	CHECK(n == 2);
	CHECK(cursor_skip(&c, 2));
	p = cursor_contig(&c, &n);
	CHECK(n == 0);
}

int main(void)
{
	RUN(test_flat);
	RUN(test_iov_boundaries);
	RUN(test_sticky);
	RUN(test_sub);
	RUN(test_contig);
	TEST_DONE();
}
