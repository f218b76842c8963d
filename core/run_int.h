/*
 * run_int.h -- what the parts of an account's run share: run.c (the
 * order of things), batch.c (messages into the archive, commit, verify),
 * delete.c (the delete policy and the deletion protocol). Internal to
 * core/.
 */
#ifndef RUN_INT_H
#define RUN_INT_H

#include <stdint.h>

#include "fail.h"
#include "format.h"
#include "hash.h"
#include "hdr.h"
#include "idx.h"
#include "pop3.h"
#include "run.h"
#include "source.h"
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
	int		 odd;		/* size far from LIST's */
	unsigned char	 head[HASH_LEN];	/* hash_head_* */
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
	unsigned char	odd:1;		/* proven by a download whose size
					 * was far from LIST's: kept */
	unsigned char	foreign:1;	/* no sighting, but another fetcher
					 * recorded the UIDL (idx_foreign_add):
					 * known, never proven */
};

/*
 * The state of one account's run, in named parts. Each part has one
 * concern, and the file that changes it:
 *
 *   ctx     what the run works on: options, the source, the vault
 *           (run.c)
 *   list    the source's listing and what the index says of each entry
 *           (run.c, run_merge())
 *   msg     the message being received: hashes, header scan, spool
 *           (batch.c)
 *   batch   the messages received since the last commit (batch.c)
 *   claims  the claims grouped in one open transaction (batch.c)
 *   vj      the batch being read back on a thread (batch.c)
 *   fail    the worst failure so far (fail.h); every file records there
 */
struct run_ctx {
	const struct run_opts	*o;
	struct run_stats	*st;
	struct source		*src;		/* the caller's */
	struct idx		*idx;
	int64_t			 acct;		/* the account's row */
	struct fmt		*fmt;		/* the archive, written */
};

struct run_list {
	const struct pop3_listing *l;
	struct lent		*le;		/* one per listing entry */
	int			 facts;		/* le[] has verified, bad and
						 * age (a merge with facts) */
	int			 all_unproven;	/* a moved account: prove all */
	/*
	 * The LIST sizes recorded with the account's sightings that the
	 * last merge did not find listed (deleted ones aside), sorted: what
	 * a server that renamed its UIDLs still holds (run.c, remap_check).
	 */
	int64_t			*gone_sizes;
	size_t			 ngone;
	/*
	 * For a UIDL the listing shows more than once (header-derived UIDLs:
	 * popa3d, solid-pop3d), what this session's download of each copy
	 * proved, by listing index: the message row its bytes are in, 0 if
	 * not downloaded, -1 if the download was far from its LIST size.
	 * Such a copy may be deleted only on this proof (delete.c). NULL
	 * until a shared entry is downloaded.
	 */
	int64_t			*got;
	int			 weak;		/* the source's ids are weak
						 * (source.h): as shared */
};

struct run_msg {
	struct hash		*whole, *body;	/* SHA-256: all, body */
	struct hash_head	 head;		/* the header block's */
	struct hdr_scan		 hs;
	uint64_t		 size;		/* bytes so far */
	int			 writing;	/* fmt has the message begun */
	struct spool		*spool;		/* for FMT_F_NEEDS_SIZE */
};

struct run_batch {
	struct bentry		*e;
	size_t			 n, cap;
	uint64_t		 bytes;		/* of the stored ones */
	unsigned		 max_msgs;	/* a commit after this many */
	uint64_t		 max_bytes;	/* ... or this many bytes */
	unsigned		 repairs;	/* damaged copies replaced */
};

struct run_claims {
	int			 open;		/* a transaction is open */
	unsigned		 n;		/* claims in it */
	int64_t			 t0;		/* when it began (now_ms) */
};

/* The sessions of one run (run.c): a window-listing server needs more. */
struct run_sess {
	unsigned		 sessions;	/* completed */
	int			 all_new;	/* this listing: no UIDL known */
	int			 window;	/* a later session brought new
						 * mail: the listing is a window */
	int64_t			 login_at;	/* the last login, wall time */
	int			 login_delay;	/* its LOGIN-DELAY, or -1 */
};

/* fetch --remap (run.c, remap_check). */
struct run_remap {
	int			 active;	/* the UIDLs changed; remapping */
};

struct run {
	struct run_ctx		 ctx;
	struct run_sess		 sess;
	struct run_remap	 remap;
	struct run_list		 list;
	struct run_msg		 msg;
	struct run_batch	 batch;
	struct run_claims	 claims;
	struct vjob		*vj;
	struct fail		 fail;
};

/* batch.c */
/* The sink the source retrieves into (source.h). */
void	batch_sink(struct run *, struct source_sink *);
int	batch_flush(struct run *);
/* Commit the claims still open; 0 or -1 (the index's error). */
int	batch_claims_commit(struct run *);
void	batch_clear(struct run *);
/* Verify items, record the outcome in one transaction; -1: a failure. */
int	batch_verify(struct run *, struct fmt_vitem *, size_t n);
/*
 * Record the outcome of the batch still being read back and close the
 * reader; -1 if it failed (recorded in run->fail). Before anything is
 * deleted, and before the format is closed.
 */
int	batch_verify_finish(struct run *);

/* delete.c */
/*
 * Apply the delete policy through the source; 0, or -1 with the failure
 * recorded. *committed: the source's commit was called (the session is
 * over, whatever its outcome).
 */
int	delete_phase(struct run *, int *committed);

/* run.c */
/*
 * Record a failure in run->fail after saying "what: why"; returns -1.
 * run_fail_io() is the common case: the index, the archive or the disk
 * failed (FAIL_RUN, FAIL_R_IO); run_fail_idx() says the index's message.
 */
int	run_fail(struct run *, enum fail_grade, enum fail_reason,
	    const char *what, const char *why);
int	run_fail_io(struct run *, const char *what, const char *why);
int	run_fail_idx(struct run *);

/*
 * Download the listing's entries want[0..n) into the archive (the sink
 * of batch.c), commit and verify them: fetch's step, and the proof
 * delete.c asks for before deleting a message whose server copy may
 * have changed. 0, or -1 when a failure stopped the account (recorded).
 */
int	run_fetch(struct run *, const size_t *want, size_t n);

/* Refresh run->list.le from the index (and, unless dry, reconcile). */
int	run_merge(struct run *, int reconcile, int facts);

#endif
