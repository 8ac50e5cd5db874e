// SPDX-License-Identifier: MIT
// fuzz_opts.c - libFuzzer target: every option-string parser and getter on arbitrary input

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/opts.h"
#include "core/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz_opts");
	log_set_stderr(false);	/* short-form boolean warnings */
	return 0;
}

/* exercise() - read every key through every getter, then serialise */
static void exercise(struct opts *o)
{
	struct error e = { 0 };
	uint64_t u;
	int64_t i;
	bool b;
	int pos = 0;
	char *s;

	for (int k = 0; k < o->n; k++) {
		const char *key = o->v[k].key;

		memset(&e, 0, sizeof(e));
		opts_get_bool(o, key, &b, &e);
		opts_get_u64(o, key, &u, &e);
		opts_get_i64(o, key, &i, &e);
		opts_get_size(o, key, &u, &e);
		opts_peek(o, key);
	}
	if (o->n)
		while (opts_next(o, o->v[0].key, &pos))
			;
	opts_check_unused(o, &e);
	s = opts_to_string(o);
	if (o->n)
		opts_del(o, o->v[0].key);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error e = { 0 };
	struct opts o;
	char *s;

	if (size > 65536)
		return 0;
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;	/* embedded NULs just end the string, as on a command line */

	if (opts_parse_auto(&o, s, "type", &e) == 0) {
		exercise(&o);
		opts_free(&o);
	}
	memset(&e, 0, sizeof(e));
	if (opts_parse_keyval(&o, s, "type", &e) == 0) {
		exercise(&o);
		opts_free(&o);
	}
	memset(&e, 0, sizeof(e));
	if (opts_parse_json(&o, s, &e) == 0) {
		exercise(&o);
		opts_free(&o);
	}
	memset(&e, 0, sizeof(e));
	if (opts_parse(&o, s, NULL, &e) == 0) {
		exercise(&o);
		opts_free(&o);
	}
	free(s);
	return 0;
}
