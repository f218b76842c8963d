/*
 * fmtrun.h -- a format run through the pipeline's protocol, for the
 * all-formats unit test (test_formats.c): the messages, a model of the
 * index, the batch and the recovery of core/batch.c and core/run.c,
 * and the steps a child process can be killed at (fmtrun.c). Test tree
 * only; linked into test_formats alone, since it replaces C library
 * functions.
 */
#ifndef FMTRUN_H
#define FMTRUN_H

#include <stddef.h>
#include <stdint.h>

#include "format.h"

#define FR_LOCMAX	256
#define FR_CRASHED	86	/* a child's status when it was killed */
#define FR_CHILD_FAILED	87	/* ... when something it did failed */

/* The messages: bytes this harness made, hashed with OpenSSL. */
struct fr_msg {
	unsigned char	*p;
	size_t		 len;
	int64_t		 clen;		/* its Content-Length header, or -1 */
	const char	*sender;	/* its Return-Path address, or NULL */
	unsigned char	 sha[HASH_LEN];
};

enum {
	M_PLAIN, M_EMPTY, M_FROM, M_BINARY,		/* crash: batch 1 */
	M_CLEN, M_NONL, M_BIG, M_PLAIN2,		/* crash: batch 2 */
	M_NEWLINE, M_FROM2,				/* crash: batch 3 */
	M_HUGE, M_CRLF,					/* round trip only */
	M_TRAPA, M_TRAPB,				/* scan only */
	FR_NMSG
};

#define FR_NVOL	16
#define FR_NROW	64

/* A row of the store: claimed (pending), then archived or dropped. */
enum fr_state { R_FREE, R_PENDING, R_ARCHIVED, R_DROPPED };

struct fr_row {
	enum fr_state	 state;
	int		 msg;		/* an M_ */
	int		 batch;
	int		 was_archived;	/* before the last recovery */
	char		 loc[FR_LOCMAX]; /* recorded by the intent */
	char		 wrote[FR_LOCMAX]; /* end()'s, recorded or not */
};

/* The index: in shared memory, so that a child's changes last. */
struct fr_store {
	size_t		nvol;
	struct fmt_vol	vol[FR_NVOL];
	size_t		nrow;
	struct fr_row	row[FR_NROW];
};

/* One format with one compression, and its account folder. */
struct fr_case {
	const struct fmt_ops	*ops;
	enum fmt_compress	 comp;
	char			 name[64];	/* "mbox/gzip" */
	char			 tdir[64];
	char			 acct[128];
};

extern struct fr_msg	 fr_msgs[FR_NMSG];
extern struct fr_store	*fr_st;

/* The store and the messages, once, before any case: 0 or -1. */
int		 fr_init(void);
void		 fr_fini(void);

/* Say why on stderr: fr_fail returns -1, fr_bad 0 (for "ok = ..."). */
int		 fr_fail(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
int		 fr_bad(const char *, ...)
		    __attribute__((format(printf, 1, 2)));

/* An empty store and a new account folder in tc->tdir: 0 or -1. */
int		 fr_setup(struct fr_case *tc);
/* The format opened on tc's account (NULL, said why). */
struct fmt	*fr_open(const struct fr_case *tc);
/* Message k written as core/batch.c hands it over; its location. */
int		 fr_put(const struct fr_case *tc, struct fmt *f, int k,
		    int64_t when, char *loc);
/*
 * A batch by core/batch.c's protocol: each message claimed (a pending
 * row, no location) and written; a step; the intent recorded; a step;
 * the format's sync; a step; the rows archived and the volumes
 * recorded. 0 or -1. (A step after that would be the state the whole
 * run leaves.)
 */
int		 fr_batch(const struct fr_case *tc, struct fmt *f,
		    const int *ids, size_t n, int64_t when, int bno);
/*
 * core/run.c's recovery: the format's recover(); with mark, a step (the
 * run's "recovery" crash point); the pending rows resolved (no location,
 * or check() absent or quarantined: dropped; present: archived), all at
 * once, as one transaction. 0 or -1.
 */
int		 fr_recover(const struct fr_case *tc, struct fmt *f,
		    int mark);
/* 1 if loc reads back exactly message k, 0 (said why) if not. */
int		 fr_reads_back(const struct fr_case *tc, struct fmt *f,
		    const char *loc, int k);
/* 1 if nothing reads back at loc. */
int		 fr_reads_nothing(struct fmt *f, const char *loc);
/*
 * verify() of every archived row: 1 if all are ok. With wrong >= 0,
 * that row gets another hash and must be the one altered.
 */
int		 fr_verify_all(const struct fr_case *tc, struct fmt *f,
		    int wrong);
/*
 * fn(tc) in a child killed at its step n (0: never): FR_CRASHED if it
 * was, 0 if it got through first, -1 if something failed.
 */
int		 fr_in_child(const struct fr_case *tc,
		    int (*fn)(const struct fr_case *), long n);

#endif
