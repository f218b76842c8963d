/*
 * mbox.h -- what the mbox writer (mbox.c) and reader (mbox_read.c)
 * share. Internal to formats/.
 */
#ifndef MBOX_H
#define MBOX_H

#include <stdint.h>

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
 * The unquoter of mbox_read.c: fed a stored message from its From_ line
 * on (state 0), in chunks of any split, it gives cb the message with
 * one '>' removed from every line matching ^>+From . mbox_unq_feed and
 * mbox_unq_finish (at the end of the stored bytes): 0, or -1 when cb
 * returned -1 (err set).
 */
struct mbox_unq {
	int	 (*cb)(void *, const void *, size_t);
	void	 *arg;
	int	  state;	/* 0 in the From_ line, 1 BOL, 2 held '>',
				 * 3 more '>', 4 matching "From ", 5 MID */
	int	  k;
	int	  err;
};

int	mbox_unq_feed(struct mbox_unq *, const unsigned char *, size_t);
int	mbox_unq_finish(struct mbox_unq *);

/*
 * The Content-Length traps of a file (mbox.c): absolute uncompressed
 * offsets where a separator must not begin. As a volume's priv string,
 * "u=TOTAL t=OFF,OFF,...": TOTAL the file's uncompressed length, and
 * only the traps at or past it (fitting len bytes).
 */
#define MBOX_NTRAPS	40	/* fit struct fmt_vol's priv */

void	mbox_traps_format(const uint64_t *traps, size_t n, uint64_t utotal,
	    char *out, size_t len);
/* The traps (at most MBOX_NTRAPS) and TOTAL of a priv string. */
size_t	mbox_traps_parse(const char *s, uint64_t *traps, uint64_t *utotal);

/* fmt_ops.scan (mbox_scan.c): every .mbox and .mbox.gz file. */
int	mbox_scan(int dirfd, const struct fmt_scan *, struct fmt *);

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
