// SPDX-License-Identifier: MIT
// blast: pushes frames into one port of a hub (qnet stream or vde_switch) and counts them on another.
/*
 * Usage:
 *   blast stream TX_PATH RX_PATH [options]   QEMU stream framing over two unix sockets
 *   blast vde SWITCH_DIR [options]           two vde_switch ports through libvdeplug
 *   blast self [options]                     no hub: the stream loop on a socketpair
 *   blast self-dgram [options]               no hub: the vde (datagram) loop on a socketpair
 *                                            (both: the client's own ceiling)
 *
 * Options:
 *   --size N      Ethernet frame length in bytes (default 64; 14..9216)
 *   --warmup S    seconds before counting starts (default 1)
 *   --time S      seconds counted (default 5)
 *   --batch N     frames per send syscall (stream: about 128 KiB worth, vde: 64; at most 1024)
 *   --learn       the receiver first sends one broadcast frame so a learning switch knows its MAC
 *   --spin        never sleep: retry at once when both sockets would block (default: poll())
 *
 * One thread, non-blocking sockets, poll() when both would block (--spin: retry at once instead);
 * bounded by time and by a turn count. Every turn drains the receive socket first (so a
 * switch that drops when its output is full is not starved by us), then pushes one batch into the
 * transmit socket. stream: one write() of many back-to-back [4-byte big-endian length][frame]
 * records, partial writes resumed at the same offset. vde: one sendmmsg() of many datagrams, one
 * frame per datagram, on the data fd libvdeplug returns. The receiver counts only frames of the
 * right length and EtherType, so a silent drop anywhere shows up as a lower count.
 *
 * Prints one line:
 *   frames=N bytes=N secs=S fps=F gbps=G sent=N bad=N cpu=S
 * frames/bytes/sent/bad are counted inside the measured window; gbps counts frame bytes only (no
 * length prefix, no Ethernet preamble/FCS); cpu is blast's own CPU time over its whole life.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef BLAST_NO_VDE
#include <libvdeplug.h>
#endif

#define BLAST_ETHERTYPE_HI 0x88
#define BLAST_ETHERTYPE_LO 0xb5	/* IEEE local experimental EtherType */
#define BLAST_MAX_FRAME 9216
#define BLAST_MAX_BATCH 1024
#define BLAST_STREAM_BUF (128 * 1024)
#define BLAST_RX_BUF (512 * 1024)
#define BLAST_MAX_TURNS 2000000000ULL	/* hard bound on loop turns, on top of the time bound */

static const uint8_t blast_tx_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0xb1, 0x01 };
static const uint8_t blast_rx_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0xb1, 0x02 };

struct blast_opts {
	size_t size;
	double warmup;
	double time;
	unsigned batch;
	int learn;
	int spin;
};

struct blast_count {
	unsigned long long frames;
	unsigned long long bytes;
	unsigned long long sent;
	unsigned long long bad;
};

/* Receive-side state of the stream record parser. */
struct blast_parser {
	uint8_t hdr[4];
	unsigned hdr_have;	/* bytes of the length prefix seen */
	size_t body_left;	/* bytes of the current frame still to skip */
	size_t body_seen;	/* bytes of the current frame seen so far */
	int body_ok;		/* current frame passes the checks so far */
};

