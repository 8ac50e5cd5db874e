// SPDX-License-Identifier: MIT
// virtq.c - guest memory table and split virtqueue access (see the DOC block in virtq.h)

#include <endian.h>
#include <string.h>

#include "virtq.h"

/* ring layouts (virtio 1.x 2.7): sizes for @num entries, event fields included */
#define DESC_SIZE 16u
static inline uint64_t avail_bytes(uint64_t num) { return 6 + 2 * num; }
static inline uint64_t used_bytes(uint64_t num) { return 6 + 8 * num; }

/* range_end() - @a + @len - 1 without wrapping; false if it wraps or @len is 0 */
static bool range_end(uint64_t a, uint64_t len, uint64_t *last)
{
	if (!len || a + (len - 1) < a)
		return false;
	*last = a + (len - 1);
	return true;
}

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a <= b + (blen - 1) && b <= a + (alen - 1);
}

int virtq_mem_check(const struct virtq_mem *m)
{
	uint64_t last;

	if (m->n > VIRTQ_MAX_REGIONS)
		return -1;
	for (unsigned i = 0; i < m->n; i++) {
		const struct virtq_region *r = &m->r[i];

		if (!range_end(r->gpa, r->size, &last) || !range_end(r->uva, r->size, &last))
			return -1;
		if (r->size > SIZE_MAX)
			return -1;
		for (unsigned j = 0; j < i; j++) {
			const struct virtq_region *o = &m->r[j];

			if (overlap(r->gpa, r->size, o->gpa, o->size) ||
			    overlap(r->uva, r->size, o->uva, o->size))
				return -1;
		}
	}
	return 0;
}

void *virtq_mem_uva(const struct virtq_mem *m, uint64_t uva, uint64_t len)
{
	for (unsigned i = 0; i < m->n && i < VIRTQ_MAX_REGIONS; i++) {
		const struct virtq_region *r = &m->r[i];

		if (!r->host || uva < r->uva || uva - r->uva >= r->size)
			continue;
		if (len > r->size - (uva - r->uva))
			return NULL;
		return r->host + (uva - r->uva);
	}
	return NULL;
}

int virtq_mem_map(const struct virtq_mem *m, uint64_t gpa, uint64_t len, struct iovec *iov,
		  int max)
{
	int n = 0;

	while (len) {
		const struct virtq_region *r = NULL;
		uint64_t off, take;

		for (unsigned i = 0; i < m->n && i < VIRTQ_MAX_REGIONS; i++) {
			const struct virtq_region *c = &m->r[i];

			if (c->host && gpa >= c->gpa && gpa - c->gpa < c->size) {
				r = c;
				break;
			}
		}
		if (!r || n >= max)
			return -1;
		off = gpa - r->gpa;
		take = r->size - off;
		if (take > len)
			take = len;
		iov[n].iov_base = r->host + off;
		iov[n].iov_len = (size_t)take;
		n++;
		len -= take;
		gpa += take;
		if (len && !gpa)	/* wrapped past 2^64 */
			return -1;
	}
	return n;
}

static inline uint16_t ld16(const uint8_t *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_RELAXED));
}

static inline void st16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)p, htole16(v), __ATOMIC_RELAXED);
}

static inline void st32(uint8_t *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)(void *)p, htole32(v), __ATOMIC_RELAXED);
}

int virtq_map_rings(struct virtq *vq, const struct virtq_mem *m)
{
	vq->desc = vq->avail = vq->used = NULL;
	if (!vq->num || vq->num > VIRTQ_MAX_SIZE || (vq->num & (vq->num - 1)))
		return -1;
	if ((vq->desc_uva & 15) || (vq->avail_uva & 1) || (vq->used_uva & 3))
		return -1;
	vq->desc = virtq_mem_uva(m, vq->desc_uva, (uint64_t)DESC_SIZE * vq->num);
	vq->avail = virtq_mem_uva(m, vq->avail_uva, avail_bytes(vq->num));
	vq->used = virtq_mem_uva(m, vq->used_uva, used_bytes(vq->num));
	if (!vq->desc || !vq->avail || !vq->used) {
		vq->desc = vq->avail = vq->used = NULL;
		return -1;
	}
	return 0;
}

unsigned virtq_avail(struct virtq *vq)
{
	uint16_t idx, n;

	if (vq->broken || !vq->avail)
		return 0;
	idx = ld16(vq->avail + 2);
	n = (uint16_t)(idx - vq->last_avail);
	if (n > vq->num) {	/* more than the ring holds: the index is garbage */
		vq->broken = true;
		return 0;
	}
	return n;
}

static int broken(struct virtq *vq)
{
	vq->broken = true;
	return -1;
}

