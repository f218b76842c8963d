/*
 * test_import.c -- reading other programs' mail files (core/mboxparse.c)
 * and the import source (core/source_import.c) without the run: files
 * are written into a temporary folder by this test's own writers
 * (mboxrd quoting, Content-Length, Maildir names), listed and retrieved
 * through the source interface into a sink that keeps the bytes, and
 * compared with the messages the writers were given. The scanner and
 * the unquoting filter are also fed every split of their input: the
 * result must not depend on it.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mboxparse.h"
#include "source.h"
#include "util.h"
#include "t.h"

/* ---- the scanner, every split ---------------------------------------- */

struct ev {
	char	log[4096];
	size_t	n;
	char	bytes[4096];
	size_t	nb;
};

static void
ev_add(struct ev *e, char tag, unsigned long long v, int plus)
{
	int	k = snprintf(e->log + e->n, sizeof e->log - e->n, "%c%llu%s ",
		    tag, v, plus ? "+" : "");

	if (k > 0 && (size_t)k < sizeof e->log - e->n)
		e->n += (size_t)k;
}

static void
ev_sep(void *a, uint64_t off, int blank)
{
	ev_add(a, 'S', (unsigned long long)off, blank);
}

static void
ev_bytes(void *a, const char *p, size_t n)
{
	struct ev	*e = a;

	if (e->nb + n <= sizeof e->bytes) {
		memcpy(e->bytes + e->nb, p, n);
		e->nb += n;
	}
}

static void
ev_clen(void *a, uint64_t v)
{
	ev_add(a, 'L', (unsigned long long)v, 0);
}

static void
ev_body(void *a, uint64_t off)
{
	ev_add(a, 'B', (unsigned long long)off, 0);
}

static void
ev_bad(void *a, uint64_t off)
{
	ev_add(a, 'X', (unsigned long long)off, 0);
}

static void
scan_split(const char *in, size_t len, const size_t *cuts, size_t ncuts,
    struct ev *e)
{
	struct mboxscan_cb	cb = { ev_sep, ev_bytes, ev_clen, ev_body,
				    ev_bad, NULL };
	struct mboxscan		s;
	size_t			at = 0, k;

	memset(e, 0, sizeof *e);
	cb.arg = e;
	mboxscan_init(&s, &cb);
	for (k = 0; k <= ncuts; k++) {
		size_t	to = k < ncuts ? cuts[k] : len;

		mboxscan_feed(&s, in + at, to - at);
		at = to;
	}
	mboxscan_end(&s);
}

static const char scan_in[] =
    "From alice@example.org Mon Jan  1 10:00:00 2024\n"
    "Content-Length: 6\n"
    "Subject: one\n"
    "\n"
    "body.\n"
    "\n"
    "From bob Tue Feb 13 09:05:00 2024\r\n"
    "Subject: two\r\n"
    "\r\n"
    "From here on\n"
    ">From quoted\n"
    "\n"
    "From someone without a date\n"
    "From carol Wed Mar  6 1:02 2024\n"
    "\n"
    "tail without newline";

static void
test_scan_events(void)
{
	struct ev	e;
	char		want[4096];

	scan_split(scan_in, sizeof scan_in - 1, NULL, 0, &e);
	snprintf(want, sizeof want, "S0+ L6 B%zu S%zu+ B%zu X%zu X%zu S%zu "
	    "B%zu ",
	    strstr(scan_in, "body.") - scan_in,
	    strstr(scan_in, "From bob") - scan_in,
	    strstr(scan_in, "From here") - scan_in,
	    strstr(scan_in, "From here") - scan_in,
	    strstr(scan_in, "From someone") - scan_in,
	    strstr(scan_in, "From carol") - scan_in,
	    strstr(scan_in, "tail") - scan_in);
	T_CHECKF(e.n == strlen(want) && memcmp(e.log, want, e.n) == 0,
	    "events \"%.*s\", want \"%s\"", (int)e.n, e.log, want);
	T_MEMEQ(e.bytes, e.nb, scan_in, sizeof scan_in - 1);
}

