/*
 * idx.h -- the SQLite index of a vault.
 *
 * One database per vault, in WAL mode with synchronous=FULL: a COMMIT
 * that returned is durable, which the delete protocol relies on. The
 * schema carries a version (PRAGMA user_version) and is migrated
 * forward on open. Only bound parameters are used.
 *
 * Tables:
 *   accounts   one row per account, with the folder that holds its
 *              archive and the outcome of its last run
 *   messages   one row per stored copy: hashes, header metadata, state
 *              (pending = intent written, archived = durable on disk,
 *              verified = read back and matched), archive location
 *   volumes    committed length of each append-only archive file
 *   sightings  every (account, UIDL) seen, pointing at the stored
 *              message that holds its content; "messages keyed by
 *              (account, UIDL)" is the join of the two. A sighting is
 *              "proven" when that message has the very bytes the server
 *              sent under the UIDL (its whole-message SHA-256); only a
 *              proven sighting of a verified message may be deleted
 *
 * Deduplication is lossless (docs/decisions.md): the same whole-message SHA-256
 * is the only duplicate. A variant (same Message-ID and body, other
 * headers) is stored and linked (variant_of) to the first copy; a copy
 * that failed verification never absorbs a new one, and the sound copy
 * stored later is linked from it (replaced_by).
 *
 * Every function returns 0 (or a count) on success and -1 on failure
 * with idx_error() set. SQLITE_BUSY is waited for (busy timeout), never
 * returned as such.
 */
#ifndef IDX_H
#define IDX_H

#include <stddef.h>
#include <stdint.h>

#include "hash.h"

#define IDX_SCHEMA_VERSION	7

struct idx;

struct idx_msg {
	int64_t		 account_id;
	unsigned char	 sha256[HASH_LEN];
	unsigned char	 body_sha256[HASH_LEN];
	uint64_t	 size;
	const char	*message_id;	size_t message_id_len;
	const char	*date;		size_t date_len;
	const char	*from;		size_t from_len;
	const char	*subject;	size_t subject_len;
	const char	*return_path;	size_t return_path_len;
	const char	*format;
	const char	*location;
	int64_t		 first_seen;
	int64_t		 date_epoch;	/* Date header; INT64_MIN: none */
	int64_t		 variant_of;	/* 0, or the copy it is a variant of */
	const unsigned char *head_sha256; /* hash_head_* of it, or NULL */
};

/*
 * What every message about a damaged or lost index ends with: the way
 * out (docs/decisions.md, "Rebuilding the index").
 */
#define IDX_DAMAGED_HINT	"; rebuild it from the archives with " \
	"\"popvault index rebuild\" (the damaged file is moved aside, never " \
	"deleted)"

/*
 * Open the index at path, creating it in a new vault. Refused (NULL, err
 * naming IDX_DAMAGED_HINT) when it is damaged: missing or empty while
 * the vault holds account folders, not an SQLite file, shorter than its
 * header says, or its small tables fail PRAGMA quick_check. The whole
 * file is checked by idx_quick_check() (verify) and idx_check_file()
 * (rebuild): it costs a read of every page (0.2-0.3 s at 100,000
 * messages), more than a nothing-new run; damage in pages a run reads
 * is an SQLITE_CORRUPT error there, whose message names the rebuild.
 */
struct idx	*idx_open(const char *path, char *err, size_t errlen);
/* Create a new index at path, which must not exist (O_EXCL). */
struct idx	*idx_open_new(const char *path, char *err, size_t errlen);
/* PRAGMA quick_check of the whole index: 0, or -1 (idx_error). */
int		 idx_quick_check(struct idx *);
/*
 * Is the index at path sound? 0 yes; 1 damaged or lost (err says how);
 * -1 cannot tell (err: busy, unreadable). Writes nothing but what
 * SQLite's own recovery of a write-ahead log does.
 */
int		 idx_check_file(const char *path, char *err, size_t errlen);
/*
 * Open an existing index for reading only (--dry-run), writing nothing
 * in its folder: no side file made, no checkpoint, no migration of the
 * file. Without a write-ahead log it is opened immutable (no locks: a
 * process that writes and checkpoints the index meanwhile can make the
 * reads fail or misread, never write); with one, through its existing
 * shared-memory file, opened read only; a log without that file is
 * refused (err says so). A schema older than this program's (or none)
 * is migrated in a private temporary copy; a newer one is refused.
 * Every write fails (query_only). NULL with err set on failure.
 */
