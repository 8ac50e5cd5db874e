// SPDX-License-Identifier: MIT
// test_ip6.c - IPv6 of the user stack: options, NDP (RS/RA, NS/NA), echo, extension headers, drops

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "core/wire.h"
#include "stack/csum.h"
#include "stack/stack.h"
#include "sink.h"
#include "test.h"

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
#define GUEST_LL "fe80::5054:ff:fe12:3456"
#define GUEST_GL "fec0::5054:ff:fe12:3456"

static struct in6_addr a6(const char *s)
{
	struct in6_addr a;

	inet_pton(AF_INET6, s, &a);
	return a;
}

static struct sink *new_sink(const char *spec)
{
	struct error e = { 0 };
	struct sink *k = sink_new("v6", spec, &e);

	if (!k)
		fprintf(stderr, "  user stack '%s': %s\n", spec, e.msg);
	return k;
}

/* cfg_err() - the error of a stack config from @spec, or "(created)" */
static const char *cfg_err(const char *spec)
{
	static struct error e;
	struct sink *k;

	memset(&e, 0, sizeof(e));
	k = sink_new("x", spec, &e);
	if (k) {
		sink_free(k);
		return "(created)";
	}
	return e.msg;
}

/*
 * frame6() - a guest frame: Ethernet, IPv6 (@nh, @hlim), then @pl (@plen bytes). With
 * @l4_off >= 0 the ICMPv6 message at @pl + @l4_off gets its checksum.
 */
static size_t frame6(uint8_t *f, const char *src, const char *dst, uint8_t nh, uint8_t hlim,
		     const uint8_t *pl, size_t plen, int l4_off)
{
	struct in6_addr s6 = a6(src), d6 = a6(dst);

	memset(f, 0, 54);
	memcpy(f, "\x52\x56\x00\x00\x00\x02", 6);
	memcpy(f + 6, guest_mac, 6);
	f[12] = 0x86;
	f[13] = 0xdd;
	f[14] = 0x60;
	f[18] = (uint8_t)(plen >> 8);
	f[19] = (uint8_t)plen;
	f[20] = nh;
	f[21] = hlim;
	memcpy(f + 22, &s6, 16);
	memcpy(f + 38, &d6, 16);
	memcpy(f + 54, pl, plen);
	if (l4_off >= 0) {
		uint8_t *m = f + 54 + l4_off;
		size_t len = plen - (size_t)l4_off;
		uint16_t c;

		m[2] = m[3] = 0;
		c = csum_fold(csum_partial(m, len, csum_pseudo6(&s6, &d6, 58, (uint32_t)len)));
		memcpy(m + 2, &c, 2);
	}
	return 54 + plen;
}

