// SPDX-License-Identifier: MIT
// slirp4netns.c - qnet started as "slirp4netns": slirp4netns 1.x's command line, defaults,
// messages, exit codes and JSON API socket, on qnet's user stack (DOC block in slirp4netns.h)

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <json-c/json.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <net/route.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../backends/user.h"
#include "../core/log.h"
#include "../core/loop.h"
#include "../core/net.h"
#include "../core/sandbox.h"
#include "../stack/fwd.h"
#include "netdev.h"
#include "opts.h"
#include "slirp4netns.h"

#define S4N_VERSION "1.2.0"
#define S4N_DEFAULT_CIDR "10.0.2.0/24"
#define S4N_PREFIX_MIN 1
#define S4N_PREFIX_MAX 25
/* slirp4netns's request buffer: a message of this size or more is refused */
#define S4N_API_BUF 4096
/* API connections served at once, and how long one may take */
#define S4N_API_CLIENTS 8
#define S4N_API_TIMEOUT_MS 5000
/* add_hostfwd entries kept (slirp4netns has no bound; qnet refuses beyond it) */
#define S4N_FWD_MAX 1024

/**
 * struct s4n_opts - the command line, as slirp4netns's struct options
 */
struct s4n_opts {
	const char *tapname, *cidr, *api_socket, *netns_type, *netns_path, *userns_path;
	const char *outbound_addr, *outbound_addr6, *macaddress, *target_type;
	pid_t target_pid;
	int exit_fd, ready_fd;
	long mtu;
	bool configure, disable_host_loopback, enable_ipv6, enable_sandbox, enable_seccomp;
	bool disable_dns;
};

/**
 * struct s4n_fwd - one add_hostfwd entry
 * @id:		slirp4netns's id (from 1, never reused)
 * @udp:	protocol
 * @host, @guest: addresses
 * @hport, @gport: ports
 */
struct s4n_fwd {
	int id;
	bool udp;
	struct in_addr host, guest;
	int hport, gport;
};

/**
 * struct s4n_client - one API connection (one request, one reply, as slirp4netns)
 * @lfd:	its fd in the loop (fd -1: slot free)
 * @timer:	gives up after S4N_API_TIMEOUT_MS
 * @len:	bytes in @buf
 * @buf:	the request (fixed, never grows)
 */
struct s4n_client {
	struct loop_fd lfd;
	struct loop_timer timer;
	size_t len;
	char buf[S4N_API_BUF + 1];
};

static struct {
	struct user_stack *stack;
	struct in_addr network, netmask, vhost, dns, guest;
	struct s4n_fwd fwds[S4N_FWD_MAX];
	int n_fwds, next_id;
	struct loop_fd api, exitfd;
	struct s4n_client clients[S4N_API_CLIENTS];
	const char *api_path;
} s4n;

static void s4n_usage(const char *argv0)
{
	printf("Usage: %s [OPTION]... PID|PATH [TAPNAME]\n", argv0);
	printf("User-mode networking for unprivileged network namespaces.\n\n");
	printf("-c, --configure          bring up the interface\n"
	       "-e, --exit-fd=FD         specify the FD for terminating slirp4netns\n"
	       "-r, --ready-fd=FD        specify the FD to write to when the network is configured\n"
	       "-m, --mtu=MTU            specify MTU (default=1500, max=65521)\n"
	       "-6, --enable-ipv6        enable IPv6 (experimental)\n"
	       "-a, --api-socket=PATH    specify API socket path\n"
	       "--cidr=CIDR              specify network address CIDR (default=%s)\n"
	       "--disable-host-loopback  prohibit connecting to 127.0.0.1:* on the host namespace\n"
	       "--netns-type=TYPE \t specify network namespace type ([path|pid], default=pid)\n"
	       "--userns-path=PATH\t specify user namespace path\n"
	       "--enable-sandbox         create a new mount namespace (and drop all caps except "
	       "CAP_NET_BIND_SERVICE if running as the root)\n"
	       "--enable-seccomp         enable seccomp to limit syscalls (experimental)\n"
	       "--outbound-addr=IPv4     sets outbound ipv4 address to bound to (experimental)\n"
	       "--outbound-addr6=IPv6    sets outbound ipv6 address to bound to (experimental)\n"
	       "--disable-dns            disables 10.0.2.3 (or configured internal ip) to host dns "
	       "redirect (experimental)\n"
	       "--macaddress=MAC         specify the MAC address of the TAP (only valid with -c)\n"
	       "--target-type=TYPE       specify the target type ([netns|bess], default=netns)\n"
	       "-h, --help               show this help and exit\n"
	       "-v, --version            show version and exit\n", S4N_DEFAULT_CIDR);
}

static void s4n_version(void)
{
	printf("slirp4netns version %s\n", S4N_VERSION);
	printf("commit: qnet %s\n", QNET_VERSION);
	printf("libslirp: none (qnet's user stack)\n");
	printf("SLIRP_CONFIG_VERSION_MAX: 4\n");
}

__attribute__((noreturn))
static void s4n_usage_exit(const char *argv0)
{
	s4n_usage(argv0);
	exit(EXIT_FAILURE);
}

