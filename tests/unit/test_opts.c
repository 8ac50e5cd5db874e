// SPDX-License-Identifier: MIT
// test_opts.c - QemuOpts, keyval and JSON parsing, typed getters and their QEMU error texts

#include <stdint.h>

#include "cli/opts.h"
#include "core/log.h"
#include "test.h"

/* parse_err() - the error text of a failed parse ("" if it succeeded) */
static const char *parse_err(int (*fn)(struct opts *, const char *, const char *, struct error *),
			     const char *s, const char *implied)
{
	static struct error e;
	struct opts o;

	memset(&e, 0, sizeof(e));
	if (fn(&o, s, implied, &e) == 0) {
		opts_free(&o);
		return "";
	}
	CHECK(o.n == 0 && o.v == NULL);
	return e.msg;
}

static const char *json_err(const char *s)
{
	static struct error e;
	struct opts o;

	memset(&e, 0, sizeof(e));
	if (opts_parse_json(&o, s, &e) == 0) {
		opts_free(&o);
		return "";
	}
	return e.msg;
}

/* dump() - "k=v k=v" of a parse, for compact comparisons */
static const char *dump(const struct opts *o)
{
	static char buf[1024];
	size_t n = 0;

	buf[0] = 0;
	for (int i = 0; i < o->n && n < sizeof(buf); i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s=%s", i ? " " : "",
				      o->v[i].key, o->v[i].val);
	return buf;
}

static void test_qemuopts_basic(void)
{
	struct error e = { 0 };
	struct opts o;

	CHECK(opts_parse(&o, "socket,id=s0,listen=:1234", "type", &e) == 0);
	CHECK(o.syntax == OPTS_QEMUOPTS);
	CHECK_STR(dump(&o), "id=s0 type=socket listen=:1234");
	CHECK_STR(opts_peek(&o, "type"), "socket");
	CHECK(!opts_has(&o, "connect"));
	opts_free(&o);

	/* no implied key: the first element is a flag */
	CHECK(opts_parse(&o, "a=1,b=", NULL, &e) == 0);
	CHECK_STR(dump(&o), "a=1 b=");
	opts_free(&o);

	/* explicit type= as first element, implied key unused */
	CHECK(opts_parse(&o, "type=tap,ifname=x", "type", &e) == 0);
	CHECK_STR(dump(&o), "type=tap ifname=x");
	opts_free(&o);

	CHECK(opts_parse(&o, "", "type", &e) == 0);
	CHECK(o.n == 0);
	opts_free(&o);
	CHECK(!e.set);
}

static void test_qemuopts_escapes(void)
{
	struct error e = { 0 };
	struct opts o;

	CHECK(opts_parse(&o, "tap,script=/a,,b,,,,c,id=t", "type", &e) == 0);
	CHECK_STR(opts_peek(&o, "script"), "/a,b,,c");
	opts_free(&o);
	/* the implied value takes escapes too: QEMU's "-netdev socket,,id=x" */
	CHECK(opts_parse(&o, "socket,,id=x", "type", &e) == 0);
	CHECK_STR(opts_peek(&o, "type"), "socket,id=x");
	/* ...while opts_parse_id() still finds id=x behind the escaped comma */
	CHECK_STR(opts_peek(&o, "id"), "x");
	opts_free(&o);
	/* a trailing ",," is a comma at the end of the value */
	CHECK(opts_parse(&o, "a=b,,", NULL, &e) == 0);
	CHECK_STR(opts_peek(&o, "a"), "b,");
	opts_free(&o);
}

static void test_qemuopts_flags(void)
{
	struct error e = { 0 };
	struct opts o;

	log_set_stderr(false);	/* the deprecation warnings */
	CHECK(opts_parse(&o, "tap,vhost,novnet_hdr,id=t", "type", &e) == 0);
	log_set_stderr(true);
	CHECK_STR(dump(&o), "id=t type=tap vhost=on vnet_hdr=off");
	opts_free(&o);
	CHECK(opts_parse(&o, "stream,help", "type", &e) == 0);
	CHECK_STR(opts_peek(&o, "help"), "on");
	opts_free(&o);
	CHECK(opts_parse(&o, "?", "type", &e) == 0);
	CHECK_STR(opts_peek(&o, "type"), "?");
	opts_free(&o);
}

