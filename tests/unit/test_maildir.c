/*
 * test_maildir.c -- unit tests for formats/maildir.c, through the format
 * interface of formats/format.h only (fmt_find("maildir") and its ops).
 *
 * Each test gets a fresh account folder under a mkdtemp(3) folder in
 * /tmp, removed at the end. The umask is 0 for the whole run, so modes
 * 0600 and 0700 come from the code under test. The file system is
 * inspected directly: what sits in tmp/, new/, cur/ and quarantine/
 * before and after each step.
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

#include "format.h"
#include "hash.h"
#include "t.h"

#define LOCMAX	256
#define S(s)	s, sizeof(s) - 1

static char	tdir[64];	/* the temp folder */
static char	acctdir[128];	/* tdir/acct, the account folder */

/* ---- helpers --------------------------------------------------------- */

static int
setup(void)
{
	if (t_tmpdir(tdir, sizeof tdir, "md") == -1)
		return -1;
	snprintf(acctdir, sizeof acctdir, "%s/acct", tdir);
	if (mkdir(acctdir, 0700) == -1) {
		perror("mkdir");
		return -1;
	}
	return 0;
}

static void
teardown(void)
{
	t_rmrf(tdir);
}

static struct fmt *
md_open(void)
{
	const struct fmt_ops	*ops = fmt_find("maildir");
	struct fmt_args		 a = { acctdir, FMT_COMP_NONE };
	struct fmt		*f;
	char			 err[512] = "";

	if (ops == NULL)
		return NULL;
	if ((f = ops->open(&a, err, sizeof err)) == NULL)
		fprintf(stderr, "maildir open: %s\n", err);
	return f;
}

/* "acct/REL" */
static void
apath(char *out, size_t len, const char *rel)
{
	snprintf(out, len, "%s/%s", acctdir, rel);
}

