// SPDX-License-Identifier: MIT
// abi_dump.c - built against the system's libslirp-dev header: prints its sizes, offsets and
// constants as a C header (abi_check.c compares include/libslirp.h with it)

#include <stddef.h>
#include <stdio.h>

#include <libslirp.h>

int main(void)
{
#define S(t) printf("#define SYS_SIZE_%s %zu\n", #t, sizeof(t));
#define F(t, f) printf("#define SYS_OFF_%s_%s %zu\n#define SYS_FSIZE_%s_%s %zu\n", #t, #f,	\
		       offsetof(t, f), #t, #f, sizeof(((t *)0)->f));
#define C(c) printf("#define SYS_CONST_%s %lld\n", #c, (long long)(c));
#include "abi_fields.h"
	return 0;
}
