// SPDX-License-Identifier: MIT
/* socket.c - legacy -netdev socket (QEMU 7.2): listen/connect/fd streams, mcast and udp */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../cli/netdev.h"
#include "../core/log.h"
#include "../core/loop.h"
#include "../core/net.h"
#include "dgram_io.h"
#include "stream_data.h"
#include "inet.h"

enum socket_mode { SOCKET_FD, SOCKET_LISTEN, SOCKET_CONNECT, SOCKET_MCAST, SOCKET_UDP };

/**
 * struct socket_nd - one -netdev socket
 * @nc:		the client (first)
 * @mode:	how it was set up
 * @dgram:	true for mcast=, udp= and datagram fds
 * @conn:	stream modes: the framed connection
 * @listen:	listen=: the listening socket (not polled while a peer is connected)
 * @dio:	datagram modes: the socket and its batches (dgram_io.h)
 * @dst:	datagram modes: where frames go (mcast group or udp remote)
 * @use_send:	datagram fd: send() on the fd instead of sendto(@dst)
 */
struct socket_nd {
	struct net_client nc;
	enum socket_mode mode;
	bool dgram;
	struct stream_conn conn;
	struct loop_fd listen;
	struct dgram_io dio;
	struct sockaddr_in dst;
	bool use_send;
};

/* ---- stream modes ---- */

static void socket_sent(struct net_client *nc, ssize_t ret)
{
	struct socket_nd *s = (struct socket_nd *)nc;

	if (s->dgram) {
		dgram_io_sent(&s->dio);
		return;
	}
	stream_conn_resume(&s->conn);
}

static void socket_conn_event(struct stream_conn *c, enum stream_conn_event ev, int err)
{
	struct socket_nd *s = c->opaque;

	if (ev == STREAM_CONN_UP) {
		/* connect= finished: frames held meanwhile go out now */
		net_flush_queued(&s->nc);
		return;
	}
	/* QEMU's end of connection: link down, info_str cleared, accept again */
	net_set_link_down(&s->nc, true);
	net_set_info_str(&s->nc, "%s", "");
	stream_conn_release_queue(c);
	if (s->mode == SOCKET_LISTEN && s->listen.fd >= 0)
		loop_fd_mod(&s->listen, EPOLLIN);
}

static void socket_accept_cb(struct loop_fd *h, uint32_t events)
{
	struct socket_nd *s = h->opaque;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	char ip[INET_ADDRSTRLEN];
	int fd;

	memset(&sa, 0, sizeof(sa));
	fd = accept4(h->fd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	loop_fd_mod(&s->listen, 0);
	if (stream_conn_attach(&s->conn, fd, false) < 0) {
		loop_fd_mod(&s->listen, EPOLLIN);
		return;
	}
	net_set_link_down(&s->nc, false);
	inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip));
	net_set_info_str(&s->nc, "socket: connection from %s:%d", ip, ntohs(sa.sin_port));
}

/* ---- datagram modes ---- */

/* socket_dgram_start() - mcast=, udp= or a datagram fd=: the batched engine takes @fd */
static int socket_dgram_start(struct socket_nd *s, int fd)
{
	s->dgram = true;
	dgram_io_init(&s->dio, &s->nc, socket_sent, s);
	if (s->use_send)
		dgram_io_set_dest(&s->dio, NULL, 0);
	else
		dgram_io_set_dest(&s->dio, &s->dst, sizeof(s->dst));
	if (dgram_io_start(&s->dio, fd) < 0) {
		close(fd);
		return -1;
	}
	return 0;
}

/* ---- ops ---- */

static ssize_t socket_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
				const struct net_meta *meta)
{
	struct socket_nd *s = (struct socket_nd *)nc;

	if (s->dgram)
		return dgram_io_receive(&s->dio, iov, iovcnt);
	return stream_conn_receive(&s->conn, iov, iovcnt);
}

static void socket_close_lfd(struct loop_fd *h)
{
	int fd = h->fd;

	if (fd < 0)
		return;
	loop_fd_del(h);
	close(fd);
	h->fd = -1;
}

static void socket_cleanup(struct net_client *nc)
{
	struct socket_nd *s = (struct socket_nd *)nc;

	stream_conn_fini(&s->conn);
	socket_close_lfd(&s->listen);
	if (s->dgram)
		dgram_io_fini(&s->dio);
}

