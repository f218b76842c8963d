/*
 * test_imapparse.c -- unit tests for core/imapparse.c.
 *
 * The reader is fed each case whole, split in two at every byte, and
 * one byte at a time; each feeding writes a transcript (the responses,
 * and what the literal callback saw) that must equal the case's literal
 * expectation, which was written from RFC 9051's framing by hand. Then
 * the parsers: RFC 9051 and RFC 4315 examples and nasty lines, the
 * date-time both ways against hand-computed epoch seconds, and quoting.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imapparse.h"
#include "t.h"

#define B(s)	s, sizeof(s) - 1
#define TMAX	(200 * 1024)

struct tr {
	char	*s;
	size_t	 n;
};

static void
tr_add(struct tr *t, const char *p, size_t n)
{
	if (t->n + n > TMAX)
		n = TMAX - t->n;
	memcpy(t->s + t->n, p, n);
	t->n += n;
}

static int
lit_cb(void *arg, enum imap_lit_ev ev, const char *p, size_t n,
    uint64_t size)
{
	struct tr	*t = arg;
	char		 b[32];

	if (ev == IMAP_LIT_BEGIN) {
		snprintf(b, sizeof(b), "<B%llu>", (unsigned long long)size);
		tr_add(t, b, strlen(b));
	} else if (ev == IMAP_LIT_DATA)
		tr_add(t, p, n);
	else
		tr_add(t, "<E>", 3);
	return 0;
}

/*
 * Feed in/len cut at cut (len: whole) or byte by byte (step 1); the
 * transcript into t; returns the error class, or -2 if the input ended
 * inside a response.
 */
static int
run(const char *in, size_t len, size_t cut, int bytewise, size_t litmax,
    int cb, struct tr *t)
{
	static char		buf[70000];
	struct imap_reader	r;
	size_t			off = 0, end, used;
	int			x;

	t->n = 0;
	imap_reader_init(&r, buf, sizeof(buf), litmax, cb ? lit_cb : NULL, t);
	while (off < len) {
		end = bytewise ? off + 1 : (off < cut ? cut : len);
		/* Copy the piece to its own block so ASan sees overreads. */
		char *piece = t_malloc(end - off);
		memcpy(piece, in + off, end - off);
		x = imap_reader_feed(&r, piece, end - off, &used);
		free(piece);
		T_CHECK(used <= end - off);
		off += used;
		if (x == -1)
			return (int)r.err;
		if (x == 1) {
			tr_add(t, "[", 1);
			tr_add(t, r.buf, r.len);
			tr_add(t, "]", 1);
		}
	}
	return r.done ? 0 : (off == 0 && len == 0 ? 0 : -2);
}

struct rcase {
	const char	*in;
	size_t		 inlen;
	size_t		 litmax;
	int		 cb;
	int		 ret;	/* 0, -2 unfinished, or an imap_err */
	const char	*want;
	size_t		 wantlen;
};

