/*
 * test_pop3parse.c -- unit tests for core/pop3parse.c.
 *
 * The dot decoder is checked three ways. A table of cases with literal
 * expectations is fed whole, split in two at every byte, and byte by
 * byte; every call's input and output end exactly where a malloc'd
 * block ends, so ASan catches a decoder that reads past its input or
 * writes one byte more than it was given.
 * Then a differential test runs a byte-at-a-time reference decoder and
 * dot_feed() side by side on pseudo-random input with random chunking.
 *
 * The line parsers are table-driven, good lines and bad; for a bad line
 * the outputs must be left untouched. Literals go through B() so that
 * embedded NULs count.
 */

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pop3parse.h"
#include "t.h"

#define B(s)	s, sizeof(s) - 1

/* ---- dot decoder: driver ------------------------------------------- */

struct dres {
	char	*out;		/* all output, room for the input length */
	size_t	 outlen;
	size_t	 consumed;
	int	 ret;
	int	 bad;		/* calls that broke the per-call contract */
	char	*iscr, *oscr;	/* scratch for one call's input and output */
	size_t	 cap;		/* their exact malloc size */
};

static void	 dres_init(struct dres *, size_t);
static void	 dres_free(struct dres *);
static void	 dot_run(const char *, size_t, const size_t *, size_t,
		    struct dres *);
static int	 dres_match(const struct dres *, const char *, size_t, size_t,
		    int);
static void	 dot_all_splits(const char *, const char *, size_t,
		    const char *, size_t, size_t, int);
static int	 ref_decode(const char *, size_t, char *, size_t *, size_t *);

/* malloc, exactly n bytes (ASan's redzone starts right after), or die.
 * Zero is rounded up to one so that NULL always means failure. */
/* Room for decoding inputs of up to len bytes. */
static void
dres_init(struct dres *r, size_t len)
{
	r->cap = len;
	r->out = t_malloc(len);
	r->iscr = t_malloc(len);
	r->oscr = t_malloc(len);
}

static void
dres_free(struct dres *r)
{
	free(r->out);
	free(r->iscr);
	free(r->oscr);
}

/*
 * Decode in/len (len <= r->cap) with a fresh state into r->out, in
 * pieces that end at cuts[0..ncuts) (ascending, each at most len; the
 * end of input closes the last piece; equal cuts make empty pieces;
 * with ncuts 0, cuts is not read but must not be NULL).
 *
 * Each call's input and output sit at the very end of a malloc'd block
 * of exactly r->cap bytes, so ASan catches a read past the piece or a
 * write past inlen bytes of output. The per-call contract is checked:
 * outlen and consumed at most inlen, consumed == inlen when 0 is
 * returned, and once 1 is returned another call (with the rest of the
 * input) consumes and writes nothing and returns 1 again.
 */
static void
dot_run(const char *in, size_t len, const size_t *cuts, size_t ncuts,
    struct dres *r)
{
	struct dot_state	 ds;
	size_t			 pos = 0, k, end, plen, olen, used;
	char			*ip, *op;
	int			 ret = 0;

	r->outlen = 0;
	r->bad = 0;
	dot_init(&ds);
	for (k = 0; k <= ncuts; k++) {
		end = k < ncuts ? cuts[k] : len;
		if (end < pos)
			end = pos;
		plen = end - pos;
		ip = r->iscr + r->cap - plen;
		op = r->oscr + r->cap - plen;
		memcpy(ip, in + pos, plen);
		olen = used = SIZE_MAX;
		ret = dot_feed(&ds, ip, plen, op, &olen, &used);
		if (olen > plen || used > plen || (ret == 0 && used != plen) ||
		    (ret != 0 && ret != 1)) {
			r->bad++;
			break;
		}
		memcpy(r->out + r->outlen, op, olen);
		r->outlen += olen;
		pos += used;
		if (ret == 1)
			break;
	}
	if (ret == 1) {
		plen = len - pos;
		ip = r->iscr + r->cap - plen;
		op = r->oscr + r->cap - plen;
		memcpy(ip, in + pos, plen);
		olen = used = SIZE_MAX;
		if (dot_feed(&ds, ip, plen, op, &olen, &used) != 1 ||
		    olen != 0 || used != 0)
			r->bad++;
	}
	r->consumed = pos;
	r->ret = ret;
}

/*
 * Does r match the expectation? After the terminator the output must be
 * exact; before it, the decoder may still owe its last byte (see the
 * dot_feed() contract), so the output may be one byte short.
 */
static int
dres_match(const struct dres *r, const char *out, size_t outlen,
    size_t consumed, int ret)
{
	if (r->bad || r->ret != ret || r->consumed != consumed)
		return (0);
	if (r->outlen != outlen && !(ret == 0 && r->outlen + 1 == outlen))
		return (0);
	return (memcmp(r->out, out, r->outlen) == 0);
}

/*
 * Check one input every way: whole (exact: a fresh state owes nothing),
 * split in two at every byte, and byte by byte.
 */
static void
dot_all_splits(const char *name, const char *in, size_t len,
    const char *out, size_t outlen, size_t consumed, int ret)
{
	struct dres	 r;
	size_t		*cuts, k;

	dres_init(&r, len);
	dot_run(in, len, &len, 0, &r);
	T_CHECKF(r.bad == 0 && r.ret == ret && r.consumed == consumed &&
	    r.outlen == outlen && memcmp(r.out, out, outlen) == 0,
	    "%s: whole: ret %d consumed %zu outlen %zu", name, r.ret,
	    r.consumed, r.outlen);

	for (k = 0; k <= len; k++) {
		dot_run(in, len, &k, 1, &r);
		T_CHECKF(dres_match(&r, out, outlen, consumed, ret),
		    "%s: split at %zu: ret %d consumed %zu outlen %zu", name,
		    k, r.ret, r.consumed, r.outlen);
	}

	cuts = t_malloc(len * sizeof *cuts);
	for (k = 0; k < len; k++)
		cuts[k] = k + 1;
	dot_run(in, len, cuts, len, &r);
	T_CHECKF(dres_match(&r, out, outlen, consumed, ret),
	    "%s: byte by byte: ret %d consumed %zu outlen %zu", name, r.ret,
	    r.consumed, r.outlen);
	dres_free(&r);
	free(cuts);
}

