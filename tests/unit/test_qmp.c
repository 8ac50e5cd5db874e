// SPDX-License-Identifier: MIT
// test_qmp.c - QMP sessions: greeting, negotiation, dispatch, QEMU's errors, id echo, bounds, events

#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "core/hub.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/net.h"
#include "monitor/events.h"
#include "monitor/qmp.h"

/* take() - the session's pending output as a string (caller frees), consumed */
static char *take(struct qmp_session *s)
{
	size_t n;
	const char *p = qmp_session_output(s, &n);
	char *r = malloc(n + 1);

	memcpy(r, p, n);
	r[n] = '\0';
	qmp_session_consume(s, n);
	return r;
}

/* ask() - send @in, return the output it produced */
static char *ask(struct qmp_session *s, const char *in)
{
	qmp_session_input(s, in, strlen(in));
	return take(s);
}

#define ASK(s, in, want)                        \
	do {                                    \
		char *got_ = ask(s, in);        \
		CHECK_STR(got_, want);          \
		free(got_);                     \
	} while (0)

static struct qmp_session *negotiated(void)
{
	struct qmp_session *s = qmp_session_new(-1);

	free(take(s));
	ASK(s, "{\"execute\":\"qmp_capabilities\"}", "{\"return\": {}}\r\n");
	return s;
}

static void test_greeting_and_negotiation(void)
{
	struct qmp_session *s = qmp_session_new(-1);

	ASK(s, "", "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 1, \"major\": 0}, "
		   "\"package\": \"qnet " QNET_VERSION "\"}, \"capabilities\": []}}\r\n");
	ASK(s, "{\"execute\":\"query-version\",\"id\":7}",
	    "{\"id\": 7, \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Expecting "
	    "capabilities negotiation with 'qmp_capabilities'\"}}\r\n");
	ASK(s, "{\"execute\":\"nosuch\"}",
	    "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Expecting "
	    "capabilities negotiation with 'qmp_capabilities'\"}}\r\n");
	CHECK(!qmp_session_negotiated(s));
	ASK(s, "{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]}}",
	    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Capability 'oob' not available\"}}\r\n");
	ASK(s, "{\"execute\":\"qmp_capabilities\",\"id\":\"a\"}", "{\"return\": {}, \"id\": \"a\"}\r\n");
	CHECK(qmp_session_negotiated(s));
	ASK(s, "{\"execute\":\"qmp_capabilities\"}",
	    "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Capabilities negotiation is "
	    "already complete, command ignored\"}}\r\n");
	ASK(s, "{\"execute\":\"query-version\",\"id\":{\"a\":[1,2.5,true,null]}}",
	    "{\"return\": {\"qemu\": {\"micro\": 0, \"minor\": 1, \"major\": 0}, \"package\": \"qnet "
	    QNET_VERSION "\"}, \"id\": {\"a\": [1, 2.5, true, null]}}\r\n");
	qmp_session_free(s);
}

static void test_request_errors(void)
{
	struct qmp_session *s = negotiated();

	ASK(s, "[1,2]", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input must be a JSON object\"}}\r\n");
	ASK(s, "\"x\" ", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input must be a JSON object\"}}\r\n");
	ASK(s, "{\"id\":8}", "{\"id\": 8, \"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input lacks member 'execute'\"}}\r\n");
	ASK(s, "{\"execute\":1}", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'execute' must be a string\"}}\r\n");
	ASK(s, "{\"execute\":\"quit\",\"arguments\":[]}", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'arguments' must be an object\"}}\r\n");
	ASK(s, "{\"execute\":\"quit\",\"foo\":1,\"id\":2}", "{\"id\": 2, \"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input member 'foo' is unexpected\"}}\r\n");
	ASK(s, "{\"execute\":\"nosuch\",\"id\":3}", "{\"id\": 3, \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command nosuch has not been found\"}}\r\n");
	ASK(s, "{\"execute\": }", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, expecting value\"}}\r\n");
	ASK(s, "{\"execute\":tru}", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, invalid keyword 'tru'\"}}\r\n");
	ASK(s, "}", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, expecting value\"}}\r\n");
	ASK(s, "{\"bad\n", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, stray '\\\"bad\\n'\"}}\r\n");
	/* recovered after the lexer error */
	ASK(s, "{'execute':'query-commands','id':'it''s'}", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, expecting value\"}}\r\n");
	char *got = ask(s, "{'execute':'query-version','id':'a\"b'}");

	CHECK(strstr(got, "\"id\": \"a\\\"b\"}\r\n") != NULL);
	free(got);
	qmp_session_free(s);
}