static void test_qemuopts_id(void)
{
	struct error e = { 0 };
	struct opts o;

	CHECK_STR(parse_err(opts_parse, "socket,id=1x", "type"),
		  "Parameter 'id' expects an identifier\n"
		  "Identifiers consist of letters, digits, '-', '.', '_', starting with a letter.");
	CHECK_STR(parse_err(opts_parse, "socket,id=a b", "type"),
		  "Parameter 'id' expects an identifier\n"
		  "Identifiers consist of letters, digits, '-', '.', '_', starting with a letter.");
	CHECK_STR(parse_err(opts_parse, "socket,id=", "type"),
		  "Parameter 'id' expects an identifier\n"
		  "Identifiers consist of letters, digits, '-', '.', '_', starting with a letter.");
	CHECK_STR(parse_err(opts_parse, "socket,id=a-b.c_9", "type"), "");
	/* only the first id= counts, later ones are dropped */
	CHECK(opts_parse(&o, "x,id=a,id=b", "type", &e) == 0);
	CHECK_STR(dump(&o), "id=a type=x");
	opts_free(&o);
}

static void test_keyval(void)
{
	struct error e = { 0 };
	struct opts o;

	CHECK(opts_parse_keyval(&o, "stream,id=s,server=on,addr.type=unix,addr.path=/t,,x",
				"type", &e) == 0);
	CHECK(o.syntax == OPTS_KEYVAL);
	CHECK_STR(dump(&o), "type=stream id=s server=on addr.type=unix addr.path=/t,x");
	opts_free(&o);
	/* last one wins, in place */
	CHECK(opts_parse_keyval(&o, "a=1,b=2,a=3", NULL, &e) == 0);
	CHECK_STR(dump(&o), "a=3 b=2");
	opts_free(&o);
	/* implied value ends at the first comma (no escapes, as in QEMU 7.2) */
	CHECK_STR(parse_err(opts_parse_keyval, "stream,,x=1", "type"), "Invalid parameter ''");
	CHECK(opts_parse_keyval(&o, "dgram,help", "type", &e) == 0);
	CHECK_STR(dump(&o), "type=dgram help=on");
	opts_free(&o);
	CHECK(opts_parse_keyval(&o, "a.0=x,a.1=y,__com.example_b=1", NULL, &e) == 0);
	CHECK_STR(dump(&o), "a.0=x a.1=y __com.example_b=1");
	opts_free(&o);
}

static void test_keyval_errors(void)
{
	char long_key[200], msg[300];

	CHECK_STR(parse_err(opts_parse_keyval, "stream,id=x,foo", "type"),
		  "Expected '=' after parameter 'foo'");
	CHECK_STR(parse_err(opts_parse_keyval, "stream,=5", "type"), "Invalid parameter ''");
	CHECK_STR(parse_err(opts_parse_keyval, "stream,0=5", "type"), "Invalid parameter '0'");
	CHECK_STR(parse_err(opts_parse_keyval, "x,a..b=5", "type"), "Invalid parameter 'a..b'");
	CHECK_STR(parse_err(opts_parse_keyval, "x,a.=5", "type"), "Invalid parameter 'a.'");
	CHECK_STR(parse_err(opts_parse_keyval, "x,a b=5", "type"), "Invalid parameter 'a b'");
	CHECK_STR(parse_err(opts_parse_keyval, "x,addr=5,addr.type=inet", "type"),
		  "Parameters 'addr.*' used inconsistently");
	CHECK_STR(parse_err(opts_parse_keyval, "x,addr.type=inet,addr=5", "type"),
		  "Parameters 'addr.*' used inconsistently");
	CHECK_STR(parse_err(opts_parse_keyval, "a.b=1,a.b.c=2", NULL),
		  "Parameters 'a.b.*' used inconsistently");
	memset(long_key, 'a', 130);
	snprintf(long_key + 130, sizeof(long_key) - 130, "=1");
	snprintf(msg, sizeof(msg), "Parameter '%.130s' is too long", long_key);
	CHECK_STR(parse_err(opts_parse_keyval, long_key, NULL), msg);
	{
		char k2[220];

		snprintf(k2, sizeof(k2), "addr.%s", long_key);
		snprintf(msg, sizeof(msg), "Parameter fragment '%.130s' is too long", long_key);
		CHECK_STR(parse_err(opts_parse_keyval, k2, NULL), msg);
	}
	/* a 127-character fragment is fine */
	memset(long_key, 'b', 127);
	snprintf(long_key + 127, sizeof(long_key) - 127, "=1");
	CHECK_STR(parse_err(opts_parse_keyval, long_key, NULL), "");
}

