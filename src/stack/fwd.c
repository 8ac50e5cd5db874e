// SPDX-License-Identifier: MIT
// fwd.c - hostfwd and guestfwd rules: QEMU's syntax and errors, host sockets, per-connection targets

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../core/log.h"
#include "stack.h"

#define FWD_BACKLOG 128		/* libslirp listens with a backlog of 1 */
#define FWD_ACCEPT_BATCH 32

/*
 * fwd_sep() - QEMU's get_str_sep(): copy up to @sep into @buf (truncated to
 * its size), advance *p past it. Return: -1 if @sep is not in *p.
 */
static int fwd_sep(char *buf, size_t size, const char **p, char sep)
{
	const char *q = strchr(*p, sep);
	size_t n;

	if (!q)
		return -1;
	n = (size_t)(q - *p);
	if (n > size - 1)
		n = size - 1;
	memcpy(buf, *p, n);
	buf[n] = 0;
	*p = q + 1;
	return 0;
}

/* fwd_strtoi() - QEMU's qemu_strtoi(..., NULL, base): the whole string, in int range */
static int fwd_strtoi(const char *s, int base, int *out)
{
	char *end;
	long v;

	if (!*s)
		return -1;
	errno = 0;
	v = strtol(s, &end, base);
	if (errno || *end || v < INT32_MIN || v > INT32_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

static void fwd_hostfwd_free(struct hostfwd *hf)
{
	stack_fd_del(&hf->h);
	if (hf->fd >= 0)
		close(hf->fd);
	if (hf->unix_path)
		unlink(hf->unix_path);
	free(hf->unix_path);
	free(hf->rule);
	free(hf);
}

static void fwd_tcp_accept(struct stack_fd *h, uint32_t events)
{
	struct hostfwd *hf = h->opaque;

	for (int i = 0; i < FWD_ACCEPT_BATCH; i++) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		int fd = accept4(hf->fd, (struct sockaddr *)&peer, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		tcp_hostfwd_accept(hf->s, hf, fd, &peer, len);
	}
}

static void fwd_udp_readable(struct stack_fd *h, uint32_t events)
{
	struct hostfwd *hf = h->opaque;

	udp_hostfwd_readable(hf->s, hf);
}

/* fwd_unix_path() - the unix: host side; 0, or -1 with @reason set */
static int fwd_unix_path(struct hostfwd *hf, const char *path, const char **reason)
{
	struct sockaddr_un sun;
	struct stat st;

	if (!*path) {
		*reason = "Missing unix socket path";
		return -1;
	}
	if (path[0] != '/') {
		*reason = "unix socket path must be absolute";
		return -1;
	}
	if (strlen(path) >= sizeof(sun.sun_path)) {
		*reason = "Unix socket path is too long";
		return -1;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			*reason = "file exists and it's not unix socket";
			return -1;
		}
		unlink(path);
	}
	hf->unix_path = xstrdup(path);
	return 0;
}

/* fwd_parse_hostfwd() - QEMU's rule syntax; 0, or -1 with @reason */
static int fwd_parse_hostfwd(struct hostfwd *hf, const char *rule, const char **reason)
{
	const char *p = rule;
	char buf[256];
	int port;

	if (fwd_sep(buf, sizeof(buf), &p, ':') < 0) {
		*reason = "No : separators";
		return -1;
	}
	if (!strcmp(buf, "tcp") || !buf[0]) {
		hf->udp = false;
	} else if (!strcmp(buf, "udp")) {
		hf->udp = true;
	} else if (!strcmp(buf, "unix")) {
		if (fwd_sep(buf, sizeof(buf), &p, '-') < 0) {
			*reason = "Missing - separator";
			return -1;
		}
		if (fwd_unix_path(hf, buf, reason) < 0)
			return -1;
		goto guest;
	} else {
		*reason = "Bad protocol name";
		return -1;
	}
	if (fwd_sep(buf, sizeof(buf), &p, ':') < 0) {
		*reason = "Missing : separator";
		return -1;
	}
	if (buf[0] && !inet_aton(buf, &hf->haddr)) {
		*reason = "Bad host address";
		return -1;
	}
	if (fwd_sep(buf, sizeof(buf), &p, '-') < 0) {
		*reason = "Bad host port separator";
		return -1;
	}
	if (fwd_strtoi(buf, 0, &port) < 0 || port < 0 || port > 65535) {
		*reason = "Bad host port";
		return -1;
	}
	hf->hport = (uint16_t)port;
guest:
	if (fwd_sep(buf, sizeof(buf), &p, ':') < 0) {
		*reason = "Missing guest address";
		return -1;
	}
	if (buf[0] && !inet_aton(buf, &hf->gaddr)) {
		*reason = "Bad guest address";
		return -1;
	}
	if (fwd_strtoi(p, 0, &port) < 0 || port < 1 || port > 65535) {
		*reason = "Bad guest port";
		return -1;
	}
	hf->gport = (uint16_t)port;
	return 0;
}

/* fwd_hostfwd_open() - bind (and listen) the host socket */
static int fwd_hostfwd_open(struct hostfwd *hf)
{
	int type = (hf->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int one = 1;

	if (hf->unix_path) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss;

		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, hf->unix_path);
		len = sizeof(*sun);
		hf->fd = socket(AF_UNIX, type, 0);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_addr = hf->haddr;
		sin->sin_port = htons(hf->hport);
		len = sizeof(*sin);
		hf->fd = socket(AF_INET, type, 0);
		if (hf->fd >= 0)
			setsockopt(hf->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	}
	if (hf->fd < 0 || bind(hf->fd, (struct sockaddr *)&ss, len) < 0 ||
	    (!hf->udp && listen(hf->fd, FWD_BACKLOG) < 0))
		return -1;
	if (!hf->unix_path) {
		len = sizeof(ss);
		getsockname(hf->fd, (struct sockaddr *)&ss, &len);
		hf->hport = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
	return stack_fd_add(hf->s, &hf->h, hf->fd, EPOLLIN, hf->udp ? fwd_udp_readable : fwd_tcp_accept,
			    hf) < 0 ? -1 : 0;
}

int fwd_hostfwd_add(struct user_stack *s, const char *rule, struct error *e)
{
	struct hostfwd *hf = xzalloc(sizeof(*hf));
	const char *reason = "Unknown reason";

	hf->fd = -1;
	hf->h.fd = -1;
	hf->s = s;
	if (fwd_parse_hostfwd(hf, rule, &reason) < 0) {
		/* nothing was created on disk yet: don't unlink a path we did not make */
		free(hf->unix_path);
		hf->unix_path = NULL;
		fwd_hostfwd_free(hf);
		return err_set(e, "Invalid host forwarding rule '%s' (%s)", rule, reason);
	}
	if (fwd_hostfwd_open(hf) < 0) {
		if (hf->unix_path && errno == EADDRINUSE) {
			free(hf->unix_path);
			hf->unix_path = NULL;
		}
		fwd_hostfwd_free(hf);
		return err_set(e, "Could not set up host forwarding rule '%s'", rule);
	}
	hf->rule = xstrdup(rule);
	hf->next = s->fwd.hostfwd;
	s->fwd.hostfwd = hf;
	return 0;
}

int fwd_hostfwd_remove(struct user_stack *s, const char *spec, struct sbuf *out)
{
	struct in_addr haddr = { .s_addr = INADDR_ANY };
	const char *p = spec;
	struct hostfwd **pp;
	char buf[256];
	bool udp;
	int port;

	if (fwd_sep(buf, sizeof(buf), &p, ':') < 0)
		goto bad;
	if (!strcmp(buf, "tcp") || !buf[0])
		udp = false;
	else if (!strcmp(buf, "udp"))
		udp = true;
	else
		goto bad;
	if (fwd_sep(buf, sizeof(buf), &p, ':') < 0)
		goto bad;
	if (buf[0] && !inet_aton(buf, &haddr))
		goto bad;
	if (fwd_strtoi(p, 10, &port) < 0)
		goto bad;
	for (pp = &s->fwd.hostfwd; *pp; pp = &(*pp)->next) {
		struct hostfwd *hf = *pp;

		if (hf->unix_path || hf->udp != udp || hf->haddr.s_addr != haddr.s_addr ||
		    hf->hport != port)
			continue;
		*pp = hf->next;
		if (hf->udp)
			udp_hostfwd_removed(s, hf);
		fwd_hostfwd_free(hf);
		sbuf_printf(out, "host forwarding rule for %s removed\n", spec);
		return 0;
	}
	sbuf_printf(out, "host forwarding rule for %s not found\n", spec);
	return -1;
bad:
	sbuf_printf(out, "invalid format\n");
	return -1;
}

/* fwd_guestfwd_target() - parse "tcp:HOST:PORT" or "unix:PATH"; 0 or -1 */
static int fwd_guestfwd_target(struct guestfwd *g, const char *spec)
{
	if (!strncmp(spec, "unix:", 5)) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&g->target;
		const char *path = spec + 5;

		if (!*path || strlen(path) >= sizeof(sun->sun_path))
			return -1;
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, path);
		g->target_len = sizeof(*sun);
		g->kind = GUESTFWD_UNIX;
		return 0;
	}
	if (!strncmp(spec, "tcp:", 4)) {
		const char *hp = spec + 4, *colon = strrchr(hp, ':');
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
		struct addrinfo *ai;
		char host[256];
		size_t n;

		if (!colon || colon == hp)
			return -1;
		n = (size_t)(colon - hp);
		if (n >= sizeof(host) || strchr(colon + 1, ','))
			return -1;
		memcpy(host, hp, n);
		host[n] = 0;
		if (getaddrinfo(host, colon + 1, &hints, &ai) != 0)
			return -1;
		memcpy(&g->target, ai->ai_addr, ai->ai_addrlen);
		g->target_len = ai->ai_addrlen;
		freeaddrinfo(ai);
		g->kind = GUESTFWD_TCP;
		return 0;
	}
	return -1;
}

