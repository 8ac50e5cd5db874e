// SPDX-License-Identifier: MIT
// vhost_user.c - the vhost-user netdev: qnet as the back end of QEMU's virtio-net rings

/*
 * DOC: vhost-user back end
 *
 * `-netdev vhost-user,id=ID,chardev=CHR[,queues=N]` serves the rings of a
 * virtio-net device of a QEMU started with `-netdev vhost-user` on the same unix
 * socket (CHR is a `-chardev socket,path=...`, server or client). The chardev
 * makes and keeps the connection (reconnect=, server accepting again); this file
 * reads the messages itself (recvmsg, for the fds QEMU passes with SCM_RIGHTS),
 * one at a time, header then payload, so the fds that arrive belong to the
 * message being read.
 *
 * Protocol (back-end side): GET/SET_FEATURES, GET/SET_PROTOCOL_FEATURES (MQ,
 * REPLY_ACK), SET_OWNER, RESET_OWNER, RESET_DEVICE, SET_MEM_TABLE (the region
 * fds are mapped after checking them against their file size; the old maps go
 * once the new table is in place), SET_VRING_NUM/ADDR/BASE/KICK/CALL/ERR/ENABLE,
 * GET_VRING_BASE (stops the ring), GET_QUEUE_NUM. A message with a wrong size,
 * a version other than 1, unexpected fds or a payload beyond VU_PAYLOAD_MAX is
 * a protocol error: counted, logged, and the connection is dropped (QEMU
 * reconnects if told to). A message that is well formed but asks for something
 * impossible (a memory table that overlaps, a ring outside memory) is refused
 * (REPLY_ACK: a non-zero reply).
 *
 * Data path: even rings are RX (to the guest), odd rings TX, one pair per
 * queue. A kick on a TX ring pops chains (virtq.c checks every index, address
 * and chain), copies each frame out of guest memory (the guest may change it
 * while qnet parses it) with its virtio-net header as struct net_meta, and
 * sends it with net_send_meta(); at most VU_TX_BUDGET frames per turn, the rest
 * after other events, and none while the core holds one of ours queued; a
 * disabled ring keeps its frames until SET_VRING_ENABLE.
 * Frames for the guest go to the first running RX ring, filling as many
 * buffers as needed with MRG_RXBUF (num_buffers in the header), with the
 * frame's metadata as the header (the guest's GUEST_CSUM/TSO features become
 * nc->offloads; the core segments the rest). No buffers: receive returns 0 and
 * the next kick of that ring flushes the core's queue. Interrupts (call
 * eventfds) are raised once per batch from a deferred handler, suppressed as
 * the driver asks (event idx or NO_INTERRUPT).
 *
 * A ring that breaks the rules is marked broken: qnet logs it once, stops
 * touching it and drops what would go through it until QEMU sets the ring up
 * again (a guest reset does). NEEDS_RESET is not signalled: QEMU 7.2 keeps
 * the virtio-net config space (and its status) for vhost-user itself.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../cli/netdev.h"
#include "../core/chardev.h"
#include "../core/gso.h"
#include "../core/log.h"
#include "../core/loop.h"
#include "virtq.h"
#include "vhost_user.h"

/* virtio-net / virtio feature bits */
#define F_CSUM 0
#define F_GUEST_CSUM 1
#define F_GUEST_TSO4 7
#define F_GUEST_TSO6 8
#define F_GUEST_ECN 9
#define F_HOST_TSO4 11
#define F_HOST_TSO6 12
#define F_HOST_ECN 13
#define F_MRG_RXBUF 15
#define F_STATUS 16
#define F_MQ 22
#define F_EVENT_IDX 29
#define F_PROTOCOL_FEATURES 30
#define F_VERSION_1 32
#define BIT(n) (1ull << (n))

/* protocol features */
#define PF_MQ 0
#define PF_REPLY_ACK 3

/* requests (front end to back end) */
enum {
	VU_GET_FEATURES = 1, VU_SET_FEATURES, VU_SET_OWNER, VU_RESET_OWNER, VU_SET_MEM_TABLE,
	VU_SET_LOG_BASE, VU_SET_LOG_FD, VU_SET_VRING_NUM, VU_SET_VRING_ADDR, VU_SET_VRING_BASE,
	VU_GET_VRING_BASE, VU_SET_VRING_KICK, VU_SET_VRING_CALL, VU_SET_VRING_ERR,
	VU_GET_PROTOCOL_FEATURES, VU_SET_PROTOCOL_FEATURES, VU_GET_QUEUE_NUM, VU_SET_VRING_ENABLE,
	VU_SEND_RARP, VU_NET_SET_MTU, VU_RESET_DEVICE = 34,
};