/* s4n_int() - slirp4netns's strtol checks: the whole string, no overflow */
static bool s4n_int(const char *s, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return !errno && end != s && !*end;
}

enum {
	O_CIDR = 1000, O_DISABLE_HOST_LOOPBACK, O_NO_HOST_LOOPBACK, O_NETNS_TYPE, O_USERNS_PATH,
	O_ENABLE_SANDBOX, O_CREATE_SANDBOX, O_ENABLE_SECCOMP, O_OUTBOUND_ADDR, O_OUTBOUND_ADDR6,
	O_DISABLE_DNS, O_MACADDRESS, O_TARGET_TYPE,
};

static void s4n_parse(int argc, char **argv, struct s4n_opts *o)
{
	static const struct option longopts[] = {
		{ "configure", no_argument, NULL, 'c' },
		{ "exit-fd", required_argument, NULL, 'e' },
		{ "ready-fd", required_argument, NULL, 'r' },
		{ "mtu", required_argument, NULL, 'm' },
		{ "cidr", required_argument, NULL, O_CIDR },
		{ "disable-host-loopback", no_argument, NULL, O_DISABLE_HOST_LOOPBACK },
		{ "no-host-loopback", no_argument, NULL, O_NO_HOST_LOOPBACK },
		{ "netns-type", required_argument, NULL, O_NETNS_TYPE },
		{ "userns-path", required_argument, NULL, O_USERNS_PATH },
		{ "api-socket", required_argument, NULL, 'a' },
		{ "enable-ipv6", no_argument, NULL, '6' },
		{ "enable-sandbox", no_argument, NULL, O_ENABLE_SANDBOX },
		{ "create-sandbox", no_argument, NULL, O_CREATE_SANDBOX },
		{ "enable-seccomp", no_argument, NULL, O_ENABLE_SECCOMP },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ "outbound-addr", required_argument, NULL, O_OUTBOUND_ADDR },
		{ "outbound-addr6", required_argument, NULL, O_OUTBOUND_ADDR6 },
		{ "disable-dns", no_argument, NULL, O_DISABLE_DNS },
		{ "macaddress", required_argument, NULL, O_MACADDRESS },
		{ "target-type", required_argument, NULL, O_TARGET_TYPE },
		{ NULL, 0, NULL, 0 },
	};
	long v;
	int c;

	memset(o, 0, sizeof(*o));
	o->exit_fd = o->ready_fd = -1;
	o->mtu = 1500;
	while ((c = getopt_long(argc, argv, "ce:r:m:a:6hv", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->configure = true;
			break;
		case 'e':
			if (!s4n_int(optarg, &v) || v < 0 || v > INT32_MAX) {
				fprintf(stderr, "exit-fd must be a non-negative integer\n");
				s4n_usage_exit(argv[0]);
			}
			o->exit_fd = (int)v;
			break;
		case 'r':
			if (!s4n_int(optarg, &v) || v < 0 || v > INT32_MAX) {
				fprintf(stderr, "ready-fd must be a non-negative integer\n");
				s4n_usage_exit(argv[0]);
			}
			o->ready_fd = (int)v;
			break;
		case 'm':
			if (!s4n_int(optarg, &v) || v <= 0 || v > 65521) {
				fprintf(stderr, "MTU must be a positive integer (< 65522)\n");
				s4n_usage_exit(argv[0]);
			}
			o->mtu = v;
			break;
		case O_CIDR:
			o->cidr = optarg;
			break;
		case O_NO_HOST_LOOPBACK:
			printf("WARNING: --no-host-loopback is deprecated and will be removed in "
			       "future releases, please use --disable-host-loopback instead.\n");
			/* fall through */
		case O_DISABLE_HOST_LOOPBACK:
			o->disable_host_loopback = true;
			break;
		case O_CREATE_SANDBOX:
			printf("WARNING: --create-sandbox is deprecated and will be removed in "
			       "future releases, please use --enable-sandbox instead.\n");
			/* fall through */
		case O_ENABLE_SANDBOX:
			o->enable_sandbox = true;
			break;
		case O_ENABLE_SECCOMP:
			printf("WARNING: Support for seccomp is experimental\n");
			o->enable_seccomp = true;
			break;
		case O_NETNS_TYPE:
			o->netns_type = optarg;
			break;
		case O_USERNS_PATH:
			o->userns_path = optarg;
			if (access(optarg, F_OK) == -1) {
				fprintf(stderr, "userns path doesn't exist: %s\n", optarg);
				s4n_usage_exit(argv[0]);
			}
			break;
		case 'a':
			o->api_socket = optarg;
			break;
		case '6':
			o->enable_ipv6 = true;
			printf("WARNING: Support for IPv6 is experimental\n");
			break;
		case 'h':
			s4n_usage(argv[0]);
			exit(EXIT_SUCCESS);
		case 'v':
			s4n_version();
			exit(EXIT_SUCCESS);
		case O_OUTBOUND_ADDR:
			printf("WARNING: Support for --outbound-addr is experimental\n");
			o->outbound_addr = optarg;
			break;
		case O_OUTBOUND_ADDR6:
			printf("WARNING: Support for --outbound-addr6 is experimental\n");
			o->outbound_addr6 = optarg;
			break;
		case O_DISABLE_DNS:
			o->disable_dns = true;
			break;
		case O_MACADDRESS:
			o->macaddress = optarg;
			break;
		case O_TARGET_TYPE:
			o->target_type = optarg;
			break;
		default:
			s4n_usage_exit(argv[0]);
		}
	}
	if (o->macaddress && !o->configure) {
		fprintf(stderr, "--macaddr cannot be specified when --configure or -c is not "
				"specified\n");
		s4n_usage_exit(argv[0]);
	}
	if (argc - optind < 2)
		s4n_usage_exit(argv[0]);
	if (argc - optind > 2)
		printf("WARNING: too many arguments\n");
	if (!o->netns_type || !strcmp(o->netns_type, "pid")) {
		if (!s4n_int(argv[optind], &v) || v <= 0 || v > INT32_MAX) {
			fprintf(stderr, "PID must be a positive integer\n");
			s4n_usage_exit(argv[0]);
		}
		o->target_pid = (pid_t)v;
	} else {
		o->netns_path = argv[optind];
		if (access(o->netns_path, F_OK) == -1) {
			perror("existing path expected when --netns-type=path");
			s4n_usage_exit(argv[0]);
		}
	}
	o->tapname = argv[optind + 1];
}