static double blast_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void blast_die(const char *what)
{
	fprintf(stderr, "blast: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void blast_usage(void)
{
	fprintf(stderr, "usage: blast stream TX_PATH RX_PATH [OPTIONS]\n"
		"       blast vde SWITCH_DIR [OPTIONS]\n"
		"       blast self|self-dgram [OPTIONS]\n"
		"options: --size N  --warmup S  --time S  --batch N  --learn  --spin\n");
	exit(2);
}

static void blast_set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		blast_die("fcntl");
}

/**
 * blast_fill_frame() - write a test frame of @size bytes into @p.
 * @p: destination
 * @size: frame length
 * @src: source MAC
 * @dst: destination MAC
 */
static void blast_fill_frame(uint8_t *p, size_t size, const uint8_t *src, const uint8_t *dst)
{
	memcpy(p, dst, 6);
	memcpy(p + 6, src, 6);
	p[12] = BLAST_ETHERTYPE_HI;
	p[13] = BLAST_ETHERTYPE_LO;
	for (size_t i = 14; i < size; i++)
		p[i] = (uint8_t)i;
}

/**
 * blast_connect_unix() - connect to a unix stream socket, retrying while it does not exist yet.
 * @path: socket path
 *
 * Retries for at most 5 seconds (the server may still be starting).
 * Return: the connected fd.
 */
static int blast_connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	double deadline = blast_now() + 5.0;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "blast: path too long: %s\n", path);
		exit(2);
	}
	strcpy(sa.sun_path, path);
	for (int tries = 0; tries < 1000; tries++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			blast_die("socket");
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		close(fd);
		if ((errno != ENOENT && errno != ECONNREFUSED) || blast_now() > deadline)
			break;
		usleep(10000);
	}
	fprintf(stderr, "blast: connect %s: %s\n", path, strerror(errno));
	exit(2);
}

/**
 * blast_parse() - count complete stream records in @buf.
 * @ps: parser state, carried across calls
 * @buf: bytes read from the socket
 * @n: number of bytes
 * @size: expected frame length
 * @c: counters to update
 */
static void blast_parse(struct blast_parser *ps, const uint8_t *buf, size_t n, size_t size,
			struct blast_count *c)
{
	size_t pos = 0;

	while (pos < n) {
		if (ps->body_left == 0 && ps->hdr_have < 4) {
			ps->hdr[ps->hdr_have++] = buf[pos++];
			if (ps->hdr_have == 4) {
				uint32_t len = (uint32_t)ps->hdr[0] << 24 | (uint32_t)ps->hdr[1] << 16 |
					       (uint32_t)ps->hdr[2] << 8 | ps->hdr[3];

				ps->body_left = len;
				ps->body_seen = 0;
				ps->body_ok = len == size;
				if (len == 0) {
					c->bad++;
					ps->hdr_have = 0;
				}
			}
			continue;
		}
		size_t take = n - pos < ps->body_left ? n - pos : ps->body_left;

		/* check the EtherType if it lies in this chunk */
		if (ps->body_seen <= 12 && ps->body_seen + take >= 14) {
			const uint8_t *et = buf + pos + (12 - ps->body_seen);

			if (et[0] != BLAST_ETHERTYPE_HI || et[1] != BLAST_ETHERTYPE_LO)
				ps->body_ok = 0;
		}
		pos += take;
		ps->body_seen += take;
		ps->body_left -= take;
		if (ps->body_left == 0) {
			if (ps->body_ok) {
				c->frames++;
				c->bytes += size;
			} else {
				c->bad++;
			}
			ps->hdr_have = 0;
		}
	}
}

/* The measurement clock: counters are snapshotted when warm-up ends and when time is up. */
struct blast_clock {
	double t_start, t_end;
	int phase;		/* 0 warm-up, 1 counting, 2 done */
	struct blast_count at_start, at_end;
	double secs;
};

static int blast_tick(struct blast_clock *ck, const struct blast_count *c, double now)
{
	if (ck->phase == 0 && now >= ck->t_start) {
		ck->at_start = *c;
		ck->t_start = now;
		ck->phase = 1;
	} else if (ck->phase == 1 && now >= ck->t_end) {
		ck->at_end = *c;
		ck->secs = now - ck->t_start;
		ck->phase = 2;
	}
	return ck->phase == 2;
}

static void blast_report(const struct blast_clock *ck)
{
	struct blast_count d = {
		.frames = ck->at_end.frames - ck->at_start.frames,
		.bytes = ck->at_end.bytes - ck->at_start.bytes,
		.sent = ck->at_end.sent - ck->at_start.sent,
		.bad = ck->at_end.bad - ck->at_start.bad,
	};
	double secs = ck->secs > 0 ? ck->secs : 1e-9;
	struct rusage ru;
	double cpu = 0;

	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	printf("frames=%llu bytes=%llu secs=%.3f fps=%.0f gbps=%.3f sent=%llu bad=%llu cpu=%.2f\n",
	       d.frames, d.bytes, secs, d.frames / secs, d.bytes * 8.0 / secs / 1e9, d.sent, d.bad, cpu);
	fflush(stdout);
}

