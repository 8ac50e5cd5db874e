// SPDX-License-Identifier: MIT
// chardev.c - chardev-lite: -chardev socket for filter-mirror/redirector, never blocking on output

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "chardev.h"
#include "log.h"
#include "loop.h"

/* Bytes read per EPOLLIN (QEMU reads up to the frontend's can_read, 69632 for the redirector) */
#define CHARDEV_READ_CHUNK (64 * 1024)
/* Chardevs that can exist at once */
#define CHARDEV_MAX 256

/**
 * struct chardev - one -chardev socket
 * @id:		id=
 * @unix_path:	path= (unix), or NULL for tcp
 * @host, @port: tcp address
 * @abstract:	abstract unix namespace (path without a file)
 * @tight:	abstract name without padding (QEMU's default)
 * @ipv4, @ipv6: address family restriction (tcp)
 * @server:	listen (server=on)
 * @nodelay:	TCP_NODELAY
 * @reconnect:	client: seconds between connect attempts, 0 = connect once at start
 * @lfd:	listening socket (servers)
 * @cfd:	the connection
 * @timer:	reconnect timer
 * @flush:	deferred write of @out
 * @out:	pending output (CHARDEV_OUT_SIZE), @out_len bytes from @out_off
 * @read_cb, @event_cb, @opaque: the frontend
 * @has_fe:	a frontend is attached
 * @reading:	the frontend wants input
 * @err_reported: a failed reconnect was reported (once until it works)
 * @unlink_path: we created the unix socket file
 * @peer_name:	"127.0.0.1:4444" of the connected peer (tcp) for info chardev
 * @stats:	counters
 * @next:	all chardevs, creation order
 */
struct chardev {
	char *id;
	char *unix_path;
	char *host, *port;
	bool abstract, tight;
	bool ipv4, ipv6;
	bool server;
	bool nodelay;
	unsigned reconnect;
	struct loop_fd lfd;
	struct loop_fd cfd;
	struct loop_timer timer;
	struct loop_defer flush;
	uint8_t *out;
	size_t out_off, out_len;
	chardev_read_cb *read_cb;
	chardev_event_cb *event_cb;
	chardev_raw_cb *raw_cb;
	void *opaque;
	bool has_fe;
	bool reading;
	bool err_reported;
	bool unlink_path;
	char peer_name[80];
	struct chardev_stats stats;
	struct chardev *next;
};

static struct chardev *chardevs;
static unsigned n_chardevs;

struct chardev *chardev_find(const char *id)
{
	for (struct chardev *c = chardevs; c; c = c->next)
		if (!strcmp(c->id, id))
			return c;
	return NULL;
}

const char *chardev_id(const struct chardev *c)
{
	return c->id;
}

bool chardev_connected(const struct chardev *c)
{
	return c && c->cfd.fd >= 0;
}

const struct chardev_stats *chardev_get_stats(const struct chardev *c)
{
	return &c->stats;
}

/* ---- addresses ----------------------------------------------------------- */

/* unix_addr() - fill a sockaddr_un as QEMU does (abstract, tight); 0 or -1 */
static int unix_addr(const struct chardev *c, struct sockaddr_un *un, socklen_t *len,
		     struct error *e)
{
	size_t n = strlen(c->unix_path);
	size_t off = c->abstract ? 1 : 0;

	memset(un, 0, sizeof(*un));
	un->sun_family = AF_UNIX;
	if (n + off >= sizeof(un->sun_path))
		return err_set(e, "UNIX socket path '%s' is too long\n"
			       "Path must be less than %zu bytes", c->unix_path,
			       sizeof(un->sun_path) - off);
	memcpy(un->sun_path + off, c->unix_path, n);
	if (c->abstract && c->tight)
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + off + n);
	else
		*len = sizeof(*un);
	return 0;
}

