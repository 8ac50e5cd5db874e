// SPDX-License-Identifier: MIT
// filter_mirror.c - filter-mirror and filter-redirector: frames to and from a chardev, QEMU framing

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chardev.h"
#include "filter.h"
#include "gso.h"
#include "log.h"
#include "reasm.h"

/*
 * DOC: Theory of operation
 *
 * Both filters write a frame to their outdev chardev as QEMU's filter_send()
 * does: a 4-byte big-endian length, with vnet_hdr_support=on a 4-byte
 * big-endian vnet header length, then the frame. An empty frame writes nothing.
 *
 * Offloads: with vnet_hdr_support=on a frame that carries offload metadata (a
 * TSO frame from a vnet_hdr tap, a partial checksum) is written whole with its
 * virtio-net header in front, as QEMU does for a netdev with a vnet header:
 * length = 10 + frame, vnet header length = 10, the 10-byte header (little
 * endian), the frame; plain frames keep vnet header length 0 and no header.
 * Without vnet_hdr_support such a frame is written as its software segments
 * (gso.c), so the other end gets what a tap without offloads would. The
 * redirector's indev reads the same framing: a vnet header length of 10 or 12
 * is taken off the front of the frame into its metadata, 0 means a plain
 * frame, anything else drops the frame (counted).
 *
 * filter-mirror passes every frame on (return 0), written or not.
 * filter-redirector with an outdev consumes every frame that reaches it (QEMU
 * tests whether the outdev chardev is *set*, not whether a peer is connected:
 * without a peer the frame is lost); without an outdev it passes frames on.
 *
 * QEMU writes synchronously and stalls its main loop until the chardev peer
 * has read the bytes. qnet never blocks: records go into the chardev's
 * bounded output buffer, and a record that doesn't fit, or has no connected
 * peer, is dropped and counted (info chardev-stats... see chardev.h). The
 * first failure after a success is reported with QEMU's message
 * ("filter mirror send failed(...)"), later ones only counted, so a dead peer
 * doesn't flood the log.
 *
 * The redirector's indev input is reassembled by the shared reassembler
 * (reasm.h: QEMU's net_fill_rstate(), length, [vnet header length,] data;
 * NET_BUFSIZE cap), the same one the stream and socket netdevs use. Each frame is injected after this filter: with
 * queue=tx as sent by the netdev, with queue=rx as sent by its peer, and with
 * queue=all both (QEMU's behaviour, kept: the frame goes out through the
 * netdev and to its peer). A zero-length frame is skipped. An oversized frame
 * prints QEMU's "serious error: oversized packet received,connection
 * terminated." and qnet drops that connection (QEMU stops reading the chardev
 * for good). QEMU also stops reading indev forever after its first
 * disconnect; qnet resets the reassembler and reads the next connection.
 * Reading pauses while status=off, as in QEMU.
 */

#define REDIR_OVERSIZED_MSG REASM_OVERSIZED_MSG

/**
 * struct mirror_filter - filter-mirror or filter-redirector (QEMU's MirrorState)
 * @f:		common part
 * @indev, @outdev: chardev ids as given
 * @vnet_hdr:	vnet_hdr_support
 * @in, @out:	the attached chardevs
 * @rx:		indev reassembler
 * @send_failed: the last write failed (report only the first of a run)
 * @drops:	frames not written to outdev
 * @bad_frames:	indev frames dropped (empty, oversized, bad vnet header length)
 * @seg_ret:	first error while writing the software segments of one frame
 * @gso:	software segmentation scratch
 */
struct mirror_filter {
	struct filter f;
	char *indev, *outdev;
	bool vnet_hdr;
	struct chardev *in, *out;
	struct reasm rx;
	int seg_ret;
	bool send_failed;
	uint64_t drops;
	uint64_t bad_frames;
	struct gso_scratch gso;
};

static inline struct mirror_filter *to_mirror(struct filter *f)
{
	return container_of(f, struct mirror_filter, f);
}

/* ---- output ------------------------------------------------------------------- */

