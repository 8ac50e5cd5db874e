/* SPDX-License-Identifier: MIT */
/* dgram_io.h - the batched datagram engine (recvmmsg/sendmmsg) of socket, dgram and tunnels */
#ifndef QNET_DGRAM_IO_H
#define QNET_DGRAM_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "../core/loop.h"
#include "../core/net.h"

/*
 * DOC: Batched datagrams
 *
 * One struct dgram_io per datagram socket of a net client: -netdev dgram,
 * -netdev socket with mcast=, udp= or a datagram fd=, and the tunnels
 * (l2tpv3, vxlan) after them. One datagram is one frame.
 *
 * RX: one recvmmsg() per wakeup reads up to DGRAM_IO_BATCH datagrams into
 * fixed slots. They are handed to the client one by one (@deliver, by default
 * net_send() with the owner's sent callback); when that returns 0 the rest of
 * the batch stays in the slots and reading stops until the owner's sent
 * callback calls dgram_io_sent(), which resumes the batch from a deferred
 * handler (never re-entering the core) and then the fd. Empty and truncated
 * datagrams are dropped and counted.
 *
 * TX: dgram_io_receive() copies the frame into one of DGRAM_IO_BATCH slots and
 * defers a flush, which sends every slot filled during this batch of events
 * with one sendmmsg(). When the slots are full it flushes first; if the socket
 * is still full (EAGAIN) it returns 0, so the core keeps the frame. An inet
 * socket then waits for EPOLLOUT. An unconnected unix socket reports writable
 * even while the remote's queue is full, so (@is_unix) it retries from a short
 * timer instead of spinning. Once the slots drain, the core's queue is flushed
 * with net_flush_queued(). A frame a send rejects for good (no remote bound
 * yet, ENOBUFS...) is dropped and counted.
 *
 * Tunnels: a datagram may carry a header before the frame. The owner sets
 * @headroom (at most DGRAM_IO_HEADROOM_MAX) before dgram_io_start(): receive
 * slots then take NET_BUFSIZE + @headroom bytes, and its @deliver hook checks
 * and strips the header before net_send(); on TX it calls dgram_io_send() with
 * the header to put in front of the frame. A tunnel that learns where its
 * peers are sets @want_src: @rx_src then names the sender of the datagram
 * being delivered; dgram_io_send_to() sends one frame to an address of its own.
 *
 * Buffers (DGRAM_IO_BATCH slots of NET_BUFSIZE + DGRAM_IO_HEADROOM_MAX bytes
 * each way) are allocated once by dgram_io_init(); pages are touched only as
 * used.
 */

#define DGRAM_IO_BATCH 32		/* datagrams per recvmmsg()/sendmmsg() */
#define DGRAM_IO_HEADROOM_MAX 384	/* tunnel header bytes: l2tpv3 up to IPv4 60 + 20 + offset 256 */
#define DGRAM_IO_UNIX_RETRY_MS 1	/* retry interval for a full unix remote */

struct dgram_io;

/**
 * dgram_io_deliver_fn - hand one received datagram to the client
 * Return: as net_send(): >0 delivered, 0 queued (the sent callback will
 * follow: the engine pauses), <0 dropped
 */
typedef ssize_t dgram_io_deliver_fn(struct dgram_io *io, const uint8_t *buf, size_t len);