#define VU_FLAG_VERSION 1u
#define VU_FLAG_REPLY 4u
#define VU_FLAG_NEED_REPLY 8u
#define VU_VRING_IDX_MASK 0xffu
#define VU_VRING_NOFD 0x100u

#define VU_HDR 12
#define VU_PAYLOAD_MAX 4096
#define VU_MAX_FDS 8
#define VU_MSG_BUDGET 64
#define VU_TX_BUDGET 256
/* buffers one frame may take with MRG_RXBUF (64 KiB frame in 1.5 KiB buffers, with room) */
#define VU_RX_BUFS_MAX 128

struct vhost_user;

/**
 * struct vu_vq - one ring and its eventfds
 * @q:		the ring (virtq.c)
 * @vu:		owner
 * @kick:	kick eventfd on the loop (fd -1: none)
 * @call_fd, @err_fd: eventfds from QEMU, or -1
 * @started:	a kick fd arrived and GET_VRING_BASE has not stopped it
 * @enabled:	SET_VRING_ENABLE (or implied without protocol features)
 * @call_pending: used entries published since the last interrupt decision
 * @broken_logged: the broken ring was reported
 */
struct vu_vq {
	struct virtq q;
	struct vhost_user *vu;
	struct loop_fd kick;
	int call_fd, err_fd;
	bool started, enabled;
	bool call_pending;
	bool broken_logged;
};

struct vhost_user {
	struct net_client nc;
	struct chardev *chr;
	unsigned queues;
	uint64_t features, protocol_features;
	size_t hdr_len;
	struct virtq_mem mem;
	struct vu_vq vq[2 * VHOST_USER_QUEUES_MAX];
	/* the message being read */
	uint8_t msg[VU_HDR + VU_PAYLOAD_MAX];
	size_t got;
	int fds[VU_MAX_FDS];
	int nfds;
	bool fds_overflow;
	/* data path */
	bool rx_waiting;
	bool tx_blocked;
	bool tx_more;
	struct loop_defer defer;
	uint8_t *txbuf;
	struct virtq_elem elem, rx_first;
	uint16_t rx_heads[VU_RX_BUFS_MAX];
	uint32_t rx_lens[VU_RX_BUFS_MAX];
	struct vhost_user_stats stats;
};

static uint64_t vu_offered(const struct vhost_user *vu)
{
	uint64_t f = BIT(F_CSUM) | BIT(F_GUEST_CSUM) | BIT(F_GUEST_TSO4) | BIT(F_GUEST_TSO6) |
		     BIT(F_GUEST_ECN) | BIT(F_HOST_TSO4) | BIT(F_HOST_TSO6) | BIT(F_HOST_ECN) |
		     BIT(F_MRG_RXBUF) | BIT(F_STATUS) | BIT(F_EVENT_IDX) |
		     BIT(F_PROTOCOL_FEATURES) | BIT(F_VERSION_1);

	if (vu->queues > 1)
		f |= BIT(F_MQ);
	return f;
}

static const uint64_t vu_protocol_offered = BIT(PF_MQ) | BIT(PF_REPLY_ACK);

/* ---- rings and device state ------------------------------------------------------------------ */

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void vq_stop(struct vu_vq *v)
{
	int fd = v->kick.fd;

	if (fd >= 0) {
		loop_fd_del(&v->kick);
		close(fd);
		v->kick.fd = -1;
	}
	v->started = false;
}

static void vq_reset(struct vu_vq *v)
{
	vq_stop(v);
	close_fd(&v->call_fd);
	close_fd(&v->err_fd);
	memset(&v->q, 0, sizeof(v->q));
	v->enabled = false;
	v->call_pending = false;
	v->broken_logged = false;
}

static void mem_unmap(struct virtq_mem *m)
{
	for (unsigned i = 0; i < m->n && i < VIRTQ_MAX_REGIONS; i++)
		if (m->r[i].map)
			munmap(m->r[i].map, m->r[i].map_len);
	memset(m, 0, sizeof(*m));
}

static void vu_update_link(struct vhost_user *vu)
{
	net_set_link_down(&vu->nc, !vu->chr || !chardev_connected(vu->chr));
}

/* vu_reset() - forget everything QEMU set up (disconnect, RESET_OWNER, RESET_DEVICE) */
static void vu_reset(struct vhost_user *vu)
{
	for (unsigned i = 0; i < 2 * VHOST_USER_QUEUES_MAX; i++)
		vq_reset(&vu->vq[i]);
	mem_unmap(&vu->mem);
	vu->features = 0;
	vu->protocol_features = 0;
	vu->hdr_len = NET_VNET_HDR_LEN;
	vu->nc.offloads = 0;
	vu->rx_waiting = false;
	vu->tx_more = false;
	/* frames the core queued for us are dropped by receive now (no ring runs) */
	if (vu->nc.receive_disabled && !vu->nc.deleted)
		net_flush_queued(&vu->nc);
}

