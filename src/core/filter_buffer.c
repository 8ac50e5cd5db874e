// SPDX-License-Identifier: MIT
// filter_buffer.c - filter-buffer: hold every frame, release them all every interval microseconds

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "log.h"
#include "loop.h"

/*
 * DOC: Theory of operation
 *
 * As QEMU's net/filter-buffer.c: every frame that reaches the filter is
 * appended to a private queue and reported to the sender as sent (so its
 * sent callback never fires). A timer releases the whole queue every
 * interval: each frame continues after this filter (filter_pass_to_next())
 * in the direction it came from, in arrival order. status=off releases the
 * queue at once and stops the timer; status=on starts it again. Deleting the
 * filter releases the queue too.
 *
 * Bounds: QEMU's NetQueue takes 10000 frames; qnet also caps the bytes held
 * (BUFFER_RING_SIZE, one ring allocated when the filter is created, frames
 * copied in without any allocation). Frames beyond either cap are dropped and
 * counted, and the sender is still told they were sent, as QEMU does.
 *
 * Timing: QEMU's timer runs on the virtual clock; qnet has none and uses the
 * monotonic clock. qnet timers have millisecond resolution, so the interval
 * is rounded up to whole milliseconds (at least 1 ms). As in QEMU the timer
 * is re-armed after each release, so the period is the interval plus the
 * release time.
 */

#define BUFFER_RING_SIZE	(4 * 1024 * 1024)
#define BUFFER_MAX_FRAMES	10000
#define BUFFER_WRAP		UINT32_MAX

/* struct buffer_ent - ring entry header; the frame follows, padded to 8 bytes */
struct buffer_ent {
	uint32_t len;
	uint32_t dir;
	struct net_meta meta;	/* zero: plain */
	uint16_t pad;
};

/**
 * struct buffer_filter - one filter-buffer
 * @f:		common part
 * @interval:	interval= in microseconds (never 0)
 * @timer:	release timer
 * @ring:	BUFFER_RING_SIZE bytes of entries
 * @head, @tail: oldest entry, free space
 * @count:	entries held
 * @drops:	frames dropped (caps)
 */
struct buffer_filter {
	struct filter f;
	uint32_t interval;
	struct loop_timer timer;
	uint8_t *ring;
	size_t head, tail;
	unsigned count;
	uint64_t drops;
};

static inline struct buffer_filter *to_buffer(struct filter *f)
{
	return container_of(f, struct buffer_filter, f);
}

static size_t ent_size(size_t len)
{
	return sizeof(struct buffer_ent) + ((len + 7) & ~(size_t)7);
}

/* buffer_push() - append a frame; false when a cap is hit */
static bool buffer_push(struct buffer_filter *b, enum filter_dir dir, const struct iovec *iov,
			int iovcnt, size_t len, const struct net_meta *meta)
{
	size_t need = ent_size(len), at;
	struct buffer_ent *h;

	if (b->count >= BUFFER_MAX_FRAMES || need > BUFFER_RING_SIZE)
		return false;
	if (!b->count) {
		b->head = b->tail = 0;
		at = 0;
	} else if (b->tail > b->head) {
		if (BUFFER_RING_SIZE - b->tail >= need) {
			at = b->tail;
		} else if (b->head >= need) {
			if (BUFFER_RING_SIZE - b->tail >= sizeof(*h))
				((struct buffer_ent *)(void *)(b->ring + b->tail))->len = BUFFER_WRAP;
			at = 0;
		} else {
			return false;
		}
	} else if (b->tail < b->head && b->head - b->tail >= need) {
		at = b->tail;
	} else {
		return false;	/* tail == head with entries: full */
	}
	h = (struct buffer_ent *)(void *)(b->ring + at);
	h->len = (uint32_t)len;
	h->dir = dir;
	if (meta)
		h->meta = *meta;
	else
		memset(&h->meta, 0, sizeof(h->meta));
	net_iov_copy(h + 1, len, iov, iovcnt);
	b->tail = at + need;
	b->count++;
	return true;
}

/* buffer_head() - the oldest entry (the ring must hold one) */
static struct buffer_ent *buffer_head(struct buffer_filter *b)
{
	struct buffer_ent *h;

	if (BUFFER_RING_SIZE - b->head < sizeof(*h) ||
	    ((struct buffer_ent *)(void *)(b->ring + b->head))->len == BUFFER_WRAP)
		b->head = 0;
	return (struct buffer_ent *)(void *)(b->ring + b->head);
}

static void buffer_pop(struct buffer_filter *b, struct buffer_ent *h)
{
	b->head += ent_size(h->len);
	if (!--b->count)
		b->head = b->tail = 0;
}

/**
 * buffer_flush() - release what is held now, oldest first
 *
 * A frame stays in the ring while it is delivered (its bytes are not reused
 * by frames appended meanwhile); frames that arrive during the release wait
 * for the next one.
 */
