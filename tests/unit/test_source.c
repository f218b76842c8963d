/*
 * test_source.c -- the run driven through the message-source interface
 * (core/source.h) by a source that lives in memory: no server, no
 * network. Each case runs the real pipeline (run_source(): the index,
 * the claims, batches, the Maildir commit, the read-back, the delete
 * protocol) into a fresh vault under a mkdtemp(3) folder, then reads the
 * archive's files itself (ACCOUNT/maildir/new/) and compares them with
 * the messages the source holds.
 *
 * The mailbox: eight messages, two pairs with the same bytes (stored
 * once each), two that differ in one header only (both stored: the
 * second is a variant of the first), and one large enough to arrive in
 * many pieces. The cases: everything archived and counted, and nothing
 * new on a second run; the source failing in the middle of a message
 * (what was complete is kept, the rest comes on the next run); a
 * message the source refuses (the others are kept, exit 1); deletion
 * through the source; a delete policy with a source that cannot delete
 * (exit 64, nothing written). And the vault itself as a source
 * (source_vault.c): a vault's account exported into another vault.
 *
 * And "popvault index rebuild" (core/rebuild.c) of an mbox vault that
 * such a source filled with what POP3 cannot deliver: a message without
 * a final newline, and a forged Content-Length whose target falls on a
 * separator (the writer pads there): after the index is deleted, the
 * rebuilt one has the same accounts, volumes (lengths and traps), and
 * messages at the same locations, variants linked; the message without
 * final newline comes back as the one with a newline (its location
 * flag "n" cannot be told from the bytes: docs/decisions.md,
 * "Rebuilding the index"). The next run stores nothing but that one.
 */
#define _XOPEN_SOURCE	700	/* nftw(3) */

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "format.h"
#include "idx.h"
#include "rebuild.h"
#include "run.h"
#include "source.h"
#include "util.h"
#include "t.h"

#define NMSG		8
#define MAXMSG		16	/* in any mailbox of a case */
#define NO_FAIL		((size_t)-1)

/* ---- the mailbox ------------------------------------------------------ */

static const char msg_a[] =
    "Return-Path: <alice@example.org>\n"
    "Message-ID: <a@example.org>\n"
    "From: Alice <alice@example.org>\n"
    "Subject: one\n"
    "Date: Mon, 1 Jan 2024 10:00:00 +0000\n"
    "\n"
    "First message.\n";

/* b and b2: the same Message-ID and body, one header apart. */
static const char msg_b[] =
    "Message-ID: <b@example.org>\n"
    "From: Bob <bob@example.org>\n"
    "Delivered-To: first@example.org\n"
    "Subject: two\n"
    "\n"
    "The same body.\n";
static const char msg_b2[] =
    "Message-ID: <b@example.org>\n"
    "From: Bob <bob@example.org>\n"
    "Delivered-To: second@example.org\n"
    "Subject: two\n"
    "\n"
    "The same body.\n";

static const char msg_c[] =
    "Message-ID: <c@example.org>\n"
    "Subject: from lines\n"
    "\n"
    "From the start of a line\n"
    ">From quoted already\n"
    ".a leading dot\n";

static const char msg_d[] =
    "Message-ID: <d@example.org>\n"
    "Subject: four\n"
    "\n"
    "Fourth.\n";

static char msg_e[200 * 1024];	/* filled by make_big() */

struct mem_msg {
	const char	*uid;
	const char	*text;
	int		 refuse;	/* failed() instead of the bytes */
};

static struct mem_msg mailbox[NMSG] = {
	{ "u1", msg_a, 0 },
	{ "u2", msg_a, 0 },	/* the same bytes as u1 */
	{ "u3", msg_b, 0 },
	{ "u4", msg_b2, 0 },	/* a variant of u3 */
	{ "u5", msg_c, 0 },
	{ "u6", msg_d, 0 },
	{ "u7", msg_d, 0 },	/* the same bytes as u6 */
	{ "u8", msg_e, 0 },
};

/* The distinct contents: what the archive must hold, once each. */
static const char *const distinct[] = {
	msg_a, msg_b, msg_b2, msg_c, msg_d, msg_e
};
#define NDISTINCT	(sizeof distinct / sizeof distinct[0])

