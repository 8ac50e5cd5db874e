/* SPDX-License-Identifier: MIT */
/* fwd.h - hostfwd (host -> guest) and guestfwd (guest -> host service) rules */
#ifndef QNET_FWD_H
#define QNET_FWD_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "env.h"
#include "../core/util.h"

struct user_stack;

/**
 * struct hostfwd - one hostfwd rule and its host socket
 * @udp:	udp: (else tcp)
 * @haddr:	host address bound (INADDR_ANY if empty), network order
 * @hport:	host port (host order); the bound port if 0 was asked
 * @gaddr:	guest address (network order); 0 = the first DHCP lease, resolved per connection
 * @gport:	guest port (host order)
 * @unix_path:	unix: host socket path (then @haddr/@hport unused), or NULL
 * @rule:	the rule as given
 * @fd:		listening (tcp) or bound (udp) socket
 * @h:		its loop handle
 * @s:		the stack
 * @next:	list
 */
struct hostfwd {
	bool udp;
	struct in_addr haddr;
	uint16_t hport;
	struct in_addr gaddr;
	uint16_t gport;
	char *unix_path;
	char *rule;
	int fd;
	struct stack_fd h;
	struct user_stack *s;
	struct hostfwd *next;
};

enum guestfwd_kind { GUESTFWD_CMD, GUESTFWD_TCP, GUESTFWD_UNIX, GUESTFWD_FN };

/* guestfwd_open_fn - GUESTFWD_FN: the host end of one guest connection, an fd (ours) or -errno */
typedef int guestfwd_open_fn(void *opaque);

/**
 * struct guestfwd - a guest-side address:port served by a command or a host socket
 * @addr, @port:	where the guest connects (network order / host order)
 * @kind:		cmd: a command per connection (stdin/stdout = the connection);
 *			tcp:/unix: a host socket opened per connection;
 *			fn: @open() gives the fd per connection (embedders, libslirp.so)
 * @cmd:		the command (GUESTFWD_CMD)
 * @target:		host address (GUESTFWD_TCP, GUESTFWD_UNIX)
 * @open, @open_opaque:	GUESTFWD_FN
 * @rule:		the rule as given
 * @next:		list
 */
struct guestfwd {
	struct in_addr addr;
	uint16_t port;
	enum guestfwd_kind kind;
	char *cmd;
	struct sockaddr_storage target;
	socklen_t target_len;
	guestfwd_open_fn *open;
	void *open_opaque;
	char *rule;
	struct guestfwd *next;
};

#define FWD_SPAWN_MAX 256	/* cmd: processes alive at once (each its own process group) */

/**
 * struct fwd_state - the rules, and the process groups of the commands they started
 * @spawned:	process group ids (0: free slot) of cmd: commands, stopped by fwd_fini()
 * @spawned_start: each one's start time (/proc/PID/stat field 22), so a reused pid is left alone
 */
struct fwd_state {
	struct hostfwd *hostfwd;
	struct guestfwd *guestfwd;
	pid_t spawned[FWD_SPAWN_MAX];
	unsigned long long spawned_start[FWD_SPAWN_MAX];
};

/* fwd_hostfwd_add() - parse (QEMU's syntax and texts), bind, listen; 0 or -1 */
int fwd_hostfwd_add(struct user_stack *s, const char *rule, struct error *e);
/* fwd_hostfwd_remove() - HMP hostfwd_remove: "[tcp|udp]:[hostaddr]:hostport"; prints QEMU's message */
int fwd_hostfwd_remove(struct user_stack *s, const char *spec, struct sbuf *out);
/* fwd_guestfwd_add() - parse and register (QEMU's syntax and texts); 0 or -1 */
int fwd_guestfwd_add(struct user_stack *s, const char *rule, struct error *e);
/**
 * fwd_guestfwd_add_fn() - a guestfwd whose connections get their host end from @open(@opaque)
 * @addr:	guest-side address (network order), INADDR_ANY: cfg.guestfwd_default
 * @port:	guest-side port (host order)
 * Return: 0, or -1 (@e set) if (@addr, @port) is taken or not a usable address
 */
int fwd_guestfwd_add_fn(struct user_stack *s, struct in_addr addr, uint16_t port,
			guestfwd_open_fn *open, void *opaque, struct error *e);
/* fwd_guestfwd_remove() - drop the rule for @addr:@port (open connections stay); 0 or -1 */
int fwd_guestfwd_remove(struct user_stack *s, struct in_addr addr, uint16_t port);
/* fwd_guestfwd_find() - the rule for a guest connection to @addr:@port, or NULL */
struct guestfwd *fwd_guestfwd_find(struct user_stack *s, struct in_addr addr, uint16_t port);
/**
 * fwd_guestfwd_open() - open the host end for one guest connection: spawn the command on one
 * end of a loopback TCP connection (as libslirp: smbd wants a TCP peer), or connect
 * (non-blocking) to the target. A command runs in a session of its own; fwd_fini() stops
 * what is left of it (SIGTERM, then SIGKILL), so nothing it started outlives the stack.
 * Return: the fd (non-blocking, ours to close), or -errno
 */
int fwd_guestfwd_open(struct user_stack *s, struct guestfwd *g);
void fwd_fini(struct user_stack *s);
/* fwd_info_usernet() - HOST_FORWARD rows for info usernet */
void fwd_info_usernet(struct user_stack *s, struct sbuf *out);

#endif /* QNET_FWD_H */
