// SPDX-License-Identifier: MIT
// monitor.c - the human monitor (HMP) on stdio and unix sockets, with QEMU's prompt and texts

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "monitor.h"
#include "qmp.h"
#include "../cli/opts.h"
#include "../cli/filter_opts.h"
#include "../cli/netdev.h"
#include "../core/chardev.h"
#include "../core/filter.h"
#include "../core/log.h"
#include "../core/loop.h"
#include "../core/net.h"
#include "../core/sockspec.h"
#include "../backends/user.h"

/*
 * DOC: Theory of operation
 *
 * A session is one conversation: stdio, or one client of a unix socket. The
 * socket server accepts several clients at once, each with its own session
 * (QEMU serves one at a time). A session reads bytes into a bounded line
 * buffer; '\r' or '\n' ends a line ("\r\n" counts once). A line longer than
 * MON_LINE_MAX - 1 bytes is rejected whole when its end arrives; the bytes in
 * between are discarded, not buffered.
 *
 * Output goes to a bounded per-session buffer, '\n' written as "\r\n" as
 * QEMU does, and is written without blocking. A client that doesn't read
 * lets its buffer fill up to MON_OUT_MAX; then its session is dropped, and
 * qnet goes on.
 *
 * Like QEMU's readline, a session echoes the command line it received (the
 * text only, without QEMU's cursor-redraw escapes) so transcripts read the
 * same; a terminal on stdio already echoes, so there is no echo then.
 *
 * Commands live in tables (struct mon_cmd), sorted by name as QEMU's help
 * prints them; "info" has a sub-table. A new command is one table entry.
 */

#define MON_LINE_MAX	 4096
#define MON_OUT_MAX	 (1024 * 1024)
#define MON_MAX_SESSIONS 16
#define MON_PROMPT	 "(qemu) "


/**
 * struct mon_session - one monitor conversation
 * @in:		input fd handle (socket, or stdin)
 * @out:	output fd handle (stdout); unused for sockets (@in does both)
 * @in_fd, @out_fd: the fds (equal for sockets)
 * @poll_in:	@in_fd is registered with the loop (else read from @pump)
 * @poll_out:	@out_fd can be polled (else writes are synchronous)
 * @pump:	reads a non-pollable stdin (regular file, /dev/null)
 * @is_stdio:	stdio session: fds are not closed, flags are restored
 * @echo:	echo received lines
 * @line, @len:	the line being read
 * @overlong:	the current line exceeded MON_LINE_MAX - 1 bytes
 * @last_cr:	the previous byte was '\r' (a following '\n' is skipped)
 * @eof:	input ended: close once the output is written
 * @dead:	drop the session when the current handler returns
 * @obuf, @olen, @ocap: pending output, bounded by MON_OUT_MAX
 * @srv:	the server that accepted it, or NULL
 * @next:	all sessions
 */
struct mon_session {
	struct loop_fd in;
	struct loop_fd out;
	int in_fd, out_fd;
	bool poll_in, poll_out;
	struct loop_defer pump;
	bool is_stdio;
	bool echo;
	char line[MON_LINE_MAX];
	size_t len;
	bool overlong;
	bool last_cr;
	bool eof;
	bool dead;
	char *obuf;
	size_t olen, ocap;
	struct sockspec_server *srv;
	struct mon_session *next;
};


static struct mon_session *sessions;
static struct sockspec_server *servers;
static int stdin_flags = -1, stdout_flags = -1;

/* ---- commands ---- */

/**
 * struct mon_cmd - one HMP command
 * @name:	"name" or "name|alias" as QEMU's tables write it
 * @params:	parameter synopsis for help ("" for none)
 * @help:	one-line help
 * @takes_args:	false: anything after the name is an error
 * @fn:		handler, @args with leading blanks skipped (may be "")
 * @sub:	sub-command table (info), NULL-name terminated
 */
struct mon_cmd {
	const char *name;
	const char *params;
	const char *help;
	bool takes_args;
	void (*fn)(const char *args, struct sbuf *out);
	const struct mon_cmd *sub;
};

