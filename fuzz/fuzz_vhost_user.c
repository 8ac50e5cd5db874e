// SPDX-License-Identifier: MIT
/* fuzz_vhost_user.c - libFuzzer target: vhost-user messages (with real fds), guest rings in a
 * memfd the input writes, kicks, and frames towards the guest, through a real vhost-user netdev */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backends/vhost_user.h"
#include "cli/chardev_opts.h"
#include "cli/netdev.h"
#include "cli/opts.h"
#include "core/chardev.h"
#include "core/loop.h"
#include "core/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MEM_SIZE 65536
#define MAX_EVFDS 16

static char sock_path[64];
static int memfd = -1;
static uint8_t *mem;

static ssize_t sink_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
			    const struct net_meta *meta)
{
	size_t len = net_iov_size(iov, iovcnt);

	if (len == 0 || len > NET_BUFSIZE)
		abort();
	return (ssize_t)len;
}

static const struct net_client_ops sink_ops = {
	.driver = NET_DRIVER_STREAM,
	.size = sizeof(struct net_client),
	.receive = sink_receive,
};

static void fuzz_cleanup(void)
{
	net_cleanup_all();
	chardev_cleanup_all();
}

static void setup(void)
{
	struct opts o = { 0 };
	struct error e = { 0 };
	char spec[128];

	loop_init();
	snprintf(sock_path, sizeof(sock_path), "/tmp/qnet-fuzz-vu.%d.sock", (int)getpid());
	snprintf(spec, sizeof(spec), "socket,id=vc,path=%s,server=on,wait=off", sock_path);
	if (opts_parse(&o, spec, "backend", &e) < 0 || chardev_opts_create(&o, &e) < 0)
		abort();
	opts_free(&o);
	memfd = memfd_create("fuzz-vu-guest", 0);
	if (memfd < 0 || ftruncate(memfd, MEM_SIZE) < 0)
		abort();
	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (mem == MAP_FAILED)
		abort();
	atexit(fuzz_cleanup);
}

/*
 * Input: a sequence of commands, each [op][len16 LE][len bytes]:
 *   op & 7 == 0: protocol bytes, no fds
 *   op & 7 == 1: protocol bytes with one fd of the guest memory (memfd)
 *   op & 7 == 2: protocol bytes with a new eventfd (kept, kicked by op 5)
 *   op & 7 == 3: protocol bytes with two memory fds
 *   op & 7 == 4: write guest memory: bytes = [off16 LE][data] (the guest's rings and buffers)
 *   op & 7 == 5: kick every eventfd handed over, run the loop
 *   op & 7 == 6: the peer sends the bytes as a frame towards the guest (flags in op bit 3:
 *                with a TSO4/csum header)
 *   op & 7 == 7: protocol bytes with a closed-on-our-side pipe fd (a wrong kind of fd)
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct opts o = { 0 };
	struct error e = { 0 };
	struct net_client *peer, *nc;
	int evfds[MAX_EVFDS], nev = 0;
	size_t off = 0;

	if (memfd < 0)
		setup();
	memset(mem, 0, MEM_SIZE);
	peer = net_client_new(&sink_ops, NULL, "stream", "fz-peer");
	if (opts_parse(&o, "vhost-user,id=fz-vu,chardev=vc", "type", &e) < 0)
		abort();
	nc = netdev_create(&o, true, peer, &e);
	opts_free(&o);
	if (!nc)
		abort();
	while (off + 3 <= size) {
		uint8_t op = data[off];
		size_t len = (size_t)data[off + 1] | (size_t)data[off + 2] << 8;
		const uint8_t *p = data + off + 3;
		int fds[2], nfds = 0;

		if (len > size - off - 3)
			len = size - off - 3;
		off += 3 + len;
		switch (op & 7) {
		case 4: {
			size_t at;

			if (len < 2)
				break;
			at = ((size_t)p[0] | (size_t)p[1] << 8) % MEM_SIZE;
			len -= 2;
			if (len > MEM_SIZE - at)
				len = MEM_SIZE - at;
			memcpy(mem + at, p + 2, len);
			continue;
		}
		case 5:
			for (int i = 0; i < nev; i++) {
				uint64_t one = 1;

				if (write(evfds[i], &one, 8) < 0)
					break;
			}
			loop_run_once(0);
			continue;
		case 6: {
			struct iovec iov = { (void *)p, len };
			struct net_meta m = { 0 };

			if (op & 8) {
				m.flags = NET_META_F_NEEDS_CSUM;
				m.gso_type = NET_META_GSO_TCPV4;
				m.gso_size = 1000;
				m.csum_start = 34;
				m.csum_offset = 16;
			}
			if (len)
				net_send_meta(peer, &iov, 1, &m, NULL);
			loop_run_once(0);
			continue;
		}
		case 1:
			fds[nfds++] = dup(memfd);
			break;
		case 3:
			fds[nfds++] = dup(memfd);
			fds[nfds++] = dup(memfd);
			break;
		case 2: {
			int ev = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

			if (ev < 0)
				break;
			if (nev < MAX_EVFDS)
				evfds[nev++] = dup(ev);
			fds[nfds++] = ev;
			break;
		}
		case 7: {
			int pp[2];

			if (pipe(pp) == 0) {
				close(pp[1]);
				fds[nfds++] = pp[0];
			}
			break;
		}
		default:
			break;
		}
		vhost_user_feed(nc, p, len, fds, nfds);
		loop_run_once(0);
	}
	net_client_free(nc);
	net_client_free(peer);
	for (int i = 0; i < nev; i++)
		close(evfds[i]);
	return 0;
}
