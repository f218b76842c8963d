/*
 * stats.h -- the figures of one account's run: what the run counts (the
 * report prints them) and the live ones the progress display reads
 * while it works. A header of its own so that the display (progress.h)
 * does not depend on the run (run.h), which calls the display.
 */
#ifndef STATS_H
#define STATS_H

#include <stdint.h>

struct run_stats {
	uint64_t	listed;		/* messages on the server */
	uint64_t	fresh;		/* UIDLs not seen before */
	uint64_t	archived;	/* stored in the archive */
	uint64_t	dups;		/* content already in the vault */
	uint64_t	variants;	/* stored: same Message-ID and body
					 * as a stored copy, other headers */
	uint64_t	collisions;	/* same Message-ID, other content */
	uint64_t	reproved;	/* known UIDLs fetched again to prove
					 * their bytes are stored */
	uint64_t	repaired;	/* damaged copies replaced */
	uint64_t	refused;	/* DELE answered -ERR */
	uint64_t	skipped;	/* over the size limit */
	uint64_t	verified;	/* read back and matched */
	uint64_t	verify_failed;
	uint64_t	planned;	/* deletions the policy chose */
	uint64_t	deleted;	/* confirmed by QUIT's +OK */
	uint64_t	unconfirmed;	/* DELE sent, QUIT not confirmed */
	uint64_t	failed;		/* -ERR to RETR */
	uint64_t	bytes;		/* bytes retrieved */
	int64_t		ms;		/* wall time */
	uint64_t	known;		/* listed, UIDL archived before */
	char		where[4200];	/* the account's folder */
	char		err[512];	/* the last warning, "" if none */
	int		code;		/* the run's exit code */
	/* Live figures for the progress display (progress.h). */
	int		phase;		/* RUN_PH_* */
	uint64_t	todo;		/* messages to fetch in this run */
	uint64_t	todo_bytes;	/* their LIST sizes */
	uint64_t	done;		/* of those: received or failed */
	uint64_t	done_bytes;	/* their LIST sizes */
	uint64_t	cur_bytes;	/* of the message being received */
	int64_t		fetch_t0;	/* ms (now_ms) when RETR began */
};

enum {
	RUN_PH_WAIT,		/* not started (-j) */
	RUN_PH_CONNECT,		/* recovery, connect, log in */
	RUN_PH_LIST,		/* UIDL, LIST, merge */
	RUN_PH_FETCH,		/* RETR, store, verify per batch */
	RUN_PH_DELETE,		/* DELE, QUIT */
	RUN_PH_DONE
};

#endif
