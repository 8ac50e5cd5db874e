// SPDX-License-Identifier: MIT
// test_stack.c - the user stack's options, ARP, DHCP, IPv4 reassembly and fragmentation

#include <arpa/inet.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/udp.h>
#include <string.h>
#include <unistd.h>

#include "backends/user.h"
#include "cli/netdev.h"
#include "cli/opts.h"
#include "core/loop.h"
#include "stack/csum.h"
#include "stack/stack.h"
#include "sink.h"
#include "test.h"

/* user_new() - a user netdev through the glue (backends/user.c): the option tests */
static struct net_client *user_new(const char *spec, struct error *e)
{
	struct opts o = { 0 };
	struct net_client *nc = NULL;

	if (opts_parse(&o, spec, "type", e) == 0)
		nc = netdev_create(&o, true, NULL, e);
	opts_free(&o);
	return nc;
}

static const char *user_err(const char *spec)
{
	static struct error e;
	struct net_client *nc;

	memset(&e, 0, sizeof(e));
	nc = user_new(spec, &e);
	if (nc) {
		net_client_free(nc);
		return "(created)";
	}
	return e.msg;
}

static void test_options(void)
{
	struct error e = { 0 };
	struct net_client *nc = user_new("user,id=u0", &e);
	struct user_stack *s = user_of(nc);

	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_STR(nc->info_str, "net=10.0.2.0,restrict=off");
	CHECK_STR(inet_ntoa(s->cfg.host), "10.0.2.2");
	CHECK_STR(inet_ntoa(s->cfg.dns), "10.0.2.3");
	CHECK_STR(inet_ntoa(s->cfg.dhcp_start), "10.0.2.15");
	CHECK(s->cfg.mtu == 1500 && s->cfg.ipv4 && s->cfg.ipv6);
	CHECK(user_first() == s && user_next(s) == NULL);
	CHECK_STR(stack_name(s), "u0");
	net_client_free(nc);
	CHECK(user_first() == NULL);

	nc = user_new("user,id=u1,net=192.168.76.0/24,dhcpstart=192.168.76.9,restrict=on,ipv4=on", &e);
	s = user_of(nc);
	CHECK(s && !s->cfg.ipv6 && s->cfg.restricted);
	if (s) {
		CHECK_STR(inet_ntoa(s->cfg.host), "192.168.76.2");
		CHECK_STR(nc->info_str, "net=192.168.76.0,restrict=on");
		net_client_free(nc);
	}
	/* classful defaults as QEMU codes them: 192.0.2.x gets /28 */
	nc = user_new("user,id=u2,net=192.0.2.0,host=192.0.2.2", &e);
	s = user_of(nc);
	CHECK(s && s->cfg.mask.s_addr == htonl(0xfffffff0));
	if (s)
		net_client_free(nc);

	CHECK_STR(user_err("user,id=x,net=foo"), "Failed to parse netmask");
	CHECK_STR(user_err("user,id=x,net=10.0.0.0/8x"), "Failed to parse netmask (trailing chars)");
	CHECK_STR(user_err("user,id=x,net=10.0.0.0/3"),
		  "Invalid netmask provided (must be in range 4-32)");
	CHECK_STR(user_err("user,id=x,host=10.0.3.2"), "Host doesn't belong to network");
	CHECK_STR(user_err("user,id=x,host=zz"), "Failed to parse host");
	CHECK_STR(user_err("user,id=x,dns=10.0.2.2"), "DNS must be different from host");
	CHECK_STR(user_err("user,id=x,restrict=on,dns=8.8.8.8"), "DNS doesn't belong to network");
	CHECK_STR(user_err("user,id=x,dhcpstart=10.0.3.15"), "DHCP doesn't belong to network");
	CHECK_STR(user_err("user,id=x,dhcpstart=10.0.2.3"),
		  "DHCP must be different from host and DNS");
	CHECK_STR(user_err("user,id=x,ipv4=off,net=10.0.0.0/8"),
		  "IPv4 disabled but netmask/host/dns provided");
	CHECK_STR(user_err("user,id=x,ipv4=off,ipv6=off"), "IPv4 and IPv6 disabled");
	CHECK_STR(user_err("user,id=x,domainname="), "'domainname' parameter cannot be empty");
	CHECK_STR(user_err("user,id=x,mtu=67"), "Parameter 'mtu' expects a value from 68 to 65520");
	CHECK_STR(user_err("user,id=x,hostfwd=tcp:1.2.3.4"),
		  "Invalid host forwarding rule 'tcp:1.2.3.4' (Missing : separator)");
	CHECK_STR(user_err("user,id=x,hostfwd=foo:1:2-:3"),
		  "Invalid host forwarding rule 'foo:1:2-:3' (Bad protocol name)");
	CHECK_STR(user_err("user,id=x,hostfwd=tcp::70000-:22"),
		  "Invalid host forwarding rule 'tcp::70000-:22' (Bad host port)");
	CHECK_STR(user_err("user,id=x,hostfwd=tcp::2222-:0"),
		  "Invalid host forwarding rule 'tcp::2222-:0' (Bad guest port)");
	CHECK_STR(user_err("user,id=x,hostfwd=tcp::2222"),
		  "Invalid host forwarding rule 'tcp::2222' (Bad host port separator)");
	CHECK_STR(user_err("user,id=x,hostfwd=unix:rel/path-:22"),
		  "Invalid host forwarding rule 'unix:rel/path-:22' (unix socket path must be absolute)");
	CHECK_STR(user_err("user,id=x,guestfwd=tcp:10.0.2.100:xx-cmd:cat"),
		  "Invalid guest forwarding rule 'tcp:10.0.2.100:xx-cmd:cat'");
	CHECK_STR(user_err("user,id=x,guestfwd=tcp:10.0.2.2:80-cmd:cat"),
		  "Conflicting/invalid host:port in guest forwarding rule 'tcp:10.0.2.2:80-cmd:cat'");
	CHECK_STR(user_err("user,id=x,smbserver=10.0.2.x"), "Failed to parse SMB address");
	CHECK_STR(user_err("user,id=x,smb=/nonexistent-qnet-dir"),
		  access("/usr/sbin/smbd", F_OK) == 0 ?
		  "Error accessing shared directory '/nonexistent-qnet-dir': No such file or directory" :
		  "Could not find '/usr/sbin/smbd', please install it");
	CHECK_STR(user_err("user,id=x,smb=/tmp,smbserver=10.0.2.2"),
		  access("/usr/sbin/smbd", F_OK) == 0 ? "Conflicting/invalid smbserver address" :
		  "Could not find '/usr/sbin/smbd', please install it");
	CHECK_STR(user_err("user,id=x,tftp=/tmp,bootfile=pxe.0,tftp-server-name=boot"), "(created)");
	{
		char spec[400];

		snprintf(spec, sizeof(spec), "user,id=x,bootfile=%0128d", 0);
		CHECK_STR(user_err(spec), "'bootfile' parameter cannot exceed 127 bytes");
		snprintf(spec, sizeof(spec), "user,id=x,tftp-server-name=%0256d", 0);
		CHECK_STR(user_err(spec), "'tftp-server-name' parameter cannot exceed 255 bytes");
	}
	CHECK_STR(user_err("user,id=x,bogus=1"), "Invalid parameter 'bogus'");
}

