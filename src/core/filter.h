/* SPDX-License-Identifier: MIT */
/* filter.h - packet filters on net clients (-object filter-*, QEMU's netfilter) */
#ifndef QNET_FILTER_H
#define QNET_FILTER_H

#include <stdbool.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "net.h"

/*
 * QEMU's rules (reference section 4): a filter sits on a netdev and sees
 *   tx: frames the netdev sends (towards its peer),
 *   rx: frames sent to the netdev by its peer,
 * or both (queue=all). On the send path the sender's tx filters run head to
 * tail, then the receiver's rx filters tail to head. A filter returning
 * non-zero consumes the frame (that value goes back to the sender).
 */

enum filter_dir { FILTER_RX = 1, FILTER_TX = 2, FILTER_ALL = 3 };

struct filter;

/**
 * struct filter_config - a parsed -object filter-* / object-add (cli/filter_opts.c parses the
 * options, in QEMU's order and with its texts); the strings are only read during filter_create()
 * @type:	qom-type ("filter-dump")
 * @id:		id=
 * @netdev:	netdev=
 * @dir:	queue= (0: all)
 * @position:	position= ("head", "tail", "id=ID"; NULL: tail)
 * @insert_before: insert=before
 * @off:	status=off
 * @file, @maxlen: filter-dump (@maxlen 0: the default)
 * @interval:	filter-buffer, microseconds
 * @indev, @outdev, @vnet_hdr: filter-mirror / filter-redirector
 */
struct filter_config {
	const char *type;
	const char *id;
	const char *netdev;
	enum filter_dir dir;
	const char *position;
	bool insert_before;
	bool off;
	const char *file;
	uint32_t maxlen;
	uint32_t interval;
	const char *indev, *outdev;
	bool vnet_hdr;
};

/**
 * struct filter_ops - one filter type
 * @type:	QOM type name ("filter-dump")
 * @size:	bytes to allocate (struct filter first)
 * @setup:	take the type's own options from @cfg; 0 or -1
 * @receive:	see a frame going in direction @dir (@meta: its offload metadata, NULL if
 *		plain); 0 to pass it on, >0 consumed
 * @cleanup:	release resources (not the struct)
 * @props:	append ",prop=value..." for info network (after type=)
 * @status_changed: optional: status toggled
 */
struct filter_ops {
	const char *type;
	size_t size;
	int (*setup)(struct filter *f, const struct filter_config *cfg, struct error *e);
	ssize_t (*receive)(struct filter *f, struct net_client *sender, enum filter_dir dir,
			   const struct iovec *iov, int iovcnt, const struct net_meta *meta);
	void (*cleanup)(struct filter *f);
	void (*props)(struct filter *f, struct sbuf *out);
	void (*status_changed)(struct filter *f);
	/* --- contract addition (filters/monitor helper) --- */
	/*
	 * @complete: optional: acquire resources (open files, sockets) once the
	 *	netdev and position are resolved, as QEMU's complete() does; setup
	 *	only parses, so a bad option never truncates a file. 0 or -1.
	 */
	int (*complete)(struct filter *f, struct error *e);
	/* --- end of contract addition --- */
	/* --- contract addition (mirror/redirector/buffer, run-time control) --- */
	/*
	 * @check: optional: the type's property-setter checks that QEMU runs
	 *	after the status setter (filter-buffer's interval=0); 0 or -1.
	 * @set_prop: optional: qom-set of a type property at run time; 1 done,
	 *	0 not a property of the type, -1 error in @e.
	 */
	int (*check)(struct filter *f, struct error *e);
	int (*set_prop)(struct filter *f, const char *name, const char *value,
			struct error *e);
	/* --- end of contract addition --- */
};

/**
 * struct filter - common part of every filter
 * @ops:	type
 * @id:		object id
 * @nc:		the netdev it is attached to
 * @dir:	queue= direction
 * @on:		status=on
 * @next:	next filter on @nc (head to tail)
 * @prev:	previous filter on @nc
 */
struct filter {
	const struct filter_ops *ops;
	char *id;
	struct net_client *nc;
	enum filter_dir dir;
	bool on;
	struct filter *next, *prev;
	/* --- contract addition (filters/monitor helper) --- */
	/* @position: position= as given ("tail" by default); @insert_before: insert=before */
	char *position;
	bool insert_before;
	/* --- end of contract addition --- */
};

/* filter_create() - a filter from @cfg, attached to its netdev; QEMU's errors */
int filter_create(const struct filter_config *cfg, struct error *e);
/* filter_object_del() - object-del */
int filter_object_del(const char *id, struct error *e);
struct filter *filter_find(const char *id);

/* filter_run() - core send path hook: run @nc's filters for @dir; >0 consumed */
ssize_t filter_run(struct net_client *nc, struct net_client *sender, enum filter_dir dir,
		   const struct iovec *iov, int iovcnt, const struct net_meta *meta);
/* filter_detach_all() - remove @nc's filters (netdev deletion) */
void filter_detach_all(struct net_client *nc);
/* filter_info() - "filters:\n  - id: type=...\n" lines for info network */
void filter_info(struct net_client *nc, struct sbuf *out);

/**
 * filter_pass_to_next() - QEMU's qemu_netfilter_pass_to_next(): a frame that
 * @f held (or injected) goes through the filters after @f in its direction
 * (with queue=all: tx if @sender is @f's netdev, else rx), then straight to
 * @sender's peer (queued without a sent callback; the peer's own rx filters are
 * not run, as in QEMU). Return: >0 (size, or what a later filter returned).
 */
ssize_t filter_pass_to_next(struct filter *f, struct net_client *sender,
			    const struct iovec *iov, int iovcnt, const struct net_meta *meta);
/* filter_set_status() - the status setter at run time (calls ops->status_changed) */
void filter_set_status(struct filter *f, bool on);
/**
 * filter_qom_set() - HMP qom-set PATH PROPERTY VALUE on a filter (path "ID" or
 * "/objects/ID"); QEMU's error texts
 */
int filter_qom_set(const char *path, const char *prop, const char *value, struct error *e);
/* filter_type_known() - @type is a filter type qnet has */
bool filter_type_known(const char *type);
/* filter_dir_parse() - "rx", "tx", "all"; 0 or -1 */
int filter_dir_parse(const char *s, enum filter_dir *dir);
/* filter_status_parse() - the status setter's check: "on"/"off" into *@on, QEMU's text */
int filter_status_parse(const char *v, bool *on, struct error *e);
/* filter_buffer_parse_interval() - filter-buffer's interval as QEMU's visitor reads it */
int filter_buffer_parse_interval(const char *v, uint32_t *out, struct error *e);

extern const struct filter_ops filter_dump_ops;
extern const struct filter_ops filter_mirror_ops;
extern const struct filter_ops filter_redirector_ops;
extern const struct filter_ops filter_buffer_ops;

#endif /* QNET_FILTER_H */
