/* SPDX-License-Identifier: MIT */
/* event.h - events raised by the core, backends and the user stack, delivered to one registered hook */
#ifndef QNET_EVENT_H
#define QNET_EVENT_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Lower layers never call the monitor: they raise an event (a QMP-style name
 * and a flat list of plain fields) and whoever registered the hook (the
 * monitor: QMP events) turns it into output. With no hook, events are dropped.
 * Fields are only read during the call.
 */

enum event_type { EVENT_STR, EVENT_BOOL, EVENT_INT };

/**
 * struct event_field - one member of an event's data
 * @key:	member name ("netdev-id")
 * @type:	which of @s, @b, @i holds the value
 */
struct event_field {
	const char *key;
	enum event_type type;
	union {
		const char *s;
		bool b;
		int64_t i;
	};
};

#define EVENT_FIELD_STR(k, v) { .key = (k), .type = EVENT_STR, .s = (v) }
#define EVENT_FIELD_BOOL(k, v) { .key = (k), .type = EVENT_BOOL, .b = (v) }
#define EVENT_FIELD_INT(k, v) { .key = (k), .type = EVENT_INT, .i = (v) }

typedef void event_hook_fn(void *opaque, const char *name, const struct event_field *f, int n);

/* event_hook_set() - the one hook (NULL: none); returns the previous one */
event_hook_fn *event_hook_set(event_hook_fn *fn, void *opaque);
/* event_raise() - hand @name with @n fields to the hook, if any */
void event_raise(const char *name, const struct event_field *f, int n);

#endif /* QNET_EVENT_H */