static void cmd_help(const char *args, struct sbuf *out);
static void cmd_quit(const char *args, struct sbuf *out);
static void cmd_info_network(const char *args, struct sbuf *out);
static void cmd_info_netstats(const char *args, struct sbuf *out);
static void cmd_info_version(const char *args, struct sbuf *out);
static void cmd_info_usernet(const char *args, struct sbuf *out);
static void cmd_hostfwd_add(const char *args, struct sbuf *out);
static void cmd_hostfwd_remove(const char *args, struct sbuf *out);
static void cmd_object_add(const char *args, struct sbuf *out);
static void cmd_object_del(const char *args, struct sbuf *out);
static void cmd_qom_set(const char *args, struct sbuf *out);
static void cmd_info_chardev(const char *args, struct sbuf *out);
static void cmd_announce_self(const char *args, struct sbuf *out);
static void cmd_netdev_add(const char *args, struct sbuf *out);
static void cmd_netdev_del(const char *args, struct sbuf *out);
static void cmd_set_link(const char *args, struct sbuf *out);

static const struct mon_cmd info_cmds[] = {
	{ "chardev", "", "show the character devices", false, cmd_info_chardev, NULL },
	{ "netstats", "", "show frame, byte and drop counters of every net client (qnet)",
	  false, cmd_info_netstats, NULL },
	{ "network", "", "show the network state", false, cmd_info_network, NULL },
	{ "usernet", "", "show user network stack connection states", false, cmd_info_usernet,
	  NULL },
	{ "version", "", "show the version of qnet", false, cmd_info_version, NULL },
	{ NULL, NULL, NULL, false, NULL, NULL },
};

static const struct mon_cmd mon_cmds[] = {
	{ "announce_self", "[interfaces] [id]", "Trigger GARP/RARP announcements", true,
	  cmd_announce_self, NULL },
	{ "help|?", "[cmd]", "show the help", true, cmd_help, NULL },
	{ "hostfwd_add", "[netdev_id] [tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport",
	  "redirect TCP or UDP connections from host to guest (requires -net user)", true,
	  cmd_hostfwd_add, NULL },
	{ "hostfwd_remove", "[netdev_id] [tcp|udp]:[hostaddr]:hostport",
	  "remove host-to-guest TCP or UDP redirection", true, cmd_hostfwd_remove, NULL },
	{ "info", "[subcommand]", "show various information about the system state",
	  true, NULL, info_cmds },
	{ "netdev_add", "[user|tap|socket|stream|dgram|l2tpv3|vde|bridge|hubport|vxlan],id=str[,prop=value][,...]",
	  "add host network device", true, cmd_netdev_add, NULL },
	{ "netdev_del", "id", "remove host network device", true, cmd_netdev_del, NULL },
	{ "object_add", "[qom-type=]type,id=str[,prop=value][,...]", "create QOM object", true,
	  cmd_object_add, NULL },
	{ "object_del", "id", "destroy QOM object", true, cmd_object_del, NULL },
	{ "qom-set", "[-j] path property value", "set QOM property.\n\t\t\t-j: the value is "
	  "specified in json format.", true, cmd_qom_set, NULL },
	{ "quit|q", "", "quit the emulator", false, cmd_quit, NULL },
	{ "set_link", "name on|off", "change the link status of a network adapter", true,
	  cmd_set_link, NULL },
	{ NULL, NULL, NULL, false, NULL, NULL },
};

