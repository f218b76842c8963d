/*
 * mbox.h -- what the mbox writer (mbox.c) and reader (mbox_read.c)
 * share. Internal to formats/.
 */
#ifndef MBOX_H
#define MBOX_H

#include "format.h"

/* A name of ours: "*.mbox" or "*.mbox.gz", no leading dot. */
int	mbox_is_ours(const char *name);

/*
 * Stream the stored bytes of the message at loc (see mbox.c) to cb.
 * Errors go to f's message; errno is ENOENT when the file is missing.
 */
int	mbox_read(int dirfd, const char *loc,
	    int (*cb)(void *, const void *, size_t), void *arg, struct fmt *f);

/* fmt_ops.verify: one pass per file (plain) or gzip member. */
int	mbox_verify(int dirfd, struct fmt_vitem *, size_t);

/*
 * mbox_read() that keeps the reader of a gzip member in *cache (NULL at
 * first) between calls, so that the messages of a member read in their
 * order cost one pass over it. mbox_rcache_free() frees it.
 */
struct mbox_rcache;
int	mbox_read_cached(struct mbox_rcache **cache, int dirfd,
	    const char *loc, int (*cb)(void *, const void *, size_t),
	    void *arg, struct fmt *f);
void	mbox_rcache_free(struct mbox_rcache *);

#endif
