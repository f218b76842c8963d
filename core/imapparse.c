/*
 * imapparse.c -- pure parsers for IMAP server responses (RFC 9051,
 * RFC 3501): the streaming response reader with its literals, the shape
 * of a response and its response code, capabilities, SEARCH, ESEARCH,
 * FETCH, and astring quoting. No I/O, no allocation; see imapparse.h
 * for each contract. Date-time and modified UTF-7 are imapenc.c's.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "imapparse.h"

enum { ST_LINE, ST_CR, ST_LIT, ST_STREAM };

/* A cursor over untrusted bytes. */
struct cur {
	const char	*p, *e;
};

static int	ci_eq(const char *, size_t, const char *);
static int	atom_char(unsigned char);
static int	astring_char(unsigned char);
static int	get_num(struct cur *, uint64_t, int, uint64_t *);
static int	get_nz32(struct cur *, uint32_t *);
static int	get_atom(struct cur *, const char **, size_t *);
static int	get_key(struct cur *, const char **, size_t *);
static int	get_quoted(struct cur *, const char **, size_t *, int *);
static int	get_literal(struct cur *, unsigned *, const char **,
		    size_t *, int *);
static int	skip_value(struct cur *, int, unsigned *);
static int	check_set(const char *, size_t);
static int	parse_code(const char *, size_t, struct imap_resp *);

/* ---- the reader ----------------------------------------------------- */

void
imap_reader_init(struct imap_reader *r, char *buf, size_t bufsize,
    size_t litmax, imap_lit_fn cb, void *cbarg)
{
	memset(r, 0, sizeof(*r));
	r->buf = buf;
	r->bufsize = bufsize;
	r->litmax = litmax;
	r->cb = cb;
	r->cbarg = cbarg;
	r->st = ST_LINE;
}

static int
rd_fail(struct imap_reader *r, enum imap_err err, const char *msg,
    size_t at, size_t *consumed)
{
	r->err = err;
	r->errmsg = msg;
	*consumed = at;
	return -1;
}

/*
 * The line just ended (CRLF seen, not stored). If it ends in "{N}", the
 * length of the literal that follows in *n and 1; else 0; -1 if the
 * digits are too many.
 */
static int
line_literal(const struct imap_reader *r, uint64_t *n)
{
	size_t	 i, ndig;
	uint64_t v = 0;

	if (r->len - r->linestart < 3 || r->buf[r->len - 1] != '}')
		return 0;
	i = r->len - 1;
	while (i > r->linestart && r->buf[i - 1] >= '0' &&
	    r->buf[i - 1] <= '9')
		i--;
	ndig = r->len - 1 - i;
	if (ndig == 0 || i == r->linestart || r->buf[i - 1] != '{')
		return 0;
	if (ndig > IMAP_LITLEN_DIGITS)
		return -1;
	for (; i < r->len - 1; i++) {
		v = v * 10 + (uint64_t)(r->buf[i] - '0');
		if (v > INT64_MAX)
			return -1;
	}
	*n = v;
	return 1;
}