static const struct rcase rcases[] = {
	{ B("* OK IMAP4rev2 Service Ready\r\n"), 100, 0, 0,
	  B("[* OK IMAP4rev2 Service Ready]") },
	{ B("* 172 EXISTS\r\na1 OK [READ-WRITE] SELECT completed\r\n"),
	  100, 0, 0,
	  B("[* 172 EXISTS][a1 OK [READ-WRITE] SELECT completed]") },
	{ B("+ Ready for literal data\r\n"), 100, 0, 0,
	  B("[+ Ready for literal data]") },
	{ B("* 12 FETCH (BODY[] {5}\r\nhello UID 7)\r\n"), 100, 0, 0,
	  B("[* 12 FETCH (BODY[] {5}\r\nhello UID 7)]") },
	/* CRLF, NUL, "{3}" CRLF inside a literal are data. */
	{ B("* 1 FETCH (BODY[] {9}\r\na\r\n\0{3}\r\n)\r\n"), 100, 0, 0,
	  B("[* 1 FETCH (BODY[] {9}\r\na\r\n\0{3}\r\n)]") },
	{ B("* 1 FETCH (BODY[] {0}\r\n)\r\n"), 100, 0, 0,
	  B("[* 1 FETCH (BODY[] {0}\r\n)]") },
	/* Two literals, one streamed. */
	{ B("* 2 FETCH (BODY[HEADER] {2}\r\nab BODY[] {10}\r\n0123456789"
	    " UID 9)\r\n"), 4, 1, 0,
	  B("<B10>0123456789<E>[* 2 FETCH (BODY[HEADER] {2}\r\nab BODY[] "
	    "{=10}\r\n UID 9)]") },
	{ B("* 1 FETCH (BODY[] {1}\r\nx)\r\n"), 0, 1, 0,
	  B("<B1>x<E>[* 1 FETCH (BODY[] {=1}\r\n)]") },
	/* A server's "{=3}" is no literal. */
	{ B("* OK {=3}\r\n"), 0, 1, 0, B("[* OK {=3}]") },
	{ B("* OK {3x}\r\n* OK\r\n"), 0, 1, 0, B("[* OK {3x}][* OK]") },
	/* Errors. */
	{ B("* OK a\nb\r\n"), 100, 0, IMAP_RD_PROTO, B("") },
	{ B("* OK a\rb\r\n"), 100, 0, IMAP_RD_PROTO, B("") },
	{ B("* OK a\0b\r\n"), 100, 0, IMAP_RD_PROTO, B("") },
	{ B("* OK\r\n* NO \0\r\n"), 100, 0, IMAP_RD_PROTO, B("[* OK]") },
	{ B("* 1 FETCH (BODY[] {101}\r\n"), 100, 0, IMAP_RD_LIMIT, B("") },
	{ B("* 1 FETCH (BODY[] {12345678901234567890}\r\nx"), 100, 1,
	  IMAP_RD_PROTO, B("") },
	/* A literal that never ends, and a line that never ends. */
	{ B("* 1 FETCH (BODY[] {50}\r\nabc"), 100, 0, -2, B("") },
	{ B("* 1 FETCH (BODY[] {50}\r\nabc"), 1, 1, -2, B("<B50>abc") },
	{ B("* OK no end"), 100, 0, -2, B("") },
};

static void
test_reader_table(void)
{
	const struct rcase	*c;
	struct tr		 t;
	size_t			 i, cut;
	int			 x;

	t.s = t_malloc(TMAX);
	for (i = 0; i < NELEM(rcases); i++) {
		c = &rcases[i];
		for (cut = 0; cut <= c->inlen + 1; cut++) {
			x = run(c->in, c->inlen, cut, cut == c->inlen + 1,
			    c->litmax, c->cb, &t);
			T_CHECKF(x == c->ret, "case %zu cut %zu: ret %d", i,
			    cut, x);
			T_CHECKF(t.n == c->wantlen &&
			    memcmp(t.s, c->want, t.n) == 0,
			    "case %zu cut %zu: got \"%.*s\"", i, cut,
			    (int)t.n, t.s);
		}
	}
	free(t.s);
}

static void
test_reader_caps(void)
{
	struct tr	 t;
	char		*in;
	size_t		 n;

	t.s = t_malloc(TMAX);
	/* 65534 bytes and CRLF is the longest line; one more is an error. */
	in = t_malloc(70000);
	memset(in, 'a', 70000);
	memcpy(in, "* OK ", 5);
	n = IMAP_LINE_MAX - 2;
	memcpy(in + n, "\r\n", 2);
	T_CHECK(run(in, n + 2, n + 2, 0, 0, 0, &t) == 0);
	T_CHECK(t.n == n + 2);
	n++;
	memcpy(in + n, "\r\n", 2);
	T_CHECK(run(in, n + 2, n + 2, 0, 0, 0, &t) == IMAP_RD_PROTO);
	free(in);
	/* A small buffer is IMAP_RD_LIMIT. */
	{
		char			buf[16];
		struct imap_reader	r;
		size_t			used;

		imap_reader_init(&r, buf, sizeof(buf), 100, NULL, NULL);
		T_CHECK(imap_reader_feed(&r, B("* OK 0123456789012\r\n"),
		    &used) == -1 && r.err == IMAP_RD_LIMIT);
		T_CHECK(imap_reader_feed(&r, B("* OK\r\n"), &used) == -1);
		imap_reader_init(&r, buf, sizeof(buf), 100, NULL, NULL);
		T_CHECK(imap_reader_feed(&r, B("* OK {20}\r\n"), &used) ==
		    -1 && r.err == IMAP_RD_LIMIT);
	}
	free(t.s);
}

