/* SPDX-License-Identifier: MIT */
/* cursor.h - one bounded, fail-closed reader of outside bytes (an iovec array or a buffer) */
#ifndef QNET_CURSOR_H
#define QNET_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

/*
 * DOC: Reading outside bytes
 *
 * Every parser of bytes that come from outside (frames, headers, options,
 * framing, monitor input) reads them through a struct cursor. A cursor is a
 * window of @left bytes over an iovec array (a flat buffer is one segment);
 * reads never go past the window.
 *
 * It fails closed: a read, skip or sub-cursor that asks for more than is
 * left sets the sticky error flag and consumes everything. After an error
 * every read returns zeros and the error stays. A parser reads all the fields
 * it needs and checks cursor_ok() once at the end (or before it acts).
 *
 * A sub-cursor (cursor_sub) is a window over the next n bytes (an IP header's
 * options, one DHCP option, the TCP option area); the parent skips them. A
 * sub-cursor that could not be taken is itself in error.
 *
 * A cursor does not own anything: the bytes and the iovec array must live as
 * long as it is used. Copying a struct cursor is how to save a position.
 * Everything here is static inline, with no allocation.
 */

/**
 * struct cursor - position in a byte sequence
 * @p:		next byte of the current segment
 * @seg:	bytes left in the current segment (never more than @left)
 * @iov:	segments after the current one
 * @iovcnt:	number of them
 * @left:	bytes left in the window
 * @err:	sticky: a read asked for more than @left
 */
struct cursor {
	const uint8_t *p;
	size_t seg;
	const struct iovec *iov;
	int iovcnt;
	size_t left;
	bool err;
};

/* cursor_init_buf() - a window over @len bytes at @buf */
static inline void cursor_init_buf(struct cursor *c, const void *buf, size_t len)
{
	c->p = buf;
	c->seg = len;
	c->iov = NULL;
	c->iovcnt = 0;
	c->left = len;
	c->err = false;
}

/* cursor_init_iov() - a window over the @iovcnt segments of @iov (empty ones are fine) */
static inline void cursor_init_iov(struct cursor *c, const struct iovec *iov, int iovcnt)
{
	size_t total = 0;

	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > SIZE_MAX - total) {
			iovcnt = i;	/* cannot happen with real buffers: keep what adds up */
			break;
		}
		total += iov[i].iov_len;
	}
	c->p = NULL;
	c->seg = 0;
	c->iov = iov;
	c->iovcnt = iovcnt > 0 ? iovcnt : 0;
	c->left = total;
	c->err = false;
}

/* cursor_fail() - mark the cursor bad (sticky) and empty it */
static inline void cursor_fail(struct cursor *c)
{
	c->err = true;
	c->left = 0;
	c->seg = 0;
	c->iovcnt = 0;
}

/* cursor_ok() - no read failed so far */
static inline bool cursor_ok(const struct cursor *c)
{
	return !c->err;
}

/* cursor_remaining() - bytes left (0 after an error) */
static inline size_t cursor_remaining(const struct cursor *c)
{
	return c->left;
}

/* cursor_next_seg() - make @seg non-zero if any bytes are left */
static inline void cursor_next_seg(struct cursor *c)
{
	while (!c->seg && c->left && c->iovcnt > 0) {
		c->p = c->iov->iov_base;
		c->seg = c->iov->iov_len < c->left ? c->iov->iov_len : c->left;
		c->iov++;
		c->iovcnt--;
	}
}

/* cursor_advance() - consume @n bytes, known to be there; copy them to @dst if not NULL */
static inline void cursor_advance(struct cursor *c, void *dst, size_t n)
{
	uint8_t *d = dst;

	while (n) {
		size_t k;

		cursor_next_seg(c);
		k = n < c->seg ? n : c->seg;
		if (!k) {	/* the segments hold less than @left said: cannot happen */
			cursor_fail(c);
			if (d)
				memset(d, 0, n);
			return;
		}
		if (d) {
			memcpy(d, c->p, k);
			d += k;
		}
		c->p += k;
		c->seg -= k;
		c->left -= k;
		n -= k;
	}
}

