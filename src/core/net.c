// SPDX-License-Identifier: MIT
// net.c - net clients, peer links, the delivery contract and bounded incoming queues

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "filter.h"
#include "gso.h"
#include "hub.h"
#include "log.h"
#include "loop.h"
#include "net.h"

const char *const net_driver_str[NET_DRIVER__MAX] = {
	[NET_DRIVER_NONE] = "none",
	[NET_DRIVER_NIC] = "nic",
	[NET_DRIVER_USER] = "user",
	[NET_DRIVER_TAP] = "tap",
	[NET_DRIVER_L2TPV3] = "l2tpv3",
	[NET_DRIVER_SOCKET] = "socket",
	[NET_DRIVER_STREAM] = "stream",
	[NET_DRIVER_DGRAM] = "dgram",
	[NET_DRIVER_VDE] = "vde",
	[NET_DRIVER_BRIDGE] = "bridge",
	[NET_DRIVER_HUBPORT] = "hubport",
	[NET_DRIVER_NETMAP] = "netmap",
	[NET_DRIVER_VHOST_USER] = "vhost-user",
	[NET_DRIVER_VHOST_VDPA] = "vhost-vdpa",
	[NET_DRIVER_VXLAN] = "vxlan",
};

/* Queue limits: frames without a sent callback, and the ring's bytes */
#define NET_QUEUE_MAX_COUNT 1024
#define NET_QUEUE_BYTES (4u << 20)
/* frames without a callback may fill at most this share of the ring */
#define NET_QUEUE_NOCB_BYTES (NET_QUEUE_BYTES / 4 * 3)

static struct net_client *net_head, *net_tail;

/* One queued frame in the ring, followed by its bytes (8-byte aligned) */
struct net_qent {
	uint32_t len;		/* frame bytes, NET_QENT_WRAP: rest of ring unused */
	uint32_t dead;		/* purged: skip */
	struct net_client *sender;
	net_sent_cb *cb;
	struct net_meta meta;	/* zero: plain */
	uint32_t seg_done;	/* software segments of it already delivered */
};
#define NET_QENT_WRAP UINT32_MAX

static size_t net_qent_size(size_t len)
{
	return (sizeof(struct net_qent) + len + 7) & ~(size_t)7;
}

size_t net_iov_size(const struct iovec *iov, int iovcnt)
{
	size_t n = 0;

	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}

size_t net_iov_copy(void *buf, size_t len, const struct iovec *iov, int iovcnt)
{
	size_t off = 0;

	for (int i = 0; i < iovcnt && off < len; i++) {
		size_t n = MIN(iov[i].iov_len, len - off);

		memcpy((uint8_t *)buf + off, iov[i].iov_base, n);
		off += n;
	}
	return off;
}

/* net_queue_head() - the oldest entry, skipping a wrap marker, or NULL */
static struct net_qent *net_queue_head(struct net_queue *q)
{
	struct net_qent *e;

	if (!q->count)
		return NULL;
	if (q->size - q->head < sizeof(struct net_qent) ||
	    ((struct net_qent *)(void *)(q->buf + q->head))->len == NET_QENT_WRAP) {
		q->used -= q->size - q->head;
		q->head = 0;
	}
	e = (struct net_qent *)(void *)(q->buf + q->head);
	return e;
}

static void net_queue_pop(struct net_queue *q, struct net_qent *e)
{
	size_t n = net_qent_size(e->len);

	q->head += n;
	q->used -= n;
	q->count--;
	if (!q->count) {
		q->head = q->tail = q->used = 0;
	}
}