static void blast_clock_init(struct blast_clock *ck, const struct blast_opts *o)
{
	double t0 = blast_now();

	memset(ck, 0, sizeof(*ck));
	ck->t_start = t0 + o->warmup;
	ck->t_end = t0 + o->warmup + o->time;
}

/**
 * blast_stream_fds() - run the stream (qnet / QEMU framing) benchmark on connected sockets.
 * @tx: the sender's socket
 * @rx: the receiver's socket
 * @o: options
 *
 * Return: exit status.
 */
static int blast_stream_fds(int tx, int rx, const struct blast_opts *o)
{
	size_t rec = o->size + 4;
	unsigned nframes = o->batch ? o->batch : (unsigned)(BLAST_STREAM_BUF / rec);
	struct blast_parser ps = { 0 };
	struct blast_count c = { 0 };
	struct blast_clock ck;
	uint8_t *txbuf, *rxbuf;
	size_t txlen, txoff = 0, partial = 0;

	if (nframes < 1)
		nframes = 1;
	if (nframes > BLAST_MAX_BATCH)
		nframes = BLAST_MAX_BATCH;
	txlen = nframes * rec;
	txbuf = malloc(txlen);
	rxbuf = malloc(BLAST_RX_BUF);
	if (!txbuf || !rxbuf)
		blast_die("malloc");
	for (unsigned i = 0; i < nframes; i++) {
		uint8_t *p = txbuf + i * rec;

		p[0] = (uint8_t)(o->size >> 24);
		p[1] = (uint8_t)(o->size >> 16);
		p[2] = (uint8_t)(o->size >> 8);
		p[3] = (uint8_t)o->size;
		blast_fill_frame(p + 4, o->size, blast_tx_mac, blast_rx_mac);
	}

	blast_set_nonblock(rx);
	blast_set_nonblock(tx);
	if (o->learn) {
		uint8_t learn[4 + 64];

		learn[0] = learn[1] = learn[2] = 0;
		learn[3] = 64;
		blast_fill_frame(learn + 4, 64, blast_rx_mac, (const uint8_t[6]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff });
		if (write(rx, learn, sizeof(learn)) != (ssize_t)sizeof(learn))
			blast_die("write learn frame");
	}

	blast_clock_init(&ck, o);
	for (unsigned long long turn = 0; turn < BLAST_MAX_TURNS; turn++) {
		struct pollfd pfd[2] = { { .fd = rx, .events = POLLIN }, { .fd = tx, .events = POLLOUT } };
		int rx_again = 0, tx_again = 0;

		/* drain the receiver (bounded per turn) */
		for (int i = 0; i < 64; i++) {
			ssize_t n = read(rx, rxbuf, BLAST_RX_BUF);

			if (n > 0) {
				blast_parse(&ps, rxbuf, (size_t)n, o->size, &c);
				continue;
			}
			if (n == 0) {
				fprintf(stderr, "blast: receiver: connection closed by the hub\n");
				return 1;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				rx_again = 1;
				break;
			}
			if (errno != EINTR)
				blast_die("read");
		}
		/* one batch into the sender */
		ssize_t n = write(tx, txbuf + txoff, txlen - txoff);

		if (n > 0) {
			/* count complete records handed to the socket */
			partial += (size_t)n;
			c.sent += partial / rec;
			partial %= rec;
			txoff += (size_t)n;
			if (txoff == txlen)
				txoff = 0;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			tx_again = 1;
		} else if (n < 0 && errno != EINTR) {
			blast_die("write");
		}
		if (blast_tick(&ck, &c, blast_now()))
			break;
		if (rx_again && tx_again && !o->spin && poll(pfd, 2, 100) < 0 && errno != EINTR)
			blast_die("poll");
	}
	blast_report(&ck);
	close(tx);
	close(rx);
	free(txbuf);
	free(rxbuf);
	return 0;
}

