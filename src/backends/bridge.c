// SPDX-License-Identifier: MIT
// bridge.c - the bridge netdev and tap's helper=: a tap on a host bridge from qemu-bridge-helper

/*
 * DOC: Theory of operation
 *
 * -netdev bridge,id=ID[,br=BR][,helper=PATH] and -netdev tap,...,helper=PATH
 * get a tap device already attached to a Linux bridge from QEMU's setuid
 * helper, with QEMU 7.2's protocol: a socketpair; a child that keeps only
 * 0/1/2 and its end and execs "HELPER --use-vnet --fd=N --br=BR" (through
 * /bin/sh -c when HELPER holds a space or a tab, appending --br= only if the
 * string has none); the tap fd comes back with one byte over SCM_RIGHTS; the
 * helper must exit 0. The helper checks its ACL file (/etc/qemu/bridge.conf:
 * "allow BR"), so a user may only join the bridges the administrator allows.
 * The fd then becomes an ordinary tap client (tap.c), of model "bridge".
 * Error texts and info_str ("helper=%s,br=%s"; tap: "helper=%s") are QEMU's.
 * One difference: a helper that exits 0 without sending an fd gives "failed
 * to recv file descriptor" (QEMU 7.2 takes fd 0 then and fails on TUNGETIFF).
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../cli/netdev.h"
#include "../core/log.h"
#include "../core/net.h"
#include "bridge.h"

/* bridge_child() - in the child: only 0, 1, 2 and @fd stay open; exec the helper */
static void bridge_child(const char *helper, const char *br, int fd)
{
	char fd_arg[32], br_arg[64], *cmd;
	long maxfd = sysconf(_SC_OPEN_MAX);

	if (fd < 3 || syscall(SYS_close_range, 3U, (unsigned)fd - 1, 0U) ||
	    syscall(SYS_close_range, (unsigned)fd + 1, ~0U, 0U)) {
		if (maxfd < 0 || maxfd > 65536)
			maxfd = 65536;
		for (long i = 3; i < maxfd; i++)
			if (i != fd)
				close((int)i);
	}
	snprintf(fd_arg, sizeof(fd_arg), "--fd=%d", fd);
	snprintf(br_arg, sizeof(br_arg), "--br=%s", br);
	if (strchr(helper, ' ') || strchr(helper, '\t')) {
		size_t n = strlen(helper) + sizeof(fd_arg) + sizeof(br_arg) + 32;

		cmd = malloc(n);
		if (!cmd)
			_exit(1);
		snprintf(cmd, n, "%s --use-vnet %s%s%s", helper, fd_arg,
			 strstr(helper, "--br=") ? "" : " ", strstr(helper, "--br=") ? "" : br_arg);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	} else {
		execl(helper, helper, "--use-vnet", fd_arg, br_arg, (char *)NULL);
	}
	_exit(1);
}

/* bridge_recv_fd() - the one fd the helper sends with one data byte; -1 if none */
static int bridge_recv_fd(int sock)
{
	char byte;
	int fd;

	if (fd_recv(sock, &byte, 1, &fd, 0) <= 0 && fd >= 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int bridge_helper_fd(const char *helper, const char *br, struct error *e)
{
	int sv[2], fd, status = 0;
	pid_t pid, w;

	if (socketpair(PF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return err_set_errno(e, errno, "socketpair() failed");
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return err_set_errno(e, errno, "Can't fork bridge helper");
	}
	if (pid == 0) {
		close(sv[0]);
		bridge_child(helper, br, sv[1]);
	}
	close(sv[1]);
	fd = bridge_recv_fd(sv[0]);
	close(sv[0]);
	do {
		w = waitpid(pid, &status, 0);
	} while (w < 0 && errno == EINTR);
	if (w != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (fd >= 0)
			close(fd);
		return err_set(e, "bridge helper failed");
	}
	if (fd < 0)
		return err_set(e, "failed to recv file descriptor");
	return fd;
}

/**
 * bridge_init() - -netdev bridge: the helper's tap as a tap client of model "bridge"
 * Return: 0 or -1 with @e set
 */
static int bridge_init(struct opts *o, const char *id, struct net_client *peer, struct error *e)
{
	const char *helper = opts_get(o, "helper"), *br = opts_get(o, "br");
	struct net_client *nc;
	int fd;

	if (!helper)
		helper = BRIDGE_DEFAULT_HELPER;
	if (!br)
		br = BRIDGE_DEFAULT_BR;
	fd = bridge_helper_fd(helper, br, e);
	if (fd < 0)
		return -1;
	nc = tap_new_fd(peer, "bridge", id, fd, e);
	if (!nc)
		return -1;
	net_set_info_str(nc, "helper=%s,br=%s", helper, br);
	return 0;
}

static const struct opt_desc bridge_opts[] = {
	{ "br", OPT_STRING, "bridge name (default " BRIDGE_DEFAULT_BR ")" },
	{ "helper", OPT_STRING, "bridge helper (default " BRIDGE_DEFAULT_HELPER ")" },
	{ NULL, OPT_STRING, NULL },
};

const struct netdev_type netdev_bridge = {
	.name = "bridge",
	.driver = NET_DRIVER_BRIDGE,
	.opts = bridge_opts,
	.modern = false,
	.legacy_ok = true,
	.init = bridge_init,
};
