/*
 * idx.c -- the SQLite index; see idx.h.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "idx.h"
#include "idx_int.h"
#include "log.h"
#include "util.h"

#define IDX_BUSY_MS	60000	/* how long to wait for another writer */

enum {
	S_ACCT_GET, S_ACCT_DIR, S_ACCT_ADD, S_ACCT_DONE, S_UIDLS,
	S_DUP_SHA, S_VARIANT, S_MID_ANY, S_MSG_ADD, S_SIGHT_PUT, S_DAMAGED,
	S_UNPROVE, S_UNPROVE_ONE, S_REPLACED, S_IDENT, S_IDENT_SET, S_ACCT_RENAME, S_UNPROVE_ALL,
	S_SET_ARCHIVED, S_PENDING, S_DROP_SIGHT, S_DROP_MSG, S_COUNT,
	S_VOL_GET, S_VOL_SET, S_LOCATE, S_SIGHTINGS, S_SIGHTINGS_KEYS,
	S_SIGHT_STATE,
	S_SET_VERIFIED, S_ARCHIVED_ROWS, S_ALL_ROWS, S_BAD_COUNT,
	S_ACCOUNTS, S_FORMATS, S_STATUS, S_SEARCH, S_SET_LOC,
	S_NEXT_LOGIN_GET, S_NEXT_LOGIN_SET, S_MSG_SOUND, S_SIGHT_HEAD, S_SET_HEAD,
	S_ORIGIN_SET, S_FOREIGN_ADD, S_FOREIGN, S_FOREIGN_DROP,
	S_BEGIN, S_COMMIT, S_ROLLBACK,
	S_ACCT_RESTORE, S_SIGHT_ANY, S_ACCT_INFO, S_MSG_VARIANT,
	S_SELECT,
	S_NSTMT
};

static const char *const idx_sql[S_NSTMT] = {
	[S_ACCT_GET] = "SELECT id, dir FROM accounts WHERE name = ?1",
	[S_ACCT_DIR] = "SELECT 1 FROM accounts WHERE dir = ?1",
	[S_ACCT_ADD] = "INSERT INTO accounts(name, dir, host, port, user, "
	    "created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[S_SIGHT_HEAD] = "SELECT m.head_sha256, m.id, m.account_id = "
	    "s.account_id AND m.format = ?3 AND m.state <> 'pending', "
	    "m.location FROM sightings s JOIN messages "
	    "m ON m.id = s.msg WHERE s.account_id = ?1 AND s.uidl = ?2",
	[S_SET_HEAD] = "UPDATE messages SET head_sha256 = ?2 WHERE id = ?1 "
	    "AND head_sha256 IS NULL",
	[S_MSG_SOUND] = "SELECT state = 'verified' AND (note IS NULL OR "
	    "note NOT LIKE 'verify:%') FROM messages WHERE id = ?1",
	[S_NEXT_LOGIN_GET] = "SELECT next_login_at FROM accounts WHERE id = ?1",
	[S_NEXT_LOGIN_SET] = "UPDATE accounts SET next_login_at = ?2 WHERE "
	    "id = ?1",
	[S_ACCT_DONE] = "UPDATE accounts SET last_outcome = ?2, "
	    "last_listed = ?3, last_run_at = ?4 WHERE id = ?1",
	[S_UIDLS] = "SELECT uidl FROM sightings WHERE account_id = ?1 "
	    "ORDER BY uidl",
	/*
	 * Lossless dedup (docs/decisions.md): only the same whole-message hash is
	 * a duplicate, and never onto a copy that failed verification;
	 * the sound copy first, then a damaged one (for the caller to know
	 * the content is being repaired).
	 */
	[S_DUP_SHA] = "SELECT id, coalesce(note LIKE 'verify:%', 0) AS bad "
	    "FROM messages WHERE sha256 = ?1 AND (?3 = 0 OR account_id = ?3) "
	    "ORDER BY bad, id LIMIT 1",
	[S_VARIANT] = "SELECT id FROM messages WHERE message_id = ?1 AND "
	    "body_sha256 = ?2 AND (?3 = 0 OR account_id = ?3) ORDER BY id "
	    "LIMIT 1",
	[S_MID_ANY] = "SELECT 1 FROM messages WHERE message_id = ?1 AND "
	    "(?3 = 0 OR account_id = ?3) LIMIT 1",
	[S_MSG_ADD] = "INSERT INTO messages(account_id, sha256, body_sha256, "
	    "size, message_id, date, from_addr, subject, return_path, state, "
	    "format, location, first_seen, date_epoch, variant_of, "
	    "head_sha256) VALUES "
	    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', ?10, ?11, ?12, "
	    "?13, ?14, ?15)",
	/*
	 * The server's message under (account, UIDL) is the content msg:
	 * proven, on the server. A reused UIDL (fresh = 1) is a new
	 * message, first seen now; a re-proved one keeps its first sight.
	 */
	[S_SIGHT_PUT] = "INSERT INTO sightings(account_id, uidl, msg, size, "
	    "first_seen, proven, odd_size) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?7) "
	    "ON CONFLICT(account_id, uidl) DO UPDATE SET msg = excluded.msg, "
	    "size = excluded.size, state = 'on_server', proven = 1, "
	    "odd_size = excluded.odd_size, "
	    "first_seen = CASE WHEN ?6 THEN excluded.first_seen ELSE "
	    "first_seen END",
	[S_DAMAGED] = "UPDATE messages SET note = ?2 WHERE id = ?1",
	/* What pointed at a damaged copy must be proven again. */
	[S_UNPROVE] = "UPDATE sightings SET proven = 0 WHERE msg = ?1",
	[S_UNPROVE_ONE] = "UPDATE sightings SET proven = 0 WHERE "
	    "account_id = ?1 AND uidl = ?2",
	[S_UNPROVE_ALL] = "UPDATE sightings SET proven = 0 WHERE "
	    "account_id = ?1",
	[S_REPLACED] = "UPDATE messages SET replaced_by = ?1 WHERE "
	    "sha256 = ?2 AND id <> ?1 AND note LIKE 'verify:%' AND "
	    "replaced_by IS NULL",
	[S_ACCT_RENAME] = "UPDATE accounts SET name = ?2 WHERE id = ?1",
	[S_IDENT] = "SELECT host, port, user FROM accounts WHERE id = ?1",
	[S_IDENT_SET] = "UPDATE accounts SET host = ?2, port = ?3, user = ?4 "
	    "WHERE id = ?1",
	[S_SET_ARCHIVED] = "UPDATE messages SET state = 'archived', "
	    "archived_at = ?2 WHERE id = ?1 AND state = 'pending'",
	[S_PENDING] = "SELECT id, location, sha256 FROM messages WHERE "
	    "account_id = ?1 AND state = 'pending' ORDER BY id",
	/* Only a pending message's sightings, as S_DROP_MSG. */
	[S_DROP_SIGHT] = "DELETE FROM sightings WHERE msg = ?1 AND "
	    "EXISTS (SELECT 1 FROM messages WHERE id = ?1 AND "
	    "state = 'pending')",
	[S_DROP_MSG] = "DELETE FROM messages WHERE id = ?1 AND "
	    "state = 'pending'",
	[S_COUNT] = "SELECT count(*) FROM messages WHERE account_id = ?1",
	[S_VOL_GET] = "SELECT length, traps FROM volumes WHERE "
	    "account_id = ?1 AND name = ?2",
	[S_VOL_SET] = "INSERT INTO volumes(account_id, name, length, traps) "
	    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(account_id, name) DO UPDATE "
	    "SET length = excluded.length, traps = excluded.traps",
	[S_LOCATE] = "SELECT m.format, m.location, m.sha256, ha.dir, m.state "
	    "FROM accounts a JOIN sightings s ON s.account_id = a.id "
	    "JOIN messages m ON m.id = s.msg JOIN accounts ha ON "
	    "ha.id = m.account_id WHERE a.name = ?1 AND s.uidl = ?2",
	[S_SIGHTINGS] = "SELECT s.uidl, s.state, m.state = 'verified', "
	    "s.first_seen, "
	    "m.date_epoch, m.note LIKE 'verify:%', s.size, s.proven, "
	    "s.odd_size FROM sightings s "
	    "JOIN messages m ON m.id = s.msg WHERE s.account_id = ?1 "
	    "ORDER BY s.uidl",
	/* The same columns from the sightings table alone (no facts). */
	[S_SIGHTINGS_KEYS] = "SELECT s.uidl, s.state, 0, s.first_seen, "
	    "NULL, 0, s.size, s.proven, s.odd_size FROM sightings s WHERE "
	    "s.account_id = ?1 ORDER BY s.uidl",
	[S_SIGHT_STATE] = "UPDATE sightings SET state = ?3 WHERE "
	    "account_id = ?1 AND uidl = ?2",
	[S_SET_VERIFIED] = "UPDATE messages SET state = 'verified', "
	    "verified_at = ?2, note = NULL WHERE id = ?1 AND state <> 'pending'",
	[S_ARCHIVED_ROWS] = "SELECT id, location, sha256 FROM messages WHERE "
	    "account_id = ?1 AND state = 'archived' AND format = ?2 AND "
	    "id > ?3 ORDER BY id LIMIT ?4",
	/* A damaged copy replaced by a sound one is kept, not checked. */
	[S_ALL_ROWS] = "SELECT id, location, sha256 FROM messages WHERE "
	    "account_id = ?1 AND state <> 'pending' AND format = ?2 AND "
	    "replaced_by IS NULL AND id > ?3 ORDER BY id LIMIT ?4",
	[S_ACCOUNTS] = "SELECT id, name, dir FROM accounts ORDER BY name",
	[S_FORMATS] = "SELECT DISTINCT format FROM messages WHERE "
	    "account_id = ?1",
	[S_BAD_COUNT] = "SELECT count(*) FROM sightings s JOIN messages m ON "
	    "m.id = s.msg WHERE s.account_id = ?1 AND m.note LIKE 'verify:%' "
	    "AND m.replaced_by IS NULL",
	[S_STATUS] = "SELECT a.name, a.last_listed, a.last_run_at, "
	    "a.last_outcome, "
	    "(SELECT count(*) FROM messages m WHERE m.account_id = a.id), "
	    "(SELECT count(*) FROM messages m WHERE m.account_id = a.id "
	    "AND m.state = 'verified'), "
	    "(SELECT count(*) FROM sightings s WHERE s.account_id = a.id), "
	    "(SELECT count(*) FROM sightings s WHERE s.account_id = a.id "
	    "AND s.state = 'deleted'), "
	    "(SELECT count(*) FROM sightings s JOIN messages m ON "
	    "m.id = s.msg WHERE s.account_id = a.id AND m.note LIKE "
	    "'verify:%' AND m.replaced_by IS NULL), "
	    "(SELECT count(*) FROM messages m WHERE m.account_id = a.id "
	    "AND m.variant_of IS NOT NULL), "
	    "(SELECT count(*) FROM sightings s WHERE s.account_id = a.id "
	    "AND s.proven = 0 AND s.state <> 'deleted') "
	    "FROM accounts a ORDER BY a.name",
	[S_SEARCH] = "SELECT a.name, s.uidl, m.date, m.from_addr, m.subject, "
	    "ha.dir, m.location, m.message_id, m.format, m.variant_of, "
	    "s.proven FROM sightings s "
	    "JOIN accounts a ON a.id = s.account_id "
	    "JOIN messages m ON m.id = s.msg "
	    "JOIN accounts ha ON ha.id = m.account_id WHERE "
	    "(?1 IS NULL OR m.from_addr LIKE ?1 ESCAPE '\\') AND "
	    "(?2 IS NULL OR m.subject LIKE ?2 ESCAPE '\\') AND "
	    "(?3 IS NULL OR m.date_epoch >= ?3) AND "
	    "(?4 IS NULL OR m.date_epoch < ?4) AND "
	    "(?5 IS NULL OR m.message_id = ?5) AND "
	    "(?6 IS NULL OR a.name = ?6) "
	    "ORDER BY m.date_epoch, a.name, s.uidl LIMIT ?7",
	[S_SET_LOC] = "UPDATE messages SET location = ?2 WHERE id = ?1",
	/* Only for a sighting: where its message was imported from. */
	[S_ORIGIN_SET] = "INSERT INTO origins(account_id, uidl, path, pos, "
	    "flags) SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM "
	    "sightings WHERE account_id = ?1 AND uidl = ?2) "
	    "ON CONFLICT(account_id, uidl) DO UPDATE SET path = excluded.path, "
	    "pos = excluded.pos, flags = excluded.flags",
	/* Not over a sighting: what popvault saw itself comes first. */
	[S_FOREIGN_ADD] = "INSERT INTO foreign_uidls(account_id, uidl, tool, "
	    "file, first_seen) SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT EXISTS "
	    "(SELECT 1 FROM sightings WHERE account_id = ?1 AND uidl = ?2) "
	    "ON CONFLICT(account_id, uidl) DO NOTHING",
	[S_FOREIGN] = "SELECT uidl, first_seen FROM foreign_uidls WHERE "
	    "account_id = ?1 ORDER BY uidl",
	[S_FOREIGN_DROP] = "DELETE FROM foreign_uidls WHERE account_id = ?1 "
	    "AND (?2 IS NULL OR uidl = ?2)",
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	/* index rebuild (idx_account_restore(), idx_account_info()). */
	[S_ACCT_RESTORE] = "INSERT INTO accounts(name, dir, host, port, user, "
	    "created_at, last_outcome) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
	    "'rebuilt')",
	[S_SIGHT_ANY] = "SELECT 1 FROM sightings WHERE account_id = ?1 LIMIT 1",
	[S_ACCT_INFO] = "SELECT name, dir, host, port, user, last_outcome "
	    "FROM accounts WHERE id = ?1",
	[S_MSG_VARIANT] = "SELECT variant_of FROM messages WHERE id = ?1",
	/*
	 * idx_select(): the stored copies an account's sightings point at
	 * (a damaged copy a sound one replaced: that one), filtered as
	 * S_SEARCH; pending rows are not stored yet.
	 */
	[S_SELECT] = "SELECT m.id, m.sha256, m.size, m.format, m.location, "
	    "ha.dir, coalesce(m.note NOT LIKE 'verify:%', 1) "
	    "FROM messages m JOIN accounts ha ON ha.id = m.account_id "
	    "WHERE m.state <> 'pending' AND m.id IN (SELECT "
	    "coalesce(m0.replaced_by, m0.id) FROM sightings s JOIN messages "
	    "m0 ON m0.id = s.msg WHERE s.account_id = ?1 AND "
	    "(?2 IS NULL OR m0.from_addr LIKE ?2 ESCAPE '\\') AND "
	    "(?3 IS NULL OR m0.subject LIKE ?3 ESCAPE '\\') AND "
	    "(?4 IS NULL OR m0.date_epoch >= ?4) AND "
	    "(?5 IS NULL OR m0.date_epoch < ?5) AND "
	    "(?6 IS NULL OR m0.message_id = ?6)) ORDER BY m.id",
};

