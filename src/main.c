// SPDX-License-Identifier: MIT
// main.c - the qnet program: QEMU-style command line, setup, event loop, cleanup

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli/netdev.h"
#include "cli/opts.h"
#include "cli/chardev_opts.h"
#include "cli/filter_opts.h"
#include "cli/run.h"
#include "cli/slirp4netns.h"
#include "core/chardev.h"
#include "core/filter.h"
#include "core/hub.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/net.h"
#include "core/sandbox.h"
#include "monitor/monitor.h"
#include "monitor/qmp.h"

/* Bound on each kind of repeatable option */
#define MAX_ARGS 256

/**
 * struct cli_arg - one option that creates something after argument parsing
 * @opt:	the option as typed ("-netdev", "--netdev"), for error locations
 * @val:	its argument
 * @o:		parsed options
 */
struct cli_arg {
	const char *opt;
	const char *val;
	struct opts o;
};

struct cli_list {
	struct cli_arg v[MAX_ARGS];
	int n;
};

static struct cli_list modern_netdevs, legacy_netdevs, legacy_nets, objects, chardevs;
static const char *monitors[MAX_ARGS];
static int n_monitors;
static const char *qmps[MAX_ARGS];
static int n_qmps;
static const char *log_path;
static char *pidfile;
static bool pidfile_written;
static bool daemonize;
static struct sandbox_cfg sandbox;
static char **run_argv;	/* qnet ... -- CMD [ARGS] */

static const char nic_hint[] =
	"qnet has no NICs: the guest's NIC lives in QEMU. Attach it with a socket "
	"netdev of the same kind on both sides, e.g.\n"
	"  qnet -netdev stream,id=sw0,server=on,addr.type=unix,addr.path=/tmp/qnet.sock\n"
	"  qemu-system-x86_64 -netdev stream,id=n0,addr.type=unix,addr.path=/tmp/qnet.sock "
	"-device virtio-net-pci,netdev=n0\n"
	"(socket and dgram netdevs pair up the same way)";

static void usage(void)
{
	printf("usage: qnet [options]\n"
	       "       qnet [options] -- CMD [ARGS]\n"
	       "QEMU's network backends, hubs, filters and monitor as a standalone program.\n"
	       "\n"
	       "  -netdev TYPE,id=ID[,opts]   create a netdev (QEMU syntax; JSON accepted)\n"
	       "  -netdev help                list the netdev types; -netdev TYPE,help: its options\n"
	       "  -net TYPE[,opts]            legacy: the backend gets a port on hub 0\n"
	       "  -object TYPE,id=ID[,opts]   a filter (filter-dump, -mirror, -redirector, -buffer)\n"
	       "  -chardev socket,id=ID,...   a socket chardev for filter outdev/indev and vhost-user\n"
	       "  -netdev vhost-user,id=ID,chardev=CHR[,queues=N]\n"
	       "                              serve a QEMU virtio-net's rings (QEMU: shared memory,\n"
	       "                              -netdev vhost-user, virtio-net-pci)\n"
	       "  -monitor SPEC               HMP monitor: stdio, unix:PATH,server=on,wait=off\n"
	       "  -qmp SPEC                   QMP: unix:PATH,server=on,wait=off or\n"
	       "                              tcp:HOST:PORT,server=on,wait=off\n"
	       "  -D FILE                     log file\n"
	       "  -pidfile FILE               write the process id to FILE\n"
	       "  -daemonize                  detach once set up\n"
	       "  -sandbox on|off             once set up: no capabilities, a seccomp allow-list\n"
	       "                              (default off; no tap scripts or guestfwd cmd: then)\n"
	       "  -version, -h/-help          version, this text (--x works for every -x)\n"
	       "  -- CMD [ARGS]               run CMD in a new user, network and mount namespace\n"
	       "                              whose eth0 is on the first -netdev user without a\n"
	       "                              peer (or a new user0): 10.0.2.15/24, default route\n"
	       "                              10.0.2.2, /etc/resolv.conf naming 10.0.2.3 (or the\n"
	       "                              user netdev's own addresses); exits with CMD's status\n"
	       "\n"
	       "examples:\n"
	       "  # a hub joining two QEMU guests that connect to unix sockets\n"
	       "  qnet -netdev stream,id=a,server=on,addr.type=unix,addr.path=/tmp/a.sock \\\n"
	       "       -netdev stream,id=b,server=on,addr.type=unix,addr.path=/tmp/b.sock \\\n"
	       "       -netdev hubport,id=pa,hubid=0,netdev=a -netdev hubport,id=pb,hubid=0,netdev=b\n"
	       "  # a guest's socket netdev bridged to a tap device, with a pcap of the traffic\n"
	       "  qnet -netdev socket,id=g,listen=127.0.0.1:1234 \\\n"
	       "       -netdev tap,id=t,ifname=qnet0,script=no,downscript=no \\\n"
	       "       -netdev hubport,id=p1,hubid=1,netdev=g -netdev hubport,id=p2,hubid=1,netdev=t \\\n"
	       "       -object filter-dump,id=d,netdev=g,file=/tmp/g.pcap -monitor stdio\n"
	       "  # curl in its own namespace, behind the user stack; port 8080 forwarded to it\n"
	       "  qnet -netdev user,id=u,hostfwd=tcp:127.0.0.1:8080-:80 -- curl http://10.0.2.2/\n"
	       "  # QEMU side of the first example\n"
	       "  qemu-system-x86_64 -netdev stream,id=n0,addr.type=unix,addr.path=/tmp/a.sock \\\n"
	       "       -device virtio-net-pci,netdev=n0 ...\n"
	       "  # hub 0 joined to another host's qnet, kernel vxlan or Open vSwitch port (VXLAN)\n"
	       "  qnet -netdev vxlan,id=vx,vni=42,local=192.0.2.1,remote=192.0.2.2 \\\n"
	       "       -netdev hubport,id=p0,hubid=0,netdev=vx ...\n");
}

