// SPDX-License-Identifier: MIT
// tftp.c - read-only TFTP server at the gateway address (tftp=DIR)

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../core/cursor.h"
#include "../core/log.h"
#include "../core/wire.h"
#include "stack.h"

/*
 * DOC: TFTP server
 *
 * Requests arrive on UDP 69 at the gateway (cfg.host), before the restrict
 * check as in libslirp. Each read transfer gets its own server port (a fresh
 * TID from 49152..65535, RFC 1350); datagrams to that port from the
 * transfer's client are TFTP's, anything else to it takes the normal NAT
 * path. Differences from libslirp (docs/behaviour.md): fresh TIDs instead
 * of replies from port 69; netascii as well as octet; the timeout (RFC 2349)
 * and windowsize (RFC 7440) options; ACKs are matched to blocks in flight
 * (a duplicate ACK sends nothing: no sorcerer's apprentice) and blocks are
 * retransmitted on a timer with back-off, a transfer is given up after
 * TFTP_RETRIES timeouts in a row; WRQ gets "Illegal operation" (libslirp
 * stays silent); absolute names are refused.
 *
 * Files are opened below the root with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS): "..", absolute symlinks and symlinks that lead
 * outside the root fail with "Access violation", symlinks inside it work.
 * Without openat2 (kernels before 5.6) every component is opened with
 * O_NOFOLLOW, so no symlink is followed at all. Only regular files are
 * served. The root is opened per request, so it may appear after start-up
 * (as in QEMU, which builds the path per request).
 *
 * Data path: no allocation per packet (one packet buffer and one read
 * buffer per stack, on first use); sessions are a fixed table; every block
 * is read with pread() from the session's fd.
 */

static void tftp_timer_cb(struct stack_timer *t);

void tftp_init(struct user_stack *s)
{
	struct tftp_state *t = &s->tftp;

	for (int i = 0; i < TFTP_SESSIONS_MAX; i++) {
		t->sessions[i].fd = -1;
		t->sessions[i].s = s;
		stack_timer_init(s, &t->sessions[i].timer, tftp_timer_cb, &t->sessions[i]);
	}
	t->next_tid = (uint32_t)(stack_now_ns(s) ^ (uintptr_t)s);
}

static void tftp_end(struct user_stack *s, struct tftp_session *ss)
{
	if (!ss->used)
		return;
	stack_timer_cancel(&ss->timer);
	if (ss->fd >= 0)
		close(ss->fd);
	ss->fd = -1;
	ss->used = false;
	s->tftp.nsessions--;
}

void tftp_fini(struct user_stack *s)
{
	for (int i = 0; i < TFTP_SESSIONS_MAX; i++)
		tftp_end(s, &s->tftp.sessions[i]);
	free(s->tftp.buf);
	s->tftp.buf = NULL;
}

/* the largest block the link carries to @client: MTU - IP (20, or 40 for IPv6) - UDP - TFTP */
static uint16_t tftp_blk_max(const struct user_stack *s, const union inany *client)
{
	unsigned ip = IN6_IS_ADDR_V4MAPPED(&client->a6) ? WIRE_IP4_HLEN : 40;
	unsigned m = s->cfg.mtu - ip - WIRE_UDP_HLEN - WIRE_TFTP_HLEN;

	return (uint16_t)MIN(m, 65464u);
}

/* tftp_bufs() - the packet buffer (4 + 65464) followed by the read buffer (65464), or NULL */
static uint8_t *tftp_bufs(struct user_stack *s)
{
	if (!s->tftp.buf)
		s->tftp.buf = xmalloc(2 * 65536);
	return s->tftp.buf;
}

/*
 * tftp_out() - one datagram from the gateway's @sport to the client. The IPv6 hook: a client
 * that is not v4-mapped is answered through the IPv6 output (udp6_output() from the gateway's
 * IPv6 address) once the stack has one; the rest of the server is family-neutral.
 */
