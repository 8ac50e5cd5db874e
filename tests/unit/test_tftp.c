// SPDX-License-Identifier: MIT
// test_tftp.c - the user stack's TFTP server: transfers, options, windows, timers, errors, bounds

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/ip.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stack/csum.h"
#include "stack/stack.h"
#include "sink.h"
#include "test.h"

/*
 * The guest (10.0.2.15) talks to the gateway through a sink (no sockets);
 * the served directory is a temporary one with a file, a symlink inside,
 * a symlink outside, a sub-directory and a file next to the root.
 */

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static char root[64], outside[80];
static uint8_t content[10000];

/* tx() - a UDP datagram from the guest 10.0.2.15:@sport to 10.0.2.2:@dport */
static void tx(struct sink *k, uint16_t sport, uint16_t dport, const void *p, size_t len)
{
	static uint8_t f[14 + 20 + 8 + 70000] __attribute__((aligned(8)));
	struct iphdr ip = { 0 };
	struct in_addr src, dst;
	uint8_t *u = f + 34;
	uint16_t c;

	inet_aton("10.0.2.15", &src);
	inet_aton("10.0.2.2", &dst);
	memcpy(f, "\x52\x55\x0a\x00\x02\x02", 6);
	memcpy(f + 6, guest_mac, 6);
	f[12] = 0x08;
	f[13] = 0;
	ip.version = 4;
	ip.ihl = 5;
	ip.ttl = 64;
	ip.protocol = IPPROTO_UDP;
	ip.tot_len = htons((uint16_t)(28 + len));
	ip.saddr = src.s_addr;
	ip.daddr = dst.s_addr;
	ip.check = csum_ip4_header(&ip, 20);
	memcpy(f + 14, &ip, 20);
	u[0] = (uint8_t)(sport >> 8);
	u[1] = (uint8_t)sport;
	u[2] = (uint8_t)(dport >> 8);
	u[3] = (uint8_t)dport;
	u[4] = (uint8_t)((8 + len) >> 8);
	u[5] = (uint8_t)(8 + len);
	u[6] = u[7] = 0;
	memcpy(u + 8, p, len);
	c = csum_fold(csum_partial(u, 8 + len, csum_pseudo4(src, dst, IPPROTO_UDP,
							     (uint16_t)(8 + len))));
	memcpy(u + 6, &c, 2);
	sink_input(k, f, 34 + 8 + len);
}

/* rrq() - a read request: name, mode, then option pairs ("blksize", "1468", ...) */
static void rrq(struct sink *k, uint16_t sport, const char *name, const char *mode,
		const char *const *opts, int nopts)
{
	uint8_t b[1024];
	size_t n = 2;

	b[0] = 0;
	b[1] = 1;
	memcpy(b + n, name, strlen(name) + 1);
	n += strlen(name) + 1;
	memcpy(b + n, mode, strlen(mode) + 1);
	n += strlen(mode) + 1;
	for (int i = 0; i < nopts; i++) {
		memcpy(b + n, opts[i], strlen(opts[i]) + 1);
		n += strlen(opts[i]) + 1;
	}
	tx(k, sport, 69, b, n);
}

static void ack(struct sink *k, uint16_t sport, uint16_t tid, uint16_t blk)
{
	uint8_t b[4] = { 0, 4, (uint8_t)(blk >> 8), (uint8_t)blk };

	tx(k, sport, tid, b, 4);
}

/* the UDP payload of recorded frame @i, its ports and length */
static const uint8_t *rx(struct sink *k, int i, uint16_t *sport, uint16_t *dport, size_t *len)
{
	const uint8_t *f = k->f[i];

	*sport = (uint16_t)(f[34] << 8 | f[35]);
	*dport = (uint16_t)(f[36] << 8 | f[37]);
	*len = (size_t)(f[38] << 8 | f[39]) - 8;
	return f + 42;
}