struct idx	*idx_open_ro(const char *path, char *err, size_t errlen);
void		 idx_close(struct idx *);
const char	*idx_error(struct idx *);

int		 idx_begin(struct idx *);	/* BEGIN IMMEDIATE */
int		 idx_commit(struct idx *);
void		 idx_rollback(struct idx *);

/*
 * Find or create the account called name. *id gets its id and dir (of
 * dirlen bytes) the name of its folder under the vault's accounts/,
 * made from name with unsafe characters replaced and made unique.
 */
int		 idx_account(struct idx *, const char *name, const char *host,
		    const char *port, const char *user, int64_t *id,
		    char *dir, size_t dirlen);
/* Like idx_account without creating: 0 found, 1 not found, -1 error. */
int		 idx_account_find(struct idx *, const char *name, int64_t *id,
		    char *dir, size_t dirlen);
int		 idx_account_done(struct idx *, int64_t id, const char *outcome,
		    int64_t listed, int64_t when);
/*
 * When the server's LOGIN-DELAY (RFC 2449) allows the account's next
 * login, in seconds since 1970; 0 for no such time (idx_set_next_login()
 * with 0 clears it).
 */
int		 idx_next_login(struct idx *, int64_t id, int64_t *when);
int		 idx_set_next_login(struct idx *, int64_t id, int64_t when);

/*
 * Call cb for every UIDL sighted in the account, in SQLite's BINARY
 * order (memcmp, then shorter first). cb returning -1 stops with -1.
 */
int		 idx_known_uidls(struct idx *, int64_t account_id,
		    int (*cb)(void *, const char *, size_t), void *arg);

/* The deduplication decision for one downloaded message. */
struct idx_dedup {
	int64_t	dup;		/* a sound stored copy with the same whole
				 * hash: its id; 0 none */
	int64_t	variant_of;	/* not a dup: same Message-ID and body */
	int	collision;	/* not a dup nor a variant: same Message-ID */
	int	damaged;	/* not a dup, but a copy with the same whole
				 * hash failed verification (a repair) */
};

/*
 * Deduplicate by whole-message hash among the messages stored by
 * account scope, or the whole vault when scope is 0; never onto a copy
 * that failed verification. With a Message-ID (mid not NULL), a message
 * that is not a duplicate is classed as a variant or a collision.
 * Returns 1 when d->dup is set, 0 when the message must be stored, -1.
 */
int		 idx_dedup(struct idx *, int64_t scope, const char *mid,
		    size_t midlen, const unsigned char body[HASH_LEN],
		    const unsigned char whole[HASH_LEN], struct idx_dedup *d);

int		 idx_add_message(struct idx *, const struct idx_msg *,
		    int64_t *id);
/*
 * Record that the server's message under (account, UIDL) has the
 * content msg_id: a new sighting, or an existing one pointed at it; the
 * sighting becomes proven and on the server. With fresh (a UIDL the
 * server reused for a new message), its first sight becomes when.
 * odd: the download's size was far from LIST's (odd_size: the sighting
 * is never deleted).
 */
int		 idx_put_sighting(struct idx *, int64_t account_id,
		    const char *uidl, size_t uidllen, int64_t msg_id,
		    uint64_t size, int64_t when, int fresh, int odd);
/*
 * A stored copy failed verification: note why ("verify: ...", which
 * blocks the account's deletes) and make every sighting pointing at it
 * unproven, so that each is fetched again while its server has it.
 */
int		 idx_mark_damaged(struct idx *, int64_t msg_id,
		    const char *note);
/*
 * msg_id, just verified, holds the bytes of damaged copies with the same
 * hash: link them to it (they are kept, no longer checked). Returns how
 * many, or -1.
 */
int		 idx_set_replaced(struct idx *, int64_t msg_id,
		    const unsigned char sha[HASH_LEN]);
/* One sighting, or every one of the account (a moved mailbox), must be
 * proven again by a fresh download before any delete. */
int		 idx_unprove_sighting(struct idx *, int64_t account_id,
		    const char *uidl, size_t len);
int		 idx_unprove_account(struct idx *, int64_t account_id);

/* The server and user an account was recorded with ("" when unknown). */
struct idx_ident {
	char	host[256];
	char	port[32];
	char	user[256];
};

