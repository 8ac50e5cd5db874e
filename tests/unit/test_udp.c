// SPDX-License-Identifier: MIT
// test_udp.c - UDP NAT of the user stack: loopback echo, DNS, TTL, errors, hostfwd, expiry, bounds

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stack/csum.h"
#include "stack/stack.h"
#include "sink.h"
#include "test.h"

/*
 * Traffic stays on 127.0.0.1: the stack's host sockets talk to servers the
 * test binds there. When the test runs as root it first moves into a network
 * namespace of its own (only a loopback interface), where it may also bind
 * port 53 for the DNS test.
 */

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static bool in_netns;
static char resolv_path[64];

static struct sink *cur;	/* the live stack's host, pumped while waiting on a server */

/* user_new() - a stack with @spec's options and its test host (sink.h) */
static struct user_stack *user_new(const char *id, const char *spec, struct sink **k)
{
	struct error e = { 0 };

	*k = cur = sink_new(id, spec, &e);
	if (!*k) {
		fprintf(stderr, "  user stack '%s': %s\n", spec, e.msg);
		return NULL;
	}
	return (*k)->s;
}

static void user_free(struct sink *k)
{
	if (cur == k)
		cur = NULL;
	sink_free(k);
}

static struct in_addr a4(const char *s)
{
	struct in_addr a;

	inet_aton(s, &a);
	return a;
}

/* guest_udp() - a UDP frame from the guest; @bad_csum corrupts the checksum, @no_csum sends 0 */
static size_t guest_udp(uint8_t *f, const char *src, const char *dst, uint16_t sport,
			uint16_t dport, const void *data, size_t len, uint8_t ttl, int csum_mode)
{
	struct iphdr iph, *ip = &iph;
	uint8_t *u = f + 34;
	uint16_t c;

	memset(f, 0, 34 + 8);
	memset(ip, 0, sizeof(*ip));
	memcpy(f, "\x52\x55\x0a\x00\x02\x02", 6);
	memcpy(f + 6, guest_mac, 6);
	f[12] = 0x08;
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons((uint16_t)(28 + len));
	ip->id = htons(0x1234);
	ip->ttl = ttl;
	ip->protocol = IPPROTO_UDP;
	ip->saddr = a4(src).s_addr;
	ip->daddr = a4(dst).s_addr;
	ip->check = csum_ip4_header(ip, 20);
	memcpy(f + 14, ip, 20);
	u[0] = (uint8_t)(sport >> 8);
	u[1] = (uint8_t)sport;
	u[2] = (uint8_t)(dport >> 8);
	u[3] = (uint8_t)dport;
	u[4] = (uint8_t)((8 + len) >> 8);
	u[5] = (uint8_t)(8 + len);
	memcpy(u + 8, data, len);
	if (csum_mode != 1) {
		c = csum_fold(csum_partial(u, 8 + len, csum_pseudo4(a4(src), a4(dst), IPPROTO_UDP,
								    (uint16_t)(8 + len))));
		if (!c)
			c = 0xffff;
		if (csum_mode == 2)
			c ^= 0x0101;
		memcpy(u + 6, &c, 2);
	}
	return 34 + 8 + len;
}

static void guest_send(struct sink *k, const uint8_t *f, size_t len)
{
	sink_input(k, f, len);
}

/* pump() - run the loop until the sink holds @want frames or @ms pass */
static void pump(struct sink *k, int want, int ms)
{
	uint64_t end = sink_real_ms() + (uint64_t)ms;

	while (k->n < want && sink_real_ms() < end)
		sink_poll(k, 10);
}

static int udp_server(uint16_t *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t l = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(*port);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof(one));
	getsockname(fd, (struct sockaddr *)&sin, &l);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* server_recv() - wait (pumping the loop) for a datagram; returns its length or -1 */
