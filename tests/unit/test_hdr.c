/*
 * test_hdr.c -- unit tests for core/hdr.c, the streaming header scanner.
 *
 * Every case of the table is fed whole, split in two at every byte,
 * and byte by byte. Each way must give the same header-section length
 * (the sum of what hdr_feed() returned; the empty line included) and
 * the same kept values, equal to the expectation in the table. The
 * scanner lives in malloc'd memory followed by a canary, so ASan sees
 * writes past the struct and the canary sees writes past a member.
 *
 * Then the edges: lines longer than HDR_LINE_MAX, values longer than
 * HDR_VALUE_MAX, hdr_message_id() on its own, and a randomised test
 * that compares random chunkings with each other and with a reference
 * for the header length and the values.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hdr.h"
#include "t.h"

#define B(s)	s, sizeof(s) - 1
#define CANARY	0x5a

/* The long-line expectations below rely on this. */
_Static_assert(HDR_LINE_MAX - 9 > HDR_VALUE_MAX,
    "a cut Subject: line must hold a full value");

static const char *const fnames[HDR_NFIELDS] = {
	"Message-ID", "Date", "From", "Subject", "Return-Path",
	"Content-Length"
};

/* A scanner with a canary right after it. */
struct guarded {
	struct hdr_scan	h;
	unsigned char	canary[64];
};

/* What a run produced. */
struct hres {
	size_t	 hlen;		/* sum of hdr_feed() returns */
	int	 bad;		/* calls that broke the hdr_feed() contract */
	int	 have[HDR_NFIELDS];
	size_t	 vlen[HDR_NFIELDS];
	char	 val[HDR_NFIELDS][HDR_VALUE_MAX];
	int	 have_mid;
	size_t	 midlen;
	char	 mid[HDR_VALUE_MAX];
};

static void	 hdr_run(const char *, size_t, const size_t *, size_t,
		    struct hres *);
static int	 hres_same(const struct hres *, const struct hres *);

/*
 * Scan in/len in pieces ending at cuts[0..ncuts) (ascending; the end of
 * input closes the last piece). Each piece is copied into a buffer of
 * exactly its size so ASan catches reads past it. Checks the per-call
 * contract: a call returns at most its length, returns all of it while
 * still in the headers, and returns 0 once the body has started.
 */
static void
hdr_run(const char *in, size_t len, const size_t *cuts, size_t ncuts,
    struct hres *r)
{
	struct guarded	*g;
	const char	*v;
	char		*piece;
	size_t		 pos = 0, k, end, plen, got, vl;
	int		 f, in_body = 0;

	memset(r, 0, sizeof *r);
	g = t_malloc(sizeof *g);
	memset(g, 0xa5, sizeof g->h);	/* init must not rely on zeroes */
	memset(g->canary, CANARY, sizeof g->canary);
	hdr_init(&g->h);
	for (k = 0; k <= ncuts; k++) {
		end = k < ncuts ? cuts[k] : len;
		if (end < pos)
			end = pos;
		plen = end - pos;
		piece = t_malloc(plen);
		memcpy(piece, in + pos, plen);
		got = hdr_feed(&g->h, piece, plen);
		free(piece);
		if (got > plen || (in_body && got != 0))
			r->bad++;
		if (!in_body && got < plen)
			in_body = 1;
		r->hlen += got;
		pos = end;
	}
	for (k = 0; k < sizeof g->canary; k++)
		if (g->canary[k] != CANARY)
			r->bad++;
	for (f = 0; f < HDR_NFIELDS; f++) {
		if ((v = hdr_get(&g->h, (enum hdr_field)f, &vl)) == NULL)
			continue;
		if (vl > HDR_VALUE_MAX) {
			r->bad++;
			continue;
		}
		r->have[f] = 1;
		r->vlen[f] = vl;
		memcpy(r->val[f], v, vl);
	}
	if ((v = hdr_message_id(&g->h, &vl)) != NULL) {
		if (vl == 0 || vl > HDR_VALUE_MAX)
			r->bad++;
		else {
			r->have_mid = 1;
			r->midlen = vl;
			memcpy(r->mid, v, vl);
		}
	}
	free(g);
}

