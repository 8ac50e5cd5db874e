// SPDX-License-Identifier: MIT
/* fuzz_hostfwd.c - libFuzzer target: hostfwd/guestfwd rule strings through netdev_create */
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/netdev.h"
#include "cli/opts.h"
#include "core/loop.h"
#include "core/net.h"

/*
 * Input: up to 4 lines; a line starting with 'g' is a guestfwd= rule, anything else a hostfwd=
 * rule (its first byte is dropped). They become the options of "user,id=fzN,restrict=off" passed
 * to netdev_create(), which parses them and binds the host sockets; the netdev is deleted again.
 *
 * Safety (the rules come from the fuzzer, they must not reach beyond this process):
 * - an input containing "cmd:" (any case) is rejected before parsing: no command is spawned;
 *   fork() is also replaced here and aborts, should one get through anyway;
 * - bind() is replaced: IPv4 binds go to 127.0.0.1 port 0, IPv6 to ::1 port 0, unix binds to a
 *   socket in this process's own temporary directory;
 * - connect() is replaced: IPv4 goes to 127.0.0.1, IPv6 to ::1, unix fails;
 * - unlink() is replaced: only paths in the temporary directory are removed;
 * - getaddrinfo() is replaced: numeric hosts only (no DNS query ever leaves).
 * The parsers see the rule unchanged; only the system calls are redirected.
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fz_dir[64];
static unsigned fz_seq;

static int fz_in_dir(const char *path)
{
	size_t n = strlen(fz_dir);

	return n && !strncmp(path, fz_dir, n) && path[n] == '/' && !strstr(path + n, "..");
}

int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (len > sizeof(ss))
		len = sizeof(ss);
	memcpy(&ss, sa, len);
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin->sin_port = 0;
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_addr = in6addr_loopback;
		sin6->sin6_port = 0;
	} else if (ss.ss_family == AF_UNIX) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss;

		snprintf(sun->sun_path, sizeof(sun->sun_path), "%s/s%u", fz_dir, fz_seq++ % 8);
		syscall(SYS_unlink, sun->sun_path);
		len = sizeof(*sun);
	} else {
		errno = EAFNOSUPPORT;
		return -1;
	}
	return (int)syscall(SYS_bind, fd, &ss, len);
}

int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (len > sizeof(ss))
		len = sizeof(ss);
	memcpy(&ss, sa, len);
	if (ss.ss_family == AF_INET) {
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else if (ss.ss_family == AF_INET6) {
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	} else {
		errno = ECONNREFUSED;
		return -1;
	}
	return (int)syscall(SYS_connect, fd, &ss, len);
}

int unlink(const char *path)
{
	if (!fz_in_dir(path)) {
		errno = EPERM;
		return -1;
	}
	return (int)syscall(SYS_unlink, path);
}

pid_t fork(void)
{
	fprintf(stderr, "fuzz_hostfwd: fork() called: a command would have been spawned\n");
	abort();
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	static int (*real)(const char *, const char *, const struct addrinfo *,
			   struct addrinfo **);
	struct addrinfo h = { 0 };

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "getaddrinfo");
	if (!real)
		return EAI_FAIL;
	if (hints)
		h = *hints;
	h.ai_flags |= AI_NUMERICHOST | AI_NUMERICSERV;
	return real(node, service, &h, res);
}

static void fz_cleanup(void)
{
	for (unsigned i = 0; i < 8; i++) {
		char p[128];

		snprintf(p, sizeof(p), "%s/s%u", fz_dir, i);
		syscall(SYS_unlink, p);
	}
	rmdir(fz_dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned n;
	char buf[1024], id[32], *line, *save = NULL;
	struct opts o = { 0 };
	struct error e = { 0 };
	struct net_client *nc;
	int rules = 0;

	if (!fz_dir[0]) {
		snprintf(fz_dir, sizeof(fz_dir), "/tmp/qnet-fuzz-hf-%d", (int)getpid());
		if (mkdir(fz_dir, 0700) < 0 && errno != EEXIST)
			abort();
		atexit(fz_cleanup);
		loop_init();
	}
	if (size >= sizeof(buf) || memchr(data, 0, size))
		return 0;
	memcpy(buf, data, size);
	buf[size] = 0;
	for (size_t i = 0; i + 4 <= size; i++)
		if (!strncasecmp(buf + i, "cmd:", 4))
			return 0;
	snprintf(id, sizeof(id), "fz%u", n++ % 4);
	opts_add(&o, "type", "user");
	opts_add(&o, "id", id);
	for (line = strtok_r(buf, "\n", &save); line && rules < 4;
	     line = strtok_r(NULL, "\n", &save), rules++)
		opts_add(&o, line[0] == 'g' ? "guestfwd" : "hostfwd", line + 1);
	nc = netdev_create(&o, true, NULL, &e);
	opts_free(&o);
	if (nc)
		net_client_free(nc);
	else if (!e.set || !e.msg[0])
		abort();	/* a failure must say why */
	return 0;
}
