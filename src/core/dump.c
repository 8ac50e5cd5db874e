// SPDX-License-Identifier: MIT
// dump.c - filter-dump: every frame a netdev sends or receives, to a classic pcap file

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "filter.h"
#include "gso.h"
#include "log.h"
#include "loop.h"

/*
 * DOC: pcap format and timing
 *
 * As QEMU's net/dump.c: a 24-byte global header and a 16-byte header per
 * frame, all in host byte order (magic 0xa1b2c3d4 microsecond pcap, version
 * 2.4, snaplen = maxlen, linktype 1 = Ethernet). caplen = min(len, maxlen).
 *
 * Timestamps: QEMU adds its virtual clock to the wall-clock time at filter
 * creation. qnet has no virtual clock (nothing is ever paused), so it stamps
 * each frame with the real clock (CLOCK_REALTIME) when the filter sees it.
 *
 * Records are collected in a fixed buffer (allocated at creation, never per
 * frame) and written once per loop iteration from a deferred handler, so a
 * reader such as tshark sees complete records while qnet runs. A record that
 * doesn't fit the buffer is written directly. A failed write closes the file
 * (QEMU's message); later frames are ignored. Frames are never consumed.
 *
 * A frame with offloads (a 64 KiB TSO frame, a partial checksum) is written as
 * a tap without offloads would see it: the software segments, checksums
 * complete (gso.c). A frame whose metadata does not fit it is not written.
 */

#define PCAP_MAGIC	0xa1b2c3d4u
#define DUMP_MAXLEN_DEF	65536
#define DUMP_BUF_SIZE	(64 * 1024)

struct pcap_file_hdr {
	uint32_t magic;
	uint16_t version_major;
	uint16_t version_minor;
	int32_t thiszone;
	uint32_t sigfigs;
	uint32_t snaplen;
	uint32_t linktype;
};

struct pcap_rec_hdr {
	uint32_t ts_sec;
	uint32_t ts_usec;
	uint32_t caplen;
	uint32_t len;
};

/**
 * struct dump_filter - one filter-dump
 * @f:		common part
 * @file:	file= as given
 * @maxlen:	snap length
 * @fd:		the pcap file, -1 after a write error
 * @buf:	pending records (DUMP_BUF_SIZE bytes)
 * @used:	bytes pending in @buf
 * @flush:	deferred write of @buf
 * @size:	file size after the last complete record
 */
struct dump_filter {
	struct filter f;
	char *file;
	uint32_t maxlen;
	int fd;
	uint8_t *buf;
	size_t used;
	struct loop_defer flush;
	off_t size;
	struct gso_scratch gso;
};