static int
hres_same(const struct hres *a, const struct hres *b)
{
	int	f;

	if (a->bad || b->bad || a->hlen != b->hlen ||
	    a->have_mid != b->have_mid || a->midlen != b->midlen ||
	    memcmp(a->mid, b->mid, a->midlen) != 0)
		return 0;
	for (f = 0; f < HDR_NFIELDS; f++)
		if (a->have[f] != b->have[f] || a->vlen[f] != b->vlen[f] ||
		    memcmp(a->val[f], b->val[f], a->vlen[f]) != 0)
			return 0;
	return 1;
}

/* ---- the table ------------------------------------------------------ */

/* An expected value: NULL when absent; len counts embedded NULs. */
struct xval {
	const char	*s;
	size_t		 len;
};

#define V(s)	{ s, sizeof(s) - 1 }
#define NONE	{ NULL, 0 }

static const struct hcase {
	const char	*name;
	const char	*in;
	size_t		 inlen;
	size_t		 hlen;
	struct xval	 v[HDR_NFIELDS];	/* mid, date, from, subj, rp */
	struct xval	 mid;			/* hdr_message_id() */
} hcases[] = {
	{ "CRLF, all five",
	  B("Return-Path: <bounce@x.example>\r\n"
	    "Message-ID: <1@x.example>\r\n"
	    "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
	    "From: A <a@x.example>\r\n"
	    "Subject: hello\r\n"
	    "\r\n"
	    "Subject: not a header\r\n"), 139,
	  { V("<1@x.example>"), V("Mon, 1 Jan 2024 00:00:00 +0000"),
	    V("A <a@x.example>"), V("hello"), V("<bounce@x.example>") },
	  V("<1@x.example>") },
	{ "LF only",
	  B("Subject: s\nFrom: f\n\nbody\nMessage-ID: <no@x>\n"), 20,
	  { NONE, NONE, V("f"), V("s"), NONE }, NONE },
	{ "empty header section, CRLF",
	  B("\r\nSubject: body\r\n"), 2,
	  { NONE, NONE, NONE, NONE, NONE }, NONE },
	{ "empty header section, LF",
	  B("\nSubject: body\n"), 1,
	  { NONE, NONE, NONE, NONE, NONE }, NONE },
	{ "empty input", B(""), 0,
	  { NONE, NONE, NONE, NONE, NONE }, NONE },
	{ "no empty line: all headers",
	  B("Subject: a\r\nFrom: b\r\n"), 21,
	  { NONE, NONE, V("b"), V("a"), NONE }, NONE },
	{ "no empty line, no final line end",
	  B("Subject: a\r\nFrom: b"), 19,
	  { NONE, NONE, NONE, V("a"), NONE }, NONE },
	{ "mixed CRLF and LF line ends",
	  B("Subject: a\nFrom: b\r\n\nx"), 21,
	  { NONE, NONE, V("b"), V("a"), NONE }, NONE },
	{ "LF then CRLF empty line",
	  B("Subject: a\n\r\nbody"), 13,
	  { NONE, NONE, NONE, V("a"), NONE }, NONE },
	{ "folded with space: only the line break goes",
	  B("Subject: one\r\n two\r\n  three\r\n\r\n"), 31,
	  { NONE, NONE, NONE, V("one two  three"), NONE }, NONE },
	{ "folded with tab, LF ends",
	  B("Subject: one\n\ttwo\n\n"), 19,
	  { NONE, NONE, NONE, V("one\ttwo"), NONE }, NONE },
	{ "folded Message-ID",
	  B("Message-ID:\r\n <folded@x>\r\n\r\n"), 28,
	  { V(" <folded@x>"), NONE, NONE, NONE, NONE }, V("<folded@x>") },
	{ "fold of an unkept header is not appended",
	  B("Subject: s\r\nX-Other: o\r\n more\r\n\r\n"), 33,
	  { NONE, NONE, NONE, V("s"), NONE }, NONE },
	{ "fold of a second Subject is not appended",
	  B("Subject: s\r\nSubject: t\r\n more\r\n\r\n"), 33,
	  { NONE, NONE, NONE, V("s"), NONE }, NONE },
	{ "fold at the very start is ignored",
	  B(" lead\r\nSubject: s\r\n\r\n"), 21,
	  { NONE, NONE, NONE, V("s"), NONE }, NONE },
	{ "line without colon ends a fold",
	  B("Subject: s\r\nnocolon\r\n more\r\n\r\n"), 30,
	  { NONE, NONE, NONE, V("s"), NONE }, NONE },
	{ "case-insensitive names",
	  B("MESSAGE-ID: <u@x>\r\ndAtE: d\r\nfrom: f\r\nSUBJECT: s\r\n"
	    "return-PATH: <r>\r\n\r\n"), 69,
	  { V("<u@x>"), V("d"), V("f"), V("s"), V("<r>") }, V("<u@x>") },
	{ "space and tab before the colon",
	  B("Message-ID : <sp@x>\r\nSubject\t: t\r\nFrom \t : f\r\n\r\n"),
	  48,
	  { V("<sp@x>"), NONE, V("f"), V("t"), NONE }, V("<sp@x>") },
	{ "leading blanks of the value go, trailing stay",
	  B("Subject: \t  a b  \r\n\r\n"), 21,
	  { NONE, NONE, NONE, V("a b  "), NONE }, NONE },
	{ "no space after the colon",
	  B("Subject:x\r\n\r\n"), 13,
	  { NONE, NONE, NONE, V("x"), NONE }, NONE },
	{ "empty value counts as the first",
	  B("Subject:\r\nSubject: second\r\n\r\n"), 29,
	  { NONE, NONE, NONE, V(""), NONE }, NONE },
	{ "first of each kept, second Message-ID ignored",
	  B("Message-ID: <first@x>\r\nMessage-ID: <second@x>\r\n"
	    "From: 1\r\nFrom: 2\r\n\r\n"), 67,
	  { V("<first@x>"), NONE, V("1"), NONE, NONE }, V("<first@x>") },
	{ "prefix and suffix names do not match",
	  B("Subjects: no\r\nSubjec: no\r\nX-Subject: no\r\nResent-From: no\r\n"
	    "Message-ID-X: no\r\nFrom : yes\r\n\r\n"), 90,
	  { NONE, NONE, V("yes"), NONE, NONE }, NONE },
	{ "mbox From_ line is not From:",
	  B("From a@b Mon Jan  1 00:00:00 2024\r\nFrom: real\r\n\r\n"), 49,
	  { NONE, NONE, V("real"), NONE, NONE }, NONE },
	{ "NUL in a value is kept",
	  B("Subject: a\0b\r\nFrom: \0\r\n\r\n"), 25,
	  { NONE, NONE, V("\0"), V("a\0b"), NONE }, NONE },
	{ "NUL in a name: no match",
	  B("Subj\0ect: no\r\nFrom\0: no\r\n\0From: no\r\nDate: d\r\n\r\n"),
	  47,
	  { NONE, V("d"), NONE, NONE, NONE }, NONE },
	{ "NUL line is not the empty line",
	  B("\0\r\nSubject: s\r\n\r\n"), 17,
	  { NONE, NONE, NONE, V("s"), NONE }, NONE },
	{ "blank-only line is a fold, not the end",
	  B("Subject: s\r\n \r\nFrom: f\r\n\r\n"), 26,
	  { NONE, NONE, V("f"), V("s "), NONE }, NONE },
	{ "CR CR LF is not the empty line",
	  B("Subject: s\r\n\r\r\nFrom: f\r\n\r\n"), 26,
	  { NONE, NONE, V("f"), V("s"), NONE }, NONE },
	{ "bare CR inside a value",
	  B("Subject: a\rb\r\n\r\n"), 16,
	  { NONE, NONE, NONE, V("a\rb"), NONE }, NONE },
	{ "value ending in CR CR",
	  B("Message-ID: abc \r\r\n\r\n"), 21,
	  { V("abc \r"), NONE, NONE, NONE, NONE }, V("abc") },
	{ "8-bit bytes",
	  B("Subject: \xc3\xa9t\xc3\xa9\r\n\r\n"), 18,
	  { NONE, NONE, NONE, V("\xc3\xa9t\xc3\xa9"), NONE }, NONE },
	{ "Message-ID: junk around the brackets",
	  B("Message-ID: (comment) <a.b@c> trailing\r\n\r\n"), 42,
	  { V("(comment) <a.b@c> trailing"), NONE, NONE, NONE, NONE },
	  V("<a.b@c>") },
	{ "Message-ID: no brackets, trimmed",
	  B("Message-ID:   bare@id\t \r\n\r\n"), 27,
	  { V("bare@id\t "), NONE, NONE, NONE, NONE }, V("bare@id") },
	{ "Message-ID: unclosed bracket",
	  B("Message-ID: <open@x \r\n\r\n"), 24,
	  { V("<open@x "), NONE, NONE, NONE, NONE }, V("<open@x") },
	{ "Message-ID: '>' before '<'",
	  B("Message-ID: a> <b@c>\r\n\r\n"), 24,
	  { V("a> <b@c>"), NONE, NONE, NONE, NONE }, V("<b@c>") },
	{ "Message-ID: blanks only",
	  B("Message-ID: \t \r\n\r\n"), 18,
	  { V(""), NONE, NONE, NONE, NONE }, NONE },
	{ "Message-ID: empty",
	  B("Message-ID:\r\n\r\n"), 15,
	  { V(""), NONE, NONE, NONE, NONE }, NONE },
	{ "Message-ID: two bracket pairs, first wins",
	  B("Message-ID: <one@x> <two@x>\r\n\r\n"), 31,
	  { V("<one@x> <two@x>"), NONE, NONE, NONE, NONE }, V("<one@x>") },
	{ "body looks like headers",
	  B("X: y\r\n\r\nMessage-ID: <body@x>\r\n\r\nFrom: body\r\n"), 8,
	  { NONE, NONE, NONE, NONE, NONE }, NONE },
};

