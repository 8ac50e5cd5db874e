// SPDX-License-Identifier: MIT
// test_tap.c - the tap netdev in a private network namespace: errors, vnet_hdr, padding, netns=, scripts, fd=

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/cli/netdev.h"
#include "../../src/cli/opts.h"
#include "../../src/core/loop.h"
#include "../../src/core/net.h"
#include "test.h"

struct tpeer {
	struct net_client nc;
	int count;
	size_t last_len;
	uint8_t last[2048];
};

static ssize_t tpeer_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
				const struct net_meta *meta)
{
	struct tpeer *p = container_of(nc, struct tpeer, nc);

	p->last_len = net_iov_copy(p->last, sizeof(p->last), iov, iovcnt);
	p->count++;
	return (ssize_t)net_iov_size(iov, iovcnt);
}

static const struct net_client_ops tpeer_ops = {
	.driver = NET_DRIVER_NIC,
	.size = sizeof(struct tpeer),
	.receive = tpeer_receive,
};

static struct net_client *mk(const char *s, struct net_client *peer, struct error *e)
{
	struct opts o = { 0 };
	struct net_client *nc = NULL;

	memset(e, 0, sizeof(*e));
	if (opts_parse(&o, s, "type", e) == 0)
		nc = netdev_create(&o, peer == NULL, peer, e);
	opts_free(&o);
	return nc;
}

static void expect_err(const char *s, const char *msg)
{
	struct error e;
	struct net_client *nc = mk(s, NULL, &e);

	CHECK(nc == NULL);
	CHECK_STR(e.msg, msg);
	if (nc)
		net_client_free(nc);
}

static void test_errors(void)
{
	struct net_client *hubport;
	struct error e;
	char s[128], want[128];
	int nullfd;

	expect_err("tap,id=t0,fd=3,ifname=x",
		   "ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, fds=, and vhostfds= are invalid with fd=");
	expect_err("tap,id=t0,fd=3,script=no",
		   "ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, fds=, and vhostfds= are invalid with fd=");
	expect_err("tap,id=t0,fds=3,vnet_hdr=on",
		   "ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, and vhostfd= are invalid with fds=");
	expect_err("tap,id=t0,helper=/bin/true,queues=1",
		   "ifname=, script=, downscript=, vnet_hdr=, queues=, and vhostfds= are invalid with helper=");
	expect_err("tap,id=t0,vhostfds=3", "vhostfds= is invalid if fds= wasn't specified");
	expect_err("tap,id=t0,fd=abc", "Invalid file descriptor number 'abc'");
	expect_err("tap,id=t0,fd=999", "t0: Can't use file descriptor 999: Bad file descriptor");
	nullfd = open("/dev/null", O_RDWR);
	snprintf(s, sizeof(s), "tap,id=t0,fd=%d", nullfd);
	snprintf(want, sizeof(want), "Unable to query TUNGETIFF on FD %d: Inappropriate ioctl for device",
		 nullfd);
	expect_err(s, want);
	expect_err("tap,id=t0,sndbuf=1x", "Parameter 'sndbuf' expects a size value");
	expect_err("tap,id=t0,vnet_hdr=maybe", "Parameter 'vnet_hdr' expects 'on' or 'off'");
	expect_err("tap,id=t0,bogus=1", "Invalid parameter 'bogus'");
	expect_err("tap,id=t0,ifname=qterr0,script=/bin/false,downscript=no",
		   "network script /bin/false failed with status 256");
	expect_err("tap,id=t0,ifname=qterr0,script=/nonexistent-qnet,downscript=no",
		   "network script /nonexistent-qnet failed with status 256");
	/* a failed up-script leaves no interface behind */
	CHECK(if_nametoindex("qterr0") == 0);
	expect_err("tap,id=t0,ifname=lo,script=no,downscript=no",
		   "could not configure /dev/net/tun (lo): Invalid argument");
	expect_err("tap,id=t0,netns=/nonexistent-qnet/ns,script=no,downscript=no",
		   "could not open network namespace /nonexistent-qnet/ns: No such file or directory");
	expect_err("tap,id=t0,queues=2,script=no,downscript=no",
		   "queues=2 is not supported: qnet's tap netdev has one queue");
	/* legacy -net: the peer is a hub port */
	hubport = net_client_new(&tpeer_ops, NULL, "tpeer", "hp0");
	CHECK(mk("tap,id=t0,queues=1,script=no,downscript=no", hubport, &e) == NULL);
	CHECK_STR(e.msg, "Multiqueue tap cannot be used with hubs");
	net_client_free(hubport);
	CHECK(net_find("t0") == NULL);
}