static void
test_resp(void)
{
	struct imap_resp	r;

	T_CHECK(imap_parse_resp(B("a002 OK [APPENDUID 38505 3955] APPEND "
	    "completed"), &r) == 0);
	T_CHECK(r.kind == IMAP_K_TAGGED && r.taglen == 4 &&
	    r.status == IMAP_S_OK && r.code == IMAP_C_APPENDUID &&
	    r.n1 == 38505 && r.n2 == 3955 && r.set == NULL);
	T_MEMEQ(r.rest, r.restlen, "APPEND completed", 16);
	T_CHECK(imap_parse_resp(B("A003 OK [COPYUID 38505 304,319:320 "
	    "3956:3958] Done"), &r) == 0 && r.code == IMAP_C_COPYUID &&
	    r.n1 == 38505);
	T_MEMEQ(r.set, r.setlen, "304,319:320", 11);
	T_MEMEQ(r.set2, r.set2len, "3956:3958", 9);
	T_CHECK(imap_parse_resp(B("A1 OK [APPENDUID 1 5:7,9] multi"), &r) ==
	    0 && r.n2 == 0 && r.setlen == 5);
	T_CHECK(imap_parse_resp(B("* OK [UIDVALIDITY 3857529045] UIDs "
	    "valid"), &r) == 0 && r.kind == IMAP_K_UNTAGGED &&
	    r.code == IMAP_C_UIDVALIDITY && r.n1 == 3857529045u);
	T_CHECK(imap_parse_resp(B("* OK [UIDNEXT 4392] Predicted"), &r) ==
	    0 && r.code == IMAP_C_UIDNEXT && r.n1 == 4392);
	T_CHECK(imap_parse_resp(B("A3 NO [TRYCREATE] no mailbox"), &r) == 0 &&
	    r.status == IMAP_S_NO && r.code == IMAP_C_TRYCREATE);
	T_CHECK(imap_parse_resp(B("A3 NO [LIMIT] too big"), &r) == 0 &&
	    r.code == IMAP_C_LIMIT);
	T_CHECK(imap_parse_resp(B("A3 NO [UNAVAILABLE] later"), &r) == 0 &&
	    r.code == IMAP_C_UNAVAILABLE);
	T_CHECK(imap_parse_resp(B("* OK [ALERT] System shutdown in 10 "
	    "minutes"), &r) == 0 && r.code == IMAP_C_ALERT);
	T_CHECK(imap_parse_resp(B("* OK [READ-WRITE] x"), &r) == 0 &&
	    r.code == IMAP_C_OTHER);
	T_CHECK(imap_parse_resp(B("* OK [CAPABILITY IMAP4rev2 LITERAL+ "
	    "AUTH=PLAIN] hi"), &r) == 0 && r.code == IMAP_C_CAPABILITY);
	T_MEMEQ(r.set, r.setlen, "IMAP4rev2 LITERAL+ AUTH=PLAIN", 29);
	T_CHECK(imap_parse_resp(B("* BYE Autologout; idle for too long"),
	    &r) == 0 && r.status == IMAP_S_BYE);
	T_CHECK(imap_parse_resp(B("* 23 EXISTS"), &r) == 0 && r.has_num &&
	    r.num == 23 && r.status == IMAP_S_NONE && r.restlen == 0);
	T_CHECK(imap_parse_resp(B("* 0 EXISTS"), &r) == 0 && r.num == 0);
	T_CHECK(imap_parse_resp(B("* 4294967295 EXISTS"), &r) == 0 &&
	    r.num == UINT32_MAX);
	T_CHECK(imap_parse_resp(B("+"), &r) == 0 && r.kind == IMAP_K_CONT);
	T_CHECK(imap_parse_resp(B("+ YGgGCSqG"), &r) == 0 && r.restlen == 8);
	T_CHECK(imap_parse_resp(B("A1 OK"), &r) == 0);
	T_CHECK(imap_parse_resp(B("A1 OK [APPENDUID 5 4294967295]"), &r) ==
	    0 && r.n1 == 5 && r.n2 == UINT32_MAX && r.restlen == 0);
	T_CHECK(imap_parse_resp(B("* OK [PERMANENTFLAGS (\\Deleted \\*)] "
	    "x"), &r) == 0 && r.code == IMAP_C_OTHER && r.restlen == 1);
	T_CHECK(imap_parse_resp(B("* OK [unterminated text"), &r) == 0 &&
	    r.code == IMAP_C_NONE && r.restlen == 18);
	T_CHECK(imap_parse_resp(B("* OK [ALERT]x"), &r) == -1);
	T_CHECK(imap_parse_resp(B("* OK []"), &r) == -1);
	/* Bad ones. */
	T_CHECK(imap_parse_resp(B("* 4294967296 EXISTS"), &r) == -1);
	T_CHECK(imap_parse_resp(B("* 99999999999999999999999 EXISTS"), &r) ==
	    -1);
	T_CHECK(imap_parse_resp(B("* 01 EXISTS"), &r) == -1);
	T_CHECK(imap_parse_resp(B("* OK [UIDVALIDITY 0] x"), &r) == -1);
	T_CHECK(imap_parse_resp(B("* OK [UIDVALIDITY 4294967296] x"), &r) ==
	    -1);
	T_CHECK(imap_parse_resp(B("* OK [UIDVALIDITY 012] x"), &r) == -1);
	T_CHECK(imap_parse_resp(B("* OK [UIDVALIDITY] x"), &r) == -1);
	T_CHECK(imap_parse_resp(B("A OK [APPENDUID 1] x"), &r) == -1);
	T_CHECK(imap_parse_resp(B("A OK [APPENDUID 1 0] x"), &r) == -1);
	T_CHECK(imap_parse_resp(B("A OK [APPENDUID 1 2,] x"), &r) == -1);
	T_CHECK(imap_parse_resp(B("A OK [COPYUID 1 2] x"), &r) == -1);
	T_CHECK(imap_parse_resp(B("A OK [TRYCREATE x] x"), &r) == -1);
	T_CHECK(imap_parse_resp(B("A1 FETCH x"), &r) == -1);
	T_CHECK(imap_parse_resp(B("A+1 OK x"), &r) == -1);
	T_CHECK(imap_parse_resp(B(" OK"), &r) == -1);
	T_CHECK(imap_parse_resp(B("*"), &r) == -1);
	T_CHECK(imap_parse_resp(B(""), &r) == -1);
	T_CHECK(imap_parse_resp(B("+x"), &r) == -1);
}