/* Feed one input whole, split in two everywhere, and byte by byte. */
static void
hdr_all_splits(const char *name, const char *in, size_t len,
    const struct hres *want)
{
	struct hres	*r = t_malloc(sizeof *r);
	size_t		*cuts, k;

	hdr_run(in, len, NULL, 0, r);
	T_CHECKF(hres_same(r, want), "%s: whole: hlen %zu (want %zu)", name,
	    r->hlen, want->hlen);
	for (k = 0; k <= len; k++) {
		hdr_run(in, len, &k, 1, r);
		T_CHECKF(hres_same(r, want), "%s: split at %zu: hlen %zu "
		    "(want %zu)", name, k, r->hlen, want->hlen);
	}
	cuts = t_malloc(len * sizeof *cuts);
	for (k = 0; k < len; k++)
		cuts[k] = k + 1;
	hdr_run(in, len, cuts, len, r);
	T_CHECKF(hres_same(r, want), "%s: byte by byte: hlen %zu (want %zu)",
	    name, r->hlen, want->hlen);
	free(cuts);
	free(r);
}

static void
hres_expect(struct hres *w, size_t hlen, const struct xval *v,
    const struct xval *mid)
{
	int	f;

	memset(w, 0, sizeof *w);
	w->hlen = hlen;
	for (f = 0; f < HDR_NFIELDS; f++) {
		if (v[f].s == NULL)
			continue;
		w->have[f] = 1;
		w->vlen[f] = v[f].len;
		memcpy(w->val[f], v[f].s, v[f].len);
	}
	if (mid->s != NULL) {
		w->have_mid = 1;
		w->midlen = mid->len;
		memcpy(w->mid, mid->s, mid->len);
	}
}