/* ---- dot decoder: table -------------------------------------------- */

static const struct dcase {
	const char	*name;
	const char	*in;
	size_t		 inlen;
	const char	*out;
	size_t		 outlen;
	size_t		 consumed;
	int		 ret;
} dcases[] = {
	{ "empty message",	B(".\r\n"),		B(""),		3, 1 },
	{ "one line",		B("abc\r\n.\r\n"),	B("abc\n"),	8, 1 },
	{ "empty line",		B("\r\n.\r\n"),		B("\n"),	5, 1 },
	{ "two lines",		B("a\r\nb\r\n.\r\n"),	B("a\nb\n"),	9, 1 },
	{ "line ..",		B("..\r\n.\r\n"),	B(".\n"),	7, 1 },
	{ "line ...",		B("...\r\n.\r\n"),	B("..\n"),	8, 1 },
	{ "line .x",		B(".x\r\n.\r\n"),	B("x\n"),	7, 1 },
	{ "line .TAB",		B(".\t\r\n.\r\n"),	B("\t\n"),	7, 1 },
	{ "line .SP",		B(". \r\n.\r\n"),	B(" \n"),	7, 1 },
	{ "line .NUL",		B(".\0\r\n.\r\n"),	B("\0\n"),	7, 1 },
	{ "line ..CR",		B("..\r"),		B("."),		3, 0 },
	{ "dot then CR only",	B(".\r"),		B(""),		2, 0 },
	{ "dot only",		B("."),			B(""),		1, 0 },
	{ "dot CR CR LF",	B(".\r\r\n.\r\n"),	B("\r\n"),	7, 1 },
	{ "dot CR x",		B(".\rx\r\n.\r\n"),	B("\rx\n"),	8, 1 },
	{ "dot CR dot",		B(".\r.\r\n.\r\n"),	B("\r.\n"),	8, 1 },
	{ "dot CR NUL",		B(".\r\0\r\n.\r\n"),	B("\r\0\n"),	8, 1 },
	{ "dot LF",		B(".\n.\r\n"),		B("\n.\n"),	5, 0 },
	{ "NULs",		B("a\0b\r\n\0\r\n.\r\n"),
	    B("a\0b\n\0\n"), 11, 1 },
	{ "only NUL",		B("\0"),		B("\0"),	1, 0 },
	{ "bare CR",		B("a\rb\r\n.\r\n"),	B("a\rb\n"),	8, 1 },
	{ "CR CR LF",		B("a\r\r\n.\r\n"),	B("a\r\n"),	7, 1 },
	{ "CR CR CR LF",	B("a\r\r\r\n.\r\n"),	B("a\r\r\n"),	8, 1 },
	{ "bare CR, dot",	B("a\r.\r\n.\r\n"),	B("a\r.\n"),	8, 1 },
	{ "CR at start",	B("\r.\r\n.\r\n"),	B("\r.\n"),	7, 1 },
	{ "bare LF",		B("a\nb\r\n.\r\n"),	B("a\nb\n"),	8, 1 },
	{ "bare LF, dot line",	B("a\n.\r\n.\r\n"),	B("a\n.\n"),	8, 1 },
	{ "LF at start",	B("\n.\r\n"),		B("\n.\n"),	4, 0 },
	{ "LF CR LF",		B("a\n\r\n.\r\n"),	B("a\n\n"),	7, 1 },
	{ "LF-only terminator",	B("a\r\n.\n"),		B("a\n\n"),	5, 0 },
	{ "dot inside line",	B("x.\r\n.\r\n"),	B("x.\n"),	7, 1 },
	{ "8-bit",		B("\xff\x80\r\n.\r\n"),	B("\xff\x80\n"), 7, 1 },
	{ "trailing data",	B("abc\r\n.\r\nNEXT"),	B("abc\n"),	8, 1 },
	{ "next response",	B(".\r\n+OK\r\n"),	B(""),		3, 1 },
	{ "two terminators",	B(".\r\n.\r\n"),	B(""),		3, 1 },
	{ "trailing dots",	B("a\r\n.\r\n.."),	B("a\n"),	6, 1 },
	{ "no terminator",	B("abc\r\n"),		B("abc\n"),	5, 0 },
	{ "ends in CR",		B("abc\r"),		B("abc"),	4, 0 },
	{ "bare CR, no end",	B("a\rbc"),		B("a\rbc"),	4, 0 },
	{ "empty input",	B(""),			B(""),		0, 0 },
};

static void
test_dot_table(void)
{
	const struct dcase	*c;
	struct dres		 r;
	char			*ext, name[64];
	size_t			 i, extlen;

	for (i = 0; i < NELEM(dcases); i++) {
		c = &dcases[i];
		dot_all_splits(c->name, c->in, c->inlen, c->out, c->outlen,
		    c->consumed, c->ret);
		if (c->ret == 1)
			continue;
		/*
		 * An unfinished case, finished: with a terminator added the
		 * output is exact for every split, so compare all splits to
		 * the whole run.
		 */
		extlen = c->inlen + 5;
		ext = t_malloc(extlen);
		memcpy(ext, c->in, c->inlen);
		memcpy(ext + c->inlen, "\r\n.\r\n", 5);
		dres_init(&r, extlen);
		dot_run(ext, extlen, &extlen, 0, &r);
		(void)snprintf(name, sizeof name, "%s + terminator", c->name);
		T_CHECKF(r.bad == 0 && r.ret == 1, "%s: ret %d", name, r.ret);
		dot_all_splits(name, ext, extlen, r.out, r.outlen,
		    r.consumed, r.ret);
		dres_free(&r);
		free(ext);
	}
}

/* One long line (100 KiB, with NULs, bare CRs and bare LFs inside), a
 * stuffed line and the terminator, split at every byte. */
