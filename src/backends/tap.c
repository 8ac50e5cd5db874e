// SPDX-License-Identifier: MIT
// tap.c - the tap netdev: a Linux tap device, optionally created inside another network namespace

/*
 * DOC: Theory of operation
 *
 * -netdev tap opens /dev/net/tun with IFF_TAP|IFF_NO_PI (QEMU 7.2 tap-linux.c
 * behaviour: IFF_ONE_QUEUE when offered, IFF_VNET_HDR unless vnet_hdr=off),
 * runs the up-script, and then moves frames between the fd and its peer:
 *
 * RX: up to TAP_READ_BUDGET reads per wakeup. The virtio-net header (when the
 * tap has one) becomes the frame's metadata (struct net_meta); short frames
 * are zero-padded to ETH_ZLEN. When net_send() returns 0 reading stops until
 * the sent callback fires.
 *
 * TX: one writev() per frame, behind the frame's metadata as a virtio-net
 * header when the tap has one. EAGAIN returns 0 (the core keeps the frame) and
 * waits for EPOLLOUT.
 *
 * Offloads: a tap with a vnet header enables TUNSETOFFLOAD (csum, TSO4/6, ECN,
 * and USO4/6 when the kernel knows them; fewer when it refuses), so the kernel
 * hands qnet 64 KiB TSO frames and partial checksums, and declares the same
 * set in nc.offloads: the kernel takes such frames from qnet as they are
 * (qnet's core segments for receivers that do not). vnet_hdr=off: plain
 * frames both ways, as before.
 *
 * qnet's own option netns=PATH|PID creates the device inside that network
 * namespace: setns() there, open and configure the tap, bring the link up,
 * setns() back. Scripts then run inside the namespace too. The device lives in
 * the namespace for as long as qnet holds the fd.
 *
 * Scripts run as QEMU runs them: fork, close every fd but 0-2 and the tap fd,
 * execv(script, {script, ifname}), wait; any status but exit(0) is an error
 * showing the raw wait status. The down-script runs at cleanup, before the fd
 * is closed.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../cli/netdev.h"
#include "../core/gso.h"
#include "../core/log.h"
#include "../core/loop.h"
#include "../core/net.h"
#include "bridge.h"

#define TAP_DEV "/dev/net/tun"
#define TAP_DEFAULT_SCRIPT "/etc/qemu-ifup"
#define TAP_DEFAULT_DOWNSCRIPT "/etc/qemu-ifdown"
/* sizeof(struct virtio_net_hdr) */
#define TAP_VNET_HDR_LEN 10
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif
/* frames read per wakeup */
#define TAP_READ_BUDGET 64
/* iovecs taken as they are on TX; more are flattened into txbuf */
#define TAP_MAX_IOV 32

/**
 * struct tap - one tap netdev
 * @nc:		the net client (first)
 * @fd:		the tap fd
 * @lfd:	its loop handle
 * @resume:	deferred: start reading again after the sent callback
 * @in_flight:	sent callbacks outstanding (0 or 1)
 * @write_wait:	a write hit EAGAIN
 * @dead:	reading failed for good (device deleted): no longer polled
 * @vnet_hdr_len: TAP_VNET_HDR_LEN when the device has IFF_VNET_HDR, else 0
 * @netns_fd:	the namespace the tap lives in (scripts run there), or -1
 * @ifname:	interface name
 * @down_script: path, or NULL for none
 * @rx_dropped:	reads too short to hold a frame
 * @txhdr:	TX virtio-net header of the frame being written
 * @buf:	RX buffer (header + largest frame)
 * @txbuf:	TX buffer for frames in more than TAP_MAX_IOV pieces
 */
struct tap {
	struct net_client nc;
	int fd;
	struct loop_fd lfd;
	struct loop_defer resume;
	unsigned in_flight;
	bool write_wait;
	bool dead;
	size_t vnet_hdr_len;
	int netns_fd;
	char ifname[IFNAMSIZ];
	char *down_script;
	uint64_t rx_dropped;
	uint8_t txhdr[TAP_VNET_HDR_LEN];
	uint8_t buf[TAP_VNET_HDR_LEN + NET_BUFSIZE];
	uint8_t txbuf[NET_BUFSIZE];
};

/* the namespace qnet started in, opened on first use of netns= */
static int tap_home_ns = -1;

