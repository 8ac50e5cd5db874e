/* SPDX-License-Identifier: MIT */
/* qmp.h - the QEMU Machine Protocol server: sessions, commands, events (QEMU 7.2's wire format) */
#ifndef QNET_QMP_H
#define QNET_QMP_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "../core/util.h"

/* Largest JSON document a client may send (QEMU allows 64 MiB; qnet's commands are small) */
#define QMP_IN_MAX	(1024 * 1024)
/* Largest backlog of unread output per client before it is dropped */
#define QMP_OUT_MAX	(1024 * 1024)
/* QEMU's JSON nesting limit */
#define QMP_MAX_NESTING	1024
/* Clients per listening socket */
#define QMP_MAX_SESSIONS 32

struct qmp_session;

/**
 * qmp_open() - start a QMP server from a -qmp argument
 * @spec:	"unix:PATH,server=on[,wait=off]" or "tcp:HOST:PORT,server=on[,wait=off]"
 * Return: 0, or -1 with @e set
 */
int qmp_open(const char *spec, struct error *e);
/* qmp_close_all() - at exit: last output (best effort), close sessions, unlink socket paths */
void qmp_close_all(void);

/**
 * qmp_session_new() - a session on @fd (non-blocking, owned by the session), or a
 * detached one (@fd < 0) whose output stays in its buffer (tests, fuzzing).
 * The greeting is queued at once.
 */
struct qmp_session *qmp_session_new(int fd);
void qmp_session_free(struct qmp_session *s);
/* qmp_session_input() - feed received bytes: documents are parsed and executed as they complete */
void qmp_session_input(struct qmp_session *s, const char *buf, size_t len);
/* qmp_session_output() - pending output (*len bytes); qmp_session_consume() drops @n of them */
const char *qmp_session_output(const struct qmp_session *s, size_t *len);
void qmp_session_consume(struct qmp_session *s, size_t n);
/* qmp_session_dead() - the session must be closed (oversized input, output bound, EOF) */
bool qmp_session_dead(const struct qmp_session *s);
/* qmp_session_negotiated() - qmp_capabilities was accepted */
bool qmp_session_negotiated(const struct qmp_session *s);

/**
 * qmp_event() - send an event to every negotiated session
 * @name:	QEMU's event name ("NETDEV_STREAM_CONNECTED")
 * @data:	the data object (ownership taken), or NULL for none
 */
void qmp_event(const char *name, struct json_object *data);

/**
 * qmp_json_write() - QEMU's JSON text of @obj: ", " and ": " separators, object
 * members in QEMU's QDict order, non-ASCII as \uXXXX
 */
void qmp_json_write(struct sbuf *out, struct json_object *obj);

/**
 * qmp_cmd_filter - decides whether a command may run (the fuzzer uses it to keep
 * commands that open sockets or files out); false -> GenericError "command disabled"
 */
typedef bool qmp_cmd_filter(const char *name, struct json_object *args);
void qmp_set_command_filter(qmp_cmd_filter *f);

/* Run-time operations shared by QMP and HMP (QEMU's error texts) */

/* qmp_netdev_del() - netdev_del; *@not_found set when the error is DeviceNotFound */
int qmp_netdev_del(const char *id, bool *not_found, struct error *e);
/**
 * qmp_announce() - announce-self: RARP rounds from every user netdev (qnet's only MAC owners)
 * @interfaces:	comma-separated netdev ids to limit it to, or NULL
 * @id:		timer id ("" or NULL: anonymous), a running announce with that id is replaced
 */
int qmp_announce(long initial, long max, long rounds, long step, const char *interfaces,
		 const char *id, struct error *e);

#endif /* QNET_QMP_H */
