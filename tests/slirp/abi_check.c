// SPDX-License-Identifier: MIT
// abi_check.c - include/libslirp.h against the system's libslirp (the generated abi_sys.h):
// every size, offset and constant of abi_fields.h must be equal, or this does not compile

#include <stddef.h>
#include <stdio.h>

#include "libslirp.h"
#include "abi_sys.h"

#define S(t) _Static_assert(sizeof(t) == SYS_SIZE_##t, "size of " #t);
#define F(t, f)										\
	_Static_assert(offsetof(t, f) == SYS_OFF_##t##_##f, "offset of " #t "." #f);	\
	_Static_assert(sizeof(((t *)0)->f) == SYS_FSIZE_##t##_##f, "size of " #t "." #f);
#define C(c) _Static_assert((long long)(c) == SYS_CONST_##c, "value of " #c);
#include "abi_fields.h"
#undef S
#undef F
#undef C

int main(void)
{
	int n = 0;

#define S(t) n++;
#define F(t, f) n += 2;
#define C(c) n++;
#include "abi_fields.h"
	printf("%d ABI facts equal\n", n);
	return 0;
}
