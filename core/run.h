/*
 * run.h -- the archiving run of one account, from a message source
 * (source.h; POP3 for run_account()).
 *
 *   lock the account -> recover the archive -> connect, log in ->
 *   list (UIDL + LIST) -> one merge against the index's UIDLs ->
 *   retrieve the new ones (pipelined RETR) -> per message: SHA-256,
 *   header scan, dedup -> archive writer -> per batch: intent rows,
 *   format sync, commit -> verify what was written -> apply the delete
 *   policy (mark only verified messages, numbered from this session's
 *   listing) -> commit the session (QUIT)
 *
 * Keep on server is the default: nothing is deleted unless asked.
 */
#ifndef RUN_H
#define RUN_H

#include <stdint.h>

#include "format.h"
#include "policy.h"	/* enum run_delete */
#include "pop3.h"
#include "stats.h"	/* struct run_stats */

enum run_mode {
	RUN_FETCH,	/* archive new messages, then apply the policy */
	RUN_PRUNE,	/* only apply the delete policy */
	RUN_DRY		/* say what fetch or prune would do; change nothing */
};

/* Content deduplication scope (popvault.conf(5) dedup). */
#define RUN_DEDUP_VAULT		0
#define RUN_DEDUP_ACCOUNT	1
#define RUN_DEDUP_NONE		2

/* An account whose server or user changed (--account-changed). */
#define RUN_ID_SAME		0	/* refuse to run it */
#define RUN_ID_MOVED		1	/* same mailbox: prove every UIDL again */
#define RUN_ID_NEW		2	/* a fresh account; the old one renamed */

struct run_opts {
	enum run_mode		 mode;
	enum run_delete		 del;
	int64_t			 older_than;	/* seconds, with DEL_OLDER */
	int			 age_by_date;	/* Date header, not first seen */
	uint64_t		 max_deletes;	/* 0: no cap */
	unsigned		 max_sessions;	/* per run, when the listing
						 * is a window (Gmail) */
	int			 ignore_login_delay;
	int			 remap;		/* --remap: UIDLs changed */
	const char		*vault;		/* folder of index + archives */
	const char		*account;	/* name in the index */
	const struct fmt_ops	*format;
	enum fmt_compress	 compress;
	struct pop3_opts	 pop3;
	const char		*user;
	enum pop3_auth		 auth;
	const char		*sasl;		/* a SASL mechanism or "auto";
						 * NULL: auth (USER or APOP) */
	const char		*password_command;	/* or NULL */
	const char		*password;	/* resolved already, or NULL */
	int			 dedup;		/* RUN_DEDUP_* */
	int			 identity;	/* RUN_ID_* */
	unsigned		 batch_msgs;	/* messages per commit; 0: the
						 * format's choice, else 200 */
	uint64_t		 batch_bytes;	/* bytes per commit; 0 likewise,
						 * else 32 MiB */
};

/* The exit status (util.h) for a failed POP3 session of that class. */
int	run_exit_of(enum pop3_errclass);

/*
 * Run one account from its POP3 server (source_pop3.c): run_source()
 * with the source that o's server, user and password options make.
 * Returns an exit code (util.h) and fills *st.
 */
int	run_account(const struct run_opts *, struct run_stats *st);

struct source;
/*
 * Run one account from a source (source.h) that is the caller's: not
 * yet connected, closed by the caller afterwards. o's pop3.host,
 * pop3.port and user name the account's mailbox in the index (the
 * identity check of docs/decisions.md). A delete policy needs a source
 * that can delete (EXIT_USAGE otherwise). Returns an exit code (util.h)
 * and fills *st.
 */
int	run_source(const struct run_opts *, struct source *,
	    struct run_stats *st);

#endif
