/*
 * t.h -- a table-driven unit test harness with no framework.
 *
 * Each test binary defines test functions and lists them in main() with
 * T_RUN(fn). A test function uses T_CHECK(cond) and friends; a failed
 * check prints file:line and the condition, and marks the test failed.
 * Output per test is "PASS name" or "FAIL name"; tests/run.sh counts
 * those lines, and the binary exits non-zero if any test failed.
 */
#ifndef T_H
#define T_H

#include <stdio.h>
#include <string.h>

static int t_failed_checks;
static int t_pass, t_fail;

#define T_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n",		\
		    __FILE__, __LINE__, #cond);				\
		t_failed_checks++;					\
	}								\
} while (0)

#define T_CHECKF(cond, ...) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: check failed: %s: ",		\
		    __FILE__, __LINE__, #cond);				\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		t_failed_checks++;					\
	}								\
} while (0)

#define T_MEMEQ(a, alen, b, blen) T_CHECKF((alen) == (blen) &&		\
	memcmp((a), (b), (alen)) == 0, "lengths %zu and %zu",		\
	(size_t)(alen), (size_t)(blen))

#define T_RUN(fn) do {							\
	t_failed_checks = 0;						\
	fn();								\
	if (t_failed_checks == 0) {					\
		printf("PASS %s\n", #fn);				\
		t_pass++;						\
	} else {							\
		printf("FAIL %s\n", #fn);				\
		t_fail++;						\
	}								\
	fflush(stdout);							\
} while (0)

#define T_END() (fprintf(stderr, "%d passed, %d failed\n", t_pass,	\
	t_fail), t_fail ? 1 : 0)

#endif
