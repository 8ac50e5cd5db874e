/* SPDX-License-Identifier: MIT */
/* chardev.h - chardev-lite: -chardev socket (unix or tcp, server or client) for filter indev/outdev */
#ifndef QNET_CHARDEV_H
#define QNET_CHARDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "util.h"

/*
 * DOC: Theory of operation
 *
 * QEMU's filters name a chardev by id (outdev=, indev=). qnet implements the
 * one backend they are used with, `-chardev socket`, with QEMU's QemuOpts
 * options and error texts: path= (unix) or host=/port= (tcp), server=on|off,
 * wait=on|off, reconnect=N (client), nodelay/delay, ipv4/ipv6, to=, plus
 * tight/abstract for unix paths.
 *
 * One connection at a time, as QEMU: a server stops accepting while a client
 * is connected (further clients wait in the backlog) and accepts again when it
 * goes. A client with reconnect=N retries every N seconds.
 *
 * A chardev has at most one frontend (a filter): attaching a second one is
 * QEMU's "Device '%s' is in use". The frontend gets bytes read from the peer
 * (only while it wants them: chardev_set_read()) and connect/disconnect
 * events.
 *
 * Output never blocks qnet. QEMU writes synchronously (it waits for the peer);
 * qnet appends whole records to a bounded buffer (CHARDEV_OUT_SIZE, allocated
 * at creation) that is written from a deferred handler and on EPOLLOUT. A
 * record that doesn't fit is dropped whole (counted), so the byte stream
 * always stays well framed.
 */

#define CHARDEV_OUT_SIZE (1024 * 1024)
/* Longest reconnect= interval, seconds */
#define CHARDEV_RECONNECT_MAX 86400

struct chardev;

/**
 * struct chardev_config - a parsed -chardev socket (cli/chardev_opts.c parses the options);
 * the strings are only read during chardev_create()
 * @id:		id=
 * @unix_path:	path= (unix), or NULL for tcp
 * @host, @port: tcp address
 * @abstract, @tight: abstract unix namespace, without padding
 * @ipv4, @ipv6: address family restriction (tcp)
 * @server:	listen (server=on)
 * @wait:	server: block until the first client connects
 * @nodelay:	TCP_NODELAY
 * @reconnect:	client: seconds between connect attempts (<= CHARDEV_RECONNECT_MAX), 0 = once
 */
struct chardev_config {
	const char *id;
	const char *unix_path;
	const char *host, *port;
	bool abstract, tight;
	bool ipv4, ipv6;
	bool server, wait;
	bool nodelay;
	unsigned reconnect;
};

/* chardev_read_cb - bytes from the peer (valid during the call) */
typedef void chardev_read_cb(void *opaque, const uint8_t *buf, size_t len);
/* chardev_event_cb - the connection came up (true) or went down (false) */
typedef void chardev_event_cb(void *opaque, bool up);

/* chardev_raw_cb - the connection is readable; the frontend reads chardev_fd() itself */
typedef void chardev_raw_cb(void *opaque);

/**
 * struct chardev_stats - counters, shown by info chardev-stats (qnet)
 * @out_bytes:	bytes written to the peer
 * @in_bytes:	bytes read from the peer
 * @drops:	records dropped (not connected, or the output buffer full)
 */
struct chardev_stats {
	uint64_t out_bytes, in_bytes, drops;
};

/* chardev_create() - a chardev from @cfg; 0, or -1 with QEMU's texts in @e */
int chardev_create(const struct chardev_config *cfg, struct error *e);
/* chardev_check_new() - an id can be created: not a duplicate, and room for one more */
int chardev_check_new(const char *id, struct error *e);
/* chardev_find() - by id, or NULL */
struct chardev *chardev_find(const char *id);
const char *chardev_id(const struct chardev *c);
/**
 * chardev_attach() - become @c's frontend ("Device '%s' is in use" if it has one)
 * @read:	NULL if the frontend never reads
 */
int chardev_attach(struct chardev *c, chardev_read_cb *read, chardev_event_cb *event,
		   void *opaque, struct error *e);
/* chardev_detach() - stop being the frontend (NULL-safe) */
void chardev_detach(struct chardev *c);
/* chardev_connected() - a peer is connected */
bool chardev_connected(const struct chardev *c);
/**
 * chardev_set_raw() - an attached frontend that needs recvmsg() (SCM_RIGHTS, vhost-user) reads
 * and writes the socket itself: @readable is called on input instead of the read callback
 * (NULL: stop). It calls chardev_disconnect() on EOF or a protocol error.
 */
void chardev_set_raw(struct chardev *c, chardev_raw_cb *readable);
/* chardev_is_unix() - a unix socket chardev (path=) */
bool chardev_is_unix(const struct chardev *c);
/* chardev_fd() - the connected socket, or -1 */
int chardev_fd(const struct chardev *c);
/* chardev_set_read() - deliver input to the frontend (true) or leave it unread (false) */
void chardev_set_read(struct chardev *c, bool on);
/**
 * chardev_write_iov() - queue one record (all of @iov) for the peer, never blocking
 * Return: 0, -EIO when not connected, -ENOBUFS when the buffer has no room (dropped)
 */
int chardev_write_iov(struct chardev *c, const struct iovec *iov, int iovcnt);
/* chardev_disconnect() - drop the current connection (servers accept again) */
void chardev_disconnect(struct chardev *c);
const struct chardev_stats *chardev_get_stats(const struct chardev *c);
/* chardev_info() - QEMU's info chardev lines: "ID: filename=...\n" */
void chardev_info(struct sbuf *out);
/* chardev_cleanup_all() - close every chardev (unix server paths are unlinked) */
void chardev_cleanup_all(void);
/* chardev_test_feed() - tests and fuzzing: hand @buf to the frontend as if read */
void chardev_test_feed(struct chardev *c, const uint8_t *buf, size_t len);

#endif /* QNET_CHARDEV_H */
