/*
 * t.h -- a table-driven unit test harness with no framework.
 *
 * Each test binary defines test functions and lists them in main() with
 * T_RUN(fn). A test function uses T_CHECK(cond) and friends; a failed
 * check prints file:line and the condition, and marks the test failed.
 * Output per test is "PASS name" or "FAIL name"; tests/run.sh counts
 * those lines, and the binary exits non-zero if any test failed.
 *
 * Below the harness, the helpers every test shares (t.c, linked into
 * each unit test): allocation, a temporary folder, files.
 */
#ifndef T_H
#define T_H

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

extern int t_failed_checks;
extern int t_pass, t_fail;

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

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* malloc(n), n may be 0; out of memory ends the test binary (exit 2). */
void	*t_malloc(size_t n);

/*
 * A new folder "/tmp/popvault-TAG.XXXXXX" (mkdtemp(3), mode 0700) whose
 * path goes into buf: 0, or -1 after saying why on stderr.
 */
int	 t_tmpdir(char *buf, size_t len, const char *tag);

/* Remove path and everything under it; links are removed, not followed. */
void	 t_rmrf(const char *path);

/*
 * Write n bytes (t_write_file: the string text) to path, created or
 * truncated, then chmod it to mode: 0 or -1 with errno.
 */
int	 t_write_bytes(const char *path, const void *p, size_t n,
	    mode_t mode);
int	 t_write_file(const char *path, const char *text, mode_t mode);

/*
 * The whole content of path, malloc'd (and NUL-terminated, not counted
 * in *len): NULL with errno if it cannot be read.
 */
char	*t_read_file(const char *path, size_t *len);

#endif
