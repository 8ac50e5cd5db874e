/* SPDX-License-Identifier: MIT */
/* util.h - small helpers shared by every module: errors, string buffers, macros */
#ifndef QNET_UTIL_H
#define QNET_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define QNET_VERSION "0.1.0"

/**
 * struct error - an error message for the user, QEMU's text where QEMU has one
 * @set:	true once a message is stored
 * @msg:	the message, without program name or trailing newline
 *
 * Functions that can fail take a struct error * as their last parameter (NULL
 * allowed: the message is dropped), return -1 (or NULL/false) and fill it.
 */
struct error {
	bool set;
	char msg[512];
};

/**
 * err_set() - store a message (first one wins) and return -1
 */
int err_set(struct error *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/**
 * err_set_errno() - like err_set(), appending ": strerror(errnum)"
 */
int err_set_errno(struct error *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * struct sbuf - growable NUL-terminated string buffer
 */
struct sbuf {
	char *p;
	size_t len;
	size_t cap;
};

void sbuf_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sbuf_vprintf(struct sbuf *b, const char *fmt, va_list ap);
void sbuf_free(struct sbuf *b);
/* sbuf_str() - the contents, "" for an empty buffer */
const char *sbuf_str(const struct sbuf *b);

void *xmalloc(size_t n);
void *xzalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* id_wellformed() - QEMU's rule for ids: an ASCII letter, then letters, digits, '-', '.', '_' */
bool id_wellformed(const char *id);

/* set_nonblock() - O_NONBLOCK on fd; 0 or -errno */
int set_nonblock(int fd);
/*
 * sock_set_dgram_bufs() - large receive and send buffers for a datagram socket, so that a
 * burst is not lost while qnet is busy (SO_*BUFFORCE when allowed, else capped by the sysctls)
 */
void sock_set_dgram_bufs(int fd);

/* fd_send() - @len bytes of @data with @fd attached (SCM_RIGHTS); 0, or -1 with errno set */
int fd_send(int sock, int fd, const void *data, size_t len);
/**
 * fd_recv() - one message of up to @len bytes and the fd attached to it (SCM_RIGHTS, CLOEXEC)
 * @fd:		out: the fd, or -1 if none came (more than one: the last; the others are closed)
 * @flags:	recvmsg() flags (MSG_DONTWAIT...)
 * Return: bytes read (0 at end of stream), or -1 with errno set (then *fd is -1)
 */
ssize_t fd_recv(int sock, void *buf, size_t len, int *fd, int flags);

#endif /* QNET_UTIL_H */
