// SPDX-License-Identifier: MIT
// test_filter_mirror.c - chardev-lite, filter-mirror/-redirector framing and injection, filter-buffer

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "test.h"
#include "cli/opts.h"
#include "cli/chardev_opts.h"
#include "cli/filter_opts.h"
#include "core/chardev.h"
#include "core/filter.h"
#include "core/loop.h"
#include "core/net.h"

/* A client that records the lengths and first payload byte of what it receives */
struct rec_client {
	struct net_client nc;
	int frames;
	int with_meta;
	size_t lens[64];
	uint8_t tags[64];
};

static ssize_t rec_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
				const struct net_meta *meta)
{
	struct rec_client *r = (struct rec_client *)nc;
	uint8_t b[16] = { 0 };
	size_t len = net_iov_size(iov, iovcnt);

	net_iov_copy(b, sizeof(b), iov, iovcnt);
	if (r->frames < 64) {
		r->lens[r->frames] = len;
		r->tags[r->frames] = b[14];
	}
	r->frames++;
	if (!net_meta_is_plain(meta))
		r->with_meta++;
	return (ssize_t)len;
}

static const struct net_client_ops rec_ops = {
	.driver = NET_DRIVER_STREAM,
	.size = sizeof(struct rec_client),
	.receive = rec_receive,
};

static struct rec_client *ra, *rb;
static char tmpdir[64];

static int run(int (*fn)(struct opts *, struct error *), const char *spec, const char *key,
	       struct error *e)
{
	struct opts o = { 0 };
	int r;

	memset(e, 0, sizeof(*e));
	if (opts_parse(&o, spec, key, e) < 0)
		return -1;
	r = fn(&o, e);
	opts_free(&o);
	return r;
}

static int add(const char *spec, struct error *e)
{
	return run(filter_opts_add, spec, "qom-type", e);
}

static int chardev(const char *fmt, struct error *e)
{
	char spec[256];

	snprintf(spec, sizeof(spec), fmt, tmpdir);
	return run(chardev_opts_create, spec, "backend", e);
}

static void reset(void)
{
	ra->frames = rb->frames = 0;
	ra->with_meta = rb->with_meta = 0;
}

/* send() - a frame of @len bytes from a to b, payload byte 14 = @tag */
static void send_frame(size_t len, uint8_t tag)
{
	static uint8_t f[NET_BUFSIZE];

	memset(f, 0xab, len);
	if (len > 14)
		f[14] = tag;
	net_send_buf(&ra->nc, f, len, NULL);
}

