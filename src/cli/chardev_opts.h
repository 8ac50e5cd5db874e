/* SPDX-License-Identifier: MIT */
/* chardev_opts.h - -chardev option strings into a struct chardev_config (QEMU's checks and texts) */
#ifndef QNET_CHARDEV_OPTS_H
#define QNET_CHARDEV_OPTS_H

#include "../core/chardev.h"
#include "opts.h"

/**
 * chardev_opts_parse() - -chardev BACKEND,id=...,... into @cfg, in QEMU's order: the backend
 * name, the id (QemuOpts: well-formed, not a duplicate, room for one more), then the socket
 * options (qemu_chr_parse_socket() and qmp_chardev_validate_socket()), then unknown keys.
 * @cfg's strings point into @o. Return: 0, or -1 with QEMU's text in @e.
 */
int chardev_opts_parse(struct opts *o, struct chardev_config *cfg, struct error *e);
/* chardev_opts_create() - chardev_opts_parse(), then chardev_create() */
int chardev_opts_create(struct opts *o, struct error *e);

#endif /* QNET_CHARDEV_OPTS_H */