int fwd_guestfwd_add(struct user_stack *s, const char *rule, struct error *e)
{
	struct guestfwd *g = xzalloc(sizeof(*g));
	struct in_addr server = { .s_addr = INADDR_ANY };
	const char *p = rule;
	char buf[256], *end;
	long port;

	if (fwd_sep(buf, sizeof(buf), &p, ':') < 0 || (strcmp(buf, "tcp") && buf[0]) ||
	    fwd_sep(buf, sizeof(buf), &p, ':') < 0 || (buf[0] && !inet_aton(buf, &server)) ||
	    fwd_sep(buf, sizeof(buf), &p, '-') < 0)
		goto syntax;
	port = strtol(buf, &end, 10);
	if (*end || end == buf || port < 1 || port > 65535)
		goto syntax;
	g->addr = server.s_addr ? server : s->cfg.guestfwd_default;
	g->port = (uint16_t)port;
	if (!strncmp(p, "cmd:", 4)) {
		g->kind = GUESTFWD_CMD;
		g->cmd = xstrdup(p + 4);
	} else if (fwd_guestfwd_target(g, p) < 0) {
		err_set(e, "Could not open guest forwarding device 'guestfwd.tcp.%ld' "
			   "(qnet forwards to cmd:COMMAND, tcp:HOST:PORT or unix:PATH)", port);
		goto fail;
	}
	/* libslirp's rules: inside the network, not a virtual host, (addr, port) unique */
	if (!stack_in_net(s, g->addr) || g->addr.s_addr == s->cfg.host.s_addr ||
	    g->addr.s_addr == s->cfg.dns.s_addr || fwd_guestfwd_find(s, g->addr, g->port)) {
		err_set(e, "Conflicting/invalid host:port in guest forwarding rule '%s'", rule);
		goto fail;
	}
	g->rule = xstrdup(rule);
	g->next = s->fwd.guestfwd;
	s->fwd.guestfwd = g;
	return 0;
syntax:
	err_set(e, "Invalid guest forwarding rule '%s'", rule);
fail:
	free(g->cmd);
	free(g);
	return -1;
}

