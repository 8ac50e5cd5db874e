// SPDX-License-Identifier: MIT
// test_dgram.c - the dgram netdev: QEMU's error texts, info_str, frames over udp/unix/multicast/fd

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../src/cli/netdev.h"
#include "../../src/cli/opts.h"
#include "../../src/core/loop.h"
#include "../../src/core/net.h"
#include "test.h"

/* a fake peer: records frames; can refuse (receive returns 0) */
struct tpeer {
	struct net_client nc;
	bool refuse;
	int count;
	size_t last_len;
	uint8_t last[2048];
	uint8_t first_bytes[64];
};

static ssize_t tpeer_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
				const struct net_meta *meta)
{
	struct tpeer *p = container_of(nc, struct tpeer, nc);

	if (p->refuse)
		return 0;
	p->last_len = net_iov_copy(p->last, sizeof(p->last), iov, iovcnt);
	if (p->count < (int)sizeof(p->first_bytes))
		p->first_bytes[p->count] = p->last_len ? p->last[0] : 0;
	p->count++;
	return (ssize_t)net_iov_size(iov, iovcnt);
}

static const struct net_client_ops tpeer_ops = {
	.driver = NET_DRIVER_NIC,
	.size = sizeof(struct tpeer),
	.receive = tpeer_receive,
};

static struct tpeer *tpeer_new(const char *name)
{
	return container_of(net_client_new(&tpeer_ops, NULL, "tpeer", name), struct tpeer, nc);
}

/* create a dgram netdev from a keyval string; NULL and the message in @e on error */
static struct net_client *mk(const char *s, struct error *e)
{
	struct opts o = { 0 };
	struct net_client *nc = NULL;

	memset(e, 0, sizeof(*e));
	if (opts_parse_keyval(&o, s, "type", e) == 0)
		nc = netdev_create(&o, true, NULL, e);
	opts_free(&o);
	return nc;
}

static void expect_err(const char *s, const char *msg)
{
	struct error e;
	struct net_client *nc = mk(s, &e);

	CHECK(nc == NULL);
	CHECK_STR(e.msg, msg);
	if (nc)
		net_client_free(nc);
}

