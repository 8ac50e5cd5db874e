// SPDX-License-Identifier: MIT
/* fuzz_tftp.c - libFuzzer target: TFTP requests, ACKs and ERRORs from the guest into a user stack */
#include <fcntl.h>
#include <sys/stat.h>

#include "fuzz_user.h"

/*
 * Input: records [ctl][sel][len hi][len lo][len bytes of UDP payload], at most 64. Each becomes a
 * guest frame 10.0.2.15:(5000 + (ctl & 3)) -> 10.0.2.2, UDP checksum right:
 *   ctl 0x04: to the TID (server port) of transfer (sel % TFTP_SESSIONS_MAX) from its client
 *             port, if it is live, else to port 69
 *   ctl 0x08: the payload's first two bytes become opcode (sel & 7) (RRQ, WRQ, DATA, ACK...)
 *   ctl 0x10: move the fake clock by (sel * 64) ms first (retransmissions, give-up)
 *   ctl 0x20: the guest path is busy for this record (frames queued, then released)
 * The root (tftp=) holds a file, a netascii-ish text, a sub-directory, a symlink inside and one
 * leading outside to a file holding a marker.
 * Checks, besides fuzz_user.h's: every UDP datagram from the gateway is TFTP: DATA (at most
 * 4 + 1468 bytes), OACK or ERROR (NUL-terminated), nothing else; the outside file's marker
 * never appears in a DATA block; no more transfers than TFTP_SESSIONS_MAX.
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t frame[2 + 14 + 20 + 8 + 65536] __attribute__((aligned(8)));
static char troot[64], tout[80];
static const char marker[] = "QNET-OUTSIDE-ROOT-MARKER";

static void tftp_check(const uint8_t *f, size_t len)
{
	const uint8_t *ip = f + 14, *uh, *p;
	size_t hl, tot, plen;

	if (len < 14 + 20 || f[12] != 0x08 || f[13] != 0x00 || ip[9] != IPPROTO_UDP)
		return;
	hl = (size_t)(ip[0] & 15) * 4;
	tot = (size_t)(ip[2] << 8 | ip[3]);
	if ((ip[6] << 8 | ip[7]) & 0x3fff)
		fu_fail("fragmented TFTP packet");
	uh = ip + hl;
	if (tot < hl + 8 || tot + 14 > len)
		fu_fail("short UDP");
	plen = tot - hl - 8;
	p = uh + 8;
	if (plen < 4 || p[0] != 0)
		fu_fail("TFTP packet without an opcode");
	switch (p[1]) {
	case 3:
		if (plen > 4 + 1468)
			fu_fail("DATA larger than the negotiated maximum");
		if (memmem(p + 4, plen - 4, marker, sizeof(marker) - 1))
			fu_fail("a file outside the TFTP root was sent");
		break;
	case 5:
	case 6:
		if (p[plen - 1] != 0)
			fu_fail("ERROR/OACK not NUL-terminated");
		break;
	default:
		fu_fail("a TFTP opcode the server never sends");
	}
}

static void put_file(const char *path, const void *d, size_t n)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);

	if (fd < 0 || write(fd, d, n) != (ssize_t)n)
		abort();
	close(fd);
}

static void tftp_fuzz_cleanup(void)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/file", troot);
	unlink(p);
	snprintf(p, sizeof(p), "%s/text", troot);
	unlink(p);
	snprintf(p, sizeof(p), "%s/sub/in", troot);
	unlink(p);
	snprintf(p, sizeof(p), "%s/out", troot);
	unlink(p);
	snprintf(p, sizeof(p), "%s/sub", troot);
	rmdir(p);
	rmdir(troot);
	unlink(tout);
}

static void tftp_fuzz_setup(void)
{
	static uint8_t d[5000];
	char p[128], spec[128];

	snprintf(troot, sizeof(troot), "/tmp/qnet-fuzz-tftp-%d", (int)getpid());
	snprintf(tout, sizeof(tout), "%s.outside", troot);
	mkdir(troot, 0700);
	for (size_t i = 0; i < sizeof(d); i++)
		d[i] = (uint8_t)(i % 9 == 0 ? '\n' : i % 13 == 0 ? '\r' : 'a' + i % 26);
	snprintf(p, sizeof(p), "%s/file", troot);
	put_file(p, d, sizeof(d));
	snprintf(p, sizeof(p), "%s/text", troot);
	put_file(p, "a\nb\r\n\r\r\n", 8);
	snprintf(p, sizeof(p), "%s/sub", troot);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/sub/in", troot);
	if (symlink("../file", p) < 0)
		abort();
	put_file(tout, marker, sizeof(marker) - 1);
	snprintf(p, sizeof(p), "%s/out", troot);
	if (symlink(tout, p) < 0)
		abort();
	atexit(tftp_fuzz_cleanup);
	snprintf(spec, sizeof(spec), "tftp=%s", troot);
	fu_setup(spec);
	fu_check_hook = tftp_check;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	if (!fu_s)
		tftp_fuzz_setup();
	for (int n = 0; off + 4 <= size && n < 64; n++) {
		uint8_t ctl = data[off], sel = data[off + 1], *f = frame + 2;
		size_t len = (size_t)(data[off + 2] << 8 | data[off + 3]);
		const struct tftp_session *ss = &fu_s->tftp.sessions[sel % TFTP_SESSIONS_MAX];
		struct in_addr src = { htonl(0x0a00020f) }, dst = { htonl(0x0a000202) };
		struct iphdr *ip = (struct iphdr *)(void *)(f + 14);
		uint8_t *uh = f + 34, *b = f + 42;
		uint16_t sport = (uint16_t)(5000 + (ctl & 3)), dport = 69, sum;

		off += 4;
		len = MIN(MIN(len, size - off), (size_t)65000);
		memcpy(b, data + off, len);
		off += len;
		if ((ctl & 0x04) && ss->used) {
			dport = ss->tid;
			sport = ss->cport;	/* another port would take the NAT path to the host */
		}
		if ((ctl & 0x08) && len >= 2) {
			b[0] = 0;
			b[1] = sel & 7;
		}
		if (ctl & 0x10)
			sink_advance(fu_k, (uint64_t)sel * 64);
		fu_k->blocked = (ctl & 0x20) != 0;
		memcpy(f, fu_s->gw_mac, 6);
		memcpy(f + 6, "\x52\x54\x00\x12\x34\x56", 6);
		f[12] = 0x08;
		f[13] = 0x00;
		memset(ip, 0, 20);
		ip->version = 4;
		ip->ihl = 5;
		ip->tot_len = htons((uint16_t)(28 + len));
		ip->ttl = 64;
		ip->protocol = IPPROTO_UDP;
		ip->saddr = src.s_addr;
		ip->daddr = dst.s_addr;
		ip->check = csum_ip4_header(ip, 20);
		uh[0] = (uint8_t)(sport >> 8);
		uh[1] = (uint8_t)sport;
		uh[2] = (uint8_t)(dport >> 8);
		uh[3] = (uint8_t)dport;
		uh[4] = (uint8_t)((8 + len) >> 8);
		uh[5] = (uint8_t)(8 + len);
		uh[6] = uh[7] = 0;
		sum = csum_fold(csum_partial(uh, 8 + len,
					     csum_pseudo4(src, dst, IPPROTO_UDP, (uint16_t)(8 + len))));
		memcpy(uh + 6, &sum, 2);
		fu_input(f, 42 + len);
		if (fu_k->blocked)
			sink_unblock(fu_k);
		if (fu_s->tftp.nsessions > TFTP_SESSIONS_MAX)
			fu_fail("more transfers than the table holds");
	}
	fu_k->blocked = false;
	/* every transfer ends with the input: the next one starts from an empty table */
	tftp_fini(fu_s);
	tftp_init(fu_s);
	fu_reset();
	return 0;
}