static void test_argument_checks(void)
{
	struct qmp_session *s = negotiated();

	ASK(s, "{\"execute\":\"set_link\",\"arguments\":{\"name\":\"foo\"}}",
	    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Parameter 'up' is missing\"}}\r\n");
	ASK(s, "{\"execute\":\"set_link\",\"arguments\":{\"name\":1,\"up\":true}}",
	    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Invalid parameter type for 'name', expected: string\"}}\r\n");
	ASK(s, "{\"execute\":\"set_link\",\"arguments\":{\"name\":\"x\",\"up\":\"yes\"}}",
	    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Invalid parameter type for 'up', expected: boolean\"}}\r\n");
	ASK(s, "{\"execute\":\"set_link\",\"arguments\":{\"name\":\"x\",\"up\":true,\"extra\":1}}",
	    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Parameter 'extra' is unexpected\"}}\r\n");
	ASK(s, "{\"execute\":\"set_link\",\"arguments\":{\"name\":\"x\",\"up\":true},\"id\":4}",
	    "{\"id\": 4, \"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"Device 'x' not found\"}}\r\n");
	ASK(s, "{\"execute\":\"netdev_del\",\"arguments\":{\"id\":\"nope\"}}",
	    "{\"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"Device 'nope' not found\"}}\r\n");
	ASK(s, "{\"execute\":\"netdev_add\",\"arguments\":{\"type\":\"bogus\",\"id\":\"b\"}}",
	    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Parameter 'type' does not accept value 'bogus'\"}}\r\n");
	ASK(s, "{\"execute\":\"netdev_add\",\"arguments\":{\"type\":\"user\",\"id\":\"1x\"}}",
	    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Parameter 'id' expects an identifier\"}}\r\n");
	ASK(s, "{\"execute\":\"announce-self\",\"arguments\":{\"initial\":50}}",
	    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Parameter 'max' is missing\"}}\r\n");
	ASK(s, "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"nosuch\"}}",
	    "{\"return\": \"unknown command: 'nosuch'\\r\\n\"}\r\n");
	ASK(s, "{\"execute\":\"hostfwd-add\",\"arguments\":{\"rule\":\"tcp::1-:2\"}}",
	    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"user mode network stack not in use\"}}\r\n");
	qmp_session_free(s);
}

static void test_netdev_lifecycle_and_events(void)
{
	struct qmp_session *s = negotiated(), *quiet = qmp_session_new(-1);
	char *got;

	free(take(quiet));
	ASK(s, "{\"execute\":\"netdev_add\",\"arguments\":{\"type\":\"hubport\",\"id\":\"h0\",\"hubid\":3}}",
	    "{\"return\": {}}\r\n");
	ASK(s, "{\"execute\":\"netdev_add\",\"arguments\":{\"type\":\"hubport\",\"id\":\"h0\",\"hubid\":3}}",
	    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Duplicate ID 'h0'\"}}\r\n");
	CHECK(net_find("h0") != NULL);
	got = ask(s, "{\"execute\":\"set_link\",\"arguments\":{\"name\":\"h0\",\"up\":false}}");
	CHECK(strstr(got, "\"event\": \"NETDEV_LINK_CHANGED\", \"data\": {\"netdev-id\": \"h0\", \"up\": false}}\r\n{\"return\": {}}\r\n") != NULL);
	free(got);
	CHECK(net_find("h0")->link_down);
	/* events are not sent before negotiation */
	got = take(quiet);
	CHECK_STR(got, "");
	free(got);
	got = ask(s, "{\"execute\":\"query-netdevs\"}");
	CHECK(strstr(got, "\"name\": \"h0\"") && strstr(got, "\"up\": false") && strstr(got, "\"hub\": 3"));
	free(got);
	got = ask(s, "{\"execute\":\"human-monitor-command\",\"arguments\":{\"command-line\":\"set_link h0 on\"}}");
	CHECK(strstr(got, "\"up\": true") != NULL);
	free(got);
	ASK(s, "{\"execute\":\"netdev_del\",\"arguments\":{\"id\":\"h0\"}}", "{\"return\": {}}\r\n");
	CHECK(net_find("h0") == NULL);
	ASK(s, "{\"execute\":\"netdev_del\",\"arguments\":{\"id\":\"h0\"}}",
	    "{\"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"Device 'h0' not found\"}}\r\n");
	/* a -net backend is not a netdev */
	struct net_client *legacy = hub_add_port(hub_get(4), NULL, NULL, false);

	got = ask(s, "{\"execute\":\"netdev_del\",\"arguments\":{\"id\":\"hub4port0\"}}");
	CHECK(strstr(got, "is not a netdev") != NULL);
	free(got);
	net_client_free(legacy);
	/* event payloads */
	event_stream_connected("s0", "tcp:127.0.0.1:4444");
	got = take(s);
	CHECK(strstr(got, "\"addr\": {\"port\": \"4444\", \"host\": \"127.0.0.1\", \"type\": \"inet\"}}}\r\n") != NULL);
	free(got);
	event_stream_connected("s0", "unix:/tmp/x.sock");
	got = take(s);
	CHECK(strstr(got, "\"event\": \"NETDEV_STREAM_CONNECTED\", \"data\": {\"netdev-id\": \"s0\", \"addr\": {\"path\": \"/tmp/x.sock\", \"type\": \"unix\"}}}\r\n") != NULL);
	CHECK(!strncmp(got, "{\"timestamp\": {\"seconds\": ", 26));
	free(got);
	event_stream_disconnected("s0");
	got = take(s);
	CHECK(strstr(got, "\"event\": \"NETDEV_STREAM_DISCONNECTED\", \"data\": {\"netdev-id\": \"s0\"}}\r\n") != NULL);
	free(got);
	qmp_session_free(quiet);
	qmp_session_free(s);
}