static const struct net_client_ops socket_ops = {
	.driver = NET_DRIVER_SOCKET,
	.size = sizeof(struct socket_nd),
	.receive = socket_receive,
	.cleanup = socket_cleanup,
};

static struct socket_nd *socket_new(struct net_client *peer, const char *id, enum socket_mode m)
{
	struct socket_nd *s = (struct socket_nd *)net_client_new(&socket_ops, peer, "socket", id);

	s->mode = m;
	s->listen.fd = -1;
	s->dio.fd = -1;
	stream_conn_init(&s->conn, &s->nc, socket_sent, socket_conn_event, s);
	return s;
}

/* ---- setup per mode ---- */

static int socket_init_listen(const char *str, const char *id, struct net_client *peer,
			      struct error *e)
{
	struct sockaddr_in sa;
	struct socket_nd *s;
	int fd, one = 1;

	if (inet_parse_host_port(&sa, str, e) < 0)
		return -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_set_errno(e, errno, "can't create stream socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err_set_errno(e, errno, "can't bind ip=%s to socket", inet_ntoa(sa.sin_addr));
		close(fd);
		return -1;
	}
	if (listen(fd, 0) < 0) {
		err_set_errno(e, errno, "can't listen on socket");
		close(fd);
		return -1;
	}
	s = socket_new(peer, id, SOCKET_LISTEN);
	net_set_link_down(&s->nc, true);
	if (loop_fd_add(&s->listen, fd, EPOLLIN, socket_accept_cb, s) < 0) {
		close(fd);
		return err_set(e, "cannot watch the listening socket");
	}
	return 0;
}

static int socket_init_connect(const char *str, const char *id, struct net_client *peer,
			       struct error *e)
{
	struct sockaddr_in sa;
	struct socket_nd *s;
	int fd, r;

	if (inet_parse_host_port(&sa, str, e) < 0)
		return -1;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_set_errno(e, errno, "can't create stream socket");
	do {
		r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	} while (r < 0 && errno == EINTR);
	if (r < 0 && errno != EINPROGRESS && errno != EALREADY && errno != EAGAIN) {
		err_set_errno(e, errno, "can't connect socket");
		close(fd);
		return -1;
	}
	s = socket_new(peer, id, SOCKET_CONNECT);
	if (stream_conn_attach(&s->conn, fd, r < 0) < 0)
		socket_conn_event(&s->conn, STREAM_CONN_DOWN, 0);
	net_set_info_str(&s->nc, "socket: connect to %s:%d", inet_ntoa(sa.sin_addr),
			 ntohs(sa.sin_port));
	return 0;
}

static int socket_init_mcast(const char *str, const char *laddr, const char *id,
			     struct net_client *peer, struct error *e)
{
	struct sockaddr_in sa;
	struct in_addr local;
	struct socket_nd *s;
	int fd;

	if (inet_parse_host_port(&sa, str, e) < 0)
		return -1;
	if (laddr && !inet_aton(laddr, &local))
		return err_set(e, "localaddr '%s' is not a valid IPv4 address", laddr);
	fd = inet_mcast_socket(&sa, laddr ? &local : NULL, e);
	if (fd < 0)
		return -1;
	s = socket_new(peer, id, SOCKET_MCAST);
	s->dst = sa;
	if (socket_dgram_start(s, fd) < 0)
		return err_set(e, "cannot watch the datagram socket");
	net_set_info_str(&s->nc, "socket: mcast=%s:%d", inet_ntoa(sa.sin_addr), ntohs(sa.sin_port));
	return 0;
}

static int socket_init_udp(const char *rhost, const char *lhost, const char *id,
			   struct net_client *peer, struct error *e)
{
	struct sockaddr_in la, ra;
	struct socket_nd *s;
	int fd;

	if (!lhost)
		return err_set(e, "localaddr= is mandatory with udp=");
	if (inet_parse_host_port(&la, lhost, e) < 0 || inet_parse_host_port(&ra, rhost, e) < 0)
		return -1;
	fd = inet_udp_socket(&la, e);
	if (fd < 0)
		return -1;
	s = socket_new(peer, id, SOCKET_UDP);
	s->dst = ra;
	if (socket_dgram_start(s, fd) < 0)
		return err_set(e, "cannot watch the datagram socket");
	net_set_info_str(&s->nc, "socket: udp=%s:%d", inet_ntoa(ra.sin_addr), ntohs(ra.sin_port));
	return 0;
}

