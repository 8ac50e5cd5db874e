// SPDX-License-Identifier: MIT
// libslirp.c - libslirp 4.7's API (include/libslirp.h) on qnet's user stack library

/*
 * DOC: libslirp.so.0
 *
 * One Slirp is one struct user_stack (src/stack/stack.h) whose struct
 * stack_env is mapped onto the application's SlirpCb:
 *
 *  env->send	 -> send_packet (the frame made contiguous first); the
 *		    application never queues for us, so every frame counts as sent
 *  env->clock_ns -> clock_get_ns
 *  env->timer_arm -> one timer of the application (timer_new_opaque with
 *		    SLIRP_TIMER_RA and this Slirp as cb_opaque, or timer_new) and
 *		    timer_mod at the stack's soonest deadline (ms of the same
 *		    clock); "no deadline" leaves the timer alone: a spurious wake-up
 *		    finds nothing due
 *  env->fd_add/mod/del -> an epoll set of the instance's own (the stack's
 *		    epoll semantics, EPOLLET included, whatever the application's
 *		    poll is); slirp_pollfds_fill() offers the application that one
 *		    epoll fd, slirp_pollfds_poll() reads its ready list (bounded
 *		    batches) and hands each event to the stack (a handle deleted
 *		    during a batch loses its pending events)
 *  env->defer	 -> stack_flush() when the outermost API call returns
 *
 * slirp_add_guestfwd() rules (the application is the host end) give the stack
 * one end of a socketpair per connection; this file reads the other end for
 * write_cb and writes slirp_socket_recv()'s data into it.
 *
 * No globals, no threads: everything runs inside the application's calls.
 * Several instances per process are independent.
 */

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/un.h>
#include <linux/sockios.h>
#include <unistd.h>

#include "../../include/libslirp.h"
#include "../core/log.h"
#include "../stack/stack.h"

/* QEMU asserts libslirp's state version 4; qnet's state is one marker byte (docs/behaviour.md) */
#define SLIRP_STATE_VERSION 4
#define SLIRP_STATE_MARK 0xa5		/* libslirp's own stream starts with 0 or 42 */
#define SLIRP_GFWD_CONNS 16		/* open connections per slirp_add_guestfwd() rule */
#define SLIRP_GFWD_CHUNK 4096		/* bytes read for write_cb at a time */
#define SLIRP_GFWD_READS 16		/* reads per connection per poll pass */
#define SLIRP_EP_BATCH 64		/* epoll events per epoll_wait() */
#define SLIRP_EP_ROUNDS 4		/* epoll_wait() calls per slirp_pollfds_poll() */

struct slirp_gfwd;

/**
 * struct slirp_gconn - one guest connection of a slirp_add_guestfwd() rule
 * @fd:		our end of the socketpair (the stack holds the other)
 * @idx:	add_poll() index of this pass, -1 if not polled
 * @want_out:	can_recv said 0: tell the application (notify) when writable
 * @guest_eof:	the guest half-closed (read gave 0): the application's answer may still
 *		come through slirp_socket_recv(); closed once the stack's end hangs up
 * @next:	the rule's list, newest first
 */
struct slirp_gconn {
	int fd;
	int idx;
	bool want_out;
	bool guest_eof;
	struct slirp_gconn *next;
};

/**
 * struct slirp_gfwd - a slirp_add_guestfwd() rule
 * @sl:		the instance
 * @addr, @port: guest side (network order / host order)
 * @write_cb, @opaque: where the guest's bytes go
 * @conns:	open connections, newest first (slirp_socket_recv() writes to the newest)
 * @nconns:	entries in @conns
 * @next:	list
 */
struct slirp_gfwd {
	struct Slirp *sl;
	struct in_addr addr;
	uint16_t port;
	SlirpWriteCb write_cb;
	void *opaque;
	struct slirp_gconn *conns;
	int nconns;
	struct slirp_gfwd *next;
};

/**
 * struct Slirp - one instance
 * @s:		the stack
 * @cb:		the application's callbacks (version-4 fields zeroed for older configs)
 * @opaque:	the application's pointer
 * @timer:	the application's timer
 * @epfd:	the epoll set of the stack's fds
 * @ep_idx:	add_poll() index of @epfd in this pass, -1 if none
 * @batch, @batch_n, @batch_i: the epoll events being handed out
 * @gfwds:	slirp_add_guestfwd() rules
 * @depth:	API calls in progress (stack_flush() runs when the outermost returns)
 * @flush:	the stack asked for stack_flush()
 * @notify:	call cb.notify when the outermost call returns (a guestfwd can take data now)
 * @dropped:	frames given to slirp_input() while inside the stack (dropped)
 * @tx:		a frame made contiguous for send_packet
 */
