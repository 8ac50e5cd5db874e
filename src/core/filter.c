// SPDX-License-Identifier: MIT
// filter.c - the netfilter framework: -object filter-*, ordering, direction rules, info lines

#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "log.h"

/*
 * DOC: Theory of operation
 *
 * A filter is a QOM object in QEMU; here it is a struct filter at the start of
 * a type-specific allocation (ops->size), linked into its netdev's list
 * (nc->filters, head first, doubly linked). There is no separate object
 * registry: a filter exists only while it is attached, so lookups by id walk
 * the clients' lists.
 *
 * Creation follows the order in which QEMU 7.2 reports errors for -object:
 * QemuOpts checks the id (well-formed, not a duplicate), the QAPI visitor
 * checks qom-type, id and the typed members (common ones first, then the
 * type's own, read by ops->setup), then unknown keys; the property setters
 * validate status; complete() resolves netdev and position, then the type
 * acquires its resources (ops->complete) and the filter is linked in.
 */

/* Every filter type qnet knows; later types are added here */
static const struct filter_ops *const filter_types[] = {
	&filter_dump_ops,
	&filter_mirror_ops,
	&filter_redirector_ops,
	&filter_buffer_ops,
};

static const char *const dir_names[] = {
	[FILTER_RX] = "rx",
	[FILTER_TX] = "tx",
	[FILTER_ALL] = "all",
};

static const struct filter_ops *filter_type_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(filter_types); i++)
		if (!strcmp(filter_types[i]->type, name))
			return filter_types[i];
	return NULL;
}

struct filter *filter_find(const char *id)
{
	for (struct net_client *nc = net_first(); nc; nc = nc->next)
		for (struct filter *f = nc->filters; f; f = f->next)
			if (!strcmp(f->id, id))
				return f;
	return NULL;
}

static int parse_dir(const char *s, enum filter_dir *dir)
{
	for (int i = FILTER_RX; i <= FILTER_ALL; i++) {
		if (!strcmp(s, dir_names[i])) {
			*dir = (enum filter_dir)i;
			return 0;
		}
	}
	return -1;
}

/* filter_parse_status() - the status property setter's check (@v may be NULL) */
static int filter_parse_status(struct filter *f, const char *v, struct error *e)
{
	if (!v)
		return 0;
	if (strcmp(v, "on") && strcmp(v, "off"))
		return err_set(e, "Invalid value for netfilter status, should be 'on' or 'off'");
	f->on = !strcmp(v, "on");
	return 0;
}

/**
 * filter_resolve() - QEMU's netfilter_complete() checks
 * @anchor:	out: the filter named by position=id=..., or NULL
 */
static int filter_resolve(struct filter *f, const char *netdev, struct filter **anchor,
			  struct error *e)
{
	struct net_client *nc = net_find(netdev);

	*anchor = NULL;
	if (!nc || nc->ops->driver == NET_DRIVER_NIC)
		return err_set(e, "Parameter 'netdev' expects a network backend id");
	if (!strcmp(f->position, "head") || !strcmp(f->position, "tail")) {
		f->nc = nc;
		return 0;
	}
	if (strncmp(f->position, "id=", 3))
		return err_set(e, "Parameter 'position' expects 'head', 'tail' or 'id=<id>'");
	*anchor = filter_find(f->position + 3);
	if (!*anchor)
		return err_set(e, "filter '%s' not found", f->position + 3);
	if ((*anchor)->nc != nc)
		return err_set(e, "filter '%s' belongs to a different netdev", f->position + 3);
	f->nc = nc;
	return 0;
}

/* filter_link() - insert @f into its netdev's list as position/insert say */
static void filter_link(struct filter *f, struct filter *anchor)
{
	struct net_client *nc = f->nc;
	struct filter *tail;

	if (!anchor && !strcmp(f->position, "head")) {
		f->prev = NULL;
		f->next = nc->filters;
		if (nc->filters)
			nc->filters->prev = f;
		nc->filters = f;
		return;
	}
	if (!anchor) {
		for (tail = nc->filters; tail && tail->next; tail = tail->next)
			;
		if (!tail) {
			nc->filters = f;
			f->prev = f->next = NULL;
			return;
		}
		anchor = tail;
	} else if (f->insert_before) {
		f->next = anchor;
		f->prev = anchor->prev;
		if (anchor->prev)
			anchor->prev->next = f;
		else
			nc->filters = f;
		anchor->prev = f;
		return;
	}
	/* behind @anchor */
	f->prev = anchor;
	f->next = anchor->next;
	if (anchor->next)
		anchor->next->prev = f;
	anchor->next = f;
}