/* socket_fd_family() - QEMU's SocketAddressType name of a bound socket */
static const char *socket_fd_family(int fd, bool *is_unix)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	*is_unix = false;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return NULL;
	switch (ss.ss_family) {
	case AF_INET:
	case AF_INET6:
		return "inet";
	case AF_UNIX:
		*is_unix = true;
		return "unix";
	case AF_VSOCK:
		return "vsock";
	}
	return NULL;
}

static int socket_init_fd(const char *str, const char *id, struct net_client *peer,
			  struct error *e)
{
	struct socket_nd *s;
	const char *fam;
	bool is_unix;
	char *end;
	long v;
	int fd, type;
	socklen_t sl = sizeof(type);

	errno = 0;
	v = strtol(str, &end, 10);
	if (!isdigit((unsigned char)str[0]) || errno || *end || v > INT32_MAX)
		return err_set(e, "Invalid file descriptor number '%s'", str);
	fd = (int)v;
	type = set_nonblock(fd);
	if (type < 0)
		return err_set_errno(e, -type, "%s: Can't use file descriptor %d", id, fd);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &sl) < 0) {
		close(fd);
		return err_set(e, "can't get socket option SO_TYPE");
	}
	if (type == SOCK_STREAM) {
		s = socket_new(peer, id, SOCKET_FD);
		net_set_info_str(&s->nc, "socket: fd=%d", fd);
		if (stream_conn_attach(&s->conn, fd, false) < 0)
			socket_conn_event(&s->conn, STREAM_CONN_DOWN, 0);
		return 0;
	}
	if (type != SOCK_DGRAM) {
		close(fd);
		return err_set(e, "socket type=%d for fd=%d must be either SOCK_DGRAM or SOCK_STREAM",
			       type, fd);
	}
	fam = socket_fd_family(fd, &is_unix);
	if (!fam) {
		err_set_errno(e, errno, "Unable to query local socket address");
		close(fd);
		return -1;
	}
	s = socket_new(peer, id, SOCKET_FD);
	s->use_send = true;
	if (socket_dgram_start(s, fd) < 0)
		return err_set(e, "cannot watch the datagram socket");
	net_set_info_str(&s->nc, "socket: fd=%d %s", fd, fam);
	return 0;
}

static int socket_init(struct opts *o, const char *id, struct net_client *peer, struct error *e)
{
	const char *fd = opts_get(o, "fd");
	const char *lis = opts_get(o, "listen");
	const char *con = opts_get(o, "connect");
	const char *mc = opts_get(o, "mcast");
	const char *udp = opts_get(o, "udp");
	const char *la = opts_get(o, "localaddr");

	if (!!fd + !!lis + !!con + !!mc + !!udp != 1)
		return err_set(e, "exactly one of listen=, connect=, mcast= or udp= is required");
	if (la && !mc && !udp)
		return err_set(e, "localaddr= is only valid with mcast= or udp=");
	if (fd)
		return socket_init_fd(fd, id, peer, e);
	if (lis)
		return socket_init_listen(lis, id, peer, e);
	if (con)
		return socket_init_connect(con, id, peer, e);
	if (mc)
		return socket_init_mcast(mc, la, id, peer, e);
	return socket_init_udp(udp, la, id, peer, e);
}

static const struct opt_desc socket_opts[] = {
	{ "fd", OPT_STRING, "file descriptor of an already open socket" },
	{ "listen", OPT_STRING, "[host]:port to listen on (one peer at a time)" },
	{ "connect", OPT_STRING, "host:port to connect to" },
	{ "mcast", OPT_STRING, "maddr:port multicast group (UML: 239.192.168.1:1102)" },
	{ "udp", OPT_STRING, "host:port of the remote (needs localaddr=host:port)" },
	{ "localaddr", OPT_STRING, "mcast: local IPv4 address; udp: local host:port" },
	{ NULL, OPT_STRING, NULL },
};

const struct netdev_type netdev_socket = {
	.name = "socket",
	.driver = NET_DRIVER_SOCKET,
	.opts = socket_opts,
	.modern = false,
	.legacy_ok = true,
	.init = socket_init,
};