/* net_queue_push() - copy a frame in; false if it does not fit */
static bool net_queue_push(struct net_queue *q, struct net_client *sender, net_sent_cb *cb,
			   const struct iovec *iov, int iovcnt, size_t len,
			   const struct net_meta *meta, unsigned seg_done)
{
	size_t n = net_qent_size(len);
	size_t limit = cb ? NET_QUEUE_BYTES : NET_QUEUE_NOCB_BYTES;
	struct net_qent *e;

	if (!cb && q->count >= q->max_count)
		return false;
	if (!q->buf) {
		q->buf = xmalloc(NET_QUEUE_BYTES);
		q->size = NET_QUEUE_BYTES;
		q->head = q->tail = q->used = 0;
	}
	if (q->used + n > limit)
		return false;
	if (q->count && q->tail <= q->head) {
		/* data wraps: free space is [tail, head) */
		if (q->tail + n > q->head)
			return false;
	} else if (q->tail + n > q->size) {
		/* not enough room at the end: wrap to the start if it fits there */
		if (n > q->head || (q->count && n == q->head))
			return false;
		if (q->size - q->tail >= sizeof(struct net_qent))
			((struct net_qent *)(void *)(q->buf + q->tail))->len = NET_QENT_WRAP;
		q->used += q->size - q->tail;
		q->tail = 0;
		if (q->used + n > q->size)
			return false;
	}
	e = (struct net_qent *)(void *)(q->buf + q->tail);
	e->len = (uint32_t)len;
	e->dead = 0;
	e->sender = sender;
	e->cb = cb;
	if (meta)
		e->meta = *meta;
	else
		memset(&e->meta, 0, sizeof(e->meta));
	e->seg_done = seg_done;
	net_iov_copy(e + 1, len, iov, iovcnt);
	q->tail += n;
	q->used += n;
	q->count++;
	return true;
}

unsigned net_queue_len(const struct net_client *nc)
{
	return nc->queue.count;
}

struct net_client *net_first(void)
{
	return net_head;
}

struct net_client *net_find(const char *name)
{
	for (struct net_client *nc = net_head; nc; nc = nc->next)
		if (!nc->deleted && nc->name && !strcmp(nc->name, name))
			return nc;
	return NULL;
}

void net_client_link(struct net_client *a, struct net_client *b)
{
	a->peer = b;
	b->peer = a;
}

/* net_assign_name() - QEMU's "<model>.<n>", n = earlier clients of that model */
static char *net_assign_name(const char *model)
{
	int n = 0;

	for (struct net_client *nc = net_head; nc; nc = nc->next)
		if (nc->model && !strcmp(nc->model, model))
			n++;
	return xasprintf("%s.%d", model, n);
}

struct net_client *net_client_new(const struct net_client_ops *ops, struct net_client *peer,
				  const char *model, const char *name)
{
	struct net_client *nc = xzalloc(MAX(ops->size, sizeof(*nc)));

	nc->ops = ops;
	nc->model = xstrdup(model);
	nc->name = name ? xstrdup(name) : net_assign_name(model);
	nc->queue.max_count = NET_QUEUE_MAX_COUNT;
	if (peer)
		net_client_link(nc, peer);
	if (net_tail)
		net_tail->next = nc;
	else
		net_head = nc;
	net_tail = nc;
	return nc;
}

/* net_queue_drop_all() - free @nc's queue, firing the callbacks of what was in it */
static void net_queue_drop_all(struct net_client *nc)
{
	struct net_queue *q = &nc->queue;
	struct net_qent *e;

	while ((e = net_queue_head(q))) {
		struct net_client *sender = e->sender;
		net_sent_cb *cb = e->cb;
		bool dead = e->dead;

		net_queue_pop(q, e);
		if (!dead && cb && sender && !sender->deleted)
			cb(sender, 0);
	}
	free(q->buf);
	memset(q, 0, sizeof(*q));
}

void net_purge_from(struct net_client *nc, const struct net_client *sender)
{
	struct net_queue *q = &nc->queue;
	size_t pos;
	unsigned i;

	if (!q->count)
		return;
	/* walk the ring without popping: mark the sender's entries dead */
	pos = q->head;
	for (i = 0; i < q->count;) {
		struct net_qent *e;

		if (q->size - pos < sizeof(struct net_qent) ||
		    ((struct net_qent *)(void *)(q->buf + pos))->len == NET_QENT_WRAP) {
			pos = 0;
			continue;
		}
		e = (struct net_qent *)(void *)(q->buf + pos);
		if (!e->dead && e->sender == sender) {
			net_sent_cb *cb = e->cb;

			e->dead = 1;
			e->cb = NULL;
			if (cb && !sender->deleted)
				cb(e->sender, 0);
		}
		pos += net_qent_size(e->len);
		i++;
	}
}

