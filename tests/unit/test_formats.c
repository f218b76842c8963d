/*
 * test_formats.c -- every registered format, with every compression it
 * takes, through the same cases, by the interface of formats/format.h
 * only. A format gets these cases by being registered: the list is
 * fmt_at(0), fmt_at(1), ... Beside the built-in formats it holds
 * "testdir" (fmt_testdir.c, of the test tree only), registered here in
 * one line to show that the extension point is all a format needs.
 *
 *   registry    the names, the compression words and fmt_accepts() agree
 *               with each other and with what a user types and the
 *               manual lists; fmt_day() gives the known dates
 *   round_trip  messages of every shape (empty, one newline, no final
 *               newline, "From " lines, CRLF, NUL and every byte value,
 *               a Content-Length pointing past the message, 300 kB)
 *               written in odd chunks, synced: each read back byte for
 *               byte, verify() finds them all ok and a wrong hash
 *               altered; after a reopen and recover() still all there,
 *               a later batch leaves them alone
 *   crash       the commit protocol of core/batch.c (claim, write,
 *               intent, sync, commit) over a committed first batch,
 *               cut at each of its steps; then a recovery (recover(),
 *               check() of the pending rows, as core/run.c does), itself
 *               cut at each of its steps; then a clean recovery and a
 *               batch that fetches again what was dropped. Afterwards
 *               every committed message reads back exactly, every
 *               message of the cut batch is either archived intact or
 *               gone (its location reads nothing), nothing is pending,
 *               and the store records every message archived once
 *
 *   scan        what scan() finds after batches of every shape (and, in
 *               mbox, Content-Length traps on a separator, at a batch's
 *               end and within one): every archived message once, at
 *               its location, with its bytes and size, each location
 *               reading back through read(); the volumes as synced()
 *               recorded them (length and priv); nothing else. Then
 *               with what an interrupted batch leaves (an mbox message
 *               cut short, half a gzip member, a .part volume, a file in
 *               tmp/): the same, and the committed lengths unchanged
 *
 * The cases run through fmtrun.c, which kills a child process at
 * each step (every change of the file tree, each stage of the
 * protocol) and models the index with a store.
 *
 * Expected bytes are the bytes fmtrun.c made, and hashes are computed
 * there with OpenSSL, not with popvault's hash.c.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>
#include <stdio.h>
#include <string.h>

#include "fmtrun.h"
#include "format.h"
#include "log.h"
#include "t.h"

extern const struct fmt_ops fmt_testdir_ops;

#define MAXSTEPS	400	/* more is a loop: fail */

/* 2024-03-01, 2024-03-02 and 2024-04-01, 00:00 UTC. */
#define DAY1	1709251200
#define DAY2	1709337600
#define MONTH2	1711929600

/* ---- registry ---------------------------------------------------------- */