static void
test_hdr_table(void)
{
	const struct hcase	*c;
	struct hres		*w = t_malloc(sizeof *w), *r;
	size_t			 i;
	int			 f;

	r = t_malloc(sizeof *r);
	for (i = 0; i < NELEM(hcases); i++) {
		c = &hcases[i];
		hres_expect(w, c->hlen, c->v, &c->mid);
		/* Say which part differs when the whole run is wrong. */
		hdr_run(c->in, c->inlen, NULL, 0, r);
		T_CHECKF(r->hlen == c->hlen, "%s: hlen %zu, want %zu",
		    c->name, r->hlen, c->hlen);
		for (f = 0; f < HDR_NFIELDS; f++)
			T_CHECKF(r->have[f] == w->have[f] &&
			    r->vlen[f] == w->vlen[f] &&
			    memcmp(r->val[f], w->val[f], w->vlen[f]) == 0,
			    "%s: %s: have %d len %zu \"%.*s\"", c->name,
			    fnames[f], r->have[f], r->vlen[f],
			    (int)r->vlen[f], r->val[f]);
		T_CHECKF(r->have_mid == w->have_mid &&
		    r->midlen == w->midlen &&
		    memcmp(r->mid, w->mid, w->midlen) == 0,
		    "%s: hdr_message_id: have %d \"%.*s\"", c->name,
		    r->have_mid, (int)r->midlen, r->mid);
		hdr_all_splits(c->name, c->in, c->inlen, w);
	}
	free(r);
	free(w);
}