/* s4n_cidr() - slirp4netns's CIDR rules and texts */
static int s4n_cidr(const char *cidr)
{
	char net[32];
	const char *slash = strchr(cidr, '/');
	long prefix;

	if (!slash || (size_t)(slash - cidr) >= sizeof(net) || !slash[1] || strlen(slash + 1) > 2 ||
	    strspn(slash + 1, "0123456789") != strlen(slash + 1) ||
	    strspn(cidr, "0123456789.") != (size_t)(slash - cidr)) {
		fprintf(stderr, "invalid CIDR: %s\n", cidr);
		return -1;
	}
	memcpy(net, cidr, (size_t)(slash - cidr));
	net[slash - cidr] = 0;
	if (inet_pton(AF_INET, net, &s4n.network) != 1) {
		fprintf(stderr, "invalid network address: %s\n", net);
		return -1;
	}
	prefix = strtol(slash + 1, NULL, 10);
	if (prefix < S4N_PREFIX_MIN || prefix > S4N_PREFIX_MAX) {
		fprintf(stderr, "prefix length needs to be %d-%d\n", S4N_PREFIX_MIN,
			S4N_PREFIX_MAX);
		return -1;
	}
	s4n.netmask.s_addr = htonl(~((1u << (32 - prefix)) - 1));
	if ((s4n.network.s_addr & s4n.netmask.s_addr) != s4n.network.s_addr) {
		fprintf(stderr, "CIDR needs to be a network address like 10.0.2.0/24, not like "
				"10.0.2.100/24\n");
		return -1;
	}
	s4n.vhost.s_addr = htonl(ntohl(s4n.network.s_addr) + 2);
	s4n.dns.s_addr = htonl(ntohl(s4n.network.s_addr) + 3);
	s4n.guest.s_addr = htonl(ntohl(s4n.network.s_addr) + 100);
	return 0;
}

/* s4n_mac() - "xx:xx:xx:xx:xx:xx" */
static int s4n_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &tail) != 6) {
		fprintf(stderr, "\"%s\" is an invalid MAC address.\n", s);
		fprintf(stderr, "macaddress has to be a valid MAC address (hex string, 6 bytes, "
				"each byte separated by a ':').");
		return -1;
	}
	for (int i = 0; i < 6; i++) {
		if (v[i] > 255) {
			fprintf(stderr, "\"%s\" is an invalid MAC address.\n", s);
			return -1;
		}
		mac[i] = (uint8_t)v[i];
	}
	return 0;
}

/* ---- the child: join the target's namespaces, make (and configure) the tap -------------- */

static int s4n_nsenter(const struct s4n_opts *o)
{
	char userns[PATH_MAX], netns[PATH_MAX];
	int ufd, nfd;

	if (o->userns_path)
		snprintf(userns, sizeof(userns), "%s", o->userns_path);
	else if (o->target_pid > 0)
		snprintf(userns, sizeof(userns), "/proc/%d/ns/user", (int)o->target_pid);
	else
		userns[0] = 0;
	if (o->netns_path)
		snprintf(netns, sizeof(netns), "%s", o->netns_path);
	else
		snprintf(netns, sizeof(netns), "/proc/%d/ns/net", (int)o->target_pid);
	/* as slirp4netns: the network namespace is opened first */
	nfd = open(netns, O_RDONLY | O_CLOEXEC);
	if (nfd < 0) {
		perror(netns);
		return -1;
	}
	if (userns[0]) {
		ufd = open(userns, O_RDONLY | O_CLOEXEC);
		if (ufd < 0) {
			perror(userns);
			close(nfd);
			return -1;
		}
		/* EINVAL: already there (e.g. root, the target in the initial user namespace) */
		if (setns(ufd, CLONE_NEWUSER) < 0 && errno != EINVAL) {
			perror("setns(CLONE_NEWUSER)");
			close(ufd);
			close(nfd);
			return -1;
		}
		close(ufd);
	}
	if (setns(nfd, CLONE_NEWNET) < 0) {
		perror("setns(CLONE_NEWNET)");
		close(nfd);
		return -1;
	}
	close(nfd);
	return 0;
}

