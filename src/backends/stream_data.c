// SPDX-License-Identifier: MIT
/* stream_data.c - length-prefixed framing shared by the stream and socket backends */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../core/log.h"
#include "../core/util.h"
#include "stream_data.h"

/* One read buffer for every connection: a chunk is consumed before the handler returns */
static uint8_t stream_rx_chunk[STREAM_RX_CHUNK];

void stream_rx_init(struct stream_rx *rx)
{
	reasm_init(&rx->r, false);
}

void stream_rx_reset(struct stream_rx *rx)
{
	reasm_reset(&rx->r);
}

void stream_rx_fini(struct stream_rx *rx)
{
	reasm_fini(&rx->r);
}

int stream_rx_feed(struct stream_rx *rx, const uint8_t *p, size_t n, stream_frame_cb *cb,
		   void *opaque)
{
	return reasm_feed(&rx->r, p, n, cb, opaque);
}

void stream_set_nodelay(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int one = 1;

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return;
	if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* stream_conn_update() - recompute the epoll mask */
static void stream_conn_update(struct stream_conn *c)
{
	uint32_t ev = 0;

	if (c->lfd.fd < 0)
		return;
	if (!c->paused && !c->connecting)
		ev |= EPOLLIN;
	if (c->want_out || c->connecting)
		ev |= EPOLLOUT;
	loop_fd_mod(&c->lfd, ev);
}

void stream_conn_close(struct stream_conn *c)
{
	if (c->lfd.fd >= 0) {
		int fd = c->lfd.fd;

		loop_fd_del(&c->lfd);
		close(fd);
		c->lfd.fd = -1;
	}
	loop_defer_cancel(&c->defer);
	stream_rx_reset(&c->rx);
	c->tx_off = c->tx_len = 0;
	c->connecting = c->paused = c->dead = c->want_out = false;
	c->in_flight = 0;
}

/* stream_conn_down() - the connection is gone: close and tell the owner (last use of @c) */
static void stream_conn_down(struct stream_conn *c, int err)
{
	stream_conn_close(c);
	c->event(c, STREAM_CONN_DOWN, err);
}

/**
 * stream_conn_write() - write out as much of the buffer as the socket takes
 * Return: 0 (maybe partly written; @want_out says so) or -errno on a fatal error
 */
static int stream_conn_write(struct stream_conn *c)
{
	while (c->tx_len > 0) {
		ssize_t r = write(c->lfd.fd, c->tx + c->tx_off, c->tx_len);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->want_out = true;
				return 0;
			}
			return -errno;
		}
		c->tx_off += (size_t)r;
		c->tx_len -= (size_t)r;
	}
	c->tx_off = 0;
	c->want_out = false;
	return 0;
}

/* stream_conn_unblock() - room again: let the core redeliver what it queued */
static void stream_conn_unblock(struct stream_conn *c)
{
	if (c->blocked && c->tx_len <= STREAM_TX_SIZE / 2) {
		c->blocked = false;
		net_flush_queued(c->nc);
	}
}

static void stream_conn_deferred(struct loop_defer *d)
{
	struct stream_conn *c = d->opaque;
	int r;

	if (c->lfd.fd < 0)
		return;
	if (c->dead) {
		stream_conn_down(c, EPIPE);
		return;
	}
	r = stream_conn_write(c);
	if (r < 0) {
		stream_conn_down(c, -r);
		return;
	}
	stream_conn_update(c);
	/* the write may have made room: the core's queue must not wait for EPOLLOUT */
	stream_conn_unblock(c);
}

static void stream_conn_frame(void *opaque, const uint8_t *frame, size_t len)
{
	struct stream_conn *c = opaque;

	/*
	 * QEMU sends the empty frame of a zero length on; its receivers then return
	 * 0 ("not now") for it and stall. qnet parses it exactly as QEMU does but
	 * does not pass it on.
	 */
	if (len == 0)
		return;
	/* the rest of a chunk already read still goes out (the core queues it, with
	 * callbacks); reading resumes once every one of them has fired */
	if (net_send_buf(c->nc, frame, len, c->sent_cb) == 0) {
		c->in_flight++;
		if (!c->paused) {
			c->paused = true;
			stream_conn_update(c);
		}
	}
}

/* stream_conn_readable() - one chunk per wakeup */
static void stream_conn_readable(struct stream_conn *c)
{
	ssize_t n = read(c->lfd.fd, stream_rx_chunk, sizeof(stream_rx_chunk));

	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		stream_conn_down(c, errno);
		return;
	}
	if (n == 0) {
		stream_conn_down(c, 0);
		return;
	}
	if (stream_rx_feed(&c->rx, stream_rx_chunk, (size_t)n, stream_conn_frame, c) < 0) {
		fprintf(stderr, "%s\n", STREAM_OVERSIZED_MSG);
		info("%s: %s", c->nc->name, STREAM_OVERSIZED_MSG);
		stream_conn_down(c, EMSGSIZE);
	}
}

