// SPDX-License-Identifier: MIT
// sandbox.c - -sandbox on: no_new_privs, no capabilities, a seccomp allow-list (DOC in sandbox.h)

#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <seccomp.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "sandbox.h"

/* What the running program does; everything else kills it */
static const char *const sandbox_allowed[] = {
	/* I/O on fds it has or makes */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "recvfrom", "sendto",
	"recvmsg", "sendmsg", "recvmmsg", "sendmmsg", "close", "close_range", "dup", "dup2",
	"dup3", "pipe", "pipe2", "fcntl", "ioctl", "lseek", "ftruncate", "fsync", "fdatasync",
	/* sockets */
	"socket", "socketpair", "connect", "bind", "listen", "accept", "accept4", "getsockopt",
	"setsockopt", "getsockname", "getpeername", "shutdown",
	/* the loop */
	"epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl", "epoll_create", "epoll_create1",
	"poll", "ppoll", "select", "pselect6", "eventfd2", "timerfd_create", "timerfd_settime",
	"timerfd_gettime", "clock_gettime", "clock_getres", "gettimeofday", "time", "nanosleep",
	"clock_nanosleep",
	/* files: resolv.conf re-reads, pcap files, unix socket paths, the pid file at exit */
	"open", "openat", "stat", "fstat", "lstat", "newfstatat", "statx", "access", "faccessat",
	"faccessat2", "readlink", "readlinkat", "getdents64", "unlink", "unlinkat", "getcwd",
	/* memory */
	"brk", "mmap", "munmap", "mremap", "madvise", "mprotect",
	/* signals, a `--` command, exit */
	"rt_sigreturn", "rt_sigaction", "rt_sigprocmask", "sigaltstack", "restart_syscall",
	"kill", "tgkill", "wait4", "waitid", "exit", "exit_group",
	/* process facts libc asks for */
	"getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid", "getrandom",
	"uname", "sysinfo", "prlimit64", "getrlimit", "futex", "sched_yield",
	"sched_getaffinity", "set_robust_list", "rseq",
};

/* sandbox_caps() - empty every capability set qnet may change */
static int sandbox_caps(struct error *e)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	/* the bounding set needs CAP_SETPCAP: a normal user has nothing to drop there */
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EPERM && errno != EINVAL)
			return err_set_errno(e, errno, "sandbox: dropping capability %d", cap);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return err_set_errno(e, errno, "sandbox: clearing the ambient capabilities");
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) < 0)
		return err_set_errno(e, errno, "sandbox: capset");
	return 0;
}

static int sandbox_seccomp(struct error *e)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int r;

	if (!ctx)
		return err_set(e, "sandbox: seccomp_init failed");
	for (size_t i = 0; i < ARRAY_SIZE(sandbox_allowed); i++) {
		int nr = seccomp_syscall_resolve_name(sandbox_allowed[i]);

		if (nr == __NR_SCMP_ERROR)
			continue;	/* not on this architecture */
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (r < 0) {
			seccomp_release(ctx);
			return err_set_errno(e, -r, "sandbox: allowing %s", sandbox_allowed[i]);
		}
	}
	r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return err_set_errno(e, -r, "sandbox: loading the seccomp filter");
	return 0;
}

static struct loop_timer sandbox_violate_timer;

static void sandbox_violate(struct loop_timer *t)
{
	warn_report("sandbox: x-violate: calling unshare(0), which the filter forbids");
	if (unshare(0) == 0)
		error_report("sandbox: unshare(0) was allowed");
}

int sandbox_apply(const struct sandbox_cfg *c, struct error *e)
{
	if (!c->on)
		return 0;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_set_errno(e, errno, "sandbox: no_new_privs");
	if (sandbox_caps(e) < 0 || sandbox_seccomp(e) < 0)
		return -1;
	info("sandbox on: no capabilities, seccomp allow-list of %zu calls",
	     ARRAY_SIZE(sandbox_allowed));
	if (c->x_violate) {
		loop_timer_init(&sandbox_violate_timer, sandbox_violate, NULL);
		loop_timer_arm(&sandbox_violate_timer, 200);
	}
	return 0;
}
