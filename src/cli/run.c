// SPDX-License-Identifier: MIT
// run.c - `qnet [options] -- CMD [ARGS]`: CMD in a new user, network and mount namespace whose
// eth0 is a tap on a -netdev user (see the DOC block in run.h)

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../backends/user.h"
#include "../core/log.h"
#include "../core/loop.h"
#include "../core/net.h"
#include "netdev.h"
#include "opts.h"
#include "run.h"

/* How long qnet waits for each step of the child's set-up */
#define RUN_STEP_MS 10000
/* Longest error text the child sends back */
#define RUN_MSG_MAX 512
/* The interface CMD sees, and the id of qnet's end of it */
#define RUN_IFNAME "eth0"
#define RUN_TAP_ID "run0"

/**
 * struct run_net - what the parent tells the child to configure (addresses in network order)
 * @addr, @mask:	eth0's address and netmask
 * @gw:			default route
 * @dns:		the nameserver written to the private /etc/resolv.conf
 * @mtu:		eth0's MTU
 */
struct run_net {
	uint32_t addr, mask, gw, dns;
	uint32_t mtu;
};

static pid_t run_pid = -1;	/* the child, until reaped */
static int run_sock = -1;	/* parent's end of the set-up channel */

bool run_active(void)
{
	return run_pid > 0;
}

void run_forward_signal(int signo)
{
	if (run_pid > 0)
		kill(run_pid, signo);
}

/* ---- the child ----------------------------------------------------------- */