int
imap_reader_feed(struct imap_reader *r, const char *in, size_t len,
    size_t *consumed)
{
	size_t		 i = 0, k, j;
	uint64_t	 n;
	unsigned char	 c;
	int		 lit;

	*consumed = 0;
	if (r->err != IMAP_RD_NONE)
		return -1;
	if (r->done) {
		r->done = 0;
		r->len = r->linestart = 0;
		r->nstreamed = 0;
		r->st = ST_LINE;
	}
	while (i < len) {
		switch (r->st) {
		case ST_LINE:
			c = (unsigned char)in[i];
			if (c == '\r') {
				r->st = ST_CR;
				i++;
				break;
			}
			if (c == '\n')
				return rd_fail(r, IMAP_RD_PROTO,
				    "bare LF in a response line", i, consumed);
			if (c == '\0')
				return rd_fail(r, IMAP_RD_PROTO,
				    "NUL in a response line", i, consumed);
			if (r->len - r->linestart + 3 > IMAP_LINE_MAX)
				return rd_fail(r, IMAP_RD_PROTO,
				    "response line too long", i, consumed);
			/* Room for this byte, a "=" and a CRLF. */
			if (r->len + 4 > r->bufsize)
				return rd_fail(r, IMAP_RD_LIMIT,
				    "response too long", i, consumed);
			r->buf[r->len++] = (char)c;
			i++;
			break;
		case ST_CR:
			if (in[i] != '\n')
				return rd_fail(r, IMAP_RD_PROTO,
				    "bare CR in a response line", i, consumed);
			i++;
			if ((lit = line_literal(r, &n)) == -1)
				return rd_fail(r, IMAP_RD_PROTO,
				    "literal length out of range", i,
				    consumed);
			if (lit == 0) {
				r->done = 1;
				r->st = ST_LINE;
				*consumed = i;
				return 1;
			}
			if (n <= r->litmax) {
				if (n > r->bufsize - r->len - 2)
					return rd_fail(r, IMAP_RD_LIMIT,
					    "response too long", i, consumed);
				r->buf[r->len++] = '\r';
				r->buf[r->len++] = '\n';
				r->litleft = n;
				r->st = ST_LIT;
			} else {
				if (r->cb == NULL)
					return rd_fail(r, IMAP_RD_LIMIT,
					    "literal too long", i, consumed);
				if (r->cb(r->cbarg, IMAP_LIT_BEGIN, r->buf,
				    r->len, n) == -1)
					return rd_fail(r, IMAP_RD_CALLBACK,
					    "literal refused", i, consumed);
				/* "{N}" becomes "{=N}". */
				j = r->len - 1;
				while (r->buf[j] != '{')
					j--;
				memmove(r->buf + j + 2, r->buf + j + 1,
				    r->len - j - 1);
				r->buf[j + 1] = '=';
				r->len++;
				r->buf[r->len++] = '\r';
				r->buf[r->len++] = '\n';
				r->nstreamed++;
				r->litleft = n;
				r->st = ST_STREAM;
			}
			if (n == 0)
				goto litdone;
			break;
		case ST_LIT:
			k = len - i;
			if (k > r->litleft)
				k = (size_t)r->litleft;
			memcpy(r->buf + r->len, in + i, k);
			r->len += k;
			i += k;
			r->litleft -= k;
			if (r->litleft == 0)
				goto litdone;
			break;
		case ST_STREAM:
			k = len - i;
			if (k > r->litleft)
				k = (size_t)r->litleft;
			if (r->cb(r->cbarg, IMAP_LIT_DATA, in + i, k, 0) == -1)
				return rd_fail(r, IMAP_RD_CALLBACK,
				    "literal refused", i, consumed);
			i += k;
			r->litleft -= k;
			if (r->litleft == 0)
				goto litdone;
			break;
		}
		continue;
litdone:
		if (r->st == ST_STREAM && r->cb(r->cbarg, IMAP_LIT_END, NULL,
		    0, 0) == -1)
			return rd_fail(r, IMAP_RD_CALLBACK, "literal refused",
			    i, consumed);
		r->st = ST_LINE;
		r->linestart = r->len;
	}
	*consumed = len;
	return 0;
}

/* ---- lexical helpers ------------------------------------------------ */

/* ASCII case-insensitive equality of p/n with the literal s. */
static int
ci_eq(const char *p, size_t n, const char *s)
{
	size_t	i;
	char	a, b;

	if (n != strlen(s))
		return 0;
	for (i = 0; i < n; i++) {
		a = p[i];
		b = s[i];
		if (a >= 'a' && a <= 'z')
			a = (char)(a - 'a' + 'A');
		if (b >= 'a' && b <= 'z')
			b = (char)(b - 'a' + 'A');
		if (a != b)
			return 0;
	}
	return 1;
}

/* ATOM-CHAR: CHAR except atom-specials ( ) { SP CTL % * " \ ] */
static int
atom_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return 0;
	return strchr("(){%*\"\\]", c) == NULL;
}

static int
astring_char(unsigned char c)
{
	return c == ']' || atom_char(c);
}

/*
 * A number at c: digits only, at most max; nz: no leading zero and not
 * 0. 0 and the cursor past it, or -1.
 */
static int
get_num(struct cur *c, uint64_t max, int nz, uint64_t *v)
{
	uint64_t	n = 0;
	size_t		nd = 0;

	while (c->p < c->e && *c->p >= '0' && *c->p <= '9') {
		if (nd == 0 && nz && *c->p == '0')
			return -1;
		if (++nd > 20)
			return -1;
		if (n > (max - (uint64_t)(*c->p - '0')) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*c->p - '0');
		c->p++;
	}
	if (nd == 0)
		return -1;
	*v = n;
	return 0;
}