static int tftp_out(struct user_stack *s, uint16_t sport, const union inany *dst, uint16_t dport,
		    const void *p, size_t len)
{
	if (IN6_IS_ADDR_V4MAPPED(&dst->a6))
		return udp4_output(s, s->cfg.host, sport, dst->v4.a4, dport, p, len);
	return -1;
}

static void tftp_error(struct user_stack *s, uint16_t sport, const union inany *dst,
		       uint16_t dport, uint16_t code, const char *msg)
{
	uint8_t b[WIRE_TFTP_HLEN + 64];
	size_t n = MIN(strlen(msg), sizeof(b) - WIRE_TFTP_HLEN - 1);

	b[0] = 0;
	b[1] = WIRE_TFTP_ERROR;
	b[2] = (uint8_t)(code >> 8);
	b[3] = (uint8_t)code;
	memcpy(b + WIRE_TFTP_HLEN, msg, n);
	b[WIRE_TFTP_HLEN + n] = 0;
	s->tftp.stats.errors_sent++;
	tftp_out(s, sport, dst, dport, b, WIRE_TFTP_HLEN + n + 1);
}

/* ---- opening files below the root ---- */

/* tftp_walk() - without openat2: each component opened with O_NOFOLLOW (no symlink at all) */
static int tftp_walk(int dirfd, char *name)
{
	int fd = dup(dirfd);
	char *save = NULL, *c = strtok_r(name, "/", &save);

	while (fd >= 0 && c) {
		char *next = strtok_r(NULL, "/", &save);
		int nfd = openat(fd, c, (next ? O_PATH | O_DIRECTORY : O_RDONLY | O_NONBLOCK |
					 O_NOCTTY) | O_NOFOLLOW | O_CLOEXEC);
		int err = errno;

		close(fd);
		errno = err;
		fd = nfd;
		c = next;
	}
	return fd;
}

/**
 * tftp_open() - open @name below cfg.tftp_root for reading
 * Return: the fd, or -(TFTP error code) with *msg set
 */
static int tftp_open(struct user_stack *s, const char *name, size_t nlen, const char **msg)
{
	struct open_how how = {
		.flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	char copy[TFTP_NAME_MAX + 1];
	struct stat st;
	int dirfd, fd;

	*msg = "Access violation";
	if (!s->cfg.tftp_root || !nlen || name[0] == '/' || name[nlen - 1] == '/')
		return -TFTP_EACCESS;
	/* any ".." component, even one that would stay inside */
	for (const char *p = name; p < name + nlen;) {
		const char *sl = memchr(p, '/', (size_t)(name + nlen - p));
		size_t cl = sl ? (size_t)(sl - p) : (size_t)(name + nlen - p);

		if (cl == 2 && p[0] == '.' && p[1] == '.')
			return -TFTP_EACCESS;
		p += cl + 1;
	}
	dirfd = open(s->cfg.tftp_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		*msg = "File not found";
		return -TFTP_ENOTFOUND;
	}
	fd = (int)syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS) {
		memcpy(copy, name, nlen + 1);
		fd = tftp_walk(dirfd, copy);
	}
	close(dirfd);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR) {
			*msg = "File not found";
			return -TFTP_ENOTFOUND;
		}
		return -TFTP_EACCESS;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -TFTP_EACCESS;
	}
	return fd;
}

/* ---- sending ---- */

/**
 * tftp_block() - build DATA block @b in the packet buffer
 * Return: the packet length, or -1 on a read error
 */
