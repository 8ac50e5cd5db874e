/* SPDX-License-Identifier: MIT */
/* log.h - messages for the user (stderr) and the log file (-D) */
#ifndef QNET_LOG_H
#define QNET_LOG_H

#include <stdbool.h>

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* log_init() - program name for message prefixes; log_open() - the -D file */
void log_init(const char *progname);
int log_open(const char *path);
void log_set_level(enum log_level level);
/* log_set_stderr() - false after -daemonize: only the log file gets messages */
void log_set_stderr(bool on);

/* error_report() - "qnet: msg" on stderr (QEMU's error_report), and in the log */
void error_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* warn_report() - "qnet: warning: msg" */
void warn_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* info() / debug() - only to the log file (and stderr at LOG_DEBUG with QNET_DEBUG=1) */
void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* die() - error_report() and exit(1): setup code only, never the data path */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif /* QNET_LOG_H */