static void
make_big(void)
{
	size_t	n = 0, line = 0;

	n += (size_t)snprintf(msg_e, sizeof msg_e,
	    "Message-ID: <e@example.org>\nSubject: big\n\n");
	while (n + 80 < sizeof msg_e)
		n += (size_t)snprintf(msg_e + n, sizeof msg_e - n,
		    "line %06zu of a large message, in many pieces\n",
		    line++);
}

/* ---- the source -------------------------------------------------------- */

struct mem_source {
	struct source	 src;
	struct mem_msg	*m;
	size_t		 n;
	size_t		 fail_in;	/* this message dies halfway */
	int		 connected;
	int		 committed;
	unsigned char	 marked[MAXMSG];
	unsigned char	 gone[MAXMSG];	/* removed by a commit */
};

static int
mem_connect(struct source *s)
{
	((struct mem_source *)s)->connected = 1;
	return 0;
}

static int
mem_list(struct source *s, struct pop3_listing *l)
{
	struct mem_source	*ms = (struct mem_source *)s;
	size_t			 i;

	memset(l, 0, sizeof *l);
	for (i = 0; i < ms->n; i++) {
		if (ms->gone[i])
			continue;
		/* Numbered from 1 by place in the mailbox, as POP3. */
		if (source_listing_add(l, (uint32_t)i + 1, ms->m[i].uid,
		    strlen(ms->m[i].uid), strlen(ms->m[i].text)) == -1)
			return source_fail(s, FAIL_ACCOUNT, FAIL_R_PROTO,
			    "bad listing");
	}
	return 0;
}

/* Each message in pieces of 7 bytes: any split must do. */
static int
mem_retrieve(struct source *s, const struct pop3_listing *l,
    const size_t *which, size_t n, const struct source_sink *sink)
{
	struct mem_source	*ms = (struct mem_source *)s;
	const struct mem_msg	*m;
	size_t			 k, i, off, len, piece;

	for (k = 0; k < n; k++) {
		i = which[k];
		m = &ms->m[l->e[i].num - 1];
		if (m->refuse) {
			if (sink->failed(sink->arg, i, "refused") == -1)
				return source_fail(s, FAIL_RUN, FAIL_R_IO,
				    "message %zu", i);
			continue;
		}
		if (sink->begin(sink->arg, i) == -1)
			return source_fail(s, FAIL_RUN, FAIL_R_IO,
			    "message %zu", i);
		len = strlen(m->text);
		for (off = 0; off < len; off += piece) {
			piece = len - off < 7 ? len - off : 7;
			if (l->e[i].num - 1 == ms->fail_in && off >= len / 2)
				return source_fail(s, FAIL_ACCOUNT,
				    FAIL_R_NET, "connection lost");
			if (sink->data(sink->arg, m->text + off, piece) == -1)
				return source_fail(s, FAIL_RUN, FAIL_R_IO,
				    "message %zu", i);
		}
		if (sink->end(sink->arg, i) == -1)
			return source_fail(s, FAIL_RUN, FAIL_R_IO,
			    "message %zu", i);
	}
	return 0;
}

static size_t
mem_pending(struct source *s)
{
	return 1;	/* all in memory: never waits */
}

static int
mem_mark_delete(struct source *s, const struct pop3_listing *l, size_t i)
{
	((struct mem_source *)s)->marked[l->e[i].num - 1] = 1;
	return 0;
}

static int
mem_commit(struct source *s)
{
	struct mem_source	*ms = (struct mem_source *)s;
	size_t			 i;

	for (i = 0; i < ms->n; i++)
		if (ms->marked[i])
			ms->gone[i] = 1;
	memset(ms->marked, 0, sizeof ms->marked);
	ms->committed++;
	return 0;
}

static void
mem_close(struct source *s)
{
}

static const struct source_ops mem_ops = {
	.name = "memory",
	.connect = mem_connect,
	.login = NULL,
	.list = mem_list,
	.retrieve = mem_retrieve,
	.pending = mem_pending,
	.mark_delete = mem_mark_delete,
	.commit = mem_commit,
	.close = mem_close,
};