static void vq_broken(struct vu_vq *v, const char *what)
{
	v->q.broken = true;
	if (!v->broken_logged) {
		v->broken_logged = true;
		v->vu->stats.broken_rings++;
		error_report("vhost-user %s: ring %d broken (%s): stopped until the guest resets it",
			     v->vu->nc.name, (int)(v - v->vu->vq), what);
	}
	if (v->kick.fd >= 0)
		loop_fd_mod(&v->kick, 0);
}

static bool vq_running(const struct vu_vq *v)
{
	return v->started && v->enabled && !v->q.broken && v->q.desc;
}

/* ---- data path ------------------------------------------------------------------------------- */

static void vu_call(struct vu_vq *v)
{
	v->call_pending = true;
	loop_defer(&v->vu->defer);
}

static void vu_tx_sent(struct net_client *nc, ssize_t ret)
{
	struct vhost_user *vu = (struct vhost_user *)nc;

	vu->tx_blocked = false;
	vu->tx_more = true;
	loop_defer(&vu->defer);
}

/* vu_tx() - frames from one TX ring to the core, VU_TX_BUDGET at most */
static void vu_tx(struct vu_vq *v)
{
	struct vhost_user *vu = v->vu;
	unsigned budget = VU_TX_BUDGET;

	/* a disabled ring keeps its frames until it is enabled (QEMU enables right after the kick) */
	while (v->started && v->enabled && v->q.desc && !v->q.broken && !vu->tx_blocked) {
		struct virtq_elem *e = &vu->elem;
		uint8_t hdr[NET_VNET_HDR_MRG_LEN];
		struct net_meta meta;
		struct iovec iov;
		size_t len;
		int r;

		if (!budget--) {
			vu->tx_more = true;
			loop_defer(&vu->defer);
			return;
		}
		r = virtq_pop(&v->q, &vu->mem, e);
		if (r < 0) {
			vq_broken(v, "bad TX chain");
			return;
		}
		if (r == 0) {
			virtq_want_kick(&v->q);
			if (virtq_avail(&v->q))
				continue;
			return;
		}
		len = e->out_len;
		if (e->in_num || len < vu->hdr_len || len - vu->hdr_len > NET_BUFSIZE) {
			vu->stats.tx_bad++;
			virtq_push(&v->q, 0, e->head, 0);
			virtq_flush(&v->q, 1);
			vu_call(v);
			continue;
		}
		net_iov_copy(vu->txbuf, len, e->iov, e->out_num);
		virtq_push(&v->q, 0, e->head, 0);
		virtq_flush(&v->q, 1);
		vu_call(v);
		if (len == vu->hdr_len)
			continue;
		memcpy(hdr, vu->txbuf, NET_VNET_HDR_LEN);
		gso_vnet_hdr_get(&meta, hdr);
		meta.flags &= NET_META_F_NEEDS_CSUM;	/* DATA_VALID means nothing on TX */
		iov.iov_base = vu->txbuf + vu->hdr_len;
		iov.iov_len = len - vu->hdr_len;
		vu->stats.tx_frames++;
		if (net_send_meta(&vu->nc, &iov, 1, &meta, vu_tx_sent) == 0)
			vu->tx_blocked = true;
	}
}

