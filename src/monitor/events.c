// SPDX-License-Identifier: MIT
// events.c - QMP event payloads: stream connections, link changes, DHCP leases

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "events.h"
#include "qmp.h"

/*
 * socket_address() - QEMU's SocketAddress for a stream.c URI:
 * {"path": P, "type": "unix"}, {"host": H, "port": "P", "type": "inet"}
 * (port is a string in QAPI), or {"str": S, "type": "fd"} for anything else.
 */
static struct json_object *socket_address(const char *uri)
{
	struct json_object *a = json_object_new_object();
	const char *colon;

	if (!strncmp(uri, "unix:", 5)) {
		json_object_object_add(a, "type", json_object_new_string("unix"));
		json_object_object_add(a, "path", json_object_new_string(uri + 5));
	} else if (!strncmp(uri, "tcp:", 4) && (colon = strrchr(uri + 4, ':'))) {
		json_object_object_add(a, "type", json_object_new_string("inet"));
		json_object_object_add(a, "host",
				       json_object_new_string_len(uri + 4, (int)(colon - uri - 4)));
		json_object_object_add(a, "port", json_object_new_string(colon + 1));
	} else {
		json_object_object_add(a, "type", json_object_new_string("fd"));
		json_object_object_add(a, "str", json_object_new_string(uri));
	}
	return a;
}

void event_stream_connected(const char *netdev_id, const char *uri)
{
	struct json_object *d = json_object_new_object();

	json_object_object_add(d, "netdev-id", json_object_new_string(netdev_id));
	json_object_object_add(d, "addr", socket_address(uri));
	qmp_event("NETDEV_STREAM_CONNECTED", d);
}

void event_stream_disconnected(const char *netdev_id)
{
	struct json_object *d = json_object_new_object();

	json_object_object_add(d, "netdev-id", json_object_new_string(netdev_id));
	qmp_event("NETDEV_STREAM_DISCONNECTED", d);
}

void event_link_changed(const char *netdev_id, bool up)
{
	struct json_object *d = json_object_new_object();

	json_object_object_add(d, "netdev-id", json_object_new_string(netdev_id));
	json_object_object_add(d, "up", json_object_new_boolean(up));
	qmp_event("NETDEV_LINK_CHANGED", d);
}

void event_dhcp_lease(const char *netdev_id, struct in_addr ip, const uint8_t *mac,
		      const char *event)
{
	struct json_object *d = json_object_new_object();
	char ipbuf[INET_ADDRSTRLEN], m[18];

	snprintf(m, sizeof(m), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
	json_object_object_add(d, "netdev-id", json_object_new_string(netdev_id));
	json_object_object_add(d, "ip", json_object_new_string(
		inet_ntop(AF_INET, &ip, ipbuf, sizeof(ipbuf)) ? ipbuf : ""));
	json_object_object_add(d, "mac", json_object_new_string(m));
	json_object_object_add(d, "event", json_object_new_string(event));
	qmp_event("DHCP_LEASE", d);
}