/* skip_blank() - past spaces and tabs */
static const char *skip_blank(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* word_len() - length of the word at @p (up to a blank or the end) */
static size_t word_len(const char *p)
{
	size_t n = 0;

	while (p[n] && p[n] != ' ' && p[n] != '\t')
		n++;
	return n;
}

/* cmd_matches() - @word (@n bytes) is one of the '|'-separated names */
static bool cmd_matches(const char *names, const char *word, size_t n)
{
	const char *p = names;

	while (*p) {
		size_t l = strcspn(p, "|");

		if (l == n && !strncmp(p, word, n))
			return true;
		p += l;
		if (*p == '|')
			p++;
	}
	return false;
}

static const struct mon_cmd *cmd_find(const struct mon_cmd *tab, const char *word, size_t n)
{
	for (; tab->name; tab++)
		if (cmd_matches(tab->name, word, n))
			return tab;
	return NULL;
}

/* help_line() - QEMU's "prefix name params -- help" */
static void help_line(const char *prefix, const struct mon_cmd *c, struct sbuf *out)
{
	sbuf_printf(out, "%s%s %s -- %s\n", prefix, c->name, c->params, c->help);
}

static void help_table(const char *prefix, const struct mon_cmd *tab, struct sbuf *out)
{
	for (; tab->name; tab++)
		help_line(prefix, tab, out);
}

/**
 * cmd_help() - "help", "help CMD", "help info", "help info SUB"
 */
static void cmd_help(const char *args, struct sbuf *out)
{
	const struct mon_cmd *c;
	size_t n;

	args = skip_blank(args);
	if (!*args) {
		help_table("", mon_cmds, out);
		return;
	}
	n = word_len(args);
	c = cmd_find(mon_cmds, args, n);
	if (!c) {
		sbuf_printf(out, "unknown command: '%.*s'\n", (int)n, args);
		return;
	}
	if (!c->sub) {
		help_line("", c, out);
		return;
	}
	const char *sub = skip_blank(args + n);
	size_t sn = word_len(sub);

	if (!sn) {
		help_table("info ", c->sub, out);
		return;
	}
	const struct mon_cmd *s = cmd_find(c->sub, sub, sn);

	if (!s)
		sbuf_printf(out, "unknown command: '%.*s %.*s'\n", (int)n, args, (int)sn, sub);
	else
		help_line("info ", s, out);
}

static void cmd_quit(const char *args, struct sbuf *out)
{
	loop_quit(0);
}

static void cmd_info_network(const char *args, struct sbuf *out)
{
	net_info_network(out);
}

static void cmd_info_netstats(const char *args, struct sbuf *out)
{
	net_info_stats(out);
}

static void cmd_info_version(const char *args, struct sbuf *out)
{
	sbuf_printf(out, "%s\n", QNET_VERSION);
}

static void cmd_info_usernet(const char *args, struct sbuf *out)
{
	for (struct user_stack *s = user_first(); s; s = user_next(s))
		user_info_usernet(s, out);
}

/*
 * mon_user_args() - QEMU's "[netdev_id] rule": with two words the first names
 * the netdev, with one the first user stack is used. Prints QEMU's messages.
 * Return: the stack (and *rule), or NULL
 */
static struct user_stack *mon_user_args(const char *args, char *rule, size_t size,
					 struct sbuf *out)
{
	char a[256], b[256];
	int n = sscanf(args, "%255s %255s", a, b);
	struct net_client *nc;

	if (n < 1) {
		sbuf_printf(out, "missing parameter\n");
		return NULL;
	}
	if (n == 1) {
		snprintf(rule, size, "%s", a);
		if (!user_first())
			sbuf_printf(out, "user mode network stack not in use\n");
		return user_first();
	}
	snprintf(rule, size, "%s", b);
	nc = net_find(a);
	if (!nc) {
		sbuf_printf(out, "unrecognized netdev id '%s'\n", a);
		return NULL;
	}
	if (nc->ops->driver != NET_DRIVER_USER) {
		sbuf_printf(out, "invalid device specified\n");
		return NULL;
	}
	return user_of(nc);
}

static void cmd_hostfwd_add(const char *args, struct sbuf *out)
{
	char rule[256];
	struct user_stack *s = mon_user_args(args, rule, sizeof(rule), out);
	struct error e = { 0 };

	if (s && fwd_hostfwd_add(s, rule, &e) < 0)
		sbuf_printf(out, "%s\n", e.msg);
}

static void cmd_hostfwd_remove(const char *args, struct sbuf *out)
{
	char rule[256];
	struct user_stack *s = mon_user_args(args, rule, sizeof(rule), out);

	if (s)
		fwd_hostfwd_remove(s, rule, out);
}

static void cmd_info_chardev(const char *args, struct sbuf *out)
{
	chardev_info(out);
}

/* mon_missing() - QEMU's text for a missing mandatory argument */
static void mon_missing(const char *cmd, struct sbuf *out)
{
	sbuf_printf(out, "%s: string expected\nTry \"help %s\" for more information\n", cmd, cmd);
}

/* mon_word() - copy the next blank-separated word of *@p to @buf; false if none or too long */
static bool mon_word(const char **p, char *buf, size_t size)
{
	const char *s = skip_blank(*p);
	size_t n = word_len(s);

	if (!n || n >= size)
		return false;
	memcpy(buf, s, n);
	buf[n] = 0;
	*p = s + n;
	return true;
}

/* cmd_object_add() - object_add: keyval syntax, QEMU's "Error: " prefix */
static void cmd_object_add(const char *args, struct sbuf *out)
{
	char spec[MON_LINE_MAX];
	struct opts o = { 0 };
	struct error e = { 0 };
	const char *p = args;

	if (!mon_word(&p, spec, sizeof(spec))) {
		mon_missing("object_add", out);
		return;
	}
	if (*skip_blank(p)) {
		sbuf_printf(out, "object_add: extraneous characters at the end of line\n"
			    "Try \"help object_add\" for more information\n");
		return;
	}
	if (opts_parse_keyval(&o, spec, "qom-type", &e) < 0 ||
	    filter_opts_add_qapi(&o, &e) < 0)
		sbuf_printf(out, "Error: %s\n", e.msg);
	opts_free(&o);
}

static void cmd_object_del(const char *args, struct sbuf *out)
{
	char id[256];
	struct error e = { 0 };
	const char *p = args;

	if (!mon_word(&p, id, sizeof(id))) {
		mon_missing("object_del", out);
		return;
	}
	if (*skip_blank(p)) {
		sbuf_printf(out, "object_del: extraneous characters at the end of line\n"
			    "Try \"help object_del\" for more information\n");
		return;
	}
	if (filter_object_del(id, &e) < 0)
		sbuf_printf(out, "Error: %s\n", e.msg);
}

/* ---- run-time netdev control (shared with QMP, src/monitor/qmp.c) ---- */

/* cmd_announce_self() - QEMU's migration announce defaults: 50 ms, max 550 ms, 5 rounds, 100 ms */
static void cmd_announce_self(const char *args, struct sbuf *out)
{
	char ifaces[256] = "", id[64] = "";
	struct error e = { 0 };
	int n = sscanf(args, "%255s %63s", ifaces, id);

	if (qmp_announce(50, 550, 5, 100, n >= 1 ? ifaces : NULL, n >= 2 ? id : NULL, &e) < 0)
		sbuf_printf(out, "Error: %s\n", e.msg);
}

/*
 * cmd_netdev_add() - QemuOpts syntax as QEMU 7.2's HMP; stream and dgram (whose
 * dotted keys QemuOpts can't carry, where 7.2 fails) are read as keyval.
 */
static void cmd_netdev_add(const char *args, struct sbuf *out)
{
	struct opts o = { 0 };
	struct error e = { 0 };
	size_t tl = strcspn(args, ",");
	bool modern = (tl == 6 && !strncmp(args, "stream", 6)) ||
		      (tl == 5 && !strncmp(args, "dgram", 5)) ||
		      strstr(args, "type=stream") || strstr(args, "type=dgram");
	const char *id;

	if (!strcmp(args, "help") || !strcmp(args, "?")) {
		netdev_types_help(out);
		return;
	}
	if (!*args) {
		sbuf_printf(out, "Error: Parameter 'id' is missing\n");
		return;
	}
	if ((modern ? opts_parse_keyval(&o, args, "type", &e) :
		      opts_parse(&o, args, "type", &e)) < 0) {
		sbuf_printf(out, "%s\nTry \"help netdev_add\" for more information\n", e.msg);
		goto out;
	}
	id = opts_peek(&o, "id");
	if (!modern && id && net_find(id)) {
		sbuf_printf(out, "Duplicate ID '%s' for netdev\n"
			    "Try \"help netdev_add\" for more information\n", id);
		goto out;
	}
	if (!netdev_create(&o, true, NULL, &e))
		sbuf_printf(out, "Error: %s\n", e.msg);
out:
	opts_free(&o);
}

static void cmd_netdev_del(const char *args, struct sbuf *out)
{
	char id[256];
	struct error e = { 0 };
	bool nf;

	if (sscanf(args, "%255s", id) != 1) {
		sbuf_printf(out, "netdev_del: string expected\n"
			    "Try \"help netdev_del\" for more information\n");
		return;
	}
	if (qmp_netdev_del(id, &nf, &e) < 0)
		sbuf_printf(out, "Error: %s\n", e.msg);
}

static void cmd_set_link(const char *args, struct sbuf *out)
{
	char name[256], val[16];
	int n = sscanf(args, "%255s %15s", name, val);
	struct net_client *nc;

	if (n < 1) {
		sbuf_printf(out, "set_link: string expected\n"
			    "Try \"help set_link\" for more information\n");
		return;
	}
	if (n < 2 || (strcmp(val, "on") && strcmp(val, "off"))) {
		sbuf_printf(out, "Expected 'on' or 'off'\n"
			    "Try \"help set_link\" for more information\n");
		return;
	}
	nc = net_find(name);
	if (!nc) {
		sbuf_printf(out, "Error: Device '%s' not found\n", name);
		return;
	}
	net_set_link(nc, !strcmp(val, "on"));
}

/*
 * cmd_qom_set() - qom-set [-j] PATH PROPERTY VALUE on filters. With -j the
 * value is JSON: a string, a number, or true/false (read as on/off).
 */
static void cmd_qom_set(const char *args, struct sbuf *out)
{
	char path[256], prop[128], value[256];
	struct error e = { 0 };
	const char *p = skip_blank(args);
	bool json = false;

	if (!strncmp(p, "-j", 2) && (p[2] == ' ' || p[2] == '\t' || !p[2])) {
		json = true;
		p += 2;
	}
	if (!mon_word(&p, path, sizeof(path)) || !mon_word(&p, prop, sizeof(prop)) ||
	    !mon_word(&p, value, sizeof(value))) {
		mon_missing("qom-set", out);
		return;
	}
	if (*skip_blank(p)) {
		sbuf_printf(out, "qom-set: extraneous characters at the end of line\n"
			    "Try \"help qom-set\" for more information\n");
		return;
	}
	if (json) {
		size_t n = strlen(value);

		if (n >= 2 && value[0] == '"' && value[n - 1] == '"') {
			memmove(value, value + 1, n - 2);
			value[n - 2] = 0;
		} else if (!strcmp(value, "true")) {
			strcpy(value, "on");
		} else if (!strcmp(value, "false")) {
			strcpy(value, "off");
		}
	}
	if (filter_qom_set(path, prop, value, &e) < 0)
		sbuf_printf(out, "Error: %s\n", e.msg);
}

/**
 * cmd_run() - run @c with the rest of the line @rest
 * @line:	the whole line, for the hint (QEMU quotes it raw, blanks included)
 * @typed:	where the command name starts ("q", "info   network")
 * @typed_len:	up to the end of the (sub)command name
 */
static void cmd_run(const struct mon_cmd *c, const char *line, const char *typed,
		    size_t typed_len, const char *rest, struct sbuf *out)
{
	rest = skip_blank(rest);
	if (c->sub) {
		size_t n = word_len(rest);
		const struct mon_cmd *s;

		if (!n) {
			help_table("info ", c->sub, out);
			return;
		}
		s = cmd_find(c->sub, rest, n);
		if (!s) {
			sbuf_printf(out, "unknown command: '%.*s'\n", (int)(rest + n - typed), typed);
			return;
		}
		/* "info network": the whole typed path names the command */
		cmd_run(s, line, typed, (size_t)(rest + n - typed), rest + n, out);
		return;
	}
	if (!c->takes_args && *rest) {
		size_t l = strcspn(c->name, "|");

		sbuf_printf(out, "%.*s: extraneous characters at the end of line\n", (int)l, c->name);
		sbuf_printf(out, "Try \"help %.*s\" for more information\n",
			    (int)(typed + typed_len - line), line);
		return;
	}
	c->fn(rest, out);
}

/**
 * monitor_exec() - run one HMP command line
 *
 * An empty line does nothing. QEMU's texts for unknown commands and
 * extraneous arguments.
 */
void monitor_exec(const char *line, struct sbuf *out)
{
	const char *p = skip_blank(line);
	size_t n = word_len(p);
	const struct mon_cmd *c;

	if (!n)
		return;
	c = cmd_find(mon_cmds, p, n);
	if (!c) {
		sbuf_printf(out, "unknown command: '%.*s'\n", (int)n, p);
		return;
	}
	cmd_run(c, line, p, n, p + n, out);
}

/* ---- sessions ---- */

static void session_free(struct mon_session *s);

/* session_write() - write pending output without blocking */
static void session_write(struct mon_session *s)
{
	size_t done = 0;

	while (done < s->olen) {
		ssize_t n = write(s->out_fd, s->obuf + done, s->olen - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			/* the reader went away: nothing more to say */
			s->olen = 0;
			s->dead = true;
			return;
		}
		done += (size_t)n;
	}
	memmove(s->obuf, s->obuf + done, s->olen - done);
	s->olen -= done;
	if (!s->poll_out)
		return;
	uint32_t want = s->olen ? EPOLLOUT : 0;

	if (s->out_fd == s->in_fd) {
		if (!s->eof)
			want |= EPOLLIN;
		loop_fd_mod(&s->in, want);
	} else {
		loop_fd_mod(&s->out, want);
	}
}

/**
 * session_put() - queue @len bytes of output, '\n' as "\r\n"
 *
 * Drops the session (marks it dead) when the bound would be exceeded.
 */
static void session_put(struct mon_session *s, const char *p, size_t len)
{
	size_t need = len;

	if (s->dead)
		return;
	for (size_t i = 0; i < len; i++)
		need += p[i] == '\n';
	if (s->olen + need > MON_OUT_MAX) {
		info("monitor: client doesn't read its output, dropping the session");
		s->dead = true;
		return;
	}
	if (s->olen + need > s->ocap) {
		size_t cap = MAX(s->ocap * 2, 4096);

		while (cap < s->olen + need)
			cap *= 2;
		s->ocap = MIN(cap, (size_t)MON_OUT_MAX);
		s->obuf = xrealloc(s->obuf, s->ocap);
	}
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\n')
			s->obuf[s->olen++] = '\r';
		s->obuf[s->olen++] = p[i];
	}
}

