// SPDX-License-Identifier: MIT
/* dgram_io.c - the batched datagram engine shared by the socket and dgram netdevs */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/util.h"
#include "dgram_io.h"

/* bytes of one slot */
#define DGRAM_IO_SLOT (NET_BUFSIZE + DGRAM_IO_HEADROOM_MAX)

static void dgram_io_update_events(struct dgram_io *io)
{
	uint32_t ev = 0;

	if (io->fd < 0 || io->dead)
		return;
	if (!io->in_flight && io->rx_next >= io->rx_count)
		ev |= EPOLLIN;
	if (io->write_wait && !io->is_unix)
		ev |= EPOLLOUT;
	loop_fd_mod(&io->lfd, ev);
}

void dgram_io_sent(struct dgram_io *io)
{
	if (io->in_flight)
		io->in_flight--;
	loop_defer(&io->resume);
}

/**
 * dgram_io_deliver() - hand the rest of the current batch to the client
 *
 * Stops at the first frame the core queued (the hook returned 0 and the sent
 * callback has not fired yet); dgram_io_resume() continues from there.
 */
static void dgram_io_deliver(struct dgram_io *io)
{
	while (!io->in_flight && io->rx_next < io->rx_count) {
		unsigned i = io->rx_next++;
		size_t len = io->msgs[i].msg_len;
		ssize_t r;

		if (!len || (io->msgs[i].msg_hdr.msg_flags & MSG_TRUNC)) {
			io->rx_dropped++;
			continue;
		}
		io->in_flight++;
		if (io->want_src) {
			io->rx_src = &io->rx_from[i];
			io->rx_src_len = io->msgs[i].msg_hdr.msg_namelen;
		}
		if (io->deliver)
			r = io->deliver(io, io->iov[i].iov_base, len);
		else
			r = net_send_buf(io->nc, io->iov[i].iov_base, len, io->sent_cb);
		if (r != 0 && io->in_flight)
			io->in_flight--;
	}
}

static void dgram_io_resume(struct loop_defer *d)
{
	struct dgram_io *io = d->opaque;

	dgram_io_deliver(io);
	dgram_io_update_events(io);
}

static void dgram_io_prepare_slots(struct dgram_io *io)
{
	for (unsigned i = 0; i < DGRAM_IO_BATCH; i++) {
		io->iov[i].iov_base = io->rxbuf + (size_t)i * DGRAM_IO_SLOT;
		io->iov[i].iov_len = NET_BUFSIZE + MIN(io->headroom, (size_t)DGRAM_IO_HEADROOM_MAX);
		memset(&io->msgs[i].msg_hdr, 0, sizeof(io->msgs[i].msg_hdr));
		io->msgs[i].msg_hdr.msg_iov = &io->iov[i];
		io->msgs[i].msg_hdr.msg_iovlen = 1;
		if (io->want_src) {
			io->msgs[i].msg_hdr.msg_name = &io->rx_from[i];
			io->msgs[i].msg_hdr.msg_namelen = sizeof(io->rx_from[i]);
		}
		io->msgs[i].msg_len = 0;
	}
}

/* dgram_io_read() - one recvmmsg() per wakeup, then deliver */
static void dgram_io_read(struct dgram_io *io)
{
	int n;

	if (io->in_flight || io->rx_next < io->rx_count)
		return;
	dgram_io_prepare_slots(io);
	do {
		n = recvmmsg(io->fd, io->msgs, DGRAM_IO_BATCH, MSG_DONTWAIT, NULL);
	} while (n < 0 && errno == EINTR);
	if (n <= 0)
		return;
	io->rx_count = (unsigned)n;
	io->rx_next = 0;
	dgram_io_deliver(io);
}

/* dgram_io_wait_writable() - the socket is full: retry when it can take more */
static void dgram_io_wait_writable(struct dgram_io *io)
{
	io->write_wait = true;
	if (io->is_unix)
		loop_timer_arm(&io->retry, DGRAM_IO_UNIX_RETRY_MS);
	dgram_io_update_events(io);
}

/**
 * dgram_io_tx_send() - send the filled TX slots with sendmmsg()
 * Return: true when every slot went out (or was dropped), false on EAGAIN
 */
static bool dgram_io_tx_send(struct dgram_io *io)
{
	while (io->tx_head < io->tx_count) {
		int n;

		do {
			n = sendmmsg(io->fd, &io->tx_msgs[io->tx_head], io->tx_count - io->tx_head,
				     MSG_DONTWAIT | MSG_NOSIGNAL);
		} while (n < 0 && errno == EINTR);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return false;
		if (n < 0) {
			/* this frame can't go (ENOBUFS, remote not bound...): drop it, go on */
			io->tx_dropped++;
			io->nc->stats.drops++;
			io->tx_head++;
			continue;
		}
		io->tx_head += (unsigned)n;
	}
	io->tx_head = io->tx_count = 0;
	return true;
}

/* dgram_io_tx_flush() - deferred: send what receive() collected; on EAGAIN wait */
static void dgram_io_tx_flush(struct loop_defer *d)
{
	struct dgram_io *io = d->opaque;

	if (io->fd < 0)
		return;
	if (!dgram_io_tx_send(io))
		dgram_io_wait_writable(io);
}

/* dgram_io_writable() - the socket can take more: our slots first, then the core's queue */
static void dgram_io_writable(struct dgram_io *io)
{
	io->write_wait = false;
	if (!dgram_io_tx_send(io)) {
		dgram_io_wait_writable(io);
		return;
	}
	net_flush_queued(io->nc);
	dgram_io_update_events(io);
}