/* ---- exit paths --------------------------------------------------------- */

static void cleanup(void)
{
	qmp_close_all();
	monitor_close_all();
	net_cleanup_all();
	chardev_cleanup_all();
	hub_free_all();
	if (pidfile_written)
		unlink(pidfile);
	pidfile_written = false;
}

static void free_lists(void)
{
	struct cli_list *lists[] = { &modern_netdevs, &legacy_netdevs, &legacy_nets, &objects,
				     &chardevs };

	for (size_t l = 0; l < ARRAY_SIZE(lists); l++) {
		for (int i = 0; i < lists[l]->n; i++)
			opts_free(&lists[l]->v[i].o);
		lists[l]->n = 0;
	}
	free(pidfile);
	pidfile = NULL;
}

/* fail() - "qnet: -opt val: msg", undo what setup created, exit 1 */
__attribute__((noreturn, format(printf, 3, 4)))
static void fail(const char *opt, const char *val, const char *fmt, ...)
{
	struct sbuf b = { 0 };
	va_list ap;

	va_start(ap, fmt);
	sbuf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (opt && val)
		error_report("%s %s: %s", opt, val, sbuf_str(&b));
	else if (opt)
		error_report("%s: %s", opt, sbuf_str(&b));
	else
		error_report("%s", sbuf_str(&b));
	sbuf_free(&b);
	cleanup();
	free_lists();
	exit(1);
}

static void print_and_exit(struct sbuf *b)
{
	fputs(sbuf_str(b), stdout);
	sbuf_free(b);
	free_lists();
	exit(0);
}

/* ---- -netdev / -net ------------------------------------------------------ */

/*
 * probe_type() - the type a QemuOpts string names (its last type=, or the
 * implied first element), as QEMU's netdev_is_modern() reads it. Caller frees.
 */
static char *probe_type(const char *s)
{
	char *type = NULL;
	bool first = true;

	while (*s) {
		size_t len = strcspn(s, "=,");
		bool named = s[len] == '=';
		struct sbuf v = { 0 };

		if (!named && !first) {	/* a flag */
			s += len;
		} else {
			bool is_type = !named || (len == 4 && !strncmp(s, "type", 4));

			s += named ? len + 1 : 0;
			sbuf_printf(&v, "%s", "");
			for (;;) {
				const char *c = strchrnul(s, ',');

				sbuf_printf(&v, "%.*s", (int)(c - s), s);
				s = c;
				if (c[0] == ',' && c[1] == ',') {
					sbuf_printf(&v, ",");
					s += 2;
					continue;
				}
				break;
			}
			if (is_type) {
				free(type);
				type = v.p;
				v.p = NULL;
			}
			sbuf_free(&v);
		}
		if (*s == ',')
			s++;
		first = false;
	}
	return type;
}