static ssize_t tftp_block(struct user_stack *s, struct tftp_session *ss, uint32_t b)
{
	uint8_t *pkt = tftp_bufs(s), *out = pkt + WIRE_TFTP_HLEN, *in = pkt + 65536;
	size_t n = 0;
	ssize_t r;

	pkt[0] = 0;
	pkt[1] = WIRE_TFTP_DATA;
	pkt[2] = (uint8_t)(b >> 8);
	pkt[3] = (uint8_t)b;
	if (!ss->netascii) {
		r = pread(ss->fd, out, ss->blksize, (off_t)(b - 1) * ss->blksize);
		if (r < 0)
			return -1;
		n = (size_t)r;
	} else {
		unsigned at = b % (TFTP_WINDOW_MAX + 1);
		off_t off = ss->na_off[at];
		int pend = ss->na_pend[at];
		size_t used = 0;

		r = pread(ss->fd, in, ss->blksize, off);
		if (r < 0)
			return -1;
		while (n < ss->blksize) {
			uint8_t c;

			if (pend >= 0) {
				out[n++] = (uint8_t)pend;
				pend = -1;
				continue;
			}
			if (used == (size_t)r)
				break;
			c = in[used++];
			out[n++] = c == '\n' ? '\r' : c;
			if (c == '\n')
				pend = '\n';
			else if (c == '\r')
				pend = 0;
		}
		at = (b + 1) % (TFTP_WINDOW_MAX + 1);
		ss->na_off[at] = off + (off_t)used;
		ss->na_pend[at] = (int16_t)pend;
	}
	if (n < ss->blksize)
		ss->last = b;
	return (ssize_t)(WIRE_TFTP_HLEN + n);
}

/* tftp_send_oack() - the options accepted, in the order the client gave them */
static void tftp_send_oack(struct user_stack *s, struct tftp_session *ss)
{
	uint8_t b[128];
	size_t n = 2;

	b[0] = 0;
	b[1] = WIRE_TFTP_OACK;
	/* bit 0 blksize, 1 tsize, 2 timeout, 3 windowsize; order: fixed, as all clients accept */
	if (ss->opts & 1)
		n += (size_t)snprintf((char *)b + n, sizeof(b) - n, "blksize%c%u", 0, ss->blksize) + 1;
	if (ss->opts & 2)
		n += (size_t)snprintf((char *)b + n, sizeof(b) - n, "tsize%c%llu", 0,
				      (unsigned long long)ss->tsize) + 1;
	if (ss->opts & 4)
		n += (size_t)snprintf((char *)b + n, sizeof(b) - n, "timeout%c%u", 0,
				      ss->timeout_opt) + 1;
	if (ss->opts & 8)
		n += (size_t)snprintf((char *)b + n, sizeof(b) - n, "windowsize%c%u", 0,
				      ss->window) + 1;
	tftp_out(s, ss->tid, &ss->client, ss->cport, b, n);
}

/* tftp_send() - blocks from @first up to the end of the window (acked + window) */
static void tftp_send(struct user_stack *s, struct tftp_session *ss, uint32_t first)
{
	uint32_t end = ss->acked + ss->window;

	ss->stalled = false;
	for (uint32_t b = first; b <= end; b++) {
		ssize_t n;

		if (ss->last && b > ss->last)
			break;
		n = tftp_block(s, ss, b);
		if (n < 0) {
			tftp_error(s, ss->tid, &ss->client, ss->cport, TFTP_ENOTDEFINED, "Read error");
			tftp_end(s, ss);
			return;
		}
		tftp_out(s, ss->tid, &ss->client, ss->cport, s->tftp.buf, (size_t)n);
		ss->sent = b;
		if (s->guest_busy && b < end && !(ss->last && b >= ss->last)) {
			ss->stalled = true;	/* tftp_guest_resumed() goes on */
			break;
		}
	}
	stack_timer_arm(&ss->timer, ss->rto_ms);
}

