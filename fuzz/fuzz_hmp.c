// SPDX-License-Identifier: MIT
// fuzz_hmp.c - libFuzzer target: HMP command lines and -object filter option strings

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/opts.h"
#include "cli/chardev_opts.h"
#include "cli/filter_opts.h"
#include "core/filter.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/net.h"
#include "monitor/monitor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * Input: byte 0 even: the rest is HMP text, run line by line through
 * monitor_exec() (quit only sets the loop's quit flag). Byte 0 odd: the rest
 * is a -object option string for filter_opts_add() on two clients "a" and
 * "b"; file= is forced to /dev/null so that nothing is written anywhere. Each
 * accepted filter sees a frame in both directions and is removed again.
 */

static ssize_t sink_receive(struct net_client *nc, const struct iovec *iov, int iovcnt,
				const struct net_meta *meta)
{
	return (ssize_t)net_iov_size(iov, iovcnt);
}

static const struct net_client_ops sink_ops = {
	.driver = NET_DRIVER_STREAM,
	.size = sizeof(struct net_client),
	.receive = sink_receive,
};

static struct net_client *cli_a, *cli_b;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz_hmp");
	log_set_stderr(false);
	loop_init();
	cli_a = net_client_new(&sink_ops, NULL, "stream", "a");
	cli_b = net_client_new(&sink_ops, cli_a, "stream", "b");
	return 0;
}

static void run_hmp(const char *text)
{
	const char *p = text;

	while (*p) {
		size_t n = strcspn(p, "\n");
		char *line = strndup(p, n);
		struct sbuf out = { 0 };

		monitor_exec(line, &out);
		sbuf_free(&out);
		free(line);
		p += n;
		if (*p)
			p++;
	}
}

static void run_object(const char *spec)
{
	static const uint8_t frame[60] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2 };
	struct opts o = { 0 };
	struct error e = { 0 };

	if (opts_parse(&o, spec, "qom-type", &e) == 0) {
		if (opts_has(&o, "file")) {
			opts_del(&o, "file");
			opts_add(&o, "file", "/dev/null");
		}
		if (filter_opts_add(&o, &e) == 0) {
			net_send_buf(cli_a, frame, sizeof(frame), NULL);
			net_send_buf(cli_b, frame, sizeof(frame), NULL);
			loop_run_once(0);
		}
	}
	opts_free(&o);
	filter_detach_all(cli_a);
	filter_detach_all(cli_b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size < 1 || size > 8192)
		return 0;
	s = strndup((const char *)data + 1, size - 1);
	if (data[0] & 1)
		run_object(s);
	else
		run_hmp(s);
	free(s);
	return 0;
}