static bool type_is_modern(const char *type)
{
	const struct netdev_type *t;

	if (!type)
		return false;
	if (!strcmp(type, "stream") || !strcmp(type, "dgram"))
		return true;
	t = netdev_type_find(type);
	return t && t->modern;
}

static bool is_help(const char *s)
{
	return s && (!strcmp(s, "help") || !strcmp(s, "?"));
}

/* type_help() - "-netdev TYPE,help": print TYPE's options and exit */
static void type_help(const char *opt, const char *val, struct opts *o)
{
	const char *type = opts_peek(o, "type");
	const struct netdev_type *t = type ? netdev_type_find(type) : NULL;
	struct sbuf b = { 0 };

	if (!type || is_help(type)) {
		netdev_types_help(&b);
		print_and_exit(&b);
	}
	if (!t)
		fail(opt, val, "network backend '%s' has no help: %s", type,
		     strcmp(type, "none") && strcmp(type, "nic") ? "not available in qnet" :
		     "not a backend");
	netdev_type_help(t, &b);
	print_and_exit(&b);
}

static struct cli_arg *list_add(struct cli_list *l, const char *opt, const char *val)
{
	struct cli_arg *a;

	if (l->n == MAX_ARGS)
		fail(opt, val, "too many %s options (at most %d)", opt, MAX_ARGS);
	a = &l->v[l->n++];
	a->opt = opt;
	a->val = val;
	memset(&a->o, 0, sizeof(a->o));
	return a;
}

/* qemuopts_dup_id() - QemuOpts refuses a second entry with the same id */
static void qemuopts_dup_id(const struct cli_list *l, const struct cli_arg *a, const char *list)
{
	const char *id = opts_peek(&a->o, "id");

	if (!id)
		return;
	for (int i = 0; i < l->n; i++) {
		const char *other = opts_peek(&l->v[i].o, "id");

		if (&l->v[i] != a && other && !strcmp(other, id))
			fail(a->opt, a->val, "Duplicate ID '%s' for %s", id, list);
	}
}

static void arg_netdev(const char *opt, const char *val)
{
	char *type = val[0] == '{' ? NULL : probe_type(val);
	struct error e = { 0 };
	struct cli_arg *a;
	int r;

	if (is_help(type)) {
		struct sbuf b = { 0 };

		free(type);
		netdev_types_help(&b);
		print_and_exit(&b);
	}
	if (val[0] == '{' || type_is_modern(type)) {
		a = list_add(&modern_netdevs, opt, val);
		r = val[0] == '{' ? opts_parse_json(&a->o, val, &e) :
				    opts_parse_keyval(&a->o, val, "type", &e);
	} else {
		a = list_add(&legacy_netdevs, opt, val);
		r = opts_parse(&a->o, val, "type", &e);
	}
	free(type);
	if (r < 0) {
		a->o.n = 0;
		fail(opt, val, "%s", e.msg);
	}
	if (opts_has(&a->o, "help"))
		type_help(opt, val, &a->o);
	if (a->o.syntax == OPTS_QEMUOPTS)
		qemuopts_dup_id(&legacy_netdevs, a, "netdev");
}

static void arg_net(const char *opt, const char *val)
{
	struct cli_arg *a = list_add(&legacy_nets, opt, val);
	struct error e = { 0 };
	const char *type;

	if (opts_parse(&a->o, val, "type", &e) < 0) {
		a->o.n = 0;
		fail(opt, val, "%s", e.msg);
	}
	type = opts_peek(&a->o, "type");
	if (is_help(type) || opts_has(&a->o, "help"))
		type_help(opt, val, &a->o);
	if (type && !strcmp(type, "nic"))
		fail(opt, val, "%s", nic_hint);
	qemuopts_dup_id(&legacy_nets, a, "net");
}

static void arg_object(const char *opt, const char *val)
{
	struct cli_arg *a = list_add(&objects, opt, val);
	struct error e = { 0 };

	if (opts_parse_auto(&a->o, val, "qom-type", &e) < 0) {
		a->o.n = 0;
		fail(opt, val, "%s", e.msg);
	}
}