static void test_json(void)
{
	struct error e = { 0 };
	struct opts o;

	CHECK(opts_parse_json(&o, "{\"type\":\"stream\",\"id\":\"s0\",\"server\":true,"
			      "\"addr\":{\"type\":\"unix\",\"path\":\"/tmp/s\"},\"n\":5,"
			      "\"f\":false,\"d\":1.5}", &e) == 0);
	CHECK(o.syntax == OPTS_JSON);
	CHECK_STR(dump(&o), "type=stream id=s0 server=on addr.type=unix addr.path=/tmp/s n=5 "
		  "f=off d=1.5");
	opts_free(&o);
	/* arrays become repeated keys, objects inside arrays dotted keys */
	CHECK(opts_parse_json(&o, " {\"dnssearch\":[\"a\",\"b\"],\"h\":[{\"x\":1},{\"x\":2}],"
			      "\"e\":[]} ", &e) == 0);
	CHECK_STR(dump(&o), "dnssearch=a dnssearch=b h.x=1 h.x=2");
	{
		int pos = 0;

		CHECK_STR(opts_next(&o, "dnssearch", &pos), "a");
		CHECK_STR(opts_next(&o, "dnssearch", &pos), "b");
		CHECK(opts_next(&o, "dnssearch", &pos) == NULL);
	}
	opts_free(&o);
	CHECK(opts_parse_auto(&o, "{\"a\":\"x,y\"}", "type", &e) == 0);
	CHECK(o.syntax == OPTS_JSON);
	CHECK_STR(opts_peek(&o, "a"), "x,y");
	opts_free(&o);
	CHECK(opts_parse_auto(&o, "a,b=1", "type", &e) == 0);
	CHECK(o.syntax == OPTS_QEMUOPTS);
	opts_free(&o);
	CHECK(!e.set);
}

static void test_json_errors(void)
{
	CHECK_STR(json_err("{"), "JSON parse error, premature EOI");
	CHECK_STR(json_err("{\"type\":\"stream\""), "JSON parse error, premature EOI");
	CHECK_STR(json_err("{a}"), "JSON parse error, invalid keyword 'a'");
	CHECK_STR(json_err("{\"a\":tru}"), "JSON parse error, invalid keyword 'tru'");
	CHECK_STR(json_err("{\"a\":}"), "JSON parse error, expecting value");
	CHECK_STR(json_err("{\"a\":1,}"), "JSON parse error, expecting value");
	CHECK_STR(json_err("{\"a\" 1}"), "JSON parse error, missing : in object pair");
	CHECK_STR(json_err("{\"a\":1 \"b\":2}"), "JSON parse error, expected separator in dict");
	CHECK_STR(json_err("{1:2}"), "JSON parse error, key is not a string in object");
	CHECK_STR(json_err("{\"a\":[1,2}"), "JSON parse error, expected separator in list");
	CHECK_STR(json_err("{} x"), "Expecting at most one JSON value");
	CHECK_STR(json_err("{}{}"), "Expecting at most one JSON value");
	CHECK_STR(json_err("{\"id\":null}"), "Invalid parameter type for 'id', expected: string");
	CHECK_STR(json_err("[1]"), "JSON value must be an object");
	CHECK_STR(json_err("{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]"
			   "]]]]]]]]]]]]]]]]}"), "JSON nesting depth limit exceeded");
}