/* icmp6_at() - frame @i is a valid IPv6/ICMPv6 packet from @src to @dst; its message */
static const uint8_t *icmp6_at(const struct sink *k, int i, const char *src, const char *dst,
			       uint8_t hlim, size_t *len)
{
	const uint8_t *f = k->f[i];
	struct in6_addr s6 = a6(src), d6 = a6(dst);

	if (i >= k->n || k->len[i] < 58 || f[12] != 0x86 || f[13] != 0xdd || f[14] >> 4 != 6 ||
	    f[20] != 58 || f[21] != hlim || memcmp(f + 22, &s6, 16) || memcmp(f + 38, &d6, 16))
		return NULL;
	/* libslirp's MAC of the source: 52:56 + its last four bytes */
	if (f[6] != 0x52 || f[7] != 0x56 || memcmp(f + 8, f + 22 + 12, 4))
		return NULL;
	*len = (size_t)(f[18] << 8 | f[19]);
	if (54 + *len > k->len[i] ||
	    csum_fold(csum_partial(f + 54, *len, csum_pseudo6(&s6, &d6, 58, (uint32_t)*len))) != 0)
		return NULL;
	return f + 54;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* nd_opt() - the NDP option @type in @m (after @fixed bytes), or NULL */
static const uint8_t *nd_opt(const uint8_t *m, size_t len, size_t fixed, uint8_t type)
{
	for (size_t o = fixed; o + 2 <= len && m[o + 1]; o += (size_t)m[o + 1] * 8)
		if (m[o] == type && o + (size_t)m[o + 1] * 8 <= len)
			return m + o;
	return NULL;
}

static void test_options(void)
{
	struct sink *k = new_sink("ipv6-net=fd00:1:2::/48,ipv6-host=fd00:1:2::1");

	CHECK(k != NULL);
	if (k) {
		CHECK(!memcmp(&k->s->cfg.prefix6, &(struct in6_addr){ .s6_addr = { 0xfd, 0, 0, 1, 0, 2 } },
			      16));
		CHECK(k->s->cfg.prefixlen6 == 48);
		CHECK(!memcmp(&k->s->cfg.dns6, &(struct in6_addr){ .s6_addr = { 0xfd, 0, 0, 1, 0, 2,
							    [15] = 3 } }, 16));
		sink_free(k);
	}
	k = new_sink("");
	if (k) {
		struct in6_addr h = a6("fec0::2"), d = a6("fec0::3");

		CHECK(k->s->cfg.ipv6 && k->s->cfg.prefixlen6 == 64);
		CHECK(!memcmp(&k->s->cfg.host6, &h, 16) && !memcmp(&k->s->cfg.dns6, &d, 16));
		sink_free(k);
	}
	k = new_sink("ipv6-prefixlen=0");
	CHECK(k && k->s->cfg.prefixlen6 == 64);	/* QEMU: 0 means the default */
	sink_free(k);
	CHECK_STR(cfg_err("ipv6=off,ipv6-host=fec0::2"), "IPv6 disabled but prefix/host6/dns6 provided");
	CHECK_STR(cfg_err("ipv4=on,ipv6-prefix=fec0::"),
		  "IPv6 disabled but prefix/host6/dns6 provided");
	CHECK_STR(cfg_err("ipv6-prefix=zz"), "Failed to parse IPv6 prefix");
	CHECK_STR(cfg_err("ipv6-prefixlen=127"),
		  "Invalid IPv6 prefix provided (IPv6 prefix length must be between 0 and 126)");
	CHECK_STR(cfg_err("ipv6-host=zz"), "Failed to parse IPv6 host");
	CHECK_STR(cfg_err("ipv6-host=fec1::2"), "IPv6 Host doesn't belong to network");
	CHECK_STR(cfg_err("ipv6-dns=zz"), "Failed to parse IPv6 DNS");
	CHECK_STR(cfg_err("ipv6-dns=2001:db8::1"), "(created)");
	CHECK_STR(cfg_err("restrict=on,ipv6-dns=2001:db8::1"), "IPv6 DNS doesn't belong to network");
	CHECK_STR(cfg_err("ipv6-net=zz/64"), "Parameter 'ipv6-net' expects a valid IPv6 prefix");
	CHECK_STR(cfg_err("ipv6-net=fec0::/x"), "parameter 'ipv6-net' expects a number after '/'");
	CHECK_STR(cfg_err("ipv4=off,ipv6=off"), "IPv4 and IPv6 disabled");
}

/* rs() - a router solicitation from the guest's link-local address, with its MAC */
static size_t rs(uint8_t *f, uint8_t hlim, bool zero_len_opt)
{
	uint8_t m[16] = { WIRE_ND_ROUTER_SOLICIT, 0, 0, 0, 0, 0, 0, 0, WIRE_ND_OPT_SLLA, 1 };

	memcpy(m + 10, guest_mac, 6);
	if (zero_len_opt)
		m[9] = 0;
	return frame6(f, GUEST_LL, "ff02::2", 58, hlim, m, sizeof(m), 0);
}

static void test_router_advert(void)
{
	struct sink *k = new_sink("mtu=1400,dnssearch=example.org");
	uint8_t f[256];
	const uint8_t *m, *o;
	size_t len;

	CHECK(k != NULL);
	if (!k)
		return;
	CHECK(k->wake_ms == STACK_NO_DEADLINE);	/* no IPv6 guest yet: no RA timer */
	sink_input(k, f, rs(f, 255, false));
	CHECK(k->n == 1);
	m = icmp6_at(k, 0, "fe80::2", "ff02::1", 255, &len);
	CHECK(m != NULL);
	if (!m)
		goto out;
	CHECK(!memcmp(k->f[0], "\x33\x33\x00\x00\x00\x01", 6));
	CHECK(m[0] == WIRE_ND_ROUTER_ADVERT && m[1] == 0 && m[4] == 64 && m[5] == 0);
	CHECK(m[6] == 0x07 && m[7] == 0x08);	/* router lifetime 1800 */
	CHECK(be32(m + 8) == 0 && be32(m + 12) == 0);
	o = nd_opt(m, len, 16, WIRE_ND_OPT_SLLA);
	CHECK(o && !memcmp(o + 2, "\x52\x56\x00\x00\x00\x02", 6));
	o = nd_opt(m, len, 16, WIRE_ND_OPT_PREFIX);
	CHECK(o && o[1] == 4 && o[2] == 64 && o[3] == 0xc0);
	if (o) {
		struct in6_addr p = a6("fec0::");

		CHECK(be32(o + 4) == 86400 && be32(o + 8) == 14400 && !memcmp(o + 16, &p, 16));
	}
	o = nd_opt(m, len, 16, WIRE_ND_OPT_MTU);
	CHECK(o && be32(o + 4) == 1400);
	/* [ipv6-dns] serves DNS: RDNSS fec0::3 and DNSSL example.org, RFC 8106 */
	o = nd_opt(m, len, 16, WIRE_ND_OPT_RDNSS);
	CHECK(o && o[1] == 3 && be32(o + 4) == IP6_DNS_LIFETIME);
	if (o) {
		struct in6_addr d = a6("fec0::3");

		CHECK(!memcmp(o + 8, &d, 16));
	}
	o = m ? nd_opt(m, len, 16, WIRE_ND_OPT_DNSSL) : NULL;
	CHECK(o && o[1] == 3 && !memcmp(o + 8, "\x07" "example\x03org\0\0\0\0\0\0\0", 16));
	/* without DNS over IPv6 (an embedder may turn it off): neither option */
	k->s->ip6.dns_ready = false;
	ndp_send_ra(k->s);
	CHECK(k->n == 2);
	m = icmp6_at(k, 1, "fe80::2", "ff02::1", 255, &len);
	CHECK(m && !nd_opt(m, len, 16, WIRE_ND_OPT_RDNSS) && !nd_opt(m, len, 16, WIRE_ND_OPT_DNSSL));
	/* the timer runs now: another RA within 200..600 s, none before */
	k->n = 0;
	CHECK(k->wake_ms != STACK_NO_DEADLINE);
	sink_advance(k, IP6_RA_MIN_MS - 1000);
	CHECK(k->n == 0);
	sink_advance(k, IP6_RA_MAX_MS - IP6_RA_MIN_MS + 1000);
	CHECK(k->n == 1 && icmp6_at(k, 0, "fe80::2", "ff02::1", 255, &len) != NULL);
	/* an RS with the wrong hop limit or an option of length 0 is dropped */
	k->n = 0;
	sink_input(k, f, rs(f, 64, false));
	sink_input(k, f, rs(f, 255, true));
	CHECK(k->n == 0 && k->s->ip6.stats.bad_nd == 2);
	/* the guest learned from its RS */
	{
		struct in6_addr g = a6(GUEST_LL);

		CHECK(ndp_lookup(k->s, &g) && !memcmp(ndp_lookup(k->s, &g), guest_mac, 6));
	}
out:
	sink_free(k);
}

static size_t ns(uint8_t *f, const char *src, const char *dst, const char *target, bool slla)
{
	uint8_t m[32] = { WIRE_ND_NEIGHBOR_SOLICIT };
	struct in6_addr t = a6(target);

	memcpy(m + 8, &t, 16);
	m[24] = WIRE_ND_OPT_SLLA;
	m[25] = 1;
	memcpy(m + 26, "\x02\x00\x00\x00\x00\x09", 6);
	return frame6(f, src, dst, 58, 255, m, slla ? 32 : 24, 0);
}

static void test_neighbours(void)
{
	struct sink *k = new_sink("");
	uint8_t f[256], na[32] = { WIRE_ND_NEIGHBOR_ADVERT, 0, 0, 0, WIRE_ND_NA_OVERRIDE };
	const uint8_t *m, *o;
	struct in6_addr t;
	size_t len;

	CHECK(k != NULL);
	if (!k)
		return;
	/* NS for the router from the guest's global address: NA, solicited, to the guest */
	sink_input(k, f, ns(f, GUEST_GL, "ff02::1:ff00:2", "fec0::2", true));
	m = icmp6_at(k, 0, "fec0::2", GUEST_GL, 255, &len);
	CHECK(m && m[0] == WIRE_ND_NEIGHBOR_ADVERT && len == 32);
	if (m) {
		t = a6("fec0::2");
		CHECK(m[4] == (WIRE_ND_NA_ROUTER | WIRE_ND_NA_SOLICITED | WIRE_ND_NA_OVERRIDE));
		CHECK(!memcmp(m + 8, &t, 16));
		o = nd_opt(m, len, 24, WIRE_ND_OPT_TLLA);
		CHECK(o && !memcmp(o + 2, "\x52\x56\x00\x00\x00\x02", 6));
		/* to the MAC the NS's option named */
		CHECK(!memcmp(k->f[0], "\x02\x00\x00\x00\x00\x09", 6));
	}
	/* the DNS address and the link-local forms are answered too */
	sink_input(k, f, ns(f, GUEST_GL, "ff02::1:ff00:3", "fec0::3", true));
	sink_input(k, f, ns(f, GUEST_LL, "ff02::1:ff00:2", "fe80::2", true));
	CHECK(k->n == 3 && icmp6_at(k, 1, "fec0::3", GUEST_GL, 255, &len));
	CHECK(icmp6_at(k, 2, "fe80::2", GUEST_LL, 255, &len));
	/* another target: no answer (duplicate address detection is the guests' business) */
	sink_input(k, f, ns(f, GUEST_LL, "ff02::1:ff00:9", "fec0::9", true));
	CHECK(k->n == 3);
	/* a DAD probe for the router's address: NA to all nodes, not solicited */
	sink_input(k, f, ns(f, "::", "ff02::1:ff00:2", "fec0::2", false));
	m = icmp6_at(k, 3, "fec0::2", "ff02::1", 255, &len);
	CHECK(m && m[4] == (WIRE_ND_NA_ROUTER | WIRE_ND_NA_OVERRIDE));
	/* a DAD probe with a source link-layer option is invalid */
	sink_input(k, f, ns(f, "::", "ff02::1:ff00:2", "fec0::2", true));
	CHECK(k->n == 4 && k->s->ip6.stats.bad_nd == 1);
	/* NA from a guest: learned; one that claims the router's address: refused */
	t = a6("fec0::77");
	memcpy(na + 8, &t, 16);
	na[24] = WIRE_ND_OPT_TLLA;
	na[25] = 1;
	memcpy(na + 26, "\x02\x00\x00\x00\x00\x77", 6);
	sink_input(k, f, frame6(f, GUEST_LL, "ff02::1", 58, 255, na, 32, 0));
	CHECK(ndp_lookup(k->s, &t) && !memcmp(ndp_lookup(k->s, &t), "\x02\x00\x00\x00\x00\x77", 6));
	t = a6("fec0::2");
	memcpy(na + 8, &t, 16);
	sink_input(k, f, frame6(f, GUEST_LL, "ff02::1", 58, 255, na, 32, 0));
	CHECK(!ndp_lookup(k->s, &t) && k->s->ip6.stats.rogue_nd == 1);
	/* an RA and a redirect from the guest: counted, ignored */
	{
		uint8_t ra[16] = { WIRE_ND_ROUTER_ADVERT, 0, 0, 0, 64, 0, 7, 8 };

		sink_input(k, f, frame6(f, GUEST_LL, "ff02::1", 58, 255, ra, 16, 0));
		CHECK(k->s->ip6.stats.rogue_nd == 2 && k->n == 4);
	}
	/* the table is bounded: 16 entries, the oldest replaced */
	for (int i = 0; i < 40; i++) {
		char a[64];
		uint8_t mac[6] = { 2, 0, 0, 0, 1, (uint8_t)i };

		snprintf(a, sizeof(a), "fec0::1:%x", i);
		t = a6(a);
		ndp_learn(k->s, &t, mac);
	}
	t = a6("fec0::1:0");
	CHECK(!ndp_lookup(k->s, &t));
	t = a6("fec0::1:27");
	CHECK(ndp_lookup(k->s, &t) != NULL);
	/* addresses outside the prefix and link-local are never learned */
	t = a6("2001:db8::1");
	ndp_learn(k->s, &t, guest_mac);
	CHECK(!ndp_lookup(k->s, &t));
	/* output to an unknown neighbour: an NS to its solicited-node group, packet dropped */
	k->n = 0;
	{
		uint8_t u[8] = { 0 };
		struct iovec iov = { .iov_base = u, .iov_len = 8 };
		struct in6_addr src = a6("fec0::2"), dst = a6("fec0::4:5");

		CHECK(stack_output_ip6(k->s, &src, &dst, 17, 64, &iov, 1) == -1);
		m = icmp6_at(k, 0, "fe80::2", "ff02::1:ff04:5", 255, &len);
		CHECK(m && m[0] == WIRE_ND_NEIGHBOR_SOLICIT && !memcmp(m + 8, &dst, 16));
		CHECK(!memcmp(k->f[0], "\x33\x33\xff\x04\x00\x05", 6));
	}
	sink_free(k);
}

static size_t echo(uint8_t *f, const char *dst, const uint8_t *ext, size_t extlen, uint8_t nh,
		   size_t datalen, bool bad)
{
	uint8_t pl[2048];

	if (extlen)
		memcpy(pl, ext, extlen);
	memset(pl + extlen, 0, 8);
	pl[extlen] = WIRE_ICMP6_ECHO_REQUEST;
	pl[extlen + 4] = 0x12;
	pl[extlen + 5] = 0x34;
	pl[extlen + 7] = 7;
	for (size_t i = 0; i < datalen; i++)
		pl[extlen + 8 + i] = (uint8_t)i;
	f[0] = 0;
	frame6(f, GUEST_GL, dst, nh, 64, pl, extlen + 8 + datalen, (int)extlen);
	if (bad)
		f[54 + extlen + 8] ^= 1;
	return 54 + extlen + 8 + datalen;
}

static bool reply_ok(struct sink *k, int i, const char *from, size_t datalen)
{
	size_t len;
	const uint8_t *m = icmp6_at(k, i, from, GUEST_GL, 64, &len);

	if (!m || m[0] != WIRE_ICMP6_ECHO_REPLY || len != 8 + datalen || m[4] != 0x12 ||
	    m[5] != 0x34 || m[7] != 7)
		return false;
	for (size_t j = 0; j < datalen && 54 + 8 + j < SINK_FRAME; j++)
		if (m[8 + j] != (uint8_t)j)
			return false;
	return !memcmp(k->f[i], guest_mac, 6);
}

static void test_echo_and_ext(void)
{
	struct sink *k = new_sink("restrict=on");
	uint8_t f[2200];
	uint8_t hbh[8] = { 58, 0, 1, 4, 0, 0, 0, 0 };		/* PadN */
	uint8_t jumbo[8] = { 58, 0, 0xc2, 4, 0, 1, 0, 0 };
	uint8_t rh[24] = { 58, 2, 0, 1 };			/* type 0, 1 segment left */
	uint8_t rh_done[24] = { 58, 2, 0, 0 };
	uint8_t frag_atomic[8] = { 58, 0, 0, 0, 0, 0, 0, 1 };
	uint8_t frag_first[8] = { 58, 0, 0, 1, 0, 0, 0, 2 };
	uint8_t chain[9 * 8];

	CHECK(k != NULL);
	if (!k)
		return;
	/* echo to the router, the DNS address and the router's link-local: answered (restrict=on too) */
	sink_input(k, f, echo(f, "fec0::2", NULL, 0, 58, 100, false));
	sink_input(k, f, echo(f, "fec0::3", NULL, 0, 58, 0, false));
	CHECK(k->n == 2 && reply_ok(k, 0, "fec0::2", 100) && reply_ok(k, 1, "fec0::3", 0));
	/* a bad checksum: dropped, counted */
	sink_input(k, f, echo(f, "fec0::2", NULL, 0, 58, 10, true));
	CHECK(k->n == 2 && k->s->ip6.stats.bad_icmp6 == 1);
	/* elsewhere: not forwarded (yet) */
	sink_input(k, f, echo(f, "fec0::99", NULL, 0, 58, 10, false));
	CHECK(k->n == 2);
	/* through skippable extension headers */
	sink_input(k, f, echo(f, "fec0::2", hbh, 8, WIRE_IP6_NH_HOPOPTS, 20, false));
	sink_input(k, f, echo(f, "fec0::2", rh_done, 24, WIRE_IP6_NH_ROUTING, 20, false));
	sink_input(k, f, echo(f, "fec0::2", frag_atomic, 8, WIRE_IP6_NH_FRAGMENT, 20, false));
	CHECK(k->n == 5 && reply_ok(k, 2, "fec0::2", 20) && reply_ok(k, 3, "fec0::2", 20) &&
	      reply_ok(k, 4, "fec0::2", 20));
	/* refused: a jumbo option, routing with segments left, a real fragment */
	sink_input(k, f, echo(f, "fec0::2", jumbo, 8, WIRE_IP6_NH_HOPOPTS, 20, false));
	sink_input(k, f, echo(f, "fec0::2", rh, 24, WIRE_IP6_NH_ROUTING, 20, false));
	CHECK(k->s->ip6.stats.bad_ext == 2);
	/* the routing header: parameter problem, code 0, pointing at its type (40 + 2) */
	{
		size_t len;
		const uint8_t *m = icmp6_at(k, 5, "fec0::2", GUEST_GL, 64, &len);

		CHECK(k->n == 6 && m && m[0] == WIRE_ICMP6_PARAM_PROB && m[1] == 0 && be32(m + 4) == 42 &&
		      len == 8 + 40 + 24 + 8 + 20 && m[8 + 6] == WIRE_IP6_NH_ROUTING);
		k->n = 5;
	}
	sink_input(k, f, echo(f, "fec0::2", frag_first, 8, WIRE_IP6_NH_FRAGMENT, 20, false));
	CHECK(k->s->ip6.stats.unsupported == 2 && k->n == 5);	/* fec0::99 and the fragment */
	/* an unknown next header (132, SCTP): nothing under restrict=on; else parameter problem,
	 * code 1, pointing at the field that named it */
	echo(f, "fec0::2", NULL, 0, 132, 8, false);
	sink_input(k, f, 54 + 16);
	CHECK(k->n == 5 && k->s->ip6.stats.unsupported == 3);
	{
		struct sink *k2 = new_sink("");
		const uint8_t *m;
		size_t len;
		uint8_t dst[8] = { 132, 0, 1, 4, 0, 0, 0, 0 };

		if (k2) {
			sink_input(k2, f, 54 + 16);
			m = icmp6_at(k2, 0, "fec0::2", GUEST_GL, 64, &len);
			CHECK(k2->n == 1 && m && m[0] == WIRE_ICMP6_PARAM_PROB && m[1] == 1 &&
			      be32(m + 4) == 6 && len == 8 + 40 + 16);
			/* behind a destination options header: the pointer names its next header field */
			echo(f, "fec0::2", dst, 8, WIRE_IP6_NH_DSTOPTS, 8, false);
			sink_input(k2, f, 54 + 24);
			m = icmp6_at(k2, 1, "fec0::2", GUEST_GL, 64, &len);
			CHECK(k2->n == 2 && m && m[1] == 1 && be32(m + 4) == 40);
			/* never about an ICMPv6 error: RH0 with segments left carrying one */
			echo(f, "fec0::2", rh, 24, WIRE_IP6_NH_ROUTING, 8, false);
			sink_input(k2, f, 54 + 40);
			CHECK(k2->n == 3);
			f[54 + 24] = WIRE_ICMP6_DST_UNREACH;
			sink_input(k2, f, 54 + 40);
			CHECK(k2->n == 3 && k2->s->ip6.stats.errors_sent == 3);
			sink_free(k2);
		}
	}
	/* a chain: 8 destination options headers pass, 9 do not */
	for (int i = 0; i < 9; i++) {
		memset(chain + 8 * i, 0, 8);
		chain[8 * i] = i == 8 ? 58 : WIRE_IP6_NH_DSTOPTS;
		chain[8 * i + 2] = 1;
		chain[8 * i + 3] = 4;
	}
	sink_input(k, f, echo(f, "fec0::2", chain + 8, 64, WIRE_IP6_NH_DSTOPTS, 4, false));
	CHECK(k->n == 6 && reply_ok(k, 5, "fec0::2", 4));
	sink_input(k, f, echo(f, "fec0::2", chain, 72, WIRE_IP6_NH_DSTOPTS, 4, false));
	CHECK(k->n == 6 && k->s->ip6.stats.bad_ext == 3);
	/* a hop-by-hop header after the first place */
	memcpy(chain, hbh, 8);
	chain[0] = WIRE_IP6_NH_HOPOPTS;
	memcpy(chain + 8, hbh, 8);
	sink_input(k, f, echo(f, "fec0::2", chain, 16, WIRE_IP6_NH_DSTOPTS, 4, false));
	CHECK(k->n == 6 && k->s->ip6.stats.bad_ext == 4);
	/* truncated: payload length past the frame, an extension header past the payload */
	echo(f, "fec0::2", NULL, 0, 58, 10, false);
	f[19] += 30;
	sink_input(k, f, 54 + 18);
	echo(f, "fec0::2", hbh, 8, 0, 0, false);
	f[55] = 200;		/* hbh length: 1608 bytes */
	sink_input(k, f, 54 + 16);
	CHECK(k->n == 6 && k->s->ip6.stats.bad_ip6 == 1 && k->s->ip6.stats.bad_ext == 5);
	/* a multicast source, a wrong version */
	echo(f, "fec0::2", NULL, 0, 58, 10, false);
	f[22] = 0xff;
	sink_input(k, f, 54 + 18);
	echo(f, "fec0::2", NULL, 0, 58, 10, false);
	f[14] = 0x40;
	sink_input(k, f, 54 + 18);
	CHECK(k->n == 6 && k->s->ip6.stats.bad_ip6 == 3);
	/* an echo bigger than the MTU is not answered */
	sink_input(k, f, echo(f, "fec0::2", NULL, 0, 58, 1500 - 40 - 8 + 1, false));
	CHECK(k->n == 6 && k->s->ip6.stats.too_big == 1);
	sink_input(k, f, echo(f, "fec0::2", NULL, 0, 58, 1500 - 40 - 8, false));
	CHECK(k->n == 7 && k->len[6] == 1514);
	sink_free(k);
}

static void test_ipv6_off(void)
{
	struct sink *k = new_sink("ipv6=off");
	uint8_t f[256];

	CHECK(k != NULL);
	if (!k)
		return;
	sink_input(k, f, rs(f, 255, false));
	sink_input(k, f, echo(f, "fec0::2", NULL, 0, 58, 10, false));
	CHECK(k->n == 0 && k->wake_ms == STACK_NO_DEADLINE && k->s->stats.bad_eth + k->s->stats.not_ours == 2);
	sink_free(k);
	/* ipv4=off: IPv6 alone works */
	k = new_sink("ipv4=off");
	CHECK(k != NULL);
	if (!k)
		return;
	sink_input(k, f, rs(f, 255, false));
	CHECK(k->n == 1 && k->f[0][12] == 0x86);
	sink_free(k);
}

/* udp6() - a UDP datagram from the guest's global address */
static size_t udp6(uint8_t *f, const char *dst, uint16_t sport, uint16_t dport, const char *data,
		   bool zero_csum)
{
	uint8_t u[512];
	size_t n = strlen(data), ulen = 8 + n;
	struct in6_addr s6 = a6(GUEST_GL), d6 = a6(dst);
	uint16_t c;

	u[0] = (uint8_t)(sport >> 8), u[1] = (uint8_t)sport;
	u[2] = (uint8_t)(dport >> 8), u[3] = (uint8_t)dport;
	u[4] = (uint8_t)(ulen >> 8), u[5] = (uint8_t)ulen;
	u[6] = u[7] = 0;
	memcpy(u + 8, data, n);
	c = csum_fold(csum_partial(u, ulen, csum_pseudo6(&s6, &d6, 17, (uint32_t)ulen)));
	if (!zero_csum)
		memcpy(u + 6, &c, 2);
	return frame6(f, GUEST_GL, dst, 17, 64, u, ulen, -1);
}

/* udp6_from() - frame @i is UDP over IPv6 from @src:@sport to the guest's :@dport carrying @data */
static bool udp6_from(const struct sink *k, int i, const char *src, uint16_t sport, uint16_t dport,
		      const char *data)
{
	const uint8_t *f = k->f[i], *u = f + 54;
	struct in6_addr s6 = a6(src), d6 = a6(GUEST_GL);
	size_t n = strlen(data), ulen;

	if (i >= k->n || f[12] != 0x86 || f[13] != 0xdd || f[20] != 17 || memcmp(f + 22, &s6, 16) ||
	    memcmp(f + 38, &d6, 16) || memcmp(f, guest_mac, 6))
		return false;
	ulen = (size_t)(u[4] << 8 | u[5]);
	return ulen == 8 + n && (size_t)(f[18] << 8 | f[19]) == ulen &&
	       (u[0] << 8 | u[1]) == sport && (u[2] << 8 | u[3]) == dport &&
	       !memcmp(u + 8, data, n) &&
	       csum_fold(csum_partial(u, ulen, csum_pseudo6(&s6, &d6, 17, (uint32_t)ulen))) == 0;
}

/* host_udp() - a UDP socket bound to @addr:@port (0: any), its port in *@port */
static int host_udp(int family, const char *addr, uint16_t *port)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t l = family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET6) {
		inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *)&ss)->sin6_addr);
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(*port);
	} else {
		inet_pton(AF_INET, addr, &((struct sockaddr_in *)&ss)->sin_addr);
		((struct sockaddr_in *)&ss)->sin_port = htons(*port);
	}
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, l) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &l) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port :
					   ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

