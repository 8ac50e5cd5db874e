// SPDX-License-Identifier: MIT
// qmp_session.c - QMP sessions: connections, greeting, input bounds and documents, output, events

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "qmp.h"
#include "qmp_internal.h"
#include "events.h"
#include "../core/cursor.h"
#include "../core/sockspec.h"
#include "../core/log.h"
#include "../core/loop.h"

/*
 * DOC: Theory of operation
 *
 * A session is one client. Bytes go through a small JSON streamer (strings,
 * escapes and bracket depth, as QEMU's lexer tracks them) that cuts the input
 * into documents: an object or array ends when its depth returns to 0, a
 * top-level scalar at the next delimiter. Each document is parsed with json-c
 * and executed at once; replies, errors and events are appended to the
 * session's output buffer, one JSON text per line ("\r\n"), in QEMU's text
 * form (qmp_json_write()). QEMU's single-quoted strings are rewritten to
 * double-quoted ones on the way in.
 *
 * Bounds: a document larger than QMP_IN_MAX gets QEMU's "JSON token size
 * limit exceeded" error and the client is dropped; nesting deeper than
 * QMP_MAX_NESTING gets "JSON nesting depth limit exceeded" and the rest of
 * that document is skipped (counted, not buffered); a client whose unread
 * output would exceed QMP_OUT_MAX is dropped. Nothing a client sends can
 * stall the loop or other clients.
 *
 * Sessions with an fd flush their output from a deferred handler, so events
 * raised anywhere (a stream connecting, a DHCP lease) are batched, and a
 * session is only freed from its own handlers, never while an event is sent.
 * Detached sessions (fd < 0) keep their output for the caller (unit tests,
 * the fuzzer).
 */


/**
 * struct qmp_session - one QMP client
 * @fd:		socket, or -1 for a detached session
 * @h:		loop handle for @fd
 * @flush:	deferred output flush
 * @srv:	the server that accepted it, or NULL
 * @negotiated:	qmp_capabilities accepted: commands and events enabled
 * @dead:	close as soon as the current handler returns
 * @ibuf, @ilen, @icap: the document being read (< QMP_IN_MAX bytes)
 * @depth:	bracket depth
 * @in_str:	inside a string, @quote its quote character
 * @esc:	the previous string byte was a backslash
 * @skipping:	discarding a document deeper than QMP_MAX_NESTING
 * @obuf, @olen, @ocap: unwritten output, bounded by QMP_OUT_MAX
 * @next:	all sessions
 */
struct qmp_session {
	int fd;
	struct loop_fd h;
	struct loop_defer flush;
	struct sockspec_server *srv;
	bool negotiated;
	bool dead;
	char *ibuf;
	size_t ilen, icap;
	int depth;
	bool in_str;
	char quote;
	size_t str_start;
	bool esc;
	bool skipping;
	char *obuf;
	size_t olen, ocap;
	struct qmp_session *next;
};


static struct qmp_session *sessions;
static struct sockspec_server *servers;

/* ---- output ---- */

static void session_flush(struct qmp_session *s);

/* session_put() - queue one JSON text and its "\r\n"; drops the session past QMP_OUT_MAX */
static void session_put(struct qmp_session *s, struct json_object *obj)
{
	struct sbuf b = { 0 };

	if (s->dead)
		return;
	qmp_json_write(&b, obj);
	sbuf_printf(&b, "\r\n");
	if (s->olen + b.len > QMP_OUT_MAX) {
		info("qmp: a client doesn't read its output, dropping it");
		s->dead = true;
		s->olen = 0;
		sbuf_free(&b);
		if (s->fd >= 0)
			loop_defer(&s->flush);
		return;
	}
	if (s->olen + b.len > s->ocap) {
		size_t cap = MAX(s->ocap * 2, (size_t)4096);

		while (cap < s->olen + b.len)
			cap *= 2;
		s->ocap = MIN(cap, (size_t)QMP_OUT_MAX);
		s->obuf = xrealloc(s->obuf, s->ocap);
	}
	memcpy(s->obuf + s->olen, b.p, b.len);
	s->olen += b.len;
	sbuf_free(&b);
	if (s->fd >= 0)
		loop_defer(&s->flush);
}