static int
get_nz32(struct cur *c, uint32_t *v)
{
	uint64_t	n;

	if (get_num(c, UINT32_MAX, 1, &n) == -1)
		return -1;
	*v = (uint32_t)n;
	return 0;
}

static int
get_atom(struct cur *c, const char **s, size_t *n)
{
	*s = c->p;
	while (c->p < c->e && atom_char((unsigned char)*c->p))
		c->p++;
	*n = (size_t)(c->p - *s);
	return *n == 0 ? -1 : 0;
}

/* A fetch attribute or a flag: atom chars and "\", "[...]" and "<...>". */
static int
get_key(struct cur *c, const char **s, size_t *n)
{
	unsigned char	ch;

	*s = c->p;
	while (c->p < c->e) {
		ch = (unsigned char)*c->p;
		if (ch == '[') {
			while (c->p < c->e && *c->p != ']') {
				if ((unsigned char)*c->p < 0x20)
					return -1;
				c->p++;
			}
			if (c->p == c->e)
				return -1;
			c->p++;
		} else if (ch == '\\' || ch == '<' || ch == '>' ||
		    atom_char(ch))
			c->p++;
		else
			break;
	}
	*n = (size_t)(c->p - *s);
	return *n == 0 ? -1 : 0;
}

/* A quoted string: *s and *n the raw inside, *esc whether it had a "\". */
static int
get_quoted(struct cur *c, const char **s, size_t *n, int *esc)
{
	if (c->p == c->e || *c->p != '"')
		return -1;
	*esc = 0;
	*s = ++c->p;
	while (c->p < c->e && *c->p != '"') {
		if (*c->p == '\r' || *c->p == '\n')
			return -1;
		if (*c->p == '\\') {
			*esc = 1;
			if (++c->p == c->e || (*c->p != '\\' && *c->p != '"'))
				return -1;
		}
		c->p++;
	}
	if (c->p == c->e)
		return -1;
	*n = (size_t)(c->p - *s);
	c->p++;
	return 0;
}

/*
 * A literal "{N}" CRLF N octets, or the reader's "{=N}" CRLF for a
 * streamed one (using up one of *nstreamed). *s and *n the octets (NULL for
 * a streamed one), *streamed.
 */
static int
get_literal(struct cur *c, unsigned *nstreamed, const char **s, size_t *n,
    int *streamed)
{
	uint64_t	v;

	if (c->p == c->e || *c->p != '{')
		return -1;
	c->p++;
	*streamed = 0;
	if (c->p < c->e && *c->p == '=') {
		if (*nstreamed == 0)
			return -1;
		*streamed = 1;
		c->p++;
	}
	if (get_num(c, INT64_MAX, 0, &v) == -1)
		return -1;
	if (c->e - c->p < 3 || c->p[0] != '}' || c->p[1] != '\r' ||
	    c->p[2] != '\n')
		return -1;
	c->p += 3;
	if (*streamed) {
		(*nstreamed)--;
		*s = NULL;
		*n = 0;
		return 0;
	}
	if (v > (uint64_t)(c->e - c->p))
		return -1;
	*s = c->p;
	*n = (size_t)v;
	c->p += v;
	return 0;
}

/* Any value: atom, flag, quoted, literal, list. */
static int
skip_value(struct cur *c, int depth, unsigned *nstreamed)
{
	const char	*s;
	size_t		 n;
	int		 x;

	if (c->p == c->e)
		return -1;
	switch (*c->p) {
	case '(':
		if (depth >= IMAP_DEPTH_MAX)
			return -1;
		c->p++;
		if (c->p < c->e && *c->p == ')') {
			c->p++;
			return 0;
		}
		for (;;) {
			if (skip_value(c, depth + 1, nstreamed) == -1)
				return -1;
			if (c->p == c->e)
				return -1;
			if (*c->p == ')') {
				c->p++;
				return 0;
			}
			if (*c->p++ != ' ')
				return -1;
		}
	case '"':
		return get_quoted(c, &s, &n, &x);
	case '~':
		c->p++;
		/* FALLTHROUGH */
	case '{':
		return get_literal(c, nstreamed, &s, &n, &x);
	default:
		return get_key(c, &s, &n);
	}
}

/* A uid-set / sequence-set without "*". */
static int
check_set(const char *p, size_t n)
{
	const char	*q = p;
	uint32_t	 lo, hi;
	int		 x, any = 0;

	while ((x = imap_seqset_next(&q, p + n, &lo, &hi)) == 1)
		any = 1;
	return x == 0 && any ? 0 : -1;
}