static void
test_registry(void)
{
	static const char *const words[] = { "none", "gzip", "zstd", "xz" };
	const struct fmt_ops	*ops;
	const char		*names = fmt_names(), *p;
	enum fmt_compress	 c;
	char			 day[16];
	size_t			 i, j, len;
	int			 seen = 0;

	/* Each format once, in order, as "a, b or c"; found by name. */
	p = names;
	for (i = 0; (ops = fmt_at(i)) != NULL; i++) {
		T_CHECKF(ops->name != NULL && ops->name[0] != '\0' &&
		    strcspn(ops->name, " ,/") == strlen(ops->name),
		    "format %zu", i);
		T_CHECK(fmt_find(ops->name) == ops);
		len = strlen(ops->name);
		T_CHECKF(strncmp(p, ops->name, len) == 0, "%s in \"%s\"",
		    ops->name, names);
		p += len;
		if (fmt_at(i + 1) == NULL)
			T_CHECK(*p == '\0');
		else if (fmt_at(i + 2) == NULL) {
			T_CHECK(strncmp(p, " or ", 4) == 0);
			p += 4;
		} else {
			T_CHECK(strncmp(p, ", ", 2) == 0);
			p += 2;
		}
		/* Some compression, no other bits. */
		T_CHECKF(ops->comps != 0 && (ops->comps & ~FMT_COMP_ALL) == 0,
		    "%s: comps %#x", ops->name, ops->comps);
		for (j = 0; j < NELEM(words); j++)
			T_CHECK(fmt_accepts(ops, (enum fmt_compress)j) ==
			    (int)((ops->comps >> j) & 1));
		T_CHECK(fmt_accepts(ops, FMT_COMP_COUNT) == 0);
		T_CHECK(fmt_accepts(ops, (enum fmt_compress)-1) == 0);
		if (strcmp(ops->name, "maildir") == 0 ||
		    strcmp(ops->name, "mbox") == 0 ||
		    strcmp(ops->name, "tar") == 0 ||
		    strcmp(ops->name, "testdir") == 0)
			seen++;
	}
	T_CHECKF(seen == 4, "the formats: %s", names);
	T_CHECK(fmt_at(i + 1) == NULL);
	T_CHECK(fmt_find("Maildir") == NULL && fmt_find("") == NULL &&
	    fmt_find("mbox ") == NULL);

	/* What docs/formats.md lists. */
	if ((ops = fmt_find("maildir")) != NULL)
		T_CHECK(ops->comps == FMT_COMP_BIT(FMT_COMP_NONE));
	if ((ops = fmt_find("mbox")) != NULL) {
		T_CHECK(fmt_accepts(ops, FMT_COMP_NONE) &&
		    fmt_accepts(ops, FMT_COMP_GZIP));
		T_CHECK(!fmt_accepts(ops, FMT_COMP_ZSTD) &&
		    !fmt_accepts(ops, FMT_COMP_XZ));
		T_CHECK(strcmp(fmt_comp_list(ops->comps), "none or gzip") ==
		    0);
	}
	if ((ops = fmt_find("tar")) != NULL)
		T_CHECK(ops->comps == FMT_COMP_ALL);

	/* The words of --compress and compress =. */
	for (i = 0; i < NELEM(words); i++) {
		T_CHECKF(fmt_comp_find(words[i], &c) == 0 && (size_t)c == i,
		    "%s", words[i]);
		T_CHECK(strcmp(fmt_comp_name((enum fmt_compress)i),
		    words[i]) == 0);
	}
	T_CHECK(NELEM(words) == FMT_COMP_COUNT);
	T_CHECK(fmt_comp_find("bzip2", &c) == -1);
	T_CHECK(fmt_comp_find("GZIP", &c) == -1);
	T_CHECK(fmt_comp_find("", &c) == -1);
	T_CHECK(strcmp(fmt_comp_name(FMT_COMP_COUNT), "?") == 0);
	T_CHECK(strcmp(fmt_comp_list(FMT_COMP_ALL),
	    "none, gzip, zstd or xz") == 0);
	T_CHECK(strcmp(fmt_comp_list(FMT_COMP_BIT(FMT_COMP_XZ)), "xz") == 0);
	T_CHECK(strcmp(fmt_comp_list(0), "") == 0);

	/* One registration, of a new name, in a test build only. */
	T_CHECK(fmt_register_for_tests(&fmt_testdir_ops) == -1);
	T_CHECK(fmt_find("testdir") == &fmt_testdir_ops);

	/* Days, UTC (date -u -d @T +%F). */
	fmt_day(0, day, sizeof day);
	T_CHECK(strcmp(day, "1970-01-01") == 0);
	fmt_day(951782400, day, sizeof day);
	T_CHECK(strcmp(day, "2000-02-29") == 0);
	fmt_day(-86400, day, sizeof day);
	T_CHECK(strcmp(day, "1969-12-31") == 0);
	fmt_day(DAY1 + 86399, day, sizeof day);
	T_CHECK(strcmp(day, "2024-03-01") == 0);
	fmt_day(253402300799LL, day, sizeof day);
	T_CHECK(strcmp(day, "9999-12-31") == 0);
	fmt_day(-30610310400LL, day, sizeof day);
	T_CHECK(strcmp(day, "0999-12-31") == 0);
	fmt_day(INT64_MAX, day, sizeof day);
	T_CHECK(strcmp(day, "?\?\?\?-\?\?-\?\?") == 0);
}

