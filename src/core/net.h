/* SPDX-License-Identifier: MIT */
/* net.h - net clients, peer links and the delivery contract */
#ifndef QNET_NET_H
#define QNET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "frame.h"
#include "util.h"

/*
 * DOC: Theory of operation
 *
 * As in QEMU, every endpoint is a net client (struct net_client) with a const
 * ops table, linked 1:1 to at most one peer. Anything beyond point-to-point
 * goes through a hub, whose ports are net clients too.
 *
 * A backend reads frames from its fd and calls net_send(self, ...). The frame
 * goes through the sender's TX filters, the peer's RX filters, and then to the
 * peer's ops->receive(), which returns:
 *   >0  delivered (the receiver copied or consumed the frame),
 *    0  not now: the core copies the frame into the receiver's incoming queue
 *       and stops delivering to it until it calls net_flush_queued(),
 *   <0  dropped (counted).
 * net_send() returns 0 when the frame was queued. A sender that passed a
 * sent callback must then stop reading its fd until the callback fires (it
 * fires once the queued frame has been delivered or dropped). That is the
 * only back-pressure, and it is how a slow consumer slows its producer.
 *
 * Queues are bounded: frames sent without a callback are dropped (and
 * counted) when the queue is full; frames with a callback may use a reserve
 * beyond that, because their senders pause after each 0.
 *
 * The core allocates ops->size bytes (the backend struct, with struct
 * net_client as its first member) and frees it in net_client_free().
 *
 * Offloads: a frame may carry struct net_meta (frame.h: the virtio-net header
 * fields), sent with net_send_meta(); net_send() sends plain frames. Queues,
 * filters and hubs keep the metadata with the frame. A receiver declares in
 * nc->offloads which offloads it takes (0, the default: plain frames only).
 * Where a frame reaches a receiver that does not take its offloads, the core
 * hands it over as software segments with complete checksums (gso.c), one
 * receive call per segment, each with a plain meta flagged
 * NET_META_F_DATA_VALID (its checksums were just computed: no need to verify
 * them); if receive returns 0 in the middle, the frame stays queued and
 * delivery resumes at that segment. A frame whose metadata
 * does not fit its bytes is dropped and counted (stats.rx_bad_meta).
 */

/* The largest frame any client takes (QEMU's NET_BUFSIZE) */
#define NET_BUFSIZE (4096 + 65536)
/* Ethernet minimum without FCS: short frames are padded to this towards NICs */
#define ETH_ZLEN 60

/* QEMU's NetClientDriver, in QEMU's order (names in net_driver_str[]) */
enum net_driver {
	NET_DRIVER_NONE,
	NET_DRIVER_NIC,
	NET_DRIVER_USER,
	NET_DRIVER_TAP,
	NET_DRIVER_L2TPV3,
	NET_DRIVER_SOCKET,
	NET_DRIVER_STREAM,
	NET_DRIVER_DGRAM,
	NET_DRIVER_VDE,
	NET_DRIVER_BRIDGE,
	NET_DRIVER_HUBPORT,
	NET_DRIVER_NETMAP,
	NET_DRIVER_VHOST_USER,
	NET_DRIVER_VHOST_VDPA,
	NET_DRIVER_VXLAN,	/* qnet's own: not in QEMU */
	NET_DRIVER__MAX,
};
extern const char *const net_driver_str[NET_DRIVER__MAX];

struct net_client;
struct filter;
struct gso_scratch;

/* net_sent_cb - the frame a sender was told 0 for has left the queue */
typedef void net_sent_cb(struct net_client *sender, ssize_t ret);

/**
 * struct net_client_ops - what a kind of client does
 * @driver:		QEMU driver type, shown by info network
 * @size:		bytes to allocate for the backend struct (>= sizeof(struct net_client))
 * @receive:		take one frame (see the contract above); @meta is NULL or plain
 *			(maybe with NET_META_F_DATA_VALID) for a plain frame, else it asks
 *			only for offloads the client declared in nc->offloads
 * @can_receive:	optional: false to make senders queue without calling receive
 * @cleanup:		optional: release the backend's fds and state (not the struct)
 * @link_status_changed: optional: nc->link_down changed
 * @peer_drained:	optional: the peer delivered queued frames or has none left (hubs use this)
 */
