// SPDX-License-Identifier: MIT
// log.c - messages for the user (stderr) and the log file (-D)

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

static const char *log_prog = "qnet";
static FILE *log_file;
static enum log_level log_level = LOG_INFO;
static bool log_stderr = true;

void log_init(const char *progname)
{
	log_prog = progname;
	if (getenv("QNET_DEBUG"))
		log_level = LOG_DEBUG;
}

int log_open(const char *path)
{
	FILE *f = fopen(path, "a");

	if (!f)
		return -errno;
	setvbuf(f, NULL, _IOLBF, 0);
	if (log_file)
		fclose(log_file);
	log_file = f;
	return 0;
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

void log_set_stderr(bool on)
{
	log_stderr = on;
}

static void log_file_write(const char *tag, const char *fmt, va_list ap)
{
	struct timespec ts;

	if (!log_file)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(log_file, "%lld.%06ld %s", (long long)ts.tv_sec, ts.tv_nsec / 1000, tag);
	vfprintf(log_file, fmt, ap);
	fputc('\n', log_file);
}

static void log_msg(enum log_level level, bool to_stderr, const char *tag, const char *fmt,
		    va_list ap)
{
	va_list ap2;

	if (level > log_level)
		return;
	va_copy(ap2, ap);
	log_file_write(tag, fmt, ap2);
	va_end(ap2);
	if (to_stderr && log_stderr) {
		fprintf(stderr, "%s: %s", log_prog, tag);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
}

void error_report(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_msg(LOG_ERR, true, "", fmt, ap);
	va_end(ap);
}

void warn_report(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_msg(LOG_WARN, true, "warning: ", fmt, ap);
	va_end(ap);
}

void info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_msg(LOG_INFO, log_level >= LOG_DEBUG, "", fmt, ap);
	va_end(ap);
}

void debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_msg(LOG_DEBUG, true, "debug: ", fmt, ap);
	va_end(ap);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_msg(LOG_ERR, true, "", fmt, ap);
	va_end(ap);
	exit(1);
}
