// SPDX-License-Identifier: MIT
/* fuzz_redirector.c - libFuzzer target: filter-redirector's indev reassembler and injection */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/opts.h"
#include "cli/chardev_opts.h"
#include "cli/filter_opts.h"
#include "core/chardev.h"
#include "core/filter.h"
#include "core/loop.h"
#include "core/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A client that hashes what it receives */
struct sink {
	struct net_client nc;
	size_t count;
	uint64_t hash;
};

static ssize_t sink_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
				const struct net_meta *meta)
{
	struct sink *s = (struct sink *)nc;
	size_t len = net_iov_size(iov, iovcnt);

	/* software segments of a frame with offloads come in up to 3 pieces */
	if (iovcnt < 1 || iovcnt > 3 || len == 0 || len > NET_BUFSIZE)
		abort();
	s->count++;
	s->hash = s->hash * 1000003u ^ len;
	for (int k = 0; k < iovcnt; k++)
		for (size_t i = 0; i < iov[k].iov_len; i++)
			s->hash = s->hash * 31u + ((const uint8_t *)iov[k].iov_base)[i];
	return (ssize_t)len;
}

static const struct net_client_ops sink_ops = {
	.driver = NET_DRIVER_STREAM,
	.size = sizeof(struct sink),
	.receive = sink_receive,
};

static struct sink *sa, *sb;
static struct chardev *chr;
static char sock_path[64];

static void fuzz_cleanup(void)
{
	net_cleanup_all();
	chardev_cleanup_all();
}

static void setup(void)
{
	struct opts o = { 0 };
	struct error e = { 0 };
	char spec[128];

	loop_init();
	sa = (struct sink *)net_client_new(&sink_ops, NULL, "stream", "a");
	sb = (struct sink *)net_client_new(&sink_ops, &sa->nc, "stream", "b");
	snprintf(sock_path, sizeof(sock_path), "/tmp/qnet-fuzz-redir.%d.sock", (int)getpid());
	snprintf(spec, sizeof(spec), "socket,id=in,path=%s,server=on,wait=off", sock_path);
	if (opts_parse(&o, spec, "backend", &e) < 0 || chardev_opts_create(&o, &e) < 0)
		abort();
	opts_free(&o);
	chr = chardev_find("in");
	atexit(fuzz_cleanup);
}

/* model() - the framing as an independent reference: frames, hash and verdict */
static int model(const uint8_t *p, size_t n, int vnet, size_t *count, uint64_t *hash)
{
	size_t hl = vnet ? 8 : 4;

	while (n) {
		if (n < hl)
			return 0;	/* incomplete header: waits */
		uint32_t len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];

		if (len > NET_BUFSIZE) {
			/* QEMU's check triggers once data beyond the cap arrives */
			if (n - hl > NET_BUFSIZE)
				return -1;
			return 0;
		}
		if (n - hl < len)
			return 0;
		uint32_t vl = vnet ? (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
				     (uint32_t)p[6] << 8 | p[7] : 0;
		const uint8_t *f = p + hl;
		size_t flen = len;

		if (vl) {
			/* a virtio-net header: 10 or 12 bytes taken off the front, else dropped */
			if ((vl != 10 && vl != 12) || len < vl) {
				flen = 0;
			} else {
				/* metadata that asks for offloads: segmented, not modelled here */
				if ((f[0] & 1) || f[1])
					return 1;
				f += vl;
				flen -= vl;
			}
		}
		if (flen) {
			(*count)++;
			*hash = *hash * 1000003u ^ flen;
			for (size_t i = 0; i < flen; i++)
				*hash = *hash * 31u + f[i];
		}
		p += hl + len;
		n -= hl + len;
	}
	return 0;
}

/*
 * Input: [flags][nsizes][sizes...][stream]. flags bit 0: vnet_hdr_support (the
 * vnet header length field then carries a virtio-net header of 10 or 12 bytes),
 * bits 1-2: queue (rx, tx, all). The stream is fed in pieces; what reaches the
 * two clients must match the reference model, whatever the split.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const queues[] = { "rx", "tx", "all", "all" };
	struct opts o = { 0 };
	struct error e = { 0 };
	char spec[160];
	size_t nsizes, off = 0, k = 0, mcount = 0;
	uint64_t mhash = 0;
	int vnet, q, verdict;

	if (!sa)
		setup();
	if (size < 2)
		return 0;
	vnet = data[0] & 1;
	q = (data[0] >> 1) & 3;
	nsizes = data[1] % 16;
	if (size < 2 + nsizes)
		return 0;
	const uint8_t *sizes = data + 2, *p = data + 2 + nsizes;
	size_t n = size - 2 - nsizes;

	snprintf(spec, sizeof(spec), "filter-redirector,id=r,netdev=a,indev=in,queue=%s%s",
		 queues[q], vnet ? ",vnet_hdr_support=on" : "");
	if (opts_parse(&o, spec, "qom-type", &e) < 0 || filter_opts_add(&o, &e) < 0)
		abort();
	opts_free(&o);
	sa->count = sb->count = 0;
	sa->hash = sb->hash = 0;
	while (off < n) {
		size_t piece = nsizes ? (size_t)sizes[k++ % nsizes] * 97 % 4099 + 1 : n;

		piece = piece > n - off ? n - off : piece;
		chardev_test_feed(chr, p + off, piece);
		off += piece;
	}
	verdict = model(p, n, vnet, &mcount, &mhash);
	/* after an oversized frame the model stops; so does the real reader's stream state,
	 * but it may resynchronise on what follows: compare only the clean case (and not
	 * when a frame carried offload metadata: its software segments are not modelled) */
	if (verdict == 0) {
		struct sink *tx = sb, *rx = sa;	/* tx: delivered to a's peer b; rx: to a */

		if ((q == 1 || q >= 2) && (tx->count != mcount || tx->hash != mhash))
			abort();
		if ((q == 0 || q >= 2) && (rx->count != mcount || rx->hash != mhash))
			abort();
		if (q == 0 && tx->count)
			abort();
		if (q == 1 && rx->count)
			abort();
	}
	if (filter_object_del("r", &e) < 0)
		abort();
	return 0;
}