/* The same source, unable to delete. */
static const struct source_ops mem_ops_keep = {
	.name = "memory",
	.connect = mem_connect,
	.list = mem_list,
	.retrieve = mem_retrieve,
	.pending = mem_pending,
	.mark_delete = NULL,
	.commit = mem_commit,
	.close = mem_close,
};

static void
mem_init(struct mem_source *ms, const struct source_ops *ops)
{
	memset(ms, 0, sizeof *ms);
	ms->src.ops = ops;
	ms->m = mailbox;
	ms->n = NMSG;
	ms->fail_in = NO_FAIL;
}

/* ---- the vault --------------------------------------------------------- */

static char	tdir[64];
static char	vault[128];

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path) == -1 ? -1 : 0;
}

static int
setup(void)
{
	snprintf(tdir, sizeof tdir, "/tmp/popvault-src.XXXXXX");
	if (mkdtemp(tdir) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	snprintf(vault, sizeof vault, "%s/vault", tdir);
	return 0;
}

static void
teardown(void)
{
	nftw(tdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
opts_init(struct run_opts *o)
{
	memset(o, 0, sizeof *o);
	o->mode = RUN_FETCH;
	o->del = DEL_NEVER;
	o->vault = vault;
	o->account = "mem";
	o->format = fmt_find("maildir");
	o->compress = FMT_COMP_NONE;
	o->pop3.host = "memory";
	o->pop3.port = "0";
	o->pop3.max_msg_size = 1 << 20;
	o->user = "tester";
	o->dedup = RUN_DEDUP_VAULT;
	o->identity = RUN_ID_SAME;
	o->batch_msgs = 3;	/* several batches, read back on a thread */
}

/*
 * Read every file of WHERE/maildir/SUB: their number, and in found[k]
 * how many hold exactly distinct[k]; *other counts files that hold
 * anything else. -1 if the folder cannot be read.
 */
static int
scan_dir(const char *where, const char *sub, unsigned found[NDISTINCT],
    unsigned *other)
{
	char		 path[4400], *buf;
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	size_t		 k;
	ssize_t		 r;
	int		 fd, n = 0, hit;

	memset(found, 0, NDISTINCT * sizeof found[0]);
	*other = 0;
	snprintf(path, sizeof path, "%s/maildir/%s", where, sub);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		n++;
		snprintf(path, sizeof path, "%s/maildir/%s/%s", where, sub,
		    de->d_name);
		if ((fd = open(path, O_RDONLY)) == -1 ||
		    fstat(fd, &sb) == -1) {
			(*other)++;
			if (fd != -1)
				close(fd);
			continue;
		}
		buf = xmalloc((size_t)sb.st_size + 1);
		r = read(fd, buf, (size_t)sb.st_size + 1);
		close(fd);
		hit = 0;
		for (k = 0; k < NDISTINCT && r == sb.st_size; k++)
			if ((size_t)r == strlen(distinct[k]) &&
			    memcmp(buf, distinct[k], (size_t)r) == 0) {
				found[k]++;
				hit = 1;
			}
		if (!hit)
			(*other)++;
		free(buf);
	}
	closedir(d);
	return n;
}

/* Every distinct content exactly once in new/, nothing else. */
static void
check_archive(const char *where, size_t want)
{
	unsigned	found[NDISTINCT], other;
	size_t		k, once = 0;
	int		n;

	n = scan_dir(where, "new", found, &other);
	T_CHECKF(n == (int)want, "%d files in new/, want %zu", n, want);
	T_CHECKF(other == 0, "%u files in new/ hold something else", other);
	for (k = 0; k < NDISTINCT; k++) {
		T_CHECKF(found[k] <= 1, "message %zu stored %u times", k,
		    found[k]);
		once += found[k] == 1;
	}
	T_CHECKF(once == want, "%zu of %zu contents stored", once, want);
	n = scan_dir(where, "tmp", found, &other);
	T_CHECKF(n == 0, "%d files left in tmp/", n);
}

/* ---- the cases --------------------------------------------------------- */

/* Everything archived once, counted; a second run finds nothing new. */
static void
test_source_archive(void)
{
	struct mem_source	ms;
	struct run_opts		o;
	struct run_stats	st;
	unsigned		found[NDISTINCT], other;
	int			code;

	if (setup() == -1) {
		T_CHECK(0);
		return;
	}
	opts_init(&o);
	mem_init(&ms, &mem_ops);
	code = run_source(&o, &ms.src, &st);
	T_CHECKF(code == EXIT_OK, "exit %d: %s", code, st.err);
	T_CHECK(ms.connected);
	T_CHECK(ms.committed == 1);
	T_CHECKF(st.listed == NMSG, "listed %llu",
	    (unsigned long long)st.listed);
	T_CHECKF(st.fresh == NMSG, "fresh %llu", (unsigned long long)st.fresh);
	T_CHECKF(st.archived == NDISTINCT, "archived %llu",
	    (unsigned long long)st.archived);
	T_CHECKF(st.dups == 2, "dups %llu", (unsigned long long)st.dups);
	T_CHECKF(st.variants == 1, "variants %llu",
	    (unsigned long long)st.variants);
	T_CHECKF(st.verified == NDISTINCT, "verified %llu",
	    (unsigned long long)st.verified);
	T_CHECK(st.verify_failed == 0 && st.failed == 0 && st.deleted == 0);
	check_archive(st.where, NDISTINCT);

	/* The UIDLs are known now: nothing is fetched again. */
	mem_init(&ms, &mem_ops);
	code = run_source(&o, &ms.src, &st);
	T_CHECKF(code == EXIT_OK, "second run: exit %d: %s", code, st.err);
	T_CHECKF(st.known == NMSG && st.archived == 0 && st.todo == 0,
	    "second run: known %llu archived %llu",
	    (unsigned long long)st.known, (unsigned long long)st.archived);
	T_CHECK(scan_dir(st.where, "new", found, &other) == (int)NDISTINCT);
	teardown();
}

/*
 * The source dies halfway through u6: u1 to u5 are kept (u4 and u5 in
 * the open batch are committed and verified after the failure), nothing
 * of u6 is; exit 69. The next run fetches u6 to u8 only.
 */
static void
test_source_fails_midway(void)
{
	struct mem_source	ms;
	struct run_opts		o;
	struct run_stats	st;
	int			code;

	if (setup() == -1) {
		T_CHECK(0);
		return;
	}
	opts_init(&o);
	mem_init(&ms, &mem_ops);
	ms.fail_in = 5;		/* u6 */
	code = run_source(&o, &ms.src, &st);
	T_CHECKF(code == EXIT_UNAVAIL, "exit %d, want %d", code,
	    EXIT_UNAVAIL);
	T_CHECKF(strstr(st.err, "connection lost") != NULL, "err \"%s\"",
	    st.err);
	T_CHECK(ms.committed == 0);
	/* a, b, b2, c: u2 was a duplicate of u1. */
	T_CHECKF(st.archived == 4 && st.verified == 4 && st.dups == 1,
	    "archived %llu verified %llu dups %llu",
	    (unsigned long long)st.archived, (unsigned long long)st.verified,
	    (unsigned long long)st.dups);
	check_archive(st.where, 4);

	mem_init(&ms, &mem_ops);
	code = run_source(&o, &ms.src, &st);
	T_CHECKF(code == EXIT_OK, "second run: exit %d: %s", code, st.err);
	T_CHECKF(st.known == 5 && st.todo == 3, "known %llu todo %llu",
	    (unsigned long long)st.known, (unsigned long long)st.todo);
	T_CHECKF(st.archived == 2 && st.dups == 1, "archived %llu dups %llu",
	    (unsigned long long)st.archived, (unsigned long long)st.dups);
	check_archive(st.where, NDISTINCT);
	teardown();
}

/* A refused message is a failure of that message only: exit 1. */
static void
test_source_refuses_one(void)
{
	struct mem_msg		box[NMSG];
	struct mem_source	ms;
	struct run_opts		o;
	struct run_stats	st;
	int			code;

	if (setup() == -1) {
		T_CHECK(0);
		return;
	}
	opts_init(&o);
	memcpy(box, mailbox, sizeof box);
	box[7].refuse = 1;	/* u8, the large one */
	mem_init(&ms, &mem_ops);
	ms.m = box;
	code = run_source(&o, &ms.src, &st);
	T_CHECKF(code == EXIT_PARTIAL, "exit %d, want %d", code,
	    EXIT_PARTIAL);
	T_CHECKF(st.failed == 1 && st.archived == NDISTINCT - 1,
	    "failed %llu archived %llu", (unsigned long long)st.failed,
	    (unsigned long long)st.archived);
	T_CHECK(ms.committed == 1);
	check_archive(st.where, NDISTINCT - 1);
	teardown();
}

/* Fetch and delete in one run: every message marked, then committed. */
static void
test_source_deletes(void)
{
	struct mem_source	ms;
	struct run_opts		o;
	struct run_stats	st;
	size_t			i;
	int			code;

	if (setup() == -1) {
		T_CHECK(0);
		return;
	}
	opts_init(&o);
	o.del = DEL_VERIFIED;
	o.pop3.host = "memory-del";
	mem_init(&ms, &mem_ops);
	code = run_source(&o, &ms.src, &st);
	T_CHECKF(code == EXIT_OK, "exit %d: %s", code, st.err);
	T_CHECKF(st.planned == NMSG && st.deleted == NMSG,
	    "planned %llu deleted %llu", (unsigned long long)st.planned,
	    (unsigned long long)st.deleted);
	T_CHECK(ms.committed == 1);
	for (i = 0; i < NMSG; i++)
		T_CHECKF(ms.gone[i], "message %zu not removed", i);
	check_archive(st.where, NDISTINCT);
	teardown();
}

/* A delete policy needs a source that can delete: 64, nothing made. */
static void
test_source_cannot_delete(void)
{
	struct mem_source	ms;
	struct run_opts		o;
	struct run_stats	st;
	struct stat		sb;
	int			code;

	if (setup() == -1) {
		T_CHECK(0);
		return;
	}
	opts_init(&o);
	o.del = DEL_VERIFIED;
	mem_init(&ms, &mem_ops_keep);
	code = run_source(&o, &ms.src, &st);
	T_CHECKF(code == EXIT_USAGE, "exit %d, want %d", code, EXIT_USAGE);
	T_CHECKF(strstr(st.err, "cannot delete") != NULL, "err \"%s\"",
	    st.err);
	T_CHECK(!ms.connected);
	T_CHECK(lstat(vault, &sb) == -1 && errno == ENOENT);
	teardown();
}

/* ---- index rebuild of an mbox vault ---------------------------------- */

/*
 * Archived at POPVAULT_NOW = 2024-03-01 00:00 UTC without Return-Path:
 * From_ lines of 44 bytes. T's trap (body start + its Content-Length +
 * 1) is where the separator after U would go: 66 bytes after T's From_
 * line to its body, T is 27 bytes, U is strlen(msg_u): the length is
 * strlen(msg_u) + 50 (see fmtrun.c, M_TRAPA).
 */
static char msg_t[64];
static const char msg_u[] = "Subject: lands on a trap\n\n";
static const char msg_nonl[] = "Subject: no final newline\n\nthe end";
static const char msg_v[] = "Message-ID: <v@example.org>\nSubject: v\n"
    "Delivered-To: one@example.org\n\nbody\n";
static const char msg_v2[] = "Message-ID: <v@example.org>\nSubject: v\n"
    "Delivered-To: two@example.org\n\nbody\n";

static struct mem_msg mbox_box[] = {
	{ "r1", msg_a, 0 },
	{ "r2", msg_t, 0 },
	{ "r3", msg_u, 0 },
	{ "r4", msg_nonl, 0 },
	{ "r5", msg_c, 0 },
	{ "r6", msg_v, 0 },
	{ "r7", msg_v2, 0 },
	{ "r8", msg_t, 0 },	/* the same bytes as r2 */
	{ "r9", msg_u, 0 },
	{ "r10", msg_d, 0 },
};
#define NMBOX	(sizeof mbox_box / sizeof mbox_box[0])

static int
strcmp_p(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Rows of a query, one per line, sorted, into buf. */
static int
sql_lines(const char *q, char *buf, size_t len)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	char		 path[256], line[1024], **rows = NULL;
	size_t		 n = 0, i, o = 0;
	int		 c, nc;

	snprintf(path, sizeof path, "%s/index.sqlite", vault);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK || sqlite3_prepare_v2(db, q, -1, &st, NULL) !=
	    SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", q, sqlite3_errmsg(db));
		sqlite3_close(db);
		return -1;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		line[0] = '\0';
		nc = sqlite3_column_count(st);
		for (c = 0; c < nc; c++) {
			const unsigned char *t = sqlite3_column_text(st, c);

			snprintf(line + strlen(line), sizeof line - strlen(line),
			    "%s%s", c ? "|" : "", t ? (const char *)t : "-");
		}
		rows = realloc(rows, (n + 1) * sizeof *rows);
		rows[n++] = strdup(line);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	if (n > 0)
		qsort(rows, n, sizeof *rows, strcmp_p);
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s\n",
		    rows[i]);
		free(rows[i]);
	}
	free(rows);
	return o < len ? 0 : -1;
}