/* host_echo() - receive one datagram on @fd (2 s at most) and send @reply back; its text */
static bool host_echo(int fd, char *got, size_t cap, const char *reply)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct sockaddr_storage from;
	socklen_t fl = sizeof(from);
	ssize_t n;

	if (poll(&p, 1, 2000) != 1)
		return false;
	n = recvfrom(fd, got, cap - 1, 0, (struct sockaddr *)&from, &fl);
	if (n < 0)
		return false;
	got[n] = 0;
	return sendto(fd, reply, strlen(reply), 0, (struct sockaddr *)&from, fl) > 0;
}

static void pump(struct sink *k, int want)
{
	uint64_t end = sink_real_ms() + 2000;

	while (k->n < want && sink_real_ms() < end)
		sink_poll(k, 10);
}

static bool in_netns;

static void test_udp6(void)
{
	char rc[] = "/tmp/qnet-test-ip6-XXXXXX", spec[128], got[64];
	struct sink *k;
	struct sbuf sb = { 0 };
	uint8_t f[700];
	uint16_t port = 0;
	int fd, rfd;

	fd = host_udp(AF_INET6, "::1", &port);
	if (fd < 0) {
		printf("# no ::1 here: UDP over IPv6 not tested\n");
		return;
	}
	rfd = mkstemp(rc);
	CHECK(rfd >= 0 && write(rfd, "nameserver ::1\n", 15) == 15);
	close(rfd);
	snprintf(spec, sizeof(spec), "resolv-conf=%s", rc);
	k = new_sink(spec);
	CHECK(k != NULL);
	if (!k)
		goto out;
	/* to the router: the host's ::1, the answer from fec0::2 */
	sink_input(k, f, udp6(f, "fec0::2", 5555, port, "hello6", false));
	CHECK(host_echo(fd, got, sizeof(got), "pong6") && !strcmp(got, "hello6"));
	pump(k, 1);
	CHECK(k->n == 1 && udp6_from(k, 0, "fec0::2", port, 5555, "pong6"));
	/* any address of the prefix is the host too (libslirp), and answers as itself */
	sink_input(k, f, udp6(f, "fec0::1234", 5555, port, "again", false));
	CHECK(host_echo(fd, got, sizeof(got), "back") && !strcmp(got, "again"));
	pump(k, 2);
	CHECK(k->n == 2 && udp6_from(k, 1, "fec0::1234", port, 5555, "back"));
	/* info usernet lists the IPv6 flow */
	stack_info_usernet(k->s, &sb);
	CHECK(sb.p && strstr(sb.p, GUEST_GL) && strstr(sb.p, "fec0::1234"));
	sbuf_free(&sb);
	/* a zero checksum is refused over IPv6; the DNS address on another port too, with
	 * destination unreachable, administratively prohibited */
	sink_input(k, f, udp6(f, "fec0::2", 5555, port, "nocsum", true));
	CHECK(k->s->stats.bad_l4 == 1);
	sink_input(k, f, udp6(f, "fec0::3", 5555, 54, "x", false));
	{
		size_t len;
		const uint8_t *m = icmp6_at(k, 2, "fec0::3", GUEST_GL, 64, &len);

		CHECK(k->s->ip6.stats.unsupported == 1 && k->n == 3 && m &&
		      m[0] == WIRE_ICMP6_DST_UNREACH && m[1] == 1 && len == 8 + 40 + 9);
		/* hop limit 1: time exceeded from the router */
		udp6(f, "fec0::2", 5555, port, "ttl", false);
		f[21] = 1;
		sink_input(k, f, 54 + 11);
		m = icmp6_at(k, 3, "fec0::2", GUEST_GL, 64, &len);
		CHECK(k->n == 4 && m && m[0] == WIRE_ICMP6_TIME_EXCEEDED && m[1] == 0);
		k->n = 2;
	}
	/* DNS: [ipv6-dns]:53 reaches the resolver; only in a namespace of our own (port 53) */
	if (in_netns) {
		uint16_t p53 = 53;
		int dfd = host_udp(AF_INET6, "::1", &p53);

		CHECK(dfd >= 0);
		sink_input(k, f, udp6(f, "fec0::3", 5556, 53, "query6", false));
		CHECK(host_echo(dfd, got, sizeof(got), "answer6") && !strcmp(got, "query6"));
		pump(k, 3);
		CHECK(k->n == 3 && udp6_from(k, 2, "fec0::3", 53, 5556, "answer6"));
		close(dfd);
		/* an IPv4-only resolver file: reached from the IPv6 flow, v4-mapped */
		rfd = open(rc, O_WRONLY | O_TRUNC);
		CHECK(rfd >= 0 && write(rfd, "nameserver 127.0.0.1 \n", 23) == 23);
		close(rfd);
		p53 = 53;
		dfd = host_udp(AF_INET, "127.0.0.1", &p53);
		CHECK(dfd >= 0);
		sink_advance(k, 1500);	/* the file is re-checked once a second */
		sink_input(k, f, udp6(f, "fec0::3", 5557, 53, "query4", false));
		CHECK(host_echo(dfd, got, sizeof(got), "answer4") && !strcmp(got, "query4"));
		pump(k, 4);
		CHECK(k->n == 4 && udp6_from(k, 3, "fec0::3", 53, 5557, "answer4"));
		close(dfd);
	}
	sink_free(k);
	/* restrict=on: no IPv6 UDP at all */
	k = new_sink("restrict=on");
	if (k) {
		sink_input(k, f, udp6(f, "fec0::2", 5555, port, "nope", false));
		CHECK(k->s->stats.restricted == 1 && k->s->udp.nflows == 0);
		sink_free(k);
	}
out:
	unlink(rc);
	close(fd);
}

