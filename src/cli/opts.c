// SPDX-License-Identifier: MIT
// opts.c - QEMU option strings: QemuOpts, keyval and JSON parsers, typed getters

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "../core/log.h"
#include "opts.h"

/* Bounds: an option string never yields more entries, nor nests deeper */
#define OPTS_MAX_ENTRIES 4096
#define OPTS_JSON_DEPTH 32
/* keyval's key_in_cur[128]: a key fragment must be shorter */
#define KEYVAL_FRAG_MAX 128

static const char id_hint[] =
	"\nIdentifiers consist of letters, digits, '-', '.', '_', starting with a letter.";

/* ---- the list itself ---------------------------------------------------- */

static void opts_reset(struct opts *o, enum opts_syntax syntax)
{
	o->v = NULL;
	o->n = 0;
	o->cap = 0;
	o->syntax = syntax;
}

void opts_free(struct opts *o)
{
	for (int i = 0; i < o->n; i++) {
		free(o->v[i].key);
		free(o->v[i].val);
	}
	free(o->v);
	o->v = NULL;
	o->n = 0;
	o->cap = 0;
}

/* opts_add_own() - append, taking ownership of @key and @val */
static void opts_add_own(struct opts *o, char *key, char *val)
{
	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 8;
		o->v = xrealloc(o->v, (size_t)o->cap * sizeof(*o->v));
	}
	o->v[o->n].key = key;
	o->v[o->n].val = val;
	o->v[o->n].used = false;
	o->n++;
}

void opts_add(struct opts *o, const char *key, const char *val)
{
	opts_add_own(o, xstrdup(key), xstrdup(val ? val : ""));
}

void opts_del(struct opts *o, const char *key)
{
	char *k = xstrdup(key);	/* @key may be one of the entries being freed */
	int j = 0;

	for (int i = 0; i < o->n; i++) {
		if (!strcmp(o->v[i].key, k)) {
			free(o->v[i].key);
			free(o->v[i].val);
			continue;
		}
		o->v[j++] = o->v[i];
	}
	o->n = j;
	free(k);
}

static int opts_full(const struct opts *o, struct error *e)
{
	if (o->n < OPTS_MAX_ENTRIES)
		return 0;
	return err_set(e, "Too many parameters (at most %d)", OPTS_MAX_ENTRIES);
}

const char *opts_peek(const struct opts *o, const char *key)
{
	const char *val = NULL;

	for (int i = 0; i < o->n; i++)
		if (!strcmp(o->v[i].key, key))
			val = o->v[i].val;
	return val;
}

const char *opts_get(struct opts *o, const char *key)
{
	const char *val = NULL;

	for (int i = 0; i < o->n; i++) {
		if (!strcmp(o->v[i].key, key)) {
			o->v[i].used = true;
			val = o->v[i].val;
		}
	}
	return val;
}

bool opts_has(const struct opts *o, const char *key)
{
	return opts_peek(o, key) != NULL;
}

const char *opts_next(struct opts *o, const char *key, int *pos)
{
	for (int i = *pos < 0 ? 0 : *pos; i < o->n; i++) {
		if (!strcmp(o->v[i].key, key)) {
			o->v[i].used = true;
			*pos = i + 1;
			return o->v[i].val;
		}
	}
	*pos = o->n;
	return NULL;
}

/* ---- QemuOpts syntax (util/qemu-option.c rules) -------------------------- */

static bool is_help_option(const char *s)
{
	return !strcmp(s, "help") || !strcmp(s, "?");
}

/*
 * qo_value() - a value up to the next single ',' (",," is a literal comma).
 * Returns the position of that ',' or of the terminating NUL.
 */
static const char *qo_value(const char *p, char **val)
{
	struct sbuf b = { 0 };

	sbuf_printf(&b, "%s", "");
	for (;;) {
		const char *c = strchrnul(p, ',');

		sbuf_printf(&b, "%.*s", (int)(c - p), p);
		if (c[0] == ',' && c[1] == ',') {
			sbuf_printf(&b, ",");
			p = c + 2;
			continue;
		}
		*val = b.p;
		return c;
	}
}

