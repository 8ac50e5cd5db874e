// SPDX-License-Identifier: MIT
/* test_virtq.c - the ring walker against crafted rings in a memfd: good chains, and every
 * way a guest can break the rules (loops, indexes out of range, memory outside the regions) */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backends/virtq.h"
#include "test.h"

#define MEM_SIZE (1u << 20)
#define GPA 0x100000ull
#define UVA 0x7f0000000000ull
#define NUM 8
#define DESC_OFF 0x0
#define AVAIL_OFF 0x1000
#define USED_OFF 0x2000

static uint8_t *mem;
static struct virtq_mem tab;
static struct virtq vq;
static struct virtq_elem el;

static void setup(void)
{
	int fd = memfd_create("virtq-test", 0);

	if (!mem) {
		if (fd < 0 || ftruncate(fd, MEM_SIZE) < 0)
			abort();
		mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (mem == MAP_FAILED)
			abort();
	}
	if (fd >= 0)
		close(fd);
	memset(mem, 0, MEM_SIZE);
	memset(&tab, 0, sizeof(tab));
	tab.n = 1;
	tab.r[0].gpa = GPA;
	tab.r[0].size = MEM_SIZE;
	tab.r[0].uva = UVA;
	tab.r[0].host = mem;
	memset(&vq, 0, sizeof(vq));
	vq.num = NUM;
	vq.desc_uva = UVA + DESC_OFF;
	vq.avail_uva = UVA + AVAIL_OFF;
	vq.used_uva = UVA + USED_OFF;
}

static void desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = mem + DESC_OFF + 16 * i;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

/* offer() - put @head in the avail ring and publish */
static void offer(uint16_t head)
{
	uint16_t idx;

	memcpy(&idx, mem + AVAIL_OFF + 2, 2);
	memcpy(mem + AVAIL_OFF + 4 + 2 * (idx % NUM), &head, 2);
	idx++;
	memcpy(mem + AVAIL_OFF + 2, &idx, 2);
}

static uint16_t used_idx(void)
{
	uint16_t v;

	memcpy(&v, mem + USED_OFF + 2, 2);
	return v;
}

static void test_mem_check(void)
{
	struct virtq_mem m = { 0 };

	m.n = 2;
	m.r[0] = (struct virtq_region){ .gpa = 0, .size = 0x1000, .uva = 0x10000 };
	m.r[1] = (struct virtq_region){ .gpa = 0x1000, .size = 0x1000, .uva = 0x20000 };
	CHECK(virtq_mem_check(&m) == 0);
	m.r[1].gpa = 0xfff;	/* overlaps in guest physical space */
	CHECK(virtq_mem_check(&m) == -1);
	m.r[1].gpa = 0x1000;
	m.r[1].uva = 0x10800;	/* overlaps in user space */
	CHECK(virtq_mem_check(&m) == -1);
	m.r[1].uva = 0x20000;
	m.r[1].size = 0;	/* empty */
	CHECK(virtq_mem_check(&m) == -1);
	m.r[1].size = 0x1000;
	m.r[1].gpa = UINT64_MAX - 0x10;	/* runs past 2^64 */
	CHECK(virtq_mem_check(&m) == -1);
	m.r[1].gpa = 0x1000;
	m.n = VIRTQ_MAX_REGIONS + 1;
	CHECK(virtq_mem_check(&m) == -1);
}

static void test_map(void)
{
	struct iovec iov[4];
	struct virtq_mem m = { 0 };
	static uint8_t a[0x1000], b[0x1000];

	m.n = 2;
	m.r[0] = (struct virtq_region){ .gpa = 0, .size = 0x1000, .uva = 0x10000, .host = a };
	m.r[1] = (struct virtq_region){ .gpa = 0x1000, .size = 0x1000, .uva = 0x20000, .host = b };
	/* a buffer across the boundary of two adjacent regions: two pieces */
	CHECK(virtq_mem_map(&m, 0xff0, 0x20, iov, 4) == 2);
	CHECK(iov[0].iov_base == a + 0xff0 && iov[0].iov_len == 0x10);
	CHECK(iov[1].iov_base == b && iov[1].iov_len == 0x10);
	CHECK(virtq_mem_map(&m, 0xff0, 0x20, iov, 1) == -1);	/* no room for two */
	CHECK(virtq_mem_map(&m, 0x1ff0, 0x11, iov, 4) == -1);	/* past the end */
	CHECK(virtq_mem_map(&m, 0x5000, 1, iov, 4) == -1);	/* nowhere */
	CHECK(virtq_mem_map(&m, UINT64_MAX, 2, iov, 4) == -1);
	CHECK(virtq_mem_map(&m, 0x10, 0, iov, 4) == 0);
	/* user addresses: one region only */
	CHECK(virtq_mem_uva(&m, 0x10000, 0x1000) == a);
	CHECK(virtq_mem_uva(&m, 0x10ff0, 0x11) == NULL);
	CHECK(virtq_mem_uva(&m, 0x30000, 1) == NULL);
}