static void test_dnssearch_encoding(void)
{
	/* RFC 3397 section 3's example */
	const char *d[] = { "eng.apple.com", "marketing.apple.com" };
	static const uint8_t want[] = { 3, 'e', 'n', 'g', 5, 'a', 'p', 'p', 'l', 'e', 3, 'c', 'o',
					'm', 0, 9, 'm', 'a', 'r', 'k', 'e', 't', 'i', 'n', 'g',
					0xc0, 0x04 };
	const char *bad[] = { "a..b" };
	uint8_t *out;
	size_t len;

	CHECK(dhcp_encode_search(d, 2, &out, &len) == 0);
	CHECK(len == sizeof(want) && !memcmp(out, want, len));
	free(out);
	CHECK(dhcp_encode_search(bad, 1, &out, &len) < 0);
}

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

/* eth_ip_udp() - a guest frame carrying UDP; returns its length */
static size_t eth_ip_udp(uint8_t *f, const uint8_t *mac, struct in_addr src, struct in_addr dst,
			 uint16_t sport, uint16_t dport, const void *payload, size_t plen)
{
	struct iphdr iph, *ip = &iph;
	struct udphdr udh, *uh = &udh;

	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	f[12] = 8;
	f[13] = 0;
	memset(ip, 0, 20);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons((uint16_t)(28 + plen));
	ip->saddr = src.s_addr;
	ip->daddr = dst.s_addr;
	ip->check = csum_ip4_header(ip, 20);
	uh->source = htons(sport);
	uh->dest = htons(dport);
	uh->len = htons((uint16_t)(8 + plen));
	uh->check = 0;
	memcpy(f + 14, ip, 20);
	memcpy(f + 34, uh, 8);
	memcpy(f + 42, payload, plen);
	return 42 + plen;
}