/* qmp_reply_error() - {"id": ID, "error": {"class": C, "desc": D}} */
void qmp_reply_error(struct qmp_session *s, struct json_object *id, const char *cls,
		     const char *desc)
{
	struct json_object *r = json_object_new_object(), *err = json_object_new_object();

	json_object_object_add(err, "class", json_object_new_string(cls));
	json_object_object_add(err, "desc", json_object_new_string(desc));
	json_object_object_add(r, "error", err);
	if (id)
		json_object_object_add(r, "id", json_object_get(id));
	session_put(s, r);
	json_object_put(r);
}

/* qmp_reply_return() - {"return": RET or {}, "id": ID} */
void qmp_reply_return(struct qmp_session *s, struct json_object *id, struct json_object *ret)
{
	struct json_object *r = json_object_new_object();

	json_object_object_add(r, "return", ret ? ret : json_object_new_object());
	if (id)
		json_object_object_add(r, "id", json_object_get(id));
	session_put(s, r);
	json_object_put(r);
}

void qmp_event(const char *name, struct json_object *data)
{
	struct json_object *ev = json_object_new_object(), *ts = json_object_new_object();
	struct timeval tv;

	gettimeofday(&tv, NULL);
	json_object_object_add(ts, "seconds", json_object_new_int64(tv.tv_sec));
	json_object_object_add(ts, "microseconds", json_object_new_int64(tv.tv_usec));
	json_object_object_add(ev, "timestamp", ts);
	json_object_object_add(ev, "event", json_object_new_string(name));
	if (data)
		json_object_object_add(ev, "data", data);
	for (struct qmp_session *s = sessions; s; s = s->next)
		if (s->negotiated && !s->dead)
			session_put(s, ev);
	json_object_put(ev);
}

/* bad_keyword() - the first bare word outside strings that isn't a JSON literal */
static bool bad_keyword(const char *p, size_t n, char *word, size_t wsize)
{
	bool in_str = false, esc = false;

	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
			continue;
		}
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
			size_t l = 0;

			while (i + l < n && ((p[i + l] >= 'a' && p[i + l] <= 'z') ||
					     (p[i + l] >= 'A' && p[i + l] <= 'Z') ||
					     (p[i + l] >= '0' && p[i + l] <= '9') || p[i + l] == '_'))
				l++;
			if (!(l == 4 && (!strncmp(p + i, "true", 4) || !strncmp(p + i, "null", 4))) &&
			    !(l == 5 && !strncmp(p + i, "false", 5))) {
				snprintf(word, wsize, "%.*s", (int)MIN(l, (size_t)64), p + i);
				return true;
			}
			i += l - 1;
		}
	}
	return false;
}

/* session_document() - a complete document in s->ibuf */
static void session_document(struct qmp_session *s)
{
	struct json_tokener *tok = json_tokener_new_ex(QMP_MAX_NESTING + 2);
	struct json_object *obj;
	char word[80];

	s->ibuf[s->ilen] = '\0';
	obj = tok ? json_tokener_parse_ex(tok, s->ibuf, (int)s->ilen + 1) : NULL;
	if (!obj || json_tokener_get_error(tok) != json_tokener_success ||
	    (size_t)json_tokener_get_parse_end(tok) < s->ilen) {
		char msg[128];

		if (bad_keyword(s->ibuf, s->ilen, word, sizeof(word)))
			snprintf(msg, sizeof(msg), "JSON parse error, invalid keyword '%s'", word);
		else
			snprintf(msg, sizeof(msg), "JSON parse error, expecting value");
		qmp_reply_error(s, NULL, "GenericError", msg);
	} else {
		qmp_dispatch(s, obj);
	}
	json_object_put(obj);
	if (tok)
		json_tokener_free(tok);
	s->ilen = 0;
}

/* session_append() - one byte of the current document; false when the bound is hit */
static bool session_append(struct qmp_session *s, char c)
{
	if (s->skipping)
		return true;
	if (s->ilen + 2 > QMP_IN_MAX) {
		qmp_reply_error(s, NULL, "GenericError", "JSON token size limit exceeded");
		info("qmp: a client sent a document over %d bytes, dropping it", QMP_IN_MAX);
		s->dead = true;
		return false;
	}
	if (s->ilen + 2 > s->icap) {
		s->icap = MIN(MAX(s->icap * 2, (size_t)1024), (size_t)QMP_IN_MAX);
		s->ibuf = xrealloc(s->ibuf, s->icap);
	}
	s->ibuf[s->ilen++] = c;
	return true;
}

