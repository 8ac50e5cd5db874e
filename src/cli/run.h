/* SPDX-License-Identifier: MIT */
/* run.h - `qnet [options] -- CMD [ARGS]`: CMD in its own user, network and mount namespace */
#ifndef QNET_RUN_H
#define QNET_RUN_H

#include <stdbool.h>

#include "../core/util.h"

/*
 * DOC: qnet -- CMD
 * run_spawn() forks CMD's process early, before qnet opens anything, so that
 * CMD inherits none of qnet's sockets. That child unshares a user, network
 * and mount namespace and waits; the parent (qnet) writes its uid/gid maps
 * (root: the identity map of every id; a normal user: its own uid and gid
 * as 0, setgroups denied), then, once the netdevs exist, run_attach() picks
 * the first `-netdev user` that has no peer (or creates "user0" with the
 * defaults), sends its addresses to the child and gets back the tap fd the
 * child made inside: eth0 with the guest address (the stack's DHCP start,
 * 10.0.2.15 by default), its netmask, mtu= of the stack, a default route via
 * the stack's host address, lo up, and a private /etc/resolv.conf naming the
 * stack's DNS address, bind-mounted over the host's in the mount namespace
 * only (the host file is never written). qnet makes a tap netdev (id "run0")
 * of that fd, linked to the user netdev, and lets the child exec CMD.
 * Everything is configured with ioctls, no `ip` program. When CMD exits, qnet
 * exits with its status (128 + the signal if it was killed); SIGINT, SIGTERM
 * and SIGHUP sent to qnet are passed on to CMD. CMD gets SIGKILL if qnet dies.
 */

/* run_spawn() - fork the child for @argv (NULL-terminated, argv[0] looked up in PATH) */
int run_spawn(char **argv, struct error *e);
/* run_attach() - after the netdevs are created: eth0 on a user netdev, then CMD starts */
int run_attach(struct error *e);
/* run_active() - a child was spawned and has not been reaped */
bool run_active(void);
/* run_forward_signal() - pass @signo on to CMD */
void run_forward_signal(int signo);

#endif /* QNET_RUN_H */