static void
rm_index(void)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	char	path[256];
	size_t	i;

	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/index.sqlite%s", vault, sfx[i]);
		unlink(path);
	}
}

static const char q_msgs[] = "SELECT a.name, hex(m.sha256), m.location, "
    "m.size, m.variant_of IS NOT NULL, m.message_id, m.subject, "
    "hex(m.body_sha256), hex(m.head_sha256) FROM messages m JOIN accounts a "
    "ON a.id = m.account_id";
static const char q_vols[] = "SELECT a.dir, v.name, v.length, v.traps FROM "
    "volumes v JOIN accounts a ON a.id = v.account_id";
static const char q_accts[] = "SELECT name, dir, host, port, user FROM "
    "accounts";

static void
test_rebuild_mbox(void)
{
	struct mem_source	 ms;
	struct run_stats	 st;
	struct run_opts		 o;
	struct rebuild_report	 rep;
	static char		 m1[16384], m2[16384], v1[4096], v2[4096];
	static char		 a1[4096], a2[4096], want[16384];
	char			 nonl[80], *p;
	int			 code;

	snprintf(msg_t, sizeof msg_t, "Content-Length: %04zu\n\ntrap\n",
	    strlen(msg_u) + 50);
	setenv("POPVAULT_NOW", "1709251200", 1);
	if (setup() == -1) {
		T_CHECK(0);
		return;
	}
	/* Two accounts: plain mbox, and mbox.gz with copies of its own. */
	opts_init(&o);
	o.format = fmt_find("mbox");
	o.account = "plain";
	mem_init(&ms, &mem_ops);
	ms.m = mbox_box;
	ms.n = NMBOX;
	code = run_source(&o, &ms.src, &st);
	T_CHECKF(code == EXIT_OK && st.archived == NMBOX - 2, "code %d, "
	    "%llu archived", code, (unsigned long long)st.archived);
	o.account = "gzip";
	o.compress = FMT_COMP_GZIP;
	o.dedup = RUN_DEDUP_ACCOUNT;
	mem_init(&ms, &mem_ops);
	ms.m = mbox_box;
	ms.n = NMBOX;
	code = run_source(&o, &ms.src, &st);
	T_CHECKF(code == EXIT_OK && st.archived == NMBOX - 2, "code %d", code);
	T_CHECK(sql_lines(q_msgs, m1, sizeof m1) == 0 &&
	    sql_lines(q_vols, v1, sizeof v1) == 0 &&
	    sql_lines(q_accts, a1, sizeof a1) == 0);
	/* The padding is there, and the message without newline: "n". */
	T_CHECKF(strstr(m1, ":n|") != NULL, "%s", m1);

	rm_index();
	code = rebuild_vault(vault, &rep);
	T_CHECKF(code == EXIT_OK && rep.messages == 2 * (NMBOX - 2) &&
	    rep.accounts == 2 && rep.bad == 0 && rep.skipped == 0, "code %d, "
	    "%llu messages", code, (unsigned long long)rep.messages);
	T_CHECK(sql_lines(q_msgs, m2, sizeof m2) == 0 &&
	    sql_lines(q_vols, v2, sizeof v2) == 0 &&
	    sql_lines(q_accts, a2, sizeof a2) == 0);
	T_CHECKF(strcmp(v1, v2) == 0, "volumes:\n%s---\n%s", v1, v2);
	T_CHECKF(strcmp(a1, a2) == 0, "accounts:\n%s---\n%s", a1, a2);
	/*
	 * The messages: the same, but for the message without final
	 * newline: "-" for "n", one byte more, another hash (the rows
	 * are compared with that row left out, and it is looked for).
	 */
	snprintf(want, sizeof want, "%s", m1);
	while ((p = strstr(want, ":n|")) != NULL) {
		char	*bol = p, *eol = strchr(p, '\n');

		while (bol > want && bol[-1] != '\n')
			bol--;
		memmove(bol, eol + 1, strlen(eol + 1) + 1);
	}
	snprintf(nonl, sizeof nonl, ":-|%zu|0|-|no final newline|",
	    strlen(msg_nonl) + 1);
	T_CHECK(strstr(m2, nonl) != NULL);
	{
		char	 got[16384];
		char	*q;

		snprintf(got, sizeof got, "%s", m2);
		while ((q = strstr(got, nonl)) != NULL) {
			char	*bol = q, *eol = strchr(q, '\n');

			while (bol > got && bol[-1] != '\n')
				bol--;
			memmove(bol, eol + 1, strlen(eol + 1) + 1);
		}
		T_CHECKF(strcmp(want, got) == 0, "messages:\n%s---\n%s", want,
		    got);
	}

	/* The next run: only the message without newline is new. */
	o.account = "plain";
	o.compress = FMT_COMP_NONE;
	o.dedup = RUN_DEDUP_VAULT;
	mem_init(&ms, &mem_ops);
	ms.m = mbox_box;
	ms.n = NMBOX;
	code = run_source(&o, &ms.src, &st);
	T_CHECKF(code == EXIT_OK && st.archived == 1 &&
	    st.dups == NMBOX - 1, "code %d, %llu archived, %llu dups, %llu "
	    "listed, %llu known", code, (unsigned long long)st.archived,
	    (unsigned long long)st.dups, (unsigned long long)st.listed,
	    (unsigned long long)st.known);
	unsetenv("POPVAULT_NOW");
	teardown();
}

