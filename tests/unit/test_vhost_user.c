// SPDX-License-Identifier: MIT
/* test_vhost_user.c - the vhost-user netdev over a real unix socket: option errors, feature
 * replies, REPLY_ACK for good and impossible memory tables, protocol errors, a TX frame from a
 * ring in a memfd reaching the peer with its virtio-net header as metadata */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "backends/vhost_user.h"
#include "cli/chardev_opts.h"
#include "cli/netdev.h"
#include "cli/opts.h"
#include "core/chardev.h"
#include "core/loop.h"
#include "test.h"

static char path[64];
static struct net_client *vu, *peer;
static size_t got_len;
static struct net_meta got_meta;
static int got_frames;

static ssize_t peer_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
			    const struct net_meta *meta)
{
	got_len = net_iov_size(iov, iovcnt);
	memset(&got_meta, 0, sizeof(got_meta));
	if (meta)
		got_meta = *meta;
	got_frames++;
	return (ssize_t)got_len;
}

static const struct net_client_ops peer_ops = {
	.driver = NET_DRIVER_STREAM,
	.size = sizeof(struct net_client),
	.receive = peer_receive,
};

static struct net_client *mk(const char *spec, struct net_client *p, struct error *e)
{
	struct opts o = { 0 };
	struct net_client *nc = NULL;

	if (opts_parse(&o, spec, "type", e) == 0)
		nc = netdev_create(&o, true, p, e);
	opts_free(&o);
	return nc;
}

static int connect_fe(void)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&un, sizeof(un)) < 0)
		abort();
	for (int i = 0; i < 5; i++)
		loop_run_once(10);
	return fd;
}