/* tcp6() - a TCP segment from the guest's global address to @dst (options: MSS 1440 on SYN) */
static size_t tcp6(uint8_t *f, const char *dst, uint16_t sport, uint16_t dport, uint32_t seq,
		   uint32_t ack, uint8_t flags, const char *data)
{
	uint8_t t[600] = { 0 };
	size_t hl = (flags & 0x02) ? 24 : 20, n = data ? strlen(data) : 0, len = hl + n;
	struct in6_addr s6 = a6(GUEST_GL), d6 = a6(dst);
	uint16_t c;

	t[0] = (uint8_t)(sport >> 8), t[1] = (uint8_t)sport;
	t[2] = (uint8_t)(dport >> 8), t[3] = (uint8_t)dport;
	t[4] = (uint8_t)(seq >> 24), t[5] = (uint8_t)(seq >> 16), t[6] = (uint8_t)(seq >> 8), t[7] = (uint8_t)seq;
	t[8] = (uint8_t)(ack >> 24), t[9] = (uint8_t)(ack >> 16), t[10] = (uint8_t)(ack >> 8), t[11] = (uint8_t)ack;
	t[12] = (uint8_t)((hl / 4) << 4);
	t[13] = flags;
	t[14] = 0xff, t[15] = 0xff;
	if (hl == 24) {
		t[20] = 2, t[21] = 4, t[22] = 1440 >> 8, t[23] = 1440 & 0xff;
	}
	if (n)
		memcpy(t + hl, data, n);
	c = csum_fold(csum_partial(t, len, csum_pseudo6(&s6, &d6, 6, (uint32_t)len)));
	memcpy(t + 16, &c, 2);
	return frame6(f, GUEST_GL, dst, 6, 64, t, len, -1);
}