static void
test_scan_splits(void)
{
	struct ev	whole, part;
	size_t		len = sizeof scan_in - 1, a, b, cuts[2];
	int		bad = 0;

	scan_split(scan_in, len, NULL, 0, &whole);
	for (a = 0; a <= len && !bad; a++)
		for (b = a; b <= len && !bad; b++) {
			cuts[0] = a;
			cuts[1] = b;
			scan_split(scan_in, len, cuts, 2, &part);
			if (part.n != whole.n || memcmp(part.log, whole.log,
			    whole.n) != 0 || part.nb != whole.nb ||
			    memcmp(part.bytes, whole.bytes, whole.nb) != 0) {
				fprintf(stderr, "split at %zu, %zu: \"%.*s\"\n",
				    a, b, (int)part.n, part.log);
				bad = 1;
			}
		}
	T_CHECK(!bad);
}

static void
test_from_dated(void)
{
	static const struct {
		const char	*line;
		int		 dated;
	} c[] = {
		{ "From MAILER-DAEMON Thu Dec  3 13:27:38 2026", 1 },
		{ "From - Mon Jan 1 00:00:00 2024", 1 },
		{ "From \"a b\"@x.org Sat Feb 29 23:59:59 2020", 1 },
		{ "From a@b Fri, 13 Mar 2020 10:00", 0 },
		{ "From the start of a line", 0 },
		{ "From a@b Mon Jan  1 10:00 2024", 1 },
		{ "From a@b Mon Foo  1 10:00:00 2024", 0 },
		{ "From a@b Mon Jan", 0 },
		{ "From ", 0 },
		{ "Frim a@b Mon Jan  1 10:00:00 2024", 0 },
	};
	size_t	i;

	for (i = 0; i < sizeof c / sizeof c[0]; i++)
		T_CHECKF(mbox_from_dated(c[i].line, strlen(c[i].line)) ==
		    c[i].dated, "%s", c[i].line);
}

static void
test_sniff(void)
{
	T_CHECK(mbox_sniff("From x\n", 7) == MBOX_KIND_MBOX);
	T_CHECK(mbox_sniff("Return-Path: <a>\n", 17) == MBOX_KIND_MESSAGE);
	T_CHECK(mbox_sniff("X-Weird.Name_1: v", 17) == MBOX_KIND_MESSAGE);
	T_CHECK(mbox_sniff(": x\n", 4) == MBOX_KIND_NONE);
	T_CHECK(mbox_sniff("Hello world\n", 12) == MBOX_KIND_NONE);
	T_CHECK(mbox_sniff("\x89PNG\r\n", 6) == MBOX_KIND_NONE);
	T_CHECK(mbox_sniff("", 0) == MBOX_KIND_NONE);
	T_CHECK(mbox_sniff("\nFrom: a\n", 9) == MBOX_KIND_NONE);
	T_CHECK(mbox_crlf("a: b\r\nc: d\r\n", 12));
	T_CHECK(!mbox_crlf("a: b\r\nc: d\n", 11));
	T_CHECK(!mbox_crlf("a: b\nlast\r\n", 12));
	T_CHECK(!mbox_crlf("a: b", 4));
	T_CHECK(!mbox_crlf("\n", 1));
}

/* ---- the unquoting filter, every split ------------------------------- */

struct obuf {
	char	b[4096];
	size_t	n;
};

static int
ob_out(void *a, const char *p, size_t n)
{
	struct obuf	*o = a;

	if (o->n + n > sizeof o->b)
		return -1;
	memcpy(o->b + o->n, p, n);
	o->n += n;
	return 0;
}