struct Slirp {
	struct user_stack *s;
	SlirpCb cb;
	void *opaque;
	void *timer;
	int epfd;
	int ep_idx;
	struct epoll_event batch[SLIRP_EP_BATCH];
	int batch_n, batch_i;
	struct slirp_gfwd *gfwds;
	int depth;
	bool flush;
	bool notify;
	uint64_t dropped;
	uint8_t tx[STACK_FRAME_MAX];
};

static void slirp_enter(Slirp *sl)
{
	sl->depth++;
}

/* slirp_leave() - the outermost call returns: run the stack's deferred work */
static void slirp_leave(Slirp *sl)
{
	if (sl->depth == 1) {
		for (int i = 0; sl->flush && i < 16; i++) {
			sl->flush = false;
			stack_flush(sl->s);
		}
		if (sl->notify && sl->cb.notify) {
			sl->notify = false;
			sl->cb.notify(sl->opaque);
		}
	}
	sl->depth--;
}

/* ---- struct stack_env on SlirpCb ---- */

static ssize_t slirp_env_send(void *opaque, const struct iovec *iov, int iovcnt,
			      const struct net_meta *meta)
{
	Slirp *sl = opaque;
	const void *buf = iov[0].iov_base;
	size_t len = iov[0].iov_len;

	if (iovcnt != 1) {
		len = 0;
		for (int i = 0; i < iovcnt; i++) {
			if (iov[i].iov_len > sizeof(sl->tx) - len)
				return -1;
			memcpy(sl->tx + len, iov[i].iov_base, iov[i].iov_len);
			len += iov[i].iov_len;
		}
		buf = sl->tx;
	}
	return sl->cb.send_packet(buf, len, sl->opaque) < 0 ? -1 : (ssize_t)len;
}

static uint64_t slirp_env_clock_ns(void *opaque)
{
	Slirp *sl = opaque;
	int64_t ns = sl->cb.clock_get_ns(sl->opaque);

	return ns < 0 ? 0 : (uint64_t)ns;
}

static void slirp_env_timer_arm(void *opaque, uint64_t deadline_ms)
{
	Slirp *sl = opaque;

	if (deadline_ms == STACK_NO_DEADLINE || !sl->timer)
		return;
	sl->cb.timer_mod(sl->timer, deadline_ms > INT64_MAX / 1000000 ? INT64_MAX / 1000000
				    : (int64_t)deadline_ms, sl->opaque);
}

static int slirp_env_fd_add(void *opaque, struct stack_fd *h)
{
	Slirp *sl = opaque;
	struct epoll_event ev = { .events = h->events, .data.ptr = h };

	if (epoll_ctl(sl->epfd, EPOLL_CTL_ADD, h->fd, &ev) < 0)
		return -errno;
	if (sl->cb.register_poll_fd)
		sl->cb.register_poll_fd(h->fd, sl->opaque);
	return 0;
}

static int slirp_env_fd_mod(void *opaque, struct stack_fd *h, uint32_t events)
{
	Slirp *sl = opaque;
	struct epoll_event ev = { .events = events, .data.ptr = h };

	return epoll_ctl(sl->epfd, EPOLL_CTL_MOD, h->fd, &ev) < 0 ? -errno : 0;
}

static void slirp_env_fd_del(void *opaque, struct stack_fd *h)
{
	Slirp *sl = opaque;

	epoll_ctl(sl->epfd, EPOLL_CTL_DEL, h->fd, NULL);
	for (int i = sl->batch_i; i < sl->batch_n; i++)	/* its pending events are dropped */
		if (sl->batch[i].data.ptr == h)
			sl->batch[i].data.ptr = NULL;
	if (sl->cb.unregister_poll_fd)
		sl->cb.unregister_poll_fd(h->fd, sl->opaque);
}

static void slirp_env_defer(void *opaque)
{
	Slirp *sl = opaque;

	sl->flush = true;
}

static const struct stack_env slirp_env = {
	.send = slirp_env_send,
	.clock_ns = slirp_env_clock_ns,
	.timer_arm = slirp_env_timer_arm,
	.fd_add = slirp_env_fd_add,
	.fd_mod = slirp_env_fd_mod,
	.fd_del = slirp_env_fd_del,
	.defer = slirp_env_defer,
	.event = NULL,
};