static void
test_caps(void)
{
	struct imap_caps	c;

	T_CHECK(imap_parse_caps(B("IMAP4rev2 IMAP4rev1 LITERAL+ LITERAL- "
	    "UIDPLUS MULTIAPPEND STARTTLS LOGINDISABLED AUTH=PLAIN "
	    "auth=scram-sha-256 AUTH=XOAUTH2 APPENDLIMIT=35651584 X-FOO"),
	    &c) == 0);
	T_CHECK(c.flags == (IMAP_CAP_IMAP4REV1 | IMAP_CAP_IMAP4REV2 |
	    IMAP_CAP_LITERALPLUS | IMAP_CAP_LITERALMINUS | IMAP_CAP_UIDPLUS |
	    IMAP_CAP_MULTIAPPEND | IMAP_CAP_STARTTLS |
	    IMAP_CAP_LOGINDISABLED | IMAP_CAP_APPENDLIMIT));
	T_CHECK(c.auth == (IMAP_AUTH_PLAIN | IMAP_AUTH_SCRAM_SHA_256 |
	    IMAP_AUTH_XOAUTH2) && c.appendlimit == 35651584);
	T_CHECK(imap_parse_caps(B("IMAP4rev2  UIDPLUS"), &c) == -1);
	T_CHECK(imap_parse_caps(B("IMAP4rev2 "), &c) == -1);
	T_CHECK(imap_parse_caps(B("(IMAP4rev2)"), &c) == -1);
	T_CHECK(imap_parse_caps(B("APPENDLIMIT=99999999999"), &c) == 0 &&
	    c.flags == 0);
	T_CHECK(imap_parse_caps(B("sasl-ir SASL-IRX"), &c) == 0 &&
	    c.flags == IMAP_CAP_SASL_IR);
}

