/*
 * test_idx.c -- unit tests for core/idx.c, the SQLite index.
 *
 * Each test works in its own folder made with mkdtemp(3) under /tmp and
 * removed at the end. The umask is 0 for the whole run, so any file or
 * folder that comes out private was made private by the code under
 * test, not by the environment. Where the API has no reader (pragmas,
 * the schema, the state of a row), the test opens the database itself
 * with SQLite and looks.
 */

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "idx.h"
#include "t.h"


static char	tdir[64];
static char	dbpath[128];

/* ---- helpers --------------------------------------------------------- */

/* A fresh temp folder in tdir and the index path in dbpath. */
static int
setup(void)
{
	if (t_tmpdir(tdir, sizeof tdir, "idx") == -1)
		return -1;
	snprintf(dbpath, sizeof dbpath, "%s/index.db", tdir);
	return 0;
}

static void
teardown(void)
{
	t_rmrf(tdir);
}

static struct idx *
open_idx(void)
{
	char		 err[512] = "";
	struct idx	*x;

	if ((x = idx_open(dbpath, err, sizeof err)) == NULL)
		fprintf(stderr, "idx_open: %s\n", err);
	return x;
}

/* Our own connection to look at what idx.c wrote. */
static sqlite3 *
peek_open(void)
{
	sqlite3	*db = NULL;

	if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		fprintf(stderr, "sqlite3_open_v2: %s\n",
		    db ? sqlite3_errmsg(db) : "?");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 5000);
	return db;
}

/* The first column of the first row of sql as an integer, or -999. */
static int64_t
peek_int(const char *sql)
{
	sqlite3		*db;
	sqlite3_stmt	*s;
	int64_t		 v = -999;

	if ((db = peek_open()) == NULL)
		return v;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW)
			v = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
	} else
		fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
	return v;
}

/* The first column of the first row as text into out; 0 or -1. */
static int
peek_text(const char *sql, char *out, size_t outlen)
{
	sqlite3		*db;
	sqlite3_stmt	*s;
	int		 r = -1;

	out[0] = '\0';
	if ((db = peek_open()) == NULL)
		return -1;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW &&
		    sqlite3_column_text(s, 0) != NULL) {
			snprintf(out, outlen, "%s", sqlite3_column_text(s, 0));
			r = 0;
		}
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	return r;
}

static int
schema_intact(void)
{
	return peek_int("SELECT count(*) FROM sqlite_master WHERE type = "
	    "'table' AND name IN ('accounts', 'messages', 'sightings')") == 3;
}

/* A hash that is all byte b. */
static void
fill(unsigned char h[HASH_LEN], int b)
{
	memset(h, b, HASH_LEN);
}

/* Add a message for acct with hashes filled with w and b. */
static int64_t
add_msg(struct idx *x, int64_t acct, const char *mid, int w, int b,
    const char *loc)
{
	struct idx_msg	m;
	int64_t		id = -1;

	memset(&m, 0, sizeof m);
	m.account_id = acct;
	fill(m.sha256, w);
	fill(m.body_sha256, b);
	m.size = 1234;
	if (mid != NULL) {
		m.message_id = mid;
		m.message_id_len = strlen(mid);
	}
	m.subject = "subj";
	m.subject_len = 4;
	m.format = "maildir";
	m.location = loc;
	m.first_seen = 1700000000;
	if (idx_add_message(x, &m, &id) == -1) {
		fprintf(stderr, "idx_add_message: %s\n", idx_error(x));
		return -1;
	}
	return id;
}

static int64_t
new_account(struct idx *x, const char *name)
{
	int64_t	id = -1;
	char	dir[128];

	if (idx_account(x, name, "h", "995", "u", &id, dir,
	    sizeof dir) == -1) {
		fprintf(stderr, "idx_account: %s\n", idx_error(x));
		return -1;
	}
	return id;
}

/* ---- open ------------------------------------------------------------ */

static void
mode_is(const char *path, mode_t want, int must_exist)
{
	struct stat	st;

	if (stat(path, &st) == -1) {
		T_CHECKF(!must_exist, "%s: %s", path, strerror(errno));
		return;
	}
	T_CHECKF((st.st_mode & 07777) == want, "%s: mode %04o, want %04o",
	    path, (unsigned)(st.st_mode & 07777), (unsigned)want);
}

static void
test_idx_open_mode(void)
{
	struct idx	*x;
	char		 p[160];
	mode_t		 m;

	if (setup() == -1) {
		T_CHECK(0);
		return;
	}
	umask(0);
	x = open_idx();
	T_CHECK(x != NULL);
	/* The umask is restored. */
	m = umask(0);
	T_CHECKF(m == 0, "umask %04o after idx_open", (unsigned)m);
	mode_is(dbpath, 0600, 1);
	/* SQLite gives its side files the mode of the database. */
	snprintf(p, sizeof p, "%s-wal", dbpath);
	mode_is(p, 0600, 1);
	snprintf(p, sizeof p, "%s-shm", dbpath);
	mode_is(p, 0600, 1);
	idx_close(x);
	mode_is(dbpath, 0600, 1);
	teardown();
}

static void
test_idx_open_pragmas(void)
{
	struct idx	*x;
	char		 jm[32];

	if (setup() == -1) {
		T_CHECK(0);
		return;
	}
	x = open_idx();
	T_CHECK(x != NULL);
	T_CHECK(peek_text("PRAGMA journal_mode", jm, sizeof jm) == 0);
	T_CHECKF(strcmp(jm, "wal") == 0, "journal_mode %s", jm);
	T_CHECK(peek_int("PRAGMA user_version") == IDX_SCHEMA_VERSION);
	T_CHECK(schema_intact());
	idx_close(x);
	/* journal_mode=wal is kept in the file itself. */
	T_CHECK(peek_text("PRAGMA journal_mode", jm, sizeof jm) == 0);
	T_CHECKF(strcmp(jm, "wal") == 0, "journal_mode %s after close", jm);
	teardown();
}