/**
 * blast_stream() - run the stream benchmark against a hub's two unix stream sockets.
 * @tx_path: socket the sender connects to
 * @rx_path: socket the receiver connects to
 * @o: options
 *
 * Return: exit status.
 */
static int blast_stream(const char *tx_path, const char *rx_path, const struct blast_opts *o)
{
	/* receiver first: a stream port's link is down until its client connects */
	int rx = blast_connect_unix(rx_path);
	int tx = blast_connect_unix(tx_path);

	return blast_stream_fds(tx, rx, o);
}

/**
 * blast_dgram_fds() - run the datagram benchmark (one frame per datagram) on connected sockets.
 * @tx: the sender's socket
 * @rx: the receiver's socket
 * @o: options
 *
 * With --learn the receiver first sends one broadcast frame and the sender one test frame, so a
 * learning switch knows both MACs before counting starts.
 * Return: exit status.
 */
static int blast_dgram_fds(int tx, int rx, const struct blast_opts *o)
{
	unsigned nb = o->batch ? o->batch : 64;
	struct blast_count c = { 0 };
	struct blast_clock ck;
	uint8_t *frame, *rxbufs;
	struct mmsghdr *txm, *rxm;
	struct iovec txiov, *rxiov;

	if (nb > BLAST_MAX_BATCH)
		nb = BLAST_MAX_BATCH;
	frame = malloc(o->size);
	rxbufs = malloc((size_t)nb * BLAST_MAX_FRAME);
	txm = calloc(nb, sizeof(*txm));
	rxm = calloc(nb, sizeof(*rxm));
	rxiov = calloc(nb, sizeof(*rxiov));
	if (!frame || !rxbufs || !txm || !rxm || !rxiov)
		blast_die("malloc");
	blast_fill_frame(frame, o->size, blast_tx_mac, blast_rx_mac);
	txiov.iov_base = frame;
	txiov.iov_len = o->size;
	for (unsigned i = 0; i < nb; i++) {
		txm[i].msg_hdr.msg_iov = &txiov;
		txm[i].msg_hdr.msg_iovlen = 1;
		rxiov[i].iov_base = rxbufs + (size_t)i * BLAST_MAX_FRAME;
		rxiov[i].iov_len = BLAST_MAX_FRAME;
		rxm[i].msg_hdr.msg_iov = &rxiov[i];
		rxm[i].msg_hdr.msg_iovlen = 1;
	}

	if (o->learn) {
		uint8_t learn[64];

		blast_fill_frame(learn, sizeof(learn), blast_rx_mac,
				 (const uint8_t[6]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff });
		if (send(rx, learn, sizeof(learn), 0) != (ssize_t)sizeof(learn))
			blast_die("send learn frame");
		if (send(tx, frame, o->size, 0) != (ssize_t)o->size)
			blast_die("send first frame");
	}
	blast_set_nonblock(rx);
	blast_set_nonblock(tx);

	blast_clock_init(&ck, o);
	for (unsigned long long turn = 0; turn < BLAST_MAX_TURNS; turn++) {
		struct pollfd pfd[2] = { { .fd = rx, .events = POLLIN }, { .fd = tx, .events = POLLOUT } };
		int rx_again = 0, tx_again = 0;

		for (int i = 0; i < 64; i++) {
			int n = recvmmsg(rx, rxm, nb, MSG_DONTWAIT, NULL);

			if (n > 0) {
				for (int k = 0; k < n; k++) {
					const uint8_t *p = rxiov[k].iov_base;

					if (rxm[k].msg_len == o->size && p[12] == BLAST_ETHERTYPE_HI &&
					    p[13] == BLAST_ETHERTYPE_LO) {
						c.frames++;
						c.bytes += o->size;
					} else {
						c.bad++;
					}
				}
				if ((unsigned)n < nb) {
					rx_again = 1;
					break;
				}
				continue;
			}
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				rx_again = 1;
				break;
			}
			if (n < 0 && errno != EINTR)
				blast_die("recvmmsg");
		}
		int n = sendmmsg(tx, txm, nb, MSG_DONTWAIT);

		if (n > 0)
			c.sent += (unsigned)n;
		else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
			tx_again = 1;
		else if (n < 0 && errno != EINTR)
			blast_die("sendmmsg");
		if (blast_tick(&ck, &c, blast_now()))
			break;
		if (rx_again && tx_again && !o->spin && poll(pfd, 2, 100) < 0 && errno != EINTR)
			blast_die("poll");
	}
	blast_report(&ck);
	free(frame);
	free(rxbufs);
	free(txm);
	free(rxm);
	free(rxiov);
	return 0;
}
#ifndef BLAST_NO_VDE
/**
 * blast_vde() - run the datagram benchmark through two ports of a vde_switch.
 * @dir: the switch's control directory
 * @o: options
 *
 * libvdeplug does the VDE handshake; its data fd is a connected unix datagram socket on which
 * vde_send()/vde_recv() are plain send()/recv(), so batching with sendmmsg()/recvmmsg() on it
 * speaks the same protocol (one frame per datagram).
 * Return: exit status.
 */
