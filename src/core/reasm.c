// SPDX-License-Identifier: MIT
/* reasm.c - the length-prefix reassembler shared by stream_data and filter_mirror */
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "net.h"
#include "reasm.h"
#include "util.h"
#include "wire.h"

_Static_assert(REASM_MAX == NET_BUFSIZE, "the reassembler takes what a net client takes");
_Static_assert(REASM_LEN_SIZE == WIRE_STREAM_LEN_SIZE &&
	       REASM_LEN_SIZE == WIRE_REDIR_VNET_LEN_SIZE, "both length fields are be32");

void reasm_init(struct reasm *r, bool vnet)
{
	memset(r, 0, sizeof(*r));
	r->vnet = vnet;
	r->buf = xmalloc(REASM_MAX);
}

void reasm_reset(struct reasm *r)
{
	r->state = REASM_LEN;
	r->index = 0;
	r->len = 0;
}

void reasm_fini(struct reasm *r)
{
	free(r->buf);
	r->buf = NULL;
	reasm_reset(r);
}

/* reasm_header() - collect length bytes from @c */
static void reasm_header(struct reasm *r, struct cursor *c)
{
	size_t take = MIN((size_t)(REASM_LEN_SIZE - r->index), cursor_remaining(c));
	struct cursor h;

	cursor_pull(c, r->hdr + r->index, take);
	r->index += (uint32_t)take;
	if (r->index < REASM_LEN_SIZE)
		return;
	r->index = 0;
	cursor_init_buf(&h, r->hdr, sizeof(r->hdr));
	if (r->state == REASM_LEN) {
		r->len = cursor_be32(&h);
		r->vnet_len = 0;
		r->state = r->vnet ? REASM_VNET : REASM_DATA;
	} else {
		r->vnet_len = cursor_be32(&h);
		r->state = REASM_DATA;
	}
}

int reasm_feed(struct reasm *r, const uint8_t *p, size_t n, reasm_frame_cb *cb, void *opaque)
{
	struct cursor c;

	cursor_init_buf(&c, p, n);
	while (cursor_remaining(&c) > 0) {
		size_t want, take, avail;
		const uint8_t *f;

		if (r->state != REASM_DATA) {
			reasm_header(r, &c);
			continue;
		}
		want = (size_t)r->len - r->index;
		take = MIN(want, cursor_remaining(&c));
		if ((size_t)r->index + take > REASM_MAX) {
			/* as QEMU: only once the bytes are really there */
			reasm_reset(r);
			return -1;
		}
		f = cursor_contig(&c, &avail);
		cursor_skip(&c, take);
		if (r->index == 0 && take == want) {
			/* the whole frame is in the input: no copy */
			reasm_reset(r);
			cb(opaque, f, take);
			continue;
		}
		memcpy(r->buf + r->index, f, take);
		r->index += (uint32_t)take;
		if (r->index >= r->len) {
			size_t len = r->len;

			reasm_reset(r);
			cb(opaque, r->buf, len);
		}
	}
	return 0;
}