/* create_netdevs() - one group, in command-line order */
static void create_netdevs(struct cli_list *l)
{
	for (int i = 0; i < l->n; i++) {
		struct cli_arg *a = &l->v[i];
		struct error e = { 0 };

		if (!netdev_create(&a->o, true, NULL, &e))
			fail(a->opt, a->val, "%s", e.msg);
	}
}

/* create_legacy_nets() - -net TYPE: the backend's peer is a new port on hub 0 */
static void create_legacy_nets(void)
{
	static unsigned counter;

	for (int i = 0; i < legacy_nets.n; i++) {
		struct cli_arg *a = &legacy_nets.v[i];
		const char *type = opts_peek(&a->o, "type");
		struct net_client *port;
		struct error e = { 0 };

		if (type && !strcmp(type, "none")) {
			opts_get(&a->o, "type");
			opts_get(&a->o, "id");
			if (opts_check_unused(&a->o, &e) < 0)
				fail(a->opt, a->val, "%s", e.msg);
			continue;
		}
		if (!opts_has(&a->o, "id")) {
			/* QEMU's id_generate(ID_NET): "#net" counter, two random digits */
			char *id = xasprintf("#net%u%02d", counter++, rand() % 100);

			opts_add(&a->o, "id", id);
			free(id);
		}
		port = hub_add_port(hub_get(0), NULL, NULL, false);
		if (!netdev_create(&a->o, false, port, &e))
			fail(a->opt, a->val, "%s", e.msg);
	}
}

/* arg_chardev() - -chardev BACKEND,id=ID,... (QemuOpts; created before the netdevs, as QEMU) */
static void arg_chardev(const char *opt, const char *val)
{
	struct cli_arg *a = list_add(&chardevs, opt, val);
	struct error e = { 0 };

	if (opts_parse(&a->o, val, "backend", &e) < 0) {
		a->o.n = 0;
		fail(opt, val, "%s", e.msg);
	}
}

static void create_chardevs(void)
{
	for (int i = 0; i < chardevs.n; i++) {
		struct error e = { 0 };

		if (chardev_opts_create(&chardevs.v[i].o, &e) < 0)
			fail(chardevs.v[i].opt, chardevs.v[i].val, "%s", e.msg);
	}
}

static void create_objects(void)
{
	for (int i = 0; i < objects.n; i++) {
		struct error e = { 0 };

		if (filter_opts_add(&objects.v[i].o, &e) < 0)
			fail(objects.v[i].opt, objects.v[i].val, "%s", e.msg);
	}
}

/* ---- pidfile and daemon ------------------------------------------------- */

static void set_pidfile(const char *path)
{
	char cwd[4096];

	free(pidfile);
	if (path[0] != '/' && getcwd(cwd, sizeof(cwd)))
		pidfile = xasprintf("%s/%s", cwd, path);
	else
		pidfile = xstrdup(path);
}

static void write_pidfile(void)
{
	char buf[32];
	int fd, n;

	if (!pidfile)
		return;
	fd = open(pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		fail(NULL, NULL, "cannot create PID file: Cannot open pid file: %s",
		     strerror(errno));
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		int err = errno;

		close(fd);
		unlink(pidfile);
		fail(NULL, NULL, "cannot create PID file: Failed to write pid file: %s",
		     strerror(err));
	}
	close(fd);
	pidfile_written = true;
}

/*
 * do_daemonize() - fork; the parent waits for the child's "ready" byte and
 * exits 0 (1 if the child died first). The child starts a session, writes the
 * pid file and drops the terminal.
 */