static void test_map_rings(void)
{
	setup();
	CHECK(virtq_map_rings(&vq, &tab) == 0);
	CHECK(vq.desc == mem + DESC_OFF && vq.avail == mem + AVAIL_OFF && vq.used == mem + USED_OFF);
	vq.desc_uva = UVA + 8;	/* misaligned */
	CHECK(virtq_map_rings(&vq, &tab) == -1 && !vq.desc);
	vq.desc_uva = UVA + MEM_SIZE - 16;	/* runs out of memory */
	CHECK(virtq_map_rings(&vq, &tab) == -1);
	vq.desc_uva = UVA;
	vq.num = 6;	/* not a power of two */
	CHECK(virtq_map_rings(&vq, &tab) == -1);
	vq.num = 0;
	CHECK(virtq_map_rings(&vq, &tab) == -1);
	vq.num = NUM;
	vq.used_uva = UVA + MEM_SIZE - 8;
	CHECK(virtq_map_rings(&vq, &tab) == -1);
}

static void test_good_chains(void)
{
	setup();
	CHECK(virtq_map_rings(&vq, &tab) == 0);
	CHECK(virtq_pop(&vq, &tab, &el) == 0);
	desc(0, GPA + 0x10000, 12, VIRTQ_DESC_F_NEXT, 3);
	desc(3, GPA + 0x20000, 1500, 0, 0);
	offer(0);
	desc(5, GPA + 0x30000, 2048, VIRTQ_DESC_F_WRITE, 0);
	offer(5);
	CHECK(virtq_avail(&vq) == 2);
	CHECK(virtq_pop(&vq, &tab, &el) == 1);
	CHECK(el.head == 0 && el.out_num == 2 && el.in_num == 0 && el.out_len == 1512);
	CHECK(el.iov[0].iov_base == mem + 0x10000 && el.iov[1].iov_len == 1500);
	CHECK(virtq_pop(&vq, &tab, &el) == 1);
	CHECK(el.head == 5 && el.out_num == 0 && el.in_num == 1 && el.in_len == 2048);
	CHECK(virtq_pop(&vq, &tab, &el) == 0);
	virtq_unpop(&vq, 1);
	CHECK(virtq_pop(&vq, &tab, &el) == 1 && el.head == 5);
	virtq_push(&vq, 0, 0, 0);
	virtq_push(&vq, 1, 5, 100);
	CHECK(used_idx() == 0);
	virtq_flush(&vq, 2);
	CHECK(used_idx() == 2);
	{
		uint32_t id, len;

		memcpy(&id, mem + USED_OFF + 4 + 8, 4);
		memcpy(&len, mem + USED_OFF + 4 + 12, 4);
		CHECK(id == 5 && len == 100);
	}
	/* the avail index wraps at 2^16 */
	setup();
	CHECK(virtq_map_rings(&vq, &tab) == 0);
	vq.last_avail = 0xffff;
	{
		uint16_t idx = 0xffff;

		memcpy(mem + AVAIL_OFF + 2, &idx, 2);
	}
	desc(1, GPA + 0x10000, 64, 0, 0);
	offer(1);
	CHECK(virtq_pop(&vq, &tab, &el) == 1 && el.head == 1 && vq.last_avail == 0);
	CHECK(!vq.broken);
}

/* broken_case() - one offered chain that must break the queue */
static void broken_case(const char *what, void (*build)(void))
{
	setup();
	CHECK(virtq_map_rings(&vq, &tab) == 0);
	build();
	if (virtq_pop(&vq, &tab, &el) != -1 || !vq.broken)
		printf("  case: %s\n", what);
	CHECK(vq.broken);
	/* a broken queue stays broken and pops nothing */
	CHECK(virtq_pop(&vq, &tab, &el) == -1);
	CHECK(virtq_avail(&vq) == 0);
	CHECK(!virtq_need_call(&vq));
}

static void b_loop(void) { desc(0, GPA, 4, VIRTQ_DESC_F_NEXT, 1); desc(1, GPA, 4, VIRTQ_DESC_F_NEXT, 0); offer(0); }
static void b_self(void) { desc(2, GPA, 4, VIRTQ_DESC_F_NEXT, 2); offer(2); }
static void b_next(void) { desc(0, GPA, 4, VIRTQ_DESC_F_NEXT, NUM); offer(0); }
static void b_head(void) { offer(NUM + 3); }
static void b_addr(void) { desc(0, GPA + MEM_SIZE, 4, 0, 0); offer(0); }
static void b_span(void) { desc(0, GPA + MEM_SIZE - 2, 4, 0, 0); offer(0); }
static void b_low(void) { desc(0, GPA - 4, 4, 0, 0); offer(0); }
static void b_huge(void) { desc(0, GPA, 0xffffffffu, 0, 0); offer(0); }
static void b_order(void) { desc(0, GPA, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1); desc(1, GPA, 4, 0, 0); offer(0); }
static void b_indirect(void) { desc(0, GPA, 16, VIRTQ_DESC_F_INDIRECT, 0); offer(0); }
static void b_idx(void)
{
	uint16_t idx = NUM + 1;	/* more than the ring holds */

	memcpy(mem + AVAIL_OFF + 2, &idx, 2);
}

