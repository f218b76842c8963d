/*
 * spool.c -- bounded message spool; see spool.h.
 */
#define _GNU_SOURCE	/* O_TMPFILE */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"
#include "util.h"

struct spool {
	char		*mem;
	size_t		 len, max;
	int		 fd;		/* spill file, or -1 */
	uint64_t	 total;
	char		 dir[4096];
};

struct spool *
spool_new(const char *dir, size_t mem_max)
{
	struct spool	*s = xcalloc(1, sizeof *s);

	s->mem = xmalloc(mem_max);
	s->max = mem_max;
	s->fd = -1;
	snprintf(s->dir, sizeof s->dir, "%s", dir);
	return s;
}

void
spool_reset(struct spool *s)
{
	s->len = 0;
	s->total = 0;
	if (s->fd != -1) {
		close(s->fd);
		s->fd = -1;
	}
}

static int
spill(struct spool *s)
{
	char	path[4200];

	s->fd = open(s->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (s->fd == -1 && (errno == EOPNOTSUPP || errno == EISDIR ||
	    errno == EINVAL)) {
		/* No O_TMPFILE here: a named file, unlinked at once. */
		if (xsnprintf(path, sizeof path, "%s/.spool.XXXXXX",
		    s->dir) == -1)
			return -1;
		if ((s->fd = mkostemp(path, O_CLOEXEC)) == -1)
			return -1;
		unlink(path);
	}
	if (s->fd == -1)
		return -1;
	if (write_all(s->fd, s->mem, s->len) == -1)
		return -1;
	return 0;
}

int
spool_add(struct spool *s, const void *p, size_t n)
{
	if (s->fd == -1 && s->len + n <= s->max) {
		memcpy(s->mem + s->len, p, n);
		s->len += n;
		s->total += n;
		return 0;
	}
	if (s->fd == -1 && spill(s) == -1)
		return -1;
	if (write_all(s->fd, p, n) == -1)
		return -1;
	s->total += n;
	return 0;
}

uint64_t
spool_size(const struct spool *s)
{
	return s->total;
}

int
spool_replay(struct spool *s, int (*cb)(void *, const void *, size_t),
    void *arg)
{
	off_t	off = 0;
	ssize_t	n;

	if (s->fd == -1)
		return s->len == 0 ? 0 : cb(arg, s->mem, s->len);
	/* Read back through the memory buffer, which is free now. */
	for (;;) {
		n = pread(s->fd, s->mem, s->max, off);
		if (n == 0)
			return 0;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		off += n;
		if (cb(arg, s->mem, (size_t)n) == -1)
			return -1;
	}
}

void
spool_free(struct spool *s)
{
	if (s == NULL)
		return;
	spool_reset(s);
	free(s->mem);
	free(s);
}