/**
 * mirror_send() - one record to the outdev; 0 or -errno (QEMU's filter_send())
 */
static int mirror_send_one(struct mirror_filter *m, const struct iovec *iov, int iovcnt,
			   const struct net_meta *meta)
{
	static uint8_t flat[NET_BUFSIZE];
	struct iovec v[3 + 8];
	uint32_t hdr[2];
	uint8_t vh[NET_VNET_HDR_LEN];
	size_t size = net_iov_size(iov, iovcnt);
	int n = 0;

	if (!size)
		return 0;
	if (!m->out)
		return -EIO;
	hdr[0] = htonl((uint32_t)(size + (meta ? NET_VNET_HDR_LEN : 0)));
	hdr[1] = htonl(meta ? NET_VNET_HDR_LEN : 0);
	v[n++] = (struct iovec){ .iov_base = hdr, .iov_len = m->vnet_hdr ? 8 : 4 };
	if (meta) {
		gso_vnet_hdr_put(vh, meta);
		v[n++] = (struct iovec){ .iov_base = vh, .iov_len = sizeof(vh) };
	}
	if (iovcnt <= 8) {
		for (int i = 0; i < iovcnt; i++)
			v[n++] = iov[i];
	} else {
		size = net_iov_copy(flat, sizeof(flat), iov, iovcnt);
		v[n++] = (struct iovec){ .iov_base = flat, .iov_len = size };
	}
	return chardev_write_iov(m->out, v, n);
}

/* mirror_emit() - one software segment of a frame with offloads */
static ssize_t mirror_emit(void *opaque, const struct iovec *iov, int iovcnt)
{
	struct mirror_filter *m = opaque;
	int ret = mirror_send_one(m, iov, iovcnt, NULL);

	m->seg_ret = m->seg_ret ? m->seg_ret : ret;
	return 1;
}

/**
 * mirror_send() - one frame to the outdev: whole with its virtio-net header
 * (vnet_hdr_support=on), else plain or in software segments; 0 or -errno
 */
static int mirror_send(struct mirror_filter *m, const struct iovec *iov, int iovcnt,
		       const struct net_meta *meta)
{
	unsigned done;

	if (net_meta_is_plain(meta))
		return mirror_send_one(m, iov, iovcnt, NULL);
	if (m->vnet_hdr)
		return mirror_send_one(m, iov, iovcnt, meta);
	if (!m->out)
		return -EIO;
	m->seg_ret = 0;
	if (gso_segment(&m->gso, iov, iovcnt, meta, 0, &done, mirror_emit, m) < 0)
		return -EINVAL;
	return m->seg_ret;
}

static void mirror_report(struct mirror_filter *m, const char *what, int ret)
{
	if (!ret) {
		m->send_failed = false;
		return;
	}
	m->drops++;
	if (!m->send_failed)
		error_report("filter %s send failed(%s)", what, strerror(-ret));
	m->send_failed = true;
}

static ssize_t mirror_receive(struct filter *f, struct net_client *sender, enum filter_dir dir,
			      const struct iovec *iov, int iovcnt, const struct net_meta *meta)
{
	struct mirror_filter *m = to_mirror(f);

	mirror_report(m, "mirror", mirror_send(m, iov, iovcnt, meta));
	return 0;
}

static ssize_t redirector_receive(struct filter *f, struct net_client *sender,
				  enum filter_dir dir, const struct iovec *iov, int iovcnt,
				  const struct net_meta *meta)
{
	struct mirror_filter *m = to_mirror(f);
	size_t size = net_iov_size(iov, iovcnt);

	if (!m->out)
		return 0;
	mirror_report(m, "redirector", mirror_send(m, iov, iovcnt, meta));
	return (ssize_t)(size ? size : 1);
}

/* ---- indev ---------------------------------------------------------------------- */