/*
 * Every file of WHERE/eml/: in found[k] how many hold exactly want[k]
 * (the empty message too); *other counts any other file. Their number,
 * or -1.
 */
static int
scan_eml(const char *where, const char *const *want, size_t nwant,
    unsigned *found, unsigned *other)
{
	char		 path[4400], buf[256 * 1024];
	DIR		*d;
	struct dirent	*de;
	size_t		 k;
	ssize_t		 r;
	int		 fd, n = 0, hit;

	memset(found, 0, nwant * sizeof found[0]);
	*other = 0;
	snprintf(path, sizeof path, "%s/eml", where);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, "tmp") == 0)
			continue;
		n++;
		snprintf(path, sizeof path, "%s/eml/%s", where, de->d_name);
		if ((fd = open(path, O_RDONLY)) == -1) {
			(*other)++;
			continue;
		}
		r = read(fd, buf, sizeof buf);
		close(fd);
		hit = 0;
		for (k = 0; k < nwant && r >= 0; k++)
			if ((size_t)r == strlen(want[k]) &&
			    memcmp(buf, want[k], (size_t)r) == 0) {
				found[k]++;
				hit = 1;
			}
		if (!hit)
			(*other)++;
	}
	closedir(d);
	return n;
}

/*
 * The mailbox archived into a vault, then another account with an empty
 * message and two of the first account's messages (stored once, in the
 * first account's folder); then that account exported, through
 * source_vault and the run, into an eml vault: every content of the
 * account once, the empty one too; a second run finds all known; a
 * selection by Message-ID gives one; an unknown account is a usage
 * error.
 */