int		 idx_identity(struct idx *, int64_t account_id,
		    struct idx_ident *);
/* A new name for an account (its folder and history stay). */
int		 idx_account_rename(struct idx *, int64_t account_id,
		    const char *name);
int		 idx_set_identity(struct idx *, int64_t account_id,
		    const char *host, const char *port, const char *user);
int		 idx_set_archived(struct idx *, int64_t msg_id, int64_t when);

/*
 * index rebuild: an account as its folder and account file say (id NULL
 * or all "": unknown), its last outcome "rebuilt"; *acct its row.
 */
int		 idx_account_restore(struct idx *, const char *name,
		    const char *dir, const struct idx_ident *id,
		    int64_t *acct);
/* An account's row, and whether it has any sighting. */
struct idx_acctinfo {
	char			name[512];
	char			dir[128];
	struct idx_ident	id;
	int			rebuilt;	/* by index rebuild, no run
						 * since */
	int			sightings;
};

int		 idx_account_info(struct idx *, int64_t acct,
		    struct idx_acctinfo *);
/* The copy msg is a variant of (*of), or 0. */
int		 idx_variant_of(struct idx *, int64_t msg, int64_t *of);

/* Rows of the account still in state pending (an interrupted batch). */
int		 idx_pending(struct idx *, int64_t account_id,
		    int (*cb)(void *, int64_t id, const char *location,
		    const unsigned char sha[HASH_LEN]), void *arg);
/* Forget a pending message and the sightings that point at it. */
int		 idx_drop_message(struct idx *, int64_t msg_id);

/*
 * The committed length of a volume (an mbox file, a tar volume) and its
 * format-private string (struct fmt_vol's priv; the column is named
 * "traps", after mbox's, the first user): 1 found, 0 unknown, -1 error.
 */
int		 idx_volume_get(struct idx *, int64_t account_id,
		    const char *name, uint64_t *len, char *priv,
		    size_t privlen);
int		 idx_volume_set(struct idx *, int64_t account_id,
		    const char *name, uint64_t len, const char *priv);

/* Where the content of (account, UIDL) is stored. */
struct idx_loc {
	char		format[16];
	char		location[512];
	unsigned char	sha256[HASH_LEN];
	char		dir[128];	/* folder of the account holding it */
	char		state[16];
};

/* 1 found (l filled), 0 no such account or UIDL, -1 error. */
int		 idx_locate(struct idx *, const char *account,
		    const char *uidl, struct idx_loc *l);

/* Where a (account, UIDL) stands on the server, as far as we know. */
enum idx_sstate {
	IDX_S_ON_SERVER,
	IDX_S_DELETE_PENDING,	/* DELE sent, QUIT's +OK not seen */
	IDX_S_DELETED,
	IDX_S_GONE		/* vanished without our DELE */
};

struct idx_sighting {
	const char	*uidl;
	size_t		 uidl_len;
	enum idx_sstate	 state;
	int		 verified;	/* its stored message is verified */
	int		 bad;		/* ... or failed verification */
	int64_t		 first_seen;
	int64_t		 date_epoch;	/* INT64_MIN: unknown */
	int64_t		 listed_size;	/* LIST size when archived, or -1 */
	int		 proven;	/* its message has the UIDL's bytes */
	int		 odd_size;	/* ... from a download whose size was
					 * far from LIST's: never deleted */
};

/*
 * Every sighting of the account, by UIDL. With facts, also its message's
 * state, verification mark and Date (a join with messages, which a
 * large account pays for in page reads); without, verified and bad are
 * 0 and date_epoch unknown.
 */
int		 idx_sightings(struct idx *, int64_t account_id, int facts,
		    int (*cb)(void *, const struct idx_sighting *), void *);
int		 idx_set_sighting_state(struct idx *, int64_t account_id,
		    const char *uidl, size_t len, enum idx_sstate);
int		 idx_set_verified(struct idx *, int64_t msg_id, int64_t when);
/*
 * Messages of one format stored in the account's archive, by id, with
 * id > after, at most limit of them (pages): those archived but not yet
 * verified (unverified = 1), or all that are not pending (except damaged
 * copies a sound one replaced).
 */
int		 idx_stored(struct idx *, int64_t account_id,
		    const char *format, int unverified, int64_t after,
		    int64_t limit,
		    int (*cb)(void *, int64_t id, const char *location,
		    const unsigned char sha[HASH_LEN]), void *arg);