/**
 * qo_element() - one "key=value", "value" (implied key) or "flag" element
 * @firstname:	implied key for this element, or NULL
 * @flag:	set when the element was a bare flag ("foo" = foo=on, "nofoo" = foo=off)
 * Return: the start of the next element
 */
static const char *qo_element(const char *p, const char *firstname, char **key, char **val,
			      bool *flag)
{
	size_t len = strcspn(p, "=,");

	*flag = false;
	if (p[len] == '=') {
		*key = strndup(p, len);
		p = qo_value(p + len + 1, val);
	} else if (firstname) {
		*key = xstrdup(firstname);
		p = qo_value(p, val);
	} else {
		*key = strndup(p, len);
		p += len;
		if (!strncmp(*key, "no", 2)) {
			memmove(*key, *key + 2, strlen(*key + 2) + 1);
			*val = xstrdup("off");
		} else {
			*val = xstrdup("on");
		}
		*flag = true;
	}
	if (!*key)
		die("out of memory");
	if (*p == ',')
		p++;
	return p;
}

/* qo_find_id() - QEMU's opts_parse_id(): the first id= value, or NULL (caller frees) */
static char *qo_find_id(const char *s)
{
	while (*s) {
		char *key, *val;
		bool flag;

		s = qo_element(s, NULL, &key, &val, &flag);
		if (!strcmp(key, "id")) {
			free(key);
			return val;
		}
		free(key);
		free(val);
	}
	return NULL;
}

int opts_parse(struct opts *o, const char *s, const char *implied_key, struct error *e)
{
	const char *firstname = implied_key;
	char *id = qo_find_id(s);

	opts_reset(o, OPTS_QEMUOPTS);
	if (id && !id_wellformed(id)) {
		free(id);
		return err_set(e, "Parameter 'id' expects an identifier%s", id_hint);
	}
	/* QemuOpts keeps the first id= (found as above) apart and skips every id element */
	if (id)
		opts_add_own(o, xstrdup("id"), id);
	while (*s) {
		char *key, *val;
		bool flag;

		if (opts_full(o, e) < 0)
			goto fail;
		s = qo_element(s, firstname, &key, &val, &flag);
		firstname = NULL;
		if (flag && is_help_option(key)) {
			free(key);
			key = xstrdup("help");
		} else if (flag) {
			warn_report("short-form boolean option '%s' deprecated\n"
				    "Please use %s=%s instead", key, key, val);
		}
		if (!strcmp(key, "id")) {
			free(key);
			free(val);
			continue;
		}
		opts_add_own(o, key, val);
	}
	return 0;
fail:
	opts_free(o);
	return -1;
}

/* ---- keyval syntax (util/keyval.c rules) --------------------------------- */

/* parse_qapi_name() - length of a QAPI name at @s ("__RFQDN_" prefix allowed), or 0 */
static size_t parse_qapi_name(const char *s)
{
	const char *p = s;

	if (*p == '_') {
		p++;
		if (*p != '_')
			return 0;
		while (*++p)
			if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
				break;
		if (*p != '_')
			return 0;
		p++;
	}
	if (!isalpha((unsigned char)*p))
		return 0;
	while (*++p)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			break;
	return (size_t)(p - s);
}

/* key_index_len() - length of a list index fragment (decimal <= INT_MAX), or 0 */
static size_t key_index_len(const char *s)
{
	unsigned long long v = 0;
	size_t n = 0;

	while (isdigit((unsigned char)s[n])) {
		v = v * 10 + (unsigned)(s[n] - '0');
		if (v > INT_MAX)
			return 0;
		n++;
	}
	return n;
}

