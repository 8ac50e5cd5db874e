// SPDX-License-Identifier: MIT
// sockspec.c - parse QEMU's socket shorthand and open the socket it names

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "sockspec.h"

static int sockspec_bool(const char *key, const char *v, bool *out, struct error *e)
{
	if (!v || !strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "y"))
		*out = true;
	else if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "n"))
		*out = false;
	else
		return err_set(e, "Parameter '%s' expects 'on' or 'off'", key);
	return 0;
}

/* sockspec_options() - ",server[=b],wait[=b],nowait" */
static int sockspec_options(char *opts, struct sockspec *q, struct error *e)
{
	while (*opts) {
		char *item = opts, *val = NULL, *eq;
		int ret = 0;

		opts += strcspn(opts, ",");
		if (*opts)
			*opts++ = '\0';
		eq = strchr(item, '=');
		if (eq) {
			*eq = '\0';
			val = eq + 1;
		}
		if (!strcmp(item, "server"))
			ret = sockspec_bool("server", val, &q->server, e);
		else if (!strcmp(item, "wait"))
			ret = sockspec_bool("wait", val, &q->wait, e);
		else if (!strcmp(item, "nowait") && !val)
			q->wait = false;
		else
			ret = err_set(e, "Invalid parameter '%s'", item);
		if (ret < 0)
			return -1;
	}
	return 0;
}

/* sockspec_address() - the unix path or tcp host:port */
static int sockspec_address(const char *addr, struct sockspec *q, struct error *e)
{
	if (q->is_unix) {
		if (!*addr)
			return err_set(e, "UNIX socket path is empty");
		if (strlen(addr) >= sizeof(q->path))
			return err_set(e, "UNIX socket path '%s' is too long\n"
				       "Path must be less than %zu bytes", addr, sizeof(q->path));
		strcpy(q->path, addr);
		return 0;
	}
	const char *colon = strrchr(addr, ':');
	size_t hl;

	if (!colon || !colon[1] || strlen(colon + 1) >= sizeof(q->port))
		return err_set(e, "host and/or port not specified");
	hl = (size_t)(colon - addr);
	if (hl >= 2 && addr[0] == '[' && addr[hl - 1] == ']') {
		addr++;
		hl -= 2;
	}
	if (hl >= sizeof(q->host))
		return err_set(e, "host name too long");
	memcpy(q->host, addr, hl);
	q->host[hl] = '\0';
	strcpy(q->port, colon + 1);
	return 0;
}

int sockspec_parse(const char *spec, struct sockspec *q, struct error *e)
{
	char *copy, *p, *w;
	int ret;

	memset(q, 0, sizeof(*q));
	q->wait = true;
	if (!strncmp(spec, "unix:", 5))
		q->is_unix = true;
	else if (strncmp(spec, "tcp:", 4))
		return err_set(e, "'%.*s' is not a valid char driver", (int)strcspn(spec, ":,"), spec);
	copy = xstrdup(spec + (q->is_unix ? 5 : 4));
	/* the address ends at the first single comma; ",," is a comma in it */
	for (p = w = copy; *p; p++) {
		if (*p == ',' && p[1] == ',')
			*w++ = *p++;
		else if (*p == ',')
			break;
		else
			*w++ = *p;
	}
	char *opts = *p ? p + 1 : p;

	*w = '\0';
	ret = sockspec_address(copy, q, e);
	if (!ret)
		ret = sockspec_options(opts, q, e);
	free(copy);
	return ret;
}

static int sockspec_unix_addr(const struct sockspec *q, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	strcpy(sa->sun_path, q->path);
	return 0;
}

int sockspec_listen(const struct sockspec *q, int backlog, struct error *e)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *res, *ai;
	int fd = -1, err = 0, r;

	if (q->is_unix) {
		struct sockaddr_un sa;

		sockspec_unix_addr(q, &sa);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return err_set_errno(e, errno, "Failed to create socket");
		if (unlink(q->path) < 0 && errno != ENOENT) {
			err = errno;
			close(fd);
			return err_set_errno(e, err, "Failed to unlink socket %s", q->path);
		}
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, backlog) < 0) {
			err = errno;
			close(fd);
			return err_set_errno(e, err, "Failed to bind socket to %s", q->path);
		}
		return fd;
	}
	r = getaddrinfo(q->host[0] ? q->host : NULL, q->port, &hints, &res);
	if (r)
		return err_set(e, "address resolution failed for %s:%s: %s", q->host, q->port,
			       gai_strerror(r));
	for (ai = res; ai; ai = ai->ai_next) {
		int one = 1;

		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			err = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, backlog) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return err_set_errno(e, err, "Failed to bind socket");
	return fd;
}

int sockspec_connect(const struct sockspec *q, struct error *e)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int fd = -1, err = 0, r;

	if (q->is_unix) {
		struct sockaddr_un sa;

		sockspec_unix_addr(q, &sa);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return err_set_errno(e, errno, "Failed to create socket");
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			err = errno;
			close(fd);
			return err_set_errno(e, err, "Failed to connect to '%s'", q->path);
		}
		return fd;
	}
	r = getaddrinfo(q->host[0] ? q->host : "127.0.0.1", q->port, &hints, &res);
	if (r)
		return err_set(e, "address resolution failed for %s:%s: %s", q->host, q->port,
			       gai_strerror(r));
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return err_set_errno(e, err, "Failed to connect to '%s:%s'", q->host, q->port);
	return fd;
}

#define SOCKSPEC_ACCEPT_BATCH 8

/* sockspec_take() - one new connection: to the owner, or closed past the cap */
static void sockspec_take(struct sockspec_server *srv, int fd)
{
	if (srv->sessions >= srv->max) {
		info("%s: too many sessions, closing a new one", srv->path ? srv->path : "(tcp)");
		close(fd);
		return;
	}
	srv->accept(srv, fd);
}

static void sockspec_accept(struct loop_fd *h, uint32_t events)
{
	struct sockspec_server *srv = h->opaque;

	for (int i = 0; i < SOCKSPEC_ACCEPT_BATCH; i++) {
		int fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		sockspec_take(srv, fd);
	}
}

struct sockspec_server *sockspec_serve(const struct sockspec *q, const char *spec, int backlog,
				       int max, sockspec_accept_cb *accept, void *opaque,
				       struct error *e)
{
	struct sockspec_server *srv;
	int fd = sockspec_listen(q, backlog, e), r;

	if (fd < 0)
		return NULL;
	srv = xzalloc(sizeof(*srv));
	srv->lfd.fd = -1;
	srv->path = q->is_unix ? xstrdup(q->path) : NULL;
	srv->max = max;
	srv->accept = accept;
	srv->opaque = opaque;
	r = loop_fd_add(&srv->lfd, fd, EPOLLIN, sockspec_accept, srv);
	if (r < 0) {
		close(fd);
		sockspec_server_close(srv);
		err_set_errno(e, -r, "cannot watch %s", spec);
		return NULL;
	}
	if (q->wait) {
		/* QEMU's wait=on: block until the first client, before anything runs */
		error_report("info: qnet waiting for connection on: disconnected:%s,server=on", spec);
		int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (c >= 0)
			sockspec_take(srv, c);
	}
	set_nonblock(fd);
	return srv;
}

void sockspec_server_close(struct sockspec_server *srv)
{
	if (srv->lfd.fd >= 0) {
		int fd = srv->lfd.fd;

		loop_fd_del(&srv->lfd);
		close(fd);
	}
	if (srv->path)
		unlink(srv->path);
	free(srv->path);
	free(srv);
}
