/* SPDX-License-Identifier: MIT */
/* slirp4netns.h - qnet invoked as "slirp4netns" (a symlink or a copy under that name) */
#ifndef QNET_SLIRP4NETNS_H
#define QNET_SLIRP4NETNS_H

/*
 * DOC: slirp4netns compatibility
 * When argv[0]'s last component is "slirp4netns", main() hands over to
 * slirp4netns_main(): slirp4netns 1.2's options (getopt_long, the same
 * short and long names, its texts on stdout/stderr and exit status 1 with
 * the usage on errors), its defaults (10.0.2.0/24: gateway .2, DNS .3, the
 * namespace's address .100 with -c, MTU 1500) and its process model: a
 * child joins the target's user namespace (--userns-path or
 * /proc/PID/ns/user) and network namespace (PID, or --netns-type=path
 * PATH), creates the tap TAPNAME, configures it with -c (address, netmask,
 * MTU, --macaddress, default route) and passes the fd back; "child
 * failed(N)" if it cannot. The parent runs a `-netdev user` (net=CIDR,
 * mtu=) linked to a tap netdev on that fd, writes "1" to --ready-fd, stops
 * when --exit-fd becomes readable or hangs up (or on SIGINT/SIGTERM) and
 * serves the JSON API on -a PATH: one request per connection (at most
 * 4095 bytes, "too large message" beyond, without reading further),
 * add_hostfwd / list_hostfwd / remove_hostfwd with slirp4netns's reply
 * shapes and error descriptions, bounded connections with a timeout.
 * --enable-sandbox or --enable-seccomp: qnet's -sandbox on once set up
 * (no_new_privs, every capability dropped, its seccomp allow-list; no mount
 * namespace). --disable-host-loopback: relays between the tap and the user
 * netdev drop the namespace's TCP SYNs towards the gateway address (the
 * stack's way to the host's 127.0.0.1; UDP is not covered yet). Accepted but not
 * (yet) enforced: --enable-ipv6, --disable-dns (warned about where it matters);
 * refused: --outbound-addr(6), --target-type=bess.
 */

#include <stddef.h>

#include "../core/util.h"

struct user_stack;

/* slirp4netns_main() - the whole program in slirp4netns mode; returns the exit status */
int slirp4netns_main(int argc, char **argv);

/**
 * slirp4netns_api_request() - one API request against @s (tests and fuzzing; the program
 * uses it through the socket): @req NUL-terminated, @len its length; the reply goes to @out.
 * A new @s starts an empty forward table (ids from 1; network from @s's net=, guest .100).
 */
void slirp4netns_api_request(struct user_stack *s, const char *req, size_t len,
			     struct sbuf *out);

#endif /* QNET_SLIRP4NETNS_H */