/* dhcp_msg() - a BOOTP request with options; returns the payload length */
static size_t dhcp_msg(uint8_t *b, const uint8_t *mac, uint8_t type, struct in_addr req)
{
	size_t n = 240;

	memset(b, 0, 300);
	b[0] = 1;
	b[1] = 1;
	b[2] = 6;
	b[4] = 0x12;
	b[7] = 0x34;
	memcpy(b + 28, mac, 6);
	b[236] = 99; b[237] = 130; b[238] = 83; b[239] = 99;
	b[n++] = 53; b[n++] = 1; b[n++] = type;
	if (req.s_addr) {
		b[n++] = 50; b[n++] = 4;
		memcpy(b + n, &req, 4);
		n += 4;
	}
	b[n++] = 255;
	return n;
}

/* dhcp_opt_find() - option @code in a reply frame, or NULL */
static const uint8_t *dhcp_opt_find(const uint8_t *f, size_t len, uint8_t code, int nth)
{
	size_t i = 42 + 240;

	while (i + 1 < len) {
		if (f[i] == 0) {
			i++;
			continue;
		}
		if (f[i] == 255)
			break;
		if (f[i] == code && nth-- == 0)
			return f + i;
		i += 2u + f[i + 1];
	}
	return NULL;
}

static int send_dhcp(struct sink *k, const uint8_t *mac, uint8_t type,
		     const char *req)
{
	uint8_t frame[600], msg[300];
	struct in_addr any = { 0 }, bc = { .s_addr = INADDR_BROADCAST }, r = { 0 };
	size_t n;
	int before = k->n;

	if (req)
		inet_aton(req, &r);
	n = dhcp_msg(msg, mac, type, r);
	n = eth_ip_udp(frame, mac, any, bc, 68, 67, msg, n);
	sink_input(k, frame, n);
	return k->n - before;
}