static void
test_search(void)
{
	uint32_t		 v[4];
	size_t			 n;
	struct imap_esearch	 e;
	const char		*p, *end;
	uint32_t		 lo, hi;

	T_CHECK(imap_parse_search(B("2 84 882"), v, 4, &n) == 0 && n == 3 &&
	    v[0] == 2 && v[1] == 84 && v[2] == 882);
	T_CHECK(imap_parse_search(B(""), v, 4, &n) == 0 && n == 0);
	T_CHECK(imap_parse_search(B("1 2 3 4 5 6"), v, 4, &n) == 0 && n == 6 &&
	    v[3] == 4);
	T_CHECK(imap_parse_search(B("1  2"), v, 4, &n) == -1);
	T_CHECK(imap_parse_search(B("0"), v, 4, &n) == -1);
	T_CHECK(imap_parse_search(B("4294967296"), v, 4, &n) == -1);
	T_CHECK(imap_parse_search(B("1 "), v, 4, &n) == -1);
	T_CHECK(imap_parse_esearch(B("(TAG \"A282\") MIN 2 COUNT 3"), &e) ==
	    0 && e.has_min && e.min == 2 && e.has_count && e.count == 3 &&
	    !e.has_max && !e.uid && e.taglen == 4);
	T_CHECK(imap_parse_esearch(B("(TAG \"A285\") UID MIN 7 MAX 3800"),
	    &e) == 0 && e.uid && e.min == 7 && e.max == 3800);
	T_CHECK(imap_parse_esearch(B("(TAG \"A284\") UID ALL 4:18,21,28"),
	    &e) == 0 && e.alllen == 10);
	T_CHECK(imap_parse_esearch(B("(TAG \"A\") COUNT 0"), &e) == 0);
	T_CHECK(imap_parse_esearch(B(""), &e) == 0);
	T_CHECK(imap_parse_esearch(B("(TAG \"A\") MIN 0"), &e) == -1);
	T_CHECK(imap_parse_esearch(B("(TAG \"A\") MIN 1 MIN 2"), &e) == -1);
	T_CHECK(imap_parse_esearch(B("ALL 1:*"), &e) == -1);
	T_CHECK(imap_parse_esearch(B("X-EXT (1 2) MIN 5"), &e) == 0 &&
	    e.min == 5);
	p = "5:3,7";
	end = p + 5;
	T_CHECK(imap_seqset_next(&p, end, &lo, &hi) == 1 && lo == 3 &&
	    hi == 5);
	T_CHECK(imap_seqset_next(&p, end, &lo, &hi) == 1 && lo == 7 &&
	    hi == 7);
	T_CHECK(imap_seqset_next(&p, end, &lo, &hi) == 0);
}

static void
test_fetch(void)
{
	struct imap_fetch	f;

	T_CHECK(imap_parse_fetch(B("(UID 4827313 BODY[] {12}\r\nHello\r\nWorld"
	    " INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 44827 "
	    "FLAGS (\\Seen \\Answered))"), 0, &f) == 0);
	T_CHECK(f.has_uid && f.uid == 4827313 && f.has_body &&
	    !f.body_streamed && f.has_size && f.size == 44827 &&
	    f.has_date && f.date == 837596665 && f.zone == -420);
	T_MEMEQ(f.body, f.bodylen, "Hello\r\nWorld", 12);
	T_CHECK(imap_parse_fetch(B("(BODY[] {=10}\r\n UID 9)"), 1, &f) == 0 &&
	    f.body_streamed && f.body == NULL && f.uid == 9);
	T_CHECK(imap_parse_fetch(B("(BODY[] {=10}\r\n UID 9)"), 0, &f) == -1);
	T_CHECK(imap_parse_fetch(B("(BODY[] NIL)"), 0, &f) == 0 &&
	    f.has_body && f.body == NULL);
	T_CHECK(imap_parse_fetch(B("(BODY[] \"abc\")"), 0, &f) == 0 &&
	    f.bodylen == 3);
	T_CHECK(imap_parse_fetch(B("(BODY[HEADER.FIELDS (DATE FROM)] {3}\r\n"
	    "abc BODY[]<0> \"x\" ENVELOPE (NIL \"a\" ((NIL NIL \"b\" \"c\"))) "
	    "UID 1)"), 0, &f) == 0 && f.uid == 1 && !f.has_body);
	T_CHECK(imap_parse_fetch(B("(RFC822.SIZE 9223372036854775807)"), 0,
	    &f) == 0 && f.size == INT64_MAX);
	T_CHECK(imap_parse_fetch(B("(RFC822.SIZE 9223372036854775808)"), 0,
	    &f) == -1);
	T_CHECK(imap_parse_fetch(B("(UID 0)"), 0, &f) == -1);
	T_CHECK(imap_parse_fetch(B("(UID 4294967296)"), 0, &f) == -1);
	T_CHECK(imap_parse_fetch(B("(UID 1 UID 2)"), 0, &f) == -1);
	T_CHECK(imap_parse_fetch(B("(UID 1"), 0, &f) == -1);
	T_CHECK(imap_parse_fetch(B("(UID 1) x"), 0, &f) == -1);
	T_CHECK(imap_parse_fetch(B("(BODY[] {13}\r\nHello)"), 0, &f) == -1);
	T_CHECK(imap_parse_fetch(B("(INTERNALDATE \"31-Feb-1996 02:44:25 "
	    "-0700\")"), 0, &f) == -1);
	T_CHECK(imap_parse_fetch(B("(X ((((((((((((((((((1)))))))))))))))))))"),
	    0, &f) == -1);
	T_CHECK(imap_parse_fetch(B("()"), 0, &f) == -1);
}

