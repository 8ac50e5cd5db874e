// SPDX-License-Identifier: MIT
// test_icmp.c - ICMP of the user stack: local echo, ping sockets, raw fallback, errors, expiry

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stack/csum.h"
#include "stack/stack.h"
#include "sink.h"
#include "test.h"

/*
 * Pings go to 127.0.0.1 only (and, inside the private network namespace the
 * test creates when it runs as root, to an address without a route there).
 * In that namespace net.ipv4.ping_group_range is set to test both the ping
 * socket and the raw socket fallback.
 */

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static bool in_netns;

/* user_new() - a stack with @spec's options and its test host (sink.h) */
static struct user_stack *user_new(const char *id, const char *spec, struct sink **k)
{
	struct error e = { 0 };

	*k = sink_new(id, spec, &e);
	if (!*k) {
		fprintf(stderr, "  user stack '%s': %s\n", spec, e.msg);
		return NULL;
	}
	return (*k)->s;
}

static struct in_addr a4(const char *s)
{
	struct in_addr a;

	inet_aton(s, &a);
	return a;
}

/* guest_icmp() - an ICMP message from the guest (type, id, seq, payload) */
static size_t guest_icmp(uint8_t *f, const char *src, const char *dst, uint8_t type, uint16_t id,
			 uint16_t seq, const void *data, size_t len, uint8_t ttl, bool bad_csum)
{
	struct iphdr iph = { 0 };
	uint8_t *m = f + 34;
	uint16_t c;

	memset(f, 0, 34 + 8);
	memcpy(f, "\x52\x55\x0a\x00\x02\x02", 6);
	memcpy(f + 6, guest_mac, 6);
	f[12] = 0x08;
	iph.version = 4;
	iph.ihl = 5;
	iph.tot_len = htons((uint16_t)(28 + len));
	iph.id = htons(0x4321);
	iph.ttl = ttl;
	iph.protocol = IPPROTO_ICMP;
	iph.saddr = a4(src).s_addr;
	iph.daddr = a4(dst).s_addr;
	iph.check = csum_ip4_header(&iph, 20);
	memcpy(f + 14, &iph, 20);
	m[0] = type;
	m[4] = (uint8_t)(id >> 8);
	m[5] = (uint8_t)id;
	m[6] = (uint8_t)(seq >> 8);
	m[7] = (uint8_t)seq;
	memcpy(m + 8, data, len);
	c = csum_fold(csum_partial(m, 8 + len, 0));
	if (bad_csum)
		c ^= 0x0101;
	memcpy(m + 2, &c, 2);
	return 34 + 8 + len;
}

static void guest_send(struct sink *k, const uint8_t *f, size_t len)
{
	sink_input(k, f, len);
}