static void do_daemonize(void)
{
	int pfd[2], devnull;
	char c = 0;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		fail(NULL, NULL, "-daemonize: pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		fail(NULL, NULL, "-daemonize: fork: %s", strerror(errno));
	if (pid > 0) {
		ssize_t n;

		close(pfd[1]);
		do
			n = read(pfd[0], &c, 1);
		while (n < 0 && errno == EINTR);
		_exit(n == 1 && c == 0 ? 0 : 1);
	}
	close(pfd[0]);
	if (setsid() < 0)
		_exit(1);
	write_pidfile();
	devnull = open("/dev/null", O_RDWR);
	if (devnull < 0)
		_exit(1);
	log_set_stderr(false);
	dup2(devnull, STDIN_FILENO);
	dup2(devnull, STDOUT_FILENO);
	dup2(devnull, STDERR_FILENO);
	if (devnull > STDERR_FILENO)
		close(devnull);
	if (write(pfd[1], &c, 1) != 1)
		_exit(1);
	close(pfd[1]);
}

static void on_signal(int signo, void *opaque)
{
	if (run_active()) {
		info("passing signal %d on to the command", signo);
		run_forward_signal(signo);
		return;
	}
	info("terminating on signal %d", signo);
	loop_quit(0);
}

/* ---- argument parsing --------------------------------------------------- */

enum arg_kind {
	A_NETDEV, A_NET, A_NIC, A_DEVICE, A_OBJECT, A_CHARDEV, A_MONITOR, A_LOG, A_PIDFILE,
	A_DAEMONIZE, A_VERSION, A_HELP, A_QMP, A_SANDBOX,
};

static const struct {
	const char *name;
	enum arg_kind kind;
	bool has_arg;
} arg_table[] = {
	{ "netdev", A_NETDEV, true },	{ "net", A_NET, true },
	{ "nic", A_NIC, true },		{ "device", A_DEVICE, true },
	{ "object", A_OBJECT, true },	{ "monitor", A_MONITOR, true },
	{ "qmp", A_QMP, true },
	{ "chardev", A_CHARDEV, true },
	{ "D", A_LOG, true },		{ "pidfile", A_PIDFILE, true },
	{ "daemonize", A_DAEMONIZE, false },
	{ "sandbox", A_SANDBOX, true },
	{ "version", A_VERSION, false },
	{ "help", A_HELP, false },	{ "h", A_HELP, false },
};

/*
 * arg_sandbox() - "-sandbox on|off" (QemuOpts, implied key "enable" as QEMU's);
 * x-violate=on is a hidden test option (sandbox.h)
 */
static void arg_sandbox(const char *opt, const char *val)
{
	struct opts o = { 0 };
	struct error e = { 0 };

	if (opts_parse(&o, val, "enable", &e) < 0 ||
	    opts_get_bool(&o, "enable", &sandbox.on, &e) < 0 ||
	    opts_get_bool(&o, "x-violate", &sandbox.x_violate, &e) < 0 ||
	    opts_check_unused(&o, &e) < 0) {
		opts_free(&o);
		fail(opt, val, "%s", e.msg);
	}
	opts_free(&o);
}

/* sandbox_conflicts() - what needs fork/exec after set-up cannot run sandboxed */
static void sandbox_conflicts(struct cli_list *l)
{
	for (int i = 0; i < l->n; i++) {
		struct opts *o = &l->v[i].o;
		const char *type = opts_peek(o, "type"), *ds = opts_peek(o, "downscript");
		const char *g;
		int pos = 0;

		if (type && !strcmp(type, "tap") && !opts_has(o, "fd") && !opts_has(o, "fds") &&
		    (!ds || (ds[0] && strcmp(ds, "no"))))
			fail("-sandbox", "on", "a tap down-script cannot run sandboxed: give "
			     "downscript=no to %s", l->v[i].val);
		while (type && !strcmp(type, "user") && (g = opts_next(o, "guestfwd", &pos)))
			if (strstr(g, "-cmd:"))
				fail("-sandbox", "on", "guestfwd=...-cmd: cannot run sandboxed (%s)",
				     l->v[i].val);
	}
}

static void handle_arg(enum arg_kind kind, const char *opt, const char *val)
{
	switch (kind) {
	case A_NETDEV:
		arg_netdev(opt, val);
		break;
	case A_NET:
		arg_net(opt, val);
		break;
	case A_NIC:
	case A_DEVICE:
		fail(opt, val, "%s", nic_hint);
	case A_OBJECT:
		arg_object(opt, val);
		break;
	case A_CHARDEV:
		arg_chardev(opt, val);
		break;
	case A_MONITOR:
		if (n_monitors == MAX_ARGS)
			fail(opt, val, "too many %s options (at most %d)", opt, MAX_ARGS);
		monitors[n_monitors++] = val;
		break;
	case A_QMP:
		if (n_qmps == MAX_ARGS)
			fail(opt, val, "too many %s options (at most %d)", opt, MAX_ARGS);
		qmps[n_qmps++] = val;
		break;
	case A_LOG:
		log_path = val;
		break;
	case A_PIDFILE:
		set_pidfile(val);
		break;
	case A_DAEMONIZE:
		daemonize = true;
		break;
	case A_SANDBOX:
		arg_sandbox(opt, val);
		break;
	case A_VERSION:
		printf("qnet version %s\n", QNET_VERSION);
		free_lists();
		exit(0);
	case A_HELP:
		usage();
		free_lists();
		exit(0);
	}
}

static void parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i], *name = opt + 1;
		size_t k;

		if (!strcmp(opt, "--")) {
			if (i + 1 >= argc)
				fail(opt, NULL, "needs a command to run");
			run_argv = argv + i + 1;
			return;
		}
		if (opt[0] != '-' || !opt[1])
			fail(opt, NULL, "invalid argument (qnet takes options only, see --help)");
		if (name[0] == '-' && name[1])
			name++;
		for (k = 0; k < ARRAY_SIZE(arg_table); k++)
			if (!strcmp(arg_table[k].name, name))
				break;
		if (k == ARRAY_SIZE(arg_table))
			fail(opt, NULL, "invalid option");
		if (arg_table[k].has_arg && i + 1 >= argc)
			fail(opt, NULL, "requires an argument");
		handle_arg(arg_table[k].kind, opt, arg_table[k].has_arg ? argv[++i] : NULL);
	}
}

