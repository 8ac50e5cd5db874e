// SPDX-License-Identifier: MIT
// qmp_json.c - QMP's JSON text in QEMU's form: member order, separators, escapes

#include <stdlib.h>
#include <string.h>

#include "qmp.h"
#include "qmp_internal.h"

/*
 * QEMU's QDict keeps members in 512 hash buckets (hash of the TDB database)
 * and lists them bucket by bucket, newest first within a bucket: that is the
 * order QEMU prints object members in ("return" before "id", "id" before
 * "error"). qnet prints its objects in the same order.
 */
static unsigned qdict_bucket(const char *key)
{
	uint32_t v = 0x238F13AFu * (uint32_t)strlen(key);

	for (unsigned i = 0; key[i]; i++)
		v += (uint32_t)(unsigned char)key[i] << (i * 5 % 24);
	return (1103515243u * v + 12345u) % 512;
}

static int member_cmp(const void *a, const void *b)
{
	const struct qmp_member *x = a, *y = b;

	if (x->bucket != y->bucket)
		return x->bucket < y->bucket ? -1 : 1;
	return y->idx - x->idx;	/* newest first */
}

/* qmp_json_members() - @obj's members in QEMU's order; caller frees; *n set */
struct qmp_member *qmp_json_members(struct json_object *obj, int *n)
{
	int cnt = json_object_object_length(obj), i = 0;
	struct qmp_member *m = xzalloc(sizeof(*m) * (size_t)(cnt ? cnt : 1));

	json_object_object_foreach(obj, key, val) {
		if (i >= cnt)
			break;
		m[i].key = key;
		m[i].val = val;
		m[i].bucket = qdict_bucket(key);
		m[i].idx = i;
		i++;
	}
	qsort(m, (size_t)i, sizeof(*m), member_cmp);
	*n = i;
	return m;
}

/* utf8_next() - decode one code point at @p (max @n bytes); -1 if invalid; *len set */
static int32_t utf8_next(const unsigned char *p, size_t n, size_t *len)
{
	int32_t cp;
	size_t need;

	if (p[0] < 0x80) {
		*len = 1;
		return p[0];
	}
	if ((p[0] & 0xe0) == 0xc0) {
		cp = p[0] & 0x1f;
		need = 2;
	} else if ((p[0] & 0xf0) == 0xe0) {
		cp = p[0] & 0x0f;
		need = 3;
	} else if ((p[0] & 0xf8) == 0xf0) {
		cp = p[0] & 0x07;
		need = 4;
	} else {
		*len = 1;
		return -1;
	}
	if (need > n) {
		*len = 1;
		return -1;
	}
	for (size_t i = 1; i < need; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			*len = i;
			return -1;
		}
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	*len = need;
	if ((need == 2 && cp < 0x80) || (need == 3 && cp < 0x800) ||
	    (need == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	return cp;
}

/* qmp_sbuf_add() - append @n bytes (sbuf_printf per byte would be slow for long strings) */
void qmp_sbuf_add(struct sbuf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 128;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* json_write_str() - QEMU's string escapes: control, DEL and non-ASCII as \uXXXX */
static void json_write_str(struct sbuf *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	sbuf_printf(out, "\"");
	while (i < n) {
		size_t len;
		int32_t cp = utf8_next(p + i, n - i, &len);

		i += len;
		if (cp < 0)
			cp = 0xfffd;
		switch (cp) {
		case '"':
			sbuf_printf(out, "\\\"");
			break;
		case '\\':
			sbuf_printf(out, "\\\\");
			break;
		case '\b':
			sbuf_printf(out, "\\b");
			break;
		case '\f':
			sbuf_printf(out, "\\f");
			break;
		case '\n':
			sbuf_printf(out, "\\n");
			break;
		case '\r':
			sbuf_printf(out, "\\r");
			break;
		case '\t':
			sbuf_printf(out, "\\t");
			break;
		default:
			if (cp >= 0x10000) {
				cp -= 0x10000;
				sbuf_printf(out, "\\u%04X\\u%04X", 0xd800 | (cp >> 10),
					    0xdc00 | (cp & 0x3ff));
			} else if (cp < 0x20 || cp >= 0x7f) {
				sbuf_printf(out, "\\u%04X", (unsigned)cp);
			} else {
				char ch = (char)cp;

				qmp_sbuf_add(out, &ch, 1);
			}
		}
	}
	sbuf_printf(out, "\"");
}

void qmp_json_write(struct sbuf *out, struct json_object *obj)
{
	switch (json_object_get_type(obj)) {
	case json_type_null:
		sbuf_printf(out, "null");
		break;
	case json_type_boolean:
		sbuf_printf(out, "%s", json_object_get_boolean(obj) ? "true" : "false");
		break;
	case json_type_int:
		/* json-c's own text keeps values beyond INT64_MAX exact */
		sbuf_printf(out, "%s", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
		break;
	case json_type_double:
		sbuf_printf(out, "%.17g", json_object_get_double(obj));
		break;
	case json_type_string:
		json_write_str(out, json_object_get_string(obj),
			       (size_t)json_object_get_string_len(obj));
		break;
	case json_type_array: {
		size_t n = json_object_array_length(obj);

		sbuf_printf(out, "[");
		for (size_t i = 0; i < n; i++) {
			if (i)
				sbuf_printf(out, ", ");
			qmp_json_write(out, json_object_array_get_idx(obj, i));
		}
		sbuf_printf(out, "]");
		break;
	}
	case json_type_object: {
		int n;
		struct qmp_member *m = qmp_json_members(obj, &n);

		sbuf_printf(out, "{");
		for (int i = 0; i < n; i++) {
			if (i)
				sbuf_printf(out, ", ");
			json_write_str(out, m[i].key, strlen(m[i].key));
			sbuf_printf(out, ": ");
			qmp_json_write(out, m[i].val);
		}
		sbuf_printf(out, "}");
		free(m);
		break;
	}
	}
}