static void net_unlink_list(struct net_client *nc)
{
	struct net_client **pp, *prev = NULL;

	for (pp = &net_head; *pp; prev = *pp, pp = &(*pp)->next) {
		if (*pp == nc) {
			*pp = nc->next;
			if (net_tail == nc)
				net_tail = prev;
			return;
		}
	}
}

void net_client_free(struct net_client *nc)
{
	struct net_client *peer;

	if (!nc || nc->deleted)
		return;
	nc->deleted = true;
	filter_detach_all(nc);
	if (nc->ops->cleanup)
		nc->ops->cleanup(nc);
	peer = nc->peer;
	if (peer) {
		net_purge_from(peer, nc);
		peer->peer = NULL;
		nc->peer = NULL;
	}
	/* frames queued to nc: their senders get their callbacks */
	net_queue_drop_all(nc);
	/* frames nc sent that wait in other queues (hub ports' peers) */
	for (struct net_client *o = net_head; o; o = o->next)
		if (o != nc && o->queue.count)
			net_purge_from(o, nc);
	net_unlink_list(nc);
	if (nc->gso) {
		gso_scratch_free(nc->gso);
		free(nc->gso);
	}
	free(nc->name);
	free(nc->model);
	free(nc);
}

void net_cleanup_all(void)
{
	/* newest first, as QEMU tears down */
	while (net_tail) {
		struct net_client *last = net_tail;

		net_client_free(last);
		if (net_tail == last) /* already deleted elsewhere: unlink */
			net_unlink_list(last);
	}
}

static bool net_can_receive(struct net_client *rcv)
{
	if (rcv->receive_disabled)
		return false;
	if (rcv->ops->can_receive && !rcv->ops->can_receive(rcv))
		return false;
	return true;
}

uint32_t net_path_offloads(const struct net_client *sender)
{
	const struct net_client *peer = sender->peer;

	if (!peer || peer->deleted)
		return 0;
	if (hub_port_hub(peer))
		return hub_port_path_offloads(peer);
	return peer->offloads;
}

bool net_can_send(const struct net_client *sender)
{
	struct net_client *peer = sender->peer;

	if (!peer)
		return true;
	return !peer->delivering && !peer->queue.count && net_can_receive(peer);
}

/* net_count_rx() - counters of one frame @rcv took (ret > 0) or dropped (ret < 0) */
static void net_count_rx(struct net_client *rcv, ssize_t ret, size_t size)
{
	if (ret > 0) {
		rcv->stats.rx_frames++;
		rcv->stats.rx_bytes += size;
		if (size > rcv->stats.rx_largest)
			rcv->stats.rx_largest = size;
	} else if (ret < 0) {
		rcv->stats.drops++;
	}
}

/* software segments: plain, checksums computed here (so known good) */
static const struct net_meta net_meta_segment = { .flags = NET_META_F_DATA_VALID };

/* net_meta_or_null() - @meta, or NULL when it says nothing (no offload, no DATA_VALID) */
static const struct net_meta *net_meta_or_null(const struct net_meta *meta)
{
	if (!meta || (net_meta_is_plain(meta) && !(meta->flags & NET_META_F_DATA_VALID)))
		return NULL;
	return meta;
}

/* net_gso_emit() - hand one software segment to the receiver */
static ssize_t net_gso_emit(void *opaque, const struct iovec *iov, int iovcnt)
{
	struct net_client *rcv = opaque;
	ssize_t ret = rcv->ops->receive(rcv, iov, iovcnt, &net_meta_segment);

	net_count_rx(rcv, ret, net_iov_size(iov, iovcnt));
	return ret;
}

/**
 * net_do_deliver() - call receive, keep counters
 * @seg_done:	in: software segments of this frame already delivered; out (return 0):
 *		the segment to deliver next
 *
 * A frame whose offloads @rcv does not accept goes in software segments; when
 * receive says 0 in the middle, the frame stays queued with its progress.
 */