static void
test_datetime(void)
{
	char	b[IMAP_DATETIME_LEN + 1];
	time_t	t;
	int	z;

	/* 837596665 is 1996-07-17 09:44:25 UTC (date -u -d @837596665). */
	T_CHECK(imap_format_datetime(837596665, -420, b) == 0);
	T_CHECK(strcmp(b, "\"17-Jul-1996 02:44:25 -0700\"") == 0);
	T_CHECK(imap_format_datetime(0, 0, b) == 0 &&
	    strcmp(b, "\"01-Jan-1970 00:00:00 +0000\"") == 0);
	T_CHECK(imap_format_datetime(951782400, 330, b) == 0 &&
	    strcmp(b, "\"29-Feb-2000 05:30:00 +0530\"") == 0);
	T_CHECK(imap_format_datetime(-1, 0, b) == 0 &&
	    strcmp(b, "\"31-Dec-1969 23:59:59 +0000\"") == 0);
	T_CHECK(imap_format_datetime(253402300800, 0, b) == -1);
	T_CHECK(imap_format_datetime(0, 1440, b) == -1);
	T_CHECK(imap_format_datetime((time_t)INT64_MAX, 0, b) == -1);
	T_CHECK(imap_format_datetime((time_t)INT64_MIN, 0, b) == -1);
	/* 0001-01-01 00:00:00 UTC is -62135596800. */
	T_CHECK(imap_format_datetime(-62135596800, 0, b) == 0 &&
	    strcmp(b, "\"01-Jan-0001 00:00:00 +0000\"") == 0);
	T_CHECK(imap_format_datetime(-62135596801, 0, b) == -1);
	T_CHECK(imap_format_datetime(253402300799, 0, b) == 0 &&
	    strcmp(b, "\"31-Dec-9999 23:59:59 +0000\"") == 0);
	T_CHECK(imap_parse_datetime(B("\" 1-Jan-1970 00:00:00 +0100\""), &t,
	    &z) == 0 && t == -3600 && z == 60);
	T_CHECK(imap_parse_datetime(B("\"29-feb-2000 05:30:00 +0530\""), &t,
	    &z) == 0 && t == 951782400 && z == 330);
	T_CHECK(imap_parse_datetime(B("\"29-Feb-1900 05:30:00 +0530\""), &t,
	    &z) == -1);
	T_CHECK(imap_parse_datetime(B("\"17-Jul-1996 24:44:25 -0700\""), &t,
	    &z) == -1);
	T_CHECK(imap_parse_datetime(B("\"17-Jul-1996 02:44:25 0700\""), &t,
	    &z) == -1);
	T_CHECK(imap_parse_datetime(B("17-Jul-1996 02:44:25 -0700"), &t,
	    &z) == -1);
	T_CHECK(imap_parse_datetime(B("\"17-Jux-1996 02:44:25 -0700\""), &t,
	    &z) == -1);
}