static void vu_defer_cb(struct loop_defer *d)
{
	struct vhost_user *vu = d->opaque;
	uint64_t one = 1;

	if (vu->tx_more && !vu->tx_blocked) {
		vu->tx_more = false;
		for (unsigned i = 1; i < 2 * vu->queues; i += 2)
			vu_tx(&vu->vq[i]);
	}
	for (unsigned i = 0; i < 2 * vu->queues; i++) {
		struct vu_vq *v = &vu->vq[i];

		if (!v->call_pending)
			continue;
		v->call_pending = false;
		if (v->call_fd >= 0 && virtq_need_call(&v->q) &&
		    write(v->call_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			vu->stats.call_errors++;
	}
}

static void vu_kick_cb(struct loop_fd *h, uint32_t events)
{
	struct vu_vq *v = h->opaque;
	struct vhost_user *vu = v->vu;
	uint64_t cnt;

	if (read(h->fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN && errno != EINTR) {
		vq_stop(v);
		return;
	}
	if ((v - vu->vq) & 1) {
		vu_tx(v);
	} else if (vu->rx_waiting) {
		vu->rx_waiting = false;
		net_flush_queued(&vu->nc);
	}
}

/* copy_span() - copy bytes [@soff, @soff + @len) of @src into @dst from byte @doff */
static void copy_span(const struct iovec *dst, int dn, size_t doff, const struct iovec *src,
		      int sn, size_t soff, size_t len)
{
	for (int i = 0; i < sn && len; i++) {
		size_t l = src[i].iov_len, take;

		if (soff >= l) {
			soff -= l;
			continue;
		}
		take = l - soff < len ? l - soff : len;
		virtq_iov_copy_to(dst, dn, doff, (const uint8_t *)src[i].iov_base + soff, take);
		doff += take;
		len -= take;
		soff = 0;
	}
}

static struct vu_vq *vu_rx_ring(struct vhost_user *vu)
{
	for (unsigned i = 0; i < vu->queues; i++)
		if (vq_running(&vu->vq[2 * i]))
			return &vu->vq[2 * i];
	return NULL;
}

static ssize_t vu_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
			  const struct net_meta *meta)
{
	struct vhost_user *vu = (struct vhost_user *)nc;
	struct vu_vq *v = vu_rx_ring(vu);
	bool mrg = vu->features & BIT(F_MRG_RXBUF);
	size_t len = net_iov_size(iov, iovcnt), total = vu->hdr_len + len, off = 0;
	uint8_t hdr[NET_VNET_HDR_MRG_LEN] = { 0 };
	struct net_meta m = { 0 };
	unsigned n = 0;
	bool retried = false;

	if (!v) {
		vu->stats.rx_dropped++;
		return -1;
	}
	if (meta)
		m = *meta;
	if (!(vu->features & BIT(F_GUEST_CSUM)))
		m.flags &= (uint8_t)~NET_META_F_DATA_VALID;
	gso_vnet_hdr_put(hdr, &m);
	while (off < total) {
		struct virtq_elem *e = n ? &vu->elem : &vu->rx_first;
		size_t cap, foff;
		int r;

		if (n == VU_RX_BUFS_MAX)
			goto drop;
		r = virtq_pop(&v->q, &vu->mem, e);
		if (r < 0) {
			vq_broken(v, "bad RX chain");
			vu->stats.rx_dropped++;
			return -1;
		}
		if (r == 0) {
			virtq_unpop(&v->q, n);
			virtq_want_kick(&v->q);
			if (!retried && virtq_avail(&v->q) > n) {
				retried = true;	/* buffers came while we asked for a kick */
				n = 0;
				off = 0;
				continue;
			}
			vu->rx_waiting = true;
			return 0;
		}
		n++;
		if (e->out_num) {
			virtq_unpop(&v->q, n);
			vq_broken(v, "readable buffer on RX");
			vu->stats.rx_dropped++;
			return -1;
		}
		if ((n == 1 && e->in_len < vu->hdr_len) || (!mrg && e->in_len < total) ||
		    !e->in_len)
			goto drop;
		cap = e->in_len < total - off ? e->in_len : total - off;
		/* the frame's bytes that land in this buffer (the header is written last) */
		foff = off < vu->hdr_len ? 0 : off - vu->hdr_len;
		if (off + cap > vu->hdr_len)
			copy_span(e->iov, e->in_num, off < vu->hdr_len ? vu->hdr_len - off : 0,
				  iov, iovcnt, foff, off + cap - (off > vu->hdr_len ? off : vu->hdr_len));
		vu->rx_heads[n - 1] = e->head;
		vu->rx_lens[n - 1] = (uint32_t)cap;
		off += cap;
	}
	if (vu->hdr_len == NET_VNET_HDR_MRG_LEN) {
		hdr[10] = (uint8_t)n;
		hdr[11] = (uint8_t)(n >> 8);
	}
	virtq_iov_copy_to(vu->rx_first.iov, vu->rx_first.in_num, 0, hdr, vu->hdr_len);
	for (unsigned i = 0; i < n; i++)
		virtq_push(&v->q, i, vu->rx_heads[i], vu->rx_lens[i]);
	virtq_flush(&v->q, n);
	vu_call(v);
	vu->stats.rx_frames++;
	return (ssize_t)len;
drop:
	virtq_unpop(&v->q, n);
	vu->stats.rx_dropped++;
	return -1;
}

/* ---- protocol -------------------------------------------------------------------------------- */

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* vu_reply() - send a reply to @req with @len payload bytes (small: never blocks for long) */
static void vu_reply(struct vhost_user *vu, uint32_t req, const void *payload, uint32_t len)
{
	uint8_t buf[VU_HDR + 16];
	uint32_t flags = VU_FLAG_VERSION | VU_FLAG_REPLY;
	int fd = vu->chr ? chardev_fd(vu->chr) : -1;

	if (len > 16)
		return;
	memcpy(buf, &req, 4);
	memcpy(buf + 4, &flags, 4);
	memcpy(buf + 8, &len, 4);
	memcpy(buf + VU_HDR, payload, len);
	if (fd < 0)
		return;
	if (send(fd, buf, VU_HDR + len, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)(VU_HDR + len))
		vu->stats.protocol_errors++;
}

static void vu_reply_u64(struct vhost_user *vu, uint32_t req, uint64_t v)
{
	vu_reply(vu, req, &v, 8);
}

/* vu_vring_index() - a ring index from a state/addr/fd message; -1 if out of range */
static int vu_vring_index(const struct vhost_user *vu, uint32_t idx)
{
	return idx < 2 * vu->queues ? (int)idx : -1;
}

/* vu_set_mem_table() - map the regions (fds: one per region); 0, or -1 with nothing changed */
static int vu_set_mem_table(struct vhost_user *vu, const uint8_t *p, uint32_t size)
{
	struct virtq_mem nm = { 0 };
	uint32_t n = rd32(p);

	if (n == 0 || n > VIRTQ_MAX_REGIONS || size != 8 + 32 * n || (int)n != vu->nfds)
		return -2;	/* malformed */
	nm.n = n;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *r = p + 8 + 32 * i;

		nm.r[i].gpa = rd64(r);
		nm.r[i].size = rd64(r + 8);
		nm.r[i].uva = rd64(r + 16);
	}
	if (virtq_mem_check(&nm) < 0)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t off = rd64(p + 8 + 32 * i + 24), end = off + nm.r[i].size;
		struct stat st;
		void *map;

		/* mapping past the end of the file would fault on access: refuse it */
		if (end < off || end > SIZE_MAX || fstat(vu->fds[i], &st) < 0 ||
		    (uint64_t)st.st_size < end)
			goto fail;
		map = mmap(NULL, (size_t)end, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
			   vu->fds[i], 0);
		if (map == MAP_FAILED)
			goto fail;
		nm.r[i].map = map;
		nm.r[i].map_len = (size_t)end;
		nm.r[i].host = (uint8_t *)map + off;
	}
	mem_unmap(&vu->mem);
	vu->mem = nm;
	for (unsigned i = 0; i < 2 * vu->queues; i++) {
		struct vu_vq *v = &vu->vq[i];

		if (v->q.desc_uva && virtq_map_rings(&v->q, &vu->mem) < 0)
			vq_broken(v, "ring outside the new memory table");
	}
	return 0;
fail:
	mem_unmap(&nm);
	return -1;
}