static void pump(struct sink *k, int want, int ms)
{
	uint64_t end = sink_real_ms() + (uint64_t)ms;

	while (k->n < want && sink_real_ms() < end)
		sink_poll(k, 10);
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* icmp_at() - frame @i is a valid IPv4/ICMP message from @src to 10.0.2.15; its ICMP part */
static const uint8_t *icmp_at(const struct sink *k, int i, const char *src, size_t *len)
{
	const uint8_t *f = k->f[i];
	struct iphdr ip;

	if (i >= k->n || k->len[i] < 42)
		return NULL;
	memcpy(&ip, f + 14, 20);
	if (f[12] != 0x08 || ip.protocol != IPPROTO_ICMP || csum_ip4_header(f + 14, 20) != 0 ||
	    ip.saddr != a4(src).s_addr || ip.daddr != a4("10.0.2.15").s_addr ||
	    memcmp(f, guest_mac, 6))
		return NULL;
	*len = ntohs(ip.tot_len) - 20u;
	if (14 + 20 + *len > k->len[i] || csum_fold(csum_partial(f + 34, *len, 0)) != 0)
		return NULL;
	return f + 34;
}

/* echo_reply_ok() - frame @i answers echo @id/@seq with @data, from @src */
static bool echo_reply_ok(const struct sink *k, int i, const char *src, uint16_t id, uint16_t seq,
			  const void *data, size_t dlen)
{
	size_t len;
	const uint8_t *m = icmp_at(k, i, src, &len);

	return m && m[0] == ICMP_ECHOREPLY && m[1] == 0 && be16(m + 4) == id &&
	       be16(m + 6) == seq && len == 8 + dlen && !memcmp(m + 8, data, dlen);
}

/* error_ok() - frame @i is ICMP @type/@code from @src quoting an echo with @id to @qdst */
static bool error_ok(const struct sink *k, int i, uint8_t type, uint8_t code, const char *src,
		     const char *qdst, uint16_t id)
{
	size_t len;
	const uint8_t *m = icmp_at(k, i, src, &len), *q;

	if (!m || len < 8 + 28 || m[0] != type || m[1] != code)
		return false;
	q = m + 8;
	return q[0] == 0x45 && q[9] == IPPROTO_ICMP && !memcmp(q + 12, "\x0a\x00\x02\x0f", 4) &&
	       !memcmp(q + 16, &(struct in_addr){ a4(qdst).s_addr }, 4) && q[20] == ICMP_ECHO &&
	       be16(q + 24) == id;
}

static const char payload[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRST";

static void test_local_echo(void)
{
	struct sink *k;
	struct user_stack *s = user_new("i1", "resolv-conf=/nonexistent", &k);
	uint8_t fb[2050] __attribute__((aligned(8))), *f = fb + 2;
	uint64_t bad;

	CHECK(s != NULL);
	if (!s)
		return;
	guest_send(k, f, guest_icmp(f, "10.0.2.15", "10.0.2.2", ICMP_ECHO, 0x1234, 1, payload, 56,
				    64, false));
	CHECK(k->n == 1 && echo_reply_ok(k, 0, "10.0.2.2", 0x1234, 1, payload, 56));
	guest_send(k, f, guest_icmp(f, "10.0.2.15", "10.0.2.3", ICMP_ECHO, 0x1234, 2, payload, 7,
				    1, false));
	CHECK(k->n == 2 && echo_reply_ok(k, 1, "10.0.2.3", 0x1234, 2, payload, 7));
	/* an empty echo (header only) */
	guest_send(k, f, guest_icmp(f, "10.0.2.15", "10.0.2.2", ICMP_ECHO, 7, 3, "", 0, 64, false));
	CHECK(k->n == 3 && echo_reply_ok(k, 2, "10.0.2.2", 7, 3, "", 0));

	/* bad checksum and short messages are dropped and counted */
	bad = s->stats.bad_l4;
	guest_send(k, f, guest_icmp(f, "10.0.2.15", "10.0.2.2", ICMP_ECHO, 1, 1, payload, 8, 64,
				    true));
	CHECK(k->n == 3 && s->stats.bad_l4 == bad + 1);
	{
		size_t n = guest_icmp(f, "10.0.2.15", "10.0.2.2", ICMP_ECHO, 1, 1, "", 0, 64, false);
		struct iphdr iph;

		memcpy(&iph, f + 14, 20);
		iph.tot_len = htons(24);
		iph.check = 0;
		iph.check = csum_ip4_header(&iph, 20);
		memcpy(f + 14, &iph, 20);
		guest_send(k, f, n - 4);
	}
	CHECK(k->n == 3 && s->stats.bad_l4 == bad + 2);
	/* other types from the guest are dropped */
	guest_send(k, f, guest_icmp(f, "10.0.2.15", "10.0.2.2", ICMP_ECHOREPLY, 1, 1, "", 0, 64,
				    false));
	guest_send(k, f, guest_icmp(f, "10.0.2.15", "127.0.0.1", ICMP_TIMESTAMP, 1, 1, payload, 12,
				    64, false));
	CHECK(k->n == 3 && s->icmp.nflows == 0);
	/* echo to a broadcast is not answered */
	guest_send(k, f, guest_icmp(f, "10.0.2.15", "255.255.255.255", ICMP_ECHO, 1, 1, "", 0, 64,
				    false));
	guest_send(k, f, guest_icmp(f, "10.0.2.15", "10.0.2.255", ICMP_ECHO, 1, 1, "", 0, 64,
				    false));
	CHECK(k->n == 3 && s->icmp.nflows == 0);
	sink_free(k);
}

static bool set_ping_range(const char *v)
{
	int fd = open("/proc/sys/net/ipv4/ping_group_range", O_WRONLY | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, v, strlen(v)) == (ssize_t)strlen(v);
	close(fd);
	return ok;
}

/* ping_loopback() - ping 127.0.0.1 through a new stack; false if no ICMP socket could be opened */
static void ping_loopback(const char *id)
{
	struct sink *k;
	struct user_stack *s = user_new(id, "resolv-conf=/nonexistent", &k);
	uint8_t fb[2050] __attribute__((aligned(8))), *f = fb + 2;
	struct sbuf info = { 0 };

	CHECK(s != NULL);
	if (!s)
		return;
	guest_send(k, f, guest_icmp(f, "10.0.2.15", "127.0.0.1", ICMP_ECHO, 0xbeef, 1, payload, 56,
				    64, false));
	if (!s->icmp.nflows) {
		printf("skip %s: no ICMP socket (not root, ping_group_range closed)\n", id);
		goto out;
	}
	pump(k, 1, 2000);
	/* the reply carries the guest's id; a guest that addressed 127.0.0.1 itself (outside
	 * the virtual network) sees it answer, as libslirp does */
	CHECK(k->n == 1 && echo_reply_ok(k, 0, "127.0.0.1", 0xbeef, 1, payload, 56));
	guest_send(k, f, guest_icmp(f, "10.0.2.15", "127.0.0.1", ICMP_ECHO, 0xbeef, 2, payload, 20,
				    64, false));
	pump(k, 2, 2000);
	CHECK(k->n == 2 && echo_reply_ok(k, 1, "127.0.0.1", 0xbeef, 2, payload, 20));
	CHECK(s->icmp.nflows == 1 && s->icmp.stats_sent == 2);
	/* no duplicates (a raw socket also sees the request itself on loopback) */
	for (int i = 0; i < 10; i++)
		sink_poll(k, 5);
	CHECK(k->n == 2);

	icmp_info_usernet(s, &info);
	CHECK(strstr(sbuf_str(&info), "  ICMP[239 sec]") || strstr(sbuf_str(&info), "  ICMP[240 sec]"));
	CHECK(strstr(sbuf_str(&info), "       10.0.2.15  -          127.0.0.1  -        0     0\n"));
	sbuf_free(&info);

	/* TTL 1 on a forwarded echo: time exceeded from the gateway */
	guest_send(k, f, guest_icmp(f, "10.0.2.15", "127.0.0.1", ICMP_ECHO, 0xbeef, 3, payload, 8,
				    1, false));
	CHECK(k->n == 3 && error_ok(k, 2, ICMP_TIME_EXCEEDED, 0, "10.0.2.2", "127.0.0.1", 0xbeef));

	sink_advance(k, ICMP_EXPIRE_MS - 5000);
	CHECK(s->icmp.nflows == 1);
	sink_advance(k, 6000);
	CHECK(s->icmp.nflows == 0);
out:
	sink_free(k);
}

static void test_ping_socket(void)
{
	if (in_netns)
		CHECK(set_ping_range("0 2147483647"));
	ping_loopback("i2");
}

static void test_raw_fallback(void)
{
	if (!in_netns) {
		printf("skip test_raw_fallback: needs a private network namespace\n");
		return;
	}
	CHECK(set_ping_range("1 0"));
	ping_loopback("i3");
	set_ping_range("0 2147483647");
}

static void test_unreachable(void)
{
	struct sink *k;
	struct user_stack *s;
	uint8_t fb[2050] __attribute__((aligned(8))), *f = fb + 2;

	/* only inside our namespace: there 10.99.0.1 has no route at all */
	if (!in_netns) {
		printf("skip test_unreachable: needs a private network namespace\n");
		return;
	}
	s = user_new("i4", "resolv-conf=/nonexistent", &k);
	CHECK(s != NULL);
	if (!s)
		return;
	guest_send(k, f, guest_icmp(f, "10.0.2.15", "10.99.0.1", ICMP_ECHO, 0x77, 1, payload, 8, 64,
				    false));
	pump(k, 1, 500);
	CHECK(k->n == 1 && error_ok(k, 0, ICMP_DEST_UNREACH, ICMP_NET_UNREACH, "10.0.2.2",
				    "10.99.0.1", 0x77));
	sink_free(k);
}

static void test_restrict(void)
{
	struct sink *k;
	struct user_stack *s = user_new("i5", "resolv-conf=/nonexistent,restrict=on", &k);
	uint8_t fb[2050] __attribute__((aligned(8))), *f = fb + 2;

	CHECK(s != NULL);
	if (!s)
		return;
	guest_send(k, f, guest_icmp(f, "10.0.2.15", "127.0.0.1", ICMP_ECHO, 1, 1, "", 0, 64, false));
	CHECK(s->stats.restricted == 1 && s->icmp.nflows == 0 && k->n == 0);
	guest_send(k, f, guest_icmp(f, "10.0.2.15", "10.0.2.2", ICMP_ECHO, 1, 2, "", 0, 64, false));
	CHECK(k->n == 1 && echo_reply_ok(k, 0, "10.0.2.2", 1, 2, "", 0));
	sink_free(k);
}

/* orig_pkt() - an IPv4 packet from the guest as icmp4_error() sees it */
static size_t orig_pkt(uint8_t *p, size_t len, uint8_t proto, const char *dst, uint16_t frag,
		       uint8_t l4type)
{
	struct iphdr iph = { 0 };

	memset(p, 0xab, len);
	iph.version = 4;
	iph.ihl = 5;
	iph.tot_len = htons((uint16_t)len);
	iph.frag_off = htons(frag);
	iph.ttl = 64;
	iph.protocol = proto;
	iph.saddr = a4("10.0.2.15").s_addr;
	iph.daddr = a4(dst).s_addr;
	iph.check = csum_ip4_header(&iph, 20);
	memcpy(p, &iph, 20);
	p[20] = l4type;
	return len;
}

static void test_error_rules(void)
{
	struct sink *k;
	struct user_stack *s = user_new("i6", "resolv-conf=/nonexistent", &k);
	uint8_t fb[2050] __attribute__((aligned(8))), *f = fb + 2, p[1500];
	size_t len;
	const uint8_t *m;

	CHECK(s != NULL);
	if (!s)
		return;
	/* the guest's MAC */
	guest_send(k, f, guest_icmp(f, "10.0.2.15", "10.0.2.2", ICMP_ECHO, 1, 1, "", 0, 64, false));
	k->n = 0;
	/* a big UDP datagram: quoted up to 576 bytes in all (RFC 1812) */
	icmp4_error(s, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH,
		    p, orig_pkt(p, 1000, IPPROTO_UDP, "10.0.2.2", 0, 0), a4("10.0.2.2"));
	CHECK(k->n == 1);
	m = icmp_at(k, 0, "10.0.2.2", &len);
	CHECK(m && m[0] == 3 && m[1] == 3 && len == 576 - 20 && !memcmp(m + 8, p, len - 8));
	/* a short one is quoted whole */
	icmp4_error(s, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, p,
		    orig_pkt(p, 30, IPPROTO_UDP, "10.0.2.2", 0, 0), a4("10.0.2.2"));
	CHECK(k->n == 2 && (m = icmp_at(k, 1, "10.0.2.2", &len)) && len == 38);
	/* about an echo request: yes */
	icmp4_error(s, ICMP_TIME_EXCEEDED, 0, p,
		    orig_pkt(p, 64, IPPROTO_ICMP, "127.0.0.1", 0, ICMP_ECHO), a4("10.0.2.2"));
	CHECK(k->n == 3);
	/* never about ICMP errors, non-first fragments, broadcasts, multicasts, junk */
	icmp4_error(s, ICMP_DEST_UNREACH, 1, p,
		    orig_pkt(p, 64, IPPROTO_ICMP, "127.0.0.1", 0, ICMP_DEST_UNREACH), a4("10.0.2.2"));
	icmp4_error(s, ICMP_DEST_UNREACH, 1, p,
		    orig_pkt(p, 64, IPPROTO_ICMP, "127.0.0.1", 0, ICMP_TIME_EXCEEDED), a4("10.0.2.2"));
	icmp4_error(s, ICMP_DEST_UNREACH, 1, p,
		    orig_pkt(p, 64, IPPROTO_UDP, "127.0.0.1", 10, 0), a4("10.0.2.2"));
	icmp4_error(s, ICMP_DEST_UNREACH, 1, p,
		    orig_pkt(p, 64, IPPROTO_UDP, "255.255.255.255", 0, 0), a4("10.0.2.2"));
	icmp4_error(s, ICMP_DEST_UNREACH, 1, p,
		    orig_pkt(p, 64, IPPROTO_UDP, "10.0.2.255", 0, 0), a4("10.0.2.2"));
	icmp4_error(s, ICMP_DEST_UNREACH, 1, p,
		    orig_pkt(p, 64, IPPROTO_UDP, "239.1.2.3", 0, 0), a4("10.0.2.2"));
	icmp4_error(s, ICMP_DEST_UNREACH, 1, p, 19, a4("10.0.2.2"));
	icmp4_error(s, ICMP_DEST_UNREACH, 1, p, orig_pkt(p, 20, IPPROTO_ICMP, "127.0.0.1", 0, 0),
		    a4("10.0.2.2"));
	p[0] = 0x4f;	/* header longer than the packet */
	icmp4_error(s, ICMP_DEST_UNREACH, 1, p, 40, a4("10.0.2.2"));
	CHECK(k->n == 3);
	sink_free(k);
}

static void test_table_bound(void)
{
	struct sink *k;
	struct user_stack *s = user_new("i7", "resolv-conf=/nonexistent", &k);
	uint8_t fb[2050] __attribute__((aligned(8))), *f = fb + 2;

	CHECK(s != NULL);
	if (!s)
		return;
	for (unsigned i = 0; i <= ICMP_FLOWS_MAX; i++)
		guest_send(k, f, guest_icmp(f, "10.0.2.15", "127.0.0.1", ICMP_ECHO, (uint16_t)i, 1,
					    "", 0, 64, false));
	if (s->icmp.nflows)
		CHECK(s->icmp.nflows == ICMP_FLOWS_MAX);
	sink_advance(k, ICMP_EXPIRE_MS);
	CHECK(s->icmp.nflows == 0);
	sink_free(k);
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
	in_netns = enter_netns();
	printf("# %s\n", in_netns ? "in a private network namespace" : "in the host namespace");
	RUN(test_local_echo);
	RUN(test_ping_socket);
	RUN(test_raw_fallback);
	RUN(test_unreachable);
	RUN(test_restrict);
	RUN(test_error_rules);
	RUN(test_table_bound);
	TEST_DONE();
}