/* kv_check_key() - validate the dotted key [key, key+len) as keyval does */
static int kv_check_key(const char *key, size_t klen, struct error *e)
{
	const char *s = key, *end = key + klen;

	for (;;) {
		size_t len = 0;

		if (s != key)
			len = key_index_len(s);
		if (!len)
			len = parse_qapi_name(s);
		if (s + len > end)
			len = (size_t)(end - s);
		if (!len || (s + len < end && s[len] != '.'))
			return err_set(e, "Invalid parameter '%.*s'", (int)klen, key);
		if (len >= KEYVAL_FRAG_MAX)
			return err_set(e, "Parameter%s '%.*s' is too long",
				       s != key || s + len != end ? " fragment" : "", (int)len, s);
		s += len;
		if (s == end)
			return 0;
		s++;	/* the '.' */
	}
}

/* kv_put() - store @key, refusing a key used both as a scalar and as a prefix */
static int kv_put(struct opts *o, char *key, char *val, struct error *e)
{
	size_t klen = strlen(key);
	int same = -1;

	for (int i = 0; i < o->n; i++) {
		const char *k = o->v[i].key;
		size_t n = strlen(k);

		if (n < klen && key[n] == '.' && !strncmp(k, key, n)) {
			err_set(e, "Parameters '%s.*' used inconsistently", k);
			goto fail;
		}
		if (n > klen && k[klen] == '.' && !strncmp(k, key, klen)) {
			err_set(e, "Parameters '%s.*' used inconsistently", key);
			goto fail;
		}
		if (n == klen && !strcmp(k, key))
			same = i;
	}
	if (same >= 0) {	/* last one wins */
		free(o->v[same].val);
		o->v[same].val = val;
		free(key);
		return 0;
	}
	if (opts_full(o, e) < 0)
		goto fail;
	opts_add_own(o, key, val);
	return 0;
fail:
	free(key);
	free(val);
	return -1;
}

/* kv_element() - one element; returns the next one, or NULL with @e set */
static const char *kv_element(struct opts *o, const char *p, const char *implied,
			      struct error *e)
{
	size_t len = strcspn(p, "=,");
	char *key, *val;

	if (len && p[len] != '=' && len <= 4) {
		char word[5];

		memcpy(word, p, len);
		word[len] = 0;
		if (is_help_option(word)) {	/* QEMU: "help" requests help */
			p += len;
			if (kv_put(o, xstrdup("help"), xstrdup("on"), e) < 0)
				return NULL;
			return *p == ',' ? p + 1 : p;
		}
	}
	if (implied && len && p[len] != '=') {
		/* keyval 7.2: the implied value ends at the first ',' (no escapes) */
		val = strndup(p, len);
		if (!val)
			die("out of memory");
		p += len;
		if (kv_put(o, xstrdup(implied), val, e) < 0)
			return NULL;
		return *p == ',' ? p + 1 : p;
	}
	if (kv_check_key(p, len, e) < 0)
		return NULL;
	if (p[len] != '=') {
		err_set(e, "Expected '=' after parameter '%.*s'", (int)len, p);
		return NULL;
	}
	key = strndup(p, len);
	if (!key)
		die("out of memory");
	p = qo_value(p + len + 1, &val);
	if (kv_put(o, key, val, e) < 0)
		return NULL;
	return *p == ',' ? p + 1 : p;
}

int opts_parse_keyval(struct opts *o, const char *s, const char *implied_key, struct error *e)
{
	opts_reset(o, OPTS_KEYVAL);
	while (*s) {
		s = kv_element(o, s, implied_key, e);
		if (!s) {
			opts_free(o);
			return -1;
		}
		implied_key = NULL;
	}
	return 0;
}

/* ---- JSON (json-c, QEMU's error texts) ----------------------------------- */

