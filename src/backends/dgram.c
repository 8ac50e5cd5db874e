// SPDX-License-Identifier: MIT
// dgram.c - the dgram netdev: one Ethernet frame per UDP or unix datagram (QEMU 7.2 net/dgram.c)

/*
 * DOC: Theory of operation
 *
 * -netdev dgram,id=ID,local.type=...,remote.type=... binds a datagram socket
 * and exchanges raw frames with whoever sends to it, sending its own frames to
 * the remote address (or to a multicast group). The option combinations, error
 * texts and info_str strings are QEMU 7.2's.
 *
 * RX and TX go through the batched datagram engine (dgram_io.h): up to
 * DGRAM_IO_BATCH datagrams per recvmmsg() and per sendmmsg(), with the core's
 * back-pressure. A unix socket retries a full remote from a short timer.
 *
 * Deliberate differences from QEMU 7.2: a zero-length datagram is dropped
 * instead of stopping the netdev for good; local.type=fd with a multicast
 * remote clones the socket for the remote group (QEMU 7.2 fails with "port
 * number '(null)' is invalid"); unix paths qnet bound are unlinked at cleanup;
 * local.abstract=on is honoured for unix addresses.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../cli/netdev.h"
#include "../core/log.h"
#include "../core/loop.h"
#include "../core/net.h"
#include "dgram_io.h"
#include "inet.h"

enum dgram_addr_type { DGRAM_ADDR_NONE, DGRAM_ADDR_INET, DGRAM_ADDR_UNIX, DGRAM_ADDR_VSOCK,
		       DGRAM_ADDR_FD };

/**
 * struct dgram_addr - a QAPI SocketAddress read from "local." or "remote." keys
 * @type:	which variant, DGRAM_ADDR_NONE when absent
 * @host:	inet host (vsock: cid)
 * @port:	inet/vsock port, a string as in QAPI
 * @path:	unix path
 * @abstract:	unix: abstract namespace
 * @tight:	unix abstract: address length covers the name only (default on)
 * @str:	fd: number
 */
struct dgram_addr {
	enum dgram_addr_type type;
	const char *host, *port;
	const char *path;
	bool abstract, tight;
	const char *str;
};

/**
 * struct dgram - one dgram netdev
 * @nc:		the net client (first)
 * @io:		the socket and its batches
 * @unlink_path: unix path qnet bound, removed at cleanup if it is still ours
 * @unlink_dev, @unlink_ino: identity of that socket file
 */
struct dgram {
	struct net_client nc;
	struct dgram_io io;
	char *unlink_path;
	dev_t unlink_dev;
	ino_t unlink_ino;
};

static void dgram_sent(struct net_client *nc, ssize_t ret)
{
	struct dgram *s = container_of(nc, struct dgram, nc);

	dgram_io_sent(&s->io);
}

/* dgram_receive() - take a frame from the peer into a TX slot (dgram_io_receive()) */
static ssize_t dgram_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
			     const struct net_meta *meta)
{
	struct dgram *s = container_of(nc, struct dgram, nc);

	return dgram_io_receive(&s->io, iov, iovcnt);
}

static void dgram_cleanup(struct net_client *nc)
{
	struct dgram *s = container_of(nc, struct dgram, nc);
	struct stat st;

	dgram_io_fini(&s->io);
	if (s->unlink_path && !stat(s->unlink_path, &st) && S_ISSOCK(st.st_mode) &&
	    st.st_dev == s->unlink_dev && st.st_ino == s->unlink_ino)
		unlink(s->unlink_path);
	free(s->unlink_path);
	s->unlink_path = NULL;
}

static const struct net_client_ops dgram_ops = {
	.driver = NET_DRIVER_DGRAM,
	.size = sizeof(struct dgram),
	.receive = dgram_receive,
	.cleanup = dgram_cleanup,
};

/* ---- option parsing: QAPI SocketAddress as QEMU's keyval visitor reads it ---- */

static bool dgram_has_prefix(const struct opts *o, const char *prefix)
{
	size_t n = strlen(prefix);

	for (int i = 0; i < o->n; i++)
		if (!strncmp(o->v[i].key, prefix, n) && o->v[i].key[n] == '.')
			return true;
	return false;
}

static const char *dgram_get(struct opts *o, const char *prefix, const char *member)
{
	char key[64];

	snprintf(key, sizeof(key), "%s.%s", prefix, member);
	return opts_get(o, key);
}