/* stream_conn_connected() - EPOLLOUT while connecting: SO_ERROR says how it went */
static void stream_conn_connected(struct stream_conn *c)
{
	int err = 0;
	socklen_t sl = sizeof(err);

	if (getsockopt(c->lfd.fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
		err = errno;
	if (err) {
		stream_conn_close(c);
		c->event(c, STREAM_CONN_FAILED, err);
		return;
	}
	c->connecting = false;
	stream_set_nodelay(c->lfd.fd);
	stream_conn_update(c);
	c->event(c, STREAM_CONN_UP, 0);
}

/* stream_conn_writable() - Return: false if the conn went down (@c may be freed) */
static bool stream_conn_writable(struct stream_conn *c)
{
	int r = stream_conn_write(c);

	if (r < 0) {
		stream_conn_down(c, -r);
		return false;
	}
	stream_conn_update(c);
	stream_conn_unblock(c);
	return true;
}

static void stream_conn_handler(struct loop_fd *h, uint32_t events)
{
	struct stream_conn *c = h->opaque;

	if (c->connecting) {
		if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			stream_conn_connected(c);
		return;
	}
	if ((events & EPOLLOUT) && !stream_conn_writable(c))
		return;
	/* HUP/ERR are reported even while paused: read to find the EOF or the error */
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		stream_conn_readable(c);
}

void stream_conn_init(struct stream_conn *c, struct net_client *nc, net_sent_cb *sent_cb,
		      stream_conn_event_cb *event, void *opaque)
{
	memset(c, 0, sizeof(*c));
	c->nc = nc;
	c->sent_cb = sent_cb;
	c->event = event;
	c->opaque = opaque;
	c->lfd.fd = -1;
	loop_defer_init(&c->defer, stream_conn_deferred, c);
	stream_rx_init(&c->rx);
	c->tx = xmalloc(STREAM_TX_SIZE);
}

void stream_conn_fini(struct stream_conn *c)
{
	stream_conn_close(c);
	stream_rx_fini(&c->rx);
	free(c->tx);
	c->tx = NULL;
}

int stream_conn_attach(struct stream_conn *c, int fd, bool connecting)
{
	int r;

	stream_conn_close(c);
	r = set_nonblock(fd);
	if (r < 0) {
		close(fd);
		return r;
	}
	c->connecting = connecting;
	if (!connecting)
		stream_set_nodelay(fd);
	r = loop_fd_add(&c->lfd, fd, connecting ? EPOLLOUT : EPOLLIN, stream_conn_handler, c);
	if (r < 0) {
		close(fd);
		c->lfd.fd = -1;
		c->connecting = false;
		return r;
	}
	return 0;
}

/* stream_conn_room() - make @need contiguous bytes free at the tail if possible */
static bool stream_conn_room(struct stream_conn *c, size_t need)
{
	if (STREAM_TX_SIZE - c->tx_len < need)
		return false;
	if (STREAM_TX_SIZE - c->tx_off - c->tx_len < need) {
		memmove(c->tx, c->tx + c->tx_off, c->tx_len);
		c->tx_off = 0;
	}
	return true;
}

ssize_t stream_conn_receive(struct stream_conn *c, const struct iovec *iov, int iovcnt)
{
	size_t len = net_iov_size(iov, iovcnt);
	size_t need = len + 4;
	uint8_t *dst;

	if (need > STREAM_TX_SIZE || len > UINT32_MAX)
		return -1;
	if (c->lfd.fd < 0 || c->connecting || c->dead) {
		/* not connected yet (socket connect=): hold it until we are */
		c->blocked = c->lfd.fd >= 0 && !c->dead;
		return c->blocked ? 0 : (ssize_t)len;
	}
	if (!stream_conn_room(c, need)) {
		if (stream_conn_write(c) < 0) {
			/* close from the deferred handler, never from inside receive */
			c->dead = true;
			loop_defer(&c->defer);
			return -1;
		}
		if (!stream_conn_room(c, need)) {
			c->blocked = true;
			stream_conn_update(c);
			return 0;
		}
	}
	dst = c->tx + c->tx_off + c->tx_len;
	dst[0] = (uint8_t)(len >> 24);
	dst[1] = (uint8_t)(len >> 16);
	dst[2] = (uint8_t)(len >> 8);
	dst[3] = (uint8_t)len;
	net_iov_copy(dst + 4, len, iov, iovcnt);
	c->tx_len += need;
	loop_defer(&c->defer);
	/* an empty frame was taken too: >0, since 0 would mean "not now" */
	return len ? (ssize_t)len : 1;
}

void stream_conn_resume(struct stream_conn *c)
{
	if (c->in_flight)
		c->in_flight--;
	if (!c->paused || c->in_flight)
		return;
	c->paused = false;
	stream_conn_update(c);
}

void stream_conn_release_queue(struct stream_conn *c)
{
	if (c->blocked) {
		c->blocked = false;
		net_flush_queued(c->nc);
	}
}