static void buffer_flush(struct buffer_filter *b)
{
	unsigned n = b->count;

	while (n-- && b->count) {
		struct buffer_ent *h = buffer_head(b);
		struct iovec iov = { .iov_base = h + 1, .iov_len = h->len };
		struct net_client *nc = b->f.nc;
		struct net_client *sender = h->dir == FILTER_TX ? nc : nc ? nc->peer : NULL;

		if (sender)
			filter_pass_to_next(&b->f, sender, &iov, 1,
					    h->meta.flags || h->meta.gso_type ? &h->meta : NULL);
		buffer_pop(b, h);
	}
}

static void buffer_arm(struct buffer_filter *b)
{
	loop_timer_arm(&b->timer, MAX(1, ((uint64_t)b->interval + 999) / 1000));
}

static void buffer_timer_cb(struct loop_timer *t)
{
	struct buffer_filter *b = t->opaque;

	buffer_flush(b);
	buffer_arm(b);
}

static ssize_t buffer_receive(struct filter *f, struct net_client *sender, enum filter_dir dir,
			      const struct iovec *iov, int iovcnt, const struct net_meta *meta)
{
	struct buffer_filter *b = to_buffer(f);
	size_t len = net_iov_size(iov, iovcnt);

	if (!buffer_push(b, dir, iov, iovcnt, len, meta))
		b->drops++;
	return (ssize_t)(len ? len : 1);
}

/* buffer_parse_interval() - a uint32 as QEMU's visitor reads it */
static int buffer_parse_interval(const char *v, uint32_t *out, struct error *e)
{
	unsigned long long n;
	char *end;

	if (!*v || *v == '-' || *v == '+' || *v == ' ' || *v == '\t')
		return err_set(e, "Parameter 'interval' expects a uint64 value");
	errno = 0;
	n = strtoull(v, &end, 0);
	if (*end || errno == ERANGE)
		return err_set(e, "Parameter 'interval' expects a uint64 value");
	if (n > UINT32_MAX)
		return err_set(e, "Parameter 'interval' expects uint32_t");
	*out = (uint32_t)n;
	return 0;
}

/* buffer_setup() - interval (mandatory in QEMU 7.2's QAPI schema: cli/filter_opts.c checks it) */
static int buffer_setup(struct filter *f, const struct filter_config *cfg, struct error *e)
{
	struct buffer_filter *b = to_buffer(f);

	loop_timer_init(&b->timer, buffer_timer_cb, b);
	b->interval = cfg->interval;
	return 0;
}

/*
 * buffer_check() - the interval setter refuses 0 (after the status setter, in
 * QEMU's property order); filter_buffer_setup()'s own "Parameter 'interval'
 * expects a non-zero interval" can't be reached from -object or object_add.
 */
static int buffer_check(struct filter *f, struct error *e)
{
	if (!to_buffer(f)->interval)
		return err_set(e, "Property 'filter-buffer.interval' requires a positive value");
	return 0;
}

static int buffer_complete(struct filter *f, struct error *e)
{
	struct buffer_filter *b = to_buffer(f);

	b->ring = xmalloc(BUFFER_RING_SIZE);
	buffer_arm(b);
	return 0;
}

static void buffer_cleanup(struct filter *f)
{
	struct buffer_filter *b = to_buffer(f);

	loop_timer_cancel(&b->timer);
	if (b->ring)
		buffer_flush(b);
	free(b->ring);
	b->ring = NULL;
}

static void buffer_status_changed(struct filter *f)
{
	struct buffer_filter *b = to_buffer(f);

	if (!f->on) {
		loop_timer_cancel(&b->timer);
		buffer_flush(b);
	} else {
		buffer_arm(b);
	}
}

static void buffer_props(struct filter *f, struct sbuf *out)
{
	sbuf_printf(out, ",interval=%u", to_buffer(f)->interval);
}

/* buffer_set_prop() - qom-set interval: used from the next release on */
static int buffer_set_prop(struct filter *f, const char *name, const char *value,
			   struct error *e)
{
	uint32_t v;

	if (strcmp(name, "interval"))
		return 0;
	if (buffer_parse_interval(value, &v, e) < 0) {
		/* the string input visitor's words differ from the keyval ones */
		bool range = strstr(e->msg, "uint32_t") != NULL;

		memset(e, 0, sizeof(*e));
		return err_set(e, range ? "Parameter 'interval' expects uint32_t" :
					  "Parameter 'interval' expects uint64");
	}
	if (!v)
		return err_set(e, "Property 'filter-buffer.interval' requires a positive value");
	to_buffer(f)->interval = v;
	return 1;
}

const struct filter_ops filter_buffer_ops = {
	.type = "filter-buffer",
	.size = sizeof(struct buffer_filter),
	.setup = buffer_setup,
	.receive = buffer_receive,
	.cleanup = buffer_cleanup,
	.props = buffer_props,
	.status_changed = buffer_status_changed,
	.complete = buffer_complete,
	.check = buffer_check,
	.set_prop = buffer_set_prop,
};

int filter_buffer_parse_interval(const char *v, uint32_t *out, struct error *e)
{
	return buffer_parse_interval(v, out, e);
}