static void tap_update_events(struct tap *s)
{
	uint32_t ev = 0;

	if (s->fd < 0 || s->dead)
		return;
	if (!s->in_flight)
		ev |= EPOLLIN;
	if (s->write_wait)
		ev |= EPOLLOUT;
	loop_fd_mod(&s->lfd, ev);
}

static void tap_sent(struct net_client *nc, ssize_t ret)
{
	struct tap *s = container_of(nc, struct tap, nc);

	(void)ret;
	if (s->in_flight)
		s->in_flight--;
	loop_defer(&s->resume);
}

static void tap_resume(struct loop_defer *d)
{
	tap_update_events(d->opaque);
}

/**
 * tap_read() - read up to TAP_READ_BUDGET frames and send them to the peer
 * @s:	the netdev
 */
static void tap_read(struct tap *s)
{
	for (int n = 0; n < TAP_READ_BUDGET && !s->in_flight; n++) {
		ssize_t len = read(s->fd, s->buf, sizeof(s->buf));
		uint8_t *frame = s->buf + s->vnet_hdr_len;
		struct net_meta meta = { 0 };
		struct iovec iov;

		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			/* the device is gone (deleted, or its namespace died): stop */
			error_report("tap %s: read: %s; no longer polling it", s->ifname,
				     strerror(errno));
			s->dead = true;
			loop_fd_del(&s->lfd);
			return;
		}
		if (len <= 0)
			break;
		if ((size_t)len <= s->vnet_hdr_len) {
			s->rx_dropped++;
			continue;
		}
		len -= (ssize_t)s->vnet_hdr_len;
		if (len < ETH_ZLEN) {
			memset(frame + len, 0, ETH_ZLEN - (size_t)len);
			len = ETH_ZLEN;
		}
		if (s->vnet_hdr_len)
			gso_vnet_hdr_get(&meta, s->buf);
		iov = (struct iovec){ .iov_base = frame, .iov_len = (size_t)len };
		s->in_flight++;
		if (net_send_meta(&s->nc, &iov, 1, &meta, tap_sent) != 0 && s->in_flight)
			s->in_flight--;
	}
}

static void tap_event(struct loop_fd *h, uint32_t events)
{
	struct tap *s = h->opaque;

	if (events & EPOLLOUT) {
		s->write_wait = false;
		net_flush_queued(&s->nc);
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		tap_read(s);
	tap_update_events(s);
}

static ssize_t tap_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
				const struct net_meta *meta)
{
	struct tap *s = container_of(nc, struct tap, nc);
	struct iovec v[TAP_MAX_IOV + 1];
	int n = 0;
	ssize_t r;

	if (s->fd < 0)
		return -1;
	if (s->vnet_hdr_len) {
		gso_vnet_hdr_put(s->txhdr, meta);
		v[n++] = (struct iovec){ .iov_base = s->txhdr, .iov_len = s->vnet_hdr_len };
	}
	if (iovcnt <= TAP_MAX_IOV) {
		memcpy(&v[n], iov, sizeof(*iov) * (size_t)iovcnt);
		n += iovcnt;
	} else {
		v[n].iov_base = s->txbuf;
		v[n++].iov_len = net_iov_copy(s->txbuf, sizeof(s->txbuf), iov, iovcnt);
	}
	if (s->dead)	/* the device is gone: nothing will ever drain a queue */
		return -1;
	do {
		r = writev(s->fd, v, n);
	} while (r < 0 && errno == EINTR);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		s->write_wait = true;
		tap_update_events(s);
		return 0;
	}
	if (r < 0)
		return -errno;
	return r ? r : 1;
}

/* tap_close_fds() - in a child: close every fd from 3 up except @keep */
static void tap_close_fds(int keep)
{
	long max = sysconf(_SC_OPEN_MAX);

	if (keep < 3) {
		if (!syscall(SYS_close_range, 3U, ~0U, 0U))
			return;
	} else if (!syscall(SYS_close_range, 3U, (unsigned)keep - 1, 0U) &&
		   !syscall(SYS_close_range, (unsigned)keep + 1, ~0U, 0U)) {
		return;
	}
	if (max < 0 || max > 65536)
		max = 65536;
	for (long i = 3; i < max; i++)
		if (i != keep)
			close((int)i);
}