static void
test_quote(void)
{
	char	o[32];
	size_t	n;

	T_CHECK(imap_astring_kind(B("INBOX")) == IMAP_AS_ATOM);
	T_CHECK(imap_astring_kind(B("a]b")) == IMAP_AS_ATOM);
	T_CHECK(imap_astring_kind(B("")) == IMAP_AS_QUOTED);
	T_CHECK(imap_astring_kind(B("Sent Items")) == IMAP_AS_QUOTED);
	T_CHECK(imap_astring_kind(B("a*")) == IMAP_AS_QUOTED);
	T_CHECK(imap_astring_kind(B("a\r")) == IMAP_AS_LITERAL);
	T_CHECK(imap_astring_kind(B("a\0")) == IMAP_AS_LITERAL);
	T_CHECK(imap_astring_kind(B("caf\xc3\xa9")) == IMAP_AS_LITERAL);
	T_CHECK(imap_quote(B("INBOX"), o, sizeof(o), &n) == 0 &&
	    strcmp(o, "INBOX") == 0 && n == 5);
	T_CHECK(imap_quote(B("a \"b\\"), o, sizeof(o), &n) == 0 &&
	    strcmp(o, "\"a \\\"b\\\\\"") == 0 && n == 9);
	T_CHECK(imap_quote(B(""), o, sizeof(o), &n) == 0 &&
	    strcmp(o, "\"\"") == 0);
	T_CHECK(imap_quote(B("a\nb"), o, sizeof(o), &n) == -1);
	T_CHECK(imap_quote(B("a b"), o, 5, &n) == -1);
	T_CHECK(imap_quote(B("a b"), o, 6, &n) == 0);
	T_CHECK(imap_quote(B("abcde"), o, 5, &n) == -1);
}

/*
 * Modified UTF-7 (RFC 3501 section 5.1.3): the RFC's own examples, a
 * code point past U+FFFF as its UTF-16 surrogate pair and a control
 * character (base64 of their UTF-16BE octets, "/" written ","), and
 * UTF-8 that is not valid refused: cut short, overlong, a surrogate.
 */
static const struct u7case {
	const char	*in;
	const char	*out;		/* NULL: refused */
} u7cases[] = {
	{ "INBOX", "INBOX" },
	{ "&", "&-" },
	{ "A&B", "A&-B" },
	{ "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
	  "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	  "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
	{ "\xf0\x9f\x98\x80", "&2D3eAA-" },
	{ "a\tb", "a&AAk-b" },
	{ "\xc3", NULL },
	{ "\xc0\xaf", NULL },
	{ "\xed\xa0\x80", NULL },
	{ "\xf4\x90\x80\x80", NULL },
	{ "\x80", NULL },
};

static void
test_utf7(void)
{
	char	out[64];
	size_t	i;
	int	r;

	for (i = 0; i < sizeof u7cases / sizeof u7cases[0]; i++) {
		r = imap_utf7_encode(u7cases[i].in, out, sizeof out);
		if (u7cases[i].out == NULL)
			T_CHECKF(r == -1, "case %zu accepted", i);
		else
			T_CHECKF(r == 0 && strcmp(out, u7cases[i].out) == 0,
			    "case %zu: %s", i, r == 0 ? out : "refused");
	}
	/* out holds the result and its NUL, or it is refused. */
	T_CHECK(imap_utf7_encode("abcdef", out, 6) == -1);
	T_CHECK(imap_utf7_encode("abcde", out, 6) == 0);
	T_CHECK(imap_utf7_encode("\xc3\xa9", out, 5) == -1);
	T_CHECK(imap_utf7_encode("\xc3\xa9", out, 6) == 0 &&
	    strcmp(out, "&AOk-") == 0);
}

int
main(void)
{
	T_RUN(test_reader_table);
	T_RUN(test_reader_caps);
	T_RUN(test_resp);
	T_RUN(test_caps);
	T_RUN(test_search);
	T_RUN(test_fetch);
	T_RUN(test_datetime);
	T_RUN(test_quote);
	T_RUN(test_utf7);
	return T_END();
}