static void test_dhcp(void)
{
	struct error e = { 0 };
	struct sink *k = sink_new("d0", "hostname=guest1,domainname=example.test,"
				  "dnssearch=a.example.test,dnssearch=b.example.test,mtu=9000", &e);
	struct user_stack *s = k ? k->s : NULL;
	const uint8_t *o, *f;
	uint8_t mac2[6] = { 0x52, 0x54, 0, 0, 0, 2 };

	CHECK(s != NULL);
	if (!s)
		return;
	CHECK(send_dhcp(k, guest_mac, 1, NULL) == 1);
	f = k->f[0];
	/* OFFER: from the gateway's MAC, UDP 67 -> 68, yiaddr 10.0.2.15, unicast to the MAC */
	CHECK(!memcmp(f, guest_mac, 6));
	CHECK(f[6] == 0x52 && f[7] == 0x55 && f[11] == 2);
	CHECK(f[42] == 2 && !memcmp(f + 42 + 16, "\x0a\x00\x02\x0f", 4));
	o = dhcp_opt_find(f, k->len[0], 53, 0);
	CHECK(o && o[2] == 2);
	o = dhcp_opt_find(f, k->len[0], 3, 0);
	CHECK(o && !memcmp(o + 2, "\x0a\x00\x02\x02", 4));
	o = dhcp_opt_find(f, k->len[0], 6, 0);
	CHECK(o && !memcmp(o + 2, "\x0a\x00\x02\x03", 4));
	o = dhcp_opt_find(f, k->len[0], 12, 0);
	CHECK(o && o[1] == 6 && !memcmp(o + 2, "guest1", 6));
	o = dhcp_opt_find(f, k->len[0], 15, 0);
	CHECK(o && o[1] == 12);
	CHECK(dhcp_opt_find(f, k->len[0], 119, 0) != NULL);
	CHECK(dhcp_opt_find(f, k->len[0], 58, 0) && dhcp_opt_find(f, k->len[0], 59, 0));
	o = dhcp_opt_find(f, k->len[0], 26, 0);
	CHECK(o && o[2] == 0x23 && o[3] == 0x28);
	/* REQUEST -> ACK */
	CHECK(send_dhcp(k, guest_mac, 3, "10.0.2.15") == 1);
	o = dhcp_opt_find(k->f[1], k->len[1], 53, 0);
	CHECK(o && o[2] == 5);
	CHECK_STR(inet_ntoa(dhcp_first_lease(s)), "10.0.2.15");
	/* a second guest gets the next address; asking for the first one gets NAK */
	CHECK(send_dhcp(k, mac2, 3, "10.0.2.15") == 1);
	o = dhcp_opt_find(k->f[2], k->len[2], 53, 0);
	CHECK(o && o[2] == 6);
	CHECK(!memcmp(k->f[2], "\xff\xff\xff\xff\xff\xff", 6));
	CHECK(send_dhcp(k, mac2, 1, NULL) == 1);
	CHECK(!memcmp(k->f[3] + 42 + 16, "\x0a\x00\x02\x10", 4));
	/* truncated options: dropped without an answer */
	{
		uint8_t frame[600], msg[300];
		struct in_addr any = { 0 }, bc = { .s_addr = INADDR_BROADCAST };
		size_t n = dhcp_msg(msg, guest_mac, 1, any);

		msg[n - 1] = 12;	/* option 12 with its length byte missing */
		n = eth_ip_udp(frame, guest_mac, any, bc, 68, 67, msg, n);
		int before = k->n;
		sink_input(k, frame, n);
		CHECK(k->n == before);
	}
	sink_free(k);

	/* restrict=on: no router, no DNS */
	k = sink_new("d1", "restrict=on", &e);
	CHECK(k != NULL);
	if (!k)
		return;
	CHECK(send_dhcp(k, guest_mac, 1, NULL) == 1);
	CHECK(!dhcp_opt_find(k->f[0], k->len[0], 3, 0) && !dhcp_opt_find(k->f[0], k->len[0], 6, 0));
	sink_free(k);
}

/* bootfile= and tftp-server-name= in DHCP replies; a plain BOOTP request gets a BOOTP reply */
static void test_bootp(void)
{
	struct error e = { 0 };
	struct sink *k = sink_new("b0", "tftp=/nonexistent,bootfile=boot/pxe.ipxe,"
				  "tftp-server-name=tftp.example.test", &e);
	uint8_t frame[600], msg[300];
	struct in_addr any = { 0 }, bc = { .s_addr = INADDR_BROADCAST };
	const uint8_t *o, *f;
	size_t n;

	CHECK(k != NULL);
	if (!k)
		return;
	CHECK(send_dhcp(k, guest_mac, 1, NULL) == 1);
	f = k->f[0];
	CHECK(!memcmp(f + 42 + 20, "\x0a\x00\x02\x02", 4));		/* siaddr: the gateway */
	CHECK_STR((const char *)f + 42 + 108, "boot/pxe.ipxe");		/* file */
	o = dhcp_opt_find(f, k->len[0], 67, 0);
	CHECK(o && o[1] == 13 && !memcmp(o + 2, "boot/pxe.ipxe", 13));
	o = dhcp_opt_find(f, k->len[0], 66, 0);
	CHECK(o && o[1] == 17 && !memcmp(o + 2, "tftp.example.test", 17));
	/* plain BOOTP: no option 53, no lease times, an address and the boot file all the same */
	n = dhcp_msg(msg, guest_mac, 1, any);
	n = 241;		/* the cookie, then END: no message type */
	msg[240] = 255;
	n = eth_ip_udp(frame, guest_mac, any, bc, 68, 67, msg, n);
	sink_input(k, frame, n);
	CHECK(k->n == 2);
	f = k->f[1];
	CHECK(f[42] == 2 && !memcmp(f + 42 + 16, "\x0a\x00\x02\x0f", 4));
	CHECK(!dhcp_opt_find(f, k->len[1], 53, 0) && !dhcp_opt_find(f, k->len[1], 51, 0));
	CHECK(dhcp_opt_find(f, k->len[1], 1, 0) && dhcp_opt_find(f, k->len[1], 67, 0));
	CHECK_STR((const char *)f + 42 + 108, "boot/pxe.ipxe");
	sink_free(k);

	/* without the options: empty file field, neither 66 nor 67 */
	k = sink_new("b1", "", &e);
	CHECK(k && send_dhcp(k, guest_mac, 1, NULL) == 1);
	if (!k)
		return;
	CHECK(k->f[0][42 + 108] == 0);
	CHECK(!dhcp_opt_find(k->f[0], k->len[0], 66, 0) && !dhcp_opt_find(k->f[0], k->len[0], 67, 0));
	sink_free(k);
}