static ssize_t net_do_deliver(struct net_client *rcv, const struct iovec *iov, int iovcnt,
			      size_t size, const struct net_meta *meta, unsigned *seg_done)
{
	ssize_t ret;
	int n;

	if (rcv->link_down)
		return (ssize_t)size;
	if (gso_accepts(meta, rcv->offloads)) {
		rcv->delivering = true;
		ret = rcv->ops->receive(rcv, iov, iovcnt, net_meta_or_null(meta));
		rcv->delivering = false;
		net_count_rx(rcv, ret, size);
		return ret;
	}
	if (!rcv->gso)
		rcv->gso = xzalloc(sizeof(*rcv->gso));
	rcv->delivering = true;
	n = gso_segment(rcv->gso, iov, iovcnt, meta, *seg_done, seg_done, net_gso_emit, rcv);
	rcv->delivering = false;
	if (n < 0) {
		rcv->stats.drops++;
		rcv->stats.rx_bad_meta++;
		return n;
	}
	if (n == 0)
		return 0;
	rcv->stats.rx_gso_frames++;
	return (ssize_t)size;
}

static ssize_t net_enqueue(struct net_client *sender, struct net_client *rcv,
			   const struct iovec *iov, int iovcnt, size_t size,
			   const struct net_meta *meta, unsigned seg_done, net_sent_cb *cb)
{
	if (!rcv->queue.count)
		rcv->queued_since_ms = loop_now_ms();
	if (!net_queue_push(&rcv->queue, sender, cb, iov, iovcnt, size, meta, seg_done)) {
		rcv->stats.drops++;
		return -ENOBUFS;
	}
	return 0;
}

ssize_t net_deliver(struct net_client *sender, struct net_client *rcv, const struct iovec *iov,
		    int iovcnt, const struct net_meta *meta, net_sent_cb *cb)
{
	size_t size = net_iov_size(iov, iovcnt);
	unsigned seg_done = 0;
	ssize_t ret;

	if (rcv->deleted)
		return (ssize_t)size;
	if (rcv->delivering || rcv->queue.count || !net_can_receive(rcv))
		return net_enqueue(sender, rcv, iov, iovcnt, size, meta, 0, cb);
	ret = net_do_deliver(rcv, iov, iovcnt, size, meta, &seg_done);
	if (ret == 0) {
		rcv->receive_disabled = true;
		ret = net_enqueue(sender, rcv, iov, iovcnt, size, meta, seg_done, cb);
	}
	return ret;
}

ssize_t net_send(struct net_client *sender, const struct iovec *iov, int iovcnt, net_sent_cb *cb)
{
	return net_send_meta(sender, iov, iovcnt, NULL, cb);
}

ssize_t net_send_meta(struct net_client *sender, const struct iovec *iov, int iovcnt,
		      const struct net_meta *meta, net_sent_cb *cb)
{
	size_t size = net_iov_size(iov, iovcnt);
	struct net_client *peer = sender->peer;
	ssize_t ret;

	if (sender->link_down || !peer)
		return (ssize_t)size;
	if (size == 0) {	/* nothing to deliver: consumed, so the sender goes on */
		sender->stats.drops++;
		return 1;
	}
	if (size > NET_BUFSIZE) {
		sender->stats.drops++;
		return (ssize_t)size;
	}
	sender->stats.tx_frames++;
	sender->stats.tx_bytes += size;
	if (size > sender->stats.tx_largest)
		sender->stats.tx_largest = size;
	meta = net_meta_or_null(meta);
	if (sender->filters) {
		ret = filter_run(sender, sender, FILTER_TX, iov, iovcnt, meta);
		if (ret)
			return ret;
	}
	if (peer->filters) {
		ret = filter_run(peer, sender, FILTER_RX, iov, iovcnt, meta);
		if (ret)
			return ret;
	}
	return net_deliver(sender, peer, iov, iovcnt, meta, cb);
}

ssize_t net_send_buf(struct net_client *sender, const void *buf, size_t len, net_sent_cb *cb)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	return net_send(sender, &iov, 1, cb);
}

