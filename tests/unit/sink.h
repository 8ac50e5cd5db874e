/* SPDX-License-Identifier: MIT */
/* sink.h - a test host for the user stack library: fake clock, its own epoll, a recording guest */
#ifndef QNET_TEST_SINK_H
#define QNET_TEST_SINK_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "backends/user.h"
#include "cli/opts.h"
#include "stack/stack.h"

/*
 * A sink is what a program embedding the stack provides (struct stack_env),
 * reduced to what tests need, plus the guest: it records every frame the
 * stack sends. Nothing here uses qnet's loop or net clients:
 *   - the clock is fake: it starts at 1000 s and moves only with
 *     sink_advance(), which runs the stack's timers that came due;
 *   - fds are watched with an epoll of the sink's own (sink_poll() waits for
 *     real socket events, at most the given time, and never moves the clock);
 *   - deferred work runs at the end of sink_poll() and sink_advance(), or
 *     when a test calls sink_flush().
 * While @blocked, frames are held (send returns 0, "queued") in a bounded
 * queue; sink_unblock() delivers them and calls stack_guest_resumed().
 */

#define SINK_MAX 128
#define SINK_QMAX 256
#define SINK_FRAME 2048

/**
 * struct sink - one stack and its host
 * @s:		the stack
 * @blocked:	send holds frames (returns 0) while set
 * @n:		frames recorded (at most SINK_MAX are kept)
 * @len, @f:	each frame's length and bytes (first SINK_FRAME)
 * @on_frame:	called with every frame delivered to the guest (whole), if set
 * @now_ns:	the fake clock
 * @wake_ms:	deadline the stack asked for (STACK_NO_DEADLINE: none)
 * @epfd, @ev, @nev, @cur: the sink's epoll and the batch being dispatched
 * @defer:	the stack asked for stack_flush()
 * @nq, @qlen, @q: frames held while blocked
 * @events, @ev_name, @ev_last: events reported (count, last name, its fields "k=v;")
 */
struct sink {
	struct user_stack *s;
	bool blocked;
	int n;
	size_t len[SINK_MAX];
	uint8_t f[SINK_MAX][SINK_FRAME];
	void (*on_frame)(struct sink *k, const uint8_t *f, size_t len);
	uint64_t now_ns;
	uint64_t wake_ms;
	int epfd;
	struct epoll_event ev[64];
	int nev, cur;
	bool defer;
	int nq;
	size_t qlen[SINK_QMAX];
	uint8_t q[SINK_QMAX][SINK_FRAME];
	int events;
	const struct net_meta *cur_meta;	/* metadata of the frame on_frame sees */
	char ev_name[32];
	char ev_last[256];
};

static inline void sink_record(struct sink *k, const uint8_t *f, size_t len)
{
	if (k->on_frame)
		k->on_frame(k, f, len);
	if (k->n < SINK_MAX) {
		k->len[k->n] = MIN(len, SINK_FRAME);
		memcpy(k->f[k->n], f, k->len[k->n]);
		k->n++;
	}
}

