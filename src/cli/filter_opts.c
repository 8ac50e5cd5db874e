// SPDX-License-Identifier: MIT
// filter_opts.c - -object filter-* options parsed into a struct filter_config for the core

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "filter_opts.h"

/* parse_id() - the QemuOpts part: well-formed, unique (@id may be NULL) */
static int parse_id(const char *id, struct error *e)
{
	if (!id)
		return 0;
	if (!id_wellformed(id))
		return err_set(e, "Parameter 'id' expects an identifier\n"
			       "Identifiers consist of letters, digits, '-', '.', '_', "
			       "starting with a letter.");
	if (filter_find(id))
		return err_set(e, "Duplicate ID '%s' for object", id);
	return 0;
}

/* parse_common() - the NetfilterProperties members, in QAPI order */
static int parse_common(struct filter_config *cfg, struct opts *o, struct error *e)
{
	const char *v;

	cfg->netdev = opts_get(o, "netdev");
	if (!cfg->netdev)
		return err_set(e, "Parameter 'netdev' is missing");
	v = opts_get(o, "queue");
	if (v && filter_dir_parse(v, &cfg->dir) < 0)
		return err_set(e, "Parameter 'queue' does not accept value '%s'", v);
	cfg->position = opts_get(o, "position");
	v = opts_get(o, "insert");
	if (v) {
		if (strcmp(v, "before") && strcmp(v, "behind"))
			return err_set(e, "Parameter 'insert' does not accept value '%s'", v);
		cfg->insert_before = !strcmp(v, "before");
	}
	return 0;
}

/* parse_maxlen() - a uint32 as QEMU's visitor reads it; 0 is the setter's error */
static int parse_maxlen(const char *v, uint32_t *out, struct error *e)
{
	unsigned long long n;
	char *end;

	if (!*v || *v == '-' || *v == '+' || *v == ' ' || *v == '\t')
		return err_set(e, "Parameter 'maxlen' expects a uint64 value");
	errno = 0;
	n = strtoull(v, &end, 0);
	if (*end || errno == ERANGE)
		return err_set(e, "Parameter 'maxlen' expects a uint64 value");
	if (n > UINT32_MAX)
		return err_set(e, "Parameter 'maxlen' expects uint32_t");
	if (n == 0)
		return err_set(e, "Property 'filter-dump.maxlen' doesn't take value '0'");
	*out = (uint32_t)n;
	return 0;
}

/*
 * parse_dump() - file (required: QEMU 7.2's QAPI visitor says "Parameter
 * 'file' is missing"; net/dump.c's own "dump filter needs 'file' property
 * set!" is unreachable from -object and object_add) and maxlen.
 */
static int parse_dump(struct filter_config *cfg, struct opts *o, struct error *e)
{
	const char *v;

	cfg->file = opts_get(o, "file");
	if (!cfg->file)
		return err_set(e, "Parameter 'file' is missing");
	v = opts_get(o, "maxlen");
	if (v && parse_maxlen(v, &cfg->maxlen, e) < 0)
		return -1;
	return 0;
}

/* parse_buffer() - interval (mandatory in QEMU 7.2's QAPI schema) */
static int parse_buffer(struct filter_config *cfg, struct opts *o, struct error *e)
{
	const char *v = opts_get(o, "interval");

	if (!v)
		return err_set(e, "Parameter 'interval' is missing");
	return filter_buffer_parse_interval(v, &cfg->interval, e);
}

/* parse_vnet() - vnet_hdr_support (bool) */
static int parse_vnet(struct filter_config *cfg, struct opts *o, struct error *e)
{
	bool b;
	int r = opts_get_bool(o, "vnet_hdr_support", &b, e);

	if (r < 0)
		return -1;
	cfg->vnet_hdr = r > 0 && b;
	return 0;
}

/* parse_mirror() - QAPI FilterMirrorProperties: outdev (mandatory), vnet_hdr_support */
static int parse_mirror(struct filter_config *cfg, struct opts *o, struct error *e)
{
	cfg->outdev = opts_get(o, "outdev");
	if (!cfg->outdev)
		return err_set(e, "Parameter 'outdev' is missing");
	return parse_vnet(cfg, o, e);
}

/* parse_redirector() - QAPI FilterRedirectorProperties: indev, outdev, vnet_hdr_support */
static int parse_redirector(struct filter_config *cfg, struct opts *o, struct error *e)
{
	cfg->indev = opts_get(o, "indev");
	cfg->outdev = opts_get(o, "outdev");
	return parse_vnet(cfg, o, e);
}

/* The types' own options; a type the core has but that is not listed here has none */
static const struct {
	const char *type;
	int (*parse)(struct filter_config *cfg, struct opts *o, struct error *e);
} type_parsers[] = {
	{ "filter-dump", parse_dump },
	{ "filter-buffer", parse_buffer },
	{ "filter-mirror", parse_mirror },
	{ "filter-redirector", parse_redirector },
};

int filter_opts_parse(struct opts *o, struct filter_config *cfg, struct error *e)
{
	const char *type, *id, *status;
	bool on = true;

	memset(cfg, 0, sizeof(*cfg));
	id = opts_get(o, "id");
	if (parse_id(id, e) < 0)
		return -1;
	type = opts_get(o, "qom-type");
	if (!type)
		return err_set(e, "Parameter 'qom-type' is missing");
	if (!filter_type_known(type))
		return err_set(e, "Parameter 'qom-type' does not accept value '%s'", type);
	if (!id)
		return err_set(e, "Parameter 'id' is missing");
	cfg->type = type;
	cfg->id = id;
	cfg->dir = FILTER_ALL;
	if (parse_common(cfg, o, e) < 0)
		return -1;
	status = opts_get(o, "status");
	for (size_t i = 0; i < ARRAY_SIZE(type_parsers); i++)
		if (!strcmp(type_parsers[i].type, type) && type_parsers[i].parse(cfg, o, e) < 0)
			return -1;
	if (opts_check_unused(o, e) < 0)
		return -1;
	if (status && filter_status_parse(status, &on, e) < 0)
		return -1;
	cfg->off = !on;
	return 0;
}

int filter_opts_add(struct opts *o, struct error *e)
{
	struct filter_config cfg;

	if (filter_opts_parse(o, &cfg, e) < 0)
		return -1;
	return filter_create(&cfg, e);
}

int filter_opts_add_qapi(struct opts *o, struct error *e)
{
	const char *id = opts_peek(o, "id");

	if (id && id_wellformed(id) && filter_find(id))
		return err_set(e, "attempt to add duplicate property '%s' to object "
			       "(type 'container')", id);
	return filter_opts_add(o, e);
}
