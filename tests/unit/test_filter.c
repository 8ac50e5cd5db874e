// SPDX-License-Identifier: MIT
// test_filter.c - filter creation errors, ordering, direction rules, the pcap writer, the HMP parser

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "cli/opts.h"
#include "cli/chardev_opts.h"
#include "cli/filter_opts.h"
#include "core/filter.h"
#include "core/loop.h"
#include "core/net.h"
#include "monitor/monitor.h"

/* A client that counts what it receives */
struct rec_client {
	struct net_client nc;
	int frames;
	size_t last_len;
};

static ssize_t rec_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
				const struct net_meta *meta)
{
	struct rec_client *r = (struct rec_client *)nc;

	r->frames++;
	r->last_len = net_iov_size(iov, iovcnt);
	return (ssize_t)r->last_len;
}

static const struct net_client_ops rec_ops = {
	.driver = NET_DRIVER_STREAM,
	.size = sizeof(struct rec_client),
	.receive = rec_receive,
};

static struct net_client *cli_a, *cli_b, *cli_c;
static char tmpdir[64];

static int add(const char *spec, struct error *e)
{
	struct opts o = { 0 };
	int r;

	memset(e, 0, sizeof(*e));
	if (opts_parse(&o, spec, "qom-type", e) < 0)
		return -1;
	r = filter_opts_add(&o, e);
	opts_free(&o);
	return r;
}

static char *path(const char *name)
{
	static char buf[4][128];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmpdir, name);
	return buf[i];
}

/* expect_err() - @spec fails with exactly @msg */
static void expect_err(const char *spec, const char *msg)
{
	struct error e;
	char full[512];

	snprintf(full, sizeof(full), spec, tmpdir);
	CHECK(add(full, &e) < 0);
	CHECK_STR(e.msg, msg);
}

static void test_errors(void)
{
	struct error e;
	char spec[256];

	expect_err("filter-dump,netdev=a,file=%s/x", "Parameter 'id' is missing");
	expect_err("id=f0,netdev=a", "Parameter 'qom-type' is missing");
	expect_err("filter-foo,id=f0", "Parameter 'qom-type' does not accept value 'filter-foo'");
	expect_err("filter-dump,id=0bad,netdev=a,file=%s/x",
		   "Parameter 'id' expects an identifier\n"
		   "Identifiers consist of letters, digits, '-', '.', '_', starting with a letter.");
	expect_err("filter-dump,id=f0,file=%s/x", "Parameter 'netdev' is missing");
	expect_err("filter-dump,id=f0,netdev=zz,file=%s/x",
		   "Parameter 'netdev' expects a network backend id");
	expect_err("filter-dump,id=f0,netdev=a", "Parameter 'file' is missing");
	expect_err("filter-dump,id=f0,netdev=a,file=%s/x,queue=bad",
		   "Parameter 'queue' does not accept value 'bad'");
	expect_err("filter-dump,id=f0,netdev=a,file=%s/x,status=bad",
		   "Invalid value for netfilter status, should be 'on' or 'off'");
	expect_err("filter-dump,id=f0,netdev=a,file=%s/x,position=bad",
		   "Parameter 'position' expects 'head', 'tail' or 'id=<id>'");
	expect_err("filter-dump,id=f0,netdev=a,file=%s/x,position=id=nope",
		   "filter 'nope' not found");
	expect_err("filter-dump,id=f0,netdev=a,file=%s/x,insert=bad",
		   "Parameter 'insert' does not accept value 'bad'");
	expect_err("filter-dump,id=f0,netdev=a,file=%s/x,maxlen=0",
		   "Property 'filter-dump.maxlen' doesn't take value '0'");
	expect_err("filter-dump,id=f0,netdev=a,file=%s/x,maxlen=abc",
		   "Parameter 'maxlen' expects a uint64 value");
	expect_err("filter-dump,id=f0,netdev=a,file=%s/x,maxlen=-1",
		   "Parameter 'maxlen' expects a uint64 value");
	expect_err("filter-dump,id=f0,netdev=a,file=%s/x,maxlen=5000000000",
		   "Parameter 'maxlen' expects uint32_t");
	expect_err("filter-dump,id=f0,netdev=a,file=%s/x,foo=1", "Invalid parameter 'foo'");
	/* the open error names the file */
	snprintf(spec, sizeof(spec), "filter-dump,id=f0,netdev=a,file=%s/nodir/x", tmpdir);
	add(spec, &e);
	char want[256];
	snprintf(want, sizeof(want), "net dump: can't open %s/nodir/x: No such file or directory",
		 tmpdir);
	CHECK_STR(e.msg, want);
	/* a bad option must not create the file */
	CHECK(access(path("x"), F_OK) != 0);
	/* writing the header to a full device fails at creation */
	CHECK(add("filter-dump,id=f0,netdev=a,file=/dev/full", &e) < 0);
	CHECK_STR(e.msg, "net dump write error: No space left on device");
	/* nothing was attached by any of these */
	CHECK(cli_a->filters == NULL);
	CHECK(filter_find("f0") == NULL);

	snprintf(spec, sizeof(spec), "filter-dump,id=f0,netdev=a,file=%s", path("ok"));
	CHECK(add(spec, &e) == 0);
	expect_err("filter-dump,id=f0,netdev=b,file=%s/y", "Duplicate ID 'f0' for object");
	snprintf(spec, sizeof(spec), "filter-dump,id=f1,netdev=b,file=%s,position=id=f0",
		 path("y"));
	CHECK(add(spec, &e) < 0);
	CHECK_STR(e.msg, "filter 'f0' belongs to a different netdev");
	CHECK(filter_object_del("f0", NULL) == 0);
	memset(&e, 0, sizeof(e));
	CHECK(filter_object_del("f0", &e) < 0);
	CHECK_STR(e.msg, "object 'f0' not found");
	CHECK(cli_a->filters == NULL);
}