/* json_error() - QEMU's json-parser wording for a json-c tokener error at @at */
static int json_error(enum json_tokener_error jerr, const char *start, const char *at,
		      struct error *e)
{
	if (jerr == json_tokener_error_depth)
		return err_set(e, "JSON nesting depth limit exceeded");
	if (jerr == json_tokener_error_parse_eof || !*at)
		return err_set(e, "JSON parse error, premature EOI");
	while (at > start && isalpha((unsigned char)at[-1]))
		at--;	/* json-c stops inside or after a bad word */
	if (isalpha((unsigned char)*at)) {
		int n = 0;

		while (n < 64 && isalnum((unsigned char)at[n]))
			n++;
		return err_set(e, "JSON parse error, invalid keyword '%.*s'", n, at);
	}
	switch (jerr) {
	case json_tokener_error_parse_object_key_name:
		if (*at == '}' || *at == ',')
			return err_set(e, "JSON parse error, expecting value");
		return err_set(e, "JSON parse error, key is not a string in object");
	case json_tokener_error_parse_object_key_sep:
		return err_set(e, "JSON parse error, missing : in object pair");
	case json_tokener_error_parse_object_value_sep:
		return err_set(e, "JSON parse error, expected separator in dict");
	case json_tokener_error_parse_array:
		if (*at == ']' || *at == ',')
			return err_set(e, "JSON parse error, expecting value");
		return err_set(e, "JSON parse error, expected separator in list");
	case json_tokener_error_parse_string:
	case json_tokener_error_parse_utf8_string:
		return err_set(e, "JSON parse error, invalid string: %s",
			       json_tokener_error_desc(jerr));
	default:
		return err_set(e, "JSON parse error, expecting value");
	}
}

/* json_flatten() - add @v under @key: objects become dotted keys, arrays repeated keys */
static int json_flatten(struct opts *o, const char *key, struct json_object *v, int depth,
			struct error *e)
{
	if (depth > OPTS_JSON_DEPTH)
		return err_set(e, "JSON nesting depth limit exceeded");
	switch (json_object_get_type(v)) {
	case json_type_object: {
		struct json_object_iterator it = json_object_iter_begin(v);
		struct json_object_iterator end = json_object_iter_end(v);

		for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
			const char *name = json_object_iter_peek_name(&it);
			char *sub = key ? xasprintf("%s.%s", key, name) : xstrdup(name);
			int r = json_flatten(o, sub, json_object_iter_peek_value(&it), depth + 1, e);

			free(sub);
			if (r < 0)
				return -1;
		}
		return 0;
	}
	case json_type_array:
		if (!key)
			return err_set(e, "JSON value must be an object");
		for (size_t i = 0; i < json_object_array_length(v); i++)
			if (json_flatten(o, key, json_object_array_get_idx(v, i), depth + 1, e) < 0)
				return -1;
		return 0;
	case json_type_null:
		return err_set(e, "Invalid parameter type for '%s', expected: string",
			       key ? key : "");
	default:
		break;
	}
	if (!key)
		return err_set(e, "JSON value must be an object");
	if (opts_full(o, e) < 0)
		return -1;
	if (json_object_get_type(v) == json_type_boolean)
		opts_add(o, key, json_object_get_boolean(v) ? "on" : "off");
	else
		opts_add(o, key, json_object_get_string(v));
	return 0;
}

int opts_parse_json(struct opts *o, const char *s, struct error *e)
{
	struct json_tokener *tok = json_tokener_new_ex(OPTS_JSON_DEPTH);
	struct json_object *root;
	size_t len = strlen(s), end;
	int r = -1;

	opts_reset(o, OPTS_JSON);
	if (!tok)
		die("out of memory");
	/* strict: no trailing commas or comments; trailing text is reported below */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
	if (len > INT_MAX) {
		json_tokener_free(tok);
		return err_set(e, "JSON token size limit exceeded");
	}
	root = json_tokener_parse_ex(tok, s, (int)len);
	end = json_tokener_get_parse_end(tok);
	if (!root) {
		enum json_tokener_error jerr = json_tokener_get_error(tok);

		if (jerr == json_tokener_continue)
			jerr = json_tokener_error_parse_eof;
		json_error(jerr, s, s + MIN(end, len), e);
		goto out;
	}
	while (end < len && isspace((unsigned char)s[end]))
		end++;
	if (end < len) {
		err_set(e, "Expecting at most one JSON value");
		goto out;
	}
	if (json_object_get_type(root) != json_type_object) {
		err_set(e, "JSON value must be an object");
		goto out;
	}
	r = json_flatten(o, NULL, root, 0, e);
out:
	json_object_put(root);
	json_tokener_free(tok);
	if (r < 0)
		opts_free(o);
	return r;
}

