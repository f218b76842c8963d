/*
 * t.c -- the helpers of tests/unit/t.h, linked into every unit test:
 * the harness's counters, allocation, temporary folders, files.
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

int	t_failed_checks;
int	t_pass, t_fail;

void *
t_malloc(size_t n)
{
	void	*p;

	if ((p = malloc(n == 0 ? 1 : n)) == NULL) {
		perror("malloc");
		exit(2);
	}
	return p;
}

int
t_tmpdir(char *buf, size_t len, const char *tag)
{
	int	r;

	r = snprintf(buf, len, "/tmp/popvault-%s.XXXXXX", tag);
	if (r < 0 || (size_t)r >= len) {
		fprintf(stderr, "t_tmpdir: name too long\n");
		return -1;
	}
	if (mkdtemp(buf) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	return 0;
}

static void
rmrf_at(int dfd, const char *name)
{
	DIR		*d;
	struct dirent	*de;
	int		 fd;

	if (unlinkat(dfd, name, 0) == 0 || (errno != EISDIR &&
	    errno != EPERM))
		return;
	if ((fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		rmrf_at(dirfd(d), de->d_name);
	}
	closedir(d);
	unlinkat(dfd, name, AT_REMOVEDIR);
}

void
t_rmrf(const char *path)
{
	if (path != NULL && path[0] != '\0')
		rmrf_at(AT_FDCWD, path);
}

int
t_write_bytes(const char *path, const void *p, size_t n, mode_t mode)
{
	const char	*c = p;
	ssize_t		 w;
	int		 fd, saved;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1)
		return -1;
	while (n > 0) {
		if ((w = write(fd, c, n)) == -1) {
			if (errno == EINTR)
				continue;
			saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	if (close(fd) == -1)
		return -1;
	return chmod(path, mode);
}

int
t_write_file(const char *path, const char *text, mode_t mode)
{
	return t_write_bytes(path, text, strlen(text), mode);
}

char *
t_read_file(const char *path, size_t *len)
{
	char	*buf = NULL;
	size_t	 cap = 0, n = 0;
	ssize_t	 r;
	int	 fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	for (;;) {
		if (cap - n < 4096 + 1) {
			cap = cap ? cap * 2 : 8192;
			if ((buf = realloc(buf, cap)) == NULL) {
				perror("realloc");
				exit(2);
			}
		}
		if ((r = read(fd, buf + n, cap - n - 1)) == 0)
			break;
		if (r == -1) {
			if (errno == EINTR)
				continue;
			saved = errno;
			free(buf);
			close(fd);
			errno = saved;
			return NULL;
		}
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*len = n;
	return buf;
}