/* ---- instances ---- */

static void slirp_timer_fired(void *cb_opaque)
{
	Slirp *sl = cb_opaque;

	slirp_enter(sl);
	stack_timers_run(sl->s);
	slirp_leave(sl);
}

void slirp_handle_timer(Slirp *slirp, SlirpTimerId id, void *cb_opaque)
{
	if (!slirp || (unsigned)id >= SLIRP_TIMER_NUM)
		return;
	slirp_timer_fired(slirp);
}

/* slirp_cfg() - SlirpConfig into the stack's config; 0, or -1 with @e set */
static int slirp_cfg(const SlirpConfig *c, struct stack_cfg *sc, struct error *e)
{
	int n = 0;

	stack_cfg_default(sc);
	if (c->version < SLIRP_CONFIG_VERSION_MIN || c->version > SLIRP_CONFIG_VERSION_MAX)
		return err_set(e, "libslirp: SlirpConfig version %u is not 1 to 4", c->version);
	/* what qnet cannot do yet is refused, never silently ignored (docs/behaviour.md) */
	if (c->version >= 2 && (c->outbound_addr || c->outbound_addr6))
		return err_set(e, "libslirp: outbound_addr is not supported by qnet yet");
	if (c->if_mtu && (c->if_mtu < STACK_MTU_MIN || c->if_mtu > STACK_MTU_MAX))
		return err_set(e, "libslirp: if_mtu %zu is not %d to %d", c->if_mtu,
			       STACK_MTU_MIN, STACK_MTU_MAX);
	sc->restricted = c->restricted != 0;
	sc->no_host_loopback = c->disable_host_loopback;
	sc->no_dns = c->version >= 3 && c->disable_dns;
	sc->no_dhcp = c->version >= 4 && c->disable_dhcp;
	sc->ipv4 = c->in_enabled;
	sc->ipv6 = c->in6_enabled;
	if (c->in6_enabled) {
		/* QEMU fills these with its defaults (fec0::/64, ::2, ::3) when not given */
		if (c->vprefix_len == 0 || c->vprefix_len > 126)
			return err_set(e, "libslirp: IPv6 prefix length %u is not 1 to 126",
				       c->vprefix_len);
		sc->prefix6 = c->vprefix_addr6;
		sc->prefixlen6 = c->vprefix_len;
		sc->host6 = c->vhost6;
		sc->dns6 = c->vnameserver6;
	}
	sc->net = c->vnetwork;
	sc->mask = c->vnetmask;
	sc->host = c->vhost;
	sc->dns = c->vnameserver;
	sc->dhcp_start = c->vdhcp_start;
	sc->guestfwd_default.s_addr = (c->vnetwork.s_addr & c->vnetmask.s_addr) |
				      (htonl(4) & ~c->vnetmask.s_addr);
	if (c->if_mtu) {
		sc->mtu = (unsigned)c->if_mtu;
		sc->mtu_set = true;
	}
	if (c->vhostname && strlen(c->vhostname) > 255)
		return err_set(e, "'vhostname' parameter cannot exceed 255 bytes");
	if (c->vdomainname && (!*c->vdomainname || strlen(c->vdomainname) > 255))
		return err_set(e, "'domainname' parameter cannot be empty or exceed 255 bytes");
	sc->tftp_root = c->tftp_path ? xstrdup(c->tftp_path) : NULL;
	sc->bootfile = c->bootfile ? xstrdup(c->bootfile) : NULL;
	sc->tftp_server_name = c->tftp_server_name ? xstrdup(c->tftp_server_name) : NULL;
	sc->hostname = c->vhostname ? xstrdup(c->vhostname) : NULL;
	sc->domainname = c->vdomainname ? xstrdup(c->vdomainname) : NULL;
	while (c->vdnssearch && c->vdnssearch[n] && n < 64)
		n++;
	/* as libslirp: an invalid list is dropped (option 119 not sent) */
	if (n && dhcp_encode_search((const char *const *)c->vdnssearch, n, &sc->dnssearch,
				    &sc->dnssearch_len) < 0)
		warn_report("libslirp: invalid 'vdnssearch' list: option 119 not sent");
	sc->resolv_conf = xstrdup("/etc/resolv.conf");
	return 0;
}

