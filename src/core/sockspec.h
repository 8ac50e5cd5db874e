/* SPDX-License-Identifier: MIT */
/* sockspec.h - QEMU's chardev shorthand for sockets: "unix:PATH,server=on,wait=off", "tcp:HOST:PORT,..." */
#ifndef QNET_SOCKSPEC_H
#define QNET_SOCKSPEC_H

#include <stdbool.h>
#include <sys/un.h>

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

#endif /* QNET_SOCKSPEC_H */
