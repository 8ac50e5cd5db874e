// SPDX-License-Identifier: MIT
// netdev.c - the netdev type registry, help texts and netdev_create()

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "netdev.h"

/* The types qnet implements */
static const struct netdev_type *const netdev_types[] = {
	&netdev_stream, &netdev_socket, &netdev_dgram, &netdev_tap, &netdev_hubport, &netdev_user,
	&netdev_vxlan, &netdev_l2tpv3, &netdev_vde,
	&netdev_bridge,
	&netdev_vhost_user,
};

/*
 * Every other NetClientDriver name QEMU knows (including "none" and "nic",
 * which -netdev refuses the same way, and the backends of later versions):
 * QEMU says "not compiled into this binary" for them.
 */
static const char *const netdev_known_names[] = {
	"none", "nic", "netmap",
	"vhost-vdpa", "af-xdp", "passt", "vmnet-host", "vmnet-shared", "vmnet-bridged",
};

/* What QEMU 7.2 (Debian 12 build) prints for -netdev help, in its order */
static const char *const netdev_help_names[] = {
	"socket", "stream", "dgram", "hubport", "tap", "user", "l2tpv3", "vde", "bridge",
	"vhost-user", "vhost-vdpa",
};

static const char id_hint[] =
	"\nIdentifiers consist of letters, digits, '-', '.', '_', starting with a letter.";

const struct netdev_type *netdev_type_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(netdev_types); i++)
		if (!strcmp(netdev_types[i]->name, name))
			return netdev_types[i];
	return NULL;
}

static bool netdev_name_known(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(netdev_known_names); i++)
		if (!strcmp(netdev_known_names[i], name))
			return true;
	return false;
}

void netdev_types_help(struct sbuf *out)
{
	sbuf_printf(out, "Available netdev backend types:\n");
	for (size_t i = 0; i < ARRAY_SIZE(netdev_help_names); i++)
		sbuf_printf(out, "%s\n", netdev_help_names[i]);
}

static const char *opt_type_str(enum opt_type t)
{
	switch (t) {
	case OPT_BOOL:
		return "bool";
	case OPT_NUMBER:
		return "num";
	case OPT_SIZE:
		return "size";
	default:
		return "str";
	}
}

static int opt_desc_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct opt_desc *const *)a)->name,
		      (*(const struct opt_desc *const *)b)->name);
}

/*
 * netdev_type_help() - QEMU's qemu_opts_print_help() layout: a caption, then
 * sorted "  name=<type>" lines, padded to 24 columns before " - help".
 */
void netdev_type_help(const struct netdev_type *t, struct sbuf *out)
{
	const struct opt_desc *sorted[128];
	size_t n = 0;

	for (const struct opt_desc *d = t->opts; d && d->name && n < ARRAY_SIZE(sorted); d++)
		sorted[n++] = d;
	qsort(sorted, n, sizeof(sorted[0]), opt_desc_cmp);
	sbuf_printf(out, "%s options:\n", t->name);
	for (size_t i = 0; i < n; i++) {
		const struct opt_desc *d = sorted[i];
		size_t nl = strlen(d->name);
		char line[160];
		int len;

		if (nl && d->name[nl - 1] == '.')
			len = snprintf(line, sizeof(line), "  %s*=<%s>", d->name, opt_type_str(d->type));
		else
			len = snprintf(line, sizeof(line), "  %s=<%s>", d->name, opt_type_str(d->type));
		if (len < 0)
			continue;
		if (d->help)
			sbuf_printf(out, "%s%*s - %s\n", line, len < 24 ? 24 - len : 0, "", d->help);
		else
			sbuf_printf(out, "%s\n", line);
	}
	if (!n)
		sbuf_printf(out, "There are no options for %s.\n", t->name);
}