static void vq_start(struct vu_vq *v, int kick_fd)
{
	struct vhost_user *vu = v->vu;

	vq_stop(v);
	if (loop_fd_add(&v->kick, kick_fd, EPOLLIN, vu_kick_cb, v) < 0) {
		close(kick_fd);
		return;
	}
	v->started = true;
	if (!(vu->features & BIT(F_PROTOCOL_FEATURES)))
		v->enabled = true;
	if (!v->q.desc && virtq_map_rings(&v->q, &vu->mem) < 0) {
		vq_broken(v, "ring outside guest memory");
		return;
	}
	/* continue where the used ring is (a reconnect keeps the guest's state) */
	v->q.used_idx = (uint16_t)(v->q.used[2] | v->q.used[3] << 8);
	v->q.signalled_valid = false;
	if ((v - vu->vq) & 1)
		vu_tx(v);
	else if (vu->rx_waiting) {
		vu->rx_waiting = false;
		net_flush_queued(&vu->nc);
	}
}

/* vu_set_features() - the negotiated features decide the header and the offloads */
static int vu_set_features(struct vhost_user *vu, uint64_t f)
{
	uint32_t off = 0;

	if (f & ~vu_offered(vu))
		return -1;
	vu->features = f;
	vu->hdr_len = (f & (BIT(F_MRG_RXBUF) | BIT(F_VERSION_1))) ? NET_VNET_HDR_MRG_LEN
								   : NET_VNET_HDR_LEN;
	for (unsigned i = 0; i < 2 * VHOST_USER_QUEUES_MAX; i++)
		vu->vq[i].q.event_idx = f & BIT(F_EVENT_IDX);
	if (f & BIT(F_GUEST_CSUM)) {
		off |= NET_OFF_CSUM;
		if (f & BIT(F_GUEST_TSO4))
			off |= NET_OFF_TSO4;
		if (f & BIT(F_GUEST_TSO6))
			off |= NET_OFF_TSO6;
		if ((f & BIT(F_GUEST_ECN)) && (off & (NET_OFF_TSO4 | NET_OFF_TSO6)))
			off |= NET_OFF_TSO_ECN;
	}
	vu->nc.offloads = off;
	return 0;
}

