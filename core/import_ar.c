/*
 * import_ar.c -- compressed files and archives for "popvault import",
 * through libarchive (with formats/tar.c, the only files that include
 * it): a file compressed whole (gzip, bzip2, xz, zstd, and whatever
 * else libarchive's filters read) is one "raw" entry; an archive (tar
 * in any of its forms, cpio, zip, 7-Zip) is its members, each read as
 * a stream. Nothing is extracted to disk.
 */
#include <sys/types.h>

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "import_ar.h"
#include "util.h"

struct imp_ar {
	struct archive	*a;
	int		 fd;
	int		 raw;
	char		 err[512];
};

static void
ar_err(struct imp_ar *r, const char *what)
{
	const char	*e = archive_error_string(r->a);

	snprintf(r->err, sizeof r->err, "%s: %s", what,
	    e != NULL ? e : "unreadable");
}

struct imp_ar *
imp_ar_open(int fd, int archives, char *err, size_t errlen)
{
	struct imp_ar	*r;

	r = xcalloc(1, sizeof *r);
	r->fd = fd;
	if ((r->a = archive_read_new()) == NULL) {
		snprintf(err, errlen, "libarchive: out of memory");
		free(r);
		close(fd);
		return NULL;
	}
	archive_read_support_filter_all(r->a);
	if (archives) {
		archive_read_support_format_tar(r->a);
		archive_read_support_format_gnutar(r->a);
		archive_read_support_format_cpio(r->a);
		archive_read_support_format_zip(r->a);
		archive_read_support_format_7zip(r->a);
	}
	/* Bids last: a compressed file that holds no archive. */
	archive_read_support_format_raw(r->a);
	if (archive_read_open_fd(r->a, fd, 64 * 1024) != ARCHIVE_OK) {
		ar_err(r, "cannot read");
		snprintf(err, errlen, "%s", r->err);
		archive_read_free(r->a);
		free(r);
		close(fd);
		return NULL;
	}
	return r;
}

int
imp_ar_next(struct imp_ar *r, const char **name, int *reg, int64_t *size)
{
	struct archive_entry	*e;
	int			 x;

	x = archive_read_next_header(r->a, &e);
	if (x == ARCHIVE_EOF)
		return 0;
	if (x != ARCHIVE_OK && x != ARCHIVE_WARN) {
		ar_err(r, "cannot read the next member");
		return -1;
	}
	r->raw = archive_format(r->a) == ARCHIVE_FORMAT_RAW;
	*name = r->raw ? "" : archive_entry_pathname(e);
	if (*name == NULL)
		*name = "?";
	*reg = r->raw || archive_entry_filetype(e) == AE_IFREG;
	*size = !r->raw && archive_entry_size_is_set(e) ?
	    (int64_t)archive_entry_size(e) : -1;
	return 1;
}

int
imp_ar_raw(const struct imp_ar *r)
{
	return r->raw;
}

ssize_t
imp_ar_read(struct imp_ar *r, void *buf, size_t n)
{
	la_ssize_t	k;

	k = archive_read_data(r->a, buf, n);
	if (k < 0) {
		ar_err(r, "cannot read");
		return -1;
	}
	return (ssize_t)k;
}

const char *
imp_ar_error(const struct imp_ar *r)
{
	return r->err;
}

void
imp_ar_close(struct imp_ar *r)
{
	if (r == NULL)
		return;
	archive_read_free(r->a);
	if (r->fd != -1)
		close(r->fd);
	free(r);
}