/* The header length is reported by the call that sees the empty line. */
static void
test_hdr_return_values(void)
{
	struct hdr_scan	*h = t_malloc(sizeof *h);

	hdr_init(h);
	T_CHECK(hdr_feed(h, "Subject: x\r\n", 12) == 12);
	T_CHECK(hdr_feed(h, "", 0) == 0);
	T_CHECK(hdr_feed(h, "\r", 1) == 1);
	T_CHECK(hdr_feed(h, "\nbody\r\n\r\n", 9) == 1);
	T_CHECK(hdr_feed(h, "more", 4) == 0);
	T_CHECK(hdr_feed(h, "\r\nSubject: y\r\n", 15) == 0);

	/* hdr_init() starts over, forgetting the values. */
	hdr_init(h);
	{
		size_t	len = 99;

		T_CHECK(hdr_get(h, HDR_SUBJECT, &len) == NULL);
		T_CHECK(len == 99);
		T_CHECK(hdr_message_id(h, &len) == NULL);
	}
	T_CHECK(hdr_feed(h, "\n", 1) == 1);
	T_CHECK(hdr_feed(h, "\n", 1) == 0);
	free(h);
}

/* ---- long lines and long values ------------------------------------- */

static char *
repeat(size_t n, char c)
{
	char	*p = t_malloc(n);

	memset(p, c, n);
	return p;
}

/* Build "prefix" + n bytes of c (pattern) + "suffix" in a new buffer. */
static char *
build(const char *pre, size_t n, const char *suf, size_t *len)
{
	size_t	 pl = strlen(pre), sl = strlen(suf), i;
	char	*p = t_malloc(pl + n + sl);

	memcpy(p, pre, pl);
	for (i = 0; i < n; i++)
		p[pl + i] = (char)('a' + i % 26);
	memcpy(p + pl + n, suf, sl);
	*len = pl + n + sl;
	return p;
}

