/* SPDX-License-Identifier: MIT */
/* netdev.h - the netdev backend types and their creation (-netdev, -net, netdev_add) */
#ifndef QNET_NETDEV_H
#define QNET_NETDEV_H

#include <stdbool.h>

#include "../core/net.h"
#include "opts.h"

enum opt_type { OPT_STRING, OPT_BOOL, OPT_NUMBER, OPT_SIZE };

/**
 * struct opt_desc - one documented option of a backend
 * @name:	key; a name ending in '.' (e.g. "addr.") covers every key under it
 * @type:	value type, for help output
 * @help:	one line for "-netdev TYPE,help"
 */
struct opt_desc {
	const char *name;
	enum opt_type type;
	const char *help;
};

/**
 * struct netdev_type - one backend type
 * @name:	QEMU's type name ("stream")
 * @driver:	QEMU driver enum
 * @opts:	documented options (without "type" and "id"), {NULL}-terminated
 * @modern:	parsed with keyval rules when written as a string (stream, dgram)
 * @legacy_ok:	allowed with -net (hubport is -netdev only)
 * @init:	create the client(s): read options from @o (mark them used),
 *		net_client_new(ops, @peer, model, @id); 0 or -1 with @e set.
 *		Unused keys are reported by the caller after init returns 0.
 */
struct netdev_type {
	const char *name;
	enum net_driver driver;
	const struct opt_desc *opts;
	bool modern;
	bool legacy_ok;
	int (*init)(struct opts *o, const char *id, struct net_client *peer, struct error *e);
};

/* Backend types (each backends/X.c defines one) */
extern const struct netdev_type netdev_stream;
extern const struct netdev_type netdev_socket;
extern const struct netdev_type netdev_dgram;
extern const struct netdev_type netdev_tap;
extern const struct netdev_type netdev_hubport;
extern const struct netdev_type netdev_user;
extern const struct netdev_type netdev_vxlan;
extern const struct netdev_type netdev_l2tpv3;
extern const struct netdev_type netdev_vde;
extern const struct netdev_type netdev_bridge;
extern const struct netdev_type netdev_vhost_user;

/* netdev_type_find() - by name, or NULL */
const struct netdev_type *netdev_type_find(const char *name);
/* netdev_types_help() - "Available netdev backend types:\n..." */
void netdev_types_help(struct sbuf *out);
/* netdev_type_help() - "-netdev TYPE,help": the option list */
void netdev_type_help(const struct netdev_type *t, struct sbuf *out);

/**
 * netdev_create() - create a netdev from parsed options (-netdev, netdev_add)
 * @o:		options including type= and id=
 * @is_netdev:	true for -netdev/netdev_add, false for legacy -net (then @peer is the hub-0 port)
 * @peer:	client to link to, or NULL
 * Return: the new client, or NULL with @e set (QEMU's texts: "Duplicate ID '%s'"...)
 */
struct net_client *netdev_create(struct opts *o, bool is_netdev, struct net_client *peer,
				 struct error *e);

#endif /* QNET_NETDEV_H */
