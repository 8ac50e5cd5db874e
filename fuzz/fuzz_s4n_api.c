// SPDX-License-Identifier: MIT
/* fuzz_s4n_api.c - libFuzzer target: slirp4netns API requests (the JSON of -a PATH) */
#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backends/user.h"
#include "cli/netdev.h"
#include "cli/opts.h"
#include "cli/slirp4netns.h"
#include "core/loop.h"
#include "core/net.h"

/*
 * Input: one request message (at most 4095 bytes, as the socket takes), handed to
 * slirp4netns_api_request() against a real user netdev, the way the API socket does. The reply
 * must be one JSON object with "return", "error" (an object with a "desc" string) or, for
 * list_hostfwd, "entries": anything else aborts. Every 64 inputs the netdev is recreated, so
 * the forward table (and the sockets behind it) stays small.
 *
 * Safety: add_hostfwd binds host sockets from fuzzer-chosen addresses and ports; bind() is
 * replaced so that IPv4 binds go to 127.0.0.1 port 0 and anything else fails. Nothing connects.
 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	if (len < sizeof(sa_family_t) || sa->sa_family != AF_INET) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	return (int)syscall(SYS_bind, fd, &sin, sizeof(sin));
}

int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	errno = ECONNREFUSED;
	return -1;
}

static struct net_client *fz_nc;

static void fz_new_netdev(void)
{
	static unsigned n;
	struct opts o = { 0 };
	struct error e = { 0 };
	char id[32];

	if (fz_nc)
		net_client_free(fz_nc);
	snprintf(id, sizeof(id), "fz%u", n++ % 4);
	opts_add(&o, "type", "user");
	opts_add(&o, "id", id);
	opts_add(&o, "resolv-conf", "/dev/null");
	fz_nc = netdev_create(&o, true, NULL, &e);
	opts_free(&o);
	if (!fz_nc) {
		fprintf(stderr, "fuzz_s4n_api: %s\n", e.msg);
		abort();
	}
}

static void fz_check_reply(const char *r)
{
	struct json_object *jv = json_tokener_parse(r), *v, *d;

	if (!jv || !json_object_is_type(jv, json_type_object))
		abort();
	if (json_object_object_get_ex(jv, "error", &v)) {
		if (!json_object_is_type(v, json_type_object) ||
		    !json_object_object_get_ex(v, "desc", &d) ||
		    !json_object_is_type(d, json_type_string) ||
		    strncmp(json_object_get_string(d), "bad request: ", 13))
			abort();
	} else if (!json_object_object_get_ex(jv, "return", &v) &&
		   !json_object_object_get_ex(jv, "entries", &v)) {
		abort();
	}
	json_object_put(jv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned count;
	char buf[4096];
	struct sbuf out = { 0 };

	if (!fz_nc) {
		loop_init();
		fz_new_netdev();
	}
	if (size >= sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	buf[size] = 0;
	if (count++ % 64 == 63)
		fz_new_netdev();
	slirp4netns_api_request(user_of(fz_nc), buf, strlen(buf), &out);
	fz_check_reply(sbuf_str(&out));
	sbuf_free(&out);
	return 0;
}