/* child_fail() - send "E<text>" to the parent and exit 1 */
__attribute__((noreturn, format(printf, 2, 3)))
static void child_fail(int sock, const char *fmt, ...)
{
	char buf[RUN_MSG_MAX];
	va_list ap;
	int n;

	buf[0] = 'E';
	va_start(ap, fmt);
	n = vsnprintf(buf + 1, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	if (send(sock, buf, (size_t)n + 1, MSG_NOSIGNAL) < 0)
		_exit(1);
	_exit(1);
}

/* child_recv() - one message from the parent; exits quietly on EOF (qnet gave up) */
static size_t child_recv(int sock, void *buf, size_t len)
{
	ssize_t n;

	do
		n = recv(sock, buf, len, 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		_exit(1);
	return (size_t)n;
}

static int child_ifflags_up(int s, const char *name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(s, SIOCSIFFLAGS, &ifr);
}

static int child_set_in(int s, unsigned long req, uint32_t addr)
{
	struct ifreq ifr;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = addr };

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", RUN_IFNAME);
	memcpy(&ifr.ifr_addr, &sin, sizeof(sin));
	return ioctl(s, req, &ifr);
}

/* child_tap() - eth0 inside the new namespace: address, MTU, up, default route; the tap fd */
static int child_tap(int sock, const struct run_net *n)
{
	struct sockaddr_in any = { .sin_family = AF_INET }, gw = any;
	char dev[IFNAMSIZ] = RUN_IFNAME;
	struct rtentry rt;
	struct ifreq ifr;
	int fd, s;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		child_fail(sock, "socket: %s", strerror(errno));
	if (child_ifflags_up(s, "lo") < 0)
		child_fail(sock, "could not bring up lo: %s", strerror(errno));
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		child_fail(sock, "could not open /dev/net/tun: %s", strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", RUN_IFNAME);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		child_fail(sock, "could not configure /dev/net/tun (%s): %s", RUN_IFNAME,
			   strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", RUN_IFNAME);
	ifr.ifr_mtu = (int)n->mtu;
	if (ioctl(s, SIOCSIFMTU, &ifr) < 0)
		child_fail(sock, "could not set the MTU of %s to %u: %s", RUN_IFNAME, n->mtu,
			   strerror(errno));
	if (child_set_in(s, SIOCSIFADDR, n->addr) < 0 ||
	    child_set_in(s, SIOCSIFNETMASK, n->mask) < 0)
		child_fail(sock, "could not set the address of %s: %s", RUN_IFNAME,
			   strerror(errno));
	if (child_ifflags_up(s, RUN_IFNAME) < 0)
		child_fail(sock, "could not bring up %s: %s", RUN_IFNAME, strerror(errno));
	memset(&rt, 0, sizeof(rt));
	gw.sin_addr.s_addr = n->gw;
	memcpy(&rt.rt_dst, &any, sizeof(any));
	memcpy(&rt.rt_genmask, &any, sizeof(any));
	memcpy(&rt.rt_gateway, &gw, sizeof(gw));
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	rt.rt_dev = dev;
	if (ioctl(s, SIOCADDRT, &rt) < 0)
		child_fail(sock, "could not add the default route: %s", strerror(errno));
	close(s);
	return fd;
}

/*
 * child_resolv_conf() - a private /etc/resolv.conf. The mount namespace stops
 * propagation both ways; a small tmpfs mounted for a moment over a scratch
 * directory holds "nameserver DNS", that file is bind-mounted over
 * /etc/resolv.conf (over whatever it links to) and the tmpfs is detached
 * again (the bind mount keeps it). The host's file is not touched.
 */
static void child_resolv_conf(int sock, uint32_t dns)
{
	static const char *const scratch[] = { "/tmp", "/run", "/mnt", "/var/tmp", "/dev" };
	char text[64], path[64], a[INET_ADDRSTRLEN];
	struct in_addr in = { .s_addr = dns };
	const char *dir = NULL;
	int fd, len, err = 0;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		child_fail(sock, "could not make the mounts private: %s", strerror(errno));
	for (size_t i = 0; i < ARRAY_SIZE(scratch) && !dir; i++) {
		if (mount("qnet", scratch[i], "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "size=16k,mode=0755") == 0)
			dir = scratch[i];
		else
			err = errno;
	}
	if (!dir)
		child_fail(sock, "could not mount a tmpfs for the private resolv.conf: %s",
			   strerror(err));
	inet_ntop(AF_INET, &in, a, sizeof(a));
	len = snprintf(text, sizeof(text), "nameserver %s\n", a);
	snprintf(path, sizeof(path), "%s/resolv.conf", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, (size_t)len) != len)
		child_fail(sock, "could not write the private resolv.conf: %s", strerror(errno));
	close(fd);
	if (mount(path, "/etc/resolv.conf", NULL, MS_BIND, NULL) < 0)
		child_fail(sock, "could not bind-mount a private /etc/resolv.conf: %s",
			   strerror(errno));
	if (umount2(dir, MNT_DETACH) < 0)
		child_fail(sock, "could not detach the scratch tmpfs from %s: %s", dir,
			   strerror(errno));
}

/* child_send_fd() - "O" with @fd attached */
static void child_send_fd(int sock, int fd)
{
	if (fd_send(sock, fd, "O", 1) < 0)
		_exit(1);
}

/*
 * run_child() - in the forked child: unshare, wait for the id maps and the
 * addresses, configure, hand the tap fd over, wait for "go", exec CMD.
 */
__attribute__((noreturn))
static void run_child(int sock, pid_t parent, char **argv)
{
	const int sigs[] = { SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGQUIT };
	struct run_net n;
	char c;
	int tap;

	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		signal(sigs[i], SIG_DFL);
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS) < 0)
		child_fail(sock, "could not create the namespaces (unshare): %s", strerror(errno));
	/* after unshare (it changes the credentials, which clears the setting) */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(1);
	c = 'O';
	if (send(sock, &c, 1, MSG_NOSIGNAL) != 1)
		_exit(1);
	if (child_recv(sock, &c, 1) != 1 || c != 'M')	/* the maps are written */
		_exit(1);
	if (child_recv(sock, &n, sizeof(n)) != sizeof(n))
		_exit(1);
	tap = child_tap(sock, &n);
	child_resolv_conf(sock, n.dns);
	child_send_fd(sock, tap);
	close(tap);
	if (child_recv(sock, &c, 1) != 1 || c != 'G')
		_exit(1);
	close(sock);
	execvp(argv[0], argv);
	fprintf(stderr, "qnet: %s: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

/* ---- the parent ------------------------------------------------------------ */

static void run_on_sigchld(int signo, void *opaque)
{
	int st, code;

	if (run_pid <= 0 || waitpid(run_pid, &st, WNOHANG) != run_pid)
		return;
	run_pid = -1;
	if (WIFEXITED(st))
		code = WEXITSTATUS(st);
	else if (WIFSIGNALED(st))
		code = 128 + WTERMSIG(st);
	else
		code = 1;
	info("command exited with status %d", code);
	loop_quit(code);
}

/*
 * run_recv() - the child's next message, within RUN_STEP_MS: "O" (with an fd
 * in *@fd when asked) or "E<text>" (the text goes into @e).
 */
static int run_recv(int *fd, const char *step, struct error *e)
{
	char buf[RUN_MSG_MAX];
	struct pollfd p = { .fd = run_sock, .events = POLLIN };
	ssize_t n;
	int r, got;

	do
		r = poll(&p, 1, RUN_STEP_MS);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		return err_set(e, "the command's namespace set-up did not answer (%s)", step);
	n = fd_recv(run_sock, buf, sizeof(buf) - 1, &got, 0);
	if (n > 0 && buf[0] == 'O' && (!fd || got >= 0)) {
		if (fd)
			*fd = got;
		else if (got >= 0)
			close(got);
		return 0;
	}
	if (got >= 0)
		close(got);
	if (n > 1 && buf[0] == 'E') {
		buf[n] = 0;
		return err_set(e, "%s", buf + 1);
	}
	return err_set(e, "the command's namespace set-up failed (%s)", step);
}

static int run_write_file(pid_t pid, const char *name, const char *text, struct error *e)
{
	char path[64];
	size_t len = strlen(text);
	int fd, ok;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set_errno(e, errno, "could not open %s", path);
	ok = write(fd, text, len) == (ssize_t)len;
	if (!ok) {
		int err = errno;

		close(fd);
		return err_set_errno(e, err, "could not write %s", path);
	}
	close(fd);
	return 0;
}

/* run_write_maps() - root keeps every id; a normal user becomes 0 (its own uid/gid) */
static int run_write_maps(pid_t pid, struct error *e)
{
	char map[64];

	if (geteuid() == 0)
		return run_write_file(pid, "uid_map", "0 0 4294967295\n", e) < 0 ||
		       run_write_file(pid, "gid_map", "0 0 4294967295\n", e) < 0 ? -1 : 0;
	if (run_write_file(pid, "setgroups", "deny\n", e) < 0)
		return -1;
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)geteuid());
	if (run_write_file(pid, "uid_map", map, e) < 0)
		return -1;
	snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)getegid());
	return run_write_file(pid, "gid_map", map, e);
}