static void test_errors(void)
{
	char s[512], m[200], want[300];
	int dir_fd;

	expect_err("dgram,id=d0", "dgram requires local= parameter");
	expect_err("dgram,id=d0,remote.type=unix,remote.path=/tmp/x",
		   "dgram requires local= parameter");
	expect_err("dgram,id=d0,remote.type=inet,remote.host=127.0.0.1,remote.port=5",
		   "dgram requires local= parameter");
	expect_err("dgram,id=d0,local.type=inet,local.host=127.0.0.1,local.port=1234",
		   "type=inet or type=unix requires remote parameter");
	expect_err("dgram,id=d0,local.type=unix,local.path=/tmp/qnet-t-x",
		   "type=inet or type=unix requires remote parameter");
	expect_err("dgram,id=d0,local.type=fd,local.str=3,remote.type=inet,remote.host=127.0.0.1,remote.port=5",
		   "don't set remote with local.fd");
	expect_err("dgram,id=d0,local.type=unix,local.path=/tmp/x,remote.type=inet,remote.host=127.0.0.1,remote.port=5",
		   "remote and local types must be the same");
	expect_err("dgram,id=d0,remote.type=inet,remote.host=239.1.2.3,remote.port=5,local.type=unix,local.path=/tmp/x",
		   "only support inet or fd type for local");
	expect_err("dgram,id=d0,remote.type=inet,remote.host=239.1.2.3,remote.port=5,local.type=inet,local.host=foo,local.port=0",
		   "localaddr 'foo' is not a valid IPv4 address");
	expect_err("dgram,id=d0,remote.type=vsock,remote.cid=1,remote.port=5,local.type=vsock,local.cid=1,local.port=1",
		   "only support inet or fd type for local");
	expect_err("dgram,id=d0,remote.type=inet,remote.host=127.0.0.1,remote.port=abc,local.type=inet,local.host=127.0.0.1,local.port=1",
		   "port number 'abc' is invalid");
	expect_err("dgram,id=d0,remote.type=inet,remote.host=1.2.3.4.5,remote.port=1,local.type=inet,local.host=127.0.0.1,local.port=1",
		   "host address '1.2.3.4.5' is not a valid IPv4 address");
	expect_err("dgram,id=d0,remote.type=inet,remote.host=239.1.2.3,remote.port=5,local.type=inet,local.host=127.0.0.1",
		   "Parameter 'local.port' is missing");
	expect_err("dgram,id=d0,local.type=inet,local.port=1", "Parameter 'local.host' is missing");
	expect_err("dgram,id=d0,local.type=unix", "Parameter 'local.path' is missing");
	expect_err("dgram,id=d0,local.type=fd", "Parameter 'local.str' is missing");
	expect_err("dgram,id=d0,local.host=1", "Parameter 'local.type' is missing");
	expect_err("dgram,id=d0,local.type=bogus", "Parameter 'type' does not accept value 'bogus'");
	expect_err("dgram,id=d0,local.type=fd,local.str=3,remote.type=bogus",
		   "Parameter 'type' does not accept value 'bogus'");
	expect_err("dgram,id=d0,local.type=inet,local.host=127.0.0.1,local.port=1,local.foo=2",
		   "Parameter 'local.foo' is unexpected");
	expect_err("dgram,id=d0,local.type=fd,local.str=abc", "Invalid file descriptor number 'abc'");
	expect_err("dgram,id=d0,local.type=fd,local.str=999",
		   "d0: Can't use file descriptor 999: Bad file descriptor");
	dir_fd = open("/", O_RDONLY);
	snprintf(s, sizeof(s), "dgram,id=d0,local.type=fd,local.str=%d", dir_fd);
	expect_err(s, "Unable to query local socket address: Socket operation on non-socket");
	close(dir_fd);
	expect_err("dgram,id=d0,local.type=unix,local.path=/nonexistent-qnet/x,remote.type=unix,remote.path=/tmp/r",
		   "can't bind unix=/nonexistent-qnet/x to socket: No such file or directory");
	mkdir("/tmp/qnet-test-dgram-dir", 0700);
	expect_err("dgram,id=d0,local.type=unix,local.path=/tmp/qnet-test-dgram-dir,remote.type=unix,remote.path=/tmp/r",
		   "failed to unlink socket /tmp/qnet-test-dgram-dir: Is a directory");
	rmdir("/tmp/qnet-test-dgram-dir");
	memset(m, 'a', 120);
	m[120] = 0;
	snprintf(s, sizeof(s), "dgram,id=d0,local.type=unix,local.path=/tmp/%s,remote.type=unix,remote.path=/tmp/r", m);
	snprintf(want, sizeof(want), "UNIX socket path '/tmp/%s' is too long", m);
	expect_err(s, want);
	CHECK(net_find("d0") == NULL);
}

static int udp_socket(struct sockaddr_in *sin)
{
	socklen_t len = sizeof(*sin);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)sin, sizeof(*sin));
	getsockname(fd, (struct sockaddr *)sin, &len);
	return fd;
}

/* a free UDP port on 127.0.0.1 (bound, released) */
static int free_port(void)
{
	struct sockaddr_in sin;
	int fd = udp_socket(&sin);

	close(fd);
	return ntohs(sin.sin_port);
}

static void spin(int n)
{
	for (int i = 0; i < n; i++)
		loop_run_once(20);
}

