// SPDX-License-Identifier: MIT
// qmp.c - QMP commands: dispatch, argument checks, the handlers (QEMU 7.2's texts)

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
#include "qmp_internal.h"
#include "monitor.h"
#include "../backends/user.h"
#include "../cli/netdev.h"
#include "../cli/opts.h"
#include "../cli/filter_opts.h"
#include "../core/sockspec.h"
#include "../core/filter.h"
#include "../core/hub.h"
#include "../core/log.h"
#include "../core/loop.h"
#include "../core/net.h"
#include "../stack/dhcp.h"
#include "../stack/stack.h"

/*
 * DOC: Commands
 *
 * Sessions (qmp_session.c) cut the input into documents and hand each to
 * qmp_dispatch(), which applies QEMU's qmp_dispatch checks, looks the
 * command up in qmp_cmds[], checks its arguments as QAPI would and runs it.
 * Replies go back through qmp_reply_return()/qmp_reply_error().
 */

static qmp_cmd_filter *cmd_filter;

void qmp_set_command_filter(qmp_cmd_filter *f)
{
	cmd_filter = f;
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
	struct qmp_member *m = qmp_json_members(r->args, &n);

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

	if (qmp_session_negotiated(r->s)) {
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
	qmp_session_set_negotiated(r->s);
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

/* qmp_version_info() - {"qemu": {...}, "package": "qnet VERSION"} */
struct json_object *qmp_version_info(void)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "qemu", version_obj());
	json_object_object_add(o, "package", json_object_new_string("qnet " QNET_VERSION));
	return o;
}

static void cmd_query_version(struct qmp_req *r)
{
	r->ret = qmp_version_info();
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
	qmp_sbuf_add(&crlf, "", 0);
	for (size_t i = 0; i < out.len; i++) {
		if (out.p[i] == '\n')
			qmp_sbuf_add(&crlf, "\r", 1);
		qmp_sbuf_add(&crlf, out.p + i, 1);
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

	if (args_to_opts(r->args, &o, &e) < 0 || filter_opts_add_qapi(&o, &e) < 0)
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
		if (!user_first())
			req_error(r, "GenericError", "user mode network stack not in use");
		return user_first();
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
	return user_of(nc);
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

		add_str(o, "netdev", stack_name(s));
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
	for (s = user_first(); s; s = user_next(s))
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
		add_str(o, "netdev", stack_name(s));
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

/* announce_round() - one RARP (stack_announce()) from each user netdev towards its peer */
static void announce_round(struct announcer *a)
{
	for (struct user_stack *s = user_first(); s; s = user_next(s))
		if (!a->ifaces || iface_listed(a->ifaces, stack_name(s)))
			stack_announce(s);
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

/* qmp_dispatch() - one parsed document: QEMU's qmp_dispatch checks and texts */
void qmp_dispatch(struct qmp_session *s, struct json_object *req)
{
	struct json_object *id = NULL, *args = NULL, *exec = NULL;
	const struct qmp_cmd *c;
	struct qmp_req r = { .s = s };
	int n;

	if (!json_object_is_type(req, json_type_object)) {
		qmp_reply_error(s, NULL, "GenericError", "QMP input must be a JSON object");
		return;
	}
	json_object_object_get_ex(req, "id", &id);
	struct qmp_member *m = qmp_json_members(req, &n);

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
			qmp_reply_error(s, id, "GenericError", msg);
			free(m);
			return;
		}
		if (bad) {
			qmp_reply_error(s, id, "GenericError", bad);
			free(m);
			return;
		}
	}
	free(m);
	if (!exec) {
		qmp_reply_error(s, id, "GenericError", "QMP input lacks member 'execute'");
		return;
	}
	const char *name = json_object_get_string(exec);

	for (c = qmp_cmds; c->name && strcmp(c->name, name); c++)
		;
	if (!qmp_session_negotiated(s) && (!c->name || c->fn != cmd_qmp_capabilities)) {
		qmp_reply_error(s, id, "CommandNotFound",
			    "Expecting capabilities negotiation with 'qmp_capabilities'");
		return;
	}
	if (!c->name) {
		char msg[512];

		snprintf(msg, sizeof(msg), "The command %.400s has not been found", name);
		qmp_reply_error(s, id, "CommandNotFound", msg);
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
		qmp_reply_error(s, id, r.cls, r.desc);
	} else {
		qmp_reply_return(s, id, r.ret);
	}
	json_object_put(r.args);
}

void qmp_commands_close(void)
{
	for (int i = 0; i < ANNOUNCE_MAX; i++)
		if (announcers[i].used)
			announce_free(&announcers[i]);
}