static void filter_unlink(struct filter *f)
{
	if (f->prev)
		f->prev->next = f->next;
	else if (f->nc && f->nc->filters == f)
		f->nc->filters = f->next;
	if (f->next)
		f->next->prev = f->prev;
	f->next = f->prev = NULL;
}

/* filter_free() - cleanup and free; @f must be unlinked */
static void filter_free(struct filter *f, bool set_up)
{
	if (set_up && f->ops->cleanup)
		f->ops->cleanup(f);
	free(f->id);
	free(f->position);
	free(f);
}

/**
 * filter_create() - create a filter from its parsed options (cli/filter_opts.c)
 *
 * After the option checks (done by the parser), in QEMU's order: the type's
 * property-setter checks, netdev and position (complete()), the type's
 * resources, then the filter is linked in.
 * Return: 0, or -1 with QEMU's error text in @e
 */
int filter_create(const struct filter_config *cfg, struct error *e)
{
	const struct filter_ops *ops;
	struct filter *f, *anchor;
	bool set_up = false;

	if (!cfg->id || !id_wellformed(cfg->id))
		return err_set(e, "Parameter 'id' is missing");
	if (filter_find(cfg->id))
		return err_set(e, "Duplicate ID '%s' for object", cfg->id);
	ops = cfg->type ? filter_type_find(cfg->type) : NULL;
	if (!ops)
		return err_set(e, "Parameter 'qom-type' does not accept value '%s'",
			       cfg->type ? cfg->type : "");
	if (!cfg->netdev)
		return err_set(e, "Parameter 'netdev' is missing");

	f = xzalloc(MAX(ops->size, sizeof(*f)));
	f->ops = ops;
	f->id = xstrdup(cfg->id);
	f->dir = cfg->dir ? cfg->dir : FILTER_ALL;
	f->on = !cfg->off;
	f->position = xstrdup(cfg->position ? cfg->position : "tail");
	f->insert_before = cfg->insert_before;
	if (ops->setup) {
		set_up = true;
		if (ops->setup(f, cfg, e) < 0)
			goto fail;
	}
	if (ops->check && ops->check(f, e) < 0)
		goto fail;
	if (filter_resolve(f, cfg->netdev, &anchor, e) < 0)
		goto fail;
	if (ops->complete && ops->complete(f, e) < 0)
		goto fail;
	filter_link(f, anchor);
	debug("filter %s (%s) on %s", f->id, ops->type, f->nc->name);
	return 0;
fail:
	f->nc = NULL;
	filter_free(f, set_up);
	return -1;
}

int filter_object_del(const char *id, struct error *e)
{
	struct filter *f = filter_find(id);

	if (!f)
		return err_set(e, "object '%s' not found", id);
	filter_unlink(f);
	filter_free(f, true);
	return 0;
}

void filter_detach_all(struct net_client *nc)
{
	while (nc->filters) {
		struct filter *f = nc->filters;

		filter_unlink(f);
		filter_free(f, true);
	}
}

/**
 * filter_run() - run @nc's filters that watch @dir
 *
 * TX walks head to tail, RX tail to head (QEMU's order); filters with
 * status=off are skipped. The first non-zero return consumes the frame.
 */
ssize_t filter_run(struct net_client *nc, struct net_client *sender, enum filter_dir dir,
		   const struct iovec *iov, int iovcnt, const struct net_meta *meta)
{
	struct filter *f = nc->filters;
	ssize_t ret;

	if (!f)
		return 0;
	if (dir == FILTER_RX)
		while (f->next)
			f = f->next;
	while (f) {
		struct filter *next = dir == FILTER_RX ? f->prev : f->next;

		if (f->on && (f->dir & dir)) {
			ret = f->ops->receive(f, sender, dir, iov, iovcnt, meta);
			if (ret)
				return ret;
		}
		f = next;
	}
	return 0;
}

/**
 * filter_info() - the filters part of a client's info network lines
 *
 * QEMU prints every QOM property but "type" in the order its property
 * iteration gives: the type's own properties (ops->props), then the common
 * ones as position, status, insert, netdev, queue (checked against QEMU 7.2).
 */