/**
 * tap_run_script() - QEMU's launch_script()
 * @script:	path
 * @ifname:	its argument
 * @keep_fd:	the tap fd, left open in the child
 * @netns_fd:	namespace to run it in, or -1
 * @e:		"network script %s failed with status %d" and friends
 *
 * Return: 0 or -1
 */
static int tap_run_script(const char *script, const char *ifname, int keep_fd, int netns_fd,
			  struct error *e)
{
	pid_t pid;
	int status;

	pid = fork();
	if (pid < 0)
		return err_set_errno(e, errno, "could not launch network script %s", script);
	if (pid == 0) {
		char *argv[] = { (char *)script, (char *)ifname, NULL };
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) < 0)
			_exit(1);
		tap_close_fds(keep_fd);
		execv(script, argv);
		_exit(1);
	}
	while (waitpid(pid, &status, 0) != pid) {
		if (errno != EINTR)
			return err_set_errno(e, errno, "could not launch network script %s", script);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	return err_set(e, "network script %s failed with status %d", script, status);
}

static bool tap_script_enabled(const char *script)
{
	return script && script[0] && strcmp(script, "no");
}

static void tap_cleanup(struct net_client *nc)
{
	struct tap *s = container_of(nc, struct tap, nc);

	loop_defer_cancel(&s->resume);
	if (s->fd >= 0) {
		struct error err = { 0 };

		loop_fd_del(&s->lfd);
		if (s->down_script &&
		    tap_run_script(s->down_script, s->ifname, s->fd, s->netns_fd, &err) < 0)
			error_report("%s", err.msg);
		close(s->fd);
		s->fd = -1;
	}
	if (s->netns_fd >= 0)
		close(s->netns_fd);
	s->netns_fd = -1;
	free(s->down_script);
	s->down_script = NULL;
}

static const struct net_client_ops tap_ops = {
	.driver = NET_DRIVER_TAP,
	.size = sizeof(struct tap),
	.receive = tap_receive,
	.cleanup = tap_cleanup,
};

/* ---- setup ---- */

/**
 * tap_open_dev() - QEMU's tap_open() for Linux
 * @ifname:	wanted name ("" for tap%d); the kernel's name on return
 * @vnet_hdr:	in: want it; out: got it
 * @required:	vnet_hdr=on was given
 * @e:		error
 *
 * Return: the fd (non-blocking) or -1
 */
static int tap_open_dev(char ifname[IFNAMSIZ], bool *vnet_hdr, bool required, struct error *e)
{
	unsigned int features = 0;
	struct ifreq ifr;
	int fd, len = TAP_VNET_HDR_LEN;

	fd = open(TAP_DEV, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return err_set_errno(e, errno, "could not open %s", TAP_DEV);
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (ioctl(fd, TUNGETFEATURES, &features) < 0) {
		warn_report("TUNGETFEATURES failed: %s", strerror(errno));
		features = 0;
	}
	if (features & IFF_ONE_QUEUE)
		ifr.ifr_flags |= IFF_ONE_QUEUE;
	if (*vnet_hdr) {
		*vnet_hdr = features & IFF_VNET_HDR;
		if (required && !*vnet_hdr) {
			close(fd);
			return err_set(e, "vnet_hdr=1 requested, but no kernel support for IFF_VNET_HDR available");
		}
		if (*vnet_hdr)
			ifr.ifr_flags |= IFF_VNET_HDR;
	}
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname[0] ? ifname : "tap%d");
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int err = errno;

		close(fd);
		if (ifname[0])
			return err_set_errno(e, err, "could not configure %s (%s)", TAP_DEV, ifr.ifr_name);
		return err_set_errno(e, err, "could not configure %s", TAP_DEV);
	}
	if (*vnet_hdr) {
		/* a persistent tap may have been left with another size */
		ioctl(fd, TUNSETVNETHDRSZ, &len);
	}
	snprintf(ifname, IFNAMSIZ, "%s", ifr.ifr_name);
	set_nonblock(fd);
	return fd;
}

