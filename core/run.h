/*
 * run.h -- the archiving run of one account (the pipeline of DESIGN.md).
 *
 *   lock the account -> recover the archive -> connect, log in ->
 *   UIDL + LIST -> one merge against the index's UIDLs -> RETR the new
 *   ones (pipelined) -> per message: SHA-256, header scan, dedup ->
 *   archive writer -> per batch: intent rows, format sync, commit ->
 *   QUIT
 *
 * Nothing is ever deleted from the server by this code.
 */
#ifndef RUN_H
#define RUN_H

#include <stdint.h>

#include "format.h"
#include "pop3.h"

struct run_opts {
	const char		*vault;		/* folder of index + archives */
	const char		*account;	/* name in the index */
	const struct fmt_ops	*format;
	enum fmt_compress	 compress;
	struct pop3_opts	 pop3;
	const char		*user;
	enum pop3_auth		 auth;
	const char		*password_command;	/* or NULL */
	unsigned		 batch_msgs;	/* messages per commit; 0: the
						 * format's choice, else 200 */
	uint64_t		 batch_bytes;	/* bytes per commit; 0 likewise,
						 * else 32 MiB */
};

struct run_stats {
	uint64_t	listed;		/* messages on the server */
	uint64_t	fresh;		/* UIDLs not seen before */
	uint64_t	archived;	/* stored in the archive */
	uint64_t	dups;		/* content already in the vault */
	uint64_t	collisions;	/* same Message-ID, other content */
	uint64_t	skipped;	/* over the size limit */
	uint64_t	failed;		/* -ERR to RETR */
	uint64_t	bytes;		/* bytes retrieved */
	int64_t		ms;		/* wall time */
	char		where[4200];	/* the account's folder */
};

/* Set from a SIGINT/SIGTERM handler: stop after the current batch. */
void	run_interrupt(void);

/* Run one account. Returns an exit code (util.h) and fills *st. */
int	run_account(const struct run_opts *, struct run_stats *st);

#endif