/* ---- round trip -------------------------------------------------------- */

/* One message begun, partly written, then discarded (a duplicate). */
static int
put_discarded(const struct fr_case *tc, struct fmt *f)
{
	struct fmt_msginfo	mi;

	memset(&mi, 0, sizeof mi);
	mi.size = fr_msgs[M_BIG].len;
	mi.when = DAY1;
	mi.content_length = -1;
	if (f->ops->begin(f, &mi) == -1 ||
	    f->ops->write(f, fr_msgs[M_BIG].p, 5000) == -1 ||
	    f->ops->discard(f) == -1)
		return fr_fail("%s: discard: %s", tc->name, fmt_error(f));
	return 0;
}

static void
round_trip(struct fr_case *tc)
{
	static const int	 first[] = { M_PLAIN, M_EMPTY, M_NEWLINE,
	    M_NONL, M_FROM, M_CRLF, M_BINARY, M_CLEN, M_HUGE, M_FROM2 };
	static const int	 later[] = { M_PLAIN2, M_BIG };
	struct fmt		*f;
	size_t			 i;
	int			 k;

	if (fr_setup(tc) == -1) {
		T_CHECK(0);
		return;
	}
	if ((f = fr_open(tc)) == NULL) {
		T_CHECKF(0, "%s", tc->name);
		goto out;
	}
	T_CHECK(fr_recover(tc, f, 0) == 0);
	/* The first messages, and a duplicate dropped midway. */
	T_CHECK(fr_batch(tc, f, first, 4, DAY1, 1) == 0);
	if (!(tc->ops->flags & FMT_F_NEEDS_SIZE))
		T_CHECK(put_discarded(tc, f) == 0);
	T_CHECK(fr_batch(tc, f, first + 4, NELEM(first) - 4, DAY1, 1) == 0);
	for (i = 0; i < fr_st->nrow; i++) {
		T_CHECKF(fr_st->row[i].state == R_ARCHIVED, "%s row %zu",
		    tc->name, i);
		T_CHECKF(fr_reads_back(tc, f, fr_st->row[i].loc,
		    fr_st->row[i].msg),
		    "%s", tc->name);
	}
	T_CHECKF(fr_verify_all(tc, f, -1), "%s", tc->name);
	for (k = 0; k < (int)fr_st->nrow; k += 3)
		T_CHECKF(fr_verify_all(tc, f, k), "%s", tc->name);
	f->ops->close(f);

	/* Reopened: all there; a later batch, another month, too. */
	if ((f = fr_open(tc)) == NULL) {
		T_CHECKF(0, "%s", tc->name);
		goto out;
	}
	T_CHECK(fr_recover(tc, f, 0) == 0);
	T_CHECK(fr_batch(tc, f, later, NELEM(later), MONTH2, 2) == 0);
	for (i = 0; i < fr_st->nrow; i++)
		T_CHECKF(fr_st->row[i].state == R_ARCHIVED &&
		    fr_reads_back(tc, f, fr_st->row[i].loc, fr_st->row[i].msg),
		    "%s row %zu", tc->name, i);
	T_CHECKF(fr_verify_all(tc, f, -1), "%s", tc->name);
	f->ops->close(f);

	/* And once more, with nothing to recover. */
	if ((f = fr_open(tc)) == NULL) {
		T_CHECKF(0, "%s", tc->name);
		goto out;
	}
	T_CHECK(fr_recover(tc, f, 0) == 0);
	T_CHECKF(fr_verify_all(tc, f, -1), "%s", tc->name);
	f->ops->close(f);
out:
	t_rmrf(tc->tdir);
}

/* ---- crash ------------------------------------------------------------- */

static const int	batch1[] = { M_PLAIN, M_EMPTY, M_FROM, M_BINARY };
static const int	batch2[] = { M_CLEN, M_NONL, M_BIG, M_PLAIN2 };

/* A run that archives batch 2 (the day after batch 1: same month). */
static int
run_batch2(const struct fr_case *tc)
{
	struct fmt	*f;
	int		 r;

	if ((f = fr_open(tc)) == NULL)
		return -1;
	r = fr_recover(tc, f, 0) == 0 && fr_batch(tc, f, batch2, NELEM(batch2),
	    DAY2, 2) == 0 ? 0 : -1;
	f->ops->close(f);
	return r;
}

