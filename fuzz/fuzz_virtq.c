// SPDX-License-Identifier: MIT
/* fuzz_virtq.c - libFuzzer target: the descriptor-chain walker on rings the input writes */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/virtq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MEM_SIZE 16384
#define GPA0 0x1000
#define GPA1 (GPA0 + MEM_SIZE / 2)	/* two adjacent regions, split in the middle */
#define UVA 0x7f0000000000ull

static uint8_t mem[MEM_SIZE];

static void in_mem(const struct iovec *iov, int n)
{
	for (int i = 0; i < n; i++) {
		const uint8_t *b = iov[i].iov_base;

		if (b < mem || b + iov[i].iov_len > mem + MEM_SIZE || b + iov[i].iov_len < b)
			abort();
	}
}

/*
 * Input: [num_log2][desc_off16][avail_off16][used_off16][last_avail16][flags][memory...]
 * flags bit 0: event idx. Ring offsets are user addresses relative to the region start (they
 * may be anything); the rest of the input is the guest memory (rings and buffers).
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtq_mem m = { 0 };
	struct virtq vq = { 0 };
	static struct virtq_elem e;

	if (size < 10)
		return 0;
	memset(mem, 0, sizeof(mem));
	memcpy(mem, data + 10, size - 10 < MEM_SIZE ? size - 10 : MEM_SIZE);
	m.n = 2;
	m.r[0] = (struct virtq_region){ .gpa = GPA0, .size = MEM_SIZE / 2, .uva = UVA, .host = mem };
	m.r[1] = (struct virtq_region){ .gpa = GPA1, .size = MEM_SIZE / 2, .uva = UVA + MEM_SIZE / 2,
					.host = mem + MEM_SIZE / 2 };
	if (virtq_mem_check(&m) < 0)
		abort();
	vq.num = (uint16_t)(1u << (data[0] % 16));
	vq.desc_uva = UVA + (data[1] | data[2] << 8);
	vq.avail_uva = UVA + (data[3] | data[4] << 8);
	vq.used_uva = UVA + (data[5] | data[6] << 8);
	vq.last_avail = (uint16_t)(data[7] | data[8] << 8);
	vq.event_idx = data[9] & 1;
	if (virtq_map_rings(&vq, &m) < 0)
		return 0;
	for (int i = 0; i < 64; i++) {
		int r = virtq_pop(&vq, &m, &e);

		if (r <= 0) {
			if (r < 0 && !vq.broken)
				abort();
			break;
		}
		if (e.head >= vq.num || e.out_num + e.in_num > VIRTQ_IOV_MAX)
			abort();
		in_mem(e.iov, e.out_num + e.in_num);
		virtq_push(&vq, 0, e.head, (uint32_t)e.in_len);
		virtq_flush(&vq, 1);
		virtq_need_call(&vq);
		if (i == 3)
			virtq_unpop(&vq, 0);
	}
	virtq_want_kick(&vq);
	return 0;
}
