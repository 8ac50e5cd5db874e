/* SPDX-License-Identifier: MIT */
/* loop.h - the event loop: epoll for fds, timers, signals, deferred work */
#ifndef QNET_LOOP_H
#define QNET_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

/*
 * One loop per process (qnet is single-threaded). All handles are embedded in
 * the owner's struct: the loop never allocates per fd, timer or deferral.
 *
 * A handler may delete any handle, including other handles whose events are
 * pending in the same epoll batch: the loop drops those events.
 */

struct loop_fd;
/* loop_fd_cb - @events is the epoll mask (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP...) */
typedef void loop_fd_cb(struct loop_fd *h, uint32_t events);

/**
 * struct loop_fd - an fd watched by the loop
 * @fd:		the file descriptor, -1 when not registered
 * @events:	currently requested epoll events
 * @cb:		handler
 * @opaque:	owner's pointer, free for the owner's use
 */
struct loop_fd {
	int fd;
	uint32_t events;
	loop_fd_cb *cb;
	void *opaque;
};

struct loop_timer;
typedef void loop_timer_cb(struct loop_timer *t);

/**
 * struct loop_timer - a one-shot timer, re-armed by its owner as needed
 * @deadline:	absolute expiry, loop_now_ms() clock; 0 when not armed
 * @cb:		handler
 * @opaque:	owner's pointer
 * @next:	private
 * @armed_pass:	private: the timer pass it was armed in
 */
struct loop_timer {
	uint64_t deadline;
	loop_timer_cb *cb;
	void *opaque;
	struct loop_timer *next;
	unsigned armed_pass;
};

struct loop_defer;
typedef void loop_defer_cb(struct loop_defer *d);

/**
 * struct loop_defer - work run once after the current batch of events
 * @cb:		handler
 * @opaque:	owner's pointer
 * @pending:	private: queued
 * @next:	private
 *
 * Used to batch output: a backend queues frames while events are handled, and
 * writes them all in one syscall from its deferred handler.
 */
struct loop_defer {
	loop_defer_cb *cb;
	void *opaque;
	bool pending;
	struct loop_defer *next;
};

typedef void loop_signal_cb(int signo, void *opaque);

int loop_init(void);
void loop_fini(void);

/* loop_fd_add() - start watching @fd; 0 or -errno */
int loop_fd_add(struct loop_fd *h, int fd, uint32_t events, loop_fd_cb *cb, void *opaque);
/* loop_fd_mod() - change the requested events (no syscall if unchanged) */
int loop_fd_mod(struct loop_fd *h, uint32_t events);
/* loop_fd_del() - stop watching (does not close the fd); safe on an unregistered handle */
void loop_fd_del(struct loop_fd *h);

void loop_timer_init(struct loop_timer *t, loop_timer_cb *cb, void *opaque);
/* loop_timer_arm() - (re)arm to fire @ms milliseconds from now */
void loop_timer_arm(struct loop_timer *t, uint64_t ms);
void loop_timer_cancel(struct loop_timer *t);
static inline bool loop_timer_armed(const struct loop_timer *t) { return t->deadline != 0; }

void loop_defer_init(struct loop_defer *d, loop_defer_cb *cb, void *opaque);
/* loop_defer() - run @d's handler after the current batch (once, however often called) */
void loop_defer(struct loop_defer *d);
void loop_defer_cancel(struct loop_defer *d);

/* loop_on_signal() - handle @signo in the loop (signalfd); SIGPIPE is ignored at init */
int loop_on_signal(int signo, loop_signal_cb *cb, void *opaque);

/* loop_now_ms() - monotonic milliseconds */
uint64_t loop_now_ms(void);
/* loop_now_ns() - monotonic nanoseconds */
uint64_t loop_now_ns(void);

/* loop_run() - dispatch until loop_quit(); returns the code given to loop_quit() */
int loop_run(void);
/* loop_run_once() - one epoll_wait (at most @timeout_ms) and its handlers; for tests */
void loop_run_once(int timeout_ms);
void loop_quit(int code);
bool loop_quitting(void);

#endif /* QNET_LOOP_H */