static void
test_hdr_long_line(void)
{
	static const size_t	 sizes[] = {
		HDR_VALUE_MAX - 1, HDR_VALUE_MAX, HDR_VALUE_MAX + 1,
		HDR_LINE_MAX - 10, HDR_LINE_MAX - 9, HDR_LINE_MAX - 8,
		HDR_LINE_MAX, HDR_LINE_MAX + 1, 5000, 70000
	};
	struct hres	*w = t_malloc(sizeof *w), *r = t_malloc(sizeof *r);
	char		*msg, *exp, name[64];
	size_t		 i, n, len, keep;

	for (i = 0; i < NELEM(sizes); i++) {
		n = sizes[i];
		/*
		 * "Subject: " is 9 bytes. A line cut at HDR_LINE_MAX still
		 * holds more than HDR_VALUE_MAX bytes of value, so the value
		 * is the first min(n, HDR_VALUE_MAX) bytes either way.
		 */
		msg = build("Subject: ", n, "\r\nFrom: after\r\n\r\nbody",
		    &len);
		keep = n < HDR_VALUE_MAX ? n : HDR_VALUE_MAX;
		exp = msg + 9;
		memset(w, 0, sizeof *w);
		w->hlen = len - 4;
		w->have[HDR_SUBJECT] = 1;
		w->vlen[HDR_SUBJECT] = keep;
		memcpy(w->val[HDR_SUBJECT], exp, keep);
		w->have[HDR_FROM] = 1;
		w->vlen[HDR_FROM] = 5;
		memcpy(w->val[HDR_FROM], "after", 5);
		hdr_run(msg, len, NULL, 0, r);
		T_CHECKF(hres_same(r, w), "subject of %zu: hlen %zu, subject "
		    "%zu bytes (want %zu), from %d", n, r->hlen,
		    r->vlen[HDR_SUBJECT], keep, r->have[HDR_FROM]);
		snprintf(name, sizeof name, "subject of %zu", n);
		if (len < 6000)
			hdr_all_splits(name, msg, len, w);
		free(msg);
	}

	/*
	 * Lines that fill the line buffer exactly (CR included), and one
	 * byte more or less: none hides the empty line after it or the
	 * header after that.
	 */
	for (n = HDR_LINE_MAX - 11; n <= HDR_LINE_MAX - 7; n++) {
		msg = build("Subject: ", n, "\r\nFrom: f\r\n\r\nb", &len);
		hdr_run(msg, len, NULL, 0, r);
		T_CHECKF(r->hlen == len - 1 && r->bad == 0 &&
		    r->vlen[HDR_SUBJECT] == HDR_VALUE_MAX &&
		    r->vlen[HDR_FROM] == 1 && r->val[HDR_FROM][0] == 'f',
		    "line of %zu", 9 + n + 1);
		free(msg);
	}

	/*
	 * Many blanks after the colon: the line is cut at HDR_LINE_MAX
	 * bytes before the value reaches HDR_VALUE_MAX, so the value ends
	 * exactly where the line buffer did.
	 */
	msg = t_malloc(8 + 200 + 1000 + 6);
	memcpy(msg, "Subject:", 8);
	memset(msg + 8, ' ', 200);
	memset(msg + 208, 'v', 1000);
	memcpy(msg + 1208, "\r\n\r\nxy", 6);
	memset(w, 0, sizeof *w);
	w->hlen = 1212;
	w->have[HDR_SUBJECT] = 1;
	w->vlen[HDR_SUBJECT] = HDR_LINE_MAX - 208;
	memset(w->val[HDR_SUBJECT], 'v', HDR_LINE_MAX - 208);
	hdr_all_splits("blanks then a long value", msg, 1214, w);
	free(msg);

	/* A long line of an unkept header does not hide the next one. */
	msg = build("X-Long: ", 100000, "\nMessage-ID: <m@x>\n\nb", &len);
	hdr_run(msg, len, NULL, 0, r);
	T_CHECK(r->hlen == len - 1);
	T_MEMEQ(r->mid, r->midlen, "<m@x>", 5);
	free(msg);

	/*
	 * A long line of blanks and then the empty line: the long line is
	 * not the end, the empty line after it is.
	 */
	exp = repeat(3000, ' ');
	msg = t_malloc(3000 + 4);
	memcpy(msg, exp, 3000);
	memcpy(msg + 3000, "\n\nx\n", 4);
	hdr_run(msg, 3004, NULL, 0, r);
	T_CHECK(r->hlen == 3002 && r->bad == 0);
	free(msg);
	free(exp);

	/* A long line of CRs: never "empty", although every byte is CR. */
	exp = repeat(HDR_LINE_MAX + 5, '\r');
	msg = t_malloc(HDR_LINE_MAX + 5 + 3);
	memcpy(msg, exp, HDR_LINE_MAX + 5);
	memcpy(msg + HDR_LINE_MAX + 5, "\n\nx", 3);
	hdr_run(msg, HDR_LINE_MAX + 8, NULL, 0, r);
	T_CHECK(r->hlen == HDR_LINE_MAX + 7 && r->bad == 0);
	free(msg);
	free(exp);
	free(w);
	free(r);
}

