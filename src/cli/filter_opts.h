/* SPDX-License-Identifier: MIT */
/* filter_opts.h - -object filter-* option strings into a struct filter_config (QEMU's checks) */
#ifndef QNET_FILTER_OPTS_H
#define QNET_FILTER_OPTS_H

#include "../core/filter.h"
#include "opts.h"

/**
 * filter_opts_parse() - -object / object_add options (qom-type, or the implied first key, and
 * id) into @cfg, in the order in which QEMU 7.2 reports errors: QemuOpts checks the id
 * (well-formed, not a duplicate), the QAPI visitor checks qom-type, id and the typed members
 * (common ones first, then the type's own), then unknown keys; the status setter's check.
 * @cfg's strings point into @o. Return: 0, or -1 with QEMU's text in @e.
 */
int filter_opts_parse(struct opts *o, struct filter_config *cfg, struct error *e);
/* filter_opts_add() - -object: filter_opts_parse(), then filter_create() */
int filter_opts_add(struct opts *o, struct error *e);
/**
 * filter_opts_add_qapi() - object_add (HMP) / object-add (QMP): as filter_opts_add() but with
 * the QOM duplicate-id text QEMU gives on those paths (no QemuOpts id registry there: a
 * duplicate is found when QOM adds the child to /objects)
 */
int filter_opts_add_qapi(struct opts *o, struct error *e);

#endif /* QNET_FILTER_OPTS_H */