static void
test_dot_long_line(void)
{
	const size_t	 n = 100 * 1024;
	const char	 tail[] = "\r\n..\r\n.\r\nTRAIL";
	char		*in, *exp;
	size_t		 i, inlen, explen;
	char		 c;

	inlen = n + sizeof tail - 1;
	in = t_malloc(inlen);
	exp = t_malloc(n + 3);
	for (i = 0; i < n; i++) {
		c = (char)('a' + i % 26);
		if (i % 1000 == 999)
			c = '\0';
		if (i % 3001 == 3000)
			c = '\n';
		if (i % 4099 == 4098)
			c = '\r';
		if (i > 0 && in[i - 1] == '\r' && c == '\n')
			c = 'y';	/* keep it one line */
		in[i] = c;
	}
	memcpy(in + n, tail, sizeof tail - 1);
	memcpy(exp, in, n);
	memcpy(exp + n, "\n.\n", 3);
	explen = n + 3;
	dot_all_splits("100 KiB line", in, inlen, exp, explen, inlen - 5, 1);
	free(in);
	free(exp);
}

/* The owed byte, step by step: output lags by at most one byte, never
 * exceeds the input of the call, and is complete at the terminator. */
static void
test_dot_lag(void)
{
	struct dot_state	ds;
	char			out[8];
	size_t			olen, used;

	dot_init(&ds);
	T_CHECK(dot_feed(&ds, "\r", 1, out, &olen, &used) == 0);
	T_CHECK(olen == 0 && used == 1);
	T_CHECK(dot_feed(&ds, "x", 1, out, &olen, &used) == 0);
	T_MEMEQ(out, olen, "\r", 1);
	T_CHECK(used == 1);
	T_CHECK(dot_feed(&ds, "", 0, out, &olen, &used) == 0);
	T_CHECK(olen == 0 && used == 0);
	T_CHECK(dot_feed(&ds, "y", 1, out, &olen, &used) == 0);
	T_MEMEQ(out, olen, "x", 1);
	T_CHECK(dot_feed(&ds, "z\r", 2, out, &olen, &used) == 0);
	T_MEMEQ(out, olen, "yz", 2);
	T_CHECK(dot_feed(&ds, "\n.\r\nX", 5, out, &olen, &used) == 1);
	T_MEMEQ(out, olen, "\n", 1);
	T_CHECK(used == 4);
	T_CHECK(dot_feed(&ds, "X", 1, out, &olen, &used) == 1);
	T_CHECK(olen == 0 && used == 0);

	/* ".\r" owes a CR too; a re-init forgets everything. */
	dot_init(&ds);
	T_CHECK(dot_feed(&ds, ".\r", 2, out, &olen, &used) == 0);
	T_CHECK(olen == 0 && used == 2);
	T_CHECK(dot_feed(&ds, "q", 1, out, &olen, &used) == 0);
	T_MEMEQ(out, olen, "\r", 1);
	dot_init(&ds);
	T_CHECK(dot_feed(&ds, ".\r\n", 3, out, &olen, &used) == 1);
	T_CHECK(olen == 0 && used == 3);
}

/* ---- dot decoder: differential test -------------------------------- */

/*
 * The reference: the rules of RFC 1939 section 3 written as directly as
 * possible, on a whole buffer with look-ahead. A tail that cannot be
 * judged yet (a final CR, a final "." or ".\r" at a line start) is
 * consumed but not written, as dot_feed() holds it in its state.
 */
static int
ref_decode(const char *in, size_t n, char *out, size_t *outlen,
    size_t *consumed)
{
	size_t	i = 0, o = 0;
	int	bol = 1;

	while (i < n) {
		if (bol && in[i] == '.') {
			if (n - i >= 3 && in[i + 1] == '\r' &&
			    in[i + 2] == '\n') {
				*outlen = o;
				*consumed = i + 3;
				return (1);
			}
			if (n - i == 1 || (n - i == 2 && in[i + 1] == '\r'))
				break;
			i++;		/* the stuffing dot */
			bol = 0;
			continue;
		}
		bol = 0;
		if (in[i] == '\r') {
			if (n - i == 1)
				break;
			if (in[i + 1] == '\n') {
				out[o++] = '\n';
				i += 2;
				bol = 1;
				continue;
			}
		}
		out[o++] = in[i++];
	}
	*outlen = o;
	*consumed = n;
	return (0);
}

static uint64_t	rng = 0x2545f4914f6cdd1dULL;

static uint64_t
xorshift64(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (rng);
}

static size_t
rnd(size_t n)
{
	return (n == 0 ? 0 : (size_t)(xorshift64() % n));
}

static int
cmp_size(const void *a, const void *b)
{
	size_t	x = *(const size_t *)a, y = *(const size_t *)b;

	return (x < y ? -1 : x > y);
}

static void
test_dot_differential(void)
{
	static const char	alpha[] = "....\r\r\r\r\n\n\n\0\0aaab\xff";
	char			in[2048], ref[2048];
	size_t			cuts[16] = { 0 };
	size_t			len, ncuts, reflen, refcons, k, iter, done = 0;
	struct dres		r;
	int			refret;

	for (iter = 0; iter < 5000; iter++) {
		len = rnd(10) == 0 ? 200 + rnd(1500) : rnd(40);
		for (k = 0; k < len; k++)
			in[k] = alpha[rnd(sizeof alpha - 1)];
		/* Half the time, make sure a terminator comes. */
		if (rnd(2) && len + 8 <= sizeof in) {
			memcpy(in + len, "\r\n.\r\n", 5);
			len += 5;
			for (k = rnd(4); k > 0; k--)
				in[len++] = alpha[rnd(sizeof alpha - 1)];
		}
		refret = ref_decode(in, len, ref, &reflen, &refcons);
		done += refret;

		dres_init(&r, len);
		dot_run(in, len, &len, 0, &r);
		T_CHECKF(r.bad == 0 && r.ret == refret &&
		    r.consumed == refcons && r.outlen == reflen &&
		    memcmp(r.out, ref, reflen) == 0,
		    "iteration %zu: whole run differs from reference", iter);

		ncuts = rnd(NELEM(cuts) + 1);
		for (k = 0; k < ncuts; k++)
			cuts[k] = rnd(len + 1);
		qsort(cuts, ncuts, sizeof cuts[0], cmp_size);
		dot_run(in, len, cuts, ncuts, &r);
		T_CHECKF(dres_match(&r, ref, reflen, refcons, refret),
		    "iteration %zu: %zu cuts differ from reference", iter,
		    ncuts);
		dres_free(&r);
	}
	/* The input mix must exercise both outcomes. */
	T_CHECKF(done > 1000 && done < 4900, "%zu of 5000 terminated", done);
}