static void tftp_timer_cb(struct stack_timer *t)
{
	struct tftp_session *ss = t->opaque;
	struct user_stack *s = ss->s;

	if (!ss->used)
		return;
	s->tftp.stats.timeouts++;
	if (++ss->retries > TFTP_RETRIES) {
		s->tftp.stats.gave_up++;
		tftp_end(s, ss);
		return;
	}
	ss->rto_ms = MIN(ss->rto_ms * 2, MAX(TFTP_RTO_MAX_MS, ss->rto0_ms));
	if (ss->oack) {
		tftp_send_oack(s, ss);
		stack_timer_arm(&ss->timer, ss->rto_ms);
	} else {
		tftp_send(s, ss, ss->acked + 1);
	}
}

void tftp_guest_resumed(struct user_stack *s)
{
	if (!s->tftp.nsessions)
		return;
	for (int i = 0; i < TFTP_SESSIONS_MAX && !s->guest_busy; i++) {
		struct tftp_session *ss = &s->tftp.sessions[i];

		if (ss->used && ss->stalled)
			tftp_send(s, ss, ss->sent + 1);
	}
}

/* ---- requests ---- */

/**
 * tftp_str() - a NUL-terminated string: up to @max bytes kept in @buf (NUL-terminated)
 * Return: its length (longer ones are consumed and cut), or -1 if no NUL is left
 */
static ssize_t tftp_str(struct cursor *c, char *buf, size_t max)
{
	size_t n = 0;

	while (cursor_remaining(c)) {
		uint8_t ch = cursor_u8(c);

		if (!ch) {
			buf[MIN(n, max)] = 0;
			return (ssize_t)n;
		}
		if (n < max)
			buf[n] = (char)ch;
		n++;
	}
	return -1;
}

/* tftp_num() - a decimal option value, or -1 (not a number, or above 10^9) */
static long tftp_num(const char *v)
{
	long r = 0;

	if (!*v)
		return -1;
	for (; *v; v++) {
		if (*v < '0' || *v > '9' || r > 100000000)
			return -1;
		r = r * 10 + (*v - '0');
	}
	return r;
}

static struct tftp_session *tftp_find_client(struct user_stack *s, const union inany *a,
					     uint16_t port)
{
	for (int i = 0; i < TFTP_SESSIONS_MAX; i++) {
		struct tftp_session *ss = &s->tftp.sessions[i];

		if (ss->used && !memcmp(&ss->client, a, sizeof(*a)) && ss->cport == port)
			return ss;
	}
	return NULL;
}

static struct tftp_session *tftp_find_tid(struct user_stack *s, uint16_t tid)
{
	if (tid < TFTP_TID_FIRST || !s->tftp.nsessions)
		return NULL;
	for (int i = 0; i < TFTP_SESSIONS_MAX; i++)
		if (s->tftp.sessions[i].used && s->tftp.sessions[i].tid == tid)
			return &s->tftp.sessions[i];
	return NULL;
}

/* tftp_new_tid() - a server port no transfer uses (pseudo-random walk over 49152..65535) */
static uint16_t tftp_new_tid(struct user_stack *s)
{
	for (;;) {
		uint32_t x = s->tftp.next_tid;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		s->tftp.next_tid = x ? x : 1;
		uint16_t tid = (uint16_t)(TFTP_TID_FIRST + x % (65536 - TFTP_TID_FIRST));

		if (!tftp_find_tid(s, tid))
			return tid;	/* at most TFTP_SESSIONS_MAX ports are taken */
	}
}

static void tftp_rrq(struct user_stack *s, const union inany *src, uint16_t sport,
		     struct cursor *c)
{
	char name[TFTP_NAME_MAX + 1], mode[16], oname[16], oval[24];
	struct tftp_session *ss;
	ssize_t nlen, ml;
	const char *msg;
	struct stat st;
	int fd, i;