/* A folded value growing past HDR_VALUE_MAX is cut, whatever the split. */
static void
test_hdr_long_value(void)
{
	struct hres	*w = t_malloc(sizeof *w), *r = t_malloc(sizeof *r);
	char		*msg, *unf;
	size_t		 len = 0, ulen = 0, i, j;

	msg = t_malloc(20000);
	unf = t_malloc(20000);
	memcpy(msg, "Message-ID: <", 13);
	len = 13;
	unf[ulen++] = '<';
	for (i = 0; i < 40; i++) {
		for (j = 0; j < 60; j++) {
			msg[len++] = (char)('A' + (i + j) % 26);
			unf[ulen++] = msg[len - 1];
		}
		memcpy(msg + len, "\r\n\t", 3);
		len += 3;
		unf[ulen++] = '\t';
	}
	msg[len++] = '>';
	unf[ulen++] = '>';
	memcpy(msg + len, "\r\nSubject: s\r\n\r\nbody", 20);
	len += 20;
	T_CHECK(ulen > HDR_VALUE_MAX);

	memset(w, 0, sizeof *w);
	w->hlen = len - 4;
	w->have[HDR_MESSAGE_ID] = 1;
	w->vlen[HDR_MESSAGE_ID] = HDR_VALUE_MAX;
	memcpy(w->val[HDR_MESSAGE_ID], unf, HDR_VALUE_MAX);
	w->have[HDR_SUBJECT] = 1;
	w->vlen[HDR_SUBJECT] = 1;
	w->val[HDR_SUBJECT][0] = 's';
	/* The cut removed the '>': the trimmed value is what remains. */
	w->have_mid = 1;
	w->midlen = HDR_VALUE_MAX;
	memcpy(w->mid, unf, HDR_VALUE_MAX);
	hdr_all_splits("folded Message-ID of 2.4 KB", msg, len, w);

	/* Every field full at once: the last one ends the struct. */
	len = 0;
	for (i = 0; i < HDR_NFIELDS; i++) {
		const char	*nm = fnames[HDR_NFIELDS - 1 - i];

		memcpy(msg + len, nm, strlen(nm));
		len += strlen(nm);
		memcpy(msg + len, ": ", 2);
		len += 2;
		for (j = 0; j < 3; j++) {
			memset(msg + len, 'a' + (int)j, 900);
			len += 900;
			memcpy(msg + len, "\r\n ", 3);
			len += 3;
		}
		memcpy(msg + len, "x\r\n", 3);
		len += 3;
	}
	memcpy(msg + len, "\r\n", 2);
	len += 2;
	hdr_run(msg, len, NULL, 0, r);
	T_CHECK(r->bad == 0 && r->hlen == len);
	for (i = 0; i < HDR_NFIELDS; i++) {
		T_CHECK(r->have[i] && r->vlen[i] == HDR_VALUE_MAX);
		T_CHECK(r->val[i][0] == 'a' && r->val[i][899] == 'a' &&
		    r->val[i][900] == ' ' && r->val[i][901] == 'b' &&
		    r->val[i][HDR_VALUE_MAX - 1] == 'b');
	}
	free(msg);
	free(unf);
	free(w);
	free(r);
}

/* ---- randomised: chunkings agree, and agree with a reference ---------- */