/* vu_size_ok() - the payload size each request must have (-1: any up to the bound) */
static bool vu_size_ok(uint32_t req, uint32_t size)
{
	switch (req) {
	case VU_GET_FEATURES: case VU_GET_PROTOCOL_FEATURES: case VU_GET_QUEUE_NUM:
	case VU_SET_OWNER: case VU_RESET_OWNER: case VU_RESET_DEVICE:
		return size == 0;
	case VU_SET_FEATURES: case VU_SET_PROTOCOL_FEATURES:
	case VU_SET_VRING_KICK: case VU_SET_VRING_CALL: case VU_SET_VRING_ERR:
		return size == 8;
	case VU_SET_VRING_NUM: case VU_SET_VRING_BASE: case VU_GET_VRING_BASE:
	case VU_SET_VRING_ENABLE:
		return size == 8;
	case VU_SET_VRING_ADDR:
		return size == 40;
	case VU_SET_MEM_TABLE:
		return size >= 8;
	default:
		return true;
	}
}

/* vu_fds_expected() - requests that carry fds */
static bool vu_takes_fds(uint32_t req)
{
	return req == VU_SET_MEM_TABLE || req == VU_SET_VRING_KICK || req == VU_SET_VRING_CALL ||
	       req == VU_SET_VRING_ERR;
}

/**
 * vu_handle() - one whole message in vu->msg with vu->fds
 * Return: 0 handled (ok or refused), -1 protocol error (the connection goes)
 */
static int vu_handle(struct vhost_user *vu)
{
	uint32_t req = rd32(vu->msg), flags = rd32(vu->msg + 4), size = rd32(vu->msg + 8);
	const uint8_t *p = vu->msg + VU_HDR;
	int r = 0, idx = -1, fd;
	bool ack = (flags & VU_FLAG_NEED_REPLY) && (vu->protocol_features & BIT(PF_REPLY_ACK));
	struct vu_vq *v = NULL;

	if ((flags & 3) != VU_FLAG_VERSION || !vu_size_ok(req, size) ||
	    (vu->nfds && !vu_takes_fds(req)) || vu->fds_overflow)
		return -1;
	switch (req) {
	case VU_GET_FEATURES:
		vu_reply_u64(vu, req, vu_offered(vu));
		return 0;
	case VU_GET_PROTOCOL_FEATURES:
		vu_reply_u64(vu, req, vu_protocol_offered);
		return 0;
	case VU_GET_QUEUE_NUM:
		vu_reply_u64(vu, req, vu->queues);
		return 0;
	case VU_SET_FEATURES:
		r = vu_set_features(vu, rd64(p));
		break;
	case VU_SET_PROTOCOL_FEATURES:
		if (rd64(p) & ~vu_protocol_offered)
			r = -1;
		else
			vu->protocol_features = rd64(p);
		break;
	case VU_SET_OWNER:
		break;
	case VU_RESET_OWNER:
	case VU_RESET_DEVICE: {
		uint64_t pf = vu->protocol_features;

		vu_reset(vu);
		vu->protocol_features = pf;
		break;
	}
	case VU_SET_MEM_TABLE:
		r = vu_set_mem_table(vu, p, size);
		if (r == -2)
			return -1;
		break;
	case VU_SET_VRING_NUM: case VU_SET_VRING_BASE: case VU_GET_VRING_BASE:
	case VU_SET_VRING_ENABLE: case VU_SET_VRING_ADDR: {
		uint32_t val = rd32(p + 4);

		idx = vu_vring_index(vu, rd32(p));
		if (idx < 0) {
			if (req == VU_GET_VRING_BASE)
				return -1;	/* a reply is awaited: nothing sane to say */
			r = -1;
			break;
		}
		v = &vu->vq[idx];
		if (req == VU_SET_VRING_NUM) {
			if (v->started || !val || val > VIRTQ_MAX_SIZE || (val & (val - 1)))
				r = -1;
			else
				v->q.num = (uint16_t)val;
		} else if (req == VU_SET_VRING_BASE) {
			if (v->started || val > 0xffff)
				r = -1;
			else
				v->q.last_avail = (uint16_t)val;
		} else if (req == VU_GET_VRING_BASE) {
			uint32_t st[2] = { (uint32_t)idx, v->q.last_avail };

			vq_stop(v);
			v->q.broken = false;
			v->broken_logged = false;
			vu_reply(vu, req, st, sizeof(st));
			return 0;
		} else if (req == VU_SET_VRING_ENABLE) {
			v->enabled = val != 0;
			if (v->enabled && (idx & 1))
				vu_tx(v);
			if (v->enabled && !(idx & 1) && vu->rx_waiting) {
				vu->rx_waiting = false;
				net_flush_queued(&vu->nc);
			}
		} else {
			v->q.desc_uva = rd64(p + 8);
			v->q.used_uva = rd64(p + 16);
			v->q.avail_uva = rd64(p + 24);
			v->q.broken = false;
			v->broken_logged = false;
			if (virtq_map_rings(&v->q, &vu->mem) < 0)
				r = -1;
		}
		break;
	}
	case VU_SET_VRING_KICK: case VU_SET_VRING_CALL: case VU_SET_VRING_ERR: {
		uint64_t val = rd64(p);

		idx = vu_vring_index(vu, (uint32_t)(val & VU_VRING_IDX_MASK));
		if ((val & ~(uint64_t)(VU_VRING_IDX_MASK | VU_VRING_NOFD)) ||
		    vu->nfds != ((val & VU_VRING_NOFD) ? 0 : 1))
			return -1;
		if (idx < 0) {
			r = -1;
			break;
		}
		v = &vu->vq[idx];
		fd = vu->nfds ? vu->fds[0] : -1;
		vu->nfds = 0;	/* taken */
		if (req == VU_SET_VRING_KICK) {
			if (fd < 0) {
				r = -1;	/* polling mode is not offered */
				break;
			}
			set_nonblock(fd);
			vq_start(v, fd);
		} else if (req == VU_SET_VRING_CALL) {
			close_fd(&v->call_fd);
			v->call_fd = fd;
		} else {
			close_fd(&v->err_fd);
			v->err_fd = fd;
		}
		break;
	}
	case VU_SEND_RARP:
		break;	/* not offered; harmless */
	default:
		r = -1;	/* not offered: refused */
		break;
	}
	if (r < 0)
		vu->stats.refused++;
	if (ack)
		vu_reply_u64(vu, req, r < 0 ? 1 : 0);
	return 0;
}