Slirp *slirp_new(const SlirpConfig *cfg, const SlirpCb *callbacks, void *opaque)
{
	struct error e = { 0 };
	struct stack_cfg sc;
	Slirp *sl;

	if (!cfg || !callbacks || !callbacks->send_packet || !callbacks->clock_get_ns ||
	    !callbacks->timer_mod || !callbacks->timer_free) {
		error_report("libslirp: slirp_new needs a config and the callbacks send_packet, "
			     "clock_get_ns, timer_new(_opaque), timer_mod and timer_free");
		return NULL;
	}
	if (slirp_cfg(cfg, &sc, &e) < 0) {
		error_report("%s", e.msg);
		stack_cfg_free(&sc);
		return NULL;
	}
	sl = xzalloc(sizeof(*sl));
	memcpy(&sl->cb, callbacks, cfg->version >= 4 ? sizeof(SlirpCb)
			: offsetof(SlirpCb, init_completed));
	sl->opaque = opaque;
	sl->ep_idx = -1;
	sl->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sl->epfd < 0) {
		error_report("libslirp: epoll_create1: %s", strerror(errno));
		stack_cfg_free(&sc);
		free(sl);
		return NULL;
	}
	if (sl->cb.register_poll_fd)
		sl->cb.register_poll_fd(sl->epfd, opaque);
	if (sl->cb.init_completed)
		sl->cb.init_completed(sl, opaque);
	if (sl->cb.timer_new_opaque)
		sl->timer = sl->cb.timer_new_opaque(SLIRP_TIMER_RA, sl, opaque);
	else if (sl->cb.timer_new)
		sl->timer = sl->cb.timer_new(slirp_timer_fired, sl, opaque);
	if (!sl->timer) {
		error_report("libslirp: the application gave no timer");
		goto fail;
	}
	slirp_enter(sl);
	sl->s = stack_new(&sc, &slirp_env, sl, &e);
	if (!sl->s) {
		sl->depth = 0;
		error_report("%s", e.msg);
		goto fail;
	}
	slirp_leave(sl);
	stack_cfg_free(&sc);
	return sl;
fail:
	if (sl->timer)
		sl->cb.timer_free(sl->timer, opaque);
	if (sl->cb.unregister_poll_fd)
		sl->cb.unregister_poll_fd(sl->epfd, opaque);
	close(sl->epfd);
	stack_cfg_free(&sc);
	free(sl);
	return NULL;
}

Slirp *slirp_init(int restricted, bool in_enabled, struct in_addr vnetwork,
		  struct in_addr vnetmask, struct in_addr vhost, bool in6_enabled,
		  struct in6_addr vprefix_addr6, uint8_t vprefix_len, struct in6_addr vhost6,
		  const char *vhostname, const char *tftp_server_name, const char *tftp_path,
		  const char *bootfile, struct in_addr vdhcp_start, struct in_addr vnameserver,
		  struct in6_addr vnameserver6, const char **vdnssearch, const char *vdomainname,
		  const SlirpCb *callbacks, void *opaque)
{
	SlirpConfig c = {
		.version = 1,
		.restricted = restricted,
		.in_enabled = in_enabled,
		.vnetwork = vnetwork,
		.vnetmask = vnetmask,
		.vhost = vhost,
		.in6_enabled = in6_enabled,
		.vprefix_addr6 = vprefix_addr6,
		.vprefix_len = vprefix_len,
		.vhost6 = vhost6,
		.vhostname = vhostname,
		.tftp_server_name = tftp_server_name,
		.tftp_path = tftp_path,
		.bootfile = bootfile,
		.vdhcp_start = vdhcp_start,
		.vnameserver = vnameserver,
		.vnameserver6 = vnameserver6,
		.vdnssearch = vdnssearch,
		.vdomainname = vdomainname,
	};

	return slirp_new(&c, callbacks, opaque);
}