static uint64_t	rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
xorshift64(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static size_t
rnd(size_t n)
{
	return n == 0 ? 0 : (size_t)(xorshift64() % n);
}

static int
cmp_size(const void *a, const void *b)
{
	size_t	x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The reference, for inputs whose lines are all shorter than
 * HDR_LINE_MAX: RFC 5322 as directly as possible on the whole buffer.
 */
static void
ref_scan(const char *in, size_t len, struct hres *r)
{
	size_t	pos = 0, ll, nl, n, k, room;
	int	cur = -1, f;

	memset(r, 0, sizeof *r);
	while (pos < len) {
		const char	*line = in + pos, *nlp, *colon;

		if ((nlp = memchr(line, '\n', len - pos)) == NULL) {
			pos = len;	/* unfinished line: headers */
			break;
		}
		nl = (size_t)(nlp - line);
		pos += nl + 1;
		ll = nl;
		if (ll > 0 && line[ll - 1] == '\r')
			ll--;
		if (ll == 0)
			break;		/* the empty line */
		if (line[0] == ' ' || line[0] == '\t') {
			if (cur >= 0) {
				room = HDR_VALUE_MAX - r->vlen[cur];
				n = ll < room ? ll : room;
				memcpy(r->val[cur] + r->vlen[cur], line, n);
				r->vlen[cur] += n;
			}
			continue;
		}
		cur = -1;
		if ((colon = memchr(line, ':', ll)) == NULL)
			continue;
		n = (size_t)(colon - line);
		while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
			n--;
		for (f = 0; f < HDR_NFIELDS; f++) {
			if (strlen(fnames[f]) != n)
				continue;
			for (k = 0; k < n; k++)
				if ((line[k] | 0x20) != (fnames[f][k] | 0x20))
					break;
			if (k == n)
				break;
		}
		if (f == HDR_NFIELDS || r->have[f])
			continue;
		r->have[f] = 1;
		cur = f;
		k = n;
		while (line[k] != ':')
			k++;
		k++;
		while (k < ll && (line[k] == ' ' || line[k] == '\t'))
			k++;
		n = ll - k < HDR_VALUE_MAX ? ll - k : HDR_VALUE_MAX;
		memcpy(r->val[f], line + k, n);
		r->vlen[f] = n;
	}
	r->hlen = pos;
}

static void
test_hdr_random(void)
{
	static const char *const tok[] = {
		"Subject", "FROM", "message-id", "Date", "Return-Path",
		"X-Other", ":", ": ", " :", " ", "\t", "\r\n", "\r\n", "\n",
		"\n", "\r", "\0", "<", ">", "@", "a", "bc", "\r\n ",
		"\r\n\t", "Message-ID: <", "Subject: ",
	};
	char		 in[4096];
	size_t		 cuts[12], len, n, k, t, iter;
	struct hres	*ref = t_malloc(sizeof *ref), *r = t_malloc(sizeof *r);
	struct hres	*whole = t_malloc(sizeof *whole);
	int		 f, ok;

	for (iter = 0; iter < 3000; iter++) {
		len = 0;
		n = 1 + rnd(iter % 7 == 0 ? 400 : 40);
		for (k = 0; k < n; k++) {
			t = rnd(NELEM(tok));
			/* "\0" is a one-byte token, strlen would say 0 */
			if (tok[t][0] == '\0') {
				in[len++] = '\0';
				continue;
			}
			if (len + strlen(tok[t]) > 1000)
				break;
			memcpy(in + len, tok[t], strlen(tok[t]));
			len += strlen(tok[t]);
		}
		/* Some long folded runs to reach HDR_VALUE_MAX. */
		if (iter % 11 == 0) {
			memcpy(in + len, "\nSubject: ", 10);
			len += 10;
			for (k = 0; k < 30; k++) {
				memset(in + len, 'q', 90);
				len += 90;
				memcpy(in + len, "\r\n ", 3);
				len += 3;
			}
		}
		ref_scan(in, len, ref);
		hdr_run(in, len, NULL, 0, whole);
		ok = whole->hlen == ref->hlen && !whole->bad;
		for (f = 0; f < HDR_NFIELDS; f++)
			ok = ok && whole->have[f] == ref->have[f] &&
			    whole->vlen[f] == ref->vlen[f] &&
			    memcmp(whole->val[f], ref->val[f],
			    ref->vlen[f]) == 0;
		T_CHECKF(ok, "random %zu: hlen %zu, ref %zu", iter,
		    whole->hlen, ref->hlen);
		n = rnd(NELEM(cuts) + 1);
		for (k = 0; k < n; k++)
			cuts[k] = rnd(len + 1);
		qsort(cuts, n, sizeof cuts[0], cmp_size);
		hdr_run(in, len, cuts, n, r);
		T_CHECKF(hres_same(r, whole), "random %zu: %zu cuts differ "
		    "from whole", iter, n);
		if (!ok)
			break;
	}
	free(ref);
	free(r);
	free(whole);
}

int
main(void)
{
	T_RUN(test_hdr_table);
	T_RUN(test_hdr_return_values);
	T_RUN(test_hdr_long_line);
	T_RUN(test_hdr_long_value);
	T_RUN(test_hdr_random);
	return T_END();
}
