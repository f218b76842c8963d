/*
 * import_ar.h -- compressed files and archives, read as streams for
 * "popvault import" (import_ar.c, through libarchive).
 */
#ifndef IMPORT_AR_H
#define IMPORT_AR_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

struct imp_ar;

/*
 * Read the open file fd (owned from now on: closed by imp_ar_close(), or
 * here on failure):
 * with archives, as an archive if libarchive knows its format, else as
 * one stream through every decompression filter. NULL with err set.
 */
struct imp_ar	*imp_ar_open(int fd, int archives, char *err, size_t errlen);
/*
 * The next entry: 1, with *name (valid until the next call; "" for a
 * compressed file that is no archive), *reg (a regular file, whose
 * bytes imp_ar_read() gives) and *size (-1 unknown); 0 at the end; -1
 * on an error (imp_ar_error()), after which only close may follow.
 */
int		 imp_ar_next(struct imp_ar *, const char **name, int *reg,
		    int64_t *size);
/* After the first imp_ar_next(): 1 if the file is no archive. */
int		 imp_ar_raw(const struct imp_ar *);
/* Bytes of the current entry: a count, 0 at its end, -1 on an error. */
ssize_t		 imp_ar_read(struct imp_ar *, void *buf, size_t n);
const char	*imp_ar_error(const struct imp_ar *);
void		 imp_ar_close(struct imp_ar *);

#endif