static void check_args(void)
{
	for (int i = 0; i < n_monitors; i++)
		if (daemonize && !strncmp(monitors[i], "stdio", 5))
			fail("-monitor", monitors[i], "cannot use stdio with -daemonize");
	if (daemonize && run_argv)
		fail("-daemonize", NULL, "cannot be used with -- CMD");
	if (sandbox.on) {
		sandbox_conflicts(&modern_netdevs);
		sandbox_conflicts(&legacy_netdevs);
		sandbox_conflicts(&legacy_nets);
	}
}

/*
 * raise_fd_limit() - every flow of the user stack holds a host socket: take the hard limit of
 * open files as the soft one (the soft default, 1024, would cap a guest at ~1000 connections)
 */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	int code;

	if (loop_init() < 0) {
		fprintf(stderr, "qnet: cannot set up the event loop: %s\n", strerror(errno));
		return 1;
	}
	if (!strcmp(basename(argv[0]), "slirp4netns")) {
		log_init("slirp4netns");
		code = slirp4netns_main(argc, argv);
		loop_fini();
		return code;
	}
	log_init("qnet");
	raise_fd_limit();
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	parse_args(argc, argv);
	check_args();
	if (log_path) {
		int r = log_open(log_path);

		if (r < 0)
			fail("-D", log_path, "cannot open log file: %s", strerror(-r));
	}

	/* CMD's process first, so that it inherits nothing qnet opens below */
	if (run_argv) {
		struct error e = { 0 };

		if (run_spawn(run_argv, &e) < 0)
			fail("--", NULL, "%s", e.msg);
	}

	/* QEMU's net_init_clients() order: modern -netdev, QemuOpts -netdev, -net */
	create_chardevs();
	create_netdevs(&modern_netdevs);
	create_netdevs(&legacy_netdevs);
	create_legacy_nets();
	create_objects();
	if (run_argv) {
		struct error e = { 0 };

		if (run_attach(&e) < 0)
			fail("--", NULL, "%s", e.msg);
	}
	for (int i = 0; i < n_monitors; i++) {
		struct error e = { 0 };

		if (monitor_open(monitors[i], &e) < 0)
			fail("-monitor", monitors[i], "%s", e.msg);
	}
	for (int i = 0; i < n_qmps; i++) {
		struct error e = { 0 };

		if (qmp_open(qmps[i], &e) < 0)
			fail("-qmp", qmps[i], "%s", e.msg);
	}
	hub_check_clients();
	if (loop_on_signal(SIGINT, on_signal, NULL) < 0 ||
	    loop_on_signal(SIGTERM, on_signal, NULL) < 0 ||
	    loop_on_signal(SIGHUP, on_signal, NULL) < 0)
		fail(NULL, NULL, "cannot handle signals: %s", strerror(errno));
	if (daemonize)
		do_daemonize();
	else
		write_pidfile();
	{
		struct error e = { 0 };

		if (sandbox_apply(&sandbox, &e) < 0)
			fail("-sandbox", "on", "%s", e.msg);
	}
	info("qnet %s running", QNET_VERSION);

	code = loop_run();
	cleanup();
	free_lists();
	loop_fini();
	return code;
}