static size_t arp_req(uint8_t *f, const char *target)
{
	struct in_addr t, sip;

	inet_aton(target, &t);
	inet_aton("10.0.2.15", &sip);
	memset(f, 0xff, 6);
	memcpy(f + 6, guest_mac, 6);
	f[12] = 8; f[13] = 6;
	f[14] = 0; f[15] = 1; f[16] = 8; f[17] = 0; f[18] = 6; f[19] = 4; f[20] = 0; f[21] = 1;
	memcpy(f + 22, guest_mac, 6);
	memcpy(f + 28, &sip, 4);
	memset(f + 32, 0, 6);
	memcpy(f + 38, &t, 4);
	return 42;
}

static void test_arp(void)
{
	struct error e = { 0 };
	struct sink *k = sink_new("a0", "", &e);
	struct user_stack *s = k ? k->s : NULL;
	uint8_t f[64];

	CHECK(s != NULL);
	if (!s)
		return;
	sink_input(k, f, arp_req(f, "10.0.2.2"));
	CHECK(k->n == 1);
	CHECK(k->len[0] == 60);	/* padded */
	CHECK(k->f[0][21] == 2 && !memcmp(k->f[0] + 22, "\x52\x55\x0a\x00\x02\x02", 6));
	sink_input(k, f, arp_req(f, "10.0.2.3"));
	CHECK(k->n == 2 && !memcmp(k->f[1] + 22, "\x52\x55\x0a\x00\x02\x03", 6));
	sink_input(k, f, arp_req(f, "10.0.2.99"));
	CHECK(k->n == 2);
	/* short ARP: ignored */
	sink_input(k, f, 30);
	CHECK(k->n == 2);
	CHECK(arp_lookup(s, (struct in_addr){ inet_addr("10.0.2.15") }) != NULL);
	/* unicast to another host's MAC (guest to guest on a hub): not the stack's to answer */
	arp_req(f, "10.0.2.2");
	memcpy(f, "\x52\x54\x00\x12\x34\x99", 6);
	sink_input(k, f, 42);
	CHECK(k->n == 2 && s->stats.not_ours == 1);
	/* the same to the gateway's MAC is answered, and to the DNS host's */
	memcpy(f, "\x52\x55\x0a\x00\x02\x02", 6);
	sink_input(k, f, 42);
	CHECK(k->n == 3 && s->stats.not_ours == 1);
	memcpy(f, "\x52\x55\x0a\x00\x02\x03", 6);
	sink_input(k, f, 42);
	CHECK(k->n == 4 && s->stats.not_ours == 1);
	/* 52:55 with an address outside the guest network: not a virtual host */
	memcpy(f, "\x52\x55\x0a\x00\x03\x02", 6);
	sink_input(k, f, 42);
	CHECK(k->n == 4 && s->stats.not_ours == 2);
	sink_free(k);
}