/* tap_link_up() - SIOCSIFFLAGS IFF_UP on @ifname in the current namespace */
static int tap_link_up(const char *ifname, struct error *e)
{
	struct ifreq ifr;
	int sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (sk < 0)
		return err_set_errno(e, errno, "could not bring up %s", ifname);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	if (ioctl(sk, SIOCGIFFLAGS, &ifr) < 0 ||
	    (ifr.ifr_flags |= IFF_UP, ioctl(sk, SIOCSIFFLAGS, &ifr) < 0)) {
		int err = errno;

		close(sk);
		return err_set_errno(e, err, "could not bring up %s", ifname);
	}
	close(sk);
	return 0;
}

/**
 * tap_netns_open() - the namespace named by netns=: a path, or a PID
 * Return: an O_CLOEXEC fd of it, or -1
 */
static int tap_netns_open(const char *spec, struct error *e)
{
	char path[64];
	const char *p = spec;
	int fd;

	if (!spec[0])
		return err_set(e, "netns= needs a path (/var/run/netns/NAME, /proc/PID/ns/net) or a PID");
	if (strspn(spec, "0123456789") == strlen(spec)) {
		snprintf(path, sizeof(path), "/proc/%s/ns/net", spec);
		p = path;
	}
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set_errno(e, errno, "could not open network namespace %s", p);
	if (tap_home_ns < 0) {
		tap_home_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (tap_home_ns < 0) {
			err_set_errno(e, errno, "could not open qnet's network namespace");
			close(fd);
			return -1;
		}
	}
	return fd;
}

/**
 * tap_create() - open the device (inside @netns_fd when >= 0) and run the up-script
 * @ifname:	wanted name; the actual name on return
 * @vnet_hdr:	in: want; out: got
 * @required:	vnet_hdr=on
 * @script:	up-script, or NULL/""/"no"
 * @netns_fd:	namespace, or -1
 * @e:		error
 *
 * Return: the fd or -1
 */
static int tap_create(char ifname[IFNAMSIZ], bool *vnet_hdr, bool required, const char *script,
		      int netns_fd, struct error *e)
{
	int fd;

	if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET) < 0)
		return err_set_errno(e, errno, "could not enter network namespace");
	fd = tap_open_dev(ifname, vnet_hdr, required, e);
	if (fd >= 0 && netns_fd >= 0 && tap_link_up(ifname, e) < 0) {
		close(fd);
		fd = -1;
	}
	if (netns_fd >= 0 && setns(tap_home_ns, CLONE_NEWNET) < 0)
		die("could not return to qnet's network namespace: %s", strerror(errno));
	if (fd >= 0 && tap_script_enabled(script) &&
	    tap_run_script(script, ifname, fd, netns_fd, e) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* tap_fd_param() - QEMU's monitor_fd_param() at start-up: a plain number */
static int tap_fd_param(const char *str, struct error *e)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(str, &end, 10);
	if (end == str || *end || errno || v < 0 || v > INT_MAX)
		return err_set(e, "Invalid file descriptor number '%s'", str);
	return (int)v;
}

/**
 * tap_take_fd() - an fd given with fd= or fds=: non-blocking, a tap, its vnet_hdr flag
 * Return: the fd or -1
 */
static int tap_take_fd(const char *id, const char *str, bool *vnet_hdr, char ifname[IFNAMSIZ],
		       struct error *e)
{
	struct ifreq ifr;
	int fd = tap_fd_param(str, e), r;

	if (fd < 0)
		return -1;
	r = set_nonblock(fd);
	if (r < 0)
		return err_set_errno(e, -r, "%s: Can't use file descriptor %d", id, fd);
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) < 0) {
		err_set_errno(e, errno, "Unable to query TUNGETIFF on FD %d", fd);
		close(fd);
		return -1;
	}
	*vnet_hdr = ifr.ifr_flags & IFF_VNET_HDR;
	snprintf(ifname, IFNAMSIZ, "%s", ifr.ifr_name);
	if (*vnet_hdr) {
		int len = TAP_VNET_HDR_LEN;

		ioctl(fd, TUNSETVNETHDRSZ, &len);
	}
	return fd;
}

/**
 * struct tap_cfg - the options of one tap netdev, as read
 */
struct tap_cfg {
	const char *ifname, *fd, *fds, *script, *downscript, *helper, *br;
	const char *vhostfd, *vhostfds, *netns;
	bool has_vnet_hdr, vnet_hdr, has_vhost, vhost, vhostforce;
	bool has_queues, has_sndbuf;
	uint64_t queues, sndbuf, poll_us;
};

