/* SPDX-License-Identifier: MIT */
/* opts.h - QEMU option strings: QemuOpts, keyval (dotted keys) and JSON forms */
#ifndef QNET_OPTS_H
#define QNET_OPTS_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/util.h"

/*
 * All three forms end up as one flat, ordered list of key=value strings:
 *   stream,id=s0,server=on,addr.type=unix,addr.path=/tmp/s
 *   {"type":"stream","id":"s0","server":true,"addr":{"type":"unix","path":"/tmp/s"}}
 * both give type=stream id=s0 server=on addr.type=unix addr.path=/tmp/s.
 * JSON arrays become repeated keys (QemuOpts' way of writing lists, e.g.
 * dnssearch=a,dnssearch=b) and JSON booleans "on"/"off".
 *
 * Readers mark the keys they use; opts_check_unused() then reports the first
 * key nobody read with QEMU's text for that parser.
 */

/**
 * struct opt - one key=value
 * @key:	key, dotted for nested members ("addr.path")
 * @val:	value, never NULL ("" for "key=")
 * @used:	read by someone
 */
struct opt {
	char *key;
	char *val;
	bool used;
};

/**
 * enum opts_syntax - which QEMU parser the string went through (error texts differ)
 */
enum opts_syntax { OPTS_QEMUOPTS, OPTS_KEYVAL, OPTS_JSON };

/**
 * struct opts - a parsed option string
 * @v:		entries in order
 * @n:		number of entries
 * @cap:	allocated entries
 * @syntax:	how it was written
 */
struct opts {
	struct opt *v;
	int n;
	int cap;
	enum opts_syntax syntax;
};

/**
 * opts_parse() - QemuOpts syntax: "val,key=val,key=val", ",," escapes a comma
 * @implied_key:	key for a first element without '=' ("type"), or NULL
 */
int opts_parse(struct opts *o, const char *s, const char *implied_key, struct error *e);
/* opts_parse_keyval() - keyval syntax (dotted keys), QEMU's keyval.c texts */
int opts_parse_keyval(struct opts *o, const char *s, const char *implied_key, struct error *e);
/* opts_parse_json() - a JSON object, flattened to dotted keys (json-c) */
int opts_parse_json(struct opts *o, const char *s, struct error *e);
/* opts_parse_auto() - JSON if @s starts with '{', else QemuOpts syntax */
int opts_parse_auto(struct opts *o, const char *s, const char *implied_key, struct error *e);
void opts_free(struct opts *o);

/* opts_add() - append key=val (copies both) */
void opts_add(struct opts *o, const char *key, const char *val);
/* opts_del() - remove every entry for @key */
void opts_del(struct opts *o, const char *key);

/* opts_get() - last value of @key (marks all @key entries used), or NULL */
const char *opts_get(struct opts *o, const char *key);
/* opts_peek() - like opts_get() without marking */
const char *opts_peek(const struct opts *o, const char *key);
bool opts_has(const struct opts *o, const char *key);
/**
 * opts_next() - iterate over repeated keys (hostfwd=..., dnssearch=...)
 * @pos:	start with 0; advanced past the match
 * Return: the next value of @key, marked used, or NULL
 */
const char *opts_next(struct opts *o, const char *key, int *pos);

/*
 * Typed getters. Return 1 when the key is present and valid (*out set), 0 when
 * absent (*out untouched), -1 on a bad value (QEMU's error text in @e).
 */
/* on/off/yes/no/true/false (QemuOpts also takes "y"/"n" as keyval does not: follow QEMU per syntax) */
int opts_get_bool(struct opts *o, const char *key, bool *out, struct error *e);
/* unsigned number, decimal/0x hex/0 octal as QEMU's parse_uint */
int opts_get_u64(struct opts *o, const char *key, uint64_t *out, struct error *e);
/* signed number */
int opts_get_i64(struct opts *o, const char *key, int64_t *out, struct error *e);
/* size with k/M/G/T/P/E suffixes (QEMU's qemu_strtosz) */
int opts_get_size(struct opts *o, const char *key, uint64_t *out, struct error *e);

/* opts_check_unused() - first unread key -> QEMU's "Invalid parameter '%s'" (QemuOpts)
 * or "Parameter '%s' is unexpected" (keyval/JSON) */
int opts_check_unused(const struct opts *o, struct error *e);

/* opts_to_string() - "key=val,key=val" with commas doubled; caller frees */
char *opts_to_string(const struct opts *o);

#endif /* QNET_OPTS_H */