static int run_send(const void *buf, size_t len, struct error *e)
{
	if (send(run_sock, buf, len, MSG_NOSIGNAL) != (ssize_t)len)
		return err_set_errno(e, errno, "the command's namespace set-up went away");
	return 0;
}

int run_spawn(char **argv, struct error *e)
{
	pid_t parent = getpid();
	int sv[2], r;
	char m = 'M';

	r = loop_on_signal(SIGCHLD, run_on_sigchld, NULL);
	if (r < 0)
		return err_set_errno(e, -r, "cannot handle SIGCHLD");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return err_set_errno(e, errno, "socketpair");
	fflush(NULL);
	run_pid = fork();
	if (run_pid < 0) {
		r = errno;
		close(sv[0]);
		close(sv[1]);
		return err_set_errno(e, r, "fork");
	}
	if (run_pid == 0) {
		close(sv[0]);
		run_child(sv[1], parent, argv);
	}
	close(sv[1]);
	run_sock = sv[0];
	if (run_recv(NULL, "unshare", e) < 0 || run_write_maps(run_pid, e) < 0 ||
	    run_send(&m, 1, e) < 0)
		return -1;
	return 0;
}

/* run_user() - the first user netdev without a peer, or a new "user0" */
static struct net_client *run_user(struct error *e)
{
	struct net_client *nc;
	struct opts o = { 0 };

	for (nc = net_first(); nc; nc = nc->next)
		if (nc->ops->driver == NET_DRIVER_USER && !nc->peer && !nc->deleted)
			return nc;
	opts_add(&o, "type", "user");
	opts_add(&o, "id", "user0");
	nc = netdev_create(&o, true, NULL, e);
	opts_free(&o);
	return nc;
}

int run_attach(struct error *e)
{
	struct net_client *user = run_user(e), *tap;
	struct user_stack *s;
	struct run_net n;
	struct opts o = { 0 };
	char fdstr[16];
	int fd;

	if (!user)
		return -1;
	s = user_of(user);
	if (!s->cfg.ipv4)
		return err_set(e, "-netdev user,id=%s: '--' needs IPv4 (ipv4=on)", user->name);
	n.addr = s->cfg.dhcp_start.s_addr;
	n.mask = s->cfg.mask.s_addr;
	n.gw = s->cfg.host.s_addr;
	n.dns = s->cfg.dns.s_addr;
	n.mtu = s->cfg.mtu;
	if (run_send(&n, sizeof(n), e) < 0 || run_recv(&fd, "eth0", e) < 0)
		return -1;
	snprintf(fdstr, sizeof(fdstr), "%d", fd);
	opts_add(&o, "type", "tap");
	opts_add(&o, "id", RUN_TAP_ID);
	opts_add(&o, "fd", fdstr);
	tap = netdev_create(&o, true, user, e);
	opts_free(&o);
	if (!tap) {
		close(fd);
		return -1;
	}
	info("%s (%s) is eth0 of the command", RUN_TAP_ID, user->name);
	if (run_send("G", 1, e) < 0)
		return -1;
	close(run_sock);
	run_sock = -1;
	return 0;
}
