// SPDX-License-Identifier: MIT
// qmp.c - the QMP server: QEMU 7.2's greeting, negotiation, commands, errors and events

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "qmp.h"
#include "monitor.h"
#include "../cli/netdev.h"
#include "../cli/opts.h"
#include "../core/sockspec.h"
#include "../core/cursor.h"
#include "../core/filter.h"
#include "../core/hub.h"
#include "../core/log.h"
#include "../core/loop.h"
#include "../core/net.h"
#include "../stack/dhcp.h"
#include "../stack/stack.h"

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
static qmp_cmd_filter *cmd_filter;

void qmp_set_command_filter(qmp_cmd_filter *f)
{
	cmd_filter = f;
}

/* ---- JSON text in QEMU's form ---- */

/*
 * QEMU's QDict keeps members in 512 hash buckets (hash of the TDB database)
 * and lists them bucket by bucket, newest first within a bucket: that is the
 * order QEMU prints object members in ("return" before "id", "id" before
 * "error"). qnet prints its objects in the same order.
 */
static unsigned qdict_bucket(const char *key)
{
	uint32_t v = 0x238F13AFu * (uint32_t)strlen(key);

	for (unsigned i = 0; key[i]; i++)
		v += (uint32_t)(unsigned char)key[i] << (i * 5 % 24);
	return (1103515243u * v + 12345u) % 512;
}

struct qmp_member {
	const char *key;
	struct json_object *val;
	unsigned bucket;
	int idx;
};

static int member_cmp(const void *a, const void *b)
{
	const struct qmp_member *x = a, *y = b;

	if (x->bucket != y->bucket)
		return x->bucket < y->bucket ? -1 : 1;
	return y->idx - x->idx;	/* newest first */
}

/* json_members() - @obj's members in QEMU's order; caller frees; *n set */
static struct qmp_member *json_members(struct json_object *obj, int *n)
{
	int cnt = json_object_object_length(obj), i = 0;
	struct qmp_member *m = xzalloc(sizeof(*m) * (size_t)(cnt ? cnt : 1));

	json_object_object_foreach(obj, key, val) {
		if (i >= cnt)
			break;
		m[i].key = key;
		m[i].val = val;
		m[i].bucket = qdict_bucket(key);
		m[i].idx = i;
		i++;
	}
	qsort(m, (size_t)i, sizeof(*m), member_cmp);
	*n = i;
	return m;
}