static void test_json_text(void)
{
	struct json_object *o = json_object_new_object();
	struct sbuf b = { 0 };

	json_object_object_add(o, "id", json_object_new_int(1));
	json_object_object_add(o, "return", json_object_new_string("\xc3\xa9\x7f\x01\"\\/\n\xf0\x9f\x98\x80\xff"));
	qmp_json_write(&b, o);
	CHECK_STR(sbuf_str(&b), "{\"return\": \"\\u00E9\\u007F\\u0001\\\"\\\\/\\n\\uD83D\\uDE00\\uFFFD\", \"id\": 1}");
	sbuf_free(&b);
	json_object_put(o);
}

static void test_bounds(void)
{
	struct qmp_session *s = negotiated();
	size_t big = QMP_IN_MAX + 4096;
	char *doc = malloc(big), *got;

	/* nesting beyond QEMU's limit: one error, the rest of the document skipped */
	memset(doc, '[', 1100);
	memset(doc + 1100, ']', 1100);
	qmp_session_input(s, doc, 2200);
	got = take(s);
	CHECK_STR(got, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON nesting depth limit exceeded\"}}\r\n");
	free(got);
	got = ask(s, "{\"execute\":\"query-commands\",\"id\":1}");
	CHECK(strstr(got, "{\"name\": \"netdev_add\"}") && strstr(got, "], \"id\": 1}\r\n"));
	free(got);
	/* the session still works after it */
	got = ask(s, "{\"execute\":\"quit\",\"arguments\":{\"x\":1}}");
	CHECK(strstr(got, "Parameter 'x' is unexpected") != NULL);
	free(got);
	/* a document over QMP_IN_MAX: QEMU's error, then the session is dead */
	const char *head = "{\"execute\":\"x\",\"arguments\":{\"a\":\"";

	memcpy(doc, head, strlen(head));
	memset(doc + strlen(head), 'A', big - strlen(head));
	qmp_session_input(s, doc, big);
	got = take(s);
	CHECK_STR(got, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON token size limit exceeded\"}}\r\n");
	free(got);
	CHECK(qmp_session_dead(s));
	qmp_session_free(s);
	/* output never read: dropped at QMP_OUT_MAX, memory stays bounded */
	s = negotiated();
	for (int i = 0; i < 20000 && !qmp_session_dead(s); i++)
		qmp_session_input(s, "{\"execute\":\"query-commands\"}", 28);
	CHECK(qmp_session_dead(s));
	size_t n;

	qmp_session_output(s, &n);
	CHECK(n <= QMP_OUT_MAX);
	qmp_session_free(s);
	free(doc);
}

static void test_split_input(void)
{
	struct qmp_session *s = negotiated();
	const char *in = "{\"execute\":\"query-version\",\"id\":\"}{\"} {\"execute\":\"qmp_capabilities\"}";
	struct sbuf all = { 0 };

	/* byte by byte gives the same replies as one write */
	for (size_t i = 0; in[i]; i++) {
		char *got = ask(s, (char[]){ in[i], 0 });

		sbuf_printf(&all, "%s", got);
		free(got);
	}
	CHECK(strstr(sbuf_str(&all), "\"id\": \"}{\"}\r\n{\"error\": {\"class\": \"CommandNotFound\"") != NULL);
	sbuf_free(&all);
	qmp_session_free(s);
}

int main(void)
{
	loop_init();
	log_init("test_qmp");
	RUN(test_greeting_and_negotiation);
	RUN(test_request_errors);
	RUN(test_argument_checks);
	RUN(test_netdev_lifecycle_and_events);
	RUN(test_json_text);
	RUN(test_bounds);
	RUN(test_split_input);
	net_cleanup_all();
	hub_free_all();
	loop_fini();
	TEST_DONE();
}
