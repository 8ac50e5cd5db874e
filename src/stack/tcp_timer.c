// SPDX-License-Identifier: MIT
// tcp_timer.c - TCP timers: handshake and connect timeouts, retransmission (RFC 6298, go-back-N),
// persist probes and TIME_WAIT, all on one stack timer at the earliest deadline

#include <arpa/inet.h>
#include <errno.h>
#include <linux/sockios.h>
#include <netinet/ip_icmp.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../core/cursor.h"
#include "../core/log.h"
#include "../core/wire.h"
#include "csum.h"
#include "stack.h"
#include "tcp_internal.h"

/* ---- timers ------------------------------------------------------------ */

void tcp_rto_arm(struct tcp_conn *c)
{
	uint64_t rto = (uint64_t)c->rto << MIN(c->backoff, 20);

	if (rto > TCP_RTO_MAX)
		rto = TCP_RTO_MAX;
	c->flags &= ~(uint32_t)TCP_F_PERSIST;
	tcp_set_deadline(c, stack_now_ms(c->s) + rto);
}

/* tcp_timer_update() - after sending or an ACK: RTO while data is out, persist on a zero window */
void tcp_timer_update(struct tcp_conn *c, bool restart)
{
	if (c->state != TCP_S_ESTABLISHED)
		return;
	if (c->snd_nxt != c->snd_una || c->snd_max != c->snd_una) {
		if (restart || !c->deadline || (c->flags & TCP_F_PERSIST))
			tcp_rto_arm(c);
	} else if (!c->guest_wnd && !(c->flags & (TCP_F_HOST_EOF | TCP_F_FIN_SENT))) {
		if (!(c->flags & TCP_F_PERSIST) || !c->deadline) {
			tcp_rto_arm(c);
			c->flags |= TCP_F_PERSIST;
		}
	} else {
		c->flags &= ~(uint32_t)TCP_F_PERSIST;
		tcp_set_deadline(c, 0);
	}
}

/* tcp_rewind() - go back to the first unacknowledged byte and send again */
void tcp_rewind(struct tcp_conn *c)
{
	int zero = 0;

	c->s->tcp.stats.retransmits++;
	c->recover = c->snd_max;
	c->flags |= TCP_F_RECOVERY;
	c->snd_nxt = c->snd_una;
	c->flags &= ~(uint32_t)(TCP_F_RTT | TCP_F_PAUSED);
	if ((c->flags & TCP_F_FIN_SENT) && !(c->flags & TCP_F_FIN_ACKED))
		c->flags &= ~(uint32_t)TCP_F_FIN_SENT;
	if (!(c->flags & TCP_F_NO_PEEKOFF))
		setsockopt(c->fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero));
	c->dupacks = 0;
	tcp_sock_send(c);
}

static void tcp_timeout(struct tcp_conn *c, uint64_t now)
{
	switch (c->state) {
	case TCP_S_CONNECTING:
		tcp_reset(c);
		return;
	case TCP_S_SYN_RCVD:
	case TCP_S_SYN_SENT:
		if (now - c->since_ms >= (c->state == TCP_S_SYN_SENT ? TCP_HOSTFWD_MS : TCP_CONNECT_MS)) {
			tcp_reset(c);
			return;
		}
		c->backoff++;
		tcp_send_ctl(c, c->state == TCP_S_SYN_SENT ? TCP_SYN : TCP_SYN | TCP_ACK, c->iss);
		tcp_rto_arm(c);
		return;
	case TCP_S_TIME_WAIT:
		tcp_free(c, false);
		return;
	case TCP_S_ESTABLISHED:
		break;
	default:
		tcp_set_deadline(c, 0);
		return;
	}
	if (c->flags & TCP_F_PERSIST) {
		/* zero window probe: an old sequence number makes the guest answer with an ACK */
		tcp_send_ctl(c, TCP_ACK, c->snd_una - 1);
		if (c->backoff < 16)
			c->backoff++;
		c->flags &= ~(uint32_t)TCP_F_PERSIST;
		tcp_rto_arm(c);
		c->flags |= TCP_F_PERSIST;
		if (c->deadline > now + TCP_PERSIST_MAX)
			tcp_set_deadline(c, now + TCP_PERSIST_MAX);
		return;
	}
	if (c->snd_nxt == c->snd_una) {
		tcp_set_deadline(c, 0);
		return;
	}
	if (now - c->since_ms >= TCP_GIVEUP_MS) {
		tcp_reset(c);
		return;
	}
	if (c->backoff < 16)
		c->backoff++;
	c->deadline = 0;
	tcp_rewind(c);
	if (c->state == TCP_S_ESTABLISHED)
		tcp_timer_update(c, true);
}

void tcp_timer_cb(struct stack_timer *tm)
{
	struct user_stack *s = tm->opaque;
	struct tcp_state *t = &s->tcp;
	uint64_t now = stack_now_ms(s);
	struct tcp_conn *c;

	/* move the list aside: handlers (and anything they trigger) put back what still waits */
	t->firing = t->timed;
	t->timed = NULL;
	c = t->firing;
	if (c) {
		do {
			c->flags = (c->flags & ~(uint32_t)TCP_F_TIMED) | TCP_F_FIRING;
			c = c->tn.next;
		} while (c != t->firing);
	}
	while (t->firing) {
		c = t->firing;
		tcp_list_del(&t->firing, c, TN);
		c->flags &= ~(uint32_t)TCP_F_FIRING;
		if (c->deadline <= now)
			tcp_timeout(c, now);
		else
			tcp_set_deadline(c, c->deadline);
	}
}