static void
test_unquote(void)
{
	static const struct {
		const char	*in, *out;
		int		 unquote, crlf;
	} c[] = {
		{ ">From a\n>>From b\n>>>From c\n", "From a\n>From b\n>>From c\n",
		    1, 1 },
		{ ">From a\n", ">From a\n", 0, 1 },
		{ "x >From a\n>Fro\n>\n>>\nFrom\n", "x >From a\n>Fro\n>\n>>\nFrom\n",
		    1, 1 },
		{ "a\r\nb\r\n>From c\r\n", "a\nb\nFrom c\n", 1, 1 },
		{ "a\r\nb\r\n>From c\r\n", "a\r\nb\r\nFrom c\r\n", 1, 0 },
		{ "last\r\n", "last\r\n", 0, 0 },
		{ "bare\rcr\r", "bare\rcr\r", 1, 1 },
		{ "\r\r\n", "\r\n", 1, 1 },
		{ ">From", ">From", 1, 1 },
		{ ">>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>"
		  ">>>>>>>>From x\n",
		  ">>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>"
		  ">>>>>>>>From x\n", 1, 1 },
		{ "", "", 1, 1 },
	};
	struct mboxunq	u;
	struct obuf	o;
	size_t		i, a, len;
	int		bad;

	for (i = 0; i < sizeof c / sizeof c[0]; i++) {
		len = strlen(c[i].in);
		bad = 0;
		for (a = 0; a <= len; a++) {
			memset(&o, 0, sizeof o);
			mboxunq_init(&u, c[i].unquote, c[i].crlf, ob_out, &o);
			if (mboxunq_feed(&u, c[i].in, a) == -1 ||
			    mboxunq_feed(&u, c[i].in + a, len - a) == -1 ||
			    mboxunq_end(&u) == -1 || o.n != strlen(c[i].out) ||
			    memcmp(o.b, c[i].out, o.n) != 0)
				bad = 1;
		}
		/* One byte at a time. */
		memset(&o, 0, sizeof o);
		mboxunq_init(&u, c[i].unquote, c[i].crlf, ob_out, &o);
		for (a = 0; a < len; a++)
			(void)mboxunq_feed(&u, c[i].in + a, 1);
		(void)mboxunq_end(&u);
		if (o.n != strlen(c[i].out) || memcmp(o.b, c[i].out, o.n) != 0)
			bad = 1;
		T_CHECKF(!bad, "case %zu: got \"%.*s\"", i, (int)o.n, o.b);
	}
}

/* ---- the source, on files this test writes --------------------------- */

#define MAXMSG	64

struct got {
	char	*b[MAXMSG];
	size_t	 n[MAXMSG];
	int	 failed[MAXMSG];
	size_t	 cur;
	char	 why[512];
};

static int
g_begin(void *a, size_t i)
{
	struct got	*g = a;

	g->cur = i;
	free(g->b[i]);
	g->b[i] = NULL;
	g->n[i] = 0;
	return 0;
}

static int
g_data(void *a, const char *p, size_t n)
{
	struct got	*g = a;

	g->b[g->cur] = realloc(g->b[g->cur], g->n[g->cur] + n + 1);
	memcpy(g->b[g->cur] + g->n[g->cur], p, n);
	g->n[g->cur] += n;
	return 0;
}

static int
g_end(void *a, size_t i)
{
	return 0;
}

static int
g_failed(void *a, size_t i, const char *why)
{
	struct got	*g = a;

	g->failed[i] = 1;
	snprintf(g->why, sizeof g->why, "%s", why);
	return 0;
}

static void
g_free(struct got *g)
{
	size_t	i;

	for (i = 0; i < MAXMSG; i++)
		free(g->b[i]);
	memset(g, 0, sizeof *g);
}

struct errs {
	int	n;
	char	last[1024];
};

static void
on_err(void *a, const char *where, const char *why)
{
	struct errs	*e = a;

	e->n++;
	snprintf(e->last, sizeof e->last, "%s: %s", where, why);
}

/*
 * List paths and retrieve everything; *n gets the listing's length.
 * Returns the source (closed by the caller) or NULL.
 */
static struct source *
run_import(const char *const *paths, size_t np, struct pop3_listing *l,
    struct got *g, struct errs *e)
{
	struct source_import_args	 a;
	struct source_sink		 sk = { g_begin, g_data, g_end,
					    g_failed, NULL, NULL };
	struct source			*s;
	size_t				 which[MAXMSG], i;

	memset(&a, 0, sizeof a);
	memset(l, 0, sizeof *l);
	memset(g, 0, sizeof *g);
	memset(e, 0, sizeof *e);
	a.paths = paths;
	a.npaths = np;
	a.item_error = on_err;
	a.arg = e;
	sk.arg = g;
	s = source_import_new(&a);
	if (s->ops->connect(s) == -1 || s->ops->list(s, l) == -1) {
		fprintf(stderr, "list: %s\n", source_error(s));
		s->ops->close(s);
		return NULL;
	}
	for (i = 0; i < l->n && i < MAXMSG; i++)
		which[i] = i;
	if (s->ops->retrieve(s, l, which, i, &sk) == -1)
		fprintf(stderr, "retrieve: %s\n", source_error(s));
	return s;
}