static struct addrinfo *tcp_resolve(const struct chardev *c, bool passive, struct error *e)
{
	struct addrinfo hints = { 0 }, *res = NULL;
	int r;

	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = passive ? AI_PASSIVE : 0;
	hints.ai_family = c->ipv4 && !c->ipv6 ? AF_INET : c->ipv6 && !c->ipv4 ? AF_INET6 : AF_UNSPEC;
	r = getaddrinfo(c->host[0] ? c->host : NULL, c->port, &hints, &res);
	if (r) {
		err_set(e, "address resolution failed for %s:%s: %s", c->host, c->port,
			gai_strerror(r));
		return NULL;
	}
	return res;
}

/* ---- connection ------------------------------------------------------------ */

static void conn_cb(struct loop_fd *h, uint32_t events);
static void listen_cb(struct loop_fd *h, uint32_t events);
static void chardev_try_connect(struct chardev *c, struct error *e);

/* conn_events() - what to watch on the connection */
static void conn_update(struct chardev *c)
{
	uint32_t ev = 0;

	if (c->cfd.fd < 0)
		return;
	if (c->reading && (c->read_cb || c->raw_cb))
		ev |= EPOLLIN;
	if (c->out_len)
		ev |= EPOLLOUT;
	loop_fd_mod(&c->cfd, ev);
}

/* chardev_up() - start using connected @fd */
static void chardev_up(struct chardev *c, int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	if (!c->unix_path) {
		int one = 1;

		if (c->nodelay)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	c->out_off = c->out_len = 0;
	if (loop_fd_add(&c->cfd, fd, 0, conn_cb, c) < 0) {
		close(fd);
		return;
	}
	c->err_reported = false;
	if (c->server && c->lfd.fd >= 0)
		loop_fd_mod(&c->lfd, 0);	/* one client at a time */
	conn_update(c);
	debug("chardev %s: connected", c->id);
	if (c->event_cb)
		c->event_cb(c->opaque, true);
}

void chardev_disconnect(struct chardev *c)
{
	int fd = c->cfd.fd;

	if (fd < 0)
		return;
	loop_fd_del(&c->cfd);
	close(fd);
	c->cfd.fd = -1;
	c->out_off = c->out_len = 0;
	c->peer_name[0] = 0;
	loop_defer_cancel(&c->flush);
	debug("chardev %s: disconnected", c->id);
	if (c->server && c->lfd.fd >= 0)
		loop_fd_mod(&c->lfd, EPOLLIN);
	else if (!c->server && c->reconnect)
		loop_timer_arm(&c->timer, (uint64_t)c->reconnect * 1000);
	if (c->event_cb)
		c->event_cb(c->opaque, false);
}

/* chardev_flush() - write pending output; on a hard error the connection goes */
static void chardev_flush(struct chardev *c)
{
	while (c->out_len && c->cfd.fd >= 0) {
		ssize_t n = send(c->cfd.fd, c->out + c->out_off, c->out_len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			chardev_disconnect(c);
			return;
		}
		c->stats.out_bytes += (uint64_t)n;
		c->out_off += (size_t)n;
		c->out_len -= (size_t)n;
	}
	if (!c->out_len)
		c->out_off = 0;
	conn_update(c);
}

static void flush_cb(struct loop_defer *d)
{
	chardev_flush(d->opaque);
}

static void conn_cb(struct loop_fd *h, uint32_t events)
{
	struct chardev *c = h->opaque;
	static uint8_t buf[CHARDEV_READ_CHUNK];

	if (events & EPOLLOUT) {
		chardev_flush(c);
		if (c->cfd.fd < 0)
			return;
	}
	if ((events & EPOLLIN) && c->reading && c->raw_cb) {
		c->raw_cb(c->opaque);	/* it reads chardev_fd() itself */
		return;
	}
	if ((events & EPOLLIN) && c->reading && c->read_cb) {
		ssize_t n = read(c->cfd.fd, buf, sizeof(buf));

		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			chardev_disconnect(c);
			return;
		}
		c->stats.in_bytes += (uint64_t)n;
		c->read_cb(c->opaque, buf, (size_t)n);
		return;
	}
	/* not reading: a hang-up or error still ends the connection */
	if (events & (EPOLLHUP | EPOLLERR))
		chardev_disconnect(c);
}

