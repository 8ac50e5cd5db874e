/* SPDX-License-Identifier: MIT */
/* sandbox.h - -sandbox on: what qnet gives up once it is set up */
#ifndef QNET_SANDBOX_H
#define QNET_SANDBOX_H

#include <stdbool.h>

#include "util.h"

/*
 * DOC: the sandbox
 * sandbox_apply() runs once, after every command-line object exists and just
 * before the loop starts. In order: no_new_privs; every capability dropped
 * (the bounding set when qnet may, the ambient set, then the effective,
 * permitted and inheritable sets: CapEff becomes 0, also for root); then a
 * seccomp filter (libseccomp) that allows the system calls of the running
 * program (sockets, epoll, timers, files, memory, signals, wait for a `--`
 * command) and kills the process on any other (execve, fork/clone, ptrace,
 * mount, setns/unshare, module and key calls, bpf...). So once sandboxed,
 * qnet can no longer run scripts (tap down-scripts at exit, guestfwd cmd:)
 * or create taps in other namespaces at run time; main.c refuses those
 * combinations up front. The filesystem is not detached yet.
 * @x_violate (a hidden test option, x-violate=on) makes qnet call unshare(0)
 * 200 ms after set-up, which the filter must punish with SIGSYS.
 */

/**
 * struct sandbox_cfg - the parsed -sandbox option
 * @on:		-sandbox on
 * @x_violate:	test builds: commit a forbidden system call after set-up
 */
struct sandbox_cfg {
	bool on;
	bool x_violate;
};

/* sandbox_apply() - drop capabilities and install the filter; 0 or -1 with @e set */
int sandbox_apply(const struct sandbox_cfg *c, struct error *e);

#endif /* QNET_SANDBOX_H */