struct net_client_ops {
	enum net_driver driver;
	size_t size;
	ssize_t (*receive)(struct net_client *nc, const struct iovec *iov, int iovcnt,
			   const struct net_meta *meta);
	bool (*can_receive)(struct net_client *nc);
	void (*cleanup)(struct net_client *nc);
	void (*link_status_changed)(struct net_client *nc);
	void (*peer_drained)(struct net_client *nc);
};

/**
 * struct net_stats - per-client counters
 * @rx_frames, @rx_bytes:	frames delivered to this client (it received them)
 * @tx_frames, @tx_bytes:	frames this client sent towards its peer
 * @drops:			frames meant for this client that were dropped
 *				(queue full, receive error, oversized, bad metadata)
 * @rx_largest, @tx_largest:	largest frame received / sent
 * @rx_gso_frames:		offload frames segmented or checksummed in software for it
 * @rx_bad_meta:		frames for it dropped because their metadata did not fit them
 */
struct net_stats {
	uint64_t rx_frames, rx_bytes;
	uint64_t tx_frames, tx_bytes;
	uint64_t drops;
	uint64_t rx_largest, tx_largest;
	uint64_t rx_gso_frames, rx_bad_meta;
};

/**
 * struct net_queue - bounded FIFO of copied frames (a byte ring, no per-frame allocation)
 * @buf:	ring storage, allocated on first use
 * @size:	bytes in @buf
 * @head, @tail: ring offsets of the oldest entry and of the free space
 * @used:	bytes in use
 * @count:	entries
 * @max_count:	cap for frames without a sent callback
 */
struct net_queue {
	uint8_t *buf;
	size_t size;
	size_t head, tail, used;
	unsigned count;
	unsigned max_count;
};

/**
 * struct net_client - one endpoint
 * @ops:		what it does
 * @peer:		the client it is linked to, or NULL
 * @name:		id (netdevs) or generated name
 * @model:		model string ("stream", "tap", "hub"... as QEMU prints it)
 * @info_str:		QEMU's info_str, shown by info network
 * @link_down:		link state (set_link, or a transport that is not connected)
 * @receive_disabled:	receive returned 0; cleared by net_flush_queued()
 * @is_netdev:		created by -netdev / netdev_add (not by legacy -net)
 * @queue_index:	QEMU's queue index (0)
 * @queue:		incoming queue
 * @stats:		counters
 * @filters:		filters attached to this client, head first
 * @next:		global list, creation order
 * @last_drain_ms:	when net_flush_queued() last delivered a queued frame
 * @queued_since_ms:	when the incoming queue last went from empty to not empty
 * @offloads:		NET_OFF_* set this client accepts as a receiver (0: plain frames only);
 *			the core segments and checksums in software (gso.c) for the rest
 * @gso:		private: software offload scratch, allocated on first use
 * @delivering:		private: re-entrancy guard
 * @deleted:		private: being freed
 */
struct net_client {
	const struct net_client_ops *ops;
	struct net_client *peer;
	char *name;
	char *model;
	char info_str[256];
	bool link_down;
	bool receive_disabled;
	bool is_netdev;
	int queue_index;
	struct net_queue queue;
	struct net_stats stats;
	struct filter *filters;
	struct net_client *next;
	uint64_t last_drain_ms;
	uint64_t queued_since_ms;
	uint32_t offloads;
	struct gso_scratch *gso;
	bool delivering;
	bool deleted;
};

/**
 * net_client_new() - allocate ops->size zeroed bytes and register the client
 * @ops:	ops table
 * @peer:	client to link to (must be unlinked), or NULL
 * @model:	model string
 * @name:	name, or NULL to generate one ("<model>.<n>")
 *
 * Return: the client, embedded at the start of the backend struct
 */
