/*
 * acctfile.c -- the account file; see acctfile.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acctfile.h"
#include "util.h"

#define ACCTFILE_MAX	4096
#define ACCTFILE_MAGIC	"popvault account 1\n"

static void
put(char *buf, size_t len, size_t *o, const char *key, const char *v)
{
	int	n;

	if (strchr(v, '\n') != NULL || *o >= len)
		return;
	n = snprintf(buf + *o, len - *o, "%s=%s\n", key, v);
	if (n > 0 && (size_t)n < len - *o)
		*o += (size_t)n;
	else
		buf[*o] = '\0';
}

/* The whole file, or -1 (errno; ENOENT: none). */
static ssize_t
slurp(const char *path, char *buf, size_t len)
{
	ssize_t	n, got = 0;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return -1;
	while ((size_t)got < len - 1 && (n = read(fd, buf + got,
	    len - 1 - (size_t)got)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			close(fd);
			return -1;
		}
		got += n;
	}
	close(fd);
	buf[got] = '\0';
	return got;
}

int
acctfile_write(const char *dir, const char *name, const struct idx_ident *id)
{
	char	want[ACCTFILE_MAX], have[ACCTFILE_MAX];
	char	path[4200], tmp[4200];
	size_t	o;
	ssize_t	n;
	int	fd, saved;

	o = (size_t)snprintf(want, sizeof want, "%s", ACCTFILE_MAGIC);
	put(want, sizeof want, &o, "name", name);
	put(want, sizeof want, &o, "host", id->host);
	put(want, sizeof want, &o, "port", id->port);
	put(want, sizeof want, &o, "user", id->user);
	if (xsnprintf(path, sizeof path, "%s/" ACCTFILE_NAME, dir) == -1 ||
	    xsnprintf(tmp, sizeof tmp, "%s/" ACCTFILE_NAME ".tmp", dir) == -1)
		return -1;
	if ((n = slurp(path, have, sizeof have)) >= 0 && (size_t)n == o &&
	    memcmp(have, want, o) == 0)
		return 0;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		return -1;
	if (write_all(fd, want, o) == -1 || fsync(fd) == -1) {
		saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		return -1;
	}
	close(fd);
	/* The file is ours alone: replacing the old one is the point. */
	if (rename(tmp, path) == -1 || fsync_dir(dir) == -1) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return 0;
}

int
acctfile_read(const char *dir, char *name, size_t namelen,
    struct idx_ident *id)
{
	char	buf[ACCTFILE_MAX], path[4200], *line, *next, *eq;

	memset(id, 0, sizeof *id);
	if (namelen > 0)
		name[0] = '\0';
	if (xsnprintf(path, sizeof path, "%s/" ACCTFILE_NAME, dir) == -1)
		return -1;
	if (slurp(path, buf, sizeof buf) == -1)
		return errno == ENOENT ? 0 : -1;
	if (strncmp(buf, ACCTFILE_MAGIC, strlen(ACCTFILE_MAGIC)) != 0) {
		errno = EINVAL;
		return -1;
	}
	for (line = buf + strlen(ACCTFILE_MAGIC); *line != '\0';
	    line = next) {
		if ((next = strchr(line, '\n')) == NULL)
			break;		/* a line cut short: not taken */
		*next++ = '\0';
		if ((eq = strchr(line, '=')) == NULL)
			continue;
		*eq++ = '\0';
		if (strcmp(line, "name") == 0)
			snprintf(name, namelen, "%s", eq);
		else if (strcmp(line, "host") == 0)
			snprintf(id->host, sizeof id->host, "%s", eq);
		else if (strcmp(line, "port") == 0)
			snprintf(id->port, sizeof id->port, "%s", eq);
		else if (strcmp(line, "user") == 0)
			snprintf(id->user, sizeof id->user, "%s", eq);
	}
	return 1;
}