/* order() - the filter ids of @nc, head to tail, as "a b c" */
static const char *order(struct net_client *nc)
{
	static char buf[256];
	size_t n = 0;

	buf[0] = '\0';
	for (struct filter *f = nc->filters; f; f = f->next) {
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", n ? " " : "", f->id);
		/* the back links agree */
		if (f->next)
			CHECK(f->next->prev == f);
	}
	return buf;
}

static void add_ok(const char *fmt, const char *id)
{
	char spec[256];
	struct error e;

	snprintf(spec, sizeof(spec), fmt, id, path(id));
	if (add(spec, &e) < 0) {
		fprintf(stderr, "  %s: %s\n", spec, e.msg);
		CHECK(0);
	}
}

static void test_position(void)
{
	struct sbuf out = { 0 };
	char want[1024];

	add_ok("filter-dump,id=%s,netdev=a,file=%s", "t1");
	add_ok("filter-dump,id=%s,netdev=a,file=%s,position=head", "h1");
	add_ok("filter-dump,id=%s,netdev=a,file=%s,position=id=t1,insert=before", "b1");
	add_ok("filter-dump,id=%s,netdev=a,file=%s,position=id=t1", "a1");
	add_ok("filter-dump,id=%s,netdev=a,file=%s,position=id=h1,insert=before", "h0");
	add_ok("filter-dump,id=%s,netdev=a,file=%s,position=tail,queue=rx,status=off,maxlen=100",
	       "t2");
	CHECK_STR(order(cli_a), "h0 h1 b1 t1 a1 t2");

	filter_info(cli_a, &out);
	snprintf(want, sizeof(want),
		 "filters:\n"
		 "  - h0: type=filter-dump,file=%s/h0,maxlen=65536,position=id=h1,status=on,"
		 "insert=before,netdev=a,queue=all\n"
		 "  - h1: type=filter-dump,file=%s/h1,maxlen=65536,position=head,status=on,"
		 "insert=behind,netdev=a,queue=all\n"
		 "  - b1: type=filter-dump,file=%s/b1,maxlen=65536,position=id=t1,status=on,"
		 "insert=before,netdev=a,queue=all\n"
		 "  - t1: type=filter-dump,file=%s/t1,maxlen=65536,position=tail,status=on,"
		 "insert=behind,netdev=a,queue=all\n"
		 "  - a1: type=filter-dump,file=%s/a1,maxlen=65536,position=id=t1,status=on,"
		 "insert=behind,netdev=a,queue=all\n"
		 "  - t2: type=filter-dump,file=%s/t2,maxlen=100,position=tail,status=off,"
		 "insert=behind,netdev=a,queue=rx\n",
		 tmpdir, tmpdir, tmpdir, tmpdir, tmpdir, tmpdir);
	CHECK_STR(sbuf_str(&out), want);
	sbuf_free(&out);

	/* deleting from the middle, the head and the tail keeps the list sound */
	CHECK(filter_object_del("b1", NULL) == 0);
	CHECK(filter_object_del("h0", NULL) == 0);
	CHECK(filter_object_del("t2", NULL) == 0);
	CHECK_STR(order(cli_a), "h1 t1 a1");
	CHECK(cli_a->filters && cli_a->filters->prev == NULL);
	filter_detach_all(cli_a);
	CHECK(cli_a->filters == NULL);
	CHECK(filter_find("t1") == NULL);

	/* no filters: no lines */
	filter_info(cli_a, &out);
	CHECK_STR(sbuf_str(&out), "");
	sbuf_free(&out);
}