struct net_client *net_client_new(const struct net_client_ops *ops, struct net_client *peer,
				  const char *model, const char *name);
/* net_client_free() - ops->cleanup, unlink the peer, purge queues, unregister, free */
void net_client_free(struct net_client *nc);
/* net_client_link() - link two unlinked clients */
void net_client_link(struct net_client *a, struct net_client *b);

/* net_find() - a client by name (any kind), or NULL */
struct net_client *net_find(const char *name);
/* net_first() - the global client list, creation order (follow ->next) */
struct net_client *net_first(void);

/**
 * net_send() - send one frame from @sender to its peer
 * @cb:		sent callback, or NULL (the frame may then be dropped when queues are full)
 *
 * Return: >0 (bytes) delivered or discarded on purpose (no peer, link down; an empty
 *	   frame is dropped, counted, and reported as 1),
 *	   0 queued: with a callback, stop producing until it fires,
 *	   <0 dropped.
 */
ssize_t net_send(struct net_client *sender, const struct iovec *iov, int iovcnt, net_sent_cb *cb);
/**
 * net_send_meta() - net_send() of a frame with offload metadata (@meta NULL: plain);
 * the receiver gets it as it is if it accepts the offloads, else in software segments
 */
ssize_t net_send_meta(struct net_client *sender, const struct iovec *iov, int iovcnt,
		      const struct net_meta *meta, net_sent_cb *cb);
ssize_t net_send_buf(struct net_client *sender, const void *buf, size_t len, net_sent_cb *cb);
/**
 * net_deliver() - hand a frame to @receiver directly, skipping filters; used
 * by filters that pass a held frame on, and by hubs
 */
ssize_t net_deliver(struct net_client *sender, struct net_client *receiver,
		    const struct iovec *iov, int iovcnt, const struct net_meta *meta,
		    net_sent_cb *cb);

/**
 * net_path_offloads() - the offloads a frame sent by @sender may carry and still reach every
 * receiver whole: its peer's, or through a hub, those all other members accept. The core
 * segments in software for the others anyway; this lets a sender that can build either
 * kind (the user stack) build what the receivers take.
 */
uint32_t net_path_offloads(const struct net_client *sender);

/* net_can_send() - @sender's peer would take a frame now */
bool net_can_send(const struct net_client *sender);
/**
 * net_flush_queued() - the receiver can take frames again: clear
 * receive_disabled and redeliver its queue. Return: true if the queue emptied.
 */
bool net_flush_queued(struct net_client *nc);
/* net_purge_from() - drop queued frames sent by @sender (their callbacks fire with 0) */
void net_purge_from(struct net_client *nc, const struct net_client *sender);

/* net_set_link() - link up/down, QEMU's set_link semantics (NIC peers follow) */
void net_set_link(struct net_client *nc, bool up);
/* net_set_link_down() - transport state of one client only, no propagation */
void net_set_link_down(struct net_client *nc, bool down);

void net_set_info_str(struct net_client *nc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* net_client_line() - "name: index=0,type=T,info_str\n" plus its filters, as QEMU prints it */
void net_client_line(struct net_client *nc, struct sbuf *out);
/* net_queue_len() - frames waiting in @nc's incoming queue */
unsigned net_queue_len(const struct net_client *nc);

/* net_info_network() - QEMU's `info network` text */
void net_info_network(struct sbuf *out);
/* net_info_stats() - one line of counters per client (qnet's own) */
void net_info_stats(struct sbuf *out);

/* net_cleanup_all() - free every client, newest first (runs down-scripts, unlinks sockets) */
void net_cleanup_all(void);

/* net_iov_size() - total bytes in an iovec */
size_t net_iov_size(const struct iovec *iov, int iovcnt);
/* net_iov_copy() - copy up to @len bytes of an iovec into @buf; returns bytes copied */
size_t net_iov_copy(void *buf, size_t len, const struct iovec *iov, int iovcnt);

#endif /* QNET_NET_H */
