/*
 * upload.h -- the hand-off of stored messages to an IMAP mailbox
 * ("popvault export --to URL"), proven message by message, resumable,
 * with no duplicates. docs/decisions.md, "Upload to IMAP".
 *
 * One run:
 *
 *   1. The selection (source_vault.c: accounts, filters, each distinct
 *      whole-message SHA-256 once, sound copies only) less what the
 *      index records as delivered to this mailbox under its current
 *      UIDVALIDITY.
 *   2. Connect, log in, SELECT the folder (CREATE it when missing).
 *      A UIDVALIDITY other than the one recorded makes every earlier
 *      delivery unproven again: those messages are looked up below
 *      like any other, and sent only when not found.
 *   3. When there is something to do: the UID and RFC822.SIZE of every
 *      message in the folder that no delivery names.
 *   4. In batches: each message is read from the vault (checked against
 *      its hash there), its wire form (CRLF) measured; a message whose
 *      size some unclaimed destination message has is looked up by
 *      content (UID FETCH BODY.PEEK[], hashed after CRLF -> LF): found
 *      is recorded, never sent again (sent by an earlier run that died
 *      before recording it, or by another tool). The others are
 *      APPENDed (INTERNALDATE from the Date header when it parses and
 *      is sane, else when popvault first saw the message; flags), read
 *      back by the UID of APPENDUID (or, without UIDPLUS, found by UID
 *      SEARCH HEADER Message-ID, or among the new UIDs) and compared
 *      by hash; then recorded, proven or mismatch, in one transaction
 *      per batch.
 *
 * A kill or a cut connection at any instant leaves at worst messages
 * appended and not recorded; step 4 of the next run finds them by
 * content, so none is sent twice.
 */
#ifndef UPLOAD_H
#define UPLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "imap.h"
#include "stats.h"

struct idx_query;

/* Rate-limit presets (docs/decisions.md, "Upload to IMAP"). */
enum upload_provider {
	UPLOAD_PROVIDER_NONE,
	UPLOAD_PROVIDER_GMAIL,	/* 500 MB a day */
	UPLOAD_PROVIDER_M365	/* 2 messages a second */
};

struct upload_opts {
	const char		 *vault;	/* absolute */
	const char *const	 *accounts;	/* NULL: every account */
	size_t			  naccounts;
	const struct idx_query	 *q;		/* NULL: no filter */
	const char		 *url;		/* canonical: the identity */
	const char		 *folder;	/* UTF-8 */
	struct imap_opts	  imap;
	const char		 *user;
	const char		 *mech;		/* "auto", a SASL name,
						 * "login" */
	const char		 *secret;
	const char		 *flags;	/* "\\Seen"; "" none */
	double			  rate_msgs;	/* per second; 0: none */
	uint64_t		  rate_bytes;	/* per second; 0: none */
	uint64_t		  daily_bytes;	/* per 24 h; 0: none */
	unsigned		  batch;	/* messages per APPEND batch */
	int			  dry_run;
};

struct upload_stats {
	uint64_t	selected;	/* distinct messages selected */
	uint64_t	delivered;	/* recorded by earlier runs */
	uint64_t	sent;		/* APPENDed (dry run: would be) */
	uint64_t	found;		/* already there, same content */
	uint64_t	proven;		/* sent and read back equal */
	uint64_t	mismatch;	/* read back other bytes */
	uint64_t	inexact;	/* proven but for CR LF stored inside
					 * (sent or found) */
	uint64_t	refused;	/* NO to APPEND, or not sendable */
	uint64_t	left;		/* not done by this run */
	uint64_t	unsound;	/* only copy failed verification */
	uint64_t	bytes;		/* octets APPENDed */
	uint32_t	uidvalidity;
	int		created;	/* the folder was created */
	int		uidvalidity_changed;
	char		err[512];	/* the last warning, "" if none */
	struct run_stats live;		/* for progress.h */
};

/*
 * Run one upload; fills *st. Returns an exit code (util.h): EXIT_OK when
 * every selected message is proven or found at the destination;
 * EXIT_PARTIAL when some were refused or read back other bytes;
 * EXIT_TEMPFAIL when the server throttled ([LIMIT], [UNAVAILABLE], BYE),
 * the connection was lost, the daily limit was reached or a signal
 * stopped the run (what was proven is recorded; a rerun continues);
 * EXIT_UNAVAIL, EXIT_AUTH, EXIT_TLS, EXIT_PROTOCOL, EXIT_USAGE,
 * EXIT_IOERR as for fetch.
 */
int	upload_run(const struct upload_opts *, struct upload_stats *);

/*
 * The identity of a mailbox: "imaps://USER@HOST:PORT/FOLDER" (scheme
 * as given, user %-encoded where needed, the port always, the folder as
 * given, %-encoded where needed). 0, or -1 when out is too small.
 */
int	upload_canon_url(int implicit_tls, const char *user, const char *host,
	    const char *port, const char *folder, char *out, size_t len);

/*
 * The wire form of a stored message: every LF not preceded by CR
 * becomes CRLF (RFC 9051 section 2.3.1.1); other octets are kept.
 * Streamed: *prev is the last octet of the previous piece (0 at the
 * start). Returns how many octets the form adds (one CR per LF).
 */
uint64_t upload_wire_extra(const char *p, size_t n, char *prev);

#endif