/* The same in the next month (mbox: a new file, a new volume). */
static int
run_batch2_month(const struct fr_case *tc)
{
	struct fmt	*f;
	int		 r;

	if ((f = fr_open(tc)) == NULL)
		return -1;
	r = fr_recover(tc, f, 0) == 0 && fr_batch(tc, f, batch2, NELEM(batch2),
	    MONTH2, 2) == 0 ? 0 : -1;
	f->ops->close(f);
	return r;
}

/* A run that only recovers. */
static int
run_recovery(const struct fr_case *tc)
{
	struct fmt	*f;
	int		 r;

	if ((f = fr_open(tc)) == NULL)
		return -1;
	r = fr_recover(tc, f, 1);
	f->ops->close(f);
	return r;
}

/*
 * The state the crash left: recovered cleanly, then checked; then what
 * batch 2 did not archive fetched again, with a new message, and
 * everything checked again after one more reopen. 1 if all is well.
 */
static int
after_crash(const struct fr_case *tc, const char *what)
{
	int		 again[FR_NROW], ok = 1;
	size_t		 i, j, n = 0, once;
	struct fmt	*f;

	for (i = 0; i < fr_st->nrow; i++)
		fr_st->row[i].was_archived = fr_st->row[i].state == R_ARCHIVED;
	if ((f = fr_open(tc)) == NULL)
		return 0;
	if (fr_recover(tc, f, 0) == -1) {
		f->ops->close(f);
		return 0;
	}
	for (i = 0; i < fr_st->nrow; i++) {
		const struct fr_row	*r = &fr_st->row[i];

		if (r->batch == 1 && r->state != R_ARCHIVED)
			ok = fr_bad("%s %s: batch 1 row %zu lost", tc->name,
			    what, i);
		if (r->was_archived && r->state != R_ARCHIVED)
			ok = fr_bad("%s %s: committed row %zu lost", tc->name,
			    what, i);
		if (r->state == R_ARCHIVED && !fr_reads_back(tc, f, r->loc,
		    r->msg))
			ok = fr_bad("%s %s: row %zu", tc->name, what, i);
		if (r->state == R_DROPPED && r->wrote[0] != '\0' &&
		    !fr_reads_nothing(f, r->wrote))
			ok = fr_bad("%s %s: row %zu dropped, yet %s reads",
			    tc->name, what, i, r->wrote);
		if (r->state == R_PENDING)
			ok = fr_bad("%s %s: row %zu still pending", tc->name,
			    what, i);
	}
	if (!fr_verify_all(tc, f, -1))
		ok = fr_bad("%s %s: verify after recovery", tc->name, what);
	/* The next run: what is not archived yet, and a new message. */
	for (j = 0; j < NELEM(batch2); j++) {
		for (i = 0; i < fr_st->nrow; i++)
			if (fr_st->row[i].msg == batch2[j] &&
			    fr_st->row[i].state == R_ARCHIVED)
				break;
		if (i == fr_st->nrow)
			again[n++] = batch2[j];
	}
	again[n++] = M_NEWLINE;
	if (fr_batch(tc, f, again, n, MONTH2 + 86400, 3) == -1)
		ok = 0;
	f->ops->close(f);
	if ((f = fr_open(tc)) == NULL)
		return 0;
	if (fr_recover(tc, f, 0) == -1)
		ok = 0;
	/* Batches 1 and 2 and the new one: each message once, intact. */
	for (j = 0; j <= M_NEWLINE; j++) {
		for (i = 0, once = 0; i < fr_st->nrow; i++) {
			if (fr_st->row[i].msg != (int)j ||
			    fr_st->row[i].state != R_ARCHIVED)
				continue;
			once++;
			if (!fr_reads_back(tc, f, fr_st->row[i].loc, (int)j))
				ok = fr_bad("%s %s: after the next run, row "
				    "%zu", tc->name, what, i);
		}
		if (once != 1)
			ok = fr_bad("%s %s: message %zu archived %zu times",
			    tc->name, what, j, once);
	}
	if (!fr_verify_all(tc, f, -1))
		ok = fr_bad("%s %s: verify after the next run", tc->name, what);
	f->ops->close(f);
	return ok;
}