static void slirp_gconn_close(struct slirp_gfwd *g, struct slirp_gconn *c)
{
	for (struct slirp_gconn **pp = &g->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	g->nconns--;
	close(c->fd);
	free(c);
}

static void slirp_gfwd_free(struct slirp_gfwd *g)
{
	while (g->conns)
		slirp_gconn_close(g, g->conns);
	free(g);
}

void slirp_cleanup(Slirp *slirp)
{
	if (!slirp)
		return;
	slirp_enter(slirp);
	stack_free(slirp->s);
	while (slirp->gfwds) {
		struct slirp_gfwd *g = slirp->gfwds;

		slirp->gfwds = g->next;
		slirp_gfwd_free(g);
	}
	slirp->cb.timer_free(slirp->timer, slirp->opaque);
	if (slirp->cb.unregister_poll_fd)
		slirp->cb.unregister_poll_fd(slirp->epfd, slirp->opaque);
	close(slirp->epfd);
	free(slirp);
}

void slirp_input(Slirp *slirp, const uint8_t *pkt, int pkt_len)
{
	struct iovec iov = { .iov_base = (void *)pkt, .iov_len = pkt_len > 0 ? (size_t)pkt_len : 0 };

	if (!slirp || !pkt || pkt_len <= 0)
		return;
	if (slirp->depth) {	/* from inside send_packet: the stack is not re-entered */
		slirp->dropped++;
		return;
	}
	slirp_enter(slirp);
	stack_input(slirp->s, &iov, 1, NULL);
	slirp_leave(slirp);
}

/* ---- the application's poll loop ---- */

void slirp_pollfds_fill(Slirp *slirp, uint32_t *timeout, SlirpAddPollCb add_poll, void *opaque)
{
	if (!slirp || !add_poll)
		return;
	slirp->ep_idx = add_poll(slirp->epfd, SLIRP_POLL_IN, opaque);
	for (struct slirp_gfwd *g = slirp->gfwds; g; g = g->next)
		for (struct slirp_gconn *c = g->conns; c; c = c->next)
			c->idx = add_poll(c->fd, (c->guest_eof ? 0 : SLIRP_POLL_IN) |
						  (c->want_out ? SLIRP_POLL_OUT : 0), opaque);
	/* the stack's timers run on the application's timer: *timeout stays as it is */
}

/* slirp_gconn_poll() - a slirp_add_guestfwd() connection is ready: to write_cb, or notify */
static void slirp_gconn_poll(Slirp *sl, struct slirp_gfwd *g, struct slirp_gconn *c, int rev)
{
	uint8_t buf[SLIRP_GFWD_CHUNK];

	if (c->want_out && (rev & SLIRP_POLL_OUT)) {
		c->want_out = false;
		if (sl->cb.notify)
			sl->cb.notify(sl->opaque);
	}
	if (!(rev & (SLIRP_POLL_IN | SLIRP_POLL_HUP | SLIRP_POLL_ERR)))
		return;
	if (c->guest_eof) {
		/* only a hang-up is left to see: the stack dropped the connection */
		if (rev & (SLIRP_POLL_HUP | SLIRP_POLL_ERR))
			slirp_gconn_close(g, c);
		return;
	}
	for (int i = 0; i < SLIRP_GFWD_READS; i++) {
		ssize_t n = read(c->fd, buf, sizeof(buf));

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n == 0) {
			/* the guest half-closed: its request may still get an answer */
			c->guest_eof = true;
			return;
		}
		if (n < 0) {	/* the stack dropped the connection */
			slirp_gconn_close(g, c);
			return;
		}
		g->write_cb(buf, (size_t)n, g->opaque);
	}
}

void slirp_pollfds_poll(Slirp *slirp, int select_error, SlirpGetREventsCb get_revents,
			void *opaque)
{
	int idx;

	if (!slirp || !get_revents)
		return;
	idx = slirp->ep_idx;
	slirp->ep_idx = -1;
	slirp_enter(slirp);
	if (!select_error && idx >= 0 && get_revents(idx, opaque)) {
		for (int round = 0; round < SLIRP_EP_ROUNDS; round++) {
			int n = epoll_wait(slirp->epfd, slirp->batch, SLIRP_EP_BATCH, 0);

			if (n <= 0)
				break;
			slirp->batch_n = n;
			for (slirp->batch_i = 0; slirp->batch_i < n;) {
				struct epoll_event *e = &slirp->batch[slirp->batch_i++];

				if (e->data.ptr)
					stack_fd_event(e->data.ptr, e->events);
			}
			slirp->batch_n = slirp->batch_i = 0;
			if (n < SLIRP_EP_BATCH)
				break;
		}
	}
	for (struct slirp_gfwd *g = slirp->gfwds; g && !select_error; g = g->next) {
		struct slirp_gconn *c = g->conns, *next;

		for (; c; c = next) {
			int ci = c->idx;

			next = c->next;
			c->idx = -1;
			if (ci >= 0)
				slirp_gconn_poll(slirp, g, c, get_revents(ci, opaque));
		}
	}
	slirp_leave(slirp);
}