static int tap_read_opts(struct opts *o, struct tap_cfg *c, struct error *e)
{
	int r;

	memset(c, 0, sizeof(*c));
	c->ifname = opts_get(o, "ifname");
	c->fd = opts_get(o, "fd");
	c->fds = opts_get(o, "fds");
	c->script = opts_get(o, "script");
	c->downscript = opts_get(o, "downscript");
	c->br = opts_get(o, "br");
	c->helper = opts_get(o, "helper");
	if ((r = opts_get_size(o, "sndbuf", &c->sndbuf, e)) < 0)
		return -1;
	c->has_sndbuf = r > 0;
	if ((r = opts_get_bool(o, "vnet_hdr", &c->vnet_hdr, e)) < 0)
		return -1;
	c->has_vnet_hdr = r > 0;
	if ((r = opts_get_bool(o, "vhost", &c->vhost, e)) < 0)
		return -1;
	c->has_vhost = r > 0;
	c->vhostfd = opts_get(o, "vhostfd");
	c->vhostfds = opts_get(o, "vhostfds");
	if (opts_get_bool(o, "vhostforce", &c->vhostforce, e) < 0)
		return -1;
	if ((r = opts_get_u64(o, "queues", &c->queues, e)) < 0)
		return -1;
	c->has_queues = r > 0;
	if (opts_get_u64(o, "poll-us", &c->poll_us, e) < 0)
		return -1;
	c->netns = opts_get(o, "netns");
	/* QEMU's visitor rejects unknown keys before anything is created */
	for (int i = 0; i < o->n; i++) {
		const char *k = o->v[i].key;

		if (!o->v[i].used && strcmp(k, "type") && strcmp(k, "id"))
			return err_set(e, o->syntax == OPTS_QEMUOPTS ? "Invalid parameter '%s'"
								       : "Parameter '%s' is unexpected", k);
	}
	return 0;
}

/* tap_check_conflicts() - QEMU's "... are invalid with fd=" family, in QEMU's order */
static int tap_check_conflicts(const struct tap_cfg *c, bool hub_peer, struct error *e)
{
	if (hub_peer && (c->has_queues || c->fds || c->vhostfds))
		return err_set(e, "Multiqueue tap cannot be used with hubs");
	if (c->fd) {
		if (c->ifname || c->script || c->downscript || c->has_vnet_hdr || c->helper ||
		    c->has_queues || c->fds || c->vhostfds)
			return err_set(e, "ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, "
				       "fds=, and vhostfds= are invalid with fd=");
	} else if (c->fds) {
		if (c->ifname || c->script || c->downscript || c->has_vnet_hdr || c->helper ||
		    c->has_queues || c->vhostfd)
			return err_set(e, "ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, "
				       "and vhostfd= are invalid with fds=");
		if (strchr(c->fds, ':'))
			return err_set(e, "fds= with more than one fd (multiqueue) is not supported by qnet");
	} else if (c->helper) {
		if (c->ifname || c->script || c->downscript || c->has_vnet_hdr || c->has_queues ||
		    c->vhostfds)
			return err_set(e, "ifname=, script=, downscript=, vnet_hdr=, queues=, and "
				       "vhostfds= are invalid with helper=");
	} else if (c->vhostfds) {
		return err_set(e, "vhostfds= is invalid if fds= wasn't specified");
	}
	if ((c->fd || c->fds) && c->netns)
		return err_set(e, "netns= is invalid with fd= or fds=");
	if (c->has_queues && c->queues != 1)
		return err_set(e, "queues=%llu is not supported: qnet's tap netdev has one queue",
			       (unsigned long long)c->queues);
	return 0;
}

/* tap_vhost() - vhost-net needs guest memory, which qnet does not have */
static int tap_vhost(const struct tap_cfg *c, struct error *e)
{
	bool want = c->has_vhost ? c->vhost : (c->vhostfd || c->vhostfds || c->vhostforce);

	if (!want) {
		if (c->vhostfd || c->vhostfds)
			return err_set(e, "vhostfd(s)= is not valid without vhost");
		return 0;
	}
	if (c->vhostforce)
		return err_set(e, "vhost-net requested but could not be initialized");
	warn_report("vhost-net requested but could not be initialized");
	return 0;
}