/* A fresh account with batch 1 committed. */
static int
with_batch1(struct fr_case *tc)
{
	struct fmt	*f;
	int		 r;

	t_rmrf(tc->tdir);
	if (fr_setup(tc) == -1 || (f = fr_open(tc)) == NULL)
		return -1;
	r = fr_recover(tc, f, 0) == 0 && fr_batch(tc, f, batch1, NELEM(batch1),
	    DAY1, 1) == 0 ? 0 : -1;
	f->ops->close(f);
	return r;
}

/*
 * Batch 2 cut at each step n; for each, the recovery cut at each of its
 * steps m (m = 0: not cut), each time from the same state, rebuilt.
 */
static void
crash_each_step(struct fr_case *tc, int (*run)(const struct fr_case *),
    const char *label)
{
	char	what[64];
	long	n, m;
	int	r, rr;

	tc->tdir[0] = '\0';
	for (n = 1; n < MAXSTEPS; n++) {
		for (m = 0; m < MAXSTEPS; m++) {
			if (with_batch1(tc) == -1) {
				T_CHECKF(0, "%s: batch 1", tc->name);
				goto out;
			}
			r = fr_in_child(tc, run, n);
			if (r == -1) {
				T_CHECKF(0, "%s %s: batch 2 cut at step %ld",
				    tc->name, label, n);
				goto out;
			}
			if (m > 0) {
				rr = fr_in_child(tc, run_recovery, m);
				if (rr == -1) {
					T_CHECKF(0, "%s %s: batch 2 cut at "
					    "step %ld, recovery at %ld",
					    tc->name, label, n, m);
					goto out;
				}
			} else
				rr = FR_CRASHED;
			snprintf(what, sizeof what, "%s, cut at %ld/%ld",
			    label, n, m);
			T_CHECKF(after_crash(tc, what), "%s %s", tc->name,
			    what);
			/* The batch got through: every step was cut. */
			if (r == 0)
				goto out;
			/* The recovery got through: on to the next n. */
			if (rr == 0)
				break;
		}
	}
	T_CHECKF(0, "%s %s: more than %d steps", tc->name, label, MAXSTEPS);
out:
	t_rmrf(tc->tdir);
}

/* ---- scan ------------------------------------------------------------ */

struct sc_msg {
	char		 loc[FR_LOCMAX];
	unsigned char	 sha[HASH_LEN];
	uint64_t	 size, got;
	int		 used;
};

struct sc {
	const struct fr_case	*tc;
	EVP_MD_CTX		*md;
	int			 open;
	struct sc_msg		 m[FR_NROW];
	size_t			 n;
	struct fmt_vol		 v[FR_NVOL];
	size_t			 nv;
	int			 skips;
	uint64_t		 got;
};

static int
sc_begin(void *arg)
{
	struct sc	*c = arg;

	c->open = EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) == 1;
	c->got = 0;
	return c->open ? 0 : -1;
}

static int
sc_data(void *arg, const void *p, size_t n)
{
	struct sc	*c = arg;

	if (!c->open)
		return fr_fail("%s: scan: data() before begin()", c->tc->name);
	c->got += n;
	return EVP_DigestUpdate(c->md, p, n) == 1 ? 0 : -1;
}

static int
sc_end(void *arg, const char *loc, uint64_t size)
{
	struct sc	*c = arg;
	struct sc_msg	*m;

	if (!c->open || c->n == FR_NROW)
		return fr_fail("%s: scan: end() without begin()", c->tc->name);
	m = &c->m[c->n++];
	memset(m, 0, sizeof *m);
	snprintf(m->loc, sizeof m->loc, "%s", loc);
	m->size = size;
	m->got = c->got;
	c->open = 0;
	return EVP_DigestFinal_ex(c->md, m->sha, NULL) == 1 ? 0 : -1;
}

static int
sc_vol(void *arg, const struct fmt_vol *v)
{
	struct sc	*c = arg;

	if (c->nv == FR_NVOL)
		return -1;
	c->v[c->nv++] = *v;
	return 0;
}