static void dgram_io_retry_timer(struct loop_timer *t)
{
	dgram_io_writable(t->opaque);
}

static void dgram_io_event(struct loop_fd *h, uint32_t events)
{
	struct dgram_io *io = h->opaque;

	if (events & EPOLLERR) {
		int err = 0;
		socklen_t len = sizeof(err);

		/* clears a pending ICMP/peer error so it does not fire again */
		getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len);
	}
	if ((events & EPOLLHUP) && !(events & EPOLLIN)) {
		/* a connected fd whose peer is gone: stop, as QEMU does */
		io->dead = true;
		loop_fd_del(&io->lfd);
		return;
	}
	if (events & EPOLLOUT)
		dgram_io_writable(io);
	if (events & EPOLLIN)
		dgram_io_read(io);
	dgram_io_update_events(io);
}

ssize_t dgram_io_send_to(struct dgram_io *io, const void *to, socklen_t tolen, const void *hdr,
			 size_t hlen, const struct iovec *iov, int iovcnt)
{
	size_t size = net_iov_size(iov, iovcnt);
	uint8_t *slot;
	unsigned i;

	if (io->fd < 0 || hlen > DGRAM_IO_HEADROOM_MAX)
		return -1;
	if (size > NET_BUFSIZE)
		return -EMSGSIZE;
	if (io->write_wait)
		return 0;
	if (io->tx_count == DGRAM_IO_BATCH && !dgram_io_tx_send(io)) {
		dgram_io_wait_writable(io);
		return 0;
	}
	i = io->tx_count++;
	slot = io->tx_iov[i].iov_base;
	if (hlen)
		memcpy(slot, hdr, hlen);
	io->tx_iov[i].iov_len = hlen + net_iov_copy(slot + hlen, NET_BUFSIZE, iov, iovcnt);
	if (to && tolen && tolen <= sizeof(io->tx_to[i])) {
		memcpy(&io->tx_to[i], to, tolen);
		io->tx_msgs[i].msg_hdr.msg_name = &io->tx_to[i];
		io->tx_msgs[i].msg_hdr.msg_namelen = tolen;
	} else {
		io->tx_msgs[i].msg_hdr.msg_name = io->dest_len ? &io->dest : NULL;
		io->tx_msgs[i].msg_hdr.msg_namelen = io->dest_len;
	}
	loop_defer(&io->txflush);
	return size ? (ssize_t)size : 1;
}

ssize_t dgram_io_send(struct dgram_io *io, const void *hdr, size_t hlen, const struct iovec *iov,
		      int iovcnt)
{
	return dgram_io_send_to(io, NULL, 0, hdr, hlen, iov, iovcnt);
}

ssize_t dgram_io_receive(struct dgram_io *io, const struct iovec *iov, int iovcnt)
{
	return dgram_io_send(io, NULL, 0, iov, iovcnt);
}

void dgram_io_set_dest(struct dgram_io *io, const void *addr, socklen_t len)
{
	if (len > sizeof(io->dest))
		len = sizeof(io->dest);
	if (len)
		memcpy(&io->dest, addr, len);
	io->dest_len = len;
	for (unsigned i = 0; i < DGRAM_IO_BATCH; i++) {
		struct msghdr *mh = &io->tx_msgs[i].msg_hdr;

		io->tx_iov[i].iov_base = io->txbuf + (size_t)i * DGRAM_IO_SLOT;
		io->tx_iov[i].iov_len = 0;
		memset(mh, 0, sizeof(*mh));
		mh->msg_name = len ? &io->dest : NULL;
		mh->msg_namelen = len;
		mh->msg_iov = &io->tx_iov[i];
		mh->msg_iovlen = 1;
	}
}

void dgram_io_init(struct dgram_io *io, struct net_client *nc, net_sent_cb *sent_cb,
		   void *opaque)
{
	memset(io, 0, sizeof(*io));
	io->nc = nc;
	io->sent_cb = sent_cb;
	io->opaque = opaque;
	io->fd = -1;
	io->lfd.fd = -1;
	io->rxbuf = xmalloc((size_t)DGRAM_IO_BATCH * DGRAM_IO_SLOT);
	io->txbuf = xmalloc((size_t)DGRAM_IO_BATCH * DGRAM_IO_SLOT);
	loop_timer_init(&io->retry, dgram_io_retry_timer, io);
	loop_defer_init(&io->resume, dgram_io_resume, io);
	loop_defer_init(&io->txflush, dgram_io_tx_flush, io);
	dgram_io_set_dest(io, NULL, 0);
}

int dgram_io_start(struct dgram_io *io, int fd)
{
	int r = set_nonblock(fd);

	if (r < 0)
		return r;
	r = loop_fd_add(&io->lfd, fd, EPOLLIN, dgram_io_event, io);
	if (r < 0)
		return r;
	io->fd = fd;
	return 0;
}

void dgram_io_fini(struct dgram_io *io)
{
	loop_defer_cancel(&io->resume);
	loop_defer_cancel(&io->txflush);
	loop_timer_cancel(&io->retry);
	if (io->fd >= 0) {
		/* best effort for frames still in the slots */
		if (io->txbuf)
			dgram_io_tx_send(io);
		loop_fd_del(&io->lfd);
		close(io->fd);
		io->fd = -1;
	}
	free(io->rxbuf);
	io->rxbuf = NULL;
	free(io->txbuf);
	io->txbuf = NULL;
}