/* redirector_inject() - QEMU's redirector_to_filter() */
static void redirector_inject(struct mirror_filter *m, const uint8_t *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct net_client *nc = m->f.nc;
	struct net_meta meta, *mp = NULL;

	if (m->rx.vnet_len) {
		/* a virtio-net header in front of the frame: its metadata */
		if ((m->rx.vnet_len != NET_VNET_HDR_LEN && m->rx.vnet_len != NET_VNET_HDR_MRG_LEN) ||
		    len < m->rx.vnet_len) {
			m->bad_frames++;
			return;
		}
		gso_vnet_hdr_get(&meta, buf);
		if (!net_meta_is_plain(&meta))
			mp = &meta;
		iov.iov_base = (void *)(buf + m->rx.vnet_len);
		iov.iov_len = len -= m->rx.vnet_len;
	}
	if (!len) {
		m->bad_frames++;
		return;
	}
	if (m->f.dir & FILTER_TX)
		filter_pass_to_next(&m->f, nc, &iov, 1, mp);
	/* the filter may not survive a delivery? it does: deliveries never free filters */
	if ((m->f.dir & FILTER_RX) && nc->peer)
		filter_pass_to_next(&m->f, nc->peer, &iov, 1, mp);
}

/* redirector_frame() - a frame from the reassembler */
static void redirector_frame(void *opaque, const uint8_t *buf, size_t len)
{
	redirector_inject(opaque, buf, len);
}

/**
 * redir_rx_feed() - QEMU's net_fill_rstate(): 0, or -1 on an oversized frame
 * (the state is reset; frames completed before it were injected)
 */
static int redir_rx_feed(struct mirror_filter *m, const uint8_t *p, size_t n)
{
	/* qom-set vnet_hdr_support applies from the next length read */
	m->rx.vnet = m->vnet_hdr;
	return reasm_feed(&m->rx, p, n, redirector_frame, m);
}

static void redirector_read(void *opaque, const uint8_t *buf, size_t len)
{
	struct mirror_filter *m = opaque;

	if (redir_rx_feed(m, buf, len) < 0) {
		m->bad_frames++;
		error_report("%s", REDIR_OVERSIZED_MSG);
		chardev_disconnect(m->in);
	}
}

static void redirector_event(void *opaque, bool up)
{
	struct mirror_filter *m = opaque;

	/* a new connection starts a new stream */
	reasm_reset(&m->rx);
}

/* ---- creation ----------------------------------------------------------------------- */

/* mirror_setup() - QAPI FilterMirrorProperties: outdev (mandatory), vnet_hdr_support */
static int mirror_setup(struct filter *f, const struct filter_config *cfg, struct error *e)
{
	struct mirror_filter *m = to_mirror(f);

	if (!cfg->outdev)
		return err_set(e, "Parameter 'outdev' is missing");
	m->outdev = xstrdup(cfg->outdev);
	m->vnet_hdr = cfg->vnet_hdr;
	return 0;
}

/* redirector_setup() - QAPI FilterRedirectorProperties: indev, outdev, vnet_hdr_support */
static int redirector_setup(struct filter *f, const struct filter_config *cfg, struct error *e)
{
	struct mirror_filter *m = to_mirror(f);

	if (cfg->indev)
		m->indev = xstrdup(cfg->indev);
	if (cfg->outdev)
		m->outdev = xstrdup(cfg->outdev);
	m->vnet_hdr = cfg->vnet_hdr;
	return 0;
}

/* mirror_complete() - QEMU's filter_mirror_setup() */
static int mirror_complete(struct filter *f, struct error *e)
{
	struct mirror_filter *m = to_mirror(f);
	struct chardev *c;

	if (!m->outdev)
		return err_set(e, "filter-mirror parameter 'outdev' cannot be empty");
	c = chardev_find(m->outdev);
	if (!c)
		return err_set(e, "Device '%s' not found", m->outdev);
	if (chardev_attach(c, NULL, NULL, m, e) < 0)
		return -1;
	m->out = c;
	return 0;
}