/* ---- responses ------------------------------------------------------ */

/* The code "[...]" at the start of r->rest; moves rest past it. */
static int
parse_code(const char *p, size_t n, struct imap_resp *r)
{
	struct cur	 c;
	const char	*name, *args, *end, *a2;
	size_t		 namelen, arglen;

	if (n == 0 || p[0] != '[')
		return 0;
	if ((end = memchr(p, ']', n)) == NULL)
		return 0;		/* text that starts with "[" */
	c.p = p + 1;
	c.e = end;
	if (get_atom(&c, &name, &namelen) == -1)
		return -1;
	args = c.p;
	arglen = 0;
	if (c.p < c.e) {
		if (*c.p != ' ' || c.p + 1 == c.e)
			return -1;
		args = c.p + 1;
		arglen = (size_t)(end - args);
	}
	c.p = args;
	c.e = args + arglen;
	if (ci_eq(name, namelen, "ALERT"))
		r->code = IMAP_C_ALERT;
	else if (ci_eq(name, namelen, "TRYCREATE"))
		r->code = IMAP_C_TRYCREATE;
	else if (ci_eq(name, namelen, "LIMIT"))
		r->code = IMAP_C_LIMIT;
	else if (ci_eq(name, namelen, "UNAVAILABLE"))
		r->code = IMAP_C_UNAVAILABLE;
	else if (ci_eq(name, namelen, "UIDVALIDITY") ||
	    ci_eq(name, namelen, "UIDNEXT")) {
		r->code = ci_eq(name, namelen, "UIDNEXT") ? IMAP_C_UIDNEXT :
		    IMAP_C_UIDVALIDITY;
		if (get_nz32(&c, &r->n1) == -1 || c.p != c.e)
			return -1;
	} else if (ci_eq(name, namelen, "APPENDUID")) {
		r->code = IMAP_C_APPENDUID;
		if (get_nz32(&c, &r->n1) == -1 || c.p == c.e || *c.p++ != ' ')
			return -1;
		a2 = c.p;
		if (get_nz32(&c, &r->n2) == 0 && c.p == c.e)
			;
		else {
			r->n2 = 0;
			if (check_set(a2, (size_t)(c.e - a2)) == -1)
				return -1;
			r->set = a2;
			r->setlen = (size_t)(c.e - a2);
		}
		c.p = c.e;
	} else if (ci_eq(name, namelen, "COPYUID")) {
		r->code = IMAP_C_COPYUID;
		if (get_nz32(&c, &r->n1) == -1 || c.p == c.e || *c.p++ != ' ')
			return -1;
		if ((a2 = memchr(c.p, ' ', (size_t)(c.e - c.p))) == NULL)
			return -1;
		r->set = c.p;
		r->setlen = (size_t)(a2 - c.p);
		r->set2 = a2 + 1;
		r->set2len = (size_t)(c.e - a2 - 1);
		if (check_set(r->set, r->setlen) == -1 ||
		    check_set(r->set2, r->set2len) == -1)
			return -1;
		c.p = c.e;
	} else if (ci_eq(name, namelen, "CAPABILITY")) {
		struct imap_caps caps;

		r->code = IMAP_C_CAPABILITY;
		if (imap_parse_caps(args, arglen, &caps) == -1)
			return -1;
		r->set = args;
		r->setlen = arglen;
		c.p = c.e;
	} else {
		r->code = IMAP_C_OTHER;
		c.p = c.e;
	}
	if (c.p != c.e)
		return -1;		/* arguments to a code without */
	end++;
	if (end < p + n) {
		if (*end != ' ')
			return -1;
		end++;
	}
	r->rest = end;
	r->restlen = (size_t)(p + n - end);
	return 0;
}