static int s4n_ioctl_in(int s, const char *dev, unsigned long req, struct in_addr a)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr = a };
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dev);
	memcpy(&ifr.ifr_addr, &sin, sizeof(sin));
	return ioctl(s, req, &ifr);
}

static int s4n_configure(const struct s4n_opts *o, const uint8_t *mac)
{
	struct sockaddr_in any = { .sin_family = AF_INET }, gw = any;
	char dev[IFNAMSIZ];
	struct rtentry rt;
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0) {
		perror("cannot create socket");
		return -1;
	}
	snprintf(dev, sizeof(dev), "%s", o->tapname);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dev);
	if (mac) {
		ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
		memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
		if (ioctl(s, SIOCSIFHWADDR, &ifr) < 0) {
			perror("cannot set MAC address");
			goto fail;
		}
	}
	ifr.ifr_flags = IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
		perror("cannot set device up");
		goto fail;
	}
	ifr.ifr_mtu = (int)o->mtu;
	if (ioctl(s, SIOCSIFMTU, &ifr) < 0) {
		perror("cannot set MTU");
		goto fail;
	}
	if (s4n_ioctl_in(s, dev, SIOCSIFADDR, s4n.guest) < 0) {
		perror("cannot set device address");
		goto fail;
	}
	if (s4n_ioctl_in(s, dev, SIOCSIFNETMASK, s4n.netmask) < 0) {
		perror("cannot set device netmask");
		goto fail;
	}
	memset(&rt, 0, sizeof(rt));
	gw.sin_addr = s4n.vhost;
	memcpy(&rt.rt_gateway, &gw, sizeof(gw));
	memcpy(&rt.rt_dst, &any, sizeof(any));
	memcpy(&rt.rt_genmask, &any, sizeof(any));
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	rt.rt_dev = dev;
	if (ioctl(s, SIOCADDRT, &rt) < 0) {
		perror("set route");
		goto fail;
	}
	close(s);
	return 0;
fail:
	close(s);
	return -1;
}

static int s4n_sendfd(int sock, int fd)
{
	if (fd_send(sock, fd, "", 1) < 0) {
		perror("sendmsg");
		return -1;
	}
	return 0;
}

__attribute__((noreturn))
static void s4n_child(int sock, const struct s4n_opts *o, const uint8_t *mac)
{
	struct ifreq ifr;
	int fd;

	if (s4n_nsenter(o) < 0)
		_exit(EXIT_FAILURE);
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		perror("open(\"/dev/net/tun\")");
		_exit(EXIT_FAILURE);
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", o->tapname);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		perror("ioctl(TUNSETIFF)");
		_exit(EXIT_FAILURE);
	}
	if (o->configure && s4n_configure(o, mac) < 0)
		_exit(EXIT_FAILURE);
	if (s4n_sendfd(sock, fd) < 0)
		_exit(EXIT_FAILURE);
	fprintf(stderr, "sent tapfd=%d for %s\n", fd, o->tapname);
	_exit(EXIT_SUCCESS);
}

static int s4n_recvfd(int sock)
{
	char dummy;
	ssize_t n;
	int fd;

	n = fd_recv(sock, &dummy, 1, &fd, MSG_DONTWAIT);
	if (n < 0) {
		perror("recvmsg");
		return -1;
	}
	if (n == 0) {
		if (fd >= 0)
			close(fd);
		fprintf(stderr, "the message is empty\n");
		return -1;
	}
	if (fd < 0) {
		fprintf(stderr, "the message does not contain fd\n");
		return -1;
	}
	return fd;
}

/* ---- the API socket ------------------------------------------------------------------------ */

static const char *const s4n_err_prefix = "{\"error\":{\"desc\":\"bad request: ";

static void s4n_reply_err(struct sbuf *out, const char *desc)
{
	sbuf_printf(out, "%s%s\"}}", s4n_err_prefix, desc);
}