/* ---- line parsers: shared ------------------------------------------ */

/* A line that must be rejected; several fit on one source line. */
struct bad {
	const char	*s;
	size_t		 len;
};
#define BAD(s)	{ B(s) }

/* ---- status lines -------------------------------------------------- */

static const struct scase {
	const char	*line;
	size_t		 len;
	int		 ok;
	enum pop3_rcode	 rc;
	size_t		 textoff;	/* text is line + textoff to the end */
} scases[] = {
	{ B("+OK"),			 1, POP3_RC_NONE, 3 },
	{ B("+OK "),			 1, POP3_RC_NONE, 4 },
	{ B("+OK hello world"),		 1, POP3_RC_NONE, 4 },
	{ B("+OK  two spaces"),		 1, POP3_RC_NONE, 4 },
	{ B("+OK a\0b\x01"),		 1, POP3_RC_NONE, 4 },
	{ B("+OK [IN-USE] fine"),	 1, POP3_RC_NONE, 4 },
	{ B("+OK 2 320"),		 1, POP3_RC_NONE, 4 },
	{ B("-ERR"),			 0, POP3_RC_NONE, 4 },
	{ B("-ERR "),			 0, POP3_RC_NONE, 5 },
	{ B("-ERR no such message"),	 0, POP3_RC_NONE, 5 },
	{ B("-ERR [IN-USE] locked"),	 0, POP3_RC_IN_USE, 5 },
	{ B("-ERR [in-use] locked"),	 0, POP3_RC_IN_USE, 5 },
	{ B("-ERR [IN-USE]"),		 0, POP3_RC_IN_USE, 5 },
	{ B("-ERR [IN-USE]locked"),	 0, POP3_RC_IN_USE, 5 },
	{ B("-ERR [LOGIN-DELAY] wait"),	 0, POP3_RC_LOGIN_DELAY, 5 },
	{ B("-ERR [Login-Delay] wait"),	 0, POP3_RC_LOGIN_DELAY, 5 },
	{ B("-ERR [SYS/TEMP] later"),	 0, POP3_RC_SYS_TEMP, 5 },
	{ B("-ERR [sys/temp] later"),	 0, POP3_RC_SYS_TEMP, 5 },
	{ B("-ERR [SYS/PERM] never"),	 0, POP3_RC_SYS_PERM, 5 },
	{ B("-ERR [AUTH] bad password"), 0, POP3_RC_AUTH, 5 },
	{ B("-ERR [auth]"),		 0, POP3_RC_AUTH, 5 },
	{ B("-ERR [SYS/TEMP/DISK] x"),	 0, POP3_RC_SYS_TEMP, 5 },
	{ B("-ERR [AUTH/EXPIRED] x"),	 0, POP3_RC_AUTH, 5 },
	{ B("-ERR [SYS] x"),		 0, POP3_RC_OTHER, 5 },
	{ B("-ERR [SYS/FOO] x"),	 0, POP3_RC_OTHER, 5 },
	{ B("-ERR [SYS/TEMPX] x"),	 0, POP3_RC_OTHER, 5 },
	{ B("-ERR [AUTHX] x"),		 0, POP3_RC_OTHER, 5 },
	{ B("-ERR [IN-USEX] x"),	 0, POP3_RC_OTHER, 5 },
	{ B("-ERR [X-FOO] x"),		 0, POP3_RC_OTHER, 5 },
	{ B("-ERR [TEMP/SYS] x"),	 0, POP3_RC_OTHER, 5 },
	{ B("-ERR [IN-USE"),		 0, POP3_RC_NONE, 5 },
	{ B("-ERR [IN-USE locked"),	 0, POP3_RC_NONE, 5 },
	{ B("-ERR []"),			 0, POP3_RC_NONE, 5 },
	{ B("-ERR ["),			 0, POP3_RC_NONE, 5 },
	{ B("-ERR [IN USE] x"),		 0, POP3_RC_NONE, 5 },
	{ B("-ERR [AUTH\t] x"),		 0, POP3_RC_NONE, 5 },
	{ B("-ERR [AU\0TH] x"),		 0, POP3_RC_NONE, 5 },
	{ B("-ERR [SYS//TEMP] x"),	 0, POP3_RC_NONE, 5 },
	{ B("-ERR [/SYS/TEMP] x"),	 0, POP3_RC_NONE, 5 },
	{ B("-ERR [SYS/TEMP/] x"),	 0, POP3_RC_NONE, 5 },
	{ B("-ERR  [IN-USE] x"),	 0, POP3_RC_NONE, 5 },
	{ B("-ERR locked [IN-USE]"),	 0, POP3_RC_NONE, 5 },
};

static const struct bad sbad[] = {
	BAD(""), BAD("+"), BAD("+O"), BAD("-ER"), BAD("+OKAY"),
	BAD("-ERROR"), BAD("+ok"), BAD("-err x"), BAD("+OK\tx"),
	BAD("+OK\0"), BAD("+OK\r"), BAD("-ERR\t[IN-USE]"), BAD(" +OK"),
	BAD("OK"), BAD("* OK IMAP ready"), BAD("\0+OK"),
};