void filter_info(struct net_client *nc, struct sbuf *out)
{
	if (!nc->filters)
		return;
	sbuf_printf(out, "filters:\n");
	for (struct filter *f = nc->filters; f; f = f->next) {
		sbuf_printf(out, "  - %s: type=%s", f->id, f->ops->type);
		if (f->ops->props)
			f->ops->props(f, out);
		sbuf_printf(out, ",position=%s,status=%s,insert=%s,netdev=%s,queue=%s\n",
			    f->position, f->on ? "on" : "off",
			    f->insert_before ? "before" : "behind", nc->name, dir_names[f->dir]);
	}
}

/**
 * filter_pass_to_next() - continue a held or injected frame after @f
 *
 * As QEMU's qemu_netfilter_pass_to_next(): the direction is @f's, or with
 * queue=all tx when @sender is @f's netdev and rx otherwise; the later
 * filters of that direction run (status=off ones skipped), then the frame is
 * queued to @sender's peer without a sent callback.
 */
ssize_t filter_pass_to_next(struct filter *f, struct net_client *sender,
			    const struct iovec *iov, int iovcnt, const struct net_meta *meta)
{
	size_t size = net_iov_size(iov, iovcnt);
	enum filter_dir dir;
	struct filter *next;
	ssize_t ret;

	if (!sender || !sender->peer || !f->nc || !size)
		return (ssize_t)(size ? size : 1);
	if (f->dir != FILTER_ALL)
		dir = f->dir;
	else
		dir = sender == f->nc ? FILTER_TX : FILTER_RX;
	for (next = dir == FILTER_TX ? f->next : f->prev; next;
	     next = dir == FILTER_TX ? next->next : next->prev) {
		if (next->on && (next->dir & dir)) {
			ret = next->ops->receive(next, sender, dir, iov, iovcnt, meta);
			if (ret)
				return ret;
		}
	}
	net_deliver(sender, sender->peer, iov, iovcnt, meta, NULL);
	return (ssize_t)size;
}

void filter_set_status(struct filter *f, bool on)
{
	if (f->on == on)
		return;
	f->on = on;
	if (f->nc && f->ops->status_changed)
		f->ops->status_changed(f);
}

/* filter_resolve_path() - a QOM path naming a filter: "/objects/ID" or a partial "ID" */
static struct filter *filter_resolve_path(const char *path)
{
	if (!strncmp(path, "/objects/", 9))
		path += 9;
	else if (path[0] == '/')
		return NULL;
	if (!*path || strchr(path, '/'))
		return NULL;
	return filter_find(path);
}

/**
 * filter_qom_set() - qom-set on a filter
 *
 * status and queue (common), and what the type's set_prop takes, change at
 * run time with QEMU's texts. The string properties QEMU only stores after
 * creation (netdev, position, insert, file, outdev...) are refused: in QEMU
 * they change what info network shows without any effect.
 */
int filter_qom_set(const char *path, const char *prop, const char *value, struct error *e)
{
	static const char *const fixed[] = { "netdev", "position", "insert" };
	struct filter *f = filter_resolve_path(path);
	enum filter_dir dir;
	int r;

	if (!f)
		return err_set(e, "Device '%s' not found", path);
	if (!strcmp(prop, "status")) {
		struct filter tmp = { .on = f->on };

		if (filter_parse_status(&tmp, value, e) < 0)
			return -1;
		filter_set_status(f, tmp.on);
		return 0;
	}
	if (!strcmp(prop, "queue")) {
		if (parse_dir(value, &dir) < 0)
			return err_set(e, "Parameter 'queue' does not accept value '%s'", value);
		f->dir = dir;
		return 0;
	}
	if (f->ops->set_prop) {
		r = f->ops->set_prop(f, prop, value, e);
		if (r)
			return r < 0 ? -1 : 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
		if (!strcmp(prop, fixed[i]))
			return err_set(e, "qnet: property '%s' of '%s' can't be changed at run time",
				       prop, f->id);
	if (f->ops == &filter_dump_ops && (!strcmp(prop, "file") || !strcmp(prop, "maxlen")))
		return err_set(e, "qnet: property '%s' of '%s' can't be changed at run time",
			       prop, f->id);
	return err_set(e, "Property '%s.%s' not found", f->ops->type, prop);
}

bool filter_type_known(const char *type)
{
	return filter_type_find(type) != NULL;
}

int filter_dir_parse(const char *s, enum filter_dir *dir)
{
	return parse_dir(s, dir);
}

int filter_status_parse(const char *v, bool *on, struct error *e)
{
	struct filter tmp = { .on = true };

	if (filter_parse_status(&tmp, v, e) < 0)
		return -1;
	*on = tmp.on;
	return 0;
}