static const char *const msgs[] = {
	"Return-Path: <a@example.org>\nFrom: a@example.org\nSubject: 1\n\n"
	    "plain.\n",
	"Subject: from lines\n\nFrom the start\n>From quoted\n>>From twice\n"
	    "From Mon Jan  1 10:00:00 2024 looks dated\n",
	"Subject: empty body\n\n",
	"Subject: blank lines at the end\n\nx\n\n\n",
	"Subject: no final newline\n\nlast",
};
#define NMSGS	(sizeof msgs / sizeof msgs[0])

/* This test's mboxrd writer: quoting, a dated From_ line, empty lines. */
static void
write_mboxrd(const char *path, const char *const *m, size_t n, int crlf)
{
	FILE	*f = fopen(path, "w");
	size_t	 i;

	for (i = 0; f != NULL && i < n; i++) {
		const char	*p = m[i], *q;
		size_t		 k, len = strlen(m[i]);

		fputs(crlf ? "From x@y Mon Jan  1 10:00:00 2024\r\n" :
		    "From x@y Mon Jan  1 10:00:00 2024\n", f);
		while (*p != '\0') {
			q = strchr(p, '\n');
			k = q != NULL ? (size_t)(q - p) : strlen(p);
			size_t	gt = 0;

			while (gt < k && p[gt] == '>')
				gt++;
			if (k - gt >= 5 && memcmp(p + gt, "From ", 5) == 0)
				fputc('>', f);
			fwrite(p, 1, k, f);
			if (q != NULL)
				fputs(crlf ? "\r\n" : "\n", f);
			p += k + (q != NULL);
		}
		if (len > 0 && m[i][len - 1] != '\n')
			fputs(crlf ? "\r\n" : "\n", f);	/* as writers do */
		fputs(crlf ? "\r\n" : "\n", f);
	}
	if (f != NULL)
		fclose(f);
}

static void
test_source_mbox(void)
{
	char			 dir[256], path[1024];
	const char		*paths[1] = { path };
	struct pop3_listing	 l;
	struct got		 g;
	struct errs		 e;
	struct source		*s;
	size_t			 i, k;
	int			 crlf;

	if (t_tmpdir(dir, sizeof dir, "imp") == -1) {
		T_CHECK(0);
		return;
	}
	for (crlf = 0; crlf < 2; crlf++) {
		snprintf(path, sizeof path, "%s/box%d", dir, crlf);
		write_mboxrd(path, msgs, NMSGS, crlf);
		s = run_import(paths, 1, &l, &g, &e);
		T_CHECK(s != NULL);
		if (s == NULL)
			continue;
		T_CHECKF(l.n == NMSGS, "%zu messages", l.n);
		T_CHECK(e.n == 0);
		for (i = 0; i < l.n && i < NMSGS; i++) {
			const char	*w = msgs[i];
			size_t		 wl = strlen(w);
			char		 fixed[512];

			/* The writer added the missing final newline. */
			if (wl > 0 && w[wl - 1] != '\n') {
				snprintf(fixed, sizeof fixed, "%s\n", w);
				w = fixed;
				wl++;
			}
			T_CHECKF(g.n[i] == wl && g.b[i] != NULL &&
			    memcmp(g.b[i], w, wl) == 0, "message %zu: \"%.*s\"",
			    i, (int)g.n[i], g.b[i] ? g.b[i] : "");
		}
		/* The same file again: the same ids. */
		{
			struct pop3_listing	l2;
			struct got		g2;
			struct errs		e2;
			struct source		*s2;

			s2 = run_import(paths, 1, &l2, &g2, &e2);
			T_CHECK(s2 != NULL && l2.n == l.n);
			for (k = 0; s2 != NULL && k < l.n && k < l2.n; k++)
				T_CHECK(l.e[k].uid_len == l2.e[k].uid_len &&
				    memcmp(POP3_UID(&l, k), POP3_UID(&l2, k),
				    l.e[k].uid_len) == 0);
			if (s2 != NULL)
				s2->ops->close(s2);
			pop3_listing_free(&l2);
			g_free(&g2);
		}
		s->ops->close(s);
		pop3_listing_free(&l);
		g_free(&g);
	}
	t_rmrf(dir);
}