static void
sc_skip(void *arg, const char *what)
{
	struct sc	*c = arg;

	(void)what;
	c->skips++;
}

/* Scan tc's account into c: 0, or -1 (said why). */
static int
sc_run(const struct fr_case *tc, struct sc *c)
{
	struct fmt_scan	 s = { sc_begin, sc_data, sc_end, sc_vol, sc_skip,
			    c };
	struct fmt	*f;
	int		 r;

	memset(c, 0, sizeof *c);
	c->tc = tc;
	if ((c->md = EVP_MD_CTX_new()) == NULL)
		return -1;
	if ((f = fr_open(tc)) == NULL) {
		EVP_MD_CTX_free(c->md);
		return -1;
	}
	r = f->ops->scan(f, &s);
	if (r == -1)
		fr_fail("%s: scan: %s", tc->name, fmt_error(f));
	f->ops->close(f);
	EVP_MD_CTX_free(c->md);
	return r;
}

/*
 * The mbox location of a message without a final newline ends in ":n"
 * (mbox.c); its bytes are those of one that ends in a newline, so the
 * scan can only give that reading, ":-": the message with a newline
 * more (docs/decisions.md, "Rebuilding the index").
 */
static int
sc_nonl_reading(const char *rowloc, const char *scanloc)
{
	size_t	n = strlen(rowloc);

	return n > 2 && strcmp(rowloc + n - 2, ":n") == 0 &&
	    strncmp(rowloc, scanloc, n - 1) == 0 &&
	    strcmp(scanloc + n - 1, "-") == 0;
}

/* What the scan found is exactly what the store says is archived. */
static int
sc_matches(const struct fr_case *tc, struct sc *c, int skips)
{
	const struct fr_msg	*fm;
	unsigned char		 sha[HASH_LEN];
	struct fmt		*f;
	size_t			 i, j, k;
	int			 ok = 1, nonl;

	if ((f = fr_open(tc)) == NULL)
		return 0;
	for (i = 0; i < fr_st->nrow; i++) {
		const struct fr_row	*r = &fr_st->row[i];

		if (r->state != R_ARCHIVED)
			continue;
		fm = &fr_msgs[r->msg];
		for (j = 0; j < c->n; j++)
			if (strcmp(c->m[j].loc, r->loc) == 0 ||
			    sc_nonl_reading(r->loc, c->m[j].loc))
				break;
		if (j == c->n) {
			ok = fr_bad("%s: scan: row %zu (%s) not found",
			    tc->name, i, r->loc);
			continue;
		}
		c->m[j].used++;
		nonl = strcmp(c->m[j].loc, r->loc) != 0;
		if (nonl) {
			/* Only mbox, only a message without newline. */
			if (strcmp(tc->ops->name, "mbox") != 0 ||
			    fm->len == 0 || fm->p[fm->len - 1] == '\n')
				ok = fr_bad("%s: scan: %s for %s", tc->name,
				    c->m[j].loc, r->loc);
			k = fm->len;
			fm = NULL;
			{
				unsigned char	*b = malloc(k + 1);

				memcpy(b, fr_msgs[r->msg].p, k);
				b[k] = '\n';
				EVP_Digest(b, k + 1, sha, NULL, EVP_sha256(),
				    NULL);
				free(b);
			}
			k++;
		} else {
			memcpy(sha, fm->sha, HASH_LEN);
			k = fm->len;
		}
		if (memcmp(c->m[j].sha, sha, HASH_LEN) != 0 ||
		    c->m[j].size != k || c->m[j].got != k)
			ok = fr_bad("%s: scan: %s: other bytes (%llu, %llu, "
			    "want %zu)", tc->name, c->m[j].loc,
			    (unsigned long long)c->m[j].size,
			    (unsigned long long)c->m[j].got, k);
		if (!nonl && !fr_reads_back(tc, f, c->m[j].loc, r->msg))
			ok = fr_bad("%s: scan: %s does not read back",
			    tc->name, c->m[j].loc);
	}
	for (j = 0; j < c->n; j++)
		if (c->m[j].used != 1)
			ok = fr_bad("%s: scan: %s found for %d rows", tc->name,
			    c->m[j].loc, c->m[j].used);
	/* The volumes as synced() recorded them. */
	for (i = 0; i < fr_st->nvol; i++) {
		for (j = 0; j < c->nv; j++)
			if (strcmp(c->v[j].name, fr_st->vol[i].name) == 0)
				break;
		if (j == c->nv)
			ok = fr_bad("%s: scan: volume %s not found", tc->name,
			    fr_st->vol[i].name);
		else if (c->v[j].length != fr_st->vol[i].length ||
		    strcmp(c->v[j].priv, fr_st->vol[i].priv) != 0)
			ok = fr_bad("%s: scan: volume %s: %llu \"%s\", "
			    "recorded %llu \"%s\"", tc->name, c->v[j].name,
			    (unsigned long long)c->v[j].length, c->v[j].priv,
			    (unsigned long long)fr_st->vol[i].length,
			    fr_st->vol[i].priv);
	}
	if (c->nv != fr_st->nvol)
		ok = fr_bad("%s: scan: %zu volumes, %zu recorded", tc->name,
		    c->nv, fr_st->nvol);
	if (c->skips != skips)
		ok = fr_bad("%s: scan: %d parts skipped, want %d", tc->name,
		    c->skips, skips);
	f->ops->close(f);
	return ok;
}

