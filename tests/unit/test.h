/* SPDX-License-Identifier: MIT */
/* test.h - a tiny unit test harness: TEST(name) functions, CHECK(), a summary line */
#ifndef QNET_TEST_H
#define QNET_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failed_checks;
static int test_passed, test_failed;

#define CHECK(cond)                                                             \
	do {                                                                    \
		if (!(cond)) {                                                  \
			fprintf(stderr, "  FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			test_failed_checks++;                                   \
		}                                                               \
	} while (0)

#define CHECK_STR(a, b)                                                         \
	do {                                                                    \
		const char *a_ = (a), *b_ = (b);                                \
		if (!a_ || !b_ || strcmp(a_, b_)) {                             \
			fprintf(stderr, "  FAIL %s:%d: %s == %s\n    got:  '%s'\n    want: '%s'\n", \
				__FILE__, __LINE__, #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
			test_failed_checks++;                                   \
		}                                                               \
	} while (0)

#define RUN(fn)                                                                 \
	do {                                                                    \
		int before_ = test_failed_checks;                               \
		fn();                                                           \
		if (test_failed_checks == before_) {                            \
			test_passed++;                                          \
			printf("ok   %s\n", #fn);                               \
		} else {                                                        \
			test_failed++;                                          \
			printf("FAIL %s\n", #fn);                               \
		}                                                               \
	} while (0)

/* TEST_DONE() - the summary line the runners read, and the exit code */
#define TEST_DONE()                                                             \
	do {                                                                    \
		printf("%d passed, %d failed\n", test_passed, test_failed);     \
		return test_failed ? 1 : 0;                                     \
	} while (0)

#endif /* QNET_TEST_H */