/* tap_set_sndbuf() - QEMU's: unlimited unless given; an error only when given */
static int tap_set_sndbuf(int fd, const struct tap_cfg *c, struct error *e)
{
	int v = !c->has_sndbuf ? INT_MAX : c->sndbuf > INT_MAX ? INT_MAX : (int)c->sndbuf;

	if (!v)
		v = INT_MAX;
	if (ioctl(fd, TUNSETSNDBUF, &v) < 0 && c->has_sndbuf)
		return err_set_errno(e, errno, "TUNSETSNDBUF ioctl failed");
	return 0;
}

/**
 * tap_set_offload() - TUNSETOFFLOAD with all qnet takes, fewer if the kernel refuses
 * Return: the NET_OFF_* set the tap accepts from qnet
 */
static uint32_t tap_set_offload(int fd)
{
	static const struct {
		unsigned long tun;
		uint32_t off;
	} sets[] = {
		{ TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_USO4 | TUN_F_USO6,
		  NET_OFF_CSUM | NET_OFF_TSO4 | NET_OFF_TSO6 | NET_OFF_TSO_ECN | NET_OFF_USO4 |
		  NET_OFF_USO6 },
		{ TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN,
		  NET_OFF_CSUM | NET_OFF_TSO4 | NET_OFF_TSO6 | NET_OFF_TSO_ECN },
		{ TUN_F_CSUM, NET_OFF_CSUM },
	};

	for (size_t i = 0; i < ARRAY_SIZE(sets); i++)
		if (!ioctl(fd, TUNSETOFFLOAD, sets[i].tun))
			return sets[i].off;
	ioctl(fd, TUNSETOFFLOAD, 0UL);
	return 0;
}

/**
 * tap_init() - -netdev tap / -net tap
 * Return: 0 or -1 with @e set
 */
static int tap_init(struct opts *o, const char *id, struct net_client *peer, struct error *e)
{
	char ifname[IFNAMSIZ] = "";
	const char *script, *downscript;
	struct tap_cfg c;
	struct tap *s;
	bool vnet_hdr = false;
	int fd, r, netns_fd = -1;

	if (tap_read_opts(o, &c, e) < 0 || tap_check_conflicts(&c, peer != NULL, e) < 0)
		return -1;
	script = c.script ? c.script : TAP_DEFAULT_SCRIPT;
	downscript = c.downscript ? c.downscript : TAP_DEFAULT_DOWNSCRIPT;
	if (c.helper && !c.fd && !c.fds) {
		/* qemu-bridge-helper (bridge.c): a tap client of model "bridge" */
		struct net_client *nc;

		fd = bridge_helper_fd(c.helper, c.br ? c.br : BRIDGE_DEFAULT_BR, e);
		if (fd < 0 || !(nc = tap_new_fd(peer, "bridge", id, fd, e)))
			return -1;
		net_set_info_str(nc, "helper=%s", c.helper);
		return 0;
	}
	if (c.fd || c.fds) {
		fd = tap_take_fd(id, c.fd ? c.fd : c.fds, &vnet_hdr, ifname, e);
	} else {
		if (c.netns && (netns_fd = tap_netns_open(c.netns, e)) < 0)
			return -1;
		if (c.ifname)
			snprintf(ifname, sizeof(ifname), "%s", c.ifname);
		vnet_hdr = c.has_vnet_hdr ? c.vnet_hdr : true;
		fd = tap_create(ifname, &vnet_hdr, c.has_vnet_hdr && c.vnet_hdr, script, netns_fd, e);
	}
	if (fd < 0) {
		if (netns_fd >= 0)
			close(netns_fd);
		return -1;
	}

	s = container_of(net_client_new(&tap_ops, peer, "tap", id), struct tap, nc);
	s->fd = fd;
	s->lfd.fd = -1;
	s->netns_fd = netns_fd;
	s->vnet_hdr_len = vnet_hdr ? TAP_VNET_HDR_LEN : 0;
	snprintf(s->ifname, sizeof(s->ifname), "%s", ifname);
	loop_defer_init(&s->resume, tap_resume, s);
	if (vnet_hdr)
		s->nc.offloads = tap_set_offload(fd);
	if (tap_set_sndbuf(fd, &c, e) < 0 || tap_vhost(&c, e) < 0)
		goto fail;
	if (c.fd || c.fds) {
		net_set_info_str(&s->nc, "fd=%d", fd);
	} else {
		net_set_info_str(&s->nc, "ifname=%s,script=%s,downscript=%s", ifname, script,
				 downscript);
		if (strcmp(downscript, "no") && downscript[0])
			s->down_script = xstrdup(downscript);
	}
	r = loop_fd_add(&s->lfd, fd, EPOLLIN, tap_event, s);
	if (r < 0) {
		err_set_errno(e, -r, "could not watch the tap fd");
		goto fail;
	}
	return 0;
fail:
	free(s->down_script);
	s->down_script = NULL;
	net_client_free(&s->nc);
	return -1;
}