static int blast_vde(const char *dir, const struct blast_opts *o)
{
	VDECONN *vrx, *vtx;
	int ret;

	vrx = vde_open((char *)dir, "blast-rx", NULL);
	if (!vrx)
		blast_die("vde_open (receiver)");
	vtx = vde_open((char *)dir, "blast-tx", NULL);
	if (!vtx)
		blast_die("vde_open (sender)");
	ret = blast_dgram_fds(vde_datafd(vtx), vde_datafd(vrx), o);
	vde_close(vtx);
	vde_close(vrx);
	return ret;
}
#endif

/**
 * blast_self() - the client's own ceiling: sender and receiver joined by a socketpair, no hub.
 * @o: options
 * @dgram: a datagram socketpair and the vde loop, else a stream socketpair and the stream loop
 *
 * Return: exit status.
 */
static int blast_self(const struct blast_opts *o, int dgram)
{
	int sv[2];

	if (socketpair(AF_UNIX, (dgram ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0, sv) < 0)
		blast_die("socketpair");
	return dgram ? blast_dgram_fds(sv[0], sv[1], o) : blast_stream_fds(sv[0], sv[1], o);
}

static double blast_num(const char *s, double lo, double hi)
{
	char *end;
	double v = strtod(s, &end);

	if (*s == 0 || *end != 0 || v < lo || v > hi) {
		fprintf(stderr, "blast: bad number '%s' (want %g..%g)\n", s, lo, hi);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	struct blast_opts o = { .size = 64, .warmup = 1, .time = 5 };
	const char *pos[3] = { 0 };
	int npos = 0;

	signal(SIGPIPE, SIG_IGN);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--learn")) {
			o.learn = 1;
		} else if (!strcmp(a, "--spin")) {
			o.spin = 1;
		} else if (!strncmp(a, "--", 2)) {
			if (i + 1 >= argc)
				blast_usage();
			const char *v = argv[++i];

			if (!strcmp(a, "--size"))
				o.size = (size_t)blast_num(v, 14, BLAST_MAX_FRAME);
			else if (!strcmp(a, "--warmup"))
				o.warmup = blast_num(v, 0, 60);
			else if (!strcmp(a, "--time"))
				o.time = blast_num(v, 0.1, 600);
			else if (!strcmp(a, "--batch"))
				o.batch = (unsigned)blast_num(v, 1, BLAST_MAX_BATCH);
			else
				blast_usage();
		} else if (npos < 3) {
			pos[npos++] = a;
		} else {
			blast_usage();
		}
	}
	if (npos == 1 && !strcmp(pos[0], "self"))
		return blast_self(&o, 0);
	if (npos == 1 && !strcmp(pos[0], "self-dgram"))
		return blast_self(&o, 1);
	if (npos == 3 && !strcmp(pos[0], "stream"))
		return blast_stream(pos[1], pos[2], &o);
#ifndef BLAST_NO_VDE
	if (npos == 2 && !strcmp(pos[0], "vde"))
		return blast_vde(pos[1], &o);
#endif
	blast_usage();
	return 2;
}
