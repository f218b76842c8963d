/*
 * fail.h -- how bad a failure is and why, and the exit status it gives.
 *
 * A failure has a grade, which says what it stops, and a reason, which
 * says which exit status (util.h) it becomes:
 *
 *   FAIL_MESSAGE  one message is not archived or not deleted (the server
 *                 refused it, or it is over the size limit); the run
 *                 goes on, and ends with EXIT_PARTIAL
 *   FAIL_ACCOUNT  this account's run stops: its server, its login, its
 *                 configuration, another process holding it; other
 *                 accounts are not concerned
 *   FAIL_RUN      what no account can go on after: the vault (index,
 *                 archive, disk) failed or does not hold what was
 *                 written, or a signal asked to stop
 *
 * The run records each failure where it happens (fail_note(); the worse
 * one is kept) and turns the record into an exit status once, when it
 * returns (fail_exit()): nothing else in core/ chooses exit statuses.
 */
#ifndef FAIL_H
#define FAIL_H

enum fail_grade {
	FAIL_NONE,
	FAIL_MESSAGE,
	FAIL_ACCOUNT,
	FAIL_RUN
};

/*
 * Within a grade a reason later in this list wins over an earlier one:
 * a failure of the vault is reported rather than the lost connection
 * that came before it, and a verification failure rather than anything
 * else (it is what says the archive cannot be trusted).
 */
enum fail_reason {
	FAIL_R_NONE,
	FAIL_R_TOO_BIG,		/* over the size limit: not fetched */
	FAIL_R_REFUSED,		/* the server refused a message (-ERR) */
	FAIL_R_NET,		/* cannot connect, connection lost */
	FAIL_R_TIMEOUT,		/* the server took too long */
	FAIL_R_TEMP,		/* busy, try later (also: account locked) */
	FAIL_R_PROTO,		/* the server broke the protocol */
	FAIL_R_TLS,		/* certificate, handshake, STLS */
	FAIL_R_AUTH,		/* credentials refused */
	FAIL_R_REMAP,		/* the server's UIDLs changed: --remap */
	FAIL_R_USAGE,		/* configuration or a request policy forbids */
	FAIL_R_SIGNAL,		/* stopped by SIGINT or SIGTERM; state safe */
	FAIL_R_IO,		/* the index, the archive or the disk */
	FAIL_R_VERIFY,		/* the archive does not hold what was written */
	FAIL_R_SOFTWARE		/* a bug: a state that cannot happen */
};

struct fail {
	enum fail_grade		grade;
	enum fail_reason	reason;
};

/*
 * Record a failure of that grade and reason in f, unless f holds a worse
 * one already (a higher grade, or the same grade and a later reason).
 * Returns -1, for "return fail_note(...)".
 */
int		 fail_note(struct fail *f, enum fail_grade, enum fail_reason);
/* 1 if the recorded failure stops the account (FAIL_ACCOUNT or worse). */
int		 fail_stops(const struct fail *f);
/*
 * The exit status of what f records: EXIT_OK when nothing failed,
 * EXIT_PARTIAL for FAIL_MESSAGE, else the reason's (popvault(1) EXIT
 * STATUS).
 */
int		 fail_exit(const struct fail *f);
/* The account's outcome as the index keeps it: ok, partial or failed. */
const char	*fail_outcome(const struct fail *f);

#endif