/* expect_error() - frame @i is a TFTP ERROR @code with @msg, to @dport */
static void expect_error(struct sink *k, int i, uint16_t dport, uint16_t code, const char *msg)
{
	uint16_t sp, dp;
	size_t len;
	const uint8_t *p;

	CHECK(k->n > i);
	if (k->n <= i)
		return;
	p = rx(k, i, &sp, &dp, &len);
	CHECK(dp == dport && p[0] == 0 && p[1] == 5 && p[2] == 0 && p[3] == code);
	CHECK(len > 4 && p[len - 1] == 0);
	CHECK_STR((const char *)p + 4, msg);
}

static struct sink *new_sink(const char *spec)
{
	struct error e = { 0 };
	struct sink *k = sink_new("t", spec, &e);

	if (!k)
		fprintf(stderr, "  %s: %s\n", spec, e.msg);
	return k;
}

static void setup_root(void)
{
	char p[128];
	int fd;

	snprintf(root, sizeof(root), "/tmp/qnet-tftp-%d", (int)getpid());
	snprintf(outside, sizeof(outside), "%s-secret", root);
	mkdir(root, 0700);
	for (size_t i = 0; i < sizeof(content); i++)
		content[i] = (uint8_t)(i * 7 + i / 251);
	snprintf(p, sizeof(p), "%s/f10000", root);
	fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, content, sizeof(content)) == (ssize_t)sizeof(content));
	close(fd);
	snprintf(p, sizeof(p), "%s/f1024", root);
	fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, content, 1024) == 1024);
	close(fd);
	snprintf(p, sizeof(p), "%s/text", root);
	fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, "abcdefg\nx\r", 10) == 10);
	close(fd);
	fd = open(outside, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, "secret", 6) == 6);
	close(fd);
	snprintf(p, sizeof(p), "%s/sub", root);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/sub/in", root);
	CHECK(symlink("../f1024", p) == 0);
	snprintf(p, sizeof(p), "%s/out", root);
	CHECK(symlink(outside, p) == 0);
}

static void cleanup_root(void)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", root, outside);
	CHECK(system(cmd) == 0);
}

static char spec_root[128];

/* a plain octet transfer: 512-byte blocks from a fresh port, ACKs, the end */
static void test_octet(void)
{
	struct sink *k = new_sink(spec_root);
	uint16_t sp, dp, tid;
	size_t len;
	const uint8_t *p;

	if (!k)
		return;
	rrq(k, 2000, "f1024", "octet", NULL, 0);
	CHECK(k->n == 1);
	p = rx(k, 0, &tid, &dp, &len);
	CHECK(tid >= TFTP_TID_FIRST && dp == 2000);
	CHECK(len == 516 && p[1] == 3 && p[3] == 1 && !memcmp(p + 4, content, 512));
	CHECK(k->s->tftp.nsessions == 1);
	/* a duplicate ACK of block 0 and an ACK of a block never sent: nothing */
	ack(k, 2000, tid, 0);
	ack(k, 2000, tid, 7);
	CHECK(k->n == 1 && k->s->tftp.stats.dup_ack == 2);
	ack(k, 2000, tid, 1);
	CHECK(k->n == 2);
	p = rx(k, 1, &sp, &dp, &len);
	CHECK(sp == tid && len == 516 && p[3] == 2 && !memcmp(p + 4, content + 512, 512));
	ack(k, 2000, tid, 1);	/* duplicate: no sorcerer's apprentice */
	CHECK(k->n == 2);
	ack(k, 2000, tid, 2);
	CHECK(k->n == 3);
	p = rx(k, 2, &sp, &dp, &len);
	CHECK(len == 4 && p[3] == 3);	/* the empty last block */
	ack(k, 2000, tid, 3);
	CHECK(k->s->tftp.nsessions == 0 && k->s->tftp.stats.done == 1);
	/* a second transfer gets another port */
	rrq(k, 2001, "f1024", "OCTET", NULL, 0);
	p = rx(k, 3, &sp, &dp, &len);
	CHECK(k->n == 4 && sp != tid && sp >= TFTP_TID_FIRST && p[3] == 1);
	/* its port from another client port: not TFTP's (the NAT path) */
	ack(k, 2002, sp, 1);
	CHECK(k->n == 4 && k->s->tftp.nsessions == 1);
	/* the client's ERROR ends the transfer */
	{
		uint8_t err[] = { 0, 5, 0, 0, 'x', 0 };

		tx(k, 2001, sp, err, sizeof(err));
	}
	CHECK(k->s->tftp.nsessions == 0);
	sink_free(k);
}

