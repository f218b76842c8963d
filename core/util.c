/*
 * util.c -- small helpers; see util.h.
 */
#define _GNU_SOURCE		/* renameat2(2), RENAME_NOREPLACE */

#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n == 0 ? 1 : n)) == NULL)
		fatal("malloc");
	return p;
}

void *
xcalloc(size_t n, size_t m)
{
	void	*p;

	if ((p = calloc(n == 0 ? 1 : n, m == 0 ? 1 : m)) == NULL)
		fatal("calloc");
	return p;
}

void *
xreallocarray(void *old, size_t n, size_t m)
{
	void	*p;

	if (m != 0 && n > SIZE_MAX / m)
		fatalx("xreallocarray: overflow");
	if ((p = realloc(old, n * m == 0 ? 1 : n * m)) == NULL)
		fatal("realloc");
	return p;
}

char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatal("strdup");
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
wall_now(void)
{
#ifdef POPVAULT_TEST_HOOKS
	const char	*s = getenv("POPVAULT_NOW");
	char		*end;
	long long	 v;

	if (s != NULL && *s != '\0') {
		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno == 0 && *end == '\0')
			return v;
	}
#endif
	return (int64_t)time(NULL);
}

int
xsnprintf(char *buf, size_t sz, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sz, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* fsync the folder that holds path (its last component's parent). */
static int
fsync_parent(const char *path)
{
	char	 dir[4096];
	char	*slash;
	size_t	 n;

	if (xsnprintf(dir, sizeof dir, "%s", path) == -1)
		return -1;
	/* "a/b/" names a/b: its parent is a. */
	for (n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--)
		dir[n - 1] = '\0';
	if ((slash = strrchr(dir, '/')) == NULL)
		return fsync_dir(".");
	if (slash == dir)
		return fsync_dir("/");
	*slash = '\0';
	return fsync_dir(dir);
}

int
mkdir_p(const char *path)
{
	char	 tmp[4096];
	char	*p, *first = NULL, c;
	int	 r;

	if (xsnprintf(tmp, sizeof tmp, "%s", path) == -1)
		return -1;
	if (tmp[0] == '\0') {
		errno = ENOENT;
		return -1;
	}
	for (p = tmp + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(tmp, 0700) == 0) {
			if (first == NULL)
				first = p;
		} else if (errno != EEXIST)
			return -1;
		*p = c;
		if (c == '\0')
			break;
	}
	if (first == NULL)
		return 0;
	/*
	 * Every component from the first one created down is new: fsync
	 * each (its own entries), then the folder that holds the first
	 * (the entry that a power cut could otherwise undo).
	 */
	for (p = first;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		r = fsync_dir(tmp);
		*p = c;
		if (r == -1)
			return -1;
		if (c == '\0')
			break;
	}
	*first = '\0';
	return fsync_parent(tmp);
}

int
mkdir_sync(const char *path)
{
	if (mkdir(path, 0700) == -1)
		return errno == EEXIST ? 0 : -1;
	if (fsync_dir(path) == -1 || fsync_parent(path) == -1)
		return -1;
	return 1;
}

int
mkdirat_sync(int dfd, const char *name)
{
	int	fd, r, saved;

	if (mkdirat(dfd, name, 0700) == -1)
		return errno == EEXIST ? 0 : -1;
	if ((fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return -1;
	r = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	if (r == -1 || fsync(dfd) == -1)
		return -1;
	return 1;
}

int
rename_noreplace(int fromfd, const char *from, int tofd, const char *to)
{
	if (renameat2(fromfd, from, tofd, to, RENAME_NOREPLACE) == 0)
		return 0;
	/* Only a file system (or kernel) without the flag falls back. */
	if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
		return -1;
	return rename_by_link(fromfd, from, tofd, to);
}

int
rename_by_link(int fromfd, const char *from, int tofd, const char *to)
{
	if (linkat(fromfd, from, tofd, to, 0) == -1)
		return -1;
	return unlinkat(fromfd, from, 0);
}

int
fsync_dir(const char *path)
{
	int	fd, r, saved;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	r = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return r;
}

int
write_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void
hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char	 digits[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
}

void
random_hex(char *out, size_t len)
{
	static uint64_t	 ctr;
	unsigned char	 buf[32];
	struct timespec	 ts;
	uint64_t	 x;
	size_t		 got = 0, i;
	ssize_t		 n;

	if (len > sizeof buf)
		fatalx("random_hex: %zu bytes", len);
	while (got < len) {
		n = getrandom(buf + got, len - got, GRND_NONBLOCK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	for (i = got; i < len; i++) {
		/* splitmix64 of what tells this moment and process apart */
		clock_gettime(CLOCK_REALTIME, &ts);
		x = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
		x ^= ((uint64_t)getpid() << 40) ^ (++ctr * 0x9e3779b97f4a7c15ULL);
		x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
		x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
		buf[i] = (unsigned char)(x ^ (x >> 31));
	}
	hex_encode(buf, len, out);
}

/*
 * The test hooks read their environment only in a test build (util.h);
 * the release build keeps the functions, empty, so that only this file
 * is compiled twice.
 */
#ifdef POPVAULT_TEST_HOOKS
void
crash_point(const char *name)
{
	static int		 init;
	static const char	*want;
	static size_t		 wantlen;
	static long		 nth = 1, seen;
	const char		*colon;

	if (!init) {
		init = 1;
		want = getenv("POPVAULT_CRASH");
		if (want != NULL && *want != '\0') {
			colon = strchr(want, ':');
			wantlen = colon ? (size_t)(colon - want) : strlen(want);
			if (colon != NULL)
				nth = strtol(colon + 1, NULL, 10);
		} else
			want = NULL;
	}
	if (want == NULL || strlen(name) != wantlen ||
	    memcmp(name, want, wantlen) != 0)
		return;
	if (++seen < nth)
		return;
	fprintf(stderr, "popvault: crash hook: abort at %s\n", name);
	abort();
}

void
test_pause(const char *name)
{
	const char	*dir = getenv("POPVAULT_TEST_PAUSE");
	const char	*at = getenv("POPVAULT_TEST_PAUSE_AT");
	char		 path[4200];
	int		 fd, i;

	if (dir == NULL || at == NULL || strcmp(at, name) != 0)
		return;
	if (xsnprintf(path, sizeof path, "%s/ready", dir) == -1)
		return;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) != -1)
		close(fd);
	if (xsnprintf(path, sizeof path, "%s/go", dir) == -1)
		return;
	for (i = 0; i < 600 && access(path, F_OK) == -1; i++)
		usleep(100000);
}
#else
void
crash_point(const char *name)
{
	(void)name;
}

void
test_pause(const char *name)
{
	(void)name;
}
#endif