/* ping_frag() - an ICMP echo to 10.0.2.2 of @plen bytes, cut into fragments of @fl payload bytes */
static void ping_frag(struct sink *k, size_t plen, size_t fl, bool overlap)
{
	static uint8_t icmp[4000] __attribute__((aligned(8)));
	uint8_t f[1600];
	struct icmphdr *ic = (struct icmphdr *)(void *)icmp;
	size_t total = 8 + plen;

	memset(icmp, 0xab, total);
	ic->type = ICMP_ECHO;
	ic->code = 0;
	ic->un.echo.id = htons(7);
	ic->un.echo.sequence = htons(1);
	ic->checksum = 0;
	ic->checksum = csum_fold(csum_partial(icmp, total, 0));
	for (size_t off = 0; off < total;) {
		size_t n = MIN(fl, total - off);
		struct iphdr iph, *ip = &iph;
		size_t at = overlap && off ? off - 8 : off;

		memset(f, 0xff, 6);
		memcpy(f + 6, guest_mac, 6);
		f[12] = 8; f[13] = 0;
		memset(ip, 0, 20);
		ip->version = 4; ip->ihl = 5; ip->ttl = 64; ip->protocol = IPPROTO_ICMP;
		ip->id = htons(99);
		ip->tot_len = htons((uint16_t)(20 + n));
		ip->frag_off = htons((uint16_t)((at / 8) | (off + n < total ? IP_MF : 0)));
		ip->saddr = inet_addr("10.0.2.15");
		ip->daddr = inet_addr("10.0.2.2");
		ip->check = csum_ip4_header(ip, 20);
		memcpy(f + 14, ip, 20);
		memcpy(f + 34, icmp + off, n);
		sink_input(k, f, 34 + n);
		off += n;
	}
}

static void test_fragments(void)
{
	struct error e = { 0 };
	struct sink *k = sink_new("f0", "mtu=576", &e);
	struct user_stack *s = k ? k->s : NULL;
	size_t bytes = 0;

	CHECK(s != NULL);
	if (!s)
		return;
	/* 3000-byte echo in 1000-byte fragments: reassembled, answered, and the reply
	 * fragmented to the 576-byte MTU */
	ping_frag(k, 2992, 1000, false);
	CHECK(k->n >= 6);
	for (int i = 0; i < k->n; i++) {
		struct iphdr ip;

		memcpy(&ip, k->f[i] + 14, 20);
		CHECK(ntohs(ip.tot_len) <= 576);
		CHECK(csum_ip4_header(&ip, 20) == 0);
		bytes += ntohs(ip.tot_len) - 20u;
	}
	CHECK(bytes == 3000);
	/* overlapping fragments: the datagram is dropped, no reply */
	int before = k->n;
	ping_frag(k, 2992, 1000, true);
	CHECK(k->n == before);
	sink_free(k);
}