/* Every account: id, name, folder. */
int		 idx_accounts(struct idx *, int (*cb)(void *, int64_t,
		    const char *name, const char *dir), void *arg);
/* The formats of the account's stored messages; count or -1. */
int		 idx_formats(struct idx *, int64_t account_id, char out[][16],
		    int max);
/* Sightings of the account whose message failed verification (and was
 * not replaced by a sound copy). */
int64_t		 idx_bad_count(struct idx *, int64_t account_id);
/*
 * The header hash (hash_head_*) of the message the sighting (account,
 * UIDL) points at: have when the row has one; else readable, with its
 * location, when the message is the account's own in format (stored
 * before schema 5: the caller reads it back and records the hash with
 * idx_set_head()). All zero when there is no such sighting. 0 or -1.
 */
struct idx_head {
	int64_t		 msg;
	int		 have;
	unsigned char	 head[HASH_LEN];
	int		 readable;
	char		 location[512];
};

int		 idx_sighting_head(struct idx *, int64_t account_id,
		    const char *uidl, size_t uidllen, const char *format,
		    struct idx_head *);
int		 idx_set_head(struct idx *, int64_t msg,
		    const unsigned char head[HASH_LEN]);
/* 1 if the message is verified and not marked damaged, 0 if not, -1. */
int		 idx_message_sound(struct idx *, int64_t id);

/* One account's state, for "popvault status". */
struct idx_status {
	const char	*name;
	int64_t		 listed;	/* at the last run, -1 unknown */
	int64_t		 last_run;	/* -1 never */
	const char	*outcome;	/* NULL never */
	int64_t		 archived;	/* stored in its archive */
	int64_t		 verified;
	int64_t		 sightings;	/* UIDLs seen */
	int64_t		 deleted;	/* deleted from its server */
	int64_t		 bad;		/* failed verification */
	int64_t		 variants;	/* stored: same Message-ID and body
					 * as an earlier copy, other headers */
	int64_t		 unproven;	/* sightings to fetch again */
};

int		 idx_status(struct idx *, int (*cb)(void *,
		    const struct idx_status *), void *arg);

/* A search; NULL or INT64_MIN fields are not used. */
struct idx_query {
	const char	*from;		/* substring of From */
	const char	*subject;	/* substring of Subject */
	int64_t		 since, until;	/* Date, [since, until) */
	const char	*message_id;	/* exact */
	const char	*account;	/* exact */
	int64_t		 limit;		/* 0: none */
};

struct idx_hit {
	const char	*account, *uidl, *date, *from, *subject;
	const char	*dir, *location, *message_id;	/* may be NULL */
	const char	*format;
	int		 variant;	/* a variant of an earlier copy */
	int		 proven;	/* the sighting's bytes are stored */
};

int		 idx_search(struct idx *, const struct idx_query *,
		    int (*cb)(void *, const struct idx_hit *), void *arg);

/*
 * One stored message of a selection (idx_select()): its row, hash and
 * size, its format, location and the folder of the account holding it
 * (the copy may be another account's: dedup across the vault); sound
 * unless it failed verification and no sound copy replaced it.
 */
struct idx_sel {
	int64_t		 id;
	unsigned char	 sha256[HASH_LEN];
	uint64_t	 size;
	const char	*format, *location, *dir;
	int		 sound;
};

/*
 * The stored messages the sightings of account account_id point at, by
 * row id, each once, pending ones left out (a damaged copy that a sound
 * one replaced gives the sound one), filtered by q's from, subject,
 * since, until and message_id as idx_search() does (q->account and
 * q->limit unused; q NULL: all). Two rows may hold the same bytes
 * (dedup = account or none). cb returning -1 stops with -1.
 */
int		 idx_select(struct idx *, int64_t account_id,
		    const struct idx_query *q,
		    int (*cb)(void *, const struct idx_sel *), void *arg);

int		 idx_set_location(struct idx *, int64_t msg_id,
		    const char *loc);
/*
 * Commit durability: FULL (on, the default: a returned COMMIT survives a
 * power cut) or NORMAL (off: committed and visible to other processes,
 * made durable by the next FULL commit, which syncs the whole log).
 * NORMAL is only for claims that recovery can undo.
 */
int		 idx_durable(struct idx *, int on);