int opts_parse_auto(struct opts *o, const char *s, const char *implied_key, struct error *e)
{
	if (s[0] == '{')
		return opts_parse_json(o, s, e);
	return opts_parse(o, s, implied_key, e);
}

/* ---- typed getters ------------------------------------------------------- */

int opts_get_bool(struct opts *o, const char *key, bool *out, struct error *e)
{
	static const char *const yes[] = { "on", "yes", "true", "y" };
	static const char *const no[] = { "off", "no", "false", "n" };
	const char *v = opts_get(o, key);

	if (!v)
		return 0;
	if (o->syntax == OPTS_JSON) {
		if (strcmp(v, "on") && strcmp(v, "off"))
			return err_set(e, "Invalid parameter type for '%s', expected: boolean", key);
		*out = !strcmp(v, "on");
		return 1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcmp(v, yes[i])) {
			*out = true;
			return 1;
		}
		if (!strcmp(v, no[i])) {
			*out = false;
			return 1;
		}
	}
	return err_set(e, "Parameter '%s' expects 'on' or 'off'", key);
}

/* num_u64() - strtoull base 0, whole string; @neg_ok as qemu_strtou64 (wraps "-1") */
static bool num_u64(const char *s, bool neg_ok, uint64_t *out)
{
	const char *p = s;
	char *end;
	unsigned long long v;

	while (isspace((unsigned char)*p))
		p++;
	if (!neg_ok && *p == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		return false;
	*out = v;
	return true;
}

static bool num_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 0);
	if (errno || end == s || *end)
		return false;
	*out = v;
	return true;
}

/* json_int() - a JSON integer as json-c prints it: optional '-', decimal digits */
static bool json_int(const char *s)
{
	if (*s == '-')
		s++;
	if (!isdigit((unsigned char)*s))
		return false;
	while (isdigit((unsigned char)*s))
		s++;
	return !*s;
}

int opts_get_u64(struct opts *o, const char *key, uint64_t *out, struct error *e)
{
	const char *v = opts_get(o, key);
	int64_t i;

	if (!v)
		return 0;
	switch (o->syntax) {
	case OPTS_QEMUOPTS:
		if (!num_u64(v, false, out))
			return err_set(e, "Parameter '%s' expects a uint64 value", key);
		return 1;
	case OPTS_KEYVAL:
		if (!num_u64(v, true, out))
			return err_set(e, "Parameter '%s' expects integer", key);
		return 1;
	default:
		if (!json_int(v))
			return err_set(e, "Invalid parameter type for '%s', expected: integer", key);
		if (num_u64(v, false, out))
			return 1;
		if (num_i64(v, &i)) {	/* QEMU takes negative values here too */
			*out = (uint64_t)i;
			return 1;
		}
		return err_set(e, "Parameter '%s' expects uint64", key);
	}
}

int opts_get_i64(struct opts *o, const char *key, int64_t *out, struct error *e)
{
	const char *v = opts_get(o, key);

	if (!v)
		return 0;
	switch (o->syntax) {
	case OPTS_QEMUOPTS:
		if (!num_i64(v, out))
			return err_set(e, "Parameter '%s' expects an int64 value", key);
		return 1;
	case OPTS_KEYVAL:
		if (!num_i64(v, out))
			return err_set(e, "Parameter '%s' expects integer", key);
		return 1;
	default:
		if (!json_int(v) || !num_i64(v, out))
			return err_set(e, "Invalid parameter type for '%s', expected: integer", key);
		return 1;
	}
}