/* an AF_PACKET socket on @ifname, after bringing it up */
static int packet_socket(const char *ifname)
{
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	struct ifreq ifr;
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
	int sk = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	ioctl(sk, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	ioctl(sk, SIOCSIFFLAGS, &ifr);
	close(sk);
	ll.sll_ifindex = (int)if_nametoindex(ifname);
	bind(fd, (struct sockaddr *)&ll, sizeof(ll));
	return fd;
}

static void spin(int n)
{
	for (int i = 0; i < n; i++)
		loop_run_once(20);
}

/* a frame nothing in the kernel answers: broadcast, a private ethertype */
static void make_frame(uint8_t *f, size_t len, uint8_t tag)
{
	memset(f, 0xff, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(tag + i);
}

/* qnet -> tap -> packet socket, and packet socket -> tap -> qnet (padded) */
static void exchange(struct net_client *nc, const char *ifname)
{
	struct tpeer *p = container_of(net_client_new(&tpeer_ops, nc, "tpeer", NULL), struct tpeer, nc);
	uint8_t f[200], back[300];
	int pk = packet_socket(ifname);
	ssize_t r = -1;

	/* let the interface settle, drain what the kernel sent on link-up */
	spin(3);
	while (recv(pk, back, sizeof(back), 0) > 0)
		;
	p->count = 0;
	make_frame(f, 150, 1);
	CHECK(net_send_buf(&p->nc, f, 150, NULL) > 0);
	for (int i = 0; i < 50 && r < 0; i++) {
		r = recv(pk, back, sizeof(back), 0);
		if (r < 0)
			usleep(10000);
	}
	CHECK(r == 150 && !memcmp(back, f, 150));

	make_frame(f, 42, 9);
	CHECK(send(pk, f, 42, 0) == 42);
	for (int i = 0; i < 50 && !p->count; i++)
		spin(1);
	CHECK(p->count == 1);
	CHECK(p->last_len == ETH_ZLEN);
	CHECK(!memcmp(p->last, f, 42));
	CHECK(p->last[42] == 0 && p->last[ETH_ZLEN - 1] == 0);
	close(pk);
	net_client_free(&p->nc);
}

static void test_vnet_hdr_default(void)
{
	struct error e;
	struct net_client *nc = mk("tap,id=tv,ifname=qtv0,script=no,downscript=no", NULL, &e);

	CHECK(nc != NULL);
	if (!nc) {
		fprintf(stderr, "  %s\n", e.msg);
		return;
	}
	CHECK_STR(nc->info_str, "ifname=qtv0,script=no,downscript=no");
	CHECK(if_nametoindex("qtv0") != 0);
	exchange(nc, "qtv0");
	net_client_free(nc);
	CHECK(if_nametoindex("qtv0") == 0);
}

static void test_vnet_hdr_off(void)
{
	struct error e;
	struct net_client *nc = mk("tap,id=to,ifname=qto0,script=,downscript=,vnet_hdr=off,sndbuf=1M",
				   NULL, &e);

	CHECK(nc != NULL);
	if (!nc) {
		fprintf(stderr, "  %s\n", e.msg);
		return;
	}
	CHECK_STR(nc->info_str, "ifname=qto0,script=,downscript=");
	exchange(nc, "qto0");
	net_client_free(nc);
}

static int write_script(const char *path, const char *marker)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f, "#!/bin/sh\necho \"$1 $(ls /proc/self/fd | wc -l)\" >> %s\n", marker);
	fclose(f);
	return chmod(path, 0755);
}

static void test_scripts(void)
{
	const char *up = "/tmp/qnet-test-tap-up.sh", *down = "/tmp/qnet-test-tap-down.sh";
	const char *mup = "/tmp/qnet-test-tap-up.out", *mdown = "/tmp/qnet-test-tap-down.out";
	char s[256], line[64] = "";
	struct net_client *nc;
	struct error e;
	FILE *f;

	unlink(mup);
	unlink(mdown);
	CHECK(write_script(up, mup) == 0 && write_script(down, mdown) == 0);
	snprintf(s, sizeof(s), "tap,id=ts,ifname=qts0,script=%s,downscript=%s", up, down);
	nc = mk(s, NULL, &e);
	CHECK(nc != NULL);
	if (!nc) {
		fprintf(stderr, "  %s\n", e.msg);
		return;
	}
	snprintf(s, sizeof(s), "ifname=qts0,script=%s,downscript=%s", up, down);
	CHECK_STR(nc->info_str, s);
	f = fopen(mup, "r");
	CHECK(f && fgets(line, sizeof(line), f));
	/* argv[1] is the ifname; only fds 0-2, the tap fd and ls's own are open */
	CHECK(!strncmp(line, "qts0 ", 5) && atoi(line + 5) <= 5);
	if (f)
		fclose(f);
	CHECK(access(mdown, F_OK) < 0);
	net_client_free(nc);
	f = fopen(mdown, "r");
	CHECK(f && fgets(line, sizeof(line), f) && !strncmp(line, "qts0 ", 5));
	if (f)
		fclose(f);
	unlink(up);
	unlink(down);
	unlink(mup);
	unlink(mdown);
}