/*
 * Where the message of the sighting (account, UIDL) was imported from:
 * its file, its position there, its Maildir flags (or NULL). Nothing is
 * recorded for a UIDL without a sighting. 1 recorded, 0 not, -1.
 */
int		 idx_set_origin(struct idx *, int64_t account_id,
		    const char *uidl, size_t uidllen, const char *path,
		    const char *pos, const char *flags);
/*
 * A UIDL another fetcher (tool: "mpop", ...) recorded in file as
 * retrieved from the account's server (when: its time, or the import's).
 * Known from then on, so fetch does not download it again; proven by
 * nothing, so never deleted before a download stores its bytes (which
 * makes it a sighting). Not recorded over a sighting or an earlier
 * foreign UIDL: 1 recorded, 0 not, -1.
 */
int		 idx_foreign_add(struct idx *, int64_t account_id,
		    const char *uidl, size_t uidllen, const char *tool,
		    const char *file, int64_t when);
/*
 * Forget the account's foreign UIDL uidl (the server no longer lists
 * it), or all of them (uidl NULL: the mailbox moved). 0 or -1.
 */
int		 idx_foreign_drop(struct idx *, int64_t account_id,
		    const char *uidl, size_t len);
/* Every foreign UIDL of the account, in the order of idx_sightings(). */
int		 idx_foreign_uidls(struct idx *, int64_t account_id,
		    int (*cb)(void *, const char *uidl, size_t len,
		    int64_t first_seen), void *arg);

/*
 * Uploads to IMAP mailboxes (export --to, core/upload.c): schema 7.
 *
 * A destination is one mailbox, named by its URL
 * ("imaps://user@host:port/folder", as upload_canon_url() writes it),
 * with the UIDVALIDITY it had at the last run (0: never selected). A
 * delivery is one stored message (by whole-message SHA-256) at one
 * UID of it: proven (read back, and with CRLF turned into LF equal to
 * the stored bytes: their hash is the index's), inexact (equal to the
 * stored bytes with their own CRLFs turned into LF too: a message stored
 * with CR LF inside, which IMAP's CRLF lines cannot carry apart from
 * its LF line ends), or mismatch (the server holds other bytes: never
 * sent again, reported).
 * how: appended by popvault, or found there (sent by an earlier run
 * that did not record it, or by another tool).
 */
#define IDX_DLV_PROVEN		0
#define IDX_DLV_MISMATCH	1
#define IDX_DLV_INEXACT		2

struct idx_delivery {
	unsigned char	sha256[HASH_LEN];
	uint32_t	uidvalidity;
	uint32_t	uid;		/* 0: not known (no UIDPLUS, and not
					 * found by search) */
	int		state;		/* IDX_DLV_* */
	int		found;		/* 0 appended, 1 found */
	uint64_t	size;		/* octets on the wire */
	int64_t		when;
};

/*
 * The destination named url: 0 with *id and *uidvalidity (0 if never
 * selected); 1 when there is none and create is 0; created otherwise.
 */
int		 idx_dest(struct idx *, const char *url, int create,
		    int64_t *id, uint32_t *uidvalidity);
int		 idx_dest_set_uidvalidity(struct idx *, int64_t dest,
		    uint32_t uidvalidity);
/* Every delivery to dest, in no order; cb returning -1 stops with -1. */
int		 idx_deliveries(struct idx *, int64_t dest,
		    int (*cb)(void *, const struct idx_delivery *),
		    void *arg);
/* Record d (replacing the message's earlier delivery to dest). */
int		 idx_delivery_put(struct idx *, int64_t dest,
		    const struct idx_delivery *d);
/* Octets popvault appended to dest since the time since. */
int		 idx_dest_appended(struct idx *, int64_t dest, int64_t since,
		    uint64_t *bytes);
/*
 * What an upload needs of stored message msg: the Date header as
 * seconds (*date INT64_MIN when it did not parse), when popvault first
 * saw it, its Message-ID (mid, NUL-terminated, "" if none or longer
 * than midlen - 1). 0, 1 if there is no such row, -1.
 */
int		 idx_msg_meta(struct idx *, int64_t msg, int64_t *date,
		    int64_t *first_seen, char *mid, size_t midlen);

/* Counts for reports and tests. */
int64_t		 idx_count_messages(struct idx *, int64_t account_id);

#endif