int fwd_guestfwd_add_fn(struct user_stack *s, struct in_addr addr, uint16_t port,
			guestfwd_open_fn *open, void *opaque, struct error *e)
{
	struct guestfwd *g;

	if (!addr.s_addr)
		addr = s->cfg.guestfwd_default;
	if (!port || !stack_in_net(s, addr) || addr.s_addr == s->cfg.host.s_addr ||
	    addr.s_addr == s->cfg.dns.s_addr || fwd_guestfwd_find(s, addr, port))
		return err_set(e, "Conflicting/invalid host:port in guest forwarding rule");
	g = xzalloc(sizeof(*g));
	g->addr = addr;
	g->port = port;
	g->kind = GUESTFWD_FN;
	g->open = open;
	g->open_opaque = opaque;
	g->rule = xasprintf("tcp:%s:%u-fn", inet_ntoa(addr), port);
	g->next = s->fwd.guestfwd;
	s->fwd.guestfwd = g;
	return 0;
}

static void fwd_guestfwd_free(struct guestfwd *g)
{
	free(g->cmd);
	free(g->rule);
	free(g);
}

int fwd_guestfwd_remove(struct user_stack *s, struct in_addr addr, uint16_t port)
{
	for (struct guestfwd **pp = &s->fwd.guestfwd; *pp; pp = &(*pp)->next) {
		struct guestfwd *g = *pp;

		if (g->addr.s_addr == addr.s_addr && g->port == port) {
			*pp = g->next;
			fwd_guestfwd_free(g);
			return 0;
		}
	}
	return -1;
}

