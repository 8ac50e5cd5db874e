// SPDX-License-Identifier: MIT
/* fuzz_gso.c - libFuzzer target: software segmentation of a frame with arbitrary metadata */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/gso.h"
#include "core/loop.h"
#include "core/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* a receiver that checks and hashes every segment; stalls now and then */
struct sink {
	struct net_client nc;
	unsigned stall_every, calls;
	size_t frames;
	uint64_t hash;
};

static ssize_t sink_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
			    const struct net_meta *meta)
{
	struct sink *s = (struct sink *)(void *)nc;
	size_t len = net_iov_size(iov, iovcnt);

	if (iovcnt < 1 || iovcnt > 3 || len == 0 || len > NET_BUFSIZE)
		abort();
	if (meta && !gso_accepts(meta, nc->offloads))
		abort();	/* the core handed over offloads the receiver did not take */
	if (s->stall_every && ++s->calls % s->stall_every == 0)
		return 0;
	s->frames++;
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

static ssize_t src_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
			   const struct net_meta *meta)
{
	return (ssize_t)net_iov_size(iov, iovcnt);
}

static const struct net_client_ops src_ops = {
	.driver = NET_DRIVER_TAP,
	.size = sizeof(struct net_client),
	.receive = src_receive,
};

static struct net_client *src;
static struct sink *dst;
static struct gso_scratch scratch;

static size_t direct_segs;
static ssize_t direct_emit(void *opaque, const struct iovec *iov, int iovcnt)
{
	size_t len = net_iov_size(iov, iovcnt);

	if (iovcnt < 1 || iovcnt > 3 || len > GSO_FRAME_MAX)
		abort();
	direct_segs++;
	return 1;
}

static void fuzz_cleanup(void)
{
	net_cleanup_all();
	gso_scratch_free(&scratch);
}

/*
 * Input: [10-byte virtio-net header][offloads][stall][pieces][frame...].
 * The frame goes through gso_segment() directly (in @pieces iovecs), then
 * through the core to a receiver with @offloads that says 0 every @stall
 * frames; every segment must be sane and the frame fully delivered.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net_meta meta;
	struct iovec v[3];
	const uint8_t *f;
	size_t flen;
	unsigned done = 0, pieces;
	int r, cnt;

	if (!src) {
		loop_init();
		src = net_client_new(&src_ops, NULL, "src", "src");
		dst = (struct sink *)(void *)net_client_new(&sink_ops, src, "sink", "dst");
		atexit(fuzz_cleanup);
	}
	if (size < NET_VNET_HDR_LEN + 3 + 1)
		return 0;
	gso_vnet_hdr_get(&meta, data);
	dst->nc.offloads = data[10] & NET_OFF_ALL;
	dst->stall_every = data[11] % 4 == 1 ? 0 : data[11] % 4;
	pieces = data[12] % 3 + 1;
	f = data + 13;
	flen = size - 13;
	if (flen > NET_BUFSIZE)
		return 0;

	/* directly, in 1 to 3 pieces */
	cnt = 0;
	v[cnt++] = (struct iovec){ (void *)f, pieces == 1 ? flen : flen / pieces };
	if (pieces > 1)
		v[cnt++] = (struct iovec){ (void *)(f + v[0].iov_len),
					   pieces == 2 ? flen - v[0].iov_len : flen / pieces };
	if (pieces > 2)
		v[cnt++] = (struct iovec){ (void *)(f + v[0].iov_len + v[1].iov_len),
					   flen - v[0].iov_len - v[1].iov_len };
	direct_segs = 0;
	if (!net_meta_is_plain(&meta)) {
		r = gso_segment(&scratch, v, cnt, &meta, 0, &done, direct_emit, NULL);
		if (r < 0 ? direct_segs != 0 : (size_t)r != direct_segs)
			abort();
	}

	/* through the core, with stalls: the queue keeps the frame and its progress */
	dst->calls = 0;
	dst->frames = 0;
	r = (int)net_send_meta(src, v, cnt, &meta, NULL);
	for (int i = 0; i < 100000 && net_queue_len(&dst->nc); i++)
		net_flush_queued(&dst->nc);
	if (net_queue_len(&dst->nc))
		abort();
	if (r >= 0 && !net_meta_is_plain(&meta) && !gso_accepts(&meta, dst->nc.offloads) &&
	    dst->frames != direct_segs)
		abort();
	return 0;
}
