// SPDX-License-Identifier: MIT
// chardev_opts.c - -chardev socket options parsed into a struct chardev_config for the core

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chardev_opts.h"

/* get_bool() - QemuOpts bool with a default */
static int get_bool(struct opts *o, const char *key, bool def, bool *out, bool *present,
		    struct error *e)
{
	int r = opts_get_bool(o, key, out, e);

	if (r < 0)
		return -1;
	if (!r)
		*out = def;
	if (present)
		*present = r > 0;
	return 0;
}

/**
 * chardev_parse_socket() - QEMU's qemu_chr_parse_socket() and qmp_chardev_validate_socket()
 * checks, in QEMU's order
 */
static int chardev_parse_socket(struct chardev_config *c, struct opts *o, struct error *e)
{
	const char *path = opts_get(o, "path"), *host = opts_get(o, "host");
	const char *port = opts_get(o, "port"), *fd = opts_get(o, "fd");
	bool has_wait, has_reconnect, delay, has_delay, nodelay, has_nodelay, b;
	uint64_t reconnect = 0;
	const char *v;

	if (get_bool(o, "tight", true, &c->tight, NULL, e) < 0 ||
	    get_bool(o, "abstract", false, &c->abstract, NULL, e) < 0)
		return -1;
	if (!!path + !!fd + !!host > 1)
		return err_set(e, "None or one of 'path', 'fd' or 'host' option required.");
	if (host && !port)
		return err_set(e, "chardev: socket: no port given");
	if (get_bool(o, "delay", true, &delay, &has_delay, e) < 0 ||
	    get_bool(o, "nodelay", false, &nodelay, &has_nodelay, e) < 0)
		return -1;
	if (has_delay && has_nodelay)
		return err_set(e, "'delay' and 'nodelay' are mutually exclusive");
	c->nodelay = !delay || nodelay;
	if (get_bool(o, "server", false, &c->server, NULL, e) < 0 ||
	    get_bool(o, "wait", true, &c->wait, &has_wait, e) < 0)
		return -1;
	/* accepted and ignored, as plain sockets: telnet/tn3270/websocket off */
	for (const char *const *k = (const char *const[]){ "telnet", "tn3270", "websocket", NULL };
	     *k; k++) {
		if (get_bool(o, *k, false, &b, NULL, e) < 0)
			return -1;
		if (b)
			return err_set(e, "qnet: chardev socket option '%s' is not supported", *k);
	}
	v = opts_get(o, "reconnect");
	has_reconnect = v != NULL;
	if (v) {
		/* QemuOpts' number parser (qemu_strtou64: a '-' wraps around) */
		char *end;

		errno = 0;
		reconnect = strtoull(v, &end, 0);
		if (!*v || *end || errno)
			return err_set(e, "Parameter 'reconnect' expects a number");
	}
	if (opts_get(o, "tls-creds") || opts_get(o, "tls-authz"))
		return err_set(e, "qnet: chardev socket TLS is not supported");
	if (path) {
		c->unix_path = path;
	} else if (host) {
		uint64_t to;

		c->host = host;
		c->port = port;
		if (opts_get_u64(o, "to", &to, e) < 0 ||
		    get_bool(o, "ipv4", false, &c->ipv4, NULL, e) < 0 ||
		    get_bool(o, "ipv6", false, &c->ipv6, NULL, e) < 0)
			return -1;
	} else if (fd) {
		return err_set(e, "qnet: chardev socket fd= is not supported");
	} else {
		/* QEMU 7.2 falls through to fd parsing with no fd */
		return err_set(e, "Unable to parse FD number ");
	}
	/* the common chardev options (logfile, logappend, mux) */
	if (opts_get(o, "logfile") || opts_get(o, "mux"))
		return err_set(e, "qnet: chardev options logfile and mux are not supported");
	opts_get(o, "logappend");
	opts_get(o, "backend");
	opts_get(o, "id");
	if (opts_check_unused(o, e) < 0)
		return -1;
	has_wait = has_wait || c->server;
	if (c->server) {
		if (has_reconnect)
			return err_set(e, "'reconnect' option is incompatible with "
				       "socket in server listen mode");
	} else if (has_wait) {
		/* QEMU 7.2 refuses wait= in client mode, even wait=off */
		return err_set(e, "'wait' option is incompatible with "
			       "socket in client connect mode");
	}
	if (reconnect > CHARDEV_RECONNECT_MAX)
		return err_set(e, "qnet: reconnect=%llu is too long (at most 86400 s)",
			       (unsigned long long)reconnect);
	c->reconnect = (unsigned)reconnect;
	if (!c->server)
		c->wait = false;
	return 0;
}

int chardev_opts_parse(struct opts *o, struct chardev_config *cfg, struct error *e)
{
	const char *backend = opts_peek(o, "backend"), *id = opts_peek(o, "id");

	memset(cfg, 0, sizeof(*cfg));
	if (!backend || strchr(backend, '='))
		return err_set(e, "chardev: \"%s\" missing backend", id ? id : "");
	if (strcmp(backend, "socket"))
		return err_set(e, "'%s' is not a valid char driver name", backend);
	if (!id)
		return err_set(e, "chardev: no id specified");
	if (!id_wellformed(id))
		return err_set(e, "Parameter 'id' expects an identifier\n"
			       "Identifiers consist of letters, digits, '-', '.', '_', "
			       "starting with a letter.");
	if (chardev_check_new(id, e) < 0)
		return -1;
	cfg->id = id;
	return chardev_parse_socket(cfg, o, e);
}

int chardev_opts_create(struct opts *o, struct error *e)
{
	struct chardev_config cfg;

	if (chardev_opts_parse(o, &cfg, e) < 0)
		return -1;
	return chardev_create(&cfg, e);
}