/* A Content-Length mbox: bodies are not quoted, the header says where. */
static void
test_source_cl2(void)
{
	char			 dir[256], path[1024];
	const char		*paths[1] = { path };
	static const char	 body1[] = "line\n\nFrom x@y Mon Jan  1 10:00:00 "
				    "2024\nnot a separator\n";
	static const char	 body2[] = "second\n";
	static const char	 body3q[] = ">From quoted by the writer\n",
				 body3[] = "From quoted by the writer\n";
	struct pop3_listing	 l;
	struct got		 g;
	struct errs		 e;
	struct source		*s;
	FILE			*f;

	if (t_tmpdir(dir, sizeof dir, "imp") == -1) {
		T_CHECK(0);
		return;
	}
	snprintf(path, sizeof path, "%s/cl", dir);
	f = fopen(path, "w");
	fprintf(f, "From a@b Mon Jan  1 10:00:00 2024\nSubject: a\n"
	    "Content-Length: %zu\n\n%s\n", strlen(body1), body1);
	fprintf(f, "From a@b Mon Jan  1 10:00:00 2024\nSubject: b\n"
	    "Content-Length: %zu\n\n%s\n", strlen(body2), body2);
	/* A writer that quotes and adds Content-Length (mutt): unquoted. */
	fprintf(f, "From a@b Mon Jan  1 10:00:00 2024\nSubject: c\n"
	    "Content-Length: %zu\n\n%s\n", strlen(body3q), body3q);
	fclose(f);
	s = run_import(paths, 1, &l, &g, &e);
	T_CHECK(s != NULL);
	if (s != NULL) {
		char	want[512];

		T_CHECKF(l.n == 3, "%zu messages", l.n);
		snprintf(want, sizeof want, "Subject: a\nContent-Length: %zu"
		    "\n\n%s", strlen(body1), body1);
		T_CHECK(g.b[0] != NULL && g.n[0] == strlen(want) &&
		    memcmp(g.b[0], want, g.n[0]) == 0);
		snprintf(want, sizeof want, "Subject: c\nContent-Length: %zu"
		    "\n\n%s", strlen(body3q), body3);
		T_CHECKF(g.b[2] != NULL && g.n[2] == strlen(want) &&
		    memcmp(g.b[2], want, g.n[2]) == 0, "\"%.*s\"",
		    (int)g.n[2], g.b[2] ? g.b[2] : "");
		s->ops->close(s);
	}
	pop3_listing_free(&l);
	g_free(&g);
	t_rmrf(dir);
}

static void
put(const char *path, const char *text, size_t len)
{
	int	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd != -1) {
		if (write(fd, text, len) != (ssize_t)len)
			perror(path);
		close(fd);
	}
}

/* Maildir: new/ and cur/ with flags; tmp/, metadata and junk skipped. */
static void
test_source_maildir(void)
{
	char			 dir[256], p[1024];
	const char		*paths[1] = { dir };
	static const char	 m1[] = "Subject: new\r\n\r\nCRLF body\r\n",
				 m2[] = "Subject: seen\n\nread\n";
	struct pop3_listing	 l;
	struct got		 g;
	struct errs		 e;
	struct source		*s;
	const char		*path, *flags;
	char			 pos[64], uid[45];

	if (t_tmpdir(dir, sizeof dir, "imp") == -1) {
		T_CHECK(0);
		return;
	}
	snprintf(p, sizeof p, "%s/md", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/md/new", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/md/cur", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/md/tmp", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/md/new/1.A.host", dir);
	put(p, m1, sizeof m1 - 1);
	snprintf(p, sizeof p, "%s/md/cur/2.B.host:2,RS", dir);
	put(p, m2, sizeof m2 - 1);
	snprintf(p, sizeof p, "%s/md/cur/3.C.host:2,", dir);
	put(p, "\x89PNG\r\n\x1a\n\0\0", 10);	/* not mail */
	snprintf(p, sizeof p, "%s/md/tmp/4.D.host", dir);
	put(p, m2, sizeof m2 - 1);		/* being delivered */
	snprintf(p, sizeof p, "%s/md/dovecot-uidlist", dir);
	put(p, "3 V1 N2\n", 8);
	/* A link back up: never followed. */
	snprintf(p, sizeof p, "%s/loop", dir);
	T_CHECK(symlink(dir, p) == 0);
	s = run_import(paths, 1, &l, &g, &e);
	T_CHECK(s != NULL);
	if (s != NULL) {
		T_CHECKF(l.n == 2, "%zu messages", l.n);
		T_CHECKF(e.n == 2, "%d errors, last %s", e.n, e.last);
		/* cur/ before new/? Listing order: new/ first, then cur/. */
		T_CHECK(g.b[0] != NULL && g.n[0] == 24 &&
		    memcmp(g.b[0], "Subject: new\n\nCRLF body\n", 24) == 0);
		T_CHECK(g.b[1] != NULL && g.n[1] == sizeof m2 - 1 &&
		    memcmp(g.b[1], m2, g.n[1]) == 0);
		T_CHECK(source_import_origin(s, 1, uid, &path, pos, sizeof pos,
		    &flags) == 0 && flags != NULL && strcmp(flags, "RS") == 0 &&
		    strncmp(uid, "imp-", 4) == 0 && strlen(uid) == 44);
		s->ops->close(s);
	}
	pop3_listing_free(&l);
	g_free(&g);
	t_rmrf(dir);
}