/* ---- forwarding ---- */

/* slirp_hostfwd_rule() - a rule in -netdev user's hostfwd syntax; 0, or -1 if out of range */
static int slirp_hostfwd_rule(char *buf, size_t size, bool udp, struct in_addr haddr, int hport,
			      struct in_addr gaddr, int gport)
{
	char h[INET_ADDRSTRLEN] = "", g[INET_ADDRSTRLEN] = "";

	if (hport < 0 || hport > 65535 || gport < 1 || gport > 65535)
		return -1;
	if (haddr.s_addr)
		inet_ntop(AF_INET, &haddr, h, sizeof(h));
	if (gaddr.s_addr)
		inet_ntop(AF_INET, &gaddr, g, sizeof(g));
	snprintf(buf, size, "%s:%s:%d-%s:%d", udp ? "udp" : "tcp", h, hport, g, gport);
	return 0;
}

/* slirp_fwd_add() - add a hostfwd or guestfwd rule in -netdev user syntax; 0 or -1 */
static int slirp_fwd_add(Slirp *sl, const char *rule, bool host)
{
	struct error e = { 0 };
	int r;

	slirp_enter(sl);
	r = host ? fwd_hostfwd_add(sl->s, rule, &e) : fwd_guestfwd_add(sl->s, rule, &e);
	slirp_leave(sl);
	if (r < 0)
		debug("libslirp: %s", e.msg);
	return r < 0 ? -1 : 0;
}

static int slirp_hostfwd_remove_spec(Slirp *sl, const char *spec)
{
	struct sbuf out = { 0 };
	int r;

	slirp_enter(sl);
	r = fwd_hostfwd_remove(sl->s, spec, &out);
	slirp_leave(sl);
	sbuf_free(&out);
	return r < 0 ? -1 : 0;
}

int slirp_add_hostfwd(Slirp *slirp, int is_udp, struct in_addr host_addr, int host_port,
		      struct in_addr guest_addr, int guest_port)
{
	char rule[128];

	if (!slirp || slirp_hostfwd_rule(rule, sizeof(rule), is_udp, host_addr, host_port,
					 guest_addr, guest_port) < 0)
		return -1;
	return slirp_fwd_add(slirp, rule, true);
}

int slirp_remove_hostfwd(Slirp *slirp, int is_udp, struct in_addr host_addr, int host_port)
{
	char spec[64], h[INET_ADDRSTRLEN] = "";

	if (!slirp || host_port < 0 || host_port > 65535)
		return -1;
	if (host_addr.s_addr)
		inet_ntop(AF_INET, &host_addr, h, sizeof(h));
	snprintf(spec, sizeof(spec), "%s:%s:%d", is_udp ? "udp" : "tcp", h, host_port);
	return slirp_hostfwd_remove_spec(slirp, spec);
}

/* slirp_xaddr() - an AF_INET socket address of @len bytes, or NULL */
static const struct sockaddr_in *slirp_xaddr(const struct sockaddr *a, socklen_t len)
{
	if (!a || len < (socklen_t)sizeof(struct sockaddr_in) || a->sa_family != AF_INET)
		return NULL;
	return (const struct sockaddr_in *)(const void *)a;
}

int slirp_add_hostxfwd(Slirp *slirp, const struct sockaddr *haddr, socklen_t haddrlen,
		       const struct sockaddr *gaddr, socklen_t gaddrlen, int flags)
{
	const struct sockaddr_in *g = slirp_xaddr(gaddr, gaddrlen), *h;
	bool udp = flags & SLIRP_HOSTFWD_UDP;
	char rule[sizeof(((struct sockaddr_un *)0)->sun_path) + 64];

	if (!slirp || !g)
		return -1;	/* IPv6 guests: qnet's stack has no IPv6 yet */
	if (haddr && haddr->sa_family == AF_UNIX && !udp) {
		const struct sockaddr_un *u = (const struct sockaddr_un *)(const void *)haddr;
		size_t n = haddrlen > offsetof(struct sockaddr_un, sun_path) ?
			   haddrlen - offsetof(struct sockaddr_un, sun_path) : 0;
		char gs[INET_ADDRSTRLEN] = "";

		n = strnlen(u->sun_path, MIN(n, sizeof(u->sun_path)));
		if (!n || n >= sizeof(u->sun_path) || ntohs(g->sin_port) == 0)
			return -1;
		if (g->sin_addr.s_addr)
			inet_ntop(AF_INET, &g->sin_addr, gs, sizeof(gs));
		snprintf(rule, sizeof(rule), "unix:%.*s-%s:%u", (int)n, u->sun_path, gs,
			 ntohs(g->sin_port));
		return slirp_fwd_add(slirp, rule, true);
	}
	h = slirp_xaddr(haddr, haddrlen);
	if (!h || slirp_hostfwd_rule(rule, sizeof(rule), udp, h->sin_addr, ntohs(h->sin_port),
				     g->sin_addr, ntohs(g->sin_port)) < 0)
		return -1;
	return slirp_fwd_add(slirp, rule, true);
}