/* Append n bytes to the file at path. */
static int
sc_append(const char *path, const void *p, size_t n)
{
	int	fd = open(path, O_WRONLY | O_APPEND);
	int	r;

	if (fd == -1)
		return -1;
	r = write(fd, p, n) == (ssize_t)n ? 0 : -1;
	close(fd);
	return r;
}

/*
 * What a batch cut short leaves, by hand: in mbox, a message without
 * its end (plain) or the first half of a gzip member; a .part volume in
 * tar/; files in maildir's and testdir's tmp/. The number of parts the
 * scan must say it skipped.
 */
static int
sc_cut_batch(const struct fr_case *tc)
{
	static const char	 cut[] = "From MAILER-DAEMON Fri Mar  1 "
	    "00:00:00 2024\nSubject: cut short\n\nhalf a li";
	unsigned char		 gz[512];
	char			 path[512];
	z_stream		 zs;
	size_t			 i;
	int			 skips = 0;

	for (i = 0; i < fr_st->nvol; i++) {
		size_t	n = strlen(fr_st->vol[i].name);

		if (n > 5 && strcmp(fr_st->vol[i].name + n - 5, ".mbox") == 0) {
			snprintf(path, sizeof path, "%s/mbox/%s", tc->acct,
			    fr_st->vol[i].name);
			if (sc_append(path, cut, sizeof cut - 1) == -1)
				return -1;
			skips++;
		} else if (n > 8 && strcmp(fr_st->vol[i].name + n - 8,
		    ".mbox.gz") == 0) {
			memset(&zs, 0, sizeof zs);
			if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8,
			    Z_DEFAULT_STRATEGY) != Z_OK)
				return -1;
			zs.next_in = (unsigned char *)(uintptr_t)cut;
			zs.avail_in = sizeof cut - 1;
			zs.next_out = gz;
			zs.avail_out = sizeof gz;
			deflate(&zs, Z_FINISH);
			snprintf(path, sizeof path, "%s/mbox/%s", tc->acct,
			    fr_st->vol[i].name);
			/* Half of it: no end, no trailer. */
			if (sc_append(path, gz, (sizeof gz - zs.avail_out) /
			    2) == -1) {
				deflateEnd(&zs);
				return -1;
			}
			deflateEnd(&zs);
			skips++;
		}
	}
	snprintf(path, sizeof path, "%s/tar/20240301T000000Z-1-1-"
	    "0123456789abcdef.tar.part", tc->acct);
	if (strcmp(tc->ops->name, "tar") == 0 &&
	    t_write_file(path, "not finished", 0600) == -1)
		return -1;
	snprintf(path, sizeof path, "%s/%s/tmp/cut", tc->acct,
	    tc->ops->name);
	if ((strcmp(tc->ops->name, "maildir") == 0 ||
	    strcmp(tc->ops->name, "testdir") == 0) &&
	    t_write_file(path, "Subject: cut\n\n", 0600) == -1)
		return -1;
	return skips;
}