/* Number of entries in acct/REL other than "." and ".."; -1 if none. */
static int
count_dir(const char *rel)
{
	char		 p[512];
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	apath(p, sizeof p, rel);
	if ((d = opendir(p)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/*
 * The entry of acct/DIR whose name is PREFIX followed by 16 lower-case
 * hex digits (a quarantine name's random part) into out; 0, or -1.
 */
static int
find_random_suffix(const char *dir, const char *prefix, char *out,
    size_t len)
{
	char		 p[512];
	DIR		*d;
	struct dirent	*de;
	size_t		 n = strlen(prefix);
	int		 r = -1;

	apath(p, sizeof p, dir);
	if ((d = opendir(p)) == NULL)
		return -1;
	while (r == -1 && (de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, n) == 0 &&
		    strlen(de->d_name + n) == 16 &&
		    strspn(de->d_name + n, "0123456789abcdef") == 16) {
			snprintf(out, len, "%s", de->d_name);
			r = 0;
		}
	closedir(d);
	return r;
}

static mode_t
mode_of(const char *rel)
{
	char		p[512];
	struct stat	st;

	apath(p, sizeof p, rel);
	if (lstat(p, &st) == -1)
		return (mode_t)-1;
	return st.st_mode & 07777;
}

static int
exists(const char *rel)
{
	char		p[512];
	struct stat	st;

	apath(p, sizeof p, rel);
	return lstat(p, &st) == 0;
}

/* Write one message in chunks of the sizes in chunks[] (cycled). */
static int
put(struct fmt *f, const char *data, size_t len, const size_t *chunks,
    size_t nchunks, char *loc, size_t loclen)
{
	struct fmt_msginfo	mi;
	size_t			pos = 0, k = 0, n;

	memset(&mi, 0, sizeof mi);
	mi.size = len;
	mi.when = 1700000000;
	if (f->ops->begin(f, &mi) == -1) {
		fprintf(stderr, "begin: %s\n", fmt_error(f));
		return -1;
	}
	while (pos < len) {
		n = nchunks ? chunks[k++ % nchunks] : len - pos;
		if (n > len - pos)
			n = len - pos;
		if (f->ops->write(f, data + pos, n) == -1) {
			fprintf(stderr, "write: %s\n", fmt_error(f));
			return -1;
		}
		pos += n;
	}
	if (f->ops->end(f, loc, loclen) == -1) {
		fprintf(stderr, "end: %s\n", fmt_error(f));
		return -1;
	}
	return 0;
}

/* read() into a growing buffer. */
struct rbuf {
	char	*p;
	size_t	 len, cap;
	size_t	 calls, maxchunk;
	int	 fail_after;	/* >0: return -1 on that call */
};

static int
rbuf_cb(void *arg, const void *p, size_t n)
{
	struct rbuf	*b = arg;

	b->calls++;
	if (b->fail_after > 0 && b->calls == (size_t)b->fail_after)
		return -1;
	if (n > b->maxchunk)
		b->maxchunk = n;
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		if ((b->p = realloc(b->p, b->cap)) == NULL) {
			perror("realloc");
			exit(2);
		}
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

static int
read_back(struct fmt *f, const char *loc, struct rbuf *b)
{
	memset(b, 0, sizeof *b);
	b->p = t_malloc(1);	/* never NULL: memcmp(NULL, .., 0) is UB */
	b->cap = 1;
	return f->ops->read(f, loc, rbuf_cb, b);
}

/* The name part of a location "new/NAME" is a safe maildir name. */
static int
name_ok(const char *loc)
{
	const char	*name = loc + 4;

	return strncmp(loc, "new/", 4) == 0 && name[0] != '\0' &&
	    name[0] != '.' && strchr(name, '/') == NULL &&
	    strchr(name, ':') == NULL && strlen(loc) < 128 + 4;
}

/* Replace the first byte of acct/REL with c (same size: a bit flip). */
static int
alter(const char *rel, char c)
{
	char	p[512];
	int	fd, r;

	apath(p, sizeof p, rel);
	if ((fd = open(p, O_WRONLY)) == -1)
		return -1;
	r = pwrite(fd, &c, 1, 0) == 1 ? 0 : -1;
	close(fd);
	return r;
}

/* Create acct/REL with the given content. */
static int
plant(const char *rel, const char *data, size_t len)
{
	char	p[512];
	int	fd, r;

	apath(p, sizeof p, rel);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1)
		return -1;
	r = write(fd, data, len) == (ssize_t)len ? 0 : -1;
	close(fd);
	return r;
}

/* ---- registry -------------------------------------------------------- */

static void
test_md_registry(void)
{
	const struct fmt_ops	*ops = fmt_find("maildir");

	T_CHECK(ops != NULL && ops == &fmt_maildir_ops);
	if (ops == NULL)
		return;
	T_CHECK(strcmp(ops->name, "maildir") == 0);
	T_CHECK((ops->flags & FMT_F_NEEDS_SIZE) == 0);
	T_CHECK(ops->open && ops->recover && ops->check && ops->begin &&
	    ops->write && ops->end && ops->discard && ops->sync &&
	    ops->read && ops->close);
	T_CHECK(fmt_find("Maildir") == NULL);
	T_CHECK(fmt_find("") == NULL);
	T_CHECK(fmt_find("maildir ") == NULL);
}

/* ---- round trip ------------------------------------------------------ */

#define BIG	(3 * 1024 * 1024 + 17)

static void
test_md_roundtrip(void)
{
	static const size_t	 odd[] = { 1, 7, 4093, 65537, 3, 99991, 13,
				    131071, 2 };
	static const size_t	 one[] = { 1 };
	struct msg {
		const char	*data;
		size_t		 len;
		const size_t	*chunks;
		size_t		 nchunks;
		char		 loc[LOCMAX];
	} msgs[] = {
		{ S("Subject: plain\r\n\r\nbody\r\n"), NULL, 0, "" },
		{ S("Subject: nul\r\n\r\na\0b\0\0c\r\n\0"), one, 1, "" },
		{ S("Subject: cr\r\n\r\nbare\rcr\r\rand\nlf\r"), odd, 3,
		  "" },
		{ S(""), NULL, 0, "" },
		{ S("\0"), NULL, 0, "" },
		{ NULL, BIG, odd, NELEM(odd), "" },
		{ S("From nobody\n>From x\n.\r\n..\r\n"), one, 1, "" },
	};
	struct fmt	*f;
	struct rbuf	 b;
	char		*big, rel[LOCMAX + 16];
	unsigned char	 sha[HASH_LEN], got[HASH_LEN];
	size_t		 i, n = NELEM(msgs);
	int		 ok;

	if (setup() == -1) {
		T_CHECK(0);
		return;
	}
	big = t_malloc(BIG);
	for (i = 0; i < BIG; i++)	/* every byte value, CR and LF too */
		big[i] = (char)((i * 2654435761u) >> 13);
	msgs[5].data = big;

	if ((f = md_open()) == NULL) {
		T_CHECK(0);
		goto out;
	}
	T_CHECK(mode_of("maildir") == 0700);
	T_CHECK(mode_of("maildir/tmp") == 0700);
	T_CHECK(mode_of("maildir/new") == 0700);
	T_CHECK(mode_of("maildir/cur") == 0700);
	T_CHECK(f->ops->recover(f, NULL) == 0);

	for (i = 0; i < n; i++) {
		ok = put(f, msgs[i].data, msgs[i].len, msgs[i].chunks,
		    msgs[i].nchunks, msgs[i].loc, sizeof msgs[i].loc) == 0;
		T_CHECKF(ok, "message %zu", i);
		T_CHECKF(name_ok(msgs[i].loc), "location \"%s\"",
		    msgs[i].loc);
	}

	/* Before sync: everything in tmp/, nothing in new/. */
	T_CHECKF(count_dir("maildir/tmp") == (int)n, "tmp/ has %d",
	    count_dir("maildir/tmp"));
	T_CHECK(count_dir("maildir/new") == 0);
	T_CHECK(count_dir("maildir/cur") == 0);
	for (i = 0; i < n; i++) {
		snprintf(rel, sizeof rel, "maildir/tmp/%s", msgs[i].loc + 4);
		T_CHECKF(exists(rel), "%s missing before sync", rel);
		T_CHECK(mode_of(rel) == 0600);
	}
	/* and not readable at its location yet */
	memset(&b, 0, sizeof b);
	T_CHECK(f->ops->read(f, msgs[0].loc, rbuf_cb, &b) == -1);
	T_CHECK(b.len == 0 && fmt_error(f)[0] != '\0');
	free(b.p);

	T_CHECK(f->ops->sync(f) == 0);
	T_CHECK(count_dir("maildir/tmp") == 0);
	T_CHECK(count_dir("maildir/new") == (int)n);
	T_CHECK(f->ops->sync(f) == 0);		/* an empty sync */

	for (i = 0; i < n; i++) {
		snprintf(rel, sizeof rel, "maildir/%s", msgs[i].loc);
		T_CHECKF(mode_of(rel) == 0600, "%s: mode %04o", rel,
		    (unsigned)mode_of(rel));
		T_CHECKF(read_back(f, msgs[i].loc, &b) == 0, "read %zu: %s",
		    i, fmt_error(f));
		T_MEMEQ(b.p, b.len, msgs[i].data, msgs[i].len);
		T_CHECK(b.maxchunk <= 1024 * 1024);
		hash_sha256(msgs[i].data, msgs[i].len, sha);
		hash_sha256(b.p, b.len, got);
		T_CHECK(memcmp(sha, got, HASH_LEN) == 0);
		T_CHECKF(f->ops->check(f, msgs[i].loc, sha) == FMT_PRESENT,
		    "check %zu", i);
		free(b.p);
	}
	/* Big one read in several calls. */
	T_CHECK(read_back(f, msgs[5].loc, &b) == 0 && b.calls > 1);
	free(b.p);

	/* A callback that fails stops the read with -1. */
	memset(&b, 0, sizeof b);
	b.fail_after = 2;
	T_CHECK(f->ops->read(f, msgs[5].loc, rbuf_cb, &b) == -1);
	T_CHECK(b.calls == 2 && fmt_error(f)[0] != '\0');
	free(b.p);
	f->ops->close(f);

	/* Another handle, later: same bytes, nothing recovered away. */
	if ((f = md_open()) == NULL) {
		T_CHECK(0);
		goto out;
	}
	T_CHECK(f->ops->recover(f, NULL) == 0);
	T_CHECK(count_dir("maildir/new") == (int)n);
	for (i = 0; i < n; i++) {
		T_CHECK(read_back(f, msgs[i].loc, &b) == 0);
		T_MEMEQ(b.p, b.len, msgs[i].data, msgs[i].len);
		free(b.p);
	}
	f->ops->close(f);
out:
	free(big);
	teardown();
}

/* ---- discard, close, recover ----------------------------------------- */

static void
test_md_discard_recover(void)
{
	struct fmt		*f;
	struct fmt_msginfo	 mi;
	char			 loc[LOCMAX], loc2[LOCMAX];

	if (setup() == -1) {
		T_CHECK(0);
		return;
	}
	if ((f = md_open()) == NULL) {
		T_CHECK(0);
		goto out;
	}
	memset(&mi, 0, sizeof mi);

	/* discard() removes the file being written. */
	T_CHECK(f->ops->begin(f, &mi) == 0);
	T_CHECK(count_dir("maildir/tmp") == 1);
	T_CHECK(f->ops->write(f, "dup\r\n", 5) == 0);
	T_CHECK(f->ops->discard(f) == 0);
	T_CHECK(count_dir("maildir/tmp") == 0);
	/* with nothing begun, discard is a no-op */
	T_CHECK(f->ops->discard(f) == 0);

	/* A discard between ends leaves the ended ones alone. */
	T_CHECK(put(f, "keep\r\n", 6, NULL, 0, loc, sizeof loc) == 0);
	T_CHECK(f->ops->begin(f, &mi) == 0);
	T_CHECK(f->ops->discard(f) == 0);
	T_CHECK(count_dir("maildir/tmp") == 1);
	T_CHECK(f->ops->sync(f) == 0);
	T_CHECK(count_dir("maildir/new") == 1);
	T_CHECK(count_dir("maildir/tmp") == 0);

	/* close() with one message ended (unsynced) and one half written. */
	T_CHECK(put(f, "unsynced\r\n", 10, NULL, 0, loc2, sizeof loc2) == 0);
	T_CHECK(f->ops->begin(f, &mi) == 0);
	T_CHECK(f->ops->write(f, "half", 4) == 0);
	T_CHECK(count_dir("maildir/tmp") == 2);
	f->ops->close(f);
	/* the half-written one is gone; the unsynced one waits in tmp/ */
	T_CHECK(count_dir("maildir/tmp") == 1);
	T_CHECK(count_dir("maildir/new") == 1);

	/* Leftovers of a crash, then recover(): tmp/ is emptied. */
	T_CHECK(plant("maildir/tmp/1700000000.M1P1Q1R0.host", "x", 1) == 0);
	T_CHECK(plant("maildir/tmp/junk", "", 0) == 0);
	T_CHECK(count_dir("maildir/tmp") == 3);
	if ((f = md_open()) == NULL) {
		T_CHECK(0);
		goto out;
	}
	T_CHECK(f->ops->recover(f, NULL) == 0);
	T_CHECK(count_dir("maildir/tmp") == 0);
	T_CHECK(count_dir("maildir/new") == 1);
	/* the unsynced one was never committed: absent at its location */
	T_CHECK(f->ops->check(f, loc2, (const unsigned char *)
	    "0123456789abcdef0123456789abcdef") == FMT_ABSENT);
	/* and what was synced is still there */
	{
		struct rbuf	b;

		T_CHECK(read_back(f, loc, &b) == 0);
		T_MEMEQ(b.p, b.len, "keep\r\n", 6);
		free(b.p);
	}
	T_CHECK(f->ops->recover(f, NULL) == 0);	/* again: nothing to do */
	f->ops->close(f);
out:
	teardown();
}

/* ---- names ----------------------------------------------------------- */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_md_names(void)
{
	enum { N = 1000 };
	struct fmt	 *f;
	char		**locs;
	size_t		  i, dups = 0, bad = 0;

	if (setup() == -1) {
		T_CHECK(0);
		return;
	}
	if ((f = md_open()) == NULL) {
		T_CHECK(0);
		goto out;
	}
	locs = t_malloc(N * sizeof *locs);
	for (i = 0; i < N; i++) {
		locs[i] = t_malloc(LOCMAX);
		T_CHECK(put(f, "m\r\n", 3, NULL, 0, locs[i], LOCMAX) == 0);
		if (!name_ok(locs[i]))
			bad++;
		if (i % 100 == 99)
			T_CHECK(f->ops->sync(f) == 0);
	}
	T_CHECKF(bad == 0, "%zu bad names", bad);
	qsort(locs, N, sizeof *locs, cmp_str);
	for (i = 1; i < N; i++)
		if (strcmp(locs[i - 1], locs[i]) == 0)
			dups++;
	T_CHECKF(dups == 0, "%zu duplicate names", dups);
	T_CHECK(count_dir("maildir/new") == N);
	T_CHECK(count_dir("maildir/tmp") == 0);

	/* A second handle in the same second makes other names too. */
	{
		struct fmt	*g = md_open();
		char		 loc[LOCMAX];

		T_CHECK(g != NULL);
		if (g != NULL) {
			for (i = 0; i < 50; i++) {
				T_CHECK(put(g, "n\r\n", 3, NULL, 0, loc,
				    sizeof loc) == 0);
				T_CHECK(bsearch(&(char *){ loc }, locs, N,
				    sizeof *locs, cmp_str) == NULL);
			}
			T_CHECK(g->ops->sync(g) == 0);
			g->ops->close(g);
		}
		T_CHECK(count_dir("maildir/new") == N + 50);
	}
	for (i = 0; i < N; i++)
		free(locs[i]);
	free(locs);
	f->ops->close(f);
out:
	teardown();
}

/* ---- check and quarantine -------------------------------------------- */

static void
test_md_check(void)
{
	struct fmt	*f;
	char		 loc[LOCMAX], loc2[LOCMAX], rel[LOCMAX + 32];
	char		 q[LOCMAX + 32], name[LOCMAX];
	unsigned char	 sha[HASH_LEN], sha2[HASH_LEN];
	static const char m1[] = "Subject: one\r\n\r\nfirst\r\n";
	static const char m2[] = "Subject: two\r\n\r\nsecond\r\n";
	struct rbuf	 b;

	if (setup() == -1) {
		T_CHECK(0);
		return;
	}
	setenv("POPVAULT_NOW", "1700000000", 1);
	if ((f = md_open()) == NULL) {
		T_CHECK(0);
		goto out;
	}
	hash_sha256(m1, sizeof m1 - 1, sha);
	hash_sha256(m2, sizeof m2 - 1, sha2);
	T_CHECK(put(f, m1, sizeof m1 - 1, NULL, 0, loc, sizeof loc) == 0);
	T_CHECK(put(f, m2, sizeof m2 - 1, NULL, 0, loc2, sizeof loc2) == 0);
	/* Ended but not synced: not at its location yet. */
	T_CHECK(f->ops->check(f, loc, sha) == FMT_ABSENT);
	T_CHECK(f->ops->sync(f) == 0);

	T_CHECK(f->ops->check(f, loc, sha) == FMT_PRESENT);
	T_CHECK(f->ops->check(f, "new/1700000000.M0P0Q0R0.nothere", sha) ==
	    FMT_ABSENT);
	T_CHECK(f->ops->check(f, "cur/nothere", sha) == FMT_ABSENT);
	T_CHECK(!exists("quarantine"));

	/*
	 * The right file with the wrong hash: moved aside, not deleted.
	 * The hash differs in its last byte only: all of it is compared.
	 */
	{
		unsigned char	off[HASH_LEN];

		memcpy(off, sha, HASH_LEN);
		off[HASH_LEN - 1] ^= 1;
		T_CHECK(f->ops->check(f, loc, off) == FMT_QUARANTINED);
	}
	snprintf(rel, sizeof rel, "maildir/%s", loc);
	T_CHECK(!exists(rel));
	T_CHECK(mode_of("quarantine") == 0700);
	T_CHECK(count_dir("quarantine") == 1);
	/* NAME.SECONDS.RANDOM: random bits, so no clash replaces one */
	snprintf(name, sizeof name, "%.200s.1700000000.", loc + 4);
	T_CHECKF(find_random_suffix("quarantine", name, rel, sizeof rel) ==
	    0, "quarantine/%sRANDOM missing", name);
	snprintf(q, sizeof q, "quarantine/%.260s", rel);
	T_CHECKF(exists(q), "%s missing", q);
	/* the quarantined bytes are the original bytes */
	{
		char	p[512], buf[128];
		int	fd;
		ssize_t	n = -1;

		apath(p, sizeof p, q);
		if ((fd = open(p, O_RDONLY)) != -1) {
			n = read(fd, buf, sizeof buf);
			close(fd);
		}
		T_MEMEQ(buf, n < 0 ? 0 : (size_t)n, m1, sizeof m1 - 1);
	}
	T_CHECK(f->ops->check(f, loc, sha) == FMT_ABSENT);

	/* A file whose content was altered on disk. */
	snprintf(rel, sizeof rel, "maildir/%s", loc2);
	T_CHECK(alter(rel, 'X') == 0);
	T_CHECK(f->ops->check(f, loc2, sha2) == FMT_QUARANTINED);
	T_CHECK(!exists(rel));
	T_CHECK(count_dir("quarantine") == 2);
	T_CHECK(count_dir("maildir/new") == 0);

	/*
	 * A mail reader moved one to cur/NAME:2,S, and a decoy whose name
	 * only starts with NAME sits beside it. Reading and checking find
	 * the right one; an altered one is quarantined from cur/.
	 */
	T_CHECK(put(f, m1, sizeof m1 - 1, NULL, 0, loc, sizeof loc) == 0);
	T_CHECK(put(f, m2, sizeof m2 - 1, NULL, 0, loc2, sizeof loc2) == 0);
	T_CHECK(f->ops->sync(f) == 0);
	{
		char	from[512], to[512];

		snprintf(name, sizeof name, "%s", loc + 4);
		snprintf(rel, sizeof rel, "maildir/cur/%sX:2,", name);
		T_CHECK(plant(rel, "decoy", 5) == 0);
		snprintf(rel, sizeof rel, "maildir/%s", loc);
		apath(from, sizeof from, rel);
		snprintf(rel, sizeof rel, "maildir/cur/%s:2,S", name);
		apath(to, sizeof to, rel);
		T_CHECK(rename(from, to) == 0);

		snprintf(rel, sizeof rel, "maildir/%s", loc2);
		apath(from, sizeof from, rel);
		snprintf(rel, sizeof rel, "maildir/cur/%s", loc2 + 4);
		apath(to, sizeof to, rel);
		T_CHECK(rename(from, to) == 0);
	}
	T_CHECK(read_back(f, loc, &b) == 0);
	T_MEMEQ(b.p, b.len, m1, sizeof m1 - 1);
	free(b.p);
	T_CHECK(read_back(f, loc2, &b) == 0);
	T_MEMEQ(b.p, b.len, m2, sizeof m2 - 1);
	free(b.p);
	T_CHECK(f->ops->check(f, loc, sha) == FMT_PRESENT);
	T_CHECK(f->ops->check(f, loc2, sha2) == FMT_PRESENT);
	/* the cur/ form of the location works too */
	snprintf(rel, sizeof rel, "cur/%s:2,S", name);
	T_CHECK(read_back(f, rel, &b) == 0);
	T_MEMEQ(b.p, b.len, m1, sizeof m1 - 1);
	free(b.p);

	snprintf(rel, sizeof rel, "maildir/cur/%s:2,S", name);
	T_CHECK(alter(rel, 'Y') == 0);
	T_CHECK(f->ops->check(f, loc, sha) == FMT_QUARANTINED);
	T_CHECKF(!exists(rel), "%s still there", rel);
	T_CHECK(count_dir("quarantine") == 3);
	snprintf(rel, sizeof rel, "maildir/cur/%sX:2,", name);
	T_CHECK(exists(rel));	/* the decoy is untouched */
	T_CHECK(f->ops->check(f, loc, sha) == FMT_ABSENT);
	f->ops->close(f);
out:
	unsetenv("POPVAULT_NOW");
	teardown();
}

/* ---- hostile locations ----------------------------------------------- */

static void
test_md_bad_locations(void)
{
	static const char *const bad[] = {
		"", "new", "new/", "cur/", "tmp/x", "new/..", "new/.",
		"new/../new/x", "new/x/../y", "new/x/", "../acct/maildir/new/x",
		"/etc/passwd", "new//etc/passwd", "cur/.hidden", "new/.x",
		"NEW/x", "quarantine/x", "new/../../../../etc/passwd",
	};
	struct fmt	*f;
	struct rbuf	 b;
	unsigned char	 sha[HASH_LEN];
	char		 longloc[400], p[512];
	size_t		 i;

	if (setup() == -1) {
		T_CHECK(0);
		return;
	}
	if ((f = md_open()) == NULL) {
		T_CHECK(0);
		goto out;
	}
	memset(sha, 0, sizeof sha);
	/* Files that the bad locations would reach if not refused. */
	T_CHECK(plant("maildir/tmp/x", "t", 1) == 0);
	T_CHECK(plant("maildir/new/.x", "d", 1) == 0);
	T_CHECK(plant("maildir/cur/.hidden", "h", 1) == 0);
	T_CHECK(plant("x", "a", 1) == 0);
	for (i = 0; i < NELEM(bad); i++) {
		memset(&b, 0, sizeof b);
		T_CHECKF(f->ops->read(f, bad[i], rbuf_cb, &b) == -1,
		    "read \"%s\" allowed", bad[i]);
		T_CHECK(b.len == 0);
		free(b.p);
		T_CHECKF(f->ops->check(f, bad[i], sha) == FMT_CHECK_ERROR,
		    "check \"%s\"", bad[i]);
	}
	T_CHECK(!exists("quarantine"));
	T_CHECK(exists("maildir/tmp/x") && exists("maildir/new/.x"));

	/* A name too long. */
	memcpy(longloc, "new/", 4);
	memset(longloc + 4, 'a', sizeof longloc - 5);
	longloc[sizeof longloc - 1] = '\0';
	T_CHECK(f->ops->read(f, longloc, rbuf_cb, &b) == -1);

	/* A symlink in new/ is not followed. */
	apath(p, sizeof p, "maildir/new/link");
	T_CHECK(symlink("/etc/hostname", p) == 0);
	memset(&b, 0, sizeof b);
	T_CHECK(f->ops->read(f, "new/link", rbuf_cb, &b) == -1);
	T_CHECK(b.len == 0);
	free(b.p);
	T_CHECK(f->ops->check(f, "new/link", sha) == FMT_CHECK_ERROR);
	T_CHECK(mode_of("maildir/new/link") != (mode_t)-1);
	f->ops->close(f);
out:
	teardown();
}

/* ---- open ------------------------------------------------------------ */

static void
test_md_open_errors(void)
{
	const struct fmt_ops	*ops = fmt_find("maildir");
	struct fmt_args		 a;
	char			 err[512], p[512], nope[160];
	struct fmt		*f;

	if (setup() == -1 || ops == NULL) {
		T_CHECK(0);
		return;
	}
	/* The account folder must exist. */
	snprintf(nope, sizeof nope, "%s/nope", tdir);
	a.dir = nope;
	a.compress = FMT_COMP_NONE;
	err[0] = '\0';
	T_CHECK(ops->open(&a, err, sizeof err) == NULL);
	T_CHECK(err[0] != '\0');

	/* maildir/ as a symlink is refused. */
	apath(p, sizeof p, "maildir");
	T_CHECK(symlink(tdir, p) == 0);
	a.dir = acctdir;
	err[0] = '\0';
	T_CHECK((f = ops->open(&a, err, sizeof err)) == NULL);
	if (f != NULL)
		f->ops->close(f);
	T_CHECK(err[0] != '\0');
	unlink(p);

	/* Opening twice is fine, and the layout is made once. */
	T_CHECK((f = ops->open(&a, err, sizeof err)) != NULL);
	if (f != NULL)
		f->ops->close(f);
	T_CHECK((f = ops->open(&a, err, sizeof err)) != NULL);
	if (f != NULL)
		f->ops->close(f);
	T_CHECK(mode_of("maildir/new") == 0700);
	teardown();
}

int
main(void)
{
	umask(0);
	T_RUN(test_md_registry);
	T_RUN(test_md_roundtrip);
	T_RUN(test_md_discard_recover);
	T_RUN(test_md_names);
	T_RUN(test_md_check);
	T_RUN(test_md_bad_locations);
	T_RUN(test_md_open_errors);
	return T_END();
}
