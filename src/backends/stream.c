// SPDX-License-Identifier: MIT
/* stream.c - -netdev stream (QEMU 7.2): framed frames over TCP, unix or a passed socket */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../cli/netdev.h"
#include "../core/hub.h"
#include "../core/log.h"
#include "../core/loop.h"
#include "../core/net.h"
#include "../monitor/events.h"
#include "stream_data.h"

/* at most this many resolved addresses are tried by a client */
#define STREAM_MAX_CANDIDATES 8
/* hubid= servers: concurrent clients; more are accepted and closed at once */
#define STREAM_MAX_CHILDREN 128
/* accepts per wakeup of a hubid= listener */
#define STREAM_ACCEPT_BUDGET 16

enum stream_addr_type { STREAM_INET, STREAM_UNIX, STREAM_FD };

/**
 * struct stream_addr - the parsed addr.* options (QAPI SocketAddress)
 * @type:	inet, unix or fd
 * @host, @port: inet
 * @to:		inet: last port of a listen range (0: none)
 * @numeric:	inet: AI_NUMERICHOST
 * @ipv4, @ipv6: inet: -1 unset, 0 off, 1 on
 * @keep_alive:	inet: SO_KEEPALIVE on the connection
 * @path, @abstract, @tight: unix
 * @fdstr:	fd: the fd number
 */
struct stream_addr {
	enum stream_addr_type type;
	char *host, *port;
	unsigned to;
	bool numeric;
	int ipv4, ipv6;
	bool keep_alive;
	char *path;
	bool abstract, tight;
	char *fdstr;
};

struct stream_child;

/**
 * struct stream - one -netdev stream
 * @nc:		the client (first)
 * @conn:	the connection (single-client server and client)
 * @listen:	server: listening socket
 * @reconnect:	client: retry timer (reconnect-ms)
 * @addr:	where to listen or connect
 * @server:	server=on
 * @hubid:	hubid= (-1: classic one-client mode)
 * @reconnect_ms: client retry delay, 0 off
 * @unlink_path: unix socket file qnet created, removed at cleanup
 * @cand:	client: resolved addresses, tried in order from @cur
 * @children:	hubid= mode: open connections
 * @nchildren:	entries in @children
 * @child_seq:	next child number ("<id>.<n>")
 */
struct stream {
	struct net_client nc;
	struct stream_conn conn;
	struct loop_fd listen;
	struct loop_timer reconnect;
	struct stream_addr addr;
	bool server;
	int hubid;
	uint32_t reconnect_ms;
	char *unlink_path;
	struct sockaddr_storage cand[STREAM_MAX_CANDIDATES];
	socklen_t cand_len[STREAM_MAX_CANDIDATES];
	int ncand, cur;
	struct stream_child *children;
	unsigned nchildren;
	unsigned child_seq;
};

/**
 * struct stream_child - one connection of a hubid= server, its own client on the hub
 */
struct stream_child {
	struct net_client nc;
	struct stream_conn conn;
	struct stream *parent;
	struct stream_child *next;
};

/*
 * QMP call points: QEMU emits NETDEV_STREAM_CONNECTED {netdev-id, addr} and
 * NETDEV_STREAM_DISCONNECTED {netdev-id} here (also logged).
 */
static void stream_event_connected(const char *id, const char *uri)
{
	info("NETDEV_STREAM_CONNECTED netdev-id=%s addr=%s", id, uri);
	event_stream_connected(id, uri);
}

static void stream_event_disconnected(const char *id)
{
	info("NETDEV_STREAM_DISCONNECTED netdev-id=%s", id);
	event_stream_disconnected(id);
}