static void session_puts(struct mon_session *s, const char *str)
{
	session_put(s, str, strlen(str));
}

/* session_line() - a complete input line */
static void session_line(struct mon_session *s)
{
	struct sbuf out = { 0 };

	if (s->echo) {
		/* an overlong line is not repeated: the prompt line is just ended */
		if (!s->overlong)
			session_put(s, s->line, s->len);
		session_puts(s, "\n");
	}
	if (s->overlong) {
		sbuf_printf(&out, "command line too long (more than %d bytes): ignored\n",
			    MON_LINE_MAX - 1);
	} else {
		s->line[s->len] = '\0';
		monitor_exec(s->line, &out);
	}
	session_put(s, sbuf_str(&out), out.len);
	sbuf_free(&out);
	s->len = 0;
	s->overlong = false;
	if (!loop_quitting())
		session_puts(s, MON_PROMPT);
}

/* session_input() - feed received bytes; stops at quit */
static void session_input(struct mon_session *s, const char *buf, size_t n)
{
	for (size_t i = 0; i < n && !s->dead && !loop_quitting(); i++) {
		char c = buf[i];
		bool was_cr = s->last_cr;

		s->last_cr = c == '\r';
		if (c == '\n' && was_cr)
			continue;
		if (c == '\r' || c == '\n') {
			session_line(s);
			continue;
		}
		if (c == '\b' || c == 0x7f) {
			if (s->len && !s->overlong)
				s->len--;
			continue;
		}
		if (c == '\t')
			c = ' ';
		if ((unsigned char)c < 0x20)
			continue;
		if (s->len >= MON_LINE_MAX - 1) {
			s->overlong = true;
			continue;
		}
		s->line[s->len++] = c;
	}
}

