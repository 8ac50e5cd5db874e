/* SPDX-License-Identifier: MIT */
/* stream_data.h - QEMU's length-prefixed framing over a byte stream (stream, socket) */
#ifndef QNET_STREAM_DATA_H
#define QNET_STREAM_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "../core/loop.h"
#include "../core/net.h"
#include "../core/reasm.h"

/*
 * DOC: Theory of operation
 *
 * On the wire every frame is a 4-byte big-endian length followed by that
 * many bytes (QEMU's -netdev socket/stream, passt's "qemu" protocol).
 *
 * RX: struct stream_rx (core/reasm.c, shared with filter-redirector)
 * reassembles frames from reads split anywhere. It does what QEMU 7.2's
 * net_fill_rstate() does: a length of 0 gives an empty frame
 * (emitted when the next byte of input is processed; stream_conn does not pass
 * it on, since QEMU's receivers stall on it), and a frame whose bytes
 * would overflow NET_BUFSIZE (69632) makes the feed fail, after which the
 * owner closes the connection ("serious error: oversized packet received,
 * connection terminated."). The error only triggers once the data actually
 * arrives, so a huge length followed by nothing just waits.
 *
 * TX: struct stream_conn keeps a bounded output buffer per connection.
 * receive() appends [len][frame] and a loop_defer writes the whole buffer with
 * one write() after the current batch of events. When the buffer is full it
 * flushes at once; if there is still no room receive() returns 0 (the core
 * queues the frame), the fd is watched for EPOLLOUT and net_flush_queued() is
 * called when it has drained to half.
 *
 * Reads are done in STREAM_RX_CHUNK pieces into one shared buffer (qnet is
 * single-threaded and a chunk is fully processed before the handler returns).
 * When net_send() answers 0 the connection stops reading (EPOLLIN off) until
 * the sent callback fires; the rest of the chunk is still sent (queued).
 */

#define STREAM_RX_CHUNK (256 * 1024)
#define STREAM_TX_SIZE (256 * 1024)

/* The line QEMU prints (no space after the comma: QEMU's string concatenation) */
#define STREAM_OVERSIZED_MSG REASM_OVERSIZED_MSG

/* struct stream_rx - frame reassembler: the shared one (core/reasm.h), without vnet length */
struct stream_rx {
	struct reasm r;
};

/* stream_frame_cb - one complete frame (valid only during the call) */
typedef reasm_frame_cb stream_frame_cb;

void stream_rx_init(struct stream_rx *rx);
void stream_rx_reset(struct stream_rx *rx);
void stream_rx_fini(struct stream_rx *rx);
/**
 * stream_rx_feed() - process @n bytes of input
 * Return: 0, or -1 when a frame is larger than NET_BUFSIZE (the state is reset;
 * frames completed earlier in @p were already emitted)
 */
int stream_rx_feed(struct stream_rx *rx, const uint8_t *p, size_t n, stream_frame_cb *cb,
		   void *opaque);

enum stream_conn_event {
	STREAM_CONN_UP,		/* non-blocking connect completed */
	STREAM_CONN_FAILED,	/* non-blocking connect failed (@err) */
	STREAM_CONN_DOWN,	/* EOF, read/write error or oversized frame: fd closed */
};

struct stream_conn;
/* stream_conn_event_cb - may free the owner (the conn is not touched afterwards) */
typedef void stream_conn_event_cb(struct stream_conn *c, enum stream_conn_event ev, int err);

/**
 * struct stream_conn - one framed connection of a net client
 * @nc:		the owning client (frames are sent from it)
 * @sent_cb:	owner's sent callback; it must call stream_conn_resume()
 * @event:	owner's hook for connect/disconnect
 * @opaque:	owner's pointer
 * @lfd:	the connected fd (lfd.fd == -1 when there is none)
 * @defer:	deferred flush / close
 * @rx:		reassembler
 * @tx:		output buffer (STREAM_TX_SIZE), @tx_off..@tx_off+@tx_len pending
 * @connecting:	non-blocking connect in progress
 * @paused:	net_send() said 0: EPOLLIN off until @sent_cb
 * @in_flight:	frames queued with @sent_cb whose callback has not fired yet
 * @blocked:	receive() said 0: net_flush_queued() once drained
 * @dead:	a write failed: close from @defer
 * @want_out:	waiting for EPOLLOUT
 */
struct stream_conn {
	struct net_client *nc;
	net_sent_cb *sent_cb;
	stream_conn_event_cb *event;
	void *opaque;
	struct loop_fd lfd;
	struct loop_defer defer;
	struct stream_rx rx;
	uint8_t *tx;
	size_t tx_off, tx_len;
	bool connecting;
	bool paused;
	unsigned in_flight;
	bool blocked;
	bool dead;
	bool want_out;
};

/* stream_conn_init() - set up an unconnected conn (allocates its buffers) */
void stream_conn_init(struct stream_conn *c, struct net_client *nc, net_sent_cb *sent_cb,
		      stream_conn_event_cb *event, void *opaque);
/* stream_conn_fini() - close and free the buffers */
void stream_conn_fini(struct stream_conn *c);
/**
 * stream_conn_attach() - start using @fd (non-blocking; owned by the conn from now)
 * @connecting:	a connect() is in progress: report STREAM_CONN_UP/FAILED on EPOLLOUT
 * Return: 0 or -errno (the fd is closed then)
 */
int stream_conn_attach(struct stream_conn *c, int fd, bool connecting);
/* stream_conn_close() - close the fd and reset state, without calling @event */
void stream_conn_close(struct stream_conn *c);
static inline bool stream_conn_is_open(const struct stream_conn *c)
{
	return c->lfd.fd >= 0;
}
/* stream_conn_receive() - the backend's receive(): queue [len][frame] for output */
ssize_t stream_conn_receive(struct stream_conn *c, const struct iovec *iov, int iovcnt);
/* stream_conn_resume() - call from the sent callback, once per callback: reads again after the last */
void stream_conn_resume(struct stream_conn *c);
/**
 * stream_conn_release_queue() - after a disconnect, with the link down: let the core
 * drain what it queued for us while the buffer was full
 */
void stream_conn_release_queue(struct stream_conn *c);

/* stream_set_nodelay() - TCP_NODELAY on TCP sockets, nothing on others */
void stream_set_nodelay(int fd);

#endif /* QNET_STREAM_DATA_H */