/* stream_uri() - QEMU's socket_uri() of a socket address */
static void stream_uri(const struct sockaddr_storage *ss, socklen_t sl, char *out, size_t n)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	if (ss->ss_family == AF_UNIX) {
		const struct sockaddr_un *su = (const struct sockaddr_un *)ss;
		size_t off = offsetof(struct sockaddr_un, sun_path);
		size_t plen = sl > off ? sl - off : 0;

		if (plen > 0 && su->sun_path[0] == '\0')
			snprintf(out, n, "unix:%.*s", (int)(plen - 1), su->sun_path + 1);
		else
			snprintf(out, n, "unix:%.*s", (int)strnlen(su->sun_path, plen), su->sun_path);
		return;
	}
	if (getnameinfo((const struct sockaddr *)ss, sl, host, sizeof(host), serv, sizeof(serv),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(out, n, "tcp:?:?");
		return;
	}
	snprintf(out, n, "tcp:%.200s:%.32s", host, serv);
}

/* stream_conn_uri() - what QEMU shows for a connection: unix: local address, else peer */
static void stream_conn_uri(int fd, char *out, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int r;

	memset(&ss, 0, sizeof(ss));
	r = getsockname(fd, (struct sockaddr *)&ss, &sl);
	if (r == 0 && ss.ss_family != AF_UNIX) {
		sl = sizeof(ss);
		r = getpeername(fd, (struct sockaddr *)&ss, &sl);
	}
	if (r < 0) {
		snprintf(out, n, "fd");
		return;
	}
	stream_uri(&ss, sl, out, n);
}

/* ---- options ---- */

static void stream_addr_free(struct stream_addr *a)
{
	free(a->host);
	free(a->port);
	free(a->path);
	free(a->fdstr);
	memset(a, 0, sizeof(*a));
}

/* stream_opt_str() - a mandatory string member */
static int stream_opt_str(struct opts *o, const char *key, char **out, struct error *e)
{
	const char *v = opts_get(o, key);

	if (!v)
		return err_set(e, "Parameter '%s' is missing", key);
	*out = xstrdup(v);
	return 0;
}

/* stream_opt_tristate() - optional bool as -1/0/1 */
static int stream_opt_tristate(struct opts *o, const char *key, int *out, struct error *e)
{
	bool b;
	int r = opts_get_bool(o, key, &b, e);

	if (r < 0)
		return -1;
	*out = r ? b : -1;
	return 0;
}

static int stream_parse_inet(struct opts *o, struct stream_addr *a, struct error *e)
{
	uint64_t to = 0;
	bool b;

	if (stream_opt_str(o, "addr.host", &a->host, e) < 0 ||
	    stream_opt_str(o, "addr.port", &a->port, e) < 0)
		return -1;
	if (opts_get_bool(o, "addr.numeric", &a->numeric, e) < 0)
		return -1;
	switch (opts_get_u64(o, "addr.to", &to, e)) {
	case -1:
		return -1;
	case 1:
		if (to > 65535)
			return err_set(e, "Parameter 'to' expects uint16_t");
		a->to = (unsigned)to;
	}
	if (stream_opt_tristate(o, "addr.ipv4", &a->ipv4, e) < 0 ||
	    stream_opt_tristate(o, "addr.ipv6", &a->ipv6, e) < 0)
		return -1;
	if (opts_get_bool(o, "addr.keep-alive", &b, e) < 0)
		return -1;
	a->keep_alive = opts_has(o, "addr.keep-alive") && b;
	return 0;
}

static int stream_parse_addr(struct opts *o, struct stream_addr *a, struct error *e)
{
	const char *type;
	bool has_addr = false;
	int i;

	a->ipv4 = a->ipv6 = -1;
	a->tight = true;
	for (i = 0; i < o->n; i++)
		if (!strncmp(o->v[i].key, "addr.", 5) || !strcmp(o->v[i].key, "addr"))
			has_addr = true;
	if (!has_addr)
		return err_set(e, "Parameter 'addr' is missing");
	type = opts_get(o, "addr.type");
	if (!type)
		return err_set(e, "Parameter 'addr.type' is missing");
	if (!strcmp(type, "inet")) {
		a->type = STREAM_INET;
		return stream_parse_inet(o, a, e);
	}
	if (!strcmp(type, "unix")) {
		a->type = STREAM_UNIX;
		if (stream_opt_str(o, "addr.path", &a->path, e) < 0 ||
		    opts_get_bool(o, "addr.abstract", &a->abstract, e) < 0 ||
		    opts_get_bool(o, "addr.tight", &a->tight, e) < 0)
			return -1;
		return 0;
	}
	if (!strcmp(type, "fd")) {
		a->type = STREAM_FD;
		return stream_opt_str(o, "addr.str", &a->fdstr, e);
	}
	return err_set(e, "Parameter 'type' does not accept value '%s'", type);
}