static void put_msg(int fd, uint32_t req, uint32_t flags, const void *p, uint32_t len,
		    const int *fds, int nfds)
{
	uint8_t buf[512];
	union {
		char b[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr a;
	} cb;
	struct iovec iov = { buf, 12 + len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	memcpy(buf, &req, 4);
	memcpy(buf + 4, &flags, 4);
	memcpy(buf + 8, &len, 4);
	if (len)
		memcpy(buf + 12, p, len);
	if (nfds) {
		struct cmsghdr *c;

		mh.msg_control = cb.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	if (sendmsg(fd, &mh, 0) < 0)
		abort();
	for (int i = 0; i < 3; i++)
		loop_run_once(10);
}

/* get_reply() - the u64 payload of the next reply, or -1 when none/closed */
static int64_t get_reply(int fd, uint32_t req)
{
	uint8_t buf[20];
	uint32_t r, size;
	uint64_t v = 0;
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 12)
		return -1;
	memcpy(&r, buf, 4);
	memcpy(&size, buf + 8, 4);
	if (r != req || size != 8 || n != 20)
		return -1;
	memcpy(&v, buf + 12, 8);
	return (int64_t)(v & 0x7fffffffffffffffull);
}

static void test_options(void)
{
	struct error e = { 0 };

	CHECK(!mk("vhost-user,id=x", NULL, &e));
	CHECK_STR(e.msg, "Parameter 'chardev' is missing");
	memset(&e, 0, sizeof(e));
	CHECK(!mk("vhost-user,id=x,chardev=nope", NULL, &e));
	CHECK_STR(e.msg, "chardev \"nope\" not found");
	memset(&e, 0, sizeof(e));
	CHECK(!mk("vhost-user,id=x,chardev=vc,queues=0", NULL, &e));
	CHECK_STR(e.msg, "qnet: vhost-user number of queues must be in range [1, 8]");
}

static void test_protocol(void)
{
	struct error e = { 0 };
	int fd, memfd, kick, ev2;
	uint64_t v;
	uint8_t *mem;
	const struct vhost_user_stats *st;

	peer = net_client_new(&peer_ops, NULL, "stream", "peer");
	vu = mk("vhost-user,id=vu0,chardev=vc", peer, &e);
	CHECK(vu != NULL);
	if (!vu)
		return;
	st = vhost_user_get_stats(vu);
	CHECK(st && vhost_user_get_stats(peer) == NULL);
	CHECK(vu->link_down);
	fd = connect_fe();
	CHECK(!vu->link_down);
	put_msg(fd, 1, 1, NULL, 0, NULL, 0);	/* GET_FEATURES */
	v = (uint64_t)get_reply(fd, 1);
	CHECK((v & (1ull << 32)) && (v & (1ull << 15)) && (v & (1ull << 30)) && !(v & (1ull << 22)));
	v = (1ull << 32) | (1ull << 30) | 1 | 2 | (1ull << 7) | (1ull << 11);
	put_msg(fd, 2, 1, &v, 8, NULL, 0);	/* SET_FEATURES */
	CHECK(vu->offloads == (NET_OFF_CSUM | NET_OFF_TSO4));
	v = 1ull << 3;
	put_msg(fd, 16, 1, &v, 8, NULL, 0);	/* REPLY_ACK */
	/* guest memory: 64 KiB memfd, gpa 0, uva 0x10000 */
	memfd = memfd_create("t", 0);
	CHECK(ftruncate(memfd, 65536) == 0);
	mem = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	{
		uint8_t t[8 + 32] = { 1 };
		uint64_t r[4] = { 0, 1 << 20, 0x10000, 0 };	/* past the end of the file */

		memcpy(t + 8, r, 32);
		put_msg(fd, 5, 1 | 8, t, sizeof(t), &memfd, 1);
		CHECK(get_reply(fd, 5) == 1);
		r[1] = 65536;
		memcpy(t + 8, r, 32);
		put_msg(fd, 5, 1 | 8, t, sizeof(t), &memfd, 1);
		CHECK(get_reply(fd, 5) == 0);
	}
	/* TX ring 1: desc at 0, avail at 0x1000, used at 0x2000, num 8 */
	{
		uint32_t s[2] = { 1, 8 };
		uint64_t a[5];
		uint32_t ai[2] = { 1, 0 };
		uint8_t addr[40];
		uint64_t da = 0x4000;
		uint32_t dl = 12 + 60;
		uint16_t fl = 0, nx = 0, one = 1, zero = 0;

		put_msg(fd, 8, 1, s, 8, NULL, 0);
		s[1] = 0;
		put_msg(fd, 10, 1, s, 8, NULL, 0);
		memcpy(addr, ai, 8);
		a[0] = 0x10000;
		a[1] = 0x12000;
		a[2] = 0x11000;
		a[3] = 0;
		memcpy(addr + 8, a, 32);
		put_msg(fd, 9, 1 | 8, addr, 40, NULL, 0);
		CHECK(get_reply(fd, 9) == 0);
		/* one frame: a header asking for TSO4, then 60 bytes */
		memset(mem + 0x4000, 0, 72);
		mem[0x4000] = 1;	/* NEEDS_CSUM */
		mem[0x4001] = 1;	/* TCPV4 */
		memcpy(mem, &da, 8);
		memcpy(mem + 8, &dl, 4);
		memcpy(mem + 12, &fl, 2);
		memcpy(mem + 14, &nx, 2);
		memcpy(mem + 0x1000 + 4, &zero, 2);
		memcpy(mem + 0x1000 + 2, &one, 2);
		kick = eventfd(0, EFD_CLOEXEC);
		ev2 = eventfd(0, EFD_CLOEXEC);
		v = 1;
		put_msg(fd, 13, 1, &v, 8, &ev2, 1);	/* CALL */
		put_msg(fd, 12, 1, &v, 8, &kick, 1);	/* KICK: starts the ring */
		s[0] = 1;
		s[1] = 1;
		put_msg(fd, 18, 1, s, 8, NULL, 0);	/* ENABLE */
		v = 1;
		CHECK(write(kick, &v, 8) == 8);
		for (int i = 0; i < 5; i++)
			loop_run_once(10);
		{
			uint16_t used;

			memcpy(&used, mem + 0x2000 + 2, 2);
			CHECK(used == 1);
		}
		/* the metadata did not fit the 60 bytes: the core drops it, counted on the peer */
		CHECK(st->tx_frames == 1);
		CHECK(got_frames == 0 && peer->stats.rx_bad_meta == 1);
		/* a plain frame goes through */
		mem[0x4000] = 0;
		mem[0x4001] = 0;
		memcpy(mem + 0x1000 + 4 + 2, &zero, 2);
		one = 2;
		memcpy(mem + 0x1000 + 2, &one, 2);
		CHECK(write(kick, &v, 8) == 8);
		for (int i = 0; i < 5; i++)
			loop_run_once(10);
		CHECK(got_frames == 1 && got_len == 60);
		/* a descriptor loop breaks the ring */
		nx = 0;
		fl = 1;
		memcpy(mem + 12, &fl, 2);
		memcpy(mem + 14, &nx, 2);
		one = 3;
		memcpy(mem + 0x1000 + 2, &one, 2);
		CHECK(write(kick, &v, 8) == 8);
		for (int i = 0; i < 5; i++)
			loop_run_once(10);
		CHECK(st->broken_rings == 1 && got_frames == 1);
		close(kick);
		close(ev2);
	}
	/* a malformed message: the connection goes, the device is reset */
	put_msg(fd, 2, 1, "x", 1, NULL, 0);
	CHECK(st->protocol_errors >= 1);
	CHECK(vu->link_down && vu->offloads == 0);
	{
		char c;

		CHECK(recv(fd, &c, 1, 0) == 0);
	}
	close(fd);
	munmap(mem, 65536);
	close(memfd);
	net_client_free(vu);
	net_client_free(peer);
}

int main(void)
{
	struct opts o = { 0 };
	struct error e = { 0 };
	char spec[128];

	loop_init();
	snprintf(path, sizeof(path), "/tmp/qnet-test-vu.%d.sock", (int)getpid());
	snprintf(spec, sizeof(spec), "socket,id=vc,path=%s,server=on,wait=off", path);
	if (opts_parse(&o, spec, "backend", &e) < 0 || chardev_opts_create(&o, &e) < 0)
		abort();
	opts_free(&o);
	RUN(test_options);
	RUN(test_protocol);
	chardev_cleanup_all();
	loop_fini();
	TEST_DONE();
}
