/* SPDX-License-Identifier: MIT */
/* sockspec.h - QEMU's chardev shorthand for sockets: "unix:PATH,server=on,wait=off", "tcp:HOST:PORT,..." */
#ifndef QNET_SOCKSPEC_H
#define QNET_SOCKSPEC_H

#include <stdbool.h>
#include <sys/un.h>

#include "loop.h"
#include "util.h"

/**
 * struct sockspec - a parsed -monitor / -qmp socket argument
 * @is_unix:	unix: (else tcp:)
 * @path:	unix socket path (",," in the argument stands for a comma)
 * @host, @port: tcp address ("" host: any)
 * @server:	server=on (QEMU's default is off: connect)
 * @wait:	wait=on (QEMU's default; "nowait" and wait=off clear it)
 */
struct sockspec {
	bool is_unix;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char host[256];
	char port[32];
	bool server;
	bool wait;
};

/* sockspec_parse() - 0, or -1 with QEMU's texts ("'x' is not a valid char driver"...) */
int sockspec_parse(const char *spec, struct sockspec *q, struct error *e);
/* sockspec_listen() - bind and listen (a stale unix socket file is removed first); fd or -1 */
int sockspec_listen(const struct sockspec *q, int backlog, struct error *e);
/* sockspec_connect() - a blocking connect (local sockets); fd or -1 */
int sockspec_connect(const struct sockspec *q, struct error *e);

struct sockspec_server;
/* sockspec_accept_cb - a new connection (non-blocking fd, now the owner's) */
typedef void sockspec_accept_cb(struct sockspec_server *srv, int fd);

/**
 * struct sockspec_server - a listening socket whose connections become sessions
 * @lfd:	the listening socket in the loop
 * @path:	unix socket path, unlinked at close (NULL for tcp)
 * @sessions:	live sessions: the owner counts them up in @accept and down when
 *		one ends; past @max a new connection is closed at once
 * @max:	session cap
 * @accept:	the owner's handler
 * @opaque:	owner's pointer
 * @next:	owner's list
 */
struct sockspec_server {
	struct loop_fd lfd;
	char *path;
	int sessions;
	int max;
	sockspec_accept_cb *accept;
	void *opaque;
	struct sockspec_server *next;
};

/**
 * sockspec_serve() - listen where @q says (server=on), take the first client at once if
 * wait=on (QEMU blocks for it), then accept from the loop
 * @spec:	the argument as given, for messages
 * Return: the server, or NULL with @e set
 */
struct sockspec_server *sockspec_serve(const struct sockspec *q, const char *spec, int backlog,
				       int max, sockspec_accept_cb *accept, void *opaque,
				       struct error *e);
/* sockspec_server_close() - stop listening, remove the socket file, free */
void sockspec_server_close(struct sockspec_server *srv);

#endif /* QNET_SOCKSPEC_H */