static void
scan_case(struct fr_case *tc)
{
	static const int	 b1[] = { M_PLAIN, M_EMPTY, M_NEWLINE, M_NONL,
	    M_FROM, M_CRLF, M_BINARY, M_CLEN, M_FROM2 };
	static const int	 b2[] = { M_TRAPA, M_TRAPB };
	static const int	 b3[] = { M_TRAPA, M_TRAPB, M_PLAIN2 };
	static const int	 b4[] = { M_BIG, M_PLAIN };
	struct sc		*c = calloc(1, sizeof *c);
	struct fmt		*f;
	int			 skips;

	if (c == NULL || fr_setup(tc) == -1) {
		T_CHECK(0);
		free(c);
		return;
	}
	if ((f = fr_open(tc)) == NULL) {
		T_CHECKF(0, "%s", tc->name);
		goto out;
	}
	T_CHECK(fr_recover(tc, f, 0) == 0);
	/* b2: the padding at the batch's end; b3: before the next one. */
	T_CHECK(fr_batch(tc, f, b1, NELEM(b1), DAY1, 1) == 0);
	T_CHECK(fr_batch(tc, f, b2, NELEM(b2), DAY1, 2) == 0);
	T_CHECK(fr_batch(tc, f, b3, NELEM(b3), DAY1, 3) == 0);
	T_CHECK(fr_batch(tc, f, b4, NELEM(b4), MONTH2, 4) == 0);
	f->ops->close(f);
	T_CHECKF(tc->ops->scan != NULL, "%s has no scan()", tc->name);
	if (tc->ops->scan == NULL)
		goto out;
	T_CHECKF(sc_run(tc, c) == 0 && sc_matches(tc, c, 0), "%s",
	    tc->name);
	/* The tail of a batch cut short is not taken, and said. */
	T_CHECK((skips = sc_cut_batch(tc)) >= 0);
	T_CHECKF(sc_run(tc, c) == 0 && sc_matches(tc, c, skips), "%s cut",
	    tc->name);
out:
	free(c);
	t_rmrf(tc->tdir);
}

/* ---- every format, every compression ----------------------------------- */

static void
each_case(void (*fn)(struct fr_case *))
{
	struct fr_case	tc;
	size_t		i;
	unsigned	c;

	for (i = 0; (tc.ops = fmt_at(i)) != NULL; i++)
		for (c = 0; c < FMT_COMP_COUNT; c++) {
			if (!fmt_accepts(tc.ops, (enum fmt_compress)c))
				continue;
			tc.comp = (enum fmt_compress)c;
			snprintf(tc.name, sizeof tc.name, "%s/%s",
			    tc.ops->name, fmt_comp_name(tc.comp));
			fn(&tc);
		}
}

static void
crash_same_month(struct fr_case *tc)
{
	crash_each_step(tc, run_batch2, "same month");
}

static void
crash_next_month(struct fr_case *tc)
{
	crash_each_step(tc, run_batch2_month, "next month");
}

static void
test_round_trip(void)
{
	each_case(round_trip);
}

static void
test_scan(void)
{
	each_case(scan_case);
}

static void
test_crash_same_month(void)
{
	each_case(crash_same_month);
}

static void
test_crash_next_month(void)
{
	each_case(crash_next_month);
}

int
main(void)
{
	/* The test's own format: registered in one line. */
	if (fmt_register_for_tests(&fmt_testdir_ops) == -1) {
		fprintf(stderr, "fmt_register_for_tests failed: not a test "
		    "build?\n");
		return 2;
	}
	if (fr_init() == -1)
		return 2;
	umask(077);
	log_init(LOG_QUIET);	/* "removed 2 unfinished files": expected */
	T_RUN(test_registry);
	T_RUN(test_round_trip);
	T_RUN(test_scan);
	T_RUN(test_crash_same_month);
	T_RUN(test_crash_next_month);
	fr_fini();
	return T_END();
}