/* options: OACK first, data after ACK 0; windows of 4; the last window shorter */
static void test_options_window(void)
{
	static const char *const o[] = { "blksize", "1000", "tsize", "0", "windowsize", "4",
					 "timeout", "3", "bogus", "1" };
	static const char *const big[] = { "BLKSIZE", "9000", "windowsize", "1000" };
	struct sink *k = new_sink(spec_root);
	uint16_t sp, dp, tid;
	size_t len;
	const uint8_t *p;
	static const uint8_t want[] = "\0\6blksize\0" "1000\0tsize\0" "10000\0timeout\0" "3\0"
				      "windowsize\0" "4";

	if (!k)
		return;
	rrq(k, 3000, "f10000", "octet", o, 10);
	CHECK(k->n == 1);
	p = rx(k, 0, &tid, &dp, &len);
	CHECK(len == sizeof(want) && !memcmp(p, want, sizeof(want)));
	ack(k, 3000, tid, 0);
	CHECK(k->n == 5);
	for (int i = 1; i <= 4; i++) {
		p = rx(k, i, &sp, &dp, &len);
		CHECK(len == 1004 && p[3] == i && !memcmp(p + 4, content + (i - 1) * 1000, 1000));
	}
	/* a partial ACK: the next window starts after block 2 (RFC 7440) */
	ack(k, 3000, tid, 2);
	CHECK(k->n == 9);
	p = rx(k, 5, &sp, &dp, &len);
	CHECK(p[3] == 3);
	p = rx(k, 8, &sp, &dp, &len);
	CHECK(p[3] == 6);
	ack(k, 3000, tid, 6);
	CHECK(k->n == 13);
	ack(k, 3000, tid, 10);
	CHECK(k->n == 14);	/* block 11, empty: the file is 10 full blocks */
	p = rx(k, 13, &sp, &dp, &len);
	CHECK(len == 4 && p[3] == 11);
	ack(k, 3000, tid, 11);
	CHECK(k->s->tftp.nsessions == 0);
	/* blksize above the MTU's room is cut to 1468, windowsize to TFTP_WINDOW_MAX */
	rrq(k, 3001, "f10000", "octet", big, 4);
	p = rx(k, 14, &tid, &dp, &len);
	CHECK(len == 2 + 8 + 5 + 11 + 3 && !memcmp(p + 2, "blksize\0" "1468\0windowsize\0" "64", 27));
	ack(k, 3001, tid, 0);
	CHECK(k->n == 14 + 1 + 7);	/* 10000 bytes: 6 full blocks and a short one */
	p = rx(k, 21, &sp, &dp, &len);
	CHECK(len == 4 + 10000 - 6 * 1468 && p[3] == 7);
	sink_free(k);
}

/* netascii: LF -> CR LF, CR -> CR NUL, also across a block boundary */
static void test_netascii(void)
{
	static const char *const o[] = { "blksize", "8" };
	struct sink *k = new_sink(spec_root);
	uint16_t sp, dp, tid;
	size_t len;
	const uint8_t *p;

	if (!k)
		return;
	rrq(k, 4000, "text", "netascii", NULL, 0);
	p = rx(k, 0, &tid, &dp, &len);
	CHECK(len == 4 + 12 && !memcmp(p + 4, "abcdefg\r\nx\r\0", 12));
	ack(k, 4000, tid, 1);
	CHECK(k->s->tftp.nsessions == 0);
	rrq(k, 4001, "text", "NetASCII", o, 2);
	p = rx(k, 1, &tid, &dp, &len);
	ack(k, 4001, tid, 0);
	p = rx(k, 2, &sp, &dp, &len);
	CHECK(len == 12 && !memcmp(p + 4, "abcdefg\r", 8));
	/* the retransmission of block 1 after a timeout is the same */
	sink_advance(k, 3000);
	p = rx(k, 3, &sp, &dp, &len);
	CHECK(k->n == 4 && len == 12 && p[3] == 1 && !memcmp(p + 4, "abcdefg\r", 8));
	ack(k, 4001, tid, 1);
	p = rx(k, 4, &sp, &dp, &len);
	CHECK(len == 4 + 4 && p[3] == 2 && !memcmp(p + 4, "\nx\r\0", 4));
	ack(k, 4001, tid, 2);
	CHECK(k->s->tftp.nsessions == 0);
	sink_free(k);
}