static void
test_status(void)
{
	const struct scase	*c;
	struct pop3_status	 st, sentinel;
	size_t			 i;
	int			 r;

	for (i = 0; i < NELEM(scases); i++) {
		c = &scases[i];
		memset(&st, 0, sizeof st);
		r = pop3_parse_status(c->line, c->len, &st);
		T_CHECKF(r == 0 && st.ok == c->ok && st.rcode == c->rc &&
		    st.text == c->line + c->textoff &&
		    st.textlen == c->len - c->textoff,
		    "case %zu: ret %d ok %d rcode %d textlen %zu", i, r,
		    st.ok, (int)st.rcode, st.textlen);
	}
	memset(&sentinel, 0xa5, sizeof sentinel);
	for (i = 0; i < NELEM(sbad); i++) {
		memcpy(&st, &sentinel, sizeof st);
		T_CHECKF(pop3_parse_status(sbad[i].s, sbad[i].len, &st) == -1 &&
		    memcmp(&st, &sentinel, sizeof st) == 0, "bad %zu", i);
	}
}

/* ---- UIDL ---------------------------------------------------------- */

static const struct ucase {
	const char	*line;
	size_t		 len;
	uint32_t	 num;
	size_t		 uidoff;	/* uid is line + uidoff to the end */
} ucases[] = {
	{ B("1 abc"),				1, 2 },
	{ B("1 a"),				1, 2 },
	{ B("2 whqtswO00WBw418f9t5JxYwZ"),	2, 2 },
	{ B("42 !~"),				42, 3 },
	{ B("9 \"#$%&'()*+,-./:;<=>?@[\\]^_`{|}"), 9, 2 },
	{ B("99999999 x"),			99999999, 9 },
	{ B("100000000 x"),			100000000, 10 },
};

static const struct bad ubad[] = {
	BAD(""), BAD(" "), BAD("1"), BAD("1 "), BAD("abc"), BAD("0 abc"),
	BAD("00 abc"), BAD("01 abc"), BAD("-1 abc"), BAD("+1 abc"),
	BAD("1a abc"), BAD("a abc"), BAD("100000001 abc"),
	BAD("4294967295 abc"), BAD("4294967296 abc"), BAD("4294967297 abc"),
	BAD("18446744073709551615 abc"), BAD("18446744073709551616 abc"),
	BAD("99999999999999999999999 abc"), BAD(" 1 abc"), BAD("1  abc"),
	BAD("1\tabc"), BAD("1 \tabc"), BAD("1 abc "), BAD("1 abc def"),
	BAD("1 abc\t"), BAD("1 abc\r"), BAD("1 abc\n"), BAD("1 a\0b"),
	BAD("1 ab\x01"), BAD("1 ab\x1f"), BAD("1 ab\x7f"), BAD("1 ab\x80"),
	BAD("1 ab\xff"), BAD("1\0abc"),
};

static void
test_uidl(void)
{
	const struct ucase	*c;
	const char		*uid;
	char			 line[128];
	size_t			 i, ulen;
	uint32_t		 num;
	int			 r;

	for (i = 0; i < NELEM(ucases); i++) {
		c = &ucases[i];
		num = 0;
		uid = NULL;
		ulen = 0;
		r = pop3_parse_uidl(c->line, c->len, &num, &uid, &ulen);
		T_CHECKF(r == 0 && num == c->num &&
		    uid == c->line + c->uidoff && ulen == c->len - c->uidoff,
		    "case %zu: ret %d num %u", i, r, (unsigned)num);
	}
	for (i = 0; i < NELEM(ubad); i++) {
		num = 0xdeadbeef;
		uid = NULL;
		ulen = 12345;
		r = pop3_parse_uidl(ubad[i].s, ubad[i].len, &num, &uid, &ulen);
		T_CHECKF(r == -1 && num == 0xdeadbeef && uid == NULL &&
		    ulen == 12345, "bad %zu: ret %d", i, r);
	}

	/* A uid of exactly POP3_UIDL_MAX octets passes; one more fails. */
	memcpy(line, "7 ", 2);
	memset(line + 2, 'u', sizeof line - 2);
	T_CHECK(pop3_parse_uidl(line, 2 + 70, &num, &uid, &ulen) == 0);
	T_CHECK(num == 7 && uid == line + 2 && ulen == 70);
	T_CHECK(pop3_parse_uidl(line, 2 + 71, &num, &uid, &ulen) == -1);
	T_CHECK(pop3_parse_uidl(line, 2 + 69, &num, &uid, &ulen) == 0);
	T_CHECK(ulen == 69);
	/* The longest valid listing line fits the listing cap. */
	T_CHECK(9 + 1 + POP3_UIDL_MAX + 2 <= POP3_LISTING_MAX);
}

/* ---- LIST and STAT ------------------------------------------------- */

struct pcase {
	const char	*line;
	size_t		 len;
	uint32_t	 num;
	uint64_t	 size;
};

static const struct pcase lcases[] = {
	{ B("1 120"),			1, 120 },
	{ B("2 0"),			2, 0 },
	{ B("100000000 5"),		100000000, 5 },
	{ B("3 4294967296"),		3, 4294967296ULL },
	{ B("1 9223372036854775807"),	1, INT64_MAX },
	/* RFC 1939 section 5 allows more after the size. */
	{ B("1 120 extra info"),	1, 120 },
	{ B("1 120 "),			1, 120 },
	{ B("1 120  x"),		1, 120 },
};

static const struct bad lbad[] = {
	BAD("1 9223372036854775808"), BAD("1 18446744073709551615"),
	BAD("1 18446744073709551616"), BAD("1 99999999999999999999999"),
	BAD("0 5"), BAD("01 5"), BAD("1 05"), BAD("1 00"), BAD("1 -5"),
	BAD("1 +5"), BAD("-1 5"), BAD("100000001 5"), BAD("4294967296 5"),
	BAD("18446744073709551616 5"), BAD("1  5"), BAD("1\t5"),
	BAD("1 5\t"), BAD("1 5\tx"), BAD("1 5x"), BAD("1 5\0"), BAD("1 5\r"),
	BAD(" 1 5"), BAD("1"), BAD("1 "), BAD(""), BAD(" "), BAD("a 5"),
	BAD("1 a"),
};

/* STAT gets the status text, not the line: "+OK 2 320" is bad. */
static const struct pcase stcases[] = {
	{ B("2 320"),				2, 320 },
	{ B("0 0"),				0, 0 },
	{ B("2 320 octets"),			2, 320 },
	{ B("100000000 9223372036854775807"),	100000000, INT64_MAX },
};