bool net_flush_queued(struct net_client *nc)
{
	struct net_qent *e;
	bool progress = false;

	nc->receive_disabled = false;
	if (nc->delivering)
		return false;
	while ((e = net_queue_head(&nc->queue))) {
		struct net_client *sender = e->sender;
		net_sent_cb *cb = e->cb;
		ssize_t ret = 0;

		if (!e->dead) {
			struct iovec iov = { .iov_base = e + 1, .iov_len = e->len };
			unsigned seg_done = e->seg_done;

			if (nc->ops->can_receive && !nc->ops->can_receive(nc))
				break;
			ret = net_do_deliver(nc, &iov, 1, e->len, &e->meta, &seg_done);
			e->seg_done = seg_done;
			if (ret == 0) {
				nc->receive_disabled = true;
				break;
			}
			progress = true;
		}
		net_queue_pop(&nc->queue, e);
		if (cb && sender && !sender->deleted)
			cb(sender, ret);
	}
	if (progress)
		nc->last_drain_ms = loop_now_ms();
	if ((progress || !nc->queue.count) && nc->peer && nc->peer->ops->peer_drained)
		nc->peer->ops->peer_drained(nc->peer);
	return !nc->queue.count;
}

void net_set_link_down(struct net_client *nc, bool down)
{
	if (nc->link_down == down)
		return;
	nc->link_down = down;
	if (nc->ops->link_status_changed)
		nc->ops->link_status_changed(nc);
	struct event_field f[] = { EVENT_FIELD_STR("netdev-id", nc->name),
				   EVENT_FIELD_BOOL("up", !down) };

	event_raise("NETDEV_LINK_CHANGED", f, 2);	/* qnet's QMP event */
}

void net_set_link(struct net_client *nc, bool up)
{
	net_set_link_down(nc, !up);
	/* QEMU: a NIC's backend follows the NIC and vice versa; hub ports don't */
	if (nc->peer && (nc->peer->ops->driver == NET_DRIVER_NIC ||
			 nc->ops->driver == NET_DRIVER_NIC))
		net_set_link_down(nc->peer, !up);
}

void net_set_info_str(struct net_client *nc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(nc->info_str, sizeof(nc->info_str), fmt, ap);
	va_end(ap);
}

void net_client_line(struct net_client *nc, struct sbuf *out)
{
	sbuf_printf(out, "%s: index=%d,type=%s,%s\n", nc->name, nc->queue_index,
		    net_driver_str[nc->ops->driver], nc->info_str);
	filter_info(nc, out);
}

void net_info_network(struct sbuf *out)
{
	hub_info(out);
	for (struct net_client *nc = net_head; nc; nc = nc->next) {
		bool is_nic = nc->ops->driver == NET_DRIVER_NIC;

		if (nc->deleted)
			continue;
		/* clients on a hub were printed with the hub */
		if (nc->ops->driver == NET_DRIVER_HUBPORT ||
		    (nc->peer && nc->peer->ops->driver == NET_DRIVER_HUBPORT))
			continue;
		if (!nc->peer || is_nic)
			net_client_line(nc, out);
		if (nc->peer && is_nic) {
			sbuf_printf(out, " \\ ");
			net_client_line(nc->peer, out);
		}
	}
}

void net_info_stats(struct sbuf *out)
{
	sbuf_printf(out, "%-20s %-10s %10s %12s %10s %12s %8s %6s %5s %6s %6s %8s %8s\n",
		    "name", "type", "rx_frames", "rx_bytes", "tx_frames", "tx_bytes", "drops",
		    "queue", "link", "rx_max", "tx_max", "sw_gso", "bad_meta");
	for (struct net_client *nc = net_head; nc; nc = nc->next) {
		if (nc->deleted)
			continue;
		sbuf_printf(out, "%-20s %-10s %10llu %12llu %10llu %12llu %8llu %6u %5s %6llu "
			    "%6llu %8llu %8llu\n",
			    nc->name, net_driver_str[nc->ops->driver],
			    (unsigned long long)nc->stats.rx_frames,
			    (unsigned long long)nc->stats.rx_bytes,
			    (unsigned long long)nc->stats.tx_frames,
			    (unsigned long long)nc->stats.tx_bytes,
			    (unsigned long long)nc->stats.drops, nc->queue.count,
			    nc->link_down ? "down" : "up",
			    (unsigned long long)nc->stats.rx_largest,
			    (unsigned long long)nc->stats.tx_largest,
			    (unsigned long long)nc->stats.rx_gso_frames,
			    (unsigned long long)nc->stats.rx_bad_meta);
	}
}