/**
 * cursor_pull() - copy the next @n bytes to @dst
 * Return: true, or false (error set, @dst zeroed) if fewer than @n are left
 */
static inline bool cursor_pull(struct cursor *c, void *dst, size_t n)
{
	if (c->err || n > c->left) {
		cursor_fail(c);
		memset(dst, 0, n);
		return false;
	}
	cursor_advance(c, dst, n);
	return !c->err;
}

/**
 * cursor_pull_ptr() - the next @n bytes, contiguous
 * @scratch:	@n bytes of room, used when they cross a segment boundary
 * Return: a pointer into the data when contiguous, else @scratch holding a
 * copy; on error @scratch zeroed (never NULL)
 */
static inline const void *cursor_pull_ptr(struct cursor *c, size_t n, void *scratch)
{
	if (!c->err && n <= c->left) {
		cursor_next_seg(c);
		if (n <= c->seg && c->p) {
			const uint8_t *r = c->p;

			c->p += n;
			c->seg -= n;
			c->left -= n;
			return r;
		}
	}
	cursor_pull(c, scratch, n);
	return scratch;
}

/**
 * cursor_contig() - the bytes of the current segment, without consuming them
 * @len:	set to how many (0 at the end or after an error)
 */
static inline const uint8_t *cursor_contig(struct cursor *c, size_t *len)
{
	cursor_next_seg(c);
	*len = c->seg;
	return c->p;
}

/* cursor_skip() - consume @n bytes; false (error set) if fewer are left */
static inline bool cursor_skip(struct cursor *c, size_t n)
{
	if (c->err || n > c->left) {
		cursor_fail(c);
		return false;
	}
	cursor_advance(c, NULL, n);
	return !c->err;
}

/* cursor_peek() - copy the next @n bytes without consuming them; as cursor_pull() */
static inline bool cursor_peek(struct cursor *c, void *dst, size_t n)
{
	struct cursor t = *c;

	if (!cursor_pull(&t, dst, n)) {
		cursor_fail(c);
		return false;
	}
	return true;
}

static inline uint8_t cursor_u8(struct cursor *c)
{
	uint8_t v;

	if (c->left && !c->err) {
		cursor_next_seg(c);
		if (c->seg) {
			v = *c->p++;
			c->seg--;
			c->left--;
			return v;
		}
	}
	cursor_pull(c, &v, 1);
	return v;
}

/* cursor_be16() - a big-endian 16-bit value, in host order (0 on error) */
static inline uint16_t cursor_be16(struct cursor *c)
{
	uint8_t b[2];
	const uint8_t *q = cursor_pull_ptr(c, 2, b);

	return (uint16_t)(q[0] << 8 | q[1]);
}

/* cursor_be32() - a big-endian 32-bit value, in host order (0 on error) */
static inline uint32_t cursor_be32(struct cursor *c)
{
	uint8_t b[4];
	const uint8_t *q = cursor_pull_ptr(c, 4, b);

	return (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
}

/* cursor_peek_u8() - the next byte without consuming it (0 and error at the end) */
static inline uint8_t cursor_peek_u8(struct cursor *c)
{
	uint8_t v;

	cursor_peek(c, &v, 1);
	return v;
}

/**
 * cursor_sub() - @sub becomes a window over the next @n bytes, which @c skips
 * Return: true, or false when fewer than @n are left (both cursors in error)
 */
static inline bool cursor_sub(struct cursor *c, struct cursor *sub, size_t n)
{
	if (c->err || n > c->left) {
		cursor_fail(c);
		*sub = *c;
		return false;
	}
	*sub = *c;
	sub->left = n;
	if (sub->seg > n)
		sub->seg = n;
	cursor_advance(c, NULL, n);
	return true;
}

/**
 * cursor_limit() - shrink the window to its next @n bytes (a length field
 * that says less than the buffer holds); false (error) if it says more
 */
static inline bool cursor_limit(struct cursor *c, size_t n)
{
	if (c->err || n > c->left) {
		cursor_fail(c);
		return false;
	}
	c->left = n;
	if (c->seg > n)
		c->seg = n;
	return true;
}

#endif /* QNET_CURSOR_H */