/* tcp6_at() - frame @i is a valid IPv6 TCP segment from @src to the guest; its header */
static const uint8_t *tcp6_at(const struct sink *k, int i, const char *src, size_t *len)
{
	const uint8_t *f = k->f[i];
	struct in6_addr s6 = a6(src), d6 = a6(GUEST_GL);

	if (i >= k->n || f[12] != 0x86 || f[13] != 0xdd || f[20] != 6 || memcmp(f + 22, &s6, 16) ||
	    memcmp(f + 38, &d6, 16) || memcmp(f, guest_mac, 6))
		return NULL;
	*len = (size_t)(f[18] << 8 | f[19]);
	if (54 + *len > k->len[i] ||
	    csum_fold(csum_partial(f + 54, *len, csum_pseudo6(&s6, &d6, 6, (uint32_t)*len))) != 0)
		return NULL;
	return f + 54;
}

static uint32_t tbe32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_tcp6(void)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t sl = sizeof(sa);
	struct sink *k = new_sink("");
	int ls = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), cs = -1;
	const uint8_t *t;
	uint32_t iss;
	uint16_t port;
	uint8_t f[700];
	char buf[32] = { 0 };
	size_t len;
	struct pollfd p;

	CHECK(k != NULL);
	if (!k || ls < 0 || bind(ls, (struct sockaddr *)&sa, sl) < 0 || listen(ls, 4) < 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &sl) < 0) {
		printf("# no ::1 here: TCP over IPv6 not tested\n");
		goto out;
	}
	port = ntohs(sa.sin6_port);
	/* SYN to fec0::2: the host connect to ::1 completes, then the SYN-ACK (MSS mirrored) */
	sink_input(k, f, tcp6(f, "fec0::2", 4000, port, 1000, 0, 0x02, NULL));
	pump(k, 1);
	t = tcp6_at(k, 0, "fec0::2", &len);
	CHECK(t && t[13] == 0x12 && tbe32(t + 8) == 1001 && t[20] == 2 && (t[22] << 8 | t[23]) == 1440);
	if (!t)
		goto out;
	iss = tbe32(t + 4);
	cs = accept(ls, NULL, NULL);
	CHECK(cs >= 0);
	/* data from the guest reaches the host socket; the ACK of it comes after the batch */
	sink_input(k, f, tcp6(f, "fec0::2", 4000, port, 1001, iss + 1, 0x10, NULL));
	sink_input(k, f, tcp6(f, "fec0::2", 4000, port, 1001, iss + 1, 0x18, "up6"));
	sink_flush(k);		/* the end of the batch: staged writes go into the socket */
	p.fd = cs;
	p.events = POLLIN;
	CHECK(poll(&p, 1, 2000) == 1 && recv(cs, buf, sizeof(buf) - 1, 0) == 3 && !strcmp(buf, "up6"));
	/* data from the host comes to the guest from fec0::2 */
	CHECK(send(cs, "down6", 5, 0) == 5);
	k->n = 0;
	pump(k, 1);
	for (int i = 0; i < k->n; i++) {
		t = tcp6_at(k, i, "fec0::2", &len);
		if (t && len == 25)
			break;
		t = NULL;
	}
	CHECK(t && !memcmp(t + 20, "down6", 5) && tbe32(t + 4) == iss + 1 && tbe32(t + 8) == 1004);
	CHECK(tcp_count(k->s) == 1);
	/* a SYN to a closed port: RST from the address it was sent to */
	close(ls);
	ls = -1;
	k->n = 0;
	sink_input(k, f, tcp6(f, "fec0::2", 4001, port, 5000, 0, 0x02, NULL));
	pump(k, 1);
	t = tcp6_at(k, 0, "fec0::2", &len);
	CHECK(t && (t[13] & 0x04) && tbe32(t + 8) == 5001);
	/* a segment for no flow: RST; a bad checksum: dropped, counted */
	k->n = 0;
	sink_input(k, f, tcp6(f, "fec0::2", 4002, port, 1, 77, 0x10, NULL));
	t = tcp6_at(k, 0, "fec0::2", &len);
	CHECK(t && t[13] == 0x04 && tbe32(t + 4) == 77);
	tcp6(f, "fec0::2", 4002, port, 1, 77, 0x10, NULL);
	f[54 + 16] ^= 1;
	sink_input(k, f, 74);
	CHECK(k->n == 1 && k->s->tcp.stats.bad == 1);
	sink_free(k);
	/* restrict=on: a new IPv6 connection is reset at once */
	k = new_sink("restrict=on");
	if (k) {
		sink_input(k, f, tcp6(f, "fec0::2", 4003, 9, 1, 0, 0x02, NULL));
		t = tcp6_at(k, 0, "fec0::2", &len);
		CHECK(t && (t[13] & 0x04) && k->s->stats.restricted == 1 && tcp_count(k->s) == 0);
	}
