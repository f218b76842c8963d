/*
 * test_util.c -- unit tests for the file helpers of core/util.c that the
 * archive formats rely on: renames that never replace a file
 * (rename_noreplace and its link + unlink fallback), the random part of
 * volume and quarantine names, and folders made durably (mkdir_p,
 * mkdir_sync, mkdirat_sync: what they return and create; that they fsync
 * is checked from a system call trace by tests/integration/
 * test_durable.sh).
 *
 * Each test works in a fresh mkdtemp(3) folder in /tmp, removed at the end.
 */

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "t.h"
#include "util.h"

static char	tdir[64];

static int
setup(void)
{
	return t_tmpdir(tdir, sizeof tdir, "test_util");
}

static void
teardown(void)
{
	t_rmrf(tdir);
}

/* Write s to DIR/name (created or truncated); 0 or -1. */
static int
put(int dfd, const char *name, const char *s)
{
	int	fd, r;

	if ((fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600)) ==
	    -1)
		return -1;
	r = write_all(fd, s, strlen(s));
	close(fd);
	return r;
}

/* Does DIR/name hold exactly s? */
static int
holds(int dfd, const char *name, const char *s)
{
	char	buf[256];
	ssize_t	n;
	int	fd;

	if ((fd = openat(dfd, name, O_RDONLY)) == -1)
		return 0;
	n = read(fd, buf, sizeof buf);
	close(fd);
	return n >= 0 && (size_t)n == strlen(s) && memcmp(buf, s, (size_t)n) == 0;
}

static int
there(int dfd, const char *name)
{
	struct stat	sb;

	return fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0;
}

static int
open_dir(const char *rel)
{
	char	p[256];

	snprintf(p, sizeof p, "%s/%s", tdir, rel);
	return open(p, O_RDONLY | O_DIRECTORY);
}

/*
 * One mover (rename_noreplace, or its fallback alone) through the cases
 * that matter: a move into a free name, within a folder and across two;
 * a move onto a name that is taken is refused with EEXIST, and neither
 * file is touched.
 */
static void
check_mover(int (*mv)(int, const char *, int, const char *))
{
	int	a, b;

	if (setup() == -1) {
		T_CHECK(0);
		return;
	}
	a = b = -1;
	T_CHECK(mkdir_p(tdir) == 0);
	{
		char	p[128];

		snprintf(p, sizeof p, "%s/a", tdir);
		T_CHECK(mkdir(p, 0700) == 0);
		snprintf(p, sizeof p, "%s/b", tdir);
		T_CHECK(mkdir(p, 0700) == 0);
	}
	if ((a = open_dir("a")) == -1 || (b = open_dir("b")) == -1) {
		T_CHECK(0);
		goto out;
	}

	/* Into a free name, in the same folder and across. */
	T_CHECK(put(a, "vol.part", "first volume") == 0);
	T_CHECK(mv(a, "vol.part", a, "vol") == 0);
	T_CHECK(!there(a, "vol.part"));
	T_CHECK(holds(a, "vol", "first volume"));
	T_CHECK(put(a, "msg", "a message") == 0);
	T_CHECK(mv(a, "msg", b, "msg") == 0);
	T_CHECK(!there(a, "msg"));
	T_CHECK(holds(b, "msg", "a message"));

	/* Onto a name that is taken: refused, both files untouched. */
	T_CHECK(put(a, "vol.part", "second volume") == 0);
	errno = 0;
	T_CHECK(mv(a, "vol.part", a, "vol") == -1);
	T_CHECKF(errno == EEXIST, "errno %d", errno);
	T_CHECK(holds(a, "vol", "first volume"));
	T_CHECK(holds(a, "vol.part", "second volume"));
	T_CHECK(put(a, "msg", "another message") == 0);
	errno = 0;
	T_CHECK(mv(a, "msg", b, "msg") == -1);
	T_CHECKF(errno == EEXIST, "errno %d", errno);
	T_CHECK(holds(b, "msg", "a message"));
	T_CHECK(holds(a, "msg", "another message"));

	/* Not even an empty file is replaced. */
	T_CHECK(put(b, "empty", "") == 0);
	T_CHECK(mv(a, "msg", b, "empty") == -1 && errno == EEXIST);
	T_CHECK(holds(b, "empty", ""));

	/* A source that is not there: ENOENT, nothing made. */
	T_CHECK(mv(a, "nothere", a, "new") == -1 && errno == ENOENT);
	T_CHECK(!there(a, "new"));
out:
	if (a != -1)
		close(a);
	if (b != -1)
		close(b);
	teardown();
}