static const char *dgram_need(struct opts *o, const char *prefix, const char *member,
			      struct error *e)
{
	const char *v = dgram_get(o, prefix, member);

	if (!v)
		err_set(e, "Parameter '%s.%s' is missing", prefix, member);
	return v;
}

static int dgram_bool(struct opts *o, const char *prefix, const char *member, bool *out,
		      struct error *e)
{
	char key[64];

	snprintf(key, sizeof(key), "%s.%s", prefix, member);
	return opts_get_bool(o, key, out, e) < 0 ? -1 : 0;
}

static int dgram_parse_inet(struct opts *o, const char *prefix, struct dgram_addr *a,
			    struct error *e)
{
	static const char *const flags[] = { "ipv4", "ipv6", "keep-alive", "mptcp" };
	char key[64];
	uint64_t to;
	bool b;

	a->host = dgram_need(o, prefix, "host", e);
	if (!a->host)
		return -1;
	a->port = dgram_need(o, prefix, "port", e);
	if (!a->port)
		return -1;
	/* accepted and, as in QEMU 7.2's dgram, without effect */
	if (dgram_bool(o, prefix, "numeric", &b, e) < 0)
		return -1;
	snprintf(key, sizeof(key), "%s.to", prefix);
	if (opts_get_u64(o, key, &to, e) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
		if (dgram_bool(o, prefix, flags[i], &b, e) < 0)
			return -1;
	return 0;
}

/**
 * dgram_parse_addr() - read a SocketAddress under @prefix ("local"/"remote")
 * @o:		options
 * @prefix:	the member name
 * @a:		filled in; type DGRAM_ADDR_NONE when no key has the prefix
 * @e:		QEMU's visitor texts on error
 *
 * Return: 0 or -1
 */
static int dgram_parse_addr(struct opts *o, const char *prefix, struct dgram_addr *a,
			    struct error *e)
{
	const char *type;

	memset(a, 0, sizeof(*a));
	a->tight = true;
	if (opts_has(o, prefix))
		return err_set(e, "Invalid parameter type for '%s', expected: object", prefix);
	if (!dgram_has_prefix(o, prefix))
		return 0;
	type = dgram_need(o, prefix, "type", e);
	if (!type)
		return -1;
	if (!strcmp(type, "inet")) {
		a->type = DGRAM_ADDR_INET;
		if (dgram_parse_inet(o, prefix, a, e) < 0)
			return -1;
	} else if (!strcmp(type, "unix")) {
		a->type = DGRAM_ADDR_UNIX;
		a->path = dgram_need(o, prefix, "path", e);
		if (!a->path || dgram_bool(o, prefix, "abstract", &a->abstract, e) < 0 ||
		    dgram_bool(o, prefix, "tight", &a->tight, e) < 0)
			return -1;
	} else if (!strcmp(type, "vsock")) {
		a->type = DGRAM_ADDR_VSOCK;
		a->host = dgram_need(o, prefix, "cid", e);
		if (!a->host || !(a->port = dgram_need(o, prefix, "port", e)))
			return -1;
	} else if (!strcmp(type, "fd")) {
		a->type = DGRAM_ADDR_FD;
		a->str = dgram_need(o, prefix, "str", e);
		if (!a->str)
			return -1;
	} else {
		return err_set(e, "Parameter 'type' does not accept value '%s'", type);
	}
	for (int i = 0; i < o->n; i++) {
		size_t n = strlen(prefix);

		if (!o->v[i].used && !strncmp(o->v[i].key, prefix, n) && o->v[i].key[n] == '.')
			return err_set(e, "Parameter '%s' is unexpected", o->v[i].key);
	}
	return 0;
}

/**
 * dgram_unix_addr() - a sockaddr_un for @a
 * Return: the address length, or 0 with "UNIX socket path '%s' is too long"
 */
static socklen_t dgram_unix_addr(struct sockaddr_un *sun, const struct dgram_addr *a,
				 struct error *e)
{
	size_t len = strlen(a->path), off = a->abstract ? 1 : 0;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (len + off >= sizeof(sun->sun_path)) {
		err_set(e, "UNIX socket path '%s' is too long", a->path);
		return 0;
	}
	memcpy(sun->sun_path + off, a->path, len);
	if (a->abstract && a->tight)
		return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
	return sizeof(*sun);
}

/* dgram_fd_param() - QEMU's monitor_fd_param() at start-up: a plain number */
static int dgram_fd_param(const char *str, struct error *e)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(str, &end, 10);
	if (end == str || *end || errno || v < 0 || v > INT_MAX)
		return err_set(e, "Invalid file descriptor number '%s'", str);
	return (int)v;
}

