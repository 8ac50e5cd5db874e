// SPDX-License-Identifier: MIT
// vde.c - the vde netdev: a port of a VDE switch through libvdeplug (QEMU 7.2 net/vde.c)

/*
 * DOC: Theory of operation
 *
 * -netdev vde,id=ID[,sock=PATH][,port=N][,group=G][,mode=M] opens a port of a
 * vde_switch (or anything libvdeplug reaches: PATH is passed through, as QEMU
 * does, so vdeplug4 URLs work too) with vde_open(), and exchanges one frame
 * per vde_recv()/vde_send(). Options, the error text ("Could not open vde")
 * and info_str ("sock=%s,fd=%d") are QEMU 7.2's; the port description is
 * "qnet".
 *
 * RX reads up to VDE_RX_BATCH frames per wakeup of the data fd into one
 * buffer and hands each to the core; when the core queues one (net_send
 * returned 0) reading stops until the sent callback. TX copies the frame into
 * one buffer and sends it without blocking; when the switch's socket is full
 * the frame stays in the core's queue (receive returns 0) until the data fd
 * is writable again. Both buffers are allocated once.
 */

#include <errno.h>
#include <libvdeplug.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../cli/netdev.h"
#include "../core/log.h"
#include "../core/loop.h"
#include "../core/net.h"

#define VDE_RX_BATCH 32		/* frames read per wakeup */
#define VDE_DEFAULT_MODE 0700	/* QEMU's default for the data socket */

/**
 * struct vde - one vde netdev
 * @nc:		the net client (first)
 * @conn:	libvdeplug's connection
 * @fd:		its data fd
 * @lfd:	loop handle of @fd
 * @paused:	a frame is queued in the core: not reading until the sent callback
 * @write_wait:	the switch's socket was full: waiting for EPOLLOUT
 * @rxbuf, @txbuf: one frame each
 */
struct vde {
	struct net_client nc;
	VDECONN *conn;
	int fd;
	struct loop_fd lfd;
	bool paused;
	bool write_wait;
	uint8_t *rxbuf;
	uint8_t *txbuf;
};

static void vde_update(struct vde *s)
{
	uint32_t ev = 0;

	if (!s->paused)
		ev |= EPOLLIN;
	if (s->write_wait)
		ev |= EPOLLOUT;
	loop_fd_mod(&s->lfd, ev);
}

static void vde_sent(struct net_client *nc, ssize_t ret)
{
	struct vde *s = container_of(nc, struct vde, nc);

	s->paused = false;
	vde_update(s);
}

static void vde_read(struct vde *s)
{
	for (int i = 0; i < VDE_RX_BATCH && !s->paused; i++) {
		ssize_t n = vde_recv(s->conn, s->rxbuf, NET_BUFSIZE, MSG_DONTWAIT);

		if (n < 0)
			break;
		if (n == 0) {
			s->nc.stats.drops++;
			continue;
		}
		if (net_send_buf(&s->nc, s->rxbuf, (size_t)n, vde_sent) == 0)
			s->paused = true;
	}
}

static void vde_event(struct loop_fd *h, uint32_t events)
{
	struct vde *s = h->opaque;

	if (events & EPOLLOUT) {
		s->write_wait = false;
		net_flush_queued(&s->nc);
	}
	if (events & (EPOLLIN | EPOLLERR))
		vde_read(s);
	vde_update(s);
}

/* vde_receive() - a frame from the peer to the switch; 0 (queued) while its socket is full */
static ssize_t vde_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
			   const struct net_meta *meta)
{
	struct vde *s = container_of(nc, struct vde, nc);
	size_t len = net_iov_size(iov, iovcnt);
	ssize_t n;

	if (len > NET_BUFSIZE)
		return -1;
	if (s->write_wait)
		return 0;
	net_iov_copy(s->txbuf, NET_BUFSIZE, iov, iovcnt);
	n = vde_send(s->conn, s->txbuf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
		s->write_wait = true;
		vde_update(s);
		return 0;
	}
	if (n < 0)
		return -1;	/* the switch is gone: dropped and counted by the core */
	return len ? (ssize_t)len : 1;
}

static void vde_cleanup(struct net_client *nc)
{
	struct vde *s = container_of(nc, struct vde, nc);

	if (s->conn) {
		loop_fd_del(&s->lfd);
		vde_close(s->conn);
		s->conn = NULL;
	}
	free(s->rxbuf);
	free(s->txbuf);
	s->rxbuf = s->txbuf = NULL;
}

static const struct net_client_ops vde_ops = {
	.driver = NET_DRIVER_VDE,
	.size = sizeof(struct vde),
	.receive = vde_receive,
	.cleanup = vde_cleanup,
};

/**
 * vde_init() - -netdev vde: options as QEMU 7.2, vde_open(), the client
 * Return: 0 or -1 with @e set
 */
static int vde_init(struct opts *o, const char *id, struct net_client *peer, struct error *e)
{
	const char *sock = opts_get(o, "sock"), *group = opts_get(o, "group");
	uint64_t port = 0, mode = VDE_DEFAULT_MODE;
	struct vde_open_args args = { 0 };
	char descr[] = "qnet";
	VDECONN *conn;
	struct vde *s;
	int r;

	if (opts_get_u64(o, "port", &port, e) < 0 || opts_get_u64(o, "mode", &mode, e) < 0)
		return -1;
	if (port > UINT16_MAX)
		return err_set(e, "Parameter 'port' expects uint16_t");
	if (mode > UINT16_MAX)
		return err_set(e, "Parameter 'mode' expects uint16_t");
	args.port = (int)port;
	args.group = (char *)group;
	args.mode = (mode_t)mode;
	errno = 0;
	conn = vde_open((char *)sock, descr, &args);
	if (!conn)
		return err_set_errno(e, errno ? errno : EIO, "Could not open vde");

	s = container_of(net_client_new(&vde_ops, peer, "vde", id), struct vde, nc);
	s->conn = conn;
	s->fd = vde_datafd(conn);
	s->lfd.fd = -1;
	s->rxbuf = xmalloc(NET_BUFSIZE);
	s->txbuf = xmalloc(NET_BUFSIZE);
	r = set_nonblock(s->fd);
	if (r >= 0)
		r = loop_fd_add(&s->lfd, s->fd, EPOLLIN, vde_event, s);
	if (r < 0) {
		err_set_errno(e, -r, "Could not open vde");
		vde_close(conn);
		s->conn = NULL;
		net_client_free(&s->nc);
		return -1;
	}
	net_set_info_str(&s->nc, "sock=%s,fd=%d", sock ? sock : "(null)", s->fd);
	return 0;
}

static const struct opt_desc vde_opts[] = {
	{ "sock", OPT_STRING, "socket path (the switch's directory) or vdeplug URL" },
	{ "port", OPT_NUMBER, "port number on the switch (0: any)" },
	{ "group", OPT_STRING, "group owner of the data socket" },
	{ "mode", OPT_NUMBER, "permissions of the data socket (default 0700)" },
	{ NULL, OPT_STRING, NULL },
};

const struct netdev_type netdev_vde = {
	.name = "vde",
	.driver = NET_DRIVER_VDE,
	.opts = vde_opts,
	.modern = false,
	.legacy_ok = true,
	.init = vde_init,
};