static void
test_idx_reopen(void)
{
	struct idx	*x, *y;
	int64_t		 a1 = -1, a2 = -1, m1;
	char		 d1[64], d2[64];

	if (setup() == -1) {
		T_CHECK(0);
		return;
	}
	x = open_idx();
	T_CHECK(x != NULL);
	if (x == NULL)
		goto out;
	T_CHECK(idx_account(x, "acct", "h", "995", "u", &a1, d1,
	    sizeof d1) == 0);
	m1 = add_msg(x, a1, "<m@x>", 1, 2, "new/one");
	T_CHECK(m1 > 0);
	idx_close(x);

	/* Open again, twice, at the same time: nothing migrates twice. */
	x = open_idx();
	y = open_idx();
	T_CHECK(x != NULL && y != NULL);
	if (x == NULL || y == NULL) {
		idx_close(x);
		idx_close(y);
		goto out;
	}
	T_CHECK(peek_int("PRAGMA user_version") == IDX_SCHEMA_VERSION);
	T_CHECK(idx_account_find(x, "acct", &a2, d2, sizeof d2) == 0);
	T_CHECK(a2 == a1 && strcmp(d1, d2) == 0);
	T_CHECK(idx_count_messages(y, a1) == 1);
	T_CHECK(peek_int("SELECT count(*) FROM accounts") == 1);
	idx_close(y);
	idx_close(x);
	T_CHECK(schema_intact());
out:
	teardown();
}