static void test_udp_frames(void)
{
	struct sockaddr_in me, q;
	struct tpeer *p = tpeer_new("tp-udp");
	struct net_client *nc;
	struct error e;
	char s[512], want[128];
	uint8_t frame[100], back[200];
	int fd = udp_socket(&me), qport = free_port();
	ssize_t r;

	snprintf(s, sizeof(s), "dgram,id=du,local.type=inet,local.host=127.0.0.1,local.port=%d,"
		 "remote.type=inet,remote.host=127.0.0.1,remote.port=%d", qport, ntohs(me.sin_port));
	nc = mk(s, &e);
	CHECK(nc != NULL);
	if (!nc) {
		fprintf(stderr, "  %s\n", e.msg);
		return;
	}
	snprintf(want, sizeof(want), "udp=127.0.0.1:%d/127.0.0.1:%d", qport, ntohs(me.sin_port));
	CHECK_STR(nc->info_str, want);
	CHECK_STR(nc->model, "dgram");
	net_client_link(nc, &p->nc);

	/* peer -> qnet -> socket */
	memset(frame, 0xab, sizeof(frame));
	frame[0] = 7;
	CHECK(net_send_buf(&p->nc, frame, sizeof(frame), NULL) > 0);
	spin(2);
	r = recv(fd, back, sizeof(back), 0);
	CHECK(r == (ssize_t)sizeof(frame));
	CHECK(r > 0 && !memcmp(back, frame, sizeof(frame)));

	/* socket -> qnet -> peer, several per wakeup, in order */
	memset(&q, 0, sizeof(q));
	q.sin_family = AF_INET;
	q.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	q.sin_port = htons(qport);
	for (int i = 0; i < 40; i++) {
		frame[0] = (uint8_t)i;
		sendto(fd, frame, 60 + i, 0, (struct sockaddr *)&q, sizeof(q));
	}
	/* a zero-length datagram is dropped, not fatal */
	sendto(fd, frame, 0, 0, (struct sockaddr *)&q, sizeof(q));
	frame[0] = 99;
	sendto(fd, frame, 64, 0, (struct sockaddr *)&q, sizeof(q));
	spin(5);
	CHECK(p->count == 41);
	for (int i = 0; i < 40 && i < p->count; i++)
		CHECK(p->first_bytes[i] == i);
	CHECK(p->count > 40 && p->first_bytes[40] == 99 && p->last_len == 64);
	net_client_free(nc);
	net_client_free(&p->nc);
	close(fd);
}

/* a peer that refuses makes dgram stop reading, and resume in order after the flush */
static void test_backpressure(void)
{
	struct sockaddr_in me, q;
	struct tpeer *p = tpeer_new("tp-bp");
	struct net_client *nc;
	struct error e;
	char s[512];
	uint8_t frame[80] = { 0 };
	int fd = udp_socket(&me), qport = free_port();

	snprintf(s, sizeof(s), "dgram,id=db,local.type=inet,local.host=127.0.0.1,local.port=%d,"
		 "remote.type=inet,remote.host=127.0.0.1,remote.port=%d", qport, ntohs(me.sin_port));
	nc = mk(s, &e);
	CHECK(nc != NULL);
	if (!nc)
		return;
	net_client_link(nc, &p->nc);
	p->refuse = true;
	memset(&q, 0, sizeof(q));
	q.sin_family = AF_INET;
	q.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	q.sin_port = htons(qport);
	for (int i = 0; i < 10; i++) {
		frame[0] = (uint8_t)i;
		sendto(fd, frame, sizeof(frame), 0, (struct sockaddr *)&q, sizeof(q));
	}
	spin(3);
	/* exactly one frame went into the peer's queue; the rest wait in qnet */
	CHECK(p->count == 0);
	CHECK(p->nc.queue.count == 1);
	p->refuse = false;
	net_flush_queued(&p->nc);
	spin(3);
	CHECK(p->count == 10);
	for (int i = 0; i < 10 && i < p->count; i++)
		CHECK(p->first_bytes[i] == i);
	net_client_free(nc);
	net_client_free(&p->nc);
	close(fd);
}

static void test_unix_frames(void)
{
	const char *lpath = "/tmp/qnet-test-dgram-l.sock", *rpath = "/tmp/qnet-test-dgram-r.sock";
	struct sockaddr_un r = { .sun_family = AF_UNIX }, l = { .sun_family = AF_UNIX };
	struct tpeer *p = tpeer_new("tp-unix");
	struct net_client *nc;
	struct error e;
	struct stat st;
	char s[512];
	uint8_t frame[300], back[400];
	int fd;

	unlink(rpath);
	strcpy(r.sun_path, rpath);
	strcpy(l.sun_path, lpath);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	bind(fd, (struct sockaddr *)&r, sizeof(r));
	snprintf(s, sizeof(s), "dgram,id=dx,local.type=unix,local.path=%s,remote.type=unix,remote.path=%s",
		 lpath, rpath);
	nc = mk(s, &e);
	CHECK(nc != NULL);
	if (!nc) {
		fprintf(stderr, "  %s\n", e.msg);
		return;
	}
	CHECK_STR(nc->info_str, "udp=/tmp/qnet-test-dgram-l.sock:/tmp/qnet-test-dgram-r.sock");
	net_client_link(nc, &p->nc);
	memset(frame, 0x5a, sizeof(frame));
	CHECK(net_send_buf(&p->nc, frame, sizeof(frame), NULL) > 0);
	spin(2);
	CHECK(recv(fd, back, sizeof(back), 0) == (ssize_t)sizeof(frame));
	sendto(fd, frame, 123, 0, (struct sockaddr *)&l, sizeof(l));
	spin(3);
	CHECK(p->count == 1 && p->last_len == 123);
	CHECK(stat(lpath, &st) == 0);
	net_client_free(nc);
	/* qnet removes the path it bound */
	CHECK(stat(lpath, &st) < 0 && errno == ENOENT);
	net_client_free(&p->nc);
	close(fd);
	unlink(rpath);
}