/* redirector_complete() - QEMU's filter_redirector_setup(), same order and texts */
static int redirector_complete(struct filter *f, struct error *e)
{
	struct mirror_filter *m = to_mirror(f);
	struct chardev *c;

	if (!m->indev && !m->outdev)
		return err_set(e, "filter redirector needs 'indev' or 'outdev' at least one "
			       "property set");
	if (m->indev && m->outdev && !strcmp(m->indev, m->outdev))
		return err_set(e, "'indev' and 'outdev' could not be same for filter redirector");
	if (m->indev) {
		c = chardev_find(m->indev);
		if (!c)
			return err_set(e, "IN Device '%s' not found", m->indev);
		if (chardev_attach(c, redirector_read, redirector_event, m, e) < 0)
			return -1;
		m->in = c;
		reasm_init(&m->rx, m->vnet_hdr);
		chardev_set_read(c, f->on);
	}
	if (m->outdev) {
		c = chardev_find(m->outdev);
		if (!c)
			return err_set(e, "OUT Device '%s' not found", m->outdev);
		if (chardev_attach(c, NULL, NULL, m, e) < 0)
			return -1;
		m->out = c;
	}
	return 0;
}

static void mirror_cleanup(struct filter *f)
{
	struct mirror_filter *m = to_mirror(f);

	chardev_detach(m->in);
	chardev_detach(m->out);
	m->in = m->out = NULL;
	reasm_fini(&m->rx);
	gso_scratch_free(&m->gso);
	free(m->indev);
	free(m->outdev);
	m->indev = m->outdev = NULL;
}

static void redirector_status_changed(struct filter *f)
{
	struct mirror_filter *m = to_mirror(f);

	chardev_set_read(m->in, f->on);
}

/* info network: QEMU's property order */
static void mirror_props(struct filter *f, struct sbuf *out)
{
	struct mirror_filter *m = to_mirror(f);

	sbuf_printf(out, ",vnet_hdr_support=%s,outdev=%s", m->vnet_hdr ? "true" : "false",
		    m->outdev);
}

static void redirector_props(struct filter *f, struct sbuf *out)
{
	struct mirror_filter *m = to_mirror(f);

	sbuf_printf(out, ",vnet_hdr_support=%s", m->vnet_hdr ? "true" : "false");
	if (m->indev)
		sbuf_printf(out, ",indev=%s", m->indev);
	if (m->outdev)
		sbuf_printf(out, ",outdev=%s", m->outdev);
}

/* mirror_set_prop() - qom-set: vnet_hdr_support changes the framing from the next frame */
static int mirror_set_prop(struct filter *f, const char *name, const char *value,
			   struct error *e)
{
	struct mirror_filter *m = to_mirror(f);

	if (!strcmp(name, "vnet_hdr_support")) {
		bool on = !strcmp(value, "on") || !strcmp(value, "true") || !strcmp(value, "yes");

		if (!on && strcmp(value, "off") && strcmp(value, "false") && strcmp(value, "no"))
			return err_set(e, "Parameter 'vnet_hdr_support' expects 'on' or 'off'");
		m->vnet_hdr = on;
		return 1;
	}
	if (!strcmp(name, "outdev") || (f->ops == &filter_redirector_ops && !strcmp(name, "indev")))
		return err_set(e, "qnet: property '%s' of '%s' can't be changed at run time",
			       name, f->id);
	return 0;
}

const struct filter_ops filter_mirror_ops = {
	.type = "filter-mirror",
	.size = sizeof(struct mirror_filter),
	.setup = mirror_setup,
	.receive = mirror_receive,
	.cleanup = mirror_cleanup,
	.props = mirror_props,
	.complete = mirror_complete,
	.set_prop = mirror_set_prop,
};

const struct filter_ops filter_redirector_ops = {
	.type = "filter-redirector",
	.size = sizeof(struct mirror_filter),
	.setup = redirector_setup,
	.receive = redirector_receive,
	.cleanup = mirror_cleanup,
	.props = redirector_props,
	.status_changed = redirector_status_changed,
	.complete = redirector_complete,
	.set_prop = mirror_set_prop,
};