/* ---- sockets ---- */

/**
 * stream_unix_sockaddr() - fill a sockaddr_un for @a
 * Return: its length, or -1 (path too long)
 */
static int stream_unix_sockaddr(const struct stream_addr *a, struct sockaddr_un *su)
{
	size_t len = strlen(a->path);
	size_t max = sizeof(su->sun_path) - (a->abstract ? 1 : 0);

	memset(su, 0, sizeof(*su));
	su->sun_family = AF_UNIX;
	if (len > max) {
		info("UNIX socket path '%s' is too long", a->path);
		return -1;
	}
	if (a->abstract) {
		memcpy(su->sun_path + 1, a->path, len);
		if (a->tight)
			return (int)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
		return (int)sizeof(*su);
	}
	memcpy(su->sun_path, a->path, len);
	return (int)sizeof(*su);
}

/* stream_fd_number() - QEMU's socket_get_fd() without a monitor: a number, a socket */
static int stream_fd_number(const char *str)
{
	char *end;
	long v;
	int type;
	socklen_t sl = sizeof(type);

	errno = 0;
	v = strtol(str, &end, 10);
	if (errno || end == str || *end || v < 0 || v > INT32_MAX) {
		info("Unable to parse FD number %s", str);
		return -1;
	}
	if (getsockopt((int)v, SOL_SOCKET, SO_TYPE, &type, &sl) < 0) {
		info("File descriptor '%s' is not a socket", str);
		return -1;
	}
	return (int)v;
}

/* stream_resolve() - getaddrinfo for inet; fills s->cand */
static int stream_resolve(struct stream *s, bool passive)
{
	const struct stream_addr *a = &s->addr;
	struct addrinfo hints, *res, *ai;
	int r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = passive ? AI_PASSIVE : AI_ADDRCONFIG;
	if (a->numeric)
		hints.ai_flags |= AI_NUMERICHOST;
	hints.ai_family = AF_UNSPEC;
	if (a->ipv4 == 1 && a->ipv6 != 1)
		hints.ai_family = AF_INET;
	else if (a->ipv6 == 1 && a->ipv4 != 1)
		hints.ai_family = AF_INET6;
	else if (a->ipv4 == 0)
		hints.ai_family = AF_INET6;
	else if (a->ipv6 == 0)
		hints.ai_family = AF_INET;
	r = getaddrinfo(a->host[0] ? a->host : NULL, a->port, &hints, &res);
	if (r != 0) {
		info("address resolution failed for %s:%s: %s", a->host, a->port, gai_strerror(r));
		return -1;
	}
	s->ncand = 0;
	for (ai = res; ai && s->ncand < STREAM_MAX_CANDIDATES; ai = ai->ai_next) {
		memcpy(&s->cand[s->ncand], ai->ai_addr, ai->ai_addrlen);
		s->cand_len[s->ncand++] = ai->ai_addrlen;
	}
	freeaddrinfo(res);
	s->cur = 0;
	return s->ncand ? 0 : -1;
}

/* stream_inet_bind() - bind @fd to candidate @sa, trying ports up to @to */
static int stream_inet_bind(int fd, struct sockaddr_storage *sa, socklen_t sl, unsigned to)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
	unsigned port = ntohs(sa->ss_family == AF_INET ? s4->sin_port : s6->sin6_port);
	unsigned last = to > port ? to : port;

	for (; port <= last; port++) {
		if (sa->ss_family == AF_INET)
			s4->sin_port = htons((uint16_t)port);
		else
			s6->sin6_port = htons((uint16_t)port);
		if (bind(fd, (struct sockaddr *)sa, sl) == 0)
			return 0;
		if (errno != EADDRINUSE)
			break;
	}
	return -1;
}