int
imap_parse_resp(const char *p, size_t n, struct imap_resp *r)
{
	struct cur	 c;
	uint64_t	 v;

	memset(r, 0, sizeof(*r));
	c.p = p;
	c.e = p + n;
	if (n == 0)
		return -1;
	if (p[0] == '+') {
		r->kind = IMAP_K_CONT;
		if (n > 1 && p[1] != ' ')
			return -1;
		r->rest = p + (n > 1 ? 2 : 1);
		r->restlen = n - (n > 1 ? 2 : 1);
		return 0;
	}
	if (p[0] == '*') {
		r->kind = IMAP_K_UNTAGGED;
		c.p++;
	} else {
		r->kind = IMAP_K_TAGGED;
		r->tag = p;
		while (c.p < c.e && *c.p != '+' &&
		    astring_char((unsigned char)*c.p))
			c.p++;
		r->taglen = (size_t)(c.p - p);
		if (r->taglen == 0)
			return -1;
	}
	if (c.p == c.e || *c.p++ != ' ')
		return -1;
	if (r->kind == IMAP_K_UNTAGGED && c.p < c.e && *c.p >= '0' &&
	    *c.p <= '9') {
		if (c.p + 1 < c.e && *c.p == '0' && c.p[1] >= '0' &&
		    c.p[1] <= '9')
			return -1;		/* leading zero */
		if (get_num(&c, UINT32_MAX, 0, &v) == -1)
			return -1;
		r->num = (uint32_t)v;
		r->has_num = 1;
		if (c.p == c.e || *c.p++ != ' ')
			return -1;
	}
	if (get_atom(&c, &r->keyword, &r->keywordlen) == -1)
		return -1;
	if (c.p < c.e && *c.p++ != ' ')
		return -1;
	r->rest = c.p;
	r->restlen = (size_t)(c.e - c.p);
	if (!r->has_num) {
		if (ci_eq(r->keyword, r->keywordlen, "OK"))
			r->status = IMAP_S_OK;
		else if (ci_eq(r->keyword, r->keywordlen, "NO"))
			r->status = IMAP_S_NO;
		else if (ci_eq(r->keyword, r->keywordlen, "BAD"))
			r->status = IMAP_S_BAD;
		else if (r->kind == IMAP_K_UNTAGGED &&
		    ci_eq(r->keyword, r->keywordlen, "PREAUTH"))
			r->status = IMAP_S_PREAUTH;
		else if (r->kind == IMAP_K_UNTAGGED &&
		    ci_eq(r->keyword, r->keywordlen, "BYE"))
			r->status = IMAP_S_BYE;
	}
	if (r->kind == IMAP_K_TAGGED && r->status == IMAP_S_NONE)
		return -1;
	if (r->status != IMAP_S_NONE)
		return parse_code(r->rest, r->restlen, r);
	return 0;
}

int
imap_parse_caps(const char *p, size_t n, struct imap_caps *caps)
{
	struct cur	 c, a;
	const char	*s;
	size_t		 l;
	uint64_t	 v;

	memset(caps, 0, sizeof(*caps));
	c.p = p;
	c.e = p + n;
	while (c.p < c.e) {
		if (get_atom(&c, &s, &l) == -1)
			return -1;
		if (c.p < c.e && (*c.p++ != ' ' || c.p == c.e))
			return -1;
		if (ci_eq(s, l, "IMAP4rev1"))
			caps->flags |= IMAP_CAP_IMAP4REV1;
		else if (ci_eq(s, l, "IMAP4rev2"))
			caps->flags |= IMAP_CAP_IMAP4REV2;
		else if (ci_eq(s, l, "LITERAL+"))
			caps->flags |= IMAP_CAP_LITERALPLUS;
		else if (ci_eq(s, l, "LITERAL-"))
			caps->flags |= IMAP_CAP_LITERALMINUS;
		else if (ci_eq(s, l, "UIDPLUS"))
			caps->flags |= IMAP_CAP_UIDPLUS;
		else if (ci_eq(s, l, "MULTIAPPEND"))
			caps->flags |= IMAP_CAP_MULTIAPPEND;
		else if (ci_eq(s, l, "STARTTLS"))
			caps->flags |= IMAP_CAP_STARTTLS;
		else if (ci_eq(s, l, "LOGINDISABLED"))
			caps->flags |= IMAP_CAP_LOGINDISABLED;
		else if (ci_eq(s, l, "ESEARCH"))
			caps->flags |= IMAP_CAP_ESEARCH;
		else if (ci_eq(s, l, "UTF8=ACCEPT"))
			caps->flags |= IMAP_CAP_UTF8_ACCEPT;
		else if (ci_eq(s, l, "SASL-IR"))
			caps->flags |= IMAP_CAP_SASL_IR;
		else if (l > 12 && ci_eq(s, 12, "APPENDLIMIT=")) {
			a.p = s + 12;
			a.e = s + l;
			if (get_num(&a, UINT32_MAX, 0, &v) == 0 &&
			    a.p == a.e) {
				caps->flags |= IMAP_CAP_APPENDLIMIT;
				caps->appendlimit = (uint32_t)v;
			}
		} else if (l > 5 && ci_eq(s, 5, "AUTH=")) {
			s += 5;
			l -= 5;
			if (ci_eq(s, l, "PLAIN"))
				caps->auth |= IMAP_AUTH_PLAIN;
			else if (ci_eq(s, l, "LOGIN"))
				caps->auth |= IMAP_AUTH_LOGIN;
			else if (ci_eq(s, l, "CRAM-MD5"))
				caps->auth |= IMAP_AUTH_CRAM_MD5;
			else if (ci_eq(s, l, "SCRAM-SHA-1"))
				caps->auth |= IMAP_AUTH_SCRAM_SHA_1;
			else if (ci_eq(s, l, "SCRAM-SHA-256"))
				caps->auth |= IMAP_AUTH_SCRAM_SHA_256;
			else if (ci_eq(s, l, "XOAUTH2"))
				caps->auth |= IMAP_AUTH_XOAUTH2;
			else if (ci_eq(s, l, "OAUTHBEARER"))
				caps->auth |= IMAP_AUTH_OAUTHBEARER;
		}
	}
	return 0;
}