static int dgram_take_fd(const char *id, const char *str, struct error *e)
{
	int fd = dgram_fd_param(str, e), r;

	if (fd < 0)
		return -1;
	r = set_nonblock(fd);
	if (r < 0)
		return err_set_errno(e, -r, "%s: Can't use file descriptor %d", id, fd);
	return fd;
}

/* dgram_set_dest() - where frames go (@len 0: send() on a connected fd) */
static void dgram_set_dest(struct dgram *s, const void *addr, socklen_t len)
{
	dgram_io_set_dest(&s->io, addr, len);
}

/* dgram_new() - the client around a ready socket; takes @fd */
static struct dgram *dgram_new(struct net_client *peer, const char *model, const char *id,
			       int fd, struct error *e)
{
	struct dgram *s;
	int r;

	s = container_of(net_client_new(&dgram_ops, peer, model, id), struct dgram, nc);
	dgram_io_init(&s->io, &s->nc, dgram_sent, s);
	r = dgram_io_start(&s->io, fd);
	if (r < 0) {
		err_set_errno(e, -r, "can't watch datagram socket");
		close(fd);
		net_client_free(&s->nc);
		return NULL;
	}
	return s;
}

static int dgram_init_mcast(const struct dgram_addr *local, const struct sockaddr_in *group,
			    const char *id, struct net_client *peer, struct error *e)
{
	struct in_addr laddr;
	struct dgram *s;
	int fd = -1, ufd = -1;

	if (!local->type) {
		fd = inet_mcast_socket(group, NULL, e);
	} else if (local->type == DGRAM_ADDR_INET) {
		if (!inet_aton(local->host, &laddr))
			return err_set(e, "localaddr '%s' is not a valid IPv4 address", local->host);
		fd = inet_mcast_socket(group, &laddr, e);
	} else if (local->type == DGRAM_ADDR_FD) {
		ufd = dgram_take_fd(id, local->str, e);
		if (ufd < 0)
			return -1;
		fd = inet_mcast_socket(group, NULL, e);
		if (fd >= 0) {
			/* "clone": the user's fd number now names the group socket */
			if (dup2(fd, ufd) < 0) {
				err_set_errno(e, errno, "can't setup multicast destination address");
				close(fd);
				close(ufd);
				return -1;
			}
			close(fd);
			fd = ufd;
		} else {
			close(ufd);
		}
	} else {
		return err_set(e, "only support inet or fd type for local");
	}
	if (fd < 0)
		return -1;
	s = dgram_new(peer, "dram", id, fd, e);
	if (!s)
		return -1;
	dgram_set_dest(s, group, sizeof(*group));
	if (local->type == DGRAM_ADDR_FD)
		net_set_info_str(&s->nc, "fd=%d (cloned mcast=%s:%d)", fd,
				 inet_ntoa(group->sin_addr), ntohs(group->sin_port));
	else
		net_set_info_str(&s->nc, "mcast=%s:%d", inet_ntoa(group->sin_addr),
				 ntohs(group->sin_port));
	return 0;
}

static int dgram_init_inet(const struct dgram_addr *local, const struct dgram_addr *remote,
			   const char *id, struct net_client *peer, struct error *e)
{
	struct sockaddr_in lsin, rsin;
	struct dgram *s;
	char lhost[INET_ADDRSTRLEN];
	int fd;

	if (inet_host_port(&lsin, local->host, local->port, e) < 0 ||
	    inet_host_port(&rsin, remote->host, remote->port, e) < 0)
		return -1;
	fd = inet_udp_socket(&lsin, e);
	if (fd < 0)
		return -1;
	s = dgram_new(peer, "dgram", id, fd, e);
	if (!s)
		return -1;
	dgram_set_dest(s, &rsin, sizeof(rsin));
	inet_ntop(AF_INET, &lsin.sin_addr, lhost, sizeof(lhost));
	net_set_info_str(&s->nc, "udp=%s:%d/%s:%d", lhost, ntohs(lsin.sin_port),
			 inet_ntoa(rsin.sin_addr), ntohs(rsin.sin_port));
	return 0;
}