	s->tftp.stats.rrq++;
	nlen = tftp_str(c, name, TFTP_NAME_MAX);
	ml = nlen < 0 ? -1 : tftp_str(c, mode, sizeof(mode) - 1);
	if (nlen < 0 || ml < 0) {
		s->tftp.stats.bad++;
		tftp_error(s, WIRE_PORT_TFTP, src, sport, TFTP_EBADOP, "Illegal operation");
		return;
	}
	/*
	 * The client repeated its request before any ACK: our first answer was lost, send it
	 * again. Later, the same port asks for a new file: the old transfer is over.
	 */
	ss = tftp_find_client(s, src, sport);
	if (ss && (ss->oack || !ss->acked)) {
		if (ss->oack)
			tftp_send_oack(s, ss);
		else
			tftp_send(s, ss, 1);
		return;
	}
	if (ss)
		tftp_end(s, ss);
	if (nlen > TFTP_NAME_MAX) {
		tftp_error(s, WIRE_PORT_TFTP, src, sport, TFTP_EACCESS, "Access violation");
		return;
	}
	if ((size_t)ml >= sizeof(mode) - 1 ||
	    (strcasecmp(mode, "octet") && strcasecmp(mode, "netascii"))) {
		tftp_error(s, WIRE_PORT_TFTP, src, sport, TFTP_EBADOP, "Unsupported transfer mode");
		return;
	}
	if (s->tftp.nsessions >= TFTP_SESSIONS_MAX) {
		s->tftp.stats.busy++;
		tftp_error(s, WIRE_PORT_TFTP, src, sport, TFTP_ENOTDEFINED, "Server busy");
		return;
	}
	fd = tftp_open(s, name, (size_t)nlen, &msg);
	if (fd < 0) {
		tftp_error(s, WIRE_PORT_TFTP, src, sport, (uint16_t)-fd, msg);
		return;
	}
	for (i = 0; s->tftp.sessions[i].used; i++)
		;
	ss = &s->tftp.sessions[i];
	ss->used = true;
	s->tftp.nsessions++;
	ss->client = *src;
	ss->cport = sport;
	ss->tid = tftp_new_tid(s);
	ss->fd = fd;
	ss->netascii = !strcasecmp(mode, "netascii");
	ss->blksize = TFTP_BLKSIZE_DEFAULT;
	ss->window = 1;
	ss->rto0_ms = TFTP_RTO_MS;
	ss->retries = 0;
	ss->acked = ss->sent = ss->last = 0;
	ss->opts = 0;
	ss->stalled = false;
	ss->na_off[1] = 0;
	ss->na_pend[1] = -1;
	ss->tsize = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;

	/* options (RFC 2347): pairs of strings; unknown, malformed or repeated ones are ignored */
	for (int k = 0; k < TFTP_OPTIONS_MAX && cursor_remaining(c); k++) {
		ssize_t ol = tftp_str(c, oname, sizeof(oname) - 1);
		ssize_t vl = ol < 0 ? -1 : tftp_str(c, oval, sizeof(oval) - 1);
		long v;

		if (ol < 0 || vl < 0)
			break;	/* a dangling option: ignored */
		if ((size_t)ol >= sizeof(oname) - 1 || (size_t)vl >= sizeof(oval) - 1)
			continue;
		v = tftp_num(oval);
		if (v < 0)
			continue;
		if (!strcasecmp(oname, "blksize") && !(ss->opts & 1) && v >= TFTP_BLKSIZE_MIN) {
			ss->blksize = (uint16_t)MIN(v, (long)tftp_blk_max(s, src));
			ss->opts |= 1;
		} else if (!strcasecmp(oname, "tsize") && !(ss->opts & 2)) {
			ss->opts |= 2;
		} else if (!strcasecmp(oname, "timeout") && !(ss->opts & 4) && v >= 1 && v <= 255) {
			ss->timeout_opt = (uint8_t)v;
			ss->rto0_ms = (uint32_t)v * 1000;
			ss->opts |= 4;
		} else if (!strcasecmp(oname, "windowsize") && !(ss->opts & 8) && v >= 1 &&
			   v <= 65535) {
			ss->window = (uint16_t)MIN(v, TFTP_WINDOW_MAX);
			ss->opts |= 8;
		}
	}
	ss->rto_ms = ss->rto0_ms;
	if (ss->opts) {
		ss->oack = true;
		tftp_send_oack(s, ss);
		stack_timer_arm(&ss->timer, ss->rto_ms);
	} else {
		ss->oack = false;
		tftp_send(s, ss, 1);
	}
}

