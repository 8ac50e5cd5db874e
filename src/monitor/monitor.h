/* SPDX-License-Identifier: MIT */
/* monitor.h - the human monitor (HMP): -monitor stdio | unix:PATH,server=on,wait=off */
#ifndef QNET_MONITOR_H
#define QNET_MONITOR_H

#include "../core/util.h"

/* monitor_open() - start a monitor from a -monitor argument; 0 or -1 */
int monitor_open(const char *spec, struct error *e);
/* monitor_exec() - run one HMP command line, output to @out (also used by tests) */
void monitor_exec(const char *line, struct sbuf *out);
/* monitor_close_all() - at exit: close sessions, unlink socket paths qnet created */
void monitor_close_all(void);

#endif /* QNET_MONITOR_H */