/* TX batching: frames go out in one sendmmsg; a full remote (EAGAIN) loses nothing */
static void test_tx_full_remote(void)
{
	const char *lpath = "/tmp/qnet-test-dgram-l2.sock", *rpath = "/tmp/qnet-test-dgram-r2.sock";
	struct sockaddr_un r = { .sun_family = AF_UNIX };
	struct tpeer *p = tpeer_new("tp-full");
	struct net_client *nc;
	struct error e;
	char s[512];
	uint8_t frame[500], back[600];
	int fd, got = 0, in_order = 1;

	unlink(rpath);
	strcpy(r.sun_path, rpath);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	bind(fd, (struct sockaddr *)&r, sizeof(r));
	snprintf(s, sizeof(s), "dgram,id=dfull,local.type=unix,local.path=%s,remote.type=unix,remote.path=%s",
		 lpath, rpath);
	nc = mk(s, &e);
	CHECK(nc != NULL);
	if (!nc)
		return;
	net_client_link(nc, &p->nc);
	memset(frame, 0x11, sizeof(frame));
	/* far more than the remote's queue (net.unix.max_dgram_qlen, 10 by default) holds */
	for (int i = 0; i < 300; i++) {
		frame[0] = (uint8_t)i;
		frame[1] = (uint8_t)(i >> 8);
		CHECK(net_send_buf(&p->nc, frame, sizeof(frame), NULL) >= 0);
	}
	for (int round = 0; round < 500 && got < 300; round++) {
		ssize_t n;

		spin(1);
		while ((n = recv(fd, back, sizeof(back), 0)) > 0) {
			if (n != (ssize_t)sizeof(frame) || back[0] != (uint8_t)got ||
			    back[1] != (uint8_t)(got >> 8))
				in_order = 0;
			got++;
		}
	}
	CHECK(got == 300);
	CHECK(in_order);
	CHECK(nc->queue.count == 0);
	net_client_free(nc);
	net_client_free(&p->nc);
	close(fd);
	unlink(rpath);
}

static void test_mcast_loopback(void)
{
	struct tpeer *p = tpeer_new("tp-mc");
	struct ip_mreq mreq;
	struct sockaddr_in g;
	struct net_client *nc;
	struct error e;
	char s[512], want[64];
	uint8_t frame[70], back[100];
	int port = free_port(), fd, one = 1;

	snprintf(s, sizeof(s), "dgram,id=dm,remote.type=inet,remote.host=239.255.77.1,remote.port=%d,"
		 "local.type=inet,local.host=127.0.0.1,local.port=0", port);
	nc = mk(s, &e);
	CHECK(nc != NULL);
	if (!nc) {
		fprintf(stderr, "  %s\n", e.msg);
		return;
	}
	snprintf(want, sizeof(want), "mcast=239.255.77.1:%d", port);
	CHECK_STR(nc->info_str, want);
	CHECK_STR(nc->model, "dram");
	net_client_link(nc, &p->nc);

	/* a listener in the group on loopback hears qnet's frames */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&g, 0, sizeof(g));
	g.sin_family = AF_INET;
	g.sin_port = htons(port);
	inet_aton("239.255.77.1", &g.sin_addr);
	bind(fd, (struct sockaddr *)&g, sizeof(g));
	mreq.imr_multiaddr = g.sin_addr;
	inet_aton("127.0.0.1", &mreq.imr_interface);
	setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq));
	memset(frame, 0x33, sizeof(frame));
	CHECK(net_send_buf(&p->nc, frame, sizeof(frame), NULL) > 0);
	spin(2);
	usleep(20000);
	CHECK(recv(fd, back, sizeof(back), 0) == (ssize_t)sizeof(frame));
	/* QEMU's multicast quirk: a member hears its own frames */
	spin(3);
	CHECK(p->count == 1 && p->last_len == sizeof(frame));
	net_client_free(nc);
	net_client_free(&p->nc);
	close(fd);
}

