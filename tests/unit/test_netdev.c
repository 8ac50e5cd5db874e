// SPDX-License-Identifier: MIT
// test_netdev.c - the netdev type registry, help texts and netdev_create()'s QEMU errors

#include "cli/netdev.h"
#include "core/hub.h"
#include "core/log.h"
#include "core/loop.h"
#include "test.h"

/* create() - parse @s (QemuOpts, or JSON/keyval as main does) and netdev_create() it */
static const char *create(const char *s, bool keyval, bool is_netdev, struct net_client **out)
{
	static struct error e;
	struct net_client *nc;
	struct opts o;
	int r;

	memset(&e, 0, sizeof(e));
	if (s[0] == '{')
		r = opts_parse_json(&o, s, &e);
	else if (keyval)
		r = opts_parse_keyval(&o, s, "type", &e);
	else
		r = opts_parse(&o, s, "type", &e);
	if (r < 0)
		return e.msg;
	nc = netdev_create(&o, is_netdev, NULL, &e);
	opts_free(&o);
	if (out)
		*out = nc;
	CHECK(!nc == e.set);
	return nc ? "" : e.msg;
}

static void test_registry(void)
{
	static const char *const names[] = { "stream", "socket", "dgram", "tap", "hubport", "user",
					     "l2tpv3", "vde", "bridge", "vxlan", "vhost-user" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		const struct netdev_type *t = netdev_type_find(names[i]);

		CHECK(t != NULL);
		if (!t)
			continue;
		CHECK_STR(t->name, names[i]);
		CHECK(t->init != NULL);
	}
	CHECK(netdev_type_find("user") != NULL);
	CHECK(netdev_type_find("vhost-vdpa") == NULL);
	CHECK(netdev_type_find("") == NULL);
	CHECK(netdev_type_find("Stream") == NULL);
	CHECK(netdev_type_find("stream")->modern);
	CHECK(netdev_type_find("dgram")->modern);
	CHECK(!netdev_type_find("socket")->modern);
	CHECK(!netdev_type_find("hubport")->legacy_ok);
}

static void test_help(void)
{
	struct sbuf b = { 0 };
	const char *p;

	netdev_types_help(&b);
	CHECK_STR(sbuf_str(&b), "Available netdev backend types:\nsocket\nstream\ndgram\nhubport\n"
		  "tap\nuser\nl2tpv3\nvde\nbridge\nvhost-user\nvhost-vdpa\n");
	sbuf_free(&b);

	netdev_type_help(netdev_type_find("hubport"), &b);
	p = sbuf_str(&b);
	CHECK(!strncmp(p, "hubport options:\n", 17));
	/* QEMU's layout: "  name=<type>" padded to 24 columns, then " - help" */
	CHECK(strstr(p, "\n  hubid=<num>            - ") != NULL);
	CHECK(strstr(p, "\n  netdev=<str>           - ") != NULL);
	/* sorted by name */
	CHECK(strstr(p, "hubid=") < strstr(p, "netdev="));
	sbuf_free(&b);
}

static void test_create_errors(void)
{
	const char *hint = "\nIdentifiers consist of letters, digits, '-', '.', '_', "
			   "starting with a letter.";
	char want[256];

	CHECK_STR(create("socket", false, true, NULL), "Parameter 'id' is missing");
	CHECK_STR(create("{\"type\":\"socket\"}", false, true, NULL), "Parameter 'id' is missing");
	snprintf(want, sizeof(want), "Parameter 'id' expects an identifier%s", hint);
	CHECK_STR(create("socket,id=1x", false, true, NULL), want);
	CHECK_STR(create("{\"type\":\"hubport\",\"id\":\"a/b\",\"hubid\":0}", false, true, NULL),
		  want);
	CHECK_STR(create("stream,id=_x", true, true, NULL), want);
	CHECK_STR(create("id=x", false, true, NULL), "Parameter 'type' is missing");
	CHECK_STR(create("bogus,id=x", false, true, NULL),
		  "Parameter 'type' does not accept value 'bogus'");
	CHECK_STR(create("vmnet-host,id=x", false, true, NULL),
		  "network backend 'vmnet-host' is not compiled into this binary");
	CHECK_STR(create("vhost-vdpa,id=x", false, true, NULL),
		  "network backend 'vhost-vdpa' is not compiled into this binary");
	CHECK_STR(create("nic,id=x", false, true, NULL),
		  "network backend 'nic' is not compiled into this binary");
	CHECK_STR(create("hubport,id=x,hubid=0", false, false, NULL),
		  "network backend 'hubport' is only supported with -netdev/-nic");
	/* QEMU checks keys before the backend's own semantic errors... */
	CHECK_STR(create("socket,id=x,foo=1", false, true, NULL), "Invalid parameter 'foo'");
	CHECK_STR(create("{\"type\":\"socket\",\"id\":\"x\",\"foo\":1}", false, true, NULL),
		  "Parameter 'foo' is unexpected");
	/* ...but after "is missing" */
	CHECK_STR(create("hubport,id=h,foo=1", false, true, NULL), "Parameter 'hubid' is missing");
	CHECK(net_find("x") == NULL && net_find("h") == NULL);
}

static void test_create(void)
{
	struct net_client *a = NULL, *b = NULL;

	CHECK_STR(create("hubport,id=hp0,hubid=7", false, true, &a), "");
	CHECK(a && net_find("hp0") == a && a->is_netdev);
	CHECK_STR(create("hubport,id=hp0,hubid=7", false, true, NULL), "Duplicate ID 'hp0'");
	/* an unknown key found after a successful init undoes the client */
	CHECK_STR(create("hubport,id=hp1,hubid=7,bogus=1", false, true, NULL),
		  "Invalid parameter 'bogus'");
	CHECK(net_find("hp1") == NULL);
	CHECK_STR(create("{\"type\":\"hubport\",\"id\":\"hp2\",\"hubid\":7,\"netdev\":\"hp0\"}",
			 false, true, &b), "");
	CHECK(b && b->peer == a && a->peer == b);
	net_cleanup_all();
	hub_free_all();
	CHECK(net_first() == NULL);
}

int main(void)
{
	log_init("test_netdev");
	log_set_stderr(false);
	loop_init();
	RUN(test_registry);
	RUN(test_help);
	RUN(test_create_errors);
	RUN(test_create);
	loop_fini();
	TEST_DONE();
}