/* A recording filter type: logs "id:dir" and consumes if the id starts with 'x' */
static char walk_log[512];

static ssize_t log_receive(struct filter *f, struct net_client *sender, enum filter_dir dir,
			   const struct iovec *iov, int iovcnt, const struct net_meta *meta)
{
	size_t n = strlen(walk_log);

	snprintf(walk_log + n, sizeof(walk_log) - n, "%s%s:%s", n ? " " : "", f->id,
		 dir == FILTER_TX ? "tx" : "rx");
	return f->id[0] == 'x' ? 1234 : 0;
}

static const struct filter_ops log_ops = {
	.type = "filter-dump",	/* shown in place of the dump filter it stands in for */
	.receive = log_receive,
};

/* swap_ops() - make @nc's filters log instead of dumping (back with @ops) */
static void swap_ops(struct net_client *nc, const struct filter_ops *ops)
{
	for (struct filter *f = nc->filters; f; f = f->next)
		f->ops = ops;
}

static void test_walk(void)
{
	struct rec_client *rb = (struct rec_client *)cli_b;
	struct rec_client *ra = (struct rec_client *)cli_a;
	uint8_t frame[64] = { 0 };
	ssize_t r;

	add_ok("filter-dump,id=%s,netdev=a,file=%s", "a1");
	add_ok("filter-dump,id=%s,netdev=a,file=%s,queue=tx", "a2");
	add_ok("filter-dump,id=%s,netdev=a,file=%s,queue=rx", "a3");
	add_ok("filter-dump,id=%s,netdev=a,file=%s,status=off", "a4");
	add_ok("filter-dump,id=%s,netdev=a,file=%s", "a5");
	add_ok("filter-dump,id=%s,netdev=b,file=%s", "b1");
	add_ok("filter-dump,id=%s,netdev=b,file=%s,queue=rx", "b2");
	add_ok("filter-dump,id=%s,netdev=b,file=%s,queue=tx", "b3");
	swap_ops(cli_a, &log_ops);
	swap_ops(cli_b, &log_ops);

	/* a -> b: a's tx filters head to tail, then b's rx filters tail to head */
	walk_log[0] = '\0';
	rb->frames = 0;
	r = net_send_buf(cli_a, frame, sizeof(frame), NULL);
	CHECK(r == sizeof(frame));
	CHECK_STR(walk_log, "a1:tx a2:tx a5:tx b2:rx b1:rx");
	CHECK(rb->frames == 1);

	/* b -> a */
	walk_log[0] = '\0';
	ra->frames = 0;
	net_send_buf(cli_b, frame, sizeof(frame), NULL);
	CHECK_STR(walk_log, "b1:tx b3:tx a5:rx a3:rx a1:rx");
	CHECK(ra->frames == 1);

	/* a consuming filter stops the walk; its value goes back to the sender */
	add_ok("filter-dump,id=%s,netdev=b,file=%s,position=head,queue=rx", "x1");
	filter_find("x1")->ops = &log_ops;
	walk_log[0] = '\0';
	rb->frames = 0;
	r = net_send_buf(cli_a, frame, sizeof(frame), NULL);
	CHECK(r == 1234);
	CHECK_STR(walk_log, "a1:tx a2:tx a5:tx b2:rx b1:rx x1:rx");
	CHECK(rb->frames == 0);

	/* status=on again: a4 runs in both directions */
	filter_find("a4")->on = true;
	walk_log[0] = '\0';
	net_send_buf(cli_b, frame, sizeof(frame), NULL);
	CHECK_STR(walk_log, "b1:tx b3:tx a5:rx a4:rx a3:rx a1:rx");

	/* filter_run() on its own, and on a client without filters */
	walk_log[0] = '\0';
	CHECK(filter_run(cli_a, cli_a, FILTER_TX, NULL, 0, NULL) == 0);
	CHECK_STR(walk_log, "a1:tx a2:tx a4:tx a5:tx");
	CHECK(filter_run(cli_c, cli_c, FILTER_TX, NULL, 0, NULL) == 0);

	swap_ops(cli_a, &filter_dump_ops);
	swap_ops(cli_b, &filter_dump_ops);
	filter_detach_all(cli_a);
	filter_detach_all(cli_b);
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static void test_pcap(void)
{
	static uint8_t file[4096];
	uint8_t f60[60], f200[200];
	char spec[256];
	struct error e;
	struct iovec iov[2];
	struct timespec t0, t1;
	ssize_t n;
	int fd;

	for (int i = 0; i < 60; i++)
		f60[i] = (uint8_t)i;
	for (int i = 0; i < 200; i++)
		f200[i] = (uint8_t)(255 - i);
	clock_gettime(CLOCK_REALTIME, &t0);
	snprintf(spec, sizeof(spec), "filter-dump,id=d0,netdev=a,file=%s,maxlen=100",
		 path("d.pcap"));
	CHECK(add(spec, &e) == 0);
	/* tx of a (as two iovecs), rx of a, and a frame of c (not dumped) */
	iov[0] = (struct iovec){ f200, 14 };
	iov[1] = (struct iovec){ f200 + 14, 186 };
	net_send(cli_a, iov, 2, NULL);
	net_send_buf(cli_b, f60, sizeof(f60), NULL);
	net_send_buf(cli_c, f60, sizeof(f60), NULL);
	/* records become visible after the loop iteration */
	loop_run_once(0);
	clock_gettime(CLOCK_REALTIME, &t1);

	fd = open(path("d.pcap"), O_RDONLY);
	CHECK(fd >= 0);
	n = read(fd, file, sizeof(file));
	close(fd);
	CHECK(n == 24 + 16 + 100 + 16 + 60);
	if (n != 24 + 16 + 100 + 16 + 60)
		goto out;
	CHECK(rd32(file) == 0xa1b2c3d4);
	CHECK(rd16(file + 4) == 2 && rd16(file + 6) == 4);
	CHECK(rd32(file + 8) == 0 && rd32(file + 12) == 0);
	CHECK(rd32(file + 16) == 100);
	CHECK(rd32(file + 20) == 1);
	/* record 1: 200 bytes cut to 100 */
	const uint8_t *r = file + 24;
	CHECK(rd32(r) >= (uint32_t)t0.tv_sec && rd32(r) <= (uint32_t)t1.tv_sec);
	CHECK(rd32(r + 4) < 1000000);
	CHECK(rd32(r + 8) == 100 && rd32(r + 12) == 200);
	CHECK(!memcmp(r + 16, f200, 100));
	r += 16 + 100;
	CHECK(rd32(r + 8) == 60 && rd32(r + 12) == 60);
	CHECK(!memcmp(r + 16, f60, 60));
	/* timestamps don't go backwards */
	CHECK(rd32(r) > rd32(file + 24) ||
	      (rd32(r) == rd32(file + 24) && rd32(r + 4) >= rd32(file + 28)));

	/* records pending at deletion are written by cleanup */
	net_send_buf(cli_a, f60, sizeof(f60), NULL);
	CHECK(filter_object_del("d0", NULL) == 0);
	fd = open(path("d.pcap"), O_RDONLY);
	n = read(fd, file, sizeof(file));
	close(fd);
	CHECK(n == 24 + 16 + 100 + 16 + 60 + 16 + 60);
out:;
}

/* Many frames: the buffer fills and is written in pieces, nothing lost */
static void test_pcap_many(void)
{
	static uint8_t big[NET_BUFSIZE];
	char spec[256];
	struct stat st;
	struct error e;
	int frames = 0;
	size_t want = 24;

	snprintf(spec, sizeof(spec), "filter-dump,id=d1,netdev=a,file=%s,queue=tx,maxlen=%d",
		 path("m.pcap"), NET_BUFSIZE);
	CHECK(add(spec, &e) == 0);
	for (size_t len = 60; len <= NET_BUFSIZE; len = len * 3 + 1, frames++) {
		net_send_buf(cli_a, big, len, NULL);
		want += 16 + len;
	}
	net_send_buf(cli_a, big, NET_BUFSIZE, NULL);
	want += 16 + NET_BUFSIZE;
	loop_run_once(0);
	CHECK(stat(path("m.pcap"), &st) == 0 && (size_t)st.st_size == want);
	filter_detach_all(cli_a);
}

/* A write error mid-run (file size limit) stops the dump; later frames are ignored */
static void test_pcap_write_error(void)
{
	struct rlimit old, lim;
	uint8_t frame[300] = { 0 };
	char spec[256];
	struct stat st;
	struct error e;

	snprintf(spec, sizeof(spec), "filter-dump,id=d2,netdev=a,file=%s", path("e.pcap"));
	CHECK(add(spec, &e) == 0);
	CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
	signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = 1000;
	CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	for (int i = 0; i < 5; i++)
		net_send_buf(cli_a, frame, sizeof(frame), NULL);
	loop_run_once(0);
	for (int i = 0; i < 5; i++)
		net_send_buf(cli_a, frame, sizeof(frame), NULL);
	loop_run_once(0);
	CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
	/* the batch that failed is not in the file, nothing after it either */
	CHECK(stat(path("e.pcap"), &st) == 0 && st.st_size == 24);
	/* the frames still reached the peer */
	CHECK(((struct rec_client *)cli_b)->last_len == sizeof(frame));
	filter_detach_all(cli_a);
}

static void test_monitor_exec(void)
{
	struct sbuf out = { 0 };

	monitor_exec("foo bar", &out);
	CHECK_STR(sbuf_str(&out), "unknown command: 'foo'\n");
	sbuf_free(&out);
	monitor_exec("info foo", &out);
	CHECK_STR(sbuf_str(&out), "unknown command: 'info foo'\n");
	sbuf_free(&out);
	monitor_exec("  info   network extra", &out);
	CHECK_STR(sbuf_str(&out), "network: extraneous characters at the end of line\n"
		  "Try \"help   info   network\" for more information\n");
	sbuf_free(&out);
	monitor_exec(" info  foo", &out);
	CHECK_STR(sbuf_str(&out), "unknown command: 'info  foo'\n");
	sbuf_free(&out);
	monitor_exec("q now", &out);
	CHECK_STR(sbuf_str(&out), "quit: extraneous characters at the end of line\n"
		  "Try \"help q\" for more information\n");
	sbuf_free(&out);
	monitor_exec("help quit", &out);
	CHECK_STR(sbuf_str(&out), "quit|q  -- quit the emulator\n");
	sbuf_free(&out);
	monitor_exec("help info network", &out);
	CHECK_STR(sbuf_str(&out), "info network  -- show the network state\n");
	sbuf_free(&out);
	monitor_exec("help nosuch", &out);
	CHECK_STR(sbuf_str(&out), "unknown command: 'nosuch'\n");
	sbuf_free(&out);
	monitor_exec("   ", &out);
	CHECK_STR(sbuf_str(&out), "");
	monitor_exec("info", &out);
	CHECK(strstr(sbuf_str(&out), "info network  -- show the network state\n") != NULL);
	sbuf_free(&out);
	monitor_exec("?", &out);
	CHECK(strstr(sbuf_str(&out), "help|? [cmd] -- show the help\n") != NULL);
	CHECK(strstr(sbuf_str(&out), "info [subcommand] -- ") != NULL);
	sbuf_free(&out);

	/* info network shows a client and its filter */
	char spec[256];
	struct error e;
	snprintf(spec, sizeof(spec), "filter-dump,id=n0,netdev=c,file=%s", path("n.pcap"));
	CHECK(add(spec, &e) == 0);
	monitor_exec("info network", &out);
	char want[512];
	snprintf(want, sizeof(want), "c: index=0,type=stream,\nfilters:\n"
		 "  - n0: type=filter-dump,file=%s/n.pcap,maxlen=65536,position=tail,status=on,"
		 "insert=behind,netdev=c,queue=all\n", tmpdir);
	CHECK(strstr(sbuf_str(&out), want) != NULL);
	sbuf_free(&out);
	filter_detach_all(cli_c);
}

int main(void)
{
	char cmd[128];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/qnet-test-filter.XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	loop_init();
	cli_a = net_client_new(&rec_ops, NULL, "stream", "a");
	cli_b = net_client_new(&rec_ops, cli_a, "stream", "b");
	cli_c = net_client_new(&rec_ops, NULL, "stream", "c");

	RUN(test_errors);
	RUN(test_position);
	RUN(test_walk);
	RUN(test_pcap);
	RUN(test_pcap_many);
	RUN(test_pcap_write_error);
	RUN(test_monitor_exec);

	net_cleanup_all();
	loop_fini();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	TEST_DONE();
}
