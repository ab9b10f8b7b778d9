/* SPDX-License-Identifier: BSD-2-Clause */
/* tap.h: a few macros that print TAP and count failures. */
#ifndef KX_TEST_TAP_H
#define KX_TEST_TAP_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define CHECK(cond, ...)                                                        \
	do {                                                                    \
		tap_n++;                                                        \
		if (cond) {                                                     \
			printf("ok %d - ", tap_n);                              \
		} else {                                                        \
			tap_failed++;                                           \
			printf("not ok %d - %s:%d: ", tap_n, __FILE__, __LINE__); \
		}                                                               \
		printf(__VA_ARGS__);                                            \
		printf("\n");                                                   \
	} while (0)

#define CHECK_EQ(a, b, what)                                                           \
	do {                                                                           \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                       \
		CHECK(a_ == b_, "%s: got %" PRIu64 ", want %" PRIu64, what, a_, b_);   \
	} while (0)

#define CHECK_STR(a, b, what)                                                  \
	do {                                                                   \
		const char *a_ = (a), *b_ = (b);                               \
		CHECK(a_ && strcmp(a_, b_) == 0, "%s: got '%s', want '%s'", what, \
		      a_ ? a_ : "(null)", b_);                                  \
	} while (0)

static inline int tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