static void test_fd(void)
{
	struct tpeer *p = tpeer_new("tp-fd");
	struct net_client *nc;
	struct error e;
	char s[128], want[64];
	uint8_t frame[90], back[100];
	int sv[2];

	socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
	snprintf(s, sizeof(s), "dgram,id=df,local.type=fd,local.str=%d", sv[0]);
	nc = mk(s, &e);
	CHECK(nc != NULL);
	if (!nc) {
		fprintf(stderr, "  %s\n", e.msg);
		return;
	}
	snprintf(want, sizeof(want), "fd=%d unix", sv[0]);
	CHECK_STR(nc->info_str, want);
	net_client_link(nc, &p->nc);
	memset(frame, 0x44, sizeof(frame));
	CHECK(net_send_buf(&p->nc, frame, sizeof(frame), NULL) > 0);
	spin(2);
	CHECK(recv(sv[1], back, sizeof(back), MSG_DONTWAIT) == (ssize_t)sizeof(frame));
	send(sv[1], frame, 77, 0);
	spin(3);
	CHECK(p->count == 1 && p->last_len == 77);
	/* the peer end goes away: no busy loop, no crash */
	close(sv[1]);
	spin(3);
	net_client_free(nc);
	net_client_free(&p->nc);
	/* qnet owned the fd and closed it */
	CHECK(fcntl(sv[0], F_GETFD) < 0);
}

/* socket udp= shares the batched engine: frames both ways in order, a TX burst, back-pressure */
static void test_socket_udp(void)
{
	struct sockaddr_in me, q;
	struct tpeer *p = tpeer_new("tp-su");
	struct net_client *nc;
	struct error e;
	char s[256], want[128];
	uint8_t frame[90], back[200];
	int fd = udp_socket(&me), qport = free_port(), got = 0;

	snprintf(s, sizeof(s), "socket,id=su,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d",
		 ntohs(me.sin_port), qport);
	nc = mk(s, &e);
	CHECK(nc != NULL);
	if (!nc) {
		fprintf(stderr, "  %s\n", e.msg);
		close(fd);
		net_client_free(&p->nc);
		return;
	}
	snprintf(want, sizeof(want), "socket: udp=127.0.0.1:%d", ntohs(me.sin_port));
	CHECK_STR(nc->info_str, want);
	net_client_link(nc, &p->nc);

	/* a burst from the peer goes out in order (gathered, one sendmmsg per batch) */
	memset(frame, 0x5a, sizeof(frame));
	for (int i = 0; i < 50; i++) {
		frame[0] = (uint8_t)i;
		CHECK(net_send_buf(&p->nc, frame, 60 + (size_t)i % 30, NULL) > 0);
	}
	spin(3);
	for (int i = 0; i < 50; i++) {
		ssize_t r = recv(fd, back, sizeof(back), MSG_DONTWAIT);

		if (r < 0)
			break;
		CHECK(r == 60 + i % 30 && back[0] == i);
		got++;
	}
	CHECK(got == 50);

	/* the other way, with a peer that refuses first: one queued, the rest wait, in order */
	memset(&q, 0, sizeof(q));
	q.sin_family = AF_INET;
	q.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	q.sin_port = htons(qport);
	p->refuse = true;
	for (int i = 0; i < 40; i++) {
		frame[0] = (uint8_t)i;
		sendto(fd, frame, 64, 0, (struct sockaddr *)&q, sizeof(q));
	}
	spin(3);
	CHECK(p->count == 0);
	CHECK(p->nc.queue.count == 1);
	p->refuse = false;
	net_flush_queued(&p->nc);
	spin(5);
	CHECK(p->count == 40);
	for (int i = 0; i < 40 && i < p->count; i++)
		CHECK(p->first_bytes[i] == i);
	net_client_free(nc);
	net_client_free(&p->nc);
	close(fd);
}

int main(void)
{
	loop_init();
	RUN(test_errors);
	RUN(test_udp_frames);
	RUN(test_backpressure);
	RUN(test_unix_frames);
	RUN(test_tx_full_remote);
	RUN(test_mcast_loopback);
	RUN(test_fd);
	RUN(test_socket_udp);
	net_cleanup_all();
	loop_fini();
	TEST_DONE();
}