struct net_client *tap_new_fd(struct net_client *peer, const char *model, const char *id, int fd,
			      struct error *e)
{
	char ifname[IFNAMSIZ] = "";
	bool vnet_hdr = false;
	struct ifreq ifr;
	struct tap *s;
	int r = set_nonblock(fd);

	memset(&ifr, 0, sizeof(ifr));
	if (r < 0 || ioctl(fd, TUNGETIFF, &ifr) < 0) {
		err_set_errno(e, r < 0 ? -r : errno, "Unable to query TUNGETIFF on FD %d", fd);
		close(fd);
		return NULL;
	}
	vnet_hdr = ifr.ifr_flags & IFF_VNET_HDR;
	snprintf(ifname, sizeof(ifname), "%s", ifr.ifr_name);
	if (vnet_hdr) {
		int len = TAP_VNET_HDR_LEN;

		ioctl(fd, TUNSETVNETHDRSZ, &len);
	}
	s = container_of(net_client_new(&tap_ops, peer, model, id), struct tap, nc);
	s->fd = fd;
	s->lfd.fd = -1;
	s->netns_fd = -1;
	s->vnet_hdr_len = vnet_hdr ? TAP_VNET_HDR_LEN : 0;
	snprintf(s->ifname, sizeof(s->ifname), "%s", ifname);
	loop_defer_init(&s->resume, tap_resume, s);
	if (vnet_hdr)
		s->nc.offloads = tap_set_offload(fd);
	r = loop_fd_add(&s->lfd, fd, EPOLLIN, tap_event, s);
	if (r < 0) {
		err_set_errno(e, -r, "could not watch the tap fd");
		net_client_free(&s->nc);
		return NULL;
	}
	return &s->nc;
}

static const struct opt_desc tap_opts[] = {
	{ "ifname", OPT_STRING, "interface name (default: the kernel's tap%d)" },
	{ "fd", OPT_STRING, "an already open tap fd" },
	{ "fds", OPT_STRING, "already open tap fds, x:y:... (qnet: one fd)" },
	{ "script", OPT_STRING, "up-script (default " TAP_DEFAULT_SCRIPT "; \"no\" or \"\" for none)" },
	{ "downscript", OPT_STRING,
	  "down-script (default " TAP_DEFAULT_DOWNSCRIPT "; \"no\" or \"\" for none)" },
	{ "br", OPT_STRING, "bridge name, with helper=" },
	{ "helper", OPT_STRING, "bridge helper: a tap on bridge br= from it (qemu-bridge-helper)" },
	{ "sndbuf", OPT_SIZE, "send buffer limit (0 or absent: unlimited)" },
	{ "vnet_hdr", OPT_BOOL, "IFF_VNET_HDR: absent tries it, on requires it, off avoids it" },
	{ "vhost", OPT_BOOL, "vhost-net (not available in qnet: warns)" },
	{ "vhostfd", OPT_STRING, "vhost-net fd" },
	{ "vhostfds", OPT_STRING, "vhost-net fds" },
	{ "vhostforce", OPT_BOOL, "require vhost-net (fails in qnet)" },
	{ "queues", OPT_NUMBER, "number of queues (qnet: 1)" },
	{ "poll-us", OPT_NUMBER, "vhost busy-poll time (ignored)" },
	{ "netns", OPT_STRING,
	  "qnet: create the tap inside this network namespace (/var/run/netns/NAME, "
	  "/proc/PID/ns/net or a PID), bring it up there and run the scripts there" },
	{ NULL, OPT_STRING, NULL },
};

const struct netdev_type netdev_tap = {
	.name = "tap",
	.driver = NET_DRIVER_TAP,
	.opts = tap_opts,
	.modern = false,
	.legacy_ok = true,
	.init = tap_init,
};
