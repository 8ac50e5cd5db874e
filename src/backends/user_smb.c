// SPDX-License-Identifier: MIT
// user_smb.c - smb=DIR[,smbserver=ADDR] of -netdev user: Samba's smbd per guest connection

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <time.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/log.h"
#include "user.h"

/*
 * DOC: The SMB share
 *
 * As QEMU's net/slirp.c: a private temporary directory (/tmp/qnet-smb.XXXXXX) holds an
 * smb.conf that keeps every file of smbd's (state, locks, logs, passwords) inside it, binds
 * smbd to 127.0.0.1 only, lets anyone in as guest and exports DIR as the share "qemu" (writable,
 * files owned by the user running qnet). Guest connections to ADDR:445 and ADDR:139
 * (smbserver=, default 10.0.2.4) are guestfwds to the command "smbd -l DIR -s CONF": smbd serves
 * the connection on its stdin (inetd style) over a loopback TCP pair. No smbd runs until a guest
 * connects; when the netdev goes (exit, SIGTERM, netdev_del, a failed start) the stack stops
 * every smbd it started (fwd.c), then every process still naming the private directory on its
 * command line (smbd's helpers: samba-dcerpcd and its rpcd_* workers start in sessions of
 * their own) is stopped, and the directory is removed.
 * The smbd binary is /usr/sbin/smbd, or $QNET_SMBD when set.
 */

#define USER_SMBD "/usr/sbin/smbd"

static const char *user_smbd(void)
{
	const char *p = getenv("QNET_SMBD");

	return p && *p ? p : USER_SMBD;
}

static int user_smb_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (remove(path) < 0 && errno != ENOENT)
		warn_report("could not remove '%s': %s", path, strerror(errno));
	return 0;
}

/* user_smb_signal() - send @sig to every process whose command line mentions @dir; how many */
static int user_smb_signal(const char *dir, int sig)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;
	int n = 0;

	if (!proc)
		return 0;
	while ((de = readdir(proc))) {
		char path[64], buf[4096];
		ssize_t len;
		int fd;
		long pid = strtol(de->d_name, NULL, 10);

		if (pid <= 1 || pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;	/* gone, or a zombie */
		for (ssize_t i = 0; i < len; i++)
			if (!buf[i])
				buf[i] = ' ';
		buf[len] = 0;
		if (strstr(buf, dir) && kill((pid_t)pid, sig) == 0)
			n++;
	}
	closedir(proc);
	return n;
}

void user_smb_remove(char *dir)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	if (!dir)
		return;
	/* the directory is a fresh mkdtemp() one: only processes started for it name it */
	for (int i = 0; i < 50 && user_smb_signal(dir, SIGTERM) > 0; i++)
		nanosleep(&ts, NULL);
	user_smb_signal(dir, SIGKILL);
	nftw(dir, user_smb_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

/* user_smb_conf() - write the configuration; 0 or -1 */
static int user_smb_conf(const char *path, const char *d, const char *share, const char *user)
{
	FILE *f = fopen(path, "w");
	int r;

	if (!f)
		return -1;
	fprintf(f, "# qnet: the private smbd configuration of one -netdev user,smb=\n"
		   "[global]\n"
		   "interfaces = 127.0.0.1\n"
		   "bind interfaces only = yes\n"
		   "private dir = %s\n"
		   "pid directory = %s\n"
		   "lock directory = %s\n"
		   "state directory = %s\n"
		   "cache directory = %s\n"
		   "ncalrpc dir = %s/ncalrpc\n"
		   "log file = %s/log.smbd\n"
		   "smb passwd file = %s/smbpasswd\n"
		   "security = user\n"
		   "map to guest = Bad User\n"
		   "load printers = no\n"
		   "printing = bsd\n"
		   "disable spoolss = yes\n"
		   "usershare max shares = 0\n"
		   "[qemu]\n"
		   "path = %s\n"
		   "read only = no\n"
		   "guest ok = yes\n"
		   "force user = %s\n",
		d, d, d, d, d, d, d, d, share, user);
	r = ferror(f) ? -1 : 0;
	if (fclose(f) != 0)
		r = -1;
	return r;
}

int user_smb_check_addr(struct opts *o, struct error *e)
{
	const char *a = opts_get(o, "smbserver");
	struct in_addr x;

	if (a && !inet_aton(a, &x))
		return err_set(e, "Failed to parse SMB address");
	return 0;
}

int user_smb_start(struct user_stack *s, struct opts *o, char **dirp, struct error *e)
{
	const char *share = opts_get(o, "smb"), *srv = opts_get(o, "smbserver"), *smbd = user_smbd();
	struct passwd *pw;
	char tmpl[] = "/tmp/qnet-smb.XXXXXX", conf[64], rule[1024], addr[INET_ADDRSTRLEN];
	struct in_addr a = s->cfg.guestfwd_default;
	struct error fe = { 0 };
	char *dir;

	*dirp = NULL;
	if (!share)
		return 0;
	if (srv)
		inet_aton(srv, &a);	/* checked by user_smb_check_addr() */
	pw = getpwuid(geteuid());
	if (!pw)
		return err_set(e, "Failed to retrieve user name");
	if (access(smbd, F_OK) < 0)
		return err_set(e, "Could not find '%s', please install it", smbd);
	if (access(share, R_OK | X_OK) < 0)
		return err_set(e, "Error accessing shared directory '%s': %s", share, strerror(errno));
	dir = mkdtemp(tmpl);
	if (!dir)
		return err_set(e, "Could not create samba server dir '%s'", tmpl);
	*dirp = xstrdup(dir);
	snprintf(conf, sizeof(conf), "%s/smb.conf", dir);
	if (user_smb_conf(conf, dir, share, pw->pw_name) < 0)
		return err_set(e, "Could not create samba server configuration file '%s'", conf);
	inet_ntop(AF_INET, &a, addr, sizeof(addr));
	for (int port = 445; port; port = port == 445 ? 139 : 0) {
		if ((size_t)snprintf(rule, sizeof(rule), "tcp:%s:%d-cmd:%s -l %s -s %s", addr, port,
				     smbd, dir, conf) >= sizeof(rule) ||
		    fwd_guestfwd_add(s, rule, &fe) < 0)
			return err_set(e, "Conflicting/invalid smbserver address");
	}
	return 0;
}