static ssize_t server_recv(int fd, void *buf, size_t cap, struct sockaddr_in *from, int *ttl)
{
	char ctrl[128];
	struct iovec iov = { buf, cap };
	struct msghdr m = { .msg_name = from, .msg_namelen = sizeof(*from), .msg_iov = &iov,
			    .msg_iovlen = 1, .msg_control = ctrl, .msg_controllen = sizeof(ctrl) };

	for (int i = 0; i < 50; i++) {
		ssize_t r = recvmsg(fd, &m, MSG_DONTWAIT);

		if (r >= 0) {
			for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c && ttl; c = CMSG_NXTHDR(&m, c))
				if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL)
					memcpy(ttl, CMSG_DATA(c), sizeof(int));
			return r;
		}
		if (cur) {
			sink_poll(cur, 10);
		} else {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			poll(&p, 1, 10);
		}
	}
	return -1;
}

/* f_ip() - the IP header of a captured frame (copied: frames are not aligned for it) */
static const struct iphdr *f_ip(const uint8_t *f)
{
	static struct iphdr h;

	memcpy(&h, f + 14, sizeof(h));
	return &h;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* udp_ok() - frame @i is valid IPv4/UDP with good checksums, src:sport -> dst:dport */
static bool udp_ok(const struct sink *k, int i, const char *src, uint16_t sport, const char *dst,
		   uint16_t dport)
{
	const uint8_t *f = k->f[i];
	const struct iphdr *ip = f_ip(f);
	const uint8_t *u = f + 34;
	uint16_t ulen;

	if (i >= k->n || k->len[i] < 42 || f[12] != 0x08 || f[13] != 0 ||
	    ip->protocol != IPPROTO_UDP || csum_ip4_header(f + 14, 20) != 0)
		return false;
	ulen = be16(u + 4);
	if (ip->saddr != a4(src).s_addr || ip->daddr != a4(dst).s_addr || be16(u) != sport ||
	    be16(u + 2) != dport || ulen + 20u != ntohs(ip->tot_len))
		return false;
	return csum_fold(csum_partial(u, ulen, csum_pseudo4((struct in_addr){ ip->saddr },
							     (struct in_addr){ ip->daddr },
							     IPPROTO_UDP, ulen))) == 0 &&
	       memcmp(f, guest_mac, 6) == 0;
}

/* icmp_err_ok() - frame @i is ICMP @type/@code from @src quoting a UDP datagram to @qdport */
static bool icmp_err_ok(const struct sink *k, int i, uint8_t type, uint8_t code, const char *src,
			uint16_t qsport, uint16_t qdport)
{
	const uint8_t *f = k->f[i];
	const struct iphdr *ip = f_ip(f);
	const uint8_t *ic = f + 34, *q = ic + 8;

	if (i >= k->n || k->len[i] < 34 + 8 + 28 || ip->protocol != IPPROTO_ICMP)
		return false;
	if (ip->saddr != a4(src).s_addr || ip->daddr != a4("10.0.2.15").s_addr)
		return false;
	if (ic[0] != type || ic[1] != code ||
	    csum_fold(csum_partial(ic, ntohs(ip->tot_len) - 20u, 0)) != 0)
		return false;
	return q[0] == 0x45 && q[9] == IPPROTO_UDP && !memcmp(q + 12, "\x0a\x00\x02\x0f", 4) &&
	       be16(q + 20) == qsport && be16(q + 22) == qdport;
}

static void test_loopback_echo(void)
{
	struct sink *k;
	struct user_stack *s = user_new("u1", "resolv-conf=/nonexistent", &k);
	uint8_t fb[2050] __attribute__((aligned(8))), *f = fb + 2, buf[256];
	uint16_t port = 0, port2 = 0;
	int srv = udp_server(&port), srv2 = udp_server(&port2), ttl = -1;
	struct sockaddr_in from;
	struct sbuf info = { 0 };
	ssize_t r;

	CHECK(s && srv >= 0 && srv2 >= 0);
	if (!s)
		return;
	guest_send(k, f, guest_udp(f, "10.0.2.15", "10.0.2.2", 5000, port, "hello", 5, 64, 0));
	r = server_recv(srv, buf, sizeof(buf), &from, &ttl);
	CHECK(r == 5 && !memcmp(buf, "hello", 5));
	CHECK(from.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	CHECK(ttl == 63);	/* the guest's TTL minus one */
	CHECK(s->udp.nflows == 1);

	sendto(srv, "world", 5, 0, (struct sockaddr *)&from, sizeof(from));
	pump(k, 1, 1000);
	CHECK(k->n == 1);
	CHECK(udp_ok(k, 0, "10.0.2.2", port, "10.0.2.15", 5000));
	CHECK(k->len[0] >= 47 && !memcmp(k->f[0] + 42, "world", 5));

	/* full cone: another host port reaches the guest through the same flow */
	sendto(srv2, "cone", 4, 0, (struct sockaddr *)&from, sizeof(from));
	pump(k, 2, 1000);
	CHECK(k->n == 2 && udp_ok(k, 1, "10.0.2.2", port2, "10.0.2.15", 5000));
	CHECK(s->udp.nflows == 1);

	/* a second datagram from the same guest port reuses the socket */
	guest_send(k, f, guest_udp(f, "10.0.2.15", "10.0.2.2", 5000, port2, "again", 5, 3, 1));
	r = server_recv(srv2, buf, sizeof(buf), &from, &ttl);
	CHECK(r == 5 && ttl == 2);	/* zero checksum accepted, TTL follows the guest */
	CHECK(s->udp.nflows == 1);

	udp_info_usernet(s, &info);
	CHECK(strstr(sbuf_str(&info), "  UDP[239 sec]") || strstr(sbuf_str(&info), "  UDP[240 sec]"));
	CHECK(strstr(sbuf_str(&info), "       10.0.2.15  5000        10.0.2.2 ") != NULL);
	sbuf_free(&info);

	/* expiry: 240 s after the last use */
	sink_advance(k, 200000);
	CHECK(s->udp.nflows == 1);
	sink_advance(k, 41000);
	CHECK(s->udp.nflows == 0);
	close(srv);
	close(srv2);
	user_free(k);
}

/* test_two_stacks() - two stacks in one process, same guest tuple: each flow answers its own guest */
static void test_two_stacks(void)
{
	struct sink *ka, *kb;
	struct user_stack *sa = user_new("ua", "resolv-conf=/nonexistent", &ka);
	struct user_stack *sb = user_new("ub", "resolv-conf=/nonexistent", &kb);
	uint8_t fb[2050] __attribute__((aligned(8))), *f = fb + 2, buf[64];
	uint16_t port = 0;
	int srv = udp_server(&port);
	struct sockaddr_in from_a, from_b;

	CHECK(sa && sb && srv >= 0);
	if (!sa || !sb) {
		sink_free(ka);
		sink_free(kb);
		cur = NULL;
		return;
	}
	cur = NULL;	/* server_recv() needs no pumping: guest input is sent at once */
	guest_send(ka, f, guest_udp(f, "10.0.2.15", "10.0.2.2", 5000, port, "from-a", 6, 64, 0));
	CHECK(server_recv(srv, buf, sizeof(buf), &from_a, NULL) == 6 && !memcmp(buf, "from-a", 6));
	guest_send(kb, f, guest_udp(f, "10.0.2.15", "10.0.2.2", 5000, port, "from-b", 6, 64, 0));
	CHECK(server_recv(srv, buf, sizeof(buf), &from_b, NULL) == 6 && !memcmp(buf, "from-b", 6));
	CHECK(from_a.sin_port != from_b.sin_port);	/* one host socket per stack's flow */
	CHECK(sa->udp.nflows == 1 && sb->udp.nflows == 1);
	sendto(srv, "to-b", 4, 0, (struct sockaddr *)&from_b, sizeof(from_b));
	sendto(srv, "to-a", 4, 0, (struct sockaddr *)&from_a, sizeof(from_a));
	for (uint64_t end = sink_real_ms() + 1000; (ka->n < 1 || kb->n < 1) && sink_real_ms() < end;) {
		sink_poll(ka, 5);
		sink_poll(kb, 5);
	}
	CHECK(ka->n == 1 && ka->len[0] >= 46 && !memcmp(ka->f[0] + 42, "to-a", 4));
	CHECK(kb->n == 1 && kb->len[0] >= 46 && !memcmp(kb->f[0] + 42, "to-b", 4));
	/* each flow expires on its own host's clock */
	sink_advance(ka, 241000);
	CHECK(sa->udp.nflows == 0 && sb->udp.nflows == 1);
	close(srv);
	sink_free(ka);
	sink_free(kb);
}

static void test_validation(void)
{
	struct sink *k;
	struct user_stack *s = user_new("u2", "resolv-conf=/nonexistent", &k);
	uint8_t fb[2050] __attribute__((aligned(8))), *f = fb + 2, buf[256];
	uint16_t port = 0;
	int srv = udp_server(&port);
	struct sockaddr_in from;
	uint64_t bad;
	size_t n;

	CHECK(s && srv >= 0);
	if (!s)
		return;
	bad = s->stats.bad_l4;
	/* bad non-zero checksum: dropped */
	guest_send(k, f, guest_udp(f, "10.0.2.15", "10.0.2.2", 5001, port, "bad", 3, 64, 2));
	CHECK(s->stats.bad_l4 == bad + 1);
	/* UDP length beyond the IP payload: dropped */
	n = guest_udp(f, "10.0.2.15", "10.0.2.2", 5001, port, "long", 4, 64, 1);
	f[34 + 5] = 20;
	guest_send(k, f, n);
	CHECK(s->stats.bad_l4 == bad + 2);
	/* UDP length below 8: dropped */
	f[34 + 5] = 7;
	guest_send(k, f, n);
	CHECK(s->stats.bad_l4 == bad + 3);
	/* a truncated header: dropped */
	guest_send(k, f, guest_udp(f, "10.0.2.15", "10.0.2.2", 5001, port, "", 0, 64, 1) - 4);
	CHECK(s->stats.bad_ip + s->stats.bad_l4 > bad + 3);
	CHECK(s->udp.nflows == 0);
	CHECK(server_recv(srv, buf, sizeof(buf), &from, NULL) < 0);

	/* UDP length shorter than the IP payload: trimmed */
	n = guest_udp(f, "10.0.2.15", "10.0.2.2", 5001, port, "trimmed!", 8, 64, 1);
	f[34 + 5] = 8 + 4;
	guest_send(k, f, n);
	CHECK(server_recv(srv, buf, sizeof(buf), &from, NULL) == 4 && !memcmp(buf, "trim", 4));

	/* source port 0 and a zero source are refused */
	guest_send(k, f, guest_udp(f, "10.0.2.15", "10.0.2.2", 0, port, "x", 1, 64, 1));
	guest_send(k, f, guest_udp(f, "0.0.0.0", "10.0.2.2", 99, port, "x", 1, 64, 1));
	CHECK(s->udp.nflows == 1);
	CHECK(server_recv(srv, buf, sizeof(buf), &from, NULL) < 0);
	close(srv);
	user_free(k);
}

static void test_ttl_and_errors(void)
{
	struct sink *k;
	struct user_stack *s = user_new("u3", "resolv-conf=/nonexistent", &k);
	uint8_t fb[2050] __attribute__((aligned(8))), *f = fb + 2, buf[256];
	uint16_t port = 0, closed = 0;
	int srv = udp_server(&port), tmp = udp_server(&closed);
	struct sockaddr_in from;

	CHECK(s && srv >= 0 && tmp >= 0);
	if (!s)
		return;
	close(tmp);	/* now nothing listens on 127.0.0.1:closed */

	/* TTL 1: time exceeded from the gateway, nothing sent */
	guest_send(k, f, guest_udp(f, "10.0.2.15", "10.0.2.2", 5002, port, "ttl", 3, 1, 0));
	CHECK(k->n == 1 && icmp_err_ok(k, 0, ICMP_TIME_EXCEEDED, 0, "10.0.2.2", 5002, port));
	CHECK(server_recv(srv, buf, sizeof(buf), &from, NULL) < 0);

	/* the host's port unreachable (IP_RECVERR) reaches the guest from 10.0.2.2 */
	guest_send(k, f, guest_udp(f, "10.0.2.15", "10.0.2.2", 5002, closed, "nobody", 6, 64, 0));
	pump(k, 2, 1000);
	CHECK(k->n == 2 && icmp_err_ok(k, 1, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, "10.0.2.2", 5002,
				       closed));
	/* the flow goes on working afterwards */
	guest_send(k, f, guest_udp(f, "10.0.2.15", "10.0.2.2", 5002, port, "still", 5, 64, 0));
	CHECK(server_recv(srv, buf, sizeof(buf), &from, NULL) == 5);
	/* and a second error right after is reported too */
	guest_send(k, f, guest_udp(f, "10.0.2.15", "10.0.2.2", 5002, closed, "nobody", 6, 64, 0));
	pump(k, 3, 1000);
	CHECK(k->n == 3 && icmp_err_ok(k, 2, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, "10.0.2.2", 5002,
				       closed));

	/* the DNS alias refuses ports other than 53: net unreachable */
	guest_send(k, f, guest_udp(f, "10.0.2.15", "10.0.2.3", 5003, 54, "q", 1, 64, 0));
	CHECK(k->n == 4 && icmp_err_ok(k, 3, ICMP_DEST_UNREACH, ICMP_NET_UNREACH, "10.0.2.2", 5003,
				       54));
	/* DNS with an unreadable resolver file: net unreachable too */
	guest_send(k, f, guest_udp(f, "10.0.2.15", "10.0.2.3", 5003, 53, "q", 1, 64, 0));
	CHECK(k->n == 5 && icmp_err_ok(k, 4, ICMP_DEST_UNREACH, ICMP_NET_UNREACH, "10.0.2.2", 5003,
				       53));
	/* no error about a broadcast */
	guest_send(k, f, guest_udp(f, "10.0.2.15", "255.255.255.255", 5004, port, "b", 1, 1, 0));
	CHECK(k->n == 5);
	close(srv);
	user_free(k);
}

static void test_broadcast(void)
{
	struct sink *k;
	struct user_stack *s = user_new("u4", "resolv-conf=/nonexistent", &k);
	uint8_t fb[2050] __attribute__((aligned(8))), *f = fb + 2, buf[256];
	uint16_t port = 0;
	int srv = udp_server(&port);
	struct sockaddr_in from;

	CHECK(s && srv >= 0);
	if (!s)
		return;
	/* a broadcast other than DHCP goes to the host's loopback */
	guest_send(k, f, guest_udp(f, "10.0.2.15", "255.255.255.255", 5005, port, "bc", 2, 64, 0));
	CHECK(server_recv(srv, buf, sizeof(buf), &from, NULL) == 2);
	sendto(srv, "re", 2, 0, (struct sockaddr *)&from, sizeof(from));
	pump(k, 1, 1000);
	/* the reply appears from the gateway */
	CHECK(k->n == 1 && udp_ok(k, 0, "10.0.2.2", port, "10.0.2.15", 5005));
	close(srv);
	user_free(k);
}

static void test_dns(void)
{
	struct sink *k;
	struct user_stack *s;
	uint8_t fb[2050] __attribute__((aligned(8))), *f = fb + 2, buf[256];
	uint16_t port = 53;
	int srv = udp_server(&port);
	struct sockaddr_in from;
	struct sbuf info = { 0 };
	char spec[128];

	if (srv < 0) {
		printf("skip test_dns: cannot bind 127.0.0.1:53 (%s)\n", strerror(errno));
		return;
	}
	snprintf(spec, sizeof(spec), "resolv-conf=%s", resolv_path);
	s = user_new("u5", spec, &k);
	CHECK(s != NULL);
	if (!s) {
		close(srv);
		return;
	}
	guest_send(k, f, guest_udp(f, "10.0.2.15", "10.0.2.3", 5006, 53, "query", 5, 64, 0));
	CHECK(server_recv(srv, buf, sizeof(buf), &from, NULL) == 5 && !memcmp(buf, "query", 5));
	sendto(srv, "answer", 6, 0, (struct sockaddr *)&from, sizeof(from));
	pump(k, 1, 1000);
	/* the resolver's reply appears from the DNS alias */
	CHECK(k->n == 1 && udp_ok(k, 0, "10.0.2.3", 53, "10.0.2.15", 5006));
	/* a flow that got a reply from port 53 expires after 10 s */
	udp_info_usernet(s, &info);
	CHECK(strstr(sbuf_str(&info), "  UDP[9 sec]") || strstr(sbuf_str(&info), "  UDP[10 sec]"));
	CHECK(strstr(sbuf_str(&info), "10.0.2.3    53") != NULL);
	sbuf_free(&info);
	sink_advance(k, 9000);
	CHECK(s->udp.nflows == 1);
	sink_advance(k, 1500);
	CHECK(s->udp.nflows == 0);
	user_free(k);

	/* restrict=on drops DNS as libslirp does */
	snprintf(spec, sizeof(spec), "resolv-conf=%s,restrict=on", resolv_path);
	s = user_new("u6", spec, &k);
	CHECK(s != NULL);
	if (s) {
		guest_send(k, f, guest_udp(f, "10.0.2.15", "10.0.2.3", 5006, 53, "query", 5, 64, 0));
		guest_send(k, f, guest_udp(f, "10.0.2.15", "10.0.2.2", 5006, 53, "query", 5, 64, 0));
		CHECK(s->stats.restricted == 2 && s->udp.nflows == 0);
		CHECK(server_recv(srv, buf, sizeof(buf), &from, NULL) < 0);
		user_free(k);
	}
	close(srv);
}

static void test_hostfwd(void)
{
	struct sink *k;
	struct user_stack *s = user_new("u7", "resolv-conf=/nonexistent,"
				       "hostfwd=udp:127.0.0.1:0-10.0.2.15:7777", &k);
	struct sockaddr_in to = { .sin_family = AF_INET }, from;
	uint8_t fb[2050] __attribute__((aligned(8))), *f = fb + 2, buf[256];
	uint16_t cport = 0;
	int cli = udp_server(&cport);
	struct hostfwd *hf;

	CHECK(s && cli >= 0);
	if (!s)
		return;
	hf = s->fwd.hostfwd;
	CHECK(hf && hf->udp && hf->hport);
	if (!hf)
		goto out;
	/* learn the guest's MAC first (frames to an unknown MAC wait for ARP) */
	guest_send(k, f, guest_udp(f, "10.0.2.15", "10.0.2.2", 9, 9, "", 0, 1, 0));
	k->n = 0;

	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	to.sin_port = htons(hf->hport);
	sendto(cli, "ping", 4, 0, (struct sockaddr *)&to, sizeof(to));
	pump(k, 1, 1000);
	/* to the guest from the gateway (loopback sender) and the sender's port */
	CHECK(k->n == 1 && udp_ok(k, 0, "10.0.2.2", cport, "10.0.2.15", 7777));
	CHECK(k->len[0] >= 46 && !memcmp(k->f[0] + 42, "ping", 4));
	/* the guest's reply goes back through the hostfwd socket */
	guest_send(k, f, guest_udp(f, "10.0.2.15", "10.0.2.2", 7777, cport, "pong", 4, 64, 0));
	CHECK(server_recv(cli, buf, sizeof(buf), &from, NULL) == 4 && !memcmp(buf, "pong", 4));
	CHECK(from.sin_port == htons(hf->hport));
	CHECK(s->udp.nflows == 1);
	/* removing the rule drops its flows */
	udp_hostfwd_removed(s, hf);
	CHECK(s->udp.nflows == 0);
out:
	close(cli);
	user_free(k);
}

static void test_guest_busy(void)
{
	struct sink *k;
	struct user_stack *s = user_new("u8", "resolv-conf=/nonexistent", &k);
	uint8_t fb[2050] __attribute__((aligned(8))), *f = fb + 2, buf[64];
	uint16_t port = 0;
	int srv = udp_server(&port);
	struct sockaddr_in from;

	CHECK(s && srv >= 0);
	if (!s)
		return;
	guest_send(k, f, guest_udp(f, "10.0.2.15", "10.0.2.2", 5010, port, "go", 2, 64, 0));
	CHECK(server_recv(srv, buf, sizeof(buf), &from, NULL) == 2);
	k->blocked = true;
	for (int i = 0; i < 40; i++)
		sendto(srv, buf, 10, 0, (struct sockaddr *)&from, sizeof(from));
	for (int i = 0; i < 20; i++)
		sink_poll(k, 10);
	/* the first frame was queued: the flow stopped reading, the rest waits in the socket */
	CHECK(s->guest_busy);
	CHECK(s->udp.npaused == 1);
	CHECK(k->nq < 40);
	sink_unblock(k);
	CHECK(!s->guest_busy && s->udp.npaused == 0);
	pump(k, 40, 1000);
	CHECK(k->n == 40);
	close(srv);
	user_free(k);
}

static void test_table_bound(void)
{
	struct sink *k;
	struct user_stack *s;
	struct rlimit rl;
	uint8_t fb[258] __attribute__((aligned(8))), *f = fb + 2;
	uint16_t port = 0;
	int srv = udp_server(&port);

	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < UDP_FLOWS_MAX + 64) {
		rl.rlim_cur = MIN(rl.rlim_max, (rlim_t)UDP_FLOWS_MAX + 256);
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < UDP_FLOWS_MAX + 64) {
		printf("skip test_table_bound: RLIMIT_NOFILE %lu\n", (unsigned long)rl.rlim_cur);
		close(srv);
		return;
	}
	s = user_new("u9", "resolv-conf=/nonexistent", &k);
	CHECK(s && srv >= 0);
	if (!s)
		return;
	for (unsigned i = 0; i <= UDP_FLOWS_MAX; i++)
		guest_send(k, f, guest_udp(f, "10.0.2.15", "10.0.2.2", (uint16_t)(10000 + i), port,
					   "x", 1, 64, 0));
	CHECK(s->udp.nflows == UDP_FLOWS_MAX);
	CHECK(s->udp.stats_evicted == 1);
	/* the oldest (port 10000) went, the newest is there, lookups still work */
	guest_send(k, f, guest_udp(f, "10.0.2.15", "10.0.2.2", 10000 + UDP_FLOWS_MAX, port, "x", 1,
				   64, 0));
	CHECK(s->udp.stats_evicted == 1);
	guest_send(k, f, guest_udp(f, "10.0.2.15", "10.0.2.2", 10000, port, "x", 1, 64, 0));
	CHECK(s->udp.stats_evicted == 2 && s->udp.nflows == UDP_FLOWS_MAX);
	sink_advance(k, UDP_EXPIRE_MS);
	CHECK(s->udp.nflows == 0);
	close(srv);
	user_free(k);
}

/* enter_netns() - a private network namespace with loopback up (root only) */
static bool enter_netns(void)
{
	struct ifreq ifr = { 0 };
	int fd;

	if (unshare(CLONE_NEWNET) < 0)
		return false;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return false;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		return false;
	close(fd);
	return true;
}

int main(void)
{
	int fd;

	in_netns = enter_netns();
	printf("# %s\n", in_netns ? "in a private network namespace" : "in the host namespace");
	snprintf(resolv_path, sizeof(resolv_path), "/tmp/qnet-test-udp-%d.conf", (int)getpid());
	fd = open(resolv_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		if (write(fd, "nameserver 127.0.0.1\n", 21) != 21)
			perror("write");
		close(fd);
	}
	RUN(test_loopback_echo);
	RUN(test_two_stacks);
	RUN(test_validation);
	RUN(test_ttl_and_errors);
	RUN(test_broadcast);
	RUN(test_dns);
	RUN(test_hostfwd);
	RUN(test_guest_busy);
	RUN(test_table_bound);
	unlink(resolv_path);
	TEST_DONE();
}