static void
test_idx_open_errors(void)
{
	struct idx	*x;
	char		 err[512], other[160];
	sqlite3		*db;
	int		 fd;

	if (setup() == -1) {
		T_CHECK(0);
		return;
	}
	/* A folder that does not exist. */
	snprintf(other, sizeof other, "%s/nope/index.db", tdir);
	err[0] = '\0';
	T_CHECK((x = idx_open(other, err, sizeof err)) == NULL);
	idx_close(x);
	T_CHECK(err[0] != '\0');

	/* A symlink is not followed. */
	snprintf(other, sizeof other, "%s/real.db", tdir);
	fd = open(other, O_WRONLY | O_CREAT, 0600);
	T_CHECK(fd != -1);
	if (fd != -1)
		close(fd);
	T_CHECK(symlink(other, dbpath) == 0);
	err[0] = '\0';
	T_CHECK((x = idx_open(dbpath, err, sizeof err)) == NULL);
	idx_close(x);
	T_CHECK(err[0] != '\0');
	unlink(dbpath);

	/* A file that is not a database. */
	fd = open(dbpath, O_WRONLY | O_CREAT, 0600);
	T_CHECK(fd != -1);
	if (fd != -1) {
		char	junk[4096];

		memset(junk, 'j', sizeof junk);
		T_CHECK(write(fd, junk, sizeof junk) == (ssize_t)sizeof junk);
		close(fd);
	}
	err[0] = '\0';
	T_CHECK((x = idx_open(dbpath, err, sizeof err)) == NULL);
	idx_close(x);
	T_CHECK(err[0] != '\0');
	unlink(dbpath);

	/* A schema newer than this code is refused, and left alone. */
	x = open_idx();
	T_CHECK(x != NULL);
	idx_close(x);
	db = peek_open();
	T_CHECK(db != NULL && sqlite3_exec(db, "PRAGMA user_version = 99",
	    NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	err[0] = '\0';
	T_CHECK((x = idx_open(dbpath, err, sizeof err)) == NULL);
	idx_close(x);
	T_CHECKF(strstr(err, "newer") != NULL, "err \"%s\"", err);
	T_CHECK(peek_int("PRAGMA user_version") == 99);
	teardown();
}

/* ---- accounts -------------------------------------------------------- */

static int
dir_is_safe(const char *d)
{
	size_t	i;

	if (d[0] == '\0' || d[0] == '.' || strlen(d) > 80)
		return 0;
	for (i = 0; d[i] != '\0'; i++) {
		char	c = d[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '@' || c == '.' ||
		    c == '_' || c == '+' || c == '-'))
			return 0;
	}
	return 1;
}

static void
test_idx_account(void)
{
	static const struct {
		const char	*name;
		const char	*dir;
	} cases[] = {
		{ "alice@example.org", "alice@example.org" },
		{ "bob+tag_1.x-y", "bob+tag_1.x-y" },
		{ "a/b", "a_b" },
		{ "a b", "a_b-2" },
		{ "a_b", "a_b-3" },
		{ "a:b", "a_b-4" },
		{ "..", "_." },
		{ ".", "_" },
		{ "", "_-2" },
		{ ".hidden", "_hidden" },
		{ "../../etc/passwd", "_._.._etc_passwd" },
		{ "/", "_-3" },
		{ "with space", "with_space" },
		{ "tab\there", "tab_here" },
		{ "new\nline", "new_line" },
		{ "\xc3\xa9t\xc3\xa9", "__t__" },
		{ "a_b-2", "a_b-2-2" },
		{ "x'; DROP TABLE accounts;--", "x___DROP_TABLE_accounts_--" },
	};
	struct idx	*x;
	int64_t		 ids[NELEM(cases)], id;
	char		 dirs[NELEM(cases)][128], dir[128], longname[300];
	size_t		 i, j;

	if (setup() == -1) {
		T_CHECK(0);
		return;
	}
	if ((x = open_idx()) == NULL) {
		T_CHECK(0);
		goto out;
	}
	T_CHECK(idx_account_find(x, "alice@example.org", &id, dir,
	    sizeof dir) == 1);
	for (i = 0; i < NELEM(cases); i++) {
		ids[i] = -1;
		dirs[i][0] = '\0';
		T_CHECKF(idx_account(x, cases[i].name, "h", "995", "u",
		    &ids[i], dirs[i], sizeof dirs[i]) == 0, "%s: %s",
		    cases[i].name, idx_error(x));
		T_CHECKF(strcmp(dirs[i], cases[i].dir) == 0,
		    "name \"%s\": dir \"%s\", want \"%s\"", cases[i].name,
		    dirs[i], cases[i].dir);
		T_CHECKF(dir_is_safe(dirs[i]), "unsafe dir \"%s\"", dirs[i]);
		for (j = 0; j < i; j++) {
			T_CHECKF(strcmp(dirs[i], dirs[j]) != 0,
			    "\"%s\" and \"%s\" share \"%s\"", cases[i].name,
			    cases[j].name, dirs[i]);
			T_CHECK(ids[i] != ids[j]);
		}
	}
	/* The second time: same id and folder, no new row. */
	for (i = 0; i < NELEM(cases); i++) {
		id = -1;
		dir[0] = '\0';
		T_CHECK(idx_account(x, cases[i].name, "other", "1", "v", &id,
		    dir, sizeof dir) == 0);
		T_CHECKF(id == ids[i] && strcmp(dir, dirs[i]) == 0,
		    "%s: again: id %lld dir %s", cases[i].name,
		    (long long)id, dir);
		id = -1;
		T_CHECK(idx_account_find(x, cases[i].name, &id, dir,
		    sizeof dir) == 0 && id == ids[i]);
	}
	T_CHECK(peek_int("SELECT count(*) FROM accounts") ==
	    (int64_t)NELEM(cases));
	/* The name is stored verbatim, quotes and all. */
	T_CHECK(peek_int("SELECT count(*) FROM accounts WHERE name = "
	    "'x''; DROP TABLE accounts;--'") == 1);
	T_CHECK(schema_intact());

	/* Long names: the folder is cut, and still unique. */
	memset(longname, 'L', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	T_CHECK(idx_account(x, longname, "h", "1", "u", &id, dirs[0],
	    sizeof dirs[0]) == 0);
	longname[sizeof longname - 2] = 'M';
	T_CHECK(idx_account(x, longname, "h", "1", "u", &id, dirs[1],
	    sizeof dirs[1]) == 0);
	T_CHECK(strlen(dirs[0]) <= 80 && dir_is_safe(dirs[0]) &&
	    dir_is_safe(dirs[1]) && strcmp(dirs[0], dirs[1]) != 0);

	/* A small dir buffer is cut and terminated, not overrun. */
	{
		char	small[4];

		memset(small, 'z', sizeof small);
		T_CHECK(idx_account(x, "alice@example.org", "h", "1", "u",
		    &id, small, sizeof small) == 0);
		T_CHECK(strcmp(small, "ali") == 0);
	}

	/* idx_account_done records the run. */
	T_CHECK(idx_account_done(x, ids[0], "ok", 42, 1700000001) == 0);
	T_CHECK(peek_int("SELECT last_listed FROM accounts WHERE "
	    "name = 'alice@example.org'") == 42);
	T_CHECK(peek_int("SELECT last_run_at FROM accounts WHERE "
	    "name = 'alice@example.org'") == 1700000001);
	T_CHECK(idx_account_done(x, ids[0], "failed", -1, 1700000002) == 0);
	T_CHECK(peek_int("SELECT last_listed IS NULL FROM accounts WHERE "
	    "name = 'alice@example.org'") == 1);
	idx_close(x);
out:
	teardown();
}

/* ---- UIDLs ----------------------------------------------------------- */

struct uidls {
	int	n, stop_at;
	char	v[16][64];
	size_t	len[16];
};

static int
uidl_cb(void *arg, const char *u, size_t len)
{
	struct uidls	*l = arg;

	if (l->n >= 16 || len >= sizeof l->v[0])
		return -1;
	memcpy(l->v[l->n], u, len);
	l->len[l->n++] = len;
	if (l->stop_at > 0 && l->n == l->stop_at)
		return -1;
	return 0;
}

static void
test_idx_uidls(void)
{
	static const char *const ins[] = {
		"b", "a", "ab", "a\x7e", "A", "a!", "B0", "0", "~"
	};
	static const char *const want[] = {
		"0", "A", "B0", "a", "a!", "ab", "a\x7e", "b", "~"
	};
	static const char	 inject[] = "');DROP TABLE messages;--";
	struct idx		*x;
	struct uidls		 l;
	int64_t			 a, b, m;
	size_t			 i;

	if (setup() == -1) {
		T_CHECK(0);
		return;
	}
	if ((x = open_idx()) == NULL) {
		T_CHECK(0);
		goto out;
	}
	a = new_account(x, "a");
	b = new_account(x, "b");
	m = add_msg(x, a, NULL, 1, 1, "new/m");
	T_CHECK(a > 0 && b > 0 && m > 0);
	for (i = 0; i < NELEM(ins); i++)
		T_CHECK(idx_put_sighting(x, a, ins[i], strlen(ins[i]), m, 10,
		    1700000000, 0, 0) == 0);
	/* Another account's UIDLs stay out; uidllen is honoured. */
	T_CHECK(idx_put_sighting(x, b, "other", 5, m, 10, 1, 0, 0) == 0);
	T_CHECK(idx_put_sighting(x, b, "cutXXX", 3, m, 10, 1, 0, 0) == 0);

	memset(&l, 0, sizeof l);
	T_CHECK(idx_known_uidls(x, a, uidl_cb, &l) == 0);
	T_CHECKF(l.n == (int)NELEM(want), "%d UIDLs", l.n);
	for (i = 0; i < NELEM(want) && (int)i < l.n; i++)
		T_CHECKF(l.len[i] == strlen(want[i]) &&
		    memcmp(l.v[i], want[i], l.len[i]) == 0,
		    "UIDL %zu: \"%.*s\", want \"%s\"", i, (int)l.len[i],
		    l.v[i], want[i]);

	memset(&l, 0, sizeof l);
	T_CHECK(idx_known_uidls(x, b, uidl_cb, &l) == 0);
	T_CHECK(l.n == 2);
	T_MEMEQ(l.v[0], l.len[0], "cut", 3);
	T_MEMEQ(l.v[1], l.len[1], "other", 5);

	/* The callback stops the walk with -1, and the walk can restart. */
	memset(&l, 0, sizeof l);
	l.stop_at = 2;
	T_CHECK(idx_known_uidls(x, a, uidl_cb, &l) == -1);
	T_CHECK(l.n == 2);
	memset(&l, 0, sizeof l);
	T_CHECK(idx_known_uidls(x, a, uidl_cb, &l) == 0);
	T_CHECK(l.n == (int)NELEM(want));

	/* An unknown account has none. */
	memset(&l, 0, sizeof l);
	T_CHECK(idx_known_uidls(x, 9999, uidl_cb, &l) == 0 && l.n == 0);

	/* SQL in a UIDL is data. */
	T_CHECK(idx_put_sighting(x, b, inject, strlen(inject), m, 1, 1, 0, 0) == 0);
	T_CHECK(schema_intact());
	memset(&l, 0, sizeof l);
	T_CHECK(idx_known_uidls(x, b, uidl_cb, &l) == 0);
	T_CHECK(l.n == 3);
	T_MEMEQ(l.v[0], l.len[0], inject, strlen(inject));
	T_CHECK(idx_count_messages(x, a) == 1);
	T_CHECK(peek_int("SELECT count(*) FROM sightings WHERE uidl = "
	    "''');DROP TABLE messages;--'") == 1);

	/*
	 * The same (account, UIDL) again points it at the new content (a
	 * changed or reused message), proven; still one row.
	 */
	{
		int64_t	m2 = add_msg(x, a, NULL, 2, 2, "new/m2");

		T_CHECK(m2 > 0);
		T_CHECK(idx_put_sighting(x, a, "b", 1, m2, 99, 2, 0, 0) == 0);
		T_CHECK(peek_int("UPDATE sightings SET proven = 0, state = "
		    "'deleted' WHERE uidl = 'b' RETURNING 0") == 0);
		T_CHECK(idx_put_sighting(x, a, "b", 1, m, 10, 3, 0, 0) == 0);
		T_CHECK(peek_int("SELECT count(*) FROM sightings WHERE "
		    "uidl = 'b'") == 1);
		T_CHECK(peek_int("SELECT msg FROM sightings WHERE "
		    "uidl = 'b'") == m);
		T_CHECK(peek_int("SELECT proven * 10 + (state = 'on_server') "
		    "FROM sightings WHERE uidl = 'b'") == 11);
		/* Re-proved: the first sight stays; reused: it is now. */
		T_CHECK(peek_int("SELECT first_seen FROM sightings WHERE "
		    "uidl = 'b' AND account_id = 1") == 1700000000);
		T_CHECK(idx_put_sighting(x, a, "b", 1, m, 10, 5, 1, 0) == 0);
		T_CHECK(peek_int("SELECT first_seen FROM sightings WHERE "
		    "uidl = 'b' AND account_id = 1") == 5);
		/* but the same UIDL in another account is its own row */
		T_CHECK(idx_put_sighting(x, b, "b", 1, m2, 99, 2, 0, 0) == 0);
		T_CHECK(peek_int("SELECT count(*) FROM sightings WHERE "
		    "uidl = 'b'") == 2);
	}

	/* Foreign keys hold: no sighting of a message that is not there. */
	T_CHECK(idx_put_sighting(x, a, "dangling", 8, 424242, 1, 1, 0, 0) == -1);
	T_CHECK(idx_error(x)[0] != '\0');
	idx_close(x);
out:
	teardown();
}

/* ---- duplicates ------------------------------------------------------ */

static void
test_idx_dedup(void)
{
	struct idx		*x;
	struct idx_dedup	 d;
	unsigned char		 body[HASH_LEN], whole[HASH_LEN];
	int64_t			 a, b, m1, m2, m3, m5;

	if (setup() == -1) {
		T_CHECK(0);
		return;
	}
	if ((x = open_idx()) == NULL) {
		T_CHECK(0);
		goto out;
	}
	a = new_account(x, "a");
	b = new_account(x, "b");
	m1 = add_msg(x, a, "<m1@x>", 0x11, 0xb1, "new/1");
	m2 = add_msg(x, a, NULL, 0x22, 0xb2, "new/2");
	m3 = add_msg(x, b, "<m3@x>", 0x33, 0xb3, "new/3");
	T_CHECK(m1 > 0 && m2 > 0 && m3 > 0);

	/*
	 * Same Message-ID and body, other headers (whole hash): NOT a
	 * duplicate (the data loss of issue 13), but a variant of m1.
	 */
	fill(body, 0xb1);
	fill(whole, 0x99);
	T_CHECK(idx_dedup(x, 0, "<m1@x>", 6, body, whole, &d) == 0);
	T_CHECK(d.dup == 0 && d.variant_of == m1 && d.collision == 0 &&
	    d.damaged == 0);

	/* midlen counts, not the NUL: a longer buffer with junk after. */
	T_CHECK(idx_dedup(x, 0, "<m1@x>junk", 6, body, whole, &d) == 0);
	T_CHECK(d.variant_of == m1);

	/* The same whole hash: a duplicate, with or without an ID. */
	fill(whole, 0x11);
	T_CHECK(idx_dedup(x, 0, "<m1@x>", 6, body, whole, &d) == 1);
	T_CHECK(d.dup == m1 && d.variant_of == 0 && d.collision == 0);
	T_CHECK(idx_dedup(x, 0, NULL, 0, body, whole, &d) == 1);
	T_CHECK(d.dup == m1);
	fill(whole, 0x22);
	T_CHECK(idx_dedup(x, 0, NULL, 0, body, whole, &d) == 1);
	T_CHECK(d.dup == m2);

	/* Same Message-ID, other body: stored, a collision. */
	fill(body, 0xb9);
	fill(whole, 0x98);
	T_CHECK(idx_dedup(x, 0, "<m1@x>", 6, body, whole, &d) == 0);
	T_CHECK(d.dup == 0 && d.variant_of == 0 && d.collision == 1);

	/* A Message-ID nobody has; IDs compared exactly. */
	fill(body, 0xb1);
	T_CHECK(idx_dedup(x, 0, "<new@x>", 7, body, whole, &d) == 0);
	T_CHECK(d.dup == 0 && d.variant_of == 0 && d.collision == 0);
	T_CHECK(idx_dedup(x, 0, "<M1@x>", 6, body, whole, &d) == 0);
	T_CHECK(d.dup == 0 && d.variant_of == 0 && d.collision == 0);

	/* Without a Message-ID and another whole hash: nothing alike. */
	fill(whole, 0x77);
	T_CHECK(idx_dedup(x, 0, NULL, 0, body, whole, &d) == 0);
	T_CHECK(d.dup == 0 && d.variant_of == 0 && d.collision == 0);

	/* Header-only messages (equal empty bodies) never collapse. */
	{
		int64_t	h1 = add_msg(x, a, "<h@x>", 0x55, 0xee, "new/h1");

		fill(body, 0xee);
		fill(whole, 0x56);
		T_CHECK(h1 > 0);
		T_CHECK(idx_dedup(x, 0, "<h@x>", 5, body, whole, &d) == 0);
		T_CHECK(d.dup == 0 && d.variant_of == h1);
		T_CHECK(idx_dedup(x, 0, NULL, 0, body, whole, &d) == 0);
		T_CHECK(d.dup == 0);
	}

	/* Scope: the vault is one store; an account scope sees its own. */
	fill(body, 0xb3);
	fill(whole, 0x33);
	T_CHECK(idx_dedup(x, 0, "<m3@x>", 6, body, whole, &d) == 1);
	T_CHECK(d.dup == m3);
	T_CHECK(idx_dedup(x, a, "<m3@x>", 6, body, whole, &d) == 0);
	T_CHECK(d.dup == 0 && d.variant_of == 0 && d.collision == 0);
	T_CHECK(idx_dedup(x, b, "<m3@x>", 6, body, whole, &d) == 1);

	/*
	 * A damaged copy absorbs nothing: the content is stored again (a
	 * repair), and what pointed at the damaged copy is unproven.
	 */
	T_CHECK(idx_put_sighting(x, a, "u2", 2, m2, 9, 1, 0, 0) == 0);
	T_CHECK(idx_put_sighting(x, b, "v2", 2, m2, 9, 1, 0, 0) == 0);
	T_CHECK(idx_mark_damaged(x, m2, "verify: altered") == 0);
	T_CHECK(peek_int("SELECT count(*) FROM sightings WHERE msg = "
	    "(SELECT id FROM messages WHERE location = 'new/2') AND "
	    "proven = 0") == 2);
	T_CHECK(idx_bad_count(x, a) == 1);
	fill(whole, 0x22);
	T_CHECK(idx_dedup(x, 0, NULL, 0, body, whole, &d) == 0);
	T_CHECK(d.dup == 0 && d.damaged == 1);
	/* The sound copy stored and verified replaces it (kept, linked). */
	m5 = add_msg(x, a, NULL, 0x22, 0xb2, "new/5");
	T_CHECK(m5 > 0);
	T_CHECK(idx_dedup(x, 0, NULL, 0, body, whole, &d) == 1);
	T_CHECK(d.dup == m5 && d.damaged == 0);
	T_CHECK(idx_set_replaced(x, m5, whole) == 1);
	T_CHECK(idx_set_replaced(x, m5, whole) == 0);	/* once */
	T_CHECK(peek_int("SELECT replaced_by FROM messages WHERE "
	    "location = 'new/2'") == m5);
	T_CHECK(peek_int("SELECT count(*) FROM messages WHERE "
	    "location = 'new/2'") == 1);	/* never dropped */
	/* Replaced: it no longer blocks the account (its sightings,
	 * unproven, still do, one by one, until fetched again). */
	T_CHECK(idx_bad_count(x, a) == 0);
	T_CHECK(peek_int("SELECT count(*) FROM sightings WHERE proven = 0") ==
	    2);
	T_CHECK(idx_put_sighting(x, a, "u2", 2, m5, 9, 1, 0, 0) == 0);
	T_CHECK(idx_put_sighting(x, b, "v2", 2, m5, 9, 1, 0, 0) == 0);
	T_CHECK(idx_bad_count(x, a) == 0 && idx_bad_count(x, b) == 0);
	idx_close(x);
out:
	teardown();
}

/*
 * An index made before lossless dedup (schema 3): the sightings that may
 * point at other bytes than their own become unproven on open.
 */
static void
test_idx_migrate_unproven(void)
{
	struct idx	*x;
	sqlite3		*db;
	int64_t		 a, b, mnoid, mown, mshared, mlone;

	if (setup() == -1) {
		T_CHECK(0);
		return;
	}
	if ((x = open_idx()) == NULL) {
		T_CHECK(0);
		goto out;
	}
	a = new_account(x, "a");
	b = new_account(x, "b");
	mnoid = add_msg(x, a, NULL, 1, 1, "new/noid");
	mown = add_msg(x, a, "<own@x>", 2, 2, "new/own");
	mshared = add_msg(x, a, "<shared@x>", 3, 3, "new/shared");
	mlone = add_msg(x, a, "<lone@x>", 4, 4, "new/lone");
	/* no ID: whole-hash dedup, proven in both accounts */
	T_CHECK(idx_put_sighting(x, a, "n1", 2, mnoid, 1, 1700000000, 0, 0) ==
	    0);
	T_CHECK(idx_put_sighting(x, b, "n2", 2, mnoid, 1, 1700000050, 0, 0) ==
	    0);
	/* the sighting that created its message, alone: proven */
	T_CHECK(idx_put_sighting(x, a, "o1", 2, mown, 1, 1700000000, 0, 0) ==
	    0);
	/* a Message-ID + body "duplicate" in b: unproven, and a's too */
	T_CHECK(idx_put_sighting(x, a, "s1", 2, mshared, 1, 1700000000, 0, 0) ==
	    0);
	T_CHECK(idx_put_sighting(x, b, "s2", 2, mshared, 1, 1700000099, 0, 0) ==
	    0);
	/* alone but from another account, or another second: unproven */
	T_CHECK(idx_put_sighting(x, b, "l1", 2, mlone, 1, 1700000000, 0, 0) ==
	    0);
	idx_close(x);
	/* Back to schema 3 as an older popvault left it. */
	db = peek_open();
	T_CHECK(db != NULL);
	if (db != NULL) {
		T_CHECK(sqlite3_exec(db, "ALTER TABLE sightings DROP COLUMN "
		    "proven; ALTER TABLE messages DROP COLUMN variant_of; "
		    "ALTER TABLE messages DROP COLUMN replaced_by; "
		    "ALTER TABLE sightings DROP COLUMN odd_size; "
		    "ALTER TABLE messages DROP COLUMN head_sha256; "
		    "DROP TABLE origins; DROP TABLE foreign_uidls; "
		    "DROP TABLE deliveries; DROP TABLE destinations; "
		    "ALTER TABLE accounts DROP COLUMN next_login_at; "
		    "PRAGMA user_version = 3", NULL, NULL, NULL) == SQLITE_OK);
		sqlite3_close(db);
	}
	T_CHECK(peek_int("PRAGMA user_version") == 3);
	if ((x = open_idx()) == NULL) {
		T_CHECK(0);
		goto out;
	}
	T_CHECK(peek_int("PRAGMA user_version") == IDX_SCHEMA_VERSION);
	T_CHECK(peek_int("SELECT group_concat(uidl, ' ') FROM (SELECT uidl "
	    "FROM sightings WHERE proven = 0 ORDER BY uidl)") == 0);
	{
		char	got[128];

		T_CHECK(peek_text("SELECT group_concat(uidl, ' ') FROM "
		    "(SELECT uidl FROM sightings WHERE proven = 0 ORDER BY "
		    "uidl)", got, sizeof got) == 0);
		T_CHECKF(strcmp(got, "l1 s1 s2") == 0, "unproven: %s", got);
	}
	idx_close(x);
out:
	teardown();
}

/* ---- pending, archived, dropped -------------------------------------- */

struct pend {
	int		n, stop_at;
	int64_t		id[16];
	char		loc[16][64];
	unsigned char	sha[16][HASH_LEN];
};

static int
pend_cb(void *arg, int64_t id, const char *loc,
    const unsigned char sha[HASH_LEN])
{
	struct pend	*p = arg;

	if (p->n >= 16)
		return -1;
	p->id[p->n] = id;
	snprintf(p->loc[p->n], sizeof p->loc[0], "%s", loc);
	memcpy(p->sha[p->n], sha, HASH_LEN);
	p->n++;
	return p->stop_at > 0 && p->n == p->stop_at ? -1 : 0;
}

static void
test_idx_pending(void)
{
	struct idx	*x;
	struct pend	 p;
	unsigned char	 h[HASH_LEN];
	struct uidls	 l;
	int64_t		 a, b, m1, m2, m3, m4;

	if (setup() == -1) {
		T_CHECK(0);
		return;
	}
	if ((x = open_idx()) == NULL) {
		T_CHECK(0);
		goto out;
	}
	a = new_account(x, "a");
	b = new_account(x, "b");
	m1 = add_msg(x, a, "<1@x>", 0x01, 0xb1, "new/one");
	m2 = add_msg(x, a, NULL, 0x02, 0xb2, "new/two'quote");
	m3 = add_msg(x, a, "<3@x>", 0x03, 0xb3, "new/three");
	m4 = add_msg(x, b, NULL, 0x04, 0xb4, "new/four");
	T_CHECK(m1 > 0 && m2 > m1 && m3 > m2 && m4 > m3);
	T_CHECK(idx_put_sighting(x, a, "u1", 2, m1, 1, 1, 0, 0) == 0);
	T_CHECK(idx_put_sighting(x, a, "u2", 2, m2, 1, 1, 0, 0) == 0);
	T_CHECK(idx_put_sighting(x, a, "u3", 2, m3, 1, 1, 0, 0) == 0);
	T_CHECK(idx_put_sighting(x, a, "u3b", 3, m3, 1, 1, 0, 0) == 0);
	T_CHECK(idx_put_sighting(x, b, "u4", 2, m4, 1, 1, 0, 0) == 0);
	T_CHECK(idx_put_sighting(x, b, "u3", 2, m3, 1, 1, 0, 0) == 0);
	T_CHECK(idx_count_messages(x, a) == 3);
	T_CHECK(idx_count_messages(x, b) == 1);
	T_CHECK(peek_int("SELECT count(*) FROM messages WHERE "
	    "state = 'pending'") == 4);

	memset(&p, 0, sizeof p);
	T_CHECK(idx_pending(x, a, pend_cb, &p) == 0);
	T_CHECK(p.n == 3);
	T_CHECK(p.id[0] == m1 && p.id[1] == m2 && p.id[2] == m3);
	T_CHECK(strcmp(p.loc[0], "new/one") == 0 &&
	    strcmp(p.loc[1], "new/two'quote") == 0 &&
	    strcmp(p.loc[2], "new/three") == 0);
	fill(h, 0x02);	/* the whole-message hash, not the body's */
	T_CHECK(memcmp(p.sha[1], h, HASH_LEN) == 0);

	/* The callback stops the walk. */
	memset(&p, 0, sizeof p);
	p.stop_at = 1;
	T_CHECK(idx_pending(x, a, pend_cb, &p) == -1 && p.n == 1);

	/* Archived rows leave the pending list; twice is harmless. */
	T_CHECK(idx_set_archived(x, m2, 1700000100) == 0);
	T_CHECK(idx_set_archived(x, m2, 1700000200) == 0);
	T_CHECK(peek_int("SELECT archived_at FROM messages WHERE "
	    "state = 'archived'") == 1700000100);
	memset(&p, 0, sizeof p);
	T_CHECK(idx_pending(x, a, pend_cb, &p) == 0);
	T_CHECK(p.n == 2 && p.id[0] == m1 && p.id[1] == m3);

	/* Dropping a pending message takes its sightings, all accounts. */
	T_CHECK(idx_drop_message(x, m3) == 0);
	T_CHECK(idx_count_messages(x, a) == 2);
	{
		char	sql[128];

		snprintf(sql, sizeof sql, "SELECT count(*) FROM sightings "
		    "WHERE msg = %lld", (long long)m3);
		T_CHECK(peek_int(sql) == 0);
		snprintf(sql, sizeof sql, "SELECT count(*) FROM messages "
		    "WHERE id = %lld", (long long)m3);
		T_CHECK(peek_int(sql) == 0);
	}
	memset(&l, 0, sizeof l);
	T_CHECK(idx_known_uidls(x, a, uidl_cb, &l) == 0);
	T_CHECK(l.n == 2);
	T_MEMEQ(l.v[0], l.len[0], "u1", 2);
	T_MEMEQ(l.v[1], l.len[1], "u2", 2);
	memset(&l, 0, sizeof l);
	T_CHECK(idx_known_uidls(x, b, uidl_cb, &l) == 0);
	T_CHECK(l.n == 1);
	T_MEMEQ(l.v[0], l.len[0], "u4", 2);
	memset(&p, 0, sizeof p);
	T_CHECK(idx_pending(x, a, pend_cb, &p) == 0);
	T_CHECK(p.n == 1 && p.id[0] == m1);

	/*
	 * An archived message is not dropped, and neither are its
	 * sightings: the UIDL must stay known, or the next run would fetch
	 * it again and the delete protocol would lose its state.
	 */
	T_CHECK(idx_drop_message(x, m2) == 0);
	T_CHECK(idx_count_messages(x, a) == 2);
	memset(&l, 0, sizeof l);
	T_CHECK(idx_known_uidls(x, a, uidl_cb, &l) == 0);
	T_CHECKF(l.n == 2, "%d UIDLs left after dropping an archived "
	    "message", l.n);

	/* Dropping what is not there is not an error. */
	T_CHECK(idx_drop_message(x, 424242) == 0);

	/* The other account is untouched. */
	memset(&p, 0, sizeof p);
	T_CHECK(idx_pending(x, b, pend_cb, &p) == 0);
	T_CHECK(p.n == 1 && p.id[0] == m4 &&
	    strcmp(p.loc[0], "new/four") == 0);
	idx_close(x);
out:
	teardown();
}

/* ---- transactions and hostile data ----------------------------------- */

static void
test_idx_transactions(void)
{
	struct idx	*x;
	struct idx_msg	 m;
	int64_t		 a, id;
	static const char evil[] = "x'); DROP TABLE messages; --";

	if (setup() == -1) {
		T_CHECK(0);
		return;
	}
	if ((x = open_idx()) == NULL) {
		T_CHECK(0);
		goto out;
	}
	a = new_account(x, "a");

	/* A rolled-back batch leaves nothing. */
	T_CHECK(idx_begin(x) == 0);
	T_CHECK(add_msg(x, a, NULL, 1, 1, "new/r") > 0);
	T_CHECK(idx_count_messages(x, a) == 1);
	idx_rollback(x);
	T_CHECK(idx_count_messages(x, a) == 0);
	idx_rollback(x);	/* outside a transaction: a no-op */

	/* A committed one is there for another connection at once. */
	T_CHECK(idx_begin(x) == 0);
	T_CHECK(add_msg(x, a, NULL, 2, 2, "new/c") > 0);
	T_CHECK(idx_commit(x) == 0);
	T_CHECK(peek_int("SELECT count(*) FROM messages") == 1);
	/* COMMIT without BEGIN is an error, with a message. */
	T_CHECK(idx_commit(x) == -1);
	T_CHECK(idx_error(x)[0] != '\0');
	/* and the handle still works afterwards */
	T_CHECK(idx_count_messages(x, a) == 1);

	/* Header values are data: quotes and NULs go in verbatim. */
	memset(&m, 0, sizeof m);
	m.account_id = a;
	fill(m.sha256, 9);
	fill(m.body_sha256, 9);
	m.message_id = evil;
	m.message_id_len = sizeof evil - 1;
	m.subject = "a\0b";
	m.subject_len = 3;
	m.from = evil;
	m.from_len = 1;		/* only "x" */
	m.format = "maildir";
	m.location = evil;
	m.first_seen = 1;
	T_CHECK(idx_add_message(x, &m, &id) == 0);
	T_CHECK(schema_intact());
	T_CHECK(idx_count_messages(x, a) == 2);
	T_CHECK(peek_int("SELECT length(CAST(subject AS BLOB)) FROM messages "
	    "WHERE id = (SELECT max(id) FROM messages)") == 3);
	T_CHECK(peek_int("SELECT from_addr = 'x' FROM messages "
	    "WHERE id = (SELECT max(id) FROM messages)") == 1);
	T_CHECK(peek_int("SELECT count(*) FROM messages WHERE message_id = "
	    "'x''); DROP TABLE messages; --'") == 1);
	{
		unsigned char		body[HASH_LEN];
		struct idx_dedup	d;

		fill(body, 9);
		T_CHECK(idx_dedup(x, 0, evil, sizeof evil - 1, body, body,
		    &d) == 1 && d.dup == id);
	}

	/* A message for an account that does not exist is refused. */
	m.account_id = 9999;
	T_CHECK(idx_add_message(x, &m, &id) == -1);
	T_CHECK(strstr(idx_error(x), "index") != NULL);
	T_CHECK(idx_count_messages(x, 9999) == 0);
	idx_close(x);
out:
	teardown();
}

/*
 * Issue 15: a sighting proven by a download far from its LIST size is
 * marked odd_size, and a later sound download clears the mark; the
 * account keeps when LOGIN-DELAY allows its next login, and 0 clears it.
 */
static int
odd_cb(void *arg, const struct idx_sighting *g)
{
	int	*odd = arg;

	if (g->uidl_len == 1 && g->uidl[0] == 'o')
		*odd = g->odd_size;
	return 0;
}

static void
test_idx_odd_and_login_delay(void)
{
	struct idx	*x;
	int64_t		 a, m, when = -1;
	int		 odd = -1;

	if (setup() == -1 || (x = open_idx()) == NULL) {
		T_CHECK(0);
		return;
	}
	a = new_account(x, "acct");
	m = add_msg(x, a, NULL, 1, 1, "new/1");
	T_CHECK(a > 0 && m > 0);
	T_CHECK(idx_put_sighting(x, a, "o", 1, m, 30, 1, 0, 1) == 0);
	T_CHECK(idx_sightings(x, a, 1, odd_cb, &odd) == 0 && odd == 1);
	T_CHECK(idx_sightings(x, a, 0, odd_cb, &odd) == 0 && odd == 1);
	T_CHECK(peek_int("SELECT odd_size FROM sightings WHERE uidl = 'o'") ==
	    1);
	T_CHECK(idx_put_sighting(x, a, "o", 1, m, 30, 2, 0, 0) == 0);
	T_CHECK(idx_sightings(x, a, 1, odd_cb, &odd) == 0 && odd == 0);

	T_CHECK(idx_next_login(x, a, &when) == 0 && when == 0);
	T_CHECK(idx_set_next_login(x, a, 1700000900) == 0);
	T_CHECK(idx_next_login(x, a, &when) == 0 && when == 1700000900);
	T_CHECK(peek_int("SELECT next_login_at FROM accounts WHERE name = "
	    "'acct'") == 1700000900);
	T_CHECK(idx_set_next_login(x, a, 0) == 0);
	T_CHECK(idx_next_login(x, a, &when) == 0 && when == 0);
	T_CHECK(peek_int("SELECT next_login_at IS NULL FROM accounts") == 1);
	idx_close(x);
	teardown();
}

int
main(void)
{
	umask(0);
	T_RUN(test_idx_open_mode);
	T_RUN(test_idx_open_pragmas);
	T_RUN(test_idx_reopen);
	T_RUN(test_idx_open_errors);
	T_RUN(test_idx_account);
	T_RUN(test_idx_uidls);
	T_RUN(test_idx_dedup);
	T_RUN(test_idx_migrate_unproven);
	T_RUN(test_idx_pending);
	T_RUN(test_idx_transactions);
	T_RUN(test_idx_odd_and_login_delay);
	return T_END();
}