static void
test_source_vault(void)
{
	static struct mem_msg	 box[3] = {
		{ "v1", "", 0 },
		{ "v2", msg_c, 0 },	/* these two are in account mem too, */
		{ "v3", msg_a, 0 },	/* stored in its folder: read there */
	};
	static const char *const want[] = { "", msg_c, msg_a };
	struct mem_source	 ms;
	struct run_opts		 o;
	struct run_stats	 st;
	struct idx_query	 q;
	struct source		*src;
	char			 dest[160];
	const char		*names[1];
	unsigned		 found[3], other;
	int			 code, n;

	if (setup() == -1) {
		T_CHECK(0);
		return;
	}
	opts_init(&o);
	mem_init(&ms, &mem_ops_keep);
	code = run_source(&o, &ms.src, &st);
	T_CHECKF(code == EXIT_OK, "mem: exit %d: %s", code, st.err);
	o.account = "other";
	o.user = "someone";
	mem_init(&ms, &mem_ops_keep);
	ms.m = box;
	ms.n = 3;
	code = run_source(&o, &ms.src, &st);
	T_CHECKF(code == EXIT_OK && st.archived == 1 && st.dups == 2,
	    "other: exit %d archived %llu dups %llu: %s", code,
	    (unsigned long long)st.archived, (unsigned long long)st.dups,
	    st.err);

	/* Account "other" out of the vault, into an eml vault. */
	snprintf(dest, sizeof dest, "%s/dest", tdir);
	opts_init(&o);
	o.vault = dest;
	o.account = "other";
	o.format = fmt_find("eml");
	o.pop3.host = "vault";
	o.pop3.port = "";
	o.user = "the origin";
	o.dedup = RUN_DEDUP_ACCOUNT;
	names[0] = "other";
	src = source_vault_new(vault, names, 1, NULL);
	code = run_source(&o, src, &st);
	T_CHECKF(code == EXIT_OK, "export: exit %d: %s", code, st.err);
	T_CHECK(src->partial == 1 && source_vault_unsound(src) == 0);
	src->ops->close(src);
	T_CHECKF(st.listed == 3 && st.archived == 3 && st.verified == 3,
	    "listed %llu archived %llu verified %llu",
	    (unsigned long long)st.listed, (unsigned long long)st.archived,
	    (unsigned long long)st.verified);
	n = scan_eml(st.where, want, 3, found, &other);
	T_CHECKF(n == 3 && other == 0 && found[0] == 1 && found[1] == 1 &&
	    found[2] == 1, "%d files, %u other, %u %u %u", n, other,
	    found[0], found[1], found[2]);

	/* Again: all known, nothing written. */
	src = source_vault_new(vault, names, 1, NULL);
	code = run_source(&o, src, &st);
	src->ops->close(src);
	T_CHECKF(code == EXIT_OK && st.known == 3 && st.archived == 0,
	    "again: exit %d known %llu archived %llu", code,
	    (unsigned long long)st.known, (unsigned long long)st.archived);

	/* A selection: one Message-ID, into another account. */
	memset(&q, 0, sizeof q);
	q.since = q.until = INT64_MIN;
	q.message_id = "<c@example.org>";
	o.account = "selected";
	src = source_vault_new(vault, names, 1, &q);
	code = run_source(&o, src, &st);
	src->ops->close(src);
	T_CHECKF(code == EXIT_OK && st.listed == 1 && st.archived == 1,
	    "selection: exit %d listed %llu archived %llu", code,
	    (unsigned long long)st.listed, (unsigned long long)st.archived);
	n = scan_eml(st.where, want, 3, found, &other);
	T_CHECK(n == 1 && found[1] == 1);

	/* No such account in the origin: a usage error, nothing listed. */
	names[0] = "nobody";
	o.account = "nobody";
	src = source_vault_new(vault, names, 1, NULL);
	code = run_source(&o, src, &st);
	src->ops->close(src);
	T_CHECKF(code == EXIT_USAGE && strstr(st.err, "no account nobody"),
	    "unknown: exit %d: %s", code, st.err);
	teardown();
}

int
main(void)
{
	umask(077);
	make_big();
	T_RUN(test_source_archive);
	T_RUN(test_source_fails_midway);
	T_RUN(test_source_refuses_one);
	T_RUN(test_source_deletes);
	T_RUN(test_source_cannot_delete);
	T_RUN(test_rebuild_mbox);
	T_RUN(test_source_vault);
	return T_END();
}