/* test_fake_clock() - timers and lease times follow the host's clock, nothing else */
static void test_fake_clock(void)
{
	struct error e = { 0 };
	struct sink *k = sink_new("c0", "", &e);
	struct in_addr ip, g;
	uint8_t mac[6];
	uint64_t left, left2;
	const char pl[] = "held";
	struct iovec iov = { .iov_base = (void *)pl, .iov_len = 4 };

	CHECK(k != NULL);
	if (!k)
		return;
	/* DHCP: the lease's remaining time moves with the fake clock only */
	CHECK(send_dhcp(k, guest_mac, 1, NULL) == 1);
	CHECK(send_dhcp(k, guest_mac, 3, "10.0.2.15") == 1);
	CHECK(k->events == 1 && !strcmp(k->ev_name, "DHCP_LEASE"));
	CHECK_STR(k->ev_last, "ip=10.0.2.15;mac=52:54:00:12:34:56;event=bound;");
	CHECK(dhcp_lease_get(k->s, 0, &ip, mac, &left));
	CHECK(left == DHCP_LEASE_TIME * 1000ull);
	sink_advance(k, 10000);
	CHECK(dhcp_lease_get(k->s, 0, &ip, mac, &left2) && left2 == left - 10000);
	/* a frame to an unknown guest address is held (one ARP request goes out)... */
	inet_aton("10.0.2.77", &g);
	k->n = 0;
	CHECK(k->wake_ms == STACK_NO_DEADLINE);
	CHECK(stack_output_ip4(k->s, k->s->cfg.host, g, IPPROTO_UDP, 0, &iov, 1) == 0);
	CHECK(k->n == 1 && k->f[0][12] == 8 && k->f[0][13] == 6);
	CHECK(k->wake_ms != STACK_NO_DEADLINE);
	/* ...and dropped after ARP_HOLD_MS of fake time: a late reply releases nothing */
	sink_advance(k, ARP_HOLD_MS / 2);
	CHECK(k->s->arp.p[0].len || k->s->arp.p[1].len);
	sink_advance(k, ARP_HOLD_MS);
	for (int i = 0; i < ARP_PENDING; i++)
		CHECK(k->s->arp.p[i].len == 0);
	CHECK(k->wake_ms == STACK_NO_DEADLINE);
	arp_learn(k->s, g, mac);
	CHECK(k->n == 1);
	/* known now: sent at once */
	CHECK(stack_output_ip4(k->s, k->s->cfg.host, g, IPPROTO_UDP, 0, &iov, 1) == 0);
	CHECK(k->n == 2 && !memcmp(k->f[1], mac, 6));
	/* another address: held, answered in time, released at once */
	g.s_addr = htonl(ntohl(g.s_addr) + 1);
	CHECK(stack_output_ip4(k->s, k->s->cfg.host, g, IPPROTO_UDP, 0, &iov, 1) == 0);
	CHECK(k->n == 3 && k->f[2][12] == 8 && k->f[2][13] == 6);
	sink_advance(k, ARP_HOLD_MS / 2);
	arp_learn(k->s, g, mac);
	CHECK(k->n == 4 && k->f[3][12] == 8 && k->f[3][13] == 0 && !memcmp(k->f[3], mac, 6));
	/* RARP announce: 60 bytes, broadcast, from the gateway MAC */
	stack_announce(k->s);
	CHECK(k->n == 5 && k->len[4] == 60 && k->f[4][12] == 0x80 && k->f[4][13] == 0x35);
	CHECK(!memcmp(k->f[4] + 6, k->s->gw_mac, 6) && !memcmp(k->f[4] + 32, k->s->gw_mac, 6));
	sink_free(k);
}

/* test_two_instances() - two stacks in one process: own leases, own clocks, own frames */
static void test_two_instances(void)
{
	struct error e = { 0 };
	struct sink *a = sink_new("i0", "", &e), *b = sink_new("i1", "net=10.9.0.0/24", &e);
	uint8_t mac_b[6] = { 0x52, 0x54, 0, 0, 0, 0xbb }, mac[6];
	struct in_addr ip;
	uint64_t left;

	CHECK(a && b);
	if (!a || !b) {
		sink_free(a);
		sink_free(b);
		return;
	}
	CHECK(send_dhcp(a, guest_mac, 1, NULL) == 1 && b->n == 0);
	CHECK(send_dhcp(a, guest_mac, 3, "10.0.2.15") == 1);
	CHECK(send_dhcp(b, mac_b, 1, NULL) == 1 && a->n == 2);
	CHECK(!memcmp(b->f[0] + 42 + 16, "\x0a\x09\x00\x0f", 4));
	CHECK(send_dhcp(b, mac_b, 3, "10.9.0.15") == 1);
	CHECK(a->events == 1 && b->events == 1);
	CHECK_STR(b->ev_last, "ip=10.9.0.15;mac=52:54:00:00:00:bb;event=bound;");
	/* each stack knows only its own guest */
	CHECK(dhcp_lease_get(a->s, 0, &ip, mac, &left) && !memcmp(mac, guest_mac, 6));
	CHECK(dhcp_lease_get(b->s, 0, &ip, mac, &left) && !memcmp(mac, mac_b, 6));
	CHECK(!dhcp_lease_get(a->s, 1, &ip, mac, &left) && !dhcp_lease_get(b->s, 1, &ip, mac, &left));
	CHECK(arp_lookup(a->s, (struct in_addr){ inet_addr("10.9.0.15") }) == NULL);
	/* each stack's clock is its host's: only b's lease ages */
	sink_advance(b, 5000);
	CHECK(dhcp_lease_get(a->s, 0, &ip, mac, &left) && left == DHCP_LEASE_TIME * 1000ull);
	CHECK(dhcp_lease_get(b->s, 0, &ip, mac, &left) && left == DHCP_LEASE_TIME * 1000ull - 5000);
	/* the gateway MACs differ (52:55 + the gateway address) */
	CHECK(memcmp(a->s->gw_mac, b->s->gw_mac, 6) != 0);
	sink_free(a);
	CHECK(send_dhcp(b, mac_b, 3, "10.9.0.15") == 1);
	sink_free(b);
}