out:
	if (cs >= 0)
		close(cs);
	if (ls >= 0)
		close(ls);
	sink_free(k);
}

/* dhcp6_msg() - an UDP datagram to ff02::1:2 port 547 from the guest's link-local port 546 */
static size_t dhcp6_msg(uint8_t *f, const uint8_t *m, size_t n)
{
	uint8_t u[600];
	size_t ulen = 8 + n;
	struct in6_addr s6 = a6(GUEST_LL), d6 = a6("ff02::1:2");
	uint16_t c;

	u[0] = 546 >> 8, u[1] = 546 & 255, u[2] = 547 >> 8, u[3] = 547 & 255;
	u[4] = (uint8_t)(ulen >> 8), u[5] = (uint8_t)ulen, u[6] = u[7] = 0;
	memcpy(u + 8, m, n);
	c = csum_fold(csum_partial(u, ulen, csum_pseudo6(&s6, &d6, 17, (uint32_t)ulen)));
	memcpy(u + 6, &c, 2);
	return frame6(f, GUEST_LL, "ff02::1:2", 17, 1, u, ulen, -1);
}

static void test_dhcp6(void)
{
	struct sink *k = new_sink("dnssearch=example.org");
	static const uint8_t info[] = {
		11, 0xab, 0xcd, 0xef,
		0, 1, 0, 4, 0xde, 0xad, 0xbe, 0xef,		/* client id */
		0, 6, 0, 4, 0, 23, 0, 24,			/* ORO: DNS, domains */
	};
	uint8_t f[700], m[64];
	const uint8_t *r;
	struct in6_addr d = a6("fec0::3"), ll = a6(GUEST_LL), rl = a6("fe80::2");

	CHECK(k != NULL);
	if (!k)
		return;
	sink_input(k, f, dhcp6_msg(f, info, sizeof(info)));
	CHECK(k->n == 1);
	r = k->f[0] + 54;
	CHECK(k->f[0][20] == 17 && !memcmp(k->f[0] + 22, &rl, 16) && !memcmp(k->f[0] + 38, &ll, 16));
	CHECK((r[0] << 8 | r[1]) == 547 && (r[2] << 8 | r[3]) == 546);
	CHECK(r[8] == 7 && r[9] == 0xab && r[10] == 0xcd && r[11] == 0xef);
	CHECK(!memcmp(r + 12, "\0\x01\0\x04\xde\xad\xbe\xef", 8));
	CHECK(!memcmp(r + 20, "\0\x02\0\x0a\0\x03\0\x01\x52\x56\0\0\0\x02", 14));
	CHECK(!memcmp(r + 34, "\0\x17\0\x10", 4) && !memcmp(r + 38, &d, 16));
	CHECK(!memcmp(r + 54, "\0\x18\0\x0d\x07" "example\x03org\0", 17));
	/* no ORO: only the identifiers */
	memcpy(m, info, 12);
	sink_input(k, f, dhcp6_msg(f, m, 12));
	CHECK(k->n == 2 && (k->f[1][58] << 8 | k->f[1][59]) == 8 + 4 + 8 + 14);
	/* an IA_NA, a SOLICIT: no answer (SLAAC only, as libslirp) */
	memcpy(m, info, sizeof(info));
	memcpy(m + sizeof(info), "\0\x03\0\x0c\0\0\0\x01\0\0\0\0\0\0\0\0", 16);
	sink_input(k, f, dhcp6_msg(f, m, sizeof(info) + 16));
	m[0] = 1;
	sink_input(k, f, dhcp6_msg(f, m, sizeof(info)));
	CHECK(k->n == 2);
	/* an option running past the end, a client id over 256 bytes: dropped, counted */
	memcpy(m, info, sizeof(info));
	m[15] = 40;
	sink_input(k, f, dhcp6_msg(f, m, sizeof(info)));
	{
		uint8_t big[300] = { 11, 1, 2, 3, 0, 1, 1, 4 };

		sink_input(k, f, dhcp6_msg(f, big, 8 + 260));
	}
	CHECK(k->n == 2 && k->s->ip6.stats.bad_dhcp6 == 2 && k->s->ip6.stats.dhcp6_replied == 2);
	sink_free(k);
	/* restrict=on: no IPv6 UDP, DHCPv6 included (libslirp) */
	k = new_sink("restrict=on");
	if (k) {
		sink_input(k, f, dhcp6_msg(f, info, sizeof(info)));
		CHECK(k->n == 0 && k->s->stats.restricted == 1);
		sink_free(k);
	}
}

/* enter_netns() - a private network namespace with lo up (root only) */
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
	RUN(test_options);
	RUN(test_router_advert);
	RUN(test_neighbours);
	RUN(test_echo_and_ext);
	RUN(test_ipv6_off);
	RUN(test_udp6);
	RUN(test_tcp6);
	RUN(test_dhcp6);
	TEST_DONE();
}