/* a child in a new network namespace, alive until @fd (its pipe) closes */
static pid_t ns_child(int *fd)
{
	int p[2], q[2];
	pid_t pid;
	char c;

	if (pipe(p) < 0 || pipe(q) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		close(q[1]);
		if (unshare(CLONE_NEWNET) < 0)
			_exit(1);
		write(p[1], "r", 1);
		read(q[0], &c, 1);
		_exit(0);
	}
	close(p[1]);
	close(q[0]);
	if (read(p[0], &c, 1) != 1) {
		close(p[0]);
		close(q[1]);
		waitpid(pid, NULL, 0);
		return -1;
	}
	close(p[0]);
	*fd = q[1];
	return pid;
}

static bool ns_has_if(pid_t pid, const char *ifname)
{
	char path[64], line[256];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/net/dev", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *c = line + strspn(line, " ");

		if (!strncmp(c, ifname, strlen(ifname)) && c[strlen(ifname)] == ':')
			found = true;
	}
	fclose(f);
	return found;
}

static void test_netns(void)
{
	struct net_client *nc;
	struct error e;
	char s[128];
	int fd, sk, self;
	struct ifreq ifr;
	pid_t pid = ns_child(&fd);

	CHECK(pid > 0);
	if (pid <= 0)
		return;
	snprintf(s, sizeof(s), "tap,id=tn,netns=%d,ifname=qtn0,script=no,downscript=no", (int)pid);
	nc = mk(s, NULL, &e);
	CHECK(nc != NULL);
	if (nc) {
		CHECK(ns_has_if(pid, "qtn0"));
		/* created there, not here, and qnet is back in its own namespace */
		CHECK(if_nametoindex("qtn0") == 0);
		/* up inside the namespace */
		snprintf(s, sizeof(s), "/proc/%d/ns/net", (int)pid);
		self = open("/proc/self/ns/net", O_RDONLY);
		int ns = open(s, O_RDONLY);
		CHECK(setns(ns, CLONE_NEWNET) == 0);
		sk = socket(AF_INET, SOCK_DGRAM, 0);
		memset(&ifr, 0, sizeof(ifr));
		strcpy(ifr.ifr_name, "qtn0");
		CHECK(ioctl(sk, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP));
		close(sk);
		CHECK(setns(self, CLONE_NEWNET) == 0);
		close(ns);
		close(self);
		net_client_free(nc);
		CHECK(!ns_has_if(pid, "qtn0"));
	} else {
		fprintf(stderr, "  %s\n", e.msg);
	}
	close(fd);
	waitpid(pid, NULL, 0);
}

static void test_fd(void)
{
	struct net_client *nc;
	struct error e;
	struct ifreq ifr;
	char s[64], want[64];
	int fd = open("/dev/net/tun", O_RDWR);

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	strcpy(ifr.ifr_name, "qtf0");
	CHECK(fd >= 0 && ioctl(fd, TUNSETIFF, &ifr) == 0);
	snprintf(s, sizeof(s), "tap,id=tf,fd=%d", fd);
	nc = mk(s, NULL, &e);
	CHECK(nc != NULL);
	if (!nc) {
		fprintf(stderr, "  %s\n", e.msg);
		close(fd);
		return;
	}
	snprintf(want, sizeof(want), "fd=%d", fd);
	CHECK_STR(nc->info_str, want);
	exchange(nc, "qtf0");
	/* the device deleted under qnet: no busy loop on the dead fd */
	CHECK(system("ip link del qtf0 2>/dev/null") == 0);
	uint64_t t0 = loop_now_ms();
	spin(5);
	CHECK(loop_now_ms() - t0 >= 80);
	net_client_free(nc);
	CHECK(if_nametoindex("qtf0") == 0);
}

int main(void)
{
	/* everything happens in a private network namespace */
	if (unshare(CLONE_NEWNET) < 0 || access("/dev/net/tun", R_OK | W_OK) < 0) {
		printf("skip: needs root and /dev/net/tun (%s)\n", strerror(errno));
		TEST_DONE();
	}
	signal(SIGPIPE, SIG_IGN);
	loop_init();
	RUN(test_errors);
	RUN(test_vnet_hdr_default);
	RUN(test_vnet_hdr_off);
	RUN(test_scripts);
	RUN(test_netns);
	RUN(test_fd);
	net_cleanup_all();
	loop_fini();
	TEST_DONE();
}