/* suffix_shift() - binary exponent of a size suffix (B K M G T P E), -1 if none */
static int suffix_shift(char c)
{
	static const char suffixes[] = "BKMGTPE";
	const char *p = c ? strchr(suffixes, toupper((unsigned char)c)) : NULL;

	return p ? (int)(p - suffixes) * 10 : -1;
}

/**
 * strtosz() - QEMU's qemu_strtosz(): decimal with an optional fraction and a
 * B/K/M/G/T/P/E suffix (powers of 1024, default bytes), or 0x hex without either
 * Return: 0, or -EINVAL / -ERANGE
 */
static int strtosz(const char *s, uint64_t *out)
{
	unsigned long long val;
	unsigned __int128 total;
	double frac = 0;
	char *end;
	int shift;

	errno = 0;
	val = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (end == s || memchr(s, '-', (size_t)(end - s)))
		return -EINVAL;
	if (val == 0 && (*end == 'x' || *end == 'X')) {
		val = strtoull(s, &end, 16);
		if (errno == ERANGE)
			return -ERANGE;
		if (*end == '.' || suffix_shift(*end) >= 0 || *end)
			return -EINVAL;
		*out = val;
		return 0;
	}
	if (*end == '.') {
		const char *f = end;
		char *fend;

		frac = strtod(f, &fend);
		if (fend == f + 1 || !isdigit((unsigned char)f[1])) {
			frac = 0;
			fend = (char *)f + 1;
		} else if (memchr(f, 'e', (size_t)(fend - f)) || memchr(f, 'E', (size_t)(fend - f))) {
			return -EINVAL;
		}
		end = fend;
	}
	shift = suffix_shift(*end);
	if (shift >= 0)
		end++;
	else
		shift = 0;
	if (*end)
		return -EINVAL;
	if (shift == 0 && frac != 0)
		return -EINVAL;
	total = ((unsigned __int128)val << shift) +
		(unsigned __int128)(frac * (double)((uint64_t)1 << shift) + 0.5);
	if (total > UINT64_MAX)
		return -ERANGE;
	*out = (uint64_t)total;
	return 0;
}

int opts_get_size(struct opts *o, const char *key, uint64_t *out, struct error *e)
{
	const char *v = opts_get(o, key);

	if (!v)
		return 0;
	switch (o->syntax) {
	case OPTS_QEMUOPTS:
		if (strtosz(v, out) < 0)
			return err_set(e, "Parameter '%s' expects a size value", key);
		return 1;
	case OPTS_KEYVAL:
		if (strtosz(v, out) < 0)
			return err_set(e, "Parameter '%s' expects size", key);
		return 1;
	default:
		if (!json_int(v))
			return err_set(e, "Invalid parameter type for '%s', expected: integer", key);
		if (!num_u64(v, false, out))
			return err_set(e, "Parameter '%s' expects uint64", key);
		return 1;
	}
}

int opts_check_unused(const struct opts *o, struct error *e)
{
	for (int i = 0; i < o->n; i++) {
		if (o->v[i].used)
			continue;
		if (o->syntax == OPTS_QEMUOPTS)
			return err_set(e, "Invalid parameter '%s'", o->v[i].key);
		return err_set(e, "Parameter '%s' is unexpected", o->v[i].key);
	}
	return 0;
}

char *opts_to_string(const struct opts *o)
{
	struct sbuf b = { 0 };

	sbuf_printf(&b, "%s", "");
	for (int i = 0; i < o->n; i++) {
		sbuf_printf(&b, "%s%s=", i ? "," : "", o->v[i].key);
		for (const char *p = o->v[i].val; *p; p++) {
			if (*p == ',')
				sbuf_printf(&b, ",,");
			else
				sbuf_printf(&b, "%c", *p);
		}
	}
	return b.p;
}