/* session_read() - one read from the input; false at EOF or error */
static bool session_read(struct mon_session *s)
{
	char buf[4096];
	ssize_t n;

	do
		n = read(s->in_fd, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return true;
	if (n <= 0)
		return false;
	session_input(s, buf, (size_t)n);
	return true;
}

/* session_done() - after a handler: flush, then close if dead or finished */
static void session_done(struct mon_session *s)
{
	if (!s->dead)
		session_write(s);
	if (s->dead || (s->eof && !s->olen))
		session_free(s);
}

static void session_eof(struct mon_session *s)
{
	s->eof = true;
	if (s->poll_in && s->in_fd != s->out_fd)
		loop_fd_del(&s->in);
	if (s->olen && s->poll_out) {
		/* finish writing first; the fd stays registered for EPOLLOUT */
		return;
	}
	s->dead = true;
}

static void session_in_cb(struct loop_fd *h, uint32_t events)
{
	struct mon_session *s = h->opaque;

	if ((events & EPOLLIN) && !s->eof) {
		if (!session_read(s))
			session_eof(s);
	} else if ((events & (EPOLLHUP | EPOLLERR)) && !(events & EPOLLOUT)) {
		session_eof(s);
		if (s->in_fd == s->out_fd)
			s->dead = true;
	}
	if ((events & EPOLLOUT) && s->in_fd == s->out_fd)
		session_write(s);
	session_done(s);
}

static void session_out_cb(struct loop_fd *h, uint32_t events)
{
	struct mon_session *s = h->opaque;

	if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLOUT))
		s->dead = true;
	session_done(s);
}