int
imap_seqset_next(const char **p, const char *end, uint32_t *lo,
    uint32_t *hi)
{
	struct cur	c;
	uint32_t	a, b;

	c.p = *p;
	c.e = end;
	if (c.p == c.e)
		return 0;
	if (get_nz32(&c, &a) == -1)
		return -1;
	b = a;
	if (c.p < c.e && *c.p == ':') {
		c.p++;
		if (get_nz32(&c, &b) == -1)
			return -1;
	}
	if (c.p < c.e) {
		if (*c.p != ',' || c.p + 1 == c.e)
			return -1;
		c.p++;
	}
	*lo = a < b ? a : b;
	*hi = a < b ? b : a;
	*p = c.p;
	return 1;
}

int
imap_parse_search(const char *p, size_t n, uint32_t *out, size_t max,
    size_t *count)
{
	struct cur	c;
	uint32_t	v;
	size_t		k = 0;

	c.p = p;
	c.e = p + n;
	while (c.p < c.e) {
		if (get_nz32(&c, &v) == -1)
			return -1;
		if (c.p < c.e && (*c.p++ != ' ' || c.p == c.e))
			return -1;
		if (k < max)
			out[k] = v;
		k++;
	}
	*count = k;
	return 0;
}

int
imap_parse_esearch(const char *p, size_t n, struct imap_esearch *e)
{
	struct cur	 c;
	const char	*s;
	size_t		 l;
	uint64_t	 v;
	unsigned	 nostream = 0;
	int		 esc;

	memset(e, 0, sizeof(*e));
	c.p = p;
	c.e = p + n;
	if (c.p < c.e && *c.p == '(') {
		c.p++;
		if (get_atom(&c, &s, &l) == -1 || !ci_eq(s, l, "TAG") ||
		    c.p == c.e || *c.p++ != ' ')
			return -1;
		if (c.p < c.e && *c.p == '"') {
			if (get_quoted(&c, &e->tag, &e->taglen, &esc) == -1)
				return -1;
		} else {
			e->tag = c.p;
			while (c.p < c.e && astring_char((unsigned char)*c.p))
				c.p++;
			e->taglen = (size_t)(c.p - e->tag);
			if (e->taglen == 0)
				return -1;
		}
		if (c.p == c.e || *c.p++ != ')')
			return -1;
		if (c.p < c.e && (*c.p++ != ' ' || c.p == c.e))
			return -1;
	}
	while (c.p < c.e) {
		if (get_atom(&c, &s, &l) == -1)
			return -1;
		if (ci_eq(s, l, "UID") && !e->uid) {
			e->uid = 1;
			if (c.p < c.e && (*c.p++ != ' ' || c.p == c.e))
				return -1;
			continue;
		}
		if (c.p == c.e || *c.p++ != ' ')
			return -1;
		if (ci_eq(s, l, "MIN") || ci_eq(s, l, "MAX")) {
			int		*has = s[1] == 'I' || s[1] == 'i' ?
			    &e->has_min : &e->has_max;
			uint32_t	*val = has == &e->has_min ? &e->min :
			    &e->max;

			if (*has || get_nz32(&c, val) == -1)
				return -1;
			*has = 1;
		} else if (ci_eq(s, l, "COUNT")) {
			if (e->has_count ||
			    get_num(&c, UINT32_MAX, 0, &v) == -1)
				return -1;
			e->count = (uint32_t)v;
			e->has_count = 1;
		} else if (ci_eq(s, l, "ALL")) {
			if (e->all != NULL)
				return -1;
			e->all = c.p;
			while (c.p < c.e && *c.p != ' ')
				c.p++;
			e->alllen = (size_t)(c.p - e->all);
			if (check_set(e->all, e->alllen) == -1)
				return -1;
		} else if (skip_value(&c, 0, &nostream) == -1)
			return -1;
		if (c.p < c.e && (*c.p++ != ' ' || c.p == c.e))
			return -1;
	}
	return 0;
}