/**
 * struct dgram_io - one datagram socket with its batches
 * @nc:		the owning client (frames are sent from it)
 * @sent_cb:	owner's sent callback; it must call dgram_io_sent()
 * @deliver:	RX hook (NULL: net_send_buf() of the datagram as it is)
 * @opaque:	owner's pointer
 * @headroom:	bytes of tunnel header a datagram may carry beyond a frame (0: none)
 * @fd:		the socket (-1 when none)
 * @lfd:	its loop handle
 * @dest:	where frames go; @dest_len 0 means send() on a connected fd
 * @is_unix:	retry by timer on a full remote (see the DOC block)
 * @retry:	that timer
 * @resume:	deferred: continue a paused batch once the sent callback fired
 * @txflush:	deferred: send the filled TX slots
 * @write_wait:	a send hit EAGAIN: waiting to flush the core's queue
 * @dead:	the fd hung up: no more reading
 * @in_flight:	sent callbacks outstanding (0 or 1)
 * @rx_count, @rx_next: datagrams in the current batch, next one to deliver
 * @msgs, @iov, @rxbuf: recvmmsg slots
 * @tx_head, @tx_count: first TX slot not sent yet, TX slots filled
 * @tx_msgs, @tx_iov, @txbuf: sendmmsg slots
 * @want_src:	record each datagram's sender (set before dgram_io_start())
 * @rx_src, @rx_src_len: sender of the datagram being delivered (NULL unless @want_src)
 * @rx_from:	senders of the current batch
 * @tx_to:	per-slot destinations of dgram_io_send_to()
 * @rx_dropped:	datagrams dropped on input (empty or truncated)
 * @tx_dropped:	frames a send rejected for good
 */
struct dgram_io {
	struct net_client *nc;
	net_sent_cb *sent_cb;
	dgram_io_deliver_fn *deliver;
	void *opaque;
	size_t headroom;
	int fd;
	struct loop_fd lfd;
	struct sockaddr_storage dest;
	socklen_t dest_len;
	bool is_unix;
	struct loop_timer retry;
	struct loop_defer resume;
	struct loop_defer txflush;
	bool write_wait;
	bool dead;
	unsigned in_flight;
	unsigned rx_count, rx_next;
	struct mmsghdr msgs[DGRAM_IO_BATCH];
	struct iovec iov[DGRAM_IO_BATCH];
	uint8_t *rxbuf;
	unsigned tx_head, tx_count;
	struct mmsghdr tx_msgs[DGRAM_IO_BATCH];
	struct iovec tx_iov[DGRAM_IO_BATCH];
	uint8_t *txbuf;
	bool want_src;
	const struct sockaddr_storage *rx_src;
	socklen_t rx_src_len;
	struct sockaddr_storage rx_from[DGRAM_IO_BATCH];
	struct sockaddr_storage tx_to[DGRAM_IO_BATCH];
	uint64_t rx_dropped;
	uint64_t tx_dropped;
};

/* dgram_io_init() - no socket yet; allocates the slots */
void dgram_io_init(struct dgram_io *io, struct net_client *nc, net_sent_cb *sent_cb,
		   void *opaque);
/**
 * dgram_io_start() - start reading @fd (non-blocking; owned by the engine from now)
 * Return: 0 or -errno (the fd is left open then: the caller closes it)
 */
int dgram_io_start(struct dgram_io *io, int fd);
/* dgram_io_set_dest() - where frames go (@len 0: send() on a connected fd) */
void dgram_io_set_dest(struct dgram_io *io, const void *addr, socklen_t len);
/* dgram_io_sent() - call from the owner's sent callback */
void dgram_io_sent(struct dgram_io *io);
/**
 * dgram_io_receive() - the owner's receive(): queue the frame for sendmmsg()
 * Return: the size (>0), 0 when the slots and the socket are full, <0 to drop
 */
ssize_t dgram_io_receive(struct dgram_io *io, const struct iovec *iov, int iovcnt);
/**
 * dgram_io_send() - as dgram_io_receive(), with @hlen bytes of @hdr in front of
 * the frame in the same datagram (@hlen <= DGRAM_IO_HEADROOM_MAX)
 * Return: the frame's size (>0), 0 when full, <0 to drop
 */
ssize_t dgram_io_send(struct dgram_io *io, const void *hdr, size_t hlen, const struct iovec *iov,
		      int iovcnt);
/**
 * dgram_io_send_to() - as dgram_io_send(), to @to (@tolen bytes) instead of the
 * engine's destination
 * Return: the frame's size (>0), 0 when full, <0 to drop
 */
ssize_t dgram_io_send_to(struct dgram_io *io, const void *to, socklen_t tolen, const void *hdr,
			 size_t hlen, const struct iovec *iov, int iovcnt);
/* dgram_io_fini() - send what is left (best effort), close the fd, free the slots */
void dgram_io_fini(struct dgram_io *io);

#endif /* QNET_DGRAM_IO_H */
