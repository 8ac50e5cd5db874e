/* SPDX-License-Identifier: MIT */
/* events.h - QMP events raised by the core, backends and the user stack */
#ifndef QNET_EVENTS_H
#define QNET_EVENTS_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

/*
 * Each call builds the event's data and sends it to every negotiated QMP
 * session (nothing happens when there is none). Call points:
 *   stream.c	NETDEV_STREAM_CONNECTED / NETDEV_STREAM_DISCONNECTED (QEMU 7.2's)
 *   net.c	NETDEV_LINK_CHANGED (qnet's): a client's link state changed
 *   dhcp.c	DHCP_LEASE (qnet's): a lease was bound or released
 */

/* event_stream_connected() - @uri as stream.c prints it: "unix:PATH" or "tcp:HOST:PORT" */
void event_stream_connected(const char *netdev_id, const char *uri);
void event_stream_disconnected(const char *netdev_id);
void event_link_changed(const char *netdev_id, bool up);
/* event_dhcp_lease() - @event: "bound" or "released" */
void event_dhcp_lease(const char *netdev_id, struct in_addr ip, const uint8_t *mac,
		      const char *event);

#endif /* QNET_EVENTS_H */