static void
test_rename_noreplace(void)
{
	check_mover(rename_noreplace);
}

/* The path taken where the file system has no RENAME_NOREPLACE. */
static void
test_rename_by_link(void)
{
	check_mover(rename_by_link);
}

static void
test_random_hex(void)
{
	char	a[33], b[33];

	memset(a, 'x', sizeof a);
	random_hex(a, 8);
	T_CHECK(strlen(a) == 16);
	T_CHECK(strspn(a, "0123456789abcdef") == 16);
	random_hex(b, 8);
	/* 2^-64 of a false failure */
	T_CHECK(strcmp(a, b) != 0);
	random_hex(a, 16);
	T_CHECK(strlen(a) == 32 && strspn(a, "0123456789abcdef") == 32);
}

static void
test_mkdir_durable(void)
{
	char		p[256];
	struct stat	sb;
	int		dfd;

	if (setup() == -1) {
		T_CHECK(0);
		return;
	}
	umask(0);
	/* mkdir_p: every missing component, 0700; again: nothing to do. */
	snprintf(p, sizeof p, "%s/x/y/z", tdir);
	T_CHECK(mkdir_p(p) == 0);
	T_CHECK(stat(p, &sb) == 0 && S_ISDIR(sb.st_mode) &&
	    (sb.st_mode & 07777) == 0700);
	snprintf(p, sizeof p, "%s/x", tdir);
	T_CHECK(stat(p, &sb) == 0 && (sb.st_mode & 07777) == 0700);
	snprintf(p, sizeof p, "%s/x/y/z/", tdir);
	T_CHECK(mkdir_p(p) == 0);
	/* A file in the way is an error, not a folder. */
	if ((dfd = open_dir("x")) != -1) {
		T_CHECK(put(dfd, "file", "f") == 0);
		close(dfd);
	}
	snprintf(p, sizeof p, "%s/x/file/sub", tdir);
	T_CHECK(mkdir_p(p) == -1 && errno == ENOTDIR);

	/* mkdir_sync: 1 made, 0 there already, -1 with errno. */
	snprintf(p, sizeof p, "%s/x/s", tdir);
	T_CHECK(mkdir_sync(p) == 1);
	T_CHECK(mkdir_sync(p) == 0);
	T_CHECK(stat(p, &sb) == 0 && (sb.st_mode & 07777) == 0700);
	snprintf(p, sizeof p, "%s/x/nothere/s", tdir);
	T_CHECK(mkdir_sync(p) == -1 && errno == ENOENT);

	/* mkdirat_sync likewise. */
	if ((dfd = open_dir("x")) == -1) {
		T_CHECK(0);
		goto out;
	}
	T_CHECK(mkdirat_sync(dfd, "t") == 1);
	T_CHECK(mkdirat_sync(dfd, "t") == 0);
	T_CHECK(fstatat(dfd, "t", &sb, 0) == 0 && S_ISDIR(sb.st_mode) &&
	    (sb.st_mode & 07777) == 0700);
	T_CHECK(mkdirat_sync(dfd, "nothere/t") == -1 && errno == ENOENT);
	close(dfd);
out:
	umask(022);
	teardown();
}

int
main(void)
{
	T_RUN(test_rename_noreplace);
	T_RUN(test_rename_by_link);
	T_RUN(test_random_hex);
	T_RUN(test_mkdir_durable);
	return T_END();
}
