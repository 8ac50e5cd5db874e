// SPDX-License-Identifier: MIT
// event.c - the event hook: one registered receiver of core, backend and stack events

#include <stddef.h>

#include "event.h"

static event_hook_fn *event_fn;
static void *event_opaque;

event_hook_fn *event_hook_set(event_hook_fn *fn, void *opaque)
{
	event_hook_fn *old = event_fn;

	event_fn = fn;
	event_opaque = opaque;
	return old;
}

void event_raise(const char *name, const struct event_field *f, int n)
{
	if (event_fn)
		event_fn(event_opaque, name, f, n);
}