static void test_bool(void)
{
	struct error e = { 0 };
	struct opts o;
	bool b = false;

	CHECK(opts_parse(&o, "a=on,b=yes,c=true,d=y,e=off,f=no,g=false,h=n,i=On,j=", NULL, &e) == 0);
	CHECK(opts_get_bool(&o, "a", &b, &e) == 1 && b);
	CHECK(opts_get_bool(&o, "b", &b, &e) == 1 && b);
	CHECK(opts_get_bool(&o, "c", &b, &e) == 1 && b);
	CHECK(opts_get_bool(&o, "d", &b, &e) == 1 && b);
	CHECK(opts_get_bool(&o, "e", &b, &e) == 1 && !b);
	CHECK(opts_get_bool(&o, "f", &b, &e) == 1 && !b);
	CHECK(opts_get_bool(&o, "g", &b, &e) == 1 && !b);
	CHECK(opts_get_bool(&o, "h", &b, &e) == 1 && !b);
	b = true;
	CHECK(opts_get_bool(&o, "missing", &b, &e) == 0 && b);
	CHECK(!e.set);
	CHECK(opts_get_bool(&o, "i", &b, &e) == -1);
	CHECK_STR(e.msg, "Parameter 'i' expects 'on' or 'off'");
	memset(&e, 0, sizeof(e));
	CHECK(opts_get_bool(&o, "j", &b, &e) == -1);
	CHECK_STR(e.msg, "Parameter 'j' expects 'on' or 'off'");
	opts_free(&o);

	memset(&e, 0, sizeof(e));
	CHECK(opts_parse_keyval(&o, "s=maybe,t=y", NULL, &e) == 0);
	CHECK(opts_get_bool(&o, "t", &b, &e) == 1 && b);
	CHECK(opts_get_bool(&o, "s", &b, &e) == -1);
	CHECK_STR(e.msg, "Parameter 's' expects 'on' or 'off'");
	opts_free(&o);

	memset(&e, 0, sizeof(e));
	CHECK(opts_parse_json(&o, "{\"a\":true,\"b\":1,\"c\":\"yes\"}", &e) == 0);
	CHECK(opts_get_bool(&o, "a", &b, &e) == 1 && b);
	CHECK(opts_get_bool(&o, "b", &b, &e) == -1);
	CHECK_STR(e.msg, "Invalid parameter type for 'b', expected: boolean");
	memset(&e, 0, sizeof(e));
	CHECK(opts_get_bool(&o, "c", &b, &e) == -1);
	CHECK_STR(e.msg, "Invalid parameter type for 'c', expected: boolean");
	opts_free(&o);
}

static void test_numbers(void)
{
	struct error e = { 0 };
	struct opts o;
	uint64_t u = 0;
	int64_t i = 0;

	CHECK(opts_parse(&o, "a=10,b=0x10,c=010,d=-5,e= 7,f=abc,g=1k,h=99999999999999999999,"
			 "k=18446744073709551615,l=", NULL, &e) == 0);
	CHECK(opts_get_u64(&o, "a", &u, &e) == 1 && u == 10);
	CHECK(opts_get_u64(&o, "b", &u, &e) == 1 && u == 16);
	CHECK(opts_get_u64(&o, "c", &u, &e) == 1 && u == 8);
	CHECK(opts_get_u64(&o, "e", &u, &e) == 1 && u == 7);
	CHECK(opts_get_u64(&o, "k", &u, &e) == 1 && u == UINT64_MAX);
	CHECK(opts_get_i64(&o, "d", &i, &e) == 1 && i == -5);
	CHECK(opts_get_i64(&o, "b", &i, &e) == 1 && i == 16);
	CHECK(opts_get_u64(&o, "none", &u, &e) == 0);
	CHECK(!e.set);
	CHECK(opts_get_u64(&o, "d", &u, &e) == -1);
	CHECK_STR(e.msg, "Parameter 'd' expects a uint64 value");
	memset(&e, 0, sizeof(e));
	CHECK(opts_get_u64(&o, "g", &u, &e) == -1);
	CHECK_STR(e.msg, "Parameter 'g' expects a uint64 value");
	memset(&e, 0, sizeof(e));
	CHECK(opts_get_u64(&o, "h", &u, &e) == -1);
	CHECK_STR(e.msg, "Parameter 'h' expects a uint64 value");
	memset(&e, 0, sizeof(e));
	CHECK(opts_get_i64(&o, "f", &i, &e) == -1);
	CHECK_STR(e.msg, "Parameter 'f' expects an int64 value");
	memset(&e, 0, sizeof(e));
	CHECK(opts_get_i64(&o, "k", &i, &e) == -1);
	CHECK_STR(e.msg, "Parameter 'k' expects an int64 value");
	memset(&e, 0, sizeof(e));
	CHECK(opts_get_i64(&o, "l", &i, &e) == -1);
	CHECK_STR(e.msg, "Parameter 'l' expects an int64 value");
	opts_free(&o);

	memset(&e, 0, sizeof(e));
	CHECK(opts_parse_keyval(&o, "a=0x20,b=abc,c=-1", NULL, &e) == 0);
	CHECK(opts_get_u64(&o, "a", &u, &e) == 1 && u == 32);
	CHECK(opts_get_u64(&o, "c", &u, &e) == 1 && u == UINT64_MAX);	/* qemu_strtou64 wraps */
	CHECK(opts_get_u64(&o, "b", &u, &e) == -1);
	CHECK_STR(e.msg, "Parameter 'b' expects integer");
	memset(&e, 0, sizeof(e));
	CHECK(opts_get_i64(&o, "b", &i, &e) == -1);
	CHECK_STR(e.msg, "Parameter 'b' expects integer");
	opts_free(&o);

	memset(&e, 0, sizeof(e));
	CHECK(opts_parse_json(&o, "{\"a\":5,\"b\":\"x\",\"c\":5.5,\"d\":-3}", &e) == 0);
	CHECK(opts_get_i64(&o, "a", &i, &e) == 1 && i == 5);
	CHECK(opts_get_i64(&o, "d", &i, &e) == 1 && i == -3);
	CHECK(opts_get_u64(&o, "a", &u, &e) == 1 && u == 5);
	CHECK(opts_get_i64(&o, "b", &i, &e) == -1);
	CHECK_STR(e.msg, "Invalid parameter type for 'b', expected: integer");
	memset(&e, 0, sizeof(e));
	CHECK(opts_get_i64(&o, "c", &i, &e) == -1);
	CHECK_STR(e.msg, "Invalid parameter type for 'c', expected: integer");
	opts_free(&o);
}