static void vu_close_fds(struct vhost_user *vu)
{
	for (int i = 0; i < vu->nfds && i < VU_MAX_FDS; i++)
		close(vu->fds[i]);
	vu->nfds = 0;
	vu->fds_overflow = false;
}

static void vu_protocol_error(struct vhost_user *vu, const char *why)
{
	vu->stats.protocol_errors++;
	warn_report("vhost-user %s: %s: closing the connection", vu->nc.name, why);
	vu_close_fds(vu);
	vu->got = 0;
	if (vu->chr)
		chardev_disconnect(vu->chr);	/* vu_event() resets the device */
}

int vhost_user_feed(struct net_client *nc, const uint8_t *buf, size_t len, const int *fds,
		    int nfds)
{
	struct vhost_user *vu = (struct vhost_user *)nc;

	for (int i = 0; i < nfds; i++) {
		if (vu->nfds < VU_MAX_FDS)
			vu->fds[vu->nfds++] = fds[i];
		else {
			close(fds[i]);
			vu->fds_overflow = true;
		}
	}
	while (len) {
		size_t need, size = 0;

		if (vu->got >= VU_HDR) {
			size = rd32(vu->msg + 8);
			if (size > VU_PAYLOAD_MAX) {
				vu_protocol_error(vu, "message too large");
				return -1;
			}
		}
		need = vu->got < VU_HDR ? VU_HDR - vu->got : VU_HDR + size - vu->got;
		if (need > len)
			need = len;
		memcpy(vu->msg + vu->got, buf, need);
		vu->got += need;
		buf += need;
		len -= need;
		if (vu->got == VU_HDR && rd32(vu->msg + 8) > VU_PAYLOAD_MAX) {
			vu_protocol_error(vu, "message too large");
			return -1;
		}
		if (vu->got >= VU_HDR && vu->got == VU_HDR + rd32(vu->msg + 8)) {
			int r = vu_handle(vu);

			vu->got = 0;
			if (r < 0) {
				vu_protocol_error(vu, "malformed message");
				return -1;
			}
			vu->stats.messages++;
			vu_close_fds(vu);	/* fds the message did not take */
		}
	}
	return 0;
}

/* vu_readable() - read the rest of the current message (never past it, for the fds) */
static void vu_readable(void *opaque)
{
	struct vhost_user *vu = opaque;

	for (int budget = VU_MSG_BUDGET; budget > 0 && vu->chr; budget--) {
		int fd = chardev_fd(vu->chr), rfds[VU_MAX_FDS], nr = 0;
		union {
			char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
			struct cmsghdr align;
		} cbuf;
		uint8_t data[VU_HDR + VU_PAYLOAD_MAX];
		struct iovec iov;
		struct msghdr mh = { 0 };
		size_t need;
		ssize_t n;

		if (fd < 0)
			return;
		if (vu->got < VU_HDR) {
			need = VU_HDR - vu->got;
		} else {
			size_t size = rd32(vu->msg + 8);

			need = size > VU_PAYLOAD_MAX ? 1 : VU_HDR + size - vu->got;
		}
		iov.iov_base = data;
		iov.iov_len = need;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = sizeof(cbuf.buf);
		n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); n >= 0 && c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			for (size_t k = 0; k * sizeof(int) + CMSG_LEN(0) < c->cmsg_len && nr < VU_MAX_FDS; k++)
				memcpy(&rfds[nr++], CMSG_DATA(c) + k * sizeof(int), sizeof(int));
		}
		if (n >= 0 && (mh.msg_flags & MSG_CTRUNC))
			vu->fds_overflow = true;
		if (n <= 0) {
			for (int i = 0; i < nr; i++)
				close(rfds[i]);
			vu_close_fds(vu);
			vu->got = 0;
			chardev_disconnect(vu->chr);
			return;
		}
		if (vhost_user_feed(&vu->nc, data, (size_t)n, rfds, nr) < 0)
			return;
	}
}