/* Schema, one entry per version: entry k migrates from k to k + 1. */
static const char *const idx_migrations[] = {
	"CREATE TABLE accounts ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  dir TEXT NOT NULL UNIQUE,"
	"  host TEXT, port TEXT, user TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  last_run_at INTEGER, last_outcome TEXT, last_listed INTEGER);"
	"CREATE TABLE messages ("
	"  id INTEGER PRIMARY KEY,"
	"  account_id INTEGER NOT NULL REFERENCES accounts(id),"
	"  sha256 BLOB NOT NULL,"
	"  body_sha256 BLOB NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  message_id TEXT, date TEXT, from_addr TEXT, subject TEXT,"
	"  return_path TEXT,"
	"  state TEXT NOT NULL CHECK (state IN "
	"    ('pending', 'archived', 'verified')),"
	"  format TEXT NOT NULL,"
	"  location TEXT NOT NULL,"
	"  first_seen INTEGER NOT NULL,"
	"  archived_at INTEGER, verified_at INTEGER, note TEXT);"
	"CREATE INDEX messages_sha ON messages(sha256);"
	"CREATE INDEX messages_mid ON messages(message_id);"
	"CREATE INDEX messages_state ON messages(account_id, state);"
	"CREATE TABLE sightings ("
	"  account_id INTEGER NOT NULL REFERENCES accounts(id),"
	"  uidl TEXT NOT NULL,"
	"  msg INTEGER NOT NULL REFERENCES messages(id),"
	"  size INTEGER,"
	"  first_seen INTEGER NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'on_server' CHECK (state IN "
	"    ('on_server', 'delete_pending', 'deleted', 'gone')),"
	"  PRIMARY KEY (account_id, uidl)) WITHOUT ROWID;"
	"CREATE INDEX sightings_msg ON sightings(msg);",
	/* 1 -> 2: committed lengths of mbox files and tar volumes. */
	"CREATE TABLE volumes ("
	"  account_id INTEGER NOT NULL REFERENCES accounts(id),"
	"  name TEXT NOT NULL,"
	"  length INTEGER NOT NULL,"
	"  traps TEXT NOT NULL DEFAULT '',"
	"  PRIMARY KEY (account_id, name)) WITHOUT ROWID;",
	/* 2 -> 3: the Date header as seconds, for --age-by=date. */
	"ALTER TABLE messages ADD COLUMN date_epoch INTEGER;",
	/*
	 * 3 -> 4: lossless deduplication (docs/decisions.md). A variant (same
	 * Message-ID and body, other headers) is stored and linked to the
	 * first copy; a damaged copy replaced by a sound one is kept and
	 * linked to it; a sighting is "proven" when the message it points
	 * at has the exact bytes the server sent under that UIDL.
	 *
	 * Versions before 4 took a message with a known Message-ID and body
	 * for a duplicate whatever its headers, so a sighting may point at
	 * other bytes than its own. Which ones cannot be told for sure:
	 * proven are only the sightings of messages without a Message-ID
	 * (those were matched by whole hash) and the one sighting that
	 * created its message (same account, same first second, alone).
	 * Every other becomes unproven: fetched again while the server has
	 * it, and never deleted before.
	 */
	"ALTER TABLE messages ADD COLUMN variant_of INTEGER;"
	"ALTER TABLE messages ADD COLUMN replaced_by INTEGER;"
	"ALTER TABLE sightings ADD COLUMN proven INTEGER NOT NULL DEFAULT 1;"
	"UPDATE sightings SET proven = 0 WHERE NOT EXISTS (SELECT 1 FROM "
	"  messages m WHERE m.id = sightings.msg AND (m.message_id IS NULL OR"
	"  (m.account_id = sightings.account_id AND"
	"   m.first_seen = sightings.first_seen AND"
	"   (SELECT count(*) FROM sightings s2 WHERE s2.msg = m.id) = 1)));",
	/*
	 * 4 -> 5 (issue 15): odd_size, a sighting proven by a download whose
	 * size was far from what LIST announced (the server may have served
	 * something else than its stored message: Courier's "cannot display
	 * Unicode" notice): kept, never deleted. next_login_at, when the
	 * server's LOGIN-DELAY (RFC 2449) allows the next login.
	 */
	"ALTER TABLE sightings ADD COLUMN odd_size INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE accounts ADD COLUMN next_login_at INTEGER;"
	/*
	 * head_sha256: the header block's hash (hash_head_*), compared with
	 * TOP n 0 before a message not downloaded in the deleting session
	 * is deleted; NULL for messages stored before (proven by a download
	 * then).
	 */
	"ALTER TABLE messages ADD COLUMN head_sha256 BLOB;",
	/*
	 * 5 -> 6 (issue 16): origins, where an imported message came from
	 * (the file, and the position or member in it; Maildir flags), one
	 * row per sighting of an import account. foreign_uidls, the UIDLs
	 * another fetcher (mpop, getmail, fetchmail) recorded as retrieved
	 * from an account's server: known, so fetch does not download them
	 * again, but tied to no stored copy, so never deleted before a
	 * download proves their bytes stored (they then become sightings).
	 */
	"CREATE TABLE origins ("
	"  account_id INTEGER NOT NULL REFERENCES accounts(id),"
	"  uidl TEXT NOT NULL,"
	"  path TEXT NOT NULL,"
	"  pos TEXT NOT NULL,"
	"  flags TEXT,"
	"  PRIMARY KEY (account_id, uidl)) WITHOUT ROWID;"
	"CREATE TABLE foreign_uidls ("
	"  account_id INTEGER NOT NULL REFERENCES accounts(id),"
	"  uidl TEXT NOT NULL,"
	"  tool TEXT NOT NULL,"
	"  file TEXT NOT NULL,"
	"  first_seen INTEGER NOT NULL,"
	"  PRIMARY KEY (account_id, uidl)) WITHOUT ROWID;",
	/*
	 * 6 -> 7 (issue 17): uploads to IMAP mailboxes (export --to,
	 * core/upload.c). destinations: one mailbox (the URL names user,
	 * server and folder) and the UIDVALIDITY it had at the last run.
	 * deliveries: each stored message (by whole-message SHA-256) proven
	 * there (inexact: as far as IMAP's CRLF lines can carry it), or
	 * found there with other bytes, at which UID.
	 */
	"CREATE TABLE destinations ("
	"  id INTEGER PRIMARY KEY,"
	"  url TEXT NOT NULL UNIQUE,"
	"  uidvalidity INTEGER,"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE deliveries ("
	"  dest_id INTEGER NOT NULL REFERENCES destinations(id),"
	"  sha256 BLOB NOT NULL,"
	"  uidvalidity INTEGER NOT NULL,"
	"  uid INTEGER NOT NULL,"
	"  state TEXT NOT NULL CHECK (state IN ('proven', 'inexact', "
	"    'mismatch')),"
	"  how TEXT NOT NULL CHECK (how IN ('appended', 'found')),"
	"  size INTEGER NOT NULL,"
	"  delivered_at INTEGER NOT NULL,"
	"  PRIMARY KEY (dest_id, sha256)) WITHOUT ROWID;"
	"CREATE INDEX deliveries_time ON deliveries(dest_id, delivered_at);",
};

struct idx {
	sqlite3		*db;
	sqlite3_stmt	*st[S_NSTMT];
	sqlite3_stmt	*dst[IDX_DST_NSTMT];	/* idx_dest.c's */
	char		 err[512];
};

static int	 damaged_code(int);

sqlite3 *
idx_db(struct idx *x)
{
	return x->db;
}

sqlite3_stmt **
idx_dst_stmts(struct idx *x)
{
	return x->dst;
}

int
idx_fail(struct idx *x, const char *what)
{
	snprintf(x->err, sizeof x->err, "index: %s: %s%s", what,
	    sqlite3_errmsg(x->db), damaged_code(sqlite3_errcode(x->db)) ?
	    IDX_DAMAGED_HINT : "");
	return -1;
}

const char *
idx_error(struct idx *x)
{
	return x->err;
}

static sqlite3_stmt *
stmt(struct idx *x, int which)
{
	sqlite3_stmt	*s = x->st[which];

	if (s == NULL) {
		if (sqlite3_prepare_v3(x->db, idx_sql[which], -1,
		    SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
			idx_fail(x, "prepare");
			return NULL;
		}
		x->st[which] = s;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

/* Run a statement that returns no rows. */
static int
step_done(struct idx *x, sqlite3_stmt *s, const char *what)
{
	int	r = sqlite3_step(s);

	sqlite3_reset(s);
	if (r != SQLITE_DONE)
		return idx_fail(x, what);
	return 0;
}

static int
exec(struct idx *x, const char *sql)
{
	char	*msg = NULL;

	if (sqlite3_exec(x->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(x->err, sizeof x->err, "index: %s",
		    msg ? msg : sqlite3_errmsg(x->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* After the migration to 4: say what lossless dedup will fetch again. */
static void
unproven_note(struct idx *x)
{
	sqlite3_stmt	*s;
	int64_t		 n = 0;

	if (sqlite3_prepare_v2(x->db, "SELECT count(*) FROM sightings WHERE "
	    "proven = 0 AND state <> 'deleted'", -1, &s, NULL) != SQLITE_OK)
		return;
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (n > 0)
		log_info("index: %lld UIDL%s recorded by an older popvault "
		    "may point at a message with other headers (deduplicated "
		    "by Message-ID and body); each is fetched again while its "
		    "server has it, and none is deleted before", (long long)n,
		    n == 1 ? "" : "s");
}

static int
idx_migrate(struct idx *x)
{
	sqlite3_stmt	*s;
	int		 v, from, n = (int)(sizeof idx_migrations /
			    sizeof idx_migrations[0]);
	char		 sql[64];

	if (exec(x, "BEGIN IMMEDIATE") == -1)
		return -1;
	if (sqlite3_prepare_v2(x->db, "PRAGMA user_version", -1, &s,
	    NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_step(s) != SQLITE_ROW) {
		sqlite3_finalize(s);
		goto fail;
	}
	v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (v > n) {
		snprintf(x->err, sizeof x->err, "index: schema version %d is "
		    "newer than this popvault (%d); upgrade popvault", v, n);
		exec(x, "ROLLBACK");
		return -1;
	}
	from = v;
	for (; v < n; v++) {
		if (exec(x, idx_migrations[v]) == -1) {
			exec(x, "ROLLBACK");
			return -1;
		}
		snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
		if (exec(x, sql) == -1) {
			exec(x, "ROLLBACK");
			return -1;
		}
	}
	if (exec(x, "COMMIT") == -1)
		return -1;
	if (from > 0 && from < 4)
		unproven_note(x);
	return 0;
fail:
	idx_fail(x, "reading schema version");
	exec(x, "ROLLBACK");
	return -1;
}

/*
 * Switch to WAL. On a new index that other processes open at the same
 * moment (parallel accounts), SQLite can refuse the switch with
 * SQLITE_BUSY at once, without calling the busy handler: retry for as
 * long as the busy timeout.
 */
static int
set_wal(struct idx *x)
{
	int	i;

	for (i = 0;; i++) {
		if (exec(x, "PRAGMA journal_mode = WAL") == 0)
			return 0;
		if ((sqlite3_errcode(x->db) & 0xff) != SQLITE_BUSY ||
		    i >= IDX_BUSY_MS / 10)
			return -1;
		usleep(10000);
	}
}

static struct idx *
open_db(const char *path, char *err, size_t errlen)
{
	struct idx	*x = xcalloc(1, sizeof *x);
	int		 fd;
	mode_t		 old;

	/* Create the file ourselves so it is 0600 whatever the umask. */
	old = umask(077);
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		umask(old);
		snprintf(err, errlen, "index %s: %s", path, strerror(errno));
		free(x);
		return NULL;
	}
	close(fd);
	/*
	 * NOMUTEX: a connection is used by one thread only (the verify
	 * thread reads archives, never the index), so SQLite need not lock
	 * its mutex on every call (6 % of a nothing-new run's CPU).
	 */
	if (sqlite3_open_v2(path, &x->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		umask(old);
		snprintf(err, errlen, "index %s: %s", path,
		    x->db ? sqlite3_errmsg(x->db) : "out of memory");
		sqlite3_close(x->db);
		free(x);
		return NULL;
	}
	sqlite3_busy_timeout(x->db, IDX_BUSY_MS);
	sqlite3_extended_result_codes(x->db, 1);
	/* FULL: a returned COMMIT survives a power cut (the delete
	 * protocol relies on it: docs/decisions.md, the commit protocol). */
	if (set_wal(x) == -1 ||
	    exec(x, "PRAGMA synchronous = FULL") == -1 ||
	    exec(x, "PRAGMA foreign_keys = ON") == -1 ||
	    /* 1 MiB of page cache (not 2): the memory budget is 16 MB. */
	    exec(x, "PRAGMA cache_size = -1024") == -1 ||
	    idx_migrate(x) == -1) {
		umask(old);
		snprintf(err, errlen, "%s%s", x->err,
		    damaged_code(sqlite3_errcode(x->db)) &&
		    strstr(x->err, "rebuild") == NULL ? IDX_DAMAGED_HINT : "");
		idx_close(x);
		return NULL;
	}
	umask(old);
	return x;
}

/*
 * "file:" and path, with the characters a URI gives a meaning escaped; an
 * absolute path gets an empty authority ("file:///..."), so that one
 * starting with "//" is not taken for a host. Then "?" and query.
 */
static int
ro_uri(const char *path, const char *query, char *out, size_t len)
{
	size_t	o;

	if (xsnprintf(out, len, "file:%s", path[0] == '/' ? "//" : "") == -1)
		return -1;
	for (o = strlen(out); *path != '\0'; path++) {
		if (o + 4 > len)
			return -1;
		if (*path == '%' || *path == '?' || *path == '#')
			o += (size_t)snprintf(out + o, len - o, "%%%02X",
			    (unsigned char)*path);
		else
			out[o++] = *path;
	}
	out[o] = '\0';
	return xsnprintf(out + o, len - o, "?%s", query);
}

/*
 * A schema older than this program's, or none: copy the index into a
 * private temporary database (SQLite keeps it in memory, spilling to
 * $TMPDIR past the cache) and migrate the copy, never the file.
 */
static int
ro_migrated_copy(struct idx *x)
{
	sqlite3		*tmp = NULL;
	sqlite3_backup	*b;
	int		 r;

	if (sqlite3_open_v2("", &tmp, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(x->err, sizeof x->err, "index: a temporary copy: %s",
		    tmp ? sqlite3_errmsg(tmp) : "out of memory");
		sqlite3_close(tmp);
		return -1;
	}
	if ((b = sqlite3_backup_init(tmp, "main", x->db, "main")) == NULL) {
		snprintf(x->err, sizeof x->err, "index: copying: %s",
		    sqlite3_errmsg(tmp));
		sqlite3_close(tmp);
		return -1;
	}
	r = sqlite3_backup_step(b, -1);
	sqlite3_backup_finish(b);
	if (r != SQLITE_DONE) {
		snprintf(x->err, sizeof x->err, "index: copying: %s",
		    sqlite3_errstr(r));
		sqlite3_close(tmp);
		return -1;
	}
	sqlite3_close(x->db);
	x->db = tmp;
	return exec(x, "PRAGMA cache_size = -1024") == -1 ||
	    idx_migrate(x) == -1 ? -1 : 0;
}

struct idx *
idx_open_ro(const char *path, char *err, size_t errlen)
{
	struct idx	*x = xcalloc(1, sizeof *x);
	struct stat	 sb;
	sqlite3_stmt	*s = NULL;
	char		 side[4200], uri[12800];
	int		 wal, shm, v = -1, n = (int)(sizeof idx_migrations /
			    sizeof idx_migrations[0]);

	if (xsnprintf(side, sizeof side, "%s-wal", path) == -1)
		goto toolong;
	wal = lstat(side, &sb) == 0;
	if (xsnprintf(side, sizeof side, "%s-shm", path) == -1)
		goto toolong;
	shm = lstat(side, &sb) == 0;
	if (wal && !shm) {
		snprintf(err, errlen, "index %s: a write-ahead log without its "
		    "shared-memory file (left by a crash): it cannot be read "
		    "without writing; a fetch or prune recovers it", path);
		free(x);
		return NULL;
	}
	/*
	 * Without a log every committed page is in the file: immutable, no
	 * locks, no side files. With one (a run in progress, or a crash),
	 * its shared-memory file is read, never written.
	 */
	if (ro_uri(path, wal ? "mode=ro&readonly_shm=1" : "immutable=1", uri,
	    sizeof uri) == -1)
		goto toolong;
	if (sqlite3_open_v2(uri, &x->db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_URI | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX,
	    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "index %s: %s", path,
		    x->db ? sqlite3_errmsg(x->db) : "out of memory");
		sqlite3_close(x->db);
		free(x);
		return NULL;
	}
	sqlite3_busy_timeout(x->db, IDX_BUSY_MS);
	sqlite3_extended_result_codes(x->db, 1);
	if (sqlite3_prepare_v2(x->db, "PRAGMA user_version", -1, &s,
	    NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (v == -1) {
		idx_fail(x, "reading schema version");
		goto fail;
	}
	if (v > n) {
		snprintf(x->err, sizeof x->err, "index: schema version %d is "
		    "newer than this popvault (%d); upgrade popvault", v, n);
		goto fail;
	}
	if ((v < n ? ro_migrated_copy(x) : exec(x,
	    "PRAGMA cache_size = -1024")) == -1 ||
	    exec(x, "PRAGMA query_only = ON") == -1)
		goto fail;
	return x;
toolong:
	snprintf(err, errlen, "index %s: path too long", path);
	free(x);
	return NULL;
fail:
	snprintf(err, errlen, "%s", x->err);
	idx_close(x);
	return NULL;
}

void
idx_close(struct idx *x)
{
	int	i;

	if (x == NULL)
		return;
	for (i = 0; i < S_NSTMT; i++)
		sqlite3_finalize(x->st[i]);
	for (i = 0; i < IDX_DST_NSTMT; i++)
		sqlite3_finalize(x->dst[i]);
	sqlite3_close(x->db);
	free(x);
}

int
idx_begin(struct idx *x)
{
	sqlite3_stmt	*s = stmt(x, S_BEGIN);

	return s == NULL ? -1 : step_done(x, s, "begin");
}

int
idx_commit(struct idx *x)
{
	sqlite3_stmt	*s = stmt(x, S_COMMIT);

	return s == NULL ? -1 : step_done(x, s, "commit");
}

void
idx_rollback(struct idx *x)
{
	sqlite3_stmt	*s = stmt(x, S_ROLLBACK);

	if (s != NULL && sqlite3_get_autocommit(x->db) == 0)
		step_done(x, s, "rollback");
}

/* A folder name from an account name: [A-Za-z0-9@._+-], no leading dot. */
static void
safe_dir(const char *name, char *out, size_t outlen)
{
	size_t	i, o = 0;

	for (i = 0; name[i] != '\0' && o + 1 < outlen && o < 64; i++) {
		char	c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '@' || c == '.' ||
		    c == '_' || c == '+' || c == '-'))
			c = '_';
		if (o == 0 && c == '.')
			c = '_';
		out[o++] = c;
	}
	if (o == 0 && outlen > 1)
		out[o++] = '_';
	out[o] = '\0';
}

int
idx_account_find(struct idx *x, const char *name, int64_t *id, char *dir,
    size_t dirlen)
{
	sqlite3_stmt	*s;
	int		 r;

	if ((s = stmt(x, S_ACCT_GET)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	if ((r = sqlite3_step(s)) == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		snprintf(dir, dirlen, "%s", sqlite3_column_text(s, 1));
		sqlite3_reset(s);
		return 0;
	}
	sqlite3_reset(s);
	if (r != SQLITE_DONE)
		return idx_fail(x, "looking up account");
	return 1;
}

int
idx_account(struct idx *x, const char *name, const char *host,
    const char *port, const char *user, int64_t *id, char *dir,
    size_t dirlen)
{
	sqlite3_stmt	*s;
	char		 base[80], cand[96];
	int		 r, n;

	if ((r = idx_account_find(x, name, id, dir, dirlen)) != 1)
		return r;
	if (idx_begin(x) == -1)
		return -1;
	safe_dir(name, base, sizeof base);
	for (n = 1;; n++) {
		if (n == 1)
			snprintf(cand, sizeof cand, "%s", base);
		else
			snprintf(cand, sizeof cand, "%s-%d", base, n);
		if ((s = stmt(x, S_ACCT_DIR)) == NULL)
			goto fail;
		sqlite3_bind_text(s, 1, cand, -1, SQLITE_STATIC);
		r = sqlite3_step(s);
		sqlite3_reset(s);
		if (r == SQLITE_DONE)
			break;
		if (r != SQLITE_ROW) {
			idx_fail(x, "choosing account folder");
			goto fail;
		}
	}
	if ((s = stmt(x, S_ACCT_ADD)) == NULL)
		goto fail;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, cand, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, host, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, port, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, user, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 6, wall_now());
	if (step_done(x, s, "adding account") == -1)
		goto fail;
	*id = sqlite3_last_insert_rowid(x->db);
	if (idx_commit(x) == -1)
		goto fail;
	snprintf(dir, dirlen, "%s", cand);
	return 0;
fail:
	idx_rollback(x);
	return -1;
}

int
idx_account_done(struct idx *x, int64_t id, const char *outcome,
    int64_t listed, int64_t when)
{
	sqlite3_stmt	*s;

	if ((s = stmt(x, S_ACCT_DONE)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, outcome, -1, SQLITE_STATIC);
	if (listed >= 0)
		sqlite3_bind_int64(s, 3, listed);
	sqlite3_bind_int64(s, 4, when);
	return step_done(x, s, "recording run");
}

/*
 * The one integer statement which yields for key (its ?1): *out, or 0
 * when there is no row or the value is NULL. 0, or -1 (what: the
 * error's words).
 */
static int
get_i64(struct idx *x, int which, int64_t key, int64_t *out,
    const char *what)
{
	sqlite3_stmt	*s;
	int		 r;

	*out = 0;
	if ((s = stmt(x, which)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, key);
	if ((r = sqlite3_step(s)) == SQLITE_ROW &&
	    sqlite3_column_type(s, 0) != SQLITE_NULL)
		*out = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return idx_fail(x, what);
	return 0;
}

int
idx_next_login(struct idx *x, int64_t id, int64_t *when)
{
	return get_i64(x, S_NEXT_LOGIN_GET, id, when,
	    "reading the next login time");
}

int
idx_set_next_login(struct idx *x, int64_t id, int64_t when)
{
	sqlite3_stmt	*s;

	if ((s = stmt(x, S_NEXT_LOGIN_SET)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	if (when > 0)
		sqlite3_bind_int64(s, 2, when);
	return step_done(x, s, "recording the next login time");
}

int
idx_known_uidls(struct idx *x, int64_t account_id,
    int (*cb)(void *, const char *, size_t), void *arg)
{
	sqlite3_stmt	*s;
	int		 r;

	if ((s = stmt(x, S_UIDLS)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account_id);
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		if (cb(arg, (const char *)sqlite3_column_text(s, 0),
		    (size_t)sqlite3_column_bytes(s, 0)) == -1) {
			sqlite3_reset(s);
			return -1;
		}
	}
	sqlite3_reset(s);
	if (r != SQLITE_DONE)
		return idx_fail(x, "listing known UIDLs");
	return 0;
}

int
idx_dedup(struct idx *x, int64_t scope, const char *mid, size_t midlen,
    const unsigned char body[HASH_LEN], const unsigned char whole[HASH_LEN],
    struct idx_dedup *d)
{
	sqlite3_stmt	*s;
	int		 r;

	memset(d, 0, sizeof *d);
	if ((s = stmt(x, S_DUP_SHA)) == NULL)
		return -1;
	sqlite3_bind_blob(s, 1, whole, HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, scope);
	r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		if (sqlite3_column_int(s, 1) == 0)
			d->dup = sqlite3_column_int64(s, 0);
		else
			d->damaged = 1;
	}
	sqlite3_reset(s);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return idx_fail(x, "looking for duplicates");
	if (d->dup != 0 || mid == NULL)
		return d->dup != 0;
	/* Not stored yet: a variant, a collision, or nothing alike. */
	if ((s = stmt(x, S_VARIANT)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, mid, (int)midlen, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, body, HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, scope);
	r = sqlite3_step(s);
	if (r == SQLITE_ROW)
		d->variant_of = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return idx_fail(x, "looking for variants");
	if (d->variant_of != 0)
		return 0;
	if ((s = stmt(x, S_MID_ANY)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, mid, (int)midlen, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, scope);
	r = sqlite3_step(s);
	sqlite3_reset(s);
	if (r == SQLITE_ROW)
		d->collision = 1;
	else if (r != SQLITE_DONE)
		return idx_fail(x, "looking for collisions");
	return 0;
}

static void
bind_opt(sqlite3_stmt *s, int col, const char *p, size_t len)
{
	if (p == NULL)
		sqlite3_bind_null(s, col);
	else
		sqlite3_bind_text(s, col, p, (int)len, SQLITE_STATIC);
}

int
idx_add_message(struct idx *x, const struct idx_msg *m, int64_t *id)
{
	sqlite3_stmt	*s;

	if ((s = stmt(x, S_MSG_ADD)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, m->account_id);
	sqlite3_bind_blob(s, 2, m->sha256, HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(s, 3, m->body_sha256, HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)m->size);
	bind_opt(s, 5, m->message_id, m->message_id_len);
	bind_opt(s, 6, m->date, m->date_len);
	bind_opt(s, 7, m->from, m->from_len);
	bind_opt(s, 8, m->subject, m->subject_len);
	bind_opt(s, 9, m->return_path, m->return_path_len);
	sqlite3_bind_text(s, 10, m->format, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 11, m->location, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 12, m->first_seen);
	if (m->date_epoch != INT64_MIN)
		sqlite3_bind_int64(s, 13, m->date_epoch);
	if (m->variant_of != 0)
		sqlite3_bind_int64(s, 14, m->variant_of);
	if (m->head_sha256 != NULL)
		sqlite3_bind_blob(s, 15, m->head_sha256, HASH_LEN,
		    SQLITE_STATIC);
	if (step_done(x, s, "adding message") == -1)
		return -1;
	*id = sqlite3_last_insert_rowid(x->db);
	return 0;
}

int
idx_put_sighting(struct idx *x, int64_t account_id, const char *uidl,
    size_t uidllen, int64_t msg_id, uint64_t size, int64_t when, int fresh,
    int odd)
{
	sqlite3_stmt	*s;

	if ((s = stmt(x, S_SIGHT_PUT)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account_id);
	sqlite3_bind_text(s, 2, uidl, (int)uidllen, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, msg_id);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)size);
	sqlite3_bind_int64(s, 5, when);
	sqlite3_bind_int(s, 6, fresh != 0);
	sqlite3_bind_int(s, 7, odd != 0);
	return step_done(x, s, "recording sighting");
}

int
idx_mark_damaged(struct idx *x, int64_t msg_id, const char *note)
{
	sqlite3_stmt	*s;

	if ((s = stmt(x, S_DAMAGED)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, msg_id);
	sqlite3_bind_text(s, 2, note, -1, SQLITE_STATIC);
	if (step_done(x, s, "noting damaged message") == -1)
		return -1;
	if ((s = stmt(x, S_UNPROVE)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, msg_id);
	return step_done(x, s, "unproving sightings");
}

int
idx_set_replaced(struct idx *x, int64_t msg_id,
    const unsigned char sha[HASH_LEN])
{
	sqlite3_stmt	*s;

	if ((s = stmt(x, S_REPLACED)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, msg_id);
	sqlite3_bind_blob(s, 2, sha, HASH_LEN, SQLITE_STATIC);
	if (step_done(x, s, "recording a repair") == -1)
		return -1;
	return sqlite3_changes(x->db);
}

int
idx_unprove_sighting(struct idx *x, int64_t account_id, const char *uidl,
    size_t len)
{
	sqlite3_stmt	*s;

	if ((s = stmt(x, S_UNPROVE_ONE)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account_id);
	sqlite3_bind_text(s, 2, uidl, (int)len, SQLITE_STATIC);
	return step_done(x, s, "unproving a sighting");
}

int
idx_unprove_account(struct idx *x, int64_t account_id)
{
	sqlite3_stmt	*s;

	if ((s = stmt(x, S_UNPROVE_ALL)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account_id);
	return step_done(x, s, "unproving the account");
}

/* A NULL column as "", for comparison. */
static void
col_copy(sqlite3_stmt *s, int col, char *out, size_t len)
{
	const unsigned char	*t = sqlite3_column_text(s, col);

	snprintf(out, len, "%s", t != NULL ? (const char *)t : "");
}

int
idx_identity(struct idx *x, int64_t account_id, struct idx_ident *id)
{
	sqlite3_stmt	*s;
	int		 r;

	if ((s = stmt(x, S_IDENT)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account_id);
	r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		col_copy(s, 0, id->host, sizeof id->host);
		col_copy(s, 1, id->port, sizeof id->port);
		col_copy(s, 2, id->user, sizeof id->user);
	}
	sqlite3_reset(s);
	if (r != SQLITE_ROW)
		return idx_fail(x, "reading the account's server");
	return 0;
}

int
idx_account_rename(struct idx *x, int64_t account_id, const char *name)
{
	sqlite3_stmt	*s;

	if ((s = stmt(x, S_ACCT_RENAME)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account_id);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	return step_done(x, s, "renaming the account");
}

int
idx_set_identity(struct idx *x, int64_t account_id, const char *host,
    const char *port, const char *user)
{
	sqlite3_stmt	*s;

	if ((s = stmt(x, S_IDENT_SET)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account_id);
	sqlite3_bind_text(s, 2, host, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, port, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, user, -1, SQLITE_STATIC);
	return step_done(x, s, "recording the account's server");
}

int
idx_set_archived(struct idx *x, int64_t msg_id, int64_t when)
{
	sqlite3_stmt	*s;

	if ((s = stmt(x, S_SET_ARCHIVED)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, msg_id);
	sqlite3_bind_int64(s, 2, when);
	return step_done(x, s, "marking archived");
}

int
idx_pending(struct idx *x, int64_t account_id,
    int (*cb)(void *, int64_t, const char *, const unsigned char *),
    void *arg)
{
	sqlite3_stmt	*s;
	int		 r;

	if ((s = stmt(x, S_PENDING)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account_id);
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(s, 2) != HASH_LEN) {
			sqlite3_reset(s);
			snprintf(x->err, sizeof x->err, "index: bad hash");
			return -1;
		}
		if (cb(arg, sqlite3_column_int64(s, 0),
		    (const char *)sqlite3_column_text(s, 1),
		    sqlite3_column_blob(s, 2)) == -1) {
			sqlite3_reset(s);
			return -1;
		}
	}
	sqlite3_reset(s);
	if (r != SQLITE_DONE)
		return idx_fail(x, "listing pending messages");
	return 0;
}

int
idx_drop_message(struct idx *x, int64_t msg_id)
{
	sqlite3_stmt	*s;

	if ((s = stmt(x, S_DROP_SIGHT)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, msg_id);
	if (step_done(x, s, "dropping sightings") == -1)
		return -1;
	if ((s = stmt(x, S_DROP_MSG)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, msg_id);
	return step_done(x, s, "dropping message");
}

int64_t
idx_count_messages(struct idx *x, int64_t account_id)
{
	sqlite3_stmt	*s;
	int64_t		 n = -1;

	if ((s = stmt(x, S_COUNT)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account_id);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return n;
}

int
idx_volume_get(struct idx *x, int64_t account_id, const char *name,
    uint64_t *len, char *priv, size_t privlen)
{
	sqlite3_stmt	*s;
	int		 r;

	if ((s = stmt(x, S_VOL_GET)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account_id);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		*len = (uint64_t)sqlite3_column_int64(s, 0);
		if (priv != NULL)
			snprintf(priv, privlen, "%s",
			    (const char *)sqlite3_column_text(s, 1));
		sqlite3_reset(s);
		return 1;
	}
	sqlite3_reset(s);
	if (r != SQLITE_DONE)
		return idx_fail(x, "reading volume");
	return 0;
}

int
idx_volume_set(struct idx *x, int64_t account_id, const char *name,
    uint64_t len, const char *priv)
{
	sqlite3_stmt	*s;

	if ((s = stmt(x, S_VOL_SET)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account_id);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (sqlite3_int64)len);
	sqlite3_bind_text(s, 4, priv ? priv : "", -1, SQLITE_STATIC);
	return step_done(x, s, "recording volume");
}

int
idx_locate(struct idx *x, const char *account, const char *uidl,
    struct idx_loc *l)
{
	sqlite3_stmt	*s;
	int		 r;

	if ((s = stmt(x, S_LOCATE)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, uidl, -1, SQLITE_STATIC);
	r = sqlite3_step(s);
	if (r == SQLITE_ROW) {
		snprintf(l->format, sizeof l->format, "%s",
		    (const char *)sqlite3_column_text(s, 0));
		snprintf(l->location, sizeof l->location, "%s",
		    (const char *)sqlite3_column_text(s, 1));
		if (sqlite3_column_bytes(s, 2) == HASH_LEN)
			memcpy(l->sha256, sqlite3_column_blob(s, 2), HASH_LEN);
		snprintf(l->dir, sizeof l->dir, "%s",
		    (const char *)sqlite3_column_text(s, 3));
		snprintf(l->state, sizeof l->state, "%s",
		    (const char *)sqlite3_column_text(s, 4));
		sqlite3_reset(s);
		return 1;
	}
	sqlite3_reset(s);
	if (r != SQLITE_DONE)
		return idx_fail(x, "looking up message");
	return 0;
}

static int
sstate_of(const unsigned char *t)
{
	if (t == NULL)
		return IDX_S_ON_SERVER;
	if (strcmp((const char *)t, "delete_pending") == 0)
		return IDX_S_DELETE_PENDING;
	if (strcmp((const char *)t, "deleted") == 0)
		return IDX_S_DELETED;
	if (strcmp((const char *)t, "gone") == 0)
		return IDX_S_GONE;
	return IDX_S_ON_SERVER;
}

static const char *const sstate_names[] = {
	[IDX_S_ON_SERVER] = "on_server",
	[IDX_S_DELETE_PENDING] = "delete_pending",
	[IDX_S_DELETED] = "deleted",
	[IDX_S_GONE] = "gone",
};

int
idx_sightings(struct idx *x, int64_t account_id, int facts,
    int (*cb)(void *, const struct idx_sighting *), void *arg)
{
	struct idx_sighting	 g;
	sqlite3_stmt		*s;
	int			 r;

	if ((s = stmt(x, facts ? S_SIGHTINGS : S_SIGHTINGS_KEYS)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account_id);
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		g.uidl = (const char *)sqlite3_column_text(s, 0);
		g.uidl_len = (size_t)sqlite3_column_bytes(s, 0);
		g.state = sstate_of(sqlite3_column_text(s, 1));
		g.verified = sqlite3_column_int(s, 2) == 1;
		g.first_seen = sqlite3_column_int64(s, 3);
		g.date_epoch = sqlite3_column_type(s, 4) == SQLITE_NULL ?
		    INT64_MIN : sqlite3_column_int64(s, 4);
		g.bad = sqlite3_column_int(s, 5) == 1;
		g.listed_size = sqlite3_column_type(s, 6) == SQLITE_NULL ? -1 :
		    sqlite3_column_int64(s, 6);
		g.proven = sqlite3_column_int(s, 7) == 1;
		g.odd_size = sqlite3_column_int(s, 8) == 1;
		if (cb(arg, &g) == -1) {
			sqlite3_reset(s);
			return -1;
		}
	}
	sqlite3_reset(s);
	if (r != SQLITE_DONE)
		return idx_fail(x, "listing sightings");
	return 0;
}

int
idx_set_sighting_state(struct idx *x, int64_t account_id, const char *uidl,
    size_t len, enum idx_sstate st)
{
	sqlite3_stmt	*s;

	if ((s = stmt(x, S_SIGHT_STATE)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account_id);
	sqlite3_bind_text(s, 2, uidl, (int)len, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, sstate_names[st], -1, SQLITE_STATIC);
	return step_done(x, s, "updating sighting");
}

int
idx_set_verified(struct idx *x, int64_t msg_id, int64_t when)
{
	sqlite3_stmt	*s;

	if ((s = stmt(x, S_SET_VERIFIED)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, msg_id);
	sqlite3_bind_int64(s, 2, when);
	return step_done(x, s, "marking verified");
}

int
idx_stored(struct idx *x, int64_t account_id, const char *format,
    int unverified, int64_t after, int64_t limit,
    int (*cb)(void *, int64_t, const char *, const unsigned char *),
    void *arg)
{
	sqlite3_stmt	*s;
	int		 r;

	if ((s = stmt(x, unverified ? S_ARCHIVED_ROWS : S_ALL_ROWS)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account_id);
	sqlite3_bind_text(s, 2, format, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, after);
	sqlite3_bind_int64(s, 4, limit);
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(s, 2) != HASH_LEN)
			continue;
		if (cb(arg, sqlite3_column_int64(s, 0),
		    (const char *)sqlite3_column_text(s, 1),
		    sqlite3_column_blob(s, 2)) == -1) {
			sqlite3_reset(s);
			return -1;
		}
	}
	sqlite3_reset(s);
	if (r != SQLITE_DONE)
		return idx_fail(x, "listing stored messages");
	return 0;
}

int64_t
idx_bad_count(struct idx *x, int64_t account_id)
{
	sqlite3_stmt	*s;
	int64_t		 n = -1;

	if ((s = stmt(x, S_BAD_COUNT)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account_id);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return n;
}

int
idx_sighting_head(struct idx *x, int64_t account_id, const char *uidl,
    size_t uidllen, const char *format, struct idx_head *h)
{
	sqlite3_stmt	*s;
	const char	*loc;
	int		 r;

	memset(h, 0, sizeof *h);
	if ((s = stmt(x, S_SIGHT_HEAD)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account_id);
	sqlite3_bind_text(s, 2, uidl, (int)uidllen, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, format, -1, SQLITE_STATIC);
	if ((r = sqlite3_step(s)) == SQLITE_ROW) {
		h->msg = sqlite3_column_int64(s, 1);
		if (sqlite3_column_type(s, 0) == SQLITE_BLOB &&
		    sqlite3_column_bytes(s, 0) == HASH_LEN) {
			memcpy(h->head, sqlite3_column_blob(s, 0), HASH_LEN);
			h->have = 1;
		} else if (sqlite3_column_int(s, 2) == 1 &&
		    (loc = (const char *)sqlite3_column_text(s, 3)) != NULL &&
		    strlen(loc) < sizeof h->location) {
			/* Readable here: the account's own, in its format. */
			memcpy(h->location, loc, strlen(loc) + 1);
			h->readable = 1;
		}
	}
	sqlite3_reset(s);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return idx_fail(x, "reading a header hash");
	return 0;
}

int
idx_set_head(struct idx *x, int64_t msg, const unsigned char head[HASH_LEN])
{
	sqlite3_stmt	*s;

	if ((s = stmt(x, S_SET_HEAD)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, msg);
	sqlite3_bind_blob(s, 2, head, HASH_LEN, SQLITE_STATIC);
	return step_done(x, s, "recording a header hash");
}

int
idx_message_sound(struct idx *x, int64_t id)
{
	sqlite3_stmt	*s;
	int		 r, ok = 0;

	if ((s = stmt(x, S_MSG_SOUND)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	if ((r = sqlite3_step(s)) == SQLITE_ROW)
		ok = sqlite3_column_int(s, 0) == 1;
	sqlite3_reset(s);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return idx_fail(x, "reading a message's state");
	return ok;
}

int
idx_accounts(struct idx *x,
    int (*cb)(void *, int64_t, const char *, const char *), void *arg)
{
	sqlite3_stmt	*s;
	int		 r;

	if ((s = stmt(x, S_ACCOUNTS)) == NULL)
		return -1;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		if (cb(arg, sqlite3_column_int64(s, 0),
		    (const char *)sqlite3_column_text(s, 1),
		    (const char *)sqlite3_column_text(s, 2)) == -1) {
			sqlite3_reset(s);
			return -1;
		}
	}
	sqlite3_reset(s);
	if (r != SQLITE_DONE)
		return idx_fail(x, "listing accounts");
	return 0;
}

int
idx_formats(struct idx *x, int64_t account_id, char out[][16], int max)
{
	sqlite3_stmt	*s;
	int		 r, n = 0;

	if ((s = stmt(x, S_FORMATS)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account_id);
	while ((r = sqlite3_step(s)) == SQLITE_ROW && n < max)
		snprintf(out[n++], 16, "%s",
		    (const char *)sqlite3_column_text(s, 0));
	sqlite3_reset(s);
	if (r != SQLITE_DONE && r != SQLITE_ROW)
		return idx_fail(x, "listing formats");
	return n;
}

int
idx_status(struct idx *x, int (*cb)(void *, const struct idx_status *),
    void *arg)
{
	struct idx_status	 st;
	sqlite3_stmt		*s;
	int			 r;

	if ((s = stmt(x, S_STATUS)) == NULL)
		return -1;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		st.name = (const char *)sqlite3_column_text(s, 0);
		st.listed = sqlite3_column_type(s, 1) == SQLITE_NULL ? -1 :
		    sqlite3_column_int64(s, 1);
		st.last_run = sqlite3_column_type(s, 2) == SQLITE_NULL ? -1 :
		    sqlite3_column_int64(s, 2);
		st.outcome = (const char *)sqlite3_column_text(s, 3);
		st.archived = sqlite3_column_int64(s, 4);
		st.verified = sqlite3_column_int64(s, 5);
		st.sightings = sqlite3_column_int64(s, 6);
		st.deleted = sqlite3_column_int64(s, 7);
		st.bad = sqlite3_column_int64(s, 8);
		st.variants = sqlite3_column_int64(s, 9);
		st.unproven = sqlite3_column_int64(s, 10);
		if (cb(arg, &st) == -1) {
			sqlite3_reset(s);
			return -1;
		}
	}
	sqlite3_reset(s);
	if (r != SQLITE_DONE)
		return idx_fail(x, "reading status");
	return 0;
}

/* "%text%" for LIKE, with %, _ and \ escaped. */
static char *
like_pattern(const char *t)
{
	size_t	n = strlen(t), i, o = 0;
	char	*p = xmalloc(2 * n + 3);

	p[o++] = '%';
	for (i = 0; i < n; i++) {
		if (t[i] == '%' || t[i] == '_' || t[i] == '\\')
			p[o++] = '\\';
		p[o++] = t[i];
	}
	p[o++] = '%';
	p[o] = '\0';
	return p;
}

int
idx_search(struct idx *x, const struct idx_query *q,
    int (*cb)(void *, const struct idx_hit *), void *arg)
{
	struct idx_hit	 h;
	sqlite3_stmt	*s;
	char		*from = NULL, *subj = NULL;
	int		 r;

	if ((s = stmt(x, S_SEARCH)) == NULL)
		return -1;
	if (q->from != NULL) {
		from = like_pattern(q->from);
		sqlite3_bind_text(s, 1, from, -1, SQLITE_STATIC);
	}
	if (q->subject != NULL) {
		subj = like_pattern(q->subject);
		sqlite3_bind_text(s, 2, subj, -1, SQLITE_STATIC);
	}
	if (q->since != INT64_MIN)
		sqlite3_bind_int64(s, 3, q->since);
	if (q->until != INT64_MIN)
		sqlite3_bind_int64(s, 4, q->until);
	if (q->message_id != NULL)
		sqlite3_bind_text(s, 5, q->message_id, -1, SQLITE_STATIC);
	if (q->account != NULL)
		sqlite3_bind_text(s, 6, q->account, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 7, q->limit > 0 ? q->limit : -1);
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		h.account = (const char *)sqlite3_column_text(s, 0);
		h.uidl = (const char *)sqlite3_column_text(s, 1);
		h.date = (const char *)sqlite3_column_text(s, 2);
		h.from = (const char *)sqlite3_column_text(s, 3);
		h.subject = (const char *)sqlite3_column_text(s, 4);
		h.dir = (const char *)sqlite3_column_text(s, 5);
		h.location = (const char *)sqlite3_column_text(s, 6);
		h.message_id = (const char *)sqlite3_column_text(s, 7);
		h.format = (const char *)sqlite3_column_text(s, 8);
		h.variant = sqlite3_column_type(s, 9) != SQLITE_NULL;
		h.proven = sqlite3_column_int(s, 10) == 1;
		if (cb(arg, &h) == -1)
			break;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	free(from);
	free(subj);
	if (r != SQLITE_DONE && r != SQLITE_ROW)
		return idx_fail(x, "searching");
	return 0;
}

int
idx_set_location(struct idx *x, int64_t msg_id, const char *loc)
{
	sqlite3_stmt	*s;

	if ((s = stmt(x, S_SET_LOC)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, msg_id);
	sqlite3_bind_text(s, 2, loc, -1, SQLITE_STATIC);
	return step_done(x, s, "recording location");
}

int
idx_durable(struct idx *x, int on)
{
	return exec(x, on ? "PRAGMA synchronous = FULL" :
	    "PRAGMA synchronous = NORMAL");
}

/*
 * ---- A damaged or lost index (issue 16; docs/decisions.md, "Rebuilding
 * the index") ----
 */

static int
damaged_code(int code)
{
	code &= 0xff;
	return code == SQLITE_CORRUPT || code == SQLITE_NOTADB;
}

/* The vault folder of an index path, and whether it holds accounts. */
static int
vault_has_accounts(const char *path)
{
	struct dirent	*de;
	DIR		*d;
	char		 dir[4200];
	const char	*slash = strrchr(path, '/');
	int		 any = 0;

	if (xsnprintf(dir, sizeof dir, "%.*s%saccounts",
	    slash != NULL ? (int)(slash - path + 1) : 0, path,
	    slash != NULL ? "" : "./") == -1 || (d = opendir(dir)) == NULL)
		return 0;
	while (!any && (de = readdir(d)) != NULL)
		any = de->d_name[0] != '.';
	closedir(d);
	return any;
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/*
 * The checks that cost nothing, before SQLite reads the file: 1 and err
 * (naming the rebuild) when the index is lost (missing or empty while
 * the vault has account folders: a new one would make every stored
 * message look new), not an SQLite file, or shorter than its header
 * says (cut); 0 when none of that is seen; -1 for a file that cannot be
 * read (err).
 */
static int
precheck(const char *path, char *err, size_t errlen)
{
	struct stat	 sb = { 0 };
	unsigned char	 h[100];
	char		 side[4200];
	uint64_t	 psize, pages;
	int		 fd, wal = 0, missing;
	ssize_t		 n;

	missing = stat(path, &sb) == -1;
	if (missing && errno != ENOENT)
		return 0;		/* SQLite says why, if it matters */
	if (missing || sb.st_size == 0) {
		if (!vault_has_accounts(path))
			return 0;
		snprintf(err, errlen, "index %s is %s, but the vault holds "
		    "account folders: a new index would take every stored "
		    "message for new%s", path, missing ? "missing" : "empty",
		    IDX_DAMAGED_HINT);
		return 1;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "index %s: %s", path, strerror(errno));
		return -1;
	}
	n = read(fd, h, sizeof h);
	close(fd);
	if (n != (ssize_t)sizeof h || memcmp(h, "SQLite format 3", 16) != 0) {
		snprintf(err, errlen, "index %s is damaged: not an SQLite "
		    "database%s", path, IDX_DAMAGED_HINT);
		return 1;
	}
	psize = (uint64_t)h[16] << 8 | h[17];
	if (psize == 1)
		psize = 65536;
	if (psize < 512 || psize > 65536 || (psize & (psize - 1)) != 0) {
		snprintf(err, errlen, "index %s is damaged: page size %llu%s",
		    path, (unsigned long long)psize, IDX_DAMAGED_HINT);
		return 1;
	}
	/*
	 * The size in the header counts when it is current (its change
	 * counter matches, SQLite's own rule) and no write-ahead log is
	 * there to be checkpointed into the file.
	 */
	if (xsnprintf(side, sizeof side, "%s-wal", path) == 0 &&
	    stat(side, &sb) == 0 && sb.st_size > 0)
		wal = 1;
	if (stat(path, &sb) == -1)
		return 0;
	pages = be32(h + 28);
	if (!wal && pages > 0 && be32(h + 24) == be32(h + 92) &&
	    pages * psize > (uint64_t)sb.st_size) {
		snprintf(err, errlen, "index %s is damaged: cut short (%llu "
		    "bytes of %llu)%s", path, (unsigned long long)sb.st_size,
		    (unsigned long long)(pages * psize), IDX_DAMAGED_HINT);
		return 1;
	}
	return 0;
}

/* PRAGMA quick_check[(table)]: 0 ok, 1 damaged (err), -1 (err). */
static int
quick_check(struct idx *x, const char *table)
{
	sqlite3_stmt	*s;
	char		 sql[80];
	const char	*t;
	int		 r, bad = 0;

	snprintf(sql, sizeof sql, "PRAGMA quick_check%s%s%s", table ? "(" :
	    "", table ? table : "", table ? ")" : "");
	if (sqlite3_prepare_v2(x->db, sql, -1, &s, NULL) != SQLITE_OK)
		return damaged_code(sqlite3_errcode(x->db)) ? (idx_fail(x,
		    "quick_check"), 1) : idx_fail(x, "quick_check");
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		t = (const char *)sqlite3_column_text(s, 0);
		if (t != NULL && strcmp(t, "ok") != 0 && !bad) {
			bad = 1;
			snprintf(x->err, sizeof x->err, "index is damaged: "
			    "%.200s%s", t, IDX_DAMAGED_HINT);
		}
	}
	if (r != SQLITE_DONE && !bad) {
		bad = damaged_code(r) ? 1 : -1;
		idx_fail(x, "quick_check");
	}
	sqlite3_finalize(s);
	return bad;
}

struct idx *
idx_open(const char *path, char *err, size_t errlen)
{
	struct idx	*x;

	if (precheck(path, err, errlen) != 0)
		return NULL;
	if ((x = open_db(path, err, errlen)) == NULL)
		return NULL;
	/*
	 * The small tables whole, every run (well under a millisecond);
	 * the whole file only where it is read whole anyway (verify,
	 * rebuild): docs/decisions.md, "Rebuilding the index".
	 */
	if (quick_check(x, "accounts") != 0 ||
	    quick_check(x, "volumes") != 0) {
		snprintf(err, errlen, "%s", x->err);
		idx_close(x);
		return NULL;
	}
	return x;
}

struct idx *
idx_open_new(const char *path, char *err, size_t errlen)
{
	int	fd;

	if ((fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		snprintf(err, errlen, "index %s: %s", path, strerror(errno));
		return NULL;
	}
	close(fd);
	return open_db(path, err, errlen);
}

int
idx_quick_check(struct idx *x)
{
	return quick_check(x, NULL) == 0 ? 0 : -1;
}

int
idx_check_file(const char *path, char *err, size_t errlen)
{
	struct idx	*x;
	int		 r;

	if ((r = precheck(path, err, errlen)) != 0)
		return r;
	x = xcalloc(1, sizeof *x);
	if (sqlite3_open_v2(path, &x->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "index %s: %s", path,
		    x->db ? sqlite3_errmsg(x->db) : "out of memory");
		r = x->db != NULL && damaged_code(sqlite3_errcode(x->db)) ?
		    1 : -1;
		idx_close(x);
		return r;
	}
	sqlite3_busy_timeout(x->db, IDX_BUSY_MS);
	sqlite3_extended_result_codes(x->db, 1);
	r = quick_check(x, NULL);
	if (r != 0)
		snprintf(err, errlen, "%s", x->err);
	idx_close(x);
	return r;
}

int
idx_account_restore(struct idx *x, const char *name, const char *dir,
    const struct idx_ident *id, int64_t *acct)
{
	sqlite3_stmt	*s;
	int		 known = id != NULL && (id->host[0] != '\0' ||
			    id->port[0] != '\0' || id->user[0] != '\0');

	if ((s = stmt(x, S_ACCT_RESTORE)) == NULL)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, dir, -1, SQLITE_STATIC);
	if (known) {
		sqlite3_bind_text(s, 3, id->host, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, id->port, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 5, id->user, -1, SQLITE_STATIC);
	}
	sqlite3_bind_int64(s, 6, wall_now());
	if (step_done(x, s, "restoring an account") == -1)
		return -1;
	*acct = sqlite3_last_insert_rowid(x->db);
	return 0;
}

int
idx_account_info(struct idx *x, int64_t acct, struct idx_acctinfo *a)
{
	sqlite3_stmt	*s;
	int		 r;

	memset(a, 0, sizeof *a);
	if ((s = stmt(x, S_ACCT_INFO)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, acct);
	if ((r = sqlite3_step(s)) == SQLITE_ROW) {
		col_copy(s, 0, a->name, sizeof a->name);
		col_copy(s, 1, a->dir, sizeof a->dir);
		col_copy(s, 2, a->id.host, sizeof a->id.host);
		col_copy(s, 3, a->id.port, sizeof a->id.port);
		col_copy(s, 4, a->id.user, sizeof a->id.user);
		a->rebuilt = sqlite3_column_text(s, 5) != NULL &&
		    strcmp((const char *)sqlite3_column_text(s, 5),
		    "rebuilt") == 0;
	}
	sqlite3_reset(s);
	if (r != SQLITE_ROW)
		return idx_fail(x, "reading the account");
	if ((s = stmt(x, S_SIGHT_ANY)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, acct);
	r = sqlite3_step(s);
	a->sightings = r == SQLITE_ROW;
	sqlite3_reset(s);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return idx_fail(x, "reading the account's sightings");
	return 0;
}

int
idx_variant_of(struct idx *x, int64_t msg, int64_t *of)
{
	return get_i64(x, S_MSG_VARIANT, msg, of, "reading a variant link");
}

int
idx_set_origin(struct idx *x, int64_t account_id, const char *uidl,
    size_t uidllen, const char *path, const char *pos, const char *flags)
{
	sqlite3_stmt	*s;

	if ((s = stmt(x, S_ORIGIN_SET)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account_id);
	sqlite3_bind_text(s, 2, uidl, (int)uidllen, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, path, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, pos, -1, SQLITE_STATIC);
	if (flags != NULL)
		sqlite3_bind_text(s, 5, flags, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 5);
	if (step_done(x, s, "recording an origin") == -1)
		return -1;
	return sqlite3_changes(x->db) > 0;
}

int
idx_foreign_add(struct idx *x, int64_t account_id, const char *uidl,
    size_t uidllen, const char *tool, const char *file, int64_t when)
{
	sqlite3_stmt	*s;

	if ((s = stmt(x, S_FOREIGN_ADD)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account_id);
	sqlite3_bind_text(s, 2, uidl, (int)uidllen, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, tool, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, file, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, when);
	if (step_done(x, s, "recording another tool's UIDL") == -1)
		return -1;
	return sqlite3_changes(x->db) > 0;
}

int
idx_foreign_uidls(struct idx *x, int64_t account_id,
    int (*cb)(void *, const char *, size_t, int64_t), void *arg)
{
	sqlite3_stmt	*s;
	int		 r;

	if ((s = stmt(x, S_FOREIGN)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account_id);
	while ((r = sqlite3_step(s)) == SQLITE_ROW)
		if (cb(arg, (const char *)sqlite3_column_text(s, 0),
		    (size_t)sqlite3_column_bytes(s, 0),
		    sqlite3_column_int64(s, 1)) == -1) {
			sqlite3_reset(s);
			return -1;
		}
	sqlite3_reset(s);
	if (r != SQLITE_DONE)
		return idx_fail(x, "listing other tools' UIDLs");
	return 0;
}

int
idx_select(struct idx *x, int64_t account_id, const struct idx_query *q,
    int (*cb)(void *, const struct idx_sel *), void *arg)
{
	struct idx_sel	 e;
	sqlite3_stmt	*s;
	char		*from = NULL, *subj = NULL;
	int		 r;

	if ((s = stmt(x, S_SELECT)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account_id);
	if (q != NULL && q->from != NULL) {
		from = like_pattern(q->from);
		sqlite3_bind_text(s, 2, from, -1, SQLITE_STATIC);
	}
	if (q != NULL && q->subject != NULL) {
		subj = like_pattern(q->subject);
		sqlite3_bind_text(s, 3, subj, -1, SQLITE_STATIC);
	}
	if (q != NULL && q->since != INT64_MIN)
		sqlite3_bind_int64(s, 4, q->since);
	if (q != NULL && q->until != INT64_MIN)
		sqlite3_bind_int64(s, 5, q->until);
	if (q != NULL && q->message_id != NULL)
		sqlite3_bind_text(s, 6, q->message_id, -1, SQLITE_STATIC);
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(s, 1) != HASH_LEN ||
		    sqlite3_column_text(s, 3) == NULL ||
		    sqlite3_column_text(s, 4) == NULL ||
		    sqlite3_column_text(s, 5) == NULL)
			continue;
		e.id = sqlite3_column_int64(s, 0);
		memcpy(e.sha256, sqlite3_column_blob(s, 1), HASH_LEN);
		e.size = (uint64_t)sqlite3_column_int64(s, 2);
		e.format = (const char *)sqlite3_column_text(s, 3);
		e.location = (const char *)sqlite3_column_text(s, 4);
		e.dir = (const char *)sqlite3_column_text(s, 5);
		e.sound = sqlite3_column_int(s, 6) == 1;
		if (cb(arg, &e) == -1)
			break;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	free(from);
	free(subj);
	if (r != SQLITE_DONE && r != SQLITE_ROW)
		return idx_fail(x, "selecting stored messages");
	return r == SQLITE_ROW ? -1 : 0;
}

int
idx_foreign_drop(struct idx *x, int64_t account_id, const char *uidl,
    size_t len)
{
	sqlite3_stmt	*s;

	if ((s = stmt(x, S_FOREIGN_DROP)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account_id);
	if (uidl != NULL)
		sqlite3_bind_text(s, 2, uidl, (int)len, SQLITE_STATIC);
	return step_done(x, s, "dropping other tools' UIDLs");
}