int slirp_remove_hostxfwd(Slirp *slirp, const struct sockaddr *haddr, socklen_t haddrlen,
			  int flags)
{
	const struct sockaddr_in *h = slirp_xaddr(haddr, haddrlen);

	if (!slirp || !h)
		return -1;
	return slirp_remove_hostfwd(slirp, flags & SLIRP_HOSTFWD_UDP, h->sin_addr,
				    ntohs(h->sin_port));
}

/* slirp_guest_addr() - *@a, or the default guestfwd address written back into it (as libslirp) */
static struct in_addr slirp_guest_addr(Slirp *sl, struct in_addr *a)
{
	if (a && !a->s_addr)
		*a = sl->s->cfg.guestfwd_default;
	return a ? *a : sl->s->cfg.guestfwd_default;
}

static int slirp_add_target(Slirp *slirp, const char *kind, const char *target,
			    struct in_addr *guest_addr, int guest_port)
{
	struct in_addr a;
	char *rule;
	int r;

	if (!slirp || !target || guest_port < 1 || guest_port > 65535)
		return -1;
	a = slirp_guest_addr(slirp, guest_addr);
	rule = xasprintf("tcp:%s:%d-%s%s", inet_ntoa(a), guest_port, kind, target);
	r = slirp_fwd_add(slirp, rule, false);
	free(rule);
	return r;
}

int slirp_add_exec(Slirp *slirp, const char *cmdline, struct in_addr *guest_addr, int guest_port)
{
	return slirp_add_target(slirp, "cmd:", cmdline, guest_addr, guest_port);
}

int slirp_add_unix(Slirp *slirp, const char *unixsock, struct in_addr *guest_addr, int guest_port)
{
	if (unixsock && unixsock[0] != '/')
		return -1;
	return slirp_add_target(slirp, "unix:", unixsock, guest_addr, guest_port);
}

/* slirp_gfwd_open() - a guest connection to a slirp_add_guestfwd() rule: a socketpair */
static int slirp_gfwd_open(void *opaque)
{
	struct slirp_gfwd *g = opaque;
	struct slirp_gconn *c;
	int sv[2];

	if (g->nconns >= SLIRP_GFWD_CONNS)
		return -EMFILE;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	c = xzalloc(sizeof(*c));
	c->fd = sv[1];
	c->idx = -1;
	c->next = g->conns;
	g->conns = c;
	g->nconns++;
	/* slirp_socket_can_recv() says more than 0 now: the application's loop may sleep on it */
	g->sl->notify = true;
	return sv[0];
}

int slirp_add_guestfwd(Slirp *slirp, SlirpWriteCb write_cb, void *opaque,
		       struct in_addr *guest_addr, int guest_port)
{
	struct error e = { 0 };
	struct slirp_gfwd *g;
	struct in_addr a;

	if (!slirp || !write_cb || guest_port < 1 || guest_port > 65535)
		return -1;
	a = slirp_guest_addr(slirp, guest_addr);
	g = xzalloc(sizeof(*g));
	g->sl = slirp;
	g->addr = a;
	g->port = (uint16_t)guest_port;
	g->write_cb = write_cb;
	g->opaque = opaque;
	if (fwd_guestfwd_add_fn(slirp->s, a, g->port, slirp_gfwd_open, g, &e) < 0) {
		debug("libslirp: %s", e.msg);
		free(g);
		return -1;
	}
	g->next = slirp->gfwds;
	slirp->gfwds = g;
	return 0;
}

static struct slirp_gfwd *slirp_gfwd_find(Slirp *sl, struct in_addr a, int port)
{
	for (struct slirp_gfwd *g = sl->gfwds; g; g = g->next)
		if (g->addr.s_addr == a.s_addr && g->port == port)
			return g;
	return NULL;
}