/* dump_write_all() - write @len bytes, retrying short writes and EINTR; 0 or -1 */
static int dump_write_all(int fd, const void *p, size_t len)
{
	const uint8_t *b = p;

	while (len) {
		ssize_t n = write(fd, b, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

/* dump_stop() - after a failed write; a partly written record is cut off so
 * that the file stays readable */
static void dump_stop(struct dump_filter *d)
{
	error_report("network dump write error - stopping dump");
	if (ftruncate(d->fd, d->size) < 0)
		debug("dump %s: ftruncate: %m", d->file);
	close(d->fd);
	d->fd = -1;
	d->used = 0;
}

/* dump_flush() - write the pending records */
static void dump_flush(struct dump_filter *d)
{
	if (d->fd >= 0 && d->used) {
		if (dump_write_all(d->fd, d->buf, d->used) < 0)
			dump_stop(d);
		else
			d->size += (off_t)d->used;
	}
	d->used = 0;
}

static void dump_flush_cb(struct loop_defer *df)
{
	dump_flush(df->opaque);
}

/*
 * dump_setup() - file and maxlen (cli/filter_opts.c checked them: file is
 * required, as QEMU 7.2's QAPI visitor says "Parameter 'file' is missing")
 */
static int dump_setup(struct filter *f, const struct filter_config *cfg, struct error *e)
{
	struct dump_filter *d = container_of(f, struct dump_filter, f);

	d->fd = -1;
	d->maxlen = cfg->maxlen ? cfg->maxlen : DUMP_MAXLEN_DEF;
	if (!cfg->file)
		return err_set(e, "Parameter 'file' is missing");
	d->file = xstrdup(cfg->file);
	return 0;
}

/* dump_complete() - create the file and write the global header */
static int dump_complete(struct filter *f, struct error *e)
{
	struct dump_filter *d = container_of(f, struct dump_filter, f);
	struct pcap_file_hdr h = {
		.magic = PCAP_MAGIC,
		.version_major = 2,
		.version_minor = 4,
		.snaplen = d->maxlen,
		.linktype = 1,
	};

	d->fd = open(d->file, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
	if (d->fd < 0)
		return err_set_errno(e, errno, "net dump: can't open %s", d->file);
	if (dump_write_all(d->fd, &h, sizeof(h)) < 0) {
		err_set_errno(e, errno, "net dump write error");
		close(d->fd);
		d->fd = -1;
		return -1;
	}
	d->size = sizeof(h);
	d->buf = xmalloc(DUMP_BUF_SIZE);
	loop_defer_init(&d->flush, dump_flush_cb, d);
	return 0;
}

/* dump_direct() - a record too big for the buffer: header and data in one writev */
static void dump_direct(struct dump_filter *d, const struct pcap_rec_hdr *h,
			const struct iovec *iov, int iovcnt)
{
	size_t left = h->caplen;

	if (dump_write_all(d->fd, h, sizeof(*h)) < 0)
		goto fail;
	for (int i = 0; i < iovcnt && left; i++) {
		size_t n = MIN(left, iov[i].iov_len);

		if (dump_write_all(d->fd, iov[i].iov_base, n) < 0)
			goto fail;
		left -= n;
	}
	d->size += (off_t)(sizeof(*h) + h->caplen);
	return;
fail:
	dump_stop(d);
}

/* dump_record() - one plain frame into the file (through the buffer); always 1 */
static ssize_t dump_record(void *opaque, const struct iovec *iov, int iovcnt)
{
	struct dump_filter *d = opaque;
	size_t len = net_iov_size(iov, iovcnt);
	struct pcap_rec_hdr h;
	struct timespec ts;
	size_t rec;

	if (d->fd < 0)
		return 1;
	clock_gettime(CLOCK_REALTIME, &ts);
	h.ts_sec = (uint32_t)ts.tv_sec;
	h.ts_usec = (uint32_t)(ts.tv_nsec / 1000);
	h.caplen = (uint32_t)MIN(len, (size_t)d->maxlen);
	h.len = (uint32_t)MIN(len, (size_t)UINT32_MAX);
	rec = sizeof(h) + h.caplen;

	if (d->used + rec > DUMP_BUF_SIZE)
		dump_flush(d);
	if (d->fd < 0)
		return 1;
	if (rec > DUMP_BUF_SIZE) {
		dump_direct(d, &h, iov, iovcnt);
		return 1;
	}
	memcpy(d->buf + d->used, &h, sizeof(h));
	net_iov_copy(d->buf + d->used + sizeof(h), h.caplen, iov, iovcnt);
	d->used += rec;
	loop_defer(&d->flush);
	return 1;
}

static ssize_t dump_receive(struct filter *f, struct net_client *sender, enum filter_dir dir,
			    const struct iovec *iov, int iovcnt, const struct net_meta *meta)
{
	struct dump_filter *d = container_of(f, struct dump_filter, f);
	unsigned done;

	if (d->fd < 0)
		return 0;
	if (net_meta_is_plain(meta))
		dump_record(d, iov, iovcnt);
	else
		gso_segment(&d->gso, iov, iovcnt, meta, 0, &done, dump_record, d);
	return 0;
}

static void dump_cleanup(struct filter *f)
{
	struct dump_filter *d = container_of(f, struct dump_filter, f);

	if (d->buf) {
		loop_defer_cancel(&d->flush);
		dump_flush(d);
	}
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	free(d->buf);
	d->buf = NULL;
	gso_scratch_free(&d->gso);
	free(d->file);
	d->file = NULL;
}

static void dump_props(struct filter *f, struct sbuf *out)
{
	struct dump_filter *d = container_of(f, struct dump_filter, f);

	sbuf_printf(out, ",file=%s,maxlen=%u", d->file, d->maxlen);
}

const struct filter_ops filter_dump_ops = {
	.type = "filter-dump",
	.size = sizeof(struct dump_filter),
	.setup = dump_setup,
	.receive = dump_receive,
	.cleanup = dump_cleanup,
	.props = dump_props,
	.complete = dump_complete,
};
