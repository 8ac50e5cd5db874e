// SPDX-License-Identifier: MIT
// loop.c - the event loop: epoll for fds, a sorted timer list, self-pipe signals, deferred work

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "util.h"

#define LOOP_BATCH 64
#define LOOP_MAX_SIG 65

static struct {
	int epfd;
	struct epoll_event ev[LOOP_BATCH];
	int nev, cur;			/* current batch, index being handled */
	struct loop_timer *timers;	/* sorted by deadline */
	unsigned timer_pass;		/* counts loop_run_timers() calls */
	struct loop_defer *defer_head, *defer_tail;
	bool quit;
	int code;
	int sigpipe[2];
	struct loop_fd sig_h;
	loop_signal_cb *sig_cb[LOOP_MAX_SIG];
	void *sig_opaque[LOOP_MAX_SIG];
} lp = { .epfd = -1, .sigpipe = { -1, -1 } };

uint64_t loop_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t loop_now_ms(void)
{
	return loop_now_ns() / 1000000ULL;
}

static void loop_sig_handler(int signo)
{
	unsigned char c = (unsigned char)signo;
	int saved = errno;
	ssize_t r = write(lp.sigpipe[1], &c, 1);

	(void)r;
	errno = saved;
}

static void loop_sig_read(struct loop_fd *h, uint32_t events)
{
	unsigned char buf[64];
	ssize_t n;

	while ((n = read(h->fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			int s = buf[i];

			if (s < LOOP_MAX_SIG && lp.sig_cb[s])
				lp.sig_cb[s](s, lp.sig_opaque[s]);
		}
	}
}

int loop_init(void)
{
	if (lp.epfd >= 0)
		return 0;
	lp.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (lp.epfd < 0)
		return -errno;
	if (pipe2(lp.sigpipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	lp.quit = false;
	lp.sig_h.fd = -1;
	return loop_fd_add(&lp.sig_h, lp.sigpipe[0], EPOLLIN, loop_sig_read, NULL);
}

void loop_fini(void)
{
	for (int s = 1; s < LOOP_MAX_SIG; s++) {
		if (lp.sig_cb[s]) {
			signal(s, SIG_DFL);
			lp.sig_cb[s] = NULL;
		}
	}
	loop_fd_del(&lp.sig_h);
	if (lp.sigpipe[0] >= 0) {
		close(lp.sigpipe[0]);
		close(lp.sigpipe[1]);
		lp.sigpipe[0] = lp.sigpipe[1] = -1;
	}
	if (lp.epfd >= 0)
		close(lp.epfd);
	lp.epfd = -1;
	lp.timers = NULL;
	lp.defer_head = lp.defer_tail = NULL;
}

int loop_fd_add(struct loop_fd *h, int fd, uint32_t events, loop_fd_cb *cb, void *opaque)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };

	h->fd = fd;
	h->events = events;
	h->cb = cb;
	h->opaque = opaque;
	if (epoll_ctl(lp.epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = errno;

		h->fd = -1;
		return -err;
	}
	return 0;
}

int loop_fd_mod(struct loop_fd *h, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };

	if (h->fd < 0 || h->events == events)
		return 0;
	if (epoll_ctl(lp.epfd, EPOLL_CTL_MOD, h->fd, &ev) < 0)
		return -errno;
	h->events = events;
	return 0;
}

void loop_fd_del(struct loop_fd *h)
{
	if (!h || h->fd < 0)
		return;
	epoll_ctl(lp.epfd, EPOLL_CTL_DEL, h->fd, NULL);
	h->fd = -1;
	/* drop events of this handle still pending in the current batch */
	for (int i = lp.cur + 1; i < lp.nev; i++)
		if (lp.ev[i].data.ptr == h)
			lp.ev[i].data.ptr = NULL;
}

void loop_timer_init(struct loop_timer *t, loop_timer_cb *cb, void *opaque)
{
	t->deadline = 0;
	t->cb = cb;
	t->opaque = opaque;
	t->next = NULL;
}

void loop_timer_cancel(struct loop_timer *t)
{
	struct loop_timer **pp;

	if (!t->deadline)
		return;
	for (pp = &lp.timers; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	t->deadline = 0;
	t->next = NULL;
}

void loop_timer_arm(struct loop_timer *t, uint64_t ms)
{
	struct loop_timer **pp;

	loop_timer_cancel(t);
	t->deadline = loop_now_ms() + ms;
	if (!t->deadline)
		t->deadline = 1;
	t->armed_pass = lp.timer_pass;
	for (pp = &lp.timers; *pp && (*pp)->deadline <= t->deadline; pp = &(*pp)->next)
		;
	t->next = *pp;
	*pp = t;
}

void loop_defer_init(struct loop_defer *d, loop_defer_cb *cb, void *opaque)
{
	d->cb = cb;
	d->opaque = opaque;
	d->pending = false;
	d->next = NULL;
}

void loop_defer(struct loop_defer *d)
{
	if (d->pending)
		return;
	d->pending = true;
	d->next = NULL;
	if (lp.defer_tail)
		lp.defer_tail->next = d;
	else
		lp.defer_head = d;
	lp.defer_tail = d;
}

void loop_defer_cancel(struct loop_defer *d)
{
	struct loop_defer **pp, *prev = NULL;

	if (!d->pending)
		return;
	for (pp = &lp.defer_head; *pp; prev = *pp, pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			if (lp.defer_tail == d)
				lp.defer_tail = prev;
			break;
		}
	}
	d->pending = false;
	d->next = NULL;
}

int loop_on_signal(int signo, loop_signal_cb *cb, void *opaque)
{
	struct sigaction sa;

	if (signo <= 0 || signo >= LOOP_MAX_SIG)
		return -EINVAL;
	lp.sig_cb[signo] = cb;
	lp.sig_opaque[signo] = opaque;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = loop_sig_handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(signo, &sa, NULL) < 0)
		return -errno;
	return 0;
}