static void tftp_ack(struct user_stack *s, struct tftp_session *ss, uint16_t blk)
{
	uint16_t d = (uint16_t)(blk - (uint16_t)ss->acked);

	if (ss->oack) {
		if (blk != 0) {
			s->tftp.stats.bad++;
			return;
		}
		ss->oack = false;
		ss->retries = 0;
		ss->rto_ms = ss->rto0_ms;
		tftp_send(s, ss, 1);
		return;
	}
	if (d == 0 || d > ss->sent - ss->acked) {
		/* a duplicate, or a block never sent: nothing goes out (no sorcerer's apprentice) */
		s->tftp.stats.dup_ack++;
		return;
	}
	ss->acked += d;
	ss->retries = 0;
	ss->rto_ms = ss->rto0_ms;
	if (ss->last && ss->acked == ss->last) {
		s->tftp.stats.done++;
		tftp_end(s, ss);
		return;
	}
	/* RFC 7440: the next window starts after the block acknowledged */
	tftp_send(s, ss, ss->acked + 1);
}

/* tftp_bad_source() - no transfer for unspecified, broadcast or multicast senders, nor port 0 */
static bool tftp_bad_source(const union inany *a, uint16_t port)
{
	if (!port)
		return true;
	if (IN6_IS_ADDR_V4MAPPED(&a->a6)) {
		uint32_t v = ntohl(a->v4.a4.s_addr);

		return !v || v == INADDR_BROADCAST || IN_MULTICAST(v);
	}
	return IN6_IS_ADDR_UNSPECIFIED(&a->a6) || IN6_IS_ADDR_MULTICAST(&a->a6);
}

bool tftp_input(struct user_stack *s, const union inany *src, uint16_t sport, uint16_t dport,
		const uint8_t *p, size_t len)
{
	struct tftp_session *ss = NULL;
	struct cursor c;
	uint16_t op, arg;

	if (dport != WIRE_PORT_TFTP && !(ss = tftp_find_tid(s, dport)))
		return false;
	if (ss && (memcmp(&ss->client, src, sizeof(*src)) || ss->cport != sport))
		return false;	/* not this transfer's client: the normal NAT path */
	if (tftp_bad_source(src, sport)) {
		s->tftp.stats.bad++;
		return true;
	}
	cursor_init_buf(&c, p, len);
	op = cursor_be16(&c);
	if (!cursor_ok(&c)) {
		s->tftp.stats.bad++;
		return true;
	}
	if (!ss) {
		switch (op) {
		case WIRE_TFTP_RRQ:
			tftp_rrq(s, src, sport, &c);
			break;
		case WIRE_TFTP_WRQ:
			tftp_error(s, WIRE_PORT_TFTP, src, sport, TFTP_EBADOP, "Illegal operation");
			break;
		default:	/* ACK, DATA, ERROR... to port 69: no transfer there */
			s->tftp.stats.bad++;
			break;
		}
		return true;
	}
	switch (op) {
	case WIRE_TFTP_ACK:
		arg = cursor_be16(&c);
		if (!cursor_ok(&c)) {
			s->tftp.stats.bad++;
			break;
		}
		tftp_ack(s, ss, arg);
		break;
	case WIRE_TFTP_ERROR:
		tftp_end(s, ss);	/* the client gave up (or refused our options) */
		break;
	default:
		s->tftp.stats.bad++;
		tftp_error(s, ss->tid, &ss->client, ss->cport, TFTP_EBADOP, "Illegal operation");
		tftp_end(s, ss);
		break;
	}
	return true;
}