/* utf8_next() - decode one code point at @p (max @n bytes); -1 if invalid; *len set */
static int32_t utf8_next(const unsigned char *p, size_t n, size_t *len)
{
	int32_t cp;
	size_t need;

	if (p[0] < 0x80) {
		*len = 1;
		return p[0];
	}
	if ((p[0] & 0xe0) == 0xc0) {
		cp = p[0] & 0x1f;
		need = 2;
	} else if ((p[0] & 0xf0) == 0xe0) {
		cp = p[0] & 0x0f;
		need = 3;
	} else if ((p[0] & 0xf8) == 0xf0) {
		cp = p[0] & 0x07;
		need = 4;
	} else {
		*len = 1;
		return -1;
	}
	if (need > n) {
		*len = 1;
		return -1;
	}
	for (size_t i = 1; i < need; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			*len = i;
			return -1;
		}
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	*len = need;
	if ((need == 2 && cp < 0x80) || (need == 3 && cp < 0x800) ||
	    (need == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	return cp;
}

/* sb_add() - append @n bytes (sbuf_printf per byte would be slow for long strings) */
static void sb_add(struct sbuf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 128;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* json_write_str() - QEMU's string escapes: control, DEL and non-ASCII as \uXXXX */
static void json_write_str(struct sbuf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	sbuf_printf(out, "\"");
	while (i < n) {
		size_t len;
		int32_t cp = utf8_next(p + i, n - i, &len);

		i += len;
		if (cp < 0)
			cp = 0xfffd;
		switch (cp) {
		case '"':
			sbuf_printf(out, "\\\"");
			break;
		case '\\':
			sbuf_printf(out, "\\\\");
			break;
		case '\b':
			sbuf_printf(out, "\\b");
			break;
		case '\f':
			sbuf_printf(out, "\\f");
			break;
		case '\n':
			sbuf_printf(out, "\\n");
			break;
		case '\r':
			sbuf_printf(out, "\\r");
			break;
		case '\t':
			sbuf_printf(out, "\\t");
			break;
		default:
			if (cp >= 0x10000) {
				cp -= 0x10000;
				sbuf_printf(out, "\\u%04X\\u%04X", 0xd800 | (cp >> 10),
					    0xdc00 | (cp & 0x3ff));
			} else if (cp < 0x20 || cp >= 0x7f) {
				sbuf_printf(out, "\\u%04X", (unsigned)cp);
			} else {
				char ch = (char)cp;

				sb_add(out, &ch, 1);
			}
		}
	}
	sbuf_printf(out, "\"");
}

void qmp_json_write(struct sbuf *out, struct json_object *obj)
{
	switch (json_object_get_type(obj)) {
	case json_type_null:
		sbuf_printf(out, "null");
		break;
	case json_type_boolean:
		sbuf_printf(out, "%s", json_object_get_boolean(obj) ? "true" : "false");
		break;
	case json_type_int:
		/* json-c's own text keeps values beyond INT64_MAX exact */
		sbuf_printf(out, "%s", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
		break;
	case json_type_double:
		sbuf_printf(out, "%.17g", json_object_get_double(obj));
		break;
	case json_type_string:
		json_write_str(out, json_object_get_string(obj),
			       (size_t)json_object_get_string_len(obj));
		break;
	case json_type_array: {
		size_t n = json_object_array_length(obj);

		sbuf_printf(out, "[");
		for (size_t i = 0; i < n; i++) {
			if (i)
				sbuf_printf(out, ", ");
			qmp_json_write(out, json_object_array_get_idx(obj, i));
		}
		sbuf_printf(out, "]");
		break;
	}
	case json_type_object: {
		int n;
		struct qmp_member *m = json_members(obj, &n);

		sbuf_printf(out, "{");
		for (int i = 0; i < n; i++) {
			if (i)
				sbuf_printf(out, ", ");
			json_write_str(out, m[i].key, strlen(m[i].key));
			sbuf_printf(out, ": ");
			qmp_json_write(out, m[i].val);
		}
		sbuf_printf(out, "}");
		free(m);
		break;
	}
	}
}

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

/* reply_error() - {"id": ID, "error": {"class": C, "desc": D}} */
static void reply_error(struct qmp_session *s, struct json_object *id, const char *cls,
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

static void reply_return(struct qmp_session *s, struct json_object *id, struct json_object *ret)
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

/* ---- commands ---- */

enum qarg_type { QA_STR, QA_BOOL, QA_INT, QA_ANY, QA_LIST };

/**
 * struct qarg - one argument as QAPI declares it
 * @name:	member name
 * @type:	expected JSON type
 * @optional:	may be absent
 */
struct qarg {
	const char *name;
	enum qarg_type type;
	bool optional;
};

/**
 * struct qmp_req - one command being executed
 * @s:		the session
 * @args:	"arguments" (an object; empty if absent)
 * @ret:	the return value the handler sets (NULL: {})
 * @cls:	error class the handler sets (NULL: success)
 * @desc:	error description
 */
struct qmp_req {
	struct qmp_session *s;
	struct json_object *args;
	struct json_object *ret;
	const char *cls;
	char desc[512];
};

__attribute__((format(printf, 3, 4)))
static void req_error(struct qmp_req *r, const char *cls, const char *fmt, ...)
{
	va_list ap;

	r->cls = cls;
	va_start(ap, fmt);
	vsnprintf(r->desc, sizeof(r->desc), fmt, ap);
	va_end(ap);
}

/**
 * struct qmp_cmd - one command
 * @name:	QEMU's (or qnet's) name
 * @fn:		handler
 * @args:	declared arguments, {NULL}-terminated; NULL for boxed/free-form ones
 */
struct qmp_cmd {
	const char *name;
	void (*fn)(struct qmp_req *r);
	const struct qarg *args;
};

static const char *arg_str(struct qmp_req *r, const char *name)
{
	struct json_object *v;

	if (!json_object_object_get_ex(r->args, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool arg_bool(struct qmp_req *r, const char *name)
{
	struct json_object *v;

	return json_object_object_get_ex(r->args, name, &v) && json_object_get_boolean(v);
}

static int64_t arg_int(struct qmp_req *r, const char *name)
{
	struct json_object *v;

	return json_object_object_get_ex(r->args, name, &v) ? json_object_get_int64(v) : 0;
}

/* args_check() - QAPI's checks in declaration order, then unexpected members */
static bool args_check(struct qmp_req *r, const struct qarg *decl)
{
	static const char *const tname[] = { "string", "boolean", "integer", "any", "array" };
	static const enum json_type jt[] = { json_type_string, json_type_boolean, json_type_int,
					     json_type_null, json_type_array };

	for (const struct qarg *a = decl; a->name; a++) {
		struct json_object *v;

		if (!json_object_object_get_ex(r->args, a->name, &v)) {
			if (!a->optional) {
				req_error(r, "GenericError", "Parameter '%s' is missing", a->name);
				return false;
			}
			continue;
		}
		if (a->type != QA_ANY && !json_object_is_type(v, jt[a->type])) {
			req_error(r, "GenericError", "Invalid parameter type for '%s', expected: %s",
				  a->name, tname[a->type]);
			return false;
		}
	}
	int n;
	struct qmp_member *m = json_members(r->args, &n);

	for (int i = 0; i < n; i++) {
		const struct qarg *a = decl;

		while (a->name && strcmp(a->name, m[i].key))
			a++;
		if (!a->name) {
			req_error(r, "GenericError", "Parameter '%s' is unexpected", m[i].key);
			free(m);
			return false;
		}
	}
	free(m);
	return true;
}

static const struct qmp_cmd qmp_cmds[];

static void cmd_qmp_capabilities(struct qmp_req *r)
{
	struct json_object *en;

	if (r->s->negotiated) {
		req_error(r, "CommandNotFound",
			  "Capabilities negotiation is already complete, command ignored");
		return;
	}
	if (json_object_object_get_ex(r->args, "enable", &en)) {
		size_t n = json_object_array_length(en);

		for (size_t i = 0; i < n; i++) {
			struct json_object *c = json_object_array_get_idx(en, i);

			if (!json_object_is_type(c, json_type_string)) {
				req_error(r, "GenericError",
					  "Invalid parameter type for 'enable[%zu]', expected: string", i);
				return;
			}
			if (!strcmp(json_object_get_string(c), "oob"))
				req_error(r, "GenericError", "Capability 'oob' not available");
			else
				req_error(r, "GenericError",
					  "Parameter 'enable[%zu]' does not accept value '%s'", i,
					  json_object_get_string(c));
			return;
		}
	}
	r->s->negotiated = true;
}

/* version_obj() - {"major", "minor", "micro"} from QNET_VERSION */
static struct json_object *version_obj(void)
{
	struct json_object *v = json_object_new_object();
	int ma = 0, mi = 0, mc = 0;

	sscanf(QNET_VERSION, "%d.%d.%d", &ma, &mi, &mc);
	json_object_object_add(v, "major", json_object_new_int(ma));
	json_object_object_add(v, "minor", json_object_new_int(mi));
	json_object_object_add(v, "micro", json_object_new_int(mc));
	return v;
}

static struct json_object *version_info(void)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "qemu", version_obj());
	json_object_object_add(o, "package", json_object_new_string("qnet " QNET_VERSION));
	return o;
}

static void cmd_query_version(struct qmp_req *r)
{
	r->ret = version_info();
}

static void cmd_query_commands(struct qmp_req *r)
{
	r->ret = json_object_new_array();
	for (const struct qmp_cmd *c = qmp_cmds; c->name; c++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(c->name));
		json_object_array_add(r->ret, o);
	}
}

static void cmd_quit(struct qmp_req *r)
{
	struct json_object *d = json_object_new_object();

	json_object_object_add(d, "guest", json_object_new_boolean(false));
	json_object_object_add(d, "reason", json_object_new_string("host-qmp-quit"));
	qmp_event("SHUTDOWN", d);
	loop_quit(0);
}

static void cmd_hmp(struct qmp_req *r)
{
	struct sbuf out = { 0 }, crlf = { 0 };

	monitor_exec(arg_str(r, "command-line"), &out);
	sb_add(&crlf, "", 0);
	for (size_t i = 0; i < out.len; i++) {
		if (out.p[i] == '\n')
			sb_add(&crlf, "\r", 1);
		sb_add(&crlf, out.p + i, 1);
	}
	r->ret = json_object_new_string_len(crlf.p, (int)crlf.len);
	sbuf_free(&out);
	sbuf_free(&crlf);
}

/* args_to_opts() - the CLI's JSON flattening of @args */
static int args_to_opts(struct json_object *args, struct opts *o, struct error *e)
{
	const char *txt = json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN);

	return opts_parse_json(o, txt, e);
}

static void cmd_netdev_add(struct qmp_req *r)
{
	struct opts o = { 0 };
	struct error e = { 0 };

	if (args_to_opts(r->args, &o, &e) < 0 || !netdev_create(&o, true, NULL, &e))
		req_error(r, "GenericError", "%s", e.msg);
	opts_free(&o);
}

int qmp_netdev_del(const char *id, bool *not_found, struct error *e)
{
	struct net_client *nc = net_find(id);

	*not_found = false;
	if (!nc || nc->ops->driver == NET_DRIVER_NIC) {
		*not_found = true;
		return err_set(e, "Device '%s' not found", id);
	}
	if (!nc->is_netdev)
		return err_set(e, "Device '%s' is not a netdev", id);
	/* a connection of a hubid= stream server belongs to its server */
	if (nc->ops->driver == NET_DRIVER_STREAM) {
		const char *dot = strrchr(id, '.');
		struct net_client *parent = NULL;

		if (dot) {
			char *p = xasprintf("%.*s", (int)(dot - id), id);

			parent = net_find(p);
			free(p);
		}
		if (parent && parent->ops->driver == NET_DRIVER_STREAM && parent->is_netdev &&
		    strspn(dot + 1, "0123456789") == strlen(dot + 1) && dot[1])
			return err_set(e, "Device '%s' is not a netdev", id);
	}
	net_client_free(nc);
	return 0;
}

static void cmd_netdev_del(struct qmp_req *r)
{
	struct error e = { 0 };
	bool nf;

	if (qmp_netdev_del(arg_str(r, "id"), &nf, &e) < 0)
		req_error(r, nf ? "DeviceNotFound" : "GenericError", "%s", e.msg);
}

static void cmd_set_link(struct qmp_req *r)
{
	const char *name = arg_str(r, "name");
	struct net_client *nc = net_find(name);

	if (!nc) {
		req_error(r, "DeviceNotFound", "Device '%s' not found", name);
		return;
	}
	net_set_link(nc, arg_bool(r, "up"));
}

static void cmd_object_add(struct qmp_req *r)
{
	struct opts o = { 0 };
	struct error e = { 0 };

	if (args_to_opts(r->args, &o, &e) < 0 || filter_object_add_qapi(&o, &e) < 0)
		req_error(r, "GenericError", "%s", e.msg);
	opts_free(&o);
}

static void cmd_object_del(struct qmp_req *r)
{
	struct error e = { 0 };

	if (filter_object_del(arg_str(r, "id"), &e) < 0)
		req_error(r, "GenericError", "%s", e.msg);
}

static void cmd_query_netdevs(struct qmp_req *r)
{
	r->ret = json_object_new_array();
	for (struct net_client *nc = net_first(); nc; nc = nc->next) {
		struct json_object *o = json_object_new_object(), *st = json_object_new_object();
		struct json_object *fl = json_object_new_array();
		struct hub *h = hub_port_hub(nc);

		json_object_object_add(o, "name", json_object_new_string(nc->name));
		json_object_object_add(o, "type",
				       json_object_new_string(net_driver_str[nc->ops->driver]));
		json_object_object_add(o, "info", json_object_new_string(nc->info_str));
		if (nc->peer)
			json_object_object_add(o, "peer", json_object_new_string(nc->peer->name));
		if (h)
			json_object_object_add(o, "hub", json_object_new_int(hub_id(h)));
		json_object_object_add(o, "up", json_object_new_boolean(!nc->link_down));
		json_object_object_add(o, "netdev", json_object_new_boolean(nc->is_netdev));
		json_object_object_add(o, "queued", json_object_new_int64(net_queue_len(nc)));
		json_object_object_add(st, "rx-frames", json_object_new_int64((int64_t)nc->stats.rx_frames));
		json_object_object_add(st, "rx-bytes", json_object_new_int64((int64_t)nc->stats.rx_bytes));
		json_object_object_add(st, "tx-frames", json_object_new_int64((int64_t)nc->stats.tx_frames));
		json_object_object_add(st, "tx-bytes", json_object_new_int64((int64_t)nc->stats.tx_bytes));
		json_object_object_add(st, "drops", json_object_new_int64((int64_t)nc->stats.drops));
		json_object_object_add(o, "stats", st);
		for (struct filter *f = nc->filters; f; f = f->next)
			json_object_array_add(fl, json_object_new_string(f->id));
		json_object_object_add(o, "filters", fl);
		json_object_array_add(r->ret, o);
	}
}

/*
 * req_stack() - the user netdev named by the optional "netdev" argument, or
 * the first one (as HMP's hostfwd_add with one argument)
 */
static struct user_stack *req_stack(struct qmp_req *r)
{
	const char *id = arg_str(r, "netdev");
	struct net_client *nc;

	if (!id) {
		if (!stack_first())
			req_error(r, "GenericError", "user mode network stack not in use");
		return stack_first();
	}
	nc = net_find(id);
	if (!nc) {
		req_error(r, "DeviceNotFound", "Device '%s' not found", id);
		return NULL;
	}
	if (nc->ops->driver != NET_DRIVER_USER) {
		req_error(r, "GenericError", "Device '%s' is not a user netdev", id);
		return NULL;
	}
	return (struct user_stack *)(void *)nc;
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

static void add_addr(struct json_object *o, const char *k, struct in_addr a)
{
	char buf[INET_ADDRSTRLEN];

	add_str(o, k, inet_ntop(AF_INET, &a, buf, sizeof(buf)) ? buf : "");
}

static void hostfwd_list(struct user_stack *s, struct json_object *arr)
{
	for (struct hostfwd *h = s->fwd.hostfwd; h; h = h->next) {
		struct json_object *o = json_object_new_object();

		add_str(o, "netdev", s->nc.name);
		add_str(o, "proto", h->udp ? "udp" : "tcp");
		if (h->unix_path) {
			add_str(o, "host-path", h->unix_path);
		} else {
			add_addr(o, "host-addr", h->haddr);
			json_object_object_add(o, "host-port", json_object_new_int(h->hport));
		}
		add_addr(o, "guest-addr", h->gaddr.s_addr ? h->gaddr : dhcp_first_lease(s));
		json_object_object_add(o, "guest-port", json_object_new_int(h->gport));
		add_str(o, "rule", h->rule ? h->rule : "");
		json_object_array_add(arr, o);
	}
}

/* query_stacks() - an array built by @list for the named user netdev, or for all of them */
static void query_stacks(struct qmp_req *r, void (*list)(struct user_stack *, struct json_object *))
{
	struct user_stack *s;

	if (arg_str(r, "netdev")) {
		s = req_stack(r);
		if (!s)
			return;
		r->ret = json_object_new_array();
		list(s, r->ret);
		return;
	}
	r->ret = json_object_new_array();
	for (s = stack_first(); s; s = stack_next(s))
		list(s, r->ret);
}

static void cmd_query_hostfwd(struct qmp_req *r)
{
	query_stacks(r, hostfwd_list);
}

static void cmd_hostfwd_add(struct qmp_req *r)
{
	struct user_stack *s = req_stack(r);
	struct error e = { 0 };

	if (s && fwd_hostfwd_add(s, arg_str(r, "rule"), &e) < 0)
		req_error(r, "GenericError", "%s", e.msg);
}

static void cmd_hostfwd_remove(struct qmp_req *r)
{
	struct user_stack *s = req_stack(r);
	struct sbuf out = { 0 };

	if (!s)
		return;
	if (fwd_hostfwd_remove(s, arg_str(r, "rule"), &out) < 0) {
		size_t n = out.len;

		while (n && out.p[n - 1] == '\n')
			n--;
		req_error(r, "GenericError", "%.*s", (int)n, out.p ? out.p : "");
	}
	sbuf_free(&out);
}

static void leases_list(struct user_stack *s, struct json_object *arr)
{
	for (int i = 0; i < DHCP_LEASES; i++) {
		struct in_addr ip;
		uint8_t mac[6];
		uint64_t left;
		char m[18];

		if (!dhcp_lease_get(s, i, &ip, mac, &left))
			continue;
		struct json_object *o = json_object_new_object();

		snprintf(m, sizeof(m), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
			 mac[3], mac[4], mac[5]);
		add_str(o, "netdev", s->nc.name);
		add_addr(o, "ip", ip);
		add_str(o, "mac", m);
		json_object_object_add(o, "expires", json_object_new_int64((int64_t)(left / 1000)));
		json_object_array_add(arr, o);
	}
}

static void cmd_query_dhcp_leases(struct qmp_req *r)
{
	query_stacks(r, leases_list);
}

static void mac_entry(int hubid, const uint8_t *mac, const char *port, unsigned age_s, void *opaque)
{
	struct json_object *o = json_object_new_object();
	char m[18];

	snprintf(m, sizeof(m), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
	json_object_object_add(o, "hub", json_object_new_int(hubid));
	add_str(o, "mac", m);
	add_str(o, "port", port);
	json_object_object_add(o, "age", json_object_new_int((int)age_s));
	json_object_array_add(opaque, o);
}

static void cmd_query_mac_table(struct qmp_req *r)
{
	r->ret = json_object_new_array();
	hub_mac_foreach(mac_entry, r->ret);
}

/* ---- announce-self ---- */

#define ANNOUNCE_MAX 8

/**
 * struct announcer - one announce-self timer
 * @t:		round timer
 * @used:	slot in use
 * @id:		timer id ("" anonymous)
 * @ifaces:	netdev id filter (comma-separated), or NULL for all
 * @initial, @max, @rounds, @step: QEMU's parameters (ms)
 * @left:	rounds still to send
 */
struct announcer {
	struct loop_timer t;
	bool used;
	char id[64];
	char *ifaces;
	long initial, max, rounds, step, left;
};

static struct announcer announcers[ANNOUNCE_MAX];

static bool iface_listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; *p;) {
		size_t l = strcspn(p, ",");

		if (l == n && !strncmp(p, name, n))
			return true;
		p += l;
		if (*p)
			p++;
	}
	return false;
}

/* announce_round() - one 60-byte RARP (reference 5.5) from each user netdev towards its peer */
static void announce_round(struct announcer *a)
{
	for (struct user_stack *s = stack_first(); s; s = stack_next(s)) {
		uint8_t f[60] = { 0 };

		if (a->ifaces && !iface_listed(a->ifaces, s->nc.name))
			continue;
		memset(f, 0xff, 6);
		memcpy(f + 6, s->gw_mac, 6);
		f[12] = 0x80, f[13] = 0x35;		/* RARP */
		f[14] = 0, f[15] = 1;			/* Ethernet */
		f[16] = 0x08, f[17] = 0x00;		/* IPv4 */
		f[18] = 6, f[19] = 4;
		f[20] = 0, f[21] = 3;			/* reverse request */
		memcpy(f + 22, s->gw_mac, 6);		/* sha, spa 0 */
		memcpy(f + 32, s->gw_mac, 6);		/* tha, tpa 0 */
		net_send_buf(&s->nc, f, sizeof(f), NULL);
	}
	a->left--;
}

static void announce_free(struct announcer *a)
{
	loop_timer_cancel(&a->t);
	free(a->ifaces);
	memset(a, 0, sizeof(*a));
}

static void announce_arm(struct announcer *a)
{
	long d;

	if (a->left <= 0) {
		announce_free(a);
		return;
	}
	d = a->initial + (a->rounds - a->left - 1) * a->step;
	loop_timer_arm(&a->t, (uint64_t)MIN(d, a->max));
}

static void announce_timer(struct loop_timer *t)
{
	struct announcer *a = t->opaque;

	announce_round(a);
	announce_arm(a);
}

int qmp_announce(long initial, long max, long rounds, long step, const char *interfaces,
		 const char *id, struct error *e)
{
	struct announcer *a = NULL;

	if (initial < 0 || max < 0 || rounds < 0 || step < 0)
		return err_set(e, "Parameter 'initial', 'max', 'rounds' and 'step' must not be negative");
	if (!id)
		id = "";
	if (strlen(id) >= sizeof(a->id))
		return err_set(e, "Parameter 'id' is too long");
	for (int i = 0; i < ANNOUNCE_MAX && *id; i++)
		if (announcers[i].used && !strcmp(announcers[i].id, id))
			a = &announcers[i];
	if (a)
		announce_free(a);
	for (int i = 0; i < ANNOUNCE_MAX && !a; i++)
		if (!announcers[i].used)
			a = &announcers[i];
	if (!a)
		return err_set(e, "too many announce timers (at most %d)", ANNOUNCE_MAX);
	if (!rounds)
		return 0;
	a->used = true;
	snprintf(a->id, sizeof(a->id), "%s", id);
	a->ifaces = interfaces ? xstrdup(interfaces) : NULL;
	a->initial = initial;
	a->max = max;
	a->rounds = a->left = rounds;
	a->step = step;
	loop_timer_init(&a->t, announce_timer, a);
	announce_round(a);
	announce_arm(a);
	return 0;
}

static void cmd_announce_self(struct qmp_req *r)
{
	struct json_object *ifs;
	struct sbuf list = { 0 };
	struct error e = { 0 };
	bool have = json_object_object_get_ex(r->args, "interfaces", &ifs);

	if (have) {
		sbuf_printf(&list, "%s", "");
		for (size_t i = 0; i < json_object_array_length(ifs); i++) {
			struct json_object *v = json_object_array_get_idx(ifs, i);

			if (!json_object_is_type(v, json_type_string)) {
				req_error(r, "GenericError",
					  "Invalid parameter type for 'interfaces[%zu]', expected: string", i);
				sbuf_free(&list);
				return;
			}
			sbuf_printf(&list, "%s%s", i ? "," : "", json_object_get_string(v));
		}
	}
	if (qmp_announce((long)arg_int(r, "initial"), (long)arg_int(r, "max"),
			 (long)arg_int(r, "rounds"), (long)arg_int(r, "step"),
			 have ? list.p : NULL, arg_str(r, "id"), &e) < 0)
		req_error(r, "GenericError", "%s", e.msg);
	sbuf_free(&list);
}

static const struct qarg a_none[] = { { NULL, QA_ANY, false } };
static const struct qarg a_caps[] = { { "enable", QA_LIST, true }, { NULL, QA_ANY, false } };
static const struct qarg a_hmp[] = { { "command-line", QA_STR, false },
				     { "cpu-index", QA_INT, true }, { NULL, QA_ANY, false } };
static const struct qarg a_id[] = { { "id", QA_STR, false }, { NULL, QA_ANY, false } };
static const struct qarg a_link[] = { { "name", QA_STR, false }, { "up", QA_BOOL, false },
				      { NULL, QA_ANY, false } };
static const struct qarg a_netdev[] = { { "netdev", QA_STR, true }, { NULL, QA_ANY, false } };
static const struct qarg a_rule[] = { { "netdev", QA_STR, true }, { "rule", QA_STR, false },
				      { NULL, QA_ANY, false } };
static const struct qarg a_announce[] = {
	{ "initial", QA_INT, false }, { "max", QA_INT, false }, { "rounds", QA_INT, false },
	{ "step", QA_INT, false }, { "interfaces", QA_LIST, true }, { "id", QA_STR, true },
	{ NULL, QA_ANY, false },
};

/* Sorted as QEMU's query-commands is not: qnet lists them alphabetically */
static const struct qmp_cmd qmp_cmds[] = {
	{ "announce-self", cmd_announce_self, a_announce },
	{ "hostfwd-add", cmd_hostfwd_add, a_rule },
	{ "hostfwd-remove", cmd_hostfwd_remove, a_rule },
	{ "human-monitor-command", cmd_hmp, a_hmp },
	{ "netdev_add", cmd_netdev_add, NULL },
	{ "netdev_del", cmd_netdev_del, a_id },
	{ "object-add", cmd_object_add, NULL },
	{ "object-del", cmd_object_del, a_id },
	{ "qmp_capabilities", cmd_qmp_capabilities, a_caps },
	{ "query-commands", cmd_query_commands, a_none },
	{ "query-dhcp-leases", cmd_query_dhcp_leases, a_netdev },
	{ "query-hostfwd", cmd_query_hostfwd, a_netdev },
	{ "query-mac-table", cmd_query_mac_table, a_none },
	{ "query-netdevs", cmd_query_netdevs, a_none },
	{ "query-version", cmd_query_version, a_none },
	{ "quit", cmd_quit, a_none },
	{ "set_link", cmd_set_link, a_link },
	{ NULL, NULL, NULL },
};

/* ---- requests ---- */

/* session_execute() - one parsed document: QEMU's qmp_dispatch checks and texts */
static void session_execute(struct qmp_session *s, struct json_object *req)
{
	struct json_object *id = NULL, *args = NULL, *exec = NULL;
	const struct qmp_cmd *c;
	struct qmp_req r = { .s = s };
	int n;

	if (!json_object_is_type(req, json_type_object)) {
		reply_error(s, NULL, "GenericError", "QMP input must be a JSON object");
		return;
	}
	json_object_object_get_ex(req, "id", &id);
	struct qmp_member *m = json_members(req, &n);

	for (int i = 0; i < n; i++) {
		const char *bad = NULL;

		if (!strcmp(m[i].key, "execute")) {
			exec = m[i].val;
			if (!json_object_is_type(exec, json_type_string))
				bad = "QMP input member 'execute' must be a string";
		} else if (!strcmp(m[i].key, "arguments")) {
			args = m[i].val;
			if (!json_object_is_type(args, json_type_object))
				bad = "QMP input member 'arguments' must be an object";
		} else if (strcmp(m[i].key, "id")) {
			char msg[512];

			snprintf(msg, sizeof(msg), "QMP input member '%s' is unexpected", m[i].key);
			reply_error(s, id, "GenericError", msg);
			free(m);
			return;
		}
		if (bad) {
			reply_error(s, id, "GenericError", bad);
			free(m);
			return;
		}
	}
	free(m);
	if (!exec) {
		reply_error(s, id, "GenericError", "QMP input lacks member 'execute'");
		return;
	}
	const char *name = json_object_get_string(exec);

	for (c = qmp_cmds; c->name && strcmp(c->name, name); c++)
		;
	if (!s->negotiated && (!c->name || c->fn != cmd_qmp_capabilities)) {
		reply_error(s, id, "CommandNotFound",
			    "Expecting capabilities negotiation with 'qmp_capabilities'");
		return;
	}
	if (!c->name) {
		char msg[512];

		snprintf(msg, sizeof(msg), "The command %.400s has not been found", name);
		reply_error(s, id, "CommandNotFound", msg);
		return;
	}
	r.args = args ? json_object_get(args) : json_object_new_object();
	if (cmd_filter && !cmd_filter(name, r.args))
		req_error(&r, "GenericError", "command %s disabled", name);
	else if (!c->args || args_check(&r, c->args))
		c->fn(&r);
	if (r.cls) {
		/* QEMU keeps error hints (after the first line) out of QMP */
		r.desc[strcspn(r.desc, "\n")] = '\0';
		json_object_put(r.ret);
		reply_error(s, id, r.cls, r.desc);
	} else {
		reply_return(s, id, r.ret);
	}
	json_object_put(r.args);
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
		reply_error(s, NULL, "GenericError", msg);
	} else {
		session_execute(s, obj);
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
		reply_error(s, NULL, "GenericError", "JSON token size limit exceeded");
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
		sb_add(&b, "JSON parse error, stray '", 25);
		sb_add(&b, s->quote == '"' ? "\"" : "'", 1);
		sb_add(&b, s->ibuf + s->str_start + 1, MIN(s->ilen - s->str_start - 1, (size_t)200));
		sb_add(&b, &c, 1);
		sb_add(&b, "'", 1);
	} else {
		sb_add(&b, "JSON parse error, expecting value", 33);
	}
	reply_error(s, NULL, "GenericError", b.p);
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
				reply_error(s, NULL, "GenericError", "JSON nesting depth limit exceeded");
				s->skipping = true;
				s->ilen = 0;
			}
			if (!session_append(s, c))
				return;
		} else if (c == '}' || c == ']') {
			if (!s->depth) {
				reply_error(s, NULL, "GenericError", "JSON parse error, expecting value");
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
	loop_defer_init(&s->flush, session_flush_cb, s);
	s->next = sessions;
	sessions = s;
	json_object_object_add(q, "version", version_info());
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
	for (int i = 0; i < ANNOUNCE_MAX; i++)
		if (announcers[i].used)
			announce_free(&announcers[i]);
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