static inline ssize_t sink_send(void *opaque, const struct iovec *iov, int iovcnt,
				const struct net_meta *meta)
{
	static uint8_t buf[STACK_FRAME_MAX + 64];
	struct sink *k = opaque;
	size_t len = 0;

	for (int i = 0; i < iovcnt; i++) {
		if (len + iov[i].iov_len > sizeof(buf))
			return -1;
		memcpy(buf + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	k->cur_meta = meta;
	if (k->blocked) {
		if (k->nq == SINK_QMAX)
			return -1;
		k->qlen[k->nq] = MIN(len, SINK_FRAME);
		memcpy(k->q[k->nq], buf, k->qlen[k->nq]);
		k->nq++;
		return 0;
	}
	sink_record(k, buf, len);
	return (ssize_t)len;
}

static inline uint64_t sink_clock(void *opaque)
{
	return ((struct sink *)opaque)->now_ns;
}

static inline void sink_timer_arm(void *opaque, uint64_t deadline_ms)
{
	((struct sink *)opaque)->wake_ms = deadline_ms;
}

static inline int sink_fd_add(void *opaque, struct stack_fd *h)
{
	struct sink *k = opaque;
	struct epoll_event e = { .events = h->events, .data.ptr = h };

	return epoll_ctl(k->epfd, EPOLL_CTL_ADD, h->fd, &e) < 0 ? -1 : 0;
}

static inline int sink_fd_mod(void *opaque, struct stack_fd *h, uint32_t events)
{
	struct sink *k = opaque;
	struct epoll_event e = { .events = events, .data.ptr = h };

	return epoll_ctl(k->epfd, EPOLL_CTL_MOD, h->fd, &e) < 0 ? -1 : 0;
}

static inline void sink_fd_del(void *opaque, struct stack_fd *h)
{
	struct sink *k = opaque;

	epoll_ctl(k->epfd, EPOLL_CTL_DEL, h->fd, NULL);
	for (int i = k->cur + 1; i < k->nev; i++)
		if (k->ev[i].data.ptr == h)
			k->ev[i].data.ptr = NULL;
}

static inline void sink_defer(void *opaque)
{
	((struct sink *)opaque)->defer = true;
}

static inline void sink_event(void *opaque, const char *name, const struct event_field *f, int n)
{
	struct sink *k = opaque;
	size_t o = 0;

	k->events++;
	snprintf(k->ev_name, sizeof(k->ev_name), "%s", name);
	k->ev_last[0] = 0;
	for (int i = 0; i < n && o < sizeof(k->ev_last); i++) {
		int w = f[i].type == EVENT_STR ?
			snprintf(k->ev_last + o, sizeof(k->ev_last) - o, "%s=%s;", f[i].key, f[i].s) :
			snprintf(k->ev_last + o, sizeof(k->ev_last) - o, "%s=%lld;", f[i].key,
				 (long long)(f[i].type == EVENT_BOOL ? f[i].b : f[i].i));

		if (w < 0)
			break;
		o += (size_t)w;
	}
}

static const struct stack_env sink_env = {
	.send = sink_send,
	.clock_ns = sink_clock,
	.timer_arm = sink_timer_arm,
	.fd_add = sink_fd_add,
	.fd_mod = sink_fd_mod,
	.fd_del = sink_fd_del,
	.defer = sink_defer,
	.event = sink_event,
};

/* sink_real_ms() - real monotonic time: only to bound waits for real sockets */
static inline uint64_t sink_real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* sink_flush() - the end of a batch: deferred work, then timers that came due */
static inline void sink_flush(struct sink *k)
{
	for (int i = 0; i < 8 && (k->defer || k->wake_ms <= k->now_ns / 1000000); i++) {
		if (k->defer) {
			k->defer = false;
			stack_flush(k->s);
		}
		if (k->wake_ms <= k->now_ns / 1000000)
			stack_timers_run(k->s);
	}
}

/**
 * sink_new() - a stack from -netdev user options (@spec, without type/id) and its test host
 * Return: the sink, or NULL with @e set
 */
static inline struct sink *sink_new(const char *id, const char *spec, struct error *e)
{
	struct sink *k = calloc(1, sizeof(*k));
	struct opts o = { 0 };
	struct stack_cfg cfg = { 0 };

	if (!k)
		abort();
	k->now_ns = 1000000000000ull;
	k->wake_ms = STACK_NO_DEADLINE;
	k->cur = k->nev = 0;
	k->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (opts_parse(&o, spec, NULL, e) == 0 && user_parse_cfg(&cfg, &o, e) == 0) {
		cfg.name = strdup(id);
		k->s = stack_new(&cfg, &sink_env, k, e);
		if (k->s && user_add_fwds(k->s, &o, e) < 0) {
			stack_free(k->s);
			k->s = NULL;
		}
	}
	stack_cfg_free(&cfg);
	opts_free(&o);
	if (!k->s) {
		close(k->epfd);
		free(k);
		return NULL;
	}
	return k;
}

static inline void sink_free(struct sink *k)
{
	if (!k)
		return;
	stack_free(k->s);
	close(k->epfd);
	free(k);
}

/* sink_input() - one frame from the guest into the stack */
static inline void sink_input(struct sink *k, const void *f, size_t len)
{
	struct iovec iov = { .iov_base = (void *)f, .iov_len = len };

	stack_input(k->s, &iov, 1, NULL);
}

/* sink_poll() - wait up to @ms (real time) for socket events, dispatch them, end the batch */
static inline void sink_poll(struct sink *k, int ms)
{
	k->nev = epoll_wait(k->epfd, k->ev, (int)(sizeof(k->ev) / sizeof(k->ev[0])), ms);
	for (k->cur = 0; k->cur < k->nev; k->cur++) {
		struct stack_fd *h = k->ev[k->cur].data.ptr;

		if (h)
			stack_fd_event(h, k->ev[k->cur].events);
	}
	k->nev = k->cur = 0;
	sink_flush(k);
}

/* sink_advance() - move the fake clock by @ms and run what came due */
static inline void sink_advance(struct sink *k, uint64_t ms)
{
	k->now_ns += ms * 1000000;
	sink_flush(k);
}

/* sink_unblock() - deliver the held frames, then tell the stack the guest takes frames again */
static inline void sink_unblock(struct sink *k)
{
	k->blocked = false;
	for (int i = 0; i < k->nq; i++)
		sink_record(k, k->q[i], k->qlen[i]);
	k->nq = 0;
	stack_guest_resumed(k->s);
}

#endif /* QNET_TEST_SINK_H */