/* ---- the glue: a `user` netdev on qnet's loop, its net client and events ---- */

struct rec_guest {
	struct net_client nc;
	int n;
	uint8_t last[2048];
	size_t last_len;
};

static ssize_t rec_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
			   const struct net_meta *meta)
{
	struct rec_guest *g = (struct rec_guest *)(void *)nc;

	g->last_len = net_iov_copy(g->last, sizeof(g->last), iov, iovcnt);
	g->n++;
	return (ssize_t)net_iov_size(iov, iovcnt);
}

static const struct net_client_ops rec_ops = {
	.driver = NET_DRIVER_STREAM,
	.size = sizeof(struct rec_guest),
	.receive = rec_receive,
};

static char hook_seen[512];

static void hook(void *opaque, const char *name, const struct event_field *f, int n)
{
	size_t o = (size_t)snprintf(hook_seen, sizeof(hook_seen), "%s:", name);

	for (int i = 0; i < n && o < sizeof(hook_seen); i++)
		if (f[i].type == EVENT_STR)
			o += (size_t)snprintf(hook_seen + o, sizeof(hook_seen) - o, "%s=%s;", f[i].key,
					      f[i].s);
}

static void test_glue(void)
{
	struct error e = { 0 };
	struct net_client *nc = user_new("user,id=g0", &e);
	struct user_stack *s = user_of(nc);
	struct rec_guest *g;
	uint8_t frame[600], msg[300];
	struct in_addr any = { 0 }, bc = { .s_addr = INADDR_BROADCAST };
	struct sbuf info = { 0 };
	event_hook_fn *old;
	size_t n;

	CHECK(s != NULL);
	if (!s)
		return;
	g = (struct rec_guest *)(void *)net_client_new(&rec_ops, nc, "guest", "g0guest");
	old = event_hook_set(hook, NULL);
	/* a DISCOVER through the core reaches the stack; the OFFER comes back through net_send */
	n = eth_ip_udp(frame, guest_mac, any, bc, 68, 67, msg, dhcp_msg(msg, guest_mac, 1, any));
	net_send_buf(&g->nc, frame, n, NULL);
	CHECK(g->n == 1 && g->last_len >= 300 && !memcmp(g->last + 6, s->gw_mac, 6));
	n = eth_ip_udp(frame, guest_mac, any, bc, 68, 67, msg,
		       dhcp_msg(msg, guest_mac, 3, (struct in_addr){ inet_addr("10.0.2.15") }));
	net_send_buf(&g->nc, frame, n, NULL);
	CHECK(g->n == 2);
	/* the stack's event, with the netdev id the glue adds, through the core's hook */
	CHECK_STR(hook_seen,
		  "DHCP_LEASE:netdev-id=g0;ip=10.0.2.15;mac=52:54:00:12:34:56;event=bound;");
	/* link changes are raised by the core through the same hook */
	net_set_link_down(nc, true);
	CHECK_STR(hook_seen, "NETDEV_LINK_CHANGED:netdev-id=g0;");
	net_set_link_down(nc, false);
	/* info usernet: the glue's "Hub" line, then the stack's table */
	user_info_usernet(s, &info);
	CHECK(!strncmp(sbuf_str(&info), "Hub -1 (g0):\n  Protocol[State]", 30));
	sbuf_free(&info);
	/* the announce goes out through the glue too */
	stack_announce(s);
	CHECK(g->n == 3 && g->last_len == 60 && g->last[12] == 0x80 && g->last[13] == 0x35);
	event_hook_set(old, NULL);
	net_client_free(&g->nc);
	net_client_free(nc);
	CHECK(user_first() == NULL);
}

int main(void)
{
	loop_init();
	RUN(test_options);
	RUN(test_dnssearch_encoding);
	RUN(test_dhcp);
	RUN(test_bootp);
	RUN(test_arp);
	RUN(test_fragments);
	RUN(test_fake_clock);
	RUN(test_two_instances);
	RUN(test_glue);
	net_cleanup_all();
	loop_fini();
	TEST_DONE();
}