/*
 * lexer_error() - a control character inside a string: QEMU's lexer gives up
 * on the token ("stray '<the string so far>'") and starts over at depth 0
 */
static void lexer_error(struct qmp_session *s, char c)
{
	struct sbuf b = { 0 };

	if (!s->skipping && s->str_start < s->ilen) {
		qmp_sbuf_add(&b, "JSON parse error, stray '", 25);
		qmp_sbuf_add(&b, s->quote == '"' ? "\"" : "'", 1);
		qmp_sbuf_add(&b, s->ibuf + s->str_start + 1, MIN(s->ilen - s->str_start - 1, (size_t)200));
		qmp_sbuf_add(&b, &c, 1);
		qmp_sbuf_add(&b, "'", 1);
	} else {
		qmp_sbuf_add(&b, "JSON parse error, expecting value", 33);
	}
	qmp_reply_error(s, NULL, "GenericError", b.p);
	sbuf_free(&b);
	s->in_str = s->esc = s->skipping = false;
	s->depth = 0;
	s->ilen = 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void qmp_session_input(struct qmp_session *s, const char *buf, size_t len)
{
	struct cursor in;

	/* bytes through the cursor; documents are bounded by session_append() */
	cursor_init_buf(&in, buf, len);
	while (cursor_remaining(&in) > 0 && !s->dead) {
		char c = (char)cursor_u8(&in);

		if (s->in_str && (unsigned char)c < 0x20) {
			lexer_error(s, c);
			continue;
		}
		if (s->in_str) {
			if (s->esc) {
				s->esc = false;
				if (c == '\'' && s->quote == '\'' && !s->skipping) {
					s->ibuf[s->ilen - 1] = '\'';	/* \' -> ' */
					continue;
				}
			} else if (c == '\\') {
				s->esc = true;
			} else if (c == s->quote) {
				s->in_str = false;
				if (!session_append(s, '"'))
					return;
				if (!s->depth)
					session_document(s);
				continue;
			} else if (c == '"') {
				/* a double quote inside a single-quoted string */
				if (!session_append(s, '\\'))
					return;
			}
			if (!session_append(s, c))
				return;
			continue;
		}
		if (!s->depth && s->ilen && !s->skipping &&
		    (is_blank(c) || c == '{' || c == '[' || c == '"' || c == '\'' || c == '}' ||
		     c == ']')) {
			session_document(s);	/* a top-level scalar ended */
		}
		if (c == '"' || c == '\'') {
			s->in_str = true;
			s->quote = c;
			s->str_start = s->ilen;
			if (!session_append(s, '"'))
				return;
		} else if (c == '{' || c == '[') {
			if (++s->depth > QMP_MAX_NESTING && !s->skipping) {
				qmp_reply_error(s, NULL, "GenericError", "JSON nesting depth limit exceeded");
				s->skipping = true;
				s->ilen = 0;
			}
			if (!session_append(s, c))
				return;
		} else if (c == '}' || c == ']') {
			if (!s->depth) {
				qmp_reply_error(s, NULL, "GenericError", "JSON parse error, expecting value");
				continue;
			}
			if (!session_append(s, c))
				return;
			if (--s->depth == 0) {
				if (s->skipping) {
					s->skipping = false;
					s->ilen = 0;
				} else {
					session_document(s);
				}
			}
		} else if (is_blank(c)) {
			if (s->depth && !session_append(s, c))
				return;
		} else if (!session_append(s, c)) {
			return;
		}
	}
}

/* ---- sessions ---- */

static void session_flush_cb(struct loop_defer *d)
{
	session_flush(d->opaque);
}

struct qmp_session *qmp_session_new(int fd)
{
	struct qmp_session *s = xzalloc(sizeof(*s));
	struct json_object *g = json_object_new_object(), *q = json_object_new_object();

	s->fd = fd;
	s->h.fd = -1;
	event_hook_set(events_qmp_hook, NULL);	/* core and stack events reach the sessions */
	loop_defer_init(&s->flush, session_flush_cb, s);
	s->next = sessions;
	sessions = s;
	json_object_object_add(q, "version", qmp_version_info());
	json_object_object_add(q, "capabilities", json_object_new_array());
	json_object_object_add(g, "QMP", q);
	session_put(s, g);
	json_object_put(g);
	return s;
}

void qmp_session_free(struct qmp_session *s)
{
	struct qmp_session **pp;

	for (pp = &sessions; *pp && *pp != s; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = s->next;
	loop_defer_cancel(&s->flush);
	if (s->fd >= 0) {
		loop_fd_del(&s->h);
		close(s->fd);
	}
	if (s->srv)
		s->srv->sessions--;
	free(s->ibuf);
	free(s->obuf);
	free(s);
}

const char *qmp_session_output(const struct qmp_session *s, size_t *len)
{
	*len = s->olen;
	return s->obuf ? s->obuf : "";
}

void qmp_session_consume(struct qmp_session *s, size_t n)
{
	n = MIN(n, s->olen);
	memmove(s->obuf, s->obuf + n, s->olen - n);
	s->olen -= n;
}

bool qmp_session_dead(const struct qmp_session *s)
{
	return s->dead;
}

bool qmp_session_negotiated(const struct qmp_session *s)
{
	return s->negotiated;
}

void qmp_session_set_negotiated(struct qmp_session *s)
{
	s->negotiated = true;
}

/* session_write() - write what the socket takes now; false if the peer is gone */
static bool session_write(struct qmp_session *s)
{
	size_t done = 0;

	while (done < s->olen) {
		ssize_t n = send(s->fd, s->obuf + done, s->olen - done, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			s->olen = 0;
			return false;
		}
		done += (size_t)n;
	}
	qmp_session_consume(s, done);
	return true;
}

/* session_flush() - write output, close a dead session, watch for writability if needed */
static void session_flush(struct qmp_session *s)
{
	if (s->fd < 0)
		return;
	if (!session_write(s))
		s->dead = true;
	if (s->dead) {
		qmp_session_free(s);
		return;
	}
	loop_fd_mod(&s->h, EPOLLIN | (s->olen ? EPOLLOUT : 0));
}

static void session_cb(struct loop_fd *h, uint32_t events)
{
	struct qmp_session *s = h->opaque;

	if (events & EPOLLIN) {
		char buf[16384];
		ssize_t n;

		/* a few reads per wake-up: one client can't monopolise the loop */
		for (int k = 0; k < 4 && !s->dead; k++) {
			n = recv(s->fd, buf, sizeof(buf), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (n <= 0) {
				s->dead = true;
				break;
			}
			qmp_session_input(s, buf, (size_t)n);
			if (loop_quitting())
				break;
		}
	} else if (events & (EPOLLHUP | EPOLLERR)) {
		s->dead = true;
	}
	if (s->dead && s->olen)
		session_write(s);	/* last words (the error that dropped it), best effort */
	session_flush(s);
}

static int session_attach(struct qmp_session *s)
{
	int r = loop_fd_add(&s->h, s->fd, EPOLLIN, session_cb, s);

	if (r < 0)
		return r;
	loop_defer(&s->flush);
	return 0;
}

/* ---- servers ---- */

static void qmp_accept(struct sockspec_server *srv, int fd)
{
	struct qmp_session *s = qmp_session_new(fd);

	s->srv = srv;
	srv->sessions++;
	if (session_attach(s) < 0)
		qmp_session_free(s);
}

int qmp_open(const char *spec, struct error *e)
{
	struct sockspec q;
	struct sockspec_server *srv;

	if (sockspec_parse(spec, &q, e) < 0)
		return -1;
	if (!q.server)
		return err_set(e, "qnet's -qmp only listens: add server=on");
	srv = sockspec_serve(&q, spec, 16, QMP_MAX_SESSIONS, qmp_accept, NULL, e);
	if (!srv)
		return -1;
	srv->next = servers;
	servers = srv;
	return 0;
}

void qmp_close_all(void)
{
	qmp_commands_close();
	while (sessions) {
		struct qmp_session *s = sessions;

		if (s->fd >= 0 && s->olen && !s->dead)
			session_write(s);
		qmp_session_free(s);
	}
	while (servers) {
		struct sockspec_server *srv = servers;

		servers = srv->next;
		sockspec_server_close(srv);
	}
}