struct guestfwd *fwd_guestfwd_find(struct user_stack *s, struct in_addr addr, uint16_t port)
{
	for (struct guestfwd *g = s->fwd.guestfwd; g; g = g->next)
		if (g->addr.s_addr == addr.s_addr && g->port == port)
			return g;
	return NULL;
}

/* fwd_start_time() - field 22 of /proc/@pid/stat (0 if gone) */
static unsigned long long fwd_start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');	/* the command name may hold spaces */
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p)
		v = strtoull(p + 1, NULL, 10);
	return v;
}

/* fwd_alive() - slot @i still names the process group it recorded */
static bool fwd_alive(struct fwd_state *f, int i)
{
	return f->spawned[i] > 0 && kill(-f->spawned[i], 0) == 0 &&
	       fwd_start_time(f->spawned[i]) == f->spawned_start[i];
}

/* fwd_free_slot() - a slot for one more process group, or -1 when FWD_SPAWN_MAX are alive */
static int fwd_free_slot(struct fwd_state *f)
{
	for (int i = 0; i < FWD_SPAWN_MAX; i++)
		if (!f->spawned[i] || !fwd_alive(f, i)) {
			f->spawned[i] = 0;
			return i;
		}
	return -1;
}

/* fwd_stop_all() - SIGTERM every live process group we started, wait up to 2 s, then SIGKILL */
static void fwd_stop_all(struct fwd_state *f)
{
	bool any = false;

	for (int i = 0; i < FWD_SPAWN_MAX; i++) {
		if (f->spawned[i] && fwd_alive(f, i)) {
			kill(-f->spawned[i], SIGTERM);
			any = true;
		} else {
			f->spawned[i] = 0;
		}
	}
	for (int t = 0; any && t < 200; t++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		any = false;
		for (int i = 0; i < FWD_SPAWN_MAX; i++)
			if (f->spawned[i] && kill(-f->spawned[i], 0) == 0)
				any = true;
		if (any)
			nanosleep(&ts, NULL);
	}
	for (int i = 0; i < FWD_SPAWN_MAX; i++) {
		if (f->spawned[i] && kill(-f->spawned[i], 0) == 0)
			kill(-f->spawned[i], SIGKILL);
		f->spawned[i] = 0;
	}
}

/*
 * fwd_spawn() - run @cmd with stdin/stdout/stderr on @fd in a session of its own; the
 * intermediate child exits at once (no zombie), the command's process group id comes back
 * through a pipe and is recorded in slot @slot
 */
