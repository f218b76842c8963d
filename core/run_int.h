/*
 * run_int.h -- what the parts of an account's run share: run.c (the
 * order of things), batch.c (messages into the archive, commit, verify),
 * delete.c (the delete policy and the DELE/QUIT protocol). Internal to
 * core/.
 */
#ifndef RUN_INT_H
#define RUN_INT_H

#include <stdint.h>

#include "format.h"
#include "hash.h"
#include "hdr.h"
#include "idx.h"
#include "pop3.h"
#include "run.h"
#include "spool.h"

/* One message of the current batch. */
struct bentry {
	size_t		 li;		/* index in the listing */
	unsigned char	 sha[HASH_LEN];
	unsigned char	 body[HASH_LEN];
	uint64_t	 size;
	int64_t		 msg_id;	/* its row, or the stored copy's */
	char		*loc;		/* NULL for a duplicate */
	char		*meta;		/* header values, back to back */
	size_t		 mlen[HDR_NFIELDS];
	int		 mhave[HDR_NFIELDS];
	size_t		 mid_off, mid_len;	/* Message-ID key in meta */
	int		 has_mid;
};

/*
 * What the index says of one entry of the server's listing: one per
 * listed message, so kept small (8 bytes; 100,000 messages, 0.8 MB).
 */
struct lent {
	/*
	 * What --older-than measures, in seconds since 1970: when first
	 * seen, or its Date: with age_by_date. 0: unknown, which includes
	 * a Date: before 1970 or after 2106 (never old enough to delete).
	 */
	uint32_t	age;
	unsigned char	known:1;	/* a sighting exists */
	unsigned char	verified:1;	/* its message is verified */
	unsigned char	bad:1;		/* its message failed verification */
	unsigned char	shared:1;	/* the UIDL is listed more than once */
	unsigned char	drift:1;	/* LIST size differs from when archived */
	unsigned char	proven:1;	/* its stored message has its bytes */
	unsigned char	reused:1;	/* deleted before, listed again: the
					 * server reused the UIDL */
};

struct fetch {
	const struct run_opts	*o;
	struct run_stats	*st;
	struct idx		*idx;
	struct fmt		*fmt;
	const struct pop3_listing *l;
	struct lent		*le;		/* one per listing entry */
	int			 le_facts;	/* le[] has verified, bad and
						 * age (a merge with facts) */
	int64_t			 acct;
	struct hash		*hwhole, *hbody;
	struct hdr_scan		 hs;
	uint64_t		 cursize;
	int			 writing;	/* fmt has a message begun */
	struct spool		*spool;		/* for FMT_F_NEEDS_SIZE */
	struct bentry		*b;
	size_t			 nb, capb;
	uint64_t		 bbytes;
	int			 failed;	/* a local failure happened */
	int			 verify_failed;
	unsigned		 repairs;	/* damaged copies being replaced */
	int			 all_unproven;	/* a moved account: prove all */
	unsigned		 batch_msgs;
	uint64_t		 batch_bytes;
	int			 exitcode;
	/* Claims grouped in one transaction (batch.c, claim()). */
	struct conn		*conn;		/* to see if data is waiting */
	int			 claim_open;
	unsigned		 claim_n;
	int64_t			 claim_t0;
	/* The batch being read back on a thread (batch.c, verify_start). */
	struct vjob		*vj;
};

/* batch.c */
int	fetch_fail(struct fetch *, int code, const char *what,
	    const char *why);
void	batch_sink(struct fetch *, struct pop3_sink *);
int	batch_flush(struct fetch *);
/* Commit the claims still open; 0 or -1 (the index's error). */
int	batch_claims_commit(struct fetch *);
void	batch_clear(struct fetch *);
/* Verify items, record the outcome in one transaction; -1: I/O error. */
int	batch_verify(struct fetch *, struct fmt_vitem *, size_t n);
/*
 * Record the outcome of the batch still being read back and close the
 * reader; -1 if it failed (f->failed, f->exitcode set). Before anything
 * is deleted, and before the format is closed.
 */
int	batch_verify_finish(struct fetch *);

/* delete.c */
int	delete_phase(struct fetch *, struct pop3 *, int *quit_done);

/* run.c */
/* Refresh f->le from the index (and, unless dry, reconcile states). */
int	run_merge(struct fetch *, int reconcile, int facts);

#endif