static int stream_listen_inet(struct stream *s)
{
	int i, one = 1;

	if (stream_resolve(s, true) < 0)
		return -1;
	for (i = 0; i < s->ncand; i++) {
		int fd = socket(s->cand[i].ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (s->cand[i].ss_family == AF_INET6) {
			int v6only = s->addr.ipv4 == 0;

			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
		}
		if (stream_inet_bind(fd, &s->cand[i], s->cand_len[i], s->addr.to) == 0)
			return fd;
		info("%s: can't bind %s:%s: %s", s->nc.name, s->addr.host, s->addr.port,
		     strerror(errno));
		close(fd);
	}
	return -1;
}

static int stream_listen_unix(struct stream *s)
{
	struct sockaddr_un su;
	int len, fd;

	if (!s->addr.path[0] && !s->addr.abstract) {
		/* QEMU makes up a name for an empty path */
		const char *dir = getenv("TMPDIR");
		char *tmpl = xasprintf("%s/qemu-socket-XXXXXX", dir && *dir ? dir : "/tmp");
		int t = mkstemp(tmpl);

		if (t < 0) {
			free(tmpl);
			return -1;
		}
		close(t);
		free(s->addr.path);
		s->addr.path = tmpl;
	}
	len = stream_unix_sockaddr(&s->addr, &su);
	if (len < 0)
		return -1;
	if (!s->addr.abstract && unlink(s->addr.path) < 0 && errno != ENOENT) {
		info("Failed to unlink socket %s: %s", s->addr.path, strerror(errno));
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&su, (socklen_t)len) < 0) {
		info("%s: Failed to bind socket to %s: %s", s->nc.name, s->addr.path,
		     strerror(errno));
		close(fd);
		return -1;
	}
	if (!s->addr.abstract)
		s->unlink_path = xstrdup(s->addr.path);
	return fd;
}

