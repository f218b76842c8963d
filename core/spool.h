/*
 * spool.h -- hold one message until a format that needs its size (and
 * its headers) first can take it: in memory up to a bound, then in an
 * anonymous temporary file (O_TMPFILE, 0600) on the vault's filesystem,
 * so a 200 MB message costs 200 MB of disk, not of memory.
 */
#ifndef SPOOL_H
#define SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct spool;

/* dir: where a spill file goes; mem_max: bytes kept in memory. */
struct spool	*spool_new(const char *dir, size_t mem_max);
void		 spool_reset(struct spool *);
/* 0, or -1 with errno (spill file creation or write failed). */
int		 spool_add(struct spool *, const void *, size_t);
uint64_t	 spool_size(const struct spool *);
/* Give back everything added, in order; cb returning -1 stops (-1). */
int		 spool_replay(struct spool *,
		    int (*cb)(void *, const void *, size_t), void *);
void		 spool_free(struct spool *);

#endif
