// SPDX-License-Identifier: MIT
/* fuzz_cursor.c - libFuzzer target: the cursor over any iovec split against a flat model */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cursor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the model: a window [pos, end) over one flat buffer, and a sticky error */
struct model {
	const uint8_t *b;
	size_t pos, end;
	bool err;
};

static bool m_take(struct model *m, uint8_t *dst, size_t n)
{
	if (m->err || n > m->end - m->pos) {
		m->err = true;
		m->pos = m->end;
		if (dst)
			memset(dst, 0, n);
		return false;
	}
	if (dst)
		memcpy(dst, m->b + m->pos, n);
	m->pos += n;
	return true;
}

static void same(const struct cursor *c, const struct model *m)
{
	if (cursor_ok(c) != !m->err || cursor_remaining(c) != (m->err ? 0 : m->end - m->pos))
		abort();
}

/* run() - @nops operations from @ops on both; sub-cursors recurse once */
static void run(struct cursor *c, struct model *m, const uint8_t *ops, size_t nops, int depth)
{
	uint8_t a[64], b[64], scratch[64];

	for (size_t i = 0; i + 1 < nops; i += 2) {
		uint8_t op = ops[i] % 10;
		size_t k = ops[i + 1] % 48;

		switch (op) {
		case 0:
			if (cursor_u8(c) != (m_take(m, a, 1) ? a[0] : 0))
				abort();
			break;
		case 1: {
			uint16_t v = cursor_be16(c);

			m_take(m, a, 2);
			if (v != (uint16_t)(a[0] << 8 | a[1]))
				abort();
			break;
		}
		case 2: {
			uint32_t v = cursor_be32(c);

			m_take(m, a, 4);
			if (v != ((uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3]))
				abort();
			break;
		}
		case 3:
			if (cursor_pull(c, b, k) != m_take(m, a, k) || memcmp(a, b, k))
				abort();
			break;
		case 4:
			if (cursor_skip(c, k) != m_take(m, NULL, k))
				abort();
			break;
		case 5: {
			struct model t = *m;
			bool ok = m_take(&t, a, k);

			if (cursor_peek(c, b, k) != ok || memcmp(a, b, k))
				abort();
			if (!ok) {
				m->err = true;
				m->pos = m->end;
			}
			break;
		}
		case 6: {
			struct cursor s;
			struct model ms = *m;
			bool ok = !m->err && k <= m->end - m->pos;

			if (cursor_sub(c, &s, k) != ok)
				abort();
			if (ok) {
				ms.end = m->pos + k;
				m->pos += k;
			} else {
				m->err = ms.err = true;
				m->pos = m->end;
				ms.pos = ms.end;
			}
			same(&s, &ms);
			if (depth < 2)
				run(&s, &ms, ops + i + 2, (nops - i - 2) / 2, depth + 1);
			break;
		}
		case 7:
			if (cursor_limit(c, k) != (!m->err && k <= m->end - m->pos))
				abort();
			if (!m->err && k <= m->end - m->pos)
				m->end = m->pos + k;
			else {
				m->err = true;
				m->pos = m->end;
			}
			break;
		case 8: {
			const uint8_t *p = cursor_pull_ptr(c, k, scratch);

			if (!p)
				abort();
			m_take(m, a, k);
			if (memcmp(p, a, k))
				abort();
			break;
		}
		default: {
			size_t n;
			const uint8_t *p = cursor_contig(c, &n);

			if (n > (m->err ? 0 : m->end - m->pos) || (n && memcmp(p, m->b + m->pos, n)))
				abort();
			break;
		}
		}
		same(c, m);
	}
}

/*
 * Input: [nseg][nseg sizes][nops][nops bytes of ops][data]. The data is cut
 * into segments of the given sizes (the last takes the rest) and read through
 * the cursor and through the model with the same operations.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iovec iov[9];
	struct cursor c;
	struct model m;
	size_t nseg, nops, off, n, k;
	const uint8_t *ops, *d;

	if (size < 2)
		return 0;
	nseg = data[0] % 8 + 1;
	if (size < 2 + nseg)
		return 0;
	nops = data[1 + nseg];
	off = 2 + nseg;
	if (size < off + nops)
		nops = size - off;
	ops = data + off;
	d = data + off + nops;
	n = size - off - nops;
	for (k = 0, off = 0; k < nseg; k++) {
		size_t want = (size_t)data[1 + k] % 40;
		size_t len = k + 1 == nseg || want > n - off ? n - off : want;

		iov[k].iov_base = (void *)(d + off);
		iov[k].iov_len = len;
		off += len;
	}
	cursor_init_iov(&c, iov, (int)nseg);
	m = (struct model){ .b = d, .pos = 0, .end = n, .err = false };
	same(&c, &m);
	run(&c, &m, ops, nops, 0);
	return 0;
}