static void loop_run_defer(void)
{
	/* handlers may defer again: those run in the same pass, bounded by the list */
	for (int guard = 0; lp.defer_head && guard < 100000; guard++) {
		struct loop_defer *d = lp.defer_head;

		lp.defer_head = d->next;
		if (!lp.defer_head)
			lp.defer_tail = NULL;
		d->pending = false;
		d->next = NULL;
		d->cb(d);
	}
}

static void loop_run_timers(void)
{
	uint64_t now = loop_now_ms();

	/* a handler that re-arms a timer (even at 0 ms) gets it run in the next pass, not this one */
	lp.timer_pass++;
	while (lp.timers && lp.timers->deadline <= now && lp.timers->armed_pass != lp.timer_pass) {
		struct loop_timer *t = lp.timers;

		lp.timers = t->next;
		t->next = NULL;
		t->deadline = 0;
		t->cb(t);
	}
}

static int loop_timeout(int max_ms)
{
	uint64_t now;
	int ms;

	if (lp.defer_head)
		return 0;
	if (!lp.timers)
		return max_ms;
	now = loop_now_ms();
	if (lp.timers->deadline <= now)
		return 0;
	ms = (int)MIN(lp.timers->deadline - now, (uint64_t)24 * 3600 * 1000);
	return max_ms >= 0 ? MIN(ms, max_ms) : ms;
}

void loop_run_once(int timeout_ms)
{
	int n = epoll_wait(lp.epfd, lp.ev, LOOP_BATCH, loop_timeout(timeout_ms));

	if (n < 0) {
		if (errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		n = 0;
	}
	lp.nev = n;
	for (lp.cur = 0; lp.cur < lp.nev; lp.cur++) {
		struct loop_fd *h = lp.ev[lp.cur].data.ptr;

		if (h && h->fd >= 0)
			h->cb(h, lp.ev[lp.cur].events);
	}
	lp.nev = lp.cur = 0;
	loop_run_defer();
	loop_run_timers();
	loop_run_defer();
}

int loop_run(void)
{
	while (!lp.quit)
		loop_run_once(-1);
	return lp.code;
}

void loop_quit(int code)
{
	lp.quit = true;
	lp.code = code;
}

bool loop_quitting(void)
{
	return lp.quit;
}
