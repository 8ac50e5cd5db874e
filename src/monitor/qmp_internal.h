/* SPDX-License-Identifier: MIT */
/* qmp_internal.h - what the QMP server's files share: qmp_json.c, qmp_session.c, qmp.c (commands) */
#ifndef QNET_QMP_INTERNAL_H
#define QNET_QMP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "../core/util.h"

struct qmp_session;

/* ---- qmp_json.c ---- */

/**
 * struct qmp_member - one member of a JSON object, as qmp_json_members() sorts them
 * @key, @val:	name and value
 * @bucket:	QEMU's QDict hash bucket of @key
 * @idx:	insertion index (later ones first within a bucket)
 */
struct qmp_member {
	const char *key;
	struct json_object *val;
	unsigned bucket;
	int idx;
};

/* qmp_json_members() - @obj's members in QEMU's QDict order (*@n of them; free() the array) */
struct qmp_member *qmp_json_members(struct json_object *obj, int *n);
/* qmp_sbuf_add() - append @n bytes of @p to @b, kept NUL-terminated */
void qmp_sbuf_add(struct sbuf *b, const char *p, size_t n);

/* ---- qmp_session.c ---- */

void qmp_reply_error(struct qmp_session *s, struct json_object *id, const char *cls,
		     const char *desc);
void qmp_reply_return(struct qmp_session *s, struct json_object *id, struct json_object *ret);
/* qmp_session_set_negotiated() - qmp_capabilities accepted: commands and events enabled */
void qmp_session_set_negotiated(struct qmp_session *s);

/* ---- qmp.c ---- */

/* qmp_dispatch() - execute one parsed document received on @s */
void qmp_dispatch(struct qmp_session *s, struct json_object *req);
/* qmp_version_info() - the version object of the greeting and of query-version */
struct json_object *qmp_version_info(void);
/* qmp_commands_close() - at exit: stop what commands left running (announce timers) */
void qmp_commands_close(void);

#endif /* QNET_QMP_INTERNAL_H */
