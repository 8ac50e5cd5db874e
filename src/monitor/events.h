/* SPDX-License-Identifier: MIT */
/* events.h - QMP events raised by the core, backends and the user stack */
#ifndef QNET_EVENTS_H
#define QNET_EVENTS_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

#include "../core/event.h"

/*
 * Each call builds the event's data and sends it to every negotiated QMP
 * session (nothing happens when there is none). Call points:
 *   stream.c	NETDEV_STREAM_CONNECTED / NETDEV_STREAM_DISCONNECTED (QEMU 7.2's)
 * Events of the core and the user stack (NETDEV_LINK_CHANGED, DHCP_LEASE:
 * qnet's) come through core/event.h and events_qmp_hook(), registered by qmp_session_new().
 */

/* event_stream_connected() - @uri as stream.c prints it: "unix:PATH" or "tcp:HOST:PORT" */
void event_stream_connected(const char *netdev_id, const char *uri);
void event_stream_disconnected(const char *netdev_id);
/* events_qmp_hook() - the core/event.h hook the QMP monitor registers */
void events_qmp_hook(void *opaque, const char *name, const struct event_field *f, int n);

#endif /* QNET_EVENTS_H */