/* s4n_arg_int() - arguments.KEY as slirp4netns reads it: a number, else 0 */
static int s4n_arg_int(struct json_object *args, const char *key)
{
	struct json_object *v;

	if (!args || !json_object_object_get_ex(args, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		return 0;
	return (int)json_object_get_double(v);
}

static const char *s4n_arg_str(struct json_object *args, const char *key)
{
	struct json_object *v;

	if (!args || !json_object_object_get_ex(args, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static void s4n_add_hostfwd(struct json_object *args, struct sbuf *out)
{
	const char *proto = s4n_arg_str(args, "proto");
	const char *haddr = s4n_arg_str(args, "host_addr");
	const char *gaddr = s4n_arg_str(args, "guest_addr");
	char rule[128], h[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];
	struct error e = { 0 };
	struct s4n_fwd f = { 0 };

	if (!proto || (strncmp(proto, "tcp", 3) && strncmp(proto, "udp", 3)) ||
	    (strlen(proto) == 4 && proto[3] != '4') || strlen(proto) > 4)
		return s4n_reply_err(out, "add_hostfwd: bad arguments.proto");
	f.udp = !strncmp(proto, "udp", 3);
	if (!haddr || !haddr[0] || !strcmp(haddr, "::") || !strcmp(haddr, "::0"))
		haddr = "0.0.0.0";
	else if (!strchr(haddr, '.') && strchr(haddr, ':'))
		return s4n_reply_err(out, "add_hostfwd: bad arguments.host_addr");
	f.hport = s4n_arg_int(args, "host_port");
	if (f.hport <= 0 || f.hport > 65535)
		return s4n_reply_err(out, "add_hostfwd: bad arguments.host_port");
	f.gport = s4n_arg_int(args, "guest_port");
	if (f.gport <= 0 || f.gport > 65535)
		return s4n_reply_err(out, "add_hostfwd: bad arguments.guest_port");
	if (!gaddr || !gaddr[0])
		f.guest = s4n.guest;
	else if (inet_pton(AF_INET, gaddr, &f.guest) != 1)
		return s4n_reply_err(out, "add_hostfwd: bad arguments.guest_addr");
	if (inet_pton(AF_INET, haddr, &f.host) != 1)
		return s4n_reply_err(out, "add_hostfwd: bad arguments.host_addr");
	if (s4n.n_fwds == S4N_FWD_MAX)
		return s4n_reply_err(out, "add_hostfwd: too many forwards");
	inet_ntop(AF_INET, &f.host, h, sizeof(h));
	inet_ntop(AF_INET, &f.guest, g, sizeof(g));
	snprintf(rule, sizeof(rule), "%s:%s:%d-%s:%d", f.udp ? "udp" : "tcp", h, f.hport, g,
		 f.gport);
	if (fwd_hostfwd_add(s4n.stack, rule, &e) < 0) {
		info("api: add_hostfwd %s: %s", rule, e.msg);
		return s4n_reply_err(out, "add_hostfwd: slirp_add_hostfwd failed");
	}
	f.id = s4n.next_id++;
	s4n.fwds[s4n.n_fwds++] = f;
	sbuf_printf(out, "{\"return\":{\"id\":%d}}", f.id);
}

static void s4n_list_hostfwd(struct sbuf *out)
{
	sbuf_printf(out, "{\"entries\":[");
	for (int i = 0; i < s4n.n_fwds; i++) {
		const struct s4n_fwd *f = &s4n.fwds[i];
		char h[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &f->host, h, sizeof(h));
		inet_ntop(AF_INET, &f->guest, g, sizeof(g));
		sbuf_printf(out, "%s{\"id\":%d,\"proto\":\"%s\",\"host_addr\":\"%s\","
			    "\"host_port\":%d,\"guest_addr\":\"%s\",\"guest_port\":%d}",
			    i ? "," : "", f->id, f->udp ? "udp" : "tcp", h, f->hport, g, f->gport);
	}
	sbuf_printf(out, "]}");
}

static void s4n_remove_hostfwd(struct json_object *args, struct sbuf *out)
{
	int id = s4n_arg_int(args, "id");
	struct sbuf msg = { 0 };
	char spec[64], h[INET_ADDRSTRLEN];
	int i, r;

	for (i = 0; i < s4n.n_fwds && s4n.fwds[i].id != id; i++)
		;
	if (i == s4n.n_fwds)
		return s4n_reply_err(out, "remove_hostfwd: bad arguments.id");
	inet_ntop(AF_INET, &s4n.fwds[i].host, h, sizeof(h));
	snprintf(spec, sizeof(spec), "%s:%s:%d", s4n.fwds[i].udp ? "udp" : "tcp", h,
		 s4n.fwds[i].hport);
	r = fwd_hostfwd_remove(s4n.stack, spec, &msg);
	sbuf_free(&msg);
	if (r < 0)
		return s4n_reply_err(out, "remove_hostfwd: slirp_remove_hostfwd failed");
	memmove(&s4n.fwds[i], &s4n.fwds[i + 1], (size_t)(s4n.n_fwds - i - 1) * sizeof(s4n.fwds[0]));
	s4n.n_fwds--;
	sbuf_printf(out, "{\"return\":{}}");
}

/* s4n_api_request() - one request (NUL-terminated), its reply into @out */
static void s4n_api_request(const char *req, size_t len, struct sbuf *out)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *jv, *ex, *args = NULL;
	const char *execute;

	jv = tok ? json_tokener_parse_ex(tok, req, (int)len) : NULL;
	/* the whole message must be one JSON text (whitespace around it is fine) */
	if (jv && tok && req[strspn(req + json_tokener_get_parse_end(tok), " \t\r\n") +
			    json_tokener_get_parse_end(tok)]) {
		json_object_put(jv);
		jv = NULL;
	}
	if (tok)
		json_tokener_free(tok);
	if (!jv) {
		s4n_reply_err(out, "cannot parse JSON");
		return;
	}
	if (!json_object_is_type(jv, json_type_object)) {
		s4n_reply_err(out, "json_object() failed");
	} else if (!json_object_object_get_ex(jv, "execute", &ex) ||
		   !json_object_is_type(ex, json_type_string)) {
		s4n_reply_err(out, "no execute found");
	} else {
		execute = json_object_get_string(ex);
		if (json_object_object_get_ex(jv, "arguments", &args) &&
		    !json_object_is_type(args, json_type_object))
			args = NULL;
		if (!strcmp(execute, "add_hostfwd"))
			s4n_add_hostfwd(args, out);
		else if (!strcmp(execute, "list_hostfwd"))
			s4n_list_hostfwd(out);
		else if (!strcmp(execute, "remove_hostfwd"))
			s4n_remove_hostfwd(args, out);
		else
			s4n_reply_err(out, "unknown execute");
	}
	json_object_put(jv);
}

void slirp4netns_api_request(struct user_stack *s, const char *req, size_t len,
			     struct sbuf *out)
{
	if (s4n.stack != s) {
		s4n.stack = s;
		s4n.network.s_addr = s->cfg.net.s_addr;
		s4n.netmask.s_addr = s->cfg.mask.s_addr;
		s4n.guest.s_addr = htonl(ntohl(s->cfg.net.s_addr) + 100);
		s4n.n_fwds = 0;
		s4n.next_id = 1;
	}
	s4n_api_request(req, len, out);
}

static void s4n_client_close(struct s4n_client *c)
{
	int fd = c->lfd.fd;

	loop_timer_cancel(&c->timer);
	loop_fd_del(&c->lfd);
	shutdown(fd, SHUT_RDWR);
	close(fd);
	c->lfd.fd = -1;
	c->len = 0;
}

/* s4n_client_answer() - handle what arrived, write the reply (best effort), close */
static void s4n_client_answer(struct s4n_client *c, bool too_large)
{
	struct sbuf out = { 0 };
	const char *p;
	size_t left;

	if (too_large) {
		warn_report("api: too large message (>= %d bytes)", S4N_API_BUF);
		s4n_reply_err(&out, "too large message");
	} else {
		c->buf[c->len] = 0;
		s4n_api_request(c->buf, c->len, &out);
	}
	p = sbuf_str(&out);
	left = strlen(p);
	while (left) {
		ssize_t n = send(c->lfd.fd, p, left, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n <= 0)
			break;
		p += n;
		left -= (size_t)n;
	}
	sbuf_free(&out);
	s4n_client_close(c);
}

/* s4n_complete() - the buffer holds one whole JSON value (clients may keep the socket open) */
static bool s4n_complete(const struct s4n_client *c)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *jv;
	bool done;

	if (!tok)
		return true;
	jv = json_tokener_parse_ex(tok, c->buf, (int)c->len);
	done = jv || json_tokener_get_error(tok) != json_tokener_continue;
	json_object_put(jv);
	json_tokener_free(tok);
	return done;
}

static void s4n_client_event(struct loop_fd *h, uint32_t events)
{
	struct s4n_client *c = container_of(h, struct s4n_client, lfd);
	ssize_t n;

	do
		n = recv(h->fd, c->buf + c->len, S4N_API_BUF - c->len, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n < 0) {
		s4n_client_close(c);
		return;
	}
	c->len += (size_t)n;
	if (c->len >= S4N_API_BUF) {
		s4n_client_answer(c, true);
		return;
	}
	if (n == 0 || s4n_complete(c))
		s4n_client_answer(c, false);
}

static void s4n_client_timeout(struct loop_timer *t)
{
	struct s4n_client *c = t->opaque;

	s4n_client_answer(c, false);
}

static void s4n_api_accept(struct loop_fd *h, uint32_t events)
{
	for (int k = 0; k < S4N_API_CLIENTS; k++) {
		struct s4n_client *c = NULL;
		int fd = accept4(h->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0)
			return;
		for (int i = 0; i < S4N_API_CLIENTS && !c; i++)
			if (s4n.clients[i].lfd.fd < 0)
				c = &s4n.clients[i];
		if (!c) {
			warn_report("api: too many connections, refusing one");
			close(fd);
			continue;
		}
		c->len = 0;
		if (loop_fd_add(&c->lfd, fd, EPOLLIN, s4n_client_event, c) < 0) {
			close(fd);
			c->lfd.fd = -1;
			continue;
		}
		loop_timer_init(&c->timer, s4n_client_timeout, c);
		loop_timer_arm(&c->timer, S4N_API_TIMEOUT_MS);
	}
}

static int s4n_api_listen(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	unlink(path);	/* as slirp4netns: avoid EADDRINUSE */
	if (strlen(path) >= sizeof(a.sun_path)) {
		fprintf(stderr, "the specified API socket path is too long (>= %zu)\n",
			sizeof(a.sun_path));
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		perror("api_bindlisten: socket");
		return -1;
	}
	memcpy(a.sun_path, path, strlen(path));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("api_bindlisten: bind");
		close(fd);
		return -1;
	}
	if (listen(fd, 16) < 0) {
		perror("api_bindlisten: listen");
		close(fd);
		return -1;
	}
	if (loop_fd_add(&s4n.api, fd, EPOLLIN, s4n_api_accept, NULL) < 0) {
		close(fd);
		return -1;
	}
	return 0;
}

/* ---- --disable-host-loopback ----------------------------------------------------------------- */

/*
 * The user stack sends what the namespace addresses to the gateway (and UDP
 * broadcasts) to the host's 127.0.0.1, as libslirp does. With
 * --disable-host-loopback two relay clients sit between the tap and the user
 * netdev and drop (and count) the namespace's TCP and UDP towards the
 * gateway address... precisely: TCP SYNs (without ACK) from the namespace to
 * the gateway address are dropped, so the namespace cannot open connections
 * to the host's loopback services, while hostfwd connections (which reach
 * the namespace from the gateway address) keep working. libslirp refuses
 * the connection at once; here the SYN is dropped, so the client times out.
 * Not covered yet: UDP to the gateway or broadcast (the stack still relays
 * it to 127.0.0.1), which needs the stack's own option.
 */
struct s4n_relay {
	struct net_client nc;
	struct net_client *other;	/* the relay on the other side */
	bool from_tap;			/* frames it receives come from the namespace */
	uint64_t dropped;
};

/* s4n_loopback_bound() - the frame is TCP/UDP from the namespace towards the host's loopback */
static bool s4n_loopback_bound(const struct iovec *iov, int iovcnt)
{
	uint8_t f[14 + 60 + 4];
	size_t n = 0, ihl;
	uint32_t dst, host = ntohl(s4n.vhost.s_addr);

	for (int i = 0; i < iovcnt && n < sizeof(f); i++) {
		size_t c = iov[i].iov_len < sizeof(f) - n ? iov[i].iov_len : sizeof(f) - n;

		memcpy(f + n, iov[i].iov_base, c);
		n += c;
	}
	if (n < 14 + 20 || f[12] != 0x08 || f[13] != 0x00 || (f[14] >> 4) != 4)
		return false;
	ihl = (size_t)(f[14] & 0x0f) * 4;
	if (ihl < 20 || f[23] != IPPROTO_TCP || n < 14 + ihl + 14)
		return false;
	dst = (uint32_t)f[30] << 24 | (uint32_t)f[31] << 16 | (uint32_t)f[32] << 8 | f[33];
	/* a connection the namespace opens: SYN without ACK (hostfwd replies carry ACK) */
	return dst == host && (f[14 + ihl + 13] & 0x12) == 0x02;
}

static ssize_t s4n_relay_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
				 const struct net_meta *meta)
{
	struct s4n_relay *r = container_of(nc, struct s4n_relay, nc);
	ssize_t ret;

	if (r->from_tap && s4n_loopback_bound(iov, iovcnt)) {
		r->dropped++;
		return -1;	/* counted by the core too */
	}
	ret = net_send(r->other, iov, iovcnt, NULL);
	return ret == 0 ? 1 : ret;	/* 0: copied into the peer's queue */
}

static const struct net_client_ops s4n_relay_ops = {
	.driver = NET_DRIVER_NONE,
	.size = sizeof(struct s4n_relay),
	.receive = s4n_relay_receive,
};

/* s4n_relays() - two linked relays; *@to_tap faces the tap, *@to_user the user netdev */
static void s4n_relays(struct net_client **to_tap, struct net_client **to_user)
{
	struct s4n_relay *a, *b;

	a = container_of(net_client_new(&s4n_relay_ops, NULL, "relay", "s4n-guard-tap"),
			 struct s4n_relay, nc);
	b = container_of(net_client_new(&s4n_relay_ops, NULL, "relay", "s4n-guard-user"),
			 struct s4n_relay, nc);
	a->other = &b->nc;
	a->from_tap = true;
	b->other = &a->nc;
	net_set_info_str(&a->nc, "disable-host-loopback");
	net_set_info_str(&b->nc, "disable-host-loopback");
	*to_tap = &a->nc;
	*to_user = &b->nc;
}

/* ---- the parent ------------------------------------------------------------------------------ */

static void s4n_on_exitfd(struct loop_fd *h, uint32_t events)
{
	info("exit-fd event");
	loop_fd_del(h);
	loop_quit(0);
}

static void s4n_on_signal(int signo, void *opaque)
{
	info("terminating on signal %d", signo);
	loop_quit(0);
}

static void s4n_cleanup(void)
{
	for (int i = 0; i < S4N_API_CLIENTS; i++)
		if (s4n.clients[i].lfd.fd >= 0)
			s4n_client_close(&s4n.clients[i]);
	if (s4n.api.fd >= 0) {
		int fd = s4n.api.fd;

		loop_fd_del(&s4n.api);
		close(fd);
	}
	net_cleanup_all();
}

/* s4n_stack() - the user netdev (slirp4netns's config) and the tap netdev on @tapfd */
static int s4n_stack(const struct s4n_opts *o, int tapfd)
{
	char net[64], mtu[24], fdstr[16], a[INET_ADDRSTRLEN], m[INET_ADDRSTRLEN];
	struct net_client *user, *tap, *to_tap = NULL, *to_user = NULL;
	struct error e = { 0 };
	struct opts uo = { 0 }, to = { 0 };

	inet_ntop(AF_INET, &s4n.network, a, sizeof(a));
	inet_ntop(AF_INET, &s4n.netmask, m, sizeof(m));
	snprintf(net, sizeof(net), "%s/%s", a, m);
	snprintf(mtu, sizeof(mtu), "%ld", o->mtu > 65520 ? 65520L : o->mtu);
	opts_add(&uo, "type", "user");
	opts_add(&uo, "id", "slirp4netns");
	opts_add(&uo, "net", net);
	opts_add(&uo, "mtu", mtu);
	if (o->disable_host_loopback)
		s4n_relays(&to_tap, &to_user);
	user = netdev_create(&uo, true, to_user, &e);
	opts_free(&uo);
	if (!user) {
		fprintf(stderr, "qnet: -netdev user: %s\n", e.msg);
		return -1;
	}
	s4n.stack = user_of(user);
	snprintf(fdstr, sizeof(fdstr), "%d", tapfd);
	opts_add(&to, "type", "tap");
	opts_add(&to, "id", "tap");
	opts_add(&to, "fd", fdstr);
	tap = netdev_create(&to, true, to_tap ? to_tap : user, &e);
	opts_free(&to);
	if (!tap) {
		fprintf(stderr, "qnet: tap: %s\n", e.msg);
		return -1;
	}
	return 0;
}

int slirp4netns_main(int argc, char **argv)
{
	struct s4n_opts o;
	uint8_t mac[6];
	int sv[2], st, tapfd, code;
	pid_t pid;

	s4n.api.fd = s4n.exitfd.fd = -1;
	for (int i = 0; i < S4N_API_CLIENTS; i++)
		s4n.clients[i].lfd.fd = -1;
	s4n.next_id = 1;
	s4n_parse(argc, argv, &o);
	if (o.target_type && strcmp(o.target_type, "netns")) {
		fprintf(stderr, "qnet: --target-type=%s is not supported (netns only)\n",
			o.target_type);
		return EXIT_FAILURE;
	}
	if (s4n_cidr(o.cidr ? o.cidr : S4N_DEFAULT_CIDR) < 0)
		return EXIT_FAILURE;
	if (o.outbound_addr || o.outbound_addr6) {
		fprintf(stderr, "qnet: --outbound-addr and --outbound-addr6 are not supported\n");
		return EXIT_FAILURE;
	}
	if (o.macaddress && s4n_mac(o.macaddress, mac) < 0)
		return EXIT_FAILURE;
	if (o.disable_dns)
		warn_report("--disable-dns: not enforced by qnet's user stack yet");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("socketpair");
		return EXIT_FAILURE;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return EXIT_FAILURE;
	}
	if (pid == 0) {
		close(sv[0]);
		s4n_child(sv[1], &o, o.macaddress ? mac : NULL);
	}
	close(sv[1]);
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			perror("waitpid");
			return EXIT_FAILURE;
		}
	}
	if (!WIFEXITED(st)) {
		fprintf(stderr, "child failed(wstatus=%d, !WIFEXITED)\n", st);
		return EXIT_FAILURE;
	}
	if (WEXITSTATUS(st)) {
		fprintf(stderr, "child failed(%d)\n", WEXITSTATUS(st));
		return WEXITSTATUS(st);
	}
	tapfd = s4n_recvfd(sv[0]);
	close(sv[0]);
	if (tapfd < 0) {
		fprintf(stderr, "parent failed\n");
		return EXIT_FAILURE;
	}
	fprintf(stderr, "received tapfd=%d\n", tapfd);
	if (s4n_stack(&o, tapfd) < 0 || (o.api_socket && s4n_api_listen(o.api_socket) < 0)) {
		s4n_cleanup();
		fprintf(stderr, "parent failed\n");
		return EXIT_FAILURE;
	}
	if (o.exit_fd >= 0 &&
	    loop_fd_add(&s4n.exitfd, o.exit_fd, EPOLLIN | EPOLLHUP, s4n_on_exitfd, NULL) < 0) {
		perror("exit-fd");
		s4n_cleanup();
		return EXIT_FAILURE;
	}
	if (loop_on_signal(SIGINT, s4n_on_signal, NULL) < 0 ||
	    loop_on_signal(SIGTERM, s4n_on_signal, NULL) < 0) {
		s4n_cleanup();
		return EXIT_FAILURE;
	}
	if (o.enable_sandbox || o.enable_seccomp) {
		/* qnet's -sandbox on: stricter than slirp4netns's (no capability kept) */
		struct sandbox_cfg sc = { .on = true };
		struct error e = { 0 };

		if (sandbox_apply(&sc, &e) < 0) {
			fprintf(stderr, "%s\n", e.msg);
			s4n_cleanup();
			return EXIT_FAILURE;
		}
	}
	if (o.ready_fd >= 0) {
		ssize_t n;

		do
			n = write(o.ready_fd, "1", 1);
		while (n < 0 && errno == EINTR);
		close(o.ready_fd);
	}
	code = loop_run();
	s4n_cleanup();
	return code;
}