/* retransmission with back-off, then the transfer is given up */
static void test_timeouts(void)
{
	struct sink *k = new_sink(spec_root);
	uint16_t tid, dp;
	size_t len;

	if (!k)
		return;
	rrq(k, 5000, "f1024", "octet", NULL, 0);
	rx(k, 0, &tid, &dp, &len);
	sink_advance(k, 999);
	CHECK(k->n == 1);
	sink_advance(k, 1);
	CHECK(k->n == 2);		/* after 1 s */
	sink_advance(k, 1999);
	CHECK(k->n == 2);
	sink_advance(k, 1);
	CHECK(k->n == 3);		/* then 2 s */
	/* the repeated request (our answer lost) is answered again, not a new transfer */
	rrq(k, 5000, "f1024", "octet", NULL, 0);
	CHECK(k->n == 4 && k->s->tftp.nsessions == 1);
	for (int i = 0; i < 10; i++)
		sink_advance(k, TFTP_RTO_MAX_MS);
	CHECK(k->s->tftp.nsessions == 0 && k->s->tftp.stats.gave_up == 1);
	CHECK(k->n == 1 + TFTP_RETRIES + 1);
	/* after an ACK, a new request from the same port replaces the transfer */
	rrq(k, 5001, "f1024", "octet", NULL, 0);
	rx(k, k->n - 1, &tid, &dp, &len);
	ack(k, 5001, tid, 1);
	CHECK(k->s->tftp.nsessions == 1 && k->s->tftp.sessions[0].acked == 1);
	rrq(k, 5001, "f10000", "octet", NULL, 0);
	CHECK(k->s->tftp.nsessions == 1 && k->s->tftp.sessions[0].acked == 0 &&
	      k->s->tftp.sessions[0].sent == 1);
	sink_free(k);
}

