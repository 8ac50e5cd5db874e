// SPDX-License-Identifier: MIT
// events.c - QMP event payloads: stream connections, and every event of core/event.h

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

/* events_qmp_hook() - an event raised through core/event.h, sent as a QMP event */
void events_qmp_hook(void *opaque, const char *name, const struct event_field *f, int n)
{
	struct json_object *d = json_object_new_object();

	for (int i = 0; i < n; i++) {
		struct json_object *v;

		switch (f[i].type) {
		case EVENT_STR:
			v = json_object_new_string(f[i].s ? f[i].s : "");
			break;
		case EVENT_BOOL:
			v = json_object_new_boolean(f[i].b);
			break;
		default:
			v = json_object_new_int64(f[i].i);
			break;
		}
		json_object_object_add(d, f[i].key, v);
	}
	qmp_event(name, d);
}
