// SPDX-License-Identifier: MIT
// fuzz_qmp.c - libFuzzer target: the QMP input path (streamer, parser, dispatch, commands)

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/hub.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/net.h"
#include "monitor/qmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * Input: byte 0 picks the chunk size (1..256) the rest is fed in, and (bit 7)
 * whether the session negotiates first. Commands that would open sockets or
 * files (netdev_add of anything but hubport, object-add, hostfwd-*, HMP other
 * than info/help/set_link/netdev_del) are disabled by a command filter; the
 * rest run for real on a hub with two ports "a" and "b" and are undone after
 * each input.
 */

static bool fuzz_filter(const char *name, struct json_object *args)
{
	struct json_object *v;

	if (!strcmp(name, "netdev_add"))
		return json_object_object_get_ex(args, "type", &v) &&
		       json_object_is_type(v, json_type_string) &&
		       !strcmp(json_object_get_string(v), "hubport");
	if (!strcmp(name, "object-add") || !strncmp(name, "hostfwd", 7))
		return false;
	if (!strcmp(name, "human-monitor-command")) {
		const char *l;

		if (!json_object_object_get_ex(args, "command-line", &v) ||
		    !json_object_is_type(v, json_type_string))
			return true;	/* the argument check reports it */
		l = json_object_get_string(v);
		l += strspn(l, " \t");
		return !strncmp(l, "info", 4) || !strncmp(l, "help", 4) ||
		       !strncmp(l, "set_link", 8) || !strncmp(l, "netdev_del", 10);
	}
	return true;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	loop_init();
	log_init("fuzz_qmp");
	log_set_stderr(false);
	qmp_set_command_filter(fuzz_filter);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qmp_session *s;
	size_t chunk, n;

	if (size < 1)
		return 0;
	hub_add_port(hub_get(0), "a", NULL, true);
	hub_add_port(hub_get(0), "b", NULL, true);
	chunk = (size_t)(data[0] & 0x7f) * 2 + 1;
	s = qmp_session_new(-1);
	if (data[0] & 0x80)
		qmp_session_input(s, "{\"execute\":\"qmp_capabilities\"}", 30);
	for (size_t off = 1; off < size && !qmp_session_dead(s); off += chunk) {
		n = size - off < chunk ? size - off : chunk;
		qmp_session_input(s, (const char *)data + off, n);
		qmp_session_output(s, &n);
		qmp_session_consume(s, n);
	}
	qmp_session_free(s);
	qmp_close_all();	/* announce timers */
	net_cleanup_all();
	hub_free_all();
	return 0;
}