static uint64_t size_of(const char *v, int *ret, const char **msg)
{
	static struct error e;
	struct opts o;
	uint64_t u = 0;

	memset(&e, 0, sizeof(e));
	opts_parse(&o, "", NULL, &e);
	opts_add(&o, "s", v);
	*ret = opts_get_size(&o, "s", &u, &e);
	*msg = e.msg;
	opts_free(&o);
	return u;
}

static void test_sizes(void)
{
	const char *msg;
	int r;

	CHECK(size_of("0", &r, &msg) == 0 && r == 1);
	CHECK(size_of("1024", &r, &msg) == 1024 && r == 1);
	CHECK(size_of("1k", &r, &msg) == 1024 && r == 1);
	CHECK(size_of("1K", &r, &msg) == 1024 && r == 1);
	CHECK(size_of("2M", &r, &msg) == 2 * 1048576ULL && r == 1);
	CHECK(size_of("3G", &r, &msg) == 3ULL << 30 && r == 1);
	CHECK(size_of("1T", &r, &msg) == 1ULL << 40 && r == 1);
	CHECK(size_of("1P", &r, &msg) == 1ULL << 50 && r == 1);
	CHECK(size_of("1E", &r, &msg) == 1ULL << 60 && r == 1);
	CHECK(size_of("5B", &r, &msg) == 5 && r == 1);
	CHECK(size_of("1.5k", &r, &msg) == 1536 && r == 1);
	CHECK(size_of("0.5M", &r, &msg) == 524288 && r == 1);
	CHECK(size_of("1.k", &r, &msg) == 1024 && r == 1);
	CHECK(size_of("0x10", &r, &msg) == 16 && r == 1);
	CHECK(size_of("18446744073709551615", &r, &msg) == UINT64_MAX && r == 1);
	size_of("16E", &r, &msg);
	CHECK(r == -1);
	CHECK_STR(msg, "Parameter 's' expects a size value");
	size_of("1Q", &r, &msg);
	CHECK(r == -1);
	size_of("-1", &r, &msg);
	CHECK(r == -1);
	size_of("1.5", &r, &msg);
	CHECK(r == -1);
	size_of("0x10k", &r, &msg);
	CHECK(r == -1);
	size_of("1e3", &r, &msg);
	CHECK(r == -1);
	size_of("1.5e3k", &r, &msg);
	CHECK(r == -1);
	size_of("", &r, &msg);
	CHECK(r == -1);
	size_of("99999999999999999999", &r, &msg);
	CHECK(r == -1);
	CHECK_STR(msg, "Parameter 's' expects a size value");
}