static const struct bad stbad[] = {
	BAD(""), BAD("2"), BAD("2 "), BAD("2  320"), BAD(" 2 320"),
	BAD("2\t320"), BAD("02 320"), BAD("2 0320"), BAD("-1 0"),
	BAD("2 -320"), BAD("2 320x"), BAD("2 320\0"), BAD("100000001 0"),
	BAD("4294967296 0"), BAD("2 9223372036854775808"),
	BAD("2 18446744073709551616"), BAD("+OK 2 320"),
};

/* LIST and STAT parsers share a signature; check one on its tables. */
static void
check_pairs(const char *what,
    int (*fn)(const char *, size_t, uint32_t *, uint64_t *),
    const struct pcase *good, size_t ngood, const struct bad *bad,
    size_t nbad)
{
	size_t		i;
	uint64_t	size;
	uint32_t	num;
	int		r;

	for (i = 0; i < ngood; i++) {
		num = 0;
		size = 0;
		r = fn(good[i].line, good[i].len, &num, &size);
		T_CHECKF(r == 0 && num == good[i].num && size == good[i].size,
		    "%s case %zu: ret %d num %u size %llu", what, i, r,
		    (unsigned)num, (unsigned long long)size);
	}
	for (i = 0; i < nbad; i++) {
		num = 0xdeadbeef;
		size = 0xdeadbeef;
		r = fn(bad[i].s, bad[i].len, &num, &size);
		T_CHECKF(r == -1 && num == 0xdeadbeef && size == 0xdeadbeef,
		    "%s bad %zu: ret %d", what, i, r);
	}
}

static void
test_list(void)
{
	check_pairs("LIST", pop3_parse_list, lcases, NELEM(lcases), lbad,
	    NELEM(lbad));
}

static void
test_stat(void)
{
	struct pop3_status	st;
	uint64_t		size;
	uint32_t		count;

	check_pairs("STAT", pop3_parse_stat, stcases, NELEM(stcases), stbad,
	    NELEM(stbad));

	/* As the caller sees it: status line first, then its text. */
	T_CHECK(pop3_parse_status(B("+OK 2 320"), &st) == 0);
	T_CHECK(pop3_parse_stat(st.text, st.textlen, &count, &size) == 0);
	T_CHECK(count == 2 && size == 320);
	T_CHECK(pop3_parse_status(B("+OK"), &st) == 0);
	T_CHECK(pop3_parse_stat(st.text, st.textlen, &count, &size) == -1);
}

/* ---- CAPA ---------------------------------------------------------- */