/* A file that changes between the listing and the reading. */
static void
test_source_changed(void)
{
	char			 dir[256], path[1024];
	const char		*paths[1] = { path };
	struct source_import_args a;
	struct source_sink	 sk = { g_begin, g_data, g_end, g_failed,
				    NULL, NULL };
	struct pop3_listing	 l;
	struct got		 g;
	struct errs		 e;
	struct source		*s;
	size_t			 which[2] = { 0, 1 };
	FILE			*f;

	if (t_tmpdir(dir, sizeof dir, "imp") == -1) {
		T_CHECK(0);
		return;
	}
	snprintf(path, sizeof path, "%s/box", dir);
	write_mboxrd(path, msgs, 2, 0);
	memset(&a, 0, sizeof a);
	memset(&l, 0, sizeof l);
	memset(&g, 0, sizeof g);
	memset(&e, 0, sizeof e);
	a.paths = paths;
	a.npaths = 1;
	a.item_error = on_err;
	a.arg = &e;
	sk.arg = &g;
	s = source_import_new(&a);
	T_CHECK(s->ops->connect(s) == 0 && s->ops->list(s, &l) == 0);
	T_CHECK(l.n == 2);
	f = fopen(path, "a");
	fputs("From x@y Mon Jan  1 10:00:00 2024\nSubject: new\n\nx\n\n", f);
	fclose(f);
	T_CHECK(s->ops->retrieve(s, &l, which, 2, &sk) == 0);
	T_CHECK(g.failed[0] && g.failed[1]);
	T_CHECK(strstr(g.why, "changed since it was listed") != NULL);
	s->ops->close(s);
	pop3_listing_free(&l);
	g_free(&g);
	t_rmrf(dir);
}

/* A "From " line without a date, and a file cut in the middle. */
static void
test_source_broken(void)
{
	char			 dir[256], path[1024];
	const char		*paths[1] = { path };
	static const char	 box[] =
	    "From a@b Mon Jan  1 10:00:00 2024\nSubject: 1\n\nx\n\n"
	    "From broken line\nstill message 1\n\n"
	    "From a@b Mon Jan  1 10:00:00 2024\nSubject: 2\n\ny";
	struct pop3_listing	 l;
	struct got		 g;
	struct errs		 e;
	struct source		*s;

	if (t_tmpdir(dir, sizeof dir, "imp") == -1) {
		T_CHECK(0);
		return;
	}
	snprintf(path, sizeof path, "%s/box", dir);
	put(path, box, sizeof box - 1);
	s = run_import(paths, 1, &l, &g, &e);
	T_CHECK(s != NULL);
	if (s != NULL) {
		static const char	w0[] = "Subject: 1\n\nx\n\n"
					    "From broken line\nstill message 1\n";

		T_CHECKF(l.n == 2, "%zu messages", l.n);
		T_CHECK(g.b[0] != NULL && g.n[0] == sizeof w0 - 1 &&
		    memcmp(g.b[0], w0, g.n[0]) == 0);
		/* No final newline: kept as it is. */
		T_CHECK(g.b[1] != NULL && g.n[1] == 13 &&
		    memcmp(g.b[1], "Subject: 2\n\ny", 13) == 0);
		s->ops->close(s);
	}
	pop3_listing_free(&l);
	g_free(&g);
	t_rmrf(dir);
}

int
main(void)
{
	T_RUN(test_from_dated);
	T_RUN(test_sniff);
	T_RUN(test_scan_events);
	T_RUN(test_scan_splits);
	T_RUN(test_unquote);
	T_RUN(test_source_mbox);
	T_RUN(test_source_cl2);
	T_RUN(test_source_maildir);
	T_RUN(test_source_changed);
	T_RUN(test_source_broken);
	return T_END();
}