/* netdev_opt_known() - @key is type, id, or covered by the type's opt_desc list */
static bool netdev_opt_known(const struct netdev_type *t, const char *key)
{
	if (!strcmp(key, "type") || !strcmp(key, "id"))
		return true;
	for (const struct opt_desc *d = t->opts; d && d->name; d++) {
		size_t n = strlen(d->name);

		if (n && d->name[n - 1] == '.' ? !strncmp(key, d->name, n) : !strcmp(key, d->name))
			return true;
	}
	return false;
}

/*
 * netdev_unknown_key() - QEMU validates every key before the backend runs, so
 * an unknown key beats the backend's own semantic errors (but not the
 * visitor's "Parameter 'x' is missing"-style ones, which come first in QEMU).
 */
static bool netdev_unknown_key(const struct netdev_type *t, const struct opts *o,
			       const struct error *init_err, struct error *e)
{
	if (!strncmp(init_err->msg, "Parameter '", 11) ||
	    !strncmp(init_err->msg, "Invalid parameter", 17))
		return false;
	for (int i = 0; i < o->n; i++) {
		if (netdev_opt_known(t, o->v[i].key))
			continue;
		if (o->syntax == OPTS_QEMUOPTS)
			err_set(e, "Invalid parameter '%s'", o->v[i].key);
		else
			err_set(e, "Parameter '%s' is unexpected", o->v[i].key);
		return true;
	}
	return false;
}

/* netdev_free_named() - undo a backend's init: free every client named @id */
static void netdev_free_named(const char *id)
{
	struct net_client *nc;

	while ((nc = net_find(id)))
		net_client_free(nc);
}

/* netdev_lookup_type() - the type, or NULL with QEMU's text for @name */
static const struct netdev_type *netdev_lookup_type(const char *name, bool is_netdev,
						    struct error *e)
{
	const struct netdev_type *t = netdev_type_find(name);

	if (!t) {
		if (netdev_name_known(name))
			err_set(e, "network backend '%s' is not compiled into this binary", name);
		else
			err_set(e, "Parameter 'type' does not accept value '%s'", name);
		return NULL;
	}
	if (!is_netdev && !t->legacy_ok) {
		err_set(e, "network backend '%s' is only supported with -netdev/-nic", name);
		return NULL;
	}
	return t;
}

struct net_client *netdev_create(struct opts *o, bool is_netdev, struct net_client *peer,
				 struct error *e)
{
	const struct netdev_type *t;
	struct error ierr = { 0 };
	struct net_client *nc;
	const char *id, *type;

	id = opts_get(o, "id");
	if (!id) {
		err_set(e, "Parameter 'id' is missing");
		return NULL;
	}
	/* -net ids are QEMU's generated "#net..." ones or were checked by QemuOpts */
	if (is_netdev && !id_wellformed(id)) {
		err_set(e, "Parameter 'id' expects an identifier%s", id_hint);
		return NULL;
	}
	type = opts_get(o, "type");
	if (!type) {
		err_set(e, "Parameter 'type' is missing");
		return NULL;
	}
	t = netdev_lookup_type(type, is_netdev, e);
	if (!t)
		return NULL;
	if (net_find(id)) {
		err_set(e, "Duplicate ID '%s'", id);
		return NULL;
	}
	if (t->init(o, id, peer, &ierr) < 0) {
		netdev_free_named(id);
		if (netdev_unknown_key(t, o, &ierr, e))
			return NULL;
		if (ierr.set)
			err_set(e, "%s", ierr.msg);
		else
			err_set(e, "Device '%s' could not be initialized", type);
		return NULL;
	}
	if (opts_check_unused(o, e) < 0) {
		netdev_free_named(id);
		return NULL;
	}
	nc = NULL;
	for (struct net_client *c = net_first(); c; c = c->next) {
		if (c->name && !strcmp(c->name, id)) {
			c->is_netdev = is_netdev;
			if (!nc)
				nc = c;
		}
	}
	if (!nc)
		err_set(e, "Device '%s' could not be initialized", type);
	return nc;
}
