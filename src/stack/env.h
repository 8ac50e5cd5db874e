/* SPDX-License-Identifier: MIT */
/* env.h - what the user stack asks of its host: callbacks, and the stack's own fd/timer/defer handles */
#ifndef QNET_STACK_ENV_H
#define QNET_STACK_ENV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "../core/event.h"
#include "../core/frame.h"

/*
 * The stack never touches a loop: it keeps its handles embedded in its own
 * structs (no allocation) and reaches the host through struct stack_env.
 * See the DOC block in stack.h for the contract of each callback.
 */

struct user_stack;

struct stack_fd;
/* stack_fd_cb - @events: epoll bits (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP) */
typedef void stack_fd_cb(struct stack_fd *h, uint32_t events);

/**
 * struct stack_fd - an fd the stack wants watched
 * @fd:		the file descriptor, -1 when not registered
 * @events:	requested epoll events (EPOLLET: the stack reads until EAGAIN)
 * @cb:		handler, called through stack_fd_event()
 * @opaque:	owner's pointer
 * @s:		the stack (set by stack_fd_add)
 * @env:	storage for the host's own handle of this fd (qnet: a struct loop_fd)
 */
struct stack_fd {
	int fd;
	uint32_t events;
	stack_fd_cb *cb;
	void *opaque;
	struct user_stack *s;
	uintptr_t env[4];
};

struct stack_timer;
typedef void stack_timer_cb(struct stack_timer *t);

/**
 * struct stack_timer - a one-shot timer of the stack, re-armed by its owner as needed
 * @deadline:	absolute expiry, stack_now_ms() clock (valid while @armed)
 * @armed:	in the stack's timer list
 * @cb:		handler
 * @opaque:	owner's pointer
 * @s:		the stack
 * @next:	private: the stack's list, sorted by deadline
 * @armed_pass:	private: the stack_timers_run() pass it was armed in
 */
struct stack_timer {
	uint64_t deadline;
	bool armed;
	stack_timer_cb *cb;
	void *opaque;
	struct user_stack *s;
	struct stack_timer *next;
	unsigned armed_pass;
};

struct stack_defer;
typedef void stack_defer_cb(struct stack_defer *d);

/**
 * struct stack_defer - work run once from stack_flush(), after the host's current batch
 * @cb, @opaque:	handler and owner's pointer
 * @s:			the stack
 * @pending, @next:	private
 */
struct stack_defer {
	stack_defer_cb *cb;
	void *opaque;
	struct user_stack *s;
	bool pending;
	struct stack_defer *next;
};

/* timer_arm()'s deadline meaning "no timer pending" */
#define STACK_NO_DEADLINE UINT64_MAX

/**
 * struct stack_env - the host's callbacks (all called with the opaque given to stack_new)
 * @send:	one frame to the guest: >0 sent, 0 queued (then stack_guest_resumed() later),
 *		<0 dropped. @meta NULL: a plain frame
 * @clock_ns:	monotonic nanoseconds
 * @timer_arm:	call stack_timers_run() at @deadline_ms (clock_ns() / 1000000), or never
 *		(STACK_NO_DEADLINE); replaces the previous request
 * @fd_add:	start watching h->fd for h->events; 0 or -errno
 * @fd_mod:	change the events watched to @events; 0 or -errno
 * @fd_del:	stop watching h->fd (do not close it); drop its pending events
 * @defer:	call stack_flush() once after the current batch of events
 * @event:	report an event (may be NULL)
 */
struct stack_env {
	ssize_t (*send)(void *opaque, const struct iovec *iov, int iovcnt,
			const struct net_meta *meta);
	uint64_t (*clock_ns)(void *opaque);
	void (*timer_arm)(void *opaque, uint64_t deadline_ms);
	int (*fd_add)(void *opaque, struct stack_fd *h);
	int (*fd_mod)(void *opaque, struct stack_fd *h, uint32_t events);
	void (*fd_del)(void *opaque, struct stack_fd *h);
	void (*defer)(void *opaque);
	void (*event)(void *opaque, const char *name, const struct event_field *f, int n);
};

/* stack_fd_add() - watch @fd for @events through the host; 0 or -errno (then h->fd is -1) */
int stack_fd_add(struct user_stack *s, struct stack_fd *h, int fd, uint32_t events,
		 stack_fd_cb *cb, void *opaque);
/* stack_fd_mod() - change the requested events (nothing asked of the host if unchanged) */
int stack_fd_mod(struct stack_fd *h, uint32_t events);
/* stack_fd_del() - stop watching (does not close the fd); safe on an unregistered handle */
void stack_fd_del(struct stack_fd *h);

void stack_timer_init(struct user_stack *s, struct stack_timer *t, stack_timer_cb *cb,
		      void *opaque);
/* stack_timer_arm() - (re)arm to fire @ms milliseconds from now (stack clock) */
void stack_timer_arm(struct stack_timer *t, uint64_t ms);
void stack_timer_cancel(struct stack_timer *t);
static inline bool stack_timer_armed(const struct stack_timer *t) { return t->armed; }

void stack_defer_init(struct user_stack *s, struct stack_defer *d, stack_defer_cb *cb,
		      void *opaque);
/* stack_defer() - run @d's handler from the next stack_flush() (once, however often called) */
void stack_defer(struct stack_defer *d);
void stack_defer_cancel(struct stack_defer *d);

/* stack_now_ms() / stack_now_ns() - the host's clock */
uint64_t stack_now_ms(const struct user_stack *s);
uint64_t stack_now_ns(const struct user_stack *s);

#endif /* QNET_STACK_ENV_H */
