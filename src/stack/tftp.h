/* SPDX-License-Identifier: MIT */
/* tftp.h - the read-only TFTP server of the user stack (RFC 1350, 2347-2349, 7440) */
#ifndef QNET_TFTP_H
#define QNET_TFTP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "env.h"

struct user_stack;
union inany;

#define TFTP_SESSIONS_MAX 32	/* concurrent transfers; more get "Server busy" */
#define TFTP_WINDOW_MAX 64	/* largest windowsize granted (RFC 7440) */
#define TFTP_BLKSIZE_DEFAULT 512
#define TFTP_BLKSIZE_MIN 8	/* RFC 2348 */
#define TFTP_NAME_MAX 512	/* file name bytes (as libslirp) */
#define TFTP_RTO_MS 1000	/* first retransmission timeout without the timeout option */
#define TFTP_RTO_MAX_MS 8000	/* back-off cap */
#define TFTP_RETRIES 6		/* timeouts in a row before a transfer is given up */
#define TFTP_TID_FIRST 49152	/* server ports (TIDs) come from 49152..65535 */
#define TFTP_OPTIONS_MAX 16	/* option pairs read from one request */

/* TFTP error codes (RFC 1350) */
enum {
	TFTP_ENOTDEFINED = 0, TFTP_ENOTFOUND = 1, TFTP_EACCESS = 2, TFTP_ENOSPACE = 3,
	TFTP_EBADOP = 4, TFTP_EBADID = 5, TFTP_EEXISTS = 6, TFTP_ENOUSER = 7, TFTP_EOPTNEG = 8,
};

/**
 * struct tftp_session - one read transfer
 * @used:	slot taken
 * @client, @cport: the guest's address (IPv4-mapped for IPv4) and port (its TID)
 * @tid:	our port for this transfer
 * @fd:		the open file
 * @netascii:	mode netascii (LF -> CR LF, CR -> CR NUL)
 * @oack:	an OACK is outstanding (block 0)
 * @blksize, @window: negotiated
 * @rto_ms:	current retransmission timeout (doubles on each timeout)
 * @rto0_ms:	its start value (the timeout option, or TFTP_RTO_MS)
 * @retries:	timeouts in a row
 * @acked:	last block the client acknowledged (32 bit: wraps on the wire only)
 * @sent:	last block sent
 * @last:	the final (short) block, 0 while unknown
 * @stalled:	the guest path was busy: sending resumes from @sent + 1
 * @na_off, @na_pend: netascii: file offset and carried byte (-1: none) at the start of each
 *		block in the window (indexed by block % TFTP_WINDOW_MAX)
 * @timer:	retransmission
 * @s:		the stack
 */
struct tftp_session {
	bool used;
	union inany client;
	uint16_t cport, tid;
	int fd;
	bool netascii, oack, stalled;
	uint16_t blksize, window;
	uint32_t rto_ms, rto0_ms;
	unsigned retries;
	uint32_t acked, sent, last;
	uint16_t tsize_opt, opts;	/* private: which options the OACK carries */
	uint64_t tsize;
	uint8_t timeout_opt;
	off_t na_off[TFTP_WINDOW_MAX + 1];
	int16_t na_pend[TFTP_WINDOW_MAX + 1];
	struct stack_timer timer;
	struct user_stack *s;
};

/**
 * struct tftp_state - per stack TFTP server
 * @sessions:	the transfers
 * @nsessions:	slots in use
 * @buf:	one outgoing packet (4 + the largest block), allocated on first use
 * @next_tid:	where the next TID search starts
 * @stats:	requests by outcome, and dropped input
 */
struct tftp_state {
	struct tftp_session sessions[TFTP_SESSIONS_MAX];
	unsigned nsessions;
	uint8_t *buf;
	uint32_t next_tid;
	struct {
		uint64_t rrq, done, errors_sent, bad, dup_ack, timeouts, gave_up, busy;
	} stats;
};

void tftp_init(struct user_stack *s);
void tftp_fini(struct user_stack *s);
/**
 * tftp_input() - a UDP datagram from the guest to the gateway (IPv4 now; an IPv6 input passes
 * its sender as is: see tftp_out() for the one place that still needs the IPv6 output)
 * @src, @sport: the sender (IPv4-mapped for IPv4)
 * @dport:	the gateway port it went to (69, or a transfer's TID)
 * @p, @len:	UDP payload
 * Return: true if it was TFTP's (handled or dropped), false if not (port 69 is always TFTP's;
 * a TID port only for its own client)
 */
bool tftp_input(struct user_stack *s, const union inany *src, uint16_t sport, uint16_t dport,
		const uint8_t *p, size_t len);
/* tftp_guest_resumed() - the guest path has room again: transfers stalled on it go on */
void tftp_guest_resumed(struct user_stack *s);

#endif /* QNET_TFTP_H */