static void test_broken(void)
{
	broken_case("two descriptors in a loop", b_loop);
	broken_case("a descriptor chained to itself", b_self);
	broken_case("next index out of range", b_next);
	broken_case("head out of range", b_head);
	broken_case("buffer outside memory", b_addr);
	broken_case("buffer running past the end", b_span);
	broken_case("buffer below the region", b_low);
	broken_case("4 GiB buffer", b_huge);
	broken_case("readable after writable", b_order);
	broken_case("indirect (not negotiated)", b_indirect);
	broken_case("avail index jumps past the ring size", b_idx);
}

static void test_long_chain(void)
{
	/* a legal but too long chain on a big ring: refused (VIRTQ_CHAIN_MAX) */
	setup();
	vq.num = 256;
	vq.avail_uva = UVA + 0x8000;
	vq.used_uva = UVA + 0x9000;
	CHECK(virtq_map_rings(&vq, &tab) == 0);
	for (unsigned i = 0; i <= VIRTQ_CHAIN_MAX; i++) {
		uint8_t *d = mem + 16 * i;
		uint64_t a = GPA + 0x10000;
		uint32_t l = 8;
		uint16_t f = i < VIRTQ_CHAIN_MAX ? VIRTQ_DESC_F_NEXT : 0, n = (uint16_t)(i + 1);

		memcpy(d, &a, 8);
		memcpy(d + 8, &l, 4);
		memcpy(d + 12, &f, 2);
		memcpy(d + 14, &n, 2);
	}
	{
		uint16_t idx = 1, head = 0;

		memcpy(mem + 0x8000 + 4, &head, 2);
		memcpy(mem + 0x8000 + 2, &idx, 2);
	}
	CHECK(virtq_pop(&vq, &tab, &el) == -1 && vq.broken);
}

static void test_event_idx(void)
{
	uint16_t ev;

	setup();
	vq.event_idx = true;
	CHECK(virtq_map_rings(&vq, &tab) == 0);
	for (int i = 0; i < 4; i++) {
		desc((unsigned)i, GPA + 0x10000, 64, 0, 0);
		offer((uint16_t)i);
	}
	/* first interrupt always */
	CHECK(virtq_pop(&vq, &tab, &el) == 1);
	virtq_push(&vq, 0, el.head, 0);
	virtq_flush(&vq, 1);
	CHECK(virtq_need_call(&vq));
	/* the driver asks to be told after used entry 3 (used_event 2) */
	ev = 2;
	memcpy(mem + AVAIL_OFF + 4 + 2 * NUM, &ev, 2);
	CHECK(virtq_pop(&vq, &tab, &el) == 1);
	virtq_push(&vq, 0, el.head, 0);
	virtq_flush(&vq, 1);
	CHECK(!virtq_need_call(&vq));	/* used idx 2: event 2 not passed yet */
	CHECK(virtq_pop(&vq, &tab, &el) == 1);
	virtq_push(&vq, 0, el.head, 0);
	virtq_flush(&vq, 1);
	CHECK(virtq_need_call(&vq));	/* used idx 3 passed 2 */
	/* want_kick writes the avail index as it is now into avail_event */
	virtq_want_kick(&vq);
	memcpy(&ev, mem + USED_OFF + 4 + 8 * NUM, 2);
	CHECK(ev == 4);
	/* without event idx, NO_INTERRUPT decides */
	vq.event_idx = false;
	{
		uint16_t fl = VIRTQ_AVAIL_F_NO_INTERRUPT;

		memcpy(mem + AVAIL_OFF, &fl, 2);
		CHECK(!virtq_need_call(&vq));
		fl = 0;
		memcpy(mem + AVAIL_OFF, &fl, 2);
		CHECK(virtq_need_call(&vq));
	}
}

static void test_copy_to(void)
{
	uint8_t a[3], b[5];
	struct iovec iov[2] = { { a, 3 }, { b, 5 } };

	memset(a, 0, 3);
	memset(b, 0, 5);
	CHECK(virtq_iov_copy_to(iov, 2, 2, "wxyz", 4) == 4);
	CHECK(a[2] == 'w' && b[0] == 'x' && b[2] == 'z');
	CHECK(virtq_iov_copy_to(iov, 2, 6, "0123", 4) == 2);
}

int main(void)
{
	RUN(test_mem_check);
	RUN(test_map);
	RUN(test_map_rings);
	RUN(test_good_chains);
	RUN(test_broken);
	RUN(test_long_chain);
	RUN(test_event_idx);
	RUN(test_copy_to);
	TEST_DONE();
}