static int fwd_spawn(struct fwd_state *f, int slot, const char *cmd, int fd)
{
	int status, pp[2];
	pid_t pid, gc = 0;

	if (pipe2(pp, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(pp[0]);
		close(pp[1]);
		return -errno;
	}
	if (pid == 0) {
		sigset_t all;

		gc = fork();
		if (gc != 0) {
			if (write(pp[1], &gc, sizeof(gc)) < 0)
				_exit(1);
			_exit(0);
		}
		setsid();
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		for (int sig = 1; sig < NSIG; sig++)
			signal(sig, SIG_DFL);
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		for (int i = 3; i < 1024; i++)
			close(i);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(pp[1]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (read(pp[0], &gc, sizeof(gc)) != sizeof(gc) || gc <= 0) {
		close(pp[0]);
		return -ECHILD;
	}
	close(pp[0]);
	f->spawned[slot] = gc;	/* setsid(): its pid is its process group */
	f->spawned_start[slot] = fwd_start_time(gc);
	return 0;
}

/* fwd_tcp_pair() - two connected loopback TCP sockets (libslirp's choice for exec) */
static int fwd_tcp_pair(int sv[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), r = -1;

	sv[0] = sv[1] = -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0)
		return -errno;
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &al) < 0)
		goto out;
	sv[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sv[0] < 0 || connect(sv[0], (struct sockaddr *)&a, sizeof(a)) < 0)
		goto out;
	sv[1] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (sv[1] >= 0)
		r = 0;
out:
	if (r < 0) {
		r = -errno;
		if (sv[0] >= 0)
			close(sv[0]);
		sv[0] = -1;
	}
	close(l);
	return r;
}

int fwd_guestfwd_open(struct user_stack *s, struct guestfwd *g)
{
	int fd, r;

	if (g->kind == GUESTFWD_FN)
		return g->open(g->open_opaque);
	if (g->kind == GUESTFWD_CMD) {
		int sv[2], slot = fwd_free_slot(&s->fwd);

		if (slot < 0)
			return -EAGAIN;	/* FWD_SPAWN_MAX commands still running */
		r = fwd_tcp_pair(sv);
		if (r < 0)
			return r;
		r = fwd_spawn(&s->fwd, slot, g->cmd, sv[1]);
		close(sv[1]);
		if (r < 0) {
			close(sv[0]);
			return r;
		}
		set_nonblock(sv[0]);
		return sv[0];
	}
	fd = socket(g->target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* for a unix socket EAGAIN means the listener's backlog is full: a failure */
	if (connect(fd, (struct sockaddr *)&g->target, g->target_len) < 0 &&
	    errno != EINPROGRESS) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

void fwd_fini(struct user_stack *s)
{
	fwd_stop_all(&s->fwd);
	while (s->fwd.hostfwd) {
		struct hostfwd *hf = s->fwd.hostfwd;

		s->fwd.hostfwd = hf->next;
		fwd_hostfwd_free(hf);
	}
	while (s->fwd.guestfwd) {
		struct guestfwd *g = s->fwd.guestfwd;

		s->fwd.guestfwd = g->next;
		fwd_guestfwd_free(g);
	}
}

void fwd_info_usernet(struct user_stack *s, struct sbuf *out)
{
	for (struct hostfwd *hf = s->fwd.hostfwd; hf; hf = hf->next) {
		struct in_addr g = hf->gaddr.s_addr ? hf->gaddr : dhcp_first_lease(s);
		char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN];

		if (hf->unix_path)
			snprintf(src, sizeof(src), "*");
		else if (hf->haddr.s_addr)
			inet_ntop(AF_INET, &hf->haddr, src, sizeof(src));
		else
			snprintf(src, sizeof(src), "*");
		inet_ntop(AF_INET, &g, dst, sizeof(dst));
		sbuf_printf(out, "%-19s %3d %15s %5d %15s %5d %5d %5d\n",
			    hf->udp ? "  UDP[HOST_FORWARD]" : "  TCP[HOST_FORWARD]", hf->fd, src,
			    hf->unix_path ? 0 : hf->hport, dst, hf->gport, 0, 0);
	}
}