int virtq_pop(struct virtq *vq, const struct virtq_mem *m, struct virtq_elem *e)
{
	uint16_t head, idx;
	unsigned steps = 0;

	if (vq->broken || !vq->desc)
		return -1;
	if (!virtq_avail(vq))
		return vq->broken ? -1 : 0;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);	/* ring entries after the index */
	head = ld16(vq->avail + 4 + 2 * (size_t)(vq->last_avail & (vq->num - 1)));
	if (head >= vq->num)
		return broken(vq);
	e->head = head;
	e->out_num = e->in_num = 0;
	e->out_len = e->in_len = 0;
	idx = head;
	for (;;) {
		uint8_t raw[DESC_SIZE];
		uint64_t addr;
		uint32_t len;
		uint16_t flags, next;
		int used = e->out_num + e->in_num, k;

		/* a chain visits each descriptor at most once: longer means a loop */
		if (++steps > vq->num || steps > VIRTQ_CHAIN_MAX)
			return broken(vq);
		memcpy(raw, vq->desc + (size_t)idx * DESC_SIZE, DESC_SIZE);
		memcpy(&addr, raw, 8);
		memcpy(&len, raw + 8, 4);
		memcpy(&flags, raw + 12, 2);
		memcpy(&next, raw + 14, 2);
		addr = le64toh(addr);
		len = le32toh(len);
		flags = le16toh(flags);
		next = le16toh(next);
		if (flags & VIRTQ_DESC_F_INDIRECT)
			return broken(vq);
		if (!(flags & VIRTQ_DESC_F_WRITE) && e->in_num)
			return broken(vq);	/* readable after writable */
		k = virtq_mem_map(m, addr, len, e->iov + used, VIRTQ_IOV_MAX - used);
		if (k < 0)
			return broken(vq);
		if (flags & VIRTQ_DESC_F_WRITE) {
			e->in_num += k;
			e->in_len += len;
		} else {
			e->out_num += k;
			e->out_len += len;
		}
		if (!(flags & VIRTQ_DESC_F_NEXT))
			break;
		if (next >= vq->num)
			return broken(vq);
		idx = next;
	}
	vq->last_avail++;
	return 1;
}

void virtq_unpop(struct virtq *vq, unsigned n)
{
	vq->last_avail = (uint16_t)(vq->last_avail - n);
}

void virtq_push(struct virtq *vq, unsigned i, uint16_t head, uint32_t len)
{
	uint8_t *ent;

	if (!vq->used || vq->broken)
		return;
	ent = vq->used + 4 + 8 * (size_t)((vq->used_idx + i) & (vq->num - 1));
	st32(ent, head);
	st32(ent + 4, len);
}

void virtq_flush(struct virtq *vq, unsigned n)
{
	if (!vq->used || vq->broken || !n)
		return;
	__atomic_thread_fence(__ATOMIC_RELEASE);	/* entries before the index */
	vq->used_idx = (uint16_t)(vq->used_idx + n);
	st16(vq->used + 2, vq->used_idx);
}

bool virtq_need_call(struct virtq *vq)
{
	uint16_t old, ev;
	bool valid;

	if (!vq->avail || vq->broken)
		return false;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);	/* used index before the driver's flags */
	if (!vq->event_idx)
		return !(ld16(vq->avail) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	ev = ld16(vq->avail + 4 + 2 * (size_t)vq->num);
	old = vq->signalled_used;
	valid = vq->signalled_valid;
	vq->signalled_used = vq->used_idx;
	vq->signalled_valid = true;
	if (!valid)
		return true;
	/* the driver's used_event lies in (old, new]: it asked to be told */
	return (uint16_t)(vq->used_idx - ev - 1) < (uint16_t)(vq->used_idx - old);
}

void virtq_want_kick(struct virtq *vq)
{
	if (!vq->event_idx || !vq->used || vq->broken)
		return;
	/* the avail index as it is now: kick on the next buffer even when some are waiting
	 * unused (an RX frame that needs more buffers than there are) */
	st16(vq->used + 4 + 8 * (size_t)vq->num, ld16(vq->avail + 2));
	__atomic_thread_fence(__ATOMIC_SEQ_CST);	/* before re-reading the avail index */
}

size_t virtq_iov_copy_to(const struct iovec *iov, int n, size_t off, const void *buf, size_t len)
{
	const uint8_t *src = buf;
	size_t done = 0;

	for (int i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len, take;

		if (off >= l) {
			off -= l;
			continue;
		}
		take = l - off;
		if (take > len - done)
			take = len - done;
		memcpy((uint8_t *)iov[i].iov_base + off, src + done, take);
		done += take;
		off = 0;
	}
	return done;
}