int slirp_remove_guestfwd(Slirp *slirp, struct in_addr guest_addr, int guest_port)
{
	struct slirp_gfwd *g, **pp;

	if (!slirp || guest_port < 1 || guest_port > 65535 ||
	    fwd_guestfwd_remove(slirp->s, guest_addr, (uint16_t)guest_port) < 0)
		return -1;
	g = slirp_gfwd_find(slirp, guest_addr, guest_port);
	for (pp = &slirp->gfwds; g && *pp; pp = &(*pp)->next) {
		if (*pp == g) {
			*pp = g->next;
			slirp_gfwd_free(g);
			break;
		}
	}
	return 0;
}

size_t slirp_socket_can_recv(Slirp *slirp, struct in_addr guest_addr, int guest_port)
{
	struct slirp_gfwd *g = slirp ? slirp_gfwd_find(slirp, guest_addr, guest_port) : NULL;
	struct pollfd p;
	int sndbuf = 0, queued = 0;
	socklen_t len = sizeof(sndbuf);

	if (!g || !g->conns)
		return 0;
	p.fd = g->conns->fd;
	p.events = POLLOUT;
	if (poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT) ||
	    getsockopt(p.fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) < 0 ||
	    ioctl(p.fd, SIOCOUTQ, &queued) < 0 || queued >= sndbuf / 2) {
		g->conns->want_out = true;
		return 0;
	}
	/* the kernel counts buffer overhead too: promise half of what is left */
	return MIN((size_t)(sndbuf - queued) / 2, (size_t)65536);
}

void slirp_socket_recv(Slirp *slirp, struct in_addr guest_addr, int guest_port,
		       const uint8_t *buf, int size)
{
	struct slirp_gfwd *g = slirp ? slirp_gfwd_find(slirp, guest_addr, guest_port) : NULL;
	ssize_t n;

	if (!g || !g->conns || !buf || size <= 0)
		return;
	n = send(g->conns->fd, buf, (size_t)size, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n != size)
		debug("libslirp: guestfwd %s:%d: %d of %d bytes lost", inet_ntoa(guest_addr),
		      guest_port, n < 0 ? size : size - (int)n, size);
}

/* ---- information, state, version ---- */

char *slirp_connection_info(Slirp *slirp)
{
	struct sbuf out = { 0 };
	char *r;

	if (!slirp)
		return NULL;
	stack_info_usernet(slirp->s, &out);
	r = xstrdup(sbuf_str(&out));
	sbuf_free(&out);
	return r;
}

char *slirp_neighbor_info(Slirp *slirp)
{
	const struct arp_state *a;
	struct sbuf out = { 0 };
	char *r;

	if (!slirp)
		return NULL;
	a = &slirp->s->arp;
	sbuf_printf(&out, "  %5s  %-17s  %s\n", "Table", "MacAddr", "IP Address");
	for (int i = 0; i < ARP_ENTRIES; i++) {
		const uint8_t *m = a->e[i].mac;

		if (!a->e[i].valid)
			continue;
		sbuf_printf(&out, "  %5s  %02x:%02x:%02x:%02x:%02x:%02x  %s\n", "ARP", m[0], m[1],
			    m[2], m[3], m[4], m[5], inet_ntoa(a->e[i].ip));
	}
	r = xstrdup(sbuf_str(&out));
	sbuf_free(&out);
	return r;
}

void slirp_state_save(Slirp *s, SlirpWriteCb write_cb, void *opaque)
{
	uint8_t mark = SLIRP_STATE_MARK;

	/* connections are not carried: the marker only tells a qnet stream from libslirp's */
	if (s && write_cb)
		write_cb(&mark, 1, opaque);
}

int slirp_state_version(void)
{
	return SLIRP_STATE_VERSION;
}

int slirp_state_load(Slirp *s, int version_id, SlirpReadCb read_cb, void *opaque)
{
	uint8_t mark = 0;

	/* only qnet's own (empty) state can be loaded; libslirp's needs its socket tables */
	if (!s || !read_cb || version_id != SLIRP_STATE_VERSION ||
	    read_cb(&mark, 1, opaque) != 1 || mark != SLIRP_STATE_MARK)
		return -EINVAL;
	return 0;
}

const char *slirp_version_string(void)
{
	return SLIRP_VERSION_STRING "-qnet-" QNET_VERSION;
}