int
imap_parse_fetch(const char *p, size_t n, unsigned nstreamed,
    struct imap_fetch *f)
{
	struct cur	 c;
	const char	*k, *s;
	size_t		 kl, l;
	uint64_t	 v;
	int		 x;

	memset(f, 0, sizeof(*f));
	c.p = p;
	c.e = p + n;
	if (c.p == c.e || *c.p++ != '(')
		return -1;
	for (;;) {
		if (get_key(&c, &k, &kl) == -1 || c.p == c.e ||
		    *c.p++ != ' ')
			return -1;
		if (ci_eq(k, kl, "UID")) {
			if (f->has_uid || get_nz32(&c, &f->uid) == -1)
				return -1;
			f->has_uid = 1;
		} else if (ci_eq(k, kl, "RFC822.SIZE")) {
			if (f->has_size || get_num(&c, INT64_MAX, 0, &v) == -1)
				return -1;
			f->size = v;
			f->has_size = 1;
		} else if (ci_eq(k, kl, "INTERNALDATE")) {
			s = c.p;
			if (f->has_date || get_quoted(&c, &s, &l, &x) == -1 ||
			    imap_parse_datetime(s - 1, l + 2, &f->date,
			    &f->zone) == -1)
				return -1;
			f->has_date = 1;
		} else if (ci_eq(k, kl, "BODY[]")) {
			if (f->has_body || c.p == c.e)
				return -1;
			if (*c.p == '"') {
				if (get_quoted(&c, &f->body, &f->bodylen,
				    &x) == -1 || x)
					return -1;
			} else if (*c.p == '{') {
				if (get_literal(&c, &nstreamed, &f->body,
				    &f->bodylen, &f->body_streamed) == -1)
					return -1;
			} else if (c.e - c.p >= 3 && ci_eq(c.p, 3, "NIL"))
				c.p += 3;
			else
				return -1;
			f->has_body = 1;
		} else if (skip_value(&c, 0, &nstreamed) == -1)
			return -1;
		if (c.p == c.e)
			return -1;
		if (*c.p == ')') {
			c.p++;
			break;
		}
		if (*c.p++ != ' ')
			return -1;
	}
	return c.p == c.e ? 0 : -1;
}

/* ---- astrings ------------------------------------------------------- */

enum imap_astr
imap_astring_kind(const char *s, size_t n)
{
	size_t		i;
	unsigned char	c;
	int		atom = n > 0;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '\0' || c == '\r' || c == '\n' || c >= 0x80)
			return IMAP_AS_LITERAL;
		if (!astring_char(c))
			atom = 0;
	}
	return atom ? IMAP_AS_ATOM : IMAP_AS_QUOTED;
}

int
imap_quote(const char *s, size_t n, char *out, size_t outsize,
    size_t *outlen)
{
	enum imap_astr	k;
	size_t		i, o = 0;
	int		esc;

	k = imap_astring_kind(s, n);
	if (k == IMAP_AS_LITERAL)
		return -1;
	if (k == IMAP_AS_ATOM) {
		if (n >= outsize)
			return -1;
		memcpy(out, s, n);
		out[n] = '\0';
		*outlen = n;
		return 0;
	}
	if (outsize < 3)
		return -1;
	out[o++] = '"';
	for (i = 0; i < n; i++) {
		esc = s[i] == '"' || s[i] == '\\';
		if (o + (size_t)esc + 3 > outsize)
			return -1;
		if (esc)
			out[o++] = '\\';
		out[o++] = s[i];
	}
	if (o + 2 > outsize)
		return -1;
	out[o++] = '"';
	out[o] = '\0';
	*outlen = o;
	return 0;
}