/* session_pump() - a stdin epoll can't watch: one read per loop iteration */
static void session_pump(struct loop_defer *d)
{
	struct mon_session *s = d->opaque;

	if (!session_read(s))
		session_eof(s);
	else if (!s->dead && !loop_quitting())
		loop_defer(&s->pump);
	session_done(s);
}

static struct mon_session *session_new(int in_fd, int out_fd, bool echo)
{
	struct mon_session *s = xzalloc(sizeof(*s));

	s->in.fd = s->out.fd = -1;
	s->in_fd = in_fd;
	s->out_fd = out_fd;
	s->echo = echo;
	s->next = sessions;
	sessions = s;
	return s;
}

/* session_start() - register the fds, print the banner and the first prompt */
static int session_start(struct mon_session *s, struct error *e)
{
	int r;

	r = loop_fd_add(&s->in, s->in_fd, EPOLLIN, session_in_cb, s);
	if (r == -EPERM && s->is_stdio) {
		loop_defer_init(&s->pump, session_pump, s);
		loop_defer(&s->pump);
	} else if (r < 0) {
		return err_set_errno(e, -r, "monitor: cannot watch fd %d", s->in_fd);
	} else {
		s->poll_in = true;
	}
	if (s->out_fd == s->in_fd) {
		s->poll_out = s->poll_in;
	} else {
		r = loop_fd_add(&s->out, s->out_fd, 0, session_out_cb, s);
		s->poll_out = r == 0;
	}
	session_puts(s, "qnet " QNET_VERSION " monitor - type 'help' for more information\n");
	session_puts(s, MON_PROMPT);
	session_write(s);
	return 0;
}