static const struct ccase {
	const char	*line;
	size_t		 len;
	unsigned	 flags;
	unsigned	 sasl;
	int		 expire;
	int		 delay;
} ccases[] = {
	{ B("UIDL"),		POP3_CAP_UIDL, 0, 0, 0 },
	{ B("uidl"),		POP3_CAP_UIDL, 0, 0, 0 },
	{ B("Uidl"),		POP3_CAP_UIDL, 0, 0, 0 },
	{ B("UIDL extra"),	POP3_CAP_UIDL, 0, 0, 0 },
	{ B("TOP"),		POP3_CAP_TOP, 0, 0, 0 },
	{ B("USER"),		POP3_CAP_USER, 0, 0, 0 },
	{ B("STLS"),		POP3_CAP_STLS, 0, 0, 0 },
	{ B("stls"),		POP3_CAP_STLS, 0, 0, 0 },
	{ B("PIPELINING"),	POP3_CAP_PIPELINING, 0, 0, 0 },
	{ B("RESP-CODES"),	POP3_CAP_RESP_CODES, 0, 0, 0 },
	{ B("AUTH-RESP-CODE"),	POP3_CAP_AUTH_RESP_CODE, 0, 0, 0 },
	{ B("UIDLX"),		0, 0, 0, 0 },
	{ B("UID"),		0, 0, 0, 0 },
	{ B("XUIDL"),		0, 0, 0, 0 },
	{ B(" UIDL"),		0, 0, 0, 0 },
	{ B("UIDL\t"),		0, 0, 0, 0 },
	{ B("UI\0DL"),		0, 0, 0, 0 },
	{ B("UIDL\0"),		0, 0, 0, 0 },
	{ B(""),		0, 0, 0, 0 },
	{ B(" "),		0, 0, 0, 0 },
	{ B("IMPLEMENTATION Dovecot"), 0, 0, 0, 0 },
	{ B("RESP-CODE"),	0, 0, 0, 0 },
	{ B("SASL"),		POP3_CAP_SASL, 0, 0, 0 },
	{ B("SASL PLAIN"),	POP3_CAP_SASL, POP3_SASL_PLAIN, 0, 0 },
	{ B("SASL PLAIN LOGIN"), POP3_CAP_SASL,
	    POP3_SASL_PLAIN | POP3_SASL_LOGIN, 0, 0 },
	{ B("sasl plain cram-md5"), POP3_CAP_SASL,
	    POP3_SASL_PLAIN | POP3_SASL_CRAM_MD5, 0, 0 },
	{ B("SASL SCRAM-SHA-1 SCRAM-SHA-256 XOAUTH2 OAUTHBEARER"),
	    POP3_CAP_SASL, POP3_SASL_SCRAM_SHA_1 | POP3_SASL_SCRAM_SHA_256 |
	    POP3_SASL_XOAUTH2 | POP3_SASL_OAUTHBEARER, 0, 0 },
	{ B("SASL GSSAPI PLAIN NTLM"), POP3_CAP_SASL, POP3_SASL_PLAIN, 0, 0 },
	{ B("SASL SCRAM-SHA-1-PLUS"), POP3_CAP_SASL, 0, 0, 0 },
	{ B("SASL SCRAM-SHA-256-PLUS SCRAM-SHA"), POP3_CAP_SASL, 0, 0, 0 },
	{ B("SASL PLAINX XLOGIN"), POP3_CAP_SASL, 0, 0, 0 },
	{ B("SASL  PLAIN  LOGIN "), POP3_CAP_SASL,
	    POP3_SASL_PLAIN | POP3_SASL_LOGIN, 0, 0 },
	{ B("SASL PLAIN\tLOGIN"), POP3_CAP_SASL, 0, 0, 0 },
	{ B("SASLPLAIN"),	0, 0, 0, 0 },
	{ B("EXPIRE NEVER"),	POP3_CAP_EXPIRE, 0, -1, 0 },
	{ B("expire never"),	POP3_CAP_EXPIRE, 0, -1, 0 },
	{ B("EXPIRE NEVER USER"), POP3_CAP_EXPIRE, 0, -1, 0 },
	{ B("EXPIRE 0"),	POP3_CAP_EXPIRE, 0, 0, 0 },
	{ B("EXPIRE 31"),	POP3_CAP_EXPIRE, 0, 31, 0 },
	{ B("EXPIRE 31 USER"),	POP3_CAP_EXPIRE, 0, 31, 0 },
	{ B("EXPIRE 31 user"),	POP3_CAP_EXPIRE, 0, 31, 0 },
	{ B("EXPIRE 2147483647"), POP3_CAP_EXPIRE, 0, INT_MAX, 0 },
	{ B("EXPIRE"),		0, 0, 0, 0 },
	{ B("EXPIRE "),		0, 0, 0, 0 },
	{ B("EXPIRE abc"),	0, 0, 0, 0 },
	{ B("EXPIRE -1"),	0, 0, 0, 0 },
	{ B("EXPIRE +5"),	0, 0, 0, 0 },
	{ B("EXPIRE 031"),	0, 0, 0, 0 },
	{ B("EXPIRE 2147483648"), 0, 0, 0, 0 },
	{ B("EXPIRE 4294967296"), 0, 0, 0, 0 },
	{ B("EXPIRE 18446744073709551616"), 0, 0, 0, 0 },
	{ B("EXPIRE  31"),	0, 0, 0, 0 },
	{ B("EXPIRE 31 "),	0, 0, 0, 0 },
	{ B("EXPIRE 31  USER"),	0, 0, 0, 0 },
	{ B("EXPIRE 31 USERS"),	0, 0, 0, 0 },
	{ B("EXPIRE 31 USER X"), 0, 0, 0, 0 },
	{ B("EXPIRE 31 FOO"),	0, 0, 0, 0 },
	{ B("EXPIRE NEVERMORE"), 0, 0, 0, 0 },
	{ B("EXPIRE 3\0"),	0, 0, 0, 0 },
	{ B("LOGIN-DELAY 900"),	POP3_CAP_LOGIN_DELAY, 0, 0, 900 },
	{ B("login-delay 0"),	POP3_CAP_LOGIN_DELAY, 0, 0, 0 },
	{ B("LOGIN-DELAY 900 USER"), POP3_CAP_LOGIN_DELAY, 0, 0, 900 },
	{ B("LOGIN-DELAY"),	0, 0, 0, 0 },
	{ B("LOGIN-DELAY x"),	0, 0, 0, 0 },
	{ B("LOGIN-DELAY NEVER"), 0, 0, 0, 0 },
	{ B("LOGIN-DELAY -5"),	0, 0, 0, 0 },
	{ B("LOGIN-DELAY 2147483648"), 0, 0, 0, 0 },
	{ B("LOGIN-DELAY 900 ADMIN"), 0, 0, 0, 0 },
	{ B("UTF8"),		POP3_CAP_UTF8, 0, 0, 0 },
	{ B("UTF8 USER"),	POP3_CAP_UTF8, 0, 0, 0 },
	{ B("utf8"),		POP3_CAP_UTF8, 0, 0, 0 },
	{ B("UTF-8"),		0, 0, 0, 0 },
};

/*
 * A download against LIST's size: what servers really announce passes
 * (exact CRLF counts, LF-only file sizes, a final CRLF added or not,
 * solid-pop3d's extra empty line, Mailutils' X-UIDL header); a notice
 * served in the message's place does not (Courier: LIST 30, 720 sent).
 */
static void
test_size_plausible(void)
{
	static const struct {
		uint64_t	listed, got;
		int		ok;
	} c[] = {
		{ 30, 28, 1 }, { 30, 30, 1 }, { 30, 31, 1 }, { 0, 1, 1 },
		{ 0, 0, 1 }, { 5000, 4800, 1 }, { 4800, 4800, 1 },
		{ 4870, 4800, 1 }, { 9600, 4800, 1 },
		{ 30, 720, 0 }, { 1, 30011, 0 }, { 900000, 36, 0 },
		{ 2 * 4800 + 256 + 600 + 1, 4800, 0 },
		{ 2 * 4800 + 256 + 600, 4800, 1 },
		{ 4800 - 256 - 600, 4800, 1 }, { 4800 - 256 - 600 - 1, 4800, 0 },
		{ UINT32_MAX, 5000000000ULL, 1 }, { UINT32_MAX, 10, 0 },
		{ 10, UINT64_MAX, 0 },
	};
	size_t	i;

	for (i = 0; i < NELEM(c); i++)
		T_CHECKF(pop3_size_plausible(c[i].listed, c[i].got) == c[i].ok,
		    "case %zu: listed %llu got %llu", i,
		    (unsigned long long)c[i].listed,
		    (unsigned long long)c[i].got);
}

static void
test_capa(void)
{
	const struct ccase	*c;
	struct pop3_caps	 caps;
	size_t			 i;
	int			 r;

	for (i = 0; i < NELEM(ccases); i++) {
		c = &ccases[i];
		memset(&caps, 0, sizeof caps);
		r = pop3_parse_capa_line(c->line, c->len, &caps);
		T_CHECKF(r == 0 && caps.flags == c->flags &&
		    caps.sasl == c->sasl && caps.expire_days == c->expire &&
		    caps.login_delay == c->delay,
		    "case %zu: ret %d flags %#x sasl %#x expire %d delay %d",
		    i, r, caps.flags, caps.sasl, caps.expire_days,
		    caps.login_delay);
	}
}