static void test_errors(void)
{
	struct sink *k = new_sink(spec_root);
	uint8_t b[2 + 70000];
	int n = 0;

	if (!k)
		return;
	rrq(k, 6000, "nothere", "octet", NULL, 0);
	expect_error(k, n++, 6000, 1, "File not found");
	rrq(k, 6000, "../qnet-tftp-x", "octet", NULL, 0);
	expect_error(k, n++, 6000, 2, "Access violation");
	rrq(k, 6000, "sub/../f1024", "octet", NULL, 0);
	expect_error(k, n++, 6000, 2, "Access violation");
	rrq(k, 6000, "/etc/passwd", "octet", NULL, 0);
	expect_error(k, n++, 6000, 2, "Access violation");
	rrq(k, 6000, "out", "octet", NULL, 0);		/* symlink leaving the root */
	expect_error(k, n++, 6000, 2, "Access violation");
	rrq(k, 6000, "sub", "octet", NULL, 0);		/* a directory */
	expect_error(k, n++, 6000, 2, "Access violation");
	rrq(k, 6000, "sub/", "octet", NULL, 0);
	expect_error(k, n++, 6000, 2, "Access violation");
	rrq(k, 6000, "", "octet", NULL, 0);
	expect_error(k, n++, 6000, 2, "Access violation");
	rrq(k, 6000, "f1024", "mail", NULL, 0);
	expect_error(k, n++, 6000, 4, "Unsupported transfer mode");
	/* WRQ */
	memcpy(b, "\0\2f1024\0octet\0", 14);
	tx(k, 6000, 69, b, 14);
	expect_error(k, n++, 6000, 4, "Illegal operation");
	/* no NUL after the name; no mode */
	memcpy(b, "\0\1f1024", 7);
	tx(k, 6000, 69, b, 7);
	expect_error(k, n++, 6000, 4, "Illegal operation");
	memcpy(b, "\0\1f1024\0", 8);
	tx(k, 6000, 69, b, 8);
	expect_error(k, n++, 6000, 4, "Illegal operation");
	/* a 513-byte name */
	b[0] = 0;
	b[1] = 1;
	memset(b + 2, 'a', 513);
	memcpy(b + 515, "\0octet\0", 7);
	tx(k, 6000, 69, b, 522);
	expect_error(k, n++, 6000, 2, "Access violation");
	/* ACK, DATA, a short packet and an unknown opcode to port 69: dropped */
	tx(k, 6000, 69, "\0\4\0\1", 4);
	tx(k, 6000, 69, "\0\3\0\1xx", 6);
	tx(k, 6000, 69, "\0", 1);
	tx(k, 6000, 69, "\0\11", 2);
	CHECK(k->n == n && k->s->tftp.nsessions == 0);
	/* a symlink inside the root is followed; 60000 bytes of options are read and ignored */
	b[0] = 0;
	b[1] = 1;
	memcpy(b + 2, "sub/in\0octet\0", 13);
	memset(b + 15, 'o', 60000);
	b[15 + 60000] = 0;
	memcpy(b + 15 + 60001, "1\0", 2);
	tx(k, 6000, 69, b, 15 + 60003);
	CHECK(k->n == n + 1 && k->f[n][43] == 3 && !memcmp(k->f[n] + 46, content, 512));
	sink_free(k);

	/* without tftp=: port 69 answers "Access violation" (libslirp) */
	k = new_sink("");
	if (!k)
		return;
	rrq(k, 6001, "f1024", "octet", NULL, 0);
	expect_error(k, 0, 6001, 2, "Access violation");
	sink_free(k);
}

/* at most TFTP_SESSIONS_MAX transfers; restrict=on still serves TFTP */
static void test_bounds(void)
{
	char spec[200];
	struct sink *k;

	snprintf(spec, sizeof(spec), "%s,restrict=on", spec_root);
	k = new_sink(spec);
	if (!k)
		return;
	for (int i = 0; i < TFTP_SESSIONS_MAX; i++)
		rrq(k, (uint16_t)(7000 + i), "f1024", "octet", NULL, 0);
	CHECK(k->n == TFTP_SESSIONS_MAX && k->s->tftp.nsessions == TFTP_SESSIONS_MAX);
	for (int i = 0; i < TFTP_SESSIONS_MAX; i++)
		for (int j = 0; j < i; j++)
			CHECK(k->f[i][34] != k->f[j][34] || k->f[i][35] != k->f[j][35]);
	rrq(k, 8000, "f1024", "octet", NULL, 0);
	expect_error(k, TFTP_SESSIONS_MAX, 8000, 0, "Server busy");
	CHECK(k->s->tftp.stats.busy == 1);
	sink_free(k);	/* closes every file: ASan/valgrind and the fd count would see leaks */
}

/* the guest path is busy: the window stops and goes on when it drains */
static void test_guest_busy(void)
{
	static const char *const o[] = { "windowsize", "8" };
	struct sink *k = new_sink(spec_root);
	uint16_t tid, dp;
	size_t len;

	if (!k)
		return;
	rrq(k, 9000, "f10000", "octet", o, 2);
	rx(k, 0, &tid, &dp, &len);
	k->blocked = true;
	ack(k, 9000, tid, 0);
	CHECK(k->nq == 1 && k->s->tftp.sessions[0].stalled);
	sink_unblock(k);
	CHECK(k->n == 1 + 8);
	CHECK(k->f[8][45] == 8);
	sink_free(k);
}

int main(void)
{
	setup_root();
	snprintf(spec_root, sizeof(spec_root), "tftp=%s", root);
	RUN(test_octet);
	RUN(test_options_window);
	RUN(test_netascii);
	RUN(test_timeouts);
	RUN(test_errors);
	RUN(test_bounds);
	RUN(test_guest_busy);
	cleanup_root();
	TEST_DONE();
}