static void session_free(struct mon_session *s)
{
	struct mon_session **pp;

	for (pp = &sessions; *pp && *pp != s; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = s->next;
	loop_fd_del(&s->in);
	loop_fd_del(&s->out);
	if (s->pump.cb)
		loop_defer_cancel(&s->pump);
	if (s->is_stdio) {
		if (stdin_flags >= 0)
			fcntl(s->in_fd, F_SETFL, stdin_flags);
		if (stdout_flags >= 0)
			fcntl(s->out_fd, F_SETFL, stdout_flags);
	} else {
		close(s->in_fd);
	}
	if (s->srv)
		s->srv->sessions--;
	free(s->obuf);
	free(s);
}

/* ---- opening ---- */

static int monitor_open_stdio(struct error *e)
{
	struct mon_session *s;

	for (s = sessions; s; s = s->next)
		if (s->is_stdio)
			return err_set(e, "cannot use stdio by multiple character devices");
	stdin_flags = fcntl(STDIN_FILENO, F_GETFL);
	stdout_flags = fcntl(STDOUT_FILENO, F_GETFL);
	if (stdin_flags < 0 || stdout_flags < 0)
		return err_set_errno(e, errno, "monitor: stdio");
	set_nonblock(STDIN_FILENO);
	set_nonblock(STDOUT_FILENO);
	s = session_new(STDIN_FILENO, STDOUT_FILENO, !isatty(STDIN_FILENO));
	s->is_stdio = true;
	if (session_start(s, e) < 0) {
		session_free(s);
		return -1;
	}
	return 0;
}

static void mon_accept(struct sockspec_server *srv, int fd)
{
	struct mon_session *s = session_new(fd, fd, true);

	s->srv = srv;
	srv->sessions++;
	if (session_start(s, NULL) < 0)
		session_free(s);
}

static int monitor_open_client(const struct sockspec *q, struct error *e)
{
	struct mon_session *s;
	int fd = sockspec_connect(q, e);

	if (fd < 0)
		return -1;
	set_nonblock(fd);
	s = session_new(fd, fd, true);
	if (session_start(s, e) < 0) {
		session_free(s);
		return -1;
	}
	return 0;
}

/* monitor_open_socket() - "unix:PATH,..." or "tcp:HOST:PORT,...": listen (server=on) or connect */
static int monitor_open_socket(const char *spec, struct error *e)
{
	struct sockspec q;
	struct sockspec_server *srv;

	if (sockspec_parse(spec, &q, e) < 0)
		return -1;
	if (!q.server)
		return monitor_open_client(&q, e);
	srv = sockspec_serve(&q, spec, 8, MON_MAX_SESSIONS, mon_accept, NULL, e);
	if (!srv)
		return -1;
	srv->next = servers;
	servers = srv;
	return 0;
}

/**
 * monitor_open() - start a monitor from a -monitor argument
 *
 * Accepted: "stdio" (also "mon:stdio"), "none", and
 * "unix:PATH[,server=on|off][,wait=on|off]" (QEMU's defaults: client mode;
 * with server=on, wait=on blocks until the first client connects).
 */
int monitor_open(const char *spec, struct error *e)
{
	if (!strcmp(spec, "none"))
		return 0;
	if (!strcmp(spec, "stdio") || !strcmp(spec, "mon:stdio"))
		return monitor_open_stdio(e);
	return monitor_open_socket(spec, e);
}

/**
 * monitor_close_all() - at exit: last output (best effort), close sessions,
 * remove socket files
 */
void monitor_close_all(void)
{
	while (sessions) {
		struct mon_session *s = sessions;

		if (s->olen && !s->dead)
			session_write(s);
		session_free(s);
	}
	while (servers) {
		struct sockspec_server *srv = servers;

		servers = srv->next;
		sockspec_server_close(srv);
	}
}