static void vu_event(void *opaque, bool up)
{
	struct vhost_user *vu = opaque;

	vu_close_fds(vu);
	vu->got = 0;
	vu_reset(vu);
	if (up)
		vu->stats.connects++;
	vu_update_link(vu);
	debug("vhost-user %s: front end %s", vu->nc.name, up ? "connected" : "gone");
}

/* ---- client and options ---------------------------------------------------------------------- */

static void vu_cleanup(struct net_client *nc)
{
	struct vhost_user *vu = (struct vhost_user *)nc;

	loop_defer_cancel(&vu->defer);
	vu_close_fds(vu);
	vu_reset(vu);
	if (vu->chr)
		chardev_detach(vu->chr);
	vu->chr = NULL;
	free(vu->txbuf);
	vu->txbuf = NULL;
}

static const struct net_client_ops vu_ops = {
	.driver = NET_DRIVER_VHOST_USER,
	.size = sizeof(struct vhost_user),
	.receive = vu_receive,
	.cleanup = vu_cleanup,
};

const struct vhost_user_stats *vhost_user_get_stats(struct net_client *nc)
{
	return nc->ops == &vu_ops ? &((struct vhost_user *)nc)->stats : NULL;
}

/* -netdev vhost-user,id=ID,chardev=CHR[,queues=N][,vhostforce=on|off] */
static int vu_init(struct opts *o, const char *id, struct net_client *peer, struct error *e)
{
	const char *chr_id = opts_get(o, "chardev");
	uint64_t queues = 1;
	bool force = false;
	struct chardev *c;
	struct vhost_user *vu;
	struct net_client *nc;

	if (!chr_id)
		return err_set(e, "Parameter 'chardev' is missing");
	c = chardev_find(chr_id);
	if (!c)
		return err_set(e, "chardev \"%s\" not found", chr_id);
	if (!chardev_is_unix(c))
		return err_set(e, "chardev \"%s\" does not support FD passing", chr_id);
	if (opts_get_u64(o, "queues", &queues, e) < 0 || opts_get_bool(o, "vhostforce", &force, e) < 0)
		return -1;
	if (queues < 1 || queues > VHOST_USER_QUEUES_MAX)
		return err_set(e, "qnet: vhost-user number of queues must be in range [1, %d]",
			       VHOST_USER_QUEUES_MAX);
	nc = net_client_new(&vu_ops, peer, "vhost-user", id);
	vu = (struct vhost_user *)nc;
	vu->queues = (unsigned)queues;
	vu->hdr_len = NET_VNET_HDR_LEN;
	for (unsigned i = 0; i < 2 * VHOST_USER_QUEUES_MAX; i++) {
		vu->vq[i].vu = vu;
		vu->vq[i].kick.fd = -1;
		vu->vq[i].call_fd = -1;
		vu->vq[i].err_fd = -1;
	}
	loop_defer_init(&vu->defer, vu_defer_cb, vu);
	if (chardev_attach(c, NULL, vu_event, vu, e) < 0) {
		net_client_free(nc);
		return -1;
	}
	vu->chr = c;
	chardev_set_raw(c, vu_readable);
	vu->txbuf = xmalloc(NET_BUFSIZE + NET_VNET_HDR_MRG_LEN);
	net_set_info_str(nc, "vhost-user0 to %s", chr_id);
	vu_update_link(vu);
	return 0;
}

static const struct opt_desc vu_opts[] = {
	{ "chardev", OPT_STRING, "id of a -chardev socket with path= (unix), server=on|off" },
	{ "queues", OPT_NUMBER, "queue pairs offered to the guest (1..8, default 1)" },
	{ "vhostforce", OPT_BOOL, "accepted and ignored (QEMU: deprecated)" },
	{ NULL, 0, NULL },
};

const struct netdev_type netdev_vhost_user = {
	.name = "vhost-user",
	.driver = NET_DRIVER_VHOST_USER,
	.opts = vu_opts,
	.modern = false,
	.legacy_ok = false,
	.init = vu_init,
};