static int connect_unix(const char *name)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(un.sun_path, sizeof(un.sun_path), "%s/%s", tmpdir, name);
	if (connect(fd, (struct sockaddr *)&un, sizeof(un)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void spin(int ms)
{
	uint64_t end = loop_now_ms() + (uint64_t)ms;

	while (loop_now_ms() < end)
		loop_run_once(5);
}

/* read_all() - what the peer got so far (non-blocking) */
static size_t read_all(int fd, uint8_t *buf, size_t size)
{
	size_t n = 0;
	ssize_t r;

	while (n < size && (r = recv(fd, buf + n, size - n, MSG_DONTWAIT)) > 0)
		n += (size_t)r;
	return n;
}

static void test_chardev_errors(void)
{
	struct error e;

	CHECK(chardev("socket,id=c9", &e) < 0);
	CHECK_STR(e.msg, "Unable to parse FD number ");
	CHECK(chardev("socket,id=c9,host=127.0.0.1", &e) < 0);
	CHECK_STR(e.msg, "chardev: socket: no port given");
	CHECK(chardev("socket,id=c9,path=%s/x,host=h,port=1", &e) < 0);
	CHECK_STR(e.msg, "None or one of 'path', 'fd' or 'host' option required.");
	CHECK(chardev("socket,path=%s/x", &e) < 0);
	CHECK_STR(e.msg, "chardev: no id specified");
	CHECK(chardev("serial,id=c9", &e) < 0);
	CHECK_STR(e.msg, "'serial' is not a valid char driver name");
	CHECK(chardev("socket,id=9c,path=%s/x", &e) < 0);
	CHECK(strstr(e.msg, "Parameter 'id' expects an identifier") == e.msg);
	CHECK(chardev("socket,id=c9,path=%s/x,server=on,reconnect=1", &e) < 0);
	CHECK_STR(e.msg, "'reconnect' option is incompatible with socket in server listen mode");
	CHECK(chardev("socket,id=c9,path=%s/x,wait=off", &e) < 0);
	CHECK_STR(e.msg, "'wait' option is incompatible with socket in client connect mode");
	CHECK(chardev("socket,id=c9,path=%s/x,server=on,wait=off,delay=off,nodelay=on", &e) < 0);
	CHECK_STR(e.msg, "'delay' and 'nodelay' are mutually exclusive");
	CHECK(chardev("socket,id=c9,path=%s/x,server=on,wait=off,foo=1", &e) < 0);
	CHECK_STR(e.msg, "Invalid parameter 'foo'");
	CHECK(chardev("socket,id=c9,path=%s/nodir/x,server=on,wait=off", &e) < 0);
	CHECK(strstr(e.msg, "Failed to bind socket to ") == e.msg);
	CHECK(chardev("socket,id=c9,path=%s/none", &e) < 0);
	CHECK(strstr(e.msg, "Failed to connect to '") == e.msg);
	CHECK(chardev_find("c9") == NULL);
	CHECK(chardev("socket,id=m0,path=%s/m0.sock,server=on,wait=off", &e) == 0);
	CHECK(chardev("socket,id=m0,path=%s/m0b.sock,server=on,wait=off", &e) < 0);
	CHECK_STR(e.msg, "Duplicate ID 'm0' for chardev");
	CHECK(chardev("socket,id=i0,path=%s/i0.sock,server=on,wait=off", &e) == 0);
	CHECK(chardev("socket,id=o0,path=%s/o0.sock,server=on,wait=off", &e) == 0);
}

static void test_filter_errors(void)
{
	struct error e;

	CHECK(add("filter-mirror,id=f,netdev=a", &e) < 0);
	CHECK_STR(e.msg, "Parameter 'outdev' is missing");
	CHECK(add("filter-mirror,id=f,netdev=a,outdev=zz", &e) < 0);
	CHECK_STR(e.msg, "Device 'zz' not found");
	CHECK(add("filter-mirror,id=f,netdev=a,outdev=m0,vnet_hdr_support=x", &e) < 0);
	CHECK_STR(e.msg, "Parameter 'vnet_hdr_support' expects 'on' or 'off'");
	CHECK(add("filter-mirror,id=f,netdev=a,outdev=m0,indev=i0", &e) < 0);
	CHECK_STR(e.msg, "Invalid parameter 'indev'");
	CHECK(add("filter-redirector,id=f,netdev=a", &e) < 0);
	CHECK_STR(e.msg, "filter redirector needs 'indev' or 'outdev' at least one property set");
	CHECK(add("filter-redirector,id=f,netdev=a,indev=m0,outdev=m0", &e) < 0);
	CHECK_STR(e.msg, "'indev' and 'outdev' could not be same for filter redirector");
	CHECK(add("filter-redirector,id=f,netdev=a,indev=zz,outdev=yy", &e) < 0);
	CHECK_STR(e.msg, "IN Device 'zz' not found");
	CHECK(add("filter-redirector,id=f,netdev=a,indev=i0,outdev=yy", &e) < 0);
	CHECK_STR(e.msg, "OUT Device 'yy' not found");
	CHECK(add("filter-buffer,id=f,netdev=a", &e) < 0);
	CHECK_STR(e.msg, "Parameter 'interval' is missing");
	CHECK(add("filter-buffer,id=f,netdev=a,interval=0", &e) < 0);
	CHECK_STR(e.msg, "Property 'filter-buffer.interval' requires a positive value");
	CHECK(add("filter-buffer,id=f,netdev=a,interval=0,status=x", &e) < 0);
	CHECK_STR(e.msg, "Invalid value for netfilter status, should be 'on' or 'off'");
	CHECK(add("filter-buffer,id=f,netdev=a,interval=4294967296", &e) < 0);
	CHECK_STR(e.msg, "Parameter 'interval' expects uint32_t");
	CHECK(filter_find("f") == NULL);
	/* a failed redirector released i0: it can be attached again */
	CHECK(add("filter-redirector,id=f,netdev=a,indev=i0", &e) == 0);
	CHECK(add("filter-redirector,id=g,netdev=b,indev=i0", &e) < 0);
	CHECK_STR(e.msg, "Device 'i0' is in use");
	CHECK(filter_object_del("f", &e) == 0);
}

/* parse_records() - QEMU framing: count records, check lengths; -1 on a framing error */
static int parse_records(const uint8_t *p, size_t n, bool vnet, size_t *lens, int max)
{
	int k = 0;
	size_t hl = vnet ? 8 : 4;

	while (n >= hl) {
		uint32_t len, vl;

		memcpy(&len, p, 4);
		len = ntohl(len);
		memcpy(&vl, p + 4, 4);
		if (vnet && vl != 0)
			return -1;
		if (n < hl + len)
			return -1;
		if (k < max)
			lens[k] = len;
		k++;
		p += hl + len;
		n -= hl + len;
	}
	return n ? -1 : k;
}

static void test_mirror_framing(void)
{
	static uint8_t buf[1 << 20];
	struct error e;
	size_t lens[8];
	int fd;

	for (int vnet = 0; vnet < 2; vnet++) {
		char spec[128];

		fd = connect_unix("m0.sock");
		CHECK(fd >= 0);
		spin(20);
		CHECK(chardev_connected(chardev_find("m0")));
		snprintf(spec, sizeof(spec), "filter-mirror,id=mm,netdev=a,outdev=m0,queue=tx%s",
			 vnet ? ",vnet_hdr_support=on" : "");
		CHECK(add(spec, &e) == 0);
		reset();
		send_frame(60, 1);
		send_frame(1514, 2);
		send_frame(0, 3);	/* empty: nothing written */
		send_frame(9000, 4);
		spin(20);
		CHECK(rb->frames == 3);	/* the mirror passes frames on */
		size_t n = read_all(fd, buf, sizeof(buf));
		CHECK(parse_records(buf, n, vnet, lens, 8) == 3);
		CHECK(lens[0] == 60 && lens[1] == 1514 && lens[2] == 9000);
		CHECK(n == 60 + 1514 + 9000 + 3 * (vnet ? 8 : 4));
		CHECK(buf[(vnet ? 8 : 4) + 14] == 1);
		/* rx direction isn't mirrored with queue=tx */
		net_send_buf(&rb->nc, buf, 100, NULL);
		spin(10);
		CHECK(read_all(fd, buf, sizeof(buf)) == 0);
		CHECK(filter_object_del("mm", &e) == 0);
		close(fd);
		spin(20);
		CHECK(!chardev_connected(chardev_find("m0")));
	}
	/* no peer: frames pass, nothing blocks */
	CHECK(add("filter-mirror,id=mm,netdev=a,outdev=m0", &e) == 0);
	reset();
	send_frame(100, 5);
	CHECK(rb->frames == 1);
	CHECK(chardev_get_stats(chardev_find("m0"))->drops >= 1);
	CHECK(filter_object_del("mm", &e) == 0);
}

static void test_redirector(void)
{
	static uint8_t buf[1 << 20];
	struct error e;
	size_t lens[8];
	int fd;

	/* outdev: frames are consumed and written */
	fd = connect_unix("o0.sock");
	spin(20);
	CHECK(add("filter-redirector,id=rr,netdev=a,queue=tx,outdev=o0,indev=i0", &e) == 0);
	reset();
	send_frame(64, 1);
	send_frame(128, 2);
	spin(20);
	CHECK(rb->frames == 0);
	CHECK(parse_records(buf, read_all(fd, buf, sizeof(buf)), false, lens, 8) == 2);
	CHECK(lens[0] == 64 && lens[1] == 128);
	/* rx frames pass (queue=tx) */
	net_send_buf(&rb->nc, buf, 70, NULL);
	CHECK(ra->frames == 1);

	/* indev: split anywhere, injected as sent by a (to b) */
	uint8_t in[3 * (4 + 200)];
	size_t off = 0;

	for (int i = 0; i < 3; i++) {
		uint32_t l = htonl(200);

		memcpy(in + off, &l, 4);
		memset(in + off + 4, 0x10 + i, 200);
		off += 204;
	}
	reset();
	for (size_t i = 0; i < off; i++)
		chardev_test_feed(chardev_find("i0"), in + i, 1);
	CHECK(rb->frames == 3 && ra->frames == 0);
	CHECK(rb->lens[0] == 200 && rb->tags[2] == 0x12);
	/* an empty frame is skipped; an oversized one resets the reassembler */
	uint8_t z[4 + 4 + 70] = { 0, 0, 0, 0, 0, 0, 0, 70 };

	reset();
	chardev_test_feed(chardev_find("i0"), z, sizeof(z));
	CHECK(rb->frames == 1 && rb->lens[0] == 70);
	static uint8_t big[4 + NET_BUFSIZE + 1];
	uint32_t bl = htonl(NET_BUFSIZE + 1);

	memcpy(big, &bl, 4);
	reset();
	chardev_test_feed(chardev_find("i0"), big, sizeof(big));
	CHECK(rb->frames == 0);
	chardev_test_feed(chardev_find("i0"), z + 4, sizeof(z) - 4);
	CHECK(rb->frames == 1 && rb->lens[0] == 70);
	/* status off: no reading */
	struct error e2 = { 0 };

	CHECK(filter_qom_set("rr", "status", "off", &e2) == 0);
	reset();
	chardev_test_feed(chardev_find("i0"), z + 4, sizeof(z) - 4);
	CHECK(rb->frames == 0);
	CHECK(filter_qom_set("rr", "status", "on", &e2) == 0);
	/* queue=all injects both ways (QEMU) */
	CHECK(filter_qom_set("/objects/rr", "queue", "all", &e2) == 0);
	reset();
	chardev_test_feed(chardev_find("i0"), z + 4, sizeof(z) - 4);
	CHECK(rb->frames == 1 && ra->frames == 1);
	/* vnet framing on indev */
	CHECK(filter_qom_set("rr", "queue", "rx", &e2) == 0);
	CHECK(filter_qom_set("rr", "vnet_hdr_support", "on", &e2) == 0);
	uint8_t v[4 + 4 + 80] = { 0, 0, 0, 80, 0, 0, 0, 0 };

	reset();
	chardev_test_feed(chardev_find("i0"), v, sizeof(v));
	CHECK(ra->frames == 1 && rb->frames == 0 && ra->lens[0] == 80);
	/* qom-set errors */
	memset(&e2, 0, sizeof(e2));
	CHECK(filter_qom_set("zz", "status", "on", &e2) < 0);
	CHECK_STR(e2.msg, "Device 'zz' not found");
	memset(&e2, 0, sizeof(e2));
	CHECK(filter_qom_set("rr", "status", "x", &e2) < 0);
	CHECK_STR(e2.msg, "Invalid value for netfilter status, should be 'on' or 'off'");
	memset(&e2, 0, sizeof(e2));
	CHECK(filter_qom_set("rr", "queue", "x", &e2) < 0);
	CHECK_STR(e2.msg, "Parameter 'queue' does not accept value 'x'");
	memset(&e2, 0, sizeof(e2));
	CHECK(filter_qom_set("rr", "nope", "1", &e2) < 0);
	CHECK_STR(e2.msg, "Property 'filter-redirector.nope' not found");
	CHECK(filter_object_del("rr", &e) == 0);
	close(fd);
	spin(20);
}

static void test_buffer(void)
{
	struct error e;

	CHECK(add("filter-buffer,id=bb,netdev=a,interval=30000", &e) == 0);
	reset();
	for (int i = 0; i < 20; i++)
		send_frame(60 + (size_t)i, (uint8_t)i);
	net_send_buf(&rb->nc, "0123456789abcdefghij", 20, NULL);	/* rx: held too */
	CHECK(rb->frames == 0 && ra->frames == 0);
	spin(80);
	CHECK(rb->frames == 20 && ra->frames == 1);
	int inorder = 1;

	for (int i = 0; i < 20; i++)
		inorder &= rb->lens[i] == 60 + (size_t)i && rb->tags[i] == i;
	CHECK(inorder);
	/* status off releases at once and lets frames through */
	reset();
	send_frame(100, 1);
	CHECK(rb->frames == 0);
	CHECK(filter_qom_set("bb", "status", "off", &e) == 0);
	CHECK(rb->frames == 1);
	send_frame(100, 2);
	CHECK(rb->frames == 2);
	CHECK(filter_qom_set("bb", "status", "on", &e) == 0);
	/* the cap: 10000 frames, the rest dropped (sender still told "sent") */
	reset();
	for (int i = 0; i < 10050; i++)
		send_frame(60, 7);
	CHECK(filter_object_del("bb", &e) == 0);	/* releases what it holds */
	CHECK(rb->frames == 10000);
	/* large frames: the byte cap */
	CHECK(add("filter-buffer,id=bb,netdev=a,interval=1000000", &e) == 0);
	reset();
	for (int i = 0; i < 100; i++)
		send_frame(65000, (uint8_t)i);
	CHECK(filter_object_del("bb", &e) == 0);
	CHECK(rb->frames > 50 && rb->frames < 100);
	CHECK(rb->tags[0] == 0 && rb->tags[10] == 10);
}

/* tso_frame() - Ethernet + IPv4 + TCP + 4000 bytes, and TSO metadata for 4 segments of 1000 */
static size_t tso_frame(uint8_t *f, struct net_meta *m)
{
	size_t len = 14 + 20 + 20 + 4000;

	memset(f, 0, len);
	f[0] = 2, f[6] = 2, f[11] = 1;
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = (uint8_t)((len - 14) >> 8), f[17] = (uint8_t)(len - 14);
	f[22] = 64, f[23] = 6;
	f[26] = 10, f[29] = 1, f[30] = 10, f[33] = 2;
	f[46] = 5 << 4;
	f[47] = 0x18;
	for (size_t i = 54; i < len; i++)
		f[i] = (uint8_t)i;
	*m = (struct net_meta){ .flags = NET_META_F_NEEDS_CSUM, .gso_type = NET_META_GSO_TCPV4,
				.hdr_len = 54, .gso_size = 1000, .csum_start = 34, .csum_offset = 16 };
	return len;
}

/* offloads through filters: mirror with and without vnet_hdr_support, redirector indev
 * headers, buffer keeping metadata, dump writing segments */
static void test_offload_filters(void)
{
	static uint8_t f[8192], buf[1 << 16];
	struct net_meta m;
	struct iovec v;
	struct error e;
	size_t lens[8], n;
	uint32_t l;
	int fd;

	v.iov_base = f;
	v.iov_len = tso_frame(f, &m);
	/* vnet_hdr_support=on: the frame whole, behind its virtio-net header */
	fd = connect_unix("m0.sock");
	spin(20);
	CHECK(add("filter-mirror,id=mm,netdev=a,outdev=m0,queue=tx,vnet_hdr_support=on", &e) == 0);
	reset();
	CHECK(net_send_meta(&ra->nc, &v, 1, &m, NULL) > 0);
	CHECK(rb->frames == 4 && rb->with_meta == 0);	/* b takes no offloads: segments */
	spin(20);
	n = read_all(fd, buf, sizeof(buf));
	CHECK(n == 8 + 10 + v.iov_len);
	memcpy(&l, buf, 4);
	CHECK(ntohl(l) == 10 + v.iov_len);
	memcpy(&l, buf + 4, 4);
	CHECK(ntohl(l) == 10);
	CHECK(buf[8] == NET_META_F_NEEDS_CSUM && buf[9] == NET_META_GSO_TCPV4);
	CHECK(buf[12] == (1000 & 0xff) && buf[13] == (1000 >> 8) && buf[14] == 34 &&
	      buf[16] == 16);
	CHECK(!memcmp(buf + 18, f, v.iov_len));
	CHECK(filter_object_del("mm", &e) == 0);
	/* off: software segments, plain records */
	CHECK(add("filter-mirror,id=mm,netdev=a,outdev=m0,queue=tx", &e) == 0);
	CHECK(net_send_meta(&ra->nc, &v, 1, &m, NULL) > 0);
	spin(20);
	n = read_all(fd, buf, sizeof(buf));
	CHECK(parse_records(buf, n, false, lens, 8) == 4);
	CHECK(lens[0] == 1054 && lens[3] == 1054);
	CHECK(filter_object_del("mm", &e) == 0);
	close(fd);
	spin(20);

	/* redirector indev: a 10-byte header becomes metadata */
	static uint8_t in[8 + 10 + 8192];
	uint32_t h[2] = { htonl((uint32_t)(10 + v.iov_len)), htonl(10) };

	memcpy(in, h, 8);
	memcpy(in + 8, (uint8_t[10]){ 1, 1, 54, 0, 0xe8, 3, 34, 0, 16, 0 }, 10);
	memcpy(in + 18, f, v.iov_len);
	CHECK(add("filter-redirector,id=rr,netdev=a,queue=rx,indev=i0,vnet_hdr_support=on",
		  &e) == 0);
	reset();
	ra->nc.offloads = NET_OFF_ALL;
	chardev_test_feed(chardev_find("i0"), in, 18 + v.iov_len);
	CHECK(ra->frames == 1 && ra->with_meta == 1 && ra->lens[0] == v.iov_len);
	reset();
	ra->nc.offloads = 0;
	chardev_test_feed(chardev_find("i0"), in, 18 + v.iov_len);
	CHECK(ra->frames == 4 && ra->with_meta == 0 && ra->lens[0] == 1054);
	/* a vnet header length of 7: dropped */
	h[0] = htonl(7 + 60);
	h[1] = htonl(7);
	memcpy(in, h, 8);
	reset();
	chardev_test_feed(chardev_find("i0"), in, 8 + 7 + 60);
	CHECK(ra->frames == 0);
	CHECK(filter_object_del("rr", &e) == 0);

	/* filter-buffer keeps the metadata of what it holds */
	CHECK(add("filter-buffer,id=bb,netdev=a,interval=1000000", &e) == 0);
	reset();
	rb->nc.offloads = NET_OFF_ALL;
	net_send_meta(&ra->nc, &v, 1, &m, NULL);
	CHECK(rb->frames == 0);
	CHECK(filter_object_del("bb", &e) == 0);
	CHECK(rb->frames == 1 && rb->with_meta == 1);
	rb->nc.offloads = 0;

	/* filter-dump writes the segments a tap without offloads would see */
	char spec[160], path[96];
	FILE *pf;

	snprintf(path, sizeof(path), "%s/o.pcap", tmpdir);
	snprintf(spec, sizeof(spec), "filter-dump,id=dd,netdev=a,file=%s", path);
	CHECK(add(spec, &e) == 0);
	net_send_meta(&ra->nc, &v, 1, &m, NULL);
	CHECK(filter_object_del("dd", &e) == 0);
	pf = fopen(path, "rb");
	CHECK(pf != NULL);
	if (pf) {
		n = fread(buf, 1, sizeof(buf), pf);
		fclose(pf);
		CHECK(n == 24 + 4 * (16 + 1054));
		memcpy(&l, buf + 24 + 8, 4);
		CHECK(l == 1054);
	}
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/qnet-mirror.XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	loop_init();
	ra = (struct rec_client *)net_client_new(&rec_ops, NULL, "stream", "a");
	rb = (struct rec_client *)net_client_new(&rec_ops, &ra->nc, "stream", "b");
	RUN(test_chardev_errors);
	RUN(test_filter_errors);
	RUN(test_mirror_framing);
	RUN(test_redirector);
	RUN(test_buffer);
	RUN(test_offload_filters);
	net_cleanup_all();
	chardev_cleanup_all();
	loop_fini();
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		return 1;
	TEST_DONE();
}