static void test_size_keyval_json(void)
{
	struct error e = { 0 };
	struct opts o;
	uint64_t u = 0;

	CHECK(opts_parse_keyval(&o, "a=4k,b=x", NULL, &e) == 0);
	CHECK(opts_get_size(&o, "a", &u, &e) == 1 && u == 4096);
	CHECK(opts_get_size(&o, "b", &u, &e) == -1);
	CHECK_STR(e.msg, "Parameter 'b' expects size");
	opts_free(&o);
	memset(&e, 0, sizeof(e));
	CHECK(opts_parse_json(&o, "{\"a\":4096,\"b\":\"4k\"}", &e) == 0);
	CHECK(opts_get_size(&o, "a", &u, &e) == 1 && u == 4096);
	CHECK(opts_get_size(&o, "b", &u, &e) == -1);
	CHECK_STR(e.msg, "Invalid parameter type for 'b', expected: integer");
	opts_free(&o);
}

static void test_used_and_unused(void)
{
	struct error e = { 0 };
	struct opts o;
	int pos = 0;

	CHECK(opts_parse(&o, "t,a=1,b=2,a=3,c=4", "type", &e) == 0);
	CHECK_STR(opts_peek(&o, "a"), "3");
	CHECK(!o.v[1].used);
	CHECK_STR(opts_get(&o, "a"), "3");
	CHECK(o.v[1].used && o.v[3].used);
	opts_get(&o, "type");
	CHECK_STR(opts_next(&o, "b", &pos), "2");
	CHECK(opts_next(&o, "b", &pos) == NULL);
	CHECK(opts_check_unused(&o, &e) == -1);
	CHECK_STR(e.msg, "Invalid parameter 'c'");
	opts_get(&o, "c");
	memset(&e, 0, sizeof(e));
	CHECK(opts_check_unused(&o, &e) == 0);
	opts_free(&o);

	CHECK(opts_parse_keyval(&o, "t,addr.x=1", "type", &e) == 0);
	opts_get(&o, "type");
	CHECK(opts_check_unused(&o, &e) == -1);
	CHECK_STR(e.msg, "Parameter 'addr.x' is unexpected");
	opts_free(&o);
	memset(&e, 0, sizeof(e));
	CHECK(opts_parse_json(&o, "{\"foo\":1}", &e) == 0);
	CHECK(opts_check_unused(&o, &e) == -1);
	CHECK_STR(e.msg, "Parameter 'foo' is unexpected");
	opts_free(&o);
}

static void test_add_del_to_string(void)
{
	struct error e = { 0 };
	struct opts o;
	char *s;

	CHECK(opts_parse(&o, "tap,script=/a,,b,id=t", "type", &e) == 0);
	opts_add(&o, "x", "1");
	opts_add(&o, "x", "2");
	opts_add(&o, "empty", NULL);
	s = opts_to_string(&o);
	CHECK_STR(s, "id=t,type=tap,script=/a,,b,x=1,x=2,empty=");
	free(s);
	opts_del(&o, "x");
	CHECK(!opts_has(&o, "x"));
	s = opts_to_string(&o);
	CHECK_STR(s, "id=t,type=tap,script=/a,,b,empty=");
	free(s);
	/* round trip through the parser */
	{
		struct opts o2;

		s = opts_to_string(&o);
		CHECK(opts_parse(&o2, s, NULL, &e) == 0);
		CHECK_STR(opts_peek(&o2, "script"), "/a,b");
		CHECK_STR(opts_peek(&o2, "type"), "tap");
		opts_free(&o2);
		free(s);
	}
	/* the key may be an entry's own string (freed while deleting) */
	opts_del(&o, o.v[0].key);
	CHECK(!opts_has(&o, "id") && opts_has(&o, "type"));
	opts_free(&o);
	opts_free(&o);	/* twice is harmless */
}

int main(void)
{
	log_init("test_opts");
	RUN(test_qemuopts_basic);
	RUN(test_qemuopts_escapes);
	RUN(test_qemuopts_flags);
	RUN(test_qemuopts_id);
	RUN(test_keyval);
	RUN(test_keyval_errors);
	RUN(test_json);
	RUN(test_json_errors);
	RUN(test_bool);
	RUN(test_numbers);
	RUN(test_sizes);
	RUN(test_size_keyval_json);
	RUN(test_used_and_unused);
	RUN(test_add_del_to_string);
	TEST_DONE();
}