/* A whole CAPA listing folds together; a bad EXPIRE keeps a good one. */
static void
test_capa_fold(void)
{
	static const struct {
		const char	*s;
		size_t		 len;
	} lines[] = {
		{ B("CAPA") }, { B("TOP") }, { B("UIDL") },
		{ B("RESP-CODES") }, { B("PIPELINING") },
		{ B("AUTH-RESP-CODE") }, { B("USER") },
		{ B("SASL PLAIN LOGIN") }, { B("SASL XOAUTH2") },
		{ B("STLS") }, { B("EXPIRE 7 USER") }, { B("EXPIRE soon") },
		{ B("LOGIN-DELAY 60") }, { B("LOGIN-DELAY") },
		{ B("IMPLEMENTATION Dovecot") }, { B("X-FOO \xff\0") },
	};
	struct pop3_caps	caps;
	size_t			i;

	memset(&caps, 0, sizeof caps);
	for (i = 0; i < NELEM(lines); i++)
		T_CHECK(pop3_parse_capa_line(lines[i].s, lines[i].len,
		    &caps) == 0);
	T_CHECK(caps.flags == (POP3_CAP_TOP | POP3_CAP_UIDL |
	    POP3_CAP_RESP_CODES | POP3_CAP_PIPELINING |
	    POP3_CAP_AUTH_RESP_CODE | POP3_CAP_USER | POP3_CAP_SASL |
	    POP3_CAP_STLS | POP3_CAP_EXPIRE | POP3_CAP_LOGIN_DELAY));
	T_CHECK(caps.sasl == (POP3_SASL_PLAIN | POP3_SASL_LOGIN |
	    POP3_SASL_XOAUTH2));
	T_CHECK(caps.expire_days == 7);
	T_CHECK(caps.login_delay == 60);

	/* A later good value replaces an earlier one. */
	T_CHECK(pop3_parse_capa_line(B("EXPIRE NEVER"), &caps) == 0);
	T_CHECK(caps.expire_days == -1);
}

/* ---- APOP, terminator, unstuffing ---------------------------------- */

static const struct acase {
	const char	*text;
	size_t		 len;
	size_t		 off;
	size_t		 tslen;
} acases[] = {
	{ B("POP3 server ready <1896.697170952@dbc.mtview.ca.us>"), 18, 33 },
	{ B("<a@b>"),				 0, 5 },
	{ B("<a@b> ready"),			 0, 5 },
	{ B("Dovecot ready. <5a1.2b@host.example>"), 15, 21 },
	/* Malformed bracketed text around one good stamp is skipped. */
	{ B("<x> <a@b> <y@> <@z> <>"),		 4, 5 },
	{ B("<<a@b>"),				 1, 5 },
	{ B("<a@b>>"),				 0, 5 },
	{ B("<!#$%&'*+-/=?^_`{|}~@[1.2.3.4]>"),	 0, 31 },
};

static const struct bad abad[] = {
	BAD(""), BAD("POP3 server ready"), BAD("<>"), BAD("<a>"),
	BAD("<@b>"), BAD("<a@>"), BAD("<@>"), BAD("<a@@b>"), BAD("<a@b@c>"),
	BAD("<a b@c>"), BAD("<a@b c>"), BAD("<a\t@b>"), BAD("<a\0@b>"),
	BAD("<a\x01@b>"), BAD("<a\x7f@b>"), BAD("<a\x80@b>"), BAD("<a@b"),
	BAD("a@b>"), BAD("<a<b@c"), BAD("<a@b> <c@d>"), BAD("<a@b><c@d>"),
};

static void
test_apop(void)
{
	const struct acase	*c;
	const char		*ts;
	size_t			 i, tslen;
	int			 r;

	for (i = 0; i < NELEM(acases); i++) {
		c = &acases[i];
		ts = NULL;
		tslen = 0;
		r = pop3_apop_stamp(c->text, c->len, &ts, &tslen);
		T_CHECKF(r == 0 && ts == c->text + c->off &&
		    tslen == c->tslen, "case %zu: ret %d", i, r);
	}
	for (i = 0; i < NELEM(abad); i++) {
		ts = NULL;
		tslen = 12345;
		r = pop3_apop_stamp(abad[i].s, abad[i].len, &ts, &tslen);
		T_CHECKF(r == -1 && ts == NULL && tslen == 12345,
		    "bad %zu: ret %d", i, r);
	}
}

static void
test_terminator(void)
{
	static const struct bad	not[] = {
		BAD(""), BAD(".."), BAD(". "), BAD(".\r"), BAD(".\0"),
		BAD("x"), BAD(" ."),
	};
	size_t			i;

	T_CHECK(pop3_is_terminator(B(".")) == 1);
	for (i = 0; i < NELEM(not); i++)
		T_CHECKF(pop3_is_terminator(not[i].s, not[i].len) == 0,
		    "case %zu", i);
}

static void
test_unstuff(void)
{
	/* Only one dot goes; "." itself is the caller's to catch first. */
	static const struct {
		const char	*s;
		size_t		 len;
		size_t		 skip;
	} cases[] = {
		{ B(".."), 1 }, { B(".1 abc"), 1 }, { B("..."), 1 },
		{ B("."), 1 }, { B("1 abc"), 0 }, { B(" .x"), 0 },
		{ B(""), 0 }, { B("\0."), 0 },
	};
	const char	*p;
	size_t		 i, n;

	for (i = 0; i < NELEM(cases); i++) {
		p = cases[i].s;
		n = pop3_unstuff_line(&p, cases[i].len);
		T_CHECKF(p == cases[i].s + cases[i].skip &&
		    n == cases[i].len - cases[i].skip, "case %zu", i);
	}
}

int
main(void)
{
	T_RUN(test_dot_table);
	T_RUN(test_dot_long_line);
	T_RUN(test_dot_lag);
	T_RUN(test_dot_differential);
	T_RUN(test_status);
	T_RUN(test_uidl);
	T_RUN(test_list);
	T_RUN(test_stat);
	T_RUN(test_capa);
	T_RUN(test_capa_fold);
	T_RUN(test_apop);
	T_RUN(test_size_plausible);
	T_RUN(test_terminator);
	T_RUN(test_unstuff);
	return (T_END());
}