/* stream_listen_fd() - a listening socket for the server, or -1 */
static int stream_listen_fd(struct stream *s)
{
	int fd = -1;

	switch (s->addr.type) {
	case STREAM_INET:
		fd = stream_listen_inet(s);
		break;
	case STREAM_UNIX:
		fd = stream_listen_unix(s);
		break;
	case STREAM_FD:
		fd = stream_fd_number(s->addr.fdstr);
		break;
	}
	if (fd < 0)
		return -1;
	if (listen(fd, s->hubid >= 0 ? 16 : 1) < 0 || set_nonblock(fd) < 0) {
		info("%s: can't listen: %s", s->nc.name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- the one-connection client and server ---- */

static void stream_sent(struct net_client *nc, ssize_t ret)
{
	struct stream *s = (struct stream *)nc;

	stream_conn_resume(&s->conn);
}

static void stream_connect_next(struct stream *s);

static void stream_arm_reconnect(struct stream *s)
{
	/* a passed fd is closed with its connection: its number is not ours to retry */
	if (!s->server && s->reconnect_ms && s->addr.type != STREAM_FD &&
	    !loop_timer_armed(&s->reconnect))
		loop_timer_arm(&s->reconnect, s->reconnect_ms);
}

/* stream_went_up() - a connection is ready: link up, QEMU's info_str, event */
static void stream_went_up(struct stream *s)
{
	char uri[256];

	stream_conn_uri(s->conn.lfd.fd, uri, sizeof(uri));
	net_set_info_str(&s->nc, "%s", uri);
	net_set_link_down(&s->nc, false);
	stream_event_connected(s->nc.name, uri);
}

static void stream_conn_event(struct stream_conn *c, enum stream_conn_event ev, int err)
{
	struct stream *s = c->opaque;

	switch (ev) {
	case STREAM_CONN_UP:
		stream_went_up(s);
		net_flush_queued(&s->nc);
		break;
	case STREAM_CONN_FAILED:
		debug("%s: connect: %s", s->nc.name, strerror(err));
		s->cur++;
		stream_connect_next(s);
		break;
	case STREAM_CONN_DOWN:
		net_set_link_down(&s->nc, true);
		net_set_info_str(&s->nc, "%s", "");
		stream_conn_release_queue(c);
		stream_event_disconnected(s->nc.name);
		if (s->server && s->listen.fd >= 0)
			loop_fd_mod(&s->listen, EPOLLIN);
		stream_arm_reconnect(s);
		break;
	}
}

/* stream_connect_failed() - every address failed: QEMU's "connection error" */
static void stream_connect_failed(struct stream *s)
{
	net_set_info_str(&s->nc, "connection error");
	stream_arm_reconnect(s);
}

/* stream_connect_next() - try candidate s->cur and on (inet), or the unix path */
static void stream_connect_next(struct stream *s)
{
	for (; s->cur < s->ncand; s->cur++) {
		int fd = socket(s->cand[s->cur].ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		int r, one = 1;

		if (fd < 0)
			continue;
		if (s->addr.keep_alive)
			setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		r = connect(fd, (struct sockaddr *)&s->cand[s->cur], s->cand_len[s->cur]);
		if (r < 0 && errno != EINPROGRESS) {
			debug("%s: connect: %s", s->nc.name, strerror(errno));
			close(fd);
			continue;
		}
		if (stream_conn_attach(&s->conn, fd, r < 0) < 0)
			continue;
		if (r == 0) {
			stream_went_up(s);
			net_flush_queued(&s->nc);
		}
		return;
	}
	stream_connect_failed(s);
}

/* stream_connect() - start (or restart) the client's connection */
static void stream_connect(struct stream *s)
{
	struct sockaddr_un su;
	int len, fd;

	switch (s->addr.type) {
	case STREAM_INET:
		if (stream_resolve(s, false) < 0) {
			stream_connect_failed(s);
			return;
		}
		stream_connect_next(s);
		return;
	case STREAM_UNIX:
		len = stream_unix_sockaddr(&s->addr, &su);
		s->ncand = 0;
		if (len > 0) {
			memcpy(&s->cand[0], &su, (size_t)len);
			s->cand_len[0] = (socklen_t)len;
			s->ncand = 1;
		}
		s->cur = 0;
		stream_connect_next(s);
		return;
	case STREAM_FD:
		fd = stream_fd_number(s->addr.fdstr);
		if (fd < 0 || stream_conn_attach(&s->conn, fd, false) < 0) {
			stream_connect_failed(s);
			return;
		}
		stream_went_up(s);
		return;
	}
}

static void stream_reconnect_cb(struct loop_timer *t)
{
	struct stream *s = t->opaque;

	if (!stream_conn_is_open(&s->conn))
		stream_connect(s);
}

/* ---- hubid= servers: one client per connection ---- */

static void stream_child_sent(struct net_client *nc, ssize_t ret)
{
	struct stream_child *ch = (struct stream_child *)nc;

	stream_conn_resume(&ch->conn);
}

static ssize_t stream_child_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
				const struct net_meta *meta)
{
	struct stream_child *ch = (struct stream_child *)nc;

	return stream_conn_receive(&ch->conn, iov, iovcnt);
}

static void stream_child_cleanup(struct net_client *nc)
{
	struct stream_child *ch = (struct stream_child *)nc;
	struct stream_child **pp;

	stream_conn_fini(&ch->conn);
	if (!ch->parent)
		return;
	for (pp = &ch->parent->children; *pp; pp = &(*pp)->next) {
		if (*pp == ch) {
			*pp = ch->next;
			ch->parent->nchildren--;
			break;
		}
	}
	ch->parent = NULL;
}

static const struct net_client_ops stream_child_ops = {
	.driver = NET_DRIVER_STREAM,
	.size = sizeof(struct stream_child),
	.receive = stream_child_receive,
	.cleanup = stream_child_cleanup,
};

/* stream_child_destroy() - free a child and its hub port */
static void stream_child_destroy(struct stream_child *ch)
{
	struct net_client *port = ch->nc.peer;

	net_client_free(&ch->nc);
	if (port)
		net_client_free(port);
}

static void stream_child_event(struct stream_conn *c, enum stream_conn_event ev, int err)
{
	struct stream_child *ch = c->opaque;

	if (ev != STREAM_CONN_DOWN)
		return;
	stream_event_disconnected(ch->nc.name);
	stream_child_destroy(ch);
}

static void stream_child_new(struct stream *s, int fd)
{
	struct stream_child *ch;
	struct net_client *nc;
	char name[300], uri[256];

	if (s->nchildren >= STREAM_MAX_CHILDREN) {
		info("%s: too many connections, refusing one", s->nc.name);
		close(fd);
		return;
	}
	snprintf(name, sizeof(name), "%s.%u", s->nc.name, s->child_seq++);
	nc = net_client_new(&stream_child_ops, NULL, "stream", name);
	ch = (struct stream_child *)nc;
	nc->is_netdev = true;
	ch->parent = s;
	ch->next = s->children;
	s->children = ch;
	s->nchildren++;
	stream_conn_init(&ch->conn, nc, stream_child_sent, stream_child_event, ch);
	if (stream_conn_attach(&ch->conn, fd, false) < 0) {
		net_client_free(nc);
		return;
	}
	stream_conn_uri(fd, uri, sizeof(uri));
	net_set_info_str(nc, "%s", uri);
	hub_add_port(hub_get(s->hubid), NULL, nc, false);
	stream_event_connected(nc->name, uri);
}

/* ---- the listening socket ---- */

static void stream_accept_cb(struct loop_fd *h, uint32_t events)
{
	struct stream *s = h->opaque;
	int budget = s->hubid >= 0 ? STREAM_ACCEPT_BUDGET : 1;

	while (budget-- > 0) {
		int fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				debug("%s: accept: %s", s->nc.name, strerror(errno));
			return;
		}
		if (s->hubid >= 0) {
			stream_child_new(s, fd);
			continue;
		}
		/* one client at a time, like QEMU: stop listening until it leaves */
		loop_fd_mod(&s->listen, 0);
		if (stream_conn_attach(&s->conn, fd, false) < 0) {
			loop_fd_mod(&s->listen, EPOLLIN);
			return;
		}
		stream_went_up(s);
		return;
	}
}

static int stream_server_start(struct stream *s)
{
	int fd = stream_listen_fd(s);

	if (fd < 0) {
		net_set_info_str(&s->nc, "connection error");
		return 0;
	}
	if (loop_fd_add(&s->listen, fd, EPOLLIN, stream_accept_cb, s) < 0) {
		close(fd);
		net_set_info_str(&s->nc, "connection error");
	}
	return 0;
}

/* ---- the client ops ---- */

static ssize_t stream_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
				const struct net_meta *meta)
{
	struct stream *s = (struct stream *)nc;

	if (s->hubid >= 0)
		return (ssize_t)net_iov_size(iov, iovcnt);
	return stream_conn_receive(&s->conn, iov, iovcnt);
}

static void stream_cleanup(struct net_client *nc)
{
	struct stream *s = (struct stream *)nc;

	while (s->children)
		stream_child_destroy(s->children);
	loop_timer_cancel(&s->reconnect);
	stream_conn_fini(&s->conn);
	if (s->listen.fd >= 0) {
		int fd = s->listen.fd;

		loop_fd_del(&s->listen);
		close(fd);
		s->listen.fd = -1;
	}
	if (s->unlink_path) {
		unlink(s->unlink_path);
		free(s->unlink_path);
		s->unlink_path = NULL;
	}
	stream_addr_free(&s->addr);
}

static const struct net_client_ops stream_ops = {
	.driver = NET_DRIVER_STREAM,
	.size = sizeof(struct stream),
	.receive = stream_receive,
	.cleanup = stream_cleanup,
};

/**
 * stream_parse() - every option, before anything is created
 */
static int stream_parse(struct opts *o, struct stream_addr *a, bool *server, uint32_t *rms,
			int *hubid, struct error *e)
{
	uint64_t v = 0;
	int64_t h = -1;
	int r;

	if (stream_parse_addr(o, a, e) < 0)
		return -1;
	*server = false;
	if (opts_get_bool(o, "server", server, e) < 0)
		return -1;
	r = opts_get_u64(o, "reconnect-ms", &v, e);
	if (r < 0)
		return -1;
	if (r > 0 && v > UINT32_MAX)
		return err_set(e, "Parameter 'reconnect-ms' expects uint32_t");
	if (r > 0 && *server)
		return err_set(e, "'reconnect-ms' option is incompatible with socket in server mode");
	*rms = (uint32_t)v;
	r = opts_get_i64(o, "hubid", &h, e);
	if (r < 0)
		return -1;
	if (r > 0 && (h < 0 || h > INT32_MAX))
		return err_set(e, "Parameter 'hubid' expects a number between 0 and %d", INT32_MAX);
	if (r > 0 && !*server)
		return err_set(e, "'hubid' option is only valid with server=on");
	*hubid = r > 0 ? (int)h : -1;
	return 0;
}

static int stream_init(struct opts *o, const char *id, struct net_client *peer, struct error *e)
{
	struct stream_addr a;
	struct stream *s;
	bool server = false;
	uint32_t rms = 0;
	int hubid = -1;

	memset(&a, 0, sizeof(a));
	if (stream_parse(o, &a, &server, &rms, &hubid, e) < 0) {
		stream_addr_free(&a);
		return -1;
	}
	s = (struct stream *)net_client_new(&stream_ops, hubid >= 0 ? NULL : peer, "stream", id);
	s->addr = a;
	s->server = server;
	s->reconnect_ms = rms;
	s->hubid = hubid;
	s->listen.fd = -1;
	loop_timer_init(&s->reconnect, stream_reconnect_cb, s);
	stream_conn_init(&s->conn, &s->nc, stream_sent, stream_conn_event, s);
	net_set_link_down(&s->nc, true);
	if (server)
		return stream_server_start(s);
	stream_connect(s);
	return 0;
}

static const struct opt_desc stream_opts[] = {
	{ "server", OPT_BOOL, "on: listen for a client (default off: connect)" },
	{ "addr.type", OPT_STRING, "inet, unix or fd" },
	{ "addr.host", OPT_STRING, "inet: host name or address" },
	{ "addr.port", OPT_STRING, "inet: port or service" },
	{ "addr.numeric", OPT_BOOL, "inet: host is a numeric address" },
	{ "addr.to", OPT_NUMBER, "inet: server: try ports up to this one" },
	{ "addr.ipv4", OPT_BOOL, "inet: use IPv4" },
	{ "addr.ipv6", OPT_BOOL, "inet: use IPv6" },
	{ "addr.keep-alive", OPT_BOOL, "inet: enable TCP keep-alive" },
	{ "addr.path", OPT_STRING, "unix: socket path (abstract name if abstract=on)" },
	{ "addr.abstract", OPT_BOOL, "unix: abstract namespace" },
	{ "addr.tight", OPT_BOOL, "unix: abstract address length is the name length (default on)" },
	{ "addr.str", OPT_STRING, "fd: file descriptor number of a socket" },
	{ "reconnect-ms", OPT_NUMBER, "client: retry a failed or lost connection after N ms (0 off)" },
	{ "hubid", OPT_NUMBER,
	  "qnet: server: accept any number of clients, each on a new port of hub N" },
	{ NULL, OPT_STRING, NULL },
};

const struct netdev_type netdev_stream = {
	.name = "stream",
	.driver = NET_DRIVER_STREAM,
	.opts = stream_opts,
	.modern = true,
	.legacy_ok = false,
	.init = stream_init,
};
