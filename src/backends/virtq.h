/* SPDX-License-Identifier: MIT */
/* virtq.h - guest memory table and split virtqueues, with every guest value checked before use */
#ifndef QNET_VIRTQ_H
#define QNET_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/*
 * DOC: Guest memory and split virtqueues (virtio 1.x, 2.7)
 *
 * The guest's memory reaches qnet as up to VIRTQ_MAX_REGIONS regions (vhost-user
 * SET_MEM_TABLE): guest physical address, size, the front end's (QEMU's) user
 * address and where qnet mapped it. virtq_mem_check() refuses empty regions,
 * regions whose ends overflow 64 bits and regions that overlap (in guest
 * physical or in user address space). Descriptor addresses are guest physical,
 * ring addresses are QEMU user addresses; both are translated only when the
 * whole range lies inside the mapped regions (a buffer may span adjacent regions
 * and then becomes several iovec entries).
 *
 * The guest shares the rings with qnet and may change them at any moment, so
 * every value is read once into a local (indexes, descriptors) and checked:
 * the ring size is a power of two up to VIRTQ_MAX_SIZE, the rings are aligned
 * and inside memory, a head and every next index are below the size, a chain
 * has at most VIRTQ_CHAIN_MAX descriptors and never more than the ring size
 * (loop detection), device-readable descriptors come before device-writable
 * ones, indirect descriptors (not negotiated) are refused, and the guest may
 * not make more than the ring size available at once. A violation marks the
 * queue broken: it is not touched again until it is set up anew.
 */

#define VIRTQ_MAX_REGIONS 8
#define VIRTQ_MAX_SIZE 32768
/* descriptors in one chain (a Linux guest uses at most MAX_SKB_FRAGS + 2 without indirect) */
#define VIRTQ_CHAIN_MAX 64
/* iovec entries of one popped chain (a descriptor may span two regions) */
#define VIRTQ_IOV_MAX (2 * VIRTQ_CHAIN_MAX)

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

/**
 * struct virtq_region - one guest memory region
 * @gpa:	guest physical address
 * @size:	bytes
 * @uva:	the front end's user address of the region
 * @host:	where it is in qnet (NULL: not mapped)
 * @map, @map_len: the whole mapping (from offset 0 of the fd), for munmap
 */
struct virtq_region {
	uint64_t gpa, size, uva;
	uint8_t *host;
	void *map;
	size_t map_len;
};

/* struct virtq_mem - the memory table (@n regions) */
struct virtq_mem {
	unsigned n;
	struct virtq_region r[VIRTQ_MAX_REGIONS];
};

/* virtq_mem_check() - 0 if the regions are non-empty, don't overflow and don't overlap, else -1 */
int virtq_mem_check(const struct virtq_mem *m);
/* virtq_mem_uva() - host pointer of [@uva, @uva + @len) if it lies in one region, else NULL */
void *virtq_mem_uva(const struct virtq_mem *m, uint64_t uva, uint64_t len);
/**
 * virtq_mem_map() - host iovec of guest physical [@gpa, @gpa + @len), split where regions end
 * Return: entries written to @iov (0 for @len 0), or -1 if any byte is outside the regions
 *	   or more than @max entries would be needed
 */
int virtq_mem_map(const struct virtq_mem *m, uint64_t gpa, uint64_t len, struct iovec *iov,
		  int max);

/**
 * struct virtq - one split virtqueue as the device sees it
 * @num:	ring size (0: not set up)
 * @desc_uva, @avail_uva, @used_uva: ring addresses (front end's user addresses)
 * @desc, @avail, @used: their host addresses (NULL until virtq_map_rings() succeeded)
 * @last_avail:	next avail ring entry the device will take
 * @used_idx:	next used ring entry the device will fill (published by virtq_flush())
 * @signalled_used: used index at the last interrupt (event idx)
 * @signalled_valid: @signalled_used means something
 * @event_idx:	VIRTIO_RING_F_EVENT_IDX negotiated
 * @broken:	the guest broke the ring rules: the queue is dead until set up again
 */
struct virtq {
	uint16_t num;
	uint64_t desc_uva, avail_uva, used_uva;
	uint8_t *desc, *avail, *used;
	uint16_t last_avail;
	uint16_t used_idx;
	uint16_t signalled_used;
	bool signalled_valid;
	bool event_idx;
	bool broken;
};

/**
 * struct virtq_elem - one popped chain
 * @head:	its head descriptor index (for virtq_push())
 * @out_num, @in_num: iovec entries readable / writable by the device (out first in @iov)
 * @out_len, @in_len: their bytes
 * @iov:	device-readable entries, then device-writable ones
 */
struct virtq_elem {
	uint16_t head;
	int out_num, in_num;
	size_t out_len, in_len;
	struct iovec iov[VIRTQ_IOV_MAX];
};

/* virtq_map_rings() - translate the ring addresses through @m (checks alignment and size); 0 or -1 */
int virtq_map_rings(struct virtq *vq, const struct virtq_mem *m);
/* virtq_avail() - chains the guest made available and the device has not taken (0 if broken) */
unsigned virtq_avail(struct virtq *vq);
/**
 * virtq_pop() - take the next available chain
 * Return: 1 with @e filled, 0 if none is available, -1 if the ring or the chain breaks the
 *	   rules (@vq->broken is then set)
 */
int virtq_pop(struct virtq *vq, const struct virtq_mem *m, struct virtq_elem *e);
/* virtq_unpop() - give back the @n chains popped last (not pushed) */
void virtq_unpop(struct virtq *vq, unsigned n);
/* virtq_push() - write used entry number @i after the published index (0 for the first) */
void virtq_push(struct virtq *vq, unsigned i, uint16_t head, uint32_t len);
/* virtq_flush() - publish @n pushed entries (used index) */
void virtq_flush(struct virtq *vq, unsigned n);
/* virtq_need_call() - the driver wants an interrupt for what was published since the last one */
bool virtq_need_call(struct virtq *vq);
/* virtq_want_kick() - with event idx: ask for a kick when the next chain is made available */
void virtq_want_kick(struct virtq *vq);

/* virtq_iov_copy_to() - copy @len bytes of @buf into @iov from byte @off; bytes copied */
size_t virtq_iov_copy_to(const struct iovec *iov, int n, size_t off, const void *buf, size_t len);

#endif /* QNET_VIRTQ_H */