static void listen_cb(struct loop_fd *h, uint32_t events)
{
	struct chardev *c = h->opaque;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd;

	if (c->cfd.fd >= 0)
		return;
	fd = accept4(c->lfd.fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	c->peer_name[0] = 0;
	if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
		char host[64], serv[16];

		if (!getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), serv,
				 sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV))
			snprintf(c->peer_name, sizeof(c->peer_name), "%s:%s", host, serv);
	}
	chardev_up(c, fd);
}

/* chardev_listen() - server socket; QEMU's texts */
static int chardev_listen(struct chardev *c, struct error *e)
{
	int fd = -1, one = 1;

	if (c->unix_path) {
		struct sockaddr_un un;
		socklen_t len;

		if (unix_addr(c, &un, &len, e) < 0)
			return -1;
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return err_set_errno(e, errno, "Failed to create Unix socket");
		if (!c->abstract && unlink(c->unix_path) < 0 && errno != ENOENT) {
			err_set_errno(e, errno, "Failed to unlink socket %s", c->unix_path);
			goto fail;
		}
		if (bind(fd, (struct sockaddr *)&un, len) < 0) {
			err_set_errno(e, errno, "Failed to bind socket to %s", c->unix_path);
			goto fail;
		}
		c->unlink_path = !c->abstract;
	} else {
		struct addrinfo *res = tcp_resolve(c, true, e), *ai;
		int err = 0;

		if (!res)
			return -1;
		for (ai = res; ai; ai = ai->ai_next) {
			fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
			if (fd < 0) {
				err = errno;
				continue;
			}
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (!bind(fd, ai->ai_addr, ai->ai_addrlen))
				break;
			err = errno;
			close(fd);
			fd = -1;
		}
		freeaddrinfo(res);
		if (fd < 0)
			return err_set_errno(e, err, "Failed to find an available port");
	}
	if (listen(fd, 1) < 0) {
		err_set_errno(e, errno, "Failed to listen on socket");
		goto fail;
	}
	if (loop_fd_add(&c->lfd, fd, EPOLLIN, listen_cb, c) < 0) {
		err_set(e, "cannot watch the listening socket");
		goto fail;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	if (c->unlink_path)
		unlink(c->unix_path);
	c->unlink_path = false;
	return -1;
}

/* chardev_connect_once() - a (blocking, local) connect; the fd or -1 with @e set */
static int chardev_connect_once(struct chardev *c, struct error *e)
{
	int fd = -1, err = 0;

	if (c->unix_path) {
		struct sockaddr_un un;
		socklen_t len;

		if (unix_addr(c, &un, &len, e) < 0)
			return -1;
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return err_set_errno(e, errno, "Failed to create socket");
		if (connect(fd, (struct sockaddr *)&un, len) < 0) {
			err_set_errno(e, errno, "Failed to connect to '%s'", c->unix_path);
			close(fd);
			return -1;
		}
		return fd;
	}
	struct addrinfo *res = tcp_resolve(c, false, e), *ai;

	if (!res)
		return -1;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return err_set_errno(e, err, "Failed to connect to '%s:%s'", c->host, c->port);
	return fd;
}

static void chardev_try_connect(struct chardev *c, struct error *e)
{
	int fd = chardev_connect_once(c, e);

	if (fd >= 0)
		chardev_up(c, fd);
}

static void reconnect_cb(struct loop_timer *t)
{
	struct chardev *c = t->opaque;
	struct error e = { 0 };

	if (c->cfd.fd >= 0)
		return;
	chardev_try_connect(c, &e);
	if (c->cfd.fd >= 0)
		return;
	if (!c->err_reported) {
		error_report("Unable to connect character device %s: %s", c->id, e.msg);
		c->err_reported = true;
	}
	loop_timer_arm(&c->timer, (uint64_t)c->reconnect * 1000);
}

/* ---- creation -------------------------------------------------------------- */

static void chardev_free(struct chardev *c)
{
	chardev_disconnect(c);
	loop_timer_cancel(&c->timer);
	if (c->lfd.fd >= 0) {
		int fd = c->lfd.fd;

		loop_fd_del(&c->lfd);
		close(fd);
	}
	if (c->unlink_path)
		unlink(c->unix_path);
	free(c->id);
	free(c->unix_path);
	free(c->host);
	free(c->port);
	free(c->out);
	free(c);
}

/* chardev_filename() - QEMU's filename for info chardev */
static void chardev_filename(const struct chardev *c, struct sbuf *out)
{
	bool up = c->cfd.fd >= 0;

	if (!up)
		sbuf_printf(out, "disconnected:");
	if (c->unix_path)
		sbuf_printf(out, "unix:%s", c->unix_path);
	else
		sbuf_printf(out, "tcp:%s:%s", c->host, c->port);
	if (c->server)
		sbuf_printf(out, ",server=on");
	if (up && c->peer_name[0])
		sbuf_printf(out, " <-> %s", c->peer_name);
}

void chardev_info(struct sbuf *out)
{
	for (struct chardev *c = chardevs; c; c = c->next) {
		sbuf_printf(out, "%s: filename=", c->id);
		chardev_filename(c, out);
		sbuf_printf(out, "\n");
	}
}

int chardev_check_new(const char *id, struct error *e)
{
	if (chardev_find(id))
		return err_set(e, "Duplicate ID '%s' for chardev", id);
	if (n_chardevs >= CHARDEV_MAX)
		return err_set(e, "qnet: too many chardevs (at most %d)", CHARDEV_MAX);
	return 0;
}

/**
 * chardev_create() - a chardev socket from its parsed options (cli/chardev_opts.c)
 *
 * server=on,wait=on blocks until the first client connects, as QEMU does.
 */
int chardev_create(const struct chardev_config *cfg, struct error *e)
{
	struct chardev *c;
	bool wait = cfg->wait;

	if (!cfg->id || !id_wellformed(cfg->id))
		return err_set(e, "chardev: no id specified");
	if (chardev_check_new(cfg->id, e) < 0)
		return -1;
	if (!cfg->unix_path && (!cfg->host || !cfg->port))
		return err_set(e, "chardev: socket: no address given");
	if (cfg->reconnect > CHARDEV_RECONNECT_MAX)
		return err_set(e, "qnet: reconnect=%u is too long (at most 86400 s)", cfg->reconnect);

	c = xzalloc(sizeof(*c));
	c->id = xstrdup(cfg->id);
	c->lfd.fd = -1;
	c->cfd.fd = -1;
	loop_timer_init(&c->timer, reconnect_cb, c);
	loop_defer_init(&c->flush, flush_cb, c);
	if (cfg->unix_path) {
		c->unix_path = xstrdup(cfg->unix_path);
	} else {
		c->host = xstrdup(cfg->host);
		c->port = xstrdup(cfg->port);
	}
	c->abstract = cfg->abstract;
	c->tight = cfg->tight;
	c->ipv4 = cfg->ipv4;
	c->ipv6 = cfg->ipv6;
	c->server = cfg->server;
	c->nodelay = cfg->nodelay;
	c->reconnect = cfg->reconnect;
	if (!c->server)
		wait = false;
	c->out = xmalloc(CHARDEV_OUT_SIZE);
	if (c->server) {
		if (chardev_listen(c, e) < 0)
			goto fail;
		if (wait) {
			struct sbuf name = { 0 };
			int fd;

			chardev_filename(c, &name);
			info("QEMU waiting for connection on: %s", sbuf_str(&name));
			sbuf_free(&name);
			do
				fd = accept4(c->lfd.fd, NULL, NULL, SOCK_CLOEXEC);
			while (fd < 0 && errno == EINTR);
			if (fd >= 0)
				chardev_up(c, fd);
		}
	} else if (c->reconnect) {
		chardev_try_connect(c, e);
		if (c->cfd.fd < 0) {
			error_report("Unable to connect character device %s: %s", c->id, e->msg);
			memset(e, 0, sizeof(*e));
			c->err_reported = true;
			loop_timer_arm(&c->timer, (uint64_t)c->reconnect * 1000);
		}
	} else {
		chardev_try_connect(c, e);
		if (c->cfd.fd < 0)
			goto fail;
	}
	/* append: creation order */
	struct chardev **pp = &chardevs;

	while (*pp)
		pp = &(*pp)->next;
	*pp = c;
	n_chardevs++;
	return 0;
fail:
	chardev_free(c);
	return -1;
}

/* ---- frontend ------------------------------------------------------------------ */

int chardev_attach(struct chardev *c, chardev_read_cb *read, chardev_event_cb *event,
		   void *opaque, struct error *e)
{
	if (c->has_fe)
		return err_set(e, "Device '%s' is in use", c->id);
	c->has_fe = true;
	c->read_cb = read;
	c->event_cb = event;
	c->opaque = opaque;
	c->reading = read != NULL;
	conn_update(c);
	return 0;
}

void chardev_detach(struct chardev *c)
{
	if (!c)
		return;
	c->has_fe = false;
	c->read_cb = NULL;
	c->event_cb = NULL;
	c->raw_cb = NULL;
	c->opaque = NULL;
	c->reading = false;
	conn_update(c);
}

void chardev_set_raw(struct chardev *c, chardev_raw_cb *readable)
{
	c->raw_cb = readable;
	c->reading = readable != NULL;
	conn_update(c);
}

bool chardev_is_unix(const struct chardev *c)
{
	return c->unix_path != NULL;
}

int chardev_fd(const struct chardev *c)
{
	return c->cfd.fd;
}

void chardev_set_read(struct chardev *c, bool on)
{
	if (!c)
		return;
	c->reading = on;
	conn_update(c);
}

int chardev_write_iov(struct chardev *c, const struct iovec *iov, int iovcnt)
{
	size_t len = 0, end;

	if (c->cfd.fd < 0) {
		c->stats.drops++;
		return -EIO;
	}
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (len > CHARDEV_OUT_SIZE - c->out_len) {
		chardev_flush(c);	/* make room if the socket takes it */
		if (c->cfd.fd < 0) {
			c->stats.drops++;
			return -EIO;
		}
		if (len > CHARDEV_OUT_SIZE - c->out_len) {
			c->stats.drops++;
			return -ENOBUFS;
		}
	}
	if (c->out_off + c->out_len + len > CHARDEV_OUT_SIZE) {
		memmove(c->out, c->out + c->out_off, c->out_len);
		c->out_off = 0;
	}
	end = c->out_off + c->out_len;
	for (int i = 0; i < iovcnt; i++) {
		memcpy(c->out + end, iov[i].iov_base, iov[i].iov_len);
		end += iov[i].iov_len;
	}
	c->out_len += len;
	loop_defer(&c->flush);
	return 0;
}

void chardev_test_feed(struct chardev *c, const uint8_t *buf, size_t len)
{
	if (c->read_cb && c->reading)
		c->read_cb(c->opaque, buf, len);
}

void chardev_cleanup_all(void)
{
	while (chardevs) {
		struct chardev *c = chardevs;

		chardevs = c->next;
		chardev_flush(c);
		chardev_free(c);
	}
	n_chardevs = 0;
}