static int dgram_init_unix(const struct dgram_addr *local, const struct dgram_addr *remote,
			   const char *id, struct net_client *peer, struct error *e)
{
	struct sockaddr_un lsun, rsun;
	socklen_t llen, rlen;
	struct dgram *s;
	struct stat st;
	int fd;

	if (!local->abstract && unlink(local->path) < 0 && errno != ENOENT)
		return err_set_errno(e, errno, "failed to unlink socket %s", local->path);
	llen = dgram_unix_addr(&lsun, local, e);
	rlen = dgram_unix_addr(&rsun, remote, e);
	if (!llen || !rlen)
		return -1;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_set_errno(e, errno, "can't create datagram socket");
	sock_set_dgram_bufs(fd);
	if (bind(fd, (struct sockaddr *)&lsun, llen) < 0) {
		err_set_errno(e, errno, "can't bind unix=%s to socket", local->path);
		close(fd);
		return -1;
	}
	s = dgram_new(peer, "dgram", id, fd, e);
	if (!s)
		return -1;
	dgram_set_dest(s, &rsun, rlen);
	s->io.is_unix = true;
	if (!local->abstract && !stat(local->path, &st)) {
		s->unlink_path = xstrdup(local->path);
		s->unlink_dev = st.st_dev;
		s->unlink_ino = st.st_ino;
	}
	net_set_info_str(&s->nc, "udp=%s:%s", local->path, remote->path);
	return 0;
}

static const char *dgram_family_str(int family)
{
	switch (family) {
	case AF_INET:
	case AF_INET6:
		return "inet";
	case AF_UNIX:
		return "unix";
	case AF_VSOCK:
		return "vsock";
	default:
		return NULL;
	}
}

static int dgram_init_fd(const struct dgram_addr *local, const char *id,
			 struct net_client *peer, struct error *e)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const char *family;
	struct dgram *s;
	int fd;

	fd = dgram_take_fd(id, local->str, e);
	if (fd < 0)
		return -1;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		err_set_errno(e, errno, "Unable to query local socket address");
		close(fd);
		return -1;
	}
	family = dgram_family_str(ss.ss_family);
	if (!family) {
		close(fd);
		return err_set(e, "socket family %d unsupported", ss.ss_family);
	}
	s = dgram_new(peer, "dgram", id, fd, e);
	if (!s)
		return -1;
	s->io.is_unix = ss.ss_family == AF_UNIX;
	net_set_info_str(&s->nc, "fd=%d %s", fd, family);
	return 0;
}

/**
 * dgram_init() - -netdev dgram: check the combination as QEMU 7.2 does, create
 * Return: 0 or -1 with @e set
 */
static int dgram_init(struct opts *o, const char *id, struct net_client *peer, struct error *e)
{
	struct dgram_addr local, remote;

	if (dgram_parse_addr(o, "local", &local, e) < 0 ||
	    dgram_parse_addr(o, "remote", &remote, e) < 0)
		return -1;

	if (remote.type == DGRAM_ADDR_INET) {
		struct sockaddr_in group;

		if (inet_host_port(&group, remote.host, remote.port, e) < 0)
			return -1;
		if (IN_MULTICAST(ntohl(group.sin_addr.s_addr)))
			return dgram_init_mcast(&local, &group, id, peer, e);
	}

	if (!local.type)
		return err_set(e, "dgram requires local= parameter");
	if (remote.type) {
		if (local.type == DGRAM_ADDR_FD)
			return err_set(e, "don't set remote with local.fd");
		if (remote.type != local.type)
			return err_set(e, "remote and local types must be the same");
	} else if (local.type != DGRAM_ADDR_FD) {
		return err_set(e, "type=inet or type=unix requires remote parameter");
	}

	switch (local.type) {
	case DGRAM_ADDR_INET:
		return dgram_init_inet(&local, &remote, id, peer, e);
	case DGRAM_ADDR_UNIX:
		return dgram_init_unix(&local, &remote, id, peer, e);
	case DGRAM_ADDR_FD:
		return dgram_init_fd(&local, id, peer, e);
	default:
		return err_set(e, "only support inet or fd type for local");
	}
}

static const struct opt_desc dgram_opts[] = {
	{ "local.", OPT_STRING,
	  "local address: local.type=inet,local.host=H,local.port=P | "
	  "local.type=unix,local.path=PATH | local.type=fd,local.str=FD" },
	{ "remote.", OPT_STRING,
	  "remote address (inet unicast or multicast group, or unix; same type as local)" },
	{ NULL, OPT_STRING, NULL },
};

const struct netdev_type netdev_dgram = {
	.name = "dgram",
	.driver = NET_DRIVER_DGRAM,
	.opts = dgram_opts,
	.modern = true,
	.legacy_ok = false,
	.init = dgram_init,
};
