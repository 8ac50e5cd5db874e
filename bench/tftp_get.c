// SPDX-License-Identifier: MIT
// tftp_get.c - a small TFTP client for the bench guest: RRQ with blksize/windowsize (RFC 7440)
//
// usage: tftp_get SERVER NAME OUT BLKSIZE WINDOWSIZE
// Asks for the options; takes whatever the server grants (an OACK, or plain 512-byte DATA from
// a server without options). ACKs every window and the last block; on a 1 s silence it ACKs the
// last block received in order (RFC 7440). Gives up after 20 silences. Prints
// "ok BYTES MS blksize=N windowsize=N" or "fail REASON".
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void ack(int fd, const struct sockaddr_in *to, unsigned blk)
{
	unsigned char a[4] = { 0, 4, (unsigned char)(blk >> 8), (unsigned char)blk };

	sendto(fd, a, 4, 0, (const struct sockaddr *)to, sizeof(*to));
}

int main(int argc, char **argv)
{
	static unsigned char pkt[70000];
	struct sockaddr_in srv = { .sin_family = AF_INET, .sin_port = htons(69) }, peer;
	unsigned blksize = 512, window = 1, expect = 1, since = 0, silences = 0;
	int fd, have_tid = 0;
	long long t0, bytes = 0;
	size_t n = 2;
	FILE *out;

	if (argc != 6 || !inet_aton(argv[1], &srv.sin_addr)) {
		fprintf(stderr, "usage: tftp_get SERVER NAME OUT BLKSIZE WINDOWSIZE\n");
		return 2;
	}
	out = fopen(argv[3], "wb");
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (!out || fd < 0 || strlen(argv[2]) > 512) {
		printf("fail setup\n");
		return 1;
	}
	pkt[0] = 0;
	pkt[1] = 1;
	n += (size_t)sprintf((char *)pkt + n, "%s", argv[2]) + 1;
	n += (size_t)sprintf((char *)pkt + n, "octet") + 1;
	n += (size_t)sprintf((char *)pkt + n, "blksize") + 1;
	n += (size_t)sprintf((char *)pkt + n, "%s", argv[4]) + 1;
	n += (size_t)sprintf((char *)pkt + n, "windowsize") + 1;
	n += (size_t)sprintf((char *)pkt + n, "%s", argv[5]) + 1;
	t0 = now_ms();
	sendto(fd, pkt, n, 0, (struct sockaddr *)&srv, sizeof(srv));
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		socklen_t pl = sizeof(peer);
		ssize_t r;

		if (poll(&p, 1, 1000) <= 0) {
			if (++silences > 20 || !have_tid) {
				printf("fail timeout\n");
				return 1;
			}
			ack(fd, &srv, expect - 1);
			since = 0;
			continue;
		}
		r = recvfrom(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&peer, &pl);
		if (r < 4)
			continue;
		if (!have_tid) {
			srv.sin_port = peer.sin_port;	/* the server's TID */
			have_tid = 1;
		}
		if (peer.sin_port != srv.sin_port)
			continue;
		if (pkt[1] == 5) {
			printf("fail error %u %s\n", pkt[3], pkt + 4);
			return 1;
		}
		if (pkt[1] == 6) {	/* OACK: what was granted */
			for (size_t i = 2; i < (size_t)r;) {
				const char *k = (const char *)pkt + i, *v;

				i += strnlen(k, (size_t)r - i) + 1;
				if (i >= (size_t)r)
					break;
				v = (const char *)pkt + i;
				i += strnlen(v, (size_t)r - i) + 1;
				if (!strcasecmp(k, "blksize"))
					blksize = (unsigned)atoi(v);
				else if (!strcasecmp(k, "windowsize"))
					window = (unsigned)atoi(v);
			}
			ack(fd, &srv, 0);
			continue;
		}
		if (pkt[1] != 3 || (unsigned)(pkt[2] << 8 | pkt[3]) != (expect & 0xffff))
			continue;	/* out of order: the server restarts the window after our ACK */
		silences = 0;
		fwrite(pkt + 4, 1, (size_t)r - 4, out);
		bytes += r - 4;
		expect++;
		if ((size_t)r - 4 < blksize) {
			ack(fd, &srv, expect - 1);
			break;
		}
		if (++since >= window) {
			ack(fd, &srv, expect - 1);
			since = 0;
		}
	}
	fclose(out);
	printf("ok %lld %lld blksize=%u windowsize=%u\n", bytes, now_ms() - t0, blksize, window);
	return 0;
}
